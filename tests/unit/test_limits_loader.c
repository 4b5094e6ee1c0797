/* SPDX-License-Identifier: MIT */
/*
 * The loader's limits from <myriad/limits.h>, at the limit (the program
 * loads: stages 1 to 6, no module code runs) and one past it (the load
 * fails with the limit named in a diagnostic):
 *
 *   MYR_FILE_MAX           the program file and a library file (sparse
 *                          files, so 64 MiB costs no disk)
 *   MYR_LOAD_MODULES_MAX   modules one load keeps track of (a closure hint
 *                          of that many names, none of them present)
 *   MYR_LOAD_DEPTH_MAX     a dependency chain that deep (on tmpfs)
 */
#define TEST_DEFAULT_TIMEOUT 120
#include <fcntl.h>
#include <sys/stat.h>
#include "harness.h"
#include "test_module_fixture.h"
#include <myriad/loader.h>

struct lines {
	unsigned count;
	char first[1024], all[8192];
};

static void collect(void *opaque, const char *line)
{
	struct lines *l = opaque;
	if (!l->count++)
		snprintf(l->first, sizeof(l->first), "%s", line);
	size_t at = strlen(l->all);
	snprintf(l->all + at, sizeof(l->all) - at, "%s\n", line);
}

/* A scratch directory, on tmpfs when there is one (the depth test writes
 * 100,000 files). */
static char *scratch(void)
{
	static char path[4096];
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
			   getenv("MYRIAD_TMPDIR") ? getenv("MYRIAD_TMPDIR") : "/tmp";
	snprintf(path, sizeof(path), "%s/limits-loader.XXXXXX", base);
	ASSERT_NONNULL(mkdtemp(path));
	return path;
}

static void remove_tree(const char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		TH_LOG("could not remove %s", dir);
}

/* Write p[0..len) to dir/name, then extend the file with a hole to size. */
static void put_file(const char *dir, const char *name, const uint8_t *p, size_t len,
		     size_t size)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ((ssize_t)len, write(fd, p, len));
	ASSERT_EQ(0, ftruncate(fd, (off_t)size));
	ASSERT_EQ(0, close(fd));
}

static void put_module(const char *dir, const struct myr_module_desc *d)
{
	struct myr_error err = { 0 };
	char name[128];
	uint8_t *file;
	size_t len;

	if (myr_module_write(d, &file, &len, &err) != 0)
		TH_LOG("writing %s: %s", d->name, err.msg);
	ASSERT_EQ(0, err.code);
	snprintf(name, sizeof(name), "%s.myr", d->name);
	put_file(dir, name, file, len, len);
	free(file);
}

static const uint8_t ret_text[1] = { 0xc3 };

static void program_desc(struct myr_module_desc *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->ver_major = 1;
	d->arch = MYR_ARCH_HOST;
	d->flags = MYR_F_PROGRAM;
	d->seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ ret_text, 1, 0 };
	d->entry = (struct myr_ref){ .seg = MYR_SEG_TEXT };
	d->init = d->fini = (struct myr_array_ref){ .seg = MYR_SEG_NONE };
}

static void library_desc(struct myr_module_desc *d, const char *name)
{
	program_desc(d, name);
	d->flags = 0;
	d->entry = (struct myr_ref){ .seg = MYR_SEG_NONE };
}

/* Load dir/prog.myr with dir as the library directory. */
static int load(const char *dir, struct lines *out, uint64_t max_modules)
{
	const char *dirs[] = { dir };
	struct myr_diag diag = { .emit = collect, .opaque = out };
	struct myr_loader_config cfg = {
		.dirs = dirs, .ndirs = 1, .io = MYR_IO_SYNC,
		.alloc = MYR_ALLOC_POOLING, .diag = &diag,
	};
	struct myr_error err = { 0 };
	struct myr_loader *l;
	char path[4200];

	memset(out, 0, sizeof(*out));
	myr_pool_limits_default(&cfg.limits);
	if (max_modules)
		cfg.limits.modules = max_modules;
	snprintf(path, sizeof(path), "%s/prog.myr", dir);
	ASSERT_EQ(0, myr_loader_init(&l, &cfg, &err));
	int rc = myr_loader_load(l, path);
	if (rc == 0)
		EXPECT_NONNULL(myr_loader_entry(l));
	myr_loader_exit(l);
	return rc;
}

