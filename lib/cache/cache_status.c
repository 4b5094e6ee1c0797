/* SPDX-License-Identifier: MIT */
/*
 * `myriad cache status` and `myriad cache clear`.  Status is the thorough
 * check a launch cannot afford: the whole file is validated, and every
 * module file is stat'ed and its header checksum read, so it also sees an
 * in-place overwrite, which leaves the directory's stamp alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <myriad/cache.h>
#include <myriad/module.h>
#include <myriad/sandbox.h>
#include "cache/cache_internal.h"

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* The header checksum of module file path in dir, or 0 with *ok = 0. */
static uint64_t file_checksum(int dirfd, const char *path, int *ok)
{
	union { uint8_t b[MYR_SHEBANG_MAX + sizeof(struct myr_header)];
		uint64_t align; } buf;
	size_t off = 0, total = 0;
	ssize_t n;
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
			O_NONBLOCK | O_NOCTTY);

	*ok = 0;
	if (fd < 0)
		return 0;
	n = pread(fd, buf.b, sizeof(buf.b), 0);
	close(fd);
	if (n <= 0 || myr_module_probe(buf.b, (size_t)n, &off, &total, NULL) < 0 ||
	    off + sizeof(struct myr_header) > (size_t)n)
		return 0;
	*ok = 1;
	return ((const struct myr_header *)(const void *)(buf.b + off))->checksum;
}

static void compare_files(int dirfd, const struct myr_cache_view *v,
			  struct myr_diag *diag, struct myr_cache_status *st)
{
	uint32_t n = v->hdr->modules.count;
	DIR *d;
	struct dirent *e;
	int fd;

	for (uint32_t i = 0; i < n; i++) {
		const struct myr_cache_module *m = &v->modules[i];
		const struct myr_cache_ident *id = &v->idents[i];
		const char *name = v->strings + m->name_off;
		char path[MYR_NAME_MAX + 8];
		struct stat s;
		int ok;

		snprintf(path, sizeof(path), "%s.myr", name);
		if (fstatat(dirfd, path, &s, AT_SYMLINK_NOFOLLOW) != 0) {
			st->removed++;
			myr_diag_emitf(diag, "%s: removed since the build", name);
			continue;
		}
		if (!S_ISREG(s.st_mode) || id->st.dev != (uint64_t)s.st_dev ||
		    id->st.ino != (uint64_t)s.st_ino) {
			st->changed++;
			myr_diag_emitf(diag, "%s: replaced since the build%s", name,
				       S_ISLNK(s.st_mode) ? " (by a symbolic link)" : "");
			continue;
		}
		if (id->st.size != (uint64_t)s.st_size ||
		    id->st.mtime_ns != ts_ns(&s.st_mtim) ||
		    id->st.ctime_ns != ts_ns(&s.st_ctim) ||
		    file_checksum(dirfd, path, &ok) != id->checksum || !ok) {
			st->changed++;
			myr_diag_emitf(diag, "%s: overwritten in place since the "
				       "build (launches keep using the cached copy "
				       "until the cache is rebuilt)", name);
			continue;
		}
		if (!(m->flags & MYR_CM_IMAGE)) {
			st->excluded++;
			myr_diag_emitf(diag, "%s: not cached: %.*s", name,
				       (int)m->reason_len, v->strings + m->reason_off);
		}
	}
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".myr") != 0 ||
		    !myr_name_valid(e->d_name, len - 4))
			continue;
		if (myr_cache_view_find(v, e->d_name, (uint32_t)(len - 4)) >= 0)
			continue;
		st->added++;
		myr_diag_emitf(diag, "%.*s: added since the build", (int)(len - 4),
			       e->d_name);
	}
	closedir(d);
}

/* The cache file mapped as a launch sees it, the zero-filled tail (bss)
 * included, and parsed into V. Returns <0 with WHY set when it is not a
 * usable cache. */
static int status_map(int fd, const struct stat *fs, void **map, size_t *map_len,
		      struct myr_cache_view *v, struct myr_error *why)
{
	*map = mmap(NULL, (size_t)fs->st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*map == MAP_FAILED)
		return myr_error_set(why, -errno, "cannot map: %s", strerror(errno));
	*map_len = (size_t)fs->st_size;
	if (myr_cache_parse(*map, (size_t)fs->st_size, MYR_CACHE_PARSE_IDENTS, v,
			    why) < 0)
		return -EBADMSG;
	/* The zero-filled tail (bss) is not in the file: map the file again
	 * at the start of a zeroed span of the image's whole size, as a
	 * launch sees it, so the content sums read the zeros. */
	if (v->hdr->image_size > v->hdr->bss_start) {
		size_t whole = (size_t)(v->hdr->image_off + v->hdr->image_size);
		void *span = mmap(NULL, whole, PROT_READ, MAP_PRIVATE |
				  MAP_ANONYMOUS, -1, 0);
		if (span == MAP_FAILED ||
		    mmap(span, (size_t)fs->st_size, PROT_READ, MAP_PRIVATE |
			 MAP_FIXED, fd, 0) == MAP_FAILED) {
			if (span != MAP_FAILED)
				munmap(span, whole);
			return myr_error_set(why, -ENOMEM, "cannot map the image");
		}
		munmap(*map, *map_len);
		*map = span;
		*map_len = whole;
		if (myr_cache_parse(*map, (size_t)fs->st_size,
				    MYR_CACHE_PARSE_IDENTS, v, why) < 0)
			return -EBADMSG;
	}
	return 0;
}

