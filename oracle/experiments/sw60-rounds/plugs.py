#!/usr/bin/env python3
"""Session 29: which memcg reclaims keep their swap writes plugged until they end. Reads run.sh traces made with
   STACK="vmscan/mm_vmscan_memcg_reclaim_begin" EXTRA="block/block_rq_issue block/block_unplug vmscan/mm_vmscan_write_folio"
and classes each reclaim by the charge it serves (its stack: swap readahead's loop, a kernel-memory charge, other) and by
its writes: none; held (no write request issued before it ends: the writes wait in a plug, swap readahead's); or
flushed (a write request issued while it runs, after N of its writes). Prints the counts and, for swap readahead's
reclaims that wrote, (writes, writes before the first request went out, pages freed).
   Usage: plugs.py TRACE..."""
import collections, re, sys

def reclaim_stack(lines, i):
    """The kernel stack the stacktrace trigger printed after the event on lines[i] (its `=>` lines), innermost first."""
    stack, j = [], i + 1
    while j < len(lines) and j < i + 3 and '<stack trace>' not in lines[j]:
        j += 1
    j += 1
    while j < len(lines) and lines[j].strip().startswith('=>'):
        stack.append(lines[j].strip()[3:])
        j += 1
    return stack


def events(path):
    lines = open(path).read().split('\n')
    out = []
    for i, line in enumerate(lines):
        m = re.match(r'\s*(\S+)\s+\[\d+\]\s+\S+\s+(\d+\.\d+): (\w+)[:(] ?(.*)', line)
        if m:
            task, t, name, args = m.groups()
            stack = reclaim_stack(lines, i) if name == 'mm_vmscan_memcg_reclaim_begin' else []
            out.append((task, name, args, stack))
    return out


def main():
    for path in sys.argv[1:]:
        ev = events(path)
        counts, detail = collections.Counter(), []
        for k, (task, name, args, stack) in enumerate(ev):
            if name != 'mm_vmscan_memcg_reclaim_begin':
                continue
            s = ' '.join(stack)
            kind = 'swapra' if ('swap_cluster_readahead' in s or 'swap_vma_readahead' in s) else 'kmem' if 'obj_cgroup' in s else 'other'
            writes, before, issued, freed = 0, None, 0, 0
            for task2, name2, args2, _ in ev[k + 1:]:
                if task2 != task:
                    continue
                if name2 == 'mm_vmscan_write_folio':
                    writes += 1
                elif name2 == 'block_rq_issue' and ' W ' in ' ' + args2:
                    issued += 1
                    if before is None:
                        before = writes
                elif name2 == 'mm_vmscan_memcg_reclaim_end':
                    freed = int(args2.split('=')[1])
                    break
            cls = 'nowrite' if writes == 0 else 'held' if issued == 0 else 'flushed'
            counts[(kind, cls)] += 1
            if kind == 'swapra' and writes:
                detail.append((writes, before, freed))
        print(path)
        for key, n in sorted(counts.items()):
            print('  %4d %-6s %s' % (n, key[0], key[1]))
        print('  swap readahead reclaims that wrote (writes, writes before the first issue, freed):', sorted(detail))


if __name__ == '__main__':
    main()
