// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm: address spaces and their regions, with Linux semantics.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * DOC: Address spaces
 *
 * An address space binds a page table, a torus and a set of regions.  The
 * layout is the original design's: page 0 is never mappable, the heap grows
 * up from TORUSMM_HEAP_START, the stack grows down from TORUSMM_STACK_TOP on
 * demand to TORUSMM_STACK_LIMIT below it, the page at TORUSMM_STACK_TOP is a
 * guard, and nothing at or above TORUSMM_KERNEL_BASE is ever mapped.  mmap
 * without MAP_FIXED places top-down below the stack's reach, as Linux's
 * default layout does.  Mapping allocates no frame: the first access through
 * the software MMU (mmu.c) faults in a zeroed one.
 *
 * Regions live in a maple tree, as Linux's own VMAs do, mapping page ranges
 * to value entries that hold the protection.  Because an entry is a value and
 * not an object with its bounds inside it, splitting, merging and replacing
 * regions are each one store over a range, and a failed store leaves the tree
 * as it was.  That makes every operation all or nothing without
 * mas_preallocate(), which 6.1 does not export: each operation allocates
 * what it needs (frames, tables), then does its single store, then changes
 * page tables in ways that cannot fail.  The tree uses our lock
 * (MT_FLAGS_LOCK_EXTERN), and gap search comes from the tree
 * (MT_FLAGS_ALLOC_RANGE and mas_empty_area_rev()).
 *
 * Two reserved entries, [0, TORUSMM_USER_MIN) and [TMM_USER_END, 4 GiB),
 * stay in the tree for the life of the space.  The tree is therefore never
 * empty and no gap search can land below page 1 or above the stack, whatever
 * was unmapped; and what the search returns is still checked against the
 * window it was asked for before it is used.  Reserved entries are never
 * regions: they are not counted, dumped, merged with or unmapped.
 *
 * Ceilings (struct tmm_limits) are the administrator's: the frame quota of
 * a space cannot exceed max_frames, the space and its frames are charged to
 * the user who created it (struct tmm_user), and a space holds at most
 * max_regions regions: a call that would make more fails with -ENOMEM, as
 * Linux fails past vm.max_map_count.
 *
 * Whatever is derived from the tables (the shadow's hardware entries) is told
 * through the space's observers, under the lock held for write, after the
 * software tables changed and before any frame goes back to the torus.
 *
 * Locking: @space->lock is a rwsem.  Translations and copies of present pages
 * take it shared, so they run side by side (accessed and dirty bits are set
 * with cmpxchg); anything that changes regions or tables, demand faults
 * included, takes it exclusive.  It is a sleeping lock because operations
 * allocate with GFP_KERNEL and zero frames.  Lock order:
 *
 *	mmap_lock (a shadow fault)  ->  space->lock  ->  i_mmap_rwsem, page
 *	table locks (the shadow's invalidation)  ->  torus->lock
 *
 * and, in tmm_space_clone() only, the source's lock before the clone's.
 * Nothing here touches user memory; callers copy from and to userspace with
 * no space lock held, so that user page faults never nest inside it.
 */

#include <linux/cred.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "debugfs.h"
#include "fault_inject.h"
#include "frame_alloc.h"
#include "pagetable.h"
#include "space.h"
#include "torusmm_trace.h"
#include "user.h"

#define TMM_PROT_MASK	(TORUSMM_PROT_READ | TORUSMM_PROT_WRITE | \
			 TORUSMM_PROT_EXEC)
#define TMM_PROT_RW	(TORUSMM_PROT_READ | TORUSMM_PROT_WRITE)
#define TMM_MAP_MASK	(TORUSMM_MAP_FIXED | TORUSMM_MAP_FIXED_NOREPLACE | \
			 TORUSMM_MAP_POPULATE)
/* The value of the reserved entries: no protection has this bit. */
#define TMM_REGION_RESERVED	BIT(8)
/* Frames allocated between two looks at cond_resched() and signals. */
#define TMM_BATCH		512

/*
 * The last space id handed out.  64 bits never wrap at any rate spaces can
 * be created, so an id is never reused while the module is loaded: a trace
 * or a debugfs path names one space for good.
 */
static atomic64_t tmm_space_last_id = ATOMIC64_INIT(0);

/* PROT_WRITE and PROT_EXEC imply PROT_READ, as on x86. */
static u32 tmm_prot_normalise(u32 prot)
{
	if (prot & (TORUSMM_PROT_WRITE | TORUSMM_PROT_EXEC))
		prot |= TORUSMM_PROT_READ;
	return prot;
}

static void *tmm_prot_entry(u32 prot)
{
	return xa_mk_value(prot);
}

static u32 tmm_entry_prot(void *entry)
{
	return xa_to_value(entry);
}

static bool tmm_entry_is_region(void *entry)
{
	return entry && xa_is_value(entry) &&
	       !(xa_to_value(entry) & ~TMM_PROT_MASK);
}

/**
 * tmm_prot_to_pte() - leaf entry bits for a region's protection
 * @prot: TORUSMM_PROT_* bits, normalised
 *
 * Context: any context.
 * Return: bits of TMM_PTE_PROT_MASK.
 */
u32 tmm_prot_to_pte(u32 prot)
{
	u32 pte = TORUSMM_PTE_PRESENT | TORUSMM_PTE_USER;

	if (prot == TORUSMM_PROT_NONE)
		return TORUSMM_PTE_PROTNONE;
	if (prot & TORUSMM_PROT_WRITE)
		pte |= TORUSMM_PTE_WRITABLE;
	if (!(prot & TORUSMM_PROT_EXEC))
		pte |= TORUSMM_PTE_NX;
	return pte;
}

