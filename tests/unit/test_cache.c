/* SPDX-License-Identifier: MIT */
/*
 * The cache through its API: a directory of hand-assembled modules is
 * built into an image, opened and run through the loader, at the
 * preferred address and slid; stale entries are refused; a module pinned
 * to the host's object addresses falls back to its file when the host
 * differs; and the parser rejects truncation, foreign versions, flipped
 * bytes and (with the checksums recomputed) every out-of-bounds index,
 * offset and fixup, without ever reading outside the buffer (ASan).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <myriad/cache.h>
#include <myriad/loader.h>
#include <myriad/module.h>
#include "harness.h"

static char dir[256];

static void write_file(const char *name, const uint8_t *p, size_t n)
{
	char path[512], tmp[520];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
	/* By rename, as package managers install. */
	if (rename(tmp, path) != 0)
		abort();
}

static void write_module(const struct myr_module_desc *d)
{
	struct myr_error err = { 0 };
	uint8_t *out;
	size_t len;
	char name[80];
	if (myr_module_write(d, &out, &len, &err) < 0) {
		fprintf(stderr, "# write %s: %s\n", d->name, err.msg);
		abort();
	}
	snprintf(name, sizeof(name), "%s.myr", d->name);
	write_file(name, out, len);
	free(out);
}

/* lib: f() returns value; data p = &f (an absolute pointer: a rebase). */
static void write_lib(uint8_t value)
{
	static uint8_t text[6] = { 0xb8, 0, 0, 0, 0, 0xc3 };
	static const uint8_t data[8];
	static const struct myr_desc_export exp[] = {
		{ "f", MYR_SEG_TEXT, MYR_SYM_FUNC, 0 },
		{ "p", MYR_SEG_DATA, MYR_SYM_OBJECT, 0 },
	};
	static const struct myr_reloc rel[] = {
		{ .site_off = 0, .site_seg = MYR_SEG_DATA, .type = MYR_REL_ABS64,
		  .target_seg = MYR_SEG_TEXT, .target = 0 },
	};
	struct myr_module_desc d = {
		.name = "lib", .ver_major = 1, .arch = MYR_ARCH_HOST,
		.exports = exp, .nexports = 2, .relocs = rel, .nrelocs = 1,
		.entry = { .seg = MYR_SEG_NONE }, .init = { .seg = MYR_SEG_NONE },
		.fini = { .seg = MYR_SEG_NONE },
	};
	text[1] = value;
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text, 6, 4 };
	d.seg[MYR_SEG_DATA] = (struct myr_desc_segment){ data, 8, 3 };
	write_module(&d);
}

/* mid: g() = f() + 1; relro q = &lib.p (an import: a rebase too). */
static void write_mid(void)
{
	static const uint8_t text[] = { 0xe8, 0, 0, 0, 0, 0x83, 0xc0, 0x01, 0xc3 };
	static const uint8_t relro[8];
	static const struct myr_desc_dep deps[] = { { "lib", 1, 0, 0, 0, 0 } };
	static const struct myr_desc_import imp[] = {
		{ "f", 0, MYR_NO_HINT }, { "p", 0, MYR_NO_HINT },
	};
	static const struct myr_desc_export exp[] = {
		{ "g", MYR_SEG_TEXT, MYR_SYM_FUNC, 0 },
		{ "q", MYR_SEG_RELRO, MYR_SYM_OBJECT, 0 },
	};
	static const struct myr_reloc rel[] = {
		{ .site_off = 1, .site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
		  .target_seg = MYR_TARGET_IMPORT, .target = 0, .addend = -4 },
		{ .site_off = 0, .site_seg = MYR_SEG_RELRO, .type = MYR_REL_ABS64,
		  .target_seg = MYR_TARGET_IMPORT, .target = 1 },
	};
	struct myr_module_desc d = {
		.name = "mid", .ver_major = 1, .arch = MYR_ARCH_HOST,
		.deps = deps, .ndeps = 1, .imports = imp, .nimports = 2,
		.exports = exp, .nexports = 2, .relocs = rel, .nrelocs = 2,
		.entry = { .seg = MYR_SEG_NONE }, .init = { .seg = MYR_SEG_NONE },
		.fini = { .seg = MYR_SEG_NONE },
	};
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text, sizeof(text), 4 };
	d.seg[MYR_SEG_RELRO] = (struct myr_desc_segment){ relro, 8, 3 };
	write_module(&d);
}

