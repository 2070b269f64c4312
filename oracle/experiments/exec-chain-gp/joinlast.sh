#!/bin/bash
# The brief's alternative (session 23, oomgrace): do the figures move when the program joins its group only after the
# exec chain? RUNS runs of each PROGRAM (oracle/gen/PROGRAM.c, unmodified; no re-record: fixtures.json is not touched),
# alternating two ways of starting it in a fresh group with the program's limit:
#   record:   as record.sh: sh joins the group, then exec env -i ORACLE_MEMCG=GROUP setarch -R PROGRAM DATADIR
#   joinlast: env -i ORACLE_MEMCG=GROUP setarch -R sh -c '<join the group>; exec PROGRAM DATADIR' from this script's
#             group: env's and setarch's address spaces are made and dropped outside the group, and only the page
#             tables the last sh faults after joining wait for their grace period in it (setarch's personality,
#             ADDR_NO_RANDOMIZE, survives sh's exec; dash adds nothing to the environment it passes on).
# Per run (joinlast.py): main's rss, cache, pgpgin, pgpgout and the chain (pgpgin − rss − cache at main), and each phase's
# pgpgin/pgpgout over the phase and since the exec (as the kit counts pgpg_exec), with the phase's result.
# Run under the kernel lock: flock /work/kernel.lock oracle/experiments/exec-chain-gp/joinlast.sh RUNS OUT PROGRAM...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=$1; out=$(realpath -m "$2"); shift 2
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox chain-join
for name in "$@"; do
  kit_prepare "$name"
  for i in $(seq 1 "$runs"); do
    for variant in record joinlast; do
      cat "$(command -v env)" "$(command -v setarch)" "$(readlink -f /bin/sh)" > /dev/null
      kit_group
      case $variant in
        record) sh -c 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" "$3"' \
                  sh "$cg" "$work/$name" "$work/data" > "$out/$name.$variant.$i.json" || true ;;
        joinlast) env -i ORACLE_MEMCG="$cg" setarch -R /bin/sh -c 'echo $$ > "$ORACLE_MEMCG/cgroup.procs"; exec "$0" "$1"' \
                  "$work/$name" "$work/data" > "$out/$name.$variant.$i.json" || true ;;
      esac
      python3 "$here/joinlast.py" "$variant" "$i" "$out/$name.$variant.$i.json" | tee -a "$out/joinlast.txt"
      sandbox_rm_cg
      sleep 1
    done
  done
  kit_done
done
