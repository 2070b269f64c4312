/*
 * anchor.c: the per-access work of EcsMem's full machine, written as a plain C program, for one process
 * replaying an EcsMem binary trace (src/Ecs.Mem/Traces/BinaryTraceFormat.cs) on the default machine.
 *
 * It is the yardstick for `ecsmem run --trace T.bin` (perf/anchor/run.sh): the same work, without the
 * simulator's generality (any number of CPUs and processes, events, reclaim, swap, files), so the wall-time
 * ratio says what that generality costs. It does the same work as EcsMem, not just similar work: its counters
 * (TLB hits and misses, cache accesses, misses and write-backs, faults, translation and memory cycles) must
 * EQUAL EcsMem's report on the same trace; tests/Ecs.Mem.Tests/Perf/AnchorTests.cs checks that.
 *
 * Per access, as src/Ecs.Mem.Systems/Cpu/AccessStage.cs does:
 *   L1 iTLB or dTLB (4 KiB entries, set-associative, true LRU by stamps, PCID-tagged) -> STLB (fills the L1 on a
 *   hit) -> on a double miss, or a cached entry that does not permit the access, a 4-level page walk (no
 *   page-walk caches: EcsMem charges levels x walk_level cycles) that sets A (and D on a write) and fills STLB
 *   and L1 -> the physical address through L1i/L1d, L2, L3 (write-back, write-allocate, LRU by stamps, L2
 *   non-inclusive, L3 inclusive: its victims are back-invalidated above) with the default geometries.
 * A walk that finds no usable PTE is a page fault, handled as EcsMem's kernel does for a trace without a layout:
 *   the inferred layout (a 2 MiB-aligned anonymous VMA around a new address, r-x for a fetch and rw- for data,
 *   merged with equal neighbours as mmap and vma_merge do; a VMA that lacks a permission is widened by an
 *   mprotect whose change_protection rewrites its PTEs and flushes the TLB range that needs it), then
 *   do_anonymous_page (the zero page for a read, a new frame for a write), do_wp_page (a copy of the zero page)
 *   or a spurious fault; the access is then retried from the TLB lookup. Frames are allocated first-touch as a
 *   fresh zone grouped by mobility hands them out: user pages (MOVABLE) ascending from frame 1 (frame 0 is the zero
 *   page) through the first 4 MiB block, then block after block; page tables (UNMOVABLE) ascending through the
 *   4 MiB blocks they claim whole, each the next block not yet used (__rmqueue_claim of an order-10 block).
 *
 * Build: gcc -O2 -o anchor anchor.c. Run: anchor TRACE.bin (prints the counters as "name value" lines).
 * Exit 2 with one line on stderr for a malformed trace or a trace this anchor does not model (several
 * processes or threads, addresses no user VMA can hold).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint16_t u16;
typedef uint8_t u8;

static const char *g_trace = "";

static void die(u64 record, const char *value, const char *what)
{
    fprintf(stderr, "%s:%llu: %s: %s\n", g_trace, (unsigned long long)record, value, what);
    exit(2);
}

/* ---------------------------------------------------------------- machine constants (MachineConfig.Default) */
enum { K_INSTR = 0, K_LOAD = 1, K_STORE = 2, K_MODIFY = 3 };
enum { LVL_L1 = 0, LVL_L2 = 1, LVL_L3 = 2, LVL_DRAM = 3 };

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ULL << PAGE_SHIFT)
#define LINE_BITS 6
#define TASK_SIZE 0x7ffffffff000ULL   /* x86-64 4-level TASK_SIZE_MAX */
#define MMAP_MIN_ADDR 0x10000ULL      /* vm.mmap_min_addr */
#define GRANULE (2ULL << 20)          /* InferredLayout.DefaultGranularity */
#define FLUSH_CEILING 33              /* tlb_single_page_flush_ceiling */
#define PCID 1                        /* kern_pcid(asid 0) */
#define ZERO_PFN 0                    /* the shared zero page */

/* latencies (LatencyConfig defaults), cycles */
#define C_L1TLB 0
#define C_STLB 7
#define C_WALK 20
#define C_L1 4
#define C_L2 12
#define C_L3 40
#define C_MEM 200

/* ---------------------------------------------------------------- PTE bits (src/Ecs.Mem/Components/Pte.cs) */
#define P_PRESENT (1ULL << 0)
#define P_RW (1ULL << 1)
#define P_USER (1ULL << 2)
#define P_PWT (1ULL << 3)
#define P_PCD (1ULL << 4)
#define P_ACCESSED (1ULL << 5)
#define P_DIRTY (1ULL << 6)
#define P_PSE (1ULL << 7)
#define P_GLOBAL (1ULL << 8)
#define P_PROTNONE (1ULL << 8)
#define P_SPECIAL (1ULL << 9)
#define P_COW (1ULL << 10)
#define P_SOFTDIRTY (1ULL << 11)
#define P_PMDMAPPED (1ULL << 57)
#define P_NX (1ULL << 63)
#define P_PFNMASK (((1ULL << 52) - 1) & ~(PAGE_SIZE - 1))

