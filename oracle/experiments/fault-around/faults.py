#!/usr/bin/env python3
"""Reads one run.sh trace and lists, per pass over the data mapping (a pass starts at the fault on its page 0), every
user page fault in it (exceptions:page_fault_user): its file index, whether it reached filemap_fault
(mm_filemap_fault: fault-around had not mapped the page; two for one exception = a VM_FAULT_RETRY), and whether the
page was then absent from the page cache (a major fault). fault_around_bytes (64 KiB) maps at most the 16-page block
around a fault, so a pass takes at least one fault per block; each further fault in a block is an "extra", printed
with the state its page had at the block's previous fault: absent from the cache, present (added, not yet deleted),
under a PG_readahead mark (an ra_order / ra_unbounded window's index + size - async_size, until an async window
starts there or the page is deleted), added by a window whose later pages are still being added (its readahead loop
still running: the batch is locked), or deleted since (reclaimed after it was mapped).
Usage: faults.py RUN.trace [RUN.json] [-v]"""
import json, re, sys
from collections import Counter

# The data mapping: ra-reread-memcg's by default; FA_BASE / FA_PAGES name another program's (swappiness-N: 0x120000000000, 4096).
import os
BASE, NPAGES, BLOCK = int(os.environ.get('FA_BASE', '0x100000000000'), 16), int(os.environ.get('FA_PAGES', '16384')), 16
ev_re = re.compile(r'\s(\d+\.\d+): (\w+): (.*)$')
args = [a for a in sys.argv[1:] if a != '-v']
verbose = '-v' in sys.argv
cache = {}       # index -> order of its folio (head) / present
head_of = {}     # index -> (head index, nr)
marks = set()    # marked head indices
seg = 0          # readahead event counter: a window's loop runs until the next readahead event / fault
added_seg = {}   # index -> seg that added it
seg_last_add = {}  # seg -> time of its last insertion
passes, cur = [], None
last_exc = None
other = 0
for line in open(args[0]):
    m = ev_re.search(line)
    if not m:
        continue
    t, name, rest = float(m.group(1)), m.group(2), m.group(3)
    if name == 'page_fault_user':
        a = int(re.search(r'address=(0x[0-9a-f]+)', rest).group(1), 16)
        if not BASE <= a < BASE + NPAGES * 4096:
            other += 1
            if cur is not None:
                cur['other'] += 1
            continue
        idx = (a - BASE) >> 12
        if idx == 0:
            cur = {'faults': [], 'blocks': {}, 'other': 0}
            passes.append(cur)
        if cur is None:
            continue
        snap = {}
        blk = idx // BLOCK
        # the state of every page of the block at this fault
        for i in range(blk * BLOCK, blk * BLOCK + BLOCK):
            h = head_of.get(i)
            st = 'absent' if h is None else ('marked' if h[0] in marks else 'present')
            snap[i] = (st, added_seg.get(i), seg)
        f = {'t': t, 'idx': idx, 'ff': 0, 'major': False, 'snap': snap}
        prev = cur['blocks'].get(blk)
        f['prev'] = prev
        cur['blocks'][blk] = f
        cur['faults'].append(f)
        last_exc = f
        continue
    if name == 'mm_filemap_fault':
        idx = int(re.search(r'ofs=(\d+)', rest).group(1)) >> 12
        if last_exc is not None and last_exc['idx'] == idx:
            last_exc['ff'] += 1
            if idx not in head_of:
                last_exc['major'] = True
        continue
    if name in ('page_cache_sync_ra', 'page_cache_async_ra', 'page_cache_ra_order', 'page_cache_ra_unbounded'):
        seg += 1
        marks = {m for m in marks if not isinstance(m, tuple)}  # a window's mark not placed is gone with it
        d = dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', rest))
        if name == 'page_cache_ra_order':
            marks.add(('pending', d['index'] + d['size'] - d['async_size']))
        elif name == 'page_cache_ra_unbounded':
            marks.add(('pending', d['index'] + d['nr_to_read'] - d['lookahead_size']))
        elif name == 'page_cache_async_ra':
            h = head_of.get(d['index'])
            marks.discard(h[0] if h else d['index'])
        continue
    if name in ('mm_filemap_add_to_page_cache', 'mm_filemap_delete_from_page_cache'):
        ofs = int(re.search(r'ofs=(\d+)', rest).group(1)) >> 12
        om = re.search(r'order=(\d+)', rest)
        nr = 1 << (int(om.group(1)) if om else 0)
        if name.endswith('add_to_page_cache'):
            for i in range(ofs, ofs + nr):
                head_of[i] = (ofs, nr)
                added_seg[i] = seg
            seg_last_add[seg] = t
            # a pending mark lands on the folio holding its index when that folio is added
            for i in range(ofs, ofs + nr):
                if ('pending', i) in marks:
                    marks.discard(('pending', i))
                    marks.add(ofs)
        else:
            marks.discard(ofs)
            for i in range(ofs, ofs + nr):
                head_of.pop(i, None)
                added_seg.pop(i, None)

if len(args) > 1:
    try:
        out = json.load(open(args[1]))
        print('  harness (minflt/majflt): ' + ', '.join(f"{p['phase']} {p['minflt']}/{p['majflt']}" for p in out['phases']))
    except Exception as e:
        print(f'  harness output unreadable: {e}')
for n, p in enumerate(passes, 1):
    fs = p['faults']
    major = sum(1 for f in fs if f['major'])
    retried = sum(1 for f in fs if f['ff'] > 1)
    filemap = sum(1 for f in fs if f['ff'])
    blocks = len({f['idx'] // BLOCK for f in fs})
    extras = [f for f in fs if f['prev'] is not None]
    why = Counter()
    rows = []
    for f in extras:
        st, aseg, nowseg = f['prev']['snap'][f['idx']]
        # present but added in the readahead segment that was running at the previous fault: its loop was still going
        if st in ('present', 'marked') and seg_last_add.get(aseg, 0) > f['prev']['t']:
            st += ',in-loop'
        now = f['snap'][f['idx']][0]
        if st != 'absent' and now == 'absent':
            st += '>deleted'
        why[st] += 1
        rows.append(f"    {f['idx']:6} (+{f['idx'] % BLOCK:2}) prev fault {f['prev']['idx']} {'MAJOR' if f['major'] else 'minor'}"
                    f"{' retried' if f['ff'] > 1 else ''} page at the previous fault: {st}; {f['t'] - f['prev']['t']:.6f} s later")
    print(f"  pass {n}: faults {len(fs)} on {blocks} blocks (+{len(extras)} extra), reached filemap_fault {filemap}, "
          f"major {major}, retried {retried}; other faults in the pass {p['other']}; extras by the page's state: {dict(why)}")
    if verbose:
        print('\n'.join(rows))
