/* SPDX-License-Identifier: MIT */
/*
 * `myriad link` on real C: tests/modules/lib_counter.c and prog_tables.c
 * (function pointer tables, string tables, a switch jump table, static and
 * global data, prioritized constructors, a destructor, a COMMON symbol and
 * calls into another module), compiled with gcc and clang at -O0 and -O2,
 * linked, parsed and inspected.  Then a minimal in-test loader places both
 * modules, applies their relocations, runs the constructors and calls the
 * entry: its result must equal the same sources linked natively, which
 * checks every relocation and relaxation the converter did, not just their
 * kinds.  (The real loader is tested by its own tests.)
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include "harness.h"
#include "test_elf_util.h"

#define ARENA_SIZE (4u << 20)

struct placed {
	struct myr_module_view v;
	uint8_t *seg[MYR_SEG_COUNT];
};

static uint8_t *arena;
static size_t arena_used;

static uint8_t *arena_take(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size = (size + page - 1) / page * page;
	if (!size)
		size = page;
	if (arena_used + size > ARENA_SIZE)
		return NULL;
	uint8_t *p = arena + arena_used;
	arena_used += size;
	return p;
}

static const struct placed *tl_dep;     /* the one dependency, if any */

static uint8_t *import_address(const struct placed *m, uint32_t i)
{
	const struct myr_import *imp = &m->v.imports[i];
	if (!tl_dep || imp->dep != 0)
		return NULL;
	const char *name = myr_view_str(&m->v, imp->name_off);
	int64_t e = myr_module_find_export(&tl_dep->v, name, imp->name_len,
					   imp->hash, imp->export_hint);
	if (e < 0)
		return NULL;
	return tl_dep->seg[tl_dep->v.exports[e].seg] + tl_dep->v.exports[e].off;
}

