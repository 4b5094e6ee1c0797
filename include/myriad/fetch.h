/* SPDX-License-Identifier: MIT */
/*
 * myriad/fetch.h - reading many module files from library directories fast.
 *
 * A fetcher holds the library directories (each opened once, O_PATH |
 * O_DIRECTORY) and, in io_uring mode, one ring with a sparse table of direct
 * descriptors, so any number of files can be read without meeting
 * RLIMIT_NOFILE.  A batch is a set of module names; each is looked up in the
 * directories in order as NAME.myr, opened with resolution confined beneath
 * the directory (openat2 RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, or an
 * equivalent check where openat2 is missing), opened O_NONBLOCK so a FIFO
 * never hangs, and read whole into memory owned by the fetcher.
 *
 * Conventions are those of <myriad/error.h>.
 *
 * Typical use:
 *
 *     struct myr_fetch_config cfg = { .dirs = dirs, .ndirs = n };
 *     struct myr_fetcher *f;
 *     if (myr_fetcher_init(&f, &cfg, &err) < 0) ...;      // err names the dir
 *     myr_fetcher_fetch(f, items, nitems);                 // items[i].status
 *     ... as many batches as needed (one per breadth-first level) ...
 *     myr_fetcher_close(f);     // before the sandbox: no fd, no ring left
 *     ... use items[i].data ...
 *     myr_fetcher_exit(f);      // frees every buffer
 *
 * Lookup rules (docs/launcher.md):
 *   - The directories are tried in order.  Only "no such file" (-ENOENT)
 *     moves on to the next directory: the first directory holding an entry
 *     called NAME.myr decides, so a broken or hostile candidate is reported,
 *     never silently shadowed by a later one.
 *   - Symlinks inside a directory are followed as long as they resolve to a
 *     file beneath it.  One that leaves it (absolute, or through "..") is
 *     rejected: "escapes the library directory".  Magic links (/proc) are
 *     rejected too.  On kernels without openat2 (before 5.6) the fetcher
 *     uses openat(O_NOFOLLOW) instead, which rejects every symlink: stricter,
 *     never looser.
 *   - Only regular files are read.  A directory, FIFO, socket or device is
 *     rejected with a message naming its type; none of them can block.
 *   - A file must be a whole module: myr_module_probe() accepts its first
 *     bytes, and its length is exactly what the header says.  Anything else
 *     (truncated, longer than its header, not a module) is rejected with the
 *     reason.
 *
 * Lanes.  A batch of at least MYR_FETCH_LANES_MIN_ITEMS pending files is
 * read by the calling thread plus up to nthreads-1 pthreads, each taking
 * runs of LANE_RUN consecutive items from a shared counter until none are
 * left (so a lane on a busy CPU simply takes fewer).  Every thread is
 * joined before myr_fetcher_fetch() returns: outside a call the process
 * is single-threaded, so a seccomp filter installed later covers every
 * thread there is.  A thread that cannot be created costs nothing but
 * its share: the lanes that exist take the work, never a failure.  With
 * a trace callback there is only one lane, so its lines stay in order.
 * Results do not depend on the number of lanes: each item's status,
 * bytes and message are what one lane gives (tests/unit/test_fetch_lanes).
 *
 * Which I/O the lanes use.  In sync mode every lane uses plain syscalls.
 * In io_uring mode the calling thread keeps the ring (rings are
 * single-issuer, created disabled and restricted by that thread), yet
 * while the directory is hot every lane, the ring's included, reads with
 * plain syscalls, asking for an open the dentry cache can answer alone
 * (RESOLVE_CACHED) and a read of cached pages (RWF_NOWAIT): hot, every
 * request of a ring completes inline and costs as much or more per file
 * than the syscalls.  Cold, those fail with -EAGAIN; once a lane's misses
 * pass a threshold (4 opens or 16 reads in 128 files, so the odd page
 * reclaimed from a hot tree hands nothing over), a helper stops after its
 * run and the ring lane reads the rest of the batch, and every later
 * batch, through the ring in long runs, keeping its many reads in flight.
 * myr_fetch_stats.ring_opens counts what went through the ring.
 * The measurements behind this choice are in docs/performance.md
 * ("The fetcher's lanes and ring").
 *
 * Cost (the fast path): one open, one read and no stat per file, the
 * descriptors of finished files closed together, a close_range() per run
 * of them (at most 128 held at once, fewer under a low RLIMIT_NOFILE,
 * none between batches); through
 * the ring, all files of a batch in a handful of io_uring_enter calls (two
 * per 682 files).  A
 * directory whose files cannot be read without blocking (tmpfs) is read
 * with plain syscalls instead, which measured faster there.  The file type is only
 * looked at when something is off (a failed or short read, bytes the probe
 * rejects), so a valid closure never pays for it.
 */
#ifndef MYRIAD_FETCH_H
#define MYRIAD_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <myriad/error.h>

