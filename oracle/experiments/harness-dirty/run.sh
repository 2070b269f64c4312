#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: builds probe.c and runs dirty.py RUNS times for the boundary and once idle,
# and in a fork phase (mode fork), with a 1 GiB swap file (sandbox.sh restores the machine on every exit). Usage: run.sh RUNS OUT
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
. "$here/../sandbox.sh"
runs=$1; out=$(realpath -m "$2")
mkdir -p "$out"
sandbox harness-dirty
gcc -O2 -Wall -Werror -I../.. -o "$work/probe" probe.c
mkdir -p "$work/data"; head -c 16M /dev/zero | tr '\0' 'x' > "$work/data/data"
sandbox_swapon
python3 dirty.py "$work/probe" "$work/data" idle > "$out/idle.txt"
for i in $(seq 1 "$runs"); do
  python3 dirty.py "$work/probe" "$work/data" boundary > "$out/boundary.$i.txt"
  python3 dirty.py "$work/probe" "$work/data" fork > "$out/fork.$i.txt"
done
tail -n1 "$out"/*.txt
