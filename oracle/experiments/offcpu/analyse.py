#!/usr/bin/env python3
"""run.sh's summary: per program, run and phase, the phase's wall time, the program's time switched out split into
classes by the kernel stack at its switch-out (the sched_switch stacktrace trigger) and its prev_state, each class's
count, total and median, the part of a sleep spent waiting for the wakeup and the part spent runnable after it, who
woke it (the waker's context) and who ran when it was preempted, reclaim_throttle calls (mm_vmscan_throttled), memcg
reclaims and written folios. Usage: analyse.py OUTDIR RUNS PROGRAM..."""
import collections, re, statistics, sys

out, runs, progs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
EV = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\S+?): (.*)$")
SW = re.compile(r"prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)")
SKIP = {"trace_event_raw_event_sched_switch", "__traceiter_sched_switch", "__schedule", "schedule"}


def who(comm):
    """A task's name without its instance numbers: kworker/0:1H -> kworker/H, ksoftirqd/1 -> ksoftirqd."""
    if comm.startswith("kworker/"):
        return "kworker" + ("/H" if comm.endswith("H") else "/u" if comm.startswith("kworker/u") else "")
    if comm.startswith(".NET") or comm in ("dotnet", "ecsmem", "VBCSCompiler", "MSBuild"):
        return "dotnet (other helpers)"
    return re.sub(r"/\d+$", "", comm)


def classify(state, frames):
    """The off-CPU class of one switch-out from its prev_state and kernel stack (innermost first)."""
    if not frames:
        return "preempted (no stack recorded)" if state.startswith("R") else f"asleep, state {state} (no stack recorded)"
    s = " ".join(frames)
    if "reclaim_throttle" in s:
        return "reclaim_throttle"
    if state.startswith("R"):
        if "__cond_resched" in s:
            where = "reclaim" if "try_to_free_mem_cgroup_pages" in s or "shrink_" in s else "other kernel"
            return f"preempted at cond_resched ({where})"
        if "irqentry_exit_to_user_mode" in s or "exit_to_user_mode" in s:
            return "preempted returning to user mode"
        if "preempt_schedule" in s:
            return "preempted in the kernel (irq return)"
        return "preempted (other)"
    if "do_swap_page" in s and ("folio_wait_bit" in s or "__folio_lock" in s):
        return "swap-in read (do_swap_page, folio lock)"
    if "shmem_swapin" in s or ("shmem_get_folio" in s and "folio_wait_bit" in s):
        return "swap-in read (shmem, folio lock)"
    if "folio_wait_writeback" in s:
        return "writeback wait (" + ("shrink_folio_list" if "shrink_folio_list" in s else frames[3] if len(frames) > 3 else "?") + ")"
    if "folio_wait_bit" in s or "__folio_lock" in s:
        return "folio lock (" + " < ".join(frames[2:5]) + ")"
    if "do_exit" in s or "do_task_dead" in s:
        return "exit"
    return "other: " + " < ".join(frames[:5])


def parse(path, prog):
    lines = open(path).read().splitlines()
    comm = prog[:15]
    pid = None
    ev = []  # (t, kind, data)
    i = 0
    while i < len(lines):
        m = EV.match(lines[i])
        i += 1
        if not m:
            continue
        c, p, cpu, t, name, rest = m.group(1).strip(), int(m.group(2)), int(m.group(3)), float(m.group(4)), m.group(5), m.group(6)
        if name == "sys_enter":
            if c == comm and rest.startswith("NR 98 "):
                pid = p
                ev.append((t, "getrusage", None))
        elif name == "sched_switch":
            s = SW.match(rest)
            if s.group(1) == comm:
                frames = []
                if i < len(lines) and "<stack trace>" in lines[i]:
                    i += 1
                    while i < len(lines) and lines[i].startswith(" =>"):
                        f = lines[i][4:].strip()
                        if f not in SKIP:
                            frames.append(f)
                        i += 1
                ev.append((t, "out", (int(s.group(2)), s.group(3), s.group(4), frames, cpu, int(s.group(5)))))
            if s.group(4) == comm:
                ev.append((t, "in", (int(s.group(5)), cpu)))
        elif name == "sched_wakeup":
            ev.append((t, "wakeup", (c, cpu)))
        elif name == "page_fault_user" and c == comm:
            ev.append((t, "fault", None))
        elif name == "workqueue_execute_start":
            ev.append((t, "work", (p, re.search(r"function (\S+)", rest).group(1))))
        elif name == "workqueue_execute_end":
            ev.append((t, "workend", (p, None)))
        elif name == "mm_vmscan_throttled" and c == comm:
            ev.append((t, "throttled", rest))
        elif name.startswith("mm_vmscan_memcg_reclaim_") and c == comm:
            ev.append((t, name.rsplit("_", 1)[1], None))
        elif name == "mm_vmscan_write_folio" and c == comm:
            ev.append((t, "write", None))
    return ev


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0


