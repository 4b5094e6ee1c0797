/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cache: the library directory's cache image (lib/image/cache_image.c) as the
 * launcher reads it, short of mapping: the header and index parser, the
 * per-module check, the name lookup, and the per-process fixups a launch
 * applies (host symbol slots, binds, rebases), here applied to a malloc'd
 * copy of the image of exactly its size, so that a fixup site the checks
 * let through outside the image is the sanitizer's to catch.
 *
 * Input: one selector byte, then the cache file.  The selector's low
 * three bits are the parse flags (MYR_CACHE_PARSE_META_ONLY, _NO_SUMS,
 * _IDENTS): with sums a mutated file mostly stops at a checksum, so both
 * ways are reachable and the fuzzer learns which pays.
 */
#include <errno.h>
#include <myriad/cache.h>
#include <myriad/format.h>
#include "fuzz_common.h"

/* A fake host and slide: the values do not matter, the writes do. */
#define FUZZ_HOST_ADDR  0x7f0000001000ull
#define FUZZ_SLIDE      0x200000ull

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void store64(uint8_t *image, uint32_t site, uint64_t add, int replace)
{
	uint64_t val;
	memcpy(&val, image + site, 8);
	val = replace ? add : val + add;
	memcpy(image + site, &val, 8);
}

/* What cache.h promises of a site the checks let through: inside the
 * image's relro or data class, never in text or rodata. */
static void check_site(const struct myr_cache_header *h, uint32_t site)
{
	FUZZ_REQUIRE(site >= h->class_start[MYR_CLASS_RELRO]);
	FUZZ_REQUIRE((uint64_t)site + 8 <= h->class_start[MYR_CLASS_DATA + 1]);
}

/* Module i passed myr_cache_check_module(): use every entry the way a
 * launch does.  image is NULL when the buffer holds only the metadata. */
