/* SPDX-License-Identifier: MIT */
/*
 * Every limit of <myriad/limits.h> that the module reader and writer
 * enforce, right at the limit (accepted) and one past it (rejected with the
 * limit's error), through the public API.  Modules at a limit are written
 * with myr_module_write where the writer can reach the limit, and forged
 * from a written module (count or size edited, checksum re-sealed) where
 * only a hostile file can go past it.  The big cases stay cheap: shared
 * names, zero-filled buffers, BSS that is never stored.
 *
 * The loader's limits are in test_limits_loader.c, the converter's in
 * test_limits_elf.c; docs/limits.md lists which test covers which limit.
 */
#include "harness.h"
#include "test_module_fixture.h"

/* A library with one byte of text and nothing else, to build on. */
static void base_desc(struct myr_module_desc *d)
{
	static const uint8_t text[1] = { 0xc3 };
	memset(d, 0, sizeof(*d));
	d->name = "limits";
	d->ver_major = 1;
	d->arch = MYR_ARCH_HOST;
	d->seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text, 1, 0 };
	d->entry = (struct myr_ref){ .seg = MYR_SEG_NONE };
	d->init = d->fini = (struct myr_array_ref){ .seg = MYR_SEG_NONE };
}

static int write_desc(const struct myr_module_desc *d, uint8_t **file, size_t *len,
		      struct myr_error *err)
{
	memset(err, 0, sizeof(*err));
	return myr_module_write(d, file, len, err);
}

static int parse(const uint8_t *file, size_t len, struct myr_module_view *v,
		 struct myr_error *err)
{
	memset(err, 0, sizeof(*err));
	return myr_module_parse(file, len, 0, v, err);
}