static inline u64 pte_pfn(u64 pte) { return (pte & P_PFNMASK) >> PAGE_SHIFT; }
static inline u64 pte_make(u64 pfn, u64 prot) { return ((pfn << PAGE_SHIFT) & P_PFNMASK) | (prot & ~P_PFNMASK); }

/* pte_modify: keeps frame, A, D and software bits; takes the new protection. */
static inline u64 pte_modify(u64 pte, u64 prot)
{
    return (pte & (P_PFNMASK | P_ACCESSED | P_DIRTY | P_SOFTDIRTY | P_COW | P_SPECIAL | P_PMDMAPPED))
        | (prot & ~(P_PFNMASK | P_ACCESSED | P_DIRTY));
}

/* pte_needs_flush (x86): a frame change, D or P cleared, or RW/USER/caching/PSE/G/NX changed either way. */
static inline int pte_needs_flush(u64 old, u64 upd)
{
    if (!(old & P_PRESENT))
        return 0;
    if ((old ^ upd) & P_PFNMASK)
        return 1;
    u64 diff = (old ^ upd) & ~(P_SPECIAL | P_COW | P_SOFTDIRTY | P_ACCESSED | P_PFNMASK);
    const u64 on_clear = P_DIRTY | P_PRESENT;
    const u64 on_change = P_RW | P_USER | P_PWT | P_PCD | P_PSE | P_GLOBAL | P_NX;
    return (diff & old & on_clear) != 0 || (diff & on_change) != 0;
}

/* VMA flags: only the bits inferred areas differ in */
#define VM_READ 1u
#define VM_WRITE 2u
#define VM_EXEC 4u
#define VM_ACCOUNT 8u

/* vm_get_page_prot for a private area: never RW (copy-on-write), NX unless executable */
static inline u64 prot_from_flags(u32 f)
{
    u64 prot = P_PRESENT | P_USER | P_ACCESSED;
    if (!(f & VM_EXEC))
        prot |= P_NX;
    return prot;
}

/* ---------------------------------------------------------------- counters */
static struct {
    u64 tlb_hit[3], tlb_miss[3]; /* dtlb, itlb, stlb */
    u64 pgfault, zero_page, cow_copy, anon_new, spurious, vmas_created, vmas_widened;
    u64 flush_one, flush_all;
    u64 translation, memory; /* cycles */
    u64 accesses, walk_levels;
    u64 memory_reads, memory_writes;
} C;

/* ---------------------------------------------------------------- TLBs */
#define TF_VALID 1
#define TF_WRITABLE 2
#define TF_USER 4
#define TF_NX 8
#define TF_DIRTY 16
#define TF_GLOBAL 32

typedef struct {
    u64 vpn, pfn, stamp;
    u16 pcid;
    u8 flags;
} tlb_entry;

typedef struct {
    tlb_entry *e;
    int ways;
    u64 set_mask;
    u64 clock;
    u64 memo_vpn;
    int memo_row; /* row of the last successful probe for memo_vpn, or -1 */
    int id;       /* index into C.tlb_hit / C.tlb_miss */
} tlb;

static void tlb_init(tlb *t, int entries, int ways, int id)
{
    t->e = calloc((size_t)entries, sizeof(tlb_entry));
    t->ways = ways;
    t->set_mask = (u64)(entries / ways) - 1;
    t->clock = 0;
    t->memo_row = -1;
    t->id = id;
}

static inline int tlb_probe(const tlb *t, u64 vpn)
{
    int row = (int)(vpn & t->set_mask) * t->ways;
    for (int end = row + t->ways; row < end; row++) {
        const tlb_entry *x = &t->e[row];
        if (x->vpn == vpn && (x->flags & TF_VALID) && (x->pcid == PCID || (x->flags & TF_GLOBAL)))
            return row;
    }
    return -1;
}

/* A lookup: on a hit refreshes the LRU stamp; counts a hit or a miss. */
static inline int tlb_lookup(tlb *t, u64 va)
{
    u64 vpn = va >> PAGE_SHIFT;
    int row;
    if (t->memo_row >= 0 && vpn == t->memo_vpn) {
        row = t->memo_row;
    } else {
        row = tlb_probe(t, vpn);
        if (row >= 0) {
            t->memo_vpn = vpn;
            t->memo_row = row;
        }
    }
    if (row >= 0) {
        t->e[row].stamp = ++t->clock;
        C.tlb_hit[t->id]++;
    } else {
        C.tlb_miss[t->id]++;
    }
    return row;
}

