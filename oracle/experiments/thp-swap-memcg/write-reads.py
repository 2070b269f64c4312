#!/usr/bin/env python3
"""The rewrite pass's swap reads per THP of the region, from kit.sh traces run with
KIT_EXTRA_EVENTS="exceptions:page_fault_user": each block_rq_issue R of the program put with the page_fault_user before
it; per 2 MiB block: requests, pages read, requests by size. Usage: python3 write-reads.py OUT/trace.N.txt..."""
import sys,re,collections
base=0x100000000000
fault_re=re.compile(r'^\s*(\S+)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): page_fault_user: address=(0x[0-9a-f]+)')
rq_re=re.compile(r'^\s*(\S+)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): block_rq_issue: \S+ (\S+) \d+ \(\) (\d+) \+ (\d+)')
for fn in sys.argv[1:]:
    faults=[]; cur=None; phase='fill'; seen_end=False
    per=collections.defaultdict(lambda: collections.Counter())
    slots=collections.defaultdict(list)
    reads_faults=collections.Counter()
    last_fault_page=None
    nreads=0
    for line in open(fn):
        m=fault_re.match(line)
        if m and m.group(1).startswith('thp-swpout'):
            a=int(m.group(4),16)
            if base<=a<base+(32<<20):
                pg=(a-base)>>12
                if phase=='fill' and pg>=7680: seen_end=True
                if phase=='fill' and seen_end and pg<100: phase='write'
                last_fault_page=(phase,pg)
            else:
                last_fault_page=(phase,None)
            continue
        m=rq_re.match(line)
        if m and m.group(1).startswith('thp-swpout') and 'R' in m.group(4) and 'W' not in m.group(4):
            if last_fault_page and last_fault_page[0]=='write' and last_fault_page[1] is not None:
                pg=last_fault_page[1]; t=pg>>9
                n=int(m.group(6))//8
                per[t][n]+=1
                slots[t].append((pg&511,int(m.group(5))//8,n))
    print(fn)
    tot=collections.Counter()
    for t in range(16):
        c=per[t]; tot+=c
        s=slots[t]
        mn=min(x[1] for x in s) if s else 0
        print(f" THP{t:2d} reqs {sum(c.values()):4d} pages {sum(k*v for k,v in c.items()):4d} sizes {dict(sorted(c.items()))} minslot {mn}")
    print(' total',sum(tot.values()),dict(sorted(tot.items())))
