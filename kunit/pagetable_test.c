// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the two-level page tables (pagetable.c).
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * Every test builds a page table on a torus of its own and drives the
 * tmm_pt_*() calls directly, under the rwsem the table was initialised with
 * (held for write to change, for read to translate, as lockdep insists).
 * Entries are checked through tmm_pt_lookup(), the directory array and the
 * torus counters; frames are read and written through tmm_frame_page().  The
 * translate cases form a table of directory and leaf flags, access and the
 * x86 page-fault error code expected.  Map, clone and init are failed at
 * every allocation in turn through the fault points, and each failure must
 * leave the table and the torus exactly as they were.
 */

#include <kunit/test.h>
#include <linux/highmem.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "fault_inject.h"
#include "frame_alloc.h"
#include "pagetable.h"
#include "torusmm_test.h"

#define PT_TORUS_FRAMES		64u
/* The table of PT_VA covers [0x00400000, 0x00800000). */
#define PT_VA			0x00400000u
#define PT_SLOT			0x00400000u
/* Upper bound on the frame-holding entries a snapshot records. */
#define PT_SNAP_ENTRIES		64u
/* End of the 32-bit address space, for walks over all of it. */
#define PT_WALK_END		BIT_ULL(32)
/* Upper bound on the nth allocation tried by the fault loops. */
#define PT_FAULT_MAX_NTH	256u

/* Short names for the entry bits, to keep the tables below readable. */
#define PT_P	TORUSMM_PTE_PRESENT
#define PT_W	TORUSMM_PTE_WRITABLE
#define PT_U	TORUSMM_PTE_USER
#define PT_A	TORUSMM_PTE_ACCESSED
#define PT_D	TORUSMM_PTE_DIRTY
#define PT_NX	TORUSMM_PTE_NX
#define PT_PN	TORUSMM_PTE_PROTNONE

/*
 * A page table, the lock it was initialised with, and its torus; @op_table
 * and @op_frame are what the operations of the fault loops work on.
 */
struct pt_fixture {
	struct tmm_torus *torus;
	struct rw_semaphore lock;
	struct tmm_pagetable pt;
	struct tmm_pagetable op_table;
	u32 op_frame;
};

/* Destroys a page table registered by pt_register(), under its lock. */
static void pt_release(struct kunit_resource *res)
{
	struct tmm_pagetable *pt = res->data;
	struct rw_semaphore *lock = pt->lock;

	/* Destroy may clear *pt, so hold on to the lock pointer. */
	down_write(lock);
	tmm_pt_destroy(pt);
	up_write(lock);
}

/* Matches the resource that owns @match_data. */
static bool pt_resource_is(struct kunit *test, struct kunit_resource *res,
			   void *match_data)
{
	return res->data == match_data;
}

/* Initialises @pt on @torus under @lock; it is destroyed with the test. */
static void pt_register(struct kunit *test, struct tmm_pagetable *pt,
			struct tmm_torus *torus, struct rw_semaphore *lock,
			u32 max_frames)
{
	int ret;

	down_write(lock);
	ret = tmm_pt_init(pt, torus, lock, max_frames, NULL, NULL);
	up_write(lock);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "tmm_pt_init() failed");
	if (!kunit_alloc_resource(test, NULL, pt_release, GFP_KERNEL, pt)) {
		down_write(lock);
		tmm_pt_destroy(pt);
		up_write(lock);
		KUNIT_ASSERT_FAILURE(test, "cannot register the page table");
	}
}

/* Destroys a page table before the test ends. */
static void pt_unregister(struct kunit *test, struct tmm_pagetable *pt)
{
	KUNIT_ASSERT_EQ(test, kunit_destroy_resource(test, pt_resource_is, pt),
			0);
}

/* A page table with a @max_frames quota on a torus of @nr_frames frames. */
static struct pt_fixture *pt_fixture_create(struct kunit *test, u32 nr_frames,
					    u32 max_frames)
{
	struct pt_fixture *fx;

	fx = kunit_kzalloc(test, sizeof(*fx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fx);
	fx->torus = tmm_test_torus_create(test, nr_frames);
	init_rwsem(&fx->lock);
	pt_register(test, &fx->pt, fx->torus, &fx->lock, max_frames);
	return fx;
}

/* tmm_pt_map() under the write lock. */
static int pt_map(struct pt_fixture *fx, u32 va, u32 frame, u32 pte_flags,
		  unsigned int flags)
{
	int ret;

	down_write(&fx->lock);
	ret = tmm_pt_map(&fx->pt, va, frame, pte_flags, flags);
	up_write(&fx->lock);
	return ret;
}

/* tmm_pt_unmap() under the write lock. */
static int pt_unmap(struct pt_fixture *fx, u32 va, u32 *frame)
{
	int ret;

	down_write(&fx->lock);
	ret = tmm_pt_unmap(&fx->pt, va, frame);
	up_write(&fx->lock);
	return ret;
}

/* tmm_pt_protect() under the write lock. */
static int pt_protect(struct pt_fixture *fx, u32 va, u32 pte_flags)
{
	int ret;

	down_write(&fx->lock);
	ret = tmm_pt_protect(&fx->pt, va, pte_flags);
	up_write(&fx->lock);
	return ret;
}

/* tmm_pt_translate() under the read lock, as concurrent walkers take it. */
static int pt_translate(struct pt_fixture *fx, u32 va, u32 access, u64 *tpa,
			u32 *fault)
{
	int ret;

	down_read(&fx->lock);
	ret = tmm_pt_translate(&fx->pt, va, access, tpa, fault);
	up_read(&fx->lock);
	return ret;
}

/* tmm_pt_lookup() under the read lock. */
static u32 pt_lookup(struct pt_fixture *fx, u32 va)
{
	u32 pte;

	down_read(&fx->lock);
	pte = tmm_pt_lookup(&fx->pt, va);
	up_read(&fx->lock);
	return pte;
}

/* The directory entry covering @va. */
static u32 pt_pde(struct pt_fixture *fx, u32 va)
{
	u32 pde;

	down_read(&fx->lock);
	pde = READ_ONCE(fx->pt.dir[TMM_PDX(va)]);
	up_read(&fx->lock);
	return pde;
}

/*
 * Rewrites the flags of the directory entry covering @va.  The core only
 * writes permissive directory entries; tests write restrictive ones by hand
 * to check that the walker combines the two levels as x86 does.
 */
static void pt_pde_change(struct pt_fixture *fx, u32 va, u32 clear, u32 set)
{
	u32 *pdep = &fx->pt.dir[TMM_PDX(va)];

	down_write(&fx->lock);
	WRITE_ONCE(*pdep, (READ_ONCE(*pdep) & ~clear) | set);
	up_write(&fx->lock);
}

/* Free frames of @torus now. */
static u32 pt_nr_free(struct tmm_torus *torus)
{
	struct tmm_torus_stats stats;

	tmm_torus_get_stats(torus, &stats);
	return stats.nr_free;
}

/* Allocates a data frame and maps it at @va; the test fails otherwise. */
static u32 pt_map_new(struct kunit *test, struct pt_fixture *fx, u32 va,
		      u32 pte_flags)
{
	u32 frame;
	int ret;

	KUNIT_ASSERT_EQ(test, tmm_frame_alloc(fx->torus, TMM_FRAME_DATA, &frame),
			0);
	ret = pt_map(fx, va, frame, pte_flags, 0);
	if (ret)
		tmm_frame_free(fx->torus, frame);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "tmm_pt_map(%#x)", va);
	return frame;
}

