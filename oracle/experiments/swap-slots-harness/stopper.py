#!/usr/bin/env python3
"""stopper.py DUMP CMD...: runs CMD (as record.sh's chain: sh joins the group and execs env -i ... setarch -R PROGRAM;
CMD is that sh -c line) and stops it with SIGSTOP at the entry of each of its getrusage (98) and write (1) calls, from a
BPF program on the sys_enter raw tracepoint (bpf_send_signal: the signal is taken on the way back to user mode, after the
call, before the next instruction of the program). While it is stopped the script reads /proc/PID/maps and, for every
page of every VMA, /proc/PID/pagemap (root: swap entries and PFNs), appends them to DUMP and sends SIGCONT. CMD's pid is
the program's (sh and env and setarch exec), so its forked children (other tgids) are not stopped. Exits with CMD's
status. STOPS=N,M,... (environment) stops only at those calls, counted from 1 over the pid's getrusage and write
calls from the start of CMD (sh's `echo` into cgroup.procs is call 1): fewer stops, less disturbance (a stop may move
the task to the other CPU, which changes which CPU's LRU-add batch the pages it faults next go into). Nothing is written into the program's memory; it only waits while stopped (writeback completes meanwhile).

DUMP lines: `stop N call ID t SECONDS` (N: the call's number), then per VMA `vma START END PERMS OFFSET NAME`, then one line per page with a
pagemap entry: `ADDR s TYPE OFFSET` (swapped: type bits 0-4, offset bits 5-54) or `ADDR p PFN` (present)."""
import ctypes, os, signal, struct, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'swap-ra-state'))
from rastate import Asm, load, attach, map_create, value_ptr, GET_PID_TGID, bpf  # noqa: E402

SEND_SIGNAL, UPDATE = 109, 2


def stop_prog(m):
    a = Asm()
    a.ldx(7, 1, 8)                      # id
    a.jmp(0x15, 7, 'ok', imm=98)
    a.jmp(0x15, 7, 'ok', imm=1)
    a.jmp(0x05, 0, 'out')
    a.label('ok')
    value_ptr(a, m, 8, 'out')           # r8: [0] target tgid, [8] the last call's id, [16] calls so far, [24] mask
    a.call(GET_PID_TGID)
    a.raw(0x77, 0, imm=32)              # r0 >>= 32: tgid
    a.ldx(1, 8, 0)
    a.jmp(0x5d, 1, 'out', s=0)          # not the target
    a.stx(8, 8, 7)
    a.ldx(1, 8, 16)
    a.addi(1, 1)
    a.stx(8, 16, 1)
    a.ldx(2, 8, 24)                     # the mask of the calls to stop at
    a.raw(0x7f, 2, 1)                   # r2 >>= r1
    a.andi(2, 1)
    a.jmp(0x15, 2, 'out', imm=0)
    a.movi(1, 19)                       # SIGSTOP
    a.call(SEND_SIGNAL)
    a.label('out')
    a.movi(0, 0)
    a.exit()
    return a


def map_update(fd, value):
    k, v = ctypes.create_string_buffer(4), ctypes.create_string_buffer(value, len(value))
    bpf(UPDATE, struct.pack('<IIQQQ', fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0))


def map_value(fd, size):
    from rastate import map_lookup
    return map_lookup(fd, size)


def dump(pid, out, n, call, t0):  # n: the call's number
    out.write(f'stop {n} call {call} t {time.monotonic() - t0:.6f}\n')
    vmas = [line.split(maxsplit=5) for line in open(f'/proc/{pid}/maps')]
    with open(f'/proc/{pid}/pagemap', 'rb') as pm:
        for v in vmas:
            start, end = (int(x, 16) for x in v[0].split('-'))
            name = v[5].strip() if len(v) > 5 else ''
            out.write(f'vma {start:x} {end:x} {v[1]} {v[2]} {name}\n')
            if name == '[vsyscall]':
                continue
            pm.seek(start // 4096 * 8)
            data = pm.read((end - start) // 4096 * 8)
            for i, (e,) in enumerate(struct.iter_unpack('<Q', data)):
                addr = start + i * 4096
                if e >> 62 & 1:
                    out.write(f'{addr:x} s {e & 31} {e >> 5 & ((1 << 50) - 1)}\n')
                elif e >> 63 & 1:
                    out.write(f'{addr:x} p {e & ((1 << 55) - 1):x}\n')


def poll(pid, out, addrs, t0):
    """Reads addrs' pagemap entries until pid stops or ends; writes each change; returns waitpid's (pid, status)."""
    fd = os.open(f'/proc/{pid}/pagemap', os.O_RDONLY)
    last, reads = {}, 0
    try:
        while True:
            for a in addrs:
                (e,) = struct.unpack('<Q', os.pread(fd, 8, a // 4096 * 8))
                v = f's {e & 31} {e >> 5 & ((1 << 50) - 1)}' if e >> 62 & 1 else (f'p {e & ((1 << 55) - 1):x}' if e >> 63 & 1 else 'none')
                if last.get(a) != v:
                    out.write(f'poll {time.monotonic() - t0:.6f} {a:x} {v}\n')
                    last[a] = v
            reads += 1
            r = os.waitpid(pid, os.WUNTRACED | os.WNOHANG)
            if r[0]:
                out.write(f'poll reads {reads}\n')
                return r
    finally:
        os.close(fd)


def main():
    dump_path, cmd = sys.argv[1], sys.argv[2:]
    m = map_create(32)
    fd = load(stop_prog(m))
    link = attach('sys_enter', fd)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        os.read(r, 1)
        os.close(r)
        os.execvp(cmd[0], cmd)
    os.close(r)
    stops = os.environ.get('STOPS')
    mask = sum(1 << int(n) for n in stops.split(',')) if stops else (1 << 64) - 2
    map_update(m, struct.pack('<QQQQ', pid, 0, 0, mask))
    t0 = time.monotonic()
    os.write(w, b'g')
    os.close(w)
    # POLL=N (session 26, stackpage): after stop N, read the pagemap entries of POLL_ADDRS (hex, comma-separated; default
    # main's stack page 0x7fffffffd000) in a tight loop until the next stop, and write each change of an entry
    # (`poll T ADDR s TYPE OFFSET` or `poll T ADDR p PFN`): whether a page is swapped out between two calls, which the
    # stops alone cannot see when the next call's own access faults it back in.
    poll_after = int(os.environ.get('POLL', '0'))
    poll_addrs = [int(a, 16) for a in os.environ.get('POLL_ADDRS', '7fffffffd000').split(',')]
    pending = None
    with open(dump_path, 'w') as out:
        while True:
            _, status = pending if pending else os.waitpid(pid, os.WUNTRACED)
            pending = None
            if os.WIFSTOPPED(status):
                count = -1
                try:
                    _, call, count, _ = struct.unpack('<QQQQ', map_value(m, 32))
                    dump(pid, out, count, call, t0)
                except Exception as e:               # reported; the program goes on and is waited for
                    print(f'stopper.py: dump failed: {e!r}', file=sys.stderr)
                os.kill(pid, signal.SIGCONT)         # never leave the program stopped (its group and swap held)
                if poll_after and count == poll_after:
                    pending = poll(pid, out, poll_addrs, t0)
                continue
            rc = os.waitstatus_to_exitcode(status)
            break
    os.close(link)
    os.close(fd)
    os.close(m)
    sys.exit(rc if rc >= 0 else 128 - rc)


if __name__ == '__main__':
    main()
