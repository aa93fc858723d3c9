// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm_broken: a module with one deliberate bug, chosen by the bug=
 * parameter.  It exists only so that `make check` can prove, end to end,
 * that a debug VM run catches each kind of bug the real modules might
 * have: bug=uaf must produce a KASAN report, bug=leak a kmemleak report,
 * bug=lockorder a lockdep circular-dependency report, bug=ubsan a UBSAN
 * report (proving the module is instrumented), and bug=pageleak (pages
 * kmemleak cannot see, as a torus's frames) a drop in free pages.
 * Never load it anywhere else.
 *
 * Copyright (C) 2026 The torusmm authors
 */

#include <linux/compiler.h>
#include <linux/gfp.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *bug = "";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug, "the bug to commit on load: uaf, leak, lockorder, ubsan or pageleak");

/* Kept in a global so the compiler cannot prove the read is dead. */
static int tmm_broken_sink;

static DEFINE_MUTEX(tmm_broken_lock_a);
static DEFINE_MUTEX(tmm_broken_lock_b);

/**
 * tmm_broken_use_after_free() - read an object after freeing it
 *
 * Context: process context, may sleep.
 */
static noinline void tmm_broken_use_after_free(void)
{
	char *object = kmalloc(64, GFP_KERNEL);

	if (!object)
		return;
	kfree(object);
	/* Hide the pointer so the compiler does not flag the bug itself. */
	OPTIMIZER_HIDE_VAR(object);
	tmm_broken_sink = READ_ONCE(object[8]);
}

/**
 * tmm_broken_leak() - allocate objects and drop every reference to them
 *
 * Context: process context, may sleep.
 */
static noinline void tmm_broken_leak(void)
{
	int i;

	for (i = 0; i < 4; i++) {
		void *object = kmalloc(256, GFP_KERNEL);

		/* Only the address's low bits survive: no reference remains. */
		tmm_broken_sink += (unsigned long)object & 1;
	}
}

/**
 * tmm_broken_shift_out_of_bounds() - shift a 32-bit value by 32
 *
 * Context: any context.
 */
static noinline void tmm_broken_shift_out_of_bounds(void)
{
	unsigned int shift = 32;

	/* Hide the constant so the compiler does not flag the bug itself. */
	OPTIMIZER_HIDE_VAR(shift);
	tmm_broken_sink = 1 << shift;
}

/**
 * tmm_broken_page_leak() - take 16 MiB from the page allocator, never free it
 *
 * The size of the smallest torus, in blocks of 1 MiB.
 *
 * Context: process context, may sleep.
 */
static noinline void tmm_broken_page_leak(void)
{
	int i;

	for (i = 0; i < 16; i++)
		tmm_broken_sink += !alloc_pages(GFP_KERNEL, get_order(SZ_1M));
}

/**
 * tmm_broken_lock_order() - take two mutexes in both orders
 *
 * Nothing deadlocks here, since one thread takes them one after the
 * other, but lockdep records A -> B and then sees B -> A.
 *
 * Context: process context, may sleep; takes and releases both locks.
 */
static noinline void tmm_broken_lock_order(void)
{
	mutex_lock(&tmm_broken_lock_a);
	mutex_lock(&tmm_broken_lock_b);
	mutex_unlock(&tmm_broken_lock_b);
	mutex_unlock(&tmm_broken_lock_a);

	mutex_lock(&tmm_broken_lock_b);
	mutex_lock(&tmm_broken_lock_a);
	mutex_unlock(&tmm_broken_lock_a);
	mutex_unlock(&tmm_broken_lock_b);
}

static int __init tmm_broken_init(void)
{
	if (!strcmp(bug, "uaf"))
		tmm_broken_use_after_free();
	else if (!strcmp(bug, "leak"))
		tmm_broken_leak();
	else if (!strcmp(bug, "lockorder"))
		tmm_broken_lock_order();
	else if (!strcmp(bug, "ubsan"))
		tmm_broken_shift_out_of_bounds();
	else if (!strcmp(bug, "pageleak"))
		tmm_broken_page_leak();
	else
		return -EINVAL;
	pr_info("torusmm_broken: committed bug=%s\n", bug);
	return 0;
}

static void __exit tmm_broken_exit(void)
{
}

module_init(tmm_broken_init);
module_exit(tmm_broken_exit);

MODULE_DESCRIPTION("torusmm test harness: a module with deliberate bugs");
MODULE_AUTHOR("The torusmm authors");
MODULE_LICENSE("GPL");
