#!/usr/bin/env python3
"""rseq.py TRACE...: for a run.sh trace of thp-swpout (fill, the 2nd getrusage window) or thp-deferred-split-memcg
(pressure, the 6th): the task's switches inside the window's first memcg reclaim and after it (prev_state>next task),
the memcg reclaim before which its first rseq fault (rseq_ip_fixup's __get_user_8 at 0x7ffff7dd1068) came, and the
window's harness faults in order: address:mode(u/k)+r/w:user pages allocated before the next fault (its swap-in window,
0 = a swap-cache hit or no read). Session 18, prevthp."""
import re, sys
LINE = re.compile(r'^\s*(\S+)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$')
for f in sys.argv[1:]:
    prog, want = ('thp-swpout', 2) if 'swpout' in f else ('thp-deferred-sp', 6)
    nth = st = reclaims = 0; inside, after, faults = [], [], []; rs = None; cur = None
    for l in open(f):
        m = LINE.match(l)
        if not m: continue
        n, a, mine = m.group(5), m.group(6), m.group(1) == prog
        if mine and n == 'sys_enter': nth += 1; cur = None; continue
        if nth != want: continue
        if mine and n == 'mm_vmscan_memcg_reclaim_begin':
            reclaims += 1; st = st or 1; continue
        if mine and n == 'mm_vmscan_memcg_reclaim_end' and st == 1: st = 2; continue
        if n == 'sched_switch' and f'prev_comm={prog}' in a:
            s = re.search(r'prev_state=(\S+)', a).group(1) + '>' + re.search(r'next_comm=(.*) next_pid', a).group(1)
            (inside if st == 1 else after if st == 2 and rs is None else []).append(s)
        if mine and n in ('page_fault_user', 'page_fault_kernel'):
            addr = int(re.search(r'address=(0x[0-9a-f]+)', a).group(1), 16)
            if addr >> 40 in (0x10, 0x12): cur = None; continue
            if addr == 0x7ffff7dd1068 and rs is None: rs = reclaims
            e = int(re.search(r'error_code=(0x[0-9a-f]+)', a).group(1), 16)
            cur = [hex(addr), n[11] + ('w' if e & 2 else 'r'), 0]; faults.append(cur)
        elif n == 'mm_page_alloc' and mine and cur is not None and 'HIGHUSER' in a: cur[2] += 1
    print(f.split('/')[-1], '| first rseq fault after reclaim', rs, 'of', reclaims, '| switches in the 1st reclaim:', ' '.join(inside),
          '| after it, before the rseq fault:', ' '.join(after))
    print('   harness faults:', ' '.join(f'{x[0]}:{x[1]}:{x[2]}' for x in faults))
