/* SPDX-License-Identifier: MIT */
/*
 * lib/load/fetch_internal.h - what the fetcher's files share, and the
 * test-only hooks.  The dependencies run one way: lib/load/fetch.c (the
 * fetcher, batches, lanes) uses lib/load/fetch_uring.c (the ring), and
 * both use lib/load/fetch_file.c (one file's fetch); fetch_file.c calls
 * neither, fetch_uring.c never calls fetch.c.  lib/load/fetch_fds.c
 * (closing finished descriptors together) calls none of them.
 * Not API: the functions are myri_* (docs/design.md), local in the
 * installed library.
 */
#ifndef MYRIAD_FETCH_INTERNAL_H
#define MYRIAD_FETCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <myriad/fetch.h>
#include <myriad/limits.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define FETCH_HAVE_OPEN_HOW 1
#endif
#endif
#ifndef FETCH_HAVE_OPEN_HOW
struct open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef RESOLVE_BENEATH
#define RESOLVE_BENEATH 0x08
#endif

/* How every module is opened.  O_NONBLOCK: neither the open nor a read of a
 * FIFO may wait for a writer.  O_NOCTTY: a tty device cannot become the
 * controlling terminal. */
#define FETCH_OPEN_FLAGS    (O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
#define FETCH_RESOLVE       (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)

/* "NAME.myr" plus NUL fits in this. */
#define FETCH_PATH_MAX      (MYR_NAME_MAX + 8)
/* Read size when the caller gives no hint, and the least any first read
 * asks for (so the probe always sees a #! line and a whole header). */
#define FETCH_DEFAULT_READ  4096u
#define FETCH_MIN_READ      (MYR_SHEBANG_MAX + 256u)

struct fetch_arena_chunk;

/* Bump allocator over mmap'd chunks: file buffers are never freed one by
 * one, only all together at myr_fetcher_exit(). */
struct fetch_arena {
	struct fetch_arena_chunk *head;   /* the chunk being filled */
	size_t mapped;
};

struct fetch_ring;

struct myr_fetcher {
	enum myr_io_mode io;
	unsigned flags;
	unsigned ndirs;
	int *dirfds;                /* -1 once closed */
	char **dirs;
	char *not_found;            /* "not found in DIR, DIR": every missing
	                               item's message */
	int no_openat2;             /* the kernel lacks openat2: openat with
	                               O_NOFOLLOW instead */
	int closed;
	myr_fetch_trace_fn trace;
	void *trace_opaque;
	struct fetch_arena arena;
	struct fetch_ring *ring;    /* NULL in sync mode, and in helper lanes,
	                               and in AUTO until a batch is cold */
	int ring_deferred;          /* AUTO: no ring yet; this lane creates it
	                               when a batch turns cold (the ring lane) */
	int helper;                 /* a helper lane's copy of the fetcher */
	struct myr_fetch_stats stats;
	unsigned nlanes;            /* lanes a large batch may use, >= 1 */
	uint64_t max_bytes;         /* the byte budget */
	uint64_t *charged;          /* bytes charged against it so far, shared
	                               by every lane (atomic): points at
	                               charged_bytes of the fetcher itself */
	uint64_t charged_bytes;
	void (*on_item)(void *opaque, size_t index,
			const struct myr_fetch_item *item);
	void *on_item_opaque;
	int cold_probe;             /* a lane beside or holding a ring:
	                               notice a cold directory (open_fast(),
	                               read_first()) */
	int went_cold;              /* ... and it did: a helper stops taking
	                               runs, the ring lane uses the ring */
	unsigned cold_misses;       /* in the current window (cold_miss()) */
	int nowait_refused;         /* a file refused RWF_NOWAIT: plain
	                               reads from then on */
	struct fetch_keep *keep;    /* finished descriptors closed together
	                               (fetch_fds.c), shared by the lanes;
	                               NULL: each closed at once */
	uint64_t *kept;             /* this lane's bitmap in keep */
	int keep_refused;           /* the descriptor limit left no room */
};

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

/* fetch_fds.c */
/* Batches of at least this many pending files set up the window. */
#define FETCH_KEEP_MIN_ITEMS 16u
/* Set up the window (once; single-threaded); 1 if files are kept. */
int myri_fetch_keep_init(struct myr_fetcher *f);
void myri_fetch_keep_free(struct myr_fetcher *f);
/* Lane k's bitmap, k = 0 the calling thread's; NULL without a window. */
uint64_t *myri_fetch_keep_lane(struct myr_fetcher *f, unsigned k);
/* Done with fd: marked for the next flush, or closed. */
void myri_fetch_release(struct myr_fetcher *f, int fd);
/* Close every marked descriptor (every lane's). */
void myri_fetch_keep_flush(struct myr_fetcher *f);

/* fetch_file.c */
/* Charge a file of len bytes against the budget, or reject item (-EDQUOT)
 * and return -1 if it would pass it. */
int myri_fetch_charge(struct myr_fetcher *f, struct myr_fetch_item *item, int dir,
		 uint64_t len);
/* Give back myri_fetch_judge()'s charge for a second read that did not end in
 * myri_fetch_done() (first: bytes of the first read; need: the second's size). */
