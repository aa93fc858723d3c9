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
 * tmm_space_translate(), tmm_space_read() or tmm_space_write() faults in a
 * zeroed one.
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
 * Locking: @space->lock is a rwsem.  Translations and copies of present pages
 * take it shared, so they run side by side (accessed and dirty bits are set
 * with cmpxchg); anything that changes regions or tables, demand faults
 * included, takes it exclusive.  It is a sleeping lock because operations
 * allocate with GFP_KERNEL and zero frames.  Lock order:
 *
 *	space->lock  ->  torus->lock
 *
 * and, in tmm_space_clone() only, the source's lock before the clone's.
 * Nothing here touches user memory; callers copy from and to userspace with
 * no space lock held, so that user page faults never nest inside it.
 */

#include <linux/debugfs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "fault_inject.h"
#include "frame_alloc.h"
#include "pagetable.h"
#include "vma.h"

#define TMM_PROT_MASK	(TORUSMM_PROT_READ | TORUSMM_PROT_WRITE | \
			 TORUSMM_PROT_EXEC)
#define TMM_PROT_RW	(TORUSMM_PROT_READ | TORUSMM_PROT_WRITE)
#define TMM_MAP_MASK	(TORUSMM_MAP_FIXED | TORUSMM_MAP_FIXED_NOREPLACE | \
			 TORUSMM_MAP_POPULATE)
#define TMM_STACK_FLOOR	(TORUSMM_STACK_TOP - TORUSMM_STACK_LIMIT)

static struct dentry *tmm_debugfs_dir;

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

/* Leaf entry bits for a region's protection. */
static u32 tmm_prot_to_pte(u32 prot)
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

/* Whether a region's protection allows an access (a demand fault may). */
static bool tmm_prot_allows(u32 prot, u32 access)
{
	if (access & TORUSMM_ACCESS_WRITE)
		return prot & TORUSMM_PROT_WRITE;
	if (access & TORUSMM_ACCESS_EXEC)
		return prot & TORUSMM_PROT_EXEC;
	return prot & TORUSMM_PROT_READ;
}

/* Whether no region overlaps [start, end). */
static bool tmm_range_is_free(struct tmm_space *space, u32 start, u64 end)
{
	MA_STATE(mas, &space->regions, start, start);

	lockdep_assert_held(&space->lock);
	return !mas_find(&mas, end - 1);
}

/* Whether regions cover all of [start, end). */
static bool tmm_range_is_covered(struct tmm_space *space, u32 start, u64 end)
{
	MA_STATE(mas, &space->regions, start, start);
	u64 next = start;
	void *entry;

	lockdep_assert_held(&space->lock);
	mas_for_each(&mas, entry, end - 1) {
		if (mas.index > next)
			return false;
		next = (u64)mas.last + 1;
		if (next >= end)
			return true;
	}
	return next >= end;
}

/*
 * Store @entry (a protection, or NULL to unmap) over [start, end) in one
 * maple tree store, merged with neighbours of equal protection.
 * Return: 0, or -ENOMEM with the tree unchanged.
 */
static int tmm_region_store(struct tmm_space *space, u32 start, u32 end,
			    void *entry)
{
	MA_STATE(mas, &space->regions, start, end - 1);

	lockdep_assert_held_write(&space->lock);

	if (tmm_should_fail(TMM_FAULT_TREE))
		return -ENOMEM;
	if (entry && start) {
		MA_STATE(left, &space->regions, start - 1, start - 1);

		if (mas_walk(&left) == entry)
			start = left.index;
	}
	if (entry) {
		MA_STATE(right, &space->regions, end, end);

		if (mas_walk(&right) == entry)
			end = right.last + 1;
	}
	mas_set_range(&mas, start, end - 1);
	return mas_store_gfp(&mas, entry, GFP_KERNEL_ACCOUNT);
}

/* Allocate an empty space: no page table and no regions yet. */
static struct tmm_space *tmm_space_alloc(struct tmm_torus *torus)
{
	struct tmm_space *space;

	if (tmm_should_fail(TMM_FAULT_SLAB))
		return NULL;
	space = kzalloc(sizeof(*space), GFP_KERNEL_ACCOUNT);
	if (!space)
		return NULL;
	init_rwsem(&space->lock);
	mt_init_flags(&space->regions,
		      MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN);
	mt_set_external_lock(&space->regions, &space->lock);
	space->torus = torus;
	space->brk = TORUSMM_HEAP_START;
	space->stack_start = TORUSMM_STACK_TOP - PAGE_SIZE;
	return space;
}

