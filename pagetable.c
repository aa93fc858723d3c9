// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm: two-level page tables kept in torus frames.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * DOC: Page tables
 *
 * A 32-bit virtual address splits 10/10/12: a directory index, a table index
 * and the offset in a 4 KiB page.  The directory and every table are 1024
 * 32-bit entries filling one frame of the space's torus, so page tables cost
 * memory as they do on hardware.  A table is freed when its last entry goes.
 *
 * Entries use the x86 layout (see include/uapi/linux/torusmm.h): the frame
 * number in bits 31..12, present, writable, user, accessed and dirty where
 * x86 has them, and two bits x86 leaves to software: NX (no-exec, which a
 * 32-bit x86 entry cannot express) and PROTNONE (the entry holds a frame but
 * is not present, as Linux keeps PROT_NONE pages).  Directory entries always
 * grant write and user so that the leaf decides, as Linux's do; the walker
 * still combines both levels as x86 does.
 *
 * An entry owns one reference to its frame (frame_alloc.c counts them):
 * tmm_pt_clone() shares every frame copy-on-write (TORUSMM_PTE_COW, writable
 * cleared on both sides) and tmm_pt_unshare() gives an entry a frame of its
 * own at the first write.  Entries may also map the torus's zero frame,
 * which nobody owns: such entries count in @counts (they keep their table)
 * but not in @nr_pages, any quota or any user's charge.
 *
 * The owner's rwsem (@pt->lock) serialises changes; translation runs under
 * the read side and sets accessed and dirty bits with cmpxchg, as a hardware
 * walker does beside other walkers.  Once the shadow maps these tables into
 * hardware, the same cmpxchg keeps software and hardware updates from losing
 * each other.
 */

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "fault_inject.h"
#include "frame_alloc.h"
#include "pagetable.h"
#include "user.h"

#define TMM_PDE_TABLE	(TORUSMM_PTE_PRESENT | TORUSMM_PTE_WRITABLE | \
			 TORUSMM_PTE_USER)
#define TMM_TABLE_SPAN	BIT(22)		/* bytes one table maps */

/*
 * The table a present directory entry points to, or NULL (with a warning:
 * the directory is corrupt) when the entry names no frame of the torus.
 */
static u32 *tmm_pt_table(struct tmm_pagetable *pt, u32 pde)
{
	struct page *page = tmm_frame_page(pt->torus, TMM_PTE_FRAME(pde));

	if (WARN_ON_ONCE(!page))
		return NULL;
	return page_address(page);
}

/* The entry for @va, or NULL when its table does not exist. */
static u32 *tmm_pt_entry(struct tmm_pagetable *pt, u32 va)
{
	u32 pde = READ_ONCE(pt->dir[TMM_PDX(va)]);
	u32 *table;

	if (!(pde & TORUSMM_PTE_PRESENT))
		return NULL;
	table = tmm_pt_table(pt, pde);
	return table ? &table[TMM_PTX(va)] : NULL;
}

/* The ceiling on the frames of @pt's user, 0 for none. */
static unsigned int tmm_pt_user_limit(struct tmm_pagetable *pt)
{
	return pt->limits ? READ_ONCE(pt->limits->user_max_frames) : 0;
}

/* Allocate a frame charged to @pt's user; @use picks the fault point. */
static int tmm_pt_charged_alloc(struct tmm_pagetable *pt,
				enum tmm_frame_use use, u32 *frame)
{
	int err;

	if (pt->user &&
	    !tmm_user_charge_frames(pt->user, 1, tmm_pt_user_limit(pt)))
		return -ENOMEM;
	err = tmm_frame_alloc(pt->torus, use, frame);
	if (err && pt->user)
		tmm_user_uncharge_frames(pt->user, 1);
	return err;
}

/**
 * tmm_pt_frame_alloc() - allocate a zeroed data frame for a page table
 * @pt: the page table the frame is for; its user is charged
 * @frame: out: the frame, which the caller maps with tmm_pt_map() or gives
 *	   back with tmm_pt_frame_free()
 *
 * Callers check @pt's own quota (@pt->max_frames) themselves, under the
 * owner's lock, before they map the frame; this checks the user's ceiling.
 *
 * Context: process context; sleeps.  No lock needed.
 * Return: 0, or -ENOMEM when the torus is full or the user's ceiling is
 * reached.
 */
int tmm_pt_frame_alloc(struct tmm_pagetable *pt, u32 *frame)
{
	return tmm_pt_charged_alloc(pt, TMM_FRAME_DATA, frame);
}

