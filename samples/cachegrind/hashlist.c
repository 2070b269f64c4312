/* A chained hash table of malloc'd nodes, then look-ups that walk the chains: pointer chasing
 * over the heap, the access pattern caches handle worst. Fixed seed, no input. */
#include <stdio.h>
#include <stdlib.h>

#ifndef BUCKETS /* make.sh uses the default; perf/cachegrind-vs-valgrind.sh scales it */
#define BUCKETS 512
#endif
#ifndef KEYS /* make.sh uses the default; perf/cachegrind-vs-valgrind.sh scales it */
#define KEYS 4000
#endif
#ifndef LOOKUPS /* make.sh uses the default; perf/cachegrind-vs-valgrind.sh scales it */
#define LOOKUPS 12000
#endif

struct node {
    unsigned long key;
    long value;
    struct node *next;
};

static struct node *table[BUCKETS];

static unsigned long next_rand(unsigned long *s)
{
    *s = *s * 6364136223846793005ul + 1442695040888963407ul;
    return *s >> 33;
}

int main(void)
{
    unsigned long s = 42;
    for (int i = 0; i < KEYS; i++) {
        struct node *n = malloc(sizeof *n);
        n->key = next_rand(&s) % (KEYS * 4);
        n->value = i;
        n->next = table[n->key % BUCKETS];
        table[n->key % BUCKETS] = n;
    }
    long found = 0, sum = 0;
    for (int i = 0; i < LOOKUPS; i++) {
        unsigned long k = next_rand(&s) % (KEYS * 4);
        for (struct node *n = table[k % BUCKETS]; n; n = n->next)
            if (n->key == k) {
                found++;
                sum += n->value;
                break;
            }
    }
    printf("hashlist found %ld sum %ld\n", found, sum);
    return 0;
}
