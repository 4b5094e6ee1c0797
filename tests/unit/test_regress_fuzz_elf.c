/* SPDX-License-Identifier: MIT */
/*
 * The elf fuzz harness (tests/fuzz/fuzz_elf.c) under the unit-test build:
 * its contract checks on the seeds that need no compiler, and on every
 * past finding kept in tests/fuzz/regress/elf/ (tests/fuzz/replay.h).
 */
#define LLVMFuzzerTestOneInput fuzz_elf_one
#define LLVMFuzzerInitialize fuzz_elf_init
#include "../fuzz/fuzz_elf.c"
#include "../fuzz/replay.h"
#include "harness.h"
#include "test_elf_util.h"

/* A real object (tests/modules/lib_counter.c by gcc), whole and cut
 * short every 64 bytes. */
TEST(object_and_truncations)
{
	char src[4096], obj[4200];
	uint8_t *data;
	size_t len;

	if (!tu_have("gcc"))
		SKIP(return, "gcc is not installed");
	char *dir = tu_tmpdir();
	ASSERT_NONNULL(dir);
	snprintf(src, sizeof(src), "%s/tests/modules/lib_counter.c", tu_src());
	snprintf(obj, sizeof(obj), "%s/counter.o", dir);
	ASSERT_EQ(0, tu_compile("gcc", "-fPIC -O2", src, obj));
	ASSERT_EQ(0, tu_read(obj, &data, &len));
	fuzz_elf_init(NULL, NULL);
	fuzz_elf_one(data, len);
	for (size_t n = 0; n < len; n += 64)
		fuzz_elf_one(data, n);
	free(data);
	tu_rmdir(dir);
}

TEST(regressions)
{
	fuzz_elf_init(NULL, NULL);
	int n = replay_regress("elf", fuzz_elf_one);
	ASSERT_GE(n, 0);
	if (n == 0)
		SKIP(return, "no findings kept in tests/fuzz/regress/elf");
}

TEST_HARNESS_MAIN
