/* SPDX-License-Identifier: MIT */
/*
 * The module writer: lays out a struct myr_module_desc as a format v2 file.
 *
 * The writer checks only what it needs to build the file safely (pointers,
 * lengths that must fit their fields, counts within limits) and then runs
 * the reader over its own output.  The reader is the one definition of a
 * valid module, so whatever the writer returns is guaranteed to load, and a
 * desc that would not is refused with the reader's description of why.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include <lz4hc.h>
#include <myriad/module.h>

#define HDR_SIZE ((uint32_t)sizeof(struct myr_header))

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* ------------------------------------------------------------------ */
/* String table with deduplication                                     */
/* ------------------------------------------------------------------ */

struct str_slot {
	uint32_t off, len, hash;
	uint32_t used;
};

struct strtab {
	char *buf;
	size_t len, cap;
	struct str_slot *slots;   /* open addressing, power-of-two size */
	size_t nslots, nused;
	struct myr_error *err;
};

static void strtab_free(struct strtab *st)
{
	free(st->buf);
	free(st->slots);
}

static int strtab_grow_slots(struct strtab *st)
{
	size_t n = st->nslots ? st->nslots * 2 : 1024;
	struct str_slot *slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < st->nslots; i++) {
		struct str_slot *s = &st->slots[i];
		if (!s->used)
			continue;
		size_t j = s->hash & (n - 1);
		while (slots[j].used)
			j = (j + 1) & (n - 1);
		slots[j] = *s;
	}
	free(st->slots);
	st->slots = slots;
	st->nslots = n;
	return 0;
}

