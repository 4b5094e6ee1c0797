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

/* The release, from debian/changelog's first entry (build.sh passes it):
 * the package's version and the launcher's are the same string. */
#ifndef MYRIAD_VERSION
#error "MYRIAD_VERSION is not defined: build with ./build.sh, which reads it from debian/changelog"
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

/* ---- the command line (options.c) ----------------------------------- */

/* An option handler's "go on"; any other return value ends the parse with
 * that exit status (MYRIAD_EXIT_OK after --help, MYRIAD_EXIT_USAGE after
 * saying what is wrong). */
#define CLI_NEXT (-1)

struct cli_option {
	const char *name;          /* "--libdir", "-o" */
	const char *alias;         /* another spelling ("-h"), or NULL */
	int takes_value;           /* "--name V" or "--name=V" */
	/* With no value left: call set with "" (so that its own message says
	 * what is wrong), instead of saying "NAME needs a value". */
	int missing_as_empty;
	const char *missing;       /* the whole message when the value is
	                              missing (after the command's prefix),
	                              or NULL */
	/* Apply the option; value is NULL for a flag.  Returns CLI_NEXT or an
	 * exit status. */
	int (*set)(void *ctx, const struct cli_option *opt, const char *value);
	int key;                   /* for set: which option of a family */
};

struct cli_command {
	const char *name;          /* "link"; NULL for a launch (myriad ...) */
	const struct cli_option *options;  /* ended by a { NULL } entry */
	/* An operand (a non-option argument); CLI_NEXT or an exit status.
	 * Unused with stop_at_operand. */
	int (*operand)(void *ctx, char *arg);
	int stop_at_operand;       /* options end at the first operand (a
	                              launch: the program), *next says where */
	int dash_is_option;        /* "-" alone is an (unknown) option */
	int missing_says_option;   /* "option NAME needs a value" */
};

/*
 * Parse argv[1..argc) against cmd's table, calling each option's set and
 * the operand callback in order, with ctx.  Returns CLI_NEXT when the
 * command should go on (*next: the index of the first argument not
 * parsed: the program with stop_at_operand, else argc), or the exit status
 * to return now (the message already printed).
 */
int cli_parse(const struct cli_command *cmd, int argc, char **argv,
	      void *ctx, int *next);

/* ---- the library directories (libdirs.c) ------------------------------ */

#ifndef MYRIAD_DEFAULT_LIBDIR
#define MYRIAD_DEFAULT_LIBDIR "/usr/lib/myriad"
#endif
#define CLI_LIBDIRS_MAX 64

struct cli_libdirs {
	const char *dirs[CLI_LIBDIRS_MAX];
	unsigned n;
	char *env_copy;            /* MYRIAD_LIBRARY_PATH, split in place */
};

/* A --libdir; -1 after saying there are too many. */
int cli_libdirs_add(struct cli_libdirs *d, const char *dir);
/* Without any --libdir: MYRIAD_LIBRARY_PATH's directories (ignored in a
 * setuid/setgid process), else MYRIAD_DEFAULT_LIBDIR.  Returns 0, or -1
 * after saying why.  d->dirs[0] is the directory whose cache is used. */
int cli_libdirs_choose(struct cli_libdirs *d);
void cli_libdirs_exit(struct cli_libdirs *d);

/* The name of the option that arg (one argv item) is, when it weakens the
 * sandbox or changes the library directories or limits ("--libdir",
 * "--pool-", "--sandbox=off"); NULL otherwise (launcher/cmd_run.c). */
const char *cli_option_weakens(const char *arg);

/* Subcommands.  argv[0] is the subcommand's name; return the exit code. */
int cmd_run(int argc, char **argv);     /* argv[0] is "myriad" here */
int cmd_link(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* The loader service's socket: given (--socket), else $MYRIAD_SOCKET
 * unless the process is setuid/setgid, else the default path. */
const char *cli_service_socket(const char *given);

#endif
