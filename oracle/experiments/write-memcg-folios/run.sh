#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: runs the kit's oracle/gen/file-write-memcg.c (unmodified) RUNS times as
# record.sh does (a fresh cgroup v1 group at its 16 MiB limit, no swap) with the page-cache (add/delete, with each
# folio's order), filemap-fault, readahead and memcg-reclaim tracepoints (mm_vmscan_lru_shrink_inactive/active,
# memcg_reclaim_begin/end) in a private tracefs instance limited to the program's pid (the file is the program's
# own, made by its `create`, so no inode filter; ld.so and libc are cached before and add nothing). The flusher's
# writeback runs in kworkers and is not traced here: shrink_inactive's nr_dirty/nr_writeback/nr_immediate say what
# the direct reclaim met. Writes OUT/RUN.trace and OUT/RUN.json, then folios.py's summary.
# Usage: run.sh RUNS OUT
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
. "$here/../sandbox.sh"
runs=$1; out=$(realpath -m "$2")
mkdir -p "$out"
sandbox wmfolios
mkdir "$inst"
echo 16384 > "$inst/buffer_size_kb"
events="readahead/page_cache_sync_ra readahead/page_cache_async_ra readahead/page_cache_ra_order
  filemap/mm_filemap_fault filemap/mm_filemap_add_to_page_cache filemap/mm_filemap_delete_from_page_cache
  vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end
  vmscan/mm_vmscan_lru_shrink_inactive vmscan/mm_vmscan_lru_shrink_active"
gcc -O2 -Wall -Werror -I../.. -o "$work/prog" ../../gen/file-write-memcg.c
mkdir -p "$work/data"
for i in $(seq 1 "$runs"); do
  rm -f "$work/data/data"; sync
  for e in $events; do echo 1 > "$inst/events/$e/enable"; done
  echo > "$inst/trace"
  mkdir "$cg"
  echo 16M > "$cg/memory.limit_in_bytes"
  echo 1 > "$inst/tracing_on"
  ORACLE_MEMCG=$cg sh -c 'echo $$ > "$1/cgroup.procs"; echo $$ > "$2/set_event_pid"; exec setarch -R "$3" "$4"' \
    sh "$cg" "$inst" "$work/prog" "$work/data" > "$out/$i.json"
  echo 0 > "$inst/tracing_on"
  cat "$inst/trace" > "$out/$i.trace"
  echo > "$inst/set_event_pid"
  echo 1 > "$cg/memory.force_empty"; rmdir "$cg"
  echo "## run $i"; python3 "$here/folios.py" "$out/$i.trace"
done
