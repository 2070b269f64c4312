#!/bin/bash
# Session 30: the kit (oracle eval of every program) on machines whose free lists are snapshots.txt's lines, one eval per
# line, and which programs then differ. A line's orders 0..9 are taken as measured and order 10 cut to one block, the
# machine's RAM the least multiple of 1 GiB that holds the blocks with their buddies (AgedFreeArea.Fits); the per-CPU
# lists' pages are left out (PCP=1 adds them as order-0 blocks). Run from anywhere, after a Release build.
#   Usage: kit.sh [SNAPSHOTS]          (default: snapshots.txt beside this script)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
file=${1:-$here/snapshots.txt}
progs=$(ls "$root"/oracle/programs/*.phases | xargs -n1 basename | sed 's/\.phases$//' | tr '\n' ' ')
grep -v '^#' "$file" | while read -r stamp up kernel normal pcp rest; do
  blocks=${normal#normal=[}; blocks=${blocks%]}
  IFS=, read -r -a n <<< "$blocks"
  [ "${PCP:-0}" = 1 ] && n[0]=$(( n[0] + ${pcp#pcp=} ))
  n[10]=1
  need=1024
  for k in 0 1 2 3 4 5 6 7 8 9; do need=$(( need + n[k] * (2 << k) )); done
  gib=$(( (need * 4096 + (1 << 30) - 1) >> 30 ))
  z=$(IFS=,; echo "${n[*]}")
  out=$(ECSMEM_ORACLE_RAM=$(( gib << 30 )) ECSMEM_ORACLE_MACHINE="free_area: [$z]" \
        dotnet run -c Release --no-build --project "$root/oracle/Ecs.Mem.Oracle" -- eval $progs 2>&1 | grep ': differs' | sed 's/: differs//' | tr '\n' ' ')
  echo "$stamp ${gib}G [$z] differ: $out"
done