/* Install: the slot of the same translation, else the first invalid way, else the least recently used. */
static void tlb_insert(tlb *t, const tlb_entry *in)
{
    t->memo_row = -1;
    int base = (int)(in->vpn & t->set_mask) * t->ways;
    int victim = -1, free_row = -1;
    u64 oldest = UINT64_MAX;
    for (int row = base; row < base + t->ways; row++) {
        tlb_entry *x = &t->e[row];
        if (!(x->flags & TF_VALID)) {
            if (free_row < 0)
                free_row = row;
            continue;
        }
        if (x->vpn == in->vpn && x->pcid == in->pcid) {
            victim = row;
            free_row = -2;
            break;
        }
        if (x->stamp < oldest) {
            oldest = x->stamp;
            victim = row;
        }
    }
    int target = free_row >= 0 ? free_row : victim;
    tlb_entry *d = &t->e[target];
    *d = *in;
    d->flags |= TF_VALID;
    d->stamp = ++t->clock;
}

static void tlb_invalidate_page(tlb *t, u64 va)
{
    int row;
    while ((row = tlb_probe(t, va >> PAGE_SHIFT)) >= 0) {
        t->e[row].flags = 0;
        t->memo_row = -1;
    }
}

static void tlb_flush_pcid(tlb *t)
{
    int n = (int)(t->set_mask + 1) * t->ways;
    for (int i = 0; i < n; i++)
        if ((t->e[i].flags & (TF_VALID | TF_GLOBAL)) == TF_VALID && t->e[i].pcid == PCID)
            t->e[i].flags = 0;
    t->memo_row = -1;
}

static tlb g_dtlb, g_itlb, g_stlb;

/* flush_tlb_mm_range on the one CPU: INVLPG per page up to the ceiling, else a flush of the PCID */
static void flush_tlb_range(u64 start, u64 end)
{
    if (((end - start) >> PAGE_SHIFT) > FLUSH_CEILING) {
        tlb_flush_pcid(&g_dtlb);
        tlb_flush_pcid(&g_itlb);
        tlb_flush_pcid(&g_stlb);
        C.flush_all++;
        return;
    }
    for (u64 a = start; a < end; a += PAGE_SIZE) {
        tlb_invalidate_page(&g_dtlb, a);
        tlb_invalidate_page(&g_itlb, a);
        tlb_invalidate_page(&g_stlb, a);
        C.flush_one++;
    }
}

/* ---------------------------------------------------------------- caches */
typedef struct {
    u64 *tag, *stamp;
    u8 *dirty;
    int ways;
    u64 set_mask;
    u64 tick;
    u64 memo_line;
    int memo_index;
    u64 read_acc, write_acc, read_miss, write_miss, write_backs, back_inval;
} cache;

#define INVALID_TAG UINT64_MAX

static void cache_init(cache *c, long size, int ways)
{
    int lines = (int)(size >> LINE_BITS);
    c->tag = malloc(sizeof(u64) * (size_t)lines);
    c->stamp = calloc((size_t)lines, sizeof(u64));
    c->dirty = calloc((size_t)lines, 1);
    for (int i = 0; i < lines; i++)
        c->tag[i] = INVALID_TAG;
    c->ways = ways;
    c->set_mask = (u64)(lines / ways) - 1;
    c->memo_line = INVALID_TAG;
}

static inline int cache_find(cache *c, u64 line)
{
    if (line == c->memo_line)
        return c->memo_index;
    int b = (int)(line & c->set_mask) * c->ways;
    for (int i = b; i < b + c->ways; i++) {
        if (c->tag[i] == line) {
            c->memo_line = line;
            c->memo_index = i;
            return i;
        }
    }
    return -1;
}

/* A demand access: true on a hit (stamp refreshed, dirty on a write). */
static inline int cache_access(cache *c, u64 line, int write)
{
    if (write)
        c->write_acc++;
    else
        c->read_acc++;
    int i = cache_find(c, line);
    if (i >= 0) {
        c->stamp[i] = ++c->tick;
        if (write)
            c->dirty[i] = 1;
        return 1;
    }
    if (write)
        c->write_miss++;
    else
        c->read_miss++;
    return 0;
}

