/* SPDX-License-Identifier: MIT */
/* Write a module, parse it back, and compare every field and segment. */
#include "harness.h"
#include "test_module_fixture.h"

static void check_dep(const struct myr_module_view *v, const struct myr_dep *got,
		      const struct myr_desc_dep *want, int closure)
{
	EXPECT_STREQ(want->name, myr_view_str(v, got->name_off));
	EXPECT_EQ(strlen(want->name), got->name_len);
	EXPECT_EQ(want->ver_major, got->ver_major);
	EXPECT_EQ(want->ver_minor, got->ver_minor);
	EXPECT_EQ(want->ver_patch, got->ver_patch);
	/* One word: a closure entry's size hint, a dependency's flags. */
	EXPECT_EQ(closure ? want->size_hint : want->flags, got->flags);
}

static void check_roundtrip(const struct fixture *f, const uint8_t *file, size_t len)
{
	const struct myr_module_desc *d = &f->desc;
	struct myr_module_view v;
	struct myr_error err = { 0 };

	ASSERT_EQ(0, myr_module_parse(file, len, 0, &v, &err));
	const struct myr_header *h = v.hdr;

	EXPECT_STREQ(d->name, v.name);
	EXPECT_EQ(d->ver_major, h->ver_major);
	EXPECT_EQ(d->ver_minor, h->ver_minor);
	EXPECT_EQ(d->ver_patch, h->ver_patch);
	EXPECT_EQ(d->arch, h->arch);
	EXPECT_EQ(d->flags, h->flags);
	EXPECT_EQ(d->caps, h->caps);
	EXPECT_EQ(v.size, h->file_size);
	EXPECT_EQ(myr_module_checksum(v.base, v.size), h->checksum);

	ASSERT_EQ(d->ndeps, h->deps.count);
	for (size_t i = 0; i < d->ndeps; i++)
		check_dep(&v, &v.deps[i], &d->deps[i], 0);
	ASSERT_EQ(d->nclosure, h->closure.count);
	for (size_t i = 0; i < d->nclosure; i++)
		check_dep(&v, &v.closure[i], &d->closure[i], 1);

	ASSERT_EQ(d->nimports, h->imports.count);
	for (size_t i = 0; i < d->nimports; i++) {
		const struct myr_import *im = &v.imports[i];
		const char *name = d->imports[i].name;
		EXPECT_STREQ(name, myr_view_str(&v, im->name_off));
		EXPECT_EQ(d->imports[i].dep, im->dep);
		EXPECT_EQ(d->imports[i].export_hint, im->export_hint);
		EXPECT_EQ(myr_symbol_hash(name, (uint32_t)strlen(name)), im->hash);
	}

	/* Exports are reordered into buckets: find each by name. */
	ASSERT_EQ(d->nexports, h->exports.count);
	for (size_t i = 0; i < d->nexports; i++) {
		const char *name = d->exports[i].name;
		uint32_t nlen = (uint32_t)strlen(name);
		int64_t at = myr_module_find_export(&v, name, nlen,
						    myr_symbol_hash(name, nlen), MYR_NO_HINT);
		ASSERT_GE(at, 0);
		const struct myr_export *e = &v.exports[at];
		EXPECT_STREQ(name, myr_view_str(&v, e->name_off));
		EXPECT_EQ(d->exports[i].seg, e->seg);
		EXPECT_EQ(d->exports[i].kind, e->kind);
		EXPECT_EQ(d->exports[i].off, e->off);
		/* The hint fast path finds the same index. */
		EXPECT_EQ(at, myr_module_find_export(&v, name, nlen, e->hash, (uint32_t)at));
	}

	ASSERT_EQ(d->nrelocs, h->relocs.count);
	for (size_t i = 0; i < d->nrelocs; i++) {
		const struct myr_reloc *a = &d->relocs[i], *b = &v.relocs[i];
		EXPECT_EQ(a->site_off, b->site_off);
		EXPECT_EQ(a->site_seg, b->site_seg);
		EXPECT_EQ(a->type, b->type);
		EXPECT_EQ(a->target_seg, b->target_seg);
		EXPECT_EQ(a->target, b->target);
		EXPECT_EQ(a->addend, b->addend);
	}

	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		EXPECT_EQ(d->seg[s].size, h->seg[s].size);
		EXPECT_EQ(d->seg[s].align_log2, h->seg[s].align_log2);
		if (s == MYR_SEG_BSS) {
			EXPECT_EQ(0u, h->seg[s].file_size);
			continue;
		}
		uint8_t *buf = malloc(d->seg[s].size + 1);
		ASSERT_NONNULL(buf);
		ASSERT_EQ(0, myr_module_segment_load(&v, s, buf, &err));
		if (d->seg[s].size)
			EXPECT_MEMEQ(d->seg[s].data, buf, d->seg[s].size);
		free(buf);
	}

	EXPECT_EQ(d->entry.seg, h->entry.seg);
	EXPECT_EQ(d->entry.off, h->entry.off);
	EXPECT_EQ(d->init.seg, h->init.seg);
	EXPECT_EQ(d->init.off, h->init.off);
	EXPECT_EQ(d->init.count, h->init.count);
	EXPECT_EQ(d->fini.seg, h->fini.seg);
	EXPECT_EQ(d->fini.off, h->fini.off);
	EXPECT_EQ(d->fini.count, h->fini.count);
}

