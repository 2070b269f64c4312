#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/swap-passes-own/run.sh RUNS OUT
# oracle/swapin/anon_swap_passes.c (48 MiB, 4 read-modify-write passes) RUNS times, each in a fresh cgroup-v1 group
# limited to 16 MiB with the 1 GiB swap file on (as oracle/swapin/run.sh, but setarch -R and one group a run), its
# user and kernel-mode page faults (exceptions:page_fault_user, page_fault_kernel), page allocations (kmem:mm_page_alloc: a swap-in fault allocates its
# page and its readahead window's pages before it returns) and its read, openat and getrusage calls (the windows of
# the program's vmstat and getrusage deltas) traced for its pid in a private instance. own.py OUT then tells the
# program's own faults (outside the 48 MiB region) from the loop's, per pass and per window.
# Restores the machine on every exit (sandbox.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}; out=${2:-/tmp/swap-passes-own}
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox swap-passes-own
mkdir "$inst"
echo 65536 > "$inst/buffer_size_kb"
# read 0, openat 257, getrusage 98
echo "id == 0 || id == 257 || id == 98" > "$inst/events/raw_syscalls/sys_enter/filter"
echo 1 > "$inst/events/raw_syscalls/sys_enter/enable"
echo 1 > "$inst/events/exceptions/page_fault_user/enable"
echo 1 > "$inst/events/exceptions/page_fault_kernel/enable"
echo 1 > "$inst/events/kmem/mm_page_alloc/enable"
echo "uname_r=$(uname -r) page_cluster=$(cat /proc/sys/vm/page-cluster) date=$(date -u +%FT%TZ)" > "$out/settings.txt"
gcc -O2 -o "$work/anon_swap_passes" "$oracle/swapin/anon_swap_passes.c"
sandbox_swapon
for i in $(seq 1 "$runs"); do
  sandbox_pid_traced_run 16777216 "$out/run.$i.txt" "$out/trace.$i.txt" "$work/anon_swap_passes" 48 4
  sandbox_rm_cg
done
echo "$runs runs" >> "$out/settings.txt"
