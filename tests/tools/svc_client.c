/* SPDX-License-Identifier: MIT */
/*
 * svc_client - a hostile or curious client of the loader service, for
 * tests/cli/service.t.
 *   svc_client SOCKET garbage          random bytes, then a short request,
 *                                      a long one, a wrong magic, a wrong
 *                                      version, a load without descriptors
 *   svc_client SOCKET fd PATH          a load request whose program
 *                                      descriptor is PATH opened O_RDONLY |
 *                                      O_NONBLOCK (a FIFO, a directory, a
 *                                      sparse file...); "socket" sends a
 *                                      socket instead
 *   svc_client SOCKET fakepid PROG     a load whose pidfd is not ours
 *   svc_client SOCKET devpid PROG      a load whose "pidfd" is /dev/null
 *   svc_client SOCKET noread PROG N    N load requests on one connection
 *                                      without reading any answer
 *   svc_client SOCKET conns N          opens N connections at once, holds
 *                                      them 1 s, then closes them
 *   svc_client SOCKET load PROG        one well-formed load; prints the
 *                                      answer's type and closure count
 *   svc_client SOCKET serve HOW        a fake service: listens on SOCKET and
 *                                      answers each load request with HOW:
 *                                      unsealed (a memfd without seals),
 *                                      garbage (random bytes), close (hangs
 *                                      up), silent (never answers), until
 *                                      killed
 * Prints one line per exchange: "answer TYPE STATUS" (type 3 is ERROR),
 * "closed" (the service hung up) or "timeout".  Exits 0 unless the tool
 * itself failed; the test judges the lines.  Built against the ASan
 * library, whose myri_* functions are global (tests/tools/build-hook.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <myriad/service.h>
#include "service/service_internal.h"

static const char *sock_path;

static int dial(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Through the library's own sender, as the launcher and the service send:
 * what is hostile here is what the messages say and when, not how they
 * are framed. */
static void send_msg(int fd, const void *p, size_t n, const int *fds,
		     unsigned nfds)
{
	int r = myri_service_send(fd, p, n, fds, nfds);
	if (r < 0)
		printf("send failed: %s\n", strerror(-r));
}