TEST(program_round_trip)
{
	struct fixture f;
	uint8_t *file;
	size_t len;
	struct myr_error err = { 0 };

	fixture_init(&f, 1);
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	check_roundtrip(&f, file, len);
	free(file);
}

TEST(library_round_trip_uncompressed)
{
	struct fixture f;
	uint8_t *file;
	size_t len;
	struct myr_error err = { 0 };
	struct myr_module_view v;

	fixture_init(&f, 0);
	f.desc.compress = 0;
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	check_roundtrip(&f, file, len);
	ASSERT_EQ(0, myr_module_parse(file, len, 0, &v, &err));
	for (unsigned s = 0; s < MYR_SEG_BSS; s++)
		EXPECT_EQ(MYR_ENC_RAW, v.hdr->seg[s].encoding);
	free(file);
}

TEST(compresses_only_when_it_saves)
{
	struct fixture f;
	uint8_t *file;
	size_t len;
	struct myr_error err = { 0 };
	struct myr_module_view v;

	fixture_init(&f, 1);
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	ASSERT_EQ(0, myr_module_parse(file, len, 0, &v, &err));
	/* Repetitive text compresses; random rodata does not. */
	EXPECT_EQ(MYR_ENC_LZ4, v.hdr->seg[MYR_SEG_TEXT].encoding);
	EXPECT_LT(v.hdr->seg[MYR_SEG_TEXT].file_size, v.hdr->seg[MYR_SEG_TEXT].size);
	EXPECT_EQ(MYR_ENC_RAW, v.hdr->seg[MYR_SEG_RODATA].encoding);
	EXPECT_EQ(v.hdr->seg[MYR_SEG_RODATA].size, v.hdr->seg[MYR_SEG_RODATA].file_size);
	free(file);
}

/* MYR_COMPRESS_PAGES: the same text stays raw while it would save less
 * than a page, and is compressed once it saves more; the bytes survive. */
TEST(compresses_pages_only_when_it_saves_a_page)
{
	static uint8_t big[3 * MYR_COMPRESS_PAGE_SAVING];
	struct fixture f;
	uint8_t *file, *out = malloc(sizeof(big));
	size_t len;
	struct myr_error err = { 0 };
	struct myr_module_view v;

	ASSERT_NE(NULL, out);
	fixture_init(&f, 1);
	f.desc.compress = MYR_COMPRESS_PAGES;
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	ASSERT_EQ(0, myr_module_parse(file, len, 0, &v, &err));
	EXPECT_EQ(MYR_ENC_RAW, v.hdr->seg[MYR_SEG_TEXT].encoding);
	free(file);

	fixture_fill(big, sizeof(big), 1, 7);
	f.desc.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ big, sizeof(big), 4 };
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	ASSERT_EQ(0, myr_module_parse(file, len, 0, &v, &err));
	EXPECT_EQ(MYR_ENC_LZ4, v.hdr->seg[MYR_SEG_TEXT].encoding);
	EXPECT_LE(v.hdr->seg[MYR_SEG_TEXT].file_size + MYR_COMPRESS_PAGE_SAVING,
		  v.hdr->seg[MYR_SEG_TEXT].size);
	EXPECT_EQ(MYR_ENC_RAW, v.hdr->seg[MYR_SEG_RODATA].encoding);
	ASSERT_EQ(0, myr_module_segment_load(&v, MYR_SEG_TEXT, out, &err));
	EXPECT_EQ(0, memcmp(out, big, sizeof(big)));
	free(file);
	free(out);
}

