/* SPDX-License-Identifier: MIT */
/*
 * myriad cache build|status|clear [--libdir DIR] - the library directory's
 * prelinked image (docs/cache.md).  The work is libmyriad's
 * (<myriad/cache.h>); this file owns the command line and the messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <myriad/cache.h>
#include <myriad/loader.h>
#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
"usage: myriad cache build  [--libdir DIR]\n"
"       myriad cache status [--libdir DIR]\n"
"       myriad cache clear  [--libdir DIR]\n"
"\n"
"build   lay out and link every module of DIR into DIR/%s/%s,\n"
"        written atomically; run it after installing or removing modules\n"
"status  say whether the image is present and current, and list every\n"
"        module changed, added or removed since (exit 0 only if current)\n"
"clear   remove the image\n"
"\n"
"DIR: the first --libdir, else the first directory of $MYRIAD_LIBRARY_PATH,\n"
"else %s.\n"
"A launch uses the image of its first library directory (--no-cache: none).\n",
		MYR_CACHE_SUBDIR, MYR_CACHE_FILE, MYRIAD_DEFAULT_LIBDIR);
}

static void kib(char *buf, size_t len, uint64_t bytes)
{
	if (bytes >= (10u << 20))
		snprintf(buf, len, "%.1f MiB", (double)bytes / (1u << 20));
	else
		snprintf(buf, len, "%.1f KiB", (double)bytes / 1024);
}

struct prefixed {
	const char *dir;
	FILE *out;          /* NULL: stderr through cli_error */
};

static void emit_line(void *opaque, const char *line)
{
	const struct prefixed *p = opaque;
	if (p->out)
		fprintf(p->out, "  %s\n", line);
	else
		cli_error("%s: %s", p->dir, line);
}

static int do_build(const char *dir)
{
	struct myr_host_binding host;
	struct prefixed pre = { dir, NULL };
	struct myr_diag diag = { emit_line, &pre, 0 };
	struct myr_cache_build_config cfg = { .dir = dir, .host = &host,
					      .diag = &diag };
	struct myr_cache_build_result res;
	struct myr_error err = { 0 };
	char a[32], b[32];

	cli_host_binding(&host);
	if (myr_cache_build(&cfg, &res, &err) < 0) {
		cli_error("%s", err.msg);
		return MYRIAD_EXIT_FAILURE;
	}
	kib(a, sizeof(a), res.image_size);
	kib(b, sizeof(b), res.file_size);
	printf("%s/%s/%s: %u of %u modules in the image (%u pinned to this "
	       "launcher), %u launch closures; image %s, file %s\n", dir,
	       MYR_CACHE_SUBDIR, MYR_CACHE_FILE, res.cached, res.modules,
	       res.pinned, res.programs, a, b);
	if (res.stamp_error)
		cli_error("warning: %s; launches check the image themselves",
			  res.stamp_why);
	return MYRIAD_EXIT_OK;
}

