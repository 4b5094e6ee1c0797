/* SPDX-License-Identifier: MIT */
/*
 * The filter, loaded: forbidden syscalls issued by a bare `syscall`
 * instruction fail with EPERM in the default mode and kill the process with
 * SIGSYS in strict mode, and what the policy allows still works.
 *
 * Default-mode checks run in a grandchild that applies the filter, checks,
 * and leaves with _exit(): the sanitizers' exit-time work (LeakSanitizer
 * stops the world with clone and ptrace) is exactly what the filter denies.
 * Strict-mode tests apply the filter in the test process itself, which the
 * harness expects to die of SIGSYS.
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <myriad/format.h>
#include <myriad/sandbox.h>
#include "harness.h"
#include "raw_syscall.h"

#define PTRACE_TRACEME_ 0
#define SECCOMP_MODE_FILTER_ 2

/*
 * A kernel without CONFIG_SECCOMP_FILTER cannot run these tests: installing
 * a NULL filter fails with EFAULT where filters exist, EINVAL where not.
 */
static bool have_seccomp(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 &&
	       prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER_, 0, 0, 0) < 0 &&
	       errno == EFAULT;
}

#define NEED_SECCOMP() do { if (!have_seccomp()) SKIP(return, \
	"seccomp filters unavailable in this kernel"); } while (0)

static void apply_or_die(uint32_t caps, enum myr_sandbox_mode mode)
{
	struct myr_error err = { 0 };
	int rc = myr_sandbox_apply(caps, mode, &err);

	if (rc != 0)
		TH_LOG("myr_sandbox_apply: %d %s", rc, err.msg);
	ASSERT_EQ(rc, 0);
}

/* Run fn under the filter in a grandchild; fail unless it ends cleanly. */
static void sandboxed(uint32_t caps, void (*fn)(void))
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		apply_or_die(caps, MYR_SANDBOX_DEFAULT);
		fn();
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status))
		TH_LOG("sandboxed child killed by signal %d", WTERMSIG(status));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

static long raw_io_uring_setup(void)
{
	static unsigned char params[120];  /* struct io_uring_params */
	return raw_syscall2(SYS_io_uring_setup, 8, params);
}

static long raw_execve_true(void)
{
	static char *const argv[] = { "true", NULL };
	return raw_syscall3(SYS_execve, "/bin/true", argv, NULL);
}

static long raw_open_for_writing(void)
{
	return raw_syscall3(SYS_openat, AT_FDCWD, "/tmp",
			    O_WRONLY | O_TMPFILE | O_CLOEXEC);
}

static long raw_mmap_exec(void)
{
	return raw_syscall6(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static long raw_mprotect_exec(void *page)
{
	return raw_syscall3(SYS_mprotect, page, 4096, PROT_READ | PROT_EXEC);
}

/* ---- default mode: EPERM ---------------------------------------------- */

static void forbidden_without_caps(void)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(page, MAP_FAILED);
	EXPECT_EQ(raw_io_uring_setup(), -EPERM);
	EXPECT_EQ(raw_syscall3(SYS_io_uring_enter, 0, 0, 0), -EPERM);
	EXPECT_EQ(raw_syscall3(SYS_io_uring_register, 0, 0, 0), -EPERM);
	EXPECT_EQ(raw_execve_true(), -EPERM);
	EXPECT_EQ(raw_open_for_writing(), -EPERM);
	EXPECT_EQ(raw_syscall3(SYS_openat, AT_FDCWD, "/proc/self/status",
			       O_RDONLY), -EPERM);
	EXPECT_EQ(raw_syscall3(SYS_socket, AF_INET, SOCK_STREAM, 0), -EPERM);
	EXPECT_EQ(raw_syscall3(SYS_socket, AF_UNIX, SOCK_STREAM, 0), -EPERM);
	EXPECT_EQ(raw_mmap_exec(), -EPERM);
	EXPECT_EQ(raw_mprotect_exec(page), -EPERM);
	EXPECT_EQ(raw_syscall0(SYS_fork), -EPERM);
	EXPECT_EQ(raw_syscall2(SYS_kill, 1, 0), -EPERM);
	EXPECT_EQ(raw_syscall3(SYS_ptrace, PTRACE_TRACEME_, 0, 0), -EPERM);
	EXPECT_EQ(raw_syscall3(SYS_ioctl, 0, TIOCSTI, "x"), -EPERM);
	EXPECT_EQ(raw_syscall1(SYS_unshare, CLONE_NEWUSER), -EPERM);
	EXPECT_EQ(raw_syscall2(SYS_prctl, PR_SET_NO_NEW_PRIVS, 0), -EPERM);
	/* The page is still read-write and not executable. */
	((volatile char *)page)[0] = 1;
}

TEST(forbidden_syscalls_fail_with_eperm)
{
	NEED_SECCOMP();
	sandboxed(0, forbidden_without_caps);
}

static void forbidden_with_every_cap(void)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(page, MAP_FAILED);
	EXPECT_EQ(raw_io_uring_setup(), -EPERM);
	EXPECT_EQ(raw_mmap_exec(), -EPERM);
	EXPECT_EQ(raw_mprotect_exec(page), -EPERM);
	EXPECT_EQ(raw_syscall3(SYS_ptrace, PTRACE_TRACEME_, 0, 0), -EPERM);
	EXPECT_EQ(raw_syscall3(SYS_socket, AF_NETLINK, SOCK_RAW, 0), -EPERM);
	EXPECT_EQ(raw_syscall1(SYS_unshare, CLONE_NEWUSER), -EPERM);
	/* clone3 carries its flags in memory: ENOSYS sends libc to clone. */
	EXPECT_EQ(raw_syscall2(SYS_clone3, NULL, 0), -ENOSYS);
}

