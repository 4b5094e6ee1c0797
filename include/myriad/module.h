/* SPDX-License-Identifier: MIT */
/*
 * myriad/module.h - reading, validating and writing Myriad module files.
 *
 * The format itself is in <myriad/format.h> and docs/format.md.  Error and
 * return conventions are in <myriad/error.h>.
 */
#ifndef MYRIAD_MODULE_H
#define MYRIAD_MODULE_H

#include <stddef.h>
#include <stdint.h>
#include <myriad/format.h>
#include <myriad/error.h>

/* ------------------------------------------------------------------ */
/* Checksum                                                            */
/* ------------------------------------------------------------------ */

/* XXH64 with seed 0 (the xxHash specification), used by the header. */
uint64_t myr_xxh64(const void *data, size_t len, uint64_t seed);

/*
 * The module checksum: XXH64 of the module's file_size bytes starting at the
 * header, with the 8 bytes of myr_header.checksum taken as zero.  module
 * must point at the header; len is the module's file_size.  len >= 32.
 */
uint64_t myr_module_checksum(const void *module, size_t len);

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

/*
 * The first step of reading, on a possibly partial prefix of a file.
 * file points at the first byte of the file and avail bytes of it are
 * present; file must be 8-aligned.  On success fills *header_off (where the
 * header starts, after any #! line) and *total (the whole file's size in
 * bytes, header_off + file_size), so the caller knows whether it must read
 * more.  Checks only the #! line, the magic, the format version, the
 * architecture and file_size against MYR_FILE_MAX.
 *
 * Returns 0, or -ENOEXEC (not a Myriad module: no magic), -EPROTO (another
 * format version or architecture), -EBADMSG (malformed #! line or sizes),
 * -EFBIG (over MYR_FILE_MAX), or -ENODATA (avail too short to tell: read
 * more, at least MYR_SHEBANG_MAX + sizeof(struct myr_header) bytes).
 */
int myr_module_probe(const void *file, size_t avail, size_t *header_off,
		     size_t *total, struct myr_error *err);

/* myr_module_parse() flags */
#define MYR_PARSE_NO_CHECKSUM 0x1u  /* skip the checksum (tools, fuzzing) */
/* Check the closure hint's placement (bounds, alignment, overlap) but not
 * its entries, and leave view.closure NULL so nothing can read them: for
 * readers that never use a hint.  (Only a program has one: a library's
 * closure table is empty in format 2.) */
#define MYR_PARSE_NO_CLOSURE  0x2u

/*
 * A validated module, borrowed from the caller's buffer: every pointer
 * points into it and stays valid as long as the buffer does.  Every index,
 * offset and count in the tables has been checked, so users may index the
 * arrays without further bounds checks (see the invariants in format.h).
 */
struct myr_module_view {
	const uint8_t *base;            /* the header */
	size_t size;                    /* file_size */
	const struct myr_header *hdr;
	const char *name;               /* NUL-terminated, hdr->name_len long */
	const struct myr_dep *deps;     /* hdr->deps.count */
	const struct myr_dep *closure;  /* hdr->closure.count; NULL with
					   MYR_PARSE_NO_CLOSURE */
	const struct myr_import *imports;
	const struct myr_export *exports;
	const uint32_t *buckets;        /* hdr->buckets.count + 1 entries */
	const struct myr_reloc *relocs;
	const char *strtab;             /* hdr->strtab_size bytes */
};

/*
 * Validate a complete file and fill *view.  file points at the first byte
 * of the file (8-aligned) and len is its exact length, which must equal
 * header_off + file_size.  Every offset, size, count and index is checked
 * against the file's bounds and <myriad/limits.h> before use; no input can
 * cause an out-of-bounds read or an integer overflow.  Payloads are not
 * decompressed (myr_module_segment_load() does that, into place).
 *
 * Returns 0, or -errno as for myr_module_probe(), plus -EBADMSG for any
 * malformed field (err->msg names it), -E2BIG for a count or size over its
 * limit, and -EILSEQ for a checksum mismatch.
 */
int myr_module_parse(const void *file, size_t len, unsigned flags,
		     struct myr_module_view *view, struct myr_error *err);

/* Name of dependency i, import i, export i (NUL-terminated). */
static inline const char *myr_view_str(const struct myr_module_view *v,
				       uint32_t off)
{
	return v->strtab + off;
}

/*
 * Find an export by name in a validated module.  hash is
 * myr_symbol_hash(name, len).  If hint is a valid index whose export has
 * that name, it is used without a search.  Returns the export's index, or
 * -ENOENT.
 */
int64_t myr_module_find_export(const struct myr_module_view *v,
			       const char *name, uint32_t len, uint32_t hash,
			       uint32_t hint);

/*
 * Decode segment seg (TEXT, RODATA, RELRO or DATA) into dst, which has
 * room for exactly hdr->seg[seg].size bytes.  LZ4 blocks decompress
 * straight into dst; a block that does not decode to exactly size bytes is
 * rejected (-EBADMSG).  BSS and empty segments write nothing.
 */
