/* SPDX-License-Identifier: MIT */
/*
 * myriad [OPTIONS] PROGRAM [ARGS...] - load a program and its closure, then
 * run it (docs/launcher.md).
 *
 * The command line, the environment, messages and exit codes live here;
 * the loading itself is libmyriad's (<myriad/loader.h>).  Nothing of the
 * program runs until every load stage has succeeded and the sandbox is in
 * place: any failure before that exits with MYRIAD_EXIT_LOAD (127), after
 * reporting every problem found.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>
#include <myriad/cache.h>
#include <myriad/host.h>
#include <myriad/loader.h>
#include <myriad/module.h>
#include <myriad/sandbox.h>
#include <myriad/service.h>
#include "cli.h"

extern char **environ;

struct run_options {
	struct cli_libdirs libdirs;
	enum myr_io_mode io;
	enum myr_alloc_strategy alloc;
	struct myr_pool_limits limits;
	enum myr_sandbox_mode sandbox;
	int stats, trace_files, trace_service, no_cache;
	unsigned threads;               /* 0: auto */
	enum { SERVICE_AUTO, SERVICE_OFF, SERVICE_REQUIRE } service;
	const char *socket;             /* --socket, else NULL */
	const char *program;
};

/* How long a launch waits for the loader service's answer before it
 * loads without it (docs/service.md, "The launcher"). */
#define SERVICE_WAIT_AUTO_MS    250u
#define SERVICE_WAIT_REQUIRE_MS 5000u

static void usage(FILE *out)
{
	fprintf(out,
"usage: myriad [OPTIONS] PROGRAM [ARGS...]\n"
"       myriad COMMAND [ARGS...]       (link, info, policy, cache; see docs)\n"
"\n"
"Load PROGRAM (a path to a program module) and every module it depends on\n"
"from the library directories, link them and call the program's entry with\n"
"ARGS.  Options end at PROGRAM or at --.\n"
"\n"
"Options:\n"
"  --libdir DIR           search DIR for modules (repeatable, in order);\n"
"                         default: $MYRIAD_LIBRARY_PATH, else %s\n"
"  --io=auto|uring|sync   how module files are read (default auto)\n"
"  --threads=N            read and check module files on N threads, 1 to %u\n"
"                         (default: one per CPU, at most %u)\n"
"  --alloc=pooling|on-demand\n"
"                         memory strategy (default pooling)\n"
"  --pool-modules N       at most N modules (default %u)\n"
"  --pool-text SIZE       total text (default %u MiB); SIZE takes K, M, G\n"
"  --pool-rodata SIZE     total read-only data (default %u MiB)\n"
"  --pool-relro SIZE      total relocated read-only data (default %u MiB)\n"
"  --pool-data SIZE       total data and bss (default %u MiB)\n"
"  --pool-module-size SIZE  one module, all segments (default %u MiB)\n"
"  --pool-limit KEY=VALUE the same by key: modules, text, rodata, relro,\n"
"                         data, module-size\n"
"  --sandbox=default|strict|off\n"
"                         seccomp policy (default: default)\n"
"  --no-cache             ignore the library directory's image (myriad cache)\n"
"  --service=auto|off|require\n"
"                         ask the loader service (myriad serve) for the\n"
"                         image: auto (default) when its socket exists,\n"
"                         falling back to the cache or the files\n"
"  --socket PATH          the service's socket (default $MYRIAD_SOCKET,\n"
"                         else " MYR_SERVICE_SOCKET_DEFAULT ")\n"
"  --stats                print load statistics to stderr before the entry\n"
"  --help                 this text\n"
"  --version              the launcher's version\n"
"\n"
"Environment: MYRIAD_LIBRARY_PATH (colon-separated directories),\n"
"MYRIAD_SOCKET, MYRIAD_DEBUG=stats,files,service.  All are ignored in\n"
"setuid/setgid programs.\n"
"Exit status: the program's; 2 for usage errors; 127 if it could not be\n"
"loaded (then none of its code ran).\n",
		MYRIAD_DEFAULT_LIBDIR, MYR_FETCH_LANES_MAX, MYR_FETCH_LANES_MAX,
		MYR_POOL_DEFAULT_MODULES,
		MYR_POOL_DEFAULT_TEXT >> 20, MYR_POOL_DEFAULT_RODATA >> 20,
		MYR_POOL_DEFAULT_RELRO >> 20, MYR_POOL_DEFAULT_DATA >> 20,
		MYR_POOL_DEFAULT_MODULE_SIZE >> 20);
}

