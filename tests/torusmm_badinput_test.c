// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/torusmm ABI, bad input: a table of rejected calls, one
 * FIXTURE_VARIANT per row, so that each row is a test of its own and a
 * failure names its row.  For every ioctl: NULL, unmapped and read-only user
 * pointers (EFAULT), non-zero reserved fields and unknown flags (EINVAL),
 * unaligned addresses, lengths that wrap around 4 GiB, ranges in the kernel
 * half, ioctls on the wrong kind of fd and unknown ioctls (ENOTTY), the
 * per-user space cap (EMFILE), quota and torus exhaustion (ENOMEM) for a
 * write, whether to a page never touched or to one a read mapped to the
 * shared zero frame (a read there needs no frame: those rows succeed), mmap
 * lengths and hints at the edges of the window non-fixed mappings are placed
 * in (ENOMEM), and the ceilings a caller cannot raise: the module parameters
 * max_frames (EINVAL), user_max_frames and max_regions (ENOMEM), which a row
 * lowers for its call and its teardown restores.
 * An argument in read-only memory fails with EFAULT before the call does
 * anything, also for calls that would change the space: every _IOWR ioctl
 * writes its argument back before it acts.  Calls that report failure in
 * band (brk's old break, a fault, which returns 1) are rows too.
 *
 * The fixture builds a populated, non-trivial space (regions of every
 * protection, present, PROT_NONE and not-yet-faulted pages, accessed and
 * dirty bits, a heap and a grown stack), or leaves it new, or empties it,
 * prepares the row's situation (a full quota, a full torus, the space cap
 * reached, frames held by a space of another open), sets the row's module
 * parameter (a ceiling right at what the user holds), then snapshots the
 * regions, the PTEs with their accessed and dirty bits, the space statistics
 * and the torus counters.  After the row's call, all of them must be
 * byte-for-byte the same; a row whose read succeeds by mapping the zero
 * frame declares so, and then exactly that entry, a fault and a translation
 * (and, below the stack, the grown stack) may be new.  The number of rows
 * run is printed at the end.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libtorusmm.h"
#include "torusmm_test.h"

#define KERNEL		TORUSMM_KERNEL_BASE
#define GUARD		TORUSMM_STACK_TOP
#define HEAP		TORUSMM_HEAP_START
#define SZ_4G		0x100000000ull
#define BIT31		0x80000000u

/*
 * The fixture's space, from ADDR up (page offsets):
 *   0-3   read-write, populated; 0 and 1 written (accessed, dirty);
 *         3 made PROT_NONE after populate (a frame, not present)
 *   4-5   read-only, populated
 *   6-7   a hole
 *   8-11  read-write; 8 written, 9 read (the zero frame), 10 and 11 never
 *         touched
 *   12    PROT_NONE, no frame
 * plus a three-page heap (one page written), one grown stack page and a
 * read-write-exec mapping placed top-down with one page fetched (the zero
 * frame).
 */
#define ADDR		0x10000000u
#define UNTOUCHED	(ADDR + 10 * PAGE)	/* mapped RW, no frame yet */
#define READ_ONLY	(ADDR + 4 * PAGE)
#define PROT_NONE_PAGE	(ADDR + 12 * PAGE)
#define HOLE		(ADDR + 6 * PAGE)

#define MAX_REGIONS	64
#define MAX_PTES	256
#define MAX_TORI	16
#define MAX_EXTRA	256

/*
 * A row's result when the call returned 1, a fault in band.  The code may
 * be 0, so IN_BAND(0) is not 0.
 */
#define IN_BAND(code)	(0x10000 | (code))

/* ON_ANOTHER_OPEN: a new open of /dev/torusmm, made for the call. */
enum target { ON_SPACE, ON_DEVICE, ON_ANOTHER_OPEN };

/* Where the ioctl's argument pointer, or the user buffer inside it, points. */
enum user_ptr { PTR_VALID, PTR_NULL, PTR_UNMAPPED, PTR_HALF_UNMAPPED,
		PTR_READ_ONLY, PTR_PROT_NONE };

/*
 * The situation the fixture sets up before the snapshot.  FILL_SPACES fills
 * the user's space cap through the fixture's open of the device,
 * FILL_SPACES_ELSEWHERE through another one; FILL_USER_FRAMES gives a space
 * of another open some frames, which count against the user's ceiling.
 * FRESH_SPACE leaves the space as created (one region: the stack's page),
 * EMPTY_SPACE unmaps that too (no region at all).
 */
enum prepare { PREPARE_NOTHING, FILL_QUOTA, FILL_TORUS, FILL_SPACES,
	       FILL_SPACES_ELSEWHERE, FILL_USER_FRAMES, FRESH_SPACE,
	       EMPTY_SPACE };

/*
 * What a row sets its module parameter to: @delta, or @delta more than the
 * regions the space has, the frames the user's spaces hold or the space's
 * quota once the situation is prepared (with @delta 0, a ceiling already
 * reached).
 */
enum param_base { PARAM_VALUE, PARAM_REGIONS, PARAM_USER_FRAMES, PARAM_QUOTA };

/**
 * struct row_param - a module parameter a row lowers for its call
 * @name: in /sys/module/torusmm/parameters/, or NULL for none
 * @base: what @delta is added to
 * @delta: the value, or the room left under the ceiling
 */
struct row_param {
	const char *name;
	enum param_base base;
	long long delta;
};

union bad_arg {
	struct torusmm_torus_info info;
	struct torusmm_create_space create;
	struct torusmm_brk brk;
	struct torusmm_mmap mmap;
	struct torusmm_munmap munmap;
	struct torusmm_mprotect mprotect;
	struct torusmm_translate translate;
	struct torusmm_rw rw;
	struct torusmm_clone clone;
	struct torusmm_space_stats stats;
	struct torusmm_dump dump;
	struct torusmm_batch batch;
	unsigned char bytes[64];
};

/**
 * struct bad_call - the call a row makes
 * @cmd: the ioctl number
 * @target: the fd it is made on
 * @arg: the argument
 * @by_value: an _IO ioctl whose argument is @arg.bytes[0] itself
 * @index_past_end: set the torus index to the number of tori
 * @ptr: where the argument pointer points
 * @buf: where rw.buf or dump.buf points
 */
struct bad_call {
	unsigned long cmd;
	enum target target;
	union bad_arg arg;
	bool by_value;
	bool index_past_end;
	enum user_ptr ptr;
	enum user_ptr buf;
};

/* User memory to point at: valid, unmapped, half unmapped, read-only. */
struct user_memory {
	unsigned char *valid;		/* four pages */
	unsigned char *unmapped;	/* a page nothing maps */
	unsigned char *half;		/* a page, then an unmapped one */
	unsigned char *read_only;	/* a page, read-only during the call */
	unsigned char *prot_none;	/* a page, PROT_NONE */
};

/* Everything a rejected call must leave as it was. */
struct snapshot {
	struct torusmm_region regions[MAX_REGIONS];
	struct torusmm_pte ptes[MAX_PTES];
	struct torusmm_space_stats stats;
	__u32 nr_regions;
	__u32 nr_ptes;
	__u32 torus_free[MAX_TORI];
	__u32 torus_tables[MAX_TORI];
	__u32 torus_spaces[MAX_TORI];
};

/* Rows run, counted across the harness's forked children. */
static unsigned int *rows_run;

FIXTURE(bad_input) {
	int dev;
	int fd;
	int hog;
	int other_dev;		/* another open of the device */
	int other;		/* a space created through it */
	int extra[MAX_EXTRA];
	int nr_extra;
	int nr_tori;
	long long param_old;	/* the row's parameter before the row */
	bool param_set;
	struct user_memory mem;
	struct snapshot before;
	struct snapshot after;
};

/*
 * @read_first: the fixture reads the page of the call's address once the
 *		situation is prepared, mapping it to the zero frame, so that
 *		the call's write is the page's first
 * @maps_zero_frame: the call is a read that succeeds by mapping its page
 *		     to the zero frame: that entry, a fault and a translation
 *		     (and, below the stack, the stack grown down to the page)
 *		     are what it may change
 */
FIXTURE_VARIANT(bad_input) {
	struct bad_call call;
	enum prepare prepare;
	struct row_param param;
	bool read_first;
	int expect;		/* -errno, or IN_BAND(fault code) */
	__u32 fault_errors;	/* nr_fault_errors the row adds */
	bool maps_zero_frame;
};

static const char *cmd_name(unsigned long cmd)
{
	static const struct {
		unsigned long cmd;
		const char *name;
	} names[] = {
		{ TORUSMM_GET_API_VERSION, "GET_API_VERSION" },
		{ TORUSMM_CHECK_EXTENSION, "CHECK_EXTENSION" },
		{ TORUSMM_GET_TORUS_INFO, "GET_TORUS_INFO" },
		{ TORUSMM_CREATE_SPACE, "CREATE_SPACE" },
		{ TORUSMM_BRK, "BRK" },
		{ TORUSMM_MMAP, "MMAP" },
		{ TORUSMM_MUNMAP, "MUNMAP" },
		{ TORUSMM_MPROTECT, "MPROTECT" },
		{ TORUSMM_TRANSLATE, "TRANSLATE" },
		{ TORUSMM_READ, "READ" },
		{ TORUSMM_WRITE, "WRITE" },
		{ TORUSMM_CLONE, "CLONE" },
		{ TORUSMM_GET_STATS, "GET_STATS" },
		{ TORUSMM_DUMP_REGIONS, "DUMP_REGIONS" },
		{ TORUSMM_DUMP_PTES, "DUMP_PTES" },
		{ TORUSMM_BATCH, "BATCH" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].cmd == cmd)
			return names[i].name;
	return "an unknown ioctl";
}

/* "-EINVAL", or "in-band fault 0x6". */
static const char *result_str(int ret, char *buf, size_t len)
{
	if (ret >= IN_BAND(0)) {
		snprintf(buf, len, "in-band fault %#x", ret & 0xffff);
		return buf;
	}
	return torusmm_strret(ret, buf, len);
}

