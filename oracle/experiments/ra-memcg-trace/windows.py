#!/usr/bin/env python3
"""Summarises one run.sh trace: per file pass (a pass starts at the first fault on file page 0), the readahead
windows in order — the event (sync = page_cache_sync_ra, async = page_cache_async_ra, order = page_cache_ra_order,
unb = page_cache_ra_unbounded), its index, size, async_size, order and mmap_miss — with the pages the window really
added to the page cache (mm_filemap_add_to_page_cache until the next window) and the memcg reclaim rounds that ran
meanwhile; then the pass's totals: faults (mm_filemap_fault), pages added, pages deleted and, of those, how many lay
ahead of the last fault (read ahead and evicted before the pass reached them).
Usage: windows.py RUN.trace [RUN.json]   (RUN.json: the harness's output; its per-phase faults are printed too)"""
import json, re, sys

ev_re = re.compile(r'\s(\d+\.\d+): (\w+): (.*)$')
kv_re = re.compile(r'(\w+)[=\s]((?:0x)?[0-9a-f]+)')

def fields(s):
    d = {}
    for k, v in kv_re.findall(s):
        d[k] = int(v, 16) if v.startswith('0x') else int(v) if v.isdigit() else v
    return d

passes = []
cur = None
last_fault = -1
win = None
for line in open(sys.argv[1]):
    m = ev_re.search(line)
    if not m:
        continue
    t, name, rest = float(m.group(1)), m.group(2), m.group(3)
    f = fields(rest)
    if name == 'mm_filemap_fault':
        idx = f['ofs'] >> 12
        if idx == 0 or cur is None:
            cur = {'windows': [], 'faults': 0, 'added': 0, 'deleted': 0, 'deleted_ahead': 0, 'reclaims': 0,
                   'reclaimed': 0, 'faultlist': []}
            passes.append(cur)
            win = None
        cur['faults'] += 1
        cur['faultlist'].append(idx)
        last_fault = idx
        continue
    if cur is None:
        continue
    if name in ('page_cache_sync_ra', 'page_cache_async_ra', 'page_cache_ra_order', 'page_cache_ra_unbounded'):
        short = {'page_cache_sync_ra': 'sync', 'page_cache_async_ra': 'async', 'page_cache_ra_order': 'order',
                 'page_cache_ra_unbounded': 'unb'}[name]
        win = {'ev': short, 'f': f, 'added': 0, 'reclaims': 0, 'reclaimed': 0, 'at_fault': last_fault}
        cur['windows'].append(win)
    elif name == 'mm_filemap_add_to_page_cache':
        n = 1 << f.get('order', 0)  # one event per folio
        cur['added'] += n
        if win is not None:
            win['added'] += n
    elif name == 'mm_filemap_delete_from_page_cache':
        n = 1 << f.get('order', 0)
        cur['deleted'] += n
        if (f['ofs'] >> 12) > last_fault:
            cur['deleted_ahead'] += n
    elif name == 'mm_vmscan_memcg_reclaim_begin':
        cur['reclaims'] += 1
        if win is not None:
            win['reclaims'] += 1
    elif name == 'mm_vmscan_memcg_reclaim_end':
        cur['reclaimed'] += f.get('nr_reclaimed', 0)
        if win is not None:
            win['reclaimed'] += f.get('nr_reclaimed', 0)

if len(sys.argv) > 2:
    try:
        out = json.load(open(sys.argv[2]))
        prev = 0
        parts = []
        for p in out['phases']:
            pgpgin = p.get('memstat', {}).get('pgpgin', 0)
            parts.append(f"{p['phase']} {p['minflt']}/{p['majflt']} pgpgin +{pgpgin - prev}")
            prev = pgpgin
        print('  harness (minflt/majflt, memory.stat pgpgin): ' + ', '.join(parts))
    except Exception as e:  # a killed run leaves half a JSON
        print(f'  harness output unreadable: {e}')
for n, p in enumerate(passes, 1):
    print(f"  pass {n}: faults {p['faults']}, pages added {p['added']}, deleted {p['deleted']} "
          f"(ahead of the last fault {p['deleted_ahead']}), memcg reclaims {p['reclaims']} reclaiming {p['reclaimed']}")
    for w in p['windows']:
        f = w['f']
        if w['ev'] == 'unb':
            desc = f"index={f['index']} nr_to_read={f['nr_to_read']} lookahead={f['lookahead_size']}"
        else:
            desc = f"index={f['index']} size={f['size']} async={f['async_size']} order={f['order']}"
            if 'mmap_miss' in f:
                desc += f" mmap_miss={f['mmap_miss']} req={f['req_count']}"
        print(f"    {w['ev']:5} at fault {w['at_fault']:5}: {desc}  added {w['added']}, reclaims {w['reclaims']} ({w['reclaimed']})")