static int do_status(const char *dir)
{
	struct myr_host_binding host;
	struct prefixed pre = { dir, stdout };
	struct myr_diag diag = { emit_line, &pre, 0 };
	struct myr_cache_status st;
	struct myr_error err = { 0 };
	char a[32], b[32];

	cli_host_binding(&host);
	printf("%s/%s/%s: ", dir, MYR_CACHE_SUBDIR, MYR_CACHE_FILE);
	fflush(stdout);
	/* The module lines come while comparing; the verdict is known at the
	 * end, so lines are collected first. */
	if (myr_cache_status(dir, &host, &diag, &st, &err) < 0) {
		printf("unreadable\n");
		cli_error("%s", err.msg);
		return MYRIAD_EXIT_FAILURE;
	}
	switch (st.state) {
	case MYR_CACHE_ABSENT:
		printf("absent (myriad cache build --libdir %s)\n", dir);
		return MYRIAD_EXIT_FAILURE;
	case MYR_CACHE_INVALID:
		printf("invalid: %s (launches ignore it; rebuild it)\n", st.why);
		return MYRIAD_EXIT_FAILURE;
	case MYR_CACHE_CURRENT:
	case MYR_CACHE_STALE:
		break;
	}
	kib(a, sizeof(a), st.image_size);
	kib(b, sizeof(b), st.file_size);
	printf("%s\n  %u modules, %u in the image (%u pinned), %u launch "
	       "closures; image %s, file %s; generation %016llx\n",
	       st.state == MYR_CACHE_CURRENT ? "current" :
	       st.dir_changed ? "stale (the directory changed since the build)"
			      : "stale", st.modules, st.cached, st.pinned,
	       st.programs, a, b, (unsigned long long)st.generation);
	if (st.state == MYR_CACHE_STALE)
		printf("  %u changed, %u added, %u removed since the build: "
		       "run myriad cache build --libdir %s\n", st.changed,
		       st.added, st.removed, dir);
	return st.state == MYR_CACHE_CURRENT ? MYRIAD_EXIT_OK
					      : MYRIAD_EXIT_FAILURE;
}

static int do_clear(const char *dir)
{
	struct myr_error err = { 0 };
	if (myr_cache_clear(dir, &err) < 0) {
		cli_error("%s", err.msg);
		return MYRIAD_EXIT_FAILURE;
	}
	return MYRIAD_EXIT_OK;
}

struct cache_args {
	struct cli_libdirs libdirs;
	const char *action;
};

static int opt_help(void *ctx, const struct cli_option *opt, const char *v)
{
	(void)ctx, (void)opt, (void)v;
	usage(stdout);
	return MYRIAD_EXIT_OK;
}

static int opt_libdir(void *ctx, const struct cli_option *opt, const char *v)
{
	struct cache_args *a = ctx;
	(void)opt;
	if (!*v) {
		cli_error("cache: --libdir needs a directory");
		return MYRIAD_EXIT_USAGE;
	}
	return cli_libdirs_add(&a->libdirs, v) < 0 ? MYRIAD_EXIT_USAGE : CLI_NEXT;
}

static int action_operand(void *ctx, char *arg)
{
	struct cache_args *a = ctx;
	if (a->action) {
		cli_error("cache: one action only ('%s' and '%s')", a->action, arg);
		return MYRIAD_EXIT_USAGE;
	}
	a->action = arg;
	return CLI_NEXT;
}

static const struct cli_option cache_options[] = {
	{ .name = "--help", .alias = "-h", .set = opt_help },
	{ .name = "--libdir", .takes_value = 1, .missing_as_empty = 1,
	  .set = opt_libdir },
	{ .name = NULL },
};

static const struct cli_command cache_command = {
	.name = "cache", .options = cache_options, .operand = action_operand,
	.dash_is_option = 1,
};

static int run_action(const char *action, const char *dir)
{
	if (strcmp(action, "build") == 0)
		return do_build(dir);
	if (strcmp(action, "status") == 0)
		return do_status(dir);
	if (strcmp(action, "clear") == 0)
		return do_clear(dir);
	cli_error("cache: unknown action '%s' (build, status or clear)", action);
	return MYRIAD_EXIT_USAGE;
}

int cmd_cache(int argc, char **argv)
{
	struct cache_args a = { .action = NULL };
	int next, rc = cli_parse(&cache_command, argc, argv, &a, &next);

	if (rc != CLI_NEXT)
		return rc;
	if (!a.action) {
		cli_error("cache: build, status or clear? (see myriad cache --help)");
		return MYRIAD_EXIT_USAGE;
	}
	/* As a launch chooses its directories; the image is the first's. */
	if (cli_libdirs_choose(&a.libdirs) < 0)
		return MYRIAD_EXIT_USAGE;
	rc = run_action(a.action, a.libdirs.dirs[0]);
	cli_libdirs_exit(&a.libdirs);
	return rc;
}
