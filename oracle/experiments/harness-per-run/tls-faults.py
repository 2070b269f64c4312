#!/usr/bin/env python3
"""The TLS page's faults in each pass of a kit program with one VMA of up to 32 MiB at 0x100000000000, from kit.sh's traces.

Usage: tls-faults.py DIR...   (e.g. thp-swpout or swap-fork-shared; each DIR as written by
  KIT_EXTRA_EVENTS="exceptions:page_fault_user exceptions:page_fault_kernel sched:sched_switch" \
  flock /work/kernel.lock ../thp-swap-memcg/kit.sh thp-swpout RUNS DIR)
A pass starts at the user fault on the region's first page after a fault further on; it ends at the harness's
first fault on main's stack (phase_end's frame), or at the trace's end. Per run: the phases' faults (the run's
JSON), the faults on the TLS page 0x7ffff7dd1000 (rseq's struct rseq at +0x60; a kernel-mode fault at __get_user_8 is
rseq_ip_fixup's read of rseq_cs) in ms after the pass's start, the program's switches and memcg reclaims per pass.
"""
import json
import re
import sys

REGION = (0x100000000000, 0x100002000000)
TLS_PAGE = 0x7ffff7dd1
STACK = 0x7ffffff00000  # main's stack (its top pages): the first user fault there in a pass is phase_end's
FAULT = re.compile(r' (\d+\.\d+): page_fault_(user|kernel): address=(0x[0-9a-f]+) ip=(\S+)')


def run(d, i):
    trace = open('%s/trace.%d.txt' % (d, i)).read().splitlines()
    rec = json.load(open('%s/run.%d.txt' % (d, i)))
    faults = {p['phase']: (p['minflt'], p['majflt']) for p in rec['phases']}
    passno, last, pid = 0, None, None
    start, ended = {}, set()
    names = [p['phase'] for p in rec['phases'] if p['phase'] != 'fork']  # a fork phase touches no page of the region
    tls = {n: [] for n in range(1, len(names) + 1)}
    switches = {n: 0 for n in tls}
    reclaims = {n: 0 for n in tls}
    for line in trace:
        m = FAULT.search(line)
        if m:
            t, kind, a = float(m.group(1)), m.group(2), int(m.group(3), 16)
            if REGION[0] <= a < REGION[1]:
                pid = pid or line.split()[0].rsplit('-', 1)[1]
                if a < REGION[0] + 4096 and kind == 'user' and (last is None or last >= REGION[0] + 4096):
                    passno += 1
                    start[passno] = t
                last = a
                continue
            if passno in tls and passno not in ended:
                if a >> 12 == TLS_PAGE:
                    tls[passno].append('%.1f %s' % ((t - start[passno]) * 1000, m.group(4)))
                elif a >= STACK and kind == 'user':
                    ended.add(passno)
            continue
        if passno in tls and passno not in ended:
            if 'sched_switch' in line and ' prev_pid=%s ' % pid in line:
                switches[passno] += 1
            elif 'memcg_reclaim_begin' in line:
                reclaims[passno] += 1
    print('%s run %d: ' % (d, i) + '; '.join(
        '%s %d/%d faults, TLS faults (ms into the pass) %s, switches %d, memcg reclaims %d'
        % (name, *faults[name], tls[n] or '-', switches[n], reclaims[n]) for n, name in enumerate(names, 1)))


for d in sys.argv[1:]:
    i = 1
    while True:
        try:
            run(d, i)
        except FileNotFoundError:
            break
        i += 1
