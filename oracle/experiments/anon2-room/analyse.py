#!/usr/bin/env python3
"""One run of anon2-room/run.sh: analyse.py PROGRAM.N.json PROGRAM.N.trace.
Prints the group's usage (pages; limit 4,096) at each phase's start, phase_end's entry and its memcg record, the
memcg reclaims from file2's phase_end to anon2's first fault, and anon2's faults on `a` before each of its first reclaims
(with each reclaim's pages reclaimed, and its inactive-list scans as anon/file scanned:reclaimed by priority)."""
import json, re, sys

def pages(b):
    return b // 4096 if b is not None and b >= 0 else None

js, tr = sys.argv[1], sys.argv[2]
doc = json.load(open(js))
phases = doc["phases"] if isinstance(doc, dict) and "phases" in doc else doc
if isinstance(phases, dict):
    phases = phases.get("phases", [])
by = {p["phase"]: p for p in phases}
for p in phases:
    mc, ms = p.get("memcg", {}), p.get("memstat", {})
    v0 = p["vmas"][0] if p["vmas"] else {}
    print(f"{p['phase']:6} start {pages(mc.get('usage_start'))} entry {pages(mc.get('usage_entry'))} record "
          f"{pages(mc.get('usage_in_bytes'))}  minflt {p['minflt']} majflt {p['majflt']}  a rss/swap {v0.get('rss_kb')}/"
          f"{v0.get('swap_kb')} kB  file a/i {pages(ms.get('active_file'))}/{pages(ms.get('inactive_file'))} anon a/i "
          f"{pages(ms.get('active_anon'))}/{pages(ms.get('inactive_anon'))} swapcached {pages(ms.get('swapcached'))}")

ev = re.compile(r"\s(\d+\.\d+): (\w+): (.*)$")
where = "prelude"
faults = 0
rec = None
out = []
for line in open(tr):
    m = ev.search(line)
    if not m:
        continue
    ts, name, rest = float(m.group(1)), m.group(2), m.group(3)
    if name == "tracing_mark_write":
        w = rest.split()
        if w[0] == "ecsmem-phase-end":
            where = "end:" + w[1]
        elif w[0] == "ecsmem-phase-start":
            where = {"end:map": "anon", "end:anon": "file1", "end:file1": "file2", "end:file2": "anon2"}.get(where, "map")
            if where == "anon2":
                faults = 0
                out.append(f"  anon2 starts at usage {pages(int(w[1]))}")
    elif name == "page_fault_user":
        if where == "anon2":
            faults += 1
    elif where in ("end:file2", "anon2"):
        kv = dict(x.split("=", 1) for x in rest.split() if "=" in x)
        if name == "mm_vmscan_memcg_reclaim_begin":
            rec = {"t": ts, "scan": []}
        elif name == "mm_vmscan_lru_shrink_inactive" and rec is not None:
            kind = "a" if "ANON" in kv.get("flags", "") else "f"
            rec["scan"].append(f"{kind}p{kv.get('priority')}:{kv.get('nr_scanned')}:{kv.get('nr_reclaimed')}")
        elif name == "mm_vmscan_memcg_reclaim_end" and rec is not None:
            n = sum(1 for o in out if o.startswith("  reclaim"))
            if n < 6 or where != "anon2":
                out.append(f"  reclaim in {where} after {faults} faults on a: {kv.get('nr_reclaimed')} reclaimed; "
                           + " ".join(rec["scan"]))
            rec = None
print("\n".join(out))
