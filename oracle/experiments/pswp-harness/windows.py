#!/usr/bin/env python3
"""Each swap-in fault's window over each phase's pswp stretch, from run.sh's traces: windows.py OUT PROGRAM RUNS [--pages].

A fault's window is the order-0 GFP_HIGHUSER_MOVABLE allocations (not __GFP_WRITE) of the pid before its next fault (as
../swap-ra-exit/exit.py counts it: swap_cluster_readahead allocates the faulting page and each slot of its block it
reads; a slot already in the swap cache or free allocates nothing). Zero-filled pages (the swap zeromap: swpin_zero, not
pswpin) allocate too, so a stretch's windows are at least its pswpin. The pswp stretch of phase k is where the harness
reads /proc/vmstat (harness.h swap_counts): from the openat of /proc/vmstat that ends phase_end k-1 (for k = 0: the
read before the first phase) to phase_end k's; after warm_up's getrusage the pid's openats are /dev/null, that first
/proc/vmstat, then 8 a memcg phase_end (smaps, smaps_rollup, memory.stat, oom_control, failcnt, max_usage_in_bytes,
meminfo, vmstat). Faults after the last one (finish's write, exit) are counted apart ("exit").
Prints per run and stretch: the record's pswpin/pswpout, the windows' sum by area (program regions 16–80 TiB, the
binary's 0x5555... pages, libraries 0x7ff..., the stack), the swap-in faults, the mm_vmscan_write_folio count (pswpout
plus the zero-filled pages reclaim writes to the zeromap), and with --pages each harness swap-in as ADDR:WINDOW (k:
a kernel-mode fault, a copy to or from user memory)."""
import json, re, sys

TS = re.compile(r'^\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+): (.*)$')
PER_PHASE_END = 8

def area(a):
    if 0x100000000000 <= a < 0x500000000000: return 'prog'
    if a >> 28 == 0x55555: return 'bin'
    if a >= 0x7ffffff00000: return 'stack'
    if a >= 0x7ff000000000: return 'lib'
    return 'other'

def faults(path):
    """The pid's faults as [addr, window, seen before, stretch, 'u'|'k'] and mm_vmscan_write_folio counts by stretch.
    Stretch -1: before the first /proc/vmstat read; n (the phases' count): after the last."""
    ev = []
    for line in open(path):
        m = TS.match(line)
        if m: ev.append((m.group(2), m.group(4), m.group(5)))
    pid = next(p for p, e, r in ev if e == 'page_fault_user' and 'address=0x5555555' in r)
    ev = [(e, r) for p, e, r in ev if p == pid]
    seen, out, last, wout = set(), [], None, {}
    started, opens, stretch = False, 0, -1
    for e, r in ev:
        if e in ('page_fault_user', 'page_fault_kernel'):
            a = int(re.search(r'address=(0x[0-9a-f]+)', r).group(1), 16) & ~0xfff
            if a == last: continue
            out.append([a, 0, a in seen, stretch, e[11]])
            seen.add(a); last = a
        elif e == 'mm_page_alloc' and out and ' order=0 ' in r and 'GFP_HIGHUSER_MOVABLE' in r and '__GFP_WRITE' not in r:
            out[-1][1] += 1
        elif e == 'sys_enter':
            nr = int(r.split()[1])
            if nr == 98: started = True
            elif nr == 257 and started:
                opens += 1
                if opens >= 2 and (opens - 2) % PER_PHASE_END == 0: stretch += 1; last = None
        elif e == 'mm_vmscan_write_folio':
            wout[stretch] = wout.get(stretch, 0) + 1
    return out, wout

def main():
    out, prog, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pages = '--pages' in sys.argv
    for i in range(1, runs + 1):
        rec = json.load(open(f'{out}/{prog}.{i}.json'))
        fl, wout = faults(f'{out}/{prog}.{i}.trace')
        prev = rec['vmstat0']
        names = [ph['phase'] for ph in rec['phases']] + ['exit']
        for k, name in enumerate(names):
            if k < len(rec['phases']):
                ph = rec['phases'][k]; vs = ph['vmstat']
                head = (f'{prog} run {i} {name}: minflt {ph["minflt"]} majflt {ph["majflt"]} pswpin {vs["pswpin"] - prev["pswpin"]}'
                        f' pswpout {vs["pswpout"] - prev["pswpout"]}')
                prev = vs
            else:
                head = f'{prog} run {i} exit:'
            sel = [f for f in fl if f[3] == k and f[1] > 0 and (f[2] or f[1] > 1 or area(f[0]) != 'prog')]
            by = {}
            for a, w, again, s, kind in sel: by[area(a)] = by.get(area(a), 0) + w
            print(f'{head} | windows {sum(by.values())} {dict(sorted(by.items()))} faults {len(sel)} | write_folio {wout.get(k, 0)}')
            if pages:
                print('   harness: ' + ' '.join(f'{a:#x}{"k" if kind == "k" else ""}:{w}' for a, w, again, s, kind in sel if area(a) != 'prog'))

if __name__ == '__main__':
    main()
