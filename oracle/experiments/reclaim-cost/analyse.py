#!/usr/bin/env python3
"""Reclaim's CPU cost from run.sh's traces. Only the program's own events count (its direct memcg reclaim runs in its
context). Per run it splits each reclaim call (memcg_reclaim_begin..end) into shrink_inactive_list batches (lru_isolate
.. lru_shrink_inactive: shrink_folio_list and the putback), shrink_active_list batches and what is left (the call's
fixed part: shrink_node, the memcg walk, get_scan_count, lru_add_drain), and prints:
  - written pages: the gap between consecutive mm_vmscan_write_folio events of a batch (one page's references, swap
    slot and swap-cache add, try_to_unmap with its TLB flush, pageout: swap_writeout or shmem_writeout and its bio),
    cut at the page's tlb_flush (inside try_to_unmap) and block_bio_queue (the bio's submission);
  - a least-squares fit of a batch's time on its pages freed, written and neither (kept, activated, under writeback);
  - a fit of the time from the previous batch's end to lru_isolate on the pages isolate_lru_folios scanned;
  - shrink_active_list's time per page taken; the call's fixed part.
Timestamps: trace_clock x86-tsc cycles converted with the trace_marker pairs run.sh writes; off-CPU time removed.
Usage: analyse.py OUTDIR RUNS PROGRAM..."""
import os, re, statistics, sys

out, runs, progs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
TS = re.compile(r"^\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+): (.*)$")
KV = re.compile(r"(\w+)=(-?\w+)")

def stats(xs):
    if not xs:
        return "none"
    xs = sorted(xs)
    q = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))]
    return (f"n {len(xs)}, median {statistics.median(xs):.2f}, p25 {q(.25):.2f}, p75 {q(.75):.2f}, "
            f"mean {statistics.mean(xs):.2f}")

def lstsq(rows, ys):
    """Ordinary least squares by the normal equations (Gaussian elimination); returns the coefficients."""
    k = len(rows[0])
    a = [[sum(r[i] * r[j] for r in rows) for j in range(k)] + [sum(r[i] * y for r, y in zip(rows, ys))] for i in range(k)]
    for c in range(k):
        p = max(range(c, k), key=lambda r: abs(a[r][c]))
        a[c], a[p] = a[p], a[c]
        if abs(a[c][c]) < 1e-12:
            return [float("nan")] * k
        for r in range(k):
            if r != c:
                f = a[r][c] / a[c][c]
                a[r] = [x - f * y for x, y in zip(a[r], a[c])]
    return [a[i][k] / a[i][i] for i in range(k)]

def parse(path, prog):
    """The program's events as (on-CPU µs, event, fields): x86-tsc cycles scaled by the run's two trace_marker pairs
    (cycles, CLOCK_MONOTONIC ns), and every stretch the program spent switched out (sched_switch) taken away, so a gap
    holds the program's own CPU time only (interrupts on its CPU included)."""
    comm = prog[:15]
    raw, cal = [], []
    for l in open(path):
        m = TS.match(l)
        if not m:
            continue
        ev, rest = m.group(4), m.group(5)
        if ev == "tracing_mark_write" and rest.startswith("ecsmem_cal "):
            cal.append((float(m.group(3)), int(rest.split()[1])))
        elif m.group(1).strip() == comm or (ev == "sched_switch" and f"next_comm={comm} " in rest):
            raw.append((float(m.group(3)), ev, rest, m.group(1).strip() == comm))
    if len(cal) >= 2:
        (c0, n0), (c1, n1) = cal[0], cal[-1]
        k = (n1 - n0) / (c1 - c0) / 1e3  # cycles → µs
    else:
        k = 1e6  # mono seconds → µs
    evs, off, out_at = [], 0.0, None
    for t, ev, rest, mine in raw:
        t *= k
        if ev == "sched_switch":
            if mine and f"prev_comm={comm} " in rest and out_at is None:
                out_at = t
            elif not mine and out_at is not None:
                off += t - out_at
                out_at = None
            continue
        evs.append((t - off, ev, rest))
    return evs