/* Add len bytes of s (plus a NUL) unless already present; *off is where. */
static int strtab_add(struct strtab *st, const char *s, uint32_t len, uint32_t *off)
{
	if (st->nused * 2 >= st->nslots && strtab_grow_slots(st))
		return -ENOMEM;

	uint32_t hash = myr_symbol_hash(s, len);
	size_t j = hash & (st->nslots - 1);
	for (; st->slots[j].used; j = (j + 1) & (st->nslots - 1)) {
		const struct str_slot *e = &st->slots[j];
		if (e->hash == hash && e->len == len && memcmp(st->buf + e->off, s, len) == 0) {
			*off = e->off;
			return 0;
		}
	}

	if (st->len + len + 1 > MYR_META_MAX)
		return myr_error_set(st->err, -E2BIG,
				     "string table over the metadata limit of %u bytes "
				     "(MYR_META_MAX)", MYR_META_MAX);
	if (st->len + len + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 4096;
		while (cap < st->len + len + 1)
			cap *= 2;
		char *buf = realloc(st->buf, cap);
		if (!buf)
			return -ENOMEM;
		st->buf = buf;
		st->cap = cap;
	}
	*off = (uint32_t)st->len;
	memcpy(st->buf + st->len, s, len);
	st->buf[st->len + len] = '\0';
	st->len += len + 1;
	st->slots[j] = (struct str_slot){ *off, len, hash, 1 };
	st->nused++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Desc checks needed before building                                  */
/* ------------------------------------------------------------------ */

/* Length of a name, or -1 when NULL or longer than max (no overread). */
static int64_t bounded_len(const char *s, size_t max)
{
	if (!s)
		return -1;
	size_t n = strnlen(s, max + 1);
	return n > max ? -1 : (int64_t)n;
}

static int check_count(size_t n, uint32_t limit, const char *what, struct myr_error *err)
{
	if (n > limit)
		return myr_error_set(err, -EINVAL, "%zu %s, over the limit of %u",
				     n, what, limit);
	return 0;
}

static int check_desc(const struct myr_module_desc *d, struct myr_error *err)
{
	int rc;

	if ((rc = check_count(d->ndeps, MYR_DEPS_MAX, "dependencies", err)) ||
	    (rc = check_count(d->nclosure, MYR_CLOSURE_MAX, "closure entries", err)) ||
	    (rc = check_count(d->nimports, MYR_IMPORTS_MAX, "imports", err)) ||
	    (rc = check_count(d->nexports, MYR_EXPORTS_MAX, "exports", err)) ||
	    (rc = check_count(d->nrelocs, MYR_RELOCS_MAX, "relocations", err)))
		return rc;
	if ((d->ndeps && !d->deps) || (d->nclosure && !d->closure) ||
	    (d->nimports && !d->imports) || (d->nexports && !d->exports) ||
	    (d->nrelocs && !d->relocs))
		return myr_error_set(err, -EINVAL, "a table has entries but no array");
	if (bounded_len(d->name, MYR_NAME_MAX) < 1)
		return myr_error_set(err, -EINVAL,
				     "module name missing, empty or longer than %u bytes",
				     MYR_NAME_MAX);
	for (size_t i = 0; i < d->ndeps; i++)
		if (bounded_len(d->deps[i].name, MYR_NAME_MAX) < 1)
			return myr_error_set(err, -EINVAL,
					     "dependency %zu: name missing, empty or longer "
					     "than %u bytes", i, MYR_NAME_MAX);
	for (size_t i = 0; i < d->nclosure; i++)
		if (bounded_len(d->closure[i].name, MYR_NAME_MAX) < 1)
			return myr_error_set(err, -EINVAL,
					     "closure entry %zu: name missing, empty or longer "
					     "than %u bytes", i, MYR_NAME_MAX);
	for (size_t i = 0; i < d->nimports; i++)
		if (bounded_len(d->imports[i].name, MYR_SYMBOL_MAX) < 1)
			return myr_error_set(err, -EINVAL,
					     "import %zu: name missing, empty or longer than "
					     "%u bytes (MYR_SYMBOL_MAX)", i, MYR_SYMBOL_MAX);
	for (size_t i = 0; i < d->nexports; i++)
		if (bounded_len(d->exports[i].name, MYR_SYMBOL_MAX) < 1)
			return myr_error_set(err, -EINVAL,
					     "export %zu: name missing, empty or longer than "
					     "%u bytes (MYR_SYMBOL_MAX)", i, MYR_SYMBOL_MAX);
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		const struct myr_desc_segment *sg = &d->seg[s];
		if (sg->size > MYR_SEGMENT_MAX)
			return myr_error_set(err, -EINVAL,
					     "segment %s: %u bytes, over the limit of %u "
					     "(MYR_SEGMENT_MAX)", myr_segment_name(s), sg->size,
					     MYR_SEGMENT_MAX);
		if (s != MYR_SEG_BSS && sg->size && !sg->data)
			return myr_error_set(err, -EINVAL, "segment %s: %u bytes but no data",
					     myr_segment_name(s), sg->size);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Exports in bucket order                                             */
/* ------------------------------------------------------------------ */

struct sorted_export {
	uint32_t bucket, hash, len, index;
	const char *name;
};

static int sorted_export_cmp(const void *pa, const void *pb)
{
	const struct sorted_export *a = pa, *b = pb;
	if (a->bucket != b->bucket)
		return a->bucket < b->bucket ? -1 : 1;
	return myr_symbol_key_cmp(a->hash, a->name, a->len, b->hash, b->name, b->len);
}

/* The smallest power of two >= n, so buckets hold about one export each. */
static uint32_t bucket_count(size_t nexports)
{
	uint32_t nb = 1;
	if (nexports == 0)
		return 0;
	while (nb < nexports)
		nb *= 2;
	return nb;
}

/* ------------------------------------------------------------------ */
/* Segments                                                            */
/* ------------------------------------------------------------------ */

struct payload {
	const void *bytes;
	uint32_t size;
	uint8_t encoding;
	void *owned;
};

static int compress_segment(const struct myr_desc_segment *sg, int compress,
			    struct payload *p)
{
	p->bytes = sg->data;
	p->size = sg->size;
	p->encoding = MYR_ENC_RAW;
	p->owned = NULL;
	if (!compress || sg->size < 2 ||
	    (compress == MYR_COMPRESS_PAGES && sg->size <= MYR_COMPRESS_PAGE_SAVING))
		return 0;

	/*
	 * A capacity one byte short of the input makes LZ4 give up (return 0)
	 * exactly when compression would not save anything; then store raw.
	 */
	int cap = (int)sg->size - 1;
	char *buf = malloc((size_t)cap);
	if (!buf)
		return -ENOMEM;
	int n = LZ4_compress_HC(sg->data, buf, (int)sg->size, cap, LZ4HC_CLEVEL_MAX);
	if (n <= 0 || (compress == MYR_COMPRESS_PAGES &&
		       sg->size - (uint32_t)n < MYR_COMPRESS_PAGE_SAVING)) {
		free(buf);
		return 0;
	}
	p->bytes = buf;
	p->size = (uint32_t)n;
	p->encoding = MYR_ENC_LZ4;
	p->owned = buf;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Write                                                               */
/* ------------------------------------------------------------------ */

struct layout {
	uint32_t shebang_len;
	uint64_t deps, closure, imports, exports, buckets, relocs, strtab;
	uint64_t meta_size, file_size;
	uint64_t seg_off[MYR_SEG_COUNT];        /* 0 for bss and empty ones */
};

static uint64_t place(uint64_t *cursor, uint64_t bytes)
{
	if (bytes == 0)
		return 0;
	uint64_t at = align_up(*cursor, MYR_TABLE_ALIGN);
	*cursor = at + bytes;
	return at;
}

static int shebang_length(const char *interp, uint32_t *out, struct myr_error *err)
{
	*out = 0;
	if (!interp)
		return 0;
	int64_t n = bounded_len(interp, MYR_SHEBANG_MAX);
	if (n < 1 || memchr(interp, '\n', (size_t)n))
		return myr_error_set(err, -EINVAL,
				     "#! interpreter empty, containing a newline, or longer "
				     "than the line limit of %u bytes", MYR_SHEBANG_MAX);
	uint64_t line = align_up(2 + (uint64_t)n + 1, MYR_SHEBANG_ALIGN);
	if (line > MYR_SHEBANG_MAX)
		return myr_error_set(err, -EINVAL,
				     "#! line would be %llu bytes, over the limit of %u "
				     "(MYR_SHEBANG_MAX)", (unsigned long long)line,
				     MYR_SHEBANG_MAX);
	*out = (uint32_t)line;
	return 0;
}

static void put_table(struct myr_table *t, uint64_t off, size_t count)
{
	t->off = (uint32_t)off;
	t->count = (uint32_t)count;
}

/* The dependency table (closure 0: each entry's flags) or the closure hint
 * (closure 1: each entry's size_hint; the two share a word). */
static int fill_deps(struct strtab *st, const struct myr_desc_dep *src, size_t n,
		     int closure, struct myr_dep *dst)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t len = (uint32_t)strlen(src[i].name), off;
		int rc = strtab_add(st, src[i].name, len, &off);
		if (rc)
			return rc;
		dst[i] = (struct myr_dep){
			.name_off = off, .name_len = (uint16_t)len,
			.ver_major = src[i].ver_major, .ver_minor = src[i].ver_minor,
			.ver_patch = src[i].ver_patch,
		};
		if (closure)
			dst[i].size_hint = src[i].size_hint;
		else
			dst[i].flags = src[i].flags;
	}
	return 0;
}

struct tables {
	struct myr_dep *deps, *closure;
	struct myr_import *imports;
	struct myr_export *exports;
	uint32_t *buckets;
	struct sorted_export *order;
	uint32_t nbuckets, name_off;
};

static void tables_free(struct tables *t)
{
	free(t->deps);
	free(t->closure);
	free(t->imports);
	free(t->exports);
	free(t->buckets);
	free(t->order);
}

static int build_tables(const struct myr_module_desc *d, struct strtab *st,
			struct tables *t)
{
	int rc;

	/* calloc(0) may return NULL; one spare element keeps NULL meaning ENOMEM. */
	t->deps = calloc(d->ndeps + 1, sizeof(*t->deps));
	t->closure = calloc(d->nclosure + 1, sizeof(*t->closure));
	t->imports = calloc(d->nimports + 1, sizeof(*t->imports));
	t->exports = calloc(d->nexports + 1, sizeof(*t->exports));
	t->order = calloc(d->nexports + 1, sizeof(*t->order));
	t->nbuckets = bucket_count(d->nexports);
	t->buckets = calloc((size_t)t->nbuckets + 1, sizeof(*t->buckets));
	if (!t->deps || !t->closure || !t->imports || !t->exports || !t->order ||
	    !t->buckets)
		return -ENOMEM;

	if ((rc = strtab_add(st, d->name, (uint32_t)strlen(d->name), &t->name_off)) ||
	    (rc = fill_deps(st, d->deps, d->ndeps, 0, t->deps)) ||
	    (rc = fill_deps(st, d->closure, d->nclosure, 1, t->closure)))
		return rc;

	for (size_t i = 0; i < d->nimports; i++) {
		const struct myr_desc_import *im = &d->imports[i];
		uint32_t len = (uint32_t)strlen(im->name), off;
		if ((rc = strtab_add(st, im->name, len, &off)))
			return rc;
		t->imports[i] = (struct myr_import){
			.name_off = off, .name_len = (uint16_t)len, .dep = im->dep,
			.hash = myr_symbol_hash(im->name, len),
			.export_hint = im->export_hint,
		};
	}

	for (size_t i = 0; i < d->nexports; i++) {
		uint32_t len = (uint32_t)strlen(d->exports[i].name);
		uint32_t hash = myr_symbol_hash(d->exports[i].name, len);
		t->order[i] = (struct sorted_export){
			.bucket = hash & (t->nbuckets - 1), .hash = hash, .len = len,
			.index = (uint32_t)i, .name = d->exports[i].name,
		};
	}
	qsort(t->order, d->nexports, sizeof(*t->order), sorted_export_cmp);
	for (size_t i = 0; i < d->nexports; i++) {
		const struct sorted_export *o = &t->order[i];
		const struct myr_desc_export *e = &d->exports[o->index];
		uint32_t off;
		if ((rc = strtab_add(st, e->name, o->len, &off)))
			return rc;
		t->exports[i] = (struct myr_export){
			.name_off = off, .name_len = (uint16_t)o->len, .seg = e->seg,
			.kind = e->kind, .hash = o->hash, .off = e->off,
		};
		/* buckets[b + 1] counts bucket b; a prefix sum turns counts into ends. */
		t->buckets[o->bucket + 1]++;
	}
	for (uint32_t b = 0; b < t->nbuckets; b++)
		t->buckets[b + 1] += t->buckets[b];
	return 0;
}

/* Where each table and segment goes; fails when the module would be over
 * a format limit. */
static int lay_out(const struct myr_module_desc *d, const struct tables *t,
		   const struct strtab *st, const struct payload pl[MYR_SEG_COUNT],
		   struct layout *L, struct myr_error *err)
{
	int rc = shebang_length(d->shebang, &L->shebang_len, err);
	if (rc)
		return rc;

	uint64_t cur = HDR_SIZE;
	L->deps = place(&cur, d->ndeps * sizeof(struct myr_dep));
	L->closure = place(&cur, d->nclosure * sizeof(struct myr_dep));
	L->imports = place(&cur, d->nimports * sizeof(struct myr_import));
	L->exports = place(&cur, d->nexports * sizeof(struct myr_export));
	L->buckets = place(&cur, t->nbuckets ? ((uint64_t)t->nbuckets + 1) * 4 : 0);
	L->relocs = place(&cur, d->nrelocs * sizeof(struct myr_reloc));
	L->strtab = place(&cur, st->len);
	L->meta_size = cur;
	if (L->meta_size > MYR_META_MAX)
		return myr_error_set(err, -EINVAL,
				     "metadata would be %llu bytes, over the limit of %u "
				     "(MYR_META_MAX)", (unsigned long long)L->meta_size,
				     MYR_META_MAX);

	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		if (s == MYR_SEG_BSS || pl[s].size == 0)
			continue;
		L->seg_off[s] = cur;
		cur += pl[s].size;
	}
	L->file_size = cur;
	if (L->shebang_len + L->file_size > MYR_FILE_MAX)
		return myr_error_set(err, -EINVAL,
				     "module would be %llu bytes, over the limit of %u "
				     "(MYR_FILE_MAX)",
				     (unsigned long long)(L->shebang_len + L->file_size),
				     MYR_FILE_MAX);
	return 0;
}