/**
 * tmm_prot_allows() - whether a region's protection allows an access
 * @prot: TORUSMM_PROT_* bits, normalised
 * @access: TORUSMM_ACCESS_* bits
 *
 * Context: any context.
 * Return: true when a demand fault may serve @access in such a region.
 */
bool tmm_prot_allows(u32 prot, u32 access)
{
	if (access & TORUSMM_ACCESS_WRITE)
		return prot & TORUSMM_PROT_WRITE;
	if (access & TORUSMM_ACCESS_EXEC)
		return prot & TORUSMM_PROT_EXEC;
	return prot & TORUSMM_PROT_READ;
}

/* The region holding @va, or NULL (reserved entries are no region). */
static void *tmm_region_at(struct tmm_space *space, u32 va)
{
	void *entry;

	lockdep_assert_held(&space->lock);
	entry = mtree_load(&space->regions, va);
	return tmm_entry_is_region(entry) ? entry : NULL;
}

/* Whether nothing, reserved entries included, overlaps [start, end). */
static bool tmm_range_is_free(struct tmm_space *space, u32 start, u64 end)
{
	MA_STATE(mas, &space->regions, start, start);

	lockdep_assert_held(&space->lock);
	return !mas_find(&mas, end - 1);
}

/* Whether regions (not reserved entries) cover all of [start, end). */
static bool tmm_range_is_covered(struct tmm_space *space, u32 start, u64 end)
{
	MA_STATE(mas, &space->regions, start, start);
	u64 next = start;
	void *entry;

	lockdep_assert_held(&space->lock);
	mas_for_each(&mas, entry, end - 1) {
		if (mas.index > next || !tmm_entry_is_region(entry))
			return false;
		next = (u64)mas.last + 1;
		if (next >= end)
			return true;
	}
	return next >= end;
}

/**
 * tmm_space_changed() - tell every observer the translations of a range changed
 * @space: the space
 * @start: page-aligned start
 * @end: end (exclusive), at most 4 GiB
 *
 * Context: @space->lock held for write; may sleep (the observers do).
 */
void tmm_space_changed(struct tmm_space *space, u32 start, u64 end)
{
	struct tmm_space_observer *observer;

	lockdep_assert_held_write(&space->lock);
	list_for_each_entry(observer, &space->observers, node)
		observer->ops->invalidate(observer, start, end);
}

/*
 * How many regions there will be once [start, end) holds @entry (NULL to
 * unmap): the regions it overlaps go, those it cuts leave a piece on each
 * side, and a new entry adds one.  @start and @end are after merging.
 * Return: the count, or -EINVAL (with a warning) when the range overlaps a
 * reserved entry, which callers never let it.
 */
static long tmm_regions_after(struct tmm_space *space, u32 start, u32 end,
			      void *entry)
{
	MA_STATE(mas, &space->regions, start, start);
	long nr = space->nr_regions + (entry ? 1 : 0);
	void *old;

	mas_for_each(&mas, old, end - 1) {
		if (WARN_ON_ONCE(!tmm_entry_is_region(old)))
			return -EINVAL;
		nr--;
		if (mas.index < start)
			nr++;
		if (mas.last > end - 1)
			nr++;
	}
	return nr;
}

/*
 * Store @entry (a protection, or NULL to unmap) over [start, end) in one
 * maple tree store, merged with neighbours of equal protection, within the
 * cap on regions.  [start, end) lies inside the user range.
 * Return: 0, or -ENOMEM with the tree unchanged.
 */
static int tmm_region_store(struct tmm_space *space, u32 start, u32 end,
			    void *entry)
{
	MA_STATE(mas, &space->regions, start, end - 1);
	unsigned int cap = 0;
	long nr;
	int err;

	lockdep_assert_held_write(&space->lock);
	if (WARN_ON_ONCE(start < TORUSMM_USER_MIN || end > TMM_USER_END ||
			 start >= end))
		return -EINVAL;

	if (tmm_should_fail(TMM_FAULT_TREE))
		return -ENOMEM;
	if (entry) {
		MA_STATE(left, &space->regions, start - 1, start - 1);
		MA_STATE(right, &space->regions, end, end);

		if (mas_walk(&left) == entry)
			start = left.index;
		if (mas_walk(&right) == entry)
			end = right.last + 1;
	}
	nr = tmm_regions_after(space, start, end, entry);
	if (nr < 0)
		return nr;
	if (space->limits)
		cap = READ_ONCE(space->limits->max_regions);
	if (cap && nr > cap && nr > space->nr_regions)
		return -ENOMEM;

	mas_set_range(&mas, start, end - 1);
	err = mas_store_gfp(&mas, entry, GFP_KERNEL_ACCOUNT);
	if (!err)
		space->nr_regions = nr;
	return err;
}

/* Store a reserved entry over [first, last]. */
static int tmm_reserve(struct maple_tree *mt, unsigned long first,
		       unsigned long last)
{
	MA_STATE(mas, mt, first, last);

	if (tmm_should_fail(TMM_FAULT_TREE))
		return -ENOMEM;
	return mas_store_gfp(&mas, xa_mk_value(TMM_REGION_RESERVED),
			     GFP_KERNEL_ACCOUNT);
}

/*
 * Allocate an empty space charged to the calling user: no page table and no
 * regions yet.
 * Return: the space, or ERR_PTR(-ENOMEM or -EMFILE at the user's ceiling).
 */
