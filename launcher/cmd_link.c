/* SPDX-License-Identifier: MIT */
/*
 * launcher/cmd_link.c - `myriad link`: ELF objects in, one module file out.
 *
 * This file owns the command line, the files and the messages; the
 * conversion itself is lib/convert/elf_link.c (docs/link.md).  The output is
 * written to a temporary file in the same directory and renamed into place,
 * so a failed link never leaves a partial or stale-looking module behind.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <myriad/elf2myr.h>
#include <myriad/host.h>
#include <myriad/sandbox.h>
#include <myriad/module.h>
#include "cli.h"

/* Objects with debug information can be far larger than any module. */
#define LINK_DEFAULT_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: myriad link -o OUT [--name NAME] [--version X.Y.Z] [--entry SYMBOL]\n"
		"                   [--needs DEP.myr]... [--needs-optional DEP.myr]...\n"
		"                   [--libdir DIR]... [--cap CAP]... [--shebang INTERPRETER]\n"
		"                   [--no-compress] [@FILE]... OBJECT.o...\n"
		"Turn ELF64 x86-64 relocatable objects (gcc/clang -c -fPIC) into a Myriad module.\n"
		"  --entry SYMBOL   make a program entered at SYMBOL; without it, a library\n"
		"  --needs DEP.myr  bind undefined symbols to DEP's exports (in order), then to\n"
		"                   the launcher's built-in module \"" MYR_HOST_MODULE_NAME "\"\n"
		"  --needs-optional DEP.myr  a dependency that may be absent at run time;\n"
		"                   nothing is bound to it (find its symbols with ctx->lookup)\n"
		"  --libdir DIR     where a program's closure hint looks for its dependencies'\n"
		"                   dependencies, before the directories of the --needs files\n"
		"  @FILE            read more arguments from FILE (whitespace-separated, quotes\n"
		"                   and backslashes as GNU ld)\n"
		"  --cap CAP        fs-read, fs-write, net, spawn or threads (programs only)\n"
		"  --version        default " LINK_DEFAULT_VERSION "; --name defaults to OUT's base name\n"
		"See docs/link.md.\n");
}

static int parse_version(const char *s, uint16_t v[3])
{
	for (int i = 0; i < 3; i++) {
		unsigned long n = 0;
		const char *start = s;
		while (*s >= '0' && *s <= '9') {
			n = n * 10 + (unsigned long)(*s - '0');
			if (n > UINT16_MAX)
				return -1;
			s++;
		}
		if (s == start || (s - start > 1 && *start == '0'))
			return -1;
		v[i] = (uint16_t)n;
		if (i < 2 && *s++ != '.')
			return -1;
	}
	return *s ? -1 : 0;
}

/* Write data to path atomically with the given mode. */
static int write_atomic(const char *path, const uint8_t *data, size_t len,
			mode_t mode)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	if (!tmp) {
		cli_error("%s: out of memory", path);
		return -1;
	}
	/* Same directory as path, so rename() is atomic. */
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		cli_error("%s: cannot create a temporary file: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	size_t done = 0;
	const char *fail = NULL;
	int saved = 0;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fail = "write";
			saved = n < 0 ? errno : ENOSPC;
			break;
		}
		done += (size_t)n;
	}
	if (!fail && fchmod(fd, mode) < 0) {
		fail = "chmod";
		saved = errno;
	}
	if (close(fd) < 0 && !fail) {
		fail = "close";
		saved = errno;
	}
	if (!fail && rename(tmp, path) < 0) {
		fail = "rename";
		saved = errno;
	}
	if (fail) {
		unlink(tmp);
		cli_error("%s: %s failed: %s", path, fail, strerror(saved));
	}
	free(tmp);
	return fail ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* @FILE response files                                                */
/* ------------------------------------------------------------------ */

/* A response file is read whole; nesting stops here (a file naming
 * itself would otherwise expand forever). */
#define RESPONSE_FILE_MAX   (256u << 20)
#define RESPONSE_DEPTH_MAX  16

