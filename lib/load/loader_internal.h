/* SPDX-License-Identifier: MIT */
/*
 * lib/load/loader_internal.h - what the loader's stage files share: the
 * loader (struct myr_loader), its module table (struct lmod), and the
 * helpers of the loader core (state.c).  Not installed; not API.
 *
 * The loader goes from a program file to a linked, protected image ready to
 * run.  In the spirit of musl's ldso/dynlink.c, the work is split into named
 * stages, one file each, each of which begins by stating what it may assume
 * about the ones before it (see <myriad/loader.h>):
 *
 *   resolve.c (+ fetch.c) -> verify.c -> place.c -> bind.c (link) ->
 *   protect.c -> release (state.c)
 *
 * followed, once the caller has applied the sandbox, by init.c (init, fini)
 * and lookup.c (entry, context, symbol lookup).  lanes.c runs the per-module
 * work of place and link on several threads.  Every stage reports every
 * problem it finds through the diag sink and then fails once; no module code
 * runs before myr_loader_run_init().
 *
 * Scale: every stage is linear in modules + dependency edges + imports +
 * relocations.  Modules are found by name through one hash map, imports are
 * bound per dependency (two-level namespace), and the pool places all
 * segments with a fixed number of system calls.
 *
 * Cycles are rejected: a module's constructors may rely on its
 * dependencies' constructors having run, which no order can promise inside
 * a cycle.
 *
 * Naming: functions defined in one file of lib/ and called from another,
 * but not part of the API, are named myri_* (docs/design.md); the installed
 * libmyriad.a keeps them local.  The static inline helpers below are
 * private copies in each file that includes this header.
 */
#ifndef MYRIAD_LIB_LOADER_INTERNAL_H
#define MYRIAD_LIB_LOADER_INTERNAL_H

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <myriad/cache.h>
#include <myriad/limits.h>
#include <myriad/loader.h>
#include <myriad/module.h>
#include "base/bytes.h"
#include "image/link.h"

#define NO_MODULE   UINT32_MAX        /* dependency slot: unusable */
#define HOST_MODULE (UINT32_MAX - 1)  /* dependency slot: the host */
/* Dependency slot or init-order entry: a module of the cache's image, by
 * its index there (no struct lmod: a cached module costs the loader
 * nothing but this word).  Below HOST_MODULE, so test those first. */
#define CACHED      0x80000000u

static inline int is_cached(uint32_t t)
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
	M_ABSENT,        /* not found, and so far only optional dependencies
	                    name it: not an error unless a required one does
	                    (report_absent_required()) */
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
	uint8_t pre_optional;            /* bit k: dependency k is optional
	                                    (MYR_DEP_OPTIONAL), with pre_dep */
	uint8_t required;                /* some non-optional edge names it */
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
	                                    too), dependencies first, but a
	                                    launch closure's modules with
	                                    nothing to run (nquiet) */
	uint32_t ninit_order, ncached, nquiet;
	const uint32_t *launch_closure;  /* the cache's record, or NULL */
	uint32_t program_image;          /* 1 + the image's index of the
	                                    program run from it, or 0 */
	uint32_t nlaunch;
	int hint_needed;                 /* some dependency is not cached */
	int8_t cache_asked;              /* cfg->cache_ask: 0 not called, 1
	                                    a request is out, -1 none */
	int8_t cache_opened;             /* cfg->cache_open called */
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
	uint32_t nabsent;                /* modules in state M_ABSENT */
	/* MYR_LOAD_BYTES_MAX, deterministically: the library bytes read
	 * before the current batch, and the module that passes the budget
	 * in batch order (each file's size counted whether or not its lane
	 * got to charge it first), so the message names the same module and
	 * total at every thread count. */
	uint64_t lib_bytes, budget_total;
	uint32_t budget_culprit;         /* NO_MODULE until one passes it */
	uint32_t link_max_imports;       /* link lanes' scratch layout, */
	uint32_t link_max_deps;          /* both taken by place */
};

/*
 * The loader lives at the start of SCRATCH_SIZE bytes of zeroed memory
 * (static storage for a process's first loader, else an anonymous
 * mapping), and its bookkeeping is carved from the rest, bump-style, until
 * it is used up: then malloc() as before.  Small loads (a hello world) make a
 * dozen allocations of as many sizes, and malloc would give each size class
 * a group of its own, each a fresh page or two, each page a fault costing
 * several microseconds in a VM; here they share a handful of pages.  Only
 * pages written are ever backed.  Scratch memory starts zeroed and is
 * never reused: myri_lfree() of it does nothing, myri_lrealloc() copies.  The tables
 * start small (2 modules, 16 map slots and list entries, a 128-byte first
 * name chunk) so that a hello world's loader, tables and program file
 * (under 2 KiB) share the first page: one fault, not two.
 */