static int set_limit(struct run_options *o, const char *key, const char *value)
{
	struct myr_error err = { 0 };
	if (myr_pool_limit_set(&o->limits, key, value, &err) < 0) {
		cli_error("%s", err.msg);
		return MYRIAD_EXIT_USAGE;
	}
	return CLI_NEXT;
}

/* ---- one handler per option; the table below says which ------------ */

static int opt_help(void *ctx, const struct cli_option *opt, const char *v)
{
	(void)ctx, (void)opt, (void)v;
	usage(stdout);
	return MYRIAD_EXIT_OK;
}

static int opt_version(void *ctx, const struct cli_option *opt, const char *v)
{
	(void)ctx, (void)opt, (void)v;
	printf("myriad %s (module format %u, ABI %u, host module %u.%u)\n",
	       MYRIAD_VERSION, MYR_FORMAT_VERSION, MYRIAD_ABI_VERSION,
	       MYR_HOST_VERSION_MAJOR, MYR_HOST_VERSION_MINOR);
	return MYRIAD_EXIT_OK;
}

enum { FLAG_STATS, FLAG_NO_CACHE };

static int opt_flag(void *ctx, const struct cli_option *opt, const char *v)
{
	struct run_options *o = ctx;
	(void)v;
	if (opt->key == FLAG_STATS)
		o->stats = 1;
	else
		o->no_cache = 1;
	return CLI_NEXT;
}

static int opt_libdir(void *ctx, const struct cli_option *opt, const char *v)
{
	struct run_options *o = ctx;
	(void)opt;
	if (!*v) {
		cli_error("--libdir needs a directory");
		return MYRIAD_EXIT_USAGE;
	}
	return cli_libdirs_add(&o->libdirs, v) < 0 ? MYRIAD_EXIT_USAGE : CLI_NEXT;
}

static int opt_io(void *ctx, const struct cli_option *opt, const char *v)
{
	struct run_options *o = ctx;
	(void)opt;
	if (strcmp(v, "auto") == 0)
		o->io = MYR_IO_AUTO;
	else if (strcmp(v, "uring") == 0)
		o->io = MYR_IO_URING;
	else if (strcmp(v, "sync") == 0)
		o->io = MYR_IO_SYNC;
	else {
		cli_error("--io must be auto, uring or sync, not '%s'", v);
		return MYRIAD_EXIT_USAGE;
	}
	return CLI_NEXT;
}

static int opt_threads(void *ctx, const struct cli_option *opt, const char *v)
{
	struct run_options *o = ctx;
	char *end;
	unsigned long t;

	(void)opt;
	errno = 0;
	t = v[0] >= '0' && v[0] <= '9' ? strtoul(v, &end, 10) : 0;
	if (t < 1 || t > MYR_FETCH_LANES_MAX || errno || *end) {
		cli_error("--threads must be a number from 1 to %u, not '%s'",
			  MYR_FETCH_LANES_MAX, v);
		return MYRIAD_EXIT_USAGE;
	}
	o->threads = (unsigned)t;
	return CLI_NEXT;
}

static int opt_alloc(void *ctx, const struct cli_option *opt, const char *v)
{
	struct run_options *o = ctx;
	(void)opt;
	if (strcmp(v, "pooling") == 0)
		o->alloc = MYR_ALLOC_POOLING;
	else if (strcmp(v, "on-demand") == 0)
		o->alloc = MYR_ALLOC_ON_DEMAND;
	else {
		cli_error("--alloc must be pooling or on-demand, not '%s'", v);
		return MYRIAD_EXIT_USAGE;
	}
	return CLI_NEXT;
}

static int opt_sandbox(void *ctx, const struct cli_option *opt, const char *v)
{
	struct run_options *o = ctx;
	(void)opt;
	if (myr_sandbox_mode_from_name(v, &o->sandbox) < 0) {
		cli_error("--sandbox must be default, strict or off, not '%s'", v);
		return MYRIAD_EXIT_USAGE;
	}
	return CLI_NEXT;
}

static int opt_pool_limit(void *ctx, const struct cli_option *opt,
			  const char *v)
{
	const char *eq = strchr(v, '=');
	char key[32];

	(void)opt;
	if (!eq || (size_t)(eq - v) >= sizeof(key)) {
		cli_error("--pool-limit needs KEY=VALUE");
		return MYRIAD_EXIT_USAGE;
	}
	memcpy(key, v, (size_t)(eq - v));
	key[eq - v] = '\0';
	return set_limit(ctx, key, eq + 1);
}

