/* SPDX-License-Identifier: MIT */
/*
 * lib/load/fetch_uring.c - the io_uring path of the fetcher.
 *
 * One ring, created disabled and restricted to OPENAT2, READ and
 * LINK_TIMEOUT (with the FIXED_FILE, IO_LINK and ASYNC flags) before it is
 * enabled, so that even while it is open, the ring cannot be used for
 * anything but reading files.  No register operation is allowed once
 * enabled: the direct descriptor table is registered before.
 *
 * Files are opened as direct descriptors into a sparse table of `slots`
 * entries, which never counts against RLIMIT_NOFILE (the kernel only caps
 * the table's size by it, so the table is sized to fit).  A chunk of at
 * most `slots` files is read in two io_uring_enter calls: first an open of
 * each into slot k, then one read of each fixed file k that opened.
 * Nothing closes the files: the next chunk's open into slot k replaces
 * (and so releases) the file left there, and closing the ring releases the
 * last ones, which saves a third of the requests.  Files whose header says
 * they are larger get one more read while their slot still holds them.
 *
 * MYR_FETCH_F_LINKED instead links (IOSQE_IO_LINK) each open to its read
 * and submits both at once: one io_uring_enter per chunk, but on this
 * kernel (6.18) the links cost more CPU than the extra enter
 * (docs/performance.md).  A failed open cancels its read, and a short read
 * ends the chain without leaking a slot since no close follows it.
 *
 * First reads carry RWF_NOWAIT: io_uring would otherwise poll a FIFO that
 * has a writer (ignoring O_NONBLOCK) and hang.  On a hot page cache a
 * regular file on a disk filesystem reads in full at once; see prep_read()
 * for files that cannot (tmpfs, cold pages, FIFOs).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "base/cpus.h"
#include "load/fetch_internal.h"

#if defined(__has_include)
#if __has_include(<liburing.h>)
#define FETCH_HAVE_LIBURING 1
#endif
#endif

#ifdef FETCH_HAVE_LIBURING
#include <liburing.h>

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

/* Submission queue size, and the most slots the table gets.  Measured
 * (docs/performance.md): larger chunks stop paying off past ~1k files. */
#ifndef RING_ENTRIES
#define RING_ENTRIES      2048u
#endif
#ifndef RING_ASYNC_EVERY
#define RING_ASYNC_EVERY  3u
#endif
/* 1: punt one file in RING_ASYNC_EVERY by default (see myri_fetch_uring_init). */
#ifndef RING_ASYNC_DEFAULT
#define RING_ASYNC_DEFAULT 0
#endif
#ifndef RING_SLOTS_MAX
#define RING_SLOTS_MAX    1024u
#endif

struct ring_slot {
	size_t item;           /* index into the batch */
	uint8_t *buf;          /* first read */
	uint8_t *nbuf;         /* whole file, when a second read is needed */
	size_t asked, need;
	int32_t open_res, read_res;
	int state;             /* SLOT_* */
	int timed;             /* reads go without RWF_NOWAIT, under a
	                          linked timeout */
	int no_nowait;         /* because the file refused RWF_NOWAIT */
};

/* A slot's file after its open: a first read's result to judge, a second
 * read's result to judge, or settled. */
enum { SLOT_FIRST, SLOT_SECOND, SLOT_SETTLED, SLOT_SLOW };

struct fetch_ring {
	struct io_uring ring;
	unsigned slots;        /* direct descriptor table size */
	unsigned chunk;        /* files per chunk */
	unsigned async_every;  /* one file in this many goes to io-wq; 0: none */
	int phases;
	struct open_how how;
	struct ring_slot *st;
	char (*paths)[FETCH_PATH_MAX];
	unsigned char *dir_timed;   /* per directory: its modules refuse
	                               RWF_NOWAIT, so plain syscalls read it */
	struct __kernel_timespec timeout;
};

/* Linked timeouts' user_data: counted, otherwise ignored. */
#define UD_TIMEOUT        UINT64_MAX
/* How long a read without RWF_NOWAIT may take before the slow path
 * examines the file: long enough for a cold disk, short enough that a FIFO
 * with an idle writer costs one second, not a hang. */
#define RING_READ_TIMEOUT_S 1

