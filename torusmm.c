// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm: the /dev/torusmm device.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * DOC: The device
 *
 * /dev/torusmm creates address spaces and hands each out as a file
 * descriptor; every operation on a space is an ioctl on its descriptor.
 * Documentation/torusmm-api.rst documents the ABI.  This file only checks and
 * copies what crosses the user boundary; the memory management itself is in
 * torusmm_core.ko.
 *
 * A space descriptor is a capability: whoever holds it (a child that
 * inherited it, say) can use the space, and nothing else can reach the space.
 * Each descriptor holds a reference on this module through its file
 * operations, so the module cannot be unloaded while one is open; the space
 * is freed when its last reference goes, which the VFS delays until every
 * ioctl running on it has returned.
 *
 * The tori are created when the module loads, from its parameters; loading
 * fails cleanly when the host cannot spare the pages.
 */

#include <linux/anon_inodes.h>
#include <linux/build_bug.h>
#include <linux/compat.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <uapi/linux/torusmm.h>

#include "frame_alloc.h"
#include "shadow.h"
#include "space.h"
#include "user.h"

#define TMM_MAX_TORI		16
#define TMM_TORUS_MIN_MB	16
#define TMM_TORUS_MAX_MB	((TMM_TORUS_MAX_FRAMES >> (20 - PAGE_SHIFT)))

static unsigned int nr_tori = 1;
module_param(nr_tori, uint, 0444);
MODULE_PARM_DESC(nr_tori, "Number of tori to reserve (1-16, default 1)");

static unsigned int torus_mb = 16;
module_param(torus_mb, uint, 0444);
MODULE_PARM_DESC(torus_mb, "Size of each torus in MiB (16-4095, default 16)");

/* The administrator's ceilings; every space reads them live. */
static struct tmm_limits tmm_limits = {
	.max_spaces = 64,
	.max_regions = TMM_DEFAULT_MAX_REGIONS,
};

module_param_named(max_frames, tmm_limits.max_frames, uint, 0644);
MODULE_PARM_DESC(max_frames,
		 "Ceiling on one space's data and table frames; a space asking for 0 gets it (0: none)");
module_param_named(user_max_frames, tmm_limits.user_max_frames, uint, 0644);
MODULE_PARM_DESC(user_max_frames,
		 "Ceiling on the frames of all the spaces one user created (0: none)");
module_param_named(max_spaces, tmm_limits.max_spaces, uint, 0644);
MODULE_PARM_DESC(max_spaces,
		 "Most live address spaces per user (default 64, 0: none)");
module_param_named(max_regions, tmm_limits.max_regions, uint, 0644);
MODULE_PARM_DESC(max_regions,
		 "Most regions per space, as vm.max_map_count (default 65530, 0: none)");

static ushort mode = 0600;
module_param(mode, ushort, 0444);
MODULE_PARM_DESC(mode, "Mode of /dev/torusmm (default 0600)");

static struct tmm_torus *tmm_tori[TMM_MAX_TORI];

/**
 * struct tmm_space_file - what a space descriptor holds
 * @space: the address space
 * @shadow_lock: serialises the creation of @shadow
 * @shadow: the space's hardware mappings, from the first mmap() on
 */
struct tmm_space_file {
	struct tmm_space *space;
	struct mutex shadow_lock;	/* guards the creation of @shadow */
	struct tmm_shadow *shadow;
};

/* The ABI has one layout for 32-bit and 64-bit callers: no padding. */
static_assert(sizeof(struct torusmm_torus_info) == 56);
static_assert(sizeof(struct torusmm_create_space) == 16);
static_assert(sizeof(struct torusmm_brk) == 24);
static_assert(sizeof(struct torusmm_mmap) == 24);
static_assert(sizeof(struct torusmm_munmap) == 24);
static_assert(sizeof(struct torusmm_mprotect) == 24);
static_assert(sizeof(struct torusmm_translate) == 32);
static_assert(sizeof(struct torusmm_rw) == 48);
static_assert(sizeof(struct torusmm_clone) == 8);
static_assert(sizeof(struct torusmm_space_stats) == 64);

/*
 * TORUSMM_GET_STATS as binaries built before @id was added call it: the ioctl
 * number encodes the size, 56 bytes then.  Both numbers are served, each
 * with the bytes its size covers, as DRM serves an ioctl whose structure
 * grew at the end.
 */
#define TMM_SPACE_STATS_V1_SIZE	offsetof(struct torusmm_space_stats, id)
#define TMM_GET_STATS_V1	_IOC(_IOC_READ, TORUSMMIO, 0x18, \
				     TMM_SPACE_STATS_V1_SIZE)
static_assert(TMM_SPACE_STATS_V1_SIZE == 56);
static_assert(sizeof(struct torusmm_region) == 16);
static_assert(sizeof(struct torusmm_pte) == 8);
static_assert(sizeof(struct torusmm_dump) == 32);
static_assert(sizeof(struct torusmm_log) == 32);

