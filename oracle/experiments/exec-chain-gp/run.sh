#!/bin/bash
# When does the kernel free (and uncharge) the page tables of record.sh's exec chain, relative to the program's exec
# and its phases? (session 23, oomgrace; oracle/known-gaps.md's memcg-oom-kill row). Each PROGRAM (oracle/gen/PROGRAM.c,
# unmodified) is run RUNS times as record.sh runs a memcg program: env's and setarch's files read from this script's
# group first, a fresh group with the program's limit (and swappiness), sh moves itself in, writes `ecsmem-joined`
# to the trace and execs env -i ORACLE_MEMCG=GROUP setarch -R PROGRAM DATADIR. Traced for that pid (set_event_pid,
# children followed): the __GFP_ACCOUNT page allocations, the execs, getrusage's entries (the harness's phase
# boundaries) and oom:mark_victim; in a second, unfiltered instance every page free (an RCU callback frees the page
# tables in whatever task runs it: tlb_remove_table_rcu). gp.py gives per run the chain's pages (accounted pages the
# pid allocated after joining and before the program's exec, freed after that exec) and when they were freed, from
# the program's exec and against the phase boundaries. sandbox.sh restores the machine on every exit path.
# Run under the kernel lock: flock /work/kernel.lock oracle/experiments/exec-chain-gp/run.sh RUNS OUT PROGRAM...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=$1; out=$(realpath -m "$2"); shift 2
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox chain-gp
mkdir "$inst"
echo 8192 > "$inst/buffer_size_kb"
echo 1 > "$inst/options/event-fork"
for e in kmem/mm_page_alloc sched/sched_process_exec sched/sched_process_exit syscalls/sys_enter_getrusage oom/mark_victim; do
  echo 1 > "$inst/events/$e/enable"
done
echo 'gfp_flags & 0x400000' > "$inst/events/kmem/mm_page_alloc/filter"   # __GFP_ACCOUNT (1 << 22 on 6.18)
sandbox_second_instance
echo 65536 > "$inst2/buffer_size_kb"
echo 1 > "$inst2/events/kmem/mm_page_free/enable"
echo 1 > "$inst2/events/kmem/mm_page_free_batched/enable"
for name in "$@"; do
  kit_prepare "$name"
  for i in $(seq 1 "$runs"); do
    # traced 0.2 s past the end: the program's last RCU callbacks (its own exit_mmap's tables) come a little later
    kit_traced_run "$name" "$out/$name.$i.json" 0.2
    cat "$inst/trace" > "$out/$name.$i.trace"
    python3 "$here/gp.py" "$name" "$i" "$inst/trace" "$inst2/trace" | tee -a "$out/gp.txt"
    echo "  overrun $(sandbox_overrun)" | tee -a "$out/gp.txt"
    sandbox_rm_cg
    sleep 1
  done
  kit_done
done
