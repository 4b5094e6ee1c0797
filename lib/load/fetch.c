/* SPDX-License-Identifier: MIT */
/*
 * lib/load/fetch.c - the fetcher: library directories, batches, the sync
 * path's loop, the lanes, and when the ring takes over.  One file's fetch
 * (buffers, verdict, slow path, sync lookup) is lib/load/fetch_file.c, the
 * io_uring path lib/load/fetch_uring.c; both are used from here, and
 * neither calls back into this file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <myriad/fetch.h>
#include <myriad/module.h>
#include "base/cpus.h"
#include "base/lanes.h"
#include "load/fetch_internal.h"

/* ------------------------------------------------------------------ */
/* Sync path                                                           */
/* ------------------------------------------------------------------ */

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
	myri_fetch_arena_adopt(&f->arena, &ln->f.arena);
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
	size_t total = myri_fetch_batch_bytes(items, n, &w.dense);
	struct lane helpers[MYRI_LANES_HELPERS_MAX];
	struct myri_lanes ls;
	unsigned lanes;
	int r;

	w.share = total / nlanes + total / 8;
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
		ln->f.kept = myri_fetch_keep_lane(f, k + 1);
		memset(&ln->f.stats, 0, sizeof(ln->f.stats));
		ln->work = &w;
		ln->result = 0;
	}
	/* The lanes that start take the share of any that cannot. */
	myri_lanes_start(&ls, nlanes - 1, lane_main, helpers, sizeof(helpers[0]));
	r = lane_loop(f, &w);
	myri_lanes_join(&ls);
	for (unsigned k = 0; k < ls.started; k++) {
		lane_merge(f, &helpers[k]);
		if (r == 0)
			r = helpers[k].result;
	}
	lanes = ls.started + 1;
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
	myri_fetch_keep_free(f);
	for (unsigned d = 0; d < f->ndirs; d++)
		free(f->dirs[d]);
	free(f->dirs);
	free(f->not_found);
	free(f->dirfds);
	myri_fetch_arena_free(&f->arena);
	free(f);
}

/* "not found in /a, /b", cut at MYR_ERROR_MSG_MAX - 1 bytes as any
 * message is. */
static int not_found_message(struct myr_fetcher *f)
{
	char line[MYR_ERROR_MSG_MAX];
	size_t off = (size_t)snprintf(line, sizeof(line), "not found in ");

	for (unsigned d = 0; d < f->ndirs && off < sizeof(line); d++)
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s",
					d ? ", " : "", f->dirs[d]);
	f->not_found = strdup(line);
	return f->not_found ? 0 : -ENOMEM;
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
	r = not_found_message(f);
	if (r < 0) {
		myr_error_set(err, r, "out of memory");
		goto fail;
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
		items[i].msg = "";
		pending += myri_fetch_item_path(&items[i], path) == 0;
	}
	/* f->charged points into f: a fetcher moved since init (it is not,
	 * but a copy would be) still charges its own budget. */
	f->charged = &f->charged_bytes;
	if (!f->closed && pending >= FETCH_KEEP_MIN_ITEMS)
		myri_fetch_keep_init(f);
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
	/* Between batches the fetcher holds no file. */
	myri_fetch_keep_flush(f);
	for (size_t i = 0; i < n; i++) {
		if (items[i].status == FETCH_PENDING) {
			items[i].status = r < 0 ? -ECANCELED : -EIO;
			items[i].msg = myri_fetch_message(f, "not fetched: %s",
				r < 0 ? strerror(-r) : "internal error");
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
