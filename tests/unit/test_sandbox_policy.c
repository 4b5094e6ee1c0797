/* SPDX-License-Identifier: MIT */
/*
 * The filter, judged offline: the BPF program for every capability set and
 * both modes is run through tests/unit/bpf_interp.h against a table of
 * (architecture, syscall number, arguments, expected verdict) written here
 * from docs/security.md, independently of lib/sandbox/sandbox.c's rule table.
 * Then every syscall number the table does not mention must be denied,
 * whatever the capabilities: each capability allows what it documents and
 * nothing more.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <asm/prctl.h>
#include <myriad/format.h>
#include <myriad/sandbox.h>
#include "harness.h"
#include "bpf_interp.h"

#ifndef __x86_64__
#error "the expected table is written for x86_64 syscall numbers"
#endif

#define R MYR_CAP_FS_READ
#define W MYR_CAP_FS_WRITE
#define N MYR_CAP_NET
#define S MYR_CAP_SPAWN
#define T MYR_CAP_THREADS

#define RET_ALLOW   SECCOMP_RET_ALLOW
#define RET_EPERM   (SECCOMP_RET_ERRNO | EPERM)
#define RET_ENOSYS  (SECCOMP_RET_ERRNO | ENOSYS)
#define RET_KILL    SECCOMP_RET_KILL_PROCESS

#define SELF_PID    (~0ull - 1)   /* replaced by getpid() when checking */
#define OTHER_PID   1ull
#define NS_FLAGS    (CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

enum outcome {
	ALLOW,      /* allowed when all of `all` and one of `any` are held */
	ENOSYS_,    /* ENOSYS when ..., denied otherwise */
	NEVER,      /* denied whatever the capabilities */
	KILL,       /* the process is killed in every mode (foreign ABI) */
};

struct row {
	const char *what;
	uint32_t arch;
	int nr;
	uint64_t args[6];
	enum outcome outcome;
	uint32_t all, any;
};

#define X86 AUDIT_ARCH_X86_64
#define ROW_(what, nr, out, all_, any_, ...) \
	{ what, X86, nr, { __VA_ARGS__ }, out, all_, any_ }
