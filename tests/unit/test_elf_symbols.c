/* SPDX-License-Identifier: MIT */
/*
 * `myriad link` symbol binding and rejections, on small objects compiled
 * (or assembled) here: every undefined symbol reported, duplicates, clashes
 * between dependencies, the host module, weak symbols, COMMON, comdat
 * groups, TLS, IFUNC, text relocations, the entry and the pool limits.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "test_elf_util.h"

#define CFLAGS "-fPIC -O2 -fno-stack-protector -w"

struct obj {
	char path[4200];
	uint8_t *data;
	size_t len;
};

static char *dir;
static void *owned[64];
static unsigned nowned;

/* Keep p until done(), so failing checks leak nothing. */
static void *own(void *p)
{
	if (p && nowned < sizeof(owned) / sizeof(owned[0]))
		owned[nowned++] = p;
	return p;
}

static void done(void)
{
	while (nowned)
		free(owned[--nowned]);
	tu_rmdir(dir);
	dir = NULL;
}

static void obj_build(struct obj *o, const char *name, const char *flags,
		      const char *text)
{
	if (!dir)
		dir = tu_tmpdir();
	ASSERT_NONNULL(dir);
	ASSERT_EQ(0, tu_compile_text("gcc", flags, dir, name, text, o->path,
				     sizeof(o->path)));
	ASSERT_EQ(0, tu_read(o->path, &o->data, &o->len));
	own(o->data);
}

struct result {
	struct tu_diag d;
	int ret;
	uint8_t *file;
	size_t len;
	struct myr_module_view v;
};

/* Link objs (labels a.o, b.o, ...) with deps and host names. */
static void do_link(struct result *r, struct obj *objs, size_t n,
		    const struct myr_link_dep *deps, size_t ndeps,
		    const char *const *host, size_t nhost, const char *entry)
{
	struct myr_link_object lo[8];
	static const char *const labels[] = { "a.o", "b.o", "c.o", "d.o" };
	for (size_t i = 0; i < n; i++)
		lo[i] = (struct myr_link_object){ labels[i], objs[i].data, objs[i].len };
	struct myr_link_options opt = {
		.name = "t", .ver_major = 1, .entry = entry, .objs = lo, .nobjs = n,
		.deps = deps, .ndeps = ndeps, .host_names = host, .nhost = nhost,
		.host_major = 1, .host_minor = 4, .compress = 1,
	};
	struct myr_error err = { 0 };
	tu_diag_init(&r->d);
	r->file = NULL;
	r->ret = myr_elf_link_write(&opt, &r->file, &r->len, &r->d.diag);
	own(r->file);
	if (r->ret == 0)
		ASSERT_EQ(0, myr_module_parse(r->file, r->len, 0, &r->v, &err));
}

static int64_t find(const struct myr_module_view *v, const char *name)
{
	uint32_t len = (uint32_t)strlen(name);
	return myr_module_find_export(v, name, len, myr_symbol_hash(name, len), MYR_NO_HINT);
}

static const char *imp_name(const struct result *r, uint32_t i)
{
	return myr_view_str(&r->v, r->v.imports[i].name_off);
}

/* A dependency module exporting the given function names (in text). */
static void make_dep(const char *name, const char *const *exports, size_t n,
		     uint8_t **file, size_t *len, struct myr_module_view *v)
{
	static uint8_t text[16] = { 0xc3 };
	struct myr_desc_export ex[8];
	for (size_t i = 0; i < n; i++)
		ex[i] = (struct myr_desc_export){ exports[i], MYR_SEG_TEXT, MYR_SYM_FUNC, 0 };
	struct myr_module_desc d = {
		.name = name, .ver_major = 2, .ver_minor = 5, .arch = MYR_ARCH_X86_64,
		.exports = ex, .nexports = n,
		.seg[MYR_SEG_TEXT] = { text, sizeof(text), 4 },
		.entry = { .seg = MYR_SEG_NONE },
		.init = { .seg = MYR_SEG_NONE }, .fini = { .seg = MYR_SEG_NONE },
	};
	struct myr_error err = { 0 };
	ASSERT_EQ(0, myr_module_write(&d, file, len, &err));
	own(*file);
	ASSERT_EQ(0, myr_module_parse(*file, *len, 0, v, &err));
}

