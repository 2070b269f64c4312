#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/pswp-harness/run.sh RUNS OUT PROGRAM...
# ../swap-ra-exit/run.sh (each kit program RUNS times in a row as record.sh runs it: env -i, setarch -R, a fresh v1
# group per run, one swap area for all its runs) with more of the pid's system calls traced: getrusage (98, the phase
# windows), openat (257: phase_end's files, the last of which is /proc/vmstat, where the pswp stretch ends), write (1:
# finish's record) and exit_group (231); and by default the user and kernel-mode page faults, order-0 page allocations
# (a swap-in's readahead window), mm_vmscan_write_folio (each page reclaim writes out) and the exit. windows.py reads it.
# Restores the machine on every exit (sandbox.sh, and the loop device here).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}; out=${2:-/tmp/swap-ra-exit}; shift 2
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox pswp-harness
loopdev=""
cleanup_all() {
  set +e
  if [ -n "$loopdev" ]; then swapoff "$loopdev" 2>/dev/null; losetup -d "$loopdev"; fi
  sandbox_cleanup
}
trap cleanup_all EXIT INT TERM
mkdir "$inst"
echo 65536 > "$inst/buffer_size_kb"
echo "id == 98 || id == 257 || id == 1 || id == 231" > "$inst/events/raw_syscalls/sys_enter/filter"
echo 1 > "$inst/events/raw_syscalls/sys_enter/enable"
# EVENTS (space-separated tracepoints) replaces the default set; sw60-harness-reclaim/run.sh adds reclaim's. An event
# this kernel lacks is named in settings.txt rather than ending the run.
: > "$out/settings.txt"
for e in ${EVENTS:-exceptions/page_fault_user exceptions/page_fault_kernel kmem/mm_page_alloc sched/sched_process_exit vmscan/mm_vmscan_write_folio}; do
  if [ -e "$inst/events/$e/enable" ]; then echo 1 > "$inst/events/$e/enable"; else echo "no event $e" >> "$out/settings.txt"; fi
done
echo "uname_r=$(uname -r) page_cluster=$(cat /proc/sys/vm/page-cluster) date=$(date -u +%FT%TZ)" >> "$out/settings.txt"
for prog in "$@"; do
  src=$oracle/gen/$prog.c phases=$oracle/programs/$prog.phases
  gcc -O2 -Wall -Werror -o "$work/$prog" "$src"
  rm -rf "$work/data"; mkdir -p "$work/data"
  kit_data_files "$phases" "$work/data"
  memcg=$(awk '$1 == "memcg" { print $2 }' "$phases")
  fallocate -l 1G "$swapfile"; chmod 600 "$swapfile"
  if grep -qx 'swap partition' "$phases"; then
    loopdev=$(losetup -f --show "$swapfile"); mkswap -q "$loopdev"; swapon "$loopdev"
  else
    mkswap -q "$swapfile"; swapon "$swapfile"
  fi
  for i in $(seq 1 "$runs"); do
    sandbox_pid_traced_run "$memcg" "$out/$prog.$i.json" "$out/$prog.$i.trace" env -i ORACLE_MEMCG="$cg" "$work/$prog" "$work/data" || true
    sandbox_rm_cg
  done
  if [ -n "$loopdev" ]; then swapoff "$loopdev"; losetup -d "$loopdev"; loopdev=""; else swapoff "$swapfile"; fi
  rm -f "$swapfile" /dev/shm/ecsmem-oracle-*
  echo "$prog: $runs runs"
done
