/* SPDX-License-Identifier: MIT */
/*
 * `myriad cache build`: every module of a library directory, placed and
 * linked into one image with the loader's own code (the pool's planner,
 * myr_module_segment_load, myri_link_bind and myri_link_relocate), then
 * written atomically with the index a launch needs (docs/cache.md).
 *
 * The image is laid out and linked in memory reserved near this process's
 * host module, exactly as a launch would place a closure; that address is
 * the preferred base.  The link observer records each absolute pointer as
 * a per-process fixup: pointers into the image become rebases (applied
 * only if a launch must slide), pointers to the host become binds (applied
 * at every launch, by name).  Calls from image code to host functions go
 * through stubs reading per-process slots, so text never depends on where
 * a launcher build put its functions.  Only a PC-relative reference to a
 * host *object* must be baked into text; such modules are "pinned".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <myriad/cache.h>
#include <myriad/limits.h>
#include <myriad/module.h>
#include "cache/cache_internal.h"
#include "image/link.h"

#define NONE UINT32_MAX
#define ATTEMPTS 3

enum bstate { B_OK = 0, B_EXCLUDED };

struct bmod {
	char *name;                     /* malloc()ed */
	uint32_t name_len;
	uint8_t *file;                  /* whole file, malloc()ed */
	size_t len;
	struct myr_module_view view;
	struct myr_cache_ident ident;
	int state;
	char *reason;                   /* excluded: why (malloc()ed) */
	uint32_t *dep;                  /* per dependency: module, or NONE
	                                   for the host module */
	uint32_t place;                 /* index in the pool plan, or NONE */
	int pinned;
	uint8_t color;
	struct myr_link_module link;
	uint32_t rebase_first, nrebase, bind_first, nbind;
};

struct hsym {
	const char *name;               /* into a module's string table */
	uint32_t len, hash;
	uint8_t kind, flags;
	uint32_t stub;                  /* functions: index; else NONE */
	uintptr_t addr;
};

struct growbuf {
	uint8_t *p;
	size_t len, cap;
};

struct builder {
	const struct myr_cache_build_config *cfg;
	const struct myr_host_binding *host;
	int dirfd, subfd;
	int out_fd;                     /* build into this (the service's
	                                   memfd) instead of DIR's cache */
	uint32_t proved;                /* out_fd: programs_as_built()'s */
	struct stat dir_st;
	struct bmod *mods;
	uint32_t n;
	uint32_t *map;                  /* name hash -> index + 1 */
	uint32_t mapcap;

	struct hsym *hs;
	uint32_t nhs, caphs, nstubs;
	uint32_t *hsmap, hsmapcap;

	struct myr_pool *pool;
	uint8_t *base;
	uint32_t nplaced;
	uint32_t *placed;               /* plan index -> module */
	uint8_t *stub_text, *stub_slots;

	/* fixups being recorded */
	struct growbuf rebases, binds;
	struct bmod *cur;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}


static int gb_put(struct growbuf *g, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (g->cap - g->len < n) {
		size_t cap = g->cap ? g->cap : 4096;
		while (cap - g->len < n)
			cap *= 2;
		uint8_t *q = realloc(g->p, cap);
		if (!q)
			return -ENOMEM;
		g->p = q;
		g->cap = cap;
	}
	memcpy(g->p + g->len, p, n);
	g->len += n;
	return 0;
}

static int gb_align(struct growbuf *g, size_t a)
{
	static const uint8_t zero[8];
	while (g->len % a)
		if (gb_put(g, zero, 1) < 0)
			return -ENOMEM;
	return 0;
}

static void exclude(struct builder *b, uint32_t i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void exclude(struct builder *b, uint32_t i, const char *fmt, ...)
{
	char line[MYR_ERROR_MSG_MAX];
	va_list ap;
	struct bmod *m = &b->mods[i];

	if (m->state == B_EXCLUDED)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	m->state = B_EXCLUDED;
	m->reason = strdup(line);
	myr_diag_emitf(b->cfg->diag, "%s: not cached: %s", m->name, line);
}

static uint32_t find_mod(const struct builder *b, const char *name, uint32_t len)
{
	uint32_t h = myr_symbol_hash(name, len);
	for (uint32_t i = h & (b->mapcap - 1);; i = (i + 1) & (b->mapcap - 1)) {
		uint32_t v = b->map[i];
		if (!v)
			return NONE;
		const struct bmod *m = &b->mods[v - 1];
		if (m->name_len == len && memcmp(m->name, name, len) == 0)
			return v - 1;
	}
}

static int is_host_dep(const char *name, uint32_t len)
{
	return len == sizeof(MYR_HOST_MODULE_NAME) - 1 &&
	       memcmp(name, MYR_HOST_MODULE_NAME, len) == 0;
}

/* ------------------------------------------------------------------ */
/* Scan and read                                                       */
/* ------------------------------------------------------------------ */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct bmod *)a)->name, ((const struct bmod *)b)->name);
}

static int scan(struct builder *b, struct myr_error *err)
{
	int fd = openat(b->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint32_t cap = 0;
	DIR *d;
	struct dirent *e;

	if (fd < 0 || !(d = fdopendir(fd))) {
		int en = errno;
		if (fd >= 0)
			close(fd);
		return myr_error_set(err, -en, "cannot list %s: %s",
				     b->cfg->dir, strerror(en));
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".myr") != 0 ||
		    !myr_name_valid(e->d_name, len - 4))
			continue;
		if (b->n == MYR_CACHE_MODULES_MAX) {
			closedir(d);
			return myr_error_set(err, -E2BIG, "%s holds more than %u "
					     "modules, over the limit "
					     "(MYR_CACHE_MODULES_MAX)",
					     b->cfg->dir, MYR_CACHE_MODULES_MAX);
		}
		if (b->n == cap) {
			cap = cap ? cap * 2 : 256;
			struct bmod *p = realloc(b->mods, cap * sizeof(*p));
			if (!p) {
				closedir(d);
				return myr_error_set(err, -ENOMEM, "out of memory");
			}
			b->mods = p;
		}
		struct bmod *m = &b->mods[b->n];
		memset(m, 0, sizeof(*m));
		m->name = strndup(e->d_name, len - 4);
		m->name_len = (uint32_t)(len - 4);
		m->place = NONE;
		if (!m->name) {
			closedir(d);
			return myr_error_set(err, -ENOMEM, "out of memory");
		}
		b->n++;
	}
	closedir(d);
	/* Sorted: the same directory always gives the same file. */
	if (b->n)
		qsort(b->mods, b->n, sizeof(*b->mods), cmp_names);
	b->mapcap = 16;
	while (b->mapcap <= 2ull * b->n)
		b->mapcap *= 2;
	b->map = calloc(b->mapcap, sizeof(*b->map));
	if (!b->map)
		return myr_error_set(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < b->n; i++) {
		uint32_t h = myr_symbol_hash(b->mods[i].name, b->mods[i].name_len);
		uint32_t k = h & (b->mapcap - 1);
		while (b->map[k])
			k = (k + 1) & (b->mapcap - 1);
		b->map[k] = i + 1;
	}
	return 0;
}

/* Read one module, never following a symlink: the per-launch check looks
 * at DIR's own entries only, so an image may only hold regular files that
 * live there. */
