#!/usr/bin/env python3
"""One traced run of run.sh: NAME RUN TRACE FREES. The chain's pages are the __GFP_ACCOUNT pages the run's pid
allocated after `ecsmem-joined` and before the program's exec (sched_process_exec of NAME) that are freed after that
exec and before the pid exits (its own tables, from the exec on, are freed at or after its exit). Prints their count,
when they were freed (ms from the program's exec; the earlier execs' times too), the OOM kill if any, and the harness's
getrusage entries (warm_up's phase_start, then each phase's phase_start … phase_end, fork phases one or two more)."""
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import ftrace  # noqa: E402  (oracle/experiments/ftrace.py)

name, run, trace, frees_path = sys.argv[1:5]
joined = False
main_pid = None
execs = []          # (ts, filename)
prog_exec = None
exit_ts = None
kill = None
rusage = []
allocs = {}         # pfn -> ts
for comm, pid, cpu, ts, ev, rest in ftrace.events(trace):
    if 'ecsmem-joined' in rest:
        joined, main_pid = True, pid
        continue
    if not joined:
        continue
    if ev == 'sched_process_exec' and pid == main_pid:
        fn = re.search(r'filename=(\S+)', rest).group(1)
        execs.append((ts, fn))
        if fn.endswith('/' + name):
            prog_exec = ts
    elif ev == 'sched_process_exit' and pid == main_pid and exit_ts is None:
        exit_ts = ts
    elif ev == 'mark_victim' and kill is None:
        kill = ts
    elif ev == 'sys_getrusage' and pid == main_pid and prog_exec is not None:
        rusage.append(ts)
    elif ev == 'mm_page_alloc' and pid == main_pid and prog_exec is None:
        f = dict(re.findall(r'(\w+)=(\S+)', rest))
        allocs[f['pfn']] = ts
if prog_exec is None:
    print(f"{name} {run}: no exec of the program traced")
    sys.exit(0)
end = exit_ts if exit_ts is not None else float('inf')
freed = {}
for comm, pid, cpu, ts, ev, rest in ftrace.events(frees_path):
    mm = re.search(r'pfn=(\S+)', rest)
    if not mm or mm.group(1) not in allocs:
        continue
    pfn = mm.group(1)
    if ts > allocs[pfn] and pfn not in freed:
        freed[pfn] = (ts, comm, cpu)
chain = sorted((t, c, cpu) for p, (t, c, cpu) in freed.items() if prog_exec < t < end)
before = sum(1 for p, (t, c, cpu) in freed.items() if t <= prog_exec)
ms = lambda t: (t - prog_exec) * 1000
print(f"{name} {run}: execs {' '.join(f'{fn.rsplit(chr(47), 1)[-1]}@{ms(t):.1f}' for t, fn in execs)} ms; "
      f"allocated before the exec {len(allocs)}, freed before it {before}; chain pages freed after it {len(chain)}"
      + (f" at {ms(chain[0][0]):.1f}–{ms(chain[-1][0]):.1f} ms by {sorted(set(c for _, c, _ in chain))}" if chain else "")
      + (f"; OOM kill at {ms(kill):.1f} ms" if kill else "")
      + (f"; exit at {ms(exit_ts):.1f} ms" if exit_ts else ""))
print(f"  getrusage (ms): {' '.join(f'{ms(t):.1f}' for t in rusage)}")
