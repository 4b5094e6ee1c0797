/* SPDX-License-Identifier: MIT */
/*
 * lib/load/protect.c - stage 5: final page protections (W^X: text r-x,
 * RELRO and read-only data r--), then each module's constructor and
 * destructor arrays, read from RELRO.
 *
 * May assume: link succeeded (S_LINKED): every relocation is applied, so
 * nothing needs write access to text or RELRO again.
 */
#include <errno.h>
#include "load/loader_internal.h"

int myr_loader_protect(struct myr_loader *l)
{
	uint64_t t0 = now_ns(l);
	struct myr_error err = { 0 };
	struct myr_pool_usage u;
	int r;

	if (l->failed)
		return -ECANCELED;
	if (l->stage != S_LINKED)
		return -EINVAL;
	r = myr_pool_protect(l->pool, &err);
	myr_pool_usage(l->pool, &u);
	l->stats.mprotect_calls = u.mprotect_calls;
	if (r < 0) {
		report(l, r, "%s: %s", l->mods[0].name, err.msg);
		return r;
	}
	/* Constructors and destructors are called through RELRO, which is
	 * read-only from here on. */
	for (uint32_t k = 0; k < l->norder; k++) {
		struct lmod *m = &l->mods[l->order[k]];
		const struct myr_header *h = m->view.hdr;
		if (h->init.count && h->init.seg == MYR_SEG_RELRO) {
			m->init_fns = (void (*const *)(void))
				(void *)(m->link.seg[MYR_SEG_RELRO] + h->init.off);
			m->ninit = h->init.count;
		}
		if (h->fini.count && h->fini.seg == MYR_SEG_RELRO) {
			m->fini_fns = (void (*const *)(void))
				(void *)(m->link.seg[MYR_SEG_RELRO] + h->fini.off);
			m->nfini = h->fini.count;
		}
		m->pub.ver_major = h->ver_major;
		m->pub.ver_minor = h->ver_minor;
		m->pub.ver_patch = h->ver_patch;
	}
	l->stats.ns_protect += now_ns(l) - t0;
	l->stage = S_PROTECTED;
	return 0;
}
