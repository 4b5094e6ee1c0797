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
 */
#ifndef MYRIAD_FETCH_H
#define MYRIAD_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <myriad/error.h>

enum myr_io_mode {
	MYR_IO_AUTO = 0,    /* io_uring if the kernel allows it, else sync */
	MYR_IO_URING,       /* io_uring or fail (-ENOSYS/-EPERM) */
	MYR_IO_SYNC,        /* plain openat2/read/close */
};

struct myr_fetcher;

/* Called with each directory tried and each candidate rejected, for
 * MYRIAD_DEBUG=files.  NULL for silence. */
typedef void (*myr_fetch_trace_fn)(void *opaque, const char *line);

struct myr_fetch_config {
	const char *const *dirs;   /* library directories, searched in order */
	unsigned ndirs;
	enum myr_io_mode io;
	myr_fetch_trace_fn trace;
	void *trace_opaque;
};

/*
 * One file of a batch.  The caller fills name, name_len and size_hint
 * (0 if unknown); myr_fetcher_fetch() fills the rest.
 */
struct myr_fetch_item {
	const char *name;          /* module name, validated by the caller */
	uint32_t name_len;
	uint32_t size_hint;        /* expected file size, or 0 */
	/* results */
	int status;                /* 0, -ENOENT (in no directory), or -errno;
	                              err holds the message when not 0 */
	int dir;                   /* index of the directory it came from */
	const uint8_t *data;       /* whole file, 8-aligned, owned by fetcher */
	size_t len;
	struct myr_error err;
};

/*
 * Open the directories and (in io_uring or auto mode) set up the ring.
 * A directory that cannot be opened is an error (-errno, err names it).
 * In MYR_IO_AUTO a ring that cannot be created silently selects sync mode;
 * myr_fetcher_io() tells which mode is in use.
 */
int myr_fetcher_init(struct myr_fetcher **out, const struct myr_fetch_config *cfg,
		     struct myr_error *err);
enum myr_io_mode myr_fetcher_io(const struct myr_fetcher *f);

/*
 * Fetch a batch.  Every item gets a status; the return value is 0 if the
 * batch ran (even if some items failed) or -errno if the fetcher itself
 * failed.  Buffers stay valid until myr_fetcher_exit().  Each file's read
 * size is its size_hint (or a default), with one more read only when the
 * file's header says it is larger.
 */
int myr_fetcher_fetch(struct myr_fetcher *f, struct myr_fetch_item *items,
		      size_t n);

/*
 * Close the ring and every directory fd, keeping fetched buffers alive.
 * After this the process holds no fd the fetcher opened.
 */
void myr_fetcher_close(struct myr_fetcher *f);

/* Free the buffers and the fetcher (closing first if needed). */
void myr_fetcher_exit(struct myr_fetcher *f);

#endif /* MYRIAD_FETCH_H */
