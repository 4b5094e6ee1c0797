/* SPDX-License-Identifier: MIT */
/*
 * lib/load/fetch.c - the fetcher: library directories, buffers, the verdict on
 * each file's bytes, the slow path that looks closer at odd candidates, and
 * the sync (plain syscall) path.  The io_uring path is lib/load/fetch_uring.c.
 *
 * The fast path never stats: a file's type and size are only examined when
 * its bytes are not a whole module (myri_fetch_judge() says -1), because a valid
 * closure is the case that must be fast, and every odd case (a directory, a
 * FIFO, a device, a truncated file) shows up as a failed, short or rejected
 * read anyway.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <myriad/fetch.h>
#include <myriad/module.h>
#include "base/cpus.h"
#include "load/fetch_internal.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* ------------------------------------------------------------------ */
/* Arena                                                               */
/* ------------------------------------------------------------------ */

struct fetch_arena_chunk {
	struct fetch_arena_chunk *next;
	size_t size;                /* mapped bytes, this header included */
	size_t used;                /* bytes handed out, header included */
};

#define ARENA_ALIGN        16u
#define ARENA_HDR          ((sizeof(struct fetch_arena_chunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))
#define ARENA_CHUNK_MIN    (1u << 20)

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * Transparent huge pages for big batches: faulting in 4 KiB pages one by one
 * costs more than the reads themselves on some machines (several us each,
 * ~3,600 for 10,000 files of 1.5 KB), while one 2 MiB page costs about as
 * much as a few small ones.  Only for reservations the caller will fill
 * densely, so memory stays near the sum of the file sizes: at most the
 * last, partly used huge page is over.
 */
#define ARENA_HUGE         (2u << 20)
#define ARENA_HUGE_MIN     (4u << 20)