static void __attribute__((constructor)) count_rows_init(void)
{
	rows_run = mmap(NULL, sizeof(*rows_run), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rows_run == MAP_FAILED)
		rows_run = NULL;
}

static void __attribute__((destructor)) count_rows_print(void)
{
	if (rows_run)
		ksft_print_msg("bad-input rows run: %u\n", *rows_run);
}

static void map(struct __test_metadata *_metadata, int fd, __u64 addr,
		__u64 length, __u32 prot, __u32 flags)
{
	int ret = torusmm_mmap(fd, &addr, length, prot, flags);

	ASSERT_EQ(0, ret) TH_LOG("setup mmap(%#llx): %s",
				 (unsigned long long)addr, strerror(-ret));
}

static void touch(struct __test_metadata *_metadata, int fd, __u64 addr,
		  __u32 access)
{
	struct torusmm_translate tr;

	ASSERT_EQ(0, torusmm_translate(fd, addr, access, 0, &tr));
	ASSERT_EQ(0, tr.fault) TH_LOG("setup access at %#llx faulted",
				      (unsigned long long)addr);
}

/* Build the non-trivial space the table runs against (see ADDR). */
static void build_space(struct __test_metadata *_metadata, int fd)
{
	struct torusmm_rw rw;
	__u64 brk, top = 0;

	map(_metadata, fd, ADDR, 4 * PAGE, RW, FIXED | POPULATE);
	ASSERT_EQ(0, torusmm_write(fd, ADDR + 100, "torusmm", 7, USER, &rw));
	touch(_metadata, fd, ADDR + PAGE, WRITE | USER);
	map(_metadata, fd, READ_ONLY, 2 * PAGE, R, FIXED | POPULATE);
	map(_metadata, fd, ADDR + 8 * PAGE, 4 * PAGE, RW, FIXED);
	touch(_metadata, fd, ADDR + 8 * PAGE, WRITE | USER);
	touch(_metadata, fd, ADDR + 9 * PAGE, USER);
	map(_metadata, fd, PROT_NONE_PAGE, PAGE, TORUSMM_PROT_NONE, FIXED);
	ASSERT_EQ(0, torusmm_mprotect(fd, ADDR + 3 * PAGE, PAGE,
				      TORUSMM_PROT_NONE));
	ASSERT_EQ(0, torusmm_brk(fd, HEAP + 2 * PAGE + 123, &brk));
	touch(_metadata, fd, HEAP, WRITE | USER);
	touch(_metadata, fd, STACK_PAGE - PAGE, WRITE | USER);
	ASSERT_EQ(0, torusmm_mmap(fd, &top, 3 * PAGE, RWX, 0));
	touch(_metadata, fd, top, EXEC | USER);
}

static __u32 frames_used(struct __test_metadata *_metadata, int fd)
{
	struct torusmm_space_stats stats;

	ASSERT_EQ(0, torusmm_stats(fd, &stats));
	return stats.nr_data_frames + stats.nr_table_frames;
}

/*
 * Give a new space (returned) every free frame of @torus, so that the next
 * frame anyone asks for is not there.  Bulk populates first, then single
 * pages; a last page that needs a table too is made room for by freeing one.
 */
static int fill_torus(struct __test_metadata *_metadata, int dev,
		      __u32 torus)
{
	struct torusmm_torus_info info;
	__u64 base = 0, next, chunk;
	int hog, ret;

	hog = torusmm_create_space(dev, torus, TORUSMM_NO_QUOTA);
	ASSERT_LE(0, hog);
	ASSERT_EQ(0, torusmm_torus_info(dev, torus, &info));
	ASSERT_EQ(0, torusmm_mmap(hog, &base, (__u64)(info.nr_free + 1) * PAGE,
				  RW, 0));
	next = base;
	for (chunk = 1024; chunk; chunk /= 4) {
		do {
			__u64 addr = next;

			ret = torusmm_mmap(hog, &addr, chunk * PAGE, RW,
					   FIXED | POPULATE);
			if (!ret)
				next += chunk * PAGE;
		} while (!ret);
		ASSERT_EQ(-ENOMEM, ret);
	}
	ASSERT_EQ(0, torusmm_torus_info(dev, torus, &info));
	if (info.nr_free) {
		ASSERT_EQ(0, torusmm_munmap(hog, next - PAGE, PAGE));
		map(_metadata, hog, next, PAGE, RW, FIXED | POPULATE);
		ASSERT_EQ(0, torusmm_torus_info(dev, torus, &info));
	}
	ASSERT_EQ(0, info.nr_free) TH_LOG("the torus is not full");
	return hog;
}

/*
 * Create spaces through @dev until the user has max_spaces live; return how
 * many.  Nothing else of this user holds a space while the table runs.
 */
static int fill_spaces(struct __test_metadata *_metadata, int dev,
		       int *extra)
{
	int max_spaces = torusmm_param_get("max_spaces"), n = 0;

	if (max_spaces == -ENOENT)
		max_spaces = 64;
	ASSERT_LE(1, max_spaces);
	ASSERT_GE(MAX_EXTRA, max_spaces - 1);
	/* The fixture's own space is the first. */
	while (n < max_spaces - 1) {
		extra[n] = torusmm_create_space(dev, 0, 0);
		ASSERT_LE(0, extra[n]) TH_LOG("space %d of %d: %s", n + 2,
					      max_spaces, strerror(-extra[n]));
		n++;
	}
	return n;
}

/*
 * Give a space of another open of the device frames of its own, so that
 * the user's frames are not all in the fixture's space.
 */
static void hold_frames_elsewhere(struct __test_metadata *_metadata,
				  struct _test_data_bad_input *self)
{
	self->other_dev = torusmm_open();
	ASSERT_LE(0, self->other_dev);
	self->other = torusmm_create_space(self->other_dev, 0,
					   TORUSMM_NO_QUOTA);
	ASSERT_LE(0, self->other);
	map(_metadata, self->other, ADDR, 8 * PAGE, RW, FIXED | POPULATE);
}

/* The frames every space the fixture holds has: all the user's frames. */
static long long user_frames(struct __test_metadata *_metadata,
			     struct _test_data_bad_input *self)
{
	long long frames = frames_used(_metadata, self->fd);
	int i;

	if (self->other >= 0)
		frames += frames_used(_metadata, self->other);
	if (self->hog >= 0)
		frames += frames_used(_metadata, self->hog);
	for (i = 0; i < self->nr_extra; i++)
		frames += frames_used(_metadata, self->extra[i]);
	return frames;
}

/* Set the row's module parameter, if it has one; teardown restores it. */
static void set_row_param(struct __test_metadata *_metadata,
			  struct _test_data_bad_input *self,
			  const struct row_param *param)
{
	struct torusmm_space_stats stats;
	long long value = param->delta;
	int ret;

	if (!param->name)
		return;
	if (param->base == PARAM_REGIONS) {
		ASSERT_EQ(0, torusmm_stats(self->fd, &stats));
		value += stats.nr_regions;
	} else if (param->base == PARAM_USER_FRAMES) {
		value += user_frames(_metadata, self);
	} else if (param->base == PARAM_QUOTA) {
		ASSERT_EQ(0, torusmm_stats(self->fd, &stats));
		value += stats.max_frames;
	}
	self->param_old = torusmm_param_get(param->name);
	ASSERT_LE(0, self->param_old)
		TH_LOG("no parameter %s: %s", param->name,
		       strerror((int)-self->param_old));
	ret = torusmm_param_set(param->name, value);
	ASSERT_EQ(0, ret) TH_LOG("%s=%lld: %s", param->name, value,
				 strerror(-ret));
	self->param_set = true;
	ksft_print_msg("%s=%lld for this row\n", param->name, value);
}

static void take_snapshot(struct __test_metadata *_metadata, int dev,
			  int fd, int nr_tori, struct snapshot *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->nr_regions = MAX_REGIONS;
	ASSERT_EQ(0, torusmm_dump_regions(fd, s->regions, &s->nr_regions));
	s->nr_ptes = MAX_PTES;
	ASSERT_EQ(0, torusmm_dump_ptes(fd, 0, 0, s->ptes, &s->nr_ptes));
	ASSERT_EQ(0, torusmm_stats(fd, &s->stats));
	for (i = 0; i < nr_tori; i++) {
		struct torusmm_torus_info info;

		ASSERT_EQ(0, torusmm_torus_info(dev, i, &info));
		s->torus_free[i] = info.nr_free;
		s->torus_tables[i] = info.nr_table_frames;
		s->torus_spaces[i] = info.nr_spaces;
	}
}

/* The space address a TORUSMM_TRANSLATE, READ or WRITE row's call uses. */
static __u32 call_addr(const struct bad_call *call)
{
	if (call->cmd == TORUSMM_TRANSLATE)
		return call->arg.translate.addr;
	return call->arg.rw.addr;
}

/* 1 + the index of the first of @len bytes at @buf that is not 0, or 0. */
static size_t first_nonzero(const unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i])
			return i + 1;
	return 0;
}

/* Read the page at @addr, which must map it to the zero frame. */
static void read_zero_page(struct __test_metadata *_metadata, int fd,
			   __u32 addr)
{
	struct torusmm_translate tr;
	int ret = torusmm_translate(fd, addr, USER, 0, &tr);

	ASSERT_EQ(0, ret) TH_LOG("setup read at %#x: %d", addr, ret);
	ASSERT_EQ(ZERO_TPA, tr.tpa & TORUSMM_PTE_FRAME_MASK)
		TH_LOG("setup read at %#x: tpa %#llx", addr,
		       (unsigned long long)tr.tpa);
	ASSERT_EQ(ZERO_PTE_RW, tr.pte);
}

/*
 * Turn @s, taken before a read that maps the page at @addr to the zero
 * frame, into what must be seen after it: one more entry, a fault and a
 * translation; for a page in no region (just below the stack), the stack's
 * region and stack_start moved down to it.  Nothing else, no frame in
 * particular.
 */
