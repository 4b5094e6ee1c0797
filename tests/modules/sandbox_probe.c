/* SPDX-License-Identifier: MIT */
/*
 * sandbox_probe.c - a Myriad program that tries syscalls through a bare
 * `syscall` instruction (no libc wrapper between it and the filter) and
 * prints what the kernel answered, one line per probe:
 *
 *   myriad [--sandbox=MODE] sandbox_probe.myr PROBE...
 *
 *   io_uring_setup: EPERM          denied
 *   socket: ok                     allowed (any descriptor is closed again)
 *   execve: ENOENT                 allowed: it reached the kernel, which
 *                                  found no /nonexistent/program
 *
 * Under --sandbox=strict a denied probe ends the process with SIGSYS, so the
 * lines before it show how far it got.  Probe "fds" lists /proc/self/fd
 * (it needs fs-read): one line "fds: 0 1 2 3 (3 is this listing)", then one
 * "fd N -> TARGET" per descriptor.  tests/cli/sandbox.t drives it.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <myriad/myriad.h>
#include "../unit/raw_syscall.h"

/* Kernel ABI numbers (x86_64); the module has no kernel headers of its own. */
enum {
	NR_read = 0, NR_write = 1, NR_close = 3, NR_mmap = 9, NR_mprotect = 10,
	NR_munmap = 11, NR_socket = 41, NR_clone = 56, NR_fork = 57,
	NR_execve = 59, NR_exit = 60, NR_wait4 = 61, NR_getpid = 39,
	NR_ptrace = 101, NR_getdents64 = 217, NR_openat = 257,
	NR_readlinkat = 267, NR_bpf = 321, NR_io_uring_setup = 425,
	NR_pwrite64 = 18, NR_kill = 62, NR_rename = 82, NR_fstat = 5,
	O_PATH_ = 010000000, O_CREAT_ = 0100, O_TRUNC_ = 01000, SOCK_RAW_ = 3,
	IPPROTO_ICMP_ = 1,
	X32_BIT = 0x40000000,
	AT_FDCWD_ = -100, O_WRONLY_ = 01, O_RDWR_ = 02, O_DIRECTORY_ = 0200000,
	O_TMPFILE_ = 020200000, O_CLOEXEC_ = 02000000,
	PROT_RW = 3, PROT_RX = 5, MAP_PRIVATE_ANON = 0x22,
	AF_INET_ = 2, SOCK_STREAM_ = 1,
	CLONE_VM_ = 0x100, CLONE_SIGHAND_ = 0x800, CLONE_THREAD_ = 0x10000,
	SIGCHLD_ = 17,
};

static const struct { int code; const char *name; } errnos[] = {
	{ 1, "EPERM" }, { 2, "ENOENT" }, { 13, "EACCES" }, { 14, "EFAULT" },
	{ 22, "EINVAL" }, { 38, "ENOSYS" }, { 95, "EOPNOTSUPP" },
};

static void report(const char *probe, long r)
{
	if (r >= 0) {
		printf("%s: ok\n", probe);
		return;
	}
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
		if (errnos[i].code == -r) {
			printf("%s: %s\n", probe, errnos[i].name);
			return;
		}
	}
	printf("%s: errno %ld\n", probe, -r);
}

/* A raw thread: the child runs only the `exit` syscall on its own stack. */
static long raw_thread(void)
{
	static unsigned char stack[4096] __attribute__((aligned(16)));
	long ret;

	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov $60, %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "syscall\n"
			 "1:"
			 : "=a"(ret)
			 : "a"((long)NR_clone),
			   "D"((long)(CLONE_VM_ | CLONE_SIGHAND_ | CLONE_THREAD_)),
			   "S"(stack + sizeof(stack)), "d"(0L)
			 : "rcx", "r11", "memory");
	return ret;
}

