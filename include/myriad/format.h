/* SPDX-License-Identifier: MIT */
/*
 * myriad/format.h - the Myriad module file format, version 2.
 *
 * This header is the single source of truth for the on-disk layout; the
 * prose specification is docs/format.md.  Every field is little-endian and
 * fixed-width, every structure has its size pinned by a static assert, and
 * no structure contains implicit padding.
 *
 * File layout (offsets are relative to the header start, called "module
 * offsets"; the header starts at file offset 0, or right after the #! line):
 *
 *   [#!interpreter line, padded with spaces to a multiple of 16, ending '\n']
 *   struct myr_header                      256 bytes, at module offset 0
 *   tables (deps, closure, imports, exports, buckets, relocs), each 8-aligned;
 *   only a program has a closure table (its closure hint)
 *   string table
 *   ---- meta_size: everything above is what closure resolution needs ----
 *   segment payloads: text, rodata, relro, data (raw or one LZ4 block each)
 *
 * Invariants a valid module satisfies (enforced by myr_module_parse()):
 *   - every table and payload lies inside the file; tables lie inside the
 *     metadata and do not overlap each other, the header or the strings;
 *   - every name is referenced as (offset, length) into the string table and
 *     is followed by a NUL byte there, so it is also a C string;
 *   - every index (dependency, import, segment, export hint) is in range;
 *   - absolute (ABS64) relocations only patch RELRO or DATA, so text and
 *     rodata need only position-independent fixups, and an image's
 *     per-process fixups are confined to data pages;
 *   - the checksum holds.
 */
#ifndef MYRIAD_FORMAT_H
#define MYRIAD_FORMAT_H

#include <stdint.h>
#include <assert.h>
#include <myriad/limits.h>

#define MYR_MAGIC               "\x7fMYR\r\n\x1a\n"   /* 8 bytes, no NUL */
#define MYR_MAGIC_SIZE          8u
#define MYR_FORMAT_VERSION      2u

/* Architectures use their ELF e_machine numbers. */
#define MYR_ARCH_X86_64         62u
#define MYR_ARCH_AARCH64        183u

/* The architecture this build of Myriad loads (the only one it accepts). */
#if defined(__x86_64__)
#define MYR_ARCH_HOST           MYR_ARCH_X86_64
#elif defined(__aarch64__)
#define MYR_ARCH_HOST           MYR_ARCH_AARCH64
#endif

/* The header starts at a multiple of this after a #! line. */
#define MYR_SHEBANG_ALIGN       16u
/* Tables inside the metadata start at a multiple of this. */
#define MYR_TABLE_ALIGN         8u

/* myr_header.flags */
#define MYR_F_PROGRAM           0x1u  /* has an entry point; may be launched */
#define MYR_F_KNOWN             MYR_F_PROGRAM

/* myr_header.caps: what a program asks of the sandbox (docs/security.md). */
#define MYR_CAP_FS_READ         0x01u
#define MYR_CAP_FS_WRITE        0x02u
#define MYR_CAP_NET             0x04u
#define MYR_CAP_SPAWN           0x08u
#define MYR_CAP_THREADS         0x10u
#define MYR_CAP_KNOWN           0x1fu

/* myr_dep.flags, in a module's dependency table (zero in the closure hint,
 * where the same word is size_hint). */
#define MYR_DEP_OPTIONAL        0x1u  /* a missing module is not an error: it
                                         is absent, and nothing is imported
                                         from it (docs/format.md) */
#define MYR_DEP_KNOWN           MYR_DEP_OPTIONAL

/* The built-in host module's reserved name (exported by the launcher). */
#define MYR_HOST_MODULE_NAME    "myriad"

enum myr_segment {
	MYR_SEG_TEXT   = 0,   /* read+exec */
	MYR_SEG_RODATA = 1,   /* read-only; only PC-relative fixups */
	MYR_SEG_RELRO  = 2,   /* read-only once relocated (GOT, init arrays,
	                         const data holding pointers) */
	MYR_SEG_DATA   = 3,   /* read+write */
	MYR_SEG_BSS    = 4,   /* read+write, zero-filled, not stored */
	MYR_SEG_COUNT  = 5,
	MYR_SEG_NONE   = 0xff /* in myr_ref: "absent" */
};

