/* SPDX-License-Identifier: MIT */
/*
 * The fetcher's lanes (threads reading one batch) and its byte budget, in
 * both io modes: N lanes give each item exactly what one lane gives
 * (status, directory, bytes, message), the per-item hook sees every item
 * once, only batches of MYR_FETCH_LANES_MIN_ITEMS or more use threads, no
 * thread outlives a call, no file stays open after a batch whatever
 * RLIMIT_NOFILE is, and max_bytes holds at the limit and one byte past
 * it.
 */
#include <pthread.h>
#include <sys/resource.h>
#include "harness.h"
#include "test_fetch_util.h"
#include "load/fetch_internal.h"

#define NFILES 700u

static char root[64], dir_a[128], dir_b[128];
static size_t total_bytes;       /* every file that a batch finds */
static size_t read_bytes;        /* and every file read to be rejected */
static int all_in_a;             /* make_tree(): none missing, none in b */

/* Two directories: most modules in a, some only in b, a few in neither,
 * a few broken ones (a directory, a truncated file, bytes that are no
 * module), sizes from 400 bytes to 9 KB so some need a second read. */
static void make_tree(void)
{
	char name[32];
	uint8_t *buf;
	size_t len;

	tf_tmpdir(root);
	tf_subdir(dir_a, sizeof(dir_a), root, "a");
	tf_subdir(dir_b, sizeof(dir_b), root, "b");
	for (unsigned i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "m%04u", i);
		if (i % 97 == 5 && !all_in_a)
			continue;                       /* missing */
		if (i % 101 == 7) {
			char file[40], sub[200];
			snprintf(file, sizeof(file), "%s.myr", name);
			tf_subdir(sub, sizeof(sub), dir_a, file);
			continue;
		}
		if (i % 103 == 9) {
			len = tf_module(name, 900, &buf);
			snprintf(name + 5, sizeof(name) - 5, ".myr");
			tf_write(dir_a, name, buf, len / 2);   /* truncated */
			read_bytes += len / 2;
			free(buf);
			continue;
		}
		if (i % 107 == 11) {
			snprintf(name + 5, sizeof(name) - 5, ".myr");
			tf_write(dir_a, name, "not a module at all\n", 20);
			read_bytes += 20;
			continue;
		}
		len = tf_put(i % 13 == 0 && !all_in_a ? dir_b : dir_a, name,
			     400 + (i * 37) % (i % 50 ? 1600 : 9000));
		total_bytes += len;
		read_bytes += len;
	}
}

static char names[NFILES][32];

static void fill(struct myr_fetch_item *items, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "m%04u", i);
		memset(&items[i], 0, sizeof(items[i]));
		items[i].name = names[i];
		items[i].name_len = 5;
		/* Some hints too small, so a second read happens. */
		items[i].size_hint = i % 3 ? 0 : 600;
	}
}

struct seen {
	unsigned count[NFILES];
	int status[NFILES];
};

static void on_item(void *opaque, size_t index,
		    const struct myr_fetch_item *item)
{
	struct seen *s = opaque;
	/* Each index is written by one lane only. */
	s->count[index]++;
	s->status[index] = item->status;
}

static int threads_now(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* Fetch the first n names with nthreads lanes; items and stats out.
 * Returns 0, or 1 if the io mode is not available here. */
static unsigned extra_flags;
/* io_uring runs keep their files in the ring on tmpfs unless a test
 * clears this to see the hot path (plain syscalls beside the ring). */
static unsigned uring_flags = FETCH_F_RING_ONLY;

static int run(enum myr_io_mode io, unsigned nthreads, uint64_t max_bytes,
	       unsigned n, struct myr_fetch_item *items, struct seen *seen,
	       struct myr_fetch_stats *st, struct myr_fetcher **keep)
{
	const char *dirs[] = { dir_a, dir_b };
	struct myr_fetch_config cfg = {
		.dirs = dirs, .ndirs = 2, .io = io, .nthreads = nthreads,
		.max_bytes = max_bytes, .on_item = on_item,
		.on_item_opaque = seen,
		/* tmpfs: keep the ring's files in the ring */
		.flags = (io == MYR_IO_URING ? uring_flags : 0) | extra_flags,
	};
	struct myr_error err = { 0 };
	struct myr_fetcher *f;

	if (myr_fetcher_init(&f, &cfg, &err) < 0)
		return 1;
	memset(seen, 0, sizeof(*seen));
	fill(items, n);
	int before = threads_now();
	EXPECT_EQ(0, myr_fetcher_fetch(f, items, n));
	/* Every lane is joined (io_uring's own io-wq workers may remain;
	 * a sanitizer may run a thread of its own). */
	if (io == MYR_IO_SYNC)
		EXPECT_EQ(before, threads_now());
	myr_fetcher_stats(f, st);
	*keep = f;
	return 0;
}

static void same_items(const struct myr_fetch_item *a,
		       const struct myr_fetch_item *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		EXPECT_EQ(a[i].status, b[i].status);
		EXPECT_EQ(a[i].dir, b[i].dir);
		EXPECT_EQ(a[i].len, b[i].len);
		EXPECT_STREQ(a[i].msg, b[i].msg);
		if (a[i].status == 0 && b[i].status == 0 && a[i].len == b[i].len)
			EXPECT_EQ(0, memcmp(a[i].data, b[i].data, a[i].len));
		if (a[i].status != b[i].status)
			TH_LOG("item %u: %d (%s) against %d (%s)", i,
			       a[i].status, a[i].msg, b[i].status,
			       b[i].msg);
	}
}

