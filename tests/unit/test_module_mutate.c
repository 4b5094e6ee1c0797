/* SPDX-License-Identifier: MIT */
/*
 * Random corruption of a valid module, with the checksum skipped so that
 * every mutation reaches the structural checks.  Under ASan/UBSan this shows
 * that no input makes the reader read out of bounds or overflow, and that
 * whatever it accepts is safe to use as the view promises: every index,
 * name and segment can be used without further checks.
 */
#include "harness.h"
#include "test_module_fixture.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Touch everything a successful parse vouches for. */
static void use_view(const struct myr_module_view *v)
{
	const struct myr_header *h = v->hdr;
	size_t sum = strlen(v->name);

	for (uint32_t i = 0; i < h->deps.count; i++)
		sum += strlen(myr_view_str(v, v->deps[i].name_off));
	for (uint32_t i = 0; i < h->closure.count; i++)
		sum += strlen(myr_view_str(v, v->closure[i].name_off));
	for (uint32_t i = 0; i < h->imports.count; i++) {
		const struct myr_import *im = &v->imports[i];
		sum += strlen(myr_view_str(v, v->deps[im->dep].name_off));
		myr_module_find_export(v, myr_view_str(v, im->name_off), im->name_len,
				       im->hash, im->export_hint);
	}
	for (uint32_t i = 0; i < h->exports.count; i++) {
		const struct myr_export *e = &v->exports[i];
		EXPECT_EQ((int64_t)i, myr_module_find_export(v, myr_view_str(v, e->name_off),
							     e->name_len, e->hash,
							     MYR_NO_HINT));
	}
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		struct myr_error err;
		uint8_t *dst = malloc(h->seg[s].size ? h->seg[s].size : 1);
		ASSERT_NONNULL(dst);
		myr_module_segment_load(v, s, dst, &err);
		free(dst);
	}
	EXPECT_GT(sum, 0u);
}

static unsigned mutate_and_parse(const uint8_t *good, size_t len, unsigned rounds,
				 unsigned max_flips)
{
	unsigned accepted = 0;
	uint8_t *p = malloc(len);
	ASSERT_NONNULL(p);

	for (unsigned r = 0; r < rounds; r++) {
		memcpy(p, good, len);
		unsigned flips = 1 + next_random() % max_flips;
		for (unsigned k = 0; k < flips; k++) {
			uint32_t at = next_random() % len;
			switch (next_random() % 4) {
			case 0: p[at] ^= (uint8_t)(1u << (next_random() % 8)); break;
			case 1: p[at] = (uint8_t)next_random(); break;
			case 2: p[at] = 0xff; break;
			default: p[at] = 0; break;
			}
		}
		struct myr_module_view v;
		struct myr_error err = { 0 };
		int rc = myr_module_parse(p, len, MYR_PARSE_NO_CHECKSUM, &v, &err);
		if (rc == 0) {
			accepted++;
			use_view(&v);
		} else {
			EXPECT_NE('\0', err.msg[0]);
			EXPECT_EQ(rc, err.code);
		}
	}
	free(p);
	return accepted;
}

TEST(header_mutations)
{
	struct fixture f;
	uint8_t *file;
	size_t len;
	struct myr_error err;

	fixture_init(&f, 1);
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	/* Mutate only the header and tables, where the offsets live. */
	struct myr_module_view v;
	ASSERT_EQ(0, myr_module_parse(file, len, 0, &v, &err));
	uint8_t *meta = malloc(len);
	ASSERT_NONNULL(meta);
	unsigned total = 0;
	for (int i = 0; i < 20000; i++) {
		memcpy(meta, file, len);
		uint32_t at = next_random() % v.hdr->meta_size;
		meta[at] = (uint8_t)next_random();
		struct myr_module_view w;
		if (myr_module_parse(meta, len, MYR_PARSE_NO_CHECKSUM, &w, &err) == 0) {
			total++;
			use_view(&w);
		}
	}
	TH_LOG("%u of 20000 single-byte metadata mutations still parse", total);
	free(meta);
	free(file);
}

TEST(whole_file_mutations)
{
	struct fixture f;
	uint8_t *file;
	size_t len;
	struct myr_error err;

	fixture_init(&f, 1);
	f.desc.shebang = "/usr/bin/myriad";
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	unsigned accepted = mutate_and_parse(file, len, 20000, 8);
	TH_LOG("%u of 20000 multi-byte mutations still parse", accepted);
	free(file);
}

TEST_HARNESS_MAIN
