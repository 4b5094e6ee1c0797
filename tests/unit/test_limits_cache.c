/* SPDX-License-Identifier: MIT */
/*
 * The cache's limits (MYR_CACHE_* in <myriad/limits.h>), each right at the
 * limit and one past it, through the code that enforces them:
 * myr_cache_check_limits(), called by myr_cache_parse() and by the builder
 * on what it is about to write; myr_cache_open() on a sparse file; and the
 * builder's own checks (host symbols, and MYR_FILE_MAX per module file).
 *
 * Most limits cannot be reached for real in a test (a gigabyte of
 * metadata, 64 M fixups), so headers are crafted whose fields claim the
 * size or count.  Past the limit the answer is -E2BIG naming the limit; at
 * the limit the limit's check passes, and the parse then either succeeds
 * (where the table is small enough to build: modules, identities, host
 * symbols) or fails for another, named reason, never the limit's.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <myriad/cache.h>
#include <myriad/limits.h>
#include <myriad/loader.h>
#include <myriad/module.h>
#define TEST_DEFAULT_TIMEOUT 120
#include "harness.h"

#define EXPECT_MSG(err, needle) do {                                          \
		if (!strstr((err).msg, (needle)))                              \
			TH_LOG("message '%s' lacks '%s'", (err).msg, (needle)); \
		EXPECT_NONNULL(strstr((err).msg, (needle)));                   \
	} while (0)

/* Refused by the limit: -E2BIG, the limit named. */
#define EXPECT_OVER(r, err, limit) do {                                       \
		EXPECT_EQ(-E2BIG, (r));                                        \
		EXPECT_MSG(err, "over the limit");                             \
		EXPECT_MSG(err, limit);                                        \
	} while (0)

/* Not refused by the limit: accepted, or refused for another reason. */
#define EXPECT_NOT_OVER(r, err) do {                                          \
		if ((r) < 0)                                                   \
			TH_LOG("at the limit: %d %s", (r), (err).msg);         \
		EXPECT_NE(-E2BIG, (r));                                        \
		EXPECT_NULL(strstr((err).msg, "over the limit"));             \
	} while (0)

#define PREF_BASE 0x40000000ull

static size_t round_page(size_t n)
{
	return (n + MYR_CACHE_PAGE - 1) & ~(size_t)(MYR_CACHE_PAGE - 1);
}

/*
 * An empty cache whose metadata claims meta_size bytes, in a buffer of
 * have bytes of it (the rest of the header part is never given: parse
 * with META_ONLY).  No image, no tables; callers add what they test.
 */
static uint8_t *craft(uint32_t meta_size, size_t have)
{
	uint8_t *buf = aligned_alloc(8, MYR_CACHE_HEADER_SIZE + have + 8);
	ASSERT_NONNULL(buf);
	memset(buf, 0, MYR_CACHE_HEADER_SIZE + have + 8);
	struct myr_cache_header *h = (void *)buf;
	memcpy(h->magic, MYR_CACHE_MAGIC, 8);
	h->version = MYR_CACHE_VERSION;
	h->arch = MYR_ARCH_HOST;
	h->pref_base = PREF_BASE;
	h->meta_off = MYR_CACHE_HEADER_SIZE;
	h->meta_size = meta_size;
	h->image_off = round_page((size_t)MYR_CACHE_HEADER_SIZE + meta_size);
	h->file_size = h->image_off;
	return buf;
}

/* Both checksums over what the buffer holds of the metadata. */
static void seal(uint8_t *buf, size_t have)
{
	struct myr_cache_header *h = (void *)buf;
	size_t n = h->meta_size < have ? h->meta_size : have;
	h->meta_checksum = myr_xxh64(buf + h->meta_off, n, 0);
	h->header_checksum = 0;
	h->header_checksum = myr_xxh64(h, sizeof(*h), 0);
}

static int parse(uint8_t *buf, size_t have, struct myr_error *err)
{
	struct myr_cache_view v;
	seal(buf, have);
	memset(err, 0, sizeof(*err));
	return myr_cache_parse(buf, MYR_CACHE_HEADER_SIZE + have,
			       MYR_CACHE_PARSE_META_ONLY, &v, err);
}

/* ---- MYR_CACHE_META_MAX ----------------------------------------------- */

