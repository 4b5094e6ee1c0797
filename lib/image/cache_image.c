/* SPDX-License-Identifier: MIT */
/*
 * The cache at launch: parse (hostile input, like the module reader), map
 * the image, decide per module whether it can be used, order and activate
 * the modules a program needs.  The format is <myriad/cache.h> and
 * docs/cache.md; the builder is lib/cache/cache_build.c.
 *
 * Overflow reasoning: as in lib/format/reader.c, every on-disk quantity is at most
 * 32 bits wide (the header's 64-bit sizes are bounded first), every end is
 * computed in 64 bits and compared against a bound that fits in 32 bits,
 * and nothing is read before the range holding it has been checked.
 *
 * What is trusted per launch and why: a launch that finds the builder's
 * stamp (MYR_CACHE_VERIFIED_FILE) naming this very file, unchanged since
 * it passed every check, trusts what was checked (the metadata checksum,
 * every record, page and fixup site); any other launch checks the header
 * and metadata checksums at open, and each module's record, bytes and
 * fixup sites before its first use (docs/cache.md, "What is verified").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <myriad/cache.h>
#include <myriad/limits.h>
#include <myriad/module.h>
#include <myriad/sandbox.h>
#include "base/xxh64.h"
#include "image/link.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_READ  22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define REACH ((1ull << 31) - MYR_CACHE_PAGE)

static_assert(MYR_CACHE_MODULES_MAX <= MYR_CACHE_PLAN_INDEX,
	      "a plan's module index has room for every module");
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	      "the cache is read in place, so the host must be little-endian");

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

static unsigned seg_class(unsigned seg)
{
	return seg == MYR_SEG_BSS ? MYR_CLASS_DATA : seg;
}

/* A range of image bytes [off, off + size) inside class c. */
static int in_class(const struct myr_cache_header *h, unsigned c,
		    const struct myr_cache_table *r)
{
	return r->off >= h->class_start[c] &&
	       (uint64_t)r->off + r->count <= h->class_start[c + 1];
}

/* The table lies inside [lo, hi) of the file, 8-aligned.  Its count is
 * bounded first, by myr_cache_check_limits(). */
static int table_ok(const struct myr_cache_table *t, uint64_t elem,
		    uint64_t lo, uint64_t hi, const char *what,
		    struct myr_error *err)
{
	if (t->count == 0)
		return 0;
	if (t->off % 8 || t->off < lo ||
	    (uint64_t)t->off + (uint64_t)t->count * elem > hi)
		return myr_error_set(err, -EBADMSG, "%s: table at %u (%u "
				     "entries) outside the metadata", what,
				     t->off, t->count);
	return 0;
}

int myr_cache_check_limits(const struct myr_cache_header *h,
			   struct myr_error *err)
{
	/* Buckets: a power of two above twice the module count. */
	static const struct {
		size_t field;
		uint32_t max;
		const char *what, *limit;
	} bound[] = {
#define B(f, max, what) { offsetof(struct myr_cache_header, f), max, what, #max }
		B(modules, MYR_CACHE_MODULES_MAX, "modules"),
		B(idents, MYR_CACHE_MODULES_MAX, "identities"),
		B(buckets, 4 * MYR_CACHE_MODULES_MAX, "buckets"),
		B(deps, MYR_CACHE_FIXUPS_MAX, "dependencies"),
		B(rebases, MYR_CACHE_FIXUPS_MAX, "rebases"),
		B(binds, MYR_CACHE_FIXUPS_MAX, "binds"),
		B(exports, MYR_CACHE_FIXUPS_MAX, "exports"),
		B(ebuckets, MYR_CACHE_FIXUPS_MAX, "export buckets"),
		B(closures, MYR_CACHE_FIXUPS_MAX, "closures"),
		B(sums, MYR_CACHE_MODULES_MAX, "record sums"),
		B(page_sums, MYR_POOL_RESERVATION_MAX / MYR_CACHE_PAGE, "page sums"),
		B(hostsyms, MYR_CACHE_HOSTSYMS_MAX, "host symbols"),
		B(strings, MYR_CACHE_META_MAX, "strings"),
#undef B
	};

	if (h->meta_size > MYR_CACHE_META_MAX)
		return myr_error_set(err, -E2BIG, "metadata: %u bytes, over the "
				     "limit of %u (MYR_CACHE_META_MAX)",
				     h->meta_size, MYR_CACHE_META_MAX);
	for (size_t i = 0; i < sizeof(bound) / sizeof(bound[0]); i++) {
		const struct myr_cache_table *t = (const void *)
			((const uint8_t *)h + bound[i].field);
		if (t->count > bound[i].max)
			return myr_error_set(err, -E2BIG, "%s: %u entries, over "
					     "the limit of %u (%s)", bound[i].what,
					     t->count, bound[i].max,
					     bound[i].limit);
	}
	return 0;
}

/* A range [first, first + count) of a table of n entries. */
static int range_ok(const struct myr_cache_table *r, uint32_t n)
{
	return (uint64_t)r->off + r->count <= n;
}

/* A string of the string table: inside it and followed by a NUL. */
static int str_ok(const struct myr_cache_view *v, uint32_t off, uint32_t len)
{
	uint32_t size = v->hdr->strings.count;
	return (uint64_t)off + len < size && v->strings[off + len] == '\0';
}

/* What the cache is: magic, version, architecture, header checksum and
 * the header's unused bits. */
static int parse_identity(const struct myr_cache_header *h, size_t len,
			  unsigned flags, struct myr_error *err)
{
	if (len < MYR_CACHE_HEADER_SIZE ||
	    memcmp(h->magic, MYR_CACHE_MAGIC, 8) != 0)
		return myr_error_set(err, -ENOEXEC, "not a Myriad cache");
	if (h->version != MYR_CACHE_VERSION)
		return myr_error_set(err, -EPROTO, "cache format version %u, "
				     "this launcher reads %u", h->version,
				     MYR_CACHE_VERSION);
	if (h->arch != MYR_ARCH_HOST)
		return myr_error_set(err, -EPROTO, "built for architecture %u, "
				     "this is %u", h->arch, MYR_ARCH_HOST);
	if (!(flags & MYR_CACHE_PARSE_NO_SUMS)) {
		struct myr_cache_header copy;
		memcpy(&copy, h, sizeof(copy));
		copy.header_checksum = 0;
		if (myr_xxh64(&copy, sizeof(copy), 0) != h->header_checksum)
			return myr_error_set(err, -EILSEQ, "header checksum "
					     "mismatch");
	}
	if (h->flags & ~MYR_CACHE_F_KNOWN)
		return myr_error_set(err, -EBADMSG, "unknown header flags 0x%x",
				     h->flags);
	for (size_t i = 0; i < sizeof(h->reserved); i++)
		if (h->reserved[i])
			return myr_error_set(err, -EBADMSG, "reserved header "
					     "byte %zu is not zero", i);
	return 0;
}

/* The file: header, metadata, identities, image (page-aligned), and the
 * image's classes. */
static int parse_file_layout(const struct myr_cache_header *h, size_t len,
			     unsigned flags, struct myr_error *err)
{
	uint64_t meta_end = (uint64_t)h->meta_off + h->meta_size;
	int r;

	if (h->image_size > MYR_POOL_RESERVATION_MAX ||
	    h->image_size % MYR_CACHE_PAGE || h->image_off % MYR_CACHE_PAGE ||
	    h->image_off > UINT32_MAX || h->file_size > UINT64_MAX / 2 ||
	    h->bss_start % MYR_CACHE_PAGE || h->bss_start > h->image_size ||
	    h->image_off + h->bss_start != h->file_size)
		return myr_error_set(err, -EBADMSG, "image at %llu (%llu bytes, "
				     "%u stored) does not end the %llu-byte "
				     "file", (unsigned long long)h->image_off,
				     (unsigned long long)h->image_size,
				     h->bss_start,
				     (unsigned long long)h->file_size);
	if (h->pref_base % MYR_CACHE_PAGE || h->pref_base == 0 ||
	    h->pref_base >= (1ull << 56))
		return myr_error_set(err, -EBADMSG, "preferred address 0x%llx "
				     "is not a user-space page",
				     (unsigned long long)h->pref_base);
	if ((r = myr_cache_check_limits(h, err)) < 0)
		return r;
	if (h->meta_off < MYR_CACHE_HEADER_SIZE || h->meta_off % 8 ||
	    meta_end > h->image_off)
		return myr_error_set(err, -EBADMSG, "metadata at %u (%u bytes) "
				     "outside the file's header part",
				     h->meta_off, h->meta_size);
	if (flags & MYR_CACHE_PARSE_META_ONLY) {
		if (len < meta_end)
			return myr_error_set(err, -EBADMSG, "metadata ends at "
					     "%llu, past the %zu bytes given",
					     (unsigned long long)meta_end, len);
	} else if (len != h->file_size) {
		return myr_error_set(err, -EBADMSG, "the header says %llu bytes, "
				     "the file has %zu (truncated?)",
				     (unsigned long long)h->file_size, len);
	}
	if (h->class_start[0] != 0 ||
	    h->class_start[MYR_CLASS_COUNT] != h->image_size)
		return myr_error_set(err, -EBADMSG, "class ranges do not cover "
				     "the image");
	if (h->bss_start < h->class_start[MYR_CLASS_DATA])
		return myr_error_set(err, -EBADMSG, "zero-filled range at %u "
				     "starts before the data class",
				     h->bss_start);
	for (unsigned c = 0; c < MYR_CLASS_COUNT; c++)
		if (h->class_start[c] % MYR_CACHE_PAGE ||
		    h->class_start[c] > h->class_start[c + 1])
			return myr_error_set(err, -EBADMSG, "class %u range is "
					     "not page-aligned and increasing", c);
	return 0;
}

