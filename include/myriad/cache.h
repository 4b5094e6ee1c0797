/* SPDX-License-Identifier: MIT */
/*
 * myriad/cache.h - the library directory's prelinked image (`myriad cache`).
 *
 * After modules are installed, `myriad cache build` lays out every module
 * of a library directory DIR into one file, DIR/.myriad-cache/image:
 * decompressed, packed by class (text, rodata, relro, data+bss) and linked
 * against each other, with an index from module name to its place, its
 * exports, its dependencies and the fixups a process must apply.  At
 * launch the file is mapped: text and rodata shared from the page cache,
 * relro and data private copy-on-write, and only per-process fixups are
 * written (host bindings, and the slide if the preferred address was
 * taken).  docs/cache.md is the prose specification: the format below, the
 * staleness rules and the atomicity.
 *
 * Conventions are those of <myriad/error.h>: 0 or -errno, never errno,
 * never a print, never an exit.
 *
 * Invariants a valid cache satisfies (checked by myr_cache_parse() and,
 * per module, by myr_cache_check_module(), before anything is used):
 *   - the header's checksum holds, and the metadata's checksum holds;
 *   - every table lies inside the metadata, 8-aligned, without overflow;
 *     the image lies inside the file, page-aligned, at most 2 GiB, its
 *     class ranges page-aligned and increasing;
 *   - every module's segments lie inside their class range; every index
 *     (dependency, host symbol, export, bucket) is in range; every fixup
 *     site lies inside the module's relro or data segment; every name is
 *     inside the string table and followed by a NUL.
 * Text and rodata are never written at launch: per-process fixups are
 * confined to relro and data pages.
 */
#ifndef MYRIAD_CACHE_H
#define MYRIAD_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <assert.h>
#include <myriad/error.h>
#include <myriad/format.h>
#include <myriad/limits.h>
#include <myriad/loader.h>

/* DIR/.myriad-cache/image.  The subdirectory keeps the cache's own
 * renames from changing DIR's mtime, which is the per-launch stamp. */
#define MYR_CACHE_SUBDIR        ".myriad-cache"
#define MYR_CACHE_FILE          "image"

#define MYR_CACHE_MAGIC         "\x7fMYRCACH"  /* 8 bytes, no NUL */
#define MYR_CACHE_VERSION       2u
#define MYR_CACHE_PAGE          4096u
#define MYR_CACHE_HEADER_SIZE   512u

/* An offset and a count into the file (metadata tables). */
struct myr_cache_table {
	uint32_t off;
	uint32_t count;
};

/* myr_cache_header.flags: every launch closure entry carries the
 * MYR_CACHE_PLAN_* bits of its module's record (checked by the builder
 * with the closure's order, myr_cache_check_closure), so that a launch
 * of a stamped image decides the closure without reading a record.
 * Without it (older images) entries are plain module indexes. */
#define MYR_CACHE_F_PLAN   0x1u
#define MYR_CACHE_F_KNOWN  0x1u

/* What identifies a file or directory: if any field differs, it changed. */
struct myr_cache_stamp {
	uint64_t dev;
	uint64_t ino;
	uint64_t size;
	int64_t  mtime_ns;
	int64_t  ctime_ns;
};

