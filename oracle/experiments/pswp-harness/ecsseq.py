#!/usr/bin/env python3
"""EcsMem's side of seq.py: ecsseq.py EVENTS.jsonl STRETCH (stretches as ecsmem.py splits them): the program region's
swap-read faults and pages read, then each that breaks the 8-page stride (page index:pages read)."""
import json, sys
path, want = sys.argv[1], int(sys.argv[2])
stretch, pend, prev_end, out, n, total = 0, 0, None, [], 0, 0
for line in open(path):
    d = json.loads(line); k = d['kind']
    if k == 'syscall' and d.get('call') == 'openat' and '"/proc/self/smaps"' in d['strace']:
        stretch += 1; pend = 0
    elif k == 'swap_in':
        pend += 1
    elif k == 'fault':
        a = int(d['address'], 16)
        if stretch == want and pend and 0x100000000000 <= a < 0x500000000000:
            p = (a - 0x100000000000) >> 12
            n += 1; total += pend
            if prev_end is None or p != prev_end or pend != 8: out.append(f'{p}:{pend}')
            prev_end = p + pend
        pend = 0
print(f'faults {n} pages {total}')
print(' '.join(out))
