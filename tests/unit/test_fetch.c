/* SPDX-License-Identifier: MIT */
/*
 * The fetcher's lookup and verdicts (lib/load/fetch.c, lib/load/fetch_uring.c), each
 * test run once with plain syscalls and once with io_uring: directories in
 * order, symlinks confined to the directory, non-regular files rejected by
 * type without hanging, size hints that are too small or too large,
 * truncated and over-long files, bad names, trace lines, and no fd left
 * after myr_fetcher_close().
 */
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include "harness.h"
#include "test_fetch_util.h"

struct run {
	char root[64];
	char a[256], b[256];
	const char *dirs[2];
	struct myr_fetcher *f;
	char trace[16384];
	size_t trace_len;
};

static void collect(void *opaque, const char *line)
{
	struct run *r = opaque;
	int n = snprintf(r->trace + r->trace_len, sizeof(r->trace) - r->trace_len,
			 "%s\n", line);
	if (n > 0 && r->trace_len + (size_t)n < sizeof(r->trace))
		r->trace_len += (size_t)n;
}

static void run_setup(struct run *r)
{
	memset(r, 0, sizeof(*r));
	tf_tmpdir(r->root);
	tf_subdir(r->a, sizeof(r->a), r->root, "a");
	tf_subdir(r->b, sizeof(r->b), r->root, "b");
	r->dirs[0] = r->a;
	r->dirs[1] = r->b;
}

static void run_open(struct run *r, enum myr_io_mode io)
{
	struct myr_fetch_config cfg = {
		.dirs = r->dirs, .ndirs = 2, .io = io,
		.trace = collect, .trace_opaque = r,
	};
	struct myr_error err = { 0 };
	int ret = myr_fetcher_init(&r->f, &cfg, &err);
	if (ret < 0)
		TH_LOG("init: %s", err.msg);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(io, myr_fetcher_io(r->f));
}

static void run_done(struct run *r)
{
	myr_fetcher_exit(r->f);
	tf_rmtree(r->root);
}

/* Fetch one name; returns its item. */
static struct myr_fetch_item fetch1(struct run *r, const char *name, uint32_t hint)
{
	struct myr_fetch_item it = tf_item(name, hint);
	ASSERT_EQ(0, myr_fetcher_fetch(r->f, &it, 1));
	return it;
}

