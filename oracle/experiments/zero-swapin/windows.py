#!/usr/bin/env python3
"""trace.sh's traces read: for each user fault after the fill's last fault on region a (phase_end's harness faults, then
the fork phase's, until the read phase's first fault on a), the swap-cache LRU insertions and read-bio pages that follow
it before the next fault; the insertions beyond the bio pages are zeromap reads. The per-CPU lru_add batch moves
insertions to a later fault (negative counts), so per window the split is approximate; the totals are not.
Usage: windows.py OUTDIR RUNS (swap-fork-shared's comm)"""
import re, sys
for run in range(1, int(sys.argv[2]) + 1):
    ev=[]
    for l in open(f'{sys.argv[1]}/trace.{run}.txt'):
        if 'swap-fork-share' not in l[:24]: continue
        if 'page_fault_user' in l:
            m=re.search(r'address=(0x[0-9a-f]+).*error_code=(0x[0-9a-f]+)',l); ev.append(['F',int(m.group(1),16),m.group(2)])
        elif 'mm_lru_insertion' in l:
            ev.append(['L',l.split('flags=')[1]])
        elif 'block_bio_queue' in l:
            m=re.search(r'\d+,\d+ (\S+) (\d+) \+ (\d+)',l); ev.append(['B',m.group(1),int(m.group(2)),int(m.group(3))])
    # last fill fault on region a
    last=max(i for i,e in enumerate(ev) if e[0]=='F' and 0x100000000000<=e[1]<0x100001800000)
    # include the end of the fill loop's own swap-ins? start a bit after
    out=[]; cur=None; tz=tio=0
    for e in ev[last+1:]:
        if e[0]=='F':
            if cur and (cur[2] or cur[3]): out.append(cur)
            if e[1]>=0x100000000000 and e[1]<0x100001800000: break   # next phase touches a again
            cur=[hex(e[1]),e[2],0,0]
        elif cur is None: continue
        elif e[0]=='L' and 's' in e[1]: cur[2]+=1
        elif e[0]=='B' and e[1].startswith('R'): cur[3]+=e[3]//8
    if cur and (cur[2] or cur[3]): out.append(cur)
    print(f'run {run}:')
    for c in out:
        print(f'  fault {c[0]} {c[1]}: swap-cache LRU adds {c[2]}, read pages {c[3]}, zero {c[2]-c[3]}'); tz+=c[2]-c[3]; tio+=c[3]
    print('  total read',tio,'zero',tz)