/* Fills the page behind @frame with @value. */
static void pt_frame_fill(struct tmm_torus *torus, u32 frame, u8 value)
{
	void *addr = kmap_local_page(tmm_frame_page(torus, frame));

	memset(addr, value, PAGE_SIZE);
	kunmap_local(addr);
}

/* The byte at @offset of the page behind @frame. */
static u8 pt_frame_byte(struct tmm_torus *torus, u32 frame, u32 offset)
{
	u8 *addr = kmap_local_page(tmm_frame_page(torus, frame));
	u8 value = addr[offset];

	kunmap_local(addr);
	return value;
}

/* Arms @site, or skips the test when the kernel has no fault injection. */
static void pt_fault_arm(struct kunit *test, enum tmm_fault_site site,
			 unsigned int nth)
{
	int ret = tmm_fault_arm(site, nth);

	if (ret == -EOPNOTSUPP)
		kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "tmm_fault_arm(%d, %u)", site, nth);
}

/* Everything observable about a page table and its torus. */
struct pt_snapshot {
	u32 nr_tables;
	u32 nr_pages;
	u32 nr_free;
	u32 nr_table_frames;
	u32 nr_entries;
	u32 va[PT_SNAP_ENTRIES];
	u32 pte[PT_SNAP_ENTRIES];
	u32 dir[TMM_PT_ENTRIES];
};

/* Records one frame-holding entry into a struct pt_snapshot. */
static int pt_snapshot_entry(u32 va, u32 *ptep, void *data)
{
	struct pt_snapshot *snap = data;

	if (snap->nr_entries == PT_SNAP_ENTRIES)
		return -E2BIG;
	snap->va[snap->nr_entries] = va;
	snap->pte[snap->nr_entries] = READ_ONCE(*ptep);
	snap->nr_entries++;
	return 0;
}

/* Takes a snapshot of @pt, its directory, every entry and its torus. */
static void pt_snapshot_take(struct kunit *test, struct tmm_pagetable *pt,
			     struct pt_snapshot *snap)
{
	struct tmm_torus_stats stats;
	int ret;

	memset(snap, 0, sizeof(*snap));
	down_read(pt->lock);
	snap->nr_tables = pt->nr_tables;
	snap->nr_pages = pt->nr_pages;
	memcpy(snap->dir, pt->dir, sizeof(snap->dir));
	ret = tmm_pt_walk(pt, 0, PT_WALK_END, pt_snapshot_entry, snap);
	up_read(pt->lock);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "page table walk failed");
	tmm_torus_get_stats(pt->torus, &stats);
	snap->nr_free = stats.nr_free;
	snap->nr_table_frames = stats.nr_table_frames;
}

/* Expects two snapshots to be identical, naming the first difference. */
static void pt_snapshot_expect_equal(struct kunit *test,
				     const struct pt_snapshot *before,
				     const struct pt_snapshot *after,
				     const char *what)
{
	u32 i;

	KUNIT_EXPECT_EQ_MSG(test, after->nr_tables, before->nr_tables, "%s",
			    what);
	KUNIT_EXPECT_EQ_MSG(test, after->nr_pages, before->nr_pages, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, after->nr_free, before->nr_free, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, after->nr_table_frames,
			    before->nr_table_frames, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, after->nr_entries, before->nr_entries, "%s",
			    what);
	for (i = 0; i < min(before->nr_entries, after->nr_entries); i++) {
		KUNIT_EXPECT_EQ_MSG(test, after->va[i], before->va[i], "%s", what);
		KUNIT_EXPECT_EQ_MSG(test, after->pte[i], before->pte[i],
				    "%s: entry for %#x", what, before->va[i]);
	}
	for (i = 0; i < TMM_PT_ENTRIES; i++)
		KUNIT_EXPECT_EQ_MSG(test, after->dir[i], before->dir[i],
				    "%s: directory entry %u", what, i);
}

static void pt_init_takes_one_directory_frame(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	struct tmm_torus_stats stats;
	u32 i;

	tmm_torus_get_stats(fx->torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_used, 1u);
	KUNIT_EXPECT_EQ(test, stats.nr_table_frames, 1u);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_tables, 1u);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_pages, 0u);
	KUNIT_EXPECT_EQ(test, tmm_pt_frames_used(&fx->pt), 1u);
	KUNIT_EXPECT_GE(test, fx->pt.dir_frame, TMM_FRAME_FIRST);
	KUNIT_EXPECT_LT(test, fx->pt.dir_frame,
			TMM_FRAME_FIRST + PT_TORUS_FRAMES);
	for (i = 0; i < TMM_PT_ENTRIES; i++)
		KUNIT_EXPECT_EQ(test, pt_pde(fx, i << 22), 0u);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA), 0u);
}

/* The original design's page-table map/unmap test. */
static void pt_map_unmap_roundtrip(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 free_before = pt_nr_free(fx->torus);
	u32 frame, back = 0, fault = 0;
	u64 tpa = 0;

	frame = pt_map_new(test, fx, PT_VA, PT_P | PT_W | PT_U);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA),
			(frame << PAGE_SHIFT) | PT_P | PT_W | PT_U);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_pages, 1u);
	KUNIT_EXPECT_EQ(test, pt_translate(fx, PT_VA + 0x123, TORUSMM_ACCESS_USER,
					   &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, tpa, tmm_frame_to_tpa(frame) + 0x123);

	KUNIT_EXPECT_EQ(test, pt_unmap(fx, PT_VA, &back), 0);
	KUNIT_EXPECT_EQ(test, back, frame);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA), 0u);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_pages, 0u);
	KUNIT_EXPECT_EQ(test, pt_translate(fx, PT_VA, TORUSMM_ACCESS_USER, &tpa,
					   &fault), -EFAULT);
	KUNIT_EXPECT_EQ(test, fault, TORUSMM_FAULT_USER);

	/* Unmap hands the frame back to the caller, it does not free it. */
	KUNIT_EXPECT_EQ(test, pt_nr_free(fx->torus), free_before - 1);
	KUNIT_EXPECT_EQ(test, tmm_frame_free(fx->torus, frame), 0);
	KUNIT_EXPECT_EQ(test, pt_nr_free(fx->torus), free_before);
}

