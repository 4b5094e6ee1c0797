/* SPDX-License-Identifier: MIT */
/*
 * Every class of malformed module is rejected with its own error.  Each case
 * writes a valid module, breaks one thing, re-seals the checksum (so the
 * field check, not the checksum, is what fails) and checks the error code
 * and the words of the message.
 */
#include "harness.h"
#include "test_module_fixture.h"

struct mod {
	uint8_t *file;
	size_t len;
	struct myr_header *h;
	struct myr_dep *deps, *closure;
	struct myr_import *imports;
	struct myr_export *exports;
	uint32_t *buckets;
	struct myr_reloc *relocs;
	char *strtab;
};

static void mod_open(struct mod *m, const struct myr_module_desc *d)
{
	struct myr_error err = { 0 };
	struct myr_module_view v;

	ASSERT_EQ(0, myr_module_write(d, &m->file, &m->len, &err));
	ASSERT_EQ(0, myr_module_parse(m->file, m->len, 0, &v, &err));
	m->h = (struct myr_header *)v.hdr;
	m->deps = (struct myr_dep *)v.deps;
	m->closure = (struct myr_dep *)v.closure;
	m->imports = (struct myr_import *)v.imports;
	m->exports = (struct myr_export *)v.exports;
	m->buckets = (uint32_t *)v.buckets;
	m->relocs = (struct myr_reloc *)v.relocs;
	m->strtab = (char *)v.strtab;
}

static void open_fixture(struct fixture *f, struct mod *m, int program)
{
	fixture_init(f, program);
	mod_open(m, &f->desc);
}

static void expect_parse(struct mod *m, int code, const char *needle, int line)
{
	struct myr_error err = { 0 };

	fixture_reseal(m->file, m->len);
	int rc = myr_module_parse(m->file, m->len, 0, NULL, &err);
	if (rc != code || !strstr(err.msg, needle))
		TH_LOG("line %d: got %d '%s', want %d '...%s...'", line, rc, err.msg,
		       code, needle);
	EXPECT_EQ(code, rc);
	EXPECT_NE(NULL, strstr(err.msg, needle));
	EXPECT_EQ(code, err.code);
	EXPECT_EQ(NULL, strchr(err.msg, '\n'));
	free(m->file);
}

/* Build the fixture (program or library), run the edit on m, expect code. */
#define REJECT(program, code, needle, ...)                                  \
	do {                                                                \
		struct fixture f_;                                          \
		struct mod m;                                               \
		fixture_init(&f_, program);                                 \
		mod_open(&m, &f_.desc);                                     \
		{ __VA_ARGS__; }                                            \
		expect_parse(&m, code, needle, __LINE__);                   \
	} while (0)

/* A copy of exactly n bytes, so ASan sees any read past the end. */
static uint8_t *exact_copy(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	ASSERT_NONNULL(p);
	memcpy(p, src, n);
	return p;
}

static void truncate_everywhere(const char *shebang)
{
	struct fixture f;
	uint8_t *file;
	size_t len;
	struct myr_error err;

	fixture_init(&f, 1);
	f.desc.shebang = shebang;
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	for (size_t n = 0; n < len; n++) {
		uint8_t *p = exact_copy(file, n);
		size_t off = 0, total = 0;
		int rc = myr_module_probe(p, n, &off, &total, &err);
		/* Probe may succeed on a prefix, but must then ask for more. */
		if (rc == 0)
			EXPECT_GT(total, n);
		else
			EXPECT_EQ(-ENODATA, rc);
		EXPECT_EQ(-EBADMSG, myr_module_parse(p, n, 0, NULL, &err));
		EXPECT_EQ(-EBADMSG, myr_module_parse(p, n, MYR_PARSE_NO_CHECKSUM, NULL, &err));
		free(p);
	}
	uint8_t *p = exact_copy(file, len);
	EXPECT_EQ(0, myr_module_parse(p, len, 0, NULL, &err));
	free(p);
	free(file);
}

TEST(truncated_at_every_byte)
{
	truncate_everywhere(NULL);
	truncate_everywhere("/usr/local/bin/myriad");
}

TEST(trailing_bytes)
{
	REJECT(1, -EBADMSG, "header says", m.len--);
	struct fixture f;
	struct mod m;
	open_fixture(&f, &m, 1);
	uint8_t *longer = calloc(1, m.len + 1);
	memcpy(longer, m.file, m.len);
	free(m.file);
	m.file = longer;
	m.len++;
	expect_parse(&m, -EBADMSG, "header says", __LINE__);
}

