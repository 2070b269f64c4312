#!/bin/bash
# Session 28 (sw60rounds): what is inside each of the kernel's memcg reclaim rounds in swappiness-60's file1? Each
# PROGRAM (oracle/gen/PROGRAM.c, unmodified) runs RUNS times as record.sh runs it (sandbox.sh kit_traced_run), traced
# for its pid: getrusage's entries (the harness's phase boundaries), every memcg reclaim's begin/end and every
# shrink_inactive_list / shrink_active_list call inside it (list, priority, scanned, reclaimed, activated, kept).
# rounds.py then prints per round its calls, so EcsMem's rounds (ECSMEM_ORACLE_RECLAIMS=1) compare call by call.
#   flock /work/kernel.lock oracle/experiments/sw60-rounds/run.sh RUNS OUT [PROGRAM...]   (default swappiness-60)
# EXTRA="exceptions/page_fault_user vmscan/mm_vmscan_write_folio ..." adds those events; FORK=1 traces a fork's child too
# (options/event-fork). STACK="vmscan/mm_vmscan_memcg_reclaim_begin ..." puts a stacktrace trigger on those events (the
# kernel stack each one fires in: which charge a reclaim serves, session 29), removed before the instance is.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=$1; out=$(realpath -m "$2"); shift 2
progs=("$@"); [ ${#progs[@]} -gt 0 ] || progs=(swappiness-60)
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox sw60-rounds
# A trigger must go before its instance can be removed.
rounds_cleanup() {
  for e in ${STACK:-}; do [ -d "$inst" ] && echo '!stacktrace' > "$inst/events/$e/trigger" 2>/dev/null; done
  sandbox_cleanup
}
trap rounds_cleanup EXIT INT TERM
mkdir "$inst"
echo 16384 > "$inst/buffer_size_kb"
for e in syscalls/sys_enter_getrusage vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end \
         vmscan/mm_vmscan_lru_shrink_inactive vmscan/mm_vmscan_lru_shrink_active ${EXTRA:-}; do
  echo 1 > "$inst/events/$e/enable"
done
for e in ${STACK:-}; do echo 1 > "$inst/events/$e/enable"; echo stacktrace > "$inst/events/$e/trigger"; done
if [ -n "${FORK:-}" ]; then echo 1 > "$inst/options/event-fork"; fi
sandbox_second_instance   # kit_traced_run clears and toggles it; nothing is enabled there
for name in "${progs[@]}"; do
  kit_prepare "$name"
  for i in $(seq 1 "$runs"); do
    kit_traced_run "$name" "$out/$name.$i.json" 0.1
    cat "$inst/trace" > "$out/$name.$i.trace"
    echo "$name $i overrun $(sandbox_overrun) load $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$out/runs.txt"
    sandbox_rm_cg
    sleep 1
  done
  kit_done
done
