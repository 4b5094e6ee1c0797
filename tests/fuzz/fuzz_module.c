/* SPDX-License-Identifier: MIT */
/*
 * fuzz_module: the module reader on hostile files.  Probe on every prefix
 * length the fetcher could have, parse with and without the checksum, then
 * use the view the way the loader and `myriad info` do: every table entry,
 * every name as a C string, every export found again by name, and every
 * segment decoded into a buffer of exactly its size.
 */
#include <errno.h>
#include <myriad/module.h>
#include "fuzz_common.h"

static void check_probe(const uint8_t *file, size_t size)
{
	static const size_t prefixes[] = { 1, 8, 16, 64, MYR_SHEBANG_MAX,
		MYR_SHEBANG_MAX + sizeof(struct myr_header), 4096 };
	struct myr_error err = { 0 };
	size_t off = 0, total = 0;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t avail = prefixes[i] < size ? prefixes[i] : size;
		uint8_t *p = fuzz_copy(file, avail);
		int rc = myr_module_probe(p, avail, &off, &total, &err);
		if (rc == 0) {
			FUZZ_REQUIRE(off % MYR_SHEBANG_ALIGN == 0 && off <= MYR_SHEBANG_MAX);
			FUZZ_REQUIRE(total >= off + sizeof(struct myr_header));
			FUZZ_REQUIRE(total <= MYR_FILE_MAX);
		} else {
			fuzz_check_error(rc, &err);
			/* Enough bytes to tell must give a verdict. */
			if (avail >= MYR_SHEBANG_MAX + sizeof(struct myr_header))
				FUZZ_REQUIRE(rc != -ENODATA);
		}
		free(p);
	}
}

static void check_name(const struct myr_module_view *v, uint32_t off, uint32_t len)
{
	const char *s = myr_view_str(v, off);
	FUZZ_REQUIRE(strlen(s) == len);
}

static void use_view(const struct myr_module_view *v)
{
	const struct myr_header *h = v->hdr;
	struct myr_error err = { 0 };

	FUZZ_REQUIRE(strlen(v->name) == h->name_len && myr_name_valid(v->name, h->name_len));
	for (uint32_t i = 0; i < h->deps.count; i++) {
		check_name(v, v->deps[i].name_off, v->deps[i].name_len);
		FUZZ_REQUIRE(myr_name_valid(myr_view_str(v, v->deps[i].name_off),
					    v->deps[i].name_len));
	}
	for (uint32_t i = 0; i < h->closure.count; i++)
		check_name(v, v->closure[i].name_off, v->closure[i].name_len);
	for (uint32_t i = 0; i < h->imports.count; i++) {
		const struct myr_import *im = &v->imports[i];
		check_name(v, im->name_off, im->name_len);
		FUZZ_REQUIRE(im->dep < h->deps.count);
	}
	for (uint32_t i = 0; i < h->exports.count; i++) {
		const struct myr_export *e = &v->exports[i];
		const char *name = myr_view_str(v, e->name_off);
		check_name(v, e->name_off, e->name_len);
		FUZZ_REQUIRE(e->seg < MYR_SEG_COUNT && e->off <= h->seg[e->seg].size);
		/* Found by the search (no hint) and by a right and a wrong hint. */
		FUZZ_REQUIRE(myr_module_find_export(v, name, e->name_len, e->hash,
						    MYR_NO_HINT) == i);
		FUZZ_REQUIRE(myr_module_find_export(v, name, e->name_len, e->hash, i) == i);
		FUZZ_REQUIRE(myr_module_find_export(v, name, e->name_len, e->hash,
						    (i + 1) % h->exports.count) == i);
	}
	/* A name no module can export (empty), and a near miss. */
	FUZZ_REQUIRE(myr_module_find_export(v, "", 0, myr_symbol_hash("", 0), 0) == -ENOENT);
	if (h->exports.count) {
		const struct myr_export *e = &v->exports[0];
		char miss[MYR_SYMBOL_MAX + 2];
		memcpy(miss, myr_view_str(v, e->name_off), e->name_len);
		miss[e->name_len] = '~';
		uint32_t n = e->name_len + 1;
		int64_t x = myr_module_find_export(v, miss, n, myr_symbol_hash(miss, n), 0);
		FUZZ_REQUIRE(x == -ENOENT || (x >= 0 && (uint64_t)x < h->exports.count));
	}
	for (uint32_t b = 0; b < h->buckets.count; b++)
		FUZZ_REQUIRE(v->buckets[b] <= v->buckets[b + 1]);
	for (uint32_t i = 0; i < h->relocs.count; i++) {
		const struct myr_reloc *r = &v->relocs[i];
		FUZZ_REQUIRE(r->site_seg < MYR_SEG_BSS);
		FUZZ_REQUIRE((uint64_t)r->site_off + (r->type == MYR_REL_ABS64 ? 8 : 4) <=
			     h->seg[r->site_seg].size);
	}
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		uint32_t size = h->seg[s].size;
		FUZZ_REQUIRE(size <= MYR_SEGMENT_MAX);
		uint8_t *dst = malloc(size ? size : 1);
		FUZZ_REQUIRE(dst);
		int rc = myr_module_segment_load(v, s, dst, &err);
		if (rc)
			fuzz_check_error(rc, &err);
		free(dst);
	}
	FUZZ_REQUIRE(myr_module_segment_load(v, MYR_SEG_COUNT, NULL, &err) == -EINVAL);
	(void)myr_segment_name(h->entry.seg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct myr_module_view v, v2;
	struct myr_error err = { 0 };
	uint8_t *file = fuzz_copy(data, size);
	int rc, rc2;

	check_probe(data, size);

	rc = myr_module_parse(file, size, MYR_PARSE_NO_CHECKSUM, &v, &err);
	if (rc == 0) {
		use_view(&v);
		FUZZ_REQUIRE(v.size == v.hdr->file_size);
		rc2 = myr_module_parse(file, size, 0, &v2, &err);
		/* The checksum is the only difference between the two. */
		FUZZ_REQUIRE(rc2 == 0 ? v.hdr->checksum == myr_module_checksum(v.base, v.size)
				       : rc2 == -EILSEQ);
	} else {
		fuzz_check_error(rc, &err);
		memset(&err, 0, sizeof(err));
		rc2 = myr_module_parse(file, size, 0, &v2, &err);
		FUZZ_REQUIRE(rc2 < 0);
		fuzz_check_error(rc2, &err);
	}
	free(file);
	return 0;
}
