#!/usr/bin/env python3
"""forkprobe.py BINARY CGROUP LIMIT: runs BINARY (fork.c built) as record.sh runs a kit program and, at each stop,
prints per harness VMA of the parent (and of the child once forked) its present anonymous pages and, among them,
the exclusively mapped ones (pagemap bit 56): after the fork, the pages that task has copied (written) since."""
import os, signal, struct, subprocess, sys, time

binary, cg, limit = sys.argv[1], sys.argv[2], sys.argv[3]
steps = ["B1", "F0", "F1", "B2"]


def ranges(xs):
    out, s, prev = [], None, None
    for x in xs:
        if s is None: s = prev = x
        elif x == prev + 1: prev = x
        else: out.append((s, prev)); s = prev = x
    if s is not None: out.append((s, prev))
    return " ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out) or "-"


def dump(pid, who):
    pm = open(f"/proc/{pid}/pagemap", "rb")
    tot = excl = 0
    for line in open(f"/proc/{pid}/maps"):
        f = line.split()
        s, e = (int(x, 16) for x in f[0].split("-"))
        name = os.path.basename(f[5]) if len(f) > 5 else "-"
        if s >= 1 << 47 or s == 0x100000000000 or "w" not in f[1] and "r--p" not in f[1]: continue
        n = (e - s) // 4096
        pm.seek(s // 4096 * 8)
        ents = struct.unpack(f"{n}Q", pm.read(n * 8))
        anon = [i for i, v in enumerate(ents) if v >> 63 & 1 and not v >> 61 & 1]
        ex = [i for i in anon if ents[i] >> 56 & 1]
        if not anon: continue
        tot += len(anon); excl += len(ex)
        print(f"  {who} {f[0]} {name}: present {ranges(anon)}  exclusive {ranges(ex)}")
    print(f"  {who} total present {tot} exclusive {excl}")


os.mkdir(cg)
p = None
try:
    open(f"{cg}/memory.limit_in_bytes", "w").write(limit)
    p = subprocess.Popen(["sh", "-c", 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" /tmp', "sh", cg, binary],
                         stdout=subprocess.PIPE)
    pid = p.pid
    for step in steps:
        while open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "T":
            time.sleep(0.0005)
        print(f"== {step} pgpgin {[l for l in open(f'{cg}/memory.stat') if l.startswith('pgpgin')][0].split()[1]}")
        dump(pid, "parent")
        kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
        for k in kids: dump(int(k), "child")
        os.kill(pid, signal.SIGCONT)
    p.communicate()
    p = None
finally:
    if p is not None:
        p.kill(); p.wait()
    for k in open(f"{cg}/cgroup.procs").read().split():
        os.kill(int(k), signal.SIGKILL)
    time.sleep(0.1)
    try: open(f"{cg}/memory.force_empty", "w").write("1")
    except OSError: pass
    try: os.rmdir(cg)
    except OSError as ex: print("rmdir:", ex, file=sys.stderr)