void myri_fetch_uncharge_second(struct myr_fetcher *f, size_t first, size_t need);

void myri_fetch_arena_free(struct fetch_arena *a);
/* TO takes over FROM's buffers (a finished lane's), which stay where they
 * are; FROM must not be used again. */
void myri_fetch_arena_adopt(struct fetch_arena *to, const struct fetch_arena *from);
/* First-read bytes of a batch's pending items; *dense: all have hints. */
size_t myri_fetch_batch_bytes(const struct myr_fetch_item *items, size_t n,
			      int *dense);
void *myri_fetch_arena_alloc(struct fetch_arena *a, size_t size);
/* Reserve room for size more bytes in one chunk, so a batch's buffers can
 * be laid out contiguously with a single mmap; dense: the caller will fill
 * it (huge pages are then worth it).  -ENOMEM on failure. */
int myri_fetch_arena_reserve(struct fetch_arena *a, size_t size, int dense);
/* Reserve a batch's first-read buffers for its pending items. */
int myri_fetch_reserve_batch(struct myr_fetcher *f, const struct myr_fetch_item *items,
			size_t n);
void myri_fetch_trace(const struct myr_fetcher *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A message for an item (myr_fetch_item.msg), in f's arena; a fixed
 * string if even that is out of memory. */
const char *myri_fetch_message(struct myr_fetcher *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "NAME.myr" into path, or -EINVAL with item->err filled. */
int myri_fetch_item_path(struct myr_fetch_item *item, char path[FETCH_PATH_MAX]);
/* The first read's size for an item. */
size_t myri_fetch_read_size(const struct myr_fetch_item *item);

/*
 * Judge the bytes a first read returned: got of asked bytes at buf.
 * Returns 0 when the item is settled (done, or over the byte budget), 1 when the file is
 * larger and *need bytes must be read at offset got into a new buffer
 * (*nbuf, which already holds the first got bytes), and -1 when something
 * is off and the candidate needs myri_fetch_slow_path().
 */
int myri_fetch_judge(struct myr_fetcher *f, struct myr_fetch_item *item, int dir,
		uint8_t *buf, size_t got, size_t asked, uint8_t **nbuf,
		size_t *need);
/* After the second read returned got of need bytes into nbuf + first. */
int myri_fetch_judge_second(struct myr_fetcher *f, struct myr_fetch_item *item,
		       int dir, uint8_t *nbuf, size_t first, size_t got,
		       size_t need);
/* An open of item in directory dir failed with res (< 0): -ENOENT moves on
 * (returns 1: try the next directory), or sets the item's final status
 * (returns 0); some errors need a closer look (returns -1: slow path). */
int myri_fetch_open_failed(struct myr_fetcher *f, struct myr_fetch_item *item,
		      int dir, const char *path, int res);
/* Not found in any directory. */
void myri_fetch_not_found(struct myr_fetcher *f, struct myr_fetch_item *item);
/* Re-examine the candidate in directory dir with plain syscalls: its type
 * (fstat), exact size, and a blocking read of a regular file.  Sets the
 * item's final status. */
void myri_fetch_slow_path(struct myr_fetcher *f, struct myr_fetch_item *item,
		     int dir, const char *path);
/* Look item up in directory dir with plain syscalls; 1 if it is not
 * there (still FETCH_PENDING), 0 when it has its final status. */
int myri_fetch_sync_try(struct myr_fetcher *f, struct myr_fetch_item *item, int dir);
void myri_fetch_done(struct myr_fetcher *f, struct myr_fetch_item *item, int dir,
		const uint8_t *data, size_t len);

/* myr_fetch_config.flags, test-only: keep every file in the ring even in
 * a directory whose files cannot be read inline (tmpfs), so the tests,
 * which run on tmpfs for speed, exercise the ring at scale. */
#define FETCH_F_RING_ONLY   0x80000000u

/* myr_fetch_config.flags, test-only: helper lanes beside a ring behave as
 * if the directory were cold (they stop after one run each, the ring lane
 * takes the rest in long runs), which tmpfs never is. */
#define FETCH_F_LANES_COLD  0x40000000u

/* Internal marker in myr_fetch_item.status: still to be looked up. */
#define FETCH_PENDING       1

/* fetch_uring.c, used by fetch.c */
/* Create the ring; -errno (with err) when io_uring cannot be used. */
int myri_fetch_uring_init(struct myr_fetcher *f, struct myr_error *err);
void myri_fetch_uring_close(struct myr_fetcher *f);
/* Run the batch: every item whose status is FETCH_PENDING gets its final
 * status (slow paths included).  -errno only when the ring itself fails. */
int myri_fetch_uring_batch(struct myr_fetcher *f, struct myr_fetch_item *items,
		      size_t n);

/*
 * Test-only: submit one SQE with the given opcode (fd -1, no buffer) on the
 * fetcher's ring and return its completion's res: -EACCES when the ring's
 * restrictions forbid the opcode.  -ENOSYS without a ring.
 */
int myri_fetcher_test_ring_op(struct myr_fetcher *f, uint8_t opcode);

#endif /* MYRIAD_FETCH_INTERNAL_H */
