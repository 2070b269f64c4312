#!/usr/bin/env python3
"""Runs the kit's swappiness-N program (oracle/gen/swappiness-N.c, built with a raw SIGSTOP after each phase_end:
see run.sh) in a fresh 16 MiB cgroup-v1 memory group and, after each phase, counts the file VMA's resident pages
(0x120000000000, 16 MiB) by folio kind (single page, or head/tail of a large folio, from /proc/kpageflags) and
by LRU list (PG_active), with the group's memory.stat active_file / inactive_file. Root; swap must be on."""
import os, signal, struct, subprocess, sys, time

swappiness, datadir = sys.argv[1], sys.argv[2]
cg = f"/sys/fs/cgroup/memory/ecsmem-folios-{os.getpid()}"
os.mkdir(cg)
p = None
try:
    open(f"{cg}/memory.limit_in_bytes", "w").write("16777216")
    open(f"{cg}/memory.swappiness", "w").write(swappiness)
    env = dict(os.environ, ORACLE_MEMCG=cg)
    p = subprocess.Popen(["sh", "-c", 'echo $$ > "$1/cgroup.procs"; exec setarch -R ./prog "$2"', "sh", cg, datadir],
                         env=env, stdout=subprocess.DEVNULL)
    base, n = 0x120000000000, 4096
    for phase in ["map", "anon", "file1", "file2", "anon2"]:
        while open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "T":
            time.sleep(0.001)
        pm = open(f"/proc/{p.pid}/pagemap", "rb"); kf = open("/proc/kpageflags", "rb")
        pm.seek(base // 4096 * 8)
        ents = struct.unpack(f"{n}Q", pm.read(n * 8))
        c = {}
        for v in ents:
            if not v >> 63 & 1: continue
            kf.seek((v & ((1 << 55) - 1)) * 8)
            f = struct.unpack("Q", kf.read(8))[0]
            kind = "head" if f >> 15 & 1 else "tail" if f >> 16 & 1 else "single"
            lru = "active" if f >> 6 & 1 else "inactive"
            c[(kind, lru)] = c.get((kind, lru), 0) + 1
        st = dict(l.split() for l in open(f"{cg}/memory.stat") if l.split()[0] in ("active_file", "inactive_file"))
        print(f"{phase}: mapped " + " ".join(f"{k}/{l}={v}" for (k, l), v in sorted(c.items())) +
              f" | memory.stat active_file {int(st['active_file']) // 4096} inactive_file {int(st['inactive_file']) // 4096}")
        os.kill(p.pid, signal.SIGCONT)
    p.wait()
finally:
    if p and p.poll() is None: p.kill(); p.wait()
    try: os.rmdir(cg)
    except OSError as ex: print("rmdir:", ex, file=sys.stderr)