TEST(wrong_magic_version_arch)
{
	REJECT(1, -ENOEXEC, "no magic", m.h->magic[1] = 'X');
	REJECT(1, -ENOEXEC, "no magic", m.file[0] = 'E');
	REJECT(1, -EPROTO, "format version 3", m.h->format_version = 3);
	REJECT(1, -EPROTO, "format version 0", m.h->format_version = 0);
	REJECT(1, -EPROTO, "architecture 183", m.h->arch = MYR_ARCH_AARCH64);
	REJECT(1, -EPROTO, "architecture 3 (unknown)", m.h->arch = 3);
}

TEST(probe_needs_more_or_says_no)
{
	struct myr_error err;
	size_t off, total;
	static const uint8_t magic_prefix[8] __attribute__((aligned(8))) = "\x7fMYR";
	static const uint8_t elf[8] __attribute__((aligned(8))) = "\x7f" "ELF";

	EXPECT_EQ(-ENODATA, myr_module_probe(magic_prefix, 4, &off, &total, &err));
	EXPECT_EQ(-ENODATA, myr_module_probe("#!", 2, &off, &total, &err));
	EXPECT_EQ(-ENODATA, myr_module_probe("", 0, &off, &total, &err));
	EXPECT_EQ(-ENOEXEC, myr_module_probe(elf, 4, &off, &total, &err));
	EXPECT_EQ(-ENOEXEC, myr_module_probe("#x", 2, &off, &total, &err));
}

TEST(bad_shebang_lines)
{
	struct myr_error err;
	static uint8_t buf[1024] __attribute__((aligned(8)));

	/* No newline within MYR_SHEBANG_MAX. */
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "#!", 2);
	EXPECT_EQ(-EBADMSG, myr_module_probe(buf, sizeof(buf), NULL, NULL, &err));
	EXPECT_NE(NULL, strstr(err.msg, "longer than 256"));
	EXPECT_EQ(-EBADMSG, myr_module_parse(buf, sizeof(buf), 0, NULL, &err));

	/* A newline that leaves the header misaligned. */
	buf[20] = '\n';
	EXPECT_EQ(-EBADMSG, myr_module_probe(buf, sizeof(buf), NULL, NULL, &err));
	EXPECT_NE(NULL, strstr(err.msg, "multiple of 16"));

	/* Aligned, but not followed by a module. */
	buf[20] = 'x';
	buf[31] = '\n';
	EXPECT_EQ(-ENOEXEC, myr_module_probe(buf, sizeof(buf), NULL, NULL, &err));
}

TEST(file_size_out_of_range)
{
	REJECT(1, -EFBIG, "MYR_FILE_MAX", m.h->file_size = MYR_FILE_MAX + 1);
	REJECT(1, -EFBIG, "MYR_FILE_MAX", m.h->file_size = UINT32_MAX);
	REJECT(1, -EBADMSG, "smaller than the 256-byte header", m.h->file_size = 255);
	REJECT(1, -EBADMSG, "header says", m.h->file_size += 8);
	REJECT(1, -EBADMSG, "header says", m.h->file_size -= 1);
}

TEST(header_fields_out_of_range)
{
	REJECT(1, -EBADMSG, "unknown bits 0x2", m.h->flags |= 2);
	REJECT(1, -EBADMSG, "unknown bits 0x80000000", m.h->flags |= 0x80000000u);
	REJECT(1, -EBADMSG, "has unknown bits 0x20", m.h->caps |= 0x20);
	REJECT(0, -EBADMSG, "on a library", m.h->caps = MYR_CAP_NET);
	REJECT(1, -EBADMSG, "reserved word 7", m.h->reserved[7] = 1);
	REJECT(1, -EBADMSG, "meta_size 255", m.h->meta_size = 255);
	REJECT(1, -EBADMSG, "meta_size", m.h->meta_size = m.h->file_size + 1);
	REJECT(1, -EBADMSG, "module name is empty", m.h->name_len = 0);
}

TEST(metadata_over_its_limit)
{
	struct fixture f;
	struct mod m;
	uint8_t *big = calloc(1, MYR_META_MAX + 16);

	ASSERT_NONNULL(big);
	fixture_init(&f, 1);
	f.desc.compress = 0;
	f.desc.seg[MYR_SEG_RODATA] = (struct myr_desc_segment){ big, MYR_META_MAX + 16, 3 };
	mod_open(&m, &f.desc);
	m.h->meta_size = MYR_META_MAX + 1;
	expect_parse(&m, -E2BIG, "MYR_META_MAX", __LINE__);
	free(big);
}

TEST(checksum_mismatch)
{
	struct fixture f;
	struct mod m;
	struct myr_error err;

	open_fixture(&f, &m, 1);
	m.file[m.len - 1] ^= 1;
	EXPECT_EQ(-EILSEQ, myr_module_parse(m.file, m.len, 0, NULL, &err));
	EXPECT_NE(NULL, strstr(err.msg, "checksum mismatch"));
	EXPECT_EQ(0, myr_module_parse(m.file, m.len, MYR_PARSE_NO_CHECKSUM, NULL, &err));
	m.file[m.len - 1] ^= 1;
	m.h->checksum ^= 1ull << 63;
	EXPECT_EQ(-EILSEQ, myr_module_parse(m.file, m.len, 0, NULL, &err));
	free(m.file);
}