static struct tmm_space *tmm_space_alloc(struct tmm_torus *torus,
					 const struct tmm_limits *limits)
{
	struct tmm_space *space;
	struct tmm_user *user;
	int err;

	user = tmm_user_get(current_uid());
	if (IS_ERR(user))
		return ERR_CAST(user);
	err = -EMFILE;
	if (!tmm_user_charge_space(user,
				   limits ? READ_ONCE(limits->max_spaces) : 0))
		goto put_user;

	err = -ENOMEM;
	if (tmm_should_fail(TMM_FAULT_SLAB))
		goto uncharge_space;
	space = kzalloc(sizeof(*space), GFP_KERNEL_ACCOUNT);
	if (!space)
		goto uncharge_space;
	init_rwsem(&space->lock);
	mt_init_flags(&space->regions,
		      MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN);
	mt_set_external_lock(&space->regions, &space->lock);
	INIT_LIST_HEAD(&space->observers);
	space->torus = torus;
	space->user = user;
	space->limits = limits;
	space->brk = TORUSMM_HEAP_START;
	space->stack_start = TORUSMM_STACK_TOP - PAGE_SIZE;
	space->stack_grows = true;
	space->id = atomic64_inc_return(&tmm_space_last_id);
	return space;

uncharge_space:
	tmm_user_uncharge_space(user);
put_user:
	tmm_user_put(user);
	return ERR_PTR(err);
}

/* Free a space whose tables and regions are set up, or half set up. */
static void tmm_space_free_all(struct tmm_space *space)
{
	struct tmm_user *user = space->user;

	down_write(&space->lock);
	WARN_ON_ONCE(!list_empty(&space->observers));
	__mt_destroy(&space->regions);
	tmm_pt_destroy(&space->pt);
	up_write(&space->lock);
	kfree(space);
	tmm_user_uncharge_space(user);
	tmm_user_put(user);
}

/**
 * tmm_space_create() - create an empty address space
 * @torus: where every frame of the space comes from
 * @limits: the administrator's ceilings, or NULL for none
 * @max_frames: quota on the space's data and table frames; 0 for the
 *	ceiling (@limits->max_frames, or none)
 *
 * The space starts with its directory, a one-page stack region below
 * TORUSMM_STACK_TOP (no frame yet) and the break at TORUSMM_HEAP_START.  It
 * and its frames are charged to the calling user.
 *
 * Context: process context; sleeps.
 * Return: the space; ERR_PTR(-EINVAL) for a quota above the ceiling,
 * ERR_PTR(-EMFILE) when the user has max_spaces spaces, or ERR_PTR(-ENOMEM);
 * nothing is allocated then.
 */
struct tmm_space *tmm_space_create(struct tmm_torus *torus,
				   const struct tmm_limits *limits,
				   u32 max_frames)
{
	unsigned int ceiling = limits ? READ_ONCE(limits->max_frames) : 0;
	struct tmm_space *space;
	int err;

	if (ceiling && max_frames > ceiling)
		return ERR_PTR(-EINVAL);
	space = tmm_space_alloc(torus, limits);
	if (IS_ERR(space))
		return space;

	down_write(&space->lock);
	err = tmm_pt_init(&space->pt, torus, &space->lock,
			  max_frames ?: ceiling, space->user, limits);
	if (!err)
		err = tmm_reserve(&space->regions, 0, TORUSMM_USER_MIN - 1);
	if (!err)
		err = tmm_reserve(&space->regions, TMM_USER_END, U32_MAX);
	if (!err)
		err = tmm_region_store(space, space->stack_start,
				       TORUSMM_STACK_TOP,
				       tmm_prot_entry(TMM_PROT_RW));
	up_write(&space->lock);
	if (err) {
		tmm_space_free_all(space);
		return ERR_PTR(err);
	}
	atomic_inc(&torus->nr_spaces);
	tmm_debugfs_space_add(space);
	return space;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_create, TORUSMM);

/**
 * tmm_space_destroy() - free an address space and every frame it holds
 * @space: the space, or NULL
 *
 * Context: process context; sleeps.  Nobody else may use @space any more,
 * and no observer may be left.
 */
void tmm_space_destroy(struct tmm_space *space)
{
	if (!space)
		return;
	/* Waits for readers of its files: no space lock may be held here. */
	tmm_debugfs_space_remove(space);
	atomic_dec(&space->torus->nr_spaces);
	tmm_space_free_all(space);
}
EXPORT_SYMBOL_NS_GPL(tmm_space_destroy, TORUSMM);

/* Copy every entry of @src's tree, reserved ones included, into @dst's. */
static int tmm_regions_copy(struct tmm_space *dst, struct tmm_space *src)
{
	MA_STATE(mas, &src->regions, 0, 0);
	unsigned int n = 0;
	void *entry;
	int err;

	mas_for_each(&mas, entry, ULONG_MAX) {
		MA_STATE(store, &dst->regions, mas.index, mas.last);

		if (tmm_should_fail(TMM_FAULT_TREE))
			return -ENOMEM;
		err = mas_store_gfp(&store, entry, GFP_KERNEL_ACCOUNT);
		if (err)
			return err;
		if (!(++n % TMM_BATCH) && fatal_signal_pending(current))
			return -EINTR;
	}
	dst->nr_regions = src->nr_regions;
	return 0;
}

/**
 * tmm_space_clone() - copy an address space, as fork does
 * @src: the space to copy
 *
 * The clone has the same torus, quota, ceilings, regions, break and stack,
 * and shares every frame with the source copy-on-write (see tmm_pt_clone());
 * its entries start old (accessed clear).  It is charged to the calling
 * user, shared frames included.  The source's lock is held for write
 * throughout, as fork holds the parent's mmap_lock, and the source's
 * observers drop its translations first, so no write reaches a shared frame
 * but through a copy.
 *
 * The quota is checked against the administrator's ceiling as it is now,
 * as tmm_space_create() checks a new one: a space made before the ceiling
 * was set (or lowered) has a quota above it, or none, and cannot pass it on.
 *
 * Context: process context; takes @src->lock; sleeps.
 * Return: the clone; ERR_PTR(-EINVAL) when @src's quota is above the
 * ceiling (or @src has none and there is a ceiling), ERR_PTR(-EMFILE) at
 * the user's space ceiling, ERR_PTR(-EINTR) on a fatal signal, or
 * ERR_PTR(-ENOMEM); nothing is left of the clone then, and @src is
 * unchanged.
 */
