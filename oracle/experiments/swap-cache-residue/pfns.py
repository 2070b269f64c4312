#!/usr/bin/env python3
"""boundary.sh's traces read: per run, (1) what the phase boundary BEFORE PHASE (default 2, the write pass) put on the
LRU (mm_lru_insertion between the two getrusage calls around it: folios, in the swap cache or not) and read from swap
(read bios, their slots; /proc/vmstat's swpin_zero in the 2 ms samples around the boundary), then (2) for the phase's
first deep memcg reclaim (more than MIN folios written), the pages its priority-0 pass freed before its first write
completed (the clean pages it found in the list: mm_page_free_batched between priority 1's last shrink_inactive and the
first write completion), each classed by its last LRU insertion: when (the phase or the boundary it came in) and its
flags (s: swap cache), and whether it was read from swap then (a read bio of the same time, for the slot).
Usage: pfns.py OUTDIR RUNS [PHASE] [MIN]"""
import re, sys
from collections import Counter
from traces import TS, MemcgRounds

out, runs = sys.argv[1], int(sys.argv[2])
phase = int(sys.argv[3]) if len(sys.argv) > 3 else 2
least = int(sys.argv[4]) if len(sys.argv) > 4 else 500
names = [l.split()[1] for l in open(f"{out}/phases.txt")]
ext = [tuple(map(int, l.split())) for l in open(f"{out}/extents.txt")]  # file page, first sector, end sector


def slot(sector):
    for page, s, e in ext:
        if s <= sector < e:
            return page + (sector - s) // 8
    return None


def samples(run):
    rows = [l.rstrip("\n").split("\t") for l in open(f"{out}/samples.{run}.tsv")]
    head = rows[0]
    return [dict(zip(head, map(int, r))) for r in rows[1:]]


