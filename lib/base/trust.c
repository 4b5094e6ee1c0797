/* SPDX-License-Identifier: MIT */
/*
 * lib/base/trust.c - whose files decide what runs (base: the cache image
 * and the cache builder check it, below the sandbox layer): a library directory, the cache's
 * subdirectory and its image are used only if nobody but root, the user
 * running the launcher (or the library directory's owner) can write them,
 * as sshd treats key files (docs/security.md).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <myriad/sandbox.h>

int myr_stat_check_trusted(const struct stat *st, const char *name,
			   const char *what, long also_owner,
			   struct myr_error *err)
{
	if (st->st_uid != 0 && st->st_uid != geteuid() &&
	    (also_owner < 0 || st->st_uid != (uid_t)also_owner))
		return myr_error_set(err, -EPERM, "%s %s is owned by uid %u, "
				     "neither root nor this user: refusing it",
				     what, name, (unsigned)st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return myr_error_set(err, -EPERM, "%s %s is writable by %s "
				     "(mode %04o): refusing it", what, name,
				     st->st_mode & S_IWOTH ? "everyone" :
				     "its group", (unsigned)(st->st_mode & 07777));
	return 0;
}

int myr_file_check_trusted(int fd, const char *name, const char *what,
			   long also_owner, struct myr_error *err)
{
	int saved_errno = errno;
	struct stat st;
	int r;

	if (fstat(fd, &st) != 0) {
		r = -errno;
		errno = saved_errno;
		return myr_error_set(err, r, "%s %s: %s", what, name,
				     strerror(-r));
	}
	errno = saved_errno;
	return myr_stat_check_trusted(&st, name, what, also_owner, err);
}
