#!/usr/bin/env python3
"""ecsmem.py EVENTS.jsonl: EcsMem's side of harness.py, from `ECSMEM_ORACLE_EVENTS=DIR ... eval swappiness-60`
(DIR/swappiness-60.jsonl): from file1's first fault to file2's, each direct reclaim (scanned/reclaimed) with the
harness pages it swapped out (slot:address, in order) and each harness fault with the slots its swap-in read."""
import json, sys

def region(a):
    if 0x100000000000 <= a < 0x100000800000: return 'A'
    if 0x120000000000 <= a < 0x120001000000: return 'F'
    return 'H'

ev = [json.loads(l) for l in open(sys.argv[1])]
f0 = [i for i, e in enumerate(ev) if e['kind'] == 'fault' and e['address'] == '0x120000000000']
# the fault event is written when the fault ends: file1 starts after the anon phase's last fault
a_end = max(i for i, e in enumerate(ev[:f0[0]]) if e['kind'] == 'fault' and region(int(e['address'], 16)) == 'A')
t0 = ev[f0[0]]['time']
out, reads = [], []
for e in ev[a_end + 1:f0[1]]:
    k = e['kind']
    if k == 'swap_out' and region(int(e['address'], 16)) == 'H':
        out.append(f"{e['slot']}:{e['address']}")
    elif k == 'reclaim':
        print(f"  {(e['time'] - t0) / 1e6:+8.2f} ms reclaim scanned {e['scanned']} reclaimed {e['reclaimed']}"
              + (f" harness out ({len(out)}): {' '.join(out[:21])}{' ...' if len(out) > 21 else ''}" if out else ''))
        out = []
    elif k == 'swap_in':
        reads.append(e['slot'])
    elif k == 'fault':
        a = int(e['address'], 16)
        if region(a) == 'H':
            print(f"  {(e['time'] - t0) / 1e6:+8.2f} ms fault {e['address']} {e['access']} {e['class']}"
                  f"{' major' if e['major'] else ''}" + (f" read slots {sorted(reads)}" if reads else ''))
        elif e['major']:
            print(f"  {(e['time'] - t0) / 1e6:+8.2f} ms fault f{(a - 0x120000000000) >> 12} major")
        reads = []
