/* SPDX-License-Identifier: MIT */
/*
 * The module writer API's additions for compiler back ends (module.h,
 * docs/writer.md): the API version, myr_module_desc_init() and
 * myr_module_closure_hint()'s walk of a program's closure.
 */
#include <myriad/module.h>
#include "harness.h"

static const uint8_t ret_text[] = { 0x31, 0xc0, 0xc3 };   /* xor eax,eax; ret */

struct written {
	uint8_t *file;
	size_t len;
	struct myr_module_view view;
};

/* A library NAME that exports one function and depends on deps[0..n);
 * flags[i] for dependency i (NULL: none).  No closure hint: format 2. */
static void write_library(struct written *w, const char *name,
			  const struct written *const *deps, size_t n,
			  const uint32_t *flags)
{
	struct myr_module_desc d;
	struct myr_desc_dep dd[4];
	struct myr_desc_export ex = { "f", MYR_SEG_TEXT, MYR_SYM_FUNC, 0 };
	struct myr_error err = { 0 };

	myr_module_desc_init(&d, name, 1, 2, 3);
	for (size_t i = 0; i < n; i++)
		dd[i] = (struct myr_desc_dep){ .name = deps[i]->view.name,
			.ver_major = 1, .ver_minor = 2, .ver_patch = 3,
			.flags = flags ? flags[i] : 0 };
	d.deps = dd;
	d.ndeps = n;
	d.exports = &ex;
	d.nexports = 1;
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ ret_text, sizeof(ret_text), 4 };
	ASSERT_EQ(0, myr_module_write(&d, &w->file, &w->len, &err));
	ASSERT_EQ(0, myr_module_parse(w->file, w->len, 0, &w->view, &err));
}

/* The "library directory" of the walk: written modules by name. */
struct shelf {
	const struct written *const *mods;
	size_t n;
	unsigned asked, missing_required;
	char last_needed_by[16];
};

static int shelf_find(void *opaque, const char *name, const char *needed_by,
		      int optional, struct myr_module_view *view)
{
	struct shelf *sh = opaque;
	sh->asked++;
	snprintf(sh->last_needed_by, sizeof(sh->last_needed_by), "%s", needed_by);
	for (size_t i = 0; i < sh->n; i++)
		if (strcmp(sh->mods[i]->view.name, name) == 0) {
			*view = sh->mods[i]->view;
			return 1;
		}
	if (!optional)
		sh->missing_required++;
	return 0;
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
	write_library(&w, "lib", NULL, 0, NULL);
	EXPECT_EQ(1, w.view.hdr->ver_major);
	EXPECT_EQ(MYR_SEG_NONE, w.view.hdr->entry.seg);
	EXPECT_EQ(0u, w.view.hdr->flags);
	free(w.file);
}

/*
 * d -> c -> {a, b}, b -> a, and d -> e (optional) -> x: the hint is breadth
 * first from d's dependencies, each module once, with each file's size and
 * version; find is asked once per module beyond them.
 */
