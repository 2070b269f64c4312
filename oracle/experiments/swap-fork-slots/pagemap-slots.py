#!/usr/bin/env python3
"""poll2.py OUT STOP: while STOP does not exist, polls the kit program ("prog") and its forked child: every swapped-out
page's swap offset from /proc/PID/pagemap (bit 62 swapped, bits 5-54 offset). Writes OUT.parent (address slot first-seen
snapshot, one line each time a page's slot is first seen or changes) and OUT.child (the child's region slots, last read)."""
import os, sys, time, struct
out, stop = sys.argv[1], sys.argv[2]
R = 0x100000000000; N = 6144
def comm(p):
    try: return open(f'/proc/{p}/comm').read().strip()
    except OSError: return None
def ppid(p):
    try: return int(open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[1])
    except (OSError, ValueError, IndexError): return None
def read(p, start, n):
    with open(f'/proc/{p}/pagemap', 'rb') as f:
        f.seek((start >> 12) * 8); b = f.read(n * 8)
    return struct.unpack(f'{len(b)//8}Q', b)
seen = {}; log = open(out + '.parent', 'w'); snap = 0
while not os.path.exists(stop):
    for p in os.listdir('/proc'):
        if not p.isdigit() or comm(p) != 'prog': continue
        pp = ppid(p)
        try:
            if pp is not None and comm(pp) == 'prog':
                v = read(p, R, N)
                with open(out + '.child.tmp', 'w') as o:
                    for i, x in enumerate(v): o.write(f'{i} {x >> 5 & ((1 << 50) - 1) if x >> 62 & 1 else -1}\n')
                os.replace(out + '.child.tmp', out + '.child')
                continue
            for line in open(f'/proc/{p}/maps'):
                a, b = (int(x, 16) for x in line.split()[0].split('-'))
                if b - a > (64 << 20): continue
                for i, x in enumerate(read(p, a, (b - a) >> 12)):
                    if x >> 62 & 1:
                        s = x >> 5 & ((1 << 50) - 1); addr = a + (i << 12)
                        if seen.get(addr) != s:
                            seen[addr] = s; log.write(f'{addr:#x} {s} {snap}\n')
        except OSError: continue
    snap += 1
    time.sleep(0.005)
log.close(); print('snaps', snap)
