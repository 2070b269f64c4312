#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/sw60-harness-reclaim/run.sh RUNS OUT [PROGRAM...]
# swap-ra-exit/run.sh with the reclaim traced too: each run of oracle/gen/PROGRAM.c as record.sh runs it (env -i,
# setarch -R, a fresh v1 group per run, one swap area for all runs), its pid's user and kernel-mode page faults (rseq's TLS stores fault in kernel mode), page allocations,
# getrusage calls (the phase windows), context switches and memcg reclaims (mm_vmscan_memcg_reclaim_begin/end,
# lru_shrink_inactive/active, write_folio: a swap-out's pfn) in a private trace instance. harness.py OUT PROGRAM RUNS
# names each swapped-out harness page (its pfn from the allocation after its first fault) and when.
# Restores the machine on every exit (sandbox.sh, and the loop device here).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}; out=${2:-/tmp/sw60-harness-reclaim}; shift 2; [ "$#" -gt 0 ] || set -- swappiness-60
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox swap-ra-exit
loopdev=""
cleanup_all() {
  set +e
  if [ -n "$loopdev" ]; then swapoff "$loopdev" 2>/dev/null; losetup -d "$loopdev"; fi
  sandbox_cleanup
}
trap cleanup_all EXIT INT TERM
mkdir "$inst"
echo 65536 > "$inst/buffer_size_kb"
echo "id == 98" > "$inst/events/raw_syscalls/sys_enter/filter"
echo 1 > "$inst/events/raw_syscalls/sys_enter/enable"
for e in exceptions/page_fault_user exceptions/page_fault_kernel kmem/mm_page_alloc sched/sched_process_exit sched/sched_switch vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end vmscan/mm_vmscan_lru_shrink_inactive vmscan/mm_vmscan_lru_shrink_active vmscan/mm_vmscan_write_folio; do if [ -e "$inst/events/$e/enable" ]; then echo 1 > "$inst/events/$e/enable"; else echo "no event $e" >> "$out/settings.txt"; fi; done
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