struct myr_cache_header {
	uint8_t  magic[8];              /*   0 MYR_CACHE_MAGIC */
	uint16_t version;               /*   8 MYR_CACHE_VERSION */
	uint16_t arch;                  /*  10 MYR_ARCH_* */
	uint32_t flags;                 /*  12 MYR_CACHE_F_* */
	uint64_t file_size;             /*  16 */
	uint64_t header_checksum;       /*  24 XXH64 of the 512 header bytes,
	                                       this field taken as zero */
	uint64_t meta_checksum;         /*  32 XXH64 of the metadata */
	uint64_t ident_checksum;        /*  40 XXH64 of the identity table */
	uint64_t generation;            /*  48 random, new for every build */
	uint64_t pref_base;             /*  56 the image's preferred address */
	uint64_t image_off;             /*  64 page-aligned file offset */
	uint64_t image_size;            /*  72 page multiple, <= 2 GiB */
	uint32_t class_start[MYR_CLASS_COUNT + 1]; /* 80 image offsets of
	                                       text, rodata, relro, data, end */
	uint32_t meta_off;              /* 100 */
	uint32_t meta_size;             /* 104 */
	uint16_t host_major;            /* 108 the host module cached code */
	uint16_t host_minor;            /* 110   needs (largest minor) */
	struct myr_cache_stamp dir;     /* 112 DIR as it was when built */
	struct myr_cache_table modules; /* 152 struct myr_cache_module[] */
	struct myr_cache_table buckets; /* 160 uint32_t[]: index + 1, 0 empty */
	struct myr_cache_table deps;    /* 168 uint32_t[]: module indexes */
	struct myr_cache_table rebases; /* 176 uint32_t[]: image offsets */
	struct myr_cache_table binds;   /* 184 struct myr_cache_bind[] */
	struct myr_cache_table exports; /* 192 struct myr_export[] */
	struct myr_cache_table ebuckets;/* 200 uint32_t[] */
	struct myr_cache_table hostsyms;/* 208 struct myr_cache_hostsym[] */
	struct myr_cache_table closures;/* 216 uint32_t[]: launch closures */
	struct myr_cache_table strings; /* 224 bytes */
	struct myr_cache_table idents;  /* 232 struct myr_cache_stamp + sum,
	                                       one per module, outside meta */
	struct myr_cache_table sums;    /* 240 uint64_t[modules.count]: each
	                                       module's content sum (below) */
	struct myr_cache_table stub_text; /* 248 image offset and byte size
	                                       of the host stubs (text) */
	struct myr_cache_table stub_slots; /* 256 ... and of their slots
	                                       (relro): hostsyms' slots */
	uint64_t stub_sum;              /* 264 myr_cache_stub_sum() */
	uint32_t bss_start;             /* 272 image offset, page-aligned, in
	                                       the data class: [bss_start,
	                                       image_size) is zero-filled at
	                                       launch, not stored: the file
	                                       ends at image_off + bss_start */
	struct myr_cache_table page_sums; /* 276 uint64_t[image_size / page]:
	                                       XXH64 of each image page as built
	                                       (bss pages: of zeros) */
	uint8_t  reserved[228];         /* 284 zero */
};                                      /* 512 */

/*
 * What a launch checks before it uses a module (docs/cache.md, "What is
 * verified"): the page sum (XXH64, seed 0) of every image page its segments
 * touch, as the builder wrote them, before any launch writes a bind, a
 * rebase or a host slot; its record sum in sums (myr_cache_module_sum():
 * XXH64 of its struct myr_cache_module, which holds where its segments,
 * dependencies, fixups, exports and arrays are); and, once per launch, the stub sum (myr_cache_stub_sum():
 * the stubs' bytes, the slots', the host symbol table and its names).  A
 * change of a module's bytes, or of its records re-sealing only the
 * metadata checksum, is caught, and that module loads from its file.
 *//* myr_cache_module.flags */
#define MYR_CM_IMAGE    0x1u   /* in the image; else recorded only (why) */
#define MYR_CM_PINNED   0x2u   /* text reaches a host object PC-relatively:
                                  valid only at pref_base, with the host
                                  addresses it was built with */
#define MYR_CM_PROGRAM  0x4u   /* a program: closure holds its launch
                                  closure (every cached module it needs,
                                  dependencies first) */
#define MYR_CM_KNOWN    0x7u

