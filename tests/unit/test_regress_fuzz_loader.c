/* SPDX-License-Identifier: MIT */
/*
 * The loader fuzz harness (tests/fuzz/fuzz_loader.c) under the unit-test build:
 * its contract checks on the seeds that need no compiler, and on every
 * past finding kept in tests/fuzz/regress/loader/ (tests/fuzz/replay.h).
 */
#define LLVMFuzzerTestOneInput fuzz_loader_one
#define LLVMFuzzerInitialize fuzz_loader_init
#include "../fuzz/fuzz_loader.c"
#include "../fuzz/replay.h"
#include "harness.h"

TEST(seeds)
{
	fuzz_loader_init(NULL, NULL);
	EXPECT_EQ(CLOSURE_COUNT, replay_closure(fuzz_loader_one, 1));
}

/* Each module of the closure cut short every 16 bytes, the checksum
 * re-sealed where the header survives: every stage's refusal path. */
TEST(truncations)
{
	fuzz_loader_init(NULL, NULL);
	for (int i = 0; i < CLOSURE_COUNT; i++) {
		uint8_t *file, *in;
		size_t len;
		ASSERT_EQ(0, closure_write(i, &file, &len));
		in = malloc(len + 1);
		ASSERT_NONNULL(in);
		in[0] = (uint8_t)i;
		memcpy(in + 1, file, len);
		for (size_t n = 0; n < len; n += 16)
			fuzz_loader_one(in, n + 1);
		free(in);
		free(file);
	}
}

TEST(regressions)
{
	fuzz_loader_init(NULL, NULL);
	int n = replay_regress("loader", fuzz_loader_one);
	ASSERT_GE(n, 0);
	if (n == 0)
		SKIP(return, "no findings kept in tests/fuzz/regress/loader");
}

TEST_HARNESS_MAIN
