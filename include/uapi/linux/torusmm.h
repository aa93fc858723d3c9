/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * torusmm: software address spaces for shadow-paging experiments.
 *
 * /dev/torusmm hands out address spaces as file descriptors.  Each space has
 * a two-level page table (32-bit virtual addresses, 10/10/12 split) kept in
 * frames of a torus, a pool of pages the module reserved when it loaded.
 * Documentation/torusmm-api.rst documents every ioctl below.
 *
 * All structures use fixed-width fields only and have no implicit padding,
 * so 32-bit and 64-bit callers share one layout.  Every reserved field must
 * be zero and every flags field rejects unknown bits with EINVAL.
 */
#ifndef _UAPI_LINUX_TORUSMM_H
#define _UAPI_LINUX_TORUSMM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define TORUSMM_API_VERSION		1

/* Layout of an address space (addresses are 32-bit). */
#define TORUSMM_PAGE_SIZE		0x1000u
#define TORUSMM_USER_MIN		0x00001000u	/* page 0 is never mappable */
#define TORUSMM_HEAP_START		0x00400000u	/* brk starts here */
#define TORUSMM_STACK_TOP		0x7ffff000u	/* stack grows down from here */
#define TORUSMM_STACK_LIMIT		0x00800000u	/* 8 MiB, as RLIMIT_STACK */
#define TORUSMM_KERNEL_BASE		0x80000000u	/* never mappable by requests */

/* A torus physical address is TORUSMM_TORUS_BASE + frame index * 4 KiB. */
#define TORUSMM_TORUS_BASE		0x00100000u
/* Every torus's shared zero frame, read-only, outside its frames. */
#define TORUSMM_ZERO_FRAME_TPA		0x000ff000u

/*
 * Page-table entry format, shared by directory and table entries.  Bits 31..12
 * hold the frame number (torus physical address >> 12).  The hardware-defined
 * bits are placed as on x86; NX and PROTNONE live in bits x86 leaves to
 * software.  A PROTNONE entry holds a frame but is not present.
 */
#define TORUSMM_PTE_PRESENT		(1u << 0)
#define TORUSMM_PTE_WRITABLE		(1u << 1)
#define TORUSMM_PTE_USER		(1u << 2)
#define TORUSMM_PTE_ACCESSED		(1u << 5)
#define TORUSMM_PTE_DIRTY		(1u << 6)
#define TORUSMM_PTE_NX			(1u << 9)
#define TORUSMM_PTE_PROTNONE		(1u << 10)
#define TORUSMM_PTE_COW			(1u << 11)	/* shared: copy on write */
#define TORUSMM_PTE_FRAME_MASK		0xfffff000u

/* Memory protection, as PROT_* in <sys/mman.h>. */
#define TORUSMM_PROT_NONE		0x0u
#define TORUSMM_PROT_READ		0x1u
#define TORUSMM_PROT_WRITE		0x2u
#define TORUSMM_PROT_EXEC		0x4u

/* Flags of struct torusmm_mmap. */
#define TORUSMM_MAP_FIXED		(1u << 0)
#define TORUSMM_MAP_FIXED_NOREPLACE	(1u << 1)
#define TORUSMM_MAP_POPULATE		(1u << 2)

/*
 * Access types for TORUSMM_TRANSLATE, TORUSMM_READ and TORUSMM_WRITE, and the
 * fault codes they report.  Both use the bits of the x86 page-fault error
 * code, so a fault code is the access that faulted, plus
 * TORUSMM_FAULT_PROTECTION when the page was present.
 */
#define TORUSMM_ACCESS_READ		0x0u
#define TORUSMM_ACCESS_WRITE		(1u << 1)
#define TORUSMM_ACCESS_USER		(1u << 2)
#define TORUSMM_ACCESS_EXEC		(1u << 4)

#define TORUSMM_FAULT_PROTECTION	(1u << 0)
#define TORUSMM_FAULT_WRITE		(1u << 1)
#define TORUSMM_FAULT_USER		(1u << 2)
#define TORUSMM_FAULT_FETCH		(1u << 4)

