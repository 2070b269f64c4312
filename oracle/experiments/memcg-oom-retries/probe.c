// Touches 64 MiB of anonymous memory one page at a time in a memcg limited far below that, with no swap, until the
// group's OOM killer ends it. Writes a trace_marker line before each page so the trace shows which page's charge
// ran the reclaims. argv[1]: the trace_marker file.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const size_t page = 4096, pages = 16384;
	int marker = open(argv[1], O_WRONLY);
	char *p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (marker < 0 || p == MAP_FAILED)
		return 1;
	madvise(p, pages * page, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < pages; i++) {
		char line[32];
		int n = snprintf(line, sizeof line, "page %zu\n", i);
		if (write(marker, line, (size_t)n) != n)
			return 1;
		p[i * page] = 1;
	}
	return 0;
}
