#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: the control for run.sh: the same RUNS of file-write-memcg as record.sh runs
# them, with no perf and no tracing; prints each run's read-pass minflt, majflt, file VMA Rss and memory.stat's
# workingset_refault_file, and the write's active/inactive file pages.  Usage: plain.sh RUNS OUT
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
. "$here/../sandbox.sh"
runs=$1; out=$(realpath -m "$2")
mkdir -p "$out"
sandbox wmplain
gcc -O2 -Wall -Werror -I../.. -o "$work/prog" ../../gen/file-write-memcg.c
mkdir -p "$work/data"
for i in $(seq 1 "$runs"); do
  mkdir "$cg"
  echo 16M > "$cg/memory.limit_in_bytes"
  sh -c 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" "$3"' sh "$cg" "$work/prog" "$work/data" \
    > "$out/plain.$i.json"
  sandbox_rm_cg
  python3 - "$out/plain.$i.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); ph = {p['phase']: p for p in d['phases']}
w, r = ph['write']['memstat'], ph['read']
print(f"{sys.argv[1].rsplit('/', 1)[1]}: read {r['minflt']} / {r['majflt']} faults, Rss {r['vmas'][0]['rss_kb']} kB, "
      f"refault_file {r['memstat']['workingset_refault_file']}; write active/inactive file {w['active_file'] // 4096} / {w['inactive_file'] // 4096}")
PY
done
