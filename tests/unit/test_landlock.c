/* SPDX-License-Identifier: MIT */
/*
 * The Landlock API of <myriad/sandbox.h>: myr_landlock_allow_except() keeps
 * a tree (and its ancestors' entries) from being written while everything
 * else can be; myr_landlock_allow() grants beneath one path only; reading
 * is never affected.  Each check runs in a forked child that enforces the
 * ruleset, so the test's own process can clean up.  Skipped where the
 * kernel has no Landlock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <myriad/sandbox.h>
#include "harness.h"

static char base[64], prot[96], other[96];

static void make_tree(void)
{
	snprintf(base, sizeof(base), "/tmp/myr-landlock.XXXXXX");
	if (!mkdtemp(base))
		abort();
	snprintf(prot, sizeof(prot), "%s/prot", base);
	snprintf(other, sizeof(other), "%s/other", base);
	if (mkdir(prot, 0755) || mkdir(other, 0755))
		abort();
	char old[128];
	snprintf(old, sizeof(old), "%s/old", prot);
	int fd = open(old, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "x", 1) != 1)
		abort();
	close(fd);
}

static void remove_tree(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", base);
}

/* -errno of creating path for writing, or 0. */
static int create(const char *dir, const char *name)
{
	char path[160];
	int fd;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int landlock_missing(void)
{
	int abi = myr_landlock_abi();
	return abi == -ENOSYS || abi == -EOPNOTSUPP;
}

/* Run check() in a child under a ruleset that allowed everything but
 * prot (except) or only other (!except); the child's exit status is the
 * number of the first failed expectation. */
static int in_child(int except, int (*check)(void))
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct myr_error err = { 0 };
		struct myr_landlock ll;
		const char *paths[] = { prot };
		if (myr_landlock_init(&ll, MYR_LANDLOCK_WRITE, &err) < 0)
			_exit(90);
		if ((except ? myr_landlock_allow_except(&ll, paths, 1, &err)
			    : myr_landlock_allow(&ll, other, &err)) < 0)
			_exit(91);
		if (ll.rules == 0)
			_exit(92);
		if (myr_landlock_enforce(&ll, &err) < 0 || ll.fd != -1)
			_exit(93);
		_exit(check());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int except_checks(void)
{
	char path[160], moved[160], buf[2];
	int fd;

	if (create(prot, "new") != -EACCES)
		return 1;
	if (create(prot, "old") != -EACCES)
		return 2;
	if (create(other, "new") != 0)
		return 3;
	if (create(base, "new") != -EACCES)     /* an ancestor's entries */
		return 4;
	snprintf(moved, sizeof(moved), "%s/moved", other);
	if (rename(prot, moved) == 0)
		return 5;
	snprintf(path, sizeof(path), "%s/old", prot);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, 1) != 1 || buf[0] != 'x')
		return 6;
	close(fd);
	return 0;
}

TEST(allow_except_protects_a_tree_and_its_ancestors_entries)
{
	int r;

	if (landlock_missing())
		SKIP(return, "this kernel has no Landlock");
	make_tree();
	r = in_child(1, except_checks);
	remove_tree();
	EXPECT_EQ(0, r);
}

static int allow_checks(void)
{
	if (create(other, "new") != 0)
		return 1;
	if (create(prot, "new") != -EACCES)
		return 2;
	if (create(base, "new") != -EACCES)
		return 3;
	return 0;
}

TEST(allow_grants_beneath_one_path_only)
{
	int r;

	if (landlock_missing())
		SKIP(return, "this kernel has no Landlock");
	make_tree();
	r = in_child(0, allow_checks);
	remove_tree();
	EXPECT_EQ(0, r);
}

TEST(without_landlock_init_says_so)
{
	struct myr_error err = { 0 };
	struct myr_landlock ll;
	int r = myr_landlock_init(&ll, MYR_LANDLOCK_WRITE, &err);

	if (landlock_missing()) {
		EXPECT_TRUE(r == -ENOSYS || r == -EOPNOTSUPP);
		EXPECT_EQ(0, ll.abi);
		EXPECT_TRUE(strstr(err.msg, "no Landlock") != NULL);
	} else {
		EXPECT_EQ(0, r);
		EXPECT_GT(ll.abi, 0);
		EXPECT_GE(ll.fd, 0);
	}
	myr_landlock_exit(&ll);
	EXPECT_EQ(-1, ll.fd);
}

TEST_HARNESS_MAIN
