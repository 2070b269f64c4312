#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/thp-swap-memcg/kit.sh [PROGRAM] [RUNS] [OUT]
# The kit program itself (default thp-swpout-fallback, from oracle/gen/PROGRAM.c: its harness included) with its
# 1 GiB swap file (behind a loop device for a `swap partition` program), run RUNS times as record.sh runs it (setarch -R, a fresh cgroup v1 group at 16 MiB, ORACLE_MEMCG),
# with the vmscan tracepoints of its pid (memcg reclaim begin/end, lru_isolate, shrink_inactive/active, write_folio,
# shrink_slab) and the block layer's plug, unplug and request issue (block_plug, block_unplug, block_rq_issue;
# block_rq_complete runs in interrupt context and is mostly lost to the pid filter) in a private tracefs instance.
# KIT_EXTRA_EVENTS (space-separated SUBSYSTEM:EVENT) adds events, e.g. the fault timeline of session 12:
# "exceptions:page_fault_user kmem:mm_page_alloc sched:sched_switch sched:sched_wakeup compaction:mm_compaction_begin
# compaction:mm_compaction_end" (gap.awk reads it).
# Writes OUT/run.N.txt (the program's JSON record: its phases' faults and smaps), OUT/trace.N.txt and OUT/vmstat.N.txt
# (/proc/vmstat's thp_swpout, thp_swpout_fallback, thp_split_page, pswpout, pswpin, swpout_zero before and after). Restores the
# machine on every exit path (sandbox.sh): the trace instance and its mount, the cgroup, swap off, the file, the binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prog=${1:-thp-swpout-fallback}; runs=${2:-1}; out=${3:-/tmp/thp-swap-memcg-kit}
src=$here/../../gen/$prog.c
[ -f "$src" ] || { echo "kit.sh: $src not found (run the generator: dotnet run --project oracle/Ecs.Mem.Oracle -- gen)" >&2; exit 2; }
mkdir -p "$out"
# sandbox: $work, $swapfile, $cg, $inst (tracefs mounted if it is not) and the trap restoring the machine on every exit.
. "$here/../sandbox.sh"
sandbox thp-swap-memcg-kit
bin=$work/$prog
data=$work/data
mkdir -p "$data"
gcc -O2 -Wall -Werror -o "$bin" "$src"
if grep -qx 'swap partition' "$here/../../programs/$prog.phases"; then
  # `swap partition` (record.sh's way): the swap file behind a loop device, switched off and detached first on exit.
  loopdev=""
  kit_cleanup() { set +e; [ -n "$loopdev" ] && { swapoff "$loopdev" 2>/dev/null; losetup -d "$loopdev"; }; sandbox_cleanup; }
  trap kit_cleanup EXIT INT TERM
  fallocate -l 1G "$swapfile"; chmod 600 "$swapfile"
  loopdev=$(losetup -f --show "$swapfile"); mkswap -q "$loopdev"; swapon "$loopdev"
else
  sandbox_swapon
fi
mkdir "$inst"
echo 65536 > "$inst/buffer_size_kb"
for e in vmscan:mm_vmscan_memcg_reclaim_begin vmscan:mm_vmscan_memcg_reclaim_end vmscan:mm_vmscan_lru_isolate \
         vmscan:mm_vmscan_lru_shrink_inactive vmscan:mm_vmscan_lru_shrink_active vmscan:mm_vmscan_write_folio \
         vmscan:mm_shrink_slab_start vmscan:mm_shrink_slab_end block:block_plug block:block_unplug \
         block:block_rq_issue block:block_rq_complete; do
  echo "$e" >> "$inst/set_event"
done
for e in ${KIT_EXTRA_EVENTS:-}; do
  echo "$e" >> "$inst/set_event"
done
for i in $(seq 1 "$runs"); do
  # /proc/vmstat's THP swap-out counters around the run (machine-wide: other programs' swap-outs count too).
  grep -E '^(thp_swpout|thp_swpout_fallback|thp_split_page|pswpout|pswpin|swpout_zero) ' /proc/vmstat | sed 's/^/before /' > "$out/vmstat.$i.txt"
  sandbox_pid_traced_run 16M "$out/run.$i.txt" "$out/trace.$i.txt" env ORACLE_MEMCG="$cg" "$bin" "$data"
  grep -E '^(thp_swpout|thp_swpout_fallback|thp_split_page|pswpout|pswpin|swpout_zero) ' /proc/vmstat | sed 's/^/after /' >> "$out/vmstat.$i.txt"
  sandbox_rm_cg
  echo "run $i: $(wc -l < "$out/trace.$i.txt") trace lines"
done