TEST(meta_max_parse)
{
	struct myr_error err;
	/* The metadata is not given: the limit is checked before any of it
	 * is read, so at the limit the parse stops at its absence. */
	uint8_t *buf = craft(MYR_CACHE_META_MAX, 0);
	int r = parse(buf, 0, &err);
	EXPECT_NOT_OVER(r, err);
	EXPECT_EQ(-EBADMSG, r);
	EXPECT_MSG(err, "past the 512 bytes given");
	free(buf);

	buf = craft(MYR_CACHE_META_MAX + 1, 0);
	EXPECT_OVER(parse(buf, 0, &err), err, "MYR_CACHE_META_MAX");
	free(buf);
}

static char dir[256];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "%s/test_limits_cache.XXXXXX",
		 getenv("MYRIAD_TMPDIR") ? getenv("MYRIAD_TMPDIR") : "/tmp");
	ASSERT_NONNULL(mkdtemp(dir));
}

/* DIR/.myriad-cache/image: the header of buf, sparse up to its file size. */
static void write_sparse_cache(const uint8_t *buf)
{
	const struct myr_cache_header *h = (const void *)buf;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, MYR_CACHE_SUBDIR);
	ASSERT_EQ(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/%s/%s", dir, MYR_CACHE_SUBDIR,
		 MYR_CACHE_FILE);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ((ssize_t)MYR_CACHE_HEADER_SIZE,
		  write(fd, buf, MYR_CACHE_HEADER_SIZE));
	ASSERT_EQ(0, ftruncate(fd, (off_t)h->file_size));
	close(fd);
}

static void remove_sparse_cache(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s/%s", dir, MYR_CACHE_SUBDIR,
		 MYR_CACHE_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, MYR_CACHE_SUBDIR);
	rmdir(path);
}

/* A launch opening a cache file with a gigabyte of metadata (sparse): one
 * byte past the limit is refused from the header, before anything is
 * mapped; at the limit the header passes, and the file is refused as
 * built for another directory (its stamp is zero), still before mapping. */
TEST(meta_max_open_sparse)
{
	struct myr_error err = { 0 };
	struct myr_cache *c = NULL;
	uint8_t *buf;
	int r;

	mkdir_tmp();
	buf = craft(MYR_CACHE_META_MAX, 0);
	seal(buf, 0);
	write_sparse_cache(buf);
	r = myr_cache_open(&c, dir, NULL, &err);
	EXPECT_NOT_OVER(r, err);
	EXPECT_EQ(-ESTALE, r);
	EXPECT_MSG(err, "another directory");
	remove_sparse_cache();
	free(buf);

	buf = craft(MYR_CACHE_META_MAX + 1, 0);
	seal(buf, 0);
	write_sparse_cache(buf);
	memset(&err, 0, sizeof(err));
	EXPECT_OVER(myr_cache_open(&c, dir, NULL, &err), err,
		    "MYR_CACHE_META_MAX");
	remove_sparse_cache();
	free(buf);
	rmdir(dir);
}

/* ---- table counts ---------------------------------------------------- */

#define FIELD(h, f) (&((struct myr_cache_header *)(void *)(h))->f)

/*
 * Tables too large to build: each claims its limit (or one more) at the
 * start of a small metadata.  At the limit the table is refused as
 * outside the metadata; past it, as over its count.
 */
static void claimed_count(struct myr_cache_table *(*field)(uint8_t *),
			  uint32_t limit, const char *name, const char *what)
{
	struct myr_error err;
	uint8_t *buf = craft(4096, 4096);
	struct myr_cache_table *t = field(buf);
	int r;

	t->off = MYR_CACHE_HEADER_SIZE;
	t->count = limit;
	r = parse(buf, 4096, &err);
	EXPECT_NOT_OVER(r, err);
	EXPECT_EQ(-EBADMSG, r);
	EXPECT_MSG(err, what);
	EXPECT_MSG(err, "outside the metadata");
	/* The builder's check of what it writes is the same function. */
	memset(&err, 0, sizeof(err));
	EXPECT_EQ(0, myr_cache_check_limits((void *)buf, &err));

	t->count = limit + 1;
	r = parse(buf, 4096, &err);
	EXPECT_OVER(r, err, name);
	EXPECT_MSG(err, what);
	memset(&err, 0, sizeof(err));
	EXPECT_OVER(myr_cache_check_limits((void *)buf, &err), err, name);
	free(buf);
}

