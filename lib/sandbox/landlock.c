/* SPDX-License-Identifier: MIT */
/*
 * Landlock (Linux 5.13+): path rules that seccomp cannot express, because a
 * seccomp filter sees a pointer where the path is.  <myriad/sandbox.h>
 * documents the API; docs/security.md what the launcher protects with it.
 *
 * Landlock only grants: a ruleset "handles" some accesses, which are then
 * denied everywhere except beneath the paths a rule names.  "Everything but
 * these trees" is therefore spelled out as grants on every sibling of each
 * protected tree and of each of its ancestors (myr_landlock_allow_except()).
 * Entries added later to an ancestor get no grant, and an ancestor's own
 * entries cannot be created, removed or renamed: the protected tree cannot
 * be moved away and replaced.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/landlock.h>
#include <myriad/sandbox.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

/* Rights that apply to a file (the kernel refuses others on a file rule). */
#define FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
		     LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
		     LANDLOCK_ACCESS_FS_IOCTL_DEV)

int myr_landlock_abi(void)
{
	int saved_errno = errno;
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0,
			 LANDLOCK_CREATE_RULESET_VERSION);
	int r = v > 0 ? (int)v : -errno;

	errno = saved_errno;
	return r;
}

/* The kernel's rights for an access class, as far as this ABI knows them. */
static uint64_t kernel_rights(unsigned access, int abi)
{
	uint64_t r = 0;

	if (access & MYR_LANDLOCK_READ)
		r |= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
		     LANDLOCK_ACCESS_FS_EXECUTE;
	if (access & MYR_LANDLOCK_WRITE) {
		r |= LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
		     LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
		     LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
		     LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
		     LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
		if (abi >= 2)   /* links and renames across directories */
			r |= LANDLOCK_ACCESS_FS_REFER;
		if (abi >= 3)   /* truncate(2), O_TRUNC */
			r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	}
	return r;
}

int myr_landlock_init(struct myr_landlock *ll, unsigned access,
		      struct myr_error *err)
{
	int saved_errno = errno;
	struct landlock_ruleset_attr attr = { 0 };
	int abi = myr_landlock_abi();
	int fd;

	ll->fd = -1;
	ll->abi = abi > 0 ? abi : 0;
	ll->rules = 0;
	if (abi <= 0)
		return myr_error_set(err, abi < 0 ? abi : -ENOSYS, "this kernel "
				     "has no Landlock (%s)", strerror(-abi));
	ll->handled = kernel_rights(access, abi);
	attr.handled_access_fs = ll->handled;
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0) {
		int e = errno;
		errno = saved_errno;
		return myr_error_set(err, -e, "cannot create a Landlock ruleset: "
				     "%s", strerror(e));
	}
	ll->fd = fd;
	errno = saved_errno;
	return 0;
}

void myr_landlock_exit(struct myr_landlock *ll)
{
	if (ll->fd >= 0) {
		int saved_errno = errno;
		close(ll->fd);
		errno = saved_errno;
	}
	ll->fd = -1;
}

/* Grant the ruleset's rights beneath fd (a directory) or on it (a file). */
static int add_rule(struct myr_landlock *ll, int fd, int is_dir)
{
	struct landlock_path_beneath_attr pb = {
		.allowed_access = is_dir ? ll->handled : ll->handled & FILE_RIGHTS,
		.parent_fd = fd,
	};

	if (pb.allowed_access == 0)
		return 0;
	if (syscall(SYS_landlock_add_rule, ll->fd, LANDLOCK_RULE_PATH_BENEATH,
		    &pb, 0) < 0)
		return -errno;
	ll->rules++;
	return 0;
}

int myr_landlock_allow(struct myr_landlock *ll, const char *path,
		       struct myr_error *err)
{
	int saved_errno = errno;
	int fd = open(path, O_PATH | O_CLOEXEC), r;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		errno = saved_errno;
		return myr_error_set(err, r, "%s: %s", path, strerror(-r));
	}
	r = add_rule(ll, fd, S_ISDIR(st.st_mode));
	close(fd);
	errno = saved_errno;
	if (r < 0)
		return myr_error_set(err, r, "%s: cannot add a Landlock rule: %s",
				     path, strerror(-r));
	return 0;
}

