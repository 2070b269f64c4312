#!/usr/bin/env python3
"""How scattered a file pass's page-cache frames are: the kernel's (a run.sh run with the per-page events, not
BIOS_LITE) or EcsMem's (`ECSMEM_ORACLE_EVENTS=DIR ... eval PROGRAM`, DIR/PROGRAM.jsonl, its file_read events).
Usage: scatter.py OUT/PROGRAM.RUN [-v]        (reads .ra, .blk, .json, .mem and OUT/PROGRAM.extents)
       scatter.py --ecsmem FILE.jsonl [-v]
A pass starts at the fault on the data file's page 0 (the kernel: mm_filemap_fault ofs=0; EcsMem: that fault's raise
time, its event time less its latency); the frames added before it ("pass 0") are the cold-cache set-up's. Per pass,
over its reads grouped into windows (the kernel: the pages added after each page_cache_* readahead event; EcsMem,
whose events name no window: the file_read events of contiguous indices, the faulting page, which EcsMem logs after
the rest of its window, included; so an async window that starts where the last ended joins it), in index order:
- physical runs: index i+1 read right after i into frame pfn+1 (a folio of 2^k pages counts as 2^k pages in a row),
  what bvec_try_merge_page puts in one bvec and the block layer in one segment; their lengths (pages) binned
  1, 2, 3-4, 5-8, 9-16, >16, as runs and as the pages in them; a window's runs are its bio vectors (bios of 256);
  the same for the order-0 pages alone (large folios are contiguous by construction): the kernel's by the tracepoint's
  order, and for both an inferred split (EcsMem's events carry no order: a page is in a large folio when its 4-aligned
  index group is read into 4 contiguous frames starting 4-aligned; an aligned order-0 run of 4 looks the same);
- index neighbours (i, i+1 read one after the other) whose frames are pfn+1 (forward), pfn-1 (reversed: the per-CPU
  list hands out LIFO what reclaim freed in index order) or neither;
- distinct 2 MiB blocks (pfn >> 9) a window spans (median over the pass's windows) and the pass's total;
- the CPU of each read (the trace's [cpu]; EcsMem's event cpu) and how often it changes;
- recycling: the share of the pass's frames that held a page of the pass before, and of those frames freed earlier in
  the run (the kernel: mm_filemap_delete_from_page_cache; EcsMem: the unmap events of the file's pages, as reclaim
  unmaps them just before freeing) the share of index neighbours whose frames were freed one after the other in
  reverse order (LIFO) or in order (FIFO).
The kernel only: the file's read bios (block_bio_queue: their vectors, counted from the frames) and requests
(block_rq_complete: segments, the physical runs the request spans), and the run's majflt per phase (.json) and
/proc/buddyinfo and the Normal zone's per-CPU pagesets before and after the run (.mem).
Each pass ends with a one-line `summary` (reads, runs per page, pages% per bin, the inferred order-0 pages' bins and
pfn+1/pfn-1 shares, the first window's pages and runs, 2 MiB blocks per window)."""
import bisect, json, re, statistics, sys
import traceio

BINS = ((1, 1, '1'), (2, 2, '2'), (3, 4, '3-4'), (5, 8, '5-8'), (9, 16, '9-16'), (17, 1 << 40, '>16'))


def binned(lengths):
    runs = [0] * len(BINS); pages = [0] * len(BINS)
    for n in lengths:
        for k, (lo, hi, _) in enumerate(BINS):
            if lo <= n <= hi:
                runs[k] += 1; pages[k] += n
    return runs, pages


class Pass:
    def __init__(self, n):
        self.n = n; self.wins = []; self.reads = 0

    def window(self, label):
        w = {'label': label, 'pages': []}  # pages: (index, pfn, cpu, free_seq or None) one per page, read order
        self.wins.append(w)
        return w


def runs_of(pages):
    """Physical runs (lengths in pages) and neighbour classes of a window's pages in index order (read_pages' order)."""
    lens = []; fwd = rev = other = 0; cur = 0; prev = None
    for idx, pfn, _, _, _ in sorted(pages):
        if prev is not None and idx == prev[0] + 1:
            if pfn == prev[1] + 1:
                fwd += 1; cur += 1; prev = (idx, pfn); continue
            if pfn == prev[1] - 1: rev += 1
            else: other += 1
        if cur: lens.append(cur)
        cur = 1; prev = (idx, pfn)
    if cur: lens.append(cur)
    return lens, fwd, rev, other