TEST(never_allowed_even_with_every_cap)
{
	NEED_SECCOMP();
	sandboxed(MYR_CAP_KNOWN, forbidden_with_every_cap);
}

/* ---- what each capability lets through, live ----------------------------- */

static char tmpdir[64];

static void write_allowed(void)
{
	char path[128];
	long fd;

	/* Opening for reading still needs fs-read. */
	EXPECT_EQ(raw_syscall3(SYS_openat, AT_FDCWD, "/proc/self/status",
			       O_RDONLY), -EPERM);
	snprintf(path, sizeof(path), "%s/out", tmpdir);
	fd = raw_syscall3(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(raw_syscall3(SYS_write, fd, "ok\n", 3), 3);
	EXPECT_EQ(raw_syscall1(SYS_close, fd), 0);
	EXPECT_EQ(raw_syscall3(SYS_openat, AT_FDCWD, path, O_RDWR), -EPERM);
	EXPECT_EQ(raw_syscall1(SYS_unlink, path), 0);
}

TEST(fs_write_opens_for_writing_only)
{
	NEED_SECCOMP();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/myr-sandbox-XXXXXX");
	ASSERT_NONNULL(mkdtemp(tmpdir));
	sandboxed(MYR_CAP_FS_WRITE, write_allowed);
	EXPECT_EQ(rmdir(tmpdir), 0);
}

static void read_allowed(void)
{
	char buf[4096];
	long fd, n;

	fd = raw_syscall3(SYS_openat, AT_FDCWD, "/proc/self/status",
			  O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	n = raw_syscall3(SYS_read, fd, buf, sizeof(buf) - 1);
	ASSERT_GT(n, 0);
	buf[n] = '\0';
	/* Both layers the launcher relies on are in place. */
	EXPECT_NONNULL(strstr(buf, "NoNewPrivs:\t1"));
	EXPECT_NONNULL(strstr(buf, "Seccomp:\t2"));
	raw_syscall1(SYS_close, fd);
	EXPECT_EQ(raw_open_for_writing(), -EPERM);
	EXPECT_EQ(raw_syscall3(SYS_openat, AT_FDCWD, "/proc/self/status",
			       O_RDWR), -EPERM);
	EXPECT_EQ(raw_syscall3(SYS_openat, AT_FDCWD, "/tmp/myr-sandbox-never",
			       O_RDONLY | O_CREAT), -EPERM);
	EXPECT_EQ(raw_syscall2(SYS_getcwd, buf, sizeof(buf)) > 0, true);
}

TEST(fs_read_opens_for_reading_only)
{
	NEED_SECCOMP();
	sandboxed(MYR_CAP_FS_READ, read_allowed);
}

static void net_allowed(void)
{
	long fd = raw_syscall3(SYS_socket, AF_UNIX, SOCK_DGRAM, 0);
	int sv[2];

	ASSERT_GE(fd, 0);
	raw_syscall1(SYS_close, fd);
	EXPECT_EQ(raw_syscall3(SYS_socket, AF_NETLINK, SOCK_RAW, 0), -EPERM);
	ASSERT_EQ(raw_syscall6(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0,
			       (long)sv, 0, 0), 0);
	EXPECT_EQ(raw_syscall6(SYS_sendto, sv[0], (long)"hi", 2, 0, 0, 0), 2);
	/* Still no file system. */
	EXPECT_EQ(raw_syscall3(SYS_openat, AT_FDCWD, "/proc/self/status",
			       O_RDONLY), -EPERM);
}

TEST(net_allows_unix_and_inet_sockets)
{
	NEED_SECCOMP();
	sandboxed(MYR_CAP_NET, net_allowed);
}

static void spawn_allowed(void)
{
	int status = 0;
	long pid = raw_syscall0(SYS_fork);

	if (pid == 0)
		raw_syscall1(SYS_exit_group, 7);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(raw_syscall6(SYS_wait4, pid, (long)&status, 0, 0, 0, 0), pid);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 7);
	/* A thread is not a process. */
	EXPECT_EQ(raw_syscall6(SYS_clone, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD,
			       0, 0, 0, 0, 0), -EPERM);
}

TEST(spawn_allows_processes_not_threads)
{
	NEED_SECCOMP();
	sandboxed(MYR_CAP_SPAWN, spawn_allowed);
}

/* ---- the default policy keeps ordinary programs working ---------------- */

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

static void basics_work(void)
{
	struct timespec ts = { 0, 0 };
	unsigned char random[16];
	struct winsize ws;

	ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	EXPECT_GT(ts.tv_sec + ts.tv_nsec, 0);
	ASSERT_EQ(clock_gettime(CLOCK_REALTIME, &ts), 0);
	ASSERT_EQ(raw_syscall3(SYS_getrandom, random, sizeof(random), 0), 16);
	/* Big blocks come from mmap, small ones from brk or mmap. */
	for (size_t size = 16; size <= (64u << 20); size *= 4) {
		unsigned char *b = malloc(size);
		ASSERT_NONNULL(b);
		memset(b, 0xa5, size);
		b = realloc(b, size * 2);
		ASSERT_NONNULL(b);
		EXPECT_EQ(b[size - 1], 0xa5);
		free(b);
	}
	/* The TIOCGWINSZ probe reaches the kernel: ENOTTY, not EPERM. */
	EXPECT_EQ(raw_syscall3(SYS_ioctl, STDIN_FILENO, TIOCGWINSZ, &ws) == -EPERM,
		  false);
	ts.tv_sec = 0;
	ts.tv_nsec = 1000;
	EXPECT_EQ(nanosleep(&ts, NULL), 0);
	EXPECT_EQ(raw_syscall0(SYS_getpid), (long)getpid());
	EXPECT_EQ(raw_syscall0(SYS_sched_yield), 0);
	/* raise() signals the process itself. */
	ASSERT_EQ(signal(SIGUSR1, on_usr1) == SIG_ERR, false);
	ASSERT_EQ(raise(SIGUSR1), 0);
	EXPECT_EQ(got_usr1, 1);
	/* Only the process itself. */
	EXPECT_EQ(raw_syscall2(SYS_tkill, 1, 0), -EPERM);
}

TEST(default_policy_keeps_stdio_malloc_time_signals)
{
	NEED_SECCOMP();
	sandboxed(0, basics_work);
}

static int sandboxed_pipe[2];

static void write_to_inherited_fd(void)
{
	const char msg[] = "through the filter";
	EXPECT_EQ(write(sandboxed_pipe[1], msg, sizeof(msg)), (ssize_t)sizeof(msg));
	EXPECT_EQ(fprintf(stderr, "# stderr works under the filter\n") > 0, true);
	EXPECT_EQ(fflush(stderr), 0);
}

TEST(inherited_fds_stay_usable)
{
	char buf[64] = { 0 };

	NEED_SECCOMP();
	ASSERT_EQ(pipe(sandboxed_pipe), 0);
	sandboxed(0, write_to_inherited_fd);
	ASSERT_GT(read(sandboxed_pipe[0], buf, sizeof(buf) - 1), 0);
	EXPECT_STREQ(buf, "through the filter");
	close(sandboxed_pipe[0]);
	close(sandboxed_pipe[1]);
}

static void read_personality(void)
{
	char buf[64] = { 0 };
	long fd = raw_syscall3(SYS_openat, AT_FDCWD, "/proc/self/personality",
			       O_RDONLY);

	ASSERT_GE(fd, 0);
	ASSERT_GT(raw_syscall3(SYS_read, fd, buf, sizeof(buf) - 1), 0);
	EXPECT_EQ(strtoul(buf, NULL, 16) & READ_IMPLIES_EXEC, 0ul);
}

TEST(read_implies_exec_is_cleared)
{
	NEED_SECCOMP();
	if (personality(READ_IMPLIES_EXEC | (personality(0xffffffff) & ~0xffu)) < 0)
		SKIP(return, "cannot set READ_IMPLIES_EXEC: %s", strerror(errno));
	ASSERT_TRUE(personality(0xffffffff) & READ_IMPLIES_EXEC);
	sandboxed(MYR_CAP_FS_READ, read_personality);
}

/* What the launcher does before it maps anything: cleared at once, so that
 * myr_sandbox_apply() can skip it. */
TEST(read_implies_exec_cleared_early)
{
	struct myr_error err = { 0 };

	if (personality(READ_IMPLIES_EXEC | (personality(0xffffffff) & ~0xffu)) < 0)
		SKIP(return, "cannot set READ_IMPLIES_EXEC: %s", strerror(errno));
	ASSERT_EQ(myr_sandbox_clear_read_implies_exec(&err), 0);
	EXPECT_EQ(personality(0xffffffff) & READ_IMPLIES_EXEC, 0);
}

/* ---- strict mode: SIGSYS -------------------------------------------------- */

TEST_SIGNAL(strict_kills_io_uring_setup, SIGSYS)
{
	NEED_SECCOMP();
	apply_or_die(0, MYR_SANDBOX_STRICT);
	raw_io_uring_setup();
}

TEST_SIGNAL(strict_kills_execve_without_spawn, SIGSYS)
{
	NEED_SECCOMP();
	apply_or_die(MYR_CAP_FS_READ | MYR_CAP_NET | MYR_CAP_THREADS,
		     MYR_SANDBOX_STRICT);
	raw_execve_true();
}

TEST_SIGNAL(strict_kills_open_for_writing_without_fs_write, SIGSYS)
{
	NEED_SECCOMP();
	apply_or_die(MYR_CAP_FS_READ, MYR_SANDBOX_STRICT);
	raw_open_for_writing();
}

TEST_SIGNAL(strict_kills_socket_without_net, SIGSYS)
{
	NEED_SECCOMP();
	apply_or_die(MYR_CAP_FS_READ | MYR_CAP_FS_WRITE | MYR_CAP_SPAWN,
		     MYR_SANDBOX_STRICT);
	raw_syscall3(SYS_socket, AF_INET, SOCK_STREAM, 0);
}

TEST_SIGNAL(strict_kills_mmap_exec, SIGSYS)
{
	NEED_SECCOMP();
	apply_or_die(MYR_CAP_KNOWN, MYR_SANDBOX_STRICT);
	raw_mmap_exec();
}

TEST_SIGNAL(strict_kills_mprotect_exec, SIGSYS)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	NEED_SECCOMP();
	ASSERT_NE(page, MAP_FAILED);
	apply_or_die(MYR_CAP_KNOWN, MYR_SANDBOX_STRICT);
	raw_mprotect_exec(page);
}