static void use_module(const struct myr_cache_view *v, uint32_t i,
		       uint8_t *image)
{
	const struct myr_cache_header *h = v->hdr;
	const struct myr_cache_module *m = &v->modules[i];
	const char *name = v->strings + m->name_off;
	volatile uint64_t sink = 0;

	/* The name is in the table: the lookup finds a module of that name
	 * (an earlier duplicate may shadow this one, never a stranger). */
	int64_t found = myr_cache_view_find(v, name, m->name_len);
	FUZZ_REQUIRE(found >= -ENOENT);
	if (found >= 0) {
		const struct myr_cache_module *f = &v->modules[found];
		FUZZ_REQUIRE((uint64_t)found < h->modules.count);
		FUZZ_REQUIRE(f->name_len == m->name_len &&
			     memcmp(v->strings + f->name_off, name, m->name_len) == 0);
	}
	if (v->idents)
		sink += v->idents[i].checksum;
	if (!(m->flags & MYR_CM_IMAGE))
		return;

	for (uint32_t k = 0; k < m->deps.count; k++)
		sink += v->modules[v->deps[m->deps.off + k]].hash;
	for (uint32_t k = 0; k < m->closure.count; k++)
		sink += v->modules[myr_cache_closure_index(v,
				   v->closures[m->closure.off + k])].hash;
	for (uint32_t k = 0; k < m->exports.count; k++) {
		const struct myr_export *e = &v->exports[m->exports.off + k];
		sink += (unsigned char)v->strings[e->name_off + e->name_len];
	}
	for (uint32_t k = 0; k <= m->ebuckets.count; k++)
		sink += v->ebuckets[m->ebuckets.off + k];

	for (uint32_t k = 0; k < m->binds.count; k++) {
		const struct myr_cache_bind *b = &v->binds[m->binds.off + k];
		check_site(h, b->site);
		if (image)
			store64(image, b->site, FUZZ_HOST_ADDR + (uint64_t)b->addend, 1);
	}
	for (uint32_t k = 0; k < m->rebases.count; k++) {
		uint32_t site = v->rebases[m->rebases.off + k];
		check_site(h, site);
		if (image)
			store64(image, site, FUZZ_SLIDE, 0);
	}
	/* Init and fini arrays: 8-byte entries in relro, read at launch. */
	const struct myr_cache_table *arr[2] = { &m->init, &m->fini };
	for (int a = 0; a < 2; a++)
		if (arr[a]->count) {
			FUZZ_REQUIRE(arr[a]->off >= h->class_start[MYR_CLASS_RELRO]);
			FUZZ_REQUIRE((uint64_t)arr[a]->off + 8ull * arr[a]->count <=
				     h->class_start[MYR_CLASS_DATA]);
			if (image)
				for (uint32_t k = 0; k < arr[a]->count; k++)
					sink += image[arr[a]->off + 8 * k + 7];
		}
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct myr_error err = { 0 };
	struct myr_cache_view v;
	uint8_t *buf, *image = NULL;
	unsigned flags;

	if (size < 1)
		return 0;
	flags = data[0] & (MYR_CACHE_PARSE_META_ONLY | MYR_CACHE_PARSE_NO_SUMS |
			   MYR_CACHE_PARSE_IDENTS);
	buf = fuzz_copy(data + 1, size - 1);
	int rc = myr_cache_parse(buf, size - 1, flags, &v, &err);
	if (rc) {
		fuzz_check_error(rc, &err);
		FUZZ_REQUIRE(rc == -ENOEXEC || rc == -EPROTO || rc == -EBADMSG ||
			     rc == -E2BIG || rc == -EILSEQ);
		free(buf);
		return 0;
	}
	const struct myr_cache_header *h = v.hdr;
	FUZZ_REQUIRE(v.base == buf && v.size == size - 1 && (const void *)h == buf);
	FUZZ_REQUIRE(!(flags & MYR_CACHE_PARSE_IDENTS) == !v.idents ||
		     h->modules.count == 0);
	if (!(flags & MYR_CACHE_PARSE_META_ONLY)) {
		FUZZ_REQUIRE(h->file_size == size - 1);
		FUZZ_REQUIRE(h->bss_start <= h->image_size &&
			     h->image_off + h->bss_start == h->file_size);
		if (h->image_size) {
			/* What a launch maps: the stored part, then zeros. */
			image = calloc(1, h->image_size);
			FUZZ_REQUIRE(image);
			memcpy(image, buf + h->image_off, h->bss_start);
		}
	}

	/* Host symbol slots: written with the host's address at every
	 * launch, before any module's binds. */
	for (uint32_t k = 0; k < h->hostsyms.count; k++) {
		const struct myr_cache_hostsym *s = &v.hostsyms[k];
		if (s->kind != MYR_SYM_FUNC)
			continue;
		check_site(h, s->slot);
		if (image)
			store64(image, s->slot, FUZZ_HOST_ADDR, 1);
	}

	for (uint32_t i = 0; i < h->modules.count; i++) {
		rc = myr_cache_check_module(&v, i, &err);
		if (rc) {
			fuzz_check_error(rc, &err);
			FUZZ_REQUIRE(rc == -EBADMSG);
			continue;
		}
		use_module(&v, i, image);
	}
	/* A name from nowhere: a miss or a module of that very name. */
	if (size > 1) {
		uint32_t len = (uint32_t)(size - 1 < 16 ? size - 1 : 16);
		const char *name = (const char *)data + size - len;
		int64_t found = myr_cache_view_find(&v, name, len);
		FUZZ_REQUIRE(found == -ENOENT ||
			     ((uint64_t)found < h->modules.count &&
			      v.modules[found].name_len == len));
	}
	rc = myr_cache_check_module(&v, h->modules.count, &err);
	fuzz_check_error(rc, &err);
	FUZZ_REQUIRE(rc == -EBADMSG);
	free(image);
	free(buf);
	return 0;
}