struct myr_cache_module {
	uint32_t name_off;              /* into strings */
	uint16_t name_len;
	uint16_t flags;                 /* MYR_CM_* */
	uint32_t hash;                  /* myr_symbol_hash(name) */
	uint16_t ver_major, ver_minor, ver_patch;
	uint16_t reason_len;            /* not in the image: why (strings) */
	uint32_t reason_off;
	uint32_t seg_off[MYR_SEG_COUNT];   /* image offsets */
	uint32_t seg_size[MYR_SEG_COUNT];
	struct myr_cache_table deps;    /* into deps, dependency-table order,
	                                   the host module left out */
	struct myr_cache_table rebases; /* into rebases */
	struct myr_cache_table binds;   /* into binds */
	struct myr_cache_table exports; /* into exports; names in strings */
	struct myr_cache_table ebuckets;/* into ebuckets: count + 1 entries */
	struct myr_cache_table init;    /* off: image offset in relro */
	struct myr_cache_table fini;
	struct myr_cache_table closure; /* into closures (programs) */
	uint64_t checksum;              /* the source file's header checksum */
};

/* An absolute pointer to the host module: *site = address(sym) + addend. */
struct myr_cache_bind {
	uint32_t site;                  /* image offset, in relro or data */
	uint32_t sym;                   /* index into hostsyms */
	int64_t  addend;
};

/* myr_cache_hostsym.flags */
#define MYR_CH_PINNED   0x1u   /* some pinned text reaches it directly */

struct myr_cache_hostsym {
	uint32_t name_off;              /* into strings */
	uint16_t name_len;
	uint8_t  kind;                  /* MYR_SYM_FUNC or MYR_SYM_OBJECT */
	uint8_t  flags;                 /* MYR_CH_* */
	uint32_t slot;                  /* functions: image offset of the
	                                   8-byte slot (relro) its stub jumps
	                                   through; objects: UINT32_MAX */
	uint32_t reserved;
	uint64_t build_addr;            /* the address when built (pinning) */
};

/* Identity of module i's source file, when built. */
struct myr_cache_ident {
	struct myr_cache_stamp st;
	uint64_t checksum;              /* its header checksum */
};

/*
 * DIR/.myriad-cache/verified: the builder's record that the image file
 * with this identity passed every check a launch would make (metadata
 * checksum, every record, page and fixup site, the stubs).  Any write to
 * the image through the file system changes its ctime (and a replacement
 * its inode), so a launch that finds the image's fstat() equal to
 * `file` skips those checks; any other launch makes them all, per module
 * used.  It is owned and protected like the image (one writer can write
 * both) and written only once the file system's clock has passed the
 * image's ctime, so that no later write can leave the ctime as recorded.
 * docs/cache.md, "Checked once per build".
 */
#define MYR_CACHE_VERIFIED_FILE  "verified"
#define MYR_CACHE_VERIFIED_MAGIC "\x7fMYRVRFD"  /* 8 bytes, no NUL */
/* myr_cache_verified.flags: every program module's file was read again
 * once the file system's clock had passed its recorded times, and held
 * the bytes built under the identity recorded; a launch whose fstat() of
 * a program file equals that identity may run the program from the image
 * without reading the file.  docs/cache.md, "Programs from the image". */
#define MYR_CACHE_VERIFIED_PROGRAMS 0x1u
#define MYR_CACHE_VERIFIED_KNOWN    0x1u

struct myr_cache_verified {
	uint8_t  magic[8];              /*  0 MYR_CACHE_VERIFIED_MAGIC */
	uint32_t version;               /*  8 MYR_CACHE_VERSION */
	uint32_t flags;                 /* 12 MYR_CACHE_VERIFIED_* */
	struct myr_cache_stamp file;    /* 16 the image file, as verified */
	uint64_t generation;            /* 56 the image header's */
	uint64_t header_checksum;       /* 64 the image header's */
	uint64_t checksum;              /* 72 XXH64 of bytes [0, 72) */
};

/* The stub a function import of cached text calls: jmp *slot(%rip). */
#define MYR_CACHE_STUB_SIZE     8u

static_assert(sizeof(struct myr_cache_table) == 8, "myr_cache_table");
static_assert(sizeof(struct myr_cache_stamp) == 40, "myr_cache_stamp");
static_assert(sizeof(struct myr_cache_header) == MYR_CACHE_HEADER_SIZE,
	      "myr_cache_header");