/* myr_segment_desc.encoding */
enum myr_encoding {
	MYR_ENC_RAW = 0,      /* file_size == size bytes, stored as they are */
	MYR_ENC_LZ4 = 1,      /* one LZ4 block that decompresses to size bytes */
};

/*
 * No valid LZ4 block expands by more than this (a match-length extension
 * byte adds at most 255 output bytes), so an LZ4 segment's size is at most
 * MYR_LZ4_MAX_RATIO * file_size; the reader rejects larger claims.
 */
#define MYR_LZ4_MAX_RATIO       255u

/* Relocation kinds: architecture-neutral names, applied by lib/arch/ARCH. */
enum myr_reloc_type {
	MYR_REL_PC32  = 1,    /* int32 at site = S + A - P, range-checked */
	MYR_REL_ABS64 = 2,    /* uint64 at site = S + A; RELRO or DATA only */
};

/* myr_reloc.target_seg value meaning "target is an import, by index". */
#define MYR_TARGET_IMPORT       0xffu

/* myr_export.kind */
enum myr_symbol_kind {
	MYR_SYM_FUNC   = 1,
	MYR_SYM_OBJECT = 2,
};

/* myr_import.export_hint when the link-time export index is unknown. */
#define MYR_NO_HINT             0xffffffffu

struct myr_table {
	uint32_t off;         /* module offset, MYR_TABLE_ALIGN-aligned */
	uint32_t count;       /* number of entries */
};

struct myr_segment_desc {
	uint32_t size;        /* bytes in memory */
	uint32_t file_off;    /* module offset of stored bytes; 0 if none */
	uint32_t file_size;   /* stored bytes; 0 for BSS and empty segments */
	uint8_t  align_log2;  /* alignment in memory: 1 << align_log2 */
	uint8_t  encoding;    /* enum myr_encoding */
	uint16_t reserved;    /* zero */
};

/* A place inside the module once loaded: segment and offset. */
struct myr_ref {
	uint8_t  seg;         /* enum myr_segment, or MYR_SEG_NONE */
	uint8_t  reserved[3]; /* zero */
	uint32_t off;
};

/* An array of 8-byte function pointers inside RELRO (init/fini arrays). */
struct myr_array_ref {
	uint8_t  seg;         /* MYR_SEG_RELRO, or MYR_SEG_NONE if count == 0 */
	uint8_t  reserved[3]; /* zero */
	uint32_t off;         /* 8-aligned */
	uint32_t count;       /* <= MYR_INIT_FUNCS_MAX */
	uint32_t reserved2;   /* zero */
};

struct myr_header {
	uint8_t  magic[8];            /*   0 MYR_MAGIC */
	uint16_t format_version;      /*   8 MYR_FORMAT_VERSION */
	uint16_t arch;                /*  10 MYR_ARCH_* */
	uint32_t flags;               /*  12 MYR_F_* */
	uint32_t file_size;           /*  16 bytes from header start to end */
	uint32_t meta_size;           /*  20 header + tables + strings */
	uint64_t checksum;            /*  24 XXH64(seed 0) of the file_size
	                                     bytes with this field zeroed */
	uint16_t ver_major;           /*  32 */
	uint16_t ver_minor;           /*  34 */
	uint16_t ver_patch;           /*  36 */
	uint16_t name_len;            /*  38 */
	uint32_t name_off;            /*  40 offset into the string table */
	uint32_t caps;                /*  44 MYR_CAP_* (programs only) */
	struct myr_table deps;        /*  48 struct myr_dep[] */
	struct myr_table closure;     /*  56 struct myr_dep[]; programs only */
	struct myr_table imports;     /*  64 struct myr_import[] */
	struct myr_table exports;     /*  72 struct myr_export[] */
	struct myr_table buckets;     /*  80 uint32_t[count + 1] */
	struct myr_table relocs;      /*  88 struct myr_reloc[] */
	uint32_t strtab_off;          /*  96 */
	uint32_t strtab_size;         /* 100 */
	struct myr_segment_desc seg[MYR_SEG_COUNT]; /* 104 */
	struct myr_ref entry;         /* 184 programs: int entry(ctx*) */
	struct myr_array_ref init;    /* 192 constructors, run in order */
	struct myr_array_ref fini;    /* 208 destructors, run in reverse */
	uint32_t reserved[8];         /* 224 zero */
};                                    /* 256 */

