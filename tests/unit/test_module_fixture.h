/* SPDX-License-Identifier: MIT */
/*
 * A small but complete module description shared by the module tests, and
 * helpers to corrupt a written module field by field.
 *
 * Checksums are verified before the structure, so a test that corrupts a
 * field must re-seal the checksum (fixture_reseal) for the field check
 * itself to be what fails.
 */
#ifndef MYRIAD_TEST_MODULE_FIXTURE_H
#define MYRIAD_TEST_MODULE_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <myriad/module.h>

struct fixture {
	struct myr_module_desc desc;
	struct myr_desc_dep deps[3];
	struct myr_desc_dep closure[2];
	struct myr_desc_import imports[4];
	struct myr_desc_export exports[5];
	struct myr_reloc relocs[4];
	uint8_t text[600], rodata[300], relro[32], data[40];
};

/* Deterministic bytes that compress (text) or do not (rodata). */
static inline void fixture_fill(uint8_t *p, size_t n, int compressible, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = compressible ? (uint8_t)("\x55\x48\x89\xe5\xc3\x90"[i % 6] ^ (i / 64))
				    : (uint8_t)(seed >> 16);
	}
}

static inline void fixture_init(struct fixture *f, int program)
{
	memset(f, 0, sizeof(*f));
	fixture_fill(f->text, sizeof(f->text), 1, 1);
	fixture_fill(f->rodata, sizeof(f->rodata), 0, 2);
	fixture_fill(f->data, sizeof(f->data), 0, 3);

	f->deps[0] = (struct myr_desc_dep){ "libc", 1, 2, 3, 0, 0 };
	f->deps[1] = (struct myr_desc_dep){ "json", 2, 1, 0, 0, 0 };
	f->deps[2] = (struct myr_desc_dep){ "myriad", 1, 0, 0, 0, 0 };
	f->closure[0] = (struct myr_desc_dep){ "libc", 1, 4, 0, 12345, 0 };
	f->closure[1] = (struct myr_desc_dep){ "json", 2, 3, 1, 678, 0 };
	f->imports[0] = (struct myr_desc_import){ "malloc", 0, 7 };
	f->imports[1] = (struct myr_desc_import){ "free", 0, MYR_NO_HINT };
	f->imports[2] = (struct myr_desc_import){ "json_parse", 1, 0 };
	f->imports[3] = (struct myr_desc_import){ "myr_write", 2, MYR_NO_HINT };
	f->exports[0] = (struct myr_desc_export){ "alpha", MYR_SEG_TEXT, MYR_SYM_FUNC, 0 };
	f->exports[1] = (struct myr_desc_export){ "beta", MYR_SEG_TEXT, MYR_SYM_FUNC, 16 };
	f->exports[2] = (struct myr_desc_export){ "table", MYR_SEG_RODATA, MYR_SYM_OBJECT, 8 };
	f->exports[3] = (struct myr_desc_export){ "counter", MYR_SEG_BSS, MYR_SYM_OBJECT, 4 };
	f->exports[4] = (struct myr_desc_export){ "malloc", MYR_SEG_DATA, MYR_SYM_OBJECT, 40 };
	f->relocs[0] = (struct myr_reloc){ .site_off = 1, .site_seg = MYR_SEG_TEXT,
		.type = MYR_REL_PC32, .target_seg = MYR_TARGET_IMPORT, .target = 0, .addend = -4 };
	f->relocs[1] = (struct myr_reloc){ .site_off = 596, .site_seg = MYR_SEG_TEXT,
		.type = MYR_REL_PC32, .target_seg = MYR_SEG_RODATA, .target = 300, .addend = -4 };
	f->relocs[2] = (struct myr_reloc){ .site_off = 0, .site_seg = MYR_SEG_RELRO,
		.type = MYR_REL_ABS64, .target_seg = MYR_SEG_TEXT, .target = 0 };
	f->relocs[3] = (struct myr_reloc){ .site_off = 32, .site_seg = MYR_SEG_DATA,
		.type = MYR_REL_ABS64, .target_seg = MYR_TARGET_IMPORT, .target = 3, .addend = 8 };

	struct myr_module_desc *d = &f->desc;
	d->name = "sample";
	d->ver_major = 1;
	d->ver_minor = 2;
	d->ver_patch = 3;
	d->arch = MYR_ARCH_HOST;
	d->flags = program ? MYR_F_PROGRAM : 0;
	d->caps = program ? (MYR_CAP_FS_READ | MYR_CAP_NET) : 0;
	d->deps = f->deps;
	d->ndeps = 3;
	d->closure = f->closure;
	d->nclosure = program ? 2 : 0;	/* only a program has a hint */
	d->imports = f->imports;
	d->nimports = 4;
	d->exports = f->exports;
	d->nexports = 5;
	d->relocs = f->relocs;
	d->nrelocs = 4;
	d->seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ f->text, sizeof(f->text), 4 };
	d->seg[MYR_SEG_RODATA] = (struct myr_desc_segment){ f->rodata, sizeof(f->rodata), 3 };
	d->seg[MYR_SEG_RELRO] = (struct myr_desc_segment){ f->relro, sizeof(f->relro), 3 };
	d->seg[MYR_SEG_DATA] = (struct myr_desc_segment){ f->data, sizeof(f->data), 3 };
	d->seg[MYR_SEG_BSS] = (struct myr_desc_segment){ NULL, 64, 4 };
	d->entry = program ? (struct myr_ref){ .seg = MYR_SEG_TEXT, .off = 16 }
			   : (struct myr_ref){ .seg = MYR_SEG_NONE };
	d->init = (struct myr_array_ref){ .seg = MYR_SEG_RELRO, .off = 0, .count = 2 };
	d->fini = (struct myr_array_ref){ .seg = MYR_SEG_RELRO, .off = 16, .count = 1 };
	d->compress = 1;
}

/* The header of a written module (after any #! line). */
static inline struct myr_header *fixture_header(uint8_t *file, size_t len)
{
	size_t off = 0, total = 0;
	if (myr_module_probe(file, len, &off, &total, NULL) != 0)
		return NULL;
	return (struct myr_header *)(file + off);
}

/* Recompute the checksum after a deliberate edit. */
static inline void fixture_reseal(uint8_t *file, size_t len)
{
	size_t off = 0, total = 0;
	struct myr_header *h;

	if (myr_module_probe(file, len, &off, &total, NULL) != 0) {
		/* Sizes edited beyond probe's liking: seal what the file holds. */
		h = (struct myr_header *)(file + off);
		if (len - off >= sizeof(*h))
			h->checksum = myr_module_checksum(h, len - off);
		return;
	}
	h = (struct myr_header *)(file + off);
	size_t n = h->file_size <= len - off ? h->file_size : len - off;
	h->checksum = myr_module_checksum(h, n);
}

#endif
