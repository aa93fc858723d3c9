// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm: tori of frames and their bitmap allocator.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * DOC: Tori and frames
 *
 * A torus is a pool of pages reserved from the host's page allocator when the
 * torus is created, largest blocks first, each block split into independent
 * order-0 pages with a reference count of their own (so that frames can later
 * be mapped into a process with vm_insert_page() and shared copy-on-write).
 * Frames are named by torus physical addresses: TORUSMM_TORUS_BASE plus the
 * frame's index times 4 KiB.  The host's physical addresses never leave this
 * file.
 *
 * The allocator is a bitmap with two summary levels.  @used has a bit per
 * frame; @full has a bit per word of @used, set while that word has no free
 * frame; @full_top has a bit per word of @full, set while all of it is set.
 * An allocation searches @full_top from the word of the last allocation
 * (next fit), then takes the first free word below it and the first free
 * frame in that word.  A 4 GiB torus has 16384 words of @used, 256 of @full
 * and 4 of @full_top, so an allocation reads at most 6 words at any size
 * and any fill, where a flat bitmap reads up to nr_frames / BITS_PER_LONG.
 * The original design called its flat scan "O(1)"; @words_scanned counts
 * the words each allocation reads so that the claim is measured.
 *
 * A frame has a reference count beside its bit: one per page-table entry
 * that maps it, so that clones share frames copy-on-write and a frame
 * returns to the torus with its last entry.  Each torus also has a shared
 * zero frame, TMM_ZERO_FRAME, outside the bitmap and the counts: reads of
 * never-written memory map it, so they cost no frame.
 *
 * Each torus has its own spinlock; nothing on the allocation path takes a
 * global lock.  Frames are zeroed after they leave the lock and before they
 * are handed out, so no data passes from one address space to another.
 */

#include <linux/bitmap.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "fault_inject.h"
#include "frame_alloc.h"

/* Pages come from the direct map; give up early instead of invoking OOM. */
#define TMM_TORUS_GFP	(GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY)

/* Reserve @torus->nr_frames pages, largest blocks first. */
static int tmm_torus_reserve(struct tmm_torus *torus)
{
	unsigned int order = MAX_ORDER - 1;
	u32 filled = 0;

	while (filled < torus->nr_frames) {
		struct page *page;
		u32 i;

		while ((1u << order) > torus->nr_frames - filled)
			order--;
		page = alloc_pages(TMM_TORUS_GFP, order);
		if (!page) {
			if (!order)
				return -ENOMEM;
			order--;
			continue;
		}
		split_page(page, order);
		for (i = 0; i < (1u << order); i++)
			torus->pages[filled++] = page + i;
		cond_resched();
	}
	return 0;
}

/* Give every reserved page back to the host. */
static void tmm_torus_release(struct tmm_torus *torus)
{
	u32 i;

	for (i = 0; i < torus->nr_frames && torus->pages[i]; i++) {
		__free_page(torus->pages[i]);
		if (!(i % 4096))
			cond_resched();
	}
}

/**
 * tmm_torus_create() - reserve a torus of frames from the host
 * @id: the torus's index, for messages and statistics
 * @nr_frames: how many 4 KiB frames, 1 to TMM_TORUS_MAX_FRAMES
 *
 * Context: process context; sleeps.
 * Return: the torus, ERR_PTR(-EINVAL) for a bad size, or ERR_PTR(-ENOMEM)
 * when the host cannot spare the pages.
 */
struct tmm_torus *tmm_torus_create(unsigned int id, u32 nr_frames)
{
	struct tmm_torus *torus;
	u32 tail;
	int err;

	if (!nr_frames || nr_frames > TMM_TORUS_MAX_FRAMES)
		return ERR_PTR(-EINVAL);

	torus = kzalloc(sizeof(*torus), GFP_KERNEL);
	if (!torus)
		return ERR_PTR(-ENOMEM);

	spin_lock_init(&torus->lock);
	torus->id = id;
	torus->nr_frames = nr_frames;
	torus->nr_free = nr_frames;
	torus->nr_words = BITS_TO_LONGS(nr_frames);
	atomic_set(&torus->nr_spaces, 0);

