#!/usr/bin/env python3
"""Reads run.sh's raw traces (OUT/PROGRAM.RUN.trace) and counts, per trace, the page-cache deletions
(mm_filemap_delete_from_page_cache, i.e. reclaim here) of a page that the window still running had added (the window:
the pages added since the last readahead event, page_cache_sync_ra / _async_ra / _ra_order / _ra_unbounded) and of a
page the window just before had added; then the PG_readahead markers: each page_cache_ra_order window's mark
(index + size - async_size), how many of those pages were deleted before any page_cache_async_ra fired on them, and
how many async windows started.   Usage: held.py TRACE..."""
import re, sys

ev_re = re.compile(r'\s(\d+\.\d+): (\w+): (.*)$')
RA = ('page_cache_ra_order', 'page_cache_ra_unbounded', 'page_cache_async_ra', 'page_cache_sync_ra')
for fn in sys.argv[1:]:
    seg = 0
    added_in = {}
    same = dels = prev = 0
    marks = {}
    asyncs = lost = 0
    for line in open(fn):
        m = ev_re.search(line)
        if not m:
            continue
        name, rest = m.group(2), m.group(3)
        if name in RA:
            seg += 1
            f = dict(re.findall(r'(\w+)=(\d+)', rest))
            if name == 'page_cache_ra_order':
                marks[int(f['index']) + int(f['size']) - int(f['async_size'])] = True
            elif name == 'page_cache_async_ra':
                asyncs += 1
                marks.pop(int(f['index']), None)
            continue
        if name not in ('mm_filemap_add_to_page_cache', 'mm_filemap_delete_from_page_cache'):
            continue
        ofs = int(re.search(r'ofs=(\d+)', rest).group(1)) >> 12
        om = re.search(r'order=(\d+)', rest)
        nr = 1 << (int(om.group(1)) if om else 0)
        if name == 'mm_filemap_add_to_page_cache':
            for i in range(ofs, ofs + nr):
                added_in[i] = seg
            continue
        dels += 1
        s = added_in.get(ofs)
        if s == seg:
            same += 1
        elif s == seg - 1:
            prev += 1
        for i in range(ofs, ofs + nr):
            if marks.pop(i, None):
                lost += 1
    print(f"{fn.rsplit('/', 1)[-1]}: deletions {dels}: of a page its own running window added {same}, "
          f"the window before {prev}; ra_order marks deleted before the reader hit them {lost}, async windows {asyncs}")
