/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm: address spaces, their regions with Linux semantics, and the
 * software MMU that walks them.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_SPACE_H
#define _TORUSMM_SPACE_H

#include <linux/list.h>
#include <linux/maple_tree.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <uapi/linux/torusmm.h>

#include "pagetable.h"

struct iov_iter;
struct page;
struct tmm_limits;
struct tmm_torus;
struct tmm_user;

/* Highest address (exclusive) a request may map: the stack guard page. */
#define TMM_USER_END		TORUSMM_STACK_TOP
/* mmap without MAP_FIXED places top-down below the stack's reach. */
#define TMM_MMAP_BASE		(TORUSMM_STACK_TOP - TORUSMM_STACK_LIMIT)
/* Lowest address the stack may grow to. */
#define TMM_STACK_FLOOR		TMM_MMAP_BASE
/* The stack never grows within this of a region below it (stack_guard_gap). */
#define TMM_STACK_GUARD_GAP	(256u << PAGE_SHIFT)
/* Default cap on regions per space, as vm.max_map_count. */
#define TMM_DEFAULT_MAX_REGIONS	65530u

struct tmm_space_observer;

/**
 * struct tmm_space_observer_ops - what an observer of a space is told
 * @invalidate: the translations of [@start, @end) changed: entries went,
 *	lost permissions or had accessed or dirty cleared.  Called with the
 *	space's lock held for write, before any frame of the range returns
 *	to the torus; the observer must drop whatever it derived from them
 *	(hardware entries, cached translations) before it returns.  It may
 *	sleep; it must not take the space's lock.
 */
struct tmm_space_observer_ops {
	void (*invalidate)(struct tmm_space_observer *observer, u32 start,
			   u64 end);
};

/**
 * struct tmm_space_observer - something derived from a space's tables
 * @ops: its callbacks
 * @node: in the space's list of observers, under the space's lock
 *
 * Like an mmu_notifier: the shadow registers one so that the hardware page
 * tables it builds never outlive the software entries they mirror.
 */
struct tmm_space_observer {
	const struct tmm_space_observer_ops *ops;
	struct list_head node;
};

/**
 * struct tmm_space - an address space
 * @lock: guards @regions, @pt, @observers and the fields below; see space.c
 * @regions: maple tree from page ranges to protections (value entries), with
 *	permanent reserved entries below TORUSMM_USER_MIN and from TMM_USER_END
 * @pt: the page table
 * @torus: where every frame of this space comes from
 * @user: whom the space and its frames are charged to
 * @limits: the ceilings that applied when the space was created, read live
 * @observers: struct tmm_space_observer list, told of every invalidation
 * @brk: the current break (not page aligned, as in Linux)
 * @stack_start: lowest address of the stack region
 * @stack_grows: false once the stack's lowest page was unmapped or replaced
 * @nr_regions: regions now, reserved entries not counted
 * @nr_faults: demand-zero faults taken
 * @nr_fault_errors: translations and accesses that ended in a fault
 * @nr_translations: successful translations
 */
struct tmm_space {
	struct rw_semaphore lock;
	struct maple_tree regions;
	struct tmm_pagetable pt;
	struct tmm_torus *torus;
	struct tmm_user *user;
	const struct tmm_limits *limits;
	struct list_head observers;
	u32 brk;
	u32 stack_start;
	bool stack_grows;
	u32 nr_regions;
	atomic64_t nr_faults;
	atomic64_t nr_fault_errors;
	atomic64_t nr_translations;
};

/**
 * struct tmm_access - result of tmm_space_read() and tmm_space_write()
 * @done: bytes copied
 * @fault: zero when all were copied, else the fault code
 * @fault_addr: the faulting virtual address when @fault is non-zero
 */
struct tmm_access {
	u32 done;
	u32 fault;
	u32 fault_addr;
};

/**
 * struct tmm_translation - the outcome of one access through the MMU
 * @tpa: the torus physical address, on success
 * @fault: the x86 fault code, on -EFAULT
 * @pte: the leaf entry the walk that decided saw (0 when there is none)
 */
struct tmm_translation {
	u64 tpa;
	u32 fault;
	u32 pte;
};

