/* SPDX-License-Identifier: MIT */
/*
 * What the service's two sides share, not API: sending a message with
 * descriptors, and taking the descriptors a message brought.
 */
#ifndef MYRIAD_SERVICE_INTERNAL_H
#define MYRIAD_SERVICE_INTERNAL_H

#include <sys/socket.h>

/* Descriptors a message may carry before it counts as garbage. */
#define MYRI_SERVICE_FDS_MAX 4

/*
 * Move every SCM_RIGHTS descriptor of msg into fds[] (*nfds of them, at
 * most MYRI_SERVICE_FDS_MAX); any beyond that is closed at once, so no
 * path leaks what a peer sent.  Returns 1 if some were closed (the
 * message then counts as truncated).
 */
int myri_service_take_fds(struct msghdr *msg, int *fds, unsigned *nfds);

/*
 * Send buf (one datagram of len bytes) with nfds (at most
 * MYRI_SERVICE_FDS_MAX) descriptors as SCM_RIGHTS, never blocking and never
 * raising SIGPIPE.  Returns 0, or -errno (-EMSGSIZE if only part went out,
 * -EINVAL for too many descriptors).
 */
int myri_service_send(int fd, const void *buf, size_t len, const int *fds,
		      unsigned nfds);

/* The same, the datagram gathered from niov pieces. */
int myri_service_sendv(int fd, const struct iovec *iov, unsigned niov,
		       const int *fds, unsigned nfds);

#endif
