#!/usr/bin/env python3
"""One traced run of shadow-nodes/run.sh: per phase (the trace_marker lines end them), the memcg reclaims, and per
shrinker the do_shrink_slab calls (mm_shrink_slab_start / _end): calls, calls that scanned, objects freed, the range
of `cache items` (count_objects' freeable) and of the priority; then every call of the shadow-node shrinker that
scanned (priority, freeable, delta, deferred nr, total_scan, freed, deferred left)."""
import re
import sys
from collections import defaultdict

start = re.compile(r'mm_shrink_slab_start: (\S+) \S+: nid: \d+ objects to shrink (-?\d+) gfp_flags \S+ cache items (-?\d+) delta (-?\d+) total_scan (-?\d+) priority (\d+)')
end = re.compile(r'mm_shrink_slab_end: (\S+) \S+: nid: \d+ unused scan count (-?\d+) new scan count (-?\d+) total_scan (-?\d+) last shrinker return val (-?\d+)')
marker = re.compile(r'ecsmem-phase-end (\S+)')

def fresh():
    return {'reclaims': 0, 'sh': defaultdict(lambda: {'calls': 0, 'scanned': 0, 'freed': 0, 'items': [], 'prio': []}), 'scans': []}

phase = fresh()
pending = {}
for line in open(sys.argv[1]):
    if line.startswith('#'):
        print(line.rstrip())
        continue
    m = marker.search(line)
    if m:
        print(f"== phase {m.group(1)}: {phase['reclaims']} memcg reclaims")
        for name, s in sorted(phase['sh'].items()):
            print(f"  {name}: {s['calls']} calls, {s['scanned']} scanned, {s['freed']} freed, freeable {min(s['items'], default=0)}..{max(s['items'], default=0)}, priority {min(s['prio'], default=0)}..{max(s['prio'], default=0)}")
        for sc in phase['scans']:
            print("    shadow scan: priority %d freeable %d delta %d nr %d total_scan %d -> freed %d, deferred %d" % sc)
        phase = fresh()
        continue
    if 'mm_vmscan_memcg_reclaim_begin' in line:
        phase['reclaims'] += 1
        continue
    m = start.search(line)
    if m:
        name = m.group(1).split('+')[0]
        nr, items, delta, total, prio = (int(x) for x in m.groups()[1:])
        s = phase['sh'][name]
        s['calls'] += 1
        s['items'].append(items)
        s['prio'].append(prio)
        pending[name] = (prio, items, delta, nr, total)
        continue
    m = end.search(line)
    if m:
        name = m.group(1).split('+')[0]
        unused, new, total, ret = (int(x) for x in m.groups()[1:])
        s = phase['sh'][name]
        st = pending.pop(name, None)
        if ret > 0:
            s['freed'] += ret
        if st and total < st[4]:
            s['scanned'] += 1
            if 'shadow' in name:
                phase['scans'].append(st + (max(ret, 0), new))
