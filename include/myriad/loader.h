/* SPDX-License-Identifier: MIT */
/*
 * myriad/loader.h - loading a program and its dependency closure: the pool
 * allocator and the loader's stages.
 *
 * Conventions are those of <myriad/error.h>: 0 or -errno, never errno,
 * never a print, never an exit.  The loader reports every problem it finds
 * (each missing module, each version mismatch, each unresolved symbol) as
 * one line through the configured struct myr_diag, then returns one
 * failure; lines name the module and the dependency chain that led to it
 * ("app -> json -> unicode: needs unicode 2.1, found 1.4 in /usr/lib/myriad")
 * and never start with a program name: the caller prefixes its own.
 *
 * Typical use (launcher/cmd_run.c):
 *
 *     myr_loader_init(&l, &cfg, &err);
 *     myr_loader_load(l, path);           stages 1-6; nothing has run yet
 *     myr_sandbox_apply(myr_loader_caps(l), mode, &err);
 *     myr_loader_run_init(l);             constructors, dependencies first
 *     status = myr_loader_entry(l)(myr_loader_ctx(l, argc, argv, envp));
 *     myr_loader_run_fini(l);             (from an atexit handler)
 *
 * A loader loads one program once.  Stages must be called in order; each
 * returns -EINVAL if called out of order and -ECANCELED after an earlier
 * stage failed.  Until myr_loader_run_init() no code of any module has run,
 * so a caller may give up at any stage and call myr_loader_exit().
 */
#ifndef MYRIAD_LOADER_H
#define MYRIAD_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <myriad/error.h>
#include <myriad/fetch.h>
#include <myriad/format.h>
#include <myriad/myriad.h>

/* ------------------------------------------------------------------ */
/* The pool: where segments go (lib/image/pool.c)                            */
/* ------------------------------------------------------------------ */

/*
 * After the Wasmtime RFC's InstanceAllocationStrategy.  Either way every
 * module lies in one address-space reservation of at most
 * MYR_POOL_RESERVATION_MAX bytes, so any two modules are within +-2 GiB of
 * each other and a cross-module call is a direct PC-relative call.
 */
enum myr_alloc_strategy {
	/* Segments of all modules packed by class: every text in one range,
	 * rodata in one, relro in one, data+bss in one.  Many tiny modules
	 * share a page.  A fixed handful of mprotect() calls whatever the
	 * number of modules, and no per-module mapping. */
	MYR_ALLOC_POOLING = 0,
	/* Each module mapped on its own (page-aligned classes) between
	 * PROT_NONE guard pages: a stray write faults instead of landing in
	 * a neighbour.  For debugging and isolation; costs mappings. */
	MYR_ALLOC_ON_DEMAND,
};

#define MYR_POOL_RESERVATION_MAX (2ull << 30)

/* The allocator's classes (a module's BSS goes to the data class). */
enum myr_pool_class {
	MYR_CLASS_TEXT = 0,
	MYR_CLASS_RODATA,
	MYR_CLASS_RELRO,
	MYR_CLASS_DATA,
	MYR_CLASS_COUNT
};

/*
 * Limits, in bytes except modules.  Defaults are MYR_POOL_DEFAULT_* from
 * <myriad/limits.h>.  The class limits bound the sum of the segment sizes
 * in the class (alignment padding included); module_size bounds one
 * module's segments together.  The class limits together may not exceed
 * MYR_POOL_RESERVATION_MAX.
 */
struct myr_pool_limits {
	uint64_t modules;
	uint64_t size[MYR_CLASS_COUNT];   /* text, rodata, relro, data */
	uint64_t module_size;
};

/* Fill *lim with the defaults. */
void myr_pool_limits_default(struct myr_pool_limits *lim);

/*
 * Set one limit from text, as the launcher's --pool-limit KEY=VALUE does.
 * key is one of "modules", "text", "rodata", "relro", "data",
 * "module-size"; value is a decimal number, for sizes optionally followed
 * by K, M or G (binary units).  Returns 0, or -EINVAL (err names the key
 * or value) for an unknown key, a malformed value, zero, or a size over
 * MYR_POOL_RESERVATION_MAX.
 */
int myr_pool_limit_set(struct myr_pool_limits *lim, const char *key,
		       const char *value, struct myr_error *err);

/* The class limits fit one reservation: 0 or -EINVAL (err says by how
 * much they exceed it). */
