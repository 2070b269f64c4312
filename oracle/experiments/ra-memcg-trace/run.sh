#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: runs the kit's generated C programs (oracle/gen/PROGRAM.c, unmodified)
# as record.sh does — a fresh cgroup v1 memory group with the program's limit and memory.swappiness, a 1 GiB swap
# file when the program sets `swap`, its data file written in 4 KiB blocks — with the readahead, page-cache and
# memcg-reclaim tracepoints on in a private tracefs instance limited to the program's pid, and writes per run
# OUT/PROGRAM.RUN.trace (the raw events) and OUT/PROGRAM.RUN.json (the harness's output), then windows.py's summary.
# Restores the machine on every exit path: tracing off and the instance removed, tracefs unmounted, the cgroup
# removed, swap off and its file deleted.   Usage: [RA_TRACE_SHRINK=1] run.sh RUNS OUT PROGRAM...
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
. "$here/../../datafiles.sh"
runs=$1; out=$(realpath -m "$2"); shift 2
mkdir -p "$out"
work=$(mktemp -d /work/ecsmem-ratrace.XXXXXX)
swapfile=$work.swap
tr=$work/tracefs
inst=""
cg=""
cleanup() {
  set +e
  if [ -n "$inst" ] && [ -d "$inst" ]; then
    echo 0 > "$inst/tracing_on"; echo 0 > "$inst/events/enable"; echo > "$inst/set_event_pid"; rmdir "$inst"
  fi
  mountpoint -q "$tr" && umount "$tr"
  if [ -n "$cg" ] && [ -d "$cg" ]; then rmdir "$cg"; fi
  if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; fi
  rm -f "$swapfile"; rm -rf "$work"
}
trap cleanup EXIT INT TERM
mkdir -p "$tr"; mount -t tracefs nodev "$tr"
inst=$tr/instances/ecsmem-ratrace-$$
mkdir "$inst"
echo 16384 > "$inst/buffer_size_kb"
events="readahead/page_cache_sync_ra readahead/page_cache_async_ra readahead/page_cache_ra_order
  readahead/page_cache_ra_unbounded filemap/mm_filemap_fault filemap/mm_filemap_add_to_page_cache
  filemap/mm_filemap_delete_from_page_cache vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end"
# RA_TRACE_SHRINK=1: shrink_inactive_list's and shrink_active_list's per-list figures and the program's sched_switch
# events too (reclaimed.py's anon/file split and the time its windows spent switched out).
if [ "${RA_TRACE_SHRINK:-}" = 1 ]; then events="$events vmscan/mm_vmscan_lru_shrink_inactive vmscan/mm_vmscan_lru_shrink_active sched/sched_switch"; fi
# RA_TRACE_EXTRA="exceptions/page_fault_user pagemap/mm_lru_insertion ...": more events, unfiltered (the program's pid only).
events="$events ${RA_TRACE_EXTRA:-}"
for name in "$@"; do
  src=../../programs/$name.phases
  gcc -O2 -Wall -Werror -I../.. -o "$work/$name" "../../gen/$name.c"
  mkdir -p "$work/data"
  kit_data_files "$src" "$work/data"
  sync
  memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
  swappiness=$(awk '$1 == "swappiness" { print $2 }' "$src")
  if grep -qE '^swap( file)?$' "$src"; then
    fallocate -l 1G "$swapfile"; chmod 600 "$swapfile"; mkswap -q "$swapfile"; swapon "$swapfile"
  fi
  for i in $(seq 1 "$runs"); do
    # Only the data file's inode: the readahead and page-cache events of everything else are left out.
    ino=$(printf '0x%x' "$(stat -c %i "$work/data/data")")
    for e in $events; do
      case $e in
        # RA_TRACE_FAULT_FILTER='address >= 0x100000000000 && address < 0x100000800000': page_fault_user on one range only.
        exceptions/*) echo "${RA_TRACE_FAULT_FILTER:-0}" > "$inst/events/$e/filter" ;;
        vmscan/* | sched/* | pagemap/*) echo 0 > "$inst/events/$e/filter" ;;
        *) echo "i_ino == $ino" > "$inst/events/$e/filter" ;;
      esac
      echo 1 > "$inst/events/$e/enable"
    done
    echo > "$inst/trace"
    cg=/sys/fs/cgroup/memory/ecsmem-ratrace-$$
    mkdir "$cg"
    echo "$memcg" > "$cg/memory.limit_in_bytes"
    if [ -n "$swappiness" ]; then echo "$swappiness" > "$cg/memory.swappiness"; fi
    echo 1 > "$inst/tracing_on"
    ORACLE_MEMCG=$cg sh -c 'echo $$ > "$1/cgroup.procs"; echo $$ > "$2/set_event_pid"; exec setarch -R "$3" "$4"' \
      sh "$cg" "$inst" "$work/$name" "$work/data" > "$out/$name.$i.json"
    echo 0 > "$inst/tracing_on"
    cat "$inst/trace" > "$out/$name.$i.trace"
    echo > "$inst/set_event_pid"
    echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
    rmdir "$cg"; cg=""
    echo "## $name run $i"; python3 "$here/windows.py" "$out/$name.$i.trace" "$out/$name.$i.json"
  done
  if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; rm -f "$swapfile"; fi
  rm -rf "$work/data"
done
