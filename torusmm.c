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
#include <linux/slab.h>
#include <linux/uaccess.h>
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

static int tmm_ioctl_mmap(struct tmm_space *space, void __user *argp)
{
	struct torusmm_mmap req;
	u32 addr;
	int err;

	if (tmm_copy_in_out(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.addr > U32_MAX) {
		if (req.flags & (TORUSMM_MAP_FIXED |
				 TORUSMM_MAP_FIXED_NOREPLACE))
			return -EINVAL;
		req.addr = 0;	/* a hint Linux would ignore */
	}
	addr = req.addr;
	err = tmm_space_mmap(space, &addr, req.length, req.prot, req.flags);
	if (err)
		return err;
	req.addr = addr;
	return copy_to_user(argp, &req, sizeof(req)) ? -EFAULT : 0;
}

static int tmm_ioctl_munmap(struct tmm_space *space, void __user *argp)
{
	struct torusmm_munmap req;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved || req.addr > U32_MAX)
		return -EINVAL;
	return tmm_space_munmap(space, req.addr, req.length);
}

static int tmm_ioctl_mprotect(struct tmm_space *space, void __user *argp)
{
	struct torusmm_mprotect req;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.addr > U32_MAX)
		return -EINVAL;
	return tmm_space_mprotect(space, req.addr, req.length, req.prot);
}

static int tmm_ioctl_translate(struct tmm_space *space, void __user *argp)
{
	const u32 known = TORUSMM_ACCESS_WRITE | TORUSMM_ACCESS_USER |
			  TORUSMM_ACCESS_EXEC;
	struct torusmm_translate req;
	struct tmm_translation tr;
	u32 access;
	int err;

	if (tmm_copy_in_out(&req, argp, sizeof(req)))
		return -EFAULT;
	if ((req.access & ~known) || (req.flags & ~TORUSMM_TRANSLATE_PEEK) ||
	    req.addr > U32_MAX)
		return -EINVAL;
	if ((req.access & TORUSMM_ACCESS_WRITE) &&
	    (req.access & TORUSMM_ACCESS_EXEC))
		return -EINVAL;

	access = req.access;
	if (req.flags & TORUSMM_TRANSLATE_PEEK)
		access |= TMM_ACCESS_PEEK;
	err = tmm_space_access(space, req.addr, access, &tr, NULL, NULL);
	if (err && err != -EFAULT)
		return err;

	req.tpa = err ? 0 : tr.tpa;
	req.fault = err ? tr.fault : 0;
	req.pte = tr.pte;	/* from the walk that decided, not a second one */
	if (copy_to_user(argp, &req, sizeof(req)))
		return -EFAULT;
	/* A fault is a result, not an error; its code may be 0 (x86's). */
	return err ? 1 : 0;
}

static int tmm_ioctl_rw(struct tmm_space *space, void __user *argp,
			bool write)
{
	struct torusmm_rw req;
	struct tmm_access result = {};
	void __user *ubuf;
	void *buf = NULL;
	int err;

	if (tmm_copy_in_out(&req, argp, sizeof(req)))
		return -EFAULT;
	if ((req.access & ~TORUSMM_ACCESS_USER) || req.length > TORUSMM_RW_MAX ||
	    req.addr > U32_MAX || req.addr + req.length > SZ_4G)
		return -EINVAL;
	ubuf = u64_to_user_ptr(req.buf);

	if (req.length) {
		buf = kvmalloc(req.length, GFP_KERNEL_ACCOUNT);
		if (!buf)
			return -ENOMEM;
		/* Check the user buffer before the space is touched. */
		err = -EFAULT;
		if (write && copy_from_user(buf, ubuf, req.length))
			goto free_buf;
		if (!write && fault_in_safe_writeable(ubuf, req.length))
			goto free_buf;
	}

	if (write)
		err = tmm_space_write(space, req.addr, buf, req.length,
				      req.access, &result);
	else
		err = tmm_space_read(space, req.addr, buf, req.length,
				     req.access, &result);
	if (err)
		goto free_buf;

	err = -EFAULT;
	if (!write && copy_to_user(ubuf, buf, result.done))
		goto free_buf;
	req.done = result.done;
	req.fault = result.fault;
	req.fault_addr = result.done < req.length ? result.fault_addr : 0;
	err = -EFAULT;
	if (copy_to_user(argp, &req, sizeof(req)))
		goto free_buf;
	/* As TORUSMM_TRANSLATE: 1 when a fault stopped the copy. */
	err = result.done < req.length ? 1 : 0;
free_buf:
	kvfree(buf);
	return err;
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
	if (cmd == TORUSMM_CLEAR_DIRTY_LOG &&
	    (req.addr % clear_unit || (end != SZ_4G && req.length % clear_unit)))
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
