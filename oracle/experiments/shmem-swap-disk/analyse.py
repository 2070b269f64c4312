#!/usr/bin/env python3
"""Summarises run.sh's traces and samples: per run and phase, the swap area's write and read requests (count, pages a
request, latency issue→complete, how many in flight), bios per request (merging), reclaim's writes and scans, and
memory.stat's swapcached/writeback/shmem through the phase. Usage: analyse.py OUTDIR RUNS [PROGRAM] (PROGRAM: keep only
its getrusage calls, the phase windows; other processes on the machine call getrusage too)"""
import re, statistics, sys

out, runs = sys.argv[1], int(sys.argv[2])
prog = sys.argv[3][:15] if len(sys.argv) > 3 else None
ext = [tuple(map(int, l.split())) for l in open(f"{out}/extents.txt")]

def in_swap(sector):
    return any(a <= sector < b for a, b in ext)

TS = re.compile(r"^\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+): (.*)$")
ISSUE = re.compile(r"^\d+,\d+ (\S+) \d+ \(.*?\) (\d+) \+ (\d+)")
COMPLETE = re.compile(r"^\d+,\d+ (\S+) \(.*?\) (\d+) \+ (\d+)")
BIO = re.compile(r"^\d+,\d+ (\S+) (\d+) \+ (\d+)")
KV = re.compile(r"(\w+)=(-?\d+)")

def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0

def summary(name, reqs, t0, t1):
    """reqs: (issue, complete, pages); prints count, pages, latency and the time-weighted queue depth in [t0, t1)."""
    if not reqs:
        print(f"    {name}: none")
        return
    lat = [(c - i) * 1e6 for i, c, _ in reqs]
    pages = [p for _, _, p in reqs]
    ev = sorted([(i, 1) for i, _, _ in reqs] + [(c, -1) for _, c, _ in reqs])
    depth = maxd = 0
    busy = area = 0.0
    last = ev[0][0]
    for t, d in ev:
        if depth > 0:
            busy += t - last
            area += depth * (t - last)
        depth += d
        maxd = max(maxd, depth)
        last = t
    print(f"    {name}: {len(reqs)} requests, {sum(pages)} pages (a request: mean {statistics.mean(pages):.1f}, "
          f"median {statistics.median(pages)}, max {max(pages)}); latency µs median {statistics.median(lat):.0f} "
          f"p10 {pct(lat, .1):.0f} p90 {pct(lat, .9):.0f} max {max(lat):.0f}; in flight max {maxd}, mean while busy "
          f"{area / busy if busy else 0:.2f}; device busy {busy * 1e3:.1f} of {(t1 - t0) * 1e3:.1f} ms, "
          f"{sum(pages) / busy if busy else 0:.0f} pages/s busy")

for run in range(1, runs + 1):
    lines = open(f"{out}/trace.{run}.txt").read().splitlines()
    calls, issue, reqs, bios, writes, shrink = [], {}, [], [], [], []
    for l in lines:
        m = TS.match(l)
        if not m:
            continue
        comm, t, ev, rest = m.group(1), float(m.group(3)), m.group(4), m.group(5)
        if ev == "sys_enter":
            if rest.startswith("NR 98 ") and (comm == prog if prog else not comm.startswith("python")):
                calls.append(t)
        elif ev == "block_rq_issue":
            r = ISSUE.match(rest)
            if r and in_swap(int(r.group(2))):
                issue[(r.group(2), r.group(1)[0])] = (t, int(r.group(3)) // 8, r.group(1))
        elif ev == "block_rq_complete":
            r = COMPLETE.match(rest)
            if r and (r.group(2), r.group(1)[0]) in issue:
                i, p, rw = issue.pop((r.group(2), r.group(1)[0]))
                reqs.append((i, t, p, "W" in rw))
        elif ev == "block_bio_queue":
            r = BIO.match(rest)
            if r and in_swap(int(r.group(2))):
                bios.append((t, "W" in r.group(1)))
        elif ev == "mm_vmscan_write_folio":
            writes.append(t)
        elif ev == "mm_vmscan_lru_shrink_inactive":
            shrink.append((t, dict((k, int(v)) for k, v in KV.findall(rest))))
    samples = [l.split("\t") for l in open(f"{out}/samples.{run}.tsv").read().splitlines()]
    head, samples = samples[0], [[int(x) for x in s] for s in samples[1:]]
    col = {k: i for i, k in enumerate(head)}
    phases = [l.split()[1] for l in open(f"{out}/phases.txt")]
    calls = calls[-2 * len(phases):]
    print(f"run {run}: {len(calls)} getrusage calls, {len(reqs)} swap requests")
    for n, name in enumerate(phases):
        t0, t1 = calls[2 * n], calls[2 * n + 1]
        inside = lambda t: t0 <= t < t1
        print(f"  phase {name}: {(t1 - t0) * 1e3:.1f} ms")
        summary("writes", [(i, c, p) for i, c, p, w in reqs if w and inside(i)], t0, t1)
        summary("reads", [(i, c, p) for i, c, p, w in reqs if not w and inside(i)], t0, t1)
        wb = sum(1 for t, w in bios if w and inside(t))
        rb = sum(1 for t, w in bios if not w and inside(t))
        print(f"    bios queued: {wb} writes, {rb} reads; reclaim wrote {sum(1 for t in writes if inside(t))} folios")
        tot = {}
        for t, d in shrink:
            if inside(t):
                for k, v in d.items():
                    if k not in ("nid", "priority"):
                        tot[k] = tot.get(k, 0) + v
        print("    shrink_inactive: " + " ".join(f"{k}={v}" for k, v in tot.items()))
        ss = [s for s in samples if t0 * 1e9 <= s[0] < t1 * 1e9]
        after = next((s for s in samples if s[0] >= t1 * 1e9), samples[-1])
        if ss:
            for k in ("swapcached", "writeback", "shmem"):
                v = [s[col[k]] // 4096 for s in ss]
                print(f"    {k} pages: max {max(v)}, mean {statistics.mean(v):.0f}, at the end {after[col[k]] // 4096}")
            for k in ("pswpin", "pswpout", "pgrotated", "nr_vmscan_immediate_reclaim"):
                print(f"    {k} +{after[col[k]] - ss[0][col[k]]}", end="")
            print(f"  ({len(ss)} samples)")
