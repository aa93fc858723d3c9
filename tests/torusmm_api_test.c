// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/torusmm ABI, success paths: every ioctl does what
 * Documentation/torusmm-api.rst says, with Linux's semantics for brk, mmap,
 * munmap and mprotect, x86's fault codes and accessed/dirty bits for
 * translate, process_vm_readv()'s partial copies for read and write, and
 * isolation between address spaces (a clone, a second space, a reused frame)
 * and between processes (an fd is a capability: inherited or passed it
 * works, closed on exec it is gone).  The regions and PTE dumps are the
 * oracle.  Each test runs on a space of its own (the "space" fixture).
 *
 * The "ceiling" fixture proves the limits a caller cannot raise, module
 * parameters that its tests lower for a while and its teardown restores:
 * max_frames caps every quota, user_max_frames the frames of all the spaces
 * a user created (through any open of the device, another user counting on
 * its own), max_regions the regions of a space.  Reaching a ceiling is
 * allowed; one step past it fails and changes nothing.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libtorusmm.h"
#include "torusmm_query.h"
#include "torusmm_test.h"

#define P_P		TORUSMM_PTE_PRESENT
#define P_W		TORUSMM_PTE_WRITABLE
#define P_U		TORUSMM_PTE_USER
#define P_A		TORUSMM_PTE_ACCESSED
#define P_D		TORUSMM_PTE_DIRTY
#define P_NX		TORUSMM_PTE_NX
#define P_PN		TORUSMM_PTE_PROTNONE
#define P_COW		TORUSMM_PTE_COW
#define P_FLAGS		(~TORUSMM_PTE_FRAME_MASK)

/* Where tests put their own mappings: far from the heap and the stack. */
#define ADDR		0x10000000u
#define MAX_ENTRIES	4096

/* Set in the environment of an exec'd copy of this test; see exec_probe(). */
#define PROBE_ENV	"TORUSMM_API_TEST_PROBE"

FIXTURE(space) {
	int dev;
	int fd;
	__u32 torus;
	struct torusmm_region regions[MAX_ENTRIES];
	struct torusmm_pte ptes[MAX_ENTRIES];
};

FIXTURE_SETUP(space)
{
	struct torusmm_space_stats stats;

	self->fd = -1;
	self->dev = torusmm_open();
	/* No SKIP: this harness would still run the test body after it. */
	ASSERT_LE(0, self->dev) TH_LOG("open " TORUSMM_DEVICE ": %s%s",
				       strerror(-self->dev),
				       self->dev == -ENOENT ?
				       " (is torusmm.ko loaded?)" : "");
	self->fd = torusmm_create_space(self->dev, TORUSMM_TORUS_ANY, 0);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s", strerror(-self->fd));
	ASSERT_EQ(0, torusmm_stats(self->fd, &stats));
	self->torus = stats.torus;
}

FIXTURE_TEARDOWN(space)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->dev >= 0)
		close(self->dev);
}

/* Map and check that it worked; return the start. */
/* Write @length bytes of @byte at @addr, all of them. */
static void fill(struct __test_metadata *_metadata, int fd, __u64 addr,
		 __u64 length, unsigned char byte)
{
	unsigned char *buf = malloc(length);
	struct torusmm_rw rw;

	ASSERT_TRUE(!!buf);
	memset(buf, byte, length);
	ASSERT_EQ(0, torusmm_write(fd, addr, buf, length, USER, &rw));
	free(buf);
	ASSERT_EQ(length, rw.done) TH_LOG("write fault %#x at %#llx", rw.fault,
					  (unsigned long long)rw.fault_addr);
	ASSERT_EQ(0, rw.fault);
}

/* Read @length bytes at @addr and check that each is @byte. */
static void expect_bytes(struct __test_metadata *_metadata, int fd,
			 __u64 addr, __u64 length, unsigned char byte)
{
	unsigned char *buf = malloc(length);
	struct torusmm_rw rw;
	__u64 i;

	ASSERT_TRUE(!!buf);
	memset(buf, ~byte, length);
	ASSERT_EQ(0, torusmm_read(fd, addr, buf, length, USER, &rw));
	ASSERT_EQ(length, rw.done) TH_LOG("read fault %#x at %#llx", rw.fault,
					  (unsigned long long)rw.fault_addr);
	for (i = 0; i < length && buf[i] == byte; i++)
		;
	free(buf);
	ASSERT_EQ(length, i) TH_LOG("byte at %#llx is not %#x",
				    (unsigned long long)(addr + i), byte);
}

/* Dump the regions into @regions; return how many there are. */
static __u32 regions_of(struct __test_metadata *_metadata, int fd,
			struct torusmm_region *regions)
{
	__u32 count = MAX_ENTRIES;

	ASSERT_EQ(0, torusmm_dump_regions(fd, regions, &count));
	return count;
}

/* Dump every PTE that holds a frame; return how many there are. */
static __u32 ptes_of(struct __test_metadata *_metadata, int fd,
		     struct torusmm_pte *ptes)
{
	__u32 count = MAX_ENTRIES;

	ASSERT_EQ(0, torusmm_dump_ptes(fd, 0, 0, ptes, &count));
	return count;
}

/* The region holding @addr, or NULL. */
static const struct torusmm_region *region_at(const struct torusmm_region *r,
					      __u32 count, __u32 addr)
{
	__u32 i;

	for (i = 0; i < count; i++)
		if (r[i].start <= addr && addr < r[i].end)
			return &r[i];
	return NULL;
}

/* Check that exactly [start, end) with @prot is one region. */
static void expect_region(struct __test_metadata *_metadata, int fd,
			  struct torusmm_region *buf, __u32 start, __u32 end,
			  __u32 prot)
{
	const struct torusmm_region *r;
	__u32 count = regions_of(_metadata, fd, buf);

	r = region_at(buf, count, start);
	ASSERT_TRUE(!!r) TH_LOG("no region at %#x", start);
	EXPECT_EQ(start, r->start);
	EXPECT_EQ(end, r->end);
	EXPECT_EQ(prot, r->prot);
	EXPECT_EQ(0, r->reserved);
}

static void expect_no_region(struct __test_metadata *_metadata, int fd,
			     struct torusmm_region *buf, __u32 addr)
{
	__u32 count = regions_of(_metadata, fd, buf);

	EXPECT_TRUE(!region_at(buf, count, addr))
		TH_LOG("%#x is still mapped", addr);
}

/* What fault_of() returns for an access that translated: no fault code. */
#define NO_FAULT	0xffffffffu

/*
 * Translate and return the fault code, or NO_FAULT when it translated
 * (*@tpa set).  A fault code may be 0, so the ioctl's value decides.
 */
static __u32 fault_of(struct __test_metadata *_metadata, int fd, __u64 addr,
		      __u32 access, __u64 *tpa)
{
	struct torusmm_translate tr;
	int ret = torusmm_translate(fd, addr, access, 0, &tr);

	ASSERT_LE(0, ret) TH_LOG("translate %#llx: %s",
				 (unsigned long long)addr, strerror(-ret));
	ASSERT_GE(1, ret);
	EXPECT_EQ(0, ret ? tr.tpa : tr.fault)
		TH_LOG("tpa is 0 when it faulted, fault when it translated");
	if (tpa)
		*tpa = tr.tpa;
	return ret ? tr.fault : NO_FAULT;
}

TEST_F_TIMEOUT(space, api_version_is_1, 30)
{
	EXPECT_EQ(TORUSMM_API_VERSION, torusmm_api_version(self->dev));
	EXPECT_EQ(1, TORUSMM_API_VERSION);
}

TEST_F_TIMEOUT(space, extensions_report_features_and_zero_when_unknown, 30)
{
	EXPECT_LE(1, torusmm_check_extension(self->dev, TORUSMM_CAP_NR_TORI));
	EXPECT_GE(16, torusmm_check_extension(self->dev, TORUSMM_CAP_NR_TORI));
	EXPECT_EQ(1, torusmm_check_extension(self->dev,
					     TORUSMM_CAP_MAP_POPULATE));
	EXPECT_EQ(1, torusmm_check_extension(self->dev,
					     TORUSMM_CAP_MAP_FIXED_NOREPLACE));
	EXPECT_EQ(1, torusmm_check_extension(self->dev,
					     TORUSMM_CAP_TRANSLATE_PEEK));
	EXPECT_EQ(TORUSMM_DUMP_MAX,
		  torusmm_check_extension(self->dev, TORUSMM_CAP_DUMP_MAX));
	EXPECT_EQ(1, torusmm_check_extension(self->dev, TORUSMM_CAP_SHADOW));
	EXPECT_EQ(1, torusmm_check_extension(self->dev,
					     TORUSMM_CAP_COW_CLONE));
	EXPECT_EQ(1, torusmm_check_extension(self->dev,
					     TORUSMM_CAP_ZERO_FRAME));
	EXPECT_EQ(1, torusmm_check_extension(self->dev,
					     TORUSMM_CAP_DIRTY_LOG));
	EXPECT_EQ(1, torusmm_check_extension(self->dev,
					     TORUSMM_CAP_ACCESS_LOG));
	EXPECT_EQ(TORUSMM_BATCH_MAX,
		  torusmm_check_extension(self->dev, TORUSMM_CAP_BATCH));
	EXPECT_EQ(1, torusmm_check_extension(self->dev,
					     TORUSMM_CAP_SPACE_ID));
	EXPECT_EQ(0, torusmm_check_extension(self->dev, 0));
	EXPECT_EQ(0, torusmm_check_extension(self->dev,
					     TORUSMM_CAP_SPACE_ID + 1))
		TH_LOG("the first capability past the last one known");
	EXPECT_EQ(0, torusmm_check_extension(self->dev, 0x7fffffff));
}

TEST_F_TIMEOUT(space, torus_info_counts_add_up_on_every_torus, 30)
{
	int nr = torusmm_check_extension(self->dev, TORUSMM_CAP_NR_TORI), i;

	for (i = 0; i < nr; i++) {
		struct torusmm_torus_info info = torus_of(_metadata, self->dev,
							  i);

		EXPECT_EQ(i, info.index);
		EXPECT_LE(4096, info.nr_frames) TH_LOG("tori are >= 16 MiB");
		EXPECT_EQ(info.nr_frames, info.nr_free + info.nr_used);
		EXPECT_LE(info.nr_used, info.high_water);
		EXPECT_LE(info.nr_table_frames, info.nr_used);
		EXPECT_EQ(TORUSMM_TORUS_BASE, info.base);
		EXPECT_EQ(0, info.reserved);
		EXPECT_LE(info.nr_used, info.allocs);
	}
	EXPECT_LE(1, torus_of(_metadata, self->dev, self->torus).nr_spaces);
}

TEST_F_TIMEOUT(space, new_space_has_stack_region_break_and_directory, 30)
{
	struct torusmm_space_stats s = stats_of(_metadata, self->fd);

	EXPECT_EQ(1, regions_of(_metadata, self->fd, self->regions));
	expect_region(_metadata, self->fd, self->regions, STACK_PAGE,
		      TORUSMM_STACK_TOP, RW);
	EXPECT_EQ(0, ptes_of(_metadata, self->fd, self->ptes));
	EXPECT_EQ(TORUSMM_HEAP_START, s.brk);
	EXPECT_EQ(0, s.nr_heap_pages);
	EXPECT_EQ(STACK_PAGE, s.stack_start);
	EXPECT_EQ(1, s.nr_table_frames) TH_LOG("the directory is a frame");
	EXPECT_EQ(0, s.nr_data_frames);
	EXPECT_EQ(1, s.nr_regions);
	EXPECT_EQ(0, s.nr_faults);
	EXPECT_EQ(0, s.nr_fault_errors);
	EXPECT_EQ(0, s.nr_translations);
}

