/* SPDX-License-Identifier: MIT */
/*
 * host_sys.c - the system interfaces of the host module (docs/host.md,
 * groups RAND, MAP, SIG, SPAWN and the temporary files of FILE) as real
 * programs call them.  tests/cli/host.t runs it as a Myriad program (entry
 * sys_main) and natively (-DNATIVE_MAIN) and compares stdout and the exit
 * status, so every line printed is deterministic: random bytes are
 * checked, never printed.
 *
 *   sys FILE PART...
 *
 * PART is one of:
 *   random   arc4random_buf, arc4random, arc4random_uniform, getrandom,
 *            getentropy: sizes, bounds, and that two draws differ
 *   map      FILE mapped read-only and compared with what read() gives;
 *            an anonymous read-write mapping; mprotect to read-only
 *   exec     a mapping with PROT_EXEC (prints whether it was refused)
 *   temp     mkstemp, mkostemp, mkstemps, mkdtemp under $TMPDIR or /tmp:
 *            the names' templates, writing and reading back, removal
 *   signal   sigaction with SA_SIGINFO and sa_mask, sigset operations,
 *            signal(), raise(), sigprocmask blocking and the pending
 *            signal delivered on unblocking
 *   popen    popen() reading and writing, pclose() statuses, system()
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int failures;

static void check(int ok, const char *what)
{
	printf("%s: %s\n", what, ok ? "ok" : "FAILED");
	if (!ok)
		failures++;
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void part_random(void)
{
	unsigned char a[257], b[64];
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	arc4random_buf(a, sizeof(b));
	arc4random_buf(b, sizeof(b));
	check(!all_zero(a, sizeof(b)) && memcmp(a, b, sizeof(b)) != 0,
	      "arc4random_buf fills and two draws differ");
	arc4random_buf(a, 0);
	int differ = 0;
	uint32_t first = arc4random();
	for (int i = 0; i < 8; i++)
		differ |= arc4random() != first;
	check(differ, "arc4random varies");
	int in_range = 1, seen_top = 0;
	for (int i = 0; i < 2000; i++) {
		uint32_t v = arc4random_uniform(7);
		in_range &= v < 7;
		seen_top |= v == 6;
	}
	check(in_range && seen_top, "arc4random_uniform(7) stays below 7 and reaches 6");
	check(arc4random_uniform(1) == 0 && arc4random_uniform(0) == 0,
	      "arc4random_uniform of 0 and 1 is 0");
	ssize_t got = getrandom(a, 64, 0);
	check(got == 64, "getrandom gives 64 bytes");
	got = getrandom(b, 16, GRND_NONBLOCK);
	check(got == 16, "getrandom GRND_NONBLOCK gives 16 bytes");
	check(getentropy(a, 256) == 0, "getentropy of 256 bytes");
	errno = 0;
	check(getentropy(a, 257) == -1 && errno == EIO, "getentropy of 257 bytes fails with EIO");
}

static void part_map(const char *file)
{
	int fd = open(file, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
		printf("map: cannot open %s\n", file);
		failures++;
		return;
	}
	size_t size = (size_t)st.st_size;
	char *copy = malloc(size);
	ssize_t n = copy ? pread(fd, copy, size, 0) : -1;
	void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	check(m != MAP_FAILED, "mmap a file read-only");
	if (m != MAP_FAILED) {
		check(n == (ssize_t)size && memcmp(m, copy, size) == 0,
		      "the mapping holds the file's bytes");
		check(munmap(m, size) == 0, "munmap");
	}
	free(copy);
	close(fd);

	size_t len = 3 * 4096;
	unsigned char *anon = mmap(NULL, len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(anon != MAP_FAILED, "mmap anonymous read-write");
	if (anon == MAP_FAILED)
		return;
	check(all_zero(anon, len), "it is zeroed");
	memset(anon, 0x5a, len);
	check(anon[len - 1] == 0x5a, "and writable");
	check(mprotect(anon, 4096, PROT_READ) == 0, "mprotect to read-only");
	check(anon[0] == 0x5a, "still readable");
	check(munmap(anon, len) == 0, "munmap the anonymous mapping");
}

static void part_exec(void)
{
	errno = 0;
	void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("mmap PROT_EXEC: %s\n", m == MAP_FAILED ? strerror(errno) : "mapped");
	if (m != MAP_FAILED)
		munmap(m, 4096);
	void *rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rw == MAP_FAILED)
		return;
	errno = 0;
	int r = mprotect(rw, 4096, PROT_READ | PROT_EXEC);
	printf("mprotect PROT_EXEC: %s\n", r ? strerror(errno) : "done");
	munmap(rw, 4096);
}

static const char *tmp_dir(void)
{
	const char *d = getenv("TMPDIR");
	return d && *d ? d : "/tmp";
}

/* The six characters before the suffix's len bytes were filled in: they
 * are no longer all 'X' (a random name may contain an 'X' or five). */
