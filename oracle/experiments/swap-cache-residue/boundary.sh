#!/usr/bin/env bash
# Root, under the lock: OUT=DIR flock /work/kernel.lock oracle/experiments/swap-cache-residue/boundary.sh [RUNS] [PROGRAM]
# Which clean pages a deep memcg reclaim finds (session 20, brief s20-pelclean): run.sh's runs and traces (block
# requests, getrusage, the vmscan tracepoints; default program shmem-swap-memcg), run as record.sh runs the kit
# (env -i, ORACLE_MEMCG: phase_end reads memory.stat, so the harness touches what it touches in the fixture's runs;
# KIT_ENV=0 runs it as run.sh does),
# plus a second trace instance limited to the program's pid (set_event_pid) with every folio it puts on an LRU list
# (pagemap:mm_lru_insertion: pfn, swap-cache flag), activates (mm_lru_activate) and frees (kmem:mm_page_free_batched,
# what shrink_folio_list's free_unref_folios frees, and mm_page_free), and /proc/vmstat's swpin_zero/swpout_zero
# sampled every 2 ms with the rest. pfns.py OUT RUNS reads them. Restores the machine on every exit path (sandbox.sh;
# the second instance is removed first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}
prog=${2:-shmem-swap-memcg}
out=${OUT:-/tmp/swap-cache-boundary}
[ "$(id -u)" -eq 0 ] || { echo "boundary.sh: needs root" >&2; exit 2; }
[ -f "$oracle/gen/$prog.c" ] || { echo "boundary.sh: $oracle/gen/$prog.c not found (run the kit's gen)" >&2; exit 2; }

. "$here/../sandbox.sh"
sandbox swapbnd
inst2=$inst-pid
boundary_cleanup() {
  set +e
  [ -d "$inst2" ] && { echo 0 > "$inst2/tracing_on"; rmdir "$inst2"; }
  sandbox_cleanup
}
trap boundary_cleanup EXIT INT TERM

mkdir -p "$out"
gcc -O2 -Wall -Werror -o "$work/$prog" "$oracle/gen/$prog.c"
memcg=$(awk '$1 == "memcg" { print $2 }' "$oracle/programs/$prog.phases")
sandbox_swapon
# As record.sh: everything written before the runs on disk. And one run of the program outside any group first (no
# limit, so no reclaim and no swap-in: swap readahead's statics stay as they were): the launch execs setarch inside the
# group, and once a group's force_empty has evicted pages read inside it (charged to it) every later run reads them
# again into its own group, here 7 pages of /usr/bin/setarch and 6-8 ext4 metadata blocks of the block device: 6-8
# file pages the fixture's groups do not have (inactive_file 0 and active_file 0-1 page in its 20 runs), enough to put
# deep reclaims in cache_trim_mode at priorities 2-1 (`p2:s1 p1:s2`). WARM=0: without it, as run.sh's runs are.
sync
if [ "${WARM:-1}" = 1 ]; then env -i setarch -R "$work/$prog" "$work" > /dev/null; fi
disk=$(findmnt -no SOURCE -T "$work" | sed 's|^/dev/||')
devt=$(( ($(cut -d: -f1 "/sys/class/block/$disk/dev") << 20) | $(cut -d: -f2 "/sys/class/block/$disk/dev") ))
echo "uname_r=$(uname -r) page_cluster=$(cat /proc/sys/vm/page-cluster) swappiness=$(cat $(dirname "$cg")/memory.swappiness) vma_ra=$(cat /sys/kernel/mm/swap/vma_ra_enabled)" > "$out/settings.txt"
grep "^phase " "$oracle/programs/$prog.phases" > "$out/phases.txt"
# the swap file's first block (sector) on the disk, so a bio's sector gives its slot
filefrag -v -b4096 "$swapfile" | awk '/^ *[0-9]+:/ { gsub(/[.:]/, " "); print $2, $4 * 8, ($5 + 1) * 8 }' > "$out/extents.txt"

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
mkdir "$inst2"
echo mono > "$inst2/trace_clock"
echo 131072 > "$inst2/buffer_size_kb"
for e in pagemap/mm_lru_insertion pagemap/mm_lru_activate kmem/mm_page_free_batched kmem/mm_page_free \
         filemap/mm_filemap_add_to_page_cache; do
  echo 1 > "$inst2/events/$e/enable"
done

# KIT_ENV=0: as run.sh runs it (this shell's environment, no ORACLE_MEMCG: phase_end reads no memory.stat)
if [ "${KIT_ENV:-1}" = 1 ]; then launch="env -i ORACLE_MEMCG=$cg setarch -R"; else launch="setarch -R"; fi
echo "launch=$launch" >> "$out/settings.txt"
for i in $(seq 1 "$runs"); do
  mkdir "$cg"
  echo "$memcg" > "$cg/memory.limit_in_bytes"
  echo > "$inst/trace"
  echo > "$inst2/trace"
  echo > "$inst2/set_event_pid"
  echo 1 > "$inst/tracing_on"
  echo 1 > "$inst2/tracing_on"
  SAMPLE_VM_EXTRA="swpin_zero swpout_zero" python3 "$here/../shmem-swap-disk/sample.py" "$cg" "$out/samples.$i.tsv" "$out/program.$i.json" \
    sh -c 'echo $$ > "$1/cgroup.procs"; echo $$ > "$2/set_event_pid"; shift 2; exec "$@"' \
    sh "$cg" "$inst2" $launch "$work/$prog" "$work"
  echo 0 > "$inst/tracing_on"
  echo 0 > "$inst2/tracing_on"
  cat "$inst/trace" > "$out/trace.$i.txt"
  cat "$inst2/trace" > "$out/pfn.$i.txt"
  echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
  rmdir "$cg"
done
