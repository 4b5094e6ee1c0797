/* SPDX-License-Identifier: MIT */
/*
 * example-greet: a library module, packaged as myriad-example-greet and
 * installed as /usr/lib/myriad/example-greet.myr (docs/packaging.md).
 * Version 1.2 added greet_count(); a program linked against 1.2 needs
 * 1.2 or a later 1.x, which its package's dependency says.
 */
#include <stdio.h>

static unsigned greetings;

int greet(const char *who)
{
	greetings++;
	return printf("hello, %s, from example-greet\n", who);
}

unsigned greet_count(void)
{
	return greetings;
}
