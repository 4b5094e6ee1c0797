/* SPDX-License-Identifier: MIT */
/*
 * The program part of a synthetic bench program: calls the root module
 * (m000000, which reaches every other module) and prints its checksum.
 * Built as main() for the ELF and static variants and as a Myriad entry
 * point with -DBENCH_MYRIAD; it only needs puts(), which every variant's
 * C library and Myriad's host module provide.
 */
#include <stdint.h>

uint64_t m000000_a(void);
int puts(const char *s);

static int report(void)
{
	static const char digits[] = "0123456789abcdef";
	char line[] = "bench checksum 0123456789abcdef";
	char *hex = line + sizeof(line) - 1 - 16;
	uint64_t sum = m000000_a();
	for (int i = 15; i >= 0; i--, sum >>= 4)
		hex[i] = digits[sum & 15];
	return puts(line) < 0;
}

#ifdef BENCH_MYRIAD
struct myriad_ctx;

int bench_entry(const struct myriad_ctx *ctx)
{
	(void)ctx;
	return report();
}
#else
int main(void)
{
	return report();
}
#endif
