/* SPDX-License-Identifier: MIT */
/*
 * The loader with threads (myr_loader_config.nthreads): a generated
 * closure of NLIBS modules, each with data pointing at its dependencies'
 * functions, loads to the same image (every pointer, relative to the
 * pool) with 1, 2 and 4 threads in both io modes; a broken closure
 * (missing, corrupt, truncated, renamed modules and bad checksums) gets
 * the same diagnostics in the same order; and MYR_LOAD_BYTES_MAX
 * (max_bytes) holds at the limit and one byte past it.
 */
#define TEST_DEFAULT_TIMEOUT 120
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <myriad/loader.h>
#include <myriad/module.h>
#include "harness.h"

#define NLIBS 600u

/* The diagnostics of one load, in the order reported. */
struct lines {
	unsigned n;
	size_t used;
	char text[65536];
};

static void collect(void *opaque, const char *line)
{
	struct lines *log = opaque;
	size_t room = sizeof(log->text) - log->used;
	int w = snprintf(log->text + log->used, room, "%s\n", line);

	log->n++;
	if (w > 0)
		log->used += (size_t)w < room ? (size_t)w : room - 1;
}

static char dir[64];
static uint64_t lib_bytes;          /* all library files together */

static void put(const char *name, const uint8_t *p, size_t len)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/%s.myr", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ((ssize_t)len, write(fd, p, len));
	close(fd);
}

/* Module NAME: text "f" (one ret), data "d" of one pointer per dependency
 * to the dependency's "f" (ABS64 relocations through imports), and some
 * rodata so the files differ in size. */
static size_t write_lib(const char *name, const char *const *deps,
			unsigned ndeps, unsigned salt, int program,
			const struct myr_desc_dep *hint, unsigned nhint)
{
	static const uint8_t ret[1] = { 0xc3 };
	struct myr_desc_dep d[4];
	struct myr_desc_import imp[4];
	struct myr_reloc rel[4];
	struct myr_desc_export exp[2];
	uint8_t data[32] = { 0 }, ro[512];
	struct myr_module_desc desc;
	struct myr_error err = { 0 };
	uint8_t *out;
	size_t outlen;

	for (unsigned i = 0; i < ndeps; i++) {
		d[i] = (struct myr_desc_dep){ .name = deps[i], .ver_major = 1 };
		imp[i] = (struct myr_desc_import){ .name = "f", .dep = (uint16_t)i,
						   .export_hint = MYR_NO_HINT };
		rel[i] = (struct myr_reloc){ .site_off = 8 * i,
			.site_seg = MYR_SEG_DATA, .type = MYR_REL_ABS64,
			.target_seg = MYR_TARGET_IMPORT, .target = i };
	}
	for (unsigned i = 0; i < sizeof(ro); i++)
		ro[i] = (uint8_t)(i * salt + 1);
	exp[0] = (struct myr_desc_export){ .name = "f", .seg = MYR_SEG_TEXT,
					   .kind = MYR_SYM_FUNC };
	exp[1] = (struct myr_desc_export){ .name = "d", .seg = MYR_SEG_DATA,
					   .kind = MYR_SYM_OBJECT };
	desc = (struct myr_module_desc){
		.name = name, .ver_major = 1, .arch = MYR_ARCH_HOST,
		.flags = program ? MYR_F_PROGRAM : 0,
		.deps = d, .ndeps = ndeps, .imports = imp, .nimports = ndeps,
		.relocs = rel, .nrelocs = ndeps, .exports = exp, .nexports = 2,
		.closure = hint, .nclosure = nhint,
	};
	desc.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ ret, 1, 0 };
	desc.seg[MYR_SEG_RODATA] = (struct myr_desc_segment){ ro, 64 + salt % 400, 0 };
	desc.seg[MYR_SEG_DATA] = (struct myr_desc_segment){ data, sizeof(data), 3 };
	desc.entry.seg = program ? MYR_SEG_TEXT : MYR_SEG_NONE;
	desc.init.seg = desc.fini.seg = MYR_SEG_NONE;
	if (myr_module_write(&desc, &out, &outlen, &err) < 0) {
		TH_LOG("write %s: %s", name, err.msg);
		abort();
	}
	put(name, out, outlen);
	free(out);
	return outlen;
}

static char names[NLIBS][16];

/* prog -> m0000..m0003; mI -> m(I+1), m(I+7) (when they exist).  The
 * program's closure hint lists every library, so they come in one batch;
 * with understated sizes, it says each file is 1 byte (a stale hint: the
 * budget is then met while reading, not before). */
