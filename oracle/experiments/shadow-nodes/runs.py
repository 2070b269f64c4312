#!/usr/bin/env python3
"""shadow-nodes/run.sh's per-run table: per phase minflt/majflt, the program's first VMA's Rss (kB), the group's
memory.kmem.usage_in_bytes (pages) and the shadow nodes the run's traced scans freed in it (from NAME.I.shrink.txt)."""
import json
import re
import sys

name, runs_json, shrink_files = sys.argv[1], sys.argv[2], sys.argv[3:]
runs = [json.loads(l) for l in open(runs_json) if l.strip()]
print(f"{name}: phase minflt/majflt/Rss kB/kmem pages/shadow nodes freed, one line a run")
for i, r in enumerate(runs):
    freed = {}
    if i < len(shrink_files):
        ph = None
        for line in open(shrink_files[i]):
            m = re.match(r'== phase (\S+):', line)
            if m:
                ph = m.group(1)
            m = re.match(r'\s+scan_shadow_nodes: .* (\d+) freed', line)
            if m and ph:
                freed[ph] = int(m.group(1))
    cols = []
    for p in (r['phases'] if isinstance(r, dict) else r):
        rss = p['vmas'][0].get('rss_kb', 0) if p['vmas'] else 0
        cols.append(f"{p['phase']} {p['minflt']}/{p['majflt']}/{rss}/{p['memcg'].get('kmem_usage_in_bytes', 0) // 4096}/{freed.get(p['phase'], 0)}")
    print(f"run {i + 1}: " + "  ".join(cols))
