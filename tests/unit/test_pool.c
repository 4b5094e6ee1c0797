/* SPDX-License-Identifier: MIT */
/* The pool allocator: packing, alignment, limits, W^X, system call counts. */
#include <stdio.h>
#include <myriad/loader.h>
#include "harness.h"

/* Whether any mapping of this process is writable and executable. */
static int rwx_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char perms[8];
		if (sscanf(line, "%*x-%*x %7s", perms) == 1 &&
		    perms[1] == 'w' && perms[2] == 'x')
			n++;
	}
	fclose(f);
	return n;
}

/* The permissions ("r-xp") of the mapping holding addr, or "" if none. */
static void perms_of(const void *addr, char out[8])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long lo, hi, a = (unsigned long)addr;

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, out) == 3 &&
		    a >= lo && a < hi)
			break;
		else
			out[0] = '\0';
	fclose(f);
}

static struct myr_pool_request tiny(uint32_t text, uint32_t data)
{
	struct myr_pool_request r = { 0 };
	r.size[MYR_SEG_TEXT] = text;
	r.align_log2[MYR_SEG_TEXT] = 4;
	r.size[MYR_SEG_RODATA] = 5;
	r.size[MYR_SEG_RELRO] = 8;
	r.align_log2[MYR_SEG_RELRO] = 3;
	r.size[MYR_SEG_DATA] = data;
	r.align_log2[MYR_SEG_DATA] = 3;
	r.size[MYR_SEG_BSS] = 3;
	r.align_log2[MYR_SEG_BSS] = 2;
	return r;
}

static struct myr_pool *planned(enum myr_alloc_strategy s,
				const struct myr_pool_request *req, size_t n)
{
	struct myr_pool_limits lim;
	struct myr_pool *p = NULL;
	struct myr_error err = { 0 };

	myr_pool_limits_default(&lim);
	if (myr_pool_init(&p, s, &lim) < 0)
		return NULL;
	if (myr_pool_plan(p, req, n, &err) < 0) {
		TH_LOG("plan: %s", err.msg);
		myr_pool_exit(p);
		return NULL;
	}
	return p;
}

TEST(pooling_packs_many_tiny_modules_per_page)
{
	enum { N = 1000 };
	static struct myr_pool_request req[N];
	struct myr_pool_usage u;
	struct myr_pool *p;

	for (int i = 0; i < N; i++)
		req[i] = tiny(20, 12);
	p = planned(MYR_ALLOC_POOLING, req, N);
	ASSERT_NONNULL(p);
	myr_pool_usage(p, &u);
	/* 20 bytes of text at 16-byte alignment: 32 per module, no pages. */
	EXPECT_EQ(u.class_bytes[MYR_CLASS_TEXT], (uint64_t)(N - 1) * 32 + 20);
	EXPECT_EQ(u.class_bytes[MYR_CLASS_RODATA], (uint64_t)N * 5);
	/* data 12 at 8: 16 per module; then, from the next page, every
	 * bss 3 at 4: 4 per module (an image zero-fills that tail). */
	uint64_t data_end = (uint64_t)(N - 1) * 16 + 12;
	uint64_t bss_rel = (data_end + 4095) & ~4095ull;
	EXPECT_EQ(u.class_bytes[MYR_CLASS_DATA], bss_rel + (uint64_t)(N - 1) * 4 + 3);
	EXPECT_EQ(myr_pool_bss_start(p), myr_pool_class_start(p, MYR_CLASS_DATA) + bss_rel);
	EXPECT_EQ(myr_pool_bss_start(p) % 4096, 0u);
	EXPECT_LT(u.reserved, (uint64_t)N * 4096 / 20);
	EXPECT_EQ(u.mmap_calls, 0u);
	myr_pool_exit(p);
}

