/* oracle/experiments/harness-footprint: which of the kit harness's own pages are resident, swapped (and at which
 * swap slot) and written, at each step of swap-anon-read (oracle/programs/swap-anon-read.phases), as the driver
 * probe.py reads them from /proc/PID/pagemap while the program is stopped. The program is the generated
 * swap-anon-read.c with a SIGSTOP at each step: after warm_up, before and after each phase_end. */
#define NREG 1
#include "../../harness.h"
#include <signal.h>
#include <sys/syscall.h>

#ifndef REGION
#define REGION 33554432UL
#endif

/* A stop that touches none of the harness's data: the raw system calls (raise() would touch the TLS). */
static long self_pid;
static void stop(void) { syscall(SYS_kill, self_pid, SIGSTOP); }

/* phase_end, stopped (S) where the kernel is about to give the program's first smaps record: after getrusage, emit
   and the smaps open, before the read. The rest is phase_end itself (it opens smaps again). */
static void phase_end_stopped(const char *name, int first)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    long dmin = u.ru_minflt - min0, dmaj = u.ru_majflt - maj0;
    unsigned long at = outn;
    emit("%s{\"phase\":\"%s\",\"minflt\":%ld,\"majflt\":%ld,\"errors\":[%s],\"vmas\":[", first ? "" : ",", name, dmin, dmaj, errs);
    int fd = open("/proc/self/smaps", O_RDONLY);
    stop();                                              /* S */
    close(fd);
    outn = at;
    phase_end(name, first);
}

int main(int argc, char **argv)
{
    if (argc < 2) { fatal("usage: PROGRAM DATADIR"); }
    datadir = argv[1];
    self_pid = syscall(SYS_getpid);
    warm_up();
    stop();                                              /* W */
    emit("{\"program\":\"swap-anon-read\",\"phases\":[");
    phase_start();
    do_mmap(0, (char *)0x100000000000UL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED_NOREPLACE | MAP_ANONYMOUS, -1, 0, 0);
    touch(0, 1, 0UL, reg[0].len, 4096UL);
    stop();                                              /* A1: the fill done, phase_end next */
    phase_end_stopped("fill", 1);
    stop();                                              /* B1 */
    phase_start();
    touch(0, 0, 0UL, reg[0].len, 4096UL);
    stop();                                              /* A2 */
    phase_end_stopped("read", 0);
    stop();                                              /* B2 */
    emit("]}\n");
    finish();
    return 0;
}
