#!/usr/bin/env bash
# Figures of docs/perf.md "Scale-out": (1) sharding overhead: one sweep against the same grid as 8 shards run one
# after another plus the merge, CPU time (user+sys) and wall, outputs compared with cmp; (2) per-cell cost of each
# policy (CPU ns per reference, one thread); (3) merge cost of a 50,400-cell grid in 100 parts.
#   perf/scaleout.sh [ECSMEM...]     default: dotnet src/Ecs.Mem.Cli/bin/Release/net10.0/ecsmem.dll
# Environment: REFS (references per trace in (1), default 10000000), SHARDS (default 4), ROUNDS (default 2),
# PARTS=0 skips (2) and (3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ]; then ecsmem=("$@"); else ecsmem=(dotnet "$root/src/Ecs.Mem.Cli/bin/Release/net10.0/ecsmem.dll"); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
t() { /usr/bin/time -f "%e %U %S" -o "$work/.t" "$@" >/dev/null 2>&1; awk '{printf "%.2f %.2f\n", $1, $2 + $3}' "$work/.t"; }

refs=${REFS:-10000000}; shards=${SHARDS:-4}; rounds=${ROUNDS:-2}
for s in 1 2 3 4; do "${ecsmem[@]}" gen "zipf:count=$refs,pages=50000,alpha=0.9,seed=$s" --out "z$s.bin" >/dev/null; done
grid=(z1.bin z2.bin z3.bin z4.bin --frames 1000:8000:1000 --policies lru,fifo,clock,linux,arc,opt --threads 2)
echo "== (1) overhead: 4 traces of $refs references x 6 policies x 8 sizes = 192 cells; one sweep vs $shards shards one after another + merge (wall s, cpu s)"
for round in $(seq "$rounds"); do
  one=$(t "${ecsmem[@]}" sweep "${grid[@]}" -o one)
  wall=0; cpu=0
  rm -f part-*.json
  for i in $(seq 0 $((shards - 1))); do
    r=$(t "${ecsmem[@]}" sweep "${grid[@]}" --shard "$i/$shards" --part "part-$i.json")
    wall=$(echo "$wall ${r% *}" | awk '{print $1 + $2}'); cpu=$(echo "$cpu ${r#* }" | awk '{print $1 + $2}')
  done
  m=$(t "${ecsmem[@]}" merge part-*.json -o merged)
  for x in csv json png; do cmp "one.$x" "merged.$x"; done
  echo "round $round: one sweep $one | shards $wall $cpu | merge $m (outputs identical)" |
    awk -v c1="${one#* }" -v cs="$cpu" -v cm="${m#* }" '{print; printf "  cpu overhead: %.1f %%\n", (cs + cm - c1) / c1 * 100}'
done
[ "${PARTS:-1}" = 0 ] && exit 0

echo "== (2) per-cell cost: one 2M-reference trace, 8 sizes, 1 thread: cpu s and ns per reference per cell"
"${ecsmem[@]}" gen "zipf:count=2000000,pages=50000,alpha=0.9,seed=1" --out z1.bin >/dev/null
base=$(t "${ecsmem[@]}" sweep z1.bin --frames 1 --policies fifo --threads 1)
echo "load + start-up (fifo, 1 frame): $base"
for p in lru fifo clock clock-ref linux lfu arc opt random; do
  r=$(t "${ecsmem[@]}" sweep z1.bin --frames 1000:8000:1000 --policies "$p" --threads 1)
  echo "$p $r ${base#* }" | awk '{printf "%-9s cpu %.2f s  -> %.1f ns/ref per cell\n", $1, $3, ($3 - $4) / 8 / 2e6 * 1e9}'
done

echo "== (3) merge: 100 traces x 9 policies x 56 sizes = 50,400 cells in 100 parts"
for s in $(seq 100); do "${ecsmem[@]}" gen "zipf:count=2000,pages=400,alpha=0.8,seed=$s" --format pages --out "m$s.pages" >/dev/null; done
mgrid=($(for s in $(seq 100); do echo "m$s.pages"; done) --frames 5:280:5 --policies fifo,lru,clock,clock-ref,linux,lfu,arc,opt,random --threads 2)
mkdir -p mparts
for i in $(seq 0 99); do "${ecsmem[@]}" sweep "${mgrid[@]}" --shard "$i/100" --part "mparts/part-$i.json" >/dev/null 2>&1; done
du -sh mparts | awk '{print "parts: " $1}'
echo "merge (wall s, cpu s): $(t "${ecsmem[@]}" merge mparts/part-*.json -o m50k)"
wc -l < m50k.csv | awk '{print "merged CSV rows: " $1 - 1}'
