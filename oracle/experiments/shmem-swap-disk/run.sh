#!/usr/bin/env bash
# The kernel's swap device under shmem-swap-memcg (or another kit program): how many write and read requests are in
# flight at once, their size (merged bios) and latency, and memory.stat (swapcached, writeback, shmem) sampled through
# the phases. Root; run it under the kernel lock, it restores the machine (swap file, cgroup, trace instance) itself:
#   flock /work/kernel.lock oracle/experiments/shmem-swap-disk/run.sh [RUNS] [PROGRAM]     (default 3 shmem-swap-memcg)
# Output: $OUT (default /tmp/shmem-swap-disk) holds per run the trace, the samples and the program's JSON, and
# analyse.py's summary (summary.txt).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}
prog=${2:-shmem-swap-memcg}
out=${OUT:-/tmp/shmem-swap-disk}
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
[ -f "$oracle/gen/$prog.c" ] || { echo "run.sh: $oracle/gen/$prog.c not found (run the kit's gen)" >&2; exit 2; }

. "$here/../sandbox.sh"
sandbox shmem-disk

mkdir -p "$out"
gcc -O2 -Wall -Werror -o "$work/$prog" "$oracle/gen/$prog.c"
memcg=$(awk '$1 == "memcg" { print $2 }' "$oracle/programs/$prog.phases")
sandbox_swapon
# The swap file's extents in 512-byte sectors of the disk (ext4, 4 KiB blocks), so the analysis keeps its requests only.
filefrag -v -b4096 "$swapfile" | awk '/^ *[0-9]+:/ { gsub(/[.:]/, " "); print $4 * 8, ($5 + 1) * 8 }' > "$out/extents.txt"
disk=$(findmnt -no SOURCE -T "$work" | sed 's|^/dev/||')
devt=$(( ($(cut -d: -f1 "/sys/class/block/$disk/dev") << 20) | $(cut -d: -f2 "/sys/class/block/$disk/dev") ))
{
  echo "uname_r=$(uname -r) disk=$disk scheduler=$(cat /sys/block/$disk/queue/scheduler) nr_requests=$(cat /sys/block/$disk/queue/nr_requests)"
  echo "max_sectors_kb=$(cat /sys/block/$disk/queue/max_sectors_kb) rotational=$(cat /sys/block/$disk/queue/rotational) page_cluster=$(cat /proc/sys/vm/page-cluster)"
} > "$out/settings.txt"

grep "^phase " "$oracle/programs/$prog.phases" > "$out/phases.txt"
mkdir "$inst"
echo mono > "$inst/trace_clock"
echo 65536 > "$inst/buffer_size_kb"
for e in block/block_rq_issue block/block_rq_complete block/block_bio_queue block/block_rq_merge block/block_bio_backmerge block/block_bio_frontmerge; do
  echo "dev == $devt" > "$inst/events/$e/filter"
  echo 1 > "$inst/events/$e/enable"
done
# getrusage (x86-64 syscall 98): the harness calls it at each phase's start and end, which gives the windows.
echo "id == 98" > "$inst/events/raw_syscalls/sys_enter/filter"
echo 1 > "$inst/events/raw_syscalls/sys_enter/enable"
for e in vmscan/mm_vmscan_write_folio vmscan/mm_vmscan_lru_shrink_inactive vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end; do
  echo 1 > "$inst/events/$e/enable"
done

for i in $(seq 1 "$runs"); do sandbox_sampled_run "$i" "$prog" "$memcg"; done
python3 "$here/analyse.py" "$out" "$runs" | tee "$out/summary.txt"
