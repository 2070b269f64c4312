/* oracle/experiments/harness-resident: which of the kit harness's own pages are resident when phase_end reads
 * /proc/self/smaps_rollup (the kit's "harness resident" figure is that rollup's Anonymous less the region's), and
 * which harness pages each step writes (soft-dirty), in swap-anon-read (oracle/programs/swap-anon-read.phases).
 * The generated swap-anon-read.c with raw kill(2) SIGSTOPs (probe.py reads /proc/PID/pagemap meanwhile): after
 * warm_up (W), at each window's end before phase_end (A), right after the rollup's read inside phase_end (R), after
 * phase_end (B). phase_end_r is harness.h's phase_end with the stop added after pairs(smaps_rollup). */
#define NREG 1
#include "../../harness.h"
#include <signal.h>
#include <sys/syscall.h>

#ifndef REGION
#define REGION 33554432UL
#endif

static long self_pid;
static void stop(void) { syscall(SYS_kill, self_pid, SIGSTOP); }

static void phase_end_r(const char *name, int first)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    long dmin = u.ru_minflt - min0, dmaj = u.ru_majflt - maj0;
    emit("%s{\"phase\":\"%s\",\"minflt\":%ld,\"majflt\":%ld,\"errors\":[%s],\"vmas\":[", first ? "" : ",", name, dmin, dmaj, errs);
    errs[0] = 0;
    vmas();
    emit("],\"rollup\":{");
    pairs("/proc/self/smaps_rollup");
    stop();                                              /* R */
    emit("},\"memstat\":{");
    const char *cg = getenv("ORACLE_MEMCG");
    if (cg) { char path[4096]; snprintf(path, sizeof path, "%s/memory.stat", cg); pairs(path); }
    emit("},\"memcg\":{");
    if (cg) {
        char path[4096];
        snprintf(path, sizeof path, "%s/memory.oom_control", cg);
        pairs_with(path, "oom_kill");
        snprintf(path, sizeof path, "%s/memory.failcnt", cg);
        if (slurp(path) > 0) emit(",\"failcnt\":%ld", strtol(buf, 0, 10));
        snprintf(path, sizeof path, "%s/memory.max_usage_in_bytes", cg);
        if (slurp(path) > 0) emit(",\"max_usage_in_bytes\":%ld", strtol(buf, 0, 10));
    }
    emit("},\"meminfo\":{");
    pairs_with("/proc/meminfo", "HugePages_");
    emit("}}");
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
    stop();                                              /* A1 */
    phase_end_r("fill", 1);
    stop();                                              /* B1 */
    phase_start();
    touch(0, 0, 0UL, reg[0].len, 4096UL);
    stop();                                              /* A2 */
    phase_end_r("read", 0);
    stop();                                              /* B2 */
    emit("]}\n");
    finish();
    return 0;
}
