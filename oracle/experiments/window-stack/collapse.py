#!/usr/bin/env python3
"""collapse.py JSON PERF: a run's majors in order (perf script -F comm,time,addr of ../pcp-contiguity/run.sh) with the
program's region pages collapsed to '[N region]' so the harness's majors between them are readable; stack pages are
named (top = 0x7fffffffe000, second = 0x7fffffffd000), then the phases' majflt from the program's JSON."""
import json, sys
ph = json.load(open(sys.argv[1]))["phases"]
out, n = [], 0
for line in open(sys.argv[2]):
    f = line.split()
    if not f or f[0] != "prog":
        continue
    a = int(f[-1], 16)
    if 0x100000000000 <= a < 0x130000000000:
        n += 1
        continue
    if n:
        out.append(f"[{n} region]"); n = 0
    name = {0x7fffffffe: "STACK-top", 0x7fffffffd: "STACK-second", 0x7fffffffc: "STACK-third"}.get(a >> 12, "")
    out.append(f"{a:#x}{'=' + name if name else ''}")
if n:
    out.append(f"[{n} region]")
print("  phases majflt:", " ".join(f"{p['phase']} {p['majflt']}" for p in ph))
print("  majors:", " ".join(out))
