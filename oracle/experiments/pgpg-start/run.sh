#!/bin/bash
# The memory group's cgroup v1 pgpgin/pgpgout before a kit program's first phase (README.md): probe.c RUNS times, run
# as record.sh runs a memcg program (a fresh group limited to 16 MiB, sh moves itself in, exec env -i ORACLE_MEMCG=GROUP
# setarch -R), each run's JSON line into results/probe.txt. No swap. sandbox.sh restores the machine on every exit.
# Run under the kernel lock: flock /work/kernel.lock oracle/experiments/pgpg-start/run.sh [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-10}
out=$here/results
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox pgpg-start
gcc -O2 -Wall -Werror -o "$work/probe" "$here/probe.c"
{ uname -r; nproc; } > "$out/settings.txt"
: > "$out/probe.txt"
for i in $(seq 1 "$runs"); do
  mkdir "$cg"
  echo 16M > "$cg/memory.limit_in_bytes"
  sh -c 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2"' sh "$cg" "$work/probe" >> "$out/probe.txt"
  echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
  rmdir "$cg"
done
cat "$out/probe.txt"