/* prog: entry = g() + (*mid.q)() — through both absolute pointers. */
static void write_prog(const char *name, const char *extra_dep)
{
	static const uint8_t text[] = {
		0x53,                               /* push rbx */
		0xe8, 0, 0, 0, 0,                   /* call g */
		0x89, 0xc3,                         /* mov ebx, eax */
		0x48, 0x8b, 0x05, 0, 0, 0, 0,       /* mov rax, [rip + q] */
		0x48, 0x8b, 0x00,                   /* mov rax, [rax] */
		0xff, 0xd0,                         /* call rax */
		0x01, 0xd8,                         /* add eax, ebx */
		0x5b, 0xc3,                         /* pop rbx; ret */
	};
	struct myr_desc_dep deps[] = { { "mid", 1, 0, 0, 0, 0 }, { extra_dep, 1, 0, 0, 0, 0 } };
	static const struct myr_desc_import imp[] = {
		{ "g", 0, MYR_NO_HINT }, { "q", 0, MYR_NO_HINT },
	};
	static const struct myr_reloc rel[] = {
		{ .site_off = 2, .site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
		  .target_seg = MYR_TARGET_IMPORT, .target = 0, .addend = -4 },
		{ .site_off = 11, .site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
		  .target_seg = MYR_TARGET_IMPORT, .target = 1, .addend = -4 },
	};
	struct myr_module_desc d = {
		.name = name, .ver_major = 1, .arch = MYR_ARCH_HOST,
		.flags = MYR_F_PROGRAM, .deps = deps, .ndeps = extra_dep ? 2 : 1,
		.imports = imp, .nimports = 2, .relocs = rel, .nrelocs = 2,
		.entry = { .seg = MYR_SEG_TEXT, .off = 0 },
		.init = { .seg = MYR_SEG_NONE }, .fini = { .seg = MYR_SEG_NONE },
	};
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text, sizeof(text), 4 };
	write_module(&d);
}

/* ---- a fake host module: one function, two objects ---------------------- */

static int host_obj_a = 7, host_obj_b = 9;
static int host_fn(void) { return 5; }

static void *find_a(void *o, const char *name, uint32_t len)
{
	(void)o;
	if (len == 4 && memcmp(name, "hobj", 4) == 0)
		return &host_obj_a;
	if (len == 3 && memcmp(name, "hfn", 3) == 0)
		return (void *)host_fn;
	return NULL;
}

static void *find_b(void *o, const char *name, uint32_t len)
{
	if (len == 4 && memcmp(name, "hobj", 4) == 0)
		return &host_obj_b;
	return find_a(o, name, len);
}

static int kind(void *o, const char *name, uint32_t len)
{
	(void)o;
	return len == 3 && memcmp(name, "hfn", 3) == 0 ? MYR_SYM_FUNC : MYR_SYM_OBJECT;
}

static void host_init(struct myr_host_binding *h, int second)
{
	uintptr_t a = (uintptr_t)&host_obj_a, b = (uintptr_t)&host_obj_b,
		  f = (uintptr_t)host_fn;
	uintptr_t lo = a < b ? a : b, hi = a < b ? b : a;
	memset(h, 0, sizeof(*h));
	h->name = MYR_HOST_MODULE_NAME;
	h->ver_major = 1;
	h->find = second ? find_b : find_a;
	h->kind = kind;
	h->lo = (f < lo ? f : lo) & ~(uintptr_t)4095;
	h->hi = (f > hi ? f : hi) + 4096;
}

/* hp: h() = *hobj (PC32 to a host object: pinned) + hfn() (a stub). */
static void write_pinned(void)
{
	static const uint8_t text[] = {
		0x53,                               /* push rbx */
		0x48, 0x8d, 0x05, 0, 0, 0, 0,       /* lea rax, [rip + hobj] */
		0x8b, 0x18,                         /* mov ebx, [rax] */
		0xe8, 0, 0, 0, 0,                   /* call hfn */
		0x01, 0xd8, 0x5b, 0xc3,             /* add eax, ebx; pop; ret */
	};
	static const struct myr_desc_dep deps[] = { { MYR_HOST_MODULE_NAME, 1, 0, 0, 0, 0 } };
	static const struct myr_desc_import imp[] = {
		{ "hobj", 0, MYR_NO_HINT }, { "hfn", 0, MYR_NO_HINT },
	};
	static const struct myr_desc_export exp[] = {
		{ "g", MYR_SEG_TEXT, MYR_SYM_FUNC, 0 },
		{ "q", MYR_SEG_TEXT, MYR_SYM_OBJECT, 0 },
	};
	static const struct myr_reloc rel[] = {
		{ .site_off = 4, .site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
		  .target_seg = MYR_TARGET_IMPORT, .target = 0, .addend = -4 },
		{ .site_off = 11, .site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
		  .target_seg = MYR_TARGET_IMPORT, .target = 1, .addend = -4 },
	};
	struct myr_module_desc d = {
		.name = "mid", .ver_major = 1, .arch = MYR_ARCH_HOST,
		.deps = deps, .ndeps = 1, .imports = imp, .nimports = 2,
		.exports = exp, .nexports = 2, .relocs = rel, .nrelocs = 2,
		.entry = { .seg = MYR_SEG_NONE }, .init = { .seg = MYR_SEG_NONE },
		.fini = { .seg = MYR_SEG_NONE },
	};
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text, sizeof(text), 4 };
	write_module(&d);
}

