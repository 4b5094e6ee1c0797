/* SPDX-License-Identifier: MIT */
/*
 * launcher/host_dl.c - dlopen, dlsym, dlclose and dlerror over modules
 * (docs/host.md, "Dynamic loading"): the host module's DL group.
 *
 * Nothing is ever loaded: dlopen() names a module, by the base name of the
 * path it is given up to the first '.', and succeeds only if that module
 * is already part of the program's loaded image (a dependency of some
 * module in the closure: a plug-in is a --needs-optional one, absent
 * without error when its file is not there).  dlsym() is the context object's lookup.
 * So no ELF file and no module outside the closure the loader verified
 * can ever reach the process through these functions, and the image is
 * never changed after the sandbox is in place.
 *
 * Handles are entries of a list that is never freed (modules are never
 * unloaded): a handle stays valid for the process's lifetime, dlclose()
 * only counts, and a pointer that is not a handle is refused rather than
 * dereferenced.  Single-threaded, like the rest of the host module.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <myriad/host.h>
#include <myriad/loader.h>
#include <myriad/module.h>

void *myr_host_dlopen(const char *file, int mode);
void *myr_host_dlsym(void *handle, const char *symbol);
int myr_host_dlclose(void *handle);
char *myr_host_dlerror(void);

/* glibc's values, which musl shares (dlfcn.h). */
#define DL_LAZY     0x00001
#define DL_NOW      0x00002
#define DL_NOLOAD   0x00004
#define DL_DEEPBIND 0x00008
#define DL_GLOBAL   0x00100
#define DL_NODELETE 0x01000
#define DL_KNOWN    (DL_LAZY | DL_NOW | DL_NOLOAD | DL_DEEPBIND | DL_GLOBAL | \
		     DL_NODELETE)
#define DL_DEFAULT  ((void *)0)
#define DL_NEXT     ((void *)-1)

struct dl_handle {
	struct dl_handle *next;
	unsigned long opens;            /* dlopen()s not yet dlclose()d */
	int program;                    /* dlopen(NULL): the program */
	char name[MYR_NAME_MAX + 1];
};

static const struct myr_loader *dl_loader;
static struct dl_handle *dl_handles;
static char dl_message[MYR_NAME_MAX + MYR_SYMBOL_MAX + 256];
static int dl_pending;

void myr_host_dl_init(const struct myr_loader *loader)
{
	dl_loader = loader;
}

__attribute__((format(printf, 1, 2)))
static void *dl_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dl_message, sizeof(dl_message), fmt, ap);
	va_end(ap);
	dl_pending = 1;
	return NULL;
}

static struct dl_handle *dl_find_handle(const void *handle)
{
	for (struct dl_handle *h = dl_handles; h; h = h->next)
		if (h == handle)
			return h;
	return NULL;
}

/* The module a path names: its base name up to the first '.', so that
 * "plugins/libfoo.so.1", "foo.myr" and "foo" all name a module; NULL (and
 * the message set) if that is not a valid module name. */
static const char *dl_module_name(const char *file, char *name)
{
	const char *base = strrchr(file, '/');
	size_t len;

	base = base ? base + 1 : file;
	len = strcspn(base, ".");
	if (len == 0 || len > MYR_NAME_MAX || !myr_name_valid(base, len)) {
		dl_fail("%.*s: no module name in this path (the base name up to "
			"its first '.' must be a module name)", 200, file);
		return NULL;
	}
	memcpy(name, base, len);
	name[len] = '\0';
	return name;
}

void *myr_host_dlopen(const char *file, int mode)
{
	char name[MYR_NAME_MAX + 1];
	struct dl_handle *h;
	int program = file == NULL;

	if ((mode & (DL_LAZY | DL_NOW)) == 0 || (mode & ~DL_KNOWN) != 0)
		return dl_fail("invalid mode for dlopen(): %#x", (unsigned)mode);
	if (!program && !dl_module_name(file, name))
		return NULL;
	if (!dl_loader)
		return dl_fail("dlopen: no program is loaded");
	if (!program && !myr_loader_has_module(dl_loader, name))
		return dl_fail("%.*s: module '%s' is not loaded: only modules of "
			       "the program's closure can be opened (link the "
			       "program with --needs-optional %s.myr, and put the "
			       "file in a library directory; docs/host.md)",
			       200, file, name, name);
	for (h = dl_handles; h; h = h->next)
		if (h->program == program && (program || strcmp(h->name, name) == 0))
			break;
	/* Every module of the image counts as loaded: RTLD_NOLOAD changes
	 * nothing. */
	if (!h) {
		h = calloc(1, sizeof(*h));
		if (!h)
			return dl_fail("dlopen: out of memory");
		h->program = program;
		if (!program)
			strcpy(h->name, name);
		h->next = dl_handles;
		dl_handles = h;
	}
	h->opens++;
	return h;
}

void *myr_host_dlsym(void *handle, const char *symbol)
{
	struct dl_handle *h;
	void *addr;

	if (handle == DL_DEFAULT || handle == DL_NEXT)
		return dl_fail("dlsym: RTLD_DEFAULT and RTLD_NEXT are not "
			       "supported: look symbols up in a handle from "
			       "dlopen()");
	h = dl_find_handle(handle);
	if (!h || h->opens == 0)
		return dl_fail("dlsym: invalid handle");
	if (!symbol)
		return dl_fail("dlsym: no symbol name");
	addr = myr_loader_lookup(dl_loader, h->program ? NULL : h->name, symbol);
	if (!addr)
		return dl_fail("%s: undefined symbol: %.*s",
			       h->program ? "the program" : h->name,
			       MYR_SYMBOL_MAX, symbol);
	return addr;
}

int myr_host_dlclose(void *handle)
{
	struct dl_handle *h = dl_find_handle(handle);
	if (!h || h->opens == 0) {
		dl_fail("dlclose: invalid handle");
		return -1;
	}
	h->opens--;
	return 0;
}

char *myr_host_dlerror(void)
{
	if (!dl_pending)
		return NULL;
	dl_pending = 0;
	return dl_message;
}