/* --pool-KEY VALUE: the same as --pool-limit KEY=VALUE. */
static const char *const limit_keys[] = {
	"modules", "text", "rodata", "relro", "data", "module-size",
};

static int opt_pool_key(void *ctx, const struct cli_option *opt, const char *v)
{
	return set_limit(ctx, limit_keys[opt->key], v);
}

static int opt_service(void *ctx, const struct cli_option *opt, const char *v)
{
	struct run_options *o = ctx;
	(void)opt;
	if (strcmp(v, "auto") == 0)
		o->service = SERVICE_AUTO;
	else if (strcmp(v, "off") == 0)
		o->service = SERVICE_OFF;
	else if (strcmp(v, "require") == 0)
		o->service = SERVICE_REQUIRE;
	else {
		cli_error("--service must be auto, off or require, not '%s'", v);
		return MYRIAD_EXIT_USAGE;
	}
	return CLI_NEXT;
}

static int opt_socket(void *ctx, const struct cli_option *opt, const char *v)
{
	struct run_options *o = ctx;
	(void)opt;
	if (!*v) {
		cli_error("--socket needs a path");
		return MYRIAD_EXIT_USAGE;
	}
	o->socket = v;
	return CLI_NEXT;
}

static const struct cli_option run_options[] = {
	{ .name = "--help", .set = opt_help },
	{ .name = "--version", .set = opt_version },
	{ .name = "--stats", .set = opt_flag, .key = FLAG_STATS },
	{ .name = "--no-cache", .set = opt_flag, .key = FLAG_NO_CACHE },
	{ .name = "--libdir", .takes_value = 1, .missing_as_empty = 1,
	  .set = opt_libdir },
	{ .name = "--io", .takes_value = 1, .missing_as_empty = 1,
	  .set = opt_io },
	{ .name = "--threads", .takes_value = 1, .missing_as_empty = 1,
	  .set = opt_threads },
	{ .name = "--alloc", .takes_value = 1, .missing_as_empty = 1,
	  .set = opt_alloc },
	{ .name = "--sandbox", .takes_value = 1, .missing_as_empty = 1,
	  .set = opt_sandbox },
	{ .name = "--service", .takes_value = 1, .missing_as_empty = 1,
	  .set = opt_service },
	{ .name = "--socket", .takes_value = 1, .missing_as_empty = 1,
	  .set = opt_socket },
	{ .name = "--pool-limit", .takes_value = 1, .missing_as_empty = 1,
	  .set = opt_pool_limit },
	{ .name = "--pool-modules", .takes_value = 1, .set = opt_pool_key, .key = 0 },
	{ .name = "--pool-text", .takes_value = 1, .set = opt_pool_key, .key = 1 },
	{ .name = "--pool-rodata", .takes_value = 1, .set = opt_pool_key, .key = 2 },
	{ .name = "--pool-relro", .takes_value = 1, .set = opt_pool_key, .key = 3 },
	{ .name = "--pool-data", .takes_value = 1, .set = opt_pool_key, .key = 4 },
	{ .name = "--pool-module-size", .takes_value = 1, .set = opt_pool_key,
	  .key = 5 },
	{ .name = NULL },
};

static const struct cli_command run_command = {
	.name = NULL, .options = run_options, .stop_at_operand = 1,
};

/* Parse options up to the program; returns the program's index in argv,
 * 0 when the run should stop with *status (help, version, a usage error,
 * already reported). */
static int parse_options(int argc, char **argv, struct run_options *o,
			 int *status)
{
	int prog;

	*status = cli_parse(&run_command, argc, argv, o, &prog);
	if (*status != CLI_NEXT)
		return 0;
	if (prog >= argc) {
		cli_error("no program given (usage: myriad [OPTIONS] PROGRAM "
			  "[ARGS...]; see myriad --help)");
		*status = MYRIAD_EXIT_USAGE;
		return 0;
	}
	return prog;
}

/*
 * The options that choose what runs and under which rules: the library
 * directories, the sandbox's mode off, the pool's limits.  Returns the
 * option's name when arg (one argv item) is one, else NULL.  Nothing that
 * comes from a file (its #! line) may use them, nor a setuid launcher.
 */
const char *cli_option_weakens(const char *arg)
{
	static const char *const prefixes[] = { "--libdir", "--pool-" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(arg, prefixes[i], strlen(prefixes[i])) == 0)
			return prefixes[i];
	if (strncmp(arg, "--sandbox", 9) == 0 &&
	    (arg[9] == '\0' || strcmp(arg + 9, "=off") == 0))
		return "--sandbox=off";
	return NULL;
}

