// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for address spaces and their regions (vma.c).
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * Every test creates a torus and address spaces of its own and drives them
 * through the tmm_space_*() calls only, the way the device does.  Regions are
 * checked through the region dump, page-table entries (accessed and dirty
 * bits included) through tmm_space_lookup() and the PTE dump, contents
 * through tmm_space_read() or, where a read would set the accessed bit, the
 * frame's page.  Argument checks and region arithmetic are tables of
 * {request, expected result, expected regions} rows.  Each multi-step
 * operation is failed at its nth allocation of every kind in turn; each
 * failure must return -ENOMEM and leave the regions, the entries, the
 * contents, the statistics and the torus exactly as before.  A randomised run
 * of 100,000 operations is checked against a reference model that shares no
 * code with the core: a flat array of per-page state.  Placement without
 * MAP_FIXED is checked at every edge of the user range and, in a randomised
 * run, against the highest gap computed from the dump; the ceilings of
 * struct tmm_limits are checked to the frame, the space and the region, the
 * region counter against a per-page model in a third randomised run.
 *
 * Reads of never-written memory map the torus's shared zero frame and take
 * no frame; clones share every frame copy-on-write.  Both are checked to the
 * frame: which entries map the zero frame or a shared one, their bits, the
 * reference counts tmm_frame_refs() reports, the frames of each space, of
 * the torus and of the user, at every step of a copy-on-write break, and
 * every allocation of such a break is failed in turn.  The dirty and access
 * logs are checked against the pages written and accessed, and the
 * observers against the ranges they must be told of.
 */

#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/completion.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "fault_inject.h"
#include "frame_alloc.h"
#include "pagetable.h"
#include "space.h"
#include "user.h"
#include "torusmm_test.h"

#define VT_TORUS_FRAMES		256u
/* Where the tests map, well away from the heap and from mmap's placement. */
#define VT_BASE			0x10000000u
/* The span of one page table: 4 MiB. */
#define VT_SLOT			0x00400000u
#define VT_HEAP			TORUSMM_HEAP_START
/* The one page of stack a new space starts with. */
#define VT_STACK		(TORUSMM_STACK_TOP - PAGE_SIZE)
/* Capacities of the dumps a snapshot takes. */
#define VT_NR_REGIONS		64u
#define VT_NR_PTES		256u
/* Upper bound on the nth allocation tried by the fault loop. */
#define VT_FAULT_MAX_NTH	512u

/* Short names for protections, flags and codes, to keep the tables legible. */
#define VT_R		TORUSMM_PROT_READ
#define VT_RW		(TORUSMM_PROT_READ | TORUSMM_PROT_WRITE)
#define VT_RX		(TORUSMM_PROT_READ | TORUSMM_PROT_EXEC)
#define VT_RWX		(VT_RW | TORUSMM_PROT_EXEC)
#define VT_NONE		TORUSMM_PROT_NONE
#define VT_FIXED	TORUSMM_MAP_FIXED
#define VT_NOREPLACE	TORUSMM_MAP_FIXED_NOREPLACE
#define VT_POPULATE	TORUSMM_MAP_POPULATE
#define VT_ACC_W	TORUSMM_ACCESS_WRITE
#define VT_ACC_U	TORUSMM_ACCESS_USER
#define VT_ACC_X	TORUSMM_ACCESS_EXEC
#define VT_F_P		TORUSMM_FAULT_PROTECTION
#define VT_F_W		TORUSMM_FAULT_WRITE
#define VT_F_U		TORUSMM_FAULT_USER
#define VT_F_X		TORUSMM_FAULT_FETCH
/* The entry bits a protection decides. */
#define VT_PTE_PROT	(TORUSMM_PTE_PRESENT | TORUSMM_PTE_WRITABLE | \
			 TORUSMM_PTE_USER | TORUSMM_PTE_NX | \
			 TORUSMM_PTE_PROTNONE)
#define VT_PTE_AD	(TORUSMM_PTE_ACCESSED | TORUSMM_PTE_DIRTY)

/* Destroys a space registered by vt_space_register() when the test ends. */
static void vt_space_release(struct kunit_resource *res)
{
	tmm_space_destroy(res->data);
}

/* Matches the resource that owns @match_data. */
static bool vt_resource_is(struct kunit *test, struct kunit_resource *res,
			   void *match_data)
{
	return res->data == match_data;
}

/* Hands @space to the test, which destroys it at the end. */
static struct tmm_space *vt_space_register(struct kunit *test,
					   struct tmm_space *space)
{
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, space);
	if (!kunit_alloc_resource(test, NULL, vt_space_release, GFP_KERNEL,
				  space)) {
		tmm_space_destroy(space);
		KUNIT_ASSERT_FAILURE(test, "cannot register the space");
	}
	return space;
}

/* Creates a space on @torus that the test destroys at the end. */
static struct tmm_space *vt_space_create(struct kunit *test,
					 struct tmm_torus *torus,
					 u32 max_frames)
{
	return vt_space_register(test, tmm_space_create(torus, NULL, max_frames));
}

/* Destroys @space before the test ends. */
static void vt_space_destroy(struct kunit *test, struct tmm_space *space)
{
	KUNIT_ASSERT_EQ(test,
			kunit_destroy_resource(test, vt_resource_is, space), 0);
}

/* A fresh torus of VT_TORUS_FRAMES frames and a space on it. */
static struct tmm_space *vt_space(struct kunit *test)
{
	return vt_space_create(test, tmm_test_torus_create(test, VT_TORUS_FRAMES), 0);
}

/* Maps a range for setting up a test; the test fails if it cannot. */
static u32 vt_mmap(struct kunit *test, struct tmm_space *space, u32 addr,
		   u64 length, u32 prot, u32 flags)
{
	int ret = tmm_space_mmap(space, &addr, length, prot, flags);

	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "mmap(%#x, %#llx, %u, %#x)", addr,
			    length, prot, flags);
	return addr;
}

/* Fills [@va, @va + @len) with @value through tmm_space_write(). */
static void vt_fill(struct kunit *test, struct tmm_space *space, u32 va,
		    u32 len, u8 value)
{
	u8 *buf = test->priv;
	struct tmm_access res;
	u32 chunk;
	int ret;

	while (len) {
		chunk = min_t(u32, len, PAGE_SIZE - (va & ~PAGE_MASK));
		memset(buf, value, chunk);
		ret = tmm_space_write(space, va, buf, chunk, VT_ACC_U, &res);
		KUNIT_ASSERT_EQ_MSG(test, ret, 0, "write at %#x", va);
		KUNIT_ASSERT_EQ_MSG(test, res.fault, 0u, "write at %#x", va);
		KUNIT_ASSERT_EQ(test, res.done, chunk);
		va += chunk;
		len -= chunk;
	}
}

/* The byte at @va, read through tmm_space_read(); the read must succeed. */
static u8 vt_read_byte(struct kunit *test, struct tmm_space *space, u32 va)
{
	struct tmm_access res;
	u8 value = 0;
	int ret;

	ret = tmm_space_read(space, va, &value, 1, VT_ACC_U, &res);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "read at %#x", va);
	KUNIT_ASSERT_EQ_MSG(test, res.fault, 0u, "read at %#x", va);
	return value;
}

/*
 * The byte at @offset of the frame behind @pte, read without translating, so
 * without setting any accessed bit.
 */
static u8 vt_frame_byte(struct tmm_space *space, u32 pte, u32 offset)
{
	struct page *page = tmm_frame_page(space->torus, TMM_PTE_FRAME(pte));
	u8 *addr, value;

	if (!page)
		return 0;
	addr = kmap_local_page(page);
	value = addr[offset];
	kunmap_local(addr);
	return value;
}

/* The byte at @va without side effects, or -1 when no frame is there. */
static int vt_peek_byte(struct tmm_space *space, u32 va)
{
	u32 pte = tmm_space_lookup(space, va);

	if (!(pte & TMM_PTE_HOLDS_FRAME))
		return -1;
	return vt_frame_byte(space, pte, va & ~PAGE_MASK);
}

/* The statistics of @space. */
static struct torusmm_space_stats vt_stats(struct tmm_space *space)
{
	struct torusmm_space_stats stats;

	tmm_space_get_stats(space, &stats);
	return stats;
}

/* Free frames of @torus now. */
static u32 vt_nr_free(struct tmm_torus *torus)
{
	struct tmm_torus_stats stats;

	tmm_torus_get_stats(torus, &stats);
	return stats.nr_free;
}

/*
 * A struct tmm_limits with no ceiling set, freed when the test ends.  Take
 * it before the spaces that read it: resources are released in reverse
 * order, so it outlives them.
 */
static struct tmm_limits *vt_limits(struct kunit *test)
{
	struct tmm_limits *limits = kunit_kzalloc(test, sizeof(*limits),
						  GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, limits);
	return limits;
}

/* Creates a space under @limits that the test destroys at the end. */
static struct tmm_space *vt_space_create_limited(struct kunit *test,
						 struct tmm_torus *torus,
						 const struct tmm_limits *limits,
						 u32 max_frames)
{
	return vt_space_register(test, tmm_space_create(torus, limits,
							max_frames));
}

/* Expects ERR_PTR(@err); a space got instead is destroyed at the end. */
static void vt_expect_no_space(struct kunit *test, struct tmm_space *space,
			       int err, const char *what)
{
	if (!IS_ERR_OR_NULL(space)) {
		vt_space_register(test, space);
		KUNIT_FAIL(test, "%s: got a space, expected %d", what, err);
		return;
	}
	KUNIT_EXPECT_EQ_MSG(test, PTR_ERR(space), (long)err, "%s", what);
}

/* Frames charged to the user of @space: those of all of its spaces. */
static long vt_user_frames(struct tmm_space *space)
{
	return atomic_long_read(&space->user->nr_frames);
}

/* Live spaces of the user of @space. */
static int vt_user_spaces(struct tmm_space *space)
{
	return atomic_read(&space->user->nr_spaces);
}

/* Frames @space holds, its directory and tables included. */
static u32 vt_space_frames(struct tmm_space *space)
{
	struct torusmm_space_stats stats = vt_stats(space);

	return stats.nr_data_frames + stats.nr_table_frames;
}

/* Spaces on @torus now. */
static u32 vt_torus_spaces(struct tmm_torus *torus)
{
	struct tmm_torus_stats stats;

	tmm_torus_get_stats(torus, &stats);
	return stats.nr_spaces;
}

/* The leaf entry bits a page of a region with @prot must carry. */
static u32 vt_prot_pte(u32 prot)
{
	u32 pte = TORUSMM_PTE_PRESENT | TORUSMM_PTE_USER;

	if (prot == VT_NONE)
		return TORUSMM_PTE_PROTNONE;
	if (prot & TORUSMM_PROT_WRITE)
		pte |= TORUSMM_PTE_WRITABLE;
	if (!(prot & TORUSMM_PROT_EXEC))
		pte |= TORUSMM_PTE_NX;
	return pte;
}

/*
 * Expects @pte to hold a frame with the bits of a region with @prot: for
 * PROT_NONE, not present but PROTNONE; else exactly P|U, W, NX as @prot says.
 */
static void vt_expect_pte_prot(struct kunit *test, u32 pte, u32 prot)
{
	if (prot == VT_NONE)
		KUNIT_EXPECT_EQ_MSG(test, pte & TMM_PTE_HOLDS_FRAME,
				    TORUSMM_PTE_PROTNONE, "entry %#x", pte);
	else
		KUNIT_EXPECT_EQ_MSG(test, pte & VT_PTE_PROT, vt_prot_pte(prot),
				    "entry %#x", pte);
}

/*
 * The leaf entry bits of a page of a region with @prot that maps the zero
 * frame or a shared frame: read-only and copy-on-write, whatever @prot says.
 */
static u32 vt_cow_pte(u32 prot)
{
	return (vt_prot_pte(prot) & ~TORUSMM_PTE_WRITABLE) | TORUSMM_PTE_COW;
}

/* Expects @pte to map the zero frame with the bits of a region with @prot. */
static void vt_expect_zero_pte(struct kunit *test, u32 pte, u32 prot)
{
	KUNIT_EXPECT_EQ_MSG(test, TMM_PTE_FRAME(pte), TMM_ZERO_FRAME,
			    "entry %#x", pte);
	KUNIT_EXPECT_EQ_MSG(test, pte & (VT_PTE_PROT | TORUSMM_PTE_COW),
			    vt_cow_pte(prot), "entry %#x", pte);
}

/* The frame behind @va in @space; 0 when there is none. */
static u32 vt_frame(struct tmm_space *space, u32 va)
{
	return TMM_PTE_FRAME(tmm_space_lookup(space, va));
}

/* Entries that map the frame behind @va (0 for none or the zero frame). */
static u32 vt_refs(struct tmm_space *space, u32 va)
{
	return tmm_frame_refs(space->torus, vt_frame(space, va));
}

/* Arms @site, or skips the test when the kernel has no fault injection. */
static void vt_fault_arm(struct kunit *test, enum tmm_fault_site site,
			 unsigned int nth)
{
	int ret = tmm_fault_arm(site, nth);

	if (ret == -EOPNOTSUPP)
		kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "tmm_fault_arm(%d, %u)", site, nth);
}

/* A region in pages from VT_BASE, as the layout tables write it. */
struct vt_span {
	u16 first;
	u16 end;
	u8 prot;
};

#define VT_MAX_SPANS	4

/* Dumps the regions of @space into @buf; returns how many there are. */
static u32 vt_regions(struct kunit *test, struct tmm_space *space,
		      struct torusmm_region *buf, u32 capacity)
{
	u32 count = 0;
	int ret;

	ret = tmm_space_dump_regions(space, buf, capacity, &count);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "region dump (%u needed)", count);
	return count;
}

/*
 * Expects the regions of @space to be @spans (relative to VT_BASE), then the
 * stack region, and nothing else.
 */
static void vt_expect_spans(struct kunit *test, struct tmm_space *space,
			    const struct vt_span *spans, u32 nr_spans)
{
	struct torusmm_region got[VT_MAX_SPANS + 2];
	u32 count, i;

	count = vt_regions(test, space, got, ARRAY_SIZE(got));
	KUNIT_ASSERT_EQ_MSG(test, count, nr_spans + 1, "number of regions");
	for (i = 0; i < nr_spans; i++) {
		KUNIT_EXPECT_EQ_MSG(test, got[i].start,
				    VT_BASE + spans[i].first * PAGE_SIZE,
				    "region %u", i);
		KUNIT_EXPECT_EQ_MSG(test, got[i].end,
				    VT_BASE + spans[i].end * PAGE_SIZE,
				    "region %u", i);
		KUNIT_EXPECT_EQ_MSG(test, got[i].prot, (u32)spans[i].prot,
				    "region %u", i);
	}
	KUNIT_EXPECT_EQ(test, got[nr_spans].start, VT_STACK);
	KUNIT_EXPECT_EQ(test, got[nr_spans].end, TORUSMM_STACK_TOP);
	KUNIT_EXPECT_EQ(test, got[nr_spans].prot, VT_RW);
}

/* Number of spans before the first empty one in @spans. */
static u32 vt_nr_spans(const struct vt_span *spans)
{
	u32 n = 0;

	while (n < VT_MAX_SPANS && spans[n].end)
		n++;
	return n;
}

/* Whether page @page (from VT_BASE) lies in one of @spans, and its prot. */
static bool vt_spans_cover(const struct vt_span *spans, u32 page, u32 *prot)
{
	u32 i;

	for (i = 0; i < vt_nr_spans(spans); i++) {
		if (page >= spans[i].first && page < spans[i].end) {
			*prot = spans[i].prot;
			return true;
		}
	}
	return false;
}

/*
 * Maps @spans and gives each page a frame of its own holding a byte of its
 * own (page number + 1), by writing it: a span that is not writable is
 * mapped read-write, written, then given its protection.  (A read would map
 * the zero frame and take no frame.)  Pages of PROT_NONE regions stay
 * without a frame.
 */
static void vt_map_spans(struct kunit *test, struct tmm_space *space,
			 const struct vt_span *spans)
{
	u32 i, page, va, len;

	for (i = 0; i < vt_nr_spans(spans); i++) {
		va = VT_BASE + spans[i].first * PAGE_SIZE;
		len = (spans[i].end - spans[i].first) * PAGE_SIZE;
		if (spans[i].prot == VT_NONE) {
			vt_mmap(test, space, va, len, VT_NONE, VT_FIXED);
			continue;
		}
		vt_mmap(test, space, va, len, VT_RW, VT_FIXED);
		for (page = spans[i].first; page < spans[i].end; page++)
			vt_fill(test, space, VT_BASE + page * PAGE_SIZE,
				PAGE_SIZE, page + 1);
		if (spans[i].prot != VT_RW)
			KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, va, len,
								 spans[i].prot),
					0);
	}
}

/* The content byte vt_map_spans() gave page @page of a region with @prot. */
static int vt_span_byte(u32 page, u32 prot)
{
	return prot == VT_NONE ? -1 : (u8)(page + 1);
}

static void space_create_has_only_the_stack_region(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_space *space = vt_space_create(test, torus, 77);
	struct torusmm_space_stats stats = vt_stats(space);
	struct tmm_torus_stats tstats;

	vt_expect_spans(test, space, NULL, 0);
	KUNIT_EXPECT_EQ(test, tmm_space_brk(space, 0), VT_HEAP);
	KUNIT_EXPECT_EQ(test, stats.brk, VT_HEAP);
	KUNIT_EXPECT_EQ(test, stats.stack_start, VT_STACK);
	KUNIT_EXPECT_EQ(test, stats.max_frames, 77u);
	KUNIT_EXPECT_EQ(test, stats.nr_data_frames, 0u);
	KUNIT_EXPECT_EQ(test, stats.nr_table_frames, 1u);
	KUNIT_EXPECT_EQ(test, stats.nr_regions, 1u);
	KUNIT_EXPECT_EQ(test, stats.nr_heap_pages, 0u);
	KUNIT_EXPECT_EQ(test, stats.nr_faults, 0ull);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_STACK), 0u);
	tmm_torus_get_stats(torus, &tstats);
	KUNIT_EXPECT_EQ(test, tstats.nr_spaces, 1u);
	KUNIT_EXPECT_EQ(test, tstats.nr_used, 1u);
}

static void space_destroy_returns_every_frame(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_space *space = vt_space_create(test, torus, 0);
	struct tmm_torus_stats stats;
	u32 addr;

	vt_mmap(test, space, VT_BASE + VT_SLOT - 2 * PAGE_SIZE, 4 * PAGE_SIZE,
		VT_RW, VT_FIXED | VT_POPULATE);
	addr = vt_mmap(test, space, 0, 3 * PAGE_SIZE, VT_RX, VT_POPULATE);
	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, addr, PAGE_SIZE,
						 VT_NONE), 0);
	KUNIT_ASSERT_EQ(test, tmm_space_brk(space, VT_HEAP + 3 * PAGE_SIZE),
			VT_HEAP + 3 * PAGE_SIZE);
	vt_fill(test, space, VT_HEAP, 3 * PAGE_SIZE, 0x42);
	vt_fill(test, space, VT_STACK - 5 * PAGE_SIZE, 6 * PAGE_SIZE, 0x43);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_ASSERT_GT(test, stats.nr_used, 15u);

	vt_space_destroy(test, space);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_free, VT_TORUS_FRAMES);
	KUNIT_EXPECT_EQ(test, stats.nr_table_frames, 0u);
	KUNIT_EXPECT_EQ(test, stats.nr_spaces, 0u);
}

/* The quota covers data and table frames; a fault beyond it is -ENOMEM. */
static void space_quota_limits_data_and_table_frames(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_space *space = vt_space_create(test, torus, 4);
	struct torusmm_space_stats stats;
	u32 fault = 0, addr = VT_BASE + VT_SLOT;
	struct tmm_access res;
	u64 tpa;

	vt_mmap(test, space, VT_BASE, 4 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE, 2 * PAGE_SIZE, 1);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_BASE + 2 * PAGE_SIZE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), -ENOMEM);
	stats = vt_stats(space);
	KUNIT_EXPECT_EQ(test, stats.nr_data_frames, 2u);
	KUNIT_EXPECT_EQ(test, stats.nr_table_frames, 2u);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE + 2 * PAGE_SIZE),
			0u);
	KUNIT_EXPECT_EQ(test, tmm_space_write(space, VT_BASE + 2 * PAGE_SIZE,
					      &fault, sizeof(fault), VT_ACC_U,
					      &res), -ENOMEM);

	/* A populating mmap over the quota leaves nothing behind. */
	KUNIT_EXPECT_EQ(test, tmm_space_mmap(space, &addr, PAGE_SIZE, VT_RW,
					     VT_FIXED | VT_POPULATE), -ENOMEM);
	vt_expect_spans(test, space, (const struct vt_span[]){ { 0, 4, VT_RW } },
			1);
	KUNIT_EXPECT_EQ(test, vt_nr_free(torus), VT_TORUS_FRAMES - 4);

	/* Nor does the stack grow when its page cannot be had. */
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_STACK - PAGE_SIZE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), -ENOMEM);
	KUNIT_EXPECT_EQ(test, vt_stats(space).stack_start, VT_STACK);

	/* Freeing a page makes room again. */
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, VT_BASE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_BASE + 2 * PAGE_SIZE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), 0);
}

/*
 * With the torus empty, a read of a page never written still maps the zero
 * frame where its table exists; a fault-in that needs a frame (a write) or a
 * table (a read in a slot without one) is -ENOMEM, not a fault, and maps
 * nothing.
 */
static void fault_in_with_torus_full_returns_enomem(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, 8);
	struct tmm_space *space = vt_space_create(test, torus, 0);
	const u32 other_slot = VT_BASE + VT_SLOT;
	struct torusmm_space_stats before;
	struct tmm_access res;
	u32 fault = 0;
	u64 tpa;
	u8 *buf;

	buf = kunit_kzalloc(test, 2 * PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	vt_mmap(test, space, VT_BASE, 8 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_mmap(test, space, other_slot, PAGE_SIZE, VT_RW, VT_FIXED);
	/* The directory and one table leave six frames for data. */
	vt_fill(test, space, VT_BASE, 6 * PAGE_SIZE, 9);
	KUNIT_ASSERT_EQ(test, vt_nr_free(torus), 0u);
	before = vt_stats(space);

	/* A read needs no frame: the zero frame, counted as a fault-in. */
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_BASE + 6 * PAGE_SIZE,
						  VT_ACC_U, &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, tpa, (u64)TORUSMM_ZERO_FRAME_TPA);
	vt_expect_zero_pte(test, tmm_space_lookup(space, VT_BASE + 6 * PAGE_SIZE),
			   VT_RW);
	memset(buf, 0xff, 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, tmm_space_read(space, VT_BASE + 5 * PAGE_SIZE,
					     buf, 2 * PAGE_SIZE, VT_ACC_U, &res),
			0);
	KUNIT_EXPECT_EQ(test, res.done, 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, buf[0], 9);
	KUNIT_EXPECT_NULL(test, memchr_inv(buf + PAGE_SIZE, 0, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_faults, before.nr_faults + 1);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames,
			before.nr_data_frames);
	KUNIT_EXPECT_EQ(test, vt_nr_free(torus), 0u);

	/* A write needs a frame; a read in an empty slot needs a table. */
	KUNIT_EXPECT_EQ(test, tmm_space_write(space, VT_BASE + 5 * PAGE_SIZE,
					      buf, 2 * PAGE_SIZE, VT_ACC_U,
					      &res), -ENOMEM);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_BASE + 7 * PAGE_SIZE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), -ENOMEM);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, other_slot, VT_ACC_U,
						  &tpa, &fault), -ENOMEM);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames,
			before.nr_data_frames);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_table_frames,
			before.nr_table_frames);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_fault_errors,
			before.nr_fault_errors);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_faults, before.nr_faults + 1);
	vt_expect_zero_pte(test, tmm_space_lookup(space, VT_BASE + 6 * PAGE_SIZE),
			   VT_RW);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE + 7 * PAGE_SIZE),
			0u);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, other_slot), 0u);

	/* A frame given back is enough for the next fault-in. */
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, VT_BASE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_BASE + 6 * PAGE_SIZE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), 0);
	KUNIT_EXPECT_EQ(test, vt_nr_free(torus), 0u);
}

struct vt_brk_case {
	const char *desc;
	u32 start;		/* break set first; 0 leaves the initial one */
	u32 block;		/* a PROT_READ page mapped here first; 0 none */
	u32 request;
	u32 result;
	u32 heap_end;		/* end of the heap region afterwards */
};

#define VT_H(off)	(VT_HEAP + (off))

static const struct vt_brk_case vt_brk_cases[] = {
	{ "query with zero", 0, 0, 0, VT_H(0), VT_H(0) },
	{ "query below the heap start", VT_H(0x2500), 0, VT_H(0) - 1,
	  VT_H(0x2500), VT_H(0x3000) },
	{ "query with one", VT_H(0x1000), 0, 1, VT_H(0x1000), VT_H(0x1000) },
	{ "grow by one byte maps a page", 0, 0, VT_H(1), VT_H(1),
	  VT_H(0x1000) },
	{ "grow by a page", 0, 0, VT_H(0x1000), VT_H(0x1000), VT_H(0x1000) },
	{ "grow unaligned rounds the heap up", 0, 0, VT_H(0x2001), VT_H(0x2001),
	  VT_H(0x3000) },
	{ "grow within the last page", VT_H(0x1001), 0, VT_H(0x1fff),
	  VT_H(0x1fff), VT_H(0x2000) },
	{ "shrink to the start unmaps the heap", VT_H(0x5000), 0, VT_H(0),
	  VT_H(0), VT_H(0) },
	{ "shrink within a page keeps it", VT_H(0x1800), 0, VT_H(0x1001),
	  VT_H(0x1001), VT_H(0x2000) },
	{ "shrink unaligned keeps the partial page", VT_H(0x5000), 0,
	  VT_H(0x2800), VT_H(0x2800), VT_H(0x3000) },
	{ "grow up to a mapping", 0, VT_H(0x4000), VT_H(0x4000), VT_H(0x4000),
	  VT_H(0x4000) },
	{ "grow over a mapping fails", 0, VT_H(0x4000), VT_H(0x8000), VT_H(0),
	  VT_H(0) },
	{ "grow into a mapping's first byte fails", VT_H(0x1000), VT_H(0x3000),
	  VT_H(0x3001), VT_H(0x1000), VT_H(0x1000) },
	{ "grow onto the stack fails", 0, 0, VT_STACK + 1, VT_H(0), VT_H(0) },
	{ "grow past the user end fails", 0, 0, TMM_USER_END + 1, VT_H(0),
	  VT_H(0) },
	{ "grow into the kernel half fails", 0, 0, TORUSMM_KERNEL_BASE + 0x1000,
	  VT_H(0), VT_H(0) },
	{ "grow to the top of the address space fails", 0, 0, 0xffffffffu,
	  VT_H(0), VT_H(0) },
};

static void vt_brk_desc(const struct vt_brk_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_brk, vt_brk_cases, vt_brk_desc);

/* brk returns the new break or the old one, and the heap region follows. */
static void brk_moves_the_break_as_linux_does(struct kunit *test)
{
	const struct vt_brk_case *c = test->param_value;
	struct tmm_space *space = vt_space(test);
	struct torusmm_region got[4];
	struct torusmm_space_stats stats;
	u32 count, i = 0;

	if (c->block)
		vt_mmap(test, space, c->block, PAGE_SIZE, VT_R, VT_FIXED);
	if (c->start)
		KUNIT_ASSERT_EQ(test, tmm_space_brk(space, c->start), c->start);

	KUNIT_EXPECT_EQ(test, tmm_space_brk(space, c->request), c->result);
	KUNIT_EXPECT_EQ(test, tmm_space_brk(space, 0), c->result);
	stats = vt_stats(space);
	KUNIT_EXPECT_EQ(test, stats.brk, c->result);
	KUNIT_EXPECT_EQ(test, stats.nr_heap_pages,
			(c->heap_end - VT_HEAP) >> PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, stats.nr_data_frames, 0u);

	count = vt_regions(test, space, got, ARRAY_SIZE(got));
	KUNIT_ASSERT_EQ(test, count, 1 + !!c->block + (c->heap_end > VT_HEAP));
	if (c->heap_end > VT_HEAP) {
		KUNIT_EXPECT_EQ(test, got[i].start, VT_HEAP);
		KUNIT_EXPECT_EQ(test, got[i].end, c->heap_end);
		KUNIT_EXPECT_EQ(test, got[i].prot, VT_RW);
		i++;
	}
	if (c->block) {
		KUNIT_EXPECT_EQ(test, got[i].start, c->block);
		KUNIT_EXPECT_EQ(test, got[i].prot, VT_R);
		i++;
	}
	KUNIT_EXPECT_EQ(test, got[i].start, VT_STACK);
}

/*
 * The original design's brk test: the heap is demand-zero and usable.  A
 * read maps the zero frame and takes nothing; the pages written take one
 * zeroed frame each.
 */
static void brk_heap_pages_are_demand_zero(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 brk = VT_HEAP + 3 * PAGE_SIZE + 10;
	u32 free_before = vt_nr_free(space->torus);

	KUNIT_ASSERT_EQ(test, tmm_space_brk(space, brk), brk);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 0u);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_HEAP + 5), 0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, brk - 1), 0);
	vt_expect_zero_pte(test, tmm_space_lookup(space, VT_HEAP), VT_RW);
	vt_expect_zero_pte(test, tmm_space_lookup(space, brk - 1), VT_RW);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 0u);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_faults, 2ull);
	/* The heap's table, nothing else. */
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free_before - 1);

	vt_fill(test, space, VT_HEAP + 100, 2 * PAGE_SIZE, 0x77);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_HEAP + 100), 0x77);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_HEAP + 99), 0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space,
					   VT_HEAP + 2 * PAGE_SIZE + 100), 0);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 3u);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free_before - 4);
	vt_expect_pte_prot(test, tmm_space_lookup(space, VT_HEAP), VT_RW);
	vt_expect_zero_pte(test, tmm_space_lookup(space, brk - 1), VT_RW);
	/* Not the heap: above the break's page. */
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_HEAP + 4 * PAGE_SIZE), -1);
}

static void brk_shrink_frees_pages(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 free_before = vt_nr_free(space->torus);
	struct torusmm_space_stats stats;
	struct tmm_access res;
	u8 byte;

	KUNIT_ASSERT_EQ(test, tmm_space_brk(space, VT_HEAP + 4 * PAGE_SIZE),
			VT_HEAP + 4 * PAGE_SIZE);
	vt_fill(test, space, VT_HEAP, 4 * PAGE_SIZE, 0x31);
	KUNIT_ASSERT_EQ(test, vt_nr_free(space->torus), free_before - 5);

	KUNIT_EXPECT_EQ(test, tmm_space_brk(space, VT_HEAP + PAGE_SIZE),
			VT_HEAP + PAGE_SIZE);
	stats = vt_stats(space);
	KUNIT_EXPECT_EQ(test, stats.nr_data_frames, 1u);
	KUNIT_EXPECT_EQ(test, stats.nr_heap_pages, 1u);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free_before - 2);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_HEAP), 0x31);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_HEAP + PAGE_SIZE), 0u);
	KUNIT_ASSERT_EQ(test, tmm_space_read(space, VT_HEAP + PAGE_SIZE, &byte,
					     1, VT_ACC_U, &res), 0);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_U);

	/*
	 * Grown again, the pages come back zeroed: read, the zero frame; once
	 * written, a frame (the one just freed) zeroed but for what was written.
	 */
	KUNIT_ASSERT_EQ(test, tmm_space_brk(space, VT_HEAP + 4 * PAGE_SIZE),
			VT_HEAP + 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_HEAP + PAGE_SIZE),
			0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space,
					   VT_HEAP + 4 * PAGE_SIZE - 1), 0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_HEAP), 0x31);
	vt_fill(test, space, VT_HEAP + PAGE_SIZE, 1, 0x32);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space,
					   VT_HEAP + 2 * PAGE_SIZE - 1), 0);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 2u);

	/* Shrinking to the start frees the last heap frame and table. */
	KUNIT_EXPECT_EQ(test, tmm_space_brk(space, VT_HEAP), VT_HEAP);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free_before);
}

struct vt_mmap_error_case {
	const char *desc;
	u32 addr;
	u64 length;
	u32 prot;
	u32 flags;
	int err;
};

static const struct vt_mmap_error_case vt_mmap_error_cases[] = {
	{ "length zero", VT_BASE, 0, VT_R, VT_FIXED, -EINVAL },
	{ "length zero without a fixed address", 0, 0, VT_R, 0, -EINVAL },
	{ "length beyond 4 GiB", 0, (1ull << 32) + 1, VT_R, 0, -EINVAL },
	{ "prot bit beyond READ, WRITE and EXEC", VT_BASE, PAGE_SIZE, 0x8,
	  VT_FIXED, -EINVAL },
	{ "unknown flag", VT_BASE, PAGE_SIZE, VT_R, VT_FIXED | BIT(3),
	  -EINVAL },
	{ "fixed, unaligned address", VT_BASE + 0x800, PAGE_SIZE, VT_R,
	  VT_FIXED, -EINVAL },
	{ "fixed_noreplace, unaligned address", VT_BASE + 0x800, PAGE_SIZE,
	  VT_R, VT_NOREPLACE, -EINVAL },
	{ "fixed, page zero", 0, PAGE_SIZE, VT_R, VT_FIXED, -EPERM },
	{ "fixed_noreplace, page zero", 0, PAGE_SIZE, VT_R, VT_NOREPLACE,
	  -EPERM },
	{ "fixed, range past the stack guard", TMM_USER_END - PAGE_SIZE,
	  2 * PAGE_SIZE, VT_R, VT_FIXED, -ENOMEM },
	{ "fixed, the guard page", TMM_USER_END, PAGE_SIZE, VT_R, VT_FIXED,
	  -ENOMEM },
	{ "fixed, kernel half", TORUSMM_KERNEL_BASE, PAGE_SIZE, VT_R, VT_FIXED,
	  -ENOMEM },
	{ "fixed, range wrapping past 4 GiB", 0xfffff000u, 2 * PAGE_SIZE, VT_R,
	  VT_FIXED, -ENOMEM },
	{ "fixed, 4 GiB from the first user page", TORUSMM_USER_MIN,
	  1ull << 32, VT_R, VT_FIXED, -ENOMEM },
	{ "no room for 4 GiB", 0, 1ull << 32, VT_R, 0, -ENOMEM },
	{ "no room for 2 GiB", 0, 1ull << 31, VT_RW, VT_POPULATE, -ENOMEM },
};

static void vt_mmap_error_desc(const struct vt_mmap_error_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_mmap_error, vt_mmap_error_cases, vt_mmap_error_desc);

/* A rejected mmap returns Linux's errno and maps nothing. */
static void mmap_rejects_bad_request(struct kunit *test)
{
	const struct vt_mmap_error_case *c = test->param_value;
	struct tmm_space *space = vt_space(test);
	u32 addr = c->addr, free_before = vt_nr_free(space->torus);

	KUNIT_EXPECT_EQ(test, tmm_space_mmap(space, &addr, c->length, c->prot,
					     c->flags), c->err);
	vt_expect_spans(test, space, NULL, 0);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free_before);
}

struct vt_length_case {
	const char *desc;
	u64 length;
	u32 pages;
};

static const struct vt_length_case vt_length_cases[] = {
	{ "one byte", 1, 1 },
	{ "a page less one byte", PAGE_SIZE - 1, 1 },
	{ "a page", PAGE_SIZE, 1 },
	{ "a page and one byte", PAGE_SIZE + 1, 2 },
	{ "three pages and one byte", 3 * PAGE_SIZE + 1, 4 },
	{ "a table's span", VT_SLOT, VT_SLOT / PAGE_SIZE },
};

static void vt_length_desc(const struct vt_length_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_length, vt_length_cases, vt_length_desc);

