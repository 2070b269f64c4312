#!/usr/bin/env bash
# The per-access cost of Cachegrind's simulation in `ecsmem run --cachegrind`, without the Lackey decoder: two ecsmem
# builds side by side on binary traces (`ecsmem convert T.lackey --to binary --out T.bin`: 16-byte records read
# straight into the batch, so what is left is reading, the binary reader's checks and the simulation).
#
# For each trace: ROUNDS rounds, each running BASE then NEW (the order swaps every round) under
# `perf record -e cpu-clock -F FREQ` with `--decode-thread off`, so both stages are on one thread. A run's simulation
# time is its samples in CachegrindSimulator and CachegrindCache methods, one sample = 1/FREQ s of CPU; divided by the
# trace's references (Ir + Dr + Dw of the summary) it gives ns per access. The two builds' summaries must be equal
# (the script stops otherwise). Prints per trace: median ns per access of each build, the median (p25-p75) of the
# per-round ratio NEW / BASE of the simulation time, and of the whole process's CPU time (perf's task-clock).
#
# Usage: perf/cachegrind-sim-ab.sh ROUNDS BASE NEW TRACE.bin...
#   BASE, NEW  two ecsmem binaries, native builds with symbols (dotnet publish src/Ecs.Mem.Cli -c Release -r linux-x64
#              -p:PublishAot=true -p:IlcInstructionSet=x86-64-v3 -o DIR; perf reads DIR/ecsmem.dbg)
#   FREQ       sampling frequency (default 20000)
# Needs perf and python3. Work files go to a temporary directory, removed at the end.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: perf/cachegrind-sim-ab.sh ROUNDS BASE NEW TRACE.bin..." >&2; exit 2; }
rounds=$1
base=$(realpath "$2")
new=$(realpath "$3")
shift 3
freq=${FREQ:-20000}
command -v perf > /dev/null || { echo "cachegrind-sim-ab: perf not found" >&2; exit 2; }
for b in "$base" "$new"; do [ -x "$b" ] || { echo "cachegrind-sim-ab: no ecsmem binary at $b" >&2; exit 2; }; done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One profiled run: appends "simulation_samples task_clock_ms" to $2; the summary goes to $3.
profiled() {
    local exe=$1 out=$2 summary=$3 trace=$4
    perf record -q -e cpu-clock -F "$freq" -o "$work/p.data" "$exe" run --cachegrind --trace "$trace" --decode-thread off > "$summary" 2> /dev/null
    local sim
    sim=$(perf script -i "$work/p.data" -F ip,sym 2> /dev/null | grep -c -E 'CachegrindSimulator|CachegrindCache' || true)
    perf stat -x, -e task-clock -o "$work/s.txt" "$exe" run --cachegrind --trace "$trace" --decode-thread off > /dev/null
    echo "$sim $(grep task-clock "$work/s.txt" | cut -d, -f1)" >> "$out"
}

echo "trace accesses base_ns new_ns sim_ratio sim_p25 sim_p75 cpu_ratio cpu_p25 cpu_p75"
for trace in "$@"; do
    rm -f "$work"/t.*
    for ((r = 0; r < rounds; r++)); do
        if ((r % 2 == 0)); then
            profiled "$base" "$work/t.base" "$work/base.txt" "$trace"
            profiled "$new" "$work/t.new" "$work/new.txt" "$trace"
        else
            profiled "$new" "$work/t.new" "$work/new.txt" "$trace"
            profiled "$base" "$work/t.base" "$work/base.txt" "$trace"
        fi
        if ! cmp -s "$work/base.txt" "$work/new.txt"; then
            echo "cachegrind-sim-ab: $trace: the two builds' summaries differ" >&2
            diff "$work/base.txt" "$work/new.txt" >&2 || true
            exit 1
        fi
    done
    accesses=$(awk '/^I +refs:/ { i = $3 } /^D +refs:/ { d = $3 } END { gsub(",", "", i); gsub(",", "", d); print i + d }' "$work/new.txt")
    python3 - "$(basename "$trace")" "$accesses" "$freq" "$work/t.base" "$work/t.new" <<'EOF'
import statistics, sys
name, accesses, freq = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rows = lambda f: [[float(v) for v in l.split()] for l in open(f) if l.strip()]
b, n = rows(sys.argv[4]), rows(sys.argv[5])
ns = lambda r: r[0] / freq * 1e9 / accesses
def spread(x):
    x = sorted(x)
    q = lambda p: x[round(p * (len(x) - 1))]
    return f"{statistics.median(x):.3f} {q(0.25):.3f} {q(0.75):.3f}"
print(name, accesses, f"{statistics.median(map(ns, b)):.2f}", f"{statistics.median(map(ns, n)):.2f}",
      spread([y[0] / x[0] for x, y in zip(b, n)]), spread([y[1] / x[1] for x, y in zip(b, n)]))
EOF
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); ns = simulation CPU per access (perf samples of CachegrindSimulator/CachegrindCache); ratios NEW / BASE, median (p25 p75) of $rounds alternating rounds"