/*
 * Whether the options argv[1..prog) are the optional argument of the
 * program file's own #! line: the kernel runs "#!INTERP ARG" as
 * argv = { INTERP, ARG, PATH, ... }, ARG being the rest of the line as one
 * item, and the file it was asked to execute (AT_EXECFN) is PATH, not the
 * launcher.  A person who types the options runs the launcher itself.
 */
static int options_from_shebang(int argc, char **argv, int prog)
{
	char line[256 + 1], *p, *interp, *arg, *end;
	ssize_t n;
	int fd;

	const char *execfn = (const char *)getauxval(AT_EXECFN);

	if (prog != 2 || prog >= argc || !execfn || strcmp(execfn, argv[prog]))
		return 0;
	fd = open(argv[prog], O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return 0;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 2 || line[0] != '#' || line[1] != '!')
		return 0;
	line[n] = '\0';
	end = strchr(line, '\n');
	if (end)
		*end = '\0';
	/* As the kernel splits it: blanks, the interpreter, blanks, the
	 * rest with trailing blanks dropped. */
	for (p = line + 2; *p == ' ' || *p == '\t'; p++)
		;
	interp = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	arg = p;
	for (end = arg + strlen(arg); end > arg && (end[-1] == ' ' || end[-1] == '\t'); )
		*--end = '\0';
	return *arg && strcmp(argv[1], arg) == 0 && strcmp(argv[0], interp) == 0;
}

/* Options that came from the program file (its #! line), and every
 * option of a setuid/setgid launcher except a stricter sandbox, are
 * refused when they weaken what the program runs under. */
__attribute__((noinline))
static int refuse_untrusted_options(int argc, char **argv, int prog,
				    int secure)
{
	int from_file = options_from_shebang(argc, argv, prog);

	for (int i = 1; i < prog; i++) {
		const char *bad = cli_option_weakens(argv[i]);
		if (secure && strcmp(argv[i], "--") != 0 &&
		    strcmp(argv[i], "--sandbox=strict") != 0 &&
		    strcmp(argv[i], "--sandbox=default") != 0) {
			cli_error("%s: option '%s' refused: this launcher is "
				  "setuid or setgid (AT_SECURE), so it runs "
				  "programs only with the defaults",
				  argv[prog], argv[i]);
			return -1;
		}
		if (from_file && bad) {
			cli_error("%s: option %s refused: it comes from the "
				  "file's own #! line, and a file may not weaken "
				  "the sandbox or change the library directories "
				  "or limits (type it on the command line)",
				  argv[prog], bad);
			return -1;
		}
	}
	return 0;
}

/*
 * With fs-write, the program could rewrite the library directories (and
 * the image in them) that later launches run, or its own text through
 * /proc/self/mem: Landlock denies writing beneath them and /proc.  Without
 * Landlock, such a program runs only if this user cannot write any of the
 * library directories (docs/security.md).
 */
__attribute__((noinline))
static int protect_libdirs(const struct run_options *o, const char *prog)
{
	struct myr_error err = { 0 };
	struct myr_landlock ll;
	const char *paths[CLI_LIBDIRS_MAX + 1];
	int r;

	r = myr_landlock_init(&ll, MYR_LANDLOCK_WRITE, &err);
	if (r == -ENOSYS || r == -EOPNOTSUPP) {
		myr_landlock_exit(&ll);
		for (unsigned i = 0; i < o->libdirs.n; i++) {
			if (faccessat(AT_FDCWD, o->libdirs.dirs[i], W_OK, AT_EACCESS) != 0)
				continue;
			cli_error("%s: holds fs-write, and this kernel has no "
				  "Landlock to keep it from writing the library "
				  "directory %s, which this user can write "
				  "(see docs/security.md)", prog, o->libdirs.dirs[i]);
			return -1;
		}
		return 0;
	}
	for (unsigned i = 0; i < o->libdirs.n && r == 0; i++)
		paths[i] = o->libdirs.dirs[i];
	paths[o->libdirs.n] = "/proc";
	if (r == 0)
		r = myr_landlock_allow_except(&ll, paths, o->libdirs.n + 1, &err);
	if (r == 0)
		return myr_landlock_enforce(&ll, &err) < 0 ?
		       (cli_error("%s: %s", prog, err.msg), -1) : 0;
	myr_landlock_exit(&ll);
	cli_error("%s: cannot protect the library directories: %s", prog,
		  err.msg);
	return -1;
}