TEST(unaligned_buffer)
{
	struct fixture f;
	struct mod m;
	struct myr_error err;

	open_fixture(&f, &m, 1);
	uint8_t *p = malloc(m.len + 1);
	memcpy(p + 1, m.file, m.len);
	EXPECT_EQ(-EINVAL, myr_module_parse(p + 1, m.len, 0, NULL, &err));
	/* Probe copies the header, so it works anywhere. */
	EXPECT_EQ(0, myr_module_probe(p + 1, m.len, NULL, NULL, &err));
	free(p);
	free(m.file);
}

TEST(tables_misplaced)
{
	REJECT(1, -EBADMSG, "imports table: offset", m.h->imports.off += 4);
	REJECT(1, -EBADMSG, "deps table: bytes 0..", m.h->deps.off = 0);
	REJECT(1, -EBADMSG, "outside the metadata", m.h->relocs.off = (m.h->meta_size + 7) & ~7u);
	REJECT(1, -EBADMSG, "relocs table: bytes", m.h->relocs.count += 100);
	REJECT(1, -EBADMSG, "empty but its offset", m.h->closure.count = 0);
	REJECT(1, -EBADMSG, "overlap", m.h->imports.off = m.h->exports.off);
	REJECT(1, -EBADMSG, "overlap", m.h->exports.off = m.h->deps.off + 8);
	REJECT(1, -EBADMSG, "strings", m.h->strtab_off = m.h->relocs.off + 8);
	REJECT(1, -EBADMSG, "string table: bytes", m.h->strtab_size = m.h->meta_size);
	REJECT(1, -EBADMSG, "string table: bytes", m.h->strtab_off = 8);
}

TEST(counts_over_limits)
{
	REJECT(1, -E2BIG, "deps table: 200001 entries", m.h->deps.count = MYR_DEPS_MAX + 1);
	REJECT(1, -E2BIG, "closure table", m.h->closure.count = MYR_CLOSURE_MAX + 1);
	REJECT(1, -E2BIG, "imports table", m.h->imports.count = MYR_IMPORTS_MAX + 1);
	REJECT(1, -E2BIG, "exports table", m.h->exports.count = MYR_EXPORTS_MAX + 1);
	REJECT(1, -E2BIG, "relocs table", m.h->relocs.count = MYR_RELOCS_MAX + 1);
	REJECT(1, -E2BIG, "init array: 65537", m.h->init.count = MYR_INIT_FUNCS_MAX + 1);
	REJECT(1, -E2BIG, "fini array", m.h->fini.count = UINT32_MAX);
	REJECT(1, -E2BIG, "segment rodata", m.h->seg[MYR_SEG_RODATA].size = MYR_SEGMENT_MAX + 1);
	REJECT(1, -E2BIG, "segment bss", m.h->seg[MYR_SEG_BSS].size = UINT32_MAX);
}

/*
 * Values whose sums or products wrap 32 bits (or 64 bits for counts times
 * entry sizes, were they computed in 32) must be caught, not wrapped into
 * range.
 */
TEST(counts_that_would_overflow)
{
	REJECT(1, -E2BIG, "imports table", m.h->imports.count = UINT32_MAX);
	REJECT(1, -E2BIG, "relocs table", m.h->relocs.count = 0x10000000u);
	REJECT(1, -EBADMSG, "deps table", m.h->deps.off = 0xfffffff8u);
	REJECT(1, -EBADMSG, "buckets", m.h->buckets.count = UINT32_MAX);
	REJECT(1, -EBADMSG, "buckets", m.h->buckets.count = 0x80000000u);
	REJECT(1, -EBADMSG, "string table", m.h->strtab_off = UINT32_MAX);
	REJECT(1, -EBADMSG, "string table", m.h->strtab_size = UINT32_MAX);
	REJECT(1, -EBADMSG, "segment text: stored bytes",
	       m.h->seg[MYR_SEG_TEXT].file_off = 0xfffffff0u);
	REJECT(1, -EBADMSG, "relocation 0: 4-byte site", m.relocs[0].site_off = 0xfffffffeu);
	REJECT(1, -EBADMSG, "init array", m.h->init.off = 0xfffffff8u);
	REJECT(1, -EBADMSG, "runs past the end", m.imports[0].name_off = UINT32_MAX);
	REJECT(1, -EBADMSG, "runs past the end", m.deps[0].name_len = UINT16_MAX);
}