/* Place, relocate, protect and initialize one module; 0 on success. */
static int place_module(struct placed *m, const uint8_t *file, size_t len)
{
	struct myr_error err = { 0 };
	if (myr_module_parse(file, len, 0, &m->v, &err))
		return -1;
	for (unsigned s = 0; s < MYR_SEG_COUNT; s++) {
		m->seg[s] = arena_take(m->v.hdr->seg[s].size);
		if (!m->seg[s] || myr_module_segment_load(&m->v, s, m->seg[s], &err))
			return -1;
	}
	for (uint32_t i = 0; i < m->v.hdr->relocs.count; i++) {
		const struct myr_reloc *r = &m->v.relocs[i];
		uint8_t *S = r->target_seg == MYR_TARGET_IMPORT ?
			     import_address(m, r->target) : m->seg[r->target_seg] + r->target;
		uint8_t *P = m->seg[r->site_seg] + r->site_off;
		if (!S)
			return -1;
		if (r->type == MYR_REL_PC32) {
			int64_t v = (int64_t)(S - P) + r->addend;
			if (v < INT32_MIN || v > INT32_MAX)
				return -1;
			int32_t v32 = (int32_t)v;
			memcpy(P, &v32, 4);
		} else {
			uint64_t v = (uint64_t)(uintptr_t)S + (uint64_t)(int64_t)r->addend;
			memcpy(P, &v, 8);
		}
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t tsize = (m->v.hdr->seg[MYR_SEG_TEXT].size + page - 1) / page * page;
	if (tsize && mprotect(m->seg[MYR_SEG_TEXT], tsize, PROT_READ | PROT_EXEC))
		return -1;
	for (uint32_t i = 0; i < m->v.hdr->init.count; i++) {
		void (*fn)(void);
		memcpy(&fn, m->seg[MYR_SEG_RELRO] + m->v.hdr->init.off + 8 * i, 8);
		fn();
	}
	return 0;
}

static int export_index(const struct myr_module_view *v, const char *name)
{
	int64_t e = myr_module_find_export(v, name, (uint32_t)strlen(name),
					   myr_symbol_hash(name, (uint32_t)strlen(name)),
					   MYR_NO_HINT);
	return (int)e;
}

/* The result of check() with the sources linked natively. */
static long native_result(const char *dir)
{
	char cmd[16384], main_c[4200], exe[4200];
	int n;
	snprintf(main_c, sizeof(main_c), "%s/main.c", dir);
	snprintf(exe, sizeof(exe), "%s/native", dir);
	FILE *f = fopen(main_c, "w");
	if (!f)
		return -1;
	fputs("#include <stdio.h>\nint check(const void *);\n"
	      "int main(void) { printf(\"%d\\n\", check(0)); return 0; }\n", f);
	fclose(f);
	n = snprintf(cmd, sizeof(cmd), "gcc -O0 -w -fcommon -o '%s' '%s' '%s/tests/modules/prog_tables.c' "
		 "'%s/tests/modules/lib_counter.c' && '%s' > '%s.out'", exe, main_c,
		 tu_src(), tu_src(), exe, exe);
	if (n < 0 || (size_t)n >= sizeof(cmd) || system(cmd) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s.out", exe);
	f = fopen(cmd, "r");
	long v = -1;
	if (!f || fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static int link_one(const char *obj, const char *name, const char *entry,
		    const struct myr_link_dep *dep, uint8_t **out, size_t *len,
		    struct tu_diag *d)
{
	uint8_t *data;
	size_t size;
	if (tu_read(obj, &data, &size))
		return -1;
	struct myr_link_object o = { obj, data, size };
	struct myr_link_options opt = {
		.name = name, .ver_major = 1, .ver_minor = 2, .ver_patch = 3,
		.entry = entry, .compress = 1, .objs = &o, .nobjs = 1,
		.deps = dep, .ndeps = dep ? 1 : 0,
	};
	int ret = myr_elf_link_write(&opt, out, len, &d->diag);
	free(data);
	return ret;
}

static void check_build(const char *cc, const char *opt_level)
{
	char *dir = tu_tmpdir();
	char flags[256], src[4200], lib_o[4200], prog_o[4200];
	uint8_t *lib_file = NULL, *prog_file = NULL;
	size_t lib_len, prog_len;
	struct tu_diag d;
	struct placed lib, prog;
	struct myr_error err = { 0 };

	ASSERT_NONNULL(dir);
	snprintf(flags, sizeof(flags), "-fPIC -%s -fno-stack-protector -fcommon -w", opt_level);
	snprintf(src, sizeof(src), "%s/tests/modules/lib_counter.c", tu_src());
	snprintf(lib_o, sizeof(lib_o), "%s/lib.o", dir);
	ASSERT_EQ(0, tu_compile(cc, flags, src, lib_o));
	snprintf(src, sizeof(src), "%s/tests/modules/prog_tables.c", tu_src());
	snprintf(prog_o, sizeof(prog_o), "%s/prog.o", dir);
	ASSERT_EQ(0, tu_compile(cc, flags, src, prog_o));

	tu_diag_init(&d);
	ASSERT_EQ(0, link_one(lib_o, "counter", NULL, NULL, &lib_file, &lib_len, &d));
	ASSERT_EQ(0, myr_module_parse(lib_file, lib_len, 0, &lib.v, &err));
	EXPECT_EQ(0u, lib.v.hdr->flags & MYR_F_PROGRAM);
	EXPECT_GE(export_index(&lib.v, "counter_add"), 0);
	EXPECT_GE(export_index(&lib.v, "counter_value"), 0);
	EXPECT_GE(export_index(&lib.v, "counter_policy"), 0);
	/* Hidden and static symbols are not exported. */
	EXPECT_LT(export_index(&lib.v, "counter_internal"), 0);
	EXPECT_LT(export_index(&lib.v, "hidden_total"), 0);
	EXPECT_EQ(0u, lib.v.hdr->deps.count);

	struct myr_link_dep dep = { "counter.myr", &lib.v, 0 };
	ASSERT_EQ(0, link_one(prog_o, "tables", "check", &dep, &prog_file, &prog_len, &d));
	ASSERT_EQ(0, myr_module_parse(prog_file, prog_len, 0, &prog.v, &err));
	const struct myr_header *h = prog.v.hdr;
	EXPECT_EQ(MYR_F_PROGRAM, h->flags & MYR_F_PROGRAM);
	ASSERT_EQ(1u, h->deps.count);
	EXPECT_STREQ("counter", myr_view_str(&prog.v, prog.v.deps[0].name_off));
	EXPECT_EQ(1u, prog.v.deps[0].ver_major);
	EXPECT_EQ(2u, prog.v.deps[0].ver_minor);
	/* The hint is the caller's (myriad link walks the directories). */
	EXPECT_EQ(0u, h->closure.count);

	int e_check = export_index(&prog.v, "check");
	ASSERT_GE(e_check, 0);
	EXPECT_EQ((unsigned)MYR_SEG_TEXT, h->entry.seg);
	EXPECT_EQ(prog.v.exports[e_check].off, h->entry.off);
	EXPECT_EQ((unsigned)MYR_SYM_FUNC, prog.v.exports[e_check].kind);
	int e_names = export_index(&prog.v, "names");
	ASSERT_GE(e_names, 0);
	EXPECT_EQ((unsigned)MYR_SEG_RELRO, prog.v.exports[e_names].seg);
	int e_common = export_index(&prog.v, "common_sym");
	ASSERT_GE(e_common, 0);
	EXPECT_EQ((unsigned)MYR_SEG_BSS, prog.v.exports[e_common].seg);
	EXPECT_LT(export_index(&prog.v, "square"), 0);

	/* Every import is bound to the dependency, with a correct hint. */
	EXPECT_EQ(3u, h->imports.count);
	for (uint32_t i = 0; i < h->imports.count; i++) {
		const struct myr_import *imp = &prog.v.imports[i];
		EXPECT_EQ(0u, imp->dep);
		ASSERT_LT(imp->export_hint, lib.v.hdr->exports.count);
		EXPECT_STREQ(myr_view_str(&prog.v, imp->name_off),
			     myr_view_str(&lib.v, lib.v.exports[imp->export_hint].name_off));
	}
	/* Three constructors, one destructor, in RELRO. */
	EXPECT_EQ(3u, h->init.count);
	EXPECT_EQ((unsigned)MYR_SEG_RELRO, h->init.seg);
	EXPECT_EQ(1u, h->fini.count);

	unsigned abs_in_ro = 0, table_links = 0, init_abs = 0;
	for (uint32_t i = 0; i < h->relocs.count; i++) {
		const struct myr_reloc *r = &prog.v.relocs[i];
		if (r->type == MYR_REL_ABS64 &&
		    (r->site_seg == MYR_SEG_TEXT || r->site_seg == MYR_SEG_RODATA))
			abs_in_ro++;
		if (r->type == MYR_REL_PC32 && r->site_seg == MYR_SEG_RODATA &&
		    r->target_seg == MYR_SEG_TEXT)
			table_links++;
		if (r->type == MYR_REL_ABS64 && r->site_seg == MYR_SEG_RELRO &&
		    r->site_off >= h->init.off && r->site_off < h->init.off + 8 * h->init.count)
			init_abs++;
	}
	EXPECT_EQ(0u, abs_in_ro);
	EXPECT_EQ(3u, init_abs);
	if (strcmp(cc, "gcc") == 0 && strcmp(opt_level, "O2") == 0)
		EXPECT_GE(table_links, 8u);   /* the switch's jump table */

	/* Run it. */
	long expect = native_result(dir);
	ASSERT_GE(expect, 0);
	arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)arena);
	arena_used = 0;
	tl_dep = NULL;
	ASSERT_EQ(0, place_module(&lib, lib_file, lib_len));
	tl_dep = &lib;
	ASSERT_EQ(0, place_module(&prog, prog_file, prog_len));
	int (*entry)(const void *);
	void *entry_addr = prog.seg[MYR_SEG_TEXT] + h->entry.off;
	memcpy(&entry, &entry_addr, sizeof(entry));
	EXPECT_EQ(expect, (long)entry(NULL));

	munmap(arena, ARENA_SIZE);
	free(lib_file);
	free(prog_file);
	tu_rmdir(dir);
}

TEST(gcc_O0) { check_build("gcc", "O0"); }
TEST(gcc_O2) { check_build("gcc", "O2"); }

TEST(clang_O0)
{
	if (!tu_have("clang"))
		SKIP(return, "clang is not installed");
	check_build("clang", "O0");
}

TEST(clang_O2)
{
	if (!tu_have("clang"))
		SKIP(return, "clang is not installed");
	check_build("clang", "O2");
}

TEST_HARNESS_MAIN