#define TABLE_FIELD(f)                                                        \
	static struct myr_cache_table *field_##f(uint8_t *b) { return FIELD(b, f); }
TABLE_FIELD(buckets)
TABLE_FIELD(deps)
TABLE_FIELD(rebases)
TABLE_FIELD(binds)
TABLE_FIELD(exports)
TABLE_FIELD(ebuckets)
TABLE_FIELD(closures)
TABLE_FIELD(strings)

TEST(fixups_max)
{
	static const struct {
		struct myr_cache_table *(*field)(uint8_t *);
		const char *what;
	} tables[] = {
		{ field_deps, "dependencies" }, { field_rebases, "rebases" },
		{ field_binds, "binds" }, { field_exports, "exports" },
		{ field_ebuckets, "export buckets" }, { field_closures, "closures" },
	};
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		claimed_count(tables[i].field, MYR_CACHE_FIXUPS_MAX,
			      "MYR_CACHE_FIXUPS_MAX", tables[i].what);
}

/* The string table is bounded by the metadata it lives in. */
TEST(strings_meta_max)
{
	claimed_count(field_strings, MYR_CACHE_META_MAX, "MYR_CACHE_META_MAX",
		      "strings");
}

/* Buckets: a power of two above the module count, so at most four times
 * MYR_CACHE_MODULES_MAX. */
TEST(buckets_modules_max)
{
	claimed_count(field_buckets, 4 * MYR_CACHE_MODULES_MAX,
		      "MYR_CACHE_MODULES_MAX", "buckets");
}

/* A real table at its limit is accepted; one entry more is refused by
 * the count, before the entry is looked at. */
static void accepted_then_one_more(uint8_t *buf, size_t meta,
				   struct myr_cache_table *t, const char *name,
				   const char *what)
{
	struct myr_error err;
	int r = parse(buf, meta, &err);
	EXPECT_NOT_OVER(r, err);
	EXPECT_EQ(0, r);
	t->count++;
	EXPECT_OVER(parse(buf, meta, &err), err, name);
	EXPECT_MSG(err, what);
	t->count--;
}

/*
 * Modules and identities at the limit are built for real (27 MB of module
 * entries, zeroed: their contents are checked per module, on use), with
 * the buckets a builder would make; the parse accepts them.  Then one
 * more of each is refused by its count.
 */
TEST(modules_max_parse)
{
	const uint32_t n = MYR_CACHE_MODULES_MAX;
	uint32_t nb = 16;
	while (nb <= 2u * n)
		nb *= 2;
	size_t mods = (size_t)n * sizeof(struct myr_cache_module);
	size_t meta = mods + (size_t)nb * 4 + (size_t)n * 8 + 8;
	size_t have = meta + (size_t)n * sizeof(struct myr_cache_ident);
	uint8_t *buf = craft((uint32_t)meta, have);
	struct myr_cache_header *h = (void *)buf;

	h->modules = (struct myr_cache_table){ h->meta_off, n };
	h->buckets = (struct myr_cache_table){ (uint32_t)(h->meta_off + mods), nb };
	h->sums = (struct myr_cache_table){
		(uint32_t)(h->meta_off + mods + (size_t)nb * 4), n };
	h->strings = (struct myr_cache_table){ (uint32_t)(h->meta_off + meta - 8), 8 };
	h->idents = (struct myr_cache_table){ (uint32_t)(h->meta_off + meta), n };
	h->image_off = round_page(MYR_CACHE_HEADER_SIZE + have);
	h->file_size = h->image_off;
	accepted_then_one_more(buf, meta, &h->modules, "MYR_CACHE_MODULES_MAX",
			       "modules");
	accepted_then_one_more(buf, meta, &h->idents, "MYR_CACHE_MODULES_MAX",
			       "identities");
	free(buf);
}

/* Host symbols at the limit, built for real: 65,536 entries naming one
 * object; the parse checks every one and accepts them. */
