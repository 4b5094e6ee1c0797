/* SPDX-License-Identifier: MIT */
/*
 * benchrun - time whole processes, interleaved, and check what they print.
 *
 *   benchrun [-r MIN] [-R MAX] [-b BUDGET_MS] [-B HARD_MS] [-T TIMEOUT_S]
 *            [-e EXPECTED] [-c] [-s STDERR_DIR] [-v]
 *            -- NAME [-n] [VAR=VALUE]... PROGRAM [ARG]... [-- NAME ...]
 *
 * Each variant is a command line; VAR=VALUE words before the program are
 * added to the environment (so LD_BIND_NOW=1 costs no extra exec of env).
 * Rounds run every active variant once, in order (A B C A B C ...), so slow
 * drift of the machine hits all variants alike and cancels in ratios.  A
 * variant stops after MAX runs, or after MIN runs once it has used BUDGET_MS
 * of wall time, or after HARD_MS whatever its count (slow variants: glibc
 * at 10,000 modules takes over a minute a run).  Hot mode (default) first runs each variant once untimed to
 * warm the page cache, unless that run took over 2 s: then the process is
 * dominated by CPU and the run is kept as a measurement (glibc at 10,000
 * modules takes a minute a run).  Cold mode (-c) drops the page cache
 * (sync, then 3 > /proc/sys/vm/drop_caches) before every run and exits 77
 * with a notice if the machine does not allow it.
 *
 * Time is wall clock from spawn to reaped exit (CLOCK_MONOTONIC); peak RSS
 * is the child's ru_maxrss.  Standard output must equal the file EXPECTED,
 * unless the variant has -n; a mismatch, a non-zero exit or a timeout marks
 * the variant failed and stops it.  With -s, each variant's last stderr is
 * kept in STDERR_DIR/NAME.stderr (Myriad's --stats output).
 *
 * Output, one line per variant, tab-separated:
 *   name runs median_us min_us max_us rss_kb status
 * status is "ok" or "FAIL:reason".  Each run's time goes to stderr with -v.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_VARIANTS 64
#define OUT_MAX 4096
#define KEEP_SLOW_WARMUP_US 2000000.0

struct variant {
	const char *name;
	char **argv;             /* program and arguments */
	char **envp;             /* environ plus the VAR=VALUE words */
	int check;               /* compare stdout with the expected text */
	double *us;              /* per run */
	long *rss;
	int runs;
	double spent_us;
	char failed[320];
	int done;
};

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static char **make_env(char **extra, int nextra)
{
	int n = 0;
	while (environ[n])
		n++;
	char **env = calloc((size_t)(n + nextra + 1), sizeof(*env));
	if (!env)
		exit(1);
	int m = 0;
	for (int i = 0; i < n; i++) {
		int overridden = 0;
		for (int j = 0; j < nextra; j++) {
			size_t klen = (size_t)(strchr(extra[j], '=') - extra[j]) + 1;
			if (strncmp(environ[i], extra[j], klen) == 0)
				overridden = 1;
		}
		if (!overridden)
			env[m++] = environ[i];
	}
	for (int j = 0; j < nextra; j++)
		env[m++] = extra[j];
	env[m] = NULL;
	return env;
}