/* Flags of struct torusmm_translate. */
#define TORUSMM_TRANSLATE_PEEK		(1u << 0)	/* no fault-in, no A/D */

/* Extensions for TORUSMM_CHECK_EXTENSION. */
#define TORUSMM_CAP_NR_TORI		1	/* returns the number of tori */
#define TORUSMM_CAP_MAP_POPULATE	2
#define TORUSMM_CAP_MAP_FIXED_NOREPLACE	3
#define TORUSMM_CAP_TRANSLATE_PEEK	4
#define TORUSMM_CAP_DUMP_MAX		5	/* returns TORUSMM_DUMP_MAX */
#define TORUSMM_CAP_SHADOW		6	/* mmap() of a space descriptor */
#define TORUSMM_CAP_COW_CLONE		7	/* CLONE shares frames, COW */
#define TORUSMM_CAP_ZERO_FRAME		8	/* reads map the zero frame */
#define TORUSMM_CAP_DIRTY_LOG		9	/* GET/CLEAR_DIRTY_LOG */
#define TORUSMM_CAP_ACCESS_LOG		10	/* GET_ACCESS_LOG */
#define TORUSMM_CAP_BATCH		11	/* returns TORUSMM_BATCH_MAX */
#define TORUSMM_CAP_SPACE_ID		12	/* GET_STATS reports @id */

/* Upper bound on the entries one dump ioctl returns. */
#define TORUSMM_DUMP_MAX		65536u

/* Upper bound on the length of one TORUSMM_READ or TORUSMM_WRITE. */
#define TORUSMM_RW_MAX			0x100000u

/* Any torus: the one with most free frames. */
#define TORUSMM_TORUS_ANY		0xffffffffu

/**
 * struct torusmm_torus_info - TORUSMM_GET_TORUS_INFO
 * @index: in: which torus (0 .. TORUSMM_CAP_NR_TORI - 1)
 * @nr_frames: out: frames in the torus
 * @nr_free: out: frames free now
 * @nr_used: out: frames in use now
 * @high_water: out: most frames ever in use at once
 * @nr_table_frames: out: frames holding page tables now
 * @nr_spaces: out: address spaces on this torus now
 * @reserved: must be zero
 * @base: out: torus physical address of frame 0
 * @allocs: out: frame allocations since the torus was created
 * @words_scanned: out: bitmap words inspected by those allocations
 */
struct torusmm_torus_info {
	__u32 index;
	__u32 nr_frames;
	__u32 nr_free;
	__u32 nr_used;
	__u32 high_water;
	__u32 nr_table_frames;
	__u32 nr_spaces;
	__u32 reserved;
	__u64 base;
	__u64 allocs;
	__u64 words_scanned;
};

/**
 * struct torusmm_create_space - TORUSMM_CREATE_SPACE
 * @flags: must be zero
 * @torus: index of the torus, or TORUSMM_TORUS_ANY
 * @max_frames: frame quota (data and table frames); 0 means the module default
 * @reserved: must be zero
 */
struct torusmm_create_space {
	__u32 flags;
	__u32 torus;
	__u32 max_frames;
	__u32 reserved;
};

/**
 * struct torusmm_brk - TORUSMM_BRK
 * @addr: in: the requested break; 0 asks for the current one
 * @result: out: the new break, or the old one when the request failed
 * @flags: must be zero
 * @reserved: must be zero
 */
struct torusmm_brk {
	__u64 addr;
	__u64 result;
	__u32 flags;
	__u32 reserved;
};

/**
 * struct torusmm_mmap - TORUSMM_MMAP
 * @addr: in: hint or fixed address; out: the start of the new mapping
 * @length: bytes, rounded up to whole pages
 * @prot: TORUSMM_PROT_*
 * @flags: TORUSMM_MAP_*
 */
struct torusmm_mmap {
	__u64 addr;
	__u64 length;
	__u32 prot;
	__u32 flags;
};

/**
 * struct torusmm_munmap - TORUSMM_MUNMAP
 * @addr: page-aligned start
 * @length: bytes, rounded up to whole pages; 0 is EINVAL
 * @flags: must be zero
 * @reserved: must be zero
 */
