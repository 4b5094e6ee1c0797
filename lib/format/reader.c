/* SPDX-License-Identifier: MIT */
/*
 * The module reader: probe, parse (validate everything), find exports, and
 * decode segments into place.
 *
 * Overflow reasoning: every on-disk quantity is at most 32 bits wide and
 * every end (offset + count * entry size) is computed in 64 bits, where it
 * cannot wrap; it is then compared against a bound that already fits in 32
 * bits.  Nothing is dereferenced before the range holding it has been
 * checked against the file.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include <myriad/module.h>
#include "base/bytes.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	      "on-disk structures are read in place, so the host must be little-endian");
static_assert(MYR_SEGMENT_MAX <= LZ4_MAX_INPUT_SIZE,
	      "any segment size must be a valid LZ4 block size");

#define HDR_SIZE ((uint32_t)sizeof(struct myr_header))

static const char *const segment_names[MYR_SEG_COUNT] = {
	"text", "rodata", "relro", "data", "bss",
};

const char *myr_segment_name(unsigned seg)
{
	return seg < MYR_SEG_COUNT ? segment_names[seg] : "?";
}

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

/*
 * Byte classes, so that each name is checked in one pass of one table
 * lookup per byte (the launcher checks hundreds of thousands of names).
 * NUL, controls, space and DEL are in no class.
 */
#define NC_MOD_FIRST 1u   /* may start a module name: [A-Za-z0-9] */
#define NC_MOD_REST  2u   /* may follow: [A-Za-z0-9._+-] */
#define NC_SYMBOL    4u   /* may be in a symbol name: > ' ', not DEL */