TEST(shebang_line_is_padded_and_skipped)
{
	struct fixture f;
	uint8_t *file;
	size_t len, off, total;
	struct myr_error err = { 0 };

	fixture_init(&f, 1);
	f.desc.shebang = "/usr/bin/myriad";
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	ASSERT_EQ(0, myr_module_probe(file, len, &off, &total, &err));
	EXPECT_EQ(0u, off % MYR_SHEBANG_ALIGN);
	EXPECT_EQ(len, total);
	EXPECT_EQ(0, memcmp(file, "#!/usr/bin/myriad ", 18));
	EXPECT_EQ('\n', file[off - 1]);
	check_roundtrip(&f, file, len);
	free(file);
}

TEST(longest_shebang_fits_and_one_more_does_not)
{
	struct fixture f;
	uint8_t *file;
	size_t len;
	struct myr_error err = { 0 };
	char interp[MYR_SHEBANG_MAX];

	fixture_init(&f, 1);
	/* "#!" + interp + "\n" exactly MYR_SHEBANG_MAX bytes. */
	memset(interp, 'x', sizeof(interp));
	interp[0] = '/';
	interp[MYR_SHEBANG_MAX - 3] = '\0';
	f.desc.shebang = interp;
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	check_roundtrip(&f, file, len);
	free(file);
	interp[MYR_SHEBANG_MAX - 3] = 'x';
	interp[MYR_SHEBANG_MAX - 2] = '\0';
	EXPECT_EQ(-EINVAL, myr_module_write(&f.desc, &file, &len, &err));
}

TEST(strings_are_shared)
{
	struct fixture f;
	uint8_t *file;
	size_t len;
	struct myr_error err = { 0 };
	struct myr_module_view v;

	fixture_init(&f, 1);
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	ASSERT_EQ(0, myr_module_parse(file, len, 0, &v, &err));
	/* "libc" is both a dependency and a closure entry; "malloc" both an
	 * import and an export: each is stored once. */
	EXPECT_EQ(v.deps[0].name_off, v.closure[0].name_off);
	int64_t at = myr_module_find_export(&v, "malloc", 6, myr_symbol_hash("malloc", 6),
					    MYR_NO_HINT);
	ASSERT_GE(at, 0);
	EXPECT_EQ(v.imports[0].name_off, v.exports[at].name_off);
	free(file);
}

TEST(no_exports_means_no_buckets)
{
	struct fixture f;
	uint8_t *file;
	size_t len;
	struct myr_error err = { 0 };
	struct myr_module_view v;

	fixture_init(&f, 0);
	f.desc.nexports = 0;
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	ASSERT_EQ(0, myr_module_parse(file, len, 0, &v, &err));
	EXPECT_EQ(0u, v.hdr->buckets.count);
	EXPECT_EQ(0u, v.hdr->buckets.off);
	EXPECT_EQ(-ENOENT, myr_module_find_export(&v, "alpha", 5,
						  myr_symbol_hash("alpha", 5), 0));
	free(file);
}

TEST(many_exports_are_all_found)
{
	enum { N = 3000 };
	struct fixture f;
	static struct myr_desc_export ex[N];
	static char names[N][16];
	uint8_t *file;
	size_t len;
	struct myr_error err = { 0 };
	struct myr_module_view v;

	fixture_init(&f, 0);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "sym_%d", i);
		ex[i] = (struct myr_desc_export){ names[i], MYR_SEG_TEXT, MYR_SYM_FUNC,
						  (uint32_t)(i % 600) };
	}
	f.desc.exports = ex;
	f.desc.nexports = N;
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	ASSERT_EQ(0, myr_module_parse(file, len, 0, &v, &err));
	uint32_t nb = v.hdr->buckets.count;
	EXPECT_EQ(0u, nb & (nb - 1));
	EXPECT_GE(nb, (uint32_t)N);
	for (int i = 0; i < N; i++) {
		uint32_t nlen = (uint32_t)strlen(names[i]);
		int64_t at = myr_module_find_export(&v, names[i], nlen,
						    myr_symbol_hash(names[i], nlen), MYR_NO_HINT);
		ASSERT_GE(at, 0);
		EXPECT_EQ((uint32_t)(i % 600), v.exports[at].off);
	}
	/* A wrong hint falls back to the search; a missing name is not found. */
	EXPECT_GE(myr_module_find_export(&v, "sym_7", 5, myr_symbol_hash("sym_7", 5), 0), 0);
	EXPECT_EQ(-ENOENT, myr_module_find_export(&v, "sym_x", 5,
						  myr_symbol_hash("sym_x", 5), 0));
	free(file);
}

