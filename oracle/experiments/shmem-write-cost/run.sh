#!/bin/bash
# The CPU time of a tmpfs write(2), per page (issue 13 item 7): pwrite-time writes a 24 MiB tmpfs file RUNS times
# in a fresh cgroup-v1 memory group, first without a limit (the allocation, charge, page-cache add and copy of each
# page: shmem_write_begin/end, generic_perform_write), then under a 16 MiB limit with a 1 GiB swap file (the writer
# reclaims its own group: try_to_free_mem_cgroup_pages on every failed charge). Run as root under the kernel lock:
#   flock /work/kernel.lock oracle/experiments/shmem-write-cost/run.sh [RUNS]
# Results go to oracle/experiments/shmem-write-cost/results/ (one TSV per mode). The machine is restored on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-10}
. "$here/../sandbox.sh"
sandbox shmem-write-cost
gcc -O2 -o "$work/pwrite-time" "$here/pwrite-time.c"
mkdir -p "$here/results"
file=/dev/shm/ecsmem-shmem-write-cost-$$
one() { # MODE LIMIT
  mkdir "$cg"
  [ "$2" != max ] && echo "$2" > "$cg/memory.limit_in_bytes"
  sh -c 'echo $$ > "$1/cgroup.procs"; exec "$2" "$3" 25165824 "$4"' sh "$cg" "$work/pwrite-time" "$file" "$runs" > "$here/results/$1.tsv"
  grep -E '^(total_pgpgin|total_pgpgout|total_swap|hierarchical_memory_limit) ' "$cg/memory.stat" >> "$here/results/$1.stat" || true
  echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
  rmdir "$cg"
  rm -f "$file"
}
: > "$here/results/unlimited.stat"; : > "$here/results/limit16m.stat"
one unlimited max
sandbox_swapon
one limit16m 16777216
uname -r > "$here/results/uname.txt"
