#!/usr/bin/env python3
"""Where the data file's order-2 page-cache folios come from (session 28, sw60rounds).
   reuse.py TRACE...            kernel: ra-memcg-trace/run.sh traces (mm_filemap_add/delete_from_page_cache)
   reuse.py --ecsmem STDERR     EcsMem: ECSMEM_ORACLE_THRASH=1 stderr ('add T INDEX PFN START SIZE ASYNC ORDER',
                                'del T INDEX PFN'; a large folio's pages are added one by one, its head first)
Per file pass (a pass starts at the add of index 0): order-2 folios added, the share whose frame is physically next
to the previous order-2 folio's (pfn + 4: the pair can share a bvec), the share whose frame was a data-file folio
deleted earlier in the run (reclaim's frees reused), and of those how many deletions back it was freed (1 = the frame
deleted last: LIFO reuse)."""
import collections, re, sys

def kernel(path):
    ev = []
    for line in open(path):
        m = re.search(r'mm_filemap_(add_to|delete_from)_page_cache: .* pfn=0x([0-9a-f]+) ofs=(\d+) order=(\d+)', line)
        if m:
            ev.append(('add' if m.group(1) == 'add_to' else 'del', int(m.group(2), 16), int(m.group(3)) // 4096, int(m.group(4))))
    return ev

def ecsmem(path):
    ev, pend = [], {}
    for line in open(path):
        p = line.split()
        if not p:
            continue
        if p[0] == 'add':
            idx, pfn, order = int(p[2]), int(p[3]), int(p[7])
            if order == 0 or idx % (1 << order) == 0:
                ev.append(('add', pfn, idx, order))
        elif p[0] == 'del':
            idx, pfn = int(p[2]), int(p[3])
            ev.append(('del', pfn, idx, 0))
    return ev

def report(name, ev):
    passes, cur = [], None
    dels = []           # deleted pfns in order
    lastdel = {}        # pfn -> position in dels
    for kind, pfn, idx, order in ev:
        if kind == 'del':
            lastdel[pfn] = len(dels)
            dels.append(pfn)
            continue
        if idx == 0:
            cur = {'n': 0, 'next': 0, 'reused': 0, 'back': collections.Counter(), 'prev': None}
            passes.append(cur)
        if cur is None or order != 2:
            continue
        cur['n'] += 1
        if cur['prev'] is not None and pfn == cur['prev'] + 4:
            cur['next'] += 1
        cur['prev'] = pfn
        if pfn in lastdel:
            cur['reused'] += 1
            back = len(dels) - lastdel[pfn]
            cur['back']['1' if back == 1 else '2-4' if back <= 4 else '5-32' if back <= 32 else '>32'] += 1
    for i, p in enumerate(passes):
        if p['n']:
            print('%s pass %d: order-2 folios %d, next-to-previous %d (%.0f%%), frame a deleted data-file folio %d, freed back %s' % (
                name, i + 1, p['n'], p['next'], 100.0 * p['next'] / p['n'], p['reused'],
                ' '.join('%s:%d' % (k, p['back'][k]) for k in ('1', '2-4', '5-32', '>32'))))

args = sys.argv[1:]
if args[0] == '--ecsmem':
    report('ecsmem', ecsmem(args[1]))
else:
    for t in args:
        report(t, kernel(t))