/**
 * tmm_pt_charge() - charge frames allocated elsewhere to a table's user
 * @pt: the page table the frames are for
 * @nr: how many frames
 * @slack: frames the caller will give back before it drops the owner's
 *	   lock (those a MAP_FIXED replaces); the ceiling is raised by as
 *	   many for this charge, so that they are not counted twice
 *
 * For frames the caller took from the torus with tmm_frame_alloc() and will
 * map with tmm_pt_map(), which then owns them and their charge.
 *
 * Context: any context.
 * Return: true when charged; false, with nothing charged, at the ceiling.
 */
bool tmm_pt_charge(struct tmm_pagetable *pt, u32 nr, u32 slack)
{
	unsigned int limit = tmm_pt_user_limit(pt);

	if (!pt->user)
		return true;
	if (limit)
		limit = min_t(u64, (u64)limit + slack, UINT_MAX);
	return tmm_user_charge_frames(pt->user, nr, limit);
}

/**
 * tmm_pt_uncharge() - give back a charge of tmm_pt_charge()
 * @pt: the page table
 * @nr: how many frames
 *
 * Context: any context.
 */
void tmm_pt_uncharge(struct tmm_pagetable *pt, u32 nr)
{
	if (pt->user)
		tmm_user_uncharge_frames(pt->user, nr);
}

/**
 * tmm_pt_frame_free() - give back a frame of a page table to its torus
 * @pt: the page table the frame was allocated for
 * @frame: the frame, no longer mapped anywhere
 *
 * A frame the torus refuses (freed twice, or not its own) means the table is
 * corrupt: that is reported once and the charge is kept, so that the
 * accounting stays as wrong as the table and no more.
 *
 * Context: any context that may take a spinlock.
 */
void tmm_pt_frame_free(struct tmm_pagetable *pt, u32 frame)
{
	if (frame == TMM_ZERO_FRAME)
		return;		/* shared by all, charged to none */
	if (WARN_ON_ONCE(tmm_frame_free(pt->torus, frame)))
		return;
	if (pt->user)
		tmm_user_uncharge_frames(pt->user, 1);
}

/* Start of the table span after the one holding @va, as a 64-bit address. */
static u64 tmm_pt_next_table(u64 va)
{
	return (va | (TMM_TABLE_SPAN - 1)) + 1;
}

/* Whether the quota leaves room for @extra more frames. */
static bool tmm_pt_quota_allows(struct tmm_pagetable *pt, u32 extra)
{
	return !pt->max_frames || tmm_pt_frames_used(pt) + extra <= pt->max_frames;
}

/*
 * Allocate the table for directory slot @pdx.  @extra frames the caller is
 * about to add count against the quota too.
 */
static int tmm_pt_add_table(struct tmm_pagetable *pt, u32 pdx, u32 extra)
{
	u32 frame;
	int err;

	if (!tmm_pt_quota_allows(pt, extra + 1))
		return -ENOMEM;
	err = tmm_pt_charged_alloc(pt, TMM_FRAME_TABLE, &frame);
	if (err)
		return err;
	pt->nr_tables++;
	WRITE_ONCE(pt->dir[pdx], (frame << PAGE_SHIFT) | TMM_PDE_TABLE);
	return 0;
}

/* Free the table in directory slot @pdx, which must be empty. */
static void tmm_pt_drop_table(struct tmm_pagetable *pt, u32 pdx)
{
	u32 pde = pt->dir[pdx];

	WRITE_ONCE(pt->dir[pdx], 0);
	tmm_pt_frame_free(pt, TMM_PTE_FRAME(pde));
	pt->nr_tables--;
}

/* Clear an entry that holds a frame and account for it. */
static u32 tmm_pt_clear(struct tmm_pagetable *pt, u32 va, u32 *ptep)
{
	u32 pte = *ptep;
	u32 pdx = TMM_PDX(va);

	WRITE_ONCE(*ptep, 0);
	if (TMM_PTE_FRAME(pte) != TMM_ZERO_FRAME)
		pt->nr_pages--;
	if (!--pt->counts[pdx])
		tmm_pt_drop_table(pt, pdx);
	return TMM_PTE_FRAME(pte);
}

/*
 * Set @bits in an entry that concurrent walkers may update too.
 * Return: the entry with @bits set, as it now is in the table.
 */
static u32 tmm_pte_set_bits(u32 *ptep, u32 bits)
{
	u32 old = READ_ONCE(*ptep);

	do {
		if ((old & bits) == bits)
			return old;
	} while (!try_cmpxchg(ptep, &old, old | bits));
	return old | bits;
}

/**
 * tmm_pt_init() - set up an empty page table
 * @pt: the page table
 * @torus: where its frames come from
 * @lock: the owner's lock, held for write to change @pt, for read to walk it
 * @max_frames: quota on the frames @pt holds (tables and pages); 0 for none
 * @user: whom every frame is charged to, or NULL (tests)
 * @limits: where @user's ceiling is read, or NULL for none
 *
 * Context: process context; sleeps.
 * Return: 0, or -ENOMEM when the directory or the bookkeeping cannot be
 * allocated (nothing is left allocated then).
 */
