/* SPDX-License-Identifier: MIT */
/*
 * lib/convert/elf_internal.h - the ELF object reader shared by
 * lib/convert/elf*.c.  Not API: myri_* (docs/design.md).
 *
 * myri_elf_obj_load() validates an object completely before the linker looks at
 * it, so the linker may then index sections, symbols, strings and
 * relocations without further bounds checks: every section lies in the file
 * (or is NOBITS), every name is a NUL-terminated string inside its table,
 * every symbol's section index is in range or one of UNDEF/ABS/COMMON, and
 * every relocation's symbol index is in range and its offset lies inside
 * its target section.
 */
#ifndef MYRIAD_LIB_ELF_INTERNAL_H
#define MYRIAD_LIB_ELF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <elf.h>
#include <myriad/error.h>

/* What the linker does with a section. */
enum elf_role {
	ELF_ROLE_DROP = 0,      /* not loaded: debug, notes, .eh_frame, ... */
	ELF_ROLE_SEGMENT,       /* merged into segment 'seg' */
	ELF_ROLE_INIT,          /* entries of the init array */
	ELF_ROLE_FINI,          /* entries of the fini array */
	ELF_ROLE_META,          /* symtab, strtab, rela, group: read, not loaded */
};

struct elf_section {
	const char *name;
	uint32_t type, link, info;
	uint64_t flags, offset, size, addralign, entsize;

	/* Filled by the linker. */
	uint8_t role;           /* enum elf_role */
	uint8_t seg;            /* enum myr_segment, for ELF_ROLE_SEGMENT */
	uint8_t reversed;       /* .ctors/.dtors: entries run backwards */
	uint8_t discarded;      /* member of a comdat group already kept */
	uint32_t rela;          /* index of the RELA section patching it, 0 if none */
	uint32_t prio;          /* init/fini priority; 65536 for none */
	uint64_t out_off;       /* offset in its segment (or array) */
};

struct elf_obj {
	const char *label;
	const uint8_t *data;
	size_t size;
	uint32_t shnum;
	struct elf_section *secs;       /* shnum entries */
	uint32_t symtab;                /* section index, 0 if none */
	uint32_t nsyms;
	uint32_t first_global;          /* symtab sh_info */
	const char *strtab;             /* symbol names */
	uint64_t strtab_size;
};

int myri_elf_obj_load(struct elf_obj *o, const void *data, size_t size,
		 struct myr_error *err);
void myri_elf_obj_unload(struct elf_obj *o);

/* Symbol i (< nsyms), copied out (objects need not be aligned). */
void myri_elf_obj_sym(const struct elf_obj *o, uint32_t i, Elf64_Sym *sym);
/* The name of a symbol, "" for none; always a valid C string. */
const char *myri_elf_obj_sym_name(const struct elf_obj *o, const Elf64_Sym *sym);
/* Relocation i of RELA section rs. */
void myri_elf_obj_rela(const struct elf_obj *o, const struct elf_section *rs,
		  uint64_t i, Elf64_Rela *rel);
static inline uint64_t elf_obj_rela_count(const struct elf_section *rs)
{
	return rs->size / sizeof(Elf64_Rela);
}

#endif
