#!/usr/bin/env python3
"""alternate.py ROUNDS NAME ACCESSES -- ANCHOR_CMD... -- ECSMEM_CMD...

Runs the two commands one after the other ROUNDS times, flipping the order every round so that a drift of the
machine's load falls on both, and prints each one's median wall and CPU (user + system) time and the ratio
ecsmem/anchor: the median of the per-round ratios, with p25-p75 and min-max. Output of the commands is dropped."""
import resource
import statistics
import subprocess
import sys
import time

rounds, name, accesses = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rest = sys.argv[4:]
split = [i for i, a in enumerate(rest) if a == "--"]
anchor_cmd, ecsmem_cmd = rest[split[0] + 1:split[1]], rest[split[1] + 1:]


def run(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


rows = []
for r in range(rounds):
    order = [0, 1] if r % 2 == 0 else [1, 0]
    got = {}
    for which in order:
        got[which] = run(anchor_cmd if which == 0 else ecsmem_cmd)
    rows.append((got[0], got[1]))


def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


def describe(kind, idx):
    a = [r[0][idx] for r in rows]
    e = [r[1][idx] for r in rows]
    ratios = [r[1][idx] / r[0][idx] for r in rows if r[0][idx] > 0]
    ma, me = statistics.median(a), statistics.median(e)
    return (f"  {kind}: anchor {ma * 1e3:.1f} ms ({ma * 1e9 / accesses:.1f} ns/access), ecsmem {me * 1e3:.1f} ms "
            f"({me * 1e9 / accesses:.1f} ns/access); ecsmem/anchor median {statistics.median(ratios):.2f}x "
            f"(p25-p75 {q(ratios, .25):.2f}-{q(ratios, .75):.2f}, min-max {min(ratios):.2f}-{max(ratios):.2f})")


print(f"{name}: {accesses:,} accesses, {rounds} alternating rounds")
print(describe("wall", 0))
print(describe("cpu ", 1))