static int ring_create(struct fetch_ring *r, unsigned *setup_flags)
{
	/* Newest first; each older kernel rejects an unknown flag with
	 * -EINVAL.  The last try has no R_DISABLED: no restrictions either. */
	static const unsigned tries[] = {
		IORING_SETUP_R_DISABLED | IORING_SETUP_SUBMIT_ALL |
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
		IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_R_DISABLED | IORING_SETUP_SUBMIT_ALL |
		IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_R_DISABLED,
		0,
	};
	int ret = -EINVAL;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = tries[i];
		ret = io_uring_queue_init_params(RING_ENTRIES, &r->ring, &p);
		if (ret == 0) {
			*setup_flags = tries[i];
			return 0;
		}
		if (ret != -EINVAL)
			break;
	}
	return ret;
}

/* Register operations are issued directly: liburing's
 * io_uring_register_files_sparse() raises RLIMIT_NOFILE on -EMFILE (a
 * library must not change its caller's limits), and some liburing 2.3
 * builds do not export the restriction and enable calls. */
static int ring_register(struct fetch_ring *r, unsigned op, const void *arg,
			 unsigned nr)
{
	long ret = syscall(__NR_io_uring_register, r->ring.ring_fd, op, arg, nr);
	return ret < 0 ? -errno : (int)ret;
}

/* The table fits the limit, so it never meets -EMFILE. */
static int register_sparse(struct fetch_ring *r, unsigned nr)
{
	struct io_uring_rsrc_register reg;

	memset(&reg, 0, sizeof(reg));
	reg.flags = IORING_RSRC_REGISTER_SPARSE;
	reg.nr = nr;
	return ring_register(r, IORING_REGISTER_FILES2, &reg, sizeof(reg));
}

static int restrict_ring(struct fetch_ring *r)
{
	struct io_uring_restriction res[4];

	memset(res, 0, sizeof(res));
	res[0].opcode = IORING_RESTRICTION_SQE_OP;
	res[0].sqe_op = IORING_OP_OPENAT2;
	res[1].opcode = IORING_RESTRICTION_SQE_OP;
	res[1].sqe_op = IORING_OP_READ;
	res[2].opcode = IORING_RESTRICTION_SQE_OP;
	res[2].sqe_op = IORING_OP_LINK_TIMEOUT;
	res[3].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[3].sqe_flags = IOSQE_FIXED_FILE | IOSQE_IO_LINK | IOSQE_ASYNC;
	return ring_register(r, IORING_REGISTER_RESTRICTIONS, res, 4);
}

int myri_fetch_uring_init(struct myr_fetcher *f, struct myr_error *err)
{
	struct fetch_ring *r;
	struct rlimit rl;
	unsigned setup_flags = 0, slots = RING_SLOTS_MAX;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r)
		return myr_error_set(err, -ENOMEM, "out of memory");
	ret = ring_create(r, &setup_flags);
	if (ret < 0) {
		free(r);
		return myr_error_set(err, ret, "io_uring_setup: %s",
				     strerror(-ret));
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < slots)
		slots = rl.rlim_cur ? (unsigned)rl.rlim_cur : 1;
	ret = register_sparse(r, slots);
	if (ret < 0) {
		myr_error_set(err, ret, "io_uring direct descriptors: %s",
			      strerror(-ret));
		goto fail;
	}
#ifdef RING_IOWQ_MAX
	{
		unsigned max[2] = { RING_IOWQ_MAX, RING_IOWQ_MAX };
		ring_register(r, IORING_REGISTER_IOWQ_MAX_WORKERS, max, 2);
	}