static void pt_map_allocates_one_table_per_slot(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 free_before = pt_nr_free(fx->torus);

	pt_map_new(test, fx, PT_VA, PT_P | PT_U);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_tables, 2u);
	KUNIT_EXPECT_NE(test, pt_pde(fx, PT_VA) & PT_P, 0u);
	pt_map_new(test, fx, PT_VA + PT_SLOT - PAGE_SIZE, PT_P | PT_U);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_tables, 2u);
	pt_map_new(test, fx, PT_VA + PT_SLOT, PT_P | PT_U);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_tables, 3u);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_pages, 3u);
	KUNIT_EXPECT_EQ(test, tmm_pt_frames_used(&fx->pt), 6u);
	KUNIT_EXPECT_EQ(test, pt_nr_free(fx->torus), free_before - 5);
}

static void pt_unmap_last_entry_frees_table(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 free_before = pt_nr_free(fx->torus);
	u32 first, second, back;

	first = pt_map_new(test, fx, PT_VA, PT_P | PT_U);
	second = pt_map_new(test, fx, PT_VA + PAGE_SIZE, PT_P | PT_U);
	KUNIT_ASSERT_EQ(test, pt_unmap(fx, PT_VA, &back), 0);
	KUNIT_ASSERT_EQ(test, tmm_frame_free(fx->torus, back), 0);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_tables, 2u);
	KUNIT_EXPECT_NE(test, pt_pde(fx, PT_VA) & PT_P, 0u);

	KUNIT_ASSERT_EQ(test, pt_unmap(fx, PT_VA + PAGE_SIZE, &back), 0);
	KUNIT_EXPECT_EQ(test, back, second);
	KUNIT_ASSERT_EQ(test, tmm_frame_free(fx->torus, back), 0);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_tables, 1u);
	KUNIT_EXPECT_EQ(test, pt_pde(fx, PT_VA), 0u);
	KUNIT_EXPECT_EQ(test, pt_nr_free(fx->torus), free_before);
	KUNIT_EXPECT_NE(test, first, second);
}

static void pt_map_over_frame_returns_eexist(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 first, second, pte;

	first = pt_map_new(test, fx, PT_VA, PT_P | PT_W | PT_U);
	pte = pt_lookup(fx, PT_VA);
	KUNIT_ASSERT_EQ(test, tmm_frame_alloc(fx->torus, TMM_FRAME_DATA, &second),
			0);
	KUNIT_EXPECT_EQ(test, pt_map(fx, PT_VA, second, PT_P | PT_U, 0), -EEXIST);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA), pte);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_pages, 1u);
	/* The refused frame is still the caller's to free. */
	KUNIT_EXPECT_EQ(test, tmm_frame_free(fx->torus, second), 0);
	KUNIT_EXPECT_EQ(test, TMM_PTE_FRAME(pte), first);
}

/* A PROT_NONE entry holds a frame although it is not present. */
static void pt_map_over_protnone_entry_returns_eexist(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 second;

	pt_map_new(test, fx, PT_VA, PT_PN | PT_U | PT_NX);
	KUNIT_ASSERT_EQ(test, tmm_frame_alloc(fx->torus, TMM_FRAME_DATA, &second),
			0);
	KUNIT_EXPECT_EQ(test, pt_map(fx, PT_VA, second, PT_P | PT_U, 0), -EEXIST);
	KUNIT_EXPECT_EQ(test, tmm_frame_free(fx->torus, second), 0);
}

static void pt_map_replace_frees_old_frame(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 first, second, free_before;

	first = pt_map_new(test, fx, PT_VA, PT_P | PT_W | PT_U);
	KUNIT_ASSERT_EQ(test, tmm_frame_alloc(fx->torus, TMM_FRAME_DATA, &second),
			0);
	free_before = pt_nr_free(fx->torus);
	KUNIT_EXPECT_EQ(test, pt_map(fx, PT_VA, second, PT_P | PT_U,
				     TMM_PT_REPLACE), 0);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA),
			(second << PAGE_SHIFT) | PT_P | PT_U);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_pages, 1u);
	KUNIT_EXPECT_EQ(test, pt_nr_free(fx->torus), free_before + 1);
	/* The old frame went back to the torus: freeing it again is refused. */
	KUNIT_EXPECT_EQ(test, tmm_frame_free(fx->torus, first), -EINVAL);
}

static void pt_unmap_absent_entry_returns_enoent(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 frame = 0x12345;

	KUNIT_EXPECT_EQ(test, pt_unmap(fx, PT_VA, &frame), -ENOENT);
	pt_map_new(test, fx, PT_VA, PT_P | PT_U);
	KUNIT_EXPECT_EQ(test, pt_unmap(fx, PT_VA + PAGE_SIZE, &frame), -ENOENT);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_tables, 2u);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_pages, 1u);
}

static void pt_protect_keeps_frame_and_accessed_dirty(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 frame, fault;
	u64 tpa;

	frame = pt_map_new(test, fx, PT_VA, PT_P | PT_W | PT_U);
	KUNIT_ASSERT_EQ(test, pt_translate(fx, PT_VA, TORUSMM_ACCESS_WRITE,
					   &tpa, &fault), 0);

	KUNIT_EXPECT_EQ(test, pt_protect(fx, PT_VA, PT_P | PT_U | PT_NX), 0);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA), (frame << PAGE_SHIFT) |
			PT_P | PT_U | PT_NX | PT_A | PT_D);

	KUNIT_EXPECT_EQ(test, pt_protect(fx, PT_VA, PT_PN), 0);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA),
			(frame << PAGE_SHIFT) | PT_PN | PT_A | PT_D);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_pages, 1u);

	KUNIT_EXPECT_EQ(test, pt_protect(fx, PT_VA, PT_P | PT_W | PT_U), 0);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA), (frame << PAGE_SHIFT) |
			PT_P | PT_W | PT_U | PT_A | PT_D);
}

static void pt_protect_absent_entry_returns_enoent(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);

	KUNIT_EXPECT_EQ(test, pt_protect(fx, PT_VA, PT_P | PT_U), -ENOENT);
	pt_map_new(test, fx, PT_VA, PT_P | PT_U);
	KUNIT_EXPECT_EQ(test, pt_protect(fx, PT_VA + PAGE_SIZE, PT_P | PT_U),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA + PAGE_SIZE), 0u);
}

enum pt_leaf {
	PT_LEAF_NO_TABLE,	/* nothing mapped in the slot */
	PT_LEAF_EMPTY,		/* a neighbour is mapped, the entry is not */
	PT_LEAF_MAPPED,		/* the entry maps a frame with @pte */
};

struct pt_fault_case {
	const char *desc;
	enum pt_leaf leaf;
	u32 pte;
	u32 pde_clear;
	u32 pde_set;
	u32 access;
	u32 fault;	/* 0 with a successful translation */
	bool ok;
};

#define PT_ACC_W	TORUSMM_ACCESS_WRITE
#define PT_ACC_U	TORUSMM_ACCESS_USER
#define PT_ACC_X	TORUSMM_ACCESS_EXEC
#define PT_F_P		TORUSMM_FAULT_PROTECTION
#define PT_F_W		TORUSMM_FAULT_WRITE
#define PT_F_U		TORUSMM_FAULT_USER
#define PT_F_X		TORUSMM_FAULT_FETCH