static void add_zero_page(struct __test_metadata *_metadata,
			  struct snapshot *s, __u32 addr)
{
	__u32 page = addr & ~(PAGE - 1), i, at;
	bool grows = true;

	ASSERT_GT(MAX_PTES, s->nr_ptes);
	for (at = 0; at < s->nr_ptes && s->ptes[at].addr < page; at++)
		;
	ASSERT_TRUE(at == s->nr_ptes || s->ptes[at].addr != page)
		TH_LOG("%#x held a frame already", page);
	memmove(&s->ptes[at + 1], &s->ptes[at],
		(s->nr_ptes - at) * sizeof(s->ptes[0]));
	s->ptes[at].addr = page;
	s->ptes[at].pte = ZERO_PTE_RW;
	s->nr_ptes++;
	s->stats.nr_faults++;
	s->stats.nr_translations++;
	for (i = 0; i < s->nr_regions; i++)
		if (s->regions[i].start <= page && page < s->regions[i].end)
			grows = false;
	if (!grows)
		return;
	ASSERT_GT(s->stats.stack_start, page) TH_LOG("%#x is in no region", page);
	for (i = 0; i < s->nr_regions; i++)
		if (s->regions[i].start == s->stats.stack_start)
			break;
	ASSERT_GT(s->nr_regions, i) TH_LOG("no stack region");
	s->regions[i].start = page;
	s->stats.stack_start = page;
}

static void *map_user_pages(struct __test_metadata *_metadata,
			    unsigned int n)
{
	void *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_TRUE(p != MAP_FAILED);
	return p;
}

static void make_user_memory(struct __test_metadata *_metadata,
			     struct user_memory *mem)
{
	mem->valid = map_user_pages(_metadata, 4);
	memset(mem->valid, 0xbb, 4 * PAGE);
	mem->read_only = map_user_pages(_metadata, 1);
	mem->prot_none = map_user_pages(_metadata, 1);
	ASSERT_EQ(0, mprotect(mem->prot_none, PAGE, PROT_NONE));
	mem->half = map_user_pages(_metadata, 2);
	ASSERT_EQ(0, munmap(mem->half + PAGE, PAGE));
	mem->unmapped = map_user_pages(_metadata, 1);
	ASSERT_EQ(0, munmap(mem->unmapped, PAGE));
}

/* Empty the region tree of a fresh space: its only region is the stack. */
static void unmap_the_stack(struct __test_metadata *_metadata, int fd)
{
	ASSERT_EQ(0, torusmm_munmap(fd, STACK_PAGE, PAGE));
}

FIXTURE_SETUP(bad_input)
{
	__u32 quota = TORUSMM_NO_QUOTA;

	self->fd = -1;
	self->hog = -1;
	self->other_dev = -1;
	self->other = -1;
	/* A row killed by its timeout ran no teardown: undo what it set. */
	torusmm_tunables_restore();
	self->dev = torusmm_open();
	/* No SKIP: this harness would still run the test body after it. */
	ASSERT_LE(0, self->dev) TH_LOG("open " TORUSMM_DEVICE ": %s%s",
				       strerror(-self->dev),
				       self->dev == -ENOENT ?
				       " (is torusmm.ko loaded?)" : "");
	self->nr_tori = torusmm_check_extension(self->dev,
						TORUSMM_CAP_NR_TORI);
	ASSERT_LE(1, self->nr_tori);
	ASSERT_GE(MAX_TORI, self->nr_tori);
	make_user_memory(_metadata, &self->mem);

	/* A full quota: measure what the space uses, make that its quota. */
	if (variant->prepare == FILL_QUOTA) {
		self->fd = torusmm_create_space(self->dev, 0, TORUSMM_NO_QUOTA);
		ASSERT_LE(0, self->fd);
		build_space(_metadata, self->fd);
		quota = frames_used(_metadata, self->fd);
		close(self->fd);
	}
	self->fd = torusmm_create_space(self->dev, 0, quota);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s", strerror(-self->fd));
	if (variant->prepare == EMPTY_SPACE)
		unmap_the_stack(_metadata, self->fd);
	else if (variant->prepare != FRESH_SPACE)
		build_space(_metadata, self->fd);
	if (variant->prepare == FILL_QUOTA)
		ASSERT_EQ(quota, frames_used(_metadata, self->fd));
	if (variant->prepare == FILL_TORUS)
		self->hog = fill_torus(_metadata, self->dev, 0);
	if (variant->prepare == FILL_SPACES)
		self->nr_extra = fill_spaces(_metadata, self->dev, self->extra);
	if (variant->prepare == FILL_SPACES_ELSEWHERE) {
		self->other_dev = torusmm_open();
		ASSERT_LE(0, self->other_dev);
		self->nr_extra = fill_spaces(_metadata, self->other_dev,
					     self->extra);
	}
	if (variant->prepare == FILL_USER_FRAMES)
		hold_frames_elsewhere(_metadata, self);
	set_row_param(_metadata, self, &variant->param);
	if (variant->read_first)
		read_zero_page(_metadata, self->fd, call_addr(&variant->call));
	take_snapshot(_metadata, self->dev, self->fd, self->nr_tori,
		      &self->before);
}

FIXTURE_TEARDOWN(bad_input)
{
	if (self->param_set)
		EXPECT_EQ(0, torusmm_param_set(variant->param.name,
					       self->param_old))
			TH_LOG("cannot restore %s", variant->param.name);
	while (self->nr_extra)
		close(self->extra[--self->nr_extra]);
	if (self->other >= 0)
		close(self->other);
	if (self->other_dev >= 0)
		close(self->other_dev);
	if (self->hog >= 0)
		close(self->hog);
	if (self->fd >= 0)
		close(self->fd);
	if (self->dev >= 0)
		close(self->dev);
}

static void *user_pointer(const struct user_memory *mem, enum user_ptr ptr,
			  void *valid)
{
	switch (ptr) {
	case PTR_VALID:
		return valid;
	case PTR_NULL:
		return NULL;
	case PTR_UNMAPPED:
		return mem->unmapped;
	case PTR_HALF_UNMAPPED:
		return mem->half;
	case PTR_READ_ONLY:
		return mem->read_only;
	case PTR_PROT_NONE:
		return mem->prot_none;
	}
	return NULL;
}

/*
 * The vector of a TORUSMM_BATCH row: ops that would each map the hole (with
 * frames) if any ran, where @where says.  PTR_HALF_UNMAPPED: the last op's
 * last 36 bytes lie in the unmapped page.  PTR_READ_ONLY: in the second
 * half of the read-only page (a read-only header may use the first).
 */
static void *batch_vector(const struct user_memory *mem, enum user_ptr where,
			  __u32 count)
{
	const struct torusmm_batch_op map_the_hole = {
		.op = TORUSMM_OP_MMAP, .addr = HOLE, .length = 2 * PAGE,
		.prot = RW, .flags = FIXED | POPULATE,
	};
	struct torusmm_batch_op *v;
	size_t room, n, i;

	switch (where) {
	case PTR_VALID:
		v = (struct torusmm_batch_op *)mem->valid;
		room = 4 * PAGE;
		break;
	case PTR_HALF_UNMAPPED:
		n = count ? count : 1;
		if (n * sizeof(*v) > PAGE)
			n = PAGE / sizeof(*v);
		v = (struct torusmm_batch_op *)(mem->half + PAGE + 36 -
						n * sizeof(*v));
		room = n * sizeof(*v) - 36;
		break;
	case PTR_READ_ONLY:
		v = (struct torusmm_batch_op *)(mem->read_only + PAGE / 2);
		room = PAGE / 2;
		break;
	default:
		return user_pointer(mem, where, NULL);
	}
	for (i = 0; (i + 1) * sizeof(*v) <= room; i++)
		v[i] = map_the_hole;
	if (where == PTR_HALF_UNMAPPED && room % sizeof(*v))
		memcpy(&v[i], &map_the_hole, room % sizeof(*v));
	return v;
}

/*
 * Make @call on @fd.  Return: 0, -errno, or IN_BAND(fault code) for a
 * call that reported a fault in band (TORUSMM_TRANSLATE, TORUSMM_READ and
 * TORUSMM_WRITE return 1).
 */
static int make_call(struct __test_metadata *_metadata, int fd,
		     const struct bad_call *call,
		     const struct user_memory *mem, int nr_tori)
{
	union bad_arg arg = call->arg;
	void *argp;
	int ret;

	if (call->index_past_end && call->cmd == TORUSMM_GET_TORUS_INFO)
		arg.info.index = nr_tori;
	else if (call->index_past_end)
		arg.create.torus = nr_tori;
	if (call->cmd == TORUSMM_READ || call->cmd == TORUSMM_WRITE)
		arg.rw.buf = torusmm_ptr(user_pointer(mem, call->buf,
						      mem->valid));
	if (call->cmd == TORUSMM_DUMP_REGIONS || call->cmd == TORUSMM_DUMP_PTES)
		arg.dump.buf = torusmm_ptr(user_pointer(mem, call->buf,
							mem->valid));
	if (call->cmd == TORUSMM_BATCH)
		arg.batch.ops = torusmm_ptr(batch_vector(mem, call->buf,
							 arg.batch.count));
	argp = user_pointer(mem, call->ptr, &arg);
	if (call->ptr == PTR_READ_ONLY)
		memcpy(mem->read_only, &arg, sizeof(arg));
	ASSERT_EQ(0, mprotect(mem->read_only, PAGE, PROT_READ));

	if (call->by_value)
		ret = ioctl(fd, call->cmd, (unsigned long)arg.bytes[0]);
	else
		ret = ioctl(fd, call->cmd, argp);
	if (ret < 0)
		return -errno;
	/* A row that should have failed made a space: do not leak it. */
	if (call->cmd == TORUSMM_CREATE_SPACE || call->cmd == TORUSMM_CLONE)
		close(ret);
	if (call->target != ON_SPACE)
		return ret;

	switch (call->cmd) {
	case TORUSMM_BRK:
		/* brk(2) fails in band (the old break); glibc says ENOMEM. */
		return arg.brk.result == arg.brk.addr ? 0 : -ENOMEM;
	case TORUSMM_TRANSLATE:
		EXPECT_EQ(ret, !arg.translate.tpa) TH_LOG("tpa 0 iff it faulted");
		return ret ? IN_BAND(arg.translate.fault) : 0;
	case TORUSMM_READ:
	case TORUSMM_WRITE:
		EXPECT_EQ(ret, arg.rw.done < arg.rw.length)
			TH_LOG("1 iff the copy stopped short");
		if (!ret)
			return 0;
		/* Every in-band row faults at its first byte. */
		EXPECT_EQ(0, arg.rw.done);
		EXPECT_EQ(arg.rw.addr, arg.rw.fault_addr);
		return IN_BAND(arg.rw.fault);
	}
	return ret;
}

