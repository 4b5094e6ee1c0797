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
