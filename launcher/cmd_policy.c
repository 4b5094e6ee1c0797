/* SPDX-License-Identifier: MIT */
/*
 * myriad policy [--caps LIST | PROGRAM.myr] [--strict] [--bpf FILE]
 *
 * Prints the seccomp policy a program would run under, from the same rule
 * table that builds the filter (lib/sandbox/sandbox.c), and can write the very BPF
 * program the launcher would load, for inspection with a disassembler.
 * A program's capabilities come from its validated header; a module that
 * does not parse, or is not a program, gets no policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <myriad/module.h>
#include <myriad/sandbox.h>
#include "cli.h"

static const char usage_text[] =
	"usage: myriad policy [--caps LIST | PROGRAM.myr] [--strict] [--bpf FILE]\n"
	"Print the seccomp policy a program runs under (docs/security.md).\n"
	"  --caps LIST   capabilities to assume, comma-separated: fs-read,\n"
	"                fs-write, net, spawn, threads (default: none)\n"
	"  PROGRAM.myr   take the capabilities from this program's header\n"
	"  --strict      the policy of --sandbox=strict (denied: SIGSYS)\n"
	"  --bpf FILE    also write the raw BPF program (struct sock_filter[])\n"
	"                to FILE, '-' for stdout (then nothing else is printed)\n";

/* Read exactly len bytes at offset off; 0, or -errno (-EIO if short). */
static int read_at(int fd, uint8_t *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/*
 * The capabilities of the program at path, after the reader has validated
 * the whole file.  Returns 0, or prints the problem and returns -1.
 */
static int program_caps(const char *path, uint32_t *caps)
{
	size_t head = MYR_SHEBANG_MAX + sizeof(struct myr_header);
	size_t header_off = 0, total = 0;
	struct myr_module_view view;
	struct myr_error err = { 0 };
	uint8_t *buf = NULL;
	struct stat st;
	int fd, rc, ret = -1;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		cli_error("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		cli_error("%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cli_error("%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size < head)
		head = (size_t)st.st_size;
	buf = malloc(head ? head : 1);   /* malloc: 8-aligned, as probe needs */
	if (!buf) {
		cli_error("%s: out of memory", path);
		goto out;
	}
	rc = read_at(fd, buf, head, 0);
	if (rc == 0)
		rc = myr_module_probe(buf, head, &header_off, &total, &err);
	if (rc == -ENODATA)
		rc = myr_error_set(&err, -EBADMSG, "truncated header");
	if (rc < 0) {
		cli_error("%s: %s", path, err.msg[0] ? err.msg : strerror(-rc));
		goto out;
	}
	if ((uint64_t)st.st_size != total) {
		cli_error("%s: the file has %lld bytes, its header says %zu",
			  path, (long long)st.st_size, total);
		goto out;
	}
	free(buf);
	buf = malloc(total);
	if (!buf) {
		cli_error("%s: out of memory", path);
		goto out;
	}
	rc = read_at(fd, buf, total, 0);
	if (rc < 0) {
		cli_error("%s: %s", path, strerror(-rc));
		goto out;
	}
	rc = myr_module_parse(buf, total, 0, &view, &err);
	if (rc < 0) {
		cli_error("%s: %s", path, err.msg);
		goto out;
	}
	if (!(view.hdr->flags & MYR_F_PROGRAM)) {
		cli_error("%s: '%s' is a library, not a program: only a program's "
			  "capabilities count", path, view.name);
		goto out;
	}
	if (myr_caps_check(view.hdr->caps, &err) < 0) {
		cli_error("%s: %s", path, err.msg);
		goto out;
	}
	*caps = view.hdr->caps;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

/* "fs-read", "fs-read + fs-write", "spawn or threads". */
static void caps_words(const struct myr_sandbox_rule *r, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	if (!r->caps) {
		snprintf(buf, size, "always");
		return;
	}
	for (uint32_t bit = 1; bit && n < size; bit <<= 1) {
		if (!(r->caps & bit))
			continue;
		n += (size_t)snprintf(buf + n, size - n, "%s%s",
				      n ? (r->caps_any ? " or " : " + ") : "",
				      myr_cap_name(bit));
	}
}

enum section { GRANTED_ALLOW, GRANTED_ENOSYS, NOT_GRANTED };

/* The rules of one section, under a heading printed only if any match. */
static void print_rules(FILE *f, const char *heading, const char *by_title,
			uint32_t caps, enum section section)
{
	size_t nrules;
	const struct myr_sandbox_rule *rules = myr_sandbox_rules(&nrules);
	int printed = 0;
	char by[64];

	for (size_t i = 0; i < nrules; i++) {
		const struct myr_sandbox_rule *r = &rules[i];
		int granted = myr_sandbox_rule_applies(r, caps);
		const char *cond = r->condition ? r->condition : "any arguments";

		if (section == NOT_GRANTED ? granted :
		    !granted || (r->verdict == MYR_VERDICT_ENOSYS) !=
				(section == GRANTED_ENOSYS))
			continue;
		if (!printed++)
			fprintf(f, "\n%s\n%-18s %-19s %s\n", heading, "SYSCALL",
				by_title, "CONDITION");
		if (section == NOT_GRANTED && r->verdict == MYR_VERDICT_ENOSYS)
			cond = "(then ENOSYS)";
		caps_words(r, by, sizeof(by));
		fprintf(f, "%-18s %-19s %s\n", r->syscall, by, cond);
	}
}

static void print_policy(FILE *f, const char *what, uint32_t caps,
			 enum myr_sandbox_mode mode)
{
	const char *deny = mode == MYR_SANDBOX_STRICT ?
			   "the process is killed (SIGSYS)" : "fails with EPERM";
	size_t nnever;
	const char *const *never = myr_sandbox_never(&nnever);
	char list[128], heading[128];

	myr_caps_format(caps, list, sizeof(list));
	fprintf(f, "policy for %s\n", what);
	fprintf(f, "capabilities: %s\n", list);
	fprintf(f, "mode:         %s (--sandbox=%s)\n",
		myr_sandbox_mode_name(mode), myr_sandbox_mode_name(mode));
	fprintf(f, "denied:       every syscall not allowed below %s\n", deny);
	fprintf(f, "other ABIs:   i386 (int 0x80) and x32 syscalls: the process "
		"is killed (SIGSYS)\n");
	fprintf(f, "also:         no_new_privs is set; READ_IMPLIES_EXEC is "
		"cleared\n");

	print_rules(f, "ALLOWED", "GRANTED BY", caps, GRANTED_ALLOW);
	print_rules(f, "ERRNO: fails with ENOSYS, so that libc falls back",
		    "GRANTED BY", caps, GRANTED_ENOSYS);
	snprintf(heading, sizeof(heading), "NOT GRANTED: %s (these would need "
		 "another capability)", deny);
	print_rules(f, heading, "NEEDS", caps, NOT_GRANTED);

	fprintf(f, "\nNEVER ALLOWED, whatever the capabilities: %s\n", deny);
	for (size_t i = 0, col = 0; i < nnever; i++) {
		size_t len = strlen(never[i]);
		if (col && col + 1 + len > 78) {
			fputc('\n', f);
			col = 0;
		}
		col += (size_t)fprintf(f, "%s%s", col ? " " : "", never[i]);
		if (i + 1 == nnever)
			fputc('\n', f);
	}
}

static int export_bpf(const char *file, uint32_t caps,
		      enum myr_sandbox_mode mode)
{
	struct myr_error err = { 0 };
	int to_stdout = strcmp(file, "-") == 0;
	int fd = to_stdout ? STDOUT_FILENO :
		 open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY,
		      0644);
	int rc;

	if (fd < 0) {
		cli_error("%s: %s", file, strerror(errno));
		return -1;
	}
	rc = myr_sandbox_export_bpf(caps, mode, fd, &err);
	if (rc < 0)
		cli_error("%s: %s", file, err.msg);
	if (!to_stdout && close(fd) < 0 && rc == 0) {
		cli_error("%s: %s", file, strerror(errno));
		rc = -1;
	}
	return rc < 0 ? -1 : 0;
}

struct policy_args {
	enum myr_sandbox_mode mode;
	const char *caps, *program, *bpf;
};

enum { P_STRICT, P_CAPS, P_BPF };

static int opt_help(void *ctx, const struct cli_option *opt, const char *v)
{
	(void)ctx, (void)opt, (void)v;
	fputs(usage_text, stdout);
	return MYRIAD_EXIT_OK;
}

static int opt_set(void *ctx, const struct cli_option *opt, const char *v)
{
	struct policy_args *a = ctx;
	if (opt->key == P_STRICT)
		a->mode = MYR_SANDBOX_STRICT;
	else if (opt->key == P_CAPS)
		a->caps = v;
	else
		a->bpf = v;
	return CLI_NEXT;
}

static int program_operand(void *ctx, char *arg)
{
	struct policy_args *a = ctx;
	if (a->program) {
		cli_error("policy: one program at a time ('%s' and '%s')",
			  a->program, arg);
		return MYRIAD_EXIT_USAGE;
	}
	a->program = arg;
	return CLI_NEXT;
}

static const struct cli_option policy_options[] = {
	{ .name = "--help", .alias = "-h", .set = opt_help },
	{ .name = "--strict", .set = opt_set, .key = P_STRICT },
	{ .name = "--caps", .takes_value = 1, .set = opt_set, .key = P_CAPS },
	{ .name = "--bpf", .takes_value = 1, .set = opt_set, .key = P_BPF },
	{ .name = NULL },
};

static const struct cli_command policy_command = {
	.name = "policy", .options = policy_options, .operand = program_operand,
};

int cmd_policy(int argc, char **argv)
{
	struct policy_args a = { .mode = MYR_SANDBOX_DEFAULT };
	struct myr_error err = { 0 };
	uint32_t caps = 0;
	char what[512];
	int next, r = cli_parse(&policy_command, argc, argv, &a, &next);
	enum myr_sandbox_mode mode = a.mode;
	const char *caps_arg = a.caps, *program = a.program, *bpf = a.bpf;

	if (r != CLI_NEXT)
		return r;
	if (program && caps_arg) {
		cli_error("policy: give --caps or a program, not both (a "
			  "program's capabilities are in its header)");
		return MYRIAD_EXIT_USAGE;
	}
	if (bpf && !*bpf) {
		cli_error("policy: --bpf needs a file name");
		return MYRIAD_EXIT_USAGE;
	}
	if (caps_arg) {
		if (myr_caps_parse(caps_arg, &caps, &err) < 0) {
			cli_error("policy: --caps: %s", err.msg);
			return MYRIAD_EXIT_USAGE;
		}
		memcpy(what, "--caps ", 7);
		myr_caps_format(caps, what + 7, sizeof(what) - 7);
	} else if (program) {
		if (program_caps(program, &caps) < 0)
			return MYRIAD_EXIT_FAILURE;
		snprintf(what, sizeof(what), "%s", program);
	} else {
		snprintf(what, sizeof(what), "a program without capabilities");
	}

	if (bpf && export_bpf(bpf, caps, mode) < 0)
		return MYRIAD_EXIT_FAILURE;
	if (bpf && strcmp(bpf, "-") == 0)
		return MYRIAD_EXIT_OK;
	print_policy(stdout, what, caps, mode);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("policy: cannot write the policy: %s", strerror(errno));
		return MYRIAD_EXIT_FAILURE;
	}
	return MYRIAD_EXIT_OK;
}
