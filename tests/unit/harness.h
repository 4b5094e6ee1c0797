/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/harness.h - a small kselftest-like unit test harness with TAP
 * output, for one test program per source file.
 *
 *   #include "harness.h"
 *
 *   TEST(parses_empty_header) { ASSERT_EQ(-EINVAL, myr_thing(...)); }
 *   TEST_SIGNAL(denied_syscall_kills, SIGSYS) { ...; syscall(...); }
 *   TEST_TIMEOUT(slow_but_bounded, 60) { ... }
 *   TEST(needs_io_uring) {
 *       if (!have_uring)
 *           SKIP(return, "io_uring disabled: %s", strerror(err));
 *   }
 *
 *   TEST_HARNESS_MAIN
 *
 * Every test runs in its own forked child, so a crash, a seccomp kill, an
 * exit() or a hang in one test cannot take the others with it, and a test
 * may change process-wide state (rlimits, seccomp, signal dispositions)
 * freely.  The parent enforces the timeout (default TEST_DEFAULT_TIMEOUT
 * seconds, define it before including this file to change it for the whole
 * file; stretched on a loaded machine, see th_wait) rather than the child's
 * alarm(), because a test is allowed to use alarm() or to block SIGALRM
 * itself.
 *
 * ASSERT_* reports and ends the test; EXPECT_* reports and lets it go on.
 * Diagnostics go to stderr as "# file:line: ..." lines so that prove shows
 * them without -v.  A test passes when it returns (or, for TEST_SIGNAL, is
 * killed by exactly that signal) with no failed check; a child that exits
 * with a non-zero status (an ASan/LSan report, a stray exit(1)) fails.
 *
 * Arguments: none runs every test; NAME... runs only those; -l lists them.
 * Exit status: 0 when nothing failed (skips are not failures), 1 otherwise,
 * 2 for a bad command line.
 *
 * The build passes -D_GNU_SOURCE; the harness needs fork(), sigtimedwait()
 * and MAP_ANONYMOUS from it.
 */
#ifndef MYRIAD_TEST_HARNESS_H
#define MYRIAD_TEST_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TEST_DEFAULT_TIMEOUT
#define TEST_DEFAULT_TIMEOUT 30
#endif

#define TH_REASON_MAX 256

struct th_test {
	const char *name;
	void (*fn)(void);
	int signo;            /* the signal that must end the test, 0 = none */
	unsigned timeout;     /* seconds */
	int line;             /* tests run in source order */
	struct th_test *next;
};

/* Written by the child, read by the parent: lives in a MAP_SHARED page. */
struct th_result {
	int failed;
	int skipped;
	char reason[TH_REASON_MAX];
};

__attribute__((unused)) static struct th_test *th_tests;
__attribute__((unused)) static struct th_result *th_current;

static inline void th_register(struct th_test *t)
{
	struct th_test **p = &th_tests;

	/* Constructor order is not something to rely on; source order is. */
	while (*p && (*p)->line < t->line)
		p = &(*p)->next;
	t->next = *p;
	*p = t;
}

