#!/bin/bash
# Which page-cache pages a kit program's group is charged for before main (README.md, "Before main: the page cache"):
# the generated C of each PROGRAM (oracle/gen/PROGRAM.c, unmodified) run RUNS times in a row exactly as record.sh runs a
# memcg program (a fresh group with the program's limit, sh moves itself in, exec env -i ORACLE_MEMCG=GROUP setarch -R
# PROGRAM DATADIR; force_empty and rmdir after each run), with the page-cache insertions and deletions, the execs and
# getrusage's entries traced for that pid (set_event_pid, written by the sh after it joined the group: an exec keeps
# the pid). warm_up's phase_start makes the program's first getrusage, and nothing between main's entry and it opens
# a file, so the insertions before it are the ones before main. Writes OUT/PROGRAM.RUN.trace and .json, and
# pagecache.py's summary (each inserted page's file, by inode) on stdout. sandbox.sh restores the machine on every exit.
# Run under the kernel lock: [PREREAD=1] flock /work/kernel.lock oracle/experiments/pgpg-start/trace.sh RUNS OUT PROGRAM...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=$1; out=$(realpath -m "$2"); shift 2
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox pgpg-trace
mkdir "$inst"
echo 4096 > "$inst/buffer_size_kb"
events="filemap/mm_filemap_add_to_page_cache filemap/mm_filemap_delete_from_page_cache sched/sched_process_exec
  syscalls/sys_enter_getrusage"
for e in $events; do echo 1 > "$inst/events/$e/enable"; done
for name in "$@"; do
  src=$here/../../programs/$name.phases
  gcc -O2 -Wall -Werror -I"$here/../.." -o "$work/$name" "$here/../../gen/$name.c"
  kit_data_files "$src" "$work/data"
  memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
  swappiness=$(awk '$1 == "swappiness" { print $2 }' "$src")
  [ -n "$memcg" ] || { echo "trace.sh: $name sets no memcg" >&2; exit 2; }
  grep -qE '^swap' "$src" && sandbox_swapon
  for i in $(seq 1 "$runs"); do
    # PREREAD=1: env's and setarch's files read into the page cache from this script's group first, as record.sh does
    # since session 22.
    if [ "${PREREAD:-0}" = 1 ]; then cat "$(command -v env)" "$(command -v setarch)" > /dev/null; fi
    mkdir "$cg"
    echo "$memcg" > "$cg/memory.limit_in_bytes"
    if [ -n "$swappiness" ]; then echo "$swappiness" > "$cg/memory.swappiness"; fi
    echo > "$inst/trace"
    echo 1 > "$inst/tracing_on"
    sh -c 'echo $$ > "$1/cgroup.procs"; echo $$ > "$2/set_event_pid"; exec env -i ORACLE_MEMCG="$1" setarch -R "$3" "$4"' \
      sh "$cg" "$inst" "$work/$name" "$work/data" > "$out/$name.$i.json" || true
    echo 0 > "$inst/tracing_on"
    echo > "$inst/set_event_pid"
    cat "$inst/trace" > "$out/$name.$i.trace"
    echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
    rmdir "$cg"
  done
  if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; rm -f "$swapfile"; fi
  rm -rf "$work/data"
done
python3 "$here/pagecache.py" "$out"/*.trace