TEST_F_TIMEOUT(space, space_and_clone_fds_are_close_on_exec, 30)
{
	int clone = torusmm_clone(self->fd);

	ASSERT_LE(0, clone);
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(FD_CLOEXEC, fcntl(clone, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(self->fd, F_GETFL) & O_ACCMODE);
	close(clone);
}

TEST_F_TIMEOUT(space, create_space_uses_the_requested_torus_and_quota, 30)
{
	int nr = torusmm_check_extension(self->dev, TORUSMM_CAP_NR_TORI), i;

	for (i = 0; i < nr; i++) {
		struct torusmm_torus_info before = torus_of(_metadata,
							    self->dev, i);
		int fd = torusmm_create_space(self->dev, i, 77);
		struct torusmm_space_stats s;

		ASSERT_LE(0, fd);
		s = stats_of(_metadata, fd);
		EXPECT_EQ(i, s.torus);
		EXPECT_EQ(77, s.max_frames);
		EXPECT_EQ(before.nr_spaces + 1,
			  torus_of(_metadata, self->dev, i).nr_spaces);
		EXPECT_EQ(before.nr_free - 1,
			  torus_of(_metadata, self->dev, i).nr_free);
		close(fd);
		EXPECT_EQ(before.nr_free,
			  torus_of(_metadata, self->dev, i).nr_free);
	}
}

TEST_F_TIMEOUT(space, create_space_on_any_torus_picks_the_most_free, 30)
{
	int nr = torusmm_check_extension(self->dev, TORUSMM_CAP_NR_TORI), i;
	__u32 most = 0;
	int fd;

	for (i = 0; i < nr; i++)
		if (torus_of(_metadata, self->dev, i).nr_free > most)
			most = torus_of(_metadata, self->dev, i).nr_free;
	fd = torusmm_create_space(self->dev, TORUSMM_TORUS_ANY, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(most - 1, torus_of(_metadata, self->dev,
				     stats_of(_metadata, fd).torus).nr_free);
	close(fd);
}

TEST_F_TIMEOUT(space, brk_zero_or_below_heap_start_returns_the_break, 30)
{
	__u64 brk = 0;

	ASSERT_EQ(0, torusmm_brk(self->fd, 0, &brk));
	EXPECT_EQ(TORUSMM_HEAP_START, brk);
	ASSERT_EQ(0, torusmm_brk(self->fd, TORUSMM_HEAP_START + 5000, &brk));
	ASSERT_EQ(0, torusmm_brk(self->fd, 0, &brk));
	EXPECT_EQ(TORUSMM_HEAP_START + 5000, brk);
	ASSERT_EQ(0, torusmm_brk(self->fd, TORUSMM_HEAP_START - 1, &brk));
	EXPECT_EQ(TORUSMM_HEAP_START + 5000, brk);
	ASSERT_EQ(0, torusmm_brk(self->fd, PAGE, &brk));
	EXPECT_EQ(TORUSMM_HEAP_START + 5000, brk);
}

TEST_F_TIMEOUT(space, brk_grow_maps_read_write_heap_without_frames, 30)
{
	__u32 want = TORUSMM_HEAP_START + 2 * PAGE + 100;
	struct torusmm_space_stats s;
	__u64 brk = 0;

	ASSERT_EQ(0, torusmm_brk(self->fd, want, &brk));
	EXPECT_EQ(want, brk) TH_LOG("the break is not page aligned, as Linux");
	expect_region(_metadata, self->fd, self->regions, TORUSMM_HEAP_START,
		      TORUSMM_HEAP_START + 3 * PAGE, RW);
	s = stats_of(_metadata, self->fd);
	EXPECT_EQ(want, s.brk);
	EXPECT_EQ(3, s.nr_heap_pages);
	EXPECT_EQ(0, s.nr_data_frames);
	fill(_metadata, self->fd, TORUSMM_HEAP_START + 3 * PAGE - 8, 8, 0x11);
	expect_bytes(_metadata, self->fd, TORUSMM_HEAP_START + 3 * PAGE - 8, 8,
		     0x11);
}

TEST_F_TIMEOUT(space, brk_shrink_frees_pages, 30)
{
	struct torusmm_torus_info before;
	__u64 brk;

	ASSERT_EQ(0, torusmm_brk(self->fd, TORUSMM_HEAP_START + 4 * PAGE,
				 &brk));
	fill(_metadata, self->fd, TORUSMM_HEAP_START, 4 * PAGE, 0x22);
	EXPECT_EQ(4, stats_of(_metadata, self->fd).nr_data_frames);
	before = torus_of(_metadata, self->dev, self->torus);

	ASSERT_EQ(0, torusmm_brk(self->fd, TORUSMM_HEAP_START + PAGE, &brk));
	EXPECT_EQ(TORUSMM_HEAP_START + PAGE, brk);
	EXPECT_EQ(1, stats_of(_metadata, self->fd).nr_data_frames);
	EXPECT_EQ(1, stats_of(_metadata, self->fd).nr_heap_pages);
	EXPECT_EQ(before.nr_free + 3,
		  torus_of(_metadata, self->dev, self->torus).nr_free);
	expect_region(_metadata, self->fd, self->regions, TORUSMM_HEAP_START,
		      TORUSMM_HEAP_START + PAGE, RW);
	EXPECT_EQ(F_U, fault_of(_metadata, self->fd,
				TORUSMM_HEAP_START + PAGE, USER, NULL));

	/* Grown again, the heap is fresh demand-zero memory. */
	ASSERT_EQ(0, torusmm_brk(self->fd, TORUSMM_HEAP_START + 2 * PAGE,
				 &brk));
	expect_bytes(_metadata, self->fd, TORUSMM_HEAP_START + PAGE, PAGE, 0);
	expect_bytes(_metadata, self->fd, TORUSMM_HEAP_START, PAGE, 0x22);

	/* Back to the start: no heap region at all. */
	ASSERT_EQ(0, torusmm_brk(self->fd, TORUSMM_HEAP_START, &brk));
	EXPECT_EQ(TORUSMM_HEAP_START, brk);
	expect_no_region(_metadata, self->fd, self->regions,
			 TORUSMM_HEAP_START);
	EXPECT_EQ(0, stats_of(_metadata, self->fd).nr_data_frames);
	EXPECT_EQ(1, stats_of(_metadata, self->fd).nr_table_frames)
		TH_LOG("the empty heap table was not freed");
}

TEST_F_TIMEOUT(space, brk_cannot_collide_with_a_mapping, 30)
{
	__u32 wall = TORUSMM_HEAP_START + 4 * PAGE;
	__u64 brk;

	map(_metadata, self->fd, wall, PAGE, R, FIXED);
	ASSERT_EQ(0, torusmm_brk(self->fd, wall + 1, &brk));
	EXPECT_EQ(TORUSMM_HEAP_START, brk) TH_LOG("brk grew into a mapping");
	ASSERT_EQ(0, torusmm_brk(self->fd, wall, &brk));
	EXPECT_EQ(wall, brk) TH_LOG("brk may grow up to a mapping");
	expect_region(_metadata, self->fd, self->regions, TORUSMM_HEAP_START,
		      wall, RW);
	ASSERT_EQ(0, torusmm_brk(self->fd, wall + PAGE, &brk));
	EXPECT_EQ(wall, brk);
	expect_region(_metadata, self->fd, self->regions, wall, wall + PAGE,
		      R);
}

TEST_F_TIMEOUT(space, mmap_rounds_length_up_to_whole_pages, 30)
{
	map(_metadata, self->fd, ADDR, 1, RW, FIXED);
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + PAGE,
		      RW);
	map(_metadata, self->fd, ADDR + 4 * PAGE, PAGE + 1, R, FIXED);
	expect_region(_metadata, self->fd, self->regions, ADDR + 4 * PAGE,
		      ADDR + 6 * PAGE, R);
}

TEST_F_TIMEOUT(space, mmap_places_top_down_below_the_stack_reach, 30)
{
	__u64 a, b, c;

	a = map(_metadata, self->fd, 0, 2 * PAGE, RW, 0);
	EXPECT_EQ(MMAP_BASE - 2 * PAGE, a);
	b = map(_metadata, self->fd, 0, PAGE, R, 0);
	EXPECT_EQ(a - PAGE, b);
	/* A hole left by munmap is the highest gap: it is used first. */
	ASSERT_EQ(0, torusmm_munmap(self->fd, a, 2 * PAGE));
	c = map(_metadata, self->fd, 0, PAGE, RW, 0);
	EXPECT_EQ(MMAP_BASE - PAGE, c);
	c = map(_metadata, self->fd, 0, 2 * PAGE, RW, 0);
	EXPECT_EQ(b - 2 * PAGE, c) TH_LOG("a one-page hole fits no two pages");
}

/*
 * Placement at the edges of the window of non-fixed mappings, [USER_MIN,
 * MMAP_BASE), and of the user range, [USER_MIN, TORUSMM_STACK_TOP), on a new
 * space (the stack's page only) and an empty one (that page unmapped too).
 * A hint is used when its range is free and inside the user range, also
 * above the window; otherwise the highest gap of the window is.  @lands is
 * 0 for ENOMEM.
 */
static const struct placement_row {
	const char *what;
	bool empty;
	__u64 hint;
	__u64 length;
	__u64 lands;
} placement_rows[] = {
	{ "the window", false, 0, MMAP_WINDOW, TORUSMM_USER_MIN },
	{ "the window, empty", true, 0, MMAP_WINDOW, TORUSMM_USER_MIN },
	{ "the window less a byte", false, 0, MMAP_WINDOW - 1,
	  TORUSMM_USER_MIN },
	{ "the window and a page", false, 0, MMAP_WINDOW + PAGE, 0 },
	{ "the window and a page, empty", true, 0, MMAP_WINDOW + PAGE, 0 },
	{ "the window and a byte", false, 0, MMAP_WINDOW + 1, 0 },
	{ "the user range, empty", true, 0, USER_RANGE, 0 },
	{ "a page, empty", true, 0, PAGE, MMAP_BASE - PAGE },
	{ "the window, hint USER_MIN", false, TORUSMM_USER_MIN, MMAP_WINDOW,
	  TORUSMM_USER_MIN },
	{ "the window, hint a page up", false, TORUSMM_USER_MIN + PAGE,
	  MMAP_WINDOW, TORUSMM_USER_MIN + PAGE },
	{ "the user range, hint USER_MIN, empty", true, TORUSMM_USER_MIN,
	  USER_RANGE, TORUSMM_USER_MIN },
	{ "the user range, hint in page 0, empty", true, 1, USER_RANGE,
	  TORUSMM_USER_MIN },
	{ "the user range, hint USER_MIN", false, TORUSMM_USER_MIN, USER_RANGE,
	  0 },
	{ "the window and a page, hint ending at the guard, empty", true,
	  TORUSMM_STACK_TOP - MMAP_WINDOW - PAGE, MMAP_WINDOW + PAGE,
	  TORUSMM_STACK_TOP - MMAP_WINDOW - PAGE },
	{ "the window and a page, hint ending a page past the guard, empty",
	  true, TORUSMM_STACK_TOP - MMAP_WINDOW, MMAP_WINDOW + PAGE, 0 },
	{ "the window and a page, hint ending at the stack", false,
	  STACK_PAGE - MMAP_WINDOW - PAGE, MMAP_WINDOW + PAGE,
	  STACK_PAGE - MMAP_WINDOW - PAGE },
	{ "the window and a page, hint ending on the stack", false,
	  TORUSMM_STACK_TOP - MMAP_WINDOW - PAGE, MMAP_WINDOW + PAGE, 0 },
	{ "a page, hint USER_MIN", false, TORUSMM_USER_MIN, PAGE,
	  TORUSMM_USER_MIN },
	{ "a page, hint in page 0", false, 0x800, PAGE, TORUSMM_USER_MIN },
	{ "a page, hint just below the stack", false, STACK_PAGE - PAGE, PAGE,
	  STACK_PAGE - PAGE },
	{ "a page, hint on the stack", false, STACK_PAGE, PAGE,
	  MMAP_BASE - PAGE },
	{ "a page, hint the last user page, empty", true, STACK_PAGE, PAGE,
	  STACK_PAGE },
	{ "a page, hint the guard, empty", true, TORUSMM_STACK_TOP, PAGE,
	  MMAP_BASE - PAGE },
	{ "two pages, hint ending at the window's top", false,
	  MMAP_BASE - 2 * PAGE, 2 * PAGE, MMAP_BASE - 2 * PAGE },
};

TEST_F_TIMEOUT(space, mmap_places_within_the_window_and_the_user_range, 60)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(placement_rows); i++) {
		const struct placement_row *row = &placement_rows[i];
		__u32 nr_before = row->empty ? 0 : 1, count;
		__u64 addr = row->hint;
		int fd, ret;

		fd = torusmm_create_space(self->dev, self->torus, 0);
		ASSERT_LE(0, fd);
		if (row->empty)
			ASSERT_EQ(0, torusmm_munmap(fd, STACK_PAGE, PAGE));
		/* Read-only: nothing merges with the read-write stack. */
		ret = torusmm_mmap(fd, &addr, row->length, R, 0);
		count = regions_of(_metadata, fd, self->regions);
		if (!row->lands) {
			EXPECT_EQ(-ENOMEM, ret) TH_LOG("%s: mapped at %#llx",
						       row->what,
						       (unsigned long long)addr);
			EXPECT_EQ(nr_before, count) TH_LOG("%s", row->what);
		} else {
			EXPECT_EQ(0, ret) TH_LOG("%s: %s", row->what,
						 strerror(-ret));
			EXPECT_EQ(row->lands, addr) TH_LOG("%s", row->what);
			EXPECT_EQ(nr_before + 1, count) TH_LOG("%s", row->what);
			expect_region(_metadata, fd, self->regions, row->lands,
				      row->lands + ((row->length + PAGE - 1) &
						    ~(__u64)(PAGE - 1)), R);
		}
		if (!row->empty)
			expect_region(_metadata, fd, self->regions, STACK_PAGE,
				      TORUSMM_STACK_TOP, RW);
		EXPECT_EQ(0, ptes_of(_metadata, fd, self->ptes));
		close(fd);
	}
}

TEST_F_TIMEOUT(space, mmap_uses_a_free_hint_and_ignores_a_busy_one, 30)
{
	__u64 addr;

	EXPECT_EQ(0x20000000, map(_metadata, self->fd, 0x20000000, PAGE, RW,
				  0));
	EXPECT_EQ(0x20002000, map(_metadata, self->fd, 0x20001234, PAGE, RW,
				  0)) TH_LOG("a hint is rounded up to a page");
	addr = map(_metadata, self->fd, 0x20000000, PAGE, RW, 0);
	EXPECT_EQ(MMAP_BASE - PAGE, addr) TH_LOG("a busy hint is ignored");
	addr = map(_metadata, self->fd, 1ull << 32, PAGE, RW, 0);
	EXPECT_EQ(MMAP_BASE - 2 * PAGE, addr)
		TH_LOG("a hint above 4 GiB is ignored");
	addr = map(_metadata, self->fd, TORUSMM_KERNEL_BASE, PAGE, RW, 0);
	EXPECT_EQ(MMAP_BASE - 3 * PAGE, addr)
		TH_LOG("a hint in the kernel half is ignored");
}

TEST_F_TIMEOUT(space, mmap_fixed_replaces_the_mapping_and_frees_its_frames, 30)
{
	struct torusmm_torus_info before;

	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED | POPULATE);
	fill(_metadata, self->fd, ADDR, 4 * PAGE, 0xaa);
	before = torus_of(_metadata, self->dev, self->torus);

	map(_metadata, self->fd, ADDR + PAGE, 2 * PAGE, R, FIXED);
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + PAGE,
		      RW);
	expect_region(_metadata, self->fd, self->regions, ADDR + PAGE,
		      ADDR + 3 * PAGE, R);
	expect_region(_metadata, self->fd, self->regions, ADDR + 3 * PAGE,
		      ADDR + 4 * PAGE, RW);
	EXPECT_EQ(2, stats_of(_metadata, self->fd).nr_data_frames);
	EXPECT_EQ(before.nr_free + 2,
		  torus_of(_metadata, self->dev, self->torus).nr_free);
	EXPECT_EQ(0, pte_of(_metadata, self->fd, ADDR + PAGE));
	expect_bytes(_metadata, self->fd, ADDR + PAGE, 2 * PAGE, 0);
	expect_bytes(_metadata, self->fd, ADDR, PAGE, 0xaa);
	expect_bytes(_metadata, self->fd, ADDR + 3 * PAGE, PAGE, 0xaa);
}

TEST_F_TIMEOUT(space, mmap_fixed_noreplace_fails_with_eexist_on_overlap, 30)
{
	__u64 addr = ADDR + PAGE;

	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED | POPULATE);
	EXPECT_EQ(-EEXIST, torusmm_mmap(self->fd, &addr, PAGE, R, NOREPLACE));
	EXPECT_EQ(-EEXIST, torusmm_mmap(self->fd, &addr, PAGE, R,
					FIXED | NOREPLACE));
	addr = ADDR - PAGE;
	EXPECT_EQ(-EEXIST, torusmm_mmap(self->fd, &addr, 2 * PAGE, R,
					NOREPLACE));
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + 2 * PAGE,
		      RW);
	EXPECT_EQ(2, stats_of(_metadata, self->fd).nr_data_frames);
	/* Without an overlap it maps exactly there: it implies MAP_FIXED. */
	EXPECT_EQ(ADDR + 2 * PAGE, map(_metadata, self->fd, ADDR + 2 * PAGE,
				       PAGE, R, NOREPLACE));
}

