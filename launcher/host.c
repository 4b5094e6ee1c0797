/* SPDX-License-Identifier: MIT */
/*
 * launcher/host.c - the built-in host module's export table.
 *
 * Each entry is the address of the launcher's own definition: musl's libc
 * and libm, libgcc's helpers, and the glibc-ABI shims of host_compat.c.
 * The names are bound through assembler labels rather than C declarations
 * so that one list serves functions and objects alike, no prototype has to
 * be repeated, and names that are builtins or macros (memcpy, stdout)
 * cannot clash.  A name missing from every library fails the static link
 * of the launcher, so every entry resolves to a real, non-NULL address.
 */
#include <myriad/host.h>

/* The launcher's symbol behind each name: its own for every group but
 * MAP, whose names are host_compat.c's myr_host_* wrappers (they refuse
 * PROT_EXEC), because the launcher itself calls musl's mmap and mprotect
 * to map module text, and DL, host_dl.c's lookups over loaded modules,
 * which must not meet musl's static dlopen stubs. */
#define MYR_HOST_PREFIX_CC    ""
#define MYR_HOST_PREFIX_STDIO ""
#define MYR_HOST_PREFIX_MEM   ""
#define MYR_HOST_PREFIX_STR   ""
#define MYR_HOST_PREFIX_CONV  ""
#define MYR_HOST_PREFIX_CTYPE ""
#define MYR_HOST_PREFIX_PROC  ""
#define MYR_HOST_PREFIX_TIME  ""
#define MYR_HOST_PREFIX_FILE  ""
#define MYR_HOST_PREFIX_ERRNO ""
#define MYR_HOST_PREFIX_MATH  ""
#define MYR_HOST_PREFIX_GLIBC ""
#define MYR_HOST_PREFIX_CHK   ""
#define MYR_HOST_PREFIX_RAND  ""
#define MYR_HOST_PREFIX_SIG   ""
#define MYR_HOST_PREFIX_SPAWN ""
#ifndef MYR_HOST_PREFIX_DL
#define MYR_HOST_PREFIX_DL    "myr_host_"
#endif
#ifndef MYR_HOST_PREFIX_MAP
#define MYR_HOST_PREFIX_MAP   "myr_host_"
#endif

#define MYR_HOST_DECLARE(name, group) \
	extern char myr_host_sym_##name[] __asm__(MYR_HOST_PREFIX_##group #name);
MYR_HOST_SYMBOLS(MYR_HOST_DECLARE, MYR_HOST_DECLARE)
#undef MYR_HOST_DECLARE

/* libgcc's CPU model detection (cpuinfo.o), which fills __cpu_model and
 * may run any number of times.  build.sh links a copy of it without its
 * constructor: run at every start-up it was the launcher's largest single
 * cost (CPUID traps to the hypervisor), for the few programs that ask. */
extern int myr_host_cpu_indicator_init(void) __asm__("__cpu_indicator_init");

#define MYR_HOST_FUNC(name, group) \
	{ #name, myr_host_sym_##name, MYR_SYM_FUNC },
#define MYR_HOST_OBJECT(name, group) \
	{ #name, myr_host_sym_##name, MYR_SYM_OBJECT },
const struct myr_host_symbol myr_host_symbols[] = {
	MYR_HOST_SYMBOLS(MYR_HOST_FUNC, MYR_HOST_OBJECT)
};
#undef MYR_HOST_FUNC
#undef MYR_HOST_OBJECT

const size_t myr_host_symbol_count =
	sizeof(myr_host_symbols) / sizeof(myr_host_symbols[0]);

/* strcmp() order between the len bytes at name and the C string sym,
 * without reading past either. */
static int compare_name(const char *name, size_t len, const char *sym)
{
	size_t i = 0;
	for (; i < len && sym[i] != '\0'; i++) {
		if (name[i] != sym[i])
			return (unsigned char)name[i] < (unsigned char)sym[i] ? -1 : 1;
	}
	if (i == len)
		return sym[i] == '\0' ? 0 : -1;
	return 1;
}

/* Every binding of a host symbol comes through myr_host_find() before any
 * module code runs, so a module that reads __cpu_model (directly, or
 * through __builtin_cpu_supports) finds it filled, constructors included. */
static const struct myr_host_symbol *prepare(const struct myr_host_symbol *s)
{
	if (s->addr == myr_host_sym___cpu_model ||
	    s->addr == myr_host_sym___cpu_indicator_init)
		myr_host_cpu_indicator_init();
	return s;
}

const struct myr_host_symbol *myr_host_find(const char *name, size_t len)
{
	size_t lo = 0, hi = myr_host_symbol_count;

	if (name == NULL)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = compare_name(name, len, myr_host_symbols[mid].name);
		if (c == 0)
			return prepare(&myr_host_symbols[mid]);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