static void lanes_match_one_lane(enum myr_io_mode io)
{
	static struct myr_fetch_item one[NFILES], many[NFILES];
	static struct seen s1, sn;
	struct myr_fetch_stats st1, stn;
	struct myr_fetcher *f1, *fn;
	unsigned found = 0, missing = 0, broken = 0;

	if (run(io, 1, 0, NFILES, one, &s1, &st1, &f1))
		SKIP(return, "io mode %d not available", (int)io);
	EXPECT_EQ(1u, st1.lanes);
	for (unsigned lanes = 2; lanes <= MYR_FETCH_LANES_MAX; lanes++) {
		ASSERT_EQ(0, run(io, lanes, 0, NFILES, many, &sn, &stn, &fn));
		EXPECT_EQ(lanes, stn.lanes);
		same_items(one, many, NFILES);
		EXPECT_EQ(st1.files, stn.files);
		EXPECT_EQ(st1.bytes, stn.bytes);
		for (unsigned i = 0; i < NFILES; i++) {
			EXPECT_EQ(1u, sn.count[i]);
			EXPECT_EQ(many[i].status, sn.status[i]);
		}
		myr_fetcher_exit(fn);
	}
	for (unsigned i = 0; i < NFILES; i++) {
		EXPECT_EQ(1u, s1.count[i]);
		found += one[i].status == 0;
		missing += one[i].status == -ENOENT;
		broken += one[i].status != 0 && one[i].status != -ENOENT;
	}
	/* The tree has all three kinds, and the bytes are all there. */
	EXPECT_GT(found, NFILES / 2);
	EXPECT_GT(missing, 0u);
	EXPECT_GT(broken, 2u);
	EXPECT_EQ(total_bytes, st1.bytes);
	myr_fetcher_exit(f1);
}

/* Each test runs in its own child: its own tree, removed at its end. */
#define TREE_TEST(name, body)                                                 \
	TEST(name) { make_tree(); body; tf_rmtree(root); }

TREE_TEST(sync_lanes_match_one_lane, lanes_match_one_lane(MYR_IO_SYNC))
TREE_TEST(uring_lanes_match_one_lane, lanes_match_one_lane(MYR_IO_URING))
/* A cold directory: the helpers stop early, the ring lane reads the rest. */
TREE_TEST(uring_cold_lanes_match_one_lane,
	  (extra_flags = FETCH_F_LANES_COLD, lanes_match_one_lane(MYR_IO_URING)))

/* A batch gave what sync mode gave (ref, str), each item seen once. */
static void like_sync(const struct myr_fetch_item *ref,
		      const struct myr_fetch_stats *str,
		      const struct myr_fetch_item *items, const struct seen *s,
		      const struct myr_fetch_stats *st)
{
	same_items(ref, items, NFILES);
	EXPECT_EQ(str->files, st->files);
	EXPECT_EQ(str->bytes, st->bytes);
	for (unsigned i = 0; i < NFILES; i++)
		EXPECT_EQ(1u, s->count[i]);
}

/* Another batch of every name on the same fetcher: the same items. */
static void fetch_again(struct myr_fetcher *f, const struct myr_fetch_item *ref,
			struct myr_fetch_item *items, struct myr_fetch_stats *st)
{
	fill(items, NFILES);
	EXPECT_EQ(0, myr_fetcher_fetch(f, items, NFILES));
	same_items(ref, items, NFILES);
	myr_fetcher_stats(f, st);
}

/*
 * io_uring mode on a hot directory: every lane, the ring's own included,
 * reads with plain syscalls (no open goes through the ring), yet the ring
 * exists (the sandbox closes it), and each item is what sync mode gives.
 * Cold (FETCH_F_LANES_COLD), the ring reads, with the same results.  Every
 * module is in the first directory (broken ones included): tmpfs keeps no
 * negative dentries, so there a name missing from a directory is a lookup
 * the dentry cache cannot answer, which reads as cold.
 */
