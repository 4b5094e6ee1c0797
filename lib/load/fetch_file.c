/* SPDX-License-Identifier: MIT */
/*
 * lib/load/fetch_file.c - fetching one file, for both paths: the buffers
 * (an arena), the verdict on a file's bytes, the slow path that looks
 * closer at odd candidates, and the sync (plain syscall) lookup of one
 * item.  lib/load/fetch_uring.c (the ring) and lib/load/fetch.c (the
 * fetcher, its batches and lanes) use it; it uses neither, so the
 * dependencies run one way: fetch.c -> fetch_uring.c -> fetch_file.c.
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
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
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
	} else if (dense) {
		/* The reads fill it all: one call writes its pages in, where
		 * the kernel's copies would fault each (about 10 us apiece on
		 * a virtualised machine: 216 of a 1,000-module launch's 416
		 * faults).  A kernel before 5.14 refuses it (EINVAL), and
		 * they fault in as before. */
		(void)madvise(p, align_up(size + ARENA_HDR, 4096),
			      MADV_POPULATE_WRITE);
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

size_t myri_fetch_batch_bytes(const struct myr_fetch_item *items, size_t n,
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
	size_t total = myri_fetch_batch_bytes(items, n, &dense);

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

/* FROM's chunks go behind TO's current one, which stays the one being
 * filled; FROM is left as it was and must not be used again. */
void myri_fetch_arena_adopt(struct fetch_arena *to, const struct fetch_arena *from)
{
	struct fetch_arena_chunk *c = from->head, *last;

	if (!c)
		return;
	for (last = c; last->next; last = last->next)
		;
	if (to->head) {
		last->next = to->head->next;
		to->head->next = c;
	} else {
		to->head = c;
	}
	to->mapped += from->mapped;
}

void myri_fetch_arena_free(struct fetch_arena *a)
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

/* An item's message, in the fetcher's own memory (this lane's arena, which
 * the fetcher adopts): only failures pay for one. */
static const char *vmessage(struct myr_fetcher *f, const char *fmt, va_list ap)
{
	char line[MYR_ERROR_MSG_MAX];
	size_t len;
	char *p;

	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	p = myri_fetch_arena_alloc(&f->arena, len + 1);
	if (!p)
		return "out of memory for the message";
	memcpy(p, line, len + 1);
	return p;
}

const char *myri_fetch_message(struct myr_fetcher *f, const char *fmt, ...)
{
	const char *msg;
	va_list ap;

	va_start(ap, fmt);
	msg = vmessage(f, fmt, ap);
	va_end(ap);
	return msg;
}

static void reject(struct myr_fetcher *f, struct myr_fetch_item *item, int dir,
		   const char *path, int code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void reject(struct myr_fetcher *f, struct myr_fetch_item *item, int dir,
		   const char *path, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	item->msg = vmessage(f, fmt, ap);
	va_end(ap);
	item->status = code;
	item->dir = dir;
	item->data = NULL;
	item->len = 0;
	myri_fetch_trace(f, "%s/%s: rejected: %s", f->dirs[dir], path, item->msg);
}

void myri_fetch_done(struct myr_fetcher *f, struct myr_fetch_item *item, int dir,
		const uint8_t *data, size_t len)
{
	item->status = 0;
	item->dir = dir;
	item->data = data;
	item->len = len;
	item->msg = "";
	f->stats.files++;
	f->stats.bytes += len;
	if (f->trace)
		myri_fetch_trace(f, "%s/%.*s.myr: found, %zu bytes", f->dirs[dir],
			    (int)item->name_len, item->name, len);
}

void myri_fetch_not_found(struct myr_fetcher *f, struct myr_fetch_item *item)
{
	item->msg = f->not_found;
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
			item->msg = myri_fetch_message(f, "over MYR_LOAD_BYTES_MAX: "
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
		item->msg = why;
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
			    item->msg);
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

static void cold_miss(struct myr_fetcher *f, unsigned weight)
{
	f->cold_misses += weight;
	if (f->cold_misses >= FETCH_COLD_MISSES)
		f->went_cold = 1;
}

/*
 * The fast path's open.  A lane beside or holding a ring (cold_probe)
 * first asks for a lookup the dentry cache can answer alone
 * (RESOLVE_CACHED, Linux 5.12): -EAGAIN is a miss, and enough of them
 * mean the directory is cold (went_cold): a helper stops after its run
 * and the ring lane turns to its ring (ring_lane_batch()), which keeps
 * many cold reads in flight where a lane would wait for each.
 */
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
	myri_fetch_release(f, fd);
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
