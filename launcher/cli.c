/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static void write_line(const char *body)
{
	char line[MYR_ERROR_MSG_MAX * 3];
	int n = snprintf(line, sizeof(line), "myriad: %s\n", body);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line, so lines from concurrent processes never mix. */
	ssize_t r = write(STDERR_FILENO, line, (size_t)n);
	(void)r;
}

void cli_error(const char *fmt, ...)
{
	char body[MYR_ERROR_MSG_MAX * 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	write_line(body);
}

static void diag_to_stderr(void *opaque, const char *line)
{
	(void)opaque;
	write_line(line);
}

void cli_diag_init(struct myr_diag *diag)
{
	memset(diag, 0, sizeof(*diag));
	diag->emit = diag_to_stderr;
}
