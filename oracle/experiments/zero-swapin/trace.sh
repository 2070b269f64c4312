#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/zero-swapin/trace.sh RUNS OUT [PROGRAM]
# Which readahead windows read zero-filled slots: PROGRAM (default swap-fork-shared) run as run.sh runs it, with a
# private trace instance limited to its pid holding its user page faults (exceptions:page_fault_user), the folios it
# puts on an LRU list (pagemap:mm_lru_insertion; a swap-in's carry the swap-cache flag) and block:block_bio_queue: a
# fault's swap-cache insertions beyond its read bios' pages are zeromap reads (swap_read_folio_zeromap: no I/O; kprobes
# are refused on this machine). windows.py OUT RUNS reads them. Restores the machine on every exit path (../sandbox.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:?usage: trace.sh RUNS OUT [PROGRAM]}; out=${2:?usage: trace.sh RUNS OUT [PROGRAM]}; prog=${3:-swap-fork-shared}
[ "$(id -u)" -eq 0 ] || { echo "trace.sh: needs root" >&2; exit 2; }
. "$here/../sandbox.sh"
sandbox zerotrace
mkdir -p "$out" "$work/gen" "$work/data"
cp "$oracle/harness.h" "$work/harness.h"; cp "$oracle/gen/$prog.c" "$work/gen/$prog.c"
gcc -O2 -Wall -Werror -o "$work/$prog" "$work/gen/$prog.c"
src=$oracle/programs/$prog.phases
memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
kit_data_files "$src" "$work/data"
mkdir "$inst"
echo 8192 > "$inst/buffer_size_kb"
echo 1 > "$inst/events/exceptions/page_fault_user/enable"
echo 1 > "$inst/events/pagemap/mm_lru_insertion/enable"
echo 1 > "$inst/events/block/block_bio_queue/enable"
sandbox_swapon
for i in $(seq 1 "$runs"); do
  cat "$(command -v env)" "$(command -v setarch)" > /dev/null
  mkdir "$cg"; echo "$memcg" > "$cg/memory.limit_in_bytes"
  echo > "$inst/trace"
  # The shell writes its own pid to the group and the trace filter, then execs the chain (same pid).
  sh -c 'echo $$ > "$1/cgroup.procs"; echo $$ > "$4/set_event_pid"; echo 1 > "$4/tracing_on"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" "$3"' \
    sh "$cg" "$work/$prog" "$work/data" "$inst" > "$out/program.$i.json"
  echo 0 > "$inst/tracing_on"
  cat "$inst/trace" > "$out/trace.$i.txt"
  echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
  rmdir "$cg"
done