int myr_pool_limits_check(const struct myr_pool_limits *lim,
			  struct myr_error *err);

/* What one module asks of the pool: its segments' sizes and alignments
 * (straight from myr_header.seg). */
struct myr_pool_request {
	uint32_t size[MYR_SEG_COUNT];
	uint8_t  align_log2[MYR_SEG_COUNT];
};

struct myr_pool;

/* Counters for tests and statistics. */
struct myr_pool_usage {
	uint64_t class_bytes[MYR_CLASS_COUNT]; /* used, with alignment padding */
	uint64_t reserved;                     /* bytes of the reservation */
	unsigned mmap_calls;                   /* the reservation included */
	unsigned mprotect_calls;
};

/* Create an empty pool (no memory reserved).  lim is copied. */
int myr_pool_init(struct myr_pool **out, enum myr_alloc_strategy strategy,
		  const struct myr_pool_limits *lim);

/*
 * Pooling, before myr_pool_plan(): pack the plan for a pool that is never
 * written out as an image (the loader's, not the cache's).  Relro then
 * follows rodata on the same page, and BSS follows data without a page
 * boundary, so a small program touches three pages instead of five.  The
 * protection is the same: text alone is executable, rodata and relro
 * turn read-only together in myr_pool_protect(), data and BSS stay
 * writable; only the relro class start and myr_pool_bss_start() are no
 * longer page-aligned.  A packed plan of up to 64 KiB, the first at a time
 * in the process, takes static pages instead of a mapping (x86-64).
 */
void myr_pool_pack(struct myr_pool *p);

/*
 * Lay out n modules (req[i] is module i) without touching memory: compute
 * every segment's place and the totals, and check every limit.  O(n).
 * Returns 0, -E2BIG when a limit is exceeded (err: "pool limit exceeded:
 * text needs 600 MiB, --pool-text is 512 MiB"; the first limit exceeded),
 * -EINVAL for an alignment over MYR_ALIGN_LOG2_MAX, or -ENOMEM.
 */
int myr_pool_plan(struct myr_pool *p, const struct myr_pool_request *req,
		  size_t n, struct myr_error *err);

/*
 * Ask that the whole reservation lie within +-2 GiB of every address in
 * [lo, hi) (the host module's code and data), so that modules may reach
 * the host with PC-relative references too.  Before myr_pool_map().
 */
void myr_pool_set_near(struct myr_pool *p, uintptr_t lo, uintptr_t hi);

/*
 * Reserve the address space and make the planned ranges readable and
 * writable, never executable: pooling makes one mmap() of exactly the plan;
 * on-demand reserves PROT_NONE and makes one mmap() per module inside the
 * reservation.
 * Memory is zero-filled, so BSS needs nothing more.  -ENOMEM (err says how
 * much could not be reserved, or that no free range lies near enough to
 * the one set with myr_pool_set_near()) or another -errno from the kernel.
 */
int myr_pool_map(struct myr_pool *p, struct myr_error *err);

/* Where segment seg of module i lives (valid after myr_pool_map()).  An
 * empty segment still has an address: the place it would start. */
uint8_t *myr_pool_segment(const struct myr_pool *p, size_t i, unsigned seg);

/* The reservation's first byte (NULL before myr_pool_map() or when empty). */
uint8_t *myr_pool_base(const struct myr_pool *p);

/* Pooling: the reservation offset where class cls starts; cls ==
 * MYR_CLASS_COUNT gives the end.  Each is page-aligned (after planning),
 * but relro's in a packed pool. */
uint64_t myr_pool_class_start(const struct myr_pool *p, unsigned cls);
/* Pooling: where the zero-filled tail of the data class begins (a page
 * boundary at or after every DATA segment, unless packed: right after
 * them; every BSS segment lies past it, up to the end of the data class). */
uint64_t myr_pool_bss_start(const struct myr_pool *p);

/*
 * Reserve size bytes of PROT_NONE address space whose every byte is within
 * a 32-bit displacement of every byte of [lo, hi), trying the places
 * myr_pool_map() tries.  Returns the address or MAP_FAILED.  The cache
 * (lib/image/cache_image.c) maps its image with it when its preferred address is taken.
 */
void *myr_pool_reserve_near(uint64_t size, uintptr_t lo, uintptr_t hi);

/*
 * Final protections: text read+exec, rodata and relro read-only, data and
 * bss read+write.  Pooling: two mprotect() calls in total (text; rodata and
 * relro together, which are adjacent); on-demand: two per module.  Text is
 * never writable and executable at once: it is RW before this call and RX
 * after it.
 */
