/* SPDX-License-Identifier: MIT */
/* Capability names and sandbox modes: the spellings link, info, policy and
 * the run command share. */
#include <myriad/format.h>
#include <myriad/sandbox.h>
#include "harness.h"

TEST(every_known_bit_has_a_name_that_maps_back)
{
	unsigned named = 0;

	for (uint32_t bit = 1; bit; bit <<= 1) {
		const char *name = myr_cap_name(bit);
		uint32_t back = 0;

		if (!(bit & MYR_CAP_KNOWN)) {
			EXPECT_NULL(name);
			continue;
		}
		ASSERT_NONNULL(name);
		EXPECT_LE(strlen(name), MYR_CAP_NAME_MAX);
		ASSERT_EQ(myr_cap_from_name(name, strlen(name), &back), 0);
		EXPECT_EQ(back, bit);
		named++;
	}
	EXPECT_EQ(named, 5u);
	EXPECT_STREQ(myr_cap_name(MYR_CAP_FS_READ), "fs-read");
	EXPECT_STREQ(myr_cap_name(MYR_CAP_FS_WRITE), "fs-write");
	EXPECT_STREQ(myr_cap_name(MYR_CAP_NET), "net");
	EXPECT_STREQ(myr_cap_name(MYR_CAP_SPAWN), "spawn");
	EXPECT_STREQ(myr_cap_name(MYR_CAP_THREADS), "threads");
	EXPECT_NULL(myr_cap_name(0));
	EXPECT_NULL(myr_cap_name(MYR_CAP_NET | MYR_CAP_SPAWN));
}

TEST(from_name_needs_the_exact_spelling)
{
	uint32_t cap = 0xdead;

	EXPECT_EQ(myr_cap_from_name("fs-read", 6, &cap), -EINVAL);   /* prefix */
	EXPECT_EQ(myr_cap_from_name("NET", 3, &cap), -EINVAL);
	EXPECT_EQ(myr_cap_from_name("net ", 4, &cap), -EINVAL);
	EXPECT_EQ(myr_cap_from_name("", 0, &cap), -EINVAL);
	EXPECT_EQ(myr_cap_from_name("netx", 3, &cap), 0);            /* length */
	EXPECT_EQ(cap, MYR_CAP_NET);
}

TEST(parse_lists)
{
	struct myr_error err = { 0 };
	uint32_t caps = 0xdead;

	ASSERT_EQ(myr_caps_parse("fs-read,net", &caps, &err), 0);
	EXPECT_EQ(caps, MYR_CAP_FS_READ | MYR_CAP_NET);
	ASSERT_EQ(myr_caps_parse("threads,threads,,spawn,", &caps, &err), 0);
	EXPECT_EQ(caps, MYR_CAP_THREADS | MYR_CAP_SPAWN);
	ASSERT_EQ(myr_caps_parse("", &caps, &err), 0);
	EXPECT_EQ(caps, 0u);
	ASSERT_EQ(myr_caps_parse("none", &caps, &err), 0);
	EXPECT_EQ(caps, 0u);
	ASSERT_EQ(myr_caps_parse("fs-read,fs-write,net,spawn,threads", &caps,
				 &err), 0);
	EXPECT_EQ(caps, MYR_CAP_KNOWN);
}

TEST(parse_names_the_unknown_capability)
{
	struct myr_error err = { 0 };
	uint32_t caps = 0xdead;

	ASSERT_EQ(myr_caps_parse("fs-read,network", &caps, &err), -EINVAL);
	EXPECT_EQ(err.code, -EINVAL);
	EXPECT_NONNULL(strstr(err.msg, "'network'"));
	EXPECT_NONNULL(strstr(err.msg, "fs-read, fs-write, net, spawn, threads"));
	EXPECT_EQ(caps, 0xdeadu);  /* untouched on failure */
	/* Hostile bytes stay on one bounded, printable line. */
	ASSERT_EQ(myr_caps_parse("x\n\x1b[31mred\xff", &caps, &err), -EINVAL);
	EXPECT_NULL(strchr(err.msg, '\n'));
	EXPECT_NULL(strchr(err.msg, '\x1b'));
	char longname[4096];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ASSERT_EQ(myr_caps_parse(longname, &caps, &err), -EINVAL);
	EXPECT_LT(strlen(err.msg), 200u);
	EXPECT_NONNULL(strstr(err.msg, "..."));
	/* err may be NULL. */
	EXPECT_EQ(myr_caps_parse("bogus", &caps, NULL), -EINVAL);
}

TEST(format_round_trips_and_shows_unknown_bits)
{
	struct myr_error err = { 0 };
	char buf[128];

	for (uint32_t caps = 0; caps <= MYR_CAP_KNOWN; caps++) {
		uint32_t back = 0xdead;
		size_t n = myr_caps_format(caps, buf, sizeof(buf));
		EXPECT_EQ(n, strlen(buf));
		ASSERT_EQ(myr_caps_parse(buf, &back, &err), 0);
		EXPECT_EQ(back, caps);
	}
	myr_caps_format(0, buf, sizeof(buf));
	EXPECT_STREQ(buf, "none");
	myr_caps_format(MYR_CAP_NET | 0x80, buf, sizeof(buf));
	EXPECT_STREQ(buf, "net,0x80");
	/* snprintf semantics: truncated, NUL-terminated, full length back. */
	EXPECT_EQ(myr_caps_format(MYR_CAP_FS_READ | MYR_CAP_NET, buf, 5), 11u);
	EXPECT_STREQ(buf, "fs-r");
	EXPECT_EQ(myr_caps_format(MYR_CAP_FS_READ, NULL, 0), 7u);
}

TEST(check_names_the_lowest_unknown_bit)
{
	struct myr_error err = { 0 };

	EXPECT_EQ(myr_caps_check(MYR_CAP_KNOWN, &err), 0);
	EXPECT_EQ(myr_caps_check(0, &err), 0);
	EXPECT_EQ(myr_caps_check(0x20 | 0x400 | MYR_CAP_NET, &err), -EINVAL);
	EXPECT_NONNULL(strstr(err.msg, "0x20"));
	EXPECT_EQ(myr_caps_check(0x80000000u, &err), -EINVAL);
	EXPECT_NONNULL(strstr(err.msg, "0x80000000"));
}

TEST(mode_names)
{
	enum myr_sandbox_mode mode = MYR_SANDBOX_OFF;

	for (int m = MYR_SANDBOX_DEFAULT; m <= MYR_SANDBOX_OFF; m++) {
		const char *name = myr_sandbox_mode_name((enum myr_sandbox_mode)m);
		ASSERT_NONNULL(name);
		ASSERT_EQ(myr_sandbox_mode_from_name(name, &mode), 0);
		EXPECT_EQ((int)mode, m);
	}
	EXPECT_STREQ(myr_sandbox_mode_name(MYR_SANDBOX_STRICT), "strict");
	EXPECT_NULL(myr_sandbox_mode_name((enum myr_sandbox_mode)3));
	mode = MYR_SANDBOX_STRICT;
	EXPECT_EQ(myr_sandbox_mode_from_name("Strict", &mode), -EINVAL);
	EXPECT_EQ(myr_sandbox_mode_from_name("", &mode), -EINVAL);
	EXPECT_EQ((int)mode, MYR_SANDBOX_STRICT);
}

TEST_HARNESS_MAIN