TEST(empty_module_round_trip)
{
	struct myr_module_desc d = { .name = "empty", .arch = MYR_ARCH_HOST,
				     .entry.seg = MYR_SEG_NONE, .init.seg = MYR_SEG_NONE,
				     .fini.seg = MYR_SEG_NONE, .compress = 1 };
	uint8_t *file;
	size_t len;
	struct myr_error err = { 0 };
	struct myr_module_view v;

	ASSERT_EQ(0, myr_module_write(&d, &file, &len, &err));
	ASSERT_EQ(0, myr_module_parse(file, len, 0, &v, &err));
	EXPECT_STREQ("empty", v.name);
	EXPECT_EQ(0u, v.hdr->exports.count);
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
		EXPECT_EQ(0, myr_module_segment_load(&v, s, NULL, &err));
	free(file);
}

/*
 * Format 2: an optional dependency keeps its flag; the import's dependency
 * index is 32 bits wide (a program may have MYR_DEPS_MAX dependencies);
 * a library's closure hint is refused at write time as at read time.
 */
TEST(format_2_fields_round_trip)
{
	enum { N = 70000 };
	static char names[N][16];
	static struct myr_desc_dep deps[N];
	struct fixture f;
	uint8_t *file = NULL;
	size_t len;
	struct myr_error err = { 0 };

	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d", i);
		deps[i] = (struct myr_desc_dep){ .name = names[i], .ver_major = 1,
			.ver_minor = (uint16_t)(i % 7), .ver_patch = 3,
			.size_hint = 99,         /* ignored in deps */
			.flags = i % 3 == 1 ? MYR_DEP_OPTIONAL : 0 };
	}
	fixture_init(&f, 1);
	f.desc.deps = deps;
	f.desc.ndeps = N;
	f.imports[0].dep = N - 1;
	f.imports[1].dep = 65537;
	f.imports[2].dep = 0;
	f.imports[3].dep = 3;
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	check_roundtrip(&f, file, len);
	free(file);

	fixture_init(&f, 1);
	f.deps[1].flags = MYR_DEP_OPTIONAL;    /* json_parse binds to it */
	EXPECT_EQ(-EINVAL, myr_module_write(&f.desc, &file, &len, &err));
	EXPECT_NE(NULL, strstr(err.msg, "bound to optional dependency 1"));

	fixture_init(&f, 0);
	f.desc.closure = f.closure;
	f.desc.nclosure = 2;
	EXPECT_EQ(-EINVAL, myr_module_write(&f.desc, &file, &len, &err));
	EXPECT_NE(NULL, strstr(err.msg, "closure table: 2 entries in a library"));
}

TEST(writer_refuses_what_the_reader_would)
{
	struct fixture f;
	uint8_t *file = NULL;
	size_t len = 0;
	struct myr_error err = { 0 };

	fixture_init(&f, 1);
	f.imports[2].dep = 9;
	EXPECT_EQ(-EINVAL, myr_module_write(&f.desc, &file, &len, &err));
	EXPECT_NULL(file);
	TH_LOG("bad import: %s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "dependency index 9"));

	fixture_init(&f, 1);
	f.exports[1].name = "alpha";
	EXPECT_EQ(-EINVAL, myr_module_write(&f.desc, &file, &len, &err));
	EXPECT_NE(NULL, strstr(err.msg, "duplicate export 'alpha'"));

	fixture_init(&f, 1);
	f.desc.name = "bad name";
	EXPECT_EQ(-EINVAL, myr_module_write(&f.desc, &file, &len, &err));
	EXPECT_NE(NULL, strstr(err.msg, "invalid module name"));

	fixture_init(&f, 1);
	f.desc.name = "myriad";
	EXPECT_EQ(-EINVAL, myr_module_write(&f.desc, &file, &len, &err));
	EXPECT_NE(NULL, strstr(err.msg, "reserved"));

	fixture_init(&f, 0);
	f.desc.entry = (struct myr_ref){ .seg = MYR_SEG_TEXT, .off = 0 };
	EXPECT_EQ(-EINVAL, myr_module_write(&f.desc, &file, &len, &err));

	fixture_init(&f, 1);
	f.desc.seg[MYR_SEG_DATA].data = NULL;
	EXPECT_EQ(-EINVAL, myr_module_write(&f.desc, &file, &len, &err));

	fixture_init(&f, 1);
	f.desc.shebang = "/bin/x\nrm";
	EXPECT_EQ(-EINVAL, myr_module_write(&f.desc, &file, &len, &err));
	EXPECT_NULL(file);
}

TEST_HARNESS_MAIN