#define SCRATCH_SIZE (256u << 10)

#define HUGE_PAGE (2u << 20)

/* How many entries ahead a loop over modules in an order of their own
 * asks for the memory it will need: enough to cover a cache miss. */
#define PREFETCH_AHEAD 8

/* stage_lanes_run(): no lane ran, the caller must do every module. */
#define STAGE_ALL UINT32_MAX

/* ---- static inline helpers ---------------------------------------- */

static inline uint64_t now_ns(const struct myr_loader *l)
{
	struct timespec ts;
	if (l->cfg->untimed)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int in_scratch(const struct myr_loader *l, const void *p)
{
	return (const uint8_t *)p >= (const uint8_t *)l &&
	       (const uint8_t *)p < (const uint8_t *)l + SCRATCH_SIZE;
}

static inline void fail(struct myr_loader *l, int code)
{
	if (!l->failed)
		l->failed = code;
}

#define report(l, code, ...) do {                                       \
		myr_diag_emitf((l)->cfg->diag, __VA_ARGS__);            \
		fail((l), (code));                                      \
	} while (0)

static inline uint32_t name_hash(const char *s, uint32_t len)
{
	return myr_symbol_hash(s, len);
}

static inline const char *dir_name(const struct myr_loader *l, const struct lmod *m)
{
	if (m->dir < 0)
		return l->program_path;
	if ((unsigned)m->dir < l->cfg->ndirs)
		return l->cfg->dirs[m->dir];
	return "?";
}

static inline uint32_t map_find(const struct myr_loader *l, const char *name,
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
		    bytes_equal(m->name, name, len))
			return v - 1;
	}
}

/* ---- the loader core (state.c) -------------------------------------- */

/* Bookkeeping memory: from the loader's own mapping while it lasts, then
 * malloc().  myri_lfree() of scratch memory does nothing; myri_lrealloc()
 * takes the block's current size (old). */
void *myri_scratch_alloc(struct myr_loader *l, size_t n);
void *myri_lmalloc(struct myr_loader *l, size_t n);
void *myri_lcalloc(struct myr_loader *l, size_t n);
void myri_lfree(struct myr_loader *l, void *p);
void *myri_lrealloc(struct myr_loader *l, void *p, size_t old, size_t n);
/* A NUL-terminated copy of s[0..n) in the loader's name arena, freed by
 * myr_loader_exit(); NULL when out of memory. */
char *myri_arena_strndup(struct myr_loader *l, const char *s, size_t n);
/* Zeroed memory for arrays that grow with the closure; *base and *len say
 * what myri_big_free() gives back. */
void *myri_big_alloc(struct myr_loader *l, size_t size, void **base,
		     size_t *len);
void myri_big_free(struct myr_loader *l, void *p, void *base, size_t len);
/* The dependency chain from the program to module m, for messages. */
void myri_format_chain(const struct myr_loader *l, uint32_t m, char *buf,
		       size_t len);
/* The name map: insert module idx (room assured by myri_add_module() or
 * myri_map_grow()); rehash into cap slots. */
void myri_map_put(struct myr_loader *l, uint32_t idx);
int myri_map_grow(struct myr_loader *l, uint32_t cap);
/* Room for cap modules in the table, entries kept (they may move). */
int myri_mods_grow(struct myr_loader *l, uint32_t cap);
/* A new module by name (not yet present; hash is name_hash() of it): its
 * index, or NO_MODULE when out of memory or over the module limit (both
 * reported).  The table may move. */
uint32_t myri_add_module(struct myr_loader *l, const char *name, uint32_t len,
			 uint32_t hash);

/* ---- the lanes (lanes.c) -------------------------------------------- */

/* Run work over every module of l->order on helper threads and the calling
 * one; returns how many modules they left marked redo for the caller, or
 * STAGE_ALL when no lane ran.  The caller then takes them in order with
 * myri_stage_left(). */
uint32_t myri_stage_lanes_run(struct myr_loader *l,
			      int (*work)(struct myr_loader *, uint32_t, void *),
			      size_t scratch_len);
int myri_stage_left(struct myr_loader *l, uint32_t *left, uint32_t *k);

#endif /* MYRIAD_LIB_LOADER_INTERNAL_H */