int myr_pool_protect(struct myr_pool *p, struct myr_error *err);

void myr_pool_usage(const struct myr_pool *p, struct myr_pool_usage *u);

/* Unmap the reservation (if mapped) and free the pool.  Only once no code
 * in it can run any more.  NULL is allowed. */
void myr_pool_exit(struct myr_pool *p);

/* Keep the mapping for the life of the process but free the bookkeeping. */
void myr_pool_release(struct myr_pool *p);

/* ------------------------------------------------------------------ */
/* The loader (lib/load/, lib/image/link.c)                               */
/* ------------------------------------------------------------------ */

/*
 * The built-in host module, as the loader sees it: imports from a
 * dependency named name (MYR_HOST_MODULE_NAME) are bound with find()
 * instead of an export table, after the dependency's version constraint
 * has been checked against (ver_major, ver_minor).  find returns the
 * symbol's address or NULL.  The pool is placed within +-2 GiB of [lo, hi)
 * so that calls into the host are direct PC-relative calls too (lo == hi:
 * anywhere).
 */
struct myr_host_binding {
	const char *name;
	uint16_t ver_major, ver_minor, ver_patch;
	uintptr_t lo, hi;               /* every host symbol lies in [lo, hi) */
	void *(*find)(void *opaque, const char *name, uint32_t len);
	void *opaque;
	/* MYR_SYM_FUNC or MYR_SYM_OBJECT, 0 if unknown; may be NULL (then
	 * every symbol counts as an object).  The cache builder calls
	 * functions through stubs but must reach objects directly. */
	int (*kind)(void *opaque, const char *name, uint32_t len);
};

struct myr_loader_config {
	const char *const *dirs;        /* library directories, in order */
	unsigned ndirs;
	enum myr_io_mode io;
	enum myr_alloc_strategy alloc;
	struct myr_pool_limits limits;
	const struct myr_host_binding *host;  /* NULL: no host module */
	struct myr_diag *diag;          /* every problem, one line each */
	myr_fetch_trace_fn trace;       /* MYRIAD_DEBUG=files, or NULL */
	void *trace_opaque;
	/* Leave the statistics' stage times (ns_*) at 0 and read no clock:
	 * a launch without --stats saves the clock's first-use cost. */
	int untimed;
	/* An opened image of the first library directory (<myriad/cache.h>),
	 * or NULL.  Modules it holds (and can use) are taken from it instead
	 * of their files; the loader activates and protects them. */
	struct myr_cache *cache;
	/* Or opened on demand: called at most once, and only when the
	 * program depends on a library module; returns NULL for none.  The
	 * caller owns what it returns. */
	struct myr_cache *(*cache_open)(void *opaque);
	/* Optional, with cache_open: called at most once, before it, to
	 * start what cache_open will finish (the loader service's request),
	 * with the program's descriptor (borrowed: the request sends it).
	 * Returns 1 when a request is out: a program of 64 KiB or more then
	 * waits for the answer, which may vouch for it (only its header is
	 * read) or carry a copy of its file (mapped, not read); a smaller one
	 * is read and its checksum computed while the service works; 0 when
	 * there is
	 * none (no service socket, --service=off): cache_open answers at
	 * once, and a large program may then run from the image without its
	 * file being read (docs/cache.md, "Programs from the image"). */
	int (*cache_ask)(void *opaque, int program_fd);
	void *cache_opaque;
	/* Threads reading, parsing and checksumming module files together
	 * (myr_fetch_config.nthreads: 0 auto, 1 none); each is joined before
	 * the stage that started it returns.  The results, messages and
	 * their order do not depend on it. */
	unsigned nthreads;
	/* Bytes of library module files one load may read (0:
	 * MYR_LOAD_BYTES_MAX; larger values are capped to it). */
	uint64_t max_bytes;
};

struct myr_loader;

/*
 * Create a loader.  cfg and everything it points to must outlive the
 * loader.  Nothing is opened yet: the library directories are opened
 * (through the fetcher) when the first module must be read, so a program
 * without library dependencies needs none; a directory that cannot be
 * opened is then reported like any other load problem.  Returns 0 or
 * -ENOMEM / -EINVAL (err says which).
 */
int myr_loader_init(struct myr_loader **out,
		    const struct myr_loader_config *cfg, struct myr_error *err);

