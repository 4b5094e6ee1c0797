/* SPDX-License-Identifier: MIT */
/*
 * mutate OUTDIR FIRST COUNT FILE... - deterministic mutations of valid
 * modules, for tests/cli/run_mutations.t.
 *
 * Mutation i (0 <= i < COUNT) uses seed FIRST + i, applies to
 * FILE[i % nfiles], is written to OUTDIR/i.myr and described on one line
 * of stdout: "i FILE-INDEX description".
 *
 * Two families, so that every mutation has one right outcome (the module
 * is refused, or the program runs exactly as before):
 *
 *   - Unsealed: the stored checksum is left as it was, so any change of
 *     the checksummed bytes must be refused.  Bit flips, byte edits
 *     anywhere (the #! line included, which the checksum does not cover
 *     and the launcher ignores), truncation, extension, swapped 16-byte
 *     blocks (table entries, payloads), and header field edits.
 *   - Sealed: the checksum is recomputed so that the deeper checks are
 *     what must refuse the module.  Only fields whose every other value is
 *     either invalid or without effect are edited: a sealed edit that
 *     yields another valid program (a moved entry point, a retargeted
 *     relocation, different code bytes) would be a different program, and
 *     no loader can tell it from the original.  Hence: structural header
 *     fields, names and hashes, dependency and version fields, the closure
 *     hint, export kinds, out-of-range segment, offset and index values,
 *     reserved fields, string table bytes, and swaps of entries whose
 *     order is either checked (exports, dependencies) or meaningless
 *     (relocations, closure hint).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <myriad/module.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64: deterministic on every platform. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

struct file {
	uint8_t *p;
	size_t len;
};

static int read_file(const char *path, struct file *f)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	/* Room to extend, and 8-aligned for the reader. */
	f->p = calloc(1, (size_t)n + 128);
	if (!f->p || fread(f->p, 1, (size_t)n, fp) != (size_t)n) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	f->len = (size_t)n;
	return 0;
}

static void put_le(uint8_t *p, unsigned width, uint64_t v)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned width)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < width; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A value likely to hit an edge: around the old one, zero, all ones. */
static uint64_t edge_value(uint64_t old, unsigned width)
{
	uint64_t mask = width == 8 ? ~0ull : (1ull << (8 * width)) - 1;
	switch (below(8)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return (old + 1) & mask;
	case 3: return (old - 1) & mask;
	case 4: return old ^ (1ull << below(8 * width));
	case 5: return mask;
	case 6: return (old + 1 + below(4096)) & mask;
	default: return rnd() & mask;
	}
}

/* A value strictly above floor (for fields where only big values are
 * invalid and small ones would change the program). */
static uint64_t above(uint64_t floor, unsigned width)
{
	uint64_t mask = width == 8 ? ~0ull : (1ull << (8 * width)) - 1;
	if (floor >= mask)
		return mask;
	switch (below(3)) {
	case 0: return floor + 1;
	case 1: return mask;
	default: return floor + 1 + below(mask - floor);
	}
}

struct field {
	const char *name;
	unsigned off, width;
	int only_above;       /* 0: any value; 1: only above the old value;
	                         2: only above MYR_ALIGN_LOG2_MAX */
};

#define HF(name, member, above) { name, offsetof(struct myr_header, member), \
	sizeof(((struct myr_header *)0)->member), above }

/* Header fields a sealed edit may change (see the comment on top): not
 * the entry, init and fini places, segment file offsets, alignments below
 * the limit, nor the relocation count or BSS size downwards. */
