#!/bin/bash
# What charges the group between a fill's last fault and phase_end's memory.stat read? (session 25, chainfill;
# oracle/known-gaps.md's memcg-oom-kill row: under ECSMEM_ORACLE_EXEC_CHAIN_TABLES=1 EcsMem's swap-anon fill ends
# 6-14 pages fuller than any kernel run.) Each PROGRAM (oracle/gen/PROGRAM.c, unmodified) is run RUNS times as record.sh
# runs it (sandbox.sh kit_traced_run), traced for its pid: getrusage's and openat's/close's entries (the harness's phase
# boundaries and reads), the accounted kmalloc and kmem_cache allocations (__GFP_ACCOUNT / accounted), and every memcg
# reclaim with the stack that started it (a stacktrace trigger on mm_vmscan_memcg_reclaim_begin). phase_end.py then
# lists, per run and phase_end, the reclaims between its getrusage and its memory.stat read, each with its origin
# (a user page fault, or a kernel allocation: seq_file's buffer, filp ...), and the accounted allocations there.
# Run under the kernel lock: flock /work/kernel.lock oracle/experiments/phase-end-charge/run.sh RUNS OUT PROGRAM...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=$1; out=$(realpath -m "$2"); shift 2
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox phase-end-charge
mkdir "$inst"
echo 16384 > "$inst/buffer_size_kb"
echo 1 > "$inst/options/event-fork"
for e in syscalls/sys_enter_getrusage syscalls/sys_enter_openat syscalls/sys_enter_close kmem/kmalloc kmem/kmem_cache_alloc \
         vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end; do
  echo 1 > "$inst/events/$e/enable"
done
echo 'gfp_flags & 0x400000' > "$inst/events/kmem/kmalloc/filter"   # __GFP_ACCOUNT (1 << 22 on 6.18)
echo 'accounted == 1' > "$inst/events/kmem/kmem_cache_alloc/filter"
echo stacktrace > "$inst/events/vmscan/mm_vmscan_memcg_reclaim_begin/trigger"
sandbox_second_instance   # kit_traced_run clears and toggles it; nothing is enabled there
for name in "$@"; do
  kit_prepare "$name"
  for i in $(seq 1 "$runs"); do
    kit_traced_run "$name" "$out/$name.$i.json" 0.1
    cat "$inst/trace" > "$out/$name.$i.trace"
    python3 "$here/phase_end.py" "$name" "$i" "$out/$name.$i.trace" "$out/$name.$i.json" | tee -a "$out/phase_end.txt"
    echo "  overrun $(sandbox_overrun)" | tee -a "$out/phase_end.txt"
    sandbox_rm_cg
    sleep 1
  done
  kit_done
done
echo '!stacktrace' > "$inst/events/vmscan/mm_vmscan_memcg_reclaim_begin/trigger"
