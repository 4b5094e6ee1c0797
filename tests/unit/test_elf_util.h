/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_elf_util.h - what the `myriad link` unit tests share:
 * compiling real C (or assembler) into objects with the machine's compilers,
 * reading files, and capturing the converter's diagnostics.
 */
#ifndef MYRIAD_TEST_ELF_UTIL_H
#define MYRIAD_TEST_ELF_UTIL_H

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <myriad/elf2myr.h>
#include <myriad/module.h>

__attribute__((unused))
static const char *tu_src(void)
{
	const char *s = getenv("MYRIAD_SRC");
	return s && *s ? s : ".";
}

__attribute__((unused))
static int tu_have(const char *cc)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "%s --version >/dev/null 2>&1", cc);
	return system(cmd) == 0;
}

/* A fresh scratch directory (removed by tu_rmdir). */
__attribute__((unused))
static char *tu_tmpdir(void)
{
	const char *base = getenv("MYRIAD_TMPDIR");
	static char path[4096];
	snprintf(path, sizeof(path), "%s/elf-test.XXXXXX", base && *base ? base : "/tmp");
	return mkdtemp(path) ? strdup(path) : NULL;
}

__attribute__((unused))
static void tu_rmdir(char *dir)
{
	char cmd[4200];
	if (!dir)
		return;
	int n = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (n < 0 || (size_t)n >= sizeof(cmd) || system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", dir);
	free(dir);
}

/* cc FLAGS -c SRC -o OUT; 0 on success. */
__attribute__((unused))
static int tu_compile(const char *cc, const char *flags, const char *src,
		      const char *out)
{
	char cmd[16384];
	int n = snprintf(cmd, sizeof(cmd), "%s %s -c '%s' -o '%s'", cc, flags, src, out);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	return system(cmd) == 0 ? 0 : -1;
}

/* Write text to DIR/NAME, compile it to DIR/NAME.o; returns 0. */
__attribute__((unused))
static int tu_compile_text(const char *cc, const char *flags, const char *dir,
			   const char *name, const char *text, char *out,
			   size_t outsz)
{
	char src[4200];
	snprintf(src, sizeof(src), "%s/%s", dir, name);
	FILE *f = fopen(src, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	snprintf(out, outsz, "%s/%s.o", dir, name);
	return tu_compile(cc, flags, src, out);
}

__attribute__((unused))
static int tu_read(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*buf = malloc((size_t)n + 1);
	if (!*buf || fread(*buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		return -1;
	}
	fclose(f);
	*len = (size_t)n;
	return 0;
}

struct tu_diag {
	struct myr_diag diag;
	char text[16384];
};

__attribute__((unused))
static void tu_diag_emit(void *opaque, const char *line)
{
	struct tu_diag *d = opaque;
	size_t n = strlen(d->text);
	fprintf(stderr, "# diag: %s\n", line);
	snprintf(d->text + n, sizeof(d->text) - n, "%s\n", line);
}

__attribute__((unused))
static void tu_diag_init(struct tu_diag *d)
{
	memset(d, 0, sizeof(*d));
	d->diag.emit = tu_diag_emit;
	d->diag.opaque = d;
}

/* Lines of d->text containing needle. */
__attribute__((unused))
static unsigned tu_lines_with(const struct tu_diag *d, const char *needle)
{
	unsigned n = 0;
	const char *p = d->text;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (memmem(p, len, needle, strlen(needle)))
			n++;
		p += len + (e ? 1 : 0);
	}
	return n;
}

#endif