static_assert(sizeof(struct myr_cache_module) == 136, "myr_cache_module");
static_assert(sizeof(struct myr_cache_bind) == 16, "myr_cache_bind");
static_assert(sizeof(struct myr_cache_hostsym) == 24, "myr_cache_hostsym");
static_assert(sizeof(struct myr_cache_ident) == 48, "myr_cache_ident");
static_assert(sizeof(struct myr_cache_verified) == 80, "myr_cache_verified");

/* ------------------------------------------------------------------ */
/* Parsing (lib/image/cache_image.c): pure functions of a memory buffer            */
/* ------------------------------------------------------------------ */

/*
 * A parsed cache, borrowed from the caller's buffer.  Tables are checked
 * to lie inside it; their entries are checked per module by
 * myr_cache_check_module().
 */
struct myr_cache_view {
	const uint8_t *base;
	size_t size;                    /* bytes present at base */
	const struct myr_cache_header *hdr;
	const struct myr_cache_module *modules;
	const uint32_t *buckets;
	const uint32_t *deps;
	const uint32_t *rebases;
	const struct myr_cache_bind *binds;
	const struct myr_export *exports;
	const uint32_t *ebuckets;
	const struct myr_cache_hostsym *hostsyms;
	const uint32_t *closures;
	const char *strings;
	const struct myr_cache_ident *idents;  /* NULL unless present */
	const uint64_t *sums;           /* record sums, one per module */
	const uint64_t *page_sums;      /* one per image page */
};

/*
 * Against the image's bytes (image: its first byte, as the file holds it,
 * before a launch writes anything): the host stubs and slots match
 * stub_sum; module i (checked by myr_cache_check_module()) matches its
 * record sum, every page its segments touch its page sum, each bind site
 * holds its build value, each rebase site and init or fini entry an
 * address of the image.  pages_done (image_size / MYR_CACHE_PAGE bytes,
 * zeroed by the caller; or NULL) marks the pages already verified, so that
 * pages shared by modules are hashed once.  0 or -EILSEQ / -EBADMSG.
 */
int myr_cache_check_stubs(const struct myr_cache_view *v, const uint8_t *image,
			  struct myr_error *err);
int myr_cache_check_content(const struct myr_cache_view *v,
			    const uint8_t *image, uint32_t i,
			    uint8_t *pages_done, struct myr_error *err);
/*
 * What identifies the file whose fstat() is *st; and the stamp
 * (MYR_CACHE_VERIFIED_FILE) for the image file whose fstat() is *st and
 * whose header is *h: the builder writes it once the file passed every
 * check, a launch compares it with what it read.
 */
struct stat;
void myr_cache_stamp_of(const struct stat *st, struct myr_cache_stamp *out);
void myr_cache_verified_make(struct myr_cache_verified *out,
			     const struct stat *st,
			     const struct myr_cache_header *h, uint32_t flags);
/* The sums themselves, for the builder (v from myr_cache_parse(), module i
 * checked by myr_cache_check_module(); image as in the file). */
uint64_t myr_cache_stub_sum(const struct myr_cache_view *v,
			    const uint8_t *image);
uint64_t myr_cache_module_sum(const struct myr_cache_view *v, uint32_t i);

/* myr_cache_parse() flags */
#define MYR_CACHE_PARSE_META_ONLY  0x1u  /* buf holds [0, meta end) only:
                                            the image is mapped elsewhere */
#define MYR_CACHE_PARSE_NO_SUMS    0x2u  /* skip checksums (fuzzing) */
#define MYR_CACHE_PARSE_IDENTS     0x4u  /* the identity table too */

