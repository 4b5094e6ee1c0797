/* SPDX-License-Identifier: MIT */
/*
 * launcher/libdirs.c - which library directories a command uses, the same
 * rule for a launch and for `myriad cache`: every --libdir, in order; else
 * MYRIAD_LIBRARY_PATH's entries (unless the process is setuid/setgid: an
 * attacker's directory would supply the code); else MYRIAD_DEFAULT_LIBDIR.
 * Empty entries are skipped, never taken as the current directory.  The
 * cache of a set of directories is the first one's.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include "cli.h"

int cli_libdirs_add(struct cli_libdirs *d, const char *dir)
{
	if (d->n == CLI_LIBDIRS_MAX) {
		cli_error("too many library directories (at most %u)",
			  CLI_LIBDIRS_MAX);
		return -1;
	}
	d->dirs[d->n++] = dir;
	return 0;
}

int cli_libdirs_choose(struct cli_libdirs *d)
{
	const char *env = getauxval(AT_SECURE) ? NULL :
			  getenv("MYRIAD_LIBRARY_PATH");

	if (d->n)
		return 0;
	if (env && *env) {
		d->env_copy = strdup(env);
		if (!d->env_copy) {
			cli_error("out of memory");
			return -1;
		}
		for (char *save = NULL, *tok = strtok_r(d->env_copy, ":", &save);
		     tok; tok = strtok_r(NULL, ":", &save)) {
			/* A relative entry would make the code that runs
			 * depend on the current directory. */
			if (tok[0] != '/') {
				cli_error("MYRIAD_LIBRARY_PATH: '%s' is a relative "
					  "path (entries must start with /)", tok);
				return -1;
			}
			if (cli_libdirs_add(d, tok) < 0)
				return -1;
		}
	}
	if (!d->n)
		d->dirs[d->n++] = MYRIAD_DEFAULT_LIBDIR;
	return 0;
}

void cli_libdirs_exit(struct cli_libdirs *d)
{
	free(d->env_copy);
	d->env_copy = NULL;
}
