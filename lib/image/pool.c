/* SPDX-License-Identifier: MIT */
/*
 * The loader's memory: one address-space reservation per program, laid out
 * by one of two strategies (after the Wasmtime RFC's
 * InstanceAllocationStrategy; see <myriad/loader.h>).
 *
 * Invariants:
 *   - Planning touches no memory, so a closure over a limit fails before
 *     anything is mapped.
 *   - The reservation never exceeds MYR_POOL_RESERVATION_MAX, so every
 *     segment offset fits in 32 bits and any two modules are within a
 *     PC-relative call of each other.
 *   - Nothing is ever mapped writable and executable at once: memory is
 *     mapped RW for loading and linking (pooling: the planned reservation
 *     at once; on-demand: each module inside a PROT_NONE reservation), and
 *     text turns RX only in myr_pool_protect().
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <myriad/limits.h>
#include <myriad/loader.h>

#define PAGE_SIZE_FIXED 4096u

/* A plan of up to this many modules fits in the pool itself. */
#define POOL_INLINE_MODULES 4

/* Where one on-demand module's page-aligned ranges start, relative to the
 * reservation; cls[MYR_CLASS_COUNT] is its end. */
struct module_span {
	uint32_t cls[MYR_CLASS_COUNT + 1];
};

struct myr_pool {
	enum myr_alloc_strategy strategy;
	struct myr_pool_limits lim;
	size_t n;
	uint32_t *seg_off;               /* n * MYR_SEG_COUNT, from base */
	struct module_span *spans;       /* on-demand only */
	uint64_t class_bytes[MYR_CLASS_COUNT];
	uint32_t class_start[MYR_CLASS_COUNT + 1]; /* pooling: page-aligned */
	uint32_t bss_start;             /* pooling: page-aligned unless
	                                   packed; every BSS segment lies in
	                                   [bss_start, end) */
	uint64_t reserved;
	int packed;                     /* myr_pool_pack() */
	uint8_t *base;
	uintptr_t near_lo, near_hi;      /* keep within +-2 GiB of these */
	unsigned mmap_calls, mprotect_calls;
	int planned, mapped;
	uint32_t seg_off_inline[POOL_INLINE_MODULES * MYR_SEG_COUNT];
};

/*
 * A process launches one program, so it has one pool: that one lives in
 * static storage and, with a small program's plan inline, a hello world's
 * launch never calls malloc, whose first call costs a brk, two mmaps and
 * four page faults (a third of the launcher's own faults).  Any other pool,
 * concurrent or later, comes from calloc.
 */
static struct myr_pool static_pool;
static atomic_flag static_pool_taken = ATOMIC_FLAG_INIT;

/*
 * And a small packed plan's pages (a hello world's three) are static too:
 * .bss that the launcher's link puts after what a launch writes
 * (launcher/startup.ld), within reach of the launcher's host functions, so
 * no mmap() and no page table of their own, set up and torn down by a
 * hypervisor on a virtual machine.  myr_pool_protect() turns them RX and
 * R as it would a mapping.  x86-64 only: there every 64-bit exec clears
 * READ_IMPLIES_EXEC (set_personality_64bit()), so .bss is never mapped
 * executable whatever the parent's personality, and these pages are
 * writable only, like a fresh mapping, until protected.  Taken apart from
 * the pool above: myr_pool_release() leaves a loaded program's pages in
 * place, only myr_pool_exit() gives them back.
 */
#ifdef __x86_64__
#define STATIC_PAGES 1
static uint8_t static_pages[64u << 10]
	__attribute__((aligned(PAGE_SIZE_FIXED), section(".bss.myr_pool")));
static atomic_flag static_pages_taken = ATOMIC_FLAG_INIT;
#else
#define STATIC_PAGES 0
#endif

static const char *const class_names[MYR_CLASS_COUNT] = {
	"text", "rodata", "relro", "data",
};

static unsigned seg_class(unsigned seg)
{
	return seg == MYR_SEG_BSS ? MYR_CLASS_DATA : seg;
}

static uint64_t page_up(uint64_t x)
{
	return (x + PAGE_SIZE_FIXED - 1) & ~(uint64_t)(PAGE_SIZE_FIXED - 1);
}

/* "512 MiB", "12 KiB" or "1000 bytes": exact, in the largest unit that
 * divides the size; a large odd size gets a rounded MiB figure and its
 * exact bytes, so one byte past a limit never reads as equal to it. */