TEST_F_TIMEOUT(bad_input, leaves_everything_unchanged, 60)
{
	const struct bad_call *call = &variant->call;
	struct snapshot *before = &self->before, *after = &self->after;
	int fd = call->target == ON_SPACE ? self->fd : self->dev;
	char got[32], want[32];
	int ret, i;

	if (call->target == ON_ANOTHER_OPEN) {
		fd = torusmm_open();
		ASSERT_LE(0, fd);
	}
	ret = make_call(_metadata, fd, call, &self->mem, self->nr_tori);
	if (call->target == ON_ANOTHER_OPEN)
		close(fd);
	if (rows_run)
		__atomic_add_fetch(rows_run, 1, __ATOMIC_SEQ_CST);
	ksft_print_msg("%s on the %s fd: %s (expected %s)\n",
		       cmd_name(call->cmd),
		       call->target == ON_SPACE ? "space" :
		       call->target == ON_DEVICE ? "device" : "new device",
		       result_str(ret, got, sizeof(got)),
		       result_str(variant->expect, want, sizeof(want)));
	fflush(stdout);
	EXPECT_EQ(variant->expect, ret);
	if (variant->maps_zero_frame && call->cmd == TORUSMM_READ)
		EXPECT_EQ(0, first_nonzero(self->mem.valid,
					   call->arg.rw.length))
			TH_LOG("a read from the zero frame returned non-zero");

	take_snapshot(_metadata, self->dev, self->fd, self->nr_tori, after);
	before->stats.nr_fault_errors += variant->fault_errors;
	if (variant->maps_zero_frame)
		add_zero_page(_metadata, before, call_addr(call));
	EXPECT_EQ(before->nr_regions, after->nr_regions);
	for (i = 0; i < MAX_REGIONS; i++)
		if (memcmp(&before->regions[i], &after->regions[i],
			   sizeof(before->regions[i])))
			break;
	EXPECT_EQ(MAX_REGIONS, i)
		TH_LOG("first change: region [%#x, %#x) prot %#x is now [%#x, %#x) prot %#x",
		       before->regions[i].start, before->regions[i].end,
		       before->regions[i].prot, after->regions[i].start,
		       after->regions[i].end, after->regions[i].prot);
	EXPECT_EQ(before->nr_ptes, after->nr_ptes);
	for (i = 0; i < MAX_PTES; i++)
		if (before->ptes[i].addr != after->ptes[i].addr ||
		    before->ptes[i].pte != after->ptes[i].pte)
			break;
	EXPECT_EQ(MAX_PTES, i)
		TH_LOG("first change: PTE %#x of %#x is now %#x of %#x",
		       before->ptes[i].pte, before->ptes[i].addr,
		       after->ptes[i].pte, after->ptes[i].addr);
	EXPECT_EQ(0, memcmp(&before->stats, &after->stats,
			    sizeof(before->stats)))
		TH_LOG("the space statistics changed");
	for (i = 0; i < self->nr_tori; i++) {
		EXPECT_EQ(before->torus_free[i], after->torus_free[i])
			TH_LOG("torus %d: frames leaked or taken", i);
		EXPECT_EQ(before->torus_tables[i], after->torus_tables[i]);
		EXPECT_EQ(before->torus_spaces[i], after->torus_spaces[i]);
	}
}

/* Device ioctls. */

