/* SPDX-License-Identifier: MIT */
/*
 * test_host_table.c - the host module's table and myr_host_find().
 *
 * Unit tests link against the host compiler's libc, not the launcher, so
 * this file compiles launcher/host.c itself: the same X-macro list then
 * binds each name to glibc's (or libgcc's) definition, which checks that
 * every name is a real symbol of a C runtime, and the table's structure is
 * the same one the launcher gets from musl.  The glibc shims of
 * launcher/host_compat.c are not included: glibc defines those names
 * itself.  Whether musl resolves every name is checked by the launcher's
 * own static link, which fails on any missing one.
 */
#include <stdio.h>
#include <string.h>
#include "harness.h"
/* The MAP group's PROT_EXEC-refusing wrappers and the DL group's module
 * lookups live in host_compat.c and host_dl.c; here the names bind to
 * glibc's own mmap, mprotect and dlopen. */
#define MYR_HOST_PREFIX_MAP ""
#define MYR_HOST_PREFIX_DL ""
#include "../../launcher/host.c"

#define COUNT_ONE(name, group) +1
static const size_t listed = 0 MYR_HOST_SYMBOLS(COUNT_ONE, COUNT_ONE);
#undef COUNT_ONE

TEST(table_has_every_listed_name)
{
	ASSERT_EQ(listed, myr_host_symbol_count);
	ASSERT_GT(myr_host_symbol_count, (size_t)300);
}

TEST(sorted_by_strcmp_and_unique)
{
	for (size_t i = 1; i < myr_host_symbol_count; i++) {
		if (strcmp(myr_host_symbols[i - 1].name, myr_host_symbols[i].name) >= 0)
			ASSERT_STREQ("sorted and unique", myr_host_symbols[i].name);
	}
}

TEST(every_entry_resolves)
{
	for (size_t i = 0; i < myr_host_symbol_count; i++) {
		const struct myr_host_symbol *s = &myr_host_symbols[i];
		EXPECT_NONNULL(s->addr);
		EXPECT_TRUE(s->kind == MYR_SYM_FUNC || s->kind == MYR_SYM_OBJECT);
		EXPECT_GT(strlen(s->name), (size_t)0);
		EXPECT_LE(strlen(s->name), (size_t)MYR_SYMBOL_MAX);
	}
}

TEST(find_returns_each_entry)
{
	for (size_t i = 0; i < myr_host_symbol_count; i++) {
		const char *name = myr_host_symbols[i].name;
		ASSERT_TRUE(myr_host_find(name, strlen(name)) == &myr_host_symbols[i]);
	}
}

/* Names come from module string tables: length-delimited, not NUL-ended. */
TEST(find_uses_only_len_bytes)
{
	const char buf[] = "memcpyXYZ";
	const struct myr_host_symbol *s = myr_host_find(buf, 6);
	ASSERT_NONNULL(s);
	EXPECT_STREQ("memcpy", s->name);
	EXPECT_NULL(myr_host_find(buf, 7));
	EXPECT_NULL(myr_host_find(buf, 5));
}

TEST(find_rejects_what_is_not_listed)
{
	static const char *const absent[] = {
		"", "m", "memcp", "memcpyy", "Memcpy", "pthread_create",
		"strerror_r", "basename", "__tls_get_addr", "__xstat",
		"_GLOBAL_OFFSET_TABLE_", "~", "\xff\xfe",
	};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		EXPECT_NULL(myr_host_find(absent[i], strlen(absent[i])));
	EXPECT_NULL(myr_host_find(NULL, 0));
	EXPECT_NULL(myr_host_find(NULL, 6));
	EXPECT_NULL(myr_host_find("memcpy\0", 7));
	/* Before the first and after the last entry. */
	EXPECT_NULL(myr_host_find("!", 1));
	EXPECT_NULL(myr_host_find("zzzz", 4));
}

TEST(names_bind_to_the_right_definitions)
{
	const struct myr_host_symbol *s;

	s = myr_host_find("qsort", 5);
	ASSERT_NONNULL(s);
	EXPECT_TRUE(s->addr == (void *)qsort);
	EXPECT_EQ(MYR_SYM_FUNC, s->kind);

	s = myr_host_find("stdout", 6);
	ASSERT_NONNULL(s);
	EXPECT_TRUE(s->addr == (void *)&stdout);
	EXPECT_EQ(MYR_SYM_OBJECT, s->kind);

	s = myr_host_find("__errno_location", 16);
	ASSERT_NONNULL(s);
	EXPECT_TRUE(s->addr == (void *)__errno_location);
}

/* What compilers emit on their own, and what glibc's headers turn calls
 * into, must be there whatever else changes. */
TEST(compiler_and_glibc_names_present)
{
	static const char *const required[] = {
		"memcpy", "memmove", "memset", "memcmp", "strlen",
		"__stack_chk_fail", "__udivti3", "__popcountdi2",
		"__isoc99_sscanf", "__ctype_b_loc", "__ctype_tolower_loc",
		"__assert_fail", "__printf_chk", "__memcpy_chk", "__open_2",
		"stdin", "stdout", "stderr", "environ",
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (myr_host_find(required[i], strlen(required[i])) == NULL)
			EXPECT_STREQ("present", required[i]);
	}
}

TEST_HARNESS_MAIN