struct tmm_space *tmm_space_clone(struct tmm_space *src)
{
	unsigned int ceiling = src->limits ?
			       READ_ONCE(src->limits->max_frames) : 0;
	struct tmm_space *dst;
	int err;

	if (ceiling && (!src->pt.max_frames || src->pt.max_frames > ceiling))
		return ERR_PTR(-EINVAL);
	dst = tmm_space_alloc(src->torus, src->limits);
	if (IS_ERR(dst))
		return dst;

	down_write(&src->lock);
	/* @dst is not visible to anyone else yet; the order cannot invert. */
	down_write_nested(&dst->lock, SINGLE_DEPTH_NESTING);
	err = tmm_pt_init(&dst->pt, src->torus, &dst->lock, src->pt.max_frames,
			  dst->user, src->limits);
	if (!err)
		err = tmm_regions_copy(dst, src);
	if (!err) {
		/* The source's writable translations go before it shares. */
		tmm_space_changed(src, TORUSMM_USER_MIN, TMM_USER_END);
		err = tmm_pt_clone(&dst->pt, &src->pt);
	}
	dst->brk = src->brk;
	dst->stack_start = src->stack_start;
	dst->stack_grows = src->stack_grows;
	up_write(&dst->lock);
	up_write(&src->lock);
	if (err) {
		tmm_space_free_all(dst);
		return ERR_PTR(err);
	}
	atomic_inc(&dst->torus->nr_spaces);
	trace_torusmm_clone(src, dst);
	tmm_debugfs_space_add(dst);
	return dst;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_clone, TORUSMM);

/* Unmap [start, end) from the tables, telling observers first. */
static void tmm_space_zap(struct tmm_space *space, u32 start, u64 end)
{
	if (start <= space->stack_start && space->stack_start < end)
		space->stack_grows = false;
	trace_torusmm_unmap(space, start, end);
	tmm_space_changed(space, start, end);
	tmm_pt_unmap_range(&space->pt, start, end);
}

/**
 * tmm_space_brk() - move the break, as brk(2) does
 * @space: the space
 * @addr: the requested break; below TORUSMM_HEAP_START (0 included) asks
 *	  for the current one
 *
 * Growing maps [PAGE_ALIGN(old), PAGE_ALIGN(@addr)) read-write, and fails if
 * a region is in the way, the heap would reach the stack guard or the cap on
 * regions would be passed.  Shrinking unmaps and frees the pages above
 * PAGE_ALIGN(@addr).
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: the new break, or the old one when the break could not move.
 */
u32 tmm_space_brk(struct tmm_space *space, u32 addr)
{
	u64 new_top = PAGE_ALIGN((u64)addr);
	u32 old_top, brk;

	down_write(&space->lock);
	old_top = PAGE_ALIGN(space->brk);
	if (addr < TORUSMM_HEAP_START || new_top > TMM_USER_END)
		goto out;

	if (new_top > old_top) {
		if (!tmm_range_is_free(space, old_top, new_top) ||
		    tmm_region_store(space, old_top, new_top,
				     tmm_prot_entry(TMM_PROT_RW)))
			goto out;
		trace_torusmm_map(space, old_top, new_top, TMM_PROT_RW);
	} else if (new_top < old_top) {
		if (tmm_region_store(space, new_top, old_top, NULL))
			goto out;
		tmm_space_zap(space, new_top, old_top);
	}
	space->brk = addr;
out:
	brk = space->brk;
	up_write(&space->lock);
	return brk;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_brk, TORUSMM);

/* Give back frames of tmm_frames_alloc() that were never mapped. */
static void tmm_frames_free(struct tmm_torus *torus, u32 *frames, u32 nr)
{
	while (nr--)
		WARN_ON_ONCE(tmm_frame_free(torus, frames[nr]));
}

/*
 * Take @nr zeroed frames from the torus, uncharged, with no space lock held
 * (so that zeroing them blocks no walker), giving the CPU away and heeding
 * fatal signals as it goes.
 * Return: 0, -ENOMEM or -EINTR, with nothing kept on error.
 */
static int tmm_frames_alloc(struct tmm_torus *torus, u32 *frames, u32 nr)
{
	u32 i;
	int err;

	for (i = 0; i < nr; i++) {
		err = tmm_frame_alloc(torus, TMM_FRAME_DATA, &frames[i]);
		if (!err && !((i + 1) % TMM_BATCH)) {
			cond_resched();
			if (fatal_signal_pending(current)) {
				i++;
				err = -EINTR;
			}
		}
		if (err) {
			tmm_frames_free(torus, frames, i);
			return err;
		}
	}
	return 0;
}

/*
 * Map [start, end) with @prot, replacing whatever was there; @frames, when
 * given, holds one zeroed frame per page, which the space owns on success.
 * Quotas are checked and tables allocated before the region store, and
 * nothing after the store can fail.
 */
