#!/usr/bin/env python3
"""analyse.py OUT TSV: from run.sh's OUT (NAME.N.strace, NAME.N.json, NAME.nm) writes the kit's harness-lengths TSV
(oracle/harness-lengths.tsv) and prints, per program and phase, each run's figures and the largest other slurp of the
phase_end (which must stay below smaps's for smaps to be the slurp that reaches furthest into buf)."""
import glob, json, os, re, sys

out, tsv = sys.argv[1], sys.argv[2]
rows = []
open_re = re.compile(r'^(\d+) +openat\(AT_FDCWD, "([^"]+)", [^)]*\) = (\d+)')
read_re = re.compile(r'^(\d+) +read\((\d+), .*\) = (\d+)')
close_re = re.compile(r'^(\d+) +close\((\d+)\)')
for nm in sorted(glob.glob(os.path.join(out, '*.nm'))):
    name = os.path.basename(nm)[:-3]
    sym = dict(l.split() for l in open(nm))
    buf, outa = int(sym['buf'], 16), int(sym['out'], 16)
    runs = []
    for st in sorted(glob.glob(os.path.join(out, f'{name}.*.strace'))):
        i = st.split('.')[-2]
        fds, smaps, other, cur = {}, [], [], 0
        for line in open(st):
            if m := open_re.match(line):
                pid, path, fd = m.groups()
                fds[(pid, fd)] = [path, 0]
            elif m := read_re.match(line):
                pid, fd, n = m.groups()
                if (pid, fd) in fds:
                    fds[(pid, fd)][1] += int(n)
            elif m := close_re.match(line):
                pid, fd = m.groups()
                if (pid, fd) in fds:
                    path, n = fds.pop((pid, fd))
                    if path == '/proc/self/smaps':
                        smaps.append(n)
                        other.append(0)
                    elif smaps and (path.startswith('/proc/') or path.startswith('/sys/fs/cgroup')):
                        other[-1] = max(other[-1], n)
        text = open(os.path.join(out, f'{name}.{i}.json')).read()
        doc = json.loads(text)
        starts = [m.start() for m in re.finditer(r'\{"phase":"', text)]
        end = text.index('],"main"') if '],"main"' in text else text.rindex(']')
        rec = [(starts[k + 1] if k + 1 < len(starts) else end) - (starts[k] - (1 if k else 0)) for k in range(len(starts))]
        names = [p['phase'] for p in doc['phases']]
        assert len(names) == len(starts) == len(smaps), (name, i, len(names), len(starts), len(smaps))
        runs.append((i, names, smaps, other, starts[0], rec))
        for k, ph in enumerate(names):
            print(f'{name}\trun {i}\t{ph}\tsmaps {smaps[k]}\tother {other[k]}\thead {starts[0]}\trecord {rec[k]}')
    names = runs[0][1]
    for k, ph in enumerate(names):
        rows.append((name, ph, buf % 4096, outa % 4096, max(r[4] for r in runs), max(r[2][k] for r in runs), max(r[5][k] for r in runs)))
with open(tsv, 'w') as f:
    f.write('# The kit harness\'s measured lengths (oracle/experiments/harness-lengths, Linux 6.18, the largest of the runs): per memcg\n'
            '# program and phase, buf\'s and out\'s offsets in their first page (nm of the compiled program), the record\'s head (bytes\n'
            '# main emits before the first phase), the bytes phase_end\'s slurp of /proc/self/smaps reads into buf, and the bytes of\n'
            '# the phase\'s record (emit: the leading comma included). Read by HarnessLengths.cs.\n')
    f.write('program\tphase\tbuf_page_offset\tout_page_offset\thead_bytes\tsmaps_bytes\trecord_bytes\n')
    for r in rows:
        f.write('\t'.join(map(str, r)) + '\n')