TEST(hostsyms_max_parse)
{
	const uint32_t n = MYR_CACHE_HOSTSYMS_MAX;
	size_t syms = (size_t)n * sizeof(struct myr_cache_hostsym);
	size_t meta = syms + 8;
	uint8_t *buf = craft((uint32_t)meta, meta);
	struct myr_cache_header *h = (void *)buf;
	struct myr_cache_hostsym *s = (void *)(buf + h->meta_off);

	for (uint32_t i = 0; i < n; i++)
		s[i] = (struct myr_cache_hostsym){ .name_off = 0, .name_len = 3,
			.kind = MYR_SYM_OBJECT, .slot = UINT32_MAX };
	h->hostsyms = (struct myr_cache_table){ h->meta_off, n };
	h->strings = (struct myr_cache_table){ (uint32_t)(h->meta_off + syms), 8 };
	memcpy(buf + h->meta_off + syms, "obj", 4);
	accepted_then_one_more(buf, meta, &h->hostsyms, "MYR_CACHE_HOSTSYMS_MAX",
			       "host symbols");
	free(buf);
}

/* ---- the builder ------------------------------------------------------ */

static int host_object;

static void *find_any(void *o, const char *name, uint32_t len)
{
	(void)o, (void)name, (void)len;
	return &host_object;
}

static void rm_tree(void)
{
	char path[600];
	DIR *d = opendir(dir);
	struct dirent *e;
	remove_sparse_cache();
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* dir/imp.myr importing n distinct object symbols from the host module. */
static void write_importer(uint32_t n)
{
	static const uint8_t text[1] = { 0xc3 };
	static const struct myr_desc_dep deps[] = {
		{ MYR_HOST_MODULE_NAME, 1, 0, 0, 0, 0 },
	};
	struct myr_desc_import *imp = calloc(n, sizeof(*imp));
	char (*names)[12] = calloc(n, sizeof(*names));
	struct myr_module_desc d = {
		.name = "imp", .ver_major = 1, .arch = MYR_ARCH_HOST,
		.deps = deps, .ndeps = 1, .imports = imp, .nimports = n,
		.entry = { .seg = MYR_SEG_NONE }, .init = { .seg = MYR_SEG_NONE },
		.fini = { .seg = MYR_SEG_NONE },
	};
	struct myr_error err = { 0 };
	char path[512];
	uint8_t *file;
	size_t len;

	ASSERT_NONNULL(imp);
	ASSERT_NONNULL(names);
	for (uint32_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "o%u", i);
		imp[i] = (struct myr_desc_import){ names[i], 0, MYR_NO_HINT };
	}
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text, 1, 0 };
	int r = myr_module_write(&d, &file, &len, &err);
	if (r < 0)
		TH_LOG("write: %s", err.msg);
	ASSERT_EQ(0, r);
	snprintf(path, sizeof(path), "%s/imp.myr", dir);
	FILE *f = fopen(path, "wb");
	ASSERT_NONNULL(f);
	ASSERT_EQ(len, fwrite(file, 1, len, f));
	ASSERT_EQ(0, fclose(f));
	free(file);
	free(names);
	free(imp);
}

static int build(struct myr_cache_build_result *res, struct myr_error *err)
{
	struct myr_host_binding host = {
		.name = MYR_HOST_MODULE_NAME, .ver_major = 1,
		.lo = (uintptr_t)&host_object & ~(uintptr_t)4095,
		.hi = ((uintptr_t)&host_object & ~(uintptr_t)4095) + 4096,
		.find = find_any,
	};
	struct myr_cache_build_config cfg = { .dir = dir, .host = &host };
	memset(err, 0, sizeof(*err));
	memset(res, 0, sizeof(*res));
	return myr_cache_build(&cfg, res, err);
}

/* DIR's cache file, whole, page-aligned. */
static uint8_t *read_cache(size_t *len)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s/%s", dir, MYR_CACHE_SUBDIR,
		 MYR_CACHE_FILE);
	int fd = open(path, O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, fstat(fd, &st));
	uint8_t *buf = aligned_alloc(4096, round_page((size_t)st.st_size));
	ASSERT_NONNULL(buf);
	ASSERT_EQ(st.st_size, read(fd, buf, (size_t)st.st_size));
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* The builder counts distinct host symbols as it collects them: a module
 * importing exactly MYR_CACHE_HOSTSYMS_MAX of them is cached (and the
 * written index holds them all); one more and the build is refused. */