static void make_closure_hinting(int understated)
{
	static struct myr_desc_dep hint[NLIBS];
	const char *deps[4];

	strcpy(dir, "/tmp/myr-loader-lanes.XXXXXX");
	ASSERT_NONNULL(mkdtemp(dir));
	lib_bytes = 0;
	for (unsigned i = 0; i < NLIBS; i++)
		snprintf(names[i], sizeof(names[i]), "m%04u", i);
	for (unsigned i = 0; i < NLIBS; i++) {
		unsigned n = 0;
		if (i + 1 < NLIBS)
			deps[n++] = names[i + 1];
		if (i + 7 < NLIBS)
			deps[n++] = names[i + 7];
		size_t len = write_lib(names[i], deps, n, i, 0, NULL, 0);
		lib_bytes += len;
		hint[i] = (struct myr_desc_dep){ .name = names[i], .ver_major = 1,
						 .size_hint = understated ? 1 : (uint32_t)len };
	}
	for (unsigned i = 0; i < 4; i++)
		deps[i] = names[i];
	write_lib("prog", deps, 4, 7, 1, hint, NLIBS);
}

static void make_closure(void)
{
	make_closure_hinting(0);
}

static void remove_closure(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		TH_LOG("could not remove %s", dir);
}

static int have_uring(void)
{
	const char *dirs[] = { "/" };
	struct myr_fetch_config fc = { .dirs = dirs, .ndirs = 1,
				       .io = MYR_IO_URING };
	struct myr_error err = { 0 };
	struct myr_fetcher *f;

	if (myr_fetcher_init(&f, &fc, &err) < 0)
		return 0;
	myr_fetcher_exit(f);
	return 1;
}

/* Each module's data pointers, as offsets from m0000's f: the image, up
 * to where the pool happens to be. */
struct image {
	int64_t ptr[NLIBS][2];
};

static int load(enum myr_io_mode io, unsigned nthreads, uint64_t max_bytes,
		struct lines *out, struct image *img)
{
	const char *dirs[] = { dir };
	struct myr_diag diag = { .emit = collect, .opaque = out };
	struct myr_loader_config cfg = {
		.dirs = dirs, .ndirs = 1, .io = io, .alloc = MYR_ALLOC_POOLING,
		.diag = &diag, .nthreads = nthreads, .max_bytes = max_bytes,
	};
	struct myr_error err = { 0 };
	struct myr_loader *l;
	char path[128];
	int rc;

	memset(out, 0, sizeof(*out));
	myr_pool_limits_default(&cfg.limits);
	snprintf(path, sizeof(path), "%s/prog.myr", dir);
	ASSERT_EQ(0, myr_loader_init(&l, &cfg, &err));
	rc = myr_loader_load(l, path);
	if (rc == 0 && img) {
		uintptr_t base = (uintptr_t)myr_loader_lookup(l, "m0000", "f");
		EXPECT_NE(0u, base);
		for (unsigned i = 0; i < NLIBS; i++) {
			const uintptr_t *d = myr_loader_lookup(l, names[i], "d");
			ASSERT_NONNULL(d);
			for (unsigned k = 0; k < 2; k++)
				img->ptr[i][k] = d[k] ? (int64_t)(d[k] - base) : 0;
		}
	}
	myr_loader_exit(l);
	return rc;
}

static void same_image_any_threads(enum myr_io_mode io)
{
	static struct lines one, many;
	static struct image a, b;
	unsigned nonzero = 0;

	make_closure();
	ASSERT_EQ(0, load(io, 1, 0, &one, &a));
	EXPECT_EQ(0u, one.n);
	for (unsigned t = 2; t <= MYR_FETCH_LANES_MAX; t += 2) {
		memset(&b, 0x55, sizeof(b));
		EXPECT_EQ(0, load(io, t, 0, &many, &b));
		EXPECT_EQ(0u, many.n);
		EXPECT_EQ(0, memcmp(&a, &b, sizeof(a)));
	}
	for (unsigned i = 0; i < NLIBS; i++)
		nonzero += a.ptr[i][0] != 0;
	/* Every module but the last points at its next one. */
	EXPECT_EQ(NLIBS - 1, nonzero);
	remove_closure();
}

TEST(sync_same_image_any_threads)
{
	same_image_any_threads(MYR_IO_SYNC);
}

TEST(uring_same_image_any_threads)
{
	if (!have_uring())
		SKIP(return, "io_uring is not available here");
	same_image_any_threads(MYR_IO_URING);
}

/* Overwrite module NAME's file with p[0..len). */
static void clobber(const char *name, const void *p, size_t len)
{
	put(name, p, len);
}

/* Flip one byte of the rodata at the end of NAME's file: the structure
 * stays valid, the checksum does not. */