TEST(every_segment_is_aligned_and_disjoint)
{
	enum { N = 300 };
	static struct myr_pool_request req[N];
	struct myr_error err = { 0 };
	struct myr_pool *p;

	for (int i = 0; i < N; i++) {
		req[i] = tiny((uint32_t)(i % 37) + 1, (uint32_t)(i % 11) + 1);
		req[i].align_log2[MYR_SEG_TEXT] = (uint8_t)(i % 13);
		req[i].align_log2[MYR_SEG_DATA] = (uint8_t)(i % 7);
	}
	for (int s = 0; s < 2; s++) {
		p = planned(s ? MYR_ALLOC_ON_DEMAND : MYR_ALLOC_POOLING, req, N);
		ASSERT_NONNULL(p);
		ASSERT_EQ(myr_pool_map(p, &err), 0);
		uint8_t *prev_end[MYR_SEG_COUNT] = { 0 };
		for (int i = 0; i < N; i++) {
			for (unsigned g = 0; g < MYR_SEG_COUNT; g++) {
				uint8_t *a = myr_pool_segment(p, (size_t)i, g);
				if (!req[i].size[g])
					continue;
				EXPECT_EQ((uintptr_t)a % (1u << req[i].align_log2[g]), 0u);
				/* Packed in order: never overlapping the previous. */
				EXPECT_TRUE(a >= prev_end[g]);
				prev_end[g] = a + req[i].size[g];
				memset(a, 0xa5, req[i].size[g]);   /* writable */
			}
		}
		myr_pool_exit(p);
	}
}

TEST(w_xor_x_and_a_fixed_number_of_mprotect_calls)
{
	size_t sizes[] = { 1, 10, 5000 };
	for (size_t k = 0; k < 3; k++) {
		size_t n = sizes[k];
		struct myr_pool_request *req = calloc(n, sizeof(*req));
		struct myr_error err = { 0 };
		struct myr_pool_usage u;
		char perms[8];
		struct myr_pool *p;

		ASSERT_NONNULL(req);
		for (size_t i = 0; i < n; i++)
			req[i] = tiny(30, 16);
		p = planned(MYR_ALLOC_POOLING, req, n);
		ASSERT_NONNULL(p);
		ASSERT_EQ(rwx_mappings(), 0);
		ASSERT_EQ(myr_pool_map(p, &err), 0);
		EXPECT_EQ(rwx_mappings(), 0);
		perms_of(myr_pool_segment(p, 0, MYR_SEG_TEXT), perms);
		EXPECT_STREQ(perms, "rw-p");
		ASSERT_EQ(myr_pool_protect(p, &err), 0);
		EXPECT_EQ(rwx_mappings(), 0);
		perms_of(myr_pool_segment(p, n - 1, MYR_SEG_TEXT), perms);
		EXPECT_STREQ(perms, "r-xp");
		perms_of(myr_pool_segment(p, n - 1, MYR_SEG_RODATA), perms);
		EXPECT_STREQ(perms, "r--p");
		perms_of(myr_pool_segment(p, 0, MYR_SEG_RELRO), perms);
		EXPECT_STREQ(perms, "r--p");
		perms_of(myr_pool_segment(p, n / 2, MYR_SEG_BSS), perms);
		EXPECT_STREQ(perms, "rw-p");
		myr_pool_usage(p, &u);
		/* Whatever n: mapped RW at once, then one for text, one for
		 * rodata+relro. */
		EXPECT_EQ(u.mprotect_calls, 2u);
		EXPECT_EQ(u.mmap_calls, 1u);
		myr_pool_exit(p);
		free(req);
	}
}

/* The loader's packed plan: a hello world's segments on three pages
 * (text; rodata and relro; data and bss) instead of five, with the same
 * protection as the image's plan. */
