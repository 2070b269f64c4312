#!/bin/bash
# The charge stock under a memory limit: stock-limit.c, RUNS times pinned to CPU 0 and RUNS times unpinned, each in a
# fresh cgroup-v1 group limited to 16 MiB with a 1 GiB swap file (sandbox.sh restores the machine on every exit).
# Run under the kernel lock: flock /work/kernel.lock oracle/experiments/charge-stock/run.sh [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-5}
out=$here/results
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox charge-stock
sandbox_swapon
gcc -O2 -Wall -Werror -o "$work/stock-limit" "$here/stock-limit.c"
uname -r > "$out/settings.txt"
nproc >> "$out/settings.txt"
for mode in pinned unpinned; do
  : > "$out/stock-limit.$mode.txt"
  for i in $(seq 1 "$runs"); do
    mkdir "$cg"
    echo 16M > "$cg/memory.limit_in_bytes"
    if [ $mode = pinned ]; then pin="taskset -c 0"; else pin=""; fi
    sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$cg" $pin "$work/stock-limit" "$cg" > "$work/o.txt"
    [ -s "$out/stock-limit.$mode.txt" ] || head -1 "$work/o.txt" > "$out/stock-limit.$mode.txt"
    tail -1 "$work/o.txt" >> "$out/stock-limit.$mode.txt"
    echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
    rmdir "$cg"
  done
done
cat "$out"/stock-limit.*.txt