/* Each wrapper stringifies its own argument, before SYS_x expands. */
#define ROW(nr, out, all_, any_, ...) \
	ROW_(#nr "(" #__VA_ARGS__ ")", nr, out, all_, any_, __VA_ARGS__)
#define BASE(nr, ...)     ROW_(#nr "(" #__VA_ARGS__ ")", nr, ALLOW, 0, 0, __VA_ARGS__)
#define NEEDS(c, nr, ...) ROW_(#nr "(" #__VA_ARGS__ ")", nr, ALLOW, c, 0, __VA_ARGS__)
#define ONE_OF(c, nr, ...) ROW_(#nr "(" #__VA_ARGS__ ")", nr, ALLOW, 0, c, __VA_ARGS__)
#define DENIED(nr, ...)   ROW_(#nr "(" #__VA_ARGS__ ")", nr, NEVER, 0, 0, __VA_ARGS__)

static const struct row rows[] = {
	/* The default policy: stdio, malloc, time, signals, exit. */
	BASE(SYS_read, 0), BASE(SYS_write, 1), BASE(SYS_readv, 0),
	BASE(SYS_writev, 1), BASE(SYS_pread64, 3), BASE(SYS_pwrite64, 3),
	BASE(SYS_preadv, 3), BASE(SYS_pwritev, 3), BASE(SYS_preadv2, 3),
	BASE(SYS_pwritev2, 3), BASE(SYS_close, 3), BASE(SYS_fstat, 1),
	BASE(SYS_lseek, 3),
	BASE(SYS_fcntl, 3, F_GETFD), BASE(SYS_fcntl, 3, F_SETFD, FD_CLOEXEC),
	BASE(SYS_fcntl, 3, F_GETFL), BASE(SYS_fcntl, 3, F_SETFL, O_NONBLOCK),
	/* Record locks: with fs-read or fs-write. */
	ONE_OF(R | W, SYS_fcntl, 3, F_SETLK, 0x1000),
	ONE_OF(R | W, SYS_fcntl, 3, F_SETLKW, 0x1000),
	ONE_OF(R | W, SYS_fcntl, 3, F_GETLK, 0x1000),
	ONE_OF(R | W, SYS_fcntl, 3, F_OFD_SETLK, 0x1000),
	ONE_OF(R | W, SYS_fcntl, 3, F_OFD_SETLKW, 0x1000),
	ONE_OF(R | W, SYS_fcntl, 3, F_OFD_GETLK, 0x1000),
	DENIED(SYS_fcntl, 3, F_SETLK | (1ull << 32), 0x1000),
	DENIED(SYS_fcntl, 3, F_SETOWN, 1),
	DENIED(SYS_fcntl, 3, F_DUPFD),
	DENIED(SYS_fcntl, 3, F_SETOWN), DENIED(SYS_fcntl, 3, F_SETPIPE_SZ),
	BASE(SYS_ioctl, 1, TIOCGWINSZ),
	DENIED(SYS_ioctl, 0, TIOCSTI), DENIED(SYS_ioctl, 1, FIONREAD),
	DENIED(SYS_ioctl, 1, TIOCSWINSZ),
	/* Garbage above the 32-bit request must not pass as TIOCGWINSZ's
	 * twin: denying is the safe direction. */
	DENIED(SYS_ioctl, 1, (1ull << 32) | TIOCGWINSZ),
	BASE(SYS_exit, 0), BASE(SYS_exit_group, 0), BASE(SYS_restart_syscall, 0),
	BASE(SYS_brk, 0), BASE(SYS_munmap, 0x1000, 4096),
	BASE(SYS_mremap, 0x1000, 4096, 8192, 1), BASE(SYS_madvise, 0, 4096, 4),
	BASE(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0),
	BASE(SYS_mmap, 0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0),
	BASE(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, 3, 0),
	/* spawn with fs-read: a dynamic loader maps library text from files. */
	NEEDS(S | R, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, 3, 0),
	NEEDS(S | R, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED | MAP_DENYWRITE, 3, 0),
	DENIED(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, 3, 0),
	DENIED(SYS_mmap, 0, 4096, PROT_EXEC | (1ull << 40) | PROT_WRITE, MAP_PRIVATE, 3, 0),
	DENIED(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0),
	DENIED(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_ANONYMOUS | (1ull << 40), ~0ull, 0),
	DENIED(SYS_mmap, 0, 4096, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0),
	DENIED(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0),
	DENIED(SYS_mmap, 0, 4096, ~0ull, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0),
	BASE(SYS_mprotect, 0x1000, 4096, PROT_READ),
	BASE(SYS_mprotect, 0x1000, 4096, PROT_READ | PROT_WRITE),
	DENIED(SYS_mprotect, 0x1000, 4096, PROT_READ | PROT_EXEC),
	DENIED(SYS_mprotect, 0x1000, 4096, PROT_EXEC | (1ull << 40)),
	DENIED(SYS_pkey_mprotect, 0x1000, 4096, PROT_READ, 0),
	BASE(SYS_clock_gettime, 1), BASE(SYS_clock_getres, 1),
	BASE(SYS_gettimeofday, 0), BASE(SYS_time, 0), BASE(SYS_nanosleep, 0),
	BASE(SYS_clock_nanosleep, 1), BASE(SYS_getrusage, 0), BASE(SYS_rt_sigaction, SIGINT),
	BASE(SYS_rt_sigprocmask, 0), BASE(SYS_rt_sigreturn, 0),
	BASE(SYS_sigaltstack, 0), BASE(SYS_futex, 0, 0),
	BASE(SYS_getpid, 0), BASE(SYS_gettid, 0), BASE(SYS_getrandom, 0, 16),
	BASE(SYS_getuid), BASE(SYS_geteuid), BASE(SYS_getgid), BASE(SYS_getegid),
	BASE(SYS_sched_yield, 0),
	/* raise() and abort() signal the process itself... */
	BASE(SYS_tkill, SELF_PID, SIGABRT),
	BASE(SYS_tgkill, SELF_PID, SELF_PID, SIGABRT),
	/* ...but other processes only with spawn, other threads with threads. */
	NEEDS(S, SYS_tkill, OTHER_PID, SIGKILL),
	ONE_OF(S | T, SYS_tgkill, SELF_PID, OTHER_PID, SIGUSR1),
	NEEDS(S, SYS_tgkill, OTHER_PID, OTHER_PID, SIGKILL),

	/* fs-read */
	NEEDS(R, SYS_open, 0, O_RDONLY),
	NEEDS(R, SYS_open, 0, O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW),
	NEEDS(R, SYS_open, 0, O_PATH),
	NEEDS(R, SYS_openat, AT_FDCWD, 0, O_RDONLY | O_CLOEXEC),
	NEEDS(R, SYS_openat, AT_FDCWD, 0, O_RDONLY | O_NONBLOCK | O_NOCTTY),
	/* The kernel reads flags as an int: upper garbage changes nothing. */
	NEEDS(R, SYS_openat, AT_FDCWD, 0, (1ull << 35) | O_RDONLY),
	NEEDS(R, SYS_stat, 0, 0), NEEDS(R, SYS_lstat, 0, 0),
	NEEDS(R, SYS_newfstatat, AT_FDCWD, 0, 0, 0), NEEDS(R, SYS_statx, 0),
	NEEDS(R, SYS_statfs, 0), NEEDS(R, SYS_fstatfs, 0),
	NEEDS(R, SYS_getdents64, 3), NEEDS(R, SYS_getdents, 3),
	NEEDS(R, SYS_readlink, 0), NEEDS(R, SYS_readlinkat, 0),
	NEEDS(R, SYS_access, 0), NEEDS(R, SYS_faccessat, 0),
	NEEDS(R, SYS_faccessat2, 0), NEEDS(R, SYS_getcwd, 0),
	NEEDS(R, SYS_chdir, 0), NEEDS(R, SYS_fchdir, 3),

	/* fs-write; O_RDWR, and creating or truncating a file opened for
	 * reading, need both. */
	NEEDS(W, SYS_open, 0, O_WRONLY),
	NEEDS(R | W, SYS_open, 0, O_WRONLY | O_PATH), /* not fs-write alone */
	NEEDS(R | W, SYS_openat, AT_FDCWD, 0, O_WRONLY | O_PATH),
	NEEDS(W, SYS_open, 0, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND),
	NEEDS(W, SYS_openat, AT_FDCWD, 0, O_WRONLY | O_CREAT | O_EXCL),
	NEEDS(W, SYS_openat, AT_FDCWD, 0, O_WRONLY | O_TMPFILE),
	NEEDS(R | W, SYS_openat, AT_FDCWD, 0, O_RDWR),
	NEEDS(R | W, SYS_open, 0, O_RDWR | O_CREAT),
	NEEDS(R | W, SYS_openat, AT_FDCWD, 0, O_RDONLY | O_CREAT),
	NEEDS(R | W, SYS_openat, AT_FDCWD, 0, O_RDONLY | O_TRUNC),
	NEEDS(R | W, SYS_open, 0, O_RDONLY | O_CREAT),
	NEEDS(R | W, SYS_open, 0, O_RDONLY | O_TRUNC),
	NEEDS(R | W, SYS_openat, AT_FDCWD, 0, O_RDWR | O_TMPFILE),
	NEEDS(R | W, SYS_openat, AT_FDCWD, 0, 3 /* no access mode */),
	ROW(SYS_openat2, ENOSYS_, 0, R | W, AT_FDCWD, 0, 0, 24),
	NEEDS(W, SYS_creat, 0, 0644), NEEDS(W, SYS_unlink, 0),
	NEEDS(W, SYS_unlinkat, AT_FDCWD, 0, 0), NEEDS(W, SYS_rename, 0, 0),
	NEEDS(W, SYS_renameat, 0), NEEDS(W, SYS_renameat2, 0),
	NEEDS(W, SYS_mkdir, 0), NEEDS(W, SYS_mkdirat, 0), NEEDS(W, SYS_rmdir, 0),
	NEEDS(W, SYS_truncate, 0), NEEDS(W, SYS_ftruncate, 3),
	NEEDS(W, SYS_fsync, 3), NEEDS(W, SYS_fdatasync, 3),
	NEEDS(W, SYS_fallocate, 3), NEEDS(W, SYS_chmod, 0),
	NEEDS(W, SYS_fchmod, 3), NEEDS(W, SYS_fchmodat, 0),
	NEEDS(W, SYS_symlink, 0), NEEDS(W, SYS_symlinkat, 0),
	NEEDS(W, SYS_link, 0), NEEDS(W, SYS_linkat, 0),
	NEEDS(W, SYS_utimensat, 0),
	DENIED(SYS_mknod, 0), DENIED(SYS_chown, 0), DENIED(SYS_fchown, 3),

	/* net */
	NEEDS(N, SYS_socket, AF_INET, SOCK_STREAM, 0),
	NEEDS(N, SYS_socket, AF_INET6, SOCK_DGRAM, 0),
	NEEDS(N, SYS_socket, AF_UNIX, SOCK_STREAM, 0),
	NEEDS(N, SYS_socket, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
	NEEDS(N, SYS_socket, AF_UNIX, SOCK_SEQPACKET, 0),
	DENIED(SYS_socket, AF_INET, SOCK_RAW, 1),
	DENIED(SYS_socket, AF_INET6, SOCK_RAW, 58),
	DENIED(SYS_socket, AF_INET, SOCK_RAW | SOCK_CLOEXEC, 1),
	DENIED(SYS_socket, AF_INET, SOCK_PACKET, 0),
	DENIED(SYS_socket, AF_NETLINK, SOCK_RAW, 0),
	DENIED(SYS_socket, AF_PACKET, SOCK_RAW, 0),
	DENIED(SYS_socket, (1ull << 32) | AF_INET, SOCK_STREAM, 0),
	NEEDS(N, SYS_socketpair, AF_UNIX, SOCK_STREAM, 0),
	DENIED(SYS_socketpair, AF_INET, SOCK_STREAM, 0),
	NEEDS(N, SYS_connect, 3), NEEDS(N, SYS_bind, 3), NEEDS(N, SYS_listen, 3),
	NEEDS(N, SYS_accept, 3), NEEDS(N, SYS_accept4, 3),
	NEEDS(N, SYS_sendto, 3), NEEDS(N, SYS_sendmsg, 3),
	NEEDS(N, SYS_sendmmsg, 3), NEEDS(N, SYS_recvfrom, 3),
	NEEDS(N, SYS_recvmsg, 3), NEEDS(N, SYS_recvmmsg, 3),
	NEEDS(N, SYS_getsockopt, 3), NEEDS(N, SYS_setsockopt, 3),
	NEEDS(N, SYS_getsockname, 3), NEEDS(N, SYS_getpeername, 3),
	NEEDS(N, SYS_shutdown, 3), NEEDS(N, SYS_poll, 0), NEEDS(N, SYS_ppoll, 0),
	NEEDS(N, SYS_select, 0), NEEDS(N, SYS_pselect6, 0),
	NEEDS(N, SYS_epoll_create, 1), NEEDS(N, SYS_epoll_create1, 0),
	NEEDS(N, SYS_epoll_ctl, 3), NEEDS(N, SYS_epoll_wait, 3),
	NEEDS(N, SYS_epoll_pwait, 3), NEEDS(N, SYS_epoll_pwait2, 3),

	/* spawn */
	NEEDS(S, SYS_fork, 0), NEEDS(S, SYS_vfork, 0),
	NEEDS(S, SYS_clone, SIGCHLD),
	NEEDS(S, SYS_clone, CLONE_VM | CLONE_VFORK | SIGCHLD),
	DENIED(SYS_clone, CLONE_NEWUSER | SIGCHLD),
	DENIED(SYS_clone, CLONE_NEWNET | CLONE_NEWNS | SIGCHLD),
	DENIED(SYS_clone, CLONE_NEWPID | SIGCHLD),
	NEEDS(S, SYS_execve, 0), NEEDS(S, SYS_execveat, 0),
	NEEDS(S, SYS_wait4, ~0ull), NEEDS(S, SYS_waitid, 0),
	NEEDS(S, SYS_kill, 1234, SIGTERM), NEEDS(S, SYS_kill, 1, SIGTERM),
	NEEDS(S, SYS_kill, 0x7fffffffull, SIGTERM),
	DENIED(SYS_kill, 0, SIGTERM),               /* its own process group */
	DENIED(SYS_kill, 0x80000000ull, SIGTERM),   /* INT_MIN: a group */
	DENIED(SYS_kill, (1ull << 32) | 1234, SIGTERM), /* garbage above */
	DENIED(SYS_kill, 1ull << 32, SIGTERM),      /* 0 as the kernel reads it */
	DENIED(SYS_kill, ~0ull, SIGKILL),           /* -1: every process */
	DENIED(SYS_kill, 0xffffffffull, SIGKILL),   /* -1 as the kernel reads it */
	DENIED(SYS_kill, (uint64_t)-42, SIGKILL),   /* a process group */
	NEEDS(S, SYS_getppid, 0), NEEDS(S, SYS_pipe, 0), NEEDS(S, SYS_pipe2, 0),
	NEEDS(S, SYS_dup, 1), NEEDS(S, SYS_dup2, 1, 5), NEEDS(S, SYS_dup3, 1, 5),
	NEEDS(S, SYS_arch_prctl, ARCH_SET_FS, 0),
	DENIED(SYS_arch_prctl, ARCH_SET_GS, 0),
	ONE_OF(S | T, SYS_set_tid_address, 0),
	ROW(SYS_clone3, ENOSYS_, 0, S | T, 0, 88),

	/* threads */
	NEEDS(T, SYS_clone, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
	      CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
	      CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED),
	DENIED(SYS_clone, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_NEWNET),
	NEEDS(T, SYS_set_robust_list, 0, 24),

	/* Never, whatever the capabilities. */
	DENIED(SYS_io_uring_setup, 8, 0), DENIED(SYS_io_uring_enter, 3),
	DENIED(SYS_io_uring_register, 3), DENIED(SYS_ptrace, 0),
	DENIED(SYS_bpf, 0), DENIED(SYS_process_vm_readv, 1),
	DENIED(SYS_process_vm_writev, 1), DENIED(SYS_keyctl, 0),
	DENIED(SYS_add_key, 0), DENIED(SYS_request_key, 0), DENIED(SYS_mount, 0),
	DENIED(SYS_umount2, 0), DENIED(SYS_pivot_root, 0),
	DENIED(SYS_move_mount, 0), DENIED(SYS_fsopen, 0), DENIED(SYS_fsmount, 0),
	DENIED(SYS_open_tree, 0), DENIED(SYS_kexec_load, 0),
	DENIED(SYS_kexec_file_load, 0), DENIED(SYS_init_module, 0),
	DENIED(SYS_finit_module, 0), DENIED(SYS_delete_module, 0),
	DENIED(SYS_perf_event_open, 0), DENIED(SYS_userfaultfd, 0),
	DENIED(SYS_personality, 0xffffffff), DENIED(SYS_seccomp, 0),
	DENIED(SYS_prctl, PR_SET_NO_NEW_PRIVS), DENIED(SYS_unshare, 0),
	DENIED(SYS_setns, 0), DENIED(SYS_reboot, 0), DENIED(SYS_swapon, 0),
	DENIED(SYS_swapoff, 0), DENIED(SYS_acct, 0), DENIED(SYS_quotactl, 0),
	DENIED(SYS_chroot, 0), DENIED(SYS_kcmp, 0), DENIED(SYS_pidfd_getfd, 0),
	DENIED(SYS_modify_ldt, 0), DENIED(SYS_iopl, 3),
	DENIED(SYS_memfd_create, 0), DENIED(SYS_uname, 0),
	DENIED(SYS_setuid, 0), DENIED(SYS_close_range, 3, ~0u, 0),
	DENIED(-1),
	DENIED(1000),

	/* Foreign ABIs: x32 numbers (also for syscalls x86_64 allows) and
	 * i386 through int 0x80. */
	{ "x32 read", X86, __X32_SYSCALL_BIT | SYS_read, { 0 }, KILL, 0, 0 },
	{ "x32 write", X86, __X32_SYSCALL_BIT | SYS_write, { 1 }, KILL, 0, 0 },
	{ "x32 rt_sigaction", X86, __X32_SYSCALL_BIT | 512, { 0 }, KILL, 0, 0 },
	{ "x32 execve", X86, __X32_SYSCALL_BIT | 520, { 0 }, KILL, 0, 0 },
	{ "i386 read", AUDIT_ARCH_I386, 3, { 0 }, KILL, 0, 0 },
	{ "i386 io_uring_setup", AUDIT_ARCH_I386, 425, { 0 }, KILL, 0, 0 },
	{ "aarch64 read", AUDIT_ARCH_AARCH64, 63, { 0 }, KILL, 0, 0 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static uint32_t deny_of(enum myr_sandbox_mode mode)
{
	return mode == MYR_SANDBOX_STRICT ? RET_KILL : RET_EPERM;
}

static uint32_t expected(const struct row *r, uint32_t caps,
			 enum myr_sandbox_mode mode)
{
	int held = (caps & r->all) == r->all && (!r->any || (caps & r->any));

	switch (r->outcome) {
	case ALLOW:   return held ? RET_ALLOW : deny_of(mode);
	case ENOSYS_: return held ? RET_ENOSYS : deny_of(mode);
	case NEVER:   return deny_of(mode);
	case KILL:    return RET_KILL;
	}
	return 0;
}

struct program {
	struct sock_filter *insns;
	size_t n;
};

static struct program build(uint32_t caps, enum myr_sandbox_mode mode)
{
	struct myr_error err = { 0 };
	struct program p = { 0 };
	void *buf = NULL;
	size_t len = 0;
	int rc = myr_sandbox_bpf(caps, mode, &buf, &len, &err);

	if (rc != 0)
		TH_LOG("caps 0x%x mode %d: %s", caps, mode, err.msg);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(len % sizeof(struct sock_filter), 0u);
	p.insns = buf;
	p.n = len / sizeof(struct sock_filter);
	return p;
}

static uint32_t judge(const struct program *p, uint32_t arch, int nr,
		      const uint64_t args[6])
{
	struct seccomp_data d = { .nr = nr, .arch = arch,
				  .instruction_pointer = 0x401000 };
	struct bpf_fault fault = { 0 };
	uint32_t ret = 0;

	for (int i = 0; i < 6; i++)
		d.args[i] = args[i] == SELF_PID ? (uint64_t)getpid() : args[i];
	if (bpf_run(p->insns, p->n, &d, &ret, &fault) != 0) {
		TH_LOG("BPF fault at instruction %zu: %s", fault.pc, fault.what);
		ASSERT_TRUE(0);
	}
	return ret;
}

static const char *cap_list(uint32_t caps, char *buf, size_t size)
{
	myr_caps_format(caps, buf, size);
	return buf;
}

/* Every row, for every one of the 32 capability sets, in both modes. */
TEST(each_row_for_every_cap_set)
{
	unsigned checked = 0;

	for (int m = MYR_SANDBOX_DEFAULT; m <= MYR_SANDBOX_STRICT; m++) {
		for (uint32_t caps = 0; caps <= MYR_CAP_KNOWN; caps++) {
			struct program p = build(caps, (enum myr_sandbox_mode)m);
			for (size_t i = 0; i < NROWS; i++) {
				uint32_t want = expected(&rows[i], caps, m);
				uint32_t got = judge(&p, rows[i].arch, rows[i].nr,
						     rows[i].args);
				char c[96];
				if (got != want)
					TH_LOG("%s with caps %s, mode %s: got "
					       "0x%08x, want 0x%08x", rows[i].what,
					       cap_list(caps, c, sizeof(c)),
					       myr_sandbox_mode_name(m), got, want);
				EXPECT_EQ(got, want);
				checked++;
			}
			free(p.insns);
		}
	}
	ASSERT_EQ(checked, 2u * 32u * NROWS);
}

/*
 * "No more": a syscall number the table above never allows must be denied
 * with every capability set, for all-zero and all-ones arguments alike.
 */
TEST(unlisted_syscalls_are_denied_with_all_caps)
{
	static bool listed[1024];
	const uint64_t zeros[6] = { 0 }, ones[6] = { ~0ull, ~0ull, ~0ull,
						     ~0ull, ~0ull, ~0ull };
	unsigned denied = 0;

	for (size_t i = 0; i < NROWS; i++)
		if (rows[i].arch == X86 && rows[i].nr >= 0 && rows[i].nr < 1024 &&
		    (rows[i].outcome == ALLOW || rows[i].outcome == ENOSYS_))
			listed[rows[i].nr] = true;
	for (int m = MYR_SANDBOX_DEFAULT; m <= MYR_SANDBOX_STRICT; m++) {
		struct program p = build(MYR_CAP_KNOWN, (enum myr_sandbox_mode)m);
		for (int nr = 0; nr < 1024; nr++) {
			if (listed[nr])
				continue;
			uint32_t a = judge(&p, X86, nr, zeros);
			uint32_t b = judge(&p, X86, nr, ones);
			if (a != deny_of(m) || b != deny_of(m))
				TH_LOG("syscall %d is let through (0x%08x, "
				       "0x%08x) though nothing documents it",
				       nr, a, b);
			EXPECT_EQ(a, deny_of(m));
			EXPECT_EQ(b, deny_of(m));
			denied++;
		}
		free(p.insns);
	}
	/* x86_64 has about 360 syscalls; most must be among the denied. */
	ASSERT_GT(denied, 2u * 800u);
}

/* The list `myriad policy` and the docs print as "never" is denied with
 * every capability, and no rule of the table names one of its syscalls. */
TEST(never_list_is_denied_with_all_caps)
{
	size_t count, nrules;
	const char *const *never = myr_sandbox_never(&count);
	const struct myr_sandbox_rule *rules = myr_sandbox_rules(&nrules);
	const uint64_t zeros[6] = { 0 };

	ASSERT_GT(count, 30u);
	for (int m = MYR_SANDBOX_DEFAULT; m <= MYR_SANDBOX_STRICT; m++) {
		struct program p = build(MYR_CAP_KNOWN, (enum myr_sandbox_mode)m);
		for (size_t i = 0; i < count; i++) {
			int nr = seccomp_syscall_resolve_name(never[i]);
			if (nr < 0)
				TH_LOG("'%s' is not an x86_64 syscall", never[i]);
			ASSERT_GE(nr, 0);
			if (judge(&p, X86, nr, zeros) != deny_of(m))
				TH_LOG("never-allowed '%s' is let through", never[i]);
			EXPECT_EQ(judge(&p, X86, nr, zeros), deny_of(m));
			for (size_t r = 0; r < nrules; r++)
				EXPECT_STRNE(rules[r].syscall, never[i]);
		}
		free(p.insns);
	}
}

TEST(unknown_cap_bits_and_off_mode_build_nothing)
{
	struct myr_error err = { 0 };
	void *buf = NULL;
	size_t len = 0;

	EXPECT_EQ(myr_sandbox_bpf(0x20, MYR_SANDBOX_DEFAULT, &buf, &len, &err),
		  -EINVAL);
	EXPECT_NONNULL(strstr(err.msg, "0x20"));
	EXPECT_EQ(myr_sandbox_bpf(0, MYR_SANDBOX_OFF, &buf, &len, &err), -EINVAL);
	EXPECT_EQ(myr_sandbox_bpf(0, (enum myr_sandbox_mode)7, &buf, &len, &err),
		  -EINVAL);
	EXPECT_NULL(buf);
}

TEST_HARNESS_MAIN
