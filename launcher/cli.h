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

#include <stddef.h>
#include <stdint.h>
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

/*
 * Read all of a regular file named on the command line into a malloc()ed
 * (hence 8-aligned, as the module reader requires) buffer with one spare
 * byte.  O_NONBLOCK keeps a FIFO from hanging the open and fstat refuses
 * anything but a regular file, so a FIFO or device never hangs a command.
 * what names the limit in the message ("module size limit").  Returns 0,
 * or prints one line naming path and the problem and returns -1.
 */
int cli_read_file(const char *path, uint64_t max, const char *what,
		  uint8_t **out, size_t *len);

/* Subcommands.  argv[0] is the subcommand's name; return the exit code. */
int cmd_run(int argc, char **argv);     /* argv[0] is "myriad" here */
int cmd_link(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_cache(int argc, char **argv);

#endif
