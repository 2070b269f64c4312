#!/usr/bin/env python3
"""Each memcg reclaim of a kit.sh trace (oracle/experiments/thp-swap-memcg/kit.sh PROGRAM RUNS OUT):
python3 steps.py OUT/trace.N.txt... prints, run-length encoded, nr_reclaimed/written (mm_vmscan_write_folio) of
each try_to_free_mem_cgroup_pages call, and the nr_scanned of the shrink_inactive calls of its 10th call."""
import re, sys

for path in sys.argv[1:]:
    calls, cur, scans = [], None, []
    for line in open(path):
        if 'mm_vmscan_memcg_reclaim_begin' in line:
            cur = {'w': 0, 's': []}
        elif cur is None:
            continue
        elif 'mm_vmscan_write_folio' in line:
            cur['w'] += 1
        elif 'mm_vmscan_lru_shrink_inactive' in line:
            m = re.search(r'nr_scanned=(\d+) nr_reclaimed=(\d+).*priority=(\d+)', line)
            cur['s'].append(f'p{m.group(3)}:{m.group(1)}')
        elif 'mm_vmscan_memcg_reclaim_end' in line:
            cur['r'] = int(re.search(r'nr_reclaimed=(\d+)', line).group(1))
            calls.append(cur)
            cur = None
    out, prev, n = [], None, 0
    for c in calls:
        key = f"{c['r']}/{c['w']}"
        if key == prev:
            n += 1
            continue
        if prev: out.append(prev + (f'×{n}' if n > 1 else ''))
        prev, n = key, 1
    if prev: out.append(prev + (f'×{n}' if n > 1 else ''))
    print(f'{path}: {len(calls)} calls: ' + ' '.join(out))
    if len(calls) > 10:
        print('  call 10: ' + ' '.join(calls[10]['s']))
