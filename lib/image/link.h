/* SPDX-License-Identifier: MIT */
/*
 * lib/image/link.h - binding imports and applying relocations to one placed
 * module (lib/image/link.c), shared by the loader, the cache and the unit
 * tests.  Not API: the functions are myri_* (docs/design.md), local in the
 * installed library.
 */
#ifndef MYRIAD_LIB_LINK_H
#define MYRIAD_LIB_LINK_H

#include <stdint.h>
#include <myriad/error.h>
#include <myriad/loader.h>
#include <myriad/module.h>

/* A validated module and where its segments were placed. */
struct myr_link_module {
	const struct myr_module_view *view;
	uint8_t *seg[MYR_SEG_COUNT];
};

/* Module i of the cache's image: its segment addresses, export view and
 * init/fini arrays, for binding and lookups (lib/load/bind.c,
 * lib/load/lookup.c); NULL, with err filled when given, if it cannot be
 * used.  Owned by the cache. */
struct myr_cache;
const struct myr_link_module *myri_cache_link_module(struct myr_cache *c,
						     uint32_t i,
						     struct myr_error *err);

/*
 * Bind every import of m: import i is looked up only in deps[imports[i].dep]
 * (deps has one entry per dependency of m; NULL stands for the host
 * module, bound through host->find).  Writes each address to addr[i].
 * For every import that does not resolve, calls unresolved(opaque, i) and
 * stores 0.  Returns the number of unresolved imports.
 */
uint32_t myri_link_bind(const struct myr_link_module *m,
		       const struct myr_link_module *const *deps,
		       const struct myr_host_binding *host, uintptr_t *addr,
		       void (*unresolved)(void *opaque, uint32_t import),
		       void *opaque);

/*
 * Apply every relocation of m, with import i at addr[i].  Each site is
 * checked to lie inside its segment and each target inside its segment;
 * PC32 values out of 32-bit range are errors, never wrapped.  Stops at the
 * first bad relocation: -ERANGE (PC32 out of range) or -EBADMSG, err
 * naming the relocation's index.  Returns the number applied.
 */
int64_t myri_link_relocate(const struct myr_link_module *m,
			  const uintptr_t *addr, struct myr_error *err);

/*
 * Told of every relocation once it is written, with its index and site:
 * the cache builder (lib/cache/cache_build.c) links its image with the same code
 * as a launch and records the per-process fixups this way.  A negative
 * return stops relocation with that -errno.
 */
struct myr_link_observer {
	int (*applied)(void *opaque, uint32_t reloc, uint8_t *site);
	void *opaque;
};

/* myri_link_relocate(), telling obs (if not NULL) of each relocation. */
int64_t myri_link_relocate_observed(const struct myr_link_module *m,
				   const uintptr_t *addr,
				   const struct myr_link_observer *obs,
				   struct myr_error *err);

#endif