static void write_shebang(uint8_t *file, const char *shebang, uint32_t len)
{
	size_t n = strlen(shebang);
	memset(file, ' ', len);
	memcpy(file, "#!", 2);
	memcpy(file + 2, shebang, n);
	file[len - 1] = '\n';
}

static void fill_header(const struct myr_module_desc *d, const struct tables *t,
			const struct strtab *st,
			const struct payload pl[MYR_SEG_COUNT],
			const struct layout *L, struct myr_header *h)
{
	memcpy(h->magic, MYR_MAGIC, MYR_MAGIC_SIZE);
	h->format_version = MYR_FORMAT_VERSION;
	h->arch = d->arch;
	h->flags = d->flags;
	h->file_size = (uint32_t)L->file_size;
	h->meta_size = (uint32_t)L->meta_size;
	h->ver_major = d->ver_major;
	h->ver_minor = d->ver_minor;
	h->ver_patch = d->ver_patch;
	h->name_len = (uint16_t)strlen(d->name);
	h->name_off = t->name_off;
	h->caps = d->caps;
	put_table(&h->deps, L->deps, d->ndeps);
	put_table(&h->closure, L->closure, d->nclosure);
	put_table(&h->imports, L->imports, d->nimports);
	put_table(&h->exports, L->exports, d->nexports);
	put_table(&h->buckets, L->buckets, t->nbuckets);
	put_table(&h->relocs, L->relocs, d->nrelocs);
	h->strtab_off = (uint32_t)L->strtab;
	h->strtab_size = (uint32_t)st->len;
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
		h->seg[s] = (struct myr_segment_desc){
			.size = d->seg[s].size,
			.file_off = (uint32_t)L->seg_off[s],
			.file_size = s == MYR_SEG_BSS ? 0 : pl[s].size,
			.align_log2 = d->seg[s].align_log2,
			.encoding = s == MYR_SEG_BSS ? MYR_ENC_RAW : pl[s].encoding,
		};
	h->entry.seg = d->entry.seg;
	h->entry.off = d->entry.off;
	h->init = (struct myr_array_ref){ .seg = d->init.seg, .off = d->init.off,
					  .count = d->init.count };
	h->fini = (struct myr_array_ref){ .seg = d->fini.seg, .off = d->fini.off,
					  .count = d->fini.count };
}

