/* SPDX-License-Identifier: MIT */
/*
 * lib/base/bytes.h - comparing short byte strings (internal).
 *
 * The names a launch compares (module names in the name map, symbol names
 * at bind, the name a file was asked for) are a few to a few dozen bytes,
 * hundreds of thousands of times a launch.  musl's memcmp() is a call and
 * a loop over single bytes; this compares words, inline.
 */
#ifndef MYRIAD_BASE_BYTES_H
#define MYRIAD_BASE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t bytes_load64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t bytes_load32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Whether a[0..n) and b[0..n) hold the same bytes.  Reads nothing outside
 * them: the tail is a word ending at byte n, overlapping bytes already
 * compared, never a word past the end.
 */
static inline int bytes_equal(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8)
			if (bytes_load64(p + i) != bytes_load64(q + i))
				return 0;
		return bytes_load64(p + n - 8) == bytes_load64(q + n - 8);
	}
	if (n >= 4)
		return bytes_load32(p) == bytes_load32(q) &&
		       bytes_load32(p + n - 4) == bytes_load32(q + n - 4);
	/* 0 to 3 bytes: the first, middle and last cover them all. */
	return n == 0 || (p[0] == q[0] && p[n / 2] == q[n / 2] &&
			  p[n - 1] == q[n - 1]);
}

#endif