static int tmm_space_map(struct tmm_space *space, u32 start, u32 end,
			 u32 prot, u32 *frames)
{
	struct tmm_pagetable *pt = &space->pt;
	u32 nr = (end - start) >> PAGE_SHIFT;
	u32 i, replaced = 0, pte = tmm_prot_to_pte(prot);
	int err;

	lockdep_assert_held_write(&space->lock);

	if (frames) {
		u64 need;

		/* The frames this replaces go before the lock is dropped. */
		replaced = tmm_pt_frames_in(pt, start, end);
		need = (u64)tmm_pt_frames_used(pt) - replaced + nr +
		       tmm_pt_tables_needed(pt, start, end);
		if (pt->max_frames && need > pt->max_frames)
			return -ENOMEM;
		if (!tmm_pt_charge(pt, nr, replaced))
			return -ENOMEM;
		err = tmm_pt_prealloc(pt, start, end);
		if (err)
			goto uncharge;
	}

	err = tmm_region_store(space, start, end, tmm_prot_entry(prot));
	if (err)
		goto trim_tables;
	trace_torusmm_map(space, start, end, prot);

	if (start <= space->stack_start && space->stack_start < end)
		space->stack_grows = false;
	tmm_space_changed(space, start, end);
	if (!frames) {
		tmm_pt_unmap_range(pt, start, end);
		return 0;
	}
	/* Every table exists and every frame is charged: this cannot fail. */
	for (i = 0; i < nr; i++) {
		err = tmm_pt_map(pt, start + (i << PAGE_SHIFT), frames[i], pte,
				 TMM_PT_REPLACE);
		if (WARN_ON_ONCE(err)) {
			/* Leave the rest to demand faults; leak nothing. */
			tmm_pt_unmap_range(pt, start + (i << PAGE_SHIFT), end);
			tmm_frames_free(space->torus, frames + i, nr - i);
			tmm_pt_uncharge(pt, nr - i);
			break;
		}
	}
	return 0;

trim_tables:
	if (!frames)
		return err;
	tmm_pt_trim(pt, start, end);
uncharge:
	tmm_pt_uncharge(pt, nr);
	return err;
}

/*
 * Where a mapping of @len bytes without MAP_FIXED goes: the hint when its
 * range is free and inside the window, else the highest gap of the window
 * [TORUSMM_USER_MIN, TMM_MMAP_BASE).  What the gap search returns is
 * checked before it is trusted.
 * Return: 0 with *start set, or -ENOMEM.
 */
static int tmm_space_place(struct tmm_space *space, u64 hint, u64 len,
			   u32 *start)
{
	MA_STATE(mas, &space->regions, 0, 0);
	u64 found;

	lockdep_assert_held(&space->lock);
	hint = PAGE_ALIGN(hint);
	if (hint >= TORUSMM_USER_MIN && hint + len <= TMM_USER_END &&
	    tmm_range_is_free(space, hint, hint + len)) {
		*start = hint;
		return 0;
	}
	if (len > TMM_MMAP_BASE - TORUSMM_USER_MIN)
		return -ENOMEM;
	if (mas_empty_area_rev(&mas, TORUSMM_USER_MIN, TMM_MMAP_BASE - 1, len))
		return -ENOMEM;
	found = mas.index;
	if (WARN_ON_ONCE(found < TORUSMM_USER_MIN ||
			 found + len > TMM_MMAP_BASE ||
			 (u64)mas.last + 1 != found + len ||
			 !tmm_range_is_free(space, found, found + len)))
		return -ENOMEM;
	*start = found;
	return 0;
}

/**
 * tmm_space_mmap() - map anonymous memory, as mmap(2) does
 * @space: the space
 * @addr: in: the hint, or the address with TORUSMM_MAP_FIXED; out: the start
 * @length: bytes, rounded up to pages
 * @prot: TORUSMM_PROT_* bits (write and exec imply read)
 * @flags: TORUSMM_MAP_* bits
 *
 * With MAP_FIXED the range replaces whatever was mapped there; with
 * MAP_FIXED_NOREPLACE (which implies MAP_FIXED) any overlap fails.  Without
 * either, a hint (rounded up to a page, as Linux does) whose range is free
 * and inside the user range is used, otherwise the highest gap below the
 * stack's reach.  MAP_POPULATE faults in every page now, all or nothing;
 * like Linux, it populates nothing under PROT_NONE.  Its frames are taken
 * and zeroed before the space's lock, and frames a MAP_FIXED replaces do
 * not count against the quota.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: 0; -EINVAL for a zero or too large @length, unknown bits or an
 * unaligned fixed address; -EPERM for a fixed address below
 * TORUSMM_USER_MIN; -EEXIST for an overlap with MAP_FIXED_NOREPLACE;
 * -EINTR on a fatal signal during MAP_POPULATE; -ENOMEM when the range
 * leaves the user range, no gap is large enough, the region cap is reached,
 * or memory, frames or a quota run out.  On error nothing changed.
 */
int tmm_space_mmap(struct tmm_space *space, u32 *addr, u64 length, u32 prot,
		   u32 flags)
{
	u64 len = PAGE_ALIGN(length);
	u32 *frames = NULL;
	u32 nr, start;
	int err;

	if (!length || length > SZ_4G || (prot & ~TMM_PROT_MASK) ||
	    (flags & ~TMM_MAP_MASK))
		return -EINVAL;
	if (flags & TORUSMM_MAP_FIXED_NOREPLACE)
		flags |= TORUSMM_MAP_FIXED;
	if ((flags & TORUSMM_MAP_FIXED) && (*addr & ~PAGE_MASK))
		return -EINVAL;
	if ((flags & TORUSMM_MAP_FIXED) && *addr < TORUSMM_USER_MIN)
		return -EPERM;
	if (len > TMM_USER_END - TORUSMM_USER_MIN)
		return -ENOMEM;
	prot = tmm_prot_normalise(prot);
	nr = len >> PAGE_SHIFT;

	if ((flags & TORUSMM_MAP_POPULATE) && prot != TORUSMM_PROT_NONE) {
		if (space->pt.max_frames && nr > space->pt.max_frames)
			return -ENOMEM;
		if (tmm_should_fail(TMM_FAULT_SLAB))
			return -ENOMEM;
		frames = kvmalloc_array(nr, sizeof(*frames), GFP_KERNEL_ACCOUNT);
		if (!frames)
			return -ENOMEM;
		err = tmm_frames_alloc(space->torus, frames, nr);
		if (err)
			goto free_array;
	}

	down_write(&space->lock);
	if (flags & TORUSMM_MAP_FIXED) {
		start = *addr;
		err = -ENOMEM;
		if ((u64)start + len > TMM_USER_END)
			goto unlock;
		err = -EEXIST;
		if ((flags & TORUSMM_MAP_FIXED_NOREPLACE) &&
		    !tmm_range_is_free(space, start, start + len))
			goto unlock;
	} else {
		err = tmm_space_place(space, *addr, len, &start);
		if (err)
			goto unlock;
	}
	err = tmm_space_map(space, start, start + len, prot, frames);
	if (!err)
		*addr = start;
unlock:
	up_write(&space->lock);
	if (err && frames)
		tmm_frames_free(space->torus, frames, nr);
free_array:
	kvfree(frames);
	return err;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_mmap, TORUSMM);

