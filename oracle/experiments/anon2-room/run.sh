#!/bin/bash
# swappiness-200's group at anon2's start (issue 16 item 6): the kit program run as record.sh runs it (env -i, setarch -R,
# a fresh cgroup-v1 group of 16 MiB at memory.swappiness 200, a 1 GiB swap file), compiled against patch-harness.sh's
# copy of harness.h (memory.usage_in_bytes at each phase's start, at phase_end's entry and at its memcg record), with
# a private trace instance limited to the pid: mm_vmscan_memcg_reclaim_begin/end, mm_vmscan_lru_shrink_inactive,
# page_fault_user on `a` only (0x100000000000-0x100000800000) and the harness's trace_marker lines. analyse.py prints
# per run the usage at each point, the reclaims of the file2 -> anon2 boundary, and anon2's faults before its first
# reclaim. Needs oracle/gen/swappiness-200.c (`dotnet run --project oracle/Ecs.Mem.Oracle -- gen`).
# Root, under the kernel lock: flock /work/kernel.lock oracle/experiments/anon2-room/run.sh [RUNS] [OUT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-4}
out=$(realpath -m "${2:-/tmp/anon2-room}")
name=swappiness-200
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox anon2room
mkdir -p "$work/kit/gen" "$work/data"
"$here/patch-harness.sh" "$oracle/harness.h" > "$work/kit/harness.h"
cp "$oracle/gen/$name.c" "$work/kit/gen/$name.c"
gcc -O2 -Wall -Werror -o "$work/$name" "$work/kit/gen/$name.c"
src=$oracle/programs/$name.phases
kit_data_files "$src" "$work/data"
sync
sandbox_swapon
mkdir "$inst"
echo 16384 > "$inst/buffer_size_kb"
for e in vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end vmscan/mm_vmscan_lru_shrink_inactive exceptions/page_fault_user; do
  echo 1 > "$inst/events/$e/enable"
done
echo 'address >= 0x100000000000 && address < 0x100000800000' > "$inst/events/exceptions/page_fault_user/filter"
for i in $(seq 1 "$runs"); do
  mkdir "$cg"
  echo 16777216 > "$cg/memory.limit_in_bytes"
  echo 200 > "$cg/memory.swappiness"
  echo > "$inst/trace"
  echo 1 > "$inst/tracing_on"
  sh -c 'exec 9> "$2/trace_marker"; echo $$ > "$2/set_event_pid"; echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" ORACLE_MARKER=1 setarch -R "$3" "$4"' \
    sh "$cg" "$inst" "$work/$name" "$work/data" > "$out/$name.$i.json" || true
  echo 0 > "$inst/tracing_on"
  cat "$inst/trace" > "$out/$name.$i.trace"
  echo > "$inst/set_event_pid"
  sandbox_rm_cg
  echo "## run $i"; python3 "$here/analyse.py" "$out/$name.$i.json" "$out/$name.$i.trace" || true
done