/* Installs an absent line in the first empty way or the oldest one; returns 1 when a valid line was evicted. */
static int cache_fill(cache *c, u64 line, int dirty, u64 *victim, int *victim_dirty)
{
    int b = (int)(line & c->set_mask) * c->ways;
    int way = -1;
    for (int w = 0; w < c->ways; w++)
        if (c->tag[b + w] == INVALID_TAG) {
            way = w;
            break;
        }
    int evicted = 0;
    *victim = INVALID_TAG;
    *victim_dirty = 0;
    if (way < 0) {
        u64 min = c->stamp[b];
        way = 0;
        for (int w = 1; w < c->ways; w++)
            if (c->stamp[b + w] < min) {
                min = c->stamp[b + w];
                way = w;
            }
        *victim = c->tag[b + way];
        *victim_dirty = c->dirty[b + way];
        evicted = 1;
        if (*victim_dirty)
            c->write_backs++;
    }
    c->tag[b + way] = line;
    c->memo_line = line;
    c->memo_index = b + way;
    c->dirty[b + way] = (u8)dirty;
    c->stamp[b + way] = ++c->tick;
    return evicted;
}

static int cache_mark_dirty(cache *c, u64 line)
{
    int i = cache_find(c, line);
    if (i < 0)
        return 0;
    c->dirty[i] = 1;
    return 1;
}

static int cache_back_invalidate(cache *c, u64 line, int *was_dirty)
{
    int i = cache_find(c, line);
    *was_dirty = 0;
    if (i < 0)
        return 0;
    *was_dirty = c->dirty[i];
    c->memo_line = INVALID_TAG;
    c->tag[i] = INVALID_TAG;
    c->dirty[i] = 0;
    c->stamp[i] = 0;
    c->back_inval++;
    if (*was_dirty)
        c->write_backs++;
    return 1;
}

static cache g_l1i, g_l1d, g_l2, g_l3;

static void fill_l3(u64 line, int dirty)
{
    u64 victim;
    int vd;
    if (!cache_fill(&g_l3, line, dirty, &victim, &vd))
        return;
    /* inclusive L3: its victim leaves every level above */
    int d1, d2, d3;
    cache_back_invalidate(&g_l1i, victim, &d1);
    cache_back_invalidate(&g_l1d, victim, &d2);
    cache_back_invalidate(&g_l2, victim, &d3);
    if (vd | d1 | d2 | d3)
        C.memory_writes++;
}

static void write_back_to_l3(u64 line)
{
    if (!cache_mark_dirty(&g_l3, line))
        fill_l3(line, 1);
}

static void write_back_to_l2(u64 line)
{
    if (cache_mark_dirty(&g_l2, line))
        return;
    u64 victim;
    int vd;
    if (cache_fill(&g_l2, line, 1, &victim, &vd) && vd)
        write_back_to_l3(victim);
}

static int fetch_into_l2(u64 line)
{
    if (cache_access(&g_l2, line, 0))
        return LVL_L2;
    int level = LVL_L3;
    if (!cache_access(&g_l3, line, 0)) {
        C.memory_reads++;
        fill_l3(line, 0);
        level = LVL_DRAM;
    }
    u64 victim;
    int vd;
    if (cache_fill(&g_l2, line, 0, &victim, &vd) && vd)
        write_back_to_l3(victim);
    return level;
}

static inline int access_line(cache *l1, u64 line, int write)
{
    if (cache_access(l1, line, write))
        return LVL_L1;
    int level = fetch_into_l2(line);
    u64 victim;
    int vd;
    if (cache_fill(l1, line, write, &victim, &vd) && vd)
        write_back_to_l2(victim);
    return level;
}

/* Every line the access covers; returns the deepest level that supplied one. */
static inline int caches_access(u64 pa, u32 size, int kind)
{
    u64 first = pa >> LINE_BITS;
    u64 last = (pa + (size == 0 ? 0 : size - 1ULL)) >> LINE_BITS;
    int deepest = LVL_L1;
    for (u64 line = first;; line++) {
        int level;
        switch (kind) {
        case K_INSTR: level = access_line(&g_l1i, line, 0); break;
        case K_LOAD: level = access_line(&g_l1d, line, 0); break;
        case K_STORE: level = access_line(&g_l1d, line, 1); break;
        default:
            level = access_line(&g_l1d, line, 0);
            access_line(&g_l1d, line, 1);
            break;
        }
        if (level > deepest)
            deepest = level;
        if (line == last)
            break;
    }
    return deepest;
}

/* ---------------------------------------------------------------- frames and page tables */
/* Two ascending cursors, one per migrate type, each taking the next free order-10 block (1024 frames) when its own
 * is used up. Block 0 is MOVABLE's first (frame 0: the zero page); the PGD, allocated with the mm, claims block 1. */
enum { BLOCK_FRAMES = 1024 };
static u64 g_next_block = 1;
static u64 g_movable_pfn = 1, g_movable_end = BLOCK_FRAMES;
static u64 g_unmovable_pfn, g_unmovable_end;