/* The tables and segment bytes at their places in module M. */
static void copy_contents(uint8_t *m, const struct myr_module_desc *d,
			  const struct tables *t, const struct strtab *st,
			  const struct payload pl[MYR_SEG_COUNT],
			  const struct layout *L)
{
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
		if (pl[s].size && s != MYR_SEG_BSS)
			memcpy(m + L->seg_off[s], pl[s].bytes, pl[s].size);
	memcpy(m + L->deps, t->deps, d->ndeps * sizeof(struct myr_dep));
	memcpy(m + L->closure, t->closure, d->nclosure * sizeof(struct myr_dep));
	memcpy(m + L->imports, t->imports, d->nimports * sizeof(struct myr_import));
	memcpy(m + L->exports, t->exports, d->nexports * sizeof(struct myr_export));
	if (t->nbuckets)
		memcpy(m + L->buckets, t->buckets, ((size_t)t->nbuckets + 1) * 4);
	for (size_t i = 0; i < d->nrelocs; i++) {
		struct myr_reloc r = d->relocs[i];
		r.reserved = 0;
		memcpy(m + L->relocs + i * sizeof(r), &r, sizeof(r));
	}
	if (st->len)
		memcpy(m + L->strtab, st->buf, st->len);
}

static int assemble(const struct myr_module_desc *d, const struct tables *t,
		    const struct strtab *st, const struct payload pl[MYR_SEG_COUNT],
		    uint8_t **out, size_t *out_len, struct myr_error *err)
{
	struct layout L = { 0 };
	struct myr_header h = { 0 };
	int rc = lay_out(d, t, st, pl, &L, err);
	if (rc)
		return rc;

	size_t total = L.shebang_len + (size_t)L.file_size;
	uint8_t *file = calloc(1, total);
	if (!file)
		return -ENOMEM;
	if (L.shebang_len)
		write_shebang(file, d->shebang, L.shebang_len);

	uint8_t *m = file + L.shebang_len;
	fill_header(d, t, st, pl, &L, &h);
	copy_contents(m, d, t, st, pl, &L);
	memcpy(m, &h, sizeof(h));
	h.checksum = myr_module_checksum(m, h.file_size);
	memcpy(m + offsetof(struct myr_header, checksum), &h.checksum,
	       sizeof(h.checksum));

	*out = file;
	*out_len = total;
	return 0;
}