TEST(every_undefined_symbol_is_reported)
{
	struct obj o;
	struct result r;
	obj_build(&o, "undef.c", CFLAGS,
		  "void missing_one(void); int missing_two(int); extern int missing_data;\n"
		  "void present(void) {}\n"
		  "int f(void) { missing_one(); present(); return missing_two(missing_data) + missing_two(2); }\n");
	do_link(&r, &o, 1, NULL, 0, NULL, 0, NULL);
	EXPECT_EQ(-EINVAL, r.ret);
	EXPECT_EQ(3u, tu_lines_with(&r.d, "undefined symbol"));
	EXPECT_EQ(1u, tu_lines_with(&r.d, "'missing_one'"));
	EXPECT_EQ(1u, tu_lines_with(&r.d, "'missing_two'"));
	EXPECT_EQ(1u, tu_lines_with(&r.d, "'missing_data'"));
	EXPECT_EQ(3u, tu_lines_with(&r.d, "a.o: .text"));
	done();
}

TEST(duplicate_definitions_clash)
{
	struct obj o[2];
	struct result r;
	obj_build(&o[0], "d1.c", CFLAGS, "int dup = 1; int one(void) { return dup; }\n");
	obj_build(&o[1], "d2.c", CFLAGS, "int dup = 2; int two(void) { return dup; }\n");
	do_link(&r, o, 2, NULL, 0, NULL, 0, NULL);
	EXPECT_EQ(-EINVAL, r.ret);
	EXPECT_EQ(1u, tu_lines_with(&r.d, "b.o: duplicate symbol 'dup' (also defined in a.o)"));
	done();
}

TEST(strong_beats_weak_and_commons_merge)
{
	struct obj o[2];
	struct result r;
	obj_build(&o[0], "w.c", CFLAGS,
		  "__attribute__((weak)) int pick(void) { return 1; }\n"
		  "int shared __attribute__((common));\n"
		  "int use(void) { return pick() + shared; }\n");
	obj_build(&o[1], "s.c", CFLAGS,
		  "int pick(void) { return 2; }\n"
		  "long shared[8] __attribute__((common));\n");
	do_link(&r, o, 2, NULL, 0, NULL, 0, NULL);
	ASSERT_EQ(0, r.ret);
	int64_t e = find(&r.v, "pick");
	ASSERT_GE(e, 0);
	/* b.o's text comes after a.o's, so the strong pick is past a.o's use. */
	int64_t u = find(&r.v, "use");
	ASSERT_GE(u, 0);
	EXPECT_GT(r.v.exports[e].off, r.v.exports[u].off);
	int64_t c = find(&r.v, "shared");
	ASSERT_GE(c, 0);
	EXPECT_EQ((unsigned)MYR_SEG_BSS, r.v.exports[c].seg);
	EXPECT_GE(r.v.hdr->seg[MYR_SEG_BSS].size, r.v.exports[c].off + 64);
	done();
}