	err = -ENOMEM;
	torus->used = kvcalloc(torus->nr_words, sizeof(long), GFP_KERNEL);
	if (!torus->used)
		goto free_torus;
	torus->table = kvcalloc(torus->nr_words, sizeof(long), GFP_KERNEL);
	if (!torus->table)
		goto free_used;
	torus->nr_full_words = BITS_TO_LONGS(torus->nr_words);
	torus->full = kvcalloc(torus->nr_full_words, sizeof(long), GFP_KERNEL);
	if (!torus->full)
		goto free_table;
	torus->full_top = kvcalloc(BITS_TO_LONGS(torus->nr_full_words),
				   sizeof(long), GFP_KERNEL);
	if (!torus->full_top)
		goto free_full;
	torus->pages = kvcalloc(nr_frames, sizeof(*torus->pages), GFP_KERNEL);
	if (!torus->pages)
		goto free_full_top;
	torus->refs = kvcalloc(nr_frames, sizeof(*torus->refs), GFP_KERNEL);
	if (!torus->refs)
		goto free_pages_array;
	torus->zero_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!torus->zero_page)
		goto free_refs;

	/* Bits past the last frame or word read as full and are never used. */
	tail = nr_frames % BITS_PER_LONG;
	if (tail)
		torus->used[torus->nr_words - 1] = ~0UL << tail;
	tail = torus->nr_words % BITS_PER_LONG;
	if (tail)
		torus->full[torus->nr_full_words - 1] = ~0UL << tail;

	err = tmm_torus_reserve(torus);
	if (err)
		goto release_pages;
	return torus;

release_pages:
	tmm_torus_release(torus);
	__free_page(torus->zero_page);
free_refs:
	kvfree(torus->refs);
free_pages_array:
	kvfree(torus->pages);
free_full_top:
	kvfree(torus->full_top);
free_full:
	kvfree(torus->full);
free_table:
	kvfree(torus->table);
free_used:
	kvfree(torus->used);
free_torus:
	kfree(torus);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_NS_GPL(tmm_torus_create, TORUSMM);

/**
 * tmm_torus_destroy() - give a torus's pages back to the host
 * @torus: the torus, or NULL
 *
 * Context: process context; sleeps.  No address space may use @torus any
 * more; frames still allocated are reported and freed all the same.
 */
void tmm_torus_destroy(struct tmm_torus *torus)
{
	if (!torus)
		return;
	if (torus->nr_free != torus->nr_frames)
		pr_err("torusmm: torus %u destroyed with %u frames in use\n",
		       torus->id, torus->nr_frames - torus->nr_free);
	tmm_torus_release(torus);
	__free_page(torus->zero_page);
	kvfree(torus->refs);
	kvfree(torus->pages);
	kvfree(torus->full_top);
	kvfree(torus->full);
	kvfree(torus->table);
	kvfree(torus->used);
	kfree(torus);
}
EXPORT_SYMBOL_NS_GPL(tmm_torus_destroy, TORUSMM);

/*
 * Find and claim a free frame: a word of @full_top with a zero bit, from the
 * one the last allocation used, then the first free word of @used below it,
 * then the first free frame in that word.
 * Return: the frame's index in the torus, or -ENOMEM when none is free.
 */