static void format_size(char *buf, size_t len, uint64_t bytes)
{
	if (bytes && bytes % (1u << 30) == 0)
		snprintf(buf, len, "%llu GiB", (unsigned long long)(bytes >> 30));
	else if (bytes && bytes % (1u << 20) == 0)
		snprintf(buf, len, "%llu MiB", (unsigned long long)(bytes >> 20));
	else if (bytes >= (1u << 20))
		snprintf(buf, len, "%.1f MiB (%llu bytes)",
			 (double)bytes / (1u << 20), (unsigned long long)bytes);
	else if (bytes && bytes % 1024 == 0)
		snprintf(buf, len, "%llu KiB", (unsigned long long)(bytes >> 10));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
}

void myr_pool_limits_default(struct myr_pool_limits *lim)
{
	lim->modules = MYR_POOL_DEFAULT_MODULES;
	lim->size[MYR_CLASS_TEXT] = MYR_POOL_DEFAULT_TEXT;
	lim->size[MYR_CLASS_RODATA] = MYR_POOL_DEFAULT_RODATA;
	lim->size[MYR_CLASS_RELRO] = MYR_POOL_DEFAULT_RELRO;
	lim->size[MYR_CLASS_DATA] = MYR_POOL_DEFAULT_DATA;
	lim->module_size = MYR_POOL_DEFAULT_MODULE_SIZE;
}

static int parse_quantity(const char *s, int with_units, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > MYR_POOL_RESERVATION_MAX)
			return -ERANGE;
	}
	if (with_units && *p) {
		unsigned shift = 0;
		switch (*p) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return -EINVAL;
		}
		p++;
		if (*p == 'i' && p[1] == 'B')
			p += 2;
		else if (*p == 'B')
			p++;
		v <<= shift;
	}
	if (*p)
		return -EINVAL;
	if (v > MYR_POOL_RESERVATION_MAX)
		return -ERANGE;
	*out = v;
	return 0;
}

int myr_pool_limit_set(struct myr_pool_limits *lim, const char *key,
		       const char *value, struct myr_error *err)
{
	uint64_t *slot = NULL;
	int is_size = 1, r;
	uint64_t v;

	if (strcmp(key, "modules") == 0) {
		slot = &lim->modules;
		is_size = 0;
	} else if (strcmp(key, "module-size") == 0) {
		slot = &lim->module_size;
	} else {
		for (unsigned c = 0; c < MYR_CLASS_COUNT; c++)
			if (strcmp(key, class_names[c]) == 0)
				slot = &lim->size[c];
	}
	if (!slot)
		return myr_error_set(err, -EINVAL, "unknown pool limit '%s' "
				     "(modules, text, rodata, relro, data, "
				     "module-size)", key);
	r = parse_quantity(value, is_size, &v);
	if (r == -ERANGE)
		return myr_error_set(err, -EINVAL, "pool limit %s=%s is over "
				     "the 2 GiB reservation", key, value);
	if (r < 0)
		return myr_error_set(err, -EINVAL, "pool limit %s: '%s' is not "
				     "a %s", key, value, is_size ?
				     "size (a number with an optional K, M or "
				     "G suffix)" : "number");
	if (v == 0)
		return myr_error_set(err, -EINVAL, "pool limit %s must not be "
				     "zero", key);
	if (!is_size && v > MYR_LOAD_MODULES_MAX)
		return myr_error_set(err, -EINVAL, "pool limit modules=%s is "
				     "over the loader's maximum %u", value,
				     MYR_LOAD_MODULES_MAX);
	*slot = v;
	return 0;
}

int myr_pool_limits_check(const struct myr_pool_limits *lim,
			  struct myr_error *err)
{
	uint64_t total = 0;
	char a[64];

	for (unsigned c = 0; c < MYR_CLASS_COUNT; c++)
		total += page_up(lim->size[c]);
	if (total > MYR_POOL_RESERVATION_MAX) {
		format_size(a, sizeof(a), total);
		return myr_error_set(err, -EINVAL, "pool limits text + rodata "
				     "+ relro + data are %s, over the 2 GiB "
				     "that keeps every module within a "
				     "PC-relative call of every other", a);
	}
	return 0;
}