for prog in progs:
    acc = {k: [] for k in ("gap", "g_unmap", "g_bio", "g_tail", "call", "fixed", "act", "iso_rows", "iso_y", "rows",
                           "ys", "free_all", "calls_pages", "first_iso", "fixed_noiso", "rows2", "west", "write_all")}
    for run in range(1, runs + 1):
        path = f"{out}/{prog}.trace.{run}.txt"
        if not os.path.exists(path):
            continue
        evs = parse(path, prog)
        in_call = False
        batch = None
        for t, ev, rest in evs:
            if ev == "mm_vmscan_memcg_reclaim_begin":
                in_call, t_begin, last_end, busy, scanned_call, first, iso_call = True, t, t, 0.0, 0, True, 0.0
                continue
            if not in_call:
                continue
            if ev == "mm_vmscan_lru_isolate":
                f = dict(KV.findall(rest))
                n = int(f["nr_scanned"])
                gap = t - last_end
                iso_call += gap
                if first:
                    acc["first_iso"].append(gap)
                else:
                    acc["iso_rows"].append((1, n))
                    acc["iso_y"].append(gap)
                first = False
                batch = {"t0": t, "lru": f["lru"], "taken": int(f["nr_taken"]), "writes": [], "tlb": [], "bio": [],
                         "del": 0}
                scanned_call += n
            elif ev == "mm_vmscan_write_folio" and batch:
                batch["writes"].append(t)
            elif ev == "tlb_flush" and batch and "shootdown" in rest:
                batch["tlb"].append(t)
            elif ev == "block_bio_queue" and batch:
                batch["bio"].append(t)
            elif ev == "mm_filemap_delete_from_page_cache" and batch:
                batch["del"] += 1
            elif ev == "mm_vmscan_lru_shrink_inactive" and batch:
                f = dict(KV.findall(rest))
                sc, rec, w = int(f["nr_scanned"]), int(f["nr_reclaimed"]), len(batch["writes"])
                d = t - batch["t0"]
                busy += d
                acc["rows"].append((1, rec, w, max(sc - rec - w, 0)))
                acc["ys"].append(d)
                # The pages written from the tracepoint's own counts (EVENTS=lite records no write_folio): what was
                # neither freed, activated, kept for its references nor failed to unmap.
                west = max(sc - rec - int(f["nr_activate_anon"]) - int(f["nr_activate_file"]) - int(f["nr_ref_keep"])
                           - int(f["nr_unmap_fail"]), 0)
                acc["rows2"].append((1, rec, west, max(sc - rec - west, 0)))
                acc["west"].append((west, w))
                if sc >= 16 and west == sc:
                    acc["write_all"].append(d / sc)
                if sc >= 8 and rec == sc:
                    acc["free_all"].append(d / sc)
                ws = batch["writes"]
                for a, b in zip(ws, ws[1:]):
                    acc["gap"].append(b - a)
                    tl = [x for x in batch["tlb"] if a < x < b]
                    bi = [x for x in batch["bio"] if a < x < b]
                    if tl and bi and tl[-1] < bi[-1]:
                        acc["g_unmap"].append(tl[-1] - a)   # refs, swap add, try_to_unmap to its flush
                        acc["g_bio"].append(bi[-1] - tl[-1])  # rest of unmap, pageout to the bio's submission
                        acc["g_tail"].append(b - bi[-1])      # the bio's submission to write_folio
                last_end, batch = t, None
            elif ev == "mm_vmscan_lru_shrink_active" and batch:
                f = dict(KV.findall(rest))
                d = t - batch["t0"]
                busy += d
                if int(f["nr_taken"]) > 0:
                    acc["act"].append(d / int(f["nr_taken"]))
                last_end, batch = t, None
            elif ev == "mm_vmscan_memcg_reclaim_end":
                in_call = False
                acc["call"].append(t - t_begin)
                acc["calls_pages"].append(scanned_call)
                acc["fixed"].append((t - t_begin) - busy)
                acc["fixed_noiso"].append((t - t_begin) - busy - iso_call)
    print(f"== {prog} ({runs} runs; µs)")
    print(f"  reclaim calls: {stats(acc['call'])}; pages isolated a call: {stats(acc['calls_pages'])}")
    print(f"  written page (write_folio to write_folio): {stats(acc['gap'])}")
    print(f"    refs + swap add + try_to_unmap to its TLB flush: {stats(acc['g_unmap'])}")
    print(f"    TLB flush to the bio's submission (rest of unmap, pageout): {stats(acc['g_bio'])}")
    print(f"    bio's submission to write_folio: {stats(acc['g_tail'])}")
    print(f"  batch freeing every page it scanned (≥ 8), per page: {stats(acc['free_all'])}")
    print(f"  batch writing every page it scanned (≥ 16), per page: {stats(acc['write_all'])}")
    if len(acc["rows"]) > 8:
        c = lstsq(acc["rows"], acc["ys"])
        print(f"  batch fit over {len(acc['rows'])} batches: {c[0]:.2f} + {c[1]:.3f}·freed + {c[2]:.3f}·written "
              f"+ {c[3]:.3f}·other")
    if len(acc["rows2"]) > 8:
        c = lstsq(acc["rows2"], acc["ys"])
        agree = sum(1 for a, b in acc["west"] if a == b)
        print(f"  the same fit with the written pages from shrink_inactive's counts (equal to write_folio's in {agree} of "
              f"{len(acc['west'])} batches): {c[0]:.2f} + {c[1]:.3f}·freed + {c[2]:.3f}·written + {c[3]:.3f}·other")
    if len(acc["iso_rows"]) > 8:
        c = lstsq(acc["iso_rows"], acc["iso_y"])
        print(f"  previous batch's end to lru_isolate, fit over {len(acc['iso_rows'])}: {c[0]:.2f} + {c[1]:.3f}·scanned")
    print(f"  call's begin to its first lru_isolate: {stats(acc['first_iso'])}")
    print(f"  shrink_active_list per page taken: {stats(acc['act'])}")
    print(f"  call's time outside the batches: {stats(acc['fixed'])}")
    print(f"  the same without the isolations (previous end to lru_isolate): {stats(acc['fixed_noiso'])}")

stock = f"{out}/charge-stock.txt"
if os.path.exists(stock):
    rows = [tuple(map(int, l.split())) for l in open(stock).read().splitlines()[1:]]
    steps = [b[1] - a[1] for a, b in zip(rows, rows[1:]) if b[1] > a[1]]
    print(f"== charge-stock: usage_in_bytes rose {len(steps)} times over {len(rows) - 1} pages touched, by "
          f"{sorted(set(steps))} pages; memory.stat rss moved {sum(1 for a, b in zip(rows, rows[1:]) if b[2] != a[2])} times")
