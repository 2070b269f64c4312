#!/usr/bin/env python3
"""The TLS page's faults in each pass of a 32 MiB one-VMA kit program (thp-swpout), from kit.sh's traces.

Usage: tls-faults.py DIR...   (each DIR as written by
  KIT_EXTRA_EVENTS="exceptions:page_fault_user exceptions:page_fault_kernel sched:sched_switch" \
  flock /work/kernel.lock ../thp-swap-memcg/kit.sh thp-swpout RUNS DIR)
A pass starts at the user fault on the region's first page after a fault further on; it ends at the harness's
first fault on main's stack page (phase_end's frame), or at the trace's end. Per run: the phases' faults (the run's
JSON), the faults on the TLS page 0x7ffff7dd1000 (rseq's struct rseq at +0x60; a kernel-mode fault at __get_user_8 is
rseq_ip_fixup's read of rseq_cs) in ms after the pass's start, the program's switches and memcg reclaims per pass.
"""
import json
import re
import sys

REGION = (0x100000000000, 0x100002000000)
TLS_PAGE = 0x7ffff7dd1
STACK_PAGE = 0x7ffffffff  # main's top stack page: its first fault in a pass is phase_end's
FAULT = re.compile(r' (\d+\.\d+): page_fault_(user|kernel): address=(0x[0-9a-f]+) ip=(\S+)')


def run(d, i):
    trace = open('%s/trace.%d.txt' % (d, i)).read().splitlines()
    rec = json.load(open('%s/run.%d.txt' % (d, i)))
    faults = {p['phase']: (p['minflt'], p['majflt']) for p in rec['phases']}
    passno, last, pid = 0, None, None
    start, ended = {}, set()
    tls = {1: [], 2: []}
    switches = {1: 0, 2: 0}
    reclaims = {1: 0, 2: 0}
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
                elif a >> 12 == STACK_PAGE and kind == 'user':
                    ended.add(passno)
            continue
        if passno in tls and passno not in ended:
            if 'sched_switch' in line and ' prev_pid=%s ' % pid in line:
                switches[passno] += 1
            elif 'memcg_reclaim_begin' in line:
                reclaims[passno] += 1
    print('%s run %d: fill %d/%d, write %d/%d faults; TLS faults (ms into the pass): fill %s, write %s; '
          'switches %d / %d, memcg reclaims %d / %d'
          % (d, i, *faults['fill'], *faults['write'], tls[1] or '-', tls[2] or '-',
             switches[1], switches[2], reclaims[1], reclaims[2]))


for d in sys.argv[1:]:
    i = 1
    while True:
        try:
            run(d, i)
        except FileNotFoundError:
            break
        i += 1