/* The view of a module this test wrote, writable for forging. */
static struct myr_header *hdr_of(uint8_t *file, size_t len)
{
	struct myr_header *h = fixture_header(file, len);
	ASSERT_NONNULL(h);
	return h;
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	ASSERT_NONNULL(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

#define EXPECT_MSG(err, needle) do {                                          \
		if (!strstr((err).msg, (needle)))                              \
			TH_LOG("message '%s' lacks '%s'", (err).msg, (needle)); \
		EXPECT_NONNULL(strstr((err).msg, (needle)));                   \
	} while (0)

/* ---- names ------------------------------------------------------------- */

TEST(name_max)
{
	struct myr_module_desc d;
	struct myr_module_view v;
	struct myr_error err;
	char *at = repeat('n', MYR_NAME_MAX), *past = repeat('n', MYR_NAME_MAX + 1);
	uint8_t *file;
	size_t len;

	EXPECT_TRUE(myr_name_valid(at, MYR_NAME_MAX));
	EXPECT_FALSE(myr_name_valid(past, MYR_NAME_MAX + 1));

	/* At the limit: a module and a dependency with 64-byte names. */
	base_desc(&d);
	struct myr_desc_dep dep = { at, 1, 0, 0, 0, 0 };
	struct myr_desc_export ex = { past, MYR_SEG_TEXT, MYR_SYM_FUNC, 0 };
	d.name = at;
	ASSERT_EQ(0, write_desc(&d, &file, &len, &err));
	ASSERT_EQ(0, parse(file, len, &v, &err));
	EXPECT_EQ((uint16_t)MYR_NAME_MAX, v.hdr->name_len);
	free(file);
	d.name = "self";
	d.deps = &dep;
	d.ndeps = 1;
	d.exports = &ex;    /* a 65-byte string to point the name at below */
	d.nexports = 1;
	ASSERT_EQ(0, write_desc(&d, &file, &len, &err));
	ASSERT_EQ(0, parse(file, len, &v, &err));
	EXPECT_EQ((uint16_t)MYR_NAME_MAX, v.deps[0].name_len);

	/* Past it, forged: the module's name becomes the 65-byte export name. */
	struct myr_header *h = hdr_of(file, len);
	h->name_off = v.exports[0].name_off;
	h->name_len = MYR_NAME_MAX + 1;
	fixture_reseal(file, len);
	EXPECT_EQ(-EBADMSG, parse(file, len, &v, &err));
	EXPECT_MSG(err, "invalid module name");
	free(file);

	/* The writer refuses to produce one. */
	d.name = past;
	EXPECT_EQ(-EINVAL, write_desc(&d, &file, &len, &err));
	d.name = "self";
	dep.name = past;
	EXPECT_EQ(-EINVAL, write_desc(&d, &file, &len, &err));
	free(at);
	free(past);
}

TEST(symbol_max)
{
	struct myr_module_desc d;
	struct myr_module_view v;
	struct myr_error err;
	char *at = repeat('s', MYR_SYMBOL_MAX), *past = repeat('s', MYR_SYMBOL_MAX + 1);
	uint8_t *file;
	size_t len;

	EXPECT_TRUE(myr_symbol_name_valid(at, MYR_SYMBOL_MAX));
	EXPECT_FALSE(myr_symbol_name_valid(past, MYR_SYMBOL_MAX + 1));

	base_desc(&d);
	struct myr_desc_dep dep = { "dep", 1, 0, 0, 0, 0 };
	struct myr_desc_import im = { at, 0, MYR_NO_HINT };
	struct myr_desc_export ex = { at, MYR_SEG_TEXT, MYR_SYM_FUNC, 0 };
	d.deps = &dep;
	d.ndeps = 1;
	d.imports = &im;
	d.nimports = 1;
	d.exports = &ex;
	d.nexports = 1;
	ASSERT_EQ(0, write_desc(&d, &file, &len, &err));
	ASSERT_EQ(0, parse(file, len, &v, &err));
	EXPECT_EQ(0, myr_module_find_export(&v, at, MYR_SYMBOL_MAX,
					    myr_symbol_hash(at, MYR_SYMBOL_MAX), MYR_NO_HINT));

	/* One byte longer: the length check comes before the string's. */
	struct myr_header *h = hdr_of(file, len);
	struct myr_import *imp = (struct myr_import *)((uint8_t *)h + h->imports.off);
	imp->name_len = MYR_SYMBOL_MAX + 1;
	fixture_reseal(file, len);
	EXPECT_EQ(-E2BIG, parse(file, len, &v, &err));
	EXPECT_MSG(err, "MYR_SYMBOL_MAX");
	free(file);

	im.name = past;
	EXPECT_EQ(-EINVAL, write_desc(&d, &file, &len, &err));
	EXPECT_MSG(err, "MYR_SYMBOL_MAX");
	im.name = at;
	ex.name = past;
	EXPECT_EQ(-EINVAL, write_desc(&d, &file, &len, &err));
	free(at);
	free(past);
}

TEST(shebang_max)
{
	struct myr_module_desc d;
	struct myr_module_view v;
	struct myr_error err;
	size_t off = 0, total = 0;
	uint8_t *file;
	size_t len;

	/* "#!" + interpreter + "\n" is padded to a multiple of 16: an
	 * interpreter of MAX - 3 bytes makes a line of exactly MAX. */
	char *at = repeat('i', MYR_SHEBANG_MAX - 3), *past = repeat('i', MYR_SHEBANG_MAX - 2);
	at[0] = past[0] = '/';
	base_desc(&d);
	d.shebang = at;
	ASSERT_EQ(0, write_desc(&d, &file, &len, &err));
	ASSERT_EQ(0, myr_module_probe(file, len, &off, &total, &err));
	EXPECT_EQ((size_t)MYR_SHEBANG_MAX, off);
	EXPECT_EQ(0, parse(file, len, &v, &err));

	/* Past it, forged: the newline moves one byte further (the header
	 * would not be aligned either, but the length is found first). */
	uint8_t *big = calloc(1, len + 16);
	ASSERT_NONNULL(big);
	memcpy(big, file, MYR_SHEBANG_MAX - 1);
	big[MYR_SHEBANG_MAX - 1] = ' ';
	big[MYR_SHEBANG_MAX] = '\n';
	memcpy(big + MYR_SHEBANG_MAX + 1, file + MYR_SHEBANG_MAX, len - MYR_SHEBANG_MAX);
	EXPECT_EQ(-EBADMSG, myr_module_probe(big, len + 1, &off, &total, &err));
	EXPECT_MSG(err, "MYR_SHEBANG_MAX");
	free(big);
	free(file);

	d.shebang = past;
	EXPECT_EQ(-EINVAL, write_desc(&d, &file, &len, &err));
	EXPECT_MSG(err, "MYR_SHEBANG_MAX");
	free(at);
	free(past);
}

/* ---- sizes ------------------------------------------------------------- */

/*
 * A valid library of exactly size bytes (file_size == size): the writer's
 * smallest module, stretched with zeros after its metadata.  With
 * meta_too, the metadata stretches along (meta_size == size), which is
 * valid too: the tables need not fill it.  Only the header changes; the
 * checksum is re-sealed over the whole file.
 */
static uint8_t *stretched_module(size_t size, int meta_too)
{
	struct myr_module_desc d;
	struct myr_error err;
	uint8_t *small, *file;
	size_t len;

	base_desc(&d);
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ 0 };
	d.seg[MYR_SEG_BSS] = (struct myr_desc_segment){ NULL, 16, 3 };
	ASSERT_EQ(0, write_desc(&d, &small, &len, &err));
	ASSERT_LE(len, size);
	file = calloc(1, size);
	ASSERT_NONNULL(file);
	memcpy(file, small, len);
	free(small);
	struct myr_header *h = (struct myr_header *)file;
	h->file_size = (uint32_t)size;
	if (meta_too)
		h->meta_size = (uint32_t)size;
	h->checksum = myr_module_checksum(file, size);
	return file;
}

