#!/usr/bin/env python3
"""compare.py REPORT.json ANCHOR.txt: exit 0 when the anchor's counters equal ecsmem's report (run --json), else
print each difference and exit 1."""
import json
import sys

report = json.load(open(sys.argv[1]))
anchor = dict(line.split() for line in open(sys.argv[2]) if line.strip())
expected = {}
for t in ("dtlb", "itlb", "stlb"):
    expected[t + "_hits"] = report["tlb"][t]["hits"]
    expected[t + "_misses"] = report["tlb"][t]["misses"]
for c in ("L1i", "L1d", "L2", "L3"):
    for k in ("accesses", "misses", "writebacks"):
        expected[f"{c}_{k}"] = report["caches"][c][k]
expected["accesses"] = report["time"]["accesses"]
expected["translation_cycles"] = report["time"]["cycles_by_category"]["translation"]["cycles"]
expected["memory_cycles"] = report["time"]["cycles_by_category"]["memory"]["cycles"]
expected["pgfault"] = report["faults"]["pgfault"]
expected["zero_page"] = report["faults"]["ecsmem_zero_page_map"]
expected["cow_copy"] = report["faults"]["ecsmem_cow_copy"]
expected["nr_tlb_local_flush_one"] = report["tlb"]["events"]["nr_tlb_local_flush_one"]
bad = [k for k, v in expected.items() if int(anchor.get(k, -1)) != v]
for k in bad:
    print(f"{k}: ecsmem {expected[k]}, anchor {anchor.get(k)}")
print("equal" if not bad else f"{len(bad)} counters differ")
sys.exit(1 if bad else 0)