struct torusmm_munmap {
	__u64 addr;
	__u64 length;
	__u32 flags;
	__u32 reserved;
};

/**
 * struct torusmm_mprotect - TORUSMM_MPROTECT
 * @addr: page-aligned start
 * @length: bytes, rounded up to whole pages
 * @prot: TORUSMM_PROT_*
 * @flags: must be zero
 */
struct torusmm_mprotect {
	__u64 addr;
	__u64 length;
	__u32 prot;
	__u32 flags;
};

/**
 * struct torusmm_translate - TORUSMM_TRANSLATE
 *
 * The ioctl returns 0 when the access translated and 1 when it faulted: a
 * fault is a result, not an error, and its code may be 0 (a supervisor read
 * of a page that is not present).
 *
 * @addr: in: virtual address
 * @access: in: TORUSMM_ACCESS_*
 * @flags: in: TORUSMM_TRANSLATE_*
 * @tpa: out: torus physical address when the ioctl returned 0, else 0
 * @fault: out: the fault code when the ioctl returned 1, else 0
 * @pte: out: the leaf entry after the walk (0 when there is none)
 */
struct torusmm_translate {
	__u64 addr;
	__u32 access;
	__u32 flags;
	__u64 tpa;
	__u32 fault;
	__u32 pte;
};

/**
 * struct torusmm_rw - TORUSMM_READ and TORUSMM_WRITE
 *
 * The ioctl returns 0 when all @length bytes were copied and 1 when a fault
 * stopped the copy after @done bytes.  Output fields are ignored on input.
 *
 * @addr: in: virtual address in the space
 * @buf: in: user buffer in the caller
 * @length: in: bytes to copy
 * @access: in: TORUSMM_ACCESS_USER or 0; the direction comes from the ioctl
 * @fault: out: the fault code when the ioctl returned 1 (it may be 0)
 * @done: out: bytes copied before the fault
 * @fault_addr: out: the faulting virtual address when the ioctl returned 1
 */
struct torusmm_rw {
	__u64 addr;
	__u64 buf;
	__u64 length;
	__u32 access;
	__u32 fault;
	__u64 done;
	__u64 fault_addr;
};

/**
 * struct torusmm_clone - TORUSMM_CLONE
 * @flags: must be zero
 * @reserved: must be zero
 */
struct torusmm_clone {
	__u32 flags;
	__u32 reserved;
};

/**
 * struct torusmm_space_stats - TORUSMM_GET_STATS
 * @torus: index of the space's torus
 * @max_frames: the space's frame quota
 * @nr_data_frames: frames mapped as data
 * @nr_table_frames: frames holding the directory and tables
 * @nr_regions: regions (maximal ranges with one protection)
 * @nr_heap_pages: pages between the heap start and the break
 * @brk: the current break
 * @stack_start: lowest address of the stack region
 * @nr_faults: demand-zero faults taken
 * @nr_fault_errors: translations and accesses that ended in a fault
 * @nr_translations: successful translations, in pages: each TRANSLATE,
 *	each shadow fault resolved, each page READ/WRITE copied in full (once)
 * @id: the space's identifier, unique while the module stays loaded (the
 *	name of its debugfs directory and the space_id of its trace events)
 *
 * @id was added at the end: a caller built against the 56-byte layout, with
 * the ioctl number that size encodes, still gets the first 56 bytes.
 */
struct torusmm_space_stats {
	__u32 torus;
	__u32 max_frames;
	__u32 nr_data_frames;
	__u32 nr_table_frames;
	__u32 nr_regions;
	__u32 nr_heap_pages;
	__u32 brk;
	__u32 stack_start;
	__u64 nr_faults;
	__u64 nr_fault_errors;
	__u64 nr_translations;
	__u64 id;
};

/**
 * struct torusmm_region - one entry of TORUSMM_DUMP_REGIONS
 * @start: first address
 * @end: address past the last byte
 * @prot: TORUSMM_PROT_*
 * @reserved: zero
 */
struct torusmm_region {
	__u32 start;
	__u32 end;
	__u32 prot;
	__u32 reserved;
};

