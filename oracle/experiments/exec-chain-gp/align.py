#!/usr/bin/env python3
"""Where in each program's run the exec chain's page-table free falls (session 24, chainalign): for each run of
results/session23.gp.txt with getrusage times, the phase holding the burst's last free and its fraction of that phase's
time. getrusage entries: warm_up's phase_start, then each phase's phase_start and phase_end (fork phases: more)."""
import re, sys, statistics, collections
PH = {}
import os
here = os.path.dirname(os.path.abspath(__file__))
progdir = os.path.join(here, '..', '..', 'programs')
def phases(p):
    return [l.split()[1] for l in open(os.path.join(progdir, p + '.phases')) if l.startswith('phase ')]
runs = collections.defaultdict(list)
lines = open(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, 'results', 'session23.gp.txt')).read().splitlines()
for i, l in enumerate(lines):
    m = re.match(r'(\S+) (\d+): .* at ([\d.]+)–([\d.]+) ms', l)
    if not m: continue
    prog, free = m.group(1), float(m.group(4))
    ru = [float(x) for x in lines[i + 1].split(':', 1)[1].split()]
    if not ru: continue
    names = phases(prog)
    # bounds: phase k starts at ru[1+2k], ends at ru[2+2k] (non-fork); fork phases have extra entries: use start/end pairs only when count matches
    where = None
    if len(ru) == 1 + 2 * len(names):
        for k, n in enumerate(names):
            s, e = ru[1 + 2 * k], ru[2 + 2 * k]
            if free < s:
                where = (f'before {n}', None); break
            if free <= e:
                where = (n, (free - s) / (e - s)); break
        else:
            where = ('after last', None)
    elif len(ru) > 2 and ru[1] <= free <= ru[2]:
        where = (names[0], (free - ru[1]) / (ru[2] - ru[1]))   # a fork program's first phase: its bounds are ru[1], ru[2]
    else:
        where = (f'? {len(ru)} entries', None)
    pos = None
    if where[1] is not None:
        pos = names.index(where[0]) + where[1]
    elif where[0].startswith('before '):
        pos = names.index(where[0][7:]) - 0.5
    runs[prog].append((free, where, pos))
# The median run by position (phase index + fraction; before phase k: k - 0.5), printed as phase@fraction.
for prog, rs in sorted(runs.items()):
    ps = sorted(p for _, _, p in rs if p is not None)
    med = ''
    if ps:
        m = statistics.median_low(ps)
        med = f"median {phases(prog)[int(m)]}@{m - int(m):.3f}"
    print(prog, ' '.join(f"{f:.1f}ms:{w[0]}" + (f"@{w[1]:.3f}" if w[1] is not None else '') for f, w, _ in rs), med)
