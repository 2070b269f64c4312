#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: runs a kit program's generated C (unmodified) RUNS times as record.sh does
# (env -i, ASLR off, a fresh cgroup-v1 group with its limit, the 1 GiB swap file on) with the user and kernel page-fault
# tracepoints (exceptions:page_fault_user/_kernel: address, ip) and getrusage's entry and exit (raw_syscalls, id 98) in
# a private trace instance limited to its pid; window-faults.py lists each phase window's faults outside the program's
# slots (the harness's pages: all were written by warm_up, so such a fault is a swap-in). sandbox.sh restores the
# machine on every exit path. Usage: window-faults.sh RUNS OUT PROGRAM
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
runs=$1; out=$(realpath -m "$2"); name=$3
mkdir -p "$out"
. "$here/../sandbox.sh"; sandbox harnessrun
mkdir "$inst"
echo 16384 > "$inst/buffer_size_kb"
src=$here/../../programs/$name.phases
gcc -O2 -Wall -Werror -I"$here/../.." -o "$work/$name" "$here/../../gen/$name.c"
kit_data_files "$src" "$work"
sync
memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
sandbox_swapon
for e in exceptions/page_fault_user exceptions/page_fault_kernel raw_syscalls/sys_enter raw_syscalls/sys_exit; do
  case $e in raw_syscalls/*) echo "id == 98" > "$inst/events/$e/filter" ;; esac
  echo 1 > "$inst/events/$e/enable"
done
for i in $(seq 1 "$runs"); do
  sandbox_pid_traced_run "$memcg" "$out/$name.$i.json" "$out/$name.$i.trace" env -i ORACLE_MEMCG="$cg" "$work/$name" "$work" || true
  sandbox_rm_cg
  echo "## $name run $i"; python3 "$here/window-faults.py" "$out/$name.$i.trace" "$out/$name.$i.json"
done