int myr_pool_init(struct myr_pool **out, enum myr_alloc_strategy strategy,
		  const struct myr_pool_limits *lim)
{
	struct myr_pool *p;

	if (strategy != MYR_ALLOC_POOLING && strategy != MYR_ALLOC_ON_DEMAND)
		return -EINVAL;
	if (!atomic_flag_test_and_set(&static_pool_taken)) {
		p = &static_pool;
		memset(p, 0, sizeof(*p));
	} else {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
	}
	p->strategy = strategy;
	p->lim = *lim;
	*out = p;
	return 0;
}

static int limit_exceeded(struct myr_error *err, const char *what,
			  const char *option, uint64_t need, uint64_t limit)
{
	char a[64], b[64];
	format_size(a, sizeof(a), need);
	format_size(b, sizeof(b), limit);
	return myr_error_set(err, -E2BIG, "pool limit exceeded: %s needs %s, "
			     "--pool-%s is %s", what, a, option, b);
}

/* Place req's segments of class cls at *cursor, packed and aligned.  The
 * offsets are relative to the class start until the caller rebases them. */
static void pack_class(const struct myr_pool_request *req, unsigned cls,
		       uint64_t *cursor, uint32_t *seg_off)
{
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		if (seg_class(s) != cls)
			continue;
		if (req->size[s]) {
			uint64_t a = 1ull << req->align_log2[s];
			*cursor = (*cursor + a - 1) & ~(a - 1);
		}
		seg_off[s] = (uint32_t)*cursor;
		*cursor += req->size[s];
	}
}

static int check_request(const struct myr_pool_request *req, size_t i,
			 const struct myr_pool_limits *lim,
			 struct myr_error *err)
{
	uint64_t sum = 0;

	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		if (req->align_log2[s] > MYR_ALIGN_LOG2_MAX)
			return myr_error_set(err, -EINVAL, "module %zu: segment "
					     "%u alignment 2^%u is over 2^%u",
					     i, s, req->align_log2[s],
					     MYR_ALIGN_LOG2_MAX);
		sum += req->size[s];
	}
	if (sum > lim->module_size) {
		char a[64], b[64];
		format_size(a, sizeof(a), sum);
		format_size(b, sizeof(b), lim->module_size);
		return myr_error_set(err, -E2BIG, "pool limit exceeded: module "
				     "%zu needs %s, --pool-module-size is %s",
				     i, a, b);
	}
	return 0;
}

void myr_pool_pack(struct myr_pool *p)
{
	p->packed = 1;
}

/* Where class c starts, given where the previous class ends: on a page,
 * since each class boundary but one is a protection boundary (RX, R, RW).
 * Packed, relro follows rodata on the same page (both turn read-only
 * together), aligned as much as any relro segment asks. */
static uint64_t class_begin(const struct myr_pool *p, unsigned c, uint64_t end,
			    uint64_t relro_align)
{
	if (p->packed && c == MYR_CLASS_RELRO)
		return (end + relro_align - 1) & ~(relro_align - 1);
	return page_up(end);
}

static int plan_pooling(struct myr_pool *p, const struct myr_pool_request *req,
			struct myr_error *err)
{
	uint64_t cursor[MYR_CLASS_COUNT] = { 0 };
	uint64_t start = 0, bss_rel = 0, relro_align = 1;

