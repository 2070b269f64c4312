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
  kit_prepare "$name"
  for i in $(seq 1 "$runs"); do
    # PREREAD=1: env's and setarch's files read into the page cache from this script's group first, as record.sh does
    # since session 22.
    if [ "${PREREAD:-0}" = 1 ]; then cat "$(command -v env)" "$(command -v setarch)" > /dev/null; fi
    kit_group
    echo > "$inst/trace"
    echo 1 > "$inst/tracing_on"
    sh -c 'echo $$ > "$1/cgroup.procs"; echo $$ > "$2/set_event_pid"; exec env -i ORACLE_MEMCG="$1" setarch -R "$3" "$4"' \
      sh "$cg" "$inst" "$work/$name" "$work/data" > "$out/$name.$i.json" || true
    echo 0 > "$inst/tracing_on"
    echo > "$inst/set_event_pid"
    cat "$inst/trace" > "$out/$name.$i.trace"
    sandbox_rm_cg
  done
  kit_done
done
python3 "$here/pagecache.py" "$out"/*.trace