#define EXPECT_LINE(lines, needle) do {                                        \
		if (!strstr((lines).all, (needle)))                             \
			TH_LOG("diagnostics lack '%s':\n%s", (needle), (lines).all); \
		EXPECT_NONNULL(strstr((lines).all, (needle)));                  \
	} while (0)

/*
 * A valid module of exactly size bytes: d's file followed by zeros, which
 * the header's file_size then covers (payloads need not fill the file).
 * Written sparse; the checksum is computed over the zeros in memory.
 */
static void put_stretched(const char *dir, const char *file_name,
			  const struct myr_module_desc *d, size_t size)
{
	struct myr_error err = { 0 };
	uint8_t *small, *big;
	size_t len;

	ASSERT_EQ(0, myr_module_write(d, &small, &len, &err));
	big = calloc(1, size);
	ASSERT_NONNULL(big);
	memcpy(big, small, len);
	struct myr_header *h = (struct myr_header *)big;
	h->file_size = (uint32_t)size;
	h->checksum = myr_module_checksum(big, size);
	put_file(dir, file_name, big, len, size);
	free(small);
	free(big);
}

TEST(program_file_max)
{
	struct myr_module_desc d;
	struct lines out;
	char *dir = scratch();

	program_desc(&d, "prog");
	put_stretched(dir, "prog.myr", &d, MYR_FILE_MAX);
	EXPECT_EQ(0, load(dir, &out, 0));
	EXPECT_EQ(0u, out.count);

	/* One byte more: refused from its size, before it is read. */
	put_stretched(dir, "prog.myr", &d, MYR_FILE_MAX);
	char path[4200];
	snprintf(path, sizeof(path), "%s/prog.myr", dir);
	ASSERT_EQ(0, truncate(path, (off_t)MYR_FILE_MAX + 1));
	EXPECT_EQ(-EFBIG, load(dir, &out, 0));
	EXPECT_EQ(1u, out.count);
	EXPECT_LINE(out, "limit");
	remove_tree(dir);
}

TEST(library_file_max)
{
	struct myr_module_desc d, lib;
	struct myr_desc_dep dep = { "big", 1, 0, 0, 0, 0 };
	struct lines out;
	char *dir = scratch();

	program_desc(&d, "prog");
	d.deps = &dep;
	d.ndeps = 1;
	put_module(dir, &d);
	library_desc(&lib, "big");
	put_stretched(dir, "big.myr", &lib, MYR_FILE_MAX);
	EXPECT_EQ(0, load(dir, &out, 0));
	EXPECT_EQ(0u, out.count);

	char path[4200];
	snprintf(path, sizeof(path), "%s/big.myr", dir);
	ASSERT_EQ(0, truncate(path, (off_t)MYR_FILE_MAX + 1));
	EXPECT_NE(0, load(dir, &out, 0));
	EXPECT_EQ(1u, out.count);
	EXPECT_LINE(out, "big");
	EXPECT_LINE(out, "limit");
	remove_tree(dir);
}

/*
 * The loader keeps one record per module it has heard of, reached or not:
 * the program, and every closure hint entry.  A hint of
 * MYR_LOAD_MODULES_MAX - 1 absent modules (never reached, so never
 * reported) still loads; a dependency the hint does not list is then one
 * module too many.  A hint of MYR_LOAD_MODULES_MAX entries is refused
 * before anything is read: with the program it passes the pool's default
 * module limit (MYR_POOL_DEFAULT_MODULES, the same number).
 */