/* Every table inside the metadata (the identities between it and the
 * image), with the counts that go together. */
static int parse_tables(const struct myr_cache_header *h, struct myr_error *err)
{
	uint64_t meta_end = (uint64_t)h->meta_off + h->meta_size;
	int r;

#define IN_META(t, elem, what) \
	(r = table_ok(&h->t, elem, h->meta_off, meta_end, what, err))
	if (IN_META(modules, sizeof(struct myr_cache_module), "modules") ||
	    IN_META(buckets, 4, "buckets") ||
	    IN_META(deps, 4, "dependencies") ||
	    IN_META(rebases, 4, "rebases") ||
	    IN_META(binds, sizeof(struct myr_cache_bind), "binds") ||
	    IN_META(exports, sizeof(struct myr_export), "exports") ||
	    IN_META(ebuckets, 4, "export buckets") ||
	    IN_META(hostsyms, sizeof(struct myr_cache_hostsym), "host symbols") ||
	    IN_META(closures, 4, "closures") ||
	    IN_META(sums, 8, "record sums") ||
	    IN_META(page_sums, 8, "page sums") ||
	    IN_META(strings, 1, "strings") ||
	    (r = table_ok(&h->idents, sizeof(struct myr_cache_ident),
			  meta_end, h->image_off, "identities", err)))
		return r;
#undef IN_META
	if (h->buckets.count & (h->buckets.count - 1) ||
	    (h->modules.count && h->buckets.count <= h->modules.count))
		return myr_error_set(err, -EBADMSG, "%u buckets for %u modules "
				     "(a power of two above the count)",
				     h->buckets.count, h->modules.count);
	if (h->sums.count != h->modules.count ||
	    h->page_sums.count != h->image_size / MYR_CACHE_PAGE)
		return myr_error_set(err, -EBADMSG, "%u record sums for %u "
				     "modules, %u page sums for %llu pages",
				     h->sums.count, h->modules.count,
				     h->page_sums.count, (unsigned long long)
				     (h->image_size / MYR_CACHE_PAGE));
	/* The stubs: MYR_CACHE_STUB_SIZE bytes of text per 8-byte slot in
	 * relro, each slot of a host function among them (checked later). */
	if ((uint64_t)h->stub_text.count !=
	    (uint64_t)h->stub_slots.count / 8 * MYR_CACHE_STUB_SIZE ||
	    h->stub_slots.off % 8 || h->stub_slots.count % 8 ||
	    (h->stub_text.count && (!in_class(h, MYR_CLASS_TEXT, &h->stub_text) ||
				    !in_class(h, MYR_CLASS_RELRO, &h->stub_slots))))
		return myr_error_set(err, -EBADMSG, "host stubs at %u (%u bytes) "
				     "and slots at %u (%u bytes) do not match "
				     "their classes", h->stub_text.off,
				     h->stub_text.count, h->stub_slots.off,
				     h->stub_slots.count);
	if (h->idents.count != h->modules.count)
		return myr_error_set(err, -EBADMSG, "%u identities for %u "
				     "modules", h->idents.count, h->modules.count);
	if (h->strings.count == 0 && (h->modules.count || h->hostsyms.count))
		return myr_error_set(err, -EBADMSG, "no string table");
	return 0;
}

/* V's table pointers; the identities only when asked for, checked
 * against LEN and their own sum. */
static int parse_fill_view(const void *buf, size_t len, unsigned flags,
			   struct myr_cache_view *v, struct myr_error *err)
{
	const struct myr_cache_header *h = buf;

	v->base = buf;
	v->size = len;
	v->hdr = h;
#define AT(t) ((const void *)((const uint8_t *)buf + h->t.off))
	v->modules = AT(modules);
	v->buckets = AT(buckets);
	v->deps = AT(deps);
	v->rebases = AT(rebases);
	v->binds = AT(binds);
	v->exports = AT(exports);
	v->ebuckets = AT(ebuckets);
	v->hostsyms = AT(hostsyms);
	v->closures = AT(closures);
	v->strings = AT(strings);
	v->sums = AT(sums);
	v->page_sums = AT(page_sums);
	if (flags & MYR_CACHE_PARSE_IDENTS) {
		uint64_t end = (uint64_t)h->idents.off +
			(uint64_t)h->idents.count * sizeof(struct myr_cache_ident);
		if (h->idents.count && end > len)
			return myr_error_set(err, -EBADMSG, "identities end at "
					     "%llu, past the %zu bytes given",
					     (unsigned long long)end, len);
		if (!(flags & MYR_CACHE_PARSE_NO_SUMS) &&
		    myr_xxh64(AT(idents), end - h->idents.off, 0) !=
		    h->ident_checksum)
			return myr_error_set(err, -EILSEQ, "identity table "
					     "checksum mismatch");
		v->idents = AT(idents);
	}
#undef AT
	return 0;
}

/* Host symbols: few, and every launch needs them all. */
static int parse_host_symbols(const struct myr_cache_view *v,
			      struct myr_error *err)
{
	const struct myr_cache_header *h = v->hdr;

	for (uint32_t i = 0; i < h->hostsyms.count; i++) {
		const struct myr_cache_hostsym *s = &v->hostsyms[i];
		if (!str_ok(v, s->name_off, s->name_len) ||
		    !myr_symbol_name_valid(v->strings + s->name_off, s->name_len))
			return myr_error_set(err, -EBADMSG, "host symbol %u: bad "
					     "name", i);
		if (s->kind == MYR_SYM_FUNC) {
			/* Launches write the slots: only where the stubs
			 * read them, never over a module. */
			if (s->slot % 8 || s->slot < h->stub_slots.off ||
			    (uint64_t)s->slot + 8 >
			    (uint64_t)h->stub_slots.off + h->stub_slots.count)
				return myr_error_set(err, -EBADMSG, "host symbol "
						     "%u: slot %u outside the "
						     "stub slots", i, s->slot);
		} else if (s->kind != MYR_SYM_OBJECT || s->slot != UINT32_MAX) {
			return myr_error_set(err, -EBADMSG, "host symbol %u: bad "
					     "kind %u", i, s->kind);
		}
		if (s->flags & ~MYR_CH_PINNED || s->reserved)
			return myr_error_set(err, -EBADMSG, "host symbol %u: "
					     "unknown flags", i);
	}
	return 0;
}

int myr_cache_parse(const void *buf, size_t len, unsigned flags,
		    struct myr_cache_view *v, struct myr_error *err)
{
	const struct myr_cache_header *h = buf;
	int r;

	memset(v, 0, sizeof(*v));
	if ((r = parse_identity(h, len, flags, err)) < 0 ||
	    (r = parse_file_layout(h, len, flags, err)) < 0 ||
	    (r = parse_tables(h, err)) < 0)
		return r;
	if (!(flags & MYR_CACHE_PARSE_NO_SUMS) &&
	    myr_xxh64((const uint8_t *)buf + h->meta_off, h->meta_size, 0) !=
	    h->meta_checksum)
		return myr_error_set(err, -EILSEQ, "metadata checksum mismatch");
	if ((r = parse_fill_view(buf, len, flags, v, err)) < 0)
		return r;
	return parse_host_symbols(v, err);
}

/* An 8-byte fixup site inside module m's relro or data segment. */
static int site_ok(const struct myr_cache_module *m, uint32_t site)
{
	for (unsigned s = MYR_SEG_RELRO; s <= MYR_SEG_DATA; s++)
		if (site >= m->seg_off[s] && m->seg_size[s] >= 8 &&
		    site - m->seg_off[s] <= m->seg_size[s] - 8)
			return 1;
	return 0;
}

static int array_ok(const struct myr_cache_module *m,
		    const struct myr_cache_table *a)
{
	if (a->count == 0)
		return a->off == 0;
	return a->off % 8 == 0 &&
	       a->off >= m->seg_off[MYR_SEG_RELRO] &&
	       (uint64_t)a->off + (uint64_t)a->count * 8 <=
	       (uint64_t)m->seg_off[MYR_SEG_RELRO] + m->seg_size[MYR_SEG_RELRO];
}

/* What every use of a module needs: name, segments, dependencies, binds,
 * init and fini arrays, launch closure.  Exports and rebases are checked
 * where they are used (check_exports, check_rebases). */
static int check_core(const struct myr_cache_view *v, uint32_t i,
		      struct myr_error *err)
{
	const struct myr_cache_header *h = v->hdr;
	const struct myr_cache_module *m;

