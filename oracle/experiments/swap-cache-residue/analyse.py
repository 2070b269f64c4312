#!/usr/bin/env python3
"""run.sh's summary: first ../shmem-swap-disk/analyse.py's per-phase disk, reclaim and memory.stat figures, then per
phase: the group's memcg reclaims (how many, pages each freed, shrink_inactive's sums, folios written per reclaim,
priorities reached, and each reclaim that went below priority 5: its start in ms from the phase's, lowest priority,
folios written, pages freed, duration), and swapcached's and writeback's percentiles over the 2 ms samples.
Usage: analyse.py OUTDIR RUNS PROGRAM"""
import collections, os, re, runpy, statistics, sys

here = os.path.dirname(os.path.abspath(__file__))
runpy.run_path(os.path.join(here, "..", "shmem-swap-disk", "analyse.py"), run_name="__main__")
out, runs, prog = sys.argv[1], int(sys.argv[2]), sys.argv[3][:15]
TS = re.compile(r"^\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+): (.*)$")
KV = re.compile(r"(\w+)=(-?\d+)")

def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0

print("\n== per reclaim ==")
for run in range(1, runs + 1):
    calls, recl, cur = [], [], None
    for l in open(f"{out}/trace.{run}.txt"):
        m = TS.match(l)
        if not m:
            continue
        comm, t, ev, rest = m.group(1), float(m.group(3)), m.group(4), m.group(5)
        if ev == "sys_enter":
            if rest.startswith("NR 98 ") and comm == prog:
                calls.append(t)
        elif ev == "mm_vmscan_memcg_reclaim_begin":
            cur = {"t": t, "writes": 0, "prio": 12, "sum": collections.Counter(), "batches": 0}
        elif ev == "mm_vmscan_lru_shrink_inactive" and cur is not None:
            d = dict((k, int(v)) for k, v in KV.findall(rest))
            cur["prio"] = min(cur["prio"], d.pop("priority"))
            d.pop("nid", None)
            cur["sum"].update(d)
            cur["batches"] += 1
        elif ev == "mm_vmscan_write_folio" and cur is not None:
            cur["writes"] += 1
        elif ev == "mm_vmscan_memcg_reclaim_end" and cur is not None:
            cur["freed"] = int(KV.findall(rest)[0][1])
            cur["end"] = t
            recl.append(cur)
            cur = None
    samples = [l.split("\t") for l in open(f"{out}/samples.{run}.tsv").read().splitlines()]
    head, samples = samples[0], [[int(x) for x in s] for s in samples[1:]]
    col = {k: i for i, k in enumerate(head)}
    phases = [l.split()[1] for l in open(f"{out}/phases.txt")]
    calls = calls[-2 * len(phases):]
    print(f"run {run}")
    for n, name in enumerate(phases):
        t0, t1 = calls[2 * n], calls[2 * n + 1]
        rs = [r for r in recl if t0 <= r["t"] < t1]
        print(f"  phase {name}: {len(rs)} memcg reclaims")
        if rs:
            freed = [r["freed"] for r in rs]
            writes = [r["writes"] for r in rs]
            dur = [(r["end"] - r["t"]) * 1e6 for r in rs]
            tot = collections.Counter()
            for r in rs:
                tot.update(r["sum"])
            print(f"    freed a reclaim: median {statistics.median(freed)} min {min(freed)} max {max(freed)}, total {sum(freed)}")
            print(f"    folios written a reclaim: median {statistics.median(writes)} p10 {pct(writes, .1)} p90 {pct(writes, .9)} max {max(writes)}, total {sum(writes)}")
            print(f"    shrink_inactive batches a reclaim: median {statistics.median([r['batches'] for r in rs])} max {max(r['batches'] for r in rs)}; lowest priority: "
                  + " ".join(f"{p}:{c}" for p, c in sorted(collections.Counter(r['prio'] for r in rs).items())))
            print(f"    duration µs: median {statistics.median(dur):.0f} p90 {pct(dur, .9):.0f} max {max(dur):.0f}")
            print("    shrink_inactive sums: " + " ".join(f"{k}={v}" for k, v in tot.items()))
            deep = [f"{(r['t'] - t0) * 1e3:.1f}ms:p{r['prio']}/w{r['writes']}/f{r['freed']}/{(r['end'] - r['t']) * 1e3:.1f}ms" for r in rs if r["prio"] < 5]
            print(f"    below priority 5 ({len(deep)}): " + " ".join(deep))
        ss = [s for s in samples if t0 * 1e9 <= s[0] < t1 * 1e9]
        if ss:
            v = [s[col["swapcached"]] // 4096 for s in ss]
            print(f"    swapcached pages over {len(v)} samples: p10 {pct(v, .1)} median {pct(v, .5)} p90 {pct(v, .9)} min {min(v)} max {max(v)}")
            w = [s[col["writeback"]] // 4096 for s in ss]
            print(f"    writeback pages: median {pct(w, .5)} p90 {pct(w, .9)} max {max(w)}")
