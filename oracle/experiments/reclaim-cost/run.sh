#!/usr/bin/env bash
# Reclaim's CPU cost on the kernel, from tracepoint timestamps (this VM has no PMU, and neither kprobes nor the function
# tracer's filters are available): kit programs run in a cgroup v1 memory group with a swap file while a private
# tracefs instance records vmscan's memcg_reclaim_begin/end, lru_isolate, lru_shrink_inactive/active and write_folio,
# block_bio_queue/block_rq_issue, tlb_flush, filemap's delete_from_page_cache and kmem's mm_page_free_batched, all
# filtered to the program's own reclaim in analyse.py. Then charge-stock.c checks MEMCG_CHARGE_BATCH on usage_in_bytes.
# Root; run it under the kernel lock, it restores the machine (swap file, cgroups, trace instance) itself:
#   flock /work/kernel.lock oracle/experiments/reclaim-cost/run.sh [RUNS] [PROGRAM...]
#   (default 3 swap-anon-write shmem-swap-memcg ra-reread-memcg)
# Output: $OUT (default /tmp/reclaim-cost) holds per program and run the trace, and analyse.py's summary (summary.txt).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}
shift || true
progs=("$@")
[ ${#progs[@]} -gt 0 ] || progs=(swap-anon-write shmem-swap-memcg ra-reread-memcg)
out=${OUT:-/tmp/reclaim-cost}
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
for p in "${progs[@]}"; do
  [ -f "$oracle/gen/$p.c" ] || { echo "run.sh: $oracle/gen/$p.c not found (run the kit's gen)" >&2; exit 2; }
done

. "$here/../sandbox.sh"
sandbox reclaim-cost

mkdir -p "$out"
sandbox_swapon
{
  echo "uname_r=$(uname -r) nproc=$(nproc) model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
  echo "swap=file on ext4 $(findmnt -no SOURCE -T "$work") clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
} > "$out/settings.txt"

mkdir "$inst"
# TSC cycles (the text output prints mono's in whole µs); trace_marker lines pair them with CLOCK_MONOTONIC ns.
echo x86-tsc > "$inst/trace_clock"
echo 32768 > "$inst/buffer_size_kb"
# EVENTS=lite keeps only the per-batch events (no per-page one), to measure what the per-page tracepoints themselves cost.
events="vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end vmscan/mm_vmscan_lru_isolate
        vmscan/mm_vmscan_lru_shrink_inactive vmscan/mm_vmscan_lru_shrink_active sched/sched_switch"
[ "${EVENTS:-full}" = lite ] || events="$events vmscan/mm_vmscan_write_folio block/block_bio_queue block/block_rq_issue
        tlb/tlb_flush filemap/mm_filemap_delete_from_page_cache kmem/mm_page_free_batched"
for e in $events; do
  echo 1 > "$inst/events/$e/enable"
done

for p in "${progs[@]}"; do
  gcc -O2 -Wall -Werror -o "$work/$p" "$oracle/gen/$p.c"
  data=$work/data-$p
  mkdir -p "$data"
  kit_data_files "$oracle/programs/$p.phases" "$data"
  sync
  memcg=$(awk '$1 == "memcg" { print $2 }' "$oracle/programs/$p.phases")
  # Off-CPU time (the CPUs are shared) is taken out of every interval: the program's own switches only.
  echo "prev_comm == \"${p:0:15}\" || next_comm == \"${p:0:15}\"" > "$inst/events/sched/sched_switch/filter"
  for i in $(seq 1 "$runs"); do
    mkdir "$cg"
    echo "$memcg" > "$cg/memory.limit_in_bytes"
    echo > "$inst/trace"
    echo 1 > "$inst/tracing_on"
    python3 -c 'import time; open("'"$inst"'/trace_marker", "w").write("ecsmem_cal %d" % time.monotonic_ns())'
    ORACLE_MEMCG=$cg sh -c 'echo $$ > "$1/cgroup.procs"; exec setarch -R "$2" "$3"' sh "$cg" "$work/$p" "$data" > "$out/$p.$i.json"
    python3 -c 'import time; open("'"$inst"'/trace_marker", "w").write("ecsmem_cal %d" % time.monotonic_ns())'
    echo 0 > "$inst/tracing_on"
    grep -v "^#" "$inst/trace" > "$out/$p.trace.$i.txt"
    echo "$p run $i: $(wc -l < "$out/$p.trace.$i.txt") events, overrun $(grep -m1 overrun "$inst/per_cpu/cpu0/stats") / $(grep -m1 overrun "$inst/per_cpu/cpu1/stats")" >> "$out/settings.txt"
    echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
    rmdir "$cg"
  done
done

# MEMCG_CHARGE_BATCH: usage_in_bytes after each page a task touches in a group far from its limit.
gcc -O2 -Wall -Werror -o "$work/charge-stock" "$here/charge-stock.c"
mkdir "$cg"
echo 64M > "$cg/memory.limit_in_bytes"
sh -c 'echo $$ > "$1/cgroup.procs"; exec taskset -c 0 "$2" "$1"' sh "$cg" "$work/charge-stock" > "$out/charge-stock.txt"
rmdir "$cg"
python3 "$here/analyse.py" "$out" "$runs" "${progs[@]}" | tee "$out/summary.txt"
