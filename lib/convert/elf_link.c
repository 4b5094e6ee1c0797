/* SPDX-License-Identifier: MIT */
/*
 * lib/convert/elf_link.c - merging ELF relocatable objects into one Myriad module.
 *
 * The phases, each of which reports every problem it finds before the link
 * gives up:
 *   1. load and validate every object (lib/convert/elf.c);
 *   2. classify sections into segments and init/fini arrays, keeping the
 *      first copy of each comdat group;
 *   3. build the global symbol table (strong beats weak beats COMMON; two
 *      strong definitions clash);
 *   4. lay the sections out, segment by segment, in input order;
 *   5. copy the bytes and turn each ELF relocation into either a value
 *      patched now (both ends in one segment, which is always placed as a
 *      unit), or a Myriad relocation the loader applies; undefined symbols
 *      are bound to a --needs module or the host module on first use;
 *   6. append the GOT slots and call stubs, collect exports, check limits.
 *
 * All x86-64 knowledge comes from lib/convert/arch/x86_64/reloc.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <myriad/elf2myr.h>
#include <myriad/limits.h>
#include "convert/elf_internal.h"
#include "convert/arch/x86_64/reloc.h"

#define NONE32 UINT32_MAX

static const char *const seg_names[MYR_SEG_COUNT] = {
	"text", "rodata", "relro", "data", "bss"
};

enum gsym_state { G_UNDEF, G_COMMON, G_WEAK, G_DEF };

struct gsym {
	const char *name;
	uint32_t len, hash;
	uint8_t state;          /* enum gsym_state */
	uint8_t vis;            /* most constraining STV_* seen */
	uint8_t type;           /* STT_* of the definition */
	uint8_t strong_ref;     /* some undefined reference is not weak */
	uint8_t bound;          /* 0 not yet, 1 done, 2 failed (reported) */
	uint8_t far;            /* bound to the host: maybe out of +-2 GiB */
	uint32_t obj, sec;      /* definition (sec: ELF index, or SHN_ABS) */
	uint64_t value;         /* st_value (COMMON: alignment) */
	uint64_t size;          /* COMMON size */
	uint8_t seg;            /* resolved: segment, MYR_SEG_NONE if absolute */
	uint64_t off;           /* resolved: offset in seg, or absolute value */
	uint32_t import, got, stub;
	/* An undefined symbol's providers among the --needs modules, found
	 * by find_providers(): the first (dependency, export), and a second
	 * dependency exporting it too (a clash), or NONE32. */
	uint32_t prov_dep, prov_exp, clash_dep;
};

/* Where a relocation's symbol ends up. */
enum tkind { T_SEG, T_IMPORT, T_ABS, T_ZERO };
struct target {
	enum tkind kind;
	uint8_t seg;
	uint64_t off;           /* T_SEG: offset; T_ABS: value */
	uint32_t import;
	uint8_t far;
	uint32_t g;             /* global symbol, or NONE32 for a local */
};

struct got_slot {
	struct target t;
};

struct strset {                 /* open addressing, index + 1, 0 = empty */
	uint32_t *slot;
	uint32_t cap;
};

struct myr_elf_link {
	const struct myr_link_options *opt;
	struct myr_diag *diag;
	unsigned errors;
	int oom, too_big;

	struct elf_obj *objs;
	uint32_t **symmap;      /* per object: symbol index -> gsym, globals */

	struct gsym *g;
	uint32_t ng, capg;
	struct strset gset;

	const char **groups;    /* comdat signatures kept */
	uint32_t ngroups, capgroups;
	struct strset groupset;

	uint64_t segsize[MYR_SEG_COUNT];
	uint32_t segalign[MYR_SEG_COUNT];   /* log2 */
	uint8_t *buf[MYR_SEG_COUNT];

	uint64_t init_off, fini_off;
	uint32_t init_count, fini_count;
	uint64_t got_base, stub_base;
	struct got_slot *got;
	uint32_t ngot, capgot;
	uint32_t *stubs;        /* GOT slot each stub jumps through */
	uint32_t nstubs, capstubs;

	struct myr_reloc *rel;
	size_t nrel, caprel;
	struct myr_desc_import *imp;
	size_t nimp, capimp;
	struct myr_desc_export *exp;
	size_t nexp;
	struct myr_desc_dep *deps;
	size_t ndeps;
	int host_dep;           /* index of the host dependency, or -1 */
	struct myr_module_desc desc;
};

__attribute__((format(printf, 2, 3)))
static void report(struct myr_elf_link *l, const char *fmt, ...)
{
	char line[MYR_ERROR_MSG_MAX * 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	l->errors++;
	myr_diag_emitf(l->diag, "%s", line);
}

static int grow(void **arr, uint32_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? (size_t)*cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	if (ncap > UINT32_MAX)
		return -ENOMEM;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = (uint32_t)ncap;
	return 0;
}

static int grow_size(void **arr, size_t *cap, size_t need, size_t elem)
{
	uint32_t c = (uint32_t)*cap;
	if (*cap > UINT32_MAX)
		return need <= *cap ? 0 : -ENOMEM;
	int ret = grow(arr, &c, need, elem);
	*cap = c;
	return ret;
}

/* ------------------------------------------------------------------ */
/* String sets over an array of names                                   */
/* ------------------------------------------------------------------ */

typedef const char *(*name_at_fn)(const struct myr_elf_link *l, uint32_t i);

static const char *gsym_name_at(const struct myr_elf_link *l, uint32_t i)
{
	return l->g[i].name;
}

static const char *group_name_at(const struct myr_elf_link *l, uint32_t i)
{
	return l->groups[i];
}

static uint32_t str_hash(const char *s)
{
	return myr_symbol_hash(s, (uint32_t)strlen(s));
}

/* Index of name in set, or NONE32; *pos gets the empty slot to insert at. */
static uint32_t strset_find(const struct myr_elf_link *l, const struct strset *set,
			    name_at_fn at, const char *name, uint32_t hash,
			    uint32_t *pos)
{
	if (!set->cap) {
		*pos = NONE32;
		return NONE32;
	}
	uint32_t mask = set->cap - 1;
	for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
		if (!set->slot[i]) {
			*pos = i;
			return NONE32;
		}
		if (strcmp(at(l, set->slot[i] - 1), name) == 0)
			return set->slot[i] - 1;
	}
}