TEST(bad_strings)
{
	REJECT(1, -EBADMSG, "not NUL-terminated", m.h->name_len += 1);
	REJECT(1, -EBADMSG, "contains a NUL", {
		/* Span "sample\0<next string>" up to the NUL ending the next one. */
		char *s = m.strtab + m.h->name_off;
		m.h->name_len = (uint16_t)(strlen(s) + 1 + strlen(s + strlen(s) + 1));
	});
	REJECT(1, -EBADMSG, "invalid module name 's?mple'", m.strtab[m.h->name_off + 1] = ' ');
	REJECT(1, -EBADMSG, "invalid module name '.ample'", m.strtab[m.h->name_off] = '.');
	REJECT(1, -EBADMSG, "reserved for the host module",
	       m.h->name_off = m.deps[2].name_off;
	       m.h->name_len = m.deps[2].name_len);
	REJECT(1, -EBADMSG, "closure entry 1", m.closure[1].name_off = m.deps[2].name_off;
	       m.closure[1].name_len = m.deps[2].name_len);
	REJECT(1, -EBADMSG, "control character", m.strtab[m.imports[1].name_off] = '\t');
	REJECT(1, -EBADMSG, "import 1: empty name", m.imports[1].name_len = 0);
	REJECT(1, -EBADMSG, "stored hash", m.imports[2].hash ^= 1);
}

TEST(bad_dependencies)
{
	REJECT(1, -EBADMSG, "dependency 1 ('libc'): listed twice (also dependency 0)",
	       m.deps[1] = m.deps[0]);
	REJECT(1, -EBADMSG, "depends on itself",
	       m.deps[1].name_off = m.h->name_off; m.deps[1].name_len = m.h->name_len);
	REJECT(1, -EBADMSG, "dependency 0 ('libc'): flags 0x5 has unknown bits 0x4",
	       m.deps[0].flags = 5);
	REJECT(1, -EBADMSG, "dependency 1 ('json'): flags 0x80000000",
	       m.deps[1].flags = 0x80000000u);
	REJECT(1, -EBADMSG, "host module 'myriad' is always present",
	       m.deps[2].flags = MYR_DEP_OPTIONAL);
	REJECT(1, -EBADMSG, "invalid module name", m.deps[0].name_len = 2;
	       m.strtab[m.deps[0].name_off + 2] = '\0'; m.strtab[m.deps[0].name_off] = '-');
}

/*
 * Format 1 modules are refused with one line that says how to fix it;
 * every probe of them says the same (the loader's first read too).
 */
TEST(format_version_1_says_relink)
{
	REJECT(1, -EPROTO, "format version 1, which this Myriad no longer reads "
	       "(it reads version 2): relink the module with this Myriad's "
	       "'myriad link'", m.h->format_version = 1);
	REJECT(0, -EPROTO, "relink", m.h->format_version = 1);

	struct fixture f;
	struct myr_error err = { 0 };
	uint8_t *file;
	size_t len, off, total;
	fixture_init(&f, 0);
	ASSERT_EQ(0, myr_module_write(&f.desc, &file, &len, &err));
	fixture_header(file, len)->format_version = 1;
	EXPECT_EQ(-EPROTO, myr_module_probe(file, 256, &off, &total, &err));
	EXPECT_NE(NULL, strstr(err.msg, "relink"));
	free(file);
}

/* Only a program carries a closure hint; a library's table is empty. */
TEST(library_with_closure_hint)
{
	REJECT(1, -EBADMSG, "closure table: 2 entries in a library",
	       m.h->flags &= ~MYR_F_PROGRAM; m.h->caps = 0;
	       m.h->entry = (struct myr_ref){ .seg = MYR_SEG_NONE });
}

/* An optional dependency may be absent at run time: nothing binds to it. */
TEST(import_bound_to_optional_dependency)
{
	REJECT(1, -EBADMSG, "import 2 ('json_parse'): bound to optional dependency 1 "
	       "('json')", m.deps[1].flags = MYR_DEP_OPTIONAL);
	REJECT(0, -EBADMSG, "bound to optional dependency 0",
	       m.deps[0].flags = MYR_DEP_OPTIONAL);
	REJECT(1, -EBADMSG, "import 1 ('free'): reserved field is 3, not 0",
	       m.imports[1].reserved = 3);
}

/* Past 16 dependencies duplicates are found through a hash table: still
 * every pair, in one pass (a program may have MYR_DEPS_MAX of them). */
