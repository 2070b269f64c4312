#!/usr/bin/env python3
"""The data file's block I/O in one run.sh run, beside its readahead windows and memcg reclaim rounds.
Usage: bios.py OUT/PROGRAM.RUN [PASS]   (reads .ra, .blk and OUT/PROGRAM.extents; PASS 1 = the first file pass)
Prints per readahead window of the pass: its start time and the pages it added, the file's read bios queued and
requests issued while it ran (file page ranges), each request's size, issue→complete latency and completion time
relative to the window's start, splits, and the reclaim rounds' span. Then the pass's request sizes and latencies.
A request may show two block_rq_issue lines (virtio-blk requeues it while the device is busy); its latency is taken
from the last issue."""
import re, sys, statistics
import traceio
base = sys.argv[1]; want = int(sys.argv[2]) if len(sys.argv) > 2 else 1
page = traceio.file_pages(base)
evs = traceio.events(base, lambda m: (float(m.group(4)), m.group(5), m.group(6), m.group(1)))
blk_re = re.compile(r'254,0 (\w+) (?:\d+ )?\(\) (\d+) \+ (\d+)')
split_re = re.compile(r'254,0 (\w+) (\d+) / (\d+)')
passno = 0; inpass = False; win = None; wins = []; issued = {}; reqs = []; inflight = 0; maxq = {}
for t, name, rest, comm in evs:
    if name == 'mm_filemap_fault':
        ofs = int(re.search(r'ofs=(\d+)', rest).group(1)) >> 12
        if ofs == 0:
            passno += 1; inpass = passno == want
            if passno == want + 1: break
        if inpass and win is not None: win['faults'].append((t, ofs))
        last_fault = ofs
        continue
    if not inpass: continue
    if name.startswith('page_cache_') and name.endswith(('_ra', 'ra_order', 'ra_unbounded')):
        idx = re.search(r'index=(\d+)', rest); idx = int(idx.group(1)) if idx else -1
        win = {'t': t, 'ev': name[11:], 'at': last_fault, 'idx': idx, 'added': 0, 'io': [], 'rounds': [], 'faults': []}
        wins.append(win)
    elif name == 'mm_filemap_add_to_page_cache' and win:
        win['added'] += 1 << int(re.search(r'order=(\d+)', rest).group(1))
    elif name == 'mm_vmscan_memcg_reclaim_begin' and win:
        win['rounds'].append([t, None])
    elif name == 'mm_vmscan_memcg_reclaim_end' and win and win['rounds']:
        win['rounds'][-1][1] = t
    elif name == 'block_split':
        m = split_re.search(rest)
        if m and page(int(m.group(2))) is not None and win:
            win['io'].append((t, 'split', page(int(m.group(2))), page(int(m.group(3))), 0))
    elif name in ('block_bio_queue', 'block_rq_issue', 'block_rq_complete'):
        m = blk_re.search(rest)
        if not m or not m.group(1).startswith('R'): continue
        sec, n = int(m.group(2)), int(m.group(3))
        if page(sec) is None: continue
        p, np_ = page(sec), n // 8
        if name == 'block_rq_issue':
            issued[sec] = (t, win); inflight += 1
            maxq[inflight] = maxq.get(inflight, 0) + 1
        elif name == 'block_rq_complete' and sec in issued:
            ti, w = issued.pop(sec); inflight -= 1
            reqs.append((np_, (t - ti) * 1e6))
            if w: w['io'].append((t, 'done', p, p + np_, (t - ti) * 1e6))
        if win and name != 'block_rq_complete':
            win['io'].append((t, 'queue' if name == 'block_bio_queue' else 'issue', p, p + np_, 0))
for w in wins:
    print(f"{w['ev']:13} at fault {w['at']:5} index {w['idx']:5} t=0: added {w['added']} pages;",
          f"{len(w['rounds'])} reclaim rounds", end='')
    if w['rounds']:
        r0 = w['rounds'][0][0] - w['t']; r1 = (w['rounds'][-1][1] or w['rounds'][-1][0]) - w['t']
        print(f" from {r0*1e3:.2f} to {r1*1e3:.2f} ms", end='')
    print(f"; next faults {[(round((t - w['t'])*1e3, 2), o) for t, o in w['faults'][:6]]}")
    for t, k, a, b, lat in w['io']:
        extra = f" latency {lat:.0f} us" if k == 'done' else ''
        if k == 'queue': continue
        print(f"   {(t - w['t'])*1e3:8.3f} ms {k:5} [{a}, {b}) {b - a} pages{extra}")
if reqs:
    print('requests:', len(reqs), 'sizes (pages):', sorted(set(n for n, _ in reqs)))
    for lo, hi in ((1, 8), (9, 64), (65, 255), (256, 512), (513, 2048)):
        l = [lat for n, lat in reqs if lo <= n <= hi]
        if l: print(f"  {lo}-{hi} pages: {len(l)} requests, latency median {statistics.median(l):.0f} us, min {min(l):.0f}, max {max(l):.0f}")
