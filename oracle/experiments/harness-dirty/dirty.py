#!/usr/bin/env python3
"""Which of the kit harness's anonymous pages one later phase boundary (phase_end, then the next phase_start) writes.
Root, with swap on (run.sh). probe (probe.c) stops itself before and after the boundary. At the first stop every
anonymous page of the process outside the program's regions (KPF_ANON in /proc/kpageflags: the VMAs without a file
and the copied-on-write pages of libc's, ld.so's and the binary's rw and RELRO segments) is paged out with
process_madvise(MADV_PAGEOUT), so each is a swap entry, its data in a slot (or the zeromap). At the second stop each
page the boundary faulted back is paged out again, one at a time, and /proc/vmstat's pswpout (swpout_zero for a
zero-filled page) tells whether it was written: a page only read is a clean swap-cache page, freed without I/O; a
page stored to (a write fault, or a read fault then a store: the PTE's dirty bit) is written again.
(Soft-dirty and idle page tracking are not built into this kernel: CONFIG_MEM_SOFT_DIRTY, CONFIG_IDLE_PAGE_TRACKING.)
Mode fork: the first stop is before do_fork, the second after fork_settle, phase_end and phase_start (the child keeps
swap entries, so the parent's pages are its alone: mapcount 1, and the second page-out tells written from read alike).
Usage: dirty.py PROBE DATADIR boundary|idle|fork"""
import ctypes, os, signal, struct, subprocess, sys

probe, data, mode = sys.argv[1:4]
libc = ctypes.CDLL(None, use_errno=True)
SYS_pidfd_open, SYS_process_madvise, MADV_PAGEOUT = 434, 440, 21

class iovec(ctypes.Structure):
    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]

def vmstat():
    d = {}
    for l in open('/proc/vmstat'):
        k, v = l.split()
        d[k] = int(v)
    return d

def pageout(pidfd, pages):
    for i in range(0, len(pages), 512):
        chunk = pages[i:i + 512]
        iov = (iovec * len(chunk))(*[iovec(a, 4096) for a in chunk])
        if libc.syscall(SYS_process_madvise, pidfd, iov, len(chunk), MADV_PAGEOUT, 0) < 0:
            sys.exit('process_madvise: errno %d' % ctypes.get_errno())

p = subprocess.Popen(['setarch', '-R', probe, data, mode], stdout=subprocess.DEVNULL)

def wait_stop():
    _, st = os.waitpid(p.pid, os.WUNTRACED)
    if not os.WIFSTOPPED(st):
        sys.exit('probe ended early: %r' % st)

def pages():
    """(address, mapping name, perms, pagemap entry, kpageflags or None) for the process's pages outside its regions."""
    pm = open('/proc/%d/pagemap' % p.pid, 'rb')
    kpf = open('/proc/kpageflags', 'rb')
    out = []
    for line in open('/proc/%d/maps' % p.pid).read().splitlines():
        f = line.split()
        s, e = (int(x, 16) for x in f[0].split('-'))
        if s in (0x100000000000, 0x120000000000) or s >= 1 << 47:
            continue
        name = os.path.basename(f[5]) if len(f) > 5 else '[anon]'
        for a in range(s, e, 4096):
            pm.seek(a // 4096 * 8)
            v = struct.unpack('<Q', pm.read(8))[0]
            flags = None
            if v >> 63 & 1:
                kpf.seek((v & ((1 << 55) - 1)) * 8)
                flags = struct.unpack('<Q', kpf.read(8))[0]
            out.append((a, name, f[1], v, flags))
    return out

wait_stop()
pidfd = libc.syscall(SYS_pidfd_open, p.pid, 0)
anon = [(a, n, pr) for a, n, pr, v, fl in pages() if fl is not None and fl >> 12 & 1]  # KPF_ANON
pageout(pidfd, [a for a, _, _ in anon])
before = {a: v for a, _, _, v, _ in pages()}
os.kill(p.pid, signal.SIGCONT)
wait_stop()
after = {a: (v, fl) for a, _, _, v, fl in pages()}
rows, written, read = [], 0, 0
for a, name, perms in anon:
    v0 = before[a]
    v, fl = after[a]
    if v0 >> 63 & 1:
        rows.append('%x %-4s %-22s not paged out at the first stop' % (a, perms, name))
        continue
    if not v >> 63 & 1:
        continue  # untouched by the boundary: still a swap entry
    s0 = vmstat()
    pageout(pidfd, [a])
    s1 = vmstat()
    out_, zero = s1['pswpout'] - s0['pswpout'], s1.get('swpout_zero', 0) - s0.get('swpout_zero', 0)
    w = out_ + zero > 0
    written += w
    read += not w
    rows.append('%x %-4s %-22s %s%s swapcache=%d dirty=%d' % (a, perms, name, 'WRITTEN' if w else 'read   ',
                ' (zero-filled)' if zero else '', fl >> 14 & 1, fl >> 4 & 1))
os.kill(p.pid, signal.SIGCONT)
p.wait()
print('\n'.join(rows))
print('%s: %d anonymous pages, the boundary faulted back %d: %d written, %d only read' % (mode, len(anon), written + read, written, read))
