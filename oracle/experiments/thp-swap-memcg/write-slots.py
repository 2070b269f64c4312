#!/usr/bin/env python3
"""The rewrite pass's reads of chosen THPs, fault by fault: PAGE_IN_THP:SLOT+PAGES (slot = sector / 8 less the swap
file's slot 0, which is the first harness write's block less 1). Usage: python3 write-slots.py OUT/trace.N.txt THP,THP,... FIRST [LAST]"""
import sys,re,collections
base=0x100000000000
fault_re=re.compile(r'^\s*(\S+)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): page_fault_user: address=(0x[0-9a-f]+)')
rq_re=re.compile(r'^\s*(\S+)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): block_rq_issue: \S+ (\S+) \d+ \(\) (\d+) \+ (\d+)')
fn=sys.argv[1]; want=set(int(x) for x in sys.argv[2].split(','))
phase='fill'; seen_end=False; last=None; first_w=None
out=collections.defaultdict(list)
for line in open(fn):
    m=fault_re.match(line)
    if m and m.group(1).startswith('thp-swpout'):
        a=int(m.group(4),16)
        if base<=a<base+(32<<20):
            pg=(a-base)>>12
            if phase=='fill' and pg>=7680: seen_end=True
            if phase=='fill' and seen_end and pg<100: phase='write'
            last=(phase,pg)
        else: last=(phase,None)
        continue
    m=rq_re.match(line)
    if m and m.group(1).startswith('thp-swpout') and m.group(4) == 'W' and first_w is None:
        first_w=int(m.group(5))//8
    if m and m.group(1).startswith('thp-swpout') and m.group(4) in ('R','RA'):
        if last and last[0]=='write' and last[1] is not None:
            pg=last[1]
            out[pg>>9].append((pg&511,int(m.group(5))//8,int(m.group(6))//8))
N=int(sys.argv[3]); T=int(sys.argv[4]) if len(sys.argv)>4 else 0
SLOT0=first_w-1
for t in sorted(want):
    l=[(p,s-SLOT0,n) for p,s,n in out[t]]
    print(t, ' '.join(f"{p}:{s}+{n}" for p,s,n in l[:N]), '...', ' '.join(f"{p}:{s}+{n}" for p,s,n in (l[-T:] if T else [])))
