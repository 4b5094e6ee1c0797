/* SPDX-License-Identifier: MIT */
/*
 * lib/base/cpus.h - how many CPUs this thread may run on (its affinity mask,
 * not the machine's count: a process pinned to one CPU gains nothing from
 * lanes or io-wq workers).  1 when the mask cannot be read.
 */
#ifndef MYRIAD_LIB_CPUS_H
#define MYRIAD_LIB_CPUS_H

#include <sched.h>

static inline unsigned myr_usable_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	return (unsigned)CPU_COUNT(&set);
}

#endif /* MYRIAD_LIB_CPUS_H */
