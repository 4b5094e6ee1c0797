/* SPDX-License-Identifier: MIT */
/*
 * The loader's stages through its API: a small closure written with
 * myr_module_write() into a scratch directory, loaded with sync I/O.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <myriad/loader.h>
#include <myriad/module.h>
#include "harness.h"
#include "image/link.h"

struct lines {
	char text[8192];
	unsigned n;
};

static void collect(void *opaque, const char *line)
{
	struct lines *l = opaque;
	size_t at = strlen(l->text);
	snprintf(l->text + at, sizeof(l->text) - at, "%s\n", line);
	l->n++;
}

static char dir[256];

/* A module whose function f_NAME returns value + the sum of f_DEP() for
 * its dependencies (called directly, PC32 to the import).  A program's
 * entry does the same. */
static void write_mod(const char *name, uint16_t minor, const char *const *deps,
		      uint16_t need_minor, uint32_t value, int program,
		      const char *extra_import)
{
	struct myr_desc_dep d[4];
	struct myr_desc_import imp[5];
	struct myr_desc_export exp[1];
	struct myr_reloc rel[5];
	char fnames[5][32], fname[32], path[512];
	uint8_t text[64];
	uint32_t n = 0, len = 0, nd = 0;
	struct myr_module_desc desc = { 0 };
	struct myr_error err = { 0 };
	uint8_t *out;
	size_t outlen;

	text[len++] = 0x53;                       /* push rbx */
	text[len++] = 0xbb;                       /* mov ebx, value */
	memcpy(text + len, &value, 4);
	len += 4;
	for (; deps && deps[nd]; nd++) {
		d[nd] = (struct myr_desc_dep){ .name = deps[nd], .ver_major = 1,
					       .ver_minor = need_minor };
		snprintf(fnames[n], sizeof(fnames[n]), "f_%s", deps[nd]);
		imp[n] = (struct myr_desc_import){ .name = fnames[n],
			.dep = (uint16_t)nd, .export_hint = MYR_NO_HINT };
		text[len++] = 0xe8;               /* call f_dep */
		rel[n] = (struct myr_reloc){ .site_off = len,
			.site_seg = MYR_SEG_TEXT, .type = MYR_REL_PC32,
			.target_seg = MYR_TARGET_IMPORT, .target = n,
			.addend = -4 };
		memset(text + len, 0, 4);
		len += 4;
		text[len++] = 0x01;               /* add ebx, eax */
		text[len++] = 0xc3;
		n++;
	}
	if (extra_import) {
		/* Bound to the first dependency, never called. */
		imp[n] = (struct myr_desc_import){ .name = extra_import,
						   .dep = 0,
						   .export_hint = MYR_NO_HINT };
		n++;
	}
	memcpy(text + len, "\x89\xd8\x5b\xc3", 4);  /* mov eax, ebx; pop; ret */
	len += 4;

	snprintf(fname, sizeof(fname), "f_%s", name);
	exp[0] = (struct myr_desc_export){ .name = fname, .seg = MYR_SEG_TEXT,
					   .kind = MYR_SYM_FUNC, .off = 0 };
	desc.name = name;
	desc.ver_major = 1;
	desc.ver_minor = minor;
	desc.arch = MYR_ARCH_X86_64;
	desc.flags = program ? MYR_F_PROGRAM : 0;
	desc.deps = d;
	desc.ndeps = nd;
	desc.imports = imp;
	desc.nimports = n;
	desc.exports = exp;
	desc.nexports = 1;
	desc.relocs = rel;
	desc.nrelocs = nd;
	desc.seg[MYR_SEG_TEXT] = (struct myr_desc_segment){ text, len, 4 };
	desc.entry.seg = program ? MYR_SEG_TEXT : MYR_SEG_NONE;
	desc.init.seg = desc.fini.seg = MYR_SEG_NONE;
	if (myr_module_write(&desc, &out, &outlen, &err) < 0) {
		TH_LOG("write %s: %s", name, err.msg);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s.myr", dir, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(out, 1, outlen, f);
		fclose(f);
	}
	free(out);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

struct fixture {
	struct myr_loader_config cfg;
	struct myr_diag diag;
	struct lines lines;
	const char *dirs[1];
	char prog[300];
	struct myr_loader *l;
};

static void setup(struct fixture *fx)
{
	static const char *const app_deps[] = { "json", "util", NULL };
	static const char *const json_deps[] = { "unicode", "util", NULL };
	static const char *const unicode_deps[] = { "util", NULL };

	snprintf(dir, sizeof(dir), "/tmp/myr-test-loader.XXXXXX");
	if (!mkdtemp(dir))
		return;
	write_mod("util", 1, NULL, 0, 1, 0, NULL);
	write_mod("unicode", 4, unicode_deps, 1, 20, 0, NULL);
	write_mod("json", 3, json_deps, 1, 300, 0, NULL);
	write_mod("app", 0, app_deps, 1, 4000, 1, NULL);
	memset(fx, 0, sizeof(*fx));
	fx->dirs[0] = dir;
	fx->diag.emit = collect;
	fx->diag.opaque = &fx->lines;
	fx->cfg.dirs = fx->dirs;
	fx->cfg.ndirs = 1;
	fx->cfg.io = MYR_IO_SYNC;
	fx->cfg.alloc = MYR_ALLOC_POOLING;
	fx->cfg.diag = &fx->diag;
	myr_pool_limits_default(&fx->cfg.limits);
	snprintf(fx->prog, sizeof(fx->prog), "%s/app.myr", dir);
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		TH_LOG("could not remove %s", dir);
}

TEST(loads_links_and_runs_a_diamond)
{
	struct fixture fx;
	struct myr_error err = { 0 };
	int fds;

	setup(&fx);
	fds = count_fds();
	ASSERT_EQ(myr_loader_init(&fx.l, &fx.cfg, &err), 0);
	ASSERT_EQ(myr_loader_load(fx.l, fx.prog), 0);
	EXPECT_EQ(fx.lines.n, 0u);
	/* Release closed every directory and file the loader opened. */
	EXPECT_EQ(count_fds(), fds);
	ASSERT_EQ(myr_loader_run_init(fx.l), 0);

	char *argv[] = { fx.prog, "x", NULL };
	const struct myriad_ctx *ctx = myr_loader_ctx(fx.l, 2, argv, argv + 2);
	myr_entry_fn entry = myr_loader_entry(fx.l);
	ASSERT_NONNULL(entry);
	/* util = 1, unicode = 20 + 1, json = 300 + 21 + 1, app = 4000 + 322 + 1 */
	EXPECT_EQ(entry(ctx), 4323);
	EXPECT_EQ(ctx->abi_version, MYRIAD_ABI_VERSION);
	EXPECT_EQ(ctx->size, sizeof(*ctx));
	EXPECT_STREQ(ctx->self->name, "app");
	EXPECT_EQ(ctx->argc, 2);

	int (*f)(void) = (int (*)(void))ctx->lookup(ctx, "json", "f_json");
	ASSERT_NONNULL(f);
	EXPECT_EQ(f(), 322);
	EXPECT_NONNULL(ctx->lookup(ctx, NULL, "f_app"));
	EXPECT_NULL(ctx->lookup(ctx, "json", "f_nope"));
	EXPECT_NULL(ctx->lookup(ctx, "nosuch", "f_json"));
	EXPECT_NULL(ctx->lookup(ctx, "../json", "f_json"));
	/* What the host module's dlopen() asks: is the module in the image? */
	EXPECT_EQ(myr_loader_has_module(fx.l, "json"), 1);
	EXPECT_EQ(myr_loader_has_module(fx.l, "app"), 1);
	EXPECT_EQ(myr_loader_has_module(fx.l, "nosuch"), 0);
	EXPECT_EQ(myr_loader_has_module(fx.l, "../json"), 0);
	EXPECT_EQ(myr_loader_has_module(fx.l, NULL), 0);
	char long_name[MYR_NAME_MAX + 2];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	EXPECT_EQ(myr_loader_has_module(fx.l, long_name), 0);

	const struct myriad_load_stats *s = myr_loader_stats(fx.l);
	EXPECT_EQ(s->size, sizeof(*s));
	EXPECT_EQ(s->modules, 4u);
	EXPECT_EQ(s->imports_bound, 5u);
	EXPECT_EQ(s->relocs_applied, 5u);
	/* Mapped RW at once, then text RX; no rodata or relro to protect. */
	EXPECT_EQ(s->mprotect_calls, 1u);
	/* No hint recorded: one batch per level (json+util, then unicode). */
	EXPECT_EQ(s->fetch_batches, 2u);
	myr_loader_run_fini(fx.l);
	myr_loader_exit(fx.l);
	teardown();
}

TEST(stages_run_in_order_only)
{
	struct fixture fx;
	struct myr_error err = { 0 };

	setup(&fx);
	ASSERT_EQ(myr_loader_init(&fx.l, &fx.cfg, &err), 0);
	EXPECT_EQ(myr_loader_link(fx.l), -EINVAL);
	EXPECT_EQ(myr_loader_run_init(fx.l), -EINVAL);
	EXPECT_NULL(myr_loader_entry(fx.l));
	ASSERT_EQ(myr_loader_resolve(fx.l, fx.prog), 0);
	EXPECT_EQ(myr_loader_place(fx.l), -EINVAL);   /* verify first */
	EXPECT_EQ(myr_loader_resolve(fx.l, fx.prog), -EINVAL);
	myr_loader_exit(fx.l);
	teardown();
}

TEST(reports_every_missing_module_and_mismatch_then_fails)
{
	static const char *const app_deps[] = { "json", "gone", "util", NULL };
	static const char *const json_deps[] = { "unicode", "lost", NULL };
	struct fixture fx;
	struct myr_error err = { 0 };

	setup(&fx);
	write_mod("json", 3, json_deps, 5, 300, 0, NULL);   /* needs unicode 1.5 */
	write_mod("app", 0, app_deps, 1, 4000, 1, NULL);
	ASSERT_EQ(myr_loader_init(&fx.l, &fx.cfg, &err), 0);
	EXPECT_LT(myr_loader_load(fx.l, fx.prog), 0);
	EXPECT_EQ(fx.lines.n, 3u);
	EXPECT_TRUE(strstr(fx.lines.text, "app -> gone: module gone not found\n") != NULL);
	EXPECT_TRUE(strstr(fx.lines.text, "app -> json -> lost: module lost not found\n") != NULL);
	char want[512];
	snprintf(want, sizeof(want), "app -> json -> unicode: needs unicode 1.5, "
		 "found 1.4 in %s\n", dir);
	EXPECT_TRUE(strstr(fx.lines.text, want) != NULL);
	if (fx.lines.n != 3)
		TH_LOG("%s", fx.lines.text);
	EXPECT_EQ(myr_loader_verify(fx.l), -ECANCELED);
	EXPECT_NULL(myr_loader_entry(fx.l));
	myr_loader_exit(fx.l);
	teardown();
}

TEST(rejects_cycles_naming_them)
{
	static const char *const util_deps[] = { "json", NULL };
	struct fixture fx;
	struct myr_error err = { 0 };

	setup(&fx);
	write_mod("util", 1, util_deps, 1, 1, 0, NULL);
	ASSERT_EQ(myr_loader_init(&fx.l, &fx.cfg, &err), 0);
	EXPECT_EQ(myr_loader_load(fx.l, fx.prog), -ELOOP);
	EXPECT_TRUE(strstr(fx.lines.text, "dependency cycle: json -> unicode -> "
			   "util -> json") != NULL ||
		    strstr(fx.lines.text, "dependency cycle: json -> util -> json") != NULL);
	myr_loader_exit(fx.l);
	teardown();
}

TEST(reports_every_unresolved_import)
{
	static const char *const unicode_deps[] = { "util", NULL };
	static const char *const app_deps[] = { "json", "util", NULL };
	struct fixture fx;
	struct myr_error err = { 0 };

	setup(&fx);
	write_mod("unicode", 4, unicode_deps, 1, 20, 0, "u_missing");
	write_mod("app", 0, app_deps, 1, 4000, 1, "a_missing");
	ASSERT_EQ(myr_loader_init(&fx.l, &fx.cfg, &err), 0);
	EXPECT_EQ(myr_loader_load(fx.l, fx.prog), -ENOENT);
	EXPECT_EQ(fx.lines.n, 2u);
	EXPECT_TRUE(strstr(fx.lines.text, "app -> json -> unicode: symbol "
			   "u_missing not found in util 1.1") != NULL);
	EXPECT_TRUE(strstr(fx.lines.text, "app: symbol a_missing not found in "
			   "json 1.3") != NULL);
	myr_loader_exit(fx.l);
	teardown();
}

static void *fake_host_find(void *opaque, const char *name, uint32_t len)
{
	(void)len;
	return strcmp(name, "f_host") == 0 ? opaque : NULL;
}

static int host_function(void)
{
	return 7;
}

TEST(binds_host_imports_and_checks_the_host_version)
{
	static const char *const app_deps[] = { "myriad", NULL };
	struct myr_host_binding host = {
		.name = MYR_HOST_MODULE_NAME, .ver_major = 1, .ver_minor = 2,
		.find = fake_host_find, .opaque = (void *)host_function,
		.lo = (uintptr_t)host_function,
		.hi = (uintptr_t)host_function + 64,
	};
	struct fixture fx;
	struct myr_error err = { 0 };

	setup(&fx);
	/* app's entry calls f_myriad: the host calls it f_host here. */
	fx.cfg.host = &host;
	write_mod("app", 0, app_deps, 2, 100, 1, NULL);
	ASSERT_EQ(myr_loader_init(&fx.l, &fx.cfg, &err), 0);
	EXPECT_EQ(myr_loader_load(fx.l, fx.prog), -ENOENT);
	EXPECT_TRUE(strstr(fx.lines.text, "app: symbol f_myriad not found in the "
			   "host module myriad 1.2") != NULL);
	myr_loader_exit(fx.l);

	host.ver_minor = 1;
	memset(&fx.lines, 0, sizeof(fx.lines));
	ASSERT_EQ(myr_loader_init(&fx.l, &fx.cfg, &err), 0);
	EXPECT_LT(myr_loader_load(fx.l, fx.prog), 0);
	EXPECT_TRUE(strstr(fx.lines.text, "app -> myriad: needs myriad 1.2, found "
			   "1.1 built into the launcher") != NULL);
	myr_loader_exit(fx.l);
	teardown();
}

TEST(on_demand_loads_the_same_closure)
{
	struct fixture fx;
	struct myr_error err = { 0 };

	setup(&fx);
	fx.cfg.alloc = MYR_ALLOC_ON_DEMAND;
	ASSERT_EQ(myr_loader_init(&fx.l, &fx.cfg, &err), 0);
	ASSERT_EQ(myr_loader_load(fx.l, fx.prog), 0);
	ASSERT_EQ(myr_loader_run_init(fx.l), 0);
	char *argv[] = { fx.prog, NULL };
	EXPECT_EQ(myr_loader_entry(fx.l)(myr_loader_ctx(fx.l, 1, argv, argv + 1)),
		  4323);
	/* Text only, once per module. */
	EXPECT_EQ(myr_loader_stats(fx.l)->mprotect_calls, 4u);
	myr_loader_exit(fx.l);
	teardown();
}

TEST(pc32_out_of_range_is_an_error_not_a_wrap)
{
	struct fixture fx;
	struct myr_error err = { 0 };
	struct myr_module_view v;
	uint8_t *file = NULL;
	size_t len = 0;
	char path[300];

	setup(&fx);
	snprintf(path, sizeof(path), "%s/json.myr", dir);
	FILE *f = fopen(path, "rb");
	ASSERT_NONNULL(f);
	file = malloc(4096);
	len = fread(file, 1, 4096, f);
	fclose(f);
	ASSERT_EQ(myr_module_parse(file, len, 0, &v, &err), 0);

	uint8_t text[64] = { 0 };
	struct myr_link_module m = { .view = &v };
	m.seg[MYR_SEG_TEXT] = text;
	uintptr_t addr[2] = { (uintptr_t)text + (3ull << 30), (uintptr_t)text };
	EXPECT_EQ(myri_link_relocate(&m, addr, &err), -ERANGE);
	EXPECT_TRUE(strstr(err.msg, "relocation 0: PC32 displacement") != NULL);
	addr[0] = (uintptr_t)text + 1000;
	EXPECT_EQ(myri_link_relocate(&m, addr, &err), 2);
	int32_t d;
	memcpy(&d, text + 7, 4);     /* first call's displacement */
	EXPECT_EQ(d, 1000 - 7 - 4);
	free(file);
	teardown();
}

TEST_HARNESS_MAIN
