/* SPDX-License-Identifier: MIT */
/*
 * lib/convert/elf.c - reading ELF64 relocatable objects, which are hostile input.
 *
 * Every offset, size, count, index and string is checked against the file
 * before it is used, in 64-bit arithmetic written so that it cannot
 * overflow (a + b <= n is always tested as a <= n && b <= n - a).  The
 * first problem found is reported; objects are small and one clear line is
 * more useful than a cascade.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <myriad/elf2myr.h>
#include <myriad/limits.h>
#include "convert/elf_internal.h"
#include "convert/arch/x86_64/reloc.h"

/* The most sections an object may have: extended section numbering (more
 * than SHN_LORESERVE sections) is not supported. */
static_assert(MYR_ELF_SECTIONS_MAX == SHN_LORESERVE, "MYR_ELF_SECTIONS_MAX");

static int in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* A NUL-terminated string at off inside a table of size bytes. */
static const char *table_str(const char *tab, uint64_t size, uint64_t off)
{
	if (off >= size || !memchr(tab + off, '\0', size - off))
		return NULL;
	return tab + off;
}

struct file_range {
	uint64_t off, end;
	uint32_t sec;           /* section index, or UINT32_MAX for headers */
};

static int range_cmp(const void *a, const void *b)
{
	const struct file_range *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static const char *range_name(const struct elf_obj *o, const struct file_range *r)
{
	if (r->sec == UINT32_MAX)
		return "the ELF headers";
	return o->secs[r->sec].name ? o->secs[r->sec].name : "a section";
}

/* No two stored sections, nor a section and the headers, share bytes. */
static int check_overlap(const struct elf_obj *o, uint64_t shoff,
			 uint64_t shsize, struct myr_error *err)
{
	struct file_range *r = calloc((size_t)o->shnum + 2, sizeof(*r));
	size_t n = 0;
	int ret = 0;

	if (!r)
		return -ENOMEM;
	r[n++] = (struct file_range){ 0, sizeof(Elf64_Ehdr), UINT32_MAX };
	r[n++] = (struct file_range){ shoff, shoff + shsize, UINT32_MAX };
	for (uint32_t i = 1; i < o->shnum; i++) {
		const struct elf_section *s = &o->secs[i];
		if (s->type == SHT_NOBITS || s->size == 0)
			continue;
		r[n++] = (struct file_range){ s->offset, s->offset + s->size, i };
	}
	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 1; i < n; i++) {
		if (r[i].off < r[i - 1].end) {
			ret = myr_error_set(err, -EBADMSG,
				"section %u (%s) overlaps %s in the file",
				r[i].sec == UINT32_MAX ? r[i - 1].sec : r[i].sec,
				r[i].sec == UINT32_MAX ? range_name(o, &r[i - 1]) : range_name(o, &r[i]),
				r[i].sec == UINT32_MAX ? "the ELF headers" : range_name(o, &r[i - 1]));
			break;
		}
	}
	free(r);
	return ret;
}