TEST_F_TIMEOUT(space, mmap_populate_faults_in_every_page, 30)
{
	__u32 i, n, frames[5];

	map(_metadata, self->fd, ADDR, 5 * PAGE, RW, FIXED | POPULATE);
	EXPECT_EQ(5, stats_of(_metadata, self->fd).nr_data_frames);
	EXPECT_EQ(0, stats_of(_metadata, self->fd).nr_faults)
		TH_LOG("populate is not a demand fault");
	n = ptes_of(_metadata, self->fd, self->ptes);
	ASSERT_EQ(5, n);
	for (i = 0; i < n; i++) {
		__u32 tpa = self->ptes[i].pte & TORUSMM_PTE_FRAME_MASK;

		EXPECT_EQ(ADDR + i * PAGE, self->ptes[i].addr);
		EXPECT_EQ(P_P | P_W | P_U | P_NX, self->ptes[i].pte & P_FLAGS)
			TH_LOG("no accessed or dirty bit before an access");
		EXPECT_LE(TORUSMM_TORUS_BASE, tpa);
		frames[i] = tpa;
	}
	for (i = 1; i < n; i++)
		EXPECT_NE(frames[i - 1], frames[i]);
	expect_bytes(_metadata, self->fd, ADDR, 5 * PAGE, 0);
}

TEST_F_TIMEOUT(space, mmap_populate_of_prot_none_takes_no_frame, 30)
{
	map(_metadata, self->fd, ADDR, 3 * PAGE, TORUSMM_PROT_NONE,
	    FIXED | POPULATE);
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + 3 * PAGE,
		      TORUSMM_PROT_NONE);
	EXPECT_EQ(0, stats_of(_metadata, self->fd).nr_data_frames);
}

TEST_F_TIMEOUT(space, mmap_prot_sets_region_and_pte_bits, 30)
{
	static const struct {
		__u32 prot, region_prot, pte;
	} rows[] = {
		/* PROT_WRITE and PROT_EXEC imply PROT_READ, as on x86. */
		{ R, R, P_P | P_U | P_NX },
		{ TORUSMM_PROT_WRITE, RW, P_P | P_W | P_U | P_NX },
		{ TORUSMM_PROT_EXEC, RX, P_P | P_U },
		{ RW, RW, P_P | P_W | P_U | P_NX },
		{ RX, RX, P_P | P_U },
		{ RWX, RWX, P_P | P_W | P_U },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		__u32 addr = ADDR + 2 * i * PAGE;

		map(_metadata, self->fd, addr, PAGE, rows[i].prot,
		    FIXED | POPULATE);
		expect_region(_metadata, self->fd, self->regions, addr,
			      addr + PAGE, rows[i].region_prot);
		EXPECT_EQ(rows[i].pte,
			  pte_of(_metadata, self->fd, addr) & P_FLAGS)
			TH_LOG("prot %#x", rows[i].prot);
	}
}

TEST_F_TIMEOUT(space, mmap_merges_adjacent_regions_of_equal_protection, 30)
{
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	map(_metadata, self->fd, ADDR + PAGE, PAGE, RW, FIXED);
	map(_metadata, self->fd, ADDR + 2 * PAGE, PAGE, R, FIXED);
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + 2 * PAGE,
		      RW);
	expect_region(_metadata, self->fd, self->regions, ADDR + 2 * PAGE,
		      ADDR + 3 * PAGE, R);
	EXPECT_EQ(3, stats_of(_metadata, self->fd).nr_regions)
		TH_LOG("two merged regions and the stack");
}

TEST_F_TIMEOUT(space, allocate_and_free_are_mmap_and_munmap, 30)
{
	__u64 addr;

	ASSERT_EQ(0, torusmm_allocate(self->fd, 3 * PAGE - 10, &addr));
	EXPECT_EQ(MMAP_BASE - 3 * PAGE, addr);
	expect_region(_metadata, self->fd, self->regions, addr, addr + 3 * PAGE,
		      RW);
	EXPECT_EQ(0, stats_of(_metadata, self->fd).nr_data_frames);
	fill(_metadata, self->fd, addr, 3 * PAGE, 0x33);
	ASSERT_EQ(0, torusmm_free(self->fd, addr, 3 * PAGE - 10));
	expect_no_region(_metadata, self->fd, self->regions, addr);
	EXPECT_EQ(0, stats_of(_metadata, self->fd).nr_data_frames);
}

TEST_F_TIMEOUT(space, munmap_splits_a_region_and_frees_its_frames, 30)
{
	struct torusmm_torus_info before;

	map(_metadata, self->fd, ADDR, 3 * PAGE, RW, FIXED | POPULATE);
	before = torus_of(_metadata, self->dev, self->torus);
	ASSERT_EQ(0, torusmm_munmap(self->fd, ADDR + PAGE, 1));
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + PAGE,
		      RW);
	expect_region(_metadata, self->fd, self->regions, ADDR + 2 * PAGE,
		      ADDR + 3 * PAGE, RW);
	expect_no_region(_metadata, self->fd, self->regions, ADDR + PAGE);
	EXPECT_EQ(0, pte_of(_metadata, self->fd, ADDR + PAGE));
	EXPECT_EQ(2, stats_of(_metadata, self->fd).nr_data_frames);
	EXPECT_EQ(before.nr_free + 1,
		  torus_of(_metadata, self->dev, self->torus).nr_free);
}

TEST_F_TIMEOUT(space, munmap_spans_several_regions, 30)
{
	map(_metadata, self->fd, ADDR, 3 * PAGE, RW, FIXED | POPULATE);
	map(_metadata, self->fd, ADDR + 3 * PAGE, 3 * PAGE, R,
	    FIXED | POPULATE);
	map(_metadata, self->fd, ADDR + 6 * PAGE, 3 * PAGE, RX,
	    FIXED | POPULATE);
	ASSERT_EQ(0, torusmm_munmap(self->fd, ADDR + 2 * PAGE, 5 * PAGE));
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + 2 * PAGE,
		      RW);
	expect_region(_metadata, self->fd, self->regions, ADDR + 7 * PAGE,
		      ADDR + 9 * PAGE, RX);
	EXPECT_EQ(3, regions_of(_metadata, self->fd, self->regions));
	EXPECT_EQ(4, stats_of(_metadata, self->fd).nr_data_frames);
}

TEST_F_TIMEOUT(space, munmap_of_an_unmapped_range_succeeds, 30)
{
	EXPECT_EQ(0, torusmm_munmap(self->fd, ADDR, 16 * PAGE));
	EXPECT_EQ(0, torusmm_munmap(self->fd, TORUSMM_USER_MIN, PAGE));
	EXPECT_EQ(1, regions_of(_metadata, self->fd, self->regions));
}

TEST_F_TIMEOUT(space, munmap_of_zero_length_is_einval, 30)
{
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	EXPECT_EQ(-EINVAL, torusmm_munmap(self->fd, ADDR, 0));
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + PAGE,
		      RW);
}

TEST_F_TIMEOUT(space, munmap_frees_empty_page_tables, 30)
{
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED | POPULATE);
	EXPECT_EQ(2, stats_of(_metadata, self->fd).nr_table_frames);
	ASSERT_EQ(0, torusmm_munmap(self->fd, ADDR, PAGE));
	EXPECT_EQ(1, stats_of(_metadata, self->fd).nr_table_frames);
	EXPECT_EQ(0, stats_of(_metadata, self->fd).nr_data_frames);
}

TEST_F_TIMEOUT(space, mprotect_splits_a_region_and_keeps_frames_and_bits, 30)
{
	__u32 before;

	map(_metadata, self->fd, ADDR, 3 * PAGE, RW, FIXED | POPULATE);
	fill(_metadata, self->fd, ADDR + PAGE, PAGE, 0x44);
	before = pte_of(_metadata, self->fd, ADDR + PAGE);
	EXPECT_EQ(P_P | P_W | P_U | P_A | P_D | P_NX, before & P_FLAGS);

	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR + PAGE, PAGE, R));
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + PAGE,
		      RW);
	expect_region(_metadata, self->fd, self->regions, ADDR + PAGE,
		      ADDR + 2 * PAGE, R);
	expect_region(_metadata, self->fd, self->regions, ADDR + 2 * PAGE,
		      ADDR + 3 * PAGE, RW);
	EXPECT_EQ(before & ~P_W, pte_of(_metadata, self->fd, ADDR + PAGE));
	expect_bytes(_metadata, self->fd, ADDR + PAGE, PAGE, 0x44);

	/* Protecting it back merges the three regions again. */
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR + PAGE, PAGE, RW));
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + 3 * PAGE,
		      RW);
}

TEST_F_TIMEOUT(space, mprotect_of_a_partly_unmapped_range_changes_nothing, 30)
{
	__u32 nr_ptes;

	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED | POPULATE);
	map(_metadata, self->fd, ADDR + 3 * PAGE, PAGE, RW, FIXED | POPULATE);
	nr_ptes = ptes_of(_metadata, self->fd, self->ptes);
	EXPECT_EQ(-ENOMEM, torusmm_mprotect(self->fd, ADDR, 4 * PAGE, R))
		TH_LOG("a hole in the range is ENOMEM, as in Linux");
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + 2 * PAGE,
		      RW);
	expect_region(_metadata, self->fd, self->regions, ADDR + 3 * PAGE,
		      ADDR + 4 * PAGE, RW);
	EXPECT_EQ(nr_ptes, ptes_of(_metadata, self->fd, self->ptes));
	EXPECT_EQ(P_P | P_W | P_U | P_NX, pte_of(_metadata, self->fd, ADDR) &
					  P_FLAGS)
		TH_LOG("stricter than Linux: the mapped part is unchanged too");
}

TEST_F_TIMEOUT(space, mprotect_write_or_exec_implies_read, 30)
{
	map(_metadata, self->fd, ADDR, 2 * PAGE, TORUSMM_PROT_NONE, FIXED);
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, PAGE,
				      TORUSMM_PROT_WRITE));
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR + PAGE, PAGE,
				      TORUSMM_PROT_EXEC));
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + PAGE,
		      RW);
	expect_region(_metadata, self->fd, self->regions, ADDR + PAGE,
		      ADDR + 2 * PAGE, RX);
}

TEST_F_TIMEOUT(space, mprotect_none_keeps_the_frame_but_not_present, 30)
{
	__u32 before, after;

	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	fill(_metadata, self->fd, ADDR, PAGE, 0x5a);
	before = pte_of(_metadata, self->fd, ADDR);
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, PAGE,
				      TORUSMM_PROT_NONE));
	after = pte_of(_metadata, self->fd, ADDR);
	EXPECT_EQ(before & TORUSMM_PTE_FRAME_MASK,
		  after & TORUSMM_PTE_FRAME_MASK);
	EXPECT_EQ(P_PN, after & (P_PN | P_P | P_W | P_U));
	EXPECT_EQ(P_A | P_D, after & (P_A | P_D));
	EXPECT_EQ(F_U, fault_of(_metadata, self->fd, ADDR, USER, NULL))
		TH_LOG("a PROT_NONE page is not present, as Linux keeps it");
	EXPECT_EQ(1, stats_of(_metadata, self->fd).nr_data_frames);
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, PAGE, RW));
	expect_bytes(_metadata, self->fd, ADDR, PAGE, 0x5a);
}

TEST_F_TIMEOUT(space, mprotect_of_zero_length_succeeds_and_changes_nothing, 30)
{
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	EXPECT_EQ(0, torusmm_mprotect(self->fd, ADDR, 0, R));
	EXPECT_EQ(0, torusmm_mprotect(self->fd, ADDR + 8 * PAGE, 0, R));
	expect_region(_metadata, self->fd, self->regions, ADDR, ADDR + PAGE,
		      RW);
}

/*
 * A read of a page never written maps the shared zero frame and takes no
 * frame (only the table the region's first page needs); the first write
 * gives the page a zeroed frame of its own, exactly one, and a write to a
 * page never touched takes its frame at once.
 */
TEST_F_TIMEOUT(space, translate_read_maps_the_zero_frame_and_first_write_a_frame,
	       30)
{
	struct torusmm_torus_info info = torus_of(_metadata, self->dev,
						  self->torus), now;
	struct torusmm_space_stats s;
	struct torusmm_translate tr;

	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	EXPECT_EQ(0, pte_of(_metadata, self->fd, ADDR));
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + 0x123, USER, 0, &tr));
	EXPECT_EQ(0, tr.fault);
	EXPECT_EQ(ZERO_TPA + 0x123, tr.tpa)
		TH_LOG("the zero frame, and the offset is kept");
	EXPECT_EQ(ZERO_PTE_RW, tr.pte)
		TH_LOG("read-only and copy-on-write; a read sets accessed, not dirty");
	EXPECT_EQ(tr.pte, pte_of(_metadata, self->fd, ADDR));
	s = stats_of(_metadata, self->fd);
	EXPECT_EQ(1, s.nr_faults);
	EXPECT_EQ(0, s.nr_data_frames) TH_LOG("the zero frame counts nowhere");
	EXPECT_EQ(2, s.nr_table_frames) TH_LOG("the directory and the table");
	EXPECT_EQ(1, s.nr_translations);
	now = torus_of(_metadata, self->dev, self->torus);
	EXPECT_EQ(info.nr_used + 1, now.nr_used) TH_LOG("the table, no more");
	EXPECT_EQ(info.nr_table_frames + 1, now.nr_table_frames);
	expect_bytes(_metadata, self->fd, ADDR, PAGE, 0);
	EXPECT_EQ(1, stats_of(_metadata, self->fd).nr_faults)
		TH_LOG("reading it again faults nothing in");

	/* The first write: a zeroed frame of its own, in the torus. */
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + 0x456, WRITE | USER, 0,
				       &tr));
	EXPECT_EQ(0, tr.fault);
	EXPECT_EQ(0x456, tr.tpa & (PAGE - 1));
	EXPECT_LE(info.base, tr.tpa);
	EXPECT_GT(info.base + (__u64)info.nr_frames * PAGE, tr.tpa);
	EXPECT_EQ(tr.tpa & TORUSMM_PTE_FRAME_MASK,
		  tr.pte & TORUSMM_PTE_FRAME_MASK);
	EXPECT_EQ(P_P | P_W | P_U | P_A | P_D | P_NX, tr.pte & P_FLAGS)
		TH_LOG("writable, no longer copy-on-write; accessed kept");
	EXPECT_EQ(tr.pte, pte_of(_metadata, self->fd, ADDR));
	s = stats_of(_metadata, self->fd);
	EXPECT_EQ(1, s.nr_data_frames);
	EXPECT_EQ(2, s.nr_table_frames);
	EXPECT_EQ(1, s.nr_faults) TH_LOG("the page was faulted in by the read");
	EXPECT_EQ(3, s.nr_translations);
	EXPECT_EQ(info.nr_used + 2,
		  torus_of(_metadata, self->dev, self->torus).nr_used)
		TH_LOG("exactly one frame more");
	expect_bytes(_metadata, self->fd, ADDR, PAGE, 0);

	/* A write to a page never touched takes its zeroed frame at once. */
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + PAGE, WRITE | USER, 0,
				       &tr));
	EXPECT_NE(ZERO_TPA, tr.tpa & TORUSMM_PTE_FRAME_MASK);
	EXPECT_EQ(P_P | P_W | P_U | P_A | P_D | P_NX, tr.pte & P_FLAGS);
	s = stats_of(_metadata, self->fd);
	EXPECT_EQ(2, s.nr_data_frames);
	EXPECT_EQ(2, s.nr_faults);
	EXPECT_EQ(info.nr_used + 3,
		  torus_of(_metadata, self->dev, self->torus).nr_used);
	expect_bytes(_metadata, self->fd, ADDR + PAGE, PAGE, 0);
}