FIXTURE_VARIANT_ADD(bad_input, api_version_with_an_argument_einval) {
	.call = {
		.cmd = TORUSMM_GET_API_VERSION, .target = ON_DEVICE,
		.by_value = true, .arg.bytes = { 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, torus_info_index_past_the_end_einval) {
	.call = {
		.cmd = TORUSMM_GET_TORUS_INFO, .target = ON_DEVICE,
		.index_past_end = true,
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, torus_info_index_any_einval) {
	.call = {
		.cmd = TORUSMM_GET_TORUS_INFO, .target = ON_DEVICE,
		.arg.info = { .index = TORUSMM_TORUS_ANY },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, torus_info_reserved_einval) {
	.call = {
		.cmd = TORUSMM_GET_TORUS_INFO, .target = ON_DEVICE,
		.arg.info = { .reserved = 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, torus_info_null_efault) {
	.call = {
		.cmd = TORUSMM_GET_TORUS_INFO, .target = ON_DEVICE,
		.ptr = PTR_NULL,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, torus_info_unmapped_efault) {
	.call = {
		.cmd = TORUSMM_GET_TORUS_INFO, .target = ON_DEVICE,
		.ptr = PTR_UNMAPPED,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, torus_info_read_only_efault) {
	.call = {
		.cmd = TORUSMM_GET_TORUS_INFO, .target = ON_DEVICE,
		.ptr = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, create_flags_einval) {
	.call = {
		.cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE,
		.arg.create = { .flags = 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, create_flags_bit31_einval) {
	.call = {
		.cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE,
		.arg.create = { .flags = BIT31 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, create_reserved_einval) {
	.call = {
		.cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE,
		.arg.create = { .reserved = 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, create_torus_past_the_end_einval) {
	.call = {
		.cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE,
		.index_past_end = true,
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, create_torus_any_minus_one_einval) {
	.call = {
		.cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE,
		.arg.create = { .torus = TORUSMM_TORUS_ANY - 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, create_null_efault) {
	.call = {
		.cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE,
		.ptr = PTR_NULL,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, create_unmapped_efault) {
	.call = {
		.cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE,
		.ptr = PTR_UNMAPPED,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, create_past_max_spaces_emfile) {
	.call = { .cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE },
	.prepare = FILL_SPACES, .expect = -EMFILE,
};

FIXTURE_VARIANT_ADD(bad_input, create_on_another_open_past_max_spaces_emfile) {
	.call = { .cmd = TORUSMM_CREATE_SPACE, .target = ON_ANOTHER_OPEN },
	.prepare = FILL_SPACES, .expect = -EMFILE,
};

FIXTURE_VARIANT_ADD(bad_input, create_past_max_spaces_filled_through_another_open_emfile) {
	.call = { .cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE },
	.prepare = FILL_SPACES_ELSEWHERE, .expect = -EMFILE,
};

FIXTURE_VARIANT_ADD(bad_input, create_past_the_user_frames_enomem) {
	.call = { .cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE },
	.prepare = FILL_USER_FRAMES,
	.param = { "user_max_frames", PARAM_USER_FRAMES },
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, create_quota_above_the_max_frames_ceiling_einval) {
	.call = {
		.cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE,
		.arg.create = { .max_frames = 1001 },
	},
	.param = { "max_frames", PARAM_VALUE, 1000 }, .expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, create_no_quota_above_the_max_frames_ceiling_einval) {
	.call = {
		.cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE,
		.arg.create = { .max_frames = TORUSMM_NO_QUOTA },
	},
	.param = { "max_frames", PARAM_VALUE, 1000 }, .expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, create_on_a_full_torus_enomem) {
	.call = { .cmd = TORUSMM_CREATE_SPACE, .target = ON_DEVICE },
	.prepare = FILL_TORUS, .expect = -ENOMEM,
};

/* Each ioctl on the wrong kind of fd, and unknown ioctls. */

FIXTURE_VARIANT_ADD(bad_input, brk_on_the_device_enotty) {
	.call = { .cmd = TORUSMM_BRK, .target = ON_DEVICE },
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_on_the_device_enotty) {
	.call = {
		.cmd = TORUSMM_MMAP, .target = ON_DEVICE,
		.arg.mmap = { .length = PAGE, .prot = RW },
	},
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_on_the_device_enotty) {
	.call = {
		.cmd = TORUSMM_MUNMAP, .target = ON_DEVICE,
		.arg.munmap = { .addr = ADDR, .length = PAGE },
	},
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_on_the_device_enotty) {
	.call = {
		.cmd = TORUSMM_MPROTECT, .target = ON_DEVICE,
		.arg.mprotect = { .addr = ADDR, .length = PAGE, .prot = R },
	},
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, translate_on_the_device_enotty) {
	.call = {
		.cmd = TORUSMM_TRANSLATE, .target = ON_DEVICE,
		.arg.translate = { .addr = ADDR },
	},
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, read_on_the_device_enotty) {
	.call = {
		.cmd = TORUSMM_READ, .target = ON_DEVICE,
		.arg.rw = { .addr = ADDR, .length = 16 },
	},
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, write_on_the_device_enotty) {
	.call = {
		.cmd = TORUSMM_WRITE, .target = ON_DEVICE,
		.arg.rw = { .addr = ADDR, .length = 16 },
	},
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, clone_on_the_device_enotty) {
	.call = { .cmd = TORUSMM_CLONE, .target = ON_DEVICE },
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, stats_on_the_device_enotty) {
	.call = { .cmd = TORUSMM_GET_STATS, .target = ON_DEVICE },
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, dump_regions_on_the_device_enotty) {
	.call = {
		.cmd = TORUSMM_DUMP_REGIONS, .target = ON_DEVICE,
		.arg.dump = { .count = MAX_REGIONS },
	},
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, dump_ptes_on_the_device_enotty) {
	.call = {
		.cmd = TORUSMM_DUMP_PTES, .target = ON_DEVICE,
		.arg.dump = { .count = MAX_PTES },
	},
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, api_version_on_a_space_enotty) {
	.call = {
		.cmd = TORUSMM_GET_API_VERSION, .target = ON_SPACE,
		.by_value = true,
	},
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, check_extension_on_a_space_enotty) {
	.call = {
		.cmd = TORUSMM_CHECK_EXTENSION, .target = ON_SPACE,
		.by_value = true, .arg.bytes = { TORUSMM_CAP_NR_TORI },
	},
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, torus_info_on_a_space_enotty) {
	.call = { .cmd = TORUSMM_GET_TORUS_INFO, .target = ON_SPACE },
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, create_on_a_space_enotty) {
	.call = { .cmd = TORUSMM_CREATE_SPACE, .target = ON_SPACE },
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, unknown_device_ioctl_enotty) {
	.call = { .cmd = _IO(TORUSMMIO, 0x04), .target = ON_DEVICE },
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, unknown_space_ioctl_enotty) {
	.call = { .cmd = _IO(TORUSMMIO, 0x1b), .target = ON_SPACE },
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_number_with_another_size_enotty) {
	.call = { .cmd = _IOWR(TORUSMMIO, 0x11, __u64), .target = ON_SPACE },
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_number_with_another_direction_enotty) {
	.call = {
		.cmd = _IOW(TORUSMMIO, 0x11, struct torusmm_mmap),
		.target = ON_SPACE, .arg.mmap = { .length = PAGE, .prot = RW },
	},
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, torus_info_number_as_ior_enotty) {
	.call = {
		.cmd = _IOR(TORUSMMIO, 0x02, struct torusmm_torus_info),
		.target = ON_DEVICE,
	},
	.expect = -ENOTTY,
};

FIXTURE_VARIANT_ADD(bad_input, terminal_ioctl_on_a_space_enotty) {
	.call = { .cmd = _IO('T', 0x01), .target = ON_SPACE },
	.expect = -ENOTTY,
};

/* TORUSMM_BRK: failure to move is in band, as brk(2)'s old break. */

FIXTURE_VARIANT_ADD(bad_input, brk_flags_einval) {
	.call = {
		.cmd = TORUSMM_BRK,
		.arg.brk = { .addr = HEAP + PAGE, .flags = 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, brk_reserved_einval) {
	.call = {
		.cmd = TORUSMM_BRK,
		.arg.brk = { .addr = HEAP + PAGE, .reserved = 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, brk_above_4g_einval) {
	.call = { .cmd = TORUSMM_BRK, .arg.brk = { .addr = SZ_4G + HEAP } },
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, brk_null_efault) {
	.call = { .cmd = TORUSMM_BRK, .ptr = PTR_NULL },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, brk_unmapped_efault) {
	.call = { .cmd = TORUSMM_BRK, .ptr = PTR_UNMAPPED },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, brk_read_only_efault_before_the_break_moves) {
	.call = {
		.cmd = TORUSMM_BRK, .arg.brk = { .addr = HEAP + 8 * PAGE },
		.ptr = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, brk_into_a_mapping_keeps_the_break) {
	.call = { .cmd = TORUSMM_BRK, .arg.brk = { .addr = ADDR + PAGE } },
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, brk_into_the_kernel_half_keeps_the_break) {
	.call = { .cmd = TORUSMM_BRK, .arg.brk = { .addr = KERNEL + PAGE } },
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, brk_to_4g_minus_1_keeps_the_break) {
	.call = { .cmd = TORUSMM_BRK, .arg.brk = { .addr = 0xffffffffu } },
	.expect = -ENOMEM,
};

/* TORUSMM_MMAP */

FIXTURE_VARIANT_ADD(bad_input, mmap_unknown_prot_einval) {
	.call = {
		.cmd = TORUSMM_MMAP, .arg.mmap = { .length = PAGE, .prot = 8 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_prot_bit31_einval) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = PAGE, .prot = BIT31 | R },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_unknown_flag_einval) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = PAGE, .prot = RW, .flags = 1 << 3 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_flag_bit31_einval) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = PAGE, .prot = RW, .flags = BIT31 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_zero_length_einval) {
	.call = { .cmd = TORUSMM_MMAP, .arg.mmap = { .prot = RW } },
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_length_above_4g_einval) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = SZ_4G + PAGE, .prot = RW },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_length_wrapping_u64_einval) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = ~0ull, .prot = RW },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_length_4g_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = SZ_4G, .prot = RW },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_fixed_unaligned_einval) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = HOLE + 0x800, .length = PAGE, .prot = RW,
			      .flags = FIXED },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_noreplace_unaligned_einval) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = HOLE + 1, .length = PAGE, .prot = RW,
			      .flags = NOREPLACE },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_fixed_at_page_0_eperm) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = 0, .length = PAGE, .prot = RW,
			      .flags = FIXED },
	},
	.expect = -EPERM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_fixed_above_4g_einval) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = SZ_4G + HOLE, .length = PAGE, .prot = RW,
			      .flags = FIXED },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_fixed_in_the_kernel_half_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = KERNEL, .length = PAGE, .prot = RW,
			      .flags = FIXED },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_noreplace_in_the_kernel_half_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = 0xfffff000u, .length = PAGE, .prot = RW,
			      .flags = NOREPLACE },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_fixed_on_the_stack_guard_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = GUARD, .length = PAGE, .prot = RW,
			      .flags = FIXED },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_fixed_wrapping_4g_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = 0xfffff000u, .length = 2 * PAGE,
			      .prot = RW, .flags = FIXED },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_fixed_length_wrapping_32_bits_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = HOLE, .length = 0xfffff000u, .prot = RW,
			      .flags = FIXED },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_noreplace_over_a_mapping_eexist) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = HOLE - PAGE, .length = 2 * PAGE,
			      .prot = RW, .flags = NOREPLACE },
	},
	.expect = -EEXIST,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_noreplace_over_prot_none_eexist) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = PROT_NONE_PAGE, .length = PAGE,
			      .prot = RW, .flags = FIXED | NOREPLACE },
	},
	.expect = -EEXIST,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_larger_than_any_gap_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = 0x7e000000u, .prot = RW },
	},
	.expect = -ENOMEM,
};

/*
 * Non-fixed placement: the window is [TORUSMM_USER_MIN, MMAP_BASE), one page
 * short of 2 GiB - 8 MiB.  A length the window cannot hold fails, whatever
 * else the space has (nothing, only the stack page, or the fixture's
 * mappings), and so does a hint whose range overlaps a region or ends past
 * the user range: such a hint is ignored.  The window itself fits on a new
 * space (torusmm_api_test proves it).
 */

FIXTURE_VARIANT_ADD(bad_input, mmap_window_plus_a_page_on_a_new_space_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = MMAP_WINDOW + PAGE, .prot = RW },
	},
	.prepare = FRESH_SPACE, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_user_range_on_an_empty_space_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = USER_RANGE, .prot = RW },
	},
	.prepare = EMPTY_SPACE, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_window_plus_a_page_on_an_empty_space_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = MMAP_WINDOW + PAGE, .prot = RW },
	},
	.prepare = EMPTY_SPACE, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_user_range_on_a_new_space_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = USER_RANGE, .prot = RW },
	},
	.prepare = FRESH_SPACE, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_window_plus_a_page_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = MMAP_WINDOW + PAGE, .prot = RW },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_user_range_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = USER_RANGE, .prot = RW },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_window_plus_a_byte_on_a_new_space_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = MMAP_WINDOW + 1, .prot = RW },
	},
	.prepare = FRESH_SPACE, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_hint_at_user_min_over_the_stack_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = TORUSMM_USER_MIN, .length = USER_RANGE,
			      .prot = RW },
	},
	.prepare = FRESH_SPACE, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_hint_in_page_0_over_the_stack_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = 0x800, .length = USER_RANGE,
			      .prot = RW },
	},
	.prepare = FRESH_SPACE, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_hint_ending_at_the_guard_over_the_stack_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = GUARD - (MMAP_WINDOW + PAGE),
			      .length = MMAP_WINDOW + PAGE, .prot = RW },
	},
	.prepare = FRESH_SPACE, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_hint_ending_a_page_past_the_guard_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = GUARD - MMAP_WINDOW,
			      .length = MMAP_WINDOW + PAGE, .prot = RW },
	},
	.prepare = EMPTY_SPACE, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_hint_at_user_min_a_page_past_the_guard_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = TORUSMM_USER_MIN,
			      .length = USER_RANGE + PAGE, .prot = RW },
	},
	.prepare = EMPTY_SPACE, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_hint_at_user_min_over_mappings_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = TORUSMM_USER_MIN,
			      .length = MMAP_WINDOW + PAGE, .prot = RW },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_hint_above_4g_on_an_empty_space_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = SZ_4G + TORUSMM_USER_MIN,
			      .length = MMAP_WINDOW + PAGE, .prot = RW },
	},
	.prepare = EMPTY_SPACE, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_hint_in_the_kernel_half_on_an_empty_space_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = KERNEL, .length = MMAP_WINDOW + PAGE,
			      .prot = RW },
	},
	.prepare = EMPTY_SPACE, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_null_efault) {
	.call = { .cmd = TORUSMM_MMAP, .ptr = PTR_NULL },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_unmapped_efault) {
	.call = { .cmd = TORUSMM_MMAP, .ptr = PTR_UNMAPPED },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_read_only_efault_before_mapping) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = HOLE, .length = PAGE, .prot = RW,
			      .flags = FIXED | POPULATE },
		.ptr = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_hint_read_only_efault_before_mapping) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = 2 * PAGE, .prot = RW },
		.ptr = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_populate_past_the_quota_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = PAGE, .prot = RW, .flags = POPULATE },
	},
	.prepare = FILL_QUOTA, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_fixed_populate_past_the_quota_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = UNTOUCHED, .length = PAGE, .prot = RW,
			      .flags = FIXED | POPULATE },
	},
	.prepare = FILL_QUOTA, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_populate_on_a_full_torus_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = 4 * PAGE, .prot = RW,
			      .flags = POPULATE },
	},
	.prepare = FILL_TORUS, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_populate_replacing_on_a_full_torus_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = ADDR, .length = 4 * PAGE, .prot = RW,
			      .flags = FIXED | POPULATE },
	},
	.prepare = FILL_TORUS, .expect = -ENOMEM,
};

