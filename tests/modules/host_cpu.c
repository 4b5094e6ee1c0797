/* SPDX-License-Identifier: MIT */
/*
 * host_cpu.c - __builtin_cpu_supports and __builtin_cpu_is in a module.
 *
 * The launcher runs libgcc's CPU detection only when a program binds
 * __cpu_model or __cpu_indicator_init (launcher/host.c), yet before any
 * module code: this program's constructor asks first, and its answers must
 * be those of main's, which must be those of the same source built natively
 * (tests/cli/host.t).  Built with -DHOST_CPU_INIT, main calls
 * __builtin_cpu_init() too (an import of __cpu_indicator_init); without,
 * the program imports __cpu_model alone.  Every feature below is one of
 * __cpu_model's own bits: gcc reads the others from __cpu_features2, which
 * the host module does not export.
 */
#include <stdio.h>
#include <string.h>

#define CPU_FEATURES(X) \
	X("cmov") X("mmx") X("popcnt") X("sse") X("sse2") X("sse3") \
	X("ssse3") X("sse4.1") X("sse4.2") X("avx") X("avx2") X("sse4a") \
	X("fma4") X("xop") X("fma") X("avx512f") X("bmi") X("bmi2") \
	X("aes") X("pclmul")

#define CPU_NAMES(X) \
	X("intel") X("amd") X("atom") X("core2") X("corei7") X("nehalem") \
	X("westmere") X("sandybridge") X("ivybridge") X("haswell") \
	X("broadwell") X("skylake") X("skylake-avx512") X("cascadelake") \
	X("icelake-server") X("amdfam10h") X("amdfam15h") X("amdfam17h") \
	X("amdfam19h") X("znver1") X("znver2") X("znver3")

static char seen_by_constructor[256];

/* One character per feature, then per CPU name: '1' or '0'. */
static void answers(char *out)
{
	size_t n = 0;
#define SUPPORTS(f) out[n++] = __builtin_cpu_supports(f) ? '1' : '0';
#define IS(c) out[n++] = __builtin_cpu_is(c) ? '1' : '0';
	CPU_FEATURES(SUPPORTS)
	out[n++] = ' ';
	CPU_NAMES(IS)
#undef SUPPORTS
#undef IS
	out[n] = '\0';
}

__attribute__((constructor)) static void ask_early(void)
{
	answers(seen_by_constructor);
}

static int report(void)
{
	char now[256];
	size_t n = 0;

#ifdef HOST_CPU_INIT
	__builtin_cpu_init();
#endif
	answers(now);
#define PRINT(name) printf("%-16s %c\n", name, now[n++]);
	CPU_FEATURES(PRINT)
	n++;
	CPU_NAMES(PRINT)
#undef PRINT
	printf("constructor saw the same: %s\n",
	       strcmp(now, seen_by_constructor) == 0 ? "yes" : "no");
	return 0;
}

#ifdef NATIVE_MAIN
int main(void)
{
	return report();
}
#else
#include <myriad/myriad.h>

int cpu_main(const struct myriad_ctx *ctx);

int cpu_main(const struct myriad_ctx *ctx)
{
	if (ctx->abi_version != MYRIAD_ABI_VERSION)
		return 1;
	return report();
}
#endif
