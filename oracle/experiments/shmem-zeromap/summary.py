#!/usr/bin/env python3
"""run.sh's summary: per variant (zero, nonzero) and run, the vmstat deltas and per phase minflt/majflt and the first
region's Rss/Swap (kB). Usage: summary.py OUT RUNS"""
import json, sys

out, runs = sys.argv[1], int(sys.argv[2])
print(open(f"{out}/settings.txt").read().strip())
for v in ("zero", "nonzero"):
    print(f"== {v}")
    for i in range(1, runs + 1):
        b = dict(kv.split("=") for kv in open(f"{out}/{v}.{i}.before").read().split())
        a = dict(kv.split("=") for kv in open(f"{out}/{v}.{i}.after").read().split())
        d = " ".join(f"{k} +{int(a[k]) - int(b[k])}" for k in ("pswpout", "swpout_zero", "pswpin", "swpin_zero"))
        prog = json.load(open(f"{out}/{v}.{i}.json"))
        ph = "; ".join(f"{p['phase']}: {p['minflt']}/{p['majflt']} faults, Rss {p['vmas'][0]['rss_kb']} Swap "
                       f"{p['vmas'][0]['swap_kb']} kB" for p in prog["phases"])
        print(f"run {i}: {d}; {ph}")