/* max_regions: no call may make more regions than the ceiling. */

FIXTURE_VARIANT_ADD(bad_input, mmap_past_max_regions_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP, .arg.mmap = { .length = PAGE, .prot = R },
	},
	.param = { "max_regions", PARAM_REGIONS }, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_on_a_new_space_past_max_regions_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP, .arg.mmap = { .length = PAGE, .prot = RW },
	},
	.prepare = FRESH_SPACE, .param = { "max_regions", PARAM_REGIONS },
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_fixed_in_a_hole_past_max_regions_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = HOLE, .length = PAGE, .prot = RWX,
			      .flags = FIXED },
	},
	.param = { "max_regions", PARAM_REGIONS }, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_fixed_splitting_a_region_past_max_regions_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = ADDR + 9 * PAGE, .length = PAGE,
			      .prot = R, .flags = FIXED },
	},
	.param = { "max_regions", PARAM_REGIONS }, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_populate_splitting_a_region_past_max_regions_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = ADDR + 9 * PAGE, .length = PAGE,
			      .prot = R, .flags = FIXED | POPULATE },
	},
	.param = { "max_regions", PARAM_REGIONS }, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_splitting_a_region_past_max_regions_enomem) {
	.call = {
		.cmd = TORUSMM_MUNMAP,
		.arg.munmap = { .addr = ADDR + 9 * PAGE, .length = PAGE },
	},
	.param = { "max_regions", PARAM_REGIONS }, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_splitting_a_region_past_max_regions_enomem) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = ADDR + 9 * PAGE, .length = PAGE,
				  .prot = R },
	},
	.param = { "max_regions", PARAM_REGIONS }, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_of_a_region_end_past_max_regions_enomem) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = ADDR + 11 * PAGE, .length = PAGE,
				  .prot = R },
	},
	.param = { "max_regions", PARAM_REGIONS }, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, brk_past_max_regions_keeps_the_break) {
	.call = { .cmd = TORUSMM_BRK, .arg.brk = { .addr = HEAP + PAGE } },
	.prepare = FRESH_SPACE, .param = { "max_regions", PARAM_REGIONS },
	.expect = -ENOMEM,
};

/* user_max_frames: the frames of all the user's spaces, of every open. */

FIXTURE_VARIANT_ADD(bad_input, mmap_populate_past_the_user_frames_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .length = 4 * PAGE, .prot = RW,
			      .flags = POPULATE },
	},
	.prepare = FILL_USER_FRAMES,
	.param = { "user_max_frames", PARAM_USER_FRAMES, 2 },
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mmap_fixed_populate_past_the_user_frames_enomem) {
	.call = {
		.cmd = TORUSMM_MMAP,
		.arg.mmap = { .addr = HOLE, .length = 2 * PAGE, .prot = RW,
			      .flags = FIXED | POPULATE },
	},
	.prepare = FILL_USER_FRAMES,
	.param = { "user_max_frames", PARAM_USER_FRAMES, 1 },
	.expect = -ENOMEM,
};

/* TORUSMM_MUNMAP */

FIXTURE_VARIANT_ADD(bad_input, munmap_unaligned_einval) {
	.call = {
		.cmd = TORUSMM_MUNMAP,
		.arg.munmap = { .addr = ADDR + 1, .length = PAGE },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_zero_length_einval) {
	.call = { .cmd = TORUSMM_MUNMAP, .arg.munmap = { .addr = ADDR } },
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_in_the_kernel_half_einval) {
	.call = {
		.cmd = TORUSMM_MUNMAP,
		.arg.munmap = { .addr = KERNEL, .length = PAGE },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_over_the_stack_guard_einval) {
	.call = {
		.cmd = TORUSMM_MUNMAP,
		.arg.munmap = { .addr = STACK_PAGE, .length = 2 * PAGE },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_length_wrapping_4g_einval) {
	.call = {
		.cmd = TORUSMM_MUNMAP,
		.arg.munmap = { .addr = ADDR, .length = 0xf0001000u },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_length_above_4g_einval) {
	.call = {
		.cmd = TORUSMM_MUNMAP,
		.arg.munmap = { .addr = ADDR, .length = 2 * SZ_4G },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_length_wrapping_u64_einval) {
	.call = {
		.cmd = TORUSMM_MUNMAP,
		.arg.munmap = { .addr = ADDR, .length = ~0ull },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_above_4g_einval) {
	.call = {
		.cmd = TORUSMM_MUNMAP,
		.arg.munmap = { .addr = SZ_4G + ADDR, .length = PAGE },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_flags_einval) {
	.call = {
		.cmd = TORUSMM_MUNMAP,
		.arg.munmap = { .addr = ADDR, .length = PAGE, .flags = 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_reserved_einval) {
	.call = {
		.cmd = TORUSMM_MUNMAP,
		.arg.munmap = { .addr = ADDR, .length = PAGE, .reserved = 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_null_efault) {
	.call = { .cmd = TORUSMM_MUNMAP, .ptr = PTR_NULL },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, munmap_unmapped_efault) {
	.call = { .cmd = TORUSMM_MUNMAP, .ptr = PTR_UNMAPPED },
	.expect = -EFAULT,
};

/* TORUSMM_MPROTECT: stricter than Linux, a hole changes nothing. */

FIXTURE_VARIANT_ADD(bad_input, mprotect_unaligned_einval) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = ADDR + 8, .length = PAGE, .prot = R },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_unknown_prot_einval) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = ADDR, .length = PAGE, .prot = 8 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_prot_bit31_einval) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = ADDR, .length = PAGE,
				  .prot = BIT31 | R },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_flags_einval) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = ADDR, .length = PAGE, .prot = R,
				  .flags = 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_in_the_kernel_half_enomem) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = KERNEL, .length = PAGE, .prot = R },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_over_the_stack_guard_enomem) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = STACK_PAGE, .length = 2 * PAGE,
				  .prot = R },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_length_wrapping_4g_einval) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = ADDR, .length = 0xf0001000u,
				  .prot = R },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_length_above_4g_einval) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = ADDR, .length = SZ_4G + PAGE,
				  .prot = R },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_above_4g_einval) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = SZ_4G + ADDR, .length = PAGE,
				  .prot = R },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_across_a_hole_enomem) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = ADDR, .length = 12 * PAGE,
				  .prot = R },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_of_nothing_enomem) {
	.call = {
		.cmd = TORUSMM_MPROTECT,
		.arg.mprotect = { .addr = HOLE, .length = PAGE, .prot = RW },
	},
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_null_efault) {
	.call = { .cmd = TORUSMM_MPROTECT, .ptr = PTR_NULL },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, mprotect_unmapped_efault) {
	.call = { .cmd = TORUSMM_MPROTECT, .ptr = PTR_UNMAPPED },
	.expect = -EFAULT,
};

/* TORUSMM_TRANSLATE: a fault is in band; a fault-in without a frame is not. */

FIXTURE_VARIANT_ADD(bad_input, translate_access_bit0_einval) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = ADDR, .access = 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, translate_access_bit3_einval) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = ADDR, .access = 1 << 3 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, translate_access_bit31_einval) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = UNTOUCHED, .access = BIT31 | USER },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, translate_write_and_fetch_einval) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = ADDR,
				   .access = WRITE | EXEC | USER },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, translate_unknown_flag_einval) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = ADDR, .access = USER,
				   .flags = 1 << 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, translate_flag_bit31_einval) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = ADDR, .access = USER,
				   .flags = BIT31 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, translate_above_4g_einval) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = SZ_4G + ADDR, .access = USER },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, translate_null_efault) {
	.call = { .cmd = TORUSMM_TRANSLATE, .ptr = PTR_NULL },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, translate_unmapped_efault) {
	.call = { .cmd = TORUSMM_TRANSLATE, .ptr = PTR_UNMAPPED },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, translate_read_only_efault_before_fault_in) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = UNTOUCHED, .access = WRITE | USER },
		.ptr = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, translate_read_only_efault_before_dirtying) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = ADDR + 9 * PAGE,
				   .access = WRITE | USER },
		.ptr = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, translate_read_only_efault_before_a_fault) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = HOLE, .access = USER },
		.ptr = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, translate_user_read_of_the_kernel_half_faults) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = KERNEL, .access = USER },
	},
	.expect = IN_BAND(F_U), .fault_errors = 1,
};

FIXTURE_VARIANT_ADD(bad_input, translate_user_write_of_the_kernel_half_faults) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = 0xfffff000u,
				   .access = WRITE | USER },
	},
	.expect = IN_BAND(F_W | F_U), .fault_errors = 1,
};

FIXTURE_VARIANT_ADD(bad_input, translate_of_page_0_faults) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = 0, .access = USER },
	},
	.expect = IN_BAND(F_U), .fault_errors = 1,
};

FIXTURE_VARIANT_ADD(bad_input, translate_of_the_stack_guard_faults) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = GUARD, .access = WRITE | USER },
	},
	.expect = IN_BAND(F_W | F_U), .fault_errors = 1,
};

FIXTURE_VARIANT_ADD(bad_input, translate_write_of_read_only_faults) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = READ_ONLY, .access = WRITE | USER },
	},
	.expect = IN_BAND(F_P | F_W | F_U), .fault_errors = 1,
};

FIXTURE_VARIANT_ADD(bad_input, translate_supervisor_read_of_a_hole_faults_with_0) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = HOLE, .access = 0 },
	},
	.expect = IN_BAND(0), .fault_errors = 1,
};

