#!/usr/bin/env python3
"""The analysis of `STACKS=1 run.sh`'s traces (session 23, latefree): RUN TRACE FREES(.gz). The child as late.py finds it (the forked pid that
allocated the most pages); its pages still allocated at its exit and not freed by the child itself (freed later by another
task, or never within the run's trace) are the late ones. Prints: the CPUs of the child's allocations (its last 40), its sched_migrate_task
events and the CPU of its exit; for the late pfns their last mm_lru_insertion before the exit (time, CPU, task: did
they reach the LRU, from which batch) and their free (task, CPU, and the distinct kernel stacks of those frees)."""
import collections
import gzip
import re
import sys

run, trace, frees = sys.argv[1:4]
ev_re = re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\].*?\s(\d+\.\d+): (<stack trace>|\w+)(?:[:(]| ->)? ?(.*)$')
by_pid = collections.defaultdict(dict)
alloc_cpu = collections.defaultdict(list)
exits = {}
migr = []
main_pid = None


def op(path):
    return gzip.open(path, 'rt', errors='replace') if path.endswith('.gz') else open(path, errors='replace')


for line in op(trace):
    m = ev_re.match(line)
    if not m:
        continue
    comm, pid, cpu, ts, ev, rest = m.groups()
    if main_pid is None:
        main_pid = pid
    if ev == 'mm_page_alloc' and pid != main_pid:
        pfn = re.search(r'pfn=(\S+)', rest).group(1)
        by_pid[pid][pfn] = float(ts)
        alloc_cpu[pid].append((float(ts), cpu))
    elif ev == 'sched_process_exit':
        exits.setdefault(pid, (float(ts), cpu))
    elif ev == 'sched_migrate_task':
        migr.append((float(ts), rest))
child = max(by_pid, key=lambda p: len(by_pid[p]))
cexit, ccpu = exits[child]
live = dict(by_pid[child])
# frees file: events each followed by an optional <stack trace> block of ' => fn' lines
events = []
cur = None
last_on_cpu = {}
for line in op(frees):
    if line.startswith(' => '):
        if cur is not None:
            cur['stack'].append(line[4:].strip())
        continue
    m = ev_re.match(line)
    if not m:
        continue
    comm, pid, cpu, ts, ev, rest = m.groups()
    if ev == '<stack trace>':
        # the stack follows its event on the same CPU; another CPU's event may sort between them
        cur = last_on_cpu.get(cpu)
        if cur is not None:
            cur['stack'] = []
        continue
    pf = re.search(r'pfn=(\S+)', rest)
    events.append({'comm': comm, 'pid': pid, 'cpu': cpu, 'ts': float(ts), 'ev': ev, 'pfn': pf.group(1) if pf else None, 'stack': []})
    last_on_cpu[cpu] = events[-1]
ins = {}
freed = {}
for e in events:
    p = e['pfn']
    if p not in live or e['ts'] < live[p]:
        continue
    if e['ev'] == 'mm_lru_insertion' and p not in freed:
        ins[p] = e
    elif e['ev'].startswith('mm_page_free') and p not in freed:
        freed[p] = e
late = [p for p in live if p not in freed or freed[p]['pid'] != child]
print(f"run {run}: child {child} exit on cpu {ccpu}; its last allocations' CPUs "
      f"{collections.Counter(c for _, c in alloc_cpu[child][-40:])}, all {collections.Counter(c for _, c in alloc_cpu[child])}; "
      f"migrations of it: {[r for t, r in migr if f'pid={child}' in r]}")
cnt = collections.Counter()
stacks = collections.Counter()
for p in late:
    i = ins.get(p)
    f = freed.get(p)
    key = ('inserted' if i else 'never-inserted',
           f"ins {i['comm']} cpu {i['cpu']} {(i['ts'] - cexit) * 1e3:+.2f} ms" if i else '',
           f"freed by {f['comm']} cpu {f['cpu']} {(f['ts'] - cexit) * 1e3:+.2f} ms" if f else 'not freed in the trace')
    cnt[(key[0], key[1].rsplit(' ', 2)[0] if i else '', key[2].rsplit(' ', 2)[0] if f else key[2])] += 1
    if f:
        stacks[(f['ev'], ' < '.join(f['stack'][:9]))] += 1
    if i:
        stacks[('lru_insertion', ' < '.join(i['stack'][:9]))] += 1
for k, v in cnt.most_common():
    print(f"  {v} late pages: {k[0]}; {k[1]}; {k[2]}")
if late:
    ts_i = [ins[p]['ts'] for p in late if p in ins]
    ts_f = [freed[p]['ts'] for p in late if p in freed]
    if ts_i:
        print(f"  their lru insertion: {(min(ts_i) - cexit) * 1e3:+.2f}..{(max(ts_i) - cexit) * 1e3:+.2f} ms from the exit")
    if ts_f:
        print(f"  their free: {(min(ts_f) - cexit) * 1e3:+.2f}..{(max(ts_f) - cexit) * 1e3:+.2f} ms from the exit")
for (ev, st), v in stacks.most_common():
    print(f"  {v}x {ev}: {st}")
