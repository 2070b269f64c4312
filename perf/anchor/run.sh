#!/usr/bin/env bash
# The C anchor against the full machine: perf/anchor/run.sh [ROUNDS] [TRACE.bin ...]
#   perf/anchor/run.sh 15                      # the default traces, 15 alternating rounds each
#   ECSMEM=out/native/ecsmem perf/anchor/run.sh 9   # an ecsmem already published (skips the publish)
# 1. builds perf/anchor/anchor.c (gcc -O2) and publishes ecsmem with NativeAOT (README "A native build")
#    into artifacts/anchor/, unless ECSMEM names an ecsmem binary;
# 2. makes the traces in artifacts/anchor/traces: the Lackey samples of real programs (matmul, sort, hashlist)
#    converted to the binary format with `ecsmem convert`, and a miss-heavy zipf trace from `ecsmem gen`;
# 3. checks that the anchor's counters EQUAL ecsmem's report on each trace (TLB hits and misses, cache
#    accesses, misses and write-backs, faults, translation and memory cycles): the anchor does the same work;
# 4. runs `anchor T` and `ecsmem run --trace T --trace-format binary --snapshot none` alternately ROUNDS times
#    (the order flips every round, so a drift of the machine falls on both) and prints, per trace, each one's
#    median wall time and the ratio ecsmem/anchor: median of the per-round ratios, with p25-p75 and min-max.
# Whole processes are timed (start-up, reading the file, the report), one after the other, never together.
# `--snapshot none`: the default `peak` snapshot replays the trace a second time, which the anchor does not.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
rounds=${1:-11}
[ $# -gt 0 ] && shift
out="$root/artifacts/anchor"
mkdir -p "$out/traces"

gcc -O2 -Wall -o "$out/anchor" "$root/perf/anchor/anchor.c"
ecsmem=${ECSMEM:-}
if [ -z "$ecsmem" ]; then
  log=$(mktemp)
  dotnet publish "$root/src/Ecs.Mem.Cli" -c Release -r linux-x64 -p:PublishAot=true -o "$out/native" >"$log" 2>&1 \
    || { cat "$log"; echo "run.sh: the NativeAOT publish failed" >&2; exit 1; }
  rm -f "$log"
  ecsmem="$out/native/ecsmem"
fi

traces=("$@")
if [ ${#traces[@]} -eq 0 ]; then
  for p in matmul sort hashlist; do
    t="$out/traces/$p.bin"
    [ -s "$t" ] || "$ecsmem" convert "$root/samples/cachegrind/$p.lackey.gz" --to binary --out "$t" -q > /dev/null
    traces+=("$t")
  done
  # A longer real program when Valgrind is installed: gzip of 20,000 numbered lines (`seq 1 20000`, 109 KB),
  # traced by Lackey (the Lackey text is converted and deleted).
  t="$out/traces/gzip.bin"
  if [ ! -s "$t" ] && command -v valgrind >/dev/null; then
    seq 1 20000 > "$out/traces/gzip-input.txt"
    valgrind --tool=lackey --trace-mem=yes --log-file="$out/traces/gzip.lackey" gzip -c "$out/traces/gzip-input.txt" > /dev/null
    "$ecsmem" convert "$out/traces/gzip.lackey" --to binary --out "$t" -q > /dev/null
    rm -f "$out/traces/gzip.lackey"
  fi
  [ -s "$t" ] && traces+=("$t")
  # Miss-heavy: 12,000 pages (47 MiB, inside the 64 MiB a trace run gets), zipf 0.6, 30 % writes; most accesses
  # miss the STLB and L1d, and a third go to memory.
  t="$out/traces/zipf.bin"
  [ -s "$t" ] || "$ecsmem" gen zipf:count=10000000,pages=12000,alpha=0.6,writes=0.3,seed=5,base=0x10000000 --out "$t" -q
  traces+=("$t")
fi

for t in "${traces[@]}"; do
  name=$(basename "$t" .bin)
  # 3. the counters must be equal, or the timing means nothing
  "$ecsmem" run --trace "$t" --trace-format binary --snapshot none --json -o "$out/$name.json" -q
  "$out/anchor" "$t" > "$out/$name.anchor"
  python3 "$root/perf/anchor/compare.py" "$out/$name.json" "$out/$name.anchor" >/dev/null \
    || { python3 "$root/perf/anchor/compare.py" "$out/$name.json" "$out/$name.anchor"; echo "run.sh: $name: counters differ" >&2; exit 1; }
  # 4. alternating rounds, timed by perf/anchor/alternate.py (wall and CPU time of each child process)
  python3 "$root/perf/anchor/alternate.py" "$rounds" "$name" "$(awk '$1 == "accesses" { print $2 }' "$out/$name.anchor")" \
    -- "$out/anchor" "$t" \
    -- "$ecsmem" run --trace "$t" --trace-format binary --snapshot none -q -o /dev/null
done