struct argv_buf {
	char **v;
	size_t n, cap;
	char **owned;           /* strings to free: one per response file */
	size_t nowned, capowned;
};

static int grow_ptrs(char ***v, size_t *cap, size_t want)
{
	if (want <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 64;
	while (ncap < want)
		ncap *= 2;
	char **p = realloc(*v, ncap * sizeof(*p));
	if (!p)
		return -1;
	*v = p;
	*cap = ncap;
	return 0;
}

static int argv_push(struct argv_buf *b, char *arg)
{
	if (grow_ptrs(&b->v, &b->cap, b->n + 2) < 0)
		return -1;
	b->v[b->n++] = arg;
	b->v[b->n] = NULL;
	return 0;
}

static int argv_expand(struct argv_buf *b, char *arg, int depth);

/*
 * Split a response file's text in place into arguments, as GNU ld (through
 * libiberty's expandargv) does: whitespace separates; single or double
 * quotes keep whitespace inside an argument; a backslash makes the next
 * character literal.  Each argument may itself be @FILE.
 */
static int response_split(struct argv_buf *b, char *text, size_t len,
			  const char *path, int depth)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && strchr(" \t\n\r\f\v", text[i]) && text[i])
			i++;
		if (i >= len)
			break;
		char *out = text + i, *start = out, quote = 0;
		while (i < len) {
			char c = text[i];
			if (c == '\0') {
				cli_error("link: response file %s: a NUL byte at offset %zu",
					  path, i);
				return -1;
			}
			if (!quote && strchr(" \t\n\r\f\v", c))
				break;
			i++;
			if (c == '\\') {
				if (i >= len)
					break;
				*out++ = text[i++];
			} else if (quote && c == quote) {
				quote = 0;
			} else if (!quote && (c == '\'' || c == '"')) {
				quote = c;
			} else {
				*out++ = c;
			}
		}
		if (quote) {
			cli_error("link: response file %s: unterminated %c quote", path,
				  quote);
			return -1;
		}
		/* The separator (or the file's spare byte) ends the argument. */
		i++;
		*out = '\0';
		if (argv_expand(b, start, depth + 1) < 0)
			return -1;
	}
	return 0;
}

/* Append arg, or the arguments of the response file it names. */
static int argv_expand(struct argv_buf *b, char *arg, int depth)
{
	if (arg[0] != '@' || !arg[1])
		return argv_push(b, arg) < 0 ? (cli_error("out of memory"), -1) : 0;
	if (depth > RESPONSE_DEPTH_MAX) {
		cli_error("link: response file %s: nested more than %d deep "
			  "(does it name itself?)", arg + 1, RESPONSE_DEPTH_MAX);
		return -1;
	}
	uint8_t *text;
	size_t len;
	if (cli_read_file(arg + 1, RESPONSE_FILE_MAX, "response file size limit",
			  &text, &len) < 0)
		return -1;
	text[len] = '\0';
	if (grow_ptrs(&b->owned, &b->capowned, b->nowned + 1) < 0) {
		free(text);
		cli_error("out of memory");
		return -1;
	}
	b->owned[b->nowned++] = (char *)text;
	return response_split(b, (char *)text, len, arg + 1, depth);
}

static void argv_buf_free(struct argv_buf *b)
{
	for (size_t i = 0; i < b->nowned; i++)
		free(b->owned[i]);
	free(b->owned);
	free(b->v);
}

/* ------------------------------------------------------------------ */
/* Names seen, and a program's closure hint                            */
/* ------------------------------------------------------------------ */

/* Module names seen, by index into a caller's array of names. */
struct name_set {
	uint32_t *slot;          /* index + 1; 0 is empty */
	uint32_t cap;
};

static uint32_t name_set_find(const struct name_set *s, const char *const *names,
			      const char *name, int *found)
{
	uint32_t mask = s->cap - 1;
	uint32_t i = myr_symbol_hash(name, (uint32_t)strlen(name)) & mask;
	for (; s->slot[i]; i = (i + 1) & mask)
		if (strcmp(names[s->slot[i] - 1], name) == 0) {
			*found = 1;
			return i;
		}
	*found = 0;
	return i;
}

