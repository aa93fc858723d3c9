/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm: tori of frames and their bitmap allocator.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_FRAME_ALLOC_H
#define _TORUSMM_FRAME_ALLOC_H

#include <linux/spinlock.h>
#include <linux/types.h>
#include <uapi/linux/torusmm.h>

struct dentry;
struct page;

/*
 * A 32-bit PTE holds a 20-bit frame number and frame numbers start at
 * TORUSMM_TORUS_BASE >> PAGE_SHIFT, so one torus holds at most this many.
 */
#define TMM_TORUS_MAX_FRAMES	((u32)((1ull << 32) - TORUSMM_TORUS_BASE) >> PAGE_SHIFT)
#define TMM_FRAME_FIRST		(TORUSMM_TORUS_BASE >> PAGE_SHIFT)
/* The shared zero frame of every torus: just below its first frame. */
#define TMM_ZERO_FRAME		(TORUSMM_ZERO_FRAME_TPA >> PAGE_SHIFT)

/* What a frame is allocated for; each has its own fault point and counter. */
enum tmm_frame_use {
	TMM_FRAME_DATA,
	TMM_FRAME_TABLE,
};

/* What a frame is now, as tmm_torus_frame_states() reports it. */
enum tmm_frame_state {
	TMM_FRAME_FREE,
	TMM_FRAME_OWNED,	/* data, mapped by one entry */
	TMM_FRAME_SHARED,	/* data, mapped by several (copy-on-write) */
	TMM_FRAME_PAGE_TABLE,	/* a page directory or table */
};

/**
 * struct tmm_torus - a pool of frames reserved from the host kernel
 * @lock: guards every field below it
 * @used: bit per frame, set while the frame is allocated
 * @full: bit per word of @used, set while that word has no zero bit
 * @full_top: bit per word of @full, set while that word has no zero bit
 * @table: bit per frame, set while the frame holds a page table
 * @nr_free: frames not allocated
 * @high_water: most frames ever allocated at once
 * @nr_table_frames: frames allocated as TMM_FRAME_TABLE now
 * @next_full_word: word of @full where the next search starts (next fit)
 * @allocs: successful allocations
 * @words_scanned: words of @full and @used read by those allocations
 * @refs: per frame, the page-table entries that map it (1 once allocated)
 * @zero_page: the shared zero frame, TMM_ZERO_FRAME, outside the bitmap
 * @pages: the frames, as independent order-0 pages
 * @nr_frames: frames in the torus
 * @nr_words: words in @used
 * @nr_full_words: words in @full
 * @id: index, for messages and statistics
 * @nr_spaces: address spaces on this torus (maintained by vma.c)
 * @debugfs: the torus's debugfs directory, torus<@id>, or NULL
 */
struct tmm_torus {
	spinlock_t lock;	/* guards the bitmaps and counters below */
	unsigned long *used;
	unsigned long *full;
	unsigned long *full_top;
	unsigned long *table;
	u32 nr_free;
	u32 high_water;
	u32 nr_table_frames;
	u32 next_full_word;
	u64 allocs;
	u64 words_scanned;

	atomic_t *refs;
	struct page *zero_page;
	struct page **pages;
	u32 nr_frames;
	u32 nr_words;
	u32 nr_full_words;
	unsigned int id;
	atomic_t nr_spaces;
	struct dentry *debugfs;
};

/**
 * struct tmm_torus_stats - a consistent snapshot of a torus's counters
 * @nr_frames: frames in the torus
 * @nr_free: frames not allocated
 * @nr_used: frames allocated
 * @high_water: most frames ever allocated at once
 * @nr_table_frames: frames holding page tables
 * @nr_spaces: address spaces on the torus
 * @allocs: successful allocations
 * @words_scanned: bitmap words read by those allocations
 */
struct tmm_torus_stats {
	u32 nr_frames;
	u32 nr_free;
	u32 nr_used;
	u32 high_water;
	u32 nr_table_frames;
	u32 nr_spaces;
	u64 allocs;
	u64 words_scanned;
};

struct tmm_torus *tmm_torus_create(unsigned int id, u32 nr_frames);
void tmm_torus_destroy(struct tmm_torus *torus);
int tmm_frame_alloc(struct tmm_torus *torus, enum tmm_frame_use use, u32 *frame);
int tmm_frame_free(struct tmm_torus *torus, u32 frame);
int tmm_frame_get(struct tmm_torus *torus, u32 frame);
u32 tmm_frame_refs(struct tmm_torus *torus, u32 frame);
void tmm_torus_get_stats(struct tmm_torus *torus, struct tmm_torus_stats *stats);
void tmm_torus_frame_states(struct tmm_torus *torus, u32 first, u32 nr,
			    u8 *states);

/**
 * tmm_frame_page() - the page behind a frame number
 * @torus: the torus
 * @frame: the frame number
 *
 * Inline: every walk of a page table calls it for each level.
 *
 * Context: any context.
 * Return: the page (the zero frame's for TMM_ZERO_FRAME), or NULL when
 * @frame is outside @torus.
 */
static inline struct page *tmm_frame_page(struct tmm_torus *torus, u32 frame)
{
	u32 index = frame - TMM_FRAME_FIRST;

	if (frame == TMM_ZERO_FRAME)
		return torus->zero_page;
	if (frame < TMM_FRAME_FIRST || index >= torus->nr_frames)
		return NULL;
	return torus->pages[index];
}

/* Torus physical address of a frame number, and back. */
static inline u64 tmm_frame_to_tpa(u32 frame)
{
	return (u64)frame << PAGE_SHIFT;
}

#endif /* _TORUSMM_FRAME_ALLOC_H */
