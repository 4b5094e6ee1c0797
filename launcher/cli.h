/* SPDX-License-Identifier: MIT */
/*
 * launcher/cli.h - what the launcher's commands share: exit codes, messages.
 *
 * The launcher owns the command line, every message and every exit code;
 * libmyriad only returns -errno and fills struct myr_error / myr_diag.
 * Exit codes are documented in docs/launcher.md.
 */
#ifndef MYRIAD_LAUNCHER_CLI_H
#define MYRIAD_LAUNCHER_CLI_H

#include <myriad/error.h>

#define MYRIAD_EXIT_OK       0
#define MYRIAD_EXIT_FAILURE  1    /* a subcommand failed (link, info, ...) */
#define MYRIAD_EXIT_USAGE    2    /* bad command line */
#define MYRIAD_EXIT_LOAD     127  /* the program could not be loaded; no
                                     module code has run */

#ifndef MYRIAD_VERSION
#define MYRIAD_VERSION "0.1.0"
#endif

/* "myriad: " + message + "\n" on stderr, written with one write(2). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A struct myr_diag whose lines go to stderr, each prefixed "myriad: ". */
void cli_diag_init(struct myr_diag *diag);

/* The launcher's own host module, as the loader and the cache see it
 * (launcher/cmd_run.c). */
struct myr_host_binding;
void cli_host_binding(struct myr_host_binding *h);

/* Subcommands.  argv[0] is the subcommand's name; return the exit code. */
int cmd_run(int argc, char **argv);     /* argv[0] is "myriad" here */
int cmd_link(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_cache(int argc, char **argv);

#endif