	if (i >= h->modules.count)
		return myr_error_set(err, -EBADMSG, "module %u out of range", i);
	m = &v->modules[i];
	if (m->flags & ~MYR_CM_KNOWN)
		return myr_error_set(err, -EBADMSG, "module %u: unknown flags "
				     "0x%x", i, m->flags);
	/* The reader's limits, which every cached module met as a file. */
	if (m->name_len > MYR_NAME_MAX)
		return myr_error_set(err, -EBADMSG, "module %u: name of %u bytes, "
				     "over the limit of %u (MYR_NAME_MAX)", i,
				     m->name_len, MYR_NAME_MAX);
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
		if (m->seg_size[s] > MYR_SEGMENT_MAX)
			return myr_error_set(err, -EBADMSG, "module %u: segment "
					     "%s: %u bytes, over the limit of %u "
					     "(MYR_SEGMENT_MAX)", i,
					     myr_segment_name(s), m->seg_size[s],
					     MYR_SEGMENT_MAX);
	if (m->deps.count > MYR_DEPS_MAX)
		return myr_error_set(err, -EBADMSG, "module %u: %u dependencies, "
				     "over the limit of %u (MYR_DEPS_MAX)", i,
				     m->deps.count, MYR_DEPS_MAX);
	if (m->init.count > MYR_INIT_FUNCS_MAX ||
	    m->fini.count > MYR_INIT_FUNCS_MAX)
		return myr_error_set(err, -EBADMSG, "module %u: init or fini "
				     "array over the limit of %u "
				     "(MYR_INIT_FUNCS_MAX)", i, MYR_INIT_FUNCS_MAX);
	/* The name's characters matter only where it becomes a path (a
	 * stale launch) or a message: check_name() there, not per launch. */
	if (!str_ok(v, m->name_off, m->name_len) || m->name_len == 0)
		return myr_error_set(err, -EBADMSG, "module %u: bad name", i);
	if (!str_ok(v, m->reason_off, m->reason_len))
		return myr_error_set(err, -EBADMSG, "module %u: bad reason", i);
	if (!(m->flags & MYR_CM_IMAGE)) {
		if (m->deps.count || m->rebases.count || m->binds.count ||
		    m->exports.count || m->init.count || m->fini.count ||
		    m->closure.count || (m->flags & ~MYR_CM_PROGRAM))
			return myr_error_set(err, -EBADMSG, "module %u: not in "
					     "the image but has entries", i);
		return 0;
	}
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		unsigned c = seg_class(s);
		if (m->seg_off[s] < h->class_start[c] ||
		    (uint64_t)m->seg_off[s] + m->seg_size[s] > h->class_start[c + 1])
			return myr_error_set(err, -EBADMSG, "module %u: segment "
					     "%s outside its class", i,
					     myr_segment_name(s));
	}
	if (!range_ok(&m->deps, h->deps.count) ||
	    !range_ok(&m->rebases, h->rebases.count) ||
	    !range_ok(&m->binds, h->binds.count) ||
	    !range_ok(&m->exports, h->exports.count) ||
	    m->ebuckets.count > 2ull * m->exports.count ||
	    (uint64_t)m->ebuckets.off + m->ebuckets.count + 1 > h->ebuckets.count ||
	    !range_ok(&m->closure, h->closures.count))
		return myr_error_set(err, -EBADMSG, "module %u: a table range "
				     "is out of bounds", i);
	for (uint32_t k = 0; k < m->deps.count; k++) {
		uint32_t d = v->deps[m->deps.off + k];
		if (d >= h->modules.count || d == i ||
		    !(v->modules[d].flags & MYR_CM_IMAGE))
			return myr_error_set(err, -EBADMSG, "module %u: "
					     "dependency %u is %u, not a cached "
					     "module", i, k, d);
	}
	for (uint32_t k = 0; k < m->binds.count; k++) {
		const struct myr_cache_bind *b = &v->binds[m->binds.off + k];
		if (!site_ok(m, b->site) || b->sym >= h->hostsyms.count)
			return myr_error_set(err, -EBADMSG, "module %u: bind %u "
					     "out of bounds", i, k);
	}
	if (!array_ok(m, &m->init) || !array_ok(m, &m->fini))
		return myr_error_set(err, -EBADMSG, "module %u: init or fini "
				     "array outside relro", i);
	if (!(m->flags & MYR_CM_PROGRAM) && m->closure.count)
		return myr_error_set(err, -EBADMSG, "module %u: a closure but "
				     "not a program", i);
	return 0;
}

uint32_t myr_cache_closure_index(const struct myr_cache_view *v, uint32_t e)
{
	return v->hdr->flags & MYR_CACHE_F_PLAN ? e & MYR_CACHE_PLAN_INDEX : e;
}

/* A program's launch closure entries: image modules.  Not part of
 * check_core: a launch checks each entry as it uses the closure
 * (closure_ok), and a second pass over 10,000 scattered module records
 * cost as much as the first. */
static int check_closure(const struct myr_cache_view *v, uint32_t i,
			 struct myr_error *err)
{
	const struct myr_cache_module *m = &v->modules[i];

	for (uint32_t k = 0; k < m->closure.count; k++) {
		uint32_t d = myr_cache_closure_index(v, v->closures[m->closure.off + k]);
		if (d >= v->hdr->modules.count ||
		    !(v->modules[d].flags & MYR_CM_IMAGE))
			return myr_error_set(err, -EBADMSG, "module %u: closure "
					     "entry %u out of range", i, k);
	}
	return 0;
}

/* A module name (no '/', no "..") whose hash is the stored one. */
static int check_name(const struct myr_cache_view *v, uint32_t i,
		      struct myr_error *err)
{
	const struct myr_cache_module *m = &v->modules[i];
	if (!myr_name_valid(v->strings + m->name_off, m->name_len) ||
	    m->hash != myr_symbol_hash(v->strings + m->name_off, m->name_len))
		return myr_error_set(err, -EBADMSG, "module %u: bad name", i);
	return 0;
}

static int check_rebases(const struct myr_cache_view *v, uint32_t i,
			 struct myr_error *err)
{
	const struct myr_cache_module *m = &v->modules[i];
	for (uint32_t k = 0; k < m->rebases.count; k++)
		if (!site_ok(m, v->rebases[m->rebases.off + k]))
			return myr_error_set(err, -EBADMSG, "module %u: rebase "
					     "%u outside relro and data", i, k);
	return 0;
}

/* The rules of the module reader's export table (format.h), so that
 * myr_module_find_export() may run on it. */
static int check_exports(const struct myr_cache_view *v, uint32_t i,
			 struct myr_error *err)
{
	const struct myr_cache_module *m = &v->modules[i];
	const uint32_t *b = v->ebuckets + m->ebuckets.off;
	uint32_t nb = m->ebuckets.count, n = m->exports.count;

	if ((nb == 0) != (n == 0) || (nb & (nb - 1)) || b[0] != 0 || b[nb] != n)
		return myr_error_set(err, -EBADMSG, "module %u: bad export "
				     "buckets", i);
	for (uint32_t k = 0; k < nb; k++)
		if (b[k] > b[k + 1])
			return myr_error_set(err, -EBADMSG, "module %u: export "
					     "buckets decrease", i);
	for (uint32_t k = 0; k < n; k++) {
		const struct myr_export *e = &v->exports[m->exports.off + k];
		if (e->name_len > MYR_SYMBOL_MAX)
			return myr_error_set(err, -EBADMSG, "module %u: export "
					     "%u: name of %u bytes, over the limit "
					     "of %u (MYR_SYMBOL_MAX)", i, k,
					     e->name_len, MYR_SYMBOL_MAX);
		if (!str_ok(v, e->name_off, e->name_len) ||
		    e->seg >= MYR_SEG_COUNT ||
		    e->off > m->seg_size[e->seg])
			return myr_error_set(err, -EBADMSG, "module %u: export "
					     "%u out of bounds", i, k);
	}
	return 0;
}

int myr_cache_check_module(const struct myr_cache_view *v, uint32_t i,
			   struct myr_error *err)
{
	int r = check_core(v, i, err);
	if (r == 0)
		r = check_closure(v, i, err);
	if (r == 0)
		r = check_name(v, i, err);
	if (r == 0 && (v->modules[i].flags & MYR_CM_IMAGE))
		r = check_rebases(v, i, err);
	if (r == 0 && (v->modules[i].flags & MYR_CM_IMAGE))
		r = check_exports(v, i, err);
	return r;
}

int myr_cache_check_closure(const struct myr_cache_view *v, uint32_t i,
			    uint8_t *seen, struct myr_error *err)
{
	const struct myr_cache_module *m = &v->modules[i];
	const uint32_t *l = v->closures + m->closure.off;
	int r = 0;

	for (uint32_t k = 0; k < m->closure.count && r == 0; k++) {
		uint32_t x = myr_cache_closure_index(v, l[k]);
		const struct myr_cache_module *e = &v->modules[x];
		if (seen[x])
			r = myr_error_set(err, -EBADMSG, "module %u: closure "
					  "entry %u repeats module %u", i, k, x);
		else if ((v->hdr->flags & MYR_CACHE_F_PLAN) &&
			 l[k] != myr_cache_plan_entry(v, x))
			r = myr_error_set(err, -EBADMSG, "module %u: closure "
					  "entry %u: its plan bits are not its "
					  "record's", i, k);
		for (uint32_t d = 0; r == 0 && d < e->deps.count; d++)
			if (!seen[v->deps[e->deps.off + d]])
				r = myr_error_set(err, -EBADMSG, "module %u: "
						  "closure entry %u comes before "
						  "its dependency %u", i, k, d);
		seen[x] = 1;
	}
	for (uint32_t k = 0; k < m->closure.count; k++)
		seen[myr_cache_closure_index(v, l[k])] = 0;
	return r;
}

int64_t myr_cache_view_find(const struct myr_cache_view *v, const char *name,
			    uint32_t len)
{
	uint32_t nb = v->hdr->buckets.count, hash = myr_symbol_hash(name, len);

	for (uint32_t probe = 0; probe < nb; probe++) {
		uint32_t slot = v->buckets[(hash + probe) & (nb - 1)];
		const struct myr_cache_module *m;
		if (slot == 0 || slot > v->hdr->modules.count)
			return -ENOENT;
		m = &v->modules[slot - 1];
		if (m->hash == hash && m->name_len == len &&
		    str_ok(v, m->name_off, len) &&
		    memcmp(v->strings + m->name_off, name, len) == 0)
			return slot - 1;
	}
	return -ENOENT;
}

/* ------------------------------------------------------------------ */
/* Launch                                                              */
/* ------------------------------------------------------------------ */

/* Per-module state at launch. */
enum {
	ST_DONE     = 0x01,   /* usable or not is decided */
	ST_USABLE   = 0x02,
	ST_VISITING = 0x04,
	ST_ACTIVE   = 0x08,   /* part of this program's image */
	ST_INIT     = 0x10,   /* has an init or fini array */
	ST_FIXUP    = 0x20,   /* has fixups to apply at this launch */
};

struct cached_link {
	struct myr_header hdr;          /* only the export counts */
	struct myr_module_view view;
	struct myr_link_module link;
};