enum myr_io_mode {
	MYR_IO_AUTO = 0,    /* io_uring if the kernel allows it, else sync;
	                       the ring is created only once a batch is cold,
	                       and until then myr_fetcher_io() says AUTO */
	MYR_IO_URING,       /* io_uring or fail (-ENOSYS/-EPERM) */
	MYR_IO_SYNC,        /* plain openat2/read/close */
};

struct myr_fetcher;
struct myr_fetch_item;

/*
 * Called with one line (no newline, valid only during the call) for each
 * directory tried per file, each candidate rejected and why, and each file
 * found, for MYRIAD_DEBUG=files.  NULL for silence (then nothing is
 * formatted).  In io_uring mode the lines of one batch come in the order
 * the work completes, not file by file.
 */
typedef void (*myr_fetch_trace_fn)(void *opaque, const char *line);

/* myr_fetch_config.flags: overrides for measurements and tests only.  The
 * defaults are the fastest measured mode (docs/performance.md). */
#define MYR_FETCH_F_ASYNC   0x1u  /* io_uring: punt every request to io-wq
                                     workers (IOSQE_ASYNC); by default
                                     only what would block goes there */
#define MYR_FETCH_F_INLINE  0x2u  /* io_uring: never set IOSQE_ASYNC (the
                                     default) */
#define MYR_FETCH_F_LINKED  0x4u  /* io_uring: linked open->read pairs in
                                     one submission, instead of all opens,
                                     then all reads */

struct myr_fetch_config {
	const char *const *dirs;   /* library directories, searched in order;
	                              copied, need not outlive init */
	unsigned ndirs;            /* >= 1 */
	enum myr_io_mode io;
	myr_fetch_trace_fn trace;
	void *trace_opaque;
	unsigned flags;            /* MYR_FETCH_F_*, normally 0 */
	/* Lanes: threads reading one batch together (see "Lanes" above).
	 * 0: auto (the CPUs this thread may run on, at most
	 * MYR_FETCH_LANES_MAX); 1: no thread ever; larger values are capped
	 * at MYR_FETCH_LANES_MAX. */
	unsigned nthreads;
	/* The most bytes of module files this fetcher may read, over all its
	 * batches and lanes together; 0: MYR_LOAD_BYTES_MAX (a larger value
	 * is capped to it).  A file that would pass it fails with -EDQUOT
	 * and a message naming MYR_LOAD_BYTES_MAX and the total. */
	uint64_t max_bytes;
	/* Called once per item of a batch, as soon as its status is final,
	 * on the lane (thread) that read it, so the caller's per-file work
	 * (parsing, checksums) runs on all lanes too.  It may only write
	 * memory belonging to item `index` and must not call the fetcher.
	 * Items of a failed batch (myr_fetcher_fetch() < 0) may be skipped.
	 * NULL: none. */
	void (*on_item)(void *opaque, size_t index,
			const struct myr_fetch_item *item);
	void *on_item_opaque;
};

/* Lanes at most, whatever nthreads asks; and the smallest batch (pending
 * items) worth a thread. */
#define MYR_FETCH_LANES_MAX      4u
#define MYR_FETCH_LANES_MIN_ITEMS 256u

/*
 * One file of a batch.  The caller fills name, name_len and size_hint
 * (0 if unknown); myr_fetcher_fetch() fills the rest.
 */
struct myr_fetch_item {
	const char *name;          /* module name, validated by the caller; the
	                              fetcher still refuses '/', NUL, "." and
	                              ".." and names over MYR_NAME_MAX (-EINVAL) */
	uint32_t name_len;
	uint32_t size_hint;        /* expected file size, or 0; a hint only:
	                              a wrong one costs one more read, never
	                              correctness */
	/* results */
	int status;                /* 0, -ENOENT (in no directory), -EDQUOT
	                              (over max_bytes), or -errno;
	                              msg says why when not 0 */
	int dir;                   /* index of the directory it came from, or
	                              of the one whose candidate was rejected;
	                              -1 when in none */
	const uint8_t *data;       /* whole file, 16-aligned, owned by the
	                              fetcher; NULL unless status is 0 */
	size_t len;                /* exact file length (#! line included);
	                              with -EDQUOT, the bytes the file would
	                              have added to the budget */
	const char *msg;           /* "" when status is 0, else one line
	                              (at most MYR_ERROR_MSG_MAX - 1 bytes)
	                              owned by the fetcher, valid until
	                              myr_fetcher_exit(): e.g. "not found in
	                              /a, /b", "is a FIFO", "escapes the
	                              library directory", "truncated: header
	                              says 5000 bytes, file has 3000".  A
	                              pointer, so that an item stays 48
	                              bytes: the loader's batch of every
	                              module is touched whole */
};