TEST(duplicate_among_many_dependencies)
{
	enum { N = 1000 };
	static char names[N][16];
	static struct myr_desc_dep deps[N];
	struct fixture f;
	struct mod m;

	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d", i);
		deps[i] = (struct myr_desc_dep){ .name = names[i], .ver_major = 1 };
	}
	fixture_init(&f, 1);
	f.desc.deps = deps;
	f.desc.ndeps = N;
	mod_open(&m, &f.desc);
	m.deps[999].name_off = m.deps[500].name_off;
	m.deps[999].name_len = m.deps[500].name_len;
	expect_parse(&m, -EBADMSG, "dependency 999 ('d500'): listed twice (also "
		     "dependency 500)", __LINE__);
	mod_open(&m, &f.desc);
	m.deps[17].name_off = m.deps[16].name_off;
	m.deps[17].name_len = m.deps[16].name_len;
	expect_parse(&m, -EBADMSG, "dependency 17 ('d16'): listed twice", __LINE__);
}

TEST(import_bound_to_missing_dependency)
{
	REJECT(1, -EBADMSG,
	       "import 3 ('myr_write'): dependency index 7 out of range (3 dependencies)",
	       m.imports[3].dep = 7);
	REJECT(1, -EBADMSG, "dependency index 3 out of range", m.imports[0].dep = 3);
	/* Format 2's index is 32 bits wide: no truncation to 16. */
	REJECT(1, -EBADMSG, "dependency index 65536 out of range", m.imports[0].dep = 65536);
}

/* Two export names that land in the same bucket of two. */
static void same_bucket_names(char a[8], char b[8])
{
	for (int i = 1;; i++) {
		snprintf(b, 8, "e%d", i);
		uint32_t hb = myr_symbol_hash(b, (uint32_t)strlen(b));
		if ((hb & 1) == (myr_symbol_hash("e0", 2) & 1)) {
			memcpy(a, "e0", 3);
			return;
		}
	}
}

static void two_export_module(struct fixture *f, struct mod *m, char a[8], char b[8])
{
	static struct myr_desc_export ex[2];

	fixture_init(f, 0);
	same_bucket_names(a, b);
	ex[0] = (struct myr_desc_export){ a, MYR_SEG_TEXT, MYR_SYM_FUNC, 0 };
	ex[1] = (struct myr_desc_export){ b, MYR_SEG_TEXT, MYR_SYM_FUNC, 4 };
	f->desc.exports = ex;
	f->desc.nexports = 2;
	mod_open(m, &f->desc);
	ASSERT_EQ(2u, m->h->buckets.count);
	/* Both in one bucket: one bucket is empty. */
	ASSERT_TRUE(m->buckets[1] == 0 || m->buckets[1] == 2);
}

TEST(duplicate_exports)
{
	struct fixture f;
	struct mod m;
	char a[8], b[8];

	two_export_module(&f, &m, a, b);
	m.exports[1].name_off = m.exports[0].name_off;
	m.exports[1].name_len = m.exports[0].name_len;
	m.exports[1].hash = m.exports[0].hash;
	expect_parse(&m, -EBADMSG, "duplicate export", __LINE__);

	two_export_module(&f, &m, a, b);
	struct myr_export t = m.exports[0];
	m.exports[0] = m.exports[1];
	m.exports[1] = t;
	expect_parse(&m, -EBADMSG, "out of order in bucket", __LINE__);
}

TEST(bad_exports)
{
	REJECT(1, -EBADMSG, "segment 5 out of range", m.exports[0].seg = 5);
	REJECT(1, -EBADMSG, "segment 255 out of range", m.exports[0].seg = MYR_SEG_NONE);
	REJECT(1, -EBADMSG, "unknown kind 3", m.exports[0].kind = 3);
	REJECT(1, -EBADMSG, "a function outside text", {
		for (unsigned i = 0; i < 5; i++)
			if (m.exports[i].seg == MYR_SEG_RODATA)
				m.exports[i].kind = MYR_SYM_FUNC;
	});
	REJECT(1, -EBADMSG, "beyond segment text (600 bytes)", {
		for (unsigned i = 0; i < 5; i++)
			if (m.exports[i].seg == MYR_SEG_TEXT)
				m.exports[i].off = 601;
	});
	REJECT(1, -EBADMSG, "stored hash", m.exports[4].hash += 8);
}

TEST(export_offset_at_segment_end_is_fine)
{
	struct fixture f;
	struct mod m;

	fixture_init(&f, 1);
	f.exports[0].off = sizeof(f.text);
	mod_open(&m, &f.desc);
	free(m.file);
}

TEST(bad_buckets)
{
	REJECT(1, -EBADMSG, "not a power of two", m.h->buckets.count = 7);
	REJECT(1, -EBADMSG, "at most twice", m.h->buckets.count = 16);
	REJECT(1, -EBADMSG, "0 exactly when", m.h->buckets.count = 0; m.h->buckets.off = 0);
	REJECT(1, -EBADMSG, "not all 5 exports", m.buckets[0] = 1);
	REJECT(1, -EBADMSG, "not all 5 exports", m.buckets[m.h->buckets.count] = 4);
	REJECT(1, -EBADMSG, "is not increasing", {
		uint32_t nb = m.h->buckets.count;
		for (uint32_t b = 1; b < nb; b++)
			m.buckets[b] = b == 1 ? 5 : 0;
	});
	REJECT(1, -EBADMSG, "selects bucket", {
		/* Shift every range one export up: each lands in a wrong bucket. */
		uint32_t nb = m.h->buckets.count;
		for (uint32_t b = 1; b < nb; b++)
			if (m.buckets[b] < m.buckets[nb])
				m.buckets[b]++;
	});
}

