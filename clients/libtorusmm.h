/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm: a small client-side helper for /dev/torusmm.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * One static inline wrapper per ioctl of include/uapi/linux/torusmm.h, each
 * returning 0 (or the ioctl's non-negative value: a descriptor, or 1 for a
 * translation or copy that faulted) on success and -errno on failure, so
 * that callers never read errno.  torusmm_allocate() and
 * torusmm_free() are the original design's allocate and free: they are
 * wrappers over TORUSMM_MMAP and TORUSMM_MUNMAP here, not ioctls of their
 * own.  Documentation/torusmm-api.rst documents the ABI underneath.
 */
#ifndef _LIBTORUSMM_H
#define _LIBTORUSMM_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/torusmm.h>

#define TORUSMM_DEVICE		"/dev/torusmm"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

/* A quota no space on any torus can reach: in effect, none. */
#define TORUSMM_NO_QUOTA	0xffffffffu

/* A user pointer as the ABI carries it. */
static inline __u64 torusmm_ptr(const void *p)
{
	return (__u64)(uintptr_t)p;
}

/* ioctl(2) with the result as a value or -errno. */
static inline int torusmm_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

/* Open /dev/torusmm, close-on-exec.  Return: the fd, or -errno. */
static inline int torusmm_open(void)
{
	int fd = open(TORUSMM_DEVICE, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Return: TORUSMM_API_VERSION of the running module, or -errno. */
static inline int torusmm_api_version(int dev)
{
	int ret = ioctl(dev, TORUSMM_GET_API_VERSION, 0);

	return ret < 0 ? -errno : ret;
}

/* Return: the extension's value (0: not supported), or -errno. */
static inline int torusmm_check_extension(int dev, unsigned int cap)
{
	int ret = ioctl(dev, TORUSMM_CHECK_EXTENSION, (unsigned long)cap);

	return ret < 0 ? -errno : ret;
}

/* Fill @info for torus @index.  Return: 0 or -errno. */
static inline int torusmm_torus_info(int dev, __u32 index,
				     struct torusmm_torus_info *info)
{
	memset(info, 0, sizeof(*info));
	info->index = index;
	return torusmm_ioctl(dev, TORUSMM_GET_TORUS_INFO, info);
}

/*
 * Create an address space on @torus (or TORUSMM_TORUS_ANY) with a quota of
 * @max_frames frames (0: the module's default).  Return: its fd or -errno.
 */
static inline int torusmm_create_space(int dev, __u32 torus, __u32 max_frames)
{
	struct torusmm_create_space req = {
		.torus = torus,
		.max_frames = max_frames,
	};

	return torusmm_ioctl(dev, TORUSMM_CREATE_SPACE, &req);
}

/*
 * Ask for the break @addr (0: only query).  The kernel reports failure in
 * band, as brk(2) does: *@result is then the old break.
 */
static inline int torusmm_brk(int fd, __u64 addr, __u64 *result)
{
	struct torusmm_brk req = { .addr = addr };
	int ret = torusmm_ioctl(fd, TORUSMM_BRK, &req);

	if (!ret && result)
		*result = req.result;
	return ret;
}

/* Map @length bytes; *@addr is the hint in, the start out.  0 or -errno. */
static inline int torusmm_mmap(int fd, __u64 *addr, __u64 length, __u32 prot,
			       __u32 flags)
{
	struct torusmm_mmap req = {
		.addr = *addr,
		.length = length,
		.prot = prot,
		.flags = flags,
	};
	int ret = torusmm_ioctl(fd, TORUSMM_MMAP, &req);

	if (!ret)
		*addr = req.addr;
	return ret;
}

static inline int torusmm_munmap(int fd, __u64 addr, __u64 length)
{
	struct torusmm_munmap req = { .addr = addr, .length = length };

	return torusmm_ioctl(fd, TORUSMM_MUNMAP, &req);
}

static inline int torusmm_mprotect(int fd, __u64 addr, __u64 length,
				   __u32 prot)
{
	struct torusmm_mprotect req = {
		.addr = addr,
		.length = length,
		.prot = prot,
	};

	return torusmm_ioctl(fd, TORUSMM_MPROTECT, &req);
}

/*
 * Translate @addr for @access (TORUSMM_ACCESS_*) with @flags
 * (TORUSMM_TRANSLATE_*).  A fault is not an error: the call returns 1 and
 * @out->fault holds the code, which may be 0 (a supervisor read of a page
 * that is not present), so test the return value, not the code.
 * Return: 0 (translated, @out->tpa set), 1 (faulted) or -errno.
 */
static inline int torusmm_translate(int fd, __u64 addr, __u32 access,
				    __u32 flags, struct torusmm_translate *out)
{
	memset(out, 0, sizeof(*out));
	out->addr = addr;
	out->access = access;
	out->flags = flags;
	return torusmm_ioctl(fd, TORUSMM_TRANSLATE, out);
}

/*
 * Copy between @buf and the space; @out tells how far it got and why.
 * Return: 0 when all @length bytes were copied, 1 when a fault stopped the
 * copy after @out->done bytes (@out->fault, which may be 0, and
 * @out->fault_addr tell which), or -errno.
 */
static inline int torusmm_rw(int fd, unsigned long cmd, __u64 addr,
			     void *buf, __u64 length, __u32 access,
			     struct torusmm_rw *out)
{
	memset(out, 0, sizeof(*out));
	out->addr = addr;
	out->buf = torusmm_ptr(buf);
	out->length = length;
	out->access = access;
	return torusmm_ioctl(fd, cmd, out);
}

/* TORUSMM_READ into @buf.  Return: as torusmm_rw(). */
static inline int torusmm_read(int fd, __u64 addr, void *buf, __u64 length,
			       __u32 access, struct torusmm_rw *out)
{
	return torusmm_rw(fd, TORUSMM_READ, addr, buf, length, access, out);
}

/* TORUSMM_WRITE from @buf.  Return: as torusmm_rw(). */
static inline int torusmm_write(int fd, __u64 addr, const void *buf,
				__u64 length, __u32 access,
				struct torusmm_rw *out)
{
	return torusmm_rw(fd, TORUSMM_WRITE, addr, (void *)buf, length, access,
			  out);
}

/* Return: the fd of a copy of the space, or -errno. */
static inline int torusmm_clone(int fd)
{
	struct torusmm_clone req = { 0 };

	return torusmm_ioctl(fd, TORUSMM_CLONE, &req);
}

static inline int torusmm_stats(int fd, struct torusmm_space_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	return torusmm_ioctl(fd, TORUSMM_GET_STATS, stats);
}

/*
 * Dump the regions into @buf, which holds *@count entries; *@count is set to
 * the number of regions, also on -E2BIG (then nothing is written to @buf).
 */
static inline int torusmm_dump_regions(int fd, struct torusmm_region *buf,
				       __u32 *count)
{
	struct torusmm_dump req = { .buf = torusmm_ptr(buf), .count = *count };
	int ret = torusmm_ioctl(fd, TORUSMM_DUMP_REGIONS, &req);

	if (!ret || ret == -E2BIG)
		*count = req.count;
	return ret;
}

/* As torusmm_dump_regions(), for the PTEs in [@addr, @addr + @length). */
static inline int torusmm_dump_ptes(int fd, __u64 addr, __u64 length,
				    struct torusmm_pte *buf, __u32 *count)
{
	struct torusmm_dump req = {
		.buf = torusmm_ptr(buf),
		.addr = addr,
		.length = length,
		.count = *count,
	};
	int ret = torusmm_ioctl(fd, TORUSMM_DUMP_PTES, &req);

	if (!ret || ret == -E2BIG)
		*count = req.count;
	return ret;
}

/*
 * The original design's allocate(): @size bytes of zero-filled read-write
 * memory wherever the space has room (TORUSMM_MMAP, no hint).
 */
static inline int torusmm_allocate(int fd, __u64 size, __u64 *addr)
{
	*addr = 0;
	return torusmm_mmap(fd, addr, size, TORUSMM_PROT_READ |
			    TORUSMM_PROT_WRITE, 0);
}

/* The original design's free(): TORUSMM_MUNMAP of what allocate gave. */
static inline int torusmm_free(int fd, __u64 addr, __u64 size)
{
	return torusmm_munmap(fd, addr, size);
}

/*
 * The shadow mapping (TORUSMM_CAP_SHADOW): map the space's virtual addresses
 * [@off, @off + @length) into the caller, MAP_SHARED with @prot (PROT_*), so
 * that the byte at *@addr + i is the byte at space address @off + i.  @off
 * must be page aligned and @off + @length at most 4 GiB.  A 32-bit caller
 * needs a 64-bit off_t (_FILE_OFFSET_BITS=64) for an offset of 2 GiB or
 * more; without it such an offset is -EOVERFLOW.  munmap(2) undoes it.
 * Return: 0 (*@addr set) or -errno.
 */
static inline int torusmm_shadow_map(int fd, __u64 off, size_t length,
				     int prot, void **addr)
{
	void *p;

	if ((__u64)(off_t)off != off)
		return -EOVERFLOW;
	p = mmap(NULL, length, prot, MAP_SHARED, fd, (off_t)off);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

/* The name of an errno value the ABI uses ("EINVAL"), or NULL. */
static inline const char *torusmm_errno_name(int err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ EPERM, "EPERM" },	{ ENOENT, "ENOENT" },
		{ EINTR, "EINTR" },	{ EBADF, "EBADF" },
		{ EAGAIN, "EAGAIN" },	{ ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" },	{ EFAULT, "EFAULT" },
		{ EBUSY, "EBUSY" },	{ EEXIST, "EEXIST" },
		{ ENODEV, "ENODEV" },	{ ENXIO, "ENXIO" },
		{ EINVAL, "EINVAL" },	{ EMFILE, "EMFILE" },
		{ ENFILE, "ENFILE" },	{ ENOTTY, "ENOTTY" },
		{ E2BIG, "E2BIG" },	{ ERANGE, "ERANGE" },
		{ ENOSPC, "ENOSPC" },	{ EOPNOTSUPP, "EOPNOTSUPP" },
	};
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].err == err)
			return names[i].name;
	return NULL;
}