/* ---- fixture ---------------------------------------------------------- */

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/test_cache.XXXXXX",
		 getenv("MYRIAD_TMPDIR") ? getenv("MYRIAD_TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		abort();
}

static int build(const struct myr_host_binding *host,
		 struct myr_cache_build_result *res)
{
	struct myr_cache_build_config cfg = { .dir = dir, .host = host };
	struct myr_error err = { 0 };
	int r = myr_cache_build(&cfg, res, &err);
	if (r < 0)
		fprintf(stderr, "# build: %s\n", err.msg);
	return r;
}

/* The directory most tests start from, in a new dir: lib (whose f()
 * returns value), mid (g() = f() + 1) and prog (2 * value + 1). */
static void write_three(uint8_t value)
{
	setup();
	write_lib(value);
	write_mid();
	write_prog("prog", NULL);
}

/* ... built into an image (no host module): 0, or the build's -errno.
 * res may be NULL. */
static int build_three(uint8_t value, struct myr_cache_build_result *res)
{
	struct myr_cache_build_result own;

	write_three(value);
	return build(NULL, res ? res : &own);
}

/* Load dir/NAME.myr with the cache c and return its entry's result, or
 * -1000 - errno-ish on a load failure. */
static int run_prog(struct myr_cache *c, const char *name,
		    const struct myr_host_binding *host, uint32_t *cached)
{
	const char *dirs[] = { dir };
	struct myr_loader_config cfg = { .dirs = dirs, .ndirs = 1,
					 .io = MYR_IO_SYNC, .host = host,
					 .cache = c };
	struct myr_error err = { 0 };
	struct myr_loader *l;
	char path[512];
	uint32_t files;
	int r;

	myr_pool_limits_default(&cfg.limits);
	snprintf(path, sizeof(path), "%s/%s.myr", dir, name);
	if (myr_loader_init(&l, &cfg, &err) < 0)
		return -2000;
	r = myr_loader_load(l, path);
	if (r < 0) {
		myr_loader_exit(l);
		return -1000 + r;
	}
	myr_loader_run_init(l);
	myr_loader_origins(l, cached, &files);
	r = myr_loader_entry(l)(myr_loader_ctx(l, 0, NULL, NULL));
	myr_loader_run_fini(l);
	myr_loader_exit(l);
	return r;
}

static uint8_t *slurp(size_t *len)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s/%s", dir, MYR_CACHE_SUBDIR, MYR_CACHE_FILE);
	int fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		abort();
	uint8_t *p = aligned_alloc(4096, ((size_t)st.st_size + 4095) & ~(size_t)4095);
	if (!p || read(fd, p, (size_t)st.st_size) != st.st_size)
		abort();
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

/* Occupy the image's preferred address (or find it occupied already), so
 * that the image opens slid: the page mapped, or MAP_FAILED. */
static void *block_preferred(const struct myr_cache_header *h)
{
	void *p = mmap((void *)(uintptr_t)h->pref_base, MYR_CACHE_PAGE,
		       PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);
	if (p == MAP_FAILED ? errno != EEXIST : (uintptr_t)p != h->pref_base)
		abort();
	return p;
}

/* Recompute both checksums after an edit, so the bounds checks are what
 * must reject it. */
static void resum(uint8_t *buf)
{
	struct myr_cache_header *h = (void *)buf;
	h->meta_checksum = myr_xxh64(buf + h->meta_off, h->meta_size, 0);
	h->header_checksum = 0;
	h->header_checksum = myr_xxh64(h, sizeof(*h), 0);
}

/* Parse and check every module and name: any result but never a crash. */
static int parse_all(const uint8_t *buf, size_t len, unsigned flags)
{
	struct myr_cache_view v;
	struct myr_error err = { 0 };
	int r = myr_cache_parse(buf, len, flags, &v, &err);
	if (r < 0)
		goto out;
	for (uint32_t i = 0; i < v.hdr->modules.count; i++) {
		int c = myr_cache_check_module(&v, i, &err);
		if (c < 0)
			r = c;
	}
out:
	if (getenv("TEST_CACHE_VERBOSE"))
		fprintf(stderr, "# parse: %d %s\n", r, err.msg);
	if (r >= 0) {
		myr_cache_view_find(&v, "lib", 3);
		myr_cache_view_find(&v, "nosuch", 6);
	}
	return r;
}

/* ---- tests ------------------------------------------------------------ */