int tmm_pt_init(struct tmm_pagetable *pt, struct tmm_torus *torus,
		struct rw_semaphore *lock, u32 max_frames, struct tmm_user *user,
		const struct tmm_limits *limits)
{
	struct page *page;
	u32 frame;
	int err;

	memset(pt, 0, sizeof(*pt));
	pt->torus = torus;
	pt->lock = lock;
	pt->max_frames = max_frames;
	pt->user = user;
	pt->limits = limits;

	if (tmm_should_fail(TMM_FAULT_SLAB))
		return -ENOMEM;
	pt->counts = kvcalloc(TMM_PT_ENTRIES, sizeof(*pt->counts),
			      GFP_KERNEL_ACCOUNT);
	if (!pt->counts)
		return -ENOMEM;

	err = -ENOMEM;
	if (!tmm_pt_quota_allows(pt, 1))
		goto free_counts;
	err = tmm_pt_charged_alloc(pt, TMM_FRAME_TABLE, &frame);
	if (err)
		goto free_counts;
	page = tmm_frame_page(torus, frame);
	if (WARN_ON_ONCE(!page)) {
		err = -ENOMEM;
		goto free_frame;
	}
	pt->dir_frame = frame;
	pt->dir = page_address(page);
	pt->nr_tables = 1;
	return 0;

free_frame:
	tmm_pt_frame_free(pt, frame);
free_counts:
	kvfree(pt->counts);
	pt->counts = NULL;
	return err;
}

/**
 * tmm_pt_destroy() - free a page table, its tables and every mapped frame
 * @pt: the page table (initialised; a table whose init failed is ignored)
 *
 * @pt is cleared afterwards, @pt->lock included: release the owner's lock
 * through the owner, not through @pt.
 *
 * Context: process context; sleeps.  Nobody else may use @pt any more.
 */
void tmm_pt_destroy(struct tmm_pagetable *pt)
{
	u32 pdx, ptx;

	if (!pt->dir)
		return;
	for (pdx = 0; pdx < TMM_PT_ENTRIES; pdx++) {
		u32 pde = pt->dir[pdx];
		u32 *table;

		if (!(pde & TORUSMM_PTE_PRESENT))
			continue;
		table = tmm_pt_table(pt, pde);
		for (ptx = 0; table && ptx < TMM_PT_ENTRIES; ptx++) {
			if (table[ptx] & TMM_PTE_HOLDS_FRAME)
				tmm_pt_frame_free(pt, TMM_PTE_FRAME(table[ptx]));
		}
		tmm_pt_frame_free(pt, TMM_PTE_FRAME(pde));
		cond_resched();
	}
	tmm_pt_frame_free(pt, pt->dir_frame);
	kvfree(pt->counts);
	memset(pt, 0, sizeof(*pt));
}

/**
 * tmm_pt_map() - map a frame at a virtual address
 * @pt: the page table
 * @va: page-aligned virtual address
 * @frame: the frame; @pt owns it (one reference) from now on.  The zero
 *	   frame (TMM_ZERO_FRAME) is owned by nobody and not counted.
 * @pte_flags: bits of TMM_PTE_PROT_MASK, plus TORUSMM_PTE_COW
 * @flags: TMM_PT_REPLACE to replace (and free) a frame already mapped
 *
 * Context: @pt->lock held for write; sleeps.
 * Return: 0; -EINVAL for an unaligned @va or unknown bits; -EEXIST when @va
 * holds a frame and TMM_PT_REPLACE is not given; -ENOMEM when a new table
 * cannot be allocated or would exceed the quota.  On error nothing changed
 * and @frame is still the caller's.
 */
int tmm_pt_map(struct tmm_pagetable *pt, u32 va, u32 frame, u32 pte_flags,
	       unsigned int flags)
{
	u32 pdx = TMM_PDX(va);
	u32 *ptep;
	int err;

	lockdep_assert_held_write(pt->lock);

	if ((va & ~PAGE_MASK) ||
	    (pte_flags & ~(TMM_PTE_PROT_MASK | TORUSMM_PTE_COW)) ||
	    (flags & ~TMM_PT_REPLACE))
		return -EINVAL;

	ptep = tmm_pt_entry(pt, va);
	if (!ptep) {
		/* The page counts against the quota too, unless it is the zero frame. */
		err = tmm_pt_add_table(pt, pdx, frame != TMM_ZERO_FRAME);
		if (err)
			return err;
		ptep = tmm_pt_entry(pt, va);
		if (WARN_ON_ONCE(!ptep))
			return -ENOMEM;
	} else if (*ptep & TMM_PTE_HOLDS_FRAME) {
		if (!(flags & TMM_PT_REPLACE))
			return -EEXIST;
		if (TMM_PTE_FRAME(*ptep) != TMM_ZERO_FRAME)
			pt->nr_pages--;
		tmm_pt_frame_free(pt, TMM_PTE_FRAME(*ptep));
		pt->counts[pdx]--;
	}

	WRITE_ONCE(*ptep, (frame << PAGE_SHIFT) | pte_flags);
	pt->counts[pdx]++;
	if (frame != TMM_ZERO_FRAME)
		pt->nr_pages++;
	return 0;
}

