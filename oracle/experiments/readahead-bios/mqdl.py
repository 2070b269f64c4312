#!/usr/bin/env python3
"""Usage: mqdl.py OUT/PROGRAM.RUN [-v] (run.sh's .ra, .blk and OUT/PROGRAM.extents; session 21, mqdl). The order the
data disk's scheduler (mq-deadline) issues requests in, per file pass: at each block_rq_issue of a read, the reads

oldest queued read (FIFO) or another, and whether it is the one mq-deadline's __dd_dispatch_request names (the lowest
queued sector at or above the last issued read's, else the FIFO head; read_expire 500 ms never passes in a pass).
Then the device's depth (requests issued and not complete, any direction, any file) at each issue, and for each
major (a read holding the faulting page) how long it waited (insert -> issue) and how many reads were issued before it
meanwhile. -v lists every issue."""
import re
import statistics
import sys
import traceio

BLK = re.compile(r'(\d+),(\d+) (\w+) (?:\d+ )?\(\) (\d+) \+ (\d+)')


def main():
    args = [a for a in sys.argv[1:] if a != '-v']
    verbose = '-v' in sys.argv
    if len(args) != 1 or args[0].startswith('-'):
        sys.exit('usage: mqdl.py OUT/PROGRAM.RUN [-v]')
    try:
        run(args[0], verbose)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f'mqdl.py: {e}')


def run(base, verbose):
    page = traceio.file_pages(base)
    evs = traceio.events(base, lambda m: (float(m.group(4)), m.group(5), m.group(6)))
    passno = 0
    fault = None
    live = {}   # (sector, read) -> request dict, from insert to complete
    reqs = []
    for t, name, rest in evs:
        if name == 'mm_filemap_fault':
            ofs = int(re.search(r'ofs=(\d+)', rest).group(1)) >> 12
            if ofs == 0:
                passno += 1
            fault = ofs
            continue
        if name not in ('block_rq_insert', 'block_rq_issue', 'block_rq_complete'):
            continue
        m = BLK.search(rest)
        if not m:
            continue
        rwbs, sec, n = m.group(3), int(m.group(4)), int(m.group(5))
        key = (sec, rwbs.startswith('R'))
        if name == 'block_rq_insert':
            p = page(sec)
            r = {'sec': sec, 'pages': n // 8, 'read': key[1], 'ins': t, 'issues': [], 'done': None, 'page': p,
                 'pass': passno, 'major': p is not None and fault is not None and p <= fault < p + n // 8}
            live[key] = r
            reqs.append(r)
        elif key in live:
            if name == 'block_rq_issue':
                live[key]['issues'].append(t)
            else:
                live.pop(key)['done'] = t
    # The issue that reached the device is a request's last block_rq_issue: virtio-blk's queue_rq returns a busy
    # status when the virtqueue has no room, and blk-mq puts the request on hctx->dispatch and issues it again later.
    done = [r for r in reqs if r['done'] is not None and r['issues']]
    for r in done:
        r['start'] = r['issues'][-1]
    for ps in sorted({r['pass'] for r in done}):
        if ps == 0:
            continue
        R = sorted((r for r in done if r['pass'] == ps and r['read']), key=lambda r: r['start'])
        F = [r for r in R if r['page'] is not None]
        nonfifo = sum(1 for r in F if any(o['ins'] < r['ins'] and o['start'] > r['start'] for o in F))
        retried = sum(1 for r in F if len(r['issues']) > 1)
        # the device's depth: requests started (last issue) and not complete, any file, any direction
        allp = [r for r in done if r['pass'] == ps]
        depth = [sum(1 for o in allp if o is not r and o['start'] <= r['start'] < o['done']) for r in F]
        print(f"pass {ps}: {len(F)} read requests of the file: started before an older one {nonfifo}, re-issued "
              f"(device busy) {retried}; other requests on the device at a start: 0 in {depth.count(0)}, "
              f"1 in {depth.count(1)}, 2+ in {sum(1 for d in depth if d >= 2)}")
        waits = []
        for r in F:
            if r['major']:
                w = (r['start'] - r['ins']) * 1e3
                ahead = sum(1 for o in F if o['ins'] < r['ins'] and o['done'] > r['ins'])
                waits.append((w, ahead))
                if verbose:
                    print(f"    major page {r['page']} +{r['pages']}: inserted {(r['ins'] - F[0]['ins']) * 1e3:.2f} ms, "
                          f"waited {w:.2f} ms behind {ahead} older read(s), served {(r['done'] - r['start']) * 1e3:.2f} ms")
        if waits:
            ws = [w for w, _ in waits]
            print(f"    majors' requests {len(ws)}: waited behind older reads {sum(1 for _, a in waits if a)}, "
                  f"wait median {statistics.median(ws):.2f} ms, max {max(ws):.2f}")
        if verbose:
            for r in F:
                print(f"    {(r['ins'] - F[0]['ins']) * 1e3:8.2f} ms page {r['page']:5} +{r['pages']:4} issues "
                      f"{len(r['issues'])} start {(r['start'] - F[0]['ins']) * 1e3:8.2f} done {(r['done'] - F[0]['ins']) * 1e3:8.2f}"
                      f"{' MAJOR' if r['major'] else ''}")


if __name__ == '__main__':
    main()
