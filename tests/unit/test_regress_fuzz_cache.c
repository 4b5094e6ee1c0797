/* SPDX-License-Identifier: MIT */
/*
 * The cache fuzz harness (tests/fuzz/fuzz_cache.c) under the unit-test
 * build: its contract checks on a real cache image (the fuzzer's seed:
 * `myriad cache build` over a gen_closure directory) under every parse
 * flag, cut short, and with each byte of its header and metadata flipped;
 * and on every past finding kept in tests/fuzz/regress/cache/
 * (tests/fuzz/replay.h).
 */
#define LLVMFuzzerTestOneInput fuzz_cache_one
#define LLVMFuzzerInitialize fuzz_cache_init
#include "../fuzz/fuzz_cache.c"
#include "../fuzz/replay.h"
#include "harness.h"
#include "test_elf_util.h"

/* The seed: selector byte 0 (room for it), then DIR/.myriad-cache/image;
 * NULL (and why in *skip) when the launcher or generator is missing. */
static uint8_t *seed_image(size_t *len, const char **skip)
{
	const char *m = getenv("MYRIAD"), *b = getenv("MYRIAD_BUILD");
	char gen[4096], cmd[16384], img[8192];
	uint8_t *file, *in = NULL;
	size_t n;

	*skip = "MYRIAD or MYRIAD_BUILD unset (run through ./build.sh test)";
	if (!m || !*m || !b || !*b)
		return NULL;
	snprintf(gen, sizeof(gen), "%s/tools/gen_closure", b);
	*skip = "no tools/gen_closure in the build directory";
	if (access(gen, X_OK) != 0)
		return NULL;
	char *dir = tu_tmpdir();
	*skip = "cannot make a scratch directory";
	if (!dir)
		return NULL;
	snprintf(cmd, sizeof(cmd), "'%s' -n 3 -o '%s' -p '%s/prog.myr' --ctors "
		 "--compress --bss 64 >/dev/null && '%s' cache build --libdir '%s' "
		 ">/dev/null", gen, dir, dir, m, dir);
	snprintf(img, sizeof(img), "%s/" MYR_CACHE_SUBDIR "/" MYR_CACHE_FILE, dir);
	*skip = "building the cache failed";
	if (system(cmd) == 0 && tu_read(img, &file, &n) == 0) {
		in = malloc(n + 1);
		if (in) {
			in[0] = 0;
			memcpy(in + 1, file, n);
			*len = n + 1;
		}
		free(file);
	}
	tu_rmdir(dir);
	return in;
}

/* The seed is a valid cache: with sums and identities it parses (from
 * an 8-aligned copy, as the parser requires).  Returns its metadata's
 * end, or 0 if it does not parse. */
static size_t seed_meta_end(const uint8_t *in, size_t len)
{
	struct myr_cache_view v;
	uint8_t *file = fuzz_copy(in + 1, len - 1);
	size_t end = 0;

	if (myr_cache_parse(file, len - 1, MYR_CACHE_PARSE_IDENTS, &v, NULL) == 0 &&
	    v.hdr->modules.count > 0)
		end = v.hdr->meta_off + v.hdr->meta_size;
	free(file);
	return end;
}

TEST(seed)
{
	const char *why;
	size_t len;
	uint8_t *in = seed_image(&len, &why);

	if (!in)
		SKIP(return, "%s", why);
	size_t meta_end = seed_meta_end(in, len);
	ASSERT_GT(meta_end, 0u);
	/* Every parse flag. */
	for (unsigned sel = 0; sel < 8; sel++) {
		in[0] = (uint8_t)sel;
		fuzz_cache_one(in, len);
	}
	/* Cut short, whole file and metadata only. */
	for (size_t n = 0; n < len; n += 512) {
		in[0] = MYR_CACHE_PARSE_NO_SUMS;
		fuzz_cache_one(in, n);
		in[0] = MYR_CACHE_PARSE_NO_SUMS | MYR_CACHE_PARSE_META_ONLY;
		fuzz_cache_one(in, n);
	}
	/* Each byte of the header and metadata flipped two ways. */
	in[0] = MYR_CACHE_PARSE_NO_SUMS | MYR_CACHE_PARSE_IDENTS;
	for (size_t k = 1; k <= meta_end && k < len; k++) {
		in[k] ^= 0xff;
		fuzz_cache_one(in, len);
		in[k] ^= 0x81;
		fuzz_cache_one(in, len);
		in[k] ^= 0x7e;
	}
	free(in);
}

TEST(regressions)
{
	fuzz_cache_init(NULL, NULL);
	int n = replay_regress("cache", fuzz_cache_one);
	ASSERT_GE(n, 0);
	if (n == 0)
		SKIP(return, "no findings kept in tests/fuzz/regress/cache");
}

TEST_HARNESS_MAIN
