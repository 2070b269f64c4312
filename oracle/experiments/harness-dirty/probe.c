/* Which of the kit harness's anonymous pages a later phase boundary (phase_end of a non-first phase, then the next
 * phase_start) writes and which it leaves clean. Built against oracle/harness.h with swappiness-200's two regions;
 * no memcg, swap or tracing. The process stops itself (SIGSTOP) right before and right after each boundary measured;
 * dirty.py, its parent, clears the soft-dirty bits (/proc/PID/clear_refs 4) at the first stop and reads them
 * (/proc/PID/pagemap bit 55) at the second. Mode "idle" measures two stops with nothing between (what raise itself
 * writes). Mode "fork" stops before do_fork and after fork_settle, phase_end and phase_start (the fork phase of
 * swap-fork-shared). Usage: probe DATADIR boundary|idle|fork */
#define NREG 2
#include "../../harness.h"

int main(int argc, char **argv)
{
    if (argc < 3) { fatal("usage: probe DATADIR boundary|idle"); }
    datadir = argv[1];
    int idle = strcmp(argv[2], "idle") == 0;
    warm_up();
    prepare_file("data", 0);
    emit("{\"program\":\"probe\",\"phases\":[");
    phase_start();
    do_mmap(0, (char *)0x100000000000UL, 8388608UL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED_NOREPLACE | MAP_ANONYMOUS, -1, 0, 0);
    do_mmap(1, (char *)0x120000000000UL, 16777216UL, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, open_data("data"), 0, 0);
    phase_end("map", 1);
    phase_start();
    touch(0, 1, 0UL, 4096 * 16, 4096UL);
    phase_end("anon", 0);
    phase_start();
    touch(1, 0, 0UL, 4096 * 16, 4096UL);
    phase_end("file1", 0);
    phase_start();
    touch(1, 0, 0UL, 4096 * 16, 4096UL);
    if (strcmp(argv[2], "fork") == 0) {
        phase_end("file2", 0);
        phase_start();
        raise(SIGSTOP);
        do_fork();
        fork_settle();
        phase_end("fork", 0);
        phase_start();
        raise(SIGSTOP);
    } else {
        raise(SIGSTOP);
        /* The boundary between file2 and anon2. */
        if (!idle) { phase_end("file2", 0); phase_start(); }
        raise(SIGSTOP);
    }
    touch(0, 0, 0UL, 4096 * 16, 4096UL);
    phase_end("anon2", 0);
    emit("]}\n");
    finish();
    return 0;
}
