#!/usr/bin/env python3
"""What each readahead window's reclaim rounds took, kernel and EcsMem side by side, for one file pass.

Kernel: `RA_TRACE_SHRINK=1 run.sh RUNS OUT PROGRAM` (the shrink_inactive/active tracepoints too), then
  reclaimed.py OUT/PROGRAM.RUN.trace [PASS]
per window (a page_cache_ra_order / _ra_unbounded event): the pages it added, the file pages the memcg reclaim rounds
meanwhile deleted from the page cache (index ranges), their nr_reclaimed (less the deleted file pages: the other,
anonymous, pages), and shrink_inactive_list's anon/file nr_scanned, nr_reclaimed, nr_ref_keep, activations, with
shrink_active_list's deactivations and the priorities the rounds reached.
EcsMem: `ECSMEM_ORACLE_PAGECACHE=1 dotnet run -c Release --no-build --project oracle/Ecs.Mem.Oracle -- eval PROGRAM
2> F.txt`, then
  reclaimed.py --ecsmem F.txt [PASS]
per window (the reads after one fault): the pages read, the rounds' page-cache deletions, the pages they freed, the
anonymous PTEs set to swap entries, pgscan_anon/_file, pgsteal_file and pgdeactivate.
PASS: 1 (default) or 2, the file pass (a pass starts at a fault below the one before: the first pass's first
fault is on page 0, the second's need not be, its first pages may still be mapped)."""
import collections, re, sys

RANGE = re.compile(r'\[(\d+),(\d+)\)')
EV = re.compile(r'\s(\d+\.\d+): (\w+): (.*)$')


def ranges(pages):
    out = []
    for i in sorted(set(pages)):
        if out and out[-1][1] == i:
            out[-1][1] = i + 1
        else:
            out.append([i, i + 1])
    return ' '.join(f'[{a},{b})' for a, b in out)


def kernel(fn, want):
    passn, last, win = 0, -1, None
    wins = []
    pid, out_at, out_state = None, None, None
    for line in open(fn):
        m = EV.search(line)
        if not m:
            continue
        t, name, rest = float(m.group(1)), m.group(2), m.group(3)
        f = dict(re.findall(r'(\w+)=(\d+)', rest))
        if name == 'sched_switch':
            # The program switched out (prev_pid: R+ preempted, D waiting on I/O) and back in (next_pid).
            if pid is not None and f.get('prev_pid') == pid:
                out_at, out_state = t, re.search(r'prev_state=(\S+)', rest).group(1)
            elif pid is not None and f.get('next_pid') == pid and out_at is not None:
                if win is not None:
                    win['s'][f'switched out {out_state[0]} ms'] = round(win['s'][f'switched out {out_state[0]} ms'] + (t - out_at) * 1e3, 2)
                out_at = None
            continue
        if win is not None:
            win['end'] = t
        if name == 'mm_filemap_fault':
            pid = pid or re.match(r'\s*\S+-(\d+)\s', line).group(1)
            idx = int(f['ofs']) >> 12
            if idx < last or passn == 0:
                passn += 1
            last = idx
            continue
        if passn != want:
            continue
        if name in ('page_cache_ra_order', 'page_cache_ra_unbounded'):
            win = {'name': f"{name[11:]} at fault {last} index={f['index']}", 'add': [], 'del': [], 'rec': 0,
                   's': collections.Counter(), 'prio': set(), 'start': t, 'end': t}
            wins.append(win)
        elif win is None:
            continue
        elif name in ('mm_filemap_add_to_page_cache', 'mm_filemap_delete_from_page_cache'):
            ofs = int(f['ofs']) >> 12
            nr = 1 << int(f.get('order', 0))
            win['add' if 'add' in name else 'del'].extend(range(ofs, ofs + nr))
        elif name == 'mm_vmscan_memcg_reclaim_end':
            win['rec'] += int(f['nr_reclaimed'])
        elif name == 'mm_vmscan_lru_shrink_inactive':
            k = 'file' if 'WB_FILE' in rest else 'anon'
            win['s'][k + ' scanned'] += int(f['nr_scanned'])
            win['s'][k + ' reclaimed'] += int(f['nr_reclaimed'])
            win['s'][k + ' keep'] += int(f['nr_ref_keep'])
            win['s'][k + ' activated'] += int(f['nr_activate_anon']) + int(f['nr_activate_file'])
            win['prio'].add(int(f['priority']))
        elif name == 'mm_vmscan_lru_shrink_active':
            win['s'][('file' if 'WB_FILE' in rest else 'anon') + ' deactivated'] += int(f['nr_deactivated'])
    for w in wins:
        s = w['s']
        ms = (w['end'] - w['start']) * 1e3
        out = sum(v for k, v in s.items() if k.startswith('switched out'))
        print(f"  {w['name']} ({ms:.2f} ms to its last event, {ms - out:.2f} of it on a CPU): added {ranges(w['add'])} ({len(w['add'])})")
        print(f"     deleted {len(w['del'])} {ranges(w['del'])}; reclaimed {w['rec']} (other {w['rec'] - len(w['del'])})")
        print('     ' + ', '.join(f'{k} {s[k]}' for k in sorted(s)) + f"; priorities {sorted(w['prio'])}")


def ecsmem(fn, want):
    passn, last, cur = 0, -1, None
    wins = []
    for line in open(fn):
        w = line.split()
        if not w:
            continue
        if w[0] == 'fault':
            idx = int(w[1])
            if idx < last or passn == 0:
                passn += 1
            last = idx
            continue
        if passn != want:
            continue
        if w[0] == 'read':
            if cur is None or cur['fault'] != last:
                cur = {'fault': last, 'add': [], 'del': [], 'n': collections.Counter()}
                wins.append(cur)
            cur['add'] += [x for a, b in RANGE.findall(line) for x in range(int(a), int(b))]
        elif w[0] == 'reclaim' and cur is not None:
            # reclaim scanned S freed N swapped U anon/file scanned A F file stolen T deactivated V deleted D ranges
            n = cur['n']
            n['rounds'] += 1
            n['scanned'] += int(w[2]); n['freed'] += int(w[4]); n['anon swapped'] += int(w[6])
            n['anon scanned'] += int(w[9]); n['file scanned'] += int(w[10]); n['file stolen'] += int(w[13])
            n['deactivated'] += int(w[15])
            cur['del'] += [x for a, b in RANGE.findall(line) for x in range(int(a), int(b))]
    for c in wins:
        n = c['n']
        # The fault line comes at the fault's end, so a window's reads follow the fault before the one that started it.
        print(f"  reads after fault {c['fault']}: added {ranges(c['add'])} ({len(c['add'])})")
        print(f"     {n['rounds']} rounds deleted {len(c['del'])} {ranges(c['del'])}; freed {n['freed']} (other {n['freed'] - len(c['del'])})")
        print('     ' + ', '.join(f'{k} {n[k]}' for k in ('anon scanned', 'anon swapped', 'file scanned', 'file stolen', 'deactivated')))


args = [a for a in sys.argv[1:] if a != '--ecsmem']
(ecsmem if '--ecsmem' in sys.argv else kernel)(args[0], int(args[1]) if len(args) > 1 else 1)
