#!/usr/bin/env python3
"""Which readahead pages reclaim takes before the reader reaches them: the kernel's (a run.sh run with the per-page
events, not BIOS_LITE) or EcsMem's (`ECSMEM_ORACLE_THRASH=1 dotnet run -c Release --no-build --project
oracle/Ecs.Mem.Oracle -- eval PROGRAM 2> F.txt`).
Usage: thrash.py OUT/PROGRAM.RUN [-v]        (reads .ra and .json)
       thrash.py --ecsmem F.txt [-v]
The reader: the program's faults on the data file's mapping (the kernel: page_fault_user of the program's pid inside
the mapping, whose base is the address of the fault just before the first mm_filemap_fault; EcsMem: its fault
lines), at their raise time; a pass starts at a fault on page 0. Its position P(t) is the page of its latest fault;
a fault on page f maps f's fault-around block (16 pages, 16-aligned: fault_around_bytes 64 KiB), so page i counts as
reached when P >= i & ~15.
Windows: the kernel's page_cache_ra_order events (a read-around when the event before it was the fault, an async
window after page_cache_async_ra) with their page_cache_ra_unbounded fallback (the same window when it ends where the
window ends; else a window of its own); EcsMem's from the file_ra_state (start, size, async_size) its add lines carry.
A window's async part is its last async_size pages (from the PG_readahead mark). An insertion belongs to the latest
window holding its index. Each insertion (mm_filemap_add_to_page_cache / EcsMem add) lives until its deletion
(mm_filemap_delete_from_page_cache / EcsMem del, checked at each reclaim's end) and is, against the reader of the pass
it was added in:
  behind  - added behind the reader's block (the read-around's first half re-reading what the reader passed),
  reader  - in the reader's block, at or below its page (the faulting page),
  used    - ahead, and reached by the reader before its deletion (or never deleted),
  thrash  - ahead, and deleted before the reader reached it (read again if the reader still wants it).
For the thrash pages: how far ahead of the reader they were at the deletion (pages, and the time they lived), where
in their window (quarters of the window; the async part or not). For each major fault of a pass: whether its page
had been added in the pass and deleted unreached (a refault of a readahead page the reader never used: of an async
window, or of a read-around's tail), was cached when the pass started and deleted before the reader came (a page the
pass before left), or neither (never added in the pass: the last window stopped short of it); the gaps between the
pass's majors. For each async window a read-around's mark starts ("A"): whether its loop deleted the read-around's
unread tail, and at its loop's first reclaim the pages of older windows still locked for their read (reclaim puts a
locked folio back): the kernel's until the first block_rq_complete holding the page (.blk, .extents), EcsMem's
PG_locked at each reclaim (its `cached` lines). For each async window B that an async window A's own mark starts (the
reader at A's first folio, waiting for it): how many of A's pages B's loop deleted unread, and A's pages still locked
at B's loop's first and last reclaim. The pass's folios added by order (cgroup v1's pgpgin counts one a folio; EcsMem's
`add` lines carry the order since session 24) and, for large folios next to each other in the file, whether the next
one's frame is the physical successor (bvec_try_merge_page then puts both in one bvec, so one bio holds more than
BIO_MAX_VECS folios). Each pass ends with a one-line `summary`.
-v: one line per window, one per major."""
import bisect, collections, json, re, statistics, sys
import traceio

BLOCK = 16


class Window:
    def __init__(self, n, kind, start, size, asz, t, reader):
        self.n, self.kind, self.start, self.size, self.asz, self.t, self.reader = n, kind, start, size, asz, t, reader
        self.adds = []  # Add instances

    @property
    def mark(self):
        return self.start + self.size - self.asz

    def holds(self, i):
        return self.start <= i < self.start + self.size


class Add:
    __slots__ = ('i', 't', 'pas', 'win', 'p_at', 'td', 'p_del', 'cls', 'del_pass')

    def __init__(self, i, t, pas, win, p_at):
        self.i, self.t, self.pas, self.win, self.p_at = i, t, pas, win, p_at
        self.td = self.p_del = self.cls = None