TEST(packed_pool_shares_pages_but_not_protections)
{
	struct myr_pool_request req[2] = { tiny(30, 16), tiny(30, 16) };
	struct myr_pool_limits lim;
	struct myr_error err = { 0 };
	struct myr_pool_usage u;
	struct myr_pool *p = NULL;
	char perms[8];

	req[1].align_log2[MYR_SEG_RELRO] = 6;
	myr_pool_limits_default(&lim);
	ASSERT_EQ(myr_pool_init(&p, MYR_ALLOC_POOLING, &lim), 0);
	myr_pool_pack(p);
	ASSERT_EQ(myr_pool_plan(p, req, 2, &err), 0);
	myr_pool_usage(p, &u);
	EXPECT_EQ(u.reserved, 3u * 4096);
	/* Relro right after rodata (10 bytes), at the largest relro
	 * alignment; bss right after data. */
	EXPECT_EQ(myr_pool_class_start(p, MYR_CLASS_RODATA), 4096u);
	EXPECT_EQ(myr_pool_class_start(p, MYR_CLASS_RELRO), 4096u + 64);
	EXPECT_EQ(myr_pool_class_start(p, MYR_CLASS_DATA), 2u * 4096);
	EXPECT_EQ(myr_pool_bss_start(p), 2u * 4096 + 32);
	EXPECT_EQ(u.class_bytes[MYR_CLASS_DATA], 32u + 4 + 3);
	ASSERT_EQ(myr_pool_map(p, &err), 0);
	for (size_t i = 0; i < 2; i++)
		for (unsigned g = 0; g < MYR_SEG_COUNT; g++) {
			EXPECT_EQ((uintptr_t)myr_pool_segment(p, i, g) %
				  (1u << req[i].align_log2[g]), 0u);
			memset(myr_pool_segment(p, i, g), 0xcc, req[i].size[g]);
		}
	EXPECT_EQ(myr_pool_segment(p, 1, MYR_SEG_RELRO) + 8,
		  myr_pool_base(p) + 4096 + 64 + 64 + 8);
	ASSERT_EQ(myr_pool_protect(p, &err), 0);
	EXPECT_EQ(rwx_mappings(), 0);
	perms_of(myr_pool_segment(p, 1, MYR_SEG_TEXT), perms);
	EXPECT_STREQ(perms, "r-xp");
	perms_of(myr_pool_segment(p, 0, MYR_SEG_RODATA), perms);
	EXPECT_STREQ(perms, "r--p");
	perms_of(myr_pool_segment(p, 1, MYR_SEG_RELRO), perms);
	EXPECT_STREQ(perms, "r--p");
	perms_of(myr_pool_segment(p, 1, MYR_SEG_BSS), perms);
	EXPECT_STREQ(perms, "rw-p");
	myr_pool_usage(p, &u);
	EXPECT_EQ(u.mprotect_calls, 2u);
#ifdef __x86_64__
	/* Static pages, not a mapping: given back writable and zeroed to
	 * the next small packed pool, while a concurrent one maps its own. */
	EXPECT_EQ(u.mmap_calls, 0u);
	uint8_t *base = myr_pool_base(p);
	struct myr_pool *q = NULL, *r = NULL;
	ASSERT_EQ(myr_pool_init(&q, MYR_ALLOC_POOLING, &lim), 0);
	myr_pool_pack(q);
	ASSERT_EQ(myr_pool_plan(q, req, 2, &err), 0);
	ASSERT_EQ(myr_pool_map(q, &err), 0);
	EXPECT_TRUE(myr_pool_base(q) != base);
	myr_pool_usage(q, &u);
	EXPECT_EQ(u.mmap_calls, 1u);
	myr_pool_exit(q);
	myr_pool_exit(p);
	ASSERT_EQ(myr_pool_init(&r, MYR_ALLOC_POOLING, &lim), 0);
	myr_pool_pack(r);
	ASSERT_EQ(myr_pool_plan(r, req, 2, &err), 0);
	ASSERT_EQ(myr_pool_map(r, &err), 0);
	EXPECT_TRUE(myr_pool_base(r) == base);
	perms_of(base, perms);
	EXPECT_STREQ(perms, "rw-p");
	for (size_t i = 0; i < 3 * 4096; i++)
		if (base[i]) {
			EXPECT_EQ(base[i], 0);
			break;
		}
	EXPECT_EQ(rwx_mappings(), 0);
	myr_pool_exit(r);
#else
	myr_pool_exit(p);
#endif
}