static void flip_last_byte(const char *name)
{
	char path[160];
	struct stat st;
	uint8_t b;
	int fd;

	snprintf(path, sizeof(path), "%s/%s.myr", dir, name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(1, pread(fd, &b, 1, st.st_size - 1));
	b ^= 0x5a;
	ASSERT_EQ(1, pwrite(fd, &b, 1, st.st_size - 1));
	close(fd);
}

static void truncate_file(const char *name)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%s.myr", dir, name);
	ASSERT_EQ(0, truncate(path, 200));
}

/* Load with 1 thread, then 2 and 4: the same failure, the same lines in
 * the same order.  Returns the one-thread lines. */
static const struct lines *same_lines(enum myr_io_mode io)
{
	static struct lines one, many;

	EXPECT_NE(0, load(io, 1, 0, &one, NULL));
	for (unsigned t = 2; t <= MYR_FETCH_LANES_MAX; t += 2) {
		EXPECT_NE(0, load(io, t, 0, &many, NULL));
		EXPECT_EQ(one.n, many.n);
		EXPECT_STREQ(one.text, many.text);
	}
	return &one;
}

static void same_errors_any_threads(enum myr_io_mode io)
{
	const struct lines *one;
	char path[400];

	/* Checksums are the verify stage's, after a clean resolve. */
	make_closure();
	flip_last_byte(names[77]);
	flip_last_byte(names[301]);
	flip_last_byte(names[588]);
	one = same_lines(io);
	EXPECT_EQ(3u, one->n);
	EXPECT_NONNULL(strstr(one->text, "m0077.myr: checksum mismatch"));
	remove_closure();

	make_closure();
	for (unsigned i = 50; i < NLIBS; i += 97) {
		snprintf(path, sizeof(path), "%s/%s.myr", dir, names[i]);
		ASSERT_EQ(0, unlink(path));               /* missing */
	}
	clobber(names[123], "garbage, not a module\n", 22);
	clobber(names[456], "#!/usr/bin/myriad\nstill not one\n", 32);
	truncate_file(names[222]);
	/* m0400.myr holds module m0401. */
	snprintf(path, sizeof(path), "cp '%s/%s.myr' '%s/%s.myr'", dir,
		 names[401], dir, names[400]);
	ASSERT_EQ(0, system(path));

	one = same_lines(io);
	EXPECT_GT(one->n, 8u);
	EXPECT_NONNULL(strstr(one->text, "module m0050 not found"));
	EXPECT_NONNULL(strstr(one->text, "module m0123: "));
	EXPECT_NONNULL(strstr(one->text, "m0222"));
	EXPECT_NONNULL(strstr(one->text, "is the module m0401"));
	remove_closure();
}

TEST(sync_same_errors_any_threads)
{
	same_errors_any_threads(MYR_IO_SYNC);
}

TEST(uring_same_errors_any_threads)
{
	if (!have_uring())
		SKIP(return, "io_uring is not available here");
	same_errors_any_threads(MYR_IO_URING);
}

/* The library files together are lib_bytes: a budget of exactly that
 * loads, one byte less fails with one line naming MYR_LOAD_BYTES_MAX. */
static void bytes_max(enum myr_io_mode io)
{
	static struct lines out;

	make_closure();
	for (unsigned t = 1; t <= 2; t++) {
		EXPECT_EQ(0, load(io, t, lib_bytes, &out, NULL));
		EXPECT_EQ(0u, out.n);
		EXPECT_EQ(-EDQUOT, load(io, t, lib_bytes - 1, &out, NULL));
		EXPECT_EQ(1u, out.n);
		EXPECT_NONNULL(strstr(out.text, "MYR_LOAD_BYTES_MAX"));
		EXPECT_NONNULL(strstr(out.text, "nothing was read"));
		if (out.n != 1)
			TH_LOG("%s", out.text);
	}
	remove_closure();

	/* Met while reading (the hint understates the sizes): the line
	 * names the module at which the files, in batch order, pass the
	 * budget, and their total, whichever lane got there first. */
	static struct lines first;
	make_closure_hinting(1);
	EXPECT_EQ(-EDQUOT, load(io, 1, lib_bytes / 2, &first, NULL));
	EXPECT_EQ(1u, first.n);
	EXPECT_NONNULL(strstr(first.text, "over MYR_LOAD_BYTES_MAX: module files "
			      "would total"));
	for (unsigned round = 0; round < 8; round++)
		for (unsigned t = 1; t <= 4; t++) {
			EXPECT_EQ(-EDQUOT, load(io, t, lib_bytes / 2, &out, NULL));
			EXPECT_STREQ(first.text, out.text);
		}
	TH_LOG("%s", first.text);
	remove_closure();
}

TEST(sync_load_bytes_max)
{
	bytes_max(MYR_IO_SYNC);
}

TEST(uring_load_bytes_max)
{
	if (!have_uring())
		SKIP(return, "io_uring is not available here");
	bytes_max(MYR_IO_URING);
}

TEST_HARNESS_MAIN