static const uint8_t name_class[256] = {
	/* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* ' ' */  0, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 6, 4, 6, 6, 4,
	/* '0' */  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 4, 4, 4, 4, 4, 4,
	/* '@' */  4, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	/* 'P' */  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 4, 4, 4, 4, 6,
	/* '`' */  4, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	/* 'p' */  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 4, 4, 4, 4, 0,
	/* 0x80 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	/* 0x90 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	/* 0xa0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	/* 0xb0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	/* 0xc0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	/* 0xd0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	/* 0xe0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	/* 0xf0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

/* The classes all len bytes at s share (len may be 0: all of them). */
static inline unsigned name_classes(const uint8_t *s, size_t len)
{
	unsigned acc = NC_MOD_FIRST | NC_MOD_REST | NC_SYMBOL;
	for (size_t i = 0; i < len; i++)
		acc &= name_class[s[i]];
	return acc;
}

int myr_name_valid(const char *name, size_t len)
{
	const uint8_t *s = (const uint8_t *)name;

	return name && len != 0 && len <= MYR_NAME_MAX &&
	       (name_class[s[0]] & NC_MOD_FIRST) &&
	       (name_classes(s + 1, len - 1) & NC_MOD_REST);
}

int myr_symbol_name_valid(const char *name, size_t len)
{
	/* Names end up in error messages: no controls, no spaces. */
	return name && len != 0 && len <= MYR_SYMBOL_MAX &&
	       (name_classes((const uint8_t *)name, len) & NC_SYMBOL);
}

/* ------------------------------------------------------------------ */
/* Probe                                                               */
/* ------------------------------------------------------------------ */

int myr_module_probe(const void *file, size_t avail, size_t *header_off,
		     size_t *total, struct myr_error *err)
{
	const uint8_t *p = file;
	struct myr_header h;
	size_t off = 0;

	if (avail == 0)
		return myr_error_set(err, -ENODATA, "empty: no header");
	if (p[0] == '#') {
		if (avail < 2)
			return myr_error_set(err, -ENODATA, "truncated inside the #! line");
		if (p[1] != '!')
			return myr_error_set(err, -ENOEXEC, "not a Myriad module (no magic)");
		size_t scan = avail < MYR_SHEBANG_MAX ? avail : MYR_SHEBANG_MAX;
		const uint8_t *nl = memchr(p, '\n', scan);
		if (!nl) {
			if (avail < MYR_SHEBANG_MAX)
				return myr_error_set(err, -ENODATA,
						     "truncated inside the #! line");
			return myr_error_set(err, -EBADMSG,
					     "#! line longer than %u bytes (MYR_SHEBANG_MAX)",
					     MYR_SHEBANG_MAX);
		}
		off = (size_t)(nl - p) + 1;
		if (off % MYR_SHEBANG_ALIGN)
			return myr_error_set(err, -EBADMSG,
					     "#! line is %zu bytes; it must be padded to a "
					     "multiple of %u so the header is aligned",
					     off, MYR_SHEBANG_ALIGN);
	}

	size_t have = avail - off;
	if (have < MYR_MAGIC_SIZE ? memcmp(p + off, MYR_MAGIC, have) != 0 :
	    !bytes_equal(p + off, MYR_MAGIC, MYR_MAGIC_SIZE))
		return myr_error_set(err, -ENOEXEC, "not a Myriad module (no magic)");
	if (have < HDR_SIZE)
		return myr_error_set(err, -ENODATA,
				     "truncated header: %zu of %u bytes", have, HDR_SIZE);
	/* Copies of the fields read here, so probing works on any alignment. */
	memcpy(&h.format_version, p + off + offsetof(struct myr_header, format_version),
	       sizeof(h.format_version));
	memcpy(&h.arch, p + off + offsetof(struct myr_header, arch), sizeof(h.arch));
	memcpy(&h.file_size, p + off + offsetof(struct myr_header, file_size),
	       sizeof(h.file_size));

	if (h.format_version == 1)
		return myr_error_set(err, -EPROTO,
				     "format version 1, which this Myriad no longer reads "
				     "(it reads version %u): relink the module with this "
				     "Myriad's 'myriad link'", MYR_FORMAT_VERSION);
	if (h.format_version != MYR_FORMAT_VERSION)
		return myr_error_set(err, -EPROTO,
				     "format version %u; this Myriad reads version %u",
				     h.format_version, MYR_FORMAT_VERSION);
#ifdef MYR_ARCH_HOST
	if (h.arch != MYR_ARCH_HOST)
		return myr_error_set(err, -EPROTO,
				     "architecture %u (%s); this Myriad runs %s (%u)",
				     h.arch,
				     h.arch == MYR_ARCH_X86_64 ? "x86_64" :
				     h.arch == MYR_ARCH_AARCH64 ? "aarch64" : "unknown",
				     MYR_ARCH_HOST == MYR_ARCH_X86_64 ? "x86_64" : "aarch64",
				     MYR_ARCH_HOST);
#else
#error "unsupported host architecture"
#endif
	if (h.file_size < HDR_SIZE)
		return myr_error_set(err, -EBADMSG,
				     "file_size %u is smaller than the %u-byte header",
				     h.file_size, HDR_SIZE);
	if ((uint64_t)off + h.file_size > MYR_FILE_MAX)
		return myr_error_set(err, -EFBIG,
				     "module is %llu bytes, over the limit of %u (MYR_FILE_MAX)",
				     (unsigned long long)off + h.file_size, MYR_FILE_MAX);
	if (header_off)
		*header_off = off;
	if (total)
		*total = off + h.file_size;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parse                                                               */
/* ------------------------------------------------------------------ */

struct parser {
	const uint8_t *base;
	const struct myr_header *h;
	const char *strtab;
	struct myr_error *err;
};

struct region {
	uint64_t start, end;
	const char *what;
};

static const char *const table_names[] = {
	"deps", "closure", "imports", "exports", "buckets", "relocs",
};

/* Inlined, as check_no_overlap() is: six calls a module, each with its
 * constants, cost more as calls than the checks themselves. */
static inline __attribute__((always_inline)) int
check_table(const struct myr_header *h, unsigned idx, const struct myr_table *t,
	    uint64_t entsize, uint64_t nentries, uint32_t limit, struct region *r,
	    struct myr_error *err)
{
	const char *name = table_names[idx];

	if (t->count > limit)
		return myr_error_set(err, -E2BIG,
				     "%s table: %u entries, over the limit of %u",
				     name, t->count, limit);
	r->what = name;
	if (nentries == 0) {
		if (t->off != 0)
			return myr_error_set(err, -EBADMSG,
					     "%s table: empty but its offset is %u, not 0",
					     name, t->off);
		r->start = r->end = 0;
		return 0;
	}
	if (t->off % MYR_TABLE_ALIGN)
		return myr_error_set(err, -EBADMSG,
				     "%s table: offset %u is not %u-aligned",
				     name, t->off, MYR_TABLE_ALIGN);
	r->start = t->off;
	r->end = (uint64_t)t->off + nentries * entsize;
	if (r->start < HDR_SIZE || r->end > h->meta_size)
		return myr_error_set(err, -EBADMSG,
				     "%s table: bytes %llu..%llu outside the metadata "
				     "(%u..%u)", name, (unsigned long long)r->start,
				     (unsigned long long)r->end, HDR_SIZE, h->meta_size);
	return 0;
}

/* Sort a handful of regions by start (insertion sort, n <= 7). */
static void sort_regions(struct region *r, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct region x = r[i];
		unsigned j = i;
		for (; j > 0 && r[j - 1].start > x.start; j--)
			r[j] = r[j - 1];
		r[j] = x;
	}
}

static inline __attribute__((always_inline)) int
check_no_overlap(struct region *r, unsigned n, const char *kind,
		 struct myr_error *err)
{
	sort_regions(r, n);
	for (unsigned i = 1; i < n; i++)
		if (r[i].start < r[i - 1].end)
			return myr_error_set(err, -EBADMSG,
					     "%s %s (%llu..%llu) and %s (%llu..%llu) overlap",
					     kind, r[i - 1].what,
					     (unsigned long long)r[i - 1].start,
					     (unsigned long long)r[i - 1].end, r[i].what,
					     (unsigned long long)r[i].start,
					     (unsigned long long)r[i].end);
	return 0;
}

/* For messages: hostile bytes must not reach a terminal. */
static void printable_copy(char *out, size_t outsz, const char *s, size_t len)
{
	size_t n = len < outsz - 1 ? len : outsz - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		out[i] = c > ' ' && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
}

/*
 * A name is (off, len) in the string table, must be followed by a NUL and
 * contain none, so that it is also a valid C string of exactly len bytes.
 */
static int check_string(const struct parser *ps, uint32_t off, uint32_t len,
			const char *what, uint32_t index)
{
	uint32_t size = ps->h->strtab_size;

	if ((uint64_t)off + len >= size)
		return myr_error_set(ps->err, -EBADMSG,
				     "%s %u: name at %u, %u bytes, runs past the end of "
				     "the string table (%u bytes)", what, index, off, len, size);
	if (ps->strtab[off + len] != '\0')
		return myr_error_set(ps->err, -EBADMSG,
				     "%s %u: name at %u is not NUL-terminated after %u bytes",
				     what, index, off, len);
	if (memchr(ps->strtab + off, '\0', len))
		return myr_error_set(ps->err, -EBADMSG,
				     "%s %u: name at %u contains a NUL byte within its %u bytes",
				     what, index, off, len);
	return 0;
}

/* Out of line: its message buffers would otherwise give the fast path a
 * stack frame and a stack protector. */
__attribute__((noinline, cold))
static int check_module_name_slow(const struct parser *ps, uint32_t off,
				  uint32_t len, const char *what, uint32_t index,
				  int host_allowed)
{
	int rc = check_string(ps, off, len, what, index);
	if (rc)
		return rc;
	const char *name = ps->strtab + off;
	if (!myr_name_valid(name, len)) {
		char shown[MYR_NAME_MAX + 1];
		printable_copy(shown, sizeof(shown), name, len);
		return myr_error_set(ps->err, -EBADMSG,
				     "%s %u: invalid module name '%s%s' (1 to %u characters, "
				     "[A-Za-z0-9] then [A-Za-z0-9._+-])", what, index,
				     shown, len >= sizeof(shown) ? "..." : "", MYR_NAME_MAX);
	}
	if (!host_allowed && strcmp(name, MYR_HOST_MODULE_NAME) == 0)
		return myr_error_set(ps->err, -EBADMSG,
				     "%s %u: the name '%s' is reserved for the host module",
				     what, index, MYR_HOST_MODULE_NAME);
	return 0;
}

/*
 * The same verdict as check_module_name_slow() in one pass over the name;
 * the slow path runs only to word the error.  A module name has no NUL
 * (no class holds it), so a valid one is followed by exactly one.
 */
static int check_module_name(const struct parser *ps, uint32_t off, uint32_t len,
			     const char *what, uint32_t index, int host_allowed)
{
	if (len != 0 && len <= MYR_NAME_MAX &&
	    (uint64_t)off + len < ps->h->strtab_size) {
		const uint8_t *s = (const uint8_t *)ps->strtab + off;
		if (s[len] == '\0' && (name_class[s[0]] & NC_MOD_FIRST) &&
		    (name_classes(s + 1, len - 1) & NC_MOD_REST) &&
		    (host_allowed || len != sizeof(MYR_HOST_MODULE_NAME) - 1 ||
		     !bytes_equal(s, MYR_HOST_MODULE_NAME, len)))
			return 0;
	}
	return check_module_name_slow(ps, off, len, what, index, host_allowed);
}

__attribute__((noinline, cold))
static int check_symbol_name_slow(const struct parser *ps, uint32_t off,
				  uint32_t len, uint32_t hash, const char *what,
				  uint32_t index)
{
	if (len == 0)
		return myr_error_set(ps->err, -EBADMSG, "%s %u: empty name", what, index);
	if (len > MYR_SYMBOL_MAX)
		return myr_error_set(ps->err, -E2BIG,
				     "%s %u: name is %u bytes, over the limit of %u "
				     "(MYR_SYMBOL_MAX)", what, index, len, MYR_SYMBOL_MAX);
	int rc = check_string(ps, off, len, what, index);
	if (rc)
		return rc;
	const char *name = ps->strtab + off;
	if (!myr_symbol_name_valid(name, len))
		return myr_error_set(ps->err, -EBADMSG,
				     "%s %u: name contains a control character or a space",
				     what, index);
	uint32_t want = myr_symbol_hash(name, len);
	if (hash != want)
		return myr_error_set(ps->err, -EBADMSG,
				     "%s %u ('%s'): stored hash 0x%08x, the name hashes to 0x%08x",
				     what, index, name, hash, want);
	return 0;
}

/* The same verdict as check_symbol_name_slow() in one pass that also
 * hashes; the slow path runs only to word the error. */
static int check_symbol_name(const struct parser *ps, uint32_t off, uint32_t len,
			     uint32_t hash, const char *what, uint32_t index)
{
	if (len != 0 && len <= MYR_SYMBOL_MAX &&
	    (uint64_t)off + len < ps->h->strtab_size) {
		const uint8_t *s = (const uint8_t *)ps->strtab + off;
		unsigned acc = NC_SYMBOL;
		uint32_t h = 2166136261u;
#pragma GCC unroll 4
		for (uint32_t i = 0; i < len; i++) {
			acc &= name_class[s[i]];
			h = (h ^ s[i]) * 16777619u;
		}
		/* h is myr_symbol_hash(), computed in the same pass. */
		if (s[len] == '\0' && (acc & NC_SYMBOL) && h == hash)
			return 0;
	}
	return check_symbol_name_slow(ps, off, len, hash, what, index);
}

static int check_segments(const struct parser *ps)
{
	const struct myr_header *h = ps->h;
	struct region payload[MYR_SEG_COUNT];
	unsigned npayload = 0;

	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		const struct myr_segment_desc *d = &h->seg[s];
		const char *sn = segment_names[s];

		if (d->reserved)
			return myr_error_set(ps->err, -EBADMSG,
					     "segment %s: reserved field is %u, not 0", sn, d->reserved);
		if (d->align_log2 > MYR_ALIGN_LOG2_MAX)
			return myr_error_set(ps->err, -EBADMSG,
					     "segment %s: alignment 2^%u over the limit of 2^%u",
					     sn, d->align_log2, MYR_ALIGN_LOG2_MAX);
		if (d->size > MYR_SEGMENT_MAX)
			return myr_error_set(ps->err, -E2BIG,
					     "segment %s: %u bytes, over the limit of %u "
					     "(MYR_SEGMENT_MAX)", sn, d->size, MYR_SEGMENT_MAX);
		if (d->encoding != MYR_ENC_RAW && d->encoding != MYR_ENC_LZ4)
			return myr_error_set(ps->err, -EBADMSG,
					     "segment %s: unknown encoding %u", sn, d->encoding);
		if (s == MYR_SEG_BSS || d->size == 0) {
			if (d->file_off || d->file_size || d->encoding != MYR_ENC_RAW)
				return myr_error_set(ps->err, -EBADMSG,
						     "segment %s: %s, but has stored bytes "
						     "(offset %u, %u bytes, encoding %u)", sn,
						     s == MYR_SEG_BSS ? "BSS is never stored" : "empty",
						     d->file_off, d->file_size, d->encoding);
			continue;
		}
		if (d->encoding == MYR_ENC_RAW && d->file_size != d->size)
			return myr_error_set(ps->err, -EBADMSG,
					     "segment %s: stored raw in %u bytes but its size is %u",
					     sn, d->file_size, d->size);
		if (d->encoding == MYR_ENC_LZ4) {
			if (d->file_size == 0)
				return myr_error_set(ps->err, -EBADMSG,
						     "segment %s: LZ4 block of 0 bytes for %u bytes",
						     sn, d->size);
			if (d->size > (uint64_t)d->file_size * MYR_LZ4_MAX_RATIO)
				return myr_error_set(ps->err, -EBADMSG,
						     "segment %s: claims %u bytes from a %u-byte LZ4 "
						     "block, beyond LZ4's maximum expansion (%ux)",
						     sn, d->size, d->file_size, MYR_LZ4_MAX_RATIO);
		}
		uint64_t end = (uint64_t)d->file_off + d->file_size;
		if (d->file_off < h->meta_size || end > h->file_size)
			return myr_error_set(ps->err, -EBADMSG,
					     "segment %s: stored bytes %u..%llu outside the payload "
					     "area (%u..%u)", sn, d->file_off,
					     (unsigned long long)end, h->meta_size, h->file_size);
		payload[npayload++] = (struct region){ d->file_off, end, sn };
	}
	return check_no_overlap(payload, npayload, "segment payloads", ps->err);
}