/**
 * struct torusmm_pte - one entry of TORUSMM_DUMP_PTES
 * @addr: virtual address of the page
 * @pte: the leaf entry, accessed and dirty bits included
 */
struct torusmm_pte {
	__u32 addr;
	__u32 pte;
};

/**
 * struct torusmm_dump - TORUSMM_DUMP_REGIONS and TORUSMM_DUMP_PTES
 * @buf: array of struct torusmm_region or struct torusmm_pte
 * @addr: first address to dump (PTES only; must be zero for REGIONS)
 * @length: bytes to dump from @addr (PTES only; must be zero for REGIONS)
 * @count: in: capacity of @buf in entries; out: entries in the range
 * @flags: must be zero
 *
 * When @count is too small, the call fails with E2BIG and sets @count to
 * the number needed; nothing is written to @buf.
 */
struct torusmm_dump {
	__u64 buf;
	__u64 addr;
	__u64 length;
	__u32 count;
	__u32 flags;
};

/* Flags of struct torusmm_log for TORUSMM_GET_DIRTY_LOG. */
#define TORUSMM_LOG_CLEAR		(1u << 0)	/* clear what is reported */

/* TORUSMM_CLEAR_DIRTY_LOG works in units of this many pages, as KVM's. */
#define TORUSMM_LOG_CLEAR_PAGES		64u

/**
 * struct torusmm_log - TORUSMM_GET_DIRTY_LOG, TORUSMM_CLEAR_DIRTY_LOG and
 * TORUSMM_GET_ACCESS_LOG
 * @addr: in: page-aligned start (TORUSMM_CLEAR_DIRTY_LOG: a multiple of
 *	  TORUSMM_LOG_CLEAR_PAGES pages)
 * @length: in: bytes, a multiple of the page size (TORUSMM_CLEAR_DIRTY_LOG:
 *	    of TORUSMM_LOG_CLEAR_PAGES pages); @addr + @length <= 4 GiB
 * @bitmap: in: user pointer to (pages + 63) / 64 __u64 words; bit n of word
 *	    w stands for the page at @addr + (64 * w + n) * 4096.  Written by
 *	    the GET ioctls (every word, 0 for clean pages), read by CLEAR.
 * @flags: in: TORUSMM_LOG_CLEAR for TORUSMM_GET_DIRTY_LOG; 0 otherwise
 * @count: out: pages whose bit was reported (GET) or cleared (CLEAR)
 */
struct torusmm_log {
	__u64 addr;
	__u64 length;
	__u64 bitmap;
	__u32 flags;
	__u32 count;
};

/* Operations of struct torusmm_batch_op. */
#define TORUSMM_OP_TRANSLATE		1
#define TORUSMM_OP_READ			2
#define TORUSMM_OP_WRITE		3
#define TORUSMM_OP_MMAP			4
#define TORUSMM_OP_MUNMAP		5
#define TORUSMM_OP_MPROTECT		6

/* Flags of struct torusmm_batch. */
#define TORUSMM_BATCH_CONTINUE		(1u << 0)	/* go on past a failure */

/* Upper bound on @count of one TORUSMM_BATCH. */
#define TORUSMM_BATCH_MAX		4096u

/**
 * struct torusmm_batch_op - one operation of TORUSMM_BATCH
 *
 * Each operation takes the fields its single ioctl takes and gives back what
 * that ioctl would: @result is what the ioctl would have returned (0, 1 for
 * a fault, or a negative errno) and @out and the fault fields what it would
 * have written.  Fields an operation does not use must be zero.
 *
 * @op: in: TORUSMM_OP_*
 * @flags: in: TORUSMM_TRANSLATE_* (TRANSLATE), TORUSMM_MAP_* (MMAP), else 0
 * @addr: in: the address (a hint for MMAP)
 * @length: in: bytes (READ, WRITE, MMAP, MUNMAP, MPROTECT)
 * @buf: in: user buffer (READ, WRITE)
 * @access: in: TORUSMM_ACCESS_* (TRANSLATE; READ and WRITE: USER or 0)
 * @prot: in: TORUSMM_PROT_* (MMAP, MPROTECT)
 * @result: out: 0, 1 (a fault), or a negative errno
 * @fault: out: the fault code when @result is 1
 * @out: out: the torus physical address (TRANSLATE), bytes copied (READ,
 *	 WRITE), the start of the mapping (MMAP); else 0
 * @fault_addr: out: the faulting address when @result is 1 (READ, WRITE)
 * @pte: out: the leaf entry after the walk (TRANSLATE)
 * @reserved: must be zero
 *
 * When @result is negative, @fault, @out, @fault_addr and @pte are 0.
 */
