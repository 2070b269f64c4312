#!/usr/bin/env python3
"""summary.py OUT...: per run of run.sh's output, the top stack page's flags at S0, W and A1, the group's active and
inactive anon at each stop, and at each A stop the harness's swap slots in order, named by role (runs of the stack array,
out and buf condensed), the region's first slot."""
import re, sys

def name(w):
    v, i = w.rsplit("+", 1); i = int(i)
    if v.startswith("[stack]"): return f"st{i}"
    if v.startswith("anon@55555555"): return f"bss{i}"
    if v.startswith("ld-linux"): return ("ldRELRO" if "7ffff7ffb" in v else "ldrw") + str(i)
    if v.startswith("libc"): return ("lcRELRO" if "7ffff7fa2" in v else "lcrw") + str(i)
    if "7ffff7fa8" in v: return f"lcbss{i}"
    if "7ffff7dd0" in v: return f"tls{i}"
    if "7ffff7fc0" in v: return f"ldscratch{i}"
    if v.endswith("@555555557000"): return "binRELRO"
    if v.endswith("@555555558000"): return "data"
    return w
for path in sys.argv[1:]:
    run = None
    for line in open(path):
        if line.startswith("### run"): run = line.split()[2]; print(line.strip())
        m = re.match(r"== (\S+) active_anon (\d+) inactive_anon (\d+)", line)
        if m: step = m[1]; print(f"  {m[1]}: active {m[2]} inactive {m[3]}", end="")
        if "[stack]" in line and "by slot:" not in line:
            top = line.strip().split()[-1]
            print(f"; top stack page {top}")
        if "by slot:" in line:
            items = [(int(a), name(b)) for a, b in (x.split("=", 1) for x in line.split("by slot:")[1].split())]
            out, prev = [], None
            for s, n in items:
                m = re.match(r"(st|bss)(\d+)$", n)
                if m and prev and prev[0] == m[1] and prev[2] + 1 == int(m[2]) and prev[3] + 1 == s:
                    prev[2] += 1; prev[3] = s; continue
                if prev: out.append(prev)
                prev = [m[1], s, int(m[2]), s] if m else None
                if not m: out.append(f"{s}:{n}")
            if prev: out.append(prev)
            txt = [x if isinstance(x, str) else (f"{x[1]}:{x[0]}{x[2]-(x[3]-x[1])}" if x[1] == x[3] else f"{x[1]}-{x[3]}:{x[0]}{x[2]-(x[3]-x[1])}..{x[2]}") for x in out]
            print(f"  {step} slots: " + " ".join(txt))
