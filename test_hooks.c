// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm: park points, test-only hooks that hold a thread in a race window.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * DOC: Park points
 *
 * Some bugs live in a window of a few instructions between a decision and
 * the act that depends on it (a write permission approved under the space's
 * lock and granted after it drops, say), where a test that waits for the
 * scheduler to interleave two threads there would pass or fail by luck.  A
 * park point holds the first thread that reaches it until the test lets it
 * go, so that a selftest can run an ioctl at exactly that point, every time.
 *
 * Each point is a file /sys/kernel/debug/torusmm/park_<name>, mode 0600.
 * Reading it gives 0 (idle), 1 (armed: the next thread to reach the point
 * parks there) or 2 (a thread is parked).  Writing 1 arms an idle point
 * (EBUSY otherwise); writing 0 lets a parked thread go, or disarms.  A
 * parked thread waits at most TMM_PARK_TIMEOUT, and a fatal signal wakes it,
 * so a test that dies leaves no thread behind.  The point does not care
 * which space or process reaches it: a test arms it only when no other
 * thread can.
 *
 * Built only with TORUSMM_TEST_HOOKS=1, as make check builds the modules
 * its VMs test; make install, DKMS and make bench build without, and
 * tmm_park() is then an empty inline.  It calls nothing of torusmm.
 */

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/sched/signal.h>
#include <linux/wait.h>

#include "test_hooks.h"

#define TMM_PARK_TIMEOUT	(10 * HZ)

enum {
	TMM_PARK_IDLE,
	TMM_PARK_ARMED,
	TMM_PARK_PARKED,
};

struct tmm_park_point {
	const char *name;
	atomic_t state;
	wait_queue_head_t wait;
};

static struct tmm_park_point tmm_park_points[TMM_PARK_NR] = {
	[TMM_PARK_MKWRITE] = { .name = "park_mkwrite" },
};

/**
 * tmm_park() - hold the calling thread at a park point, if it is armed
 * @site: the point
 *
 * Context: process context, may sleep; whatever locks the caller holds
 * stay held while it is parked.
 */
void tmm_park(enum tmm_park_site site)
{
	struct tmm_park_point *point;

	if (WARN_ON_ONCE(site >= TMM_PARK_NR))
		return;
	point = &tmm_park_points[site];
	if (likely(atomic_read(&point->state) != TMM_PARK_ARMED))
		return;
	if (atomic_cmpxchg(&point->state, TMM_PARK_ARMED,
			   TMM_PARK_PARKED) != TMM_PARK_ARMED)
		return;
	wait_event_killable_timeout(point->wait,
				    atomic_read(&point->state) !=
				    TMM_PARK_PARKED, TMM_PARK_TIMEOUT);
	/* Timed out or killed: nobody let us go, so go idle ourselves. */
	atomic_cmpxchg(&point->state, TMM_PARK_PARKED, TMM_PARK_IDLE);
}

static int tmm_park_get(void *data, u64 *val)
{
	struct tmm_park_point *point = data;

	*val = atomic_read(&point->state);
	return 0;
}

static int tmm_park_set(void *data, u64 val)
{
	struct tmm_park_point *point = data;

	switch (val) {
	case 0:
		atomic_set(&point->state, TMM_PARK_IDLE);
		wake_up_all(&point->wait);
		return 0;
	case 1:
		if (atomic_cmpxchg(&point->state, TMM_PARK_IDLE,
				   TMM_PARK_ARMED) != TMM_PARK_IDLE)
			return -EBUSY;
		return 0;
	default:
		return -EINVAL;
	}
}
DEFINE_DEBUGFS_ATTRIBUTE(tmm_park_fops, tmm_park_get, tmm_park_set, "%llu\n");

/**
 * tmm_test_hooks_init() - set up the park points and their debugfs files
 * @parent: the core's debugfs directory, or an error pointer
 *
 * Context: module init.
 */
void tmm_test_hooks_init(struct dentry *parent)
{
	int site;

	for (site = 0; site < TMM_PARK_NR; site++) {
		struct tmm_park_point *point = &tmm_park_points[site];

		atomic_set(&point->state, TMM_PARK_IDLE);
		init_waitqueue_head(&point->wait);
		debugfs_create_file_unsafe(point->name, 0600, parent, point,
					   &tmm_park_fops);
	}
}
