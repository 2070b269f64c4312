/* Top-down merge sort of pseudo-random ints (own LCG, fixed seed) through a scratch buffer:
 * sequential streams that mostly hit, plus the recursion's stack traffic. */
#include <stdio.h>

#ifndef COUNT /* make.sh uses the default; perf/cachegrind-vs-valgrind.sh scales it */
#define COUNT 6000
#endif

static int data[COUNT], scratch[COUNT];

static void merge_sort(int *v, int *tmp, int lo, int hi)
{
    if (hi - lo < 2)
        return;
    int mid = lo + (hi - lo) / 2;
    merge_sort(v, tmp, lo, mid);
    merge_sort(v, tmp, mid, hi);
    int i = lo, j = mid, k = lo;
    while (i < mid && j < hi)
        tmp[k++] = v[i] <= v[j] ? v[i++] : v[j++];
    while (i < mid)
        tmp[k++] = v[i++];
    while (j < hi)
        tmp[k++] = v[j++];
    for (k = lo; k < hi; k++)
        v[k] = tmp[k];
}

int main(void)
{
    unsigned int x = 12345u;
    for (int i = 0; i < COUNT; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (int)(x >> 8);
    }
    merge_sort(data, scratch, 0, COUNT);
    long check = 0;
    for (int i = 1; i < COUNT; i++)
        if (data[i - 1] > data[i])
            check = -1000000;
        else
            check += data[i] & 0xff;
    printf("sort check %ld\n", check);
    return 0;
}
