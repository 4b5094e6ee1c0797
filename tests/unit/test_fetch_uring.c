/* SPDX-License-Identifier: MIT */
/*
 * The fetcher's io mode selection and the io_uring ring itself: the ring is
 * restricted to the fetcher's opcodes, MYR_IO_AUTO falls back to sync when
 * io_uring_setup is denied (and MYR_IO_URING fails cleanly), a fetch of
 * 5,000 files never meets an RLIMIT_NOFILE of 64, 10,000 files load in both
 * modes, and the openat2-less fallback refuses every symlink.
 *
 * Denials are made with a seccomp filter in the test's own forked child.
 */
#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <liburing.h>
#include "harness.h"
#include "test_fetch_util.h"
#include "load/fetch_internal.h"

#if defined(__x86_64__)
#define TF_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TF_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* Make syscall nr fail with errno e from now on, in this process. */
static int deny_syscall(long nr, int e)
{
	struct sock_filter filt[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TF_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)e & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filt) / sizeof(filt[0]), .filter = filt };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}

static int init_flags(struct myr_fetcher **f, const char *dir,
		      enum myr_io_mode io, unsigned flags, struct myr_error *err)
{
	const char *dirs[] = { dir };
	struct myr_fetch_config cfg = { .dirs = dirs, .ndirs = 1, .io = io,
					.flags = flags };
	return myr_fetcher_init(f, &cfg, err);
}

static int init_fetcher(struct myr_fetcher **f, const char *dir,
			enum myr_io_mode io, struct myr_error *err)
{
	return init_flags(f, dir, io, 0, err);
}

#define NEED_URING()                                                          \
	do {                                                                  \
		char why_[256];                                               \
		if (!tf_have_uring("/tmp", why_, sizeof(why_)))               \
			SKIP(return, "%s", why_);                             \
	} while (0)

TEST(ring_refuses_opcodes_the_fetcher_does_not_use)
{
	struct myr_fetcher *f;
	struct myr_error err = { 0 };
	struct myr_fetch_stats st;

	NEED_URING();
	ASSERT_EQ(0, init_fetcher(&f, "/tmp", MYR_IO_URING, &err));
	myr_fetcher_stats(f, &st);
	if (!st.ring_restricted) {
		myr_fetcher_exit(f);
		SKIP(return, "kernel lacks io_uring restrictions: %s", st.note);
	}
	EXPECT_STREQ("", st.note);
	EXPECT_EQ(-EACCES, myri_fetcher_test_ring_op(f, IORING_OP_WRITE));
	EXPECT_EQ(-EACCES, myri_fetcher_test_ring_op(f, IORING_OP_NOP));
	EXPECT_EQ(-EACCES, myri_fetcher_test_ring_op(f, IORING_OP_OPENAT));
	EXPECT_EQ(-EACCES, myri_fetcher_test_ring_op(f, IORING_OP_CLOSE));
	/* An allowed opcode gets past the restriction to the fd check. */
	EXPECT_EQ(-EBADF, myri_fetcher_test_ring_op(f, IORING_OP_READ));
	myr_fetcher_exit(f);
}

TEST(auto_falls_back_to_sync_when_io_uring_setup_is_denied)
{
	char root[64];
	struct myr_fetcher *f = NULL;
	struct myr_error err = { 0 };
	struct myr_fetch_stats st;
	int ret;

	tf_tmpdir(root);
	size_t len = tf_put(root, "m", 900);
	ret = deny_syscall(__NR_io_uring_setup, EPERM);
	if (ret < 0) {
		tf_rmtree(root);
		SKIP(return, "cannot install a seccomp filter: %s", strerror(-ret));
	}

	EXPECT_EQ(-EPERM, init_fetcher(&f, root, MYR_IO_URING, &err));
	EXPECT_NULL(f);
	EXPECT_NONNULL(strstr(err.msg, "io_uring_setup"));

	/* AUTO tries the ring only for a cold batch (FETCH_F_RING_ONLY:
	 * every batch wants the ring), then stays in sync mode. */
	ASSERT_EQ(0, init_flags(&f, root, MYR_IO_AUTO, FETCH_F_RING_ONLY, &err));
	EXPECT_EQ(MYR_IO_AUTO, myr_fetcher_io(f));
	struct myr_fetch_item it = tf_item("m", 0);
	ASSERT_EQ(0, myr_fetcher_fetch(f, &it, 1));
	EXPECT_EQ(0, it.status);
	EXPECT_EQ(len, it.len);
	EXPECT_EQ(MYR_IO_SYNC, myr_fetcher_io(f));
	myr_fetcher_stats(f, &st);
	EXPECT_EQ(MYR_IO_SYNC, st.io);
	EXPECT_EQ(0u, st.ring_opens);
	EXPECT_NONNULL(strstr(st.note, "io_uring_setup"));
	it = tf_item("m", 0);
	ASSERT_EQ(0, myr_fetcher_fetch(f, &it, 1));
	EXPECT_EQ(0, it.status);
	EXPECT_EQ(len, it.len);
	myr_fetcher_exit(f);
	tf_rmtree(root);
}

