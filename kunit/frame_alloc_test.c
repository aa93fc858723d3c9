// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the torus frame allocator (frame_alloc.c).
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * Every test reserves a torus of its own, calls tmm_frame_alloc() and
 * tmm_frame_free() directly and checks the answers against what the test
 * itself knows: which frames it holds, what it wrote into them and the
 * counters a correct allocator must report.  Bad frees and fired fault points
 * must change nothing, which is checked by draining the torus afterwards.
 * The words_scanned counter is compared with what a linear bitmap scan reads,
 * so the claim that an allocation costs the same on a full torus as on an
 * empty one is measured, not timed.  A randomised run checks the allocator
 * against a plain bitmap of the frames the test holds.
 */

#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "fault_inject.h"
#include "frame_alloc.h"
#include "torusmm_test.h"

/* A torus small enough to drain in every test that needs it. */
#define FA_SMALL_FRAMES		64u
/* Large enough that a linear scan costs hundreds of words per allocation. */
#define FA_LARGE_FRAMES		65536u

/* Destroys a torus registered by tmm_test_torus_create() when the test ends. */
static void fa_torus_release(struct kunit_resource *res)
{
	tmm_torus_destroy(res->data);
}

/* Reserves a torus of @nr_frames frames that lives until the test ends. */
struct tmm_torus *tmm_test_torus_create(struct kunit *test, u32 nr_frames)
{
	struct tmm_torus *torus;

	torus = tmm_torus_create(0, nr_frames);
	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, torus,
					 "cannot reserve a torus of %u frames",
					 nr_frames);
	if (!kunit_alloc_resource(test, NULL, fa_torus_release, GFP_KERNEL,
				  torus)) {
		tmm_torus_destroy(torus);
		KUNIT_ASSERT_FAILURE(test, "cannot register the torus");
	}
	return torus;
}

/* Allocates one frame for setting up a test; the test fails if none. */
static u32 fa_alloc(struct kunit *test, struct tmm_torus *torus,
		    enum tmm_frame_use use)
{
	u32 frame = 0;
	int ret;

	ret = tmm_frame_alloc(torus, use, &frame);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "tmm_frame_alloc() failed");
	return frame;
}

/* Whether @frame names a frame of a torus of @nr_frames frames. */
static bool fa_in_range(u32 frame, u32 nr_frames)
{
	return frame >= TMM_FRAME_FIRST && frame - TMM_FRAME_FIRST < nr_frames;
}

/* Fills the page behind @frame with @value. */
static void fa_fill(struct tmm_torus *torus, u32 frame, u8 value)
{
	void *addr = kmap_local_page(tmm_frame_page(torus, frame));

	memset(addr, value, PAGE_SIZE);
	kunmap_local(addr);
}

/* Whether every byte of the page behind @frame is zero. */
static bool fa_is_zero(struct tmm_torus *torus, u32 frame)
{
	void *addr = kmap_local_page(tmm_frame_page(torus, frame));
	bool zero = !memchr_inv(addr, 0, PAGE_SIZE);

	kunmap_local(addr);
	return zero;
}

/* Whether two snapshots agree on everything an allocation changes. */
static void fa_expect_same_counters(struct kunit *test,
				    const struct tmm_torus_stats *before,
				    const struct tmm_torus_stats *after)
{
	KUNIT_EXPECT_EQ(test, after->nr_frames, before->nr_frames);
	KUNIT_EXPECT_EQ(test, after->nr_free, before->nr_free);
	KUNIT_EXPECT_EQ(test, after->nr_used, before->nr_used);
	KUNIT_EXPECT_EQ(test, after->high_water, before->high_water);
	KUNIT_EXPECT_EQ(test, after->nr_table_frames, before->nr_table_frames);
	KUNIT_EXPECT_EQ(test, after->allocs, before->allocs);
}

/*
 * Allocates every frame left and checks that each is new: in range, not
 * already in @held, not handed out twice.  Returns how many it got.
 */