TEST_F_TIMEOUT(space, translate_read_sets_accessed_and_write_sets_dirty, 30)
{
	struct torusmm_translate tr;

	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED | POPULATE);
	EXPECT_EQ(0, pte_of(_metadata, self->fd, ADDR) & (P_A | P_D));
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR, USER, 0, &tr));
	EXPECT_EQ(P_A, tr.pte & (P_A | P_D));
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR, 0, 0, &tr));
	EXPECT_EQ(P_A, tr.pte & (P_A | P_D)) TH_LOG("supervisor read");
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR, WRITE | USER, 0, &tr));
	EXPECT_EQ(P_A | P_D, tr.pte & (P_A | P_D));
	EXPECT_EQ(tr.pte, pte_of(_metadata, self->fd, ADDR));
	EXPECT_EQ(0, stats_of(_metadata, self->fd).nr_faults);
}

TEST_F_TIMEOUT(space, translate_peek_faults_nothing_in_and_sets_no_bit, 30)
{
	struct torusmm_translate tr;
	struct torusmm_space_stats s;

	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	map(_metadata, self->fd, ADDR + PAGE, PAGE, RW, FIXED | POPULATE);
	ASSERT_EQ(1, torusmm_translate(self->fd, ADDR, WRITE | USER,
				       TORUSMM_TRANSLATE_PEEK, &tr));
	EXPECT_EQ(F_W | F_U, tr.fault) TH_LOG("peek reports not-present");
	EXPECT_EQ(0, tr.tpa);
	EXPECT_EQ(0, tr.pte);
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + PAGE, WRITE | USER,
				       TORUSMM_TRANSLATE_PEEK, &tr));
	EXPECT_EQ(0, tr.fault);
	EXPECT_NE(0, tr.tpa);
	EXPECT_EQ(0, tr.pte & (P_A | P_D));
	EXPECT_EQ(tr.pte, pte_of(_metadata, self->fd, ADDR + PAGE));
	s = stats_of(_metadata, self->fd);
	EXPECT_EQ(1, s.nr_data_frames);
	EXPECT_EQ(0, s.nr_faults);
}

TEST_F_TIMEOUT(space, translate_reports_x86_fault_codes, 30)
{
	const __u32 ro = ADDR, ro_empty = ADDR + PAGE, rw = ADDR + 2 * PAGE;
	const __u32 rx = ADDR + 3 * PAGE, none = ADDR + 4 * PAGE;
	const __u32 nothing = ADDR - PAGE;
	const struct {
		const char *what;
		__u32 addr, access, fault;
		bool faults;
	} rows[] = {
		{ "user read of nothing", nothing, USER, F_U, true },
		/* As on x86, this fault's code is 0: only the value tells. */
		{ "supervisor read of nothing", nothing, 0, 0, true },
		{ "user write of nothing", nothing, WRITE | USER, F_W | F_U,
		  true },
		{ "user fetch of nothing", nothing, EXEC | USER, F_X | F_U,
		  true },
		{ "supervisor write of nothing", nothing, WRITE, F_W, true },
		{ "user write of read-only", ro, WRITE | USER,
		  F_P | F_W | F_U, true },
		{ "supervisor write of read-only (CR0.WP)", ro, WRITE,
		  F_P | F_W, true },
		{ "user write of read-only, not faulted in", ro_empty,
		  WRITE | USER, F_W | F_U, true },
		{ "user fetch of no-exec", rw, EXEC | USER, F_P | F_X | F_U,
		  true },
		{ "supervisor fetch of no-exec", rw, EXEC, F_P | F_X, true },
		{ "user read of PROT_NONE", none, USER, F_U, true },
		{ "user read of the kernel half", TORUSMM_KERNEL_BASE, USER,
		  F_U, true },
		{ "supervisor write of the kernel half", 0xfffff000u, WRITE,
		  F_W, true },
		{ "user fetch of the kernel half", 0xc0000000u, EXEC | USER,
		  F_X | F_U, true },
		{ "user read of page 0", 0, USER, F_U, true },
		{ "user write of the stack guard", TORUSMM_STACK_TOP,
		  WRITE | USER, F_W | F_U, true },
		{ "user fetch of read-exec", rx, EXEC | USER, 0, false },
		{ "supervisor read of a user page", rw, 0, 0, false },
		{ "user write of read-write", rw, WRITE | USER, 0, false },
	};
	unsigned int i;

	map(_metadata, self->fd, ro, PAGE, R, FIXED | POPULATE);
	map(_metadata, self->fd, ro_empty, PAGE, R, FIXED);
	map(_metadata, self->fd, rw, PAGE, RW, FIXED | POPULATE);
	map(_metadata, self->fd, rx, PAGE, RX, FIXED | POPULATE);
	map(_metadata, self->fd, none, PAGE, RW, FIXED | POPULATE);
	ASSERT_EQ(0, torusmm_mprotect(self->fd, none, PAGE,
				      TORUSMM_PROT_NONE));

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct torusmm_translate tr;

		EXPECT_EQ(rows[i].faults,
			  torusmm_translate(self->fd, rows[i].addr,
					    rows[i].access, 0, &tr))
			TH_LOG("%s: 1 when it faults, else 0", rows[i].what);
		EXPECT_EQ(rows[i].fault, tr.fault) TH_LOG("%s", rows[i].what);
		EXPECT_EQ(rows[i].faults, !tr.tpa) TH_LOG("%s", rows[i].what);
	}
	EXPECT_EQ(0, pte_of(_metadata, self->fd, ro_empty))
		TH_LOG("a protection-refused access faults nothing in");
}

/*
 * x86 gives a supervisor read of a not-present page the fault code 0, so
 * only TORUSMM_TRANSLATE's value tells that fault from a translation.  The
 * output fields start as garbage to prove that the kernel writes each one.
 */
TEST_F_TIMEOUT(space, translate_fault_with_code_0_returns_1, 30)
{
	const __u32 flags[] = { 0, TORUSMM_TRANSLATE_PEEK };
	struct torusmm_space_stats s;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		struct torusmm_translate tr = {
			.addr = ADDR,	/* no region anywhere near */
			.access = 0,	/* a supervisor read */
			.flags = flags[i],
			.tpa = ~0ull,
			.fault = ~0u,
			.pte = ~0u,
		};

		EXPECT_EQ(1, torusmm_ioctl(self->fd, TORUSMM_TRANSLATE, &tr))
			TH_LOG("flags %#x", flags[i]);
		EXPECT_EQ(0, tr.fault) TH_LOG("flags %#x", flags[i]);
		EXPECT_EQ(0, tr.tpa) TH_LOG("flags %#x", flags[i]);
		EXPECT_EQ(0, tr.pte) TH_LOG("flags %#x", flags[i]);
	}
	EXPECT_EQ(0, fault_of(_metadata, self->fd, ADDR, 0, NULL))
		TH_LOG("libtorusmm passes the 1 on");
	s = stats_of(_metadata, self->fd);
	EXPECT_EQ(3, s.nr_fault_errors);
	EXPECT_EQ(0, s.nr_translations);
	EXPECT_EQ(0, s.nr_faults);
	EXPECT_EQ(1, regions_of(_metadata, self->fd, self->regions))
		TH_LOG("a fault maps nothing");
	EXPECT_EQ(0, ptes_of(_metadata, self->fd, self->ptes));
}

TEST_F_TIMEOUT(space, translate_counts_faults_errors_and_translations, 30)
{
	struct torusmm_space_stats s;

	map(_metadata, self->fd, ADDR, 2 * PAGE, R, FIXED);
	EXPECT_EQ(NO_FAULT, fault_of(_metadata, self->fd, ADDR, USER, NULL));
	EXPECT_EQ(NO_FAULT, fault_of(_metadata, self->fd, ADDR, USER, NULL));
	EXPECT_EQ(F_P | F_W | F_U,
		  fault_of(_metadata, self->fd, ADDR, WRITE | USER, NULL));
	EXPECT_EQ(F_U, fault_of(_metadata, self->fd, ADDR - PAGE, USER, NULL));
	s = stats_of(_metadata, self->fd);
	EXPECT_EQ(1, s.nr_faults);
	EXPECT_EQ(2, s.nr_translations);
	EXPECT_EQ(2, s.nr_fault_errors);
}

TEST_F_TIMEOUT(space, translate_grows_the_stack_down_on_demand, 30)
{
	const __u32 floor = TORUSMM_STACK_TOP - TORUSMM_STACK_LIMIT;

	EXPECT_EQ(NO_FAULT, fault_of(_metadata, self->fd,
				     STACK_PAGE - 2 * PAGE, WRITE | USER,
				     NULL));
	EXPECT_EQ(STACK_PAGE - 2 * PAGE,
		  stats_of(_metadata, self->fd).stack_start);
	expect_region(_metadata, self->fd, self->regions, STACK_PAGE - 2 * PAGE,
		      TORUSMM_STACK_TOP, RW);
	EXPECT_EQ(1, stats_of(_metadata, self->fd).nr_data_frames)
		TH_LOG("the gap is mapped, only the touched page has a frame");
	EXPECT_EQ(NO_FAULT, fault_of(_metadata, self->fd, floor, USER, NULL))
		TH_LOG("the stack may grow to TORUSMM_STACK_LIMIT");
	EXPECT_EQ(floor, stats_of(_metadata, self->fd).stack_start);
	EXPECT_EQ(F_W | F_U, fault_of(_metadata, self->fd, floor - PAGE,
				      WRITE | USER, NULL));
	EXPECT_EQ(floor, stats_of(_metadata, self->fd).stack_start);
}

/* The stack keeps Linux's stack_guard_gap (256 pages) above any mapping. */
#define GUARD_GAP	(256 * PAGE)

TEST_F_TIMEOUT(space, translate_does_not_grow_the_stack_into_a_mapping, 30)
{
	const __u32 block = STACK_PAGE - GUARD_GAP - 4 * PAGE;

	map(_metadata, self->fd, block, PAGE, RW, FIXED);
	EXPECT_EQ(F_W | F_U, fault_of(_metadata, self->fd, block - PAGE,
				      WRITE | USER, NULL));
	EXPECT_EQ(STACK_PAGE, stats_of(_metadata, self->fd).stack_start);
	EXPECT_EQ(F_W | F_U, fault_of(_metadata, self->fd,
				      block + GUARD_GAP, WRITE | USER, NULL))
		TH_LOG("within the guard gap of the mapping, it does not grow");
	EXPECT_EQ(NO_FAULT, fault_of(_metadata, self->fd,
				     block + PAGE + GUARD_GAP, WRITE | USER,
				     NULL))
		TH_LOG("growing to a guard gap above the mapping is fine");
	EXPECT_EQ(block + PAGE + GUARD_GAP,
		  stats_of(_metadata, self->fd).stack_start);
}

TEST_F_TIMEOUT(space, write_then_read_round_trips_across_pages, 30)
{
	const __u64 len = 2 * PAGE + 100;
	unsigned char *in = malloc(len), *out = malloc(len);
	struct torusmm_rw rw;
	__u64 i;

	ASSERT_TRUE(!!in);
	ASSERT_TRUE(!!out);
	for (i = 0; i < len; i++)
		in[i] = i * 7 + 3;
	map(_metadata, self->fd, ADDR, 3 * PAGE, RW, FIXED);
	ASSERT_EQ(0, torusmm_write(self->fd, ADDR + 50, in, len, USER, &rw));
	EXPECT_EQ(len, rw.done);
	EXPECT_EQ(0, rw.fault);
	EXPECT_EQ(0, rw.fault_addr);
	ASSERT_EQ(0, torusmm_read(self->fd, ADDR + 50, out, len, 0, &rw));
	EXPECT_EQ(len, rw.done);
	EXPECT_EQ(0, memcmp(in, out, len));
	EXPECT_EQ(3, stats_of(_metadata, self->fd).nr_faults)
		TH_LOG("write faults pages in as translate does");
	EXPECT_EQ(P_A | P_D, pte_of(_metadata, self->fd, ADDR) & (P_A | P_D));
	free(in);
	free(out);
}

TEST_F_TIMEOUT(space, write_stops_at_an_unmapped_page_and_reports_it, 30)
{
	unsigned char buf[3 * PAGE];
	struct torusmm_rw rw;

	memset(buf, 0x66, sizeof(buf));
	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	ASSERT_EQ(1, torusmm_write(self->fd, ADDR + PAGE / 2, buf, sizeof(buf),
				   USER, &rw));
	EXPECT_EQ(PAGE + PAGE / 2, rw.done);
	EXPECT_EQ(F_W | F_U, rw.fault);
	EXPECT_EQ(ADDR + 2 * PAGE, rw.fault_addr);
	expect_bytes(_metadata, self->fd, ADDR + PAGE / 2, PAGE + PAGE / 2,
		     0x66);
	expect_bytes(_metadata, self->fd, ADDR, PAGE / 2, 0);
}