/* The length is rounded up to whole pages, fixed or placed. */
static void mmap_rounds_length_up_to_pages(struct kunit *test)
{
	const struct vt_length_case *c = test->param_value;
	struct tmm_space *space = vt_space(test);
	struct torusmm_region got[4];
	u32 addr;

	vt_mmap(test, space, VT_BASE, c->length, VT_R, VT_FIXED);
	addr = vt_mmap(test, space, 0, c->length, VT_RW, 0);
	KUNIT_EXPECT_EQ(test, addr, TMM_MMAP_BASE - c->pages * PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, vt_regions(test, space, got, ARRAY_SIZE(got)), 3u);
	KUNIT_EXPECT_EQ(test, got[0].start, VT_BASE);
	KUNIT_EXPECT_EQ(test, got[0].end, VT_BASE + c->pages * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, got[1].start, addr);
	KUNIT_EXPECT_EQ(test, got[1].end, TMM_MMAP_BASE);
}

struct vt_prot_case {
	const char *desc;
	u32 prot;
	u32 region_prot;
};

static const struct vt_prot_case vt_prot_cases[] = {
	{ "PROT_NONE", VT_NONE, VT_NONE },
	{ "PROT_READ", VT_R, VT_R },
	{ "PROT_WRITE implies read", TORUSMM_PROT_WRITE, VT_RW },
	{ "PROT_EXEC implies read", TORUSMM_PROT_EXEC, VT_RX },
	{ "PROT_WRITE|PROT_EXEC implies read",
	  TORUSMM_PROT_WRITE | TORUSMM_PROT_EXEC, VT_RWX },
	{ "PROT_READ|PROT_WRITE", VT_RW, VT_RW },
	{ "PROT_READ|PROT_EXEC", VT_RX, VT_RX },
	{ "PROT_READ|PROT_WRITE|PROT_EXEC", VT_RWX, VT_RWX },
};

static void vt_prot_desc(const struct vt_prot_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_prot, vt_prot_cases, vt_prot_desc);

/*
 * mmap and mprotect record the normalised protection, and a page of the
 * region gets the matching entry bits.
 */
static void mmap_and_mprotect_normalise_prot(struct kunit *test)
{
	const struct vt_prot_case *c = test->param_value;
	struct tmm_space *space = vt_space(test);
	u32 flags = c->prot ? VT_FIXED | VT_POPULATE : VT_FIXED;
	u32 pte;

	vt_mmap(test, space, VT_BASE, PAGE_SIZE, c->prot, flags);
	vt_expect_spans(test, space, (const struct vt_span[]){
				{ 0, 1, c->region_prot } }, 1);
	if (c->prot) {
		pte = tmm_space_lookup(space, VT_BASE);
		vt_expect_pte_prot(test, pte, c->region_prot);
	}

	/* The same through mprotect, on a page that has a frame. */
	vt_mmap(test, space, VT_BASE + 2 * PAGE_SIZE, PAGE_SIZE, VT_RW,
		VT_FIXED | VT_POPULATE);
	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, VT_BASE + 2 * PAGE_SIZE,
						 PAGE_SIZE, c->prot), 0);
	pte = tmm_space_lookup(space, VT_BASE + 2 * PAGE_SIZE);
	vt_expect_pte_prot(test, pte, c->region_prot);
	vt_expect_spans(test, space, (const struct vt_span[]){
				{ 0, 1, c->region_prot },
				{ 2, 3, c->region_prot } }, 2);
}

/* The original design's virtual allocation test, through mmap's placement. */
static void mmap_without_hint_places_top_down(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 first, second, third;

	first = vt_mmap(test, space, 0, 3 * PAGE_SIZE, VT_R, 0);
	second = vt_mmap(test, space, 0, 2 * PAGE_SIZE, VT_RW, 0);
	KUNIT_EXPECT_EQ(test, first, TMM_MMAP_BASE - 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, second, first - 2 * PAGE_SIZE);

	/* The hole left by an munmap is the highest gap again. */
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, first, 3 * PAGE_SIZE), 0);
	third = vt_mmap(test, space, 0, PAGE_SIZE, VT_RX, 0);
	KUNIT_EXPECT_EQ(test, third, TMM_MMAP_BASE - PAGE_SIZE);
}

static void mmap_top_down_skips_gaps_too_small(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	const u32 top = TMM_MMAP_BASE;

	vt_mmap(test, space, top - PAGE_SIZE, PAGE_SIZE, VT_R, VT_FIXED);
	vt_mmap(test, space, top - 3 * PAGE_SIZE, PAGE_SIZE, VT_R, VT_FIXED);
	/* A one-page gap at top - 2 pages: too small for two pages. */
	KUNIT_EXPECT_EQ(test, vt_mmap(test, space, 0, 2 * PAGE_SIZE, VT_RW, 0),
			top - 5 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, vt_mmap(test, space, 0, PAGE_SIZE, VT_RW, 0),
			top - 2 * PAGE_SIZE);
	/* Nothing is placed above the mmap base, where the stack grows. */
	KUNIT_EXPECT_EQ(test, vt_mmap(test, space, 0, PAGE_SIZE, VT_RW, 0),
			top - 6 * PAGE_SIZE);
}

static void mmap_without_room_returns_enomem(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 addr = 0;

	/* One region filling everything below the mmap base. */
	KUNIT_EXPECT_EQ(test, vt_mmap(test, space, 0,
				      TMM_MMAP_BASE - TORUSMM_USER_MIN, VT_R, 0),
			TORUSMM_USER_MIN);
	KUNIT_EXPECT_EQ(test, tmm_space_mmap(space, &addr, PAGE_SIZE, VT_R, 0),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_regions, 2u);
}

static void mmap_hint_is_used_when_free(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);

	/* The first page above page zero is the lowest a mapping may start. */
	KUNIT_EXPECT_EQ(test, vt_mmap(test, space, TORUSMM_USER_MIN, PAGE_SIZE,
				      VT_R, VT_FIXED), TORUSMM_USER_MIN);
	KUNIT_EXPECT_EQ(test, vt_mmap(test, space, TORUSMM_USER_MIN + PAGE_SIZE,
				      PAGE_SIZE, VT_R, 0),
			TORUSMM_USER_MIN + PAGE_SIZE);

	KUNIT_EXPECT_EQ(test, vt_mmap(test, space, VT_BASE, 2 * PAGE_SIZE,
				      VT_RW, 0), VT_BASE);
	/* Right after a mapping is free too. */
	KUNIT_EXPECT_EQ(test, vt_mmap(test, space, VT_BASE + 2 * PAGE_SIZE,
				      PAGE_SIZE, VT_R, 0),
			VT_BASE + 2 * PAGE_SIZE);
	/* A hint in the heap area is used as well. */
	KUNIT_EXPECT_EQ(test, vt_mmap(test, space, VT_HEAP, PAGE_SIZE, VT_R, 0),
			VT_HEAP);
}

struct vt_hint_case {
	const char *desc;
	u32 hint;
	u32 pages;
};

static const struct vt_hint_case vt_hint_cases[] = {
	{ "hint on a mapping", VT_BASE, 1 },
	{ "hint whose range reaches a mapping", VT_BASE - 2 * PAGE_SIZE, 3 },
	{ "hint on page zero", 0, 1 },
	{ "hint on the stack", VT_STACK, 1 },
	{ "hint on the guard page", TMM_USER_END, 1 },
	{ "hint whose range crosses the user end", TMM_USER_END - PAGE_SIZE,
	  2 },
	{ "hint in the kernel half", TORUSMM_KERNEL_BASE, 1 },
	{ "hint at the last page of the address space", 0xfffff000u, 1 },
};

static void vt_hint_desc(const struct vt_hint_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_hint, vt_hint_cases, vt_hint_desc);

/* A hint that cannot be honoured gives the top-down placement. */
static void mmap_unusable_hint_places_top_down(struct kunit *test)
{
	const struct vt_hint_case *c = test->param_value;
	struct tmm_space *space = vt_space(test);

	vt_mmap(test, space, VT_BASE, PAGE_SIZE, VT_R, VT_FIXED);
	KUNIT_EXPECT_EQ(test, vt_mmap(test, space, c->hint,
				      c->pages * PAGE_SIZE, VT_RW, 0),
			TMM_MMAP_BASE - c->pages * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_regions, 3u);
}

/*
 * Reads of a new mapping map the zero frame: each counts a fault-in, none
 * takes a frame (the table excepted); the first write takes one zeroed frame.
 */
static void mmap_is_zero_filled_on_demand(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 addr = vt_mmap(test, space, 0, 3 * PAGE_SIZE, VT_RW, 0);
	u32 free_before = vt_nr_free(space->torus), i;

	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 0u);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_table_frames, 1u);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, vt_read_byte(test, space,
						   addr + i * PAGE_SIZE + i), 0);
	for (i = 0; i < 3; i++)
		vt_expect_zero_pte(test, tmm_space_lookup(space,
							  addr + i * PAGE_SIZE),
				   VT_RW);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 0u);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_table_frames, 2u);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_faults, 3ull);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free_before - 1);

	vt_fill(test, space, addr + PAGE_SIZE + 8, 1, 0x3d);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 1u);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free_before - 2);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, addr + PAGE_SIZE + 8),
			0x3d);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, addr + PAGE_SIZE + 7),
			0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space,
					   addr + 2 * PAGE_SIZE - 1), 0);
	vt_expect_zero_pte(test, tmm_space_lookup(space, addr), VT_RW);
	vt_expect_zero_pte(test, tmm_space_lookup(space, addr + 2 * PAGE_SIZE),
			   VT_RW);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_faults, 3ull);
}

static void mmap_populate_maps_every_page(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	struct torusmm_pte ptes[8];
	const u32 start = VT_BASE + VT_SLOT - 2 * PAGE_SIZE;
	u32 count, i;

	vt_mmap(test, space, start, 5 * PAGE_SIZE, VT_RW,
		VT_FIXED | VT_POPULATE);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 5u);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_table_frames, 3u);
	KUNIT_ASSERT_EQ(test, tmm_space_dump_ptes(space, 0, 1ull << 32, ptes,
						  ARRAY_SIZE(ptes), &count), 0);
	KUNIT_ASSERT_EQ(test, count, 5u);
	for (i = 0; i < count; i++) {
		KUNIT_EXPECT_EQ(test, ptes[i].addr, start + i * PAGE_SIZE);
		KUNIT_EXPECT_EQ(test, ptes[i].pte & VT_PTE_PROT,
				vt_prot_pte(VT_RW));
		KUNIT_EXPECT_EQ(test, vt_frame_byte(space, ptes[i].pte, 7), 0);
	}
}

static void mmap_fixed_replaces_and_frees_old_pages(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 free_before;

	vt_mmap(test, space, VT_BASE, 4 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE, 4 * PAGE_SIZE, 0x11);
	free_before = vt_nr_free(space->torus);

	vt_mmap(test, space, VT_BASE + PAGE_SIZE, 2 * PAGE_SIZE, VT_R,
		VT_FIXED);
	vt_expect_spans(test, space, (const struct vt_span[]){
				{ 0, 1, VT_RW }, { 1, 3, VT_R },
				{ 3, 4, VT_RW } }, 3);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 2u);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free_before + 2);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE + PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE), 0x11);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE + 3 * PAGE_SIZE),
			0x11);
}

static void mmap_fixed_noreplace_overlap_returns_eexist(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 addr = VT_BASE;

	vt_mmap(test, space, VT_BASE + 2 * PAGE_SIZE, PAGE_SIZE, VT_RW,
		VT_FIXED);
	vt_fill(test, space, VT_BASE + 2 * PAGE_SIZE, PAGE_SIZE, 0x22);
	KUNIT_EXPECT_EQ(test, tmm_space_mmap(space, &addr, 4 * PAGE_SIZE, VT_R,
					     VT_NOREPLACE), -EEXIST);
	addr = VT_BASE + 2 * PAGE_SIZE;
	KUNIT_EXPECT_EQ(test, tmm_space_mmap(space, &addr, PAGE_SIZE, VT_R,
					     VT_NOREPLACE | VT_FIXED), -EEXIST);
	vt_expect_spans(test, space, (const struct vt_span[]){
				{ 2, 3, VT_RW } }, 1);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE + 2 * PAGE_SIZE),
			0x22);

	/* Right next to it is no overlap. */
	KUNIT_EXPECT_EQ(test, vt_mmap(test, space, VT_BASE, 2 * PAGE_SIZE, VT_R,
				      VT_NOREPLACE), VT_BASE);
	KUNIT_EXPECT_EQ(test, vt_mmap(test, space, VT_BASE + 3 * PAGE_SIZE,
				      PAGE_SIZE, VT_R, VT_NOREPLACE),
			VT_BASE + 3 * PAGE_SIZE);
}

/* Adjacent regions of equal protection merge, as Linux's anonymous VMAs. */
static void mmap_merges_adjacent_equal_regions(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);

	vt_mmap(test, space, VT_BASE, 2 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_mmap(test, space, VT_BASE + 2 * PAGE_SIZE, 2 * PAGE_SIZE, VT_RW,
		VT_FIXED);
	vt_mmap(test, space, VT_BASE + 4 * PAGE_SIZE, PAGE_SIZE, VT_R, VT_FIXED);
	vt_expect_spans(test, space, (const struct vt_span[]){
				{ 0, 4, VT_RW }, { 4, 5, VT_R } }, 2);
	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, VT_BASE + 4 * PAGE_SIZE,
						 PAGE_SIZE, VT_RW), 0);
	vt_expect_spans(test, space, (const struct vt_span[]){
				{ 0, 5, VT_RW } }, 1);
	/* Filling the gap between two equal regions joins all three. */
	vt_mmap(test, space, VT_BASE + 6 * PAGE_SIZE, PAGE_SIZE, VT_RW,
		VT_FIXED);
	vt_mmap(test, space, VT_BASE + 5 * PAGE_SIZE, PAGE_SIZE, VT_RW,
		VT_FIXED);
	vt_expect_spans(test, space, (const struct vt_span[]){
				{ 0, 7, VT_RW } }, 1);
}

/*
 * A populating MAP_FIXED that fails leaves the mapping it would have
 * replaced, contents included.
 */
static void mmap_populate_failure_keeps_replaced_mapping(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_space *space = vt_space_create(test, torus, 6);
	u32 addr = VT_BASE, free_before;

	vt_mmap(test, space, VT_BASE + PAGE_SIZE, 2 * PAGE_SIZE, VT_RW,
		VT_FIXED);
	vt_fill(test, space, VT_BASE + PAGE_SIZE, 2 * PAGE_SIZE, 0x5c);
	free_before = vt_nr_free(torus);
	KUNIT_EXPECT_EQ(test, tmm_space_mmap(space, &addr, 6 * PAGE_SIZE, VT_R,
					     VT_FIXED | VT_POPULATE), -ENOMEM);
	vt_expect_spans(test, space, (const struct vt_span[]){
				{ 1, 3, VT_RW } }, 1);
	KUNIT_EXPECT_EQ(test, vt_nr_free(torus), free_before);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE + PAGE_SIZE),
			0x5c);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE + 3 * PAGE_SIZE
					   - 1), 0x5c);
}

struct vt_range_error_case {
	const char *desc;
	u32 addr;
	u64 length;
	u32 prot;
	int err;
};

static const struct vt_range_error_case vt_munmap_error_cases[] = {
	{ "unaligned address", VT_BASE + 1, PAGE_SIZE, 0, -EINVAL },
	{ "length zero", VT_BASE, 0, 0, -EINVAL },
	{ "end beyond 4 GiB", 0xfffff000u, 2 * PAGE_SIZE, 0, -EINVAL },
	{ "length beyond 4 GiB", VT_BASE, (1ull << 32) + PAGE_SIZE, 0,
	  -EINVAL },
	{ "range past the stack guard", TMM_USER_END - PAGE_SIZE,
	  2 * PAGE_SIZE, 0, -EINVAL },
	{ "kernel half", TORUSMM_KERNEL_BASE, PAGE_SIZE, 0, -EINVAL },
};

static const struct vt_range_error_case vt_mprotect_error_cases[] = {
	{ "unaligned address", VT_BASE + 1, PAGE_SIZE, VT_R, -EINVAL },
	{ "prot bit beyond READ, WRITE and EXEC", VT_BASE, PAGE_SIZE, 0x8,
	  -EINVAL },
	{ "end beyond 4 GiB", 0xfffff000u, 2 * PAGE_SIZE, VT_R, -EINVAL },
	{ "length zero changes nothing", VT_BASE, 0, VT_R, 0 },
	{ "unaligned address with length zero", VT_BASE + 1, 0, VT_R, -EINVAL },
	{ "last page of the address space", 0xfffff000u, PAGE_SIZE, VT_R,
	  -ENOMEM },
	{ "range with a hole", VT_BASE, 3 * PAGE_SIZE, VT_R, -ENOMEM },
	{ "range starting before the region", VT_BASE - PAGE_SIZE,
	  2 * PAGE_SIZE, VT_R, -ENOMEM },
	{ "range past the stack into the guard page", VT_STACK, 2 * PAGE_SIZE,
	  VT_R, -ENOMEM },
	{ "kernel half", TORUSMM_KERNEL_BASE, PAGE_SIZE, VT_R, -ENOMEM },
	{ "nothing mapped", VT_BASE + VT_SLOT, PAGE_SIZE, VT_RW, -ENOMEM },
};

static void vt_range_error_desc(const struct vt_range_error_case *c,
				char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_munmap_error, vt_munmap_error_cases, vt_range_error_desc);
KUNIT_ARRAY_PARAM(vt_mprotect_error, vt_mprotect_error_cases,
		  vt_range_error_desc);

/* The layout the error cases run on: two pages with a hole, populated. */
static const struct vt_span vt_error_layout[VT_MAX_SPANS] = {
	{ 0, 1, VT_RW }, { 2, 3, VT_RW },
};

/* Expects @space to hold vt_error_layout as vt_map_spans() made it. */
static void vt_expect_error_layout(struct kunit *test, struct tmm_space *space)
{
	vt_expect_spans(test, space, vt_error_layout, 2);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE), 1);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + 2 * PAGE_SIZE), 3);
	vt_expect_pte_prot(test, tmm_space_lookup(space, VT_BASE), VT_RW);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_STACK), 0u);
}

static void munmap_rejects_bad_range(struct kunit *test)
{
	const struct vt_range_error_case *c = test->param_value;
	struct tmm_space *space = vt_space(test);

	vt_map_spans(test, space, vt_error_layout);
	KUNIT_EXPECT_EQ(test, tmm_space_munmap(space, c->addr, c->length),
			c->err);
	vt_expect_error_layout(test, space);
}

/* A refused mprotect changes nothing, not even the part that was mapped. */
static void mprotect_rejects_bad_range(struct kunit *test)
{
	const struct vt_range_error_case *c = test->param_value;
	struct tmm_space *space = vt_space(test);

	vt_map_spans(test, space, vt_error_layout);
	KUNIT_EXPECT_EQ(test, tmm_space_mprotect(space, c->addr, c->length,
						 c->prot), c->err);
	vt_expect_error_layout(test, space);
}

/*
 * A row of region arithmetic: the regions before (pages from VT_BASE), the
 * range (page, length in bytes), the result and the regions after.
 */
struct vt_layout_case {
	const char *desc;
	struct vt_span before[VT_MAX_SPANS];
	u32 page;
	u32 length;
	u32 prot;
	int ret;
	struct vt_span after[VT_MAX_SPANS];
};

#define VT_PAGES(n)	((n) * PAGE_SIZE)

static const struct vt_layout_case vt_munmap_cases[] = {
	{ "whole region", { { 0, 4, VT_RW } }, 0, VT_PAGES(4), 0, 0, {} },
	{ "head of a region", { { 0, 4, VT_RW } }, 0, VT_PAGES(1), 0, 0,
	  { { 1, 4, VT_RW } } },
	{ "tail of a region", { { 0, 4, VT_RW } }, 3, VT_PAGES(1), 0, 0,
	  { { 0, 3, VT_RW } } },
	{ "middle splits a region in two", { { 0, 4, VT_RW } }, 1,
	  VT_PAGES(2), 0, 0, { { 0, 1, VT_RW }, { 3, 4, VT_RW } } },
	{ "one byte unmaps a whole page", { { 0, 4, VT_RW } }, 1, 1, 0, 0,
	  { { 0, 1, VT_RW }, { 2, 4, VT_RW } } },
	{ "several regions and the gaps between",
	  { { 0, 2, VT_RW }, { 3, 5, VT_R }, { 6, 8, VT_RX } }, 1, VT_PAGES(6),
	  0, 0, { { 0, 1, VT_RW }, { 7, 8, VT_RX } } },
	{ "several whole regions",
	  { { 0, 2, VT_RW }, { 3, 5, VT_NONE }, { 6, 8, VT_RX } }, 0,
	  VT_PAGES(8), 0, 0, {} },
	{ "range straddling a region's start", { { 2, 4, VT_R } }, 0,
	  VT_PAGES(3), 0, 0, { { 3, 4, VT_R } } },
	{ "range straddling a region's end", { { 2, 4, VT_RX } }, 3,
	  VT_PAGES(3), 0, 0, { { 2, 3, VT_RX } } },
	{ "nothing mapped in the range", { { 0, 2, VT_RW } }, 4, VT_PAGES(2),
	  0, 0, { { 0, 2, VT_RW } } },
	{ "PROT_NONE region", { { 0, 2, VT_NONE }, { 2, 3, VT_RW } }, 1,
	  VT_PAGES(2), 0, 0, { { 0, 1, VT_NONE } } },
};

static const struct vt_layout_case vt_mprotect_cases[] = {
	{ "middle splits a region in three", { { 0, 4, VT_RW } }, 1,
	  VT_PAGES(2), VT_R, 0,
	  { { 0, 1, VT_RW }, { 1, 3, VT_R }, { 3, 4, VT_RW } } },
	{ "head of a region", { { 0, 4, VT_RW } }, 0, VT_PAGES(1), VT_R, 0,
	  { { 0, 1, VT_R }, { 1, 4, VT_RW } } },
	{ "tail of a region", { { 0, 4, VT_RW } }, 3, VT_PAGES(1), VT_RX, 0,
	  { { 0, 3, VT_RW }, { 3, 4, VT_RX } } },
	{ "whole region", { { 0, 4, VT_RW } }, 0, VT_PAGES(4), VT_R, 0,
	  { { 0, 4, VT_R } } },
	{ "one byte changes a whole page", { { 0, 4, VT_RW } }, 2, 1, VT_R, 0,
	  { { 0, 2, VT_RW }, { 2, 3, VT_R }, { 3, 4, VT_RW } } },
	{ "same protection changes nothing", { { 0, 4, VT_RW } }, 1,
	  VT_PAGES(2), VT_RW, 0, { { 0, 4, VT_RW } } },
	{ "restoring the protection merges back",
	  { { 0, 1, VT_RW }, { 1, 3, VT_R }, { 3, 4, VT_RW } }, 1, VT_PAGES(2),
	  VT_RW, 0, { { 0, 4, VT_RW } } },
	{ "across adjacent regions", { { 0, 2, VT_RW }, { 2, 4, VT_R } }, 1,
	  VT_PAGES(2), VT_RX, 0,
	  { { 0, 1, VT_RW }, { 1, 3, VT_RX }, { 3, 4, VT_R } } },
	{ "write implies read", { { 0, 2, VT_R } }, 0, VT_PAGES(2),
	  TORUSMM_PROT_WRITE, 0, { { 0, 2, VT_RW } } },
	{ "exec implies read", { { 0, 2, VT_RW } }, 0, VT_PAGES(2),
	  TORUSMM_PROT_EXEC, 0, { { 0, 2, VT_RX } } },
	{ "PROT_NONE", { { 0, 2, VT_RW } }, 1, VT_PAGES(1), VT_NONE, 0,
	  { { 0, 1, VT_RW }, { 1, 2, VT_NONE } } },
	{ "from PROT_NONE back to read-write",
	  { { 0, 1, VT_RW }, { 1, 2, VT_NONE } }, 1, VT_PAGES(1), VT_RW, 0,
	  { { 0, 2, VT_RW } } },
	{ "hole in the range fails, nothing changed",
	  { { 0, 2, VT_RW }, { 3, 5, VT_RW } }, 0, VT_PAGES(5), VT_R, -ENOMEM,
	  { { 0, 2, VT_RW }, { 3, 5, VT_RW } } },
	{ "range past the last region fails, nothing changed",
	  { { 0, 2, VT_R }, { 2, 3, VT_RW } }, 1, VT_PAGES(3), VT_RX, -ENOMEM,
	  { { 0, 2, VT_R }, { 2, 3, VT_RW } } },
	{ "range before the first region fails, nothing changed",
	  { { 1, 3, VT_RW } }, 0, VT_PAGES(2), VT_R, -ENOMEM,
	  { { 1, 3, VT_RW } } },
};

static void vt_layout_desc(const struct vt_layout_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_munmap_layout, vt_munmap_cases, vt_layout_desc);
KUNIT_ARRAY_PARAM(vt_mprotect_layout, vt_mprotect_cases, vt_layout_desc);

/*
 * Checks every page of the first 16 after a layout change: a page still in
 * a region keeps its frame and contents with the entry bits of its new
 * protection and the accessed/dirty bits it had; any other page has no frame.
 */
static void vt_expect_pages(struct kunit *test, struct tmm_space *space,
			    const struct vt_layout_case *c, const u32 *before)
{
	u32 page, prot, pte, va, old_prot;
	int byte;

	for (page = 0; page < 16; page++) {
		va = VT_BASE + page * PAGE_SIZE;
		pte = tmm_space_lookup(space, va);
		if (!vt_spans_cover(c->after, page, &prot) ||
		    !vt_spans_cover(c->before, page, &old_prot) ||
		    old_prot == VT_NONE) {
			KUNIT_EXPECT_EQ_MSG(test, pte & TMM_PTE_HOLDS_FRAME, 0u,
					    "page %u", page);
			continue;
		}
		KUNIT_EXPECT_EQ_MSG(test, pte & ~VT_PTE_PROT,
				    before[page] & ~VT_PTE_PROT,
				    "page %u: frame and A/D", page);
		vt_expect_pte_prot(test, pte, prot);
		byte = vt_span_byte(page, old_prot);
		KUNIT_EXPECT_EQ_MSG(test, vt_peek_byte(space, va), byte,
				    "page %u contents", page);
	}
}

/* Runs one munmap or mprotect row of region arithmetic. */
static void vt_run_layout_case(struct kunit *test, bool mprotect)
{
	const struct vt_layout_case *c = test->param_value;
	struct tmm_space *space = vt_space(test);
	u32 before[16], page, nr_frames = 0, prot;
	int ret;

	vt_map_spans(test, space, c->before);
	for (page = 0; page < 16; page++)
		before[page] = tmm_space_lookup(space, VT_BASE + page * PAGE_SIZE);

	if (mprotect)
		ret = tmm_space_mprotect(space, VT_BASE + c->page * PAGE_SIZE,
					 c->length, c->prot);
	else
		ret = tmm_space_munmap(space, VT_BASE + c->page * PAGE_SIZE,
				       c->length);
	KUNIT_EXPECT_EQ(test, ret, c->ret);
	vt_expect_spans(test, space, c->after, vt_nr_spans(c->after));
	vt_expect_pages(test, space, c, before);

	for (page = 0; page < 16; page++)
		if (vt_spans_cover(c->after, page, &prot) &&
		    vt_spans_cover(c->before, page, &prot) &&
		    prot != VT_NONE)
			nr_frames++;
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, nr_frames);
}

static void munmap_splits_and_removes_regions(struct kunit *test)
{
	vt_run_layout_case(test, false);
}

static void mprotect_splits_and_merges_regions(struct kunit *test)
{
	vt_run_layout_case(test, true);
}

static void munmap_frees_empty_tables(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	const u32 start = VT_BASE + VT_SLOT - 2 * PAGE_SIZE;
	u32 free_before = vt_nr_free(space->torus);

	vt_mmap(test, space, start, 4 * PAGE_SIZE, VT_RW,
		VT_FIXED | VT_POPULATE);
	KUNIT_ASSERT_EQ(test, vt_stats(space).nr_table_frames, 3u);
	KUNIT_EXPECT_EQ(test, tmm_space_munmap(space, start, 2 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_table_frames, 2u);
	KUNIT_EXPECT_EQ(test, tmm_space_munmap(space, VT_BASE, 2 * VT_SLOT), 0);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_table_frames, 1u);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 0u);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free_before);
}

/* PROT_NONE keeps the frame and its contents; the page just is not present. */
static void mprotect_none_keeps_contents(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	struct tmm_access res;
	u8 byte = 0x99;

	vt_mmap(test, space, VT_BASE, PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE, PAGE_SIZE, 0x5a);
	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, VT_BASE, PAGE_SIZE,
						 VT_NONE), 0);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 1u);

	KUNIT_ASSERT_EQ(test, tmm_space_read(space, VT_BASE, &byte, 1, VT_ACC_U,
					     &res), 0);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_U);
	KUNIT_EXPECT_EQ(test, res.done, 0u);
	KUNIT_ASSERT_EQ(test, tmm_space_write(space, VT_BASE, &byte, 1,
					      VT_ACC_U, &res), 0);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_W | VT_F_U);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE), 0x5a);

	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, VT_BASE, PAGE_SIZE,
						 VT_RW), 0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE + 17), 0x5a);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_faults, 1ull);
}

/* The original design's mprotect test: read-only makes writes fault. */
static void mprotect_read_only_makes_writes_fault(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	struct tmm_access res;
	u8 byte = 1;

	vt_mmap(test, space, VT_BASE, 2 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE, 2 * PAGE_SIZE, 0x66);
	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, VT_BASE, PAGE_SIZE,
						 VT_R), 0);
	KUNIT_ASSERT_EQ(test, tmm_space_write(space, VT_BASE, &byte, 1,
					      VT_ACC_U, &res), 0);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_P | VT_F_W | VT_F_U);
	KUNIT_EXPECT_EQ(test, res.fault_addr, VT_BASE);
	KUNIT_ASSERT_EQ(test, tmm_space_write(space, VT_BASE, &byte, 1, 0,
					      &res), 0);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_P | VT_F_W);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE), 0x66);
	vt_fill(test, space, VT_BASE + PAGE_SIZE, 1, 0x67);
}

/* The layout the translate cases run on, at VT_BASE (in pages). */
static const struct vt_span vt_translate_layout[VT_MAX_SPANS] = {
	{ 0, 1, VT_R }, { 1, 2, VT_RW }, { 2, 3, VT_RX }, { 3, 4, VT_NONE },
};

/* Pages 5 (read-write) and 7 (read-only) stay without frames. */
#define VT_T_RW_EMPTY	(VT_BASE + 5 * PAGE_SIZE)
#define VT_T_R_EMPTY	(VT_BASE + 7 * PAGE_SIZE)

struct vt_translate_case {
	const char *desc;
	u32 va;
	u32 access;
	u32 fault;
	bool ok;
	u32 frames;		/* data frames a success takes */
	bool zero;		/* a success maps (or meets) the zero frame */
};

static const struct vt_translate_case vt_translate_cases[] = {
	{ "unmapped, user read", VT_BASE + VT_SLOT, VT_ACC_U, VT_F_U },
	{ "unmapped, user write", VT_BASE + VT_SLOT, VT_ACC_W | VT_ACC_U,
	  VT_F_W | VT_F_U },
	{ "unmapped, user fetch", VT_BASE + VT_SLOT, VT_ACC_X | VT_ACC_U,
	  VT_F_X | VT_F_U },
	{ "unmapped, supervisor read", VT_BASE + VT_SLOT, 0, 0 },
	{ "page zero, user read", 0, VT_ACC_U, VT_F_U },
	{ "kernel half, user read", TORUSMM_KERNEL_BASE, VT_ACC_U, VT_F_U },
	{ "kernel half, supervisor write", 0xc0000000u, VT_ACC_W, VT_F_W },
	{ "top page, user fetch", 0xfffff000u, VT_ACC_X | VT_ACC_U,
	  VT_F_X | VT_F_U },
	{ "stack guard page, user write", TMM_USER_END, VT_ACC_W | VT_ACC_U,
	  VT_F_W | VT_F_U },
	{ "below the stack limit, user write",
	  TORUSMM_STACK_TOP - TORUSMM_STACK_LIMIT - PAGE_SIZE,
	  VT_ACC_W | VT_ACC_U, VT_F_W | VT_F_U },
	{ "PROT_NONE, user read", VT_BASE + 3 * PAGE_SIZE, VT_ACC_U, VT_F_U },
	{ "PROT_NONE, user write", VT_BASE + 3 * PAGE_SIZE,
	  VT_ACC_W | VT_ACC_U, VT_F_W | VT_F_U },
	{ "PROT_NONE, supervisor read", VT_BASE + 3 * PAGE_SIZE, 0, 0 },
	{ "read-only, user write", VT_BASE, VT_ACC_W | VT_ACC_U,
	  VT_F_P | VT_F_W | VT_F_U },
	{ "read-only, supervisor write", VT_BASE, VT_ACC_W, VT_F_P | VT_F_W },
	{ "read-only without a frame, user write (not fixed up)", VT_T_R_EMPTY,
	  VT_ACC_W | VT_ACC_U, VT_F_W | VT_F_U },
	{ "read-write, user fetch", VT_BASE + PAGE_SIZE, VT_ACC_X | VT_ACC_U,
	  VT_F_P | VT_F_X | VT_F_U },
	{ "read-write, supervisor fetch", VT_BASE + PAGE_SIZE, VT_ACC_X,
	  VT_F_P | VT_F_X },
	{ "read-write without a frame, user fetch", VT_T_RW_EMPTY,
	  VT_ACC_X | VT_ACC_U, VT_F_X | VT_F_U },
	{ "read-only, user read", VT_BASE, VT_ACC_U, 0, true },
	{ "read-write, user write", VT_BASE + PAGE_SIZE, VT_ACC_W | VT_ACC_U, 0,
	  true },
	{ "read-write, supervisor write", VT_BASE + PAGE_SIZE, VT_ACC_W, 0,
	  true },
	{ "read-exec, user fetch", VT_BASE + 2 * PAGE_SIZE,
	  VT_ACC_X | VT_ACC_U, 0, true },
	{ "read-write without a frame, user write (demand zero)",
	  VT_T_RW_EMPTY, VT_ACC_W | VT_ACC_U, 0, true, .frames = 1 },
	{ "read-only without a frame, user read (the zero frame)",
	  VT_T_R_EMPTY, VT_ACC_U, 0, true, .zero = true },
	{ "read-write without a frame, user read (the zero frame)",
	  VT_T_RW_EMPTY, VT_ACC_U, 0, true, .zero = true },
	{ "read-write without a frame, supervisor read (the zero frame)",
	  VT_T_RW_EMPTY, 0, 0, true, .zero = true },
	{ "stack, user read (the zero frame)", VT_STACK, VT_ACC_U, 0, true,
	  .zero = true },
	{ "stack, user write (demand zero)", VT_STACK, VT_ACC_W | VT_ACC_U, 0,
	  true, .frames = 1 },
};

static void vt_translate_desc(const struct vt_translate_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_translate, vt_translate_cases, vt_translate_desc);

/*
 * translate answers with the x86 page-fault error code, faults in a zeroed
 * frame for a write and the zero frame for a read where the region allows
 * the access, and counts what it did.
 */
