/* SPDX-License-Identifier: MIT */
/*
 * readbench - the lower bound: read a set of files into memory, no linking.
 *
 *   readbench -m MODE -d DIR -l LIST [-C CONCATENATED] [-r REPS [-c]] [-q QD]
 *
 * LIST has one "relative-path size" line per file (the sizes play the part
 * of Myriad's closure size hints: every file lands at a known offset of one
 * packed buffer, as the launcher's pool would have it).  Modes:
 *   seq        openat(dirfd) + read + close, one file after the other
 *   seq2       the same with openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS),
 *              which the launcher uses to stay inside the library directory
 *   abs        open(absolute path) + read + close: no directory fd
 *   threads    seq split over one thread per online CPU
 *   uring      io_uring, per file a linked openat -> read -> close on a
 *              direct descriptor, QD files in flight (default 1024)
 *   uring-wq   the same with IOSQE_ASYNC, pushing the opens to io-wq
 *              workers, which run on every core
 *   cat        one open + read + close of CONCATENATED, the files' bytes
 *              back to back (the floor for any one-file-per-module layout)
 *   mmap       mmap(MAP_POPULATE) of CONCATENATED
 * Each repetition reads into a freshly mapped buffer, so page faults on the
 * destination are counted, as they would be for a loader.
 *
 * Without -r: one run, silent, exit status 0 on success (benchrun times the
 * whole process).  With -r: one untimed warm-up run (skipped with -c),
 * then REPS timed runs in-process, dropping the page cache before each with
 * -c; prints "mode files bytes median_us min_us" tab-separated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct file_set {
	char **name;
	uint32_t *size;
	size_t *off;
	size_t count;
	size_t total;            /* bytes, with each file 8-aligned */
	const char *dir;
	int dirfd;
	unsigned char *arena;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "readbench: %s: %s\n", what, strerror(err));
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void load_list(struct file_set *fs, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die(path, errno);
	size_t cap = 1024;
	fs->name = malloc(cap * sizeof(*fs->name));
	fs->size = malloc(cap * sizeof(*fs->size));
	fs->off = malloc(cap * sizeof(*fs->off));
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		char *sp = strrchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		if (fs->count == cap) {
			cap *= 2;
			fs->name = realloc(fs->name, cap * sizeof(*fs->name));
			fs->size = realloc(fs->size, cap * sizeof(*fs->size));
			fs->off = realloc(fs->off, cap * sizeof(*fs->off));
		}
		if (!fs->name || !fs->size || !fs->off)
			die("list", ENOMEM);
		fs->name[fs->count] = strdup(line);
		fs->size[fs->count] = (uint32_t)strtoul(sp + 1, NULL, 10);
		fs->off[fs->count] = fs->total;
		fs->total += (fs->size[fs->count] + 7u) & ~(size_t)7;
		fs->count++;
	}
	fclose(f);
}