/* What a launch checks per module used, for every module: the image's
 * bytes are the builder's. */
static int status_check_image(const struct myr_cache_view *v, const void *map,
			      uint8_t *pages_done, struct myr_error *why)
{
	const uint8_t *image = (const uint8_t *)map + v->hdr->image_off;

	for (uint32_t i = 0; i < v->hdr->modules.count; i++)
		if (myr_cache_check_module(v, i, why) < 0)
			return -EBADMSG;
	if (myr_cache_check_stubs(v, image, why) < 0)
		return -EBADMSG;
	for (uint32_t i = 0; i < v->hdr->modules.count; i++)
		if ((v->modules[i].flags & MYR_CM_IMAGE) &&
		    myr_cache_check_content(v, image, i, pages_done, why) < 0)
			return -EBADMSG;
	/* pages_done is spent: its bytes, zeroed, serve as the closures'
	 * scratch (the caller sized it for both). */
	memset(pages_done, 0, v->hdr->modules.count);
	for (uint32_t i = 0; i < v->hdr->modules.count; i++)
		if (v->modules[i].closure.count &&
		    myr_cache_check_closure(v, i, pages_done, why) < 0)
			return -EBADMSG;
	return 0;
}

int myri_cache_verify_map(int fd, const struct stat *fs, void **map,
			  size_t *map_len, struct myr_cache_view *v,
			  struct myr_error *why)
{
	uint8_t *pages_done;
	int r;

	*map = MAP_FAILED;
	*map_len = 0;
	if (status_map(fd, fs, map, map_len, v, why) < 0)
		return -EBADMSG;
	pages_done = calloc(v->hdr->image_size / MYR_CACHE_PAGE +
			    v->hdr->modules.count + 1, 1);
	if (!pages_done)
		return myr_error_set(why, -ENOMEM, "out of memory");
	r = status_check_image(v, *map, pages_done, why);
	free(pages_done);
	return r;
}

/* The cache directory and file are owned as a launch requires, and the
 * cache was built for this directory. */
static int status_check_place(int dirfd, const struct stat *ds,
			      const struct stat *fs,
			      const struct myr_cache_view *v,
			      struct myr_error *why)
{
	struct stat ss;

	if (fstatat(dirfd, MYR_CACHE_SUBDIR, &ss, AT_SYMLINK_NOFOLLOW) != 0)
		return myr_error_set(why, -errno, "%s: %s", MYR_CACHE_SUBDIR,
				     strerror(errno));
	if (myr_stat_check_trusted(&ss, MYR_CACHE_SUBDIR, "its directory",
				   (long)ds->st_uid, why) < 0 ||
	    myr_stat_check_trusted(fs, "file", "the", (long)ds->st_uid, why) < 0)
		return -EPERM;
	if (v->hdr->dir.dev != (uint64_t)ds->st_dev ||
	    v->hdr->dir.ino != (uint64_t)ds->st_ino)
		return myr_error_set(why, -ESTALE, "built for another directory");
	return 0;
}

/* Every host symbol the image was linked against is in HOST; sets
 * *OTHER_LAUNCHER when a pinned one moved. */
static int status_check_host(const struct myr_cache_view *v,
			     const struct myr_host_binding *host,
			     int *other_launcher, struct myr_error *why)
{
	if (!v->hdr->hostsyms.count)
		return 0;
	if (!host || !host->find || host->ver_major != v->hdr->host_major ||
	    host->ver_minor < v->hdr->host_minor)
		return myr_error_set(why, -EPROTO, "built for host module %u.%u",
				     v->hdr->host_major, v->hdr->host_minor);
	for (uint32_t i = 0; i < v->hdr->hostsyms.count; i++) {
		const struct myr_cache_hostsym *s = &v->hostsyms[i];
		void *a = host->find(host->opaque, v->strings + s->name_off,
				     s->name_len);
		if (!a)
			return myr_error_set(why, -ENOENT, "host symbol %s is "
					     "missing in this launcher",
					     v->strings + s->name_off);
		if ((s->flags & MYR_CH_PINNED) && (uintptr_t)a != s->build_addr)
			*other_launcher = 1;
	}
	return 0;
}

