#!/usr/bin/env python3
"""Per file pass of run.sh traces (a pass starts at the mm_filemap_fault on page 0): the pages whose fault found them
absent from the page cache (major faults), from mm_filemap_fault and the page-cache insertions and deletions.
Usage: majors.py RUN.trace...   (session 19, rr16)"""
import re,sys
ev=re.compile(r'\s(\d+\.\d+): (\w+): (.*)$')
for fn in sys.argv[1:]:
    cache=set(); passes=[]; cur=None
    for line in open(fn):
        m=ev.search(line)
        if not m: continue
        name,rest=m.group(2),m.group(3)
        if name=='mm_filemap_fault':
            idx=int(re.search(r'ofs=(\d+)',rest).group(1))>>12
            if idx==0: cur=[]; passes.append(cur)
            if cur is not None and idx not in cache: cur.append(idx)
        elif name in('mm_filemap_add_to_page_cache','mm_filemap_delete_from_page_cache'):
            ofs=int(re.search(r'ofs=(\d+)',rest).group(1))>>12
            om=re.search(r'order=(\d+)',rest); nr=1<<(int(om.group(1)) if om else 0)
            for i in range(ofs,ofs+nr):
                (cache.add if name.endswith('add_to_page_cache') else cache.discard)(i)
    print(fn.split('/')[-1], ' | '.join(f"{len(p)}: "+' '.join(map(str,p)) for p in passes))
