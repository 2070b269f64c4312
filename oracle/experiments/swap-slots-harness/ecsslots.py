#!/usr/bin/env python3
"""ecsslots.py EVENTS.jsonl [N]: EcsMem's side of slots.py (from ECSMEM_ORACLE_EVENTS=DIR ... eval PROGRAM): the swap
slots of the harness's pages just before the N-th phase_end's smaps read (default: the last), named as slots.py names
the kernel's (HarnessLayout in oracle/Ecs.Mem.Oracle/HarnessFootprint.cs: the .data page and the bss behind the marker
page at 0xe0000000000, bss page j = buf[j+1] for j < 63, then outn's page, out[1..63] and out[64],reg; the stack by
pages below its top; the TLS pages; ld.so's scratch page; the start-up pages in libc's bss area by their roles). A page
is swapped from its swap_out until a fault maps it (a readahead swap-in alone leaves it swapped, as pagemap shows a
swap-cache page that is not mapped). A clean swap-cache page's unmap gives its PTE the slot back without a write (no swap_out):
it counts as swapped too, as on the kernel."""
import json, sys

ROLES = {11: 'ld-rw[1]', 12: 'ld-rw[0]', 13: 'ld-RELRO', 14: 'bin-RELRO'}
AREA_ROLES = [4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 17, 18, 19, 20, 21]   # HarnessLayout.Of's default case, in index order


def label(a):
    if 0x100000000000 <= a < 0x200000000000:
        return None
    if a >= 0x7fff00000000 and a < 0x7ffffffff000 and a >= 0x7ffffff00000:
        return f'stack-{(0x7ffffffff000 - a) // 4096}'
    if 0xe0000000000 <= a < 0xe0000100000:
        j = (a - 0xe0000001000) // 4096 - 1
        if j < 0:
            return 'bin:.data(errs,buf[0])'
        if j < 63:
            return f'bin:buf[{j + 1}]'
        if j == 63:
            return 'bin:buf[64],outn,out[0]'
        if j < 127:
            return f'bin:out[{j - 63}]'
        return 'bin:out[64],reg'
    if 0x7ffff7dd0000 <= a < 0x7ffff7dd3000:
        return f'TLS[{(a - 0x7ffff7dd0000) // 4096}]'
    if 0x7ffff7fa8000 <= a < 0x7ffff7fc0000:
        k = (a - 0x7ffff7fa8000) // 4096
        r = AREA_ROLES[k] if k < len(AREA_ROLES) else None
        return ROLES.get(r, f'libc-role{r}') if r is not None else f'libc-area[{k}]'
    if 0x7ffff7fc0000 <= a < 0x7ffff7fc2000:
        return f'anon@{a:x}'
    return f'{a:x}?'


def main():
    path = sys.argv[1]
    events = [json.loads(line) for line in open(path)]
    cuts = [i for i, d in enumerate(events) if d['kind'] == 'syscall' and d.get('call') == 'openat' and '/proc/self/smaps"' in d['strace']]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else len(cuts)
    # The syscall events carry the time of their phase_end's end: cut just after the last fault in a program region
    # before it (the pass's last access), which is where the kernel's stop at phase_end's getrusage is.
    end = events[cuts[n - 1]]['time']
    cut = 1 + max(d['time'] for d in events if d['kind'] == 'fault' and d['time'] < end and label(int(d['address'], 16)) is None)
    slot = {}
    for d in events:
        if d['time'] >= cut:
            continue
        elif d['kind'] in ('swap_out', 'unmap') and d.get('slot') is not None:   # unmap: a clean swap-cache page's PTE gets its slot back
            slot[int(d['address'], 16)] = d['slot']
        elif d['kind'] == 'fault':
            slot.pop(int(d['address'], 16) & ~4095, None)
    harness = sorted((s, label(a)) for a, s in slot.items() if label(a))
    prog = [s for a, s in slot.items() if not label(a)]
    print(f'{path} cut {n}: {len(harness)} harness pages swapped, program pages swapped {len(prog)}, slots up to {max(slot.values(), default=0)}')
    sys.path.insert(0, __import__('os').path.dirname(__import__('os').path.abspath(__file__)))
    from slots import compact
    print('  ' + ' '.join(compact(harness)))


if __name__ == '__main__':
    main()