TEST(closure_hint_walks_the_whole_closure_once)
{
	struct written a, b, c, e, x;
	write_library(&a, "a", NULL, 0, NULL);
	const struct written *b_deps[] = { &a };
	write_library(&b, "b", b_deps, 1, NULL);
	const struct written *c_deps[] = { &a, &b };
	write_library(&c, "c", c_deps, 2, NULL);
	write_library(&x, "x", NULL, 0, NULL);
	const struct written *e_deps[] = { &x };
	const uint32_t optional[] = { MYR_DEP_OPTIONAL };
	write_library(&e, "e", e_deps, 1, optional);
	EXPECT_EQ(0u, c.view.hdr->closure.count);   /* libraries carry none */

	const struct written *all[] = { &a, &b, &c, &e, &x };
	struct shelf sh = { all, 5, 0, 0, "" };
	const struct myr_module_view *deps[] = { &c.view, &e.view };
	struct myr_desc_dep *hint = NULL;
	size_t n = 0;
	struct myr_error err = { 0 };
	ASSERT_EQ(0, myr_module_closure_hint(deps, 2, shelf_find, &sh, &hint, &n, &err));
	const char *want[] = { "c", "e", "a", "b", "x" };
	const struct written *file[] = { &c, &e, &a, &b, &x };
	ASSERT_EQ(5u, n);
	for (unsigned i = 0; i < 5; i++) {
		EXPECT_STREQ(want[i], hint[i].name);
		EXPECT_EQ(file[i]->view.hdr->file_size, hint[i].size_hint);
		EXPECT_EQ(1, hint[i].ver_major);
		EXPECT_EQ(2, hint[i].ver_minor);
	}
	EXPECT_EQ(3u, sh.asked);                    /* a, b, x: each once */
	free(hint);

	/* Without find: the dependencies alone. */
	ASSERT_EQ(0, myr_module_closure_hint(deps, 2, NULL, NULL, &hint, &n, &err));
	ASSERT_EQ(2u, n);
	EXPECT_STREQ("e", hint[1].name);
	free(hint);

	/* Modules find does not have are left out, required or optional. */
	const struct written *some[] = { &a };
	struct shelf partial = { some, 1, 0, 0, "" };
	ASSERT_EQ(0, myr_module_closure_hint(deps, 2, shelf_find, &partial, &hint, &n, &err));
	ASSERT_EQ(3u, n);                           /* c, e, a */
	EXPECT_EQ(1u, partial.missing_required);    /* b, named by c */
	EXPECT_STREQ("e", partial.last_needed_by);  /* x, optional */
	free(hint);

	/* A program's hint passes the writer; a library's does not. */
	struct myr_module_desc d;
	myr_module_desc_init(&d, "prog", 1, 0, 0);
	ASSERT_EQ(0, myr_module_closure_hint(deps, 2, shelf_find, &sh, &hint, &n, &err));
	d.closure = hint;
	d.nclosure = n;
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ ret_text, sizeof(ret_text), 4 };
	uint8_t *out = NULL;
	size_t len;
	EXPECT_EQ(-EINVAL, myr_module_write(&d, &out, &len, &err));
	EXPECT_NE(NULL, strstr(err.msg, "in a library"));
	d.flags = MYR_F_PROGRAM;
	d.entry = (struct myr_ref){ .seg = MYR_SEG_TEXT, .off = 0 };
	ASSERT_EQ(0, myr_module_write(&d, &out, &len, &err));
	free(out);
	free(hint);
	free(a.file);
	free(b.file);
	free(c.file);
	free(e.file);
	free(x.file);
}

static int find_fails(void *opaque, const char *name, const char *needed_by,
		      int optional, struct myr_module_view *view)
{
	(void)name, (void)needed_by, (void)optional, (void)view;
	return *(int *)opaque;
}

TEST(closure_hint_errors)
{
	struct written a, b;
	struct myr_error err = { 0 };
	struct myr_desc_dep *hint = (void *)1;
	size_t n = 7;
	int code = -EIO;

	write_library(&a, "a", NULL, 0, NULL);
	const struct written *b_deps[] = { &a };
	write_library(&b, "b", b_deps, 1, NULL);
	const struct myr_module_view *views[] = { &b.view };
	EXPECT_EQ(-EIO, myr_module_closure_hint(views, 1, find_fails, &code, &hint, &n, &err));
	EXPECT_NULL(hint);
	EXPECT_EQ(0u, n);
	EXPECT_NE(NULL, strstr(err.msg, "module a"));
	EXPECT_EQ(-EINVAL, myr_module_closure_hint(NULL, 1, NULL, NULL, &hint, &n, &err));
	const struct myr_module_view *twice[] = { &b.view, &b.view };
	EXPECT_EQ(-EINVAL, myr_module_closure_hint(twice, 2, NULL, NULL, &hint, &n, &err));
	EXPECT_NE(NULL, strstr(err.msg, "listed twice"));

	/* No dependencies: an empty hint. */
	EXPECT_EQ(0, myr_module_closure_hint(NULL, 0, NULL, NULL, &hint, &n, &err));
	EXPECT_EQ(0u, n);
	free(hint);
	free(a.file);
	free(b.file);
}

TEST_HARNESS_MAIN
