/* write-folios: the page-cache folios ext4's buffered write makes, and the read faults a mapping of them takes.
 * Usage: folios PATH PIECE   (root: PFNs from /proc/self/pagemap, flags from /proc/kpageflags)
 * Writes 8 MiB into a new file PATH with pwrite(2) pieces of PIECE bytes, maps it shared read-only at a 2 MiB-aligned
 * address, reads one byte a page, and prints the read's minor/major faults (getrusage) and the folios backing the
 * mapping by order (a head page and its tails: KPF_COMPOUND_HEAD 15, KPF_COMPOUND_TAIL 16). Removes PATH. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static char buf[8 << 20];

static void faults(long *mn, long *mj)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    *mn = r.ru_minflt;
    *mj = r.ru_majflt;
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: folios PATH PIECE\n"); return 2; }
    unsigned long piece = strtoul(argv[2], 0, 0), len = 8 << 20;
    for (unsigned long i = 0; i < sizeof buf; i++) buf[i] = (char)i;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { perror(argv[1]); return 1; }
    for (unsigned long d = 0; d < len; d += piece)
        if (pwrite(fd, buf, piece, d) != (long)piece) { perror("pwrite"); return 1; }
    char *p = mmap((void *)0x100000000000UL, len, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    long mn0, mj0, mn1, mj1;
    volatile unsigned long sink = 0;
    faults(&mn0, &mj0);
    for (unsigned long o = 0; o < len; o += 4096) sink += p[o];
    faults(&mn1, &mj1);
    int pm = open("/proc/self/pagemap", O_RDONLY), kf = open("/proc/kpageflags", O_RDONLY);
    long count[12] = {0};
    long run = 0;
    for (unsigned long i = 0; i <= len / 4096; i++) {
        int tail = 0;
        if (i < len / 4096) {
            uint64_t e = 0, f = 0;
            if (pread(pm, &e, 8, ((uintptr_t)p / 4096 + i) * 8) != 8) { perror("pagemap"); return 1; }
            if (pread(kf, &f, 8, (e & ((1ULL << 55) - 1)) * 8) != 8) { perror("kpageflags"); return 1; }
            tail = (f >> 16) & 1;
        }
        if (!tail && run) { int o = 0; while ((1L << o) < run) o++; count[o]++; run = 0; }
        run++;
    }
    printf("piece %lu: read minflt %ld majflt %ld; folios by order:", piece, mn1 - mn0, mj1 - mj0);
    for (int o = 0; o < 12; o++) if (count[o]) printf(" %d:%ld", o, count[o]);
    printf("\n");
    unlink(argv[1]);
    return 0;
}