TEST(bad_relocations)
{
	REJECT(1, -EBADMSG, "relocation 1: unknown type 9", m.relocs[1].type = 9);
	REJECT(1, -EBADMSG, "unknown type 0", m.relocs[1].type = 0);
	REJECT(1, -EBADMSG, "reserved field is 1", m.relocs[0].reserved = 1);
	REJECT(1, -EBADMSG, "site segment 4", m.relocs[0].site_seg = MYR_SEG_BSS);
	REJECT(1, -EBADMSG, "site segment 5", m.relocs[0].site_seg = 5);
	REJECT(1, -EBADMSG, "absolute relocation in text", m.relocs[2].site_seg = MYR_SEG_TEXT;
	       m.relocs[2].site_off = 8);
	REJECT(1, -EBADMSG, "absolute relocation in rodata",
	       m.relocs[2].site_seg = MYR_SEG_RODATA);
	/* PC32 at text size - 4 is the last valid site (fixture reloc 1). */
	REJECT(1, -EBADMSG, "4-byte site at text+597", m.relocs[1].site_off = 597);
	REJECT(1, -EBADMSG, "8-byte site at data+33", m.relocs[3].site_off = 33);
	REJECT(1, -EBADMSG, "import index 4 out of range (4 imports)", m.relocs[0].target = 4);
	REJECT(1, -EBADMSG, "target segment 5", m.relocs[1].target_seg = 5);
	/* The fixture's reloc 1 targets rodata+300, the very end: allowed. */
	REJECT(1, -EBADMSG, "target rodata+301", m.relocs[1].target = 301);
}

TEST(bad_segments)
{
	REJECT(1, -EBADMSG, "segment data: reserved", m.h->seg[MYR_SEG_DATA].reserved = 1);
	REJECT(1, -EBADMSG, "alignment 2^13", m.h->seg[MYR_SEG_TEXT].align_log2 = 13);
	REJECT(1, -EBADMSG, "unknown encoding 2", m.h->seg[MYR_SEG_TEXT].encoding = 2);
	REJECT(1, -EBADMSG, "BSS is never stored", m.h->seg[MYR_SEG_BSS].file_size = 4);
	REJECT(1, -EBADMSG, "BSS is never stored",
	       m.h->seg[MYR_SEG_BSS].encoding = MYR_ENC_LZ4);
	REJECT(1, -EBADMSG, "stored raw in 300 bytes but its size is 299",
	       m.h->seg[MYR_SEG_RODATA].size = 299);
	REJECT(1, -EBADMSG, "LZ4 block of 0 bytes", m.h->seg[MYR_SEG_TEXT].file_size = 0);
	REJECT(1, -EBADMSG, "segment relro: empty", {
		/* An empty segment keeps no stored bytes (and nothing may point in). */
		m.h->init.count = m.h->fini.count = 0;
		m.h->init.seg = m.h->fini.seg = MYR_SEG_NONE;
		m.h->init.off = m.h->fini.off = 0;
		m.relocs[2].site_seg = MYR_SEG_DATA;
		m.h->seg[MYR_SEG_RELRO].size = 0;
	});
	REJECT(1, -EBADMSG, "outside the payload area",
	       m.h->seg[MYR_SEG_TEXT].file_off = m.h->meta_size - 1);
	REJECT(1, -EBADMSG, "outside the payload area", m.h->seg[MYR_SEG_DATA].file_off += 1);
	REJECT(1, -EBADMSG, "segment payloads text",
	       m.h->seg[MYR_SEG_RODATA].file_off = m.h->seg[MYR_SEG_TEXT].file_off);
}

TEST(decompression_bomb_declared)
{
	/* An LZ4 segment claiming more than 255x its stored size cannot be valid. */
	REJECT(1, -EBADMSG, "beyond LZ4's maximum expansion", {
		struct myr_segment_desc *t = &m.h->seg[MYR_SEG_TEXT];
		t->size = t->file_size * MYR_LZ4_MAX_RATIO + 1;
	});
	REJECT(1, -EBADMSG, "beyond LZ4's maximum expansion", {
		struct myr_segment_desc *t = &m.h->seg[MYR_SEG_TEXT];
		t->size = MYR_SEGMENT_MAX;
	});
}

