#!/usr/bin/env bash
# Where a reclaiming kit program's wall-clock time goes (issue 16 items 3 and 6): every stretch the program spends
# switched out, with the kernel stack at its switch-out (a `stacktrace` trigger on sched_switch filtered to the
# program), the wakeup that ended it (sched_wakeup, the waker's context), the work items kworkers ran
# (workqueue_execute_start/end: what a kworker that preempted the program did), vmscan's mm_vmscan_throttled
# (reclaim_throttle), the group's memcg reclaims and written folios, and the phases' windows (the harness's
# getrusage calls). The programs run as record.sh runs them (a cgroup-v1 group at the program's limit, a 1 GiB swap
# file, `setarch -R`), without a sampler (a 2 ms sampler would itself preempt the program). analyse.py classifies
# each off-CPU stretch and sums each class per phase.
# Root, under the lock; restores the machine (trace instance, cgroup, swap file) on every exit path:
#   flock /work/kernel.lock oracle/experiments/offcpu/run.sh [RUNS] [PROGRAM...]
#   (default 3 swap-anon-write shmem-swap-memcg memfd-swap-memcg; OUT= output directory, default /tmp/offcpu;
#   STACKS=0 records no stacks; FAULTS=1 records each user page fault's entry)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}
shift || true
progs=("$@")
[ ${#progs[@]} -gt 0 ] || progs=(swap-anon-write shmem-swap-memcg memfd-swap-memcg)
out=${OUT:-/tmp/offcpu}
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
for p in "${progs[@]}"; do
  [ -f "$oracle/gen/$p.c" ] || { echo "run.sh: $oracle/gen/$p.c not found (run the kit's gen)" >&2; exit 2; }
done

. "$here/../sandbox.sh"
sandbox offcpu
# The stacktrace trigger must go before the instance can be removed.
offcpu_cleanup() { [ -d "$inst" ] && echo '!stacktrace' > "$inst/events/sched/sched_switch/trigger" 2>/dev/null; sandbox_cleanup; }
trap offcpu_cleanup EXIT INT TERM

mkdir -p "$out"
sandbox_swapon
{
  echo "uname_r=$(uname -r) nproc=$(nproc) model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
  echo "swap=file on $(findmnt -no FSTYPE,SOURCE -T "$work") page_cluster=$(cat /proc/sys/vm/page-cluster) loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/settings.txt"

mkdir "$inst"
echo mono > "$inst/trace_clock"
echo 32768 > "$inst/buffer_size_kb"
for e in vmscan/mm_vmscan_memcg_reclaim_begin vmscan/mm_vmscan_memcg_reclaim_end vmscan/mm_vmscan_write_folio \
         vmscan/mm_vmscan_throttled sched/sched_switch sched/sched_wakeup raw_syscalls/sys_enter \
         workqueue/workqueue_execute_start workqueue/workqueue_execute_end; do
  echo 1 > "$inst/events/$e/enable"
done

for p in "${progs[@]}"; do
  gcc -O2 -Wall -Werror -o "$work/$p" "$oracle/gen/$p.c"
  cp "$oracle/programs/$p.phases" "$out/"
  memcg=$(awk '$1 == "memcg" { print $2 }' "$oracle/programs/$p.phases")
  c=${p:0:15}
  echo "prev_comm == \"$c\" || next_comm == \"$c\"" > "$inst/events/sched/sched_switch/filter"
  # STACKS=0: no stacks (the trigger's unwinding lengthens each switch-out), to check what it adds.
  [ "${STACKS:-1}" = 0 ] || echo "stacktrace if prev_comm == \"$c\"" > "$inst/events/sched/sched_switch/trigger"
  echo "comm == \"$c\"" > "$inst/events/sched/sched_wakeup/filter"
  # FAULTS=1: every user page fault's entry too (its CPU time: from one fault's entry to the next's, on the CPU).
  if [ "${FAULTS:-0}" = 1 ]; then
    echo "comm == \"$c\"" > "$inst/events/exceptions/page_fault_user/filter"
    echo 1 > "$inst/events/exceptions/page_fault_user/enable"
  fi
  echo "id == 98 && common_pid != 0" > "$inst/events/raw_syscalls/sys_enter/filter"
  for i in $(seq 1 "$runs"); do
    mkdir "$cg"
    echo "$memcg" > "$cg/memory.limit_in_bytes"
    echo > "$inst/trace"
    echo 1 > "$inst/tracing_on"
    ORACLE_MEMCG=$cg sh -c 'echo $$ > "$1/cgroup.procs"; exec setarch -R "$2" "$3"' sh "$cg" "$work/$p" "$work" > "$out/$p.$i.json"
    echo 0 > "$inst/tracing_on"
    grep -v "^#" "$inst/trace" > "$out/$p.trace.$i.txt"
    echo "$p run $i: $(wc -l < "$out/$p.trace.$i.txt") lines, overrun $(grep -m1 overrun "$inst/per_cpu/cpu0/stats") / $(grep -m1 overrun "$inst/per_cpu/cpu1/stats"), loadavg $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/settings.txt"
    echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
    rmdir "$cg"
  done
  echo '!stacktrace' > "$inst/events/sched/sched_switch/trigger"
done
python3 "$here/analyse.py" "$out" "$runs" "${progs[@]}" | tee "$out/summary.txt"