/*
 * Open the directories and (in io_uring mode) set up the ring.
 * A directory that cannot be opened is an error (-errno, err names it).
 * In MYR_IO_URING a ring that cannot be created (no io_uring in the
 * kernel, kernel.io_uring_disabled, a seccomp profile denying it, a kernel
 * without direct descriptors) fails init with the kernel's -errno and a
 * message.
 *
 * MYR_IO_AUTO creates no ring at init: a hot load reads everything with
 * plain syscalls anyway (see "Which I/O the lanes use"), and creating,
 * registering and mapping a ring it never used cost it io_uring_setup,
 * 3 io_uring_register and 14 page faults (docs/performance.md).  The thread calling myr_fetcher_fetch() creates the ring (the
 * same way: disabled, restricted, enabled) the first time a batch turns
 * out cold, and reads through it
 * from then on; if it cannot, the fetcher stays in sync mode for good and
 * the stats' note says why.  myr_fetcher_io() and the stats' io say what
 * is in use: MYR_IO_AUTO while no batch was cold (no ring, every file read
 * with plain syscalls, note "auto: no ring yet ..."), then MYR_IO_URING
 * (the ring exists) or MYR_IO_SYNC (it could not be created).
 *
 * The ring is created disabled, restricted to the operations the fetcher
 * issues (OPENAT2, READ and LINK_TIMEOUT; no register operation at all),
 * then enabled; only a kernel that lacks restrictions gets an unrestricted
 * ring, and the stats say so.  io_uring mode needs Linux 5.19 (sparse
 * direct descriptor tables); AUTO falls back to sync on older kernels.
 *
 * A fetcher is used by one thread at a time, and in io_uring mode by the
 * thread that created it (the ring is single-issuer); in MYR_IO_AUTO, by
 * the thread that fetched the first cold batch.  The lanes it runs
 * inside myr_fetcher_fetch() are its own business (see "Lanes").
 */
int myr_fetcher_init(struct myr_fetcher **out, const struct myr_fetch_config *cfg,
		     struct myr_error *err);
enum myr_io_mode myr_fetcher_io(const struct myr_fetcher *f);

/*
 * Fetch a batch.  Every item gets a status; the return value is 0 if the
 * batch ran (even if some items failed) or -errno if the fetcher itself
 * failed (-ENOMEM, -EBADF after myr_fetcher_close()), in which case items
 * without a result have status -ECANCELED.  Buffers stay valid until
 * myr_fetcher_exit().  Each file's read size is its size_hint (rounded up
 * a little, so a file longer than its header is noticed) or a default of
 * 4 KiB, with one more read only when the file's header says it is larger.
 * The same name may appear twice in a batch; it is then read twice.
 */
int myr_fetcher_fetch(struct myr_fetcher *f, struct myr_fetch_item *items,
		      size_t n);

/*
 * Close the ring (however late it was created) and every directory fd,
 * keeping fetched buffers alive.  After this the process holds no fd the
 * fetcher opened, and no ring is created any more.  Idempotent.
 */
void myr_fetcher_close(struct myr_fetcher *f);

/* Free the buffers and the fetcher (closing first if needed).  NULL is a
 * no-op. */
void myr_fetcher_exit(struct myr_fetcher *f);

/* What the fetcher did, for --stats and MYRIAD_DEBUG. */
struct myr_fetch_stats {
	enum myr_io_mode io;       /* MYR_IO_URING or MYR_IO_SYNC, or
	                              MYR_IO_AUTO: no ring yet, every batch
	                              was hot (myr_fetcher_init()) */
	int ring_restricted;       /* 1: the ring allows only the fetcher's
	                              opcodes; 0: sync mode, or a kernel without
	                              IORING_REGISTER_RESTRICTIONS */
	unsigned ring_async;       /* one file in this many is punted to io-wq
	                              workers (IOSQE_ASYNC); 0: none */
	unsigned slots;            /* direct descriptor table size */
	char note[160];            /* why AUTO chose sync, why the ring is
	                              unrestricted, or that AUTO has no ring
	                              yet; "" otherwise */
	uint64_t files;            /* files read whole */
	uint64_t bytes;            /* their total length */
	uint64_t opens;            /* open attempts, all directories */
	uint64_t extra_reads;      /* second reads (file over its read size) */
	uint64_t slow_path;        /* candidates re-examined with fstat */
	uint64_t submits;          /* io_uring_enter calls */
	uint64_t ring_opens;       /* open attempts made through the ring
	                              (0: every file read with syscalls) */
	uint64_t arena_bytes;      /* buffer memory mapped */
	unsigned lanes;            /* most lanes any batch ran on (1: none) */
};

void myr_fetcher_stats(const struct myr_fetcher *f, struct myr_fetch_stats *out);

/*
 * What a file of this st_mode is, for messages about files that are not
 * regular: "a directory", "a FIFO", "a socket", "a character device", ...
 * A static string.
 */
const char *myr_file_type_name(unsigned mode);

#endif /* MYRIAD_FETCH_H */