/* An x32 number reaches a different table: killed, whatever the mode. */
TEST_SIGNAL(x32_syscall_kills_in_default_mode, SIGSYS)
{
	NEED_SECCOMP();
	apply_or_die(MYR_CAP_KNOWN, MYR_SANDBOX_DEFAULT);
	raw_syscall0(__X32_SYSCALL_BIT | SYS_getpid);
}

TEST_SIGNAL(strict_still_runs_allowed_syscalls, SIGSYS)
{
	struct timespec ts;

	NEED_SECCOMP();
	apply_or_die(0, MYR_SANDBOX_STRICT);
	/* These pass; the kill comes from the last line only. */
	if (raw_syscall2(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0 ||
	    raw_syscall3(SYS_write, STDERR_FILENO, "# strict: write ok\n", 19) != 19)
		raw_syscall1(SYS_exit_group, 3);
	raw_syscall0(SYS_getuid);
}

/* ---- off ------------------------------------------------------------------ */

TEST(off_installs_nothing)
{
	struct myr_error err = { 0 };

	ASSERT_EQ(myr_sandbox_apply(MYR_CAP_KNOWN, MYR_SANDBOX_OFF, &err), 0);
	EXPECT_EQ(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0);
}

TEST(apply_rejects_unknown_bits_before_loading_anything)
{
	struct myr_error err = { 0 };

	NEED_SECCOMP();
	ASSERT_EQ(myr_sandbox_apply(0x40, MYR_SANDBOX_DEFAULT, &err), -EINVAL);
	EXPECT_NONNULL(strstr(err.msg, "0x40"));
	EXPECT_EQ(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0);
	EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
}

TEST_HARNESS_MAIN
