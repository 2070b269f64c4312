#!/usr/bin/env python3
"""EcsMem's side of steps.py: python3 ecsmem-steps.py EVENTS.jsonl, from
`ecsmem run oracle/gen/PROGRAM.yaml --events EVENTS.jsonl --events-kind reclaim,swap_out`: each direct reclaim's
reclaimed/written (swap_out events since the previous reclaim), run-length encoded."""
import json, sys

out, prev, n, sw, calls = [], None, 0, 0, 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e['kind'] == 'swap_out':
        sw += 1
    elif e['kind'] == 'reclaim' and e.get('direct'):
        calls += 1
        key = f"{e['reclaimed']}/{sw}"
        sw = 0
        if key == prev:
            n += 1
            continue
        if prev: out.append(prev + (f'×{n}' if n > 1 else ''))
        prev, n = key, 1
if prev: out.append(prev + (f'×{n}' if n > 1 else ''))
print(f'{sys.argv[1]}: {calls} calls: ' + ' '.join(out))
