#!/usr/bin/env bash
# `ecsmem run --cachegrind` on a program's Lackey trace against `valgrind --tool=cachegrind` running the program
# itself (issue 19 item 2), side by side on this machine.
#
# For each program: build it (gcc -O2), record its Lackey trace once (untimed; also gzip -1 it), then ROUNDS rounds,
# each running these in turn (the order rotates every round, so the machine's drift falls on all of them):
#   valgrind  env -i setarch -R valgrind --tool=cachegrind --cache-sim=yes GEOMETRY ./prog
#   ecsmem    ecsmem run --cachegrind --trace prog.lackey GEOMETRY               (decoder thread: auto)
#   1thread   the same with --decode-thread off
#   gz        the same on prog.lackey.gz (decompression on the decoder thread too)
#   base      with BASE set: the decoder-thread run of another ecsmem binary (e.g. main's), to show a change's gain
#             side by side on a busy machine (ratio_base = ecsmem / base, wall)
# Every EcsMem run's summary must equal Valgrind's, figure for figure (the script stops otherwise). Prints, per
# program, the median wall time of each, the median (min-max) of the per-round wall ratio EcsMem / Valgrind, and the
# median ratio of CPU time (user + system; on a machine busy with other work, wall time is mostly waiting for a CPU).
#
# Usage: perf/cachegrind-vs-valgrind.sh [ROUNDS] [ECSMEM]
#   ROUNDS   rounds per program (default 7)
#   ECSMEM   the ecsmem binary (default out/native-v3/ecsmem: the native build for x86-64-v3, AVX2, README "A native
#            build": dotnet publish src/Ecs.Mem.Cli -c Release -r linux-x64 -p:PublishAot=true
#            -p:IlcInstructionSet=x86-64-v3 -o out/native-v3)
#   BASE     another ecsmem binary to time in the same rounds (default: none)
#   PROGRAMS programs to run (default "matmul sort hashlist gzip"); SCALE=large (default) runs the sample programs
#            with bigger inputs (20-40M trace lines each), SCALE=sample with the sizes of samples/cachegrind
# Needs gcc, valgrind, setarch, gzip, python3. Work files go to WORK (default /tmp/ecsmem-cg-vs-vg), removed at the end
# unless KEEP=1.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-7}
ecsmem=$(realpath "${2:-$here/out/native-v3/ecsmem}")
programs=${PROGRAMS:-matmul sort hashlist gzip}
scale=${SCALE:-large}
work=${WORK:-/tmp/ecsmem-cg-vs-vg}
base=${BASE:+$(realpath "$BASE")}
variants=4
[ -z "$base" ] || variants=5
geometry=(--I1=32768,8,64 --D1=32768,8,64 --LL=3145728,12,64)
ours=(--I1 32768,8,64 --D1 32768,8,64 --LL 3145728,12,64)

[ -x "$ecsmem" ] || { echo "cachegrind-vs-valgrind: no ecsmem binary at $ecsmem (dotnet publish src/Ecs.Mem.Cli -c Release -r linux-x64 -p:PublishAot=true -p:IlcInstructionSet=x86-64-v3 -o out/native-v3)" >&2; exit 2; }
rm -rf "$work"
mkdir -p "$work"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
cd "$work"

defines() {
    case "$scale:$1" in
        large:matmul) echo "-DN=160" ;;
        large:sort) echo "-DCOUNT=100000" ;;
        large:hashlist) echo "-DKEYS=60000 -DLOOKUPS=200000 -DBUCKETS=4096" ;;
        *) echo "" ;;
    esac
}

# The command line of each program (same path and environment under Lackey and Cachegrind: same instructions).
command_of() {
    case "$1" in
        gzip) echo "/usr/bin/gzip -c $work/g.txt" ;;
        *) echo "$work/$1" ;;
    esac
}

# Runs a command, appending "wall_seconds cpu_seconds" to the file named first.
timed() {
    local out=$1
    shift
    /usr/bin/time -f "%e %U %S" -o "$work/t.tmp" "$@"
    awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$work/t.tmp" >> "$out"
}

# The Cachegrind summary of a Valgrind log, ==PID== prefixes removed (what ecsmem prints).
summary() { sed -e 's/^==[0-9]*== \{0,1\}//' "$1" | sed -n '/^I   refs:/,/^LL miss rate:/p'; }