/*
 * Stage 1, resolve + fetch.  Reads the program from path (a path, not a
 * library name; it must be a regular file, opened O_NONBLOCK so a FIFO
 * cannot hang), checks it is a program module, fetches its recorded
 * closure hint in one batch, then walks the real dependency graph breadth
 * first from the program, fetching level by level whatever the hint did
 * not provide.  Each module is loaded once (a hash map by name).  Checks
 * names, version constraints (including the host module's), and rejects
 * dependency cycles, printing each ("a -> b -> c -> a").  Modules of the
 * hint that the graph does not reach are dropped.  Every module is
 * structurally validated (myr_module_parse() without the checksum).
 * Returns 0, or the first problem's -errno after reporting all of them.
 */
int myr_loader_resolve(struct myr_loader *l, const char *path);

/* Stage 2, verify: every module's checksum.  May assume stage 1: the
 * module views are structurally valid. */
int myr_loader_verify(struct myr_loader *l);

/* Stage 3, place: plan the pool (limits checked before any memory is
 * touched), map it and decompress every segment straight into place.  May
 * assume stage 2: module contents are exactly what was linked. */
int myr_loader_place(struct myr_loader *l);

/* Stage 4, link: bind every import through its own dependency's export
 * table (or the host binding) and apply every relocation, bounds- and
 * range-checked.  Reports every unresolved import.  May assume stage 3:
 * every segment has its final address and is writable. */
int myr_loader_link(struct myr_loader *l);

/* Stage 5, protect: W^X.  May assume stage 4: nothing is left to write in
 * text, rodata or relro. */
int myr_loader_protect(struct myr_loader *l);

/* Stage 6, release: close the fetcher and the cache's descriptors, so no
 * fd the loader opened survives.  After a successful load the file
 * buffers are kept until myr_loader_exit() (their export tables serve
 * lookups); after a failure they are freed.  May assume stage 5, or any
 * failure. */
void myr_loader_release(struct myr_loader *l);

/* Stages 1 to 6, each timed into the statistics; on failure the fetcher
 * is released too.  Nothing of the program has run when this returns. */
int myr_loader_load(struct myr_loader *l, const char *path);

/* The capabilities the program asks of the sandbox (MYR_CAP_*). */
uint32_t myr_loader_caps(const struct myr_loader *l);

/*
 * Stage 8, init: run each module's init array once, dependencies first
 * (post-order from the program; the order of a module's dependencies is
 * the order of its dependency table).  The first module code runs here.
 * Returns 0.  A constructor that calls exit() ends the process; fini then
 * runs for the modules whose init had started.
 */
int myr_loader_run_init(struct myr_loader *l);

/* Run the fini arrays of every initialized module, in reverse init order
 * and each array backwards.  Runs at most once; later calls do nothing. */
void myr_loader_run_fini(struct myr_loader *l);

typedef int (*myr_entry_fn)(const struct myriad_ctx *ctx);

/* The program's entry point (after stage 5). */
myr_entry_fn myr_loader_entry(const struct myr_loader *l);

/* Fill and return the context object, owned by the loader. */
const struct myriad_ctx *myr_loader_ctx(struct myr_loader *l, int argc,
					char **argv, char **envp);

/* The same lookup the context offers: module NULL is the program. */
void *myr_loader_lookup(const struct myr_loader *l, const char *module,
			const char *symbol);

/*
 * Whether the module named by the NUL-terminated module is part of the
 * loaded image (a file module of the closure or one of the cache's active
 * modules): 1 or 0.  0 before release, after a failed load, for NULL, or
 * for a name over MYR_NAME_MAX.  The host module's dlopen() asks this.
 */
int myr_loader_has_module(const struct myr_loader *l, const char *module);

const struct myriad_load_stats *myr_loader_stats(const struct myr_loader *l);

/* The cache the loader used (cfg->cache or cfg->cache_open's), or NULL. */
struct myr_cache *myr_loader_cache(const struct myr_loader *l);

/* How many modules of the program came from the cache's image and how
 * many from files (the program included), after stage 1. */
void myr_loader_origins(const struct myr_loader *l, uint32_t *cached,
			uint32_t *files);

/* Free the loader and unmap the modules: only when no module code ran or
 * none can run any more.  NULL is allowed. */
void myr_loader_exit(struct myr_loader *l);

#endif /* MYRIAD_LOADER_H */
