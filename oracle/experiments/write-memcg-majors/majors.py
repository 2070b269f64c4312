#!/usr/bin/env python3
"""majors.py OUT/RUN [-v]: file-write-memcg's read pass in one run.sh run (RUN.ra, .blk, .perf.txt, .extents).
Lists every major fault of the pass (perf's major-faults sample: its address and the time mm_account_fault counted
it) with its file page, the time from the pass's first fault, how long the fault took (from its page_fault_user
exception), how many times it reached filemap_fault (mm_filemap_fault: two = a VM_FAULT_RETRY), and its page's state
when the exception came: absent from the page cache (never read, or added and since deleted by reclaim), or cached
and locked under read (added, its disk request not yet complete), or cached and read; with the readahead event the
fault made or waited for. Then the pass's readahead windows (-v: each with its time and reclaim rounds)."""
import bisect, re, sys
from collections import Counter, defaultdict

BASE = 0x100000000000
base = sys.argv[1]; verbose = '-v' in sys.argv
ext = open(base + '.extents').read()
extents = [tuple(int(x) for x in m) for m in re.findall(r'\d+:\s+(\d+)\.\.\s*\d+:\s+(\d+)\.\.\s*\d+:\s+(\d+):', ext)]
def page(sector):
    b = sector // 8
    for lo, ph, n in extents:
        if ph <= b < ph + n:
            return lo + b - ph
    return None
ev_re = re.compile(r'^\s*(\S+)-(\d+)\s+\[(\d+)\]\s+\S+\s+(\d+\.\d+): (\w+): (.*)$')
kv = re.compile(r'(\w+)=(\S+)')
lines = []
for line in open(base + '.ra'):
    m = ev_re.match(line)
    if m and m.group(1) == 'prog':
        lines.append((float(m.group(4)), m.group(5), m.group(6)))
inos = Counter(re.search(r'ino[= ](\w+)', r).group(1) for _, e, r in lines if e == 'mm_filemap_add_to_page_cache')
ino = inos.most_common(1)[0][0]
blk_re = re.compile(r'\d+,\d+ (\w+) (?:\d+ )?\(\) (\d+) \+ (\d+)')
for line in open(base + '.blk'):
    m = ev_re.match(line)
    if m and m.group(5) == 'block_rq_complete':
        b = blk_re.search(m.group(6))
        if b and b.group(1).startswith('R'):
            lines.append((float(m.group(4)), 'done', b.group(2) + ' ' + b.group(3)))
lines.sort(key=lambda x: x[0])
hist = defaultdict(list)      # page -> [(t, 'add'|'del'|'done', info)]
faults = defaultdict(list)    # page -> [t of page_fault_user]
ffaults = defaultdict(list)   # page -> [t of mm_filemap_fault]
ra = []                       # (t, event, index, size, async, order)
rounds = []                   # (t0, t1)
t0 = None
for t, ev, rest in lines:
    f = dict(kv.findall(rest))
    if ev == 'done':
        sec, n = map(int, rest.split())
        for s in range(sec, sec + n, 8):
            p = page(s)
            if p is not None: hist[p].append((t, 'done', None))
        continue
    mi = re.search(r'ino[= ](\w+)', rest)
    if mi and mi.group(1) != ino: continue
    if ev == 'page_fault_user':
        a = int(f['address'], 16)
        if BASE <= a < BASE + (32 << 20):
            if t0 is None: t0 = t
            faults[(a - BASE) >> 12].append(t)
    elif ev == 'mm_filemap_fault':
        ffaults[int(f['ofs']) >> 12].append(t)
    elif ev == 'mm_filemap_add_to_page_cache':
        p0, o = int(f['ofs']) >> 12, int(f.get('order', 0))
        for p in range(p0, p0 + (1 << o)): hist[p].append((t, 'add', len(ra) - 1))
    elif ev == 'mm_filemap_delete_from_page_cache':
        p0, o = int(f['ofs']) >> 12, int(f.get('order', 0))
        for p in range(p0, p0 + (1 << o)): hist[p].append((t, 'del', None))
    elif ev.startswith('page_cache_') and t0 is not None:
        ra.append((t, ev[11:], int(f.get('index', -1)), int(f.get('req_count', f.get('size', 0)) or 0),
                   int(f.get('async_size', 0)), int(f.get('order', 0)), rest))
    elif ev == 'mm_vmscan_memcg_reclaim_begin' and t0 is not None:
        rounds.append([t, None])
    elif ev == 'mm_vmscan_memcg_reclaim_end' and rounds:
        rounds[-1][1] = t
majors = []
for line in open(base + '.perf.txt'):
    m = re.search(r'(\d+\.\d+):\s+([0-9a-f]+)\s*$', line)
    if m: majors.append((float(m.group(1)), int(m.group(2), 16)))
if not majors:
    # No perf samples (NOPERF=1): a fault that reached filemap_fault on a page absent from the cache is major.
    for p, ts in sorted(ffaults.items()):
        for x in ts:
            if not any(k == 'add' and te <= x for te, k, _ in hist[p]) or \
                    [k for te, k, _ in hist[p] if te <= x and k in ('add', 'del')][-1:] == ['del']:
                majors.append((x + 1e-9, BASE + (p << 12)))
    majors.sort()
def state(p, t):
    st, win, added = 'absent (never cached)', None, None
    for te, k, info in hist[p]:
        if te > t: break
        if k == 'add': st, win, added = 'locked', info, te
        elif k == 'del': st = 'absent (deleted)'
        elif k == 'done' and st == 'locked': st = 'read'
    return st, win, added
print(f"read pass from t0; {len(ra)} readahead events, {len(rounds)} memcg reclaims; "
      f"{sum(len(v) for v in faults.values())} file-VMA exceptions; majors: {len(majors)}")
for tm, a in majors:
    if not BASE <= a < BASE + (32 << 20):
        print(f"  major outside the file VMA at {a:#x}, t={(tm - (t0 or tm)) * 1e3:.2f} ms"); continue
    p = (a - BASE) >> 12
    ts = [x for x in faults[p] if x <= tm]
    te = ts[-1] if ts else tm
    nff = sum(1 for x in ffaults[p] if te <= x <= tm)
    st, win, added = state(p, te)
    w = f"window {win} ({ra[win][1]} index {ra[win][2]}) added at {(added - t0) * 1e3:.2f} ms" if win is not None and win >= 0 else ''
    made = [i for i, r in enumerate(ra) if te <= r[0] <= tm]
    print(f"  page {p:5} t={(te - t0) * 1e3:7.2f} ms took {(tm - te) * 1e3:6.2f} ms, filemap_fault x{nff}, {st} {w}"
          + (f"; readahead made: {[(i, ra[i][1], ra[i][2]) for i in made]}" if made else ''))
if verbose:
    for i, (t, ev, idx, size, asz, order, rest) in enumerate(ra):
        nr = sum(1 for r in rounds if t <= r[0] < (ra[i + 1][0] if i + 1 < len(ra) else 1e18))
        print(f"  ra {i:3} t={(t - t0) * 1e3:7.2f} ms {ev:9} {rest.split('ino')[1][8:] if 'ino' in rest else rest}; rounds until next {nr}")
