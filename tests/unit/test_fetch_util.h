/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the fetcher tests: scratch library directories, module
 * files of a chosen size written with myr_module_write(), and a check of
 * which fds are open.
 */
#ifndef MYRIAD_TEST_FETCH_UTIL_H
#define MYRIAD_TEST_FETCH_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <myriad/fetch.h>
#include <myriad/module.h>

/* A module whose file is about `size` bytes (at least the header and
 * strings): the rest is a raw DATA segment.  Caller frees *out. */
static inline size_t tf_module(const char *name, size_t size, uint8_t **out)
{
	struct myr_module_desc d;
	struct myr_error err = { 0 };
	static uint8_t payload[1 << 20];
	size_t len = 0, over = 320;

	memset(&d, 0, sizeof(d));
	d.name = name;
	d.ver_major = 1;
	d.arch = MYR_ARCH_HOST;
	d.entry.seg = MYR_SEG_NONE;
	d.init.seg = MYR_SEG_NONE;
	d.fini.seg = MYR_SEG_NONE;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	d.seg[MYR_SEG_DATA].data = payload;
	d.seg[MYR_SEG_DATA].size = size > over ? (uint32_t)(size - over) : 1;
	d.seg[MYR_SEG_DATA].align_log2 = 3;
	if (myr_module_write(&d, out, &len, &err) < 0) {
		fprintf(stderr, "# myr_module_write: %s\n", err.msg);
		abort();
	}
	return len;
}

static inline void tf_write(const char *dir, const char *file,
			    const void *data, size_t len)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		fprintf(stderr, "# cannot write %s\n", path);
		abort();
	}
	close(fd);
}

/* Write module NAME.myr of about size bytes into dir; returns its length. */
static inline size_t tf_put(const char *dir, const char *name, size_t size)
{
	char file[256];
	uint8_t *buf;
	size_t len = tf_module(name, size, &buf);

	snprintf(file, sizeof(file), "%s.myr", name);
	tf_write(dir, file, buf, len);
	free(buf);
	return len;
}

/* A fresh scratch directory, removed by tf_rmtree().  On tmpfs when there
 * is one: creating thousands of files on a journalled disk can take
 * milliseconds each, and the tests are about reading them. */
static inline char *tf_tmpdir(char buf[64])
{
	struct stat st;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		strcpy(buf, "/dev/shm/myr-fetch-XXXXXX");
	else
		strcpy(buf, "/tmp/myr-fetch-XXXXXX");
	if (!mkdtemp(buf))
		abort();
	return buf;
}

static inline char *tf_subdir(char *out, size_t size, const char *dir,
			      const char *sub)
{
	snprintf(out, size, "%s/%s", dir, sub);
	if (mkdir(out, 0755) < 0)
		abort();
	return out;
}

static inline int tf_rm_one(const char *path, const struct stat *st, int flag,
			    struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static inline void tf_rmtree(const char *dir)
{
	nftw(dir, tf_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Bitmap of open fds below 1024. */
static inline void tf_fds(unsigned char open_fds[1024])
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int self = d ? dirfd(d) : -1;

	memset(open_fds, 0, 1024);
	if (!d)
		abort();
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd != self && fd < 1024)
			open_fds[fd] = 1;
	}
	closedir(d);
}

/* Whether io_uring mode can be used here; why not in *why. */
static inline int tf_have_uring(const char *dir, char *why, size_t size)
{
	const char *dirs[] = { dir };
	struct myr_fetch_config cfg = { .dirs = dirs, .ndirs = 1,
					.io = MYR_IO_URING };
	struct myr_error err = { 0 };
	struct myr_fetcher *f;

	if (myr_fetcher_init(&f, &cfg, &err) < 0) {
		snprintf(why, size, "io_uring unavailable: %.200s", err.msg);
		return 0;
	}
	myr_fetcher_exit(f);
	return 1;
}

static inline struct myr_fetch_item tf_item(const char *name, uint32_t hint)
{
	struct myr_fetch_item it;
	memset(&it, 0, sizeof(it));
	it.name = name;
	it.name_len = (uint32_t)strlen(name);
	it.size_hint = hint;
	return it;
}

#endif