static int load_text(struct mod *m, struct myr_error *err)
{
	struct myr_module_view v;

	fixture_reseal(m->file, m->len);
	ASSERT_EQ(0, myr_module_parse(m->file, m->len, 0, &v, err));
	uint8_t *dst = malloc(v.hdr->seg[MYR_SEG_TEXT].size);
	ASSERT_NONNULL(dst);
	int rc = myr_module_segment_load(&v, MYR_SEG_TEXT, dst, err);
	free(dst);
	return rc;
}

TEST(payload_lying_about_its_size)
{
	struct fixture f;
	struct mod m;
	struct myr_error err;

	/* Declared one byte larger than the block decodes to. */
	open_fixture(&f, &m, 1);
	m.h->seg[MYR_SEG_TEXT].size += 1;
	EXPECT_EQ(-EBADMSG, load_text(&m, &err));
	EXPECT_NE(NULL, strstr(err.msg, "decodes to 600 bytes, declared 601"));
	free(m.file);

	/* Declared one byte smaller: the block would overrun the buffer. */
	fixture_init(&f, 1);
	f.exports[1].off = 0;
	f.desc.entry.off = 0;
	mod_open(&m, &f.desc);
	m.h->seg[MYR_SEG_TEXT].size -= 1;
	m.relocs[1].site_off -= 1;
	EXPECT_EQ(-EBADMSG, load_text(&m, &err));
	EXPECT_NE(NULL, strstr(err.msg, "expands beyond the declared 599 bytes"));
	free(m.file);

	/* Garbage instead of an LZ4 block. */
	open_fixture(&f, &m, 1);
	memset(m.file + (m.file - m.file) + ((uint8_t *)m.h - m.file) +
	       m.h->seg[MYR_SEG_TEXT].file_off, 0xff, m.h->seg[MYR_SEG_TEXT].file_size);
	EXPECT_EQ(-EBADMSG, load_text(&m, &err));
	free(m.file);
}

TEST(decompression_bomb_block)
{
	/*
	 * A hand-made LZ4 block: one literal 'A', then a match of offset 1 whose
	 * length is extended by many 255 bytes (about 255 output bytes per input
	 * byte), then the five literals a block must end with.  It decodes to
	 * far more than the module declares.
	 */
	enum { EXT = 200 };
	static uint8_t block[1 + 1 + 2 + 1 + EXT + 1 + 1 + 5];
	size_t n = 0;
	block[n++] = 0x1f;               /* 1 literal, match length 15+ */
	block[n++] = 'A';
	block[n++] = 1;                  /* offset 1 */
	block[n++] = 0;
	memset(block + n, 255, EXT);
	n += EXT;
	block[n++] = 0;                  /* end of length extension */
	block[n++] = 0x50;               /* 5 final literals */
	memcpy(block + n, "AAAAA", 5);
	n += 5;
	uint32_t expands_to = 1 + 4 + 15 + 255 * EXT + 5;

	struct fixture f;
	struct mod m;
	struct myr_error err;
	uint8_t *text = malloc(expands_to);
	ASSERT_NONNULL(text);
	memset(text, 'A', expands_to);

	/* Sanity: with the true size the block is accepted and decodes. */
	fixture_init(&f, 0);
	f.desc.compress = 0;
	f.desc.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ block, (uint32_t)n, 4 };
	f.relocs[1].site_off = 0;
	mod_open(&m, &f.desc);
	m.h->seg[MYR_SEG_TEXT].encoding = MYR_ENC_LZ4;
	m.h->seg[MYR_SEG_TEXT].size = expands_to;
	EXPECT_EQ(0, load_text(&m, &err));
	/* Declared small: decoding stops at the buffer's end. */
	m.h->seg[MYR_SEG_TEXT].size = 600;
	EXPECT_EQ(-EBADMSG, load_text(&m, &err));
	EXPECT_NE(NULL, strstr(err.msg, "expands beyond"));
	free(m.file);
	free(text);
}

TEST(bad_entry)
{
	REJECT(0, -EBADMSG, "a library has an entry point",
	       m.h->entry.seg = MYR_SEG_TEXT);
	REJECT(1, -EBADMSG, "entry point is in segment 255", m.h->entry.seg = MYR_SEG_NONE);
	REJECT(1, -EBADMSG, "entry point is in segment 3", m.h->entry.seg = MYR_SEG_DATA);
	REJECT(1, -EBADMSG, "entry: offset 600 beyond text", m.h->entry.off = 600);
	REJECT(1, -EBADMSG, "entry: reserved", m.h->entry.reserved[2] = 1);
}