FIXTURE_VARIANT_ADD(bad_input, translate_fault_in_past_the_quota_enomem) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = UNTOUCHED, .access = WRITE | USER },
	},
	.prepare = FILL_QUOTA, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, translate_stack_growth_past_the_quota_enomem) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = STACK_PAGE - 2 * PAGE,
				   .access = WRITE | USER },
	},
	.prepare = FILL_QUOTA, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, translate_fault_in_on_a_full_torus_enomem) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = UNTOUCHED, .access = WRITE | USER },
	},
	.prepare = FILL_TORUS, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, translate_stack_growth_on_a_full_torus_enomem) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = STACK_PAGE - 2 * PAGE,
				   .access = WRITE | USER },
	},
	.prepare = FILL_TORUS, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, translate_fault_in_past_the_user_frames_enomem) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = UNTOUCHED, .access = WRITE | USER },
	},
	.prepare = FILL_USER_FRAMES,
	.param = { "user_max_frames", PARAM_USER_FRAMES },
	.expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, translate_stack_growth_past_the_user_frames_enomem) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = STACK_PAGE - 2 * PAGE,
				   .access = WRITE | USER },
	},
	.prepare = FILL_USER_FRAMES,
	.param = { "user_max_frames", PARAM_USER_FRAMES },
	.expect = -ENOMEM,
};

/*
 * A read of a page never written takes no frame: where no frame is left it
 * maps the zero frame (its table exists), and the page's first write, which
 * needs a frame, fails and changes nothing.
 */

FIXTURE_VARIANT_ADD(bad_input, translate_read_at_the_quota_maps_the_zero_frame) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = UNTOUCHED + 0x10, .access = USER },
	},
	.prepare = FILL_QUOTA, .maps_zero_frame = true,
};

FIXTURE_VARIANT_ADD(bad_input, translate_read_on_a_full_torus_maps_the_zero_frame) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = UNTOUCHED, .access = USER },
	},
	.prepare = FILL_TORUS, .maps_zero_frame = true,
};

FIXTURE_VARIANT_ADD(bad_input, translate_read_at_the_user_frames_maps_the_zero_frame) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = UNTOUCHED, .access = USER },
	},
	.prepare = FILL_USER_FRAMES,
	.param = { "user_max_frames", PARAM_USER_FRAMES },
	.maps_zero_frame = true,
};

FIXTURE_VARIANT_ADD(bad_input, translate_stack_growth_read_at_the_quota_maps_the_zero_frame) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = STACK_PAGE - 2 * PAGE,
				   .access = USER },
	},
	.prepare = FILL_QUOTA, .maps_zero_frame = true,
};

FIXTURE_VARIANT_ADD(bad_input, translate_stack_growth_read_on_a_full_torus_maps_the_zero_frame) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = STACK_PAGE - 2 * PAGE,
				   .access = USER },
	},
	.prepare = FILL_TORUS, .maps_zero_frame = true,
};

FIXTURE_VARIANT_ADD(bad_input, translate_stack_growth_read_at_the_user_frames_maps_the_zero_frame) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = STACK_PAGE - 2 * PAGE,
				   .access = USER },
	},
	.prepare = FILL_USER_FRAMES,
	.param = { "user_max_frames", PARAM_USER_FRAMES },
	.maps_zero_frame = true,
};

FIXTURE_VARIANT_ADD(bad_input, translate_write_after_a_read_past_the_quota_enomem) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = UNTOUCHED, .access = WRITE | USER },
	},
	.prepare = FILL_QUOTA, .read_first = true, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, translate_write_after_a_read_on_a_full_torus_enomem) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = UNTOUCHED, .access = WRITE | USER },
	},
	.prepare = FILL_TORUS, .read_first = true, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, translate_write_after_a_read_past_the_user_frames_enomem) {
	.call = {
		.cmd = TORUSMM_TRANSLATE,
		.arg.translate = { .addr = UNTOUCHED, .access = WRITE | USER },
	},
	.prepare = FILL_USER_FRAMES,
	.param = { "user_max_frames", PARAM_USER_FRAMES },
	.read_first = true, .expect = -ENOMEM,
};

/* TORUSMM_READ and TORUSMM_WRITE */

FIXTURE_VARIANT_ADD(bad_input, read_access_write_einval) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = ADDR, .length = 16,
			    .access = WRITE | USER },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, read_access_fetch_einval) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = ADDR, .length = 16, .access = EXEC },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, write_access_bit31_einval) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = UNTOUCHED, .length = 16, .access = BIT31 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, read_longer_than_rw_max_einval) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = ADDR, .length = TORUSMM_RW_MAX + 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, write_length_wrapping_u64_einval) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = UNTOUCHED, .length = ~0ull },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, read_above_4g_einval) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = SZ_4G + ADDR, .length = 16 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, read_range_wrapping_4g_einval) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = 0xfffff000u, .length = 2 * PAGE,
			    .access = USER },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, write_range_wrapping_4g_einval) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = 0xffffff00u, .length = PAGE },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, read_null_efault) {
	.call = { .cmd = TORUSMM_READ, .ptr = PTR_NULL },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, write_unmapped_efault) {
	.call = { .cmd = TORUSMM_WRITE, .ptr = PTR_UNMAPPED },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, read_read_only_efault_before_fault_in) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = UNTOUCHED, .length = 16, .access = USER },
		.ptr = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, write_read_only_efault_before_writing) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = ADDR + 9 * PAGE, .length = 16,
			    .access = USER },
		.ptr = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, read_into_a_null_buffer_efault) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = UNTOUCHED, .length = 16 }, .buf = PTR_NULL,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, write_from_a_null_buffer_efault) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = UNTOUCHED, .length = 16 }, .buf = PTR_NULL,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, read_into_an_unmapped_buffer_efault) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = UNTOUCHED, .length = PAGE },
		.buf = PTR_UNMAPPED,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, write_from_an_unmapped_buffer_efault) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = UNTOUCHED, .length = PAGE },
		.buf = PTR_UNMAPPED,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, read_into_a_half_unmapped_buffer_efault) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = UNTOUCHED, .length = 2 * PAGE,
			    .access = USER },
		.buf = PTR_HALF_UNMAPPED,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, write_from_a_half_unmapped_buffer_efault) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = UNTOUCHED, .length = 2 * PAGE,
			    .access = USER },
		.buf = PTR_HALF_UNMAPPED,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, read_into_a_read_only_buffer_efault) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = UNTOUCHED, .length = 64 },
		.buf = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, write_from_a_prot_none_buffer_efault) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = UNTOUCHED, .length = 16, .access = USER },
		.buf = PTR_PROT_NONE,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, write_to_a_written_page_from_a_prot_none_buffer_efault) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = ADDR + 2 * PAGE, .length = 16 },
		.buf = PTR_PROT_NONE,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, read_into_a_prot_none_buffer_efault) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = ADDR + 2 * PAGE, .length = 16,
			    .access = USER },
		.buf = PTR_PROT_NONE,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, read_of_a_populated_page_into_a_read_only_buffer_efault) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = ADDR + 2 * PAGE, .length = 16,
			    .access = USER },
		.buf = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, read_of_the_kernel_half_faults) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = KERNEL, .length = 16, .access = USER },
	},
	.expect = IN_BAND(F_U), .fault_errors = 1,
};

FIXTURE_VARIANT_ADD(bad_input, write_of_the_kernel_half_faults) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = 0xc0000000u, .length = 16, .access = USER },
	},
	.expect = IN_BAND(F_W | F_U), .fault_errors = 1,
};

FIXTURE_VARIANT_ADD(bad_input, write_of_read_only_faults) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = READ_ONLY, .length = 16, .access = USER },
	},
	.expect = IN_BAND(F_P | F_W | F_U), .fault_errors = 1,
};

FIXTURE_VARIANT_ADD(bad_input, read_of_prot_none_faults) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = ADDR + 3 * PAGE, .length = 16,
			    .access = USER },
	},
	.expect = IN_BAND(F_U), .fault_errors = 1,
};

FIXTURE_VARIANT_ADD(bad_input, read_supervisor_of_a_hole_faults_with_0) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = HOLE, .length = 16, .access = 0 },
	},
	.expect = IN_BAND(0), .fault_errors = 1,
};

FIXTURE_VARIANT_ADD(bad_input, read_at_the_quota_maps_the_zero_frame) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = UNTOUCHED, .length = 16, .access = USER },
	},
	.prepare = FILL_QUOTA, .maps_zero_frame = true,
};

FIXTURE_VARIANT_ADD(bad_input, read_on_a_full_torus_maps_the_zero_frame) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = UNTOUCHED, .length = 16, .access = USER },
	},
	.prepare = FILL_TORUS, .maps_zero_frame = true,
};

FIXTURE_VARIANT_ADD(bad_input, read_at_the_user_frames_maps_the_zero_frame) {
	.call = {
		.cmd = TORUSMM_READ,
		.arg.rw = { .addr = UNTOUCHED, .length = 16, .access = USER },
	},
	.prepare = FILL_USER_FRAMES,
	.param = { "user_max_frames", PARAM_USER_FRAMES },
	.maps_zero_frame = true,
};

FIXTURE_VARIANT_ADD(bad_input, write_fault_in_past_the_quota_enomem) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = UNTOUCHED, .length = 16, .access = USER },
	},
	.prepare = FILL_QUOTA, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, write_fault_in_on_a_full_torus_enomem) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = UNTOUCHED, .length = 16 },
	},
	.prepare = FILL_TORUS, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, write_after_a_read_past_the_quota_enomem) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = UNTOUCHED, .length = 16, .access = USER },
	},
	.prepare = FILL_QUOTA, .read_first = true, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, write_after_a_read_on_a_full_torus_enomem) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = UNTOUCHED, .length = 16 },
	},
	.prepare = FILL_TORUS, .read_first = true, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, write_after_a_read_past_the_user_frames_enomem) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = UNTOUCHED, .length = 16, .access = USER },
	},
	.prepare = FILL_USER_FRAMES,
	.param = { "user_max_frames", PARAM_USER_FRAMES },
	.read_first = true, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, write_fault_in_past_the_user_frames_enomem) {
	.call = {
		.cmd = TORUSMM_WRITE,
		.arg.rw = { .addr = UNTOUCHED, .length = 16, .access = USER },
	},
	.prepare = FILL_USER_FRAMES,
	.param = { "user_max_frames", PARAM_USER_FRAMES },
	.expect = -ENOMEM,
};