static int arena_grow(struct fetch_arena *a, size_t size, int dense)
{
	size_t want = align_up(size + ARENA_HDR, 4096), map;
	int huge = dense && want >= ARENA_HUGE_MIN;
	struct fetch_arena_chunk *c;
	uint8_t *p;

	if (want < ARENA_CHUNK_MIN)
		want = ARENA_CHUNK_MIN;
	if (huge)
		want = align_up(want, ARENA_HUGE);
	map = huge ? want + ARENA_HUGE : want;
	/* Pages are only touched where reads land, so an over-sized chunk
	 * costs address space, not memory. */
	p = mmap(NULL, map, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	if (huge) {
		/* Trim to a 2 MiB-aligned range: only aligned ranges can be
		 * backed by huge pages. */
		size_t head = align_up((uintptr_t)p, ARENA_HUGE) - (uintptr_t)p;
		if (head)
			munmap(p, head);
		if (ARENA_HUGE - head)
			munmap(p + head + want, ARENA_HUGE - head);
		p += head;
#ifdef MADV_HUGEPAGE
		madvise(p, want, MADV_HUGEPAGE);   /* a hint: failure is fine */
#endif
	}
	c = (struct fetch_arena_chunk *)p;
	c->next = a->head;
	c->size = want;
	c->used = ARENA_HDR;
	a->head = c;
	a->mapped += want;
	return 0;
}

int myri_fetch_arena_reserve(struct fetch_arena *a, size_t size, int dense)
{
	if (size > SIZE_MAX / 4)
		return -ENOMEM;
	if (a->head && a->head->size - a->head->used >= size)
		return 0;
	return arena_grow(a, size, dense);
}

/* First-read bytes of a batch's pending items; *dense: all have hints. */
static size_t batch_bytes(const struct myr_fetch_item *items, size_t n,
			  int *dense)
{
	size_t total = 0;

	*dense = 1;
	for (size_t i = 0; i < n; i++) {
		if (items[i].status != FETCH_PENDING)
			continue;
		total += align_up(myri_fetch_read_size(&items[i]), ARENA_ALIGN);
		*dense &= items[i].size_hint != 0;
	}
	return total;
}

int myri_fetch_reserve_batch(struct myr_fetcher *f, const struct myr_fetch_item *items,
			size_t n)
{
	int dense;
	size_t total = batch_bytes(items, n, &dense);

	return total ? myri_fetch_arena_reserve(&f->arena, total, dense) : 0;
}

void *myri_fetch_arena_alloc(struct fetch_arena *a, size_t size)
{
	void *p;

	size = align_up(size ? size : 1, ARENA_ALIGN);
	if (myri_fetch_arena_reserve(a, size, 0) < 0)
		return NULL;
	p = (uint8_t *)a->head + a->head->used;
	a->head->used += size;
	return p;
}

/* Give back the tail of the most recent allocation p (size bytes asked),
 * keeping len bytes: the sync path reads one file at a time, so its
 * default-sized buffers shrink to the file. */
static void arena_trim(struct fetch_arena *a, void *p, size_t size, size_t len)
{
	struct fetch_arena_chunk *c = a->head;
	size = align_up(size ? size : 1, ARENA_ALIGN);
	len = align_up(len ? len : 1, ARENA_ALIGN);
	if (c && (uint8_t *)p + size == (uint8_t *)c + c->used && len <= size)
		c->used -= size - len;
}

static void arena_free(struct fetch_arena *a)
{
	struct fetch_arena_chunk *c = a->head, *next;
	for (; c; c = next) {
		next = c->next;
		munmap(c, c->size);
	}
	a->head = NULL;
	a->mapped = 0;
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

void myri_fetch_trace(const struct myr_fetcher *f, const char *fmt, ...)
{
	char line[MYR_ERROR_MSG_MAX + 4096];
	va_list ap;

	if (!f->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	f->trace(f->trace_opaque, line);
}

const char *myr_file_type_name(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:  return "a directory";
	case S_IFIFO:  return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFCHR:  return "a character device";
	case S_IFBLK:  return "a block device";
	case S_IFLNK:  return "a symlink (not followed: the kernel lacks openat2)";
	default:       return "not a regular file";
	}
}

static void reject(struct myr_fetcher *f, struct myr_fetch_item *item, int dir,
		   const char *path, int code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void reject(struct myr_fetcher *f, struct myr_fetch_item *item, int dir,
		   const char *path, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(item->err.msg, sizeof(item->err.msg), fmt, ap);
	va_end(ap);
	item->err.code = code;
	item->status = code;
	item->dir = dir;
	item->data = NULL;
	item->len = 0;
	myri_fetch_trace(f, "%s/%s: rejected: %s", f->dirs[dir], path, item->err.msg);
}

void myri_fetch_done(struct myr_fetcher *f, struct myr_fetch_item *item, int dir,
		const uint8_t *data, size_t len)
{
	item->status = 0;
	item->dir = dir;
	item->data = data;
	item->len = len;
	item->err.code = 0;
	item->err.msg[0] = '\0';
	f->stats.files++;
	f->stats.bytes += len;
	if (f->trace)
		myri_fetch_trace(f, "%s/%.*s.myr: found, %zu bytes", f->dirs[dir],
			    (int)item->name_len, item->name, len);
}

void myri_fetch_not_found(struct myr_fetcher *f, struct myr_fetch_item *item)
{
	size_t off;
	char *msg = item->err.msg;

	off = (size_t)snprintf(msg, sizeof(item->err.msg), "not found in ");
	for (unsigned d = 0; d < f->ndirs && off < sizeof(item->err.msg); d++)
		off += (size_t)snprintf(msg + off, sizeof(item->err.msg) - off,
					"%s%s", d ? ", " : "", f->dirs[d]);
	item->err.code = -ENOENT;
	item->status = -ENOENT;
	item->dir = -1;
	item->data = NULL;
	item->len = 0;
}

int myri_fetch_charge(struct myr_fetcher *f, struct myr_fetch_item *item, int dir,
		 uint64_t len)
{
	uint64_t was = __atomic_load_n(f->charged, __ATOMIC_RELAXED), now;

	/* A compare-and-swap loop, so the total never passes the budget even
	 * for a moment: a file either fits whole or is refused. */
	do {
		now = was + len;
		if (len > f->max_bytes || now > f->max_bytes) {
			myr_error_set(&item->err, -EDQUOT, "over MYR_LOAD_BYTES_MAX: "
				      "module files would total %llu bytes, "
				      "limit %llu", (unsigned long long)was +
				      (unsigned long long)len,
				      (unsigned long long)f->max_bytes);
			item->status = -EDQUOT;
			item->dir = dir;
			item->data = NULL;
			item->len = len;        /* what it would have added */
			return -1;
		}
	} while (!__atomic_compare_exchange_n(f->charged, &was, now, 0,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Names and sizes                                                     */
/* ------------------------------------------------------------------ */

int myri_fetch_item_path(struct myr_fetch_item *item, char path[FETCH_PATH_MAX])
{
	const char *why = NULL;

	if (!item->name || item->name_len == 0)
		why = "empty module name";
	else if (item->name_len > MYR_NAME_MAX)
		why = "module name too long";
	else if (memchr(item->name, '/', item->name_len))
		why = "module name contains '/'";
	else if (memchr(item->name, '\0', item->name_len))
		why = "module name contains a NUL byte";
	else if ((item->name_len == 1 && item->name[0] == '.') ||
		 (item->name_len == 2 && item->name[0] == '.' && item->name[1] == '.'))
		why = "module name is '.' or '..'";
	if (why) {
		myr_error_set(&item->err, -EINVAL, "%s", why);
		item->status = -EINVAL;
		item->dir = -1;
		return -EINVAL;
	}
	memcpy(path, item->name, item->name_len);
	memcpy(path + item->name_len, ".myr", 5);
	return 0;
}

/* A hint is read from a module file, so it is never trusted with more than
 * this much memory before the file's own header has been seen. */
#define FETCH_HINT_MAX     (1u << 20)

size_t myri_fetch_read_size(const struct myr_fetch_item *item)
{
	size_t size = FETCH_DEFAULT_READ;

	/* One spare byte beyond the hint turns an exact-size file into a
	 * short read, proving the end of file without a second read. */
	if (item->size_hint)
		size = align_up((size_t)(item->size_hint > FETCH_HINT_MAX ?
					 FETCH_HINT_MAX : item->size_hint) + 1, 64);
	return size < FETCH_MIN_READ ? FETCH_MIN_READ : size;
}

/* ------------------------------------------------------------------ */
/* The verdict on a read                                               */
/* ------------------------------------------------------------------ */

/* myri_fetch_judge() charged the header's size before the second read;
 * whatever ends that read without myri_fetch_done() gives it back, because the
 * slow path charges what it finds. */
void myri_fetch_uncharge_second(struct myr_fetcher *f, size_t first, size_t need)
{
	__atomic_fetch_sub(f->charged, (uint64_t)(first + need - 1),
			   __ATOMIC_RELAXED);
}

int myri_fetch_judge(struct myr_fetcher *f, struct myr_fetch_item *item, int dir,
		uint8_t *buf, size_t got, size_t asked, uint8_t **nbuf,
		size_t *need)
{
	size_t header_off, total;

	if (myr_module_probe(buf, got, &header_off, &total, NULL) < 0)
		return -1;
	if (total == got && got < asked) {
		if (myri_fetch_charge(f, item, dir, got) == 0)
			myri_fetch_done(f, item, dir, buf, got);
		return 0;
	}
	/* Truncated, longer than its header, or a short read that may not be
	 * the end of the file: all rare, all for the slow path. */
	if (total <= got || got < asked || total > FETCH_HINT_MAX)
		return -1;
	/* Charged before the rest is read: the header's size is the file's
	 * if the second read proves it. */
	if (myri_fetch_charge(f, item, dir, total) < 0)
		return 0;
	*nbuf = myri_fetch_arena_alloc(&f->arena, total + 1);
	if (!*nbuf) {
		myri_fetch_uncharge_second(f, got, total - got + 1);
		return -1;
	}
	memcpy(*nbuf, buf, got);
	*need = total - got + 1;
	f->stats.extra_reads++;
	return 1;
}

int myri_fetch_judge_second(struct myr_fetcher *f, struct myr_fetch_item *item,
		       int dir, uint8_t *nbuf, size_t first, size_t got,
		       size_t need)
{
	if (got + 1 != need) {
		myri_fetch_uncharge_second(f, first, need);
		return -1;
	}
	myri_fetch_done(f, item, dir, nbuf, first + got);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Opening beneath a directory                                         */
/* ------------------------------------------------------------------ */

static int open_beneath(struct myr_fetcher *f, int dirfd, const char *path,
			int flags)
{
	long fd;

	if (!f->no_openat2) {
		struct open_how how = {
			.flags = (uint64_t)flags,
			.resolve = FETCH_RESOLVE,
		};
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS)
			return -errno;
		f->no_openat2 = 1;
	}
	/* The name has no '/', so only a symlink as the last component could
	 * lead out of the directory; O_NOFOLLOW refuses every symlink. */
	fd = openat(dirfd, path, flags | O_NOFOLLOW);
	return fd >= 0 ? (int)fd : -errno;
}

int myri_fetch_open_failed(struct myr_fetcher *f, struct myr_fetch_item *item,
		      int dir, const char *path, int res)
{
	switch (res) {
	case -ENOENT:
		myri_fetch_trace(f, "%s/%s: not found", f->dirs[dir], path);
		return 1;
	case -EXDEV:
		reject(f, item, dir, path, -EXDEV,
		       "escapes the library directory (a symlink leading "
		       "outside it)");
		return 0;
	case -ELOOP:
		if (f->no_openat2)
			reject(f, item, dir, path, -ELOOP, "is a symlink (not "
			       "followed: the kernel lacks openat2)");
		else
			reject(f, item, dir, path, -ELOOP, "is a symlink loop "
			       "or a magic link");
		return 0;
	case -EACCES:
	case -EPERM:
		reject(f, item, dir, path, res, "permission denied");
		return 0;
	case -ENXIO:        /* a socket, or a device without its driver */
	case -ENODEV:
	case -EAGAIN:
		return -1;
	default:
		reject(f, item, dir, path, res, "cannot be opened: %s",
		       strerror(-res));
		return 0;
	}
}

static uint8_t *alloc_or_reject(struct myr_fetcher *f,
				struct myr_fetch_item *item, int dir,
				const char *path, size_t size)
{
	uint8_t *buf = myri_fetch_arena_alloc(&f->arena, size);
	if (!buf)
		reject(f, item, dir, path, -ENOMEM, "out of memory for %zu "
		       "bytes", size);
	return buf;
}

/* Read up to size bytes at offset off, looping over short reads, so only
 * the end of file (or an error) makes the result shorter than size. */
static ssize_t read_full(int fd, uint8_t *buf, size_t size, off_t off)
{
	size_t got = 0;

	while (got < size) {
		ssize_t r = pread(fd, buf + got, size - got, off + (off_t)got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return got ? (ssize_t)got : -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static ssize_t read_once(int fd, uint8_t *buf, size_t size, off_t off)
{
	ssize_t r;

	do
		r = pread(fd, buf, size, off);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

void myri_fetch_slow_path(struct myr_fetcher *f, struct myr_fetch_item *item,
		     int dir, const char *path)
{
	struct stat st;
	struct myr_error perr = { 0 };
	size_t header_off, total, size;
	uint8_t *buf;
	ssize_t got;
	int fd, r;

	f->stats.slow_path++;
	/* O_PATH first: it learns the type without opening a device or
	 * waiting on a FIFO. */
	fd = open_beneath(f, f->dirfds[dir], path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (myri_fetch_open_failed(f, item, dir, path, fd) != 0)
			reject(f, item, dir, path, fd, "cannot be opened: %s",
			       strerror(-fd));
		return;
	}
	r = fstat(fd, &st) < 0 ? -errno : 0;
	close(fd);
	if (r < 0) {
		reject(f, item, dir, path, r, "cannot be examined: %s",
		       strerror(-r));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		reject(f, item, dir, path, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
		       "is %s", myr_file_type_name(st.st_mode));
		return;
	}

	fd = open_beneath(f, f->dirfds[dir], path, FETCH_OPEN_FLAGS);
	if (fd < 0) {
		if (myri_fetch_open_failed(f, item, dir, path, fd) != 0)
			reject(f, item, dir, path, fd, "cannot be opened: %s",
			       strerror(-fd));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		reject(f, item, dir, path, -EINVAL, "changed while being read");
		goto out;
	}
	if (st.st_size > (off_t)MYR_FILE_MAX) {
		reject(f, item, dir, path, -EFBIG, "too large: %lld bytes, "
		       "limit %u", (long long)st.st_size, MYR_FILE_MAX);
		goto out;
	}
	if (myri_fetch_charge(f, item, dir, (uint64_t)st.st_size) < 0) {
		myri_fetch_trace(f, "%s/%s: rejected: %s", f->dirs[dir], path,
			    item->err.msg);
		goto out;
	}
	/* One byte more than fstat says, to notice a file that grew. */
	size = (size_t)st.st_size + 1;
	buf = alloc_or_reject(f, item, dir, path, size);
	if (!buf)
		goto out;
	got = read_full(fd, buf, size, 0);
	if (got < 0) {
		reject(f, item, dir, path, (int)got, "read failed: %s",
		       strerror((int)-got));
		goto out;
	}
	r = myr_module_probe(buf, (size_t)got, &header_off, &total, &perr);
	if (r == -ENODATA) {
		reject(f, item, dir, path, -EBADMSG, "truncated: %zd bytes, "
		       "too short for a module header", got);
	} else if (r < 0) {
		reject(f, item, dir, path, r, "%s", perr.msg[0] ? perr.msg :
		       "not a Myriad module");
	} else if (total > (size_t)got) {
		reject(f, item, dir, path, -EBADMSG, "truncated: header says "
		       "%zu bytes, file has %zd", total, got);
	} else if (total < (size_t)got) {
		reject(f, item, dir, path, -EBADMSG, "header says %zu bytes, "
		       "file has %zd", total, got);
	} else {
		arena_trim(&f->arena, buf, size, (size_t)got);
		myri_fetch_done(f, item, dir, buf, (size_t)got);
	}
out:
	close(fd);
}

/* ------------------------------------------------------------------ */
/* Sync path                                                           */
/* ------------------------------------------------------------------ */

#ifndef RESOLVE_CACHED
#define RESOLVE_CACHED 0x20
#endif

/*
 * The fast path's open.  A lane beside or holding a ring (cold_probe)
 * first asks for a lookup the dentry cache can answer alone
 * (RESOLVE_CACHED, Linux 5.12): -EAGAIN is a miss, and enough of them
 * mean the directory is cold (went_cold): a helper stops after its run
 * and the ring lane turns to its ring (ring_lane_batch()), which keeps
 * many cold reads in flight where a lane would wait for each.
 */
/*
 * Cold means misses (opens or reads the caches could not serve) worth
 * FETCH_COLD_MISSES among a lane's FETCH_COLD_WINDOW consecutive items,
 * not one: a hot directory still has the odd page reclaimed (at 100,000
 * modules here, 1-32 first reads per launch, in clusters), and a few
 * blocking reads cost far less than leaving the rest of the batch to the
 * ring alone.  An open miss weighs 4 reads: a cold dentry cache (after
 * drop_caches) hands over after 4 files, a page cache alone after 16.
 */
#define FETCH_COLD_MISSES  16u
#define FETCH_COLD_WINDOW  128u
#define FETCH_COLD_OPEN    4u
#define FETCH_COLD_READ    1u

static void cold_miss(struct myr_fetcher *f, unsigned weight)
{
	f->cold_misses += weight;
	if (f->cold_misses >= FETCH_COLD_MISSES)
		f->went_cold = 1;
}

static int open_fast(struct myr_fetcher *f, int dirfd, const char *path)
{
	if (f->cold_probe && !f->no_openat2) {
		struct open_how how = {
			.flags = (uint64_t)FETCH_OPEN_FLAGS,
			.resolve = FETCH_RESOLVE | RESOLVE_CACHED,
		};
		long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno == EAGAIN)
			cold_miss(f, FETCH_COLD_OPEN);
		else if (errno == EINVAL || errno == ENOSYS)
			f->cold_probe = 0;   /* no RESOLVE_CACHED here */
		else
			return -errno;
	}
	return open_beneath(f, dirfd, path, FETCH_OPEN_FLAGS);
}

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

/*
 * The fast path's first read.  A lane beside or holding a ring asks for
 * pages already cached (RWF_NOWAIT): -EAGAIN means they are not (a hot
 * dentry cache over a dropped page cache), so the lane counts a miss as
 * for an open, then reads anyway.  A file that refuses the flag is read
 * plainly, and the lane stops asking.
 */
static ssize_t read_first(struct myr_fetcher *f, int fd, uint8_t *buf,
			  size_t size)
{
	if (f->cold_probe && !f->nowait_refused) {
		struct iovec iov = { .iov_base = buf, .iov_len = size };
		long r;
		do
			r = syscall(SYS_preadv2, fd, &iov, 1, 0L, 0L, RWF_NOWAIT);
		while (r < 0 && errno == EINTR);
		if (r >= 0)
			return r;
		if (errno == EAGAIN)
			cold_miss(f, FETCH_COLD_READ);
		else if (errno == EOPNOTSUPP || errno == EINVAL ||
			 errno == ENOSYS)
			f->nowait_refused = 1;
		else
			return -errno;
	}
	return read_once(fd, buf, size, 0);
}

static void sync_one(struct myr_fetcher *f, struct myr_fetch_item *item,
		     const char *path, int dir)
{
	size_t asked = myri_fetch_read_size(item), need = 0;
	uint8_t *buf, *nbuf = NULL;
	ssize_t got, got2;
	int fd, v;

	f->stats.opens++;
	fd = open_fast(f, f->dirfds[dir], path);
	if (fd < 0) {
		v = myri_fetch_open_failed(f, item, dir, path, fd);
		if (v < 0)
			myri_fetch_slow_path(f, item, dir, path);
		else if (v > 0)
			item->status = FETCH_PENDING;   /* next directory */
		return;
	}
	buf = alloc_or_reject(f, item, dir, path, asked);
	if (!buf)
		goto out;
	/* One read: on a regular file only the end makes it short, and if
	 * anything else did, the probe or the slow path notices. */
	got = read_first(f, fd, buf, asked);
	v = got < 0 ? -1 : myri_fetch_judge(f, item, dir, buf, (size_t)got, asked,
				       &nbuf, &need);
	if (v == 0) {
		arena_trim(&f->arena, buf, asked, (size_t)got);
	} else if (v > 0) {
		got2 = read_once(fd, nbuf + got, need, got);
		if (got2 < 0)
			myri_fetch_uncharge_second(f, (size_t)got, need);
		if (got2 < 0 || myri_fetch_judge_second(f, item, dir, nbuf,
						   (size_t)got, (size_t)got2,
						   need) < 0)
			v = -1;
	}
	if (v < 0) {
		close(fd);
		myri_fetch_slow_path(f, item, dir, path);
		return;
	}
out:
	close(fd);
}

int myri_fetch_sync_try(struct myr_fetcher *f, struct myr_fetch_item *item, int dir)
{
	char path[FETCH_PATH_MAX];

	myri_fetch_item_path(item, path);
	if (f->trace)
		myri_fetch_trace(f, "trying %s/%s", f->dirs[dir], path);
	sync_one(f, item, path, dir);
	return item->status == FETCH_PENDING;
}

static void sync_batch(struct myr_fetcher *f, struct myr_fetch_item *items,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct myr_fetch_item *item = &items[i];
		/* The ring lane found the directory cold: the ring reads the
		 * items left (see ring_lane_batch()). */
		if ((f->ring || f->ring_deferred) && f->went_cold)
			return;
		if (i % FETCH_COLD_WINDOW == 0)
			f->cold_misses = 0;
		if (item->status != FETCH_PENDING)
			continue;
		for (unsigned d = 0; d < f->ndirs; d++)
			if (!myri_fetch_sync_try(f, item, (int)d))
				break;
		if (item->status == FETCH_PENDING)
			myri_fetch_not_found(f, item);
	}
}

/*
 * MYR_IO_AUTO: the ring is created here, by the ring lane (the thread that
 * will issue on it), the first time a batch turns out cold, so a hot load
 * never pays for io_uring_setup, its registrations and its mappings.  A
 * ring that cannot be created leaves the fetcher in sync mode, saying why
 * in the stats' note, as init did before.  -errno in that case.
 */
static int ring_create_late(struct myr_fetcher *f)
{
	struct myr_error uerr = { 0 };
	int r;

	f->ring_deferred = 0;
	f->stats.note[0] = '\0';
	r = myri_fetch_uring_init(f, &uerr);
	if (r == 0) {
		f->io = MYR_IO_URING;
	} else {
		f->io = MYR_IO_SYNC;
		f->cold_probe = 0;
		snprintf(f->stats.note, sizeof(f->stats.note), "sync: %.150s",
			 uerr.msg);
	}
	f->stats.io = f->io;
	return r;
}

/*
 * The ring lane's run.  While the directory is hot it reads with plain
 * syscalls like the helpers, since a ring's requests all complete inline
 * then and cost as much or more per file; once opens the dentry cache
 * cannot answer, or reads of pages it does not hold, set went_cold
 * (cold_miss()), from the next item on (this batch and every later one) the ring reads, keeping
 * many cold reads in flight.  FETCH_F_RING_ONLY and FETCH_F_LANES_COLD
 * (tests) and a kernel without RESOLVE_CACHED (no cold_probe) keep the
 * ring from the start.
 */
static int ring_lane_batch(struct myr_fetcher *f, struct myr_fetch_item *items,
			   size_t n)
{
	if (f->cold_probe && !f->went_cold && !f->no_openat2 &&
	    !(f->flags & (FETCH_F_RING_ONLY | FETCH_F_LANES_COLD))) {
		sync_batch(f, items, n);
		if (!f->went_cold)
			return 0;
	}
	if (!f->ring && ring_create_late(f) < 0) {
		sync_batch(f, items, n);   /* sync from now on */
		return 0;
	}
	return myri_fetch_uring_batch(f, items, n);
}

/* ------------------------------------------------------------------ */
/* Lanes                                                               */
/* ------------------------------------------------------------------ */

/* Items a lane takes at a time: small enough that lanes finish together
 * (a lane whose CPU is busy takes fewer runs), large enough that the
 * shared counter is touched rarely and a ring lane fills its queue. */
#define LANE_RUN 128u
#define LANE_RUN_COLD 2048u

struct lane_work {
	struct myr_fetch_item *items;
	size_t n;
	size_t next;                /* atomic: first item no lane has taken */
	int failed;                 /* atomic: a lane's first -errno */
	size_t share;               /* bytes each lane reserves up front */
	int dense;
	int cold;                   /* atomic: a helper found the directory
	                               cold; the ring lane takes long runs */
};

struct lane {
	struct myr_fetcher f;       /* a copy of the fetcher: its own arena
	                               and statistics, no ring, the same
	                               directories and budget */
	struct lane_work *work;
	pthread_t thread;
	int result;
};

static void call_on_item(struct myr_fetcher *f, struct myr_fetch_item *items,
			 size_t first, size_t n)
{
	if (f->on_item)
		for (size_t i = first; i < first + n; i++)
			f->on_item(f->on_item_opaque, i, &items[i]);
}

/* Take runs of items until none are left.  f is the lane's fetcher. */
static int lane_loop(struct myr_fetcher *f, struct lane_work *w)
{
	/* A lane's expected share in one reservation: one chunk (with huge
	 * pages when large) instead of one per run; a hint only, since runs
	 * reserve what they need anyway. */
	if (w->share)
		myri_fetch_arena_reserve(&f->arena, w->share, w->dense);
	for (;;) {
		/* Cold, a ring keeps as many reads in flight as its runs are
		 * long: then the longest runs a ring takes at once. */
		int cold = __atomic_load_n(&w->cold, __ATOMIC_RELAXED);
		int ring_lane = f->ring || f->ring_deferred;
		size_t run = ring_lane && cold ? LANE_RUN_COLD : LANE_RUN;
		size_t first = __atomic_fetch_add(&w->next, run,
						  __ATOMIC_RELAXED), n;
		int r = 0;

		if (first >= w->n || __atomic_load_n(&w->failed, __ATOMIC_RELAXED))
			return 0;
		n = w->n - first < run ? w->n - first : run;
		/* A helper found the directory cold: so is it for the ring. */
		if (ring_lane && cold)
			f->went_cold = 1;
		if (myri_fetch_reserve_batch(f, w->items + first, n) < 0)
			r = -ENOMEM;
		else if (ring_lane)
			r = ring_lane_batch(f, w->items + first, n);
		else
			sync_batch(f, w->items + first, n);
		if (r < 0) {
			int zero = 0;
			__atomic_compare_exchange_n(&w->failed, &zero, r, 0,
						    __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED);
			return r;
		}
		call_on_item(f, w->items, first, n);
		if (f->went_cold || (f->cold_probe &&
				     (f->flags & FETCH_F_LANES_COLD))) {
			/* The ring lane takes the rest, in long runs. */
			__atomic_store_n(&w->cold, 1, __ATOMIC_RELAXED);
			if (f->helper)
				return 0;
		}
	}
}

static void *lane_main(void *arg)
{
	struct lane *ln = arg;
	ln->result = lane_loop(&ln->f, ln->work);
	return NULL;
}

/* Give a finished lane's buffers and counts to the fetcher.  Its chunks go
 * behind the fetcher's current one, which stays the one being filled. */
static void lane_merge(struct myr_fetcher *f, struct lane *ln)
{
	struct fetch_arena_chunk *c = ln->f.arena.head, *last;

	if (c) {
		for (last = c; last->next; last = last->next)
			;
		if (f->arena.head) {
			last->next = f->arena.head->next;
			f->arena.head->next = c;
		} else {
			f->arena.head = c;
		}
		f->arena.mapped += ln->f.arena.mapped;
	}
	f->no_openat2 |= ln->f.no_openat2;
	f->stats.files += ln->f.stats.files;
	f->stats.bytes += ln->f.stats.bytes;
	f->stats.opens += ln->f.stats.opens;
	f->stats.extra_reads += ln->f.stats.extra_reads;
	f->stats.slow_path += ln->f.stats.slow_path;
	f->stats.submits += ln->f.stats.submits;
	f->stats.ring_opens += ln->f.stats.ring_opens;
}

/* Run the batch on the calling thread and up to nlanes - 1 helpers; every
 * helper is joined before this returns. */
static int lanes_batch(struct myr_fetcher *f, struct myr_fetch_item *items,
		       size_t n, unsigned nlanes)
{
	struct lane_work w = { .items = items, .n = n };
	size_t total = batch_bytes(items, n, &w.dense);
	struct lane helpers[MYR_FETCH_LANES_MAX - 1];
	unsigned started = 0, lanes;
	pthread_attr_t attr;
	int r, have_attr;

	/* Small stacks: a lane's deepest call is a message's vsnprintf and
	 * the caller's on_item, never recursion.  Failure leaves defaults. */
	w.share = total / nlanes + total / 8;
	have_attr = pthread_attr_init(&attr) == 0;
	if (have_attr)
		pthread_attr_setstacksize(&attr, 256u << 10);
	/* Every copy before any thread runs: a running lane writes the
	 * budget inside *f. */
	for (unsigned k = 0; k + 1 < nlanes; k++) {
		struct lane *ln = &helpers[k];
		ln->f = *f;
		ln->f.ring = NULL;
		ln->f.ring_deferred = 0;
		ln->f.helper = 1;
		ln->f.cold_probe = f->ring || f->ring_deferred;
		ln->f.went_cold = 0;
		ln->f.cold_misses = 0;
		ln->f.arena.head = NULL;
		ln->f.arena.mapped = 0;
		memset(&ln->f.stats, 0, sizeof(ln->f.stats));
		ln->work = &w;
		ln->result = 0;
	}
	for (unsigned k = 0; k + 1 < nlanes; k++) {
		if (pthread_create(&helpers[k].thread, have_attr ? &attr : NULL,
				   lane_main, &helpers[k]) != 0)
			break;      /* the lanes that exist take its share */
		started++;
	}
	if (have_attr)
		pthread_attr_destroy(&attr);
	r = lane_loop(f, &w);
	for (unsigned k = 0; k < started; k++) {
		pthread_join(helpers[k].thread, NULL);
		lane_merge(f, &helpers[k]);
		if (r == 0)
			r = helpers[k].result;
	}
	lanes = started + 1;
	if (lanes > f->stats.lanes)
		f->stats.lanes = lanes;
	return r;
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

static void close_dirs(struct myr_fetcher *f)
{
	for (unsigned d = 0; d < f->ndirs; d++) {
		if (f->dirfds[d] >= 0)
			close(f->dirfds[d]);
		f->dirfds[d] = -1;
	}
}

static void fetcher_free(struct myr_fetcher *f)
{
	close_dirs(f);
	for (unsigned d = 0; d < f->ndirs; d++)
		free(f->dirs[d]);
	free(f->dirs);
	free(f->dirfds);
	arena_free(&f->arena);
	free(f);
}

int myr_fetcher_init(struct myr_fetcher **out, const struct myr_fetch_config *cfg,
		     struct myr_error *err)
{
	int saved_errno = errno, r = 0;
	struct myr_fetcher *f;

	*out = NULL;
	if (!cfg || !cfg->dirs || cfg->ndirs == 0)
		return myr_error_set(err, -EINVAL, "no library directory");
	if (cfg->io != MYR_IO_AUTO && cfg->io != MYR_IO_URING &&
	    cfg->io != MYR_IO_SYNC)
		return myr_error_set(err, -EINVAL, "unknown io mode %d",
				     (int)cfg->io);
	f = calloc(1, sizeof(*f));
	if (!f)
		return myr_error_set(err, -ENOMEM, "out of memory");
	f->ndirs = cfg->ndirs;
	f->flags = cfg->flags;
	f->nlanes = cfg->nthreads ? cfg->nthreads : myr_usable_cpus();
	if (f->nlanes > MYR_FETCH_LANES_MAX)
		f->nlanes = MYR_FETCH_LANES_MAX;
	if (f->nlanes < 1)
		f->nlanes = 1;
	f->max_bytes = cfg->max_bytes && cfg->max_bytes < MYR_LOAD_BYTES_MAX ?
		       cfg->max_bytes : MYR_LOAD_BYTES_MAX;
	f->charged = &f->charged_bytes;
	f->on_item = cfg->on_item;
	f->on_item_opaque = cfg->on_item_opaque;
	f->stats.lanes = 1;
	f->trace = cfg->trace;
	f->trace_opaque = cfg->trace_opaque;
	f->dirfds = malloc(sizeof(*f->dirfds) * cfg->ndirs);
	f->dirs = calloc(cfg->ndirs, sizeof(*f->dirs));
	if (!f->dirfds || !f->dirs) {
		free(f->dirfds);
		free(f->dirs);
		free(f);
		errno = saved_errno;
		return myr_error_set(err, -ENOMEM, "out of memory");
	}
	for (unsigned d = 0; d < cfg->ndirs; d++)
		f->dirfds[d] = -1;
	for (unsigned d = 0; d < cfg->ndirs; d++) {
		const char *dir = cfg->dirs[d];
		if (!dir || !dir[0]) {
			r = myr_error_set(err, -EINVAL, "library directory %u "
					  "is empty", d);
			goto fail;
		}
		f->dirs[d] = strdup(dir);
		if (!f->dirs[d]) {
			r = myr_error_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		f->dirfds[d] = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (f->dirfds[d] < 0) {
			r = -errno;
			myr_error_set(err, r, "cannot open library directory "
				      "%s: %s", dir, strerror(-r));
			goto fail;
		}
	}
	f->io = MYR_IO_SYNC;
	if (cfg->io == MYR_IO_AUTO) {
		/* The ring waits for a cold batch (ring_create_late()). */
		f->io = MYR_IO_AUTO;
		f->ring_deferred = 1;
		f->cold_probe = 1;
		snprintf(f->stats.note, sizeof(f->stats.note),
			 "auto: no ring yet (no batch was cold)");
	} else if (cfg->io != MYR_IO_SYNC) {
		struct myr_error uerr = { 0 };
		r = myri_fetch_uring_init(f, &uerr);
		if (r == 0) {
			f->io = MYR_IO_URING;
			f->cold_probe = 1;
		} else if (cfg->io == MYR_IO_URING) {
			myr_error_set(err, r, "%s", uerr.msg);
			goto fail;
		} else {
			snprintf(f->stats.note, sizeof(f->stats.note),
				 "sync: %.150s", uerr.msg);
			r = 0;
		}
	}
	f->stats.io = f->io;
	*out = f;
	errno = saved_errno;
	return 0;
fail:
	fetcher_free(f);
	errno = saved_errno;
	return r;
}

enum myr_io_mode myr_fetcher_io(const struct myr_fetcher *f)
{
	return f->io;
}

int myr_fetcher_fetch(struct myr_fetcher *f, struct myr_fetch_item *items,
		      size_t n)
{
	int saved_errno = errno, r = 0;
	char path[FETCH_PATH_MAX];
	size_t pending = 0;

	for (size_t i = 0; i < n; i++) {
		items[i].status = FETCH_PENDING;
		items[i].dir = -1;
		items[i].data = NULL;
		items[i].len = 0;
		items[i].err.code = 0;
		items[i].err.msg[0] = '\0';
		pending += myri_fetch_item_path(&items[i], path) == 0;
	}
	/* f->charged points into f: a fetcher moved since init (it is not,
	 * but a copy would be) still charges its own budget. */
	f->charged = &f->charged_bytes;
	if (f->closed) {
		r = -EBADF;
	} else if (f->nlanes > 1 && !f->trace &&
		   pending >= MYR_FETCH_LANES_MIN_ITEMS) {
		unsigned lanes = f->nlanes;
		/* No lane without a full run of its own to read. */
		if (lanes > pending / LANE_RUN)
			lanes = (unsigned)(pending / LANE_RUN);
		r = lanes_batch(f, items, n, lanes);
	} else {
		if (myri_fetch_reserve_batch(f, items, n) < 0)
			r = -ENOMEM;
		else if (f->ring || f->ring_deferred)
			r = ring_lane_batch(f, items, n);
		else
			sync_batch(f, items, n);
		if (r == 0)
			call_on_item(f, items, 0, n);
	}
	for (size_t i = 0; i < n; i++) {
		if (items[i].status == FETCH_PENDING) {
			items[i].status = r < 0 ? -ECANCELED : -EIO;
			myr_error_set(&items[i].err, items[i].status,
				      "not fetched: %s", r < 0 ? strerror(-r) :
				      "internal error");
		}
	}
	f->stats.arena_bytes = f->arena.mapped;
	errno = saved_errno;
	return r;
}

void myr_fetcher_close(struct myr_fetcher *f)
{
	int saved_errno = errno;

	if (!f || f->closed)
		return;
	if (f->ring)
		myri_fetch_uring_close(f);   /* created at init or late */
	f->ring_deferred = 0;
	close_dirs(f);
	f->closed = 1;
	errno = saved_errno;
}

void myr_fetcher_exit(struct myr_fetcher *f)
{
	int saved_errno = errno;

	if (!f)
		return;
	myr_fetcher_close(f);
	fetcher_free(f);
	errno = saved_errno;
}

void myr_fetcher_stats(const struct myr_fetcher *f, struct myr_fetch_stats *out)
{
	*out = f->stats;
	out->arena_bytes = f->arena.mapped;
}
