#!/usr/bin/env python3
"""Each phase window's page faults outside the kit's slots (the harness's pages) from a window-faults.sh trace: the
window runs from phase_start's getrusage exit to phase_end's getrusage exit (the faults inside getrusage are its
copy_to_user to phase_end's `u`); warm_up's getrusage is the first. A `fork` phase's do_fork and fork_settle call
getrusage too, so only the windows before a program's first fork are right. A kernel fault at __get_user_8 on the TLS page is rseq's read of
rseq_cs (rseq_ip_fixup on the way back to user space after a preemption). Usage: window-faults.py RUN.trace [RUN.json]"""
import json, re, sys

ev = re.compile(r'\s(\d+\.\d+): (\w+): (.*)$')
SLOTS = (16 << 40, 48 << 40)
prog = sys.argv[1].split('/')[-1].split('.')[0]
calls = 0
inwin = False
win = []
wins = []
for line in open(sys.argv[1]):
    m = ev.search(line)
    if not m:
        continue
    name, rest = m.group(2), m.group(3)
    if prog and not line.lstrip().startswith(prog[:15] + '-'):
        continue  # events logged before set_event_pid took effect (other tasks)
    if name == 'sys_exit':
        calls += 1
        if calls >= 2:
            if inwin:
                wins.append(win)
            inwin, win = True, []
    elif name.startswith('page_fault') and inwin:
        a = int(re.search(r'address=(0x[0-9a-f]+)', rest).group(1), 16)
        if not SLOTS[0] <= a < SLOTS[1]:
            ipm = re.search(r'ip=(\S+)', rest)
            ip = ipm.group(1) if ipm else '?' 
            win.append(f"{name[11:]} {a:#x} ip {ip}")
# The windows alternate: phase_start → phase_end is a phase, phase_end → next phase_start is the harness's own.
phases = wins[0::2]
names = []
if len(sys.argv) > 2:
    try:
        names = [p['phase'] + f" ({p['minflt']}/{p['majflt']})" for p in json.load(open(sys.argv[2]))['phases']]
    except Exception:
        pass
for k, w in enumerate(phases):
    print(f"  {names[k] if k < len(names) else k}: {len(w)} harness faults: " + "; ".join(w))