/* Make room for one more of n entries; rehash when half full. */
static int strset_reserve(const struct myr_elf_link *l, struct strset *set,
			  name_at_fn at, uint32_t n)
{
	if ((uint64_t)(n + 1) * 2 <= set->cap)
		return 0;
	uint32_t ncap = set->cap ? set->cap * 2 : 64;
	if (ncap == 0 || ncap > (1u << 30))
		return -ENOMEM;
	uint32_t *slot = calloc(ncap, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = str_hash(at(l, i)) & (ncap - 1);
		while (slot[j])
			j = (j + 1) & (ncap - 1);
		slot[j] = i + 1;
	}
	free(set->slot);
	set->slot = slot;
	set->cap = ncap;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Phase 2: sections                                                    */
/* ------------------------------------------------------------------ */

/* name is prefix itself or prefix followed by ".suffix"; *suffix gets it. */
static int name_is(const char *name, const char *prefix, const char **suffix)
{
	size_t n = strlen(prefix);
	if (strncmp(name, prefix, n) != 0)
		return 0;
	if (name[n] == '\0') {
		if (suffix)
			*suffix = NULL;
		return 1;
	}
	if (name[n] != '.')
		return 0;
	if (suffix)
		*suffix = name + n + 1;
	return 1;
}

/* The priority in ".init_array.NNNNN"; 65536 (after all) if none. */
static uint32_t parse_prio(const char *suffix)
{
	uint32_t v = 0;
	if (!suffix || !*suffix)
		return 65536;
	for (const char *p = suffix; *p; p++) {
		if (*p < '0' || *p > '9' || p - suffix >= 5)
			return 65536;
		v = v * 10 + (uint32_t)(*p - '0');
	}
	return v <= 65535 ? v : 65536;
}

/* Whether any relocation of s needs an absolute address at run time. */
static int has_abs_reloc(const struct elf_obj *o, const struct elf_section *s)
{
	if (!s->rela)
		return 0;
	const struct elf_section *rs = &o->secs[s->rela];
	for (uint64_t k = 0; k < elf_obj_rela_count(rs); k++) {
		Elf64_Rela r;
		Elf64_Sym sym;
		myri_elf_obj_rela(o, rs, k, &r);
		if (myr_arch_rel_classify(ELF64_R_TYPE(r.r_info)) != MYR_ARCH_REL_ABS64)
			continue;
		myri_elf_obj_sym(o, ELF64_R_SYM(r.r_info), &sym);
		if (ELF64_R_SYM(r.r_info) != 0 && sym.st_shndx != SHN_ABS)
			return 1;
	}
	return 0;
}

static void classify_section(struct myr_elf_link *l, struct elf_obj *o,
			     uint32_t i)
{
	struct elf_section *s = &o->secs[i];
	const char *suffix;

	s->role = ELF_ROLE_DROP;
	if (s->type == SHT_RELA || s->type == SHT_SYMTAB ||
	    s->type == SHT_STRTAB || s->type == SHT_GROUP) {
		s->role = ELF_ROLE_META;
		return;
	}
	if (!(s->flags & SHF_ALLOC) || s->discarded)
		return;
	/* Unwind tables and notes are not needed to run a module; see
	 * docs/link.md ("What is dropped"). */
	if (name_is(s->name, ".eh_frame", NULL) || s->type == 0x70000001u /* SHT_X86_64_UNWIND */ ||
	    s->type == SHT_NOTE || name_is(s->name, ".note", NULL) ||
	    strncmp(s->name, ".note.", 6) == 0)
		return;
	if (s->flags & SHF_TLS) {
		report(l, "%s: section %s: thread-local storage is unsupported",
		       o->label, s->name);
		return;
	}
	if (s->type == SHT_PREINIT_ARRAY || name_is(s->name, ".preinit_array", NULL)) {
		report(l, "%s: section %s: .preinit_array is unsupported",
		       o->label, s->name);
		return;
	}
	if ((s->flags & SHF_EXECINSTR) && (s->flags & SHF_WRITE)) {
		report(l, "%s: section %s is both writable and executable (W^X)",
		       o->label, s->name);
		return;
	}
	if (s->addralign > (1u << MYR_ALIGN_LOG2_MAX)) {
		report(l, "%s: section %s: alignment %llu over the limit "
		       "MYR_ALIGN_LOG2_MAX (%u bytes)", o->label, s->name,
		       (unsigned long long)s->addralign, 1u << MYR_ALIGN_LOG2_MAX);
		return;
	}

	int init = 0, fini = 0;
	if (s->type == SHT_INIT_ARRAY || name_is(s->name, ".init_array", &suffix)) {
		init = 1;
		if (name_is(s->name, ".init_array", &suffix))
			s->prio = parse_prio(suffix);
	} else if (s->type == SHT_FINI_ARRAY || name_is(s->name, ".fini_array", &suffix)) {
		fini = 1;
		if (name_is(s->name, ".fini_array", &suffix))
			s->prio = parse_prio(suffix);
	} else if (name_is(s->name, ".ctors", &suffix) || name_is(s->name, ".dtors", &suffix)) {
		/* .ctors.N holds priority 65535 - N, run backwards. */
		init = s->name[1] == 'c';
		fini = !init;
		s->reversed = 1;
		uint32_t p = parse_prio(suffix);
		s->prio = p <= 65535 ? 65535 - p : 65536;
	}
	if (init || fini) {
		if (s->type == SHT_NOBITS || s->size % 8) {
			report(l, "%s: section %s: size %llu is not a whole number "
			       "of 8-byte pointers", o->label, s->name,
			       (unsigned long long)s->size);
			return;
		}
		s->role = init ? ELF_ROLE_INIT : ELF_ROLE_FINI;
		s->seg = MYR_SEG_RELRO;
		return;
	}
	if (s->type == SHT_NOBITS) {
		s->role = ELF_ROLE_SEGMENT;
		s->seg = MYR_SEG_BSS;
		return;
	}
	if (s->type != SHT_PROGBITS) {
		report(l, "%s: section %s: allocated section of type %#x is unsupported",
		       o->label, s->name, s->type);
		return;
	}
	s->role = ELF_ROLE_SEGMENT;
	if (s->flags & SHF_EXECINSTR)
		s->seg = MYR_SEG_TEXT;
	else if (name_is(s->name, ".data.rel.ro", NULL))
		s->seg = MYR_SEG_RELRO;
	else if (s->flags & SHF_WRITE)
		s->seg = MYR_SEG_DATA;
	else if (has_abs_reloc(o, s))
		/* Read-only data holding pointers: relocated, then sealed. */
		s->seg = MYR_SEG_RELRO;
	else
		s->seg = MYR_SEG_RODATA;
}

/* Comdat groups: the first object to bring a signature keeps its members. */
static int select_groups(struct myr_elf_link *l, struct elf_obj *o)
{
	for (uint32_t i = 1; i < o->shnum; i++) {
		const struct elf_section *gs = &o->secs[i];
		uint32_t flags, pos;
		Elf64_Sym sym;
		if (gs->type != SHT_GROUP)
			continue;
		memcpy(&flags, o->data + gs->offset, 4);
		if (!(flags & GRP_COMDAT))
			continue;
		myri_elf_obj_sym(o, gs->info, &sym);
		const char *sig = myri_elf_obj_sym_name(o, &sym);
		if (strset_reserve(l, &l->groupset, group_name_at, l->ngroups))
			return -ENOMEM;
		if (strset_find(l, &l->groupset, group_name_at, sig, str_hash(sig), &pos) != NONE32) {
			for (uint64_t k = 1; k < gs->size / 4; k++) {
				uint32_t m;
				memcpy(&m, o->data + gs->offset + 4 * k, 4);
				o->secs[m].discarded = 1;
			}
			continue;
		}
		if (grow((void **)&l->groups, &l->capgroups, l->ngroups + 1, sizeof(*l->groups)))
			return -ENOMEM;
		l->groups[l->ngroups] = sig;
		l->groupset.slot[pos] = ++l->ngroups;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Phase 3: global symbols                                              */
/* ------------------------------------------------------------------ */

/* A prefix of name safe to print on one line. */
static void printable(char *dst, size_t size, const char *name)
{
	size_t i = 0;
	for (; name[i] && i + 4 < size; i++)
		dst[i] = (name[i] > ' ' && name[i] < 0x7f) ? name[i] : '?';
	if (name[i]) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
}

static int vis_rank(uint8_t vis)
{
	switch (vis) {
	case STV_INTERNAL:  return 3;
	case STV_HIDDEN:    return 2;
	case STV_PROTECTED: return 1;
	default:            return 0;
	}
}

/* Whether a symbol's definition is in a section this link keeps. */
static int def_kept(const struct elf_obj *o, const Elf64_Sym *sym)
{
	if (sym->st_shndx == SHN_UNDEF)
		return 0;
	if (sym->st_shndx == SHN_ABS || sym->st_shndx == SHN_COMMON)
		return 1;
	return !o->secs[sym->st_shndx].discarded;
}

static int add_globals(struct myr_elf_link *l, uint32_t oi)
{
	struct elf_obj *o = &l->objs[oi];
	uint32_t *map = l->symmap[oi];

	for (uint32_t i = o->first_global; i < o->nsyms; i++) {
		Elf64_Sym sym;
		myri_elf_obj_sym(o, i, &sym);
		const char *name = myri_elf_obj_sym_name(o, &sym);
		int type = ELF64_ST_TYPE(sym.st_info);
		int bind = ELF64_ST_BIND(sym.st_info);
		uint32_t pos, len = (uint32_t)strlen(name), hash;

		map[i] = NONE32;
		if (!*name) {
			report(l, "%s: global symbol %u has no name", o->label, i);
			continue;
		}
		if (!myr_symbol_name_valid(name, len)) {
			char shown[48];
			printable(shown, sizeof(shown), name);
			report(l, "%s: symbol %u: name '%s' (%u bytes) is invalid: "
			       "spaces or control characters, or over the limit "
			       "MYR_SYMBOL_MAX (%u)", o->label, i, shown, len,
			       MYR_SYMBOL_MAX);
			continue;
		}
		if (bind != STB_GLOBAL && bind != STB_WEAK) {
			report(l, "%s: symbol '%s': binding %d is unsupported",
			       o->label, name, bind);
			continue;
		}
		hash = myr_symbol_hash(name, len);
		if (strset_reserve(l, &l->gset, gsym_name_at, l->ng))
			return -ENOMEM;
		uint32_t gi = strset_find(l, &l->gset, gsym_name_at, name, hash, &pos);
		if (gi == NONE32) {
			if (grow((void **)&l->g, &l->capg, l->ng + 1, sizeof(*l->g)))
				return -ENOMEM;
			gi = l->ng++;
			l->gset.slot[pos] = gi + 1;
			l->g[gi] = (struct gsym){ .name = name, .len = len, .hash = hash,
				.state = G_UNDEF, .vis = STV_DEFAULT, .seg = MYR_SEG_NONE,
				.import = NONE32, .got = NONE32, .stub = NONE32 };
		}
		map[i] = gi;
		struct gsym *g = &l->g[gi];
		uint8_t vis = ELF64_ST_VISIBILITY(sym.st_other);
		if (vis_rank(vis) > vis_rank(g->vis))
			g->vis = vis;

		if (!def_kept(o, &sym)) {
			if (bind != STB_WEAK)
				g->strong_ref = 1;
			continue;
		}
		if (type == STT_GNU_IFUNC || type == STT_TLS) {
			report(l, "%s: symbol '%s': %s symbols are unsupported", o->label,
			       name, type == STT_TLS ? "thread-local (TLS)" : "IFUNC");
			continue;
		}
		uint8_t state = sym.st_shndx == SHN_COMMON ? G_COMMON :
				bind == STB_WEAK ? G_WEAK : G_DEF;
		if (state == G_DEF && g->state == G_DEF) {
			report(l, "%s: duplicate symbol '%s' (also defined in %s)",
			       o->label, name, l->objs[g->obj].label);
			continue;
		}
		if (state == G_COMMON && g->state == G_COMMON) {
			/* Merge tentative definitions: the largest size and
			 * alignment win, as in a traditional linker. */
			if (sym.st_size > g->size)
				g->size = sym.st_size;
			if (sym.st_value > g->value)
				g->value = sym.st_value;
			continue;
		}
		/* COMMON < WEAK < DEF, except a weak one never displaces
		 * COMMON storage someone else may have sized. */
		if (state > g->state && !(state == G_WEAK && g->state == G_COMMON)) {
			g->state = state;
			g->obj = oi;
			g->sec = sym.st_shndx;
			g->value = sym.st_value;
			g->size = sym.st_size;
			g->type = (uint8_t)type;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Phase 4: layout                                                      */
/* ------------------------------------------------------------------ */

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return a > 1 ? (v + a - 1) & ~(a - 1) : v;
}

static uint8_t log2_of(uint64_t a)
{
	uint8_t n = 0;
	while (a > 1) {
		a >>= 1;
		n++;
	}
	return n;
}

/* Append size bytes aligned to align to segment seg; return the offset. */
static uint64_t place(struct myr_elf_link *l, unsigned seg, uint64_t size,
		      uint64_t align)
{
	uint64_t off = align_up(l->segsize[seg], align);
	if (log2_of(align) > l->segalign[seg])
		l->segalign[seg] = log2_of(align);
	/* Sections come from files far smaller than 2^63: no overflow. */
	l->segsize[seg] = off + size;
	return off;
}

struct array_sec {
	uint32_t obj, sec, prio;
	uint64_t order;
};

static int array_cmp(const void *a, const void *b)
{
	const struct array_sec *x = a, *y = b;
	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Lay out the init (role ELF_ROLE_INIT) or fini array in priority order. */
static int layout_array(struct myr_elf_link *l, uint8_t role, uint64_t *off,
			uint32_t *count)
{
	size_t n = 0, k = 0;
	for (size_t oi = 0; oi < l->opt->nobjs; oi++)
		for (uint32_t i = 1; i < l->objs[oi].shnum; i++)
			n += l->objs[oi].secs[i].role == role;
	struct array_sec *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t oi = 0; oi < l->opt->nobjs; oi++)
		for (uint32_t i = 1; i < l->objs[oi].shnum; i++)
			if (l->objs[oi].secs[i].role == role) {
				/* k is the input order: qsort is not stable. */
				v[k] = (struct array_sec){ (uint32_t)oi, i,
					l->objs[oi].secs[i].prio, k };
				k++;
			}
	qsort(v, n, sizeof(*v), array_cmp);
	*off = place(l, MYR_SEG_RELRO, 0, n ? 8 : 1);
	for (size_t j = 0; j < n; j++) {
		struct elf_section *s = &l->objs[v[j].obj].secs[v[j].sec];
		s->out_off = place(l, MYR_SEG_RELRO, s->size, 8);
	}
	uint64_t entries = (l->segsize[MYR_SEG_RELRO] - *off) / 8;
	free(v);
	if (entries > MYR_INIT_FUNCS_MAX) {
		report(l, "%s array has %llu entries, over the limit MYR_INIT_FUNCS_MAX (%u)",
		       role == ELF_ROLE_INIT ? "init" : "fini",
		       (unsigned long long)entries, MYR_INIT_FUNCS_MAX);
		entries = 0;
	}
	*count = (uint32_t)entries;
	return 0;
}

static int layout(struct myr_elf_link *l)
{
	if (layout_array(l, ELF_ROLE_INIT, &l->init_off, &l->init_count) ||
	    layout_array(l, ELF_ROLE_FINI, &l->fini_off, &l->fini_count))
		return -ENOMEM;
	for (unsigned seg = 0; seg < MYR_SEG_COUNT; seg++) {
		for (size_t oi = 0; oi < l->opt->nobjs; oi++) {
			struct elf_obj *o = &l->objs[oi];
			for (uint32_t i = 1; i < o->shnum; i++) {
				struct elf_section *s = &o->secs[i];
				if (s->role != ELF_ROLE_SEGMENT || s->seg != seg)
					continue;
				s->out_off = place(l, seg, s->size, s->addralign);
				if (l->segsize[seg] > MYR_SEGMENT_MAX)
					goto too_big;
			}
		}
		if (l->segsize[seg] > MYR_SEGMENT_MAX) {
too_big:
			report(l, "%s exceeds the limit MYR_SEGMENT_MAX (%u bytes)",
			       seg_names[seg], MYR_SEGMENT_MAX);
			l->too_big = 1;
			return 0;
		}
	}
	/* COMMON symbols get BSS storage after the .bss sections. */
	for (uint32_t gi = 0; gi < l->ng; gi++) {
		struct gsym *g = &l->g[gi];
		if (g->state != G_COMMON)
			continue;
		uint64_t a = g->value ? g->value : 1;
		if ((a & (a - 1)) || a > (1u << MYR_ALIGN_LOG2_MAX) || g->size > MYR_SEGMENT_MAX) {
			report(l, "%s: COMMON symbol '%s': alignment %llu or size %llu "
			       "out of range", l->objs[g->obj].label, g->name,
			       (unsigned long long)a, (unsigned long long)g->size);
			continue;
		}
		g->seg = MYR_SEG_BSS;
		g->off = place(l, MYR_SEG_BSS, g->size, a);
		if (l->segsize[MYR_SEG_BSS] > MYR_SEGMENT_MAX) {
			report(l, "bss exceeds the limit MYR_SEGMENT_MAX (%u bytes)",
			       MYR_SEGMENT_MAX);
			l->too_big = 1;
			return 0;
		}
	}
	l->got_base = align_up(l->segsize[MYR_SEG_RELRO], 8);
	l->stub_base = align_up(l->segsize[MYR_SEG_TEXT], 1u << MYR_ARCH_STUB_ALIGN_LOG2);
	return 0;
}

/* Where a section's byte r_offset ends up (.ctors/.dtors run backwards). */
static uint64_t out_offset(const struct elf_section *s, uint64_t r_offset)
{
	if (!s->reversed)
		return s->out_off + r_offset;
	uint64_t entry = r_offset / 8 * 8;
	return s->out_off + (s->size - 8 - entry) + (r_offset - entry);
}

static void resolve_definitions(struct myr_elf_link *l)
{
	for (uint32_t gi = 0; gi < l->ng; gi++) {
		struct gsym *g = &l->g[gi];
		if (g->state != G_DEF && g->state != G_WEAK)
			continue;
		if (g->sec == SHN_ABS) {
			g->seg = MYR_SEG_NONE;
			g->off = g->value;
			continue;
		}
		const struct elf_section *s = &l->objs[g->obj].secs[g->sec];
		if (s->role == ELF_ROLE_SEGMENT || s->role == ELF_ROLE_INIT ||
		    s->role == ELF_ROLE_FINI) {
			g->seg = s->role == ELF_ROLE_SEGMENT ? s->seg : MYR_SEG_RELRO;
			g->off = out_offset(s, g->value);
		} else {
			/* Defined in a section that is not loaded; an error
			 * only if something uses it. */
			g->seg = MYR_SEG_NONE;
			g->bound = 2;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Phase 5: relocations                                                 */
/* ------------------------------------------------------------------ */

static int add_import(struct myr_elf_link *l, struct gsym *g, uint32_t dep,
		      uint32_t hint)
{
	if (grow_size((void **)&l->imp, &l->capimp, l->nimp + 1, sizeof(*l->imp)))
		return -ENOMEM;
	l->imp[l->nimp] = (struct myr_desc_import){ g->name, dep, hint };
	g->import = (uint32_t)l->nimp++;
	return 0;
}

/*
 * Find each undefined symbol's providers: one pass over every export of
 * every --needs module, each a lookup in the symbol table, so the cost is
 * the size of the dependencies' export tables whatever the number of
 * dependencies and symbols (searching each dependency for each symbol
 * would be their product: 10^8 lookups for a program with 10,000
 * dependencies importing one symbol from each).  Optional dependencies
 * provide nothing: they may be absent at run time.
 */
static void find_providers(struct myr_elf_link *l)
{
	const struct myr_link_options *opt = l->opt;

	for (uint32_t i = 0; i < l->ng; i++)
		l->g[i].prov_dep = l->g[i].prov_exp = l->g[i].clash_dep = NONE32;
	for (size_t d = 0; d < opt->ndeps; d++) {
		const struct myr_module_view *v = opt->deps[d].view;
		if (opt->deps[d].flags & MYR_DEP_OPTIONAL)
			continue;
		for (uint32_t e = 0; e < v->hdr->exports.count; e++) {
			const struct myr_export *x = &v->exports[e];
			uint32_t pos, gi = strset_find(l, &l->gset, gsym_name_at,
						       myr_view_str(v, x->name_off),
						       x->hash, &pos);
			if (gi == NONE32 || l->g[gi].state != G_UNDEF)
				continue;
			struct gsym *g = &l->g[gi];
			if (g->prov_dep == NONE32) {
				g->prov_dep = (uint32_t)d;
				g->prov_exp = e;
			} else if (g->clash_dep == NONE32) {
				g->clash_dep = (uint32_t)d;
			}
		}
	}
}

/* Bind an undefined global to a dependency; 0 if bound or left weak. */
static int bind_symbol(struct myr_elf_link *l, struct gsym *g, const char *where)
{
	const struct myr_link_options *opt = l->opt;

	if (g->vis != STV_DEFAULT && g->vis != STV_PROTECTED) {
		report(l, "%s: hidden symbol '%s' is not defined in this module",
		       where, g->name);
		return -EINVAL;
	}
	if (g->clash_dep != NONE32) {
		report(l, "symbol '%s' is exported by both %s and %s",
		       g->name, opt->deps[g->prov_dep].label,
		       opt->deps[g->clash_dep].label);
		return -EINVAL;
	}
	if (g->prov_dep != NONE32)
		return add_import(l, g, g->prov_dep, g->prov_exp);
	for (size_t h = 0; h < opt->nhost; h++) {
		if (strcmp(opt->host_names[h], g->name) != 0)
			continue;
		if (l->host_dep < 0)
			l->host_dep = (int)opt->ndeps;
		g->far = 1;
		return add_import(l, g, (uint32_t)l->host_dep, (uint32_t)h);
	}
	if (!g->strong_ref)
		return 0;               /* undefined weak: address 0 */
	if (opt->nhost)
		report(l, "%s: undefined symbol '%s': no --needs module exports "
		       "it and it is missing from the host module (libc), see "
		       "docs/host.md", where, g->name);
	else
		report(l, "%s: undefined symbol '%s'", where, g->name);
	return -EINVAL;
}

static const char *sym_label(const struct elf_obj *o, uint32_t symi)
{
	Elf64_Sym sym;
	if (symi == 0)
		return "(no symbol)";
	myri_elf_obj_sym(o, symi, &sym);
	return myri_elf_obj_sym_name(o, &sym);
}

/* Resolve the symbol of a relocation; 0, or -EINVAL once reported. */
static int resolve_target(struct myr_elf_link *l, uint32_t oi, uint32_t symi,
			  const char *where, struct target *t)
{
	const struct elf_obj *o = &l->objs[oi];
	Elf64_Sym sym;

	memset(t, 0, sizeof(*t));
	t->g = NONE32;
	if (symi == 0) {
		t->kind = T_ABS;
		return 0;
	}
	myri_elf_obj_sym(o, symi, &sym);
	int type = ELF64_ST_TYPE(sym.st_info);
	if (symi >= o->first_global) {
		uint32_t gi = l->symmap[oi][symi];
		if (gi == NONE32)
			return -EINVAL;         /* already reported */
		struct gsym *g = &l->g[gi];
		t->g = gi;
		if (g->state == G_UNDEF) {
			if (!g->bound) {
				int ret = bind_symbol(l, g, where);
				g->bound = ret ? 2 : 1;
				if (ret == -ENOMEM)
					return ret;
			}
			if (g->bound == 2)
				return -EINVAL;
			if (g->import == NONE32) {
				t->kind = T_ZERO;
				return 0;
			}
			t->kind = T_IMPORT;
			t->import = g->import;
			t->far = g->far;
			return 0;
		}
		if (g->bound == 2) {
			report(l, "%s: symbol '%s' is defined in a section that is "
			       "not loaded", where, g->name);
			g->bound = 3;
			return -EINVAL;
		} else if (g->bound == 3) {
			return -EINVAL;
		}
		t->kind = g->seg == MYR_SEG_NONE ? T_ABS : T_SEG;
		t->seg = g->seg;
		t->off = g->off;
		return 0;
	}
	if (type == STT_TLS || type == STT_GNU_IFUNC) {
		report(l, "%s: symbol '%s': %s symbols are unsupported", where,
		       myri_elf_obj_sym_name(o, &sym), type == STT_TLS ? "TLS" : "IFUNC");
		return -EINVAL;
	}
	if (sym.st_shndx == SHN_ABS) {
		t->kind = T_ABS;
		t->off = sym.st_value;
		return 0;
	}
	if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_COMMON) {
		report(l, "%s: local symbol '%s' is undefined or COMMON", where,
		       myri_elf_obj_sym_name(o, &sym));
		return -EINVAL;
	}
	const struct elf_section *s = &o->secs[sym.st_shndx];
	if (s->role != ELF_ROLE_SEGMENT && s->role != ELF_ROLE_INIT &&
	    s->role != ELF_ROLE_FINI) {
		report(l, "%s: symbol '%s' lies in section %s, which is %s",
		       where, myri_elf_obj_sym_name(o, &sym), s->name,
		       s->discarded ? "a discarded comdat duplicate" : "not loaded");
		return -EINVAL;
	}
	t->kind = T_SEG;
	t->seg = s->role == ELF_ROLE_SEGMENT ? s->seg : MYR_SEG_RELRO;
	t->off = out_offset(s, sym.st_value);
	return 0;
}

static int emit(struct myr_elf_link *l, uint8_t type, uint8_t site_seg,
		uint64_t site_off, const struct target *t, int64_t addend,
		const char *where, const char *rname)
{
	if (addend < INT32_MIN || addend > INT32_MAX) {
		report(l, "%s: %s addend %lld does not fit in 32 bits", where, rname,
		       (long long)addend);
		return -EINVAL;
	}
	if (grow_size((void **)&l->rel, &l->caprel, l->nrel + 1, sizeof(*l->rel)))
		return -ENOMEM;
	struct myr_reloc *r = &l->rel[l->nrel++];
	memset(r, 0, sizeof(*r));
	r->site_off = (uint32_t)site_off;
	r->site_seg = site_seg;
	r->type = type;
	if (t->kind == T_IMPORT) {
		r->target_seg = MYR_TARGET_IMPORT;
		r->target = t->import;
	} else {
		r->target_seg = t->seg;
		r->target = (uint32_t)t->off;
	}
	r->addend = (int32_t)addend;
	return 0;
}

static uint32_t got_slot(struct myr_elf_link *l, const struct target *t)
{
	if (t->g != NONE32 && l->g[t->g].got != NONE32)
		return l->g[t->g].got;
	if (grow((void **)&l->got, &l->capgot, l->ngot + 1, sizeof(*l->got)))
		return NONE32;
	l->got[l->ngot].t = *t;
	if (t->g != NONE32)
		l->g[t->g].got = l->ngot;
	return l->ngot++;
}

static uint32_t stub_for(struct myr_elf_link *l, const struct target *t)
{
	if (t->g != NONE32 && l->g[t->g].stub != NONE32)
		return l->g[t->g].stub;
	uint32_t slot = got_slot(l, t);
	if (slot == NONE32 ||
	    grow((void **)&l->stubs, &l->capstubs, l->nstubs + 1, sizeof(*l->stubs)))
		return NONE32;
	l->stubs[l->nstubs] = slot;
	if (t->g != NONE32)
		l->g[t->g].stub = l->nstubs;
	return l->nstubs++;
}

/* A PC-relative 32-bit reference from (site_seg, site) to t. */
static int pc32(struct myr_elf_link *l, uint8_t site_seg, uint64_t site,
		const struct target *t, int64_t addend, const char *where,
		const char *rname)
{
	if (t->kind == T_SEG && t->seg == site_seg) {
		/* Both ends in one segment, which is placed as a unit. */
		int64_t v;
		/* off and site are segment offsets (< 2^32): only a hostile
		 * addend can overflow, and it must not wrap into range. */
		if (__builtin_add_overflow((int64_t)t->off - (int64_t)site, addend, &v) ||
		    v < INT32_MIN || v > INT32_MAX) {
			report(l, "%s: %s displacement out of 32-bit range (addend %lld)",
			       where, rname, (long long)addend);
			return -EINVAL;
		}
		myr_arch_put32(l->buf[site_seg] + site, (uint32_t)v);
		return 0;
	}
	if (t->kind == T_ABS || t->kind == T_ZERO) {
		report(l, "%s: %s against %s symbol cannot be position-independent",
		       where, rname, t->kind == T_ABS ? "an absolute" :
		       "an undefined weak");
		return -EINVAL;
	}
	return emit(l, MYR_REL_PC32, site_seg, site, t, addend, where, rname);
}

static int apply_one(struct myr_elf_link *l, uint32_t oi,
		     const struct elf_section *s, const Elf64_Rela *r)
{
	const struct elf_obj *o = &l->objs[oi];
	uint32_t type = ELF64_R_TYPE(r->r_info), symi = ELF64_R_SYM(r->r_info);
	enum myr_arch_rel_class cls = myr_arch_rel_classify(type);
	const char *rname = myr_arch_rel_name(type);
	char where[MYR_ERROR_MSG_MAX];
	struct target t;
	uint8_t seg = s->seg;
	uint64_t site = out_offset(s, r->r_offset);
	int64_t a = r->r_addend;
	int ret;

	snprintf(where, sizeof(where), "%s: %s+%#llx", o->label, s->name,
		 (unsigned long long)r->r_offset);
	if (cls == MYR_ARCH_REL_NONE)
		return 0;
	if (cls == MYR_ARCH_REL_UNSUPPORTED) {
		const char *advice = myr_arch_rel_advice(type);
		report(l, "%s: relocation %s (type %u) against '%s' is unsupported%s%s",
		       where, rname, type, sym_label(o, symi),
		       advice ? ": " : "", advice ? advice : "");
		return -EINVAL;
	}
	ret = resolve_target(l, oi, symi, where, &t);
	if (ret)
		return ret;
	uint8_t *p = l->buf[seg] + site;

	switch (cls) {
	case MYR_ARCH_REL_ABS64:
		if (t.kind == T_ABS || t.kind == T_ZERO) {
			myr_arch_put64(p, t.off + (uint64_t)a);
			return 0;
		}
		if (seg != MYR_SEG_RELRO && seg != MYR_SEG_DATA) {
			report(l, "%s: text relocation %s against '%s': compile with -fPIC",
			       where, rname, sym_label(o, symi));
			return -EINVAL;
		}
		return emit(l, MYR_REL_ABS64, seg, site, &t, a, where, rname);
	case MYR_ARCH_REL_ABS32:
	case MYR_ARCH_REL_ABS32S: {
		if (t.kind != T_ABS) {
			report(l, "%s: %s against '%s' needs an absolute address: "
			       "compile with -fPIC", where, rname, sym_label(o, symi));
			return -EINVAL;
		}
		uint64_t v = t.off + (uint64_t)a;
		int ok = cls == MYR_ARCH_REL_ABS32 ? v <= UINT32_MAX :
			 ((int64_t)v >= INT32_MIN && (int64_t)v <= INT32_MAX);
		if (!ok) {
			report(l, "%s: %s value %#llx against '%s' out of range",
			       where, rname, (unsigned long long)v, sym_label(o, symi));
			return -EINVAL;
		}
		myr_arch_put32(p, (uint32_t)v);
		return 0;
	}
	case MYR_ARCH_REL_PC32:
		return pc32(l, seg, site, &t, a, where, rname);
	case MYR_ARCH_REL_CALL32:
		if ((t.kind == T_IMPORT && t.far) || t.kind == T_ZERO) {
			uint32_t stub = stub_for(l, &t);
			if (stub == NONE32)
				return -ENOMEM;
			struct target st = { .kind = T_SEG, .seg = MYR_SEG_TEXT,
				.off = l->stub_base + (uint64_t)stub * MYR_ARCH_STUB_SIZE,
				.g = NONE32 };
			return pc32(l, seg, site, &st, a, where, rname);
		}
		return pc32(l, seg, site, &t, a, where, rname);
	case MYR_ARCH_REL_GOTPC32_RELAXABLE:
	case MYR_ARCH_REL_GOTPC32: {
		uint64_t nsite;
		int64_t na;
		if (cls == MYR_ARCH_REL_GOTPC32_RELAXABLE && !s->reversed &&
		    (t.kind == T_SEG || (t.kind == T_IMPORT && !t.far)) &&
		    myr_arch_got_relax(l->buf[seg] + s->out_off, s->size,
				       r->r_offset, a, &nsite, &na))
			return pc32(l, seg, s->out_off + nsite, &t, na, where, rname);
		uint32_t slot = got_slot(l, &t);
		if (slot == NONE32)
			return -ENOMEM;
		struct target gt = { .kind = T_SEG, .seg = MYR_SEG_RELRO,
			.off = l->got_base + (uint64_t)slot * 8, .g = NONE32 };
		return pc32(l, seg, site, &gt, a, where, rname);
	}
	default:
		report(l, "%s: relocation %s is unsupported", where, rname);
		return -EINVAL;
	}
}

static int copy_and_relocate(struct myr_elf_link *l)
{
	for (unsigned seg = 0; seg < MYR_SEG_BSS; seg++) {
		l->buf[seg] = calloc(l->segsize[seg] ? l->segsize[seg] : 1, 1);
		if (!l->buf[seg])
			return -ENOMEM;
	}
	for (size_t oi = 0; oi < l->opt->nobjs; oi++) {
		struct elf_obj *o = &l->objs[oi];
		for (uint32_t i = 1; i < o->shnum; i++) {
			struct elf_section *s = &o->secs[i];
			if (s->role != ELF_ROLE_SEGMENT && s->role != ELF_ROLE_INIT &&
			    s->role != ELF_ROLE_FINI)
				continue;
			if (s->type == SHT_NOBITS)
				continue;
			uint8_t *dst = l->buf[s->seg] + s->out_off;
			if (!s->reversed) {
				memcpy(dst, o->data + s->offset, s->size);
			} else {
				for (uint64_t k = 0; k < s->size; k += 8)
					memcpy(dst + s->size - 8 - k, o->data + s->offset + k, 8);
			}
		}
	}
	for (size_t oi = 0; oi < l->opt->nobjs; oi++) {
		struct elf_obj *o = &l->objs[oi];
		for (uint32_t i = 1; i < o->shnum; i++) {
			const struct elf_section *s = &o->secs[i];
			if ((s->role != ELF_ROLE_SEGMENT && s->role != ELF_ROLE_INIT &&
			     s->role != ELF_ROLE_FINI) || !s->rela)
				continue;
			const struct elf_section *rs = &o->secs[s->rela];
			for (uint64_t k = 0; k < elf_obj_rela_count(rs); k++) {
				Elf64_Rela r;
				myri_elf_obj_rela(o, rs, k, &r);
				if (apply_one(l, (uint32_t)oi, s, &r) == -ENOMEM)
					return -ENOMEM;
			}
		}
	}
	return 0;
}

/* Grow segment seg to end bytes, filling the new bytes with fill. */
static int extend_segment(struct myr_elf_link *l, unsigned seg, uint64_t end,
			  int fill, uint32_t align_log2)
{
	uint8_t *b = realloc(l->buf[seg], end);
	if (!b)
		return -ENOMEM;
	memset(b + l->segsize[seg], fill, end - l->segsize[seg]);
	l->buf[seg] = b;
	l->segsize[seg] = end;
	if (l->segalign[seg] < align_log2)
		l->segalign[seg] = align_log2;
	return 0;
}

/* GOT slots at the end of RELRO, stubs at the end of TEXT. */
static int append_got_and_stubs(struct myr_elf_link *l)
{
	if (l->ngot) {
		if (extend_segment(l, MYR_SEG_RELRO, l->got_base + (uint64_t)l->ngot * 8, 0, 3))
			return -ENOMEM;
		for (uint32_t i = 0; i < l->ngot; i++) {
			const struct target *t = &l->got[i].t;
			uint64_t site = l->got_base + (uint64_t)i * 8;
			if (t->kind == T_ABS || t->kind == T_ZERO)
				myr_arch_put64(l->buf[MYR_SEG_RELRO] + site, t->off);
			else if (emit(l, MYR_REL_ABS64, MYR_SEG_RELRO, site, t, 0,
				      "GOT", "GOT slot") == -ENOMEM)
				return -ENOMEM;
		}
	}
	if (l->nstubs) {
		/* Padding before the stubs traps if ever executed. */
		if (extend_segment(l, MYR_SEG_TEXT, l->stub_base +
				   (uint64_t)l->nstubs * MYR_ARCH_STUB_SIZE, 0xcc,
				   MYR_ARCH_STUB_ALIGN_LOG2))
			return -ENOMEM;
		for (uint32_t i = 0; i < l->nstubs; i++) {
			uint64_t off = l->stub_base + (uint64_t)i * MYR_ARCH_STUB_SIZE;
			struct target gt = { .kind = T_SEG, .seg = MYR_SEG_RELRO,
				.off = l->got_base + (uint64_t)l->stubs[i] * 8, .g = NONE32 };
			myr_arch_stub_write(l->buf[MYR_SEG_TEXT] + off);
			if (emit(l, MYR_REL_PC32, MYR_SEG_TEXT, off + MYR_ARCH_STUB_DISP_OFF,
				 &gt, MYR_ARCH_STUB_DISP_ADDEND, "stub", "stub") == -ENOMEM)
				return -ENOMEM;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Phase 6: module description                                          */
/* ------------------------------------------------------------------ */

static int collect_exports(struct myr_elf_link *l)
{
	l->exp = calloc(l->ng ? l->ng : 1, sizeof(*l->exp));
	if (!l->exp)
		return -ENOMEM;
	for (uint32_t gi = 0; gi < l->ng; gi++) {
		const struct gsym *g = &l->g[gi];
		if (g->state == G_UNDEF || g->seg == MYR_SEG_NONE)
			continue;
		if (g->vis != STV_DEFAULT && g->vis != STV_PROTECTED)
			continue;
		int func = g->type == STT_FUNC ||
			   (g->type == STT_NOTYPE && g->seg == MYR_SEG_TEXT);
		l->exp[l->nexp++] = (struct myr_desc_export){ g->name,
			g->seg, func ? MYR_SYM_FUNC : MYR_SYM_OBJECT, (uint32_t)g->off };
	}
	if (l->nexp > MYR_EXPORTS_MAX)
		report(l, "%zu exports, over the limit MYR_EXPORTS_MAX (%u)",
		       l->nexp, MYR_EXPORTS_MAX);
	return 0;
}

static void find_entry(struct myr_elf_link *l)
{
	const char *name = l->opt->entry;
	uint32_t pos;
	l->desc.entry.seg = MYR_SEG_NONE;
	if (!name)
		return;
	uint32_t gi = strset_find(l, &l->gset, gsym_name_at, name, str_hash(name), &pos);
	if (gi == NONE32 || l->g[gi].state == G_UNDEF || l->g[gi].state == G_COMMON) {
		report(l, "entry symbol '%s' is not defined by the objects", name);
		return;
	}
	const struct gsym *g = &l->g[gi];
	if (g->seg != MYR_SEG_TEXT || (g->type != STT_FUNC && g->type != STT_NOTYPE)) {
		report(l, "entry symbol '%s' is not a function in the text segment", name);
		return;
	}
	l->desc.entry.seg = MYR_SEG_TEXT;
	l->desc.entry.off = (uint32_t)g->off;
}

/*
 * Dependencies: every --needs module in order (optional ones flagged), then
 * the host if used.  The closure hint is the caller's (opt->closure): only
 * a program has one, and a library's link reads nothing but its direct
 * dependencies, so linking any graph costs each module its own edges.  A
 * cycle cannot arise: every dependency existed before this module.
 */
static int build_deps(struct myr_elf_link *l)
{
	const struct myr_link_options *opt = l->opt;
	l->deps = calloc(opt->ndeps + 1, sizeof(*l->deps));
	if (!l->deps)
		return -ENOMEM;
	for (size_t d = 0; d < opt->ndeps; d++) {
		const struct myr_module_view *v = opt->deps[d].view;
		l->deps[d] = (struct myr_desc_dep){ .name = v->name,
			.ver_major = v->hdr->ver_major, .ver_minor = v->hdr->ver_minor,
			.ver_patch = v->hdr->ver_patch,
			.flags = opt->deps[d].flags & MYR_DEP_OPTIONAL };
		if (strcmp(v->name, l->opt->name ? l->opt->name : "") == 0)
			report(l, "%s: a module cannot depend on itself ('%s')",
			       opt->deps[d].label, v->name);
	}
	l->ndeps = opt->ndeps;
	if (l->host_dep >= 0)
		l->deps[l->ndeps++] = (struct myr_desc_dep){ .name = MYR_HOST_MODULE_NAME,
			.ver_major = opt->host_major, .ver_minor = opt->host_minor };
	if (l->ndeps > MYR_DEPS_MAX)
		report(l, "%zu dependencies, over the limit MYR_DEPS_MAX (%u)",
		       l->ndeps, MYR_DEPS_MAX);
	if (opt->nclosure && !opt->entry)
		report(l, "a closure hint for a library (only a program carries one)");
	if (opt->nclosure > MYR_CLOSURE_MAX)
		report(l, "closure of %zu modules, over the limit MYR_CLOSURE_MAX (%u)",
		       opt->nclosure, MYR_CLOSURE_MAX);
	return 0;
}

/* Early validation against the launcher's default pool (limits.h). */
static void check_limits(struct myr_elf_link *l)
{
	static const struct { unsigned seg; uint64_t max; const char *what, *limit; } pool[] = {
		{ MYR_SEG_TEXT, MYR_POOL_DEFAULT_TEXT, "text", "MYR_POOL_DEFAULT_TEXT" },
		{ MYR_SEG_RODATA, MYR_POOL_DEFAULT_RODATA, "rodata", "MYR_POOL_DEFAULT_RODATA" },
		{ MYR_SEG_RELRO, MYR_POOL_DEFAULT_RELRO, "relro", "MYR_POOL_DEFAULT_RELRO" },
	};
	uint64_t total = 0;
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		if (l->segsize[s] > MYR_SEGMENT_MAX)
			report(l, "%s is %llu bytes, over the limit MYR_SEGMENT_MAX (%u)",
			       seg_names[s], (unsigned long long)l->segsize[s], MYR_SEGMENT_MAX);
		total += align_up(l->segsize[s], 1ull << l->segalign[s]);
	}
	for (unsigned i = 0; i < sizeof(pool) / sizeof(pool[0]); i++)
		if (l->segsize[pool[i].seg] > pool[i].max)
			report(l, "%s is %llu bytes, over the default pool limit %s (%llu)",
			       pool[i].what, (unsigned long long)l->segsize[pool[i].seg],
			       pool[i].limit, (unsigned long long)pool[i].max);
	if (l->segsize[MYR_SEG_DATA] + l->segsize[MYR_SEG_BSS] > MYR_POOL_DEFAULT_DATA)
		report(l, "data and bss are %llu bytes, over the default pool limit "
		       "MYR_POOL_DEFAULT_DATA (%u)",
		       (unsigned long long)(l->segsize[MYR_SEG_DATA] + l->segsize[MYR_SEG_BSS]),
		       MYR_POOL_DEFAULT_DATA);
	if (total > MYR_POOL_DEFAULT_MODULE_SIZE)
		report(l, "the module needs %llu bytes in memory, over the default pool "
		       "limit MYR_POOL_DEFAULT_MODULE_SIZE (%u)",
		       (unsigned long long)total, MYR_POOL_DEFAULT_MODULE_SIZE);
	if (l->nimp > MYR_IMPORTS_MAX)
		report(l, "%zu imports, over the limit MYR_IMPORTS_MAX (%u)",
		       l->nimp, MYR_IMPORTS_MAX);
	if (l->nrel > MYR_RELOCS_MAX)
		report(l, "%zu relocations, over the limit MYR_RELOCS_MAX (%u)",
		       l->nrel, MYR_RELOCS_MAX);
}

static void fill_desc(struct myr_elf_link *l)
{
	const struct myr_link_options *opt = l->opt;
	struct myr_module_desc *d = &l->desc;

	d->name = opt->name;
	d->ver_major = opt->ver_major;
	d->ver_minor = opt->ver_minor;
	d->ver_patch = opt->ver_patch;
	d->arch = MYR_ARCH_ID;
	d->flags = opt->entry ? MYR_F_PROGRAM : 0;
	d->caps = opt->caps;
	d->shebang = opt->shebang;
	d->deps = l->deps;
	d->ndeps = l->ndeps;
	d->closure = opt->closure;
	d->nclosure = opt->nclosure;
	d->imports = l->imp;
	d->nimports = l->nimp;
	d->exports = l->exp;
	d->nexports = l->nexp;
	d->relocs = l->rel;
	d->nrelocs = l->nrel;
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		d->seg[s].data = s == MYR_SEG_BSS ? NULL : l->buf[s];
		d->seg[s].size = (uint32_t)l->segsize[s];
		d->seg[s].align_log2 = (uint8_t)l->segalign[s];
	}
	d->init = (struct myr_array_ref){ .seg = MYR_SEG_NONE };
	d->fini = (struct myr_array_ref){ .seg = MYR_SEG_NONE };
	if (l->init_count)
		d->init = (struct myr_array_ref){ .seg = MYR_SEG_RELRO,
			.off = (uint32_t)l->init_off, .count = l->init_count };
	if (l->fini_count)
		d->fini = (struct myr_array_ref){ .seg = MYR_SEG_RELRO,
			.off = (uint32_t)l->fini_off, .count = l->fini_count };
	d->compress = opt->compress;
}

static int check_options(struct myr_elf_link *l)
{
	const struct myr_link_options *opt = l->opt;
	if (!opt->name || !myr_name_valid(opt->name, strlen(opt->name)))
		report(l, "invalid module name '%s'", opt->name ? opt->name : "");
	if (opt->caps & ~MYR_CAP_KNOWN)
		report(l, "unknown capability bits %#x", opt->caps & ~MYR_CAP_KNOWN);
	if (opt->caps && !opt->entry)
		report(l, "capabilities are only meaningful for a program (use --entry)");
	if (opt->nobjs == 0)
		report(l, "no object files");
	/* Checked before binding, when nobody knows yet whether the host
	 * module will take a dependency slot: keep one for it. */
	if (opt->ndeps + 1 > MYR_DEPS_MAX)
		report(l, "%zu --needs modules, over the limit of %u "
		       "(MYR_DEPS_MAX %u, less one slot kept for the host module)",
		       opt->ndeps, MYR_DEPS_MAX - 1, MYR_DEPS_MAX);
	return l->errors ? -EINVAL : 0;
}

static int link_all(struct myr_elf_link *l)
{
	const struct myr_link_options *opt = l->opt;
	struct myr_error err;
	int ret;

	if ((ret = check_options(l)))
		return ret;
	l->objs = calloc(opt->nobjs, sizeof(*l->objs));
	l->symmap = calloc(opt->nobjs, sizeof(*l->symmap));
	if (!l->objs || !l->symmap)
		return -ENOMEM;
	for (size_t i = 0; i < opt->nobjs; i++) {
		memset(&err, 0, sizeof(err));
		ret = myri_elf_obj_load(&l->objs[i], opt->objs[i].data, opt->objs[i].size, &err);
		l->objs[i].label = opt->objs[i].label;
		if (ret == -ENOMEM)
			return ret;
		if (ret)
			report(l, "%s: %s", opt->objs[i].label, err.msg);
	}
	if (l->errors)
		return -EINVAL;

	for (size_t i = 0; i < opt->nobjs; i++) {
		struct elf_obj *o = &l->objs[i];
		if (select_groups(l, o))
			return -ENOMEM;
		for (uint32_t s = 1; s < o->shnum; s++)
			classify_section(l, o, s);
		l->symmap[i] = calloc(o->nsyms ? o->nsyms : 1, sizeof(uint32_t));
		if (!l->symmap[i] || add_globals(l, (uint32_t)i))
			return -ENOMEM;
	}
	if (l->errors)
		return -EINVAL;
	if (layout(l))
		return -ENOMEM;
	if (l->errors)
		return l->too_big ? -E2BIG : -EINVAL;
	resolve_definitions(l);
	find_providers(l);
	if (copy_and_relocate(l) || append_got_and_stubs(l) || collect_exports(l))
		return -ENOMEM;
	find_entry(l);
	if (build_deps(l))
		return -ENOMEM;
	if (l->errors)
		return -EINVAL;
	check_limits(l);
	if (l->errors)
		return -E2BIG;
	fill_desc(l);
	return 0;
}

void myr_elf_link_exit(struct myr_elf_link *l)
{
	if (!l)
		return;
	for (size_t i = 0; l->objs && i < l->opt->nobjs; i++)
		myri_elf_obj_unload(&l->objs[i]);
	for (size_t i = 0; l->symmap && i < l->opt->nobjs; i++)
		free(l->symmap[i]);
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++)
		free(l->buf[s]);
	free(l->objs);
	free(l->symmap);
	free(l->g);
	free(l->gset.slot);
	free(l->groups);
	free(l->groupset.slot);
	free(l->got);
	free(l->stubs);
	free(l->rel);
	free(l->imp);
	free(l->exp);
	free(l->deps);
	free(l);
}

int myr_elf_link_init(struct myr_elf_link **out,
		      const struct myr_link_options *opt, struct myr_diag *diag)
{
	struct myr_elf_link *l = calloc(1, sizeof(*l));
	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->opt = opt;
	l->diag = diag;
	l->host_dep = -1;
	int ret = link_all(l);
	if (ret) {
		myr_elf_link_exit(l);
		return ret;
	}
	*out = l;
	return 0;
}

const struct myr_module_desc *myr_elf_link_desc(const struct myr_elf_link *l)
{
	return &l->desc;
}

int myr_elf_link_write(const struct myr_link_options *opt, uint8_t **out,
		       size_t *out_len, struct myr_diag *diag)
{
	struct myr_elf_link *l;
	struct myr_error err;
	int ret = myr_elf_link_init(&l, opt, diag);
	if (ret)
		return ret;
	memset(&err, 0, sizeof(err));
	ret = myr_module_write(myr_elf_link_desc(l), out, out_len, &err);
	if (ret)
		myr_diag_emitf(diag, "cannot write the module: %s", err.msg);
	myr_elf_link_exit(l);
	return ret;
}
