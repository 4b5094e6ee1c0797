/* SPDX-License-Identifier: MIT */
/*
 * host_dl.c - dlopen, dlsym, dlclose and dlerror as programs use them for
 * plug-ins.  tests/cli/host.t runs it as a Myriad program (entry dl_main,
 * linked with --needs dlplugin.myr) and natively (-DNATIVE_MAIN, opening
 * dlplugin.so) and compares stdout: both find the plug-in by the path
 * given, call it, read its data, and fail alike on what is not there.
 *
 *   dl PLUGIN_PATH MISSING_PATH    the comparison
 *   dl PLUGIN_PATH errors          prints dlerror()'s messages (Myriad's)
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static int failures;

static void check(int ok, const char *what)
{
	printf("%s: %s\n", what, ok ? "ok" : "FAILED");
	if (!ok)
		failures++;
}

static void show_error(const char *what)
{
	const char *e = dlerror();
	printf("%s: %s\n", what, e ? e : "(no error)");
}

static int dl_run(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: dl PLUGIN_PATH MISSING_PATH|errors\n");
		return 64;
	}
	if (!strcmp(argv[2], "errors")) {
		void *p = dlopen(argv[1], RTLD_NOW);
		show_error("dlopen of the plug-in");
		dlsym(p, "no_such_function");
		show_error("dlsym of a missing name");
		dlopen("/usr/lib/x86_64-linux-gnu/libz.so.1", RTLD_NOW);
		show_error("dlopen of a shared object outside the closure");
		dlopen("...", RTLD_NOW);
		show_error("dlopen of a path without a name");
		dlopen(argv[1], 0);
		show_error("dlopen without RTLD_LAZY or RTLD_NOW");
		dlsym(RTLD_DEFAULT, "plugin_scale");
		show_error("dlsym(RTLD_DEFAULT)");
		dlsym(&failures, "plugin_scale");
		show_error("dlsym on a pointer that is not a handle");
		show_error("dlerror again");
		return 0;
	}

	check(dlerror() == NULL, "no error at first");
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	check(h != NULL, "dlopen the plug-in");
	if (!h) {
		show_error("dlopen");
		return 1;
	}
	int (*scale)(int) = (int (*)(int))dlsym(h, "plugin_scale");
	int (*describe)(char *, size_t, int) =
		(int (*)(char *, size_t, int))dlsym(h, "plugin_describe");
	const char *name = dlsym(h, "plugin_name");
	int *calls = dlsym(h, "plugin_calls");
	check(scale && describe && name && calls, "dlsym finds two functions and two objects");
	if (!scale || !describe || !name || !calls)
		return 1;
	printf("plugin_scale(6) = %d\n", scale(6));
	char buf[64];
	describe(buf, sizeof(buf), 3);
	printf("plugin_describe: %s\n", buf);
	printf("plugin_name: %s, calls: %d\n", name, *calls);

	void *again = dlopen(argv[1], RTLD_LAZY);
	check(again == h, "a second dlopen gives the same handle");
	check(dlclose(again) == 0, "dlclose the second");
	check(dlsym(h, "plugin_scale") == (void *)scale, "the first still works");

	check(dlsym(h, "no_such_function") == NULL, "dlsym of a missing name is NULL");
	check(dlerror() != NULL, "and sets dlerror");
	check(dlerror() == NULL, "which is cleared by reading it");
	check(dlopen(argv[2], RTLD_NOW) == NULL, "dlopen of a missing plug-in is NULL");
	check(dlerror() != NULL, "and sets dlerror");
	check(dlclose(h) == 0, "dlclose");
	printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}

#ifdef NATIVE_MAIN
int main(int argc, char **argv)
{
	return dl_run(argc, argv);
}
#else
#include <myriad/myriad.h>

int dl_main(const struct myriad_ctx *ctx);

int dl_main(const struct myriad_ctx *ctx)
{
	return dl_run(ctx->argc, ctx->argv);
}
#endif
