#!/usr/bin/env python3
"""Session 30: how often consecutive order-0 page-cache folios sit in physically adjacent frames (so that
ext4_mpage_readpages puts them in one bvec and a 256-bvec bio covers more than 256 pages). Reads ra-memcg-trace/run.sh
traces (mm_filemap_add_to_page_cache: pfn, ofs, order) and prints, per trace, the share of the first window's 2,048
order-0 folios (index < 2,048, in the order added) whose frame follows the previous one's and whose index does too, and
the same over every order-0 folio the trace added.   Usage: adjacency.py TRACE..."""
import re, sys

ADD = re.compile(r'mm_filemap_add_to_page_cache: .*pfn=0x([0-9a-f]+) ofs=(\d+) order=(\d+)')


def adjacent(folios):
    pairs = list(zip(folios, folios[1:]))
    return sum(1 for a, b in pairs if b[0] == a[0] + 1 and b[1] == a[1] + 1), len(pairs)


for path in sys.argv[1:]:
    order0 = []
    for line in open(path):
        m = ADD.search(line)
        if m and m.group(3) == '0':
            order0.append((int(m.group(1), 16), int(m.group(2)) // 4096))
    first = [f for f in order0 if f[1] < 2048][:2048]
    a, n = adjacent(first)
    b, m = adjacent(order0)
    print(f'{path}: first window {a}/{n} ({100 * a / max(n, 1):.1f} %), all order-0 {b}/{m} ({100 * b / max(m, 1):.1f} %)')
