#!/usr/bin/env python3
"""vmstat-page.sh's summary: per variant (kit, vmzero) and run, the whole run's vmstat deltas, and per phase the
program's own pswpout/pswpin (its JSON: vmstat0, then each phase_end's) and the region's Swap (kB) with the file pages
that hold the vmstat text among them if every 64th page does (Swap / 4 / 64). Usage: vmstat-page.py OUT RUNS"""
import json, sys

out, runs = sys.argv[1], int(sys.argv[2])
print(open(f"{out}/settings.txt").read().strip())
for v in ("kit", "vmzero"):
    print(f"== {v}")
    for i in range(1, runs + 1):
        b = dict(kv.split("=") for kv in open(f"{out}/{v}.{i}.before").read().split())
        a = dict(kv.split("=") for kv in open(f"{out}/{v}.{i}.after").read().split())
        d = " ".join(f"{k} +{int(a[k]) - int(b[k])}" for k in ("pswpout", "swpout_zero", "pswpin", "swpin_zero"))
        prog = json.load(open(f"{out}/{v}.{i}.json"))
        prev, ph = prog["vmstat0"], []
        for p in prog["phases"]:
            cur = p["vmstat"]
            swap = p["vmas"][0]["swap_kb"]
            ph.append(f"{p['phase']}: pswpout {cur['pswpout'] - prev['pswpout']} pswpin {cur['pswpin'] - prev['pswpin']}"
                      f" Swap {swap} kB (/256 = {swap / 256:.1f})")
            prev = cur
        print(f"run {i}: {d}; " + "; ".join(ph))