/**
 * tmm_pt_unmap() - remove the mapping of one page
 * @pt: the page table
 * @va: page-aligned virtual address
 * @frame: out: the frame that was mapped; the caller owns it now
 *
 * Context: @pt->lock held for write.
 * Return: 0, or -ENOENT when @va holds no frame.
 */
int tmm_pt_unmap(struct tmm_pagetable *pt, u32 va, u32 *frame)
{
	u32 *ptep;

	lockdep_assert_held_write(pt->lock);

	ptep = tmm_pt_entry(pt, va);
	if (!ptep || !(*ptep & TMM_PTE_HOLDS_FRAME))
		return -ENOENT;
	*frame = tmm_pt_clear(pt, va, ptep);
	return 0;
}

static int tmm_pt_unmap_one(u32 va, u32 *ptep, void *data)
{
	struct tmm_pagetable *pt = data;

	tmm_pt_frame_free(pt, tmm_pt_clear(pt, va, ptep));
	return 0;
}

/**
 * tmm_pt_unmap_range() - unmap and free every frame in a range
 * @pt: the page table
 * @start: page-aligned start
 * @end: page-aligned end (exclusive), at most 4 GiB
 *
 * Context: @pt->lock held for write; sleeps.
 */
void tmm_pt_unmap_range(struct tmm_pagetable *pt, u32 start, u64 end)
{
	lockdep_assert_held_write(pt->lock);
	tmm_pt_walk(pt, start, end, tmm_pt_unmap_one, pt);
}

/*
 * New protection bits for one entry; a copy-on-write entry stays read-only
 * whatever the protection, until a write gives it a frame of its own.
 */
static int tmm_pt_protect_one(u32 va, u32 *ptep, void *data)
{
	u32 pte_flags = *(u32 *)data;
	u32 pte = (*ptep & ~TMM_PTE_PROT_MASK) | pte_flags;

	if (pte & TORUSMM_PTE_COW)
		pte &= ~TORUSMM_PTE_WRITABLE;
	WRITE_ONCE(*ptep, pte);
	return 0;
}

/**
 * tmm_pt_protect() - change the protection of one mapped page
 * @pt: the page table
 * @va: page-aligned virtual address
 * @pte_flags: new bits of TMM_PTE_PROT_MASK; accessed, dirty and the frame
 *	       are kept
 *
 * Context: @pt->lock held for write.
 * Return: 0, -EINVAL for unknown bits, or -ENOENT when @va holds no frame.
 */
int tmm_pt_protect(struct tmm_pagetable *pt, u32 va, u32 pte_flags)
{
	u32 *ptep;

	lockdep_assert_held_write(pt->lock);

	if (pte_flags & ~TMM_PTE_PROT_MASK)
		return -EINVAL;
	ptep = tmm_pt_entry(pt, va);
	if (!ptep || !(*ptep & TMM_PTE_HOLDS_FRAME))
		return -ENOENT;
	tmm_pt_protect_one(va, ptep, &pte_flags);
	return 0;
}

/**
 * tmm_pt_protect_range() - change the protection of every mapped page in a range
 * @pt: the page table
 * @start: page-aligned start
 * @end: page-aligned end (exclusive), at most 4 GiB
 * @pte_flags: new bits of TMM_PTE_PROT_MASK
 *
 * Context: @pt->lock held for write; sleeps.
 */
void tmm_pt_protect_range(struct tmm_pagetable *pt, u32 start, u64 end,
			  u32 pte_flags)
{
	lockdep_assert_held_write(pt->lock);
	tmm_pt_walk(pt, start, end, tmm_pt_protect_one, &pte_flags);
}

/**
 * tmm_pt_access() - walk the tables for one access, as the MMU does
 * @pt: the page table
 * @va: virtual address
 * @access: TORUSMM_ACCESS_* bits, plus TMM_ACCESS_PEEK for a pure look-up
 * @tpa: out: the torus physical address, on success
 * @fault: out: the fault code, on failure
 * @pte_out: out: the leaf entry this walk saw, with the bits it set; 0 when
 *	 there is no table
 *
 * Both levels must be present; write needs the writable bit at both levels,
 * a user access the user bit at both, a fetch no NX bit at either.  A
 * supervisor write honours the writable bit, as x86 does with CR0.WP set.
 * On success the accessed bit is set in both entries and the dirty bit in the
 * leaf for a write, unless @access has TMM_ACCESS_PEEK.  Never allocates.
 *
 * Context: @pt->lock held for read or write.
 * Return: 0, or -EFAULT with @fault set to the x86 page-fault error code:
 * the access bits, plus TORUSMM_FAULT_PROTECTION when the page was present.
 */