TEST(hostsyms_max_build)
{
	struct myr_cache_build_result res;
	struct myr_error err;
	int r;

	mkdir_tmp();
	write_importer(MYR_CACHE_HOSTSYMS_MAX);
	r = build(&res, &err);
	EXPECT_NOT_OVER(r, err);
	EXPECT_EQ(0, r);
	EXPECT_EQ(1u, res.cached);

	size_t len;
	uint8_t *buf = read_cache(&len);
	struct myr_cache_view v;
	ASSERT_EQ(0, myr_cache_parse(buf, len, 0, &v, &err));
	EXPECT_EQ(MYR_CACHE_HOSTSYMS_MAX, v.hdr->hostsyms.count);
	free(buf);

	write_importer(MYR_CACHE_HOSTSYMS_MAX + 1);
	EXPECT_OVER(build(&res, &err), err, "MYR_CACHE_HOSTSYMS_MAX");
	rm_tree();
}

/* The builder's line for one excluded module. */
static char excluded[MYR_ERROR_MSG_MAX];

static void keep_line(void *o, const char *line)
{
	(void)o;
	snprintf(excluded, sizeof(excluded), "%s", line);
}

/* A module file read by the builder (sparse): one byte past MYR_FILE_MAX
 * it is left out of the image, from its size alone; at the limit it is
 * read, then left out as what it is (zeros: not a module). */
static void file_max_build(off_t size, const char *why)
{
	struct myr_diag diag = { .emit = keep_line };
	struct myr_cache_build_config cfg = { .dir = dir, .diag = &diag };
	struct myr_cache_build_result res = { 0 };
	struct myr_error err = { 0 };
	char path[512];

	snprintf(path, sizeof(path), "%s/big.myr", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ftruncate(fd, size));
	close(fd);
	excluded[0] = '\0';
	ASSERT_EQ(0, myr_cache_build(&cfg, &res, &err));
	EXPECT_EQ(1u, res.modules);
	EXPECT_EQ(0u, res.cached);
	EXPECT_EQ(1u, diag.count);
	if (!strstr(excluded, why))
		TH_LOG("line '%s' lacks '%s'", excluded, why);
	EXPECT_NONNULL(strstr(excluded, why));
	unlink(path);
}

TEST(file_max_build)
{
	mkdir_tmp();
	file_max_build(MYR_FILE_MAX, "not a Myriad module");
	EXPECT_NULL(strstr(excluded, "over the limit"));
	file_max_build((off_t)MYR_FILE_MAX + 1, "over the limit");
	EXPECT_NONNULL(strstr(excluded, "MYR_FILE_MAX"));
	rm_tree();
}

/*
 * The builder stops listing the directory at MYR_CACHE_MODULES_MAX module
 * files, before reading any.  200,001 files cost seconds even on tmpfs,
 * so the directory lives in /dev/shm (skipped without it).  At the limit
 * every (empty) file is read and left out of the image as not a module.
 */
TEST_TIMEOUT(modules_max_build, 300)
{
	const uint32_t n = MYR_CACHE_MODULES_MAX;
	struct myr_cache_build_config cfg = { 0 };
	struct myr_cache_build_result res;
	struct myr_error err = { 0 };
	char name[32];
	int dfd, r;

	snprintf(dir, sizeof(dir), "/dev/shm/test_limits_cache.XXXXXX");
	if (!mkdtemp(dir))
		SKIP(return, "no writable /dev/shm for 200,001 files");
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ASSERT_GE(dfd, 0);
	for (uint32_t i = 0; i <= n; i++) {
		snprintf(name, sizeof(name), "m%u.myr", i);
		int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		ASSERT_GE(fd, 0);
		close(fd);
	}
	cfg.dir = dir;
	EXPECT_OVER(myr_cache_build(&cfg, &res, &err), err,
		    "MYR_CACHE_MODULES_MAX");

	snprintf(name, sizeof(name), "m%u.myr", n);
	ASSERT_EQ(0, unlinkat(dfd, name, 0));
	memset(&err, 0, sizeof(err));
	r = myr_cache_build(&cfg, &res, &err);
	EXPECT_NOT_OVER(r, err);
	EXPECT_EQ(0, r);
	EXPECT_EQ(n, res.modules);
	EXPECT_EQ(0u, res.cached);

	for (uint32_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "m%u.myr", i);
		unlinkat(dfd, name, 0);
	}
	close(dfd);
	rm_tree();
}

/* ---- the reader's limits, rechecked per cached module ------------------ */

