/* pgpg-start's probe (README.md): the kit harness (harness.h) with a main that reads its memory group's v1 memory.stat
 * at main's entry, after warm_up (the harness's footprint written, as before a kit program's first phase) and again
 * after 3 s (the periodic stats flusher, flush_memcg_stats_dwork, has run: nothing pending); then whether reading
 * /proc/vmstat leaves anything charged: memory.usage_in_bytes and memory.kmem.usage_in_bytes around 5 reads of it.
 * Run as record.sh runs a memcg program: sh moves itself into a fresh group, then exec env -i ORACLE_MEMCG=GROUP
 * setarch -R probe. */
#define NREG 1
#include "../../harness.h"
#include <time.h>

static long value_of(const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", getenv("ORACLE_MEMCG"), file);
    return slurp(path) > 0 ? strtol(buf, 0, 10) : -1;
}

static void stat_at(const char *when)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/memory.stat", getenv("ORACLE_MEMCG"));
    emit("%s\"%s\":{", strcmp(when, "entry") == 0 ? "" : ",", when);
    if (slurp(path) < 0) fatal("memory.stat");
    int first = 1;
    for (char *line = buf; *line; ) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char key[64]; long v;
        if (sscanf(line, "%63s %ld", key, &v) == 2 && (!strcmp(key, "pgpgin") || !strcmp(key, "pgpgout") || !strcmp(key, "rss")
                || !strcmp(key, "cache") || !strcmp(key, "mapped_file") || !strcmp(key, "pgfault"))) {
            emit("%s\"%s\":%ld", first ? "" : ",", key, v);
            first = 0;
        }
        if (!nl) break;
        line = nl + 1;
    }
    emit("}");
}

int main(void)
{
    if (!getenv("ORACLE_MEMCG")) fatal("ORACLE_MEMCG");
    emit("{");
    stat_at("entry");
    warm_up();
    out[0] = '{'; /* warm_up zeroes a byte of each page of out: the record's first */
    stat_at("warm");
    struct timespec ts = { 3, 0 };
    nanosleep(&ts, 0);
    stat_at("slept");
    long use0 = value_of("memory.usage_in_bytes"), kmem0 = value_of("memory.kmem.usage_in_bytes");
    for (int i = 0; i < 5; i++) slurp("/proc/vmstat");
    long use1 = value_of("memory.usage_in_bytes"), kmem1 = value_of("memory.kmem.usage_in_bytes");
    nanosleep(&ts, 0);
    long use2 = value_of("memory.usage_in_bytes"), kmem2 = value_of("memory.kmem.usage_in_bytes");
    emit(",\"vmstat_reads\":{\"usage\":[%ld,%ld,%ld],\"kmem\":[%ld,%ld,%ld]}}\n", use0, use1, use2, kmem0, kmem1, kmem2);
    finish();
    return 0;
}
