/* SPDX-License-Identifier: MIT */
/* XXH64 against published vectors and the reference xxhsum tool. */
#include "harness.h"
#include <myriad/module.h>

TEST(published_vectors)
{
	/* From the xxHash documentation and test suite, seed 0. */
	EXPECT_EQ(0xEF46DB3751D8E999ull, myr_xxh64("", 0, 0));
	EXPECT_EQ(0x44BC2CF5AD770999ull, myr_xxh64("abc", 3, 0));
}

TEST(seed_changes_the_hash)
{
	EXPECT_NE(myr_xxh64("abc", 3, 0), myr_xxh64("abc", 3, 1));
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		p[i] = (uint8_t)(seed >> 24);
	}
}

/*
 * Lengths around every branch of the algorithm: the short path (< 32), whole
 * stripes, and every tail shape (8-byte lanes, a 4-byte word, single bytes).
 */
static const size_t lengths[] = { 1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 31, 32, 33,
				  36, 39, 40, 63, 64, 65, 100, 255, 1024, 4099,
				  100003 };

TEST(matches_xxhsum)
{
	char path[] = "/tmp/myriad-xxh64-XXXXXX";
	uint8_t *buf = malloc(100003);
	ASSERT_NONNULL(buf);

	if (system("command -v xxhsum >/dev/null 2>&1") != 0)
		SKIP(free(buf); return, "xxhsum not installed (apt-get install xxhash)");
	for (size_t k = 0; k < sizeof(lengths) / sizeof(lengths[0]); k++) {
		size_t n = lengths[k];
		int fd = mkstemp(path);
		ASSERT_GE(fd, 0);
		fill(buf, n, (uint32_t)n);
		ASSERT_EQ((ssize_t)n, write(fd, buf, n));
		close(fd);

		char cmd[128], line[256] = "";
		snprintf(cmd, sizeof(cmd), "xxhsum -H64 %s 2>/dev/null", path);
		FILE *p = popen(cmd, "r");
		ASSERT_NONNULL(p);
		char *got = fgets(line, sizeof(line), p);
		pclose(p);
		unlink(path);
		memcpy(path + sizeof(path) - 7, "XXXXXX", 6);
		ASSERT_NONNULL(got);

		unsigned long long want = strtoull(line, NULL, 16);
		EXPECT_EQ(want, (unsigned long long)myr_xxh64(buf, n, 0));
		if (want != myr_xxh64(buf, n, 0))
			TH_LOG("length %zu: xxhsum says %s", n, line);
	}
	free(buf);
}

TEST(module_checksum_zeroes_its_own_field)
{
	uint8_t buf[600], copy[600];
	const size_t at = offsetof(struct myr_header, checksum);

	fill(buf, sizeof(buf), 7);
	for (size_t n = 32; n <= sizeof(buf); n++) {
		memcpy(copy, buf, n);
		memset(copy + at, 0, 8);
		EXPECT_EQ(myr_xxh64(copy, n, 0), myr_module_checksum(buf, n));
	}
	/* The stored value never influences the sum. */
	uint64_t before = myr_module_checksum(buf, sizeof(buf));
	buf[at + 3] ^= 0xff;
	EXPECT_EQ(before, myr_module_checksum(buf, sizeof(buf)));
	buf[at + 8] ^= 0xff;
	EXPECT_NE(before, myr_module_checksum(buf, sizeof(buf)));
}

TEST_HARNESS_MAIN
