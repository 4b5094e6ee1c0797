/* SPDX-License-Identifier: MIT */
/*
 * The small fixed closure the loader harness loads, and the seed generator
 * writes out: a program "app" needing "liba", "libb" and the host module,
 * and "liba" needing "libb".  Between them they use every relocation kind
 * against every kind of target (own segments, imports, the host), export
 * hints right and wrong, LZ4 and raw segments, BSS, and init/fini arrays,
 * so that a mutation of any one module can reach every branch of place and
 * link.  No code of it ever runs: the bytes only have to be relocatable.
 */
#ifndef MYRIAD_FUZZ_CLOSURE_H
#define MYRIAD_FUZZ_CLOSURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <myriad/module.h>

enum { CLOSURE_APP = 0, CLOSURE_LIBA, CLOSURE_LIBB, CLOSURE_COUNT };

static const char *const closure_names[CLOSURE_COUNT] = { "app", "liba", "libb" };

/* Names the fake host module of the loader harness resolves. */
static const char *const closure_host_names[] = { "write", "exit", "memcpy" };

static inline void closure_fill(uint8_t *p, size_t n, uint8_t salt)
{
	/* Compressible, so the writer picks LZ4 for the bigger segments. */
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i % 7 == 0 ? 0xc3 : 0x90) ^ (salt & (i / 32)));
}

/* The index of export name in a written module, for import hints. */
static inline uint32_t closure_hint(const uint8_t *file, size_t len,
				    const char *name)
{
	struct myr_module_view v;
	uint32_t n = (uint32_t)strlen(name);
	if (myr_module_parse(file, len, 0, &v, NULL) != 0)
		return MYR_NO_HINT;
	int64_t e = myr_module_find_export(&v, name, n, myr_symbol_hash(name, n),
					   MYR_NO_HINT);
	return e < 0 ? MYR_NO_HINT : (uint32_t)e;
}

/*
 * Write module which (CLOSURE_*) into a malloc()ed buffer.  liba's and
 * app's hints are computed from the written libraries, as `myriad link`
 * does.  Returns 0 or the writer's -errno.
 */
