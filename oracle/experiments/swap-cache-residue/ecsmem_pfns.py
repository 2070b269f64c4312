#!/usr/bin/env python3
"""EcsMem's side of pfns.py (session 20, s20-pelclean): the pages a deep direct reclaim's priority-0 pass freed, each
classed by when its last swap-in was (a phase, or the boundary between two: phase_end's and phase_start's harness
accesses), and the read->write boundary's swap-ins. Three inputs from the same run (same seed, so the same pfns):
  DUMP:   ECSMEM_ORACLE_RECLAIMS=1 ... eval PROGRAM 2> DUMP          (its `phase NAME start|end T ms` lines)
  EVENTS: ECSMEM_ORACLE_EVENTS=DIR ... eval PROGRAM, DIR/PROGRAM.jsonl (swap_in events: time, pfn, slot, address;
          it cannot be combined with the dump in one run: one event sink)
  PROBE:  with results/shmem-swap-memcg.session20.probe.patch applied (temporary, not merged),
          ECSMEM_PROBE=N ECSMEM_ORACLE_RECLAIMS=1 ... eval PROGRAM 2> PROBE (each folio reclaim N handled)
Usage: ecsmem_pfns.py DUMP EVENTS.jsonl PROBE N [CLOCK_GHZ=3]"""
import json, re, sys
from collections import Counter

dump, events, probe, target = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ghz = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
ph, names = {}, []
for l in open(dump):
    m = re.match(r"phase (\w+) (start|end) ([\d.]+) ms", l)
    if m:
        ph[(m.group(1), m.group(2))] = float(m.group(3)) * ghz * 1e6
        if m.group(1) not in names:
            names.append(m.group(1))


def when(t):
    for i, n in enumerate(names):
        if ph[(n, "start")] <= t <= ph[(n, "end")]:
            return n
        if i + 1 < len(names) and ph[(n, "end")] < t < ph[(names[i + 1], "start")]:
            return f"{n}->{names[i + 1]}"
    return "before" if t < ph[(names[0], "start")] else "after"


rt, swapins = [], []
for line in open(events):
    if '"reclaim"' in line and '"direct":true' in line:
        rt.append(json.loads(line)["time"])
    elif '"swap_in"' in line:
        swapins.append(json.loads(line))
t = rt[target - 1]
last = {}
for e in swapins:
    if e["time"] < t:
        last[e["pfn"]] = e
for a, b in zip(names, names[1:]):
    b0, b1 = ph[(a, "end")], ph[(b, "start")]
    bnd = [e for e in swapins if b0 <= e["time"] <= b1]
    print(f"boundary {a}->{b} {(b1 - b0) / (ghz * 1e6):.3f} ms: {len(bnd)} swap-ins, slots {sorted(e['slot'] for e in bnd)}")
c, det = Counter(), []
for l in open(probe):
    m = re.match(r"P(\d+) pfn (\d+) fl (\w+) map (\S+) idx (\d+) mc (\d+) -> fl (\w+) list (\S+) freed (\d+)", l)
    if not m or m.group(1) != "0" or m.group(9) != "1":
        continue
    e = last.get(int(m.group(2)))
    if e is None or e["slot"] != int(m.group(5)):
        c[("not swapped in at this slot (a page this reclaim wrote, freed once its write completed)",)] += 1
        continue
    w = when(e["time"])
    c[(w, "unmapped" if m.group(6) == "0" else "mapped")] += 1
    det.append((w, e["slot"], e["address"], (e["time"] - ph[(w.split("->")[-1], "start")]) / (ghz * 1e6)))
print(f"reclaim #{target}: priority 0 freed {sum(c.values())}")
for k, n in c.most_common():
    print(f"  {n:4d}  last swapped in: {', '.join(k)}")
for w in dict.fromkeys(d[0] for d in det):
    print(f"    {w}: " + " ".join(f"{s}({a}@{tt:.2f}ms)" for ww, s, a, tt in det if ww == w))
