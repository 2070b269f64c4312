/* Session 12 (thp): the time of a THP fault on memory the hypervisor has not backed yet against memory it has.
 * 16 MADV_HUGEPAGE blocks of 2 MiB written (one store a 4 KiB page), unmapped, then mapped and written again PASSES
 * more times (the same frames come back from the allocator's free lists, already backed by the host). Per block: the
 * first store (the THP fault: allocation, folio_zero_user, the PMD) and the other 511 stores, in µs; and the pass's
 * minor faults and involuntary context switches (a preempted pass is not a clean figure).
 * No root, no cgroup, no swap: gcc -O2 -Wall -Werror -o first-touch first-touch.c && ./first-touch 2 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#define BLOCKS 16
#define BLOCK (1UL << 21)

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    int passes = argc > 1 ? atoi(argv[1]) : 0;
    size_t size = BLOCKS * BLOCK;
    for (int pass = 0; pass <= passes; pass++) {
        char *p = mmap((void *)0x200000000000UL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED || madvise(p, size, MADV_HUGEPAGE) != 0) {
            perror("mmap/madvise");
            return 1;
        }
        struct rusage r0, r1;
        double fault[BLOCKS], rest[BLOCKS];
        getrusage(RUSAGE_SELF, &r0);
        for (size_t i = 0; i < BLOCKS; i++) {
            double a = now_us();
            p[i * BLOCK] = 1;
            double b = now_us();
            for (size_t j = 4096; j < BLOCK; j += 4096)
                p[i * BLOCK + j] = 1;
            fault[i] = b - a;
            rest[i] = now_us() - b;
        }
        getrusage(RUSAGE_SELF, &r1);
        printf("pass %d: minflt %ld nivcsw %ld; first store (us):", pass, r1.ru_minflt - r0.ru_minflt,
               r1.ru_nivcsw - r0.ru_nivcsw);
        for (size_t i = 0; i < BLOCKS; i++)
            printf(" %.0f", fault[i]);
        printf(" | 511 stores (us):");
        for (size_t i = 0; i < BLOCKS; i++)
            printf(" %.0f", rest[i]);
        printf("\n");
        munmap(p, size);
    }
    return 0;
}
