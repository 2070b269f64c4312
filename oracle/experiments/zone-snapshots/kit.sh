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
[ -r "$file" ] || { echo "kit.sh: $file: cannot read the snapshots" >&2; exit 2; }
lineno=0
while read -r stamp up kernel normal pcp rest; do
  lineno=$((lineno + 1))
  case $stamp in ''|'#'*) continue ;; esac
  blocks=${normal#normal=[}; blocks=${blocks%]}
  # Bad input ends in one line naming the file, the line and the value (snapshots.txt is edited by hand too).
  if ! [[ $normal == normal=\[*\] && $blocks =~ ^[0-9]+(,[0-9]+){10}$ ]]; then
    echo "kit.sh: $file:$lineno: not normal=[11 counts]: '$normal'" >&2; exit 2
  fi
  IFS=, read -r -a n <<< "$blocks"
  if [ "${PCP:-0}" = 1 ]; then
    count=${pcp#pcp=}
    if ! [[ $count =~ ^[0-9]+$ ]]; then
      echo "$stamp skipped: PCP=1 needs its per-CPU count, the line has '$pcp'"
      continue
    fi
    n[0]=$(( n[0] + count ))
  fi
  n[10]=1
  need=1024
  for k in 0 1 2 3 4 5 6 7 8 9; do need=$(( need + n[k] * (2 << k) )); done
  gib=$(( (need * 4096 + (1 << 30) - 1) >> 30 ))
  z=$(IFS=,; echo "${n[*]}")
  # stdin from /dev/null: dotnet must not read the snapshot lines this loop reads.
  if ! res=$(ECSMEM_ORACLE_RAM=$(( gib << 30 )) ECSMEM_ORACLE_MACHINE="free_area: [$z]" \
        dotnet run -c Release --no-build --project "$root/oracle/Ecs.Mem.Oracle" -- eval $progs 2>&1 < /dev/null) \
     && ! grep -q ': differs' <<< "$res"; then
    echo "kit.sh: $file:$lineno: the eval failed: $(grep -m1 'error' <<< "$res" || tail -1 <<< "$res")" >&2; exit 1
  fi
  echo "$stamp ${gib}G [$z] differ: $(grep ': differs' <<< "$res" | sed 's/: differs (worst \(.*\))/ (\1)/' | tr '\n' ' ')"
done < "$file"