/* The last reference to the file, and so to every client mapping, went. */
static int tmm_space_release(struct inode *inode, struct file *file)
{
	struct tmm_space_file *sf = file->private_data;

	tmm_shadow_destroy(sf->shadow);
	tmm_space_destroy(sf->space);
	mutex_destroy(&sf->shadow_lock);
	kfree(sf);
	return 0;
}

/*
 * mmap() of a space descriptor: the space's addresses [offset, offset +
 * length) in the caller, kept coherent by the shadow (shadow.c).
 */
static int tmm_space_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct tmm_space_file *sf = file->private_data;
	struct tmm_shadow *shadow;

	mutex_lock(&sf->shadow_lock);
	if (!sf->shadow) {
		shadow = tmm_shadow_create(sf->space, file->f_mapping);
		if (IS_ERR(shadow)) {
			mutex_unlock(&sf->shadow_lock);
			return PTR_ERR(shadow);
		}
		sf->shadow = shadow;
	}
	shadow = sf->shadow;
	mutex_unlock(&sf->shadow_lock);
	return tmm_shadow_mmap(shadow, vma);
}

static long tmm_space_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg);

static const struct file_operations tmm_space_fops = {
	.owner = THIS_MODULE,
	.release = tmm_space_release,
	.mmap = tmm_space_file_mmap,
	.unlocked_ioctl = tmm_space_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/**
 * tmm_space_install() - give a new space a descriptor
 * @space: a space nobody else knows yet, or an error pointer
 *
 * The descriptor is installed last, when nothing can fail any more; it is
 * returned as the ioctl's value.  Its inode is its own, so that its
 * address_space reaches exactly this space's client mappings (see
 * shadow.c).  On failure @space is destroyed.
 *
 * Context: process context; sleeps.
 * Return: the new descriptor, or a negative errno.
 */
static int tmm_space_install(struct tmm_space *space)
{
	struct tmm_space_file *sf;
	int fd;

	if (IS_ERR(space))
		return PTR_ERR(space);
	fd = -ENOMEM;
	sf = kzalloc(sizeof(*sf), GFP_KERNEL_ACCOUNT);
	if (!sf)
		goto destroy_space;
	sf->space = space;
	mutex_init(&sf->shadow_lock);

	fd = anon_inode_getfd_secure("[torusmm-space]", &tmm_space_fops, sf,
				     O_RDWR | O_CLOEXEC, NULL);
	if (fd < 0)
		goto free_file;
	return fd;

free_file:
	mutex_destroy(&sf->shadow_lock);
	kfree(sf);
destroy_space:
	tmm_space_destroy(space);
	return fd;
}

/* The torus with the most free frames. */
static unsigned int tmm_torus_pick(void)
{
	unsigned int i, best = 0;
	u32 best_free = 0;

	for (i = 0; i < nr_tori; i++) {
		struct tmm_torus_stats stats;

		tmm_torus_get_stats(tmm_tori[i], &stats);
		if (stats.nr_free > best_free) {
			best_free = stats.nr_free;
			best = i;
		}
	}
	return best;
}

/*
 * Copy in the argument of an _IOWR ioctl and write it straight back, so that
 * an argument the caller cannot write fails with EFAULT before anything
 * changes rather than after.
 */
static int tmm_copy_in_out(void *req, void __user *argp, size_t size)
{
	if (copy_from_user(req, argp, size) || copy_to_user(argp, req, size))
		return -EFAULT;
	return 0;
}

static int tmm_ioctl_create_space(void __user *argp)
{
	struct torusmm_create_space req;
	unsigned int index;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved)
		return -EINVAL;
	if (req.torus == TORUSMM_TORUS_ANY) {
		index = tmm_torus_pick();
	} else {
		if (req.torus >= nr_tori)
			return -EINVAL;
		index = array_index_nospec(req.torus, nr_tori);
	}
	return tmm_space_install(tmm_space_create(tmm_tori[index], &tmm_limits,
						  req.max_frames));
}

static int tmm_ioctl_torus_info(void __user *argp)
{
	struct torusmm_torus_info info;
	struct tmm_torus_stats stats;
	unsigned int index;

	if (tmm_copy_in_out(&info, argp, sizeof(info)))
		return -EFAULT;
	if (info.index >= nr_tori || info.reserved)
		return -EINVAL;
	index = array_index_nospec(info.index, nr_tori);

	tmm_torus_get_stats(tmm_tori[index], &stats);
	memset(&info, 0, sizeof(info));
	info.index = index;
	info.nr_frames = stats.nr_frames;
	info.nr_free = stats.nr_free;
	info.nr_used = stats.nr_used;
	info.high_water = stats.high_water;
	info.nr_table_frames = stats.nr_table_frames;
	info.nr_spaces = stats.nr_spaces;
	info.base = TORUSMM_TORUS_BASE;
	info.allocs = stats.allocs;
	info.words_scanned = stats.words_scanned;
	return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
}