static void translate_reports_fault_or_faults_in(struct kunit *test)
{
	const struct vt_translate_case *c = test->param_value;
	struct tmm_space *space = vt_space(test);
	struct torusmm_space_stats before, after;
	u32 fault = 0xdead, pte;
	u64 tpa = 0;
	int ret;

	vt_map_spans(test, space, vt_translate_layout);
	vt_mmap(test, space, VT_T_RW_EMPTY, PAGE_SIZE, VT_RW, VT_FIXED);
	vt_mmap(test, space, VT_T_R_EMPTY, PAGE_SIZE, VT_R, VT_FIXED);
	before = vt_stats(space);

	ret = tmm_space_translate(space, c->va + 0x10, c->access, &tpa, &fault);
	after = vt_stats(space);
	pte = tmm_space_lookup(space, c->va);
	if (c->ok) {
		KUNIT_EXPECT_EQ(test, ret, 0);
		KUNIT_EXPECT_NE(test, pte & TORUSMM_PTE_PRESENT, 0u);
		KUNIT_EXPECT_EQ(test, tpa,
				tmm_frame_to_tpa(TMM_PTE_FRAME(pte)) + 0x10);
		KUNIT_EXPECT_EQ(test, after.nr_translations,
				before.nr_translations + 1);
		KUNIT_EXPECT_EQ(test, after.nr_fault_errors,
				before.nr_fault_errors);
		KUNIT_EXPECT_EQ(test, after.nr_data_frames,
				before.nr_data_frames + c->frames);
		KUNIT_EXPECT_EQ(test, after.nr_faults,
				before.nr_faults + (c->frames || c->zero));
		KUNIT_EXPECT_EQ(test, TMM_PTE_FRAME(pte) == TMM_ZERO_FRAME,
				c->zero);
		KUNIT_EXPECT_EQ(test, !!(pte & TORUSMM_PTE_COW), c->zero);
	} else {
		KUNIT_EXPECT_EQ(test, ret, -EFAULT);
		KUNIT_EXPECT_EQ(test, fault, c->fault);
		KUNIT_EXPECT_EQ(test, after.nr_fault_errors,
				before.nr_fault_errors + 1);
		KUNIT_EXPECT_EQ(test, after.nr_translations,
				before.nr_translations);
		/* A fault is reported, never fixed up by mapping something. */
		KUNIT_EXPECT_EQ(test, after.nr_data_frames,
				before.nr_data_frames);
		KUNIT_EXPECT_EQ(test, after.nr_regions, before.nr_regions);
		KUNIT_EXPECT_EQ(test, after.stack_start, before.stack_start);
	}
}

/*
 * A read translates to the zero frame and takes no frame; the first write
 * takes one zeroed frame, which the later accesses translate to.
 */
static void translate_demand_faults_a_zeroed_frame(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 fault, pte, free_before;
	u64 tpa, again;

	vt_mmap(test, space, VT_BASE, PAGE_SIZE, VT_RW, VT_FIXED);
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE + 0x234,
						  VT_ACC_U, &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, tpa, (u64)TORUSMM_ZERO_FRAME_TPA + 0x234);
	vt_expect_zero_pte(test, tmm_space_lookup(space, VT_BASE), VT_RW);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_faults, 1ull);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 0u);
	free_before = vt_nr_free(space->torus);

	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE + 0x234,
						  VT_ACC_W, &tpa, &fault), 0);
	pte = tmm_space_lookup(space, VT_BASE);
	KUNIT_EXPECT_NE(test, TMM_PTE_FRAME(pte), TMM_ZERO_FRAME);
	KUNIT_EXPECT_EQ(test, tpa, tmm_frame_to_tpa(TMM_PTE_FRAME(pte)) + 0x234);
	vt_expect_pte_prot(test, pte, VT_RW);
	KUNIT_EXPECT_EQ(test, pte & (TORUSMM_PTE_COW | VT_PTE_AD), VT_PTE_AD);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 1u);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free_before - 1);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE), 0);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + 4095), 0);
	/* A copy-on-write break is no fault-in. */
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_faults, 1ull);

	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE, VT_ACC_U,
						  &again, &fault), 0);
	KUNIT_EXPECT_EQ(test, again + 0x234, tpa);
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE, VT_ACC_W,
						  &again, &fault), 0);
	KUNIT_EXPECT_EQ(test, again + 0x234, tpa);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_faults, 1ull);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 1u);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_translations, 4ull);
}

static void translate_read_sets_accessed(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 fault, pte;
	u64 tpa;

	vt_mmap(test, space, VT_BASE, PAGE_SIZE, VT_RW, VT_FIXED);
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE, VT_ACC_U,
						  &tpa, &fault), 0);
	pte = tmm_space_lookup(space, VT_BASE);
	KUNIT_EXPECT_NE(test, pte & TORUSMM_PTE_ACCESSED, 0u);
	KUNIT_EXPECT_EQ(test, pte & TORUSMM_PTE_DIRTY, 0u);
}

static void translate_write_sets_dirty(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 fault;
	u64 tpa;

	vt_mmap(test, space, VT_BASE, PAGE_SIZE, VT_RW, VT_FIXED);
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE, VT_ACC_U,
						  &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE) &
			TORUSMM_PTE_DIRTY, 0u);
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE) & VT_PTE_AD,
			VT_PTE_AD);
	/* A write through tmm_space_write() dirties its page too. */
	vt_mmap(test, space, VT_BASE + PAGE_SIZE, PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE + PAGE_SIZE, 1, 1);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE + PAGE_SIZE) &
			VT_PTE_AD, VT_PTE_AD);
}

/* A peek neither faults in nor sets accessed or dirty bits. */
static void translate_peek_has_no_side_effects(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	struct torusmm_space_stats before;
	u32 fault = 0, pte;
	u64 tpa = 0;

	vt_mmap(test, space, VT_BASE, 2 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_mmap(test, space, VT_BASE + 2 * PAGE_SIZE, PAGE_SIZE, VT_RW,
		VT_FIXED | VT_POPULATE);
	pte = tmm_space_lookup(space, VT_BASE + 2 * PAGE_SIZE);
	before = vt_stats(space);

	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_BASE,
						  TMM_ACCESS_PEEK | VT_ACC_W |
						  VT_ACC_U, &tpa, &fault),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, fault, VT_F_W | VT_F_U);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE), 0u);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_BASE + 2 * PAGE_SIZE,
						  TMM_ACCESS_PEEK | VT_ACC_W |
						  VT_ACC_U, &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, tpa, tmm_frame_to_tpa(TMM_PTE_FRAME(pte)));
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE + 2 * PAGE_SIZE),
			pte);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames,
			before.nr_data_frames);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_faults, before.nr_faults);
}

static void translate_grows_stack_down(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	const u32 page = VT_STACK - 2 * PAGE_SIZE;
	struct torusmm_region got[2];
	u32 fault;
	u64 tpa;

	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, page + 8,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), 0);
	KUNIT_EXPECT_EQ(test, vt_stats(space).stack_start, page);
	KUNIT_ASSERT_EQ(test, vt_regions(test, space, got, ARRAY_SIZE(got)), 1u);
	KUNIT_EXPECT_EQ(test, got[0].start, page);
	KUNIT_EXPECT_EQ(test, got[0].end, TORUSMM_STACK_TOP);
	KUNIT_EXPECT_EQ(test, got[0].prot, VT_RW);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 1u);
	/* The pages between were added to the region, without frames. */
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, page + PAGE_SIZE), 0);
}

static void translate_grows_stack_to_its_limit_only(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	const u32 limit = TORUSMM_STACK_TOP - TORUSMM_STACK_LIMIT;
	u32 fault = 0;
	u64 tpa;

	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, limit - PAGE_SIZE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), -EFAULT);
	KUNIT_EXPECT_EQ(test, fault, VT_F_W | VT_F_U);
	KUNIT_EXPECT_EQ(test, vt_stats(space).stack_start, VT_STACK);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, limit,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), 0);
	KUNIT_EXPECT_EQ(test, vt_stats(space).stack_start, limit);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_regions, 1u);
}

/* The stack grows only through a free gap, never over a mapping. */
static void translate_stack_growth_stops_at_mapping(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	const u32 block = VT_STACK - TMM_STACK_GUARD_GAP - 2 * PAGE_SIZE;
	u32 fault = 0;
	u64 tpa;

	vt_mmap(test, space, block, PAGE_SIZE, VT_R, VT_FIXED);
	/* Just below the mapping: no region, and no stack to grow. */
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, block - PAGE_SIZE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), -EFAULT);
	KUNIT_EXPECT_EQ(test, fault, VT_F_W | VT_F_U);
	KUNIT_EXPECT_EQ(test, vt_stats(space).stack_start, VT_STACK);
	/* A guard gap above the mapping, the stack still grows. */
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space,
						  block + PAGE_SIZE +
						  TMM_STACK_GUARD_GAP,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), 0);
	KUNIT_EXPECT_EQ(test, vt_stats(space).stack_start,
			block + PAGE_SIZE + TMM_STACK_GUARD_GAP);
	/* One page closer to the mapping than the gap: it does not. */
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space,
						  block + TMM_STACK_GUARD_GAP,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), -EFAULT);
	KUNIT_EXPECT_EQ(test, vt_stats(space).stack_start,
			block + PAGE_SIZE + TMM_STACK_GUARD_GAP);
}

/* Once the stack's lowest page is unmapped, the stack no longer grows. */
static void translate_stack_does_not_grow_once_unmapped(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 fault = 0;
	u64 tpa;

	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, VT_STACK, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_STACK - PAGE_SIZE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), -EFAULT);
	/* A new mapping where the stack was is no stack either. */
	vt_mmap(test, space, VT_STACK, PAGE_SIZE, VT_RW, VT_FIXED);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_STACK - PAGE_SIZE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), -EFAULT);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 0u);
}

/* The stack grows with its own protection, as a VM_GROWSDOWN VMA does. */
static void translate_stack_grows_with_its_protection(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 fault = 0;
	u64 tpa;

	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, VT_STACK, PAGE_SIZE,
						 VT_R), 0);
	/* A write below a read-only stack is refused, and grows nothing. */
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_STACK - PAGE_SIZE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), -EFAULT);
	KUNIT_EXPECT_EQ(test, vt_stats(space).stack_start, VT_STACK);
	/* A read grows it, read-only. */
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_STACK - PAGE_SIZE,
						  VT_ACC_U, &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, vt_stats(space).stack_start,
			VT_STACK - PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_regions, 1u);
	KUNIT_EXPECT_FALSE(test, tmm_space_lookup(space, VT_STACK - PAGE_SIZE) &
			   TORUSMM_PTE_WRITABLE);
}

static void write_read_roundtrip_across_pages(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	const u32 len = 3 * PAGE_SIZE - 100, va = VT_BASE + VT_SLOT - 5000;
	struct tmm_access res;
	u8 *out, *in;
	u32 i;
	int ret;

	out = kunit_kmalloc(test, len, GFP_KERNEL);
	in = kunit_kzalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, out);
	KUNIT_ASSERT_NOT_NULL(test, in);
	for (i = 0; i < len; i++)
		out[i] = i * 7 + (i >> 8);
	vt_mmap(test, space, VT_BASE + VT_SLOT - 2 * PAGE_SIZE, 4 * PAGE_SIZE,
		VT_RW, VT_FIXED);

	ret = tmm_space_write(space, va, out, len, VT_ACC_U, &res);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, res.fault, 0u);
	KUNIT_EXPECT_EQ(test, res.done, len);
	ret = tmm_space_read(space, va, in, len, 0, &res);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, res.done, len);
	KUNIT_EXPECT_EQ(test, memcmp(in, out, len), 0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, va - 1), 0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, va + len), 0);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 4u);
}

/* A write copies up to the first page that faults and reports that page. */
static void write_stops_at_first_fault(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	const u32 len = 3 * PAGE_SIZE;
	struct tmm_access res;
	u8 *buf;
	int ret;

	buf = kunit_kmalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	memset(buf, 0x3c, len);
	vt_mmap(test, space, VT_BASE, 2 * PAGE_SIZE, VT_RW, VT_FIXED);

	ret = tmm_space_write(space, VT_BASE + 100, buf, len, VT_ACC_U, &res);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, res.done, 2 * PAGE_SIZE - 100);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_W | VT_F_U);
	KUNIT_EXPECT_EQ(test, res.fault_addr, VT_BASE + 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + 99), 0);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + 100), 0x3c);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + 2 * PAGE_SIZE - 1),
			0x3c);

	/* Without USER, the same fault lacks the user bit. */
	ret = tmm_space_write(space, VT_BASE + PAGE_SIZE, buf, len, 0, &res);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, res.done, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_W);
}

static void read_stops_at_first_fault(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	struct tmm_access res;
	u8 *buf;
	int ret;

	buf = kunit_kzalloc(test, 3 * PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	vt_mmap(test, space, VT_BASE, PAGE_SIZE, VT_RW, VT_FIXED);
	vt_mmap(test, space, VT_BASE + PAGE_SIZE, PAGE_SIZE, VT_NONE, VT_FIXED);
	vt_fill(test, space, VT_BASE, PAGE_SIZE, 0x4d);

	ret = tmm_space_read(space, VT_BASE + 10, buf, 2 * PAGE_SIZE,
			     VT_ACC_U, &res);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, res.done, PAGE_SIZE - 10);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_U);
	KUNIT_EXPECT_EQ(test, res.fault_addr, VT_BASE + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, buf[0], 0x4d);
	KUNIT_EXPECT_EQ(test, buf[PAGE_SIZE - 11], 0x4d);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_fault_errors, 1ull);
}

/* A write into a read-only page faults before copying anything. */
static void write_to_read_only_page_faults_protection(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	struct tmm_access res;
	u8 buf[16] = { 1 };

	vt_mmap(test, space, VT_BASE, PAGE_SIZE, VT_R, VT_FIXED | VT_POPULATE);
	KUNIT_ASSERT_EQ(test, tmm_space_write(space, VT_BASE + 4, buf,
					      sizeof(buf), VT_ACC_U, &res), 0);
	KUNIT_EXPECT_EQ(test, res.done, 0u);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_P | VT_F_W | VT_F_U);
	KUNIT_EXPECT_EQ(test, res.fault_addr, VT_BASE + 4);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + 4), 0);
}

/*
 * Builds the space the clone tests copy: regions, heap, stack and data, a
 * PROT_NONE page that holds a frame, and a heap page that maps the zero
 * frame.
 */
static void vt_clone_source(struct kunit *test, struct tmm_space *space)
{
	static const struct vt_span layout[VT_MAX_SPANS] = {
		{ 0, 2, VT_RW }, { 2, 3, VT_R }, { 3, 4, VT_RX },
	};
	u32 fault;
	u64 tpa;

	vt_map_spans(test, space, layout);
	vt_mmap(test, space, VT_BASE + VT_SLOT, 2 * PAGE_SIZE, VT_RW,
		VT_FIXED | VT_POPULATE);
	vt_fill(test, space, VT_BASE + VT_SLOT, 1, 0x5b);
	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, VT_BASE + VT_SLOT,
						 PAGE_SIZE, VT_NONE), 0);
	KUNIT_ASSERT_EQ(test, tmm_space_brk(space, VT_HEAP + 2 * PAGE_SIZE + 1),
			VT_HEAP + 2 * PAGE_SIZE + 1);
	vt_fill(test, space, VT_HEAP + PAGE_SIZE, 8, 0xab);
	KUNIT_ASSERT_EQ(test, vt_read_byte(test, space, VT_HEAP), 0);
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_STACK - PAGE_SIZE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), 0);
}

/* Pages of vt_clone_source(): read-write, read-only, PROT_NONE, zero frame. */
#define VT_C_RW		VT_BASE
#define VT_C_RW2	(VT_BASE + PAGE_SIZE)
#define VT_C_R		(VT_BASE + 2 * PAGE_SIZE)
#define VT_C_NONE	(VT_BASE + VT_SLOT)
#define VT_C_ZERO	VT_HEAP

/*
 * The original design's clone test, copy-on-write: the clone has the same
 * regions, break, stack and contents, and maps every frame of the source.
 * Both entries become read-only and copy-on-write, the clone's old (accessed
 * clear, dirty kept), and each frame has two references (the zero frame
 * none).  Only the clone's tables take frames from the torus; the shared
 * frames count in both spaces and are charged to the user twice.
 */
static void clone_shares_regions_brk_stack_and_frames(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_space *space = vt_space_create(test, torus, 99);
	struct torusmm_region *src_regions, *dst_regions;
	struct torusmm_pte *old_ptes, *src_ptes, *dst_ptes;
	struct torusmm_space_stats src, dst;
	u32 nr_old, nr_src, nr_dst, i, free_before, nr_zero = 0;
	struct tmm_torus_stats tstats;
	struct tmm_space *copy;
	long user_before;

	src_regions = kunit_kcalloc(test, VT_NR_REGIONS, sizeof(*src_regions),
				    GFP_KERNEL);
	dst_regions = kunit_kcalloc(test, VT_NR_REGIONS, sizeof(*dst_regions),
				    GFP_KERNEL);
	old_ptes = kunit_kcalloc(test, VT_NR_PTES, sizeof(*old_ptes),
				 GFP_KERNEL);
	src_ptes = kunit_kcalloc(test, VT_NR_PTES, sizeof(*src_ptes),
				 GFP_KERNEL);
	dst_ptes = kunit_kcalloc(test, VT_NR_PTES, sizeof(*dst_ptes),
				 GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, src_regions && dst_regions && old_ptes &&
			  src_ptes && dst_ptes);
	vt_clone_source(test, space);
	KUNIT_ASSERT_EQ(test, tmm_space_dump_ptes(space, 0, 1ull << 32,
						  old_ptes, VT_NR_PTES,
						  &nr_old), 0);
	free_before = vt_nr_free(torus);
	user_before = vt_user_frames(space);

	copy = vt_space_register(test, tmm_space_clone(space));
	src = vt_stats(space);
	dst = vt_stats(copy);
	KUNIT_EXPECT_EQ(test, dst.brk, src.brk);
	KUNIT_EXPECT_EQ(test, dst.stack_start, src.stack_start);
	KUNIT_EXPECT_EQ(test, dst.max_frames, 99u);
	KUNIT_EXPECT_EQ(test, dst.nr_data_frames, src.nr_data_frames);
	KUNIT_EXPECT_EQ(test, dst.nr_table_frames, src.nr_table_frames);
	KUNIT_EXPECT_EQ(test, dst.nr_regions, src.nr_regions);
	KUNIT_EXPECT_EQ(test, dst.nr_heap_pages, src.nr_heap_pages);
	KUNIT_EXPECT_EQ(test, dst.nr_faults, 0ull);
	KUNIT_EXPECT_EQ(test, dst.nr_translations, 0ull);
	/* The torus gives the clone its tables only; the user pays for all. */
	KUNIT_EXPECT_EQ(test, free_before - vt_nr_free(torus),
			dst.nr_table_frames);
	KUNIT_EXPECT_EQ(test, vt_user_frames(space),
			user_before + dst.nr_table_frames + dst.nr_data_frames);
	tmm_torus_get_stats(torus, &tstats);
	KUNIT_EXPECT_EQ(test, tstats.nr_spaces, 2u);

	nr_src = vt_regions(test, space, src_regions, VT_NR_REGIONS);
	nr_dst = vt_regions(test, copy, dst_regions, VT_NR_REGIONS);
	KUNIT_ASSERT_EQ(test, nr_dst, nr_src);
	KUNIT_EXPECT_EQ(test, memcmp(src_regions, dst_regions,
				     nr_src * sizeof(*src_regions)), 0);

	KUNIT_ASSERT_EQ(test, tmm_space_dump_ptes(space, 0, 1ull << 32,
						  src_ptes, VT_NR_PTES,
						  &nr_src), 0);
	KUNIT_ASSERT_EQ(test, tmm_space_dump_ptes(copy, 0, 1ull << 32,
						  dst_ptes, VT_NR_PTES,
						  &nr_dst), 0);
	KUNIT_ASSERT_EQ(test, nr_src, nr_old);
	KUNIT_ASSERT_EQ(test, nr_dst, nr_old);
	for (i = 0; i < nr_old; i++) {
		u32 old = old_ptes[i].pte, sp = src_ptes[i].pte;
		u32 dp = dst_ptes[i].pte, frame = TMM_PTE_FRAME(old);
		bool zero = frame == TMM_ZERO_FRAME;

		KUNIT_EXPECT_EQ(test, src_ptes[i].addr, old_ptes[i].addr);
		KUNIT_EXPECT_EQ(test, dst_ptes[i].addr, old_ptes[i].addr);
		KUNIT_EXPECT_EQ_MSG(test, sp, (old | TORUSMM_PTE_COW) &
				    ~TORUSMM_PTE_WRITABLE, "source %#x",
				    old_ptes[i].addr);
		KUNIT_EXPECT_EQ_MSG(test, dp, sp & ~TORUSMM_PTE_ACCESSED,
				    "clone %#x", old_ptes[i].addr);
		KUNIT_EXPECT_EQ_MSG(test, tmm_frame_refs(torus, frame),
				    zero ? 0u : 2u, "frame of %#x",
				    old_ptes[i].addr);
		nr_zero += zero;
	}
	KUNIT_EXPECT_EQ(test, nr_zero, 1u);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_HEAP + PAGE_SIZE),
			0xab);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_C_RW2), 2);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_C_R), 3);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_C_ZERO), 0);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(copy, VT_C_NONE), 0x5b);
	/* Reads share on. */
	KUNIT_EXPECT_EQ(test, vt_refs(space, VT_C_RW2), 2u);
	KUNIT_EXPECT_EQ(test, vt_nr_free(torus),
			free_before - dst.nr_table_frames);
}

/* A write in the clone is not seen in the parent, and the other way. */
static void clone_is_isolated_both_ways(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	struct tmm_space *copy;

	vt_clone_source(test, space);
	copy = vt_space_register(test, tmm_space_clone(space));

	vt_fill(test, copy, VT_BASE, 4, 0xc1);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE), 1);
	/* The clone's copy holds the rest of the page. */
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_BASE + 4), 1);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_BASE + 4095), 1);
	vt_fill(test, space, VT_BASE + PAGE_SIZE, 4, 0xc2);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_BASE + PAGE_SIZE), 2);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE + PAGE_SIZE + 4),
			2);
	vt_fill(test, copy, VT_C_ZERO, 4, 0xc3);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_C_ZERO), 0);

	/* Layout changes stay on their side too. */
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(copy, VT_BASE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE), 1);
	KUNIT_ASSERT_EQ(test, tmm_space_brk(space, VT_HEAP), VT_HEAP);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_HEAP + PAGE_SIZE),
			0xab);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_C_ZERO), 0xc3);

	/* A destroyed parent leaves the clone intact. */
	vt_space_destroy(test, space);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_BASE + PAGE_SIZE), 2);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(copy, VT_C_NONE), 0x5b);
}

/* What a copy-on-write step must leave: counters of both spaces and the torus. */
struct vt_cow_counts {
	u32 free;		/* free frames of the torus */
	u32 src_data;		/* nr_data_frames of the source */
	u32 dst_data;		/* ... and of the clone */
	long user;		/* frames charged to the user of both */
};

/* Takes the counters a copy-on-write step changes. */
static struct vt_cow_counts vt_cow_counts(struct tmm_space *src,
					  struct tmm_space *dst)
{
	return (struct vt_cow_counts){
		.free = vt_nr_free(src->torus),
		.src_data = vt_stats(src).nr_data_frames,
		.dst_data = vt_stats(dst).nr_data_frames,
		.user = vt_user_frames(src),
	};
}

/* Expects the counters of @src and @dst to be @want, naming the step. */
static void vt_expect_cow_counts(struct kunit *test, struct tmm_space *src,
				 struct tmm_space *dst,
				 struct vt_cow_counts want, const char *step)
{
	struct vt_cow_counts got = vt_cow_counts(src, dst);

	KUNIT_EXPECT_EQ_MSG(test, got.free, want.free, "%s: free frames", step);
	KUNIT_EXPECT_EQ_MSG(test, got.src_data, want.src_data,
			    "%s: data frames of the source", step);
	KUNIT_EXPECT_EQ_MSG(test, got.dst_data, want.dst_data,
			    "%s: data frames of the clone", step);
	KUNIT_EXPECT_EQ_MSG(test, got.user, want.user, "%s: user's frames",
			    step);
}

/*
 * The first write to a shared page copies the frame for the space that
 * writes (a frame from the torus, none from the user, who paid for both
 * mappings already), with the rest of the page; the other space's entry
 * is the frame's last mapping then, and its first write takes no frame but
 * makes the entry writable again.  Either side may write first.
 */
static void clone_write_copies_the_frame_once(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	struct tmm_space *copy, *first, *second;
	struct vt_cow_counts want;
	u32 shared, pte, fp, side;

	vt_clone_source(test, space);
	copy = vt_space_register(test, tmm_space_clone(space));

	for (side = 0; side < 2; side++) {
		const u32 va = side ? VT_C_RW2 : VT_C_RW;
		const u8 old = side ? 2 : 1;

		first = side ? space : copy;
		second = side ? copy : space;
		shared = vt_frame(space, va);
		KUNIT_ASSERT_EQ(test, vt_refs(space, va), 2u);
		want = vt_cow_counts(space, copy);

		vt_fill(test, first, va + 8, 4, 0xc1 + side);
		want.free--;
		vt_expect_cow_counts(test, space, copy, want, "first write");
		pte = tmm_space_lookup(first, va);
		fp = TMM_PTE_FRAME(pte);
		KUNIT_EXPECT_NE(test, fp, shared);
		KUNIT_EXPECT_NE(test, fp, (u32)TMM_ZERO_FRAME);
		KUNIT_EXPECT_EQ(test, pte & (VT_PTE_PROT | TORUSMM_PTE_COW),
				vt_prot_pte(VT_RW));
		KUNIT_EXPECT_EQ(test, pte & VT_PTE_AD, VT_PTE_AD);
		KUNIT_EXPECT_EQ(test, tmm_frame_refs(space->torus, fp), 1u);
		KUNIT_EXPECT_EQ(test, tmm_frame_refs(space->torus, shared), 1u);
		pte = tmm_space_lookup(second, va);
		KUNIT_EXPECT_EQ(test, TMM_PTE_FRAME(pte), shared);
		KUNIT_EXPECT_EQ(test, pte & (VT_PTE_PROT | TORUSMM_PTE_COW),
				vt_cow_pte(VT_RW));
		KUNIT_EXPECT_EQ(test, vt_peek_byte(first, va + 8), 0xc1 + side);
		KUNIT_EXPECT_EQ(test, vt_peek_byte(first, va + 7), old);
		KUNIT_EXPECT_EQ(test, vt_peek_byte(first, va + 4095), old);
		KUNIT_EXPECT_EQ(test, vt_peek_byte(second, va + 8), old);

		/* The last mapping: no frame, the same frame made writable. */
		vt_fill(test, second, va + 8, 1, 0xd1 + side);
		vt_expect_cow_counts(test, space, copy, want, "last write");
		pte = tmm_space_lookup(second, va);
		KUNIT_EXPECT_EQ(test, TMM_PTE_FRAME(pte), shared);
		KUNIT_EXPECT_EQ(test, pte & (VT_PTE_PROT | TORUSMM_PTE_COW),
				vt_prot_pte(VT_RW));
		KUNIT_EXPECT_EQ(test, tmm_frame_refs(space->torus, shared), 1u);
		KUNIT_EXPECT_EQ(test, vt_peek_byte(second, va + 8), 0xd1 + side);
		KUNIT_EXPECT_EQ(test, vt_peek_byte(first, va + 8), 0xc1 + side);
	}
	KUNIT_EXPECT_EQ(test, vt_stats(copy).nr_faults, 0ull);
}

/*
 * A shared page stays read-only whatever its protection becomes: a write in
 * a read-only region faults and changes nothing, mprotect (PROT_NONE
 * included) keeps the entry copy-on-write, and the first write the new
 * protection allows copies the frame with its contents.
 */
static void clone_shared_page_stays_read_only_under_mprotect(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	struct vt_cow_counts want;
	struct tmm_space *copy;
	struct tmm_access res;
	u32 pte, shared;
	u8 byte = 0x99;

	vt_clone_source(test, space);
	copy = vt_space_register(test, tmm_space_clone(space));
	want = vt_cow_counts(space, copy);

	/* Read-only: a protection fault, the frame still shared. */
	shared = vt_frame(copy, VT_C_R);
	KUNIT_ASSERT_EQ(test, tmm_space_write(copy, VT_C_R, &byte, 1, VT_ACC_U,
					      &res), 0);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_P | VT_F_W | VT_F_U);
	KUNIT_EXPECT_EQ(test, vt_refs(copy, VT_C_R), 2u);
	vt_expect_cow_counts(test, space, copy, want, "write to read-only");

	/* Writable again, still copy-on-write: the write copies. */
	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(copy, VT_C_R, PAGE_SIZE,
						 VT_RWX), 0);
	pte = tmm_space_lookup(copy, VT_C_R);
	KUNIT_EXPECT_EQ(test, pte & (VT_PTE_PROT | TORUSMM_PTE_COW),
			vt_cow_pte(VT_RWX));
	KUNIT_EXPECT_EQ(test, TMM_PTE_FRAME(pte), shared);
	vt_fill(test, copy, VT_C_R + 1, 1, 0x33);
	want.free--;
	vt_expect_cow_counts(test, space, copy, want, "write after mprotect");
	KUNIT_EXPECT_NE(test, vt_frame(copy, VT_C_R), shared);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(copy, VT_C_R), 3);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(copy, VT_C_R + 1), 0x33);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_C_R + 1), 3);
	vt_expect_pte_prot(test, tmm_space_lookup(copy, VT_C_R), VT_RWX);

	/* A shared PROT_NONE page: made writable, its write copies it. */
	shared = vt_frame(copy, VT_C_NONE);
	pte = tmm_space_lookup(copy, VT_C_NONE);
	KUNIT_EXPECT_EQ(test, pte & (TMM_PTE_HOLDS_FRAME | TORUSMM_PTE_COW |
				     TORUSMM_PTE_WRITABLE),
			TORUSMM_PTE_PROTNONE | TORUSMM_PTE_COW);
	KUNIT_EXPECT_EQ(test, vt_refs(copy, VT_C_NONE), 2u);
	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(copy, VT_C_NONE, PAGE_SIZE,
						 VT_RW), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(copy, VT_C_NONE) &
			(VT_PTE_PROT | TORUSMM_PTE_COW), vt_cow_pte(VT_RW));
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_C_NONE), 0x5b);
	KUNIT_EXPECT_EQ(test, vt_refs(copy, VT_C_NONE), 2u);
	vt_fill(test, copy, VT_C_NONE + 100, 1, 0x5c);
	want.free--;
	vt_expect_cow_counts(test, space, copy, want, "write to PROT_NONE");
	KUNIT_EXPECT_EQ(test, vt_peek_byte(copy, VT_C_NONE), 0x5b);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_C_NONE + 100), 0);
	KUNIT_EXPECT_EQ(test, tmm_frame_refs(space->torus, shared), 1u);
	/* The source's PROT_NONE entry, the frame's last mapping, unchanged. */
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_C_NONE) &
			(TMM_PTE_HOLDS_FRAME | TORUSMM_PTE_COW),
			TORUSMM_PTE_PROTNONE | TORUSMM_PTE_COW);
}

/*
 * A page that maps the zero frame is shared by the clone at no cost; a
 * write on either side gives that side a zeroed frame of its own, counted in
 * that space only.
 */
static void clone_zero_page_write_takes_a_zeroed_frame(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	struct vt_cow_counts want;
	struct tmm_space *copy;

	vt_clone_source(test, space);
	copy = vt_space_register(test, tmm_space_clone(space));
	vt_expect_zero_pte(test, tmm_space_lookup(copy, VT_C_ZERO), VT_RW);
	want = vt_cow_counts(space, copy);

	vt_fill(test, copy, VT_C_ZERO + 5, 1, 0x7a);
	want.free--;
	want.dst_data++;
	want.user++;
	vt_expect_cow_counts(test, space, copy, want, "clone's write");
	vt_expect_pte_prot(test, tmm_space_lookup(copy, VT_C_ZERO), VT_RW);
	KUNIT_EXPECT_EQ(test, vt_refs(copy, VT_C_ZERO), 1u);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(copy, VT_C_ZERO + 4), 0);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(copy, VT_C_ZERO + 5), 0x7a);
	vt_expect_zero_pte(test, tmm_space_lookup(space, VT_C_ZERO), VT_RW);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_C_ZERO + 5), 0);

	vt_fill(test, space, VT_C_ZERO + 6, 1, 0x7b);
	want.free--;
	want.src_data++;
	want.user++;
	vt_expect_cow_counts(test, space, copy, want, "source's write");
	KUNIT_EXPECT_NE(test, vt_frame(space, VT_C_ZERO),
			vt_frame(copy, VT_C_ZERO));
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_C_ZERO + 5), 0);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(copy, VT_C_ZERO + 6), 0);
}

/*
 * Clones of clones share one frame three ways: tmm_frame_refs() counts
 * every mapping, each write takes a frame until the last sharer, whose write
 * takes none, and every counter is exact at each step.
 */
static void clone_chain_of_three_shares_one_frame(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_space *a = vt_space_create(test, torus, 0), *b, *c;
	u32 frame, free, i;
	long user;
	struct {
		struct tmm_space **writer;
		u32 refs_after;		/* of the first frame */
		bool takes_frame;
	} steps[] = {
		{ &b, 2, true }, { &a, 1, true }, { &c, 1, false },
	};

	vt_mmap(test, a, VT_BASE, 2 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, a, VT_BASE, 2 * PAGE_SIZE, 0x3e);
	frame = vt_frame(a, VT_BASE);
	user = vt_user_frames(a);
	b = vt_space_register(test, tmm_space_clone(a));
	c = vt_space_register(test, tmm_space_clone(b));
	KUNIT_EXPECT_EQ(test, tmm_frame_refs(torus, frame), 3u);
	KUNIT_EXPECT_EQ(test, vt_frame(c, VT_BASE), frame);
	/* Three directories and three tables, two data frames. */
	KUNIT_EXPECT_EQ(test, VT_TORUS_FRAMES - vt_nr_free(torus), 8u);
	/* Each clone pays for its tables and both shared frames. */
	KUNIT_EXPECT_EQ(test, vt_user_frames(a), user + 8);
	KUNIT_EXPECT_EQ(test, vt_stats(c).nr_data_frames, 2u);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(c, VT_BASE) &
			(VT_PTE_PROT | TORUSMM_PTE_COW | VT_PTE_AD),
			vt_cow_pte(VT_RW) | TORUSMM_PTE_DIRTY);

	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		struct tmm_space *writer = *steps[i].writer;

		free = vt_nr_free(torus);
		vt_fill(test, writer, VT_BASE + 1, 1, 0x40 + i);
		KUNIT_EXPECT_EQ_MSG(test, vt_nr_free(torus),
				    free - steps[i].takes_frame, "step %u", i);
		KUNIT_EXPECT_EQ_MSG(test, tmm_frame_refs(torus, frame),
				    steps[i].refs_after, "step %u", i);
		KUNIT_EXPECT_EQ_MSG(test, vt_frame(writer, VT_BASE) == frame,
				    !steps[i].takes_frame, "step %u", i);
		KUNIT_EXPECT_EQ_MSG(test, vt_refs(writer, VT_BASE), 1u,
				    "step %u", i);
		KUNIT_EXPECT_EQ_MSG(test, vt_stats(writer).nr_data_frames, 2u,
				    "step %u", i);
	}
	KUNIT_EXPECT_EQ(test, vt_peek_byte(a, VT_BASE + 1), 0x41);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(b, VT_BASE + 1), 0x40);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(c, VT_BASE + 1), 0x42);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(c, VT_BASE), 0x3e);
	/* The second page, never written, is still one frame for three. */
	KUNIT_EXPECT_EQ(test, vt_refs(a, VT_BASE + PAGE_SIZE), 3u);
	KUNIT_EXPECT_EQ(test, VT_TORUS_FRAMES - vt_nr_free(torus), 10u);
	KUNIT_EXPECT_EQ(test, vt_user_frames(a), user + 8);
}

/* Which space of a pair a clone test gives up first. */
struct vt_sharer_case {
	const char *desc;
	bool source_first;	/* destroy the source first, else the clone */
	bool by_munmap;		/* unmap the pages instead of destroying */
};

static const struct vt_sharer_case vt_sharer_cases[] = {
	{ "source destroyed first", true, false },
	{ "clone destroyed first", false, false },
	{ "source unmaps first", true, true },
	{ "clone unmaps first", false, true },
};

static void vt_sharer_desc(const struct vt_sharer_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_sharer, vt_sharer_cases, vt_sharer_desc);

/*
 * When one of two sharers goes (destroyed, or its pages unmapped), each
 * shared frame stays with the other, which holds its last reference: no
 * frame returns to the torus, the survivor's data is intact, its first
 * write takes no frame; when the survivor goes too, every frame is back.
 */
