#!/usr/bin/env python3
"""slots.py OUT PROGRAM RUNS [STOP] [--present]: the swap slots of the harness's pages at one stop of stopper.py's dumps.
STOP counts the program's getrusage stops after its exec (1 = warm_up's phase_start, 2 = the first phase's phase_start,
3 = its phase_end, ...; default: the last one, the last phase's phase_end), or `write` for finish's record write.
Per run: every swapped page outside the program's regions (the mappings in [0x100000000000, 0x200000000000)),
sorted by slot, named by what it holds (the binary's symbols from OUT/PROGRAM.nm, libc's and ld.so's segments, the TLS
block before libc, the stack's pages from its top); then the program regions' slots as ranges (first-last:pages)
around those slots; with --present the harness pages resident there too."""
import re, sys
from collections import defaultdict


def read_nm(path):
    syms = []
    for line in open(path):
        p = line.split()
        if len(p) == 3 and p[1] in 'bBdD' and not p[2].startswith('_'):
            syms.append((int(p[0], 16), p[2]))
    syms.sort()
    end = next(int(line.split()[0], 16) for line in open(path) if line.split()[-1] == '_end')
    return [(a, (syms[i + 1][0] if i + 1 < len(syms) else end), n) for i, (a, n) in enumerate(syms)]


def stops(path):
    cur = None
    for line in open(path):
        if line.startswith('stop '):
            p = line.split()
            cur = {'call': int(p[3]), 'vmas': [], 'pages': {}}
            yield cur
        elif line.startswith('vma '):
            p = line.split(maxsplit=5)
            cur['vmas'].append((int(p[1], 16), int(p[2], 16), p[3], int(p[4], 16), p[5].strip() if len(p) > 5 else ''))
        elif not line.startswith('poll '):   # stopper.py's POLL lines: not a stop's pages
            p = line.split()
            cur['pages'][int(p[0], 16)] = (p[1], int(p[3]) if p[1] == 's' else int(p[2], 16))


def labeller(vmas, syms, prog):
    binv = [v for v in vmas if v[4].endswith('/' + prog)]
    base = binv[0][0] if binv else 0
    bin_end = max((v[1] for v in binv), default=0)
    libc = [v for v in vmas if 'libc.so' in v[4]]
    ld = [v for v in vmas if 'ld-linux' in v[4]]

    def seg(v, a, name):
        return f'{name}[{(a - v[0]) // 4096}]'

    def label(a):
        if 0x100000000000 <= a < 0x200000000000:
            return None
        for v in vmas:
            if v[0] <= a < v[1]:
                break
        else:
            return f'{a:x}?'
        if base <= a < bin_end + 0x100000:
            off = a - base
            names = []
            for s, e, n in syms:
                if s < off + 4096 and e > off:
                    names.append(f'{n}[{max(0, off - (s & ~4095)) // 4096}]' if e - s > 4096 else n)
            return 'bin:' + ','.join(names) if names else f'bin+{off:x}'
        if v[4] == '[stack]':
            return f'stack-{(0x7ffffffff000 - a) // 4096}'
        for lib, name in ((libc, 'libc'), (ld, 'ld')):
            if not lib:
                continue
            if v in lib:
                kind = {'rw-p': 'rw', 'r--p': 'ro', 'r-xp': 'text'}.get(v[2], v[2])
                if kind == 'ro' and v is lib[-2]:
                    kind = 'RELRO'
                return seg(v, a, f'{name}-{kind}')
            if v[0] == lib[-1][1]:
                return seg(v, a, f'{name}-bss')
        if libc and v[1] == libc[0][0]:
            return seg(v, a, 'TLS')
        return f'anon@{a:x}'
    return label


def ranges(slots):
    out, run = [], []
    for s in sorted(slots):
        if run and s == run[-1] + 1:
            run.append(s)
        else:
            if run:
                out.append(run)
            run = [s]
    if run:
        out.append(run)
    return out


def compact(pairs):
    """slot:label, with runs of consecutive slots holding consecutive pages of one thing as FIRST-LAST:LABEL..INDEX."""
    def key(n):
        m = re.match(r'(.*?)(\[?)(-?\d+)(\]?)$', n)
        return (m.group(1) + m.group(2), int(m.group(3)), m.group(4)) if m and ',' not in n else None
    out, i = [], 0
    while i < len(pairs):
        j = i
        k = key(pairs[i][1])
        while (k and j + 1 < len(pairs) and pairs[j + 1][0] == pairs[j][0] + 1 and key(pairs[j + 1][1])
               and key(pairs[j + 1][1])[0] == k[0] and abs(key(pairs[j + 1][1])[1] - key(pairs[j][1])[1]) == 1):
            j += 1
        if j > i + 1:
            out.append(f'{pairs[i][0]}-{pairs[j][0]}:{pairs[i][1]}..{key(pairs[j][1])[1]}')
        else:
            j = i
            out.append(f'{pairs[i][0]}:{pairs[i][1]}')
        i = j + 1
    return out


def main():
    outdir, prog, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    args = [a for a in sys.argv[4:] if not a.startswith('--')]
    which = args[0] if args else 'last'
    present = '--present' in sys.argv
    syms = read_nm(f'{outdir}/{prog}.nm')
    for i in range(1, runs + 1):
        all_stops = list(stops(f'{outdir}/{prog}.{i}.dump'))
        mine = [s for s in all_stops if any(v[4].endswith('/' + prog) for v in s['vmas'])]
        if which == 'write':
            st = next(s for s in mine if s['call'] == 1)
        else:
            ru = [s for s in mine if s['call'] == 98]
            st = ru[-1] if which == 'last' else ru[int(which) - 1]
        label = labeller(st['vmas'], syms, prog)
        harness, progslots = [], {}
        for a, (kind, v) in sorted(st['pages'].items()):
            name = label(a)
            if name is None:
                if kind == 's':
                    progslots[v] = a
            elif kind == 's':
                harness.append((v, name))
            elif present and not any(k in name for k in ('text', '-ro', 'vdso', 'vvar')) and not name.startswith('anon@7ffff7fc'):
                harness.append((-1, name))
        print(f'{prog} run {i}: {sum(1 for s, _ in harness if s >= 0)} harness pages swapped, program pages swapped '
              f'{len(progslots)}, slots used up to {max(list(progslots) + [s for s, _ in harness], default=0)}')
        print('  ' + ' '.join(compact([(s, n) for s, n in sorted(harness) if s >= 0])))
        if present:
            print('  resident: ' + ' '.join(n for s, n in harness if s < 0))
        near = set()
        for s, _ in harness:
            if s >= 0:
                near.update(range(s - 8, s + 9))
        shown = [r for r in ranges(progslots) if near & set(r)]
        print('  program slots near them: ' + ' '.join(
            f'{r[0]}-{r[-1]}:{len(r)}(pages {(progslots[r[0]] - 0x100000000000) // 4096}..{(progslots[r[-1]] - 0x100000000000) // 4096})'
            for r in shown))


if __name__ == '__main__':
    main()
