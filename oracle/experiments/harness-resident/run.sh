#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: oracle/experiments/harness-resident/run.sh [RUNS] > OUT  (ENV_PAD=N: N bytes more environment; SRC=old-rollup.c: the harness before harness.h)
# Builds rollup.c, switches on a 1 GiB swap file (sandbox.sh: restored on every exit), runs probe.py RUNS times
# under swap-anon-read's 16 MiB limit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../sandbox.sh"
sandbox harness-resident
gcc -O2 -Wall -Werror -o "$work/rollup" "$here/${SRC:-rollup.c}"
sandbox_swapon
for i in $(seq 1 "${1:-1}"); do echo "### run $i ${SRC:-rollup.c}${ENV_PAD:+ ENV_PAD=$ENV_PAD}"; python3 "$here/probe.py" "$work/rollup" "$cg" 16777216; done