TEST(build_open_and_run_from_the_image)
{
	struct myr_cache_build_result res;
	struct myr_cache_info info;
	struct myr_error err = { 0 };
	struct myr_cache *c;
	uint32_t cached = 0;

	ASSERT_EQ(0, build_three(42, &res));
	EXPECT_EQ(3u, res.modules);
	EXPECT_EQ(3u, res.cached);
	EXPECT_EQ(1u, res.programs);
	EXPECT_EQ(0, res.stamp_error);      /* the stamp was written */
	EXPECT_STREQ("", res.stamp_why);
	ASSERT_EQ(0, myr_cache_open(&c, dir, NULL, &err));
	EXPECT_EQ(85, run_prog(c, "prog", NULL, &cached));
	EXPECT_EQ(2u, cached);
	myr_cache_info(c, &info);
	EXPECT_EQ(0, info.stale);
	EXPECT_EQ(1, info.closure_used);
	EXPECT_EQ(0u, info.stat_calls);
	myr_cache_close(c);
}

TEST(a_taken_preferred_address_slides_and_rebases)
{
	struct myr_cache_info info;
	struct myr_error err = { 0 };
	struct myr_cache *c;
	uint32_t cached = 0;
	size_t len;

	ASSERT_EQ(0, build_three(40, NULL));
	uint8_t *buf = slurp(&len);
	const struct myr_cache_header *h = (const void *)buf;
	block_preferred(h);
	ASSERT_EQ(0, myr_cache_open(&c, dir, NULL, &err));
	myr_cache_info(c, &info);
	EXPECT_EQ(1, info.slid);
	EXPECT_EQ(81, run_prog(c, "prog", NULL, &cached));
	EXPECT_EQ(2u, cached);
	myr_cache_close(c);
	free(buf);
}

TEST(a_module_renamed_over_is_never_taken_from_the_image)
{
	struct myr_cache_build_result res;
	struct myr_cache_info info;
	struct myr_error err = { 0 };
	struct myr_cache *c;
	uint32_t cached = 9;

	write_three(42);
	write_prog("other", "lib");
	ASSERT_EQ(0, build(NULL, &res));
	write_lib(50);                      /* by rename */
	ASSERT_EQ(0, myr_cache_open(&c, dir, NULL, &err));
	myr_cache_info(c, &info);
	EXPECT_EQ(1, info.stale);
	EXPECT_EQ(-ENOENT, myr_cache_find(c, "lib", 3));
	EXPECT_EQ(-ENOENT, myr_cache_find(c, "mid", 3));   /* depends on lib */
	myr_cache_close(c);

	ASSERT_EQ(0, myr_cache_open(&c, dir, NULL, &err));
	EXPECT_EQ(101, run_prog(c, "prog", NULL, &cached));
	EXPECT_EQ(0u, cached);
	myr_cache_info(c, &info);
	EXPECT_EQ(0, info.closure_used);   /* lib is stale: not trusted */
	EXPECT_GT(info.stat_calls, 0u);
	myr_cache_close(c);
}

TEST(pinned_modules_need_the_same_host_addresses)
{
	struct myr_host_binding ha, hb;
	struct myr_cache_build_result res;
	struct myr_cache_info info;
	struct myr_error err = { 0 };
	struct myr_cache *c;
	uint32_t cached = 9;

	setup();
	host_init(&ha, 0);
	host_init(&hb, 1);
	write_pinned();
	/* prog: g() + (*q)() with q the text of mid: reads its first bytes as
	 * a pointer, so call only g: a program of its own. */
	{
		static const uint8_t text[] = { 0xe8, 0, 0, 0, 0, 0xc3 };
		static const struct myr_desc_dep deps[] = { { "mid", 1, 0, 0, 0, 0 } };
		static const struct myr_desc_import imp[] = { { "g", 0, MYR_NO_HINT } };
		static const struct myr_reloc rel[] = {
			{ .site_off = 1, .site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
			  .target_seg = MYR_TARGET_IMPORT, .target = 0, .addend = -4 },
		};
		struct myr_module_desc d = {
			.name = "prog", .ver_major = 1, .arch = MYR_ARCH_HOST,
			.flags = MYR_F_PROGRAM, .deps = deps, .ndeps = 1,
			.imports = imp, .nimports = 1, .relocs = rel, .nrelocs = 1,
			.entry = { .seg = MYR_SEG_TEXT }, .init = { .seg = MYR_SEG_NONE },
			.fini = { .seg = MYR_SEG_NONE },
		};
		d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text, sizeof(text), 4 };
		write_module(&d);
	}
	ASSERT_EQ(0, build(&ha, &res));
	EXPECT_EQ(1u, res.pinned);
	ASSERT_EQ(0, myr_cache_open(&c, dir, &ha, &err));
	EXPECT_EQ(12, run_prog(c, "prog", &ha, &cached));   /* 7 + 5 */
	EXPECT_EQ(1u, cached);
	myr_cache_close(c);

	/* Another "launcher build": hobj moved.  The image's text would read
	 * the old address, so mid comes from its file, bound to the new. */
	ASSERT_EQ(0, myr_cache_open(&c, dir, &hb, &err));
	myr_cache_info(c, &info);
	EXPECT_EQ(0, info.pins_valid);
	EXPECT_EQ(14, run_prog(c, "prog", &hb, &cached));   /* 9 + 5 */
	EXPECT_EQ(0u, cached);
	myr_cache_close(c);
}

