/* MEMCG_CHARGE_BATCH on cgroup v1: touches 512 anonymous pages one at a time and prints, after each, the group's
 * memory.usage_in_bytes (page_counter usage: charged pages, the per-CPU stock included) and memory.stat's rss
 * (the pages actually charged to folios; rstat-flushed, so it may lag). Pinned to one CPU by run.sh.
 * Usage: charge-stock CGROUP_DIR */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static long read_long(int fd)
{
    char buf[64];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) { perror("pread"); exit(1); }
    buf[n] = 0;
    return atol(buf);
}

static long stat_rss(const char *dir)
{
    char path[512], line[256];
    snprintf(path, sizeof path, "%s/memory.stat", dir);
    FILE *f = fopen(path, "r");
    if (!f) { perror("memory.stat"); exit(1); }
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "rss ", 4) == 0) { v = atol(line + 4); break; }
    fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: charge-stock CGROUP_DIR\n"); return 2; }
    char path[512];
    snprintf(path, sizeof path, "%s/memory.usage_in_bytes", argv[1]);
    int fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); return 1; }
    const long n = 512, page = 4096;
    char *p = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    madvise(p, n * page, MADV_NOHUGEPAGE);
    printf("touched\tusage_pages\trss_pages\n");
    printf("0\t%ld\t%ld\n", read_long(fd) / page, stat_rss(argv[1]) / page);
    for (long i = 0; i < n; i++) {
        p[i * page] = 1;
        printf("%ld\t%ld\t%ld\n", i + 1, read_long(fd) / page, stat_rss(argv[1]) / page);
    }
    return 0;
}
