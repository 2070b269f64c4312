/*
 * khugepaged on the real kernel, outside the phase kit (the kit has no way to wait for a kernel thread: its
 * programs are measured right after each phase, and EcsMem's scenario has no idle time to match a sleep).
 *
 * 4 MiB of anonymous memory at a 2 MiB boundary is written in 4 KiB steps (1,024 faults: no VM_HUGEPAGE yet, so
 * no THP in madvise mode), then advised MADV_HUGEPAGE: khugepaged_enter_vma registers the mm (it has an anon_vma
 * now) and, if khugepaged's list was empty, wakes the thread. The program polls its own smaps until the region's
 * AnonHugePages reaches 4096 kB (or 40 s pass) and prints the time it took and the change in the sysfs counters
 * pages_collapsed and full_scans, then writes the region again (0 faults once it is PMD-mapped).
 *
 *   gcc -O1 -o /tmp/khugepaged-collapse oracle/experiments/khugepaged-collapse.c
 *   flock /work/kernel.lock /tmp/khugepaged-collapse
 *
 * Recorded 2026-12-05 on this machine (Linux 6.18, THP madvise, khugepaged defaults), 6 runs: 1024 faults,
 * AnonHugePages 4096 kB, pages_collapsed +2, full_scans +1, 0 faults after; 0.02 s with an idle thread (0.35-0.48 s
 * on a busy machine), 10.1-10.2 s when the previous run's mm left the list during the 10 s sleep (a registration
 * does not end a timed sleep).
 * EcsMem: tests/Ecs.Mem.Tests/Kernel/KhugepagedTests.cs, MadviseAfterTouchingCollapsesBothRangesInTheFirstWake.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define KHP "/sys/kernel/mm/transparent_hugepage/khugepaged/"

static long sysfs_number(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The AnonHugePages line of the smaps entry that starts at start. */
static long anon_huge_kb(unsigned long start)
{
	char line[512];
	long kb = -1;
	int ours = 0;
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long s, e;
		char dash;
		if (sscanf(line, "%lx%c%lx", &s, &dash, &e) == 3 && dash == '-')
			ours = s == start;
		else if (ours && strncmp(line, "AnonHugePages:", 14) == 0)
			sscanf(line + 14, "%ld", &kb);
	}
	fclose(f);
	return kb;
}

static double seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static long minflt(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return u.ru_minflt;
}

int main(void)
{
	const size_t len = 4UL << 20;
	char *want = (char *)0x100000000000UL;
	char *p = mmap(want, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != want) {
		perror("mmap");
		return 1;
	}
	long f0 = minflt();
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	long faults = minflt() - f0;
	long collapsed0 = sysfs_number(KHP "pages_collapsed"), scans0 = sysfs_number(KHP "full_scans");
	long before = anon_huge_kb((unsigned long)p);
	double t0 = seconds();
	if (madvise(p, len, MADV_HUGEPAGE)) {
		perror("madvise");
		return 1;
	}
	long kb = 0;
	while (seconds() - t0 < 40 && (kb = anon_huge_kb((unsigned long)p)) < 4096)
		usleep(20000);
	double took = seconds() - t0;
	long collapsed = sysfs_number(KHP "pages_collapsed") - collapsed0, scans = sysfs_number(KHP "full_scans") - scans0;
	f0 = minflt();
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 2;
	printf("faults %ld, AnonHugePages %ld kB before, %ld kB %.2f s after MADV_HUGEPAGE; pages_collapsed +%ld, full_scans +%ld; faults after %ld\n",
	       faults, before, kb, took, collapsed, scans, minflt() - f0);
	return 0;
}
