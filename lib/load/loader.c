/* SPDX-License-Identifier: MIT */
/*
 * The loader: from a program file to a linked, protected image ready to
 * run.  In the spirit of musl's ldso/dynlink.c, the work is split into
 * named stages, each of which states what it may assume about the ones
 * before it (see <myriad/loader.h>):
 *
 *   resolve+fetch -> verify -> place -> link -> protect -> release
 *
 * followed, once the caller has applied the sandbox, by init and entry.
 * Every stage reports every problem it finds through the diag sink and
 * then fails once; no module code runs before myr_loader_run_init().
 *
 * Scale: every stage is linear in modules + dependency edges + imports +
 * relocations.  Modules are found by name through one hash map, imports
 * are bound per dependency (two-level namespace), and the pool places all
 * segments with a fixed number of system calls.
 *
 * Cycles are rejected: a module's constructors may rely on its
 * dependencies' constructors having run, which no order can promise inside
 * a cycle.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <myriad/cache.h>
#include <myriad/limits.h>
#include <myriad/loader.h>
#include <myriad/module.h>
#include "base/cpus.h"
#include "image/link.h"

#define NO_MODULE   UINT32_MAX        /* dependency slot: unusable */
#define HOST_MODULE (UINT32_MAX - 1)  /* dependency slot: the host */
/* Dependency slot or init-order entry: a module of the cache's image, by
 * its index there (no struct lmod: a cached module costs the loader
 * nothing but this word).  Below HOST_MODULE, so test those first. */
#define CACHED      0x80000000u

static int is_cached(uint32_t t)
{
	return t < HOST_MODULE && (t & CACHED);
}

/* How far a module got.  Only modules reached from the program are ever
 * past M_FETCHED; hint entries that are never reached are dropped. */
enum mod_state {
	M_WANTED = 0,    /* named, not fetched yet */
	M_FAILED,        /* fetch failed; fetch_status/fetch_err say why */
	M_FETCHED,       /* bytes in memory, not parsed */
	M_BAD,           /* did not parse, or is not what was asked for */
	M_PARSED,        /* view valid */
};

/* Parsed and checksummed on the lane (thread) that read the file, right
 * after the read, while its bytes are in cache; only the result is kept,
 * and a failure is parsed again on the loader's thread for its message, so
 * reports come in module order whatever the lanes did. */
enum pre_state {
	PRE_NONE = 0,    /* not looked at: parse and checksum as usual */
	PRE_BAD,         /* did not parse */
	PRE_SUM_OK,      /* view valid, checksum matches */
	PRE_SUM_BAD,     /* view valid, checksum does not match */
};
/* PRE_SUM_* also mean the module is the one asked for (its name matches):
 * a module that is not is PRE_BAD, and the loader's thread parses it again
 * for the message. */

/* Dependencies a fetch lane looks up for its module, at most: the slots
 * are the module's own, so a lane writes nowhere else; a module with more
 * is looked up on the loader's thread as before. */
#define PRE_DEPS 4

struct lmod {
	const char *name;                /* interned, NUL-terminated */
	uint32_t name_len, hash;
	uint32_t parent;                 /* BFS tree, for dependency chains */
	uint32_t depth;
	uint32_t dep_first;              /* into loader.dep_slot */
	uint8_t state;
	uint8_t reached;                 /* the real graph needs it */
	uint8_t color;                   /* DFS: 0 white, 1 on stack, 2 done */
	int dir;                         /* index into cfg->dirs; -1: program */
	int fetch_status;
	uint8_t pre;                     /* PRE_*: what the fetch lane that
	                                    read the file found */
	uint8_t redo;                    /* a lane of place or link left it
	                                    for the loader's thread; 0
	                                    outside those stages */
	uint8_t pre_deps;                /* pre_dep[0..ndeps) is filled */
	uint32_t ndeps;                  /* view.hdr->deps.count, once parsed:
	                                    the walks then never touch the
	                                    header again */
	/* The fetch lane's map_find() of each dependency, with the map as it
	 * was during the fetch: an index found then is what the loader's
	 * thread would find (the map only grows); NO_MODULE (not there, or
	 * the host's name) leaves the lookup to the loader's thread. */
	uint32_t pre_dep[PRE_DEPS];
	/* And what each needs (major, minor): with the module's own version
	 * below, check_versions() reads no module file. */
	uint16_t pre_need[PRE_DEPS][2];
	uint16_t ver_major, ver_minor;   /* the view's, once parsed */
	char *fetch_msg;                 /* interned, or NULL */
	const uint8_t *file;
	size_t file_len;
	struct myr_module_view view;
	struct myr_link_module link;     /* view + placed segments */
	void (*const *init_fns)(void);
	void (*const *fini_fns)(void);
	uint32_t ninit, nfini;
	struct myriad_module pub;
};

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	char data[];
};

