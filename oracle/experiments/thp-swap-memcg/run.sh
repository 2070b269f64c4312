#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/thp-swap-memcg/run.sh [partition|file] [RUNS] [STEP] [OUT]
# THP reclaim under a 16 MiB memcg v1 limit, as the kit's thp-swpout (partition: a 1 GiB file behind a loop device)
# and thp-swpout-fallback (file: the swap file itself). probe.c is run RUNS times in a fresh group, sampling the
# group's memory.stat and /proc/vmstat every STEP pages (default 512), with the vmscan tracepoints of its own pid
# (memcg reclaim begin/end, lru_isolate, shrink_inactive/active, write_folio) and shrink_slab (the deferred split
# shrinker) recorded in a private tracefs instance. Writes OUT/run.N.txt (samples) and OUT/trace.N.txt. Restores the
# machine on every exit path: the trace instance and its mount, the cgroup, swap off, the loop device, the file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Only its run helpers (sandbox_pid_traced_run, sandbox_rm_cg): this script keeps its own set-up for the loop device.
. "$here/../sandbox.sh"
kind=${1:-partition}; runs=${2:-1}; step=${3:-512}; out=${4:-/tmp/thp-swap-memcg}
mkdir -p "$out"
swapfile=/work/swap-thp-swap-memcg.$$
cg=/sys/fs/cgroup/memory/ecsmem-thp-swap-memcg-$$
tr=$(mktemp -d /tmp/tracefs.XXXXXX)
inst=""
loopdev=""
probe=$(mktemp /tmp/thp-swap-probe.XXXXXX)
cleanup() {
  set +e
  if [ -n "$inst" ] && [ -d "$inst" ]; then
    echo 0 > "$inst/tracing_on"; echo > "$inst/set_event"; echo > "$inst/set_event_pid"; rmdir "$inst"
  fi
  mountpoint -q "$tr" && umount "$tr"
  rmdir "$tr"
  if [ -d "$cg" ]; then echo 1 > "$cg/memory.force_empty" 2>/dev/null; rmdir "$cg"; fi
  if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; fi
  if [ -n "$loopdev" ]; then swapoff "$loopdev" 2>/dev/null; losetup -d "$loopdev"; fi
  rm -f "$swapfile" "$probe"
}
trap cleanup EXIT INT TERM
gcc -O2 -Wall -Werror -o "$probe" "$here/probe.c"
fallocate -l 1G "$swapfile"; chmod 600 "$swapfile"
if [ "$kind" = partition ]; then
  loopdev=$(losetup -f --show "$swapfile"); mkswap -q "$loopdev"; swapon "$loopdev"
else
  mkswap -q "$swapfile"; swapon "$swapfile"
fi
mount -t tracefs nodev "$tr"
inst=$tr/instances/ecsmem-thp-swap-memcg-$$
mkdir "$inst"
echo 16384 > "$inst/buffer_size_kb"
for e in vmscan:mm_vmscan_memcg_reclaim_begin vmscan:mm_vmscan_memcg_reclaim_end vmscan:mm_vmscan_lru_isolate \
         vmscan:mm_vmscan_lru_shrink_inactive vmscan:mm_vmscan_lru_shrink_active vmscan:mm_vmscan_write_folio \
         vmscan:mm_shrink_slab_start vmscan:mm_shrink_slab_end; do
  echo "$e" >> "$inst/set_event"
done
for i in $(seq 1 "$runs"); do
  sandbox_pid_traced_run 16M "$out/run.$i.txt" "$out/trace.$i.txt" env PROBE_MEMCG="$cg" "$probe" "$inst/trace_marker" "$step"
  sandbox_rm_cg
  echo "run $i: $(wc -l < "$out/trace.$i.txt") trace lines"
done
