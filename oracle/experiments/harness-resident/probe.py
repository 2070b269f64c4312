#!/usr/bin/env python3
"""probe.py BINARY CGROUP LIMIT: runs BINARY (rollup.c built) as record.sh runs a kit program (env -i ORACLE_MEMCG=CG,
setarch -R, in a fresh cgroup-v1 memory group CG limited to LIMIT bytes) and, at each of its SIGSTOPs, prints per
VMA of the process its present, swapped and soft-dirty pages (soft-dirty: written since the previous stop, as
clear_refs 4 is written after each reading) with /proc/kpageflags of the present ones in small VMAs; then each
phase's rollup Anonymous less the region's (the kit's harness-resident figure). Root; swap must be on."""
import json, os, signal, struct, subprocess, sys, time

binary, cg, limit = sys.argv[1], sys.argv[2], sys.argv[3]
steps = ["W", "A1", "R1", "B1", "A2", "R2", "B2"]
FLAGS = ((2, "REF"), (4, "DIRTY"), (5, "LRU"), (6, "ACTIVE"), (12, "ANON"), (13, "SWAPCACHE"), (11, "MMAP"), (8, "WB"))


def ranges(xs):
    out, s, prev = [], None, None
    for x in xs:
        if s is None: s = prev = x
        elif x == prev + 1: prev = x
        else: out.append((s, prev)); s = prev = x
    if s is not None: out.append((s, prev))
    return " ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out) or "-"


os.mkdir(cg)
p = None
try:
    open(f"{cg}/memory.limit_in_bytes", "w").write(limit)
    # ENV_PAD=N: one more environment variable of N bytes (the strings at the stack's top move main's frame down).
    pad = "P=" + "x" * int(os.environ.get("ENV_PAD", "0"))
    p = subprocess.Popen(["sh", "-c", 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" ${3:+"$3"} setarch -R "$2" /tmp', "sh", cg, binary,
                          pad if len(pad) > 2 else ""], stdout=subprocess.PIPE)
    pid = p.pid
    for step in steps:
        while True:
            st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
            if st == "T": break
            time.sleep(0.0005)
        print(f"== {step}")
        pm = open(f"/proc/{pid}/pagemap", "rb")
        kf = open("/proc/kpageflags", "rb")
        for line in open(f"/proc/{pid}/maps"):
            f = line.split()
            s, e = (int(x, 16) for x in f[0].split("-"))
            name = os.path.basename(f[5]) if len(f) > 5 else "-"
            if s >= 1 << 47: continue  # [vsyscall]
            if s == 0x100000000000: name = "REGION"
            n = min((e - s) // 4096, 65536)
            pm.seek(s // 4096 * 8)
            ents = struct.unpack(f"{n}Q", pm.read(n * 8))
            pres = [i for i, v in enumerate(ents) if v >> 63 & 1]
            swp = [i for i, v in enumerate(ents) if v >> 62 & 1]
            sd = [i for i, v in enumerate(ents) if v >> 55 & 1]
            anon_excl = [i for i, v in enumerate(ents) if v >> 63 & 1 and not v >> 61 & 1]  # present, not file/shared-anon
            if not pres and not swp: continue
            print(f"{f[0]} {f[1]} {name} pages={n} present={len(pres)} anon={len(anon_excl)} swapped={len(swp)} dirty={len(sd)}")
            if name == "REGION": continue
            print(f"   anon-present: {ranges(anon_excl)}   swapped: {ranges(swp)}   soft-dirty: {ranges(sd)}")
            if len(anon_excl) <= 16:
                fl = []
                for i in anon_excl:
                    kf.seek((ents[i] & ((1 << 55) - 1)) * 8)
                    v = struct.unpack("Q", kf.read(8))[0]
                    fl.append(f"{i}:{'|'.join(nm for b, nm in FLAGS if v >> b & 1)}")
                print(f"   kpageflags: {' '.join(fl)}")
        open(f"/proc/{pid}/clear_refs", "w").write("4")
        os.kill(pid, signal.SIGCONT)
    out = p.communicate()[0].decode()
    p = None
    for ph in json.loads(out)["phases"]:
        r = ph["rollup"]; v = ph["vmas"][0]
        print(f"== {ph['phase']}: majflt {ph['majflt']} minflt {ph['minflt']} rollup Anonymous {r['Anonymous']} Swap {r['Swap']}"
              f" region anon {v['anon_kb']} swap {v['swap_kb']} -> harness resident {r['Anonymous'] - v['anon_kb']} kB,"
              f" footprint {r['Anonymous'] + r['Swap'] - v['anon_kb'] - v['swap_kb']} kB")
finally:
    if p is not None:
        p.kill(); p.wait()
    try:
        open(f"{cg}/memory.force_empty", "w").write("1")
    except OSError: pass
    try: os.rmdir(cg)
    except OSError as ex: print("rmdir:", ex, file=sys.stderr)