#define TH_DEFINE(name, sig, secs)                                           \
	static void th_fn_##name(void);                                      \
	static struct th_test th_test_##name = {                             \
		#name, th_fn_##name, (sig), (secs), __LINE__, NULL };        \
	__attribute__((constructor)) static void th_reg_##name(void)         \
	{ th_register(&th_test_##name); }                                    \
	static void th_fn_##name(void)

#define TEST(name)                 TH_DEFINE(name, 0, TEST_DEFAULT_TIMEOUT)
#define TEST_SIGNAL(name, signo)   TH_DEFINE(name, signo, TEST_DEFAULT_TIMEOUT)
#define TEST_TIMEOUT(name, secs)   TH_DEFINE(name, 0, secs)

/* ---- diagnostics -------------------------------------------------------- */

#define TH_LOG(...) th_log(__FILE__, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 3, 4)))
static inline void th_log(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "# %s:%d: %s\n", file, line, msg);
}

static inline void th_mark_failed(bool fatal)
{
	if (th_current)
		th_current->failed = 1;
	if (fatal || !th_current) {
		fflush(stdout);
		fflush(stderr);
		/* _exit: the failure is already reported; a leak report from
		 * the half-run test would only bury it. */
		_exit(1);
	}
}

/*
 * A checked value keeps its kind so that comparisons are mathematically
 * right for mixed signedness (-1 < 0u holds here) and so that it prints the
 * way it was written.  _Generic picks the kind; each operand is evaluated
 * exactly once.
 */
enum th_kind { TH_SIGNED, TH_UNSIGNED, TH_FLOAT, TH_POINTER };

struct th_value {
	enum th_kind kind;
	intmax_t s;
	uintmax_t u;
	long double f;
	const volatile void *p;
};

static inline struct th_value th_val_s(intmax_t v)
{ return (struct th_value){ .kind = TH_SIGNED, .s = v }; }
static inline struct th_value th_val_u(uintmax_t v)
{ return (struct th_value){ .kind = TH_UNSIGNED, .u = v }; }
static inline struct th_value th_val_f(long double v)
{ return (struct th_value){ .kind = TH_FLOAT, .f = v }; }
static inline struct th_value th_val_p(const volatile void *v)
{ return (struct th_value){ .kind = TH_POINTER, .p = v }; }
static inline struct th_value th_val_char(char v)
{ return CHAR_MIN < 0 ? th_val_s(v) : th_val_u((unsigned char)v); }

#define TH_VAL(x) _Generic((x),                                              \
	_Bool: th_val_u, char: th_val_char,                                   \
	signed char: th_val_s, short: th_val_s, int: th_val_s,                \
	long: th_val_s, long long: th_val_s,                                  \
	unsigned char: th_val_u, unsigned short: th_val_u,                    \
	unsigned int: th_val_u, unsigned long: th_val_u,                      \
	unsigned long long: th_val_u,                                         \
	float: th_val_f, double: th_val_f, long double: th_val_f,             \
	default: th_val_p)(x)

/* -1, 0 or 1 as a <, ==, > b. */
static inline int th_compare(struct th_value a, struct th_value b)
{
	if (a.kind == TH_FLOAT || b.kind == TH_FLOAT) {
		long double x = a.kind == TH_FLOAT ? a.f : a.kind == TH_SIGNED ?
				(long double)a.s : (long double)a.u;
		long double y = b.kind == TH_FLOAT ? b.f : b.kind == TH_SIGNED ?
				(long double)b.s : (long double)b.u;
		return (x > y) - (x < y);
	}
	if (a.kind == TH_POINTER) {
		a.kind = TH_UNSIGNED;
		a.u = (uintptr_t)a.p;
	}
	if (b.kind == TH_POINTER) {
		b.kind = TH_UNSIGNED;
		b.u = (uintptr_t)b.p;
	}
	if (a.kind == TH_SIGNED && b.kind == TH_SIGNED)
		return (a.s > b.s) - (a.s < b.s);
	if (a.kind == TH_SIGNED) {
		if (a.s < 0)
			return -1;
		a.u = (uintmax_t)a.s;
	}
	if (b.kind == TH_SIGNED) {
		if (b.s < 0)
			return 1;
		b.u = (uintmax_t)b.s;
	}
	return (a.u > b.u) - (a.u < b.u);
}

static inline void th_format(char *buf, size_t size, struct th_value v)
{
	switch (v.kind) {
	case TH_SIGNED:
		snprintf(buf, size, "%jd", v.s);
		break;
	case TH_UNSIGNED:
		if (v.u > 9)
			snprintf(buf, size, "%ju (0x%jx)", v.u, v.u);
		else
			snprintf(buf, size, "%ju", v.u);
		break;
	case TH_FLOAT:
		snprintf(buf, size, "%Lg", v.f);
		break;
	case TH_POINTER:
		if (v.p)
			snprintf(buf, size, "%p", (const void *)v.p);
		else
			snprintf(buf, size, "NULL");
		break;
	}
}

static inline void th_check_cmp(const char *file, int line, bool fatal,
				const char *macro, const char *a_text,
				const char *op, const char *b_text,
				struct th_value a, struct th_value b)
{
	int c = th_compare(a, b);
	bool ok;
	char a_buf[64], b_buf[64];

	if (strcmp(op, "==") == 0)      ok = c == 0;
	else if (strcmp(op, "!=") == 0) ok = c != 0;
	else if (strcmp(op, "<") == 0)  ok = c < 0;
	else if (strcmp(op, "<=") == 0) ok = c <= 0;
	else if (strcmp(op, ">") == 0)  ok = c > 0;
	else                            ok = c >= 0;
	if (ok)
		return;
	th_format(a_buf, sizeof(a_buf), a);
	th_format(b_buf, sizeof(b_buf), b);
	fprintf(stderr, "# %s:%d: %s(%s, %s) failed: %s %s %s is false\n"
		"#   %s = %s\n#   %s = %s\n",
		file, line, macro, a_text, b_text, a_text, op, b_text,
		a_text, a_buf, b_text, b_buf);
	th_mark_failed(fatal);
}

