/* SPDX-License-Identifier: MIT */
/*
 * lib/cache/cache_internal.h - what the builder and `cache status` share.
 */
#ifndef MYRIAD_CACHE_INTERNAL_H
#define MYRIAD_CACHE_INTERNAL_H

#include <stddef.h>
#include <sys/stat.h>
#include <myriad/cache.h>

/*
 * Every check a launch can make, on the whole image open as fd (whose
 * fstat() is *fs): the header, metadata and identity checksums, every
 * module's records, pages and fixup sites, the stubs.  *map (*map_len
 * bytes, MAP_FAILED if none) holds the file as a launch sees it, bss
 * zeros included, and *v describes it; the caller unmaps it.  0, or <0
 * with why set (-ENOMEM: out of memory, anything else: the image is
 * invalid).
 */
int myri_cache_verify_map(int fd, const struct stat *fs, void **map,
			  size_t *map_len, struct myr_cache_view *v,
			  struct myr_error *why);

#endif