#endif
	if (setup_flags & IORING_SETUP_R_DISABLED) {
		ret = restrict_ring(r);
		if (ret == 0) {
			f->stats.ring_restricted = 1;
		} else {
			snprintf(f->stats.note, sizeof(f->stats.note),
				 "io_uring ring unrestricted: "
				 "IORING_REGISTER_RESTRICTIONS: %s",
				 strerror(-ret));
		}
		ret = ring_register(r, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
		if (ret < 0) {
			myr_error_set(err, ret, "io_uring enable: %s",
				      strerror(-ret));
			goto fail;
		}
	} else {
		snprintf(f->stats.note, sizeof(f->stats.note),
			 "io_uring ring unrestricted: the kernel cannot "
			 "create a disabled ring");
	}

	r->slots = slots;
	r->phases = !(f->flags & MYR_FETCH_F_LINKED);
	/* A file takes at most three SQEs at once (open, read, timeout). */
	r->chunk = slots < RING_ENTRIES / 3 ? slots : RING_ENTRIES / 3;
	/* Inline by default: on a hot page cache every open and read then
	 * completes in the submitting thread, with the least CPU of any way
	 * measured, and whatever would block (an uncached lookup, an
	 * RWF_NOWAIT read of uncached pages) still goes to io-wq workers, so
	 * a cold cache keeps its parallel reads.  Punting a share of the
	 * files to io-wq up front (RING_ASYNC_EVERY, one in three) won on an
	 * idle machine but lost once the other core was busy, as it is when
	 * several programs start (10,000 modules: 94 against 86 ms, 1,000:
	 * 7.9 against 7.0 ms, interleaved runs with tests/bench/benchrun). */
	r->async_every = (f->flags & MYR_FETCH_F_ASYNC) ? 1 :
			 (f->flags & MYR_FETCH_F_INLINE) ? 0 :
			 RING_ASYNC_DEFAULT && myr_usable_cpus() > 1 ? RING_ASYNC_EVERY : 0;
	/* No O_CLOEXEC: the kernel refuses it for direct descriptors, which
	 * are never in the fd table anyway. */
	r->how.flags = (uint64_t)(FETCH_OPEN_FLAGS & ~O_CLOEXEC);
	r->how.resolve = FETCH_RESOLVE;
	r->timeout.tv_sec = RING_READ_TIMEOUT_S;
	r->st = calloc(r->chunk, sizeof(*r->st));
	r->paths = calloc(r->chunk, sizeof(*r->paths));
	r->dir_timed = calloc(f->ndirs, 1);
	if (!r->st || !r->paths || !r->dir_timed) {
		ret = myr_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	f->ring = r;
	f->stats.slots = slots;
	f->stats.ring_async = r->async_every;
	return 0;
fail:
	io_uring_queue_exit(&r->ring);
	free(r->st);
	free(r->paths);
	free(r->dir_timed);
	free(r);
	f->stats.ring_restricted = 0;
	return ret;
}

void myri_fetch_uring_close(struct myr_fetcher *f)
{
	struct fetch_ring *r = f->ring;

	if (!r)
		return;
	io_uring_queue_exit(&r->ring);
	free(r->st);
	free(r->paths);
	free(r->dir_timed);
	free(r);
	f->ring = NULL;
}

/* Submit everything queued and reap exactly `expect` completions into the
 * slots: user_data is slot << 1 | (1 for a read). */
static int ring_run(struct myr_fetcher *f, unsigned expect)
{
	struct fetch_ring *r = f->ring;
	unsigned seen = 0;

	while (seen < expect) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int ret;

		/* Wait for everything at once: with DEFER_TASKRUN the kernel
		 * then wakes the task only when the last completion lands. */
		ret = io_uring_submit_and_wait(&r->ring, expect - seen);
		f->stats.submits++;
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
			return ret;
		io_uring_for_each_cqe(&r->ring, head, cqe) {
			uint64_t ud = cqe->user_data;
			if (ud != UD_TIMEOUT && (ud >> 1) < r->chunk) {
				struct ring_slot *s = &r->st[ud >> 1];
				if (ud & 1)
					s->read_res = cqe->res;
				else
					s->open_res = cqe->res;
			}
			n++;
		}
		io_uring_cq_advance(&r->ring, n);
		seen += n;
	}
	return 0;
}

/* IOSQE_ASYNC for one slot in r->async_every (0: none). */
static unsigned slot_async(const struct fetch_ring *r, unsigned k)
{
	return r->async_every && k % r->async_every == 0 ? IOSQE_ASYNC : 0;
}

/*
 * Queue a read of slot k's file; returns the number of SQEs queued.  A
 * slot's first attempt carries RWF_NOWAIT.  A file that refuses it
 * (-EOPNOTSUPP: tmpfs, named FIFOs, some devices) or would block (-EAGAIN:
 * pages not cached, a FIFO with a writer) is read again without it, but
 * under a linked timeout: io_uring polls a FIFO instead of honouring
 * O_NONBLOCK, so only the timeout keeps one with an idle writer from
 * hanging the launch.  A read the timeout cancels goes to the slow path,
 * where fstat decides.
 */