TEST(on_demand_puts_guard_pages_between_modules)
{
	struct myr_pool_request req[3] = { tiny(100, 8), tiny(100, 8), tiny(100, 8) };
	struct myr_error err = { 0 };
	struct myr_pool_usage u;
	char perms[8];
	struct myr_pool *p = planned(MYR_ALLOC_ON_DEMAND, req, 3);

	ASSERT_NONNULL(p);
	ASSERT_EQ(myr_pool_map(p, &err), 0);
	ASSERT_EQ(myr_pool_protect(p, &err), 0);
	EXPECT_EQ(rwx_mappings(), 0);
	for (size_t i = 0; i < 3; i++) {
		uint8_t *t = myr_pool_segment(p, i, MYR_SEG_TEXT);
		EXPECT_EQ((uintptr_t)t % 4096, 0u);
		perms_of(t - 4096, perms);
		EXPECT_STREQ(perms, "---p");
		perms_of(t, perms);
		EXPECT_STREQ(perms, "r-xp");
		perms_of(myr_pool_segment(p, i, MYR_SEG_DATA), perms);
		EXPECT_STREQ(perms, "rw-p");
	}
	myr_pool_usage(p, &u);
	EXPECT_EQ(u.mmap_calls, 4u);       /* reservation + one per module */
	EXPECT_EQ(u.mprotect_calls, 6u);   /* two per module */
	myr_pool_exit(p);
}

TEST(limits_are_checked_before_any_memory_is_touched)
{
	struct myr_pool_request req[4] = { tiny(600, 8), tiny(600, 8),
					   tiny(600, 8), tiny(600, 8) };
	struct myr_pool_limits lim;
	struct myr_error err = { 0 };
	struct myr_pool_usage u;
	struct myr_pool *p;

	myr_pool_limits_default(&lim);
	lim.size[MYR_CLASS_TEXT] = 2000;
	ASSERT_EQ(myr_pool_init(&p, MYR_ALLOC_POOLING, &lim), 0);
	EXPECT_EQ(myr_pool_plan(p, req, 4, &err), -E2BIG);
	EXPECT_STREQ(err.msg, "pool limit exceeded: text needs 2424 bytes, "
		     "--pool-text is 2000 bytes");
	myr_pool_usage(p, &u);
	EXPECT_EQ(u.mmap_calls, 0u);
	EXPECT_EQ(myr_pool_map(p, &err), -EINVAL);  /* not planned */
	myr_pool_exit(p);

	myr_pool_limits_default(&lim);
	lim.modules = 3;
	ASSERT_EQ(myr_pool_init(&p, MYR_ALLOC_POOLING, &lim), 0);
	EXPECT_EQ(myr_pool_plan(p, req, 4, &err), -E2BIG);
	EXPECT_STREQ(err.msg, "pool limit exceeded: 4 modules, --pool-modules is 3");
	myr_pool_exit(p);

	myr_pool_limits_default(&lim);
	lim.module_size = 600;
	ASSERT_EQ(myr_pool_init(&p, MYR_ALLOC_ON_DEMAND, &lim), 0);
	EXPECT_EQ(myr_pool_plan(p, req, 4, &err), -E2BIG);
	EXPECT_STREQ(err.msg, "pool limit exceeded: module 0 needs 624 bytes, "
		     "--pool-module-size is 600 bytes");
	myr_pool_exit(p);

	/* Exactly at the limit is fine. */
	myr_pool_limits_default(&lim);
	lim.size[MYR_CLASS_TEXT] = 2424;
	ASSERT_EQ(myr_pool_init(&p, MYR_ALLOC_POOLING, &lim), 0);
	EXPECT_EQ(myr_pool_plan(p, req, 4, &err), 0);
	myr_pool_exit(p);

	req[1].align_log2[MYR_SEG_DATA] = 13;
	p = NULL;
	myr_pool_limits_default(&lim);
	ASSERT_EQ(myr_pool_init(&p, MYR_ALLOC_POOLING, &lim), 0);
	EXPECT_EQ(myr_pool_plan(p, req, 4, &err), -EINVAL);
	myr_pool_exit(p);
}