static void clone_frames_go_back_with_their_last_sharer(struct kunit *test)
{
	const struct vt_sharer_case *c = test->param_value;
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_space *space = vt_space_create(test, torus, 0);
	const u32 len = 4 * PAGE_SIZE;
	struct tmm_space *copy, *gone, *kept;
	u32 free, frames[4], i, tables;

	vt_mmap(test, space, VT_BASE, len, VT_RW, VT_FIXED);
	for (i = 0; i < 4; i++)
		vt_fill(test, space, VT_BASE + i * PAGE_SIZE, PAGE_SIZE, 0x61 + i);
	copy = vt_space_register(test, tmm_space_clone(space));
	gone = c->source_first ? space : copy;
	kept = c->source_first ? copy : space;
	for (i = 0; i < 4; i++) {
		frames[i] = vt_frame(space, VT_BASE + i * PAGE_SIZE);
		KUNIT_EXPECT_EQ(test, tmm_frame_refs(torus, frames[i]), 2u);
	}
	free = vt_nr_free(torus);
	tables = vt_stats(gone).nr_table_frames;

	if (c->by_munmap) {
		KUNIT_ASSERT_EQ(test, tmm_space_munmap(gone, VT_BASE, len), 0);
		KUNIT_EXPECT_EQ(test, vt_stats(gone).nr_data_frames, 0u);
		/* Its table went with its last entry. */
		KUNIT_EXPECT_EQ(test, vt_nr_free(torus), free + 1);
	} else {
		vt_space_destroy(test, gone);
		KUNIT_EXPECT_EQ(test, vt_nr_free(torus), free + tables);
	}
	for (i = 0; i < 4; i++) {
		KUNIT_EXPECT_EQ(test, tmm_frame_refs(torus, frames[i]), 1u);
		KUNIT_EXPECT_EQ(test, vt_frame(kept, VT_BASE + i * PAGE_SIZE),
				frames[i]);
		KUNIT_EXPECT_EQ(test, vt_peek_byte(kept, VT_BASE + i * PAGE_SIZE),
				0x61 + i);
	}
	KUNIT_EXPECT_EQ(test, vt_stats(kept).nr_data_frames, 4u);
	free = vt_nr_free(torus);
	vt_fill(test, kept, VT_BASE + 2 * PAGE_SIZE, 8, 0x70);
	KUNIT_EXPECT_EQ(test, vt_nr_free(torus), free);
	KUNIT_EXPECT_EQ(test, vt_frame(kept, VT_BASE + 2 * PAGE_SIZE),
			frames[2]);
	vt_expect_pte_prot(test, tmm_space_lookup(kept, VT_BASE + 2 * PAGE_SIZE),
			   VT_RW);
	KUNIT_EXPECT_FALSE(test, tmm_space_lookup(kept, VT_BASE + 2 * PAGE_SIZE) &
			   TORUSMM_PTE_COW);

	/* The last sharer gone, the torus has every frame back. */
	if (c->by_munmap)
		vt_space_destroy(test, gone);
	vt_space_destroy(test, kept);
	KUNIT_EXPECT_EQ(test, vt_nr_free(torus), VT_TORUS_FRAMES);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, tmm_frame_refs(torus, frames[i]), 0u);
}

/*
 * A clone takes from the torus only the frames of its tables: with exactly
 * that many free it succeeds; with one fewer it fails with -ENOMEM and the
 * source is left as it was, its entries still writable and its own.
 */
static void clone_needs_free_frames_for_its_tables_only(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, 16);
	struct tmm_space *space = vt_space_create(test, torus, 0);
	struct tmm_space *copy;
	u32 pte, frame;

	/* A directory, a table and 13 data frames: one frame left. */
	vt_mmap(test, space, VT_BASE, 13 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE, 13 * PAGE_SIZE, 0x2c);
	KUNIT_ASSERT_EQ(test, vt_nr_free(torus), 1u);
	pte = tmm_space_lookup(space, VT_BASE);
	frame = TMM_PTE_FRAME(pte);

	vt_expect_no_space(test, tmm_space_clone(space), -ENOMEM,
			   "clone with one frame for two tables");
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE), pte);
	KUNIT_EXPECT_EQ(test, tmm_frame_refs(torus, frame), 1u);
	KUNIT_EXPECT_EQ(test, vt_nr_free(torus), 1u);
	KUNIT_EXPECT_EQ(test, vt_torus_spaces(torus), 1u);

	/* Two frames free: the clone's directory and table. */
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, VT_BASE + 12 * PAGE_SIZE,
					       PAGE_SIZE), 0);
	copy = vt_space_register(test, tmm_space_clone(space));
	KUNIT_EXPECT_EQ(test, vt_nr_free(torus), 0u);
	KUNIT_EXPECT_EQ(test, vt_stats(copy).nr_data_frames, 12u);
	KUNIT_EXPECT_EQ(test, tmm_frame_refs(torus, frame), 2u);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_BASE + 4095), 0x2c);
}

/*
 * A clone fits the quota its source fits, exactly: a table that holds only
 * zero-frame entries counts as a table, its entries as nothing.
 */
static void clone_fits_the_quota_its_source_fills(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_space *space = vt_space_create(test, torus, 4);
	struct tmm_space *copy;

	/* The directory, a table and a data frame, and a table of zeroes. */
	vt_mmap(test, space, VT_BASE, PAGE_SIZE, VT_RW, VT_FIXED);
	vt_mmap(test, space, VT_BASE + VT_SLOT, PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE, PAGE_SIZE, 0x4a);
	KUNIT_ASSERT_EQ(test, vt_read_byte(test, space, VT_BASE + VT_SLOT), 0);
	KUNIT_ASSERT_EQ(test, vt_space_frames(space), 4u);

	copy = vt_space_register(test, tmm_space_clone(space));
	KUNIT_EXPECT_EQ(test, vt_space_frames(copy), 4u);
	KUNIT_EXPECT_EQ(test, vt_stats(copy).nr_data_frames, 1u);
	vt_expect_zero_pte(test, tmm_space_lookup(copy, VT_BASE + VT_SLOT),
			   VT_RW);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_BASE), 0x4a);
	/* The copy-on-write break of the shared page needs no room either. */
	vt_fill(test, copy, VT_BASE + 1, 1, 0x4b);
	KUNIT_EXPECT_EQ(test, vt_space_frames(copy), 4u);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + 1), 0x4a);
}

/*
 * The last sharer's write needs no frame, so it succeeds with the torus
 * full and with the user at the frame ceiling, as any write to a page that
 * holds a frame of its own does.
 */
static void clone_last_sharer_write_needs_no_free_frame(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, 16);
	struct tmm_limits *limits = vt_limits(test);
	struct tmm_space *space = vt_space_create_limited(test, torus, limits,
							  0);
	struct tmm_space *copy;
	struct tmm_access res;
	u32 frame, pte;
	u8 byte = 0x4f;
	int ret;

	vt_mmap(test, space, VT_BASE, 16 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE, 2 * PAGE_SIZE, 0x4e);
	copy = vt_space_register(test, tmm_space_clone(space));
	frame = vt_frame(space, VT_BASE);
	vt_space_destroy(test, copy);
	KUNIT_ASSERT_EQ(test, tmm_frame_refs(torus, frame), 1u);
	/* Fill the torus, and hold the user at what it has. */
	vt_fill(test, space, VT_BASE + 2 * PAGE_SIZE, 12 * PAGE_SIZE, 0x4d);
	KUNIT_ASSERT_EQ(test, vt_nr_free(torus), 0u);
	WRITE_ONCE(limits->user_max_frames, vt_user_frames(space));

	ret = tmm_space_write(space, VT_BASE, &byte, 1, VT_ACC_U, &res);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, res.done, 1u);
	pte = tmm_space_lookup(space, VT_BASE);
	KUNIT_EXPECT_EQ(test, TMM_PTE_FRAME(pte), frame);
	KUNIT_EXPECT_EQ(test, pte & (VT_PTE_PROT | TORUSMM_PTE_COW),
			vt_prot_pte(VT_RW));
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE), 0x4f);

	/* Torus full only, the user without a ceiling. */
	WRITE_ONCE(limits->user_max_frames, 0);
	KUNIT_EXPECT_EQ(test, tmm_space_write(space, VT_BASE + PAGE_SIZE, &byte,
					      1, VT_ACC_U, &res), 0);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + PAGE_SIZE), 0x4f);
	KUNIT_EXPECT_EQ(test, vt_nr_free(torus), 0u);
}

/* The original design's virtual allocation test, through allocate/free. */
static void allocate_places_rw_blocks_top_down(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 a = 0, b = 0, c = 0;

	KUNIT_ASSERT_EQ(test, tmm_space_allocate(space, 3 * PAGE_SIZE, &a), 0);
	KUNIT_ASSERT_EQ(test, tmm_space_allocate(space, 100, &b), 0);
	KUNIT_ASSERT_EQ(test, tmm_space_allocate(space, PAGE_SIZE, &c), 0);
	KUNIT_EXPECT_EQ(test, a, TMM_MMAP_BASE - 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, b, a - PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, c, b - PAGE_SIZE);
	/* Three read-write blocks in a row are one region. */
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_regions, 2u);
	vt_fill(test, space, b, 100, 0x12);

	KUNIT_EXPECT_EQ(test, tmm_space_free(space, b, 100), 0);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_regions, 3u);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 0u);
	KUNIT_EXPECT_EQ(test, tmm_space_allocate(space, 0, &b), -EINVAL);
	KUNIT_EXPECT_EQ(test, tmm_space_free(space, a + 1, PAGE_SIZE), -EINVAL);
}

/*
 * The original design's stress test: 100 allocations of assorted sizes,
 * each filled with its own byte, all checked, then freed in random order.
 */
static void allocate_and_free_100_blocks(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, 1024);
	struct tmm_space *space = vt_space_create(test, torus, 0);
	const u32 nr = 100;
	u32 *addr, *size, i, j, free_before = vt_nr_free(torus);
	struct rnd_state rnd;

	addr = kunit_kcalloc(test, nr, sizeof(*addr), GFP_KERNEL);
	size = kunit_kcalloc(test, nr, sizeof(*size), GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, addr && size);
	prandom_seed_state(&rnd, 100);

	for (i = 0; i < nr; i++) {
		size[i] = 1 + prandom_u32_state(&rnd) % (4 * PAGE_SIZE);
		KUNIT_ASSERT_EQ(test, tmm_space_allocate(space, size[i],
							 &addr[i]), 0);
		vt_fill(test, space, addr[i], size[i], i + 1);
	}
	for (i = 0; i < nr; i++) {
		KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, addr[i]), i + 1);
		KUNIT_EXPECT_EQ(test, vt_read_byte(test, space,
						   addr[i] + size[i] - 1),
				i + 1);
	}
	for (i = nr; i > 0; i--) {
		j = prandom_u32_state(&rnd) % i;
		KUNIT_EXPECT_EQ(test, tmm_space_free(space, addr[j], size[j]),
				0);
		addr[j] = addr[i - 1];
		size[j] = size[i - 1];
	}
	vt_expect_spans(test, space, NULL, 0);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 0u);
	KUNIT_EXPECT_EQ(test, vt_nr_free(torus), free_before);
}

/* No data passes from one space to another through a reused frame. */
static void frames_are_zeroed_across_spaces(struct kunit *test)
{
	const u32 nr_frames = 32;
	struct tmm_torus *torus = tmm_test_torus_create(test, nr_frames);
	struct tmm_space *space = vt_space_create(test, torus, 0);
	const u32 pages = nr_frames - 3;
	u32 i;

	vt_mmap(test, space, VT_BASE, pages * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE, pages * PAGE_SIZE, 0xee);
	KUNIT_ASSERT_EQ(test, vt_nr_free(torus), 1u);
	vt_space_destroy(test, space);

	space = vt_space_create(test, torus, 0);
	vt_mmap(test, space, VT_BASE, pages * PAGE_SIZE, VT_R,
		VT_FIXED | VT_POPULATE);
	for (i = 0; i < pages; i++) {
		u32 pte = tmm_space_lookup(space, VT_BASE + i * PAGE_SIZE);
		struct page *page = tmm_frame_page(torus, TMM_PTE_FRAME(pte));
		void *addr;

		KUNIT_ASSERT_NOT_NULL(test, page);
		addr = kmap_local_page(page);
		KUNIT_EXPECT_NULL_MSG(test, memchr_inv(addr, 0, PAGE_SIZE),
				      "page %u", i);
		kunmap_local(addr);
	}
}

/* Within a space too: munmap then mmap gives zeroed pages. */
static void munmap_then_mmap_is_zeroed(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);

	vt_mmap(test, space, VT_BASE, 2 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE, 2 * PAGE_SIZE, 0x7e);
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, VT_BASE, 2 * PAGE_SIZE),
			0);
	vt_mmap(test, space, VT_BASE, 2 * PAGE_SIZE, VT_RW, VT_FIXED);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE), 0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space,
					   VT_BASE + 2 * PAGE_SIZE - 1), 0);
}

static void dump_short_buffer_returns_e2big(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	struct torusmm_region regions[4];
	struct torusmm_pte ptes[4];
	u32 count = 0;

	vt_mmap(test, space, VT_BASE, 3 * PAGE_SIZE, VT_RW,
		VT_FIXED | VT_POPULATE);
	vt_mmap(test, space, VT_BASE + 3 * PAGE_SIZE, PAGE_SIZE, VT_R,
		VT_FIXED);
	KUNIT_EXPECT_EQ(test, tmm_space_dump_regions(space, regions, 2, &count),
			-E2BIG);
	KUNIT_EXPECT_EQ(test, count, 3u);
	KUNIT_EXPECT_EQ(test, tmm_space_dump_regions(space, regions, 3, &count),
			0);
	KUNIT_EXPECT_EQ(test, count, 3u);

	KUNIT_EXPECT_EQ(test, tmm_space_dump_ptes(space, 0, 1ull << 32, ptes, 2,
						  &count), -E2BIG);
	KUNIT_EXPECT_EQ(test, count, 3u);
	/* A window holds only the entries inside it. */
	KUNIT_EXPECT_EQ(test, tmm_space_dump_ptes(space, VT_BASE + PAGE_SIZE,
						  VT_BASE + 2 * PAGE_SIZE, ptes,
						  ARRAY_SIZE(ptes), &count), 0);
	KUNIT_EXPECT_EQ(test, count, 1u);
	KUNIT_EXPECT_EQ(test, ptes[0].addr, VT_BASE + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, ptes[0].pte,
			tmm_space_lookup(space, VT_BASE + PAGE_SIZE));
}

/* Everything observable about a space and its torus. */
struct vt_snapshot {
	struct torusmm_space_stats stats;
	u32 nr_regions;
	u32 nr_ptes;
	u32 torus_free;
	u32 torus_tables;
	u32 torus_spaces;
	struct torusmm_region regions[VT_NR_REGIONS];
	struct torusmm_pte ptes[VT_NR_PTES];
	u8 first[VT_NR_PTES];
	u8 last[VT_NR_PTES];
	u8 refs[VT_NR_PTES];	/* mappings of each entry's frame */
};

/* Takes a snapshot of @space: stats, regions, entries, contents, torus. */
static void vt_snapshot_take(struct kunit *test, struct tmm_space *space,
			     struct vt_snapshot *snap)
{
	struct tmm_torus_stats tstats;
	u32 i;

	memset(snap, 0, sizeof(*snap));
	snap->stats = vt_stats(space);
	snap->nr_regions = vt_regions(test, space, snap->regions,
				      VT_NR_REGIONS);
	KUNIT_ASSERT_EQ(test, tmm_space_dump_ptes(space, 0, 1ull << 32,
						  snap->ptes, VT_NR_PTES,
						  &snap->nr_ptes), 0);
	for (i = 0; i < snap->nr_ptes; i++) {
		snap->first[i] = vt_frame_byte(space, snap->ptes[i].pte, 0);
		snap->last[i] = vt_frame_byte(space, snap->ptes[i].pte,
					      PAGE_SIZE - 1);
		snap->refs[i] = tmm_frame_refs(space->torus,
					       TMM_PTE_FRAME(snap->ptes[i].pte));
	}
	tmm_torus_get_stats(space->torus, &tstats);
	snap->torus_free = tstats.nr_free;
	snap->torus_tables = tstats.nr_table_frames;
	snap->torus_spaces = tstats.nr_spaces;
}

/* Expects a counter of two snapshots to agree, naming it on failure. */
static void vt_expect_same(struct kunit *test, const char *what,
			   const char *field, u64 before, u64 after)
{
	KUNIT_EXPECT_EQ_MSG(test, after, before, "%s: %s", what, field);
}

/*
 * Expects two snapshots to be identical, naming what differs; of the regions
 * and entries, only the first that differs.
 */
static void vt_snapshot_expect_equal(struct kunit *test,
				     const struct vt_snapshot *before,
				     const struct vt_snapshot *after,
				     const char *what)
{
	const struct torusmm_space_stats *b = &before->stats, *a = &after->stats;
	u32 i;

	vt_expect_same(test, what, "torus", b->torus, a->torus);
	vt_expect_same(test, what, "max_frames", b->max_frames, a->max_frames);
	vt_expect_same(test, what, "nr_data_frames", b->nr_data_frames,
		       a->nr_data_frames);
	vt_expect_same(test, what, "nr_table_frames", b->nr_table_frames,
		       a->nr_table_frames);
	vt_expect_same(test, what, "nr_regions", b->nr_regions, a->nr_regions);
	vt_expect_same(test, what, "nr_heap_pages", b->nr_heap_pages,
		       a->nr_heap_pages);
	vt_expect_same(test, what, "brk", b->brk, a->brk);
	vt_expect_same(test, what, "stack_start", b->stack_start,
		       a->stack_start);
	vt_expect_same(test, what, "nr_faults", b->nr_faults, a->nr_faults);
	vt_expect_same(test, what, "nr_fault_errors", b->nr_fault_errors,
		       a->nr_fault_errors);
	vt_expect_same(test, what, "nr_translations", b->nr_translations,
		       a->nr_translations);
	vt_expect_same(test, what, "torus free frames", before->torus_free,
		       after->torus_free);
	vt_expect_same(test, what, "torus table frames", before->torus_tables,
		       after->torus_tables);
	vt_expect_same(test, what, "torus spaces", before->torus_spaces,
		       after->torus_spaces);

	vt_expect_same(test, what, "number of regions", before->nr_regions,
		       after->nr_regions);
	for (i = 0; i < min(before->nr_regions, after->nr_regions); i++) {
		const struct torusmm_region *br = &before->regions[i];
		const struct torusmm_region *ar = &after->regions[i];

		if (br->start == ar->start && br->end == ar->end &&
		    br->prot == ar->prot)
			continue;
		KUNIT_FAIL(test, "%s: region [%#x, %#x) prot %u became [%#x, %#x) prot %u",
			   what, br->start, br->end, br->prot, ar->start,
			   ar->end, ar->prot);
		break;
	}

	vt_expect_same(test, what, "number of entries", before->nr_ptes,
		       after->nr_ptes);
	for (i = 0; i < min(before->nr_ptes, after->nr_ptes); i++) {
		const struct torusmm_pte *bp = &before->ptes[i];
		const struct torusmm_pte *ap = &after->ptes[i];

		if (bp->addr == ap->addr && bp->pte == ap->pte &&
		    before->first[i] == after->first[i] &&
		    before->last[i] == after->last[i] &&
		    before->refs[i] == after->refs[i])
			continue;
		KUNIT_FAIL(test,
			   "%s: %#x: pte %#x bytes %#x..%#x refs %u, now %#x: pte %#x bytes %#x..%#x refs %u",
			   what, bp->addr, bp->pte, before->first[i],
			   before->last[i], before->refs[i], ap->addr, ap->pte,
			   after->first[i], after->last[i], after->refs[i]);
		break;
	}
}

/* The layout most fault cases start from: regions, frames, heap, stack. */
static void vt_setup_common(struct kunit *test, struct tmm_space *space)
{
	static const struct vt_span layout[VT_MAX_SPANS] = {
		{ 0, 8, VT_RW }, { 8, 9, VT_R }, { 10, 12, VT_RX },
	};
	u32 fault;
	u64 tpa;

	vt_map_spans(test, space, layout);
	vt_mmap(test, space, VT_BASE + 14 * PAGE_SIZE, 2 * PAGE_SIZE, VT_RW,
		VT_FIXED);
	KUNIT_ASSERT_EQ(test, tmm_space_brk(space, VT_HEAP + 2 * PAGE_SIZE),
			VT_HEAP + 2 * PAGE_SIZE);
	vt_fill(test, space, VT_HEAP, 2 * PAGE_SIZE, 0x48);
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_STACK, VT_ACC_U,
						  &tpa, &fault), 0);
}

/* The common layout plus a populated mapping across a table boundary. */
static void vt_setup_boundary(struct kunit *test, struct tmm_space *space)
{
	vt_setup_common(test, space);
	vt_mmap(test, space, VT_BASE + VT_SLOT - 2 * PAGE_SIZE, 4 * PAGE_SIZE,
		VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE + VT_SLOT - 2 * PAGE_SIZE, 4 * PAGE_SIZE,
		0x61);
}

/* Creates (and destroys) another space on the torus. */
static int vt_op_space_create(struct tmm_space *space)
{
	struct tmm_space *other = tmm_space_create(space->torus, NULL, 0);

	if (IS_ERR(other))
		return PTR_ERR(other);
	if (!other)
		return -EFAULT;
	tmm_space_destroy(other);
	return 0;
}

/* Populates 8 pages across a table boundary into fresh tables. */
static int vt_op_mmap_populate(struct tmm_space *space)
{
	u32 addr = VT_BASE + 3 * VT_SLOT - 4 * PAGE_SIZE;

	return tmm_space_mmap(space, &addr, 8 * PAGE_SIZE, VT_RW,
			      VT_FIXED | VT_POPULATE);
}

/* Populates 3 placed pages (top-down, in a slot with no table yet). */
static int vt_op_mmap_placed_populate(struct tmm_space *space)
{
	u32 addr = 0;

	return tmm_space_mmap(space, &addr, 3 * PAGE_SIZE, VT_RX, VT_POPULATE);
}

/* Replaces the populated boundary mapping by a larger populated one. */
static int vt_op_mmap_replace_populate(struct tmm_space *space)
{
	u32 addr = VT_BASE + VT_SLOT - 4 * PAGE_SIZE;

	return tmm_space_mmap(space, &addr, 8 * PAGE_SIZE, VT_R,
			      VT_FIXED | VT_POPULATE);
}

/* Replaces two pages in the middle of a populated region: a split. */
static int vt_op_mmap_fixed_split(struct tmm_space *space)
{
	u32 addr = VT_BASE + 3 * PAGE_SIZE;

	return tmm_space_mmap(space, &addr, 2 * PAGE_SIZE, VT_RX, VT_FIXED);
}

/* Unmaps two pages in the middle of a populated region: a split. */
static int vt_op_munmap_split(struct tmm_space *space)
{
	return tmm_space_munmap(space, VT_BASE + 3 * PAGE_SIZE,
				2 * PAGE_SIZE);
}

/* Unmaps the end of one region, a whole one and the start of another. */
static int vt_op_munmap_several(struct tmm_space *space)
{
	return tmm_space_munmap(space, VT_BASE + 6 * PAGE_SIZE,
				5 * PAGE_SIZE);
}

/* Unmaps across the table boundary, splitting that mapping. */
static int vt_op_munmap_boundary(struct tmm_space *space)
{
	return tmm_space_munmap(space, VT_BASE + VT_SLOT - PAGE_SIZE,
				2 * PAGE_SIZE);
}

/* Makes two pages in the middle of a region read-only: a split in three. */
static int vt_op_mprotect_split(struct tmm_space *space)
{
	return tmm_space_mprotect(space, VT_BASE + 3 * PAGE_SIZE,
				  2 * PAGE_SIZE, VT_R);
}

/* Changes a range that spans three regions. */
static int vt_op_mprotect_several(struct tmm_space *space)
{
	return tmm_space_mprotect(space, VT_BASE + 7 * PAGE_SIZE,
				  2 * PAGE_SIZE, VT_NONE);
}

/* Grows the heap by three pages. */
static int vt_op_brk_grow(struct tmm_space *space)
{
	u32 want = VT_HEAP + 5 * PAGE_SIZE;

	return tmm_space_brk(space, want) == want ? 0 : -ENOMEM;
}

/* Shrinks the heap by one page, freeing its frame. */
static int vt_op_brk_shrink(struct tmm_space *space)
{
	u32 want = VT_HEAP + PAGE_SIZE - 10;

	return tmm_space_brk(space, want) == want ? 0 : -ENOMEM;
}

/* Writes to a page of a region in a slot with no table yet. */
static int vt_op_demand_fault(struct tmm_space *space)
{
	u32 fault;
	u64 tpa;

	return tmm_space_translate(space, VT_BASE + 2 * VT_SLOT + PAGE_SIZE,
				   VT_ACC_W | VT_ACC_U, &tpa, &fault);
}

/* Reads a page that is not yet populated in a table that exists. */
static int vt_op_demand_fault_read(struct tmm_space *space)
{
	u32 fault;
	u64 tpa;

	return tmm_space_translate(space, VT_BASE + 15 * PAGE_SIZE - 1,
				   VT_ACC_U, &tpa, &fault);
}

/* Reads a page of a region in a slot with no table yet. */
static int vt_op_demand_fault_read_table(struct tmm_space *space)
{
	u32 fault;
	u64 tpa;

	return tmm_space_translate(space, VT_BASE + 2 * VT_SLOT + PAGE_SIZE,
				   VT_ACC_U, &tpa, &fault);
}

/* Writes a word to page 14 of vt_setup_common(), which has no frame yet. */
static int vt_op_write_unpopulated(struct tmm_space *space)
{
	struct tmm_access res;
	u32 value = 0x77;
	int ret;

	ret = tmm_space_write(space, VT_BASE + 14 * PAGE_SIZE, &value,
			      sizeof(value), VT_ACC_U, &res);
	return ret ?: res.fault ? -EFAULT : 0;
}

/* Writes a word to page 2 of vt_setup_common(), which holds a frame. */
static int vt_op_write_populated(struct tmm_space *space)
{
	struct tmm_access res;
	u32 value = 0x78;
	int ret;

	ret = tmm_space_write(space, VT_BASE + 2 * PAGE_SIZE + 12, &value,
			      sizeof(value), VT_ACC_U, &res);
	return ret ?: res.fault ? -EFAULT : 0;
}

/* Writes at the stack limit: grows the stack there, into a new table. */
static int vt_op_stack_growth(struct tmm_space *space)
{
	u32 fault;
	u64 tpa;

	return tmm_space_translate(space,
				   TORUSMM_STACK_TOP - TORUSMM_STACK_LIMIT,
				   VT_ACC_W | VT_ACC_U, &tpa, &fault);
}

/* Clones the space (and destroys the clone). */
static int vt_op_clone(struct tmm_space *space)
{
	struct tmm_space *copy = tmm_space_clone(space);

	if (IS_ERR(copy))
		return PTR_ERR(copy);
	if (!copy)
		return -EFAULT;
	tmm_space_destroy(copy);
	return 0;
}

/* Maps a region in the slot vt_op_demand_fault() writes to. */
static void vt_setup_demand(struct kunit *test, struct tmm_space *space)
{
	vt_setup_common(test, space);
	vt_mmap(test, space, VT_BASE + 2 * VT_SLOT, 4 * PAGE_SIZE, VT_RW,
		VT_FIXED);
}

/* The common layout, page 14 (read-write, never written) read: the zero frame. */
static void vt_setup_zero(struct kunit *test, struct tmm_space *space)
{
	vt_setup_common(test, space);
	KUNIT_ASSERT_EQ(test, vt_read_byte(test, space,
					   VT_BASE + 14 * PAGE_SIZE), 0);
}

/* Destroys a partner space when the test ends, or when asked earlier. */
static void vt_partner_release(struct kunit_resource *res)
{
	tmm_space_destroy(res->data);
}

/* Matches the resource of a partner space. */
static bool vt_resource_is_partner(struct kunit *test,
				   struct kunit_resource *res, void *match_data)
{
	return res->free == vt_partner_release;
}

/* The partner space a setup made beside the space under test, or NULL. */
static struct tmm_space *vt_partner(struct kunit *test)
{
	struct kunit_resource *res;
	struct tmm_space *partner;

	res = kunit_find_resource(test, vt_resource_is_partner, NULL);
	if (!res)
		return NULL;
	partner = res->data;
	kunit_put_resource(res);
	return partner;
}

/*
 * The common layout, cloned: every frame shared with a partner space that
 * lives until vt_partner_destroy() or the end of the test.
 */
static void vt_setup_shared(struct kunit *test, struct tmm_space *space)
{
	struct tmm_space *partner;

	vt_setup_common(test, space);
	partner = tmm_space_clone(space);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, partner);
	if (!kunit_alloc_resource(test, NULL, vt_partner_release, GFP_KERNEL,
				  partner)) {
		tmm_space_destroy(partner);
		KUNIT_ASSERT_FAILURE(test, "cannot register the partner");
	}
	KUNIT_ASSERT_EQ(test, vt_refs(space, VT_BASE + 2 * PAGE_SIZE), 2u);
}

/* Destroys the partner of vt_setup_shared(), if there is one. */
static void vt_partner_destroy(struct kunit *test)
{
	kunit_destroy_resource(test, vt_resource_is_partner, NULL);
}

struct vt_fail_case {
	const char *desc;
	void (*setup)(struct kunit *test, struct tmm_space *space);
	int (*op)(struct tmm_space *space);
	unsigned long must_fire;	/* sites that must fire at least once */
	u32 max_frames;
	unsigned long never_fire;	/* sites the operation never reaches */
};

#define VT_SITE(s)	BIT(TMM_FAULT_##s)

static const struct vt_fail_case vt_fail_cases[] = {
	{ "space create", vt_setup_common, vt_op_space_create,
	  VT_SITE(TABLE) | VT_SITE(SLAB) },
	{ "mmap populate into new tables", vt_setup_common,
	  vt_op_mmap_populate, VT_SITE(FRAME) | VT_SITE(TABLE) },
	{ "mmap populate, placed top-down", vt_setup_common,
	  vt_op_mmap_placed_populate, VT_SITE(FRAME) | VT_SITE(TABLE) },
	{ "mmap fixed populate replacing a populated mapping",
	  vt_setup_boundary, vt_op_mmap_replace_populate,
	  VT_SITE(FRAME) },
	{ "mmap fixed splitting a region", vt_setup_common,
	  vt_op_mmap_fixed_split, VT_SITE(TREE) },
	{ "munmap splitting a region", vt_setup_common, vt_op_munmap_split,
	  VT_SITE(TREE) },
	{ "munmap over several regions", vt_setup_common,
	  vt_op_munmap_several, 0 },
	{ "munmap across a table boundary", vt_setup_boundary,
	  vt_op_munmap_boundary, VT_SITE(TREE) },
	{ "mprotect splitting a region", vt_setup_common,
	  vt_op_mprotect_split, VT_SITE(TREE) },
	{ "mprotect over several regions", vt_setup_common,
	  vt_op_mprotect_several, VT_SITE(TREE) },
	{ "brk grow", vt_setup_common, vt_op_brk_grow, VT_SITE(TREE) },
	{ "brk shrink", vt_setup_common, vt_op_brk_shrink, 0 },
	{ "demand fault needing a table", vt_setup_demand, vt_op_demand_fault,
	  VT_SITE(FRAME) | VT_SITE(TABLE) },
	{ "zero-frame read in a table that exists allocates nothing",
	  vt_setup_common, vt_op_demand_fault_read, 0,
	  .never_fire = VT_SITE(FRAME) | VT_SITE(TABLE) | VT_SITE(SLAB) |
			VT_SITE(TREE) },
	{ "zero-frame read needing a table", vt_setup_demand,
	  vt_op_demand_fault_read_table, VT_SITE(TABLE),
	  .never_fire = VT_SITE(FRAME) },
	{ "demand fault growing the stack to its limit", vt_setup_common,
	  vt_op_stack_growth, VT_SITE(FRAME) | VT_SITE(TABLE) },
	{ "write to a zero-frame page", vt_setup_zero, vt_op_write_unpopulated,
	  VT_SITE(FRAME), .never_fire = VT_SITE(TABLE) },
	{ "write to a zero-frame page with a quota", vt_setup_zero,
	  vt_op_write_unpopulated, VT_SITE(FRAME), 64,
	  .never_fire = VT_SITE(TABLE) },
	{ "write to a shared page after clone", vt_setup_shared,
	  vt_op_write_populated, VT_SITE(FRAME),
	  .never_fire = VT_SITE(TABLE) },
	{ "write to a shared page after clone, with a quota", vt_setup_shared,
	  vt_op_write_populated, VT_SITE(FRAME), 64,
	  .never_fire = VT_SITE(TABLE) },
	{ "clone shares frames: tables only", vt_setup_boundary, vt_op_clone,
	  VT_SITE(TABLE) | VT_SITE(SLAB) | VT_SITE(TREE),
	  .never_fire = VT_SITE(FRAME) },
	{ "clone with a quota", vt_setup_boundary, vt_op_clone,
	  VT_SITE(TABLE) | VT_SITE(SLAB) | VT_SITE(TREE), 64,
	  .never_fire = VT_SITE(FRAME) },
	{ "clone of a space that shares its frames already", vt_setup_shared,
	  vt_op_clone, VT_SITE(TABLE) | VT_SITE(SLAB) | VT_SITE(TREE),
	  .never_fire = VT_SITE(FRAME) },
};

static void vt_fail_desc(const struct vt_fail_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_fail, vt_fail_cases, vt_fail_desc);

/*
 * Fails the nth allocation of every kind in turn, n = 1, 2, ... until the
 * operation succeeds without the fault firing.  Each failure must return
 * -ENOMEM and leave the space, the partner it shares frames with (if any)
 * and the torus exactly as before, reference counts included; once both
 * spaces are destroyed every frame must be back in the torus.  A site the
 * operation must never reach must never fire.
 */
static void operation_fails_cleanly_at_every_allocation(struct kunit *test)
{
	const struct vt_fail_case *c = test->param_value;
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct vt_snapshot *before, *after, *partner_before, *partner_after;
	unsigned long must_fire = c->must_fire;
	u32 failures[TMM_FAULT_NR] = {};
	struct tmm_space *space, *partner;
	enum tmm_fault_site site;
	unsigned int nth;
	bool fired, clean;
	int ret;

	before = kunit_kzalloc(test, sizeof(*before), GFP_KERNEL);
	after = kunit_kzalloc(test, sizeof(*after), GFP_KERNEL);
	partner_before = kunit_kzalloc(test, sizeof(*partner_before),
				       GFP_KERNEL);
	partner_after = kunit_kzalloc(test, sizeof(*partner_after), GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, before && after && partner_before &&
			  partner_after);
	vt_fault_arm(test, TMM_FAULT_FRAME, VT_FAULT_MAX_NTH);
	tmm_fault_disarm(TMM_FAULT_FRAME);

	for (site = 0; site < TMM_FAULT_NR; site++) {
		for (nth = 1; nth <= VT_FAULT_MAX_NTH; nth++) {
			space = vt_space_create(test, torus, c->max_frames);
			c->setup(test, space);
			partner = vt_partner(test);
			vt_snapshot_take(test, space, before);
			if (partner)
				vt_snapshot_take(test, partner, partner_before);

			vt_fault_arm(test, site, nth);
			ret = c->op(space);
			fired = tmm_fault_fired(site);
			tmm_fault_disarm(site);

			clean = ret == (fired ? -ENOMEM : 0);
			KUNIT_EXPECT_EQ_MSG(test, ret, fired ? -ENOMEM : 0,
					    "site %d, allocation %u %s", site,
					    nth, fired ? "failed" : "did not fail");
			if (fired) {
				failures[site]++;
				__clear_bit(site, &must_fire);
				vt_snapshot_take(test, space, after);
				if (memcmp(before, after, sizeof(*before))) {
					vt_snapshot_expect_equal(test, before,
								 after,
								 "after a failure");
					clean = false;
				}
			}
			if (fired && partner) {
				vt_snapshot_take(test, partner, partner_after);
				if (memcmp(partner_before, partner_after,
					   sizeof(*partner_before))) {
					vt_snapshot_expect_equal(test,
								 partner_before,
								 partner_after,
								 "partner after a failure");
					clean = false;
				}
			}
			vt_space_destroy(test, space);
			vt_partner_destroy(test);
			KUNIT_EXPECT_EQ_MSG(test, vt_nr_free(torus),
					    VT_TORUS_FRAMES,
					    "frames lost (site %d, nth %u)",
					    site, nth);
			clean &= vt_nr_free(torus) == VT_TORUS_FRAMES;
			/* One report per site, not one per allocation. */
			if (!fired || !clean)
				break;
		}
		KUNIT_EXPECT_LE_MSG(test, nth, VT_FAULT_MAX_NTH,
				    "site %d kept failing", site);
		if (c->never_fire & BIT(site))
			KUNIT_EXPECT_EQ_MSG(test, failures[site], 0u,
					    "site %d fired: the operation must not allocate there",
					    site);
	}
	kunit_info(test, "failed allocations: frame %u, table %u, slab %u, tree %u",
		   failures[TMM_FAULT_FRAME], failures[TMM_FAULT_TABLE],
		   failures[TMM_FAULT_SLAB], failures[TMM_FAULT_TREE]);
	KUNIT_EXPECT_EQ_MSG(test, must_fire, 0ul,
			    "fault sites that never fired (bit per site)");
}