/*
 * Validate the header and the table bounds of the cache in buf (8-aligned,
 * len bytes) and fill *v.  Every offset and count is checked before use;
 * no input makes it read outside buf or overflow.  With META_ONLY, buf
 * need only hold the header and the metadata (and, with IDENTS, the
 * identity table); the image's place is still checked against the
 * header's file size.  Returns 0, or -ENOEXEC (not a cache), -EPROTO
 * (another version or architecture), -EBADMSG (malformed: err names the
 * field), -E2BIG (over a MYR_CACHE_* bound), -EILSEQ (checksum mismatch).
 */
int myr_cache_parse(const void *buf, size_t len, unsigned flags,
		    struct myr_cache_view *v, struct myr_error *err);

/*
 * The header's metadata size and every table count against their
 * MYR_CACHE_* bounds (<myriad/limits.h>), before any of them sizes a
 * check or a read.  myr_cache_parse() calls it; the builder calls it on
 * what it is about to write.  0, or -E2BIG with err naming the limit.
 */
int myr_cache_check_limits(const struct myr_cache_header *h,
			   struct myr_error *err);

/*
 * Check every entry module i refers to: its name, segments, dependency
 * indexes, fixup sites and host symbols, exports and buckets, init and
 * fini arrays, launch closure.  O(the module's entries).  0 or -EBADMSG.
 */
int myr_cache_check_module(const struct myr_cache_view *v, uint32_t i,
			   struct myr_error *err);

/*
 * Program module i's launch closure (i and every entry checked by
 * myr_cache_check_module()) is an init order: each entry once, after
 * every dependency of it.  seen: modules.count zero bytes, left zero.
 * The builder checks it, so that a launch of a stamped image need not.
 * 0 or -EBADMSG.
 */
int myr_cache_check_closure(const struct myr_cache_view *v, uint32_t i,
			    uint8_t *seen, struct myr_error *err);

/* Module index by name through the hash table, or -ENOENT.  At most
 * buckets.count probes whatever the table holds. */
int64_t myr_cache_view_find(const struct myr_cache_view *v, const char *name,
			    uint32_t len);

/* ------------------------------------------------------------------ */
/* Building (lib/cache/cache_build.c)                                        */
/* ------------------------------------------------------------------ */

struct myr_cache_build_config {
	const char *dir;
	/* The host module of the launcher that builds (and runs) the
	 * cache; host->kind tells functions from objects. */
	const struct myr_host_binding *host;
	/* One line per module left out of the image, and why. */
	struct myr_diag *diag;
};

struct myr_cache_build_result {
	uint32_t modules;               /* module files seen */
	uint32_t cached;                /* in the image */
	uint32_t pinned;                /* of which pinned */
	uint32_t programs;              /* launch closures recorded */
	uint32_t flags;                 /* myr_cache_build_fd() only:
	                                   MYR_CACHE_VERIFIED_PROGRAMS when
	                                   every program file was read again
	                                   once the clock had passed its times
	                                   and held the bytes built, as the
	                                   stamp's flag says of a cache file */
	uint64_t file_size;
	uint64_t image_size;
	unsigned attempts;              /* builds: > 1 if DIR changed */
	/* The image was published but its stamp (MYR_CACHE_VERIFIED_FILE)
	 * could not be written: the -errno, and one line naming the file and
	 * why ("cannot write DIR/.myriad-cache/verified: creating
	 * verified.tmp.PID: File exists").  The build still succeeds and
	 * the image is used: launches check it themselves, as without a
	 * stamp (slower, as safe).  0 and "" otherwise, and always from
	 * myr_cache_build_fd(), which writes no stamp. */
	int stamp_error;
	char stamp_why[MYR_ERROR_MSG_MAX];
};

/*
 * Build DIR/.myriad-cache/image atomically: a temporary file in the
 * subdirectory, fsync, a final check that DIR and every source file are
 * still what was read, rename, fsync of the subdirectory.  If DIR changes
 * during the build it is redone (at most 3 times, then -EAGAIN).  A
 * directory that cannot be written fails with its -errno (err: "cannot
 * write DIR/.myriad-cache: Permission denied").  Then the published
 * image is checked whole and stamped (MYR_CACHE_VERIFIED_FILE): an image
 * that fails the check fails the build, a stamp that cannot be written
 * does not (res->stamp_error).
 */
