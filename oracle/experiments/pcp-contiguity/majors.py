#!/usr/bin/env python3
"""majors.py JSON PERF: a run's phase faults (the kit program's JSON) and its major faults in order (perf script
-F comm,time,addr): data-file pages as 'fN' (file VMA 0x120000000000), anon region pages as 'aN' (0x100000000000),
others by address. Pass boundaries: a major at file page 0 starts a read pass."""
import json, sys
j = json.load(open(sys.argv[1]))
phases = j.get('phases', j) if isinstance(j, dict) else j
try:
    for p in phases:
        print('  phase', p.get('name'), 'minflt', p.get('minflt'), 'majflt', p.get('majflt'))
except Exception:
    print('  json:', str(j)[:300])
out = []
for line in open(sys.argv[2]):
    f = line.split()
    if not f or f[0] != 'prog':
        continue
    a = int(f[-1], 16)
    if 0x120000000000 <= a < 0x120001000000:
        out.append('f%d' % ((a - 0x120000000000) >> 12))
    elif 0x100000000000 <= a < 0x100000800000:
        out.append('a%d' % ((a - 0x100000000000) >> 12))
    else:
        out.append(hex(a))
print('  majors:', ' '.join(out))
