/* SPDX-License-Identifier: MIT */
/*
 * The module writer API's additions for compiler back ends (module.h,
 * docs/writer.md): the API version, myr_module_desc_init() and
 * myr_module_closure_hint().
 */
#include <myriad/module.h>
#include "harness.h"

static const uint8_t ret_text[] = { 0x31, 0xc0, 0xc3 };   /* xor eax,eax; ret */

struct written {
	uint8_t *file;
	size_t len;
	struct myr_module_view view;
};

/* A library NAME that exports one function and depends on deps[0..n). */
static void write_library(struct written *w, const char *name,
			  const struct written *const *deps, size_t n)
{
	struct myr_module_desc d;
	struct myr_desc_dep dd[4];
	struct myr_desc_export ex = { "f", MYR_SEG_TEXT, MYR_SYM_FUNC, 0 };
	const struct myr_module_view *views[4];
	struct myr_desc_dep *hint = NULL;
	size_t nhint = 0;
	struct myr_error err = { 0 };

	myr_module_desc_init(&d, name, 1, 2, 3);
	for (size_t i = 0; i < n; i++) {
		views[i] = &deps[i]->view;
		dd[i] = (struct myr_desc_dep){ deps[i]->view.name, 1, 2, 3, 0 };
	}
	ASSERT_EQ(0, myr_module_closure_hint(views, n, &hint, &nhint, &err));
	d.deps = dd;
	d.ndeps = n;
	d.closure = hint;
	d.nclosure = nhint;
	d.exports = &ex;
	d.nexports = 1;
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ ret_text, sizeof(ret_text), 4 };
	ASSERT_EQ(0, myr_module_write(&d, &w->file, &w->len, &err));
	free(hint);
	ASSERT_EQ(0, myr_module_parse(w->file, w->len, 0, &w->view, &err));
}

TEST(api_version_matches_the_header)
{
	ASSERT_EQ(MYR_WRITER_API_VERSION, myr_writer_api_version());
	ASSERT_GE(MYR_WRITER_API_VERSION, 1u);
}

TEST(desc_init_makes_a_library_that_writes)
{
	struct myr_module_desc d;
	memset(&d, 0xa5, sizeof(d));
	myr_module_desc_init(&d, "lib", 4, 5, 6);
	EXPECT_EQ(MYR_SEG_NONE, d.entry.seg);
	EXPECT_EQ(MYR_SEG_NONE, d.init.seg);
	EXPECT_EQ(MYR_SEG_NONE, d.fini.seg);
	EXPECT_EQ(MYR_ARCH_HOST, d.arch);
	EXPECT_EQ(1, d.compress);
	EXPECT_EQ(0u, d.flags);
	EXPECT_EQ(0u, (unsigned)d.ndeps + (unsigned)d.nexports + (unsigned)d.nrelocs);
	EXPECT_NULL(d.shebang);

	struct written w;
	write_library(&w, "lib", NULL, 0);
	EXPECT_EQ(1, w.view.hdr->ver_major);
	EXPECT_EQ(MYR_SEG_NONE, w.view.hdr->entry.seg);
	EXPECT_EQ(0u, w.view.hdr->flags);
	free(w.file);
}

TEST(closure_hint_lists_deps_then_their_closures_once)
{
	struct written a, b, c, e;
	write_library(&a, "a", NULL, 0);
	const struct written *b_deps[] = { &a };
	write_library(&b, "b", b_deps, 1);
	const struct written *c_deps[] = { &a, &b };
	write_library(&c, "c", c_deps, 2);

	/* c's hint: its deps a, b (a once, though b's closure has it too). */
	ASSERT_EQ(2u, c.view.hdr->closure.count);
	EXPECT_EQ(0, strcmp("a", myr_view_str(&c.view, c.view.closure[0].name_off)));
	EXPECT_EQ(0, strcmp("b", myr_view_str(&c.view, c.view.closure[1].name_off)));
	EXPECT_EQ(a.view.hdr->file_size, c.view.closure[0].size_hint);
	EXPECT_EQ(b.view.hdr->file_size, c.view.closure[1].size_hint);

	/* e needs c only: c first, then c's closure (a, b), with their sizes. */
	const struct written *e_deps[] = { &c };
	write_library(&e, "e", e_deps, 1);
	ASSERT_EQ(3u, e.view.hdr->closure.count);
	const char *want[] = { "c", "a", "b" };
	for (unsigned i = 0; i < 3; i++)
		EXPECT_EQ(0, strcmp(want[i], myr_view_str(&e.view, e.view.closure[i].name_off)));
	EXPECT_EQ(b.view.hdr->file_size, e.view.closure[2].size_hint);
	EXPECT_EQ(1, e.view.closure[2].ver_major);
	EXPECT_EQ(2, e.view.closure[2].ver_minor);
	free(a.file);
	free(b.file);
	free(c.file);
	free(e.file);
}

TEST(closure_hint_refuses_a_view_without_its_closure)
{
	struct written a, b;
	struct myr_module_view partial;
	struct myr_error err = { 0 };
	struct myr_desc_dep *hint = (void *)1;
	size_t n = 7;

	write_library(&a, "a", NULL, 0);
	const struct written *b_deps[] = { &a };
	write_library(&b, "b", b_deps, 1);
	ASSERT_EQ(0, myr_module_parse(b.file, b.len, MYR_PARSE_NO_CLOSURE, &partial, &err));
	const struct myr_module_view *views[] = { &partial };
	EXPECT_EQ(-EINVAL, myr_module_closure_hint(views, 1, &hint, &n, &err));
	EXPECT_NULL(hint);
	EXPECT_EQ(0u, n);
	EXPECT_NE(NULL, strstr(err.msg, "MYR_PARSE_NO_CLOSURE"));
	EXPECT_EQ(-EINVAL, myr_module_closure_hint(NULL, 1, &hint, &n, &err));

	/* No dependencies: an empty hint. */
	EXPECT_EQ(0, myr_module_closure_hint(NULL, 0, &hint, &n, &err));
	EXPECT_EQ(0u, n);
	free(hint);
	free(a.file);
	free(b.file);
}

TEST_HARNESS_MAIN
