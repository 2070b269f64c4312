#!/usr/bin/env python3
"""EcsMem's side of write-reads.py: the rewrite pass's major faults per THP and the slot runs each read, from
`ECSMEM_ORACLE_EVENTS=DIR dotnet run -c Release --no-build --project oracle/Ecs.Mem.Oracle -- eval thp-swpout-fallback`.
Usage: python3 ecsmem-write-reads.py DIR/thp-swpout-fallback.jsonl"""
import sys,json,collections
base=0x100000000000
fn=sys.argv[1]
phase='fill'; pending=[]
per=collections.defaultdict(collections.Counter)
maj=collections.Counter(); minf=collections.Counter()
for line in open(fn):
    e=json.loads(line)
    k=e['kind']
    if k=='swap_in':
        pending.append(e['slot']); continue
    if k=='fault':
        a=int(e['address'],16)
        inreg=base<=a<base+(32<<20)
        if phase=='fill' and inreg and a==base and e['class']!='huge_anon': phase='write'
        if phase=='write' and inreg:
            t=(a-base)>>21
            if e.get('major'):
                maj[t]+=1
                s=sorted(set(pending)); runs=[]
                for x in s:
                    if runs and x==runs[-1][1]+1: runs[-1][1]=x
                    else: runs.append([x,x])
                for r in runs: per[t][r[1]-r[0]+1]+=1
            else: minf[t]+=1
        pending=[]
        continue
    if k in ('alloc',): continue
    # other kinds keep pending
tot=collections.Counter()
for t in range(16):
    c=per[t]; tot+=c
    print(f" THP{t:2d} majflt {maj[t]:4d} minflt {minf[t]:4d} reqs {sum(c.values()):4d} pages {sum(k*v for k,v in c.items()):4d} sizes {dict(sorted(c.items()))}")
print(' total maj',sum(maj.values()),'min',sum(minf.values()),'reqs',sum(tot.values()),dict(sorted(tot.items())))