int tmm_pt_access(struct tmm_pagetable *pt, u32 va, u32 access, u64 *tpa,
		  u32 *fault, u32 *pte_out)
{
	u32 code = access & (TORUSMM_ACCESS_WRITE | TORUSMM_ACCESS_USER |
			     TORUSMM_ACCESS_EXEC);
	u32 *pdep = &pt->dir[TMM_PDX(va)];
	u32 pde, pte = 0, *ptep, *table;

	lockdep_assert_held(pt->lock);

	pde = READ_ONCE(*pdep);
	if (!(pde & TORUSMM_PTE_PRESENT))
		goto fault;
	table = tmm_pt_table(pt, pde);
	if (!table)
		goto fault;
	ptep = &table[TMM_PTX(va)];
	pte = READ_ONCE(*ptep);
	if (!(pte & TORUSMM_PTE_PRESENT))
		goto fault;

	code |= TORUSMM_FAULT_PROTECTION;
	if ((access & TORUSMM_ACCESS_USER) && !(pde & pte & TORUSMM_PTE_USER))
		goto fault;
	if ((access & TORUSMM_ACCESS_WRITE) &&
	    !(pde & pte & TORUSMM_PTE_WRITABLE))
		goto fault;
	if ((access & TORUSMM_ACCESS_EXEC) && ((pde | pte) & TORUSMM_PTE_NX))
		goto fault;

	if (!(access & TMM_ACCESS_PEEK)) {
		u32 bits = TORUSMM_PTE_ACCESSED |
			   ((access & TORUSMM_ACCESS_WRITE) ? TORUSMM_PTE_DIRTY : 0);

		/* The common case, bits already set, costs no atomic. */
		if (!(pde & TORUSMM_PTE_ACCESSED))
			tmm_pte_set_bits(pdep, TORUSMM_PTE_ACCESSED);
		if ((pte & bits) != bits)
			pte = tmm_pte_set_bits(ptep, bits);
	}
	*tpa = tmm_frame_to_tpa(TMM_PTE_FRAME(pte)) | (va & ~PAGE_MASK);
	if (pte_out)
		*pte_out = pte;
	return 0;

fault:
	*fault = code;
	if (pte_out)
		*pte_out = pte;
	return -EFAULT;
}

/**
 * tmm_pt_translate() - tmm_pt_access() without the leaf entry
 * @pt: the page table
 * @va: virtual address
 * @access: as tmm_pt_access()
 * @tpa: out: the torus physical address, on success
 * @fault: out: the fault code, on failure
 *
 * Context: @pt->lock held for read or write.
 * Return: as tmm_pt_access().
 */
int tmm_pt_translate(struct tmm_pagetable *pt, u32 va, u32 access,
		     u64 *tpa, u32 *fault)
{
	return tmm_pt_access(pt, va, access, tpa, fault, NULL);
}

/**
 * tmm_pt_lookup() - the leaf entry for an address, without side effects
 * @pt: the page table
 * @va: virtual address
 *
 * Context: @pt->lock held for read or write.
 * Return: the entry, or 0 when there is no table for @va.
 */
u32 tmm_pt_lookup(struct tmm_pagetable *pt, u32 va)
{
	u32 *ptep;

	lockdep_assert_held(pt->lock);
	ptep = tmm_pt_entry(pt, va);
	return ptep ? READ_ONCE(*ptep) : 0;
}

/**
 * tmm_pt_walk() - call a function for every entry that holds a frame
 * @pt: the page table
 * @start: page-aligned start
 * @end: end (exclusive), at most 4 GiB
 * @fn: called with the address and the entry, in ascending order; it may
 *	change the entry's flags, or clear it through tmm_pt_clear() (the walk
 *	then stops using a table that went with its last entry)
 * @data: passed to @fn
 *
 * Context: @pt->lock held for read (write if @fn changes entries); sleeps.
 * Return: 0, or the first non-zero value @fn returned.
 */