static long tmm_check_extension(unsigned long cap)
{
	switch (cap) {
	case TORUSMM_CAP_NR_TORI:
		return nr_tori;
	case TORUSMM_CAP_MAP_POPULATE:
	case TORUSMM_CAP_MAP_FIXED_NOREPLACE:
	case TORUSMM_CAP_TRANSLATE_PEEK:
	case TORUSMM_CAP_SHADOW:
	case TORUSMM_CAP_COW_CLONE:
	case TORUSMM_CAP_ZERO_FRAME:
	case TORUSMM_CAP_DIRTY_LOG:
	case TORUSMM_CAP_ACCESS_LOG:
	case TORUSMM_CAP_SPACE_ID:
		return 1;
	case TORUSMM_CAP_DUMP_MAX:
		return TORUSMM_DUMP_MAX;
	case TORUSMM_CAP_BATCH:
		return TORUSMM_BATCH_MAX;
	default:
		return 0;
	}
}

static long tmm_dev_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case TORUSMM_GET_API_VERSION:
		return arg ? -EINVAL : TORUSMM_API_VERSION;
	case TORUSMM_CHECK_EXTENSION:
		return tmm_check_extension(arg);
	case TORUSMM_GET_TORUS_INFO:
		return tmm_ioctl_torus_info(argp);
	case TORUSMM_CREATE_SPACE:
		return tmm_ioctl_create_space(argp);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations tmm_dev_fops = {
	.owner = THIS_MODULE,
	.open = generic_file_open,
	.unlocked_ioctl = tmm_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice tmm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "torusmm",
	.fops = &tmm_dev_fops,
};

static int tmm_ioctl_brk(struct tmm_space *space, void __user *argp)
{
	struct torusmm_brk req;

	if (tmm_copy_in_out(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved || req.addr > U32_MAX)
		return -EINVAL;
	req.result = tmm_space_brk(space, req.addr);
	return copy_to_user(argp, &req, sizeof(req)) ? -EFAULT : 0;
}

/*
 * The operations TORUSMM_BATCH shares with the single ioctls, on arguments
 * already copied in.  Each checks them as its ioctl does and returns what
 * that ioctl returns.
 */

static int tmm_op_mmap(struct tmm_space *space, u64 *addr, u64 length,
		       u32 prot, u32 flags)
{
	u32 start;
	int err;

	if (*addr > U32_MAX) {
		if (flags & (TORUSMM_MAP_FIXED | TORUSMM_MAP_FIXED_NOREPLACE))
			return -EINVAL;
		*addr = 0;	/* a hint Linux would ignore */
	}
	start = *addr;
	err = tmm_space_mmap(space, &start, length, prot, flags);
	if (err)
		return err;
	*addr = start;
	return 0;
}

static int tmm_op_munmap(struct tmm_space *space, u64 addr, u64 length,
			 u32 flags)
{
	if (flags || addr > U32_MAX)
		return -EINVAL;
	return tmm_space_munmap(space, addr, length);
}

static int tmm_op_mprotect(struct tmm_space *space, u64 addr, u64 length,
			   u32 prot, u32 flags)
{
	if (flags || addr > U32_MAX)
		return -EINVAL;
	return tmm_space_mprotect(space, addr, length, prot);
}

/*
 * Check TRANSLATE's arguments; @core: out: the access for
 * tmm_space_access().
 */
static int tmm_translate_check(u64 addr, u32 access, u32 flags, u32 *core)
{
	const u32 known = TORUSMM_ACCESS_WRITE | TORUSMM_ACCESS_USER |
			  TORUSMM_ACCESS_EXEC;

	if ((access & ~known) || (flags & ~TORUSMM_TRANSLATE_PEEK) ||
	    addr > U32_MAX)
		return -EINVAL;
	if ((access & TORUSMM_ACCESS_WRITE) && (access & TORUSMM_ACCESS_EXEC))
		return -EINVAL;
	*core = access;
	if (flags & TORUSMM_TRANSLATE_PEEK)
		*core |= TMM_ACCESS_PEEK;
	return 0;
}

/*
 * What TRANSLATE returns, from what tmm_space_access() returned: 0 when the
 * access translated, 1 when it faulted (a result, not an error; its code may
 * be 0, as x86's), or an errno.  @tr->pte stays the entry of the walk that
 * decided, not of a second one.
 */
static int tmm_translate_result(int err, struct tmm_translation *tr)
{
	if (err && err != -EFAULT)
		return err;
	if (err)
		tr->tpa = 0;
	else
		tr->fault = 0;
	return err ? 1 : 0;
}

static int tmm_op_translate(struct tmm_space *space, u64 addr, u32 access,
			    u32 flags, struct tmm_translation *tr)
{
	u32 core;
	int err;

	memset(tr, 0, sizeof(*tr));
	err = tmm_translate_check(addr, access, flags, &core);
	if (err)
		return err;
	err = tmm_space_access(space, addr, core, tr, NULL, NULL);
	return tmm_translate_result(err, tr);
}

/*
 * Whether every byte of a buffer the caller gave for TORUSMM_READ lies in a
 * writable mapping of the caller: the check before the space is touched, made
 * without faulting the buffer in or writing to it (the copy faults it in as
 * it goes).  TORUSMM_WRITE's source is checked by faulting it in for reading,
 * which has no side effect.
 */
static int tmm_user_buf_check(void __user *buf, u64 length, bool write)
{
	struct mm_struct *mm = current->mm;
	unsigned long addr = untagged_addr((unsigned long)buf);
	unsigned long end = addr + length;
	int err = 0;

	if (!access_ok(buf, length))
		return -EFAULT;
	if (write)
		return fault_in_readable(buf, length) ? -EFAULT : 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	while (addr < end) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);

		if (!vma || !(vma->vm_flags & VM_WRITE)) {
			err = -EFAULT;
			break;
		}
		addr = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return err;
}

