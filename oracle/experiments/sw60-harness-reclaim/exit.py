#!/usr/bin/env python3
"""exit.py COMM TRACE: a run.sh trace's faults after the program's last getrusage (phase_end's tail and exit()), each as
address(u|k for user/kernel mode, r|w, user pages allocated before the next fault). COMM is the task's comm (15
characters at most: thp-deferred-split-memcg's is thp-deferred-sp)."""
import re, sys
LINE = re.compile(r'^\s*(\S+)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$')
prog, path = sys.argv[1], sys.argv[2]
ev=[]
for l in open(path):
    m=LINE.match(l)
    if m and m.group(1)==prog: ev.append((float(m.group(4)), m.group(5), m.group(6)))
n_gr=sum(1 for e in ev if e[1]=='sys_enter')
nth=0; cur=None; out=[]
for t,name,args in ev:
    if name=='sys_enter': nth+=1; continue
    if name in ('page_fault_user','page_fault_kernel'):
        if cur: out.append(cur)
        a=int(re.search(r'address=(0x[0-9a-f]+)',args).group(1),16)
        err=re.search(r'error_code=(0x[0-9a-f]+)',args).group(1)
        cur=[nth, name[11], hex(a), err, 0]
        continue
    if name=='mm_page_alloc' and 'GFP_HIGHUSER_MOVABLE' in args and cur: cur[4]+=1
if cur: out.append(cur)
print('getrusage calls', n_gr)
print(' exit:', ' '.join(f'{a}({k}{"w" if e=="0x6" or e=="0x2" or e=="0x3" or e=="0x7" else "r"},{n})' for g,k,a,e,n in out if g==n_gr))