/* Free a space whose tables and regions are set up, or half set up. */
static void tmm_space_free_all(struct tmm_space *space)
{
	down_write(&space->lock);
	__mt_destroy(&space->regions);
	tmm_pt_destroy(&space->pt);
	up_write(&space->lock);
	kfree(space);
}

/**
 * tmm_space_create() - create an empty address space
 * @torus: where every frame of the space comes from
 * @max_frames: quota on the space's data and table frames; 0 for none
 *
 * The space starts with its directory, a one-page stack region below
 * TORUSMM_STACK_TOP (no frame yet) and the break at TORUSMM_HEAP_START.
 *
 * Context: process context; sleeps.
 * Return: the space, or ERR_PTR(-ENOMEM) with nothing allocated.
 */
struct tmm_space *tmm_space_create(struct tmm_torus *torus, u32 max_frames)
{
	struct tmm_space *space;
	int err;

	space = tmm_space_alloc(torus);
	if (!space)
		return ERR_PTR(-ENOMEM);

	down_write(&space->lock);
	err = tmm_pt_init(&space->pt, torus, &space->lock, max_frames);
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
	return space;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_create, TORUSMM);

/**
 * tmm_space_destroy() - free an address space and every frame it holds
 * @space: the space, or NULL
 *
 * Context: process context; sleeps.  Nobody else may use @space any more.
 */
void tmm_space_destroy(struct tmm_space *space)
{
	if (!space)
		return;
	atomic_dec(&space->torus->nr_spaces);
	tmm_space_free_all(space);
}
EXPORT_SYMBOL_NS_GPL(tmm_space_destroy, TORUSMM);

/**
 * tmm_space_clone() - copy an address space, as fork does
 * @src: the space to copy
 *
 * The clone has the same torus, quota, regions, break and stack, and a copy
 * of every page in frames of its own.
 *
 * Context: process context; takes @src->lock shared; sleeps.
 * Return: the clone, or ERR_PTR(-ENOMEM) with nothing left of it.
 */
struct tmm_space *tmm_space_clone(struct tmm_space *src)
{
	MA_STATE(mas, &src->regions, 0, 0);
	struct tmm_space *dst;
	void *entry;
	int err;

	dst = tmm_space_alloc(src->torus);
	if (!dst)
		return ERR_PTR(-ENOMEM);

	down_read(&src->lock);
	/* @dst is not visible to anyone else yet; the order cannot invert. */
	down_write_nested(&dst->lock, SINGLE_DEPTH_NESTING);
	err = tmm_pt_init(&dst->pt, src->torus, &dst->lock, src->pt.max_frames);
	if (err)
		goto unlock;

	mas_for_each(&mas, entry, ULONG_MAX) {
		MA_STATE(store, &dst->regions, mas.index, mas.last);

		err = -ENOMEM;
		if (tmm_should_fail(TMM_FAULT_TREE))
			goto unlock;
		err = mas_store_gfp(&store, entry, GFP_KERNEL_ACCOUNT);
		if (err)
			goto unlock;
	}
	err = tmm_pt_clone(&dst->pt, &src->pt);
	dst->brk = src->brk;
	dst->stack_start = src->stack_start;
unlock:
	up_write(&dst->lock);
	up_read(&src->lock);
	if (err) {
		tmm_space_free_all(dst);
		return ERR_PTR(err);
	}
	atomic_inc(&dst->torus->nr_spaces);
	return dst;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_clone, TORUSMM);

/**
 * tmm_space_brk() - move the break, as brk(2) does
 * @space: the space
 * @addr: the requested break; below TORUSMM_HEAP_START (0 included) asks
 *	  for the current one
 *
 * Growing maps [PAGE_ALIGN(old), PAGE_ALIGN(@addr)) read-write, and fails if
 * a region is in the way or the heap would reach the stack guard.  Shrinking
 * unmaps and frees the pages above PAGE_ALIGN(@addr).
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
	} else if (new_top < old_top) {
		if (tmm_region_store(space, new_top, old_top, NULL))
			goto out;
		tmm_pt_unmap_range(&space->pt, new_top, old_top);
	}
	space->brk = addr;
out:
	brk = space->brk;
	up_write(&space->lock);
	return brk;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_brk, TORUSMM);

/* Free the frames of a failed populate. */
static void tmm_frames_free(struct tmm_torus *torus, u32 *frames, u32 nr)
{
	while (nr--)
		tmm_frame_free(torus, frames[nr]);
}

