#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: oracle/experiments/harness-resident/forkrun.sh [RUNS] > OUT
# Builds fork.c, switches on a 1 GiB swap file (sandbox.sh), runs forkprobe.py RUNS times under swap-fork-shared's 16 MiB limit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../sandbox.sh"
sandbox harness-fork
gcc -O2 -Wall -Werror -o "$work/fork" "$here/fork.c"
sandbox_swapon
for i in $(seq 1 "${1:-1}"); do echo "### run $i"; python3 "$here/forkprobe.py" "$work/fork" "$cg" 16777216; done
