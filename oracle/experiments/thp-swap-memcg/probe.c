/*
 * THP reclaim under a memory cgroup on the real kernel, sampled through the passes (oracle/experiments/thp-swap-memcg,
 * run by run.sh). 32 MiB of anonymous memory at a 2 MiB boundary with MADV_HUGEPAGE is written in 4 KiB steps, then
 * written again, as the kit's thp-swpout does; after every STEP pages (argv[2]; 512 = each huge page) the program
 * marks the trace (argv[1]: the trace instance's trace_marker) and prints one line: the group's memory.stat (rss_huge,
 * rss, swapcached, swap, writeback, active/inactive anon), usage_in_bytes, /proc/vmstat's thp_* and pswp* deltas.
 * No malloc, no stdio buffering: read(2) into static buffers, write(2) of each line.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char buf[1 << 16], line[1024];
static const char *cg;
static int marker = -1;

static long field(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (!strncmp(p, key, n) && p[n] == ' ')
            return atol(p + n + 1);
    return -1;
}

static const char *slurp(const char *path)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0) close(fd);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

static const char *vk[] = {"thp_fault_alloc", "thp_fault_fallback", "thp_fault_fallback_charge", "thp_swpout",
                           "thp_swpout_fallback", "thp_split_page", "thp_split_pmd", "thp_deferred_split_page",
                           "pswpout", "pswpin", 0};
static long v0[16];

static void sample(const char *pass, long page)
{
    char path[512];
    long ms[8];
    static const char *mk[] = {"rss_huge", "rss", "swapcached", "swap", "writeback", "active_anon", "inactive_anon", 0};
    snprintf(path, sizeof path, "%s/memory.stat", cg);
    slurp(path);
    for (int i = 0; mk[i]; i++) ms[i] = field(buf, mk[i]);
    snprintf(path, sizeof path, "%s/memory.usage_in_bytes", cg);
    long usage = atol(slurp(path));
    int n = snprintf(line, sizeof line, "%s %5ld usage %5ld rss_huge %4ld rss %5ld swapcached %5ld swap %5ld wb %4ld act %4ld inact %5ld |",
                     pass, page, usage >> 12, ms[0] >> 12, ms[1] >> 12, ms[2] >> 12, ms[3] >> 12, ms[4] >> 12, ms[5] >> 12, ms[6] >> 12);
    slurp("/proc/vmstat");
    for (int i = 0; vk[i]; i++)
        n += snprintf(line + n, sizeof line - n, " %s %ld", vk[i], field(buf, vk[i]) - v0[i]);
    line[n++] = '\n';
    if (write(1, line, n) < 0) exit(1);
}

static void mark(const char *pass, long page)
{
    if (marker < 0) return;
    int n = snprintf(line, sizeof line, "probe %s %ld", pass, page);
    if (write(marker, line, n) < 0) exit(1);
}

int main(int argc, char **argv)
{
    cg = getenv("PROBE_MEMCG");
    marker = open(argv[1], O_WRONLY);
    long step = atol(argv[2]);
    size_t sz = 32UL << 20;
    slurp("/proc/vmstat");
    for (int i = 0; vk[i]; i++) v0[i] = field(buf, vk[i]);
    char *p = mmap((void *)(16UL << 40), sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) return 1;
    madvise(p, sz, MADV_HUGEPAGE);
    sample("start", 0);
    for (long i = 0; i < (long)(sz >> 12); i++) {
        if (i % step == 0) mark("fill", i);
        p[i << 12] = 1;
        if ((i + 1) % step == 0) sample("fill ", i + 1);
    }
    for (long i = 0; i < (long)(sz >> 12); i++) {
        if (i % step == 0) mark("write", i);
        p[i << 12]++;
        if ((i + 1) % step == 0) sample("write", i + 1);
    }
    return 0;
}
