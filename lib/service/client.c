/* SPDX-License-Identifier: MIT */
/*
 * The launcher's side of the loader service (<myriad/service.h>): ask,
 * wait a bounded time, check everything that comes back.  Any failure
 * returns -errno and the launcher falls back to the cache or the files,
 * so nothing here may hang, leak a descriptor or trust a byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <myriad/service.h>
#include "service/service_internal.h"

#ifndef F_GET_SEALS
#define F_ADD_SEALS     1033
#define F_GET_SEALS     1034
#define F_SEAL_SEAL     0x0001
#define F_SEAL_SHRINK   0x0002
#define F_SEAL_GROW     0x0004
#define F_SEAL_WRITE    0x0008
#endif
#define SEALS_NEEDED (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define FDS_MAX MYRI_SERVICE_FDS_MAX

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int myr_service_socket_check(const char *path, struct myr_error *err)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		int e = errno;
		return myr_error_set(err, -e, "%s: %s", path, strerror(e));
	}
	if (!S_ISSOCK(st.st_mode))
		return myr_error_set(err, -ENOTSOCK, "%s: not a socket", path);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return myr_error_set(err, -EPERM, "%s: owned by uid %u, neither "
				     "root nor this user", path,
				     (unsigned)st.st_uid);
	return 0;
}

static int remaining_ms(uint64_t deadline)
{
	uint64_t now = now_ns();
	return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

/* Connect to the service and check who listens: root or this user. */
static int dial(const char *path, uint64_t deadline, struct myr_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return myr_error_set(err, -ENAMETOOLONG, "%s: path too long",
				     path);
	r = myr_service_socket_check(path, err);
	if (r < 0)
		return r;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		int e = errno;
		return myr_error_set(err, -e, "%s: socket: %s", path,
				     strerror(e));
	}
	/* A unix connect completes at once or fails; EAGAIN is a full
	 * backlog: a service that cannot keep up counts as absent. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		return myr_error_set(err, e == EAGAIN ? -ETIMEDOUT : -e,
				     "%s: %s", path, e == EAGAIN ?
				     "the service's backlog is full" :
				     strerror(e));
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		close(fd);
		return myr_error_set(err, -EPERM, "%s: the service runs as uid "
				     "%u, neither root nor this user", path,
				     (unsigned)cred.uid);
	}
	(void)deadline;
	return fd;
}

static int send_request(int fd, unsigned type, const int *fds, unsigned nfds,
			uint16_t host_major, uint16_t host_minor,
			struct myr_error *err)
{
	struct myr_service_request req = {
		.magic = MYR_SERVICE_REQ_MAGIC, .version = MYR_SERVICE_VERSION,
		.type = (uint16_t)type, .host_major = host_major,
		.host_minor = host_minor,
	};
	int r = myri_service_send(fd, &req, sizeof(req), fds, nfds);

	if (r < 0)
		return myr_error_set(err, r, "cannot send the request: %s",
				     strerror(-r));
	return 0;
}

/* Wait until deadline for the answer (or the end) to be readable. */
static int await(int fd, uint64_t deadline, struct myr_error *err)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		int r = poll(&p, 1, remaining_ms(deadline));
		if (r > 0)
			return 0;
		if (r == 0)
			return myr_error_set(err, -ETIMEDOUT, "no answer within "
					     "the wait");
		if (errno != EINTR) {
			int e = errno;
			return myr_error_set(err, -e, "poll: %s", strerror(e));
		}
	}
}

/* The length of the answer waiting to be read, once it is: it stays
 * queued, descriptors and all.  0 at the end of the connection. */
static ssize_t answer_length(int fd, uint64_t deadline,
			     struct myr_error *err)
{
	char none;
	struct iovec iov = { &none, 0 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	for (;;) {
		int r = await(fd, deadline, err);
		if (r < 0)
			return r;
		ssize_t n = recvmsg(fd, &msg, MSG_PEEK | MSG_TRUNC |
				    MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN) {
			int e = errno;
			return myr_error_set(err, -e, "cannot read the answer: "
					     "%s", strerror(e));
		}
	}
}

/* Take one answer, waiting for it until deadline unless it is there
 * already, with every descriptor it carries (fds[], *nfds; at most
 * FDS_MAX, more is truncation). */
static ssize_t receive(int fd, void *buf, size_t cap, uint64_t deadline,
		       int *fds, unsigned *nfds, int *truncated,
		       struct myr_error *err)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(FDS_MAX * sizeof(int))];
	} ctl;
	struct iovec iov = { buf, cap };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;

	*nfds = 0;
	for (;;) {
		n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n >= 0 || (errno != EINTR && errno != EAGAIN))
			break;
		int r = await(fd, deadline, err);
		if (r < 0)
			return r;
	}
	int dropped = n >= 0 ? myri_service_take_fds(&msg, fds, nfds) : 0;
	if (n < 0) {
		int e = errno;
		return myr_error_set(err, -e, "cannot read the answer: %s",
				     strerror(e));
	}
	if (n == 0)
		return myr_error_set(err, -ECONNRESET, "the service closed the "
				     "connection without answering");
	*truncated = dropped || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
	return n;
}