static const struct field header_fields[] = {
	HF("magic[3]", magic[3], 0), HF("format_version", format_version, 0),
	HF("arch", arch, 0), HF("flags", flags, 0), HF("file_size", file_size, 0),
	HF("meta_size", meta_size, 0), HF("ver_major", ver_major, 0),
	HF("ver_minor", ver_minor, 0), HF("ver_patch", ver_patch, 0),
	HF("name_len", name_len, 0), HF("name_off", name_off, 0), HF("caps", caps, 0),
	HF("deps.off", deps.off, 0), HF("deps.count", deps.count, 0),
	HF("closure.off", closure.off, 0), HF("closure.count", closure.count, 0),
	HF("imports.off", imports.off, 0), HF("imports.count", imports.count, 0),
	HF("exports.off", exports.off, 0), HF("exports.count", exports.count, 0),
	HF("buckets.off", buckets.off, 0), HF("buckets.count", buckets.count, 0),
	HF("relocs.off", relocs.off, 0), HF("relocs.count", relocs.count, 1),
	HF("strtab_off", strtab_off, 0), HF("strtab_size", strtab_size, 0),
	HF("text.size", seg[0].size, 0), HF("text.file_size", seg[0].file_size, 0),
	HF("text.align_log2", seg[0].align_log2, 2), HF("text.encoding", seg[0].encoding, 0),
	HF("text.reserved", seg[0].reserved, 0),
	HF("rodata.size", seg[1].size, 0), HF("rodata.file_size", seg[1].file_size, 0),
	HF("rodata.align_log2", seg[1].align_log2, 2),
	HF("rodata.encoding", seg[1].encoding, 0),
	HF("relro.size", seg[2].size, 0), HF("relro.file_size", seg[2].file_size, 0),
	HF("relro.encoding", seg[2].encoding, 0), HF("relro.reserved", seg[2].reserved, 0),
	HF("data.size", seg[3].size, 0), HF("data.file_size", seg[3].file_size, 0),
	HF("data.align_log2", seg[3].align_log2, 2), HF("data.encoding", seg[3].encoding, 0),
	HF("bss.size", seg[4].size, 1), HF("bss.file_off", seg[4].file_off, 0),
	HF("bss.file_size", seg[4].file_size, 0), HF("bss.encoding", seg[4].encoding, 0),
	HF("entry.seg", entry.seg, 0), HF("entry.reserved", entry.reserved, 0),
	HF("init.seg", init.seg, 0), HF("init.reserved", init.reserved, 0),
	HF("init.reserved2", init.reserved2, 0),
	HF("fini.seg", fini.seg, 0), HF("fini.reserved", fini.reserved, 0),
	HF("fini.reserved2", fini.reserved2, 0),
	HF("reserved[0]", reserved[0], 0), HF("reserved[7]", reserved[7], 0),
};

struct ctx {
	struct file *f;
	size_t hoff;                    /* header offset (after any #! line) */
	struct myr_header *h;
	struct myr_module_view v;       /* of the unmutated file */
	char desc[256];
	int sealed;
};

static void reseal(struct ctx *c)
{
	c->h->checksum = myr_module_checksum(c->h, c->h->file_size <= c->f->len - c->hoff ?
					     c->h->file_size : c->f->len - c->hoff);
}

static void edit_header(struct ctx *c)
{
	const struct field *fl =
		&header_fields[below(sizeof(header_fields) / sizeof(header_fields[0]))];
	uint8_t *p = (uint8_t *)c->h + fl->off;
	uint64_t old = get_le(p, fl->width), v;

	if (fl->only_above)
		v = above(fl->only_above == 2 ? MYR_ALIGN_LOG2_MAX : old, fl->width);
	else
		v = edge_value(old, fl->width);
	put_le(p, fl->width, v);
	snprintf(c->desc, sizeof(c->desc), "header %s: %#llx -> %#llx", fl->name,
		 (unsigned long long)old, (unsigned long long)v);
}

/* Edit one field of one entry of a table; the choices follow the rules
 * on top.  Returns 0 when the module has no entry in the chosen table. */