/*
 * A read or a fetch of a page never written maps the torus's zero frame,
 * through translate and through read: present and user, no-exec as the
 * region says, read-only and copy-on-write whatever it says.  Each such
 * fault-in counts in nr_faults; none takes a frame, from the torus or the
 * user, but the table its page needs.
 */
static void zero_frame_read_takes_no_frame(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	const u32 zero = TMM_ZERO_FRAME << PAGE_SHIFT;
	struct torusmm_space_stats stats;
	struct torusmm_pte ptes[8];
	struct tmm_access res;
	u32 fault, free, i, count;
	long user;
	u64 tpa;
	u8 *buf;

	buf = kunit_kmalloc(test, 3 * PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	vt_mmap(test, space, VT_BASE, 4 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_mmap(test, space, VT_BASE + 4 * PAGE_SIZE, PAGE_SIZE, VT_RX,
		VT_FIXED);
	free = vt_nr_free(space->torus);
	user = vt_user_frames(space);

	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE + 0x10,
						  VT_ACC_U, &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, tpa, (u64)TORUSMM_ZERO_FRAME_TPA + 0x10);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE),
			zero | vt_cow_pte(VT_RW) | TORUSMM_PTE_ACCESSED);
	/* The page's table, nothing more. */
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free - 1);
	KUNIT_EXPECT_EQ(test, vt_user_frames(space), user + 1);
	stats = vt_stats(space);
	KUNIT_EXPECT_EQ(test, stats.nr_data_frames, 0u);
	KUNIT_EXPECT_EQ(test, stats.nr_table_frames, 2u);
	KUNIT_EXPECT_EQ(test, stats.nr_faults, 1ull);
	KUNIT_EXPECT_EQ(test, stats.nr_translations, 1ull);

	memset(buf, 0xff, 3 * PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, tmm_space_read(space, VT_BASE + PAGE_SIZE, buf,
					     3 * PAGE_SIZE, VT_ACC_U, &res), 0);
	KUNIT_EXPECT_EQ(test, res.done, 3 * PAGE_SIZE);
	KUNIT_EXPECT_NULL(test, memchr_inv(buf, 0, 3 * PAGE_SIZE));
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE + 4 * PAGE_SIZE,
						  VT_ACC_X | VT_ACC_U, &tpa,
						  &fault), 0);
	KUNIT_EXPECT_EQ(test, tpa, (u64)TORUSMM_ZERO_FRAME_TPA);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE + 4 * PAGE_SIZE),
			zero | vt_cow_pte(VT_RX) | TORUSMM_PTE_ACCESSED);
	/* Read again: no fault-in. */
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE + 3 * PAGE_SIZE),
			0);

	stats = vt_stats(space);
	KUNIT_EXPECT_EQ(test, stats.nr_data_frames, 0u);
	KUNIT_EXPECT_EQ(test, stats.nr_faults, 5ull);
	KUNIT_EXPECT_EQ(test, stats.nr_translations, 6ull);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free - 1);
	KUNIT_EXPECT_EQ(test, vt_user_frames(space), user + 1);
	KUNIT_EXPECT_EQ(test, tmm_frame_refs(space->torus, TMM_ZERO_FRAME), 0u);
	KUNIT_ASSERT_EQ(test, tmm_space_dump_ptes(space, VT_BASE,
						  VT_BASE + VT_SLOT, ptes,
						  ARRAY_SIZE(ptes), &count), 0);
	KUNIT_ASSERT_EQ(test, count, 5u);
	for (i = 0; i < count; i++)
		KUNIT_EXPECT_EQ_MSG(test, TMM_PTE_FRAME(ptes[i].pte),
				    TMM_ZERO_FRAME, "page %u", i);
}

/*
 * The first write to a page that maps the zero frame takes exactly one
 * zeroed frame (from the torus, charged to the user, counted in the space):
 * what was written reads back, the rest of the page is zero, and the entry
 * is writable, accessed and dirty, no longer copy-on-write.  It is no
 * fault-in.  Writes and reads after it take nothing more.
 */
static void zero_frame_first_write_takes_one_zeroed_frame(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	const u8 data[3] = { 0xa1, 0xa2, 0xa3 };
	struct tmm_access res;
	u32 free, pte, frame;
	u8 got[3];
	long user;

	/* A frame dirtied and given back, so that a reused one is seen too. */
	vt_mmap(test, space, VT_BASE, 2 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE + PAGE_SIZE, PAGE_SIZE, 0xee);
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, VT_BASE + PAGE_SIZE,
					       PAGE_SIZE), 0);
	KUNIT_ASSERT_EQ(test, vt_read_byte(test, space, VT_BASE), 0);
	free = vt_nr_free(space->torus);
	user = vt_user_frames(space);

	KUNIT_ASSERT_EQ(test, tmm_space_write(space, VT_BASE + 100, data,
					      sizeof(data), VT_ACC_U, &res), 0);
	KUNIT_EXPECT_EQ(test, res.done, (u32)sizeof(data));
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free - 1);
	KUNIT_EXPECT_EQ(test, vt_user_frames(space), user + 1);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 1u);
	/* The fault-ins of the setup's write and of the read only. */
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_faults, 2ull);
	pte = tmm_space_lookup(space, VT_BASE);
	frame = TMM_PTE_FRAME(pte);
	KUNIT_EXPECT_NE(test, frame, (u32)TMM_ZERO_FRAME);
	KUNIT_EXPECT_EQ(test, pte & ~TORUSMM_PTE_FRAME_MASK,
			vt_prot_pte(VT_RW) | VT_PTE_AD);
	KUNIT_EXPECT_EQ(test, tmm_frame_refs(space->torus, frame), 1u);

	KUNIT_ASSERT_EQ(test, tmm_space_read(space, VT_BASE + 100, got,
					     sizeof(got), VT_ACC_U, &res), 0);
	KUNIT_EXPECT_EQ(test, memcmp(got, data, sizeof(data)), 0);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE), 0);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + 99), 0);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + 103), 0);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + 4095), 0);

	vt_fill(test, space, VT_BASE + 200, 1, 0xa4);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE + 200), 0xa4);
	KUNIT_EXPECT_EQ(test, vt_frame(space, VT_BASE), frame);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free - 1);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 1u);
}

/*
 * mprotect never makes a zero-frame entry writable: PROT_NONE keeps it (not
 * present, no frame counted), a write in a read-only region faults and takes
 * nothing, exec leaves it read-only, and back in read-write the entry stays
 * read-only until the first write gives it a frame.
 */
static void zero_frame_entry_stays_read_only_under_mprotect(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	struct tmm_access res;
	u32 free, pte, fault;
	u8 byte = 0x5d;
	u64 tpa;

	vt_mmap(test, space, VT_BASE, PAGE_SIZE, VT_RW, VT_FIXED);
	KUNIT_ASSERT_EQ(test, vt_read_byte(test, space, VT_BASE), 0);
	free = vt_nr_free(space->torus);

	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, VT_BASE, PAGE_SIZE,
						 VT_NONE), 0);
	pte = tmm_space_lookup(space, VT_BASE);
	KUNIT_EXPECT_EQ(test, TMM_PTE_FRAME(pte), TMM_ZERO_FRAME);
	KUNIT_EXPECT_EQ(test, pte & (TMM_PTE_HOLDS_FRAME | TORUSMM_PTE_COW |
				     TORUSMM_PTE_WRITABLE),
			TORUSMM_PTE_PROTNONE | TORUSMM_PTE_COW);
	KUNIT_ASSERT_EQ(test, tmm_space_read(space, VT_BASE, &byte, 1, VT_ACC_U,
					     &res), 0);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_U);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 0u);

	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, VT_BASE, PAGE_SIZE,
						 VT_R), 0);
	vt_expect_zero_pte(test, tmm_space_lookup(space, VT_BASE), VT_R);
	KUNIT_ASSERT_EQ(test, tmm_space_write(space, VT_BASE, &byte, 1, VT_ACC_U,
					      &res), 0);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_P | VT_F_W | VT_F_U);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free);

	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, VT_BASE, PAGE_SIZE,
						 VT_RWX), 0);
	vt_expect_zero_pte(test, tmm_space_lookup(space, VT_BASE), VT_RWX);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_BASE,
						  VT_ACC_X | VT_ACC_U, &tpa,
						  &fault), 0);
	KUNIT_EXPECT_EQ(test, tpa, (u64)TORUSMM_ZERO_FRAME_TPA);
	/* A peek never breaks copy-on-write: it sees a read-only entry. */
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_BASE,
						  TMM_ACCESS_PEEK | VT_ACC_W |
						  VT_ACC_U, &tpa, &fault),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, fault, VT_F_P | VT_F_W | VT_F_U);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free);

	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(space, VT_BASE, PAGE_SIZE,
						 VT_RW), 0);
	vt_expect_zero_pte(test, tmm_space_lookup(space, VT_BASE), VT_RW);
	vt_fill(test, space, VT_BASE, 1, 0x5e);
	vt_expect_pte_prot(test, tmm_space_lookup(space, VT_BASE), VT_RW);
	KUNIT_EXPECT_FALSE(test, tmm_space_lookup(space, VT_BASE) &
			   TORUSMM_PTE_COW);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free - 1);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 1u);
}

/*
 * munmap, brk and MAP_FIXED over pages that map the zero frame free no frame
 * and count no data frame down: only a table emptied goes back.
 */
static void zero_frame_unmap_frees_nothing(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	u32 i, free;

	vt_mmap(test, space, VT_BASE, 4 * PAGE_SIZE, VT_RW, VT_FIXED);
	for (i = 0; i < 4; i++)
		KUNIT_ASSERT_EQ(test, vt_read_byte(test, space,
						   VT_BASE + i * PAGE_SIZE), 0);
	free = vt_nr_free(space->torus);

	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, VT_BASE, 2 * PAGE_SIZE),
			0);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE), 0u);
	vt_mmap(test, space, VT_BASE + 2 * PAGE_SIZE, PAGE_SIZE, VT_R,
		VT_FIXED);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE + 2 * PAGE_SIZE),
			0u);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 0u);
	/* The last entry of the table goes, and the table with it. */
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, VT_BASE + 3 * PAGE_SIZE,
					       PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free + 1);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_table_frames, 1u);

	KUNIT_ASSERT_EQ(test, tmm_space_brk(space, VT_HEAP + 2 * PAGE_SIZE),
			VT_HEAP + 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_HEAP), 0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_HEAP + PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free);
	KUNIT_ASSERT_EQ(test, tmm_space_brk(space, VT_HEAP), VT_HEAP);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free + 1);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 0u);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_faults, 6ull);
}

/* Which ceiling a zero-frame quota case runs at. */
struct vt_zero_quota_case {
	const char *desc;
	bool user_ceiling;	/* user_max_frames, not the space's quota */
};

static const struct vt_zero_quota_case vt_zero_quota_cases[] = {
	{ "at the space's quota", false },
	{ "at the user's frame ceiling", true },
};

static void vt_zero_quota_desc(const struct vt_zero_quota_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_zero_quota, vt_zero_quota_cases, vt_zero_quota_desc);

/*
 * At the quota (or the user's ceiling), a read of a page never written maps
 * the zero frame where its table exists; the write after it needs a frame
 * and fails with -ENOMEM, leaving the entry, the counters, the torus and
 * the user's charge unchanged; a read that needs a table fails the same
 * way.  Once there is room, the write succeeds.
 */
static void zero_frame_read_at_quota_succeeds_and_write_fails(struct kunit *test)
{
	const struct vt_zero_quota_case *c = test->param_value;
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_limits *limits = vt_limits(test);
	struct tmm_space *space = vt_space_create_limited(test, torus, limits,
							  c->user_ceiling ?
							  0 : 4);
	const u32 page = VT_BASE + 2 * PAGE_SIZE;
	struct vt_snapshot *before, *after;
	struct tmm_access res;
	u32 fault, value = 1;
	long held;
	u64 tpa;

	before = kunit_kzalloc(test, sizeof(*before), GFP_KERNEL);
	after = kunit_kzalloc(test, sizeof(*after), GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, before && after);
	vt_mmap(test, space, VT_BASE, 4 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_mmap(test, space, VT_BASE + VT_SLOT, PAGE_SIZE, VT_RW, VT_FIXED);
	/* The directory, a table and two data frames: four. */
	vt_fill(test, space, VT_BASE, 2 * PAGE_SIZE, 0x1f);
	held = vt_user_frames(space);
	if (c->user_ceiling)
		WRITE_ONCE(limits->user_max_frames, held);
	KUNIT_ASSERT_EQ(test, vt_space_frames(space), 4u);

	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, page, VT_ACC_U, &tpa,
						  &fault), 0);
	KUNIT_EXPECT_EQ(test, tpa, (u64)TORUSMM_ZERO_FRAME_TPA);
	KUNIT_EXPECT_EQ(test, vt_space_frames(space), 4u);
	KUNIT_EXPECT_EQ(test, vt_user_frames(space), held);
	vt_snapshot_take(test, space, before);

	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, page,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), -ENOMEM);
	KUNIT_EXPECT_EQ(test, tmm_space_write(space, page, &value,
					      sizeof(value), VT_ACC_U, &res),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_BASE + VT_SLOT,
						  VT_ACC_U, &tpa, &fault),
			-ENOMEM);
	vt_snapshot_take(test, space, after);
	vt_snapshot_expect_equal(test, before, after, c->desc);
	vt_expect_zero_pte(test, tmm_space_lookup(space, page), VT_RW);
	KUNIT_EXPECT_EQ(test, vt_user_frames(space), held);

	/* Room for one frame: a read that needs a table takes it... */
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, VT_BASE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, VT_BASE + VT_SLOT,
						  VT_ACC_U, &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, vt_space_frames(space), 4u);
	KUNIT_EXPECT_EQ(test, tmm_space_write(space, page, &value,
					      sizeof(value), VT_ACC_U, &res),
			-ENOMEM);
	/* ...and gives it back with its last entry: the write takes it. */
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, VT_BASE + VT_SLOT,
					       PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_write(space, page, &value,
					      sizeof(value), VT_ACC_U, &res),
			0);
	KUNIT_EXPECT_EQ(test, res.done, (u32)sizeof(value));
	KUNIT_EXPECT_EQ(test, vt_space_frames(space), 4u);
	KUNIT_EXPECT_EQ(test, vt_user_frames(space), held);
	KUNIT_EXPECT_NE(test, vt_frame(space, page), (u32)TMM_ZERO_FRAME);
}

/* One dirty-log call, with the bitmap it fills zeroed first. */
static u32 vt_dirty_log(struct tmm_space *space, u32 first, u32 end,
			unsigned long *bitmap, bool clear)
{
	bitmap_zero(bitmap, BITS_PER_LONG);
	return tmm_space_get_dirty_log(space, VT_BASE + first * PAGE_SIZE,
				       VT_BASE + end * PAGE_SIZE, bitmap,
				       clear);
}

/*
 * The dirty log reports the pages written (through write and translate),
 * not those only read (the zero frame), populated or never touched, and only
 * those in the range, bit n for the nth page from its start.  Without clear
 * it changes nothing; with clear it clears what it reports, in the entries
 * only, and a later write sets the bit again for the next call to report.
 * It allocates nothing.
 */
static void dirty_log_reports_written_pages(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	unsigned long bitmap[1];
	u32 fault, free, pte, page;
	u64 tpa;

	vt_mmap(test, space, VT_BASE, 8 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_mmap(test, space, VT_BASE + 8 * PAGE_SIZE, PAGE_SIZE, VT_R,
		VT_FIXED | VT_POPULATE);
	vt_fill(test, space, VT_BASE + PAGE_SIZE, 1, 0x11);
	vt_fill(test, space, VT_BASE + 3 * PAGE_SIZE, PAGE_SIZE, 0x33);
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space,
						  VT_BASE + 6 * PAGE_SIZE + 9,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), 0);
	KUNIT_ASSERT_EQ(test, vt_read_byte(test, space, VT_BASE + 2 * PAGE_SIZE),
			0);
	KUNIT_ASSERT_EQ(test, vt_read_byte(test, space, VT_BASE + 8 * PAGE_SIZE),
			0);
	free = vt_nr_free(space->torus);

	KUNIT_EXPECT_EQ(test, vt_dirty_log(space, 0, 16, bitmap, false), 3u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(1) | BIT(3) | BIT(6));
	KUNIT_EXPECT_EQ(test, vt_dirty_log(space, 0, 16, bitmap, false), 3u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(1) | BIT(3) | BIT(6));
	KUNIT_EXPECT_EQ(test, vt_dirty_log(space, 2, 6, bitmap, false), 1u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(1));
	KUNIT_EXPECT_EQ(test, vt_dirty_log(space, 3, 7, bitmap, false), 2u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(0) | BIT(3));

	pte = tmm_space_lookup(space, VT_BASE + 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, vt_dirty_log(space, 0, 16, bitmap, true), 3u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(1) | BIT(3) | BIT(6));
	/* Cleared in the entries, and nothing else of them changed. */
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE + 3 * PAGE_SIZE),
			pte & ~TORUSMM_PTE_DIRTY);
	for (page = 0; page < 9; page++)
		KUNIT_EXPECT_FALSE_MSG(test,
				       tmm_space_lookup(space, VT_BASE +
							page * PAGE_SIZE) &
				       TORUSMM_PTE_DIRTY, "page %u", page);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + 3 * PAGE_SIZE), 0x33);
	KUNIT_EXPECT_EQ(test, vt_dirty_log(space, 0, 16, bitmap, true), 0u);
	KUNIT_EXPECT_EQ(test, bitmap[0], 0ul);

	/* Written again, reported again; a read is still no write. */
	vt_fill(test, space, VT_BASE + 3 * PAGE_SIZE + 5, 1, 0x34);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE + PAGE_SIZE),
			0x11);
	KUNIT_EXPECT_EQ(test, vt_dirty_log(space, 0, 16, bitmap, false), 1u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(3));
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE + 6 * PAGE_SIZE,
						  VT_ACC_W, &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, vt_dirty_log(space, 0, 16, bitmap, true), 2u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(3) | BIT(6));
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus), free);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, 4u);
}

/*
 * Clearing the dirty log by bitmap clears exactly the selected pages that
 * are dirty, and counts them: selected clean pages are not counted, dirty
 * pages not selected stay dirty, bit n stands for the nth page from the
 * range's start.
 */
static void clear_dirty_log_clears_the_selected_pages(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	unsigned long bitmap[1];
	u32 page;

	vt_mmap(test, space, VT_BASE, 8 * PAGE_SIZE, VT_RW, VT_FIXED);
	for (page = 0; page < 8; page++)
		if (BIT(page) & (BIT(0) | BIT(1) | BIT(2) | BIT(5)))
			vt_fill(test, space, VT_BASE + page * PAGE_SIZE, 1,
				page);
	KUNIT_ASSERT_EQ(test, vt_read_byte(test, space, VT_BASE + 3 * PAGE_SIZE),
			0);

	bitmap[0] = BIT(1) | BIT(2) | BIT(3) | BIT(7);
	KUNIT_EXPECT_EQ(test, tmm_space_clear_dirty_log(space, VT_BASE,
							VT_BASE + 8 * PAGE_SIZE,
							bitmap), 2u);
	KUNIT_EXPECT_EQ(test, vt_dirty_log(space, 0, 8, bitmap, false), 2u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(0) | BIT(5));

	bitmap[0] = BIT(0) | BIT(1);
	KUNIT_EXPECT_EQ(test, tmm_space_clear_dirty_log(space,
							VT_BASE + 5 * PAGE_SIZE,
							VT_BASE + 8 * PAGE_SIZE,
							bitmap), 1u);
	KUNIT_EXPECT_EQ(test, vt_dirty_log(space, 0, 8, bitmap, false), 1u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(0));
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + 5 * PAGE_SIZE), 5);

	/* Written after the clear: dirty again. */
	vt_fill(test, space, VT_BASE + 2 * PAGE_SIZE, 1, 0x22);
	KUNIT_EXPECT_EQ(test, vt_dirty_log(space, 0, 8, bitmap, false), 2u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(0) | BIT(2));
}

/*
 * The access log reports the pages accessed since the last call (read,
 * written, fetched, the zero frame's and a shared frame's alike), not those
 * populated but never accessed, and clears their accessed bits, nothing
 * else: the next call reports only the pages accessed after this one.  A
 * peek is no access.  A clone's pages start unaccessed; its source's keep
 * their bits.
 */
static void access_log_reports_and_clears_accessed(struct kunit *test)
{
	struct tmm_space *space = vt_space(test);
	const u32 end = VT_BASE + 16 * PAGE_SIZE;
	unsigned long bitmap[1];
	struct tmm_space *copy;
	u32 fault, pte, free;
	u64 tpa;

	vt_mmap(test, space, VT_BASE, 8 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_mmap(test, space, VT_BASE + 8 * PAGE_SIZE, 2 * PAGE_SIZE, VT_RX,
		VT_FIXED | VT_POPULATE);
	vt_fill(test, space, VT_BASE + PAGE_SIZE, 1, 0x11);
	KUNIT_ASSERT_EQ(test, vt_read_byte(test, space, VT_BASE + 2 * PAGE_SIZE),
			0);
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE + 8 * PAGE_SIZE,
						  VT_ACC_X | VT_ACC_U, &tpa,
						  &fault), 0);
	pte = tmm_space_lookup(space, VT_BASE + PAGE_SIZE);

	bitmap_zero(bitmap, BITS_PER_LONG);
	KUNIT_EXPECT_EQ(test, tmm_space_get_access_log(space, VT_BASE, end,
						       bitmap), 3u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(1) | BIT(2) | BIT(8));
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_BASE + PAGE_SIZE),
			pte & ~TORUSMM_PTE_ACCESSED);
	vt_expect_zero_pte(test, tmm_space_lookup(space, VT_BASE + 2 * PAGE_SIZE),
			   VT_RW);
	KUNIT_EXPECT_FALSE(test, tmm_space_lookup(space, VT_BASE + 2 * PAGE_SIZE) &
			   TORUSMM_PTE_ACCESSED);
	bitmap_zero(bitmap, BITS_PER_LONG);
	KUNIT_EXPECT_EQ(test, tmm_space_get_access_log(space, VT_BASE, end,
						       bitmap), 0u);
	KUNIT_EXPECT_EQ(test, bitmap[0], 0ul);

	/* A peek is no access; a read is, and is reported next time only. */
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE + PAGE_SIZE,
						  TMM_ACCESS_PEEK | VT_ACC_U,
						  &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, VT_BASE + 2 * PAGE_SIZE),
			0);
	bitmap_zero(bitmap, BITS_PER_LONG);
	KUNIT_EXPECT_EQ(test, tmm_space_get_access_log(space,
						       VT_BASE + 2 * PAGE_SIZE,
						       end, bitmap), 1u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(0));

	/* The clone's entries start old; the source's stay as they are. */
	vt_fill(test, space, VT_BASE + 4 * PAGE_SIZE, 1, 0x44);
	free = vt_nr_free(space->torus);
	copy = vt_space_register(test, tmm_space_clone(space));
	bitmap_zero(bitmap, BITS_PER_LONG);
	KUNIT_EXPECT_EQ(test, tmm_space_get_access_log(copy, VT_BASE, end,
						       bitmap), 0u);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, copy, VT_BASE + PAGE_SIZE),
			0x11);
	bitmap_zero(bitmap, BITS_PER_LONG);
	KUNIT_EXPECT_EQ(test, tmm_space_get_access_log(copy, VT_BASE, end,
						       bitmap), 1u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(1));
	bitmap_zero(bitmap, BITS_PER_LONG);
	KUNIT_EXPECT_EQ(test, tmm_space_get_access_log(space, VT_BASE, end,
						       bitmap), 1u);
	KUNIT_EXPECT_EQ(test, bitmap[0], BIT(4));
	/* The shared frame is still shared: the logs changed bits, not frames. */
	KUNIT_EXPECT_EQ(test, vt_refs(space, VT_BASE + PAGE_SIZE), 2u);
	KUNIT_EXPECT_EQ(test, vt_nr_free(space->torus),
			free - vt_stats(copy).nr_table_frames);
}

/* What a recording observer saw of one invalidation. */
struct vt_seen {
	u32 start;
	u64 end;
	u32 probe;		/* the entry at the probe address, then */
	bool locked;		/* the space's lock was held */
};

/* An observer of a space that records what it is told. */
struct vt_observer {
	struct tmm_space_observer observer;
	struct tmm_space *space;
	u32 probe;		/* an address whose entry each call records */
	u32 nr;
	struct vt_seen seen[4];
};

/* Records an invalidation, and the probe's entry as it is at that time. */
static void vt_observer_invalidate(struct tmm_space_observer *observer,
				   u32 start, u64 end)
{
	struct vt_observer *o = container_of(observer, struct vt_observer,
					     observer);
	struct vt_seen *seen = &o->seen[o->nr % ARRAY_SIZE(o->seen)];

	seen->start = start;
	seen->end = end;
	seen->locked = rwsem_is_locked(&o->space->lock);
	/* The caller holds the lock for write: the entry cannot change. */
	seen->probe = tmm_pt_lookup(&o->space->pt, o->probe);
	o->nr++;
}

static const struct tmm_space_observer_ops vt_observer_ops = {
	.invalidate = vt_observer_invalidate,
};

/* Unregisters a recording observer when the test ends. */
static void vt_observer_release(struct kunit_resource *res)
{
	struct vt_observer *o = res->data;

	tmm_space_unobserve(o->space, &o->observer);
}

/* A recording observer of @space, probing @probe, until the test ends. */
static struct vt_observer *vt_observe(struct kunit *test,
				      struct tmm_space *space, u32 probe)
{
	struct vt_observer *o = kunit_kzalloc(test, sizeof(*o), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, o);
	o->observer.ops = &vt_observer_ops;
	o->space = space;
	o->probe = probe;
	tmm_space_observe(space, &o->observer);
	if (!kunit_alloc_resource(test, NULL, vt_observer_release, GFP_KERNEL,
				  o)) {
		tmm_space_unobserve(space, &o->observer);
		KUNIT_ASSERT_FAILURE(test, "cannot register the observer");
	}
	return o;
}

/* What an observer case does, on the space of vt_observer_setup(). */
enum vt_observe_op {
	VT_OBS_CLONE,
	VT_OBS_WRITE_SHARED,
	VT_OBS_WRITE_ZERO,
	VT_OBS_DIRTY_LOG,
	VT_OBS_DIRTY_LOG_CLEAR,
	VT_OBS_CLEAR_DIRTY_LOG,
	VT_OBS_ACCESS_LOG,
};

struct vt_observe_case {
	const char *desc;
	enum vt_observe_op op;
	bool told;		/* the observer must be told once */
	u32 start;
	u64 end;
	u32 probe_set;		/* bits the probe's entry still has then */
	u32 probe_clear;	/* ... and does not have yet */
};

/* The observer cases' page: written, so dirty, accessed and writable. */
#define VT_O_PAGE	(VT_BASE + PAGE_SIZE)

static const struct vt_observe_case vt_observe_cases[] = {
	{ "clone: the user range, before the source's entries are shared",
	  VT_OBS_CLONE, true, TORUSMM_USER_MIN, TMM_USER_END,
	  TORUSMM_PTE_WRITABLE, TORUSMM_PTE_COW },
	{ "write to a shared page: the page", VT_OBS_WRITE_SHARED, true,
	  VT_O_PAGE, VT_O_PAGE + PAGE_SIZE },
	{ "write to a zero-frame page: the page", VT_OBS_WRITE_ZERO, true,
	  VT_BASE, VT_BASE + PAGE_SIZE },
	{ "dirty log without clear: nothing", VT_OBS_DIRTY_LOG, false },
	{ "dirty log with clear: the range, before the bits are cleared",
	  VT_OBS_DIRTY_LOG_CLEAR, true, VT_BASE, VT_BASE + VT_SLOT,
	  TORUSMM_PTE_DIRTY },
	{ "clear dirty log: the range, before the bits are cleared",
	  VT_OBS_CLEAR_DIRTY_LOG, true, VT_BASE, VT_BASE + VT_SLOT,
	  TORUSMM_PTE_DIRTY },
	{ "access log: the range, before the bits are cleared",
	  VT_OBS_ACCESS_LOG, true, VT_BASE, VT_BASE + VT_SLOT,
	  TORUSMM_PTE_ACCESSED },
};

static void vt_observe_desc(const struct vt_observe_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_observe, vt_observe_cases, vt_observe_desc);

/*
 * Observers (the shadow) hold writable translations derived from the
 * entries: they must be told, with the lock held, of every range whose
 * entries lose write permission or a frame, or have dirty or accessed
 * cleared, and before that happens, so that no write goes to a shared frame
 * and no write or access escapes the logs.
 */
static void observers_are_told_before_entries_change(struct kunit *test)
{
	const struct vt_observe_case *c = test->param_value;
	struct tmm_space *space = vt_space(test);
	unsigned long bitmap[BITS_TO_LONGS(VT_SLOT / PAGE_SIZE)];
	struct vt_observer *o;

	vt_mmap(test, space, VT_BASE, 4 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_O_PAGE, 1, 0x0b);
	KUNIT_ASSERT_EQ(test, vt_read_byte(test, space, VT_BASE), 0);
	if (c->op == VT_OBS_WRITE_SHARED)
		vt_space_register(test, tmm_space_clone(space));
	o = vt_observe(test, space, VT_O_PAGE);

	bitmap_fill(bitmap, VT_SLOT / PAGE_SIZE);
	switch (c->op) {
	case VT_OBS_CLONE:
		vt_space_register(test, tmm_space_clone(space));
		break;
	case VT_OBS_WRITE_SHARED:
		vt_fill(test, space, VT_O_PAGE, 1, 0x0c);
		break;
	case VT_OBS_WRITE_ZERO:
		vt_fill(test, space, VT_BASE, 1, 0x0d);
		break;
	case VT_OBS_DIRTY_LOG:
	case VT_OBS_DIRTY_LOG_CLEAR:
		KUNIT_EXPECT_EQ(test, tmm_space_get_dirty_log(space, VT_BASE,
							      VT_BASE + VT_SLOT,
							      bitmap,
							      c->op ==
							      VT_OBS_DIRTY_LOG_CLEAR),
				1u);
		break;
	case VT_OBS_CLEAR_DIRTY_LOG:
		KUNIT_EXPECT_EQ(test, tmm_space_clear_dirty_log(space, VT_BASE,
								VT_BASE + VT_SLOT,
								bitmap), 1u);
		break;
	case VT_OBS_ACCESS_LOG:
		KUNIT_EXPECT_EQ(test, tmm_space_get_access_log(space, VT_BASE,
							       VT_BASE + VT_SLOT,
							       bitmap), 2u);
		break;
	}

	KUNIT_ASSERT_EQ(test, o->nr, c->told ? 1u : 0u);
	if (!c->told)
		return;
	KUNIT_EXPECT_EQ(test, o->seen[0].start, c->start);
	KUNIT_EXPECT_EQ(test, o->seen[0].end, c->end);
	KUNIT_EXPECT_TRUE(test, o->seen[0].locked);
	KUNIT_EXPECT_EQ_MSG(test, o->seen[0].probe & c->probe_set, c->probe_set,
			    "entry %#x when told", o->seen[0].probe);
	KUNIT_EXPECT_EQ_MSG(test, o->seen[0].probe & c->probe_clear, 0u,
			    "entry %#x when told", o->seen[0].probe);
}

/* One side of vt_race: a thread that accesses each page of a range in turn. */
struct vt_racer {
	struct tmm_space *space;
	u32 base;
	u32 nr;
	u32 access;
	atomic_t *arrived;	/* both sides count in here, page by page */
	struct completion done;
	u32 nr_errors;
	int first_error;
	u32 first_fault;
	u32 first_va;
};

/* Meets the other side at page @i, then accesses it. */
static int vt_racer_run(void *data)
{
	struct vt_racer *r = data;
	u32 i, fault = 0;
	u64 tpa;
	int ret;

	for (i = 0; i < r->nr; i++) {
		atomic_inc(r->arrived);
		while (atomic_read(r->arrived) < 2 * (i + 1))
			cond_resched();
		ret = tmm_space_translate(r->space, r->base + i * PAGE_SIZE,
					  r->access, &tpa, &fault);
		if (ret && !r->nr_errors++) {
			r->first_error = ret;
			r->first_fault = fault;
			r->first_va = r->base + i * PAGE_SIZE;
		}
	}
	complete(&r->done);
	return 0;
}