TEST(load_modules_max)
{
	struct myr_module_desc d;
	struct lines out;
	char *dir = scratch();
	size_t n = MYR_LOAD_MODULES_MAX;
	struct myr_desc_dep *hint = calloc(n, sizeof(*hint));
	char (*names)[16] = calloc(n, sizeof(*names));

	ASSERT_NONNULL(hint);
	ASSERT_NONNULL(names);
	ASSERT_LE((size_t)MYR_LOAD_MODULES_MAX, (size_t)MYR_CLOSURE_MAX);
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "h%zu", i);
		hint[i] = (struct myr_desc_dep){ names[i], 1, 0, 0, 300, 0 };
	}
	program_desc(&d, "prog");
	d.closure = hint;
	d.nclosure = n - 1;
	put_module(dir, &d);
	EXPECT_EQ(0, load(dir, &out, 0));
	EXPECT_EQ(0u, out.count);

	struct myr_desc_dep extra = { .name = "extra", .ver_major = 1 };
	d.deps = &extra;
	d.ndeps = 1;
	put_module(dir, &d);
	EXPECT_EQ(-E2BIG, load(dir, &out, 0));
	EXPECT_EQ(1u, out.count);
	char needle[96];
	snprintf(needle, sizeof(needle), "more than %u modules", MYR_LOAD_MODULES_MAX);
	EXPECT_LINE(out, needle);

	EXPECT_EQ((unsigned)MYR_LOAD_MODULES_MAX, (unsigned)MYR_POOL_DEFAULT_MODULES);
	d.deps = NULL;
	d.ndeps = 0;
	d.nclosure = n;
	put_module(dir, &d);
	EXPECT_EQ(-E2BIG, load(dir, &out, 0));
	EXPECT_EQ(1u, out.count);
	snprintf(needle, sizeof(needle), "closure hint lists %u modules and the program, "
		 "--pool-modules is %u (nothing was read)", MYR_LOAD_MODULES_MAX,
		 MYR_POOL_DEFAULT_MODULES);
	EXPECT_LINE(out, needle);
	free(hint);
	free(names);
	remove_tree(dir);
}

/*
 * prog -> c0 -> c1 -> ... : module cI is at depth I + 1.  A chain whose
 * deepest module is at MYR_LOAD_DEPTH_MAX loads; one more link is refused.
 * The program's closure hint lists the chain, so it is read in one batch.
 * The pool's module limit is raised to let 100,001 modules in.
 */
TEST_TIMEOUT(load_depth_max, 300)
{
	struct myr_module_desc d;
	struct lines out;
	char *dir = scratch();
	uint32_t n = MYR_LOAD_DEPTH_MAX + 1;      /* c0 .. c(n-1) */
	struct myr_desc_dep *hint = calloc(n, sizeof(*hint));
	char (*names)[16] = calloc(n, sizeof(*names));

	ASSERT_NONNULL(hint);
	ASSERT_NONNULL(names);
	for (uint32_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "c%u", i);
		hint[i] = (struct myr_desc_dep){ names[i], 1, 0, 0, 512, 0 };
	}
	/* c0 .. c(n-2) each need the next; c(n-2) is at depth n - 1 = MAX. */
	for (uint32_t i = 0; i + 1 < n; i++) {
		struct myr_desc_dep dep = { names[i + 1], 1, 0, 0, 0, 0 };
		library_desc(&d, names[i]);
		d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ 0 };
		d.deps = &dep;
		d.ndeps = i + 2 < n ? 1 : 0;
		put_module(dir, &d);
	}
	library_desc(&d, names[n - 1]);
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ 0 };
	put_module(dir, &d);

	struct myr_desc_dep first = { names[0], 1, 0, 0, 0, 0 };
	program_desc(&d, "prog");
	d.deps = &first;
	d.ndeps = 1;
	d.closure = hint;
	d.nclosure = n;
	put_module(dir, &d);
	EXPECT_EQ(0, load(dir, &out, MYR_LOAD_MODULES_MAX));
	if (out.count)
		TH_LOG("%s", out.first);
	EXPECT_EQ(0u, out.count);

	/* c(n-2) now needs c(n-1): depth MAX + 1. */
	struct myr_desc_dep last = { names[n - 1], 1, 0, 0, 0, 0 };
	library_desc(&d, names[n - 2]);
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ 0 };
	d.deps = &last;
	d.ndeps = 1;
	put_module(dir, &d);
	EXPECT_EQ(-E2BIG, load(dir, &out, MYR_LOAD_MODULES_MAX));
	EXPECT_EQ(1u, out.count);
	char needle[64];
	snprintf(needle, sizeof(needle), "deeper than %u", MYR_LOAD_DEPTH_MAX);
	EXPECT_LINE(out, needle);
	free(hint);
	free(names);
	remove_tree(dir);
}

TEST_HARNESS_MAIN
