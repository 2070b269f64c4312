#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: runs the kit's oracle/gen/PROGRAM.c (unmodified) RUNS times as record.sh does
# (a fresh cgroup-v1 group with the program's limit and memory.swappiness, a 1 GiB swap file, ASLR off, the kit's data
# files) under `perf record -e major-faults -c 1 -d` (each major fault's address, where mm_account_fault counts it),
# and prints each run's phase fault counts (the program's JSON) and its majors by region, in order: the data file's
# page index, or the harness/anon address. No tracefs. Restores the machine on every exit (sandbox.sh).
# Usage: run.sh RUNS OUT [PROGRAM]   (default swappiness-60)
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
. "$here/../sandbox.sh"
runs=$1; out=$(realpath -m "$2"); name=${3:-swappiness-60}
mkdir -p "$out"
sandbox pcpmaj
src=../../programs/$name.phases
gcc -O2 -Wall -Werror -I../.. -o "$work/prog" "../../gen/$name.c"
mkdir -p "$work/data"
kit_data_files "$src" "$work/data"
sync
memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
swappiness=$(awk '$1 == "swappiness" { print $2 }' "$src")
grep -qE '^swap( file)?$' "$src" && sandbox_swapon
for i in $(seq 1 "$runs"); do
  mkdir "$cg"
  echo "$memcg" > "$cg/memory.limit_in_bytes"
  [ -n "$swappiness" ] && echo "$swappiness" > "$cg/memory.swappiness"
  perf record -q -e major-faults -c 1 -d -o "$work/perf.data" -- \
    sh -c 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" "$3"' sh "$cg" "$work/prog" "$work/data" \
    > "$out/$name.$i.json"
  perf script -i "$work/perf.data" -F comm,time,addr 2> /dev/null > "$out/$name.$i.perf.txt"
  sandbox_rm_cg
  echo "## $name run $i"
  python3 "$here/majors.py" "$out/$name.$i.json" "$out/$name.$i.perf.txt"
done