TEST(file_max)
{
	struct myr_module_view v;
	struct myr_error err;
	size_t off, total;

	/* At the limit: a whole valid module of MYR_FILE_MAX bytes. */
	uint8_t *file = stretched_module(MYR_FILE_MAX, 0);
	EXPECT_EQ(0, myr_module_probe(file, 4096, &off, &total, &err));
	EXPECT_EQ((size_t)MYR_FILE_MAX, total);
	EXPECT_EQ(0, parse(file, MYR_FILE_MAX, &v, &err));

	/* One past: probe says so from the header alone. */
	struct myr_header *h = (struct myr_header *)file;
	h->file_size = MYR_FILE_MAX + 1;
	EXPECT_EQ(-EFBIG, myr_module_probe(file, 4096, &off, &total, &err));
	EXPECT_MSG(err, "MYR_FILE_MAX");
	free(file);

	/* The #! line counts: with a 16-byte line, file_size may be 16 less. */
	uint8_t hdr[16 + sizeof(struct myr_header)] __attribute__((aligned(8)));
	struct myr_header *sh = (struct myr_header *)(hdr + 16);
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, "#!/bin/myriad  \n", 16);
	memcpy(sh->magic, MYR_MAGIC, MYR_MAGIC_SIZE);
	sh->format_version = MYR_FORMAT_VERSION;
	sh->arch = MYR_ARCH_HOST;
	sh->file_size = MYR_FILE_MAX - 16;
	EXPECT_EQ(0, myr_module_probe(hdr, sizeof(hdr), &off, &total, &err));
	EXPECT_EQ((size_t)MYR_FILE_MAX, total);
	sh->file_size = MYR_FILE_MAX - 15;
	EXPECT_EQ(-EFBIG, myr_module_probe(hdr, sizeof(hdr), &off, &total, &err));
}

TEST(meta_max)
{
	struct myr_module_view v;
	struct myr_error err;

	uint8_t *file = stretched_module(MYR_META_MAX, 1);
	EXPECT_EQ(0, parse(file, MYR_META_MAX, &v, &err));
	free(file);

	file = stretched_module(MYR_META_MAX + 8, 1);
	EXPECT_EQ(-E2BIG, parse(file, MYR_META_MAX + 8, &v, &err));
	EXPECT_MSG(err, "MYR_META_MAX");
	free(file);
}

TEST(segment_max)
{
	struct myr_module_desc d;
	struct myr_module_view v;
	struct myr_error err;
	uint8_t *file;
	size_t len;

	/* BSS is never stored, so a segment at the limit costs nothing. */
	base_desc(&d);
	d.seg[MYR_SEG_BSS] = (struct myr_desc_segment){ NULL, MYR_SEGMENT_MAX, 12 };
	ASSERT_EQ(0, write_desc(&d, &file, &len, &err));
	ASSERT_EQ(0, parse(file, len, &v, &err));
	EXPECT_EQ((uint32_t)MYR_SEGMENT_MAX, v.hdr->seg[MYR_SEG_BSS].size);

	hdr_of(file, len)->seg[MYR_SEG_BSS].size = MYR_SEGMENT_MAX + 1;
	fixture_reseal(file, len);
	EXPECT_EQ(-E2BIG, parse(file, len, &v, &err));
	EXPECT_MSG(err, "MYR_SEGMENT_MAX");
	free(file);

	d.seg[MYR_SEG_BSS].size = MYR_SEGMENT_MAX + 1;
	EXPECT_EQ(-EINVAL, write_desc(&d, &file, &len, &err));
	EXPECT_MSG(err, "MYR_SEGMENT_MAX");
}

