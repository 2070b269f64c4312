#!/usr/bin/env python3
"""The swap I/O around phase_end's harness faults (session 19, peload), from a BIO=1 run of run.sh.

Usage: python3 bios.py OUT/extents.txt OUT/PROGRAM.trace
Prints, for each not-present fault on a harness page (the binary's .data/bss, libc's and ld.so's pages, the TLS, the
stack) after warm_up's getrusage, the getrusage count before it (1 warm_up, then phase_start/phase_end pairs), the page,
W or R (error-code bit 1) and the swap slots of the reads the faulting task queued before its next fault (a swap-in
and its readahead; a slot read from the zeromap queues no bio, so a window's zero-filled slots are missing). Then the
writes queued into swap cluster 0's first 214 slots (the harness's) after the first phase_end: the slots the later
passes reuse or rewrite. Slots come from the bio's sector through the swap file's extents (filefrag -v, 4 KiB blocks).
"""
import re
import sys

exts = []
for line in open(sys.argv[1]):
    m = re.match(r'\s*\d+:\s*(\d+)\.\.\s*(\d+):\s*(\d+)\.\.\s*(\d+):', line)
    if m:
        exts.append(tuple(map(int, m.groups())))


def slot(sector):
    block = sector // 8
    for lo, _hi, plo, phi in exts:
        if plo <= block <= phi:
            return lo + block - plo
    return None


def role(addr):
    if 0x555555554000 <= addr < 0x555555600000:
        page = (addr - 0x555555559000) // 4096  # faults.py's names: bss0 at 0x555555559000, outn's page bss63
        return f'bss{page}' if page >= 0 else f'bin+{addr - 0x555555554000:#x}'
    if addr >= 0x7ffff7000000:
        return f'{addr >> 12 << 12:#x}'
    return None


gets = 0
faults = []
writes = []
for line in open(sys.argv[2]):
    if 'sys_enter: NR 98 ' in line:
        gets += 1
        continue
    m = re.search(r'page_fault_(?:user|kernel): address=(0x[0-9a-f]+) ip=\S+ error_code=(0x[0-9a-f]+)', line)
    if m:
        addr, code = int(m.group(1), 16), int(m.group(2), 16)
        faults.append([gets, role(addr), code, []])
        continue
    m = re.search(r'block_bio_queue: \S+ (\S+) (\d+) \+ (\d+)', line)
    if m:
        s = slot(int(m.group(2)))
        if s is None:
            continue
        if 'R' in m.group(1) and faults:
            faults[-1][3].append(s)
        elif 'W' in m.group(1) and s < 214 and gets >= 3:
            writes.append(s)
for g, r, code, reads in faults:
    if r and g >= 2 and not code & 1:
        print(g, r, 'W' if code & 2 else 'R', reads)
print('cluster-0 writes after the first phase_end:', writes)