TEST_F_TIMEOUT(space, write_stops_at_a_read_only_page, 30)
{
	unsigned char buf[2 * PAGE];
	struct torusmm_rw rw;

	memset(buf, 0x77, sizeof(buf));
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	map(_metadata, self->fd, ADDR + PAGE, PAGE, R, FIXED | POPULATE);
	ASSERT_EQ(1, torusmm_write(self->fd, ADDR + 16, buf, sizeof(buf), USER,
				   &rw));
	EXPECT_EQ(PAGE - 16, rw.done);
	EXPECT_EQ(F_P | F_W | F_U, rw.fault);
	EXPECT_EQ(ADDR + PAGE, rw.fault_addr);
	ASSERT_EQ(1, torusmm_write(self->fd, ADDR + PAGE, buf, 1, 0, &rw));
	EXPECT_EQ(0, rw.done);
	EXPECT_EQ(F_P | F_W, rw.fault) TH_LOG("supervisor writes honour W");
	expect_bytes(_metadata, self->fd, ADDR + PAGE, PAGE, 0);
}

TEST_F_TIMEOUT(space, read_stops_at_a_prot_none_page, 30)
{
	unsigned char buf[2 * PAGE];
	struct torusmm_rw rw;

	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	map(_metadata, self->fd, ADDR + PAGE, PAGE, TORUSMM_PROT_NONE, FIXED);
	fill(_metadata, self->fd, ADDR, PAGE, 0x88);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(1, torusmm_read(self->fd, ADDR + 8, buf, sizeof(buf), USER,
				  &rw));
	EXPECT_EQ(PAGE - 8, rw.done);
	EXPECT_EQ(F_U, rw.fault);
	EXPECT_EQ(ADDR + PAGE, rw.fault_addr);
	EXPECT_EQ(0x88, buf[PAGE - 9]);
	EXPECT_EQ(0, buf[PAGE - 8]) TH_LOG("nothing past the fault is copied");
}

/*
 * A supervisor read that stops at a not-present page faults with code 0;
 * the value 1 and fault_addr still say that, and where, it stopped.
 */
TEST_F_TIMEOUT(space, read_stopped_by_a_fault_with_code_0_returns_1, 30)
{
	unsigned char buf[2 * PAGE];
	struct torusmm_rw rw;

	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	fill(_metadata, self->fd, ADDR, PAGE, 0x4b);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(1, torusmm_read(self->fd, ADDR + 8, buf, sizeof(buf), 0,
				  &rw));
	EXPECT_EQ(PAGE - 8, rw.done);
	EXPECT_EQ(0, rw.fault);
	EXPECT_EQ(ADDR + PAGE, rw.fault_addr);
	EXPECT_EQ(0x4b, buf[PAGE - 9]);
	EXPECT_EQ(0, buf[PAGE - 8]) TH_LOG("nothing past the fault is copied");

	/* Stopped at its first byte: nothing copied, still 1. */
	ASSERT_EQ(1, torusmm_read(self->fd, ADDR - PAGE, buf, 16, 0, &rw));
	EXPECT_EQ(0, rw.done);
	EXPECT_EQ(0, rw.fault);
	EXPECT_EQ(ADDR - PAGE, rw.fault_addr);
	EXPECT_EQ(2, stats_of(_metadata, self->fd).nr_fault_errors);
}

/*
 * fault, done and fault_addr are outputs only: garbage in them on input is
 * ignored and overwritten, whether the copy completes or stops.
 */
TEST_F_TIMEOUT(space, read_and_write_ignore_their_output_fields_on_input, 30)
{
	const struct {
		const char *what;
		unsigned long cmd;
		__u64 addr, length;
		__u32 access;
		int ret;
		__u64 done;
		__u32 fault;
		__u64 fault_addr;
	} rows[] = {
		{ "write of a mapped page", TORUSMM_WRITE, ADDR, 64, USER,
		  0, 64, 0, 0 },
		{ "read of a mapped page", TORUSMM_READ, ADDR, 64, USER,
		  0, 64, 0, 0 },
		{ "read of nothing", TORUSMM_READ, ADDR, 0, USER, 0, 0, 0, 0 },
		{ "write that stops at a hole", TORUSMM_WRITE,
		  ADDR + PAGE - 16, 64, USER, 1, 16, F_W | F_U, ADDR + PAGE },
		{ "read that stops at a hole", TORUSMM_READ, ADDR + PAGE - 16,
		  64, USER, 1, 16, F_U, ADDR + PAGE },
		{ "supervisor read that stops at a hole (code 0)",
		  TORUSMM_READ, ADDR + PAGE - 16, 64, 0, 1, 16, 0,
		  ADDR + PAGE },
	};
	unsigned char buf[64];
	unsigned int i;

	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct torusmm_rw rw = {
			.addr = rows[i].addr,
			.buf = torusmm_ptr(buf),
			.length = rows[i].length,
			.access = rows[i].access,
			.fault = 0xdeadbeef,
			.done = ~0ull,
			.fault_addr = 0x123456789abcdefull,
		};

		memset(buf, 0x5c, sizeof(buf));
		EXPECT_EQ(rows[i].ret, torusmm_ioctl(self->fd, rows[i].cmd, &rw))
			TH_LOG("%s", rows[i].what);
		EXPECT_EQ(rows[i].done, rw.done) TH_LOG("%s", rows[i].what);
		EXPECT_EQ(rows[i].fault, rw.fault) TH_LOG("%s", rows[i].what);
		EXPECT_EQ(rows[i].fault_addr, rw.fault_addr)
			TH_LOG("%s", rows[i].what);
	}
	expect_bytes(_metadata, self->fd, ADDR, 64, 0x5c);
	expect_bytes(_metadata, self->fd, ADDR + PAGE - 16, 16, 0x5c);
}

TEST_F_TIMEOUT(space, read_of_zero_length_copies_nothing, 30)
{
	struct torusmm_rw rw;

	EXPECT_EQ(0, torusmm_read(self->fd, ADDR, NULL, 0, USER, &rw));
	EXPECT_EQ(0, rw.done);
	EXPECT_EQ(0, rw.fault);
	EXPECT_EQ(0, torusmm_write(self->fd, ADDR, NULL, 0, USER, &rw));
	EXPECT_EQ(0, rw.done);
	EXPECT_EQ(0, stats_of(_metadata, self->fd).nr_fault_errors);
}

TEST_F_TIMEOUT(space, read_of_one_mib_works_in_one_call, 60)
{
	unsigned char *buf = malloc(TORUSMM_RW_MAX);
	struct torusmm_rw rw;

	ASSERT_TRUE(!!buf);
	map(_metadata, self->fd, ADDR, TORUSMM_RW_MAX, RW, FIXED);
	memset(buf, 0x99, TORUSMM_RW_MAX);
	ASSERT_EQ(0, torusmm_write(self->fd, ADDR, buf, TORUSMM_RW_MAX, USER,
				   &rw));
	EXPECT_EQ(TORUSMM_RW_MAX, rw.done);
	memset(buf, 0, TORUSMM_RW_MAX);
	ASSERT_EQ(0, torusmm_read(self->fd, ADDR, buf, TORUSMM_RW_MAX, USER,
				  &rw));
	EXPECT_EQ(TORUSMM_RW_MAX, rw.done);
	EXPECT_EQ(0x99, buf[TORUSMM_RW_MAX - 1]);
	EXPECT_EQ(TORUSMM_RW_MAX / PAGE,
		  stats_of(_metadata, self->fd).nr_data_frames);
	free(buf);
}

/*
 * nr_translations counts pages (section 7.12): a READ or WRITE of N pages
 * counts N, whether the caller's buffer was resident or never touched (the
 * copy then restarts after faulting it in, and the page that stopped it is
 * not counted twice), as a single ioctl or as a batch op.  A copy that
 * starts inside a page covers one page more.
 */
static const struct count_row {
	const char *name;
	bool write;
	bool batch;
	bool touched;	/* the buffer is resident before the copy */
	__u32 offset;	/* of the copy in the space and in the buffer */
	__u32 pages;	/* length, in pages */
	__u64 counted;
} count_rows[] = {
	{ "read, untouched buffer", false, false, false, 0, 8, 8 },
	{ "read, resident buffer", false, false, true, 0, 8, 8 },
	{ "write, untouched buffer", true, false, false, 0, 8, 8 },
	{ "write, resident buffer", true, false, true, 0, 8, 8 },
	{ "batch read, untouched buffer", false, true, false, 0, 8, 8 },
	{ "batch write, untouched buffer", true, true, false, 0, 8, 8 },
	{ "read from inside a page, untouched", false, false, false, 100, 8, 9 },
	{ "write from inside a page, untouched", true, false, false, 100, 8, 9 },
	{ "read of one page, untouched", false, false, false, 0, 1, 1 },
	{ "read of nothing", false, false, false, 0, 0, 0 },
};

/* One READ or WRITE of @row, single or batched; return bytes copied. */
static __u64 copy_row(struct __test_metadata *_metadata, int fd,
		      const struct count_row *row, unsigned char *buf)
{
	__u64 addr = ADDR + row->offset, len = (__u64)row->pages * PAGE;
	struct torusmm_batch_op op = {
		.op = row->write ? TORUSMM_OP_WRITE : TORUSMM_OP_READ,
		.addr = addr,
		.length = len,
		.buf = torusmm_ptr(buf),
		.access = USER,
	};
	struct torusmm_batch b = {
		.ops = torusmm_ptr(&op),
		.count = 1,
	};
	struct torusmm_rw rw;
	int ret;

	if (row->batch) {
		EXPECT_EQ(0, torusmm_ioctl(fd, TORUSMM_BATCH, &b));
		EXPECT_EQ(0, op.result);
		return op.out;
	}
	ret = row->write ? torusmm_write(fd, addr, buf, len, USER, &rw) :
			   torusmm_read(fd, addr, buf, len, USER, &rw);
	EXPECT_EQ(0, ret);
	return rw.done;
}

TEST_F_TIMEOUT(space, read_and_write_count_each_page_once, 60)
{
	const size_t span = 10 * PAGE;
	unsigned int i;

	map(_metadata, self->fd, ADDR, span, RW, FIXED);
	for (i = 0; i < ARRAY_SIZE(count_rows); i++) {
		const struct count_row *row = &count_rows[i];
		unsigned char *buf = mmap(NULL, span, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		__u64 before, after, done;

		/* A write row before this one may have stored zeroes. */
		fill(_metadata, self->fd, ADDR, span, 0x5a);

		ASSERT_TRUE(buf != MAP_FAILED) TH_LOG("%s", row->name);
		if (row->touched)
			memset(buf, 0x5a, span);
		before = stats_of(_metadata, self->fd).nr_translations;
		done = copy_row(_metadata, self->fd, row, buf + row->offset);
		after = stats_of(_metadata, self->fd).nr_translations;
		EXPECT_EQ((__u64)row->pages * PAGE, done) TH_LOG("%s", row->name);
		EXPECT_EQ(row->counted, after - before) TH_LOG("%s", row->name);
		if (!row->write && row->pages) {
			EXPECT_EQ(0x5a, buf[row->offset + row->pages * PAGE - 1])
				TH_LOG("%s", row->name);
		}
		munmap(buf, span);
	}
}

/*
 * A clone has the regions, break and stack of its source and shares its
 * frames copy-on-write: the same frames, read-only and marked on both sides,
 * the clone's entries old; only the clone's tables take frames.  The first
 * write to a shared page gives the writer a copy; once no other space maps
 * the frame, a write just makes the entry writable again.
 */
TEST_F_TIMEOUT(space, clone_shares_frames_copy_on_write_and_copies_the_rest, 60)
{
	struct torusmm_space_stats before, ps, cs;
	struct torusmm_torus_info info, now;
	struct torusmm_region cregions[16];
	struct torusmm_pte *cptes, *pptes;
	__u32 n, cn = 16, i, pte, frame;
	__u64 brk, tpa;
	int clone;

	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED | POPULATE);
	map(_metadata, self->fd, ADDR + 4 * PAGE, 2 * PAGE, RX, FIXED);
	fill(_metadata, self->fd, ADDR, 3 * PAGE, 0xc1);
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR + PAGE, PAGE, R));
	ASSERT_EQ(0, torusmm_brk(self->fd, TORUSMM_HEAP_START + 2 * PAGE + 1,
				 &brk));
	fill(_metadata, self->fd, TORUSMM_HEAP_START, 8, 0xc2);
	EXPECT_EQ(NO_FAULT, fault_of(_metadata, self->fd, STACK_PAGE - PAGE,
				     WRITE | USER, NULL));
	/* A fetch of a page never written: the zero frame, shared too. */
	EXPECT_EQ(NO_FAULT, fault_of(_metadata, self->fd, ADDR + 4 * PAGE,
				     EXEC | USER, &tpa));
	EXPECT_EQ(ZERO_TPA, tpa);
	pptes = malloc(sizeof(*pptes) * MAX_ENTRIES);
	cptes = malloc(sizeof(*cptes) * MAX_ENTRIES);
	ASSERT_TRUE(pptes && cptes);
	n = ptes_of(_metadata, self->fd, pptes);
	before = stats_of(_metadata, self->fd);
	info = torus_of(_metadata, self->dev, self->torus);

	clone = torusmm_clone(self->fd);
	ASSERT_LE(0, clone);
	ps = stats_of(_metadata, self->fd);
	cs = stats_of(_metadata, clone);
	EXPECT_EQ(ps.torus, cs.torus);
	EXPECT_EQ(ps.max_frames, cs.max_frames);
	EXPECT_EQ(before.nr_data_frames, ps.nr_data_frames);
	EXPECT_EQ(ps.nr_data_frames, cs.nr_data_frames)
		TH_LOG("a shared frame counts in each space");
	EXPECT_EQ(6, cs.nr_data_frames)
		TH_LOG("four populated, a heap and a stack page; not the zero frame");
	EXPECT_EQ(ps.nr_table_frames, cs.nr_table_frames);
	EXPECT_EQ(ps.nr_regions, cs.nr_regions);
	EXPECT_EQ(ps.brk, cs.brk);
	EXPECT_EQ(ps.nr_heap_pages, cs.nr_heap_pages);
	EXPECT_EQ(ps.stack_start, cs.stack_start);
	now = torus_of(_metadata, self->dev, self->torus);
	EXPECT_EQ(info.nr_used + cs.nr_table_frames, now.nr_used)
		TH_LOG("only the clone's tables took frames");
	EXPECT_EQ(info.nr_table_frames + cs.nr_table_frames,
		  now.nr_table_frames);

	n = regions_of(_metadata, self->fd, self->regions);
	ASSERT_EQ(0, torusmm_dump_regions(clone, cregions, &cn));
	ASSERT_EQ(n, cn);
	EXPECT_EQ(0, memcmp(self->regions, cregions, n * sizeof(*cregions)));
	n = ptes_of(_metadata, self->fd, self->ptes);
	ASSERT_EQ(n, ptes_of(_metadata, clone, cptes));
	ASSERT_EQ(7, n) TH_LOG("six frames and the zero frame");
	for (i = 0; i < n; i++) {
		ASSERT_EQ(pptes[i].addr, self->ptes[i].addr);
		EXPECT_EQ(self->ptes[i].addr, cptes[i].addr);
		/* The source keeps its bits, but is read-only and marked. */
		EXPECT_EQ((pptes[i].pte & ~P_W) | P_COW, self->ptes[i].pte)
			TH_LOG("the source's entry at %#x", self->ptes[i].addr);
		/* Old, as after fork(): accessed starts clear. */
		EXPECT_EQ(self->ptes[i].pte & ~P_A, cptes[i].pte)
			TH_LOG("the same frame, flags and dirty bit at %#x",
			       cptes[i].addr);
	}
	expect_bytes(_metadata, clone, ADDR, 3 * PAGE, 0xc1);
	expect_bytes(_metadata, clone, ADDR + 3 * PAGE, 2 * PAGE, 0);
	expect_bytes(_metadata, clone, TORUSMM_HEAP_START, 8, 0xc2);
	EXPECT_EQ(now.nr_used,
		  torus_of(_metadata, self->dev, self->torus).nr_used)
		TH_LOG("reads copy nothing");

	/* The first write to a shared page copies it, for the writer only. */
	pte = pte_of(_metadata, self->fd, ADDR);
	frame = pte & TORUSMM_PTE_FRAME_MASK;
	fill(_metadata, clone, ADDR, PAGE, 0xc3);
	EXPECT_EQ(now.nr_used + 1,
		  torus_of(_metadata, self->dev, self->torus).nr_used);
	EXPECT_NE(frame, pte_of(_metadata, clone, ADDR) &
			 TORUSMM_PTE_FRAME_MASK);
	EXPECT_EQ(P_W, pte_of(_metadata, clone, ADDR) & (P_W | P_COW));
	EXPECT_EQ(pte, pte_of(_metadata, self->fd, ADDR))
		TH_LOG("the source's entry is untouched");
	expect_bytes(_metadata, self->fd, ADDR, PAGE, 0xc1);
	EXPECT_EQ(6, stats_of(_metadata, clone).nr_data_frames);

	/* The source maps that frame alone now: a write keeps it. */
	fill(_metadata, self->fd, ADDR, PAGE, 0xc4);
	EXPECT_EQ(now.nr_used + 1,
		  torus_of(_metadata, self->dev, self->torus).nr_used);
	EXPECT_EQ(frame | P_W, pte_of(_metadata, self->fd, ADDR) &
			       (TORUSMM_PTE_FRAME_MASK | P_W | P_COW));
	expect_bytes(_metadata, clone, ADDR, PAGE, 0xc3);
	expect_bytes(_metadata, self->fd, ADDR, PAGE, 0xc4);
	free(pptes);
	free(cptes);
	close(clone);
}

