#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: oracle/experiments/sw200-stack-top/run.sh RUNS OUT [PROGRAM]  (default swappiness-200)
# Two kinds of run of the kit program as record.sh runs it (a fresh cgroup-v1 group with the program's limit and
# memory.swappiness, the kit's data files, a 1 GiB swap file, env -i, ASLR off; sandbox.sh restores the machine):
#  - RUNS stopped runs: oracle/gen/PROGRAM.c with stack-top's raw SIGSTOPs (S0, W, then A1.. at each window's end,
#    before phase_end) and stack-top's probe.py, which prints at each stop the stack's pages (kpageflags or swap slot)
#    and the group's active/inactive anon: OUT/stops.N.txt;
#  - RUNS unmodified runs under `perf record -e major-faults -d` (pcp-contiguity's): each major fault's address by
#    phase, OUT/perf.N.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=$1; out=$(realpath -m "$2"); name=${3:-swappiness-200}
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox sw200top
src=$here/../../programs/$name.phases
sed -f "$here/../stack-top/stops.sed" "$here/../../gen/$name.c" | sed "s|\"\.\./harness.h\"|\"$here/../../harness.h\"|" > "$work/stops.c"
gcc -O2 -Wall -Werror -o "$work/stops" "$work/stops.c"
gcc -O2 -Wall -Werror -I"$here/../.." -o "$work/prog" "$here/../../gen/$name.c"
kit_data_files "$src" "$work/data"
limit=$(numfmt --from=iec "$(awk '$1 == "memcg" { print $2 }' "$src")")
swappiness=$(awk '$1 == "swappiness" { print $2 }' "$src")
sandbox_swapon
for i in $(seq 1 "$runs"); do
  python3 "$here/../stack-top/probe.py" "$work/stops" "$cg" "$limit" "$swappiness" "$work/data" > "$out/stops.$i.txt"
  mkdir "$cg"
  echo "$limit" > "$cg/memory.limit_in_bytes"
  [ -n "$swappiness" ] && echo "$swappiness" > "$cg/memory.swappiness"
  perf record -q -e major-faults -c 1 -d -o "$work/perf.data" -- \
    sh -c 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" "$3"' sh "$cg" "$work/prog" "$work/data" \
    > "$out/run.$i.json"
  perf script -i "$work/perf.data" -F comm,time,addr 2> /dev/null > "$out/perf.$i.txt"
  sandbox_rm_cg
  echo "run $i done"
done
