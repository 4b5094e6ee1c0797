/* SPDX-License-Identifier: MIT */
/*
 * lib/load/lanes.c - threads for the per-module stages (place, link).
 *
 * May assume: l->order is final (resolve succeeded) and each module's work
 * touches only that module's own memory; the work function never reports.
 */
#include <stdlib.h>
#include "base/cpus.h"
#include "base/lanes.h"
#include "load/loader_internal.h"

/*
 * Place and link do the same work for each module of l->order, touching
 * only that module's own memory (its segments, its link record): the
 * calling thread and helper threads take runs of modules from a shared
 * counter, as the fetcher's lanes do (<myriad/fetch.h>), and every helper
 * is joined before the stage returns.  A lane never reports: a module
 * whose work fails, or needs what a lane may not touch, is marked redo,
 * and the loader's thread then does it again in module order, reporting
 * exactly what one thread would.  Without threads (nthreads 1, or fewer
 * than MYR_FETCH_LANES_MIN_ITEMS modules) everything is done there.
 */
#define STAGE_RUN 64u

struct stage_lanes {
	struct myr_loader *l;
	/* Module order[k]'s work; 0, or -1 to leave it for the loader's
	 * thread.  scratch: the lane's own buffer of scratch_len bytes. */
	int (*work)(struct myr_loader *l, uint32_t k, void *scratch);
	size_t scratch_len;
	uint32_t next;                   /* atomic */
	uint32_t left;                   /* atomic: modules left (redo) */
};

static void *stage_lane(void *arg)
{
	struct stage_lanes *sl = arg;
	struct myr_loader *l = sl->l;
	void *scratch = malloc(sl->scratch_len ? sl->scratch_len : 1);

	for (;;) {
		uint32_t k = __atomic_fetch_add(&sl->next, STAGE_RUN,
						__ATOMIC_RELAXED);
		uint32_t end = k + STAGE_RUN < l->norder ? k + STAGE_RUN : l->norder;
		if (k >= l->norder)
			break;
		for (; k < end; k++)
			if (!scratch || sl->work(l, k, scratch) < 0) {
				l->mods[l->order[k]].redo = 1;
				__atomic_fetch_add(&sl->left, 1, __ATOMIC_RELAXED);
			}
	}
	free(scratch);
	return NULL;
}

static unsigned stage_threads(const struct myr_loader *l)
{
	unsigned n = l->cfg->nthreads;

	if (l->norder < MYR_FETCH_LANES_MIN_ITEMS || n == 1)
		return 1;
	if (!n)
		n = myr_usable_cpus();
	if (n > MYR_FETCH_LANES_MAX)
		n = MYR_FETCH_LANES_MAX;
	if (n > l->norder / STAGE_RUN)
		n = l->norder / STAGE_RUN;
	return n ? n : 1;
}


/* Run work over every module on the lanes; returns how many they left
 * marked redo for the caller (myri_stage_left()), or STAGE_ALL. */
uint32_t myri_stage_lanes_run(struct myr_loader *l,
			   int (*work)(struct myr_loader *, uint32_t, void *),
			   size_t scratch_len)
{
	struct stage_lanes sl = { .l = l, .work = work,
				  .scratch_len = scratch_len };
	struct myri_lanes ls;
	unsigned n = stage_threads(l);

	if (n < 2 || !myri_lanes_start(&ls, n - 1, stage_lane, &sl, 0))
		return STAGE_ALL;
	stage_lane(&sl);
	myri_lanes_join(&ls);
	return sl.left;
}

/* The next module in order after *k that the loader's thread must do
 * (left of them, from myri_stage_lanes_run()), its redo mark cleared; 0 when
 * none is left.  Scans no further than the last one left. */
int myri_stage_left(struct myr_loader *l, uint32_t *left, uint32_t *k)
{
	for (; *left && *k < l->norder; ++*k) {
		struct lmod *m = &l->mods[l->order[*k]];
		if (*left == STAGE_ALL || m->redo) {
			if (*left != STAGE_ALL)
				--*left;
			m->redo = 0;
			return 1;
		}
	}
	return 0;
}
