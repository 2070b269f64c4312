#!/usr/bin/env bash
# Mean absolute error of SHARDS' LRU miss-ratio curve against the exact (Mattson) one, for one trace.
# Usage: perf/shards-mae.sh TRACE [SHARDS-OPTIONS...]   e.g. perf/shards-mae.sh sort.pages --shards-rate 0.01
# The curve is compared at 100 cache sizes evenly spaced up to the trace's footprint (its distinct pages), as in
# the paper's MAE; prints the footprint, the number of points, the MAE and the largest error.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ECSMEM=${ECSMEM:-"dotnet $ROOT/src/Ecs.Mem.Cli/bin/Release/net10.0/ecsmem.dll"}
trace=$1; shift
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# The footprint: cold faults with one frame.
distinct=$($ECSMEM sweep "$trace" --frames 1 --policies lru --csv "$tmp/d.csv" 2>/dev/null >/dev/null; awk -F, 'NR==2 {print $7}' "$tmp/d.csv")
step=$(( distinct / 100 > 0 ? distinct / 100 : 1 ))
frames="$step:$(( step * 100 )):$step"
$ECSMEM sweep "$trace" --frames "$frames" --policies lru --csv "$tmp/exact.csv" > /dev/null 2>&1
$ECSMEM sweep "$trace" --frames "$frames" --policies lru --csv "$tmp/shards.csv" "$@" > /dev/null 2>&1
paste -d, "$tmp/exact.csv" "$tmp/shards.csv" | awk -F, -v d="$distinct" '
  NR > 1 { e = $10 - $20; if (e < 0) e = -e; sum += e; n++; if (e > max) max = e }
  END { printf "footprint %d pages, %d points, MAE %.5f, max error %.5f\n", d, n, sum / n, max }'