static long tmm_torus_claim(struct tmm_torus *torus)
{
	unsigned long fw, word, start = torus->next_full_word;
	unsigned long nr_top = BITS_TO_LONGS(torus->nr_full_words);
	unsigned long top_words;
	unsigned int bit;

	lockdep_assert_held(&torus->lock);

	if (!torus->nr_free)
		return -ENOMEM;

	fw = find_next_zero_bit(torus->full_top, torus->nr_full_words, start);
	if (fw < torus->nr_full_words) {
		top_words = fw / BITS_PER_LONG - start / BITS_PER_LONG + 1;
	} else {
		/* Wrap around: a miss returns @start itself. */
		fw = find_first_zero_bit(torus->full_top, start);
		if (WARN_ON_ONCE(fw >= start))
			return -ENOMEM;	/* nr_free > 0, yet every word is full */
		top_words = nr_top - start / BITS_PER_LONG +
			    fw / BITS_PER_LONG + 1;
	}
	/* The summaries promise a zero bit at each level below; check it. */
	if (WARN_ON_ONCE(torus->full[fw] == ~0UL))
		return -ENOMEM;
	word = fw * BITS_PER_LONG + ffz(torus->full[fw]);
	if (WARN_ON_ONCE(word >= torus->nr_words || torus->used[word] == ~0UL))
		return -ENOMEM;
	bit = ffz(torus->used[word]);
	torus->used[word] |= 1UL << bit;
	if (torus->used[word] == ~0UL) {
		__set_bit(word, torus->full);
		if (torus->full[fw] == ~0UL)
			__set_bit(fw, torus->full_top);
	}

	torus->next_full_word = fw;
	torus->words_scanned += top_words + 2;
	torus->allocs++;
	torus->nr_free--;
	torus->high_water = max(torus->high_water,
				torus->nr_frames - torus->nr_free);
	return word * BITS_PER_LONG + bit;
}

/**
 * tmm_frame_alloc() - allocate one zeroed frame from a torus
 * @torus: the torus
 * @use: what the frame will hold; selects the fault point and the counter
 * @frame: out: the frame number (torus physical address >> PAGE_SHIFT)
 *
 * Context: process context; takes @torus->lock, may sleep before and after.
 * Return: 0, or -ENOMEM when the torus is full or the fault point fires.
 */
int tmm_frame_alloc(struct tmm_torus *torus, enum tmm_frame_use use, u32 *frame)
{
	long index;

	might_sleep();
	if (tmm_should_fail(use == TMM_FRAME_TABLE ? TMM_FAULT_TABLE :
						     TMM_FAULT_FRAME))
		return -ENOMEM;

	spin_lock(&torus->lock);
	index = tmm_torus_claim(torus);
	if (index >= 0 && use == TMM_FRAME_TABLE) {
		__set_bit(index, torus->table);
		torus->nr_table_frames++;
	}
	if (index >= 0)
		atomic_set(&torus->refs[index], 1);
	spin_unlock(&torus->lock);
	if (index < 0)
		return index;

	clear_highpage(torus->pages[index]);
	*frame = TMM_FRAME_FIRST + index;
	return 0;
}

/* The index of @frame in @torus, or -EINVAL (with a ratelimited warning). */
static long tmm_frame_index(struct tmm_torus *torus, u32 frame)
{
	u32 index = frame - TMM_FRAME_FIRST;

	if (frame < TMM_FRAME_FIRST || index >= torus->nr_frames) {
		pr_warn_ratelimited("torusmm: torus %u: frame %#x is outside the torus\n",
				    torus->id, frame);
		return -EINVAL;
	}
	return index;
}

/**
 * tmm_frame_free() - drop a reference to a frame; the last frees it
 * @torus: the torus the frame came from
 * @frame: the frame number
 *
 * A frame outside the torus, or one that is not allocated (a double free),
 * is refused with a ratelimited warning; the bitmap is left as it was.
 * The zero frame is never freed and takes no reference.
 *
 * Context: any context that may take a spinlock; takes @torus->lock for the
 * last reference.
 * Return: 0, or -EINVAL for a frame that is out of range or not allocated.
 */
