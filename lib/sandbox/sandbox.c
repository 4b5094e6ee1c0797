/* SPDX-License-Identifier: MIT */
/*
 * The seccomp policy (docs/security.md): one table of rules, built into a
 * libseccomp filter, exported as BPF, or described to `myriad policy`.
 *
 * Invariants the table keeps (tests/unit/test_sandbox_policy.c checks the
 * resulting BPF, not the table):
 *   - no rule names a syscall in never_denied[];
 *   - every comparison on an int-sized argument either tests bits inside
 *     the low 32 (MASKED_EQ with a 32-bit mask, immune to garbage in the
 *     upper half, which the kernel drops) or compares all 64 bits for
 *     equality (garbage in the upper half then fails the comparison, which
 *     denies: the safe direction);
 *   - no rule lets PROT_EXEC through mprotect, nor through mmap together
 *     with PROT_WRITE or for anonymous memory, so no new code can appear
 *     once the launcher has loaded the image; the one mmap rule with
 *     PROT_EXEC (spawn with fs-read: a dynamic loader mapping library text
 *     after execve) maps files read and execute only.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <seccomp.h>
#include <myriad/format.h>
#include <myriad/sandbox.h>

/* ---- capabilities -------------------------------------------------------- */

static const struct {
	const char *name;
	uint32_t bit;
} cap_names[] = {
	{ "fs-read",  MYR_CAP_FS_READ },
	{ "fs-write", MYR_CAP_FS_WRITE },
	{ "net",      MYR_CAP_NET },
	{ "spawn",    MYR_CAP_SPAWN },
	{ "threads",  MYR_CAP_THREADS },
};
#define NCAPS (sizeof(cap_names) / sizeof(cap_names[0]))

static_assert(NCAPS == 5 && MYR_CAP_KNOWN == 0x1fu,
	      "every MYR_CAP_* bit needs a name here");

const char *myr_cap_name(uint32_t cap)
{
	for (size_t i = 0; i < NCAPS; i++)
		if (cap_names[i].bit == cap)
			return cap_names[i].name;
	return NULL;
}

int myr_cap_from_name(const char *name, size_t len, uint32_t *cap)
{
	for (size_t i = 0; i < NCAPS; i++) {
		if (strlen(cap_names[i].name) == len &&
		    memcmp(cap_names[i].name, name, len) == 0) {
			*cap = cap_names[i].bit;
			return 0;
		}
	}
	return -EINVAL;
}

/* A hostile name goes into a one-line message: bounded, printable. */
static void quote_name(char *out, size_t size, const char *name, size_t len)
{
	size_t shown = len < 40 ? len : 40, n = 0;

	for (size_t i = 0; i < shown && n + 2 < size; i++) {
		unsigned char c = (unsigned char)name[i];
		out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (shown < len && n + 4 < size) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

int myr_caps_parse(const char *list, uint32_t *caps, struct myr_error *err)
{
	uint32_t acc = 0;
	const char *p = list;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		uint32_t bit;

		if (len == 4 && memcmp(p, "none", 4) == 0)
			bit = 0;
		else if (len != 0 && myr_cap_from_name(p, len, &bit) < 0) {
			char shown[64];
			quote_name(shown, sizeof(shown), p, len);
			return myr_error_set(err, -EINVAL, "unknown capability "
				"'%s' (known: fs-read, fs-write, net, spawn, "
				"threads)", shown);
		} else if (len == 0)
			bit = 0;
		acc |= bit;
		if (!end)
			break;
		p = end + 1;
	}
	*caps = acc;
	return 0;
}

size_t myr_caps_format(uint32_t caps, char *buf, size_t size)
{
	char tmp[NCAPS * (MYR_CAP_NAME_MAX + 1) + 16];
	size_t n = 0;

	tmp[0] = '\0';
	for (size_t i = 0; i < NCAPS; i++) {
		if (caps & cap_names[i].bit)
			n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%s%s",
					      n ? "," : "", cap_names[i].name);
	}
	if (caps & ~MYR_CAP_KNOWN)
		n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "%s0x%x",
				      n ? "," : "", caps & ~MYR_CAP_KNOWN);
	if (n == 0)
		n = (size_t)snprintf(tmp, sizeof(tmp), "none");
	if (size)
		snprintf(buf, size, "%s", tmp);
	return n;
}

int myr_caps_check(uint32_t caps, struct myr_error *err)
{
	uint32_t unknown = caps & ~MYR_CAP_KNOWN;

	if (!unknown)
		return 0;
	return myr_error_set(err, -EINVAL, "unknown capability bit 0x%x "
			     "(known bits: 0x%x)", unknown & -unknown,
			     MYR_CAP_KNOWN);
}

