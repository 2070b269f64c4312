#!/usr/bin/env python3
"""state.py OUT PROGRAM RUNS [--all]: the swap-readahead statics (hits, last_readahead_pages as win, prev_offset as prev)
of each run of run.sh, from OUT/rastate.txt and the run's pid (OUT/PROGRAM.N.trace): at each of its getrusage calls
(G1 warm_up, then two a phase) and at exit_group (X), and after each of its faults that changed them (ADDR:hits/win/prev;
the fault's window, as the statics show it: a swap-in leaves hits 0 and win its window; a readahead hit adds 1 to hits).
Without --all: the changes between the first phase's end (G3) and its phase_end's last file read, and those after the
last phase's getrusage up to the exit."""
import re, sys

LINE = re.compile(r'^\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): bpf_trace_printk: ([SF]) (\w+) (\w+) (\w+)$')
TS = re.compile(r'^\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+): (.*)$')


def pid_of(trace):
    for line in open(trace):
        m = TS.match(line)
        if m and m.group(4) == 'page_fault_user' and 'address=0x5555555' in m.group(5):
            return int(m.group(2))
    raise SystemExit(f'{trace}: no harness fault')


def st(v, p):
    v = int(v, 16)
    return f'{v & 0xffffffff}/{v >> 32}/{int(p, 16)}'


def main():
    out, prog, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    every = '--all' in sys.argv
    lines = [m.groups() for m in map(LINE.match, open(f'{out}/rastate.txt')) if m]
    for i in range(1, runs + 1):
        pid = pid_of(f'{out}/{prog}.{i}.trace')
        ev, g = [], 0
        for comm, p, ts, kind, a, v, prev in lines:
            if kind == 'S' and int(p) == pid:
                if int(a, 16) == 98:
                    g += 1
                    ev.append((f'G{g}', st(v, prev)))
                else:
                    ev.append(('X', st(v, prev)))
            elif kind == 'F' and int(a, 16) >> 48 == pid & 0xffff and int(a, 16) & 0xffffffffffff:
                ev.append((f'{int(a, 16) & 0xffffffffffff:#x}', st(v, prev)))
        gs = [k for k, (n, _) in enumerate(ev) if n.startswith('G')]
        print(f'{prog} run {i} (pid {pid}): ' + ' '.join(f'{n}={s}' for n, s in ev if n.startswith('G') or n == 'X'))
        if every:
            print('  ' + ' '.join(f'{n}:{s}' for n, s in ev))
            continue
        fill_end = ev[gs[2] + 1:gs[3]] if len(gs) > 3 else ev[gs[2] + 1:]
        print('  phase_end 1: ' + ' '.join(f'{n}:{s}' for n, s in fill_end[:14]))
        print('  exit:        ' + ' '.join(f'{n}:{s}' for n, s in ev[gs[-1] + 1:]))


if __name__ == '__main__':
    main()