/* Maps the pages translate_many_matches_single_translations() needs. */
static void vt_translate_setup(struct kunit *test, struct tmm_space *space)
{
	vt_mmap(test, space, VT_BASE, 3 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_mmap(test, space, VT_BASE + 3 * PAGE_SIZE, PAGE_SIZE, VT_R,
		VT_FIXED);
	vt_fill(test, space, VT_BASE, 2 * PAGE_SIZE, 0x5a);
}

/*
 * A vector of translations gives, one by one, what single translations of a
 * twin space give: each result, fault code, leaf entry and offset, the
 * fault-ins (a not-present page of a region), the counters, and the stop
 * after the first failure.  The vector walks present pages under one hold of
 * the lock and takes the single path for a fault-in.
 */
static void translate_many_matches_single_translations(struct kunit *test)
{
	static const struct {
		u32 va;
		u32 access;
	} vec[] = {
		{ VT_BASE + 0x10, VT_ACC_U },			/* present */
		{ VT_BASE + PAGE_SIZE + 0x20, VT_ACC_U | VT_ACC_W },
		{ VT_BASE + 2 * PAGE_SIZE, VT_ACC_U | VT_ACC_W },/* fault-in */
		{ VT_BASE + 2 * PAGE_SIZE + 1, VT_ACC_U },	/* now there */
		{ VT_BASE + 3 * PAGE_SIZE, VT_ACC_U | VT_ACC_W },/* read-only */
		{ VT_BASE + 8 * PAGE_SIZE, VT_ACC_U },		/* unmapped */
		{ VT_BASE + 3 * PAGE_SIZE + 4, VT_ACC_U | TMM_ACCESS_PEEK },
		{ VT_BASE + 0xfff, 0 },				/* supervisor */
	};
	struct tmm_space *many = vt_space(test);
	struct tmm_space *single = vt_space(test);
	struct torusmm_space_stats s_many, s_single;
	struct tmm_xlat x[ARRAY_SIZE(vec)];
	unsigned int i, done;

	vt_translate_setup(test, many);
	vt_translate_setup(test, single);
	KUNIT_EXPECT_EQ(test, tmm_space_translate_many(many, x, 0, true), 0u);

	for (i = 0; i < ARRAY_SIZE(vec); i++) {
		x[i].va = vec[i].va;
		x[i].access = vec[i].access;
		x[i].err = 12345;
	}
	done = tmm_space_translate_many(many, x, ARRAY_SIZE(vec), false);
	KUNIT_ASSERT_EQ(test, done, (unsigned int)ARRAY_SIZE(vec));
	for (i = 0; i < ARRAY_SIZE(vec); i++) {
		struct tmm_translation tr;
		int err = tmm_space_access(single, vec[i].va, vec[i].access,
					   &tr, NULL, NULL);

		KUNIT_EXPECT_EQ_MSG(test, x[i].err, err, "entry %u", i);
		KUNIT_EXPECT_EQ_MSG(test, x[i].tr.fault, tr.fault, "entry %u", i);
		KUNIT_EXPECT_EQ_MSG(test, x[i].tr.pte & ~PAGE_MASK,
				    tr.pte & ~PAGE_MASK, "entry %u", i);
		KUNIT_EXPECT_EQ_MSG(test, x[i].tr.tpa & ~PAGE_MASK,
				    tr.tpa & ~PAGE_MASK, "entry %u", i);
		if (!err)
			KUNIT_EXPECT_EQ_MSG(test, x[i].tr.tpa >> PAGE_SHIFT,
					    (u64)TMM_PTE_FRAME(x[i].tr.pte),
					    "entry %u", i);
		KUNIT_EXPECT_EQ_MSG(test, tmm_space_lookup(many, vec[i].va) &
				    ~PAGE_MASK, tmm_space_lookup(single,
				    vec[i].va) & ~PAGE_MASK, "entry %u", i);
	}
	KUNIT_EXPECT_EQ(test, x[2].err, 0);	/* the fault-in happened */
	KUNIT_EXPECT_EQ(test, x[4].err, -EFAULT);
	tmm_space_get_stats(many, &s_many);
	tmm_space_get_stats(single, &s_single);
	KUNIT_EXPECT_EQ(test, s_many.nr_translations, s_single.nr_translations);
	KUNIT_EXPECT_EQ(test, s_many.nr_fault_errors, s_single.nr_fault_errors);
	KUNIT_EXPECT_EQ(test, s_many.nr_faults, s_single.nr_faults);
	KUNIT_EXPECT_EQ(test, s_many.nr_data_frames, s_single.nr_data_frames);

	/* Stopping: the first failure is the last one done; the rest untouched. */
	for (i = 0; i < ARRAY_SIZE(vec); i++)
		x[i].err = 12345;
	done = tmm_space_translate_many(many, x, ARRAY_SIZE(vec), true);
	KUNIT_EXPECT_EQ(test, done, 5u);
	KUNIT_EXPECT_EQ(test, x[4].err, -EFAULT);
	KUNIT_EXPECT_EQ(test, x[3].err, 0);
	KUNIT_EXPECT_EQ(test, x[5].err, 12345);
	/* A first entry that fails stops at once. */
	done = tmm_space_translate_many(many, &x[5], 1, true);
	KUNIT_EXPECT_EQ(test, done, 1u);
	KUNIT_EXPECT_EQ(test, x[5].err, -EFAULT);
}

/*
 * A write and a read racing on a page never written both succeed, whichever
 * faults the page in first: the write gets a frame of its own, also where
 * the read mapped the zero frame between the write's look at the page and
 * its fault-in.  Run page by page over 1024 pages, the two threads meeting
 * before each.
 */
static void write_racing_a_read_of_a_new_page_succeeds(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, 2048);
	struct tmm_space *space = vt_space_create(test, torus, 0);
	const u32 nr = VT_SLOT / PAGE_SIZE - 1;
	struct vt_racer *racers;
	struct task_struct *task;
	u32 i, pte, nr_bad = 0;
	atomic_t arrived;

	racers = kunit_kcalloc(test, 2, sizeof(*racers), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, racers);
	vt_mmap(test, space, VT_BASE, VT_SLOT, VT_RW, VT_FIXED);
	/* The table exists: the race is for the page alone. */
	vt_fill(test, space, VT_BASE + VT_SLOT - PAGE_SIZE, 1, 1);
	atomic_set(&arrived, 0);
	for (i = 0; i < 2; i++) {
		racers[i].space = space;
		racers[i].base = VT_BASE;
		racers[i].nr = nr;
		racers[i].access = VT_ACC_U | (i ? VT_ACC_W : 0);
		racers[i].arrived = &arrived;
		init_completion(&racers[i].done);
	}
	for (i = 0; i < 2; i++) {
		task = kthread_run(vt_racer_run, &racers[i], "vt_racer%u", i);
		if (IS_ERR(task)) {
			/* The other side gives up waiting at no page. */
			KUNIT_FAIL(test, "cannot start a racer: %ld",
				   PTR_ERR(task));
			atomic_add(2 * nr, &arrived);
			if (i)
				wait_for_completion(&racers[0].done);
			return;
		}
	}
	wait_for_completion(&racers[0].done);
	wait_for_completion(&racers[1].done);

	KUNIT_EXPECT_EQ_MSG(test, racers[0].nr_errors, 0u,
			    "reads failed, the first at %#x: %d, fault %#x",
			    racers[0].first_va, racers[0].first_error,
			    racers[0].first_fault);
	KUNIT_EXPECT_EQ_MSG(test, racers[1].nr_errors, 0u,
			    "writes failed, the first at %#x: %d, fault %#x",
			    racers[1].first_va, racers[1].first_error,
			    racers[1].first_fault);
	/* Every page written holds a writable frame of its own. */
	for (i = 0; i < nr; i++) {
		pte = tmm_space_lookup(space, VT_BASE + i * PAGE_SIZE);
		if ((pte & (VT_PTE_PROT | TORUSMM_PTE_COW)) !=
		    vt_prot_pte(VT_RW) || TMM_PTE_FRAME(pte) == TMM_ZERO_FRAME)
			nr_bad++;
	}
	KUNIT_EXPECT_EQ(test, nr_bad, 0u);
	KUNIT_EXPECT_EQ(test, vt_stats(space).nr_data_frames, nr + 1 - nr_bad);
}

/*
 * Placement at the edges of the user range.  mmap without MAP_FIXED places
 * in the window [TORUSMM_USER_MIN, TMM_MMAP_BASE); a free hint is used
 * anywhere in [TORUSMM_USER_MIN, TMM_USER_END).
 */
#define VT_MIN		TORUSMM_USER_MIN
#define VT_WINDOW	(TMM_MMAP_BASE - TORUSMM_USER_MIN)
#define VT_USER_RANGE	(TMM_USER_END - TORUSMM_USER_MIN)

/* Unmaps the stack: the space is left without any region. */
static void vt_space_empty(struct kunit *test, struct tmm_space *space)
{
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, VT_STACK, PAGE_SIZE), 0);
	KUNIT_ASSERT_EQ(test, vt_stats(space).nr_regions, 0u);
}

/*
 * Dumps the regions of @space into @buf and asserts that they are sorted,
 * disjoint, inside the user range and as many as GET_STATS counts.
 * Return: how many there are.
 */
static u32 vt_regions_sane(struct kunit *test, struct tmm_space *space,
			   struct torusmm_region *buf, u32 capacity)
{
	u32 count = vt_regions(test, space, buf, capacity), i;

	KUNIT_ASSERT_EQ(test, vt_stats(space).nr_regions, count);
	for (i = 0; i < count; i++) {
		KUNIT_ASSERT_LT_MSG(test, buf[i].start, buf[i].end,
				    "region %u", i);
		KUNIT_ASSERT_GE_MSG(test, buf[i].start, VT_MIN, "region %u", i);
		KUNIT_ASSERT_LE_MSG(test, buf[i].end, TMM_USER_END,
				    "region %u", i);
		if (i)
			KUNIT_ASSERT_LE_MSG(test, buf[i - 1].end, buf[i].start,
					    "regions %u and %u overlap", i - 1,
					    i);
	}
	return count;
}

struct vt_place_case {
	const char *desc;
	bool empty;		/* the stack is unmapped first: no region left */
	u32 hint;
	u64 length;
	int err;
	u32 start;		/* where the mapping goes, on success */
};

static const struct vt_place_case vt_place_cases[] = {
	{ "window length goes to the first user page", false, 0, VT_WINDOW,
	  0, VT_MIN },
	{ "a page less than the window goes a page higher", false, 0,
	  VT_WINDOW - PAGE_SIZE, 0, VT_MIN + PAGE_SIZE },
	{ "a page more than the window fails", false, 0,
	  VT_WINDOW + PAGE_SIZE, -ENOMEM },
	{ "the whole user range fails", false, 0, VT_USER_RANGE, -ENOMEM },
	{ "the user range and a page fails", false, 0,
	  VT_USER_RANGE + PAGE_SIZE, -ENOMEM },
	{ "bug: 0x7f7ff000 bytes on a fresh space fail, not at 0", false, 0,
	  0x7f7ff000u, -ENOMEM },
	{ "stack unmapped: window length goes to the first user page", true,
	  0, VT_WINDOW, 0, VT_MIN },
	{ "stack unmapped: a page more than the window fails", true, 0,
	  VT_WINDOW + PAGE_SIZE, -ENOMEM },
	{ "stack unmapped: the whole user range fails", true, 0,
	  VT_USER_RANGE, -ENOMEM },
	{ "bug: 0x7fffe000 bytes with the stack unmapped fail, not inverted",
	  true, 0, 0x7fffe000u, -ENOMEM },
	{ "stack unmapped: one page goes below the mmap base", true, 0,
	  PAGE_SIZE, 0, TMM_MMAP_BASE - PAGE_SIZE },
	{ "hint 0 places below the mmap base", false, 0, PAGE_SIZE, 0,
	  TMM_MMAP_BASE - PAGE_SIZE },
	{ "hint at the first user page is used", false, VT_MIN, PAGE_SIZE, 0,
	  VT_MIN },
	{ "hint 1 rounds up to the first user page", false, 1, PAGE_SIZE, 0,
	  VT_MIN },
	{ "hint at the first user page, window length", false, VT_MIN,
	  VT_WINDOW, 0, VT_MIN },
	{ "hint at the first user page, up to the stack", false, VT_MIN,
	  VT_USER_RANGE - PAGE_SIZE, 0, VT_MIN },
	{ "hint at the first user page, over the stack, fails", false, VT_MIN,
	  VT_USER_RANGE, -ENOMEM },
	{ "hint above the mmap base is used", false, TMM_MMAP_BASE, PAGE_SIZE,
	  0, TMM_MMAP_BASE },
	{ "stack unmapped: hint whose range ends at the user end", true,
	  VT_MIN, VT_USER_RANGE, 0, VT_MIN },
	{ "stack unmapped: hint on the last user page", true,
	  TMM_USER_END - PAGE_SIZE, PAGE_SIZE, 0, TMM_USER_END - PAGE_SIZE },
	{ "stack unmapped: hint a page past the user end falls back", true,
	  TMM_USER_END - PAGE_SIZE, 2 * PAGE_SIZE, 0,
	  TMM_MMAP_BASE - 2 * PAGE_SIZE },
	{ "stack unmapped: whole range hinted a page high fails", true,
	  VT_MIN + PAGE_SIZE, VT_USER_RANGE, -ENOMEM },
	{ "stack unmapped: hint on the guard page falls back", true,
	  TMM_USER_END, PAGE_SIZE, 0, TMM_MMAP_BASE - PAGE_SIZE },
	{ "stack unmapped: hint in the kernel half falls back", true,
	  TORUSMM_KERNEL_BASE, PAGE_SIZE, 0, TMM_MMAP_BASE - PAGE_SIZE },
	{ "stack unmapped: hint rounding up to 4 GiB falls back", true,
	  0xfffff001u, PAGE_SIZE, 0, TMM_MMAP_BASE - PAGE_SIZE },
	{ "hint in the kernel half, window length", false, TORUSMM_KERNEL_BASE,
	  VT_WINDOW, 0, VT_MIN },
	{ "hint in the kernel half, a page more than the window, fails", false,
	  TORUSMM_KERNEL_BASE, VT_WINDOW + PAGE_SIZE, -ENOMEM },
};

static void vt_place_desc(const struct vt_place_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_place, vt_place_cases, vt_place_desc);

/*
 * mmap without MAP_FIXED either fails with -ENOMEM and changes nothing (not
 * even the address it was given), or maps exactly the rounded length at the
 * expected start, where nothing was, leaving every other region as it was;
 * page 0 stays unmapped either way.
 */
static void mmap_placement_stays_in_the_user_range(struct kunit *test)
{
	const struct vt_place_case *c = test->param_value;
	struct tmm_space *space = vt_space(test);
	struct vt_snapshot *before, *after;
	struct torusmm_region got[4];
	u32 addr = c->hint, fault = 0, count, i, j = 0;
	u64 len = PAGE_ALIGN(c->length), tpa;
	int ret;

	before = kunit_kzalloc(test, sizeof(*before), GFP_KERNEL);
	after = kunit_kzalloc(test, sizeof(*after), GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, before && after);
	if (c->empty)
		vt_space_empty(test, space);
	vt_snapshot_take(test, space, before);

	ret = tmm_space_mmap(space, &addr, c->length, VT_R, 0);
	KUNIT_EXPECT_EQ(test, ret, c->err);
	if (ret) {
		KUNIT_EXPECT_EQ(test, addr, c->hint);
		vt_snapshot_take(test, space, after);
		vt_snapshot_expect_equal(test, before, after, c->desc);
	} else {
		KUNIT_EXPECT_EQ(test, addr, c->start);
		count = vt_regions_sane(test, space, got, ARRAY_SIZE(got));
		KUNIT_EXPECT_EQ(test, count, before->nr_regions + 1);
		for (i = 0; i < count; i++) {
			if (got[i].start == addr) {
				KUNIT_EXPECT_EQ(test, (u64)got[i].end,
						addr + len);
				KUNIT_EXPECT_EQ(test, got[i].prot, VT_R);
				continue;
			}
			KUNIT_ASSERT_LT(test, j, before->nr_regions);
			KUNIT_EXPECT_EQ(test, got[i].start,
					before->regions[j].start);
			KUNIT_EXPECT_EQ(test, got[i].end,
					before->regions[j].end);
			j++;
		}
		KUNIT_EXPECT_EQ(test, j, before->nr_regions);
		/* The mapping is real at both ends. */
		KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, addr), 0);
		KUNIT_EXPECT_EQ(test, vt_read_byte(test, space, addr + len - 1),
				0);
	}
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, 0, VT_ACC_U, &tpa,
						  &fault), -EFAULT);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, 0), 0u);
}

/* Unmaps nothing: a space as it was created. */
static void vt_setup_nothing(struct kunit *test, struct tmm_space *space)
{
}

/* Maps the first user page, populated, with a byte written to it. */
static void vt_setup_first_page(struct kunit *test, struct tmm_space *space)
{
	vt_mmap(test, space, VT_MIN, PAGE_SIZE, VT_RW, VT_FIXED | VT_POPULATE);
	vt_fill(test, space, VT_MIN, 1, 0x5e);
}

/* Fills the whole window from the first user page by placement. */
static void vt_setup_window(struct kunit *test, struct tmm_space *space)
{
	KUNIT_ASSERT_EQ(test, vt_mmap(test, space, 0, VT_WINDOW, VT_RW, 0),
			VT_MIN);
	vt_fill(test, space, VT_MIN, 1, 0x5e);
}

struct vt_page_zero_case {
	const char *desc;
	void (*setup)(struct kunit *test, struct tmm_space *space);
};

static const struct vt_page_zero_case vt_page_zero_cases[] = {
	{ "fresh space", vt_setup_nothing },
	{ "stack unmapped", vt_space_empty },
	{ "first user page mapped", vt_setup_first_page },
	{ "window mapped from the first user page", vt_setup_window },
};

static void vt_page_zero_desc(const struct vt_page_zero_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_page_zero, vt_page_zero_cases, vt_page_zero_desc);

/* Accesses to page 0 and the not-present fault code each must get. */
static const struct {
	u32 va;
	u32 access;
	u32 fault;
} vt_page_zero_probes[] = {
	{ 0, VT_ACC_U, VT_F_U },
	{ 0, VT_ACC_W | VT_ACC_U, VT_F_W | VT_F_U },
	{ 0, VT_ACC_X | VT_ACC_U, VT_F_X | VT_F_U },
	{ 0, 0, 0 },
	{ 0, VT_ACC_W, VT_F_W },
	{ PAGE_SIZE - 1, VT_ACC_W | VT_ACC_U, VT_F_W | VT_F_U },
};

/*
 * Page 0 is never mapped, whatever lies above it: every access faults,
 * munmap of it succeeds and changes nothing, mprotect of it is -ENOMEM and
 * MAP_FIXED at it -EPERM.
 */
static void page_zero_is_never_mapped(struct kunit *test)
{
	const struct vt_page_zero_case *c = test->param_value;
	struct tmm_space *space = vt_space(test);
	struct vt_snapshot *before, *after;
	struct tmm_access res;
	u32 i, fault, addr, count = 1;
	u8 buf[4] = {};
	u64 tpa;
	int ret;

	before = kunit_kzalloc(test, sizeof(*before), GFP_KERNEL);
	after = kunit_kzalloc(test, sizeof(*after), GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, before && after);
	c->setup(test, space);

	for (i = 0; i < ARRAY_SIZE(vt_page_zero_probes); i++) {
		fault = 0xdead;
		ret = tmm_space_translate(space, vt_page_zero_probes[i].va,
					  vt_page_zero_probes[i].access, &tpa,
					  &fault);
		KUNIT_EXPECT_EQ_MSG(test, ret, -EFAULT, "probe %u", i);
		KUNIT_EXPECT_EQ_MSG(test, fault, vt_page_zero_probes[i].fault,
				    "probe %u", i);
	}
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, 0), 0u);
	KUNIT_ASSERT_EQ(test, tmm_space_read(space, 0, buf, 1, VT_ACC_U, &res),
			0);
	KUNIT_EXPECT_EQ(test, res.done, 0u);
	KUNIT_EXPECT_EQ(test, res.fault, VT_F_U);
	/* A write straddling into page 1 stops at once, in page 0. */
	KUNIT_ASSERT_EQ(test, tmm_space_write(space, PAGE_SIZE - 2, buf,
					      sizeof(buf), VT_ACC_U, &res), 0);
	KUNIT_EXPECT_EQ(test, res.done, 0u);
	KUNIT_EXPECT_EQ(test, res.fault_addr, PAGE_SIZE - 2);

	vt_snapshot_take(test, space, before);
	KUNIT_EXPECT_EQ(test, tmm_space_munmap(space, 0, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_munmap(space, 0, 1), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_mprotect(space, 0, PAGE_SIZE, VT_R),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, tmm_space_mprotect(space, 0, 2 * PAGE_SIZE,
						 VT_RW), -ENOMEM);
	addr = 0;
	KUNIT_EXPECT_EQ(test, tmm_space_mmap(space, &addr, PAGE_SIZE, VT_RW,
					     VT_FIXED), -EPERM);
	KUNIT_EXPECT_EQ(test, tmm_space_mmap(space, &addr, PAGE_SIZE, VT_RW,
					     VT_NOREPLACE), -EPERM);
	KUNIT_EXPECT_EQ(test, tmm_space_brk(space, 1), VT_HEAP);
	vt_snapshot_take(test, space, after);
	vt_snapshot_expect_equal(test, before, after, "page 0 calls");
	KUNIT_EXPECT_EQ(test, tmm_space_dump_ptes(space, 0, PAGE_SIZE, NULL, 0,
						  &count), 0);
	KUNIT_EXPECT_EQ(test, count, 0u);

	/* munmap from page 0 unmaps the first user page; page 0 stays out. */
	KUNIT_EXPECT_EQ(test, tmm_space_munmap(space, 0, 2 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_lookup(space, VT_MIN), 0u);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(space, 0, VT_ACC_U, &tpa,
						  &fault), -EFAULT);
	if (vt_regions_sane(test, space, after->regions, VT_NR_REGIONS))
		KUNIT_EXPECT_GE(test, after->regions[0].start,
				VT_MIN + PAGE_SIZE);
}

/*
 * The placement run: 2000 random fixed mappings, unmappings and placements
 * over the whole user range, lengths from a page to 2 GiB and around the
 * window's, hints anywhere (unaligned and in the kernel half too).  Each
 * placement is checked against a model that shares no code with the core:
 * the hint when its range is free, else the top of the highest gap of the
 * window that is large enough, computed from the region dump.
 */
#define VT_PLACE_OPS		2000u
#define VT_PLACE_CAPACITY	1024u
#define VT_PLACE_TRIM		256u

struct vt_place_run {
	struct kunit *test;
	struct tmm_space *space;
	struct rnd_state rnd;
	struct torusmm_region *regions;
	u32 count;
	u32 op;
};

/* A random number below @n. */
static u32 vt_place_rand(struct vt_place_run *p, u32 n)
{
	return prandom_u32_state(&p->rnd) % n;
}

/* A page of the user range, often near one of its edges. */
static u32 vt_place_pick_page(struct vt_place_run *p)
{
	switch (vt_place_rand(p, 4)) {
	case 0:
		return VT_MIN + vt_place_rand(p, 64) * PAGE_SIZE;
	case 1:
		return TMM_MMAP_BASE - 64 * PAGE_SIZE +
		       vt_place_rand(p, 128) * PAGE_SIZE;
	case 2:
		return TMM_USER_END - (1 + vt_place_rand(p, 64)) * PAGE_SIZE;
	default:
		return VT_MIN + vt_place_rand(p, VT_USER_RANGE >> PAGE_SHIFT) *
		       PAGE_SIZE;
	}
}

/* A length in whole pages: mostly short, some huge, some near the window. */
static u64 vt_place_pick_length(struct vt_place_run *p)
{
	switch (vt_place_rand(p, 8)) {
	case 0 ... 3:
		return (1 + vt_place_rand(p, 16)) * PAGE_SIZE;
	case 4 ... 5:
		return (1 + vt_place_rand(p, 4096)) * PAGE_SIZE;
	case 6:
		return (1 + vt_place_rand(p, 1u << 19)) * (u64)PAGE_SIZE;
	default:
		return VT_WINDOW - 8 * PAGE_SIZE + vt_place_rand(p, 17) *
		       PAGE_SIZE;
	}
}

/* Bounds of gap @i of the dump: below region @i, above region @i - 1. */
static void vt_place_gap(struct vt_place_run *p, u32 i, u64 *lo, u64 *hi)
{
	*lo = i ? p->regions[i - 1].end : VT_MIN;
	*hi = i < p->count ? p->regions[i].start : TMM_USER_END;
}

/* Whether no region of the dump overlaps [start, end). */
static bool vt_place_free(struct vt_place_run *p, u64 start, u64 end)
{
	u32 i;

	for (i = 0; i < p->count; i++)
		if (p->regions[i].start < end && start < p->regions[i].end)
			return false;
	return true;
}

/* Where the model places @len bytes with @hint: 0 and *start, or -ENOMEM. */
static int vt_place_predict(struct vt_place_run *p, u64 hint, u64 len,
			    u32 *start)
{
	u64 lo, hi;
	u32 i;

	hint = PAGE_ALIGN(hint);
	if (hint >= VT_MIN && hint + len <= TMM_USER_END &&
	    vt_place_free(p, hint, hint + len)) {
		*start = hint;
		return 0;
	}
	for (i = p->count + 1; i-- > 0;) {
		vt_place_gap(p, i, &lo, &hi);
		hi = min_t(u64, hi, TMM_MMAP_BASE);
		if (hi > lo && hi - lo >= len) {
			*start = hi - len;
			return 0;
		}
	}
	return -ENOMEM;
}

/*
 * One placement, its hint and length chosen to meet edges and exact fits.
 * Return: 0 when the hint was used, 1 when placed top-down, 2 when refused.
 */
static int vt_place_one(struct vt_place_run *p)
{
	struct kunit *test = p->test;
	u32 prot = vt_place_rand(p, 2) ? VT_R : VT_RW, hint, addr, want = 0;
	u64 len, lo, hi;
	int ret, err;

	switch (vt_place_rand(p, 6)) {
	case 0 ... 1:
		hint = 0;
		break;
	case 2:
		hint = vt_place_pick_page(p);
		break;
	case 3:
		hint = vt_place_pick_page(p) + 1 + vt_place_rand(p, PAGE_SIZE - 1);
		break;
	case 4:
		hint = TORUSMM_KERNEL_BASE + vt_place_rand(p, 0x7fffffff);
		break;
	default:
		vt_place_gap(p, vt_place_rand(p, p->count + 1), &lo, &hi);
		hint = lo;
		break;
	}
	len = vt_place_pick_length(p);
	if (!vt_place_rand(p, 3)) {
		/* The size of a gap of the window, or a page off it. */
		vt_place_gap(p, vt_place_rand(p, p->count + 1), &lo, &hi);
		hi = min_t(u64, hi, TMM_MMAP_BASE);
		if (hi > lo)
			len = hi - lo - PAGE_SIZE +
			      vt_place_rand(p, 3) * PAGE_SIZE;
		if (!len)
			len = PAGE_SIZE;
	}

	err = vt_place_predict(p, hint, len, &want);
	addr = hint;
	ret = tmm_space_mmap(p->space, &addr, len, prot, 0);
	KUNIT_ASSERT_EQ_MSG(test, ret, err,
			    "op %u: mmap(hint %#x, length %#llx)", p->op, hint,
			    len);
	if (ret)
		return 2;
	KUNIT_ASSERT_EQ_MSG(test, addr, want,
			    "op %u: mmap(hint %#x, length %#llx) placed", p->op,
			    hint, len);
	/* Regions cover all of it now. */
	KUNIT_ASSERT_EQ(test, tmm_space_mprotect(p->space, addr, len, prot), 0);
	if (PAGE_ALIGN((u64)hint) == addr)
		return 0;
	KUNIT_ASSERT_GE(test, addr, VT_MIN);
	KUNIT_ASSERT_LE(test, addr + len, (u64)TMM_MMAP_BASE);
	return 1;
}

/* One MAP_FIXED mapping somewhere in the user range, or just past it. */
static void vt_place_fixed(struct vt_place_run *p)
{
	static const u32 prots[] = { VT_NONE, VT_R, VT_RW };
	u32 addr = vt_place_pick_page(p);
	u64 len = vt_place_pick_length(p);
	int ret;

	ret = tmm_space_mmap(p->space, &addr, len,
			     prots[vt_place_rand(p, ARRAY_SIZE(prots))],
			     VT_FIXED);
	KUNIT_ASSERT_EQ_MSG(p->test, ret,
			    addr + len > TMM_USER_END ? -ENOMEM : 0,
			    "op %u: mmap fixed %#x, length %#llx", p->op, addr,
			    len);
}

/* One munmap in the user range; a large one when regions pile up. */
static void vt_place_unmap(struct vt_place_run *p)
{
	u32 addr = vt_place_pick_page(p);
	u64 len = vt_place_pick_length(p);

	if (p->count > VT_PLACE_TRIM) {
		addr = (VT_MIN + vt_place_rand(p, VT_USER_RANGE >> 1)) &
		       PAGE_MASK;
		len = VT_USER_RANGE >> 2;
	}
	len = min_t(u64, len, TMM_USER_END - addr);
	KUNIT_ASSERT_EQ_MSG(p->test, tmm_space_munmap(p->space, addr, len), 0,
			    "op %u: munmap %#x, length %#llx", p->op, addr,
			    len);
}

static void placed_mmap_stays_in_window_and_never_overlaps(struct kunit *test)
{
	struct vt_place_run *p;
	u32 placed[3] = {}, fault;
	u64 tpa;

	p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	p->test = test;
	p->space = vt_space(test);
	p->regions = kunit_kcalloc(test, VT_PLACE_CAPACITY, sizeof(*p->regions),
				   GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p->regions);
	prandom_seed_state(&p->rnd, 0x706c616365);
	p->count = vt_regions_sane(test, p->space, p->regions,
				   VT_PLACE_CAPACITY);

	for (p->op = 0; p->op < VT_PLACE_OPS; p->op++) {
		switch (vt_place_rand(p, 10)) {
		case 0 ... 2:
			vt_place_fixed(p);
			break;
		case 3 ... 4:
			vt_place_unmap(p);
			break;
		default:
			placed[vt_place_one(p)]++;
			break;
		}
		p->count = vt_regions_sane(test, p->space, p->regions,
					   VT_PLACE_CAPACITY);
		if (!(p->op % 100))
			KUNIT_ASSERT_EQ(test, tmm_space_translate(p->space, 0,
								  VT_ACC_U,
								  &tpa, &fault),
					-EFAULT);
		cond_resched();
	}
	kunit_info(test, "placements: %u at the hint, %u top-down, %u refused; %u regions at the end",
		   placed[0], placed[1], placed[2],
		   p->count);
}

struct vt_quota_case {
	const char *desc;
	u32 ceiling;		/* limits->max_frames */
	u32 request;		/* the quota asked for */
	int err;
	u32 max_frames;		/* the quota the space gets */
};

static const struct vt_quota_case vt_quota_cases[] = {
	{ "no ceiling, quota 0: no quota", 0, 0, 0, 0 },
	{ "no ceiling: any quota", 0, 100000, 0, 100000 },
	{ "quota below the ceiling", 16, 8, 0, 8 },
	{ "quota at the ceiling", 16, 16, 0, 16 },
	{ "quota 0 takes the ceiling", 16, 0, 0, 16 },
	{ "quota a frame above the ceiling fails", 16, 17, -EINVAL },
	{ "largest quota above the ceiling fails", 16, U32_MAX, -EINVAL },
	{ "ceiling of one frame: the directory only", 1, 0, 0, 1 },
};

static void vt_quota_desc(const struct vt_quota_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_quota, vt_quota_cases, vt_quota_desc);

/*
 * A space's quota is at most max_frames (-EINVAL above it, nothing
 * charged), 0 asks for the ceiling, and the quota it gets is enforced to
 * the frame: writes fault in pages until exactly max_frames are held.
 */
static void space_quota_is_capped_by_max_frames(struct kunit *test)
{
	const struct vt_quota_case *c = test->param_value;
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_limits *limits = vt_limits(test);
	struct tmm_space *ref = vt_space_create(test, torus, 0), *space;
	int spaces = vt_user_spaces(ref), ret = 0;
	long frames = vt_user_frames(ref);
	u32 i, fault;
	u64 tpa;

	limits->max_frames = c->ceiling;
	space = tmm_space_create(torus, limits, c->request);
	if (c->err) {
		vt_expect_no_space(test, space, c->err, c->desc);
		KUNIT_EXPECT_EQ(test, vt_user_spaces(ref), spaces);
		KUNIT_EXPECT_EQ(test, vt_user_frames(ref), frames);
		KUNIT_EXPECT_EQ(test, vt_torus_spaces(torus), 1u);
		return;
	}
	vt_space_register(test, space);
	KUNIT_EXPECT_EQ(test, vt_stats(space).max_frames, c->max_frames);
	if (!c->max_frames || c->max_frames > 64)
		return;

	vt_mmap(test, space, VT_BASE, 64 * PAGE_SIZE, VT_RW, VT_FIXED);
	for (i = 0; i < 64 && !ret; i++)
		ret = tmm_space_translate(space, VT_BASE + i * PAGE_SIZE,
					  VT_ACC_W | VT_ACC_U, &tpa, &fault);
	KUNIT_EXPECT_EQ(test, ret, -ENOMEM);
	KUNIT_EXPECT_EQ(test, vt_space_frames(space), c->max_frames);
}

/*
 * user_max_frames counts the frames of all the spaces of a user, on any
 * torus: what one space holds, another cannot take; what one gives back,
 * by munmap or by being destroyed, another can.  A ceiling lowered below
 * what is held takes nothing away and refuses every new frame.
 */
static void user_frame_ceiling_is_shared_by_the_users_spaces(struct kunit *test)
{
	struct tmm_torus *torus_a = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_torus *torus_b = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_limits *limits = vt_limits(test);
	struct tmm_space *a = vt_space_create_limited(test, torus_a, limits, 0);
	struct tmm_space *b = vt_space_create_limited(test, torus_b, limits, 0);
	const u32 write = VT_ACC_W | VT_ACC_U;
	long held = vt_user_frames(a);
	u32 fault;
	u64 tpa;

	WRITE_ONCE(limits->user_max_frames, held + 6);
	vt_mmap(test, a, VT_BASE, 8 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_mmap(test, b, VT_BASE, 8 * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, a, VT_BASE, 3 * PAGE_SIZE, 0x1a);
	vt_fill(test, b, VT_BASE, PAGE_SIZE, 0x1b);
	KUNIT_ASSERT_EQ(test, vt_user_frames(a), held + 6);

	KUNIT_EXPECT_EQ(test, tmm_space_translate(a, VT_BASE + 3 * PAGE_SIZE,
						  write, &tpa, &fault), -ENOMEM);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(b, VT_BASE + PAGE_SIZE, write,
						  &tpa, &fault), -ENOMEM);
	KUNIT_EXPECT_EQ(test, vt_user_frames(a), held + 6);

	/* b's page and its table go back: a may take two frames. */
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(b, VT_BASE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, vt_user_frames(a), held + 4);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(a, VT_BASE + 3 * PAGE_SIZE,
						  write, &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(a, VT_BASE + 4 * PAGE_SIZE,
						  write, &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(a, VT_BASE + 5 * PAGE_SIZE,
						  write, &tpa, &fault), -ENOMEM);

	/* Destroying b gives back its directory: one more fault succeeds. */
	vt_space_destroy(test, b);
	KUNIT_EXPECT_EQ(test, vt_user_frames(a), held + 5);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(a, VT_BASE + 5 * PAGE_SIZE,
						  write, &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(a, VT_BASE + 6 * PAGE_SIZE,
						  write, &tpa, &fault), -ENOMEM);

	/*
	 * Lowered below what is held: nothing is taken, nothing is given.  A
	 * read maps the zero frame, which costs nothing; its write is refused.
	 */
	WRITE_ONCE(limits->user_max_frames, 1);
	KUNIT_EXPECT_EQ(test, vt_read_byte(test, a, VT_BASE + 2 * PAGE_SIZE),
			0x1a);
	KUNIT_EXPECT_EQ(test, vt_stats(a).nr_data_frames, 6u);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(a, VT_BASE + 6 * PAGE_SIZE,
						  VT_ACC_U, &tpa, &fault), 0);
	KUNIT_EXPECT_EQ(test, tpa, (u64)TORUSMM_ZERO_FRAME_TPA);
	KUNIT_EXPECT_EQ(test, vt_user_frames(a), held + 6);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(a, VT_BASE + 6 * PAGE_SIZE,
						  write, &tpa, &fault),
			-ENOMEM);
	vt_expect_zero_pte(test, tmm_space_lookup(a, VT_BASE + 6 * PAGE_SIZE),
			   VT_RW);
	KUNIT_EXPECT_EQ(test, vt_stats(a).nr_data_frames, 6u);
	vt_expect_no_space(test, tmm_space_create(torus_a, limits, 0), -ENOMEM,
			   "create under a lowered ceiling");
	WRITE_ONCE(limits->user_max_frames, 0);
	KUNIT_EXPECT_EQ(test, tmm_space_translate(a, VT_BASE + 6 * PAGE_SIZE,
						  write, &tpa, &fault), 0);
}

/* Creates (and destroys) another space under the same ceilings. */
static int vt_op_space_create_limited(struct tmm_space *space)
{
	struct tmm_space *other = tmm_space_create(space->torus, space->limits,
						   0);

	if (IS_ERR(other))
		return PTR_ERR(other);
	if (!other)
		return -EFAULT;
	tmm_space_destroy(other);
	return 0;
}

struct vt_ceiling_case {
	const char *desc;
	void (*setup)(struct kunit *test, struct tmm_space *space);
	int (*op)(struct tmm_space *space);
	int room;		/* frames left under user_max_frames */
	bool plus_held;		/* ... plus as many as the space holds */
	int ret;
};

