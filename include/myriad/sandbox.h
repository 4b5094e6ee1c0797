/* SPDX-License-Identifier: MIT */
/*
 * myriad/sandbox.h - the seccomp policy a program runs under (issue 5).
 * Owned by the sandbox work; the launcher calls myr_sandbox_apply() after
 * the loader has closed every fd it opened and before any module code runs.
 */
#ifndef MYRIAD_SANDBOX_H
#define MYRIAD_SANDBOX_H

#include <stdint.h>
#include <myriad/error.h>

enum myr_sandbox_mode {
	MYR_SANDBOX_DEFAULT = 0,  /* denied syscalls fail with EPERM */
	MYR_SANDBOX_STRICT,       /* denied syscalls kill the process (SIGSYS) */
	MYR_SANDBOX_OFF,          /* no filter (debugging) */
};

/* Set no_new_privs and install the filter for caps (MYR_CAP_*). */
int myr_sandbox_apply(uint32_t caps, enum myr_sandbox_mode mode,
		      struct myr_error *err);

#endif
