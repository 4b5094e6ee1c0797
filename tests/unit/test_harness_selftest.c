/* SPDX-License-Identifier: MIT */
/*
 * The harness tested with itself.  Tests named inner_* misbehave on purpose
 * (fail, hang, skip, die); the outer tests run this very program on one of
 * them and check the TAP line, the diagnostics and the exit status.  The
 * outer run never runs an inner_* test directly (see main).
 */
#include "harness.h"

#include <fcntl.h>

/* ---- tests that misbehave on purpose ------------------------------------ */

TEST(inner_assert_fails)
{
	int two = 1 + 1;
	ASSERT_EQ(two, 3);
	fputs("after the failed assert\n", stderr);
}

TEST(inner_expect_continues)
{
	EXPECT_STREQ("abc", "abd");
	fputs("after the failed expect\n", stderr);
}

TEST(inner_skips)
{
	SKIP(return, "no widget %d here", 7);
	ASSERT_TRUE(0);
}

TEST_TIMEOUT(inner_times_out, 1)
{
	for (;;)
		pause();
}

TEST_SIGNAL(inner_signal_missing, SIGSYS)
{
}

TEST(inner_killed)
{
	raise(SIGTERM);
}

TEST(inner_exits_nonzero)
{
	exit(3);
}

/* ---- running the inner tests ------------------------------------------- */

struct run {
	int status;
	char out[4096];
	char err[8192];
};

static void slurp(FILE *f, char *buf, size_t size)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Runs this program with the given arguments (NULL-terminated). */
static void run_self(struct run *r, const char *arg1, const char *arg2)
{
	FILE *out = tmpfile(), *err = tmpfile();
	pid_t pid;

	ASSERT_NONNULL(out);
	ASSERT_NONNULL(err);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		dup2(fileno(out), 1);
		dup2(fileno(err), 2);
		execl("/proc/self/exe", "harness_selftest", arg1, arg2,
		      (char *)NULL);
		_exit(126);
	}
	ASSERT_EQ(waitpid(pid, &r->status, 0), pid);
	ASSERT_TRUE(WIFEXITED(r->status));
	r->status = WEXITSTATUS(r->status);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

#define ASSERT_CONTAINS(haystack, needle) do {                               \
	if (!strstr(haystack, needle)) {                                     \
		TH_LOG("expected to find \"%s\" in:\n%s", needle, haystack); \
		ASSERT_NONNULL(strstr(haystack, needle));                    \
	}                                                                    \
} while (0)

/* ---- the checks, each against an inner test ------------------------------ */

TEST(failed_assert_reports_values_and_stops)
{
	struct run r;

	run_self(&r, "inner_assert_fails", NULL);
	EXPECT_EQ(r.status, 1);
	ASSERT_CONTAINS(r.out, "1..1\nnot ok 1 inner_assert_fails\n");
	ASSERT_CONTAINS(r.err, "test_harness_selftest.c:");
	ASSERT_CONTAINS(r.err, "ASSERT_EQ(two, 3) failed");
	ASSERT_CONTAINS(r.err, "two = 2");
	ASSERT_CONTAINS(r.err, "3 = 3");
	ASSERT_NULL(strstr(r.err, "after the failed assert"));
}

TEST(failed_expect_reports_and_continues)
{
	struct run r;

	run_self(&r, "inner_expect_continues", NULL);
	EXPECT_EQ(r.status, 1);
	ASSERT_CONTAINS(r.out, "not ok 1 inner_expect_continues\n");
	ASSERT_CONTAINS(r.err, "\"abc\" = \"abc\"");
	ASSERT_CONTAINS(r.err, "after the failed expect");
}

TEST(skip_is_ok_with_reason_and_exit_zero)
{
	struct run r;

	run_self(&r, "inner_skips", NULL);
	EXPECT_EQ(r.status, 0);
	ASSERT_STREQ(r.out, "TAP version 13\n1..1\n"
		     "ok 1 inner_skips # SKIP no widget 7 here\n");
}