/* Every library directory that exists must be writable only by root or
 * this user (myr_stat_check_trusted()): whoever else could write it would
 * choose the code that runs, as sshd refuses keys others can write.  One
 * stat() sees what an O_PATH open, fstat() and close() did (the loader
 * opens the directory again by the same path; no descriptor bridged the
 * two before either), in one syscall instead of four. */
__attribute__((noinline))
static int check_libdirs(const struct run_options *o)
{
	for (unsigned i = 0; i < o->libdirs.n; i++) {
		struct myr_error err = { 0 };
		struct stat st;

		if (stat(o->libdirs.dirs[i], &st) != 0 || !S_ISDIR(st.st_mode))
			continue;       /* the loader reports it, if needed */
		if (myr_stat_check_trusted(&st, o->libdirs.dirs[i],
					   "library directory", -1, &err) < 0) {
			cli_error("%s", err.msg);
			return -1;
		}
	}
	return 0;
}

__attribute__((noinline))
static void parse_debug(struct run_options *o, int secure)
{
	const char *env = secure ? NULL : getenv("MYRIAD_DEBUG");
	char buf[128];

	if (!env)
		return;
	snprintf(buf, sizeof(buf), "%s", env);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "stats") == 0 || strcmp(tok, "statistics") == 0)
			o->stats = 1;
		else if (strcmp(tok, "files") == 0)
			o->trace_files = 1;
		else if (strcmp(tok, "service") == 0)
			o->trace_service = 1;
		else if (strcmp(tok, "all") == 0)
			o->stats = o->trace_files = o->trace_service = 1;
		else
			cli_error("MYRIAD_DEBUG: unknown item '%s' ignored "
				  "(stats, files, service, all)", tok);
	}
}

static void trace_files(void *opaque, const char *line)
{
	(void)opaque;
	cli_error("files: %s", line);
}

/* The host module: the launcher's own functions, by name. */
static void *host_find(void *opaque, const char *name, uint32_t len)
{
	const struct myr_host_symbol *s = myr_host_find(name, len);
	(void)opaque;
	return s ? s->addr : NULL;
}

static int host_kind(void *opaque, const char *name, uint32_t len)
{
	const struct myr_host_symbol *s = myr_host_find(name, len);
	(void)opaque;
	return s ? s->kind : 0;
}

static void host_range(struct myr_host_binding *h)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (size_t i = 0; i < myr_host_symbol_count; i++) {
		uintptr_t a = (uintptr_t)myr_host_symbols[i].addr;
		if (a < lo)
			lo = a;
		if (a > hi)
			hi = a;
	}
	if (hi >= lo) {
		/* Past the last symbol's start: room for its body. */
		h->lo = lo;
		h->hi = hi + 4096;
	}
}