static void hot_reads_without_ring(void)
{
	static struct myr_fetch_item ref[NFILES], items[NFILES];
	static struct seen sr, s;
	struct myr_fetch_stats str, st;
	struct myr_fetcher *fr, *f;

	ASSERT_EQ(0, run(MYR_IO_SYNC, 1, 0, NFILES, ref, &sr, &str, &fr));
	uring_flags = 0;
	for (unsigned cold = 0; cold <= 1; cold++) {
		extra_flags = cold ? FETCH_F_LANES_COLD : 0;
		for (unsigned lanes = 1; lanes <= MYR_FETCH_LANES_MAX; lanes++) {
			if (run(MYR_IO_URING, lanes, 0, NFILES, items, &s, &st,
				&f))
				SKIP(goto out, "io_uring not available");
			EXPECT_EQ(MYR_IO_URING, st.io);
			EXPECT_NONNULL(f->ring);
			EXPECT_EQ(lanes, st.lanes);
			if (cold) {
				EXPECT_GT(st.ring_opens, 0u);
			} else {
				EXPECT_EQ(0u, st.ring_opens);
				EXPECT_EQ(0u, st.submits);
			}
			like_sync(ref, &str, items, &s, &st);
			/* Another batch on the same fetcher: still hot,
			 * still the same. */
			fetch_again(f, ref, items, &st);
			if (!cold)
				EXPECT_EQ(0u, st.ring_opens);
			myr_fetcher_exit(f);
		}
	}
out:
	myr_fetcher_exit(fr);
}

TEST(uring_hot_reads_without_ring)
{
	all_in_a = 1;
	make_tree();
	hot_reads_without_ring();
	tf_rmtree(root);
}

/*
 * MYR_IO_AUTO creates no ring while every batch is hot (io says AUTO, no
 * open through a ring), and creates it for a cold one (FETCH_F_LANES_COLD)
 * and reads through it; either way each item is what sync mode gives, and
 * myr_fetcher_close() leaves no ring, however late it was created.
 */
static void auto_ring_when_cold(void)
{
	static struct myr_fetch_item ref[NFILES], items[NFILES];
	static struct seen sr, s;
	struct myr_fetch_stats str, st;
	struct myr_fetcher *fr, *f;

	ASSERT_EQ(0, run(MYR_IO_SYNC, 1, 0, NFILES, ref, &sr, &str, &fr));
	for (unsigned cold = 0; cold <= 1; cold++) {
		extra_flags = cold ? FETCH_F_LANES_COLD : 0;
		for (unsigned lanes = 1; lanes <= MYR_FETCH_LANES_MAX; lanes++) {
			ASSERT_EQ(0, run(MYR_IO_AUTO, lanes, 0, NFILES, items,
					 &s, &st, &f));
			if (cold && st.io == MYR_IO_SYNC) {
				EXPECT_NULL(f->ring);
				myr_fetcher_exit(f);
				SKIP(goto out, "io_uring not available: %s",
				     st.note);
			}
			EXPECT_EQ(cold ? MYR_IO_URING : MYR_IO_AUTO, st.io);
			EXPECT_EQ(st.io, myr_fetcher_io(f));
			EXPECT_EQ(lanes, st.lanes);
			if (cold) {
				EXPECT_NONNULL(f->ring);
				EXPECT_GT(st.ring_opens, 0u);
				EXPECT_GT(st.submits, 0u);
			} else {
				EXPECT_NULL(f->ring);
				EXPECT_EQ(0u, st.ring_opens);
				EXPECT_EQ(0u, st.submits);
				EXPECT_NONNULL(strstr(st.note, "no ring"));
			}
			like_sync(ref, &str, items, &s, &st);
			/* A second batch: hot, still no ring; cold, the same
			 * ring (on tmpfs it soon hands files back to syscalls,
			 * see fetch_uring.c, so its opens need not grow). */
			fetch_again(f, ref, items, &st);
			EXPECT_EQ(cold ? MYR_IO_URING : MYR_IO_AUTO, st.io);
			if (cold)
				EXPECT_NONNULL(f->ring);
			else
				EXPECT_NULL(f->ring);
			myr_fetcher_close(f);
			EXPECT_NULL(f->ring);
			myr_fetcher_exit(f);
		}
	}
out:
	extra_flags = 0;
	myr_fetcher_exit(fr);
}

