#!/usr/bin/env python3
"""The program region's swap-in faults in one pswp stretch (windows.py's stretches): seq.py TRACE STRETCH.
Prints the faults and pages read, then each fault that breaks the 8-page stride (page index:window)."""
import sys
from windows import faults, area
fl, _ = faults(sys.argv[1])
k = int(sys.argv[2])
prev_end = None; total = 0; n = 0; breaks = []
for a, w, again, s, kind in fl:
    if s != k or area(a) != 'prog' or w == 0: continue
    p = (a - 0x100000000000) >> 12
    total += w; n += 1
    if prev_end is None or p != prev_end or w != 8: breaks.append(f'{p}:{w}')
    prev_end = p + w
print(f'faults {n} pages {total}')
print(' '.join(breaks))