static u32 fa_drain(struct kunit *test, struct tmm_torus *torus,
		    unsigned long *held)
{
	u32 nr_frames = torus->nr_frames;
	u32 frame, got = 0;

	while (!tmm_frame_alloc(torus, TMM_FRAME_DATA, &frame)) {
		KUNIT_ASSERT_TRUE_MSG(test, fa_in_range(frame, nr_frames),
				      "frame %#x out of range", frame);
		KUNIT_ASSERT_FALSE_MSG(test,
				       test_bit(frame - TMM_FRAME_FIRST, held),
				       "frame %#x handed out twice", frame);
		__set_bit(frame - TMM_FRAME_FIRST, held);
		got++;
		KUNIT_ASSERT_LE_MSG(test, got, nr_frames, "more frames than exist");
	}
	return got;
}

/* Allocates a bitmap with a bit per frame of @torus, freed with the test. */
static unsigned long *fa_bitmap(struct kunit *test, u32 nr_frames)
{
	unsigned long *map;

	map = kunit_kcalloc(test, BITS_TO_LONGS(nr_frames), sizeof(long),
			    GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, map);
	return map;
}

/* Arms @site, or skips the test when the kernel has no fault injection. */
static void fa_fault_arm(struct kunit *test, enum tmm_fault_site site,
			 unsigned int nth)
{
	int ret = tmm_fault_arm(site, nth);

	if (ret == -EOPNOTSUPP)
		kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "tmm_fault_arm(%d, %u)", site, nth);
}

struct fa_bad_size_case {
	const char *desc;
	u32 nr_frames;
};

static const struct fa_bad_size_case fa_bad_size_cases[] = {
	{ "no frames", 0 },
	{ "one frame more than a PTE can name", TMM_TORUS_MAX_FRAMES + 1 },
	{ "u32 max", U32_MAX },
};

static void fa_bad_size_desc(const struct fa_bad_size_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(fa_bad_size, fa_bad_size_cases, fa_bad_size_desc);

static void torus_create_rejects_bad_size(struct kunit *test)
{
	const struct fa_bad_size_case *c = test->param_value;
	struct tmm_torus *torus = tmm_torus_create(0, c->nr_frames);

	KUNIT_EXPECT_TRUE(test, IS_ERR(torus));
	if (!IS_ERR_OR_NULL(torus)) {
		tmm_torus_destroy(torus);
		return;
	}
	KUNIT_EXPECT_EQ(test, PTR_ERR(torus), -EINVAL);
}

static void torus_create_starts_all_free(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, FA_SMALL_FRAMES);
	struct tmm_torus_stats stats;

	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_frames, FA_SMALL_FRAMES);
	KUNIT_EXPECT_EQ(test, stats.nr_free, FA_SMALL_FRAMES);
	KUNIT_EXPECT_EQ(test, stats.nr_used, 0u);
	KUNIT_EXPECT_EQ(test, stats.high_water, 0u);
	KUNIT_EXPECT_EQ(test, stats.nr_table_frames, 0u);
	KUNIT_EXPECT_EQ(test, stats.nr_spaces, 0u);
	KUNIT_EXPECT_EQ(test, stats.allocs, 0ull);
}

/* The original design's physical allocation test, made exhaustive. */
static void frame_alloc_hands_out_each_frame_once(struct kunit *test)
{
	const u32 nr_frames = 512;
	struct tmm_torus *torus = tmm_test_torus_create(test, nr_frames);
	unsigned long *held = fa_bitmap(test, nr_frames);
	struct tmm_torus_stats stats;

	KUNIT_EXPECT_EQ(test, fa_drain(test, torus, held), nr_frames);
	KUNIT_EXPECT_TRUE(test, bitmap_full(held, nr_frames));
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_free, 0u);
	KUNIT_EXPECT_EQ(test, stats.nr_used, nr_frames);
	KUNIT_EXPECT_EQ(test, stats.high_water, nr_frames);
	KUNIT_EXPECT_EQ(test, stats.allocs, (u64)nr_frames);
}

