#!/usr/bin/env python3
"""Per phase over the runs of one program (kmem/run.sh's NAME.json, one JSON document a line): memory.usage_in_bytes,
memory.kmem.usage_in_bytes, the LRU pages of memory.stat
and the task's VmPTE (its page tables but the PGD), in pages."""
import json
import sys

runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
phases = runs[0]['phases'] if isinstance(runs[0], dict) else runs[0]
print("phase usage/kmem/lru/VmPTE (pages), one column a run")
for i, p in enumerate(phases):
    cols = []
    for r in runs:
        ph = (r['phases'] if isinstance(r, dict) else r)[i]
        mc, ms = ph['memcg'], ph['memstat']
        lru = sum(ms.get(k, 0) for k in ('inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable'))
        cols.append(f"{mc.get('usage_in_bytes', 0) // 4096}/{mc.get('kmem_usage_in_bytes', 0) // 4096}/{lru // 4096}/{mc.get('VmPTE', 0) // 4}")
    print(p['phase'], ' '.join(cols))
