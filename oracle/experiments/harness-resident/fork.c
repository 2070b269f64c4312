/* oracle/experiments/harness-resident: swap-fork-shared's generated C (oracle/programs/swap-fork-shared.phases) up to
 * its fork phase, with raw kill(2) SIGSTOPs: after the fill's phase_end (B1), right after do_fork (F0), after
 * fork_settle (F1), after the fork phase's phase_end (B2). forkprobe.py reads which harness pages the parent and the
 * child have copied since the fork (pagemap's exclusive bit on a present anonymous page). */
#define NREG 1
#include "../../harness.h"
#include <signal.h>
#include <sys/syscall.h>

static long self_pid;
static void stop(void) { syscall(SYS_kill, self_pid, SIGSTOP); }

int main(int argc, char **argv)
{
    if (argc < 2) { fatal("usage: PROGRAM DATADIR"); }
    datadir = argv[1];
    self_pid = syscall(SYS_getpid);
    warm_up();
    emit("{\"program\":\"swap-fork-shared\",\"phases\":[");
    phase_start();
    do_mmap(0, (char *)0x100000000000UL, 25165824UL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED_NOREPLACE | MAP_ANONYMOUS, -1, 0, 0);
    touch(0, 1, 0UL, reg[0].len - 0UL, 4096UL);
    phase_end("fill", 1);
    stop();                                              /* B1 */
    phase_start();
    do_fork();
    stop();                                              /* F0 */
    fork_settle();
    stop();                                              /* F1 */
    phase_end("fork", 0);
    stop();                                              /* B2 */
    emit("]}\n");
    finish();
    return 0;
}
