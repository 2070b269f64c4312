/* kscan INO: every page frame /proc/kpagecgroup charges to the memory group whose inode is INO, one line each:
   "PFN FLAGS COUNT" (hex /proc/kpageflags, decimal /proc/kpagecount). Slab pages are not listed (page_cgroup_ino gives
   no group for them); page tables, kernel stacks and the group's LRU, swap-cache and batched pages are. Root only. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: kscan INO\n"); return 2; }
    uint64_t ino = strtoull(argv[1], 0, 10);
    int cgf = open("/proc/kpagecgroup", O_RDONLY), flf = open("/proc/kpageflags", O_RDONLY),
        cnf = open("/proc/kpagecount", O_RDONLY);
    if (cgf < 0 || flf < 0 || cnf < 0) { perror("kscan: /proc/kpage*"); return 1; }
    static uint64_t v[1 << 16];
    uint64_t pfn = 0;
    for (;;) {
        ssize_t r = pread(cgf, v, sizeof v, pfn * 8);
        if (r <= 0) break;
        for (ssize_t i = 0; i < r / 8; i++) {
            if (v[i] != ino) continue;
            uint64_t f = 0, c = 0;
            if (pread(flf, &f, 8, (pfn + i) * 8) != 8 || pread(cnf, &c, 8, (pfn + i) * 8) != 8) { perror("kscan"); return 1; }
            printf("%llu %llx %llu\n", (unsigned long long)(pfn + i), (unsigned long long)f, (unsigned long long)c);
        }
        pfn += r / 8;
    }
    return 0;
}