/**
 * tmm_space_munmap() - unmap a range, as munmap(2) does
 * @space: the space
 * @addr: page-aligned start
 * @length: bytes, rounded up to pages
 *
 * Any part of one or several regions may go; the regions are split.  A range
 * with nothing mapped in it (page 0 included) succeeds.  Unmapping the
 * stack's lowest page stops the stack from growing.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: 0; -EINVAL for an unaligned @addr, a zero @length or a range
 * beyond the user range; -ENOMEM when a split would pass the cap on regions
 * or the tree cannot be updated (then nothing changed).
 */
int tmm_space_munmap(struct tmm_space *space, u32 addr, u64 length)
{
	u64 end = (u64)addr + PAGE_ALIGN(length);
	u32 start = max_t(u32, addr, TORUSMM_USER_MIN);
	int err = 0;

	if ((addr & ~PAGE_MASK) || !length || length > SZ_4G ||
	    end > TMM_USER_END)
		return -EINVAL;
	if (start >= end)
		return 0;	/* page 0 only: never mapped */

	down_write(&space->lock);
	if (!tmm_range_is_free(space, start, end)) {
		err = tmm_region_store(space, start, end, NULL);
		if (!err)
			tmm_space_zap(space, start, end);
	}
	up_write(&space->lock);
	return err;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_munmap, TORUSMM);

/**
 * tmm_space_mprotect() - change the protection of a range, as mprotect(2)
 * @space: the space
 * @addr: page-aligned start
 * @length: bytes, rounded up to pages; 0 does nothing
 * @prot: TORUSMM_PROT_* bits (write and exec imply read)
 *
 * Regions are split where the range cuts them.  Stricter than Linux: when
 * any part of the range is unmapped, nothing changes.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: 0; -EINVAL for an unaligned @addr, unknown bits or a range past
 * 4 GiB; -ENOMEM when part of the range is unmapped, a split would pass the
 * cap on regions, or the tree cannot be updated (nothing changed then).
 */
int tmm_space_mprotect(struct tmm_space *space, u32 addr, u64 length,
		       u32 prot)
{
	u64 end = (u64)addr + PAGE_ALIGN(length);
	int err;

	if ((addr & ~PAGE_MASK) || (prot & ~TMM_PROT_MASK) ||
	    length > SZ_4G || end > SZ_4G)
		return -EINVAL;
	if (!length)
		return 0;
	if (addr < TORUSMM_USER_MIN || end > TMM_USER_END)
		return -ENOMEM;
	prot = tmm_prot_normalise(prot);

	down_write(&space->lock);
	err = -ENOMEM;
	if (tmm_range_is_covered(space, addr, end))
		err = tmm_region_store(space, addr, end, tmm_prot_entry(prot));
	if (!err) {
		trace_torusmm_protect(space, addr, end, prot);
		tmm_pt_protect_range(&space->pt, addr, end,
				     tmm_prot_to_pte(prot));
		tmm_space_changed(space, addr, end);
	}
	up_write(&space->lock);
	return err;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_mprotect, TORUSMM);

/**
 * tmm_space_allocate() - the original design's allocate(): anonymous memory
 * @space: the space
 * @size: bytes, rounded up to pages
 * @addr: out: the start
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: as tmm_space_mmap() with no hint and read-write protection.
 */
int tmm_space_allocate(struct tmm_space *space, u64 size, u32 *addr)
{
	*addr = 0;
	return tmm_space_mmap(space, addr, size, TMM_PROT_RW, 0);
}

/**
 * tmm_space_free() - the original design's free(): unmap what allocate gave
 * @space: the space
 * @addr: the start
 * @size: bytes
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: as tmm_space_munmap().
 */
int tmm_space_free(struct tmm_space *space, u32 addr, u64 size)
{
	return tmm_space_munmap(space, addr, size);
}

/**
 * tmm_space_fault_prot() - what a not-present fault at a page may do
 * @space: the space
 * @page: page-aligned address
 * @prot: out: the protection the page gets
 * @grow: out: true when the page is below the stack and would grow it
 *
 * The stack grows down to a page below it while it still grows (its lowest
 * page was never unmapped), the page is above TMM_STACK_FLOOR, nothing lies
 * between, and no region lies within TMM_STACK_GUARD_GAP below the page (as
 * Linux keeps stack_guard_gap).  It grows with its lowest page's protection.
 *
 * Context: @space->lock held.
 * Return: 0, or -EFAULT when no region holds @page and the stack cannot grow
 * to it.
 */
