#!/usr/bin/env python3
"""ecsfaults.py JSONL: EcsMem's faults in order, region (0x1000_0000_0000..0x1300_0000_0000) runs collapsed as
[N maj/M min region]; harness faults named by role: M=major m=minor, s=store l=load."""
import json, sys
LIBC = 0x7ffff7fa8000
names = {0x7fffffffe: 'top', 0x7fffffffd: 'st2', 0x7fffffffc: 'st3', 0xe0000001: '.data', 0x7ffff7dd0: 'tls0', 0x7ffff7dd1: 'rseq', 0x7ffff7fc0: 'ldscratch'}
libc = {0: 'i4', 1: 'i5', 2: 'i6', 3: 'i7', 4: 'i8', 5: 'i9', 6: 'i11', 7: 'i12', 8: 'i13', 9: 'i14', 10: 'i17', 11: 'i18', 12: 'i19', 13: 'i20', 14: 'i21'}
def name(a):
    p = a >> 12
    if p in names: return names[p]
    if 0xe0000002 <= p < 0xe0000002 + 128: return 'bss%d' % (p - 0xe0000002)
    if LIBC >> 12 <= p < (LIBC >> 12) + 15: return libc[p - (LIBC >> 12)]
    if 0x7ffffffbc <= p < 0x7fffffffc: return 'arr%d' % (p - 0x7ffffffbc)
    return hex(a)
out = []; maj = mn = 0
def flush():
    global maj, mn
    if maj or mn: out.append('[%d/%d region]' % (maj, mn))
    maj = mn = 0
for l in open(sys.argv[1]):
    if '"fault"' not in l: continue
    j = json.loads(l)
    if j['kind'] != 'fault' or j['pid'] != 1: continue
    a = int(j['address'], 16)
    if 0x100000000000 <= a < 0x130000000000:
        if j['major']: maj += 1
        else: mn += 1
        continue
    flush()
    out.append(('M' if j['major'] else 'm') + ('s' if j['access'] == 'store' else 'l') + ':' + name(a) + ('' if j['outcome']=='installed' else '/' + j['outcome']) + ('/' + j['class'] if j['class'] not in ('anon','swap') else ''))
flush()
print(' '.join(out))