int myr_module_write(const struct myr_module_desc *desc, uint8_t **out,
		     size_t *out_len, struct myr_error *err)
{
	struct strtab st = { .err = err };
	struct tables t = { 0 };
	struct payload pl[MYR_SEG_COUNT] = { 0 };
	uint8_t *file = NULL;
	size_t len = 0;
	int rc;

	if (!desc || !out || !out_len)
		return myr_error_set(err, -EINVAL, "no module description or output");
	*out = NULL;
	*out_len = 0;
	if ((rc = check_desc(desc, err)))
		return rc;

	if ((rc = build_tables(desc, &st, &t)))
		goto done;
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		if (s == MYR_SEG_BSS)
			continue;
		if ((rc = compress_segment(&desc->seg[s], desc->compress, &pl[s])))
			goto done;
	}
	if ((rc = assemble(desc, &t, &st, pl, &file, &len, err)))
		goto done;

	struct myr_error perr;
	if ((rc = myr_module_parse(file, len, 0, NULL, &perr))) {
		rc = myr_error_set(err, -EINVAL, "%s", perr.msg);
		goto done;
	}
	*out = file;
	*out_len = len;
	file = NULL;
done:
	if (rc == -E2BIG)
		rc = myr_error_set(err, -EINVAL, "%s", err ? err->msg : "");
	else if (rc == -ENOMEM)
		myr_error_set(err, -ENOMEM, "out of memory");
	free(file);
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
		free(pl[s].owned);
	tables_free(&t);
	strtab_free(&st);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Helpers for writers that are not myriad link                        */
