/* SPDX-License-Identifier: MIT */
/*
 * fetchbench - how fast the fetcher (lib/load/fetch.c, lib/load/fetch_uring.c) reads
 * a closure's files, next to the simplest ways of reading the same bytes.
 * A measurement tool, not a test: it asserts nothing about time.
 *
 *   fetchbench gen DIR N [MIN MAX]
 *       write N valid modules m0.myr .. m{N-1}.myr of MIN..MAX bytes
 *       (default 1024..2048) into DIR, their bytes back to back into
 *       DIR.cat and their sizes (uint32 each) into DIR.sizes, both outside
 *       DIR
 *   fetchbench run -d DIR -n N -m MODE [-r REPS] [-t THREADS] [-H]
 *       MODE is one of
 *         sync           the fetcher, MYR_IO_SYNC
 *         auto           the fetcher, MYR_IO_AUTO (the launcher's default)
 *         uring          the fetcher, io_uring, as by default: all opens,
 *                        then all reads, a share of them IOSQE_ASYNC
 *         uring-inline   the same, never IOSQE_ASYNC: one core
 *         uring-async    the same, always IOSQE_ASYNC: io-wq workers
 *         uring-linked   linked open->read pairs (default share)
 *         uring-linked-inline, uring-linked-async
 *         raw-dirfd      openat(dirfd) + read + close per file, no checks
 *         raw-abs        open(absolute path) + read + close per file
 *         cat            one open + read + close of DIR.cat
 *       -t: the fetcher's lanes (default: one per CPU).  -H: no size
 *       hints (default: each file's size, as the closure records it).  -c: cold, as far as these files go: before every
 *       run, evict their pages (POSIX_FADV_DONTNEED, untimed; the rest of
 *       the page cache, other people's benchmarks included, is left
 *       alone; no effect on tmpfs).  Without -r: one silent run (for hyperfine or
 *       strace -c).  With -r: one warm-up, REPS timed runs in-process,
 *       and "mode files bytes median_us min_us median_cpu_us" on stdout
 *       (CPU time of all the process's threads, io-wq workers included).  Every timed
 *       run includes the fetcher's init (ring setup) and exit.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <myriad/fetch.h>
#include <myriad/module.h>

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "fetchbench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU time of the whole process, io-wq workers included (they are threads
 * of it). */
static double cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void fd_write_all(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		die("cannot write %s", path);
	close(fd);
}

static int gen(const char *dir, size_t n, size_t min, size_t max)
{
	char path[4096];
	static uint8_t payload[65536];
	uint32_t *sizes = calloc(n ? n : 1, sizeof(*sizes));
	int cat;

	if (!sizes)
		die("out of memory%s", "");
	if (max < min || max > sizeof(payload))
		die("bad size range%s", "");
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s.cat", dir);
	cat = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (cat < 0)
		die("cannot create %s", path);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 131 + 7);
	for (size_t i = 0; i < n; i++) {
		struct myr_module_desc d;
		struct myr_error err = { 0 };
		char name[32];
		uint8_t *buf;
		size_t len, want = min + (i * 7919) % (max - min + 1);
		int fd;

		snprintf(name, sizeof(name), "m%zu", i);
		memset(&d, 0, sizeof(d));
		d.name = name;
		d.ver_major = 1;
		d.arch = MYR_ARCH_HOST;
		d.entry.seg = d.init.seg = d.fini.seg = MYR_SEG_NONE;
		d.seg[MYR_SEG_DATA].data = payload + i % 4096;
		d.seg[MYR_SEG_DATA].size = want > 320 ? (uint32_t)(want - 320) : 1;
		if (myr_module_write(&d, &buf, &len, &err) < 0)
			die("myr_module_write: %s", err.msg);
		snprintf(path, sizeof(path), "%s/%s.myr", dir, name);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, buf, len) != (ssize_t)len ||
		    write(cat, buf, len) != (ssize_t)len)
			die("cannot write %s", path);
		close(fd);
		free(buf);
		sizes[i] = (uint32_t)len;
	}
	close(cat);
	snprintf(path, sizeof(path), "%s.sizes", dir);
	fd_write_all(path, sizes, n * sizeof(*sizes));
	free(sizes);
	return 0;
}