/* Each inner test that ends badly: its TAP line and why it failed. */
static const struct {
	const char *name, *why;
} bad_endings[] = {
	{ "inner_times_out",      "timed out after 1 s" },
	{ "inner_signal_missing", "expected to be killed by signal" },
	{ "inner_killed",         "killed by signal 15" },
	{ "inner_exits_nonzero",  "exited with status 3" },
};

TEST(bad_endings_are_failures_with_their_reason)
{
	for (size_t i = 0; i < sizeof(bad_endings) / sizeof(bad_endings[0]); i++) {
		char line[128];
		struct run r;

		run_self(&r, bad_endings[i].name, NULL);
		EXPECT_EQ(r.status, 1);
		snprintf(line, sizeof(line), "\nnot ok 1 %s\n", bad_endings[i].name);
		ASSERT_CONTAINS(r.out, line);
		ASSERT_CONTAINS(r.err, bad_endings[i].why);
	}
}

TEST(one_failure_fails_the_program_and_numbering_goes_on)
{
	struct run r;

	run_self(&r, "inner_skips", "inner_killed");
	EXPECT_EQ(r.status, 1);
	ASSERT_CONTAINS(r.out, "1..2\nok 1 inner_skips # SKIP");
	ASSERT_CONTAINS(r.out, "not ok 2 inner_killed\n");
}

TEST(unknown_test_name_is_a_usage_error)
{
	struct run r;

	run_self(&r, "no_such_test", NULL);
	EXPECT_EQ(r.status, 2);
	ASSERT_CONTAINS(r.err, "no test named 'no_such_test'");
	ASSERT_STREQ(r.out, "");
}

TEST(list_names_every_test_in_source_order)
{
	struct run r;

	run_self(&r, "-l", NULL);
	EXPECT_EQ(r.status, 0);
	ASSERT_CONTAINS(r.out, "inner_assert_fails\ninner_expect_continues\n");
	ASSERT_CONTAINS(r.out, "unknown_test_name_is_a_usage_error\n"
			"list_names_every_test_in_source_order\n");
}

/* ---- tests that pass in the outer run ------------------------------------ */

TEST_SIGNAL(signal_test_passes_when_killed_by_it, SIGSYS)
{
	raise(SIGSYS);
}

TEST(comparisons_are_mathematical_across_signedness)
{
	int minus_one = -1;
	unsigned zero = 0;
	size_t big = SIZE_MAX;

	ASSERT_LT(minus_one, zero);
	ASSERT_GT(big, minus_one);
	ASSERT_NE(minus_one, big);
	ASSERT_LE(zero, 0);
	ASSERT_GE('b', 'a');
	ASSERT_EQ(0.5, 1.0 / 2);
	EXPECT_TRUE(big);
	EXPECT_FALSE(zero);
}

TEST(pointers_strings_and_memory)
{
	char buf[] = "xyz";
	const char *null = NULL;

	ASSERT_EQ(buf + 1, &buf[1]);
	ASSERT_NULL(null);
	ASSERT_NONNULL(buf);
	ASSERT_STREQ(buf, "xyz");
	ASSERT_STRNE(buf, "xy");
	ASSERT_STRNE(buf, null);
	ASSERT_MEMEQ(buf, "xyz", 4);
}

TEST(each_operand_is_evaluated_once)
{
	int calls = 0;

	ASSERT_EQ(++calls, 1);
	ASSERT_EQ(calls, 1);
}

TEST(a_test_may_change_process_state_alone)
{
	/* Runs in its own child: the tests after it still see fd 0 open. */
	ASSERT_EQ(close(0), 0);
	ASSERT_EQ(fcntl(0, F_GETFD), -1);
}

TEST(state_changed_by_earlier_test_is_not_seen)
{
	ASSERT_NE(fcntl(0, F_GETFD), -1);
}

int main(int argc, char **argv)
{
	char *outer[64];
	int n = 0;

	if (argc > 1)
		return th_main(argc, argv);
	outer[n++] = argv[0];
	for (struct th_test *t = th_tests; t && n < 63; t = t->next)
		if (strncmp(t->name, "inner_", 6) != 0)
			outer[n++] = (char *)t->name;
	outer[n] = NULL;
	return th_main(n, outer);
}
