#!/usr/bin/env python3
"""Pages allocated with __GFP_ACCOUNT (kernel memory charged to the group: page tables, kernel stacks' vmalloc pages
are charged apart) by the traced tasks after `ecsmem-joined` and not yet freed at oom:mark_victim (the first
`ecsmem-phase-end kill` of run.sh's rewrite is not used here: the raw trace's mark_victim line). Frees come from the
second, unfiltered instance (an RCU callback frees page tables in whatever task runs it). Per allocating task and gfp."""
import re
import sys
from collections import defaultdict

ts_re = re.compile(r'^\s*(.+?)-(\d+)\s+\[\d+\].*?\s(\d+\.\d+): (\w+): (.*)$')
allocs = {}   # pfn -> (ts, comm, gfp, order)
joined = False
kill = None
for line in open(sys.argv[1], errors='replace'):
    m = ts_re.match(line)
    if not m:
        continue
    comm, pid, ts, ev, rest = m.groups()
    ts = float(ts)
    if 'ecsmem-joined' in rest:
        joined = True
        continue
    if ev == 'mark_victim' and kill is None:
        kill = ts
    if not joined or ev != 'mm_page_alloc':
        continue
    f = dict(re.findall(r'(\w+)=(\S+)', rest))
    if 'ACCOUNT' not in f.get('gfp_flags', ''):
        continue
    allocs[f['pfn']] = (ts, comm + '-' + pid, f['gfp_flags'], int(f['order']))
frees = defaultdict(list)
for line in open(sys.argv[2], errors='replace'):
    m = ts_re.match(line)
    if not m:
        continue
    comm, pid, ts, ev, rest = m.groups()
    f = dict(re.findall(r'(\w+)=(\S+)', rest))
    if 'pfn' in f:
        frees[f['pfn']].append((float(ts), comm))
print(f"kill at {kill}")
live = defaultdict(lambda: [0, 0])
freed_after = defaultdict(lambda: [0, 0])
for pfn, (ts, comm, gfp, order) in allocs.items():
    fl = [t for t in frees.get(pfn, []) if t[0] > ts]
    if kill is not None and ts > kill:
        continue
    if not fl or fl[0][0] > kill:
        live[(comm, gfp)][0] += 1
        live[(comm, gfp)][1] += 1 << order
        if fl:
            key = (comm, gfp, fl[0][1])
            freed_after[key][0] += 1
            freed_after[key][1] = max(freed_after[key][1], fl[0][0] - kill)
print("live at the kill (allocating task, gfp): allocations, pages")
for k, v in sorted(live.items(), key=lambda x: -x[1][1]):
    print(f"  {k[0]:20s} {k[1]:50s} {v[0]:5d} {v[1]:5d}")
print("each live page: allocated (s from the kill), task, order; freed (s from the kill), by")
for pfn, (ts, comm, gfp, order) in sorted(allocs.items(), key=lambda x: x[1][0]):
    if kill is None or ts > kill:
        continue
    fl = [t for t in frees.get(pfn, []) if t[0] > ts]
    if not fl or fl[0][0] > kill:
        print(f"    {ts - kill:+.6f} {comm:24s} {order} " + (f"{fl[0][0] - kill:+.6f} {fl[0][1]}" if fl else "not freed in the window"))
print("of them freed after the kill (allocating task, gfp, freeing task): pages, latest free - kill (s)")
for k, v in sorted(freed_after.items(), key=lambda x: -x[1][0]):
    print(f"  {k[0]:20s} {k[1]:50s} {k[2]:20s} {v[0]:5d} {v[1]:.4f}")
