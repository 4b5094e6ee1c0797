/* SPDX-License-Identifier: MIT */
/*
 * lib/base/lanes.h - worker lanes: helper threads that share a batch with
 * the calling thread, for the fetcher's lanes (lib/load/fetch.c) and the
 * per-module stages (lib/load/lanes.c).
 *
 * The caller starts its helpers, does its own share on its own thread, then
 * joins them all; how the work is shared (a counter, runs) is the caller's.
 * Helpers get small stacks: a lane's deepest call is a message's vsnprintf
 * and a caller's callback, never recursion.
 */
#ifndef MYRIAD_LIB_LANES_H
#define MYRIAD_LIB_LANES_H

#include <pthread.h>
#include <stddef.h>
#include <myriad/fetch.h>

/* The most helpers a batch starts: one fewer than MYR_FETCH_LANES_MAX
 * lanes, the calling thread being one. */
#define MYRI_LANES_HELPERS_MAX (MYR_FETCH_LANES_MAX - 1)

struct myri_lanes {
	pthread_t thread[MYRI_LANES_HELPERS_MAX];
	unsigned started;
};

/*
 * Start up to nhelpers (at most MYRI_LANES_HELPERS_MAX) threads running
 * lane(args + k * stride), k = 0 .. nhelpers - 1; stride 0 gives them all
 * the same argument.  Returns how many started (ls->started), possibly
 * fewer, even 0, when the system refuses threads: the lanes that exist
 * then take the missing ones' share.  Every started thread must be joined
 * with myri_lanes_join() before args goes away.
 */
unsigned myri_lanes_start(struct myri_lanes *ls, unsigned nhelpers,
			  void *(*lane)(void *), void *args, size_t stride);

/* Wait for every thread myri_lanes_start() started. */
void myri_lanes_join(struct myri_lanes *ls);

#endif /* MYRIAD_LIB_LANES_H */
