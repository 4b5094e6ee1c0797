/* SPDX-License-Identifier: MIT */
/*
 * Where the pool keeps itself: the first pool of a process and a small
 * plan live in static storage and inline (lib/image/pool.c), later pools and
 * larger plans on the heap.  Whichever storage each got, pools alive at
 * the same time stay independent, and a pool created after another was
 * freed works like the first.
 */
#include <string.h>
#include <myriad/loader.h>
#include "harness.h"

static struct myr_pool_request request(uint32_t salt)
{
	struct myr_pool_request r = { 0 };
	r.size[MYR_SEG_TEXT] = 24 + salt;
	r.align_log2[MYR_SEG_TEXT] = 4;
	r.size[MYR_SEG_RODATA] = 7 + salt;
	r.size[MYR_SEG_RELRO] = 16;
	r.align_log2[MYR_SEG_RELRO] = 3;
	r.size[MYR_SEG_DATA] = 8 + salt;
	r.align_log2[MYR_SEG_DATA] = 3;
	r.size[MYR_SEG_BSS] = 5;
	return r;
}

/* A mapped pool of n modules, each segment filled with its own byte. */
static struct myr_pool *filled_pool(size_t n, uint8_t tag)
{
	struct myr_pool_request req[16];
	struct myr_pool_limits lim;
	struct myr_error err = { 0 };
	struct myr_pool *p = NULL;

	if (n > sizeof(req) / sizeof(req[0]))
		return NULL;
	for (size_t i = 0; i < n; i++)
		req[i] = request((uint32_t)i);
	myr_pool_limits_default(&lim);
	if (myr_pool_init(&p, MYR_ALLOC_POOLING, &lim) < 0)
		return NULL;
	if (myr_pool_plan(p, req, n, &err) < 0 || myr_pool_map(p, &err) < 0) {
		TH_LOG("pool of %zu: %s", n, err.msg);
		myr_pool_exit(p);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
			memset(myr_pool_segment(p, i, s),
			       tag + (int)(i * MYR_SEG_COUNT + s), req[i].size[s]);
	return p;
}

/* Every segment still holds its byte: no other pool wrote over it. */
static int intact(const struct myr_pool *p, size_t n, uint8_t tag)
{
	for (size_t i = 0; i < n; i++) {
		struct myr_pool_request r = request((uint32_t)i);
		for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
			const uint8_t *b = myr_pool_segment(p, i, s);
			uint8_t want = (uint8_t)(tag + i * MYR_SEG_COUNT + s);
			for (uint32_t k = 0; k < r.size[s]; k++)
				if (b[k] != want)
					return 0;
		}
	}
	return 1;
}

TEST(pools_alive_together_are_independent)
{
	/* Sizes on both sides of what fits inline. */
	static const size_t sizes[] = { 1, 4, 5, 16, 2, 0 };
	struct myr_pool *p[5];

	for (size_t k = 0; k < 5; k++) {
		p[k] = filled_pool(sizes[k], (uint8_t)(k * 40));
		ASSERT_NONNULL(p[k]);
	}
	for (size_t k = 0; k < 5; k++) {
		EXPECT_TRUE(intact(p[k], sizes[k], (uint8_t)(k * 40)));
		for (size_t j = 0; j < k; j++)
			EXPECT_NE(myr_pool_base(p[j]), myr_pool_base(p[k]));
	}
	for (size_t k = 0; k < 5; k++)
		myr_pool_exit(p[k]);
}

TEST(a_pool_after_another_was_freed_works_alike)
{
	for (int round = 0; round < 3; round++) {
		for (size_t n = 1; n <= 6; n++) {
			struct myr_pool *a = filled_pool(n, 1), *b;
			ASSERT_NONNULL(a);
			b = filled_pool(7 - n, 100);
			ASSERT_NONNULL(b);
			EXPECT_TRUE(intact(a, n, 1));
			EXPECT_TRUE(intact(b, 7 - n, 100));
			/* Free in either order: the next round's first pool
			 * gets whichever storage is free. */
			if (round % 2) {
				myr_pool_exit(a);
				myr_pool_exit(b);
			} else {
				myr_pool_exit(b);
				myr_pool_exit(a);
			}
		}
	}
}

TEST(a_released_pool_keeps_its_mapping)
{
	struct myr_pool *p = filled_pool(3, 7), *q;
	uint8_t *seg;

	ASSERT_NONNULL(p);
	seg = myr_pool_segment(p, 2, MYR_SEG_DATA);
	myr_pool_release(p);
	/* The next pool may take the released one's storage. */
	q = filled_pool(2, 200);
	ASSERT_NONNULL(q);
	EXPECT_EQ(seg[0], (uint8_t)(7 + 2 * MYR_SEG_COUNT + MYR_SEG_DATA));
	EXPECT_TRUE(intact(q, 2, 200));
	myr_pool_exit(q);
}

TEST_HARNESS_MAIN