static u64 next_block(void) { return g_next_block++ * BLOCK_FRAMES; }

static u64 alloc_frame(void) /* a user page: MIGRATE_MOVABLE */
{
    if (g_movable_pfn == g_movable_end) {
        g_movable_pfn = next_block();
        g_movable_end = g_movable_pfn + BLOCK_FRAMES;
    }
    return g_movable_pfn++;
}

static u64 alloc_table_frame(void) /* a page table: MIGRATE_UNMOVABLE */
{
    if (g_unmovable_pfn == g_unmovable_end) {
        g_unmovable_pfn = next_block();
        g_unmovable_end = g_unmovable_pfn + BLOCK_FRAMES;
    }
    return g_unmovable_pfn++;
}

typedef struct { u64 e[512]; } table;
static table **g_tables; /* table id -> table; an upper-level entry holds (id << 12) | flags */
static int g_ntables, g_captables;

static int new_table(void)
{
    if (g_ntables == g_captables) {
        g_captables = g_captables ? g_captables * 2 : 64;
        g_tables = realloc(g_tables, sizeof(table *) * (size_t)g_captables);
    }
    g_tables[g_ntables] = calloc(1, sizeof(table));
    alloc_table_frame(); /* pte_alloc_one & co: every table page is an unmovable frame */
    return g_ntables++;
}

#define TABLE_ENTRY (P_PRESENT | P_RW | P_USER | P_ACCESSED | P_DIRTY)

/* The leaf entry for va, or NULL when a table on the way is missing; *levels = table pages read. */
static inline u64 *walk(u64 va, int *levels)
{
    table *t = g_tables[0];
    int n = 0;
    for (int level = 3; level > 0; level--) {
        n++;
        u64 e = t->e[(va >> (PAGE_SHIFT + 9 * level)) & 511];
        if (!(e & P_PRESENT)) {
            *levels = n;
            return NULL;
        }
        t = g_tables[e >> PAGE_SHIFT];
    }
    *levels = n + 1;
    return &t->e[(va >> PAGE_SHIFT) & 511];
}

static u64 *walk_alloc(u64 va)
{
    table *t = g_tables[0];
    for (int level = 3; level > 0; level--) {
        u64 *slot = &t->e[(va >> (PAGE_SHIFT + 9 * level)) & 511];
        if (!(*slot & P_PRESENT)) {
            int id = new_table();
            *slot = ((u64)id << PAGE_SHIFT) | TABLE_ENTRY;
        }
        t = g_tables[*slot >> PAGE_SHIFT];
    }
    return &t->e[(va >> PAGE_SHIFT) & 511];
}

static u64 lookup_pte(u64 va)
{
    int levels;
    u64 *p = walk(va, &levels);
    return p ? *p : 0;
}

/* ---------------------------------------------------------------- VMAs of the inferred layout */
typedef struct {
    u64 start, end;
    u32 flags;
    int anon_vma;
} vma;

static vma g_vmas[65536];
static int g_nvmas, g_anon_vmas;

/* find_vma: the first VMA ending above addr, or -1 */
static int find_vma(u64 addr)
{
    int lo = 0, hi = g_nvmas;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (g_vmas[mid].end > addr)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo < g_nvmas ? lo : -1;
}

static int mergeable_anon_vma(const vma *a, const vma *b)
{
    if (a->anon_vma && b->anon_vma)
        return a->anon_vma == b->anon_vma;
    return 1; /* no fork here: one side without an anon_vma takes the other's */
}

static int can_merge(const vma *a, const vma *b)
{
    return a->end == b->start && a->flags == b->flags && mergeable_anon_vma(a, b);
}

static void remove_vma(int idx)
{
    memmove(&g_vmas[idx], &g_vmas[idx + 1], sizeof(vma) * (size_t)(g_nvmas - idx - 1));
    g_nvmas--;
}

/* vma_merge around idx: absorb the next area, then fold into the previous one */
static void merge_around(int idx)
{
    int left = idx > 0 && can_merge(&g_vmas[idx - 1], &g_vmas[idx]);
    if (idx + 1 < g_nvmas && can_merge(&g_vmas[idx], &g_vmas[idx + 1])
        && (!left || mergeable_anon_vma(&g_vmas[idx - 1], &g_vmas[idx + 1]))) {
        if (!g_vmas[idx].anon_vma)
            g_vmas[idx].anon_vma = g_vmas[idx + 1].anon_vma;
        g_vmas[idx].end = g_vmas[idx + 1].end;
        remove_vma(idx + 1);
    }
    if (idx > 0 && can_merge(&g_vmas[idx - 1], &g_vmas[idx])) {
        if (!g_vmas[idx - 1].anon_vma)
            g_vmas[idx - 1].anon_vma = g_vmas[idx].anon_vma;
        g_vmas[idx - 1].end = g_vmas[idx].end;
        remove_vma(idx);
    }
}

