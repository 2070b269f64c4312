#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/swap-ra-state/run.sh RUNS OUT PROGRAM...
# ../pswp-harness/run.sh (each kit program RUNS times in a row as record.sh runs it, one swap area for its runs, its
# pid's getrusage/openat/write/exit_group calls, user and kernel-mode page faults, order-0 allocations and
# mm_vmscan_write_folio in a private instance: OUT/PROGRAM.N.trace) with rastate.py attached over all of it: the
# swap-readahead statics read from kernel memory at every getrusage and exit_group and after every fault that changed
# them (OUT/rastate.txt, in the top-level buffer's trace_pipe; same clock as the instance's). state.py OUT PROGRAM RUNS
# reads both. tracefs is mounted at /sys/kernel/tracing for the run when it is not (rastate.py reads trace_pipe there)
# and unmounted after; the machine is restored on every exit (sandbox.sh; the BPF programs go with rastate.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}; out=${2:-/tmp/swap-ra-state}; shift 2
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
sys_mounted=""
if ! findmnt /sys/kernel/tracing > /dev/null; then mount -t tracefs nodev /sys/kernel/tracing; sys_mounted=1; fi
. "$here/../sandbox.sh"
sandbox swap-ra-state
rapid=""
cleanup_all() {
  set +e
  [ -n "$rapid" ] && { kill -TERM "$rapid"; wait "$rapid"; }
  sandbox_cleanup
  [ -n "$sys_mounted" ] && umount /sys/kernel/tracing
}
trap cleanup_all EXIT INT TERM
mkdir "$inst"
echo 65536 > "$inst/buffer_size_kb"
echo "id == 98 || id == 257 || id == 1 || id == 231" > "$inst/events/raw_syscalls/sys_enter/filter"
echo 1 > "$inst/events/raw_syscalls/sys_enter/enable"
for e in exceptions/page_fault_user exceptions/page_fault_kernel kmem/mm_page_alloc sched/sched_process_exit vmscan/mm_vmscan_write_folio; do
  echo 1 > "$inst/events/$e/enable"
done
echo "uname_r=$(uname -r) page_cluster=$(cat /proc/sys/vm/page-cluster) vma_ra_enabled=$(cat /sys/kernel/mm/swap/vma_ra_enabled) date=$(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg)" > "$out/settings.txt"
python3 "$here/rastate.py" "$out/rastate.txt" > "$out/rastate.log" & rapid=$!
for _ in $(seq 50); do grep -q attached "$out/rastate.log" 2>/dev/null && break; sleep 0.2; done
grep -q attached "$out/rastate.log" || { echo "run.sh: rastate.py did not attach" >&2; exit 1; }
for prog in "$@"; do
  src=$oracle/gen/$prog.c phases=$oracle/programs/$prog.phases
  gcc -O2 -Wall -Werror -o "$work/$prog" "$src"
  rm -rf "$work/data"; mkdir -p "$work/data"
  kit_data_files "$phases" "$work/data"
  memcg=$(awk '$1 == "memcg" { print $2 }' "$phases")
  sandbox_swapon
  echo "$prog start $(date +%s.%N)" >> "$out/settings.txt"
  for i in $(seq 1 "$runs"); do
    sandbox_pid_traced_run "$memcg" "$out/$prog.$i.json" "$out/$prog.$i.trace" env -i ORACLE_MEMCG="$cg" "$work/$prog" "$work/data" || true
    sandbox_rm_cg
  done
  swapoff "$swapfile"; rm -f "$swapfile" /dev/shm/ecsmem-oracle-*
  echo "$prog: $runs runs"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/settings.txt"
