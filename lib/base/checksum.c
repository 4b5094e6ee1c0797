/* SPDX-License-Identifier: MIT */
/*
 * XXH64, written from the public xxHash specification (doc/xxhash_spec.md in
 * the xxHash repository), and the module checksum built on it.
 *
 * The module checksum must treat the header's checksum field as zero without
 * copying the file, so the hash is computed as a stream: the bytes before
 * the field, eight zero bytes, then the rest.
 */
#include <string.h>
#include <myriad/module.h>
#include "base/xxh64.h"

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

#define STRIPE 32u

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	      "lanes are read as little-endian words");

#define xxh64_state myri_xxh64

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t load32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t lane_round(uint64_t acc, uint64_t lane)
{
	acc += lane * P2;
	acc = rotl64(acc, 31);
	return acc * P1;
}

static inline uint64_t merge_acc(uint64_t acc, uint64_t lane_acc)
{
	acc ^= lane_round(0, lane_acc);
	return acc * P1 + P4;
}

static void xxh64_init(struct xxh64_state *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->acc[0] = seed + P1 + P2;
	s->acc[1] = seed + P2;
	s->acc[2] = seed;
	s->acc[3] = seed - P1;
}

static inline void consume_stripe(uint64_t acc[4], const uint8_t *p)
{
	acc[0] = lane_round(acc[0], load64(p));
	acc[1] = lane_round(acc[1], load64(p + 8));
	acc[2] = lane_round(acc[2], load64(p + 16));
	acc[3] = lane_round(acc[3], load64(p + 24));
}

/* Whole stripes, with the lanes in locals: through s->acc the compiler
 * must assume each store may change the bytes being hashed, and the
 * store-to-load round trip would lengthen every lane's dependency chain. */
static void consume_stripes(uint64_t acc[4], const uint8_t *p, size_t n)
{
	uint64_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];

	for (; n; n--, p += STRIPE) {
		a0 = lane_round(a0, load64(p));
		a1 = lane_round(a1, load64(p + 8));
		a2 = lane_round(a2, load64(p + 16));
		a3 = lane_round(a3, load64(p + 24));
	}
	acc[0] = a0;
	acc[1] = a1;
	acc[2] = a2;
	acc[3] = a3;
}

static void xxh64_update(struct xxh64_state *s, const uint8_t *p, size_t len)
{
	s->total += len;
	if (s->npending) {
		size_t take = STRIPE - s->npending;
		if (take > len)
			take = len;
		memcpy(s->pending + s->npending, p, take);
		s->npending += (uint32_t)take;
		p += take;
		len -= take;
		if (s->npending < STRIPE)
			return;
		consume_stripe(s->acc, s->pending);
		s->npending = 0;
	}
	consume_stripes(s->acc, p, len / STRIPE);
	p += len - len % STRIPE;
	len %= STRIPE;
	memcpy(s->pending, p, len);
	s->npending = (uint32_t)len;
}

/* The end of a hash of total bytes: the lanes acc, then the last left
 * (< STRIPE) bytes at p. */
static uint64_t xxh64_finish(const uint64_t acc[4], uint64_t seed,
			     uint64_t total, const uint8_t *p, size_t left)
{
	uint64_t h;

	if (total >= STRIPE) {
		h = rotl64(acc[0], 1) + rotl64(acc[1], 7) +
		    rotl64(acc[2], 12) + rotl64(acc[3], 18);
		for (int i = 0; i < 4; i++)
			h = merge_acc(h, acc[i]);
	} else {
		h = seed + P5;
	}
	h += total;

	for (; left >= 8; left -= 8, p += 8) {
		h ^= lane_round(0, load64(p));
		h = rotl64(h, 27) * P1 + P4;
	}
	if (left >= 4) {
		h ^= (uint64_t)load32(p) * P1;
		h = rotl64(h, 23) * P2 + P3;
		left -= 4;
		p += 4;
	}
	for (; left; left--, p++) {
		h ^= *p * P5;
		h = rotl64(h, 11) * P1;
	}

	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

static uint64_t xxh64_final(const struct xxh64_state *s)
{
	return xxh64_finish(s->acc, s->seed, s->total, s->pending, s->npending);
}

void myri_xxh64_init(struct myri_xxh64 *s, uint64_t seed)
{
	xxh64_init(s, seed);
}

void myri_xxh64_update(struct myri_xxh64 *s, const void *p, size_t len)
{
	xxh64_update(s, p, len);
}

uint64_t myri_xxh64_final(const struct myri_xxh64 *s)
{
	return xxh64_final(s);
}

uint64_t myr_xxh64(const void *data, size_t len, uint64_t seed)
{
	struct xxh64_state s;
	xxh64_init(&s, seed);
	xxh64_update(&s, data, len);
	return xxh64_final(&s);
}

/* The checksum field is the last lane of the first stripe. */
static_assert(offsetof(struct myr_header, checksum) == STRIPE - 8,
	      "the module checksum zeroes lane 3 of stripe 0");

uint64_t myr_module_checksum(const void *module, size_t len)
{
	const uint8_t *p = module;

	if (len < STRIPE) {
		/* Outside the contract (len >= 32); hash what is there. */
		return myr_xxh64(p, len, 0);
	}
	/* The stream (bytes before the field, eight zeros, the rest) taken
	 * whole: stripe 0 with its last lane zero, then the file in place,
	 * without the stream's copies into its pending buffer. */
	uint64_t acc[4] = { P1 + P2, P2, 0, -P1 };
	acc[0] = lane_round(acc[0], load64(p));
	acc[1] = lane_round(acc[1], load64(p + 8));
	acc[2] = lane_round(acc[2], load64(p + 16));
	acc[3] = lane_round(acc[3], 0);
	consume_stripes(acc, p + STRIPE, len / STRIPE - 1);
	return xxh64_finish(acc, 0, len, p + len - len % STRIPE, len % STRIPE);
}
