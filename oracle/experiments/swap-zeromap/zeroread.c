/* A zeromap swap-in is a major fault without a disk read? Writes PAGES pages (zeros or ones: argv[1] "zero"/"data"),
   then, under a memcg limit smaller than them, touches another PAGES pages so the first are swapped out, then reads
   the first back one load a page; prints that read pass's getrusage faults. Run by run.sh (root, under the lock). */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#define PAGES 4096UL
int main(int argc, char **argv)
{
    int zero = argc > 1 && strcmp(argv[1], "zero") == 0;
    volatile char *a = mmap(0, PAGES << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    volatile char *b = mmap(0, PAGES << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED || b == MAP_FAILED) return 1;
    for (unsigned long i = 0; i < PAGES; i++) a[i << 12] = zero ? 0 : 1;
    for (unsigned long i = 0; i < PAGES; i++) b[i << 12] = 1;
    struct rusage u0, u1;
    getrusage(RUSAGE_SELF, &u0);
    long sink = 0;
    for (unsigned long i = 0; i < PAGES; i++) sink += a[i << 12];
    getrusage(RUSAGE_SELF, &u1);
    printf("%s read: minflt %ld majflt %ld sink %ld\n", zero ? "zero" : "data", u1.ru_minflt - u0.ru_minflt, u1.ru_majflt - u0.ru_majflt, sink);
    return 0;
}