static const struct pt_fault_case pt_fault_cases[] = {
	/* Not present: the code is the access alone. */
	{ "no table, supervisor read", PT_LEAF_NO_TABLE, 0, 0, 0, 0, 0 },
	{ "no table, user write", PT_LEAF_NO_TABLE, 0, 0, 0,
	  PT_ACC_W | PT_ACC_U, PT_F_W | PT_F_U },
	{ "no table, user fetch", PT_LEAF_NO_TABLE, 0, 0, 0,
	  PT_ACC_X | PT_ACC_U, PT_F_X | PT_F_U },
	{ "empty entry, supervisor write", PT_LEAF_EMPTY, 0, 0, 0, PT_ACC_W,
	  PT_F_W },
	{ "empty entry, user read", PT_LEAF_EMPTY, 0, 0, 0, PT_ACC_U, PT_F_U },
	{ "empty entry, supervisor fetch", PT_LEAF_EMPTY, 0, 0, 0, PT_ACC_X,
	  PT_F_X },
	{ "PROT_NONE entry, user read", PT_LEAF_MAPPED, PT_PN | PT_U | PT_NX,
	  0, 0, PT_ACC_U, PT_F_U },
	{ "PROT_NONE entry, user write", PT_LEAF_MAPPED, PT_PN | PT_U | PT_NX,
	  0, 0, PT_ACC_W | PT_ACC_U, PT_F_W | PT_F_U },
	{ "directory entry not present, user read", PT_LEAF_MAPPED,
	  PT_P | PT_W | PT_U, PT_P, 0, PT_ACC_U, PT_F_U },
	/* Protection: both levels present, the combined flags forbid it. */
	{ "read-only page, user write", PT_LEAF_MAPPED, PT_P | PT_U, 0, 0,
	  PT_ACC_W | PT_ACC_U, PT_F_P | PT_F_W | PT_F_U },
	{ "read-only user page, supervisor write (WP)", PT_LEAF_MAPPED,
	  PT_P | PT_U, 0, 0, PT_ACC_W, PT_F_P | PT_F_W },
	{ "read-only supervisor page, supervisor write", PT_LEAF_MAPPED, PT_P,
	  0, 0, PT_ACC_W, PT_F_P | PT_F_W },
	{ "writable page, read-only directory, user write", PT_LEAF_MAPPED,
	  PT_P | PT_W | PT_U, PT_W, 0, PT_ACC_W | PT_ACC_U,
	  PT_F_P | PT_F_W | PT_F_U },
	{ "writable page, read-only directory, supervisor write",
	  PT_LEAF_MAPPED, PT_P | PT_W | PT_U, PT_W, 0, PT_ACC_W,
	  PT_F_P | PT_F_W },
	{ "supervisor-only page, user read", PT_LEAF_MAPPED, PT_P | PT_W, 0, 0,
	  PT_ACC_U, PT_F_P | PT_F_U },
	{ "supervisor-only page, user write", PT_LEAF_MAPPED, PT_P | PT_W, 0,
	  0, PT_ACC_W | PT_ACC_U, PT_F_P | PT_F_W | PT_F_U },
	{ "user page, supervisor-only directory, user read", PT_LEAF_MAPPED,
	  PT_P | PT_W | PT_U, PT_U, 0, PT_ACC_U, PT_F_P | PT_F_U },
	{ "NX page, user fetch", PT_LEAF_MAPPED, PT_P | PT_U | PT_NX, 0, 0,
	  PT_ACC_X | PT_ACC_U, PT_F_P | PT_F_X | PT_F_U },
	{ "NX page, supervisor fetch", PT_LEAF_MAPPED, PT_P | PT_NX, 0, 0,
	  PT_ACC_X, PT_F_P | PT_F_X },
	{ "executable page, NX directory, user fetch", PT_LEAF_MAPPED,
	  PT_P | PT_U, 0, PT_NX, PT_ACC_X | PT_ACC_U,
	  PT_F_P | PT_F_X | PT_F_U },
	/* Allowed. */
	{ "user page, user read", PT_LEAF_MAPPED, PT_P | PT_U, 0, 0, PT_ACC_U,
	  0, true },
	{ "writable user page, user write", PT_LEAF_MAPPED, PT_P | PT_W | PT_U,
	  0, 0, PT_ACC_W | PT_ACC_U, 0, true },
	{ "user page, supervisor read", PT_LEAF_MAPPED, PT_P | PT_U, 0, 0, 0, 0,
	  true },
	{ "writable user page, supervisor write", PT_LEAF_MAPPED,
	  PT_P | PT_W | PT_U, 0, 0, PT_ACC_W, 0, true },
	{ "writable supervisor page, supervisor write", PT_LEAF_MAPPED,
	  PT_P | PT_W, 0, 0, PT_ACC_W, 0, true },
	{ "executable user page, user fetch", PT_LEAF_MAPPED, PT_P | PT_U, 0, 0,
	  PT_ACC_X | PT_ACC_U, 0, true },
	{ "NX page, user read", PT_LEAF_MAPPED, PT_P | PT_U | PT_NX, 0, 0,
	  PT_ACC_U, 0, true },
	{ "user page, NX directory, user read", PT_LEAF_MAPPED, PT_P | PT_U, 0,
	  PT_NX, PT_ACC_U, 0, true },
};

static void pt_fault_desc(const struct pt_fault_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pt_fault, pt_fault_cases, pt_fault_desc);

/*
 * Translate reports the x86 page-fault error code for every combination of
 * directory and leaf flags and access, and never allocates.
 */
static void pt_translate_reports_x86_fault_code(struct kunit *test)
{
	const struct pt_fault_case *c = test->param_value;
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	const u32 va = PT_VA + 5 * PAGE_SIZE;
	u32 frame = 0, fault = 0xdead, free_before;
	u64 tpa = 0;
	int ret;

	if (c->leaf == PT_LEAF_EMPTY)
		pt_map_new(test, fx, va + PAGE_SIZE, PT_P | PT_W | PT_U);
	if (c->leaf == PT_LEAF_MAPPED)
		frame = pt_map_new(test, fx, va, c->pte);
	if (c->pde_clear || c->pde_set)
		pt_pde_change(fx, va, c->pde_clear, c->pde_set);

	free_before = pt_nr_free(fx->torus);
	ret = pt_translate(fx, va + 0x321, c->access, &tpa, &fault);
	if (c->ok) {
		KUNIT_EXPECT_EQ(test, ret, 0);
		KUNIT_EXPECT_EQ(test, tpa, tmm_frame_to_tpa(frame) + 0x321);
	} else {
		KUNIT_EXPECT_EQ(test, ret, -EFAULT);
		KUNIT_EXPECT_EQ(test, fault, c->fault);
	}
	KUNIT_EXPECT_EQ(test, pt_nr_free(fx->torus), free_before);

	/* Give the walker's destroy back the directory entry it wrote. */
	if (c->pde_clear || c->pde_set)
		pt_pde_change(fx, va, c->pde_set, c->pde_clear);
}