int tmm_frame_free(struct tmm_torus *torus, u32 frame)
{
	long index;
	int refs;

	if (frame == TMM_ZERO_FRAME)
		return 0;
	index = tmm_frame_index(torus, frame);
	if (index < 0)
		return index;

	/*
	 * Dropping a reference that is not the last needs no lock: the frame
	 * stays allocated.  The last one, and a count already at zero (a double
	 * free), go under the lock.
	 */
	refs = atomic_read(&torus->refs[index]);
	while (refs > 1) {
		if (atomic_try_cmpxchg(&torus->refs[index], &refs, refs - 1))
			return 0;
	}

	spin_lock(&torus->lock);
	if (!test_bit(index, torus->used) ||
	    WARN_ON_ONCE(atomic_read(&torus->refs[index]) < 1)) {
		spin_unlock(&torus->lock);
		pr_warn_ratelimited("torusmm: torus %u: double free of frame %#x\n",
				    torus->id, frame);
		return -EINVAL;
	}
	if (!atomic_dec_and_test(&torus->refs[index])) {
		spin_unlock(&torus->lock);
		return 0;
	}
	__clear_bit(index, torus->used);
	__clear_bit(index / BITS_PER_LONG, torus->full);
	__clear_bit(index / BITS_PER_LONG / BITS_PER_LONG, torus->full_top);
	if (__test_and_clear_bit(index, torus->table))
		torus->nr_table_frames--;
	torus->nr_free++;
	spin_unlock(&torus->lock);
	return 0;
}

/**
 * tmm_frame_get() - take one more reference to an allocated frame
 * @torus: the torus the frame came from
 * @frame: the frame number; the zero frame takes no reference
 *
 * The caller must hold a reference already (it maps the frame).
 *
 * Context: any context.
 * Return: 0, or -EINVAL for a frame that is out of range or not allocated.
 */
int tmm_frame_get(struct tmm_torus *torus, u32 frame)
{
	long index;

	if (frame == TMM_ZERO_FRAME)
		return 0;
	index = tmm_frame_index(torus, frame);
	if (index < 0)
		return index;
	/*
	 * The caller maps the frame, so its count cannot drop to zero under
	 * us, and adding one needs no lock.  A count of zero is a frame that is
	 * free (or being freed): a reference to it is a bug of the caller.
	 */
	if (unlikely(!atomic_inc_not_zero(&torus->refs[index]))) {
		pr_warn_ratelimited("torusmm: torus %u: reference to free frame %#x\n",
				    torus->id, frame);
		return -EINVAL;
	}
	return 0;
}

/**
 * tmm_frame_refs() - how many page-table entries map a frame
 * @torus: the torus
 * @frame: the frame number
 *
 * Context: any context.  The count may change unless every sharer's lock
 * is held; 1 means only the caller's entry maps it.
 * Return: the count; 0 for a free frame, the zero frame or a bad number.
 */
u32 tmm_frame_refs(struct tmm_torus *torus, u32 frame)
{
	u32 index = frame - TMM_FRAME_FIRST;

	if (frame < TMM_FRAME_FIRST || index >= torus->nr_frames)
		return 0;
	return atomic_read(&torus->refs[index]);
}

/**
 * tmm_frame_page() - the page behind a frame number
 * @torus: the torus
 * @frame: the frame number
 *
 * Context: any context.
 * Return: the page (the zero frame's for TMM_ZERO_FRAME), or NULL when
 * @frame is outside @torus.
 */
struct page *tmm_frame_page(struct tmm_torus *torus, u32 frame)
{
	u32 index = frame - TMM_FRAME_FIRST;

	if (frame == TMM_ZERO_FRAME)
		return torus->zero_page;
	if (frame < TMM_FRAME_FIRST || index >= torus->nr_frames)
		return NULL;
	return torus->pages[index];
}

/**
 * tmm_torus_get_stats() - a consistent snapshot of a torus's counters
 * @torus: the torus
 * @stats: out: the counters
 *
 * Context: any context that may take a spinlock; takes @torus->lock.
 */
void tmm_torus_get_stats(struct tmm_torus *torus, struct tmm_torus_stats *stats)
{
	spin_lock(&torus->lock);
	stats->nr_frames = torus->nr_frames;
	stats->nr_free = torus->nr_free;
	stats->nr_used = torus->nr_frames - torus->nr_free;
	stats->high_water = torus->high_water;
	stats->nr_table_frames = torus->nr_table_frames;
	stats->allocs = torus->allocs;
	stats->words_scanned = torus->words_scanned;
	spin_unlock(&torus->lock);
	stats->nr_spaces = atomic_read(&torus->nr_spaces);
}
EXPORT_SYMBOL_NS_GPL(tmm_torus_get_stats, TORUSMM);
