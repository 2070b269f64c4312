#!/usr/bin/env bash
# Cost against trace length (issue 19, item 7): perf/anchor/scale.sh [ROUNDS] [ECSMEM]
# Makes zipf traces of 1M, 10M and 50M accesses (same generator parameters, 12,000 pages, so the machine's state
# stops growing once every page is touched) and runs `ecsmem run --trace T --trace-format binary --snapshot none`
# on each ROUNDS times (default 3), sizes interleaved round by round, under /usr/bin/time. Prints per size the
# median wall and CPU time, CPU ns per access and the peak resident set (max RSS), so that cost linear in length
# shows as a flat ns/access and flat memory as an RSS that does not grow with the trace.
# ECSMEM defaults to the NativeAOT build perf/anchor/run.sh publishes (artifacts/anchor/native/ecsmem).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
rounds=${1:-3}
ecsmem=${2:-$root/artifacts/anchor/native/ecsmem}
[ -x "$ecsmem" ] || { echo "scale.sh: $ecsmem is not an ecsmem binary (run perf/anchor/run.sh first, or pass one)" >&2; exit 2; }
out="$root/artifacts/anchor/scale"
mkdir -p "$out"
sizes=(1000000 10000000 50000000)
for n in "${sizes[@]}"; do
  t="$out/zipf-$n.bin"
  [ -s "$t" ] || "$ecsmem" gen "zipf:count=$n,pages=12000,alpha=0.6,writes=0.3,seed=5,base=0x10000000" --out "$t" -q
done
for ((r = 0; r < rounds; r++)); do
  for n in "${sizes[@]}"; do
    # %e wall s, %U user s, %S system s, %M max RSS KiB
    /usr/bin/time -f "$n %e %U %S %M" -a -o "$out/times.$r" \
      "$ecsmem" run --trace "$out/zipf-$n.bin" --trace-format binary --snapshot none -q -o /dev/null
  done
done
cat "$out"/times.* | python3 -c '
import statistics, sys
rows = {}
for line in sys.stdin:
    n, wall, user, sys_, rss = line.split()
    rows.setdefault(int(n), []).append((float(wall), float(user) + float(sys_), int(rss)))
for n in sorted(rows):
    r = rows[n]
    wall = statistics.median(x[0] for x in r); cpu = statistics.median(x[1] for x in r)
    rss = [x[2] for x in r]
    print(f"{n:>11,} accesses: wall {wall:.2f} s, cpu {cpu:.2f} s = {cpu * 1e9 / n:.1f} ns/access, "
          f"max RSS {statistics.median(rss) / 1024:.1f} MiB (min-max {min(rss) / 1024:.1f}-{max(rss) / 1024:.1f}), {len(r)} runs")
'
rm -f "$out"/times.*