static void pt_translate_sets_accessed_at_both_levels(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 fault;
	u64 tpa;

	pt_map_new(test, fx, PT_VA, PT_P | PT_W | PT_U);
	pt_pde_change(fx, PT_VA, PT_A, 0);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA) & (PT_A | PT_D), 0u);

	KUNIT_ASSERT_EQ(test, pt_translate(fx, PT_VA, TORUSMM_ACCESS_USER, &tpa,
					   &fault), 0);
	KUNIT_EXPECT_NE(test, pt_pde(fx, PT_VA) & PT_A, 0u);
	KUNIT_EXPECT_NE(test, pt_lookup(fx, PT_VA) & PT_A, 0u);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA) & PT_D, 0u);
}

static void pt_translate_write_sets_dirty(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 fault;
	u64 tpa;

	pt_map_new(test, fx, PT_VA, PT_P | PT_W | PT_U);
	pt_pde_change(fx, PT_VA, PT_A, 0);
	KUNIT_ASSERT_EQ(test, pt_translate(fx, PT_VA, TORUSMM_ACCESS_WRITE |
					   TORUSMM_ACCESS_USER, &tpa, &fault),
			0);
	KUNIT_EXPECT_NE(test, pt_pde(fx, PT_VA) & PT_A, 0u);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA) & (PT_A | PT_D),
			PT_A | PT_D);
}

/* A write that faults is not a write: the leaf stays clean. */
static void pt_translate_faulting_write_leaves_clean(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 fault;
	u64 tpa;

	pt_map_new(test, fx, PT_VA, PT_P | PT_U);
	KUNIT_ASSERT_EQ(test, pt_translate(fx, PT_VA, TORUSMM_ACCESS_WRITE |
					   TORUSMM_ACCESS_USER, &tpa, &fault),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA) & PT_D, 0u);
}

static void pt_translate_peek_has_no_side_effects(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 frame, pde, pte, fault;
	u64 tpa = 0;

	frame = pt_map_new(test, fx, PT_VA, PT_P | PT_W | PT_U);
	pt_pde_change(fx, PT_VA, PT_A, 0);
	pde = pt_pde(fx, PT_VA);
	pte = pt_lookup(fx, PT_VA);

	KUNIT_EXPECT_EQ(test, pt_translate(fx, PT_VA + 8, TMM_ACCESS_PEEK |
					   TORUSMM_ACCESS_USER, &tpa, &fault),
			0);
	KUNIT_EXPECT_EQ(test, tpa, tmm_frame_to_tpa(frame) + 8);
	KUNIT_EXPECT_EQ(test, pt_translate(fx, PT_VA, TMM_ACCESS_PEEK |
					   TORUSMM_ACCESS_WRITE |
					   TORUSMM_ACCESS_USER, &tpa, &fault),
			0);
	KUNIT_EXPECT_EQ(test, pt_pde(fx, PT_VA), pde);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA), pte);

	/* A peek reports faults like any translation. */
	KUNIT_EXPECT_EQ(test, pt_translate(fx, PT_VA + PAGE_SIZE,
					   TMM_ACCESS_PEEK | TORUSMM_ACCESS_USER,
					   &tpa, &fault), -EFAULT);
	KUNIT_EXPECT_EQ(test, fault, TORUSMM_FAULT_USER);
}

/* Records the entries a walk visits. */
struct pt_walk_log {
	u32 nr;
	u32 stop_at;	/* return 7 on this visit (1-based); 0 never */
	u32 va[8];
	u32 pte[8];
};

/* Appends one visited entry to a struct pt_walk_log. */
static int pt_walk_record(u32 va, u32 *ptep, void *data)
{
	struct pt_walk_log *log = data;

	if (log->nr == ARRAY_SIZE(log->va))
		return -E2BIG;
	log->va[log->nr] = va;
	log->pte[log->nr] = READ_ONCE(*ptep);
	log->nr++;
	return log->nr == log->stop_at ? 7 : 0;
}

/* tmm_pt_walk() under the read lock. */
static int pt_walk(struct pt_fixture *fx, u32 start, u64 end,
		   struct pt_walk_log *log)
{
	int ret;

	down_read(&fx->lock);
	ret = tmm_pt_walk(&fx->pt, start, end, pt_walk_record, log);
	up_read(&fx->lock);
	return ret;
}

static void pt_walk_visits_frame_holding_entries_in_order(struct kunit *test)
{
	static const u32 vas[] = { 0x7fffe000, 0x00401000, 0x00400000,
				   0x00800000, 0xfffff000, 0x00c00000 };
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	struct pt_walk_log log = {};
	u32 i;

	for (i = 0; i < ARRAY_SIZE(vas); i++)
		pt_map_new(test, fx, vas[i],
			   vas[i] == 0x00800000 ? PT_PN : PT_P | PT_U);

	KUNIT_ASSERT_EQ(test, pt_walk(fx, 0x00401000, 0x00c00000, &log), 0);
	KUNIT_ASSERT_EQ(test, log.nr, 2u);
	KUNIT_EXPECT_EQ(test, log.va[0], 0x00401000u);
	KUNIT_EXPECT_EQ(test, log.va[1], 0x00800000u);
	KUNIT_EXPECT_EQ(test, log.pte[0], pt_lookup(fx, 0x00401000));
	KUNIT_EXPECT_EQ(test, log.pte[1], pt_lookup(fx, 0x00800000));

	memset(&log, 0, sizeof(log));
	KUNIT_ASSERT_EQ(test, pt_walk(fx, 0, PT_WALK_END, &log), 0);
	KUNIT_ASSERT_EQ(test, log.nr, 6u);
	for (i = 1; i < log.nr; i++)
		KUNIT_EXPECT_LT(test, log.va[i - 1], log.va[i]);
	KUNIT_EXPECT_EQ(test, log.va[5], 0xfffff000u);
}

static void pt_walk_stops_when_callback_returns_nonzero(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	struct pt_walk_log log = { .stop_at = 2 };
	u32 i;

	for (i = 0; i < 4; i++)
		pt_map_new(test, fx, PT_VA + i * PAGE_SIZE, PT_P | PT_U);
	KUNIT_EXPECT_EQ(test, pt_walk(fx, 0, PT_WALK_END, &log), 7);
	KUNIT_EXPECT_EQ(test, log.nr, 2u);
}

