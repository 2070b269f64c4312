/*
 * Grouping by mobility on the real kernel, read-only: page tables are unmovable allocations (GFP_PGTABLE_USER), so
 * a task that needs many of them makes the kernel claim MOVABLE pageblocks for MIGRATE_UNMOVABLE, a whole order-10
 * block (two pageblocks) at a time while free order-10 blocks exist (__rmqueue_claim takes the largest fallback
 * block; try_to_claim_block changes every pageblock of a block of order >= pageblock_order). Its own data pages are
 * movable and come from MOVABLE blocks.
 *
 * The program reads /proc/pagetypeinfo's "Number of blocks type" row and the Unmovable free-page total of zone
 * Normal, then writes one byte in each of N separate 2 MiB ranges (N page-table pages, N/512 PMD pages, N data
 * pages), reads them again, and prints the differences. No kernel setting is changed.
 *
 *   gcc -O1 -o /tmp/pagetable-pageblocks oracle/experiments/pagetable-pageblocks.c
 *   /tmp/pagetable-pageblocks 16384
 *
 * EcsMem's rule for the same request (tests/Ecs.Mem.Tests/PageAlloc/MigrateTypeTests.cs,
 * PageTablesFillClaimedPageblocksTwoAtATime): the page tables first use the free Unmovable pages, then claim
 * order-10 Movable blocks, so the Unmovable block count grows by 2 * ceil((tables - free unmovable) / 1024).
 * Results in docs/kernel.md ("Pageblocks and migrate types").
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct snap { long blocks[5]; long unmovable_free_pages; };

static void read_snap(struct snap *s)
{
    FILE *f = fopen("/proc/pagetypeinfo", "r");
    char line[512];
    memset(s, 0, sizeof(*s));
    if (!f) { perror("/proc/pagetypeinfo"); exit(1); }
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "zone   Normal, type    Unmovable")) {
            char *p = strstr(line, "Unmovable") + strlen("Unmovable");
            for (int order = 0; order <= 10; order++)
                s->unmovable_free_pages += strtol(p, &p, 10) << order;
        } else if (strncmp(line, "Node 0, zone   Normal ", 22) == 0) {
            char *p = line + 22;
            for (int t = 0; t < 5; t++)
                s->blocks[t] = strtol(p, &p, 10);
        }
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 16384;
    size_t span = (size_t)n << 21;
    struct snap before, after;
    char *base = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) { perror("mmap"); return 1; }
    read_snap(&before);
    for (long i = 0; i < n; i++)
        base[(size_t)i << 21] = 1;
    read_snap(&after);
    printf("ranges %ld: page tables >= %ld pages (+%ld PMD pages), data %ld pages\n", n, n, (n + 511) / 512, n);
    printf("unmovable free pages before %ld after %ld\n", before.unmovable_free_pages, after.unmovable_free_pages);
    printf("blocks Unmovable %ld -> %ld (%+ld), Movable %ld -> %ld (%+ld), Reclaimable %ld -> %ld (%+ld)\n",
           before.blocks[0], after.blocks[0], after.blocks[0] - before.blocks[0],
           before.blocks[1], after.blocks[1], after.blocks[1] - before.blocks[1],
           before.blocks[2], after.blocks[2], after.blocks[2] - before.blocks[2]);
    munmap(base, span);
    return 0;
}