int myr_cache_build(const struct myr_cache_build_config *cfg,
		    struct myr_cache_build_result *res, struct myr_error *err);

/*
 * The same image written into fd (empty, open for writing: the loader
 * service's memfd) instead of DIR's cache file.  Nothing is written in
 * DIR, which need not be writable; the caller seals and publishes fd.
 */
int myr_cache_build_fd(const struct myr_cache_build_config *cfg, int fd,
		       struct myr_cache_build_result *res,
		       struct myr_error *err);

/* Remove DIR/.myriad-cache/image (and the subdirectory if empty).  0 if
 * there was none. */
int myr_cache_clear(const char *dir, struct myr_error *err);

enum myr_cache_state {
	MYR_CACHE_ABSENT = 0,
	MYR_CACHE_CURRENT,              /* every source file as recorded */
	MYR_CACHE_STALE,                /* some file changed, added, removed */
	MYR_CACHE_INVALID,              /* unreadable, corrupt, other version */
};

struct myr_cache_status {
	enum myr_cache_state state;
	int dir_changed;                /* the per-launch stamp differs */
	uint32_t modules, cached, pinned, programs;
	uint32_t changed, removed, added, excluded;
	uint64_t file_size, image_size, generation;
	char why[MYR_ERROR_MSG_MAX];    /* INVALID: the reason */
};

/*
 * Compare the cache with DIR file by file (one stat and one header read
 * per module, so it catches in-place overwrites too).  One line through
 * diag per stale, added, removed or excluded module.  Returns 0 (the
 * state is in *st) or -errno when DIR cannot be read.
 */
int myr_cache_status(const char *dir, const struct myr_host_binding *host,
		     struct myr_diag *diag, struct myr_cache_status *st,
		     struct myr_error *err);

/* ------------------------------------------------------------------ */
/* Launching (lib/image/cache_image.c)                                             */
/* ------------------------------------------------------------------ */

struct myr_cache;

/*
 * Open DIR's cache for a launch: one stat of DIR (the per-launch stamp),
 * open, map and validate the metadata, bind the host symbols by name, and
 * map the image (text shared read+exec, rodata shared read-only, relro and
 * data private copy-on-write) at its preferred address or, if that is
 * taken, anywhere within 2 GiB of the host (then every rebase fixup is
 * applied).  Returns 0; -ENOENT when there is no cache (not a problem);
 * any other -errno with err saying why the cache is unusable (corrupt,
 * another version or architecture, built for another directory, a host
 * module lacking a symbol): the caller warns once and loads from files.
 * When DIR changed since the build (a module added, removed or renamed
 * over), the cache opens "stale": each module is then checked with one
 * stat before use and skipped if it changed.
 */
int myr_cache_open(struct myr_cache **out, const char *dir,
		   const struct myr_host_binding *host, struct myr_error *err);

/* myr_cache_open_fd() flags */
#define MYR_CACHE_OPEN_SEALED  0x1u  /* fd is the loader service's image:
                                        a memfd sealed against every
                                        write, from a service the caller
                                        trusts (a socket and peer owned
                                        by root or by this user) */

/*
 * The same for an image open as fd: the cache file, or the loader
 * service's sealed memfd (<myriad/service.h>), which must have been built
 * for dir.  fd is borrowed: the mappings keep what they need, the caller
 * closes it.
 *
 * MYR_CACHE_OPEN_SEALED skips what guards against a damaged or foreign
 * file, since the service parsed and checked the image (checksums,
 * every record) when it built it and the seals mean no one, the service
 * included, can have changed a byte since: the metadata checksum and the
 * per-module record checks, and the dependency order of a closure given
 * by myr_cache_give_closure() (the service's own walk, whose entries say
 * what the records hold).  The header, its
 * checksum, every table's bounds and the host symbols are still checked,
 * and module indexes are still range-checked.  The caller must have
 * checked the seals (F_GET_SEALS) and who serves it.
 */
