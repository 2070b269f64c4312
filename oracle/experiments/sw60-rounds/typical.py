#!/usr/bin/env python3
"""Where EcsMem's figures sit inside the kernel's spreads, from two `table` outputs (session 28, sw60rounds).
   dotnet run -c Release --no-build --project oracle/Ecs.Mem.Oracle -- table > A     # the default
   ECSMEM_ORACLE_RAM=... ECSMEM_ORACLE_MACHINE=... dotnet run ... -- table > B       # a what-if
   typical.py A [B]
For each figure of the table (minflt/majflt, pgpg in/out since exec, pswp in/out per phase) whose kernel spread is
wider than 10 units: its place p = (EcsMem - least) / (most - least), 0 at the kernel's least, 1 at its most. Counts
the figures out (p < 0 or p > 1), at an edge (the outer tenth of the spread) and inside, and lists the ones that differ
between A and B by more than a tenth of their spread."""
import re, sys

def parse(path):
    figs = {}
    for line in open(path):
        if not line.startswith('| `'):
            continue
        cells = [c.strip() for c in line.split('|')]
        prog, kern, ecs = cells[1].strip('`'), cells[2], cells[3]
        kp = {p.split()[0]: p for p in kern.split(' · ')}
        ep = {p.split()[0]: p for p in ecs.split(' · ')}
        for ph, ktext in kp.items():
            etext = ep.get(ph)
            if etext is None:
                continue
            knums = re.findall(r'(-?[\d,]+)(?:–(-?[\d,]+))?', ktext.split(' ', 1)[1] if ' ' in ktext else '')
            enums = re.findall(r'(-?[\d,]+)', etext.split(' ', 1)[1] if ' ' in etext else '')
            names = ['minflt', 'majflt', 'pgpgin', 'pgpgout', 'pswpin', 'pswpout']
            for i, (lo, hi) in enumerate(knums):
                if i >= len(enums) or i >= len(names):
                    break
                lo_v = int(lo.replace(',', '')); hi_v = int((hi or lo).replace(',', ''))
                figs[(prog, ph, names[i])] = (lo_v, hi_v, int(enums[i].replace(',', '')))
    return figs

def place(f):
    lo, hi, x = f
    return (x - lo) / (hi - lo)

def summary(name, figs):
    wide = {k: v for k, v in figs.items() if v[1] - v[0] > 10}
    out = sum(1 for v in wide.values() if not 0 <= place(v) <= 1)
    edge = sum(1 for v in wide.values() if 0 <= place(v) < 0.1 or 0.9 < place(v) <= 1)
    print('%s: %d figures with a spread over 10; out %d, at an edge %d, inside the middle %d' % (
        name, len(wide), out, edge, len(wide) - out - edge))
    return wide

a = summary(sys.argv[1], parse(sys.argv[1]))
if len(sys.argv) > 2:
    b = summary(sys.argv[2], parse(sys.argv[2]))
    for k in sorted(a):
        if k in b and abs(place(a[k]) - place(b[k])) > 0.1:
            lo, hi, _ = a[k]
            print('  %-24s %-6s %-8s kernel %s-%s: %s (p %.2f) -> %s (p %.2f)' % (k[0], k[1], k[2], lo, hi, a[k][2], place(a[k]), b[k][2], place(b[k])))