static int name_set_init(struct name_set *s, size_t n)
{
	s->cap = 64;
	while (s->cap < 2 * n + 2)
		s->cap *= 2;
	s->slot = calloc(s->cap, sizeof(*s->slot));
	return s->slot ? 0 : -1;
}

/* Where a program's closure hint looks for modules, for
 * myr_module_closure_hint(), and the file it read last. */
struct hint_search {
	const char **dirs;
	size_t ndirs;
	uint8_t *buf;            /* the last module read, until the next */
};

/* myr_closure_find_fn: NAME.myr in the first directory holding it, as the
 * launcher looks; a required module in none gets a warning (the launcher
 * looks for it at run time), an optional one silence. */
static int hint_find(void *opaque, const char *name, const char *needed_by,
		     int optional, struct myr_module_view *view)
{
	struct hint_search *h = opaque;

	free(h->buf);
	h->buf = NULL;
	for (size_t d = 0; d < h->ndirs; d++) {
		size_t plen = strlen(h->dirs[d]) + strlen(name) + 6, len;
		char *path = malloc(plen);
		if (!path) {
			cli_error("out of memory");
			return -ENOMEM;
		}
		snprintf(path, plen, "%s/%s.myr", h->dirs[d], name);
		if (access(path, F_OK) < 0) {
			free(path);
			continue;
		}
		struct myr_error err = { 0 };
		int r = -EINVAL;
		if (cli_read_file(path, MYR_FILE_MAX + MYR_SHEBANG_MAX,
				  "module size limit", &h->buf, &len) < 0)
			;
		else if (myr_module_parse(h->buf, len, 0, view, &err) < 0)
			cli_error("%s: %s", path, err.msg);
		else if (strcmp(view->name, name) != 0)
			cli_error("%s: is the module %s, not %s", path, view->name, name);
		else
			r = 1;
		free(path);
		return r;
	}
	if (!optional)
		cli_error("link: warning: %s (a dependency of %s) is in none of the "
			  "library directories; the closure hint leaves it out and "
			  "the launcher will look for it at run time", name, needed_by);
	return 0;
}

/* The default module name: OUT's base name without ".myr". */
static char *default_name(const char *out)
{
	const char *base = strrchr(out, '/');
	base = base ? base + 1 : out;
	size_t n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".myr") == 0)
		n -= 4;
	char *name = malloc(n + 1);
	if (name) {
		memcpy(name, base, n);
		name[n] = '\0';
	}
	return name;
}

struct link_args {
	const char *out, *name, *version, *entry, *shebang;
	int compress, help;
	uint32_t caps;
	const char **needs;  size_t nneeds;
	uint32_t *needs_flags;          /* MYR_DEP_OPTIONAL, per --needs */
	const char **libdirs; size_t nlibdirs;
	const char **objs;   size_t nobjs;
};

enum link_opt { L_OUT, L_NAME, L_VERSION, L_ENTRY, L_SHEBANG, L_NEEDS,
		L_NEEDS_OPTIONAL, L_LIBDIR, L_CAP, L_NO_COMPRESS };

static int opt_help(void *ctx, const struct cli_option *opt, const char *v)
{
	(void)opt, (void)v;
	usage(stdout);
	((struct link_args *)ctx)->help = 1;
	return MYRIAD_EXIT_OK;
}

