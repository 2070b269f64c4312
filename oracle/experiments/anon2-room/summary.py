#!/usr/bin/env python3
"""summary.py OUT...: one line a run of run.sh's outputs (OUT/swappiness-200.N.json + .trace): file2's minor faults and
its file lists at the end (active/inactive, pages), the group's usage (pages of 4,096) at file2's phase_end entry, at
its record and at anon2's start, the pages reclaimed in that boundary, anon2's faults on `a` before its first reclaim
and what that reclaim's anon lists gave (scanned:reclaimed at priority 0), and `a`'s Swap at anon2's end."""
import json, re, sys

ev = re.compile(r"\s(\d+\.\d+): (\w+): (.*)$")
print("run  file2-minflt file-a/i  entry record start(room)  boundary-freed  faults-before-1st  1st: anon p0  a-swap-kB")
for out in sys.argv[1:]:
    i = 1
    while True:
        try:
            doc = json.load(open(f"{out}/swappiness-200.{i}.json"))
        except FileNotFoundError:
            break
        by = {p["phase"]: p for p in doc["phases"]}
        f2, a2 = by["file2"], by["anon2"]
        where, faults, boundary, first, p0 = "", 0, 0, None, "-"
        for line in open(f"{out}/swappiness-200.{i}.trace"):
            m = ev.search(line)
            if not m:
                continue
            name, rest = m.group(2), m.group(3)
            if name == "tracing_mark_write":
                w = rest.split()
                if w[0] == "ecsmem-phase-end":
                    where = "end:" + w[1]
                elif w[0] == "ecsmem-phase-start" and where == "end:file2":
                    where = "anon2"
                elif w[0] == "ecsmem-phase-start":
                    where = ""
            elif name == "page_fault_user" and where == "anon2" and first is None:
                faults += 1
            elif name == "mm_vmscan_lru_shrink_inactive" and where == "anon2" and first is None:
                kv = dict(x.split("=", 1) for x in rest.split() if "=" in x)
                if "ANON" in kv.get("flags", "") and kv.get("priority") == "0":
                    p0 = f"{kv['nr_scanned']}:{kv['nr_reclaimed']}"
            elif name == "mm_vmscan_memcg_reclaim_end":
                n = int(dict(x.split("=", 1) for x in rest.split() if "=" in x)["nr_reclaimed"])
                if where == "end:file2":
                    boundary += n
                elif where == "anon2" and first is None:
                    first = n
        mc, ms = f2["memcg"], f2["memstat"]
        start = a2["memcg"]["usage_start"] // 4096
        print(f"{out.rstrip('/').split('/')[-1]}.{i:<3} {f2['minflt']:>5}  {ms['active_file'] // 4096:>5}/{ms['inactive_file'] // 4096:<5}"
              f" {mc['usage_entry'] // 4096:>5} {mc['usage_in_bytes'] // 4096:>5} {start:>5}({4096 - start:>2})"
              f"  {boundary:>4}  {faults:>4}  {first} freed, {p0}  {a2['vmas'][0]['swap_kb']:>5}")
        i += 1
