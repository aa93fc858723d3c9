// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm: module-local fault points.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * DOC: Fault points
 *
 * Every operation of the core is all or nothing: when an allocation fails
 * halfway, nothing of the operation remains.  To prove it, each kind of
 * allocation the core makes (a data frame, a page-table frame, a slab object,
 * a maple tree store) asks tmm_should_fail() first.  The fault points are
 * the kernel's fault_attr, so the usual knobs in
 * /sys/kernel/debug/torusmm/fail_<kind>/ work, and /proc/<pid>/fail-nth
 * reaches them too.  The KUnit suites use tmm_fault_arm() to fail exactly the
 * Nth allocation of one kind.
 *
 * The attributes start with verbose = 0: an injected failure is an expected
 * event, and a stack dump on the console would read as a kernel splat.
 */

#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/module.h>

#include "fault_inject.h"

#ifdef CONFIG_FAULT_INJECTION

static const char *const tmm_fault_names[TMM_FAULT_NR] = {
	[TMM_FAULT_FRAME] = "fail_frame",
	[TMM_FAULT_TABLE] = "fail_table",
	[TMM_FAULT_SLAB] = "fail_slab",
	[TMM_FAULT_TREE] = "fail_tree",
};

static struct fault_attr tmm_fault_attrs[TMM_FAULT_NR];
static bool tmm_fault_armed[TMM_FAULT_NR];

/**
 * tmm_should_fail() - ask a fault point whether this allocation fails
 * @site: the kind of allocation about to be made
 *
 * Context: any context.
 * Return: true when the caller must behave as if the allocation failed.
 */
bool tmm_should_fail(enum tmm_fault_site site)
{
	return should_fail(&tmm_fault_attrs[site], 1);
}

/**
 * tmm_fault_arm() - make the Nth allocation of one kind fail, once
 * @site: the kind of allocation
 * @nth: 1 fails the next allocation, 2 the one after, and so on
 *
 * Meant for tests, which run one at a time: arming is not atomic with
 * respect to allocations running on other CPUs.
 *
 * Context: process context.
 * Return: 0, or -EINVAL for a bad @site or an @nth of zero.
 */
int tmm_fault_arm(enum tmm_fault_site site, unsigned int nth)
{
	struct fault_attr *attr;

	if (site >= TMM_FAULT_NR || !nth)
		return -EINVAL;

	attr = &tmm_fault_attrs[site];
	attr->probability = 0;
	attr->interval = nth;
	attr->count = 0;
	atomic_set(&attr->space, 0);
	atomic_set(&attr->times, 1);
	tmm_fault_armed[site] = true;
	/* Last, so that a racing should_fail() sees a complete setting. */
	WRITE_ONCE(attr->probability, 100);
	return 0;
}

/**
 * tmm_fault_fired() - whether an armed fault point has failed an allocation
 * @site: the kind of allocation
 *
 * Context: any context.
 * Return: true when @site was armed and its failure has happened.
 */
bool tmm_fault_fired(enum tmm_fault_site site)
{
	if (site >= TMM_FAULT_NR)
		return false;
	return tmm_fault_armed[site] &&
	       !atomic_read(&tmm_fault_attrs[site].times);
}

/**
 * tmm_fault_disarm() - stop a fault point from failing allocations
 * @site: the kind of allocation
 *
 * Context: process context.
 */
void tmm_fault_disarm(enum tmm_fault_site site)
{
	if (site >= TMM_FAULT_NR)
		return;
	WRITE_ONCE(tmm_fault_attrs[site].probability, 0);
	tmm_fault_armed[site] = false;
}

/**
 * tmm_fault_debugfs_init() - set up the fault points and their debugfs files
 * @parent: the core's debugfs directory, or an error pointer
 *
 * Context: module init.
 */
void tmm_fault_debugfs_init(struct dentry *parent)
{
	const struct fault_attr init = FAULT_ATTR_INITIALIZER;
	int site;

	for (site = 0; site < TMM_FAULT_NR; site++) {
		tmm_fault_attrs[site] = init;
		tmm_fault_attrs[site].verbose = 0;
		if (!IS_ERR_OR_NULL(parent))
			fault_create_debugfs_attr(tmm_fault_names[site], parent,
						  &tmm_fault_attrs[site]);
	}
}

#else /* CONFIG_FAULT_INJECTION */

bool tmm_should_fail(enum tmm_fault_site site)
{
	return false;
}

int tmm_fault_arm(enum tmm_fault_site site, unsigned int nth)
{
	return -EOPNOTSUPP;
}

bool tmm_fault_fired(enum tmm_fault_site site)
{
	return false;
}

void tmm_fault_disarm(enum tmm_fault_site site)
{
}

void tmm_fault_debugfs_init(struct dentry *parent)
{
}

#endif /* CONFIG_FAULT_INJECTION */