/* n files m0..m{n-1} of 1-2 KB in a fresh directory. */
static void many_files(char root[64], size_t n, uint8_t **bufs, size_t *lens)
{
	char file[32];
	tf_tmpdir(root);
	/* Four distinct modules, written under many names: the fetcher does
	 * not look at the name inside. */
	for (int k = 0; k < 4; k++)
		lens[k] = tf_module("m", 1000 + 300 * (size_t)k, &bufs[k]);
	for (size_t i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "m%zu.myr", i);
		tf_write(root, file, bufs[i % 4], lens[i % 4]);
	}
}

static void fetch_many(const char *root, size_t n, enum myr_io_mode io,
		       unsigned flags, uint8_t **bufs, size_t *lens, int hints)
{
	struct myr_fetcher *f;
	struct myr_error err = { 0 };
	struct myr_fetch_item *items = calloc(n, sizeof(*items));
	char (*names)[32] = calloc(n, sizeof(*names));
	struct myr_fetch_stats st;

	ASSERT_NONNULL(items);
	ASSERT_NONNULL(names);
	ASSERT_EQ(0, init_flags(&f, root, io, flags, &err));
	ASSERT_EQ(io, myr_fetcher_io(f));
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "m%zu", i);
		items[i] = tf_item(names[i], hints ? (uint32_t)lens[i % 4] : 0);
	}
	ASSERT_EQ(0, myr_fetcher_fetch(f, items, n));
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		if (items[i].status != 0 || items[i].len != lens[i % 4] ||
		    memcmp(items[i].data, bufs[i % 4], lens[i % 4]) != 0) {
			if (bad++ < 5)
				TH_LOG("%s: status %d len %zu: %s", names[i],
				       items[i].status, items[i].len,
				       items[i].msg);
		}
	}
	EXPECT_EQ(0, bad);
	myr_fetcher_stats(f, &st);
	EXPECT_EQ(n, st.files);
	EXPECT_EQ(0, st.slow_path);
	EXPECT_EQ(0, st.extra_reads);
	myr_fetcher_exit(f);
	free(items);
	free(names);
}

/* 10,000 files, read with and without size hints; in io_uring mode also
 * with every file kept in the ring (the scratch directory is on tmpfs,
 * whose files the ring would otherwise leave to plain syscalls). */
static void ten_thousand(enum myr_io_mode io)
{
	char root[64];
	uint8_t *bufs[4];
	size_t lens[4];
	many_files(root, 10000, bufs, lens);
	fetch_many(root, 10000, io, 0, bufs, lens, 1);
	fetch_many(root, 10000, io, 0, bufs, lens, 0);
	if (io == MYR_IO_URING) {
		fetch_many(root, 10000, io, FETCH_F_RING_ONLY, bufs, lens, 1);
		fetch_many(root, 10000, io, FETCH_F_RING_ONLY, bufs, lens, 0);
	}
	tf_rmtree(root);
	for (int k = 0; k < 4; k++)
		free(bufs[k]);
}

TEST(ten_thousand_files_sync)
{
	ten_thousand(MYR_IO_SYNC);
}

TEST(ten_thousand_files_uring)
{
	NEED_URING();
	ten_thousand(MYR_IO_URING);
}

TEST(five_thousand_files_under_rlimit_nofile_64)
{
	char root[64];
	uint8_t *bufs[4];
	size_t lens[4];
	struct rlimit rl = { 64, 64 };
	struct myr_fetcher *f;
	struct myr_error err = { 0 };
	struct myr_fetch_stats st;

	NEED_URING();
	many_files(root, 5000, bufs, lens);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	fetch_many(root, 5000, MYR_IO_URING, FETCH_F_RING_ONLY, bufs, lens, 1);
	ASSERT_EQ(0, init_fetcher(&f, root, MYR_IO_URING, &err));
	myr_fetcher_stats(f, &st);
	EXPECT_LE(st.slots, 64);
	EXPECT_GE(st.slots, 1);
	myr_fetcher_exit(f);
	/* The limit is the caller's: the fetcher never raised it. */
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	EXPECT_EQ(64, rl.rlim_cur);
	tf_rmtree(root);
	for (int k = 0; k < 4; k++)
		free(bufs[k]);
}

