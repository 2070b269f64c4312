#!/usr/bin/env python3
"""The read pass's swap-in windows, kernel or EcsMem side.
Kernel: analyse.py OUT RUNS [PROGRAM] (run.sh's traces): each fault on the program's first data mapping
(0x100000000000) in the phase, with the order-0 pages the pid allocated before the next fault (a swap-in fault
allocates its own page and its readahead window's: swap_cluster_readahead's loop); a fault that allocated is a
swap-cache miss (major). EcsMem: analyse.py --ecsmem EVENTS.jsonl (ECSMEM_ORACLE_EVENTS's file): each fault's
class and the readahead pages (swap_in events) before it.
Prints per run: the vmstat deltas, the first faults' windows (page:window, a window 0 being a minor fault), the
majors' count and window histogram, and where a major fell off the 8-page stride (page index mod 8 changed)."""
import collections, json, re, sys

BASE = 0x100000000000
PHASE = 'read'

def summarise(name, faults, vm=None, majflt=None):
    """faults: [(page, window)] in order, window 0 for a minor fault."""
    majors = [(p, w) for p, w in faults if w > 0]
    hist = collections.Counter(w for _, w in majors)
    print(f'{name}: {len(faults)} faults, {len(majors)} majors' + (f' (record: majflt {majflt})' if majflt is not None else '')
          + ' windows ' + ' '.join(f'{w}:{n}' for w, n in sorted(hist.items())))
    if vm:
        print('  vmstat ' + ' '.join(f'{k} +{v}' for k, v in vm.items()))
    print('  first: ' + ' '.join(f'{p}:{w}' for p, w in faults[:40]))
    # The majors whose window is not 8, and the majors that are not 8 pages after the previous one.
    odd = [f'{p}:{w}' for p, w in majors if w != 8]
    print(f'  majors with a window other than 8 ({len(odd)}): ' + ' '.join(odd[:60]))
    gaps = [f'{a}->{b}' for (a, _), (b, _) in zip(majors, majors[1:]) if b - a != 8]
    print(f'  majors not 8 pages after the previous ({len(gaps)}): ' + ' '.join(gaps[:60]))

def kernel(out, runs):
    TS = re.compile(r'^\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+): (.*)$')
    for run in range(1, runs + 1):
        rec = json.loads(open(f'{out}/run.{run}.json').read())
        majflt = next(p['majflt'] for p in rec['phases'] if p['phase'] == PHASE)
        phases = [p['phase'] for p in rec['phases']]
        vm = {}
        for line in open(f'{out}/vmstat.{run}.txt'):
            w, k, v = line.split()
            vm[k] = vm.get(k, 0) + (int(v) if w == 'after' else -int(v))
        ev = []
        for line in open(f'{out}/trace.{run}.txt'):
            m = TS.match(line)
            if m:
                ev.append((m.group(4), m.group(5)))
        calls = [i for i, (e, r) in enumerate(ev) if e == 'sys_enter' and r.startswith('NR 98 ')]
        calls = calls[-2 * len(phases):]
        n = phases.index(PHASE)
        lo, hi = calls[2 * n], calls[2 * n + 1]
        faults, last = [], None
        for e, r in ev[lo:hi]:
            if e == 'page_fault_user':
                a = int(re.search(r'address=(0x[0-9a-f]+)', r).group(1), 16)
                page = (a - BASE) >> 12
                if 0 <= page < 1 << 20:
                    if page == last:
                        continue  # a retried fault (VM_FAULT_RETRY): the same page again
                    faults.append([page, 0])
                    last = page
                else:
                    last = None
            elif e == 'mm_page_alloc' and faults and last is not None and ' order=0 ' in r:
                faults[-1][1] += 1
        summarise(f'run {run}', [tuple(f) for f in faults], vm, majflt)

def ecsmem(path):
    faults, ra, inphase = [], 0, False
    for line in open(path):
        e = json.loads(line)
        if e['kind'] == 'swap_in':
            ra += 1
        elif e['kind'] == 'fault':
            a = int(e['address'], 16)
            page = (a - BASE) >> 12
            if 0 <= page < 1 << 20:
                faults.append((page, ra + 1 if e['major'] else 0))
            ra = 0
    summarise('EcsMem', faults)

if sys.argv[1] == '--ecsmem':
    ecsmem(sys.argv[2])
else:
    kernel(sys.argv[1], int(sys.argv[2]))
