/* SPDX-License-Identifier: MIT */
/*
 * lib/load/lookup.c - after the load: the program's entry point, the
 * context passed to it, symbol lookup by module and name (file modules
 * through the name map, then the cache's active modules), and accessors.
 *
 * May assume: nothing for the accessors; entry needs protect to have
 * succeeded, lookup needs release (S_RELEASED or later): until then it
 * finds nothing.
 */
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include "load/loader_internal.h"

myr_entry_fn myr_loader_entry(const struct myr_loader *l)
{
	const struct lmod *p;
	if (l->stage < S_PROTECTED || l->failed)
		return NULL;
	p = &l->mods[0];
	return (myr_entry_fn)(void *)(p->link.seg[MYR_SEG_TEXT] +
				      p->view.hdr->entry.off);
}

static void *cache_lookup(const struct myr_loader *l, const char *module,
			  uint32_t n, const char *symbol)
{
	int64_t c = myr_cache_find_active(l->cache, module, n);
	const struct myr_link_module *lm;
	uint32_t len;
	int64_t e;

	if (c < 0)
		return NULL;
	lm = myri_cache_link_module(l->cache, (uint32_t)c, NULL);
	len = (uint32_t)strnlen(symbol, MYR_SYMBOL_MAX + 1);
	if (!lm || len > MYR_SYMBOL_MAX)
		return NULL;
	e = myr_module_find_export(lm->view, symbol, len,
				   myr_symbol_hash(symbol, len), MYR_NO_HINT);
	if (e < 0)
		return NULL;
	return lm->seg[lm->view->exports[e].seg] + lm->view->exports[e].off;
}

int myr_loader_has_module(const struct myr_loader *l, const char *module)
{
	uint32_t idx;
	size_t n;

	if (l->stage < S_RELEASED || l->failed || !module)
		return 0;
	n = strnlen(module, MYR_NAME_MAX + 1);
	if (n > MYR_NAME_MAX)
		return 0;
	idx = map_find(l, module, (uint32_t)n, name_hash(module, (uint32_t)n));
	if (idx != NO_MODULE)
		return l->mods[idx].color == 2 && l->mods[idx].view.hdr != NULL;
	return l->cache && myr_cache_find_active(l->cache, module, (uint32_t)n) >= 0;
}

void *myr_loader_lookup(const struct myr_loader *l, const char *module,
			const char *symbol)
{
	uint32_t idx = 0, len;
	const struct lmod *m;
	int64_t e;

	if (l->stage < S_RELEASED || !symbol)
		return NULL;
	if (module) {
		size_t n = strnlen(module, MYR_NAME_MAX + 1);
		if (n > MYR_NAME_MAX)
			return NULL;
		idx = map_find(l, module, (uint32_t)n, name_hash(module, (uint32_t)n));
		if (idx == NO_MODULE && l->cache)
			return cache_lookup(l, module, (uint32_t)n, symbol);
		if (idx == NO_MODULE)
			return NULL;
	}
	m = &l->mods[idx];
	if (m->color != 2 || !m->view.hdr)   /* not part of the image */
		return NULL;
	len = (uint32_t)strnlen(symbol, MYR_SYMBOL_MAX + 1);
	if (len > MYR_SYMBOL_MAX)
		return NULL;
	e = myr_module_find_export(&m->view, symbol, len,
				   myr_symbol_hash(symbol, len), MYR_NO_HINT);
	if (e < 0)
		return NULL;
	return m->link.seg[m->view.exports[e].seg] + m->view.exports[e].off;
}

static void *ctx_lookup(const struct myriad_ctx *ctx, const char *module,
			const char *symbol)
{
	const struct myr_loader *l = (const struct myr_loader *)
		((const char *)ctx - offsetof(struct myr_loader, ctx));
	return myr_loader_lookup(l, module, symbol);
}

const struct myriad_ctx *myr_loader_ctx(struct myr_loader *l, int argc,
					char **argv, char **envp)
{
	l->ctx.abi_version = MYRIAD_ABI_VERSION;
	l->ctx.size = sizeof(l->ctx);
	l->ctx.argc = argc;
	l->ctx.argv = argv;
	l->ctx.envp = envp;
	l->ctx.self = &l->mods[0].pub;
	l->ctx.lookup = ctx_lookup;
	l->ctx.stats = &l->stats;
	return &l->ctx;
}

struct myr_cache *myr_loader_cache(const struct myr_loader *l)
{
	return l->cache;
}

void myr_loader_origins(const struct myr_loader *l, uint32_t *cached,
			uint32_t *files)
{
	*cached = l->ncached;
	*files = l->norder;
}

const struct myriad_load_stats *myr_loader_stats(const struct myr_loader *l)
{
	return &l->stats;
}
