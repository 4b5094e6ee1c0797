/* SPDX-License-Identifier: MIT */
/*
 * myr_loader_config.untimed: a launch without --stats reads no clock, and
 * loads and runs the program exactly as a timed one does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <myriad/loader.h>
#include <myriad/module.h>
#include "harness.h"

static char dir[256];
static char prog[300];

/* A program without dependencies whose entry returns 42. */
static int write_program(void)
{
	static const uint8_t text[] = { 0xb8, 42, 0, 0, 0, 0xc3 };
	struct myr_module_desc desc = { 0 };
	struct myr_error err = { 0 };
	uint8_t *out;
	size_t len;
	FILE *f;

	desc.name = "solo";
	desc.ver_major = 1;
	desc.arch = MYR_ARCH_X86_64;
	desc.flags = MYR_F_PROGRAM;
	desc.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text, sizeof(text), 4 };
	desc.entry.seg = MYR_SEG_TEXT;
	desc.init.seg = desc.fini.seg = MYR_SEG_NONE;
	if (myr_module_write(&desc, &out, &len, &err) < 0) {
		TH_LOG("write: %s", err.msg);
		return -1;
	}
	snprintf(dir, sizeof(dir), "/tmp/myr-test-untimed.XXXXXX");
	if (!mkdtemp(dir)) {
		free(out);
		return -1;
	}
	snprintf(prog, sizeof(prog), "%s/solo.myr", dir);
	f = fopen(prog, "wb");
	if (!f || fwrite(out, 1, len, f) != len) {
		if (f)
			fclose(f);
		free(out);
		return -1;
	}
	fclose(f);
	free(out);
	return 0;
}

static void remove_program(void)
{
	remove(prog);
	remove(dir);
}

/* Loads and runs the program; *stats gets the loader's statistics. */
static int load_and_run(int untimed, struct myriad_load_stats *stats)
{
	const char *dirs[1] = { dir };
	struct myr_loader_config cfg = { 0 };
	struct myr_error err = { 0 };
	struct myr_diag diag = { 0 };
	struct myr_loader *l;
	char *argv[] = { prog, NULL };
	int status;

	cfg.dirs = dirs;
	cfg.ndirs = 1;
	cfg.io = MYR_IO_SYNC;
	cfg.alloc = MYR_ALLOC_POOLING;
	cfg.diag = &diag;
	cfg.untimed = untimed;
	myr_pool_limits_default(&cfg.limits);
	if (myr_loader_init(&l, &cfg, &err) < 0) {
		TH_LOG("init: %s", err.msg);
		return -1;
	}
	if (myr_loader_load(l, prog) < 0 || myr_loader_run_init(l) < 0) {
		myr_loader_exit(l);
		return -1;
	}
	status = myr_loader_entry(l)(myr_loader_ctx(l, 1, argv, argv + 1));
	*stats = *myr_loader_stats(l);
	myr_loader_run_fini(l);
	myr_loader_exit(l);
	return status;
}

/* The statistics of one load and run of a fresh copy of the program,
 * which must return 42 whether timed or not. */
static int stats_of_a_run(int untimed, struct myriad_load_stats *s)
{
	int status;

	if (write_program() < 0)
		return -1;
	status = load_and_run(untimed, s);
	remove_program();
	EXPECT_EQ(status, 42);
	EXPECT_EQ(s->modules, 1u);
	return status == 42 ? 0 : -1;
}

TEST(untimed_leaves_every_stage_time_at_zero)
{
	struct myriad_load_stats s;
	const uint64_t *times[] = { &s.ns_resolve, &s.ns_fetch, &s.ns_verify,
				    &s.ns_place, &s.ns_link, &s.ns_protect,
				    &s.ns_init };

	ASSERT_EQ(stats_of_a_run(1, &s), 0);
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		EXPECT_EQ(*times[i], 0u);
}

TEST(timed_by_default_with_the_same_result)
{
	struct myriad_load_stats s;

	ASSERT_EQ(stats_of_a_run(0, &s), 0);
	/* Mapping the pool alone is a system call: place cannot take 0 ns. */
	EXPECT_GT(s.ns_place, 0u);
}

TEST_HARNESS_MAIN
