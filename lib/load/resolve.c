/* SPDX-License-Identifier: MIT */
/*
 * lib/load/resolve.c - stage 1, resolve + fetch: read the program, fetch
 * its closure hint in one batch (fetch.c's lanes parse and checksum each
 * file as it arrives: fetched_item()), then walk the dependency graph
 * breadth first, a fetch batch per level, check versions, and order the
 * modules depth first (the init and placement order), rejecting cycles.
 *
 * May assume: a loader fresh from myr_loader_init() (stage S_NEW), with
 * its pool; nothing read yet.  Leaves: every module reached parsed
 * (structure only; checksums are verify's unless a fetch lane did them,
 * m->pre), its dependency slots filled (a module, HOST_MODULE, or a CACHED
 * index of the cache's image), l->order and l->init_order complete.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "load/loader_internal.h"

static int is_host_name(const char *name, uint32_t len)
{
	return len == sizeof(MYR_HOST_MODULE_NAME) - 1 &&
	       bytes_equal(name, MYR_HOST_MODULE_NAME, len);
}


/* Open the program file: a descriptor of a regular file within the size
 * limit, *st its fstat(), or -errno reported.  A path, not a library
 * name: the user chose it.  O_NONBLOCK so that opening a FIFO cannot
 * hang; only regular files are read at all. */
static int open_program(struct myr_loader *l, const char *path,
			struct stat *st)
{
	int fd, e;