/* A valid cache: its counts, and whether it is current. */
static void status_summarise(int dirfd, const struct stat *ds,
			     const struct myr_cache_view *v, int other_launcher,
			     struct myr_diag *diag, struct myr_cache_status *st)
{
	st->file_size = v->hdr->file_size;
	st->image_size = v->hdr->image_size;
	st->generation = v->hdr->generation;
	st->modules = v->hdr->modules.count;
	for (uint32_t i = 0; i < st->modules; i++) {
		const struct myr_cache_module *m = &v->modules[i];
		st->cached += (m->flags & MYR_CM_IMAGE) != 0;
		st->pinned += (m->flags & MYR_CM_PINNED) != 0;
		st->programs += (m->flags & MYR_CM_PROGRAM) && m->closure.count;
	}
	if (other_launcher)
		myr_diag_emitf(diag, "%u modules pinned to another "
			       "launcher build: they load from files "
			       "until the cache is rebuilt", st->pinned);
	st->dir_changed = v->hdr->dir.mtime_ns != ts_ns(&ds->st_mtim) ||
			  v->hdr->dir.ctime_ns != ts_ns(&ds->st_ctim);
	compare_files(dirfd, v, diag, st);
	st->state = st->dir_changed || st->changed || st->removed ||
		    st->added || other_launcher ? MYR_CACHE_STALE
						: MYR_CACHE_CURRENT;
}

int myr_cache_status(const char *dir, const struct myr_host_binding *host,
		     struct myr_diag *diag, struct myr_cache_status *st,
		     struct myr_error *err)
{
	struct myr_cache_view v;
	struct myr_error why = { 0 };
	struct stat ds, fs;
	void *map = MAP_FAILED;
	size_t map_len = 0;
	int dirfd, fd = -1, r = 0, other_launcher = 0;

	memset(st, 0, sizeof(*st));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || fstat(dirfd, &ds) != 0) {
		int e = errno;
		if (dirfd >= 0)
			close(dirfd);
		return myr_error_set(err, -e, "%s: %s", dir, strerror(e));
	}
	fd = openat(dirfd, MYR_CACHE_SUBDIR "/" MYR_CACHE_FILE,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			st->state = MYR_CACHE_ABSENT;
			goto out;
		}
		myr_error_set(&why, -errno, "%s", strerror(errno));
		goto invalid;
	}
	if (fstat(fd, &fs) != 0 || !S_ISREG(fs.st_mode) || fs.st_size <= 0) {
		myr_error_set(&why, -EBADMSG, "not a regular, non-empty file");
		goto invalid;
	}
	r = myri_cache_verify_map(fd, &fs, &map, &map_len, &v, &why);
	if (r == -ENOMEM) {
		myr_error_set(err, r, "%s", why.msg);
		goto out;
	}
	if (r < 0) {
		r = 0;
		goto invalid;
	}
	if (status_check_place(dirfd, &ds, &fs, &v, &why) < 0 ||
	    status_check_host(&v, host, &other_launcher, &why) < 0)
		goto invalid;
	status_summarise(dirfd, &ds, &v, other_launcher, diag, st);
	goto out;
invalid:
	st->state = MYR_CACHE_INVALID;
	snprintf(st->why, sizeof(st->why), "%s", why.msg);
out:
	if (map != MAP_FAILED)
		munmap(map, map_len);
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return r;
}

int myr_cache_clear(const char *dir, struct myr_error *err)
{
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), subfd, r = 0;
	DIR *d;
	struct dirent *e;

	if (dirfd < 0) {
		int en = errno;
		return myr_error_set(err, -en, "%s: %s", dir, strerror(en));
	}
	subfd = openat(dirfd, MYR_CACHE_SUBDIR, O_RDONLY | O_DIRECTORY |
		       O_CLOEXEC | O_NOFOLLOW);
	if (subfd < 0) {
		int en = errno;
		close(dirfd);
		if (en == ENOENT)
			return 0;
		return myr_error_set(err, -en, "%s/%s: %s", dir, MYR_CACHE_SUBDIR,
				     strerror(en));
	}
	/* The stamp first: it never outlives its image. */
	static const char *const files[] = { MYR_CACHE_VERIFIED_FILE,
					     MYR_CACHE_FILE };
	for (unsigned f = 0; f < 2 && r == 0; f++)
		if (unlinkat(subfd, files[f], 0) != 0 && errno != ENOENT) {
			int en = errno;
			r = myr_error_set(err, -en, "cannot remove %s/%s/%s: %s",
					  dir, MYR_CACHE_SUBDIR, files[f],
					  strerror(en));
		}
	/* Temporary files left by interrupted builds. */
	int lfd = dup(subfd);
	if (lfd >= 0 && (d = fdopendir(lfd))) {
		while ((e = readdir(d)))
			if (strncmp(e->d_name, MYR_CACHE_FILE ".tmp.",
				    sizeof(MYR_CACHE_FILE ".tmp.") - 1) == 0 ||
			    strncmp(e->d_name, MYR_CACHE_VERIFIED_FILE ".tmp.",
				    sizeof(MYR_CACHE_VERIFIED_FILE ".tmp.") - 1) == 0)
				unlinkat(subfd, e->d_name, 0);
		closedir(d);
	} else if (lfd >= 0) {
		close(lfd);
	}
	close(subfd);
	if (r == 0 && unlinkat(dirfd, MYR_CACHE_SUBDIR, AT_REMOVEDIR) != 0 &&
	    errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT) {
		int en = errno;
		r = myr_error_set(err, -en, "cannot remove %s/%s: %s", dir,
				  MYR_CACHE_SUBDIR, strerror(en));
	}
	close(dirfd);
	return r;
}