TEST_F_TIMEOUT(space, clone_write_is_invisible_to_the_parent_and_back, 30)
{
	int clone;

	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	fill(_metadata, self->fd, ADDR, 2 * PAGE, 0xd0);
	clone = torusmm_clone(self->fd);
	ASSERT_LE(0, clone);
	fill(_metadata, clone, ADDR, PAGE, 0xd1);
	fill(_metadata, self->fd, ADDR + PAGE, PAGE, 0xd2);
	expect_bytes(_metadata, self->fd, ADDR, PAGE, 0xd0);
	expect_bytes(_metadata, clone, ADDR, PAGE, 0xd1);
	expect_bytes(_metadata, self->fd, ADDR + PAGE, PAGE, 0xd2);
	expect_bytes(_metadata, clone, ADDR + PAGE, PAGE, 0xd0);
	/* Mapping changes stay apart too. */
	ASSERT_EQ(0, torusmm_munmap(clone, ADDR, PAGE));
	expect_bytes(_metadata, self->fd, ADDR, PAGE, 0xd0);
	close(clone);
}

TEST_F_TIMEOUT(space, clone_outlives_the_parent_fd, 30)
{
	int clone;

	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	fill(_metadata, self->fd, ADDR, PAGE, 0xe0);
	clone = torusmm_clone(self->fd);
	ASSERT_LE(0, clone);
	close(self->fd);
	self->fd = -1;
	expect_bytes(_metadata, clone, ADDR, PAGE, 0xe0);
	close(clone);
}

TEST_F_TIMEOUT(space, spaces_hold_different_frames_at_the_same_address, 30)
{
	int other = torusmm_create_space(self->dev, self->torus, 0);
	__u64 tpa_self, tpa_other;

	ASSERT_LE(0, other);
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	map(_metadata, other, ADDR, PAGE, RW, FIXED);
	fill(_metadata, self->fd, ADDR, PAGE, 0x01);
	fill(_metadata, other, ADDR, PAGE, 0x02);
	expect_bytes(_metadata, self->fd, ADDR, PAGE, 0x01);
	expect_bytes(_metadata, other, ADDR, PAGE, 0x02);
	EXPECT_EQ(NO_FAULT,
		  fault_of(_metadata, self->fd, ADDR, USER, &tpa_self));
	EXPECT_EQ(NO_FAULT, fault_of(_metadata, other, ADDR, USER, &tpa_other));
	EXPECT_NE(tpa_self, tpa_other);
	/* What one space maps, the other does not see at all. */
	map(_metadata, self->fd, ADDR + PAGE, PAGE, RW, FIXED | POPULATE);
	EXPECT_EQ(F_U, fault_of(_metadata, other, ADDR + PAGE, USER, NULL));
	close(other);
}

/* Whether @tpa is among the @n entries of @ptes. */
static bool holds_frame(const struct torusmm_pte *ptes, __u32 n, __u32 tpa)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if ((ptes[i].pte & TORUSMM_PTE_FRAME_MASK) == tpa)
			return true;
	return false;
}

/* Write @byte over [@addr, @addr + @len) in TORUSMM_RW_MAX chunks. */
static void fill_big(struct __test_metadata *_metadata, int fd, __u64 addr,
		     __u64 len, unsigned char byte)
{
	__u64 off;

	for (off = 0; off < len; off += TORUSMM_RW_MAX)
		fill(_metadata, fd, addr + off,
		     len - off < TORUSMM_RW_MAX ? len - off : TORUSMM_RW_MAX,
		     byte);
}

TEST_F_TIMEOUT(space, frames_are_zeroed_when_another_space_reuses_them, 120)
{
	struct torusmm_torus_info info;
	__u32 n, i, nr_a, reused = 0;
	struct torusmm_pte *a_ptes;
	__u64 len;
	int a, b;

	/* A takes (nearly) every free frame and dirties it. */
	close(self->fd);
	self->fd = -1;
	a = torusmm_create_space(self->dev, self->torus, TORUSMM_NO_QUOTA);
	ASSERT_LE(0, a);
	info = torus_of(_metadata, self->dev, self->torus);
	n = info.nr_free - info.nr_free / 1024 - 2;
	if (n > MAX_ENTRIES)
		n = MAX_ENTRIES;
	len = (__u64)n * PAGE;
	map(_metadata, a, ADDR, len, RW, FIXED | POPULATE);
	fill_big(_metadata, a, ADDR, len, 0xa5);
	a_ptes = malloc(sizeof(*a_ptes) * MAX_ENTRIES);
	ASSERT_TRUE(!!a_ptes);
	nr_a = ptes_of(_metadata, a, a_ptes);
	ASSERT_EQ(n, nr_a);
	close(a);

	/* B gets as many: most are A's old frames, and all read zero. */
	b = torusmm_create_space(self->dev, self->torus, TORUSMM_NO_QUOTA);
	ASSERT_LE(0, b);
	map(_metadata, b, ADDR, len, RW, FIXED | POPULATE);
	ASSERT_EQ(n, ptes_of(_metadata, b, self->ptes));
	for (i = 0; i < n; i++)
		reused += holds_frame(a_ptes, nr_a, self->ptes[i].pte &
					TORUSMM_PTE_FRAME_MASK);
	info = torus_of(_metadata, self->dev, self->torus);
	/* At most nr_free + 5 (B's directory and tables) were not A's. */
	if (n < MAX_ENTRIES)
		EXPECT_LE(n - info.nr_free - 5, reused)
			TH_LOG("B got only %u of A's %u frames", reused, n);
	TH_LOG("B reuses %u of A's %u frames", reused, n);
	for (i = 0; i < len / TORUSMM_RW_MAX + 1; i++) {
		__u64 off = (__u64)i * TORUSMM_RW_MAX;

		if (off < len)
			expect_bytes(_metadata, b, ADDR + off,
				     len - off < TORUSMM_RW_MAX ?
				     len - off : TORUSMM_RW_MAX, 0);
	}
	free(a_ptes);
	close(b);
}

/*
 * In an exec'd copy of this test (PROBE_ENV set), check before the harness
 * starts that the close-on-exec space fd is gone and that an fd inherited
 * without close-on-exec reaches its space; the exit status tells.
 */
static void __attribute__((constructor)) exec_probe(void)
{
	const char *env = getenv(PROBE_ENV);
	struct torusmm_space_stats stats;
	struct torusmm_rw rw;
	int gone, kept;

	if (!env)
		return;
	if (sscanf(env, "%d:%d", &gone, &kept) != 2)
		_exit(10);
	if (fcntl(gone, F_GETFD) != -1 || errno != EBADF)
		_exit(11);
	if (torusmm_stats(gone, &stats) != -EBADF)
		_exit(12);
	if (torusmm_stats(kept, &stats))
		_exit(13);
	if (torusmm_write(kept, ADDR, "exec", 4, USER, &rw) || rw.done != 4)
		_exit(14);
	_exit(0);
}

TEST_F_TIMEOUT(space, exec_child_loses_the_cloexec_fd_and_keeps_a_dup, 30)
{
	char env[64], *argv[2], *envp[2];
	char buf[5] = "";
	struct torusmm_rw rw;
	int kept, status;
	pid_t pid;

	if (access("/proc/self/exe", X_OK))
		SKIP(return, "no /proc/self/exe to exec");
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	kept = dup(self->fd);	/* dup() clears close-on-exec */
	ASSERT_LE(0, kept);
	snprintf(env, sizeof(env), PROBE_ENV "=%d:%d", self->fd, kept);
	argv[0] = "torusmm_api_test";
	argv[1] = NULL;
	envp[0] = env;
	envp[1] = NULL;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		execve("/proc/self/exe", argv, envp);
		_exit(20);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	/* 11, 12: the fd survived exec; 13, 14: the dup failed; 20: no exec */
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("see the exit codes");
	ASSERT_EQ(0, torusmm_read(self->fd, ADDR, buf, 4, USER, &rw));
	EXPECT_STREQ("exec", buf);
	close(kept);
}

TEST_F_TIMEOUT(space, forked_child_uses_the_inherited_space_fd, 30)
{
	char buf[6] = "";
	struct torusmm_rw rw;
	int status;
	pid_t pid;

	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (torusmm_write(self->fd, ADDR, "child", 5, USER, &rw) ||
		    rw.done != 5)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, torusmm_read(self->fd, ADDR, buf, 5, USER, &rw));
	EXPECT_STREQ("child", buf) TH_LOG("the child wrote the same space");
}

/* Receive one fd over a unix socket; -1 on failure. */
static int recv_fd(int sock)
{
	char data, control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
	return fd;
}

static int send_fd(int sock, int fd)
{
	char data = 'f', control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(fd));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

/*
 * In a child that exists before the space: get the parent's space fd @nr,
 * over the socket @sock when there is one, else with pidfd_getfd() (a
 * kernel without CONFIG_UNIX), and write "passed" through it.
 */
static int child_write_through_passed_fd(int sock, int pipe_fd)
{
	struct torusmm_rw rw;
	int fd = -1, nr, pidfd;

	if (sock >= 0) {
		fd = recv_fd(sock);
	} else if (read(pipe_fd, &nr, sizeof(nr)) == sizeof(nr)) {
		pidfd = syscall(SYS_pidfd_open, getppid(), 0);
		fd = syscall(SYS_pidfd_getfd, pidfd, nr, 0);
	}
	if (fd < 0)
		return 1;
	if (torusmm_write(fd, ADDR, "passed", 6, USER, &rw) || rw.done != 6)
		return 2;
	return 0;
}

TEST_F_TIMEOUT(space, space_fd_passed_to_another_process_works, 30)
{
	int sv[2] = { -1, -1 }, pipe_fds[2], status;
	struct torusmm_rw rw;
	char buf[7] = "";
	pid_t pid;

	/* The child exists before the space does: it cannot inherit it. */
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, pipe(pipe_fds));
	/* Without CONFIG_UNIX, the child takes the fd with pidfd_getfd(). */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		sv[0] = -1;
		sv[1] = -1;
	}
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(child_write_through_passed_fd(sv[1], pipe_fds[0]));
	self->fd = torusmm_create_space(self->dev, TORUSMM_TORUS_ANY, 0);
	ASSERT_LE(0, self->fd);
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	if (sv[0] >= 0) {
		ASSERT_EQ(0, send_fd(sv[0], self->fd));
	} else {
		ASSERT_EQ(sizeof(self->fd),
			  write(pipe_fds[1], &self->fd, sizeof(self->fd)));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("%s", sv[0] >= 0 ? "SCM_RIGHTS" : "pidfd_getfd()");
	ASSERT_EQ(0, torusmm_read(self->fd, ADDR, buf, 6, USER, &rw));
	EXPECT_STREQ("passed", buf);
}