void cli_host_binding(struct myr_host_binding *h)
{
	memset(h, 0, sizeof(*h));
	h->name = MYR_HOST_MODULE_NAME;
	h->ver_major = MYR_HOST_VERSION_MAJOR;
	h->ver_minor = MYR_HOST_VERSION_MINOR;
	h->ver_patch = MYR_HOST_VERSION_PATCH;
	h->find = host_find;
	h->kind = host_kind;
	host_range(h);
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

struct cache_request {
	const struct run_options *o;
	const struct myr_host_binding *host;
	int from_service;               /* the image is the service's */
	enum { NOT_ASKED, ASKED, NO_SOCKET } ask;  /* ASKED: pending, or
	                                   service_why says why not */
	struct myr_service_pending pending;
	uint64_t generation, ns_service;
	char service_why[MYR_ERROR_MSG_MAX];    /* why not, if asked */
};

__attribute__((noinline))
static void print_stats(const struct myriad_load_stats *s,
			const struct myr_loader *l, const struct myr_cache *c,
			const struct cache_request *req)
{
	uint32_t cached, files;
	struct myr_cache_info ci;
	uint64_t total = s->ns_resolve + s->ns_fetch + s->ns_verify +
			 s->ns_place + s->ns_link + s->ns_protect + s->ns_init;

	cli_error("stats: %u modules, %llu bytes read in %llu batches, "
		  "%llu bytes placed", s->modules,
		  (unsigned long long)s->bytes_read,
		  (unsigned long long)s->fetch_batches,
		  (unsigned long long)s->bytes_decompressed);
	cli_error("stats: %llu imports bound, %llu relocations applied, "
		  "%llu mprotect calls", (unsigned long long)s->imports_bound,
		  (unsigned long long)s->relocs_applied,
		  (unsigned long long)s->mprotect_calls);
	cli_error("stats: resolve %.3f ms, fetch %.3f ms, verify %.3f ms, "
		  "place %.3f ms, link %.3f ms, protect %.3f ms, init %.3f ms, "
		  "total %.3f ms", ms(s->ns_resolve), ms(s->ns_fetch),
		  ms(s->ns_verify), ms(s->ns_place), ms(s->ns_link),
		  ms(s->ns_protect), ms(s->ns_init), ms(total));
	myr_loader_origins(l, &cached, &files);
	if (req->from_service)
		cli_error("stats: served by the loader service (generation "
			  "%016llx, answer in %.3f ms)",
			  (unsigned long long)req->generation,
			  ms(req->ns_service));
	else if (req->service_why[0])
		cli_error("stats: not served by the loader service (%s)",
			  req->service_why);
	else
		cli_error("stats: not served by the loader service (%s)",
			  req->o->service == SERVICE_OFF ? "--service=off" :
			  "not asked: no library module needed");
	if (!c) {
		cli_error("stats: %u modules from the cache, %u from files (no "
			  "cache used)", cached, files);
		return;
	}
	myr_cache_info(c, &ci);
	cli_error("stats: %u modules from the cache, %u from files; cache open "
		  "%.3f ms, %s%s%s%s%s, %u module stat calls", cached, files,
		  ms(ci.ns_open), ci.stale ? "directory changed since the build"
		  : "current", ci.slid ? ", slid" : "",
		  ci.pins_valid ? "" : ", pinned modules unusable",
		  ci.closure_used ? ", launch closure" : "",
		  req->from_service ? "" : ci.verified ? ", checked at build" :
		  ", checked at launch", ci.stat_calls);
}

static void service_fallback(struct cache_request *req, const char *why)
{
	const struct run_options *o = req->o;

	snprintf(req->service_why, sizeof(req->service_why), "%s", why);
	if (o->service == SERVICE_REQUIRE) {
		/* Nothing of the program has run yet. */
		cli_error("%s: the loader service is required (--service="
			  "require) and did not serve: %s", o->program, why);
		exit(MYRIAD_EXIT_LOAD);
	}
	if (o->trace_service)
		cli_error("service: %s; loading without it", why);
}

/*
 * The loader's cache_ask: sends the service its request with the
 * program's descriptor (the loader's own, so the service sees the very
 * file the launch reads), whose answer open_service() takes.  The
 * pending request, or why there is none (service_why, reported by
 * open_service() as a failure to serve).  The loader calls it once.
 */
static int service_ask(void *opaque, int program_fd)
{
	struct cache_request *req = opaque;
	const struct run_options *o = req->o;
	const char *path = cli_service_socket(o->socket);
	struct myr_error err = { 0 };

	req->ask = ASKED;
	req->pending.sock = -1;
	if (o->service == SERVICE_AUTO &&
	    myr_service_socket_check(path, &err) == -ENOENT) {
		/* No service on this system: silent, but --stats says so. */
		snprintf(req->service_why, sizeof(req->service_why),
			 "no service socket at %s", path);
		req->ask = NO_SOCKET;
		return 0;
	}
	if (myr_service_ask(path, program_fd, o->service == SERVICE_REQUIRE ?
			    SERVICE_WAIT_REQUIRE_MS : SERVICE_WAIT_AUTO_MS,
			    MYR_HOST_VERSION_MAJOR, MYR_HOST_VERSION_MINOR,
			    &req->pending, &err) < 0)
		snprintf(req->service_why, sizeof(req->service_why), "%s",
			 err.msg);      /* names the socket */
	return req->pending.sock >= 0;
}

/*
 * The loader service's image, or NULL (then the launch goes on with the
 * cache or the files, saying why only under MYRIAD_DEBUG=service).  The
 * service serves one directory: its image is used only when that is this
 * launch's first library directory (myr_cache_open_fd checks).
 */
static struct myr_cache *open_service(struct cache_request *req)
{
	const struct run_options *o = req->o;
	const char *path = cli_service_socket(o->socket);
	struct myr_service_reply reply;
	struct myr_error err = { 0 };
	struct myr_cache *c = NULL;
	char why[MYR_ERROR_MSG_MAX + 64];
	int r;

	if (req->ask != ASKED)   /* NO_SOCKET: not a failure; NOT_ASKED:
				    the loader asks before it opens */
		return NULL;
	if (req->pending.sock < 0) {
		snprintf(why, sizeof(why), "%s", req->service_why);
		service_fallback(req, why);
		return NULL;
	}
	r = myr_service_answer(&req->pending, &reply, &err);
	if (r < 0) {
		service_fallback(req, err.msg);     /* names the socket */
		return NULL;
	}
	r = myr_cache_open_fd(&c, reply.memfd, o->libdirs.dirs[0],
			      MYR_CACHE_OPEN_SEALED, req->host, &err);
	if (r == 0 && (reply.closure_count || reply.program)) {
		/* The plan is the cache's now. */
		r = myr_cache_give_closure(c, reply.program_checksum,
					   reply.closure, reply.closure_count,
					   reply.program);
		reply.closure = NULL;
		if (r < 0) {
			myr_cache_close(c);
			myr_error_set(&err, r, "the plan needs a sealed image");
		}
	}
	if (r == 0 && reply.program_copy >= 0) {
		/* Sealed (checked by the client), the cache's now. */
		r = myr_cache_give_program_copy(c, reply.program_copy);
		reply.program_copy = -1;
		if (r < 0) {
			myr_cache_close(c);
			myr_error_set(&err, r, "the program copy needs a sealed "
				      "image");
		}
	}
	if (r < 0) {
		snprintf(why, sizeof(why), "%s: image of %s unusable: %s", path,
			 o->libdirs.dirs[0], err.msg);
		service_fallback(req, why);
		myr_service_reply_free(&reply);
		return NULL;
	}
	req->from_service = 1;
	req->generation = reply.generation;
	req->ns_service = reply.ns;
	if (o->trace_service)
		cli_error("service: %s: generation %016llx, %u modules in the "
			  "program's closure", path,
			  (unsigned long long)reply.generation,
			  reply.closure_count);
	myr_service_reply_free(&reply);
	return c;
}

/* The first library directory's image, or NULL (then one warning line if
 * it exists but cannot be used).  Called by the loader only when the
 * program needs a library module. */
static struct myr_cache *open_cache(void *opaque)
{
	struct cache_request *req = opaque;
	const struct run_options *o = req->o;
	const struct myr_host_binding *host = req->host;
	struct myr_error err = { 0 };
	struct myr_cache *c;
	int r;

	if (o->service != SERVICE_OFF && (c = open_service(req)))
		return c;
	if (o->no_cache)
		return NULL;

	r = myr_cache_open(&c, o->libdirs.dirs[0], host, &err);
	if (r == -ENOENT || r == -ENOTDIR)
		return NULL;
	if (r < 0) {
		cli_error("%s/%s/%s: ignored (%s); loading from the module files",
			  o->libdirs.dirs[0], MYR_CACHE_SUBDIR, MYR_CACHE_FILE, err.msg);
		return NULL;
	}
	if (o->trace_files)
		cli_error("files: cache %s/%s/%s: %u modules", o->libdirs.dirs[0],
			  MYR_CACHE_SUBDIR, MYR_CACHE_FILE,
			  myr_cache_module_count(c));
	return c;
}

static struct myr_loader *running;

/* Every way out after init (return from the entry, exit() in module code)
 * runs the destructors, then flushes what they and the program wrote. */
static void at_exit(void)
{
	myr_loader_run_fini(running);
	fflush(stdout);
	fflush(stderr);
}

/* The loader's configuration for the options o; the cache and the service
 * are asked through req when the program needs a library module. */
static void fill_loader_config(struct myr_loader_config *cfg,
			       struct run_options *o,
			       const struct myr_host_binding *host,
			       struct myr_diag *diag, struct cache_request *req)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dirs = o->libdirs.dirs;
	cfg->ndirs = o->libdirs.n;
	cfg->io = o->io;
	cfg->nthreads = o->threads;
	cfg->alloc = o->alloc;
	cfg->limits = o->limits;
	cfg->host = host;
	cfg->diag = diag;
	cfg->untimed = !o->stats;
	memset(req, 0, sizeof(*req));
	req->o = o;
	req->host = host;
	if (!o->no_cache || o->service != SERVICE_OFF) {
		cfg->cache_open = open_cache;
		cfg->cache_opaque = req;
	}
	if (o->service != SERVICE_OFF)
		cfg->cache_ask = service_ask;
	if (o->trace_files) {
		cfg->trace = trace_files;
		for (unsigned i = 0; i < o->libdirs.n; i++)
			cli_error("files: library directory %u: %s", i + 1,
				  o->libdirs.dirs[i]);
	}
}