/*
 * Write "-EINVAL" (or "-errno 42") for a negative @ret, the number for a
 * non-negative one, into @buf.  Return: @buf.
 */
static inline const char *torusmm_strret(int ret, char *buf, size_t len)
{
	const char *name = torusmm_errno_name(ret);

	if (ret >= 0)
		snprintf(buf, len, "%d", ret);
	else if (name)
		snprintf(buf, len, "-%s", name);
	else
		snprintf(buf, len, "-errno %d", -ret);
	return buf;
}

/*
 * Decode a fault code as the x86 page-fault error code reads:
 * "not-present user write", "protection supervisor fetch".
 */
static inline const char *torusmm_fault_str(__u32 fault, char *buf,
					    size_t len)
{
	const char *what = "read";

	if (fault & TORUSMM_FAULT_WRITE)
		what = "write";
	else if (fault & TORUSMM_FAULT_FETCH)
		what = "fetch";
	snprintf(buf, len, "%s %s %s",
		 (fault & TORUSMM_FAULT_PROTECTION) ? "protection" :
						      "not-present",
		 (fault & TORUSMM_FAULT_USER) ? "user" : "supervisor", what);
	return buf;
}

/* "rwx" for a TORUSMM_PROT_* value, "---" for PROT_NONE. */
static inline const char *torusmm_prot_str(__u32 prot, char buf[4])
{
	buf[0] = (prot & TORUSMM_PROT_READ) ? 'r' : '-';
	buf[1] = (prot & TORUSMM_PROT_WRITE) ? 'w' : '-';
	buf[2] = (prot & TORUSMM_PROT_EXEC) ? 'x' : '-';
	buf[3] = '\0';
	return buf;
}

/* The flag bits of a PTE as letters: "P W U A D NX PN" or dashes. */
static inline const char *torusmm_pte_str(__u32 pte, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s %s %s %s %s %s",
		 (pte & TORUSMM_PTE_PRESENT) ? "P" : "-",
		 (pte & TORUSMM_PTE_WRITABLE) ? "W" : "-",
		 (pte & TORUSMM_PTE_USER) ? "U" : "-",
		 (pte & TORUSMM_PTE_ACCESSED) ? "A" : "-",
		 (pte & TORUSMM_PTE_DIRTY) ? "D" : "-",
		 (pte & TORUSMM_PTE_NX) ? "NX" : "--",
		 (pte & TORUSMM_PTE_PROTNONE) ? "PN" : "--");
	return buf;
}

#endif /* _LIBTORUSMM_H */
