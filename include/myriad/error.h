/* SPDX-License-Identifier: MIT */
/*
 * myriad/error.h - how libmyriad reports what went wrong.
 *
 * Conventions shared by every libmyriad function:
 *   - Functions return 0 (or a non-negative count) on success and -errno on
 *     failure.  They never read or write the global errno, never print, and
 *     never exit.
 *   - Where a failure is caused by input (a module file, an object file, a
 *     name), the caller may pass a struct myr_error; the function then fills
 *     msg with one line of English that names the problem (the field, the
 *     index, the limit), without the file name: the caller knows the file
 *     and prefixes it.  err may be NULL.
 *   - Functions that can find several independent problems at once (the
 *     loader, the linker) report each through a struct myr_diag before
 *     returning a single failure, so users see every missing module or
 *     symbol, not just the first.
 */
#ifndef MYRIAD_ERROR_H
#define MYRIAD_ERROR_H

#include <stddef.h>

#define MYR_ERROR_MSG_MAX 512

struct myr_error {
	int  code;                    /* the -errno also returned */
	char msg[MYR_ERROR_MSG_MAX];  /* one line, no trailing newline */
};

/*
 * A sink for diagnostics.  emit() receives one complete line without a
 * trailing newline; the string is only valid during the call.  count is
 * incremented by myr_diag_emitf() for every line, so callers can tell how
 * many problems were reported.
 */
struct myr_diag {
	void   (*emit)(void *opaque, const char *line);
	void    *opaque;
	unsigned count;
};

/*
 * Fill err (if not NULL) with code and a printf-style message, and return
 * code, so that "return myr_error_set(err, -EBADMSG, ...)" reads naturally.
 * The message is truncated to MYR_ERROR_MSG_MAX - 1 bytes.
 */
int myr_error_set(struct myr_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Format one line and hand it to diag->emit (if diag and emit are not NULL);
 * always increments diag->count when diag is not NULL.
 */
void myr_diag_emitf(struct myr_diag *diag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* MYRIAD_ERROR_H */