static int replaced(const char *name, size_t suffix)
{
	size_t n = strlen(name);
	if (n < 6 + suffix)
		return 0;
	return memcmp(name + n - 6 - suffix, "XXXXXX", 6) != 0;
}

static void write_and_read(int fd, const char *name, const char *what)
{
	char buf[32] = "";
	int ok = fd >= 0 && write(fd, "temporary", 9) == 9 &&
		 lseek(fd, 0, SEEK_SET) == 0 && read(fd, buf, sizeof(buf)) == 9 &&
		 memcmp(buf, "temporary", 9) == 0;
	struct stat st;
	ok = ok && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600;
	printf("%s: %s\n", what, ok ? "ok" : "FAILED");
	failures += !ok;
	if (fd >= 0)
		close(fd);
	if (unlink(name) != 0) {
		printf("%s: unlink failed\n", what);
		failures++;
	}
}

static void part_temp(void)
{
	char name[4096];
	snprintf(name, sizeof(name), "%s/host_sys_XXXXXX", tmp_dir());
	int fd = mkstemp(name);
	check(fd >= 0 && replaced(name, 0), "mkstemp fills the template");
	write_and_read(fd, name, "mkstemp: a 0600 file, written and read back");

	snprintf(name, sizeof(name), "%s/host_sys_XXXXXX", tmp_dir());
	fd = mkostemp(name, O_CLOEXEC);
	check(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "mkostemp O_CLOEXEC");
	write_and_read(fd, name, "mkostemp: a 0600 file, written and read back");

	snprintf(name, sizeof(name), "%s/host_sys_XXXXXX.txt", tmp_dir());
	fd = mkstemps(name, 4);
	check(fd >= 0 && replaced(name, 4) && strstr(name, ".txt"),
	      "mkstemps keeps the suffix");
	write_and_read(fd, name, "mkstemps: a 0600 file, written and read back");

	snprintf(name, sizeof(name), "%s/host_sys_XXX", tmp_dir());
	errno = 0;
	check(mkstemp(name) == -1 && errno == EINVAL, "mkstemp of a short template: EINVAL");

	snprintf(name, sizeof(name), "%s/host_sys_dir_XXXXXX", tmp_dir());
	struct stat st;
	check(mkdtemp(name) != NULL && stat(name, &st) == 0 && S_ISDIR(st.st_mode) &&
	      (st.st_mode & 0777) == 0700, "mkdtemp makes a 0700 directory");
	check(rmdir(name) == 0, "and it can be removed");
}

static volatile sig_atomic_t got_signal, got_code, mask_held, plain_count;

static void on_siginfo(int sig, siginfo_t *info, void *uctx)
{
	sigset_t now;
	(void)uctx;
	got_signal = sig;
	got_code = info->si_code == SI_TKILL || info->si_code == SI_USER;
	sigprocmask(SIG_BLOCK, NULL, &now);
	mask_held = sigismember(&now, SIGUSR2) == 1;
}

static void on_plain(int sig)
{
	(void)sig;
	plain_count++;
}