/* anon_vma_compatible: adjacent, flags equal but for the access bits (the pgoffs of anonymous areas continue) */
static int anon_vma_compatible(const vma *a, const vma *b)
{
    return a->end == b->start && ((a->flags ^ b->flags) & ~(VM_READ | VM_WRITE | VM_EXEC)) == 0;
}

/* anon_vma_prepare: reuse the next or else the previous neighbour's anon_vma, else a new one */
static void anon_vma_prepare(u64 va)
{
    int idx = find_vma(va);
    if (g_vmas[idx].anon_vma)
        return;
    int reuse = 0;
    if (idx + 1 < g_nvmas && anon_vma_compatible(&g_vmas[idx], &g_vmas[idx + 1]))
        reuse = g_vmas[idx + 1].anon_vma;
    if (!reuse && idx > 0 && anon_vma_compatible(&g_vmas[idx - 1], &g_vmas[idx]))
        reuse = g_vmas[idx - 1].anon_vma;
    g_vmas[idx].anon_vma = reuse ? reuse : ++g_anon_vmas;
}

/* change_protection over [start, end) after an mprotect to flags f; then the TLB flush of what needs one */
static void change_protection(u64 start, u64 end, u32 f)
{
    u64 prot = prot_from_flags(f);
    int writable = (f & VM_WRITE) != 0;
    u64 fstart = UINT64_MAX, fend = 0;
    for (u64 va = start; va < end;) {
        int levels;
        u64 *slot = walk(va, &levels);
        if (!slot) {
            /* skip the range the missing table would cover */
            int shift = PAGE_SHIFT + 9 * (4 - levels);
            va = ((va >> shift) + 1) << shift;
            continue;
        }
        u64 old = *slot;
        if (old & (P_PRESENT | P_PROTNONE)) {
            u64 upd = pte_modify(old, prot) & ~P_RW;
            /* can_change_pte_writable: an exclusive anonymous page (not the zero page) */
            if (writable && !(old & (P_SPECIAL | P_COW)) && pte_pfn(old) != ZERO_PFN)
                upd |= P_RW;
            if (pte_needs_flush(old, upd)) {
                if (va < fstart)
                    fstart = va;
                fend = va + PAGE_SIZE;
            }
            *slot = upd;
        }
        va += PAGE_SIZE;
    }
    if (fend != 0)
        flush_tlb_range(fstart, fend);
}

static u32 needed_flags(int kind)
{
    return kind == K_INSTR ? VM_READ | VM_EXEC : kind == K_LOAD ? VM_READ : VM_READ | VM_WRITE;
}

/* InferredLayout.EnsureMapped: create the block around addr, or widen the VMA that lacks a permission */
static void ensure_mapped(u64 addr, int kind, u64 record)
{
    u32 need = needed_flags(kind);
    int idx = find_vma(addr);
    if (idx >= 0 && g_vmas[idx].start <= addr) {
        vma *v = &g_vmas[idx];
        if ((v->flags & need) == need)
            return;
        /* mprotect_fixup of the whole area: a private area made writable becomes accounted */
        u32 old = v->flags, nf = old | need;
        if ((nf & VM_WRITE) && !(old & (VM_ACCOUNT | VM_WRITE)))
            nf |= VM_ACCOUNT;
        u64 start = v->start, end = v->end;
        v->flags = nf;
        merge_around(idx);
        change_protection(start, end, nf);
        C.vmas_widened++;
        return;
    }
    if (addr >= TASK_SIZE || addr < MMAP_MIN_ADDR)
        die(record, "address", "no user VMA can hold this address (this anchor does not model SIGSEGV)");
    u64 start = addr & ~(GRANULE - 1), end = start + GRANULE;
    if (end > TASK_SIZE || end < start)
        end = TASK_SIZE;
    if (start < MMAP_MIN_ADDR)
        start = MMAP_MIN_ADDR;
    int prev = idx < 0 ? g_nvmas - 1 : idx - 1;
    if (prev >= 0 && g_vmas[prev].end > start)
        start = g_vmas[prev].end;
    if (idx >= 0 && g_vmas[idx].start < end)
        end = g_vmas[idx].start;
    if (g_nvmas == (int)(sizeof g_vmas / sizeof g_vmas[0]))
        die(record, "address", "more VMAs than this anchor holds");
    int at = idx < 0 ? g_nvmas : idx;
    memmove(&g_vmas[at + 1], &g_vmas[at], sizeof(vma) * (size_t)(g_nvmas - at));
    g_nvmas++;
    g_vmas[at].start = start;
    g_vmas[at].end = end;
    g_vmas[at].flags = (kind == K_INSTR) ? VM_READ | VM_EXEC : VM_READ | VM_WRITE | VM_ACCOUNT;
    g_vmas[at].anon_vma = 0;
    merge_around(at);
    C.vmas_created++;
}