static void read_exact(int fd, unsigned char *dst, size_t len, const char *name)
{
	while (len > 0) {
		ssize_t n = read(fd, dst, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(name, n < 0 ? errno : EIO);
		dst += n;
		len -= (size_t)n;
	}
}

static void read_one_at(const struct file_set *fs, size_t i)
{
	int fd = openat(fs->dirfd, fs->name[i], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(fs->name[i], errno);
	read_exact(fd, fs->arena + fs->off[i], fs->size[i], fs->name[i]);
	close(fd);
}

static void mode_seq(struct file_set *fs)
{
	for (size_t i = 0; i < fs->count; i++)
		read_one_at(fs, i);
}

static void mode_seq2(struct file_set *fs)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	for (size_t i = 0; i < fs->count; i++) {
		int fd = (int)syscall(SYS_openat2, fs->dirfd, fs->name[i], &how, sizeof(how));
		if (fd < 0)
			die(fs->name[i], errno);
		read_exact(fd, fs->arena + fs->off[i], fs->size[i], fs->name[i]);
		close(fd);
	}
}

static void mode_abs(struct file_set *fs)
{
	char path[8192];
	for (size_t i = 0; i < fs->count; i++) {
		snprintf(path, sizeof(path), "%s/%s", fs->dir, fs->name[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die(path, errno);
		read_exact(fd, fs->arena + fs->off[i], fs->size[i], path);
		close(fd);
	}
}

struct thread_arg {
	struct file_set *fs;
	size_t first, step;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	for (size_t i = a->first; i < a->fs->count; i += a->step)
		read_one_at(a->fs, i);
	return NULL;
}

static void mode_threads(struct file_set *fs)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > 64)
		ncpu = 64;
	pthread_t tid[64];
	struct thread_arg arg[64];
	for (long t = 0; t < ncpu; t++) {
		arg[t] = (struct thread_arg){ fs, (size_t)t, (size_t)ncpu };
		if (t > 0 && pthread_create(&tid[t], NULL, thread_main, &arg[t]) != 0)
			die("pthread_create", EAGAIN);
	}
	thread_main(&arg[0]);
	for (long t = 1; t < ncpu; t++)
		pthread_join(tid[t], NULL);
}

static unsigned queue_depth = 1024;

static void mode_uring(struct file_set *fs, int async)
{
	struct io_uring ring;
	unsigned qd = queue_depth;
	int rc = io_uring_queue_init(qd * 4, &ring, 0);
	if (rc < 0)
		die("io_uring_queue_init", -rc);
	rc = io_uring_register_files_sparse(&ring, qd);
	if (rc < 0)
		die("io_uring_register_files_sparse", -rc);
	for (size_t first = 0; first < fs->count; first += qd) {
		size_t n = fs->count - first < qd ? fs->count - first : qd;
		for (size_t k = 0; k < n; k++) {
			size_t i = first + k;
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			/* Direct descriptors live in the ring, never in the fd
			 * table: O_CLOEXEC is meaningless there and rejected. */
			io_uring_prep_openat_direct(sqe, fs->dirfd, fs->name[i],
						    O_RDONLY, 0, (unsigned)k);
			sqe->flags |= IOSQE_IO_LINK | (async ? IOSQE_ASYNC : 0);
			sqe->user_data = i * 3;
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_read(sqe, (int)k, fs->arena + fs->off[i], fs->size[i], 0);
			sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
			sqe->user_data = i * 3 + 1;
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_close_direct(sqe, (unsigned)k);
			sqe->user_data = i * 3 + 2;
		}
		rc = io_uring_submit_and_wait(&ring, (unsigned)(n * 3));
		if (rc < 0)
			die("io_uring_submit_and_wait", -rc);
		for (size_t seen = 0; seen < n * 3; seen++) {
			struct io_uring_cqe *cqe;
			rc = io_uring_wait_cqe(&ring, &cqe);
			if (rc < 0)
				die("io_uring_wait_cqe", -rc);
			size_t i = cqe->user_data / 3, step = cqe->user_data % 3;
			if (cqe->res < 0)
				die(fs->name[i], -cqe->res);
			if (step == 1 && (uint32_t)cqe->res != fs->size[i])
				die(fs->name[i], EIO);
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	io_uring_queue_exit(&ring);
}

static const char *cat_path;

static int open_cat(size_t *size)
{
	int fd = open(cat_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(cat_path, errno);
	struct stat st;
	if (fstat(fd, &st) != 0)
		die(cat_path, errno);
	*size = (size_t)st.st_size;
	return fd;
}

static void mode_cat(struct file_set *fs)
{
	size_t size;
	int fd = open_cat(&size);
	if (size > fs->total)
		die(cat_path, EFBIG);
	read_exact(fd, fs->arena, size, cat_path);
	close(fd);
}

static void mode_mmap(struct file_set *fs)
{
	(void)fs;
	size_t size;
	int fd = open_cat(&size);
	void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap", errno);
	close(fd);
	munmap(p, size);
}

static void drop_caches(void)
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "3\n", 2) != 2) {
		printf("# cold page cache skipped: /proc/sys/vm/drop_caches: %s\n", strerror(errno));
		exit(77);
	}
	close(fd);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void run(struct file_set *fs, void (*fn)(struct file_set *))
{
	size_t len = fs->total ? fs->total : 1;
	fs->arena = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fs->arena == MAP_FAILED)
		die("mmap", errno);
	fn(fs);
	munmap(fs->arena, len);
}

static void mode_uring_linked(struct file_set *fs) { mode_uring(fs, 0); }
static void mode_uring_wq(struct file_set *fs) { mode_uring(fs, 1); }

static const struct {
	const char *name;
	void (*fn)(struct file_set *);
	int needs_cat;
} modes[] = {
	{ "seq", mode_seq, 0 },
	{ "seq2", mode_seq2, 0 },
	{ "abs", mode_abs, 0 },
	{ "threads", mode_threads, 0 },
	{ "uring", mode_uring_linked, 0 },
	{ "uring-wq", mode_uring_wq, 0 },
	{ "cat", mode_cat, 1 },
	{ "mmap", mode_mmap, 1 },
};

static void usage(void)
{
	fprintf(stderr, "usage: readbench -m MODE -d DIR -l LIST [-C FILE] [-r REPS [-c]] [-q QD]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mode = NULL, *list = NULL;
	struct file_set fs = { 0 };
	int reps = 0, cold = 0, opt;
	while ((opt = getopt(argc, argv, "m:d:l:C:r:cq:")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'd': fs.dir = optarg; break;
		case 'l': list = optarg; break;
		case 'C': cat_path = optarg; break;
		case 'r': reps = atoi(optarg); break;
		case 'c': cold = 1; break;
		case 'q': queue_depth = (unsigned)atoi(optarg); break;
		default: usage();
		}
	}
	if (!mode || !fs.dir || !list || reps < 0 || queue_depth < 1 || queue_depth > 8192)
		usage();
	int m = -1;
	for (size_t k = 0; k < sizeof(modes) / sizeof(modes[0]); k++)
		if (strcmp(mode, modes[k].name) == 0)
			m = (int)k;
	if (m < 0 || (modes[m].needs_cat && !cat_path))
		usage();

	load_list(&fs, list);
	fs.dirfd = open(fs.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs.dirfd < 0)
		die(fs.dir, errno);

	if (reps == 0) {
		run(&fs, modes[m].fn);
		return 0;
	}
	if (!cold)
		run(&fs, modes[m].fn);
	double *us = calloc((size_t)reps, sizeof(*us));
	if (!us)
		die("calloc", ENOMEM);
	for (int r = 0; r < reps; r++) {
		if (cold)
			drop_caches();
		double t0 = now_us();
		run(&fs, modes[m].fn);
		us[r] = now_us() - t0;
	}
	qsort(us, (size_t)reps, sizeof(*us), cmp_double);
	double median = reps % 2 ? us[reps / 2] : (us[reps / 2 - 1] + us[reps / 2]) / 2;
	printf("%s\t%zu\t%zu\t%.1f\t%.1f\n", mode, fs.count, fs.total, median, us[0]);
	return 0;
}
