/* anon_swap_passes.c: anonymous memory swapping under a memcg limit (issue 13 item 4, branch swapin).
 * Maps REGION_MIB of private anonymous memory, writes every page once (pass 0), then makes PASSES more
 * passes that each read-modify-write one byte of every page in ascending order. Prints per pass the
 * minflt/majflt deltas from getrusage(RUSAGE_SELF) and the /proc/vmstat deltas of pswpin, pswpout,
 * swap_ra, swap_ra_hit (global counters: run it on an otherwise idle swap device).
 * Run it inside a memcg v1 group with memory.limit_in_bytes = LIMIT (see run.sh). Build: gcc -O2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

static const char *names[] = { "pswpin", "pswpout", "swap_ra", "swap_ra_hit" };
#define NV 4

static void vmstat(long long *v)
{
    char key[64];
    long long val;
    FILE *f = fopen("/proc/vmstat", "r");
    memset(v, 0, sizeof(long long) * NV);
    while (f && fscanf(f, "%63s %lld", key, &val) == 2)
        for (int i = 0; i < NV; i++)
            if (strcmp(key, names[i]) == 0)
                v[i] = val;
    if (f)
        fclose(f);
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 48;
    int passes = argc > 2 ? atoi(argv[2]) : 4;
    size_t len = (size_t)mib << 20, pages = len >> 12;
    volatile unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    printf("pass minflt majflt pswpin pswpout swap_ra swap_ra_hit\n");
    for (int pass = 0; pass <= passes; pass++) {
        struct rusage a, b;
        long long va[NV], vb[NV];
        vmstat(va);
        getrusage(RUSAGE_SELF, &a);
        for (size_t i = 0; i < pages; i++)
            p[i << 12] = (unsigned char)(p[i << 12] + 1);
        getrusage(RUSAGE_SELF, &b);
        vmstat(vb);
        printf("%d %ld %ld %lld %lld %lld %lld\n", pass, b.ru_minflt - a.ru_minflt, b.ru_majflt - a.ru_majflt,
               vb[0] - va[0], vb[1] - va[1], vb[2] - va[2], vb[3] - va[3]);
    }
    return 0;
}
