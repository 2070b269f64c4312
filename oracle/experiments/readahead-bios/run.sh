#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: runs a kit program (oracle/gen/PROGRAM.c, unmodified) as record.sh does
# (a fresh cgroup-v1 group at its limit and memory.swappiness, the 1 GiB swap file) with two trace instances on the
# mono clock: one limited to the program's pid with the data file's readahead/page-cache/fault events and the memcg
# reclaim rounds, one with the block layer's request events of the data file's disk (block_bio_queue, block_split,
# block_rq_insert/issue/complete, not pid-limited: completions run in interrupts), and the data file's extents
# (filefrag -v) so bios.py can tell the file's reads from other I/O. Writes OUT/PROGRAM.RUN.{ra,blk,json,extents}.
# Before and after each run, /proc/buddyinfo and the Normal zone's per-CPU pagesets (count/high/batch per CPU, from
# /proc/zoneinfo) go to OUT/PROGRAM.RUN.mem (session 20: where the readahead's order-0 pages come from).
# Restores the machine on every exit (sandbox.sh: instances, group, swap file).  Usage: run.sh RUNS OUT [PROGRAM]
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
. "$here/../sandbox.sh"
runs=$1; out=$(realpath -m "$2"); name=${3:-swappiness-60}
mkdir -p "$out"
sandbox readahead-bios
inst2=$trmount/instances/ecsmem-readahead-bios-blk-$$
cleanup2() { [ -d "$inst2" ] && { echo 0 > "$inst2/tracing_on"; echo 0 > "$inst2/events/enable"; rmdir "$inst2"; }; sandbox_cleanup; }
trap cleanup2 EXIT INT TERM
src=../../programs/$name.phases
gcc -O2 -Wall -Werror -I../.. -o "$work/$name" "../../gen/$name.c"
kit_data_files "$src" "$work/data"
memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
swappiness=$(awk '$1 == "swappiness" { print $2 }' "$src")
if grep -qE "^swap( file)?$" "$src"; then sandbox_swapon; fi
mkdir "$inst" "$inst2"
echo mono > "$inst/trace_clock"; echo mono > "$inst2/trace_clock"
echo 16384 > "$inst/buffer_size_kb"; echo 8192 > "$inst2/buffer_size_kb"
dev=$(stat -c %d "$work/data/data")   # st_dev: major << 8 | minor
kdev=$(( (dev >> 8) << 20 | (dev & 255) ))
ino=$(printf '0x%x' "$(stat -c %i "$work/data/data")")
# BIOS_LITE=1: no per-page events (page-cache add/delete, page_fault_user), so the run's timing is near an untraced one.
raev="readahead/page_cache_sync_ra readahead/page_cache_async_ra readahead/page_cache_ra_order readahead/page_cache_ra_unbounded filemap/mm_filemap_fault"
[ -n "${BIOS_LITE:-}" ] || raev="$raev filemap/mm_filemap_add_to_page_cache filemap/mm_filemap_delete_from_page_cache"
for e in $raev; do
  echo "i_ino == $ino" > "$inst/events/$e/filter"; echo 1 > "$inst/events/$e/enable"
done
pidev="vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end"
[ -n "${BIOS_LITE:-}" ] || pidev="$pidev exceptions/page_fault_user"
for e in $pidev; do
  echo 1 > "$inst/events/$e/enable"
done
for e in block_bio_queue block_split block_rq_insert block_rq_issue block_rq_complete; do
  [ -d "$inst2/events/block/$e" ] || continue
  echo "dev == $kdev" > "$inst2/events/block/$e/filter"; echo 1 > "$inst2/events/block/$e/enable"
done
filefrag -v "$work/data/data" > "$out/$name.extents"
# The free lists and the Normal zone's per-CPU lists: "buddy ZONE n0 .. n10" and "pcp CPU count high batch" lines.
memstate() {
  echo "# $1 $(cut -d' ' -f1 /proc/uptime) s uptime, load $(cut -d' ' -f1-3 /proc/loadavg)"
  awk '{ printf "buddy %s", $4; for (i = 5; i <= NF; i++) printf " %s", $i; print "" }' /proc/buddyinfo
  awk '/^Node .*zone/ { z = $4 } z == "Normal" && $1 == "cpu:" { c = $2 }
       z == "Normal" && $1 == "count:" { n = $2 } z == "Normal" && $1 == "high:" { h = $2 }
       z == "Normal" && $1 == "batch:" { print "pcp", c, n, h, $2 }' /proc/zoneinfo
}
for i in $(seq 1 "$runs"); do
  echo > "$inst/trace"; echo > "$inst2/trace"
  memstate before > "$out/$name.$i.mem"
  mkdir "$cg"
  if [ -n "$memcg" ]; then echo "$memcg" > "$cg/memory.limit_in_bytes"; fi   # a program without `memcg`: an unlimited group
  if [ -n "$swappiness" ]; then echo "$swappiness" > "$cg/memory.swappiness"; fi
  echo 1 > "$inst2/tracing_on"; echo 1 > "$inst/tracing_on"
  sh -c 'echo $$ > "$1/cgroup.procs"; echo $$ > "$2/set_event_pid"; exec env -i ORACLE_MEMCG="$1" setarch -R "$3" "$4"' \
    sh "$cg" "$inst" "$work/$name" "$work/data" > "$out/$name.$i.json"
  echo 0 > "$inst/tracing_on"; echo 0 > "$inst2/tracing_on"
  memstate after >> "$out/$name.$i.mem"
  cat "$inst/trace" > "$out/$name.$i.ra"; cat "$inst2/trace" > "$out/$name.$i.blk"
  echo > "$inst/set_event_pid"
  sandbox_rm_cg
  echo "run $i: $(wc -l < "$out/$name.$i.ra") ra events, $(wc -l < "$out/$name.$i.blk") block events"
done
