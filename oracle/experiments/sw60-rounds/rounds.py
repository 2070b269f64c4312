#!/usr/bin/env python3
"""Per memcg reclaim round of one phase: its shrink_inactive/active calls (session 28, sw60rounds).
   rounds.py PHASE_INDEX TRACE...        kernel traces from run.sh (getrusage 2k+1..2k+2 bound phase k, k from 0:
                                         the harness calls getrusage at main's entry, then at each phase's start and end)
   rounds.py --ecsmem PHASE STDERR       EcsMem's ECSMEM_ORACLE_RECLAIMS=1 stderr (with ECSMEM_ORACLE_RECLAIM_CALLS=1)
Prints, per round, its calls as LIST:priority:scanned/reclaimed (Ai/Fi inactive anon/file; Aa/Fa active: taken/deact),
then totals: rounds, reclaimed, reclaimed per list, the priority each round ended at."""
import collections, re, sys

CALL = re.compile(r'(\d+\.\d+): mm_vmscan_lru_shrink_(inactive|active): nid=\d+ (.*) priority=(\d+) flags=(\S+)')

def kernel(path, k):
    rounds, cur, ru = [], None, 0
    for line in open(path):
        if 'sys_getrusage' in line:
            ru += 1
            continue
        if not (2 * k + 2 <= ru < 2 * k + 3):
            continue
        if 'memcg_reclaim_begin' in line:
            cur = []
        elif 'memcg_reclaim_end' in line:
            m = re.search(r'nr_reclaimed=(\d+)', line)
            rounds.append((int(m.group(1)), cur or []))
            cur = None
        else:
            m = CALL.search(line)
            if m and cur is not None:
                f = dict(kv.split('=') for kv in m.group(3).split())
                lst = ('F' if 'FILE' in m.group(5) else 'A') + ('i' if m.group(2) == 'inactive' else 'a')
                if m.group(2) == 'inactive':
                    cur.append((lst, int(m.group(4)), int(f['nr_scanned']), int(f['nr_reclaimed'])))
                else:
                    cur.append((lst, int(m.group(4)), int(f['nr_taken']), int(f['nr_deactivated'])))
    return rounds

def ecsmem(path, phase):
    rounds, cur, on = [], None, False
    for line in open(path):
        m = re.match(r'phase (\S+) (start|end)', line)
        if m:
            on = m.group(1) == phase and m.group(2) == 'start'
            continue
        if not on:
            continue
        m = re.match(r'call (\w\w) priority (\d+) scanned (\d+) reclaimed (\d+)', line)
        if m:
            cur = cur if cur is not None else []
            cur.append((m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))))
            continue
        m = re.match(r'reclaim .* freed (\d+)', line)
        if m:
            rounds.append((int(m.group(1)), cur or []))
            cur = None
    return rounds

def report(name, rounds, verbose):
    per = collections.Counter(); endp = collections.Counter(); calls = 0
    for rec, cs in rounds:
        for lst, p, s, r in cs:
            if lst.endswith('i'):
                per[lst] += r
            calls += 1
        if cs:
            endp[cs[-1][1]] += 1
        if verbose:
            print('  %3d: %s' % (rec, ' '.join('%s:%d:%d/%d' % c for c in cs)))
    print('%s: rounds %d reclaimed %d (Ai %d Fi %d) calls %d end priority %s' % (
        name, len(rounds), sum(r for r, _ in rounds), per['Ai'], per['Fi'], calls,
        ' '.join('%d:%d' % (p, endp[p]) for p in sorted(endp, reverse=True))))

args = sys.argv[1:]
verbose = '-v' in args
args = [a for a in args if a != '-v']
if args[0] == '--ecsmem':
    report('ecsmem', ecsmem(args[2], args[1]), verbose)
else:
    for t in args[1:]:
        report(t, kernel(t, int(args[0])), verbose)