def segments(idx2pfn, a, b):
    """Physical runs of the file pages [a, b) by their current frames (a page not known counts as its own run)."""
    n = 0; prev = None
    for i in range(a, b):
        p = idx2pfn.get(i)
        if prev is None or p is None or p != prev + 1: n += 1
        prev = p
    return n


def infer_orders(pages):
    """EcsMem's events carry no folio order: a page counts as in a large folio when its index-aligned group of 4
    is read in the window into 4 contiguous frames starting 4-aligned (an order-0 run of fresh frames can look so too;
    checked on the kernel's traces, whose orders are known)."""
    at = {idx: pfn for idx, pfn, _, _, _ in pages}
    out = []
    for idx, pfn, cpu, fs, _ in pages:
        g = idx & ~3; base = at.get(g)
        large = base is not None and base % 4 == 0 and all(at.get(g + j) == base + j for j in range(4))
        out.append((idx, pfn, cpu, fs, 2 if large else 0))
    return out


def pct(a, b):
    return f"{100 * a / b:.0f}%" if b else '-'


def report(passes, verbose, freed_before, setup_freed=None):
    pfns_of = {}
    for p in passes:
        pfns_of[p.n] = {pfn for w in p.wins for _, pfn, _, _, _ in w['pages']}
    for p in passes:
        pages = [pg for w in p.wins for pg in w['pages']]
        if not pages: continue
        lens = []; fwd = rev = other = 0; blocks = []
        for w in p.wins:
            w['pages'].sort()
            l, f, r, o = runs_of(w['pages'])
            lens += l; fwd += f; rev += r; other += o
            blocks.append(len({pfn >> 9 for _, pfn, _, _, _ in w['pages']}))
            if verbose:
                rb, pb = binned(l)
                cpus = sorted({c for _, _, c, _, _ in w['pages']})
                print(f"    {w['label']:34} {len(w['pages']):5} pages {len(l):5} runs (bios of 256: "
                      f"{-(-len(l) // 256)}) runs {'/'.join(map(str, rb))} rev {r}/{f + r + o} "
                      f"blocks {blocks[-1]} cpu {cpus}")
        rb, pb = binned(lens)
        total = sum(pb)
        small = [runs_of([pg for pg in w['pages'] if pg[4] == 0]) for w in p.wins]
        inferred = [runs_of([pg for pg in infer_orders(w['pages']) if pg[4] == 0]) for w in p.wins]
        cpus = {}
        for _, _, c, _, _ in pages: cpus[c] = cpus.get(c, 0) + 1
        switches = sum(1 for a, b in zip(pages, pages[1:]) if a[2] != b[2])
        print(f"  pass {p.n}: {len(pages)} pages read in {len(p.wins)} windows, {len(lens)} physical runs "
              f"(mean {total / len(lens):.2f} pages), {len({pfn for _, pfn, _, _, _ in pages})} distinct frames")
        print("    run length  " + ' '.join(f"{lab:>11}" for _, _, lab in BINS))
        print("    runs        " + ' '.join(f"{n:11}" for n in rb))
        print("    pages       " + ' '.join(f"{n:6} {pct(n, total):>4}" for n in pb))
        for what, sm in (('order-0 pages', small if any(pg[4] is not None for pg in pages) else None),
                         ('order-0 pages as inferred', inferred)):
            if sm is None: continue
            rb0, pb0 = binned([n for l, _, _, _ in sm for n in l]); t0 = sum(pb0)
            f0, r0 = sum(x[1] for x in sm), sum(x[2] for x in sm); n0 = f0 + r0 + sum(x[3] for x in sm)
            print(f"    {what} {t0} ({pct(t0, total)}; the rest in large folios), their runs:")
            print("    runs        " + ' '.join(f"{n:11}" for n in rb0))
            print("    pages       " + ' '.join(f"{n:6} {pct(n, t0):>4}" for n in pb0))
            print(f"    their index neighbours {n0}: pfn+1 {f0} ({pct(f0, n0)}), pfn-1 {r0} ({pct(r0, n0)})")
        pairs = fwd + rev + other
        print(f"    index neighbours {pairs}: pfn+1 {fwd} ({pct(fwd, pairs)}), pfn-1 {rev} ({pct(rev, pairs)}), "
              f"other {other} ({pct(other, pairs)})")
        print(f"    2 MiB blocks: per window median {statistics.median(blocks):.0f} (min {min(blocks)}, max "
              f"{max(blocks)}), pass {len({pfn >> 9 for _, pfn, _, _, _ in pages})}")
        print(f"    cpu: {', '.join(f'{c}: {n}' for c, n in sorted(cpus.items()))} pages; {switches} switches")
        line = "    recycled:"
        if p.n - 1 in pfns_of:
            held = sum(1 for _, pfn, _, _, _ in pages if pfn in pfns_of[p.n - 1])
            line += f" {held} of {len(pages)} reads ({pct(held, len(pages))}) into a frame pass {p.n - 1} read into;"
        if setup_freed:
            n0 = sum(1 for _, pfn, _, _, _ in pages if pfn in setup_freed)
            w0 = p.wins[0]['pages']; n1 = sum(1 for _, pfn, _, _, _ in w0 if pfn in setup_freed)
            line += (f" {n0} ({pct(n0, len(pages))}) into a frame of the {len(setup_freed)} the set-up freed (first"
                     f" window: {n1} of {len(w0)});")
        fr = [pg[3] for pg in pages]
        known = sum(1 for s in fr if s is not None)
        line += f" {known} ({pct(known, len(pages))}) into a frame {freed_before}"
        lifo = fifo = both = 0
        for w in p.wins:
            ws = sorted(w['pages'])
            for a, b in zip(ws, ws[1:]):
                if a[0] + 1 != b[0] or a[3] is None or b[3] is None: continue
                both += 1
                if b[3] == a[3] - 1: lifo += 1
                elif b[3] == a[3] + 1: fifo += 1
        line += f"; index neighbours both so {both}: freed in reverse order {lifo} ({pct(lifo, both)}), in order {fifo} ({pct(fifo, both)})"
        print(line)
        ri = [n for l, _, _, _ in inferred for n in l]; _, pbi = binned(ri); ti = sum(pbi)
        fi, rvi = sum(x[1] for x in inferred), sum(x[2] for x in inferred); ni = fi + rvi + sum(x[3] for x in inferred)
        w0 = p.wins[0]['pages']; l0 = runs_of(w0)[0]
        print(f"  summary pass {p.n}: read {len(pages)} runs {len(lens)} ({len(lens) / len(pages):.2f}/page) pages% "
              + '/'.join(f"{100 * n / total:.0f}" for n in pb) + f" | order-0 (inferred) {ti} pages% "
              + '/'.join(f"{100 * n / ti:.0f}" for n in pbi) + f" fwd {pct(fi, ni)} rev {pct(rvi, ni)}"
              + f" | first window {len(w0)} pages {len(l0)} runs | blocks/window {statistics.median(blocks):.0f}")