static const struct vt_ceiling_case vt_ceiling_cases[] = {
	{ "demand fault", vt_setup_demand, vt_op_demand_fault, 0, false,
	  -ENOMEM },
	{ "demand fault with room for its frame, not its table",
	  vt_setup_demand, vt_op_demand_fault, 1, false, -ENOMEM },
	{ "demand fault with room for its frame and table", vt_setup_demand,
	  vt_op_demand_fault, 2, false, 0 },
	{ "zero-frame read in a table that exists takes nothing",
	  vt_setup_common, vt_op_demand_fault_read, 0, false, 0 },
	{ "zero-frame read needing a table", vt_setup_demand,
	  vt_op_demand_fault_read_table, 0, false, -ENOMEM },
	{ "zero-frame read with room for its table", vt_setup_demand,
	  vt_op_demand_fault_read_table, 1, false, 0 },
	{ "write to a page without a frame", vt_setup_common,
	  vt_op_write_unpopulated, 0, false, -ENOMEM },
	{ "write to a zero-frame page", vt_setup_zero, vt_op_write_unpopulated,
	  0, false, -ENOMEM },
	{ "write to a zero-frame page with room for its frame", vt_setup_zero,
	  vt_op_write_unpopulated, 1, false, 0 },
	{ "write to a shared page: its copy replaces the shared reference",
	  vt_setup_shared, vt_op_write_populated, 0, false, 0 },
	{ "stack growth with room for its frame, not its table",
	  vt_setup_common, vt_op_stack_growth, 1, false, -ENOMEM },
	{ "MAP_POPULATE", vt_setup_common, vt_op_mmap_populate, 0, false,
	  -ENOMEM },
	{ "MAP_POPULATE with room for its pages, not its tables",
	  vt_setup_common, vt_op_mmap_populate, 8, false, -ENOMEM },
	{ "MAP_POPULATE with room for all but one table", vt_setup_common,
	  vt_op_mmap_populate, 9, false, -ENOMEM },
	{ "MAP_POPULATE with exactly enough room", vt_setup_common,
	  vt_op_mmap_populate, 10, false, 0 },
	{ "MAP_POPULATE placed, with room for its pages, not its table",
	  vt_setup_common, vt_op_mmap_placed_populate, 3, false, -ENOMEM },
	{ "clone", vt_setup_boundary, vt_op_clone, 0, false, -ENOMEM },
	{ "clone with room for its directory only", vt_setup_boundary,
	  vt_op_clone, 1, false, -ENOMEM },
	{ "clone a frame short", vt_setup_boundary, vt_op_clone, -1, true,
	  -ENOMEM },
	{ "clone with exactly enough room", vt_setup_boundary, vt_op_clone, 0,
	  true, 0 },
	{ "creating another space", vt_setup_common,
	  vt_op_space_create_limited, 0, false, -ENOMEM },
	{ "creating another space with room for its directory",
	  vt_setup_common, vt_op_space_create_limited, 1, false, 0 },
};

static void vt_ceiling_desc(const struct vt_ceiling_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_ceiling, vt_ceiling_cases, vt_ceiling_desc);

/*
 * At the user's frame ceiling every call that needs a frame fails with
 * -ENOMEM (clone and create with ERR_PTR(-ENOMEM)) and changes nothing:
 * not the space, not the torus, not what the user is charged; with exactly
 * enough room it succeeds, and without the ceiling the refused call does.
 */
static void user_frame_ceiling_refuses_new_frames(struct kunit *test)
{
	const struct vt_ceiling_case *c = test->param_value;
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_limits *limits = vt_limits(test);
	struct tmm_space *space = vt_space_create_limited(test, torus, limits,
							  0);
	struct vt_snapshot *before, *after;
	long held;
	int spaces;

	before = kunit_kzalloc(test, sizeof(*before), GFP_KERNEL);
	after = kunit_kzalloc(test, sizeof(*after), GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, before && after);
	c->setup(test, space);
	held = vt_user_frames(space);
	spaces = vt_user_spaces(space);
	WRITE_ONCE(limits->user_max_frames, held + c->room +
		   (c->plus_held ? vt_space_frames(space) : 0));
	vt_snapshot_take(test, space, before);

	KUNIT_EXPECT_EQ(test, c->op(space), c->ret);
	/* A success took at most the room it had. */
	KUNIT_EXPECT_LE(test, vt_user_frames(space),
			READ_ONCE(limits->user_max_frames));
	if (c->ret != -ENOMEM)
		return;
	vt_snapshot_take(test, space, after);
	vt_snapshot_expect_equal(test, before, after, c->desc);
	KUNIT_EXPECT_EQ(test, vt_user_frames(space), held);
	KUNIT_EXPECT_EQ(test, vt_user_spaces(space), spaces);

	WRITE_ONCE(limits->user_max_frames, 0);
	KUNIT_EXPECT_EQ(test, c->op(space), 0);
}

/*
 * max_spaces counts the live spaces of a user: at it, create and clone fail
 * with -EMFILE and charge nothing; destroying one, or raising the ceiling,
 * makes room for the next.
 */
static void user_space_ceiling_refuses_create_and_clone(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_limits *limits = vt_limits(test);
	struct tmm_space *a = vt_space_create_limited(test, torus, limits, 0);
	struct tmm_space *b;
	int held = vt_user_spaces(a);
	long frames;

	WRITE_ONCE(limits->max_spaces, held + 1);
	vt_mmap(test, a, VT_BASE, PAGE_SIZE, VT_RW, VT_FIXED | VT_POPULATE);
	b = vt_space_create_limited(test, torus, limits, 0);
	KUNIT_EXPECT_EQ(test, vt_user_spaces(a), held + 1);
	frames = vt_user_frames(a);

	vt_expect_no_space(test, tmm_space_create(torus, limits, 0), -EMFILE,
			   "create past max_spaces");
	vt_expect_no_space(test, tmm_space_clone(a), -EMFILE,
			   "clone past max_spaces");
	KUNIT_EXPECT_EQ(test, vt_user_spaces(a), held + 1);
	KUNIT_EXPECT_EQ(test, vt_user_frames(a), frames);
	KUNIT_EXPECT_EQ(test, vt_torus_spaces(torus), 2u);

	vt_space_destroy(test, b);
	b = vt_space_register(test, tmm_space_clone(a));
	KUNIT_EXPECT_EQ(test, vt_stats(b).nr_data_frames, 1u);
	vt_expect_no_space(test, tmm_space_clone(b), -EMFILE,
			   "clone of the clone past max_spaces");

	WRITE_ONCE(limits->max_spaces, held + 2);
	vt_space_create_limited(test, torus, limits, 0);
	vt_expect_no_space(test, tmm_space_create(torus, limits, 0), -EMFILE,
			   "create past a raised max_spaces");
	KUNIT_EXPECT_EQ(test, vt_torus_spaces(torus), 3u);
}

struct vt_replace_case {
	const char *desc;
	bool user_ceiling;	/* full to user_max_frames, not the quota */
	u32 extra;		/* pages mapped beyond the populated ones */
	int err;
};

static const struct vt_replace_case vt_replace_cases[] = {
	{ "space quota: the populated pages", false, 0, 0 },
	{ "space quota: one page more", false, 1, -ENOMEM },
	{ "user ceiling: the populated pages", true, 0, 0 },
	{ "user ceiling: one page more", true, 1, -ENOMEM },
};

static void vt_replace_desc(const struct vt_replace_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_replace, vt_replace_cases, vt_replace_desc);

/*
 * With the quota (or the user's ceiling) exactly used up, MAP_FIXED |
 * MAP_POPULATE over the populated pages succeeds, since the frames it
 * replaces go back; one page more fails and changes nothing.
 */
static void mmap_fixed_populate_at_quota_reuses_replaced_frames(struct kunit *test)
{
	const struct vt_replace_case *c = test->param_value;
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_limits *limits = vt_limits(test);
	const u32 nr = 8;
	struct tmm_space *space = vt_space_create_limited(test, torus, limits,
							  c->user_ceiling ? 0 :
							  nr + 2);
	struct vt_snapshot *before, *after;
	u32 addr = VT_BASE, fault;
	long held;
	u64 tpa;
	int ret;

	before = kunit_kzalloc(test, sizeof(*before), GFP_KERNEL);
	after = kunit_kzalloc(test, sizeof(*after), GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, before && after);
	vt_mmap(test, space, VT_BASE, (nr + 1) * PAGE_SIZE, VT_RW, VT_FIXED);
	vt_fill(test, space, VT_BASE, nr * PAGE_SIZE, 0x3a);
	held = vt_user_frames(space);
	if (c->user_ceiling)
		WRITE_ONCE(limits->user_max_frames, held);
	/* Full: the next page of the region cannot have a frame. */
	KUNIT_ASSERT_EQ(test, tmm_space_translate(space, VT_BASE + nr * PAGE_SIZE,
						  VT_ACC_W | VT_ACC_U, &tpa,
						  &fault), -ENOMEM);
	vt_snapshot_take(test, space, before);

	ret = tmm_space_mmap(space, &addr, (nr + c->extra) * PAGE_SIZE, VT_R,
			     VT_FIXED | VT_POPULATE);
	KUNIT_EXPECT_EQ(test, ret, c->err);
	vt_snapshot_take(test, space, after);
	KUNIT_EXPECT_EQ(test, vt_user_frames(space), held);
	KUNIT_EXPECT_EQ(test, after->torus_free, before->torus_free);
	if (ret) {
		vt_snapshot_expect_equal(test, before, after, c->desc);
		return;
	}
	vt_expect_spans(test, space, (const struct vt_span[]){
				{ 0, nr, VT_R }, { nr, nr + 1, VT_RW } }, 2);
	KUNIT_EXPECT_EQ(test, after->stats.nr_data_frames, nr);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE), 0);
	KUNIT_EXPECT_EQ(test, vt_peek_byte(space, VT_BASE + nr * PAGE_SIZE - 1),
			0);
}

/* The layout the region cap cases start from: three regions and the stack. */
static const struct vt_span vt_cap_layout[VT_MAX_SPANS] = {
	{ 0, 3, VT_RW }, { 4, 5, VT_RW }, { 6, 7, VT_RX },
};

/* Four regions: vt_cap_layout and the stack. */
static void vt_cap_setup_no_heap(struct kunit *test, struct tmm_space *space)
{
	vt_map_spans(test, space, vt_cap_layout);
}

/* Five regions: vt_cap_layout, a two-page heap and the stack. */
static void vt_cap_setup(struct kunit *test, struct tmm_space *space)
{
	vt_cap_setup_no_heap(test, space);
	KUNIT_ASSERT_EQ(test, tmm_space_brk(space, VT_HEAP + 2 * PAGE_SIZE),
			VT_HEAP + 2 * PAGE_SIZE);
}

/* Five regions, the heap's last page unmapped under the break. */
static void vt_cap_setup_heap_hole(struct kunit *test, struct tmm_space *space)
{
	vt_cap_setup(test, space);
	KUNIT_ASSERT_EQ(test, tmm_space_munmap(space, VT_HEAP + PAGE_SIZE,
					       PAGE_SIZE), 0);
}

enum vt_cap_op {
	VT_CAP_MMAP,		/* MAP_FIXED */
	VT_CAP_PLACE,		/* no hint */
	VT_CAP_MUNMAP,
	VT_CAP_MPROTECT,
	VT_CAP_BRK,		/* to addr; -ENOMEM when the break stays */
	VT_CAP_GROW,		/* a write at addr, below the stack */
};

struct vt_cap_case {
	const char *desc;
	void (*setup)(struct kunit *test, struct tmm_space *space);
	u32 cap;
	enum vt_cap_op op;
	u32 addr;
	u64 length;
	u32 prot;
	int ret;
	u32 nr_regions;		/* afterwards */
};

#define VT_P(n)		(VT_BASE + (n) * PAGE_SIZE)

static const struct vt_cap_case vt_cap_cases[] = {
	{ "mmap of a new region at the cap fails", vt_cap_setup, 5,
	  VT_CAP_MMAP, VT_P(10), PAGE_SIZE, VT_R, -ENOMEM, 5 },
	{ "placed mmap at the cap fails", vt_cap_setup, 5, VT_CAP_PLACE, 0,
	  PAGE_SIZE, VT_R, -ENOMEM, 5 },
	{ "mmap splitting a region at the cap fails", vt_cap_setup, 5,
	  VT_CAP_MMAP, VT_P(1), PAGE_SIZE, VT_R, -ENOMEM, 5 },
	{ "mmap growing a region at the cap", vt_cap_setup, 5, VT_CAP_MMAP,
	  VT_P(5), PAGE_SIZE, VT_RX, 0, 5 },
	{ "mmap replacing a whole region at the cap", vt_cap_setup, 5,
	  VT_CAP_MMAP, VT_P(4), PAGE_SIZE, VT_R, 0, 5 },
	{ "mmap joining two regions at the cap", vt_cap_setup, 5, VT_CAP_MMAP,
	  VT_P(3), PAGE_SIZE, VT_RW, 0, 4 },
	{ "mprotect splitting a region in three at the cap fails",
	  vt_cap_setup, 5, VT_CAP_MPROTECT, VT_P(1), PAGE_SIZE, VT_R, -ENOMEM,
	  5 },
	{ "mprotect of a region's head at the cap fails", vt_cap_setup, 5,
	  VT_CAP_MPROTECT, VT_P(0), PAGE_SIZE, VT_R, -ENOMEM, 5 },
	{ "mprotect of a whole region at the cap", vt_cap_setup, 5,
	  VT_CAP_MPROTECT, VT_P(6), PAGE_SIZE, VT_R, 0, 5 },
	{ "munmap splitting a region at the cap fails", vt_cap_setup, 5,
	  VT_CAP_MUNMAP, VT_P(1), PAGE_SIZE, 0, -ENOMEM, 5 },
	{ "munmap of a region's tail at the cap", vt_cap_setup, 5,
	  VT_CAP_MUNMAP, VT_P(2), PAGE_SIZE, 0, 0, 5 },
	{ "munmap of a whole region at the cap", vt_cap_setup, 5,
	  VT_CAP_MUNMAP, VT_P(4), PAGE_SIZE, 0, 0, 4 },
	{ "brk creating the heap at the cap fails", vt_cap_setup_no_heap, 4,
	  VT_CAP_BRK, VT_HEAP + PAGE_SIZE, 0, 0, -ENOMEM, 4 },
	{ "brk growing the heap at the cap", vt_cap_setup, 5, VT_CAP_BRK,
	  VT_HEAP + 4 * PAGE_SIZE, 0, 0, 0, 5 },
	{ "brk growing past a hole in the heap at the cap fails",
	  vt_cap_setup_heap_hole, 5, VT_CAP_BRK, VT_HEAP + 3 * PAGE_SIZE, 0, 0,
	  -ENOMEM, 5 },
	{ "brk shrinking the heap at the cap", vt_cap_setup, 5, VT_CAP_BRK,
	  VT_HEAP + PAGE_SIZE, 0, 0, 0, 5 },
	{ "stack growth at the cap", vt_cap_setup, 5, VT_CAP_GROW,
	  VT_STACK - PAGE_SIZE, 0, 0, 0, 5 },
	{ "munmap of a whole region above a lowered cap", vt_cap_setup, 3,
	  VT_CAP_MUNMAP, VT_P(4), PAGE_SIZE, 0, 0, 4 },
	{ "munmap across two regions above a lowered cap", vt_cap_setup, 3,
	  VT_CAP_MUNMAP, VT_P(2), 3 * PAGE_SIZE, 0, 0, 4 },
	{ "mmap joining two regions above a lowered cap", vt_cap_setup, 3,
	  VT_CAP_MMAP, VT_P(3), PAGE_SIZE, VT_RW, 0, 4 },
	{ "mprotect of a whole region above a lowered cap", vt_cap_setup, 3,
	  VT_CAP_MPROTECT, VT_P(6), PAGE_SIZE, VT_R, 0, 5 },
	{ "brk unmapping the heap above a lowered cap", vt_cap_setup, 3,
	  VT_CAP_BRK, VT_HEAP, 0, 0, 0, 4 },
	{ "brk growing the heap above a lowered cap", vt_cap_setup, 3,
	  VT_CAP_BRK, VT_HEAP + 4 * PAGE_SIZE, 0, 0, 0, 5 },
	{ "stack growth above a lowered cap", vt_cap_setup, 3, VT_CAP_GROW,
	  VT_STACK - PAGE_SIZE, 0, 0, 0, 5 },
	{ "munmap splitting a region above a lowered cap fails", vt_cap_setup,
	  3, VT_CAP_MUNMAP, VT_P(1), PAGE_SIZE, 0, -ENOMEM, 5 },
	{ "mprotect splitting a region above a lowered cap fails",
	  vt_cap_setup, 3, VT_CAP_MPROTECT, VT_P(2), PAGE_SIZE, VT_R, -ENOMEM,
	  5 },
	{ "mmap of a new region above a lowered cap fails", vt_cap_setup, 3,
	  VT_CAP_MMAP, VT_P(10), PAGE_SIZE, VT_R, -ENOMEM, 5 },
};

static void vt_cap_desc(const struct vt_cap_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vt_cap, vt_cap_cases, vt_cap_desc);

/* Runs the operation of a region cap case. */
static int vt_cap_run(struct tmm_space *space, const struct vt_cap_case *c)
{
	u32 addr = c->addr, fault;
	u64 tpa;

	switch (c->op) {
	case VT_CAP_MMAP:
		return tmm_space_mmap(space, &addr, c->length, c->prot,
				      VT_FIXED);
	case VT_CAP_PLACE:
		return tmm_space_mmap(space, &addr, c->length, c->prot, 0);
	case VT_CAP_MUNMAP:
		return tmm_space_munmap(space, addr, c->length);
	case VT_CAP_MPROTECT:
		return tmm_space_mprotect(space, addr, c->length, c->prot);
	case VT_CAP_BRK:
		return tmm_space_brk(space, addr) == addr ? 0 : -ENOMEM;
	case VT_CAP_GROW:
		return tmm_space_translate(space, addr, VT_ACC_W | VT_ACC_U,
					   &tpa, &fault);
	}
	return -EINVAL;
}

/*
 * With max_regions set, a call that would leave more regions than the cap
 * and more than there are fails with -ENOMEM and changes nothing, whichever
 * call makes them (a new mapping, a split by mprotect or munmap, a heap
 * that cannot merge); calls that keep or lower the count work, even above
 * a cap lowered below the count.
 */
static void region_cap_refuses_calls_that_add_regions(struct kunit *test)
{
	const struct vt_cap_case *c = test->param_value;
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_TORUS_FRAMES);
	struct tmm_limits *limits = vt_limits(test);
	struct tmm_space *space = vt_space_create_limited(test, torus, limits,
							  0);
	struct vt_snapshot *before, *after;

	before = kunit_kzalloc(test, sizeof(*before), GFP_KERNEL);
	after = kunit_kzalloc(test, sizeof(*after), GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, before && after);
	c->setup(test, space);
	WRITE_ONCE(limits->max_regions, c->cap);
	vt_snapshot_take(test, space, before);

	KUNIT_EXPECT_EQ(test, vt_cap_run(space, c), c->ret);
	vt_snapshot_take(test, space, after);
	if (c->ret)
		vt_snapshot_expect_equal(test, before, after, c->desc);
	KUNIT_EXPECT_EQ(test, after->stats.nr_regions, c->nr_regions);
	KUNIT_EXPECT_EQ(test, after->nr_regions, c->nr_regions);
}

/*
 * The region counter's run: 2000 random mmap (fixed or not replacing),
 * munmap, mprotect and brk calls in a 2 MiB window from the heap start,
 * stack growth below the stack, clones, and a cap on regions that moves
 * around the count (and now and then goes away).  A per-page model of the
 * window predicts each result, the cap included, and after every call the
 * dumped regions must be the model's and GET_STATS must count as many.
 */
#define VT_RC_PAGES	512u
#define VT_RC_OPS	2000u
#define VT_RC_NONE	0xff	/* a page in no region */

struct vt_rc {
	struct kunit *test;
	struct tmm_space *space;
	struct tmm_limits *limits;
	struct rnd_state rnd;
	struct torusmm_region *regions;
	u32 brk;
	u32 stack_start;
	u32 op;
	const char *what;
	char desc[64];
	u32 nr_capped;
	u8 prot[VT_RC_PAGES];	/* a protection, or VT_RC_NONE */
	u8 next[VT_RC_PAGES];	/* what the call being made would leave */
};

/* A random number below @n. */
static u32 vt_rc_rand(struct vt_rc *m, u32 n)
{
	return prandom_u32_state(&m->rnd) % n;
}

/* Regions of a window state: runs of one protection, and the stack. */
static u32 vt_rc_count(const u8 *prot)
{
	u32 page, n = 1;

	for (page = 0; page < VT_RC_PAGES; page++)
		if (prot[page] != VT_RC_NONE &&
		    (!page || prot[page - 1] != prot[page]))
			n++;
	return n;
}

/* Whether the cap refuses going from the current state to m->next. */
static bool vt_rc_refused(struct vt_rc *m)
{
	u32 cap = READ_ONCE(m->limits->max_regions);
	u32 now = vt_rc_count(m->prot), then = vt_rc_count(m->next);

	if (!cap || then <= cap || then <= now)
		return false;
	m->nr_capped++;
	return true;
}

/* Whether every page of [first, first + nr) is unmapped (@none) or mapped. */
static bool vt_rc_all(struct vt_rc *m, u32 first, u32 nr, bool none)
{
	bool unmapped;
	u32 i;

	for (i = first; i < first + nr; i++) {
		unmapped = m->prot[i] == VT_RC_NONE;
		if (unmapped != none)
			return false;
	}
	return true;
}

/* A range of the window, mostly short. */
static void vt_rc_pick(struct vt_rc *m, u32 *first, u32 *nr)
{
	*first = vt_rc_rand(m, VT_RC_PAGES);
	*nr = vt_rc_rand(m, 8) ? 1 + vt_rc_rand(m, 8) : 1 + vt_rc_rand(m, 128);
	*nr = min(*nr, VT_RC_PAGES - *first);
	memcpy(m->next, m->prot, sizeof(m->prot));
}

static u32 vt_rc_va(u32 page)
{
	return VT_HEAP + page * PAGE_SIZE;
}

static int vt_rc_mmap(struct vt_rc *m)
{
	static const u8 prots[] = { VT_NONE, VT_R, VT_RW, VT_RX };
	u32 first, nr, addr, prot = prots[vt_rc_rand(m, ARRAY_SIZE(prots))];
	bool noreplace = !vt_rc_rand(m, 3);
	int want = 0, ret;

	vt_rc_pick(m, &first, &nr);
	snprintf(m->desc, sizeof(m->desc), "mmap %s %#x, %u pages, prot %u",
		 noreplace ? "fixed_noreplace" : "fixed", vt_rc_va(first), nr,
		 prot);
	m->what = m->desc;
	memset(m->next + first, prot, nr);
	if (noreplace && !vt_rc_all(m, first, nr, true))
		want = -EEXIST;
	else if (vt_rc_refused(m))
		want = -ENOMEM;
	addr = vt_rc_va(first);
	ret = tmm_space_mmap(m->space, &addr, nr * PAGE_SIZE, prot,
			     noreplace ? VT_NOREPLACE : VT_FIXED);
	KUNIT_ASSERT_EQ_MSG(m->test, ret, want, "op %u: %s", m->op, m->what);
	return ret;
}

static int vt_rc_munmap(struct vt_rc *m)
{
	u32 first, nr;
	int want, ret;

	vt_rc_pick(m, &first, &nr);
	snprintf(m->desc, sizeof(m->desc), "munmap %#x, %u pages",
		 vt_rc_va(first), nr);
	m->what = m->desc;
	memset(m->next + first, VT_RC_NONE, nr);
	want = vt_rc_refused(m) ? -ENOMEM : 0;
	ret = tmm_space_munmap(m->space, vt_rc_va(first), nr * PAGE_SIZE);
	KUNIT_ASSERT_EQ_MSG(m->test, ret, want, "op %u: %s", m->op, m->what);
	return ret;
}

static int vt_rc_mprotect(struct vt_rc *m)
{
	static const u8 prots[] = { VT_NONE, VT_R, VT_RW, VT_RX };
	u32 first, nr, prot = prots[vt_rc_rand(m, ARRAY_SIZE(prots))];
	int want, ret;

	vt_rc_pick(m, &first, &nr);
	snprintf(m->desc, sizeof(m->desc), "mprotect %#x, %u pages, prot %u",
		 vt_rc_va(first), nr, prot);
	m->what = m->desc;
	memset(m->next + first, prot, nr);
	want = !vt_rc_all(m, first, nr, false) || vt_rc_refused(m) ?
	       -ENOMEM : 0;
	ret = tmm_space_mprotect(m->space, vt_rc_va(first), nr * PAGE_SIZE,
				 prot);
	KUNIT_ASSERT_EQ_MSG(m->test, ret, want, "op %u: %s", m->op, m->what);
	return ret;
}

static int vt_rc_brk(struct vt_rc *m)
{
	u32 want = VT_HEAP + vt_rc_rand(m, VT_RC_PAGES * PAGE_SIZE + 1);
	u32 old_top = PAGE_ALIGN(m->brk), new_top = PAGE_ALIGN(want);
	u32 old_page = (old_top - VT_HEAP) >> PAGE_SHIFT;
	u32 new_page = (new_top - VT_HEAP) >> PAGE_SHIFT;
	bool ok = true;
	u32 got;

	snprintf(m->desc, sizeof(m->desc), "brk from %#x to %#x", m->brk,
		 want);
	m->what = m->desc;
	memcpy(m->next, m->prot, sizeof(m->prot));
	if (new_page > old_page) {
		ok = vt_rc_all(m, old_page, new_page - old_page, true);
		memset(m->next + old_page, VT_RW, new_page - old_page);
	} else if (new_page < old_page) {
		memset(m->next + new_page, VT_RC_NONE, old_page - new_page);
	}
	ok = ok && !vt_rc_refused(m);
	got = tmm_space_brk(m->space, want);
	KUNIT_ASSERT_EQ_MSG(m->test, got, ok ? want : m->brk, "op %u: %s",
			    m->op, m->what);
	if (!ok)
		return -ENOMEM;
	m->brk = want;
	return 0;
}

/* A write a few pages below the stack: it grows, no region is added. */
static int vt_rc_grow(struct vt_rc *m)
{
	u32 page = m->stack_start - (1 + vt_rc_rand(m, 4)) * PAGE_SIZE, fault;
	u64 tpa;

	m->what = "stack growth";
	memcpy(m->next, m->prot, sizeof(m->prot));
	if (page < TMM_STACK_FLOOR)
		return -ENOMEM;
	KUNIT_ASSERT_EQ_MSG(m->test, tmm_space_translate(m->space, page,
							 VT_ACC_W | VT_ACC_U,
							 &tpa, &fault), 0,
			    "op %u: stack growth to %#x", m->op, page);
	m->stack_start = page;
	return 0;
}

/* A clone counts as many regions as its source, and dumps as many. */
static void vt_rc_clone(struct vt_rc *m)
{
	struct tmm_space *copy;
	u32 count;

	m->what = "clone";
	memcpy(m->next, m->prot, sizeof(m->prot));
	copy = vt_space_register(m->test, tmm_space_clone(m->space));
	count = vt_regions(m->test, copy, m->regions, VT_RC_PAGES);
	KUNIT_EXPECT_EQ_MSG(m->test, vt_stats(copy).nr_regions, count,
			    "op %u: clone", m->op);
	KUNIT_EXPECT_EQ_MSG(m->test, count, vt_rc_count(m->prot),
			    "op %u: clone", m->op);
	vt_space_destroy(m->test, copy);
}

/* The dumped regions and GET_STATS agree with the model. */
static void vt_rc_check(struct vt_rc *m)
{
	struct kunit *test = m->test;
	u32 count, nr = 0, page, end;

	count = vt_regions(test, m->space, m->regions, VT_RC_PAGES);
	KUNIT_ASSERT_EQ_MSG(test, vt_stats(m->space).nr_regions, count,
			    "op %u (%s): counter and dump", m->op, m->what);
	for (page = 0; page < VT_RC_PAGES; page = end) {
		end = page + 1;
		if (m->prot[page] == VT_RC_NONE)
			continue;
		while (end < VT_RC_PAGES && m->prot[end] == m->prot[page])
			end++;
		KUNIT_ASSERT_LT_MSG(test, nr, count,
				    "op %u (%s): no region for [%#x, %#x) prot %u",
				    m->op, m->what, vt_rc_va(page),
				    vt_rc_va(end), m->prot[page]);
		if (m->regions[nr].start != vt_rc_va(page) ||
		    m->regions[nr].end != vt_rc_va(end) ||
		    m->regions[nr].prot != m->prot[page])
			KUNIT_ASSERT_FAILURE(test,
					     "op %u (%s): region [%#x, %#x) prot %u, the model has [%#x, %#x) prot %u",
					     m->op, m->what,
					     m->regions[nr].start,
					     m->regions[nr].end,
					     m->regions[nr].prot,
					     vt_rc_va(page), vt_rc_va(end),
					     m->prot[page]);
		nr++;
	}
	KUNIT_ASSERT_EQ_MSG(test, count, nr + 1, "op %u (%s): regions", m->op,
			    m->what);
	KUNIT_ASSERT_EQ(test, m->regions[nr].start, m->stack_start);
	KUNIT_ASSERT_EQ(test, m->regions[nr].end, TORUSMM_STACK_TOP);
}

static void region_counter_matches_dump_under_random_ops(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, 1024);
	struct tmm_limits *limits = vt_limits(test);
	u32 cap;
	struct vt_rc *m;
	int ret;

	m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	m->test = test;
	m->limits = limits;
	m->space = vt_space_create_limited(test, torus, limits, 0);
	m->regions = kunit_kcalloc(test, VT_RC_PAGES, sizeof(*m->regions),
				   GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m->regions);
	m->brk = VT_HEAP;
	m->stack_start = VT_STACK;
	memset(m->prot, VT_RC_NONE, sizeof(m->prot));
	prandom_seed_state(&m->rnd, 0x636f756e74);

	for (m->op = 0; m->op < VT_RC_OPS; m->op++) {
		if (!vt_rc_rand(m, 20)) {
			cap = vt_rc_count(m->prot) + vt_rc_rand(m, 5);
			cap = vt_rc_rand(m, 4) ? max(cap, 3u) - 2 : 0;
			WRITE_ONCE(limits->max_regions, cap);
		}
		switch (vt_rc_rand(m, 100)) {
		case 0 ... 34:
			ret = vt_rc_mmap(m);
			break;
		case 35 ... 59:
			ret = vt_rc_munmap(m);
			break;
		case 60 ... 84:
			ret = vt_rc_mprotect(m);
			break;
		case 85 ... 96:
			ret = vt_rc_brk(m);
			break;
		case 97 ... 98:
			ret = vt_rc_grow(m);
			break;
		default:
			vt_rc_clone(m);
			ret = 0;
			break;
		}
		if (!ret)
			memcpy(m->prot, m->next, sizeof(m->prot));
		vt_rc_check(m);
		cond_resched();
	}
	kunit_info(test, "%u ops, %u refused by the cap, %u regions at the end",
		   VT_RC_OPS, m->nr_capped, vt_rc_count(m->prot));
}

/*
 * The randomised run works in a 64 MiB window from the heap start, so that
 * brk takes part and a full comparison stays cheap.
 */
#define VT_WIN_START		TORUSMM_HEAP_START
#define VT_WIN_PAGES		16384u
#define VT_WIN_END		(VT_WIN_START + VT_WIN_PAGES * PAGE_SIZE)
#define VT_STRESS_OPS		100000u
#define VT_STRESS_SWEEP		2500u
#define VT_STRESS_REGION_CHECK	250u
#define VT_STRESS_RW_PAGES	3u
#define VT_STRESS_CHECK_ENDS	16u
/* Room for the window twice over: the space's frames and a twin's. */
#define VT_STRESS_FRAMES	(2 * VT_WIN_PAGES + 4096u)
#define VT_STRESS_REGIONS	(VT_WIN_PAGES / 2 + 2)
/* One operation in this many clones the space (or drops the twin). */
#define VT_STRESS_CLONE		2000u

/* What the model knows about a page. */
#define VT_M_MAPPED	BIT(0)	/* in a region */
#define VT_M_FRAME	BIT(1)	/* has a frame (the zero frame included) */
#define VT_M_A		BIT(2)	/* accessed must be set */
#define VT_M_NO_A	BIT(3)	/* accessed must be clear */
#define VT_M_D		BIT(4)	/* dirty must be set */
#define VT_M_NO_D	BIT(5)	/* dirty must be clear */
#define VT_M_ZERO	BIT(6)	/* the frame is the zero frame */
#define VT_M_COW	BIT(7)	/* shared by a clone, not written since */
#define VT_M_SHARED	BIT(8)	/* the twin maps the same frame */

/* The reference model's state of one page. */
struct vt_model_page {
	u16 flags;
	u8 prot;
	u8 value;	/* every byte of the page holds this */
};

/*
 * The reference model: per-page state of the window, and the break, of the
 * space the operations go to and of its twin: a clone of it, or the space
 * it was cloned from, left as it was at the clone while the run goes on.
 */
struct vt_model {
	struct kunit *test;
	struct tmm_space *space;
	struct vt_model_page *pages;
	struct tmm_space *twin;		/* or NULL */
	struct vt_model_page *twin_pages;
	u32 twin_brk;
	long user_base;			/* the user's frames before the run */
	struct rnd_state rnd;
	u32 brk;
	u32 op;
	const char *what;
	u32 hot;
	u8 *buf;
	struct torusmm_region *regions;
	unsigned long *frames;
	u32 *ptes;			/* the window's entries, for a sweep */
	u32 nr_clones;
	u32 nr_breaks;			/* copy-on-write breaks */
};

/* Frees a kvmalloc'ed buffer when the test ends. */
static void vt_kvfree_release(struct kunit_resource *res)
{
	kvfree(res->data);
}