	/*
	 * Every BSS segment after every DATA segment, from a page boundary:
	 * the zero-filled tail of the data class is then one range, which an
	 * image maps as anonymous zero pages instead of storing its zeros
	 * (docs/cache.md).  It costs at most one page, which a packed pool
	 * (never an image) does not pay.
	 */
	for (unsigned pass = 0; pass < 2; pass++) {
		if (pass == 1 && !p->packed)
			cursor[MYR_CLASS_DATA] = page_up(cursor[MYR_CLASS_DATA]);
		bss_rel = cursor[MYR_CLASS_DATA];
		for (size_t i = 0; i < p->n; i++) {
			uint32_t *off = p->seg_off + i * MYR_SEG_COUNT;
			if (pass == 0) {
				int r = check_request(&req[i], i, &p->lim, err);
				if (r < 0)
					return r;
			}
			for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
				if ((s == MYR_SEG_BSS) != (pass == 1))
					continue;
				uint64_t *cur = &cursor[seg_class(s)];
				if (req[i].size[s]) {
					uint64_t a = 1ull << req[i].align_log2[s];
					*cur = (*cur + a - 1) & ~(a - 1);
					if (s == MYR_SEG_RELRO && a > relro_align)
						relro_align = a;
				}
				off[s] = (uint32_t)*cur;
				*cur += req[i].size[s];
			}
		}
	}
	for (unsigned c = 0; c < MYR_CLASS_COUNT; c++) {
		p->class_bytes[c] = cursor[c];
		if (cursor[c] > p->lim.size[c])
			return limit_exceeded(err, class_names[c],
					      class_names[c], cursor[c],
					      p->lim.size[c]);
	}
	for (unsigned c = 0; c < MYR_CLASS_COUNT; c++) {
		start = c ? class_begin(p, c, start, relro_align) : 0;
		p->class_start[c] = (uint32_t)start;
		start += cursor[c];
	}
	start = page_up(start);
	if (start > MYR_POOL_RESERVATION_MAX)
		return limit_exceeded(err, "the reservation", "limit",
				      start, MYR_POOL_RESERVATION_MAX);
	p->class_start[MYR_CLASS_COUNT] = (uint32_t)start;
	p->bss_start = p->class_start[MYR_CLASS_DATA] + (uint32_t)bss_rel;
	if (p->bss_start > start)
		p->bss_start = (uint32_t)start;    /* no BSS: empty range */
	p->reserved = start;
	for (size_t i = 0; i < p->n; i++) {
		uint32_t *off = p->seg_off + i * MYR_SEG_COUNT;
		for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
			off[s] += p->class_start[seg_class(s)];
	}
	return 0;
}

/* Each module: a guard page, then its classes, each starting on a page;
 * one more guard page ends the reservation. */
static int plan_on_demand(struct myr_pool *p, const struct myr_pool_request *req,
			  struct myr_error *err)
{
	uint64_t cursor = 0;

	p->spans = calloc(p->n ? p->n : 1, sizeof(*p->spans));
	if (!p->spans)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		uint32_t *off = p->seg_off + i * MYR_SEG_COUNT;
		int r = check_request(&req[i], i, &p->lim, err);
		if (r < 0)
			return r;
		cursor += PAGE_SIZE_FIXED;
		for (unsigned c = 0; c < MYR_CLASS_COUNT; c++) {
			uint64_t used = 0;
			pack_class(&req[i], c, &used, off);
			p->class_bytes[c] += used;
			if (p->class_bytes[c] > p->lim.size[c])
				return limit_exceeded(err, class_names[c],
						      class_names[c],
						      p->class_bytes[c],
						      p->lim.size[c]);
			if (cursor + page_up(used) > MYR_POOL_RESERVATION_MAX)
				return limit_exceeded(err, "the reservation",
						      "limit", cursor + page_up(used),
						      MYR_POOL_RESERVATION_MAX);
			p->spans[i].cls[c] = (uint32_t)cursor;
			for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
				if (seg_class(s) == c)
					off[s] += (uint32_t)cursor;
			cursor += page_up(used);
		}
		p->spans[i].cls[MYR_CLASS_COUNT] = (uint32_t)cursor;
	}
	cursor += PAGE_SIZE_FIXED;
	if (cursor > MYR_POOL_RESERVATION_MAX)
		return limit_exceeded(err, "the reservation", "limit", cursor,
				      MYR_POOL_RESERVATION_MAX);
	p->reserved = cursor;
	return 0;
}

int myr_pool_plan(struct myr_pool *p, const struct myr_pool_request *req,
		  size_t n, struct myr_error *err)
{
	if (p->planned)
		return -EINVAL;
	if (n > p->lim.modules) {
		return myr_error_set(err, -E2BIG, "pool limit exceeded: %zu "
				     "modules, --pool-modules is %llu", n,
				     (unsigned long long)p->lim.modules);
	}
	p->n = n;
	if (n <= POOL_INLINE_MODULES)
		p->seg_off = p->seg_off_inline;
	else
		p->seg_off = calloc(n, MYR_SEG_COUNT * sizeof(uint32_t));
	if (!p->seg_off)
		return -ENOMEM;
	int r = p->strategy == MYR_ALLOC_POOLING ? plan_pooling(p, req, err)
						 : plan_on_demand(p, req, err);
	if (r < 0)
		return r;
	p->planned = 1;
	return 0;
}