TEST(auto_ring_only_when_cold)
{
	all_in_a = 1;
	make_tree();
	auto_ring_when_cold();
	tf_rmtree(root);
}

/*
 * The real hand-over, without the test flag: in a fresh tree no name
 * missing from directory a has been looked up there, so each such lookup
 * is a miss of the dentry cache (RESOLVE_CACHED fails), and about one
 * module in 13 lives only in b: enough misses that the lanes find the
 * directory cold and the ring reads, with what sync mode gives.
 */
static void misses_hand_over(unsigned lanes, enum myr_io_mode io)
{
	static struct myr_fetch_item ref[NFILES], items[NFILES];
	static struct seen sr, s;
	struct myr_fetch_stats str, st;
	struct myr_fetcher *fr, *f;

	uring_flags = 0;
	if (run(io, lanes, 0, NFILES, items, &s, &st, &f))
		SKIP(return, "io_uring not available");
	if (st.io == MYR_IO_SYNC) {
		myr_fetcher_exit(f);
		SKIP(return, "io_uring not available: %s", st.note);
	}
	/* AUTO too: the ring was created when the batch turned cold. */
	EXPECT_EQ(MYR_IO_URING, st.io);
	EXPECT_NONNULL(f->ring);
	EXPECT_GT(st.ring_opens, 0u);
	EXPECT_GT(st.submits, 0u);
	ASSERT_EQ(0, run(MYR_IO_SYNC, 1, 0, NFILES, ref, &sr, &str, &fr));
	same_items(ref, items, NFILES);
	EXPECT_EQ(str.bytes, st.bytes);
	for (unsigned i = 0; i < NFILES; i++)
		EXPECT_EQ(1u, s.count[i]);
	myr_fetcher_exit(fr);
	myr_fetcher_exit(f);
}

TREE_TEST(uring_misses_hand_over_one_lane, misses_hand_over(1, MYR_IO_URING))
TREE_TEST(uring_misses_hand_over_lanes, misses_hand_over(2, MYR_IO_URING))
TREE_TEST(auto_misses_create_ring_one_lane, misses_hand_over(1, MYR_IO_AUTO))
TREE_TEST(auto_misses_create_ring_lanes, misses_hand_over(2, MYR_IO_AUTO))

/* Threads only for a batch of MYR_FETCH_LANES_MIN_ITEMS or more. */
static void threshold(void)
{
	static struct myr_fetch_item items[NFILES];
	static struct seen s;
	struct myr_fetch_stats st;
	struct myr_fetcher *f;

	ASSERT_EQ(0, run(MYR_IO_SYNC, 2, 0, MYR_FETCH_LANES_MIN_ITEMS - 1,
			 items, &s, &st, &f));
	EXPECT_EQ(1u, st.lanes);
	myr_fetcher_exit(f);
	ASSERT_EQ(0, run(MYR_IO_SYNC, 2, 0, MYR_FETCH_LANES_MIN_ITEMS,
			 items, &s, &st, &f));
	EXPECT_EQ(2u, st.lanes);
	myr_fetcher_exit(f);
	/* 1: never a thread, however large the batch. */
	ASSERT_EQ(0, run(MYR_IO_SYNC, 1, 0, NFILES, items, &s, &st, &f));
	EXPECT_EQ(1u, st.lanes);
	myr_fetcher_exit(f);
	/* A request beyond the cap gets the cap. */
	ASSERT_EQ(0, run(MYR_IO_SYNC, 1000, 0, NFILES, items, &s, &st, &f));
	EXPECT_EQ(MYR_FETCH_LANES_MAX, st.lanes);
	myr_fetcher_exit(f);
}

TREE_TEST(threshold_and_cap, threshold())

/* The budget: exactly the bytes read fits (the files found, and the broken
 * ones read to be judged); one byte less refuses some file with -EDQUOT
 * and a message naming the limit, and the bytes read never pass it. */