static inline int closure_write(int which, uint8_t **out, size_t *len)
{
	static uint8_t text[3][512], rodata[64], relro[3][48], data[3][32];
	struct myr_module_desc d = { 0 };
	struct myr_error err = { 0 };
	uint8_t *lib[2] = { NULL, NULL };
	size_t liblen[2] = { 0, 0 };
	int rc;

	for (int i = 0; i < 3; i++) {
		closure_fill(text[i], sizeof(text[i]), (uint8_t)(i + 1));
		memset(relro[i], 0, sizeof(relro[i]));
		memset(data[i], 0x11 * (i + 1), sizeof(data[i]));
	}
	closure_fill(rodata, sizeof(rodata), 9);
	d.arch = MYR_ARCH_HOST;
	d.ver_major = 1;
	d.ver_minor = 2;
	d.compress = 1;
	d.entry = (struct myr_ref){ .seg = MYR_SEG_NONE };
	d.init = d.fini = (struct myr_array_ref){ .seg = MYR_SEG_NONE };

	if (which == CLOSURE_LIBB) {
		static const struct myr_desc_export ex[] = {
			{ "b_func", MYR_SEG_TEXT, MYR_SYM_FUNC, 0 },
			{ "b_other", MYR_SEG_TEXT, MYR_SYM_FUNC, 64 },
			{ "b_value", MYR_SEG_DATA, MYR_SYM_OBJECT, 0 },
			{ "b_bss", MYR_SEG_BSS, MYR_SYM_OBJECT, 8 },
			{ "b_end", MYR_SEG_DATA, MYR_SYM_OBJECT, 32 },
		};
		static const struct myr_reloc rel[] = {
			{ .site_off = 8, .site_seg = MYR_SEG_DATA, .type = MYR_REL_ABS64,
			  .target_seg = MYR_SEG_TEXT, .target = 64 },
			{ .site_off = 1, .site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
			  .target_seg = MYR_SEG_BSS, .target = 0, .addend = -4 },
		};
		d.name = "libb";
		d.exports = ex;
		d.nexports = sizeof(ex) / sizeof(ex[0]);
		d.relocs = rel;
		d.nrelocs = sizeof(rel) / sizeof(rel[0]);
		d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text[2], 128, 4 };
		d.seg[MYR_SEG_DATA] = (struct myr_desc_segment){ data[2], 32, 3 };
		d.seg[MYR_SEG_BSS] = (struct myr_desc_segment){ NULL, 32, 3 };
		return myr_module_write(&d, out, len, &err);
	}

	if ((rc = closure_write(CLOSURE_LIBB, &lib[1], &liblen[1])) != 0)
		return rc;
	if (which == CLOSURE_LIBA) {
		const struct myr_desc_dep deps[] = { { "libb", 1, 0, 0, 0, 0 } };
		const struct myr_desc_import im[] = {
			{ "b_func", 0, closure_hint(lib[1], liblen[1], "b_func") },
			{ "b_value", 0, MYR_NO_HINT },
			{ "b_other", 0, 0 },   /* a stale hint */
		};
		static const struct myr_desc_export ex[] = {
			{ "a_func", MYR_SEG_TEXT, MYR_SYM_FUNC, 16 },
			{ "a_table", MYR_SEG_RODATA, MYR_SYM_OBJECT, 0 },
			{ "a_ptrs", MYR_SEG_RELRO, MYR_SYM_OBJECT, 0 },
		};
		static const struct myr_reloc rel[] = {
			{ .site_off = 1, .site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
			  .target_seg = MYR_TARGET_IMPORT, .target = 0, .addend = -4 },
			{ .site_off = 6, .site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
			  .target_seg = MYR_SEG_RODATA, .target = 8, .addend = -4 },
			{ .site_off = 0, .site_seg = MYR_SEG_RELRO, .type = MYR_REL_ABS64,
			  .target_seg = MYR_TARGET_IMPORT, .target = 1 },
			{ .site_off = 8, .site_seg = MYR_SEG_RELRO, .type = MYR_REL_ABS64,
			  .target_seg = MYR_SEG_TEXT, .target = 16 },
			{ .site_off = 16, .site_seg = MYR_SEG_RELRO, .type = MYR_REL_ABS64,
			  .target_seg = MYR_SEG_TEXT, .target = 32 },
			{ .site_off = 0, .site_seg = MYR_SEG_DATA, .type = MYR_REL_ABS64,
			  .target_seg = MYR_TARGET_IMPORT, .target = 2, .addend = 3 },
			{ .site_off = 4, .site_seg = MYR_SEG_RODATA, .type = MYR_REL_PC32,
			  .target_seg = MYR_SEG_DATA, .target = 32 },
		};
		d.name = "liba";
		d.deps = deps;
		d.ndeps = 1;
		d.imports = im;
		d.nimports = 3;
		d.exports = ex;
		d.nexports = 3;
		d.relocs = rel;
		d.nrelocs = sizeof(rel) / sizeof(rel[0]);
		d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text[1], 256, 4 };
		d.seg[MYR_SEG_RODATA] = (struct myr_desc_segment){ rodata, 64, 3 };
		d.seg[MYR_SEG_RELRO] = (struct myr_desc_segment){ relro[1], 24, 3 };
		d.seg[MYR_SEG_DATA] = (struct myr_desc_segment){ data[1], 32, 3 };
		d.init = (struct myr_array_ref){ .seg = MYR_SEG_RELRO, .off = 8, .count = 1 };
		d.fini = (struct myr_array_ref){ .seg = MYR_SEG_RELRO, .off = 16, .count = 1 };
		rc = myr_module_write(&d, out, len, &err);
		free(lib[1]);
		return rc;
	}

	if ((rc = closure_write(CLOSURE_LIBA, &lib[0], &liblen[0])) != 0) {
		free(lib[1]);
		return rc;
	}
	const struct myr_desc_dep deps[] = {
		{ "liba", 1, 1, 0, 0, 0 }, { "libb", 1, 2, 0, 0, 0 },
		{ MYR_HOST_MODULE_NAME, 1, 0, 0, 0, 0 },
	};
	const struct myr_desc_dep closure[] = {
		{ "liba", 1, 2, 0, (uint32_t)liblen[0], 0 },
		{ "libb", 1, 2, 0, (uint32_t)liblen[1], 0 },
	};
	const struct myr_desc_import im[] = {
		{ "a_func", 0, closure_hint(lib[0], liblen[0], "a_func") },
		{ "b_bss", 1, closure_hint(lib[1], liblen[1], "b_bss") },
		{ "write", 2, 0 },
		{ "a_table", 0, MYR_NO_HINT },
		{ "exit", 2, 1 },
	};
	static const struct myr_desc_export ex[] = {
		{ "main", MYR_SEG_TEXT, MYR_SYM_FUNC, 0 },
	};
	static const struct myr_reloc rel[] = {
		{ .site_off = 1, .site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
		  .target_seg = MYR_TARGET_IMPORT, .target = 0, .addend = -4 },
		{ .site_off = 6, .site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
		  .target_seg = MYR_TARGET_IMPORT, .target = 2, .addend = -4 },
		{ .site_off = 11, .site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
		  .target_seg = MYR_TARGET_IMPORT, .target = 3, .addend = 12 },
		{ .site_off = 0, .site_seg = MYR_SEG_DATA, .type = MYR_REL_ABS64,
		  .target_seg = MYR_TARGET_IMPORT, .target = 1 },
		{ .site_off = 8, .site_seg = MYR_SEG_DATA, .type = MYR_REL_ABS64,
		  .target_seg = MYR_TARGET_IMPORT, .target = 4 },
		{ .site_off = 16, .site_seg = MYR_SEG_DATA, .type = MYR_REL_ABS64,
		  .target_seg = MYR_SEG_BSS, .target = 16, .addend = -16 },
		{ .site_off = 0, .site_seg = MYR_SEG_RELRO, .type = MYR_REL_ABS64,
		  .target_seg = MYR_SEG_TEXT, .target = 0 },
	};
	d.name = "app";
	d.flags = MYR_F_PROGRAM;
	d.deps = deps;
	d.ndeps = 3;
	d.closure = closure;
	d.nclosure = 2;
	d.imports = im;
	d.nimports = sizeof(im) / sizeof(im[0]);
	d.exports = ex;
	d.nexports = 1;
	d.relocs = rel;
	d.nrelocs = sizeof(rel) / sizeof(rel[0]);
	d.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text[0], 512, 4 };
	d.seg[MYR_SEG_RELRO] = (struct myr_desc_segment){ relro[0], 8, 3 };
	d.seg[MYR_SEG_DATA] = (struct myr_desc_segment){ data[0], 24, 3 };
	d.seg[MYR_SEG_BSS] = (struct myr_desc_segment){ NULL, 64, 4 };
	d.entry = (struct myr_ref){ .seg = MYR_SEG_TEXT, .off = 0 };
	d.init = (struct myr_array_ref){ .seg = MYR_SEG_RELRO, .off = 0, .count = 1 };
	rc = myr_module_write(&d, out, len, &err);
	free(lib[0]);
	free(lib[1]);
	return rc;
}

#endif