/* The header checksum of dir/NAME.myr, as the loader service sends it. */
static uint64_t prog_sum(const char *name)
{
	struct myr_module_view v;
	struct myr_error err = { 0 };
	char path[512];
	static uint8_t buf[1 << 16];
	snprintf(path, sizeof(path), "%s/%s.myr", dir, name);
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	if (n <= 0 || myr_module_parse(buf, (size_t)n, 0, &v, &err) < 0)
		abort();
	return v.hdr->checksum;
}

static int pins_valid;          /* of the last run_planned() */

/* Open the image as the loader service's (MYR_CACHE_OPEN_SEALED), give it
 * the plan list[0..n) for prog, run prog: its result; *used says whether
 * the plan was the launch closure. */
static int run_planned(const uint32_t *list, uint32_t n, uint64_t sum,
		       int *used, uint32_t *cached)
{
	struct myr_cache_info info;
	struct myr_error err = { 0 };
	struct myr_cache *c;
	char path[512];
	uint32_t *plan = malloc(n * sizeof(*plan));
	snprintf(path, sizeof(path), "%s/%s/%s", dir, MYR_CACHE_SUBDIR, MYR_CACHE_FILE);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!plan || fd < 0 ||
	    myr_cache_open_fd(&c, fd, dir, MYR_CACHE_OPEN_SEALED, NULL, &err) < 0)
		abort();
	close(fd);
	memcpy(plan, list, n * sizeof(*plan));
	if (myr_cache_give_closure(c, sum, plan, n, 0) < 0)
		abort();
	int r = run_prog(c, "prog", NULL, cached);
	myr_cache_info(c, &info);
	*used = info.closure_used;
	pins_valid = info.pins_valid;
	myr_cache_close(c);
	return r;
}

/* The loader service's plan (docs/service.md): used as given when every
 * entry is in range and new, else not at all, the launch then walking the
 * image itself to the same result. */
TEST(a_service_plan_is_used_only_when_it_holds)
{
	struct myr_cache_view v;
	struct myr_error err = { 0 };
	struct myr_cache *c;
	uint32_t cached = 0;
	size_t len;
	int used = 0;

	ASSERT_EQ(0, build_three(42, NULL));
	uint8_t *buf = slurp(&len);
	ASSERT_EQ(0, myr_cache_parse(buf, len, MYR_CACHE_PARSE_META_ONLY, &v, &err));
	int64_t lib = myr_cache_view_find(&v, "lib", 3);
	int64_t mid = myr_cache_view_find(&v, "mid", 3);
	ASSERT_TRUE(lib >= 0 && mid >= 0);
	uint64_t sum = prog_sum("prog");
	uint32_t pl = myr_cache_plan_entry(&v, (uint32_t)lib);
	uint32_t pm = myr_cache_plan_entry(&v, (uint32_t)mid);
	const uint32_t good[] = { pl, pm };
	const uint32_t twice[] = { pl, pl, pm };
	const uint32_t far[] = { pl, v.hdr->modules.count };
	const uint32_t pinned[] = { pl | MYR_CACHE_PLAN_PINNED, pm };

	EXPECT_EQ(85, run_planned(good, 2, sum, &used, &cached));
	EXPECT_EQ(1, used);
	EXPECT_EQ(2u, cached);
	/* Without a host, the pins hold unless the image slid. */
	EXPECT_EQ(85, run_planned(pinned, 2, sum, &used, &cached));
	EXPECT_EQ(pins_valid, used);
	EXPECT_EQ(85, run_planned(twice, 3, sum, &used, &cached));
	EXPECT_EQ(0, used);
	EXPECT_EQ(2u, cached);
	EXPECT_EQ(85, run_planned(far, 2, sum, &used, &cached));
	EXPECT_EQ(0, used);
	/* Another program's plan: prog's own recorded closure serves. */
	EXPECT_EQ(85, run_planned(good, 2, sum + 1, &used, &cached));
	EXPECT_EQ(2u, cached);
	/* A plan is the service's, for its sealed image only. */
	ASSERT_EQ(0, myr_cache_open(&c, dir, NULL, &err));
	EXPECT_EQ(-EINVAL, myr_cache_give_closure(c, sum, malloc(8), 2, 0));
	myr_cache_close(c);
	free(buf);
}

/* cache_ask (the launcher's request to the loader service) runs just
 * before cache_open, the program's checksum computed between the two:
 * a program whose bytes changed is still refused. */
static char calls[8];
static struct myr_cache *ask_cache;

static int ask(void *o, int program_fd)
{
	struct stat st;

	(void)o;
	/* The loader's own descriptor of the program, still open. */
	strncat(calls, fstat(program_fd, &st) == 0 && S_ISREG(st.st_mode) ?
		"a" : "!", sizeof(calls) - strlen(calls) - 1);
	return 1;       /* a request is out */
}

