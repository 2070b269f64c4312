#!/usr/bin/env python3
"""EcsMem's side of run.sh: reads `ecsmem run oracle/gen/PROGRAM.yaml --events FILE.jsonl` and prints, per pass over
the data file (a pass starts when the fault on its page 0 is raised: the event's time less its latency), the
readahead reads in order — each run of file_read events at one simulated time and contiguous indices is one window
or part of one (a window cut by a charge over the limit goes on in a later tick, after the group's reclaim) — with
the last fault raised before it and the reclaim passes after it; then the pass's totals and the sizes of its
reclaim passes.   Usage: ecsmem.py FILE.jsonl [DATA-FILE-SUFFIX] [-v]"""
import bisect, json, sys

args = [a for a in sys.argv[1:] if a != '-v']
verbose = '-v' in sys.argv
suffix = args[1] if len(args) > 1 else '/data'
events = [json.loads(l) for l in open(args[0])]
starts = []  # (raised time, file index) of each fault on the data file
for e in events:
    if e['kind'] == 'fault' and e.get('vma', '').endswith(suffix):
        idx = (int(e['address'], 16) - int(e['vma_start'], 16)) >> 12
        starts.append((e['time'] - e.get('latency', 0), idx, e['major']))
starts.sort()
bounds = [t for t, idx, _ in starts if idx == 0]
ftimes = [t for t, _, _ in starts]
passes = [{'runs': [], 'faults': 0, 'major': 0, 'read': 0, 'rounds': []} for _ in bounds]
for t, idx, major in starts:
    p = passes[bisect.bisect_right(bounds, t) - 1]
    p['faults'] += 1
    p['major'] += 1 if major else 0
for e in events:
    t = e['time']
    n = bisect.bisect_right(bounds, t) - 1
    if n < 0:
        continue
    p = passes[n]
    if e['kind'] == 'file_read' and e.get('file', '').endswith(suffix):
        p['read'] += 1
        r = p['runs'][-1] if p['runs'] else None
        if r is None or r['t'] != t or r['first'] + r['n'] != e['index']:
            k = bisect.bisect_right(ftimes, t) - 1
            r = {'t': t, 'first': e['index'], 'n': 0, 'fault': starts[k][1] if k >= 0 else -1, 'rec': []}
            p['runs'].append(r)
        r['n'] += 1
    elif e['kind'] == 'reclaim':
        p['rounds'].append(e['reclaimed'])
        if p['runs']:
            p['runs'][-1]['rec'].append(e['reclaimed'])
for n, p in enumerate(passes, 1):
    rs = sorted(p['rounds']) or [0]
    print(f"  pass {n}: faults {p['faults']} (major {p['major']}), pages read {p['read']}, reclaim passes "
          f"{len(p['rounds'])} reclaiming {sum(p['rounds'])} (median {rs[len(rs) // 2]}, max {rs[-1]})")
    if verbose:
        for r in p['runs']:
            print(f"    read [{r['first']}, {r['first'] + r['n']}) {r['n']:5} pages, last fault {r['fault']:5}, t={r['t']}, then reclaims {r['rec']}")
