/* SPDX-License-Identifier: MIT */
/*
 * gen_seeds DIR - write the seed inputs that need the writer: the fixed
 * closure of closure.h as module seeds (DIR/module/) and as loader seeds
 * (DIR/loader/: a selector byte, then the module; once re-sealed, once
 * with its stored checksum), plus a module with a #! line and one without
 * any table.  Seeds from real objects and `myriad link` are run.sh's.
 */
#include <stdio.h>
#include <string.h>
#include "closure.h"

static int put(const char *dir, const char *sub, const char *name, int selector,
	       const uint8_t *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	FILE *f = fopen(path, "wb");
	if (!f || (selector >= 0 && fputc(selector, f) == EOF) ||
	    (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct myr_error err = { 0 };
	char name[64];
	uint8_t *file;
	size_t len;
	int bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds DIR (with DIR/module and DIR/loader)\n");
		return 2;
	}
	for (int i = 0; i < CLOSURE_COUNT; i++) {
		if (closure_write(i, &file, &len) != 0) {
			fprintf(stderr, "gen_seeds: cannot write %s\n", closure_names[i]);
			return 1;
		}
		snprintf(name, sizeof(name), "closure-%s.myr", closure_names[i]);
		bad |= put(argv[1], "module", name, -1, file, len);
		snprintf(name, sizeof(name), "%s", closure_names[i]);
		bad |= put(argv[1], "loader", name, i, file, len);
		snprintf(name, sizeof(name), "%s-stored-sum", closure_names[i]);
		bad |= put(argv[1], "loader", name, 0x80 | i, file, len);
		free(file);
	}

	static const uint8_t text[] = { 0xc3 };
	struct myr_module_desc d = {
		.name = "tiny", .arch = MYR_ARCH_HOST, .flags = MYR_F_PROGRAM,
		.shebang = "/usr/bin/env myriad",
		.seg[MYR_SEG_TEXT] = { text, 1, 0 },
		.entry = { .seg = MYR_SEG_TEXT },
		.init = { .seg = MYR_SEG_NONE }, .fini = { .seg = MYR_SEG_NONE },
	};
	if (myr_module_write(&d, &file, &len, &err) != 0) {
		fprintf(stderr, "gen_seeds: %s\n", err.msg);
		return 1;
	}
	bad |= put(argv[1], "module", "tiny-shebang.myr", -1, file, len);
	free(file);
	return bad;
}
