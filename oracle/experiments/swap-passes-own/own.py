#!/usr/bin/env python3
"""own.py OUT: per run of run.sh, the program's own faults (outside the 48 MiB region) and where they fall.

For every run (OUT/trace.N.txt) prints, per pass, the region's faults between the pass's two getrusage calls
(the program's minflt + majflt window) and every fault outside the region from the pass's first /proc/vmstat
read to the next pass's: its place (before getrusage a, inside the window, after getrusage b), address, error code
and the pages allocated before the program's next event (a swap-in fault's page and its readahead window's pages;
a fault on a never-touched page allocates one zeroed page; a fault that allocates nothing found its page in the
swap cache or is a write-protect fault); then the kernel-mode faults on the program's addresses (elf_load's bss
zeroing, rseq's get_user after a switch, copy_to_user), where run.sh traced them."""
import re
import sys
from collections import Counter
from pathlib import Path

LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+): (.*)$")
COMM = "anon_swap_passe"


def events(path):
    for line in open(path, encoding="utf-8", errors="replace"):
        m = LINE.match(line)
        if not m or m.group(1).strip() != COMM:
            continue
        kind, rest = m.group(4), m.group(5)
        if kind == "page_fault_user":
            a = re.search(r"address=0x([0-9a-f]+) ip=0x([0-9a-f]+) error_code=0x([0-9a-f]+)", rest)
            yield ("fault", int(a.group(1), 16), int(a.group(3), 16))
        elif kind == "page_fault_kernel":
            a = re.search(r"address=0x([0-9a-f]+) ip=(\S+)", rest)
            yield ("kfault", int(a.group(1), 16), a.group(2))
        elif kind == "mm_page_alloc":
            yield ("alloc", 0, 0)
        elif kind == "sys_enter":
            yield ("sys", int(rest.split()[1]), 0)


def run(path):
    ev = list(events(path))
    pages = Counter(a >> 12 for k, a, _ in ev if k == "fault")
    # the region: the 12288 contiguous pages holding the most pages faulted 5 times or more (2 in pass 0, 1 a pass after)
    hot = sorted(p for p, c in pages.items() if c >= 5)
    best, lo, j = -1, hot[0], 0
    for i, p in enumerate(hot):
        while hot[j] < p - 12287:
            j += 1
        if i - j + 1 > best:
            best, lo = i - j + 1, p - 12287
    lo = max(lo, hot[0]) if best < 12288 else min(q for q in hot if q >= lo)
    region = range(lo, lo + 12288)
    print(f"{path.name}: region 0x{lo << 12:x}-0x{(lo + 12288) << 12:x}, {len(ev)} events")
    getrusage = -1
    own = []  # (pass, where, addr, err, allocs)
    kernel = []  # kernel-mode faults on user addresses (page_fault_kernel): (getrusage calls so far, addr, ip)
    inwin = Counter()
    reg = []  # the region's faults in a getrusage window: (pass, allocs)
    cur = None
    for k, a, e in ev:
        if k == "sys" and a == 98:
            getrusage += 1
        if k == "alloc" and cur is not None:
            cur[4] += 1
            continue
        if k == "kfault":
            kernel.append((getrusage, a, e))
        if k != "fault":
            cur = None
            continue
        p, where = getrusage // 2, ("window" if getrusage % 2 == 0 else "after b")
        if getrusage < 0:
            p, where = -1, "start"
        if (a >> 12) in region:
            if where == "window":
                inwin[p] += 1
                cur = [p, "region", a, e, 0]
                reg.append(cur)
            else:
                cur = None
            continue
        cur = [p, where, a, e, 0]
        own.append(cur)
    for p in range(0, 5):
        w = [o for o in own if o[0] == p and o[1] == "window"]
        b = [o for o in own if o[0] == p and o[1] == "after b"]
        r = [o[4] for o in reg if o[0] == p]
        print(f"  pass {p}: region: {inwin[p]} faults in the getrusage window, {sum(1 for n in r if n > 0)} allocating"
              f" {sum(r)} pages;"
              f" own: {len(w)} faults in the window allocating {sum(o[4] for o in w)}"
              f" ({' '.join(f'0x{o[2]:x}/{o[4]}' for o in w)}), {len(b)} after getrusage b allocating {sum(o[4] for o in b)}")
    kernel_faults(kernel)


def kernel_faults(kernel):
    """The kernel-mode faults, each with where it fell (exec and start-up, or a pass's getrusage window or after it)."""
    for g, a, ip in kernel:
        where = "start" if g < 0 else f"pass {g // 2} {'window' if g % 2 == 0 else 'after b'}"
        print(f"  kernel-mode fault ({where}): 0x{a:x} {ip}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: own.py OUT (run.sh's output directory)")
    out = Path(sys.argv[1])
    traces = sorted(out.glob("trace.*.txt"))
    if not traces:
        sys.exit(f"own.py: no trace.N.txt in {out}")
    for t in traces:
        run(t)


if __name__ == "__main__":
    main()
