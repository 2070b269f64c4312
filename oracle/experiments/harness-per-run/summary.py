#!/usr/bin/env python3
"""Per-run figures of a kit program's recorded runs (record.sh with ORACLE_KEEP_RUNS=DIR keeps NAME.N.json):
each run's harness footprint (the first phase's smaps_rollup Anonymous + Swap less the program's VMAs' Anonymous +
Swap, as Fixtures.HarnessKbOf computes it), each phase's faults and the first region's Rss/Swap, then the spreads over
the first 5 runs and over all, and the footprint the runs' minimums mixed give (the statistic before session 13).
Usage: summary.py DIR NAME"""
import glob
import json
import sys

SLOTS = (16 << 40, 48 << 40)  # the kit's 16 slots of 2 TiB from 16 TiB (ProgramPlan.SlotBase/SlotSize)


def own(ph):
    return [v for v in ph["vmas"] if SLOTS[0] <= int(v["start"], 16) < SLOTS[1]]


def harness_kb(ph):
    r = ph["rollup"]
    return r["Anonymous"] + r.get("Swap", 0) - sum(v["anon_kb"] + v["swap_kb"] for v in own(ph))


def spread(vals):
    a, b = min(vals), max(vals)
    return f"{a:,}" if a == b else f"{a:,}-{b:,}"


def main(d, name):
    files = sorted(glob.glob(f"{d}/{name}.*.json"), key=lambda f: int(f.split(".")[-2]))
    runs = [json.load(open(f)) for f in files]
    print(f"{name}: {len(runs)} runs")
    print("run  harness_kb  harness resident kB  " + "  ".join(f"{ph['phase']} minflt/majflt Rss/Swap kB" for ph in runs[0]["phases"]))
    for i, r in enumerate(runs, 1):
        ph0 = r["phases"][0]
        resident = ph0["rollup"]["Anonymous"] - sum(v["anon_kb"] for v in own(ph0))
        cells = [f"{p['minflt']}/{p['majflt']} {own(p)[0]['rss_kb']}/{own(p)[0]['swap_kb']}" for p in r["phases"]]
        print(f"{i:3}  {harness_kb(ph0):10}  {resident:19}  " + "  ".join(cells))
    for n in sorted({min(5, len(runs)), len(runs)}):
        sub = runs[:n]
        print(f"spreads over the first {n} runs:")
        for k, ph in enumerate(sub[0]["phases"]):
            phs = [r["phases"][k] for r in sub]
            print(f"  {ph['phase']:6} minflt {spread([p['minflt'] for p in phs]):14} majflt {spread([p['majflt'] for p in phs]):10}"
                  f" Rss {spread([own(p)[0]['rss_kb'] for p in phs]):14} Swap {spread([own(p)[0]['swap_kb'] for p in phs])} kB")
        first = [r["phases"][0] for r in sub]
        mixed = (min(p["rollup"]["Anonymous"] for p in first) + min(p["rollup"].get("Swap", 0) for p in first)
                 - min(sum(v["anon_kb"] for v in own(p)) for p in first) - min(sum(v["swap_kb"] for v in own(p)) for p in first))
        hk = sorted(harness_kb(p) for p in first)
        print(f"  harness_kb per run {spread(hk)}, median {hk[(len(hk) - 1) // 2]}; the minimums mixed: {mixed} kB")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