/* ------------------------------------------------------------------ */

unsigned myr_writer_api_version(void)
{
	return MYR_WRITER_API_VERSION;
}

void myr_module_desc_init(struct myr_module_desc *desc, const char *name,
			  uint16_t major, uint16_t minor, uint16_t patch)
{
	*desc = (struct myr_module_desc){
		.name = name,
		.ver_major = major, .ver_minor = minor, .ver_patch = patch,
#ifdef MYR_ARCH_HOST
		.arch = MYR_ARCH_HOST,
#endif
		.entry = { .seg = MYR_SEG_NONE },
		.init = { .seg = MYR_SEG_NONE },
		.fini = { .seg = MYR_SEG_NONE },
		.compress = 1,
	};
}

/* The walk's table: entries with their names as offsets into one string
 * buffer (so that it can grow), and a set of indexes + 1 by name. */
struct hint_walk {
	struct myr_desc_dep *e;
	uint32_t *name_at, *parent;
	uint8_t *state;
	size_t n, cap;
	char *str;
	size_t nstr, capstr;
	size_t *slots, nslots;
};

enum { HINT_REQUIRED, HINT_OPTIONAL, HINT_KEPT, HINT_MISSING };

static const char *hint_name(const struct hint_walk *w, size_t i)
{
	return w->str + w->name_at[i];
}

static int hint_rehash(struct hint_walk *w)
{
	size_t nslots = w->nslots ? w->nslots * 2 : 64;
	size_t *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < w->n; i++) {
		const char *name = hint_name(w, i);
		size_t j = myr_symbol_hash(name, (uint32_t)strlen(name)) & (nslots - 1);
		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = i + 1;
	}
	free(w->slots);
	w->slots = slots;
	w->nslots = nslots;
	return 0;
}

/* Record name (len bytes), named first by entry parent, unless the walk
 * has it already.  0 or -ENOMEM. */
static int hint_add(struct hint_walk *w, const char *name, uint32_t len,
		    size_t parent, uint8_t state)
{
	if ((w->n + 1) * 2 >= w->nslots && hint_rehash(w))
		return -ENOMEM;
	size_t j = myr_symbol_hash(name, len) & (w->nslots - 1);
	for (; w->slots[j]; j = (j + 1) & (w->nslots - 1)) {
		const char *have = hint_name(w, w->slots[j] - 1);
		if (strncmp(have, name, len) == 0 && have[len] == '\0')
			return 0;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct myr_desc_dep *e = realloc(w->e, cap * sizeof(*e));
		if (e)
			w->e = e;
		uint32_t *at = e ? realloc(w->name_at, cap * sizeof(*at)) : NULL;
		if (at)
			w->name_at = at;
		uint32_t *pa = at ? realloc(w->parent, cap * sizeof(*pa)) : NULL;
		if (pa)
			w->parent = pa;
		uint8_t *st = pa ? realloc(w->state, cap) : NULL;
		if (!st)
			return -ENOMEM;
		w->state = st;
		w->cap = cap;
	}
	if (w->nstr + len + 1 > w->capstr) {
		size_t cap = w->capstr ? w->capstr : 4096;
		while (cap < w->nstr + len + 1)
			cap *= 2;
		char *str = realloc(w->str, cap);
		if (!str)
			return -ENOMEM;
		w->str = str;
		w->capstr = cap;
	}
	memcpy(w->str + w->nstr, name, len);
	w->str[w->nstr + len] = '\0';
	w->name_at[w->n] = (uint32_t)w->nstr;
	w->nstr += len + 1;
	w->e[w->n] = (struct myr_desc_dep){ 0 };
	w->parent[w->n] = (uint32_t)parent;
	w->state[w->n] = state;
	w->slots[j] = ++w->n;
	return 0;
}

