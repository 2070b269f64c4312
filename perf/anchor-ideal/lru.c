/*
 * The C anchor of EcsMem's ideal mode (issue 19 item 3): exact LRU over N page frames, replaying an EcsMem
 * binary trace (docs/traces.md: 32-byte header, 16- or 24-byte records; page = address >> 12), counting
 * hits, cold and capacity faults and evictions. Plain C, written for this repository: an open-addressing hash
 * map (linear probing, Fibonacci hashing) from page number to the frame it was last loaded into, and the LRU
 * order as a doubly linked list of frames in two int arrays (circular through a sentinel). Its counts must
 * equal `ecsmem run --ideal --policy lru`'s.
 *
 *   lru TRACE.bin FRAMES          stream the file (1 MiB blocks), replay each block as it is read: the whole
 *                                 process to compare with `ecsmem run --ideal` (perf/anchor-ideal/run.sh whole)
 *   lru --loop R TRACE.bin FRAMES read the whole trace into an array of page numbers first, then time R replays
 *                                 of it (a fresh state each) with CLOCK_MONOTONIC and print each one's ns per
 *                                 reference: the replay loop alone (run.sh loop)
 *
 * Same per-reference work as EcsMem's loop, on purpose, so the ratio measures the language and runtime, not the
 * algorithm: a map entry is never deleted (an entry is live while its frame still holds its page), and the map
 * entry of the reference 8 ahead is prefetched.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PREFETCH 8
#define NEVER 0x7fffffff

typedef struct { uint64_t key; int32_t value; int32_t used; } entry;

static entry *map;
static uint64_t mask, count;
static int shift;
static int *next_, *prev_; /* list of frames, sentinel = frames; next towards the LRU end */
static uint64_t *frame_page;
static int frames, used_frames;
static long long refs, hits, cold, capacity, evictions;

static void die(const char *msg, const char *arg) { fprintf(stderr, "lru: %s%s\n", msg, arg); exit(2); }

static void map_init(uint64_t cap) {
    map = calloc(cap, sizeof(entry));
    if (!map) die("out of memory", "");
    mask = cap - 1;
    shift = 64 - __builtin_ctzll(cap);
    count = 0;
}

static inline uint64_t home(uint64_t key) { return (key * 0x9E3779B97F4A7C15ULL) >> shift; }

static void map_grow(void) {
    entry *old = map;
    uint64_t oldcap = mask + 1;
    map_init(oldcap * 2);
    for (uint64_t i = 0; i < oldcap; i++) {
        if (!old[i].used) continue;
        uint64_t j = home(old[i].key);
        while (map[j].used) j = (j + 1) & mask;
        map[j] = old[i];
        count++;
    }
    free(old);
}

/* The value slot of key, added with NEVER when absent (*added = 1). */
static inline int32_t *lookup(uint64_t key, int *added) {
    for (;;) {
        uint64_t i = home(key);
        for (;;) {
            entry *e = &map[i];
            if (!e->used) break;
            if (e->key == key) { *added = 0; return &e->value; }
            i = (i + 1) & mask;
        }
        if ((count + 1) * 2 > mask + 1) { map_grow(); continue; }
        entry *e = &map[i];
        e->key = key; e->value = NEVER; e->used = 1; count++;
        *added = 1;
        return &e->value;
    }
}

static void state_init(void) {
    uint64_t cap = 16, want = (uint64_t)(frames > 1024 ? frames : 1024) * 2;
    while (cap < want) cap <<= 1;
    free(map);
    map_init(cap);
    free(next_); free(prev_); free(frame_page);
    next_ = malloc(sizeof(int) * (frames + 1));
    prev_ = malloc(sizeof(int) * (frames + 1));
    frame_page = malloc(sizeof(uint64_t) * frames);
    if (!next_ || !prev_ || !frame_page) die("out of memory", "");
    next_[frames] = prev_[frames] = frames;
    used_frames = 0;
    refs = hits = cold = capacity = evictions = 0;
}

static inline void push_head(int f) {
    int s = frames, h = next_[s];
    next_[s] = f; prev_[f] = s; next_[f] = h; prev_[h] = f;
}

static inline void unlink_(int f) {
    int p = prev_[f], n = next_[f];
    next_[p] = n; prev_[n] = p;
}

