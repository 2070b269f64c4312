/* The charge stock under a memory limit (cgroup v1): writes each page of a 32 MiB anonymous mapping once in a group
 * limited to 16 MiB with swap (swap-anon-read's fill), then prints the group's memory.usage_in_bytes, the pages on
 * its LRU lists (memory.stat active/inactive anon/file + unevictable: each charged user page once, swap cache
 * included), memory.kmem.usage_in_bytes when present, the mapping's resident pages (mincore) and how often the task
 * moved between CPUs (/proc/self/sched se.nr_migrations). usage - lru - kmem is what the page counter holds for no
 * page: the CPUs' charge stocks (MEMCG_CHARGE_BATCH). run.sh runs it pinned to CPU 0 and unpinned.
 * Usage: stock-limit CGROUP_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static long read_long_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    if (fscanf(f, "%ld", &v) != 1) v = -1;
    fclose(f);
    return v;
}

static long stat_field(const char *dir, const char *key)
{
    char path[512], line[256];
    size_t n = strlen(key);
    snprintf(path, sizeof path, "%s/memory.stat", dir);
    FILE *f = fopen(path, "r");
    if (!f) { perror("memory.stat"); exit(1); }
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ' ') { v = atol(line + n + 1); break; }
    fclose(f);
    return v;
}

static long migrations(void)
{
    char line[256];
    FILE *f = fopen("/proc/self/sched", "r");
    if (!f) return -1;
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "se.nr_migrations", 16) == 0) { v = atol(strchr(line, ':') + 1); break; }
    fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: stock-limit CGROUP_DIR\n"); return 2; }
    const char *cg = argv[1];
    const long page = 4096, n = 8192;
    char *p = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    madvise(p, n * page, MADV_NOHUGEPAGE);
    for (long i = 0; i < n; i++)
        p[i * page] = 1;
    unsigned char *vec = malloc(n);
    if (!vec || mincore(p, n * page, vec)) { perror("mincore"); return 1; }
    long resident = 0;
    for (long i = 0; i < n; i++)
        resident += vec[i] & 1;
    long usage = read_long_file(cg, "memory.usage_in_bytes") / page;
    long kmem = read_long_file(cg, "memory.kmem.usage_in_bytes");
    long lru = (stat_field(cg, "active_anon") + stat_field(cg, "inactive_anon") + stat_field(cg, "active_file")
                + stat_field(cg, "inactive_file") + stat_field(cg, "unevictable")) / page;
    kmem = kmem < 0 ? -1 : kmem / page;
    printf("usage_pages\tlru_pages\tkmem_pages\tunaccounted_pages\tresident_pages\tmax_usage_pages\tfailcnt\tnr_migrations\n");
    printf("%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\n", usage, lru, kmem, usage - lru - (kmem < 0 ? 0 : kmem), resident,
           read_long_file(cg, "memory.max_usage_in_bytes") / page, read_long_file(cg, "memory.failcnt"), migrations());
    return 0;
}