/* Which modules a fetch batch's items are, for fetched_item(). */
struct batch_ctx {
	struct myr_loader *l;
	const uint32_t *want;
};

enum stage {
	S_NEW = 0, S_RESOLVED, S_VERIFIED, S_PLACED, S_LINKED, S_PROTECTED,
	S_RELEASED, S_INITED,
};

struct myr_loader {
	const struct myr_loader_config *cfg;
	struct myr_fetcher *fetcher;
	struct myr_pool *pool;
	struct myr_cache *cache;         /* cfg->cache, or opened on demand */
	enum stage stage;
	int failed;                      /* first -errno, sticky */

	struct lmod *mods;               /* index 0 is the program */
	uint32_t nmods, capmods;
	void *mods_base;                 /* big_alloc()'s mapping, or NULL */
	uint32_t mods_zeroed;            /* entries from here on are fresh
	                                    zeroed memory (big_alloc()) */
	size_t mods_len;
	uint32_t *map;                   /* open addressing, index + 1; 0 empty */
	uint32_t mapcap;
	uint32_t *dep_slot;              /* per module, per dependency */
	size_t ndep_slots, capdep_slots;
	uint32_t *order;                 /* file modules, dependencies first */
	uint32_t norder;
	uint32_t *init_order;            /* all modules (CACHED-tagged ones
	                                    too), dependencies first */
	uint32_t ninit_order, ncached;
	const uint32_t *launch_closure;  /* the cache's record, or NULL */
	uint32_t nlaunch;
	int hint_needed;                 /* some dependency is not cached */
	uint32_t ninited;
	int fini_done;

	uint8_t *program_buf;            /* mapped, program_cap bytes; kept
	                                    for the program's export table */
	size_t program_cap;
	const char *program_path;
	struct arena_chunk *arena;
	size_t scratch_used;             /* bytes of the loader's own mapping
	                                    handed out (scratch_alloc()) */

