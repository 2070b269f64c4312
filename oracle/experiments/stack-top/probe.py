#!/usr/bin/env python3
"""probe.py BINARY CGROUP LIMIT [SWAPPINESS [DATADIR]]: runs BINARY (a kit program built by run.sh with stops S0, W, A1, A2, ...) as record.sh runs it
(env -i ORACLE_MEMCG=CG setarch -R, in a fresh cgroup-v1 group CG limited to LIMIT bytes, its memory.swappiness
SWAPPINESS when given, the program's argument DATADIR, /tmp by default). At each SIGSTOP it prints
the group's active/inactive anon and, for every anonymous page of the process outside the region (0x100000000000),
its VMA and page index, and /proc/kpageflags when present or the swap slot (pagemap bits 5-54) when swapped; at each A the
harness's pages by swap slot (the order reclaim gave them slots). Root; swap must be on."""
import os, signal, struct, subprocess, sys, time

binary, cg, limit = sys.argv[1], sys.argv[2], sys.argv[3]
swappiness = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
datadir = sys.argv[5] if len(sys.argv) > 5 else "/tmp"
steps = ["S0", "W", "A1", "A2", "A3", "A4", "A5", "A6"]
FLAGS = ((2, "REF"), (4, "DIRTY"), (5, "LRU"), (6, "ACT"), (13, "SWC"), (18, "UNEV"), (8, "WB"))

os.mkdir(cg)
p = None
try:
    open(f"{cg}/memory.limit_in_bytes", "w").write(limit)
    if swappiness is not None: open(f"{cg}/memory.swappiness", "w").write(swappiness)
    p = subprocess.Popen(["sh", "-c", 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" "$3"', "sh", cg, binary, datadir],
                         stdout=subprocess.PIPE)
    pid = p.pid
    for step in steps:
        while True:
            try:
                st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                st = "gone"
            if st in ("T", "Z", "gone"): break
            time.sleep(0.0005)
        if st != "T": break
        ms = dict(l.split() for l in open(f"{cg}/memory.stat"))
        print(f"== {step} active_anon {int(ms['active_anon'])//4096} inactive_anon {int(ms['inactive_anon'])//4096} pages;"
              f" pgpgin {ms['pgpgin']} pgpgout {ms['pgpgout']}")
        pm = open(f"/proc/{pid}/pagemap", "rb")
        kf = open("/proc/kpageflags", "rb")
        byslot = []
        for line in open(f"/proc/{pid}/maps"):
            f = line.split()
            s, e = (int(x, 16) for x in f[0].split("-"))
            name = os.path.basename(f[5]) if len(f) > 5 else "anon"
            if s >= 1 << 47 or s == 0x100000000000: continue
            n = min((e - s) // 4096, 65536)
            pm.seek(s // 4096 * 8)
            ents = struct.unpack(f"{n}Q", pm.read(n * 8))
            items = []
            for i, v in enumerate(ents):
                if v >> 62 & 1:
                    slot = (v >> 5) & ((1 << 50) - 1)
                    items.append(f"{i}:s{slot}")
                    byslot.append((slot, f"{name}@{f[0][:12]}+{i}"))
                elif v >> 63 & 1 and not v >> 61 & 1:  # present and anonymous
                    kf.seek((v & ((1 << 55) - 1)) * 8)
                    fl = struct.unpack("Q", kf.read(8))[0]
                    items.append(f"{i}:{'|'.join(nm for b, nm in FLAGS if fl >> b & 1)}")
            if items:
                print(f"  {f[0]} {f[1]} {name} pages={n}: {' '.join(items)}")
        if byslot:
            byslot.sort()
            print("  by slot: " + " ".join(f"{s}={w}" for s, w in byslot))
        os.kill(pid, signal.SIGCONT)
    out = p.communicate()[0].decode()
    p = None
    print("== output", out[:300].replace("\n", " "))
finally:
    if p is not None:
        p.kill(); p.wait()
    try: open(f"{cg}/memory.force_empty", "w").write("1")
    except OSError: pass
    try: os.rmdir(cg)
    except OSError as ex: print("rmdir:", ex, file=sys.stderr)
