/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/raw_syscall.h - a syscall issued by a bare `syscall`
 * instruction, bypassing libc, so that a test shows what the filter does to
 * code that never goes through a wrapper.  Returns the kernel's value: -errno
 * on failure.  Also used by the test modules (tests/modules/sandbox_*.c),
 * which have no libc of their own.
 */
#ifndef MYRIAD_TEST_RAW_SYSCALL_H
#define MYRIAD_TEST_RAW_SYSCALL_H

#if !defined(__x86_64__)
#error "raw_syscall.h is written for x86_64"
#endif

static inline long raw_syscall6(long nr, long a, long b, long c, long d,
				long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define raw_syscall0(nr)             raw_syscall6(nr, 0, 0, 0, 0, 0, 0)
#define raw_syscall1(nr, a)          raw_syscall6(nr, (long)(a), 0, 0, 0, 0, 0)
#define raw_syscall2(nr, a, b)       raw_syscall6(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define raw_syscall3(nr, a, b, c)    raw_syscall6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)

#endif
