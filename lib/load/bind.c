/* SPDX-License-Identifier: MIT */
/*
 * lib/load/bind.c - stage 4, link: bind every module's imports to its
 * dependencies' exports (two-level namespace: the import names its
 * dependency) and apply its relocations (image/link.c), on the lanes; then
 * activate the cache's image.  Named bind.c, not link.c: lib/image/link.c
 * is the link core both this stage and the cache use.
 *
 * May assume: place succeeded (S_PLACED): every module's segments are
 * mapped writable and filled, its link record complete; dependency slots
 * are resolve's.  A module whose dependency is the host or the cache's
 * image is done on the loader's thread only.
 */
#include <errno.h>
#include <stdio.h>
#include "load/loader_internal.h"

struct unresolved_ctx {
	struct myr_loader *l;
	uint32_t module;
};

static void on_unresolved(void *opaque, uint32_t i)
{
	struct unresolved_ctx *u = opaque;
	struct myr_loader *l = u->l;
	const struct lmod *m = &l->mods[u->module];
	const struct myr_import *imp = &m->view.imports[i];
	uint32_t t = l->dep_slot[m->dep_first + imp->dep];
	char chain[512];

	myri_format_chain(l, u->module, chain, sizeof(chain));
	if (is_cached(t)) {
		uint16_t major, minor;
		myr_cache_version(l->cache, t & ~CACHED, &major, &minor);
		report(l, -ENOENT, "%s: symbol %s not found in %s %u.%u (%s, "
		       "cache)", chain, myr_view_str(&m->view, imp->name_off),
		       myr_cache_name(l->cache, t & ~CACHED), major, minor,
		       l->cfg->dirs[0]);
	} else if (t == HOST_MODULE)
		report(l, -ENOENT, "%s: symbol %s not found in the host module "
		       "%s %u.%u", chain, myr_view_str(&m->view, imp->name_off),
		       MYR_HOST_MODULE_NAME, l->cfg->host->ver_major,
		       l->cfg->host->ver_minor);
	else
		report(l, -ENOENT, "%s: symbol %s not found in %s %u.%u (%s)",
		       chain, myr_view_str(&m->view, imp->name_off),
		       l->mods[t].name, l->mods[t].view.hdr->ver_major,
		       l->mods[t].view.hdr->ver_minor, dir_name(l, &l->mods[t]));
}

static void count_unresolved(void *opaque, uint32_t i)
{
	(void)opaque, (void)i;
}

/* Bind and relocate module order[k], with scratch arrays addr and deps.
 * On a lane (report_errors 0) a module with a dependency in the cache or
 * the host module is left to the loader's thread, as is any failure: the
 * cache's and the host's lookups are not for threads, and messages are
 * only for that thread.  Returns 0 or -1. */
static int link_module(struct myr_loader *l, uint32_t k, uintptr_t *addr,
		       const struct myr_link_module **deps, int report_errors)
{
	uint32_t idx = l->order[k];
	struct lmod *m = &l->mods[idx];
	const struct myr_header *h = m->view.hdr;
	struct unresolved_ctx u = { l, idx };
	struct myr_error err;
	uint32_t missing;
	int64_t n;
	int bad = 0;

	/* Not zeroed whole (512 bytes a module) for a rare message. */
	err.code = 0;
	err.msg[0] = '\0';

	for (uint32_t d = 0; d < h->deps.count; d++) {
		uint32_t t = l->dep_slot[m->dep_first + d];
		if (!report_errors && (is_cached(t) || t >= HOST_MODULE))
			return -1;
		if (is_cached(t)) {
			deps[d] = myri_cache_link_module(l->cache, t & ~CACHED,
							&err);
			if (!deps[d]) {
				report(l, err.code ? err.code : -EBADMSG,
				       "%s (cache): %s", l->cfg->dirs[0],
				       err.msg);
				bad = 1;
			}
			continue;
		}
		deps[d] = t == HOST_MODULE ? NULL : &l->mods[t].link;
	}
	if (bad)
		return -1;
	missing = myri_link_bind(&m->link, deps, l->cfg->host, addr,
				report_errors ? on_unresolved : count_unresolved,
				&u);
	if (missing && !report_errors)
		return -1;
	n = missing ? 0 : myri_link_relocate(&m->link, addr, &err);
	if (n < 0 && !report_errors)
		return -1;
	__atomic_fetch_add(&l->stats.imports_bound,
			   (uint64_t)(h->imports.count - missing), __ATOMIC_RELAXED);
	if (missing)
		return -1;
	if (n < 0) {
		char chain[512];
		myri_format_chain(l, idx, chain, sizeof(chain));
		report(l, (int)n, "%s: %s", chain, err.msg);
		return -1;
	}
	__atomic_fetch_add(&l->stats.relocs_applied, (uint64_t)n,
			   __ATOMIC_RELAXED);
	return 0;
}

static int link_lane(struct myr_loader *l, uint32_t k, void *scratch)
{
	uintptr_t *addr = scratch;
	return link_module(l, k, addr, (const struct myr_link_module **)
			   (addr + l->link_max_imports), 0);
}

int myr_loader_link(struct myr_loader *l)
{
	uint64_t t0 = now_ns(l);
	uint32_t max_imports = l->link_max_imports, max_deps = l->link_max_deps;
	const struct myr_link_module **deps;
	uintptr_t *addr;

	if (l->failed)
		return -ECANCELED;
	if (l->stage != S_PLACED)
		return -EINVAL;
	addr = myri_lmalloc(l, max_imports * sizeof(*addr));
	deps = myri_lmalloc(l, max_deps * sizeof(*deps));
	if (!addr || !deps) {
		myri_lfree(l, addr);
		myri_lfree(l, deps);
		report(l, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	{
		uint32_t left = myri_stage_lanes_run(l, link_lane,
						max_imports * sizeof(*addr) +
						max_deps * sizeof(*deps));
		for (uint32_t k = 0; myri_stage_left(l, &left, &k); k++)
			link_module(l, k, addr, deps, 1);
	}
	myri_lfree(l, addr);
	myri_lfree(l, deps);
	if (!l->failed && l->cache) {
		struct myr_error err = { 0 };
		if (myr_cache_activate(l->cache, &err) < 0)
			report(l, err.code, "%s (cache): %s", l->cfg->dirs[0],
			       err.msg);
	}
	l->stats.ns_link += now_ns(l) - t0;
	if (l->failed)
		return l->failed;
	l->stage = S_LINKED;
	return 0;
}