/* The decompressed size: at most MYR_LZ4_MAX_RATIO times the block. */
TEST(lz4_expansion_max)
{
	static uint8_t text[4096];
	struct myr_module_desc d;
	struct myr_module_view v;
	struct myr_error err;
	uint8_t *file;
	size_t len;

	base_desc(&d);
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text, sizeof(text), 4 };
	d.compress = 1;
	ASSERT_EQ(0, write_desc(&d, &file, &len, &err));
	struct myr_header *h = hdr_of(file, len);
	ASSERT_EQ(MYR_ENC_LZ4, h->seg[MYR_SEG_TEXT].encoding);
	uint32_t block = h->seg[MYR_SEG_TEXT].file_size;

	/* At the ratio the header is accepted; the block then decodes to
	 * fewer bytes than claimed, which segment_load rejects. */
	h->seg[MYR_SEG_TEXT].size = block * MYR_LZ4_MAX_RATIO;
	fixture_reseal(file, len);
	ASSERT_EQ(0, parse(file, len, &v, &err));
	uint8_t *dst = malloc(block * MYR_LZ4_MAX_RATIO);
	ASSERT_NONNULL(dst);
	EXPECT_EQ(-EBADMSG, myr_module_segment_load(&v, MYR_SEG_TEXT, dst, &err));
	free(dst);

	h->seg[MYR_SEG_TEXT].size = block * MYR_LZ4_MAX_RATIO + 1;
	fixture_reseal(file, len);
	EXPECT_EQ(-EBADMSG, parse(file, len, &v, &err));
	EXPECT_MSG(err, "maximum expansion");
	free(file);
}

TEST(align_max)
{
	struct myr_module_desc d;
	struct myr_module_view v;
	struct myr_error err;
	uint8_t *file;
	size_t len;

	base_desc(&d);
	d.seg[MYR_SEG_TEXT].align_log2 = MYR_ALIGN_LOG2_MAX;
	ASSERT_EQ(0, write_desc(&d, &file, &len, &err));
	ASSERT_EQ(0, parse(file, len, &v, &err));
	hdr_of(file, len)->seg[MYR_SEG_TEXT].align_log2 = MYR_ALIGN_LOG2_MAX + 1;
	fixture_reseal(file, len);
	EXPECT_EQ(-EBADMSG, parse(file, len, &v, &err));
	EXPECT_MSG(err, "alignment");
	free(file);

	d.seg[MYR_SEG_TEXT].align_log2 = MYR_ALIGN_LOG2_MAX + 1;
	EXPECT_EQ(-EINVAL, write_desc(&d, &file, &len, &err));
}

/* ---- counts ------------------------------------------------------------ */

/*
 * Past a count limit the reader answers -E2BIG naming the table before
 * looking at anything else, so a header edit is enough to test it.
 */
static void expect_count_rejected(uint8_t *file, size_t len, struct myr_table *t,
				  uint32_t limit, const char *table)
{
	struct myr_module_view v;
	struct myr_error err;
	struct myr_table saved = *t;

	t->count = limit + 1;
	fixture_reseal(file, len);
	EXPECT_EQ(-E2BIG, parse(file, len, &v, &err));
	EXPECT_MSG(err, table);
	EXPECT_MSG(err, "over the limit");
	/* UINT32_MAX too: no wrap in the size computation. */
	t->count = UINT32_MAX;
	fixture_reseal(file, len);
	EXPECT_EQ(-E2BIG, parse(file, len, &v, &err));
	*t = saved;
	fixture_reseal(file, len);
}

/*
 * A table of module names (deps or closure) at its limit is written and
 * read back; one entry more is refused by the writer and, forged, by the
 * reader.  Names are distinct ("d0", "d1", ...): the reader rejects a
 * dependency listed twice.
 */
