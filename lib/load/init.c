/* SPDX-License-Identifier: MIT */
/*
 * lib/load/init.c - stage 8: constructors in init order (dependencies
 * first; the cache's image modules by their recorded order), destructors
 * in reverse of what ran.
 *
 * May assume: the image is protected and released (S_RELEASED), and the
 * caller has applied the sandbox: module code runs from here on.
 */
#include <errno.h>
#include "load/loader_internal.h"

static void init_array(const struct myr_loader *l, uint32_t entry, int fini,
		       void (*const **fns)(void), uint32_t *n)
{
	const struct lmod *m;

	if (is_cached(entry)) {
		myr_cache_init_array(l->cache, entry & ~CACHED, fini, fns, n);
		return;
	}
	m = &l->mods[entry];
	*fns = fini ? m->fini_fns : m->init_fns;
	*n = fini ? m->nfini : m->ninit;
}

int myr_loader_run_init(struct myr_loader *l)
{
	uint64_t t0 = now_ns(l);

	if (l->stage != S_RELEASED)
		return l->failed ? -ECANCELED : -EINVAL;
	l->stage = S_INITED;
	for (uint32_t k = 0; k < l->ninit_order; k++) {
		void (*const *fns)(void);
		uint32_t n;
		init_array(l, l->init_order[k], 0, &fns, &n);
		l->ninited = k + 1;
		for (uint32_t i = 0; i < n; i++)
			if (fns[i])
				fns[i]();
	}
	l->stats.ns_init += now_ns(l) - t0;
	return 0;
}

void myr_loader_run_fini(struct myr_loader *l)
{
	if (!l || l->fini_done)
		return;
	l->fini_done = 1;
	for (uint32_t k = l->ninited; k-- > 0;) {
		void (*const *fns)(void);
		uint32_t n;
		init_array(l, l->init_order[k], 1, &fns, &n);
		for (uint32_t i = n; i-- > 0;)
			if (fns[i])
				fns[i]();
	}
}
