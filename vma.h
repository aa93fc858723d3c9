/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm: address spaces and their regions, with Linux semantics.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_VMA_H
#define _TORUSMM_VMA_H

#include <linux/maple_tree.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <uapi/linux/torusmm.h>

#include "pagetable.h"

struct tmm_torus;

/* Highest address (exclusive) a request may map: the stack guard page. */
#define TMM_USER_END		TORUSMM_STACK_TOP
/* mmap without MAP_FIXED places top-down below the stack's reach. */
#define TMM_MMAP_BASE		(TORUSMM_STACK_TOP - TORUSMM_STACK_LIMIT)

/**
 * struct tmm_space - an address space
 * @lock: guards @regions, @pt and the fields below; rwsem, see vma.c
 * @regions: maple tree from page ranges to protections (value entries)
 * @pt: the page table
 * @torus: where every frame of this space comes from
 * @brk: the current break (not page aligned, as in Linux)
 * @stack_start: lowest address of the stack region
 * @nr_faults: demand-zero faults taken
 * @nr_fault_errors: translations and accesses that ended in a fault
 * @nr_translations: successful translations
 */
struct tmm_space {
	struct rw_semaphore lock;
	struct maple_tree regions;
	struct tmm_pagetable pt;
	struct tmm_torus *torus;
	u32 brk;
	u32 stack_start;
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

struct tmm_space *tmm_space_create(struct tmm_torus *torus, u32 max_frames);
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

int tmm_space_translate(struct tmm_space *space, u32 va, u32 access,
			u64 *tpa, u32 *fault);
int tmm_space_read(struct tmm_space *space, u32 va, void *buf, u32 len,
		   u32 access, struct tmm_access *result);
int tmm_space_write(struct tmm_space *space, u32 va, const void *buf,
		    u32 len, u32 access, struct tmm_access *result);

u32 tmm_space_lookup(struct tmm_space *space, u32 va);
void tmm_space_get_stats(struct tmm_space *space,
			 struct torusmm_space_stats *stats);
int tmm_space_dump_regions(struct tmm_space *space, struct torusmm_region *buf,
			   u32 capacity, u32 *count);
int tmm_space_dump_ptes(struct tmm_space *space, u32 start, u64 end,
			struct torusmm_pte *buf, u32 capacity, u32 *count);

#endif /* _TORUSMM_VMA_H */