static int check_tables(const struct parser *ps)
{
	const struct myr_header *h = ps->h;
	struct region r[7];
	int rc;

	if (h->closure.count && !(h->flags & MYR_F_PROGRAM))
		return myr_error_set(ps->err, -EBADMSG,
				     "closure table: %u entries in a library (only a "
				     "program carries a closure hint)", h->closure.count);
	if ((rc = check_table(h, 0, &h->deps, sizeof(struct myr_dep), h->deps.count,
			      MYR_DEPS_MAX, &r[0], ps->err)) ||
	    (rc = check_table(h, 1, &h->closure, sizeof(struct myr_dep), h->closure.count,
			      MYR_CLOSURE_MAX, &r[1], ps->err)) ||
	    (rc = check_table(h, 2, &h->imports, sizeof(struct myr_import),
			      h->imports.count, MYR_IMPORTS_MAX, &r[2], ps->err)) ||
	    (rc = check_table(h, 3, &h->exports, sizeof(struct myr_export),
			      h->exports.count, MYR_EXPORTS_MAX, &r[3], ps->err)))
		return rc;

	/* The bucket array has count + 1 entries, none when there are no buckets. */
	if (h->buckets.count > 2 * (uint64_t)h->exports.count)
		return myr_error_set(ps->err, -EBADMSG,
				     "buckets table: %u buckets for %u exports (at most "
				     "twice the exports)", h->buckets.count, h->exports.count);
	if ((h->buckets.count == 0) != (h->exports.count == 0))
		return myr_error_set(ps->err, -EBADMSG,
				     "buckets table: %u buckets for %u exports (0 exactly "
				     "when there are no exports)", h->buckets.count,
				     h->exports.count);
	if (h->buckets.count & (h->buckets.count - 1))
		return myr_error_set(ps->err, -EBADMSG,
				     "buckets table: %u buckets is not a power of two",
				     h->buckets.count);
	if ((rc = check_table(h, 4, &h->buckets, sizeof(uint32_t),
			      h->buckets.count ? (uint64_t)h->buckets.count + 1 : 0,
			      UINT32_MAX, &r[4], ps->err)) ||
	    (rc = check_table(h, 5, &h->relocs, sizeof(struct myr_reloc), h->relocs.count,
			      MYR_RELOCS_MAX, &r[5], ps->err)))
		return rc;

	uint64_t strtab_end = (uint64_t)h->strtab_off + h->strtab_size;
	if (h->strtab_off < HDR_SIZE || strtab_end > h->meta_size)
		return myr_error_set(ps->err, -EBADMSG,
				     "string table: bytes %u..%llu outside the metadata (%u..%u)",
				     h->strtab_off, (unsigned long long)strtab_end,
				     HDR_SIZE, h->meta_size);
	r[6] = (struct region){ h->strtab_off, strtab_end, "strings" };

	/* Empty tables occupy nothing and cannot overlap. */
	unsigned n = 0;
	for (unsigned i = 0; i < 7; i++)
		if (r[i].end > r[i].start)
			r[n++] = r[i];
	return check_no_overlap(r, n, "tables", ps->err);
}