TEST(limit_settings_parse_and_are_bounded)
{
	struct myr_pool_limits lim;
	struct myr_error err = { 0 };

	myr_pool_limits_default(&lim);
	EXPECT_EQ(lim.size[MYR_CLASS_TEXT], (uint64_t)MYR_POOL_DEFAULT_TEXT);
	EXPECT_EQ(myr_pool_limits_check(&lim, &err), 0);
	EXPECT_EQ(myr_pool_limit_set(&lim, "text", "64M", &err), 0);
	EXPECT_EQ(lim.size[MYR_CLASS_TEXT], 64ull << 20);
	EXPECT_EQ(myr_pool_limit_set(&lim, "rodata", "12KiB", &err), 0);
	EXPECT_EQ(lim.size[MYR_CLASS_RODATA], 12ull << 10);
	EXPECT_EQ(myr_pool_limit_set(&lim, "module-size", "1G", &err), 0);
	EXPECT_EQ(myr_pool_limit_set(&lim, "modules", "5000", &err), 0);
	EXPECT_EQ(lim.modules, 5000u);
	EXPECT_EQ(myr_pool_limit_set(&lim, "modules", "5K", &err), -EINVAL);
	EXPECT_EQ(myr_pool_limit_set(&lim, "text", "0", &err), -EINVAL);
	EXPECT_EQ(myr_pool_limit_set(&lim, "text", "", &err), -EINVAL);
	EXPECT_EQ(myr_pool_limit_set(&lim, "text", "12Q", &err), -EINVAL);
	EXPECT_EQ(myr_pool_limit_set(&lim, "text", "99999999999999999999", &err),
		  -EINVAL);
	EXPECT_EQ(myr_pool_limit_set(&lim, "text", "3G", &err), -EINVAL);
	EXPECT_EQ(myr_pool_limit_set(&lim, "heap", "1M", &err), -EINVAL);
	EXPECT_STREQ(err.msg, "unknown pool limit 'heap' (modules, text, rodata, "
		     "relro, data, module-size)");
	EXPECT_EQ(lim.size[MYR_CLASS_TEXT], 64ull << 20);  /* unchanged */

	myr_pool_limits_default(&lim);
	EXPECT_EQ(myr_pool_limit_set(&lim, "text", "2G", &err), 0);
	EXPECT_EQ(myr_pool_limits_check(&lim, &err), -EINVAL);
}

static int anchor_function(void)
{
	return 42;
}

TEST(the_reservation_is_within_reach_of_the_host)
{
	struct myr_pool_request req[2] = { tiny(64, 8), tiny(64, 8) };
	struct myr_error err = { 0 };
	struct myr_pool *p = planned(MYR_ALLOC_POOLING, req, 2);
	uintptr_t host = (uintptr_t)&anchor_function;

	ASSERT_NONNULL(p);
	myr_pool_set_near(p, host, host + 4096);
	ASSERT_EQ(myr_pool_map(p, &err), 0);
	for (size_t i = 0; i < 2; i++) {
		intptr_t d = (intptr_t)myr_pool_segment(p, i, MYR_SEG_TEXT) -
			     (intptr_t)host;
		EXPECT_LT(d < 0 ? -d : d, (intptr_t)1 << 31);
	}
	EXPECT_EQ(anchor_function(), 42);
	myr_pool_exit(p);
}

TEST(an_empty_closure_needs_no_memory)
{
	struct myr_error err = { 0 };
	struct myr_pool *p = planned(MYR_ALLOC_POOLING, NULL, 0);
	struct myr_pool_usage u;

	ASSERT_NONNULL(p);
	EXPECT_EQ(myr_pool_map(p, &err), 0);
	EXPECT_EQ(myr_pool_protect(p, &err), 0);
	myr_pool_usage(p, &u);
	EXPECT_EQ(u.reserved, 0u);
	myr_pool_exit(p);
}

TEST_HARNESS_MAIN