TEST(host_module_binding_uses_stubs_and_got)
{
	static const char *const host[] = { "memcpy", "puts", "stdout" };
	struct obj o;
	struct result r;
	obj_build(&o, "host.c", CFLAGS,
		  "int puts(const char *); extern void *stdout;\n"
		  "void *f(void) { puts(\"hi\"); return stdout; }\n");
	do_link(&r, &o, 1, NULL, 0, host, 3, NULL);
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(1u, r.v.hdr->deps.count);
	EXPECT_STREQ(MYR_HOST_MODULE_NAME, myr_view_str(&r.v, r.v.deps[0].name_off));
	EXPECT_EQ(1u, r.v.deps[0].ver_major);
	EXPECT_EQ(4u, r.v.deps[0].ver_minor);
	EXPECT_EQ(0u, r.v.hdr->closure.count);
	ASSERT_EQ(2u, r.v.hdr->imports.count);
	for (uint32_t i = 0; i < 2; i++) {
		EXPECT_EQ(0u, r.v.imports[i].dep);
		EXPECT_STREQ(host[r.v.imports[i].export_hint], imp_name(&r, i));
	}
	/* The host may be far away: no PC32 to an import, the call goes
	 * through a stub and both addresses through GOT slots in RELRO. */
	unsigned abs_imports = 0;
	for (uint32_t i = 0; i < r.v.hdr->relocs.count; i++) {
		const struct myr_reloc *rl = &r.v.relocs[i];
		if (rl->target_seg != MYR_TARGET_IMPORT)
			continue;
		EXPECT_EQ((unsigned)MYR_REL_ABS64, rl->type);
		EXPECT_EQ((unsigned)MYR_SEG_RELRO, rl->site_seg);
		abs_imports++;
	}
	EXPECT_EQ(2u, abs_imports);
	done();
}

TEST(host_dependency_only_when_used)
{
	static const char *const host[] = { "puts" };
	struct obj o;
	struct result r;
	obj_build(&o, "pure.c", CFLAGS, "int f(int x) { return x + 1; }\n");
	do_link(&r, &o, 1, NULL, 0, host, 1, NULL);
	ASSERT_EQ(0, r.ret);
	EXPECT_EQ(0u, r.v.hdr->deps.count);
	EXPECT_EQ(0u, r.v.hdr->imports.count);
	done();
}

/*
 * An optional dependency is recorded with MYR_DEP_OPTIONAL and provides
 * nothing: a symbol only it exports goes to the next provider (here the
 * host), or is undefined; one it shares with a required dependency is no
 * clash.
 */
TEST(optional_dependency_provides_nothing)
{
	static const char *const host[] = { "puts" };
	static const char *const ex_a[] = { "puts", "shared_fn" };
	static const char *const ex_b[] = { "shared_fn", "only_b" };
	uint8_t *fa, *fb;
	size_t la, lb;
	struct myr_module_view va, vb;
	struct obj o[2];
	struct result r;

	make_dep("liba", ex_a, 2, &fa, &la, &va);
	make_dep("libb", ex_b, 2, &fb, &lb, &vb);
	struct myr_link_dep deps[2] = { { "liba.myr", &va, MYR_DEP_OPTIONAL },
					{ "libb.myr", &vb, 0 } };
	obj_build(&o[0], "opt.c", CFLAGS,
		  "int puts(const char *); int shared_fn(void);\n"
		  "int f(void) { return puts(\"x\") + shared_fn(); }\n");
	do_link(&r, o, 1, deps, 2, host, 1, NULL);
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(3u, r.v.hdr->deps.count);     /* liba, libb, myriad */
	EXPECT_EQ(MYR_DEP_OPTIONAL, r.v.deps[0].flags);
	EXPECT_EQ(0u, r.v.deps[1].flags);
	EXPECT_EQ(0u, r.v.deps[2].flags);
	ASSERT_EQ(2u, r.v.hdr->imports.count);
	for (uint32_t i = 0; i < 2; i++)
		EXPECT_EQ(strcmp(imp_name(&r, i), "puts") == 0 ? 2u : 1u,
			  r.v.imports[i].dep);

	deps[0].flags = 0;
	deps[1].flags = MYR_DEP_OPTIONAL;
	obj_build(&o[1], "only.c", CFLAGS,
		  "int only_b(void); int g(void) { return only_b(); }\n");
	do_link(&r, &o[1], 1, deps, 2, host, 1, NULL);
	EXPECT_EQ(-EINVAL, r.ret);
	EXPECT_EQ(1u, tu_lines_with(&r.d, "undefined symbol 'only_b'"));
	done();
}

