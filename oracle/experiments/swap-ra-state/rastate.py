#!/usr/bin/env python3
"""rastate.py OUT: reads mm/swap_state.c's swap-readahead statics (swapin_readahead_hits, and swapin_nr_pages'
prev_offset and last_readahead_pages) as the machine runs, with BPF programs on raw tracepoints, and writes their
bpf_trace_printk lines from tracefs's trace_pipe to OUT until SIGTERM or SIGINT; then detaches.

This kernel has no kprobes, no fentry (BPF tracing programs: EPERM) and no KALLSYMS_ALL, so the statics' addresses are
not listed anywhere; but raw-tracepoint programs load and bpf_probe_read_kernel reads kernel memory. So the script first
reads swap_cluster_readahead's code (its address from /proc/kallsyms) and takes the three addresses from the inlined
swapin_nr_pages, as objdump shows it: `xchg %eax, HITS(%rip)` (atomic_xchg(&swapin_readahead_hits, 0)), then the loads
of last_readahead_pages (32-bit) and prev_offset (64-bit) that follow it (checked: the store of the new window goes to
the same last_readahead_pages address).

Lines (after trace_pipe's `comm-pid [cpu] flags ts: bpf_trace_printk: `):
  S ID STATE PREV    sys_enter of getrusage (98) or exit_group (231), by any task: the statics then
  F PIDADDR STATE PREV   at a page fault (exceptions:page_fault_user or page_fault_kernel, any task) whose statics differ from
                     the ones at the fault before it: PIDADDR is that earlier fault's address | (its pid & 0xffff) << 48,
                     the fault during which (or after which) they changed
STATE is hits | last_readahead_pages << 32, PREV prev_offset. Needs root and tracefs at /sys/kernel/tracing."""
import ctypes, os, re, signal, struct, subprocess, sys, time

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR_BPF = 321
MAP_CREATE, MAP_LOOKUP, PROG_LOAD, RAW_TP_OPEN = 0, 1, 5, 17
PROG_RAW_TP, MAP_ARRAY, PSEUDO_MAP_FD = 17, 2, 1
LOOKUP, PROBE_READ_KERNEL, TRACE_PRINTK, GET_PID_TGID = 1, 113, 6, 14
_keep = []


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(NR_BPF, cmd, buf, 128)
    if r < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return r


class Asm:
    """eBPF with labels: each method appends one instruction (ld64: two); jumps name a label placed by label()."""

    def __init__(self):
        self.ins, self.labels, self.fix = [], {}, []

    def raw(self, code, dst=0, src=0, off=0, imm=0):
        imm = imm - (1 << 32) if imm >= 1 << 31 else imm
        self.ins.append([code, dst, src, off, imm])

    def mov(self, d, s): self.raw(0xbf, d, s)
    def movi(self, d, i): self.raw(0xb7, d, imm=i)
    def addi(self, d, i): self.raw(0x07, d, imm=i)
    def lshi(self, d, i): self.raw(0x67, d, imm=i)
    def andi(self, d, i): self.raw(0x57, d, imm=i)
    def orr(self, d, s): self.raw(0x4f, d, s)
    def ldx(self, d, s, off): self.raw(0x79, d, s, off)        # d = *(u64 *)(s + off)
    def ldxw(self, d, s, off): self.raw(0x61, d, s, off)       # d = *(u32 *)(s + off)
    def stx(self, d, off, s): self.raw(0x7b, d, s, off)        # *(u64 *)(d + off) = s
    def st0(self, d, off): self.raw(0x7a, d, off=off, imm=0)   # *(u64 *)(d + off) = 0
    def call(self, fn): self.raw(0x85, imm=fn)
    def exit(self): self.raw(0x95)

    def ld64(self, d, imm, src=0):
        self.raw(0x18, d, src, imm=imm & 0xffffffff)
        self.raw(0, imm=(imm >> 32) & 0xffffffff)

    def jmp(self, code, d, label, s=0, imm=0):
        self.fix.append((len(self.ins), label))
        self.raw(code, d, s, 0, imm)

    def label(self, name): self.labels[name] = len(self.ins)

    def code(self):
        for at, name in self.fix:
            self.ins[at][3] = self.labels[name] - at - 1
        return b''.join(struct.pack('<BBhi', c, (s << 4) | d, o, i) for c, d, s, o, i in self.ins)