int tmm_space_fault_prot(struct tmm_space *space, u32 page, u32 *prot,
			 bool *grow)
{
	void *entry = tmm_region_at(space, page);
	u32 guard;

	*grow = false;
	if (entry) {
		*prot = tmm_entry_prot(entry);
		return 0;
	}
	if (!space->stack_grows || page < TMM_STACK_FLOOR ||
	    page >= space->stack_start)
		return -EFAULT;
	entry = tmm_region_at(space, space->stack_start);
	guard = max_t(u32, page - TMM_STACK_GUARD_GAP, TORUSMM_USER_MIN);
	if (!entry || !tmm_range_is_free(space, guard, space->stack_start))
		return -EFAULT;
	*prot = tmm_entry_prot(entry);
	*grow = true;
	return 0;
}

/**
 * tmm_space_grow_stack() - extend the stack region down to a page
 * @space: the space
 * @page: the new lowest page, as tmm_space_fault_prot() allowed
 * @prot: the stack's protection
 *
 * Context: @space->lock held for write; sleeps.
 * Return: 0, or -ENOMEM with nothing changed.
 */
int tmm_space_grow_stack(struct tmm_space *space, u32 page, u32 prot)
{
	int err;

	err = tmm_region_store(space, page, space->stack_start,
			       tmm_prot_entry(prot));
	if (!err)
		space->stack_start = page;
	return err;
}

/**
 * tmm_space_observe() - tell an observer of every invalidation from now on
 * @space: the space
 * @observer: the observer, with @observer->ops set
 *
 * Context: process context; takes @space->lock; sleeps.
 */
void tmm_space_observe(struct tmm_space *space,
		       struct tmm_space_observer *observer)
{
	down_write(&space->lock);
	list_add(&observer->node, &space->observers);
	up_write(&space->lock);
}
EXPORT_SYMBOL_NS_GPL(tmm_space_observe, TORUSMM);

/**
 * tmm_space_unobserve() - stop telling an observer
 * @space: the space
 * @observer: an observer added with tmm_space_observe()
 *
 * Context: process context; takes @space->lock; sleeps.
 */
void tmm_space_unobserve(struct tmm_space *space,
			 struct tmm_space_observer *observer)
{
	down_write(&space->lock);
	list_del(&observer->node);
	up_write(&space->lock);
}
EXPORT_SYMBOL_NS_GPL(tmm_space_unobserve, TORUSMM);

/**
 * tmm_space_get_dirty_log() - which pages of a range were written
 * @space: the space
 * @start: page-aligned start
 * @end: end (exclusive), at most TMM_USER_END
 * @bitmap: out: bit (va - @start) / 4 KiB set for each dirty page; zeroed
 *	    by the caller
 * @clear: clear the dirty bits reported, so that the next call reports only
 *	   the pages written after this one
 *
 * Clearing first drops the observers' translations of the range (the
 * shadow's writable entries), under the lock held for write, and only then
 * reads and clears the bits: a write through the shadow after that faults
 * and sets dirty again, and no write between two harvests is lost.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: the number of pages reported.
 */
u32 tmm_space_get_dirty_log(struct tmm_space *space, u32 start, u64 end,
			    unsigned long *bitmap, bool clear)
{
	u32 nr;

	if (!clear) {
		down_read(&space->lock);
		nr = tmm_pt_harvest(&space->pt, start, end, TORUSMM_PTE_DIRTY,
				    bitmap, false);
		up_read(&space->lock);
		return nr;
	}
	down_write(&space->lock);
	tmm_space_changed(space, start, end);
	nr = tmm_pt_harvest(&space->pt, start, end, TORUSMM_PTE_DIRTY, bitmap,
			    true);
	up_write(&space->lock);
	return nr;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_get_dirty_log, TORUSMM);

/**
 * tmm_space_clear_dirty_log() - clear the dirty bits a bitmap selects
 * @space: the space
 * @start: page-aligned start
 * @end: end (exclusive), at most TMM_USER_END
 * @bitmap: bit (va - @start) / 4 KiB selects the page at va
 *
 * As KVM_CLEAR_DIRTY_LOG with manual protection: the observers' writable
 * translations of the range go first, so that the next write to a cleared
 * page, through either path, sets its dirty bit again.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: the number of pages whose dirty bit was cleared.
 */
u32 tmm_space_clear_dirty_log(struct tmm_space *space, u32 start, u64 end,
			      const unsigned long *bitmap)
{
	u32 nr;

	down_write(&space->lock);
	tmm_space_changed(space, start, end);
	nr = tmm_pt_clear_bits(&space->pt, start, end, TORUSMM_PTE_DIRTY,
			       bitmap);
	up_write(&space->lock);
	return nr;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_clear_dirty_log, TORUSMM);

/**
 * tmm_space_get_access_log() - which pages of a range were accessed, since
 * the last call
 * @space: the space
 * @start: page-aligned start
 * @end: end (exclusive), at most TMM_USER_END
 * @bitmap: out: bit (va - @start) / 4 KiB set for each accessed page;
 *	    zeroed by the caller
 *
 * Reports and clears the accessed bits, after dropping the observers'
 * translations of the range, so that the next access through the shadow
 * faults and sets accessed again: the information idle-page tracking and
 * DAMON read.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: the number of pages reported.
 */
u32 tmm_space_get_access_log(struct tmm_space *space, u32 start, u64 end,
			     unsigned long *bitmap)
{
	u32 nr;

	down_write(&space->lock);
	tmm_space_changed(space, start, end);
	nr = tmm_pt_harvest(&space->pt, start, end, TORUSMM_PTE_ACCESSED,
			    bitmap, true);
	up_write(&space->lock);
	return nr;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_get_access_log, TORUSMM);

/**
 * tmm_space_lookup() - the leaf entry for an address, without side effects
 * @space: the space
 * @va: virtual address
 *
 * Context: process context; takes @space->lock shared.
 * Return: the entry, or 0 when there is none.
 */
u32 tmm_space_lookup(struct tmm_space *space, u32 va)
{
	u32 pte;

	down_read(&space->lock);
	pte = tmm_pt_lookup(&space->pt, va);
	up_read(&space->lock);
	return pte;
}

