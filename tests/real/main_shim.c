/* SPDX-License-Identifier: MIT */
/*
 * main_shim.c - the entry of a real program built as a module: the
 * launcher enters a program at `int ENTRY(const struct myriad_ctx *)`
 * (docs/link.md, --entry), while the programs tests/real/ builds start at
 * main(argc, argv).  Linked into each program with --entry myriad_main.
 */
#include <myriad/myriad.h>

int main(int argc, char **argv);
int myriad_main(const struct myriad_ctx *ctx);

int myriad_main(const struct myriad_ctx *ctx)
{
	return main(ctx->argc, ctx->argv);
}