def map_create(value_size):
    return bpf(MAP_CREATE, struct.pack('<IIIII', MAP_ARRAY, 4, value_size, 1, 0))


def map_lookup(fd, size):
    k, v = ctypes.create_string_buffer(4), ctypes.create_string_buffer(size)
    bpf(MAP_LOOKUP, struct.pack('<IIQQQ', fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0))
    return v.raw


def load(asm):
    code = asm.code()
    insns, lic, log = ctypes.create_string_buffer(code, len(code)), ctypes.create_string_buffer(b'GPL'), ctypes.create_string_buffer(65536)
    _keep.extend([insns, lic, log])
    attr = struct.pack('<IIQQIIQII16s', PROG_RAW_TP, len(code) // 8, ctypes.addressof(insns), ctypes.addressof(lic), 1,
                       len(log), ctypes.addressof(log), 0, 0, b'ecsmem_rastate')
    try:
        return bpf(PROG_LOAD, attr)
    except OSError as e:
        raise SystemExit(f'rastate.py: load failed: {e}\n{log.value.decode(errors="replace")}')


def attach(tp, fd):
    name = ctypes.create_string_buffer(tp.encode())
    _keep.append(name)
    return bpf(RAW_TP_OPEN, struct.pack('<QI', ctypes.addressof(name), fd))


def value_ptr(a, m, reg, fail):
    """reg = &map m's value 0 (a jump to fail when the lookup fails). Clobbers r1-r5 and the stack at -4."""
    a.raw(0x62, 10, off=-4, imm=0)
    a.ld64(1, m, src=PSEUDO_MAP_FD)
    a.mov(2, 10)
    a.addi(2, -4)
    a.call(LOOKUP)
    a.jmp(0x15, 0, fail, imm=0)
    a.mov(reg, 0)


def read_kernel(a, stack_off, size, addr):
    a.mov(1, 10)
    a.addi(1, stack_off)
    a.movi(2, size)
    a.ld64(3, addr)
    a.call(PROBE_READ_KERNEL)


def read_state(a, hits, last, prev):
    """r9 = hits | last_readahead_pages << 32; the stack at -32 = prev_offset."""
    a.st0(10, -16)
    a.st0(10, -24)
    read_kernel(a, -16, 4, hits)
    read_kernel(a, -24, 4, last)
    read_kernel(a, -32, 8, prev)
    a.ldx(9, 10, -24)
    a.lshi(9, 32)
    a.ldx(1, 10, -16)
    a.orr(9, 1)


def printk(a, fmt, r3, r4_stack=None):
    """bpf_trace_printk(fmt, r3, r4, r5) with r4 from a register or the stack; fmt built at -72 and below."""
    text = fmt.encode() + b'\0'
    text += b'\0' * (-len(text) % 8)
    base = -72 - len(text)
    for i in range(0, len(text), 8):
        a.ld64(1, int.from_bytes(text[i:i + 8], 'little'))
        a.stx(10, base + i, 1)
    a.mov(1, 10)
    a.addi(1, base)
    a.movi(2, len(text))


def syscall_prog(hits, last, prev):
    a = Asm()
    a.ldx(7, 1, 8)                     # id
    a.jmp(0x15, 7, 'ok', imm=98)
    a.jmp(0x15, 7, 'ok', imm=231)
    a.jmp(0x05, 0, 'out')
    a.label('ok')
    read_state(a, hits, last, prev)
    printk(a, 'S %lx %lx %lx\n', None)
    a.mov(3, 7)
    a.mov(4, 9)
    a.ldx(5, 10, -32)
    a.call(TRACE_PRINTK)
    a.label('out')
    a.movi(0, 0)
    a.exit()
    return a