/**
 * tmm_space_get_stats() - counters of an address space
 * @space: the space
 * @stats: out: the counters, read from running counts (no walk)
 *
 * Context: process context; takes @space->lock shared.
 */
void tmm_space_get_stats(struct tmm_space *space,
			 struct torusmm_space_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	down_read(&space->lock);
	stats->nr_regions = space->nr_regions;
	stats->torus = space->torus->id;
	stats->max_frames = space->pt.max_frames;
	stats->nr_data_frames = space->pt.nr_pages;
	stats->nr_table_frames = space->pt.nr_tables;
	stats->brk = space->brk;
	stats->nr_heap_pages = (PAGE_ALIGN(space->brk) - TORUSMM_HEAP_START) >>
			       PAGE_SHIFT;
	stats->stack_start = space->stack_start;
	up_read(&space->lock);
	stats->id = space->id;
	stats->nr_faults = atomic64_read(&space->nr_faults);
	stats->nr_fault_errors = atomic64_read(&space->nr_fault_errors);
	stats->nr_translations = atomic64_read(&space->nr_translations);
}
EXPORT_SYMBOL_NS_GPL(tmm_space_get_stats, TORUSMM);

/**
 * tmm_space_walk_regions() - call a function for each region, lowest first
 * @space: the space
 * @fn: called with each region's bounds and protection; non-zero stops
 * @data: passed to @fn
 *
 * Context: process context; takes @space->lock shared, and holds it while
 * @fn runs: @fn must not sleep on anything the lock's writers wait for, nor
 * touch user memory.
 * Return: 0, or what @fn returned to stop the walk.
 */
int tmm_space_walk_regions(struct tmm_space *space, tmm_space_region_fn fn,
			   void *data)
{
	MA_STATE(mas, &space->regions, TORUSMM_USER_MIN, TORUSMM_USER_MIN);
	void *entry;
	int ret = 0;

	down_read(&space->lock);
	mas_for_each(&mas, entry, TMM_USER_END - 1) {
		if (WARN_ON_ONCE(!tmm_entry_is_region(entry)))
			continue;
		ret = fn(mas.index, (u64)mas.last + 1, tmm_entry_prot(entry),
			 data);
		if (ret)
			break;
	}
	up_read(&space->lock);
	return ret;
}

struct tmm_region_dump {
	struct torusmm_region *buf;
	u32 capacity;
	u32 n;
};

static int tmm_dump_one_region(u32 start, u64 end, u32 prot, void *data)
{
	struct tmm_region_dump *dump = data;

	if (dump->n < dump->capacity) {
		dump->buf[dump->n].start = start;
		dump->buf[dump->n].end = end;
		dump->buf[dump->n].prot = prot;
		dump->buf[dump->n].reserved = 0;
	}
	dump->n++;
	return 0;
}

/**
 * tmm_space_dump_regions() - list the regions, lowest first
 * @space: the space
 * @buf: out: up to @capacity regions
 * @capacity: entries @buf holds
 * @count: out: how many regions there are
 *
 * Context: process context; takes @space->lock shared.
 * Return: 0, or -E2BIG when @capacity < @count (@buf holds the first ones).
 */
int tmm_space_dump_regions(struct tmm_space *space, struct torusmm_region *buf,
			   u32 capacity, u32 *count)
{
	struct tmm_region_dump dump = { .buf = buf, .capacity = capacity };

	tmm_space_walk_regions(space, tmm_dump_one_region, &dump);
	*count = dump.n;
	return dump.n > capacity ? -E2BIG : 0;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_dump_regions, TORUSMM);

/**
 * tmm_space_walk_ptes() - call a function for each leaf entry holding a frame
 * @space: the space
 * @start: page-aligned start
 * @end: end (exclusive), at most 4 GiB
 * @fn: as for tmm_pt_walk(); non-zero stops the walk
 * @data: passed to @fn
 *
 * Context: process context; takes @space->lock shared and holds it while
 * @fn runs; sleeps.
 * Return: 0, or what @fn returned to stop the walk.
 */
int tmm_space_walk_ptes(struct tmm_space *space, u32 start, u64 end,
			tmm_pt_walk_fn fn, void *data)
{
	int ret;

	down_read(&space->lock);
	ret = tmm_pt_walk(&space->pt, start, end, fn, data);
	up_read(&space->lock);
	return ret;
}

struct tmm_pte_dump {
	struct torusmm_pte *buf;
	u32 capacity;
	u32 n;
};

static int tmm_dump_one_pte(u32 va, u32 *ptep, void *data)
{
	struct tmm_pte_dump *dump = data;

	if (dump->n < dump->capacity) {
		dump->buf[dump->n].addr = va;
		dump->buf[dump->n].pte = READ_ONCE(*ptep);
	}
	dump->n++;
	return 0;
}

/**
 * tmm_space_dump_ptes() - list the leaf entries that hold a frame
 * @space: the space
 * @start: page-aligned start
 * @end: end (exclusive), at most 4 GiB
 * @buf: out: up to @capacity entries, lowest address first
 * @capacity: entries @buf holds
 * @count: out: how many entries the range has
 *
 * Context: process context; takes @space->lock shared; sleeps.
 * Return: 0, or -E2BIG when @capacity < @count.
 */
int tmm_space_dump_ptes(struct tmm_space *space, u32 start, u64 end,
			struct torusmm_pte *buf, u32 capacity, u32 *count)
{
	struct tmm_pte_dump dump = { .buf = buf, .capacity = capacity };

	tmm_space_walk_ptes(space, start, end, tmm_dump_one_pte, &dump);
	*count = dump.n;
	return dump.n > capacity ? -E2BIG : 0;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_dump_ptes, TORUSMM);