/*
 * TORUSMM_BATCH: a header or vector refused as a whole.  Every op of the
 * vector would map the hole with frames: nothing may have run.
 */

FIXTURE_VARIANT_ADD(bad_input, batch_flags_einval) {
	.call = {
		.cmd = TORUSMM_BATCH, .arg.batch = { .count = 1, .flags = 2 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, batch_flags_bit31_einval) {
	.call = {
		.cmd = TORUSMM_BATCH,
		.arg.batch = { .count = 1, .flags = BIT31 | 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, batch_count_0_einval) {
	.call = { .cmd = TORUSMM_BATCH, .arg.batch = { .count = 0 } },
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, batch_count_past_the_max_einval) {
	.call = {
		.cmd = TORUSMM_BATCH,
		.arg.batch = { .count = TORUSMM_BATCH_MAX + 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, batch_count_u32_max_einval) {
	.call = {
		.cmd = TORUSMM_BATCH,
		.arg.batch = { .count = 0xffffffffu,
			       .flags = TORUSMM_BATCH_CONTINUE },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, batch_null_efault) {
	.call = { .cmd = TORUSMM_BATCH, .ptr = PTR_NULL },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, batch_unmapped_efault) {
	.call = { .cmd = TORUSMM_BATCH, .ptr = PTR_UNMAPPED },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, batch_read_only_efault_before_any_op_runs) {
	.call = {
		.cmd = TORUSMM_BATCH, .arg.batch = { .count = 1 },
		.ptr = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, batch_null_vector_efault) {
	.call = {
		.cmd = TORUSMM_BATCH, .arg.batch = { .count = 1 },
		.buf = PTR_NULL,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, batch_unmapped_vector_efault) {
	.call = {
		.cmd = TORUSMM_BATCH, .arg.batch = { .count = 2 },
		.buf = PTR_UNMAPPED,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, batch_vector_running_into_an_unmapped_page_efault) {
	.call = {
		.cmd = TORUSMM_BATCH,
		.arg.batch = { .count = 3, .flags = TORUSMM_BATCH_CONTINUE },
		.buf = PTR_HALF_UNMAPPED,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, batch_read_only_vector_efault) {
	.call = {
		.cmd = TORUSMM_BATCH, .arg.batch = { .count = 2 },
		.buf = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, batch_prot_none_vector_efault) {
	.call = {
		.cmd = TORUSMM_BATCH, .arg.batch = { .count = 1 },
		.buf = PTR_PROT_NONE,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, batch_on_the_device_enotty) {
	.call = {
		.cmd = TORUSMM_BATCH, .target = ON_DEVICE,
		.arg.batch = { .count = 1 },
	},
	.expect = -ENOTTY,
};

/* TORUSMM_CLONE */

FIXTURE_VARIANT_ADD(bad_input, clone_flags_einval) {
	.call = { .cmd = TORUSMM_CLONE, .arg.clone = { .flags = 1 } },
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, clone_reserved_einval) {
	.call = { .cmd = TORUSMM_CLONE, .arg.clone = { .reserved = 1 } },
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, clone_null_efault) {
	.call = { .cmd = TORUSMM_CLONE, .ptr = PTR_NULL },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, clone_unmapped_efault) {
	.call = { .cmd = TORUSMM_CLONE, .ptr = PTR_UNMAPPED },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, clone_past_max_spaces_emfile) {
	.call = { .cmd = TORUSMM_CLONE },
	.prepare = FILL_SPACES, .expect = -EMFILE,
};

FIXTURE_VARIANT_ADD(bad_input, clone_on_a_full_torus_enomem) {
	.call = { .cmd = TORUSMM_CLONE },
	.prepare = FILL_TORUS, .expect = -ENOMEM,
};

FIXTURE_VARIANT_ADD(bad_input, clone_past_max_spaces_filled_through_another_open_emfile) {
	.call = { .cmd = TORUSMM_CLONE },
	.prepare = FILL_SPACES_ELSEWHERE, .expect = -EMFILE,
};

FIXTURE_VARIANT_ADD(bad_input, clone_past_the_user_frames_enomem) {
	.call = { .cmd = TORUSMM_CLONE },
	.prepare = FILL_USER_FRAMES,
	.param = { "user_max_frames", PARAM_USER_FRAMES, 1 },
	.expect = -ENOMEM,
};

/*
 * The max_frames ceiling holds for a clone as for a new space, even when
 * the source was made before the ceiling: one past it, and no quota at all.
 */
FIXTURE_VARIANT_ADD(bad_input, clone_quota_one_past_the_max_frames_ceiling_einval) {
	.call = { .cmd = TORUSMM_CLONE },
	.prepare = FILL_QUOTA,
	.param = { "max_frames", PARAM_QUOTA, -1 }, .expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, clone_no_quota_under_a_max_frames_ceiling_einval) {
	.call = { .cmd = TORUSMM_CLONE },
	.param = { "max_frames", PARAM_VALUE, 1000 }, .expect = -EINVAL,
};

/* TORUSMM_GET_STATS */

FIXTURE_VARIANT_ADD(bad_input, stats_null_efault) {
	.call = { .cmd = TORUSMM_GET_STATS, .ptr = PTR_NULL },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, stats_unmapped_efault) {
	.call = { .cmd = TORUSMM_GET_STATS, .ptr = PTR_UNMAPPED },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, stats_read_only_efault) {
	.call = { .cmd = TORUSMM_GET_STATS, .ptr = PTR_READ_ONLY },
	.expect = -EFAULT,
};

/* TORUSMM_DUMP_REGIONS and TORUSMM_DUMP_PTES */

FIXTURE_VARIANT_ADD(bad_input, dump_regions_flags_einval) {
	.call = {
		.cmd = TORUSMM_DUMP_REGIONS,
		.arg.dump = { .count = MAX_REGIONS, .flags = 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, dump_regions_addr_einval) {
	.call = {
		.cmd = TORUSMM_DUMP_REGIONS,
		.arg.dump = { .count = MAX_REGIONS, .addr = ADDR },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, dump_regions_length_einval) {
	.call = {
		.cmd = TORUSMM_DUMP_REGIONS,
		.arg.dump = { .count = MAX_REGIONS, .length = PAGE },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, dump_regions_null_efault) {
	.call = { .cmd = TORUSMM_DUMP_REGIONS, .ptr = PTR_NULL },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, dump_regions_unmapped_efault) {
	.call = { .cmd = TORUSMM_DUMP_REGIONS, .ptr = PTR_UNMAPPED },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, dump_regions_read_only_efault) {
	.call = {
		.cmd = TORUSMM_DUMP_REGIONS,
		.arg.dump = { .count = MAX_REGIONS }, .ptr = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, dump_regions_into_a_null_buffer_efault) {
	.call = {
		.cmd = TORUSMM_DUMP_REGIONS,
		.arg.dump = { .count = MAX_REGIONS }, .buf = PTR_NULL,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, dump_regions_into_an_unmapped_buffer_efault) {
	.call = {
		.cmd = TORUSMM_DUMP_REGIONS,
		.arg.dump = { .count = MAX_REGIONS }, .buf = PTR_UNMAPPED,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, dump_regions_into_a_short_buffer_e2big) {
	.call = { .cmd = TORUSMM_DUMP_REGIONS, .arg.dump = { .count = 1 } },
	.expect = -E2BIG,
};

FIXTURE_VARIANT_ADD(bad_input, dump_ptes_flags_einval) {
	.call = {
		.cmd = TORUSMM_DUMP_PTES,
		.arg.dump = { .count = MAX_PTES, .flags = 1 },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, dump_ptes_unaligned_einval) {
	.call = {
		.cmd = TORUSMM_DUMP_PTES,
		.arg.dump = { .count = MAX_PTES, .addr = ADDR + 4,
			      .length = PAGE },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, dump_ptes_range_wrapping_4g_einval) {
	.call = {
		.cmd = TORUSMM_DUMP_PTES,
		.arg.dump = { .count = MAX_PTES, .addr = 0xfffff000u,
			      .length = 2 * PAGE },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, dump_ptes_above_4g_einval) {
	.call = {
		.cmd = TORUSMM_DUMP_PTES,
		.arg.dump = { .count = MAX_PTES, .addr = SZ_4G,
			      .length = PAGE },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, dump_ptes_length_above_4g_einval) {
	.call = {
		.cmd = TORUSMM_DUMP_PTES,
		.arg.dump = { .count = MAX_PTES, .length = SZ_4G + PAGE },
	},
	.expect = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad_input, dump_ptes_null_efault) {
	.call = { .cmd = TORUSMM_DUMP_PTES, .ptr = PTR_NULL },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, dump_ptes_unmapped_efault) {
	.call = { .cmd = TORUSMM_DUMP_PTES, .ptr = PTR_UNMAPPED },
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, dump_ptes_read_only_efault) {
	.call = {
		.cmd = TORUSMM_DUMP_PTES,
		.arg.dump = { .count = MAX_PTES }, .ptr = PTR_READ_ONLY,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, dump_ptes_into_a_null_buffer_efault) {
	.call = {
		.cmd = TORUSMM_DUMP_PTES, .arg.dump = { .count = MAX_PTES },
		.buf = PTR_NULL,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, dump_ptes_into_an_unmapped_buffer_efault) {
	.call = {
		.cmd = TORUSMM_DUMP_PTES, .arg.dump = { .count = MAX_PTES },
		.buf = PTR_UNMAPPED,
	},
	.expect = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad_input, dump_ptes_into_a_short_buffer_e2big) {
	.call = { .cmd = TORUSMM_DUMP_PTES, .arg.dump = { .count = 2 } },
	.expect = -E2BIG,
};

TEST_HARNESS_MAIN