static int opt_set(void *ctx, const struct cli_option *opt, const char *val)
{
	struct link_args *a = ctx;
	uint32_t bit;

	switch ((enum link_opt)opt->key) {
	case L_OUT:         a->out = val; break;
	case L_NAME:        a->name = val; break;
	case L_VERSION:     a->version = val; break;
	case L_ENTRY:       a->entry = val; break;
	case L_SHEBANG:     a->shebang = val; break;
	case L_NEEDS:       a->needs[a->nneeds++] = val; break;
	case L_NEEDS_OPTIONAL:
		a->needs_flags[a->nneeds] = MYR_DEP_OPTIONAL;
		a->needs[a->nneeds++] = val;
		break;
	case L_LIBDIR:
		if (!*val) {
			cli_error("link: empty --libdir");
			return MYRIAD_EXIT_USAGE;
		}
		a->libdirs[a->nlibdirs++] = val;
		break;
	case L_NO_COMPRESS: a->compress = MYR_COMPRESS_NONE; break;
	case L_CAP:
		if (myr_cap_from_name(val, strlen(val), &bit) < 0) {
			cli_error("link: unknown capability '%s' (known: fs-read, "
				  "fs-write, net, spawn, threads)", val);
			return MYRIAD_EXIT_USAGE;
		}
		a->caps |= bit;
		break;
	}
	return CLI_NEXT;
}

static int object_operand(void *ctx, char *arg)
{
	struct link_args *a = ctx;
	a->objs[a->nobjs++] = arg;
	return CLI_NEXT;
}

static const struct cli_option link_options[] = {
	{ .name = "--help", .alias = "-h", .set = opt_help },
	{ .name = "-o", .takes_value = 1, .set = opt_set, .key = L_OUT },
	{ .name = "--name", .takes_value = 1, .set = opt_set, .key = L_NAME },
	{ .name = "--version", .takes_value = 1, .set = opt_set, .key = L_VERSION },
	{ .name = "--entry", .takes_value = 1, .set = opt_set, .key = L_ENTRY },
	{ .name = "--needs", .takes_value = 1, .set = opt_set, .key = L_NEEDS },
	{ .name = "--needs-optional", .takes_value = 1, .set = opt_set,
	  .key = L_NEEDS_OPTIONAL },
	{ .name = "--libdir", .takes_value = 1, .set = opt_set, .key = L_LIBDIR },
	{ .name = "--cap", .takes_value = 1, .set = opt_set, .key = L_CAP },
	{ .name = "--shebang", .takes_value = 1, .set = opt_set, .key = L_SHEBANG },
	{ .name = "--no-compress", .set = opt_set, .key = L_NO_COMPRESS },
	{ .name = NULL },
};

static const struct cli_command link_command = {
	.name = "link", .options = link_options, .operand = object_operand,
	.dash_is_option = 1, .missing_says_option = 1,
};

/* What the options say together. */
static int check_args(const struct link_args *a)
{
	if (!a->out) {
		cli_error("link: no output file (-o OUT)");
		return MYRIAD_EXIT_USAGE;
	}
	if (!a->nobjs) {
		cli_error("link: no object files");
		return MYRIAD_EXIT_USAGE;
	}
	if (a->caps && !a->entry) {
		cli_error("link: --cap is only meaningful for a program (add --entry)");
		return MYRIAD_EXIT_USAGE;
	}
	if (a->entry && !*a->entry) {
		cli_error("link: empty --entry symbol");
		return MYRIAD_EXIT_USAGE;
	}
	if (a->shebang && (!*a->shebang || strpbrk(a->shebang, "\n\r"))) {
		cli_error("link: --shebang needs an interpreter path on one line");
		return MYRIAD_EXIT_USAGE;
	}
	if (a->shebang) {
		/* The kernel passes what follows the interpreter as one
		 * argument; the launcher refuses weakening options that come
		 * from there, so a file that carries one could never run. */
		char tok[256];
		const char *p = a->shebang + strcspn(a->shebang, " \t");
		while (*p) {
			size_t n;
			p += strspn(p, " \t");
			n = strcspn(p, " \t");
			if (n == 0)
				break;
			snprintf(tok, sizeof(tok), "%.*s", (int)n, p);
			const char *bad = cli_option_weakens(tok);
			if (bad) {
				cli_error("link: --shebang '%s': option %s would "
					  "weaken the sandbox or change the library "
					  "directories or limits, and a file may not "
					  "(the launcher refuses it from a #! line)",
					  a->shebang, bad);
				return MYRIAD_EXIT_USAGE;
			}
			p += n;
		}
	}
	return 0;
}

