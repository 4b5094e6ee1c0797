/* SPDX-License-Identifier: MIT */
/*
 * myriad serve [--socket PATH] [--libdir DIR] - the loader service
 * (docs/service.md); myriad serve --status - ask a running one.  The
 * service itself is libmyriad's (<myriad/service.h>); this file owns the
 * command line, the log lines, signals and the exit codes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <myriad/loader.h>
#include <myriad/sandbox.h>
#include <myriad/service.h>
#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
"usage: myriad serve [--socket PATH] [--libdir DIR] [--max-bytes SIZE]\n"
"                    [--sandbox=on|off]\n"
"       myriad serve --status [--socket PATH]\n"
"\n"
"Run the loader service in the foreground: keep DIR's modules laid out\n"
"and linked in one sealed memory image shared by every launch that asks\n"
"on PATH.  Under systemd socket activation (LISTEN_FDS) the socket comes\n"
"from systemd and PATH is not used.  SIGTERM or SIGINT stop it.\n"
"\n"
"  --socket PATH      default $MYRIAD_SOCKET, else %s\n"
"  --libdir DIR       default: first of $MYRIAD_LIBRARY_PATH, else %s\n"
"  --max-bytes SIZE   memory for images, every generation (default 1G)\n"
"  --sandbox=on|off   the service's own sandbox (default on)\n"
"  --status           print a running service's modules, bytes, clients\n"
"                     and generations\n",
		MYR_SERVICE_SOCKET_DEFAULT, MYRIAD_DEFAULT_LIBDIR);
}

static volatile int stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void log_line(void *opaque, const char *line)
{
	(void)opaque;
	cli_error("serve: %s", line);
}

static int parse_size(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (!v || v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'K': case 'k': n <<= 10; end++; break;
	case 'M': case 'm': n <<= 20; end++; break;
	case 'G': case 'g': n <<= 30; end++; break;
	default: break;
	}
	if (*end || n == 0 || n > (64ull << 30))
		return -1;
	*out = n;
	return 0;
}

static int show_status(const char *path)
{
	struct myr_service_status st;
	struct myr_error err = { 0 };

	if (myr_service_status_get(path, 2000, &st, &err) < 0) {
		cli_error("serve: %s", err.msg);
		return MYRIAD_EXIT_FAILURE;
	}
	printf("%s: %u clients, %u connections, %llu bytes in %u generations, "
	       "%llu module references\n", path, st.clients, st.connections,
	       (unsigned long long)st.bytes, st.generations,
	       (unsigned long long)st.references);
	printf("  %llu loads answered, %llu refused, %llu connections dropped, "
	       "%u images built\n", (unsigned long long)st.requests,
	       (unsigned long long)st.refused, (unsigned long long)st.dropped,
	       st.builds);
	for (uint32_t g = 0; g < st.generations; g++)
		printf("  generation %016llx%s: %u modules, %llu bytes, %u "
		       "clients, %u modules referenced\n",
		       (unsigned long long)st.gen[g].generation,
		       st.gen[g].current ? " (current)" : "",
		       st.gen[g].modules, (unsigned long long)st.gen[g].bytes,
		       st.gen[g].clients, st.gen[g].modules_referenced);
	return MYRIAD_EXIT_OK;
}

/* As a launch chooses it: MYRIAD_SOCKET is ignored in setuid/setgid
 * processes, where the environment is the caller's. */
const char *cli_service_socket(const char *given)
{
	const char *env = getauxval(AT_SECURE) ? NULL : getenv("MYRIAD_SOCKET");
	if (given)
		return given;
	return env && *env ? env : MYR_SERVICE_SOCKET_DEFAULT;
}

struct serve_options {
	const char *socket;
	struct cli_libdirs libdirs;
	uint64_t max_bytes;
	int status, sandbox;
};

static int opt_help(void *ctx, const struct cli_option *opt, const char *v)
{
	(void)ctx, (void)opt, (void)v;
	usage(stdout);
	return MYRIAD_EXIT_OK;
}

enum { FLAG_STATUS, FLAG_SANDBOX };

static int opt_flag(void *ctx, const struct cli_option *opt, const char *v)
{
	struct serve_options *o = ctx;
	if (opt->key == FLAG_STATUS) {
		o->status = 1;
		return CLI_NEXT;
	}
	if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
		cli_error("serve: --sandbox must be on or off, not '%s'", v);
		return MYRIAD_EXIT_USAGE;
	}
	o->sandbox = strcmp(v, "on") == 0;
	return CLI_NEXT;
}