class Run:
    """The events of one run in time order, fed by the kernel's or EcsMem's parser."""

    def __init__(self):
        self.pas = 0; self.pos = -1; self.wins = []; self.adds = []; self.live = {}; self.implicit = 0
        self.locked = []  # (t, set of the file's pages locked for their read) at each reclaim
        self.faults = []  # (t, pass, index, major)
        self.at_start = {}  # pass -> {index: Add} cached when the pass started
        self.folios = collections.defaultdict(collections.Counter)  # pass -> {order: folios added} (cgroup v1 pgpgin)
        self.heads = collections.defaultdict(list)  # pass -> [(index, pfn, order, when its frame was last freed)]
        self.freed = {}  # pfn -> time of the latest deletion of a page cache folio (or page) in that frame

    def fault(self, t, i, major):
        if i == 0:
            self.pas += 1
            self.at_start[self.pas] = dict(self.live)
        self.pos = i
        self.faults.append((t, self.pas, i, major))

    def window(self, kind, start, size, asz, t):
        w = Window(len(self.wins), kind, start, size, asz, t, self.pos)
        w.pas = self.pas
        self.wins.append(w)
        return w

    def add(self, t, i, win=None):
        if win is None or not win.holds(i):
            win = next((w for w in reversed(self.wins) if w.holds(i)), win)
        if i in self.live:
            # Deleted unseen (EcsMem checks at reclaims' ends and faults): gone by this insertion at the latest.
            self.implicit += 1
            self.delete(t, i)
        a = Add(i, t, self.pas, win, self.pos)
        if win is not None:
            win.adds.append(a)
        self.adds.append(a)
        self.live[i] = a

    def delete(self, t, i):
        a = self.live.pop(i, None)
        if a is not None:
            a.td, a.p_del = t, (self.pos if self.pas == a.pas else None)
            a.del_pass = self.pas

    def reach(self, p, i):
        """When the pass-p reader reached page i: at its fault on i, else at its last fault in i's block before it
        (whose fault-around mapped i), else at the first fault past i (the block needed no fault); None: never."""
        fs = self.byp[p]
        k = bisect.bisect_left(fs, (i,))
        if k == len(fs):
            return None
        if fs[k][0] == i:
            return fs[k][1]
        if k > 0 and fs[k - 1][0] >= i // BLOCK * BLOCK:
            return fs[k - 1][1]
        return fs[k][1]

    def classify(self):
        # Per pass, the reader's faults by index (its first fault on each page; the reader is sequential).
        self.byp = collections.defaultdict(list)
        seen = set()
        for t, p, i, _ in self.faults:
            if (p, i) not in seen:
                seen.add((p, i)); self.byp[p].append((i, t))
        for p in self.byp:
            self.byp[p].sort()
        for a in self.adds:
            if a.pas == 0:
                a.cls = 'set-up'; continue
            b = a.i // BLOCK; pb = a.p_at // BLOCK if a.p_at >= 0 else -1
            if b < pb: a.cls = 'behind'
            elif b == pb and a.i <= a.p_at: a.cls = 'reader'
            else:
                tr = self.reach(a.pas, a.i)
                a.cls = 'used' if a.td is None or (tr is not None and tr < a.td) else 'thrash'