struct torusmm_batch_op {
	__u32 op;
	__u32 flags;
	__u64 addr;
	__u64 length;
	__u64 buf;
	__u32 access;
	__u32 prot;
	__s32 result;
	__u32 fault;
	__u64 out;
	__u64 fault_addr;
	__u32 pte;
	__u32 reserved;
};

/**
 * struct torusmm_batch - TORUSMM_BATCH
 *
 * Runs @count operations in order.  Without TORUSMM_BATCH_CONTINUE it stops
 * after the first whose @result is not 0; with it, it runs them all.  The
 * ioctl fails only when the header or the vector itself is bad (nothing ran);
 * otherwise it returns 0 and each operation carries its own result.
 *
 * @ops: in: user pointer to @count struct torusmm_batch_op
 * @count: in: operations, 1 .. TORUSMM_BATCH_MAX
 * @flags: in: TORUSMM_BATCH_*
 * @done: out: operations that ran (their @result is valid)
 * @failed: out: of those, how many have a @result other than 0
 */
struct torusmm_batch {
	__u64 ops;
	__u32 count;
	__u32 flags;
	__u32 done;
	__u32 failed;
};

#define TORUSMMIO 0xE7

/* ioctls on /dev/torusmm */
#define TORUSMM_GET_API_VERSION	_IO(TORUSMMIO, 0x00)
#define TORUSMM_CHECK_EXTENSION	_IO(TORUSMMIO, 0x01)
#define TORUSMM_GET_TORUS_INFO	_IOWR(TORUSMMIO, 0x02, struct torusmm_torus_info)
#define TORUSMM_CREATE_SPACE	_IOW(TORUSMMIO, 0x03, struct torusmm_create_space)

/* ioctls on an address-space file descriptor */
#define TORUSMM_BRK		_IOWR(TORUSMMIO, 0x10, struct torusmm_brk)
#define TORUSMM_MMAP		_IOWR(TORUSMMIO, 0x11, struct torusmm_mmap)
#define TORUSMM_MUNMAP		_IOW(TORUSMMIO, 0x12, struct torusmm_munmap)
#define TORUSMM_MPROTECT	_IOW(TORUSMMIO, 0x13, struct torusmm_mprotect)
#define TORUSMM_TRANSLATE	_IOWR(TORUSMMIO, 0x14, struct torusmm_translate)
#define TORUSMM_READ		_IOWR(TORUSMMIO, 0x15, struct torusmm_rw)
#define TORUSMM_WRITE		_IOWR(TORUSMMIO, 0x16, struct torusmm_rw)
#define TORUSMM_CLONE		_IOW(TORUSMMIO, 0x17, struct torusmm_clone)
#define TORUSMM_GET_STATS	_IOR(TORUSMMIO, 0x18, struct torusmm_space_stats)
#define TORUSMM_DUMP_REGIONS	_IOWR(TORUSMMIO, 0x19, struct torusmm_dump)
#define TORUSMM_DUMP_PTES	_IOWR(TORUSMMIO, 0x1a, struct torusmm_dump)
#define TORUSMM_GET_DIRTY_LOG	_IOWR(TORUSMMIO, 0x1b, struct torusmm_log)
#define TORUSMM_CLEAR_DIRTY_LOG	_IOWR(TORUSMMIO, 0x1c, struct torusmm_log)
#define TORUSMM_GET_ACCESS_LOG	_IOWR(TORUSMMIO, 0x1d, struct torusmm_log)
#define TORUSMM_BATCH		_IOWR(TORUSMMIO, 0x1e, struct torusmm_batch)

#endif /* _UAPI_LINUX_TORUSMM_H */
