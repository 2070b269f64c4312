#!/usr/bin/env python3
"""folios.py RUN.trace...: per pass of file-write-memcg (the write pass until the first mm_filemap_fault, the read
pass from it), the page-cache folios added and deleted by order, the memcg reclaim rounds (memcg_reclaim_end's
nr_reclaimed: count, median, max), and shrink_inactive_list's file-LRU sums (scanned, reclaimed, dirty, writeback,
immediate, activated) and priorities; and the pages cached when the read pass starts."""
import re, sys, statistics
from collections import Counter

kv = re.compile(r'(\w+)=(\S+)')

def summary(path):
    passes = {'write': None, 'read': None}
    cur = 'write'
    st = {p: dict(add=Counter(), dele=Counter(), rounds=[], inact=Counter(), prio=Counter(), ra=Counter()) for p in passes}
    cached = {}
    cached_at_read = None
    # The program's own events (before it writes set_event_pid, other processes' events come in too).
    lines = [l for l in open(path) if l.lstrip().startswith('prog-')]
    # The program's file is the inode with the most page-cache insertions (ld.so's and libc's are cached before).
    inos = Counter(re.search(r'ino[= ](\w+)', l).group(1) for l in lines if 'mm_filemap_add_to_page_cache' in l)
    ino = inos.most_common(1)[0][0]
    for line in lines:
        m = re.search(r': (mm_\w+|page_cache_\w+): (.*)$', line)
        if not m:
            continue
        ev, rest = m.groups()
        f = dict(kv.findall(rest))
        mi = re.search(r'ino[= ](\w+)', rest)
        if mi and mi.group(1) != ino:
            continue
        if ev == 'mm_filemap_fault' and cur == 'write':
            cur = 'read'
            cached_at_read = sum(1 << o for o in cached.values())
        s = st[cur]
        if ev == 'mm_filemap_add_to_page_cache':
            o = int(f.get('order', 0)); s['add'][o] += 1; cached[int(f['ofs'])] = o
        elif ev == 'mm_filemap_delete_from_page_cache':
            o = int(f.get('order', 0)); s['dele'][o] += 1; cached.pop(int(f['ofs']), None)
        elif ev == 'mm_vmscan_memcg_reclaim_end':
            s['rounds'].append(int(f['nr_reclaimed']))
        elif ev == 'mm_vmscan_lru_shrink_inactive' and 'FILE' in f.get('flags', ''):
            for k in ('nr_scanned', 'nr_reclaimed', 'nr_dirty', 'nr_writeback', 'nr_immediate', 'nr_activate_file', 'nr_ref_keep'):
                s['inact'][k] += int(f[k])
            s['prio'][int(f['priority'])] += 1
        elif ev.startswith('page_cache_') and 'order' in f:
            s['ra'][(ev, int(f['order']))] += 1
    print(f'cached pages when the read pass starts: {cached_at_read}; at the end: {sum(1 << o for o in cached.values())}')
    for p, s in st.items():
        r = s['rounds']
        print(f"{p}: added {dict(sorted(s['add'].items()))} deleted {dict(sorted(s['dele'].items()))}")
        if r:
            print(f"  memcg reclaims {len(r)}, freed median {statistics.median(r)} max {max(r)} sum {sum(r)}")
        print(f"  shrink_inactive(file) {dict(s['inact'])} priorities {dict(sorted(s['prio'].items()))}")
        if s['ra']:
            print(f"  readahead orders {dict(sorted(s['ra'].items()))}")

for path in sys.argv[1:]:
    print('#', path); summary(path)