/* Returns 0; or the exit status (MYRIAD_EXIT_OK after --help), after
 * saying why. */
static int parse_args(int argc, char **argv, struct link_args *a)
{
	int next, r;

	a->compress = MYR_COMPRESS_PAGES;
	a->needs = calloc((size_t)argc, sizeof(*a->needs));
	a->needs_flags = calloc((size_t)argc, sizeof(*a->needs_flags));
	a->libdirs = calloc((size_t)argc, sizeof(*a->libdirs));
	a->objs = calloc((size_t)argc, sizeof(*a->objs));
	if (!a->needs || !a->needs_flags || !a->libdirs || !a->objs) {
		cli_error("out of memory");
		return MYRIAD_EXIT_FAILURE;
	}
	r = cli_parse(&link_command, argc, argv, a, &next);
	return r != CLI_NEXT ? r : check_args(a);
}

/* Each --needs file's directory, after the --libdir ones, each once:
 * where a program's closure hint looks.  NULL when out of memory. */
static const char **hint_dirs(const struct link_args *a, size_t *n)
{
	const char **dirs = calloc(a->nlibdirs + a->nneeds + 1, sizeof(*dirs));
	if (!dirs)
		return NULL;
	*n = 0;
	for (size_t i = 0; i < a->nlibdirs; i++)
		dirs[(*n)++] = a->libdirs[i];
	for (size_t i = 0; i < a->nneeds; i++) {
		const char *slash = strrchr(a->needs[i], '/');
		char *dir = slash ? strndup(a->needs[i], (size_t)(slash - a->needs[i])) :
			    strdup(".");
		if (!dir)
			goto oom;
		if (!*dir) {
			free(dir);
			dir = strdup("/");
			if (!dir)
				goto oom;
		}
		size_t k = a->nlibdirs;
		while (k < *n && strcmp(dirs[k], dir) != 0)
			k++;
		if (k < *n)
			free(dir);
		else
			dirs[(*n)++] = dir;
	}
	return dirs;
oom:
	for (size_t i = a->nlibdirs; i < *n; i++)
		free((char *)dirs[i]);
	free(dirs);
	return NULL;
}

/* Everything one link reads and builds, freed by link_job_free(). */
struct link_job {
	struct link_args a;
	struct argv_buf args;
	struct hint_search hint;
	struct myr_desc_dep *closure;
	size_t nclosure;
	struct name_set needs_seen;
	uint8_t **objbuf, **depbuf, *out;
	struct myr_link_object *objs;
	struct myr_link_dep *deps;
	struct myr_module_view *views;
	const char **host_names, **needs_names;
	char *name;
	size_t out_len;
	uint16_t ver[3];
};

static void link_job_free(struct link_job *j)
{
	for (size_t i = 0; j->objbuf && i < j->a.nobjs; i++)
		free(j->objbuf[i]);
	for (size_t i = 0; j->depbuf && i < j->a.nneeds; i++)
		free(j->depbuf[i]);
	for (size_t i = j->a.nlibdirs; j->hint.dirs && i < j->hint.ndirs; i++)
		free((char *)j->hint.dirs[i]);
	free(j->hint.dirs);
	free(j->hint.buf);
	free(j->closure);
	free(j->needs_seen.slot);
	free(j->objbuf);
	free(j->depbuf);
	free(j->objs);
	free(j->deps);
	free(j->views);
	free(j->needs_names);
	free(j->host_names);
	free(j->name);
	free(j->out);
	free(j->a.needs);
	free(j->a.needs_flags);
	free(j->a.libdirs);
	free(j->a.objs);
	argv_buf_free(&j->args);
}

/* The steps below return MYRIAD_EXIT_OK to go on, or the exit status. */

