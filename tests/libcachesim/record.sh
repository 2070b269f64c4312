#!/usr/bin/env bash
# Records libCacheSim's miss counts for the policies EcsMem also has, on the small traces in this directory,
# into expected.json (read by tests/Ecs.Mem.Tests/Policies/LibCacheSimTests.cs, which replays the same traces in
# EcsMem's ideal mode and asserts the same miss counts).
#
# Usage: tests/libcachesim/record.sh [--install] [LIBCACHESIM_SRC]
#   --install        apt-get install the build dependencies first (cmake, a C/C++ compiler, glib, zstd, pkg-config)
#   LIBCACHESIM_SRC  a libCacheSim source tree (default: clone https://github.com/1a1a11a/libCacheSim into a
#                    temporary directory at $LIBCACHESIM_COMMIT)
# Needs a Release build of ecsmem (dotnet build EcsMem.sln -c Release) to write the traces.
#
# The traces are EcsMem page lists (one page number per line) written by 'ecsmem gen ... --format pages', which
# libCacheSim reads as its "txt" trace type (one object id per line). Every object has size 1 (--ignore-obj-size)
# and the cache size is a number of objects, i.e. frames. Belady needs each request's next access, which
# libCacheSim only reads from its oracleGeneral format, so the script converts each trace with libCacheSim's own
# traceConv first. cachesim prints the miss ratio with 4 decimals; with 10000 requests per trace that is the exact
# miss count (the script refuses longer traces).
set -euo pipefail

LIBCACHESIM_COMMIT=${LIBCACHESIM_COMMIT:-aa0fc40914b2b786f4b9f4dafb099f8f332b216a}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ECSMEM="dotnet $ROOT/src/Ecs.Mem.Cli/bin/Release/net10.0/ecsmem.dll"
SIZES="25 50 100 200 400 800 1600"
# libCacheSim name : EcsMem name
POLICIES="LRU:lru FIFO:fifo Clock:clock LFU:lfu ARC:arc Belady:opt"
TRACES=(
  "zipf-a0.9:zipf:count=10000,pages=2000,alpha=0.9,seed=1"
  "zipf-a0.7:zipf:count=10000,pages=4000,alpha=0.7,seed=2"
  "scanhot:scanhot:count=10000,pages=3000,hot=200,hotfrac=0.6,seed=3"
  "phase:phase:count=10000,pages=3000,ws=400,phaselen=2000,shift=300,seed=4"
  "loop:loop:count=10000,pages=700,seed=5"
)

if [[ ${1:-} == --install ]]; then
  apt-get install -y cmake build-essential pkg-config libglib2.0-dev libzstd-dev git
  shift
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SRC=${1:-}
if [[ -z $SRC ]]; then
  git clone -q https://github.com/1a1a11a/libCacheSim "$WORK/libCacheSim"
  git -C "$WORK/libCacheSim" checkout -q "$LIBCACHESIM_COMMIT"
  SRC=$WORK/libCacheSim
fi
COMMIT=$(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo "$LIBCACHESIM_COMMIT")
cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release > "$WORK/cmake.log"
make -C "$WORK/build" -j"$(nproc)" cachesim traceConv > "$WORK/make.log"
CACHESIM=$WORK/build/bin/cachesim
TRACECONV=$WORK/build/bin/traceConv

for t in "${TRACES[@]}"; do
  name=${t%%:*}
  $ECSMEM gen "${t#*:}" --out "$HERE/$name.pages" --format pages > /dev/null
done

{
  printf '{\n  "libcachesim_commit": "%s",\n  "traces": [\n' "$COMMIT"
  first_trace=1
  for t in "${TRACES[@]}"; do
    name=${t%%:*}
    trace=$HERE/$name.pages
    requests=$(wc -l < "$trace")
    if (( requests > 10000 )); then echo "record.sh: $trace has $requests requests; 4 decimals are exact only up to 10000" >&2; exit 1; fi
    (cd "$WORK" && "$TRACECONV" "$trace" txt -o "$WORK/$name.oracleGeneral" --ignore-obj-size 1 > /dev/null 2>&1)
    (( first_trace )) || printf ',\n'
    first_trace=0
    printf '    {"file": "%s", "workload": "%s", "requests": %d, "results": [\n' "$name.pages" "${t#*:}" "$requests"
    first=1
    for p in $POLICIES; do
      lcs=${p%%:*} ecs=${p#*:}
      for size in $SIZES; do
        # cachesim writes a result file into its working directory: run it in the scratch directory.
        if [[ $lcs == Belady ]]; then
          out=$(cd "$WORK" && "$CACHESIM" "$WORK/$name.oracleGeneral" oracleGeneral "$lcs" "$size" --ignore-obj-size 1 2>/dev/null | grep "miss ratio")
        else
          out=$(cd "$WORK" && "$CACHESIM" "$trace" txt "$lcs" "$size" --ignore-obj-size 1 2>/dev/null | grep "miss ratio")
        fi
        n=$(sed -E 's/.* ([0-9]+) req, miss ratio ([0-9.]+),.*/\1/' <<< "$out")
        ratio=$(sed -E 's/.* ([0-9]+) req, miss ratio ([0-9.]+),.*/\2/' <<< "$out")
        if [[ $n != "$requests" ]]; then echo "record.sh: cachesim read $n of $requests requests of $trace" >&2; exit 1; fi
        misses=$(awk -v r="$ratio" -v n="$n" 'BEGIN { printf "%d", r * n + 0.5 }')
        (( first )) || printf ',\n'
        first=0
        printf '      {"libcachesim": "%s", "policy": "%s", "cache_size": %d, "misses": %d}' "$lcs" "$ecs" "$size" "$misses"
      done
    done
    printf '\n    ]}'
  done
  printf '\n  ]\n}\n'
} > "$WORK/expected.json"
mv "$WORK/expected.json" "$HERE/expected.json"
echo "record.sh: wrote $HERE/expected.json (libCacheSim $COMMIT)"
