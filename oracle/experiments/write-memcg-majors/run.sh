#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: runs the kit's oracle/gen/file-write-memcg.c (unmodified) RUNS times as
# record.sh does (a fresh cgroup-v1 group at its 16 MiB limit, no swap, an empty environment, ASLR off, the data file
# made by the program with O_TRUNC) under `perf record -e major-faults -c 1 -d -k mono` (each major fault's address
# and time, taken where mm_account_fault counts it), with two trace instances on the same mono clock: one limited to
# the program's pid (readahead, page-cache add/delete, mm_filemap_fault, page_fault_user, the memcg reclaim rounds),
# one with the block layer's request events of the data file's disk (not pid-limited: completions run in
# interrupts), and the data file's extents after each run (filefrag -v) so majors.py can tell the file's reads from
# other I/O. Writes OUT/RUN.{ra,blk,perf.txt,json,extents} and prints majors.py's summary of each run.
# NOPERF=1 runs without perf (it slows the program enough to change the read pass, README): majors.py then takes
# a filemap_fault on a page absent from the page cache as the major fault.
# Restores the machine on every exit (sandbox.sh: instances, group).  Usage: run.sh RUNS OUT
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
. "$here/../sandbox.sh"
runs=$1; out=$(realpath -m "$2")
mkdir -p "$out"
sandbox wmmajors
inst2=$trmount/instances/ecsmem-wmmajors-blk-$$
cleanup2() { [ -d "$inst2" ] && { echo 0 > "$inst2/tracing_on"; echo 0 > "$inst2/events/enable"; rmdir "$inst2"; }; sandbox_cleanup; }
trap cleanup2 EXIT INT TERM
gcc -O2 -Wall -Werror -I../.. -o "$work/prog" ../../gen/file-write-memcg.c
mkdir -p "$work/data"
mkdir "$inst" "$inst2"
echo mono > "$inst/trace_clock"; echo mono > "$inst2/trace_clock"
echo 32768 > "$inst/buffer_size_kb"; echo 16384 > "$inst2/buffer_size_kb"
dev=$(stat -c %d "$work/data")   # st_dev: major << 8 | minor
kdev=$(( (dev >> 8) << 20 | (dev & 255) ))
for e in readahead/page_cache_sync_ra readahead/page_cache_async_ra readahead/page_cache_ra_order \
  filemap/mm_filemap_fault filemap/mm_filemap_add_to_page_cache filemap/mm_filemap_delete_from_page_cache \
  vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end exceptions/page_fault_user; do
  echo 1 > "$inst/events/$e/enable"
done
for e in block_rq_issue block_rq_complete; do
  echo "dev == $kdev" > "$inst2/events/block/$e/filter"; echo 1 > "$inst2/events/block/$e/enable"
done
for i in $(seq 1 "$runs"); do
  echo > "$inst/trace"; echo > "$inst2/trace"
  mkdir "$cg"
  echo 16M > "$cg/memory.limit_in_bytes"
  echo 1 > "$inst2/tracing_on"; echo 1 > "$inst/tracing_on"
  perf=(perf record -q -e major-faults -c 1 -d -k mono -o "$work/perf.data" --)
  [ "${NOPERF:-0}" = 1 ] && perf=()
  "${perf[@]}" sh -c 'echo $$ > "$1/cgroup.procs"; echo $$ > "$2/set_event_pid"; exec env -i ORACLE_MEMCG="$1" setarch -R "$3" "$4"' \
    sh "$cg" "$inst" "$work/prog" "$work/data" > "$out/$i.json"
  echo 0 > "$inst/tracing_on"; echo 0 > "$inst2/tracing_on"
  cat "$inst/trace" > "$out/$i.ra"; cat "$inst2/trace" > "$out/$i.blk"
  if [ "${NOPERF:-0}" = 1 ]; then : > "$out/$i.perf.txt"
  else perf script -i "$work/perf.data" -F comm,tid,time,addr 2> /dev/null > "$out/$i.perf.txt"; fi
  filefrag -v "$work/data/data" > "$out/$i.extents"
  echo > "$inst/set_event_pid"
  sandbox_rm_cg
  echo "## run $i: $(wc -l < "$out/$i.ra") events, $(wc -l < "$out/$i.blk") block events, $(wc -l < "$out/$i.perf.txt") major faults"
  python3 "$here/majors.py" "$out/$i" || true
done
