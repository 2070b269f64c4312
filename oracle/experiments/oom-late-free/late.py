#!/usr/bin/env python3
"""One traced run of run.sh: RUN TRACE FREES JSON. The child is the program's fork during the `child` phase; its pages
are the ones it allocated and had not freed when it exits (sched_process_exit). The read would be the parent's last
openat between waitpid's return and its next getrusage (in session 23's runs that marker found nothing: exit→read nan;
the per-task, per-CPU lines after each run's summary are the measurement). Prints the child's pages freed after
the read (count, who freed them, on which CPU, how long after the read), the ones freed between exit and read, and
the run's child-phase memory.stat: pgpgin − pgpgout − rss/4096 (the charged folios neither mapped nor uncharged)."""
import collections
import json
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import ftrace  # noqa: E402  (oracle/experiments/ftrace.py)

run, trace, frees_path, js = sys.argv[1:5]
main_pid = child = None
child_exit = kill = None
rusage = []
exits = {}
by_pid = {}
waits = []
opens = []
for comm, pid, cpu, ts, ev, rest in ftrace.events(trace):
    if main_pid is None:
        main_pid = pid
    if ev == 'sched_process_exit':
        exits.setdefault(pid, ts)
    elif ev == 'mark_victim' and kill is None:
        kill = ts
    elif ev == 'sys_getrusage' and pid == main_pid:
        rusage.append(ts)
    elif ev == 'sys_wait4' and pid == main_pid:
        waits.append(ts)
    elif ev == 'sys_openat' and pid == main_pid:
        opens.append(ts)
    elif ev == 'mm_page_alloc' and pid != main_pid:
        f = dict(re.findall(r'(\w+)=(\S+)', rest))
        by_pid.setdefault(pid, {})[f['pfn']] = ts
# the child: the forked pid that allocated the most pages (the harness forks for nothing else that large)
child = max(by_pid, key=lambda p: len(by_pid[p]), default=None)
allocs = by_pid.get(child, {})
child_exit = exits.get(child)
if child_exit is None:
    print(f"run {run}: no child exit traced (child {child})")
    sys.exit(0)
# the read: the parent's last openat before its next getrusage after waitpid's return (phase_end opens smaps,
# smaps_rollup, then memory.stat), else its last openat traced after the return
ret = next((t for t in waits if t > child_exit), None)
nxt = next((t for t in rusage if ret is not None and t > ret), float('inf'))
cand = [t for t in opens if ret is not None and ret < t < nxt]
read = cand[-1] if cand else None
live = dict(allocs)
late = []
between = 0
tail = collections.defaultdict(list)
for comm, pid, cpu, ts, ev, rest in ftrace.events(frees_path):
    mm = re.search(r'pfn=(\S+)', rest)
    if not ev.startswith('mm_page_free') or not mm or mm.group(1) not in live or ts < live[mm.group(1)]:
        continue
    pfn = mm.group(1)
    del live[pfn]
    if ts < child_exit:
        continue
    tail[(comm, cpu)].append(ts - child_exit)
    if read is not None and ts > read:
        late.append((ts - read, comm, cpu, ev))
    else:
        between += 1
st = {}
try:
    ph = [p for p in json.load(open(js))['phases'] if p.get('phase') == 'child'][0]
    ms = ph.get('memstat', {})
    st = {k: ms.get(k) for k in ('pgpgin', 'pgpgout', 'rss')}
except Exception as e:  # the program's output is the record; a missing one is reported, not fatal
    st = {'error': str(e)}
held = (st['pgpgin'] - st['pgpgout'] - st['rss'] // 4096) if st.get('rss') is not None else None
who = collections.Counter((c, cpu) for _, c, cpu, _ in late)
print(f"run {run}: child {child} pages {len(allocs)}, kill→exit {(child_exit - kill) * 1e3 if kill else float('nan'):.2f} ms, "
      f"exit→read {(read - child_exit) * 1e3 if read else float('nan'):.2f} ms; freed exit..read {between}, after read {len(late)} "
      f"(first {min((d for d, *_ in late), default=0) * 1e3:.2f} ms, last {max((d for d, *_ in late), default=0) * 1e3:.2f} ms after), "
      f"never {len(live)}; by {dict(who)}; memstat {st} in-out-rss {held}; opens after wait {len(cand)}")
for k, v in sorted(tail.items(), key=lambda kv: min(kv[1])):
    print(f"  freed by {k[0]} cpu {k[1]}: {len(v)} pages, {min(v) * 1e3:.2f}–{max(v) * 1e3:.2f} ms after the child's exit"
          + (f" (read at {(read - child_exit) * 1e3:.2f} ms)" if read else ""))