def kernel(base, verbose):
    page = traceio.file_pages(base)
    evs = traceio.events(base, lambda m: (float(m.group(4)), int(m.group(3)), m.group(5), m.group(6)))
    blk_re = re.compile(r'254,0 (\w+) (?:\d+ )?(?:\(\) )?(\d+) \+ (\d+)')
    pfn_re = re.compile(r'pfn=0x([0-9a-f]+) ofs=(\d+) order=(\d+)')
    passes = [Pass(0)]; win = passes[0].window('set-up'); freed = {}; nfreed = 0; idx2pfn = {}
    bios = {}; reqs = {}; setup_freed = set()
    for t, cpu, name, rest in evs:
        if name == 'mm_filemap_fault':
            if int(re.search(r'ofs=(\d+)', rest).group(1)) == 0:
                passes.append(Pass(len(passes))); win = passes[-1].window('before a readahead event')
                bios[passes[-1].n] = []; reqs[passes[-1].n] = []
            continue
        if name.startswith('page_cache_'):
            idx = re.search(r'index=(\d+)', rest)
            win = passes[-1].window(f"{name[11:]} index {idx.group(1) if idx else '?'}")
        elif name == 'mm_filemap_add_to_page_cache':
            m = pfn_re.search(rest)
            pfn, idx, order = int(m.group(1), 16), int(m.group(2)) >> 12, int(m.group(3))
            for k in range(1 << order):
                win['pages'].append((idx + k, pfn + k, cpu, freed.get(pfn + k), order))
                idx2pfn[idx + k] = pfn + k
        elif name == 'mm_filemap_delete_from_page_cache':
            m = pfn_re.search(rest)
            pfn, idx, order = int(m.group(1), 16), int(m.group(2)) >> 12, int(m.group(3))
            for k in range(1 << order):
                nfreed += 1; freed[pfn + k] = nfreed
                if passes[-1].n == 0: setup_freed.add(pfn + k)
                idx2pfn.pop(idx + k, None)
        elif name in ('block_bio_queue', 'block_rq_complete') and passes[-1].n > 0:
            m = blk_re.search(rest)
            if not m or not m.group(1).startswith('R'): continue
            p = page(int(m.group(2)))
            if p is None: continue
            n = int(m.group(3)) // 8
            (bios if name == 'block_bio_queue' else reqs)[passes[-1].n].append((n, segments(idx2pfn, p, p + n)))
    for p in passes:
        p.wins = [w for w in p.wins if w['pages']]
    run = json.load(open(base + '.json'))
    print(f"{base}: majflt " + ', '.join(f"{ph['phase']} {ph['majflt']}" for ph in run['phases']))
    try:
        for line in open(base + '.mem'):
            if line.startswith('#') or line.startswith(('buddy Normal', 'pcp')): print('  ' + line.rstrip())
    except FileNotFoundError:
        pass
    report(passes, verbose, 'deleted from the page cache earlier in the run', setup_freed)
    for n in sorted(bios):
        for what, l in (('bios', bios[n]), ('requests', reqs[n])):
            if not l: continue
            segs = sorted(s for _, s in l)
            print(f"  pass {n} {what}: {len(l)}, pages median {statistics.median(x for x, _ in l):.0f}, "
                  f"{'vectors' if what == 'bios' else 'segments'} median {statistics.median(segs):.0f} "
                  f"(max {segs[-1]}; {sum(1 for s in segs if s >= (256 if what == 'bios' else 254))} at "
                  f"{'256' if what == 'bios' else '254'}), pages per {'vector' if what == 'bios' else 'segment'} "
                  f"{sum(x for x, _ in l) / sum(segs):.2f}")