static void pt_unmap_range_frees_frames_and_tables(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 free_before = pt_nr_free(fx->torus);
	u32 outside, i;

	/* Three pages either side of a slot boundary, one page beyond. */
	for (i = 0; i < 6; i++)
		pt_map_new(test, fx, PT_VA + PT_SLOT - 3 * PAGE_SIZE +
			   i * PAGE_SIZE, PT_P | PT_W | PT_U);
	outside = pt_map_new(test, fx, PT_VA + 2 * PT_SLOT, PT_P | PT_U);
	KUNIT_ASSERT_EQ(test, fx->pt.nr_tables, 4u);

	down_write(&fx->lock);
	tmm_pt_unmap_range(&fx->pt, PT_VA, PT_VA + 2 * PT_SLOT);
	up_write(&fx->lock);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_tables, 2u);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_pages, 1u);
	KUNIT_EXPECT_EQ(test, pt_pde(fx, PT_VA), 0u);
	KUNIT_EXPECT_EQ(test, pt_pde(fx, PT_VA + PT_SLOT), 0u);
	KUNIT_EXPECT_EQ(test, TMM_PTE_FRAME(pt_lookup(fx, PT_VA + 2 * PT_SLOT)),
			outside);
	KUNIT_EXPECT_EQ(test, pt_nr_free(fx->torus), free_before - 2);

	/* Nothing mapped in the range: nothing happens. */
	down_write(&fx->lock);
	tmm_pt_unmap_range(&fx->pt, PT_VA, PT_VA + PT_SLOT);
	up_write(&fx->lock);
	KUNIT_EXPECT_EQ(test, pt_nr_free(fx->torus), free_before - 2);
}

static void pt_protect_range_changes_only_the_range(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	u32 frames[4], fault, i;
	u64 tpa;

	for (i = 0; i < 4; i++)
		frames[i] = pt_map_new(test, fx, PT_VA + i * PAGE_SIZE,
				       PT_P | PT_W | PT_U);
	KUNIT_ASSERT_EQ(test, pt_translate(fx, PT_VA + PAGE_SIZE,
					   TORUSMM_ACCESS_WRITE, &tpa, &fault),
			0);

	down_write(&fx->lock);
	tmm_pt_protect_range(&fx->pt, PT_VA + PAGE_SIZE, PT_VA + 3 * PAGE_SIZE +
			     5 * PAGE_SIZE, PT_P | PT_U | PT_NX);
	up_write(&fx->lock);

	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA),
			(frames[0] << PAGE_SHIFT) | PT_P | PT_W | PT_U);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA + PAGE_SIZE),
			(frames[1] << PAGE_SHIFT) | PT_P | PT_U | PT_NX | PT_A |
			PT_D);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA + 3 * PAGE_SIZE),
			(frames[3] << PAGE_SHIFT) | PT_P | PT_U | PT_NX);
	/* Entries without a frame stay empty. */
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA + 4 * PAGE_SIZE), 0u);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_pages, 4u);
}

/*
 * The quota counts the directory, the tables and the pages: with four, two
 * pages fit in one table, and a page needing a second table is refused.
 */
static void pt_map_needing_table_over_quota_returns_enomem(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 4);
	u32 frame, pte;

	pt_map_new(test, fx, PT_VA, PT_P | PT_U);
	pt_map_new(test, fx, PT_VA + PAGE_SIZE, PT_P | PT_U);
	KUNIT_EXPECT_EQ(test, tmm_pt_frames_used(&fx->pt), 4u);
	pte = pt_lookup(fx, PT_VA);
	KUNIT_ASSERT_EQ(test, tmm_frame_alloc(fx->torus, TMM_FRAME_DATA, &frame),
			0);
	KUNIT_EXPECT_EQ(test, pt_map(fx, PT_VA + PT_SLOT, frame, PT_P | PT_U,
				     0), -ENOMEM);
	KUNIT_EXPECT_EQ(test, tmm_pt_frames_used(&fx->pt), 4u);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_tables, 2u);
	KUNIT_EXPECT_EQ(test, pt_pde(fx, PT_VA + PT_SLOT), 0u);
	KUNIT_EXPECT_EQ(test, pt_lookup(fx, PT_VA), pte);
	KUNIT_EXPECT_EQ(test, tmm_frame_free(fx->torus, frame), 0);
}

/* With room for the page but not its table, the map is refused whole. */
static void pt_map_needing_first_table_over_quota_returns_enomem(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 2);
	u32 frame, free_before;

	KUNIT_ASSERT_EQ(test, tmm_frame_alloc(fx->torus, TMM_FRAME_DATA, &frame),
			0);
	free_before = pt_nr_free(fx->torus);
	KUNIT_EXPECT_EQ(test, pt_map(fx, PT_VA, frame, PT_P | PT_U, 0), -ENOMEM);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_tables, 1u);
	KUNIT_EXPECT_EQ(test, pt_pde(fx, PT_VA), 0u);
	KUNIT_EXPECT_EQ(test, pt_nr_free(fx->torus), free_before);
	KUNIT_EXPECT_EQ(test, tmm_frame_free(fx->torus, frame), 0);
}

static void pt_prealloc_and_trim_tables(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	const u32 start = PT_VA, end = PT_VA + 2 * PT_SLOT;
	u32 needed;
	int ret;

	down_read(&fx->lock);
	needed = tmm_pt_tables_needed(&fx->pt, start, end);
	up_read(&fx->lock);
	KUNIT_EXPECT_EQ(test, needed, 2u);

	pt_map_new(test, fx, PT_VA, PT_P | PT_U);
	down_write(&fx->lock);
	needed = tmm_pt_tables_needed(&fx->pt, start, end);
	ret = tmm_pt_prealloc(&fx->pt, start, end);
	up_write(&fx->lock);
	KUNIT_EXPECT_EQ(test, needed, 1u);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, fx->pt.nr_tables, 3u);

	down_write(&fx->lock);
	needed = tmm_pt_tables_needed(&fx->pt, start, end);
	tmm_pt_trim(&fx->pt, start, end);
	up_write(&fx->lock);
	KUNIT_EXPECT_EQ(test, needed, 0u);
	/* The empty table goes, the one holding a page stays. */
	KUNIT_EXPECT_EQ(test, fx->pt.nr_tables, 2u);
	KUNIT_EXPECT_EQ(test, pt_pde(fx, PT_VA + PT_SLOT), 0u);
	KUNIT_EXPECT_NE(test, pt_pde(fx, PT_VA), 0u);
}

static void pt_destroy_frees_every_frame(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	struct tmm_torus_stats stats;
	u32 i;

	for (i = 0; i < 12; i++)
		pt_map_new(test, fx, PT_VA + (i % 3) * PT_SLOT + i * PAGE_SIZE,
			   i % 4 ? PT_P | PT_W | PT_U : PT_PN);
	pt_unregister(test, &fx->pt);
	tmm_torus_get_stats(fx->torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_free, PT_TORUS_FRAMES);
	KUNIT_EXPECT_EQ(test, stats.nr_table_frames, 0u);
}

/* Maps the pages a clone test copies, each filled with its own byte. */
static void pt_clone_source(struct kunit *test, struct pt_fixture *fx)
{
	static const u32 flags[] = { PT_P | PT_W | PT_U, PT_P | PT_U | PT_NX,
				     PT_PN, PT_P | PT_W, PT_P | PT_U };
	u32 i, frame, fault;
	u64 tpa;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		frame = pt_map_new(test, fx, PT_VA + (i % 3) * PT_SLOT +
				   i * PAGE_SIZE, flags[i]);
		pt_frame_fill(fx->torus, frame, 0x10 + i);
	}
	KUNIT_ASSERT_EQ(test, pt_translate(fx, PT_VA, TORUSMM_ACCESS_WRITE,
					   &tpa, &fault), 0);
	KUNIT_ASSERT_EQ(test, pt_translate(fx, PT_VA + PT_SLOT + PAGE_SIZE, 0,
					   &tpa, &fault), 0);
}

