/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm: two-level page tables kept in torus frames.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_PAGETABLE_H
#define _TORUSMM_PAGETABLE_H

#include <linux/bits.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <uapi/linux/torusmm.h>

struct tmm_limits;
struct tmm_torus;
struct tmm_user;

#define TMM_PT_ENTRIES		1024
#define TMM_PDX(va)		((u32)(va) >> 22)
#define TMM_PTX(va)		(((u32)(va) >> PAGE_SHIFT) & (TMM_PT_ENTRIES - 1))
#define TMM_PTE_FRAME(pte)	((u32)(pte) >> PAGE_SHIFT)

/* Bits a caller may pass to tmm_pt_map() and tmm_pt_protect(). */
#define TMM_PTE_PROT_MASK	(TORUSMM_PTE_PRESENT | TORUSMM_PTE_WRITABLE | \
				 TORUSMM_PTE_USER | TORUSMM_PTE_NX | \
				 TORUSMM_PTE_PROTNONE)
/* An entry that owns a frame: present, or PROT_NONE but populated. */
#define TMM_PTE_HOLDS_FRAME	(TORUSMM_PTE_PRESENT | TORUSMM_PTE_PROTNONE)

/* Flags of tmm_pt_map(). */
#define TMM_PT_REPLACE		BIT(0)

/* Access bits of tmm_pt_translate() beyond the TORUSMM_ACCESS_* ones. */
#define TMM_ACCESS_PEEK		BIT(31)

/**
 * struct tmm_pagetable - a two-level page table
 * @torus: where the directory, the tables and the mapped frames come from
 * @lock: the owner's lock; held for read to translate, for write to change
 * @dir: the directory (1024 entries), in frame @dir_frame
 * @dir_frame: frame number of the directory
 * @counts: per directory slot, how many entries of its table hold a frame
 * @nr_tables: frames used by the directory and the tables
 * @nr_pages: entries that hold a frame of their own or a shared one (not
 *	the zero frame, which entries map without holding it)
 * @max_frames: quota on @nr_tables + @nr_pages; 0 for none.  The table
 *	enforces it for the tables it adds (counting the page being mapped) and
 *	for tmm_pt_clone(); callers check it before allocating a data frame.
 * @user: whom every frame of the table is charged to, or NULL
 * @limits: where @user's ceiling is read, or NULL for none
 */
struct tmm_pagetable {
	struct tmm_torus *torus;
	struct rw_semaphore *lock;
	u32 *dir;
	u32 dir_frame;
	u16 *counts;
	u32 nr_tables;
	u32 nr_pages;
	u32 max_frames;
	struct tmm_user *user;
	const struct tmm_limits *limits;
};

/* Called for each entry that holds a frame; non-zero stops the walk. */
typedef int (*tmm_pt_walk_fn)(u32 va, u32 *ptep, void *data);

int tmm_pt_init(struct tmm_pagetable *pt, struct tmm_torus *torus,
		struct rw_semaphore *lock, u32 max_frames, struct tmm_user *user,
		const struct tmm_limits *limits);
void tmm_pt_destroy(struct tmm_pagetable *pt);
int tmm_pt_map(struct tmm_pagetable *pt, u32 va, u32 frame, u32 pte_flags,
	       unsigned int flags);
int tmm_pt_unmap(struct tmm_pagetable *pt, u32 va, u32 *frame);
void tmm_pt_unmap_range(struct tmm_pagetable *pt, u32 start, u64 end);
int tmm_pt_protect(struct tmm_pagetable *pt, u32 va, u32 pte_flags);
void tmm_pt_protect_range(struct tmm_pagetable *pt, u32 start, u64 end,
			  u32 pte_flags);
int tmm_pt_frame_alloc(struct tmm_pagetable *pt, u32 *frame);
bool tmm_pt_charge(struct tmm_pagetable *pt, u32 nr, u32 slack);
void tmm_pt_uncharge(struct tmm_pagetable *pt, u32 nr);
void tmm_pt_frame_free(struct tmm_pagetable *pt, u32 frame);
int tmm_pt_translate(struct tmm_pagetable *pt, u32 va, u32 access,
		     u64 *tpa, u32 *fault);
int tmm_pt_access(struct tmm_pagetable *pt, u32 va, u32 access, u64 *tpa,
		  u32 *fault, u32 *pte);
u32 tmm_pt_lookup(struct tmm_pagetable *pt, u32 va);
int tmm_pt_walk(struct tmm_pagetable *pt, u32 start, u64 end,
		tmm_pt_walk_fn fn, void *data);
u32 tmm_pt_tables_needed(struct tmm_pagetable *pt, u32 start, u64 end);
u32 tmm_pt_frames_in(struct tmm_pagetable *pt, u32 start, u64 end);
int tmm_pt_prealloc(struct tmm_pagetable *pt, u32 start, u64 end);
void tmm_pt_trim(struct tmm_pagetable *pt, u32 start, u64 end);
int tmm_pt_clone(struct tmm_pagetable *dst, struct tmm_pagetable *src);
int tmm_pt_unshare(struct tmm_pagetable *pt, u32 va, u32 pte_flags,
		   u32 *spare);
u32 tmm_pt_harvest(struct tmm_pagetable *pt, u32 start, u64 end, u32 bit,
		   unsigned long *bitmap, bool clear);
u32 tmm_pt_clear_bits(struct tmm_pagetable *pt, u32 start, u64 end, u32 bit,
		      const unsigned long *bitmap);

static inline u32 tmm_pt_frames_used(const struct tmm_pagetable *pt)
{
	return pt->nr_tables + pt->nr_pages;
}

#endif /* _TORUSMM_PAGETABLE_H */
