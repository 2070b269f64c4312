#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: runs kit programs' generated C (unmodified) once each as record.sh does (env -i,
# ASLR off, a fresh cgroup-v1 group with the program's limit and memory.swappiness, the 1 GiB swap file on, the kit's
# data files) with the page-fault tracepoints (exceptions:page_fault_user/_kernel: address, ip, error_code; bit 1 of
# error_code is FAULT_FLAG_WRITE's source, bit 0 a present page) and getrusage's and openat's entries (raw_syscalls,
# ids 98 and 257) in a private trace instance limited to the program's pid; faults.py then says, for each phase_end,
# which harness pages its first access after a swap-out stores to and which it loads from. sandbox.sh restores the
# machine on every exit path. Usage: [FORK=1] [BIO=1] run.sh OUT PROGRAM...
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
out=$(realpath -m "$1"); shift
mkdir -p "$out"
. "$here/../sandbox.sh"; sandbox hstores
mkdir "$inst"
echo 32768 > "$inst/buffer_size_kb"
# FORK=1: the forked children are traced too (their faults on the pages they share with the parent).
[ -n "${FORK:-}" ] && echo 1 > "$inst/options/event-fork"
# BIO=1: the swap I/O the traced task queues too (block_bio_queue: a swap-in's read with its readahead, a direct
# reclaim's writes), and the swap file's extents (filefrag) to turn sectors into slots (session 19, peload).
[ -n "${BIO:-}" ] && echo 1 > "$inst/events/block/block_bio_queue/enable"
for e in exceptions/page_fault_user exceptions/page_fault_kernel raw_syscalls/sys_enter; do
  case $e in raw_syscalls/*) echo "id == 98 || id == 257" > "$inst/events/$e/filter" ;; esac
  echo 1 > "$inst/events/$e/enable"
done
sandbox_swapon
[ -n "${BIO:-}" ] && filefrag -v "$swapfile" > "$out/extents.txt"
for name in "$@"; do
  src=$here/../../programs/$name.phases
  mkdir -p "$work/bin" "$work/data"
  gcc -O2 -Wall -Werror -I"$here/../.." -o "$work/bin/$name" "$here/../../gen/$name.c"
  kit_data_files "$src" "$work/data"
  memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
  swappiness=$(awk '$1 == "swappiness" { print $2 }' "$src")
  mkdir "$cg"
  echo "$memcg" > "$cg/memory.limit_in_bytes"
  [ -n "$swappiness" ] && echo "$swappiness" > "$cg/memory.swappiness"
  echo > "$inst/trace"
  echo 1 > "$inst/tracing_on"
  sh -c 'echo $$ > "$1/cgroup.procs"; echo $$ > "$2/set_event_pid"; exec env -i ORACLE_MEMCG="$1" setarch -R "$3" "$4"' \
    sh "$cg" "$inst" "$work/bin/$name" "$work/data" > "$out/$name.json" || true
  echo 0 > "$inst/tracing_on"
  cat "$inst/trace" > "$out/$name.trace"
  sandbox_rm_cg
  rm -rf "$work/data"
  echo "## $name: $(wc -l < "$out/$name.trace") trace lines"
done