TEST(bad_init_fini)
{
	REJECT(1, -EBADMSG, "init array: in segment 3", m.h->init.seg = MYR_SEG_DATA);
	REJECT(1, -EBADMSG, "init array: relro+4", m.h->init.off = 4);
	REJECT(1, -EBADMSG, "fini array: relro+32", m.h->fini.off = 32);
	REJECT(1, -EBADMSG, "init array: relro+0..40", m.h->init.count = 5);
	REJECT(1, -EBADMSG, "fini array: empty but placed", m.h->fini.count = 0);
	REJECT(1, -EBADMSG, "init array: reserved", m.h->init.reserved2 = 1);
	REJECT(1, -EBADMSG, "fini array: reserved", m.h->fini.reserved[0] = 1);
}

TEST(module_names)
{
	static const char *const ok[] = { "a", "Z9", "json", "lib.foo", "c++", "a-b_c",
					  "9lives", "x.myr" };
	static const char *const bad[] = { "", ".", "..", ".hidden", "-x", "_x", "+x",
					   "a b", "a/b", "a\\b", "caf\xc3\xa9", "a\n" };
	char name[MYR_NAME_MAX + 2];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		EXPECT_TRUE(myr_name_valid(ok[i], strlen(ok[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_FALSE(myr_name_valid(bad[i], strlen(bad[i])));
	memset(name, 'n', sizeof(name));
	EXPECT_TRUE(myr_name_valid(name, MYR_NAME_MAX));
	EXPECT_FALSE(myr_name_valid(name, MYR_NAME_MAX + 1));
	EXPECT_FALSE(myr_name_valid(NULL, 0));
}

static char long_symbol[MYR_SYMBOL_MAX + 2];

/* long_symbol as n letters. */
static const char *letters(size_t n)
{
	memset(long_symbol, 'a', n);
	long_symbol[n] = '\0';
	return long_symbol;
}

/* The fixture with export 0 renamed to a MYR_SYMBOL_MAX-byte name. */
static uint32_t open_with_long_export(struct fixture *f, struct mod *m)
{
	fixture_init(f, 1);
	f->exports[0].name = letters(MYR_SYMBOL_MAX);
	mod_open(m, &f->desc);
	for (int i = 0; i < 5; i++)
		if (m->exports[i].name_len == MYR_SYMBOL_MAX)
			return m->exports[i].name_off;
	ASSERT_TRUE(0);
	return 0;
}

TEST(symbol_length_limit)
{
	struct fixture f;
	struct mod m;
	struct myr_error err;
	uint8_t *file;
	size_t len;

	/* MYR_SYMBOL_MAX bytes are written and read back (mod_open parses). */
	uint32_t off = open_with_long_export(&f, &m);
	/* One past: the reader refuses an import that long... */
	m.imports[0].name_off = off;
	m.imports[0].name_len = MYR_SYMBOL_MAX + 1;
	expect_parse(&m, -E2BIG, "over the limit of 1024 (MYR_SYMBOL_MAX)", __LINE__);
	/* ...and the writer an export. */
	f.exports[0].name = letters(MYR_SYMBOL_MAX + 1);
	EXPECT_EQ(-EINVAL, myr_module_write(&f.desc, &file, &len, &err));
	EXPECT_NE(NULL, strstr(err.msg, "MYR_SYMBOL_MAX"));
}

TEST(module_name_length_limit)
{
	struct fixture f;
	struct mod m;
	struct myr_error err;
	uint8_t *file;
	size_t len;

	fixture_init(&f, 1);
	f.desc.name = letters(MYR_NAME_MAX);
	mod_open(&m, &f.desc);
	free(m.file);
	f.desc.name = letters(MYR_NAME_MAX + 1);
	EXPECT_EQ(-EINVAL, myr_module_write(&f.desc, &file, &len, &err));

	/* The reader: the module name pointed at the end of a long string. */
	uint32_t off = open_with_long_export(&f, &m);
	m.h->name_off = off + MYR_SYMBOL_MAX - MYR_NAME_MAX - 1;
	m.h->name_len = MYR_NAME_MAX + 1;
	expect_parse(&m, -EBADMSG, "invalid module name", __LINE__);

	off = open_with_long_export(&f, &m);
	m.h->name_off = off + MYR_SYMBOL_MAX - MYR_NAME_MAX;
	m.h->name_len = MYR_NAME_MAX;
	fixture_reseal(m.file, m.len);
	EXPECT_EQ(0, myr_module_parse(m.file, m.len, 0, NULL, &err));
	free(m.file);
}

TEST(every_message_is_distinct_per_class)
{
	/*
	 * Spot check: different classes never share a message, so a user can
	 * tell what is wrong from the line alone.
	 */
	const char *needles[] = { "no magic", "format version", "architecture",
				  "checksum mismatch", "duplicate export",
				  "dependency index", "beyond LZ4's maximum expansion" };
	for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
		for (size_t j = 0; j < sizeof(needles) / sizeof(needles[0]); j++)
			if (i != j)
				EXPECT_EQ(NULL, strstr(needles[i], needles[j]));
}

TEST_HARNESS_MAIN
