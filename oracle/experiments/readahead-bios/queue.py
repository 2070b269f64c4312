#!/usr/bin/env python3
"""Usage: queue.py OUT/PROGRAM.RUN (run.sh's .ra, .blk and OUT/PROGRAM.extents; session 19, rrq2). Per file pass: each fault that inserts read requests (a major: a request holds the faulting page; else an async
window), with the disk's file reads still in flight or queued at its first insert, how long the request holding the
faulting page waited (insert -> last issue) and was served, and the reclaim rounds' count and wall time before it."""
import re, sys, statistics
import traceio
base = sys.argv[1]
page = traceio.file_pages(base)
evs = traceio.events(base, lambda m: (float(m.group(4)), m.group(5), m.group(6)))
blk_re = re.compile(r'254,0 (\w+) (?:\d+ )?\(\) (\d+) \+ (\d+)')
passno = 0; t0 = 0; fault = None; ftime = 0; live = {}; reqs = {}; log = []; rounds = []; rb = None
for t, name, rest in evs:
    if name == 'mm_filemap_fault':
        ofs = int(re.search(r'ofs=(\d+)', rest).group(1)) >> 12
        if ofs == 0: passno += 1; t0 = t
        fault = ofs; ftime = t; cur = None
        continue
    if name == 'mm_vmscan_memcg_reclaim_begin': rb = t; continue
    if name == 'mm_vmscan_memcg_reclaim_end' and rb: rounds.append((passno, t - rb)); rb = None; continue
    if name not in ('block_rq_insert', 'block_rq_issue', 'block_rq_complete'): continue
    m = blk_re.search(rest)
    if not m or not m.group(1).startswith('R'): continue
    sec, n = int(m.group(2)), int(m.group(3)); p = page(sec)
    if p is None: continue
    if name == 'block_rq_insert':
        if fault is not None and (cur is None or cur['fault'] != fault or cur['t'] != ftime):
            cur = {'pass': passno, 'fault': fault, 't': ftime, 'rel': (t - t0) * 1e3, 'busy': len(live), 'major': False,
                   'first': p, 'wait': None, 'serv': None, 'pages': 0}
            log.append(cur)
        live[sec] = [t, None, cur, p <= fault < p + n // 8]
        cur['pages'] += n // 8
        if p <= fault < p + n // 8: cur['major'] = True
    elif name == 'block_rq_issue' and sec in live: live[sec][1] = t
    elif name == 'block_rq_complete' and sec in live:
        ti, tis, w, holds = live.pop(sec)
        if holds and tis: w['wait'] = (tis - ti) * 1e3; w['serv'] = (t - tis) * 1e3
for ps in (1, 2):
    L = [w for w in log if w['pass'] == ps]
    maj = [w for w in L if w['major']]
    r = [d for p, d in rounds if p == ps]
    print(f"pass {ps}: {len(maj)} majors; reclaim rounds {len(r)}, wall median {statistics.median(r)*1e3 if r else 0:.3f} ms, mean {statistics.mean(r)*1e3 if r else 0:.3f}")
    for w in L:
        kind = 'MAJOR' if w['major'] else 'async'
        extra = f" wait {w['wait']:.2f} serv {w['serv']:.2f} ms" if w['wait'] is not None else ''
        print(f"  {w['rel']:8.2f} ms {kind} fault {w['fault']:5} reads from {w['first']:5} ({w['pages']} p); disk had {w['busy']} reqs{extra}")
