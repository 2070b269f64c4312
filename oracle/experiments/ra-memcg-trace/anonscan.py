#!/usr/bin/env python3
"""The memcg reclaims of a run.sh trace (RA_TRACE_SHRINK=1) in one line each — the list and priority of its first
shrink_inactive_list call and the pages it reclaimed (`f11:46`: cache_trim_mode from priority 11; `a6:79`: anon
first; `f0:32`: nothing until priority 0's SCAN_EQUAL) — then, for the first reclaim that scans anon after the last
fault on the data file's VMA (with `exceptions/page_fault_user` in RA_TRACE_EXTRA; else its last page-cache insertion),
its shrink_inactive_list calls with scanned / reclaimed / activated / kept per priority and, if traced, the pages
of the anonymous VMA at 0x100000000000 faulted before it.   Usage: anonscan.py RUN.trace"""
import re, sys

A0, A1 = 0x100000000000, 0x100000000000 + (8 << 20)
F0, F1 = 0x120000000000, 0x120001000000
lines = open(sys.argv[1]).read().splitlines()
seq, cur = [], None
for l in lines:
    if 'memcg_reclaim_begin' in l:
        cur = ''
    elif cur == '' and 'shrink_inactive' in l:
        cur = ('f' if 'WB_FILE' in l else 'a') + re.search(r'priority=(\d+)', l).group(1)
    elif cur is not None and 'memcg_reclaim_end' in l:
        seq.append('%s:%s' % (cur, re.search(r'nr_reclaimed=(\d+)', l).group(1)))
        cur = None
print('reclaims:', ' '.join(seq))
faults = [(i, int(m.group(1), 16)) for i, l in enumerate(lines)
          for m in [re.search(r'page_fault_user: address=0x([0-9a-f]+)', l)] if m]
# The data file pass's end: its last fault, or without fault events its last page-cache insertion or filemap fault.
last_file = max([i for i, a in faults if F0 <= a < F1]
                + [i for i, l in enumerate(lines) if 'mm_filemap_add_to_page_cache' in l or 'mm_filemap_fault' in l])
start = None
for i, l in enumerate(lines):
    if i > last_file and 'memcg_reclaim_begin' in l:
        j = next((k for k in range(i, len(lines)) if 'shrink_inactive' in lines[k] or 'memcg_reclaim_end' in lines[k]), None)
        if j is not None and 'WB_ANON' in lines[j]:
            start = i
            break
if start is None:
    sys.exit('no anon-scanning reclaim after the data file pass')
mapped = sorted({(a - A0) >> 12 for i, a in faults if A0 <= a < A1 and last_file < i < start})
print('first anon-scanning reclaim after the file passes; pages of a faulted before it:',
      '%d (a[%d..%d])' % (len(mapped), mapped[0], mapped[-1]) if mapped else 'none traced')
for l in lines[start:]:
    if 'shrink_inactive' in l:
        g = lambda k: re.search(k + r'=(\d+)', l).group(1)
        print('  %s prio %2s scanned %3s reclaimed %3s activated %s kept %s' % (
            'file' if 'WB_FILE' in l else 'anon', g('priority'), g('nr_scanned'), g('nr_reclaimed'),
            g('nr_activate_anon' if 'WB_ANON' in l else 'nr_activate_file'), g('nr_ref_keep')))
    elif 'mm_vmscan_write_folio' in l:
        print('  write_folio', l.split('pfn=')[1].split()[0])
    elif 'memcg_reclaim_end' in l:
        print('  end', l.split(': ', 1)[1])
        break