static void name_table_at_limit(uint32_t limit, int closure, const char *table)
{
	struct myr_module_desc d;
	struct myr_module_view v;
	struct myr_error err;
	struct myr_desc_dep *deps = calloc(limit + 1, sizeof(*deps));
	char (*names)[16] = calloc(limit + 1, sizeof(*names));
	uint8_t *file;
	size_t len;

	ASSERT_NONNULL(deps);
	ASSERT_NONNULL(names);
	for (uint32_t i = 0; i <= limit; i++) {
		snprintf(names[i], sizeof(names[i]), "d%u", i);
		deps[i] = (struct myr_desc_dep){ names[i], 1, 0, 0, closure ? 100 : 0, 0 };
	}
	base_desc(&d);
	if (closure) {
		/* Only a program carries a closure hint. */
		d.flags = MYR_F_PROGRAM;
		d.entry = (struct myr_ref){ .seg = MYR_SEG_TEXT, .off = 0 };
		d.closure = deps;
		d.nclosure = limit;
	} else {
		d.deps = deps;
		d.ndeps = limit;
	}
	ASSERT_EQ(0, write_desc(&d, &file, &len, &err));
	ASSERT_EQ(0, parse(file, len, &v, &err));
	struct myr_header *h = hdr_of(file, len);
	struct myr_table *t = closure ? &h->closure : &h->deps;
	EXPECT_EQ(limit, t->count);
	expect_count_rejected(file, len, t, limit, table);
	free(file);

	*(closure ? &d.nclosure : &d.ndeps) = (size_t)limit + 1;
	EXPECT_EQ(-EINVAL, write_desc(&d, &file, &len, &err));
	EXPECT_MSG(err, "over the limit");
	free(deps);
	free(names);
}

TEST_TIMEOUT(deps_max, 60)
{
	name_table_at_limit(MYR_DEPS_MAX, 0, "deps");
}

TEST_TIMEOUT(closure_max, 60)
{
	name_table_at_limit(MYR_CLOSURE_MAX, 1, "closure");
}

/* Imports may share one name (the string table interns it), but at 20
 * bytes each (format 2) MYR_IMPORTS_MAX of them no longer fit in
 * MYR_META_MAX: as for exports and relocations, the most that fit are
 * accepted, the count limit is refused as outside the metadata, and one
 * past it as over its count. */
TEST_TIMEOUT(imports_max, 60)
{
	struct myr_module_desc d;
	struct myr_module_view v;
	struct myr_error err;
	/* Header, one dependency, "dep" and "f": far below 4096 bytes. */
	const uint32_t fit = (MYR_META_MAX - 4096) / sizeof(struct myr_import);
	struct myr_desc_import *im = calloc(MYR_IMPORTS_MAX + 1, sizeof(*im));
	struct myr_desc_dep dep = { "dep", 1, 0, 0, 0, 0 };
	uint8_t *file;
	size_t len;

	EXPECT_GT((uint64_t)MYR_IMPORTS_MAX * sizeof(struct myr_import),
		  (uint64_t)MYR_META_MAX);
	ASSERT_NONNULL(im);
	for (uint32_t i = 0; i <= MYR_IMPORTS_MAX; i++)
		im[i] = (struct myr_desc_import){ "f", 0, MYR_NO_HINT };
	base_desc(&d);
	d.deps = &dep;
	d.ndeps = 1;
	d.imports = im;
	d.nimports = fit;
	ASSERT_EQ(0, write_desc(&d, &file, &len, &err));
	ASSERT_EQ(0, parse(file, len, &v, &err));
	EXPECT_EQ(fit, v.hdr->imports.count);
	struct myr_header *h = hdr_of(file, len);
	h->imports.count = MYR_IMPORTS_MAX;
	fixture_reseal(file, len);
	EXPECT_EQ(-EBADMSG, parse(file, len, &v, &err));
	EXPECT_MSG(err, "outside the metadata");
	h->imports.count = fit;
	expect_count_rejected(file, len, &h->imports, MYR_IMPORTS_MAX, "imports");
	free(file);

	d.nimports = MYR_IMPORTS_MAX;
	EXPECT_EQ(-EINVAL, write_desc(&d, &file, &len, &err));
	EXPECT_MSG(err, "over the limit of 16777216 (MYR_META_MAX)");
	d.nimports = MYR_IMPORTS_MAX + 1;
	EXPECT_EQ(-EINVAL, write_desc(&d, &file, &len, &err));
	free(im);
}

