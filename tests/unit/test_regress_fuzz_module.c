/* SPDX-License-Identifier: MIT */
/*
 * The module fuzz harness (tests/fuzz/fuzz_module.c) under the unit-test build:
 * its contract checks on the seeds that need no compiler, and on every
 * past finding kept in tests/fuzz/regress/module/ (tests/fuzz/replay.h).
 */
#define LLVMFuzzerTestOneInput fuzz_module_one
#define LLVMFuzzerInitialize fuzz_module_init
#include "../fuzz/fuzz_module.c"
#include "../fuzz/replay.h"
#include "harness.h"

/* Every prefix of a valid module: truncation at each length. */
static void replay_prefixes(const uint8_t *file, size_t len)
{
	for (size_t n = 0; n <= len; n++)
		fuzz_module_one(file, n);
}

TEST(seeds)
{
	EXPECT_EQ(CLOSURE_COUNT, replay_closure(fuzz_module_one, 0));
}

TEST(truncations)
{
	for (int i = 0; i < CLOSURE_COUNT; i++) {
		uint8_t *file;
		size_t len;
		ASSERT_EQ(0, closure_write(i, &file, &len));
		replay_prefixes(file, len);
		free(file);
	}
}

TEST(regressions)
{
	int n = replay_regress("module", fuzz_module_one);
	ASSERT_GE(n, 0);
	if (n == 0)
		SKIP(return, "no findings kept in tests/fuzz/regress/module");
}

TEST_HARNESS_MAIN
