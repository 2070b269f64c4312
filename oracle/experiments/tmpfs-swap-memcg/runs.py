#!/usr/bin/env python3
"""Per-run figures of kit programs kept by record.sh (ORACLE_KEEP_RUNS=DIR): python3 runs.py DIR PROGRAM...
One line a run: each phase's minflt/majflt, the program's VMAs' Rss/Swap (kB) and the group's inactive_anon and
swap (pages, cgroup v1 memory.stat) after the phase; then each figure's [min, max] over the runs."""
import json, os, sys

d = sys.argv[1]
for prog in sys.argv[2:]:
    runs = sorted((int(f.split('.')[-2]), f) for f in os.listdir(d) if f.startswith(prog + '.') and f.endswith('.json'))
    spread = {}
    print(prog, f'({len(runs)} runs)')
    for n, f in runs:
        j = json.load(open(os.path.join(d, f)))
        parts = []
        for ph in j['phases']:
            m = ph.get('memstat', {})
            vals = {'minflt': ph['minflt'], 'majflt': ph['majflt']}
            for k, v in enumerate(ph['vmas']):
                vals[f'vma{k}.rss'] = v['rss_kb']
                vals[f'vma{k}.swap'] = v['swap_kb']
            if m:
                vals['inactive_anon'] = m['inactive_anon'] // 4096
                vals['swap_pages'] = m['swap'] // 4096
            for k, v in vals.items():
                lo, hi = spread.get((ph['phase'], k), (v, v))
                spread[(ph['phase'], k)] = (min(lo, v), max(hi, v))
            parts.append(ph['phase'] + ' ' + ' '.join(f'{k}={v}' for k, v in vals.items()))
        print(f'  run {n}: ' + ' | '.join(parts))
    for (ph, k), (lo, hi) in spread.items():
        print(f'  {ph} {k}: {lo}–{hi}')
