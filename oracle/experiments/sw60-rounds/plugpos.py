#!/usr/bin/env python3
"""Session 30: where in swap readahead's window each memcg reclaim starts, and what its writes then do. Reads run.sh
traces made with
   STACK="vmscan/mm_vmscan_memcg_reclaim_begin"
   EXTRA="block/block_bio_queue block/block_rq_issue block/block_unplug vmscan/mm_vmscan_write_folio exceptions/page_fault_user"
For each reclaim whose stack holds swap_cluster_readahead or swap_vma_readahead: the read bios the faulting task queued
since its fault began (block_bio_queue R after the last page_fault_user: the slots the loop read before the charge that
met the limit, so 0 means no read heads the plug), its writes, whether a write request went out while it ran (flushed)
and the pages it freed. Prints per phase (the harness's getrusage calls bound them) the histogram of reads before the
crossing and, for the reclaims that wrote, the count by (reads 0 or more, flushed or held); -v lists those reclaims.
   Usage: plugpos.py [-v] TRACE..."""
import collections, re, sys

from plugs import reclaim_stack  # the stacktrace trigger's lines after the event

LINE = re.compile(r'\s*(\S+)-(\d+)\s+\[\d+\]\s+\S+\s+(\d+\.\d+): (\w+)[:(] ?(.*)')
# getrusage count -> phase: the harness calls it at main's entry, then at each phase's start and end.
PHASES = {2: 'phase 1', 3: 'after phase 1', 4: 'phase 2', 5: 'after phase 2', 6: 'phase 3', 7: 'after phase 3'}


def reclaims(path):
    lines = open(path).read().split('\n')
    out, reads, ru, cur, t0 = [], 0, 0, None, 0.0
    for i, line in enumerate(lines):
        m = LINE.match(line)
        if not m:
            continue
        _, _, t, name, args = m.groups()
        if name == 'sys_getrusage':
            ru += 1
            t0 = float(t)
        elif name == 'page_fault_user':
            reads = 0
        elif name == 'block_bio_queue' and ' R' in args:
            reads += 1
        elif name == 'mm_vmscan_memcg_reclaim_begin':
            stack = reclaim_stack(lines, i)
            ra = any('swap_cluster_readahead' in s or 'swap_vma_readahead' in s for s in stack)
            cur = dict(ra=ra, reads=reads, writes=0, issued=None, phase=PHASES.get(ru, str(ru)), ms=(float(t) - t0) * 1e3)
        elif cur is None:
            continue
        elif name == 'mm_vmscan_write_folio':
            cur['writes'] += 1
        elif name == 'block_rq_issue' and ' W' in args and cur['issued'] is None:
            cur['issued'] = cur['writes']
        elif name == 'mm_vmscan_memcg_reclaim_end':
            cur['freed'] = int(re.search(r'nr_reclaimed=(\d+)', args).group(1))
            out.append(cur)
            cur = None
    return out


def main():
    verbose = '-v' in sys.argv[1:]
    for path in (a for a in sys.argv[1:] if a != '-v'):
        print(path)
        by_phase = collections.defaultdict(list)
        for r in reclaims(path):
            if r['ra']:
                by_phase[r['phase']].append(r)
        for phase, rs in by_phase.items():
            hist = collections.Counter(min(r['reads'], 7) for r in rs)
            kinds = collections.Counter(('reads 0' if r['reads'] == 0 else 'reads >0',
                                         'flushed' if r['issued'] is not None else 'held') for r in rs if r['writes'])
            print(f"  {phase}: {len(rs)} reclaims, reads before the crossing {[hist[k] for k in range(8)]}"
                  f" (0..7+); that wrote: " + ', '.join(f'{a} {b} {n}' for (a, b), n in sorted(kinds.items())))
            if verbose:
                for r in rs:
                    if r['writes']:
                        print(f"    {r['ms']:8.3f} ms reads {r['reads']} writes {r['writes']} first request out after"
                              f" {r['issued']} freed {r['freed']}")


if __name__ == '__main__':
    main()
