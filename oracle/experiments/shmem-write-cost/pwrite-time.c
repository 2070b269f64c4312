/* Times pwrite(2) of SIZE bytes to a fresh tmpfs file, in 256 KiB pieces from a resident buffer (as the kit's harness
 * writes): wall time (CLOCK_MONOTONIC) and the process's system/user CPU time (getrusage) of each run, one line each.
 * A second pass writes the same range again (every page already in the page cache: the copy alone), timed the same way.
 * Usage: pwrite-time PATH SIZE RUNS   (the file is unlinked after every run) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double tv(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: pwrite-time PATH SIZE RUNS\n"); return 2; }
    const char *path = argv[1];
    long size = atol(argv[2]), runs = atol(argv[3]), piece = 256 * 1024;
    static char buf[256 * 1024];
    memset(buf, 0x5a, sizeof buf); /* resident before the first run */
    printf("run\tpass\tpages\twall_us\tsys_us\tuser_us\tminflt\n");
    for (long r = 0; r < runs; r++) {
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || ftruncate(fd, size) < 0) { perror(path); return 1; }
        for (int pass = 0; pass < 2; pass++) {
            struct rusage a, b;
            getrusage(RUSAGE_SELF, &a);
            double t0 = now();
            for (long off = 0; off < size; off += piece)
                if (pwrite(fd, buf, piece, off) != piece) { perror("pwrite"); return 1; }
            double t1 = now();
            getrusage(RUSAGE_SELF, &b);
            printf("%ld\t%s\t%ld\t%.1f\t%.1f\t%.1f\t%ld\n", r, pass ? "overwrite" : "new", size / 4096, (t1 - t0) * 1e6,
                   (tv(b.ru_stime) - tv(a.ru_stime)) * 1e6, (tv(b.ru_utime) - tv(a.ru_utime)) * 1e6, b.ru_minflt - a.ru_minflt);
        }
        close(fd);
        unlink(path);
    }
    return 0;
}
