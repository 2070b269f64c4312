#!/usr/bin/env python3
"""analyse.py OUT PROGRAM RUNS [PHASE]: one block a run of kmem-gap/run.sh, at the stop (PHASE's memcg record; pages):
the group's usage, kmem, memory.stat's LRU and rss, VmPTE; the page frames charged to it (kscan) by kind: page tables
(KPF_PGTABLE), other non-LRU kernel pages, LRU / batched anonymous pages mapped and unmapped, swap cache; kmem less the
page-level kernel pages (= slab objects + the per-CPU object stocks' and the group's precharged bytes); each unmapped
swap-cache page with its flags and, when a swapped PTE of the task's maps its slot (mincore says in core), that VMA."""
import json, sys

out, prog, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
B = dict(locked=0, referenced=2, uptodate=3, dirty=4, lru=5, active=6, slab=7, writeback=8, reclaim=9, mmap=11, anon=12,
         swapcache=13, swapbacked=14, head=15, tail=16, unevictable=18, pgtable=26, mappedtodisk=34, private=35)
names = lambda f: '+'.join(k for k, b in B.items() if f >> b & 1 and k not in ('uptodate',))
for i in range(1, runs + 1):
    r = json.load(open(f'{out}/{prog}.{i}.stop.json'))
    if 'not_stopped' in r:
        print(f'run {i}: did not stop'); continue
    st = r['memory.stat']; pg = lambda k: st[k] // 4096
    usage, kmem = r['memory.usage_in_bytes'] // 4096, r['memory.kmem.usage_in_bytes'] // 4096
    anon_lru, file_lru = pg('inactive_anon') + pg('active_anon'), pg('inactive_file') + pg('active_file')
    vmpte = int(r['status']['VmPTE'].split()[0]) // 4
    mapped = {}
    swapped = {}
    for v in r['vmas']:
        start = int(v['map'].split('-')[0], 16)
        for idx, kind, val, _ in v['pages']:
            (mapped if kind == 'p' else swapped)[start + idx * 4096] = (val, v['map'])
    mapped_pfns = {val for val, _ in mapped.values()}
    vec = bytes.fromhex(r['mincore'])
    n = r.get('reg0_pages', 2048)
    addrs = [0x100000000000 + k * 4096 for k in range(n)]
    for base, cnt in ((0x555555554000, 256), (0x7ffff7dd0000, 560), (0x7ffffffbd000, 66)):
        addrs += [base + k * 4096 for k in range(cnt)]
    incore = {a for a, v in zip(addrs, vec) if v == 1}
    sw_cached = sorted(a for a in swapped if a in incore)
    kinds = {}
    unmapped_sc = []
    for l in open(f'{out}/{prog}.{i}.kscan'):
        pfn, fl, cnt = l.split(); pfn, fl = int(pfn), int(fl, 16)
        if fl >> B['pgtable'] & 1: k = 'pgtable'
        elif fl >> B['swapbacked'] & 1 or fl >> B['anon'] & 1 or fl >> B['swapcache'] & 1:
            k = ('anon-lru' if fl >> B['lru'] & 1 else 'anon-nolru') + ('-mapped' if pfn in mapped_pfns else '-unmapped')
            if pfn not in mapped_pfns and fl >> B['swapcache'] & 1: unmapped_sc.append((pfn, fl, cnt))
        elif fl >> B['lru'] & 1: k = 'file-lru'
        elif fl & ((1 << B['mappedtodisk']) | (1 << B['uptodate'])) and not fl >> B['slab'] & 1 and fl >> B['mmap'] & 1: k = 'file-nolru'
        else: k = 'other:' + (names(fl) or hex(fl))
        kinds[k] = kinds.get(k, 0) + 1
    pt = kinds.get('pgtable', 0)
    other_k = sum(v for k, v in kinds.items() if k.startswith('other'))
    print(f"run {i}: usage {usage} kmem {kmem} (after scan {r['usage_after_scan']//4096}/{r['kmem_after_scan']//4096}) "
          f"anon_lru {anon_lru} rss {pg('rss')} file_lru {file_lru} cache {pg('cache')} swapcached {pg('swapcached')} "
          f"VmPTE {vmpte} | room {4096 - usage} usage-kmem-lru {usage - kmem - anon_lru - file_lru}")
    print('  frames: ' + ' '.join(f'{k} {v}' for k, v in sorted(kinds.items())))
    print(f"  kmem - page tables - other kernel frames = {kmem - pt - other_k} pages of slab + stocks")
    print(f"  unmapped swap cache {len(unmapped_sc)}: " + ', '.join(f'{p}:{names(f)}:c{c}' for p, f, c in unmapped_sc))
    print(f"  swapped PTEs with their slot in the swap cache {len(sw_cached)}: " +
          ', '.join(f"{a:x}(slot {swapped[a][0]}, {swapped[a][1].split()[-1] if len(swapped[a][1].split()) > 5 else 'anon'})" for a in sw_cached))