static unsigned prep_read(struct fetch_ring *r, unsigned k, void *buf,
			  size_t len, uint64_t off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	io_uring_prep_read(sqe, (int)k, buf, (unsigned)len, off);
	sqe->flags |= IOSQE_FIXED_FILE | slot_async(r, k);
	sqe->user_data = (uint64_t)k << 1 | 1;
	r->st[k].read_res = -ECANCELED;
	if (!r->st[k].timed) {
		sqe->rw_flags = RWF_NOWAIT;
		return 1;
	}
	sqe->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&r->ring);
	io_uring_prep_link_timeout(sqe, &r->timeout, 0);
	sqe->user_data = UD_TIMEOUT;
	return 2;
}

/* Judge slot k's latest read and queue what it needs next; returns the
 * number of SQEs queued. */
static unsigned slot_step(struct myr_fetcher *f, struct myr_fetch_item *items,
			  unsigned k, int d)
{
	struct fetch_ring *r = f->ring;
	struct ring_slot *s = &r->st[k];
	struct myr_fetch_item *item = &items[s->item];
	int first = s->state == SLOT_FIRST, v;

	if ((s->read_res == -EOPNOTSUPP || s->read_res == -EAGAIN) &&
	    !s->timed) {
		s->timed = 1;
		s->no_nowait = s->read_res == -EOPNOTSUPP;
		return prep_read(r, k, first ? s->buf : s->nbuf + s->asked,
				 first ? s->asked : s->need,
				 first ? 0 : s->asked);
	}
	if (s->read_res < 0) {
		if (!first)
			myri_fetch_uncharge_second(f, s->asked, s->need);
		s->state = SLOT_SLOW;
		return 0;
	}
	if (!first) {
		v = myri_fetch_judge_second(f, item, d, s->nbuf, s->asked,
				       (size_t)s->read_res, s->need);
		s->state = v < 0 ? SLOT_SLOW : SLOT_SETTLED;
		return 0;
	}
	v = myri_fetch_judge(f, item, d, s->buf, (size_t)s->read_res, s->asked,
			&s->nbuf, &s->need);
	/* A module that refused RWF_NOWAIT: its directory's filesystem
	 * cannot read inline (a FIFO refuses too, but is no module). */
	if (v >= 0 && s->no_nowait && !(f->flags & FETCH_F_RING_ONLY))
		r->dir_timed[d] = 1;
	if (v > 0) {
		s->state = SLOT_SECOND;
		return prep_read(r, k, s->nbuf + s->asked, s->need, s->asked);
	}
	s->state = v < 0 ? SLOT_SLOW : SLOT_SETTLED;
	return 0;
}

/* One chunk of cn files, all in directory d.  Items not found there are
 * appended to next[*nnext]. */
static int run_chunk(struct myr_fetcher *f, struct myr_fetch_item *items,
		     const size_t *idx, unsigned cn, int d, size_t *next,
		     size_t *nnext)
{
	struct fetch_ring *r = f->ring;
	unsigned nsqe = 0;
	int ret;

	/* Buffers first: a failure must leave no SQE queued. */
	for (unsigned k = 0; k < cn; k++) {
		struct ring_slot *s = &r->st[k];
		s->item = idx[k];
		s->asked = myri_fetch_read_size(&items[idx[k]]);
		s->buf = myri_fetch_arena_alloc(&f->arena, s->asked);
		if (!s->buf)
			return -ENOMEM;
	}
	for (unsigned k = 0; k < cn; k++) {
		struct myr_fetch_item *item = &items[idx[k]];
		struct ring_slot *s = &r->st[k];
		struct io_uring_sqe *sqe;

		s->open_res = s->read_res = -ECANCELED;
		s->state = SLOT_FIRST;
		s->timed = 0;
		s->no_nowait = 0;
		myri_fetch_item_path(item, r->paths[k]);
		if (f->trace)
			myri_fetch_trace(f, "trying %s/%s", f->dirs[d], r->paths[k]);
		sqe = io_uring_get_sqe(&r->ring);
		io_uring_prep_openat2_direct(sqe, f->dirfds[d], r->paths[k],
					     &r->how, k);
		sqe->flags |= slot_async(r, k) | (r->phases ? 0 : IOSQE_IO_LINK);
		sqe->user_data = (uint64_t)k << 1;
		nsqe++;
		if (!r->phases)
			nsqe += prep_read(r, k, s->buf, s->asked, 0);
	}
	f->stats.opens += cn;
	f->stats.ring_opens += cn;
	ret = ring_run(f, nsqe);
	if (ret < 0)
		return ret;

	if (r->phases) {
		nsqe = 0;
		for (unsigned k = 0; k < cn; k++) {
			struct ring_slot *s = &r->st[k];
			if (s->open_res < 0)
				continue;
			nsqe += prep_read(r, k, s->buf, s->asked, 0);
		}
		ret = ring_run(f, nsqe);
		if (ret < 0)
			return ret;
	}

	for (unsigned k = 0; k < cn; k++) {
		struct ring_slot *s = &r->st[k];
		int v;

		if (s->open_res >= 0)
			continue;
		s->state = SLOT_SETTLED;
		v = myri_fetch_open_failed(f, &items[s->item], d, r->paths[k],
				      s->open_res);
		if (v > 0)
			next[(*nnext)++] = s->item;
		else if (v < 0)
			s->state = SLOT_SLOW;
	}
	/* Retries and second reads, each round in one submission; a slot
	 * queues at most two more reads, so this ends. */
	for (;;) {
		unsigned queued = 0;
		for (unsigned k = 0; k < cn; k++)
			if (r->st[k].state == SLOT_FIRST ||
			    r->st[k].state == SLOT_SECOND)
				queued += slot_step(f, items, k, d);
		if (!queued)
			break;
		ret = ring_run(f, queued);
		if (ret < 0)
			return ret;
	}
	for (unsigned k = 0; k < cn; k++)
		if (r->st[k].state == SLOT_SLOW)
			myri_fetch_slow_path(f, &items[r->st[k].item], d, r->paths[k]);
	return 0;
}

