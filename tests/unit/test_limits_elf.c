/* SPDX-License-Identifier: MIT */
/*
 * The converter's (`myriad link`'s) share of <myriad/limits.h>, at the
 * limit and one past it, on objects compiled by the machine's gcc:
 *
 *   MYR_SYMBOL_MAX      a global symbol name of 1024 bytes links; 1025 not
 *   MYR_DEPS_MAX        --needs modules: one dependency slot is kept for
 *                       the host module, so MYR_DEPS_MAX - 1 is the most
 *                       a link accepts
 *   MYR_INIT_FUNCS_MAX  entries of .init_array
 */
#include "harness.h"
#include "test_elf_util.h"

static char *dir;

static void setup(void)
{
	if (!tu_have("gcc"))
		SKIP(exit(0), "gcc is not installed");
	dir = tu_tmpdir();
	ASSERT_NONNULL(dir);
}

/* Compile text as NAME.c and link it alone with deps; the link's result. */
static int link_text(const char *name, const char *text,
		     const struct myr_link_dep *deps, size_t ndeps,
		     struct tu_diag *diag)
{
	char obj[4300];
	uint8_t *data, *out = NULL;
	size_t len, out_len;

	ASSERT_EQ(0, tu_compile_text("gcc", "-fPIC -O1 -w", dir, name, text, obj,
				     sizeof(obj)));
	ASSERT_EQ(0, tu_read(obj, &data, &len));
	struct myr_link_object o = { obj, data, len };
	struct myr_link_options opt = {
		.name = "limits", .ver_major = 1, .objs = &o, .nobjs = 1,
		.deps = deps, .ndeps = ndeps,
	};
	tu_diag_init(diag);
	int rc = myr_elf_link_write(&opt, &out, &out_len, &diag->diag);
	if (rc == 0) {
		struct myr_module_view v;
		EXPECT_EQ(0, myr_module_parse(out, out_len, 0, &v, NULL));
	}
	free(out);
	free(data);
	return rc;
}

/* "int NAME(void) { return 1; }" with a name of n bytes. */
static char *function_named(size_t n)
{
	char *src = malloc(n + 64);
	ASSERT_NONNULL(src);
	strcpy(src, "int ");
	memset(src + 4, 'f', n);
	strcpy(src + 4 + n, "(void) { return 1; }\n");
	return src;
}

/* The source made by make(limit) links; make(limit + 1) fails with one
 * line naming the limit. */
static void at_and_past(char *(*make)(size_t), size_t limit, const char *name)
{
	struct tu_diag diag;
	setup();
	char *at = make(limit), *past = make(limit + 1);
	EXPECT_EQ(0, link_text("at.c", at, NULL, 0, &diag));
	EXPECT_EQ(-EINVAL, link_text("past.c", past, NULL, 0, &diag));
	EXPECT_EQ(1u, tu_lines_with(&diag, name));
	free(at);
	free(past);
	tu_rmdir(dir);
}

TEST(symbol_max)
{
	at_and_past(function_named, MYR_SYMBOL_MAX, "MYR_SYMBOL_MAX");
}

/*
 * n distinct, valid dependency modules "d000000", "d000001", ... in one
 * buffer: the writer's fixed cost a module, times MYR_DEPS_MAX, would make
 * the test take seconds on an idle machine and minutes on a loaded one, so
 * one module is written and its copies differ only in the digits of the
 * name, resealed.  Each copy is then parsed by the reader like any file.
 */
static uint8_t *dep_modules(size_t n, struct myr_module_view *views)
{
	char name[] = "d000000";
	struct myr_module_desc d = {
		.name = name, .ver_major = 1, .arch = MYR_ARCH_HOST,
		.entry = { .seg = MYR_SEG_NONE },
		.init = { .seg = MYR_SEG_NONE }, .fini = { .seg = MYR_SEG_NONE },
	};
	struct myr_module_view tv;
	uint8_t *tmpl;
	size_t len;

	ASSERT_LE(n, (size_t)1000000);          /* six digits */
	ASSERT_EQ(0, myr_module_write(&d, &tmpl, &len, NULL));
	ASSERT_EQ(0, myr_module_parse(tmpl, len, 0, &tv, NULL));
	ASSERT_EQ(0, memcmp(tv.name, name, sizeof(name) - 1));
	size_t at = (size_t)((const uint8_t *)tv.name - tmpl);
	size_t stride = (len + 63) & ~(size_t)63;
	uint8_t *files = malloc(n * stride);
	ASSERT_NONNULL(files);
	for (size_t i = 0; i < n; i++) {
		uint8_t *f = files + i * stride;
		memcpy(f, tmpl, len);
		snprintf(name, sizeof(name), "d%06zu", i);
		memcpy(f + at, name, sizeof(name) - 1);
		struct myr_header *h = (struct myr_header *)f;
		h->checksum = myr_module_checksum(h, len);
		ASSERT_EQ(0, myr_module_parse(f, len, 0, &views[i], NULL));
	}
	free(tmpl);
	return files;
}

TEST(deps_max)
{
	struct tu_diag diag;
	size_t n = MYR_DEPS_MAX;
	struct myr_module_view *views = calloc(n, sizeof(*views));
	struct myr_link_dep *deps = calloc(n, sizeof(*deps));

	setup();
	ASSERT_NONNULL(views);
	ASSERT_NONNULL(deps);
	uint8_t *files = dep_modules(n, views);
	for (size_t i = 0; i < n; i++)
		deps[i] = (struct myr_link_dep){ "dep.myr", &views[i], 0 };
	const char *src = "int one(void) { return 1; }\n";
	EXPECT_EQ(0, link_text("deps.c", src, deps, n - 1, &diag));
	EXPECT_EQ(-EINVAL, link_text("deps.c", src, deps, n, &diag));
	EXPECT_EQ(1u, tu_lines_with(&diag, "MYR_DEPS_MAX"));
	free(files);
	free(views);
	free(deps);
	tu_rmdir(dir);
}

/* An .init_array of n function pointers. */
static char *init_array(size_t n)
{
	char *src = malloc(256);
	ASSERT_NONNULL(src);
	snprintf(src, 256,
		 "static void f(void) {}\n"
		 "__attribute__((used, section(\".init_array\")))\n"
		 "static void (*const a[%zu])(void) = { [0 ... %zu] = f };\n",
		 n, n - 1);
	return src;
}

TEST(init_funcs_max)
{
	at_and_past(init_array, MYR_INIT_FUNCS_MAX, "MYR_INIT_FUNCS_MAX");
}

TEST_HARNESS_MAIN
