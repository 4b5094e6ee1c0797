/* SPDX-License-Identifier: MIT */
/*
 * linkall - link every library module of a generated bench tree in one
 * process.
 *
 *   linkall TREE
 *
 * Reads TREE/links.txt (written by gen: one line per library module, "NAME
 * DEP...", every dependency on an earlier line) and writes TREE/myr/NAME.myr
 * from TREE/obj/NAME.o for each line, as
 *
 *   myriad link -o myr/NAME.myr --name NAME --version 1.0.0
 *               --needs myr/DEP.myr... obj/NAME.o
 *
 * would: the same library call (myr_elf_link_write, the whole of `myriad
 * link` short of files), the same options, the same host module table, the
 * dependencies read back from the files just written and validated with
 * myr_module_parse.  So the modules are byte for byte those of `myriad
 * link` (tests/cli/bench_small.t compares them), at a fraction of a
 * millisecond each instead of one process each: at 100,000 modules the
 * processes alone took minutes (docs/performance.md, "Method").  The
 * program itself (an entry point and a closure hint) is still linked by
 * `myriad link` (bench.mk).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <myriad/elf2myr.h>
#include <myriad/host.h>
#include <myriad/limits.h>
#include <myriad/module.h>

#define MAX_DEPS 3                /* gen.c's bound */
#define NAME_MAX_LEN 64

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("linkall: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint8_t *read_whole(const char *path, uint64_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		die("%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
		die("%s: not a regular file within %llu bytes", path,
		    (unsigned long long)max);
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		die("out of memory");
	size_t done = 0;
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: %s", path, n < 0 ? strerror(errno) : "shorter than its size");
		done += (size_t)n;
	}
	close(fd);
	*len = done;
	return buf;
}

/* A new file, never an old one truncated: ext4 flushes a truncated file's
 * data at close (auto_da_alloc), which made a relink cost a write-back per
 * module. */
static void write_whole(const char *path, const uint8_t *data, size_t len)
{
	if (unlink(path) < 0 && errno != ENOENT)
		die("%s: %s", path, strerror(errno));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: %s", path, n < 0 ? strerror(errno) : "short write");
		done += (size_t)n;
	}
	if (close(fd) < 0)
		die("%s: %s", path, strerror(errno));
}

static void diag_line(void *opaque, const char *line)
{
	fprintf(stderr, "linkall: %s: %s\n", (const char *)opaque, line);
}

static const char *const host_names[] = {
#define HOST_NAME(name, group) #name,
	MYR_HOST_SYMBOLS(HOST_NAME, HOST_NAME)
#undef HOST_NAME
};

/* One line of links.txt: name and dependencies, split in place. */
static size_t split_line(char *line, char *words[MAX_DEPS + 1])
{
	size_t n = 0;
	for (char *w = strtok(line, " \n"); w; w = strtok(NULL, " \n")) {
		if (n > MAX_DEPS || strlen(w) >= NAME_MAX_LEN)
			die("links.txt: bad line (more than %d dependencies or a long name)",
			    MAX_DEPS);
		words[n++] = w;
	}
	return n;
}

static void link_one(char *const words[], size_t nwords)
{
	char path[2 * NAME_MAX_LEN], out[2 * NAME_MAX_LEN];
	struct myr_link_object obj;
	struct myr_link_dep deps[MAX_DEPS];
	struct myr_module_view views[MAX_DEPS];
	uint8_t *depbuf[MAX_DEPS], *objbuf, *image;
	char deppath[MAX_DEPS][2 * NAME_MAX_LEN];
	size_t len, image_len, ndeps = nwords - 1;

	snprintf(path, sizeof(path), "obj/%s.o", words[0]);
	objbuf = read_whole(path, MYR_ELF_OBJECT_MAX, &len);
	obj = (struct myr_link_object){ path, objbuf, len };
	for (size_t d = 0; d < ndeps; d++) {
		struct myr_error err = { 0 };
		snprintf(deppath[d], sizeof(deppath[d]), "myr/%s.myr", words[d + 1]);
		depbuf[d] = read_whole(deppath[d], MYR_FILE_MAX + MYR_SHEBANG_MAX, &len);
		if (myr_module_parse(depbuf[d], len, 0, &views[d], &err) < 0)
			die("%s: %s", deppath[d], err.msg);
		deps[d] = (struct myr_link_dep){ deppath[d], &views[d], 0 };
	}
	snprintf(out, sizeof(out), "myr/%s.myr", words[0]);
	struct myr_link_options opt = {
		.name = words[0], .ver_major = 1, .ver_minor = 0, .ver_patch = 0,
		.compress = MYR_COMPRESS_PAGES,
		.objs = &obj, .nobjs = 1, .deps = deps, .ndeps = ndeps,
		.host_names = host_names,
		.nhost = sizeof(host_names) / sizeof(host_names[0]),
		.host_major = MYR_HOST_VERSION_MAJOR,
		.host_minor = MYR_HOST_VERSION_MINOR,
	};
	struct myr_diag diag = { .emit = diag_line, .opaque = out };
	int r = myr_elf_link_write(&opt, &image, &image_len, &diag);
	if (r < 0)
		die("%s: link failed: %s", out, strerror(-r));
	write_whole(out, image, image_len);
	free(image);
	for (size_t d = 0; d < ndeps; d++)
		free(depbuf[d]);
	free(objbuf);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: linkall TREE\n");
		return 2;
	}
	if (chdir(argv[1]) < 0)
		die("%s: %s", argv[1], strerror(errno));
	FILE *f = fopen("links.txt", "r");
	if (!f)
		die("%s/links.txt: %s", argv[1], strerror(errno));
	char line[(MAX_DEPS + 1) * NAME_MAX_LEN + 2];
	char *words[MAX_DEPS + 1];
	unsigned long count = 0;
	while (fgets(line, sizeof(line), f)) {
		size_t n = split_line(line, words);
		if (n == 0)
			die("links.txt: empty line");
		link_one(words, n);
		count++;
	}
	if (ferror(f))
		die("links.txt: read error");
	fclose(f);
	printf("linkall: %lu modules\n", count);
	return 0;
}
