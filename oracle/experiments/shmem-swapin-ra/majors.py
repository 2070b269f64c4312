#!/usr/bin/env python3
"""The read pass's major faults by page, kernel (run.sh's OUT RUN) or EcsMem (--ecsmem EVENTS.jsonl), with the page-table
pages a fault allocates left out (3 at the region's first fault, 1 at each 512-page boundary): prints the majors'
pages and windows and the running count at every 256 pages, to set two sides side by side (diff)."""
import json, re, sys

BASE = 0x100000000000

def kernel(out, run):
    TS = re.compile(r'^\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+): (.*)$')
    ev = [(m.group(4), m.group(5)) for m in map(TS.match, open(f'{out}/trace.{run}.txt')) if m]
    calls = [i for i, (e, r) in enumerate(ev) if e == 'sys_enter' and r.startswith('NR 98 ')]
    faults, last = [], None
    for e, r in ev[calls[-2]:calls[-1]]:
        if e == 'page_fault_user':
            a = int(re.search(r'address=(0x[0-9a-f]+)', r).group(1), 16)
            p = (a - BASE) >> 12 if BASE <= a < BASE + (1 << 30) else None
            if p is not None and p != last:
                faults.append([p, -(3 if p == 0 else 1 if p % 512 == 0 else 0)])
            last = p
        elif e == 'mm_page_alloc' and last is not None and ' order=0 ' in r:
            faults[-1][1] += 1
    return [(p, w) for p, w in faults]

def ecsmem(path):
    faults, ra = [], 0
    for line in open(path):
        e = json.loads(line)
        if e['kind'] == 'swap_in':
            ra += 1
        elif e['kind'] == 'fault':
            a = int(e['address'], 16)
            if BASE <= a < BASE + (1 << 30):
                faults.append(((a - BASE) >> 12, ra + 1 if e['major'] else 0))
            ra = 0
    return faults

faults = ecsmem(sys.argv[2]) if sys.argv[1] == '--ecsmem' else kernel(sys.argv[1], int(sys.argv[2]))
n = 0
for p, w in faults:
    if w > 0:
        n += 1
        print(f'{p}:{w}')
    if p % 256 == 255:
        print(f'== {p} {n}')
print(f'total {n}')