static void close_all(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The memfd (what: "image" or "program copy") is sealed for good, and
 * of the size announced (size) or of any size (0). */
static int check_memfd(int fd, const char *what, uint64_t size,
		       struct myr_error *err)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0)
		return myr_error_set(err, -EBADMSG, "the %s is not a sealable "
				     "memfd", what);
	if ((seals & SEALS_NEEDED) != SEALS_NEEDED)
		return myr_error_set(err, -EBADMSG, "the %s's memfd is not "
				     "sealed (seals 0x%x)", what, (unsigned)seals);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size && (uint64_t)st.st_size != size))
		return myr_error_set(err, -EBADMSG, "the %s's memfd is not "
				     "the size announced", what);
	return 0;
}

static int answer_error(const struct myr_service_answer *a,
			struct myr_error *err)
{
	return myr_error_set(err, a->hdr.status, "the service refused: %s",
			     a->msg[0] ? a->msg : "no reason given");
}

/* Every message names the socket, as dial()'s already do. */
static int name_socket(const char *path, int r, struct myr_error *err)
{
	if (r < 0 && err) {
		char why[sizeof(err->msg)];
		memcpy(why, err->msg, sizeof(why));
		myr_error_set(err, r, "%s: %s", path, why);
	}
	return r;
}

/* A pidfd of this process.  On its main thread, where a launch asks,
 * the thread id is the process id, which musl knows without a system
 * call; another thread's id names no process, and pidfd_open refuses
 * it (EINVAL). */
static int own_pidfd(void)
{
	int fd = (int)syscall(SYS_pidfd_open, gettid(), 0);

	if (fd < 0)
		fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	return fd;
}

int myr_service_ask(const char *path, int prog_fd, unsigned timeout_ms,
		    uint16_t host_major, uint16_t host_minor,
		    struct myr_service_pending *p, struct myr_error *err)
{
	int sends[2], pidfd, r;

	p->sock = -1;
	p->path = path;
	p->t0 = now_ns();
	p->deadline = p->t0 + (uint64_t)timeout_ms * 1000000u;
	p->sock = dial(path, p->deadline, err);
	if (p->sock < 0)
		return p->sock;
	pidfd = own_pidfd();
	if (pidfd < 0) {
		int e = errno;
		r = myr_error_set(err, -e, "pidfd_open: %s", strerror(e));
	} else {
		sends[0] = prog_fd;
		sends[1] = pidfd;
		r = send_request(p->sock, MYR_SERVICE_LOAD, sends, 2,
				 host_major, host_minor, err);
		close(pidfd);
	}
	if (r < 0) {
		close(p->sock);
		p->sock = -1;
	}
	return name_socket(path, r, err);
}

/*
 * A buffer for an answer of len bytes (one more than the longest answer
 * if it is longer, which is then refused as truncated), its pages
 * written in by one call: the kernel's copy of a 40 KB plan into fresh
 * pages took a fault a page, about 10 us each on a virtualised machine.
 * MADV_POPULATE_WRITE is Linux 5.14; an older kernel refuses it and the
 * copy faults the pages in as before.
 */
static uint32_t *answer_buffer(size_t len, size_t *cap)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint32_t *buf;

	*cap = len < 4 ? 4 : len > MYR_SERVICE_ANSWER_MAX ?
	       MYR_SERVICE_ANSWER_MAX + 4 : len;
	buf = malloc(*cap);
	if (buf && *cap > page) {
		uintptr_t from = (uintptr_t)buf & ~(uintptr_t)(page - 1);
		uintptr_t to = ((uintptr_t)buf + *cap + page - 1) &
			       ~(uintptr_t)(page - 1);
		(void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
	}
	return buf;
}

