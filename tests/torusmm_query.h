/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm selftests: a space's or a torus's state, read with one ioctl that
 * must succeed (the test fails at once when it does not).  Include it after
 * kselftest_harness.h.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_QUERY_H
#define _TORUSMM_QUERY_H

#include <string.h>

#include <linux/torusmm.h>

#include "libtorusmm.h"
#include "torusmm_test.h"

/* Map a region; the test fails when that fails.  Return: its start. */
static inline __u64 map(struct __test_metadata *_metadata, int fd,
			__u64 addr, __u64 length, __u32 prot, __u32 flags)
{
	int ret = torusmm_mmap(fd, &addr, length, prot, flags);

	ASSERT_EQ(0, ret) TH_LOG("TORUSMM_MMAP(%#llx, %#llx, %#x, %#x): %s",
				 (unsigned long long)addr,
				 (unsigned long long)length, prot, flags,
				 strerror(-ret));
	return addr;
}

/* The leaf entry of @addr, from the PTE dump (0 when it holds no frame). */
static inline __u32 pte_of(struct __test_metadata *_metadata, int fd,
			   __u64 addr)
{
	struct torusmm_pte pte = { 0 };
	__u32 count = 1;

	ASSERT_EQ(0, torusmm_dump_ptes(fd, addr & ~(__u64)(PAGE - 1), PAGE,
				       &pte, &count));
	return count ? pte.pte : 0;
}

static inline struct torusmm_space_stats
stats_of(struct __test_metadata *_metadata, int fd)
{
	struct torusmm_space_stats stats;

	ASSERT_EQ(0, torusmm_stats(fd, &stats));
	return stats;
}

static inline struct torusmm_torus_info
torus_of(struct __test_metadata *_metadata, int dev, __u32 torus)
{
	struct torusmm_torus_info info;

	ASSERT_EQ(0, torusmm_torus_info(dev, torus, &info));
	return info;
}

#endif /* _TORUSMM_QUERY_H */
