#!/usr/bin/env python3
"""tmpfs-swap-memcg's read: the majors off the 8-page stride (run.sh's traces): majors-odd.py OUT RUNS.
Each fault on the file's mapping (0x100000000000, pages 0-6143) with the GFP_HIGHUSER_MOVABLE order-0 pages the pid
allocated before its next fault (the window it read); prints the majors whose window is not 8 or that do not follow
the previous major by 8 pages, and the totals, with how often the task's events changed CPU from the read's first fault
(a per-CPU swap cluster would switch there)."""
import re, sys
TS = re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$')
out, runs = sys.argv[1], int(sys.argv[2])
for run in range(1, runs + 1):
    ev = []
    for line in open(f'{out}/tmpfs-swap-memcg.{run}.trace'):
        m = TS.match(line)
        if m:
            ev.append((m.group(2), m.group(5), m.group(6), m.group(3)))
    pid = next(p for p, e, r, c in ev if e == 'page_fault_user' and 'address=0x5555555' in r)
    faults, cur, cpus = [], None, []
    for p, e, r, c in ev:
        if p != pid:
            continue
        if cur is not None or (e == 'page_fault_user' and '0x1000000' in r):
            cpus.append(c)
        if e == 'page_fault_user':
            pg = (int(re.search(r'address=(0x[0-9a-f]+)', r).group(1), 16) - 0x100000000000) >> 12
            cur = [pg, 0] if 0 <= pg < 6144 else None
            if cur and faults and faults[-1][0] == pg:
                cur = faults[-1]
            elif cur:
                faults.append(cur)
        elif e == 'mm_page_alloc' and cur is not None and ' order=0 ' in r and 'GFP_HIGHUSER_MOVABLE' in r and '__GFP_WRITE' not in r:
            cur[1] += 1
    majors = [(p, w) for p, w in faults if w > 0]
    odd = [f'{a}:{w}' for (a, w), (b, _) in zip(majors, majors[1:] + [(None, 0)]) if w != 8 or (b is not None and b - a != 8)]
    moves = sum(1 for a, b in zip(cpus, cpus[1:]) if a != b)
    print(f'run {run}: {len(faults)} faults, {len(majors)} majors, CPU changes between the pid\'s events from the read\'s first fault: {moves}; off the stride: ' + ' '.join(odd))