TEST(without_openat2_every_symlink_is_refused)
{
	char root[64], sub[300], link[300];
	struct myr_fetcher *f;
	struct myr_error err = { 0 };
	int ret;

	tf_tmpdir(root);
	tf_subdir(sub, sizeof(sub), root, "store");
	tf_put(sub, "real", 700);
	tf_put(root, "plain", 800);
	snprintf(link, sizeof(link), "%s/nice.myr", root);
	ASSERT_EQ(0, symlink("store/real.myr", link));
	ret = deny_syscall(SYS_openat2, ENOSYS);
	if (ret < 0) {
		tf_rmtree(root);
		SKIP(return, "cannot install a seccomp filter: %s", strerror(-ret));
	}
	ASSERT_EQ(0, init_fetcher(&f, root, MYR_IO_SYNC, &err));
	struct myr_fetch_item it[2] = { tf_item("plain", 0), tf_item("nice", 0) };
	ASSERT_EQ(0, myr_fetcher_fetch(f, it, 2));
	EXPECT_EQ(0, it[0].status);
	EXPECT_EQ(-ELOOP, it[1].status);
	EXPECT_NONNULL(strstr(it[1].msg, "openat2"));
	myr_fetcher_exit(f);
	tf_rmtree(root);
}

/* Every ring variant (linked or phased, inline, async or mixed) and the
 * sync path agree item by item on a batch that has one of each case. */
TEST(every_io_variant_gives_the_same_results)
{
	static const unsigned variants[] = {
		0, MYR_FETCH_F_LINKED, MYR_FETCH_F_ASYNC, MYR_FETCH_F_INLINE,
		MYR_FETCH_F_LINKED | MYR_FETCH_F_ASYNC,
		MYR_FETCH_F_LINKED | MYR_FETCH_F_INLINE,
	};
	char root[64], a[256], b[256], path[300];
	const char *dirs[2] = { a, b };
	const char *names[] = { "good", "inb", "missing", "dir", "fifo", "big",
				"cut", "good" };
	const uint32_t hints[] = { 0, 0, 0, 0, 0, 100, 0, 5000 };
	enum { N = 8 };
	struct myr_fetch_item want[N], got[N];
	struct myr_fetcher *sync_f = NULL;
	uint8_t *m;

	NEED_URING();
	tf_tmpdir(root);
	tf_subdir(a, sizeof(a), root, "a");
	tf_subdir(b, sizeof(b), root, "b");
	tf_put(a, "good", 900);
	tf_put(b, "inb", 1200);
	tf_put(a, "big", 30000);
	size_t len = tf_module("cut", 4000, &m);
	tf_write(a, "cut.myr", m, len / 2);
	free(m);
	snprintf(path, sizeof(path), "%s/dir.myr", a);
	ASSERT_EQ(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/fifo.myr", a);
	ASSERT_EQ(0, mkfifo(path, 0644));

	for (int v = -1; v < (int)(sizeof(variants) / sizeof(variants[0])); v++) {
		struct myr_fetch_config cfg = {
			.dirs = dirs, .ndirs = 2,
			.io = v < 0 ? MYR_IO_SYNC : MYR_IO_URING,
			.flags = v < 0 ? 0 : variants[v] | FETCH_F_RING_ONLY,
		};
		struct myr_error err = { 0 };
		struct myr_fetcher *f;
		struct myr_fetch_item *it = v < 0 ? want : got;

		ASSERT_EQ(0, myr_fetcher_init(&f, &cfg, &err));
		for (int i = 0; i < N; i++)
			it[i] = tf_item(names[i], hints[i]);
		ASSERT_EQ(0, myr_fetcher_fetch(f, it, N));
		for (int i = 0; v >= 0 && i < N; i++) {
			if (got[i].status != want[i].status ||
			    got[i].len != want[i].len ||
			    strcmp(got[i].msg, want[i].msg) != 0)
				TH_LOG("flags %#x, %s: %d '%s', sync: %d '%s'",
				       variants[v], names[i], got[i].status,
				       got[i].msg, want[i].status,
				       want[i].msg);
			EXPECT_EQ(want[i].status, got[i].status);
			EXPECT_EQ(want[i].dir, got[i].dir);
			EXPECT_EQ(want[i].len, got[i].len);
			EXPECT_STREQ(want[i].msg, got[i].msg);
			if (got[i].status == 0)
				EXPECT_MEMEQ(want[i].data, got[i].data, got[i].len);
		}
		if (v < 0)
			sync_f = f;     /* its buffers are compared with */
		else
			myr_fetcher_exit(f);
	}
	EXPECT_EQ(0, want[0].status);
	EXPECT_EQ(1, want[1].dir);
	EXPECT_EQ(-ENOENT, want[2].status);
	EXPECT_EQ(-EISDIR, want[3].status);
	EXPECT_STREQ("is a FIFO", want[4].msg);
	EXPECT_EQ(0, want[5].status);
	EXPECT_EQ(-EBADMSG, want[6].status);
	myr_fetcher_exit(sync_f);
	tf_rmtree(root);
}

TEST_HARNESS_MAIN