int myr_cache_open_fd(struct myr_cache **out, int fd, const char *dir,
		      unsigned flags, const struct myr_host_binding *host,
		      struct myr_error *err);

/*
 * The loader service's plan of a launch: the launch closure it computed
 * for the program whose header checksum is sum (module indexes,
 * dependencies first), each entry with the MYR_CACHE_PLAN_* bits of what
 * the module's record holds, so that the launch reads no record.  Only
 * for a sealed image (MYR_CACHE_OPEN_SEALED: the service that sends the
 * plan built and checked the image): else -EINVAL.  Takes list (malloc'd)
 * in every case.  myr_cache_launch_closure() returns it for that program
 * after checking each entry's range, that none repeats and that a pinned
 * one may be used; when one fails, none is used and the loader walks the
 * image itself.  In a stale directory every entry is checked as a
 * recorded closure's is.  program: 1 + the image module index of the
 * program when the service vouched that the program's descriptor is the
 * file that module was built from (MYR_SERVICE_A_PROGRAM,
 * <myriad/service.h>), else 0; myr_cache_program() then takes the
 * program from the image.  0 or -EINVAL.
 */
#define MYR_CACHE_PLAN_INDEX    0x0fffffffu   /* the module index */
#define MYR_CACHE_PLAN_INIT     0x80000000u   /* an init or fini array */
#define MYR_CACHE_PLAN_BINDS    0x40000000u   /* host binds */
#define MYR_CACHE_PLAN_REBASES  0x20000000u   /* rebases (applied if slid) */
#define MYR_CACHE_PLAN_PINNED   0x10000000u   /* MYR_CM_PINNED */
int myr_cache_give_closure(struct myr_cache *c, uint64_t sum, uint32_t *list,
			   uint32_t n, uint32_t program);

/*
 * The loader service's copy of the program file (MYR_SERVICE_A_COPY,
 * <myriad/service.h>): a memfd sealed against every write, holding the
 * bytes the service read from the program descriptor the launch sent,
 * their checksum checked by the service.  give takes fd (closed on
 * -EINVAL: not a sealed image); take hands it to the caller, who maps it
 * instead of reading the file, or returns -1 when there is none.  An
 * untaken copy is closed with the cache (or by myr_cache_close_fds()).
 */
int myr_cache_give_program_copy(struct myr_cache *c, int fd);
int myr_cache_take_program_copy(struct myr_cache *c);

/* Module i's plan entry: i with the MYR_CACHE_PLAN_* bits of its record
 * (i must be in range: what the loader service sends). */
uint32_t myr_cache_plan_entry(const struct myr_cache_view *v, uint32_t i);
/* Launch closure entry e's module index (MYR_CACHE_F_PLAN: without its
 * plan bits; the caller checks the range). */
uint32_t myr_cache_closure_index(const struct myr_cache_view *v, uint32_t e);

/* The MYR_CACHE_PLAN_* bits of module record *m. */
uint32_t myr_cache_plan_bits(const struct myr_cache_module *m);

/* A usable cached module by name (index), or -ENOENT: not cached, or
 * stale, pinned to another launcher, or depending on such a module. */
int64_t myr_cache_find(struct myr_cache *c, const char *name, uint32_t len);

/* Version of cached module i. */
void myr_cache_version(const struct myr_cache *c, uint32_t i, uint16_t *major,
		       uint16_t *minor);
const char *myr_cache_name(const struct myr_cache *c, uint32_t i);

/* The recorded launch closure of a program module named name whose header
 * checksum is sum: *list (module indexes, dependencies first) and *n, or
 * -ENOENT (none, or any entry not usable). */
int myr_cache_launch_closure(struct myr_cache *c, const char *name,
			     uint32_t len, uint64_t sum, const uint32_t **list,
			     uint32_t *n);