/* Each dependency of v not yet in the walk, named by entry k. */
static int hint_add_deps(struct hint_walk *w, const struct myr_module_view *v, size_t k)
{
	for (uint32_t d = 0; d < v->hdr->deps.count; d++) {
		const struct myr_dep *dep = &v->deps[d];
		const char *name = myr_view_str(v, dep->name_off);
		if (strcmp(name, MYR_HOST_MODULE_NAME) == 0)
			continue;
		if (hint_add(w, name, dep->name_len, k, dep->flags & MYR_DEP_OPTIONAL ?
			     HINT_OPTIONAL : HINT_REQUIRED))
			return -ENOMEM;
	}
	return 0;
}

static void hint_record(struct hint_walk *w, size_t k, const struct myr_module_view *v)
{
	w->e[k].ver_major = v->hdr->ver_major;
	w->e[k].ver_minor = v->hdr->ver_minor;
	w->e[k].ver_patch = v->hdr->ver_patch;
	w->e[k].size_hint = v->hdr->file_size;
	w->state[k] = HINT_KEPT;
}

int myr_module_closure_hint(const struct myr_module_view *const *deps,
			    size_t ndeps, myr_closure_find_fn find, void *opaque,
			    struct myr_desc_dep **out, size_t *nout,
			    struct myr_error *err)
{
	struct hint_walk w = { 0 };
	int rc = -ENOMEM;

	if (!out || !nout || (ndeps && !deps))
		return myr_error_set(err, -EINVAL, "no dependencies or no output");
	*out = NULL;
	*nout = 0;
	for (size_t d = 0; d < ndeps; d++)
		if (!deps[d])
			return myr_error_set(err, -EINVAL, "dependency %zu: no view", d);
	for (size_t d = 0; d < ndeps; d++)
		if (hint_add(&w, deps[d]->name, deps[d]->hdr->name_len, SIZE_MAX,
			     HINT_REQUIRED))
			goto fail;
	if (w.n != ndeps) {
		rc = myr_error_set(err, -EINVAL, "a dependency is listed twice");
		goto fail_rc;
	}
	/* Breadth first: the entries are the queue; entry k < ndeps is
	 * deps[k]. */
	for (size_t k = 0; k < w.n; k++) {
		struct myr_module_view v;
		const struct myr_module_view *have = NULL;
		if (k < ndeps) {
			have = deps[k];
		} else if (find) {
			if (err)
				err->msg[0] = '\0';
			const char *parent = hint_name(&w, w.parent[k]);
			rc = find(opaque, hint_name(&w, k), parent,
				  w.state[k] == HINT_OPTIONAL, &v);
			if (rc < 0) {
				if (!err || !err->msg[0])
					myr_error_set(err, rc, "module %s: %s",
						      hint_name(&w, k), strerror(-rc));
				goto fail_rc;
			}
			if (rc > 0)
				have = &v;
		}
		if (!have) {
			w.state[k] = HINT_MISSING;
			continue;
		}
		hint_record(&w, k, have);
		if (hint_add_deps(&w, have, k))
			goto fail;
	}
	/* One block: the kept entries, then their names. */
	size_t kept = 0, bytes = 0;
	for (size_t k = 0; k < w.n; k++)
		if (w.state[k] == HINT_KEPT) {
			kept++;
			bytes += strlen(hint_name(&w, k)) + 1;
		}
	struct myr_desc_dep *hint = malloc((kept ? kept : 1) * sizeof(*hint) + bytes);
	if (!hint)
		goto fail;
	char *names = (char *)(hint + (kept ? kept : 1));
	size_t at = 0;
	for (size_t k = 0, i = 0; k < w.n; k++) {
		if (w.state[k] != HINT_KEPT)
			continue;
		size_t len = strlen(hint_name(&w, k)) + 1;
		memcpy(names + at, hint_name(&w, k), len);
		hint[i] = w.e[k];
		hint[i++].name = names + at;
		at += len;
	}
	*out = hint;
	*nout = kept;
	rc = 0;
	goto done;
fail:
	rc = myr_error_set(err, -ENOMEM, "out of memory");
fail_rc:
done:
	free(w.e);
	free(w.name_at);
	free(w.parent);
	free(w.state);
	free(w.str);
	free(w.slots);
	return rc;
}