/**
 * struct tmm_xlat - one translation of tmm_space_translate_many()
 * @va: in: virtual address
 * @access: in: as tmm_space_access()
 * @err: out: what tmm_space_access() would return
 * @tr: out: as tmm_space_access()
 */
struct tmm_xlat {
	u32 va;
	u32 access;
	int err;
	struct tmm_translation tr;
};

/*
 * Called by tmm_space_access() with the space's lock still held, for the
 * frame an access translated to.  Return: 0 or a negative errno, passed on.
 */
typedef int (*tmm_space_access_fn)(struct page *page,
				   const struct tmm_translation *tr,
				   void *data);

/* space.c: spaces and regions */
struct tmm_space *tmm_space_create(struct tmm_torus *torus,
				   const struct tmm_limits *limits,
				   u32 max_frames);
void tmm_space_destroy(struct tmm_space *space);
struct tmm_space *tmm_space_clone(struct tmm_space *src);

u32 tmm_space_brk(struct tmm_space *space, u32 addr);
int tmm_space_mmap(struct tmm_space *space, u32 *addr, u64 length, u32 prot,
		   u32 flags);
int tmm_space_munmap(struct tmm_space *space, u32 addr, u64 length);
int tmm_space_mprotect(struct tmm_space *space, u32 addr, u64 length,
		       u32 prot);
int tmm_space_allocate(struct tmm_space *space, u64 size, u32 *addr);
int tmm_space_free(struct tmm_space *space, u32 addr, u64 size);

u32 tmm_space_get_dirty_log(struct tmm_space *space, u32 start, u64 end,
			    unsigned long *bitmap, bool clear);
u32 tmm_space_clear_dirty_log(struct tmm_space *space, u32 start, u64 end,
			      const unsigned long *bitmap);
u32 tmm_space_get_access_log(struct tmm_space *space, u32 start, u64 end,
			     unsigned long *bitmap);

void tmm_space_observe(struct tmm_space *space,
		       struct tmm_space_observer *observer);
void tmm_space_unobserve(struct tmm_space *space,
			 struct tmm_space_observer *observer);

u32 tmm_space_lookup(struct tmm_space *space, u32 va);
void tmm_space_get_stats(struct tmm_space *space,
			 struct torusmm_space_stats *stats);
int tmm_space_dump_regions(struct tmm_space *space, struct torusmm_region *buf,
			   u32 capacity, u32 *count);
int tmm_space_dump_ptes(struct tmm_space *space, u32 start, u64 end,
			struct torusmm_pte *buf, u32 capacity, u32 *count);

/* space.c, for mmu.c: what a fault may do at an address */
int tmm_space_fault_prot(struct tmm_space *space, u32 page, u32 *prot,
			 bool *grow);
int tmm_space_grow_stack(struct tmm_space *space, u32 page, u32 prot);
void tmm_space_changed(struct tmm_space *space, u32 start, u64 end);
u32 tmm_prot_to_pte(u32 prot);
bool tmm_prot_allows(u32 prot, u32 access);

/* mmu.c: the software MMU */
int tmm_space_access(struct tmm_space *space, u32 va, u32 access,
		     struct tmm_translation *tr, tmm_space_access_fn fn,
		     void *data);
int tmm_space_translate(struct tmm_space *space, u32 va, u32 access,
			u64 *tpa, u32 *fault);
unsigned int tmm_space_translate_many(struct tmm_space *space,
				      struct tmm_xlat *v, unsigned int n,
				      bool stop);
int tmm_space_read_iter(struct tmm_space *space, u32 va, struct iov_iter *to,
			u32 access, struct tmm_access *result);
int tmm_space_write_iter(struct tmm_space *space, u32 va,
			 struct iov_iter *from, u32 access,
			 struct tmm_access *result);
int tmm_space_read(struct tmm_space *space, u32 va, void *buf, u32 len,
		   u32 access, struct tmm_access *result);
int tmm_space_write(struct tmm_space *space, u32 va, const void *buf,
		    u32 len, u32 access, struct tmm_access *result);

#endif /* _TORUSMM_SPACE_H */