def ecsmem(path, verbose, suffix='/data'):
    events = [json.loads(l) for l in open(path)]
    bounds = sorted(e['time'] - e.get('latency', 0) for e in events if e['kind'] == 'fault'
                    and e.get('vma', '').endswith(suffix) and int(e['address'], 16) == int(e['vma_start'], 16))
    passes = [Pass(n) for n in range(len(bounds) + 1)]
    freed = {}; nfreed = 0; last = None; win = None; data_vma = None
    for e in events:
        if e['kind'] == 'fault' and e.get('vma', '').endswith(suffix):
            data_vma = (int(e['vma_start'], 16), int(e['vma_end'], 16))
        if e['kind'] == 'unmap' and data_vma and data_vma[0] <= int(e['address'], 16) < data_vma[1] \
                and e.get('pfn') is not None:
            nfreed += 1; freed[e['pfn']] = nfreed
        if e['kind'] != 'file_read' or not e.get('file', '').endswith(suffix):
            continue
        p = passes[bisect.bisect_right(bounds, e['time'])]
        # A window's faulting page comes after the rest of it (EcsMem logs it last, at the same time).
        if last is None or win not in p.wins or not (win['hi'] + 1 == e['index'] or (
                last[0] == e['time'] and e['index'] == win['lo'] - 1)):
            win = p.window(f"read index {e['index']} t={e['time']}")
            win['lo'] = win['hi'] = e['index']
        win['lo'] = min(win['lo'], e['index']); win['hi'] = max(win['hi'], e['index'])
        win['pages'].append((e['index'], e['pfn'], e.get('cpu', 0), freed.get(e['pfn']), None))
        last = (e['time'], e['index'])
    print(f"{path}: EcsMem")
    report(passes, verbose, 'unmapped from the file earlier in the run')


if __name__ == '__main__':
    traceio.main('scatter.py', kernel, ecsmem)