struct myr_cache {
	struct myr_cache_view v;
	uint8_t *meta;                  /* mapping of [0, image_off) */
	size_t meta_len;
	uint8_t *image;
	uint64_t image_size;
	int64_t slide;
	int dirfd;
	int stale, pins_valid, closure_used;
	int sealed;                     /* the service's sealed image: its
	                                   records were checked when built */
	int verified;                   /* the file the builder's stamp names:
	                                   every check passed at build */
	uint32_t stamp_flags;           /* the stamp's MYR_CACHE_VERIFIED_* */
	uint32_t stat_calls;
	uint8_t *state;
	uint32_t *stack, *next;         /* DFS scratch, nmodules each */
	uintptr_t *hostaddr;
	struct cached_link **links;
	uint32_t nactive;               /* modules marked active */
	uint32_t *fixups, nfixups;      /* the active ones with ST_FIXUP */
	uint64_t ns_open;
	/* The launch closure the loader service planned for the program
	 * whose checksum is given_sum, entries with MYR_CACHE_PLAN_* bits
	 * (plan_ok() strips them). */
	uint32_t *given;
	uint32_t ngiven;
	uint64_t given_sum;
	uint32_t given_program;         /* 1 + the program's index, vouched
	                                   for by the service; 0: none */
	int program_copy;               /* the service's copy of the program
	                                   file (sealed memfd), or -1 */
	int has_problem;
	struct myr_error problem;       /* myr_cache_problem() */
	uint8_t *pages_done;            /* image pages verified */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

void myr_cache_stamp_of(const struct stat *st, struct myr_cache_stamp *s)
{
	s->dev = (uint64_t)st->st_dev;
	s->ino = (uint64_t)st->st_ino;
	s->size = (uint64_t)st->st_size;
	s->mtime_ns = ts_ns(&st->st_mtim);
	s->ctime_ns = ts_ns(&st->st_ctim);
}

void myr_cache_verified_make(struct myr_cache_verified *out,
			     const struct stat *st,
			     const struct myr_cache_header *h, uint32_t flags)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->magic, MYR_CACHE_VERIFIED_MAGIC, 8);
	out->version = MYR_CACHE_VERSION;
	out->flags = flags;
	myr_cache_stamp_of(st, &out->file);
	out->generation = h->generation;
	out->header_checksum = h->header_checksum;
	out->checksum = myr_xxh64(out, offsetof(struct myr_cache_verified,
						checksum), 0);
}

/*
 * Whether the builder's stamp names the image open as *st with header *h
 * (whose checksum the caller verified): the stamp must be a regular file
 * trusted as the image is, and equal, byte for byte, to the one made for
 * this file now.  Any write to the image since changed its ctime; a
 * replacement, its inode.  Anything else (absent, unreadable, foreign)
 * means 0: the launch checks everything itself.
 */
static int verified_by_builder(int dirfd, const struct stat *st,
			       const struct myr_cache_header *h,
			       const struct stat *dst, uint32_t *flags)
{
	struct myr_cache_verified want, got;
	struct stat vst;
	ssize_t n = -1;
	int fd = openat(dirfd, MYR_CACHE_SUBDIR "/" MYR_CACHE_VERIFIED_FILE,
			O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
			O_NOCTTY);

	if (fd < 0)
		return 0;
	if (fstat(fd, &vst) == 0 && S_ISREG(vst.st_mode) &&
	    myr_stat_check_trusted(&vst, MYR_CACHE_VERIFIED_FILE, "the stamp",
				   (long)dst->st_uid, NULL) == 0)
		n = pread(fd, &got, sizeof(got), 0);
	close(fd);
	if (n != (ssize_t)sizeof(got) || (got.flags & ~MYR_CACHE_VERIFIED_KNOWN))
		return 0;
	myr_cache_verified_make(&want, st, h, got.flags);
	if (memcmp(&want, &got, sizeof(got)) != 0)
		return 0;
	*flags = got.flags;
	return 1;
}

static int same_dir(const struct myr_cache_stamp *a, const struct stat *st)
{
	return a->mtime_ns == ts_ns(&st->st_mtim) &&
	       a->ctime_ns == ts_ns(&st->st_ctim);
}

static int within_reach(uintptr_t base, uint64_t size, uintptr_t lo,
			uintptr_t hi)
{
	uintptr_t from = base < lo ? base : lo;
	uintptr_t to = base + size > hi ? base + size : hi;
	return to - from <= REACH;
}

/* The image at its preferred address if free and near the host, else
 * anywhere near the host (a slide). */
static int map_image(struct myr_cache *c, int fd,
		     const struct myr_host_binding *host, struct myr_error *err)
{
	const struct myr_cache_header *h = c->v.hdr;
	uintptr_t lo = host ? host->lo : 0, hi = host ? host->hi : 0;
	uint64_t size = h->image_size;
	void *b = MAP_FAILED;

	if (size && (hi <= lo || within_reach(h->pref_base, size, lo, hi))) {
		b = mmap((void *)(uintptr_t)h->pref_base, size, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			 MAP_FIXED_NOREPLACE, -1, 0);
		if (b != MAP_FAILED && (uintptr_t)b != h->pref_base) {
			munmap(b, size);
			b = MAP_FAILED;
		}
	}
	if (size == 0)
		return 0;       /* every module was left out */
	if (b == MAP_FAILED && hi > lo)
		b = myr_pool_reserve_near(size, lo, hi);
	if (b == MAP_FAILED && hi <= lo)
		b = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_NORESERVE, -1, 0);
	if (b == MAP_FAILED)
		return myr_error_set(err, -ENOMEM, "no room for the %llu-byte "
				     "image near the launcher",
				     (unsigned long long)size);
	c->image = b;
	c->image_size = size;
	c->slide = (int64_t)((uintptr_t)b - h->pref_base);

	/* Text and rodata come straight from the page cache, shared by every
	 * process; the descriptor is read-only, so these pages can never be
	 * made writable.  Relro and data are private copies on write. */
	static const struct { unsigned from, to; int prot, flags; } parts[] = {
		{ MYR_CLASS_TEXT, MYR_CLASS_RODATA, PROT_READ | PROT_EXEC, MAP_SHARED },
		{ MYR_CLASS_RODATA, MYR_CLASS_RELRO, PROT_READ, MAP_SHARED },
		{ MYR_CLASS_RELRO, MYR_CLASS_COUNT, PROT_READ | PROT_WRITE, MAP_PRIVATE },
	};
	for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++) {
		uint64_t from = h->class_start[parts[k].from];
		uint64_t to = h->class_start[parts[k].to];
		/* The zero-filled tail is not in the file: the reservation's
		 * own anonymous pages, made writable, are its zeros. */
		if (parts[k].to == MYR_CLASS_COUNT) {
			if (h->bss_start < to &&
			    mprotect(c->image + h->bss_start, to - h->bss_start,
				     PROT_READ | PROT_WRITE) != 0) {
				int e = errno;
				return myr_error_set(err, -e, "cannot map the "
						     "image's bss: %s",
						     strerror(e));
			}
			to = h->bss_start;
		}
		if (to <= from)
			continue;
		if (mmap(c->image + from, to - from, parts[k].prot,
			 parts[k].flags | MAP_FIXED, fd,
			 (off_t)(h->image_off + from)) == MAP_FAILED) {
			int e = errno;
			return myr_error_set(err, -e, "cannot map the image: %s%s",
					     strerror(e), e == EPERM ?
					     " (a noexec file system?)" : "");
		}
	}
	return 0;
}

static int bind_host(struct myr_cache *c, const struct myr_host_binding *host,
		     struct myr_error *err)
{
	const struct myr_cache_header *h = c->v.hdr;
	uint32_t n = h->hostsyms.count;

	c->pins_valid = c->slide == 0;
	if (n == 0)
		return 0;
	if (!host || !host->find)
		return myr_error_set(err, -ENOENT, "it needs the host module and "
				     "this launcher has none");
	if (host->ver_major != h->host_major || host->ver_minor < h->host_minor)
		return myr_error_set(err, -EPROTO, "built for host module %u.%u, "
				     "this launcher has %u.%u", h->host_major,
				     h->host_minor, host->ver_major,
				     host->ver_minor);
	c->hostaddr = malloc(n * sizeof(*c->hostaddr));
	if (!c->hostaddr)
		return myr_error_set(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		const struct myr_cache_hostsym *s = &c->v.hostsyms[i];
		const char *name = c->v.strings + s->name_off;
		void *a = host->find(host->opaque, name, s->name_len);
		if (!a)
			return myr_error_set(err, -ENOENT, "host symbol %s is "
					     "missing in this launcher", name);
		c->hostaddr[i] = (uintptr_t)a;
		if ((s->flags & MYR_CH_PINNED) && (uintptr_t)a != s->build_addr)
			c->pins_valid = 0;
	}
	return 0;
}

/* The directory the image must have been built for: its dev and inode,
 * and its times (the per-launch staleness stamp). */
static int open_dir(struct myr_cache *c, const char *dir, struct stat *dst,
		    struct myr_error *err)
{
	c->dirfd = openat(AT_FDCWD, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0) {
		int e = errno;
		return myr_error_set(err, e == ENOENT ? -ENOENT : -e, "%s",
				     strerror(e));
	}
	if (fstat(c->dirfd, dst) != 0) {
		int e = errno;
		return myr_error_set(err, -e, "%s", strerror(e));
	}
	return 0;
}

/* Map and check the image open as fd (the cache file, opened by name in
 * DIR if by_name, or the service's sealed memfd) for the directory whose
 * stat is *dst. */