/* The closure hint is the caller's, and only a program may have one. */
TEST(closure_hint_is_given_and_only_to_a_program)
{
	static const char *const ex_a[] = { "fa" };
	uint8_t *fa;
	size_t la;
	struct myr_module_view va;
	struct obj o;
	struct result r;
	make_dep("liba", ex_a, 1, &fa, &la, &va);
	const struct myr_desc_dep hint[2] = {
		{ .name = "liba", .ver_major = 1, .size_hint = (uint32_t)la },
		{ .name = "deeper", .ver_major = 2, .ver_minor = 3, .size_hint = 77 },
	};
	struct myr_link_dep dep = { "liba.myr", &va, 0 };
	struct myr_link_object lo;
	obj_build(&o, "p.c", CFLAGS, "int fa(void); int main_fn(void) { return fa(); }\n");
	lo = (struct myr_link_object){ "a.o", o.data, o.len };
	struct myr_link_options opt = {
		.name = "p", .ver_major = 1, .entry = "main_fn", .objs = &lo, .nobjs = 1,
		.deps = &dep, .ndeps = 1, .closure = hint, .nclosure = 2, .compress = 1,
	};
	struct myr_error err = { 0 };
	tu_diag_init(&r.d);
	ASSERT_EQ(0, myr_elf_link_write(&opt, &r.file, &r.len, &r.d.diag));
	own(r.file);
	ASSERT_EQ(0, myr_module_parse(r.file, r.len, 0, &r.v, &err));
	ASSERT_EQ(2u, r.v.hdr->closure.count);
	EXPECT_STREQ("deeper", myr_view_str(&r.v, r.v.closure[1].name_off));
	EXPECT_EQ(3u, r.v.closure[1].ver_minor);
	EXPECT_EQ(77u, r.v.closure[1].size_hint);

	opt.entry = NULL;
	tu_diag_init(&r.d);
	r.file = NULL;
	EXPECT_EQ(-EINVAL, myr_elf_link_write(&opt, &r.file, &r.len, &r.d.diag));
	EXPECT_EQ(1u, tu_lines_with(&r.d, "a closure hint for a library"));
	done();
}

TEST(needs_beat_host_and_clash_with_each_other)
{
	static const char *const host[] = { "puts" };
	static const char *const ex_a[] = { "puts", "shared_fn" };
	static const char *const ex_b[] = { "shared_fn", "other" };
	uint8_t *fa, *fb;
	size_t la, lb;
	struct myr_module_view va, vb;
	struct obj o[2];
	struct result r;

	make_dep("liba", ex_a, 2, &fa, &la, &va);
	make_dep("libb", ex_b, 2, &fb, &lb, &vb);
	struct myr_link_dep deps[2] = { { "liba.myr", &va, 0 }, { "libb.myr", &vb, 0 } };
	obj_build(&o[0], "puts.c", CFLAGS,
		  "int puts(const char *); int other(void);\n"
		  "int f(void) { return puts(\"x\") + other(); }\n");
	do_link(&r, o, 1, deps, 2, host, 1, NULL);
	ASSERT_EQ(0, r.ret);
	EXPECT_EQ(2u, r.v.hdr->deps.count);     /* no "myriad" */
	ASSERT_EQ(2u, r.v.hdr->imports.count);
	for (uint32_t i = 0; i < 2; i++) {
		const struct myr_import *imp = &r.v.imports[i];
		EXPECT_EQ(strcmp(imp_name(&r, i), "puts") == 0 ? 0u : 1u, imp->dep);
		const struct myr_module_view *dv = imp->dep ? &vb : &va;
		EXPECT_STREQ(imp_name(&r, i),
			     myr_view_str(dv, dv->exports[imp->export_hint].name_off));
	}
	/* No closure hint unless the caller gives one (cmd_link.c walks the
	 * library directories for a program's). */
	EXPECT_EQ(0u, r.v.hdr->closure.count);
	(void)la;
	(void)lb;

	obj_build(&o[1], "clash.c", CFLAGS,
		  "int shared_fn(void); int g(void) { return shared_fn(); }\n");
	do_link(&r, &o[1], 1, deps, 2, host, 1, NULL);
	EXPECT_EQ(-EINVAL, r.ret);
	EXPECT_EQ(1u, tu_lines_with(&r.d, "'shared_fn' is exported by both liba.myr and libb.myr"));
	done();
}

