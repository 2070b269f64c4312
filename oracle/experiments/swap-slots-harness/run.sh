#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/swap-slots-harness/run.sh RUNS OUT PROGRAM...
# Each kit program RUNS times in a row as record.sh runs it (its binary from oracle/gen unmodified, a fresh v1 group per
# run with its limit and swappiness, `cat env setarch` first, sh joins the group and execs env -i ORACLE_MEMCG=GROUP
# setarch -R PROGRAM DATA; one 1 GiB swap file for all of a program's runs), under stopper.py: stopped at each getrusage
# and write entry and its pages' pagemap entries (swap slots, PFNs) dumped to OUT/PROGRAM.N.dump; its JSON to
# OUT/PROGRAM.N.json, `nm` of the binary to OUT/PROGRAM.nm. slots.py reads them. The machine is restored on every exit
# (sandbox.sh: group removed, swap off and deleted, tracefs unmounted if sandbox mounted it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-3}; out=${2:-/tmp/swap-slots-harness}; shift 2
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
. "$here/../sandbox.sh"
sandbox swap-slots
echo "uname_r=$(uname -r) page_cluster=$(cat /proc/sys/vm/page-cluster) vma_ra_enabled=$(cat /sys/kernel/mm/swap/vma_ra_enabled) date=$(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg)" > "$out/settings.txt"
for prog in "$@"; do
  kit_prepare "$prog"
  nm -n "$work/$prog" > "$out/$prog.nm"
  # STOPS_<PROGRAM with - as _> (e.g. STOPS_swap_anon_read=6) limits the stops (stopper.py).
  sv=STOPS_${prog//-/_}; export STOPS=${!sv:-}
  for i in $(seq 1 "$runs"); do
    cat "$(command -v env)" "$(command -v setarch)" > /dev/null
    kit_group
    python3 "$here/stopper.py" "$out/$prog.$i.dump" sh -c 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" "$3"' \
      sh "$cg" "$work/$prog" "$work/data" > "$out/$prog.$i.json" || true
    sandbox_rm_cg
  done
  kit_done
  rm -f /dev/shm/ecsmem-oracle-*
  echo "$prog: $runs runs"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/settings.txt"
