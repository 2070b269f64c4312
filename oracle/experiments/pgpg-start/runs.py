#!/usr/bin/env python3
"""Each kept run's per-phase figures (record.sh with ORACLE_KEEP_RUNS=DIR keeps PROGRAM.N.json): minflt, majflt,
memory.stat's cumulative pgpgin/pgpgout and their differences over the phase, and /proc/vmstat's pswpin/pswpout over
the phase (the reading at this phase_end's end less the previous one, or vmstat0 for the first phase), one line a run
and phase, programs and runs in order; for a run that read memory.stat at main's entry (session 22: `main`), a line
`PROGRAM RUN main cache rss pgpgin pgpgout chain` (pages; chain = pgpgin - rss - cache, the exec chain's events) and
each phase's pgpgin/pgpgout counted from the program's exec (x_pgpgin = pgpgin - chain - cache, x_pgpgout = pgpgout -
chain: what the kit compares, Fixtures.PgpgExecOf).  Usage: runs.py DIR [DIR...] > results/FILE.txt"""
import json
import os
import re
import sys


def main(dirs):
    files = []
    for d in dirs:
        for f in os.listdir(d):
            m = re.fullmatch(r'(.+)\.(\d+)\.json', f)
            if m:
                files.append((m.group(1), int(m.group(2)), os.path.join(d, f)))
    if not files:
        sys.exit('runs.py: no PROGRAM.N.json in ' + ' '.join(dirs))
    print('program run phase minflt majflt pgpgin pgpgout d_pgpgin d_pgpgout pswpin pswpout x_pgpgin x_pgpgout')
    for name, run, path in sorted(files):
        with open(path) as f:
            rec = json.load(f)
        prev_vm = rec.get('vmstat0')
        prev_ms = None
        main_ms = rec.get('main')
        chain = cache = None
        if main_ms is not None and main_ms.get('pgpgin', -1) >= 0:
            cache, rss = main_ms['cache'] // 4096, main_ms['rss'] // 4096
            chain = main_ms['pgpgin'] - rss - cache
            print(name, run, 'main', cache, rss, main_ms['pgpgin'], main_ms['pgpgout'], chain)
        for ph in rec['phases']:
            ms = ph.get('memstat', {})
            vm = ph.get('vmstat')
            d_in = d_out = '-'
            if prev_ms is not None and 'pgpgin' in ms:
                d_in, d_out = ms['pgpgin'] - prev_ms['pgpgin'], ms['pgpgout'] - prev_ms['pgpgout']
            sw_in = sw_out = '-'
            if vm is not None and prev_vm is not None:
                sw_in, sw_out = vm['pswpin'] - prev_vm['pswpin'], vm['pswpout'] - prev_vm['pswpout']
            x_in = x_out = '-'
            if chain is not None and 'pgpgin' in ms:
                x_in, x_out = ms['pgpgin'] - chain - cache, ms['pgpgout'] - chain
            print(name, run, ph['phase'], ph['minflt'], ph['majflt'], ms.get('pgpgin', '-'), ms.get('pgpgout', '-'),
                  d_in, d_out, sw_in, sw_out, x_in, x_out)
            prev_ms = ms if 'pgpgin' in ms else None
            prev_vm = vm


if __name__ == '__main__':
    main(sys.argv[1:])
