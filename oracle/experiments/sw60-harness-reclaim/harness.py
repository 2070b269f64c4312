#!/usr/bin/env python3
"""harness.py OUT PROGRAM RUNS [FROM_GETRUSAGE]: for each traced run (run.sh), from the FROM_GETRUSAGE'th getrusage on
(default 4, swappiness-60's anon window; file1's window is @6, its phase_end @7): each memcg reclaim (anon and file
scanned/reclaimed from lru_shrink_inactive) with the harness pages it wrote to swap (mm_vmscan_write_folio's pfn,
named through the allocation that followed the page's first fault) as #N (the Nth anonymous page written in the run)
and the CPU it ran on (6.18's swap allocator hands each CPU its own cluster); and each fault on a harness page
(u: user mode, k: kernel mode, e.g. rseq's stores after a sleep) with the number of user pages allocated before the
task's next fault (a swap-in's readahead window, a lower bound)."""
import re, sys

LINE = re.compile(r'^\s*(\S+)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$')


def program_region(a):
    return 0x100000000000 <= a < 0x100000800000 or 0x120000000000 <= a < 0x120001000000


def run(path, prog, start):
    ev = []
    for l in open(path):
        m = LINE.match(l)
        if m and m.group(1) == prog:
            ev.append((float(m.group(4)), int(m.group(3)), m.group(5), m.group(6)))
    pfn_of = {}      # pfn -> harness page (the allocation after its first fault)
    frame = {}       # harness page -> its pfn
    pending = None
    nth = 0
    t0 = None
    out = []
    rec = None
    nwritten = 0
    fault = None     # [time, text, allocations] of the last harness fault
    for t, cpu, name, args in ev:
        if name == 'sys_enter':
            nth += 1
            continue
        if name in ('page_fault_user', 'page_fault_kernel'):
            if fault is not None:
                out.append((fault[0], f'{fault[1]} allocs {fault[2]}'))
                fault = None
            a = int(re.search(r'address=(0x[0-9a-f]+)', args).group(1), 16) & ~0xfff
            if t0 is None and a == 0x120000000000:
                t0 = t
                out.append((t, f'@{nth} file1 first fault f0'))
            pending = None
            if not program_region(a) and a < 0x800000000000:
                if nth < start:
                    pending = a   # before any swap-out: the page's latest allocation is its frame
                else:
                    err = re.search(r'error_code=(0x[0-9a-f]+)', args).group(1)
                    fault = [t, f'@{nth} {name[11]} fault {a:#x} err={err} cpu{cpu}', 0]
            continue
        if name == 'mm_page_alloc' and 'GFP_HIGHUSER_MOVABLE' in args:
            pfn = int(re.search(r'pfn=(0x[0-9a-f]+)', args).group(1), 16)
            pfn_of.pop(pfn, None)
            if pending is not None:
                if pending in frame:
                    pfn_of.pop(frame[pending], None)
                pfn_of[pfn] = pending
                frame[pending] = pfn
                pending = None
            if fault is not None:
                fault[2] += 1
            continue
        if name == 'mm_vmscan_memcg_reclaim_begin':
            rec = [t, 0, 0, 0, 0, []]
            continue
        if name == 'mm_vmscan_lru_shrink_inactive' and rec is not None:
            s = int(re.search(r'nr_scanned=(\d+)', args).group(1)); r = int(re.search(r'nr_reclaimed=(\d+)', args).group(1))
            if 'WB_ANON' in args:
                rec[1] += s; rec[2] += r
            else:
                rec[3] += s; rec[4] += r
            continue
        if name == 'mm_vmscan_write_folio':
            nwritten += 1
            pfn = int(re.search(r'pfn=(0x[0-9a-f]+)', args).group(1), 16)
            if pfn in pfn_of and rec is not None:
                rec[5].append(f'#{nwritten}:{pfn_of.pop(pfn):#x}/cpu{cpu}')
            continue
        if name == 'mm_vmscan_memcg_reclaim_end' and rec is not None:
            if nth >= start and (rec[5] or t0 is None or t - t0 < 0.025):
                out.append((t, f'@{nth} reclaim {1e3*(t-rec[0]):.2f} ms anon {rec[1]}/{rec[2]} file {rec[3]}/{rec[4]}'
                               + (f' harness out ({len(rec[5])}): ' + ' '.join(rec[5]) if rec[5] else '')))
            rec = None
    for t, s in out:
        rel = f'{1e3*(t-t0):+8.2f} ms' if t0 is not None else ''
        print(f'  {rel} {s}')


if __name__ == '__main__':
    out, prog, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    start = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    for i in range(1, runs + 1):
        print(f'{prog} run {i}:')
        run(f'{out}/{prog}.{i}.trace', prog, start)