static int do_mprotect(struct myr_pool *p, uint64_t from, uint64_t to,
		       int prot, struct myr_error *err)
{
	if (to <= from)
		return 0;
	p->mprotect_calls++;
	if (mprotect(p->base + from, to - from, prot) != 0) {
		int e = errno;
		return myr_error_set(err, -e, "mprotect of %llu bytes: %s%s",
				     (unsigned long long)(to - from),
				     strerror(e),
				     e == ENOMEM && p->strategy == MYR_ALLOC_ON_DEMAND ?
				     " (too many mappings for vm.max_map_count? "
				     "--alloc=pooling needs four)" : "");
	}
	return 0;
}

void myr_pool_set_near(struct myr_pool *p, uintptr_t lo, uintptr_t hi)
{
	p->near_lo = lo;
	p->near_hi = hi > lo ? hi : lo;
}

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* The span [base, base + size) is within a 32-bit displacement of every
 * byte of [lo, hi), both ways. */
static int within_reach(uintptr_t base, uint64_t size, uintptr_t lo,
			uintptr_t hi)
{
	const uint64_t reach = (1ull << 31) - PAGE_SIZE_FIXED;
	uintptr_t from = base < lo ? base : lo;
	uintptr_t to = base + size > hi ? base + size : hi;
	return to - from <= reach;
}

/*
 * Try a few page-aligned places around [near_lo, near_hi): right above it
 * (past a gap that leaves the brk heap room to grow), then right below it.
 * MAP_FIXED_NOREPLACE never clobbers an existing mapping; on kernels that
 * predate it the flag is ignored and the address is only a hint, so the
 * result is checked either way.
 */
static void *reserve_near(uint64_t size, uintptr_t lo, uintptr_t hi, int prot)
{
	const uint64_t gap = 64u << 20;
	uintptr_t candidates[6];
	unsigned nc = 0;

	for (uint64_t g = gap; g <= 4 * gap; g *= 2) {
		candidates[nc++] = (uintptr_t)page_up(hi + g);
		if (lo > size + g + (1u << 20))
			candidates[nc++] = (lo - size - g) & ~(uintptr_t)(PAGE_SIZE_FIXED - 1);
	}
	for (unsigned i = 0; i < nc; i++) {
		if (!within_reach(candidates[i], size, lo, hi))
			continue;
		void *b = mmap((void *)candidates[i], size, prot,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			       MAP_FIXED_NOREPLACE, -1, 0);
		if (b == MAP_FAILED)
			continue;
		if (within_reach((uintptr_t)b, size, lo, hi))
			return b;
		munmap(b, size);
	}
	return MAP_FAILED;
}

void *myr_pool_reserve_near(uint64_t size, uintptr_t lo, uintptr_t hi)
{
	return reserve_near(size, lo, hi, PROT_NONE);
}

static int take_static_pages(struct myr_pool *p)
{
#if STATIC_PAGES
	if (!p->packed || p->reserved > sizeof(static_pages) ||
	    (p->near_hi > p->near_lo &&
	     !within_reach((uintptr_t)static_pages, p->reserved, p->near_lo,
			   p->near_hi)) ||
	    atomic_flag_test_and_set(&static_pages_taken))
		return 0;
	p->base = static_pages;
	p->mapped = 1;
	return 1;
#else
	(void)p;
	return 0;
#endif
}

/* As fresh as a new mapping for the next pool: writable and zeroed.  If
 * that fails they stay taken, never reused. */
static void give_back_static_pages(struct myr_pool *p)
{
#if STATIC_PAGES
	if (mprotect(p->base, p->reserved, PROT_READ | PROT_WRITE) != 0)
		return;
	memset(p->base, 0, p->reserved);
	atomic_flag_clear(&static_pages_taken);
#else
	(void)p;
#endif
}

