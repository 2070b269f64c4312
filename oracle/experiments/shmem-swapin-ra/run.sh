#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/shmem-swapin-ra/run.sh [RUNS] [OUT] [PROGRAM]
# The kit program (default tmpfs-swap-memcg, from oracle/gen/PROGRAM.c) RUNS times as record.sh runs it (env -i,
# setarch -R, a fresh cgroup-v1 group at the program's limit, ORACLE_MEMCG, the 1 GiB swap file), with its pid's user
# page faults (exceptions:page_fault_user), its page allocations (kmem:mm_page_alloc), the swap file's bios and requests (block_bio_queue, block_rq_issue), its
# getrusage calls (the phase windows) and its memcg reclaims in a private trace instance, and /proc/vmstat's swap
# counters (swap_ra, swap_ra_hit, pswpin, pswpout, swpin_zero, swpout_zero, pgmajfault) before and after each run.
# analyse.py OUT RUNS then lists each phase's swap-in reads: which fault issued them and which swap slots they read.
# Restores the machine on every exit path (sandbox.sh): trace instance, group, swap file, binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}; out=${2:-/tmp/shmem-swapin-ra}; prog=${3:-tmpfs-swap-memcg}
src=$oracle/gen/$prog.c
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
[ -f "$src" ] || { echo "run.sh: $src not found (run the kit's gen)" >&2; exit 2; }
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox swapin-ra
bin=$work/$prog
gcc -O2 -Wall -Werror -o "$bin" "$src"
kit_data_files "$oracle/programs/$prog.phases" "$work/data"
memcg=$(awk '$1 == "memcg" { print $2 }' "$oracle/programs/$prog.phases")
sandbox_swapon
# The swap file's extents in 512-byte sectors of the disk (ext4, 4 KiB blocks): file block → disk sector.
filefrag -v -b4096 "$swapfile" | awk '/^ *[0-9]+:/ { gsub(/[.:]/, " "); print $2, $4 * 8, ($5 + 1) * 8 }' > "$out/extents.txt"
disk=$(findmnt -no SOURCE -T "$work" | sed 's|^/dev/||')
devt=$(( ($(cut -d: -f1 "/sys/class/block/$disk/dev") << 20) | $(cut -d: -f2 "/sys/class/block/$disk/dev") ))
echo "uname_r=$(uname -r) disk=$disk rotational=$(cat /sys/block/$disk/queue/rotational) page_cluster=$(cat /proc/sys/vm/page-cluster)" > "$out/settings.txt"
mkdir "$inst"
echo 65536 > "$inst/buffer_size_kb"
for e in block/block_bio_queue block/block_rq_issue; do
  echo "dev == $devt" > "$inst/events/$e/filter"
  echo 1 > "$inst/events/$e/enable"
done
echo "id == 98" > "$inst/events/raw_syscalls/sys_enter/filter"
echo 1 > "$inst/events/raw_syscalls/sys_enter/enable"
# mm_page_alloc (the pid's own allocations): a swap-in fault allocates its page and its readahead window's, so the
# allocations between two faults give the window even where a zeromap read issues no bio.
for e in exceptions/page_fault_user kmem/mm_page_alloc vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end; do
  echo 1 > "$inst/events/$e/enable"
done
keys='^(swap_ra|swap_ra_hit|pswpin|pswpout|swpin_zero|swpout_zero|pgmajfault) '
for i in $(seq 1 "$runs"); do
  grep -E "$keys" /proc/vmstat | sed 's/^/before /' > "$out/vmstat.$i.txt"
  sandbox_pid_traced_run "$memcg" "$out/run.$i.json" "$out/trace.$i.txt" env -i ORACLE_MEMCG="$cg" "$bin" "$work/data"
  grep -E "$keys" /proc/vmstat | sed 's/^/after /' >> "$out/vmstat.$i.txt"
  sandbox_rm_cg
  echo "run $i: $(wc -l < "$out/trace.$i.txt") trace lines"
done
rm -f /dev/shm/ecsmem-oracle-*
