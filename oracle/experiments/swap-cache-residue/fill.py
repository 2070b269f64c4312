#!/usr/bin/env python3
"""The first phase's memcg reclaims one by one, from run.sh's traces: for each of the phase's last LAST reclaims (and
its first), its start (ms from the phase's), duration, pages freed, folios written (mm_vmscan_write_folio) and bios
queued for them, then in order: each priority level's shrink_inactive sums (pN:sSCANNED/rRECLAIMED), each write request
issued to the swap device (<wN ISS@T:P>: N folios written since the previous issue, P pages in the request) and each
write completion (C@T:P). Shows when reclaim's writes reach the disk (at the end of a shrink_lruvec call: its
blk_finish_plug), which reclaim writes the phase's last pages and how many later reclaims free them.
With PHASE (0-based) the reclaims of that phase instead of the first, and with AROUND the AROUND reclaims either side of
each priority-0 reclaim too.
Usage: fill.py OUTDIR RUNS PROGRAM [LAST] [PHASE] [AROUND]"""
import re, sys
from traces import TS, MemcgRounds

out, runs, prog = sys.argv[1], int(sys.argv[2]), sys.argv[3][:15]
last = int(sys.argv[4]) if len(sys.argv) > 4 else 10
phase = int(sys.argv[5]) if len(sys.argv) > 5 else 0
around = int(sys.argv[6]) if len(sys.argv) > 6 else 0
nphases = sum(1 for _ in open(f"{out}/phases.txt"))


def describe(r):
    rt, parts, written, level, scanned, reclaimed, bios = r["t"], [], 0, None, 0, 0, 0
    for t, ev, rest in r["ev"]:
        if ev == "mm_vmscan_write_folio":
            written += 1
        elif ev == "block_bio_queue" and " W " in rest:
            bios += 1
        elif ev == "mm_vmscan_lru_shrink_inactive":
            d = dict(re.findall(r"(\w+)=(-?\d+)", rest))
            if d["priority"] != level and level is not None:
                parts.append(f"p{level}:s{scanned}/r{reclaimed}")
                scanned = reclaimed = 0
            level = d["priority"]
            scanned += int(d["nr_scanned"])
            reclaimed += int(d["nr_reclaimed"])
        elif ev == "block_rq_issue" and " W" in rest:
            size = int(re.search(r" W\S* (\d+) \(\)", rest).group(1)) // 4096
            parts.append(f"<w{written} ISS@{(t - rt) * 1e3:.2f}:{size}>")
            written = 0
        elif ev == "block_rq_complete" and " W" in rest:
            size = int(re.search(r"\+ (\d+)", rest).group(1)) // 8
            parts.append(f"C@{(t - rt) * 1e3:.2f}:{size}")
    if level is not None:
        parts.append(f"p{level}:s{scanned}/r{reclaimed}")
    if written:
        parts.append(f"w{written} (issued later)")
    total = sum(1 for e in r["ev"] if e[1] == "mm_vmscan_write_folio")
    return f"dur {(r['end'] - rt) * 1e3:.2f} ms, freed {r['freed']}, wrote {total}, bios {bios}: " + " ".join(parts)


for run in range(1, runs + 1):
    calls, rounds = [], MemcgRounds()
    for line in open(f"{out}/trace.{run}.txt"):
        m = TS.match(line)
        if not m:
            continue
        comm, t, ev, rest = m.group(1), float(m.group(4)), m.group(5), m.group(6)
        if ev == "sys_enter":
            if rest.startswith("NR 98 ") and comm == prog:
                calls.append(t)
        else:
            rounds.feed(t, ev, rest)
    recl = rounds.rounds
    calls = calls[-2 * nphases:]
    t0, t1 = calls[2 * phase], calls[2 * phase + 1]
    fill = [r for r in recl if t0 <= r["t"] < t1]
    deep = [i for i, r in enumerate(fill) if any(e[1] == "mm_vmscan_lru_shrink_inactive" and "priority=0 " in e[2] for e in r["ev"])]
    print(f"run {run}: phase {phase} {(t1 - t0) * 1e3:.1f} ms, {len(fill)} memcg reclaims; down to priority 0: reclaims {deep}")
    for i, r in enumerate(fill):
        if i == 0 or i >= len(fill) - last or any(abs(i - d) <= around for d in deep):
            print(f"  #{i} @{(r['t'] - t0) * 1e3:.2f} ms " + describe(r))
        elif i == 1 or any(i - d == around + 1 for d in deep):
            print("  ...")
    if deep:
        after = fill[deep[-1] + 1:]
        print(f"  after the last priority-0 reclaim: {len(after)} reclaims, wrote {sum(1 for r in after for e in r['ev'] if e[1] == 'mm_vmscan_write_folio')}, freed {sum(r['freed'] for r in after)}")