static void read_module(struct builder *b, uint32_t i)
{
	struct bmod *m = &b->mods[i];
	char path[MYR_NAME_MAX + 8];
	struct myr_error err = { 0 };
	struct stat st;
	size_t got = 0;
	int fd, r;

	snprintf(path, sizeof(path), "%s.myr", m->name);
	if (fstatat(b->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
		myr_cache_stamp_of(&st, &m->ident.st);
	fd = openat(b->dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
		    O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		exclude(b, i, "%s", e == ELOOP ? "a symbolic link (only regular "
			"files are cached)" : strerror(e));
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		exclude(b, i, "not a regular file");
		return;
	}
	myr_cache_stamp_of(&st, &m->ident.st);
	if ((uint64_t)st.st_size > MYR_FILE_MAX) {
		close(fd);
		exclude(b, i, "%lld bytes, over the limit of %u (MYR_FILE_MAX)",
			(long long)st.st_size, MYR_FILE_MAX);
		return;
	}
	/* 8-aligned for the reader; one spare byte sees growth. */
	m->file = malloc((size_t)st.st_size + 8);
	if (!m->file) {
		close(fd);
		exclude(b, i, "out of memory");
		return;
	}
	for (;;) {
		ssize_t n = pread(fd, m->file + got, (size_t)st.st_size + 1 - got,
				  (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size)
			break;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		exclude(b, i, "changed while being read");
		return;
	}
	m->len = got;
	r = myr_module_parse(m->file, m->len, 0, &m->view, &err);
	if (r < 0) {
		exclude(b, i, "%s", r == -ENOEXEC || r == -ENODATA ?
			"not a Myriad module" : err.msg);
		return;
	}
	m->ident.checksum = m->view.hdr->checksum;
	if (m->view.hdr->name_len != m->name_len ||
	    memcmp(m->view.name, m->name, m->name_len) != 0)
		exclude(b, i, "the file holds module %s", m->view.name);
}

/* ------------------------------------------------------------------ */
/* Resolve: what can go in the image                                   */
/* ------------------------------------------------------------------ */

static int host_kind(const struct builder *b, const char *name, uint32_t len)
{
	if (b->host->kind)
		return b->host->kind(b->host->opaque, name, len);
	return MYR_SYM_OBJECT;
}

/* Each module's own problems: dependencies present, versions, symbols. */
static int resolve_own(struct builder *b, uint32_t i)
{
	struct bmod *m = &b->mods[i];
	const struct myr_module_view *v = &m->view;
	const struct myr_header *h;

	if (m->state != B_OK)
		return 0;
	h = v->hdr;
	m->dep = malloc((h->deps.count ? h->deps.count : 1) * sizeof(*m->dep));
	if (!m->dep)
		return -ENOMEM;
	for (uint32_t d = 0; d < h->deps.count; d++) {
		const struct myr_dep *dp = &v->deps[d];
		const char *name = myr_view_str(v, dp->name_off);
		uint32_t t;
		if (is_host_dep(name, dp->name_len)) {
			m->dep[d] = NONE;
			if (!b->host || !b->host->find) {
				exclude(b, i, "needs the host module");
				return 0;
			}
			if (!myr_version_satisfies(dp, b->host->ver_major,
						   b->host->ver_minor)) {
				exclude(b, i, "needs %s %u.%u, the launcher has "
					"%u.%u", name, dp->ver_major,
					dp->ver_minor, b->host->ver_major,
					b->host->ver_minor);
				return 0;
			}
			continue;
		}
		t = find_mod(b, name, dp->name_len);
		m->dep[d] = t;
		if (t == NONE) {
			exclude(b, i, "needs %s, which is not in the directory",
				name);
			return 0;
		}
		if (b->mods[t].view.hdr &&
		    !myr_version_satisfies(dp, b->mods[t].view.hdr->ver_major,
					   b->mods[t].view.hdr->ver_minor)) {
			exclude(b, i, "needs %s %u.%u, found %u.%u", name,
				dp->ver_major, dp->ver_minor,
				b->mods[t].view.hdr->ver_major,
				b->mods[t].view.hdr->ver_minor);
			return 0;
		}
	}
	/* Binding by name needs no addresses, so it is checked here, before
	 * anything is placed; a module whose text reaches a host object
	 * PC-relatively is pinned to this launcher build. */
	for (uint32_t k = 0; k < h->imports.count; k++) {
		const struct myr_import *imp = &v->imports[k];
		const char *name = myr_view_str(v, imp->name_off);
		uint32_t t = m->dep[imp->dep];
		if (t == NONE) {
			if (!b->host->find(b->host->opaque, name, imp->name_len)) {
				exclude(b, i, "symbol %s not found in the host "
					"module", name);
				return 0;
			}
			continue;
		}
		if (!b->mods[t].view.hdr)
			continue;       /* excluded itself: propagation says so */
		if (myr_module_find_export(&b->mods[t].view, name, imp->name_len,
					   imp->hash, imp->export_hint) < 0) {
			exclude(b, i, "symbol %s not found in %s", name,
				b->mods[t].name);
			return 0;
		}
	}
	for (uint32_t k = 0; k < h->relocs.count; k++) {
		const struct myr_reloc *r = &v->relocs[k];
		if (r->target_seg == MYR_TARGET_IMPORT && r->type == MYR_REL_PC32 &&
		    m->dep[v->imports[r->target].dep] == NONE) {
			const struct myr_import *imp = &v->imports[r->target];
			if (host_kind(b, myr_view_str(v, imp->name_off),
				      imp->name_len) != MYR_SYM_FUNC)
				m->pinned = 1;
		}
	}
	return 0;
}

/*
 * A module is cached when it and its whole closure are; depth first, a
 * module on the stack reached again closes a cycle.  The post-order is
 * also the placement order: a module's dependencies sit next to it, so a
 * closure touches few pages.
 */
static int propagate(struct builder *b)
{
	uint32_t *stack = malloc((b->n ? b->n : 1) * sizeof(*stack));
	uint32_t *next = calloc(b->n ? b->n : 1, sizeof(*next));

	b->placed = malloc((b->n ? b->n : 1) * sizeof(*b->placed));
	if (!stack || !next || !b->placed) {
		free(stack);
		free(next);
		return -ENOMEM;
	}
	for (uint32_t root = 0; root < b->n; root++) {
		uint32_t depth = 0;
		if (b->mods[root].color)
			continue;
		stack[depth++] = root;
		b->mods[root].color = 1;
		while (depth) {
			uint32_t i = stack[depth - 1];
			struct bmod *m = &b->mods[i];
			uint32_t nd = m->state == B_OK ? m->view.hdr->deps.count : 0;
			if (next[i] < nd) {
				uint32_t t = m->dep[next[i]++];
				if (t == NONE)
					continue;
				if (b->mods[t].color == 1) {
					exclude(b, i, "on a dependency cycle "
						"through %s", b->mods[t].name);
					continue;
				}
				if (b->mods[t].color == 0) {
					b->mods[t].color = 1;
					stack[depth++] = t;
				}
				continue;
			}
			for (uint32_t d = 0; d < nd && m->state == B_OK; d++) {
				uint32_t t = m->dep[d];
				if (t != NONE && b->mods[t].state != B_OK)
					exclude(b, i, "needs %s, which is not "
						"cached", b->mods[t].name);
			}
			if (m->state == B_OK)
				b->placed[b->nplaced++] = i;
			m->color = 2;
			depth--;
		}
	}
	/* A cycle member excluded after its dependents finished: once more,
	 * to a fixed point (only modules near cycles change). */
	for (int changed = 1; changed;) {
		changed = 0;
		for (uint32_t i = 0; i < b->n; i++) {
			struct bmod *m = &b->mods[i];
			if (m->state != B_OK)
				continue;
			for (uint32_t d = 0; d < m->view.hdr->deps.count; d++) {
				uint32_t t = m->dep[d];
				if (t != NONE && b->mods[t].state != B_OK) {
					exclude(b, i, "needs %s, which is not "
						"cached", b->mods[t].name);
					changed = 1;
					break;
				}
			}
		}
	}
	uint32_t kept = 0;
	for (uint32_t k = 0; k < b->nplaced; k++) {
		struct bmod *m = &b->mods[b->placed[k]];
		if (m->state != B_OK)
			continue;
		m->place = kept;
		b->placed[kept++] = b->placed[k];
	}
	b->nplaced = kept;
	free(stack);
	free(next);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Host symbols                                                        */
/* ------------------------------------------------------------------ */

static uint32_t hs_find(const struct builder *b, const char *name, uint32_t len)
{
	uint32_t h = myr_symbol_hash(name, len);
	if (!b->hsmapcap)
		return NONE;
	for (uint32_t i = h & (b->hsmapcap - 1);; i = (i + 1) & (b->hsmapcap - 1)) {
		uint32_t v = b->hsmap[i];
		if (!v)
			return NONE;
		const struct hsym *s = &b->hs[v - 1];
		if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0)
			return v - 1;
	}
}

static int hs_add(struct builder *b, const char *name, uint32_t len)
{
	if (hs_find(b, name, len) != NONE)
		return 0;
	if (b->nhs == MYR_CACHE_HOSTSYMS_MAX)
		return -E2BIG;
	if (b->nhs == b->caphs) {
		uint32_t cap = b->caphs ? b->caphs * 2 : 64;
		struct hsym *p = realloc(b->hs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->hs = p;
		b->caphs = cap;
	}
	if ((b->nhs + 1) * 2 > b->hsmapcap) {
		uint32_t cap = b->hsmapcap ? b->hsmapcap * 2 : 256;
		uint32_t *m = calloc(cap, sizeof(*m));
		if (!m)
			return -ENOMEM;
		free(b->hsmap);
		b->hsmap = m;
		b->hsmapcap = cap;
		for (uint32_t i = 0; i < b->nhs; i++) {
			uint32_t k = b->hs[i].hash & (cap - 1);
			while (m[k])
				k = (k + 1) & (cap - 1);
			m[k] = i + 1;
		}
	}
	struct hsym *s = &b->hs[b->nhs];
	s->name = name;
	s->len = len;
	s->hash = myr_symbol_hash(name, len);
	s->kind = host_kind(b, name, len) == MYR_SYM_FUNC ? MYR_SYM_FUNC
							   : MYR_SYM_OBJECT;
	s->flags = 0;
	s->stub = s->kind == MYR_SYM_FUNC ? b->nstubs++ : NONE;
	s->addr = (uintptr_t)b->host->find(b->host->opaque, name, len);
	uint32_t k = s->hash & (b->hsmapcap - 1);
	while (b->hsmap[k])
		k = (k + 1) & (b->hsmapcap - 1);
	b->hsmap[k] = ++b->nhs;
	return 0;
}

static int collect_host_symbols(struct builder *b)
{
	for (uint32_t i = 0; i < b->n; i++) {
		const struct bmod *m = &b->mods[i];
		if (m->state != B_OK)
			continue;
		for (uint32_t k = 0; k < m->view.hdr->imports.count; k++) {
			const struct myr_import *imp = &m->view.imports[k];
			if (m->dep[imp->dep] != NONE)
				continue;
			int r = hs_add(b, myr_view_str(&m->view, imp->name_off),
				       imp->name_len);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* What image code binds to: a function's stub, an object itself. */
static void *image_host_find(void *opaque, const char *name, uint32_t len)
{
	struct builder *b = opaque;
	uint32_t i = hs_find(b, name, len);
	if (i == NONE)
		return NULL;
	if (b->hs[i].kind == MYR_SYM_FUNC)
		return b->stub_text + (size_t)b->hs[i].stub * MYR_CACHE_STUB_SIZE;
	return (void *)b->hs[i].addr;
}

/* ------------------------------------------------------------------ */
/* Place and link                                                      */
/* ------------------------------------------------------------------ */

static int place(struct builder *b, struct myr_error *err)
{
	struct myr_pool_limits lim;
	struct myr_pool_request *req;
	int r;

	myr_pool_limits_default(&lim);
	lim.modules = (uint64_t)b->nplaced + 1;
	r = myr_pool_init(&b->pool, MYR_ALLOC_POOLING, &lim);
	if (r < 0)
		return myr_error_set(err, r, "out of memory");
	req = calloc((size_t)b->nplaced + 1, sizeof(*req));
	if (!req)
		return myr_error_set(err, -ENOMEM, "out of memory");
	for (uint32_t k = 0; k < b->nplaced; k++) {
		const struct myr_header *h = b->mods[b->placed[k]].view.hdr;
		for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
			req[k].size[s] = h->seg[s].size;
			req[k].align_log2[s] = h->seg[s].align_log2;
		}
	}
	/* The stubs and their slots, as one more module. */
	req[b->nplaced].size[MYR_SEG_TEXT] = b->nstubs * MYR_CACHE_STUB_SIZE;
	req[b->nplaced].align_log2[MYR_SEG_TEXT] = 4;
	req[b->nplaced].size[MYR_SEG_RELRO] = b->nstubs * 8;
	req[b->nplaced].align_log2[MYR_SEG_RELRO] = 3;
	r = myr_pool_plan(b->pool, req, (size_t)b->nplaced + 1, err);
	free(req);
	if (r < 0)
		return r;
	if (b->host && b->host->hi > b->host->lo)
		myr_pool_set_near(b->pool, b->host->lo, b->host->hi);
	r = myr_pool_map(b->pool, err);
	if (r < 0)
		return r;
	b->base = myr_pool_base(b->pool);
	b->stub_text = myr_pool_segment(b->pool, b->nplaced, MYR_SEG_TEXT);
	b->stub_slots = myr_pool_segment(b->pool, b->nplaced, MYR_SEG_RELRO);
	for (uint32_t k = 0; k < b->nplaced; k++) {
		struct bmod *m = &b->mods[b->placed[k]];
		m->link.view = &m->view;
		for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
			m->link.seg[s] = myr_pool_segment(b->pool, k, s);
		for (unsigned s = 0; s < MYR_SEG_BSS; s++) {
			if (!m->view.hdr->seg[s].size)
				continue;
			r = myr_module_segment_load(&m->view, s, m->link.seg[s], err);
			if (r < 0)
				return myr_error_set(err, r, "%s: %s", m->name,
						     err->msg);
		}
	}
	/* jmp *slot(%rip), then two int3 */
	for (uint32_t i = 0; i < b->nhs; i++) {
		const struct hsym *s = &b->hs[i];
		if (s->stub == NONE)
			continue;
		uint8_t *stub = b->stub_text + (size_t)s->stub * MYR_CACHE_STUB_SIZE;
		uint8_t *slot = b->stub_slots + (size_t)s->stub * 8;
		int32_t disp = (int32_t)(slot - (stub + 6));
		uint64_t addr = (uint64_t)s->addr;
		stub[0] = 0xff;
		stub[1] = 0x25;
		memcpy(stub + 2, &disp, 4);
		stub[6] = 0xcc;
		stub[7] = 0xcc;
		memcpy(slot, &addr, 8);
	}
	return 0;
}

static int observe(void *opaque, uint32_t ri, uint8_t *site)
{
	struct builder *b = opaque;
	struct bmod *m = b->cur;
	const struct myr_reloc *r = &m->view.relocs[ri];
	uint32_t off = (uint32_t)(site - b->base);

	if (r->type != MYR_REL_ABS64)
		return 0;
	if (r->target_seg == MYR_TARGET_IMPORT &&
	    m->dep[m->view.imports[r->target].dep] == NONE) {
		const struct myr_import *imp = &m->view.imports[r->target];
		struct myr_cache_bind bd = {
			.site = off,
			.sym = hs_find(b, myr_view_str(&m->view, imp->name_off),
				       imp->name_len),
			.addend = r->addend,
		};
		if (bd.sym == NONE)
			return -EINVAL;
		/* The real address, not the stub: function pointers compare
		 * equal to the launcher's own. */
		uint64_t v = (uint64_t)b->hs[bd.sym].addr + (uint64_t)(int64_t)r->addend;
		memcpy(site, &v, 8);
		m->nbind++;
		return gb_put(&b->binds, &bd, sizeof(bd));
	}
	m->nrebase++;
	return gb_put(&b->rebases, &off, sizeof(off));
}

static int link_all(struct builder *b, struct myr_error *err)
{
	struct myr_host_binding ih = *b->host;
	uint32_t maxi = 1, maxd = 1;
	uintptr_t *addr;
	const struct myr_link_module **deps;
	struct myr_link_observer obs = { observe, b };
	int r = 0;

	ih.find = image_host_find;
	ih.opaque = b;
	for (uint32_t k = 0; k < b->nplaced; k++) {
		const struct myr_header *h = b->mods[b->placed[k]].view.hdr;
		if (h->imports.count > maxi)
			maxi = h->imports.count;
		if (h->deps.count > maxd)
			maxd = h->deps.count;
	}
	addr = malloc(maxi * sizeof(*addr));
	deps = malloc(maxd * sizeof(*deps));
	if (!addr || !deps) {
		r = myr_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t k = 0; k < b->nplaced; k++) {
		struct bmod *m = &b->mods[b->placed[k]];
		int64_t n;
		for (uint32_t d = 0; d < m->view.hdr->deps.count; d++)
			deps[d] = m->dep[d] == NONE ? NULL : &b->mods[m->dep[d]].link;
		if (myri_link_bind(&m->link, deps, &ih, addr, NULL, NULL)) {
			r = myr_error_set(err, -ENOENT, "%s: unresolved symbols "
					  "after checking", m->name);
			goto out;
		}
		b->cur = m;
		m->rebase_first = (uint32_t)(b->rebases.len / 4);
		m->bind_first = (uint32_t)(b->binds.len / sizeof(struct myr_cache_bind));
		n = myri_link_relocate_observed(&m->link, addr, &obs, err);
		if (n < 0) {
			r = myr_error_set(err, (int)n, "%s: %s", m->name, err->msg);
			goto out;
		}
		if (m->pinned) {
			for (uint32_t i = 0; i < m->view.hdr->relocs.count; i++) {
				const struct myr_reloc *rl = &m->view.relocs[i];
				if (rl->target_seg != MYR_TARGET_IMPORT ||
				    rl->type != MYR_REL_PC32)
					continue;
				const struct myr_import *imp = &m->view.imports[rl->target];
				uint32_t s = m->dep[imp->dep] == NONE ?
					hs_find(b, myr_view_str(&m->view, imp->name_off),
						imp->name_len) : NONE;
				if (s != NONE && b->hs[s].kind != MYR_SYM_FUNC)
					b->hs[s].flags |= MYR_CH_PINNED;
			}
		}
	}
out:
	free(addr);
	free(deps);
	return r;
}

/* ------------------------------------------------------------------ */
/* Serialize                                                           */
/* ------------------------------------------------------------------ */

struct tables {
	struct growbuf meta;            /* from file offset meta_off */
	struct growbuf strings;
	struct growbuf deps, exports, ebuckets, closures;
	struct growbuf modules;
};

static uint32_t str_add(struct growbuf *g, const char *s, uint32_t len, int *bad)
{
	uint32_t off = (uint32_t)g->len;
	static const char nul = 0;
	if (gb_put(g, s, len) < 0 || gb_put(g, &nul, 1) < 0)
		*bad = 1;
	return off;
}

/* The launch closure of program module p: every cached module it needs,
 * dependencies first, the same order a launch computes. */
static int program_closure(struct builder *b, uint32_t p, struct growbuf *out,
			   uint32_t *count)
{
	uint32_t *stack = malloc((b->n ? b->n : 1) * sizeof(*stack));
	uint32_t *next = calloc(b->n ? b->n : 1, sizeof(*next));
	uint8_t *seen = calloc(b->n ? b->n : 1, 1);
	const struct bmod *pm = &b->mods[p];
	int r = 0;

	*count = 0;
	if (!stack || !next || !seen) {
		r = -ENOMEM;
		goto out;
	}
	seen[p] = 1;
	for (uint32_t d = 0; d < pm->view.hdr->deps.count && r == 0; d++) {
		uint32_t depth = 0, root = pm->dep[d];
		if (root == NONE || seen[root])
			continue;
		stack[depth++] = root;
		seen[root] = 1;
		while (depth && r == 0) {
			uint32_t i = stack[depth - 1];
			const struct bmod *m = &b->mods[i];
			if (next[i] < m->view.hdr->deps.count) {
				uint32_t t = m->dep[next[i]++];
				if (t != NONE && !seen[t]) {
					seen[t] = 1;
					stack[depth++] = t;
				}
				continue;
			}
			r = gb_put(out, &i, 4);
			(*count)++;
			depth--;
		}
	}
out:
	free(stack);
	free(next);
	free(seen);
	return r;
}

/* The metadata tables while serialize() builds them; BAD is set on the
 * first failed allocation and checked once at the end. */
struct meta_tables {
	struct growbuf strings, deps, exports, ebuckets, closures, mods,
		       hostsyms, buckets, idents, sums;
	int bad;
};

static void meta_tables_free(struct meta_tables *t)
{
	free(t->strings.p); free(t->deps.p); free(t->exports.p);
	free(t->ebuckets.p); free(t->closures.p); free(t->mods.p);
	free(t->hostsyms.p); free(t->buckets.p); free(t->idents.p);
	free(t->sums.p);
}

/* A module's name, reason and version: what every record has. */
static void record_identity(const struct bmod *m, struct meta_tables *t,
			    struct myr_cache_module *cm)
{
	cm->name_off = str_add(&t->strings, m->name, m->name_len, &t->bad);
	cm->name_len = (uint16_t)m->name_len;
	cm->hash = myr_symbol_hash(m->name, m->name_len);
	if (m->reason) {
		uint32_t rl = (uint32_t)strlen(m->reason);
		if (rl > UINT16_MAX)
			rl = UINT16_MAX;
		cm->reason_off = str_add(&t->strings, m->reason, rl, &t->bad);
		cm->reason_len = (uint16_t)rl;
	}
	if (m->view.hdr) {
		cm->ver_major = m->view.hdr->ver_major;
		cm->ver_minor = m->view.hdr->ver_minor;
		cm->ver_patch = m->view.hdr->ver_patch;
		cm->checksum = m->view.hdr->checksum;
		if (m->view.hdr->flags & MYR_F_PROGRAM)
			cm->flags |= MYR_CM_PROGRAM;
	}
}

/* A module's exports and their hash buckets, copied out of its file. */
static void record_exports(const struct bmod *m, struct meta_tables *t,
			   struct myr_cache_module *cm)
{
	const struct myr_header *mh = m->view.hdr;

	cm->exports.off = (uint32_t)(t->exports.len / sizeof(struct myr_export));
	cm->exports.count = mh->exports.count;
	for (uint32_t e = 0; e < mh->exports.count; e++) {
		struct myr_export x = m->view.exports[e];
		x.name_off = str_add(&t->strings, myr_view_str(&m->view, x.name_off),
				     x.name_len, &t->bad);
		t->bad |= gb_put(&t->exports, &x, sizeof(x)) < 0;
	}
	cm->ebuckets.off = (uint32_t)(t->ebuckets.len / 4);
	cm->ebuckets.count = mh->buckets.count;
	if (mh->buckets.count) {
		t->bad |= gb_put(&t->ebuckets, m->view.buckets,
				 ((size_t)mh->buckets.count + 1) * 4) < 0;
	} else {
		/* The reader keeps no table for no exports;
		 * the image always has count + 1 entries. */
		static const uint32_t zero;
		t->bad |= gb_put(&t->ebuckets, &zero, 4) < 0;
	}
}

/* A module placed in the image: where its segments are, its links, its
 * exports, its init and fini arrays and, for a program, its closure. */
static void record_image(struct builder *b, uint32_t i, struct meta_tables *t,
			 struct myr_cache_module *cm,
			 struct myr_cache_build_result *res)
{
	const struct bmod *m = &b->mods[i];
	const struct myr_header *mh = m->view.hdr;

	cm->flags |= MYR_CM_IMAGE | (m->pinned ? MYR_CM_PINNED : 0);
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		cm->seg_off[s] = (uint32_t)(m->link.seg[s] - b->base);
		cm->seg_size[s] = mh->seg[s].size;
	}
	cm->deps.off = (uint32_t)(t->deps.len / 4);
	for (uint32_t d = 0; d < mh->deps.count; d++) {
		if (m->dep[d] == NONE)
			continue;
		t->bad |= gb_put(&t->deps, &m->dep[d], 4) < 0;
		cm->deps.count++;
	}
	cm->rebases = (struct myr_cache_table){ m->rebase_first, m->nrebase };
	cm->binds = (struct myr_cache_table){ m->bind_first, m->nbind };
	record_exports(m, t, cm);
	if (mh->init.count)
		cm->init = (struct myr_cache_table){
			(uint32_t)(m->link.seg[MYR_SEG_RELRO] + mh->init.off - b->base),
			mh->init.count };
	if (mh->fini.count)
		cm->fini = (struct myr_cache_table){
			(uint32_t)(m->link.seg[MYR_SEG_RELRO] + mh->fini.off - b->base),
			mh->fini.count };
	if (mh->flags & MYR_F_PROGRAM) {
		cm->closure.off = (uint32_t)(t->closures.len / 4);
		t->bad |= program_closure(b, i, &t->closures, &cm->closure.count) < 0;
		res->programs++;
	}
	res->cached++;
	res->pinned += m->pinned != 0;
}

static void record_modules(struct builder *b, struct meta_tables *t,
			   struct myr_cache_build_result *res)
{
	for (uint32_t i = 0; i < b->n && !t->bad; i++) {
		const struct bmod *m = &b->mods[i];
		struct myr_cache_module cm = { 0 };
		static const uint64_t later;    /* seal_sums() */

		record_identity(m, t, &cm);
		if (m->state == B_OK)
			record_image(b, i, t, &cm, res);
		else
			cm.flags &= (uint16_t)~MYR_CM_PROGRAM;
		t->bad |= gb_put(&t->sums, &later, sizeof(later)) < 0;
		t->bad |= gb_put(&t->mods, &cm, sizeof(cm)) < 0;
		t->bad |= gb_put(&t->idents, &m->ident, sizeof(m->ident)) < 0;
	}
}

static void record_host_symbols(const struct builder *b, struct meta_tables *t)
{
	for (uint32_t i = 0; i < b->nhs && !t->bad; i++) {
		const struct hsym *s = &b->hs[i];
		struct myr_cache_hostsym cs = {
			.name_len = (uint16_t)s->len, .kind = s->kind,
			.flags = s->flags,
			.slot = s->stub == NONE ? UINT32_MAX : (uint32_t)
				(b->stub_slots + (size_t)s->stub * 8 - b->base),
			.build_addr = (uint64_t)s->addr,
		};
		cs.name_off = str_add(&t->strings, s->name, s->len, &t->bad);
		t->bad |= gb_put(&t->hostsyms, &cs, sizeof(cs)) < 0;
	}
}

/* The module-name hash table: open addressing, at most half full. */
static void record_name_buckets(const struct builder *b, struct meta_tables *t)
{
	uint32_t nb = 16;

	while (nb <= 2ull * b->n)
		nb *= 2;
	uint32_t *bk = calloc(nb, 4);
	if (!bk) {
		t->bad = 1;
		return;
	}
	for (uint32_t i = 0; i < b->n; i++) {
		uint32_t k = myr_symbol_hash(b->mods[i].name, b->mods[i].name_len) & (nb - 1);
		while (bk[k])
			k = (k + 1) & (nb - 1);
		bk[k] = i + 1;
	}
	t->bad |= gb_put(&t->buckets, bk, (size_t)nb * 4) < 0;
	free(bk);
}

/* Header, then each table 8-aligned, then identities, then the image
 * on a page boundary. Returns nonzero when out of memory. */
static int write_tables(const struct builder *b, struct myr_cache_header *h,
			struct growbuf *file, struct meta_tables *t)
{
	int bad = 0;

	memset(h, 0, sizeof(*h));
	bad |= gb_put(file, h, sizeof(*h)) < 0;
	h->meta_off = (uint32_t)file->len;
#define TABLE(field, g, elem) do {                                          \
		bad |= gb_align(file, 8) < 0;                               \
		h->field.off = (uint32_t)file->len;                         \
		h->field.count = (uint32_t)((g).len / (elem));              \
		bad |= gb_put(file, (g).p, (g).len) < 0;                    \
	} while (0)
	TABLE(modules, t->mods, sizeof(struct myr_cache_module));
	TABLE(buckets, t->buckets, 4);
	TABLE(deps, t->deps, 4);
	TABLE(rebases, b->rebases, 4);
	TABLE(binds, b->binds, sizeof(struct myr_cache_bind));
	TABLE(exports, t->exports, sizeof(struct myr_export));
	TABLE(ebuckets, t->ebuckets, 4);
	TABLE(hostsyms, t->hostsyms, sizeof(struct myr_cache_hostsym));
	TABLE(closures, t->closures, 4);
	TABLE(sums, t->sums, 8);
	{
		/* Filled by seal_sums(), one per page of the image. */
		uint64_t npages = myr_pool_class_start(b->pool, MYR_CLASS_COUNT) /
				  MYR_CACHE_PAGE;
		bad |= gb_align(file, 8) < 0;
		h->page_sums.off = (uint32_t)file->len;
		h->page_sums.count = (uint32_t)npages;
		for (uint64_t p = 0; p < npages && !bad; p++) {
			static const uint64_t later;
			bad |= gb_put(file, &later, sizeof(later)) < 0;
		}
	}
	TABLE(strings, t->strings, 1);
	bad |= gb_align(file, 8) < 0;
	h->meta_size = (uint32_t)(file->len - h->meta_off);
	TABLE(idents, t->idents, sizeof(struct myr_cache_ident));
#undef TABLE
	bad |= gb_align(file, MYR_CACHE_PAGE) < 0;
	return bad;
}

/* Each launch closure entry with the MYR_CACHE_PLAN_* bits of its
 * module's record (MYR_CACHE_F_PLAN): a stamped launch decides the
 * closure from the list alone. */
static void plan_closures(struct meta_tables *t)
{
	uint32_t *e = (uint32_t *)(void *)t->closures.p;
	const struct myr_cache_module *m = (const void *)t->mods.p;

	for (size_t k = 0; k < t->closures.len / 4; k++)
		e[k] |= myr_cache_plan_bits(&m[e[k]]);
}

static int serialize(struct builder *b, struct myr_cache_header *h,
		     struct growbuf *file, struct myr_cache_build_result *res,
		     struct myr_error *err)
{
	struct meta_tables t;
	int r;

	memset(&t, 0, sizeof(t));
	str_add(&t.strings, "", 0, &t.bad);     /* offset 0: the empty string */
	record_modules(b, &t, res);
	if (!t.bad)
		plan_closures(&t);
	record_host_symbols(b, &t);
	if (!t.bad)
		record_name_buckets(b, &t);
	if (t.bad || write_tables(b, h, file, &t)) {
		r = myr_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (b->nstubs) {
		uint32_t ts = b->nstubs * MYR_CACHE_STUB_SIZE, ss = b->nstubs * 8;
		h->stub_text = (struct myr_cache_table){
			(uint32_t)(b->stub_text - b->base), ts };
		h->stub_slots = (struct myr_cache_table){
			(uint32_t)(b->stub_slots - b->base), ss };
	}
	/* Under 4 GiB no count or size above was truncated, so the
	 * launch's own check sees what a launch would: a cache it would
	 * refuse is never written. */
	if (file->len > UINT32_MAX)
		r = myr_error_set(err, -E2BIG, "metadata: %zu bytes, over the "
				  "limit of %u (MYR_CACHE_META_MAX)",
				  file->len - h->meta_off, MYR_CACHE_META_MAX);
	else
		r = myr_cache_check_limits(h, err);
	h->image_off = file->len;
out:
	meta_tables_free(&t);
	return r;
}

/* The content sums, read back from the file as a launch will read it:
 * the header in place, the tables parsed, the image at b->base. */
static int seal_sums(struct builder *b, struct myr_cache_header *h,
		     struct growbuf *file, struct myr_error *err)
{
	struct myr_cache_view v;
	uint64_t *sums, *pages;
	int r;

	memcpy(file->p, h, sizeof(*h));
	r = myr_cache_parse(file->p, file->len, MYR_CACHE_PARSE_META_ONLY |
			    MYR_CACHE_PARSE_NO_SUMS, &v, err);
	if (r < 0)
		return myr_error_set(err, r, "the new image does not parse: %s",
				     err->msg);
	sums = (uint64_t *)(void *)(file->p + h->sums.off);
	for (uint32_t i = 0; i < h->modules.count; i++) {
		if (!(v.modules[i].flags & MYR_CM_IMAGE))
			continue;
		r = myr_cache_check_module(&v, i, err);
		if (r < 0)
			return myr_error_set(err, r, "the new image: %s", err->msg);
		sums[i] = myr_cache_module_sum(&v, i);
	}
	pages = (uint64_t *)(void *)(file->p + h->page_sums.off);
	for (uint32_t p = 0; p < h->page_sums.count; p++)
		pages[p] = myr_xxh64(b->base + (size_t)p * MYR_CACHE_PAGE,
				     MYR_CACHE_PAGE, 0);
	h->stub_sum = h->hostsyms.count && b->base ?
		      myr_cache_stub_sum(&v, b->base) : 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Write atomically                                                    */
/* ------------------------------------------------------------------ */

static int write_all(int fd, const void *p, size_t n, off_t at)
{
	const uint8_t *q = p;
	while (n) {
		ssize_t w = pwrite(fd, q, n, at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		q += w;
		n -= (size_t)w;
		at += w;
	}
	return 0;
}

/* Wait until the file system's clock is past both times of *s: fd, a file
 * of ours, is touched until its mtime is later.  A change made after this
 * gets times that differ from *s.  fd is on the same file system, or it
 * is the service's memfd (b->out_fd): the same kernel clock, but DIR's
 * file system may keep times coarser (2 s on FAT), when a later write
 * could get the very times recorded.  Times without a sub-microsecond
 * part are taken to be that coarse there, and the clock must pass them
 * by 2 s more: a wait only for files changed in the last 2 s. */
static int clock_past(int fd, const struct myr_cache_stamp *s, int other_fs)
{
	int64_t last = s->mtime_ns > s->ctime_ns ? s->mtime_ns : s->ctime_ns;
	struct stat st;

	if (other_fs && (s->mtime_ns % 1000 == 0 || s->ctime_ns % 1000 == 0))
		last += 2000000000;

	for (int tries = 0;; tries++) {
		if (futimens(fd, NULL) != 0 || fstat(fd, &st) != 0)
			return -errno;
		if (ts_ns(&st.st_mtim) > last)
			return 0;
		if (tries > 1000)
			return -EAGAIN;
		struct timespec nap = { 0, 5000000 };
		nanosleep(&nap, NULL);
	}
}

/*
 * Nothing DIR holds changed since it was read.  The file system clock must
 * first have moved past DIR's recorded times (a rename in the same clock
 * tick would leave DIR's mtime unchanged), then DIR and every file are
 * stat'ed again.  A change after this point gets a later mtime, which
 * every launch sees.
 */
static int unchanged_since_read(struct builder *b, int tmpfd)
{
	struct stat st;
	struct myr_cache_stamp ds;
	int r;

	myr_cache_stamp_of(&b->dir_st, &ds);
	if ((r = clock_past(tmpfd, &ds, b->out_fd >= 0)) < 0)
		return r;
	if (fstat(b->dirfd, &st) != 0)
		return -errno;
	struct myr_cache_stamp now;
	myr_cache_stamp_of(&st, &now);
	now.size = ds.size;
	if (memcmp(&now, &ds, sizeof(now)) != 0)
		return 1;
	for (uint32_t i = 0; i < b->n; i++) {
		char path[MYR_NAME_MAX + 8];
		struct myr_cache_stamp s = { 0 };
		snprintf(path, sizeof(path), "%s.myr", b->mods[i].name);
		if (fstatat(b->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
			myr_cache_stamp_of(&st, &s);
		if (memcmp(&s, &b->mods[i].ident.st, sizeof(s)) != 0)
			return 1;
	}
	return 0;
}

static uint32_t programs_as_built(struct builder *b, int vfd);

/* Into the caller's descriptor: no rename, the caller publishes it. */
static int write_to_fd(struct builder *b, struct growbuf *file,
		       const struct myr_cache_header *h, struct myr_error *err)
{
	int r = write_all(b->out_fd, file->p, file->len, 0);

	if (r == 0)
		r = write_all(b->out_fd, b->base, h->bss_start,
			      (off_t)h->image_off);
	if (r < 0)
		return myr_error_set(err, r, "cannot write the image of %s: %s",
				     b->cfg->dir, strerror(-r));
	r = unchanged_since_read(b, b->out_fd);
	if (r < 0)
		return myr_error_set(err, r, "cannot check %s: %s", b->cfg->dir,
				     strerror(-r));
	if (r > 0)
		return myr_error_set(err, -EAGAIN, "%s changed during the build",
				     b->cfg->dir);
	b->proved = programs_as_built(b, b->out_fd);
	return 0;
}

/*
 * The stamp could not be written (WHAT failed with errno e): the image
 * stays published and is used, each launch checking it, so the build goes
 * on with res saying so ("cannot write DIR/.myriad-cache/verified: WHAT:
 * strerror(e)").  Returns 1.
 */
static int stamp_failed(const struct builder *b,
			struct myr_cache_build_result *res, int e,
			const char *what)
{
	res->stamp_error = -e;
	snprintf(res->stamp_why, sizeof(res->stamp_why),
		 "cannot write %s/%s/%s: %s: %s", b->cfg->dir, MYR_CACHE_SUBDIR,
		 MYR_CACHE_VERIFIED_FILE, what, strerror(e));
	return 1;
}

/*
 * The published image, opened again by name as fd, checked whole as a
 * launch would check it, while it kept one identity (*st; *h its header):
 * 0; <0 with err set (the image is wrong); 1 with res set (no stamp
 * possible).  The clock is past the file's times first (vfd is touched),
 * so a write during the check either lands before the check reads it or
 * changes the ctime, which is compared after.
 */
static int verify_published(struct builder *b, int fd, int vfd,
			    struct stat *st, struct myr_cache_header *h,
			    struct myr_cache_build_result *res,
			    struct myr_error *err)
{
	struct myr_cache_stamp before, after;
	struct myr_cache_view v;
	struct myr_error why = { 0 };
	void *map = MAP_FAILED;
	size_t map_len = 0;
	int r;

	if (fstat(fd, st) != 0)
		return stamp_failed(b, res, errno, "fstat of " MYR_CACHE_FILE);
	myr_cache_stamp_of(st, &before);
	if ((r = clock_past(vfd, &before, 0)) < 0)
		return stamp_failed(b, res, -r, "waiting for the clock");
	r = myri_cache_verify_map(fd, st, &map, &map_len, &v, &why);
	if (r == 0)
		memcpy(h, v.hdr, sizeof(*h));
	if (map != MAP_FAILED)
		munmap(map, map_len);
	if (r < 0)
		return myr_error_set(err, r, "the new image %s/%s/%s does not "
				     "verify: %s", b->cfg->dir, MYR_CACHE_SUBDIR,
				     MYR_CACHE_FILE, why.msg);
	if (fstat(fd, st) != 0)
		return stamp_failed(b, res, errno, "fstat of " MYR_CACHE_FILE);
	myr_cache_stamp_of(st, &after);
	if (memcmp(&before, &after, sizeof(after)) != 0)
		return myr_error_set(err, -EAGAIN, "%s/%s/%s changed while it "
				     "was verified", b->cfg->dir,
				     MYR_CACHE_SUBDIR, MYR_CACHE_FILE);
	return 0;
}

/* Whether program module i's file holds, now, exactly the bytes built
 * and the identity recorded, read in one go (a spare byte sees growth). */
static int program_as_built(struct builder *b, uint32_t i, uint8_t *buf)
{
	const struct bmod *m = &b->mods[i];
	char path[MYR_NAME_MAX + 8];
	struct myr_cache_stamp s = { 0 };
	struct stat st;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "%s.myr", m->name);
	fd = openat(b->dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
		    O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0)
		myr_cache_stamp_of(&st, &s);
	if (memcmp(&s, &m->ident.st, sizeof(s)) == 0)
		n = pread(fd, buf, m->len + 1, 0);
	if (n == (ssize_t)m->len && fstat(fd, &st) == 0)
		myr_cache_stamp_of(&st, &s);
	close(fd);
	return n == (ssize_t)m->len &&
	       memcmp(&s, &m->ident.st, sizeof(s)) == 0 &&
	       memcmp(buf, m->file, m->len) == 0;
}

/*
 * MYR_CACHE_VERIFIED_PROGRAMS, or 0: every program in the image was read
 * again, once the file system's clock (vfd, as in clock_past) had passed
 * its recorded times, and held the bytes built under the identity
 * recorded.  A write after that read gets later times, so a launch that
 * finds a program file's fstat() equal to the identity runs the bytes
 * built: it may take the program from the image without reading it.
 */
static uint32_t programs_as_built(struct builder *b, int vfd)
{
	struct myr_cache_stamp last = { 0 };
	size_t most = 0;
	uint8_t *buf;
	int ok = 1;

	for (uint32_t i = 0; i < b->n; i++) {
		const struct bmod *m = &b->mods[i];
		if (m->state != B_OK || !(m->view.hdr->flags & MYR_F_PROGRAM))
			continue;
		if (m->ident.st.mtime_ns > last.mtime_ns)
			last.mtime_ns = m->ident.st.mtime_ns;
		if (m->ident.st.ctime_ns > last.ctime_ns)
			last.ctime_ns = m->ident.st.ctime_ns;
		if (m->len > most)
			most = m->len;
	}
	if (most == 0 || clock_past(vfd, &last, b->out_fd >= 0) < 0 ||
	    !(buf = malloc(most + 1)))
		return 0;
	for (uint32_t i = 0; i < b->n && ok; i++) {
		const struct bmod *m = &b->mods[i];
		if (m->state == B_OK && (m->view.hdr->flags & MYR_F_PROGRAM))
			ok = program_as_built(b, i, buf);
	}
	free(buf);
	return ok ? MYR_CACHE_VERIFIED_PROGRAMS : 0;
}

/*
 * The stamp that lets launches skip the checks verify_published() made
 * (<myriad/cache.h>, MYR_CACHE_VERIFIED_FILE): written to a temporary
 * file, synced, renamed into place.  Without it launches are only slower,
 * so failing to write it is no failure of the build: 0, 1 with res saying
 * why there is no stamp, or <0 with err set when the image is wrong.
 */
static int write_verified(struct builder *b, struct myr_cache_build_result *res,
			  struct myr_error *err)
{
	struct myr_cache_verified rec;
	struct myr_cache_header h;
	struct stat st;
	char tmp[64], what[80];
	int fd, vfd, r;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", MYR_CACHE_VERIFIED_FILE,
		 (int)getpid());
	unlinkat(b->subfd, tmp, 0);
	fd = openat(b->subfd, MYR_CACHE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return stamp_failed(b, res, errno, "opening " MYR_CACHE_FILE);
	vfd = openat(b->subfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		     O_NOFOLLOW, 0644);
	if (vfd < 0) {
		int e = errno;
		close(fd);
		snprintf(what, sizeof(what), "creating %s", tmp);
		return stamp_failed(b, res, e, what);
	}
	r = verify_published(b, fd, vfd, &st, &h, res, err);
	close(fd);
	if (r == 0) {
		myr_cache_verified_make(&rec, &st, &h,
					programs_as_built(b, vfd));
		r = write_all(vfd, &rec, sizeof(rec), 0);
		if (r == 0 && fsync(vfd) != 0)
			r = -errno;
		if (r == 0 && renameat(b->subfd, tmp, b->subfd,
				       MYR_CACHE_VERIFIED_FILE) != 0)
			r = -errno;
		/* Not known to last: removed, so that res says there is none. */
		if (r == 0 && fsync(b->subfd) != 0) {
			r = -errno;
			unlinkat(b->subfd, MYR_CACHE_VERIFIED_FILE, 0);
		}
		if (r < 0) {
			snprintf(what, sizeof(what), "writing %s", tmp);
			r = stamp_failed(b, res, -r, what);
		}
	}
	close(vfd);
	if (r != 0)
		unlinkat(b->subfd, tmp, 0);
	return r;
}

static int write_cache(struct builder *b, struct growbuf *file,
		       const struct myr_cache_header *h,
		       struct myr_cache_build_result *res, struct myr_error *err)
{
	char tmp[64];
	uint64_t rnd = 0;
	int fd, r;

	if (b->out_fd >= 0)
		return write_to_fd(b, file, h, err);
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d.%llx", MYR_CACHE_FILE, (int)getpid(),
		 (unsigned long long)(rnd & 0xffffffffffull));
	fd = openat(b->subfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		return myr_error_set(err, -e, "cannot write %s/%s: %s",
				     b->cfg->dir, MYR_CACHE_SUBDIR, strerror(e));
	}
	r = write_all(fd, file->p, file->len, 0);
	if (r == 0)
		r = write_all(fd, b->base, h->bss_start, (off_t)h->image_off);
	if (r == 0 && fsync(fd) != 0)
		r = -errno;
	if (r < 0) {
		myr_error_set(err, r, "cannot write %s/%s/%s: %s", b->cfg->dir,
			      MYR_CACHE_SUBDIR, tmp, strerror(-r));
		goto fail;
	}
	r = unchanged_since_read(b, fd);
	if (r != 0) {
		if (r < 0)
			myr_error_set(err, r, "cannot check %s: %s", b->cfg->dir,
				      strerror(-r));
		else
			myr_error_set(err, -EAGAIN, "%s changed during the build",
				      b->cfg->dir);
		r = r < 0 ? r : -EAGAIN;
		goto fail;
	}
	close(fd);
	/* The old image's stamp goes first: a stamp never names a file
	 * other than the one it was made for, even after a crash here. */
	if (unlinkat(b->subfd, MYR_CACHE_VERIFIED_FILE, 0) != 0 &&
	    errno != ENOENT) {
		int e = errno;
		unlinkat(b->subfd, tmp, 0);
		return myr_error_set(err, -e, "cannot remove %s/%s/%s: %s",
				     b->cfg->dir, MYR_CACHE_SUBDIR,
				     MYR_CACHE_VERIFIED_FILE, strerror(e));
	}
	if (renameat(b->subfd, tmp, b->subfd, MYR_CACHE_FILE) != 0) {
		int e = errno;
		unlinkat(b->subfd, tmp, 0);
		return myr_error_set(err, -e, "cannot rename into %s/%s/%s: %s",
				     b->cfg->dir, MYR_CACHE_SUBDIR,
				     MYR_CACHE_FILE, strerror(e));
	}
	if (fsync(b->subfd) != 0) {
		int e = errno;
		return myr_error_set(err, -e, "fsync of %s/%s: %s", b->cfg->dir,
				     MYR_CACHE_SUBDIR, strerror(e));
	}
	r = write_verified(b, res, err);
	return r < 0 ? r : 0;
fail:
	close(fd);
	unlinkat(b->subfd, tmp, 0);
	return r;
}

/* ------------------------------------------------------------------ */
/* The whole build                                                     */
/* ------------------------------------------------------------------ */

static void builder_free(struct builder *b)
{
	for (uint32_t i = 0; i < b->n; i++) {
		free(b->mods[i].name);
		free(b->mods[i].file);
		free(b->mods[i].reason);
		free(b->mods[i].dep);
	}
	free(b->mods);
	free(b->map);
	free(b->hs);
	free(b->hsmap);
	free(b->placed);
	free(b->rebases.p);
	free(b->binds.p);
	myr_pool_exit(b->pool);
	if (b->subfd >= 0)
		close(b->subfd);
	if (b->dirfd >= 0)
		close(b->dirfd);
}

/* Open DIR and its cache subdirectory (created, and DIR synced, if new). */
static int open_dirs(struct builder *b, struct myr_error *err)
{
	const char *dir = b->cfg->dir;
	int created = 0;

	b->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->dirfd < 0) {
		int e = errno;
		return myr_error_set(err, -e, "%s: %s", dir, strerror(e));
	}
	if (b->out_fd >= 0)
		goto stamp;     /* nothing is written in DIR */
	if (mkdirat(b->dirfd, MYR_CACHE_SUBDIR, 0755) == 0)
		created = 1;
	else if (errno != EEXIST) {
		int e = errno;
		return myr_error_set(err, -e, "cannot write the cache in %s: %s",
				     dir, strerror(e));
	}
	if (created && fsync(b->dirfd) != 0) {
		int e = errno;
		return myr_error_set(err, -e, "fsync of %s: %s", dir, strerror(e));
	}
	b->subfd = openat(b->dirfd, MYR_CACHE_SUBDIR, O_RDONLY | O_DIRECTORY |
			  O_CLOEXEC | O_NOFOLLOW);
	if (b->subfd < 0) {
		int e = errno;
		return myr_error_set(err, -e, "cannot open %s/%s: %s", dir,
				     MYR_CACHE_SUBDIR, strerror(e));
	}
	/* Writable?  Say so now, before reading thousands of files. */
	if (faccessat(b->subfd, ".", W_OK, AT_EACCESS) != 0) {
		int e = errno;
		return myr_error_set(err, -e, "cannot write the cache in %s/%s: %s",
				     dir, MYR_CACHE_SUBDIR, strerror(e));
	}
stamp:
	if (fstat(b->dirfd, &b->dir_st) != 0) {
		int e = errno;
		return myr_error_set(err, -e, "%s: %s", dir, strerror(e));
	}
	return 0;
}

static int build_once(const struct myr_cache_build_config *cfg, int out_fd,
		      struct myr_cache_build_result *res, struct myr_error *err)
{
	struct builder b = { .cfg = cfg, .host = cfg->host, .dirfd = -1,
			     .subfd = -1, .out_fd = out_fd };
	struct myr_host_binding nohost = { .name = MYR_HOST_MODULE_NAME };
	struct myr_cache_header h;
	struct growbuf file = { 0 };
	int r;

	if (!b.host)
		b.host = &nohost;
	r = open_dirs(&b, err);
	if (r == 0)
		r = scan(&b, err);
	if (r < 0)
		goto out;
	res->modules = b.n;
	for (uint32_t i = 0; i < b.n; i++)
		read_module(&b, i);
	for (uint32_t i = 0; i < b.n && r == 0; i++)
		r = resolve_own(&b, i);
	if (r == 0)
		r = propagate(&b);
	if (r == 0)
		r = collect_host_symbols(&b);
	if (r < 0) {
		if (r == -E2BIG)
			myr_error_set(err, r, "more than %u host symbols, over "
				      "the limit (MYR_CACHE_HOSTSYMS_MAX)",
				      MYR_CACHE_HOSTSYMS_MAX);
		else
			myr_error_set(err, r, "out of memory");
		goto out;
	}
	r = place(&b, err);
	if (r == 0)
		r = link_all(&b, err);
	if (r < 0)
		goto out;
	r = serialize(&b, &h, &file, res, err);
	if (r < 0)
		goto out;
	memcpy(h.magic, MYR_CACHE_MAGIC, 8);
	h.version = MYR_CACHE_VERSION;
	h.flags = MYR_CACHE_F_PLAN;
	h.arch = MYR_ARCH_HOST;
	h.pref_base = (uint64_t)(uintptr_t)b.base;
	h.image_size = myr_pool_class_start(b.pool, MYR_CLASS_COUNT);
	h.bss_start = (uint32_t)myr_pool_bss_start(b.pool);
	h.file_size = h.image_off + h.bss_start;
	for (unsigned c = 0; c <= MYR_CLASS_COUNT; c++)
		h.class_start[c] = (uint32_t)myr_pool_class_start(b.pool, c);
	h.host_major = b.host->ver_major;
	for (uint32_t i = 0; i < b.n; i++) {
		const struct bmod *m = &b.mods[i];
		if (m->state != B_OK)
			continue;
		for (uint32_t d = 0; d < m->view.hdr->deps.count; d++)
			if (m->dep[d] == NONE && m->view.deps[d].ver_minor > h.host_minor)
				h.host_minor = m->view.deps[d].ver_minor;
	}
	myr_cache_stamp_of(&b.dir_st, &h.dir);
	h.dir.size = 0;
	if (getrandom(&h.generation, sizeof(h.generation), GRND_NONBLOCK) !=
	    sizeof(h.generation))
		h.generation = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (h.image_size == 0 || !b.base)
		/* Nothing placed: the file still describes the directory
		 * (every module left out, with its reason). */
		h.pref_base = MYR_CACHE_PAGE * 16;
	r = seal_sums(&b, &h, &file, err);
	if (r < 0)
		goto out;
	h.meta_checksum = myr_xxh64(file.p + h.meta_off, h.meta_size, 0);
	h.ident_checksum = myr_xxh64(file.p + h.idents.off,
				     (size_t)h.idents.count * sizeof(struct myr_cache_ident), 0);
	h.header_checksum = 0;
	h.header_checksum = myr_xxh64(&h, sizeof(h), 0);
	memcpy(file.p, &h, sizeof(h));
	r = write_cache(&b, &file, &h, res, err);
	res->flags = b.proved;
	res->file_size = h.file_size;
	res->image_size = h.image_size;
out:
	free(file.p);
	builder_free(&b);
	return r;
}

static int build(const struct myr_cache_build_config *cfg, int out_fd,
		 struct myr_cache_build_result *res, struct myr_error *err)
{
	int r = -EAGAIN;

	for (unsigned a = 1; a <= ATTEMPTS && r == -EAGAIN; a++) {
		memset(res, 0, sizeof(*res));
		res->attempts = a;
		if (out_fd >= 0 && a > 1 && ftruncate(out_fd, 0) != 0)
			return myr_error_set(err, -EIO, "cannot truncate the "
					     "image being built");
		r = build_once(cfg, out_fd, res, err);
	}
	return r;
}

int myr_cache_build(const struct myr_cache_build_config *cfg,
		    struct myr_cache_build_result *res, struct myr_error *err)
{
	return build(cfg, -1, res, err);
}

int myr_cache_build_fd(const struct myr_cache_build_config *cfg, int fd,
		       struct myr_cache_build_result *res,
		       struct myr_error *err)
{
	if (fd < 0)
		return myr_error_set(err, -EBADF, "no descriptor to build into");
	return build(cfg, fd, res, err);
}
