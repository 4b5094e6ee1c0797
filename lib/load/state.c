/* SPDX-License-Identifier: MIT */
/*
 * lib/load/state.c - the loader core: its memory (one scratch mapping, then
 * malloc; a name arena; huge-page arrays), the module table and its name
 * map, and the loader's life: init, release, exit, and myr_loader_load(),
 * which runs the stages in order.
 *
 * May assume: nothing about the stages; every stage file may assume this
 * one.  The table (l->mods) may move whenever a module is added, so no
 * pointer into it survives myri_add_module() or myri_mods_grow().
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "load/loader_internal.h"

void *myri_scratch_alloc(struct myr_loader *l, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n > SCRATCH_SIZE - l->scratch_used)
		return NULL;
	l->scratch_used += n;
	return (uint8_t *)l + l->scratch_used - n;
}

void *myri_lmalloc(struct myr_loader *l, size_t n)
{
	void *p = myri_scratch_alloc(l, n);
	return p ? p : malloc(n);
}

void *myri_lcalloc(struct myr_loader *l, size_t n)
{
	void *p = myri_scratch_alloc(l, n);
	return p ? p : calloc(1, n);
}

void myri_lfree(struct myr_loader *l, void *p)
{
	if (!in_scratch(l, p))
		free(p);
}

/* realloc() for myri_lmalloc()ed blocks: old is the block's current size. */
void *myri_lrealloc(struct myr_loader *l, void *p, size_t old, size_t n)
{
	void *q;

	if (p && !in_scratch(l, p))
		return realloc(p, n);
	q = myri_lmalloc(l, n);
	if (q && p)
		memcpy(q, p, old < n ? old : n);
	return q;
}

