/* SPDX-License-Identifier: MIT */
/*
 * The pool's default limits (MYR_POOL_DEFAULT_* in <myriad/limits.h>),
 * each right at the default (planned) and one past it (refused, -E2BIG,
 * naming the --pool-* option that raises it), through myr_pool_plan() with
 * myr_pool_limits_default().  Planning touches no memory, so requests of
 * hundreds of megabytes cost nothing.  test_pool.c covers the same checks
 * with small custom limits.
 */
#include <myriad/limits.h>
#include <myriad/loader.h>
#include "harness.h"

#define EXPECT_MSG(err, needle) do {                                          \
		if (!strstr((err).msg, (needle)))                              \
			TH_LOG("message '%s' lacks '%s'", (err).msg, (needle)); \
		EXPECT_NONNULL(strstr((err).msg, (needle)));                   \
	} while (0)

/* Plan n requests with the default limits. */
static int plan(const struct myr_pool_request *req, size_t n,
		struct myr_error *err)
{
	struct myr_pool_limits lim;
	struct myr_pool *p;
	int r;

	myr_pool_limits_default(&lim);
	memset(err, 0, sizeof(*err));
	ASSERT_EQ(0, myr_pool_init(&p, MYR_ALLOC_POOLING, &lim));
	r = myr_pool_plan(p, req, n, err);
	if (r < 0)
		TH_LOG("plan of %zu: %s", n, err->msg);
	myr_pool_exit(p);
	return r;
}

#define EXPECT_PAST(r, err, option) do {                                      \
		EXPECT_EQ(-E2BIG, (r));                                        \
		EXPECT_MSG(err, "pool limit exceeded");                        \
		EXPECT_MSG(err, option);                                       \
	} while (0)

TEST(modules_default)
{
	const size_t n = MYR_POOL_DEFAULT_MODULES;
	struct myr_pool_request *req = calloc(n + 1, sizeof(*req));
	struct myr_error err;

	ASSERT_NONNULL(req);
	for (size_t i = 0; i <= n; i++)
		req[i].size[MYR_SEG_TEXT] = 1;
	EXPECT_EQ(0, plan(req, n, &err));
	EXPECT_PAST(plan(req, n + 1, &err), err, "--pool-modules");
	free(req);
}

TEST(module_size_default)
{
	struct myr_pool_request req = { 0 };
	struct myr_error err;

	req.size[MYR_SEG_TEXT] = MYR_POOL_DEFAULT_MODULE_SIZE / 2;
	req.size[MYR_SEG_DATA] = MYR_POOL_DEFAULT_MODULE_SIZE / 4;
	req.size[MYR_SEG_BSS] = MYR_POOL_DEFAULT_MODULE_SIZE / 4;
	EXPECT_EQ(0, plan(&req, 1, &err));
	req.size[MYR_SEG_RODATA] = 1;
	EXPECT_PAST(plan(&req, 1, &err), err, "--pool-module-size");
}

/*
 * Class cls filled to exactly its default by modules of the largest size
 * a module may have (each segment starts 1-aligned, so nothing pads),
 * then one byte more in the class's last segment kind.
 */
static void class_default(unsigned seg, uint32_t limit, const char *option)
{
	const uint32_t each = MYR_POOL_DEFAULT_MODULE_SIZE;
	size_t n = limit / each;
	struct myr_pool_request *req = calloc(n + 1, sizeof(*req));
	struct myr_error err;

	ASSERT_NONNULL(req);
	ASSERT_EQ(0u, limit % each);
	for (size_t i = 0; i < n; i++)
		req[i].size[seg] = each;
	EXPECT_EQ(0, plan(req, n, &err));
	req[n].size[seg] = 1;
	EXPECT_PAST(plan(req, n + 1, &err), err, option);
	/* One byte past must not read as equal to the limit. */
	EXPECT_NONNULL(strstr(err.msg, " bytes)"));
	free(req);
}

TEST(text_default)
{
	class_default(MYR_SEG_TEXT, MYR_POOL_DEFAULT_TEXT, "--pool-text");
}

TEST(rodata_default)
{
	class_default(MYR_SEG_RODATA, MYR_POOL_DEFAULT_RODATA, "--pool-rodata");
}

TEST(relro_default)
{
	class_default(MYR_SEG_RELRO, MYR_POOL_DEFAULT_RELRO, "--pool-relro");
}

/* Data and BSS share the data class. */
TEST(data_default)
{
	class_default(MYR_SEG_DATA, MYR_POOL_DEFAULT_DATA, "--pool-data");
	class_default(MYR_SEG_BSS, MYR_POOL_DEFAULT_DATA, "--pool-data");
}

TEST_HARNESS_MAIN