static void frame_alloc_full_torus_returns_enomem(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, FA_SMALL_FRAMES);
	unsigned long *held = fa_bitmap(test, FA_SMALL_FRAMES);
	struct tmm_torus_stats before, after;
	u32 frame;

	KUNIT_ASSERT_EQ(test, fa_drain(test, torus, held), FA_SMALL_FRAMES);
	tmm_torus_get_stats(torus, &before);
	KUNIT_EXPECT_EQ(test, tmm_frame_alloc(torus, TMM_FRAME_DATA, &frame),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, tmm_frame_alloc(torus, TMM_FRAME_TABLE, &frame),
			-ENOMEM);
	tmm_torus_get_stats(torus, &after);
	fa_expect_same_counters(test, &before, &after);
}

enum fa_bad_free_kind {
	FA_FREE_ZERO,
	FA_FREE_BELOW_FIRST,
	FA_FREE_PAST_LAST,
	FA_FREE_U32_MAX,
	FA_FREE_TWICE,
	FA_FREE_NEVER_ALLOCATED,
};

struct fa_bad_free_case {
	const char *desc;
	enum fa_bad_free_kind kind;
};

static const struct fa_bad_free_case fa_bad_free_cases[] = {
	{ "frame zero", FA_FREE_ZERO },
	{ "frame two below the first (below the zero frame)",
	  FA_FREE_BELOW_FIRST },
	{ "frame just past the last", FA_FREE_PAST_LAST },
	{ "frame u32 max", FA_FREE_U32_MAX },
	{ "frame freed twice", FA_FREE_TWICE },
	{ "frame never allocated", FA_FREE_NEVER_ALLOCATED },
};

static void fa_bad_free_desc(const struct fa_bad_free_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(fa_bad_free, fa_bad_free_cases, fa_bad_free_desc);

/*
 * A bad free is refused and leaves the bitmap as it was: the counters do not
 * move, and draining the torus afterwards yields exactly the free frames.
 */
static void frame_free_bad_frame_returns_einval(struct kunit *test)
{
	const struct fa_bad_free_case *c = test->param_value;
	struct tmm_torus *torus = tmm_test_torus_create(test, FA_SMALL_FRAMES);
	unsigned long *held = fa_bitmap(test, FA_SMALL_FRAMES);
	struct tmm_torus_stats before, after;
	u32 kept[2], freed, bad = 0, i;

	kept[0] = fa_alloc(test, torus, TMM_FRAME_DATA);
	freed = fa_alloc(test, torus, TMM_FRAME_DATA);
	kept[1] = fa_alloc(test, torus, TMM_FRAME_DATA);
	KUNIT_ASSERT_EQ(test, tmm_frame_free(torus, freed), 0);

	switch (c->kind) {
	case FA_FREE_ZERO:
		bad = 0;
		break;
	case FA_FREE_BELOW_FIRST:
		bad = TMM_FRAME_FIRST - 2;
		break;
	case FA_FREE_PAST_LAST:
		bad = TMM_FRAME_FIRST + FA_SMALL_FRAMES;
		break;
	case FA_FREE_U32_MAX:
		bad = U32_MAX;
		break;
	case FA_FREE_TWICE:
		bad = freed;
		break;
	case FA_FREE_NEVER_ALLOCATED:
		for (i = 0; i < FA_SMALL_FRAMES; i++) {
			bad = TMM_FRAME_FIRST + i;
			if (bad != kept[0] && bad != kept[1] && bad != freed)
				break;
		}
		break;
	}

	tmm_torus_get_stats(torus, &before);
	KUNIT_EXPECT_EQ(test, tmm_frame_free(torus, bad), -EINVAL);
	tmm_torus_get_stats(torus, &after);
	fa_expect_same_counters(test, &before, &after);

	__set_bit(kept[0] - TMM_FRAME_FIRST, held);
	__set_bit(kept[1] - TMM_FRAME_FIRST, held);
	KUNIT_EXPECT_EQ(test, fa_drain(test, torus, held), before.nr_free);
}

static void frame_free_returns_frame_to_torus(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, 1);
	struct tmm_torus_stats stats;
	u32 frame, again;

	frame = fa_alloc(test, torus, TMM_FRAME_DATA);
	KUNIT_EXPECT_EQ(test, tmm_frame_free(torus, frame), 0);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_free, 1u);
	KUNIT_EXPECT_EQ(test, stats.nr_used, 0u);
	KUNIT_EXPECT_EQ(test, tmm_frame_alloc(torus, TMM_FRAME_DATA, &again), 0);
	KUNIT_EXPECT_EQ(test, again, frame);
}

