/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm: module-local fault points, one per kind of allocation.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_FAULT_INJECT_H
#define _TORUSMM_FAULT_INJECT_H

#include <linux/types.h>

struct dentry;

/*
 * Each kind of allocation the core makes has a fault point, exposed in
 * debugfs as /sys/kernel/debug/torusmm/fail_<kind>/ when the kernel has
 * CONFIG_FAULT_INJECTION_DEBUG_FS.
 */
enum tmm_fault_site {
	TMM_FAULT_FRAME,	/* a data frame */
	TMM_FAULT_TABLE,	/* a page-table frame */
	TMM_FAULT_SLAB,		/* a slab object */
	TMM_FAULT_TREE,		/* a maple tree node (a region store) */
	TMM_FAULT_NR,
};

bool tmm_should_fail(enum tmm_fault_site site);
int tmm_fault_arm(enum tmm_fault_site site, unsigned int nth);
void tmm_fault_disarm(enum tmm_fault_site site);
bool tmm_fault_fired(enum tmm_fault_site site);
void tmm_fault_debugfs_init(struct dentry *parent);

#endif /* _TORUSMM_FAULT_INJECT_H */