/* A second page table on @fx's torus and lock, destroyed with the test. */
static struct tmm_pagetable *pt_second(struct kunit *test,
				       struct pt_fixture *fx)
{
	struct tmm_pagetable *pt;

	pt = kunit_kzalloc(test, sizeof(*pt), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pt);
	pt_register(test, pt, fx->torus, &fx->lock, 0);
	return pt;
}

/*
 * The original design's clone test, at the page-table level: the clone
 * shares every frame copy-on-write, and both sides lose writable.
 */
static void pt_clone_shares_frames_copy_on_write(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	struct pt_snapshot *before, *src, *dst;
	struct tmm_pagetable *copy;
	u32 free_before, i;
	int ret;

	before = kunit_kzalloc(test, sizeof(*before), GFP_KERNEL);
	src = kunit_kzalloc(test, sizeof(*src), GFP_KERNEL);
	dst = kunit_kzalloc(test, sizeof(*dst), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, before);
	KUNIT_ASSERT_NOT_NULL(test, src);
	KUNIT_ASSERT_NOT_NULL(test, dst);
	pt_clone_source(test, fx);
	copy = pt_second(test, fx);
	pt_snapshot_take(test, &fx->pt, before);
	free_before = pt_nr_free(fx->torus);

	down_write(&fx->lock);
	ret = tmm_pt_clone(copy, &fx->pt);
	up_write(&fx->lock);
	KUNIT_ASSERT_EQ(test, ret, 0);

	pt_snapshot_take(test, &fx->pt, src);
	pt_snapshot_take(test, copy, dst);
	KUNIT_EXPECT_EQ(test, copy->nr_tables, fx->pt.nr_tables);
	KUNIT_EXPECT_EQ(test, copy->nr_pages, fx->pt.nr_pages);
	/* Only the clone's tables (not its directory) took frames. */
	KUNIT_EXPECT_EQ(test, free_before - pt_nr_free(fx->torus),
			fx->pt.nr_tables - 1);
	KUNIT_ASSERT_EQ(test, dst->nr_entries, src->nr_entries);
	for (i = 0; i < src->nr_entries; i++) {
		u32 old = before->pte[i];

		KUNIT_EXPECT_EQ(test, dst->va[i], src->va[i]);
		KUNIT_EXPECT_EQ(test, TMM_PTE_FRAME(dst->pte[i]),
				TMM_PTE_FRAME(src->pte[i]));
		KUNIT_EXPECT_EQ(test, tmm_frame_refs(fx->torus,
						     TMM_PTE_FRAME(old)), 2u);
		/* The source: the same entry, read-only and copy-on-write. */
		KUNIT_EXPECT_EQ(test, src->pte[i],
				(old | TORUSMM_PTE_COW) & ~TORUSMM_PTE_WRITABLE);
		/* The clone: the same, but old, as after fork(). */
		KUNIT_EXPECT_EQ(test, dst->pte[i],
				src->pte[i] & ~TORUSMM_PTE_ACCESSED);
	}
}

/*
 * A write through either table, after tmm_pt_unshare(), is not seen through
 * the other; the last sharer keeps the frame.
 */
static void pt_clone_is_isolated_after_unshare(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);
	const u32 rw = PT_P | PT_W | PT_U | TORUSMM_PTE_NX;
	struct tmm_pagetable *copy;
	u32 src_frame, dst_frame, shared, spare = 0;
	int ret;

	pt_clone_source(test, fx);
	copy = pt_second(test, fx);
	down_write(&fx->lock);
	ret = tmm_pt_clone(copy, &fx->pt);
	shared = TMM_PTE_FRAME(tmm_pt_lookup(&fx->pt, PT_VA));
	if (!ret)
		ret = tmm_pt_unshare(copy, PT_VA, rw, &spare);
	src_frame = TMM_PTE_FRAME(tmm_pt_lookup(&fx->pt, PT_VA));
	dst_frame = TMM_PTE_FRAME(tmm_pt_lookup(copy, PT_VA));
	up_write(&fx->lock);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, src_frame, shared);
	KUNIT_ASSERT_NE(test, src_frame, dst_frame);
	KUNIT_EXPECT_EQ(test, tmm_frame_refs(fx->torus, shared), 1u);
	KUNIT_EXPECT_EQ(test, pt_frame_byte(fx->torus, dst_frame, 100), 0x10);
	down_read(&fx->lock);
	KUNIT_EXPECT_TRUE(test, tmm_pt_lookup(copy, PT_VA) & PT_W);
	KUNIT_EXPECT_FALSE(test, tmm_pt_lookup(copy, PT_VA) & TORUSMM_PTE_COW);
	up_read(&fx->lock);

	pt_frame_fill(fx->torus, dst_frame, 0xcc);
	KUNIT_EXPECT_EQ(test, pt_frame_byte(fx->torus, src_frame, 100), 0x10);

	/* The source is the frame's last mapping now: it keeps it. */
	down_write(&fx->lock);
	ret = tmm_pt_unshare(&fx->pt, PT_VA, rw, &spare);
	up_write(&fx->lock);
	KUNIT_ASSERT_EQ(test, ret, 0);
	down_read(&fx->lock);
	KUNIT_EXPECT_EQ(test, TMM_PTE_FRAME(tmm_pt_lookup(&fx->pt, PT_VA)),
			shared);
	KUNIT_EXPECT_TRUE(test, tmm_pt_lookup(&fx->pt, PT_VA) & PT_W);
	up_read(&fx->lock);
	KUNIT_EXPECT_EQ(test, spare, 0u);
}

/*
 * Runs @op with the nth call of each fault point failing, for n = 1, 2, ...
 * until @op succeeds without the fault firing.  @prepare, when given, runs
 * before the fault point is armed.  Each failure must return -ENOMEM and
 * leave @fx and its torus as before @prepare; @undo reverts a success.
 * @must_fire: the fault sites that must fire at least once.
 */
