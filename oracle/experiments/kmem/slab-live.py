#!/usr/bin/env python3
"""The accounted slab objects and percpu chunks live at each `ecsmem-phase-end NAME` marker of a pid-filtered trace
(kmem/run.sh), from the `ecsmem-joined` marker the wrapper shell writes once in the group: per cache, the objects and bytes (bytes_alloc, the cache's slot size; the memcg is charged slot + 8,
obj_full_size). An object freed in another task's context (an RCU callback, a worker: struct cred, which this kernel's
slab merging puts in the `pid` cache, and task_struct) stays counted."""
import re
import sys
from collections import defaultdict

kv = re.compile(r'(\w+)=(\S+)')
live = {}    # ptr -> (cache, bytes, call_site)
pcpu = {}    # ptr -> bytes
joined = False
for line in open(sys.argv[1], errors='replace'):
    # Only what the program's task (and its children) allocate after it joined the group is charged to the group.
    if 'tracing_mark_write: ecsmem-joined' in line:
        joined = True
        continue
    if not joined:
        continue
    if 'tracing_mark_write: ecsmem-phase-end' in line:
        phase = line.rsplit(None, 1)[-1]
        by = defaultdict(lambda: [0, 0])
        for cache, b, _ in live.values():
            by[cache][0] += 1
            by[cache][1] += b
        total = sum(v[1] + 8 * v[0] for v in by.values())
        print(f"phase {phase}: {sum(v[0] for v in by.values())} objects, {total} bytes charged (slot + 8), "
              f"percpu {len(pcpu)} chunks {sum(pcpu.values())} bytes")
        for cache, (n, b) in sorted(by.items(), key=lambda x: -x[1][1]):
            print(f"  {cache:24s} {n:6d} {b:8d}")
        sites = defaultdict(lambda: [0, 0])
        for cache, b, site in live.values():
            if cache.startswith('kmalloc'):
                sites[site][0] += 1
                sites[site][1] += b
        for site, (n, b) in sorted(sites.items(), key=lambda x: -x[1][1]):
            print(f"    kmalloc {site:40s} {n:5d} {b:8d}")
        continue
    m = re.search(r' (kmem_cache_alloc|kmalloc|kmem_cache_free|kfree|percpu_alloc_percpu|percpu_free_percpu): (.*)$', line)
    if not m:
        continue
    ev, rest = m.groups()
    f = dict(kv.findall(rest))
    if ev == 'kmem_cache_alloc':
        live[f['ptr']] = (f['name'], int(f['bytes_alloc']), f['call_site'])
    elif ev == 'kmalloc':
        if f.get('accounted') == 'true' or 'ACCOUNT' in f.get('gfp_flags', ''):
            live[f['ptr']] = (f"kmalloc-cg-{f['bytes_alloc']}", int(f['bytes_alloc']), f['call_site'])
    elif ev in ('kmem_cache_free', 'kfree'):
        live.pop(f['ptr'], None)
    elif ev == 'percpu_alloc_percpu':
        if 'ACCOUNT' in f.get('gfp_flags', ''):
            pcpu[f['ptr']] = int(f['bytes_alloc'])
    elif ev == 'percpu_free_percpu':
        pcpu.pop(f['ptr'], None)