def fault_prog(m, hits, last, prev):
    a = Asm()
    a.ldx(7, 1, 0)                     # address
    value_ptr(a, m, 8, 'out')          # r8: [0] last fault's pid-tagged address, [8] state, [16] prev_offset
    read_state(a, hits, last, prev)
    a.ldx(1, 8, 8)
    a.jmp(0x5d, 1, 'changed', s=9)
    a.ldx(1, 8, 16)
    a.ldx(2, 10, -32)
    a.jmp(0x5d, 1, 'changed', s=2)
    a.jmp(0x05, 0, 'store')
    a.label('changed')
    printk(a, 'F %lx %lx %lx\n', None)
    a.ldx(3, 8, 0)
    a.mov(4, 9)
    a.ldx(5, 10, -32)
    a.call(TRACE_PRINTK)
    a.stx(8, 8, 9)
    a.ldx(1, 10, -32)
    a.stx(8, 16, 1)
    a.label('store')
    a.call(GET_PID_TGID)
    a.andi(0, 0xffff)
    a.lshi(0, 48)
    a.orr(0, 7)
    a.stx(8, 0, 0)
    a.label('out')
    a.movi(0, 0)
    a.exit()
    return a


def kernel_text(addr, size):
    """size bytes of kernel memory at addr, read by a one-shot program on sys_enter."""
    m = map_create(size)
    a = Asm()
    value_ptr(a, m, 6, 'out')
    a.mov(1, 6)
    a.movi(2, size)
    a.ld64(3, addr)
    a.call(PROBE_READ_KERNEL)
    a.label('out')
    a.movi(0, 0)
    a.exit()
    fd = load(a)
    link = attach('sys_enter', fd)
    time.sleep(0.2)
    os.close(link)
    os.close(fd)
    data = map_lookup(m, size)
    os.close(m)
    return data


def statics():
    syms = {}
    for line in open('/proc/kallsyms'):
        p = line.split()
        if p[2] in ('swap_cluster_readahead', 'swapin_readahead') and p[1] in 'tT':
            syms[p[2]] = int(p[0], 16)
    start = syms['swap_cluster_readahead']
    size = syms['swapin_readahead'] - start
    path = '/tmp/ecsmem-rastate-text.bin'
    open(path, 'wb').write(kernel_text(start, size))
    asm = subprocess.run(['objdump', '-D', '-b', 'binary', '-m', 'i386:x86-64', f'--adjust-vma={start:#x}', path],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    os.remove(path)
    rip = re.compile(r':\t[0-9a-f ]+\t(\w+)\s+(.*?)\s*# (0x[0-9a-f]+)')
    ops = [(m.group(1), m.group(2), int(m.group(3), 16)) for m in map(rip.search, asm) if m]
    i = next(k for k, (op, args, _) in enumerate(ops) if op == 'xchg' and args.startswith('%eax,'))
    hits = ops[i][2]
    loads = ops[i + 1:i + 3]
    last = next(t for op, args, t in loads if op == 'mov' and re.search(r',%(r\d+d|e[a-d]x|e[sd]i)$', args.strip()))
    prev = next(t for op, args, t in loads if op == 'mov' and re.search(r',%r(\d+|[a-d]x|[sd]i|[sb]p)$', args.strip()))
    if not any(op == 'mov' and t == last and args.startswith('%') for op, args, t in ops[i + 3:i + 12]):
        raise SystemExit('rastate.py: no store of last_readahead_pages after the xchg: the code is not as expected')
    if len({hits, last, prev}) != 3:
        raise SystemExit(f'rastate.py: addresses not told apart: {hits:#x} {last:#x} {prev:#x}')
    return hits, last, prev


def main():
    out = sys.argv[1]
    hits, last, prev = statics()
    m = map_create(24)
    links = []
    sfd = load(syscall_prog(hits, last, prev))
    links.append((sfd, attach('sys_enter', sfd)))
    ffd = load(fault_prog(m, hits, last, prev))
    links += [(ffd, attach('page_fault_user', ffd)), (ffd, attach('page_fault_kernel', ffd))]
    pipe = subprocess.Popen(['cat', '/sys/kernel/tracing/trace_pipe'], stdout=open(out, 'w'))
    with open(out + '.addr', 'w') as f:
        f.write(f'swapin_readahead_hits={hits:#x} last_readahead_pages={last:#x} prev_offset={prev:#x}\n')
    print('attached', flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    while not stop:
        signal.pause()
    for _, link in links:
        os.close(link)
    for fd in {fd for fd, _ in links} | {m}:
        os.close(fd)
    time.sleep(0.5)
    pipe.terminate()
    pipe.wait()


if __name__ == '__main__':
    main()