static int drop_caches(char *why, size_t why_len)
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "3\n", 2) != 2) {
		snprintf(why, why_len, "/proc/sys/vm/drop_caches: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Run once; returns 0 and fills *us and *rss, or -1 with v->failed set. */
static int run_once(struct variant *v, const char *expected, size_t expected_len,
		    double timeout_s, const char *stderr_dir, double *us, long *rss)
{
	int out[2];
	if (pipe2(out, O_CLOEXEC) != 0) {
		snprintf(v->failed, sizeof(v->failed), "pipe: %s", strerror(errno));
		return -1;
	}
	char errpath[4096];
	if (stderr_dir)
		snprintf(errpath, sizeof(errpath), "%s/%s.stderr", stderr_dir, v->name);
	else
		snprintf(errpath, sizeof(errpath), "/dev/null");

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	pid_t pid;
	double t0 = now_us();
	int rc = posix_spawn(&pid, v->argv[0], &fa, NULL, v->argv, v->envp);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	if (rc != 0) {
		close(out[0]);
		snprintf(v->failed, sizeof(v->failed), "spawn %s: %s", v->argv[0], strerror(rc));
		return -1;
	}
	/* Wait on a pidfd so a hung variant can be killed; the wakeup adds
	 * microseconds, the same for every variant. */
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int timed_out = 0;
	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
		int ms = timeout_s > 0 ? (int)(timeout_s * 1000) : -1;
		int pr;
		do
			pr = poll(&pfd, 1, ms);
		while (pr < 0 && errno == EINTR);
		if (pr == 0) {
			kill(pid, SIGKILL);
			timed_out = 1;
		}
		close(pidfd);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	double t1 = now_us();

	char buf[OUT_MAX];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) && (n = read(out[0], buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(out[0]);

	if (timed_out) {
		snprintf(v->failed, sizeof(v->failed), "timeout after %.0f s", timeout_s);
		return -1;
	}
	if (WIFSIGNALED(status)) {
		snprintf(v->failed, sizeof(v->failed), "killed by signal %d", WTERMSIG(status));
		return -1;
	}
	if (WEXITSTATUS(status) != 0) {
		snprintf(v->failed, sizeof(v->failed), "exit status %d", WEXITSTATUS(status));
		return -1;
	}
	if (v->check && (len != expected_len || memcmp(buf, expected, len) != 0)) {
		int shown = (int)(len > 60 ? 60 : len);
		while (shown > 0 && buf[shown - 1] == '\n')
			shown--;
		snprintf(v->failed, sizeof(v->failed), "wrong output '%.*s'", shown, buf);
		return -1;
	}
	*us = t1 - t0;
	*rss = ru.ru_maxrss;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: benchrun [-r MIN] [-R MAX] [-b BUDGET_MS] [-B HARD_MS] [-T TIMEOUT_S] "
		"[-e EXPECTED] [-c] [-s DIR] [-v] -- NAME [-n] [VAR=VAL]... PROG [ARG]... "
		"[-- NAME ...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int min_runs = 3, max_runs = 11, cold = 0, verbose = 0;
	double budget_ms = 2000, hard_ms = 0, timeout_s = 600;
	const char *expected_path = NULL, *stderr_dir = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "+r:R:b:B:T:e:cs:v")) != -1) {
		switch (opt) {
		case 'r': min_runs = atoi(optarg); break;
		case 'R': max_runs = atoi(optarg); break;
		case 'b': budget_ms = atof(optarg); break;
		case 'B': hard_ms = atof(optarg); break;
		case 'T': timeout_s = atof(optarg); break;
		case 'e': expected_path = optarg; break;
		case 'c': cold = 1; break;
		case 's': stderr_dir = optarg; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (min_runs < 1 || max_runs < min_runs)
		usage();

	char expected[OUT_MAX];
	size_t expected_len = 0;
	if (expected_path) {
		FILE *f = fopen(expected_path, "rb");
		if (!f) {
			fprintf(stderr, "benchrun: %s: %s\n", expected_path, strerror(errno));
			return 1;
		}
		expected_len = fread(expected, 1, sizeof(expected), f);
		fclose(f);
	}

	/* Parse "-- NAME [-n] [VAR=VAL]... PROG ARGS" groups in place. */
	struct variant vs[MAX_VARIANTS];
	int nv = 0;
	/* getopt consumed the first "--" as its end-of-options marker. */
	int i = optind;
	if (i > 1 && strcmp(argv[i - 1], "--") == 0)
		i--;
	while (i < argc) {
		if (strcmp(argv[i], "--") != 0 || i + 2 >= argc || nv == MAX_VARIANTS)
			usage();
		struct variant *v = &vs[nv++];
		memset(v, 0, sizeof(*v));
		v->name = argv[++i];
		v->check = expected_path != NULL;
		i++;
		if (strcmp(argv[i], "-n") == 0) {
			v->check = 0;
			i++;
		}
		int env_start = i;
		while (i < argc && strchr(argv[i], '=') && argv[i][0] != '/' && argv[i][0] != '.')
			i++;
		v->envp = make_env(argv + env_start, i - env_start);
		int arg_start = i;
		while (i < argc && strcmp(argv[i], "--") != 0)
			i++;
		if (i == arg_start)
			usage();
		v->argv = calloc((size_t)(i - arg_start + 1), sizeof(char *));
		v->us = calloc((size_t)max_runs, sizeof(double));
		v->rss = calloc((size_t)max_runs, sizeof(long));
		if (!v->argv || !v->us || !v->rss)
			return 1;
		memcpy(v->argv, argv + arg_start, (size_t)(i - arg_start) * sizeof(char *));
	}
	if (nv == 0)
		usage();

	char why[256];
	if (cold && drop_caches(why, sizeof(why)) != 0) {
		printf("# cold page cache skipped: %s\n", why);
		return 77;
	}

	if (!cold) {
		for (int k = 0; k < nv; k++) {
			double us;
			long rss;
			if (run_once(&vs[k], expected, expected_len, timeout_s, stderr_dir, &us, &rss) != 0) {
				vs[k].done = 1;
				continue;
			}
			if (us > KEEP_SLOW_WARMUP_US) {
				vs[k].us[vs[k].runs] = us;
				vs[k].rss[vs[k].runs++] = rss;
				vs[k].spent_us += us;
			}
			if (verbose)
				fprintf(stderr, "%s warmup %.1f us%s\n", vs[k].name, us,
					us > KEEP_SLOW_WARMUP_US ? " (kept)" : "");
		}
	}

	for (;;) {
		int active = 0;
		for (int k = 0; k < nv; k++) {
			struct variant *v = &vs[k];
			if (v->done)
				continue;
			if (v->runs >= max_runs ||
			    (v->runs >= min_runs && v->spent_us >= budget_ms * 1000) ||
			    (v->runs >= 1 && hard_ms > 0 && v->spent_us >= hard_ms * 1000)) {
				v->done = 1;
				continue;
			}
			active = 1;
			if (cold && drop_caches(why, sizeof(why)) != 0) {
				snprintf(v->failed, sizeof(v->failed), "%s", why);
				v->done = 1;
				continue;
			}
			double us;
			long rss;
			if (run_once(v, expected, expected_len, timeout_s, stderr_dir, &us, &rss) != 0) {
				v->done = 1;
				continue;
			}
			v->us[v->runs] = us;
			v->rss[v->runs++] = rss;
			v->spent_us += us;
			if (verbose)
				fprintf(stderr, "%s run %d %.1f us\n", v->name, v->runs, us);
		}
		if (!active)
			break;
	}

	for (int k = 0; k < nv; k++) {
		struct variant *v = &vs[k];
		if (v->failed[0] || v->runs == 0) {
			printf("%s\t%d\t-\t-\t-\t-\tFAIL:%s\n", v->name, v->runs,
			       v->failed[0] ? v->failed : "no runs");
			continue;
		}
		qsort(v->us, (size_t)v->runs, sizeof(double), cmp_double);
		qsort(v->rss, (size_t)v->runs, sizeof(long), cmp_long);
		int r = v->runs;
		double median = r % 2 ? v->us[r / 2] : (v->us[r / 2 - 1] + v->us[r / 2]) / 2;
		printf("%s\t%d\t%.1f\t%.1f\t%.1f\t%ld\tok\n", v->name, r, median,
		       v->us[0], v->us[r - 1], v->rss[r / 2]);
	}
	return 0;
}
