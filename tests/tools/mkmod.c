/* SPDX-License-Identifier: MIT */
/*
 * mkmod KIND OUT - write a module made with myr_module_write for the CLI
 * tests, including ones `myriad link` would never produce.
 *
 *   program   the unit tests' fixture program (with a #! line)
 *   library   the fixture library
 *   badsum    the program with one payload byte changed (checksum fails)
 *   badimport the program with an import bound to a missing dependency,
 *             checksum re-sealed, so the structure is what is wrong
 *   oddnames  a library whose export names need JSON escaping
 */
#include <stdio.h>
#include <string.h>
#include "../unit/test_module_fixture.h"

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct fixture f;
	static const struct myr_desc_export odd[] = {
		{ "quote\"back\\slash", MYR_SEG_TEXT, MYR_SYM_FUNC, 0 },
		{ "caf\xc3\xa9", MYR_SEG_DATA, MYR_SYM_OBJECT, 8 },
		{ "lone\xff" "byte", MYR_SEG_TEXT, MYR_SYM_FUNC, 4 },
	};
	struct myr_error err = { 0 };
	uint8_t *file;
	size_t len;

	if (argc != 3) {
		fprintf(stderr, "usage: mkmod program|library|badsum|badimport|oddnames OUT\n");
		return 2;
	}
	const char *kind = argv[1];
	fixture_init(&f, strcmp(kind, "library") != 0 && strcmp(kind, "oddnames") != 0);
	if (strcmp(kind, "program") == 0)
		f.desc.shebang = "/usr/bin/env myriad";
	if (strcmp(kind, "oddnames") == 0) {
		f.desc.exports = odd;
		f.desc.nexports = sizeof(odd) / sizeof(odd[0]);
	}
	if (myr_module_write(&f.desc, &file, &len, &err) != 0) {
		fprintf(stderr, "mkmod: %s\n", err.msg);
		return 1;
	}
	struct myr_header *h = fixture_header(file, len);
	if (strcmp(kind, "badsum") == 0) {
		file[len - 1] ^= 0x40;
	} else if (strcmp(kind, "badimport") == 0) {
		struct myr_import *im = (struct myr_import *)((uint8_t *)h + h->imports.off);
		im[2].dep = 7;
		fixture_reseal(file, len);
	} else if (strcmp(kind, "program") && strcmp(kind, "library") &&
		   strcmp(kind, "oddnames")) {
		fprintf(stderr, "mkmod: unknown kind '%s'\n", kind);
		free(file);
		return 2;
	}
	int rc = write_file(argv[2], file, len);
	free(file);
	return rc;
}
