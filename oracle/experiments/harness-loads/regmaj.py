#!/usr/bin/env python3
"""regmaj.py kernel PERF | ecsmem JSONL: the region majors (page index) of each pass, one pass a line (a pass ends at a non-region major
after at least 100 region majors)."""
import json, sys
kind, f = sys.argv[1], sys.argv[2]
seq = []
if kind == 'kernel':
    for line in open(f):
        x = line.split()
        if not x or x[0] != 'prog': continue
        seq.append(int(x[-1], 16))
else:
    for l in open(f):
        if '"fault"' not in l: continue
        j = json.loads(l)
        if j['kind'] == 'fault' and j['pid'] == 1 and j['major']:
            seq.append(int(j['address'], 16))
passes, cur = [], []
for a in seq:
    if 0x100000000000 <= a < 0x100000000000 + (24 << 20):
        cur.append((a - 0x100000000000) >> 12)
    elif len(cur) > 100:
        passes.append(cur); cur = []
if cur: passes.append(cur)
for p in passes:
    gaps = [b - a for a, b in zip(p, p[1:])]
    irregular = [(p[i], gaps[i]) for i in range(len(gaps)) if gaps[i] != 8]
    print(len(p), 'first', p[:6], 'irregular (page,gap):', irregular)
