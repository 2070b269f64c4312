#!/usr/bin/env bash
# EcsMem's ideal-mode LRU against the C anchor (lru.c), alternating rounds on the same binary trace, so the
# VM's drift falls on both sides; prints each round's ratio, then the median and the spread.
#
#   perf/anchor-ideal/run.sh loop  ROUNDS TRACE.bin FRAMES   replay loops alone, in one process: the C replay
#                                                            (lru.c as a library) and IdealSimulator alternating
#                                                            on the same array (`Ecs.Mem.Perf ideal-loop`)
#   perf/anchor-ideal/run.sh whole ROUNDS TRACE.bin FRAMES   whole processes: `lru TRACE FRAMES` against
#                                                            `ecsmem run --ideal --policy lru` (wall time)
#
# Build first: dotnet build EcsMem.sln -c Release (loop); the NativeAOT publish below (whole).
# ECSMEM: the ecsmem binary for `whole` (default out/native/ecsmem, the NativeAOT build: README "A native build").
# Every round checks that both sides count the same hits, faults and evictions, and stops if not.
# Make the trace with: ecsmem gen 'zipf:count=10000000,pages=50000,alpha=0.9,seed=1' --format binary --out z10m.bin
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=${1:?usage: run.sh loop|whole ROUNDS TRACE.bin FRAMES}
rounds=${2:?rounds}
trace=${3:?trace}
frames=${4:?frames}
anchor=${ANCHOR:-/tmp/ecsmem-anchor-ideal-lru}
gcc -O2 -o "$anchor" "$here/lru.c"
gcc -O2 -DANCHOR_LIB -shared -fPIC -o "$anchor.so" "$here/lru.c"
perf_dll="$root/perf/Ecs.Mem.Perf/bin/Release/net10.0/Ecs.Mem.Perf.dll"
ecsmem=${ECSMEM:-$root/out/native/ecsmem}

ns() { date +%s%N; }
if [[ $mode == loop ]]; then
    # Both loops in one process, alternating per round (Ecs.Mem.Perf ideal-loop with the anchor as a library).
    exec dotnet "$perf_dll" ideal-loop "$trace" "$frames" lru "$rounds" "$anchor.so"
fi
ratios=()
cpu_ratios=()
tmp=$(mktemp)
out=$(mktemp)
trap 'rm -f "$tmp" "$out"' EXIT
TIMEFORMAT='%3U %3S'

for ((r = 1; r <= rounds; r++)); do
    if [[ $mode == whole ]]; then
        # Wall from the shell's clock; CPU (user + sys, both threads of EcsMem's read-ahead) from bash's `time`
        # (getrusage of the child, to the millisecond; /usr/bin/time prints 10 ms steps).
        cpu() { awk '{printf "%.0f", ($1 + $2) * 1e9}' "$tmp"; }
        run_c() { local t0; t0=$(ns); { time "$anchor" "$trace" "$frames" >"$out"; } 2>"$tmp"; c_ns=$(( $(ns) - t0 )); c_out=$(<"$out"); c_cpu=$(cpu); }
        run_e() { local t0; t0=$(ns); { time "$ecsmem" run --ideal --trace "$trace" --frames "$frames" --policy lru >"$out"; } 2>"$tmp"; e_ns=$(( $(ns) - t0 )); e_out=$(<"$out"); e_cpu=$(cpu); }
        if ((r % 2)); then run_c; run_e; else run_e; run_c; fi
        c_counts=$(tail -1 <<<"$c_out")
        e_counts=$(awk '/^references:/{r=$2} /^hits:/{h=$2} /^faults:/{f=$2} /^  cold:/{c=$2} /^  capacity:/{k=$2} /^evictions:/{e=$2}
            END {printf "references %s hits %s faults %s cold %s capacity %s evictions %s\n", r, h, f, c, k, e}' <<<"$e_out")
    else
        echo "run.sh: unknown mode '$mode' (loop or whole)" >&2; exit 2
    fi
    if [[ $c_counts != "$e_counts" ]]; then
        echo "run.sh: counts differ: C '$c_counts', EcsMem '$e_counts'" >&2; exit 1
    fi
    ratio=$(awk -v e="$e_ns" -v c="$c_ns" 'BEGIN {printf "%.3f", e / c}')
    ratios+=("$ratio")
    cpu_ratio=$(awk -v e="$e_cpu" -v c="$c_cpu" 'BEGIN {printf "%.3f", (c > 0 ? e / c : 0)}')
    cpu_ratios+=("$cpu_ratio")
    echo "round $r: C $c_ns, EcsMem $e_ns ns wall, ratio $ratio; CPU C $((c_cpu / 1000000)) ms, EcsMem $((e_cpu / 1000000)) ms, ratio $cpu_ratio"
done
echo "counts (equal every round): $c_counts"
printf '%s\n' "${ratios[@]}" | sort -g | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2;
    printf "%s: median ratio EcsMem/C %.3f over %d rounds (min %.3f, p25 %.3f, p75 %.3f, max %.3f)\n", "'"$mode"'", m, NR, a[1], a[int((NR+3)/4)], a[int((3*NR+3)/4)], a[NR]}'
printf '%s\n' "${cpu_ratios[@]}" | sort -g | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2;
    printf "whole, CPU time (user + sys): median ratio EcsMem/C %.3f over %d rounds (min %.3f, p25 %.3f, p75 %.3f, max %.3f)\n", m, NR, a[1], a[int((NR+3)/4)], a[int((3*NR+3)/4)], a[NR]}'
