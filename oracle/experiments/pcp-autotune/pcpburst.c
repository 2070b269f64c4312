// One CPU's per-CPU list through a burst: the Normal zone's pageset line of this CPU (count, high, batch, high_min,
// high_max from /proc/zoneinfo) before, after touching N MiB of anonymous memory page by page, after munmap frees
// it, and then every second for S seconds (decay_pcp_high from vmstat_update). Run pinned (taskset -c CPU).
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];

static void show(const char *what, int cpu)
{
    FILE *f = fopen("/proc/zoneinfo", "r");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *z = strstr(buf, "zone   Normal");
    char key[32];
    snprintf(key, sizeof key, "    cpu: %d\n", cpu);
    char *c = z ? strstr(z, key) : NULL;
    long count = -1, high = -1, batch = -1, hmin = -1, hmax = -1;
    if (c)
        sscanf(c + strlen(key), " count: %ld high: %ld batch: %ld high_min: %ld high_max: %ld", &count, &high, &batch, &hmin, &hmax);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    printf("%-10s t=%ld.%03ld cpu=%d count=%ld high=%ld batch=%ld high_min=%ld high_max=%ld\n", what, (long)t.tv_sec,
           t.tv_nsec / 1000000, cpu, count, high, batch, hmin, hmax);
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 100, secs = argc > 2 ? atol(argv[2]) : 20;
    int cpu = sched_getcpu();
    size_t len = (size_t)mib << 20;
    show("before", cpu);
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    madvise(p, len, MADV_NOHUGEPAGE); // order-0 pages only: the per-CPU lists' own traffic
    for (size_t off = 0; off < len; off += 4096)
        p[off] = 1;
    show("touched", cpu);
    munmap(p, len);
    show("freed", cpu);
    for (long s = 1; s <= secs; s++)
    {
        sleep(1);
        char what[32];
        snprintf(what, sizeof what, "+%lds", s);
        show(what, cpu);
    }
    return 0;
}
