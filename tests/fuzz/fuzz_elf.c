/* SPDX-License-Identifier: MIT */
/*
 * fuzz_elf: the ELF-to-module converter (`myriad link` short of files) on
 * a hostile relocatable object, linked against one fixed library (libb of
 * closure.h) and a small host module, with an entry point when the
 * input's length is odd.  Whatever the converter writes must pass the
 * module reader, checksum included: the writer promises it.
 */
#include <errno.h>
#include <myriad/elf2myr.h>
#include <myriad/module.h>
#include "closure.h"
#include "fuzz_common.h"

static uint8_t *dep_file;
static size_t dep_len;
static struct myr_module_view dep_view;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_REQUIRE(closure_write(CLOSURE_LIBB, &dep_file, &dep_len) == 0);
	FUZZ_REQUIRE(myr_module_parse(dep_file, dep_len, 0, &dep_view, NULL) == 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct myr_error err = { 0 };
	struct myr_diag diag = { .emit = fuzz_diag_emit };
	uint8_t *obj = fuzz_copy(data, size), *out = NULL;
	size_t out_len = 0;

	int check = myr_elf_object_check(obj, size, &err);
	if (check)
		fuzz_check_error(check, &err);

	const struct myr_link_object objs[] = { { "fuzz.o", obj, size } };
	const struct myr_link_dep deps[] = { { "libb.myr", &dep_view, 0 } };
	struct myr_link_options opt = {
		.name = "fuzzed", .ver_major = 1,
		.entry = size & 1 ? "main" : NULL,
		.compress = 1,
		.objs = objs, .nobjs = 1,
		.deps = deps, .ndeps = 1,
		.host_names = closure_host_names,
		.nhost = sizeof(closure_host_names) / sizeof(closure_host_names[0]),
		.host_major = 1, .host_minor = 3,
	};
	int rc = myr_elf_link_write(&opt, &out, &out_len, &diag);
	if (rc == 0) {
		struct myr_module_view v;
		FUZZ_REQUIRE(check == 0);
		FUZZ_REQUIRE(myr_module_parse(out, out_len, 0, &v, &err) == 0);
		free(out);
	} else {
		/* A malformed object is always one of the reported problems. */
		FUZZ_REQUIRE(diag.count > 0);
		FUZZ_REQUIRE(rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM ||
			     rc == -ENOEXEC || rc == -EBADMSG);
	}
	free(obj);
	return 0;
}