/* A zeroed buffer of @size bytes, from kvmalloc, freed when the test ends. */
static void *vt_kvzalloc(struct kunit *test, size_t size)
{
	void *p = kvzalloc(size, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	if (!kunit_alloc_resource(test, NULL, vt_kvfree_release, GFP_KERNEL,
				  p)) {
		kvfree(p);
		KUNIT_ASSERT_FAILURE(test, "cannot register a buffer");
	}
	return p;
}

/* A random number below @n. */
static u32 vt_rand(struct vt_model *m, u32 n)
{
	return prandom_u32_state(&m->rnd) % n;
}

/* READ added to a protection with WRITE or EXEC, as on x86. */
static u32 vt_prot_normal(u32 prot)
{
	return prot & (TORUSMM_PROT_WRITE | TORUSMM_PROT_EXEC) ?
	       prot | TORUSMM_PROT_READ : prot;
}

/*
 * Picks a range of pages in the window: mostly short, now and then long,
 * half of the time near the previous operation so that operations meet.
 */
static void vt_model_pick(struct vt_model *m, u32 *first, u32 *nr)
{
	u32 r = vt_rand(m, 64);

	*nr = r < 44 ? 1 + vt_rand(m, 8) :
	      r < 63 ? 1 + vt_rand(m, 64) : 1 + vt_rand(m, 1024);
	if (vt_rand(m, 2))
		*first = clamp_t(int, (int)m->hot + (int)vt_rand(m, 129) - 64,
				 0, VT_WIN_PAGES - 1);
	else
		*first = vt_rand(m, VT_WIN_PAGES);
	*nr = min(*nr, VT_WIN_PAGES - *first);
	m->hot = *first;
}

/* A length in bytes that rounds up to @nr pages. */
static u64 vt_model_length(struct vt_model *m, u32 nr)
{
	return (u64)nr * PAGE_SIZE - (vt_rand(m, 2) ? vt_rand(m, PAGE_SIZE) : 0);
}

/* Whether no page of [@first, @first + @nr) is in a region. */
static bool vt_model_free(struct vt_model *m, u32 first, u32 nr)
{
	u32 i;

	for (i = first; i < first + nr; i++)
		if (m->pages[i].flags & VT_M_MAPPED)
			return false;
	return true;
}

/* Whether every page of [@first, @first + @nr) is in a region. */
static bool vt_model_covered(struct vt_model *m, u32 first, u32 nr)
{
	u32 i;

	for (i = first; i < first + nr; i++)
		if (!(m->pages[i].flags & VT_M_MAPPED))
			return false;
	return true;
}

/* Maps [@first, @first + @nr) with @prot, with zeroed frames if @frames. */
static void vt_model_map(struct vt_model *m, u32 first, u32 nr, u32 prot,
			 bool frames)
{
	u32 i;

	for (i = first; i < first + nr; i++) {
		m->pages[i].flags = VT_M_MAPPED | (frames ? VT_M_FRAME : 0);
		m->pages[i].prot = vt_prot_normal(prot);
		m->pages[i].value = 0;
	}
}

/* Unmaps [@first, @first + @nr). */
static void vt_model_unmap(struct vt_model *m, u32 first, u32 nr)
{
	memset(&m->pages[first], 0, nr * sizeof(*m->pages));
}

/*
 * Applies an access (TORUSMM_ACCESS_* bits) to a model page, as the core
 * must: true when it succeeds, after faulting in the page if it had no frame
 * and its region allows the access (a zeroed frame for a write, the zero
 * frame for a read or a fetch), or after giving a write a frame of its own
 * where the page maps the zero frame or a shared one; false with the x86
 * fault code in *fault otherwise.  A peek changes nothing, and sees a
 * copy-on-write entry as read-only.
 */
static bool vt_model_access(struct vt_model *m, struct vt_model_page *mp,
			    u32 access, bool peek, u32 *fault)
{
	bool write = access & VT_ACC_W, exec = access & VT_ACC_X;
	u32 need = write ? TORUSMM_PROT_WRITE :
		   exec ? TORUSMM_PROT_EXEC : TORUSMM_PROT_READ;
	bool allowed = mp->prot & need;

	*fault = access & (VT_F_W | VT_F_U | VT_F_X);
	if (!(mp->flags & VT_M_MAPPED))
		return false;
	if (!(mp->flags & VT_M_FRAME)) {
		if (peek || !allowed)
			return false;
		mp->flags = VT_M_MAPPED | VT_M_FRAME | VT_M_NO_D |
			    (write ? 0 : VT_M_ZERO);
		mp->value = 0;
	} else if (mp->prot == VT_NONE || !allowed) {
		if (mp->prot != VT_NONE)
			*fault |= VT_F_P;
		/* Whether a faulting walk sets the accessed bit is open. */
		if (!peek)
			mp->flags &= ~VT_M_NO_A;
		return false;
	} else if (write && (mp->flags & (VT_M_ZERO | VT_M_COW))) {
		if (peek) {
			*fault |= VT_F_P;
			return false;
		}
		/* A copy (or a zeroed frame), or the last mapping kept. */
		mp->flags &= ~(VT_M_ZERO | VT_M_COW | VT_M_SHARED);
		m->nr_breaks++;
	}
	if (peek)
		return true;
	mp->flags = (mp->flags & ~VT_M_NO_A) | VT_M_A;
	if (write)
		mp->flags = (mp->flags & ~VT_M_NO_D) | VT_M_D;
	return true;
}

/*
 * Compares the entry @pte of window page @page of @space (the model's space,
 * or its twin, as @side says) with the model page @mp.
 */
static void vt_model_check_page(struct vt_model *m, struct tmm_space *space,
				const char *side,
				const struct vt_model_page *mp, u32 page,
				u32 pte)
{
	bool ro = mp->flags & (VT_M_ZERO | VT_M_COW);
	u32 va = VT_WIN_START + page * PAGE_SIZE;
	struct kunit *test = m->test;

	if (!(mp->flags & VT_M_FRAME)) {
		KUNIT_ASSERT_EQ_MSG(test, pte & TMM_PTE_HOLDS_FRAME, 0u,
				    "op %u (%s): %s %#x has a frame the model lacks, pte %#x",
				    m->op, m->what, side, va, pte);
		return;
	}
	KUNIT_ASSERT_NE_MSG(test, pte & TMM_PTE_HOLDS_FRAME, 0u,
			    "op %u (%s): %s %#x lacks a frame, pte %#x", m->op,
			    m->what, side, va, pte);
	KUNIT_ASSERT_EQ_MSG(test, TMM_PTE_FRAME(pte) == TMM_ZERO_FRAME,
			    !!(mp->flags & VT_M_ZERO),
			    "op %u (%s): %s %#x zero frame, pte %#x", m->op,
			    m->what, side, va, pte);
	KUNIT_ASSERT_EQ_MSG(test, !!(pte & TORUSMM_PTE_COW), ro,
			    "op %u (%s): %s %#x copy-on-write, pte %#x", m->op,
			    m->what, side, va, pte);
	if (mp->prot == VT_NONE)
		KUNIT_ASSERT_EQ_MSG(test, pte & TMM_PTE_HOLDS_FRAME,
				    TORUSMM_PTE_PROTNONE,
				    "op %u (%s): %s %#x pte %#x, prot none",
				    m->op, m->what, side, va, pte);
	else
		KUNIT_ASSERT_EQ_MSG(test, pte & VT_PTE_PROT,
				    vt_prot_pte(mp->prot) &
				    ~(ro ? TORUSMM_PTE_WRITABLE : 0),
				    "op %u (%s): %s %#x pte %#x, prot %u", m->op,
				    m->what, side, va, pte, mp->prot);
	if (mp->flags & (VT_M_A | VT_M_NO_A))
		KUNIT_ASSERT_EQ_MSG(test, !!(pte & TORUSMM_PTE_ACCESSED),
				    !!(mp->flags & VT_M_A),
				    "op %u (%s): %s %#x accessed bit, pte %#x",
				    m->op, m->what, side, va, pte);
	if (mp->flags & (VT_M_D | VT_M_NO_D))
		KUNIT_ASSERT_EQ_MSG(test, !!(pte & TORUSMM_PTE_DIRTY),
				    !!(mp->flags & VT_M_D),
				    "op %u (%s): %s %#x dirty bit, pte %#x", m->op,
				    m->what, side, va, pte);
	KUNIT_ASSERT_EQ_MSG(test, vt_frame_byte(space, pte, 0), mp->value,
			    "op %u (%s): %s %#x first byte", m->op, m->what,
			    side, va);
	KUNIT_ASSERT_EQ_MSG(test, vt_frame_byte(space, pte, PAGE_SIZE - 1),
			    mp->value, "op %u (%s): %s %#x last byte", m->op,
			    m->what, side, va);
}

/*
 * Compares the pages of [@first, @first + @nr) and their neighbours with the
 * model; of a long range only both ends, where regions split and merge (the
 * sweeps compare the middle).
 */
static void vt_model_check_range(struct vt_model *m, u32 first, u32 nr)
{
	u32 lo = first ? first - 1 : 0;
	u32 hi = min(first + nr + 1, VT_WIN_PAGES);
	u32 page;

	for (page = lo; page < hi; page++) {
		if (page == lo + VT_STRESS_CHECK_ENDS &&
		    hi - lo > 2 * VT_STRESS_CHECK_ENDS)
			page = hi - VT_STRESS_CHECK_ENDS;
		vt_model_check_page(m, m->space, "space", &m->pages[page],
				    page, tmm_space_lookup(m->space,
							   VT_WIN_START +
							   page * PAGE_SIZE));
	}
}

/*
 * Compares the regions with the model's, rebuilt from the pages as maximal
 * runs of one protection, and the stack region after them.
 */
static void vt_model_check_regions(struct vt_model *m)
{
	struct kunit *test = m->test;
	u32 count, nr = 0, page, end;
	u8 prot;

	count = vt_regions(test, m->space, m->regions, VT_STRESS_REGIONS);
	for (page = 0; page < VT_WIN_PAGES; page = end) {
		end = page + 1;
		if (!(m->pages[page].flags & VT_M_MAPPED))
			continue;
		prot = m->pages[page].prot;
		while (end < VT_WIN_PAGES &&
		       (m->pages[end].flags & VT_M_MAPPED) &&
		       m->pages[end].prot == prot)
			end++;
		KUNIT_ASSERT_LT_MSG(test, nr, count, "op %u: too few regions",
				    m->op);
		KUNIT_ASSERT_EQ_MSG(test, m->regions[nr].start,
				    VT_WIN_START + page * PAGE_SIZE,
				    "op %u: region %u start", m->op, nr);
		KUNIT_ASSERT_EQ_MSG(test, m->regions[nr].end,
				    VT_WIN_START + end * PAGE_SIZE,
				    "op %u: region %u end", m->op, nr);
		KUNIT_ASSERT_EQ_MSG(test, m->regions[nr].prot, (u32)prot,
				    "op %u: region %u prot", m->op, nr);
		nr++;
	}
	KUNIT_ASSERT_EQ_MSG(test, count, nr + 1, "op %u: regions", m->op);
	KUNIT_ASSERT_EQ(test, m->regions[nr].start, VT_STACK);
	KUNIT_ASSERT_EQ(test, vt_stats(m->space).nr_regions, count);
}

/* What a sweep counts in one space. */
struct vt_sweep {
	u32 data;	/* data frames, the zero frame not counted */
	u32 tables;	/* tables, the directory not counted */
	u32 shared;	/* frames the twin maps too */
};

/*
 * Compares every page of the window of @space (the model's space or its
 * twin) with @pages, and counts its frames and tables.  The model's space
 * marks its frames in m->frames, checked for being mapped only once, and
 * checks their references: two for a page the model says the twin shares
 * (the twin's entry maps the same frame), one otherwise.  The twin then
 * checks that a frame it does not share is not the space's too.
 */
static struct vt_sweep vt_model_sweep_side(struct vt_model *m,
					   struct tmm_space *space,
					   const char *side,
					   const struct vt_model_page *pages,
					   u32 nr_frames)
{
	bool twin = space == m->twin, slot_used = false;
	struct tmm_torus *torus = space->torus;
	struct kunit *test = m->test;
	struct vt_sweep sweep = {};
	u32 page, pte, frame, va;

	/* Every entry under one hold of the lock: the sweep is the run's cost. */
	down_read(&space->lock);
	for (page = 0; page < VT_WIN_PAGES; page++)
		m->ptes[page] = tmm_pt_lookup(&space->pt,
					      VT_WIN_START + page * PAGE_SIZE);
	up_read(&space->lock);
	for (page = 0; page < VT_WIN_PAGES; page++) {
		if (!(page % 1024)) {
			slot_used = false;
			cond_resched();
		}
		va = VT_WIN_START + page * PAGE_SIZE;
		pte = m->ptes[page];
		vt_model_check_page(m, space, side, &pages[page], page, pte);
		if (!(pte & TMM_PTE_HOLDS_FRAME))
			continue;
		if (!slot_used)
			sweep.tables++;
		slot_used = true;
		frame = TMM_PTE_FRAME(pte);
		if (frame == TMM_ZERO_FRAME)
			continue;
		sweep.data++;
		KUNIT_ASSERT_LT(test, frame - TMM_FRAME_FIRST, nr_frames);
		if (twin) {
			if (m->pages[page].flags & VT_M_SHARED)
				continue;
			KUNIT_ASSERT_FALSE_MSG(test,
					       test_bit(frame - TMM_FRAME_FIRST,
							m->frames),
					       "op %u: twin %#x maps frame %#x of the space",
					       m->op, va, frame);
			KUNIT_ASSERT_EQ_MSG(test, tmm_frame_refs(torus, frame),
					    1u, "op %u: twin %#x", m->op, va);
			continue;
		}
		KUNIT_ASSERT_FALSE_MSG(test,
				       __test_and_set_bit(frame - TMM_FRAME_FIRST,
							  m->frames),
				       "op %u: frame %#x mapped twice", m->op,
				       frame);
		if (pages[page].flags & VT_M_SHARED) {
			KUNIT_ASSERT_EQ_MSG(test,
					    TMM_PTE_FRAME(tmm_space_lookup(m->twin,
									   va)),
					    frame, "op %u: %#x shared with the twin",
					    m->op, va);
			sweep.shared++;
		}
		KUNIT_ASSERT_EQ_MSG(test, tmm_frame_refs(torus, frame),
				    pages[page].flags & VT_M_SHARED ? 2u : 1u,
				    "op %u: references of the frame of %#x",
				    m->op, va);
	}
	return sweep;
}

/*
 * Compares everything with the model: the regions, every page of the
 * window of the space and of its twin, that no frame is mapped twice in a
 * space and none is shared without the model knowing, the references of
 * each frame, and the frame counts of the spaces, the torus (a shared frame
 * once) and the user (a shared frame once per space).
 */
static void vt_model_sweep(struct vt_model *m, u32 nr_frames)
{
	struct kunit *test = m->test;
	struct torusmm_space_stats stats = vt_stats(m->space), tstats;
	struct vt_sweep own, twin = {};
	u32 used, charged;

	vt_model_check_regions(m);
	bitmap_zero(m->frames, nr_frames);
	own = vt_model_sweep_side(m, m->space, "space", m->pages, nr_frames);
	KUNIT_ASSERT_EQ_MSG(test, stats.nr_data_frames, own.data, "op %u",
			    m->op);
	KUNIT_ASSERT_EQ_MSG(test, stats.nr_table_frames, own.tables + 1,
			    "op %u: tables (empty ones must go)", m->op);
	KUNIT_ASSERT_EQ(test, stats.brk, m->brk);
	KUNIT_ASSERT_EQ(test, stats.nr_heap_pages,
			(PAGE_ALIGN(m->brk) - VT_HEAP) >> PAGE_SHIFT);
	used = own.data + own.tables + 1;
	charged = used;
	if (m->twin) {
		twin = vt_model_sweep_side(m, m->twin, "twin", m->twin_pages,
					   nr_frames);
		tstats = vt_stats(m->twin);
		KUNIT_ASSERT_EQ_MSG(test, tstats.nr_data_frames, twin.data,
				    "op %u: twin", m->op);
		KUNIT_ASSERT_EQ_MSG(test, tstats.nr_table_frames,
				    twin.tables + 1, "op %u: twin", m->op);
		KUNIT_ASSERT_EQ(test, tstats.brk, m->twin_brk);
		used += twin.data - own.shared + twin.tables + 1;
		charged += twin.data + twin.tables + 1;
	}
	KUNIT_ASSERT_EQ_MSG(test, vt_nr_free(m->space->torus), nr_frames - used,
			    "op %u: frames of the torus, %u shared", m->op,
			    own.shared);
	KUNIT_ASSERT_EQ_MSG(test, vt_user_frames(m->space),
			    m->user_base + charged, "op %u: the user's frames",
			    m->op);
}

/* mmap: fixed, fixed without replace, or with a hint; maybe populating. */
static void vt_stress_mmap(struct vt_model *m)
{
	struct kunit *test = m->test;
	u32 first, nr, prot, kind, flags, addr;
	bool populate;
	u64 len;
	int ret, want = 0;

	vt_model_pick(m, &first, &nr);
	prot = vt_rand(m, 8);
	kind = vt_rand(m, 10);
	populate = prot && !vt_rand(m, 4);
	flags = populate ? VT_POPULATE : 0;
	len = vt_model_length(m, nr);
	addr = VT_WIN_START + first * PAGE_SIZE;

	if (!kind) {
		m->what = "mmap with a hint";
		KUNIT_ASSERT_EQ(test, tmm_space_mmap(m->space, &addr, len, prot,
						     flags), 0);
		if (vt_model_free(m, first, nr)) {
			KUNIT_ASSERT_EQ(test, addr,
					VT_WIN_START + first * PAGE_SIZE);
			vt_model_map(m, first, nr, prot, populate);
		} else {
			/* Placed top-down, far above the window; undo it. */
			KUNIT_ASSERT_EQ(test, addr,
					TMM_MMAP_BASE - nr * PAGE_SIZE);
			KUNIT_ASSERT_EQ(test, tmm_space_munmap(m->space, addr,
							       len), 0);
		}
	} else {
		flags |= kind < 3 ? VT_NOREPLACE : VT_FIXED;
		m->what = kind < 3 ? "mmap fixed_noreplace" : "mmap fixed";
		if (kind < 3 && !vt_model_free(m, first, nr))
			want = -EEXIST;
		ret = tmm_space_mmap(m->space, &addr, len, prot, flags);
		KUNIT_ASSERT_EQ_MSG(test, ret, want, "op %u: %s at %#x", m->op,
				    m->what, addr);
		if (!ret)
			vt_model_map(m, first, nr, prot, populate);
	}
	vt_model_check_range(m, first, nr);
}

static void vt_stress_munmap(struct vt_model *m)
{
	u32 first, nr;

	m->what = "munmap";
	vt_model_pick(m, &first, &nr);
	KUNIT_ASSERT_EQ(m->test, tmm_space_munmap(m->space, VT_WIN_START +
						  first * PAGE_SIZE,
						  vt_model_length(m, nr)), 0);
	vt_model_unmap(m, first, nr);
	vt_model_check_range(m, first, nr);
}

/* mprotect, half of the time on a range inside one mapped run. */
static void vt_stress_mprotect(struct vt_model *m)
{
	u32 first, nr, prot = vt_rand(m, 8), i;
	int ret, want;

	m->what = "mprotect";
	vt_model_pick(m, &first, &nr);
	if (vt_rand(m, 2) && (m->pages[first].flags & VT_M_MAPPED)) {
		for (nr = 1; nr < 256 && first + nr < VT_WIN_PAGES; nr++)
			if (!(m->pages[first + nr].flags & VT_M_MAPPED))
				break;
		nr = 1 + vt_rand(m, nr);
	}
	want = vt_model_covered(m, first, nr) ? 0 : -ENOMEM;
	ret = tmm_space_mprotect(m->space, VT_WIN_START + first * PAGE_SIZE,
				 vt_model_length(m, nr), prot);
	KUNIT_ASSERT_EQ_MSG(m->test, ret, want, "op %u: mprotect %u pages",
			    m->op, nr);
	if (!ret)
		for (i = first; i < first + nr; i++)
			m->pages[i].prot = vt_prot_normal(prot);
	vt_model_check_range(m, first, nr);
}

/* brk anywhere in the window, or below the heap start. */
static void vt_stress_brk(struct vt_model *m)
{
	u32 want, old = m->brk, old_end = PAGE_ALIGN(m->brk), new_end, res;
	u32 first, nr;

	m->what = "brk";
	if (!vt_rand(m, 8))
		want = vt_rand(m, VT_HEAP);
	else
		want = VT_HEAP + vt_rand(m, VT_WIN_END - VT_HEAP);
	new_end = PAGE_ALIGN(want);
	res = tmm_space_brk(m->space, want);

	first = (min(old_end, new_end) - VT_WIN_START) >> PAGE_SHIFT;
	nr = (max(old_end, new_end) - min(old_end, new_end)) >> PAGE_SHIFT;
	if (want < VT_HEAP) {
		KUNIT_ASSERT_EQ(m->test, res, old);
		return;
	}
	if (new_end > old_end && !vt_model_free(m, first, nr)) {
		KUNIT_ASSERT_EQ_MSG(m->test, res, old, "op %u: brk(%#x)",
				    m->op, want);
		return;
	}
	KUNIT_ASSERT_EQ_MSG(m->test, res, want, "op %u: brk from %#x", m->op,
			    old);
	if (new_end > old_end)
		vt_model_map(m, first, nr, VT_RW, false);
	else
		vt_model_unmap(m, first, nr);
	m->brk = want;
	vt_model_check_range(m, first, nr);
}

/* Writes whole pages, each with a byte of its own, up to the first fault. */
static void vt_stress_write(struct vt_model *m)
{
	struct kunit *test = m->test;
	u32 first, nr, i, fault = 0, access;
	struct tmm_access res;
	u8 value = 1 + vt_rand(m, 255);

	m->what = "write";
	vt_model_pick(m, &first, &nr);
	nr = min(nr, VT_STRESS_RW_PAGES);
	access = vt_rand(m, 4) ? VT_ACC_U : 0;
	for (i = 0; i < nr; i++)
		memset(m->buf + i * PAGE_SIZE, (u8)(value + i * 37) ?: 1,
		       PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, tmm_space_write(m->space, VT_WIN_START +
					      first * PAGE_SIZE, m->buf,
					      nr * PAGE_SIZE, access, &res), 0);
	for (i = 0; i < nr; i++) {
		if (!vt_model_access(m, &m->pages[first + i],
				     access | VT_ACC_W,
				     false, &fault))
			break;
		m->pages[first + i].value = m->buf[i * PAGE_SIZE];
	}
	KUNIT_ASSERT_EQ_MSG(test, res.done, i * PAGE_SIZE, "op %u: write at %#x",
			    m->op, VT_WIN_START + first * PAGE_SIZE);
	KUNIT_ASSERT_EQ_MSG(test, res.fault, i < nr ? fault : 0,
			    "op %u: write fault", m->op);
	if (i < nr)
		KUNIT_ASSERT_EQ(test, res.fault_addr,
				VT_WIN_START + (first + i) * PAGE_SIZE);
	vt_model_check_range(m, first, nr);
}

/* Reads whole pages up to the first fault and compares their contents. */
static void vt_stress_read(struct vt_model *m)
{
	struct kunit *test = m->test;
	u32 first, nr, i, fault = 0, access;
	struct tmm_access res;

	m->what = "read";
	vt_model_pick(m, &first, &nr);
	nr = min(nr, VT_STRESS_RW_PAGES);
	access = vt_rand(m, 4) ? VT_ACC_U : 0;
	KUNIT_ASSERT_EQ(test, tmm_space_read(m->space, VT_WIN_START +
					     first * PAGE_SIZE, m->buf,
					     nr * PAGE_SIZE, access, &res), 0);
	for (i = 0; i < nr; i++) {
		if (!vt_model_access(m, &m->pages[first + i], access, false,
				     &fault))
			break;
		KUNIT_ASSERT_NULL_MSG(test, memchr_inv(m->buf + i * PAGE_SIZE,
						       m->pages[first + i].value,
						       PAGE_SIZE),
				      "op %u: contents of %#x", m->op,
				      VT_WIN_START + (first + i) * PAGE_SIZE);
	}
	KUNIT_ASSERT_EQ_MSG(test, res.done, i * PAGE_SIZE, "op %u: read at %#x",
			    m->op, VT_WIN_START + first * PAGE_SIZE);
	KUNIT_ASSERT_EQ_MSG(test, res.fault, i < nr ? fault : 0,
			    "op %u: read fault", m->op);
	vt_model_check_range(m, first, nr);
}

/* Translates one address for a random access, a quarter of them peeks. */
static void vt_stress_translate(struct vt_model *m)
{
	static const u32 kinds[] = { 0, VT_ACC_W, VT_ACC_X };
	struct kunit *test = m->test;
	u32 first, nr, offset, access, fault = 0, want_fault, pte;
	bool peek = !vt_rand(m, 4), ok;
	u64 tpa = 0;
	int ret;

	m->what = peek ? "translate peek" : "translate";
	vt_model_pick(m, &first, &nr);
	offset = vt_rand(m, PAGE_SIZE);
	access = kinds[vt_rand(m, 3)] | (vt_rand(m, 2) ? VT_ACC_U : 0);
	ret = tmm_space_translate(m->space, VT_WIN_START + first * PAGE_SIZE +
				  offset, access | (peek ? TMM_ACCESS_PEEK : 0),
				  &tpa, &fault);
	ok = vt_model_access(m, &m->pages[first], access, peek, &want_fault);
	KUNIT_ASSERT_EQ_MSG(test, ret, ok ? 0 : -EFAULT,
			    "op %u: %s %#x access %#x", m->op, m->what,
			    VT_WIN_START + first * PAGE_SIZE, access);
	if (ok) {
		pte = tmm_space_lookup(m->space,
				       VT_WIN_START + first * PAGE_SIZE);
		KUNIT_ASSERT_EQ(test, tpa,
				tmm_frame_to_tpa(TMM_PTE_FRAME(pte)) + offset);
	} else {
		KUNIT_ASSERT_EQ_MSG(test, fault, want_fault, "op %u: %s", m->op,
				    m->what);
	}
	vt_model_check_range(m, first, 1);
}

/*
 * Clones the space.  The clone becomes the twin (the old twin destroyed
 * first), which the run leaves as it was made: every frame is shared, both
 * sides copy-on-write, the clone's pages unaccessed.  Half of the time the
 * run goes on in the clone, the source being the twin.  Now and then the
 * twin is only destroyed, so that the space holds the last mappings of
 * frames it still has copy-on-write.  Everything is compared afterwards.
 */
static void vt_stress_clone(struct vt_model *m, u32 nr_frames)
{
	struct vt_model_page *mp, *tp;
	struct tmm_space *copy;
	u32 page;

	if (m->twin) {
		vt_space_destroy(m->test, m->twin);
		m->twin = NULL;
		for (page = 0; page < VT_WIN_PAGES; page++)
			m->pages[page].flags &= ~VT_M_SHARED;
	}
	m->what = "twin dropped";
	if (vt_rand(m, 4)) {
		m->what = "clone";
		copy = vt_space_register(m->test, tmm_space_clone(m->space));
		m->nr_clones++;
		for (page = 0; page < VT_WIN_PAGES; page++) {
			mp = &m->pages[page];
			tp = &m->twin_pages[page];
			if ((mp->flags & VT_M_FRAME) && !(mp->flags & VT_M_ZERO))
				mp->flags |= VT_M_COW | VT_M_SHARED;
			*tp = *mp;
			tp->flags &= ~VT_M_SHARED;
			if (tp->flags & VT_M_FRAME)
				tp->flags = (tp->flags & ~VT_M_A) | VT_M_NO_A;
		}
		m->twin = copy;
		m->twin_brk = m->brk;
		if (vt_rand(m, 2)) {
			m->what = "clone, the run going on in it";
			swap(m->space, m->twin);
			swap(m->pages, m->twin_pages);
			for (page = 0; page < VT_WIN_PAGES; page++) {
				if (m->twin_pages[page].flags & VT_M_SHARED)
					m->pages[page].flags |= VT_M_SHARED;
				m->twin_pages[page].flags &= ~VT_M_SHARED;
			}
		}
	}
	vt_model_sweep(m, nr_frames);
}

/*
 * 100,000 random mmap, munmap, mprotect, brk, write, read and translate
 * calls on page ranges of a 64 MiB window, each checked against a flat array
 * of per-page state (in a region? protection? frame of its own, the zero
 * frame, or one shared with the twin? the byte written?) around the range it
 * touched; now and then a clone, which the run leaves as it was made (its
 * twin) while it goes on in the source or in the clone.  The regions are
 * compared every 250 calls, everything every 2500, after each clone and at
 * the end, on the space and on its twin, frame references and the frame
 * counts of spaces, torus and user included.
 */
static void random_ops_match_reference_model(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, VT_STRESS_FRAMES);
	struct vt_model *m;
	u64 start = ktime_get_ns();
	u32 counts[8] = {}, kind, r;

	m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m);
	m->test = test;
	m->space = vt_space_create(test, torus, 0);
	m->user_base = vt_user_frames(m->space) - 1;
	m->pages = vt_kvzalloc(test, VT_WIN_PAGES * sizeof(*m->pages));
	m->twin_pages = vt_kvzalloc(test, VT_WIN_PAGES * sizeof(*m->pages));
	m->regions = vt_kvzalloc(test, VT_STRESS_REGIONS * sizeof(*m->regions));
	m->frames = vt_kvzalloc(test, BITS_TO_LONGS(VT_STRESS_FRAMES) *
				sizeof(long));
	m->ptes = vt_kvzalloc(test, VT_WIN_PAGES * sizeof(*m->ptes));
	m->buf = vt_kvzalloc(test, VT_STRESS_RW_PAGES * PAGE_SIZE);
	m->brk = VT_HEAP;
	prandom_seed_state(&m->rnd, 0x746f727573);

	for (m->op = 0; m->op < VT_STRESS_OPS; m->op++) {
		r = vt_rand(m, 100);
		kind = r < 18 ? 0 : r < 30 ? 1 : r < 44 ? 2 : r < 50 ? 3 :
		       r < 68 ? 4 : r < 84 ? 5 : 6;
		if (!vt_rand(m, VT_STRESS_CLONE))
			kind = 7;
		counts[kind]++;
		switch (kind) {
		case 0:
			vt_stress_mmap(m);
			break;
		case 1:
			vt_stress_munmap(m);
			break;
		case 2:
			vt_stress_mprotect(m);
			break;
		case 3:
			vt_stress_brk(m);
			break;
		case 4:
			vt_stress_write(m);
			break;
		case 5:
			vt_stress_read(m);
			break;
		case 6:
			vt_stress_translate(m);
			break;
		default:
			vt_stress_clone(m, VT_STRESS_FRAMES);
			break;
		}
		if (!((m->op + 1) % VT_STRESS_SWEEP))
			vt_model_sweep(m, VT_STRESS_FRAMES);
		else if (!((m->op + 1) % VT_STRESS_REGION_CHECK))
			vt_model_check_regions(m);
		cond_resched();
	}
	vt_model_sweep(m, VT_STRESS_FRAMES);
	/* A last clone of what the run left, compared page for page. */
	do {
		vt_stress_clone(m, VT_STRESS_FRAMES);
	} while (!m->twin);
	kunit_info(test, "%u ops (mmap %u, munmap %u, mprotect %u, brk %u, write %u, read %u, translate %u, clone or drop %u) in %llu ms; %u clones, %u copy-on-write breaks; %u frames in use",
		   VT_STRESS_OPS, counts[0], counts[1], counts[2], counts[3],
		   counts[4], counts[5], counts[6], counts[7],
		   div_u64(ktime_get_ns() - start, NSEC_PER_MSEC),
		   m->nr_clones, m->nr_breaks,
		   VT_STRESS_FRAMES - vt_nr_free(torus));
}

/* Gives every test a page of scratch and no armed fault point. */
static int vt_test_init(struct kunit *test)
{
	enum tmm_fault_site site;

	for (site = 0; site < TMM_FAULT_NR; site++)
		tmm_fault_disarm(site);
	test->priv = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	return test->priv ? 0 : -ENOMEM;
}

/* Leaves no fault point armed for the next test. */
static void vt_test_exit(struct kunit *test)
{
	enum tmm_fault_site site;

	for (site = 0; site < TMM_FAULT_NR; site++)
		tmm_fault_disarm(site);
}

static struct kunit_case vma_test_cases[] = {
	KUNIT_CASE(space_create_has_only_the_stack_region),
	KUNIT_CASE(space_destroy_returns_every_frame),
	KUNIT_CASE(space_quota_limits_data_and_table_frames),
	KUNIT_CASE_PARAM(space_quota_is_capped_by_max_frames,
			 vt_quota_gen_params),
	KUNIT_CASE(user_frame_ceiling_is_shared_by_the_users_spaces),
	KUNIT_CASE_PARAM(user_frame_ceiling_refuses_new_frames,
			 vt_ceiling_gen_params),
	KUNIT_CASE(user_space_ceiling_refuses_create_and_clone),
	KUNIT_CASE(fault_in_with_torus_full_returns_enomem),
	KUNIT_CASE_PARAM(brk_moves_the_break_as_linux_does, vt_brk_gen_params),
	KUNIT_CASE(brk_heap_pages_are_demand_zero),
	KUNIT_CASE(brk_shrink_frees_pages),
	KUNIT_CASE_PARAM(mmap_rejects_bad_request, vt_mmap_error_gen_params),
	KUNIT_CASE_PARAM(mmap_rounds_length_up_to_pages,
			 vt_length_gen_params),
	KUNIT_CASE_PARAM(mmap_and_mprotect_normalise_prot, vt_prot_gen_params),
	KUNIT_CASE(mmap_without_hint_places_top_down),
	KUNIT_CASE(mmap_top_down_skips_gaps_too_small),
	KUNIT_CASE(mmap_without_room_returns_enomem),
	KUNIT_CASE(mmap_hint_is_used_when_free),
	KUNIT_CASE_PARAM(mmap_unusable_hint_places_top_down,
			 vt_hint_gen_params),
	KUNIT_CASE_PARAM(mmap_placement_stays_in_the_user_range,
			 vt_place_gen_params),
	KUNIT_CASE(placed_mmap_stays_in_window_and_never_overlaps),
	KUNIT_CASE_PARAM(page_zero_is_never_mapped, vt_page_zero_gen_params),
	KUNIT_CASE(mmap_is_zero_filled_on_demand),
	KUNIT_CASE(mmap_populate_maps_every_page),
	KUNIT_CASE(mmap_fixed_replaces_and_frees_old_pages),
	KUNIT_CASE(mmap_fixed_noreplace_overlap_returns_eexist),
	KUNIT_CASE(mmap_merges_adjacent_equal_regions),
	KUNIT_CASE(mmap_populate_failure_keeps_replaced_mapping),
	KUNIT_CASE_PARAM(mmap_fixed_populate_at_quota_reuses_replaced_frames,
			 vt_replace_gen_params),
	KUNIT_CASE_PARAM(munmap_rejects_bad_range, vt_munmap_error_gen_params),
	KUNIT_CASE_PARAM(munmap_splits_and_removes_regions,
			 vt_munmap_layout_gen_params),
	KUNIT_CASE(munmap_frees_empty_tables),
	KUNIT_CASE_PARAM(mprotect_rejects_bad_range,
			 vt_mprotect_error_gen_params),
	KUNIT_CASE_PARAM(mprotect_splits_and_merges_regions,
			 vt_mprotect_layout_gen_params),
	KUNIT_CASE(mprotect_none_keeps_contents),
	KUNIT_CASE(mprotect_read_only_makes_writes_fault),
	KUNIT_CASE_PARAM(region_cap_refuses_calls_that_add_regions,
			 vt_cap_gen_params),
	KUNIT_CASE(region_counter_matches_dump_under_random_ops),
	KUNIT_CASE_PARAM(translate_reports_fault_or_faults_in,
			 vt_translate_gen_params),
	KUNIT_CASE(translate_demand_faults_a_zeroed_frame),
	KUNIT_CASE(translate_read_sets_accessed),
	KUNIT_CASE(translate_write_sets_dirty),
	KUNIT_CASE(translate_peek_has_no_side_effects),
	KUNIT_CASE(translate_grows_stack_down),
	KUNIT_CASE(translate_grows_stack_to_its_limit_only),
	KUNIT_CASE(translate_stack_growth_stops_at_mapping),
	KUNIT_CASE(translate_stack_does_not_grow_once_unmapped),
	KUNIT_CASE(translate_stack_grows_with_its_protection),
	KUNIT_CASE(write_read_roundtrip_across_pages),
	KUNIT_CASE(write_stops_at_first_fault),
	KUNIT_CASE(read_stops_at_first_fault),
	KUNIT_CASE(write_to_read_only_page_faults_protection),
	KUNIT_CASE(zero_frame_read_takes_no_frame),
	KUNIT_CASE(zero_frame_first_write_takes_one_zeroed_frame),
	KUNIT_CASE(zero_frame_entry_stays_read_only_under_mprotect),
	KUNIT_CASE(zero_frame_unmap_frees_nothing),
	KUNIT_CASE_PARAM(zero_frame_read_at_quota_succeeds_and_write_fails,
			 vt_zero_quota_gen_params),
	KUNIT_CASE(clone_shares_regions_brk_stack_and_frames),
	KUNIT_CASE(clone_is_isolated_both_ways),
	KUNIT_CASE(clone_write_copies_the_frame_once),
	KUNIT_CASE(clone_shared_page_stays_read_only_under_mprotect),
	KUNIT_CASE(clone_zero_page_write_takes_a_zeroed_frame),
	KUNIT_CASE(clone_chain_of_three_shares_one_frame),
	KUNIT_CASE_PARAM(clone_frames_go_back_with_their_last_sharer,
			 vt_sharer_gen_params),
	KUNIT_CASE(clone_needs_free_frames_for_its_tables_only),
	KUNIT_CASE(clone_fits_the_quota_its_source_fills),
	KUNIT_CASE(clone_last_sharer_write_needs_no_free_frame),
	KUNIT_CASE(allocate_places_rw_blocks_top_down),
	KUNIT_CASE(allocate_and_free_100_blocks),
	KUNIT_CASE(frames_are_zeroed_across_spaces),
	KUNIT_CASE(munmap_then_mmap_is_zeroed),
	KUNIT_CASE(dump_short_buffer_returns_e2big),
	KUNIT_CASE(dirty_log_reports_written_pages),
	KUNIT_CASE(clear_dirty_log_clears_the_selected_pages),
	KUNIT_CASE(access_log_reports_and_clears_accessed),
	KUNIT_CASE_PARAM(observers_are_told_before_entries_change,
			 vt_observe_gen_params),
	KUNIT_CASE(translate_many_matches_single_translations),
	KUNIT_CASE(write_racing_a_read_of_a_new_page_succeeds),
	KUNIT_CASE_PARAM(operation_fails_cleanly_at_every_allocation,
			 vt_fail_gen_params),
	KUNIT_CASE(random_ops_match_reference_model),
	{}
};

static struct kunit_suite vma_test_suite = {
	.name = "torusmm_vma",
	.init = vt_test_init,
	.exit = vt_test_exit,
	.test_cases = vma_test_cases,
};

kunit_test_suite(vma_test_suite);
