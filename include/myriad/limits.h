/* SPDX-License-Identifier: MIT */
/*
 * myriad/limits.h - every resource bound Myriad enforces, in one place.
 *
 * Each limit is checked by the module reader (lib/format/reader.c), the ELF
 * converter (lib/convert/elf.c), the loader (lib/load/) or the cache, before the
 * quantity it bounds is used to size an allocation or a loop.  Hostile input
 * can therefore never make Myriad use more memory or time than these allow.
 * Every limit has a test that runs right at the limit and one past it.
 *
 * The values are chosen so that any product of two of them still fits in
 * 64 bits and every single quantity fits in 32 bits, which keeps the
 * overflow reasoning in the reader simple.
 */
#ifndef MYRIAD_LIMITS_H
#define MYRIAD_LIMITS_H

/* A module name: [A-Za-z0-9][A-Za-z0-9._+-]*, without the ".myr" suffix. */
#define MYR_NAME_MAX            64u
/* A symbol name (exports and imports).  C++ mangled names can be long. */
#define MYR_SYMBOL_MAX          1024u
/* The "#!interpreter" line, newline and padding included. */
#define MYR_SHEBANG_MAX         256u

/* One module file, shebang line included. */
#define MYR_FILE_MAX            (64u << 20)
/* Uncompressed metadata: header, tables and string table. */
#define MYR_META_MAX            (16u << 20)
/* One segment once in memory (text, rodata, relro, data or bss). */
#define MYR_SEGMENT_MAX         (256u << 20)
/* Alignment of a segment, as log2: at most one 4 KiB page. */
#define MYR_ALIGN_LOG2_MAX      12u

#define MYR_DEPS_MAX            200000u
#define MYR_CLOSURE_MAX         200000u
#define MYR_EXPORTS_MAX         1000000u
#define MYR_IMPORTS_MAX         1000000u
#define MYR_RELOCS_MAX          4000000u
#define MYR_INIT_FUNCS_MAX      65536u

/* `myriad link`'s input: one ELF object file, and its section count
 * (extended section numbering, from SHN_LORESERVE on, is refused). */
#define MYR_ELF_OBJECT_MAX      (1ull << 30)
#define MYR_ELF_SECTIONS_MAX    0xff00u

/* The loader: how many modules one program may load, and how deep. */
#define MYR_LOAD_MODULES_MAX    200000u
#define MYR_LOAD_DEPTH_MAX      100000u
/* The bytes of module files one load reads, all library modules together
 * (the program file is bounded by MYR_FILE_MAX alone): charged by the
 * fetcher before it reads a file's bulk, so hostile directories cannot
 * make a load read without end. */
#define MYR_LOAD_BYTES_MAX      (1ull << 30)

/*
 * A library directory's cache (<myriad/cache.h>), checked by
 * myr_cache_check_limits() when a cache is parsed and before one is
 * written, so the builder never writes a cache a launch would refuse.
 */
/* Modules in one cache's index: every module file of the directory.  As
 * many as one load may track, so a cache can hold any program's closure. */
#define MYR_CACHE_MODULES_MAX   MYR_LOAD_MODULES_MAX
/* The index (metadata) a launch maps and hashes whole: 136 bytes a module
 * plus its exports and fixups, so far above any directory's, and small
 * enough that every table's end fits in 32 bits. */
#define MYR_CACHE_META_MAX      (1u << 30)
/* Distinct host-module symbols the image imports: each is bound by name at
 * every launch.  The host module exports a few hundred. */
#define MYR_CACHE_HOSTSYMS_MAX  65536u
/* Entries of each table shared by all modules (dependencies, rebases,
 * binds, exports, export buckets, launch closures): at 16 bytes an entry,
 * a table at the limit fills MYR_CACHE_META_MAX, so no count can make a
 * table's size overflow. */
#define MYR_CACHE_FIXUPS_MAX    (64u << 20)

/*
 * The pooling allocator's default reservation (docs/launcher.md).  All
 * classes live in one reservation of at most 2 GiB so that every module is
 * within +-2 GiB of every other: cross-module calls are direct PC-relative
 * calls.  `myriad link` checks each module against these, so a module that
 * could never be loaded fails at build time.
 */
#define MYR_POOL_DEFAULT_MODULES     200000u    /* = MYR_LOAD_MODULES_MAX */
#define MYR_POOL_DEFAULT_TEXT        (512u << 20)
#define MYR_POOL_DEFAULT_RODATA      (256u << 20)
#define MYR_POOL_DEFAULT_RELRO       (128u << 20)
#define MYR_POOL_DEFAULT_DATA        (512u << 20)   /* data and bss */
#define MYR_POOL_DEFAULT_MODULE_SIZE (64u << 20)    /* one module, all classes */

#endif /* MYRIAD_LIMITS_H */