static void frame_counters_track_free_used_high_water(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, FA_SMALL_FRAMES);
	struct tmm_torus_stats stats;
	u32 frames[16], i;

	for (i = 0; i < 10; i++)
		frames[i] = fa_alloc(test, torus, TMM_FRAME_DATA);
	for (i = 0; i < 5; i++)
		KUNIT_ASSERT_EQ(test, tmm_frame_free(torus, frames[i]), 0);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_used, 5u);
	KUNIT_EXPECT_EQ(test, stats.nr_free, FA_SMALL_FRAMES - 5);
	KUNIT_EXPECT_EQ(test, stats.high_water, 10u);
	KUNIT_EXPECT_EQ(test, stats.allocs, 10ull);

	/* Back to ten in use: the mark stays; one more raises it. */
	for (i = 0; i < 5; i++)
		frames[i] = fa_alloc(test, torus, TMM_FRAME_DATA);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.high_water, 10u);
	frames[10] = fa_alloc(test, torus, TMM_FRAME_DATA);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.high_water, 11u);
	KUNIT_EXPECT_EQ(test, stats.nr_used, 11u);
	KUNIT_EXPECT_EQ(test, stats.nr_free + stats.nr_used, stats.nr_frames);
	KUNIT_EXPECT_EQ(test, stats.allocs, 16ull);
}

static void frame_alloc_counts_table_frames(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, FA_SMALL_FRAMES);
	struct tmm_torus_stats stats;
	u32 table, data;

	table = fa_alloc(test, torus, TMM_FRAME_TABLE);
	data = fa_alloc(test, torus, TMM_FRAME_DATA);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_table_frames, 1u);
	KUNIT_EXPECT_EQ(test, stats.nr_used, 2u);

	KUNIT_ASSERT_EQ(test, tmm_frame_free(torus, data), 0);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_table_frames, 1u);

	KUNIT_ASSERT_EQ(test, tmm_frame_free(torus, table), 0);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_table_frames, 0u);
}

/* A frame handed out again is zero, whatever its last owner wrote. */
static void frame_alloc_zeroes_reused_frames(struct kunit *test)
{
	const u32 nr_frames = 8;
	struct tmm_torus *torus = tmm_test_torus_create(test, nr_frames);
	u32 frames[8], i;

	for (i = 0; i < nr_frames; i++) {
		frames[i] = fa_alloc(test, torus,
				     i % 2 ? TMM_FRAME_TABLE : TMM_FRAME_DATA);
		KUNIT_EXPECT_TRUE(test, fa_is_zero(torus, frames[i]));
		fa_fill(torus, frames[i], 0xa5);
	}
	for (i = 0; i < nr_frames; i++)
		KUNIT_ASSERT_EQ(test, tmm_frame_free(torus, frames[i]), 0);
	for (i = 0; i < nr_frames; i++) {
		frames[i] = fa_alloc(test, torus,
				     i % 2 ? TMM_FRAME_DATA : TMM_FRAME_TABLE);
		KUNIT_EXPECT_TRUE_MSG(test, fa_is_zero(torus, frames[i]),
				      "frame %#x kept old data", frames[i]);
	}
}