	struct myriad_load_stats stats;
	struct myriad_ctx ctx;
	struct batch_ctx batch;          /* the batch being fetched */
	int over_budget;                 /* MYR_LOAD_BYTES_MAX reported */
	uint32_t link_max_imports;       /* link lanes' scratch layout, */
	uint32_t link_max_deps;          /* both taken by place */
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static uint64_t now_ns(const struct myr_loader *l)
{
	struct timespec ts;
	if (l->cfg->untimed)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The loader lives at the start of one anonymous mapping of SCRATCH_SIZE
 * bytes, and its bookkeeping is carved from the rest, bump-style, until it
 * is used up: then malloc() as before.  Small loads (a hello world) make a
 * dozen allocations of as many sizes, and malloc would give each size class
 * a group of its own, each a fresh page or two, each page a fault costing
 * several microseconds in a VM; here they share a handful of pages.  Only
 * pages written are ever backed.  Scratch memory starts zeroed and is
 * never reused: lfree() of it does nothing, lrealloc() copies.  The tables
 * start small (2 modules, 16 map slots and list entries, a 128-byte first
 * name chunk) so that a hello world's loader, tables and program file
 * (under 2 KiB) share the first page: one fault, not two.
 */
#define SCRATCH_SIZE (256u << 10)

static void *scratch_alloc(struct myr_loader *l, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n > SCRATCH_SIZE - l->scratch_used)
		return NULL;
	l->scratch_used += n;
	return (uint8_t *)l + l->scratch_used - n;
}

static int in_scratch(const struct myr_loader *l, const void *p)
{
	return (const uint8_t *)p >= (const uint8_t *)l &&
	       (const uint8_t *)p < (const uint8_t *)l + SCRATCH_SIZE;
}

static void *lmalloc(struct myr_loader *l, size_t n)
{
	void *p = scratch_alloc(l, n);
	return p ? p : malloc(n);
}

static void *lcalloc(struct myr_loader *l, size_t n)
{
	void *p = scratch_alloc(l, n);
	return p ? p : calloc(1, n);
}

static void lfree(struct myr_loader *l, void *p)
{
	if (!in_scratch(l, p))
		free(p);
}

/* realloc() for lmalloc()ed blocks: old is the block's current size. */
static void *lrealloc(struct myr_loader *l, void *p, size_t old, size_t n)
{
	void *q;

	if (p && !in_scratch(l, p))
		return realloc(p, n);
	q = lmalloc(l, n);
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
		c = lmalloc(l, sizeof(*c) + cap);
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

static char *arena_strndup(struct myr_loader *l, const char *s, size_t n)
{
	char *p = arena_alloc(l, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static void fail(struct myr_loader *l, int code)
{
	if (!l->failed)
		l->failed = code;
}

#define report(l, code, ...) do {                                       \
		myr_diag_emitf((l)->cfg->diag, __VA_ARGS__);            \
		fail((l), (code));                                      \
	} while (0)

static uint32_t name_hash(const char *s, uint32_t len)
{
	return myr_symbol_hash(s, len);
}

static const char *dir_name(const struct myr_loader *l, const struct lmod *m)
{
	if (m->dir < 0)
		return l->program_path;
	if ((unsigned)m->dir < l->cfg->ndirs)
		return l->cfg->dirs[m->dir];
	return "?";
}

/*
 * "app -> json -> unicode": the breadth-first tree path to m, so the
 * shortest chain.  Very deep chains keep their two ends.  Only on error
 * paths, so the walk up the tree may cost the chain's depth.
 */
static void format_chain(const struct myr_loader *l, uint32_t m, char *buf,
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

/* ------------------------------------------------------------------ */
/* The name map                                                        */
/* ------------------------------------------------------------------ */

static uint32_t map_find(const struct myr_loader *l, const char *name,
			 uint32_t len, uint32_t hash)
{
	if (!l->mapcap)
		return NO_MODULE;
	for (uint32_t i = hash & (l->mapcap - 1);; i = (i + 1) & (l->mapcap - 1)) {
		uint32_t v = l->map[i];
		if (!v)
			return NO_MODULE;
		const struct lmod *m = &l->mods[v - 1];
		if (m->hash == hash && m->name_len == len &&
		    memcmp(m->name, name, len) == 0)
			return v - 1;
	}
}

static void map_put(struct myr_loader *l, uint32_t idx)
{
	uint32_t i = l->mods[idx].hash & (l->mapcap - 1);
	while (l->map[i])
		i = (i + 1) & (l->mapcap - 1);
	l->map[i] = idx + 1;
}

/* Rehash into cap slots (a power of two, more than twice the modules). */
static int map_grow(struct myr_loader *l, uint32_t cap)
{
	uint32_t *m = lcalloc(l, (size_t)cap * sizeof(*m));
	if (!m)
		return -ENOMEM;
	lfree(l, l->map);
	l->map = m;
	l->mapcap = cap;
	for (uint32_t i = 0; i < l->nmods; i++)
		map_put(l, i);
	return 0;
}

#define HUGE_PAGE (2u << 20)

/* How many entries ahead a loop over modules in an order of their own
 * asks for the memory it will need: enough to cover a cache miss. */
#define PREFETCH_AHEAD 8

/*
 * Zeroed memory for arrays that grow with the closure: fetch_batch()'s
 * items (over half a KiB each, mostly the error message) and the module
 * table (about 260 bytes a module).  At 10,000 modules they span 2,000
 * pages, and each fresh 4 KiB page costs a fault (several microseconds in
 * a VM).  Past one huge page the array starts on a 2 MiB boundary of a
 * mapping advised for huge pages, so it takes a fault per 2 MiB instead;
 * *base is then what to unmap (big_free()), NULL for a small array from
 * the heap.
 */
static void *big_alloc(struct myr_loader *l, size_t size, void **base,
		       size_t *len)
{
	uint8_t *p;

	*base = NULL;
	if (size < HUGE_PAGE)
		return lcalloc(l, size);
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

static void big_free(struct myr_loader *l, void *p, void *base, size_t len)
{
	if (base)
		munmap(base, len);
	else
		lfree(l, p);
}

/* Room for cap modules, keeping the entries: realloc() while small (it
 * moves large blocks with mremap, touching no new page), big_alloc() past
 * a huge page. */
static int mods_grow(struct myr_loader *l, uint32_t cap)
{
	void *base = NULL;
	size_t len = 0;
	struct lmod *p;

	if ((size_t)cap * sizeof(*p) < HUGE_PAGE) {
		p = lrealloc(l, l->mods, (size_t)l->capmods * sizeof(*p),
			     (size_t)cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->mods = p;
		l->capmods = cap;
		l->mods_zeroed = cap;
		return 0;
	}
	p = big_alloc(l, (size_t)cap * sizeof(*p), &base, &len);
	if (!p)
		return -ENOMEM;
	if (l->nmods)
		memcpy(p, l->mods, l->nmods * sizeof(*p));
	big_free(l, l->mods, l->mods_base, l->mods_len);
	l->mods = p;
	l->mods_base = base;
	l->mods_len = len;
	l->capmods = cap;
	l->mods_zeroed = base ? l->nmods : cap;
	return 0;
}

static int is_host_name(const char *name, uint32_t len)
{
	return len == sizeof(MYR_HOST_MODULE_NAME) - 1 &&
	       memcmp(name, MYR_HOST_MODULE_NAME, len) == 0;
}

/* Add a module by name (not yet present; hash is name_hash() of it), or
 * return NO_MODULE on -ENOMEM or when the module limit is reached (both
 * reported). */
static uint32_t add_module(struct myr_loader *l, const char *name,
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
	    mods_grow(l, l->capmods ? l->capmods * 2 : 2) < 0)
		goto nomem;
	if ((uint64_t)(l->nmods + 1) * 2 > l->mapcap &&
	    map_grow(l, l->mapcap ? l->mapcap * 2 : 16) < 0)
		goto nomem;
	m = &l->mods[l->nmods];
	/* At 10,000 modules, 3 MB that the kernel has just zeroed. */
	if (l->nmods < l->mods_zeroed)
		memset(m, 0, sizeof(*m));
	m->name = arena_strndup(l, name, len);
	if (!m->name)
		goto nomem;
	m->name_len = len;
	m->hash = hash;
	m->parent = NO_MODULE;
	m->dir = -1;
	m->pub.size = sizeof(m->pub);
	m->pub.name = m->name;
	map_put(l, l->nmods);
	return l->nmods++;
nomem:
	report(l, -ENOMEM, "out of memory");
	return NO_MODULE;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

int myr_loader_init(struct myr_loader **out, const struct myr_loader_config *cfg,
		    struct myr_error *err)
{
	struct myr_loader *l = mmap(NULL, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r;

	if (l == MAP_FAILED)
		return myr_error_set(err, -ENOMEM, "out of memory");
	l->scratch_used = sizeof(*l);
	l->cfg = cfg;
	l->stats.size = sizeof(l->stats);
	r = myr_pool_init(&l->pool, cfg->alloc, &cfg->limits);
	if (r < 0) {
		munmap(l, SCRATCH_SIZE);
		return myr_error_set(err, r, "bad allocation strategy");
	}
	*out = l;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Stage 1: resolve + fetch                                            */
/* ------------------------------------------------------------------ */

/* Read the program file whole.  A path, not a library name: the user
 * chose it.  O_NONBLOCK so that opening a FIFO cannot hang; only regular
 * files are read at all. */
static int read_program(struct myr_loader *l, const char *path)
{
	struct stat st;
	size_t got = 0;
	int fd, e;

	/* openat(), not open(): musl's open() follows an O_CLOEXEC open
	 * with fcntl(F_SETFD) for kernels before 2.6.23, one syscall more. */
	fd = openat(AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		report(l, -e, "%s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		close(fd);
		report(l, -e, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		report(l, -ENOEXEC, "%s: not a regular file (%s)", path,
		       myr_file_type_name(st.st_mode));
		return -ENOEXEC;
	}
	if ((uint64_t)st.st_size > MYR_FILE_MAX) {
		close(fd);
		report(l, -EFBIG, "%s: %lld bytes, over the %u-byte module "
		       "limit", path, (long long)st.st_size, MYR_FILE_MAX);
		return -EFBIG;
	}
	/* One spare byte shows whether the file grew while being read.
	 * Mapped and populated: a program with a large closure hint is
	 * hundreds of KiB, and one call beats a page fault per page. */
	l->program_cap = (size_t)st.st_size + 1;
	l->program_buf = l->program_cap <= (16u << 10) ?
		scratch_alloc(l, l->program_cap) : NULL;
	if (!l->program_buf)
		l->program_buf = mmap(NULL, l->program_cap,
				      PROT_READ | PROT_WRITE, MAP_PRIVATE |
				      MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (l->program_buf == MAP_FAILED) {
		l->program_buf = NULL;
		close(fd);
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
			close(fd);
			report(l, -e, "%s: %s", path, strerror(e));
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size) {
			close(fd);
			report(l, -EBUSY, "%s: changed while being read", path);
			return -EBUSY;
		}
	}
	close(fd);
	l->mods[0].file = l->program_buf;
	l->mods[0].file_len = got;
	l->stats.bytes_read += got;
	return 0;
}

static int parse_program(struct myr_loader *l, const char *path)
{
	struct lmod *m = &l->mods[0];
	struct myr_error err = { 0 };
	int r = myr_module_parse(m->file, m->file_len, MYR_PARSE_NO_CHECKSUM,
				 &m->view, &err);

	if (r == -ENOEXEC || r == -ENODATA) {
		report(l, -ENOEXEC, "%s: not a Myriad module", path);
		return -ENOEXEC;
	}
	if (r < 0) {
		report(l, r, "%s: %s", path, err.msg);
		return r;
	}
	if (!(m->view.hdr->flags & MYR_F_PROGRAM) ||
	    m->view.hdr->entry.seg != MYR_SEG_TEXT) {
		report(l, -ENOEXEC, "%s: module %s is a library, not a program "
		       "(it has no entry point)", path, m->view.name);
		return -ENOEXEC;
	}
	/* The program is known by its own name from now on. */
	m->name = arena_strndup(l, m->view.name, m->view.hdr->name_len);
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
	if (myr_module_parse(item->data, item->len,
			     MYR_PARSE_NO_CHECKSUM | MYR_PARSE_NO_CLOSURE,
			     &m->view, &err) < 0 ||
	    v->hdr->name_len != m->name_len ||
	    memcmp(v->name, m->name, m->name_len) != 0) {
		m->pre = PRE_BAD;
		return;
	}
	m->ndeps = v->hdr->deps.count;
	m->ver_major = v->hdr->ver_major;
	m->ver_minor = v->hdr->ver_minor;
	if (m->ndeps <= PRE_DEPS) {
		/* Names valid: the parse checked every dependency. */
		for (uint32_t k = 0; k < m->ndeps; k++) {
			const struct myr_dep *d = &v->deps[k];
			const char *name = myr_view_str(v, d->name_off);
			m->pre_dep[k] = is_host_name(name, d->name_len) ?
				NO_MODULE : map_find(l, name, d->name_len,
						     name_hash(name, d->name_len));
			m->pre_need[k][0] = d->ver_major;
			m->pre_need[k][1] = d->ver_minor;
		}
		m->pre_deps = 1;
	}
	m->pre = myr_module_checksum(v->base, v->size) == v->hdr->checksum ?
		 PRE_SUM_OK : PRE_SUM_BAD;
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
		big_alloc(l, n * sizeof(*items), &items_base, &items_len) : NULL;
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
		big_free(l, items, items_base, items_len);
		report(l, r, "reading modules: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct lmod *m = &l->mods[want[i]];
		m->dir = items[i].dir;
		m->fetch_status = items[i].status;
		if (items[i].status == 0) {
			m->state = M_FETCHED;
			m->file = items[i].data;
			m->file_len = items[i].len;
			l->stats.bytes_read += items[i].len;
		} else {
			m->state = M_FAILED;
			if (items[i].err.msg[0])
				m->fetch_msg = arena_strndup(l, items[i].err.msg,
							     strlen(items[i].err.msg));
		}
	}
	big_free(l, items, items_base, items_len);
	return 0;
}

/* The closure hint: every module the program was linked against, read in
 * one batch.  Only a hint: entries are never trusted, merely fetched. */
static int fetch_hint(struct myr_loader *l)
{
	/* A copy: add_module() moves the module array. */
	const struct myr_module_view pv_copy = l->mods[0].view, *pv = &pv_copy;
	uint32_t n = pv->hdr->closure.count, nwant = 0;
	uint32_t *want = lmalloc(l, (n ? n : 1) * sizeof(*want));
	uint32_t *hints = lmalloc(l, (n ? n : 1) * sizeof(*hints));
	uint32_t mapcap = l->mapcap ? l->mapcap : 64;
	int r;

	/* The hint says how many modules to expect: one table and one map,
	 * sized once, no copies and no rehash. */
	while (n < MYR_LOAD_MODULES_MAX &&
	       (uint64_t)(l->nmods + n + 1) * 2 > mapcap)
		mapcap *= 2;
	if (!want || !hints || (l->nmods + n > l->capmods && n < MYR_LOAD_MODULES_MAX &&
				mods_grow(l, l->nmods + n) < 0) ||
	    (mapcap != l->mapcap && map_grow(l, mapcap) < 0)) {
		lfree(l, want);
		lfree(l, hints);
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
		idx = add_module(l, name, c->name_len, hash);
		if (idx == NO_MODULE)
			break;
		want[nwant] = idx;
		hints[nwant++] = c->size_hint;
	}
	r = fetch_batch(l, want, nwant, hints);
	lfree(l, want);
	lfree(l, hints);
	return r;
}

/* The cache, when the program needs a library module at all: a program
 * with none pays nothing for it. */
static void open_cache(struct myr_loader *l)
{
	const struct myr_module_view *pv = &l->mods[0].view;

	l->cache = l->cfg->cache;
	if (l->cache || !l->cfg->cache_open)
		return;
	for (uint32_t d = 0; d < pv->hdr->deps.count; d++)
		if (!is_host_name(myr_view_str(pv, pv->deps[d].name_off),
				  pv->deps[d].name_len)) {
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
		}
		format_chain(l, idx, chain, sizeof(chain));
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
	/* A library's closure hint is never read: only the program's is. */
	err.msg[0] = '\0';
	r = myr_module_parse(m->file, m->file_len,
			     MYR_PARSE_NO_CHECKSUM | MYR_PARSE_NO_CLOSURE,
			     &m->view, &err);
	if (r < 0) {
		format_chain(l, idx, chain, sizeof(chain));
		report(l, r, "%s: %s/%s.myr: %s", chain, dir_name(l, m),
		       m->name, r == -ENOEXEC ? "not a Myriad module" : err.msg);
		m->state = M_BAD;
		return;
	}
	if (m->view.hdr->name_len != m->name_len ||
	    memcmp(m->view.name, m->name, m->name_len) != 0) {
		format_chain(l, idx, chain, sizeof(chain));
		report(l, -EBADMSG, "%s: %s/%s.myr is the module %s, not %s",
		       chain, dir_name(l, m), m->name, m->view.name, m->name);
		m->state = M_BAD;
		return;
	}
	m->ndeps = m->view.hdr->deps.count;
	m->ver_major = m->view.hdr->ver_major;
	m->ver_minor = m->view.hdr->ver_minor;
	m->state = M_PARSED;
}

static int reserve_dep_slots(struct myr_loader *l, uint32_t n)
{
	if (l->ndep_slots + n > l->capdep_slots) {
		size_t cap = l->capdep_slots ? l->capdep_slots * 2 : 16;
		while (cap < l->ndep_slots + n)
			cap *= 2;
		uint32_t *p = lrealloc(l, l->dep_slot,
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
		uint32_t *p = lrealloc(l, q->v, q->cap * sizeof(*p),
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
			format_chain(l, idx, chain, sizeof(chain));
			report(l, -ENOENT, "%s -> %s: no host module in "
			       "this launcher", chain, name);
		} else if (!myr_version_satisfies(d, h->ver_major,
						  h->ver_minor)) {
			format_chain(l, idx, chain, sizeof(chain));
			report(l, -ENOEXEC, "%s -> %s: needs %s %u.%u, "
			       "found %u.%u built into the launcher",
			       chain, name, name, d->ver_major,
			       d->ver_minor, h->ver_major, h->ver_minor);
		} else {
			*slot = HOST_MODULE;
		}
		return NO_MODULE;
	}
	/* The name is valid (no '/', no "..", bounded): the reader checked
	 * every dependency name before this was reached. */
	hash = name_hash(name, d->name_len);
	t = map_find(l, name, d->name_len, hash);
	if (t != NO_MODULE)
		return t;
	if (l->cache) {
		int64_t c = myr_cache_find(l->cache, name, d->name_len);
		if (c >= 0) {
			uint16_t major, minor;
			myr_cache_version(l->cache, (uint32_t)c, &major, &minor);
			if (!myr_version_satisfies(d, major, minor)) {
				format_chain(l, idx, chain, sizeof(chain));
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
	t = add_module(l, name, d->name_len, hash);
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
		uint32_t t = l->mods[idx].pre_deps ? l->mods[idx].pre_dep[i] :
			     NO_MODULE;

		*slot = NO_MODULE;
		if (t == NO_MODULE)
			t = resolve_dep(l, idx, i, slot, fetch);
		if (t == FAILED_DEP)
			return l->failed;
		if (t == NO_MODULE)
			continue;
		*slot = t;
		if (l->mods[t].reached)
			continue;
		l->mods[t].reached = 1;
		l->mods[t].parent = idx;
		l->mods[t].depth = l->mods[idx].depth + 1;
		if (l->mods[t].depth > MYR_LOAD_DEPTH_MAX) {
			format_chain(l, idx, chain, sizeof(chain));
			report(l, -E2BIG, "%s: dependency chain deeper than %u",
			       chain, MYR_LOAD_DEPTH_MAX);
			return l->failed;
		}
		if (index_list_push(l, next, t) < 0)
			return -ENOMEM;
	}
	return 0;
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
	lfree(l, level.v);
	lfree(l, next.v);
	lfree(l, fetch.v);
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
			format_chain(l, i, chain, sizeof(chain));
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
	uint32_t *stack = lmalloc(l, l->nmods * sizeof(*stack));
	uint32_t *next_dep = lmalloc(l, l->nmods * sizeof(*next_dep));
	uint32_t depth = 0, cycles = 0;

	uint32_t ncache = l->cache ?
		myr_cache_module_count(l->cache) : 0;

	l->order = lmalloc(l, l->nmods * sizeof(*l->order));
	l->init_order = lmalloc(l, ((size_t)l->nmods + ncache) * sizeof(*l->init_order));
	if (!stack || !next_dep || !l->order || !l->init_order) {
		lfree(l, stack);
		lfree(l, next_dep);
		report(l, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	/* A launch closure's modules first: no file module is below them. */
	for (uint32_t k = 0; k < l->nlaunch; k++) {
		myr_cache_mark_active(l->cache, l->launch_closure[k]);
		l->init_order[l->ninit_order++] = CACHED | l->launch_closure[k];
	}
	stack[depth++] = 0;
	next_dep[0] = 0;
	l->mods[0].color = 1;
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
	lfree(l, stack);
	lfree(l, next_dep);
	return 0;
}

int myr_loader_resolve(struct myr_loader *l, const char *path)
{
	uint64_t t0 = now_ns(l), fetch_before = l->stats.ns_fetch;

	if (l->stage != S_NEW)
		return -EINVAL;
	l->program_path = path;
	if (l->cfg->trace) {
		char line[MYR_ERROR_MSG_MAX];
		snprintf(line, sizeof(line), "program %s: read as given, not "
			 "searched in the library directories", path);
		l->cfg->trace(l->cfg->trace_opaque, line);
	}
	if (add_module(l, "program", 7, name_hash("program", 7)) != 0)
		return l->failed;
	if (read_program(l, path) < 0 || parse_program(l, path) < 0)
		return l->failed;
	/* Re-key the program under its own name. */
	memset(l->map, 0, l->mapcap * sizeof(*l->map));
	map_put(l, 0);
	l->hint_needed = 1;

	open_cache(l);
	if (l->cache)
		use_cache_records(l);
	if ((l->hint_needed ? fetch_hint(l) : 0) == 0 && walk_graph(l) == 0) {
		check_versions(l);
		if (!l->failed)
			order_modules(l);
	}
	l->stats.ns_resolve += now_ns(l) - t0 - (l->stats.ns_fetch - fetch_before);
	if (l->failed)
		return l->failed;
	l->ncached = l->ninit_order - l->norder;
	l->stats.modules = l->ninit_order;
	l->stage = S_RESOLVED;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Stage 2: verify                                                     */
/* ------------------------------------------------------------------ */

int myr_loader_verify(struct myr_loader *l)
{
	uint64_t t0 = now_ns(l);
	char chain[512];

	if (l->failed)
		return -ECANCELED;
	if (l->stage != S_RESOLVED)
		return -EINVAL;
	for (uint32_t k = 0; k < l->norder; k++) {
		const struct lmod *m = &l->mods[l->order[k]];
		if (m->pre == PRE_SUM_OK ||
		    (m->pre != PRE_SUM_BAD &&
		     myr_module_checksum(m->view.base, m->view.size) ==
		     m->view.hdr->checksum))
			continue;
		format_chain(l, l->order[k], chain, sizeof(chain));
		if (m->dir < 0)
			report(l, -EILSEQ, "%s: checksum mismatch (the file is "
			       "corrupt)", l->program_path);
		else
			report(l, -EILSEQ, "%s: %s/%s.myr: checksum mismatch "
			       "(the file is corrupt)", chain, dir_name(l, m),
			       m->name);
	}
	l->stats.ns_verify += now_ns(l) - t0;
	if (l->failed)
		return l->failed;
	l->stage = S_VERIFIED;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Lanes for the per-module stages                                     */
/* ------------------------------------------------------------------ */

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

/* stage_lanes_run(): no lane ran, the caller must do every module. */
#define STAGE_ALL UINT32_MAX

/* Run work over every module on the lanes; returns how many they left
 * marked redo for the caller (stage_left()), or STAGE_ALL. */
static uint32_t stage_lanes_run(struct myr_loader *l,
			   int (*work)(struct myr_loader *, uint32_t, void *),
			   size_t scratch_len)
{
	struct stage_lanes sl = { .l = l, .work = work,
				  .scratch_len = scratch_len };
	pthread_t helpers[MYR_FETCH_LANES_MAX - 1];
	unsigned n = stage_threads(l), started = 0;
	pthread_attr_t attr;
	int have_attr;

	if (n < 2)
		return STAGE_ALL;
	have_attr = pthread_attr_init(&attr) == 0;
	if (have_attr)
		pthread_attr_setstacksize(&attr, 256u << 10);
	for (unsigned t = 0; t + 1 < n; t++) {
		if (pthread_create(&helpers[started], have_attr ? &attr : NULL,
				   stage_lane, &sl) != 0)
			break;
		started++;
	}
	if (have_attr)
		pthread_attr_destroy(&attr);
	if (!started)
		return STAGE_ALL;
	stage_lane(&sl);
	for (unsigned t = 0; t < started; t++)
		pthread_join(helpers[t], NULL);
	return sl.left;
}

/* The next module in order after *k that the loader's thread must do
 * (left of them, from stage_lanes_run()), its redo mark cleared; 0 when
 * none is left.  Scans no further than the last one left. */
static int stage_left(struct myr_loader *l, uint32_t *left, uint32_t *k)
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

/* ------------------------------------------------------------------ */
/* Stage 3: place                                                      */
/* ------------------------------------------------------------------ */

/* Copy or decompress module order[k]'s segments into place; report: say
 * what failed (the loader's thread only).  Returns 0 or -1. */
static int place_module(struct myr_loader *l, uint32_t k, int report_errors)
{
	struct lmod *m = &l->mods[l->order[k]];
	struct myr_error err = { 0 };
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
				format_chain(l, l->order[k], chain, sizeof(chain));
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
	req = lmalloc(l, (l->norder ? l->norder : 1) * sizeof(*req));
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
	lfree(l, req);
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
		uint32_t left = stage_lanes_run(l, place_lane, 0);
		for (uint32_t k = 0; stage_left(l, &left, &k); k++)
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

/* ------------------------------------------------------------------ */
/* Stage 4: link                                                       */
/* ------------------------------------------------------------------ */

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

	format_chain(l, u->module, chain, sizeof(chain));
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
	struct myr_error err = { 0 };
	uint32_t missing;
	int64_t n;
	int bad = 0;

	for (uint32_t d = 0; d < h->deps.count; d++) {
		uint32_t t = l->dep_slot[m->dep_first + d];
		if (!report_errors && (is_cached(t) || t >= HOST_MODULE))
			return -1;
		if (is_cached(t)) {
			deps[d] = myr_cache_link_module(l->cache, t & ~CACHED,
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
	missing = myr_link_bind(&m->link, deps, l->cfg->host, addr,
				report_errors ? on_unresolved : count_unresolved,
				&u);
	if (missing && !report_errors)
		return -1;
	n = missing ? 0 : myr_link_relocate(&m->link, addr, &err);
	if (n < 0 && !report_errors)
		return -1;
	__atomic_fetch_add(&l->stats.imports_bound,
			   (uint64_t)(h->imports.count - missing), __ATOMIC_RELAXED);
	if (missing)
		return -1;
	if (n < 0) {
		char chain[512];
		format_chain(l, idx, chain, sizeof(chain));
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
	addr = lmalloc(l, max_imports * sizeof(*addr));
	deps = lmalloc(l, max_deps * sizeof(*deps));
	if (!addr || !deps) {
		lfree(l, addr);
		lfree(l, deps);
		report(l, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	{
		uint32_t left = stage_lanes_run(l, link_lane,
						max_imports * sizeof(*addr) +
						max_deps * sizeof(*deps));
		for (uint32_t k = 0; stage_left(l, &left, &k); k++)
			link_module(l, k, addr, deps, 1);
	}
	lfree(l, addr);
	lfree(l, deps);
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

/* ------------------------------------------------------------------ */
/* Stage 5: protect                                                    */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* Stage 6: release                                                    */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* Stage 8: init, and fini                                             */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* Entry, context, lookup                                              */
/* ------------------------------------------------------------------ */

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
	lm = myr_cache_link_module(l->cache, (uint32_t)c, NULL);
	len = (uint32_t)strnlen(symbol, MYR_SYMBOL_MAX + 1);
	if (!lm || len > MYR_SYMBOL_MAX)
		return NULL;
	e = myr_module_find_export(lm->view, symbol, len,
				   myr_symbol_hash(symbol, len), MYR_NO_HINT);
	if (e < 0)
		return NULL;
	return lm->seg[lm->view->exports[e].seg] + lm->view->exports[e].off;
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
		size_t n = strlen(module);
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

void myr_loader_exit(struct myr_loader *l)
{
	if (!l)
		return;
	if (l->fetcher)
		myr_fetcher_exit(l->fetcher);
	myr_pool_exit(l->pool);
	free_program(l);
	big_free(l, l->mods, l->mods_base, l->mods_len);
	lfree(l, l->map);
	lfree(l, l->dep_slot);
	lfree(l, l->order);
	lfree(l, l->init_order);
	while (l->arena) {
		struct arena_chunk *c = l->arena;
		l->arena = c->next;
		lfree(l, c);
	}
	munmap(l, SCRATCH_SIZE);
}