static int open_image(struct myr_cache *c, int fd, int by_name,
		      const struct stat *dst,
		      const struct myr_host_binding *host,
		      struct myr_error *err)
{
	struct myr_cache_header hdr;
	struct stat st;
	unsigned pflags = MYR_CACHE_PARSE_META_ONLY |
			  (c->sealed ? MYR_CACHE_PARSE_NO_SUMS : 0);
	ssize_t n;
	int r;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return myr_error_set(err, -EBADMSG, "not a regular file");
	n = pread(fd, &hdr, sizeof(hdr), 0);
	if (n != (ssize_t)sizeof(hdr))
		return myr_error_set(err, -EBADMSG, "truncated: %lld bytes",
				     (long long)st.st_size);
	/* Header only: magic, version, architecture and its checksum, before
	 * any size from it is used to map anything. */
	r = myr_cache_parse(&hdr, sizeof(hdr), MYR_CACHE_PARSE_META_ONLY |
			    MYR_CACHE_PARSE_NO_SUMS, &c->v, err);
	if (r < 0 && r != -EBADMSG)
		return r;
	{
		struct myr_cache_header copy = hdr;
		copy.header_checksum = 0;
		if (memcmp(hdr.magic, MYR_CACHE_MAGIC, 8) != 0 ||
		    myr_xxh64(&copy, sizeof(copy), 0) != hdr.header_checksum)
			return myr_error_set(err, -EILSEQ, "header checksum "
					     "mismatch");
	}
	if ((uint64_t)st.st_size != hdr.file_size)
		return myr_error_set(err, -EBADMSG, "the header says %llu bytes, "
				     "the file has %lld (truncated?)",
				     (unsigned long long)hdr.file_size,
				     (long long)st.st_size);
	if (hdr.dir.dev != (uint64_t)dst->st_dev ||
	    hdr.dir.ino != (uint64_t)dst->st_ino)
		return myr_error_set(err, -ESTALE, "built for another directory");
	c->stale = !same_dir(&hdr.dir, dst);
	if (c->stale)
		pflags |= MYR_CACHE_PARSE_IDENTS;
	/* Only the file this library opened by name has a stamp. */
	if (by_name && verified_by_builder(c->dirfd, &st, &hdr, dst,
					   &c->stamp_flags)) {
		c->verified = 1;
		pflags |= MYR_CACHE_PARSE_NO_SUMS;  /* the header's: above */
		/* Bounds only: the identities, for myr_cache_program(). */
		if (c->stamp_flags & MYR_CACHE_VERIFIED_PROGRAMS)
			pflags |= MYR_CACHE_PARSE_IDENTS;
	}
	if (hdr.image_off == 0 || hdr.image_off > (uint64_t)st.st_size ||
	    hdr.image_off > UINT32_MAX)
		return myr_error_set(err, -EBADMSG, "image offset %llu outside "
				     "the file", (unsigned long long)hdr.image_off);
	c->meta_len = (size_t)hdr.image_off;
	/* Populated when the checksum is to read every page anyway: one
	 * call maps them all instead of a fault per few pages.  A checked
	 * image's pages are touched only where a used module's records are. */
	c->meta = mmap(NULL, c->meta_len, PROT_READ, MAP_SHARED |
		       (c->sealed || c->verified ? 0 : MAP_POPULATE), fd, 0);
	if (c->meta == MAP_FAILED) {
		int e = errno;
		c->meta = NULL;
		return myr_error_set(err, -e, "cannot map: %s", strerror(e));
	}
	r = myr_cache_parse(c->meta, c->meta_len, pflags, &c->v, err);
	if (r < 0)
		return r;
	/* The mapping may have changed under the header read (a writer
	 * that does not rename): insist on the same header. */
	if (memcmp(c->meta, &hdr, sizeof(hdr)) != 0)
		return myr_error_set(err, -EBUSY, "changed while being read");
	r = map_image(c, fd, host, err);
	if (r == 0 && c->image && !c->verified)
		r = myr_cache_check_stubs(&c->v, c->image, err);
	if (r == 0)
		r = bind_host(c, host, err);
	return r;
}

/* Whoever can write the image or its subdirectory chooses the code of
 * every launch: only root, this user or the directory's owner may.  (The
 * service's sealed memfd cannot be written at all.) */
static int check_owners(struct myr_cache *c, int fd, const struct stat *dst,
			struct myr_error *err)
{
	struct stat st, sst;

	if (fstat(fd, &st) != 0 ||
	    fstatat(c->dirfd, MYR_CACHE_SUBDIR, &sst, AT_SYMLINK_NOFOLLOW) != 0) {
		int e = errno;
		return myr_error_set(err, -e, "%s", strerror(e));
	}
	if (myr_stat_check_trusted(&sst, MYR_CACHE_SUBDIR, "its directory",
				   (long)dst->st_uid, err) < 0 ||
	    myr_stat_check_trusted(&st, "file", "the", (long)dst->st_uid,
				   err) < 0)
		return -EPERM;
	return 0;
}