TEST_F_TIMEOUT(space, quota_counts_data_and_table_frames, 30)
{
	int fd = torusmm_create_space(self->dev, self->torus, 4);
	struct torusmm_translate tr;
	__u64 tpa;

	ASSERT_LE(0, fd);
	map(_metadata, fd, ADDR, 4 * PAGE, RW, FIXED);
	/* The directory, one table and two pages make four frames. */
	EXPECT_EQ(NO_FAULT, fault_of(_metadata, fd, ADDR, WRITE | USER, NULL));
	EXPECT_EQ(NO_FAULT,
		  fault_of(_metadata, fd, ADDR + PAGE, WRITE | USER, NULL));
	EXPECT_EQ(-ENOMEM, torusmm_translate(fd, ADDR + 3 * PAGE, WRITE | USER,
					     0, &tr))
		TH_LOG("a fault-in past the quota is ENOMEM, not a fault code");
	/* The zero frame counts in no quota: a read at the quota maps it. */
	EXPECT_EQ(NO_FAULT, fault_of(_metadata, fd, ADDR + 2 * PAGE, USER,
				     &tpa));
	EXPECT_EQ(ZERO_TPA, tpa);
	EXPECT_EQ(-ENOMEM, torusmm_translate(fd, ADDR + 2 * PAGE, WRITE | USER,
					     0, &tr))
		TH_LOG("its first write needs a frame past the quota");
	EXPECT_EQ(ZERO_PTE_RW, pte_of(_metadata, fd, ADDR + 2 * PAGE))
		TH_LOG("the refused write left the entry as it was");
	EXPECT_EQ(0, pte_of(_metadata, fd, ADDR + 3 * PAGE));
	EXPECT_EQ(2, stats_of(_metadata, fd).nr_data_frames);
	EXPECT_EQ(2, stats_of(_metadata, fd).nr_table_frames);
	ASSERT_EQ(0, torusmm_munmap(fd, ADDR, PAGE));
	EXPECT_EQ(NO_FAULT, fault_of(_metadata, fd, ADDR + 2 * PAGE,
				     WRITE | USER, &tpa))
		TH_LOG("a freed frame makes room again");
	EXPECT_NE(ZERO_TPA, tpa);
	EXPECT_EQ(2, stats_of(_metadata, fd).nr_data_frames);
	EXPECT_EQ(-ENOMEM, torusmm_translate(fd, ADDR + 3 * PAGE, WRITE | USER,
					     0, &tr));
	close(fd);
}

TEST_F_TIMEOUT(space, stats_track_frames_regions_and_heap, 30)
{
	struct torusmm_space_stats s;
	__u64 brk;

	map(_metadata, self->fd, ADDR, 3 * PAGE, RW, FIXED | POPULATE);
	map(_metadata, self->fd, 0x20000000, PAGE, R, FIXED | POPULATE);
	ASSERT_EQ(0, torusmm_brk(self->fd, TORUSMM_HEAP_START + 3 * PAGE,
				 &brk));
	s = stats_of(_metadata, self->fd);
	EXPECT_EQ(4, s.nr_data_frames);
	EXPECT_EQ(3, s.nr_table_frames) TH_LOG("the directory and two tables");
	EXPECT_EQ(4, s.nr_regions);
	EXPECT_EQ(3, s.nr_heap_pages);
	EXPECT_EQ(TORUSMM_HEAP_START + 3 * PAGE, s.brk);
	EXPECT_EQ(self->torus, s.torus);
}

TEST_F_TIMEOUT(space, dump_ptes_covers_a_window_or_everything, 30)
{
	__u32 count;

	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED | POPULATE);
	map(_metadata, self->fd, 0x30000000, PAGE, RW, FIXED | POPULATE);
	count = MAX_ENTRIES;
	ASSERT_EQ(0, torusmm_dump_ptes(self->fd, ADDR + PAGE, 2 * PAGE,
				       self->ptes, &count));
	ASSERT_EQ(2, count);
	EXPECT_EQ(ADDR + PAGE, self->ptes[0].addr);
	EXPECT_EQ(ADDR + 2 * PAGE, self->ptes[1].addr);
	count = MAX_ENTRIES;
	ASSERT_EQ(0, torusmm_dump_ptes(self->fd, ADDR + PAGE, 0, self->ptes,
				       &count));
	EXPECT_EQ(4, count) TH_LOG("length 0 dumps up to 4 GiB");
	EXPECT_EQ(5, ptes_of(_metadata, self->fd, self->ptes));
	EXPECT_EQ(0x30000000, self->ptes[4].addr) TH_LOG("ascending order");
	count = MAX_ENTRIES;
	ASSERT_EQ(0, torusmm_dump_ptes(self->fd, 0x40000000, PAGE, self->ptes,
				       &count));
	EXPECT_EQ(0, count);
}

TEST_F_TIMEOUT(space, dump_into_a_short_buffer_is_e2big_and_writes_nothing, 30)
{
	struct torusmm_region regions[2];
	struct torusmm_pte ptes[2];
	__u32 count;

	map(_metadata, self->fd, ADDR, 3 * PAGE, RW, FIXED | POPULATE);
	map(_metadata, self->fd, ADDR + 4 * PAGE, PAGE, R, FIXED);
	memset(regions, 0xee, sizeof(regions));
	memset(ptes, 0xee, sizeof(ptes));

	count = 2;
	EXPECT_EQ(-E2BIG, torusmm_dump_regions(self->fd, regions, &count));
	EXPECT_EQ(3, count) TH_LOG("count is set to the number needed");
	count = 2;
	EXPECT_EQ(-E2BIG, torusmm_dump_ptes(self->fd, 0, 0, ptes, &count));
	EXPECT_EQ(3, count);
	EXPECT_EQ(0xeeeeeeee, regions[0].start) TH_LOG("nothing was written");
	EXPECT_EQ(0xeeeeeeee, ptes[0].addr);
	/* Capacity 0 asks for the size. */
	count = 0;
	EXPECT_EQ(-E2BIG, torusmm_dump_regions(self->fd, NULL, &count));
	EXPECT_EQ(3, count);
}

/* The ceilings a caller cannot raise: module parameters. */

FIXTURE(ceiling) {
	int dev;
	int fds[8];
	int nr_fds;
	struct torusmm_region regions[MAX_ENTRIES];
	struct torusmm_pte ptes[MAX_ENTRIES];
};

FIXTURE_SETUP(ceiling)
{
	/* A test killed by its timeout ran no teardown: undo what it set. */
	torusmm_tunables_restore();
	self->dev = torusmm_open();
	/* No SKIP: this harness would still run the test body after it. */
	ASSERT_LE(0, self->dev) TH_LOG("open " TORUSMM_DEVICE ": %s",
				       strerror(-self->dev));
}

FIXTURE_TEARDOWN(ceiling)
{
	torusmm_tunables_restore();
	while (self->nr_fds)
		close(self->fds[--self->nr_fds]);
	if (self->dev >= 0)
		close(self->dev);
}

/* Set a parameter for the rest of the test; the teardown restores it. */
static void set_param(struct __test_metadata *_metadata, const char *name,
		      long long value)
{
	int ret = torusmm_param_set(name, value);

	ASSERT_EQ(0, ret) TH_LOG("%s=%lld: %s", name, value, strerror(-ret));
}

/* Create a space that the teardown closes; return its fd. */
static int ceiling_space(struct __test_metadata *_metadata,
			 struct _test_data_ceiling *self, int dev, __u32 quota)
{
	int fd = torusmm_create_space(dev, 0, quota);

	ASSERT_LE(0, fd) TH_LOG("create: %s", strerror(-fd));
	ASSERT_GT(ARRAY_SIZE(self->fds), self->nr_fds);
	self->fds[self->nr_fds++] = fd;
	return fd;
}

/* Expect a create or clone to fail with @err; close what it made if not. */
static void expect_no_space(struct __test_metadata *_metadata, int ret,
			    int err)
{
	EXPECT_EQ(err, ret);
	if (ret >= 0)
		close(ret);
}

static __u32 frames_of(struct __test_metadata *_metadata, int fd)
{
	struct torusmm_space_stats s = stats_of(_metadata, fd);

	return s.nr_data_frames + s.nr_table_frames;
}

/* Frames in use on every torus: the user's, as nothing else runs here. */
static __u32 frames_in_use(struct __test_metadata *_metadata, int dev)
{
	int nr = torusmm_check_extension(dev, TORUSMM_CAP_NR_TORI), i;
	__u32 used = 0;

	for (i = 0; i < nr; i++)
		used += torus_of(_metadata, dev, i).nr_used;
	return used;
}

/* The result of a write access at @addr: 0, 1 (a fault) or -errno. */
static int touch(int fd, __u64 addr)
{
	struct torusmm_translate tr;

	return torusmm_translate(fd, addr, WRITE | USER, 0, &tr);
}

TEST_F_TIMEOUT(ceiling, parameters_have_their_documented_defaults, 30)
{
	/* As the test program found them: loaded without parameters. */
	EXPECT_EQ(0, torusmm_saved.value[0]) TH_LOG("max_frames");
	EXPECT_EQ(0, torusmm_saved.value[1]) TH_LOG("user_max_frames");
	EXPECT_EQ(64, torusmm_saved.value[2]) TH_LOG("max_spaces");
	EXPECT_EQ(65530, torusmm_saved.value[3]) TH_LOG("max_regions");
}

TEST_F_TIMEOUT(ceiling, max_frames_caps_every_quota, 30)
{
	int fd, clone;

	set_param(_metadata, "max_frames", 100);
	fd = ceiling_space(_metadata, self, self->dev, 0);
	EXPECT_EQ(100, stats_of(_metadata, fd).max_frames)
		TH_LOG("quota 0 takes the ceiling");
	fd = ceiling_space(_metadata, self, self->dev, 100);
	EXPECT_EQ(100, stats_of(_metadata, fd).max_frames);
	fd = ceiling_space(_metadata, self, self->dev, 40);
	EXPECT_EQ(40, stats_of(_metadata, fd).max_frames);
	expect_no_space(_metadata, torusmm_create_space(self->dev, 0, 101),
			-EINVAL);
	expect_no_space(_metadata, torusmm_create_space(self->dev, 0,
							TORUSMM_NO_QUOTA),
			-EINVAL);

	/* A quota from the ceiling is enforced like any other. */
	set_param(_metadata, "max_frames", 4);
	fd = ceiling_space(_metadata, self, self->dev, 0);
	EXPECT_EQ(4, stats_of(_metadata, fd).max_frames);
	map(_metadata, fd, ADDR, 4 * PAGE, RW, FIXED);
	EXPECT_EQ(0, touch(fd, ADDR));
	EXPECT_EQ(0, touch(fd, ADDR + PAGE));
	EXPECT_EQ(-ENOMEM, touch(fd, ADDR + 2 * PAGE));
	/* A clone keeps its source's quota, and just fits in it. */
	clone = torusmm_clone(fd);
	ASSERT_LE(0, clone) TH_LOG("clone: %s", strerror(-clone));
	self->fds[self->nr_fds++] = clone;
	EXPECT_EQ(4, stats_of(_metadata, clone).max_frames);
	EXPECT_EQ(-ENOMEM, touch(clone, ADDR + 2 * PAGE));

	set_param(_metadata, "max_frames", 0);
	fd = ceiling_space(_metadata, self, self->dev, TORUSMM_NO_QUOTA);
	EXPECT_EQ(TORUSMM_NO_QUOTA, stats_of(_metadata, fd).max_frames)
		TH_LOG("0: no ceiling");
	fd = ceiling_space(_metadata, self, self->dev, 0);
	EXPECT_EQ(0, stats_of(_metadata, fd).max_frames);
}

TEST_F_TIMEOUT(ceiling, user_max_frames_counts_the_spaces_of_every_open, 30)
{
	int other = torusmm_open(), a, b;
	__u32 base;

	ASSERT_LE(0, other);
	a = ceiling_space(_metadata, self, self->dev, TORUSMM_NO_QUOTA);
	b = ceiling_space(_metadata, self, other, TORUSMM_NO_QUOTA);
	close(other);
	base = frames_of(_metadata, a) + frames_of(_metadata, b);
	ASSERT_EQ(base, frames_in_use(_metadata, self->dev))
		TH_LOG("another space holds frames: the sums below are off");
	map(_metadata, a, ADDR, 4 * PAGE, RW, FIXED);
	map(_metadata, b, ADDR, 4 * PAGE, RW, FIXED);
	set_param(_metadata, "user_max_frames", base + 3);

	EXPECT_EQ(0, touch(a, ADDR)) TH_LOG("a table and a page: base + 2");
	EXPECT_EQ(-ENOMEM, touch(b, ADDR))
		TH_LOG("b needs two more frames, the user has one");
	EXPECT_EQ(0, touch(a, ADDR + PAGE)) TH_LOG("up to the ceiling");
	EXPECT_EQ(-ENOMEM, touch(a, ADDR + 2 * PAGE)) TH_LOG("one past it");
	EXPECT_EQ(2, stats_of(_metadata, a).nr_data_frames);
	EXPECT_EQ(0, stats_of(_metadata, b).nr_data_frames);
	EXPECT_EQ(1, stats_of(_metadata, b).nr_table_frames);
	EXPECT_EQ(base + 3, frames_in_use(_metadata, self->dev));

	/* Frames freed in one space make room in the other. */
	ASSERT_EQ(0, torusmm_munmap(a, ADDR, 4 * PAGE));
	EXPECT_EQ(base, frames_in_use(_metadata, self->dev));
	EXPECT_EQ(0, touch(b, ADDR));
	EXPECT_EQ(0, touch(b, ADDR + PAGE));
	EXPECT_EQ(-ENOMEM, touch(b, ADDR + 2 * PAGE));

	/* Lowered below what the user holds, it takes nothing away. */
	set_param(_metadata, "user_max_frames", base);
	EXPECT_EQ(base + 3, frames_in_use(_metadata, self->dev));
	EXPECT_EQ(0, touch(b, ADDR)) TH_LOG("present: no new charge");
	EXPECT_EQ(-ENOMEM, touch(b, ADDR + 3 * PAGE));
	ASSERT_EQ(0, torusmm_munmap(b, ADDR, PAGE));
	EXPECT_EQ(-ENOMEM, touch(b, ADDR + 2 * PAGE))
		TH_LOG("still above the ceiling");
	ASSERT_EQ(0, torusmm_munmap(b, ADDR, 4 * PAGE));
	EXPECT_EQ(base, frames_in_use(_metadata, self->dev));
}