static void part_signal(void)
{
	sigset_t set;
	check(sigemptyset(&set) == 0 && sigismember(&set, SIGINT) == 0,
	      "sigemptyset: SIGINT is not a member");
	check(sigaddset(&set, SIGINT) == 0 && sigismember(&set, SIGINT) == 1,
	      "sigaddset: now it is");
	check(sigdelset(&set, SIGINT) == 0 && sigismember(&set, SIGINT) == 0,
	      "sigdelset: and no more");
	check(sigfillset(&set) == 0 && sigismember(&set, SIGTERM) == 1,
	      "sigfillset: SIGTERM is a member");
	errno = 0;
	check(sigaddset(&set, 0) == -1 && errno == EINVAL, "sigaddset of signal 0: EINVAL");

	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_siginfo;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	check(sigaction(SIGUSR1, &sa, &old) == 0, "sigaction SIGUSR1 with SA_SIGINFO");
	check(old.sa_handler == SIG_DFL, "the old action was SIG_DFL");
	check(raise(SIGUSR1) == 0 && got_signal == SIGUSR1, "raise(SIGUSR1) runs the handler");
	check(got_code, "with si_code from raise");
	check(mask_held, "sa_mask blocked SIGUSR2 inside the handler");
	struct sigaction now;
	check(sigaction(SIGUSR1, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO) &&
	      now.sa_sigaction == on_siginfo, "sigaction reads the action back");

	check(signal(SIGUSR2, on_plain) == SIG_DFL, "signal() returns the old handler");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	check(sigprocmask(SIG_BLOCK, &set, NULL) == 0, "sigprocmask blocks SIGUSR2");
	raise(SIGUSR2);
	check(plain_count == 0, "a blocked signal waits");
	check(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0 && plain_count == 1,
	      "and arrives once unblocked");
	check(signal(SIGUSR2, SIG_IGN) == on_plain && raise(SIGUSR2) == 0 &&
	      plain_count == 1, "SIG_IGN ignores it");
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
}

static void part_popen(void)
{
	FILE *f = popen("echo one; echo two; exit 3", "r");
	if (!f) {
		printf("popen r: %s\n", strerror(errno));
		failures++;
		return;
	}
	char line[128];
	while (fgets(line, sizeof(line), f))
		printf("popen read: %s", line);
	int st = pclose(f);
	printf("pclose: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));

	f = popen("read a b; echo \"shell got <$a> <$b>\"", "w");
	if (!f) {
		printf("popen w: %s\n", strerror(errno));
		failures++;
		return;
	}
	fflush(stdout);
	fprintf(f, "first second\n");
	st = pclose(f);
	printf("pclose after writing: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));

	st = system("exit 7");
	printf("system exit 7: exited %d, status %d\n", WIFEXITED(st), WEXITSTATUS(st));
	fflush(stdout);
	st = system("echo from system");
	printf("system echo: status %d\n", WEXITSTATUS(st));
	printf("system(NULL): %s\n", system(NULL) ? "a shell" : "no shell");
	errno = 0;
	f = popen("true", "x");
	printf("popen mode x: %s\n", f ? "opened" : strerror(errno));
}

static int sys_run(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: sys FILE PART...\n");
		return 64;
	}
	for (int i = 2; i < argc; i++) {
		const char *p = argv[i];
		printf("== %s\n", p);
		if (!strcmp(p, "random"))
			part_random();
		else if (!strcmp(p, "map"))
			part_map(argv[1]);
		else if (!strcmp(p, "exec"))
			part_exec();
		else if (!strcmp(p, "temp"))
			part_temp();
		else if (!strcmp(p, "signal"))
			part_signal();
		else if (!strcmp(p, "popen"))
			part_popen();
		else {
			fprintf(stderr, "sys: unknown part '%s'\n", p);
			return 64;
		}
	}
	printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}

#ifdef NATIVE_MAIN
int main(int argc, char **argv)
{
	return sys_run(argc, argv);
}
#else
#include <myriad/myriad.h>

int sys_main(const struct myriad_ctx *ctx);

int sys_main(const struct myriad_ctx *ctx)
{
	return sys_run(ctx->argc, ctx->argv);
}
#endif
