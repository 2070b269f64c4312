#!/usr/bin/env python3
"""lru.py OUT PROGRAM RUNS: per run and phase, from the harness records a swap-ra-exit/run.sh (or record.sh with
RECORD_KEEP) run left in OUT (PROGRAM.N.json), the group's anonymous LRU pages (memory.stat inactive_anon + active_anon)
beside its mapped anonymous pages (rss): their difference is the swap-cache pages on the LRU that no PTE maps (less the
mapped pages still in a CPU's lru_add batch); then the file LRU, the cache, swapcached and each VMA's Rss (pages)."""
import json, sys

out, prog, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
print('run phase: anon_lru rss anon_lru-rss file_lru cache swapcached vma_rss...')
for i in range(1, runs + 1):
    r = json.load(open(f'{out}/{prog}.{i}.json'))
    for ph in r['phases']:
        m = ph.get('memstat') or {}
        if not m:
            continue
        pg = lambda k: m[k] // 4096
        anon, rss = pg('inactive_anon') + pg('active_anon'), pg('rss')
        print(f"{i} {ph['phase']}: {anon} {rss} {anon - rss} {pg('inactive_file') + pg('active_file')} {pg('cache')} "
              f"{pg('swapcached')} " + ' '.join(str(v['rss_kb'] // 4) for v in ph['vmas']))
