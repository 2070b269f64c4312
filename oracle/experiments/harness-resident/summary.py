#!/usr/bin/env python3
"""summary.py OUT...: per run of run.sh's output, the harness's resident pages at each rollup read (R1 after the fill,
R2 after the read pass) from pagemap (present anonymous pages outside the region), its [stack] pages among them,
and the kit's figure from the same run's JSON (rollup Anonymous less the region's, kB)."""
import re, sys

print("run source env_pad  R1_pages R1_stack  R2_pages R2_stack  fill_resident_kb read_resident_kb")
for path in sys.argv[1:]:
    run = step = None
    rows = []
    for line in open(path):
        m = re.match(r"### run (\d+)(?: (\S+\.c))?(?: ENV_PAD=(\d+))?", line)
        if m:
            run = {"n": m.group(1), "src": m.group(2) or "rollup.c", "pad": m.group(3) or "0", "R1": 0, "R2": 0, "kb": []}
            rows.append(run); continue
        m = re.match(r"== (\S+)$", line)
        if m: step = m.group(1); continue
        m = re.match(r"\S+ \S+ (\S+) pages=\d+ present=\d+ anon=(\d+)", line)
        if m and step in ("R1", "R2") and m.group(1) != "REGION":
            run[step] += int(m.group(2)); vma = m.group(1); continue
        m = re.match(r"\s+anon-present: (\S+)", line)
        if m and step in ("R1", "R2") and vma == "[stack]": run[step + "s"] = m.group(1)
        m = re.search(r"harness resident (-?\d+) kB", line)
        if m: run["kb"].append(m.group(1))
    for r in rows:
        print(f"{r['n']:>3} {r['src']:<12} {r['pad']:>5}  {r['R1']:>8} {r.get('R1s', '-'):>8}  {r['R2']:>8} {r.get('R2s', '-'):>8}  {r['kb'][0]:>16} {r['kb'][1]:>16}")