int tmm_pt_walk(struct tmm_pagetable *pt, u32 start, u64 end,
		tmm_pt_walk_fn fn, void *data)
{
	u64 va = start;
	int ret;

	lockdep_assert_held(pt->lock);

	while (va < end) {
		u64 stop = min(tmm_pt_next_table(va), end);
		u32 *ptep = tmm_pt_entry(pt, va);

		if (!ptep) {
			va = stop;
			continue;
		}
		for (; va < stop; va += PAGE_SIZE, ptep++) {
			if (!(READ_ONCE(*ptep) & TMM_PTE_HOLDS_FRAME))
				continue;
			ret = fn(va, ptep, data);
			if (ret)
				return ret;
			if (!(READ_ONCE(pt->dir[TMM_PDX(va)]) &
			      TORUSMM_PTE_PRESENT)) {
				va = stop;
				break;
			}
		}
		cond_resched();
	}
	return 0;
}

/**
 * tmm_pt_tables_needed() - how many tables a range lacks
 * @pt: the page table
 * @start: start address
 * @end: end (exclusive), at most 4 GiB
 *
 * Context: @pt->lock held for read or write.
 * Return: the number of directory slots in the range without a table.
 */
u32 tmm_pt_tables_needed(struct tmm_pagetable *pt, u32 start, u64 end)
{
	u32 needed = 0;
	u64 va;

	lockdep_assert_held(pt->lock);
	for (va = start; va < end; va = tmm_pt_next_table(va))
		if (!(pt->dir[TMM_PDX(va)] & TORUSMM_PTE_PRESENT))
			needed++;
	return needed;
}

static int tmm_pt_count_one(u32 va, u32 *ptep, void *data)
{
	if (TMM_PTE_FRAME(READ_ONCE(*ptep)) != TMM_ZERO_FRAME)
		(*(u32 *)data)++;
	return 0;
}

/**
 * tmm_pt_frames_in() - how many data frames a range holds (not the zero frame)
 * @pt: the page table
 * @start: page-aligned start
 * @end: end (exclusive), at most 4 GiB
 *
 * Context: @pt->lock held for read or write; sleeps.
 * Return: the number of entries in the range that hold a frame.
 */
u32 tmm_pt_frames_in(struct tmm_pagetable *pt, u32 start, u64 end)
{
	u32 nr = 0;

	tmm_pt_walk(pt, start, end, tmm_pt_count_one, &nr);
	return nr;
}

/**
 * tmm_pt_prealloc() - make sure every table of a range exists
 * @pt: the page table
 * @start: start address
 * @end: end (exclusive), at most 4 GiB
 *
 * After success, tmm_pt_map() in the range cannot fail for want of a table
 * until @pt->lock is released.  Tables it added stay empty until then;
 * tmm_pt_trim() frees those that stay empty.
 *
 * Context: @pt->lock held for write; sleeps.
 * Return: 0, or -ENOMEM with the tables it had added freed again.
 */
int tmm_pt_prealloc(struct tmm_pagetable *pt, u32 start, u64 end)
{
	u64 va;
	int err;

	lockdep_assert_held_write(pt->lock);
	for (va = start; va < end; va = tmm_pt_next_table(va)) {
		if (pt->dir[TMM_PDX(va)] & TORUSMM_PTE_PRESENT)
			continue;
		err = tmm_pt_add_table(pt, TMM_PDX(va), 0);
		if (err) {
			tmm_pt_trim(pt, start, end);
			return err;
		}
	}
	return 0;
}

/**
 * tmm_pt_trim() - free the empty tables of a range
 * @pt: the page table
 * @start: start address
 * @end: end (exclusive), at most 4 GiB
 *
 * Context: @pt->lock held for write.
 */
void tmm_pt_trim(struct tmm_pagetable *pt, u32 start, u64 end)
{
	u64 va;

	lockdep_assert_held_write(pt->lock);
	for (va = start; va < end; va = tmm_pt_next_table(va)) {
		u32 pdx = TMM_PDX(va);

		if ((pt->dir[pdx] & TORUSMM_PTE_PRESENT) && !pt->counts[pdx])
			tmm_pt_drop_table(pt, pdx);
	}
}

/* What tmm_pt_share_one() works with. */
struct tmm_pt_share {
	struct tmm_pagetable *dst;
	u32 credit;	/* frames charged to dst's user ahead, not yet used */
};

/*
 * Share one page of the source with the clone: the clone's entry maps the
 * same frame, read-only and copy-on-write, and takes a reference (and a
 * charge: a shared frame counts in every space that maps it, as Linux's RSS
 * counts shared pages; it comes from the credit charged ahead when there is
 * one).  The clone's entry starts old (accessed clear), as after fork();
 * dirty is kept.  The source is not touched here.
 */