/*
 * Loads the program and applies its sandbox.  Returns 0 with *out ready to
 * run, or the exit code after one line at least; no module code has run
 * then.
 */
__attribute__((noinline))
static int load_sandboxed(struct myr_loader **out, const struct run_options *o,
			  const struct myr_loader_config *cfg,
			  const struct myr_diag *diag)
{
	struct myr_error err = { 0 };
	struct myr_loader *l;
	int r;

	r = myr_loader_init(&l, cfg, &err);
	if (r < 0) {
		cli_error("%s", err.msg);
		return MYRIAD_EXIT_LOAD;
	}
	r = myr_loader_load(l, o->program);
	/* Modules of the image that could not be used came from their files:
	 * one line says so. */
	if (myr_cache_problem(myr_loader_cache(l)))
		cli_error("%s/%s/%s: %s: not used, loaded from the module files",
			  o->libdirs.dirs[0], MYR_CACHE_SUBDIR, MYR_CACHE_FILE,
			  myr_cache_problem(myr_loader_cache(l)));
	if (r < 0) {
		if (diag->count == 0)
			cli_error("%s: cannot be loaded", o->program);
		return MYRIAD_EXIT_LOAD;
	}
	if (o->sandbox == MYR_SANDBOX_OFF)
		cli_error("%s: sandbox off (--sandbox=off): the program runs "
			  "without a seccomp filter", o->program);
	if (o->sandbox != MYR_SANDBOX_OFF &&
	    (myr_loader_caps(l) & MYR_CAP_FS_WRITE) &&
	    protect_libdirs(o, o->program) < 0)
		return MYRIAD_EXIT_LOAD;
	if (myr_sandbox_apply(myr_loader_caps(l), o->sandbox, &err) < 0) {
		cli_error("%s: cannot apply the sandbox: %s", o->program,
			  err.msg);
		return MYRIAD_EXIT_LOAD;
	}
	*out = l;
	return 0;
}