static int is_static_pages(const struct myr_pool *p)
{
#if STATIC_PAGES
	return p->base == static_pages;
#else
	(void)p;
	return 0;
#endif
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define POPULATE_MIN (64u << 10)

int myr_pool_map(struct myr_pool *p, struct myr_error *err)
{
	/* Pooling plans exactly the reservation: map it RW at once. */
	int prot = p->strategy == MYR_ALLOC_POOLING ? PROT_READ | PROT_WRITE
						    : PROT_NONE;
	void *base;

	if (!p->planned || p->mapped)
		return -EINVAL;
	if (p->reserved == 0) {
		p->mapped = 1;
		return 0;
	}
	if (p->strategy == MYR_ALLOC_POOLING && take_static_pages(p))
		return 0;
	if (p->near_hi > p->near_lo) {
		p->mmap_calls++;
		base = reserve_near(p->reserved, p->near_lo, p->near_hi, prot);
		if (base == MAP_FAILED) {
			char a[64];
			format_size(a, sizeof(a), p->reserved);
			return myr_error_set(err, -ENOMEM, "cannot reserve %s "
					     "of address space within 2 GiB of "
					     "the host module", a);
		}
	} else {
		p->mmap_calls++;
		base = mmap(NULL, p->reserved, prot,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
	if (base == MAP_FAILED) {
		int e = errno;
		char a[64];
		format_size(a, sizeof(a), p->reserved);
		return myr_error_set(err, -e, "cannot reserve %s of address "
				     "space: %s", a, strerror(e));
	}
	p->base = base;
	p->mapped = 1;
	/* Pages a small launch places are left to fault in:
	 * MADV_POPULATE_WRITE of the text, rodata and relro pages made a
	 * hello world's launch 3-4% slower (its page-pinning path costs
	 * more than the 3 faults it saves).  From POPULATE_MIN on, what
	 * will be written (all but the bss, which may be large and is
	 * left to fault) is written in by one call: 59 of a 1,000-module
	 * launch's 200 faults. */
	if (p->strategy == MYR_ALLOC_POOLING) {
		uint64_t fill = myr_pool_bss_start(p);
		if (fill >= POPULATE_MIN)
			(void)madvise(base, fill, MADV_POPULATE_WRITE);
		return 0;
	}

	for (size_t i = 0; i < p->n; i++) {
		uint64_t from = p->spans[i].cls[0];
		uint64_t to = p->spans[i].cls[MYR_CLASS_COUNT];
		if (to <= from)
			continue;
		p->mmap_calls++;
		if (mmap(p->base + from, to - from, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
		    == MAP_FAILED) {
			int e = errno;
			return myr_error_set(err, -e, "cannot map module %zu: %s",
					     i, strerror(e));
		}
	}
	return 0;
}

uint8_t *myr_pool_base(const struct myr_pool *p)
{
	return p->base;
}

uint64_t myr_pool_class_start(const struct myr_pool *p, unsigned cls)
{
	return cls <= MYR_CLASS_COUNT ? p->class_start[cls] : 0;
}

uint64_t myr_pool_bss_start(const struct myr_pool *p)
{
	return p->bss_start;
}

uint8_t *myr_pool_segment(const struct myr_pool *p, size_t i, unsigned seg)
{
	return p->base + p->seg_off[i * MYR_SEG_COUNT + seg];
}

/* Text RX, then rodata and relro (adjacent, both read-only) in one call;
 * data stays RW. */
static int protect_range(struct myr_pool *p, const uint32_t cls[],
			 struct myr_error *err)
{
	int r = do_mprotect(p, cls[MYR_CLASS_TEXT], cls[MYR_CLASS_RODATA],
			    PROT_READ | PROT_EXEC, err);
	if (r < 0)
		return r;
	return do_mprotect(p, cls[MYR_CLASS_RODATA], cls[MYR_CLASS_DATA],
			   PROT_READ, err);
}

int myr_pool_protect(struct myr_pool *p, struct myr_error *err)
{
	if (!p->mapped)
		return -EINVAL;
	if (!p->base)
		return 0;
	if (p->strategy == MYR_ALLOC_POOLING)
		return protect_range(p, p->class_start, err);
	for (size_t i = 0; i < p->n; i++) {
		int r = protect_range(p, p->spans[i].cls, err);
		if (r < 0)
			return r;
	}
	return 0;
}

void myr_pool_usage(const struct myr_pool *p, struct myr_pool_usage *u)
{
	memset(u, 0, sizeof(*u));
	memcpy(u->class_bytes, p->class_bytes, sizeof(u->class_bytes));
	u->reserved = p->reserved;
	u->mmap_calls = p->mmap_calls;
	u->mprotect_calls = p->mprotect_calls;
}

void myr_pool_release(struct myr_pool *p)
{
	if (!p)
		return;
	if (p->seg_off != p->seg_off_inline)
		free(p->seg_off);
	free(p->spans);
	if (p == &static_pool)
		atomic_flag_clear(&static_pool_taken);
	else
		free(p);
}

void myr_pool_exit(struct myr_pool *p)
{
	if (!p)
		return;
	if (is_static_pages(p))
		give_back_static_pages(p);
	else if (p->base)
		munmap(p->base, p->reserved);
	myr_pool_release(p);
}