/* handle_mm_fault for a trace without a layout: infer, then zero page / new page / copy of the zero page / spurious */
static void handle_fault(u64 va, int kind, u64 record)
{
    ensure_mapped(va, kind, record);
    int idx = find_vma(va);
    u32 f = g_vmas[idx].flags;
    u64 prot = prot_from_flags(f);
    int write = kind == K_STORE || kind == K_MODIFY;
    u64 pte = lookup_pte(va);
    u64 page = va & ~(PAGE_SIZE - 1);
    C.pgfault++;
    if (pte & P_PRESENT) {
        if (kind == K_INSTR && (pte & P_NX))
            die(record, "address", "instruction fetch from a no-exec page (SIGSEGV is not modelled)");
        if (!write || (pte & P_RW)) {
            C.spurious++;
            return;
        }
        if (pte_pfn(pte) != ZERO_PFN)
            die(record, "address", "write-protect fault on a page other than the zero page (not modelled)");
        /* do_wp_page -> wp_page_copy of the zero page */
        anon_vma_prepare(va);
        u64 pfn = alloc_frame();
        *walk_alloc(page) = pte_make(pfn, (prot | P_RW | P_DIRTY | P_PRESENT) & ~P_COW);
        flush_tlb_range(page, page + PAGE_SIZE);
        C.cow_copy++;
        return;
    }
    if (pte != 0)
        die(record, "address", "non-present PTE (swap) is not modelled");
    if (!write) {
        /* do_anonymous_page: a read maps the zero page, read-only */
        *walk_alloc(page) = pte_make(ZERO_PFN, (prot & ~P_RW) | P_PRESENT) | P_SPECIAL;
        C.zero_page++;
        return;
    }
    anon_vma_prepare(va);
    u64 pfn = alloc_frame(); /* the allocator runs before the install allocates the tables */
    *walk_alloc(page) = pte_make(pfn, prot | P_RW | P_DIRTY | P_PRESENT);
    C.anon_new++;
}

/* ---------------------------------------------------------------- the access loop */
static const u64 g_level_cycles[4] = {C_L1, C_L2, C_L3, C_MEM};

/* One access, retried after each fault; returns when it completed. */
static inline void issue(u64 va, int kind, u32 size, u64 record)
{
    int write = kind == K_STORE || kind == K_MODIFY;
    int fetch = kind == K_INSTR;
    for (;;) {
        tlb *l1 = fetch ? &g_itlb : &g_dtlb;
        const tlb_entry *entry = NULL;
        u64 translation;
        int row = tlb_lookup(l1, va);
        if (row >= 0) {
            entry = &l1->e[row];
            translation = C_L1TLB;
        } else {
            row = tlb_lookup(&g_stlb, va);
            if (row >= 0) {
                tlb_entry copy = g_stlb.e[row];
                tlb_insert(l1, &copy);
                entry = &g_stlb.e[row];
                translation = C_STLB;
            }
        }
        u64 pfn;
        if (entry && (!write || (entry->flags & TF_WRITABLE)) && (!fetch || !(entry->flags & TF_NX))
            && (entry->flags & TF_USER) && (!write || (entry->flags & TF_DIRTY))) {
            pfn = entry->pfn;
        } else {
            int levels = 0;
            u64 *pte = va < TASK_SIZE ? walk(va, &levels) : NULL;
            C.walk_levels += (u64)levels;
            if (!pte || !(*pte & P_PRESENT) || (write && !(*pte & P_RW)) || (fetch && (*pte & P_NX))) {
                C.translation += (u64)levels * C_WALK;
                handle_fault(va, kind, record);
                continue; /* the access is retried */
            }
            *pte |= P_ACCESSED | (write ? P_DIRTY : 0);
            u64 v = *pte;
            pfn = pte_pfn(v);
            tlb_entry e = {.vpn = va >> PAGE_SHIFT, .pfn = pfn, .pcid = PCID, .flags = TF_VALID};
            if (v & P_RW) e.flags |= TF_WRITABLE;
            if (v & P_USER) e.flags |= TF_USER;
            if (v & P_NX) e.flags |= TF_NX;
            if (v & P_DIRTY) e.flags |= TF_DIRTY;
            if (v & P_GLOBAL) e.flags |= TF_GLOBAL;
            tlb_insert(&g_stlb, &e);
            tlb_insert(l1, &e);
            translation = C_STLB + (u64)levels * C_WALK;
        }
        u64 pa = (pfn << PAGE_SHIFT) | (va & (PAGE_SIZE - 1));
        int level = caches_access(pa, size, kind);
        C.translation += translation;
        C.memory += g_level_cycles[level];
        C.accesses++;
        return;
    }
}

