/* SPDX-License-Identifier: MIT */
/*
 * The loader service's own sandbox (<myriad/sandbox.h>,
 * myr_sandbox_service_apply(); docs/service.md, "Sandbox").
 *
 * Two layers, both installed after the socket, the inotify watch and the
 * first generation exist:
 *   - Landlock: the file system is read-only and limited to the library
 *     directory (and the process's own /proc/PID/fdinfo, where the kernel
 *     says which process a pidfd is); no TCP at all where the kernel can
 *     say so, no abstract unix sockets, no signals to other processes.
 *   - seccomp: an allow-list of the syscalls the service makes; anything
 *     else kills it (SIGSYS), so a compromise cannot widen the list.  No
 *     socket(), no kill(), no exec, no mapping ever executable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <seccomp.h>
#include <myriad/sandbox.h>

/*
 * Two Landlock layers through the generic rules (lib/sandbox/landlock.c),
 * since a ruleset grants every access it handles beneath a rule's path:
 * one handles writing and grants it nowhere, the other handles reading
 * and grants it beneath dir and /proc/PID/fdinfo only.
 */
static int landlock(const char *dir, struct myr_error *err)
{
	struct myr_landlock ll;
	char fdinfo[64];
	int r;

	r = myr_landlock_init(&ll, MYR_LANDLOCK_WRITE, err);
	if (r == -ENOSYS || r == -EOPNOTSUPP) {
		myr_landlock_exit(&ll);
		return myr_error_set(err, -EOPNOTSUPP, "Landlock is not "
				     "available in this kernel");
	}
	if (r == 0)
		r = myr_landlock_enforce(&ll, err);
	else
		myr_landlock_exit(&ll);
	if (r < 0)
		return r;
	snprintf(fdinfo, sizeof(fdinfo), "/proc/%d/fdinfo", (int)getpid());
	r = myr_landlock_init(&ll, MYR_LANDLOCK_READ, err);
	if (r == 0)
		r = myr_landlock_allow(&ll, dir, err);
	if (r == 0)
		r = myr_landlock_allow(&ll, fdinfo, err);
	if (r == 0)
		return myr_landlock_enforce(&ll, err);
	myr_landlock_exit(&ll);
	return r;
}

/* What the service calls once it serves, and nothing else.  The loop:
 * epoll, accept4, recvmsg/sendmsg, the pidfd's PIDFD_GET_INFO or fdinfo; building a
 * generation: the directory's files (openat, getdents64, fstat, pread),
 * the pool's reservation (mmap, mprotect, munmap), the memfd (memfd_create,
 * pwrite, fcntl seals, ftruncate, futimens); a program copy's checks
 * (fstatfs, geteuid); musl's malloc and stdio. */
static const char *const allowed[] = {
	"accept4", "brk", "clock_gettime", "clock_nanosleep", "close",
	"epoll_ctl", "epoll_pwait", "epoll_wait", "exit", "exit_group",
	"fcntl", "fstat", "fstatfs", "ftruncate", "getdents64", "geteuid",
	"getpid", "getrandom",
	"getsockopt", "gettid", "lseek", "madvise", "memfd_create", "mremap",
	"munmap", "nanosleep", "newfstatat", "open", "openat", "pread64",
	"preadv2", "pwrite64", "read", "readv", "recvmsg", "rt_sigprocmask",
	"rt_sigreturn", "sendmsg", "statx", "utimensat", "write", "writev",
};

static int seccomp_filter(struct myr_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = 0;

	if (!ctx)
		return myr_error_set(err, -ENOMEM, "seccomp_init failed");
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && r == 0; i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;       /* not on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	/* Memory is never executable: W^X for the service itself. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* The request's pidfd, named in one call; its other ioctls are
	 * refused.  Compared on the low 32 bits: the kernel reads cmd as an
	 * unsigned int, and a C library may pass it sign-extended. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
					     MYR_SANDBOX_PIDFD_GET_INFO));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return myr_error_set(err, r, "seccomp: %s", strerror(-r));
	return 0;
}

int myr_sandbox_service_apply(const char *dir, struct myr_error *err)
{
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		int e = errno;
		return myr_error_set(err, -e, "no_new_privs: %s", strerror(e));
	}
	r = landlock(dir, err);
	if (r == 0)
		r = seccomp_filter(err);
	return r;
}
