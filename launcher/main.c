/* SPDX-License-Identifier: MIT */
/*
 * myriad - the launcher's entry: tell subcommands from programs.
 *
 * The rule (docs/launcher.md): the first argument names a subcommand when it
 * is a bare word, i.e. it does not start with '-', contains no '/', and does
 * not end in ".myr".  Anything else starts a program run, options first.
 * The kernel always passes a shebang program's path with a '/', so a program
 * can never be mistaken for a subcommand; a program in the current directory
 * is run as ./name.
 */
#include <string.h>
#include <sys/auxv.h>
#include "cli.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct subcommand subcommands[] = {
	{ "link",   cmd_link },
	{ "info",   cmd_info },
	{ "policy", cmd_policy },
	{ "cache",  cmd_cache },
	{ "serve",  cmd_serve },
};

static int is_bare_word(const char *arg)
{
	size_t len = strlen(arg);
	if (arg[0] == '-' || strchr(arg, '/'))
		return 0;
	return !(len >= 4 && strcmp(arg + len - 4, ".myr") == 0);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && is_bare_word(argv[1])) {
		for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
			if (strcmp(argv[1], subcommands[i].name) != 0)
				continue;
			/* A setuid/setgid copy would write (link -o, cache,
			 * policy --bpf) or read (info) files with privileges
			 * its caller does not have: it only runs programs. */
			if (getauxval(AT_SECURE)) {
				cli_error("%s: refused: this launcher is setuid or "
					  "setgid (AT_SECURE) and only runs "
					  "programs", argv[1]);
				return MYRIAD_EXIT_USAGE;
			}
			return subcommands[i].fn(argc - 1, argv + 1);
		}
		cli_error("unknown command '%s' (to run a program in the current "
			  "directory, write ./%s; see myriad --help)", argv[1], argv[1]);
		return MYRIAD_EXIT_USAGE;
	}
	return cmd_run(argc, argv);
}
