#!/usr/bin/env python3
"""EcsMem's side of windows.py: ecsmem.py EVENTS.jsonl [--pages] (from ECSMEM_ORACLE_EVENTS=DIR ... eval PROGRAM).
Per pswp stretch (split at the openat of /proc/vmstat that ends each phase_end; stretch 0 is before the first phase's
vmstat read), the pages read from swap (swap_in events, which come before the fault they serve) by the area of the
fault that read them (program regions >= 16 TiB, 'bin' the scenario's binary data below them, 'lib', 'stack'), the
swap-read faults, the swap_out events, and with --pages each harness swap-read fault (address:pages read)."""
import json, sys
from collections import Counter

def area(a):
    if 0x100000000000 <= a < 0x7f0000000000: return 'prog'
    if a < 0x100000000000: return 'bin'
    if a >= 0x7ffffff00000: return 'stack'
    return 'lib'

path = sys.argv[1]; pages = '--pages' in sys.argv
stretch, by, outs, faults, hf, pend = 0, Counter(), 0, 0, [], 0
def flush():
    print(f'stretch {stretch}: pswpin {sum(by.values()) + pend} {dict(by)} swap-read faults {faults} swap_out {outs}')
    if pages: print('   harness: ' + ' '.join(hf))
for line in open(path):
    d = json.loads(line)
    k = d['kind']
    if k == 'syscall' and d.get('call') == 'openat' and '"/proc/self/smaps"' in d['strace']:
        flush(); stretch += 1; by.clear(); outs = 0; faults = 0; hf = []; pend = 0
    elif k == 'swap_in':
        pend += 1
    elif k == 'fault' and pend:
        a = int(d['address'], 16)
        by[area(a)] += pend; faults += 1
        if area(a) != 'prog': hf.append(f'{a:#x}:{pend}')
        pend = 0
    elif k == 'swap_out':
        outs += 1
flush()