int myr_module_segment_load(const struct myr_module_view *v, unsigned seg,
			    void *dst, struct myr_error *err);

/* Whether name is a valid module name (docs/format.md, "Names"). */
int myr_name_valid(const char *name, size_t len);

/*
 * Whether name is a valid symbol name: 1 to MYR_SYMBOL_MAX bytes, none of
 * them a control character, a space or DEL (bytes >= 0x80 are allowed).
 */
int myr_symbol_name_valid(const char *name, size_t len);

/* "text", "rodata", "relro", "data", "bss", or "?" when out of range. */
const char *myr_segment_name(unsigned seg);

/*
 * The order of exports inside a bucket: by hash, then length, then bytes.
 * Returns <0, 0 or >0 like memcmp.
 */
static inline int myr_symbol_key_cmp(uint32_t hash_a, const char *a, uint32_t len_a,
				     uint32_t hash_b, const char *b, uint32_t len_b)
{
	if (hash_a != hash_b)
		return hash_a < hash_b ? -1 : 1;
	if (len_a != len_b)
		return len_a < len_b ? -1 : 1;
	for (uint32_t i = 0; i < len_a; i++)
		if (a[i] != b[i])
			return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
	return 0;
}

/* Whether a module of version (major, minor) satisfies dependency d. */
static inline int myr_version_satisfies(const struct myr_dep *d,
					uint16_t major, uint16_t minor)
{
	return major == d->ver_major && minor >= d->ver_minor;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/*
 * The module writer API: everything below, with which a compiler back end
 * (or `myriad link`) describes a module in memory and gets the bytes of a
 * valid module file, without ELF objects.  docs/writer.md shows a complete
 * program that writes a library and a program and runs them.
 *
 * Versioning.  MYR_WRITER_API_VERSION is the version these declarations
 * describe; myr_writer_api_version() is the one the linked libmyriad
 * implements, and a caller built against version N runs with any library
 * whose version is N or later.  Within a version nothing below is removed,
 * reordered, resized or given another meaning: a later version only adds
 * functions, constants and new structures.  The module format the writer
 * produces is MYR_FORMAT_VERSION (<myriad/format.h>), versioned separately.
 *
 * Ownership.  The writer borrows every pointer in a description for the
 * duration of the call only and returns a new buffer the caller frees.
 * Nothing is global: any number of threads may write modules at once.
 *
 * Version history:
 *   1  myr_module_desc and its parts, myr_module_desc_init(),
 *      myr_module_closure_hint(), myr_module_write().
 *   2  format 2: myr_desc_dep.flags (MYR_DEP_OPTIONAL), a 32-bit
 *      myr_desc_import.dep, myr_module_closure_hint() walks the closure
 *      through a find callback (libraries carry no hint).
 *   3  myr_module_desc.compress MYR_COMPRESS_PAGES.
 */
#define MYR_WRITER_API_VERSION 3u

/* The writer API version the linked library implements. */
unsigned myr_writer_api_version(void);

/*
 * A dependency (deps: the constraint "this name, this major version, at
 * least this minor"; the patch is what the module was built against) or an
 * entry of the closure hint (the version and file size found at build
 * time).  name is a module name (myr_name_valid()), or MYR_HOST_MODULE_NAME
 * in deps for the launcher's built-in module.
 */
struct myr_desc_dep {
	const char *name;
	uint16_t ver_major, ver_minor, ver_patch;
	uint32_t size_hint;             /* closure entries only; ignored in deps */
	uint32_t flags;                 /* deps only (MYR_DEP_*); ignored in the
					   closure */
};

/*
 * An import: a symbol name bound to one dependency, deps[dep] (a two-level
 * namespace: the launcher looks it up in that module's exports only).
 * export_hint is the export's index in that dependency's written file, as
 * myr_module_find_export() on its parsed view returns it, or MYR_NO_HINT;
 * a wrong hint costs a lookup, never correctness.
 */
struct myr_desc_import {
	const char *name;
	uint32_t dep;
	uint32_t export_hint;           /* or MYR_NO_HINT */
};

/* An export: a symbol at offset off of segment seg (MYR_SEG_*), a function
 * (MYR_SYM_FUNC, in text) or an object (MYR_SYM_OBJECT). */
struct myr_desc_export {
	const char *name;
	uint8_t seg, kind;
	uint32_t off;
};

/* A segment's bytes in memory as the module will run them (the writer
 * compresses them); align_log2 at most MYR_ALIGN_LOG2_MAX. */
struct myr_desc_segment {
	const void *data;               /* size bytes; NULL for BSS */
	uint32_t size;
	uint8_t align_log2;
};

/*
 * Everything a module file holds, in memory.  The writer computes hashes,
 * the export buckets (exports are reordered; import hints in *other*
 * modules refer to the written order, so compute them from a parsed view),
 * the string table, the compression and the checksum.
 *
 * Relocations (struct myr_reloc, <myriad/format.h>) patch a site in a
 * segment with the address of a place in a segment of this module
 * (target_seg) or of an import (target_seg MYR_TARGET_IMPORT, target the
 * import's index): MYR_REL_PC32 anywhere but bss, MYR_REL_ABS64 only in
 * relro and data.  A program (flags MYR_F_PROGRAM) has an entry in text
 * and may ask for capabilities (MYR_CAP_*); a library has neither.  The
 * closure hint is optional: without one the launcher finds the closure
 * level by level; myr_module_closure_hint() computes it.
 */
struct myr_module_desc {
	const char *name;
	uint16_t ver_major, ver_minor, ver_patch;
	uint16_t arch;                  /* MYR_ARCH_* */
	uint32_t flags;                 /* MYR_F_* */
	uint32_t caps;                  /* MYR_CAP_* */
	const char *shebang;            /* interpreter path, or NULL */
	const struct myr_desc_dep *deps;      size_t ndeps;
	const struct myr_desc_dep *closure;   size_t nclosure;
	const struct myr_desc_import *imports; size_t nimports;
	const struct myr_desc_export *exports; size_t nexports;
	const struct myr_reloc *relocs;       size_t nrelocs;
	struct myr_desc_segment seg[MYR_SEG_COUNT];
	struct myr_ref entry;           /* seg MYR_SEG_NONE if none */
	struct myr_array_ref init, fini;
	int compress;                   /* MYR_COMPRESS_* */
};

/* myr_module_desc.compress: how segments are stored. */
#define MYR_COMPRESS_NONE   0   /* raw */
#define MYR_COMPRESS_SMALLER 1  /* LZ4 wherever the block is smaller */
/*
 * LZ4 only where it saves at least MYR_COMPRESS_PAGE_SAVING bytes, raw
 * elsewhere (API version 3).  From a hot page cache a raw segment loads
 * faster (a copy, against decompressing at a fraction of copy speed), and
 * a saving under a page seldom makes a file occupy a block or a page less,
 * so it buys nothing cold either: tiny modules stay raw, large ones are
 * compressed.  What `myriad link` writes.
 */
#define MYR_COMPRESS_PAGES  2
#define MYR_COMPRESS_PAGE_SAVING 4096u

/*
 * Start a description: every field zero or empty, except the ones whose
 * empty value is not zero (entry, init and fini: MYR_SEG_NONE), arch
 * MYR_ARCH_HOST and compress 1.  name must outlive the description; the
 * version is the module's own.  A library is then complete once given its
 * segments and exports; a program also sets flags, entry and caps.
 */
void myr_module_desc_init(struct myr_module_desc *desc, const char *name,
			  uint16_t major, uint16_t minor, uint16_t patch);

/*
 * Find the module a dependency names, as the launcher would (the first
 * library directory holding NAME.myr), for myr_module_closure_hint().
 * name is a valid module name, needed_by the module whose dependency table
 * named it first, optional whether that dependency is MYR_DEP_OPTIONAL.
 * Returns 1 with *view filled (a parsed module named name; it must stay
 * valid until the next call or the walk's return, so one buffer can be
 * reused), 0 when there is none (the hint then leaves it out: say so if
 * it matters), or -errno after filling the walk's err to stop it.
 */
typedef int (*myr_closure_find_fn)(void *opaque, const char *name,
				   const char *needed_by, int optional,
				   struct myr_module_view *view);

/*
 * A program's closure hint (format 2: only a program carries one) from its
 * dependencies deps[0..ndeps), parsed views of their files: each module of
 * the closure once, breadth first from deps, with the version and file
 * size found, the host module left out.  The walk asks find for every
 * module beyond deps, each once (a hash set of names), so it costs the
 * closure's modules plus edges; with find NULL the hint is deps alone (the
 * launcher then finds the rest level by level).  On success *out is one
 * malloc()ed block of *nout entries and their names (the caller frees
 * *out).  Returns 0, -EINVAL (no output, a NULL view, a name listed
 * twice), -ENOMEM, or find's error.  The result may exceed
 * MYR_CLOSURE_MAX; myr_module_write() then refuses it.
 */
int myr_module_closure_hint(const struct myr_module_view *const *deps,
			    size_t ndeps, myr_closure_find_fn find, void *opaque,
			    struct myr_desc_dep **out, size_t *nout,
			    struct myr_error *err);

/*
 * Serialize desc into a new malloc()ed buffer (*out, *out_len; the caller
 * frees it).  The result is guaranteed to pass myr_module_parse(); any desc
 * that would not (bad name, index out of range, over a limit, duplicate
 * export) is rejected with -EINVAL and err->msg naming the problem.
 */
int myr_module_write(const struct myr_module_desc *desc, uint8_t **out,
		     size_t *out_len, struct myr_error *err);

#endif /* MYRIAD_MODULE_H */