int myri_fetch_uring_batch(struct myr_fetcher *f, struct myr_fetch_item *items,
		      size_t n)
{
	struct fetch_ring *r = f->ring;
	size_t *pend, npend = 0;
	int ret = 0;

	pend = malloc((n ? n : 1) * sizeof(*pend));
	if (!pend)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (items[i].status == FETCH_PENDING)
			pend[npend++] = i;
	for (unsigned d = 0; d < f->ndirs && npend && ret == 0; d++) {
		size_t nnext = 0;
		/* next[] reuses pend[]: run_chunk() has copied a chunk's
		 * indices into its slots before it appends, and appends at
		 * most as many as it has consumed. */
		for (size_t start = 0; start < npend && ret == 0; start += r->chunk) {
			size_t left = npend - start;
			unsigned cn = left < r->chunk ? (unsigned)left : r->chunk;
			if (!r->dir_timed[d]) {
				ret = run_chunk(f, items, pend + start, cn,
						(int)d, pend, &nnext);
				continue;
			}
			/* This directory's files cannot be read inline
			 * (tmpfs): every read would go through io-wq and a
			 * linked timeout, which measured slower than plain
			 * syscalls on one core. */
			for (unsigned k = 0; k < cn; k++) {
				size_t i = pend[start + k];
				if (myri_fetch_sync_try(f, &items[i], (int)d))
					pend[nnext++] = i;
			}
		}
		npend = nnext;
	}
	if (ret == 0)
		for (size_t i = 0; i < npend; i++)
			myri_fetch_not_found(f, &items[pend[i]]);
	free(pend);
	return ret;
}

int myri_fetcher_test_ring_op(struct myr_fetcher *f, uint8_t opcode)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	if (!f->ring)
		return -ENOSYS;
	sqe = io_uring_get_sqe(&f->ring->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_rw(opcode, sqe, -1, NULL, 0, 0);
	sqe->user_data = 0;
	ret = io_uring_submit_and_wait(&f->ring->ring, 1);
	if (ret < 0)
		return ret;
	ret = io_uring_peek_cqe(&f->ring->ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&f->ring->ring, cqe);
	return ret;
}

#else /* !FETCH_HAVE_LIBURING */

int myri_fetch_uring_init(struct myr_fetcher *f, struct myr_error *err)
{
	(void)f;
	return myr_error_set(err, -ENOSYS, "built without io_uring support");
}

void myri_fetch_uring_close(struct myr_fetcher *f)
{
	(void)f;
}

int myri_fetch_uring_batch(struct myr_fetcher *f, struct myr_fetch_item *items,
		      size_t n)
{
	(void)f, (void)items, (void)n;
	return -ENOSYS;
}

int myri_fetcher_test_ring_op(struct myr_fetcher *f, uint8_t opcode)
{
	(void)f, (void)opcode;
	return -ENOSYS;
}

#endif