static void *arena_alloc(struct myr_loader *l, size_t n)
{
	struct arena_chunk *c = l->arena;
	n = (n + 7) & ~(size_t)7;
	if (!c || c->cap - c->used < n) {
		/* The first chunk small: a hello world interns a few names. */
		size_t cap = l->arena ? 60000 : 128;
		if (cap < n)
			cap = n;
		c = myri_lmalloc(l, sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = l->arena;
		c->used = 0;
		c->cap = cap;
		l->arena = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

char *myri_arena_strndup(struct myr_loader *l, const char *s, size_t n)
{
	char *p = arena_alloc(l, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/*
 * "app -> json -> unicode": the breadth-first tree path to m, so the
 * shortest chain.  Very deep chains keep their two ends.  Only on error
 * paths, so the walk up the tree may cost the chain's depth.
 */
void myri_format_chain(const struct myr_loader *l, uint32_t m, char *buf,
			 size_t len)
{
	enum { HEAD = 3, TAIL = 6 };
	uint32_t n = l->mods[m].depth + 1, cur = m;
	uint32_t tail[TAIL], head[HEAD];
	size_t at = 0;

	for (uint32_t d = 0; cur != NO_MODULE; d++, cur = l->mods[cur].parent) {
		if (d < TAIL)
			tail[d] = cur;                 /* tail[0] is m */
		if (n - 1 - d < HEAD)
			head[n - 1 - d] = cur;         /* head[0] is the program */
	}
	buf[0] = '\0';
	for (uint32_t i = 0; i < n && at < len; i++) {
		uint32_t idx;
		if (n > HEAD + TAIL && i == HEAD) {
			at += (size_t)snprintf(buf + at, len - at, " -> ...");
			i = n - TAIL;
		}
		idx = i < HEAD ? head[i] : tail[n - 1 - i];
		if (at < len)
			at += (size_t)snprintf(buf + at, len - at, "%s%s",
					       i ? " -> " : "", l->mods[idx].name);
	}
}

void myri_map_put(struct myr_loader *l, uint32_t idx)
{
	uint32_t i = l->mods[idx].hash & (l->mapcap - 1);
	while (l->map[i])
		i = (i + 1) & (l->mapcap - 1);
	l->map[i] = idx + 1;
}

/* Rehash into cap slots (a power of two, more than twice the modules). */
int myri_map_grow(struct myr_loader *l, uint32_t cap)
{
	uint32_t *m = myri_lcalloc(l, (size_t)cap * sizeof(*m));
	if (!m)
		return -ENOMEM;
	myri_lfree(l, l->map);
	l->map = m;
	l->mapcap = cap;
	for (uint32_t i = 0; i < l->nmods; i++)
		myri_map_put(l, i);
	return 0;
}

/*
 * Zeroed memory for arrays that grow with the closure: fetch_batch()'s
 * items (over half a KiB each, mostly the error message) and the module
 * table (about 260 bytes a module).  At 10,000 modules they span 2,000
 * pages, and each fresh 4 KiB page costs a fault (several microseconds in
 * a VM).  Past one huge page the array starts on a 2 MiB boundary of a
 * mapping advised for huge pages, so it takes a fault per 2 MiB instead;
 * *base is then what to unmap (myri_big_free()), NULL for a small array from
 * the heap.
 */
void *myri_big_alloc(struct myr_loader *l, size_t size, void **base,
		       size_t *len)
{
	uint8_t *p;

	*base = NULL;
	if (size < HUGE_PAGE)
		return myri_lcalloc(l, size);
	*len = ((size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1)) + HUGE_PAGE;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	*base = p;
	p += (HUGE_PAGE - (uintptr_t)p % HUGE_PAGE) % HUGE_PAGE;
#ifdef MADV_HUGEPAGE
	/* Whole huge pages: the tail too, or it would keep small ones. */
	madvise(p, *len - HUGE_PAGE, MADV_HUGEPAGE);   /* a hint */
#endif
	return p;
}

void myri_big_free(struct myr_loader *l, void *p, void *base, size_t len)
{
	if (base)
		munmap(base, len);
	else
		myri_lfree(l, p);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The entries [was, now) of a block of mods just grown, written in by
 * one call when they span pages enough: add_module would fault them in
 * one by one (71 of a 1,000-module launch's 200 faults). */
static void populate_tail(void *p, size_t was, size_t now)
{
	uintptr_t from = ((uintptr_t)p + was + 4095) & ~(uintptr_t)4095;
	uintptr_t to = ((uintptr_t)p + now) & ~(uintptr_t)4095;

	if (to > from && to - from >= (64u << 10))
		(void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
}

/* Room for cap modules, keeping the entries: realloc() while small (it
 * moves large blocks with mremap, touching no new page), myri_big_alloc() past
 * a huge page. */
int myri_mods_grow(struct myr_loader *l, uint32_t cap)
{
	void *base = NULL;
	size_t len = 0;
	struct lmod *p;

	if ((size_t)cap * sizeof(*p) < HUGE_PAGE) {
		size_t was = (size_t)l->capmods * sizeof(*p);
		p = myri_lrealloc(l, l->mods, was, (size_t)cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		populate_tail(p, was, (size_t)cap * sizeof(*p));
		l->mods = p;
		l->capmods = cap;
		l->mods_zeroed = cap;
		return 0;
	}
	p = myri_big_alloc(l, (size_t)cap * sizeof(*p), &base, &len);
	if (!p)
		return -ENOMEM;
	if (l->nmods)
		memcpy(p, l->mods, l->nmods * sizeof(*p));
	myri_big_free(l, l->mods, l->mods_base, l->mods_len);
	l->mods = p;
	l->mods_base = base;
	l->mods_len = len;
	l->capmods = cap;
	l->mods_zeroed = base ? l->nmods : cap;
	return 0;
}

/* Add a module by name (not yet present; hash is name_hash() of it), or
 * return NO_MODULE on -ENOMEM or when the module limit is reached (both
 * reported). */
uint32_t myri_add_module(struct myr_loader *l, const char *name,
			   uint32_t len, uint32_t hash)
{
	struct lmod *m;

	if (l->nmods >= MYR_LOAD_MODULES_MAX) {
		if (l->nmods == MYR_LOAD_MODULES_MAX)
			report(l, -E2BIG, "%s: the closure has more than %u "
			       "modules", l->mods[0].name, MYR_LOAD_MODULES_MAX);
		l->nmods++;  /* report once */
		return NO_MODULE;
	}
	if (l->nmods == l->capmods &&
	    myri_mods_grow(l, l->capmods ? l->capmods * 2 : 2) < 0)
		goto nomem;
	if ((uint64_t)(l->nmods + 1) * 2 > l->mapcap &&
	    myri_map_grow(l, l->mapcap ? l->mapcap * 2 : 16) < 0)
		goto nomem;
	m = &l->mods[l->nmods];
	/* At 10,000 modules, 3 MB that the kernel has just zeroed. */
	if (l->nmods < l->mods_zeroed)
		memset(m, 0, sizeof(*m));
	m->name = myri_arena_strndup(l, name, len);
	if (!m->name)
		goto nomem;
	m->name_len = len;
	m->hash = hash;
	m->parent = NO_MODULE;
	m->dir = -1;
	m->pub.size = sizeof(m->pub);
	m->pub.name = m->name;
	myri_map_put(l, l->nmods);
	return l->nmods++;
nomem:
	report(l, -ENOMEM, "out of memory");
	return NO_MODULE;
}

/* ---- init ---------------------------------------------------------- */

/*
 * A process launches one program, so its first loader's scratch is static
 * storage: no mmap(), and no page tables of its own (a mapping among the
 * libraries' addresses, far from the launcher's, takes three page-table
 * pages, each set up and torn down by a hypervisor on a virtual machine).
 * Its own section lets the launcher's link put it after the variables a
 * launch writes (launcher/startup.ld), so only the pages a load uses are
 * touched.  Any other loader, concurrent or later, maps its own.
 */
static uint8_t static_scratch[SCRATCH_SIZE]
	__attribute__((aligned(4096), section(".bss.myr_scratch")));
static atomic_flag static_scratch_taken = ATOMIC_FLAG_INIT;

static struct myr_loader *scratch_take(void)
{
	void *p;

	if (!atomic_flag_test_and_set(&static_scratch_taken))
		return (struct myr_loader *)static_scratch;
	p = mmap(NULL, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Scratch memory starts zeroed: the static one is zeroed again as far as
 * it was used (bump allocation wrote nothing past scratch_used). */
static void scratch_give_back(struct myr_loader *l)
{
	if ((uint8_t *)l != static_scratch) {
		munmap(l, SCRATCH_SIZE);
		return;
	}
	memset(l, 0, l->scratch_used);
	atomic_flag_clear(&static_scratch_taken);
}

int myr_loader_init(struct myr_loader **out, const struct myr_loader_config *cfg,
		    struct myr_error *err)
{
	struct myr_loader *l = scratch_take();
	int r;

	if (!l)
		return myr_error_set(err, -ENOMEM, "out of memory");
	l->scratch_used = sizeof(*l);
	l->cfg = cfg;
	l->stats.size = sizeof(l->stats);
	l->budget_culprit = NO_MODULE;
	r = myr_pool_init(&l->pool, cfg->alloc, &cfg->limits);
	if (r < 0) {
		scratch_give_back(l);
		return myr_error_set(err, r, "bad allocation strategy");
	}
	/* The loader's pool is never an image: two pages fewer for a small
	 * program, each a page fault. */
	if (cfg->alloc == MYR_ALLOC_POOLING)
		myr_pool_pack(l->pool);
	*out = l;
	return 0;
}

/* ---- release, load, exit -------------------------------------------- */

static void free_program(struct myr_loader *l)
{
	if (l->program_buf && !in_scratch(l, l->program_buf))
		munmap(l->program_buf, l->program_cap);
	l->program_buf = NULL;
}

void myr_loader_release(struct myr_loader *l)
{
	if (l->stage >= S_RELEASED)
		return;
	if (l->stage == S_PROTECTED)
		l->stage = S_RELEASED;
	if (l->fetcher) {
		myr_fetcher_close(l->fetcher);
		/* After a load the file buffers stay until myr_loader_exit():
		 * the views' export tables serve lookups, and a copy of the
		 * metadata would fault in megabytes of fresh pages (about
		 * 2,300 at 10,000 modules). */
		if (l->stage != S_RELEASED) {
			myr_fetcher_exit(l->fetcher);
			l->fetcher = NULL;
		}
	}
	myr_cache_release(l->cache);
	/* After a load the files stay (above), and only resolve reads
	 * m->file: no pass over every module. */
	if (l->stage == S_RELEASED)
		return;
	free_program(l);
	for (uint32_t i = 0; i < l->nmods; i++) {
		l->mods[i].file = NULL;
		memset(&l->mods[i].view, 0, sizeof(l->mods[i].view));
	}
}

int myr_loader_load(struct myr_loader *l, const char *path)
{
	int r = myr_loader_resolve(l, path);
	if (r == 0)
		r = myr_loader_verify(l);
	if (r == 0)
		r = myr_loader_place(l);
	if (r == 0)
		r = myr_loader_link(l);
	if (r == 0)
		r = myr_loader_protect(l);
	myr_loader_release(l);
	return r ? (l->failed ? l->failed : r) : 0;
}

uint32_t myr_loader_caps(const struct myr_loader *l)
{
	return l->nmods && l->mods[0].view.hdr ? l->mods[0].view.hdr->caps : 0;
}

void myr_loader_exit(struct myr_loader *l)
{
	if (!l)
		return;
	if (l->fetcher)
		myr_fetcher_exit(l->fetcher);
	myr_pool_exit(l->pool);
	free_program(l);
	myri_big_free(l, l->mods, l->mods_base, l->mods_len);
	myri_lfree(l, l->map);
	myri_lfree(l, l->dep_slot);
	myri_lfree(l, l->order);
	myri_lfree(l, l->init_order);
	while (l->arena) {
		struct arena_chunk *c = l->arena;
		l->arena = c->next;
		myri_lfree(l, c);
	}
	scratch_give_back(l);
}
