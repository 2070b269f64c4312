#!/bin/bash
# Kernel memory charged to the kit's memory groups (issue 16 item 5): each memcg program of the kit, RUNS times as
# record.sh runs it (setarch -R, a fresh cgroup-v1 group with the program's limit and swappiness, swap when it says so),
# compiled against a copy of harness.h that also records memory.usage_in_bytes, memory.kmem.usage_in_bytes and
# memory.kmem.max_usage_in_bytes after each phase (patch-harness.sh). The first run of each program is traced
# (pid-filtered, children followed): the accounted slab allocations (kmem:kmem_cache_alloc accounted == 1, kmem:kmalloc
# with __GFP_ACCOUNT), their frees, percpu allocations, and a trace_marker line at each phase's end; slab-live.py turns
# it into the objects live at each phase's end, by cache. Needs `dotnet run ... -- gen` done (oracle/gen/*.c).
# Run under the kernel lock: flock /work/kernel.lock oracle/experiments/kmem/run.sh [RUNS] [PROGRAM...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}
shift || true
if [ $# -gt 0 ]; then programs=("$@"); else programs=($(cd "$oracle/programs" && grep -l '^memcg' *.phases | sed 's/\.phases$//')); fi
out=$here/results
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox kmem
# `swap partition` (THP_SWAP to a block device): the swap file behind a loop device, as record.sh makes it.
loopdev=""
kmem_cleanup() {
  set +e
  if [ -n "$loopdev" ]; then swapoff "$loopdev" 2>/dev/null; losetup -d "$loopdev"; fi
  sandbox_cleanup
}
trap kmem_cleanup EXIT INT TERM
mkdir -p "$work/kit/gen" "$work/data"
"$here/patch-harness.sh" "$oracle/harness.h" > "$work/kit/harness.h"
{ uname -r; nproc; grep -E '^(vm_area_struct|anon_vma|anon_vma_chain|mm_struct|task_struct|radix_tree_node|filp|dentry|shmem_inode_cache|pid|files_cache|signal_cache|sighand_cache|cred_jar|fs_cache|maple_node|seq_file|proc_inode_cache|pipe_inode_info|kmalloc-cg-[0-9k]*) ' /proc/slabinfo | awk '{print $1, $4}'; } > "$out/settings.txt"
mkdir "$inst"
echo 16384 > "$inst/buffer_size_kb"
echo 1 > "$inst/options/event-fork"
for e in kmem/kmem_cache_alloc kmem/kmalloc kmem/kmem_cache_free kmem/kfree percpu/percpu_alloc_percpu percpu/percpu_free_percpu; do
  echo 1 > "$inst/events/$e/enable"
done
echo 'accounted == 1' > "$inst/events/kmem/kmem_cache_alloc/filter"
for name in "${programs[@]}"; do
  src=$oracle/programs/$name.phases
  cp "$oracle/gen/$name.c" "$work/kit/gen/$name.c"
  gcc -O2 -Wall -Werror -o "$work/$name" "$work/kit/gen/$name.c"
  data=$work/data/$name
  mkdir -p "$data"
  kit_data_files "$src" "$data"
  sync
  memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
  swappiness=$(awk '$1 == "swappiness" { print $2 }' "$src")
  if grep -qE '^swap( file)?$' "$src"; then sandbox_swapon
  elif grep -qx 'swap partition' "$src"; then
    fallocate -l 1G "$swapfile"; chmod 600 "$swapfile"
    loopdev=$(losetup -f --show "$swapfile"); mkswap -q "$loopdev"; swapon "$loopdev"
  fi
  : > "$work/$name.json"
  for i in $(seq 1 "$runs"); do
    mkdir "$cg"
    echo "$memcg" > "$cg/memory.limit_in_bytes"
    if [ -n "$swappiness" ]; then echo "$swappiness" > "$cg/memory.swappiness"; fi
    if [ "$i" = 1 ]; then
      echo > "$inst/trace"
      echo 1 > "$inst/tracing_on"
      ORACLE_MEMCG=$cg ORACLE_MARKER=1 sh -c 'exec 9> "$2/trace_marker"; echo $$ > "$2/set_event_pid"; echo $$ > "$1/cgroup.procs"; echo ecsmem-joined >&9; exec setarch -R "$3" "$4"' \
        sh "$cg" "$inst" "$work/$name" "$data" >> "$work/$name.json" || true
      echo 0 > "$inst/tracing_on"
      cat "$inst/per_cpu"/cpu*/stats | awk '/overrun/ { o += $2 } END { print "overrun", o }' > "$work/overrun.txt"
      mkdir -p /tmp/kmem-traces; cp "$inst/trace" "/tmp/kmem-traces/$name.trace.txt"
      python3 "$here/slab-live.py" "$inst/trace" > "$out/$name.slab.txt"
      cat "$work/overrun.txt" >> "$out/$name.slab.txt"
    else
      ORACLE_MEMCG=$cg sh -c 'echo $$ > "$1/cgroup.procs"; exec setarch -R "$2" "$3"' sh "$cg" "$work/$name" "$data" >> "$work/$name.json" || true
    fi
    echo >> "$work/$name.json"
    sandbox_rm_cg
    rm -f /dev/shm/ecsmem-oracle-*
  done
  if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; rm -f "$swapfile"; fi
  if [ -n "$loopdev" ]; then swapoff "$loopdev"; losetup -d "$loopdev"; loopdev=""; rm -f "$swapfile"; fi
  rm -rf "$data"
  python3 "$here/summary.py" "$work/$name.json" | tee "$out/$name.summary.txt" || true
done
