/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the libFuzzer harnesses.  A harness turns a broken
 * promise of the library into a crash (__builtin_trap), so libFuzzer keeps
 * the input: out-of-bounds access and undefined behaviour are the
 * sanitizers' to catch, the contract checks here catch the rest.
 */
#ifndef MYRIAD_FUZZ_COMMON_H
#define MYRIAD_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <myriad/error.h>

#define FUZZ_REQUIRE(cond) do {                                          \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: contract broken: %s\n",     \
				__FILE__, __LINE__, #cond);               \
			__builtin_trap();                                 \
		}                                                         \
	} while (0)

/*
 * The input in a buffer of exactly its size (so the sanitizer sees any
 * read past the end) that is 8-aligned, as the reader requires of the
 * buffers the fetcher hands it.  malloc(0) may return NULL: one byte then.
 */
static inline uint8_t *fuzz_copy(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	FUZZ_REQUIRE(p && (uintptr_t)p % 8 == 0);
	if (size)
		memcpy(p, data, size);
	return p;
}

/*
 * error.h: a message is one line that names the problem.  Hostile bytes
 * must not reach the terminal through it, so no control character at all
 * (this also rules out a newline, which would forge a second line).
 */
static inline void fuzz_check_line(const char *line)
{
	static int lax = -1;
	FUZZ_REQUIRE(line && line[0] != '\0');
	size_t n = strnlen(line, MYR_ERROR_MSG_MAX * 8);
	FUZZ_REQUIRE(n < MYR_ERROR_MSG_MAX * 8);
	/* FUZZ_LAX_MESSAGES=1 lets a long run get past an open finding of
	 * this kind to look for others; `./build.sh fuzz` never sets it. */
	if (lax < 0)
		lax = getenv("FUZZ_LAX_MESSAGES") != NULL;
	if (lax)
		return;
	for (size_t i = 0; i < n; i++)
		FUZZ_REQUIRE((unsigned char)line[i] >= 0x20 && line[i] != 0x7f);
}

/* A failure must come with its code and message (error.h). */
static inline void fuzz_check_error(int rc, const struct myr_error *err)
{
	FUZZ_REQUIRE(rc < 0);
	FUZZ_REQUIRE(err->code == rc);
	fuzz_check_line(err->msg);
}

static inline void fuzz_diag_emit(void *opaque, const char *line)
{
	(void)opaque;
	fuzz_check_line(line);
}

#endif
