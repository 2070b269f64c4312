#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: runs the kit's generated C program (oracle/gen/PROGRAM.c, unmodified; default
# ra-reread-memcg) RUNS times as record.sh does — a fresh cgroup v1 memory group with the program's limit, its data file
# written in 4 KiB blocks, ASLR off — with every user page fault (exceptions:page_fault_user, its address), the
# page-cache faults (filemap:mm_filemap_fault), the page-cache insertions and deletions of the data file and the
# readahead windows on in a private trace instance limited to the program's pid; writes OUT/PROGRAM.RUN.trace and
# OUT/PROGRAM.RUN.json, then faults.py's summary of each run. sandbox.sh restores the machine on every exit path.
# Usage: run.sh RUNS OUT [PROGRAM]
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
runs=$1; out=$(realpath -m "$2"); name=${3:-ra-reread-memcg}
mkdir -p "$out"
. "$here/../sandbox.sh"; sandbox faultaround
mkdir "$inst"
echo 32768 > "$inst/buffer_size_kb"
src=$here/../../programs/$name.phases
gcc -O2 -Wall -Werror -I"$here/../.." -o "$work/$name" "$here/../../gen/$name.c"
kit_data_files "$src" "$work"
sync
memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
ino=$(printf '0x%x' "$(stat -c %i "$work/data")")
for e in exceptions/page_fault_user filemap/mm_filemap_fault filemap/mm_filemap_add_to_page_cache \
    filemap/mm_filemap_delete_from_page_cache readahead/page_cache_sync_ra readahead/page_cache_async_ra \
    readahead/page_cache_ra_order readahead/page_cache_ra_unbounded; do
  case $e in exceptions/*) ;; *) echo "i_ino == $ino" > "$inst/events/$e/filter" ;; esac
  echo 1 > "$inst/events/$e/enable"
done
for i in $(seq 1 "$runs"); do
  sandbox_pid_traced_run "$memcg" "$out/$name.$i.json" "$out/$name.$i.trace" \
    env ORACLE_MEMCG="$cg" "$work/$name" "$work" || true
  sandbox_rm_cg
  echo "## $name run $i"; FA_BASE=${FA_BASE:-0x100000000000} FA_PAGES=${FA_PAGES:-16384} python3 "$here/faults.py" "$out/$name.$i.trace" "$out/$name.$i.json"
done