static int check_ehdr(const Elf64_Ehdr *eh, size_t size, struct myr_error *err)
{
	/* clang -flto writes LLVM bitcode, raw ("BC" 0xC0DE) or in the
	 * wrapper (0x0B17C0DE, little-endian): no machine code to link. */
	static const uint8_t bitcode[4] = { 'B', 'C', 0xc0, 0xde };
	static const uint8_t bitcode_wrapper[4] = { 0xde, 0xc0, 0x17, 0x0b };
	if (size >= 4 && (memcmp(eh->e_ident, bitcode, 4) == 0 ||
			  memcmp(eh->e_ident, bitcode_wrapper, 4) == 0))
		return myr_error_set(err, -ENOEXEC,
			"LLVM bitcode (clang -flto), not an ELF object: "
			"compile without -flto");
	if (size < EI_NIDENT || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return myr_error_set(err, -ENOEXEC, "not an ELF file (bad magic)");
	if (size < sizeof(*eh))
		return myr_error_set(err, -EBADMSG,
			"truncated ELF header (%zu bytes, need %zu)", size, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return myr_error_set(err, -ENOEXEC,
			"ELF class %u, not ELFCLASS64", eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return myr_error_set(err, -ENOEXEC,
			"ELF byte order %u, not little-endian", eh->e_ident[EI_DATA]);
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return myr_error_set(err, -ENOEXEC, "ELF version %u, not 1",
				     eh->e_version);
	if (eh->e_machine != MYR_ARCH_ELF_MACHINE)
		return myr_error_set(err, -ENOEXEC,
			"ELF machine %u, not x86-64 (%u)", eh->e_machine,
			MYR_ARCH_ELF_MACHINE);
	if (eh->e_type != ET_REL)
		return myr_error_set(err, -ENOEXEC,
			"ELF type %u, not a relocatable object (compile with -c)",
			eh->e_type);
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return myr_error_set(err, -EBADMSG,
			"e_shentsize %u, not %zu", eh->e_shentsize, sizeof(Elf64_Shdr));
	if (eh->e_shoff == 0 || eh->e_shnum == 0)
		return myr_error_set(err, -EBADMSG, "no section header table "
			"(e_shoff %llu, e_shnum %u; extended numbering is unsupported)",
			(unsigned long long)eh->e_shoff, eh->e_shnum);
	if (eh->e_shnum >= MYR_ELF_SECTIONS_MAX)
		return myr_error_set(err, -EBADMSG, "e_shnum %u over the limit %u",
				     eh->e_shnum, MYR_ELF_SECTIONS_MAX - 1);
	if (!in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), size))
		return myr_error_set(err, -EBADMSG,
			"section header table (e_shoff %llu, e_shnum %u) lies outside the %zu-byte file",
			(unsigned long long)eh->e_shoff, eh->e_shnum, size);
	if (eh->e_shstrndx == SHN_UNDEF || eh->e_shstrndx >= eh->e_shnum)
		return myr_error_set(err, -EBADMSG, "e_shstrndx %u out of range (e_shnum %u)",
				     eh->e_shstrndx, eh->e_shnum);
	return 0;
}

static int load_sections(struct elf_obj *o, const Elf64_Ehdr *eh,
			 struct myr_error *err)
{
	for (uint32_t i = 0; i < o->shnum; i++) {
		Elf64_Shdr sh;
		memcpy(&sh, o->data + eh->e_shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
		struct elf_section *s = &o->secs[i];
		s->type = sh.sh_type;
		s->flags = sh.sh_flags;
		s->offset = sh.sh_offset;
		s->size = sh.sh_size;
		s->addralign = sh.sh_addralign;
		s->entsize = sh.sh_entsize;
		s->link = sh.sh_link;
		s->info = sh.sh_info;
		s->prio = 65536;
		/* sh_name is checked once the name table is known. */
		s->out_off = sh.sh_name;
		if (i == 0)
			continue;
		if (s->type != SHT_NOBITS && !in_file(s->offset, s->size, o->size))
			return myr_error_set(err, -EBADMSG,
				"section %u: sh_offset %llu + sh_size %llu lies outside the %zu-byte file",
				i, (unsigned long long)s->offset,
				(unsigned long long)s->size, o->size);
		if (s->addralign & (s->addralign - 1))
			return myr_error_set(err, -EBADMSG,
				"section %u: sh_addralign %llu is not a power of two",
				i, (unsigned long long)s->addralign);
	}
	const struct elf_section *shstr = &o->secs[eh->e_shstrndx];
	if (shstr->type != SHT_STRTAB)
		return myr_error_set(err, -EBADMSG,
			"e_shstrndx %u: section type %u, not SHT_STRTAB",
			eh->e_shstrndx, shstr->type);
	for (uint32_t i = 0; i < o->shnum; i++) {
		struct elf_section *s = &o->secs[i];
		s->name = table_str((const char *)o->data + shstr->offset,
				    shstr->size, s->out_off);
		if (!s->name) {
			if (i == 0) {
				s->name = "";
			} else {
				return myr_error_set(err, -EBADMSG,
					"section %u: sh_name %llu outside the section name table",
					i, (unsigned long long)s->out_off);
			}
		}
		/* Names end up in messages: no control bytes (none is ever
		 * in a compiler's section name). */
		for (const char *c = s->name; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return myr_error_set(err, -EBADMSG,
					"section %u: name contains a control character", i);
		s->out_off = 0;
	}
	return 0;
}

static int load_symtab(struct elf_obj *o, struct myr_error *err)
{
	for (uint32_t i = 1; i < o->shnum; i++) {
		const struct elf_section *s = &o->secs[i];
		if (s->type == SHT_DYNSYM || s->type == SHT_SYMTAB_SHNDX)
			return myr_error_set(err, -EBADMSG,
				"section %u (%s): type %u is unsupported in a relocatable object",
				i, s->name, s->type);
		if (s->type != SHT_SYMTAB)
			continue;
		if (o->symtab)
			return myr_error_set(err, -EBADMSG,
				"section %u (%s): a second symbol table", i, s->name);
		o->symtab = i;
	}
	if (!o->symtab)
		return 0;

	const struct elf_section *st = &o->secs[o->symtab];
	if (st->entsize != sizeof(Elf64_Sym) || st->size % sizeof(Elf64_Sym))
		return myr_error_set(err, -EBADMSG,
			"symbol table %s: sh_entsize %llu / sh_size %llu, not whole %zu-byte entries",
			st->name, (unsigned long long)st->entsize,
			(unsigned long long)st->size, sizeof(Elf64_Sym));
	if (st->size / sizeof(Elf64_Sym) > UINT32_MAX)
		return myr_error_set(err, -EBADMSG, "symbol table %s: too many symbols",
				     st->name);
	o->nsyms = (uint32_t)(st->size / sizeof(Elf64_Sym));
	if (st->link == 0 || st->link >= o->shnum || o->secs[st->link].type != SHT_STRTAB)
		return myr_error_set(err, -EBADMSG,
			"symbol table %s: sh_link %u is not a string table", st->name, st->link);
	if (st->info > o->nsyms || (o->nsyms && st->info == 0))
		return myr_error_set(err, -EBADMSG,
			"symbol table %s: sh_info %u (first global) out of range (%u symbols)",
			st->name, st->info, o->nsyms);
	o->first_global = st->info;
	o->strtab = (const char *)o->data + o->secs[st->link].offset;
	o->strtab_size = o->secs[st->link].size;

	for (uint32_t i = 1; i < o->nsyms; i++) {
		Elf64_Sym sym;
		myri_elf_obj_sym(o, i, &sym);
		if (!table_str(o->strtab, o->strtab_size, sym.st_name) && sym.st_name)
			return myr_error_set(err, -EBADMSG,
				"symbol %u: st_name %u outside the string table", i, sym.st_name);
		for (const char *c = myri_elf_obj_sym_name(o, &sym); *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return myr_error_set(err, -EBADMSG,
					"symbol %u: name contains a control character", i);
		if (sym.st_name == 0 && o->strtab_size == 0 && ELF64_ST_TYPE(sym.st_info) != STT_SECTION)
			return myr_error_set(err, -EBADMSG,
				"symbol %u: empty string table", i);
		uint16_t shndx = sym.st_shndx;
		if (shndx == SHN_XINDEX)
			return myr_error_set(err, -EBADMSG,
				"symbol %u: extended section index (SHN_XINDEX) is unsupported", i);
		if (shndx >= o->shnum && shndx != SHN_ABS && shndx != SHN_COMMON)
			return myr_error_set(err, -EBADMSG,
				"symbol %u (%s): st_shndx %u out of range (%u sections)",
				i, myri_elf_obj_sym_name(o, &sym), shndx, o->shnum);
		int bind = ELF64_ST_BIND(sym.st_info);
		/* gcc -flto without -ffat-lto-objects: the object holds only
		 * GIMPLE bytecode, which no linker but gcc's plug-in reads;
		 * linked as is it would make an empty module. */
		if (bind != STB_LOCAL &&
		    strcmp(myri_elf_obj_sym_name(o, &sym), "__gnu_lto_slim") == 0)
			return myr_error_set(err, -ENOEXEC,
				"GCC LTO bytecode without machine code (gcc -flto): "
				"compile with -ffat-lto-objects, or without -flto");
		if ((i < o->first_global) != (bind == STB_LOCAL))
			return myr_error_set(err, -EBADMSG,
				"symbol %u (%s): binding %d on the wrong side of sh_info %u",
				i, myri_elf_obj_sym_name(o, &sym), bind, o->first_global);
		if (shndx != SHN_UNDEF && shndx < o->shnum) {
			const struct elf_section *d = &o->secs[shndx];
			if (sym.st_value > d->size)
				return myr_error_set(err, -EBADMSG,
					"symbol %u (%s): st_value %llu past the end of section %u (%s, %llu bytes)",
					i, myri_elf_obj_sym_name(o, &sym),
					(unsigned long long)sym.st_value, shndx,
					d->name, (unsigned long long)d->size);
		}
	}
	return 0;
}

static int load_relocs(struct elf_obj *o, struct myr_error *err)
{
	for (uint32_t i = 1; i < o->shnum; i++) {
		struct elf_section *rs = &o->secs[i];
		if (rs->type == SHT_REL)
			return myr_error_set(err, -EBADMSG,
				"section %u (%s): SHT_REL relocations are not used on x86-64",
				i, rs->name);
		if (rs->type != SHT_RELA)
			continue;
		if (rs->entsize != sizeof(Elf64_Rela) || rs->size % sizeof(Elf64_Rela))
			return myr_error_set(err, -EBADMSG,
				"section %u (%s): sh_entsize %llu / sh_size %llu, not whole %zu-byte entries",
				i, rs->name, (unsigned long long)rs->entsize,
				(unsigned long long)rs->size, sizeof(Elf64_Rela));
		if (rs->link != o->symtab || o->symtab == 0)
			return myr_error_set(err, -EBADMSG,
				"section %u (%s): sh_link %u is not the symbol table",
				i, rs->name, rs->link);
		if (rs->info == 0 || rs->info >= o->shnum)
			return myr_error_set(err, -EBADMSG,
				"section %u (%s): sh_info %u out of range (%u sections)",
				i, rs->name, rs->info, o->shnum);
		struct elf_section *t = &o->secs[rs->info];
		if (t->type == SHT_NOBITS && rs->size)
			return myr_error_set(err, -EBADMSG,
				"section %u (%s): relocations against NOBITS section %s",
				i, rs->name, t->name);
		if (t->type == SHT_RELA || t->type == SHT_SYMTAB ||
		    t->type == SHT_STRTAB || t->type == SHT_GROUP)
			return myr_error_set(err, -EBADMSG,
				"section %u (%s): relocates section %u (%s) of type %u",
				i, rs->name, rs->info, t->name, t->type);
		if (t->rela)
			return myr_error_set(err, -EBADMSG,
				"section %u (%s): section %s already has relocations (section %u)",
				i, rs->name, t->name, t->rela);
		t->rela = i;
		for (uint64_t k = 0; k < elf_obj_rela_count(rs); k++) {
			Elf64_Rela r;
			myri_elf_obj_rela(o, rs, k, &r);
			uint32_t symi = ELF64_R_SYM(r.r_info);
			uint32_t type = ELF64_R_TYPE(r.r_info);
			unsigned width = myr_arch_rel_width(myr_arch_rel_classify(type));
			if (symi >= o->nsyms)
				return myr_error_set(err, -EBADMSG,
					"%s entry %llu: symbol index %u out of range (%u symbols)",
					rs->name, (unsigned long long)k, symi, o->nsyms);
			if (!in_file(r.r_offset, width, t->size))
				return myr_error_set(err, -EBADMSG,
					"%s entry %llu: r_offset %llu outside section %s (%llu bytes)",
					rs->name, (unsigned long long)k,
					(unsigned long long)r.r_offset, t->name,
					(unsigned long long)t->size);
		}
	}
	return 0;
}

static int load_groups(struct elf_obj *o, struct myr_error *err)
{
	for (uint32_t i = 1; i < o->shnum; i++) {
		const struct elf_section *g = &o->secs[i];
		if (g->type != SHT_GROUP)
			continue;
		if (g->size < 4 || g->size % 4)
			return myr_error_set(err, -EBADMSG,
				"group section %u (%s): sh_size %llu is not a flag word plus members",
				i, g->name, (unsigned long long)g->size);
		if (g->link != o->symtab || o->symtab == 0)
			return myr_error_set(err, -EBADMSG,
				"group section %u (%s): sh_link %u is not the symbol table",
				i, g->name, g->link);
		if (g->info == 0 || g->info >= o->nsyms)
			return myr_error_set(err, -EBADMSG,
				"group section %u (%s): signature symbol %u out of range",
				i, g->name, g->info);
		for (uint64_t k = 1; k < g->size / 4; k++) {
			uint32_t m;
			memcpy(&m, o->data + g->offset + 4 * k, 4);
			if (m == 0 || m >= o->shnum || m == i)
				return myr_error_set(err, -EBADMSG,
					"group section %u (%s): member %u out of range",
					i, g->name, m);
		}
	}
	return 0;
}

int myri_elf_obj_load(struct elf_obj *o, const void *data, size_t size,
		 struct myr_error *err)
{
	Elf64_Ehdr eh;
	int ret;

	memset(o, 0, sizeof(*o));
	o->data = data;
	o->size = size;
	memset(&eh, 0, sizeof(eh));
	memcpy(&eh, data, size < sizeof(eh) ? size : sizeof(eh));
	ret = check_ehdr(&eh, size, err);
	if (ret)
		return ret;
	o->shnum = eh.e_shnum;
	o->secs = calloc(o->shnum, sizeof(*o->secs));
	if (!o->secs)
		return -ENOMEM;
	ret = load_sections(o, &eh, err);
	if (!ret)
		ret = check_overlap(o, eh.e_shoff, (uint64_t)o->shnum * sizeof(Elf64_Shdr), err);
	if (!ret)
		ret = load_symtab(o, err);
	if (!ret)
		ret = load_relocs(o, err);
	if (!ret)
		ret = load_groups(o, err);
	if (ret)
		myri_elf_obj_unload(o);
	return ret;
}

void myri_elf_obj_unload(struct elf_obj *o)
{
	free(o->secs);
	o->secs = NULL;
}

void myri_elf_obj_sym(const struct elf_obj *o, uint32_t i, Elf64_Sym *sym)
{
	memcpy(sym, o->data + o->secs[o->symtab].offset + (uint64_t)i * sizeof(*sym),
	       sizeof(*sym));
}

const char *myri_elf_obj_sym_name(const struct elf_obj *o, const Elf64_Sym *sym)
{
	if (ELF64_ST_TYPE(sym->st_info) == STT_SECTION && sym->st_shndx < o->shnum)
		return o->secs[sym->st_shndx].name;
	const char *s = table_str(o->strtab, o->strtab_size, sym->st_name);
	return s ? s : "";
}

void myri_elf_obj_rela(const struct elf_obj *o, const struct elf_section *rs,
		  uint64_t i, Elf64_Rela *rel)
{
	memcpy(rel, o->data + rs->offset + i * sizeof(*rel), sizeof(*rel));
}

int myr_elf_object_check(const void *data, size_t size, struct myr_error *err)
{
	struct elf_obj o;
	int ret = myri_elf_obj_load(&o, data, size, err);
	if (!ret)
		myri_elf_obj_unload(&o);
	return ret;
}