TEST_F_TIMEOUT(ceiling, user_max_frames_populate_is_all_or_nothing, 30)
{
	struct torusmm_torus_info before;
	__u64 addr = ADDR;
	int fd;

	fd = ceiling_space(_metadata, self, self->dev, TORUSMM_NO_QUOTA);
	set_param(_metadata, "user_max_frames",
		  frames_in_use(_metadata, self->dev) + 5);
	before = torus_of(_metadata, self->dev, 0);

	EXPECT_EQ(-ENOMEM, torusmm_mmap(fd, &addr, 8 * PAGE, RW,
					FIXED | POPULATE))
		TH_LOG("eight pages and a table: four frames too many");
	EXPECT_EQ(1, regions_of(_metadata, fd, self->regions));
	EXPECT_EQ(0, ptes_of(_metadata, fd, self->ptes));
	EXPECT_EQ(before.nr_free, torus_of(_metadata, self->dev, 0).nr_free);
	EXPECT_EQ(1, stats_of(_metadata, fd).nr_table_frames);

	addr = 0;
	EXPECT_EQ(-ENOMEM, torusmm_mmap(fd, &addr, 8 * PAGE, RW, POPULATE));
	EXPECT_EQ(before.nr_free, torus_of(_metadata, self->dev, 0).nr_free);

	map(_metadata, fd, ADDR, 4 * PAGE, RW, FIXED | POPULATE);
	EXPECT_EQ(before.nr_free - 5,
		  torus_of(_metadata, self->dev, 0).nr_free)
		TH_LOG("four pages and a table: exactly the ceiling");
	addr = ADDR + 4 * PAGE;
	EXPECT_EQ(-ENOMEM, torusmm_mmap(fd, &addr, PAGE, RW,
					FIXED | POPULATE));

	/* Frames a MAP_FIXED populate gives back are not refused. */
	fill(_metadata, fd, ADDR, 4 * PAGE, 0x77);
	map(_metadata, fd, ADDR, 4 * PAGE, RW, FIXED | POPULATE);
	expect_bytes(_metadata, fd, ADDR, 4 * PAGE, 0);
	addr = ADDR;
	EXPECT_EQ(-ENOMEM, torusmm_mmap(fd, &addr, 5 * PAGE, RW,
					FIXED | POPULATE));
	expect_bytes(_metadata, fd, ADDR, PAGE, 0);
	EXPECT_EQ(before.nr_free - 5,
		  torus_of(_metadata, self->dev, 0).nr_free);
}

/*
 * A clone takes frames only for its tables, but each frame it shares is
 * charged to the cloning user too (as RSS counts shared pages): the user's
 * ceiling sees as many frames as a full copy would take.
 */
/* Pages no other test of the ceiling fixture maps. */
#define NEW_PAGES	(ADDR + 0x100000)

TEST_F_TIMEOUT(ceiling, user_max_frames_limits_clone_and_create, 30)
{
	struct torusmm_torus_info before;
	int fd, clone;
	__u32 used;

	fd = ceiling_space(_metadata, self, self->dev, TORUSMM_NO_QUOTA);
	map(_metadata, fd, ADDR, 4 * PAGE, RW, FIXED | POPULATE);
	used = frames_in_use(_metadata, self->dev);
	ASSERT_EQ(6, frames_of(_metadata, fd));

	/* A clone is charged as many frames as its source: one short fails. */
	set_param(_metadata, "user_max_frames", used + 5);
	before = torus_of(_metadata, self->dev, 0);
	expect_no_space(_metadata, torusmm_clone(fd), -ENOMEM);
	EXPECT_EQ(before.nr_free, torus_of(_metadata, self->dev, 0).nr_free);
	EXPECT_EQ(before.nr_spaces,
		  torus_of(_metadata, self->dev, 0).nr_spaces);
	EXPECT_EQ(0, touch(fd, ADDR))
		TH_LOG("the failed clone left the source writable, charged as before");
	EXPECT_EQ(used, frames_in_use(_metadata, self->dev));

	/* A new space needs its directory. */
	set_param(_metadata, "user_max_frames", used);
	expect_no_space(_metadata, torusmm_create_space(self->dev, 0, 0),
			-ENOMEM);
	EXPECT_EQ(before.nr_free, torus_of(_metadata, self->dev, 0).nr_free);

	set_param(_metadata, "user_max_frames", used + 6);
	clone = torusmm_clone(fd);
	ASSERT_LE(0, clone) TH_LOG("the clone fits exactly: %s",
				   strerror(-clone));
	self->fds[self->nr_fds++] = clone;
	EXPECT_EQ(used + 2, frames_in_use(_metadata, self->dev))
		TH_LOG("the torus gave the clone its directory and table only");
	EXPECT_EQ(6, frames_of(_metadata, clone));
	expect_no_space(_metadata, torusmm_create_space(self->dev, 0, 0),
			-ENOMEM);
	/* At the ceiling: no frame for a new page... */
	map(_metadata, clone, NEW_PAGES, 2 * PAGE, RW, FIXED);
	EXPECT_EQ(-ENOMEM, touch(clone, NEW_PAGES));
	/* ...but a copy works: the shared reference it drops pays for it. */
	EXPECT_EQ(0, touch(fd, ADDR))
		TH_LOG("a copy at the ceiling is charged as the reference it drops");
	EXPECT_EQ(used + 3, frames_in_use(_metadata, self->dev));
	/* The clone maps the old frame alone: unmapping frees it and its charge. */
	ASSERT_EQ(0, torusmm_munmap(clone, ADDR, PAGE));
	EXPECT_EQ(used + 2, frames_in_use(_metadata, self->dev));
	EXPECT_EQ(5, frames_of(_metadata, clone));
	EXPECT_EQ(0, touch(clone, NEW_PAGES))
		TH_LOG("the charge given back makes room for one frame");
	EXPECT_EQ(used + 3, frames_in_use(_metadata, self->dev));
	EXPECT_EQ(-ENOMEM, touch(clone, NEW_PAGES + PAGE))
		TH_LOG("at the ceiling again");
	EXPECT_EQ(used + 3, frames_in_use(_metadata, self->dev));
}

/*
 * Run @fn in a child as the user TORUSMM_NOBODY, on an open of the device
 * it made as root just before (the test VM's root directory is not
 * searchable by other users).  Spaces are charged to the user that creates
 * them, not to the one that opened the device.  Return: the child's exit
 * status, 0 when all went as it should.
 */
static int as_another_user(struct __test_metadata *_metadata,
			   int (*fn)(int dev))
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int dev = torusmm_open();

		if (dev < 0)
			_exit(100);
		if (setgid(TORUSMM_NOBODY) || setuid(TORUSMM_NOBODY))
			_exit(101);
		_exit(fn(dev));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Root's space, full to root's ceiling, inherited by the other user. */
static int roots_space = -1;

/*
 * As another user, under user_max_frames 6: root's space stays charged to
 * root, whoever touches it; the user's own space gets 6 frames, no more.
 */
static int nobody_takes_its_own_frames(int dev)
{
	__u64 addr = ADDR;
	int fd, i;

	if (getuid() != TORUSMM_NOBODY)
		return 1;
	if (touch(roots_space, ADDR + 5 * PAGE) != -ENOMEM)
		return 7;
	fd = torusmm_create_space(dev, 0, TORUSMM_NO_QUOTA);
	if (fd < 0)
		return 2;
	if (torusmm_mmap(fd, &addr, 8 * PAGE, RW, FIXED))
		return 3;
	/* The directory, a table and four pages. */
	for (i = 0; i < 4; i++)
		if (touch(fd, ADDR + i * PAGE))
			return 4;
	if (touch(fd, ADDR + 4 * PAGE) != -ENOMEM)
		return 5;
	addr = ADDR + 8 * PAGE;
	if (torusmm_mmap(fd, &addr, PAGE, RW, FIXED | POPULATE) != -ENOMEM)
		return 6;
	return 0;
}

TEST_F_TIMEOUT(ceiling, user_max_frames_counts_each_user_on_its_own, 30)
{
	int fd, status;

	if (getuid())
		SKIP(return, "setuid() needs root");
	fd = ceiling_space(_metadata, self, self->dev, TORUSMM_NO_QUOTA);
	map(_metadata, fd, ADDR, 8 * PAGE, RW, FIXED);
	EXPECT_EQ(0, touch(fd, ADDR));
	ASSERT_EQ(3, frames_in_use(_metadata, self->dev));
	set_param(_metadata, "user_max_frames", 6);
	EXPECT_EQ(0, touch(fd, ADDR + PAGE));
	EXPECT_EQ(0, touch(fd, ADDR + 2 * PAGE));
	EXPECT_EQ(0, touch(fd, ADDR + 3 * PAGE));
	EXPECT_EQ(-ENOMEM, touch(fd, ADDR + 4 * PAGE)) TH_LOG("root is full");

	roots_space = fd;
	status = as_another_user(_metadata, nobody_takes_its_own_frames);
	/*
	 * 1: still root; 2-3: no space or mapping; 4: refused; 5-6: too
	 * many; 7: root's space charged to the user touching it
	 */
	EXPECT_EQ(0, status) TH_LOG("exit code %d", status);

	EXPECT_EQ(6, frames_in_use(_metadata, self->dev));
	EXPECT_EQ(-ENOMEM, touch(fd, ADDR + 4 * PAGE));
	ASSERT_EQ(0, torusmm_munmap(fd, ADDR, PAGE));
	EXPECT_EQ(0, touch(fd, ADDR + 4 * PAGE));
}

/* As another user, under max_spaces 2: its own two spaces, no third. */
static int nobody_creates_its_own_spaces(int dev)
{
	int a, b;

	if (getuid() != TORUSMM_NOBODY)
		return 1;
	a = torusmm_create_space(dev, 0, 0);
	b = torusmm_create_space(dev, 0, 0);
	if (a < 0 || b < 0)
		return 2;
	if (torusmm_create_space(dev, 0, 0) != -EMFILE)
		return 3;
	if (torusmm_clone(a) != -EMFILE)
		return 4;
	return 0;
}

TEST_F_TIMEOUT(ceiling, max_spaces_counts_each_user_on_its_own, 30)
{
	int other, status;

	if (getuid())
		SKIP(return, "setuid() needs root");
	set_param(_metadata, "max_spaces", 2);
	other = torusmm_open();
	ASSERT_LE(0, other);
	ceiling_space(_metadata, self, self->dev, 0);
	ceiling_space(_metadata, self, other, 0);
	expect_no_space(_metadata, torusmm_create_space(other, 0, 0),
			-EMFILE);
	close(other);

	status = as_another_user(_metadata, nobody_creates_its_own_spaces);
	/* 1: still root; 2: no space of its own; 3-4: a third space */
	EXPECT_EQ(0, status) TH_LOG("exit code %d", status);
	expect_no_space(_metadata, torusmm_create_space(self->dev, 0, 0),
			-EMFILE);
}

TEST_F_TIMEOUT(ceiling, max_regions_is_reached_but_never_passed, 30)
{
	struct torusmm_region before[16];
	__u32 count = 16, i;
	__u64 addr, brk;
	int fd, clone;

	set_param(_metadata, "max_regions", 8);
	fd = ceiling_space(_metadata, self, self->dev, 0);
	/* The stack and seven regions of three pages, a page apart. */
	for (i = 0; i < 7; i++)
		map(_metadata, fd, ADDR + i * 4 * PAGE, 3 * PAGE, RW, FIXED);
	EXPECT_EQ(8, stats_of(_metadata, fd).nr_regions);
	ASSERT_EQ(0, torusmm_dump_regions(fd, before, &count));
	fill(_metadata, fd, ADDR, 3 * PAGE, 0x5a);

	addr = 0;
	EXPECT_EQ(-ENOMEM, torusmm_mmap(fd, &addr, PAGE, RW, 0));
	addr = ADDR + 3 * PAGE;
	EXPECT_EQ(-ENOMEM, torusmm_mmap(fd, &addr, PAGE, R, FIXED))
		TH_LOG("a gap filled with another protection");
	addr = ADDR + PAGE;
	EXPECT_EQ(-ENOMEM, torusmm_mmap(fd, &addr, PAGE, R, FIXED));
	EXPECT_EQ(-ENOMEM, torusmm_munmap(fd, ADDR + PAGE, PAGE))
		TH_LOG("munmap splitting a region at the ceiling");
	EXPECT_EQ(-ENOMEM, torusmm_mprotect(fd, ADDR + PAGE, PAGE, R));
	EXPECT_EQ(-ENOMEM, torusmm_mprotect(fd, ADDR + 2 * PAGE, PAGE, R));
	ASSERT_EQ(0, torusmm_brk(fd, TORUSMM_HEAP_START + PAGE, &brk));
	EXPECT_EQ(TORUSMM_HEAP_START, brk) TH_LOG("the heap would be one more");
	count = 16;
	ASSERT_EQ(0, torusmm_dump_regions(fd, self->regions, &count));
	ASSERT_EQ(8, count);
	EXPECT_EQ(0, memcmp(before, self->regions, sizeof(before[0]) * 8));
	expect_bytes(_metadata, fd, ADDR, 3 * PAGE, 0x5a);

	/* What keeps the count works at the ceiling. */
	EXPECT_EQ(0, torusmm_mprotect(fd, ADDR, 3 * PAGE, R));
	addr = ADDR + 3 * PAGE;
	EXPECT_EQ(0, torusmm_mmap(fd, &addr, PAGE, RW, FIXED))
		TH_LOG("a gap filled, merging with the region above");
	EXPECT_EQ(0, torusmm_munmap(fd, ADDR + 2 * PAGE, PAGE))
		TH_LOG("the end of a region");
	EXPECT_EQ(0, touch(fd, STACK_PAGE - PAGE)) TH_LOG("the stack grows");
	clone = torusmm_clone(fd);
	EXPECT_LE(0, clone);
	if (clone >= 0)
		close(clone);
	EXPECT_EQ(8, stats_of(_metadata, fd).nr_regions);

	/* One region fewer makes room for one split. */
	ASSERT_EQ(0, torusmm_munmap(fd, ADDR + 24 * PAGE, 3 * PAGE));
	EXPECT_EQ(0, torusmm_munmap(fd, ADDR + 21 * PAGE, PAGE));
	EXPECT_EQ(8, stats_of(_metadata, fd).nr_regions);
	EXPECT_EQ(-ENOMEM, torusmm_munmap(fd, ADDR + 17 * PAGE, PAGE));

	/* Lowered below the count, it takes nothing away and adds nothing. */
	set_param(_metadata, "max_regions", 4);
	EXPECT_EQ(8, stats_of(_metadata, fd).nr_regions);
	EXPECT_EQ(0, torusmm_mprotect(fd, ADDR + 16 * PAGE, 3 * PAGE, R));
	EXPECT_EQ(0, torusmm_munmap(fd, ADDR + 16 * PAGE, 3 * PAGE));
	EXPECT_EQ(-ENOMEM, torusmm_munmap(fd, ADDR + 13 * PAGE, PAGE));
	addr = 0;
	EXPECT_EQ(-ENOMEM, torusmm_mmap(fd, &addr, PAGE, RW, 0));
	EXPECT_EQ(7, stats_of(_metadata, fd).nr_regions);
	expect_bytes(_metadata, fd, ADDR, 2 * PAGE, 0x5a);
}

TEST_HARNESS_MAIN