/* How path relates to the protected set: 2 protected (or beneath one),
 * 1 a proper ancestor of one, 0 unrelated. */
static int relation(const char *path, size_t len, char *const *prot, size_t n)
{
	int rel = 0;

	for (size_t i = 0; i < n; i++) {
		size_t pl = strlen(prot[i]);
		if (pl <= len && memcmp(prot[i], path, pl) == 0 &&
		    (pl == len || path[pl] == '/' || pl == 1))
			return 2;
		if (len < pl && memcmp(prot[i], path, len) == 0 &&
		    (prot[i][len] == '/' || len == 1))
			rel = 1;
	}
	return rel;
}

/* Grant on every entry of directory path (len bytes, "/" for the root)
 * that is neither protected nor an ancestor of a protected path; recurse
 * into the ancestors. */
static int grant_around(struct myr_landlock *ll, char *path, size_t len,
			char *const *prot, size_t n, struct myr_error *err)
{
	int dfd = open(len ? path : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (dfd < 0)
		return myr_error_set(err, -errno, "%s: %s", len ? path : "/",
				     strerror(errno));
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return myr_error_set(err, r, "%s: %s", path, strerror(-r));
	}
	while (r == 0 && (e = readdir(d))) {
		size_t el = strlen(e->d_name), sub = len + 1 + el;
		struct stat st;
		int fd, rel;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (sub >= PATH_MAX)
			continue;       /* unreachable by the protected paths */
		path[len] = '/';
		memcpy(path + len + 1, e->d_name, el + 1);
		rel = relation(path, sub, prot, n);
		if (rel == 2)
			continue;
		if (rel == 1) {
			r = grant_around(ll, path, sub, prot, n, err);
			continue;
		}
		/* A symlink is judged where it points; a vanished entry
		 * needs no grant. */
		fd = openat(dirfd(d), e->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && !S_ISLNK(st.st_mode)) {
			r = add_rule(ll, fd, S_ISDIR(st.st_mode));
			if (r < 0)
				myr_error_set(err, r, "%s: cannot add a Landlock "
					      "rule: %s", path, strerror(-r));
		}
		close(fd);
	}
	path[len] = '\0';
	closedir(d);
	return r;
}

int myr_landlock_allow_except(struct myr_landlock *ll,
			      const char *const *paths, size_t n,
			      struct myr_error *err)
{
	int saved_errno = errno;
	char **prot = calloc(n ? n : 1, sizeof(*prot));
	char *path = malloc(PATH_MAX);
	size_t k = 0;
	int r = 0;

	if (!prot || !path) {
		r = myr_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* Canonical paths: the walk compares names, and a symlink or ".."
	 * in a protected path must not hide it. */
	for (size_t i = 0; i < n; i++) {
		prot[k] = realpath(paths[i], NULL);
		if (prot[k])
			k++;
		else if (errno != ENOENT) {
			r = myr_error_set(err, -errno, "%s: %s", paths[i],
					  strerror(errno));
			goto out;
		}
	}
	path[0] = '\0';
	if (relation("/", 1, prot, k) == 2)
		goto out;               /* "/" itself is protected: no grant */
	r = grant_around(ll, path, 0, prot, k, err);
out:
	for (size_t i = 0; prot && i < k; i++)
		free(prot[i]);
	free(prot);
	free(path);
	errno = saved_errno;
	return r;
}

int myr_landlock_enforce(struct myr_landlock *ll, struct myr_error *err)
{
	int saved_errno = errno;
	int r = 0;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, ll->fd, 0) < 0)
		r = myr_error_set(err, -errno, "cannot enforce the Landlock "
				  "ruleset: %s", strerror(errno));
	myr_landlock_exit(ll);
	errno = saved_errno;
	return r;
}
