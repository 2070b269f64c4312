#!/usr/bin/env python3
"""Each run's first and last swap-in windows (run.sh's traces): exit.py OUT PROGRAM RUNS [N] [--shmem].
A fault's window is the order-0 GFP_HIGHUSER_MOVABLE pages (not __GFP_WRITE: page cache)  the pid allocated before its next fault (swap_cluster_readahead allocates the
faulting page and each page of its window it reads; a retried fault on the same page adds to the first). A fault is
taken for a swap-in when its page faulted before in the run (reclaimed since), or when it lies in the program's
regions (from 0x100000000000) and allocated under --shmem (a tmpfs or memfd file's pages come from write(2), not
from faults), or when
its window is over 1. Only faults after the first getrusage count (the pid ran sh, setarch and env before the program). Phase marks: getrusage calls (sys_enter NR 98), the phase window between a pair.
Prints per run the first N swap-ins (page address: window) and the last N, and the phases' faults as the record has them."""
import json, re, sys

TS = re.compile(r'^\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+): (.*)$')
REGIONS = 0x100000000000

def swapins(path):
    ev = []
    for line in open(path):
        m = TS.match(line)
        if m:
            ev.append((m.group(2), m.group(4), m.group(5)))
    # The program's pid: the one that faults in the binary's pages (setarch -R: 0x555555554000); set_event_pid lets
    # some other tasks' events through.
    pid = next(p for p, e, r in ev if e == 'page_fault_user' and 'address=0x5555555' in r)
    ev = [(e, r) for p, e, r in ev if p == pid]
    seen, faults, last, ru = set(), [], None, 0
    for e, r in ev:
        if e == 'page_fault_user':
            a = int(re.search(r'address=(0x[0-9a-f]+)', r).group(1), 16) & ~0xfff
            if a == last:
                continue
            faults.append([a, 0, a in seen, ru])
            seen.add(a)
            last = a
        elif e == 'mm_page_alloc' and faults and ' order=0 ' in r and 'GFP_HIGHUSER_MOVABLE' in r and '__GFP_WRITE' not in r:
            faults[-1][1] += 1
        elif e == 'sys_enter' and r.startswith('NR 98 '):
            ru += 1
            last = None
    # From the first getrusage on (the same pid ran sh, setarch and env before the program: their faults come first).
    return [(a, w, ru) for a, w, again, ru in faults if ru >= 1 and w > 0 and (again or w > 1 or (SHMEM and a >= REGIONS))]

def fmt(s):
    return ' '.join(f'{a:#x}:{w}@{ru}' for a, w, ru in s)

SHMEM = '--shmem' in sys.argv
args = [a for a in sys.argv[1:] if a != '--shmem']
out, prog, runs = args[0], args[1], int(args[2])
n = int(args[3]) if len(args) > 3 else 8
for i in range(1, runs + 1):
    rec = json.load(open(f'{out}/{prog}.{i}.json'))
    s = swapins(f'{out}/{prog}.{i}.trace')
    print(f'{prog} run {i}: ' + ' '.join(f"{p['phase']} {p['minflt']}/{p['majflt']}" for p in rec['phases']) + f'; {len(s)} swap-ins')
    print(f'  first: {fmt(s[:n])}')
    print(f'  last:  {fmt(s[-n:])}')