/* ---- modes --------------------------------------------------------------- */

static const char *const mode_names[] = {
	[MYR_SANDBOX_DEFAULT] = "default",
	[MYR_SANDBOX_STRICT]  = "strict",
	[MYR_SANDBOX_OFF]     = "off",
};

const char *myr_sandbox_mode_name(enum myr_sandbox_mode mode)
{
	if ((unsigned)mode >= sizeof(mode_names) / sizeof(mode_names[0]))
		return NULL;
	return mode_names[mode];
}

int myr_sandbox_mode_from_name(const char *name, enum myr_sandbox_mode *mode)
{
	for (unsigned i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(name, mode_names[i]) == 0) {
			*mode = (enum myr_sandbox_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- the table ----------------------------------------------------------- */

/*
 * Kernel flag values the conditions test.  O_ACCMODE is not used: musl's
 * includes O_PATH, but the kernel's access mode is the low two bits.
 */
#define ACCMODE          3u
#define OPEN_CREATES     ((uint64_t)(O_CREAT | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY)))
#define CLONE_NAMESPACES ((uint64_t)(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
				     CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
				     CLONE_NEWNET))
#ifndef ARCH_SET_FS
#define ARCH_SET_FS      0x1002
#endif

#define R   MYR_CAP_FS_READ
#define W   MYR_CAP_FS_WRITE
#define N   MYR_CAP_NET
#define S   MYR_CAP_SPAWN
#define T   MYR_CAP_THREADS

#define ALWAYS(sc)        { .syscall = #sc }
#define WITH(sc, c)       { .syscall = #sc, .caps = (c) }
#define EQ(a, v)          { .arg = (a), .op = MYR_ARG_EQ, .value = (v) }
#define MASKED(a, m, v)   { .arg = (a), .op = MYR_ARG_MASKED_EQ, .mask = (m), .value = (v) }
#define SELF(a)           { .arg = (a), .op = MYR_ARG_EQ_SELF }
#define SOCKET(dom, type) { "socket", MYR_CAP_NET, 0, 0, 2,                  \
			    { EQ(0, dom), MASKED(1, 0xfu, type) },           \
			    "domain == " #dom ", type " #type }

static const struct myr_sandbox_rule rules[] = {
	/* I/O on fds the program already has (inherited or opened). */
	ALWAYS(read), ALWAYS(write), ALWAYS(readv), ALWAYS(writev),
	ALWAYS(pread64), ALWAYS(pwrite64), ALWAYS(preadv), ALWAYS(pwritev),
	ALWAYS(preadv2), ALWAYS(pwritev2), ALWAYS(close), ALWAYS(fstat),
	ALWAYS(lseek),
	{ "fcntl", 0, 0, 0, 1, { EQ(1, F_GETFD) }, "cmd == F_GETFD" },
	{ "fcntl", 0, 0, 0, 1, { EQ(1, F_SETFD) }, "cmd == F_SETFD" },
	{ "fcntl", 0, 0, 0, 1, { EQ(1, F_GETFL) }, "cmd == F_GETFL" },
	{ "fcntl", 0, 0, 0, 1, { EQ(1, F_SETFL) }, "cmd == F_SETFL" },
	/* musl's stdout asks whether it is a terminal, to line-buffer. */
	{ "ioctl", 0, 0, 0, 1, { EQ(1, TIOCGWINSZ) }, "request == TIOCGWINSZ" },
	/* Ending, and resuming a sleep interrupted by SIGSTOP. */
	ALWAYS(exit), ALWAYS(exit_group), ALWAYS(restart_syscall),
	/* Memory, never executable. */
	ALWAYS(brk), ALWAYS(munmap), ALWAYS(mremap), ALWAYS(madvise),
	{ "mmap", 0, 0, 0, 1, { MASKED(2, PROT_EXEC, 0) }, "prot without PROT_EXEC" },
	{ "mprotect", 0, 0, 0, 1, { MASKED(2, PROT_EXEC, 0) }, "prot without PROT_EXEC" },
	/* Time. */
	ALWAYS(clock_gettime), ALWAYS(clock_getres), ALWAYS(gettimeofday),
	ALWAYS(time), ALWAYS(nanosleep), ALWAYS(clock_nanosleep),
	ALWAYS(getrusage),
	/* Signals, and raise()/abort() on the process itself. */
	ALWAYS(rt_sigaction), ALWAYS(rt_sigprocmask), ALWAYS(rt_sigreturn),
	ALWAYS(sigaltstack),
	{ "tkill", 0, 0, 0, 1, { SELF(0) }, "tid == the program's pid" },
	{ "tgkill", 0, 0, 0, 2, { SELF(0), SELF(1) },
	  "tgid == tid == the program's pid" },
	/* Locks, identity, randomness. */
	ALWAYS(futex), ALWAYS(getpid), ALWAYS(gettid), ALWAYS(getrandom),
	ALWAYS(sched_yield), ALWAYS(getuid), ALWAYS(geteuid), ALWAYS(getgid),
	ALWAYS(getegid),

	/* fs-read: open for reading only, and look at the file system. */
	{ "open", R, 0, 0, 1, { MASKED(1, ACCMODE | OPEN_CREATES, O_RDONLY) },
	  "flags: O_RDONLY, without O_CREAT, O_TRUNC, O_TMPFILE" },
	{ "openat", R, 0, 0, 1, { MASKED(2, ACCMODE | OPEN_CREATES, O_RDONLY) },
	  "flags: O_RDONLY, without O_CREAT, O_TRUNC, O_TMPFILE" },
	WITH(stat, R), WITH(lstat, R), WITH(newfstatat, R), WITH(statx, R),
	WITH(statfs, R), WITH(fstatfs, R), WITH(getdents64, R),
	WITH(getdents, R), WITH(readlink, R), WITH(readlinkat, R),
	WITH(access, R), WITH(faccessat, R), WITH(faccessat2, R),
	WITH(getcwd, R), WITH(chdir, R), WITH(fchdir, R),

	/* Advisory record locks on files the program opened (SQLite's). */
	{ "fcntl", R | W, 1, 0, 1, { EQ(1, F_GETLK) }, "cmd == F_GETLK" },
	{ "fcntl", R | W, 1, 0, 1, { EQ(1, F_SETLK) }, "cmd == F_SETLK" },
	{ "fcntl", R | W, 1, 0, 1, { EQ(1, F_SETLKW) }, "cmd == F_SETLKW" },
	{ "fcntl", R | W, 1, 0, 1, { EQ(1, F_OFD_GETLK) }, "cmd == F_OFD_GETLK" },
	{ "fcntl", R | W, 1, 0, 1, { EQ(1, F_OFD_SETLK) }, "cmd == F_OFD_SETLK" },
	{ "fcntl", R | W, 1, 0, 1, { EQ(1, F_OFD_SETLKW) }, "cmd == F_OFD_SETLKW" },

	/* fs-write: open for writing, and change the file system. */
	/* Not O_PATH: the kernel ignores the access mode of an O_PATH open,
	 * so O_WRONLY|O_PATH would be a read-side handle (fstat of any
	 * file) that fs-read alone grants. */
	{ "open", W, 0, 0, 1, { MASKED(1, ACCMODE | O_PATH, O_WRONLY) },
	  "flags: O_WRONLY without O_PATH, any other flags" },
	{ "openat", W, 0, 0, 1, { MASKED(2, ACCMODE | O_PATH, O_WRONLY) },
	  "flags: O_WRONLY without O_PATH, any other flags" },
	{ "open", R | W, 0, 0, 0, { { 0 } }, "any flags (O_RDWR needs both)" },
	{ "openat", R | W, 0, 0, 0, { { 0 } }, "any flags (O_RDWR needs both)" },
	WITH(creat, W), WITH(unlink, W), WITH(unlinkat, W), WITH(rename, W),
	WITH(renameat, W), WITH(renameat2, W), WITH(mkdir, W),
	WITH(mkdirat, W), WITH(rmdir, W), WITH(truncate, W),
	WITH(ftruncate, W), WITH(fsync, W), WITH(fdatasync, W),
	WITH(fallocate, W), WITH(chmod, W), WITH(fchmod, W),
	WITH(fchmodat, W), WITH(symlink, W), WITH(symlinkat, W),
	WITH(link, W), WITH(linkat, W), WITH(utimensat, W),
	/* Its flags live in memory the filter cannot read: make libc use
	 * openat, whose flags it can. */
	{ "openat2", R | W, 1, MYR_VERDICT_ENOSYS, 0, { { 0 } },
	  "fails with ENOSYS (libc falls back to openat)" },

	/* net: Internet and Unix sockets of the ordinary types: no SOCK_RAW
	 * or SOCK_PACKET (forged packets, sniffing), whatever the flags
	 * (SOCK_NONBLOCK, SOCK_CLOEXEC) above the type's 4 bits. */
	SOCKET(AF_UNIX, SOCK_STREAM), SOCKET(AF_UNIX, SOCK_DGRAM),
	SOCKET(AF_UNIX, SOCK_SEQPACKET),
	SOCKET(AF_INET, SOCK_STREAM), SOCKET(AF_INET, SOCK_DGRAM),
	SOCKET(AF_INET6, SOCK_STREAM), SOCKET(AF_INET6, SOCK_DGRAM),
	{ "socketpair", N, 0, 0, 1, { EQ(0, AF_UNIX) }, "domain == AF_UNIX" },
	WITH(connect, N), WITH(bind, N), WITH(listen, N), WITH(accept, N),
	WITH(accept4, N), WITH(sendto, N), WITH(sendmsg, N),
	WITH(sendmmsg, N), WITH(recvfrom, N), WITH(recvmsg, N),
	WITH(recvmmsg, N), WITH(getsockopt, N), WITH(setsockopt, N),
	WITH(getsockname, N), WITH(getpeername, N), WITH(shutdown, N),
	WITH(poll, N), WITH(ppoll, N), WITH(select, N), WITH(pselect6, N),
	WITH(epoll_create, N), WITH(epoll_create1, N), WITH(epoll_ctl, N),
	WITH(epoll_wait, N), WITH(epoll_pwait, N), WITH(epoll_pwait2, N),

	/* spawn: child processes, and what a static program needs to start
	 * after execve (it inherits this filter). */
	WITH(fork, S), WITH(vfork, S),
	{ "clone", S, 0, 0, 1, { MASKED(0, CLONE_THREAD | CLONE_NAMESPACES, 0) },
	  "flags without CLONE_THREAD and without CLONE_NEW*" },
	WITH(execve, S), WITH(execveat, S), WITH(wait4, S), WITH(waitid, S),
	/* Not 0 (the caller's own process group), not -1, not -PGID. */
	{ "kill", S, 0, 0, 1, { { .arg = 0, .op = MYR_ARG_POSITIVE_INT } },
	  "pid > 0 (one process: not 0, -1 or a process group)" },
	WITH(tkill, S), WITH(tgkill, S), WITH(getppid, S),
	WITH(pipe, S), WITH(pipe2, S), WITH(dup, S), WITH(dup2, S),
	WITH(dup3, S),
	{ "arch_prctl", S, 0, 0, 1, { EQ(0, ARCH_SET_FS) }, "code == ARCH_SET_FS" },
	/* spawn with fs-read: what a dynamically linked program (/bin/sh for
	 * popen and system) needs after execve, whose loader opens its
	 * libraries and maps their text from the file, read and execute. */
	{ "mmap", S | R, 0, 0, 2,
	  { MASKED(2, PROT_WRITE, 0), MASKED(3, MAP_ANONYMOUS, 0) },
	  "prot without PROT_WRITE, a file mapping (not MAP_ANONYMOUS)" },

	/* threads: threads of this process. */
	{ "clone", T, 0, 0, 1,
	  { MASKED(0, CLONE_THREAD | CLONE_NAMESPACES, CLONE_THREAD) },
	  "flags with CLONE_THREAD, without CLONE_NEW*" },
	{ "tgkill", T, 0, 0, 1, { SELF(0) }, "tgid == the program's pid" },
	WITH(set_robust_list, T),
	{ "set_tid_address", S | T, 1, 0, 0, { { 0 } }, NULL },
	/* Its flags live in memory the filter cannot read: make libc use
	 * clone, whose flags it can. */
	{ "clone3", S | T, 1, MYR_VERDICT_ENOSYS, 0, { { 0 } },
	  "fails with ENOSYS (libc falls back to clone)" },
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

/*
 * Denied whatever the capabilities: each either escapes the filter's view
 * (io_uring), reaches into other processes (ptrace, process_vm_*, kcmp,
 * pidfd_getfd), changes the system (mount, modules, kexec, reboot, swap,
 * clocks, names), widens the kernel's attack surface (bpf, perf, userfaultfd,
 * keys) or undoes the sandbox's assumptions (personality, seccomp, unshare,
 * setns, chroot, pkey_mprotect, modify_ldt).
 */
static const char *const never_denied[] = {
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
	"pidfd_getfd", "pidfd_open", "process_madvise",
	"bpf", "perf_event_open", "userfaultfd",
	"keyctl", "add_key", "request_key",
	"mount", "umount2", "pivot_root", "move_mount", "fsopen", "fsconfig",
	"fsmount", "fspick", "open_tree", "mount_setattr", "chroot",
	"kexec_load", "kexec_file_load",
	"init_module", "finit_module", "delete_module",
	"personality", "seccomp", "prctl", "unshare", "setns",
	"reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"sethostname", "setdomainname", "syslog", "vhangup",
	"iopl", "ioperm", "modify_ldt", "pkey_mprotect", "pkey_alloc",
	"remap_file_pages", "uselib", "lookup_dcookie",
	"name_to_handle_at", "open_by_handle_at", "fanotify_init",
	"mbind", "set_mempolicy", "migrate_pages", "move_pages",
};
#define NNEVER (sizeof(never_denied) / sizeof(never_denied[0]))

#undef R
#undef W
#undef N
#undef S
#undef T

const struct myr_sandbox_rule *myr_sandbox_rules(size_t *count)
{
	*count = NRULES;
	return rules;
}

const char *const *myr_sandbox_never(size_t *count)
{
	*count = NNEVER;
	return never_denied;
}

int myr_sandbox_rule_applies(const struct myr_sandbox_rule *r, uint32_t caps)
{
	if (r->caps_any)
		return (r->caps & caps) != 0;
	return (r->caps & caps) == r->caps;
}

/* ---- building ------------------------------------------------------------ */

static int add_rule(scmp_filter_ctx ctx, const struct myr_sandbox_rule *r,
		    uint64_t self_pid, struct myr_error *err)
{
	struct scmp_arg_cmp cmp[MYR_SANDBOX_ARGS_MAX];
	uint32_t action = r->verdict == MYR_VERDICT_ENOSYS ?
			  SCMP_ACT_ERRNO(ENOSYS) : SCMP_ACT_ALLOW;
	int nr = seccomp_syscall_resolve_name(r->syscall);
	int positive = -1;      /* index of a MYR_ARG_POSITIVE_INT, if any */
	int rc;

	if (nr == __NR_SCMP_ERROR)
		return myr_error_set(err, -EINVAL, "policy names unknown "
				     "syscall '%s'", r->syscall);
	if (r->nargs > MYR_SANDBOX_ARGS_MAX)
		return myr_error_set(err, -EINVAL, "policy rule for '%s' has "
				     "%u comparisons, over %u", r->syscall,
				     r->nargs, MYR_SANDBOX_ARGS_MAX);
	for (unsigned i = 0; i < r->nargs; i++) {
		const struct myr_sandbox_arg *a = &r->args[i];

		cmp[i].arg = a->arg;
		switch (a->op) {
		case MYR_ARG_EQ:
		case MYR_ARG_EQ_SELF:
			cmp[i].op = SCMP_CMP_EQ;
			cmp[i].datum_a = a->op == MYR_ARG_EQ ? a->value : self_pid;
			cmp[i].datum_b = 0;
			break;
		case MYR_ARG_MASKED_EQ:
			cmp[i].op = SCMP_CMP_MASKED_EQ;
			cmp[i].datum_a = a->mask;
			cmp[i].datum_b = a->value;
			break;
		case MYR_ARG_POSITIVE_INT:
			if (positive >= 0)
				return myr_error_set(err, -EINVAL, "policy rule "
						     "for '%s' has two range "
						     "comparisons", r->syscall);
			positive = (int)i;
			cmp[i].op = SCMP_CMP_MASKED_EQ;
			break;
		default:
			return myr_error_set(err, -EINVAL, "policy rule for "
					     "'%s' has unknown comparison %u",
					     r->syscall, a->op);
		}
	}
	/*
	 * libseccomp allows one comparison per argument, and no single one
	 * says 1 <= arg < 2^31 with the upper half clear: that range is the
	 * union of "bits 63..31 clear and bit k set" over k = 0..30, one rule
	 * each.  Garbage in the upper half fails every one of them (denied).
	 */
	for (unsigned k = 0; k < (positive >= 0 ? 31u : 1u); k++) {
		if (positive >= 0) {
			cmp[positive].datum_a = 0xffffffff80000000ull | (1ull << k);
			cmp[positive].datum_b = 1ull << k;
		}
		rc = seccomp_rule_add_array(ctx, action, nr, r->nargs, cmp);
		if (rc < 0)
			return myr_error_set(err, rc, "seccomp: cannot add the "
					     "rule for '%s': %s", r->syscall,
					     strerror(-rc));
	}
	return 0;
}

/*
 * The pid the filter's rules name as the program's own.  The callers are
 * single-threaded (myr_sandbox_apply()'s contract), so the calling thread
 * is the main one and its tid is the pid: musl keeps the tid in the thread
 * descriptor (set at start-up and by fork()), so gettid() reads it without
 * the syscall that getpid() always makes.  glibc's gettid() is a syscall.
 */
static pid_t own_pid(void)
{
#ifdef __GLIBC__
	return getpid();
#else
	return gettid();
#endif
}

static int build(uint32_t caps, enum myr_sandbox_mode mode, uint64_t self,
		 scmp_filter_ctx *out, struct myr_error *err)
{
	uint32_t deny;
	scmp_filter_ctx ctx;
	int rc;

	if (mode == MYR_SANDBOX_DEFAULT)
		deny = SCMP_ACT_ERRNO(EPERM);
	else if (mode == MYR_SANDBOX_STRICT)
		deny = SCMP_ACT_KILL_PROCESS;
	else
		return myr_error_set(err, -EINVAL, "sandbox mode %d has no "
				     "filter", (int)mode);
	rc = myr_caps_check(caps, err);
	if (rc < 0)
		return rc;

	ctx = seccomp_init(deny);
	if (!ctx)
		return myr_error_set(err, -ENOMEM, "seccomp: cannot create a "
				     "filter");
	/*
	 * A syscall from another ABI (i386 via int 0x80, x32 numbers with
	 * __X32_SYSCALL_BIT) would be judged by numbers that mean something
	 * else there: never a legitimate path for a module, so it ends the
	 * process whatever the mode.  libseccomp routes x32 numbers on an
	 * x86_64 filter to this action too.
	 */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* Real errnos from libseccomp, and a binary search over syscall
	 * numbers instead of a linear scan: the filter runs on every call. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc < 0) {
		seccomp_release(ctx);
		return myr_error_set(err, rc, "seccomp: cannot set filter "
				     "attributes: %s", strerror(-rc));
	}

	for (size_t i = 0; i < NRULES; i++) {
		if (!myr_sandbox_rule_applies(&rules[i], caps))
			continue;
		rc = add_rule(ctx, &rules[i], self, err);
		if (rc < 0) {
			seccomp_release(ctx);
			return rc;
		}
	}
	*out = ctx;
	return 0;
}

int myr_sandbox_build(uint32_t caps, enum myr_sandbox_mode mode,
		      void **filter, struct myr_error *err)
{
	int saved_errno = errno;
	scmp_filter_ctx ctx = NULL;
	int rc = build(caps, mode, (uint64_t)own_pid(), &ctx, err);

	if (rc == 0)
		*filter = ctx;
	errno = saved_errno;
	return rc;
}

void myr_sandbox_release(void *filter)
{
	int saved_errno = errno;

	if (filter)
		seccomp_release(filter);
	errno = saved_errno;
}

static int export_for_pid(uint32_t caps, enum myr_sandbox_mode mode,
			  uint64_t self, int fd, struct myr_error *err)
{
	scmp_filter_ctx ctx;
	int rc = build(caps, mode, self, &ctx, err);

	if (rc == 0) {
		rc = seccomp_export_bpf(ctx, fd);
		if (rc < 0)
			myr_error_set(err, rc, "cannot write the BPF program: "
				      "%s", strerror(-rc));
		seccomp_release(ctx);
	}
	return rc;
}

int myr_sandbox_export_bpf(uint32_t caps, enum myr_sandbox_mode mode, int fd,
			   struct myr_error *err)
{
	int saved_errno = errno;
	int rc = export_for_pid(caps, mode, (uint64_t)own_pid(), fd, err);

	errno = saved_errno;
	return rc;
}

/* The classic BPF program libseccomp makes for caps and mode with self as
 * the program's pid, in a malloc()ed buffer. */
static int bpf_for_pid(uint32_t caps, enum myr_sandbox_mode mode,
		       uint64_t self, void **prog, size_t *len,
		       struct myr_error *err)
{
	int saved_errno = errno;
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, rc;

	fd = memfd_create("myriad-bpf", MFD_CLOEXEC);
	if (fd < 0) {
		rc = myr_error_set(err, -errno, "memfd_create: %s",
				   strerror(errno));
		goto out;
	}
	rc = export_for_pid(caps, mode, self, fd, err);
	if (rc < 0)
		goto out;
	if (fstat(fd, &st) < 0) {
		rc = myr_error_set(err, -errno, "fstat: %s", strerror(errno));
		goto out;
	}
	/* A sock_filter is 8 bytes; BPF_MAXINSNS is 4096. */
	if (st.st_size <= 0 || st.st_size % 8 || st.st_size > 4096 * 8) {
		rc = myr_error_set(err, -EPROTO, "the BPF program has an odd "
				   "size (%lld bytes)", (long long)st.st_size);
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		rc = myr_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got,
				  (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = myr_error_set(err, n < 0 ? -errno : -EIO,
					   "cannot read the BPF program back");
			goto out;
		}
		got += (size_t)n;
	}
	*prog = buf;
	*len = got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	errno = saved_errno;
	return rc;
}

int myr_sandbox_bpf(uint32_t caps, enum myr_sandbox_mode mode, void **prog,
		    size_t *len, struct myr_error *err)
{
	return bpf_for_pid(caps, mode, (uint64_t)own_pid(), prog, len, err);
}

/* ---- the filters generated at build time --------------------------------- */

/*
 * build.sh runs lib/sandbox/gen_bpf.c, which builds the filter for every
 * (caps, mode) with the table above and libseccomp, exactly as build()
 * does, and writes the programs to sandbox_bpf.h with the places that hold
 * the pid.  A launch then copies one program and writes its pid in: no
 * libseccomp at run time (its filter build took 160 to 380 us and dozens
 * of allocations).  tests/unit/test_sandbox_prebuilt.c checks that every
 * program equals what libseccomp builds at run time.  Without the header
 * (a build of lib/ outside build.sh), filters are built at run time.
 */
#if !defined(MYR_SANDBOX_GENERATOR) && defined(__has_include)
#if __has_include("sandbox_bpf.h")
#define HAVE_PREBUILT 1
#endif
#endif

#ifdef HAVE_PREBUILT
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

struct prebuilt_bpf {
	uint32_t off, len;          /* into prebuilt_insns */
	uint32_t pid_off, npid;     /* into prebuilt_pid_at: instructions
	                               whose k is the pid */
};

/*
 * The 64 programs are 115 KiB that a launch reads one program of: in a
 * section of their own, the launcher's linker script (launcher/startup.ld)
 * puts them after the read-only data every launch reads, so that data fits
 * in one fault-around window instead of three.
 */
#define PREBUILT_SECTION __attribute__((section(".rodata.myr_prebuilt")))

#include "sandbox_bpf.h"

static_assert(MYR_CAP_KNOWN + 1 == PREBUILT_CAP_SETS,
	      "sandbox_bpf.h has a program for every capability set");

/* The program for caps and mode, usable with pid as the program's pid. */
static int prebuilt_find(uint32_t caps, enum myr_sandbox_mode mode,
			 uint32_t pid, const struct prebuilt_bpf **out,
			 struct myr_error *err)
{
	const struct prebuilt_bpf *p;
	int rc;

	if (mode != MYR_SANDBOX_DEFAULT && mode != MYR_SANDBOX_STRICT)
		return myr_error_set(err, -EINVAL, "sandbox mode %d has no "
				     "filter", (int)mode);
	rc = myr_caps_check(caps, err);
	if (rc < 0)
		return rc;
	p = &prebuilt_bpf[mode == MYR_SANDBOX_STRICT][caps];
	/* A pid equal to another constant of the program (pid 1 and
	 * AF_UNIX) lets libseccomp share blocks, so its program would differ
	 * from this one: such a filter is built at run time. */
	for (uint32_t i = 0; i < p->len; i++)
		if (prebuilt_insns[p->off + i].k == pid)
			return myr_error_set(err, -EAGAIN, "the pid %u is also a "
					     "constant of the filter", pid);
	*out = p;
	return 0;
}

/* p's program with pid written in, into out (p->len instructions). */
static void prebuilt_fill(const struct prebuilt_bpf *p, uint32_t pid,
			  struct sock_filter *out)
{
	memcpy(out, prebuilt_insns + p->off, p->len * sizeof(*out));
	for (uint32_t i = 0; i < p->npid; i++)
		out[prebuilt_pid_at[p->pid_off + i]].k = pid;
}

int myr_sandbox_prebuilt_bpf(uint32_t caps, enum myr_sandbox_mode mode,
			     void **prog, size_t *len, struct myr_error *err)
{
	int saved_errno = errno;
	uint32_t pid = (uint32_t)own_pid();
	const struct prebuilt_bpf *p;
	struct sock_filter *buf;
	int rc = prebuilt_find(caps, mode, pid, &p, err);

	if (rc == 0) {
		buf = malloc(p->len * sizeof(*buf));
		if (!buf) {
			rc = myr_error_set(err, -ENOMEM, "out of memory");
		} else {
			prebuilt_fill(p, pid, buf);
			*prog = buf;
			*len = p->len * sizeof(*buf);
		}
	}
	errno = saved_errno;
	return rc;
}

#else
int myr_sandbox_prebuilt_bpf(uint32_t caps, enum myr_sandbox_mode mode,
			     void **prog, size_t *len, struct myr_error *err)
{
	(void)caps, (void)mode, (void)prog, (void)len;
	return myr_error_set(err, -ENOSYS, "built without sandbox_bpf.h: "
			     "filters are built at run time");
}
#endif

/* ---- applying ------------------------------------------------------------ */

/* Set once myr_sandbox_clear_read_implies_exec() has cleared it: the
 * caller promised that nothing sets it again before the filter is in. */
static int read_implies_exec_cleared;

int myr_sandbox_clear_read_implies_exec(struct myr_error *err)
{
	int saved_errno = errno;
	int rc = 0;
	/*
	 * With READ_IMPLIES_EXEC (inherited from `setarch -X`, say) the
	 * kernel adds PROT_EXEC to a readable mapping after the filter has
	 * seen the arguments: clear it while personality() is still allowed.
	 */
	int persona = personality(0xffffffff);
	if (persona >= 0 && (persona & READ_IMPLIES_EXEC) &&
	    personality((unsigned long)persona & ~(unsigned long)READ_IMPLIES_EXEC) < 0)
		rc = myr_error_set(err, -errno, "cannot clear "
				   "READ_IMPLIES_EXEC: %s", strerror(errno));
	else
		read_implies_exec_cleared = 1;
	errno = saved_errno;
	return rc;
}

/* What the kernel requires of an unprivileged filter, and what the filter
 * assumes, before it is installed. */
static int prepare(struct myr_error *err)
{
	int rc = read_implies_exec_cleared ? 0 :
		myr_sandbox_clear_read_implies_exec(err);

	if (rc < 0)
		return rc;
	/* The kernel requires it of unprivileged filters, and it keeps an
	 * execve (with spawn) from gaining privileges the filter forbids. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return myr_error_set(err, -errno, "cannot set no_new_privs: %s",
				     strerror(errno));
	/* Not dumpable: /proc/self/mem (and the rest of /proc/PID) then
	 * belongs to root, so a program that holds fs-write cannot open its
	 * own memory for writing and rewrite its read-only text unless it
	 * runs as root (docs/security.md: Landlock covers root).  prctl is
	 * denied once the filter is in, so the program cannot undo it. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return myr_error_set(err, -errno, "cannot clear the dumpable "
				     "flag: %s", strerror(errno));
	return 0;
}

#ifdef HAVE_PREBUILT
/*
 * Installs p's program.  Its copy is as long as the program (95
 * instructions without capabilities), not PREBUILT_INSNS_MAX (358), and
 * lives in this function's frame only: the stack a launch reaches decides
 * how many of its pages fault in.
 */
__attribute__((noinline))
static int prebuilt_install(const struct prebuilt_bpf *p, uint32_t pid,
			    struct myr_error *err)
{
	struct sock_filter insns[p->len];
	struct sock_fprog fprog = { .len = (unsigned short)p->len,
				    .filter = insns };
	int rc = prepare(err);

	if (rc < 0)
		return rc;
	prebuilt_fill(p, pid, insns);
	/* The flags libseccomp's seccomp_load() passes: none; prctl before
	 * seccomp(2) (3.17), as it does too. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0 &&
	    (errno != ENOSYS ||
	     prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) < 0))
		return myr_error_set(err, -errno, "cannot install the seccomp "
				     "filter: %s", strerror(errno));
	return 0;
}
#endif

int myr_sandbox_apply(uint32_t caps, enum myr_sandbox_mode mode,
		      struct myr_error *err)
{
	int saved_errno = errno;
	int rc;

	if (mode == MYR_SANDBOX_OFF)
		return 0;
#ifdef HAVE_PREBUILT
	const struct prebuilt_bpf *p;
	uint32_t pid = (uint32_t)own_pid();

	rc = prebuilt_find(caps, mode, pid, &p, err);
	if (rc != -EAGAIN) {
		if (rc == 0)
			rc = prebuilt_install(p, pid, err);
		goto out;
	}
#endif
	scmp_filter_ctx ctx;

	rc = build(caps, mode, (uint64_t)own_pid(), &ctx, err);
	if (rc < 0)
		goto out;
	rc = prepare(err);
	if (rc == 0) {
		rc = seccomp_load(ctx);
		if (rc < 0)
			myr_error_set(err, rc, "cannot install the seccomp "
				      "filter: %s", strerror(-rc));
	}
	seccomp_release(ctx);
out:
	errno = saved_errno;
	return rc;
}
