/* SPDX-License-Identifier: MIT */
/*
 * lib/base/xxh64.h - XXH64 as a stream (internal): one hash over pieces
 * scattered in memory costs one finalisation, not one per piece
 * (lib/base/checksum.c; myr_xxh64() in <myriad/module.h> is the one-shot).
 */
#ifndef MYRIAD_BASE_XXH64_H
#define MYRIAD_BASE_XXH64_H

#include <stddef.h>
#include <stdint.h>

struct myri_xxh64 {
	uint64_t acc[4];
	uint64_t total;
	uint8_t  pending[32];     /* bytes not yet forming a whole stripe */
	uint32_t npending;
	uint64_t seed;
};

void myri_xxh64_init(struct myri_xxh64 *s, uint64_t seed);
/* len bytes at p (p must be valid even when len is 0). */
void myri_xxh64_update(struct myri_xxh64 *s, const void *p, size_t len);
uint64_t myri_xxh64_final(const struct myri_xxh64 *s);

#endif
