/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <myriad/error.h>

int myr_error_set(struct myr_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

void myr_diag_emitf(struct myr_diag *diag, const char *fmt, ...)
{
	char line[MYR_ERROR_MSG_MAX * 2];
	va_list ap;

	if (!diag)
		return;
	diag->count++;
	if (!diag->emit)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	diag->emit(diag->opaque, line);
}
