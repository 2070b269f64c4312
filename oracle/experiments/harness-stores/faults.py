#!/usr/bin/env python3
"""faults.py TRACE GEN.c [JSON]: a run.sh trace's page faults on the harness's pages (every address outside the kit's
region slots, 16–48 TiB), by the harness segment they fall in. Segments follow the getrusage calls of the generated
main (oracle/gen/PROGRAM.c): warm_up's phase_start, then each phase's phase_start, do_fork/do_fork_touch and
fork_settle, and phase_end; a phase_end's segment runs from its getrusage to the next getrusage (the next
phase_start, or the exit), and is cut by its openat calls: `pre` before smaps is opened (emit and the first
phase_end's lazy binding, the scenario's BeforeSnapshot), then `smaps`, `rollup`, `memstat`, ... (the scenario's
BetweenPhases). Each fault: U/K (user or kernel mode), its error_code's write bit (W store, R load) and present bit
(P: a protection fault on a mapped page; N: not present, on a harness page a swap-in or a first touch), the address
named by role, the ip (libc+off, ld+off, bin+off: ASLR off). The last lines sum, over phase_end segments, each
page's first fault's kind."""
import re, sys, collections

ev = re.compile(r'^\s*(.+?)-(\d+)\s+\[\d+\].{6,}?\s(\d+\.\d+): (\w+): (.*)$')
SLOTS = (16 << 40, 48 << 40)
trace, gen = sys.argv[1], sys.argv[2]
calls = []  # getrusage calls of main, in order
src = open(gen).read()
body = src[src.index('int main('):]
for m in re.finditer(r'\b(warm_up|phase_start|do_fork_touch|do_fork|fork_settle|phase_end)\((?:"(\w[\w-]*)")?', body):
    f, arg = m.group(1), m.group(2)
    calls.append({'warm_up': 'warmup', 'phase_start': 'start', 'do_fork': 'fork', 'do_fork_touch': 'forktouch',
                  'fork_settle': 'settle', 'phase_end': 'end:' + (arg or '?')}[f])
OPENS = ['pre', 'smaps', 'rollup', 'memstat', 'oomctl', 'failcnt', 'maxusage', 'meminfo', 'after']

# The binary's layout (gcc -O2 of the generated C, as run.sh builds it): the .data page is buf's first page (the
# scenario's DataPage), the bss pages follow it (bss j is the data page + 1 + j: buf's, outn's 63, out's, reg's 127),
# the RELRO page (GOT[1]) precedes it.
import subprocess, tempfile, os
with tempfile.TemporaryDirectory() as d:
    subprocess.run(['gcc', '-O2', '-I' + os.path.join(os.path.dirname(os.path.abspath(__file__)), '../..'), '-o', d + '/b', gen], check=True)
    syms = {l.split()[2]: int(l.split()[0], 16) for l in subprocess.run(['nm', d + '/b'], capture_output=True, text=True).stdout.splitlines() if len(l.split()) == 3}
DATA = (0x555555554000 + syms['buf']) >> 12

def role(a):
    p = a >> 12
    if p == 0x7ffffffff: return 'stack-top'
    if p == 0x7fffffffe: return 'stack-2'
    if p == 0x7fffffffd: return 'stack-3'
    if 0x7ffffffbd <= p < 0x7fffffffd: return 'stack-arr%d' % (p - 0x7ffffffbd)
    if p == DATA: return '.data'
    if DATA < p <= DATA + 128: return 'bss%d' % (p - DATA - 1)
    if p == DATA - 1: return 'bin-relro'
    if 0x555555554 <= p < DATA: return 'bin+%#x' % (a - 0x555555554000)
    if 0x7ffff7dd0 <= p < 0x7ffff7dd3: return 'tls%d' % (p - 0x7ffff7dd0)
    if 0x7ffff7fa2 <= p < 0x7ffff7fa6: return 'libc-relro%d' % (p - 0x7ffff7fa2)
    if 0x7ffff7fa6 <= p < 0x7ffff7fa8: return 'libc-rw%d' % (p - 0x7ffff7fa6)
    if 0x7ffff7fa8 <= p < 0x7ffff7fb5: return 'libc-bss%d' % (p - 0x7ffff7fa8)
    if 0x7ffff7fc0 <= p < 0x7ffff7fc2: return 'ld-scratch%d' % (p - 0x7ffff7fc0)
    if 0x7ffff7ffb <= p < 0x7ffff7ffd: return 'ld-relro%d' % (p - 0x7ffff7ffb)
    if 0x7ffff7ffd <= p < 0x7ffff7fff: return 'ld-rw%d' % (p - 0x7ffff7ffd)
    if 0x7ffff7dd3 <= p < 0x7ffff7fa2: return 'libc-text'
    return hex(a)

def sym(ip):
    try: a = int(ip, 16)
    except ValueError: return ip
    if 0x7ffff7dd3000 <= a < 0x7ffff7fa8000: return 'libc+%#x' % (a - 0x7ffff7dd3000)
    if 0x7ffff7fca000 <= a < 0x7ffff7fff000: return 'ld+%#x' % (a - 0x7ffff7fca000)
    if 0x555555554000 <= a < 0x555555600000: return 'bin+%#x' % (a - 0x555555554000)
    return ip

prog = trace.split('/')[-1].split('.')[0][:15]
n = -1; opens = 0
segs = collections.OrderedDict()
for line in open(trace):
    m = ev.match(line)
    if not m or m.group(1).strip() != prog: continue
    name, rest = m.group(4), m.group(5)
    if name == 'sys_enter':
        nr = int(rest.split()[1])
        if nr == 98:
            n += 1; opens = 0
        elif nr == 257 and n >= 0:
            opens += 1
        continue
    if n < 0 or not name.startswith('page_fault'): continue
    a = int(re.search(r'address=(0x[0-9a-f]+)', rest).group(1), 16)
    if SLOTS[0] <= a < SLOTS[1]: continue
    ec = int(re.search(r'error_code=(0x[0-9a-f]+)', rest).group(1), 16)
    if ec & 0x10: continue  # instruction fetch
    ip = re.search(r'ip=(\S+)', rest).group(1)
    label = calls[n] if n < len(calls) else 'call%d' % n
    if label.startswith('end:'):
        label += '/' + OPENS[min(opens, len(OPENS) - 1)]
    segs.setdefault('%02d %s' % (n, label), []).append((
        ('K' if name.endswith('kernel') else 'U') + ('W' if ec & 2 else 'R') + ('P' if ec & 1 else 'N'), role(a), a, sym(ip)))

first = collections.Counter()
for k, fs in segs.items():
    print(k + ':')
    seen = set()
    for kind, r, a, ip in fs:
        print('   %s %-13s %#x %s' % (kind, r, a, ip))
        if k.split()[1].startswith('end:') and r not in seen:
            seen.add(r); first[(r, kind)] += 1
print('first fault per page in phase_end segments:', ' '.join('%s:%s=%d' % (r, kd, c) for (r, kd), c in sorted(first.items())))