static long probe_fork(void)
{
	long pid = raw_syscall0(NR_fork);
	int status = 0;

	if (pid == 0)
		raw_syscall1(NR_exit, 0);
	if (pid > 0)
		raw_syscall6(NR_wait4, pid, (long)&status, 0, 0, 0, 0);
	return pid;
}

static long close_if_fd(long r)
{
	if (r >= 0)
		raw_syscall1(NR_close, r);
	return r;
}

static void list_fds(void)
{
	long dir = raw_syscall3(NR_openat, AT_FDCWD_, "/proc/self/fd",
				O_DIRECTORY_ | O_CLOEXEC_);
	char buf[4096], line[1024], target[256];
	size_t used = 0;
	int fds[256], nfds = 0;

	if (dir < 0) {
		report("fds", dir);
		return;
	}
	for (;;) {
		long n = raw_syscall3(NR_getdents64, dir, buf, sizeof(buf));
		if (n <= 0) {
			if (n < 0)
				report("getdents64", n);
			break;
		}
		for (long off = 0; off < n;) {
			/* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
			unsigned short reclen;
			const char *name = buf + off + 19;
			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			if (name[0] >= '0' && name[0] <= '9' && nfds < 256) {
				int fd = 0;
				for (const char *p = name; *p; p++)
					fd = fd * 10 + (*p - '0');
				fds[nfds++] = fd;
			}
			off += reclen;
		}
	}
	used = (size_t)snprintf(line, sizeof(line), "fds:");
	for (int i = 0; i < nfds && used < sizeof(line); i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, " %d",
					 fds[i]);
	printf("%s (%ld is this listing)\n", line, dir);
	for (int i = 0; i < nfds; i++) {
		char path[32];
		long len;
		snprintf(path, sizeof(path), "%d", fds[i]);
		len = raw_syscall6(NR_readlinkat, dir, (long)path, (long)target,
				   sizeof(target) - 1, 0, 0);
		if (len < 0)
			len = 0;
		target[len] = '\0';
		printf("fd %d -> %s\n", fds[i], target);
	}
	raw_syscall1(NR_close, dir);
}

static long probe(const char *name)
{
	static char *const argv[] = { "program", NULL };
	static unsigned char params[120];  /* struct io_uring_params */

	if (!strcmp(name, "io_uring_setup"))
		return close_if_fd(raw_syscall2(NR_io_uring_setup, 4, params));
	if (!strcmp(name, "execve"))
		return raw_syscall3(NR_execve, "/nonexistent/program", argv, NULL);
	/* Not /tmp: a checkout under /tmp puts the library directory beneath
	 * it, and Landlock then (rightly) lets no fs-write program create
	 * entries directly in an ancestor of a library directory. */
	if (!strcmp(name, "open_write"))
		return close_if_fd(raw_syscall3(NR_openat, AT_FDCWD_, "/dev/shm",
						O_TMPFILE_ | O_WRONLY_ | O_CLOEXEC_));
	if (!strcmp(name, "open_rdwr"))
		return close_if_fd(raw_syscall3(NR_openat, AT_FDCWD_, "/dev/null",
						O_RDWR_ | O_CLOEXEC_));
	if (!strcmp(name, "open_read"))
		return close_if_fd(raw_syscall3(NR_openat, AT_FDCWD_,
						"/proc/self/status", O_CLOEXEC_));
	if (!strcmp(name, "socket"))
		return close_if_fd(raw_syscall3(NR_socket, AF_INET_, SOCK_STREAM_, 0));
	if (!strcmp(name, "mmap_exec")) {
		long r = raw_syscall6(NR_mmap, 0, 4096, PROT_RX,
				      MAP_PRIVATE_ANON, -1, 0);
		if (r >= 0)
			raw_syscall2(NR_munmap, r, 4096);
		return r;
	}
	if (!strcmp(name, "mprotect_exec")) {
		long page = raw_syscall6(NR_mmap, 0, 4096, PROT_RW,
					 MAP_PRIVATE_ANON, -1, 0);
		if (page < 0)
			return page;
		long r = raw_syscall3(NR_mprotect, page, 4096, PROT_RX);
		raw_syscall2(NR_munmap, page, 4096);
		return r;
	}
	if (!strcmp(name, "mmap_rw")) {
		long r = raw_syscall6(NR_mmap, 0, 1 << 20, PROT_RW,
				      MAP_PRIVATE_ANON, -1, 0);
		if (r >= 0)
			raw_syscall2(NR_munmap, r, 1 << 20);
		return r;
	}
	if (!strcmp(name, "fork"))
		return probe_fork();
	if (!strcmp(name, "thread"))
		return raw_thread();
	if (!strcmp(name, "ptrace"))
		return raw_syscall3(NR_ptrace, 0 /* TRACEME */, 0, 0);
	if (!strcmp(name, "bpf"))
		return raw_syscall3(NR_bpf, 0, 0, 0);
	if (!strcmp(name, "kill_group"))      /* signal 0: only asks */
		return raw_syscall2(NR_kill, 0, 0);
	if (!strcmp(name, "kill_self"))
		return raw_syscall2(NR_kill, raw_syscall0(NR_getpid), 0);
	if (!strcmp(name, "socket_raw"))
		return close_if_fd(raw_syscall3(NR_socket, AF_INET_, SOCK_RAW_,
						IPPROTO_ICMP_));
	if (!strcmp(name, "stat_wronly_path")) {
		/* The access mode of an O_PATH open is ignored: a handle
		 * that fstat reads, with fs-write alone. */
		static unsigned char st[144];
		long fd = raw_syscall3(NR_openat, AT_FDCWD_, "/proc/self/status",
				       O_WRONLY_ | O_PATH_ | O_CLOEXEC_);
		if (fd < 0)
			return fd;
		long r = raw_syscall2(NR_fstat, fd, (long)st);
		raw_syscall1(NR_close, fd);
		return r;
	}
	if (!strcmp(name, "proc_mem")) {
		/* Write this function's first byte over itself through
		 * /proc/self/mem: allowed, it would rewrite read-only text. */
		unsigned char *text = (unsigned char *)(void *)probe;
		long fd = raw_syscall3(NR_openat, AT_FDCWD_, "/proc/self/mem",
				       O_WRONLY_ | O_CLOEXEC_);
		if (fd < 0)
			return fd;
		long r = raw_syscall6(NR_pwrite64, fd, (long)text, 1,
				      (long)text, 0, 0);
		raw_syscall1(NR_close, fd);
		return r;
	}
	if (!strncmp(name, "create:", 7))
		return close_if_fd(raw_syscall6(NR_openat, AT_FDCWD_, (long)(name + 7),
						O_WRONLY_ | O_CREAT_ | O_TRUNC_ |
						O_CLOEXEC_, 0644, 0, 0));
	if (!strncmp(name, "rename:", 7)) {
		/* rename:FROM:TO */
		static char from[4096];
		const char *colon = strchr(name + 7, ':');
		size_t n = colon ? (size_t)(colon - (name + 7)) : 0;
		if (!colon || n >= sizeof(from))
			return -22;
		memcpy(from, name + 7, n);
		from[n] = '\0';
		return raw_syscall2(NR_rename, (long)from, (long)(colon + 1));
	}
	if (!strcmp(name, "x32_getpid"))
		return raw_syscall0(X32_BIT | NR_getpid);
	return 1L << 40;   /* not a probe */
}

int sandbox_probe_main(const struct myriad_ctx *ctx)
{
	for (int i = 1; i < ctx->argc; i++) {
		const char *name = ctx->argv[i];
		if (!strcmp(name, "fds")) {
			list_fds();
			continue;
		}
		long r = probe(name);
		if (r == 1L << 40) {
			fprintf(stderr, "sandbox_probe: unknown probe '%s'\n", name);
			return 2;
		}
		report(name, r);
		/* A line per probe reaches stdout before a SIGSYS can end us. */
		fflush(stdout);
	}
	return 0;
}