echo "start $(date -u +%H:%M:%S) UTC, load average $(cut -d" " -f1-3 /proc/loadavg)" >&2
echo "program lines valgrind_s ecsmem_s 1thread_s gz_s ratio ratio_min ratio_max ratio_p25 ratio_p75 ratio_1thread ratio_gz cpu_valgrind_s cpu_ecsmem_s cpu_ratio cpu_ratio_1thread cpu_ratio_gz${base:+ base_s ratio_base ratio_base_p25 ratio_base_p75}" > results.txt
for prog in $programs; do
    if [ "$prog" = gzip ]; then
        cat "$here"/src/Ecs.Mem.Systems/*/*.cs > g.txt
    else
        # shellcheck disable=SC2046
        gcc -O2 $(defines "$prog") -o "$prog" "$here/samples/cachegrind/$prog.c"
    fi
    cmd=$(command_of "$prog")
    # shellcheck disable=SC2086
    env -i setarch -R valgrind --tool=lackey --trace-mem=yes --log-file="$prog.lackey" $cmd > /dev/null
    gzip -1 -c "$prog.lackey" > "$prog.lackey.gz"
    lines=$(wc -l < "$prog.lackey")
    rm -f "$prog".t.*
    for ((r = 0; r < rounds; r++)); do
        for ((k = 0; k < variants; k++)); do
            case $(( (k + r) % variants )) in
                # shellcheck disable=SC2086
                0) timed "$prog.t.vg" env -i setarch -R valgrind --tool=cachegrind --cache-sim=yes --cachegrind-out-file=/dev/null \
                       "${geometry[@]}" --log-file="$prog.vg.txt" $cmd > /dev/null ;;
                1) timed "$prog.t.ec" "$ecsmem" run --cachegrind --trace "$prog.lackey" "${ours[@]}" > "$prog.ec.txt" ;;
                2) timed "$prog.t.e1" "$ecsmem" run --cachegrind --trace "$prog.lackey" "${ours[@]}" --decode-thread off > "$prog.e1.txt" ;;
                3) timed "$prog.t.gz" "$ecsmem" run --cachegrind --trace "$prog.lackey.gz" "${ours[@]}" > "$prog.gz.txt" ;;
                4) timed "$prog.t.bs" "$base" run --cachegrind --trace "$prog.lackey" "${ours[@]}" > "$prog.bs.txt" ;;
            esac
        done
        for f in ec e1 gz ${base:+bs}; do
            if ! diff <(summary "$prog.vg.txt") "$prog.$f.txt" > /dev/null; then
                echo "cachegrind-vs-valgrind: $prog: ecsmem ($f) and Valgrind disagree:" >&2
                diff <(summary "$prog.vg.txt") "$prog.$f.txt" >&2 || true
                exit 1
            fi
        done
    done
    python3 - "$prog" "$lines" >> results.txt <<'EOF'
import statistics, sys
prog, lines = sys.argv[1], sys.argv[2]
import os
kinds = ["vg", "ec", "e1", "gz"] + (["bs"] if os.path.exists(f"{prog}.t.bs") else [])
t = {k: [[float(v) for v in l.split()] for l in open(f"{prog}.t.{k}") if l.strip()] for k in kinds}
med = statistics.median
def quartiles(x):
    if len(x) < 2:
        return x[0], x[0]
    q = statistics.quantiles(x, n=4, method="inclusive")
    return q[0], q[2]
wall = {k: [r[0] for r in v] for k, v in t.items()}
cpu = {k: [r[1] for r in v] for k, v in t.items()}
ratio = lambda d, k, to="vg": [a / b for a, b in zip(d[k], d[to])]
r = ratio(wall, "ec")
row = [prog, lines, *(f"{med(wall[k]):.3f}" for k in ("vg", "ec", "e1", "gz")),
       f"{med(r):.3f}", f"{min(r):.3f}", f"{max(r):.3f}", *(f"{q:.3f}" for q in quartiles(r)),
       f"{med(ratio(wall, 'e1')):.3f}", f"{med(ratio(wall, 'gz')):.3f}",
       f"{med(cpu['vg']):.3f}", f"{med(cpu['ec']):.3f}",
       f"{med(ratio(cpu, 'ec')):.3f}", f"{med(ratio(cpu, 'e1')):.3f}", f"{med(ratio(cpu, 'gz')):.3f}"]
if "bs" in t:
    rb = ratio(wall, "ec", "bs")
    row += [f"{med(wall['bs']):.3f}", f"{med(rb):.3f}", *(f"{q:.3f}" for q in quartiles(rb))]
print(*row)
EOF
    tail -1 results.txt
done
echo "end $(date -u +%H:%M:%S) UTC, load average: $(cut -d' ' -f1-3 /proc/loadavg); ratio = ecsmem / valgrind, wall or CPU (below 1: ecsmem faster); medians of $rounds rounds"
column -t results.txt
