/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm: park points, test-only hooks that hold a thread in a race window.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_TEST_HOOKS_H
#define _TORUSMM_TEST_HOOKS_H

struct dentry;

/*
 * The windows a test can hold a thread in, each a file
 * /sys/kernel/debug/torusmm/park_<name> in a build with TORUSMM_TEST_HOOKS=1.
 */
enum tmm_park_site {
	/* pfn_mkwrite, after the software MMU approved the write */
	TMM_PARK_MKWRITE,
	TMM_PARK_NR,
};

#ifdef TMM_TEST_HOOKS
void tmm_park(enum tmm_park_site site);
void tmm_test_hooks_init(struct dentry *parent);
#else
static inline void tmm_park(enum tmm_park_site site)
{
}

static inline void tmm_test_hooks_init(struct dentry *parent)
{
}
#endif

#endif /* _TORUSMM_TEST_HOOKS_H */