static int open_cache(struct myr_cache *c, const char *dir, int image_fd,
		      const struct myr_host_binding *host, struct myr_error *err)
{
	struct stat dst;
	int fd = image_fd, r;

	r = open_dir(c, dir, &dst, err);
	if (r < 0)
		return r;
	if (fd < 0) {
		fd = openat(c->dirfd, MYR_CACHE_SUBDIR "/" MYR_CACHE_FILE,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
			    O_NOCTTY);
		if (fd < 0) {
			int e = errno;
			return myr_error_set(err, -e, "%s", strerror(e));
		}
		r = check_owners(c, fd, &dst, err);
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	r = open_image(c, fd, fd != image_fd, &dst, host, err);
	if (fd != image_fd)
		close(fd);
	return r;
}

static int cache_open(struct myr_cache **out, const char *dir, int image_fd,
		      int sealed, const struct myr_host_binding *host,
		      struct myr_error *err)
{
	uint64_t t0 = now_ns();
	struct myr_cache *c = calloc(1, sizeof(*c));
	uint32_t n;
	int r;

	*out = NULL;
	if (!c)
		return myr_error_set(err, -ENOMEM, "out of memory");
	c->dirfd = -1;
	c->program_copy = -1;
	c->sealed = sealed;
	r = open_cache(c, dir, image_fd, host, err);
	if (r == 0) {
		n = c->v.hdr->modules.count;
		c->state = calloc(n ? n : 1, 1);
		c->fixups = malloc((n ? n : 1) * sizeof(uint32_t));
		c->links = calloc(n ? n : 1, sizeof(*c->links));
		c->pages_done = calloc(c->v.hdr->image_size / MYR_CACHE_PAGE + 1, 1);
		if (!c->state || !c->fixups || !c->links || !c->pages_done)
			r = myr_error_set(err, -ENOMEM, "out of memory");
	}
	if (r < 0) {
		myr_cache_close(c);
		return r;
	}
	if (!c->stale) {
		close(c->dirfd);
		c->dirfd = -1;
	}
	c->ns_open = now_ns() - t0;
	*out = c;
	return 0;
}

int myr_cache_open(struct myr_cache **out, const char *dir,
		   const struct myr_host_binding *host, struct myr_error *err)
{
	return cache_open(out, dir, -1, 0, host, err);
}

int myr_cache_open_fd(struct myr_cache **out, int fd, const char *dir,
		      unsigned flags, const struct myr_host_binding *host,
		      struct myr_error *err)
{
	if (fd < 0)
		return myr_error_set(err, -EBADF, "no image descriptor");
	if (flags & ~MYR_CACHE_OPEN_SEALED)
		return myr_error_set(err, -EINVAL, "unknown flags 0x%x", flags);
	return cache_open(out, dir, fd, (flags & MYR_CACHE_OPEN_SEALED) != 0,
			  host, err);
}

/* Stale mode: the module's file is still the one the image holds.  One
 * stat, without following a symlink: a module replaced by a symlink is a
 * change. */
static int file_unchanged(struct myr_cache *c, uint32_t i)
{
	const struct myr_cache_module *m = &c->v.modules[i];
	const struct myr_cache_stamp *id = &c->v.idents[i].st;
	char path[MYR_NAME_MAX + 8];
	struct stat st;

	if (check_name(&c->v, i, NULL) < 0)
		return 0;
	memcpy(path, c->v.strings + m->name_off, m->name_len);
	memcpy(path + m->name_len, ".myr", 5);
	c->stat_calls++;
	if (c->dirfd < 0 || fstatat(c->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	return S_ISREG(st.st_mode) && id->dev == (uint64_t)st.st_dev &&
	       id->ino == (uint64_t)st.st_ino &&
	       id->size == (uint64_t)st.st_size &&
	       id->mtime_ns == ts_ns(&st.st_mtim) &&
	       id->ctime_ns == ts_ns(&st.st_ctim);
}

/* The 8 bytes at image offset off. */
static uint64_t word_at(const uint8_t *image, uint32_t off)
{
	uint64_t v;
	memcpy(&v, image + off, 8);
	return v;
}

/* What an init or fini entry, a rebase site, holds as built: an address
 * inside classes [from, to) of the image at its preferred place. */
static int points_into(const struct myr_cache_header *h, uint64_t v,
		       unsigned from, unsigned to)
{
	return v >= h->pref_base + h->class_start[from] &&
	       v < h->pref_base + h->class_start[to];
}

uint64_t myr_cache_stub_sum(const struct myr_cache_view *v,
			    const uint8_t *image)
{
	const struct myr_cache_header *h = v->hdr;
	struct myri_xxh64 x;

	myri_xxh64_init(&x, 0);
	myri_xxh64_update(&x, image + h->stub_text.off, h->stub_text.count);
	myri_xxh64_update(&x, image + h->stub_slots.off, h->stub_slots.count);
	/* Which symbol each slot is for: a slot swapped between two host
	 * functions would call the wrong one. */
	myri_xxh64_update(&x, v->hostsyms, (size_t)h->hostsyms.count *
			  sizeof(*v->hostsyms));
	for (uint32_t i = 0; i < h->hostsyms.count; i++)
		myri_xxh64_update(&x, v->strings + v->hostsyms[i].name_off,
				  v->hostsyms[i].name_len);
	return myri_xxh64_final(&x);
}

int myr_cache_check_stubs(const struct myr_cache_view *v, const uint8_t *image,
			  struct myr_error *err)
{
	if (v->hdr->hostsyms.count && myr_cache_stub_sum(v, image) !=
	    v->hdr->stub_sum)
		return myr_error_set(err, -EILSEQ, "the host stubs differ from "
				     "the build");
	return 0;
}

uint64_t myr_cache_module_sum(const struct myr_cache_view *v, uint32_t i)
{
	return myr_xxh64(&v->modules[i], sizeof(v->modules[i]), 0);
}

/* The pages of image range [off, off + size) hash as built. */
static int pages_ok(const struct myr_cache_view *v, const uint8_t *image,
		    uint64_t off, uint64_t size, uint8_t *done)
{
	for (uint64_t p = off / MYR_CACHE_PAGE;
	     size && p <= (off + size - 1) / MYR_CACHE_PAGE; p++) {
		if (done && done[p])
			continue;
		if (myr_xxh64(image + p * MYR_CACHE_PAGE, MYR_CACHE_PAGE, 0) !=
		    v->page_sums[p])
			return 0;
		if (done)
			done[p] = 1;
	}
	return 1;
}

int myr_cache_check_content(const struct myr_cache_view *v,
			    const uint8_t *image, uint32_t i,
			    uint8_t *pages_done, struct myr_error *err)
{
	const struct myr_cache_header *h = v->hdr;
	const struct myr_cache_module *m = &v->modules[i];
	const char *name = v->strings + m->name_off;

	if (myr_cache_module_sum(v, i) != v->sums[i])
		return myr_error_set(err, -EILSEQ, "module %.*s: its records "
				     "differ from the build (record sum)",
				     (int)m->name_len, name);
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
		if (!pages_ok(v, image, m->seg_off[s], m->seg_size[s], pages_done))
			return myr_error_set(err, -EILSEQ, "module %.*s: its "
					     "bytes differ from the build (page "
					     "sum)", (int)m->name_len, name);
	for (uint32_t k = 0; k < m->binds.count; k++) {
		const struct myr_cache_bind *b = &v->binds[m->binds.off + k];
		if (word_at(image, b->site) != v->hostsyms[b->sym].build_addr +
		    (uint64_t)b->addend)
			return myr_error_set(err, -EBADMSG, "module %.*s: bind "
					     "%u at %u does not hold its build "
					     "value", (int)m->name_len, name, k,
					     b->site);
	}
	for (uint32_t k = 0; k < m->rebases.count; k++) {
		uint32_t site = v->rebases[m->rebases.off + k];
		if (!site_ok(m, site) ||
		    !points_into(h, word_at(image, site), 0, MYR_CLASS_COUNT))
			return myr_error_set(err, -EBADMSG, "module %.*s: rebase "
					     "%u does not hold an image address",
					     (int)m->name_len, name, k);
	}
	for (int fini = 0; fini < 2; fini++) {
		const struct myr_cache_table *a = fini ? &m->fini : &m->init;
		for (uint32_t k = 0; k < a->count; k++)
			if (!points_into(h, word_at(image, a->off + 8 * k),
					 MYR_CLASS_TEXT, MYR_CLASS_RODATA))
				return myr_error_set(err, -EBADMSG, "module %.*s: "
						     "%s entry %u is not an "
						     "address of the image's "
						     "text", (int)m->name_len,
						     name, fini ? "fini" : "init",
						     k);
	}
	return 0;
}

/* What activation and init do with a usable module: ST_INIT, ST_FIXUP.
 * plan_state() says the same from the module's plan entry; written as
 * plan_state(c, myr_cache_plan_bits(m)) it costs more at every call. */
static uint8_t use_bits(const struct myr_cache *c,
			const struct myr_cache_module *m)
{
	return (m->init.count || m->fini.count ? ST_INIT : 0) |
	       (m->binds.count || (c->slide && m->rebases.count) ? ST_FIXUP : 0);
}

/* use_bits() from the module's plan entry e (MYR_CACHE_PLAN_* bits, those
 * of its record, myr_cache_plan_bits()). */
static uint8_t plan_state(const struct myr_cache *c, uint32_t e)
{
	return (e & MYR_CACHE_PLAN_INIT ? ST_INIT : 0) |
	       (e & MYR_CACHE_PLAN_BINDS ||
		(c->slide && (e & MYR_CACHE_PLAN_REBASES)) ? ST_FIXUP : 0);
}

/*
 * Whether module i itself may be used, its dependencies aside: 0, or
 * ST_USABLE with ST_INIT and ST_FIXUP noted, so that activation and init
 * skip the many modules without either and never touch their records
 * again.
 */
static uint8_t own_ok(struct myr_cache *c, uint32_t i)
{
	const struct myr_cache_module *m = &c->v.modules[i];

	if (i >= c->v.hdr->modules.count || !(m->flags & MYR_CM_IMAGE))
		return 0;
	if ((m->flags & MYR_CM_PINNED) && !c->pins_valid)
		return 0;
	if (c->stale && !file_unchanged(c, i))
		return 0;
	/* A module whose record, exports, bytes or fixup sites are not what
	 * the builder wrote loads from its file, with the first such problem
	 * kept for the launcher's one warning.  (The error is set only when
	 * a check fails: clearing it per module cost more than the checks
	 * of a sealed image.) */
	if (!c->sealed && !c->verified) {   /* else checked by the service
	                                       or the builder */
		struct myr_error err;
		if (check_core(&c->v, i, &err) < 0 ||
		    check_exports(&c->v, i, &err) < 0 ||
		    (c->slide && check_rebases(&c->v, i, &err) < 0) ||
		    myr_cache_check_content(&c->v, c->image, i, c->pages_done,
					    &err) < 0) {
			if (!c->has_problem) {
				c->has_problem = 1;
				myr_error_set(&c->problem, err.code, "%s",
					      err.msg);
			}
			return 0;
		}
	}
	return ST_USABLE | use_bits(c, m);
}

/* The depth-first walks' stacks, allocated on first use: a launch
 * closure needs none. */
static int scratch(struct myr_cache *c)
{
	uint32_t n = c->v.hdr->modules.count;
	if (!c->stack)
		c->stack = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!c->next)
		c->next = malloc((n ? n : 1) * sizeof(uint32_t));
	return c->stack && c->next ? 0 : -ENOMEM;
}

/* Decide module i and its closure, depth first without recursion: a
 * module is usable when it is and all its dependencies are.  A cycle
 * (which no builder writes) makes its members unusable. */
static int usable(struct myr_cache *c, uint32_t root)
{
	uint32_t depth = 0;

	if (c->state[root] & ST_DONE)
		return (c->state[root] & ST_USABLE) != 0;
	if (scratch(c) < 0)
		return 0;
	c->stack[depth++] = root;
	c->next[root] = 0;
	c->state[root] = ST_VISITING | own_ok(c, root);
	while (depth) {
		uint32_t i = c->stack[depth - 1];
		const struct myr_cache_module *m = &c->v.modules[i];

		if ((c->state[i] & ST_USABLE) && c->next[i] < m->deps.count) {
			uint32_t d = c->v.deps[m->deps.off + c->next[i]++];
			if (c->state[d] & ST_DONE) {
				if (!(c->state[d] & ST_USABLE))
					c->state[i] &= (uint8_t)~ST_USABLE;
				continue;
			}
			if (c->state[d] & ST_VISITING) {
				c->state[i] &= (uint8_t)~ST_USABLE;
				continue;
			}
			c->next[d] = 0;
			c->state[d] = ST_VISITING | own_ok(c, d);
			c->stack[depth++] = d;
			continue;
		}
		c->state[i] = (uint8_t)((c->state[i] & ~ST_VISITING) | ST_DONE);
		depth--;
		if (depth && !(c->state[i] & ST_USABLE))
			c->state[c->stack[depth - 1]] &= (uint8_t)~ST_USABLE;
	}
	return (c->state[root] & ST_USABLE) != 0;
}

int64_t myr_cache_find(struct myr_cache *c, const char *name, uint32_t len)
{
	int64_t i = myr_cache_view_find(&c->v, name, len);
	if (i < 0 || !usable(c, (uint32_t)i))
		return -ENOENT;
	return i;
}

void myr_cache_version(const struct myr_cache *c, uint32_t i, uint16_t *major,
		       uint16_t *minor)
{
	*major = c->v.modules[i].ver_major;
	*minor = c->v.modules[i].ver_minor;
}

const char *myr_cache_name(const struct myr_cache *c, uint32_t i)
{
	return c->v.strings + c->v.modules[i].name_off;
}

uint32_t myr_cache_module_count(const struct myr_cache *c)
{
	return c->v.hdr->modules.count;
}

/* Mark module i (usable) active; only one with fixups is listed for
 * myr_cache_activate(). */
static void mark_active(struct myr_cache *c, uint32_t i)
{
	c->nactive++;
	if (c->state[i] & ST_FIXUP)
		c->fixups[c->nfixups++] = i;
}

uint32_t myr_cache_activate_closure(struct myr_cache *c, const uint32_t *list,
				    uint32_t n, uint32_t *init)
{
	uint32_t ninit = 0;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = list[k] & MYR_CACHE_PLAN_INDEX;
		if (c->state[i] & ST_ACTIVE)
			continue;
		c->state[i] |= ST_ACTIVE;
		mark_active(c, i);
		if (c->state[i] & ST_INIT)
			init[ninit++] = i;
	}
	return ninit;
}

/* Requires usable(i): every module of the closure is checked. */
uint32_t myr_cache_order(struct myr_cache *c, uint32_t root, uint32_t *order)
{
	uint32_t depth = 0, n = 0;

	if (c->state[root] & ST_ACTIVE || scratch(c) < 0)
		return 0;
	c->stack[depth++] = root;
	c->next[root] = 0;
	c->state[root] |= ST_ACTIVE | ST_VISITING;
	while (depth) {
		uint32_t i = c->stack[depth - 1];
		const struct myr_cache_module *m = &c->v.modules[i];
		if (c->next[i] < m->deps.count) {
			uint32_t d = c->v.deps[m->deps.off + c->next[i]++];
			if (c->state[d] & ST_ACTIVE)
				continue;
			c->state[d] |= ST_ACTIVE | ST_VISITING;
			c->next[d] = 0;
			c->stack[depth++] = d;
			continue;
		}
		c->state[i] &= (uint8_t)~ST_VISITING;
		order[n++] = i;
		mark_active(c, i);
		depth--;
	}
	return n;
}

/*
 * A launch closure is never trusted blindly: one pass in list order
 * decides every entry (checked, fresh, pinned where allowed), and every
 * dependency of an entry must be an earlier entry, so the list is a
 * complete closure in a valid init order.  ST_VISITING marks "seen in
 * this list".
 */
static int closure_ok(struct myr_cache *c, const uint32_t *l, uint32_t count)
{
	uint32_t nmod = c->v.hdr->modules.count;
	int ok = 1;

	for (uint32_t k = 0; k < count && ok; k++) {
		uint32_t i = myr_cache_closure_index(&c->v, l[k]);
		if (i >= nmod) {
			ok = 0;
			break;
		}
		const struct myr_cache_module *e = &c->v.modules[i];
		if (c->state[i] & (ST_VISITING | ST_ACTIVE) ||
		    ((c->state[i] & ST_DONE) && !(c->state[i] & ST_USABLE))) {
			ok = 0;
			break;
		}
		if (!(c->state[i] & ST_DONE)) {
			uint8_t bits = own_ok(c, i);
			if (!bits) {
				ok = 0;
				break;
			}
			c->state[i] = bits & (uint8_t)~ST_USABLE;
		}
		/* A sealed image's closure comes from the service that
		 * checked the image: its order is the service's walk. */
		for (uint32_t d = 0; !c->sealed && d < e->deps.count; d++)
			if (!(c->state[c->v.deps[e->deps.off + d]] & ST_VISITING))
				ok = 0;
		c->state[i] |= ST_VISITING;
	}
	for (uint32_t k = 0; k < count; k++) {
		uint32_t i = myr_cache_closure_index(&c->v, l[k]);
		if (i >= nmod || !(c->state[i] & ST_VISITING))
			break;
		c->state[i] &= (uint8_t)~ST_VISITING;
		if (ok)
			c->state[i] |= ST_DONE | ST_USABLE;
	}
	return ok;
}

/* The states of l's first k entries (module index: entry & index) back
 * to undecided.  Out of line: the loops that call it stay small. */
static __attribute__((noinline)) void undecide(struct myr_cache *c,
					       const uint32_t *l, uint32_t k,
					       uint32_t index)
{
	while (k--)
		c->state[l[k] & index] = 0;
}

/*
 * A closure whose entries are already vouched for (their records and
 * order checked by the builder, or planned by the service that built and
 * checked the image) decided in list order from what only this launch
 * can change: each entry must be in range and new to this launch, and a
 * pinned one needs this launcher's host addresses.  Plan entries carry
 * their MYR_CACHE_PLAN_* bits, so no record is read (10,000 scattered
 * records cost more than the rest of the launch); with records, entries
 * are plain module indexes (an image without MYR_CACHE_F_PLAN) and the
 * bits are read from each record.  1, every entry usable; or 0, states
 * put back as they were.  Inlined, so that each caller has the loop its
 * kind of entry needs.
 */
static inline __attribute__((always_inline)) int
entries_ok(struct myr_cache *c, const uint32_t *l, uint32_t count, int records)
{
	uint32_t nmod = c->v.hdr->modules.count, k;
	uint32_t index = records ? UINT32_MAX : MYR_CACHE_PLAN_INDEX;

	for (k = 0; k < count; k++) {
		uint32_t e = l[k], i = e & index;
		if (i >= nmod || c->state[i])
			break;
		if (records)
			e = myr_cache_plan_entry(&c->v, i);
		if ((e & MYR_CACHE_PLAN_PINNED) && !c->pins_valid)
			break;
		c->state[i] = ST_DONE | ST_USABLE | plan_state(c, e);
	}
	if (k < count)
		undecide(c, l, k, index);
	return k == count;
}

/* entries_ok() of an image without MYR_CACHE_F_PLAN, out of line: inlined
 * too, it took registers from the plan entries' loop. */
static __attribute__((noinline)) int
records_ok(struct myr_cache *c, const uint32_t *l, uint32_t count)
{
	return entries_ok(c, l, count, 1);
}

/*
 * A stamped image's recorded closure: the builder checked every record
 * and the closure's order (myr_cache_check_closure: image modules, each
 * once, after its dependencies), so only what depends on this launch is
 * looked at (entries_ok); an entry that fails there sends the closure to
 * closure_ok().  No dependency is read.
 */
static int stamped_ok(struct myr_cache *c, const uint32_t *l, uint32_t count)
{
	int ok = c->v.hdr->flags & MYR_CACHE_F_PLAN ? entries_ok(c, l, count, 0)
						    : records_ok(c, l, count);
	return ok || closure_ok(c, l, count);
}

uint32_t myr_cache_plan_bits(const struct myr_cache_module *m)
{
	return (m->init.count || m->fini.count ? MYR_CACHE_PLAN_INIT : 0) |
	       (m->binds.count ? MYR_CACHE_PLAN_BINDS : 0) |
	       (m->rebases.count ? MYR_CACHE_PLAN_REBASES : 0) |
	       (m->flags & MYR_CM_PINNED ? MYR_CACHE_PLAN_PINNED : 0);
}

uint32_t myr_cache_plan_entry(const struct myr_cache_view *v, uint32_t i)
{
	return i | myr_cache_plan_bits(&v->modules[i]);
}

/* Strip the plan bits: the list becomes plain module indexes. */
static void plan_strip(uint32_t *l, uint32_t count)
{
	for (uint32_t k = 0; k < count; k++)
		l[k] &= MYR_CACHE_PLAN_INDEX;
}

/* The loader service's plan for the sealed image it built: each entry's
 * bits are what the service read in the module's record (entries_ok).
 * Strips the bits when it holds. */
static int plan_ok(struct myr_cache *c, uint32_t *l, uint32_t count)
{
	if (!entries_ok(c, l, count, 0))
		return 0;
	plan_strip(l, count);
	return 1;
}

/* The service's plan for the program whose checksum is sum, checked; a
 * stale directory takes the checked way (closure_ok): every module's
 * file is then stat'ed.  A plan that fails is dropped: the loader walks
 * the image instead. */
static int use_plan(struct myr_cache *c)
{
	int ok;

	if (c->stale) {
		plan_strip(c->given, c->ngiven);
		ok = closure_ok(c, c->given, c->ngiven);
	} else {
		ok = plan_ok(c, c->given, c->ngiven);
	}
	if (!ok) {
		free(c->given);
		c->given = NULL;
		c->ngiven = 0;
	}
	return ok;
}

int myr_cache_launch_closure(struct myr_cache *c, const char *name,
			     uint32_t len, uint64_t sum, const uint32_t **list,
			     uint32_t *n)
{
	int64_t p;
	const struct myr_cache_module *m = NULL;
	int checked;

	if (c->given && c->given_sum == sum) {
		if (!use_plan(c))
			return -ENOENT;
		*list = c->given;
		*n = c->ngiven;
		c->closure_used = 1;
		return 0;
	}
	p = myr_cache_view_find(&c->v, name, len);
	/* A stamped image's closures were checked by its builder, and so
	 * was the closure of a program the service vouched for without a
	 * plan (docs/service.md, "Programs from the image"). */
	checked = c->verified ||
		  (p >= 0 && c->given_program && (uint64_t)p == c->given_program - 1u);
	/* check_core() reads every closure entry's record: a checked
	 * image's were read by the builder instead. */
	if (p >= 0 && (checked || check_core(&c->v, (uint32_t)p, NULL) == 0))
		m = &c->v.modules[p];
	if (!m || !(m->flags & MYR_CM_PROGRAM) || m->checksum != sum ||
	    !(checked && !c->stale ?
	      stamped_ok(c, c->v.closures + m->closure.off, m->closure.count) :
	      closure_ok(c, c->v.closures + m->closure.off, m->closure.count)))
		return -ENOENT;
	c->closure_used = 1;
	*list = c->v.closures + m->closure.off;
	*n = m->closure.count;
	return 0;
}

int myr_cache_program(struct myr_cache *c, const char *name, uint32_t len,
		      const struct stat *st, uint64_t sum, uint32_t *index,
		      const uint32_t **list, uint32_t *n)
{
	const struct myr_cache_module *m;
	struct myr_cache_stamp s;
	int64_t p;

	/* A sealed image's program was vouched for by the service, which
	 * compared the identity of the descriptor this launch sent with the
	 * one its builder recorded and proved; a stamped image's is compared
	 * here, with the stamp's proof. */
	if (c->sealed ? !c->given_program :
	    !c->verified || c->stale || !c->v.idents ||
	    !(c->stamp_flags & MYR_CACHE_VERIFIED_PROGRAMS) ||
	    !S_ISREG(st->st_mode))
		return -ENOENT;
	p = myr_cache_view_find(&c->v, name, len);
	if (p < 0 || c->state[p] ||
	    (c->sealed && (uint64_t)p != c->given_program - 1u))
		return -ENOENT;
	m = &c->v.modules[p];
	myr_cache_stamp_of(st, &s);
	if (!(m->flags & MYR_CM_PROGRAM) || !(m->flags & MYR_CM_IMAGE) ||
	    ((m->flags & MYR_CM_PINNED) && !c->pins_valid) ||
	    m->checksum != sum ||
	    (!c->sealed && memcmp(&s, &c->v.idents[p].st, sizeof(s)) != 0) ||
	    myr_cache_launch_closure(c, name, len, sum, list, n) < 0)
		return -ENOENT;
	c->state[p] = ST_DONE | ST_USABLE | use_bits(c, m);
	*index = (uint32_t)p;
	return 0;
}

int myr_cache_give_closure(struct myr_cache *c, uint64_t sum, uint32_t *list,
			   uint32_t n, uint32_t program)
{
	if (!c->sealed) {
		free(list);
		return -EINVAL;
	}
	free(c->given);
	if (n == 0) {   /* none sent: the image's own records serve */
		free(list);
		list = NULL;
	}
	c->given = list;
	c->ngiven = n;
	c->given_sum = sum;
	c->given_program = program;
	return 0;
}

int myr_cache_give_program_copy(struct myr_cache *c, int fd)
{
	if (!c->sealed) {
		close(fd);
		return -EINVAL;
	}
	if (c->program_copy >= 0)
		close(c->program_copy);
	c->program_copy = fd;
	return 0;
}

int myr_cache_take_program_copy(struct myr_cache *c)
{
	int fd = c->program_copy;

	c->program_copy = -1;
	return fd;
}

/*
 * The data template (relro, data, bss), written in by the launch in one
 * call instead of a fault or two a page (a read fault, then the copy on
 * write; each about 10 us on a virtualised machine): at 10,000 modules,
 * 84 of a served launch's 183 faults.  Only when the launch uses at
 * least a quarter of the image's modules (packed by class, so about that
 * share of the template is theirs): populating copies every page, also
 * those no used module writes, which a launch of a few modules from a
 * large directory must not pay for.  MADV_POPULATE_WRITE is Linux 5.14;
 * an older kernel refuses it (EINVAL) and the pages fault in as before.
 *
 * The service's memfd has its text and rodata mapped in by one call too:
 * shmem keeps small pages, so each fault maps only what fault-around
 * finds (35 faults at 10,000 modules, served 6.75 -> 6.09 ms, benchrun
 * medians of 301).  A cache file is not: ext4's large folios are mapped
 * a folio a fault already, and populating every page of it cost more
 * than it saved (5.05 -> 5.87 ms).
 */
static void populate(struct myr_cache *c)
{
	const struct myr_cache_header *h = c->v.hdr;
	uint64_t from = h->class_start[MYR_CLASS_RELRO];

	if ((uint64_t)c->nactive * 4 < h->modules.count ||
	    h->image_size <= from)
		return;
	(void)madvise(c->image + from, h->image_size - from,
		      MADV_POPULATE_WRITE);
	if (c->sealed && from)
		(void)madvise(c->image, from, MADV_POPULATE_READ);
}

int myr_cache_activate(struct myr_cache *c, struct myr_error *err)
{
	const struct myr_cache_header *h = c->v.hdr;
	uint64_t from = h->class_start[MYR_CLASS_RELRO];
	uint64_t to = h->class_start[MYR_CLASS_DATA];

	populate(c);
	/* The host slots, only now: every module used was checked against
	 * the pages as built, slots included. */
	for (uint32_t i = 0; i < h->hostsyms.count; i++) {
		const struct myr_cache_hostsym *s = &c->v.hostsyms[i];
		if (s->kind == MYR_SYM_FUNC) {
			uint64_t v = (uint64_t)c->hostaddr[i];
			memcpy(c->image + s->slot, &v, 8);
		}
	}
	for (uint32_t k = 0; k < c->nfixups; k++) {
		const struct myr_cache_module *m = &c->v.modules[c->fixups[k]];
		/* check_content() saw every site as built; one still not
		 * as built now was written by an earlier fixup: sites that
		 * overlap, which no builder writes. */
		for (uint32_t j = 0; j < m->binds.count; j++) {
			const struct myr_cache_bind *b = &c->v.binds[m->binds.off + j];
			uint64_t val = (uint64_t)c->hostaddr[b->sym] +
				       (uint64_t)b->addend;
			if (word_at(c->image, b->site) !=
			    c->v.hostsyms[b->sym].build_addr + (uint64_t)b->addend)
				return myr_error_set(err, -EBADMSG, "module %s: "
						     "bind %u overlaps another "
						     "fixup", c->v.strings +
						     m->name_off, j);
			memcpy(c->image + b->site, &val, 8);
		}
		if (c->slide == 0)
			continue;
		for (uint32_t j = 0; j < m->rebases.count; j++) {
			uint32_t off = c->v.rebases[m->rebases.off + j];
			uint64_t val = word_at(c->image, off);
			if (!points_into(h, val, 0, MYR_CLASS_COUNT))
				return myr_error_set(err, -EBADMSG, "module %s: "
						     "rebase %u overlaps another "
						     "fixup", c->v.strings +
						     m->name_off, j);
			val += (uint64_t)c->slide;
			memcpy(c->image + off, &val, 8);
		}
	}
	if (to > from && mprotect(c->image + from, to - from, PROT_READ) != 0) {
		int e = errno;
		return myr_error_set(err, -e, "mprotect of the image's relro: %s",
				     strerror(e));
	}
	return 0;
}

void myr_cache_span(const struct myr_cache *c, uintptr_t *lo, uintptr_t *hi)
{
	*lo = (uintptr_t)c->image;
	*hi = (uintptr_t)c->image + c->image_size;
}

const struct myr_link_module *myri_cache_link_module(struct myr_cache *c,
						     uint32_t i,
						     struct myr_error *err)
{
	const struct myr_cache_module *m = &c->v.modules[i];
	struct cached_link *cl = c->links[i];
	int r;

	if (cl)
		return &cl->link;
	r = c->sealed || c->verified ? 0 : check_core(&c->v, i, err);
	if (r == 0 && !c->sealed && !c->verified)
		r = check_exports(&c->v, i, err);
	if (r < 0)
		return NULL;
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		myr_error_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	cl->hdr.exports.count = m->exports.count;
	cl->hdr.buckets.count = m->ebuckets.count;
	cl->hdr.name_len = m->name_len;
	cl->hdr.ver_major = m->ver_major;
	cl->hdr.ver_minor = m->ver_minor;
	cl->hdr.ver_patch = m->ver_patch;
	cl->view.hdr = &cl->hdr;
	cl->view.name = c->v.strings + m->name_off;
	cl->view.exports = c->v.exports + m->exports.off;
	cl->view.buckets = c->v.ebuckets + m->ebuckets.off;
	cl->view.strtab = c->v.strings;
	cl->link.view = &cl->view;
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
		cl->link.seg[s] = c->image + m->seg_off[s];
	c->links[i] = cl;
	return &cl->link;
}

int myr_cache_is_active(const struct myr_cache *c, uint32_t i)
{
	return i < c->v.hdr->modules.count && (c->state[i] & ST_ACTIVE);
}

int64_t myr_cache_find_active(const struct myr_cache *c, const char *name,
			      uint32_t len)
{
	int64_t i = myr_cache_view_find(&c->v, name, len);
	return i >= 0 && (c->state[i] & ST_ACTIVE) ? i : -ENOENT;
}

void myr_cache_init_array(const struct myr_cache *c, uint32_t i, int fini,
			  void (*const **fns)(void), uint32_t *n)
{
	if (!(c->state[i] & ST_INIT)) {
		*n = 0;
		*fns = NULL;
		return;
	}
	const struct myr_cache_table *a = fini ? &c->v.modules[i].fini
					       : &c->v.modules[i].init;
	*n = a->count;
	*fns = a->count ? (void (*const *)(void))(void *)(c->image + a->off)
			: NULL;
}

void myr_cache_info(const struct myr_cache *c, struct myr_cache_info *out)
{
	memset(out, 0, sizeof(*out));
	out->modules = c->v.hdr->modules.count;
	out->stale = c->stale;
	out->slid = c->slide != 0;
	out->pins_valid = c->pins_valid;
	out->closure_used = c->closure_used;
	out->verified = c->verified;
	out->stat_calls = c->stat_calls;
	out->active = c->nactive;
	out->ns_open = c->ns_open;
}

const char *myr_cache_problem(const struct myr_cache *c)
{
	return c && c->has_problem ? c->problem.msg : NULL;
}

void myr_cache_close_fds(struct myr_cache *c)
{
	if (c && c->dirfd >= 0) {
		close(c->dirfd);
		c->dirfd = -1;
	}
	if (c && c->program_copy >= 0) {
		close(c->program_copy);
		c->program_copy = -1;
	}
}

static void free_bookkeeping(struct myr_cache *c)
{
	myr_cache_close_fds(c);
	if (c->links)
		for (uint32_t i = 0; c->v.hdr && i < c->v.hdr->modules.count; i++)
			free(c->links[i]);
	free(c->links);
	free(c->state);
	free(c->stack);
	free(c->next);
	free(c->fixups);
	free(c->hostaddr);
	free(c->pages_done);
	free(c->given);
}

void myr_cache_release(struct myr_cache *c)
{
	/* Lookups (ctx->lookup) keep using the links and the metadata, so
	 * only the launch's scratch goes. */
	if (!c)
		return;
	myr_cache_close_fds(c);
	free(c->stack);
	free(c->next);
	c->stack = c->next = NULL;
}

void myr_cache_close(struct myr_cache *c)
{
	if (!c)
		return;
	free_bookkeeping(c);
	if (c->image)
		munmap(c->image, c->image_size);
	if (c->meta)
		munmap(c->meta, c->meta_len);
	free(c);
}