/*
 * The program module name, whose file the caller opened and fstat()ed as
 * *st and whose header checksum is sum, run from the image without its
 * file being read (docs/cache.md, "Programs from the image"): only with
 * the builder's stamp carrying MYR_CACHE_VERIFIED_PROGRAMS, in a current
 * directory, when *st is the identity recorded for name.myr, so that the
 * file holds the bytes built; or, in the loader service's sealed image,
 * when the service vouched for the descriptor the caller sent it as
 * being module name's file (myr_cache_give_closure()'s program), whatever
 * the directory's state.  In both, the module's recorded checksum must
 * be sum.  Its launch closure is decided as by
 * myr_cache_launch_closure() (*list, *n), and the program itself too: the
 * caller activates it after them (myr_cache_activate_closure).  0 with
 * *index, or -ENOENT.
 */
int myr_cache_program(struct myr_cache *c, const char *name, uint32_t len,
		      const struct stat *st, uint64_t sum, uint32_t *index,
		      const uint32_t **list, uint32_t *n);

/*
 * Append to order[] (room for the cache's module count) the modules of
 * i's closure not yet activated, dependencies first (the loader's init
 * order), marking them active.  Returns how many were appended.
 */
uint32_t myr_cache_order(struct myr_cache *c, uint32_t i, uint32_t *order);
uint32_t myr_cache_module_count(const struct myr_cache *c);

/*
 * Mark a launch closure's n modules (from myr_cache_launch_closure())
 * active, and append to init[] (room for n) those that have constructors
 * or destructors, in list order.  Returns how many were appended.
 */
uint32_t myr_cache_activate_closure(struct myr_cache *c, const uint32_t *list,
				    uint32_t n, uint32_t *init);

/* Apply the per-process fixups of every active module (binds; rebases
 * when slid), then make relro read-only.  0 or -errno (err). */
int myr_cache_activate(struct myr_cache *c, struct myr_error *err);

/* Where the image lies: [*lo, *hi). */
void myr_cache_span(const struct myr_cache *c, uintptr_t *lo, uintptr_t *hi);

/* A module's placed segments and export view, for binding: not API
 * (lib/image/link.h, myri_cache_link_module()). */
int myr_cache_is_active(const struct myr_cache *c, uint32_t i);
/* An active module by name (for ctx->lookup, after the launch), or
 * -ENOENT.  Needs no scratch memory. */
int64_t myr_cache_find_active(const struct myr_cache *c, const char *name,
			      uint32_t len);
void myr_cache_init_array(const struct myr_cache *c, uint32_t i, int fini,
			  void (*const **fns)(void), uint32_t *n);

struct myr_cache_info {
	uint32_t modules;               /* in the index */
	int stale;                      /* DIR changed: per-module stats */
	int slid;                       /* not at the preferred address */
	int pins_valid;
	int closure_used;               /* a recorded launch closure */
	int verified;                   /* the builder's stamp matched: no
	                                   per-module content checks */
	uint32_t stat_calls;            /* per-module checks made */
	uint32_t active;
	uint64_t ns_open;
};
void myr_cache_info(const struct myr_cache *c, struct myr_cache_info *out);

/*
 * The first reason a module of the image was not used although the
 * launch asked for it (its content differs from the build, a bind or
 * rebase site holds what the builder never wrote there, a bad export
 * table...), as "module NAME: WHY"; NULL if there was none.  Such modules,
 * and every cached module that needs them, load from their files instead:
 * the launcher says so in one line.  Owned by c.
 */
const char *myr_cache_problem(const struct myr_cache *c);

/* Close descriptors (before the sandbox); the mapping stays. */
void myr_cache_close_fds(struct myr_cache *c);

/* Free the bookkeeping, keeping the image mapped (code may run from it). */
void myr_cache_release(struct myr_cache *c);

/* Unmap and free: only when no code of the image can run.  NULL is ok. */
void myr_cache_close(struct myr_cache *c);

#endif /* MYRIAD_CACHE_H */
