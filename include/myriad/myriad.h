/* SPDX-License-Identifier: MIT */
/*
 * myriad/myriad.h - the ABI between the launcher and the modules it runs.
 *
 * A program module's entry point has the type
 *
 *     int entry(const struct myriad_ctx *ctx);
 *
 * and its return value becomes the process exit status.  This header is
 * the only one module code needs; it depends on nothing but <stdint.h> and
 * <stddef.h>, so freestanding code can include it.
 *
 * ABI stability rules (docs/launcher.md, "The context object"):
 *   - Every structure here starts with its own size (and the context with
 *     the ABI version).  A module reads a field only when the recorded size
 *     covers it: MYRIAD_HAS(ctx, field) says whether it does.
 *   - Fields are only ever appended.  No field is removed, reordered,
 *     resized or given another meaning while MYRIAD_ABI_VERSION stays the
 *     same, so a module built against an older header keeps working with a
 *     newer launcher, and a newer module can detect an older launcher.
 *   - MYRIAD_ABI_VERSION changes only for an incompatible change; a launcher
 *     then refuses modules built for another version at load time.
 *   - Everything the context points to is owned by the launcher, read-only
 *     for the module, and lives until the process exits.
 */
#ifndef MYRIAD_MYRIAD_H
#define MYRIAD_MYRIAD_H

#include <stddef.h>
#include <stdint.h>

#define MYRIAD_ABI_VERSION 1u

/* Whether struct s (with a leading size member) is large enough to hold
 * field: the rule every reader of these structures follows. */
#define MYRIAD_HAS(s, field) \
	((s)->size >= offsetof(__typeof__(*(s)), field) + sizeof((s)->field))

/*
 * Load statistics, as printed by `myriad --stats` or MYRIAD_DEBUG=stats.
 * Times are wall-clock nanoseconds (CLOCK_MONOTONIC) spent in each stage;
 * ns_init is complete only once every constructor has run, i.e. when the
 * entry point is called.
 */
struct myriad_load_stats {
	uint32_t size;                  /* sizeof(struct myriad_load_stats) */
	uint32_t modules;               /* modules loaded, program included */
	uint64_t bytes_read;            /* module file bytes read */
	uint64_t bytes_decompressed;    /* segment bytes written into place */
	uint64_t imports_bound;
	uint64_t relocs_applied;
	uint64_t fetch_batches;         /* myr_fetcher_fetch() round trips */
	uint64_t mprotect_calls;        /* in place and protect */
	uint64_t ns_resolve;            /* closure walk, without the I/O */
	uint64_t ns_fetch;              /* reading files */
	uint64_t ns_verify;             /* checksums */
	uint64_t ns_place;              /* reserve, decompress into place */
	uint64_t ns_link;               /* bind imports, relocate */
	uint64_t ns_protect;            /* W^X */
	uint64_t ns_init;               /* constructors */
};

/* A loaded module, as the context shows it. */
struct myriad_module {
	uint32_t size;                  /* sizeof(struct myriad_module) */
	uint16_t ver_major, ver_minor, ver_patch;
	uint16_t reserved;
	const char *name;
};

struct myriad_ctx {
	uint32_t abi_version;           /* MYRIAD_ABI_VERSION */
	uint32_t size;                  /* sizeof(struct myriad_ctx) */
	int argc;
	char **argv;                    /* argv[0] is the program's path */
	char **envp;
	const struct myriad_module *self;  /* the program module */
	/*
	 * The address of an export of a loaded module, or NULL if no loaded
	 * module has that name or it has no such export.  module NULL means
	 * the program itself.  Only modules of the program's closure are
	 * searched, and only the named one: there is no global search.
	 */
	void *(*lookup)(const struct myriad_ctx *ctx, const char *module,
			const char *symbol);
	const struct myriad_load_stats *stats;
};

#endif /* MYRIAD_MYRIAD_H */