struct bench {
	const char *dir, *mode;
	size_t n;
	int hints, cold;
	unsigned threads;
	char (*names)[32];
	uint32_t *sizes;
	size_t total;
	struct myr_fetch_item *items;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* A fresh destination per run, so page faults count as a loader's do. */
static uint8_t *dest(size_t total)
{
	void *p = mmap(NULL, total + 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap%s", "");
	return p;
}

static void run_raw(struct bench *b, int absolute)
{
	uint8_t *buf = dest(b->total), *p = buf;
	char path[4096];
	int dfd = open(b->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	for (size_t i = 0; i < b->n; i++) {
		int fd;
		if (absolute) {
			snprintf(path, sizeof(path), "%s/%s.myr", b->dir, b->names[i]);
			fd = open(path, O_RDONLY | O_CLOEXEC);
		} else {
			snprintf(path, sizeof(path), "%s.myr", b->names[i]);
			fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
		}
		if (fd < 0 || read(fd, p, b->sizes[i] + 1) != (ssize_t)b->sizes[i])
			die("raw read of %s failed", b->names[i]);
		close(fd);
		p += b->sizes[i];
	}
	close(dfd);
	munmap(buf, b->total + 4096);
}

static void run_cat(struct bench *b)
{
	char path[4096];
	uint8_t *buf = dest(b->total);
	int fd;

	snprintf(path, sizeof(path), "%s.cat", b->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, b->total + 1) != (ssize_t)b->total)
		die("cannot read %s (run gen first)", path);
	close(fd);
	munmap(buf, b->total + 4096);
}

static void run_fetcher(struct bench *b)
{
	const char *dirs[] = { b->dir };
	struct myr_fetch_config cfg = { .dirs = dirs, .ndirs = 1 };
	struct myr_error err = { 0 };
	struct myr_fetcher *f;
	const char *m = b->mode;

	cfg.nthreads = b->threads;
	if (!strcmp(m, "sync")) {
		cfg.io = MYR_IO_SYNC;
	} else if (!strcmp(m, "auto")) {
		cfg.io = MYR_IO_AUTO;
	} else {
		cfg.io = MYR_IO_URING;
		cfg.flags = strstr(m, "async") ? MYR_FETCH_F_ASYNC :
			    strstr(m, "inline") ? MYR_FETCH_F_INLINE : 0;
		if (strstr(m, "linked"))
			cfg.flags |= MYR_FETCH_F_LINKED;
	}
	if (myr_fetcher_init(&f, &cfg, &err) < 0)
		die("init: %s", err.msg);
	for (size_t i = 0; i < b->n; i++) {
		b->items[i].name = b->names[i];
		b->items[i].name_len = (uint32_t)strlen(b->names[i]);
		b->items[i].size_hint = b->hints ? b->sizes[i] : 0;
	}
	if (myr_fetcher_fetch(f, b->items, b->n) < 0)
		die("fetch failed%s", "");
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].status)
			die("fetch: %s", b->items[i].msg);
	myr_fetcher_close(f);
	myr_fetcher_exit(f);
}

static void evict(struct bench *b)
{
	char path[4096];
	for (size_t i = 0; i <= b->n; i++) {
		int fd;
		if (i < b->n)
			snprintf(path, sizeof(path), "%s/%s.myr", b->dir, b->names[i]);
		else
			snprintf(path, sizeof(path), "%s.cat", b->dir);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			fdatasync(fd);
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			close(fd);
		}
	}
}

static void run_once(struct bench *b)
{
	if (!strcmp(b->mode, "raw-dirfd"))
		run_raw(b, 0);
	else if (!strcmp(b->mode, "raw-abs"))
		run_raw(b, 1);
	else if (!strcmp(b->mode, "cat"))
		run_cat(b);
	else if (!strcmp(b->mode, "sync") || !strcmp(b->mode, "auto") ||
		 !strncmp(b->mode, "uring", 5))
		run_fetcher(b);
	else
		die("unknown mode %s", b->mode);
}

int main(int argc, char **argv)
{
	struct bench b = { .hints = 1 };
	int reps = 0, opt;

	if (argc >= 4 && !strcmp(argv[1], "gen"))
		return gen(argv[2], strtoul(argv[3], NULL, 10),
			   argc > 5 ? strtoul(argv[4], NULL, 10) : 1024,
			   argc > 5 ? strtoul(argv[5], NULL, 10) : 2048);
	if (argc < 2 || strcmp(argv[1], "run"))
		die("usage: fetchbench gen DIR N [MIN MAX] | run -d DIR -n N "
		    "-m MODE [-r REPS] [-t THREADS] [-H]%s", "");
	optind = 2;
	while ((opt = getopt(argc, argv, "d:n:m:r:t:Hc")) != -1) {
		switch (opt) {
		case 't': b.threads = (unsigned)atoi(optarg); break;
		case 'd': b.dir = optarg; break;
		case 'n': b.n = strtoul(optarg, NULL, 10); break;
		case 'm': b.mode = optarg; break;
		case 'r': reps = atoi(optarg); break;
		case 'H': b.hints = 0; break;
		case 'c': b.cold = 1; break;
		default: die("bad option%s", "");
		}
	}
	if (!b.dir || !b.mode || !b.n)
		die("-d, -n and -m are required%s", "");
	b.names = calloc(b.n, sizeof(*b.names));
	b.sizes = calloc(b.n, sizeof(*b.sizes));
	b.items = calloc(b.n, sizeof(*b.items));
	if (!b.names || !b.sizes || !b.items)
		die("out of memory%s", "");
	/* The sizes play the closure's size hints: one read, so that a
	 * single-run process (hyperfine, strace -c) is all fetch. */
	{
		char path[4096];
		int fd;
		snprintf(path, sizeof(path), "%s.sizes", b.dir);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, b.sizes, b.n * sizeof(*b.sizes)) !=
			      (ssize_t)(b.n * sizeof(*b.sizes)))
			die("cannot read %s (run gen first)", path);
		close(fd);
	}
	for (size_t i = 0; i < b.n; i++) {
		snprintf(b.names[i], sizeof(b.names[i]), "m%zu", i);
		b.total += b.sizes[i];
	}
	if (reps <= 0) {
		if (b.cold)
			evict(&b);
		run_once(&b);
		return 0;
	}
	double *t = calloc((size_t)reps, sizeof(*t));
	double *c = calloc((size_t)reps, sizeof(*c));
	run_once(&b);
	for (int i = 0; i < reps; i++) {
		double t0, c0;
		if (b.cold)
			evict(&b);
		t0 = now_us();
		c0 = cpu_us();
		run_once(&b);
		t[i] = now_us() - t0;
		c[i] = cpu_us() - c0;
	}
	qsort(t, (size_t)reps, sizeof(*t), cmp_double);
	qsort(c, (size_t)reps, sizeof(*c), cmp_double);
	printf("%s%s%s\t%zu\t%zu\t%.0f\t%.0f\t%.0f\n", b.mode,
	       b.hints ? "" : "-nohint", b.cold ? "-cold" : "", b.n, b.total, t[reps / 2], t[0],
	       c[reps / 2]);
	free(t);
	free(c);
	return 0;
}