/*
 * Copy between the space and the caller's buffer, once per byte: the frames
 * are copied straight to or from @buf (see tmm_space_copy()).
 * Return: 0 when all @length bytes were copied, 1 when a fault in the space
 * stopped the copy (@result says where), or an errno.
 */
static int tmm_op_rw(struct tmm_space *space, bool write, u64 addr, u64 buf,
		     u64 length, u32 access, struct tmm_access *result)
{
	void __user *ubuf = u64_to_user_ptr(buf);
	struct iov_iter iter;
	int err;

	memset(result, 0, sizeof(*result));
	if ((access & ~TORUSMM_ACCESS_USER) || length > TORUSMM_RW_MAX ||
	    addr > U32_MAX || addr + length > SZ_4G)
		return -EINVAL;
	if (!length)
		return 0;
	err = tmm_user_buf_check(ubuf, length, write);
	if (err)
		return err;

	iov_iter_ubuf(&iter, write ? ITER_SOURCE : ITER_DEST, ubuf, length);
	if (write)
		err = tmm_space_write_iter(space, addr, &iter, access, result);
	else
		err = tmm_space_read_iter(space, addr, &iter, access, result);
	if (err)
		return err;
	return result->done < length ? 1 : 0;
}

static int tmm_ioctl_mmap(struct tmm_space *space, void __user *argp)
{
	struct torusmm_mmap req;
	int err;

	if (tmm_copy_in_out(&req, argp, sizeof(req)))
		return -EFAULT;
	err = tmm_op_mmap(space, &req.addr, req.length, req.prot, req.flags);
	if (err)
		return err;
	return copy_to_user(argp, &req, sizeof(req)) ? -EFAULT : 0;
}

static int tmm_ioctl_munmap(struct tmm_space *space, void __user *argp)
{
	struct torusmm_munmap req;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.reserved)
		return -EINVAL;
	return tmm_op_munmap(space, req.addr, req.length, req.flags);
}

static int tmm_ioctl_mprotect(struct tmm_space *space, void __user *argp)
{
	struct torusmm_mprotect req;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	return tmm_op_mprotect(space, req.addr, req.length, req.prot,
			       req.flags);
}

static int tmm_ioctl_translate(struct tmm_space *space, void __user *argp)
{
	struct torusmm_translate req;
	struct tmm_translation tr;
	int ret;

	if (tmm_copy_in_out(&req, argp, sizeof(req)))
		return -EFAULT;
	ret = tmm_op_translate(space, req.addr, req.access, req.flags, &tr);
	if (ret < 0)
		return ret;
	req.tpa = tr.tpa;
	req.fault = tr.fault;
	req.pte = tr.pte;
	if (copy_to_user(argp, &req, sizeof(req)))
		return -EFAULT;
	return ret;
}

static int tmm_ioctl_rw(struct tmm_space *space, void __user *argp,
			bool write)
{
	struct torusmm_rw req;
	struct tmm_access result;
	int ret;

	if (tmm_copy_in_out(&req, argp, sizeof(req)))
		return -EFAULT;
	ret = tmm_op_rw(space, write, req.addr, req.buf, req.length,
			req.access, &result);
	if (ret < 0)
		return ret;
	req.done = result.done;
	req.fault = result.fault;
	req.fault_addr = ret ? result.fault_addr : 0;
	if (copy_to_user(argp, &req, sizeof(req)))
		return -EFAULT;
	/* As TORUSMM_TRANSLATE: 1 when a fault stopped the copy. */
	return ret;
}

