/* SPDX-License-Identifier: MIT */
/*
 * lib/base/lanes.c - worker lanes (lanes.h).
 */
#include "base/lanes.h"

/* Stacks of helper lanes: see lanes.h. */
#define LANE_STACK (256u << 10)

unsigned myri_lanes_start(struct myri_lanes *ls, unsigned nhelpers,
			  void *(*lane)(void *), void *args, size_t stride)
{
	pthread_attr_t attr;
	int have_attr;

	ls->started = 0;
	if (nhelpers > MYRI_LANES_HELPERS_MAX)
		nhelpers = MYRI_LANES_HELPERS_MAX;
	/* Failure leaves the default stack size. */
	have_attr = pthread_attr_init(&attr) == 0;
	if (have_attr)
		pthread_attr_setstacksize(&attr, LANE_STACK);
	for (unsigned k = 0; k < nhelpers; k++) {
		if (pthread_create(&ls->thread[ls->started], have_attr ? &attr : NULL,
				   lane, (char *)args + k * stride) != 0)
			break;
		ls->started++;
	}
	if (have_attr)
		pthread_attr_destroy(&attr);
	return ls->started;
}

void myri_lanes_join(struct myri_lanes *ls)
{
	for (unsigned k = 0; k < ls->started; k++)
		pthread_join(ls->thread[k], NULL);
}