static struct myr_cache *open_asked(void *o)
{
	(void)o;
	strncat(calls, "o", sizeof(calls) - strlen(calls) - 1);
	return ask_cache;
}

static int run_asked(const char *name)
{
	const char *dirs[] = { dir };
	struct myr_loader_config cfg = { .dirs = dirs, .ndirs = 1,
					 .io = MYR_IO_SYNC,
					 .cache_open = open_asked,
					 .cache_ask = ask };
	struct myr_error err = { 0 };
	struct myr_loader *l;
	char path[512];
	int r;

	calls[0] = '\0';
	myr_pool_limits_default(&cfg.limits);
	snprintf(path, sizeof(path), "%s/%s.myr", dir, name);
	if (myr_cache_open(&ask_cache, dir, NULL, &err) < 0 ||
	    myr_loader_init(&l, &cfg, &err) < 0)
		abort();
	r = myr_loader_load(l, path);
	if (r == 0) {
		myr_loader_run_init(l);
		r = myr_loader_entry(l)(myr_loader_ctx(l, 0, NULL, NULL));
		myr_loader_run_fini(l);
	}
	myr_loader_exit(l);
	myr_cache_close(ask_cache);
	return r;
}

TEST(cache_ask_comes_first_and_the_program_is_still_checked)
{
	static const uint8_t code[] = { 0x89, 0xc3, 0x48, 0x8b, 0x05 };
	char path[512];
	uint8_t buf[4096];

	ASSERT_EQ(0, build_three(42, NULL));
	EXPECT_EQ(85, run_asked("prog"));
	EXPECT_STREQ("ao", calls);
	/* One byte of its code changed after the build: the checksum. */
	snprintf(path, sizeof(path), "%s/prog.myr", dir);
	int fd = open(path, O_RDWR);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	ASSERT_TRUE(n > 0);
	uint8_t *at = NULL;
	for (ssize_t k = 0; !at && k + (ssize_t)sizeof(code) <= n; k++)
		if (memcmp(buf + k, code, sizeof(code)) == 0)
			at = buf + k;
	ASSERT_TRUE(at != NULL);
	*at = 0x8b;
	ASSERT_EQ(1, (int)pwrite(fd, at, 1, at - buf));
	close(fd);
	EXPECT_EQ(-EILSEQ, run_asked("prog"));
	EXPECT_STREQ("ao", calls);
}

TEST(an_empty_directory_builds_an_empty_image)
{
	struct myr_cache_build_result res;
	struct myr_error err = { 0 };
	struct myr_cache *c;

	setup();
	ASSERT_EQ(0, build(NULL, &res));
	EXPECT_EQ(0u, res.modules);
	ASSERT_EQ(0, myr_cache_open(&c, dir, NULL, &err));
	EXPECT_EQ(-ENOENT, myr_cache_find(c, "lib", 3));
	myr_cache_close(c);
}

TEST(no_cache_is_enoent_and_foreign_files_are_not_caches)
{
	struct myr_error err = { 0 };
	struct myr_cache *c;
	uint8_t junk[600] = "not a cache";

	setup();
	EXPECT_EQ(-ENOENT, myr_cache_open(&c, dir, NULL, &err));
	EXPECT_EQ(-ENOEXEC, myr_cache_parse(junk, sizeof(junk), 0,
					    &(struct myr_cache_view){ 0 }, &err));
}

TEST(parse_rejects_every_truncation_and_flip)
{
	struct myr_error err = { 0 };
	struct myr_cache_view v;
	size_t len;

	ASSERT_EQ(0, build_three(42, NULL));
	uint8_t *buf = slurp(&len);
	const struct myr_cache_header *h = (const void *)buf;
	ASSERT_EQ(0, parse_all(buf, len, MYR_CACHE_PARSE_IDENTS));
	for (size_t n = 0; n < len; n += n < 2048 ? 1 : 509)
		EXPECT_LT(myr_cache_parse(buf, n, 0, &v, &err), 0);
	/* Every byte of the header and the metadata is covered by a sum. */
	size_t meta_end = h->meta_off + h->meta_size;
	for (size_t at = 0; at < meta_end; at++) {
		buf[at] ^= 0x20;
		int r = myr_cache_parse(buf, len, 0, &v, &err);
		if (r == 0)
			fprintf(stderr, "# flip at %zu accepted\n", at);
		EXPECT_LT(r, 0);
		buf[at] ^= 0x20;
	}
	struct myr_cache_header *w = (void *)buf;
	w->version = MYR_CACHE_VERSION + 1;
	EXPECT_EQ(-EPROTO, myr_cache_parse(buf, len, 0, &v, &err));
	w->version = MYR_CACHE_VERSION;
	w->arch = MYR_ARCH_HOST == MYR_ARCH_X86_64 ? MYR_ARCH_AARCH64 : MYR_ARCH_X86_64;
	EXPECT_EQ(-EPROTO, myr_cache_parse(buf, len, 0, &v, &err));
	free(buf);
}

