/* SPDX-License-Identifier: MIT */
/*
 * lib/load/place.c - stage 3: plan every file module's segments in the pool
 * (near the host and the cache's image, for rel32 reach), map them, and
 * copy or decompress each segment into place, on the lanes.
 *
 * May assume: verify succeeded (S_VERIFIED): every module of l->order is
 * intact (checksum) and its segments' sizes are the header's.  Leaves each
 * module's link record (view + segment addresses) filled, and the link
 * lanes' scratch sizes (link_max_imports, link_max_deps).
 */
#include <errno.h>
#include "load/loader_internal.h"

/* Copy or decompress module order[k]'s segments into place; report: say
 * what failed (the loader's thread only).  Returns 0 or -1. */
static int place_module(struct myr_loader *l, uint32_t k, int report_errors)
{
	struct lmod *m = &l->mods[l->order[k]];
	struct myr_error err;
	int ret = 0;

	for (unsigned s = 0; s < MYR_SEG_BSS; s++) {
		int r;
		if (!m->view.hdr->seg[s].size)
			continue;
		r = myr_module_segment_load(&m->view, s, m->link.seg[s], &err);
		if (r < 0) {
			ret = -1;
			if (report_errors) {
				char chain[512];
				myri_format_chain(l, l->order[k], chain, sizeof(chain));
				report(l, r, "%s: %s", chain, err.msg);
			}
		}
	}
	return ret;
}

static int place_lane(struct myr_loader *l, uint32_t k, void *scratch)
{
	(void)scratch;
	return place_module(l, k, 0);
}

int myr_loader_place(struct myr_loader *l)
{
	uint64_t t0 = now_ns(l);
	struct myr_pool_request *req;
	struct myr_pool_usage u;
	struct myr_error err = { 0 };
	uint64_t decompressed = 0;
	int r;

	l->link_max_imports = 1;
	l->link_max_deps = 1;
	if (l->failed)
		return -ECANCELED;
	if (l->stage != S_VERIFIED)
		return -EINVAL;
	req = myri_lmalloc(l, (l->norder ? l->norder : 1) * sizeof(*req));
	if (!req) {
		report(l, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	/* Modules in init order are scattered over the table and their
	 * headers over the fetched files, all last touched by the fetch
	 * lanes: each a cache miss, one after the other, unless fetched ahead
	 * (the table entry 2 * PREFETCH_AHEAD ahead, its header
	 * PREFETCH_AHEAD ahead, once that entry is in). */
	for (uint32_t k = 0; k < l->norder; k++) {
		const struct myr_header *h = l->mods[l->order[k]].view.hdr;
		if (k + 2 * PREFETCH_AHEAD < l->norder)
			__builtin_prefetch(&l->mods[l->order[k + 2 * PREFETCH_AHEAD]].view.hdr);
		if (k + PREFETCH_AHEAD < l->norder)
			__builtin_prefetch(l->mods[l->order[k + PREFETCH_AHEAD]].view.hdr);
		for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
			req[k].size[s] = h->seg[s].size;
			req[k].align_log2[s] = h->seg[s].align_log2;
			if (s < MYR_SEG_BSS)
				decompressed += h->seg[s].size;
		}
		/* The link stage's scratch, sized here while the header is
		 * in hand. */
		if (h->imports.count > l->link_max_imports)
			l->link_max_imports = h->imports.count;
		if (h->deps.count > l->link_max_deps)
			l->link_max_deps = h->deps.count;
	}
	r = myr_pool_plan(l->pool, req, l->norder, &err);
	myri_lfree(l, req);
	if (r == 0) {
		/* Within reach of the host and of the image, if any. */
		uintptr_t lo = 0, hi = 0;
		if (l->cfg->host && l->cfg->host->hi > l->cfg->host->lo) {
			lo = l->cfg->host->lo;
			hi = l->cfg->host->hi;
		}
		if (l->cache && l->ncached) {
			uintptr_t clo, chi;
			myr_cache_span(l->cache, &clo, &chi);
			if (hi <= lo || clo < lo)
				lo = clo;
			if (chi > hi)
				hi = chi;
		}
		if (hi > lo)
			myr_pool_set_near(l->pool, lo, hi);
	}
	if (r == 0)
		r = myr_pool_map(l->pool, &err);
	if (r < 0) {
		report(l, r, "%s: %s", l->mods[0].name, err.msg);
		return r;
	}
	l->stats.bytes_decompressed += decompressed;
	for (uint32_t k = 0; k < l->norder; k++) {
		struct lmod *m = &l->mods[l->order[k]];
		if (k + PREFETCH_AHEAD < l->norder)
			__builtin_prefetch(&l->mods[l->order[k + PREFETCH_AHEAD]].link, 1);
		m->link.view = &m->view;
		for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
			m->link.seg[s] = myr_pool_segment(l->pool, k, s);
	}
	{
		uint32_t left = myri_stage_lanes_run(l, place_lane, 0);
		for (uint32_t k = 0; myri_stage_left(l, &left, &k); k++)
			place_module(l, k, 1);
	}
	myr_pool_usage(l->pool, &u);
	l->stats.mprotect_calls = u.mprotect_calls;
	l->stats.ns_place += now_ns(l) - t0;
	if (l->failed)
		return l->failed;
	l->stage = S_PLACED;
	return 0;
}
