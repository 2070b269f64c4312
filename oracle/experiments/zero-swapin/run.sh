#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/zero-swapin/run.sh RUNS PROGRAM...
# Each phase's zero-filled swap-ins (/proc/vmstat swpin_zero, swpout_zero) beside pswpin and memory.stat's pgpgin since
# the exec, for kit programs with `swap` and `memcg`: the generated program unmodified but for swap_counts, which reads
# swpin_zero/swpout_zero too (a second /proc/vmstat read into the same buffer), run as record.sh runs it (a fresh v1 group
# per run, env -i, setarch -R, env's and setarch's pages read first). Prints one line per run and phase:
# program run phase pswpin swpin_zero swpout_zero x_pgpgin (counters since the program's first vmstat read, x_pgpgin
# = pgpgin - main's pgpgout as in pgpg-start/runs.py). Restores the machine on every exit path (../sandbox.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:?usage: run.sh RUNS PROGRAM...}; shift
[ "$#" -gt 0 ] || { echo "run.sh: usage: run.sh RUNS PROGRAM..." >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
. "$here/../sandbox.sh"
sandbox zeroswapin
sed 's|static void swap_counts(void) { pairs_with("/proc/vmstat", "pswp"); }|static void swap_counts(void) { pairs_with("/proc/vmstat", "pswp"); emit(","); pairs_with("/proc/vmstat", "swp"); }|' \
  "$oracle/harness.h" > "$work/harness.h"
grep -q 'pairs_with("/proc/vmstat", "swp")' "$work/harness.h" || { echo "run.sh: harness.h's swap_counts not found" >&2; exit 1; }
mkdir -p "$work/gen" "$work/data"
sandbox_swapon
for prog in "$@"; do
  src=$oracle/programs/$prog.phases
  [ -f "$oracle/gen/$prog.c" ] || { echo "run.sh: $oracle/gen/$prog.c not found" >&2; exit 2; }
  cp "$oracle/gen/$prog.c" "$work/gen/$prog.c"
  gcc -O2 -Wall -Werror -o "$work/$prog" "$work/gen/$prog.c"
  memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
  kit_data_files "$src" "$work/data"
  for i in $(seq 1 "$runs"); do
    cat "$(command -v env)" "$(command -v setarch)" > /dev/null
    mkdir "$cg"
    echo "$memcg" > "$cg/memory.limit_in_bytes"
    sh -c 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" "$3"' sh "$cg" "$work/$prog" "$work/data" > "$work/out.json"
    echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
    rmdir "$cg"
    python3 - "$prog" "$i" "$work/out.json" <<'PY'
import json, sys
prog, run, path = sys.argv[1:]
d = json.load(open(path))
v0, off = d["vmstat0"], d["main"]["pgpgout"]
for p in d["phases"]:
    v = p["vmstat"]
    print(prog, run, p["phase"], *(v[k] - v0[k] for k in ("pswpin", "swpin_zero", "swpout_zero")), p["memstat"]["pgpgin"] - off)
PY
  done
done
