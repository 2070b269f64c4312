#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/swap-cache-residue/run.sh [RUNS] [PROGRAM]
# Why written pages stay in the swap cache under a memcg limit (default program swap-anon-write): the kit program runs
# in a fresh cgroup-v1 group with a 1 GiB swap file, memory.stat and /proc/vmstat sampled every 2 ms
# (../shmem-swap-disk/sample.py), with the swap file's block requests, the group's memcg reclaims and their
# shrink_inactive/lru_isolate/write_folio tracepoints (this kernel has no kprobe events: pgrotated in the samples
# counts folio_rotate_reclaimable). analyse.py summarises each phase and each reclaim. Output in $OUT (default
# /tmp/swap-cache-residue). Restores the machine on every exit path: trace instance, cgroup, swap, the file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}
prog=${2:-swap-anon-write}
out=${OUT:-/tmp/swap-cache-residue}
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
[ -f "$oracle/gen/$prog.c" ] || { echo "run.sh: $oracle/gen/$prog.c not found (run the kit's gen)" >&2; exit 2; }

. "$here/../sandbox.sh"
sandbox swapres

mkdir -p "$out"
gcc -O2 -Wall -Werror -o "$work/$prog" "$oracle/gen/$prog.c"
memcg=$(awk '$1 == "memcg" { print $2 }' "$oracle/programs/$prog.phases")
sandbox_swapon
filefrag -v -b4096 "$swapfile" | awk '/^ *[0-9]+:/ { gsub(/[.:]/, " "); print $4 * 8, ($5 + 1) * 8 }' > "$out/extents.txt"
disk=$(findmnt -no SOURCE -T "$work" | sed 's|^/dev/||')
devt=$(( ($(cut -d: -f1 "/sys/class/block/$disk/dev") << 20) | $(cut -d: -f2 "/sys/class/block/$disk/dev") ))
echo "uname_r=$(uname -r) page_cluster=$(cat /proc/sys/vm/page-cluster) swappiness=$(cat $(dirname "$cg")/memory.swappiness)" > "$out/settings.txt"
grep "^phase " "$oracle/programs/$prog.phases" > "$out/phases.txt"

mkdir "$inst"
echo mono > "$inst/trace_clock"
echo 65536 > "$inst/buffer_size_kb"
for e in block/block_rq_issue block/block_rq_complete block/block_bio_queue; do
  echo "dev == $devt" > "$inst/events/$e/filter"
  echo 1 > "$inst/events/$e/enable"
done
echo "id == 98" > "$inst/events/raw_syscalls/sys_enter/filter"
echo 1 > "$inst/events/raw_syscalls/sys_enter/enable"
for e in vmscan/mm_vmscan_write_folio vmscan/mm_vmscan_lru_shrink_inactive vmscan/mm_vmscan_lru_shrink_active \
         vmscan/mm_vmscan_lru_isolate vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end; do
  echo 1 > "$inst/events/$e/enable"
done

for i in $(seq 1 "$runs"); do sandbox_sampled_run "$i" "$prog" "$memcg"; done
python3 "$here/analyse.py" "$out" "$runs" "$prog" | tee "$out/summary.txt"
