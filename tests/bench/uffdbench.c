/* SPDX-License-Identifier: MIT */
/*
 * uffdbench - what starting before everything is loaded would cost: the
 * price of a userfaultfd page fault served by a loader thread, against
 * filling the same pages up front.
 *
 *   uffdbench PAGES [REPS]
 *
 * Fills PAGES pages of a fresh anonymous mapping from a source buffer, three
 * ways, and prints the median time of each, tab-separated
 * (mode pages median_us ns_per_page):
 *   eager   memcpy of the whole range (page faults on first write included):
 *           what a loader does when it places everything before the entry
 *   uffd    the range registered with userfaultfd (missing mode); the main
 *           thread touches one byte per page, a handler thread answers each
 *           fault with UFFDIO_COPY of that page: lazy loading at page
 *           granularity, the best case (the data is already in memory)
 *   uffd-batch  the same, but each fault is answered with a copy of the
 *           next 16 pages (prefetching)
 * Exits 77 if userfaultfd is unavailable (vm.unprivileged_userfaultfd,
 * a seccomp profile, or a kernel without it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define MAX_REPS 101

static unsigned char *src;
static size_t pages;

struct handler {
	int uffd;
	unsigned char *base;
	size_t batch;
	volatile int stop;
};

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
	fprintf(stderr, "uffdbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned char *fresh(void)
{
	void *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void *handler_main(void *arg)
{
	struct handler *h = arg;
	struct pollfd pfd = { .fd = h->uffd, .events = POLLIN };
	while (!h->stop) {
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		struct uffd_msg msg;
		ssize_t n = read(h->uffd, &msg, sizeof(msg));
		if (n != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		size_t page = (msg.arg.pagefault.address - (uintptr_t)h->base) / PAGE;
		size_t count = h->batch;
		if (page + count > pages)
			count = pages - page;
		struct uffdio_copy copy = {
			.dst = (uintptr_t)h->base + page * PAGE,
			.src = (uintptr_t)src + page * PAGE,
			.len = count * PAGE,
		};
		/* EEXIST: part of the range was filled already (a batch ran
		 * ahead); fill the faulting page alone, and wake its waiter
		 * ourselves if even that page was there. */
		if (ioctl(h->uffd, UFFDIO_COPY, &copy) == 0)
			continue;
		if (errno != EEXIST)
			die("UFFDIO_COPY");
		copy.len = PAGE;
		if (ioctl(h->uffd, UFFDIO_COPY, &copy) == 0)
			continue;
		if (errno != EEXIST)
			die("UFFDIO_COPY");
		struct uffdio_range wake = { .start = copy.dst, .len = PAGE };
		ioctl(h->uffd, UFFDIO_WAKE, &wake);
	}
	return NULL;
}

static double run_eager(void)
{
	unsigned char *p = fresh();
	double t0 = now_us();
	memcpy(p, src, pages * PAGE);
	double t = now_us() - t0;
	munmap(p, pages * PAGE);
	return t;
}

static double run_uffd(size_t batch)
{
	/* Non-blocking: poll() on a blocking userfaultfd reports POLLERR. */
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (uffd < 0)
		uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0) {
		printf("# userfaultfd unavailable: %s\n", strerror(errno));
		exit(77);
	}
	struct uffdio_api api = { .api = UFFD_API };
	if (ioctl(uffd, UFFDIO_API, &api) != 0)
		die("UFFDIO_API");
	unsigned char *p = fresh();
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)p, .len = pages * PAGE },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0)
		die("UFFDIO_REGISTER");
	struct handler h = { .uffd = uffd, .base = p, .batch = batch };
	pthread_t tid;
	if (pthread_create(&tid, NULL, handler_main, &h) != 0)
		die("pthread_create");
	double t0 = now_us();
	uint64_t sum = 0;
	for (size_t i = 0; i < pages; i++)
		sum += p[i * PAGE];
	double t = now_us() - t0;
	h.stop = 1;
	pthread_join(tid, NULL);
	if (sum != (uint64_t)pages * 0x5a)
		fprintf(stderr, "uffdbench: wrong bytes\n"), exit(1);
	munmap(p, pages * PAGE);
	close(uffd);
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void report(const char *mode, double *us, int reps)
{
	qsort(us, (size_t)reps, sizeof(double), cmp_double);
	double med = us[reps / 2];
	printf("%s\t%zu\t%.1f\t%.0f\n", mode, pages, med, med * 1000 / (double)pages);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: uffdbench PAGES [REPS]\n");
		return 2;
	}
	pages = strtoul(argv[1], NULL, 10);
	int reps = argc == 3 ? atoi(argv[2]) : 21;
	if (pages < 1 || pages > (1u << 20) || reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "uffdbench: PAGES 1..1048576, REPS 1..101\n");
		return 2;
	}
	src = malloc(pages * PAGE);
	if (!src)
		die("malloc");
	memset(src, 0x5a, pages * PAGE);
	double us[MAX_REPS];
	printf("# mode\tpages\tmedian_us\tns_per_page\n");
	for (int r = 0; r < reps; r++)
		us[r] = run_eager();
	report("eager", us, reps);
	for (int r = 0; r < reps; r++)
		us[r] = run_uffd(1);
	report("uffd", us, reps);
	for (int r = 0; r < reps; r++)
		us[r] = run_uffd(16);
	report("uffd-batch16", us, reps);
	return 0;
}
