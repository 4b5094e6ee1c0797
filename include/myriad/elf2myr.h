/* SPDX-License-Identifier: MIT */
/*
 * myriad/elf2myr.h - turning ELF64 relocatable objects into a Myriad module.
 *
 * This is the library side of `myriad link` (docs/link.md).  The caller reads
 * the object files and the --needs modules into memory; the converter merges
 * the objects' sections into the module's segments, resolves symbols, binds
 * every undefined symbol to one dependency (two-level namespace), turns the
 * ELF relocations into Myriad relocations and produces a module description
 * for myr_module_write().
 *
 * Conventions are those of <myriad/error.h>.  Because a link can find many
 * independent problems (every undefined symbol, every bad relocation), every
 * problem is reported as one line through the struct myr_diag, prefixed with
 * the label of the object or dependency it concerns ("a.o: ..."); the
 * function then fails with a single -errno.
 */
#ifndef MYRIAD_ELF2MYR_H
#define MYRIAD_ELF2MYR_H

#include <stddef.h>
#include <stdint.h>
#include <myriad/error.h>
#include <myriad/module.h>

/* One ELF relocatable object, whole, in memory. */
struct myr_link_object {
	const char *label;        /* for messages, usually the path */
	const void *data;
	size_t size;
};

/* A --needs module, already validated with myr_module_parse(). */
struct myr_link_dep {
	const char *label;        /* for messages, usually the path */
	const struct myr_module_view *view;
	uint32_t flags;           /* MYR_DEP_OPTIONAL: recorded as optional,
	                             and no symbol is bound to it */
};

struct myr_link_options {
	const char *name;                 /* module name (myr_name_valid) */
	uint16_t ver_major, ver_minor, ver_patch;
	const char *entry;                /* entry symbol (program), or NULL */
	uint32_t caps;                    /* MYR_CAP_*, programs only */
	const char *shebang;              /* interpreter, or NULL */
	int compress;                     /* MYR_COMPRESS_*, passed to the writer */

	const struct myr_link_object *objs;  size_t nobjs;
	const struct myr_link_dep *deps;     size_t ndeps;  /* search order */
	/*
	 * A program's closure hint (docs/format.md): every module of its
	 * dependency closure with its version and file size, as the caller
	 * found them (myriad link walks the library directories through myr_module_closure_hint()).  Empty for
	 * a library, which carries none; a program may have none too (the
	 * launcher then finds its closure level by level).  Borrowed.
	 */
	const struct myr_desc_dep *closure; size_t nclosure;

	/*
	 * The launcher's built-in module (MYR_HOST_MODULE_NAME): the names it
	 * exports, in its table order (import hints are indexes into it), and
	 * its version.  A dependency on it is recorded only if some symbol
	 * binds to it.  nhost == 0: no host module.
	 */
	const char *const *host_names;    size_t nhost;
	uint16_t host_major, host_minor;
};

/* The result of a link: the module description and the storage it uses. */
struct myr_elf_link;

/*
 * Link opt->objs into a module description.  Every problem found goes to
 * diag (may be NULL), as many as can be found in one run; then the link
 * fails with -EINVAL (bad input), -E2BIG (a format or default pool limit
 * is exceeded, named in the message) or -ENOMEM.  On success *out holds the
 * description until myr_elf_link_exit().
 */
int myr_elf_link_init(struct myr_elf_link **out,
		      const struct myr_link_options *opt, struct myr_diag *diag);
const struct myr_module_desc *myr_elf_link_desc(const struct myr_elf_link *l);
void myr_elf_link_exit(struct myr_elf_link *l);

/*
 * The whole of `myriad link` short of files: myr_elf_link_init(), then
 * myr_module_write() into a malloc()ed *out (the caller frees it).  A writer
 * failure is reported through diag too.
 */
int myr_elf_link_write(const struct myr_link_options *opt, uint8_t **out,
		       size_t *out_len, struct myr_diag *diag);

/*
 * Check that data is an ELF64 x86-64 relocatable object this converter can
 * read: every header, section, symbol, string and relocation table is in
 * bounds and consistent.  Fills err (no file name) on the first problem and
 * returns -ENOEXEC (not an ELF file, or another class, byte order, machine
 * or type) or -EBADMSG (malformed); 0 if well-formed.  myr_elf_link_init()
 * runs the same check on each object first.
 */
int myr_elf_object_check(const void *data, size_t size, struct myr_error *err);

#endif /* MYRIAD_ELF2MYR_H */