static void pt_fail_every_allocation(struct kunit *test, struct pt_fixture *fx,
				     int (*prepare)(struct pt_fixture *fx),
				     int (*op)(struct pt_fixture *fx),
				     void (*undo)(struct kunit *test,
						  struct pt_fixture *fx),
				     unsigned long must_fire)
{
	struct pt_snapshot *before, *after;
	enum tmm_fault_site site;
	unsigned int nth;
	bool fired;
	int ret;

	before = kunit_kzalloc(test, sizeof(*before), GFP_KERNEL);
	after = kunit_kzalloc(test, sizeof(*after), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, before);
	KUNIT_ASSERT_NOT_NULL(test, after);
	/* Skip, if need be, before @prepare builds anything. */
	pt_fault_arm(test, TMM_FAULT_FRAME, PT_FAULT_MAX_NTH);
	tmm_fault_disarm(TMM_FAULT_FRAME);

	for (site = 0; site < TMM_FAULT_NR; site++) {
		for (nth = 1; nth <= PT_FAULT_MAX_NTH; nth++) {
			pt_snapshot_take(test, &fx->pt, before);
			if (prepare)
				KUNIT_ASSERT_EQ(test, prepare(fx), 0);
			pt_fault_arm(test, site, nth);
			ret = op(fx);
			fired = tmm_fault_fired(site);
			tmm_fault_disarm(site);
			if (!fired) {
				KUNIT_EXPECT_EQ_MSG(test, ret, 0,
						    "site %d, nothing failed",
						    site);
				undo(test, fx);
				break;
			}
			__clear_bit(site, &must_fire);
			KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM,
					    "site %d, allocation %u failed",
					    site, nth);
			pt_snapshot_take(test, &fx->pt, after);
			pt_snapshot_expect_equal(test, before, after,
						 "after a failed allocation");
		}
		KUNIT_EXPECT_LE_MSG(test, nth, PT_FAULT_MAX_NTH,
				    "site %d never stopped failing", site);
	}
	KUNIT_EXPECT_EQ_MSG(test, must_fire, 0ul,
			    "fault sites that never fired (bit per site)");
}

/* Maps @fx->op_frame at PT_VA + PT_SLOT, a slot that has no table yet. */
static int pt_op_map_new_slot(struct pt_fixture *fx)
{
	return pt_map(fx, PT_VA + PT_SLOT, fx->op_frame, PT_P | PT_W | PT_U, 0);
}

/* Undoes pt_op_map_new_slot(), keeping the frame for the next run. */
static void pt_undo_map_new_slot(struct kunit *test, struct pt_fixture *fx)
{
	u32 frame = 0;

	KUNIT_ASSERT_EQ(test, pt_unmap(fx, PT_VA + PT_SLOT, &frame), 0);
	KUNIT_EXPECT_EQ(test, frame, fx->op_frame);
}

static void pt_map_needing_table_fails_cleanly(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);

	pt_map_new(test, fx, PT_VA, PT_P | PT_U);
	KUNIT_ASSERT_EQ(test, tmm_frame_alloc(fx->torus, TMM_FRAME_DATA,
					      &fx->op_frame), 0);
	pt_fail_every_allocation(test, fx, NULL, pt_op_map_new_slot,
				 pt_undo_map_new_slot, BIT(TMM_FAULT_TABLE));
	/* No failed map took the frame from its caller. */
	KUNIT_EXPECT_EQ(test, tmm_frame_free(fx->torus, fx->op_frame), 0);
}

/* Initialises @fx->op_table on @fx's torus and lock. */
static int pt_op_init(struct pt_fixture *fx)
{
	int ret;

	down_write(&fx->lock);
	ret = tmm_pt_init(&fx->op_table, fx->torus, &fx->lock, 0, NULL, NULL);
	up_write(&fx->lock);
	return ret;
}

/* Destroys @fx->op_table. */
static void pt_undo_init(struct kunit *test, struct pt_fixture *fx)
{
	down_write(&fx->lock);
	tmm_pt_destroy(&fx->op_table);
	up_write(&fx->lock);
}

static void pt_init_fails_cleanly(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);

	pt_map_new(test, fx, PT_VA, PT_P | PT_U);
	pt_fail_every_allocation(test, fx, NULL, pt_op_init, pt_undo_init,
				 BIT(TMM_FAULT_TABLE) | BIT(TMM_FAULT_SLAB));
}

/*
 * Clones @fx into @fx->op_table; on failure destroys the half-built copy, as
 * the caller must, so that the snapshot shows whether anything leaked.
 */
static int pt_op_clone(struct pt_fixture *fx)
{
	int ret;

	down_write(&fx->lock);
	ret = tmm_pt_clone(&fx->op_table, &fx->pt);
	if (ret)
		tmm_pt_destroy(&fx->op_table);
	up_write(&fx->lock);
	return ret;
}

static void pt_clone_fails_cleanly(struct kunit *test)
{
	struct pt_fixture *fx = pt_fixture_create(test, PT_TORUS_FRAMES, 0);

	pt_clone_source(test, fx);
	pt_fail_every_allocation(test, fx, pt_op_init, pt_op_clone,
				 pt_undo_init, BIT(TMM_FAULT_TABLE));
}

/* Disarms every fault point, so no test inherits one armed by another. */
static int pt_test_init(struct kunit *test)
{
	enum tmm_fault_site site;

	for (site = 0; site < TMM_FAULT_NR; site++)
		tmm_fault_disarm(site);
	return 0;
}

static void pt_test_exit(struct kunit *test)
{
	pt_test_init(test);
}

static struct kunit_case pagetable_test_cases[] = {
	KUNIT_CASE(pt_init_takes_one_directory_frame),
	KUNIT_CASE(pt_map_unmap_roundtrip),
	KUNIT_CASE(pt_map_allocates_one_table_per_slot),
	KUNIT_CASE(pt_unmap_last_entry_frees_table),
	KUNIT_CASE(pt_map_over_frame_returns_eexist),
	KUNIT_CASE(pt_map_over_protnone_entry_returns_eexist),
	KUNIT_CASE(pt_map_replace_frees_old_frame),
	KUNIT_CASE(pt_unmap_absent_entry_returns_enoent),
	KUNIT_CASE(pt_protect_keeps_frame_and_accessed_dirty),
	KUNIT_CASE(pt_protect_absent_entry_returns_enoent),
	KUNIT_CASE_PARAM(pt_translate_reports_x86_fault_code,
			 pt_fault_gen_params),
	KUNIT_CASE(pt_translate_sets_accessed_at_both_levels),
	KUNIT_CASE(pt_translate_write_sets_dirty),
	KUNIT_CASE(pt_translate_faulting_write_leaves_clean),
	KUNIT_CASE(pt_translate_peek_has_no_side_effects),
	KUNIT_CASE(pt_walk_visits_frame_holding_entries_in_order),
	KUNIT_CASE(pt_walk_stops_when_callback_returns_nonzero),
	KUNIT_CASE(pt_unmap_range_frees_frames_and_tables),
	KUNIT_CASE(pt_protect_range_changes_only_the_range),
	KUNIT_CASE(pt_map_needing_table_over_quota_returns_enomem),
	KUNIT_CASE(pt_map_needing_first_table_over_quota_returns_enomem),
	KUNIT_CASE(pt_prealloc_and_trim_tables),
	KUNIT_CASE(pt_destroy_frees_every_frame),
	KUNIT_CASE(pt_clone_shares_frames_copy_on_write),
	KUNIT_CASE(pt_clone_is_isolated_after_unshare),
	KUNIT_CASE(pt_map_needing_table_fails_cleanly),
	KUNIT_CASE(pt_init_fails_cleanly),
	KUNIT_CASE(pt_clone_fails_cleanly),
	{}
};

static struct kunit_suite pagetable_test_suite = {
	.name = "torusmm_pagetable",
	.init = pt_test_init,
	.exit = pt_test_exit,
	.test_cases = pagetable_test_cases,
};

kunit_test_suite(pagetable_test_suite);