#define TH_CMP(fatal, macro, a, op, b)                                       \
	th_check_cmp(__FILE__, __LINE__, fatal, macro, #a, #op, #b,          \
		     TH_VAL(a), TH_VAL(b))

#define ASSERT_EQ(a, b) TH_CMP(true, "ASSERT_EQ", a, ==, b)
#define ASSERT_NE(a, b) TH_CMP(true, "ASSERT_NE", a, !=, b)
#define ASSERT_LT(a, b) TH_CMP(true, "ASSERT_LT", a, <, b)
#define ASSERT_LE(a, b) TH_CMP(true, "ASSERT_LE", a, <=, b)
#define ASSERT_GT(a, b) TH_CMP(true, "ASSERT_GT", a, >, b)
#define ASSERT_GE(a, b) TH_CMP(true, "ASSERT_GE", a, >=, b)
#define EXPECT_EQ(a, b) TH_CMP(false, "EXPECT_EQ", a, ==, b)
#define EXPECT_NE(a, b) TH_CMP(false, "EXPECT_NE", a, !=, b)
#define EXPECT_LT(a, b) TH_CMP(false, "EXPECT_LT", a, <, b)
#define EXPECT_LE(a, b) TH_CMP(false, "EXPECT_LE", a, <=, b)
#define EXPECT_GT(a, b) TH_CMP(false, "EXPECT_GT", a, >, b)
#define EXPECT_GE(a, b) TH_CMP(false, "EXPECT_GE", a, >=, b)

static inline void th_check_truth(const char *file, int line, bool fatal,
				  const char *macro, const char *text,
				  bool want, struct th_value v)
{
	bool is_true = th_compare(v, th_val_s(0)) != 0;
	char buf[64];

	if (is_true == want)
		return;
	th_format(buf, sizeof(buf), v);
	fprintf(stderr, "# %s:%d: %s(%s) failed\n#   %s = %s\n",
		file, line, macro, text, text, buf);
	th_mark_failed(fatal);
}

