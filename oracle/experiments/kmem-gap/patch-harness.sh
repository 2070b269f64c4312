#!/bin/bash
# The kit's harness.h (stdout: the patched copy) for kmem-gap/run.sh, changed only after phase ORACLE_STOP_PHASE's
# memcg record (compile with -DORACLE_STOP_PHASE='"anon2"'): the task stops itself (raise(SIGSTOP)) so that run.sh can
# read the group and the task from outside (from the root group: nothing it reads is charged to the program's group);
# just before, it writes mincore(2) of reg[0] and of the harness's ranges into buf's first page (kmemgap_mincore), for
# monitor.py to read: a swapped page whose slot's folio is in the swap cache is "in core".
set -euo pipefail
perl -0pe '
  s|(static void phase_end\(const char \*name, int first\)\n\{\n)|/* mincore(2), by raw system calls (no PLT entry to bind, no allocation charged to the group), of reg[0] and of the
   harness\x27s address ranges under setarch -R (binary and heap, the libraries, the stack), page by page (2: not mapped),
   into buf\x27s first page (resident: the memcg record just read into it), which monitor.py reads through /proc/PID/mem. */
#include <sys/syscall.h>
static inline long kmemgap_syscall3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
static void kmemgap_mincore(void)
{
    static const unsigned long span[][2] = { { 0x555555554000UL, 256 }, { 0x7ffff7dd0000UL, 560 }, { 0x7ffffffbd000UL, 66 } };
    unsigned long n = reg[0].len >> 12 <= 2048 ? reg[0].len >> 12 : 0, k = n;
    memset(buf, 3, 4096);
    if (n) kmemgap_syscall3(SYS_mincore, (long)reg[0].p, (long)reg[0].len, (long)buf);
    for (int s = 0; s < 3; s++)
        for (unsigned long j = 0; j < span[s][1]; j++, k++)
            if (kmemgap_syscall3(SYS_mincore, (long)(span[s][0] + (j << 12)), 4096, (long)(buf + k)) != 0) buf[k] = 2;
}

$1|;
  s|(    emit\("\},\\"meminfo\\":\{"\);\n)|#ifdef ORACLE_STOP_PHASE\n    if (strcmp(name, ORACLE_STOP_PHASE) == 0) { kmemgap_mincore(); raise(SIGSTOP); }\n#endif\n$1|;
' "$1"
