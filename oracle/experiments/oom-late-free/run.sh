#!/bin/bash
# Are memcg-oom-kill's "missing" uncharges (pgpgin − pgpgout − rss = 0–30 at the parent's phase-end memory.stat read,
# session22.quiet.record.txt) pages of the killed child freed after that read? (session 23, statlag; known-gaps.md's
# memcg-oom-kill row). The program (oracle/gen/memcg-oom-kill.c, unmodified) is run RUNS times as record.sh runs it
# (exec-chain-gp/run.sh's set-up). Traced for its pid, children followed: page allocations, forks, exits, getrusage's
# entries (the harness's phase boundaries), oom:mark_victim; in a second, unfiltered instance every page free (with the
# freeing task and CPU). late.py gives per run the child's pages still allocated when it exits that are freed after
# the parent's first getrusage after the child's exit (phase_end, which reads memory.stat after it), who freed them
# and when, beside the run's memory.stat figures. sandbox.sh restores the machine on every exit path.
# STACKS=1 (session 23, latefree): besides, in the unfiltered instance, a kernel stack trace on every page free and
# pagemap:mm_lru_insertion (the folio reaching the LRU from the per-CPU lru_add batch, with its stack), and in the
# pid-filtered one sched_switch / sched_migrate_task; both raw traces are kept (OUT/trace.I.txt, OUT/frees.I.txt.gz)
# for stacks.py, which names the call chain of the post-exit burst and where the burst's folios sat. STACKS_WAIT:
# how long a run is traced after the program ends (default 0.2 s).
# Run under the kernel lock: flock /work/kernel.lock [env STACKS=1] oracle/experiments/oom-late-free/run.sh RUNS OUT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=$1; out=$(realpath -m "$2"); name=memcg-oom-kill
stacks=${STACKS:-0}
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox oom-late
mkdir "$inst"
echo 16384 > "$inst/buffer_size_kb"
echo 1 > "$inst/options/event-fork"
events="kmem/mm_page_alloc sched/sched_process_fork sched/sched_process_exit syscalls/sys_enter_getrusage syscalls/sys_exit_wait4 syscalls/sys_enter_openat oom/mark_victim"
[ "$stacks" = 1 ] && events="$events sched/sched_switch sched/sched_migrate_task"
for e in $events; do
  echo 1 > "$inst/events/$e/enable"
done
sandbox_second_instance
if [ "$stacks" = 1 ]; then echo 131072 > "$inst2/buffer_size_kb"; else echo 65536 > "$inst2/buffer_size_kb"; fi
echo 1 > "$inst2/events/kmem/mm_page_free/enable"
echo 1 > "$inst2/events/kmem/mm_page_free_batched/enable"
if [ "$stacks" = 1 ]; then
  echo 1 > "$inst2/events/pagemap/mm_lru_insertion/enable"
  echo 1 > "$inst2/events/sched/sched_process_exit/enable"
  echo 1 > "$inst2/options/stacktrace"
fi
kit_prepare "$name"
for i in $(seq 1 "$runs"); do
  kit_traced_run "$name" "$out/$name.$i.json" "${STACKS_WAIT:-0.2}"
  if [ "$stacks" = 1 ]; then cat "$inst/trace" > "$out/trace.$i.txt"; gzip -c "$inst2/trace" 2>/dev/null > "$out/frees.$i.txt.gz"; fi
  python3 "$here/late.py" "$i" "$inst/trace" "$inst2/trace" "$out/$name.$i.json" | tee -a "$out/late.txt"
  echo "  overrun $(sandbox_overrun)" | tee -a "$out/late.txt"
  sandbox_rm_cg
  sleep 1
done
kit_done