/* dir/NNN...N.myr: a library with the longest name, an export, relro. */
static void write_longest_name(void)
{
	static const uint8_t text[1] = { 0xc3 };
	static const uint8_t relro[8];
	static const struct myr_desc_export exp[] = {
		{ "f", MYR_SEG_TEXT, MYR_SYM_FUNC, 0 },
	};
	char name[MYR_NAME_MAX + 1], path[600];
	struct myr_module_desc d = {
		.name = name, .ver_major = 1, .arch = MYR_ARCH_HOST,
		.exports = exp, .nexports = 1,
		.entry = { .seg = MYR_SEG_NONE }, .init = { .seg = MYR_SEG_NONE },
		.fini = { .seg = MYR_SEG_NONE },
	};
	struct myr_error err = { 0 };
	uint8_t *file;
	size_t len;

	memset(name, 'n', MYR_NAME_MAX);
	name[MYR_NAME_MAX] = '\0';
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text, 1, 0 };
	d.seg[MYR_SEG_RELRO] = (struct myr_desc_segment){ relro, 8, 3 };
	ASSERT_EQ(0, myr_module_write(&d, &file, &len, &err));
	snprintf(path, sizeof(path), "%s/%s.myr", dir, name);
	FILE *f = fopen(path, "wb");
	ASSERT_NONNULL(f);
	ASSERT_EQ(len, fwrite(file, 1, len, f));
	ASSERT_EQ(0, fclose(f));
	free(file);
}

/* Module 0 of v with one field edited: at the limit it is refused for
 * another reason (or accepted), past it for the limit. */
#define AT_AND_PAST(v, field, limit, name) do {                               		struct myr_error e_ = { 0 };                                   		__typeof__(field) saved_ = (field);                            		(field) = (limit);                                             		int r_ = myr_cache_check_module((v), 0, &e_);                  		EXPECT_NOT_OVER(r_, e_);                                       		(field) = (limit) + 1;                                         		memset(&e_, 0, sizeof(e_));                                    		EXPECT_EQ(-EBADMSG, myr_cache_check_module((v), 0, &e_));      		EXPECT_MSG(e_, "over the limit");                              		EXPECT_MSG(e_, name);                                          		(field) = saved_;                                              	} while (0)

/*
 * A cached module's entries are checked against the reader's limits too
 * (myr_cache_check_module): a name of MYR_NAME_MAX bytes is cached for
 * real; the other fields are edited in the index (checksums skipped).
 */
TEST(reader_limits_per_cached_module)
{
	struct myr_cache_build_config cfg = { 0 };
	struct myr_cache_build_result res;
	struct myr_cache_view v;
	struct myr_error err = { 0 };

	mkdir_tmp();
	write_longest_name();
	cfg.dir = dir;
	ASSERT_EQ(0, myr_cache_build(&cfg, &res, &err));
	ASSERT_EQ(1u, res.cached);
	size_t len;
	uint8_t *buf = read_cache(&len);
	ASSERT_EQ(0, myr_cache_parse(buf, len, MYR_CACHE_PARSE_NO_SUMS, &v,
				     &err));
	ASSERT_EQ(0, myr_cache_check_module(&v, 0, &err));

	struct myr_cache_module *m = (void *)(uintptr_t)v.modules;
	struct myr_export *x = (void *)(uintptr_t)v.exports;
	EXPECT_EQ(MYR_NAME_MAX, m->name_len);
	AT_AND_PAST(&v, m->name_len, MYR_NAME_MAX, "MYR_NAME_MAX");
	AT_AND_PAST(&v, m->seg_size[MYR_SEG_DATA], MYR_SEGMENT_MAX,
		    "MYR_SEGMENT_MAX");
	AT_AND_PAST(&v, m->deps.count, MYR_DEPS_MAX, "MYR_DEPS_MAX");
	AT_AND_PAST(&v, m->init.count, MYR_INIT_FUNCS_MAX, "MYR_INIT_FUNCS_MAX");
	AT_AND_PAST(&v, m->fini.count, MYR_INIT_FUNCS_MAX, "MYR_INIT_FUNCS_MAX");
	AT_AND_PAST(&v, x[m->exports.off].name_len, MYR_SYMBOL_MAX,
		    "MYR_SYMBOL_MAX");
	EXPECT_EQ(0, myr_cache_check_module(&v, 0, &err));
	free(buf);
	rm_tree();
}

TEST_HARNESS_MAIN
