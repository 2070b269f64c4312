#!/usr/bin/env python3
"""Per file pass: the pages added behind the reader (a read-around's pages below its faulting page: the reader has
passed them, so nothing maps them) and ahead of it; their age at deletion counted in page-cache insertions since their
own (their LRU position, as reclaim takes the file list's tail), and how many are still cached at the pass's end.
Kernel: behind.py OUT/PROGRAM.N.trace (ra-memcg-trace's run.sh). EcsMem: behind.py F, F from
`ECSMEM_ORACLE_PAGECACHE=1 dotnet run -c Release --no-build --project oracle/Ecs.Mem.Oracle -- eval PROGRAM 2> F`.
The reader's place is the highest page-cache fault of the pass so far (the kernel's mm_filemap_fault, EcsMem's fault
lines); a pass starts at a fault below the one before."""
import re, sys, statistics
EV = re.compile(r'\s(\d+\.\d+): (\w+): (.*)$')
RANGE = re.compile(r'\[(\d+),(\d+)\)')
def kernel_events(fn):
    evs=[]
    for line in open(fn):
        m=EV.search(line)
        if not m: continue
        n=m.group(2); rest=m.group(3)
        if n not in ('mm_filemap_fault','mm_filemap_add_to_page_cache','mm_filemap_delete_from_page_cache'): continue
        f=dict(re.findall(r'(\w+)=(\w+)',rest)); ofs=int(f['ofs'])>>12; nr=1<<int(f.get('order','0'))
        evs.append((float(m.group(1)), 'fault' if n=='mm_filemap_fault' else ('add' if 'add' in n else 'del'), list(range(ofs,ofs+nr))))
    evs.sort(key=lambda e:e[0])
    return [(k,p) for _,k,p in evs]
def ecs_events(fn):
    # EcsMem prints a fault's line when the fault is done, after the reads and reclaim rounds it started: those
    # events go after their fault here, as the kernel's mm_filemap_fault comes before them.
    out=[]; pending=[]
    for line in open(fn):
        w=line.split()
        if not w: continue
        if w[0]=='read':
            pending.append(('add',[i for a,b in RANGE.findall(line) for i in range(int(a),int(b))]))
        elif w[0]=='reclaim' and ' deleted ' in line:
            pending.append(('del',[i for a,b in RANGE.findall(line.split(' deleted ',1)[1]) for i in range(int(a),int(b))]))
        elif w[0]=='fault':
            out.append(('fault',[int(w[1])])); out.extend(pending); pending=[]
    return out + pending
def analyse(evs):
    passn=0; last=-1; pos=-1; nadd=0; info={}; res={}
    def new(p): res[p]={'behind':[], 'ahead':[], 'nb':0,'na':0}
    for k,pages in evs:
        if k=='fault':
            i=pages[0]
            if i<last or passn==0:
                if passn: res[passn]['end']=dict(info)
                passn+=1; pos=-1; new(passn)
            last=i; pos=max(pos,i); continue
        if passn==0: continue
        r=res[passn]
        for i in pages:
            if k=='add':
                nadd+=1; b=i<pos; info[i]=(b,nadd,passn)
                r['nb' if b else 'na']+=1
            else:
                if i in info:
                    b,at,p=info.pop(i)
                    res[p]['behind' if b else 'ahead'].append(nadd-at)
    res[passn]['end']=dict(info)
    for p,r in res.items():
        endb=sum(1 for v in r['end'].values() if v[0] and v[2]==p)
        med=lambda l: int(statistics.median(l)) if l else '-'
        print(f"  pass {p}: added behind {r['nb']} ahead {r['na']}; age at deletion (insertions since) behind median {med(r['behind'])} ahead median {med(r['ahead'])}; cached at end {len(r['end'])}, of them added behind {endb}")
for fn in sys.argv[1:]:
    print(fn)
    analyse(kernel_events(fn) if fn.endswith('.trace') else ecs_events(fn))
