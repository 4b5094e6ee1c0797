/* SPDX-License-Identifier: MIT */
/*
 * launcher/options.c - the one command-line parser of the launcher's
 * commands (run, link, info, policy, cache), driven by each command's
 * option table (cli.h).  The syntax, the same for every command:
 *
 *   --name          a flag; "--name=V" is refused, a flag takes no value
 *   --name V, --name=V, -o V
 *                   an option with a value (the "=" form for long names)
 *   --              ends the options: every argument after it is an operand
 *   -               an operand, unless the command says it is an option
 *
 * Anything else starting with '-' is an unknown option.  Every message
 * starts with the command's prefix ("link: "), as the commands always did.
 */
#include <string.h>
#include "cli.h"

static const struct cli_option *find_option(const struct cli_command *cmd,
					    const char *arg, const char **value)
{
	*value = NULL;
	for (const struct cli_option *o = cmd->options; o->name; o++) {
		size_t n = strlen(o->name);
		if (strcmp(arg, o->name) == 0 ||
		    (o->alias && strcmp(arg, o->alias) == 0))
			return o;
		if (o->takes_value && o->name[1] == '-' &&
		    strncmp(arg, o->name, n) == 0 && arg[n] == '=') {
			*value = arg + n + 1;
			return o;
		}
	}
	return NULL;
}

static int unknown_option(const struct cli_command *cmd, const char *arg)
{
	if (cmd->name)
		cli_error("%s: unknown option '%s' (see myriad %s --help)",
			  cmd->name, arg, cmd->name);
	else
		cli_error("unknown option '%s' (see myriad --help)", arg);
	return MYRIAD_EXIT_USAGE;
}

static int missing_value(const struct cli_command *cmd,
			 const struct cli_option *o)
{
	char prefix[32] = "";

	if (cmd->name)
		strcat(strncat(prefix, cmd->name, sizeof(prefix) - 3), ": ");
	if (o->missing)
		cli_error("%s%s", prefix, o->missing);
	else if (cmd->missing_says_option)
		cli_error("%soption %s needs a value", prefix, o->name);
	else
		cli_error("%s%s needs a value", prefix, o->name);
	return MYRIAD_EXIT_USAGE;
}

int cli_parse(const struct cli_command *cmd, int argc, char **argv,
	      void *ctx, int *next)
{
	int options_done = 0, r;

	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];
		const struct cli_option *o;
		const char *value;

		if (!options_done && strcmp(arg, "--") == 0) {
			options_done = 1;
			continue;
		}
		if (options_done || arg[0] != '-' ||
		    (arg[1] == '\0' && !cmd->dash_is_option)) {
			if (cmd->stop_at_operand) {
				*next = i;
				return CLI_NEXT;
			}
			r = cmd->operand(ctx, arg);
			if (r != CLI_NEXT)
				return r;
			continue;
		}
		o = find_option(cmd, arg, &value);
		if (!o)
			return unknown_option(cmd, arg);
		if (o->takes_value && !value) {
			if (i + 1 < argc)
				value = argv[++i];
			else if (o->missing_as_empty)
				value = "";
			else
				return missing_value(cmd, o);
		}
		r = o->set(ctx, o, value);
		if (r != CLI_NEXT)
			return r;
	}
	*next = argc;
	return CLI_NEXT;
}