TEST(undefined_weak_resolves_to_zero)
{
	struct obj o;
	struct result r;
	obj_build(&o, "weak.c", CFLAGS,
		  "extern void maybe(void) __attribute__((weak));\n"
		  "extern int maybe_data __attribute__((weak));\n"
		  "int f(void) { if (maybe) maybe(); return &maybe_data != 0; }\n");
	do_link(&r, &o, 1, NULL, 0, NULL, 0, NULL);
	ASSERT_EQ(0, r.ret);
	EXPECT_EQ(0u, r.v.hdr->imports.count);
	EXPECT_EQ(0u, r.v.hdr->deps.count);
	done();
}

TEST(comdat_keeps_first_copy)
{
	static const char comdat_s[] =
		"\t.section .text.shared_fn,\"axG\",@progbits,shared_fn,comdat\n"
		"\t.globl shared_fn\n\t.type shared_fn,@function\n"
		"shared_fn:\n\tmovl $%d, %%eax\n\tret\n"
		"\t.text\n\t.globl user%d\n\t.type user%d,@function\n"
		"user%d:\n\tjmp shared_fn@PLT\n"
		"\t.section .note.GNU-stack,\"\",@progbits\n";
	struct obj o[2];
	struct result r;
	char text[1024];
	for (int i = 0; i < 2; i++) {
		char name[16];
		snprintf(text, sizeof(text), comdat_s, 41 + i, i, i, i);
		snprintf(name, sizeof(name), "c%d.s", i);
		obj_build(&o[i], name, "", text);
	}
	do_link(&r, o, 2, NULL, 0, NULL, 0, NULL);
	ASSERT_EQ(0, r.ret);
	int64_t e = find(&r.v, "shared_fn");
	ASSERT_GE(e, 0);
	EXPECT_GE(find(&r.v, "user0"), 0);
	EXPECT_GE(find(&r.v, "user1"), 0);
	/* One copy of shared_fn (6 bytes), plus two 5-byte jumps. */
	EXPECT_LT(r.v.hdr->seg[MYR_SEG_TEXT].size, 6u + 5 + 5 + 16);
	EXPECT_EQ(0u, r.v.hdr->relocs.count);
	done();
}

TEST(tls_is_rejected_with_names)
{
	struct obj o[2];
	struct result r;
	obj_build(&o[0], "tls1.c", CFLAGS,
		  "extern __thread int tv; int f(void) { return tv; }\n");
	do_link(&r, o, 1, NULL, 0, NULL, 0, NULL);
	EXPECT_EQ(-EINVAL, r.ret);
	EXPECT_GE(tu_lines_with(&r.d, "a.o: .text+0x"), 1u);
	EXPECT_GE(tu_lines_with(&r.d, "relocation R_X86_64_TLSGD"), 1u);
	EXPECT_GE(tu_lines_with(&r.d, "'tv'"), 1u);

	obj_build(&o[1], "tls2.c", CFLAGS, "__thread int own; int g(void) { return own; }\n");
	do_link(&r, &o[1], 1, NULL, 0, NULL, 0, NULL);
	EXPECT_EQ(-EINVAL, r.ret);
	EXPECT_GE(tu_lines_with(&r.d, "thread-local storage is unsupported"), 1u);
	done();
}

TEST(ifunc_is_rejected)
{
	struct obj o;
	struct result r;
	obj_build(&o, "ifunc.c", CFLAGS,
		  "static int impl(void) { return 1; }\n"
		  "static void *resolve(void) { return (void *)impl; }\n"
		  "int fast(void) __attribute__((ifunc(\"resolve\")));\n");
	do_link(&r, &o, 1, NULL, 0, NULL, 0, NULL);
	EXPECT_EQ(-EINVAL, r.ret);
	EXPECT_EQ(1u, tu_lines_with(&r.d, "a.o: symbol 'fast': IFUNC"));
	done();
}