int myr_service_answer(struct myr_service_pending *p,
		       struct myr_service_reply *out, struct myr_error *err)
{
	struct myr_service_answer answer, *a = &answer;
	uint32_t *buf = NULL;
	int fds[FDS_MAX], truncated = 0, r;
	unsigned nfds = 0;
	size_t cap;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	out->memfd = -1;
	out->program_copy = -1;
	if (p->sock < 0)
		return myr_error_set(err, -EBADF, "%s: not asked", p->path);
	n = answer_length(p->sock, p->deadline, err);
	if (n < 0) {
		r = (int)n;
		goto out;
	}
	buf = answer_buffer((size_t)n, &cap);
	if (!buf) {
		r = myr_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	n = receive(p->sock, buf, cap, p->deadline, fds, &nfds, &truncated,
		    err);
	if (n < 0) {
		r = (int)n;
		goto out;
	}
	r = myr_service_answer_parse(buf, (size_t)n, nfds, truncated,
				     MYR_SERVICE_LOAD, a, err);
	if (r < 0)
		goto out;
	if (a->hdr.type == MYR_SERVICE_ERROR) {
		r = answer_error(a, err);
		goto out;
	}
	r = check_memfd(fds[0], "image", a->hdr.image_file_size, err);
	if (r == 0 && nfds > 1)
		r = check_memfd(fds[1], "program copy", 0, err);
	if (r < 0)
		goto out;
	/* The closure moves to the start of the buffer it arrived in, which
	 * becomes the caller's: a copy would fault in 10 more pages at
	 * 10,000 modules, and the cache takes it without another. */
	memmove(buf, a->closure, a->hdr.closure_count * sizeof(uint32_t));
	out->closure = buf;
	buf = NULL;
	out->closure_count = a->hdr.closure_count;
	out->memfd = fds[0];
	fds[0] = -1;
	if (nfds > 1) {
		out->program_copy = fds[1];
		fds[1] = -1;
	}
	out->generation = a->hdr.generation;
	out->program_checksum = a->hdr.program_checksum;
	out->program = a->hdr.flags & MYR_SERVICE_A_PROGRAM ?
		       a->hdr.program_index + 1 : 0;
	out->ns = now_ns() - p->t0;
out:
	close_all(fds, nfds);
	free(buf);
	close(p->sock);
	p->sock = -1;
	return name_socket(p->path, r, err);
}

int myr_service_load(const char *path, int prog_fd, unsigned timeout_ms,
		     uint16_t host_major, uint16_t host_minor,
		     struct myr_service_reply *out, struct myr_error *err)
{
	struct myr_service_pending p;
	int r = myr_service_ask(path, prog_fd, timeout_ms, host_major,
				host_minor, &p, err);

	if (r < 0) {
		memset(out, 0, sizeof(*out));
		out->memfd = -1;
		out->program_copy = -1;
		return r;
	}
	return myr_service_answer(&p, out, err);
}

void myr_service_reply_free(struct myr_service_reply *r)
{
	if (r->memfd >= 0)
		close(r->memfd);
	if (r->program_copy >= 0)
		close(r->program_copy);
	r->memfd = -1;
	r->program_copy = -1;
	free(r->closure);
	r->closure = NULL;
	r->closure_count = 0;
}

int myr_service_status_get(const char *path, unsigned timeout_ms,
			   struct myr_service_status *st, struct myr_error *err)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct myr_service_answer *a = malloc(sizeof(*a));
	uint32_t buf[(64 + sizeof(*st)) / 4 + 64];
	int fds[FDS_MAX], sock, truncated = 0, r;
	unsigned nfds = 0;
	ssize_t n;

	if (!a)
		return myr_error_set(err, -ENOMEM, "out of memory");
	sock = dial(path, deadline, err);
	if (sock < 0) {
		free(a);
		return sock;
	}
	r = send_request(sock, MYR_SERVICE_STATUS, NULL, 0, 0, 0, err);
	if (r == 0)
		r = await(sock, deadline, err);
	if (r == 0) {
		n = receive(sock, buf, sizeof(buf), deadline, fds, &nfds,
			    &truncated, err);
		r = n < 0 ? (int)n :
		    myr_service_answer_parse(buf, (size_t)n, nfds, truncated,
					     MYR_SERVICE_STATUS, a, err);
		close_all(fds, nfds);
	}
	if (r == 0 && a->hdr.type == MYR_SERVICE_ERROR)
		r = answer_error(a, err);
	if (r == 0)
		*st = a->status;
	free(a);
	close(sock);
	return r;
}
