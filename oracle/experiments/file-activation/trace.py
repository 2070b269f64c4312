#!/usr/bin/env python3
"""One run of the SIGSTOP-built swappiness-N program (see run.sh) with the tracepoints on. Args: SWAPPINESS WORK
INSTANCE OUTPREFIX. Makes a fresh 16 MiB cgroup-v1 group, starts the program held on a pipe until the pid filters
are set, writes `ecsmem-phase NAME` to the instance's trace_marker at each phase's stop, and writes OUTPREFIX.trace
(the raw events) and OUTPREFIX.json (the harness's output, memory.stat at each phase's end). Removes the group and
turns its events off on every exit path."""
import os, signal, subprocess, sys, threading, time

swappiness, work, inst, outp = sys.argv[1:5]
ino = os.stat(f"{work}/data/data").st_ino
cg = f"/sys/fs/cgroup/memory/ecsmem-fileact-{os.getpid()}"
events = {
    "filemap/mm_filemap_add_to_page_cache": f"i_ino == {ino}",
    "filemap/mm_filemap_delete_from_page_cache": f"i_ino == {ino}",
    "pagemap/mm_lru_insertion": "lru == 2 || lru == 3",
    "pagemap/mm_lru_activate": None,
    "vmscan/mm_vmscan_lru_shrink_inactive": "PID",
    "vmscan/mm_vmscan_lru_shrink_active": "PID",
    "vmscan/mm_vmscan_memcg_reclaim_begin": "PID",
    "memcg/memcg_flush_stats": None,
}
# POLL_STAT=1: a thread reads the group's memory.stat every millisecond while the program runs (each read flushes
# the group's rstat counters when more than MEMCG_CHARGE_BATCH x CPUs updates are pending): the control run.
poll = os.environ.get("POLL_STAT") == "1"
done = threading.Event()


def poller():
    while not done.is_set():
        with open(f"{cg}/memory.stat") as f:
            f.read()
        time.sleep(0.001)


def w(path, text):
    with open(path, "w") as f:
        f.write(text)


os.mkdir(cg)
p = None
try:
    w(f"{cg}/memory.limit_in_bytes", "16777216")
    w(f"{cg}/memory.swappiness", swappiness)
    env = dict(os.environ, ORACLE_MEMCG=cg)
    out = open(f"{outp}.json", "w")
    p = subprocess.Popen(["sh", "-c", 'echo $$ > "$1/cgroup.procs"; read go; exec setarch -R "$2/prog" "$2/data"',
                          "sh", cg, work], env=env, stdin=subprocess.PIPE, stdout=out)
    for e, flt in events.items():
        w(f"{inst}/events/{e}/filter", f"common_pid == {p.pid}" if flt == "PID" else (flt or "0"))
        w(f"{inst}/events/{e}/enable", "1")
    w(f"{inst}/trace", "")
    w(f"{inst}/tracing_on", "1")
    if poll:
        threading.Thread(target=poller, daemon=True).start()
    p.stdin.write(b"go\n"); p.stdin.close()
    for phase in ["map", "anon", "file1", "file2", "anon2"]:
        while p.poll() is None and open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "T":
            time.sleep(0.001)
        w(f"{inst}/trace_marker", f"ecsmem-phase {phase}\n")
        if p.poll() is not None:
            break
        os.kill(p.pid, signal.SIGCONT)
    p.wait()
    done.set()
    w(f"{inst}/tracing_on", "0")
    with open(f"{outp}.trace", "w") as f, open(f"{inst}/trace") as t:
        for line in t:
            f.write(line)
    lost = [l for l in open(f"{inst}/per_cpu/cpu0/stats")] + [l for l in open(f"{inst}/per_cpu/cpu1/stats")]
    over = sum(int(l.split()[1]) for l in lost if l.startswith("overrun"))
    if over:
        print(f"warning: {over} events overwritten (buffer too small)", file=sys.stderr)
finally:
    done.set()
    time.sleep(0.01)
    w(f"{inst}/tracing_on", "0")
    for e in events:
        w(f"{inst}/events/{e}/enable", "0")
        w(f"{inst}/events/{e}/filter", "0")
    if p and p.poll() is None:
        p.kill(); p.wait()
    for _ in range(50):
        try:
            os.rmdir(cg); break
        except OSError:
            time.sleep(0.1)
    else:
        print("rmdir failed:", cg, file=sys.stderr)
