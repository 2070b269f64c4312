#!/usr/bin/env python3
"""Runs a kit program and samples its memory cgroup's memory.stat and /proc/vmstat every 2 ms (CLOCK_MONOTONIC, the
trace instance's clock) until it exits (the harness writes its record at the end; the phases' windows come from the
trace's getrusage calls).
Usage: sample.py CGROUP SAMPLES.tsv PROGRAM.json COMMAND..."""
import os, select, subprocess, sys, time

cg, samples, outjson, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
STAT = ("shmem", "swapcached", "writeback", "swap", "cache", "mapped_file", "inactive_anon", "active_anon",
        "pgmajfault", "pgpgout")
VM = ("pswpin", "pswpout", "pgrotated", "nr_vmscan_write", "nr_vmscan_immediate_reclaim")
# more /proc/vmstat keys, after these, from the environment (boundary.sh: swpin_zero swpout_zero)
VM += tuple(os.environ.get("SAMPLE_VM_EXTRA", "").split())

def read_kv(path, keys):
    d = {}
    with open(path) as f:
        for line in f:
            k, v = line.split()
            if k in keys:
                d[k] = int(v)
    return [d.get(k, 0) for k in keys]

p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
fd = p.stdout.fileno()
os.set_blocking(fd, False)
text = b""
with open(samples, "w") as out:
    out.write("t_ns\t" + "\t".join(STAT + VM) + "\n")
    while True:
        r, _, _ = select.select([fd], [], [], 0.002)
        now = time.monotonic_ns()
        if r:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            text += chunk
        try:
            vals = read_kv(os.path.join(cg, "memory.stat"), STAT) + read_kv("/proc/vmstat", VM)
        except OSError:
            break
        out.write(f"{now}\t" + "\t".join(map(str, vals)) + "\n")
p.wait()
with open(outjson, "wb") as f:
    f.write(text)
if p.returncode != 0:
    sys.exit(f"sample.py: the program exited with {p.returncode}")