static int opt_socket(void *ctx, const struct cli_option *opt, const char *v)
{
	struct serve_options *o = ctx;
	(void)opt;
	o->socket = v;
	return CLI_NEXT;
}

static int opt_libdir(void *ctx, const struct cli_option *opt, const char *v)
{
	struct serve_options *o = ctx;
	(void)opt;
	if (o->libdirs.n) {
		cli_error("serve: one --libdir only (the service serves one "
			  "directory)");
		return MYRIAD_EXIT_USAGE;
	}
	return cli_libdirs_add(&o->libdirs, v) < 0 ? MYRIAD_EXIT_USAGE : CLI_NEXT;
}

static int opt_max_bytes(void *ctx, const struct cli_option *opt, const char *v)
{
	struct serve_options *o = ctx;
	(void)opt;
	if (parse_size(v, &o->max_bytes) < 0) {
		cli_error("serve: --max-bytes must be a size such as 512M (at "
			  "most 64G), not '%s'", v);
		return MYRIAD_EXIT_USAGE;
	}
	return CLI_NEXT;
}

static int operand(void *ctx, char *arg)
{
	(void)ctx;
	cli_error("serve: unexpected argument '%s' (see myriad serve --help)",
		  arg);
	return MYRIAD_EXIT_USAGE;
}

static const struct cli_option serve_options[] = {
	{ .name = "--help", .alias = "-h", .set = opt_help },
	{ .name = "--status", .set = opt_flag, .key = FLAG_STATUS },
	{ .name = "--sandbox", .takes_value = 1, .set = opt_flag,
	  .key = FLAG_SANDBOX },
	{ .name = "--socket", .takes_value = 1, .set = opt_socket },
	{ .name = "--libdir", .takes_value = 1, .set = opt_libdir },
	{ .name = "--max-bytes", .takes_value = 1, .set = opt_max_bytes },
	{ .name = NULL },
};

static const struct cli_command serve_command = {
	.name = "serve", .options = serve_options, .operand = operand,
};

int cmd_serve(int argc, char **argv)
{
	struct serve_options o = { .sandbox = 1 };
	struct myr_server_config cfg = { 0 };
	struct myr_host_binding host;
	struct myr_diag log = { log_line, NULL, 0 };
	struct myr_server *s;
	struct myr_error err = { 0 };
	const char *sock, *dir;
	int r, next, activated;

	r = cli_parse(&serve_command, argc, argv, &o, &next);
	if (r != CLI_NEXT)
		return r;
	sock = cli_service_socket(o.socket);
	if (o.status)
		return show_status(sock);
	if (cli_libdirs_choose(&o.libdirs) < 0)
		return MYRIAD_EXIT_USAGE;
	dir = o.libdirs.dirs[0];
	cfg.max_bytes = o.max_bytes;

	cfg.listen_fd = myr_server_activation_fd(getenv("LISTEN_PID"),
						 getenv("LISTEN_FDS"), &err);
	activated = cfg.listen_fd >= 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (cfg.listen_fd == -ENOENT)
		cfg.listen_fd = myr_server_listen(sock, &err);
	if (cfg.listen_fd < 0) {
		cli_error("serve: %s", err.msg);
		return MYRIAD_EXIT_FAILURE;
	}
	cli_host_binding(&host);
	cfg.dir = dir;
	cfg.host = &host;
	cfg.log = &log;

	/* Room for max connections and the clients' pidfds; the
	 * service's own limits stay far below it. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = myr_server_init(&s, &cfg, &err);
	if (r < 0) {
		cli_error("serve: %s", err.msg);
		return MYRIAD_EXIT_FAILURE;
	}
	if (o.sandbox && myr_sandbox_service_apply(dir, &err) < 0) {
		cli_error("serve: cannot apply the service's sandbox: %s "
			  "(--sandbox=off runs without)", err.msg);
		myr_server_exit(s);
		return MYRIAD_EXIT_FAILURE;
	}
	cli_error("serve: serving %s on %s%s", dir,
		  activated ? "the socket systemd passed" : sock,
		  o.sandbox ? "" : " (sandbox off)");
	r = myr_server_run(s, &stop, &err);
	myr_server_exit(s);
	cli_libdirs_exit(&o.libdirs);
	if (r < 0) {
		cli_error("serve: %s", err.msg);
		return MYRIAD_EXIT_FAILURE;
	}
	return MYRIAD_EXIT_OK;
}