/* One operation of TORUSMM_BATCH: its outputs and its result. */
static void tmm_batch_run(struct tmm_space *space,
			  struct torusmm_batch_op *op)
{
	/* What the operation does not use must be zero. */
	u64 unused = op->reserved;
	struct tmm_translation tr;
	struct tmm_access rw;
	int ret;

	/* The outputs start zeroed: tmm_batch_read() cleared them. */
	switch (op->op) {
	case TORUSMM_OP_TRANSLATE:
		unused |= op->length | op->buf | op->prot;
		if (unused) {
			ret = -EINVAL;
			break;
		}
		ret = tmm_op_translate(space, op->addr, op->access, op->flags,
				       &tr);
		if (ret < 0)
			break;
		op->out = tr.tpa;
		op->fault = tr.fault;
		op->pte = tr.pte;
		break;
	case TORUSMM_OP_READ:
	case TORUSMM_OP_WRITE:
		unused |= op->flags | op->prot;
		if (unused) {
			ret = -EINVAL;
			break;
		}
		ret = tmm_op_rw(space, op->op == TORUSMM_OP_WRITE, op->addr,
				op->buf, op->length, op->access, &rw);
		if (ret < 0)
			break;
		op->out = rw.done;
		op->fault = rw.fault;
		op->fault_addr = ret ? rw.fault_addr : 0;
		break;
	case TORUSMM_OP_MMAP:
		unused |= op->buf | op->access;
		if (unused) {
			ret = -EINVAL;
			break;
		}
		op->out = op->addr;
		ret = tmm_op_mmap(space, &op->out, op->length, op->prot,
				  op->flags);
		if (ret)
			op->out = 0;
		break;
	case TORUSMM_OP_MUNMAP:
		unused |= op->buf | op->access | op->prot;
		ret = unused ? -EINVAL :
		      tmm_op_munmap(space, op->addr, op->length, op->flags);
		break;
	case TORUSMM_OP_MPROTECT:
		unused |= op->buf | op->access;
		ret = unused ? -EINVAL :
		      tmm_op_mprotect(space, op->addr, op->length, op->prot,
				      op->flags);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	op->result = ret;
}

static int tmm_ioctl_clone(struct file *file, void __user *argp)
{
	struct tmm_space_file *sf = file->private_data;
	struct torusmm_clone req;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved)
		return -EINVAL;
	return tmm_space_install(tmm_space_clone(sf->space));
}

/* TORUSMM_GET_STATS, of either size: @size bytes of the current layout. */
static int tmm_ioctl_stats(struct tmm_space *space, void __user *argp,
			   size_t size)
{
	struct torusmm_space_stats stats;

	tmm_space_get_stats(space, &stats);
	return copy_to_user(argp, &stats, size) ? -EFAULT : 0;
}