/*
 * Whether two of n dependencies share a name: *first and *second get the
 * lower and higher index.  Linear in n: an open-addressing table of
 * indices, hashed by name (a program may have MYR_DEPS_MAX dependencies,
 * whose pairs would be far too many to compare).  A handful are compared
 * pairwise without allocating.  0 (none), 1 (found) or -ENOMEM.
 */
static int find_duplicate_dep(const struct parser *ps, const struct myr_dep *deps,
			      uint32_t n, uint32_t *first, uint32_t *second)
{
	if (n <= 16) {
		for (uint32_t i = 1; i < n; i++)
			for (uint32_t j = 0; j < i; j++)
				if (deps[j].name_len == deps[i].name_len &&
				    bytes_equal(ps->strtab + deps[j].name_off,
						ps->strtab + deps[i].name_off,
						deps[i].name_len)) {
					*first = j;
					*second = i;
					return 1;
				}
		return 0;
	}
	uint32_t cap = 32;
	while (cap < 2 * n)
		cap *= 2;
	uint32_t *slot = malloc((size_t)cap * sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	memset(slot, 0xff, (size_t)cap * sizeof(*slot));
	int found = 0;
	for (uint32_t i = 0; i < n && !found; i++) {
		const char *name = ps->strtab + deps[i].name_off;
		uint32_t k = myr_symbol_hash(name, deps[i].name_len) & (cap - 1);
		for (; slot[k] != UINT32_MAX; k = (k + 1) & (cap - 1)) {
			const struct myr_dep *o = &deps[slot[k]];
			if (o->name_len == deps[i].name_len &&
			    bytes_equal(ps->strtab + o->name_off, name, o->name_len)) {
				*first = slot[k];
				*second = i;
				found = 1;
				break;
			}
		}
		slot[k] = i;
	}
	free(slot);
	return found;
}

static int check_deps(const struct parser *ps, const struct myr_dep *deps)
{
	const struct myr_header *h = ps->h;
	const char *self = ps->strtab + h->name_off;

	for (uint32_t i = 0; i < h->deps.count; i++) {
		const struct myr_dep *d = &deps[i];
		int rc = check_module_name(ps, d->name_off, d->name_len, "dependency", i, 1);
		if (rc)
			return rc;
		const char *name = ps->strtab + d->name_off;
		if (d->flags & ~MYR_DEP_KNOWN)
			return myr_error_set(ps->err, -EBADMSG,
					     "dependency %u ('%s'): flags 0x%x has unknown bits 0x%x",
					     i, name, d->flags, d->flags & ~MYR_DEP_KNOWN);
		if ((d->flags & MYR_DEP_OPTIONAL) &&
		    d->name_len == sizeof(MYR_HOST_MODULE_NAME) - 1 &&
		    bytes_equal(name, MYR_HOST_MODULE_NAME, d->name_len))
			return myr_error_set(ps->err, -EBADMSG,
					     "dependency %u: the host module '%s' is always present "
					     "and cannot be optional", i, name);
		if (d->name_len == h->name_len && bytes_equal(name, self, d->name_len))
			return myr_error_set(ps->err, -EBADMSG,
					     "dependency %u: the module depends on itself ('%s')",
					     i, name);
	}
	uint32_t first, second;
	int dup = find_duplicate_dep(ps, deps, h->deps.count, &first, &second);
	if (dup < 0)
		return myr_error_set(ps->err, dup, "out of memory checking %u dependencies",
				     h->deps.count);
	if (dup)
		return myr_error_set(ps->err, -EBADMSG,
				     "dependency %u ('%s'): listed twice (also dependency %u)",
				     second, ps->strtab + deps[second].name_off, first);
	return 0;
}

static int check_closure(const struct parser *ps, const struct myr_dep *closure)
{
	/*
	 * The closure is only a prefetch hint: the launcher verifies what it
	 * loads against the dependencies, so duplicates here are harmless and
	 * not searched for.  The names must still be valid file names.
	 */
	for (uint32_t i = 0; i < ps->h->closure.count; i++) {
		int rc = check_module_name(ps, closure[i].name_off, closure[i].name_len,
					   "closure entry", i, 0);
		if (rc)
			return rc;
	}
	return 0;
}

static int check_imports(const struct parser *ps, const struct myr_dep *deps,
			 const struct myr_import *imports)
{
	const struct myr_header *h = ps->h;

	for (uint32_t i = 0; i < h->imports.count; i++) {
		const struct myr_import *im = &imports[i];
		int rc = check_symbol_name(ps, im->name_off, im->name_len, im->hash,
					   "import", i);
		if (rc)
			return rc;
		if (im->reserved)
			return myr_error_set(ps->err, -EBADMSG,
					     "import %u ('%s'): reserved field is %u, not 0",
					     i, ps->strtab + im->name_off, im->reserved);
		if (im->dep >= h->deps.count)
			return myr_error_set(ps->err, -EBADMSG,
					     "import %u ('%s'): dependency index %u out of range "
					     "(%u dependencies)", i, ps->strtab + im->name_off,
					     im->dep, h->deps.count);
		if (deps[im->dep].flags & MYR_DEP_OPTIONAL)
			return myr_error_set(ps->err, -EBADMSG,
					     "import %u ('%s'): bound to optional dependency %u "
					     "('%s'), which may be absent (nothing is imported "
					     "from an optional dependency)", i,
					     ps->strtab + im->name_off, im->dep,
					     ps->strtab + deps[im->dep].name_off);
	}
	return 0;
}

static int check_exports(const struct parser *ps, const struct myr_export *exports,
			 const uint32_t *buckets)
{
	const struct myr_header *h = ps->h;
	uint32_t nb = h->buckets.count;

	for (uint32_t i = 0; i < h->exports.count; i++) {
		const struct myr_export *e = &exports[i];
		int rc = check_symbol_name(ps, e->name_off, e->name_len, e->hash,
					   "export", i);
		if (rc)
			return rc;
		const char *name = ps->strtab + e->name_off;
		if (e->seg >= MYR_SEG_COUNT)
			return myr_error_set(ps->err, -EBADMSG,
					     "export %u ('%s'): segment %u out of range",
					     i, name, e->seg);
		if (e->kind != MYR_SYM_FUNC && e->kind != MYR_SYM_OBJECT)
			return myr_error_set(ps->err, -EBADMSG,
					     "export %u ('%s'): unknown kind %u", i, name, e->kind);
		if (e->kind == MYR_SYM_FUNC && e->seg != MYR_SEG_TEXT)
			return myr_error_set(ps->err, -EBADMSG,
					     "export %u ('%s'): a function outside text (in %s)",
					     i, name, segment_names[e->seg]);
		if (e->off > h->seg[e->seg].size)
			return myr_error_set(ps->err, -EBADMSG,
					     "export %u ('%s'): offset %u beyond segment %s (%u bytes)",
					     i, name, e->off, segment_names[e->seg],
					     h->seg[e->seg].size);
	}
	if (nb == 0)
		return 0;

	if (buckets[0] != 0 || buckets[nb] != h->exports.count)
		return myr_error_set(ps->err, -EBADMSG,
				     "buckets cover exports %u..%u, not all %u exports",
				     buckets[0], buckets[nb], h->exports.count);
	for (uint32_t b = 0; b < nb; b++)
		if (buckets[b + 1] < buckets[b] || buckets[b + 1] > h->exports.count)
			return myr_error_set(ps->err, -EBADMSG,
					     "bucket %u: range %u..%u is not increasing or "
					     "exceeds %u exports", b, buckets[b], buckets[b + 1],
					     h->exports.count);
	for (uint32_t b = 0; b < nb; b++) {
		uint32_t lo = buckets[b], hi = buckets[b + 1];
		for (uint32_t i = lo; i < hi; i++) {
			const struct myr_export *e = &exports[i];
			if ((e->hash & (nb - 1)) != b)
				return myr_error_set(ps->err, -EBADMSG,
						     "export %u ('%s'): in bucket %u but its hash "
						     "selects bucket %u", i, ps->strtab + e->name_off,
						     b, e->hash & (nb - 1));
			if (i == lo)
				continue;
			const struct myr_export *prev = &exports[i - 1];
			int c = myr_symbol_key_cmp(prev->hash, ps->strtab + prev->name_off,
						   prev->name_len, e->hash,
						   ps->strtab + e->name_off, e->name_len);
			if (c == 0)
				return myr_error_set(ps->err, -EBADMSG,
						     "duplicate export '%s' (exports %u and %u)",
						     ps->strtab + e->name_off, i - 1, i);
			if (c > 0)
				return myr_error_set(ps->err, -EBADMSG,
						     "exports %u and %u out of order in bucket %u",
						     i - 1, i, b);
		}
	}
	return 0;
}

static int check_relocs(const struct parser *ps, const struct myr_reloc *relocs)
{
	const struct myr_header *h = ps->h;

	for (uint32_t i = 0; i < h->relocs.count; i++) {
		const struct myr_reloc *r = &relocs[i];
		unsigned width;

		if (r->type == MYR_REL_PC32)
			width = 4;
		else if (r->type == MYR_REL_ABS64)
			width = 8;
		else
			return myr_error_set(ps->err, -EBADMSG,
					     "relocation %u: unknown type %u", i, r->type);
		if (r->reserved)
			return myr_error_set(ps->err, -EBADMSG,
					     "relocation %u: reserved field is %u, not 0",
					     i, r->reserved);
		if (r->site_seg >= MYR_SEG_COUNT || r->site_seg == MYR_SEG_BSS)
			return myr_error_set(ps->err, -EBADMSG,
					     "relocation %u: site segment %u is not text, rodata, "
					     "relro or data", i, r->site_seg);
		if (r->type == MYR_REL_ABS64 && r->site_seg != MYR_SEG_RELRO &&
		    r->site_seg != MYR_SEG_DATA)
			return myr_error_set(ps->err, -EBADMSG,
					     "relocation %u: absolute relocation in %s (only relro "
					     "and data may hold absolute addresses)",
					     i, segment_names[r->site_seg]);
		if ((uint64_t)r->site_off + width > h->seg[r->site_seg].size)
			return myr_error_set(ps->err, -EBADMSG,
					     "relocation %u: %u-byte site at %s+%u beyond the "
					     "segment (%u bytes)", i, width,
					     segment_names[r->site_seg], r->site_off,
					     h->seg[r->site_seg].size);
		if (r->target_seg == MYR_TARGET_IMPORT) {
			if (r->target >= h->imports.count)
				return myr_error_set(ps->err, -EBADMSG,
						     "relocation %u: import index %u out of range "
						     "(%u imports)", i, r->target, h->imports.count);
		} else if (r->target_seg >= MYR_SEG_COUNT) {
			return myr_error_set(ps->err, -EBADMSG,
					     "relocation %u: target segment %u out of range",
					     i, r->target_seg);
		} else if (r->target > h->seg[r->target_seg].size) {
			return myr_error_set(ps->err, -EBADMSG,
					     "relocation %u: target %s+%u beyond the segment "
					     "(%u bytes)", i, segment_names[r->target_seg],
					     r->target, h->seg[r->target_seg].size);
		}
	}
	return 0;
}

static int check_ref_reserved(const uint8_t reserved[3])
{
	return reserved[0] | reserved[1] | reserved[2];
}

static int check_array(const struct parser *ps, const struct myr_array_ref *a,
		       const char *what)
{
	const struct myr_header *h = ps->h;

	if (check_ref_reserved(a->reserved) || a->reserved2)
		return myr_error_set(ps->err, -EBADMSG, "%s array: reserved fields not 0", what);
	if (a->count > MYR_INIT_FUNCS_MAX)
		return myr_error_set(ps->err, -E2BIG,
				     "%s array: %u functions, over the limit of %u",
				     what, a->count, MYR_INIT_FUNCS_MAX);
	if (a->count == 0) {
		if (a->seg != MYR_SEG_NONE || a->off)
			return myr_error_set(ps->err, -EBADMSG,
					     "%s array: empty but placed at segment %u offset %u",
					     what, a->seg, a->off);
		return 0;
	}
	if (a->seg != MYR_SEG_RELRO)
		return myr_error_set(ps->err, -EBADMSG,
				     "%s array: in segment %u, not relro", what, a->seg);
	uint64_t end = (uint64_t)a->off + (uint64_t)a->count * 8;
	if (a->off % 8 || end > h->seg[MYR_SEG_RELRO].size)
		return myr_error_set(ps->err, -EBADMSG,
				     "%s array: relro+%u..%llu is misaligned or beyond relro "
				     "(%u bytes)", what, a->off, (unsigned long long)end,
				     h->seg[MYR_SEG_RELRO].size);
	return 0;
}

static int check_entry(const struct parser *ps)
{
	const struct myr_header *h = ps->h;
	const struct myr_ref *e = &h->entry;

	if (check_ref_reserved(e->reserved))
		return myr_error_set(ps->err, -EBADMSG, "entry: reserved bytes not 0");
	if (!(h->flags & MYR_F_PROGRAM)) {
		if (e->seg != MYR_SEG_NONE || e->off)
			return myr_error_set(ps->err, -EBADMSG,
					     "entry: a library has an entry point (segment %u)",
					     e->seg);
		return 0;
	}
	if (e->seg != MYR_SEG_TEXT)
		return myr_error_set(ps->err, -EBADMSG,
				     "entry: a program's entry point is in segment %u, not text",
				     e->seg);
	if (e->off >= h->seg[MYR_SEG_TEXT].size)
		return myr_error_set(ps->err, -EBADMSG,
				     "entry: offset %u beyond text (%u bytes)",
				     e->off, h->seg[MYR_SEG_TEXT].size);
	return 0;
}

static int check_header_fields(const struct parser *ps)
{
	const struct myr_header *h = ps->h;

	if (h->flags & ~MYR_F_KNOWN)
		return myr_error_set(ps->err, -EBADMSG,
				     "flags 0x%x has unknown bits 0x%x", h->flags,
				     h->flags & ~MYR_F_KNOWN);
	if (h->caps & ~MYR_CAP_KNOWN)
		return myr_error_set(ps->err, -EBADMSG,
				     "capabilities 0x%x has unknown bits 0x%x", h->caps,
				     h->caps & ~MYR_CAP_KNOWN);
	if (h->caps && !(h->flags & MYR_F_PROGRAM))
		return myr_error_set(ps->err, -EBADMSG,
				     "capabilities 0x%x on a library (only programs ask for them)",
				     h->caps);
	for (unsigned i = 0; i < sizeof(h->reserved) / sizeof(h->reserved[0]); i++)
		if (h->reserved[i])
			return myr_error_set(ps->err, -EBADMSG,
					     "header reserved word %u is 0x%x, not 0",
					     i, h->reserved[i]);
	if (h->meta_size < HDR_SIZE || h->meta_size > h->file_size)
		return myr_error_set(ps->err, -EBADMSG,
				     "meta_size %u outside %u..%u (header to file_size)",
				     h->meta_size, HDR_SIZE, h->file_size);
	if (h->meta_size > MYR_META_MAX)
		return myr_error_set(ps->err, -E2BIG,
				     "metadata is %u bytes, over the limit of %u (MYR_META_MAX)",
				     h->meta_size, MYR_META_MAX);
	return 0;
}

int myr_module_parse(const void *file, size_t len, unsigned flags,
		     struct myr_module_view *view, struct myr_error *err)
{
	size_t header_off, total;
	int rc;

	if ((uintptr_t)file % 8)
		return myr_error_set(err, -EINVAL, "module buffer is not 8-aligned");
	rc = myr_module_probe(file, len, &header_off, &total, err);
	if (rc == -ENODATA)
		return myr_error_set(err, -EBADMSG,
				     "truncated: the file is %zu bytes, too short for a header",
				     len);
	if (rc)
		return rc;
	if (len != total)
		return myr_error_set(err, -EBADMSG,
				     "the file is %zu bytes but its header says %zu%s",
				     len, total, len < total ? " (truncated)" : "");

	struct parser ps = {
		.base = (const uint8_t *)file + header_off,
		.h = (const void *)((const uint8_t *)file + header_off),
		.err = err,
	};
	const struct myr_header *h = ps.h;

	if ((rc = check_header_fields(&ps)))
		return rc;
	if (!(flags & MYR_PARSE_NO_CHECKSUM)) {
		uint64_t sum = myr_module_checksum(ps.base, h->file_size);
		if (sum != h->checksum)
			return myr_error_set(err, -EILSEQ,
					     "checksum mismatch: stored %016llx, computed %016llx",
					     (unsigned long long)h->checksum,
					     (unsigned long long)sum);
	}
	if ((rc = check_segments(&ps)) || (rc = check_tables(&ps)))
		return rc;
	ps.strtab = (const char *)ps.base + h->strtab_off;

	if (h->name_len == 0)
		return myr_error_set(err, -EBADMSG, "module name is empty");
	if ((rc = check_module_name(&ps, h->name_off, h->name_len, "module name", 0, 0)))
		return rc;

	const struct myr_dep *deps = (const void *)(ps.base + h->deps.off);
	const struct myr_dep *closure = (const void *)(ps.base + h->closure.off);
	const struct myr_import *imports = (const void *)(ps.base + h->imports.off);
	const struct myr_export *exports = (const void *)(ps.base + h->exports.off);
	const uint32_t *buckets = (const void *)(ps.base + h->buckets.off);
	const struct myr_reloc *relocs = (const void *)(ps.base + h->relocs.off);

	if ((rc = check_deps(&ps, deps)) ||
	    (!(flags & MYR_PARSE_NO_CLOSURE) && (rc = check_closure(&ps, closure))) ||
	    (rc = check_imports(&ps, deps, imports)) ||
	    (rc = check_exports(&ps, exports, buckets)) ||
	    (rc = check_relocs(&ps, relocs)) || (rc = check_entry(&ps)) ||
	    (rc = check_array(&ps, &h->init, "init")) ||
	    (rc = check_array(&ps, &h->fini, "fini")))
		return rc;

	if (view) {
		*view = (struct myr_module_view){
			.base = ps.base,
			.size = h->file_size,
			.hdr = h,
			.name = ps.strtab + h->name_off,
			.deps = deps,
			.closure = flags & MYR_PARSE_NO_CLOSURE ? NULL : closure,
			.imports = imports,
			.exports = exports,
			.buckets = buckets,
			.relocs = relocs,
			.strtab = ps.strtab,
		};
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Lookup and load                                                     */
/* ------------------------------------------------------------------ */

int64_t myr_module_find_export(const struct myr_module_view *v,
			       const char *name, uint32_t len, uint32_t hash,
			       uint32_t hint)
{
	const struct myr_header *h = v->hdr;
	uint32_t nb = h->buckets.count;

	if (hint < h->exports.count) {
		const struct myr_export *e = &v->exports[hint];
		if (e->hash == hash && e->name_len == len &&
		    bytes_equal(v->strtab + e->name_off, name, len))
			return hint;
	}
	if (nb == 0)
		return -ENOENT;

	/* Binary search on the bucket's strictly increasing keys. */
	uint32_t b = hash & (nb - 1);
	uint32_t lo = v->buckets[b], hi = v->buckets[b + 1];
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct myr_export *e = &v->exports[mid];
		int c = myr_symbol_key_cmp(e->hash, v->strtab + e->name_off, e->name_len,
					   hash, name, len);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -ENOENT;
}

int myr_module_segment_load(const struct myr_module_view *v, unsigned seg,
			    void *dst, struct myr_error *err)
{
	if (seg >= MYR_SEG_COUNT)
		return myr_error_set(err, -EINVAL, "segment %u out of range", seg);

	const struct myr_segment_desc *d = &v->hdr->seg[seg];
	const char *src = (const char *)v->base + d->file_off;

	if (seg == MYR_SEG_BSS || d->size == 0)
		return 0;
	if (d->encoding == MYR_ENC_RAW) {
		memcpy(dst, src, d->size);
		return 0;
	}
	/*
	 * dst holds exactly size bytes, so a block that would expand further
	 * fails inside LZ4_decompress_safe instead of writing past it.  Both
	 * sizes are below MYR_SEGMENT_MAX, which fits an int.
	 */
	int got = LZ4_decompress_safe(src, dst, (int)d->file_size, (int)d->size);
	if (got < 0)
		return myr_error_set(err, -EBADMSG,
				     "segment %s: corrupt LZ4 block, or it expands beyond "
				     "the declared %u bytes", segment_names[seg], d->size);
	if ((uint32_t)got != d->size)
		return myr_error_set(err, -EBADMSG,
				     "segment %s: LZ4 block decodes to %d bytes, declared %u",
				     segment_names[seg], got, d->size);
	return 0;
}
