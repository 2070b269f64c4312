#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/shmem-zeromap/run.sh [RUNS] [PROGRAM]
# Is a kit program's shmem swapped out as zero-filled pages (swap_writeout's is_folio_zero_filled → the swap area's
# zeromap, no I/O; swap_read_folio_zeromap on swap-in)? Runs PROGRAM (default tmpfs-swap-memcg, whose pwrite(2)s copy
# the harness's `buf`, zero since warm_up) RUNS times as generated ("zero") and RUNS times with warm_up storing 1 into
# every page of `buf` ("nonzero": the file's pages then hold data), each in a fresh cgroup-v1 group with a 1 GiB swap
# file, with /proc/vmstat's pswpout, swpout_zero, pswpin and swpin_zero around the run (machine-wide: the lock keeps
# other swappers away). summary.py prints each run's counters and per phase the faults and the region's Rss/Swap.
# Output in $OUT (default /tmp/shmem-zeromap). Restores the machine on every exit path (../sandbox.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}
prog=${2:-tmpfs-swap-memcg}
out=${OUT:-/tmp/shmem-zeromap}
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
[ -f "$oracle/gen/$prog.c" ] || { echo "run.sh: $oracle/gen/$prog.c not found (run the kit's gen)" >&2; exit 2; }
. "$here/../sandbox.sh"
sandbox shmzero
mkdir -p "$out" "$work/zero/gen" "$work/nonzero/gen"
for v in zero nonzero; do cp "$oracle/gen/$prog.c" "$work/$v/gen/"; cp "$oracle/harness.h" "$work/$v/"; done
grep -q 'i += 4096) buf\[i\] = 0;' "$work/nonzero/harness.h" || { echo "run.sh: warm_up's buf loop not found in harness.h" >&2; exit 2; }
sed -i 's/i += 4096) buf\[i\] = 0;/i += 4096) buf[i] = 1;/' "$work/nonzero/harness.h"
for v in zero nonzero; do gcc -O2 -Wall -Werror -o "$work/$v/$prog" "$work/$v/gen/$prog.c"; done
memcg=$(awk '$1 == "memcg" { print $2 }' "$oracle/programs/$prog.phases")
sandbox_swapon
vm() { awk '$1 == "swpout_zero" || $1 == "swpin_zero" || $1 == "pswpout" || $1 == "pswpin" { printf "%s=%s ", $1, $2 }' /proc/vmstat; }
echo "uname_r=$(uname -r) program=$prog memcg=$memcg page_cluster=$(cat /proc/sys/vm/page-cluster)" > "$out/settings.txt"
for v in zero nonzero; do
  for i in $(seq 1 "$runs"); do
    mkdir "$cg"
    echo "$memcg" > "$cg/memory.limit_in_bytes"
    vm > "$out/$v.$i.before"
    sh -c 'echo $$ > "$1/cgroup.procs"; exec setarch -R "$2" "$3"' sh "$cg" "$work/$v/$prog" "$work" > "$out/$v.$i.json"
    vm > "$out/$v.$i.after"
    echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
    rmdir "$cg"
  done
done
python3 "$here/summary.py" "$out" "$runs" | tee "$out/summary.txt"