static int tmm_pt_share_one(u32 va, u32 *ptep, void *data)
{
	struct tmm_pt_share *share = data;
	struct tmm_pagetable *dst = share->dst;
	u32 pte = READ_ONCE(*ptep);
	u32 frame = TMM_PTE_FRAME(pte);
	bool zero = frame == TMM_ZERO_FRAME;
	u32 *dst_ptep;
	int err;

	if (fatal_signal_pending(current))
		return -EINTR;
	if (!zero) {
		if (!tmm_pt_quota_allows(dst, 1))
			return -ENOMEM;
		if (share->credit)
			share->credit--;
		else if (!tmm_pt_charge(dst, 1, 0))
			return -ENOMEM;
		err = tmm_frame_get(dst->torus, frame);
		if (err) {
			tmm_pt_uncharge(dst, 1);
			return err;
		}
	}
	err = tmm_pt_map(dst, va, frame,
			 (pte & TMM_PTE_PROT_MASK & ~TORUSMM_PTE_WRITABLE) |
			 TORUSMM_PTE_COW, 0);
	if (err) {
		tmm_pt_frame_free(dst, frame);	/* the reference, the charge */
		return err;
	}
	dst_ptep = tmm_pt_entry(dst, va);
	if (WARN_ON_ONCE(!dst_ptep))
		return -ENOMEM;	/* mapped: tmm_pt_destroy() puts it */
	*dst_ptep |= pte & TORUSMM_PTE_DIRTY;
	return 0;
}

/* Mark a source entry copy-on-write once its frame is shared. */
static int tmm_pt_share_source_one(u32 va, u32 *ptep, void *data)
{
	WRITE_ONCE(*ptep, (READ_ONCE(*ptep) | TORUSMM_PTE_COW) &
			  ~TORUSMM_PTE_WRITABLE);
	return 0;
}

/**
 * tmm_pt_clone() - share every mapped page of a page table with another
 * @dst: an empty page table on the same torus
 * @src: the page table to copy
 *
 * Each page of @dst maps the frame of @src's, copy-on-write: both entries
 * lose writable and gain TORUSMM_PTE_COW, and the first write to either
 * gives it a frame of its own (tmm_pt_unshare()).  @dst's entries keep the
 * protection and dirty bit; accessed starts clear, as after fork().  @src
 * is marked only once nothing can fail any more, so a failed clone leaves it
 * as it was.  A fatal signal stops the clone.  The caller must have removed
 * every writable translation derived from @src (the shadow's) first.
 *
 * Context: @src->lock held for write, @dst->lock for write; sleeps.
 * Return: 0, -ENOMEM, or -EINTR; on error the caller destroys @dst, which
 * holds what was shared so far.
 */
int tmm_pt_clone(struct tmm_pagetable *dst, struct tmm_pagetable *src)
{
	struct tmm_pt_share share = { .dst = dst };
	int err;

	lockdep_assert_held_write(src->lock);
	lockdep_assert_held_write(dst->lock);
	/*
	 * Charge the shared frames in one go when the user's ceiling allows
	 * them all; near the ceiling, page by page, so that the clone fails
	 * exactly where it would.  What is left of the credit goes back.
	 */
	if (src->nr_pages && tmm_pt_charge(dst, src->nr_pages, 0))
		share.credit = src->nr_pages;
	err = tmm_pt_walk(src, 0, 1ull << 32, tmm_pt_share_one, &share);
	if (share.credit)
		tmm_pt_uncharge(dst, share.credit);
	if (err)
		return err;
	return tmm_pt_walk(src, 0, 1ull << 32, tmm_pt_share_source_one, NULL);
}

/**
 * tmm_pt_unshare() - give a copy-on-write entry a frame of its own
 * @pt: the page table
 * @va: page-aligned address of an entry that holds a frame
 * @pte_flags: the protection bits (TMM_PTE_PROT_MASK) the entry gets
 * @spare: in/out: a zeroed frame from tmm_frame_alloc(), not charged, or 0;
 *	   used and cleared when a frame is needed
 *
 * When the frame is the zero frame, the entry gets a fresh zeroed frame
 * (within @pt's quota and its user's ceiling); when others still map it, a
 * copy, charged to the user with the reference the entry drops counted as
 * given back (so a copy at the ceiling works, as it does at the quota);
 * when the entry is its last mapping, it keeps it and needs no frame.
 * Accessed and dirty are kept.
 *
 * Context: @pt->lock held for write; sleeps.
 * Return: 0 (also when the entry was not copy-on-write), -ENOENT when @va
 * holds no frame, or -ENOMEM when no frame (or quota) is left.
 */
