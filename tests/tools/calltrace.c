/* SPDX-License-Identifier: MIT */
/*
 * calltrace OUT ADDRS CMD [ARGS...] - runs CMD under ptrace with a one-shot
 * breakpoint at each address of the file ADDRS (hex, one a line: the
 * function starts of CMD's executable) and writes to OUT, in the order
 * first reached, every one of them that CMD executed.  For
 * tests/cli/layout.t: which of the launcher's functions a launch really
 * runs, on the real kernel interfaces (io_uring, openat2, seccomp,
 * Landlock), which an emulator such as valgrind does not all have, at the
 * cost of one stop a function.  CMD must be a static, non-PIE executable
 * (the addresses are its link addresses) and stay one thread: a clone or
 * fork is refused (exit 3), as its breakpoints would kill it.  Exits with
 * CMD's status, 2 for a usage error, 1 if tracing failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

struct bp {
	uint64_t addr;
	long orig;              /* the word at addr before the int3 */
	int armed;
};

static int cmp_bp(const void *a, const void *b)
{
	uint64_t x = ((const struct bp *)a)->addr, y = ((const struct bp *)b)->addr;
	return x < y ? -1 : x > y;
}

static struct bp *read_addrs(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	struct bp *v = NULL;
	size_t cap = 0;
	char line[64];

	*n = 0;
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			struct bp *w = realloc(v, cap * sizeof(*v));
			if (!w) {
				free(v);
				fclose(f);
				return NULL;
			}
			v = w;
		}
		v[(*n)++] = (struct bp){ strtoull(line, NULL, 16), 0, 0 };
	}
	fclose(f);
	if (!v)                                /* an empty list */
		return calloc(1, sizeof(*v));
	qsort(v, *n, sizeof(*v), cmp_bp);
	return v;
}

/* Each breakpoint is armed once, on the stopped process after its exec. */
static int arm(pid_t pid, struct bp *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i && v[i].addr == v[i - 1].addr)
			continue;              /* aliases: one breakpoint */
		errno = 0;
		long w = ptrace(PTRACE_PEEKTEXT, pid, (void *)v[i].addr, NULL);
		if (errno)
			return -errno;
		v[i].orig = w;
		if (ptrace(PTRACE_POKETEXT, pid, (void *)v[i].addr,
			   (void *)((w & ~0xffL) | 0xcc)) != 0)
			return -errno;
		v[i].armed = 1;
	}
	return 0;
}

/* A SIGTRAP at one of ours: record it, put the byte back, run it. */
static int hit(pid_t pid, struct bp *v, size_t n, FILE *out)
{
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, pid, NULL, &r) != 0)
		return -errno;
	struct bp key = { r.rip - 1, 0, 0 };
	struct bp *b = bsearch(&key, v, n, sizeof(*v), cmp_bp);
	if (!b || !b->armed)
		return 0;                      /* not ours: deliver it */
	while (b > v && b[-1].addr == b->addr)
		b--;
	/* Only the byte the breakpoint took: the rest of the word may hold
	 * the int3 of a function starting within the next 7 bytes. */
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)b->addr, NULL);
	if (errno)
		return -errno;
	word = (long)(((unsigned long)word & ~0xfful) | ((unsigned long)b->orig & 0xff));
	if (ptrace(PTRACE_POKETEXT, pid, (void *)b->addr, (void *)word) != 0)
		return -errno;
	b->armed = 0;
	r.rip = b->addr;
	if (ptrace(PTRACE_SETREGS, pid, NULL, &r) != 0)
		return -errno;
	fprintf(out, "%llx\n", (unsigned long long)b->addr);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: calltrace OUT ADDRS CMD [ARGS...]\n");
		return 2;
	}
	size_t n;
	struct bp *v = read_addrs(argv[2], &n);
	FILE *out = fopen(argv[1], "w");
	if (!v || !out) {
		fprintf(stderr, "calltrace: %s: %s\n", v ? argv[1] : argv[2],
			strerror(errno));
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("calltrace: fork");
		return 1;
	}
	if (pid == 0) {
		fclose(out);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
			perror("calltrace: PTRACE_TRACEME");
			_exit(1);
		}
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		_exit(127);
	}
	int status, started = 0;
	for (;;) {
		if (waitpid(pid, &status, 0) < 0) {
			if (errno == EINTR)
				continue;
			perror("calltrace: waitpid");
			return 1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		int sig = WSTOPSIG(status), r = 0;
		if (sig == SIGTRAP && !started) {
			/* The exec's stop: the executable is mapped. */
			ptrace(PTRACE_SETOPTIONS, pid, NULL,
			       (void *)(long)(PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE |
					      PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK));
			r = arm(pid, v, n);
			started = 1;
			sig = 0;
		} else if (sig == SIGTRAP && (status >> 16)) {
			fprintf(stderr, "calltrace: %s started a thread or a "
				"process; only one is traced\n", argv[3]);
			kill(pid, SIGKILL);
			return 3;
		} else if (sig == SIGTRAP) {
			r = hit(pid, v, n, out);
			if (r > 0)
				sig = 0;
		}
		if (r < 0) {
			fprintf(stderr, "calltrace: ptrace: %s\n", strerror(-r));
			kill(pid, SIGKILL);
			return 1;
		}
		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig) != 0) {
			perror("calltrace: PTRACE_CONT");
			return 1;
		}
	}
	if (fclose(out) != 0) {
		perror(argv[1]);
		return 1;
	}
	free(v);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
