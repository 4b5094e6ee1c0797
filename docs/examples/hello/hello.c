/* SPDX-License-Identifier: MIT */
/*
 * myriad-example-hello: a program module installed as
 * /usr/bin/myriad-example-hello with no #! line; the kernel hands it to
 * /usr/bin/myriad through the binfmt_misc entry of the myriad package.
 */
#include <myriad/myriad.h>

int greet(const char *who);
unsigned greet_count(void);

int hello_main(const struct myriad_ctx *ctx)
{
	for (int i = 1; i < ctx->argc; i++)
		greet(ctx->argv[i]);
	if (ctx->argc < 2)
		greet("world");
	return greet_count() == (unsigned)(ctx->argc < 2 ? 1 : ctx->argc - 1) ? 0 : 1;
}
