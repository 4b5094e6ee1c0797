/* SPDX-License-Identifier: MIT */
/*
 * The service's messages (<myriad/service.h>, docs/service.md): the only
 * code that interprets bytes from the other side of the socket, pure
 * functions of a buffer so that tests/fuzz/fuzz_service.c can reach all
 * of it.  Both directions are hostile input: the service parses requests
 * from any local user, the client answers from a process that may have
 * been replaced or may be dying.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <myriad/limits.h>
#include <myriad/service.h>
#include "service/service_internal.h"

static int zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int myr_service_request_parse(const void *buf, size_t len, unsigned nfds,
			      int truncated, struct myr_service_request *req,
			      struct myr_error *err)
{
	struct myr_service_request r;

	if (truncated)
		return myr_error_set(err, -EBADMSG, "request truncated (over %u "
				     "bytes or too many descriptors)",
				     MYR_SERVICE_REQ_SIZE);
	if (len != sizeof(r))
		return myr_error_set(err, -EBADMSG, "request of %zu bytes, not "
				     "%u", len, MYR_SERVICE_REQ_SIZE);
	memcpy(&r, buf, sizeof(r));
	if (r.magic != MYR_SERVICE_REQ_MAGIC)
		return myr_error_set(err, -EBADMSG, "bad request magic 0x%08x",
				     r.magic);
	if (r.version != MYR_SERVICE_VERSION)
		return myr_error_set(err, -EPROTO, "protocol version %u, this "
				     "service speaks %u", r.version,
				     MYR_SERVICE_VERSION);
	if (r.flags || !zero(r.reserved, sizeof(r.reserved)))
		return myr_error_set(err, -EBADMSG, "non-zero flags or reserved "
				     "bytes");
	switch (r.type) {
	case MYR_SERVICE_LOAD:
		if (nfds != 2)
			return myr_error_set(err, -EBADMSG, "a load request "
					     "carries 2 descriptors, not %u",
					     nfds);
		break;
	case MYR_SERVICE_STATUS:
		if (nfds != 0)
			return myr_error_set(err, -EBADMSG, "a status request "
					     "carries no descriptor, not %u",
					     nfds);
		break;
	default:
		return myr_error_set(err, -EBADMSG, "unknown request type %u",
				     r.type);
	}
	*req = r;
	return 0;
}

int myr_service_answer_parse(const void *buf, size_t len, unsigned nfds,
			     int truncated, unsigned want,
			     struct myr_service_answer *a,
			     struct myr_error *err)
{
	const struct myr_service_answer_header *h = buf;
	const uint8_t *body = (const uint8_t *)buf + sizeof(*h);
	size_t blen;

	memset(a, 0, sizeof(*a));
	if (truncated)
		return myr_error_set(err, -EBADMSG, "answer truncated");
	if (len < sizeof(*h) || len > MYR_SERVICE_ANSWER_MAX)
		return myr_error_set(err, -EBADMSG, "answer of %zu bytes", len);
	blen = len - sizeof(*h);
	memcpy(&a->hdr, h, sizeof(*h));
	if (a->hdr.magic != MYR_SERVICE_REP_MAGIC)
		return myr_error_set(err, -EBADMSG, "bad answer magic 0x%08x",
				     a->hdr.magic);
	if (a->hdr.version != MYR_SERVICE_VERSION)
		return myr_error_set(err, -EPROTO, "protocol version %u, this "
				     "launcher speaks %u", a->hdr.version,
				     MYR_SERVICE_VERSION);
	if (!zero(a->hdr.reserved, sizeof(a->hdr.reserved)) ||
	    (a->hdr.type != MYR_SERVICE_LOAD &&
	     (a->hdr.flags || a->hdr.program_index)) ||
	    (a->hdr.flags & ~(MYR_SERVICE_A_PROGRAM | MYR_SERVICE_A_COPY)) ||
	    (a->hdr.flags & MYR_SERVICE_A_PROGRAM &&
	     a->hdr.flags & MYR_SERVICE_A_COPY) ||
	    (!(a->hdr.flags & MYR_SERVICE_A_PROGRAM) && a->hdr.program_index))
		return myr_error_set(err, -EBADMSG, "unknown flags or non-zero "
				     "reserved bytes in the answer");
	if (a->hdr.type == MYR_SERVICE_ERROR) {
		uint32_t n = a->hdr.msg_len;
		if (nfds || a->hdr.status >= 0 || a->hdr.status < -4095 ||
		    n != blen || n >= MYR_SERVICE_ERRMSG_MAX)
			return myr_error_set(err, -EBADMSG, "malformed error "
					     "answer");
		for (uint32_t i = 0; i < n; i++) {
			uint8_t c = body[i];
			a->msg[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
		}
		a->msg[n] = '\0';
		return 0;
	}
	if (a->hdr.type != want || a->hdr.status != 0 || a->hdr.msg_len)
		return myr_error_set(err, -EBADMSG, "answer of type %u, status "
				     "%d, expected type %u", a->hdr.type,
				     a->hdr.status, want);
	if (want == MYR_SERVICE_STATUS) {
		if (nfds || blen != sizeof(a->status) || a->hdr.closure_count)
			return myr_error_set(err, -EBADMSG, "malformed status "
					     "answer");
		memcpy(&a->status, body, sizeof(a->status));
		if (a->status.generations > MYR_SERVICE_GENS_MAX)
			return myr_error_set(err, -EBADMSG, "status lists %u "
					     "generations", a->status.generations);
		return 0;
	}
	if (nfds != (a->hdr.flags & MYR_SERVICE_A_COPY ? 2u : 1u))
		return myr_error_set(err, -EBADMSG, "a load answer carries %u "
				     "descriptors, not %u", a->hdr.flags &
				     MYR_SERVICE_A_COPY ? 2u : 1u, nfds);
	if (a->hdr.closure_count > MYR_SERVICE_CLOSURE_MAX ||
	    (uint64_t)a->hdr.closure_count * 4 != blen)
		return myr_error_set(err, -EBADMSG, "closure of %u entries in %zu "
				     "bytes", a->hdr.closure_count, blen);
	if ((a->hdr.flags & MYR_SERVICE_A_PROGRAM) &&
	    a->hdr.program_index >= MYR_CACHE_MODULES_MAX)
		return myr_error_set(err, -EBADMSG, "program index %u out of "
				     "range", a->hdr.program_index);
	if (a->hdr.image_file_size == 0 || a->hdr.image_file_size > (1ull << 32))
		return myr_error_set(err, -EBADMSG, "image of %llu bytes",
				     (unsigned long long)a->hdr.image_file_size);
	if ((uintptr_t)body % 4)
		return myr_error_set(err, -EBADMSG, "misaligned answer buffer");
	a->closure = (const uint32_t *)(const void *)body;
	return 0;
}

int myri_service_take_fds(struct msghdr *msg, int *fds, unsigned *nfds)
{
	int dropped = 0;

	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < MYRI_SERVICE_FDS_MAX) {
				fds[(*nfds)++] = got;
			} else {
				close(got);
				dropped = 1;
			}
		}
	}
	return dropped;
}

int myri_service_send(int fd, const void *buf, size_t len, const int *fds,
		      unsigned nfds)
{
	struct iovec iov = { (void *)buf, len };

	return myri_service_sendv(fd, &iov, 1, fds, nfds);
}

int myri_service_sendv(int fd, const struct iovec *iov, unsigned niov,
		       const int *fds, unsigned nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(MYRI_SERVICE_FDS_MAX * sizeof(int))];
	} ctl;
	struct msghdr msg = { .msg_iov = (struct iovec *)iov,
			      .msg_iovlen = niov };
	size_t len = 0;
	ssize_t n;

	if (nfds > MYRI_SERVICE_FDS_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < niov; i++)
		len += iov[i].iov_len;
	memset(&ctl, 0, sizeof(ctl));
	if (nfds) {
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}