/* One answer, its descriptors closed. */
static void expect(int fd)
{
	static uint8_t buf[MYR_SERVICE_ANSWER_MAX];
	char ctl[CMSG_SPACE(8 * sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;

	/* Only a failing service waits this long; a loaded machine may
	 * take seconds to schedule a working one. */
	if (poll(&p, 1, 60000) != 1) {
		printf("timeout\n");
		return;
	}
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n > 0) {
		int got[MYRI_SERVICE_FDS_MAX];
		unsigned ngot;
		myri_service_take_fds(&msg, got, &ngot);
		for (unsigned i = 0; i < ngot; i++)
			close(got[i]);
	}
	if (n <= 0) {
		printf("closed\n");
		return;
	}
	struct myr_service_answer_header h;
	memset(&h, 0, sizeof(h));
	memcpy(&h, buf, (size_t)n < sizeof(h) ? (size_t)n : sizeof(h));
	printf("answer %u %d closure %u\n", h.type, h.status, h.closure_count);
	if (h.type == MYR_SERVICE_ERROR && (size_t)n > sizeof(h))
		printf("  why: %.*s\n", (int)((size_t)n - sizeof(h)),
		       (const char *)buf + sizeof(h));
}

static struct myr_service_request load_request(void)
{
	struct myr_service_request r = { .magic = MYR_SERVICE_REQ_MAGIC,
		.version = MYR_SERVICE_VERSION, .type = MYR_SERVICE_LOAD };
	return r;
}

static int own_pidfd(void)
{
	return (int)syscall(SYS_pidfd_open, getpid(), 0);
}

static int one_load(int prog, int pidfd)
{
	struct myr_service_request r = load_request();
	int fds[2] = { prog, pidfd };
	int fd = dial();
	if (fd < 0) {
		printf("cannot connect: %s\n", strerror(errno));
		return 1;
	}
	send_msg(fd, &r, sizeof(r), fds, 2);
	expect(fd);
	close(fd);
	return 0;
}

/* The fake service of "serve": a well-formed header around a memfd that
 * is not sealed, or worse. */
static int fake_service(const char *how)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	unlink(sock_path);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(ls, 64) != 0) {
		perror("fake service");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		uint8_t req[64];
		if (c < 0)
			continue;
		if (recv(c, req, sizeof(req), 0) <= 0 || strcmp(how, "close") == 0) {
			close(c);
			continue;
		}
		if (strcmp(how, "silent") == 0) {
			/* Keep it open, unanswered, until the client gives up. */
			continue;
		}
		if (strcmp(how, "garbage") == 0) {
			uint8_t junk[100];
			for (size_t i = 0; i < sizeof(junk); i++)
				junk[i] = (uint8_t)(i * 91 + 7);
			send(c, junk, sizeof(junk), MSG_NOSIGNAL);
			close(c);
			continue;
		}
		/* unsealed: a plausible answer with a writable memfd */
		int mfd = (int)syscall(SYS_memfd_create, "fake", 0);
		struct myr_service_answer_header h = {
			.magic = MYR_SERVICE_REP_MAGIC, .version = MYR_SERVICE_VERSION,
			.type = MYR_SERVICE_LOAD, .generation = 1,
			.image_file_size = 8192 };
		if (mfd < 0 || ftruncate(mfd, 8192) != 0)
			return 1;
		send_msg(c, &h, sizeof(h), &mfd, 1);
		close(mfd);
		close(c);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: svc_client SOCKET MODE [ARGS]\n");
		return 2;
	}
	sock_path = argv[1];
	const char *mode = argv[2];

	if (strcmp(mode, "garbage") == 0) {
		uint8_t junk[200];
		struct myr_service_request r = load_request();
		int fd;
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(i * 37 + 11);
		struct { const void *p; size_t n; } cases[6];
		struct myr_service_request bad_magic = r, bad_version = r;
		bad_magic.magic ^= 1;
		bad_version.version = 99;
		cases[0].p = junk; cases[0].n = sizeof(junk);
		cases[1].p = &r; cases[1].n = 7;
		cases[2].p = junk; cases[2].n = 33;
		cases[3].p = &bad_magic; cases[3].n = sizeof(r);
		cases[4].p = &bad_version; cases[4].n = sizeof(r);
		cases[5].p = &r; cases[5].n = sizeof(r);   /* no descriptors */
		for (int i = 0; i < 6; i++) {
			if ((fd = dial()) < 0)
				return 1;
			send_msg(fd, cases[i].p, cases[i].n, NULL, 0);
			expect(fd);
			close(fd);
		}
		return 0;
	}
	if (strcmp(mode, "fd") == 0 && argc == 4) {
		int prog;
		if (strcmp(argv[3], "socket") == 0)
			prog = socket(AF_UNIX, SOCK_STREAM, 0);
		else
			prog = open(argv[3], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (prog < 0) {
			perror(argv[3]);
			return 1;
		}
		return one_load(prog, own_pidfd());
	}
	if (strcmp(mode, "fakepid") == 0 && argc == 4) {
		int prog = open(argv[3], O_RDONLY | O_CLOEXEC);
		int pidfd = (int)syscall(SYS_pidfd_open, getppid(), 0);
		return prog < 0 || pidfd < 0 ? 1 : one_load(prog, pidfd);
	}
	if (strcmp(mode, "devpid") == 0 && argc == 4) {
		int prog = open(argv[3], O_RDONLY | O_CLOEXEC);
		int dev = open("/dev/null", O_RDWR | O_CLOEXEC);
		return prog < 0 || dev < 0 ? 1 : one_load(prog, dev);
	}
	if (strcmp(mode, "load") == 0 && argc == 4) {
		int prog = open(argv[3], O_RDONLY | O_CLOEXEC);
		return prog < 0 ? 1 : one_load(prog, own_pidfd());
	}
	if (strcmp(mode, "noread") == 0 && argc == 5) {
		int prog = open(argv[3], O_RDONLY | O_CLOEXEC);
		int fds[2] = { prog, own_pidfd() };
		struct myr_service_request r = load_request();
		int fd = dial(), n = atoi(argv[4]), sent = 0;
		if (fd < 0 || prog < 0)
			return 1;
		for (int i = 0; i < n; i++) {
			struct pollfd p = { fd, POLLOUT, 0 };
			if (poll(&p, 1, 200) != 1 || (p.revents & (POLLHUP | POLLERR)))
				break;
			send_msg(fd, &r, sizeof(r), fds, 2);
			sent++;
		}
		printf("sent %d\n", sent);
		/* Hold the connection, never reading, until the service
		 * gives up on it: on a full socket, else at its 5 s idle
		 * limit, however late a loaded machine runs it. */
		struct pollfd p = { fd, POLLRDHUP, 0 };
		for (int t = 0; t < 600; t++)
			if (poll(&p, 1, 100) == 1 && (p.revents & (POLLHUP | POLLRDHUP)))
				break;
		printf("%s\n", p.revents & (POLLHUP | POLLRDHUP) ? "hung up by the service" : "still open");
		return 0;
	}
	if (strcmp(mode, "conns") == 0 && argc == 4) {
		int n = atoi(argv[3]), opened = 0;
		struct rlimit rl = { (rlim_t)n + 64, (rlim_t)n + 64 };
		setrlimit(RLIMIT_NOFILE, &rl);
		int *fds = calloc((size_t)n, sizeof(int));
		for (int i = 0; i < n && fds; i++) {
			fds[i] = dial();
			opened += fds[i] >= 0;
		}
		printf("opened %d\n", opened);
		sleep(1);
		for (int i = 0; i < n && fds; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		free(fds);
		return 0;
	}
	if (strcmp(mode, "serve") == 0 && argc == 4)
		return fake_service(argv[3]);
	fprintf(stderr, "svc_client: unknown mode %s\n", mode);
	return 2;
}
