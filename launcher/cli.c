/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <myriad/fetch.h>
#include "cli.h"

#define LINE_PREFIX "myriad: "
#define LINE_MAX_BYTES (MYR_ERROR_MSG_MAX * 3)

/* line (LINE_MAX_BYTES) holds LINE_PREFIX and the message vsnprintf
 * returned n for (n < 0: it failed): end it with a newline in place of the
 * NUL, cut as vsnprintf did, and write it in one call, so that lines from
 * concurrent processes never mix. */
static void write_line(char *line, int n)
{
	size_t len;

	if (n < 0)
		return;
	len = sizeof(LINE_PREFIX) - 1 + (size_t)n;
	if (len > LINE_MAX_BYTES - 2)      /* cut: as much as vsnprintf kept */
		len = LINE_MAX_BYTES - 2;
	line[len++] = '\n';
	ssize_t r = write(STDERR_FILENO, line, len);
	(void)r;
}

/* Formatted straight after the prefix in one buffer: a launch with
 * --sandbox=off says so through here, and each 4 KiB of stack it reaches
 * costs a page fault (a body and a line buffer were 2.5 KiB). */
void cli_error(const char *fmt, ...)
{
	char line[LINE_MAX_BYTES];
	va_list ap;

	memcpy(line, LINE_PREFIX, sizeof(LINE_PREFIX) - 1);
	va_start(ap, fmt);
	int n = vsnprintf(line + sizeof(LINE_PREFIX) - 1,
			  sizeof(line) - sizeof(LINE_PREFIX), fmt, ap);
	va_end(ap);
	write_line(line, n);
}

static void diag_to_stderr(void *opaque, const char *msg)
{
	(void)opaque;
	cli_error("%s", msg);
}

void cli_diag_init(struct myr_diag *diag)
{
	memset(diag, 0, sizeof(*diag));
	diag->emit = diag_to_stderr;
}

int cli_read_file(const char *path, uint64_t max, const char *what,
		  uint8_t **out, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		cli_error("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		cli_error("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		cli_error("%s: not a regular file (%s)", path,
			  myr_file_type_name(st.st_mode));
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		cli_error("%s: %lld bytes, over the %s of %llu bytes", path,
			  (long long)st.st_size, what, (unsigned long long)max);
		close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size, got = 0;
	uint8_t *buf = malloc(size + 1);
	if (!buf) {
		cli_error("%s: out of memory", path);
		close(fd);
		return -1;
	}
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			cli_error("%s: %s", path, n < 0 ? strerror(errno) :
				  "file shrank while being read");
			free(buf);
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	*len = size;
	return 0;
}
