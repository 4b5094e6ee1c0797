/* SPDX-License-Identifier: MIT */
/*
 * dlplugin.c - a plug-in that tests/modules/host_dl.c opens with dlopen():
 * a module (`myriad link`, a --needs of the program) or, natively, a
 * shared object.  It uses libc itself, so its own imports are bound too.
 */
#include <stdio.h>
#include <string.h>

int plugin_calls;
const char plugin_name[] = "dlplugin";

int plugin_scale(int x);
int plugin_describe(char *buf, size_t len, int x);

int plugin_scale(int x)
{
	plugin_calls++;
	return 7 * x + 1;
}

int plugin_describe(char *buf, size_t len, int x)
{
	plugin_calls++;
	return snprintf(buf, len, "%s scales %d to %d", plugin_name, x, 7 * x + 1);
}