static int tmm_ioctl_dump(struct tmm_space *space, void __user *argp,
			  bool ptes)
{
	size_t entry_size = ptes ? sizeof(struct torusmm_pte) :
				   sizeof(struct torusmm_region);
	struct torusmm_dump req;
	u32 capacity, count = 0;
	void *buf = NULL;
	u64 end;
	int err;

	if (tmm_copy_in_out(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.flags)
		return -EINVAL;
	if (ptes) {
		end = req.length ? req.addr + req.length : SZ_4G;
		if ((req.addr & ~PAGE_MASK) || req.addr > U32_MAX ||
		    req.length > SZ_4G || end > SZ_4G)
			return -EINVAL;
	} else if (req.addr || req.length) {
		return -EINVAL;
	}

	capacity = min(req.count, TORUSMM_DUMP_MAX);
	if (capacity) {
		buf = kvmalloc_array(capacity, entry_size, GFP_KERNEL_ACCOUNT);
		if (!buf)
			return -ENOMEM;
	}
	if (ptes)
		err = tmm_space_dump_ptes(space, req.addr, end, buf, capacity,
					  &count);
	else
		err = tmm_space_dump_regions(space, buf, capacity, &count);
	if (err && err != -E2BIG)
		goto free_buf;

	if (!err && count &&
	    copy_to_user(u64_to_user_ptr(req.buf), buf, count * entry_size)) {
		err = -EFAULT;
		goto free_buf;
	}
	req.count = count;
	if (copy_to_user(argp, &req, sizeof(req)))
		err = -EFAULT;
free_buf:
	kvfree(buf);
	return err;
}

/*
 * TORUSMM_GET_DIRTY_LOG, TORUSMM_CLEAR_DIRTY_LOG and TORUSMM_GET_ACCESS_LOG:
 * check the range, move the bitmap across, and let the space do the rest.
 */
static int tmm_ioctl_log(struct tmm_space *space, void __user *argp,
			 unsigned int cmd)
{
	const u64 clear_unit = (u64)TORUSMM_LOG_CLEAR_PAGES << PAGE_SHIFT;
	struct torusmm_log req;
	unsigned long *bitmap;
	u32 nr_pages;
	u64 end;
	int err;

	if (tmm_copy_in_out(&req, argp, sizeof(req)))
		return -EFAULT;
	end = req.addr + req.length;
	if ((req.addr | req.length) & ~PAGE_MASK || !req.length ||
	    req.addr > SZ_4G || req.length > SZ_4G || end > SZ_4G)
		return -EINVAL;
	if (req.flags & ~(cmd == TORUSMM_GET_DIRTY_LOG ? TORUSMM_LOG_CLEAR : 0))
		return -EINVAL;
	/* Whole units: 4 GiB is one's end, so a range may end there too. */
	if (cmd == TORUSMM_CLEAR_DIRTY_LOG &&
	    (req.addr % clear_unit || req.length % clear_unit))
		return -EINVAL;

	nr_pages = req.length >> PAGE_SHIFT;
	bitmap = bitmap_zalloc(nr_pages, GFP_KERNEL_ACCOUNT);
	if (!bitmap)
		return -ENOMEM;
	err = -EFAULT;
	if (cmd == TORUSMM_CLEAR_DIRTY_LOG) {
		u64 *words = kvmalloc_array(BITS_TO_U64(nr_pages), sizeof(u64),
					    GFP_KERNEL_ACCOUNT);

		if (!words) {
			err = -ENOMEM;
			goto free_bitmap;
		}
		if (copy_from_user(words, u64_to_user_ptr(req.bitmap),
				   BITS_TO_U64(nr_pages) * sizeof(u64))) {
			kvfree(words);
			goto free_bitmap;
		}
		bitmap_from_arr64(bitmap, words, nr_pages);
		kvfree(words);
		req.count = tmm_space_clear_dirty_log(space, req.addr, end,
						      bitmap);
	} else {
		u64 *words;

		/*
		 * Allocate and check the user buffer before any bit is
		 * cleared, so that a harvest cannot be lost to ENOMEM, nor to
		 * EFAULT unless another thread unmaps the buffer meanwhile.
		 */
		words = kvmalloc_array(BITS_TO_U64(nr_pages), sizeof(u64),
				       GFP_KERNEL_ACCOUNT);
		if (!words) {
			err = -ENOMEM;
			goto free_bitmap;
		}
		if (fault_in_safe_writeable(u64_to_user_ptr(req.bitmap),
					    BITS_TO_U64(nr_pages) * sizeof(u64))) {
			kvfree(words);
			goto free_bitmap;
		}
		if (cmd == TORUSMM_GET_ACCESS_LOG)
			req.count = tmm_space_get_access_log(space, req.addr,
							     end, bitmap);
		else
			req.count = tmm_space_get_dirty_log(space, req.addr,
							    end, bitmap,
							    req.flags &
							    TORUSMM_LOG_CLEAR);
		bitmap_to_arr64(words, bitmap, nr_pages);
		if (copy_to_user(u64_to_user_ptr(req.bitmap), words,
				 BITS_TO_U64(nr_pages) * sizeof(u64))) {
			kvfree(words);
			goto free_bitmap;
		}
		kvfree(words);
	}
	err = copy_to_user(argp, &req, sizeof(req)) ? -EFAULT : 0;
free_bitmap:
	bitmap_free(bitmap);
	return err;
}

/*
 * A batch runs in chunks of this many operations: its kernel memory is
 * bounded, and as many TRANSLATE operations in a row are walked under one
 * hold of the space's lock.
 */
#define TMM_BATCH_CHUNK	64

struct tmm_batch_chunk {
	struct torusmm_batch_op ops[TMM_BATCH_CHUNK];
	struct tmm_xlat xlat[TMM_BATCH_CHUNK];
};

/*
 * Run the TRANSLATE operations that start @ops, as many valid ones in a row
 * as @x holds, through one tmm_space_translate_many().  Return: how many ran
 * (0 when the first is not a valid TRANSLATE: tmm_batch_run() takes it).
 */
static unsigned int tmm_batch_translate(struct tmm_space *space,
					struct torusmm_batch_op *ops,
					unsigned int n, bool stop,
					struct tmm_xlat *x)
{
	unsigned int i, done;

	for (i = 0; i < n && i < TMM_BATCH_CHUNK; i++) {
		struct torusmm_batch_op *op = &ops[i];

		if (op->op != TORUSMM_OP_TRANSLATE ||
		    (op->reserved | op->length | op->buf | op->prot) ||
		    tmm_translate_check(op->addr, op->access, op->flags,
					&x[i].access))
			break;
		x[i].va = op->addr;
	}
	if (!i)
		return 0;

	done = tmm_space_translate_many(space, x, i, stop);
	if (WARN_ON_ONCE(!done || done > i))
		done = 0;
	for (i = 0; i < done; i++) {
		struct torusmm_batch_op *op = &ops[i];

		op->result = tmm_translate_result(x[i].err, &x[i].tr);
		op->out = op->result < 0 ? 0 : x[i].tr.tpa;
		op->fault = op->result < 0 ? 0 : x[i].tr.fault;
		op->pte = op->result < 0 ? 0 : x[i].tr.pte;
		op->fault_addr = 0;
	}
	return done;
}

/*
 * Read the input fields of @n operations, field by field: the output fields
 * are not read (their input is ignored), and a field-sized load costs less
 * than copying the whole vector.
 */
static int tmm_batch_read(struct torusmm_batch_op *ops,
			  struct torusmm_batch_op __user *uops, u32 n)
{
	u32 i;

	if (!user_read_access_begin(uops, array_size(n, sizeof(*uops))))
		return -EFAULT;
	for (i = 0; i < n; i++) {
		unsafe_get_user(ops[i].op, &uops[i].op, efault);
		unsafe_get_user(ops[i].flags, &uops[i].flags, efault);
		unsafe_get_user(ops[i].addr, &uops[i].addr, efault);
		unsafe_get_user(ops[i].length, &uops[i].length, efault);
		unsafe_get_user(ops[i].buf, &uops[i].buf, efault);
		unsafe_get_user(ops[i].access, &uops[i].access, efault);
		unsafe_get_user(ops[i].prot, &uops[i].prot, efault);
		unsafe_get_user(ops[i].reserved, &uops[i].reserved, efault);
		/* Never written out unset: no kernel memory reaches the user. */
		ops[i].result = 0;
		ops[i].fault = 0;
		ops[i].out = 0;
		ops[i].fault_addr = 0;
		ops[i].pte = 0;
	}
	user_read_access_end();
	return 0;
efault:
	user_read_access_end();
	return -EFAULT;
}

/*
 * Whether the caller can write the vector: a byte of each of its pages is
 * read and written back as it was, so that a vector the caller cannot write
 * fails before any operation runs, and nothing in it changes.
 */
static int tmm_batch_check_writable(void __user *uops, size_t size)
{
	unsigned long addr = (unsigned long)uops, end = addr + size;
	u8 __user *p;
	u8 byte;

	if (!user_access_begin(uops, size))
		return -EFAULT;
	for (; addr < end; addr = ALIGN(addr + 1, PAGE_SIZE)) {
		p = (u8 __user *)addr;
		unsafe_get_user(byte, p, efault);
		unsafe_put_user(byte, p, efault);
	}
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/* Write the output fields of the @n operations that ran. */
static int tmm_batch_write(struct torusmm_batch_op __user *uops,
			   const struct torusmm_batch_op *ops, u32 n)
{
	u32 i;

	if (!n)
		return 0;
	if (!user_write_access_begin(uops, array_size(n, sizeof(*uops))))
		return -EFAULT;
	for (i = 0; i < n; i++) {
		unsafe_put_user(ops[i].result, &uops[i].result, efault);
		unsafe_put_user(ops[i].fault, &uops[i].fault, efault);
		unsafe_put_user(ops[i].out, &uops[i].out, efault);
		unsafe_put_user(ops[i].fault_addr, &uops[i].fault_addr, efault);
		unsafe_put_user(ops[i].pte, &uops[i].pte, efault);
	}
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

/*
 * TORUSMM_BATCH: the whole vector is checked readable and writable before
 * anything runs; then it is read, run and its results written back a chunk
 * at a time.  Only a vector unmapped by another thread during the call can
 * fail after operations ran.
 */
static int tmm_ioctl_batch(struct tmm_space *space, void __user *argp)
{
	struct torusmm_batch_op __user *uops;
	struct tmm_batch_chunk *chunk;
	struct torusmm_batch req;
	u32 base, n, i, ran, end;
	bool stop;
	int err;

	if (tmm_copy_in_out(&req, argp, sizeof(req)))
		return -EFAULT;
	if ((req.flags & ~TORUSMM_BATCH_CONTINUE) || !req.count ||
	    req.count > TORUSMM_BATCH_MAX)
		return -EINVAL;
	stop = !(req.flags & TORUSMM_BATCH_CONTINUE);
	uops = u64_to_user_ptr(req.ops);
	if (tmm_batch_check_writable(uops, array_size(req.count,
						      sizeof(*uops))))
		return -EFAULT;
	chunk = kmalloc(sizeof(*chunk), GFP_KERNEL);
	if (!chunk)
		return -ENOMEM;

	req.done = 0;
	req.failed = 0;
	for (base = 0; base < req.count; base += n) {
		struct torusmm_batch_op *ops = chunk->ops;

		n = min_t(u32, req.count - base, TMM_BATCH_CHUNK);
		err = tmm_batch_read(ops, uops + base, n);
		if (err)
			goto free_chunk;
		i = 0;
		while (i < n) {
			if (fatal_signal_pending(current))
				break;
			ran = tmm_batch_translate(space, ops + i, n - i, stop,
						  chunk->xlat);
			if (!ran) {
				tmm_batch_run(space, &ops[i]);
				ran = 1;
			}
			for (end = i + ran; i < end; i++)
				req.failed += ops[i].result != 0;
			if (stop && req.failed)
				break;
			cond_resched();
		}
		err = tmm_batch_write(uops + base, ops, i);
		if (err)
			goto free_chunk;
		req.done = base + i;
		/* A failure that ends a chunk ends the batch too. */
		if (i < n || (stop && req.failed))
			break;
	}
	err = copy_to_user(argp, &req, sizeof(req)) ? -EFAULT : 0;
free_chunk:
	kfree(chunk);
	return err;
}

static long tmm_space_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct tmm_space_file *sf = file->private_data;
	struct tmm_space *space = sf->space;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case TORUSMM_BRK:
		return tmm_ioctl_brk(space, argp);
	case TORUSMM_MMAP:
		return tmm_ioctl_mmap(space, argp);
	case TORUSMM_MUNMAP:
		return tmm_ioctl_munmap(space, argp);
	case TORUSMM_MPROTECT:
		return tmm_ioctl_mprotect(space, argp);
	case TORUSMM_TRANSLATE:
		return tmm_ioctl_translate(space, argp);
	case TORUSMM_READ:
		return tmm_ioctl_rw(space, argp, false);
	case TORUSMM_WRITE:
		return tmm_ioctl_rw(space, argp, true);
	case TORUSMM_CLONE:
		return tmm_ioctl_clone(file, argp);
	case TORUSMM_GET_STATS:
	case TMM_GET_STATS_V1:
		return tmm_ioctl_stats(space, argp, _IOC_SIZE(cmd));
	case TORUSMM_DUMP_REGIONS:
		return tmm_ioctl_dump(space, argp, false);
	case TORUSMM_DUMP_PTES:
		return tmm_ioctl_dump(space, argp, true);
	case TORUSMM_GET_DIRTY_LOG:
	case TORUSMM_CLEAR_DIRTY_LOG:
	case TORUSMM_GET_ACCESS_LOG:
		return tmm_ioctl_log(space, argp, cmd);
	case TORUSMM_BATCH:
		return tmm_ioctl_batch(space, argp);
	default:
		return -ENOTTY;
	}
}

static void tmm_tori_destroy(void)
{
	unsigned int i;

	for (i = 0; i < TMM_MAX_TORI; i++) {
		tmm_torus_destroy(tmm_tori[i]);
		tmm_tori[i] = NULL;
	}
}

static int __init tmm_init(void)
{
	u32 torus_frames = torus_mb << (20 - PAGE_SHIFT);
	unsigned int i;
	int err;

	if (nr_tori < 1 || nr_tori > TMM_MAX_TORI) {
		pr_err("torusmm: nr_tori=%u is not within 1-%u\n", nr_tori,
		       TMM_MAX_TORI);
		return -EINVAL;
	}
	if (torus_mb < TMM_TORUS_MIN_MB || torus_mb > TMM_TORUS_MAX_MB) {
		pr_err("torusmm: torus_mb=%u is not within %u-%u\n", torus_mb,
		       TMM_TORUS_MIN_MB, TMM_TORUS_MAX_MB);
		return -EINVAL;
	}

	/*
	 * Refuse up front what the host plainly cannot spare, rather than take
	 * nearly all its memory before failing; a race still ends in a clean
	 * -ENOMEM from tmm_torus_create().
	 */
	if ((u64)nr_tori * torus_frames > si_mem_available()) {
		pr_err("torusmm: %u tori of %u MiB exceed the %lu MiB available\n",
		       nr_tori, torus_mb,
		       si_mem_available() >> (20 - PAGE_SHIFT));
		return -ENOMEM;
	}

	for (i = 0; i < nr_tori; i++) {
		tmm_tori[i] = tmm_torus_create(i, torus_frames);
		if (IS_ERR(tmm_tori[i])) {
			err = PTR_ERR(tmm_tori[i]);
			tmm_tori[i] = NULL;
			pr_err("torusmm: cannot reserve torus %u of %u MiB: %d\n",
			       i, torus_mb, err);
			goto destroy_tori;
		}
	}

	tmm_misc.mode = mode;
	err = misc_register(&tmm_misc);
	if (err)
		goto destroy_tori;
	return 0;

destroy_tori:
	tmm_tori_destroy();
	return err;
}

static void __exit tmm_exit(void)
{
	misc_deregister(&tmm_misc);
	tmm_tori_destroy();
}

module_init(tmm_init);
module_exit(tmm_exit);

MODULE_IMPORT_NS(TORUSMM);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("The torusmm authors");
MODULE_DESCRIPTION("torusmm: software address spaces for shadow-paging experiments");
