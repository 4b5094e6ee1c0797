/* SPDX-License-Identifier: MIT */
/*
 * lib/load/fetch_fds.c - closing the descriptors of finished files
 * together.  A file's own close is one syscall of the three each file
 * costs (open, read, close), and entering the kernel is most of what a
 * close of a cached file costs; so a lane that is done with a descriptor
 * marks it in its bitmap instead, and once a descriptor at or above
 * flush_at is in use, the lane that got it closes every marked one with
 * a close_range() per run of consecutive numbers (one or a few: the
 * lanes' descriptors interleave, but their union is the lowest free
 * numbers).  The window is small (FETCH_KEEP_WINDOW), so it fits any
 * RLIMIT_NOFILE worth the name, the descriptor table grows once (before
 * any lane runs: growing it while threads share it waits for an RCU grace
 * period) and the process never holds many files at once.
 *
 * A marked bit means "finished, close me": the lane that set it never
 * touches the descriptor again, and a flush takes each bit with an atomic
 * exchange, so every descriptor is closed exactly once, by whichever lane
 * flushes first, and never one a lane is still reading.  Every batch ends
 * with a flush on the calling thread, after the lanes are joined: between
 * batches the fetcher holds no file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "load/fetch_internal.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Finished descriptors closed together, at most; and how far below the
 * soft RLIMIT_NOFILE the window stays (a lane's file in flight, the slow
 * path's second descriptor, the caller's own needs). */
#define FETCH_KEEP_WINDOW  128
#define FETCH_KEEP_SLACK   32
#define FETCH_KEEP_SPARE   16
/* A window smaller than this is not worth a flush's syscall. */
#define FETCH_KEEP_MIN_WINDOW 16

struct fetch_keep {
	int flush_at;        /* a descriptor this high starts a flush */
	int max;             /* descriptors this high are closed at once */
	size_t words;        /* of each lane's bitmap */
	int no_range;        /* close_range() is missing: one close each */
	uint64_t bits[];     /* MYR_FETCH_LANES_MAX bitmaps, lane k's at
	                        k * words */
};

/*
 * Set up the window the first time a batch is worth it; 0 (and f->keep
 * NULL, files closed one by one) when the descriptor limit leaves no room.
 * Single-threaded: called before any lane starts.
 */
int myri_fetch_keep_init(struct myr_fetcher *f)
{
	struct rlimit rl;
	rlim_t cur;
	int base = 0, max, fd;
	struct fetch_keep *k;
	size_t words;

	if (f->keep || f->keep_refused)
		return f->keep != NULL;
	f->keep_refused = 1;
	/* The next files take the lowest free numbers: just above the
	 * directories' descriptors, or lower where something was closed. */
	for (unsigned d = 0; d < f->ndirs; d++)
		if (f->dirfds[d] >= base)
			base = f->dirfds[d] + 1;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	cur = rl.rlim_cur;
	max = base + FETCH_KEEP_WINDOW + FETCH_KEEP_SLACK;
	if (cur != RLIM_INFINITY && (rlim_t)max + FETCH_KEEP_SPARE > cur)
		max = cur > FETCH_KEEP_SPARE ? (int)(cur - FETCH_KEEP_SPARE) : 0;
	if (max - FETCH_KEEP_SLACK - base < FETCH_KEEP_MIN_WINDOW)
		return 0;
	words = ((size_t)max + 63) / 64;
	k = calloc(1, sizeof(*k) + MYR_FETCH_LANES_MAX * words * sizeof(uint64_t));
	if (!k)
		return 0;
	k->flush_at = max - FETCH_KEEP_SLACK;
	k->max = max;
	k->words = words;
	/* Grow the table to hold max now, while no lane shares it. */
	fd = fcntl(f->dirfds[0], F_DUPFD_CLOEXEC, max - 1);
	if (fd >= 0)
		close(fd);
	f->keep = k;
	f->kept = k->bits;
	f->keep_refused = 0;
	return 1;
}

void myri_fetch_keep_free(struct myr_fetcher *f)
{
	free(f->keep);
	f->keep = NULL;
	f->kept = NULL;
}

/* Lane k's bitmap (0: the calling thread's). */
uint64_t *myri_fetch_keep_lane(struct myr_fetcher *f, unsigned k)
{
	return f->keep ? f->keep->bits + (size_t)k * f->keep->words : NULL;
}

static void close_run(struct fetch_keep *k, int first, int last)
{
	if (!k->no_range) {
		if (syscall(SYS_close_range, (unsigned)first, (unsigned)last, 0) == 0)
			return;
		/* Before Linux 5.9; never for a range of our own descriptors
		 * otherwise. */
		k->no_range = 1;
	}
	for (int fd = first; fd <= last; fd++)
		close(fd);
}

/* Close every descriptor any lane marked, in runs. */
void myri_fetch_keep_flush(struct myr_fetcher *f)
{
	struct fetch_keep *k = f->keep;
	int run = -1;

	if (!k)
		return;
	for (size_t w = 0; w < k->words; w++) {
		uint64_t m = 0;
		for (unsigned l = 0; l < MYR_FETCH_LANES_MAX; l++) {
			uint64_t *p = &k->bits[l * k->words + w];
			if (__atomic_load_n(p, __ATOMIC_RELAXED))
				m |= __atomic_exchange_n(p, 0, __ATOMIC_ACQ_REL);
		}
		/* Most words are all one or the other. */
		if ((m == 0 && run < 0) || (m == ~(uint64_t)0 && run >= 0))
			continue;
		for (int b = 0; b < 64; b++) {
			int fd = (int)(w * 64) + b;
			if (m & (1ull << b)) {
				if (run < 0)
					run = fd;
			} else if (run >= 0) {
				close_run(k, run, fd - 1);
				run = -1;
			}
		}
	}
	if (run >= 0)
		close_run(k, run, (int)(k->words * 64) - 1);
}

/* A lane is done with fd: mark it, or close it now when it is beyond the
 * window (or the batch keeps nothing). */
void myri_fetch_release(struct myr_fetcher *f, int fd)
{
	struct fetch_keep *k = f->keep;

	if (!k || !f->kept || fd < 0 || fd >= k->max) {
		close(fd);
		return;
	}
	__atomic_fetch_or(&f->kept[fd / 64], 1ull << (fd % 64), __ATOMIC_RELEASE);
	if (fd >= k->flush_at)
		myri_fetch_keep_flush(f);
}