/* ---------------------------------------------------------------- trace reading */
static inline u16 rd16(const u8 *p) { return (u16)(p[0] | p[1] << 8); }
static inline u32 rd32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }
static inline u64 rd64(const u8 *p) { return (u64)rd32(p) | (u64)rd32(p + 4) << 32; }

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: anchor TRACE.bin\n");
        return 2;
    }
    g_trace = argv[1];
    FILE *in = fopen(argv[1], "rb");
    if (!in) {
        fprintf(stderr, "%s:0: %s: cannot open\n", argv[1], strerror(errno));
        return 2;
    }
    u8 hdr[32];
    if (fread(hdr, 1, 32, in) != 32 || memcmp(hdr, "ECSMTRC\0", 8) != 0)
        die(0, "header", "not an EcsMem binary trace (magic ECSMTRC)");
    u16 version = rd16(hdr + 8);
    u32 rec = rd32(hdr + 12);
    if (!((version == 1 && rec == 16) || (version == 2 && rec == 24)) || rd16(hdr + 10) != 0)
        die(0, "header", "unsupported version or record size");

    tlb_init(&g_dtlb, 64, 4, 0);
    tlb_init(&g_itlb, 128, 8, 1);
    tlb_init(&g_stlb, 1536, 12, 2);
    cache_init(&g_l1i, 32 << 10, 8);
    cache_init(&g_l1d, 32 << 10, 8);
    cache_init(&g_l2, 256 << 10, 4);
    cache_init(&g_l3, 3072 << 10, 12);
    g_ntables = 0;
    g_tables = NULL;
    g_captables = 0;
    /* the PGD: allocated with the mm, the first unmovable frame (block 1's first) */
    g_next_block = 1;
    g_movable_pfn = 1;
    g_movable_end = BLOCK_FRAMES;
    g_unmovable_pfn = g_unmovable_end = 0;
    new_table();

    enum { BLOCK = 4096 };
    u8 *buf = malloc((size_t)BLOCK * rec);
    u64 record = 0;
    int have_pid = 0;
    u32 pid = 0;
    size_t n;
    while ((n = fread(buf, rec, BLOCK, in)) > 0) {
        for (size_t i = 0; i < n; i++, record++) {
            const u8 *r = buf + i * rec;
            u32 p = rd32(r);
            const u8 *k = version == 1 ? r + 4 : r + 8;
            if (version == 2 && rd32(r + 4) != 0)
                die(record + 1, "thread", "several threads are not modelled by this anchor");
            if (!have_pid) {
                pid = p;
                have_pid = 1;
            } else if (p != pid) {
                die(record + 1, "process", "several processes are not modelled by this anchor");
            }
            if (k[0] > 3 || k[1] != 0)
                die(record + 1, "kind", "malformed record");
            u64 addr = rd64(version == 1 ? r + 8 : r + 16);
            issue(addr, k[0], rd16(k + 2), record + 1);
        }
    }
    if (ferror(in))
        die(record, "read", "read error");
    fclose(in);

    static const char *tn[3] = {"dtlb", "itlb", "stlb"};
    for (int t = 0; t < 3; t++)
        printf("%s_hits %llu\n%s_misses %llu\n", tn[t], (unsigned long long)C.tlb_hit[t], tn[t],
               (unsigned long long)C.tlb_miss[t]);
    cache *cs[4] = {&g_l1i, &g_l1d, &g_l2, &g_l3};
    static const char *cn[4] = {"L1i", "L1d", "L2", "L3"};
    for (int c = 0; c < 4; c++)
        printf("%s_accesses %llu\n%s_misses %llu\n%s_writebacks %llu\n", cn[c],
               (unsigned long long)(cs[c]->read_acc + cs[c]->write_acc), cn[c],
               (unsigned long long)(cs[c]->read_miss + cs[c]->write_miss), cn[c],
               (unsigned long long)cs[c]->write_backs);
    printf("accesses %llu\npgfault %llu\nzero_page %llu\ncow_copy %llu\ntranslation_cycles %llu\nmemory_cycles %llu\n",
           (unsigned long long)C.accesses, (unsigned long long)C.pgfault, (unsigned long long)C.zero_page,
           (unsigned long long)C.cow_copy, (unsigned long long)C.translation, (unsigned long long)C.memory);
    printf("nr_tlb_local_flush_one %llu\n", (unsigned long long)C.flush_one);
    return 0;
}
