#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/sw60-harness-reclaim/run.sh RUNS OUT [PROGRAM...]
# swap-ra-exit/run.sh with the reclaim traced too: each run of oracle/gen/PROGRAM.c as record.sh runs it (env -i,
# setarch -R, a fresh v1 group per run, one swap area for all runs), its pid's user and kernel-mode page faults (rseq's
# TLS stores fault in kernel mode), page allocations, getrusage calls (the phase windows), context switches and memcg
# reclaims (mm_vmscan_memcg_reclaim_begin/end, lru_shrink_inactive/active, write_folio: a swap-out's pfn) in a private
# trace instance. harness.py OUT PROGRAM RUNS names each swapped-out harness page (its pfn from the allocation after
# its first fault) and when. The machine is restored on every exit by swap-ra-exit/run.sh (sandbox.sh, its loop device).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-3}; out=${2:-/tmp/sw60-harness-reclaim}; shift 2 || shift $#; [ "$#" -gt 0 ] || set -- swappiness-60
EVENTS="exceptions/page_fault_user exceptions/page_fault_kernel kmem/mm_page_alloc sched/sched_process_exit sched/sched_switch
 vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end vmscan/mm_vmscan_lru_shrink_inactive
 vmscan/mm_vmscan_lru_shrink_active vmscan/mm_vmscan_write_folio" exec "$here/../swap-ra-exit/run.sh" "$runs" "$out" "$@"