/* Each edit, checksums recomputed, must be rejected by the parser or by
 * the module check that guards its use. */
TEST(bounds_are_checked_behind_valid_checksums)
{
	struct myr_error err = { 0 };
	size_t len;

	ASSERT_EQ(0, build_three(42, NULL));
	uint8_t *good = slurp(&len), *buf = malloc(len);
	struct myr_cache_header *h = (void *)buf;
#define MOD(i) ((struct myr_cache_module *)(void *)(buf + h->modules.off) + (i))
#define TRY(what, stmt) do {                                               \
		memcpy(buf, good, len);                                     \
		stmt;                                                        \
		resum(buf);                                                  \
		int r_ = parse_all(buf, len, MYR_CACHE_PARSE_IDENTS);        \
		if (r_ >= 0)                                                 \
			fprintf(stderr, "# accepted: %s\n", what);           \
		EXPECT_LT(r_, 0);                                            \
	} while (0)
	TRY("module table past the metadata", h->modules.off = h->meta_off + h->meta_size);
	TRY("module table at a huge offset", h->modules.off = 0xfffffff8u);
	TRY("module count over the limit", h->modules.count = MYR_CACHE_MODULES_MAX + 1);
	TRY("strings outside the file", h->strings.count = 0x7fffffffu);
	TRY("buckets not a power of two", h->buckets.count = 3);
	TRY("image past the file", h->image_size += MYR_CACHE_PAGE);
	TRY("image offset unaligned", h->image_off += 8);
	TRY("class ranges decreasing", h->class_start[1] = h->class_start[2] + MYR_CACHE_PAGE);
	TRY("preferred address zero", h->pref_base = 0);
	TRY("identities miscounted", h->idents.count = 1);
	TRY("unknown header flags", h->flags |= 2);
	TRY("dependency index out of range",
	    ((uint32_t *)(void *)(buf + h->deps.off))[0] = 1000);
	TRY("rebase site outside relro and data",
	    ((uint32_t *)(void *)(buf + h->rebases.off))[0] = 0);
	TRY("rebase site past the image",
	    ((uint32_t *)(void *)(buf + h->rebases.off))[0] = 0xfffffff0u);
	TRY("segment outside its class", MOD(0)->seg_off[MYR_SEG_TEXT] = 0x7ffff000u);
	TRY("segment larger than its class", MOD(0)->seg_size[MYR_SEG_DATA] = 0x10000000u);
	TRY("dependency range past the table", MOD(1)->deps.off = h->deps.count);
	TRY("name outside the strings", MOD(0)->name_off = h->strings.count);
	TRY("name hash wrong", MOD(0)->hash ^= 1);
	TRY("export range past the table", MOD(0)->exports.count = 1000);
	TRY("export name outside the strings",
	    ((struct myr_export *)(void *)(buf + h->exports.off))[0].name_off = 0xffffff00u);
	TRY("export offset past its segment",
	    ((struct myr_export *)(void *)(buf + h->exports.off))[0].off = 0x100000u);
	TRY("export buckets decreasing",
	    ((uint32_t *)(void *)(buf + h->ebuckets.off))[0] = 7);
	TRY("init array outside relro", (MOD(0)->init = (struct myr_cache_table){ 8, 1 }));
	TRY("closure entry out of range",
	    ((uint32_t *)(void *)(buf + h->closures.off))[0] = 99);
	TRY("unknown module flags", MOD(0)->flags |= 0x100);
	(void)err;
	free(buf);
	free(good);
}

/* The builder's order check, which lets a stamped launch take the
 * closure without reading a dependency: the built order passes; an entry
 * before its dependency, or one repeated, is refused; seen comes back
 * zero either way. */
