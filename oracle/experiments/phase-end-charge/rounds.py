#!/usr/bin/env python3
"""rounds.py PHASE_INDEX TRACE...: for each run.sh trace (a memcg program run as record.sh runs it), the memcg reclaim
rounds of one phase: the phase runs from its phase_start getrusage to its phase_end getrusage (harness.h: main's entry
reads memory.stat after one getrusage, then each phase has a getrusage at its start and one at its end, so phase k,
0-based, is getrusage 2k+1 to 2k+2). Prints the phase's length, its rounds and pages reclaimed, where the first
round starts and ends (fraction of the phase), and the rounds and pages finished by 7 %, 10.9 % and 15 % of it
(session 24's align.py points where the kernel freed the exec chain's page tables: swappiness-60's file1@0.070 and
file1@0.109). Session 25 (sw60file1)."""
import re
import sys

k = int(sys.argv[1])
for path in sys.argv[2:]:
    ru, begins, ends = [], [], []
    for line in open(path):
        m = re.search(r'\s(\d+\.\d+):\s+(\w+)', line)
        if not m:
            continue
        t, n = float(m.group(1)), m.group(2)
        if n == 'sys_getrusage':
            ru.append(t)
        elif n == 'mm_vmscan_memcg_reclaim_begin':
            begins.append(t)
        elif n == 'mm_vmscan_memcg_reclaim_end':
            ends.append((t, int(re.search(r'nr_reclaimed=(\d+)', line).group(1))))
    s, e = ru[2 * k + 1], ru[2 * k + 2]
    rounds = [(t, n) for t, n in ends if s <= t <= e]
    first_begin = next(t for t in begins if t >= s)

    def upto(f):
        done = [n for t, n in rounds if t <= s + f * (e - s)]
        return f'{len(done)}/{sum(done)}'

    print(f'{path}: phase {(e - s) * 1e3:.1f} ms, rounds {len(rounds)} reclaimed {sum(n for _, n in rounds)}, '
          f'first round {(first_begin - s) / (e - s):.3f}-{(rounds[0][0] - s) / (e - s):.3f}, '
          f'rounds/pages done by 7% {upto(0.07)} 10.9% {upto(0.109)} 15% {upto(0.15)}')