def q(lo, hi, x):
    return min(3, max(0, 4 * (x - lo) // max(1, hi - lo)))


def med(xs):
    return f"{statistics.median(xs):.0f}" if xs else '-'


def report(run, verbose, majflt=None, unit='ms', scale=1e3):
    if not run.adds or not run.faults:
        raise ValueError("no page-cache insertions or faults of the data file in the input")
    run.classify()
    if run.implicit:
        print(f"  ({run.implicit} insertions over a page still counted as cached: deleted unseen, at the insertion at the latest)")
    filepages = max((a.i for a in run.adds), default=-1) + 1
    for p in sorted({a.pas for a in run.adds} - {0}):
        adds = [a for a in run.adds if a.pas == p]
        cls = collections.Counter(a.cls for a in adds)
        nmaj = sum(1 for _, fp, _, m in run.faults if fp == p and m)
        print(f"  pass {p}: {len(adds)} pages added ({len(adds) / filepages:.2f} times the file's {filepages}); "
              f"behind the reader {cls['behind']}, at its block {cls['reader']}, ahead and used {cls['used']}, "
              f"ahead and deleted unread {cls['thrash']} ({100 * cls['thrash'] / len(adds):.0f}%); majors "
              f"{nmaj}{'' if majflt is None else f' (json majflt {majflt.get(p)})'}")
        wins = [w for w in run.wins if w.pas == p and w.adds]
        bykind = collections.defaultdict(list)
        for w in wins:
            bykind[w.kind].append(w)
        for kind, ws in sorted(bykind.items()):
            wa = [a for w in ws for a in w.adds if a.pas == p]
            th = [a for a in wa if a.cls == 'thrash']
            c = collections.Counter(a.cls for a in wa)
            quart = collections.Counter(q(a.win.start, a.win.start + a.win.size, a.i - 0) for a in th)
            asy = sum(1 for a in th if a.i >= a.win.mark)
            dist = [a.i - a.p_del for a in th if a.p_del is not None]
            life = [(a.td - a.t) * scale for a in th]
            nth = sum(1 for w in ws if any(a.cls == 'thrash' for a in w.adds))
            print(f"    {kind:11} {len(ws):3} windows, {len(wa):6} pages: behind {c['behind']:5}, reader {c['reader']:4}, "
                  f"used {c['used']:6}, deleted unread {len(th):6} ({100 * len(th) / max(1, len(wa)):.0f}%; in {nth} "
                  f"windows)")
            if th:
                print(f"      unread deleted: window quarter 1/2/3/4 {'/'.join(str(quart[k]) for k in range(4))}, in the "
                      f"async part {asy} ({100 * asy / len(th):.0f}%); ahead of the reader at deletion median "
                      f"{med(dist)} pages (min {min(dist, default='-')}, max {max(dist, default='-')}); lived median "
                      f"{med(life) if unit == 'ms' else med(life)} {unit}")
        # Where the reader was when a window's unread pages went: pages from the window's start.
        if verbose:
            print(f"    {'window':>6} {'kind':11} {'start':>6} {'size':>5} {'async':>5} {'reader':>6} {'t':>9} | added "
                  f"behind reader used unread | unread: first..last index, quarters, async, ahead median (min..max)")
            for w in wins:
                wa = [a for a in w.adds if a.pas == p]
                c = collections.Counter(a.cls for a in wa)
                th = [a for a in wa if a.cls == 'thrash']
                line = (f"    {w.n:6} {w.kind:11} {w.start:6} {w.size:5} {w.asz:5} {w.reader:6} {w.t * scale:9.2f} | "
                        f"{len(wa):5} {c['behind']:6} {c['reader']:6} {c['used']:4} {c['thrash']:6}")
                if th:
                    quart = collections.Counter(q(w.start, w.start + w.size, a.i) for a in th)
                    dist = [a.i - a.p_del for a in th if a.p_del is not None]
                    line += (f" | {min(a.i for a in th)}..{max(a.i for a in th)} "
                             f"{'/'.join(str(quart[k]) for k in range(4))} async {sum(1 for a in th if a.i >= w.mark)} "
                             f"ahead {med(dist)} ({min(dist, default='-')}..{max(dist, default='-')})")
                print(line)
        # The pass's majors: what became of the faulting page before.
        kinds = collections.Counter(); lines = []
        for t, fp, i, m in run.faults:
            if fp != p or not m:
                continue
            prior = [a for a in run.adds if a.i == i and a.pas == p and a.t < t and a.td is not None and a.td <= t]
            left = run.at_start.get(p, {}).get(i)
            if prior:
                a = prior[-1]
                k = (f"refault of an unread page of this pass's {a.win.kind if a.win else '?'} window" if a.cls == 'thrash'
                     else f"refault ({a.cls})")
                what = (f"added {a.t * scale:.2f} in {a.win.kind if a.win else '?'} window {a.win.n if a.win else '?'} "
                        f"[{a.win.start}+{a.win.size}, mark {a.win.mark}], deleted {a.td * scale:.2f} with the "
                        f"reader {a.i - a.p_del if a.p_del is not None else '?'} pages behind")
            elif left is not None and left.td is not None and left.td <= t:
                k = "cached at the pass's start, deleted before the reader came"
                what = f"deleted {left.td * scale:.2f}"
            else:
                k = "never added in the pass before the fault"
                last = [w for w in run.wins if w.pas == p and w.t < t]
                what = (f"last window before: {last[-1].kind} [{last[-1].start}+{last[-1].size})" if last else "")
            kinds[k] += 1
            lines.append(f"      major {i} at {t * scale:.2f} {unit}: {k}; {what}")
        print(f"    majors: " + '; '.join(f"{n} {k}" for k, n in kinds.items()))
        at = [i for _, fp, i, m in run.faults if fp == p and m]
        gaps = [b - a for a, b in zip(at, at[1:])]
        print(f"    majors at {at}; gaps {gaps} (under 768: {sum(1 for g in gaps if g < 768)}, 768-1279: "
              f"{sum(1 for g in gaps if 768 <= g < 1280)}, longer: {sum(1 for g in gaps if g >= 1280)})")
        if verbose:
            print('\n'.join(lines))
        # The async window that a read-around's mark starts (A): at the first reclaim of its loop, the pages of the
        # windows before it still locked for their read (reclaim skips them: folio_trylock fails), and what A's loop
        # took of the read-around's unread tail before the next window.
        lk = []; tails = []
        ws = sorted((w for w in run.wins if w.pas == p), key=lambda w: w.t)
        for k, w in enumerate(ws):
            if w.kind != 'async' or k == 0 or ws[k - 1].kind != 'read-around':
                continue
            r = ws[k - 1]; nxt = ws[k + 1].t if k + 1 < len(ws) else float('inf')
            snap = next((ls for t, ls in run.locked if w.t <= t < nxt), None)
            if snap is not None:
                lk.append(sum(1 for i in snap if not w.holds(i) and not r.holds(i)))
            tails.append(sum(1 for a in r.adds if a.cls == 'thrash' and a.td is not None and w.t <= a.td < nxt))
        if tails:
            print(f"    async windows at a read-around's mark: {len(tails)}; their loop took the read-around's unread tail "
                  f"in {sum(1 for x in tails if x)} ({sum(tails)} pages); at their loop's first reclaim, pages of older "
                  f"windows still locked: " + (f"median {med(lk)} (min {min(lk)}, max {max(lk)})" if lk else "-"))
        # The async window B that A's own mark (its first page) starts while the reader waits for A's first folio:
        # how much of A B's loop deleted unread, and A's pages still locked for their read at B's loop's first and
        # last reclaim (reclaim puts a locked folio back; an unlocked, unreferenced one it takes).
        bl = []
        for k, w in enumerate(ws):
            if (w.kind != 'async' or k < 2 or ws[k - 1].kind != 'async' or ws[k - 2].kind != 'read-around'
                    or w.reader != ws[k - 1].start):
                continue
            a_ = ws[k - 1]; nxt = ws[k + 1].t if k + 1 < len(ws) else float('inf')
            took = sum(1 for a in a_.adds if a.cls == 'thrash' and a.td is not None and w.t <= a.td < nxt)
            snaps = [ls for t, ls in run.locked if w.t <= t < nxt]
            lk0 = sum(1 for i in snaps[0] if a_.holds(i)) if snaps else None
            lk1 = sum(1 for i in snaps[-1] if a_.holds(i)) if snaps else None
            loop = max((a.t for a in w.adds), default=w.t) - w.t
            bl.append((took, lk0, lk1, loop * scale, (w.t - a_.t) * scale, len(a_.adds)))
        if bl:
            if verbose:
                for took, lk0, lk1, loop, gap, na in bl:
                    print(f"      B: A had {na} pages, B's loop took {took} of them unread; A locked at B's first/last "
                          f"reclaim {lk0}/{lk1}; B's loop {loop:.2f} {unit}, {gap:.2f} {unit} after A's start")
            print(f"    async windows at an async window's mark (B): {len(bl)}; their loop took A's pages in "
                  f"{sum(1 for b in bl if b[0] > 256)} (>256 pages); A's pages locked at B's first reclaim median "
                  f"{med([b[1] for b in bl if b[1] is not None])}, at its last {med([b[2] for b in bl if b[2] is not None])}; "
                  f"B's loop median {med([round(b[3], 2) for b in bl])} {unit}, B after A median {med([round(b[4], 2) for b in bl])} {unit}")
        fo = run.folios.get(p)
        if fo:
            print(f"    folios added (one pgpgin each): {sum(fo.values())}, by order " + ', '.join(f"{o}: {n}" for o, n in sorted(fo.items())))
        # Large folios added one after the other and next to each other in the file (index + 2^order): is the next one's frame the physical successor
        # of this one's ("+": bvec_try_merge_page puts both in one bvec, so a bio holds more than 256 folios), its
        # predecessor ("-") or elsewhere? A window of order-2 folios none of which merge is two bios of 256 folios,
        # the first unlocked when its requests complete; merged, it can be one bio, unlocked at its end.
        # And, when both frames held a page-cache page deleted before: was the next folio's frame freed after this
        # one's (handed out last-freed-first, as a per-CPU list's head), before it, or at the same time (EcsMem: one
        # reclaim round's pages merged back in the buddy allocator and split again)?
        steps = collections.Counter(); reuse = collections.Counter()
        hs = run.heads.get(p, [])  # in the order they were added (a pass may add an index more than once)
        for (i0, f0, o0, t0), (i1, f1, o1, t1) in zip(hs, hs[1:]):
            if o0 == o1 and i1 == i0 + (1 << o0):
                d = f1 - f0
                steps[(o0, '+' if d == 1 << o0 else '-' if d == -(1 << o0) else 'other')] += 1
                if t0 is not None and t1 is not None:
                    reuse[(o0, 'later' if t1 > t0 else 'earlier' if t1 < t0 else 'same')] += 1
        for o in sorted({o for o, _ in steps}):
            n = sum(v for (oo, _), v in steps.items() if oo == o)
            print(f"    order-{o} folios followed by the next in the file: {n}; its frame the physical successor "
                  f"{steps[(o, '+')]} ({100 * steps[(o, '+')] / n:.0f}%), predecessor {steps[(o, '-')]}, elsewhere {steps[(o, 'other')]}; "
                  f"both frames freed before: the next one's freed later {reuse[(o, 'later')]}, earlier {reuse[(o, 'earlier')]}, "
                  f"at the same time {reuse[(o, 'same')]}")
        th = [a for a in adds if a.cls == 'thrash']
        dist = [a.i - a.p_del for a in th if a.p_del is not None]
        asy_add = [a for a in adds if a.win and a.win.kind == 'async']
        asy_th = [a for a in asy_add if a.cls == 'thrash']
        quart = collections.Counter(q(a.win.start, a.win.start + a.win.size, a.i) for a in asy_th)
        ra_th = sum(1 for a in th if a.win and a.win.kind == 'read-around')
        mk = collections.Counter()
        for k, n in kinds.items():
            mk['async' if 'async window' in k else 'ra-tail' if 'read-around window' in k else 'never' if 'never' in k
               else 'other'] += n
        print(f"  summary pass {p}: read {len(adds) / filepages:.2f}x | unread-deleted {len(th)} "
              f"({100 * len(th) / len(adds):.0f}% of adds; async windows {len(asy_th)} = "
              f"{100 * len(asy_th) / max(1, len(asy_add)):.0f}% of theirs, quarters "
              + '/'.join(f"{100 * quart[k] / max(1, len(asy_th)):.0f}" for k in range(4))
              + f"%; read-around tails {ra_th}) ahead median {med(dist)} | majors {nmaj}: async {mk['async']}, "
              f"ra-tail {mk['ra-tail']}, never {mk['never']}, other {mk['other']} | gaps <768 "
              f"{sum(1 for g in gaps if g < 768)}, 768-1279 {sum(1 for g in gaps if 768 <= g < 1280)}, longer "
              f"{sum(1 for g in gaps if g >= 1280)} | A {len(tails)}, took the tail {sum(1 for x in tails if x)}, older "
              f"locked median {med(lk)} max {max(lk, default='-')} | B {len(bl)}, took A {sum(1 for b in bl if b[0] > 256)} | folios {sum(fo.values()) if fo else '-'} | order-2 successor {100 * steps[(2, '+')] / max(1, sum(v for (oo, _), v in steps.items() if oo == 2)):.0f}%")


EV = re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+(\d+\.\d+): (\w+): (.*)$')


def kernel(base, verbose):
    evs = []
    for line in open(base + '.ra'):
        m = EV.match(line)
        if m:
            evs.append((float(m.group(4)), m.group(1), int(m.group(2)), m.group(5), m.group(6)))
    evs.sort(key=lambda e: e[0])
    pid = next(p for _, _, p, name, _ in evs if name == 'mm_filemap_fault')
    run = Run(); mbase = None; last_pf = None; prev = None; cur = None; cached = set()
    kmaj = collections.Counter(); rec = []
    for t, comm, p, name, rest in evs:
        if p != pid:
            continue
        f = dict(re.findall(r'(\w+)=(\w+)', rest))
        if name == 'page_fault_user':
            a = int(f['address'], 16)
            last_pf = a
            if mbase is not None and mbase <= a < mbase + (1 << 40):
                run.fault(t, (a - mbase) >> 12, False)
            continue
        if name == 'mm_vmscan_memcg_reclaim_begin':
            rec.append(t)
            continue
        if name == 'mm_filemap_fault':
            ofs = int(f['ofs'])
            if mbase is None:
                mbase = (last_pf >> 12 << 12) - ofs
                run.fault(t, ofs >> 12, False)
            # filemap_fault counts a major when the page is not in the page cache at all.
            if (ofs >> 12) not in cached and run.faults and run.faults[-1][2] == ofs >> 12:
                tt, pp, ii, _ = run.faults[-1]
                run.faults[-1] = (tt, pp, ii, True)
                kmaj[pp] += 1
            prev = name
            continue
        if name == 'page_cache_async_ra' or name == 'page_cache_sync_ra':
            prev = name; continue
        if name == 'page_cache_ra_order':
            kind = 'async' if prev == 'page_cache_async_ra' else 'sync' if prev == 'page_cache_sync_ra' else 'read-around'
            cur = run.window(kind, int(f['index']), int(f['size']), int(f['async_size']), t)
            prev = name; continue
        if name == 'page_cache_ra_unbounded':
            s, n, la = int(f['index']), int(f['nr_to_read']), int(f['lookahead_size'])
            if not (cur is not None and s + n == cur.start + cur.size and cur.holds(s)):
                kind = 'async' if prev == 'page_cache_async_ra' else 'unbounded'
                cur = run.window(kind, s, n, la, t)
            prev = name; continue
        if name in ('mm_filemap_add_to_page_cache', 'mm_filemap_delete_from_page_cache'):
            m = re.search(r'ofs=(\d+) order=(\d+)', rest)
            i0, nr = int(m.group(1)) >> 12, 1 << int(m.group(2))
            if name == 'mm_filemap_add_to_page_cache':
                run.folios[run.pas][int(m.group(2))] += 1
                pfn = int(re.search(r'pfn=0x([0-9a-f]+)', rest).group(1), 16)
                if int(m.group(2)) > 0:
                    run.heads[run.pas].append((i0, pfn, int(m.group(2)), run.freed.get(pfn)))
            else:
                run.freed[int(re.search(r'pfn=0x([0-9a-f]+)', rest).group(1), 16)] = t
            for i in range(i0, i0 + nr):
                if name == 'mm_filemap_add_to_page_cache':
                    run.add(t, i, cur); cached.add(i)
                else:
                    run.delete(t, i); cached.discard(i)
    # Each insertion stays locked until the first read request holding its page completes (folio_end_read at the
    # bio's end; its parts complete together within ~0.1 ms): block_rq_complete in .blk, sectors mapped to file pages
    # through .extents (filefrag -v). Without them (ra-memcg-trace runs) no locked figures.
    try:
        ext = open(base.rsplit('.', 1)[0] + '.extents').read()
        extents = [tuple(int(x) for x in m) for m in
                   re.findall(r'\d+:\s+(\d+)\.\.\s*\d+:\s+(\d+)\.\.\s*\d+:\s+(\d+):', ext)]
        comp = collections.defaultdict(list)
        for line in open(base + '.blk'):
            m = re.search(r'(\d+\.\d+): block_rq_complete: \S+ (R\w*) \(\) (\d+) \+ (\d+)', line)
            if not m:
                continue
            b = int(m.group(3)) // 8
            p0 = next((lo + b - ph for lo, ph, n in extents if ph <= b < ph + n), None)
            if p0 is None:
                continue
            for i in range(p0, p0 + int(m.group(4)) // 8):
                comp[i].append(float(m.group(1)))
        for v in comp.values():
            v.sort()
        unlock = []
        for a in run.adds:
            c = comp.get(a.i, [])
            j = bisect.bisect_left(c, a.t)
            u = c[j] if j < len(c) else float('inf')
            unlock.append((a.t, min(u, a.td if a.td is not None else float('inf')), a.i))
        for t in rec:
            run.locked.append((t, {i for ta, tu, i in unlock if ta <= t < tu}))
    except FileNotFoundError:
        pass
    js = json.load(open(base + '.json'))
    majflt = {n: ph['majflt'] for n, ph in enumerate((ph for ph in js['phases'] if ph['phase'].startswith('pass')), 1)}
    print(f"{base}: kernel, pid {pid}, mapping at {mbase:#x}; majflt " + ', '.join(f"{ph['phase']} {ph['majflt']}" for ph in js['phases']))
    report(run, verbose, majflt)


def ecsmem(path, verbose):
    run = Run(); wins = {}
    # The lines come in the order EcsMem did the work; a fault's line comes at its end, with its raise time.
    lines = []
    for n, line in enumerate(open(path)):
        w = line.split()
        if w and w[0] in ('fault', 'add', 'del', 'cached'):
            lines.append((float(w[1]), w[0] != 'fault', n, w))
    lines.sort()
    for _, _, _, w in lines:
        if w[0] == 'fault':
            run.fault(float(w[1]) / 1e6, int(w[2]), w[3] == 'M')
        elif w[0] == 'add':
            t, i = float(w[1]) / 1e6, int(w[2])
            start, size, asz = int(w[4]), int(w[5]), int(w[6])
            key = (run.pas, start, size, asz)
            win = wins.get(key)
            if win is None:
                kind = 'read-around' if asz == size // 4 and size == 2048 and asz != size else 'async' if asz == size else 'sync'
                win = wins[key] = run.window(kind, start, size, asz, t)
            run.add(t, i, win)
            if len(w) > 7:  # the folio's order (one pgpgin per folio: count its head page)
                o = int(w[7])
                if i % (1 << o) == 0:
                    run.folios[run.pas][o] += 1
                    if o > 0:
                        run.heads[run.pas].append((i, int(w[3]), o, run.freed.get(int(w[3]))))
        elif w[0] == 'del':
            run.delete(float(w[1]) / 1e6, int(w[2]))
            run.freed[int(w[3])] = float(w[1]) / 1e6
        elif w[0] == 'cached':
            lk = set()
            for r in w[5:]:
                a, b = r.split('-')
                lk.update(range(int(a), int(b)))
            run.locked.append((float(w[1]) / 1e6, lk))
    print(f"{path}: EcsMem")
    report(run, verbose)


if __name__ == '__main__':
    traceio.main('thrash.py', kernel, ecsmem, (OSError, ValueError, KeyError, StopIteration, TypeError, AttributeError, IndexError))