TEST(a_closure_out_of_order_or_repeated_is_refused)
{
	struct myr_cache_view v;
	struct myr_error err = { 0 };
	size_t len;
	int64_t p;

	ASSERT_EQ(0, build_three(42, NULL));
	uint8_t *buf = slurp(&len), seen[8] = { 0 }, zero[8] = { 0 };
	ASSERT_EQ(0, myr_cache_parse(buf, len, 0, &v, &err));
	p = myr_cache_view_find(&v, "prog", 4);
	ASSERT_GE(p, 0);
	ASSERT_LE(v.hdr->modules.count, sizeof(seen));
	uint32_t *l = (uint32_t *)(void *)(buf + v.hdr->closures.off) +
		      v.modules[p].closure.off;
	ASSERT_EQ(2u, v.modules[p].closure.count);       /* lib, mid */
	EXPECT_EQ(0, myr_cache_check_closure(&v, (uint32_t)p, seen, &err));
	EXPECT_EQ(0, memcmp(seen, zero, sizeof(seen)));
	uint32_t a = l[0], b = l[1];
	l[0] = b;
	l[1] = a;
	EXPECT_EQ(-EBADMSG, myr_cache_check_closure(&v, (uint32_t)p, seen, &err));
	EXPECT_EQ(0, memcmp(seen, zero, sizeof(seen)));
	l[0] = a;
	l[1] = a;
	EXPECT_EQ(-EBADMSG, myr_cache_check_closure(&v, (uint32_t)p, seen, &err));
	EXPECT_EQ(0, memcmp(seen, zero, sizeof(seen)));
	/* Plan bits the record does not have (MYR_CACHE_F_PLAN). */
	ASSERT_EQ(MYR_CACHE_F_PLAN, v.hdr->flags);
	l[1] = b ^ MYR_CACHE_PLAN_INIT;
	EXPECT_EQ(-EBADMSG, myr_cache_check_closure(&v, (uint32_t)p, seen, &err));
	l[1] = b ^ MYR_CACHE_PLAN_BINDS;
	EXPECT_EQ(-EBADMSG, myr_cache_check_closure(&v, (uint32_t)p, seen, &err));
	l[1] = b;
	EXPECT_EQ(0, myr_cache_check_closure(&v, (uint32_t)p, seen, &err));
	EXPECT_EQ(0, memcmp(seen, zero, sizeof(seen)));
	free(buf);
}

/* An image from a builder before MYR_CACHE_F_PLAN, stamped: its launch
 * closure entries are plain module indexes, so the stamped launch reads
 * each entry's record for what the plan bits would say.  Slid, so that
 * the rebases it says lib and mid have must be applied. */
TEST(a_stamped_image_without_plan_bits_runs_its_closure)
{
	struct myr_cache_verified rec;
	struct myr_cache_info info;
	struct myr_error err = { 0 };
	struct myr_cache *c;
	struct stat st;
	uint32_t cached = 0, bits = 0;
	char path[512];
	size_t len;

	ASSERT_EQ(0, build_three(42, NULL));
	uint8_t *buf = slurp(&len);
	struct myr_cache_header *h = (void *)buf;
	uint32_t *l = (uint32_t *)(void *)(buf + h->closures.off);
	ASSERT_EQ(MYR_CACHE_F_PLAN, h->flags);
	for (uint32_t k = 0; k < h->closures.count; k++) {
		bits |= l[k] & ~MYR_CACHE_PLAN_INDEX;
		l[k] &= MYR_CACHE_PLAN_INDEX;
	}
	EXPECT_NE(0u, bits);                /* lib and mid have rebases */
	h->flags = 0;
	resum(buf);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, MYR_CACHE_SUBDIR, MYR_CACHE_FILE);
	int fd = open(path, O_WRONLY);
	ASSERT_EQ((ssize_t)len, pwrite(fd, buf, len, 0));
	ASSERT_EQ(0, fstat(fd, &st));
	close(fd);
	myr_cache_verified_make(&rec, &st, h, 0);
	write_file(MYR_CACHE_SUBDIR "/" MYR_CACHE_VERIFIED_FILE,
		   (const uint8_t *)&rec, sizeof(rec));
	void *blocker = block_preferred(h);

	ASSERT_EQ(0, myr_cache_open(&c, dir, NULL, &err));
	EXPECT_EQ(85, run_prog(c, "prog", NULL, &cached));
	EXPECT_EQ(2u, cached);
	myr_cache_info(c, &info);
	EXPECT_EQ(1, info.verified);
	EXPECT_EQ(1, info.slid);
	EXPECT_EQ(1, info.closure_used);
	myr_cache_close(c);
	if (blocker != MAP_FAILED)
		munmap(blocker, MYR_CACHE_PAGE);
	free(buf);
}

/* Random edits of the metadata with valid checksums: never a crash, an
 * out-of-bounds read (ASan) or a hang. */
TEST(random_edits_behind_valid_checksums_are_safe)
{
	size_t len;
	uint64_t s = 12345;
	unsigned rejected = 0, rounds = 4000;

	ASSERT_EQ(0, build_three(42, NULL));
	uint8_t *good = slurp(&len), *buf = malloc(len);
	const struct myr_cache_header *h = (const void *)good;
	for (unsigned k = 0; k < rounds; k++) {
		memcpy(buf, good, len);
		for (int e = 0; e < 1 + (int)(k % 4); e++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			size_t at = (s >> 33) % (h->meta_off + h->meta_size);
			if ((at >= 24 && at < 40) || (at >= 100 && at < 108))
				continue;   /* the sums, and what they cover */
			buf[at] = (uint8_t)(s >> 20);
		}
		resum(buf);
		rejected += parse_all(buf, len, MYR_CACHE_PARSE_IDENTS) < 0;
	}
	EXPECT_GT(rejected, rounds / 4);
	free(buf);
	free(good);
}

TEST_HARNESS_MAIN
