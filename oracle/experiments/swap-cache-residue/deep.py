#!/usr/bin/env python3
"""Each deep memcg reclaim (more than MIN folios written) from run.sh's traces, split at its first write completion:
priority 0's scanned and reclaimed pages before the reclaim's first write request completed (clean pages it found in
the list: swap readahead's unclaimed pages, earlier completions) and after it (its own writes, rotated to the tail by
folio_end_writeback once the plug went to the disk), and when the plug was first issued (ms from the reclaim's start, of
its duration). Usage: deep.py OUTDIR RUNS [MIN]"""
import re, sys
from traces import TS, MemcgRounds

out, runs = sys.argv[1], int(sys.argv[2])
least = int(sys.argv[3]) if len(sys.argv) > 3 else 500
for run in range(1, runs + 1):
    rounds = MemcgRounds()
    for line in open(f"{out}/trace.{run}.txt"):
        m = TS.match(line)
        if not m:
            continue
        t, ev, rest = float(m.group(4)), m.group(5), m.group(6)
        rounds.feed(t, ev, rest)
    recl = rounds.rounds
    t0 = recl[0]["t"] if recl else 0
    for r in recl:
        wrote = sum(1 for e in r["ev"] if e[1] == "mm_vmscan_write_folio")
        if wrote < least:
            continue
        done, issued, sb, fb, sa, fa = False, None, 0, 0, 0, 0
        for t, ev, rest in r["ev"]:
            if ev == "block_rq_issue" and " W" in rest and issued is None:
                issued = (t - r["t"]) * 1e3
            elif ev == "block_rq_complete" and " W" in rest:
                done = True
            elif ev == "mm_vmscan_lru_shrink_inactive" and "priority=0 " in rest:
                d = dict(re.findall(r"(\w+)=(-?\d+)", rest))
                if done:
                    sa, fa = sa + int(d["nr_scanned"]), fa + int(d["nr_reclaimed"])
                else:
                    sb, fb = sb + int(d["nr_scanned"]), fb + int(d["nr_reclaimed"])
        dur = (r["end"] - r["t"]) * 1e3
        iss = f"{issued:.2f}" if issued is not None else "-"
        print(f"run {run} @{(r['t'] - t0) * 1e3:.1f} ms: wrote {wrote}, freed {r['freed']}; p0 before the first completion "
              f"scanned {sb} freed {fb}, after scanned {sa} freed {fa}; plug first issued at {iss} of {dur:.2f} ms")