static void frame_page_names_each_frame(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, FA_SMALL_FRAMES);
	struct page *first, *last;
	u32 i;

	first = tmm_frame_page(torus, TMM_FRAME_FIRST);
	last = tmm_frame_page(torus, TMM_FRAME_FIRST + FA_SMALL_FRAMES - 1);
	KUNIT_EXPECT_NOT_NULL(test, first);
	KUNIT_EXPECT_NOT_NULL(test, last);
	KUNIT_EXPECT_PTR_NE(test, first, last);
	for (i = 0; i < FA_SMALL_FRAMES; i++) {
		struct page *page = tmm_frame_page(torus, TMM_FRAME_FIRST + i);

		KUNIT_ASSERT_NOT_NULL(test, page);
		KUNIT_EXPECT_EQ(test, page_count(page), 1);
	}
	/* Just below the first frame is the zero frame; below that, nothing. */
	KUNIT_EXPECT_PTR_EQ(test, tmm_frame_page(torus, TMM_FRAME_FIRST - 1),
			    torus->zero_page);
	KUNIT_EXPECT_EQ(test, TMM_FRAME_FIRST - 1, TMM_ZERO_FRAME);
	KUNIT_EXPECT_NULL(test, tmm_frame_page(torus, TMM_FRAME_FIRST - 2));
	KUNIT_EXPECT_NULL(test, tmm_frame_page(torus, TMM_FRAME_FIRST +
						      FA_SMALL_FRAMES));
	KUNIT_EXPECT_EQ(test, tmm_frame_to_tpa(TMM_FRAME_FIRST),
			(u64)TORUSMM_TORUS_BASE);
}

/* A frame with several references returns to the torus with the last. */
static void frame_returns_to_torus_with_its_last_reference(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, FA_SMALL_FRAMES);
	struct tmm_torus_stats stats;
	u32 frame;

	KUNIT_ASSERT_EQ(test, tmm_frame_alloc(torus, TMM_FRAME_DATA, &frame), 0);
	KUNIT_EXPECT_EQ(test, tmm_frame_refs(torus, frame), 1u);
	KUNIT_EXPECT_EQ(test, tmm_frame_get(torus, frame), 0);
	KUNIT_EXPECT_EQ(test, tmm_frame_get(torus, frame), 0);
	KUNIT_EXPECT_EQ(test, tmm_frame_refs(torus, frame), 3u);
	KUNIT_EXPECT_EQ(test, tmm_frame_free(torus, frame), 0);
	KUNIT_EXPECT_EQ(test, tmm_frame_free(torus, frame), 0);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_free, FA_SMALL_FRAMES - 1);
	KUNIT_EXPECT_EQ(test, tmm_frame_free(torus, frame), 0);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_free, FA_SMALL_FRAMES);
	KUNIT_EXPECT_EQ(test, tmm_frame_refs(torus, frame), 0u);
	/* One put too many is a double free, and changes nothing. */
	KUNIT_EXPECT_EQ(test, tmm_frame_free(torus, frame), -EINVAL);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_free, FA_SMALL_FRAMES);
}

/* A reference to a free frame is refused. */
static void frame_get_of_a_free_frame_fails(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, FA_SMALL_FRAMES);

	KUNIT_EXPECT_EQ(test, tmm_frame_get(torus, TMM_FRAME_FIRST), -EINVAL);
	KUNIT_EXPECT_EQ(test, tmm_frame_refs(torus, TMM_FRAME_FIRST), 0u);
	KUNIT_EXPECT_EQ(test, tmm_frame_get(torus, TMM_FRAME_FIRST - 2),
			-EINVAL);
}