static void replay(const uint64_t *pages, long n) {
    for (long i = 0; i < n; i++) {
        long ahead = i + PREFETCH < n ? i + PREFETCH : n - 1;
        __builtin_prefetch(&map[home(pages[ahead])]);
        uint64_t page = pages[i];
        int added;
        int32_t *slot = lookup(page, &added);
        int f = *slot;
        if ((unsigned)f < (unsigned)used_frames && frame_page[f] == page) {
            hits++;
            if (next_[frames] != f) { unlink_(f); push_head(f); }
            continue;
        }
        if (added) cold++; else capacity++;
        if (used_frames < frames) {
            f = used_frames++;
        } else {
            f = prev_[frames]; /* the LRU end */
            unlink_(f);
            evictions++;
        }
        frame_page[f] = page;
        push_head(f);
        *slot = f;
    }
    refs += n;
}

/*
 * Built with -DANCHOR_LIB -shared -fPIC: the replay as a function the .NET harness calls through a function
 * pointer (Ecs.Mem.Perf ideal-loop --anchor lru.so), so the C loop and EcsMem's run alternately in one
 * process on the same array and a round's two times are taken moments apart. counts: references, hits,
 * cold, capacity, evictions.
 */
void anchor_lru_replay(const uint64_t *pages, long n, int frame_count, long long *counts) {
    frames = frame_count;
    state_init();
    replay(pages, n);
    counts[0] = refs; counts[1] = hits; counts[2] = cold; counts[3] = capacity; counts[4] = evictions;
}

#ifndef ANCHOR_LIB
/* Reads the header; returns the record size. */
static int open_trace(FILE *in, const char *path) {
    unsigned char h[32];
    if (fread(h, 1, 32, in) != 32 || memcmp(h, "ECSMTRC\0", 8) != 0) die("not an EcsMem binary trace: ", path);
    uint16_t version = h[8] | h[9] << 8;
    uint32_t size = h[12] | h[13] << 8 | h[14] << 16 | (uint32_t)h[15] << 24;
    if (!((version == 1 && size == 16) || (version == 2 && size == 24))) die("unknown trace version: ", path);
    return (int)size;
}

#define BLOCK (1 << 20)

/* Decodes a block of records into page numbers, checking the kind byte as EcsMem's reader does. */
static long decode(const unsigned char *buf, long records, int size, uint64_t *out) {
    int kind_at = size == 16 ? 4 : 8, addr_at = size == 16 ? 8 : 16;
    for (long r = 0; r < records; r++) {
        const unsigned char *rec = buf + r * size;
        if (rec[kind_at] > 3) die("bad access kind in the trace", "");
        uint64_t a;
        memcpy(&a, rec + addr_at, 8);
        out[r] = a >> 12;
    }
    return records;
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
    int loops = 0, a = 1;
    if (argc > 2 && strcmp(argv[1], "--loop") == 0) { loops = atoi(argv[2]); a = 3; }
    if (argc - a != 2) { fprintf(stderr, "usage: lru [--loop R] TRACE.bin FRAMES\n"); return 2; }
    const char *path = argv[a];
    frames = atoi(argv[a + 1]);
    if (frames < 1) die("FRAMES must be at least 1: ", argv[a + 1]);
    FILE *in = fopen(path, "rb");
    if (!in) die("cannot open ", path);
    int size = open_trace(in, path);
    unsigned char *buf = malloc(BLOCK);
    long cap = 1 << 16, n = 0;
    uint64_t *pages = malloc(sizeof(uint64_t) * (loops ? cap : BLOCK / 16));
    if (!buf || !pages) die("out of memory", "");
    state_init();
    size_t got, carry = 0;
    while ((got = fread(buf + carry, 1, BLOCK - carry, in)) > 0 || carry > 0) {
        size_t have = carry + got;
        long records = (long)(have / size);
        if (records == 0) die("truncated record at the end of ", path);
        if (loops) {
            while (n + records > cap) { cap *= 2; pages = realloc(pages, sizeof(uint64_t) * cap); if (!pages) die("out of memory", ""); }
            n += decode(buf, records, size, pages + n);
        } else {
            replay(pages, decode(buf, records, size, pages));
        }
        carry = have - (size_t)records * size;
        memmove(buf, buf + (size_t)records * size, carry);
        if (got == 0 && carry > 0) die("truncated record at the end of ", path);
    }
    fclose(in);
    if (loops) {
        for (int r = 0; r < loops; r++) {
            state_init();
            double t0 = now_ns();
            replay(pages, n);
            double t1 = now_ns();
            printf("loop %d: %.3f ns/ref\n", r + 1, (t1 - t0) / n);
        }
    }
    long long faults = cold + capacity;
    printf("references %lld hits %lld faults %lld cold %lld capacity %lld evictions %lld\n",
           refs, hits, faults, cold, capacity, evictions);
    return 0;
}
#endif
