#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/shmem-zeromap/nonzero-trace.sh [RUNS] [PROGRAM]
# The swap-cache-residue trace (memcg reclaims, shrink_inactive, write_folio, the swap file's block requests, memory.stat
# every 2 ms) of PROGRAM (default tmpfs-swap-memcg) with warm_up storing 1 into every page of the harness's `buf`, so
# what the program pwrites holds data: a copy of the oracle tree (generated C, phases, the experiments) with that
# harness.h, and ../swap-cache-residue/run.sh run from it. Output in $OUT (default /tmp/shmem-zeromap-nonzero); the
# copy is removed on exit. run.sh restores the machine itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}
prog=${2:-tmpfs-swap-memcg}
[ "$(id -u)" -eq 0 ] || { echo "nonzero-trace.sh: needs root" >&2; exit 2; }
[ -f "$oracle/gen/$prog.c" ] || { echo "nonzero-trace.sh: $oracle/gen/$prog.c not found (run the kit's gen)" >&2; exit 2; }
copy=$(mktemp -d /tmp/shmem-zeromap-oracle.XXXXXX)
trap 'rm -rf "$copy"' EXIT INT TERM
mkdir -p "$copy/gen" "$copy/programs"
cp -r "$oracle/experiments" "$copy/"
cp "$oracle/gen/$prog.c" "$copy/gen/"
cp "$oracle/programs/$prog.phases" "$copy/programs/"
grep -q 'i += 4096) buf\[i\] = 0;' "$oracle/harness.h" || { echo "nonzero-trace.sh: warm_up's buf loop not found in harness.h" >&2; exit 2; }
sed 's/i += 4096) buf\[i\] = 0;/i += 4096) buf[i] = 1;/' "$oracle/harness.h" > "$copy/harness.h"
OUT=${OUT:-/tmp/shmem-zeromap-nonzero} "$copy/experiments/swap-cache-residue/run.sh" "$runs" "$prog"