static int link_version_and_name(struct link_job *j)
{
	const struct link_args *a = &j->a;

	if (parse_version(a->version ? a->version : LINK_DEFAULT_VERSION, j->ver) < 0) {
		cli_error("link: --version '%s' is not MAJOR.MINOR.PATCH (each 0..65535)",
			  a->version);
		return MYRIAD_EXIT_USAGE;
	}
	j->name = a->name ? strdup(a->name) : default_name(a->out);
	if (!j->name) {
		cli_error("out of memory");
		return MYRIAD_EXIT_FAILURE;
	}
	if (!myr_name_valid(j->name, strlen(j->name))) {
		cli_error("link: invalid module name '%s' (%s; 1 to %u characters "
			  "[A-Za-z0-9._+-], starting with a letter or digit)", j->name,
			  a->name ? "--name" : "from the output file name", MYR_NAME_MAX);
		return MYRIAD_EXIT_USAGE;
	}
	if (strcmp(j->name, MYR_HOST_MODULE_NAME) == 0) {
		cli_error("link: the module name '%s' is reserved for the launcher",
			  j->name);
		return MYRIAD_EXIT_USAGE;
	}
	return MYRIAD_EXIT_OK;
}

static int link_alloc(struct link_job *j)
{
	const struct link_args *a = &j->a;

	j->objbuf = calloc(a->nobjs, sizeof(*j->objbuf));
	j->objs = calloc(a->nobjs, sizeof(*j->objs));
	j->depbuf = calloc(a->nneeds + 1, sizeof(*j->depbuf));
	j->deps = calloc(a->nneeds + 1, sizeof(*j->deps));
	j->views = calloc(a->nneeds + 1, sizeof(*j->views));
	j->needs_names = calloc(a->nneeds + 1, sizeof(*j->needs_names));
	j->host_names = calloc(myr_host_symbol_count + 1, sizeof(*j->host_names));
	if (!j->objbuf || !j->objs || !j->depbuf || !j->deps || !j->views ||
	    !j->needs_names || !j->host_names ||
	    name_set_init(&j->needs_seen, a->nneeds)) {
		cli_error("out of memory");
		return MYRIAD_EXIT_FAILURE;
	}
	for (size_t i = 0; i < myr_host_symbol_count; i++)
		j->host_names[i] = myr_host_symbols[i].name;
	return MYRIAD_EXIT_OK;
}

static int link_read_objects(struct link_job *j)
{
	const struct link_args *a = &j->a;

	for (size_t i = 0; i < a->nobjs; i++) {
		size_t len;
		if (cli_read_file(a->objs[i], MYR_ELF_OBJECT_MAX, "object size limit",
				  &j->objbuf[i], &len) < 0)
			return MYRIAD_EXIT_FAILURE;
		j->objs[i] = (struct myr_link_object){ a->objs[i], j->objbuf[i], len };
	}
	return MYRIAD_EXIT_OK;
}

static int link_read_needs(struct link_job *j)
{
	const struct link_args *a = &j->a;

	for (size_t i = 0; i < a->nneeds; i++) {
		struct myr_error err;
		size_t len;
		int found;
		memset(&err, 0, sizeof(err));
		if (cli_read_file(a->needs[i], MYR_FILE_MAX + MYR_SHEBANG_MAX,
				  "module size limit", &j->depbuf[i], &len) < 0)
			return MYRIAD_EXIT_FAILURE;
		if (myr_module_parse(j->depbuf[i], len, 0, &j->views[i], &err) < 0) {
			cli_error("%s: %s", a->needs[i], err.msg);
			return MYRIAD_EXIT_FAILURE;
		}
		j->needs_names[i] = j->views[i].name;
		uint32_t pos = name_set_find(&j->needs_seen, j->needs_names,
					     j->views[i].name, &found);
		if (found) {
			cli_error("%s: module '%s' is already named by --needs %s",
				  a->needs[i], j->views[i].name,
				  a->needs[j->needs_seen.slot[pos] - 1]);
			return MYRIAD_EXIT_USAGE;
		}
		j->needs_seen.slot[pos] = (uint32_t)i + 1;
		j->deps[i] = (struct myr_link_dep){ a->needs[i], &j->views[i],
						    a->needs_flags[i] };
	}
	return MYRIAD_EXIT_OK;
}

