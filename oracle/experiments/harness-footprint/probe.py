#!/usr/bin/env python3
"""Runs footprint.c (built as ./footprint) in a fresh cgroup-v1 memory group with LIMIT bytes and, at each of its
SIGSTOPs, prints per VMA of the process how many pages are present, swapped and soft-dirty (written since the last
stop: clear_refs 4 after each reading), and the swap slots of the swapped ones. Root; swap must be on."""
import os, signal, struct, subprocess, sys, time

limit = sys.argv[1] if len(sys.argv) > 1 else "16777216"
steps = ["W", "A1", "S1", "B1", "A2", "S2", "B2"]
cg = f"/sys/fs/cgroup/memory/ecsmem-footprint-{os.getpid()}"
os.mkdir(cg)
try:
    open(f"{cg}/memory.limit_in_bytes", "w").write(limit)
    env = dict(os.environ, ORACLE_MEMCG=cg)
    p = subprocess.Popen(["sh", "-c", 'echo $$ > "$1/cgroup.procs"; exec setarch -R ./footprint /tmp', "sh", cg],
                         env=env, stdout=subprocess.PIPE)
    pid = p.pid

    def ranges(xs):
        out, s, prev = [], None, None
        for x in xs:
            if s is None: s = prev = x
            elif x == prev + 1: prev = x
            else: out.append((s, prev)); s = prev = x
        if s is not None: out.append((s, prev))
        return " ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out)

    for step in steps:
        while True:
            st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
            if st == "T": break
            time.sleep(0.001)
        print(f"== {step}")
        pm = open(f"/proc/{pid}/pagemap", "rb")
        lowmap = {}
        for line in open(f"/proc/{pid}/maps"):
            f = line.split()
            s, e = (int(x, 16) for x in f[0].split("-"))
            name = f[5] if len(f) > 5 else ""
            if s >= 1 << 47: continue  # [vsyscall]: not in pagemap
            n = (e - s) // 4096
            if n > 65536: n = 65536
            pm.seek(s // 4096 * 8)
            ents = struct.unpack(f"{n}Q", pm.read(n * 8))
            pres = [i for i, v in enumerate(ents) if v >> 63 & 1]
            swp = [(i, (v >> 5) & ((1 << 50) - 1)) for i, v in enumerate(ents) if v >> 62 & 1]
            sd = [i for i, v in enumerate(ents) if v >> 55 & 1]
            if not pres and not swp: continue
            slots = sorted(o for _, o in swp)
            low = [o for o in slots if o < 2048]
            print(f"{f[0]} {f[1]} {os.path.basename(name) or '-'} pages={n} present={len(pres)} swapped={len(swp)} dirty={len(sd)}")
            print(f"   present: {ranges(pres)}")
            if len(pres) <= 8 and not name.startswith("/usr") and "r-x" not in f[1]:
                kf = open("/proc/kpageflags", "rb")
                fl = []
                for i in pres:
                    pfn = ents[i] & ((1 << 55) - 1)
                    kf.seek(pfn * 8)
                    v = struct.unpack("Q", kf.read(8))[0]
                    names = [nm for b, nm in ((2, "REFERENCED"), (4, "DIRTY"), (5, "LRU"), (6, "ACTIVE"), (12, "ANON"), (13, "SWAPCACHE"), (11, "MMAP"), (18, "UNEVICTABLE"), (9, "RECLAIM"), (8, "WRITEBACK"), (15, "COMPOUND_HEAD")) if v >> b & 1]
                    fl.append(f"{i}:{'|'.join(names)}")
                print(f"   kpageflags: {' '.join(fl)}")
            print(f"   dirty:   {ranges(sd)}")
            print(f"   swapped pages: {ranges([i for i, _ in swp])}")
            print(f"   slots<2048: {ranges(low)}  (all slots {len(slots)}; min {slots[0] if slots else '-'} max {slots[-1] if slots else '-'})")
            for i, o in swp:
                if o < 256: lowmap[o] = f"{os.path.basename(name) or f[0][:12]}+{i}"
        print("   cluster 0 (slot: vma+page): " + " ".join(f"{o}:{lowmap[o]}" for o in sorted(lowmap)))
        print(f"   smaps bytes: {len(open(f'/proc/{pid}/smaps').read())}")
        open(f"/proc/{pid}/clear_refs", "w").write("4")
        os.kill(pid, signal.SIGCONT)
    out = p.communicate()[0]
    print("== output", out.decode()[:400])
finally:
    try:
        p.kill(); p.wait()
    except Exception: pass
    try: os.rmdir(cg)
    except OSError as ex: print("rmdir:", ex, file=sys.stderr)