int tmm_pt_unshare(struct tmm_pagetable *pt, u32 va, u32 pte_flags,
		   u32 *spare)
{
	struct page *from, *to;
	u32 *ptep, pte, frame, copy;
	int err;

	lockdep_assert_held_write(pt->lock);
	ptep = tmm_pt_entry(pt, va);
	if (!ptep || !(*ptep & TMM_PTE_HOLDS_FRAME))
		return -ENOENT;
	pte = *ptep;
	if (!(pte & TORUSMM_PTE_COW))
		return 0;
	frame = TMM_PTE_FRAME(pte);
	pte_flags |= pte & (TORUSMM_PTE_ACCESSED | TORUSMM_PTE_DIRTY);
	if (frame != TMM_ZERO_FRAME && tmm_frame_refs(pt->torus, frame) == 1) {
		WRITE_ONCE(*ptep, (frame << PAGE_SHIFT) | pte_flags);
		return 0;
	}

	if (frame == TMM_ZERO_FRAME && !tmm_pt_quota_allows(pt, 1))
		return -ENOMEM;
	if (!tmm_pt_charge(pt, 1, frame == TMM_ZERO_FRAME ? 0 : 1))
		return -ENOMEM;
	if (*spare) {
		copy = *spare;
		*spare = 0;
	} else {
		err = tmm_frame_alloc(pt->torus, TMM_FRAME_DATA, &copy);
		if (err) {
			tmm_pt_uncharge(pt, 1);
			return err;
		}
	}
	if (frame != TMM_ZERO_FRAME) {
		from = tmm_frame_page(pt->torus, frame);
		to = tmm_frame_page(pt->torus, copy);
		if (WARN_ON_ONCE(!from || !to)) {
			tmm_pt_frame_free(pt, copy);
			return -ENOMEM;
		}
		copy_highpage(to, from);
	}
	WRITE_ONCE(*ptep, (copy << PAGE_SHIFT) | pte_flags);
	if (frame == TMM_ZERO_FRAME)
		pt->nr_pages++;
	else
		tmm_pt_frame_free(pt, frame);	/* our reference only */
	return 0;
}

struct tmm_pt_log {
	unsigned long *bitmap;
	u32 start;
	u32 bit;
	bool clear;
	u32 count;
};

static int tmm_pt_log_one(u32 va, u32 *ptep, void *data)
{
	struct tmm_pt_log *log = data;
	u32 pte = READ_ONCE(*ptep);

	if (!(pte & log->bit))
		return 0;
	if (log->bitmap)
		__set_bit((va - log->start) >> PAGE_SHIFT, log->bitmap);
	log->count++;
	if (log->clear)
		WRITE_ONCE(*ptep, pte & ~log->bit);
	return 0;
}

/**
 * tmm_pt_harvest() - report, and optionally clear, a bit of every entry
 * @pt: the page table
 * @start: page-aligned start
 * @end: end (exclusive), at most 4 GiB
 * @bit: TORUSMM_PTE_ACCESSED or TORUSMM_PTE_DIRTY
 * @bitmap: out: bit (va - @start) / 4 KiB set for each entry with @bit, or
 *	    NULL; the caller zeroes it
 * @clear: clear @bit in the entries reported
 *
 * Context: @pt->lock held for write when @clear, for read otherwise; sleeps.
 * Return: the number of entries reported.
 */
u32 tmm_pt_harvest(struct tmm_pagetable *pt, u32 start, u64 end, u32 bit,
		   unsigned long *bitmap, bool clear)
{
	struct tmm_pt_log log = {
		.bitmap = bitmap, .start = start, .bit = bit, .clear = clear,
	};

	if (clear)
		lockdep_assert_held_write(pt->lock);
	else
		lockdep_assert_held(pt->lock);
	tmm_pt_walk(pt, start, end, tmm_pt_log_one, &log);
	return log.count;
}

static int tmm_pt_clear_bit_one(u32 va, u32 *ptep, void *data)
{
	struct tmm_pt_log *log = data;
	u32 pte = READ_ONCE(*ptep);

	if (test_bit((va - log->start) >> PAGE_SHIFT, log->bitmap) &&
	    (pte & log->bit)) {
		WRITE_ONCE(*ptep, pte & ~log->bit);
		log->count++;
	}
	return 0;
}

/**
 * tmm_pt_clear_bits() - clear a bit in the entries a bitmap selects
 * @pt: the page table
 * @start: page-aligned start
 * @end: end (exclusive), at most 4 GiB
 * @bit: TORUSMM_PTE_ACCESSED or TORUSMM_PTE_DIRTY
 * @bitmap: bit (va - @start) / 4 KiB selects the entry at va
 *
 * Context: @pt->lock held for write; sleeps.
 * Return: the number of entries whose bit was cleared.
 */
u32 tmm_pt_clear_bits(struct tmm_pagetable *pt, u32 start, u64 end, u32 bit,
		      const unsigned long *bitmap)
{
	struct tmm_pt_log log = {
		.bitmap = (unsigned long *)bitmap, .start = start, .bit = bit,
	};

	lockdep_assert_held_write(pt->lock);
	tmm_pt_walk(pt, start, end, tmm_pt_clear_bit_one, &log);
	return log.count;
}