/* The zero frame reads zero, is no frame of the torus and is never freed. */
static void zero_frame_is_shared_and_never_freed(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, FA_SMALL_FRAMES);
	struct tmm_torus_stats stats;
	struct page *zero = tmm_frame_page(torus, TMM_ZERO_FRAME);
	u8 *data;
	u32 i;

	KUNIT_ASSERT_NOT_NULL(test, zero);
	data = kmap_local_page(zero);
	for (i = 0; i < PAGE_SIZE; i++)
		if (data[i])
			break;
	kunmap_local(data);
	KUNIT_EXPECT_EQ(test, i, (u32)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, tmm_frame_get(torus, TMM_ZERO_FRAME), 0);
	KUNIT_EXPECT_EQ(test, tmm_frame_free(torus, TMM_ZERO_FRAME), 0);
	KUNIT_EXPECT_EQ(test, tmm_frame_free(torus, TMM_ZERO_FRAME), 0);
	KUNIT_EXPECT_EQ(test, tmm_frame_refs(torus, TMM_ZERO_FRAME), 0u);
	tmm_torus_get_stats(torus, &stats);
	KUNIT_EXPECT_EQ(test, stats.nr_free, FA_SMALL_FRAMES);
	KUNIT_EXPECT_EQ(test, tmm_frame_to_tpa(TMM_ZERO_FRAME),
			(u64)TORUSMM_ZERO_FRAME_TPA);
}

struct fa_fault_case {
	const char *desc;
	enum tmm_frame_use use;
	enum tmm_fault_site site;
	enum tmm_fault_site other;
};

static const struct fa_fault_case fa_fault_cases[] = {
	{ "data frame", TMM_FRAME_DATA, TMM_FAULT_FRAME, TMM_FAULT_TABLE },
	{ "table frame", TMM_FRAME_TABLE, TMM_FAULT_TABLE, TMM_FAULT_FRAME },
};