/*
 * The steps of cmd_run() that need a struct myr_error (516 bytes) are
 * functions of their own, never inlined, so that their frames are gone
 * before the load's deepest calls: every 4 KiB of stack a launch reaches
 * costs a page fault.
 */
__attribute__((noinline))
static void clear_read_implies_exec(void)
{
	struct myr_error ignored = { 0 };

	myr_sandbox_clear_read_implies_exec(&ignored);
}

__attribute__((noinline))
static int check_limits(const struct myr_pool_limits *limits)
{
	struct myr_error err = { 0 };

	if (myr_pool_limits_check(limits, &err) < 0) {
		cli_error("%s", err.msg);
		return -1;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_options o = { .io = MYR_IO_AUTO, .alloc = MYR_ALLOC_POOLING,
				 .sandbox = MYR_SANDBOX_DEFAULT };
	struct myr_host_binding host;
	struct myr_loader_config cfg;
	struct cache_request cache_req;
	struct myr_diag diag;
	struct myr_loader *l;
	int secure = getauxval(AT_SECURE) != 0;
	int status = MYRIAD_EXIT_USAGE, prog;
	myr_entry_fn entry;

	/* An inherited READ_IMPLIES_EXEC (setarch -X) would make every readable
	 * page of the pool executable too, breaking W^X before the sandbox can
	 * clear it: drop it before anything is mapped.  A failure is not
	 * reported here: myr_sandbox_apply() tries again and fails the load
	 * (127) before any module code runs. */
	clear_read_implies_exec();
	myr_pool_limits_default(&o.limits);
	prog = parse_options(argc, argv, &o, &status);
	if (!prog)
		return status;
	if (refuse_untrusted_options(argc, argv, prog, secure) < 0 ||
	    check_limits(&o.limits) < 0)
		return MYRIAD_EXIT_USAGE;
	parse_debug(&o, secure);
	if (cli_libdirs_choose(&o.libdirs) < 0)
		return MYRIAD_EXIT_USAGE;
	if (check_libdirs(&o) < 0)
		return MYRIAD_EXIT_LOAD;
	cli_host_binding(&host);
	cli_diag_init(&diag);
	o.program = argv[prog];
	fill_loader_config(&cfg, &o, &host, &diag, &cache_req);
	status = load_sandboxed(&l, &o, &cfg, &diag);
	if (status)
		return status;
	cli_libdirs_exit(&o.libdirs);

	running = l;
	if (atexit(at_exit) != 0) {
		cli_error("cannot register the exit handler");
		return MYRIAD_EXIT_LOAD;
	}
	myr_host_dl_init(l);
	myr_loader_run_init(l);
	if (o.stats)
		print_stats(myr_loader_stats(l), l, myr_loader_cache(l),
			    &cache_req);
	entry = myr_loader_entry(l);
	return entry(myr_loader_ctx(l, argc - prog, argv + prog, environ));
}