/*
 * Map [start, end) with @prot, replacing whatever was there; with @populate,
 * every page gets a zeroed frame.  Frames and tables are allocated before
 * the region store, and nothing after the store can fail.
 */
static int tmm_space_map(struct tmm_space *space, u32 start, u32 end,
			 u32 prot, bool populate)
{
	struct tmm_pagetable *pt = &space->pt;
	u32 nr = (end - start) >> PAGE_SHIFT;
	u32 *frames = NULL;
	u32 i, pte = tmm_prot_to_pte(prot);
	int err;

	lockdep_assert_held_write(&space->lock);

	if (populate && prot != TORUSMM_PROT_NONE) {
		u64 need = (u64)tmm_pt_frames_used(pt) + nr +
			   tmm_pt_tables_needed(pt, start, end);

		if (pt->max_frames && need > pt->max_frames)
			return -ENOMEM;
		if (tmm_should_fail(TMM_FAULT_SLAB))
			return -ENOMEM;
		frames = kvmalloc_array(nr, sizeof(*frames), GFP_KERNEL_ACCOUNT);
		if (!frames)
			return -ENOMEM;
		for (i = 0; i < nr; i++) {
			err = tmm_frame_alloc(space->torus, TMM_FRAME_DATA,
					      &frames[i]);
			if (err) {
				tmm_frames_free(space->torus, frames, i);
				goto free_array;
			}
			if (!(i % 512))
				cond_resched();
		}
		err = tmm_pt_prealloc(pt, start, end);
		if (err)
			goto free_frames;
	}

	err = tmm_region_store(space, start, end, tmm_prot_entry(prot));
	if (err)
		goto trim_tables;

	if (!frames) {
		tmm_pt_unmap_range(pt, start, end);
		return 0;
	}
	/* Every table exists: replacing cannot fail. */
	for (i = 0; i < nr; i++)
		tmm_pt_map(pt, start + (i << PAGE_SHIFT), frames[i], pte,
			   TMM_PT_REPLACE);
	kvfree(frames);
	return 0;

trim_tables:
	if (frames)
		tmm_pt_trim(pt, start, end);
free_frames:
	if (frames)
		tmm_frames_free(space->torus, frames, nr);
free_array:
	kvfree(frames);
	return err;
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
 * like Linux, it populates nothing under PROT_NONE.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: 0; -EINVAL for a zero or too large @length, unknown bits or an
 * unaligned fixed address; -EPERM for a fixed address below
 * TORUSMM_USER_MIN; -EEXIST for an overlap with MAP_FIXED_NOREPLACE;
 * -ENOMEM when the range leaves the user range, no gap is large enough, or
 * memory, frames or quota run out.  On error nothing changed.
 */
int tmm_space_mmap(struct tmm_space *space, u32 *addr, u64 length, u32 prot,
		   u32 flags)
{
	u64 len = PAGE_ALIGN(length);
	u32 start;
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
		MA_STATE(mas, &space->regions, 0, 0);
		u64 hint = PAGE_ALIGN((u64)*addr);

		if (hint >= TORUSMM_USER_MIN && hint + len <= TMM_USER_END &&
		    tmm_range_is_free(space, hint, hint + len)) {
			start = hint;
		} else {
			err = -ENOMEM;
			if (mas_empty_area_rev(&mas, TORUSMM_USER_MIN,
					       TMM_MMAP_BASE - 1, len))
				goto unlock;
			start = mas.index;
		}
	}
	err = tmm_space_map(space, start, start + len, prot,
			    flags & TORUSMM_MAP_POPULATE);
	if (!err)
		*addr = start;
unlock:
	up_write(&space->lock);
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
 * with nothing mapped in it succeeds.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: 0; -EINVAL for an unaligned @addr, a zero @length or a range
 * beyond the user range; -ENOMEM when the tree cannot be updated (then
 * nothing changed).
 */
int tmm_space_munmap(struct tmm_space *space, u32 addr, u64 length)
{
	u64 end = (u64)addr + PAGE_ALIGN(length);
	int err = 0;

	if ((addr & ~PAGE_MASK) || !length || length > SZ_4G ||
	    end > TMM_USER_END)
		return -EINVAL;

	down_write(&space->lock);
	if (!tmm_range_is_free(space, addr, end)) {
		err = tmm_region_store(space, addr, end, NULL);
		if (!err)
			tmm_pt_unmap_range(&space->pt, addr, end);
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
 * 4 GiB; -ENOMEM when part of the range is unmapped or the tree cannot be
 * updated (nothing changed then).
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
	if (end > TMM_USER_END)
		return -ENOMEM;
	prot = tmm_prot_normalise(prot);

	down_write(&space->lock);
	err = -ENOMEM;
	if (tmm_range_is_covered(space, addr, end))
		err = tmm_region_store(space, addr, end, tmm_prot_entry(prot));
	if (!err)
		tmm_pt_protect_range(&space->pt, addr, end,
				     tmm_prot_to_pte(prot));
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
EXPORT_SYMBOL_NS_GPL(tmm_space_allocate, TORUSMM);

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
EXPORT_SYMBOL_NS_GPL(tmm_space_free, TORUSMM);

/*
 * Handle a not-present fault at @va: grow the stack down to it if need be,
 * then fault in a zeroed frame.  Allocations come first, the region store
 * after them, and the map last, which cannot fail once its table exists.
 * Return: 0 when @va now holds a frame, -EFAULT when the access is not
 * allowed there, -ENOMEM when a frame, a table or the tree store fails.
 */
static int tmm_space_fault(struct tmm_space *space, u32 va, u32 access)
{
	struct tmm_pagetable *pt = &space->pt;
	u32 page = va & PAGE_MASK;
	bool grow = false;
	void *entry;
	u32 frame, prot;
	int err;

	lockdep_assert_held_write(&space->lock);

	entry = mtree_load(&space->regions, page);
	if (entry) {
		prot = tmm_entry_prot(entry);
	} else {
		if (page < TMM_STACK_FLOOR || page >= space->stack_start ||
		    !tmm_range_is_free(space, page, space->stack_start))
			return -EFAULT;
		prot = TMM_PROT_RW;
		grow = true;
	}
	if (!tmm_prot_allows(prot, access))
		return -EFAULT;
	if (tmm_pt_lookup(pt, page) & TMM_PTE_HOLDS_FRAME)
		return 0;	/* another thread faulted it in */

	if (pt->max_frames && tmm_pt_frames_used(pt) + 1 +
	    tmm_pt_tables_needed(pt, page, page + PAGE_SIZE) > pt->max_frames)
		return -ENOMEM;
	err = tmm_frame_alloc(space->torus, TMM_FRAME_DATA, &frame);
	if (err)
		return err;
	err = tmm_pt_prealloc(pt, page, page + PAGE_SIZE);
	if (err)
		goto free_frame;
	if (grow) {
		err = tmm_region_store(space, page, space->stack_start,
				       tmm_prot_entry(prot));
		if (err)
			goto trim_table;
		space->stack_start = page;
	}
	tmm_pt_map(pt, page, frame, tmm_prot_to_pte(prot), 0);
	atomic64_inc(&space->nr_faults);
	return 0;

trim_table:
	tmm_pt_trim(pt, page, page + PAGE_SIZE);
free_frame:
	tmm_frame_free(space->torus, frame);
	return err;
}

/*
 * Translate one access with @space->lock held, faulting in a page the
 * region allows; the caller holds the lock exclusive when @may_fault.
 * Return: 0, -EFAULT with *fault set, -EAGAIN when a fault-in needs the
 * lock exclusive, or -ENOMEM.
 */
static int tmm_space_walk(struct tmm_space *space, u32 va, u32 access,
			  bool may_fault, u64 *tpa, u32 *fault)
{
	int err;

	err = tmm_pt_translate(&space->pt, va, access, tpa, fault);
	if (err != -EFAULT || (*fault & TORUSMM_FAULT_PROTECTION) ||
	    (access & TMM_ACCESS_PEEK))
		return err;
	if (!may_fault)
		return -EAGAIN;
	/* On -EFAULT, *fault still holds the not-present code. */
	err = tmm_space_fault(space, va, access);
	if (err)
		return err;
	return tmm_pt_translate(&space->pt, va, access, tpa, fault);
}

/*
 * Translate one access and, on success, call @copy with the frame's page
 * while the lock is still held.  Tries with the lock shared first.
 */
static int tmm_space_access_page(struct tmm_space *space, u32 va, u32 access,
				 u64 *tpa, u32 *fault,
				 void (*copy)(struct page *page, u32 offset,
					      void *buf, u32 len),
				 void *buf, u32 len)
{
	bool exclusive = false;
	int err;

	down_read(&space->lock);
	err = tmm_space_walk(space, va, access, false, tpa, fault);
	if (err == -EAGAIN) {
		up_read(&space->lock);
		down_write(&space->lock);
		exclusive = true;
		err = tmm_space_walk(space, va, access, true, tpa, fault);
	}
	if (!err && copy)
		copy(tmm_frame_page(space->torus, *tpa >> PAGE_SHIFT),
		     *tpa & ~PAGE_MASK, buf, len);
	if (exclusive)
		up_write(&space->lock);
	else
		up_read(&space->lock);

	if (!err)
		atomic64_inc(&space->nr_translations);
	else if (err == -EFAULT)
		atomic64_inc(&space->nr_fault_errors);
	return err;
}

/**
 * tmm_space_translate() - translate one access through the software MMU
 * @space: the space
 * @va: virtual address
 * @access: TORUSMM_ACCESS_* bits, plus TMM_ACCESS_PEEK for a pure look-up
 * @tpa: out: the torus physical address, on success
 * @fault: out: the fault code, on -EFAULT
 *
 * A not-present fault in a region that allows the access faults in a zeroed
 * frame, and one just below the stack grows the stack; then the walk is
 * retried, setting accessed and dirty bits as tmm_pt_translate() does.
 * Protection faults are reported, never fixed.  With TMM_ACCESS_PEEK nothing
 * is faulted in and no bit is set.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: 0; -EFAULT with @fault set; -ENOMEM when a fault-in finds no frame
 * (the torus is full or the quota reached) or no memory.
 */
int tmm_space_translate(struct tmm_space *space, u32 va, u32 access,
			u64 *tpa, u32 *fault)
{
	return tmm_space_access_page(space, va, access, tpa, fault, NULL,
				     NULL, 0);
}
EXPORT_SYMBOL_NS_GPL(tmm_space_translate, TORUSMM);

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
EXPORT_SYMBOL_NS_GPL(tmm_space_lookup, TORUSMM);

static void tmm_copy_from_frame(struct page *page, u32 offset, void *buf,
				u32 len)
{
	memcpy_from_page(buf, page, offset, len);
}

static void tmm_copy_to_frame(struct page *page, u32 offset, void *buf,
			      u32 len)
{
	memcpy_to_page(page, offset, buf, len);
}

/* Copy page by page until done or the first fault. */
static int tmm_space_copy(struct tmm_space *space, u32 va, void *buf, u32 len,
			  u32 access,
			  void (*copy)(struct page *page, u32 offset, void *buf,
				       u32 len),
			  struct tmm_access *result)
{
	int err = 0;

	memset(result, 0, sizeof(*result));
	if ((u64)va + len > SZ_4G)
		return -EINVAL;

	while (result->done < len) {
		u32 at = va + result->done;
		u32 chunk = min_t(u32, len - result->done,
				  PAGE_SIZE - offset_in_page(at));
		u64 tpa;

		err = tmm_space_access_page(space, at, access, &tpa,
					    &result->fault, copy,
					    buf + result->done, chunk);
		if (err == -EFAULT) {
			result->fault_addr = at;
			return 0;
		}
		if (err)
			return err;
		result->done += chunk;
		cond_resched();
	}
	result->fault = 0;
	return 0;
}

/**
 * tmm_space_read() - copy from an address space into a kernel buffer
 * @space: the space
 * @va: virtual address to read from
 * @buf: kernel buffer
 * @len: bytes
 * @access: 0 or TORUSMM_ACCESS_USER
 * @result: out: bytes copied, and the fault that stopped the copy
 *
 * Like process_vm_readv(), the bytes before a faulting page are copied.
 * Pages are faulted in as tmm_space_translate() does.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: 0 (a fault is reported in @result); -EINVAL for unknown @access
 * bits or a range past 4 GiB; -ENOMEM as tmm_space_translate().
 */
int tmm_space_read(struct tmm_space *space, u32 va, void *buf, u32 len,
		   u32 access, struct tmm_access *result)
{
	if (access & ~TORUSMM_ACCESS_USER)
		return -EINVAL;
	return tmm_space_copy(space, va, buf, len, access, tmm_copy_from_frame,
			      result);
}
EXPORT_SYMBOL_NS_GPL(tmm_space_read, TORUSMM);

/**
 * tmm_space_write() - copy a kernel buffer into an address space
 * @space: the space
 * @va: virtual address to write to
 * @buf: kernel buffer
 * @len: bytes
 * @access: 0 or TORUSMM_ACCESS_USER; the write bit is implied
 * @result: out: bytes copied, and the fault that stopped the copy
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: as tmm_space_read().
 */
int tmm_space_write(struct tmm_space *space, u32 va, const void *buf,
		    u32 len, u32 access, struct tmm_access *result)
{
	if (access & ~TORUSMM_ACCESS_USER)
		return -EINVAL;
	return tmm_space_copy(space, va, (void *)buf, len,
			      access | TORUSMM_ACCESS_WRITE, tmm_copy_to_frame,
			      result);
}
EXPORT_SYMBOL_NS_GPL(tmm_space_write, TORUSMM);

/**
 * tmm_space_get_stats() - counters of an address space
 * @space: the space
 * @stats: out: the counters (the torus index is the caller's to fill in)
 *
 * Context: process context; takes @space->lock shared.
 */
void tmm_space_get_stats(struct tmm_space *space,
			 struct torusmm_space_stats *stats)
{
	MA_STATE(mas, &space->regions, 0, 0);
	void *entry;

	memset(stats, 0, sizeof(*stats));
	down_read(&space->lock);
	mas_for_each(&mas, entry, ULONG_MAX)
		stats->nr_regions++;
	stats->torus = space->torus->id;
	stats->max_frames = space->pt.max_frames;
	stats->nr_data_frames = space->pt.nr_pages;
	stats->nr_table_frames = space->pt.nr_tables;
	stats->brk = space->brk;
	stats->nr_heap_pages = (PAGE_ALIGN(space->brk) - TORUSMM_HEAP_START) >>
			       PAGE_SHIFT;
	stats->stack_start = space->stack_start;
	up_read(&space->lock);
	stats->nr_faults = atomic64_read(&space->nr_faults);
	stats->nr_fault_errors = atomic64_read(&space->nr_fault_errors);
	stats->nr_translations = atomic64_read(&space->nr_translations);
}
EXPORT_SYMBOL_NS_GPL(tmm_space_get_stats, TORUSMM);

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
	MA_STATE(mas, &space->regions, 0, 0);
	void *entry;
	u32 n = 0;

	down_read(&space->lock);
	mas_for_each(&mas, entry, ULONG_MAX) {
		if (n < capacity) {
			buf[n].start = mas.index;
			buf[n].end = mas.last + 1;
			buf[n].prot = tmm_entry_prot(entry);
			buf[n].reserved = 0;
		}
		n++;
	}
	up_read(&space->lock);
	*count = n;
	return n > capacity ? -E2BIG : 0;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_dump_regions, TORUSMM);

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

	down_read(&space->lock);
	tmm_pt_walk(&space->pt, start, end, tmm_dump_one_pte, &dump);
	up_read(&space->lock);
	*count = dump.n;
	return dump.n > capacity ? -E2BIG : 0;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_dump_ptes, TORUSMM);

static int __init tmm_core_init(void)
{
	tmm_debugfs_dir = debugfs_create_dir("torusmm", NULL);
	tmm_fault_debugfs_init(tmm_debugfs_dir);
	return 0;
}

static void __exit tmm_core_exit(void)
{
	debugfs_remove(tmm_debugfs_dir);
}

module_init(tmm_core_init);
module_exit(tmm_core_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The torusmm authors");
MODULE_DESCRIPTION("torusmm core: tori of frames, two-level page tables, address spaces");
