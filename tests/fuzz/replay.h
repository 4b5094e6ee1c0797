/* SPDX-License-Identifier: MIT */
/*
 * Replaying fuzzer inputs under the unit-test build (gcc, ASan+UBSan):
 * tests/unit/test_regress_fuzz_NAME.c includes tests/fuzz/fuzz_NAME.c with
 * the libFuzzer entry points renamed and feeds it the seeds that need no
 * compiler (closure.h) and every input in tests/fuzz/regress/NAME/ - the
 * findings, kept once fixed.  A broken contract traps, which the unit
 * harness reports as a failed test; ASan reports fail the test too.
 */
#ifndef MYRIAD_FUZZ_REPLAY_H
#define MYRIAD_FUZZ_REPLAY_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "closure.h"

typedef int (*replay_fn)(const uint8_t *data, size_t size);

/* Feed fn every regular file of $MYRIAD_SRC/tests/fuzz/regress/name, in
 * name order; returns how many, or -1 if one cannot be read. */
static inline int replay_regress(const char *name, replay_fn fn)
{
	const char *src = getenv("MYRIAD_SRC");
	char dir[4096], path[8192];
	struct dirent **list;
	int n, done = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/regress/%s", src && *src ? src : ".", name);
	n = scandir(dir, &list, NULL, alphasort);
	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		FILE *f;
		long len;
		uint8_t *buf;

		if (list[i]->d_name[0] == '.') {
			free(list[i]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		free(list[i]);
		if (!(f = fopen(path, "rb")) || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
		    fseek(f, 0, SEEK_SET) || !(buf = malloc((size_t)len + 1)) ||
		    fread(buf, 1, (size_t)len, f) != (size_t)len) {
			fprintf(stderr, "# cannot read %s\n", path);
			if (f)
				fclose(f);
			done = -1;
			continue;
		}
		fclose(f);
		fprintf(stderr, "# replaying %s\n", path);
		fn(buf, (size_t)len);
		free(buf);
		if (done >= 0)
			done++;
	}
	free(list);
	return done;
}

/* Feed fn each module of the fixed closure, after prefix (if any). */
static inline int replay_closure(replay_fn fn, int with_selector)
{
	for (int i = 0; i < CLOSURE_COUNT; i++) {
		uint8_t *file, *in;
		size_t len;
		if (closure_write(i, &file, &len) != 0)
			return -1;
		in = malloc(len + 1);
		if (!in)
			return -1;
		in[0] = (uint8_t)i;
		memcpy(in + 1, file, len);
		if (with_selector)
			fn(in, len + 1);
		else
			fn(file, len);
		free(in);
		free(file);
	}
	return CLOSURE_COUNT;
}

#endif