TEST(text_relocations_are_rejected)
{
	struct obj o[2];
	struct result r;
	obj_build(&o[0], "large.c", "-fno-pic -mcmodel=large -O2 -w",
		  "int x; long f(void) { return (long)&x; }\n");
	do_link(&r, o, 1, NULL, 0, NULL, 0, NULL);
	EXPECT_EQ(-EINVAL, r.ret);
	EXPECT_EQ(1u, tu_lines_with(&r.d, "text relocation R_X86_64_64 against 'x': compile with -fPIC"));

	obj_build(&o[1], "small.c", "-fno-pic -O2 -w",
		  "int y; long g(void) { return (long)&y; }\n");
	do_link(&r, &o[1], 1, NULL, 0, NULL, 0, NULL);
	EXPECT_EQ(-EINVAL, r.ret);
	EXPECT_EQ(1u, tu_lines_with(&r.d, "R_X86_64_32 against 'y' needs an absolute address"));
	done();
}

TEST(entry_must_be_a_defined_function)
{
	struct obj o;
	struct result r;
	obj_build(&o, "entry.c", CFLAGS, "int data_sym = 3; int run(const void *c) { return c != 0; }\n");
	do_link(&r, &o, 1, NULL, 0, NULL, 0, "nosuch");
	EXPECT_EQ(-EINVAL, r.ret);
	EXPECT_EQ(1u, tu_lines_with(&r.d, "entry symbol 'nosuch' is not defined"));
	do_link(&r, &o, 1, NULL, 0, NULL, 0, "data_sym");
	EXPECT_EQ(-EINVAL, r.ret);
	EXPECT_EQ(1u, tu_lines_with(&r.d, "entry symbol 'data_sym' is not a function"));
	do_link(&r, &o, 1, NULL, 0, NULL, 0, "run");
	ASSERT_EQ(0, r.ret);
	EXPECT_EQ(MYR_F_PROGRAM, r.v.hdr->flags);
	EXPECT_EQ((uint32_t)r.v.exports[find(&r.v, "run")].off, r.v.hdr->entry.off);
	done();
}

TEST(pool_limits_are_checked_at_link_time)
{
	struct obj o;
	struct result r;
	/* NOBITS: 100 MiB of bss costs nothing to compile. */
	obj_build(&o, "big.c", CFLAGS, "char big[100 << 20]; char *f(void) { return big; }\n");
	do_link(&r, &o, 1, NULL, 0, NULL, 0, NULL);
	EXPECT_EQ(-E2BIG, r.ret);
	EXPECT_EQ(1u, tu_lines_with(&r.d, "MYR_POOL_DEFAULT_MODULE_SIZE"));
	obj_build(&o, "huge.c", CFLAGS, "char huge[300 << 20]; char *f(void) { return huge; }\n");
	do_link(&r, &o, 1, NULL, 0, NULL, 0, NULL);
	EXPECT_EQ(-E2BIG, r.ret);
	EXPECT_EQ(1u, tu_lines_with(&r.d, "MYR_SEGMENT_MAX"));
	done();
}

TEST(caps_need_a_program)
{
	struct obj o;
	struct result r;
	obj_build(&o, "caps.c", CFLAGS, "int f(void) { return 0; }\n");
	struct myr_link_object lo = { "a.o", o.data, o.len };
	struct myr_link_options opt = { .name = "t", .caps = MYR_CAP_NET,
		.objs = &lo, .nobjs = 1 };
	tu_diag_init(&r.d);
	r.file = NULL;
	EXPECT_EQ(-EINVAL, myr_elf_link_write(&opt, &r.file, &r.len, &r.d.diag));
	own(r.file);
	EXPECT_EQ(1u, tu_lines_with(&r.d, "only meaningful for a program"));
	done();
}

TEST_HARNESS_MAIN