static void fa_fault_desc(const struct fa_fault_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(fa_fault, fa_fault_cases, fa_fault_desc);

/*
 * The fault point of a use fails exactly the nth allocation of that use,
 * changes no counter, and does not touch allocations of the other use.
 */
static void frame_alloc_fault_point_fails_nth_allocation(struct kunit *test)
{
	const struct fa_fault_case *c = test->param_value;
	struct tmm_torus *torus = tmm_test_torus_create(test, FA_SMALL_FRAMES);
	struct tmm_torus_stats before, after;
	u32 frame;

	fa_fault_arm(test, c->other, 1);
	KUNIT_EXPECT_EQ(test, tmm_frame_alloc(torus, c->use, &frame), 0);
	KUNIT_EXPECT_FALSE(test, tmm_fault_fired(c->other));
	tmm_fault_disarm(c->other);

	fa_fault_arm(test, c->site, 2);
	KUNIT_EXPECT_EQ(test, tmm_frame_alloc(torus, c->use, &frame), 0);
	KUNIT_EXPECT_FALSE(test, tmm_fault_fired(c->site));
	tmm_torus_get_stats(torus, &before);
	KUNIT_EXPECT_EQ(test, tmm_frame_alloc(torus, c->use, &frame), -ENOMEM);
	KUNIT_EXPECT_TRUE(test, tmm_fault_fired(c->site));
	tmm_torus_get_stats(torus, &after);
	fa_expect_same_counters(test, &before, &after);
	KUNIT_EXPECT_EQ(test, tmm_frame_alloc(torus, c->use, &frame), 0);
	tmm_fault_disarm(c->site);
}

/*
 * Filling a large torus reads a small constant number of bitmap words per
 * allocation.  A first-fit linear scan (the original design's "O(1)"
 * allocator) reads every full word before the first one with room, which is
 * i / BITS_PER_LONG + 1 words for allocation i: about 33 million here.
 */
static void frame_alloc_scan_stays_flat_while_filling(struct kunit *test)
{
	struct tmm_torus *torus = tmm_test_torus_create(test, FA_LARGE_FRAMES);
	struct tmm_torus_stats before, after;
	u64 linear = 0, scanned;
	u32 i, frame;

	tmm_torus_get_stats(torus, &before);
	for (i = 0; i < FA_LARGE_FRAMES; i++) {
		KUNIT_ASSERT_EQ_MSG(test,
				    tmm_frame_alloc(torus, TMM_FRAME_DATA,
						    &frame),
				    0, "allocation %u", i);
		linear += i / BITS_PER_LONG + 1;
		if (!(i % 1024))
			cond_resched();
	}
	tmm_torus_get_stats(torus, &after);
	scanned = after.words_scanned - before.words_scanned;
	kunit_info(test, "%u allocations read %llu words, a linear scan %llu",
		   FA_LARGE_FRAMES, scanned, linear);
	KUNIT_EXPECT_EQ(test, after.allocs - before.allocs, (u64)FA_LARGE_FRAMES);
	KUNIT_EXPECT_GT(test, scanned, 0ull);
	KUNIT_EXPECT_LE(test, scanned, 4ull * FA_LARGE_FRAMES);
}

/*
 * On a full torus with one frame freed at a random place, finding that frame
 * reads the top summary words (one here, two when the search wraps), one
 * word of the lower summary and one leaf word: at most 4 words, where a
 * linear or next-fit scan reads half the bitmap on average (512 words here).
 */
static void frame_alloc_scan_stays_flat_when_nearly_full(struct kunit *test)
{
	const u32 rounds = 256;
	const u32 nr_words = DIV_ROUND_UP(FA_LARGE_FRAMES, BITS_PER_LONG);
	const u32 nr_full_words = DIV_ROUND_UP(nr_words, BITS_PER_LONG);
	const u64 bound = DIV_ROUND_UP(nr_full_words, BITS_PER_LONG) + 3;
	struct tmm_torus *torus = tmm_test_torus_create(test, FA_LARGE_FRAMES);
	struct tmm_torus_stats before, after;
	u64 scanned = 0, worst = 0, cost;
	struct rnd_state rnd;
	u32 i, frame, hole;

	for (i = 0; i < FA_LARGE_FRAMES; i++) {
		KUNIT_ASSERT_EQ(test,
				tmm_frame_alloc(torus, TMM_FRAME_DATA, &frame),
				0);
		if (!(i % 1024))
			cond_resched();
	}

	prandom_seed_state(&rnd, 0x70727573);
	for (i = 0; i < rounds; i++) {
		hole = TMM_FRAME_FIRST +
		       prandom_u32_state(&rnd) % FA_LARGE_FRAMES;
		KUNIT_ASSERT_EQ(test, tmm_frame_free(torus, hole), 0);
		tmm_torus_get_stats(torus, &before);
		KUNIT_ASSERT_EQ(test,
				tmm_frame_alloc(torus, TMM_FRAME_DATA, &frame),
				0);
		tmm_torus_get_stats(torus, &after);
		KUNIT_EXPECT_EQ(test, frame, hole);
		cost = after.words_scanned - before.words_scanned;
		scanned += cost;
		worst = max(worst, cost);
	}
	kunit_info(test, "%u refills read %llu words (worst %llu), bound %llu each",
		   rounds, scanned, worst, bound);
	KUNIT_EXPECT_LE(test, scanned, bound * rounds);
	KUNIT_EXPECT_LE(test, worst, bound);
}

/*
 * Random allocations and frees checked against a bitmap of the frames the
 * test holds: every frame handed out was free, -ENOMEM comes exactly when
 * the torus is full, and the counters follow.
 */
static void frame_alloc_random_ops_match_reference(struct kunit *test)
{
	const u32 nr_frames = 1024, nr_ops = 20000;
	struct tmm_torus *torus = tmm_test_torus_create(test, nr_frames);
	unsigned long *held = fa_bitmap(test, nr_frames);
	u32 *list, nr_held = 0, high_water = 0, i, pick, frame;
	struct tmm_torus_stats stats;
	struct rnd_state rnd;
	int ret;

	list = kunit_kcalloc(test, nr_frames, sizeof(*list), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, list);
	prandom_seed_state(&rnd, 0x746f7275);

	for (i = 0; i < nr_ops; i++) {
		/* Drift between empty and full: alloc more in the first half. */
		bool alloc = prandom_u32_state(&rnd) % 100 <
			     ((i / 4000) % 2 ? 35 : 65);

		if (alloc || !nr_held) {
			ret = tmm_frame_alloc(torus, TMM_FRAME_DATA, &frame);
			if (nr_held == nr_frames) {
				KUNIT_ASSERT_EQ(test, ret, -ENOMEM);
				continue;
			}
			KUNIT_ASSERT_EQ_MSG(test, ret, 0, "op %u", i);
			KUNIT_ASSERT_TRUE(test, fa_in_range(frame, nr_frames));
			KUNIT_ASSERT_FALSE_MSG(test,
					       test_bit(frame - TMM_FRAME_FIRST,
							held),
					       "op %u: frame %#x is held", i,
					       frame);
			__set_bit(frame - TMM_FRAME_FIRST, held);
			list[nr_held++] = frame;
			high_water = max(high_water, nr_held);
		} else {
			pick = prandom_u32_state(&rnd) % nr_held;
			frame = list[pick];
			list[pick] = list[--nr_held];
			KUNIT_ASSERT_EQ_MSG(test, tmm_frame_free(torus, frame),
					    0, "op %u", i);
			__clear_bit(frame - TMM_FRAME_FIRST, held);
		}
		tmm_torus_get_stats(torus, &stats);
		KUNIT_ASSERT_EQ_MSG(test, stats.nr_used, nr_held, "op %u", i);
		KUNIT_ASSERT_EQ(test, stats.nr_free, nr_frames - nr_held);
		KUNIT_ASSERT_EQ(test, stats.high_water, high_water);
		if (!(i % 1024))
			cond_resched();
	}
}

/* Disarms every fault point, so no test inherits one armed by another. */
static int fa_test_init(struct kunit *test)
{
	enum tmm_fault_site site;

	for (site = 0; site < TMM_FAULT_NR; site++)
		tmm_fault_disarm(site);
	return 0;
}

static void fa_test_exit(struct kunit *test)
{
	fa_test_init(test);
}

static struct kunit_case frame_alloc_test_cases[] = {
	KUNIT_CASE_PARAM(torus_create_rejects_bad_size, fa_bad_size_gen_params),
	KUNIT_CASE(torus_create_starts_all_free),
	KUNIT_CASE(frame_alloc_hands_out_each_frame_once),
	KUNIT_CASE(frame_alloc_full_torus_returns_enomem),
	KUNIT_CASE_PARAM(frame_free_bad_frame_returns_einval,
			 fa_bad_free_gen_params),
	KUNIT_CASE(frame_free_returns_frame_to_torus),
	KUNIT_CASE(frame_counters_track_free_used_high_water),
	KUNIT_CASE(frame_alloc_counts_table_frames),
	KUNIT_CASE(frame_alloc_zeroes_reused_frames),
	KUNIT_CASE(frame_page_names_each_frame),
	KUNIT_CASE(frame_returns_to_torus_with_its_last_reference),
	KUNIT_CASE(frame_get_of_a_free_frame_fails),
	KUNIT_CASE(zero_frame_is_shared_and_never_freed),
	KUNIT_CASE_PARAM(frame_alloc_fault_point_fails_nth_allocation,
			 fa_fault_gen_params),
	KUNIT_CASE(frame_alloc_scan_stays_flat_while_filling),
	KUNIT_CASE(frame_alloc_scan_stays_flat_when_nearly_full),
	KUNIT_CASE(frame_alloc_random_ops_match_reference),
	{}
};

static struct kunit_suite frame_alloc_test_suite = {
	.name = "torusmm_frame_alloc",
	.init = fa_test_init,
	.exit = fa_test_exit,
	.test_cases = frame_alloc_test_cases,
};

kunit_test_suite(frame_alloc_test_suite);

