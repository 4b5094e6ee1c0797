/* SPDX-License-Identifier: MIT */
/*
 * MYR_PARSE_NO_CLOSURE, for readers that never use a closure hint: the
 * hint's entries go unchecked and unexposed (view.closure is NULL), but the
 * table's placement is still checked, like every other table.  Only a
 * program has a hint in format 2, so the fixture is a program.
 */
#include "harness.h"
#include "test_module_fixture.h"

static const unsigned lazy = MYR_PARSE_NO_CHECKSUM | MYR_PARSE_NO_CLOSURE;

static void write_fixture(uint8_t **file, size_t *len, struct myr_module_view *v)
{
	struct fixture f;
	struct myr_error err = { 0 };

	fixture_init(&f, 1);
	ASSERT_EQ(0, myr_module_write(&f.desc, file, len, &err));
	ASSERT_EQ(0, myr_module_parse(*file, *len, 0, v, &err));
	ASSERT_NONNULL(v->closure);
	ASSERT_GE(v->hdr->closure.count, 2u);
}

TEST(entries_unchecked_and_hidden)
{
	struct myr_module_view v, w;
	struct myr_error err = { 0 };
	uint8_t *file;
	size_t len;

	write_fixture(&file, &len, &v);
	/* An entry naming the reserved host module: invalid in a closure. */
	struct myr_dep *c = (struct myr_dep *)v.closure;
	c[1].name_off = v.deps[2].name_off;
	c[1].name_len = v.deps[2].name_len;
	EXPECT_EQ(-EBADMSG, myr_module_parse(file, len, MYR_PARSE_NO_CHECKSUM,
					     NULL, &err));
	EXPECT_NE(NULL, strstr(err.msg, "closure entry 1"));
	EXPECT_EQ(0, myr_module_parse(file, len, lazy, &w, &err));
	EXPECT_NULL(w.closure);
	EXPECT_EQ(w.hdr->closure.count, v.hdr->closure.count);
	EXPECT_NONNULL(w.deps);
	EXPECT_NONNULL(w.exports);
	free(file);
}

TEST(placement_still_checked)
{
	struct myr_module_view v;
	struct myr_error err = { 0 };
	uint8_t *file;
	size_t len;

	write_fixture(&file, &len, &v);
	struct myr_header *h = (struct myr_header *)v.hdr;
	h->closure.count += 1000;   /* runs past the metadata */
	EXPECT_EQ(-EBADMSG, myr_module_parse(file, len, lazy, NULL, &err));
	EXPECT_NE(NULL, strstr(err.msg, "closure table"));
	h->closure.count -= 1000;
	h->closure.off = h->deps.off;   /* overlaps the dependencies */
	EXPECT_EQ(-EBADMSG, myr_module_parse(file, len, lazy, NULL, &err));
	EXPECT_NE(NULL, strstr(err.msg, "overlap"));
	free(file);
}

TEST_HARNESS_MAIN