#define TH_TRUTH(fatal, macro, want, x)                                      \
	th_check_truth(__FILE__, __LINE__, fatal, macro, #x, want, TH_VAL(x))

#define ASSERT_TRUE(x)     TH_TRUTH(true, "ASSERT_TRUE", true, x)
#define ASSERT_FALSE(x)    TH_TRUTH(true, "ASSERT_FALSE", false, x)
#define EXPECT_TRUE(x)     TH_TRUTH(false, "EXPECT_TRUE", true, x)
#define EXPECT_FALSE(x)    TH_TRUTH(false, "EXPECT_FALSE", false, x)
static inline void th_check_null(const char *file, int line, bool fatal,
				 const char *macro, const char *text,
				 bool want_null, const volatile void *ptr)
{
	if ((ptr == NULL) == want_null)
		return;
	fprintf(stderr, "# %s:%d: %s(%s) failed\n#   %s = %s%p\n", file, line,
		macro, text, text, ptr ? "" : "NULL ", (const void *)ptr);
	th_mark_failed(fatal);
}

/* The parameter type admits pointers only. */
#define TH_NULL(fatal, macro, want_null, ptr) \
	th_check_null(__FILE__, __LINE__, fatal, macro, #ptr, want_null, ptr)

#define ASSERT_NULL(ptr)     TH_NULL(true, "ASSERT_NULL", true, ptr)
#define ASSERT_NONNULL(ptr)  TH_NULL(true, "ASSERT_NONNULL", false, ptr)
#define EXPECT_NULL(ptr)     TH_NULL(false, "EXPECT_NULL", true, ptr)
#define EXPECT_NONNULL(ptr)  TH_NULL(false, "EXPECT_NONNULL", false, ptr)

/* Print a string quoted, with non-printing bytes escaped, at most 200. */
static inline void th_print_quoted(const char *label, const char *s)
{
	fprintf(stderr, "#   %s = ", label);
	if (!s) {
		fputs("NULL\n", stderr);
		return;
	}
	fputc('"', stderr);
	for (size_t i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == 200) {
			fputs("\"...\n", stderr);
			return;
		}
		if (c == '"' || c == '\\')
			fprintf(stderr, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fputs("\"\n", stderr);
}

static inline void th_check_str(const char *file, int line, bool fatal,
				const char *macro, const char *a_text,
				const char *b_text, bool want_equal,
				const char *a, const char *b)
{
	bool equal = (a && b) ? strcmp(a, b) == 0 : a == b;

	if (equal == want_equal)
		return;
	fprintf(stderr, "# %s:%d: %s(%s, %s) failed\n",
		file, line, macro, a_text, b_text);
	th_print_quoted(a_text, a);
	th_print_quoted(b_text, b);
	th_mark_failed(fatal);
}

#define ASSERT_STREQ(a, b) \
	th_check_str(__FILE__, __LINE__, true, "ASSERT_STREQ", #a, #b, true, a, b)
#define ASSERT_STRNE(a, b) \
	th_check_str(__FILE__, __LINE__, true, "ASSERT_STRNE", #a, #b, false, a, b)
#define EXPECT_STREQ(a, b) \
	th_check_str(__FILE__, __LINE__, false, "EXPECT_STREQ", #a, #b, true, a, b)
#define EXPECT_STRNE(a, b) \
	th_check_str(__FILE__, __LINE__, false, "EXPECT_STRNE", #a, #b, false, a, b)

static inline void th_check_mem(const char *file, int line, bool fatal,
				const char *macro, const char *a_text,
				const char *b_text, const void *a,
				const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < n && x[i] == y[i]; i++)
		;
	if (i == n)
		return;
	fprintf(stderr, "# %s:%d: %s(%s, %s, %zu) failed: first difference "
		"at byte %zu: 0x%02x != 0x%02x\n",
		file, line, macro, a_text, b_text, n, i, x[i], y[i]);
	th_mark_failed(fatal);
}

#define ASSERT_MEMEQ(a, b, n) \
	th_check_mem(__FILE__, __LINE__, true, "ASSERT_MEMEQ", #a, #b, a, b, n)
#define EXPECT_MEMEQ(a, b, n) \
	th_check_mem(__FILE__, __LINE__, false, "EXPECT_MEMEQ", #a, #b, a, b, n)

/*
 * SKIP(statement, fmt, ...): record why the test cannot run here, then run
 * the statement (normally `return`).  The test is reported as
 * "ok N name # SKIP reason" unless a check had already failed.
 */
__attribute__((format(printf, 1, 2)))
static inline void th_skip(const char *fmt, ...)
{
	va_list ap;
	char *nl;

	if (!th_current)
		return;
	th_current->skipped = 1;
	va_start(ap, fmt);
	vsnprintf(th_current->reason, sizeof(th_current->reason), fmt, ap);
	va_end(ap);
	/* The reason goes on one TAP line. */
	while ((nl = strchr(th_current->reason, '\n')))
		*nl = ' ';
}

#define SKIP(statement, ...) do { th_skip(__VA_ARGS__); statement; } while (0)

/* ---- the runner ----------------------------------------------------------- */

static inline double th_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void th_run_child(const struct th_test *t, const sigset_t *mask)
{
	struct rlimit no_core = { 0, 0 };

	sigprocmask(SIG_SETMASK, mask, NULL);
	/* A TEST_SIGNAL test dies on purpose; no core file for it. */
	setrlimit(RLIMIT_CORE, &no_core);
	t->fn();
	fflush(stdout);
	fflush(stderr);
	/* exit(), not _exit(): LeakSanitizer checks for leaks at exit. */
	exit(0);
}

/*
 * A timeout is there to catch a hang, not a slow machine: with more
 * runnable threads than CPUs a test gets a fraction of one, so the limit
 * is stretched by the 1-minute load average per CPU, rounded up (x1 to
 * x4, so that a hang still ends within the suite's 10 minutes: 120 s x 4
 * for a whole file; tests/run-test does the same for test files).  Read again
 * while waiting, so load that comes after the start counts too.
 */
static inline unsigned th_load_stretch(double *load, long *cpus)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double l = 0;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = 0;
		fclose(f);
	}
	if (n < 1)
		n = 1;
	*load = l;
	*cpus = n;
	double x = l / (double)n;
	return x <= 1 ? 1 : x >= 4 ? 4 : (unsigned)x + (x > (unsigned)x);
}

struct th_limit {
	unsigned stretch;        /* the largest seen while waiting */
	double load;             /* the load average that gave it */
	long cpus;
};

/* Wait for the child at most timeout seconds, stretched for the load
 * (*lim); returns false on timeout. */
static inline bool th_wait(pid_t pid, unsigned timeout, int *status,
			   struct th_limit *lim)
{
	double start = th_now();
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	lim->stretch = th_load_stretch(&lim->load, &lim->cpus);
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return true;
		if (r < 0 && errno != EINTR) {
			perror("# harness: waitpid");
			exit(1);
		}
		double load;
		long cpus;
		unsigned x = th_load_stretch(&load, &cpus);
		if (x > lim->stretch)
			*lim = (struct th_limit){ x, load, cpus };
		double left = start + (double)timeout * lim->stretch - th_now();
		if (left <= 0)
			break;
		if (left > 1)
			left = 1;        /* look at the load again */
		struct timespec ts = { (time_t)left,
				       (long)((left - (double)(time_t)left) * 1e9) };
		/* SIGCHLD is blocked, so it stays pending until we get here. */
		sigtimedwait(&chld, NULL, &ts);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return false;
}

/* Runs one test; prints its TAP line; returns true unless it failed. */
static inline bool th_run_one(const struct th_test *t, int number,
			      struct th_result *result, const sigset_t *mask)
{
	int status = 0;
	bool finished;
	pid_t pid;

	memset(result, 0, sizeof(*result));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("# harness: fork");
		exit(1);
	}
	if (pid == 0) {
		th_current = result;
		th_run_child(t, mask);
	}
	struct th_limit lim;
	finished = th_wait(pid, t->timeout, &status, &lim);

	const char *why = NULL;
	char buf[160];
	bool passed = false;

	if (!finished) {
		if (lim.stretch == 1)
			snprintf(buf, sizeof(buf), "timed out after %u s", t->timeout);
		else
			snprintf(buf, sizeof(buf), "timed out after %u s x%u = %u s "
				 "(load average %.2f on %ld CPUs)", t->timeout,
				 lim.stretch, t->timeout * lim.stretch, lim.load,
				 lim.cpus);
		why = buf;
	} else if (WIFEXITED(status)) {
		int code = WEXITSTATUS(status);
		if (code != 0 && !result->failed) {
			snprintf(buf, sizeof(buf), "the test process exited "
				 "with status %d", code);
			why = buf;
		} else if (code == 0 && t->signo && !result->skipped) {
			snprintf(buf, sizeof(buf), "expected to be killed by "
				 "signal %d (%s), but it returned", t->signo,
				 strsignal(t->signo));
			why = buf;
		} else {
			passed = code == 0 && !result->failed;
		}
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		if (sig != t->signo) {
			snprintf(buf, sizeof(buf), "killed by signal %d (%s)",
				 sig, strsignal(sig));
			why = buf;
		} else {
			passed = !result->failed;
		}
	}
	if (why)
		fprintf(stderr, "# %s: %s\n", t->name, why);
	fflush(stderr);
	if (!passed)
		printf("not ok %d %s\n", number, t->name);
	else if (result->skipped)
		printf("ok %d %s # SKIP %s\n", number, t->name, result->reason);
	else
		printf("ok %d %s\n", number, t->name);
	fflush(stdout);
	return passed;
}

static inline bool th_selected(const char *name, int argc, char **argv)
{
	if (argc <= 1)
		return true;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

static inline int th_main(int argc, char **argv)
{
	struct th_result *result;
	struct th_test *t;
	sigset_t chld, old_mask;
	int planned = 0, number = 0, failed = 0;

	if (argc == 2 && strcmp(argv[1], "-l") == 0) {
		for (t = th_tests; t; t = t->next)
			printf("%s\n", t->name);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		for (t = th_tests; t && strcmp(t->name, argv[i]) != 0; t = t->next)
			;
		if (!t) {
			fprintf(stderr, "%s: no test named '%s' (-l lists them)\n",
				argv[0], argv[i]);
			return 2;
		}
	}
	for (t = th_tests; t; t = t->next)
		planned += th_selected(t->name, argc, argv);

	result = mmap(NULL, sizeof(*result), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (result == MAP_FAILED) {
		perror("# harness: mmap");
		return 1;
	}
	/* An inherited SIG_IGN would make the kernel reap children for us. */
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old_mask);

	printf("TAP version 13\n1..%d\n", planned);
	for (t = th_tests; t; t = t->next)
		if (th_selected(t->name, argc, argv))
			failed += !th_run_one(t, ++number, result, &old_mask);
	if (failed)
		fprintf(stderr, "# %d of %d tests failed\n", failed, planned);
	return failed ? 1 : 0;
}

#define TEST_HARNESS_MAIN \
	int main(int argc, char **argv) { return th_main(argc, argv); }

#endif