TEST(exports_and_relocs_max)
{
	struct myr_module_desc d;
	struct myr_module_view v;
	struct myr_error err;
	struct myr_desc_export ex = { "e", MYR_SEG_TEXT, MYR_SYM_FUNC, 0 };
	struct myr_reloc rel = { .site_off = 0, .site_seg = MYR_SEG_DATA,
		.type = MYR_REL_ABS64, .target_seg = MYR_SEG_TEXT, .target = 0 };
	static const uint8_t data[8];
	uint8_t *file;
	size_t len;

	EXPECT_GT((uint64_t)MYR_EXPORTS_MAX * sizeof(struct myr_export) +
		  (uint64_t)MYR_EXPORTS_MAX * 2, (uint64_t)MYR_META_MAX);
	EXPECT_GT((uint64_t)MYR_RELOCS_MAX * sizeof(struct myr_reloc), (uint64_t)MYR_META_MAX);

	base_desc(&d);
	d.exports = &ex;
	d.nexports = 1;
	d.relocs = &rel;
	d.nrelocs = 1;
	d.seg[MYR_SEG_DATA] = (struct myr_desc_segment){ data, 8, 3 };
	ASSERT_EQ(0, write_desc(&d, &file, &len, &err));
	ASSERT_EQ(0, parse(file, len, &v, &err));
	struct myr_header *h = hdr_of(file, len);

	h->relocs.count = MYR_RELOCS_MAX;
	fixture_reseal(file, len);
	EXPECT_EQ(-EBADMSG, parse(file, len, &v, &err));
	EXPECT_MSG(err, "outside the metadata");
	h->relocs.count = 1;
	expect_count_rejected(file, len, &h->relocs, MYR_RELOCS_MAX, "relocs");

	h->exports.count = MYR_EXPORTS_MAX;
	h->buckets.count = 1u << 20;   /* a power of two <= twice the exports */
	fixture_reseal(file, len);
	EXPECT_EQ(-EBADMSG, parse(file, len, &v, &err));
	EXPECT_MSG(err, "outside the metadata");
	h->exports.count = MYR_EXPORTS_MAX + 1;
	fixture_reseal(file, len);
	EXPECT_EQ(-E2BIG, parse(file, len, &v, &err));
	EXPECT_MSG(err, "exports table");
	free(file);

	/* The writer checks the counts before it reads the arrays. */
	d.nexports = MYR_EXPORTS_MAX + 1;
	EXPECT_EQ(-EINVAL, write_desc(&d, &file, &len, &err));
	d.nexports = 1;
	d.nrelocs = MYR_RELOCS_MAX + 1;
	EXPECT_EQ(-EINVAL, write_desc(&d, &file, &len, &err));
}

TEST(init_funcs_max)
{
	struct myr_module_desc d;
	struct myr_module_view v;
	struct myr_error err;
	size_t relro_size = (size_t)MYR_INIT_FUNCS_MAX * 8;
	uint8_t *relro = calloc(1, relro_size + 8), *file;
	size_t len;

	ASSERT_NONNULL(relro);
	base_desc(&d);
	d.compress = 1;
	d.seg[MYR_SEG_RELRO] = (struct myr_desc_segment){ relro, (uint32_t)relro_size + 8, 3 };
	d.init = (struct myr_array_ref){ .seg = MYR_SEG_RELRO, .count = MYR_INIT_FUNCS_MAX };
	ASSERT_EQ(0, write_desc(&d, &file, &len, &err));
	ASSERT_EQ(0, parse(file, len, &v, &err));
	EXPECT_EQ((uint32_t)MYR_INIT_FUNCS_MAX, v.hdr->init.count);

	hdr_of(file, len)->init.count = MYR_INIT_FUNCS_MAX + 1;  /* still inside relro */
	fixture_reseal(file, len);
	EXPECT_EQ(-E2BIG, parse(file, len, &v, &err));
	EXPECT_MSG(err, "over the limit");
	free(file);
	free(relro);
}

TEST_HARNESS_MAIN