for prog in progs:

    print(f"== {prog}")
    for run in range(1, runs + 1):
        ev = parse(f"{out}/{prog}.trace.{run}.txt", prog)
        calls = [t for t, k, _ in ev if k == "getrusage"]
        names = [l.split()[1] for l in open(f"{out}/{prog}.phases") if l.startswith("phase ")]
        calls = calls[-2 * len(names):]
        for n, name in enumerate(names):
            t0, t1 = calls[2 * n], calls[2 * n + 1]
            cls = collections.defaultdict(list)  # class -> [(total, wait, runnable, waker/next)]
            cur = None
            reclaims = writes = 0
            rstart = None
            inreclaim = 0.0
            throttles = []
            works = collections.defaultdict(list)  # function a preempting kworker ran -> [µs]
            # FAULTS=1: a fault's on-CPU time, from its entry to the next fault's (switched-out time taken out): the
            # faults that neither slept nor reclaimed, those that slept, those that entered a memcg reclaim.
            fcls = collections.defaultdict(list)
            flast = None
            foff = 0.0
            fkind = "no sleep, no reclaim"
            wstart = {}
            for t, k, d in ev:
                if t < t0 or t > t1:
                    continue
                if k == "fault":
                    if flast is not None:
                        fcls[fkind].append((t - flast - foff) * 1e6)
                    flast, foff, fkind = t, 0.0, "no sleep, no reclaim"
                if k == "out":
                    _, state, nxt, frames, cpu, _ = d
                    if not state.startswith("R") and fkind != "entered a memcg reclaim":
                        fkind = "slept (its on-CPU part)"
                    cur = [t, state, nxt, frames, None, None, d[5]]
                elif k == "work" and cur and cur[1].startswith("R") and d[0] == cur[6]:
                    wstart[d[0]] = (t, d[1])
                elif k == "workend" and d[0] in wstart:
                    ts, fn = wstart.pop(d[0])
                    works[fn].append((t - ts) * 1e6)
                elif k == "wakeup" and cur:
                    cur[4], cur[5] = t, d[0]
                elif k == "in" and cur:
                    ts, state, nxt, frames, tw, waker, _ = cur
                    c = classify(state, frames)
                    tot = (t - ts) * 1e6
                    wait = ((tw or ts) - ts) * 1e6
                    other = who(nxt) if state.startswith("R") else who(waker or "?")
                    cls[c].append((tot, wait, tot - wait, other))
                    foff += t - ts
                    cur = None
                elif k == "begin":
                    fkind = "entered a memcg reclaim"
                    reclaims += 1
                    rstart = t
                elif k == "end" and rstart is not None:
                    inreclaim += (t - rstart) * 1e6
                    rstart = None
                elif k == "write":
                    writes += 1
                elif k == "throttled":
                    throttles.append(d)
            wall = (t1 - t0) * 1e6
            off = sum(x[0] for v in cls.values() for x in v)
            print(f"  run {run} phase {name}: wall {wall / 1e3:.1f} ms, off-CPU {off / 1e3:.1f} ms ({100 * off / wall:.0f} %), "
                  f"on-CPU {(wall - off) / 1e3:.1f} ms; {reclaims} memcg reclaims ({inreclaim / 1e3:.1f} ms inside, switched-out time included), "
                  f"{writes} folios written; reclaim_throttle {len(throttles)}")
            for r in collections.Counter(re.sub(r"usec_delayed=\d+ ", "", x) for x in throttles).most_common():
                print(f"      throttled: {r[1]} x {r[0]}")
            for c, v in sorted(cls.items(), key=lambda kv: -sum(x[0] for x in kv[1])):
                tots = [x[0] for x in v]
                wait = sum(x[1] for x in v)
                runq = sum(x[2] for x in v)
                by = collections.Counter(x[3] for x in v).most_common(4)
                print(f"    {c}: {len(v)} x, {sum(tots) / 1e3:.2f} ms (median {statistics.median(tots):.0f} µs, p90 "
                      f"{pct(tots, .9):.0f}, max {max(tots):.0f}); waiting {wait / 1e3:.2f} ms, runnable after the "
                      f"wakeup {runq / 1e3:.2f} ms; " + ("ran instead: " if c.startswith("preempted") else "woken by: ")
                      + ", ".join(f"{k} {n}" for k, n in by))
            for fk, v in fcls.items():
                print(f"    faults {fk}: {len(v)}, on-CPU µs median {statistics.median(v):.0f} (p25 {pct(v, .25):.0f}, "
                      f"p75 {pct(v, .75):.0f}; whole µs: trace_clock mono), {sum(v) / 1e3:.1f} ms")
            if works:
                print("    work the preempting kworkers ran meanwhile: " + "; ".join(
                    f"{fn} {len(v)} x {sum(v):.0f} µs (median {statistics.median(v):.0f})"
                    for fn, v in sorted(works.items(), key=lambda kv: -sum(kv[1]))))