static int edit_table(struct ctx *c)
{
	const struct myr_header *h = c->v.hdr;
	uint8_t *base = (uint8_t *)c->h;
	unsigned t = (unsigned)below(6);
	const struct myr_table *tab = (const struct myr_table *[]){
		&h->deps, &h->closure, &h->imports, &h->exports, &h->buckets, &h->relocs }[t];
	static const char *const names[] = { "dep", "closure", "import", "export",
					     "bucket", "reloc" };
	uint32_t count = t == 4 ? (tab->count ? tab->count + 1 : 0) : tab->count;
	if (!count)
		return 0;
	uint32_t i = (uint32_t)below(count);
	unsigned entsize = t == 4 ? 4 : 16;
	uint8_t *e = base + tab->off + (size_t)i * entsize;
	const char *what;
	unsigned off, width;
	uint64_t old, v;

	switch (t) {
	case 0: case 1: {        /* struct myr_dep: every field */
#define DF(m) { #m, offsetof(struct myr_dep, m), sizeof(((struct myr_dep *)0)->m), 0 }
		static const struct field f[] = { DF(name_off), DF(name_len), DF(ver_major),
						  DF(ver_minor), DF(ver_patch), DF(size_hint) };
		const struct field *x = &f[below(6)];
		what = x->name, off = x->off, width = x->width;
		old = get_le(e + off, width);
		v = edge_value(old, width);
		break;
	}
	case 2: {                /* struct myr_import: every field */
#define IF(m) { #m, offsetof(struct myr_import, m), sizeof(((struct myr_import *)0)->m), 0 }
		static const struct field f[] = { IF(name_off), IF(name_len), IF(dep),
						  IF(hash), IF(export_hint) };
		const struct field *x = &f[below(5)];
		what = x->name, off = x->off, width = x->width;
		old = get_le(e + off, width);
		v = edge_value(old, width);
		break;
	}
	case 3: {                /* struct myr_export: not seg/off within range */
		const struct myr_export *x = &c->v.exports[i];
#define EF(m) { #m, offsetof(struct myr_export, m), sizeof(((struct myr_export *)0)->m), 0 }
		static const struct field f[] = { EF(name_off), EF(name_len), EF(kind),
						  EF(hash), EF(seg), EF(off) };
		const struct field *y = &f[below(6)];
		what = y->name, off = y->off, width = y->width;
		old = get_le(e + off, width);
		if (off == offsetof(struct myr_export, seg))
			v = above(MYR_SEG_COUNT - 1, 1);
		else if (off == offsetof(struct myr_export, off))
			v = above(h->seg[x->seg].size, 4);
		else
			v = edge_value(old, width);
		break;
	}
	case 4:                  /* bucket boundaries */
		what = "start", off = 0, width = 4;
		old = get_le(e, 4);
		v = edge_value(old, 4);
		break;
	default: {               /* struct myr_reloc: only invalid values */
		const struct myr_reloc *r = &c->v.relocs[i];
		switch (below(5)) {
		case 0:
			what = "reserved", off = offsetof(struct myr_reloc, reserved), width = 1;
			v = 1 + below(255);
			break;
		case 1:
			what = "type", off = offsetof(struct myr_reloc, type), width = 1;
			v = below(2) ? 0 : 3 + below(253);
			break;
		case 2:
			what = "site_seg", off = offsetof(struct myr_reloc, site_seg), width = 1;
			v = MYR_SEG_BSS + below(256 - MYR_SEG_BSS);
			break;
		case 3:
			what = "site_off", off = offsetof(struct myr_reloc, site_off), width = 4;
			v = above(h->seg[r->site_seg].size - (r->type == MYR_REL_ABS64 ? 8 : 4), 4);
			break;
		default:
			what = "target", off = offsetof(struct myr_reloc, target), width = 4;
			v = above(r->target_seg == MYR_TARGET_IMPORT ? h->imports.count - 1 :
				  h->seg[r->target_seg].size, 4);
			break;
		}
		old = get_le(e + off, width);
		break;
	}
	}
	put_le(e + off, width, v);
	snprintf(c->desc, sizeof(c->desc), "%s %u %s: %#llx -> %#llx", names[t], i, what,
		 (unsigned long long)old, (unsigned long long)v);
	return 1;
}

/* Swap two entries of a table whose order is checked or meaningless. */
static int swap_entries(struct ctx *c)
{
	const struct myr_header *h = c->v.hdr;
	unsigned t = (unsigned)below(4);
	const struct myr_table *tab = (const struct myr_table *[]){
		&h->deps, &h->closure, &h->exports, &h->relocs }[t];
	static const char *const names[] = { "deps", "closure", "exports", "relocs" };
	if (tab->count < 2)
		return 0;
	uint32_t i = (uint32_t)below(tab->count), j = (uint32_t)below(tab->count - 1);
	if (j >= i)
		j++;
	uint8_t tmp[16], *a = (uint8_t *)c->h + tab->off + (size_t)i * 16,
			 *b = (uint8_t *)c->h + tab->off + (size_t)j * 16;
	memcpy(tmp, a, 16);
	memcpy(a, b, 16);
	memcpy(b, tmp, 16);
	snprintf(c->desc, sizeof(c->desc), "swap %s %u and %u", names[t], i, j);
	return 1;
}