/*
 * A dependency, or an entry of a program's closure hint.  The constraint a
 * dependency expresses: the provider has the same major version and a minor
 * version at least ver_minor.  ver_patch records what the module was built
 * against and is informative.  In the closure hint the version is the one
 * found at link time, and size_hint lets the launcher read each file of the
 * closure with one read of the right size.
 */
struct myr_dep {
	uint32_t name_off;
	uint16_t name_len;
	uint16_t ver_major;
	uint16_t ver_minor;
	uint16_t ver_patch;
	union {
		uint32_t flags;       /* deps: MYR_DEP_* */
		uint32_t size_hint;   /* closure: the module's file size at link
		                         time, a read-size hint never trusted */
	};
};

/* An import, bound at build time to one dependency (two-level namespace). */
struct myr_import {
	uint32_t name_off;
	uint16_t name_len;
	uint16_t reserved;    /* zero */
	uint32_t dep;         /* index into deps; never an optional one */
	uint32_t hash;        /* myr_symbol_hash(name) */
	uint32_t export_hint; /* the export's index in dep at link time */
};

/*
 * An export.  The exports are sorted by bucket, (hash & (nbuckets - 1));
 * buckets[b] .. buckets[b + 1] is the index range of bucket b, so a lookup
 * touches only the exports whose hash lands in its bucket.  Inside a bucket
 * the exports are strictly increasing by (hash, name_len, name bytes), so a
 * lookup is a binary search whatever the bucket's size, and a duplicate name
 * would be two equal neighbours.  nbuckets is a power of two, at most
 * 2 * exports.count, and zero exactly when there are no exports.
 */
struct myr_export {
	uint32_t name_off;
	uint16_t name_len;
	uint8_t  seg;         /* enum myr_segment (not NONE) */
	uint8_t  kind;        /* enum myr_symbol_kind */
	uint32_t hash;        /* myr_symbol_hash(name) */
	uint32_t off;         /* offset inside seg, <= seg size */
};

struct myr_reloc {
	uint32_t site_off;    /* offset of the patched bytes inside site_seg */
	uint8_t  site_seg;    /* not BSS */
	uint8_t  type;        /* enum myr_reloc_type */
	uint8_t  target_seg;  /* enum myr_segment, or MYR_TARGET_IMPORT */
	uint8_t  reserved;    /* zero */
	uint32_t target;      /* offset inside target_seg, or import index */
	int32_t  addend;
};

static_assert(sizeof(struct myr_table) == 8, "myr_table");
static_assert(sizeof(struct myr_segment_desc) == 16, "myr_segment_desc");
static_assert(sizeof(struct myr_ref) == 8, "myr_ref");
static_assert(sizeof(struct myr_array_ref) == 16, "myr_array_ref");
static_assert(sizeof(struct myr_header) == 256, "myr_header");
static_assert(sizeof(struct myr_dep) == 16, "myr_dep");
static_assert(sizeof(struct myr_import) == 20, "myr_import");
static_assert(sizeof(struct myr_export) == 16, "myr_export");
static_assert(sizeof(struct myr_reloc) == 16, "myr_reloc");

/*
 * The symbol hash stored in imports and exports: 32-bit FNV-1a over the
 * name's bytes.  A wrong stored hash can only make a lookup miss, never read
 * out of bounds, so the loader does not recompute it.
 */
static inline uint32_t myr_symbol_hash(const char *name, uint32_t len)
{
	uint32_t h = 2166136261u;
	for (uint32_t i = 0; i < len; i++) {
		h ^= (uint8_t)name[i];
		h *= 16777619u;
	}
	return h;
}

#endif /* MYRIAD_FORMAT_H */
