#!/usr/bin/env python3
"""ecsmem_swapins.py EVENTS.jsonl [all]: EcsMem's side of exit.py, from `ECSMEM_ORACLE_EVENTS=DIR ... eval PROGRAM`
(DIR/PROGRAM.jsonl, or DIR/PROGRAM.previous.jsonl for the previous-run pass): each fault outside the program's anonymous
region `a` (0x100000000000-0x100000800000; `all`: every fault) that swapped pages in or was major, in order, with its
time (ms), access, class, and the swap slots and addresses its swap-in read (the faulting page's last: a fault's event
is written when it ends)."""
import json, sys

ev = [json.loads(l) for l in open(sys.argv[1])]
every = 'all' in sys.argv[2:]
pending = []
for e in ev:
    k = e['kind']
    if k == 'swap_in':
        pending.append((e['slot'], e['address']))
    elif k == 'fault':
        a = int(e['address'], 16)
        in_a = 0x100000000000 <= a < 0x100000800000
        if (pending or e['major']) and (every or not in_a):
            print(f"{e['time'] / 1e6:9.3f} {e['address']} {e['access']} {e['class']} major={e['major']} "
                  f"window={len(pending)} " + ' '.join(f'{s}:{x}' for s, x in pending))
        pending = []
