#!/bin/bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/kmem-gap/run.sh RUNS OUT [PROGRAM [PHASE]]
# (default swappiness-60 anon2). Runs the kit program RUNS times as record.sh does (env -i, setarch -R, a fresh v1
# group at its limit and swappiness per run, after `cat env setarch`; one 1 GiB swap file for all runs), compiled
# against patch-harness.sh's harness.h: it is the kit's harness unchanged up to PHASE's memcg record, where the task
# stops itself; monitor.py then reads the group and the task from outside (OUT/PROGRAM.N.stop.json, .kscan), and after
# it continues, the task ends as usual. The task's mincore(2) vector of its ranges (patch-harness.sh) is in .stop.json. Needs `dotnet run ... -- gen` done (oracle/gen).
# ../sandbox.sh restores the machine on every exit (group removed, swap off and deleted).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-4}; out=${2:-/tmp/kmem-gap}; name=${3:-swappiness-60}; phase=${4:-anon2}
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox kmem-gap
mkdir -p "$work/kit/gen" "$work/data"
# KMEM_READS=1: kmem/run.sh's harness first (its memcg record also reads memory.usage_in_bytes, memory.kmem.usage_in_bytes,
# memory.kmem.max_usage_in_bytes and /proc/self/status), to measure what those reads add to the group.
if [ "${KMEM_READS:-0}" = 1 ]; then
  "$here/../kmem/patch-harness.sh" "$oracle/harness.h" > "$work/harness.kmem.h"
  "$here/patch-harness.sh" "$work/harness.kmem.h" > "$work/kit/harness.h"
else
  "$here/patch-harness.sh" "$oracle/harness.h" > "$work/kit/harness.h"
fi
cp "$oracle/gen/$name.c" "$work/kit/gen/$name.c"
gcc -O2 -Wall -Werror -DORACLE_STOP_PHASE="\"$phase\"" -o "$work/$name" "$work/kit/gen/$name.c"
gcc -O2 -Wall -Werror -o "$work/kscan" "$here/kscan.c"
buf_addr=$(printf "%x" $(( 0x$(nm "$work/$name" | awk '$3 == "buf" { print $1 }') + 0x555555554000 )))
src=$oracle/programs/$name.phases
kit_data_files "$src" "$work/data"
memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
swappiness=$(awk '$1 == "swappiness" { print $2 }' "$src")
if grep -qE '^swap( file)?$' "$src"; then sandbox_swapon; fi
sync
echo "uname_r=$(uname -r) nproc=$(nproc) kmem_reads=${KMEM_READS:-0} kmem_chain=${KMEM_CHAIN:-0} date=$(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg)" > "$out/settings.txt"
for i in $(seq 1 "$runs"); do
  [ "${KMEM_CHAIN:-0}" = 1 ] || cat "$(command -v env)" "$(command -v setarch)" > /dev/null
  mkdir "$cg"
  echo "$memcg" > "$cg/memory.limit_in_bytes"
  if [ -n "$swappiness" ]; then echo "$swappiness" > "$cg/memory.swappiness"; fi
  # KMEM_CHAIN=1: as kmem/run.sh starts it (the caller's environment, no env -i: sh, setarch, the program).
  if [ "${KMEM_CHAIN:-0}" = 1 ]; then chain='echo $$ > "$1/cgroup.procs"; ORACLE_MEMCG="$1" exec setarch -R "$2" "$3"'
  else chain='echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" "$3"'; fi
  KSCAN=$work/kscan BUF_ADDR=$buf_addr python3 "$here/monitor.py" "$cg" "$out/$name.$i" sh -c "$chain" sh "$cg" "$work/$name" "$work/data" || true
  sandbox_rm_cg
done
if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; rm -f "$swapfile"; fi
echo "$name: $runs runs into $out"
