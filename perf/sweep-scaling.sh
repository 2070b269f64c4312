#!/usr/bin/env bash
# Parallel efficiency of `ecsmem sweep` on this machine: rounds alternating --threads 1 and --threads 2 (the
# order flipping every round, so the VM's drift falls on both), each timed whole with /usr/bin/time; prints per
# round the wall and CPU times and the efficiency wall(1 thread) / (2 × wall(2 threads)), then the median and spread.
# The CSVs of every run are compared with cmp: the thread count must never change a result.
#
#   perf/sweep-scaling.sh ROUNDS TRACE [sweep options...]
#   e.g. perf/sweep-scaling.sh 8 z1m.bin --frames 1000:8000:1000 --policies lru,fifo,clock,linux,arc,opt
#
# ECSMEM: the ecsmem binary (default out/native/ecsmem, the NativeAOT build: no JIT start-up in the serial part).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:?usage: sweep-scaling.sh ROUNDS TRACE [sweep options...]}
shift
ecsmem=${ECSMEM:-$root/out/native/ecsmem}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
effs=()
run() { # threads -> sets wall, cpu
    /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$ecsmem" sweep "$@" --threads "$threads" --csv "$tmp/t$threads.csv" -q > /dev/null
    read -r wall user sys < "$tmp/time"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')
}
for ((r = 1; r <= rounds; r++)); do
    for threads in $( ((r % 2)) && echo "1 2" || echo "2 1"); do
        run "$@"
        if [[ $threads == 1 ]]; then w1=$wall; c1=$cpu; else w2=$wall; c2=$cpu; fi
    done
    cmp -s "$tmp/t1.csv" "$tmp/t2.csv" || { echo "sweep-scaling.sh: the CSVs of 1 and 2 threads differ" >&2; exit 1; }
    eff=$(awk -v a="$w1" -v b="$w2" 'BEGIN {printf "%.3f", a / (2 * b)}')
    effs+=("$eff")
    echo "round $r: 1 thread wall $w1 s cpu $c1 s; 2 threads wall $w2 s cpu $c2 s; efficiency $eff"
done
printf '%s\n' "${effs[@]}" | sort -g | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2;
    printf "median efficiency %.3f over %d rounds (min %.3f, max %.3f); CSVs identical\n", m, NR, a[1], a[NR]}'
