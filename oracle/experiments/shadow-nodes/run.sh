#!/bin/bash
# The workingset shadow-node shrinker in the kit's memcg programs (issue 16 items 2 and 5): each program RUNS times as
# record.sh runs it (setarch -R, a fresh cgroup-v1 group with its limit and swappiness, swap when it says so), compiled
# against kmem's patched harness (memory.usage_in_bytes / memory.kmem.usage_in_bytes per phase, a trace_marker line at
# each phase's end). Every run is traced in a private tracefs instance, pid-filtered: vmscan:mm_shrink_slab_start /
# mm_shrink_slab_end (do_shrink_slab's freeable, delta, deferred nr, total_scan, priority and the objects freed, per
# shrinker) and vmscan:mm_vmscan_memcg_reclaim_begin/end. /proc/vmstat's workingset_nodes / workingset_nodereclaim are
# read before and after each run (machine-wide: other helpers' work adds to them). shrink.py summarises the traces.
# Needs `dotnet run ... -- gen` done (oracle/gen/*.c). Run under the kernel lock:
#   flock /work/kernel.lock oracle/experiments/shadow-nodes/run.sh [RUNS] [PROGRAM...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}
shift || true
if [ $# -gt 0 ]; then programs=("$@"); else programs=(ra-reread-memcg swappiness-60); fi
out=$here/results
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox shadow
mkdir -p "$work/kit/gen" "$work/data"
"$here/../kmem/patch-harness.sh" "$oracle/harness.h" > "$work/kit/harness.h"
mkdir "$inst"
echo 8192 > "$inst/buffer_size_kb"
for e in vmscan/mm_shrink_slab_start vmscan/mm_shrink_slab_end vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end; do
  echo 1 > "$inst/events/$e/enable"
done
{ uname -r; nproc; for e in mm_shrink_slab_start mm_shrink_slab_end; do grep -E '^print fmt' "$inst/events/vmscan/$e/format"; done; } > "$out/settings.txt"
for name in "${programs[@]}"; do
  src=$oracle/programs/$name.phases
  cp "$oracle/gen/$name.c" "$work/kit/gen/$name.c"
  gcc -O2 -Wall -Werror -o "$work/$name" "$work/kit/gen/$name.c"
  data=$work/data/$name
  kit_data_files "$src" "$data"
  memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
  swappiness=$(awk '$1 == "swappiness" { print $2 }' "$src")
  if grep -qE '^swap( file)?$' "$src"; then sandbox_swapon; fi
  : > "$work/$name.json"
  for i in $(seq 1 "$runs"); do
    mkdir "$cg"
    echo "$memcg" > "$cg/memory.limit_in_bytes"
    if [ -n "$swappiness" ]; then echo "$swappiness" > "$cg/memory.swappiness"; fi
    before=$(grep -E '^workingset_node' /proc/vmstat | tr '\n' ' ')
    echo > "$inst/trace"
    echo 1 > "$inst/tracing_on"
    ORACLE_MEMCG=$cg ORACLE_MARKER=1 sh -c 'exec 9> "$2/trace_marker"; echo $$ > "$2/set_event_pid"; echo $$ > "$1/cgroup.procs"; exec setarch -R "$3" "$4"' \
      sh "$cg" "$inst" "$work/$name" "$data" >> "$work/$name.json" || true
    echo 0 > "$inst/tracing_on"
    after=$(grep -E '^workingset_node' /proc/vmstat | tr '\n' ' ')
    echo >> "$work/$name.json"
    { echo "# vmstat before: $before"; echo "# vmstat after: $after"; cat "$inst/per_cpu"/cpu*/stats | awk '/overrun/ { o += $2 } END { print "# overrun", o }'; cat "$inst/trace"; } > "$work/$name.$i.trace"
    python3 "$here/shrink.py" "$work/$name.$i.trace" > "$out/$name.$i.shrink.txt"
    sandbox_rm_cg
  done
  if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; rm -f "$swapfile"; fi
  rm -rf "$data"
  mkdir -p /tmp/shadow-traces; cp "$work/$name".*.trace /tmp/shadow-traces/
  python3 "$here/runs.py" "$name" "$work/$name.json" $(for i in $(seq 1 "$runs"); do echo "$out/$name.$i.shrink.txt"; done) | tee "$out/$name.runs.txt" || true
done