static void mutate(struct ctx *c)
{
	struct file *f = c->f;
	unsigned kind = (unsigned)below(100);

	c->sealed = 0;
	if (kind < 16) {
		unsigned n = 1 + (unsigned)below(4);
		int at = snprintf(c->desc, sizeof(c->desc), "flip");
		for (unsigned k = 0; k < n; k++) {
			size_t bit = below(f->len * 8);
			f->p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			at += snprintf(c->desc + at, sizeof(c->desc) - (size_t)at,
				       " bit %zu", bit);
		}
	} else if (kind < 24) {
		size_t at = below(f->len), old = f->p[at];
		f->p[at] = (uint8_t)rnd();
		snprintf(c->desc, sizeof(c->desc), "byte %zu: %#zx -> %#x", at, old, f->p[at]);
	} else if (kind < 32) {
		size_t n = below(f->len);
		snprintf(c->desc, sizeof(c->desc), "truncate %zu -> %zu bytes", f->len, n);
		f->len = n;
	} else if (kind < 35) {
		size_t n = 1 + below(64);
		for (size_t k = 0; k < n; k++)
			f->p[f->len + k] = (uint8_t)rnd();
		snprintf(c->desc, sizeof(c->desc), "extend by %zu bytes", n);
		f->len += n;
	} else if (kind < 40) {
		size_t blocks = (f->len - c->hoff) / 16;
		size_t i = below(blocks), j = below(blocks);
		uint8_t tmp[16], *a = (uint8_t *)c->h + i * 16, *b = (uint8_t *)c->h + j * 16;
		memcpy(tmp, a, 16);
		memcpy(a, b, 16);
		memcpy(b, tmp, 16);
		snprintf(c->desc, sizeof(c->desc), "swap blocks at %zu and %zu", i * 16, j * 16);
	} else if (kind < 46) {
		edit_header(c);
		memmove(c->desc + 9, c->desc, strlen(c->desc) + 1);
		memcpy(c->desc, "unsealed ", 9);
	} else {
		c->sealed = 1;
		int done = 0;
		while (!done) {
			unsigned s = (unsigned)below(100);
			if (s < 45) {
				edit_header(c);
				done = 1;
			} else if (s < 75) {
				done = edit_table(c);
			} else if (s < 90) {
				if (!c->h->strtab_size)
					continue;
				size_t at = below(c->v.hdr->strtab_size);
				uint8_t *p = (uint8_t *)c->v.strtab + at;
				uint8_t old = *p;
				*p = (uint8_t)(below(2) ? rnd() : old ^ (1u << below(8)));
				snprintf(c->desc, sizeof(c->desc), "string byte %zu: %#x -> %#x",
					 at, old, *p);
				done = 1;
			} else {
				done = swap_entries(c);
			}
		}
		reseal(c);
		memmove(c->desc + 7, c->desc, strlen(c->desc) + 1);
		memcpy(c->desc, "sealed ", 7);
	}
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: mutate OUTDIR FIRST COUNT FILE...\n");
		return 2;
	}
	const char *outdir = argv[1];
	unsigned long long first = strtoull(argv[2], NULL, 10);
	unsigned long count = strtoul(argv[3], NULL, 10);
	int nfiles = argc - 4;

	for (unsigned long i = 0; i < count; i++) {
		int which = (int)(i % (unsigned long)nfiles);
		struct file f;
		struct ctx c = { .f = &f };
		struct myr_error err = { 0 };
		size_t total;
		char path[4096];

		if (read_file(argv[4 + which], &f) != 0 ||
		    myr_module_probe(f.p, f.len, &c.hoff, &total, &err) != 0 ||
		    myr_module_parse(f.p, f.len, 0, &c.v, &err) != 0) {
			fprintf(stderr, "mutate: %s: not a valid module: %s\n",
				argv[4 + which], err.msg);
			return 1;
		}
		/* The view points into f.p; the header is edited through c.h. */
		c.h = (struct myr_header *)(f.p + c.hoff);
		rng_state = first + i;
		mutate(&c);
		snprintf(path, sizeof(path), "%s/%lu.myr", outdir, i);
		FILE *out = fopen(path, "wb");
		if (!out || (f.len && fwrite(f.p, 1, f.len, out) != f.len) || fclose(out)) {
			perror(path);
			return 1;
		}
		printf("%lu %d %s\n", i, which, c.desc);
		free(f.p);
	}
	return 0;
}