/* A program: its closure hint, walked from its --needs. */
static int link_closure_hint(struct link_job *j)
{
	const struct link_args *a = &j->a;
	const struct myr_module_view **needs_views =
		calloc(a->nneeds + 1, sizeof(*needs_views));
	struct myr_error err = { 0 };
	int ret;

	j->hint.dirs = hint_dirs(a, &j->hint.ndirs);
	if (!j->hint.dirs || !needs_views) {
		free(needs_views);
		cli_error("out of memory");
		return MYRIAD_EXIT_FAILURE;
	}
	for (size_t i = 0; i < a->nneeds; i++)
		needs_views[i] = &j->views[i];
	ret = myr_module_closure_hint(needs_views, a->nneeds, hint_find, &j->hint,
				      &j->closure, &j->nclosure, &err);
	free(needs_views);
	if (ret < 0) {
		if (ret == -ENOMEM)
			cli_error("%s: out of memory", a->out);
		return MYRIAD_EXIT_FAILURE;
	}
	return MYRIAD_EXIT_OK;
}

static int link_write(struct link_job *j)
{
	const struct link_args *a = &j->a;
	struct myr_link_options opt;
	struct myr_diag diag;
	int ret;

	memset(&opt, 0, sizeof(opt));
	opt.name = j->name;
	opt.ver_major = j->ver[0];
	opt.ver_minor = j->ver[1];
	opt.ver_patch = j->ver[2];
	opt.entry = a->entry;
	opt.caps = a->caps;
	opt.shebang = a->shebang;
	opt.compress = a->compress;
	opt.objs = j->objs;
	opt.nobjs = a->nobjs;
	opt.deps = j->deps;
	opt.ndeps = a->nneeds;
	opt.closure = j->closure;
	opt.nclosure = j->nclosure;
	opt.host_names = j->host_names;
	opt.nhost = myr_host_symbol_count;
	opt.host_major = MYR_HOST_VERSION_MAJOR;
	opt.host_minor = MYR_HOST_VERSION_MINOR;

	cli_diag_init(&diag);
	ret = myr_elf_link_write(&opt, &j->out, &j->out_len, &diag);
	if (ret < 0) {
		if (ret == -ENOMEM)
			cli_error("%s: out of memory", a->out);
		cli_error("%s: link failed (%u problem%s)", a->out, diag.count,
			  diag.count == 1 ? "" : "s");
		return MYRIAD_EXIT_FAILURE;
	}
	if (write_atomic(a->out, j->out, j->out_len, a->shebang ? 0755 : 0644) < 0)
		return MYRIAD_EXIT_FAILURE;
	return MYRIAD_EXIT_OK;
}

static int link_run(struct link_job *j)
{
	int rc;

	if ((rc = link_version_and_name(j)) != MYRIAD_EXIT_OK ||
	    (rc = link_alloc(j)) != MYRIAD_EXIT_OK ||
	    (rc = link_read_objects(j)) != MYRIAD_EXIT_OK ||
	    (rc = link_read_needs(j)) != MYRIAD_EXIT_OK)
		return rc;
	if (j->a.entry && (rc = link_closure_hint(j)) != MYRIAD_EXIT_OK)
		return rc;
	return link_write(j);
}

int cmd_link(int argc, char **argv)
{
	struct link_job j;
	int rc = MYRIAD_EXIT_FAILURE;

	memset(&j, 0, sizeof(j));
	for (int i = 0; i < argc; i++)
		if (argv_expand(&j.args, argv[i], 0) < 0)
			goto out;
	rc = parse_args((int)j.args.n, j.args.v, &j.a);
	if (rc == 0 && !j.a.help)
		rc = link_run(&j);
out:
	link_job_free(&j);
	return rc;
}
