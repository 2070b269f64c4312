#!/usr/bin/env python3
"""monitor.py CG OUT CMD...: runs CMD (which joins group CG and execs the kit program built with kmem-gap's
patch-harness.sh; stdout OUT.json, stderr OUT.err), waits for it to stop itself after the stop phase's memcg record,
and reads, from here (the caller's group, so nothing read is charged to CG): the group's memory.usage_in_bytes,
memory.kmem.usage_in_bytes, memory.kmem.max_usage_in_bytes and memory.stat, the task's /proc status, maps and pagemap
(each VMA's pages: present with PFN, or swapped with the slot), and kscan's list of the page frames charged to CG
(OUT.kscan), and the mincore vector the task left in buf (BUF_ADDR, through /proc/PID/mem); then continues it and
waits for its end. Writes OUT.stop.json."""
import json, os, signal, struct, subprocess, sys

cg, out, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
here = os.path.dirname(os.path.abspath(__file__))
kscan = os.environ['KSCAN']
p = subprocess.Popen(cmd, stdout=open(out + '.json', 'w'), stderr=open(out + '.err', 'w'))
_, st = os.waitpid(p.pid, os.WUNTRACED)
rec = {}
if os.WIFSTOPPED(st):
    rd = lambda f: open(f).read()
    for f in ('memory.usage_in_bytes', 'memory.kmem.usage_in_bytes', 'memory.kmem.max_usage_in_bytes'):
        rec[f] = int(rd(f'{cg}/{f}'))
    rec['memory.stat'] = {l.split()[0]: int(l.split()[1]) for l in rd(f'{cg}/memory.stat').splitlines()}
    rec['status'] = {l.split(':')[0]: l.split(':', 1)[1].strip() for l in rd(f'/proc/{p.pid}/status').splitlines()}
    maps = rd(f'/proc/{p.pid}/maps').splitlines()
    smaps = rd(f'/proc/{p.pid}/smaps')
    rec['smaps_bytes'] = len(smaps.encode())
    rec['smaps_entry_bytes'] = [len(e.encode()) for e in ('\n' + smaps).split('\nVmFlags')]
    rec['vmas'] = []
    with open(f'/proc/{p.pid}/pagemap', 'rb') as pm:
        for l in maps:
            a, b = (int(x, 16) for x in l.split()[0].split('-'))
            pm.seek(a // 4096 * 8)
            raw = pm.read((b - a) // 4096 * 8)
            pages = []
            for i in range(len(raw) // 8):
                e = struct.unpack_from('<Q', raw, i * 8)[0]
                if e >> 63 & 1:
                    pages.append([i, 'p', e & ((1 << 55) - 1), e >> 56 & 1])
                elif e >> 62 & 1:
                    pages.append([i, 's', e >> 5 & ((1 << 50) - 1), e & 31])
            rec['vmas'].append({'map': l, 'pages': pages})
    with open(f'/proc/{p.pid}/mem', 'rb') as mem:
        mem.seek(int(os.environ['BUF_ADDR'], 16))
        rec['mincore'] = mem.read(4096).hex()
    ino = os.stat(cg).st_ino
    rec['ino'] = ino
    with open(out + '.kscan', 'w') as f:
        subprocess.run([kscan, str(ino)], stdout=f, check=True)
    rec['usage_after_scan'] = int(rd(f'{cg}/memory.usage_in_bytes'))
    rec['kmem_after_scan'] = int(rd(f'{cg}/memory.kmem.usage_in_bytes'))
    os.kill(p.pid, signal.SIGCONT)
else:
    rec['not_stopped'] = st
p.wait()
rec['rc'] = p.returncode
json.dump(rec, open(out + '.stop.json', 'w'))