static void budget(enum myr_io_mode io, unsigned nthreads)
{
	static struct myr_fetch_item items[NFILES];
	static struct seen s;
	struct myr_fetch_stats st;
	struct myr_fetcher *f;
	unsigned over = 0;

	if (run(io, nthreads, read_bytes, NFILES, items, &s, &st, &f))
		SKIP(return, "io mode %d not available", (int)io);
	for (unsigned i = 0; i < NFILES; i++)
		EXPECT_NE(-EDQUOT, items[i].status);
	EXPECT_EQ(total_bytes, st.bytes);
	EXPECT_EQ(read_bytes, f->charged_bytes);
	myr_fetcher_exit(f);

	ASSERT_EQ(0, run(io, nthreads, read_bytes - 1, NFILES, items, &s,
			 &st, &f));
	for (unsigned i = 0; i < NFILES; i++) {
		if (items[i].status != -EDQUOT)
			continue;
		over++;
		EXPECT_NONNULL(strstr(items[i].msg, "MYR_LOAD_BYTES_MAX"));
		EXPECT_NONNULL(strstr(items[i].msg, "limit"));
	}
	EXPECT_GE(over, 1u);
	EXPECT_LE(st.bytes, read_bytes - 1);
	EXPECT_LE(f->charged_bytes, read_bytes - 1);
	/* Spent across batches: a file refused once is refused again. */
	for (unsigned i = 0; i < NFILES; i++) {
		if (items[i].status != -EDQUOT)
			continue;
		fill(items, NFILES);
		ASSERT_EQ(0, myr_fetcher_fetch(f, &items[i], 1));
		EXPECT_EQ(-EDQUOT, items[i].status);
		break;
	}
	myr_fetcher_exit(f);
}

TREE_TEST(budget_sync_one_lane, budget(MYR_IO_SYNC, 1))
TREE_TEST(budget_sync_lanes, budget(MYR_IO_SYNC, 2))
TREE_TEST(budget_uring_one_lane, budget(MYR_IO_URING, 1))
TREE_TEST(budget_uring_lanes, budget(MYR_IO_URING, 2))

/*
 * Finished files are closed together (lib/load/fetch_fds.c): whatever
 * RLIMIT_NOFILE allows, a batch gives what one lane gives, holds no file
 * once it returns, and closes no descriptor it did not open, even ones
 * among the numbers its files take.
 */
static void closes_only_its_own(enum myr_io_mode io, unsigned lanes)
{
	static struct myr_fetch_item one[NFILES], many[NFILES];
	static struct seen s1, sn;
	static const rlim_t limits[] = { 12, 80, 0 };   /* 0: as it was */
	unsigned char before[1024], after[1024];
	struct myr_fetch_stats st;
	struct myr_fetcher *f1, *fn;
	struct rlimit old, rl;
	const int theirs[] = { 9, 40, 100 };

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	if (run(io, 1, 0, NFILES, one, &s1, &st, &f1))
		SKIP(return, "io mode %d not available", (int)io);
	for (unsigned t = 0; t < sizeof(theirs) / sizeof(theirs[0]); t++)
		ASSERT_EQ(theirs[t], dup2(2, theirs[t]));
	for (unsigned k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
		rl = old;
		if (limits[k])
			rl.rlim_cur = limits[k];
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
		tf_fds(before);
		ASSERT_EQ(0, run(io, lanes, 0, NFILES, many, &sn, &st, &fn));
		tf_fds(after);
		same_items(one, many, NFILES);
		/* Only the two directories are new, and the ring if a
		 * batch turned out cold (tmpfs can). */
		for (int fd = 0, added = 0; fd < 1024; fd++) {
			EXPECT_TRUE(after[fd] || !before[fd]);
			added += after[fd] && !before[fd];
			if (fd == 1023)
				EXPECT_EQ(2 + (st.io == MYR_IO_URING), added);
		}
		myr_fetcher_exit(fn);
	}
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	for (unsigned t = 0; t < sizeof(theirs) / sizeof(theirs[0]); t++)
		EXPECT_EQ(0, close(theirs[t]));
	myr_fetcher_exit(f1);
}

TREE_TEST(sync_closes_only_its_own_one_lane, closes_only_its_own(MYR_IO_SYNC, 1))
TREE_TEST(sync_closes_only_its_own_lanes, closes_only_its_own(MYR_IO_SYNC, 2))
TREE_TEST(auto_closes_only_its_own_lanes, closes_only_its_own(MYR_IO_AUTO, 2))

/* 0 and values above it mean MYR_LOAD_BYTES_MAX itself. */
TEST(budget_default_is_the_limit)
{
	const char *dirs[] = { "/" };
	struct myr_fetch_config cfg = { .dirs = dirs, .ndirs = 1,
					.io = MYR_IO_SYNC };
	struct myr_error err = { 0 };
	struct myr_fetcher *f;

	ASSERT_EQ(0, myr_fetcher_init(&f, &cfg, &err));
	EXPECT_EQ(MYR_LOAD_BYTES_MAX, f->max_bytes);
	myr_fetcher_exit(f);
	cfg.max_bytes = MYR_LOAD_BYTES_MAX + 1;
	ASSERT_EQ(0, myr_fetcher_init(&f, &cfg, &err));
	EXPECT_EQ(MYR_LOAD_BYTES_MAX, f->max_bytes);
	myr_fetcher_exit(f);
}

TEST_HARNESS_MAIN