#define MODE_TEST(name)                                                        \
	static void name##_body(enum myr_io_mode io);                          \
	TEST(name##_sync) { name##_body(MYR_IO_SYNC); }                        \
	TEST(name##_uring)                                                     \
	{                                                                      \
		char why[256];                                                 \
		if (!tf_have_uring("/tmp", why, sizeof(why)))                  \
			SKIP(return, "%s", why);                               \
		name##_body(MYR_IO_URING);                                     \
	}                                                                      \
	static void name##_body(enum myr_io_mode io)

MODE_TEST(found_in_second_directory)
{
	struct run r;
	run_setup(&r);
	size_t len = tf_put(r.b, "beta", 1500);
	size_t len0 = tf_put(r.a, "alpha", 900);
	run_open(&r, io);

	struct myr_fetch_item it[2] = { tf_item("beta", 0), tf_item("alpha", 0) };
	ASSERT_EQ(0, myr_fetcher_fetch(r.f, it, 2));
	ASSERT_EQ(0, it[0].status);
	EXPECT_EQ(1, it[0].dir);
	EXPECT_EQ(len, it[0].len);
	ASSERT_EQ(0, it[1].status);
	EXPECT_EQ(0, it[1].dir);
	EXPECT_EQ(len0, it[1].len);
	EXPECT_EQ(0, (uintptr_t)it[0].data % 16);
	EXPECT_EQ(0, (uintptr_t)it[1].data % 16);

	/* The bytes are the file's, and they parse. */
	struct myr_module_view v;
	struct myr_error err = { 0 };
	EXPECT_EQ(0, myr_module_parse(it[0].data, it[0].len, 0, &v, &err));
	EXPECT_STREQ("beta", v.name);

	/* MYRIAD_DEBUG=files: each directory tried, then where it was. */
	EXPECT_NONNULL(strstr(r.trace, "trying "));
	EXPECT_NONNULL(strstr(r.trace, "/a/beta.myr: not found"));
	EXPECT_NONNULL(strstr(r.trace, "/b/beta.myr: found"));
	run_done(&r);
}

MODE_TEST(missing_is_enoent_naming_every_directory)
{
	struct run r;
	char want[600];
	run_setup(&r);
	run_open(&r, io);
	struct myr_fetch_item it = fetch1(&r, "nowhere", 0);
	EXPECT_EQ(-ENOENT, it.status);
	EXPECT_EQ(-1, it.dir);
	EXPECT_NULL(it.data);
	snprintf(want, sizeof(want), "not found in %s, %s", r.a, r.b);
	EXPECT_STREQ(want, it.msg);
	run_done(&r);
}

MODE_TEST(symlink_escaping_the_directory_is_rejected)
{
	struct run r;
	char out[300], target[400], link[300];
	run_setup(&r);
	tf_subdir(out, sizeof(out), r.root, "outside");
	tf_put(out, "evil", 600);
	tf_put(r.b, "evil", 600);     /* never shadows: the first entry decides */
	snprintf(link, sizeof(link), "%s/evil.myr", r.a);
	ASSERT_EQ(0, symlink("../outside/evil.myr", link));
	snprintf(target, sizeof(target), "%s/evil.myr", out);
	snprintf(link, sizeof(link), "%s/abs.myr", r.a);
	ASSERT_EQ(0, symlink(target, link));
	run_open(&r, io);

	struct myr_fetch_item it = fetch1(&r, "evil", 0);
	EXPECT_EQ(-EXDEV, it.status);
	EXPECT_EQ(0, it.dir);
	EXPECT_NONNULL(strstr(it.msg, "escapes the library directory"));
	it = fetch1(&r, "abs", 0);
	EXPECT_EQ(-EXDEV, it.status);
	EXPECT_NONNULL(strstr(it.msg, "escapes the library directory"));
	EXPECT_NONNULL(strstr(r.trace, "rejected: escapes the library directory"));
	run_done(&r);
}

MODE_TEST(symlink_inside_the_directory_is_followed)
{
	struct run r;
	char sub[300], link[300];
	run_setup(&r);
	tf_subdir(sub, sizeof(sub), r.a, "store");
	size_t len = tf_put(sub, "real", 700);
	snprintf(link, sizeof(link), "%s/nice.myr", r.a);
	ASSERT_EQ(0, symlink("store/real.myr", link));
	run_open(&r, io);
	struct myr_fetch_item it = fetch1(&r, "nice", 0);
	EXPECT_EQ(0, it.status);
	EXPECT_EQ(len, it.len);
	run_done(&r);
}

MODE_TEST(directory_fifo_and_socket_are_rejected_by_type)
{
	struct run r;
	char path[300];
	run_setup(&r);
	snprintf(path, sizeof(path), "%s/d.myr", r.a);
	ASSERT_EQ(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/fifo.myr", r.a);
	ASSERT_EQ(0, mkfifo(path, 0644));
	snprintf(path, sizeof(path), "%s/sock.myr", r.a);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(s, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	ASSERT_LT(strlen(path), sizeof(sun.sun_path));
	strcpy(sun.sun_path, path);
	ASSERT_EQ(0, bind(s, (struct sockaddr *)&sun, sizeof(sun)));
	ASSERT_EQ(0, listen(s, 1));

	/* A FIFO that has a writer which never writes: a blocking read would
	 * wait forever (the harness's timeout would catch it). */
	snprintf(path, sizeof(path), "%s/busy.myr", r.a);
	ASSERT_EQ(0, mkfifo(path, 0644));
	int rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_GE(rd, 0);
	int wr = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_GE(wr, 0);
	run_open(&r, io);

	struct myr_fetch_item it[4] = {
		tf_item("d", 0), tf_item("fifo", 0), tf_item("sock", 0),
		tf_item("busy", 0),
	};
	ASSERT_EQ(0, myr_fetcher_fetch(r.f, it, 4));
	EXPECT_EQ(-EISDIR, it[0].status);
	EXPECT_STREQ("is a directory", it[0].msg);
	EXPECT_EQ(-EINVAL, it[1].status);
	EXPECT_STREQ("is a FIFO", it[1].msg);
	EXPECT_EQ(-EINVAL, it[2].status);
	EXPECT_STREQ("is a socket", it[2].msg);
	EXPECT_EQ(-EINVAL, it[3].status);
	EXPECT_STREQ("is a FIFO", it[3].msg);
	EXPECT_NONNULL(strstr(r.trace, "/a/fifo.myr: rejected: is a FIFO"));
	close(wr);
	close(rd);
	close(s);
	run_done(&r);
}

MODE_TEST(character_device_is_rejected)
{
	struct run r;
	char path[300];
	run_setup(&r);
	snprintf(path, sizeof(path), "%s/null.myr", r.a);
	if (mknod(path, S_IFCHR | 0644, makedev(1, 3)) < 0) {
		int e = errno;
		run_done(&r);
		SKIP(return, "mknod of a character device: %s", strerror(e));
	}
	snprintf(path, sizeof(path), "%s/zero.myr", r.a);
	ASSERT_EQ(0, mknod(path, S_IFCHR | 0644, makedev(1, 5)));
	run_open(&r, io);
	struct myr_fetch_item it[2] = { tf_item("null", 0), tf_item("zero", 0) };
	ASSERT_EQ(0, myr_fetcher_fetch(r.f, it, 2));
	for (int i = 0; i < 2; i++) {
		/* A filesystem mounted nodev refuses the open itself. */
		if (it[i].status == -EACCES)
			continue;
		EXPECT_EQ(-EINVAL, it[i].status);
		EXPECT_STREQ("is a character device", it[i].msg);
	}
	run_done(&r);
}

MODE_TEST(size_hint_too_small_or_too_large)
{
	struct run r;
	run_setup(&r);
	size_t big = tf_put(r.a, "big", 20000);
	size_t small = tf_put(r.a, "small", 600);
	size_t exact = tf_put(r.a, "exact", 3000);
	uint8_t *shebang;
	size_t mlen = tf_module("script", 2000, &shebang);
	/* A module with a #! line: the header starts 32 bytes in. */
	uint8_t *withline = malloc(mlen + 32);
	memset(withline, ' ', 32);
	memcpy(withline, "#!/usr/bin/myriad", 17);
	withline[31] = '\n';
	memcpy(withline + 32, shebang, mlen);
	tf_write(r.a, "script.myr", withline, mlen + 32);
	run_open(&r, io);

	struct myr_fetch_item it[5] = {
		tf_item("big", 100),        /* one more read */
		tf_item("small", 5000),     /* over-sized read, one read */
		tf_item("exact", (uint32_t)exact),
		tf_item("big", 0),          /* no hint: default read, then more */
		tf_item("script", 0),
	};
	ASSERT_EQ(0, myr_fetcher_fetch(r.f, it, 5));
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(0, it[i].status);
	EXPECT_EQ(big, it[0].len);
	EXPECT_EQ(small, it[1].len);
	EXPECT_EQ(exact, it[2].len);
	EXPECT_EQ(big, it[3].len);
	EXPECT_EQ(mlen + 32, it[4].len);
	EXPECT_MEMEQ(withline, it[4].data, mlen + 32);

	struct myr_module_view v;
	struct myr_error err = { 0 };
	EXPECT_EQ(0, myr_module_parse(it[0].data, it[0].len, 0, &v, &err));
	EXPECT_EQ(0, myr_module_parse(it[3].data, it[3].len, 0, &v, &err));

	struct myr_fetch_stats st;
	myr_fetcher_stats(r.f, &st);
	EXPECT_EQ(5, st.files);
	EXPECT_EQ(2, st.extra_reads);
	EXPECT_EQ(0, st.slow_path);
	free(withline);
	free(shebang);
	run_done(&r);
}

MODE_TEST(truncated_overlong_and_foreign_files)
{
	struct run r;
	uint8_t *m;
	run_setup(&r);
	size_t len = tf_module("t", 5000, &m);
	tf_write(r.a, "cut.myr", m, 3000);
	tf_write(r.a, "cuthead.myr", m, 100);
	uint8_t *longer = calloc(1, len + 10);
	memcpy(longer, m, len);
	tf_write(r.a, "long.myr", longer, len + 10);
	tf_write(r.a, "text.myr", "hello, world\n", 13);
	tf_write(r.a, "empty.myr", "", 0);
	run_open(&r, io);

	struct myr_fetch_item it[6] = {
		tf_item("cut", 0), tf_item("cut", (uint32_t)len),
		tf_item("cuthead", 0), tf_item("long", (uint32_t)len),
		tf_item("text", 0), tf_item("empty", 0),
	};
	char want[200];
	ASSERT_EQ(0, myr_fetcher_fetch(r.f, it, 6));
	snprintf(want, sizeof(want), "truncated: header says %zu bytes, file has 3000", len);
	EXPECT_EQ(-EBADMSG, it[0].status);
	EXPECT_STREQ(want, it[0].msg);
	EXPECT_EQ(-EBADMSG, it[1].status);
	EXPECT_STREQ(want, it[1].msg);
	EXPECT_EQ(-EBADMSG, it[2].status);
	EXPECT_NONNULL(strstr(it[2].msg, "truncated"));
	snprintf(want, sizeof(want), "header says %zu bytes, file has %zu", len, len + 10);
	EXPECT_EQ(-EBADMSG, it[3].status);
	EXPECT_STREQ(want, it[3].msg);
	EXPECT_EQ(-ENOEXEC, it[4].status);
	EXPECT_NE(0, it[4].msg[0]);
	EXPECT_EQ(-EBADMSG, it[5].status);
	for (int i = 0; i < 6; i++)
		EXPECT_NULL(it[i].data);
	free(longer);
	free(m);
	run_done(&r);
}

MODE_TEST(bad_names_are_refused)
{
	struct run r;
	run_setup(&r);
	tf_put(r.a, "ok", 600);
	run_open(&r, io);
	struct myr_fetch_item it[7] = {
		tf_item("../a/ok", 0), tf_item("a/b", 0), tf_item(".", 0),
		tf_item("..", 0), tf_item("", 0), tf_item("ok", 0),
		tf_item("x\0y", 0),
	};
	it[6].name_len = 3;
	ASSERT_EQ(0, myr_fetcher_fetch(r.f, it, 7));
	for (int i = 0; i < 7; i++) {
		if (i == 5) {
			EXPECT_EQ(0, it[i].status);
			continue;
		}
		EXPECT_EQ(-EINVAL, it[i].status);
		EXPECT_NE(0, it[i].msg[0]);
	}
	char longname[MYR_NAME_MAX + 2];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	struct myr_fetch_item l = fetch1(&r, longname, 0);
	EXPECT_EQ(-EINVAL, l.status);
	run_done(&r);
}

MODE_TEST(no_fd_survives_close)
{
	unsigned char before[1024], after[1024];
	struct run r;
	run_setup(&r);
	for (int i = 0; i < 50; i++) {
		char name[32];
		snprintf(name, sizeof(name), "m%d", i);
		tf_put(i % 2 ? r.a : r.b, name, 700);
	}
	tf_fds(before);
	run_open(&r, io);
	struct myr_fetch_item it[50];
	char names[50][32];
	for (int i = 0; i < 50; i++) {
		snprintf(names[i], sizeof(names[i]), "m%d", i);
		it[i] = tf_item(names[i], 0);
	}
	ASSERT_EQ(0, myr_fetcher_fetch(r.f, it, 50));
	myr_fetcher_close(r.f);
	tf_fds(after);
	for (int fd = 0; fd < 1024; fd++)
		if (after[fd] && !before[fd]) {
			char link[64], target[256] = "";
			snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
			readlink(link, target, sizeof(target) - 1);
			TH_LOG("fd %d survived: %s", fd, target);
			EXPECT_FALSE(after[fd]);
		}
	/* The buffers outlive the close. */
	for (int i = 0; i < 50; i++) {
		ASSERT_EQ(0, it[i].status);
		EXPECT_EQ(0, memcmp(it[i].data, MYR_MAGIC, MYR_MAGIC_SIZE));
	}
	EXPECT_EQ(-EBADF, myr_fetcher_fetch(r.f, it, 1));
	EXPECT_EQ(-ECANCELED, it[0].status);
	run_done(&r);
}

TEST(unopenable_library_directory_is_an_error)
{
	const char *dirs[] = { "/nonexistent/myriad-lib" };
	struct myr_fetch_config cfg = { .dirs = dirs, .ndirs = 1, .io = MYR_IO_SYNC };
	struct myr_error err = { 0 };
	struct myr_fetcher *f = NULL;
	EXPECT_EQ(-ENOENT, myr_fetcher_init(&f, &cfg, &err));
	EXPECT_NULL(f);
	EXPECT_NONNULL(strstr(err.msg, "/nonexistent/myriad-lib"));
}

TEST_HARNESS_MAIN