for run in range(1, runs + 1):
    prog = None
    calls, reads, rounds = [], [], MemcgRounds()
    for line in open(f"{out}/trace.{run}.txt"):
        m = TS.match(line)
        if not m:
            continue
        comm, t, ev, rest = m.group(1), float(m.group(4)), m.group(5), m.group(6)
        if ev == "sys_enter" and rest.startswith("NR 98 "):
            calls.append((t, comm))
        elif ev == "block_bio_queue" and " R " in rest:
            mm = re.search(r" R\S* (\d+) \+ (\d+)", rest)
            sec, n = int(mm.group(1)), int(mm.group(2))
            reads.append((t, slot(sec), n // 8))
        rounds.feed(t, ev, rest)
    recl = rounds.rounds
    # the program's getrusage calls: the last 2 per phase
    prog = Counter(c for _, c in calls).most_common(1)[0][0]
    calls = [t for t, c in calls if c == prog][-2 * len(names):]
    pstart = [calls[2 * i] for i in range(len(names))]
    pend = [calls[2 * i + 1] for i in range(len(names))]
    b0, b1 = pend[phase - 1], pstart[phase]

    ins, frees = [], []
    for line in open(f"{out}/pfn.{run}.txt"):
        m = TS.match(line)
        if not m:
            continue
        t, ev, rest = float(m.group(4)), m.group(5), m.group(6)
        if ev == "mm_lru_insertion":
            mm = re.search(r"pfn=0x([0-9a-f]+) lru=(\d+) flags=(.*)$", rest)
            ins.append((t, int(mm.group(1), 16), int(mm.group(2)), mm.group(3).replace(" ", "")))
        elif ev in ("mm_page_free_batched", "mm_page_free"):
            mm = re.search(r"pfn=0x([0-9a-f]+)", rest)
            frees.append((t, int(mm.group(1), 16), ev))

    def when(t):
        for i in range(len(names)):
            if pstart[i] <= t <= pend[i]:
                return names[i]
            if i + 1 < len(names) and pend[i] < t < pstart[i + 1]:
                return f"{names[i]}->{names[i + 1]}"
        return "before" if t < pstart[0] else "after"

    bins = [x for x in ins if b0 <= x[0] <= b1]
    brd = [x for x in reads if b0 <= x[0] <= b1]
    sm = samples(run)
    tb0, tb1 = int(b0 * 1e9), int(b1 * 1e9)
    before = [s for s in sm if s["t_ns"] <= tb0]
    after = [s for s in sm if s["t_ns"] >= tb1]
    zs = ""
    if before and after and "swpin_zero" in sm[0]:
        a, b = before[-1], after[0]
        zs = (f"; vmstat from {(tb0 - a['t_ns']) / 1e6:.2f} ms before to {(b['t_ns'] - tb1) / 1e6:.2f} ms after: swpin_zero "
              f"+{b['swpin_zero'] - a['swpin_zero']} pswpin +{b['pswpin'] - a['pswpin']}, swapcached {a['swapcached']}->{b['swapcached']}")
    print(f"run {run}: boundary {names[phase - 1]}->{names[phase]} {(b1 - b0) * 1e3:.2f} ms: {len(bins)} LRU insertions "
          f"({dict(Counter(f for *_, f in bins))}), read bios {len(brd)} ({sum(n for *_, n in brd)} pages, slots "
          f"{sorted(s for _, s, _ in brd)}){zs}")
    try:
        with open(f"{out}/program.{run}.json") as f:
            import json
            ph = json.load(f)["phases"]
            ms = ph[phase - 1].get("memstat", {})
            print(f"  phase_end {names[phase - 1]} memory.stat: swapcached {ms.get('swapcached', 0) // 4096} inactive_anon "
                  f"{ms.get('inactive_anon', 0) // 4096} active_anon {ms.get('active_anon', 0) // 4096} (pages)")
    except (OSError, ValueError, KeyError, IndexError):
        pass

    # the phase's first deep reclaim
    deep = [r for r in recl if pstart[phase] <= r["t"] <= pend[phase]
            and sum(1 for e in r["ev"] if e[1] == "mm_vmscan_write_folio") > least]
    if not deep:
        print("  no deep reclaim")
        continue
    r = deep[0]
    p0 = next(t for t, ev, rest in r["ev"] if ev == "mm_vmscan_lru_shrink_inactive" and "priority=0 " in rest)
    p1 = max([t for t, ev, rest in r["ev"] if ev == "mm_vmscan_lru_shrink_inactive" and "priority=1 " in rest] or [r["t"]])
    done = next((t for t, ev, rest in r["ev"] if ev == "block_rq_complete" and " W" in rest), r["end"])
    seen, fr = set(), []
    for x in frees:  # a page freed by free_unref_folios shows both events
        if p1 < x[0] < done and x[1] not in seen:
            seen.add(x[1])
            fr.append(x)
    last = {}
    for x in ins:
        if x[0] < r["t"]:
            last[x[1]] = x
    cls = Counter()
    detail = []
    for t, pfn, ev in fr:
        i = last.get(pfn)
        if i is None:
            cls[("no insertion seen", ev)] += 1
            continue
        rd = [s for tt, s, n in reads if abs(tt - i[0]) < 2e-4]
        cls[(when(i[0]), i[3])] += 1
        ph = next((k for k in range(len(names)) if i[0] <= pend[k]), len(names) - 1)
        detail.append((when(i[0]), i[3], f"{(i[0] - pstart[ph]) * 1e3:.2f}", rd[:3]))
    p0rec = sum(int(re.search(r"nr_reclaimed=(\d+)", rest).group(1)) for t, ev, rest in r["ev"]
                if ev == "mm_vmscan_lru_shrink_inactive" and "priority=0 " in rest and t < done)
    nth = sum(1 for x in recl if pstart[phase] <= x["t"] < r["t"])
    wrapped = "wrapped (a write completed inside it)" if done < r["end"] else "did not wrap (its writes went out at its end)"
    print(f"  first deep reclaim of {names[phase]}: #{nth} @{(r['t'] - pstart[phase]) * 1e3:.2f} ms, freed {r['freed']}, {wrapped}; "
          f"priority 0 before the first write completion ({(done - r['t']) * 1e3:.2f} ms in): nr_reclaimed {p0rec}, "
          f"{len(fr)} pages freed:")
    for k, n in sorted(cls.items(), key=lambda kv: -kv[1]):
        print(f"    {n:4d}  inserted in {k[0]}, flags {k[1]}")
    for (w, f, t, rd), n in Counter((d[0], d[1], d[2], tuple(d[3])) for d in detail).items():
        print(f"      {n:3d} x {w} {f} @{t} ms of the phase it came in (its end for a boundary), read bios then: {list(rd)}")
