/* SPDX-License-Identifier: MIT */
/*
 * The filters generated at build time (lib/sandbox/gen_bpf.c), which the
 * launcher installs, against the filters libseccomp builds at run time
 * from the same table (which test_sandbox_policy.c judges): byte for byte
 * the same program for every capability set and both modes, with this
 * process's pid written in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <myriad/format.h>
#include <myriad/sandbox.h>
#include "harness.h"

static const enum myr_sandbox_mode modes[] = {
	MYR_SANDBOX_DEFAULT, MYR_SANDBOX_STRICT,
};

TEST(prebuilt_equals_runtime_for_every_cap_set_and_mode)
{
	unsigned compared = 0;

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (uint32_t caps = 0; caps <= MYR_CAP_KNOWN; caps++) {
			struct myr_error err = { 0 };
			void *runtime = NULL, *prebuilt = NULL;
			size_t rlen = 0, plen = 0;
			int rc;

			ASSERT_EQ(myr_sandbox_bpf(caps, modes[m], &runtime, &rlen,
						  &err), 0);
			rc = myr_sandbox_prebuilt_bpf(caps, modes[m], &prebuilt,
						      &plen, &err);
			if (rc == -EAGAIN) {
				/* This pid is a constant of the filter too
				 * (pid 1 and AF_UNIX): the launcher builds
				 * that filter at run time. */
				TH_LOG("caps 0x%x: %s", caps, err.msg);
				free(runtime);
				continue;
			}
			if (rc != 0)
				TH_LOG("caps 0x%x mode %d: %s", caps, modes[m],
				       err.msg);
			ASSERT_EQ(rc, 0);
			EXPECT_EQ(plen, rlen);
			if (plen == rlen)
				EXPECT_EQ(memcmp(prebuilt, runtime, rlen), 0);
			free(runtime);
			free(prebuilt);
			compared++;
		}
	}
	/* Only pid 1 can collide, and then only with some capability sets. */
	EXPECT_GE(compared, 32u);
}

TEST(prebuilt_refuses_what_the_builder_refuses)
{
	struct myr_error err = { 0 };
	void *buf = NULL;
	size_t len = 0;

	EXPECT_EQ(myr_sandbox_prebuilt_bpf(MYR_CAP_KNOWN + 1, MYR_SANDBOX_DEFAULT,
					   &buf, &len, &err), -EINVAL);
	EXPECT_EQ(myr_sandbox_prebuilt_bpf(0, MYR_SANDBOX_OFF, &buf, &len, &err),
		  -EINVAL);
	EXPECT_EQ(myr_sandbox_prebuilt_bpf(0, (enum myr_sandbox_mode)7, &buf,
					   &len, &err), -EINVAL);
	EXPECT_NULL(buf);
}

TEST_HARNESS_MAIN
