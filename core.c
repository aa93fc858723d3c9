// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm: the core module's setup and teardown.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * DOC: The core module
 *
 * torusmm_core.ko holds tori, page tables, address spaces, the software MMU
 * and the shadow; torusmm.ko, the device, is the only user of its exports
 * (namespace TORUSMM).  With TORUSMM_KUNIT set at build time the KUnit
 * suites are linked in and run when the module loads, so that they reach
 * the internals without exports of their own.  Loading creates the debugfs
 * directory (debugfs.c) and sets up the fault points and, in a test build,
 * the park points (test_hooks.c), with their files.  The tracepoints of
 * torusmm_trace.h are defined here.
 */

#include <linux/module.h>

#include "debugfs.h"
#include "fault_inject.h"
#include "test_hooks.h"

#define CREATE_TRACE_POINTS
#include "torusmm_trace.h"

static int __init tmm_core_init(void)
{
	struct dentry *root = tmm_debugfs_init();

	tmm_fault_debugfs_init(root);
	tmm_test_hooks_init(root);
	return 0;
}

static void __exit tmm_core_exit(void)
{
	tmm_debugfs_exit();
}

module_init(tmm_core_init);
module_exit(tmm_core_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The torusmm authors");
MODULE_DESCRIPTION("torusmm core: tori of frames, two-level page tables, address spaces");