	/* openat(), not open(): musl's open() follows an O_CLOEXEC open
	 * with fcntl(F_SETFD) for kernels before 2.6.23, one syscall more. */
	fd = openat(AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		report(l, -e, "%s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, st) != 0) {
		e = errno;
		close(fd);
		report(l, -e, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		report(l, -ENOEXEC, "%s: not a regular file (%s)", path,
		       myr_file_type_name(st->st_mode));
		return -ENOEXEC;
	}
	if ((uint64_t)st->st_size > MYR_FILE_MAX) {
		close(fd);
		report(l, -EFBIG, "%s: %lld bytes, over the %u-byte module "
		       "limit", path, (long long)st->st_size, MYR_FILE_MAX);
		return -EFBIG;
	}
	return fd;
}

/* Read the program file whole from fd (open_program's, the caller's). */
static int read_program(struct myr_loader *l, const char *path, int fd,
			const struct stat *stp)
{
	struct stat st = *stp;
	size_t got = 0;
	int e;
	/* One spare byte shows whether the file grew while being read.
	 * Mapped and populated: a program with a large closure hint is
	 * hundreds of KiB, and one call beats a page fault per page. */
	l->program_cap = (size_t)st.st_size + 1;
	l->program_buf = l->program_cap <= (16u << 10) ?
		myri_scratch_alloc(l, l->program_cap) : NULL;
	if (!l->program_buf)
		l->program_buf = mmap(NULL, l->program_cap,
				      PROT_READ | PROT_WRITE, MAP_PRIVATE |
				      MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (l->program_buf == MAP_FAILED) {
		l->program_buf = NULL;
		report(l, -ENOMEM, "%s: out of memory", path);
		return -ENOMEM;
	}
	/* Until fstat's size is read: a regular file read whole in one call
	 * needs no second read for the end of file, and the spare byte asked
	 * for still shows one that grew.  A short read (a shrunk file, some
	 * network file systems) reads on until the end of file. */
	while (got < (size_t)st.st_size || st.st_size == 0) {
		ssize_t n = read(fd, l->program_buf + got,
				 (size_t)st.st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			report(l, -e, "%s: %s", path, strerror(e));
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size) {
			report(l, -EBUSY, "%s: changed while being read", path);
			return -EBUSY;
		}
	}
	l->mods[0].file = l->program_buf;
	l->mods[0].file_len = got;
	l->stats.bytes_read += got;
	return 0;
}

/* The program's view, parsed with flags; one line if it cannot be. */
static int parse_program_view(struct myr_loader *l, const char *path,
			      unsigned flags)
{
	struct lmod *m = &l->mods[0];
	struct myr_error err = { 0 };
	int r = myr_module_parse(m->file, m->file_len,
				 MYR_PARSE_NO_CHECKSUM | flags, &m->view, &err);

	if (r == -ENOEXEC || r == -ENODATA) {
		report(l, -ENOEXEC, "%s: not a Myriad module", path);
		return -ENOEXEC;
	}
	if (r < 0)
		report(l, r, "%s: %s", path, err.msg);
	return r;
}

/*
 * Its closure hint is checked only when it is used (hint_needed: parsed
 * again whole before fetch_hint()): with a cache or the loader service,
 * which hold every library module, the hint of a program of 10,000
 * dependencies names them all, and checking the names was a quarter of
 * a served launch.
 */
static int parse_program(struct myr_loader *l, const char *path)
{
	struct lmod *m = &l->mods[0];
	int r = parse_program_view(l, path, l->cfg->cache || l->cfg->cache_open ?
				   MYR_PARSE_NO_CLOSURE : 0);

	if (r < 0)
		return r;
	if (!(m->view.hdr->flags & MYR_F_PROGRAM) ||
	    m->view.hdr->entry.seg != MYR_SEG_TEXT) {
		report(l, -ENOEXEC, "%s: module %s is a library, not a program "
		       "(it has no entry point)", path, m->view.name);
		return -ENOEXEC;
	}
	/* The program is known by its own name from now on. */
	m->name = myri_arena_strndup(l, m->view.name, m->view.hdr->name_len);
	if (!m->name)
		return -ENOMEM;
	m->name_len = m->view.hdr->name_len;
	m->hash = name_hash(m->name, m->name_len);
	m->pub.name = m->name;
	m->ndeps = m->view.hdr->deps.count;
	m->ver_major = m->view.hdr->ver_major;
	m->ver_minor = m->view.hdr->ver_minor;
	m->state = M_PARSED;
	m->reached = 1;
	return 0;
}

/* parse_as_named(): the file holds a module of another name. */
#define OTHER_NAME 1

/*
 * Parse module m from data (structure only: checksums are verify's, and a
 * library's closure hint is never read, only the program's) and check it
 * is the module that was asked for; then fill what the walks read instead
 * of the header.  Returns 0, the reader's -errno (err says why), or
 * OTHER_NAME.  Writes only m's own fields: a fetch lane may call it.
 */
static inline __attribute__((always_inline)) int
parse_as_named(struct lmod *m, const uint8_t *data, size_t len,
	       struct myr_error *err)
{
	int r = myr_module_parse(data, len,
				 MYR_PARSE_NO_CHECKSUM | MYR_PARSE_NO_CLOSURE,
				 &m->view, err);

	if (r < 0)
		return r;
	if (m->view.hdr->name_len != m->name_len ||
	    !bytes_equal(m->view.name, m->name, m->name_len))
		return OTHER_NAME;
	m->ndeps = m->view.hdr->deps.count;
	m->ver_major = m->view.hdr->ver_major;
	m->ver_minor = m->view.hdr->ver_minor;
	return 0;
}

/*
 * The module of the name map a dependency names (a valid name: the reader
 * checked every one), or NO_MODULE: not there yet, or the host's name,
 * which is no module.  *hash: the name's, unless it is the host's.  Reads the map only, so a fetch
 * lane may call it while nothing writes the map.
 */
static inline __attribute__((always_inline)) uint32_t
dep_lookup(const struct myr_loader *l, const char *name,
	   uint32_t len, uint32_t *hash)
{
	if (is_host_name(name, len))
		return NO_MODULE;
	*hash = name_hash(name, len);
	return map_find(l, name, len, *hash);
}

/*
 * On the fetch lane that read item i: parse (structure only, as
 * parse_module() does), check the name, checksum, and look up the
 * dependencies, while the file is in this CPU's cache.  Writes only module
 * want[i]'s own fields; reads the name map and other modules' names,
 * which nothing writes during a fetch.
 */
static void fetched_item(void *opaque, size_t i,
			 const struct myr_fetch_item *item)
{
	const struct batch_ctx *b = opaque;
	const struct myr_loader *l = b->l;
	struct lmod *m = &l->mods[b->want[i]];
	const struct myr_module_view *v = &m->view;
	struct myr_error err;

	if (item->status != 0)
		return;
	if (parse_as_named(m, item->data, item->len, &err) != 0) {
		m->pre = PRE_BAD;
		return;
	}
	if (m->ndeps <= PRE_DEPS) {
		uint8_t optional = 0;
		/* Names valid: the parse checked every dependency. */
		for (uint32_t k = 0; k < m->ndeps; k++) {
			const struct myr_dep *d = &v->deps[k];
			const char *name = myr_view_str(v, d->name_off);
			uint32_t hash;
			m->pre_dep[k] = dep_lookup(l, name, d->name_len, &hash);
			m->pre_need[k][0] = d->ver_major;
			m->pre_need[k][1] = d->ver_minor;
			if (d->flags & MYR_DEP_OPTIONAL)
				optional |= 1u << k;
		}
		m->pre_optional = optional;
		m->pre_deps = 1;
	}
	m->pre = myr_module_checksum(v->base, v->size) == v->hdr->checksum ?
		 PRE_SUM_OK : PRE_SUM_BAD;
}

/* The fetcher's byte budget: the config's, or the limit. */
static uint64_t byte_budget(const struct myr_loader *l)
{
	uint64_t max = l->cfg->max_bytes;
	return max && max <= MYR_LOAD_BYTES_MAX ? max : MYR_LOAD_BYTES_MAX;
}

/*
 * When a batch ran out of MYR_LOAD_BYTES_MAX, which lane's file was
 * refused depends on timing.  The report must not: it names the module
 * at which the batch's files, taken in batch order, pass the budget (a
 * refused item's len is the size it would have added), and their total.
 */
static void budget_culprit(struct myr_loader *l, const uint32_t *want,
			   const struct myr_fetch_item *items, size_t n)
{
	uint64_t total = l->lib_bytes, max = byte_budget(l);
	int refused = 0;

	for (size_t i = 0; i < n && !refused; i++)
		refused = items[i].status == -EDQUOT;
	if (!refused || l->budget_culprit != NO_MODULE)
		return;
	for (size_t i = 0; i < n; i++) {
		if (items[i].status != 0 && items[i].status != -EDQUOT)
			continue;
		total += items[i].len;
		if (total > max) {
			l->budget_culprit = want[i];
			l->budget_total = total;
			return;
		}
	}
}

/* Fetch the modules listed in want[0..n) (all in state M_WANTED) in one
 * batch, recording each result in its module. */
static int fetch_batch(struct myr_loader *l, const uint32_t *want, size_t n,
		       const uint32_t *size_hints)
{
	struct myr_fetch_item *items;
	void *items_base;
	size_t items_len = 0;
	uint64_t t0;
	int r;

	if (!n)
		return 0;
	l->batch.l = l;
	l->batch.want = want;
	if (!l->fetcher) {
		/* Opened on first use: a program without library dependencies
		 * needs no library directory at all. */
		struct myr_fetch_config fc = {
			.dirs = l->cfg->dirs, .ndirs = l->cfg->ndirs,
			.io = l->cfg->io, .trace = l->cfg->trace,
			.trace_opaque = l->cfg->trace_opaque,
			.nthreads = l->cfg->nthreads,
			.max_bytes = l->cfg->max_bytes,
			.on_item = fetched_item, .on_item_opaque = &l->batch,
		};
		struct myr_error err = { 0 };
		r = myr_fetcher_init(&l->fetcher, &fc, &err);
		if (r < 0) {
			l->fetcher = NULL;
			report(l, r, "%s", err.msg);
			return r;
		}
	}
	items = n <= SIZE_MAX / sizeof(*items) ?
		myri_big_alloc(l, n * sizeof(*items), &items_base, &items_len) : NULL;
	if (!items) {
		report(l, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		items[i].name = l->mods[want[i]].name;
		items[i].name_len = l->mods[want[i]].name_len;
		items[i].size_hint = size_hints ? size_hints[i] : 0;
	}
	t0 = now_ns(l);
	r = myr_fetcher_fetch(l->fetcher, items, n);
	l->stats.ns_fetch += now_ns(l) - t0;
	l->stats.fetch_batches++;
	if (r < 0) {
		myri_big_free(l, items, items_base, items_len);
		report(l, r, "reading modules: %s", strerror(-r));
		return r;
	}
	budget_culprit(l, want, items, n);
	for (size_t i = 0; i < n; i++) {
		struct lmod *m = &l->mods[want[i]];
		m->dir = items[i].dir;
		m->fetch_status = items[i].status;
		if (items[i].status == 0) {
			m->state = M_FETCHED;
			m->file = items[i].data;
			m->file_len = items[i].len;
			l->stats.bytes_read += items[i].len;
			l->lib_bytes += items[i].len;
		} else {
			m->state = M_FAILED;
			if (items[i].msg[0])
				m->fetch_msg = myri_arena_strndup(l, items[i].msg,
							     strlen(items[i].msg));
		}
	}
	myri_big_free(l, items, items_base, items_len);
	return 0;
}

/*
 * Before reading anything: a closure that cannot fit the pool's module
 * limit or MYR_LOAD_BYTES_MAX, as the program's closure hint counts it,
 * fails now, naming the limit, instead of after reading every file (17 s
 * at 100,000 modules).  Without a cache only: an image's modules are
 * placed by the image.  A hint that overstates its closure (a library
 * that dropped a dependency since the link) can refuse a launch that
 * would fit; relinking the program refreshes it.
 */
static int hint_over_limits(struct myr_loader *l, const struct myr_module_view *pv)
{
	uint32_t n = pv->hdr->closure.count;
	uint64_t bytes = 0;

	if (l->cache)
		return 0;
	if ((uint64_t)n + 1 > l->cfg->limits.modules) {
		report(l, -E2BIG, "%s: pool limit exceeded: its closure hint lists %u "
		       "modules and the program, --pool-modules is %llu (nothing "
		       "was read)", l->mods[0].name, n,
		       (unsigned long long)l->cfg->limits.modules);
		return 1;
	}
	for (uint32_t i = 0; i < n; i++)
		bytes += pv->closure[i].size_hint;
	if (bytes > byte_budget(l)) {
		report(l, -EDQUOT, "%s: over MYR_LOAD_BYTES_MAX: its closure hint's "
		       "module files total %llu bytes, limit %llu (nothing was read)",
		       l->mods[0].name, (unsigned long long)bytes,
		       (unsigned long long)byte_budget(l));
		return 1;
	}
	return 0;
}

/* The closure hint: every module the program was linked against, read in
 * one batch.  Only a hint: entries are never trusted, merely fetched. */
static int fetch_hint(struct myr_loader *l)
{
	/* A copy: myri_add_module() moves the module array. */
	const struct myr_module_view pv_copy = l->mods[0].view, *pv = &pv_copy;
	uint32_t n = pv->hdr->closure.count, nwant = 0;
	uint32_t *want = myri_lmalloc(l, (n ? n : 1) * sizeof(*want));
	uint32_t *hints = myri_lmalloc(l, (n ? n : 1) * sizeof(*hints));
	uint32_t mapcap = l->mapcap ? l->mapcap : 64;
	int r;

	if (hint_over_limits(l, pv)) {
		myri_lfree(l, want);
		myri_lfree(l, hints);
		return l->failed;
	}
	/* The hint says how many modules to expect: one table and one map,
	 * sized once, no copies and no rehash. */
	while (n < MYR_LOAD_MODULES_MAX &&
	       (uint64_t)(l->nmods + n + 1) * 2 > mapcap)
		mapcap *= 2;
	if (!want || !hints || (l->nmods + n > l->capmods && n < MYR_LOAD_MODULES_MAX &&
				myri_mods_grow(l, l->nmods + n) < 0) ||
	    (mapcap != l->mapcap && myri_map_grow(l, mapcap) < 0)) {
		myri_lfree(l, want);
		myri_lfree(l, hints);
		report(l, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct myr_dep *c = &pv->closure[i];
		const char *name = myr_view_str(pv, c->name_off);
		uint32_t idx, hash;

		/* The reader validated every closure name already. */
		if (is_host_name(name, c->name_len))
			continue;
		hash = name_hash(name, c->name_len);
		if (map_find(l, name, c->name_len, hash) != NO_MODULE)
			continue;
		if (l->cache &&
		    myr_cache_find(l->cache, name, c->name_len) >= 0)
			continue;
		idx = myri_add_module(l, name, c->name_len, hash);
		if (idx == NO_MODULE)
			break;
		want[nwant] = idx;
		hints[nwant++] = c->size_hint;
	}
	r = fetch_batch(l, want, nwant, hints);
	myri_lfree(l, want);
	myri_lfree(l, hints);
	return r;
}

/* cfg->cache_ask, called once with the program's descriptor: whether a
 * request (the loader service's) is out, whose answer cache_open will
 * wait for. */
static int ask_cache(struct myr_loader *l, int fd)
{
	if (!l->cache_asked)
		l->cache_asked = l->cfg->cache_ask(l->cfg->cache_opaque, fd) > 0 ?
				 1 : -1;
	return l->cache_asked > 0;
}

/* The cache, when the program needs a library module at all: a program
 * with none pays nothing for it.  With cache_ask, the program's checksum
 * (verify's, 241 KB hashed for a program of 10,000 dependencies, whose
 * closure hint names them all) is computed while the service answers. */
static void open_cache(struct myr_loader *l, int fd)
{
	struct lmod *m = &l->mods[0];
	const struct myr_module_view *pv = &m->view;

	if (l->cache_opened)    /* by program_from_image(), once */
		return;
	l->cache = l->cfg->cache;
	if (l->cache || !l->cfg->cache_open)
		return;
	for (uint32_t d = 0; d < pv->hdr->deps.count; d++)
		if (!is_host_name(myr_view_str(pv, pv->deps[d].name_off),
				  pv->deps[d].name_len)) {
			if (l->cfg->cache_ask) {
				ask_cache(l, fd);
				m->pre = myr_module_checksum(pv->base, pv->size) ==
					 pv->hdr->checksum ? PRE_SUM_OK :
					 PRE_SUM_BAD;
			}
			l->cache = l->cfg->cache_open(l->cfg->cache_opaque);
			return;
		}
}

/*
 * With a cache: the program's recorded launch closure, if the cache has
 * one for exactly this program (its checksum) and every entry is still
 * usable; and whether the closure hint is needed at all: not when every
 * direct dependency comes from the image, whose modules need no file.
 */
static void use_cache_records(struct myr_loader *l)
{
	struct myr_cache *c = l->cache;
	const struct myr_module_view *pv = &l->mods[0].view;

	if (myr_cache_launch_closure(c, l->mods[0].name, l->mods[0].name_len,
				     pv->hdr->checksum, &l->launch_closure,
				     &l->nlaunch) < 0) {
		l->launch_closure = NULL;
		l->nlaunch = 0;
	}
	l->hint_needed = 0;
	for (uint32_t d = 0; d < pv->hdr->deps.count; d++) {
		const char *name = myr_view_str(pv, pv->deps[d].name_off);
		if (!is_host_name(name, pv->deps[d].name_len) &&
		    myr_cache_find(c, name, pv->deps[d].name_len) < 0) {
			l->hint_needed = 1;
			return;
		}
	}
}

/* A program file at least this large may run from the cache's image
 * without being read (program_from_image): below it, reading costs less
 * than opening a cache that a program without library modules would
 * never have opened. */
#define IMAGE_PROGRAM_MIN (64u << 10)

/* The module name the program file's name says (NAME.myr): its length,
 * *name pointing into path, or 0. */
static uint32_t name_from_path(const char *path, const char **name)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n <= 4 || memcmp(b + n - 4, ".myr", 4) != 0 ||
	    n - 4 > MYR_NAME_MAX || !myr_name_valid(b, n - 4))
		return 0;
	*name = b;
	return (uint32_t)(n - 4);
}

/* mods[0] as the image's program module p, whose file header is h (a
 * copy of ours): exports, name and segments from the image. */
static int program_as_cached(struct myr_loader *l, uint32_t p,
			     struct myr_header *h, const char *name,
			     uint32_t len)
{
	struct lmod *m = &l->mods[0];
	struct myr_error err = { 0 };
	const struct myr_link_module *lm =
		myri_cache_link_module(l->cache, p, &err);

	m->name = lm ? myri_arena_strndup(l, name, len) : NULL;
	if (!m->name) {
		report(l, -ENOMEM, "%s: out of memory", l->program_path);
		return -ENOMEM;
	}
	/* The image's export table, which the builder copied from this
	 * very file, with its counts. */
	h->exports.count = lm->view->hdr->exports.count;
	h->buckets.count = lm->view->hdr->buckets.count;
	m->view = *lm->view;
	m->view.base = (const uint8_t *)h;
	m->view.size = sizeof(*h);
	m->view.hdr = h;
	m->link = *lm;
	m->link.view = &m->view;
	m->name_len = len;
	m->hash = name_hash(m->name, len);
	m->pub.name = m->name;
	m->ver_major = m->pub.ver_major = h->ver_major;
	m->ver_minor = m->pub.ver_minor = h->ver_minor;
	m->pub.ver_patch = h->ver_patch;
	m->state = M_PARSED;
	m->reached = 1;
	l->program_image = p + 1;
	l->hint_needed = 0;
	return 0;
}

/* program_from_image(): the program's bytes are the service's copy. */
#define PROGRAM_COPIED 1

/*
 * The loader service's copy of the program file (MYR_SERVICE_A_COPY),
 * mapped instead of the file being read: the bytes the service read from
 * the very descriptor this launch sent it, their checksum checked there
 * (the memfd is sealed: no one can have changed them since).
 * PROGRAM_COPIED, or -ENOENT: none, or not the size of the file opened
 * (it changed meanwhile), and the file is read.
 */
static int program_from_copy(struct myr_loader *l, const struct stat *st)
{
	int fd = myr_cache_take_program_copy(l->cache);
	void *p = MAP_FAILED;
	struct stat cs;

	if (fd < 0)
		return -ENOENT;
	/* Populated: shmem's small pages would fault in one by one. */
	if (fstat(fd, &cs) == 0 && cs.st_size == st->st_size)
		p = mmap(NULL, (size_t)st->st_size, PROT_READ,
			 MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -ENOENT;
	l->program_buf = p;
	l->program_cap = (size_t)st->st_size;
	l->mods[0].file = p;
	l->mods[0].file_len = (size_t)st->st_size;
	return PROGRAM_COPIED;
}

/*
 * The program from the cache's image, its file not read (docs/cache.md,
 * "Programs from the image"): only its header is (entry point,
 * capabilities, checksum); the builder's stamp and the file's identity
 * vouch for the rest, or the loader service, which compared the identity
 * of the descriptor sent with its builder's proof (myr_cache_program).
 * Or from the service's copy of the file (program_from_copy).  0;
 * PROGRAM_COPIED; -ENOENT, nothing changed but maybe the cache opened:
 * the file is read instead; or another -errno, reported.
 */
static int program_from_image(struct myr_loader *l, const char *path, int fd,
			      const struct stat *st)
{
	size_t want = MYR_SHEBANG_MAX + sizeof(struct myr_header), off, total;
	struct myr_error err = { 0 };
	struct myr_header *h = NULL;
	const char *name = NULL;
	uint32_t len, p;
	ssize_t got = 0;
	int asked;

	if (l->cfg->cache || !l->cfg->cache_open ||
	    (uint64_t)st->st_size < IMAGE_PROGRAM_MIN)
		return -ENOENT;
	len = name_from_path(path, &name);
	/* With a request out, the answer is awaited before the program is
	 * read: the service may vouch for it (a program of its directory:
	 * only the header is read, while the service answers) or send its
	 * copy of the file.  With none (no service socket), the cache's
	 * image may serve a program of its directory, as with
	 * --service=off. */
	asked = l->cfg->cache_ask && ask_cache(l, fd);
	if (len && (l->program_buf = myri_scratch_alloc(l, want)) != NULL) {
		got = pread(fd, l->program_buf, want, 0);
		if (got > 0 && myr_module_probe(l->program_buf, (size_t)got,
						&off, &total, &err) == 0 &&
		    total == (uint64_t)st->st_size)
			h = (struct myr_header *)(void *)(l->program_buf + off);
	}
	if (!h && !asked)
		return -ENOENT;
	l->cache = l->cfg->cache_open(l->cfg->cache_opaque);
	l->cache_opened = 1;    /* found or not: not asked again */
	if (!l->cache)
		return -ENOENT;
	if (!h || !(h->flags & MYR_F_PROGRAM) || h->entry.seg != MYR_SEG_TEXT ||
	    h->name_len != len ||
	    myr_cache_program(l->cache, name, len, st, h->checksum, &p,
			      &l->launch_closure, &l->nlaunch) < 0)
		return asked ? program_from_copy(l, st) : -ENOENT;
	l->program_cap = want;
	l->stats.bytes_read += (uint64_t)got;
	return program_as_cached(l, p, h, name, len);
}

/* Make a fetched module usable: parse it (structure only; checksums are
 * the verify stage's) and check it is the module that was asked for. */
static void parse_module(struct myr_loader *l, uint32_t idx)
{
	struct lmod *m = &l->mods[idx];
	struct myr_error err;
	char chain[512];
	int r;

	if (m->state == M_FAILED) {
		if (m->fetch_status == -EDQUOT) {
			/* Once the budget is spent every later file fails
			 * too: one line says it. */
			m->state = M_BAD;
			if (l->over_budget++) {
				fail(l, -EDQUOT);
				return;
			}
			if (l->budget_culprit != NO_MODULE) {
				/* Named from the program: how the walk got to
				 * the module depends on which files were read. */
				uint32_t c = l->budget_culprit;
				report(l, -EDQUOT, "%s: module %s: over MYR_LOAD_BYTES_MAX: "
				       "module files would total %llu bytes, limit %llu",
				       l->mods[0].name, l->mods[c].name,
				       (unsigned long long)l->budget_total,
				       (unsigned long long)byte_budget(l));
				return;
			}
		}
		if (m->fetch_status == -ENOENT && !m->required) {
			/* Only optional dependencies have named it so far. */
			m->state = M_ABSENT;
			l->nabsent++;
			return;
		}
		myri_format_chain(l, idx, chain, sizeof(chain));
		if (m->fetch_status == -ENOENT)
			report(l, -ENOENT, "%s: module %s not found", chain,
			       m->name);
		else
			report(l, m->fetch_status, "%s: module %s: %s", chain,
			       m->name, m->fetch_msg ? m->fetch_msg :
			       strerror(-m->fetch_status));
		m->state = M_BAD;
		return;
	}
	if (m->state != M_FETCHED)
		return;
	/* Parsed and its name checked already on its fetch lane, unless
	 * that failed: then again here, for the message. */
	if (m->pre == PRE_SUM_OK || m->pre == PRE_SUM_BAD) {
		m->state = M_PARSED;
		return;
	}
	err.msg[0] = '\0';
	r = parse_as_named(m, m->file, m->file_len, &err);
	if (r < 0) {
		myri_format_chain(l, idx, chain, sizeof(chain));
		report(l, r, "%s: %s/%s.myr: %s", chain, dir_name(l, m),
		       m->name, r == -ENOEXEC ? "not a Myriad module" : err.msg);
		m->state = M_BAD;
		return;
	}
	if (r == OTHER_NAME) {
		myri_format_chain(l, idx, chain, sizeof(chain));
		report(l, -EBADMSG, "%s: %s/%s.myr is the module %s, not %s",
		       chain, dir_name(l, m), m->name, m->view.name, m->name);
		m->state = M_BAD;
		return;
	}
	m->state = M_PARSED;
}

static int reserve_dep_slots(struct myr_loader *l, uint32_t n)
{
	if (l->ndep_slots + n > l->capdep_slots) {
		size_t cap = l->capdep_slots ? l->capdep_slots * 2 : 16;
		while (cap < l->ndep_slots + n)
			cap *= 2;
		uint32_t *p = myri_lrealloc(l, l->dep_slot,
				       l->capdep_slots * sizeof(*p),
				       cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->dep_slot = p;
		l->capdep_slots = cap;
	}
	return 0;
}

/* A growing list of module indices: a level of the walk, or a batch. */
struct index_list {
	uint32_t *v;
	uint32_t n, cap;
};

static int index_list_push(struct myr_loader *l, struct index_list *q,
			   uint32_t idx)
{
	if (q->n == q->cap) {
		uint32_t cap = q->cap ? q->cap * 2 : 16;
		uint32_t *p = myri_lrealloc(l, q->v, q->cap * sizeof(*p),
				       cap * sizeof(*p));
		if (!p) {
			report(l, -ENOMEM, "out of memory");
			return -ENOMEM;
		}
		q->v = p;
		q->cap = cap;
	}
	q->v[q->n++] = idx;
	return 0;
}

/* resolve_dep(): stop the walk, the failure is reported. */
#define FAILED_DEP (UINT32_MAX - 2)

/*
 * Dependency i of module idx, looked up on the loader's thread: the host,
 * a module of the map or of the cache, or a new module (queued on fetch).
 * Returns the module's index, or NO_MODULE with *slot set (HOST_MODULE,
 * CACHED, or NO_MODULE after reporting why), or FAILED_DEP.
 */
static uint32_t resolve_dep(struct myr_loader *l, uint32_t idx, uint32_t i,
			    uint32_t *slot, struct index_list *fetch)
{
	const struct myr_module_view *v = &l->mods[idx].view;
	const struct myr_dep *d = &v->deps[i];
	const char *name = myr_view_str(v, d->name_off);
	uint32_t t, hash;
	char chain[512];

	if (is_host_name(name, d->name_len)) {
		const struct myr_host_binding *h = l->cfg->host;
		if (!h) {
			myri_format_chain(l, idx, chain, sizeof(chain));
			report(l, -ENOENT, "%s -> %s: no host module in "
			       "this launcher", chain, name);
		} else if (!myr_version_satisfies(d, h->ver_major,
						  h->ver_minor)) {
			myri_format_chain(l, idx, chain, sizeof(chain));
			report(l, -ENOEXEC, "%s -> %s: needs %s %u.%u, "
			       "found %u.%u built into the launcher",
			       chain, name, name, d->ver_major,
			       d->ver_minor, h->ver_major, h->ver_minor);
		} else {
			*slot = HOST_MODULE;
		}
		return NO_MODULE;
	}
	t = dep_lookup(l, name, d->name_len, &hash);
	if (t != NO_MODULE)
		return t;
	if (l->cache) {
		int64_t c = myr_cache_find(l->cache, name, d->name_len);
		if (c >= 0) {
			uint16_t major, minor;
			myr_cache_version(l->cache, (uint32_t)c, &major, &minor);
			if (!myr_version_satisfies(d, major, minor)) {
				myri_format_chain(l, idx, chain, sizeof(chain));
				report(l, -ENOEXEC, "%s -> %s: needs %s "
				       "%u.%u, found %u.%u in %s (cache)",
				       chain, name, name, d->ver_major,
				       d->ver_minor, major, minor,
				       l->cfg->dirs[0]);
			} else {
				*slot = CACHED | (uint32_t)c;
			}
			return NO_MODULE;
		}
	}
	t = myri_add_module(l, name, d->name_len, hash);
	if (t == NO_MODULE || index_list_push(l, fetch, t) < 0)
		return FAILED_DEP;
	return t;
}

/* Record where each dependency of module idx lives; queue the ones not
 * reached yet for the next level and the ones not fetched yet for its
 * batch.  A dependency its fetch lane found in the map costs no lookup. */
static int visit_deps(struct myr_loader *l, uint32_t idx,
		      struct index_list *next, struct index_list *fetch)
{
	uint32_t ndeps = l->mods[idx].ndeps;
	char chain[512];

	if (reserve_dep_slots(l, ndeps) < 0) {
		report(l, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	l->mods[idx].dep_first = (uint32_t)l->ndep_slots;
	l->ndep_slots += ndeps;
	for (uint32_t i = 0; i < ndeps; i++) {
		uint32_t *slot = &l->dep_slot[l->mods[idx].dep_first + i];
		const struct lmod *m = &l->mods[idx];
		uint32_t t = m->pre_deps ? m->pre_dep[i] : NO_MODULE;
		int optional = m->pre_deps ? (m->pre_optional >> i) & 1 :
			       (m->view.deps[i].flags & MYR_DEP_OPTIONAL) != 0;

		*slot = NO_MODULE;
		if (t == NO_MODULE)
			t = resolve_dep(l, idx, i, slot, fetch);
		if (t == FAILED_DEP)
			return l->failed;
		if (t == NO_MODULE)
			continue;
		*slot = t;
		if (!optional)
			l->mods[t].required = 1;
		if (l->mods[t].reached)
			continue;
		l->mods[t].reached = 1;
		l->mods[t].parent = idx;
		l->mods[t].depth = l->mods[idx].depth + 1;
		if (l->mods[t].depth > MYR_LOAD_DEPTH_MAX) {
			myri_format_chain(l, idx, chain, sizeof(chain));
			report(l, -E2BIG, "%s: dependency chain deeper than %u",
			       chain, MYR_LOAD_DEPTH_MAX);
			return l->failed;
		}
		if (index_list_push(l, next, t) < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * A module first named only by optional dependencies and not found is
 * absent, not missing (MYR_DEP_OPTIONAL); a required edge to it found later
 * in the walk makes it missing after all.  One line each, as for any
 * module not found.
 */
static void report_absent_required(struct myr_loader *l)
{
	char chain[512];

	for (uint32_t i = 0; l->nabsent && i < l->nmods; i++) {
		struct lmod *m = &l->mods[i];
		if (m->state != M_ABSENT || !m->required)
			continue;
		myri_format_chain(l, i, chain, sizeof(chain));
		report(l, -ENOENT, "%s: module %s not found", chain, m->name);
		m->state = M_BAD;
	}
}

/* Ask for the table entries of the dependencies module idx's fetch lane
 * found, before the walk reaches it. */
static void prefetch_pre_deps(const struct myr_loader *l, uint32_t idx)
{
	const struct lmod *m = &l->mods[idx];

	if (!m->pre_deps)
		return;
	for (uint32_t k = 0; k < m->ndeps; k++)
		if (m->pre_dep[k] < l->nmods)
			__builtin_prefetch(&l->mods[m->pre_dep[k]].reached, 1);
}

/* Breadth first from the program.  Each level's unknown modules are
 * fetched in one batch; with an accurate hint there are none. */
static int walk_graph(struct myr_loader *l)
{
	struct index_list level = { 0 }, next = { 0 }, fetch = { 0 }, tmp;
	int r = index_list_push(l, &level, 0);

	while (level.n && r == 0) {
		for (uint32_t i = 0; i < level.n && r == 0; i++) {
			/* The level's entries are scattered over the table, and
			 * so are their dependencies: ask ahead, as in place. */
			if (i + 2 * PREFETCH_AHEAD < level.n)
				__builtin_prefetch(&l->mods[level.v[i + 2 * PREFETCH_AHEAD]].pre_dep);
			if (i + PREFETCH_AHEAD < level.n)
				prefetch_pre_deps(l, level.v[i + PREFETCH_AHEAD]);
			parse_module(l, level.v[i]);
			if (l->mods[level.v[i]].state == M_PARSED)
				r = visit_deps(l, level.v[i], &next, &fetch);
		}
		if (r == 0)
			r = fetch_batch(l, fetch.v, fetch.n, NULL);
		fetch.n = 0;
		tmp = level;
		level = next;
		next = tmp;
		next.n = 0;
	}
	myri_lfree(l, level.v);
	myri_lfree(l, next.v);
	myri_lfree(l, fetch.v);
	return r;
}

/* Does the version of module t satisfy dependency k of module m? */
static int dep_satisfied(const struct lmod *m, uint32_t k,
			 const struct lmod *t)
{
	if (m->pre_deps) {
		const struct myr_dep need = { .ver_major = m->pre_need[k][0],
					      .ver_minor = m->pre_need[k][1] };
		return myr_version_satisfies(&need, t->ver_major, t->ver_minor);
	}
	return myr_version_satisfies(&m->view.deps[k], t->ver_major,
				     t->ver_minor);
}

/* Every dependency edge whose target is in hand: does the version found
 * satisfy the constraint?  Each mismatch is reported with who needs what. */
static void check_versions(struct myr_loader *l)
{
	char chain[512];

	for (uint32_t i = 0; i < l->nmods; i++) {
		const struct lmod *m = &l->mods[i];
		if (!m->reached || m->state != M_PARSED)
			continue;
		for (uint32_t k = 0; k < m->ndeps; k++) {
			uint32_t t = l->dep_slot[m->dep_first + k];
			const struct myr_dep *d = &m->view.deps[k];
			const struct lmod *tm;
			if (t >= HOST_MODULE || is_cached(t))
				continue;
			tm = &l->mods[t];
			if (tm->state != M_PARSED || dep_satisfied(m, k, tm))
				continue;
			myri_format_chain(l, i, chain, sizeof(chain));
			report(l, -ENOEXEC, "%s -> %s: needs %s %u.%u, found "
			       "%u.%u in %s", chain, tm->name, tm->name,
			       d->ver_major, d->ver_minor, tm->ver_major,
			       tm->ver_minor, dir_name(l, tm));
		}
	}
}

/* Print the cycle closed by the edge top -> target: the part of the DFS
 * stack from target to top. */
static void report_cycle(struct myr_loader *l, const uint32_t *stack,
			 uint32_t depth, uint32_t target)
{
	char line[MYR_ERROR_MSG_MAX * 2];
	size_t at = 0;
	uint32_t from = depth;

	while (from > 0 && stack[from - 1] != target)
		from--;
	if (from > 0)
		from--;
	at += (size_t)snprintf(line, sizeof(line), "dependency cycle: ");
	for (uint32_t i = from; i < depth && at < sizeof(line); i++)
		at += (size_t)snprintf(line + at, sizeof(line) - at, "%s -> ",
				       l->mods[stack[i]].name);
	if (at < sizeof(line))
		snprintf(line + at, sizeof(line) - at, "%s (cycles are not "
			 "supported)", l->mods[target].name);
	report(l, -ELOOP, "%s", line);
}

/* Ask for the table entries of module idx's dependencies, which the
 * depth-first walk visits next. */
static void prefetch_deps(const struct myr_loader *l, uint32_t idx)
{
	const struct lmod *m = &l->mods[idx];

	for (uint32_t k = 0; k < m->ndeps; k++) {
		uint32_t t = l->dep_slot[m->dep_first + k];
		if (t < l->nmods)
			__builtin_prefetch(&l->mods[t].color);
	}
}

/*
 * Depth-first from the program: post-order is the init order (each
 * module after all its dependencies) and the placement order; an edge
 * back to a module still on the stack closes a cycle.  Iterative, so a
 * 100,000-deep chain needs no deep C stack.
 */
static int order_modules(struct myr_loader *l)
{
	uint32_t *stack = myri_lmalloc(l, l->nmods * sizeof(*stack));
	uint32_t *next_dep = myri_lmalloc(l, l->nmods * sizeof(*next_dep));
	uint32_t depth = 0, cycles = 0;

	uint32_t ncache = l->cache ?
		myr_cache_module_count(l->cache) : 0;

	l->order = myri_lmalloc(l, l->nmods * sizeof(*l->order));
	l->init_order = myri_lmalloc(l, ((size_t)l->nmods + ncache) * sizeof(*l->init_order));
	if (!stack || !next_dep || !l->order || !l->init_order) {
		myri_lfree(l, stack);
		myri_lfree(l, next_dep);
		report(l, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	/* A launch closure's modules first: no file module is below them.
	 * Only those with constructors or destructors join the init order:
	 * the rest have nothing to run, and 10,000 entries that do nothing
	 * cost two walks (init, fini). */
	if (l->nlaunch) {
		l->ninit_order = myr_cache_activate_closure(l->cache,
				l->launch_closure, l->nlaunch, l->init_order);
		for (uint32_t k = 0; k < l->ninit_order; k++)
			l->init_order[k] |= CACHED;
		l->nquiet = l->nlaunch - l->ninit_order;
	}
	/* A program from the image comes last, and no file module at all. */
	if (l->program_image) {
		uint32_t p = l->program_image - 1;
		uint32_t *at = l->init_order + l->ninit_order;
		if (myr_cache_activate_closure(l->cache, &p, 1, at)) {
			*at |= CACHED;
			l->ninit_order++;
		} else {
			l->nquiet++;
		}
		l->mods[0].color = 2;
	} else {
		stack[depth++] = 0;
		next_dep[0] = 0;
		l->mods[0].color = 1;
	}
	while (depth) {
		uint32_t m = stack[depth - 1];
		struct lmod *lm = &l->mods[m];
		uint32_t ndeps = lm->state == M_PARSED ? lm->ndeps : 0;

		if (next_dep[m] < ndeps) {
			uint32_t t = l->dep_slot[lm->dep_first + next_dep[m]++];
			if (is_cached(t)) {
				/* The image holds no file module: its closure
				 * goes here whole, dependencies first. */
				uint32_t *at = l->init_order + l->ninit_order;
				uint32_t n = myr_cache_order(l->cache,
							     t & ~CACHED, at);
				for (uint32_t k = 0; k < n; k++)
					at[k] |= CACHED;
				l->ninit_order += n;
				continue;
			}
			if (t >= HOST_MODULE || l->mods[t].state != M_PARSED)
				continue;
			if (l->mods[t].color == 1) {
				if (cycles++ < 16)
					report_cycle(l, stack, depth, t);
				else
					fail(l, -ELOOP);
				continue;
			}
			if (l->mods[t].color == 2)
				continue;
			l->mods[t].color = 1;
			next_dep[t] = 0;
			stack[depth++] = t;
			prefetch_deps(l, t);
			continue;
		}
		lm->color = 2;
		l->order[l->norder++] = m;
		l->init_order[l->ninit_order++] = m;
		depth--;
	}
	if (cycles > 16)
		report(l, -ELOOP, "%u more dependency cycles not shown",
		       cycles - 16);
	myri_lfree(l, stack);
	myri_lfree(l, next_dep);
	return 0;
}

int myr_loader_resolve(struct myr_loader *l, const char *path)
{
	uint64_t t0 = now_ns(l), fetch_before = l->stats.ns_fetch;
	struct stat st;
	int fd, r;

	if (l->stage != S_NEW)
		return -EINVAL;
	l->program_path = path;
	if (l->cfg->trace) {
		char line[MYR_ERROR_MSG_MAX];
		snprintf(line, sizeof(line), "program %s: read as given, not "
			 "searched in the library directories", path);
		l->cfg->trace(l->cfg->trace_opaque, line);
	}
	if (myri_add_module(l, "program", 7, name_hash("program", 7)) != 0)
		return l->failed;
	fd = open_program(l, path, &st);
	if (fd < 0)
		return l->failed;
	/* fd stays open until the service has been asked: the request
	 * carries it, so the service sees the very file read here. */
	r = program_from_image(l, path, fd, &st);
	if (r != 0 && ((r != -ENOENT && r != PROGRAM_COPIED) ||
		       (r == -ENOENT && read_program(l, path, fd, &st) < 0) ||
		       parse_program(l, path) < 0)) {
		close(fd);
		return l->failed;
	}
	if (r == PROGRAM_COPIED)        /* checked by the service */
		l->mods[0].pre = PRE_SUM_OK;
	/* Re-key the program under its own name. */
	memset(l->map, 0, l->mapcap * sizeof(*l->map));
	myri_map_put(l, 0);
	if (r != 0) {
		l->hint_needed = 1;
		open_cache(l, fd);
		if (l->cache)
			use_cache_records(l);
	}
	close(fd);
	if (r != 0 && l->hint_needed && !l->mods[0].view.closure &&
	    parse_program_view(l, path, 0) < 0)
		return l->failed;
	if ((l->hint_needed ? fetch_hint(l) : 0) == 0 && walk_graph(l) == 0) {
		report_absent_required(l);
		check_versions(l);
		if (!l->failed)
			order_modules(l);
	}
	l->stats.ns_resolve += now_ns(l) - t0 - (l->stats.ns_fetch - fetch_before);
	if (l->failed)
		return l->failed;
	l->ncached = l->ninit_order - l->norder + l->nquiet;
	l->stats.modules = l->ninit_order + l->nquiet;
	l->stage = S_RESOLVED;
	return 0;
}
