// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write clones, the shared zero frame, and the dirty and access logs.
 * Verified here: a clone shares every data frame with its source, both
 * read-only and copy-on-write, and a write on either side, through
 * TORUSMM_WRITE, TORUSMM_TRANSLATE or a store through a shadow mapping, is
 * never seen on the other side, along a chain of clones and after any of them
 * is closed; the frame counts (the torus's nr_used, each space's
 * nr_data_frames) match a reference model of who shares what at every step, a
 * frame goes back to the torus with its last sharer, a write to a page whose
 * sharers are gone keeps its frame (also on a full torus), the user's frame
 * ceiling counts a shared frame in every space as the space counts do, and
 * stores in two sharers while a thread keeps cloning them never cross.  Reads
 * of never-written memory map the torus's zero frame and take nothing; the
 * first write takes exactly one frame.  The dirty log reports every write
 * through either path, clears what it reports, and loses no write while a
 * thread keeps storing through a shadow and another harvests; CLEAR_DIRTY_LOG
 * clears exactly the pages its bitmap selects.  The access log reports exactly
 * the pages accessed, clears them, and the next load through a shadow marks the
 * page again.  Every allocation of a copy-on-write break, a clone and a harvest
 * is failed in turn through the module's debugfs fault points: the call fails
 * with ENOMEM (SIGBUS through a shadow) and the regions, the PTEs, the
 * statistics and the torus counters are byte-for-byte as before.  A table of bad
 * inputs to the three log ioctls, one variant per row, each with the space
 * unchanged afterwards.
 *
 * A refused shadow access is observed as the signal it raises: the handler
 * records it and siglongjmp()s back to the access.  Each test SKIPs when the
 * module does not announce the extension it needs.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#define _FILE_OFFSET_BITS 64	/* offsets up to 4 GiB in the -m32 build */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libtorusmm.h"
#include "torusmm_fault.h"
#include "torusmm_query.h"
#include "torusmm_test.h"

#define P_P		TORUSMM_PTE_PRESENT
#define P_W		TORUSMM_PTE_WRITABLE
#define P_U		TORUSMM_PTE_USER
#define P_A		TORUSMM_PTE_ACCESSED
#define P_D		TORUSMM_PTE_DIRTY
#define P_NX		TORUSMM_PTE_NX
#define P_COW		TORUSMM_PTE_COW
#define P_FLAGS		(~TORUSMM_PTE_FRAME_MASK)
#define ZERO_FRAME	(TORUSMM_ZERO_FRAME_TPA >> 12)
#define PROT_RW		(PROT_READ | PROT_WRITE)
#define SZ_4G		0x100000000ull
#define WORDS		(PAGE / sizeof(__u32))
#define UNIT		(TORUSMM_LOG_CLEAR_PAGES * PAGE)	/* 64 pages */
#define LOG_WORDS(pages)	(((pages) + 63) / 64)

/* Where tests put their regions (a multiple of 64 pages and of 4 MiB). */
#define ADDR		0x10000000u
/* Where fill_torus() puts its pages. */
#define FILL_ADDR	0x40000000u
#define MAX_PTES	4096
#define MAX_REGIONS	64

static __u32 frame_of(__u32 pte)
{
	return pte >> 12;
}

/* Write @value to a sysfs, debugfs or proc file.  Return: 0 or -errno. */
static int write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		ret = -errno;
	close(fd);
	return ret;
}

/* Read a one-line file into @buf, without its newline. */
static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

FIXTURE(cow) {
	int dev;
	int fd;			/* a space with no quota, on torus @torus */
	__u32 torus;
	int caps[TORUSMM_CAP_ACCESS_LOG + 1];
	const char *why;	/* the reason a test skips */
	bool knobs_saved;	/* the fault points must be restored */
	char ceiling[32];	/* user_max_frames to restore, or "" */
};

FIXTURE_SETUP(cow)
{
	struct torusmm_space_stats stats;
	unsigned int cap;

	self->fd = -1;
	self->dev = torusmm_open();
	/* No SKIP here: this harness would still run the test body after it. */
	ASSERT_LE(0, self->dev) TH_LOG("open " TORUSMM_DEVICE ": %s%s",
				       strerror(-self->dev),
				       self->dev == -ENOENT ?
				       " (is torusmm.ko loaded?)" : "");
	for (cap = 1; cap < ARRAY_SIZE(self->caps); cap++) {
		self->caps[cap] = torusmm_check_extension(self->dev, cap);
		ASSERT_LE(0, self->caps[cap]);
	}
	self->fd = torusmm_create_space(self->dev, TORUSMM_TORUS_ANY,
					TORUSMM_NO_QUOTA);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s", strerror(-self->fd));
	ASSERT_EQ(0, torusmm_stats(self->fd, &stats));
	self->torus = stats.torus;
}

static void restore_fault_points(void);

#define CEILING_PARAM	"/sys/module/torusmm/parameters/user_max_frames"

FIXTURE_TEARDOWN(cow)
{
	if (self->knobs_saved)
		restore_fault_points();
	if (self->ceiling[0])
		write_file(CEILING_PARAM, self->ceiling);
	if (self->fd >= 0)
		close(self->fd);
	if (self->dev >= 0)
		close(self->dev);
}

/* What each extension a test needs gives; a test SKIPs without it. */
static const char *const cap_names[] = {
	[TORUSMM_CAP_SHADOW] = "TORUSMM_CAP_SHADOW is 0: no shadow mapping",
	[TORUSMM_CAP_COW_CLONE] =
		"TORUSMM_CAP_COW_CLONE is 0: TORUSMM_CLONE copies, it does not share",
	[TORUSMM_CAP_ZERO_FRAME] =
		"TORUSMM_CAP_ZERO_FRAME is 0: reads take frames of their own",
	[TORUSMM_CAP_DIRTY_LOG] = "TORUSMM_CAP_DIRTY_LOG is 0: no dirty log",
	[TORUSMM_CAP_ACCESS_LOG] = "TORUSMM_CAP_ACCESS_LOG is 0: no access log",
};

#define CAP(name)	(1u << TORUSMM_CAP_##name)

/* Whether every extension in @need is there; else *@why names one missing. */
static bool has_caps(const int *caps, unsigned int need, const char **why)
{
	unsigned int cap;

	for (cap = 0; cap < 32; cap++) {
		if (!(need & 1u << cap) || caps[cap] == 1)
			continue;
		*why = cap_names[cap];
		return false;
	}
	return true;
}

/* A word that names its writer (@owner) and a step, never 0. */
static __u32 tag(__u32 owner, __u32 step)
{
	return owner << 24 | (step & 0xffff) << 8 | 0x5a;
}

/* The word @w of page @p as fill_pattern() leaves it. */
static __u32 pattern(unsigned int p, unsigned int w)
{
	return 0xc0000000u | p << 16 | w;
}

/* Map a region and check that it worked; return its start. */
/* mmap() of the space range [@off, @off + @length): the shadow. */
static int shadow_map(int fd, __u64 off, size_t length, int prot, void **addr)
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

static __u32 *shadow(struct __test_metadata *_metadata, int fd, __u64 off,
		     size_t length)
{
	void *p = NULL;
	int ret = shadow_map(fd, off, length, PROT_RW, &p);

	ASSERT_EQ(0, ret) TH_LOG("mmap of the space at %#llx, %zu bytes: %s",
				 (unsigned long long)off, length,
				 strerror(-ret));
	return p;
}

/* The client address of word @word of page @page of a mapping. */
static __u32 *word_at(void *base, unsigned int page, unsigned int word)
{
	return (__u32 *)((char *)base + (size_t)page * PAGE) + word;
}

static void fill(struct __test_metadata *_metadata, int fd, __u64 addr,
		 const void *buf, __u64 length)
{
	struct torusmm_rw rw;
	int ret = torusmm_write(fd, addr, buf, length, USER, &rw);

	ASSERT_EQ(0, ret) TH_LOG("TORUSMM_WRITE at %#llx: %d, fault %#x at %#llx",
				 (unsigned long long)addr, ret, rw.fault,
				 (unsigned long long)rw.fault_addr);
}

static void slurp(struct __test_metadata *_metadata, int fd, __u64 addr,
		  void *buf, __u64 length)
{
	struct torusmm_rw rw;
	int ret = torusmm_read(fd, addr, buf, length, USER, &rw);

	ASSERT_EQ(0, ret) TH_LOG("TORUSMM_READ at %#llx: %d, fault %#x at %#llx",
				 (unsigned long long)addr, ret, rw.fault,
				 (unsigned long long)rw.fault_addr);
}

/* One word through TORUSMM_WRITE / TORUSMM_READ. */
static void write_word(struct __test_metadata *_metadata, int fd, __u64 addr,
		       __u32 value)
{
	fill(_metadata, fd, addr, &value, sizeof(value));
}

static __u32 read_word(struct __test_metadata *_metadata, int fd, __u64 addr)
{
	__u32 value = 0xdeadbeef;

	slurp(_metadata, fd, addr, &value, sizeof(value));
	return value;
}

/* Fill page @p of the region at @addr with pattern(@p, word). */
static void fill_pattern(struct __test_metadata *_metadata, int fd,
			 __u64 addr, unsigned int p)
{
	__u32 buf[WORDS];
	unsigned int w;

	for (w = 0; w < WORDS; w++)
		buf[w] = pattern(p, w);
	fill(_metadata, fd, addr + (__u64)p * PAGE, buf, sizeof(buf));
}

/* The number of words of the page at @addr that differ from @expected. */
static unsigned int page_differs(struct __test_metadata *_metadata, int fd,
				 __u64 addr, const __u32 *expected,
				 unsigned int *first)
{
	__u32 buf[WORDS];
	unsigned int w, nr = 0;

	slurp(_metadata, fd, addr, buf, sizeof(buf));
	for (w = 0; w < WORDS; w++) {
		if (buf[w] == expected[w])
			continue;
		if (!nr++ && first)
			*first = w;
	}
	return nr;
}

/* Whether the page at @addr reads as zero in every byte. */
static bool page_is_zero(struct __test_metadata *_metadata, int fd,
			 __u64 addr)
{
	static const __u32 zero[WORDS];
	unsigned int first = 0;

	return !page_differs(_metadata, fd, addr, zero, &first);
}

/* Frames in use on the fixture's torus (FIXTURE_DATA(cow) is @self). */
static __u32 used_now(struct __test_metadata *_metadata,
		      struct _test_data_cow *self)
{
	return torus_of(_metadata, self->dev, self->torus).nr_used;
}

static __u32 data_frames(struct __test_metadata *_metadata, int fd)
{
	return stats_of(_metadata, fd).nr_data_frames;
}

/* A space on the fixture's torus; @max_frames 0 for no quota. */
static int new_space(struct __test_metadata *_metadata,
		     struct _test_data_cow *self, __u32 max_frames)
{
	int fd = torusmm_create_space(self->dev, self->torus,
				      max_frames ? max_frames :
						   TORUSMM_NO_QUOTA);

	ASSERT_LE(0, fd) TH_LOG("create: %s", strerror(-fd));
	return fd;
}

static int clone_of(struct __test_metadata *_metadata, int fd)
{
	int clone = torusmm_clone(fd);

	ASSERT_LE(0, clone) TH_LOG("TORUSMM_CLONE: %s", strerror(-clone));
	return clone;
}

/*
 * A space on @torus that takes frames until none are free: populated
 * chunks of 1024 pages, each with its table, then single pages.  The first
 * page of the last chunk is faulted in last, in a table that exists by then,
 * so that no frame is left over for want of a second one for a table.
 */
static int fill_torus(struct __test_metadata *_metadata, int dev, __u32 torus)
{
	struct torusmm_translate tr;
	__u64 addr = FILL_ADDR, chunk = 1024 * PAGE;
	__u32 page;
	int fd, ret;

	fd = torusmm_create_space(dev, torus, TORUSMM_NO_QUOTA);
	ASSERT_LE(0, fd);
	while (torus_of(_metadata, dev, torus).nr_free >= 2 * 1025) {
		map(_metadata, fd, addr, chunk, RW, FIXED | POPULATE);
		addr += chunk;
	}
	map(_metadata, fd, addr, 3 * chunk, RW, FIXED);
	for (page = 1; page < 3 * 1024; page++) {
		if (!torus_of(_metadata, dev, torus).nr_free)
			break;
		ret = torusmm_translate(fd, addr + page * PAGE, WRITE | USER,
					0, &tr);
		if (ret == -ENOMEM)
			break;
		ASSERT_EQ(0, ret);
	}
	if (torus_of(_metadata, dev, torus).nr_free)
		torusmm_translate(fd, addr, WRITE | USER, 0, &tr);
	ASSERT_EQ(0, torus_of(_metadata, dev, torus).nr_free)
		TH_LOG("the torus did not fill up");
	return fd;
}

/*
 * Snapshots: everything a space and its torus show.  A failed call must
 * leave each byte-for-byte as it was.
 */
struct space_snapshot {
	struct torusmm_region regions[MAX_REGIONS];
	__u32 nr_regions;
	struct torusmm_pte ptes[MAX_PTES];
	__u32 nr_ptes;
	struct torusmm_space_stats stats;
};

struct torus_counts {
	__u32 nr_free;
	__u32 nr_used;
	__u32 nr_table_frames;
	__u32 nr_spaces;
};

static void snapshot_space(struct __test_metadata *_metadata, int fd,
			   struct space_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	snap->nr_regions = MAX_REGIONS;
	ASSERT_EQ(0, torusmm_dump_regions(fd, snap->regions,
					  &snap->nr_regions));
	snap->nr_ptes = MAX_PTES;
	ASSERT_EQ(0, torusmm_dump_ptes(fd, 0, 0, snap->ptes, &snap->nr_ptes));
	ASSERT_EQ(0, torusmm_stats(fd, &snap->stats));
}

static struct torus_counts torus_counts(struct __test_metadata *_metadata,
					int dev, __u32 torus)
{
	struct torusmm_torus_info info = torus_of(_metadata, dev, torus);
	struct torus_counts counts = {
		.nr_free = info.nr_free,
		.nr_used = info.nr_used,
		.nr_table_frames = info.nr_table_frames,
		.nr_spaces = info.nr_spaces,
	};

	return counts;
}

/* Return: whether @now equals @then; the first difference is logged. */
static bool same_space(struct __test_metadata *_metadata,
		       const struct space_snapshot *then,
		       const struct space_snapshot *now, const char *what)
{
	__u32 i;

	if (then->nr_regions != now->nr_regions ||
	    memcmp(then->regions, now->regions,
		   then->nr_regions * sizeof(then->regions[0]))) {
		TH_LOG("%s: the regions changed (%u, now %u)", what,
		       then->nr_regions, now->nr_regions);
		return false;
	}
	if (then->nr_ptes != now->nr_ptes) {
		TH_LOG("%s: %u PTEs, now %u", what, then->nr_ptes,
		       now->nr_ptes);
		return false;
	}
	for (i = 0; i < then->nr_ptes; i++) {
		if (then->ptes[i].addr != now->ptes[i].addr ||
		    then->ptes[i].pte != now->ptes[i].pte) {
			TH_LOG("%s: the PTE of %#x was %#x, now %#x at %#x",
			       what, then->ptes[i].addr, then->ptes[i].pte,
			       now->ptes[i].pte, now->ptes[i].addr);
			return false;
		}
	}
	if (memcmp(&then->stats, &now->stats, sizeof(then->stats))) {
		TH_LOG("%s: the statistics changed: data %u->%u, tables %u->%u",
		       what, then->stats.nr_data_frames,
		       now->stats.nr_data_frames, then->stats.nr_table_frames,
		       now->stats.nr_table_frames);
		TH_LOG("%s: faults %llu->%llu, translations %llu->%llu", what,
		       (unsigned long long)then->stats.nr_faults,
		       (unsigned long long)now->stats.nr_faults,
		       (unsigned long long)then->stats.nr_translations,
		       (unsigned long long)now->stats.nr_translations);
		return false;
	}
	return true;
}

static bool same_torus(struct __test_metadata *_metadata,
		       const struct torus_counts *then,
		       const struct torus_counts *now, const char *what)
{
	if (!memcmp(then, now, sizeof(*then)))
		return true;
	TH_LOG("%s: the torus changed: free %u->%u, used %u->%u, tables %u->%u, spaces %u->%u",
	       what, then->nr_free, now->nr_free, then->nr_used, now->nr_used,
	       then->nr_table_frames, now->nr_table_frames, then->nr_spaces,
	       now->nr_spaces);
	return false;
}

/* The three log ioctls.  Return: 0 or -errno; *@count when not NULL. */
static int log_ioctl(int fd, unsigned long cmd, __u64 addr, __u64 length,
		     __u64 *bitmap, __u32 flags, __u32 *count)
{
	struct torusmm_log log = {
		.addr = addr,
		.length = length,
		.bitmap = torusmm_ptr(bitmap),
		.flags = flags,
	};
	int ret = torusmm_ioctl(fd, cmd, &log);

	if (!ret && count)
		*count = log.count;
	return ret;
}

static bool test_bit64(const __u64 *bitmap, unsigned int n)
{
	return bitmap[n / 64] >> (n % 64) & 1;
}

static void set_bit64(__u64 *bitmap, unsigned int n)
{
	bitmap[n / 64] |= 1ull << (n % 64);
}

/*
 * Compare a reported bitmap of @pages pages with the expected one; log the
 * first few differences.  Return: the number of pages that differ.
 */
static unsigned int bitmap_differs(struct __test_metadata *_metadata,
				   const __u64 *got, const __u64 *want,
				   unsigned int pages, const char *what)
{
	unsigned int n, nr = 0;

	for (n = 0; n < pages; n++) {
		if (test_bit64(got, n) == test_bit64(want, n))
			continue;
		if (nr++ < 8)
			TH_LOG("%s: page %u is %s, expected %s", what, n,
			       test_bit64(got, n) ? "reported" : "not reported",
			       test_bit64(want, n) ? "reported" : "not");
	}
	return nr;
}

/* A bitmap with the listed pages set; the list ends with -1. */
static void bitmap_of(__u64 *bitmap, unsigned int words, const int *pages)
{
	memset(bitmap, 0, words * sizeof(*bitmap));
	for (; *pages >= 0; pages++)
		set_bit64(bitmap, *pages);
}

/* Copy-on-write clones. */

TEST_F_TIMEOUT(cow, a_clone_shares_every_frame_read_only_and_copy_on_write, 30)
{
	struct torusmm_pte before[8], after[8], dst[8];
	__u32 n_before = 8, n_after = 8, n_dst = 8, used, i, first = 0;
	__u32 expected[WORDS], w;
	struct torusmm_translate tr;
	int clone;

	if (!has_caps(self->caps, CAP(COW_CLONE), &self->why))
		SKIP(return, "%s", self->why);
	/*
	 * Pages 0-3 written (accessed, dirty), 4 populated only (neither),
	 * 5 populated and read (accessed), 6 written and made read-only, 7
	 * written and made PROT_NONE (a frame, not present).
	 */
	map(_metadata, self->fd, ADDR, 8 * PAGE, RW, FIXED);
	map(_metadata, self->fd, ADDR + 4 * PAGE, 2 * PAGE, RW,
	    FIXED | POPULATE);
	for (i = 0; i < 8; i++)
		if (i != 4 && i != 5)
			fill_pattern(_metadata, self->fd, ADDR, i);
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + 5 * PAGE, USER, 0,
				       &tr));
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR + 6 * PAGE, PAGE, R));
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR + 7 * PAGE, PAGE,
				      TORUSMM_PROT_NONE));
	ASSERT_EQ(0, torusmm_dump_ptes(self->fd, ADDR, 8 * PAGE, before,
				       &n_before));
	ASSERT_EQ(8, n_before);
	used = used_now(_metadata, self);

	clone = clone_of(_metadata, self->fd);
	EXPECT_EQ(used + 2, used_now(_metadata, self))
		TH_LOG("the clone takes its directory and one table, no data frame");
	EXPECT_EQ(8, data_frames(_metadata, self->fd));
	EXPECT_EQ(8, data_frames(_metadata, clone))
		TH_LOG("a shared frame counts in every space that maps it");
	EXPECT_EQ(2, stats_of(_metadata, clone).nr_table_frames);
	ASSERT_EQ(0, torusmm_dump_ptes(self->fd, ADDR, 8 * PAGE, after,
				       &n_after));
	ASSERT_EQ(0, torusmm_dump_ptes(clone, ADDR, 8 * PAGE, dst, &n_dst));
	ASSERT_EQ(8, n_after);
	ASSERT_EQ(8, n_dst);
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(before[i].addr, dst[i].addr);
		EXPECT_EQ(frame_of(before[i].pte), frame_of(dst[i].pte))
			TH_LOG("page %u: the clone maps the source's frame", i);
		EXPECT_EQ((before[i].pte | P_COW) & ~P_W, after[i].pte)
			TH_LOG("page %u of the source: read-only, COW, A and D kept",
			       i);
		EXPECT_EQ((before[i].pte | P_COW) & ~(P_W | P_A), dst[i].pte)
			TH_LOG("page %u of the clone: as the source's, but old", i);
	}
	for (i = 0; i < 7; i++) {
		for (w = 0; w < WORDS; w++)
			expected[w] = i == 4 || i == 5 ? 0 : pattern(i, w);
		EXPECT_EQ(0, page_differs(_metadata, clone, ADDR + i * PAGE,
					  expected, &first))
			TH_LOG("page %u of the clone, word %u", i, first);
	}

	/* mprotect keeps a copy-on-write entry read-only. */
	ASSERT_EQ(0, torusmm_mprotect(clone, ADDR + 7 * PAGE, PAGE, RW));
	EXPECT_EQ(P_COW, pte_of(_metadata, clone, ADDR + 7 * PAGE) &
			 (P_COW | P_W));
	EXPECT_EQ(pattern(7, 9), read_word(_metadata, clone,
					   ADDR + 7 * PAGE + 36));
	EXPECT_EQ(used + 2, used_now(_metadata, self));
	write_word(_metadata, clone, ADDR + 7 * PAGE + 36, tag(2, 7));
	EXPECT_EQ(used + 3, used_now(_metadata, self))
		TH_LOG("the first write to a shared page copies it");
	EXPECT_EQ(after[7].pte, pte_of(_metadata, self->fd, ADDR + 7 * PAGE))
		TH_LOG("the source's PROT_NONE page keeps its frame");
	close(clone);
	EXPECT_EQ(used, used_now(_metadata, self));
}

TEST_F_TIMEOUT(cow, a_write_in_either_space_is_not_seen_in_the_other, 30)
{
	__u32 used, frame[4], pte, expected[WORDS], w, first = 0;
	struct torusmm_translate tr;
	unsigned int p;
	int clone;

	if (!has_caps(self->caps, CAP(COW_CLONE), &self->why))
		SKIP(return, "%s", self->why);
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	for (p = 0; p < 4; p++) {
		fill_pattern(_metadata, self->fd, ADDR, p);
		frame[p] = frame_of(pte_of(_metadata, self->fd,
					   ADDR + p * PAGE));
	}
	clone = clone_of(_metadata, self->fd);
	used = used_now(_metadata, self);

	/* The clone writes page 0: it gets a copy, the source keeps its frame. */
	write_word(_metadata, clone, ADDR + 8, tag(2, 0));
	EXPECT_EQ(used + 1, used_now(_metadata, self));
	EXPECT_EQ(pattern(0, 2), read_word(_metadata, self->fd, ADDR + 8))
		TH_LOG("the clone's write reached the source");
	for (w = 0; w < WORDS; w++)
		expected[w] = w == 2 ? tag(2, 0) : pattern(0, w);
	EXPECT_EQ(0, page_differs(_metadata, clone, ADDR, expected, &first))
		TH_LOG("the clone's copy, word %u", first);
	pte = pte_of(_metadata, clone, ADDR);
	EXPECT_NE(frame[0], frame_of(pte));
	EXPECT_EQ(P_W | P_D, pte & (P_W | P_D | P_COW))
		TH_LOG("the copy is the clone's own: writable, dirty, not COW");
	EXPECT_EQ(frame[0], frame_of(pte_of(_metadata, self->fd, ADDR)));
	EXPECT_EQ(4, data_frames(_metadata, self->fd));
	EXPECT_EQ(4, data_frames(_metadata, clone));

	/* The source is the frame's last mapping now: no copy. */
	write_word(_metadata, self->fd, ADDR + 12, tag(1, 0));
	EXPECT_EQ(used + 1, used_now(_metadata, self))
		TH_LOG("a write to a page nobody shares any more took a frame");
	pte = pte_of(_metadata, self->fd, ADDR);
	EXPECT_EQ(frame[0], frame_of(pte));
	EXPECT_EQ(P_W, pte & (P_W | P_COW));
	EXPECT_EQ(pattern(0, 3), read_word(_metadata, clone, ADDR + 12));

	/* The source writes page 1 first: the copy is the source's. */
	write_word(_metadata, self->fd, ADDR + PAGE, tag(1, 1));
	EXPECT_EQ(used + 2, used_now(_metadata, self));
	EXPECT_NE(frame[1], frame_of(pte_of(_metadata, self->fd, ADDR + PAGE)));
	EXPECT_EQ(frame[1], frame_of(pte_of(_metadata, clone, ADDR + PAGE)));
	EXPECT_EQ(pattern(1, 0), read_word(_metadata, clone, ADDR + PAGE));

	/* A write translation breaks the sharing and keeps the bytes. */
	ASSERT_EQ(0, torusmm_translate(clone, ADDR + 2 * PAGE, WRITE | USER, 0,
				       &tr));
	EXPECT_EQ(used + 3, used_now(_metadata, self));
	EXPECT_NE(frame[2], frame_of(tr.tpa));
	EXPECT_EQ(frame_of(tr.tpa), frame_of(tr.pte));
	EXPECT_EQ(P_W, tr.pte & (P_W | P_COW));
	for (w = 0; w < WORDS; w++)
		expected[w] = pattern(2, w);
	EXPECT_EQ(0, page_differs(_metadata, clone, ADDR + 2 * PAGE, expected,
				  &first))
		TH_LOG("the copy of page 2, word %u", first);
	EXPECT_EQ(P_COW, pte_of(_metadata, self->fd, ADDR + 2 * PAGE) &
			 (P_W | P_COW));

	/* The clone writes page 1, which only it maps now: no copy. */
	write_word(_metadata, clone, ADDR + PAGE, tag(2, 1));
	EXPECT_EQ(used + 3, used_now(_metadata, self));
	EXPECT_EQ(frame[1], frame_of(pte_of(_metadata, clone, ADDR + PAGE)));
	EXPECT_EQ(tag(1, 1), read_word(_metadata, self->fd, ADDR + PAGE));

	/*
	 * Closing the clone frees its tables and the three frames only it
	 * maps (pages 0-2); page 3 stays with the source, which may then
	 * write it in place.
	 */
	close(clone);
	EXPECT_EQ(used + 3 - 2 - 3, used_now(_metadata, self));
	write_word(_metadata, self->fd, ADDR + 3 * PAGE, tag(1, 3));
	EXPECT_EQ(used - 2, used_now(_metadata, self));
	EXPECT_EQ(frame[3], frame_of(pte_of(_metadata, self->fd,
					    ADDR + 3 * PAGE)));
	EXPECT_EQ(4, data_frames(_metadata, self->fd));
}

TEST_F_TIMEOUT(cow, a_store_through_the_shadow_is_not_seen_in_the_other_space,
	       30)
{
	__u32 *ps, *pc, *pc2, used, frame0, expected[WORDS], w, first = 0;
	int clone, sig;

	if (!has_caps(self->caps, CAP(COW_CLONE) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	for (w = 0; w < 4; w++)
		fill_pattern(_metadata, self->fd, ADDR, w);
	ps = shadow(_metadata, self->fd, ADDR, 4 * PAGE);
	/* Entries the source's shadow holds before the clone: read, written. */
	EXPECT_EQ(pattern(0, 0), peek(word_at(ps, 0, 0)));
	EXPECT_EQ(pattern(1, 0), peek(word_at(ps, 1, 0)));
	poke(word_at(ps, 3, 0), tag(1, 3));
	frame0 = frame_of(pte_of(_metadata, self->fd, ADDR));

	clone = clone_of(_metadata, self->fd);
	pc = shadow(_metadata, clone, ADDR, 4 * PAGE);
	pc2 = shadow(_metadata, clone, ADDR, 4 * PAGE);
	used = used_now(_metadata, self);

	/* The writable entry the source had before the clone is gone. */
	sig = try_store(word_at(ps, 3, 1), tag(1, 31), NULL);
	EXPECT_EQ(0, sig) TH_LOG("store: %s", outcome(sig));
	EXPECT_EQ(used + 1, used_now(_metadata, self));
	EXPECT_EQ(pattern(3, 1), peek(word_at(pc, 3, 1)))
		TH_LOG("a store through a writable entry from before the clone reached the clone");
	EXPECT_EQ(tag(1, 3), peek(word_at(pc, 3, 0)))
		TH_LOG("the clone holds the store made before it");

	/* Both sides load first: the store meets read-only shared entries. */
	EXPECT_EQ(pattern(0, 0), peek(word_at(ps, 0, 0)));
	EXPECT_EQ(pattern(0, 0), peek(word_at(pc, 0, 0)));
	EXPECT_EQ(pattern(0, 0), peek(word_at(pc2, 0, 0)));
	sig = try_store(word_at(pc, 0, 0), tag(2, 0), NULL);
	EXPECT_EQ(0, sig) TH_LOG("store: %s", outcome(sig));
	EXPECT_EQ(used + 2, used_now(_metadata, self));
	EXPECT_EQ(pattern(0, 0), peek(word_at(ps, 0, 0)))
		TH_LOG("the clone's store reached the source's shadow");
	EXPECT_EQ(tag(2, 0), peek(word_at(pc2, 0, 0)))
		TH_LOG("the clone's other mapping still maps the shared frame");
	for (w = 0; w < WORDS; w++)
		expected[w] = pattern(0, w);
	EXPECT_EQ(0, page_differs(_metadata, self->fd, ADDR, expected, &first))
		TH_LOG("the source's page 0, word %u", first);
	expected[0] = tag(2, 0);
	EXPECT_EQ(0, page_differs(_metadata, clone, ADDR, expected, &first))
		TH_LOG("the clone's copy of page 0, word %u", first);

	/* The source is alone on page 0's frame now: no copy. */
	sig = try_store(word_at(ps, 0, 5), tag(1, 5), NULL);
	EXPECT_EQ(0, sig) TH_LOG("store: %s", outcome(sig));
	EXPECT_EQ(used + 2, used_now(_metadata, self));
	EXPECT_EQ(frame0, frame_of(pte_of(_metadata, self->fd, ADDR)));
	EXPECT_EQ(pattern(0, 5), peek(word_at(pc, 0, 5)));

	/* Page 1, read through the source's shadow before the clone. */
	sig = try_store(word_at(ps, 1, 0), tag(1, 1), NULL);
	EXPECT_EQ(0, sig) TH_LOG("store: %s", outcome(sig));
	EXPECT_EQ(used + 3, used_now(_metadata, self));
	EXPECT_EQ(pattern(1, 0), peek(word_at(pc, 1, 0)));
	EXPECT_EQ(pattern(1, 0), peek(word_at(pc2, 1, 0)));
	EXPECT_EQ(tag(1, 1), read_word(_metadata, self->fd, ADDR + PAGE));
	EXPECT_EQ(4, data_frames(_metadata, self->fd));
	EXPECT_EQ(4, data_frames(_metadata, clone));
	munmap(pc, 4 * PAGE);
	munmap(pc2, 4 * PAGE);
	munmap(ps, 4 * PAGE);
	close(clone);
}

/*
 * A reference model of who shares what: each page of each space names a
 * model frame; a write to a model frame that others map gives the writer a
 * new one; the torus must hold exactly the distinct model frames, each
 * space must count all its pages, a model frame must stay on the same
 * module frame while it lives, and the bytes of every page must be the
 * model's.
 */
#define M_SPACES	6
#define M_PAGES		8
#define M_IDS		256

enum path { BY_WRITE, BY_STORE, BY_TRANSLATE };

static const char *const path_names[] = {
	"TORUSMM_WRITE", "a shadow store", "a TORUSMM_TRANSLATE write",
};

struct cow_model {
	int fd[M_SPACES];
	__u32 *shadow[M_SPACES];
	unsigned int id[M_SPACES][M_PAGES];
	__u32 word0[M_SPACES][M_PAGES];	/* word 0 of the page; the rest is pattern() */
	__u32 frame[M_IDS];		/* the module's frame of a model frame */
	unsigned int next_id;
	__u32 used_base;		/* the torus's frames outside the model */
	unsigned int step;
};

static unsigned int model_refs(const struct cow_model *m, unsigned int id)
{
	unsigned int s, p, refs = 0;

	for (s = 0; s < M_SPACES; s++)
		for (p = 0; p < M_PAGES && m->fd[s] >= 0; p++)
			refs += m->id[s][p] == id;
	return refs;
}

/* The live model frame on module frame @frame, or 0. */
static unsigned int model_frame_owner(const struct cow_model *m, __u32 frame)
{
	unsigned int id;

	for (id = 1; id < M_IDS; id++)
		if (m->frame[id] == frame && model_refs(m, id))
			return id;
	return 0;
}

static void model_check(struct __test_metadata *_metadata,
			struct _test_data_cow *self, struct cow_model *m,
			const char *what)
{
	__u32 tables = 0, count, expected[WORDS], w, first = 0;
	unsigned int s, p, id, other, distinct = 0;
	struct torusmm_pte ptes[M_PAGES];
	bool seen[M_IDS] = { false };

	for (s = 0; s < M_SPACES; s++) {
		struct torusmm_space_stats st;

		if (m->fd[s] < 0)
			continue;
		st = stats_of(_metadata, m->fd[s]);
		EXPECT_EQ(M_PAGES, st.nr_data_frames)
			TH_LOG("%s: the data frames of space %u", what, s);
		EXPECT_EQ(2, st.nr_table_frames)
			TH_LOG("%s: the table frames of space %u", what, s);
		tables += st.nr_table_frames;
		count = M_PAGES;
		ASSERT_EQ(0, torusmm_dump_ptes(m->fd[s], ADDR, M_PAGES * PAGE,
					       ptes, &count));
		ASSERT_EQ(M_PAGES, count);
		for (p = 0; p < M_PAGES; p++) {
			__u32 pte = ptes[p].pte;

			id = m->id[s][p];
			if (!seen[id]) {
				seen[id] = true;
				distinct++;
			}
			if (!m->frame[id]) {
				other = model_frame_owner(m, frame_of(pte));
				EXPECT_EQ(0, other)
					TH_LOG("%s: space %u page %u maps another's",
					       what, s, p);
				m->frame[id] = frame_of(pte);
			}
			EXPECT_EQ(m->frame[id], frame_of(pte))
				TH_LOG("%s: space %u page %u, model frame %u",
				       what, s, p, id);
			if (model_refs(m, id) > 1)
				EXPECT_EQ(P_COW, pte & (P_COW | P_W))
					TH_LOG("%s: page %u of space %u, shared: pte %#x",
					       what, p, s, pte);
			for (w = 0; w < WORDS; w++)
				expected[w] = pattern(p, w);
			expected[0] = m->word0[s][p];
			EXPECT_EQ(0, page_differs(_metadata, m->fd[s],
						  ADDR + p * PAGE, expected,
						  &first))
				TH_LOG("%s: page %u of space %u, word %u", what,
				       p, s, first);
		}
	}
	EXPECT_EQ(m->used_base + tables + distinct, used_now(_metadata, self))
		TH_LOG("%s: the torus should hold %u table frames and %u distinct data frames",
		       what, tables, distinct);
}

static void model_write(struct __test_metadata *_metadata,
			struct _test_data_cow *self, struct cow_model *m,
			unsigned int s, unsigned int p, enum path path)
{
	__u64 addr = ADDR + (__u64)p * PAGE;
	__u32 value = tag(s + 1, ++m->step), loaded = 0;
	struct torusmm_translate tr;
	char what[96];
	int sig;

	switch (path) {
	case BY_WRITE:
		write_word(_metadata, m->fd[s], addr, value);
		break;
	case BY_STORE:
		/* A load first: the store meets a read-only entry. */
		sig = try_load(word_at(m->shadow[s], p, 0), &loaded, NULL);
		EXPECT_EQ(0, sig) TH_LOG("load: %s", outcome(sig));
		EXPECT_EQ(m->word0[s][p], loaded);
		sig = try_store(word_at(m->shadow[s], p, 0), value, NULL);
		EXPECT_EQ(0, sig) TH_LOG("store: %s", outcome(sig));
		break;
	case BY_TRANSLATE:
		ASSERT_EQ(0, torusmm_translate(m->fd[s], addr, WRITE | USER, 0,
					       &tr));
		value = m->word0[s][p];
		break;
	}
	if (model_refs(m, m->id[s][p]) > 1)
		m->id[s][p] = ++m->next_id;
	m->word0[s][p] = value;
	snprintf(what, sizeof(what), "after %s to page %u of space %u",
		 path_names[path], p, s);
	model_check(_metadata, self, m, what);
}

static void model_clone(struct __test_metadata *_metadata,
			struct _test_data_cow *self, struct cow_model *m,
			unsigned int src, unsigned int dst)
{
	char what[64];

	m->fd[dst] = clone_of(_metadata, m->fd[src]);
	m->shadow[dst] = shadow(_metadata, m->fd[dst], ADDR, M_PAGES * PAGE);
	memcpy(m->id[dst], m->id[src], sizeof(m->id[src]));
	memcpy(m->word0[dst], m->word0[src], sizeof(m->word0[src]));
	snprintf(what, sizeof(what), "after space %u cloned %u", dst, src);
	model_check(_metadata, self, m, what);
}

static void model_close(struct __test_metadata *_metadata,
			struct _test_data_cow *self, struct cow_model *m,
			unsigned int s)
{
	unsigned int id;
	char what[64];

	munmap(m->shadow[s], M_PAGES * PAGE);
	close(m->fd[s]);
	m->fd[s] = -1;
	for (id = 1; id < M_IDS; id++)
		if (!model_refs(m, id))
			m->frame[id] = 0;
	snprintf(what, sizeof(what), "after space %u was closed", s);
	model_check(_metadata, self, m, what);
}

TEST_F_TIMEOUT(cow, a_chain_of_clones_matches_the_model_at_every_step, 120)
{
	struct cow_model *m;
	unsigned int s, p;

	if (!has_caps(self->caps, CAP(COW_CLONE) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	catch_faults();
	m = calloc(1, sizeof(*m));
	ASSERT_TRUE(!!m);
	for (s = 0; s < M_SPACES; s++)
		m->fd[s] = -1;
	/* The model owns the fixture's space, whose directory it counts. */
	m->fd[0] = self->fd;
	self->fd = -1;
	m->used_base = used_now(_metadata, self) -
		       stats_of(_metadata, m->fd[0]).nr_table_frames;
	map(_metadata, m->fd[0], ADDR, M_PAGES * PAGE, RW, FIXED);
	for (p = 0; p < M_PAGES; p++) {
		fill_pattern(_metadata, m->fd[0], ADDR, p);
		m->id[0][p] = ++m->next_id;
		m->word0[0][p] = pattern(p, 0);
	}
	m->shadow[0] = shadow(_metadata, m->fd[0], ADDR, M_PAGES * PAGE);
	model_check(_metadata, self, m, "the source");

	/* A clone of a clone of a clone. */
	model_clone(_metadata, self, m, 0, 1);
	model_clone(_metadata, self, m, 1, 2);
	model_clone(_metadata, self, m, 2, 3);
	/* Page 0 youngest first: the oldest is left alone on the frame. */
	model_write(_metadata, self, m, 3, 0, BY_STORE);
	model_write(_metadata, self, m, 2, 0, BY_WRITE);
	model_write(_metadata, self, m, 1, 0, BY_STORE);
	model_write(_metadata, self, m, 0, 0, BY_WRITE);
	/* Page 1 oldest first. */
	model_write(_metadata, self, m, 0, 1, BY_STORE);
	model_write(_metadata, self, m, 1, 1, BY_WRITE);
	model_write(_metadata, self, m, 2, 1, BY_TRANSLATE);
	model_write(_metadata, self, m, 3, 1, BY_STORE);
	/* A clone of a clone that has frames of its own. */
	model_write(_metadata, self, m, 1, 2, BY_WRITE);
	model_clone(_metadata, self, m, 1, 4);
	model_write(_metadata, self, m, 4, 2, BY_STORE);
	model_write(_metadata, self, m, 1, 2, BY_STORE);

	/* The source of the chain goes first, then one in the middle. */
	model_close(_metadata, self, m, 0);
	for (p = 3; p < M_PAGES; p++)
		model_write(_metadata, self, m, 1, p, (enum path)(p % 3));
	model_close(_metadata, self, m, 2);
	for (p = 0; p < M_PAGES; p++)
		model_write(_metadata, self, m, 3, p, BY_STORE);
	model_clone(_metadata, self, m, 3, 5);
	model_close(_metadata, self, m, 1);
	model_close(_metadata, self, m, 3);
	model_write(_metadata, self, m, 4, 5, BY_WRITE);
	model_write(_metadata, self, m, 5, 6, BY_STORE);
	model_write(_metadata, self, m, 5, 7, BY_TRANSLATE);
	model_close(_metadata, self, m, 4);
	model_close(_metadata, self, m, 5);
	EXPECT_EQ(m->used_base, used_now(_metadata, self))
		TH_LOG("every frame goes back with its last sharer");
	free(m);
}

TEST_F_TIMEOUT(cow, a_write_to_a_page_whose_sharers_are_gone_needs_no_free_frame,
	       120)
{
	__u32 *ps, used, frame[4], pte, loaded = 0;
	struct torusmm_translate tr;
	struct torusmm_rw rw;
	__u32 value = tag(1, 0);
	unsigned int p;
	int clone, filler, ret, sig;

	if (!has_caps(self->caps, CAP(COW_CLONE) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	for (p = 0; p < 4; p++)
		fill_pattern(_metadata, self->fd, ADDR, p);
	clone = clone_of(_metadata, self->fd);
	close(clone);
	for (p = 0; p < 4; p++) {
		pte = pte_of(_metadata, self->fd, ADDR + p * PAGE);
		frame[p] = frame_of(pte);
		EXPECT_EQ(P_COW, pte & (P_COW | P_W))
			TH_LOG("page %u: still marked; the first write decides", p);
	}
	ps = shadow(_metadata, self->fd, ADDR, 4 * PAGE);
	EXPECT_EQ(0, try_load(word_at(ps, 1, 0), &loaded, NULL));
	EXPECT_EQ(pattern(1, 0), loaded);

	/* Each write below keeps its frame, so a full torus must not matter. */
	filler = fill_torus(_metadata, self->dev, self->torus);
	used = used_now(_metadata, self);
	ret = torusmm_write(self->fd, ADDR, &value, sizeof(value), USER, &rw);
	EXPECT_EQ(0, ret) TH_LOG("TORUSMM_WRITE: %s", strerror(-ret));
	sig = try_store(word_at(ps, 1, 0), tag(1, 1), NULL);
	EXPECT_EQ(0, sig) TH_LOG("a store after a load: %s", outcome(sig));
	ret = torusmm_translate(self->fd, ADDR + 2 * PAGE, WRITE | USER, 0,
				&tr);
	EXPECT_EQ(0, ret) TH_LOG("TORUSMM_TRANSLATE: %s", strerror(-ret));
	sig = try_store(word_at(ps, 3, 0), tag(1, 3), NULL);
	EXPECT_EQ(0, sig) TH_LOG("a store: %s", outcome(sig));
	EXPECT_EQ(used, used_now(_metadata, self));
	for (p = 0; p < 4; p++) {
		pte = pte_of(_metadata, self->fd, ADDR + p * PAGE);
		EXPECT_EQ(frame[p], frame_of(pte)) TH_LOG("page %u", p);
		EXPECT_EQ(P_W, pte & (P_COW | P_W)) TH_LOG("page %u", p);
	}
	close(filler);
	EXPECT_EQ(4, data_frames(_metadata, self->fd));
	munmap(ps, 4 * PAGE);
}

TEST_F_TIMEOUT(cow, a_copy_on_a_full_torus_fails_cleanly_and_works_after, 120)
{
	struct space_snapshot *before, *now;
	struct torus_counts counts, counts_now;
	__u32 *pc, value = tag(2, 0), loaded = 0;
	struct torusmm_translate tr;
	struct torusmm_rw rw;
	void *fault_addr = NULL;
	int clone, filler, ret, sig;

	if (!has_caps(self->caps, CAP(COW_CLONE) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	catch_faults();
	before = calloc(2, sizeof(*before));
	now = calloc(2, sizeof(*now));
	ASSERT_TRUE(before && now);
	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	fill_pattern(_metadata, self->fd, ADDR, 0);
	fill_pattern(_metadata, self->fd, ADDR, 1);
	clone = clone_of(_metadata, self->fd);
	pc = shadow(_metadata, clone, ADDR, 2 * PAGE);
	EXPECT_EQ(0, try_load(word_at(pc, 0, 0), &loaded, NULL));
	filler = fill_torus(_metadata, self->dev, self->torus);
	snapshot_space(_metadata, self->fd, &before[0]);
	snapshot_space(_metadata, clone, &before[1]);
	counts = torus_counts(_metadata, self->dev, self->torus);

	ret = torusmm_write(clone, ADDR, &value, sizeof(value), USER, &rw);
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("TORUSMM_WRITE: %d", ret);
	ret = torusmm_translate(clone, ADDR + PAGE, WRITE | USER, 0, &tr);
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("TORUSMM_TRANSLATE: %d", ret);
	sig = try_store(word_at(pc, 0, 0), value, &fault_addr);
	EXPECT_EQ(SIGBUS, sig) TH_LOG("a store after a load: %s", outcome(sig));
	EXPECT_EQ((uintptr_t)word_at(pc, 0, 0), (uintptr_t)fault_addr);
	sig = try_store(word_at(pc, 1, 0), value, &fault_addr);
	EXPECT_EQ(SIGBUS, sig) TH_LOG("a store: %s", outcome(sig));
	snapshot_space(_metadata, self->fd, &now[0]);
	snapshot_space(_metadata, clone, &now[1]);
	counts_now = torus_counts(_metadata, self->dev, self->torus);
	EXPECT_TRUE(same_space(_metadata, &before[0], &now[0], "the source"));
	EXPECT_TRUE(same_space(_metadata, &before[1], &now[1], "the clone"));
	EXPECT_TRUE(same_torus(_metadata, &counts, &counts_now, "the torus"));

	close(filler);
	sig = try_store(word_at(pc, 0, 0), value, NULL);
	EXPECT_EQ(0, sig) TH_LOG("frames are free again: %s", outcome(sig));
	EXPECT_EQ(value, read_word(_metadata, clone, ADDR));
	EXPECT_EQ(pattern(0, 0), read_word(_metadata, self->fd, ADDR));
	munmap(pc, 2 * PAGE);
	close(clone);
	free(before);
	free(now);
}

TEST_F_TIMEOUT(cow, unmapping_in_one_sharer_frees_only_what_it_alone_held, 30)
{
	__u64 brk = 0;
	__u32 used, frame, heap = TORUSMM_HEAP_START;
	unsigned int p;
	int clone;

	if (!has_caps(self->caps, CAP(COW_CLONE), &self->why))
		SKIP(return, "%s", self->why);
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	for (p = 0; p < 4; p++)
		fill_pattern(_metadata, self->fd, ADDR, p);
	ASSERT_EQ(0, torusmm_brk(self->fd, heap + 2 * PAGE, &brk));
	ASSERT_EQ(heap + 2 * PAGE, brk);
	write_word(_metadata, self->fd, heap, tag(1, 100));
	write_word(_metadata, self->fd, heap + PAGE, tag(1, 101));
	clone = clone_of(_metadata, self->fd);
	used = used_now(_metadata, self);

	/* munmap in the clone: the source keeps every frame. */
	ASSERT_EQ(0, torusmm_munmap(clone, ADDR, PAGE));
	EXPECT_EQ(used, used_now(_metadata, self));
	EXPECT_EQ(5, data_frames(_metadata, clone));
	frame = frame_of(pte_of(_metadata, self->fd, ADDR));
	write_word(_metadata, self->fd, ADDR, tag(1, 0));
	EXPECT_EQ(used, used_now(_metadata, self))
		TH_LOG("the source is the last mapping of page 0 after the clone's munmap");
	EXPECT_EQ(frame, frame_of(pte_of(_metadata, self->fd, ADDR)));

	/* MAP_FIXED over a shared page in the source: a fresh zero page. */
	map(_metadata, self->fd, ADDR + PAGE, PAGE, RW, FIXED | POPULATE);
	EXPECT_EQ(used + 1, used_now(_metadata, self));
	EXPECT_TRUE(page_is_zero(_metadata, self->fd, ADDR + PAGE));
	EXPECT_EQ(pattern(1, 0), read_word(_metadata, clone, ADDR + PAGE));
	frame = frame_of(pte_of(_metadata, clone, ADDR + PAGE));
	write_word(_metadata, clone, ADDR + PAGE, tag(2, 1));
	EXPECT_EQ(used + 1, used_now(_metadata, self));
	EXPECT_EQ(frame, frame_of(pte_of(_metadata, clone, ADDR + PAGE)));

	/*
	 * brk shrinking in the source frees its emptied heap table, and no
	 * heap frame: the clone still maps both, and keeps them whole.
	 */
	ASSERT_EQ(0, torusmm_brk(self->fd, heap, &brk));
	EXPECT_EQ(used, used_now(_metadata, self));
	EXPECT_EQ(tag(1, 101), read_word(_metadata, clone, heap + PAGE));
	write_word(_metadata, clone, heap + PAGE, tag(2, 101));
	EXPECT_EQ(used, used_now(_metadata, self))
		TH_LOG("the clone's heap page has no other sharer left");

	/*
	 * Closing the clone frees its directory and two tables, and the
	 * frames only it maps: page 1 and both heap pages (2 and 3 are the
	 * source's too).
	 */
	close(clone);
	EXPECT_EQ(used - 3 - 3, used_now(_metadata, self));
	EXPECT_EQ(4, data_frames(_metadata, self->fd));
}

/*
 * Copy-on-write under concurrency: a thread stores through the source's
 * shadow, another through the clone's, a third keeps cloning both and
 * closing the clones, and a fourth loads through the source's shadow.  No
 * space may ever see a word another space stored, every store must stay,
 * and once every clone is closed each page holds exactly one frame per
 * space.
 */
#define S_PAGES		64
#define S_MAX_ROUNDS	1000	/* round r stores word r of every page */
#define S_MIN_CLONES	200	/* the writers go on until this many clones */

struct cow_storm {
	int fd[2];
	__u32 *shadow[2];
	int stop;
	unsigned long clones;
	unsigned long loads;
	int clone_error;
	int foreign;		/* a word the loader saw from the other space */
	__u32 foreign_word;
};

struct storm_writer {
	struct cow_storm *storm;
	unsigned int side;
	unsigned int rounds;
	pthread_t thread;
};

/* What side @side stores in round @r at page @p (word r): tag(side + 1, ..). */
static __u32 storm_value(unsigned int side, unsigned int r, unsigned int p)
{
	return tag(side + 1, r << 8 | p);
}

static void *storm_write(void *arg)
{
	struct storm_writer *w = arg;
	unsigned int r, p;

	for (r = 1; r <= S_MAX_ROUNDS; r++) {
		for (p = 0; p < S_PAGES; p++)
			__atomic_store_n(word_at(w->storm->shadow[w->side], p,
						 r),
					 storm_value(w->side, r, p),
					 __ATOMIC_RELAXED);
		w->rounds = r;
		if (__atomic_load_n(&w->storm->clones, __ATOMIC_RELAXED) >=
		    S_MIN_CLONES || w->storm->clone_error)
			break;
	}
	return NULL;
}

static void *storm_clone(void *arg)
{
	struct cow_storm *storm = arg;
	int fd;

	while (!__atomic_load_n(&storm->stop, __ATOMIC_ACQUIRE)) {
		fd = torusmm_clone(storm->fd[storm->clones % 2]);
		if (fd < 0) {
			storm->clone_error = fd;
			break;
		}
		close(fd);
		__atomic_add_fetch(&storm->clones, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *storm_load(void *arg)
{
	struct cow_storm *storm = arg;
	unsigned int r, p;
	__u32 word;

	while (!__atomic_load_n(&storm->stop, __ATOMIC_ACQUIRE)) {
		for (p = 0; p < S_PAGES; p++)
			for (r = 1; r <= 16; r++) {
				word = __atomic_load_n(word_at(storm->shadow[0],
							       p, r),
						       __ATOMIC_RELAXED);
				if (word >> 24 == 2 && !storm->foreign++)
					storm->foreign_word = word;
			}
		storm->loads++;
	}
	return NULL;
}

TEST_F_TIMEOUT(cow, concurrent_cow_breaks_and_clones_keep_spaces_apart, 120)
{
	struct storm_writer writers[2];
	pthread_t cloner, loader;
	__u32 used, expected[WORDS], w, first = 0;
	struct cow_storm *storm;
	unsigned int side, p;

	if (!has_caps(self->caps, CAP(COW_CLONE) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	storm = calloc(1, sizeof(*storm));
	ASSERT_TRUE(!!storm);
	storm->fd[0] = self->fd;
	map(_metadata, self->fd, ADDR, S_PAGES * PAGE, RW, FIXED);
	for (p = 0; p < S_PAGES; p++)
		fill_pattern(_metadata, self->fd, ADDR, p);
	storm->fd[1] = clone_of(_metadata, self->fd);
	for (side = 0; side < 2; side++)
		storm->shadow[side] = shadow(_metadata, storm->fd[side], ADDR,
					     S_PAGES * PAGE);
	used = used_now(_metadata, self);

	ASSERT_EQ(0, pthread_create(&cloner, NULL, storm_clone, storm));
	ASSERT_EQ(0, pthread_create(&loader, NULL, storm_load, storm));
	for (side = 0; side < 2; side++) {
		writers[side].storm = storm;
		writers[side].side = side;
		writers[side].rounds = 0;
		ASSERT_EQ(0, pthread_create(&writers[side].thread, NULL,
					    storm_write, &writers[side]));
	}
	for (side = 0; side < 2; side++)
		pthread_join(writers[side].thread, NULL);
	__atomic_store_n(&storm->stop, 1, __ATOMIC_RELEASE);
	pthread_join(cloner, NULL);
	pthread_join(loader, NULL);
	TH_LOG("%lu clones and %lu sweeps of loads during %u and %u rounds of stores",
	       storm->clones, storm->loads, writers[0].rounds,
	       writers[1].rounds);
	EXPECT_EQ(0, storm->clone_error) TH_LOG("TORUSMM_CLONE: %s",
						strerror(-storm->clone_error));
	EXPECT_EQ(0, storm->foreign)
		TH_LOG("the source's shadow showed %#x, a word the clone stored",
		       storm->foreign_word);

	for (side = 0; side < 2; side++)
		for (p = 0; p < S_PAGES; p++) {
			for (w = 0; w < WORDS; w++)
				expected[w] = w >= 1 && w <= writers[side].rounds ?
					      storm_value(side, w, p) :
					      pattern(p, w);
			EXPECT_EQ(0, page_differs(_metadata, storm->fd[side],
						  ADDR + p * PAGE, expected,
						  &first))
				TH_LOG("space %u, page %u, word %u", side, p,
				       first);
		}
	EXPECT_EQ(used + S_PAGES, used_now(_metadata, self))
		TH_LOG("each page ends with one frame per space");
	EXPECT_EQ(S_PAGES, data_frames(_metadata, storm->fd[0]));
	EXPECT_EQ(S_PAGES, data_frames(_metadata, storm->fd[1]));
	for (side = 0; side < 2; side++)
		munmap(storm->shadow[side], S_PAGES * PAGE);
	close(storm->fd[1]);
	EXPECT_EQ(used - 2, used_now(_metadata, self))
		TH_LOG("the clone's tables and its %u frames went back", S_PAGES);
	free(storm);
}

/* Set the user's frame ceiling (user_max_frames) to @frames. */
static void set_ceiling(struct __test_metadata *_metadata, unsigned int frames)
{
	char value[16];

	snprintf(value, sizeof(value), "%u", frames);
	ASSERT_EQ(0, write_file(CEILING_PARAM, value));
}

/*
 * The user's ceiling counts a shared frame in every space that maps it, as
 * the space counts do, and every charge comes back: the spaces of the
 * tests before this one are closed, so the fixture's directory is all this
 * user holds, and the ceiling is met exactly.
 */
TEST_F_TIMEOUT(cow, the_user_ceiling_counts_shared_frames_and_charges_return, 30)
{
	struct torusmm_rw rw;
	__u32 value = 1;
	unsigned int p;
	int clone, ret;

	if (!has_caps(self->caps, CAP(COW_CLONE), &self->why))
		SKIP(return, "%s", self->why);
	if (read_file(CEILING_PARAM, self->ceiling, sizeof(self->ceiling)) ||
	    access(CEILING_PARAM, W_OK)) {
		self->ceiling[0] = '\0';
		SKIP(return, "cannot set " CEILING_PARAM " (not root?)");
	}
	ASSERT_EQ(1, torus_of(_metadata, self->dev, self->torus).nr_spaces)
		TH_LOG("another space is open: the user's charge is unknown");
	set_ceiling(_metadata, 16);
	map(_metadata, self->fd, ADDR, 16 * PAGE, RW, FIXED);
	/* The directory, a table and 14 pages. */
	for (p = 0; p < 14; p++) {
		ret = torusmm_write(self->fd, ADDR + p * PAGE, &value,
				    sizeof(value), USER, &rw);
		ASSERT_EQ(0, ret) TH_LOG("page %u under the ceiling: %s", p,
					 strerror(-ret));
	}
	ret = torusmm_write(self->fd, ADDR + 14 * PAGE, &value, sizeof(value),
			    USER, &rw);
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("a 17th frame");
	/* A clone takes its directory, a table and the 14 pages it shares. */
	set_ceiling(_metadata, 31);
	clone = torusmm_clone(self->fd);
	EXPECT_EQ(-ENOMEM, clone) TH_LOG("a clone of 16 frames under a ceiling of 31");
	if (clone >= 0)
		close(clone);
	set_ceiling(_metadata, 32);
	clone = clone_of(_metadata, self->fd);
	ret = torusmm_write(clone, ADDR, &value, sizeof(value), USER, &rw);
	EXPECT_EQ(0, ret) TH_LOG("a copy at the ceiling replaces a charge: %s",
				 strerror(-ret));
	ret = torusmm_write(clone, ADDR + 14 * PAGE, &value, sizeof(value),
			    USER, &rw);
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("a new frame past the ceiling");
	close(clone);

	/* Exactly the source's 16 frames are charged again. */
	set_ceiling(_metadata, 17);
	ret = torusmm_write(self->fd, ADDR + 14 * PAGE, &value, sizeof(value),
			    USER, &rw);
	EXPECT_EQ(0, ret) TH_LOG("the 17th frame: %s", strerror(-ret));
	ret = torusmm_write(self->fd, ADDR + 15 * PAGE, &value, sizeof(value),
			    USER, &rw);
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("an 18th frame");
}

/* The shared zero frame. */

/* The entry of a page of a read-write region that maps the zero frame. */
static void expect_zero_pte(struct __test_metadata *_metadata, __u32 pte,
			    const char *what)
{
	EXPECT_EQ(ZERO_FRAME, frame_of(pte)) TH_LOG("%s: pte %#x", what, pte);
	EXPECT_EQ(P_P | P_U | P_COW, pte & (P_P | P_U | P_W | P_COW))
		TH_LOG("%s: present, user, read-only, copy-on-write: pte %#x",
		       what, pte);
	EXPECT_EQ(0, pte & P_D) TH_LOG("%s: not dirty: pte %#x", what, pte);
}

TEST_F_TIMEOUT(cow, reads_of_never_written_memory_map_the_zero_frame, 30)
{
	struct torusmm_space_stats before, after;
	struct torusmm_translate tr;
	__u32 *ps, used, buf[WORDS], w, loaded;
	int sig;

	if (!has_caps(self->caps, CAP(ZERO_FRAME) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	catch_faults();
	/* Pages 0-7 read-write, 16-17 read-exec, all in one table. */
	map(_metadata, self->fd, ADDR, 8 * PAGE, RW, FIXED);
	map(_metadata, self->fd, ADDR + 16 * PAGE, 2 * PAGE, RX, FIXED);
	write_word(_metadata, self->fd, ADDR + 7 * PAGE, tag(1, 7));
	ps = shadow(_metadata, self->fd, ADDR, 8 * PAGE);
	before = stats_of(_metadata, self->fd);
	used = used_now(_metadata, self);

	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + 0x123, USER, 0, &tr));
	EXPECT_EQ(TORUSMM_ZERO_FRAME_TPA + 0x123, tr.tpa);
	expect_zero_pte(_metadata, tr.pte, "a TORUSMM_TRANSLATE read");
	EXPECT_EQ(P_A, tr.pte & P_A);

	memset(buf, 0xa5, sizeof(buf));
	slurp(_metadata, self->fd, ADDR + PAGE, buf, sizeof(buf));
	for (w = 0; w < WORDS && !buf[w]; w++)
		;
	EXPECT_EQ(WORDS, w) TH_LOG("word %u of a TORUSMM_READ", w);
	expect_zero_pte(_metadata, pte_of(_metadata, self->fd, ADDR + PAGE),
			"a TORUSMM_READ");

	for (w = 0; w < WORDS; w++) {
		loaded = 1;
		sig = try_load(word_at(ps, 2, w), &loaded, NULL);
		if (sig || loaded)
			break;
	}
	EXPECT_EQ(WORDS, w) TH_LOG("word %u of a shadow load: %s, %#x", w,
				   outcome(sig), loaded);
	expect_zero_pte(_metadata, pte_of(_metadata, self->fd, ADDR + 2 * PAGE),
			"a shadow load");

	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + 16 * PAGE, USER | EXEC,
				       0, &tr));
	EXPECT_EQ(TORUSMM_ZERO_FRAME_TPA, tr.tpa) TH_LOG("a fetch");
	EXPECT_EQ(ZERO_FRAME, frame_of(tr.pte));
	EXPECT_EQ(P_P | P_U | P_COW, tr.pte & (P_P | P_U | P_W | P_COW | P_NX));

	after = stats_of(_metadata, self->fd);
	EXPECT_EQ(used, used_now(_metadata, self))
		TH_LOG("reads of never-written memory took frames");
	EXPECT_EQ(before.nr_data_frames, after.nr_data_frames);
	EXPECT_EQ(before.nr_table_frames, after.nr_table_frames);
	EXPECT_EQ(before.nr_faults + 4, after.nr_faults)
		TH_LOG("each first read is a fault");

	/* Reading them again, through any path, takes nothing either. */
	slurp(_metadata, self->fd, ADDR, buf, sizeof(buf));
	EXPECT_EQ(0, peek(word_at(ps, 1, 5)));
	EXPECT_EQ(0, torusmm_translate(self->fd, ADDR + 2 * PAGE, 0, 0, &tr));
	EXPECT_EQ(used, used_now(_metadata, self));
	EXPECT_EQ(before.nr_faults + 4, stats_of(_metadata, self->fd).nr_faults);
	munmap(ps, 8 * PAGE);
}

TEST_F_TIMEOUT(cow, the_first_write_to_a_zero_page_takes_exactly_one_frame, 30)
{
	__u32 *ps, used, buf[WORDS], expected[WORDS], w, first = 0, pte;
	unsigned char bytes[16];
	struct torusmm_translate tr;
	int other, sig, i;
	__u32 *po;

	if (!has_caps(self->caps, CAP(ZERO_FRAME) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	catch_faults();
	map(_metadata, self->fd, ADDR, 8 * PAGE, RW, FIXED);
	write_word(_metadata, self->fd, ADDR + 7 * PAGE, tag(1, 7));
	ps = shadow(_metadata, self->fd, ADDR, 8 * PAGE);
	for (i = 0; i < 4; i++)
		slurp(_metadata, self->fd, ADDR + i * PAGE, buf, sizeof(buf));
	EXPECT_EQ(0, peek(word_at(ps, 1, 0)));	/* a hardware entry too */
	used = used_now(_metadata, self);
	EXPECT_EQ(1, data_frames(_metadata, self->fd));

	/* TORUSMM_WRITE of 16 bytes in the middle of page 0. */
	for (i = 0; i < 16; i++)
		bytes[i] = 0xe0 + i;
	fill(_metadata, self->fd, ADDR + 100, bytes, sizeof(bytes));
	EXPECT_EQ(used + 1, used_now(_metadata, self));
	EXPECT_EQ(2, data_frames(_metadata, self->fd));
	memset(expected, 0, sizeof(expected));
	memcpy((char *)expected + 100, bytes, sizeof(bytes));
	EXPECT_EQ(0, page_differs(_metadata, self->fd, ADDR, expected, &first))
		TH_LOG("page 0, word %u", first);
	pte = pte_of(_metadata, self->fd, ADDR);
	EXPECT_NE(ZERO_FRAME, frame_of(pte));
	EXPECT_EQ(P_W | P_D, pte & (P_W | P_D | P_COW));

	/* A store through the shadow, whose entry mapped the zero frame. */
	sig = try_store(word_at(ps, 1, 5), tag(1, 1), NULL);
	EXPECT_EQ(0, sig) TH_LOG("store: %s", outcome(sig));
	EXPECT_EQ(used + 2, used_now(_metadata, self));
	memset(expected, 0, sizeof(expected));
	expected[5] = tag(1, 1);
	EXPECT_EQ(0, page_differs(_metadata, self->fd, ADDR + PAGE, expected,
				  &first))
		TH_LOG("page 1, word %u", first);
	EXPECT_EQ(tag(1, 1), peek(word_at(ps, 1, 5)));

	/* A write translation: a zeroed frame of its own. */
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + 2 * PAGE + 8,
				       WRITE | USER, 0, &tr));
	EXPECT_NE(ZERO_FRAME, frame_of(tr.tpa));
	EXPECT_EQ(used + 3, used_now(_metadata, self));
	EXPECT_TRUE(page_is_zero(_metadata, self->fd, ADDR + 2 * PAGE));

	/* Page 3 still maps the zero frame, and it is still all zeroes. */
	expect_zero_pte(_metadata, pte_of(_metadata, self->fd, ADDR + 3 * PAGE),
			"an untouched page");
	EXPECT_TRUE(page_is_zero(_metadata, self->fd, ADDR + 3 * PAGE));
	for (w = 0; w < WORDS && !peek(word_at(ps, 3, w)); w++)
		;
	EXPECT_EQ(WORDS, w);
	EXPECT_EQ(4, data_frames(_metadata, self->fd));

	/* And in another space, through both paths. */
	other = new_space(_metadata, self, 0);
	map(_metadata, other, ADDR, 2 * PAGE, RW, FIXED);
	po = shadow(_metadata, other, ADDR, 2 * PAGE);
	EXPECT_TRUE(page_is_zero(_metadata, other, ADDR));
	for (w = 0; w < WORDS && !peek(word_at(po, 1, w)); w++)
		;
	EXPECT_EQ(WORDS, w) TH_LOG("word %u of another space's zero page", w);
	EXPECT_EQ(0, data_frames(_metadata, other));
	munmap(po, 2 * PAGE);
	munmap(ps, 8 * PAGE);
	close(other);
}

TEST_F_TIMEOUT(cow, reads_past_the_quota_map_the_zero_frame_and_writes_fail,
	       30)
{
	__u32 *ps, value = 1;
	struct torusmm_translate tr;
	void *fault_addr = NULL;
	unsigned int p;
	int fd, ret, sig;

	if (!has_caps(self->caps, CAP(ZERO_FRAME) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	catch_faults();
	/* The directory, one table and one page make three frames. */
	fd = new_space(_metadata, self, 3);
	map(_metadata, fd, ADDR, 8 * PAGE, RW, FIXED);
	write_word(_metadata, fd, ADDR, tag(1, 0));
	ps = shadow(_metadata, fd, ADDR, 8 * PAGE);
	for (p = 1; p < 8; p++) {
		ret = torusmm_translate(fd, ADDR + p * PAGE, USER, 0, &tr);
		EXPECT_EQ(0, ret) TH_LOG("a read of page %u past the quota: %d",
					 p, ret);
	}
	sig = try_load(word_at(ps, 3, 1), &value, NULL);
	EXPECT_EQ(0, sig) TH_LOG("a load past the quota: %s", outcome(sig));
	EXPECT_EQ(0, value);
	EXPECT_EQ(1, data_frames(_metadata, fd));

	ret = torusmm_translate(fd, ADDR + PAGE, WRITE | USER, 0, &tr);
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("a write past the quota: %d", ret);
	sig = try_store(word_at(ps, 2, 0), 1, &fault_addr);
	EXPECT_EQ(SIGBUS, sig) TH_LOG("a store past the quota: %s",
				      outcome(sig));
	EXPECT_EQ((uintptr_t)word_at(ps, 2, 0), (uintptr_t)fault_addr);
	expect_zero_pte(_metadata, pte_of(_metadata, fd, ADDR + 2 * PAGE),
			"after the refused store");
	EXPECT_EQ(1, data_frames(_metadata, fd));
	munmap(ps, 8 * PAGE);
	close(fd);
}

/*
 * A zero-frame entry takes no data frame, but it lives in a page table
 * (section 4.2): the first read in a 4 MiB range with no table takes a table
 * frame, counted as every table frame is, and fails with ENOMEM when the
 * quota has none left, changing nothing.
 */
TEST_F_TIMEOUT(cow, a_read_without_a_page_table_takes_a_table_frame, 30)
{
	const __u32 far = ADDR + 4 * 1024 * PAGE;	/* the next table */
	struct torusmm_space_stats before, after;
	struct torusmm_translate tr;
	__u32 used;
	int fd;

	if (!has_caps(self->caps, CAP(ZERO_FRAME), &self->why))
		SKIP(return, "%s", self->why);
	map(_metadata, self->fd, ADDR, 2 * 1024 * PAGE, R, FIXED);
	before = stats_of(_metadata, self->fd);
	used = used_now(_metadata, self);
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR, USER, 0, &tr));
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + 1024 * PAGE, USER, 0,
				       &tr));
	EXPECT_EQ(TORUSMM_ZERO_FRAME_TPA, tr.tpa);
	after = stats_of(_metadata, self->fd);
	EXPECT_EQ(before.nr_table_frames + 2, after.nr_table_frames)
		TH_LOG("one table for each 4 MiB range read");
	EXPECT_EQ(before.nr_data_frames, after.nr_data_frames);
	EXPECT_EQ(used + 2, used_now(_metadata, self));

	/* The directory, one table and one page: the quota is reached. */
	fd = new_space(_metadata, self, 3);
	map(_metadata, fd, ADDR, PAGE, RW, FIXED);
	map(_metadata, fd, far, PAGE, R, FIXED);
	write_word(_metadata, fd, ADDR, tag(1, 0));
	before = stats_of(_metadata, fd);
	used = used_now(_metadata, self);
	EXPECT_EQ(-ENOMEM, torusmm_translate(fd, far, USER, 0, &tr))
		TH_LOG("a read that needs a table past the quota");
	after = stats_of(_metadata, fd);
	EXPECT_EQ(before.nr_table_frames, after.nr_table_frames);
	EXPECT_EQ(before.nr_faults, after.nr_faults);
	EXPECT_EQ(0, pte_of(_metadata, fd, far));
	EXPECT_EQ(used, used_now(_metadata, self));
	close(fd);
}

/*
 * A quota may be reached, never passed (section 4.1), and a copy-on-write
 * break of a shared frame takes no room: the copy replaces the space's
 * share of the frame.  At the quota, the clone's first write to a shared
 * page works, and the first write to a page it has not got fails.
 */
TEST_F_TIMEOUT(cow, a_cow_break_at_the_quota_takes_no_room, 30)
{
	struct torusmm_translate tr;
	int fd, clone;

	if (!has_caps(self->caps, CAP(COW_CLONE), &self->why))
		SKIP(return, "%s", self->why);
	/* The directory, one table and one page make three frames. */
	fd = new_space(_metadata, self, 3);
	map(_metadata, fd, ADDR, 2 * PAGE, RW, FIXED);
	write_word(_metadata, fd, ADDR, tag(1, 0));
	clone = clone_of(_metadata, fd);
	ASSERT_EQ(3, stats_of(_metadata, clone).max_frames);
	ASSERT_EQ(1, data_frames(_metadata, clone));

	write_word(_metadata, clone, ADDR, tag(2, 0));
	EXPECT_EQ(1, data_frames(_metadata, clone))
		TH_LOG("the copy replaced the clone's share");
	EXPECT_EQ(tag(1, 0), read_word(_metadata, fd, ADDR));
	EXPECT_EQ(tag(2, 0), read_word(_metadata, clone, ADDR));

	EXPECT_EQ(-ENOMEM, torusmm_translate(clone, ADDR + PAGE,
					     WRITE | USER, 0, &tr))
		TH_LOG("a fourth frame is one past the quota");
	EXPECT_EQ(1, data_frames(_metadata, clone));
	close(clone);
	close(fd);
}

TEST_F_TIMEOUT(cow, a_clone_maps_the_zero_frame_and_takes_nothing_for_it, 30)
{
	struct torusmm_translate tr;
	__u32 used, pte;
	unsigned int p;
	int clone;

	if (!has_caps(self->caps, CAP(ZERO_FRAME) | CAP(COW_CLONE), &self->why))
		SKIP(return, "%s", self->why);
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	for (p = 0; p < 4; p++)
		ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + p * PAGE, USER,
					       0, &tr));
	used = used_now(_metadata, self);
	clone = clone_of(_metadata, self->fd);
	EXPECT_EQ(used + 2, used_now(_metadata, self))
		TH_LOG("the clone's directory and table only");
	EXPECT_EQ(0, data_frames(_metadata, clone));
	for (p = 0; p < 4; p++) {
		pte = pte_of(_metadata, clone, ADDR + p * PAGE);
		expect_zero_pte(_metadata, pte, "the clone's page");
		EXPECT_EQ(0, pte & P_A) TH_LOG("a clone's entry starts old");
	}
	write_word(_metadata, clone, ADDR + PAGE, tag(2, 1));
	EXPECT_EQ(used + 3, used_now(_metadata, self));
	EXPECT_EQ(1, data_frames(_metadata, clone));
	EXPECT_EQ(0, data_frames(_metadata, self->fd));
	EXPECT_TRUE(page_is_zero(_metadata, self->fd, ADDR + PAGE));
	expect_zero_pte(_metadata, pte_of(_metadata, self->fd, ADDR + PAGE),
			"the source's page");
	close(clone);
	EXPECT_EQ(used, used_now(_metadata, self));
}

/*
 * The max_frames ceiling holds for a clone as for a new space, read when the
 * clone is made: a source whose quota is at the ceiling clones, one whose
 * quota is a frame above it does not (and leaves nothing behind), and with
 * no ceiling any quota clones.
 */
TEST_F_TIMEOUT(cow, a_clone_keeps_its_quota_only_within_the_max_frames_ceiling,
	       30)
{
	__u32 used;
	int fd, clone;

	if (!has_caps(self->caps, CAP(COW_CLONE), &self->why))
		SKIP(return, "%s", self->why);
	fd = new_space(_metadata, self, 64);
	map(_metadata, fd, ADDR, 4 * PAGE, RW, FIXED);
	write_word(_metadata, fd, ADDR, tag(1, 0));

	ASSERT_EQ(0, torusmm_param_set("max_frames", 64));
	clone = clone_of(_metadata, fd);
	EXPECT_EQ(64, stats_of(_metadata, clone).max_frames);
	close(clone);

	ASSERT_EQ(0, torusmm_param_set("max_frames", 63));
	used = used_now(_metadata, self);
	EXPECT_EQ(-EINVAL, torusmm_clone(fd));
	EXPECT_EQ(used, used_now(_metadata, self));

	ASSERT_EQ(0, torusmm_param_set("max_frames", 0));
	clone = clone_of(_metadata, fd);
	EXPECT_EQ(64, stats_of(_metadata, clone).max_frames);
	close(clone);
	close(fd);
}

/* The dirty log. */

#define D_PAGES		200	/* not a multiple of 64: a partial last word */

TEST_F_TIMEOUT(cow, get_dirty_log_reports_writes_through_both_paths, 30)
{
	static const int written[] = { 0, 1, 63, 64, 65, 130, 199, -1 };
	static const int again[] = { 0, 1, 3, 65, -1 };
	__u64 bitmap[LOG_WORDS(D_PAGES) + 1], want[LOG_WORDS(D_PAGES) + 1];
	static struct torusmm_pte before[D_PAGES], after[D_PAGES];
	__u32 n_before = D_PAGES, n_after = D_PAGES, count = 0, buf[4], i;
	struct torusmm_translate tr;
	__u32 *ps;

	if (!has_caps(self->caps, CAP(DIRTY_LOG) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	catch_faults();
	map(_metadata, self->fd, ADDR, D_PAGES * PAGE, RW, FIXED);
	/* Populated, never written: 150-159. */
	map(_metadata, self->fd, ADDR + 150 * PAGE, 10 * PAGE, RW,
	    FIXED | POPULATE);
	ps = shadow(_metadata, self->fd, ADDR, D_PAGES * PAGE);
	/* Written through TORUSMM_WRITE and through the shadow. */
	write_word(_metadata, self->fd, ADDR, 1);
	write_word(_metadata, self->fd, ADDR + 63 * PAGE, 1);
	write_word(_metadata, self->fd, ADDR + 64 * PAGE + 4000, 1);
	write_word(_metadata, self->fd, ADDR + 130 * PAGE, 1);
	poke(word_at(ps, 1, 0), 1);
	poke(word_at(ps, 65, 3), 1);
	poke(word_at(ps, 199, 1023), 1);
	/* Read only: 2, 3, 66, 151 and the zero frame of 4. */
	slurp(_metadata, self->fd, ADDR + 2 * PAGE, buf, sizeof(buf));
	EXPECT_EQ(0, peek(word_at(ps, 3, 0)));
	EXPECT_EQ(0, peek(word_at(ps, 66, 0)));
	EXPECT_EQ(0, peek(word_at(ps, 151, 0)));
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + 4 * PAGE, USER, 0,
				       &tr));
	bitmap_of(want, LOG_WORDS(D_PAGES), written);

	/* Without CLEAR: reported, and nothing changes. */
	ASSERT_EQ(0, torusmm_dump_ptes(self->fd, ADDR, D_PAGES * PAGE, before,
				       &n_before));
	memset(bitmap, 0xa5, sizeof(bitmap));
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, ADDR,
			       D_PAGES * PAGE, bitmap, 0, &count));
	EXPECT_EQ(7, count);
	EXPECT_EQ(0, bitmap_differs(_metadata, bitmap, want, 64 *
				    LOG_WORDS(D_PAGES), "GET_DIRTY_LOG"));
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ull, bitmap[LOG_WORDS(D_PAGES)])
		TH_LOG("the word past the bitmap was written");
	ASSERT_EQ(0, torusmm_dump_ptes(self->fd, ADDR, D_PAGES * PAGE, after,
				       &n_after));
	ASSERT_EQ(n_before, n_after);
	EXPECT_EQ(0, memcmp(before, after, n_before * sizeof(before[0])))
		TH_LOG("a GET_DIRTY_LOG without TORUSMM_LOG_CLEAR changed a PTE");

	/* With CLEAR: the same report, then dirty is clear and nothing else. */
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, ADDR,
			       D_PAGES * PAGE, bitmap, TORUSMM_LOG_CLEAR,
			       &count));
	EXPECT_EQ(7, count);
	EXPECT_EQ(0, bitmap_differs(_metadata, bitmap, want, D_PAGES,
				    "GET_DIRTY_LOG with CLEAR"));
	ASSERT_EQ(0, torusmm_dump_ptes(self->fd, ADDR, D_PAGES * PAGE, after,
				       &n_after));
	ASSERT_EQ(n_before, n_after);
	for (i = 0; i < n_after; i++)
		EXPECT_EQ(before[i].pte & ~P_D, after[i].pte)
			TH_LOG("the entry of %#x", after[i].addr);
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, ADDR,
			       D_PAGES * PAGE, bitmap, TORUSMM_LOG_CLEAR,
			       &count));
	EXPECT_EQ(0, count) TH_LOG("a second harvest reports nothing new");

	/*
	 * Writes after the harvest, through entries the shadow had made
	 * writable before it (1, 65) and one it had made read-only (3).
	 */
	poke(word_at(ps, 1, 1), 2);
	poke(word_at(ps, 65, 4), 2);
	poke(word_at(ps, 3, 0), 2);
	write_word(_metadata, self->fd, ADDR + 8, 2);
	bitmap_of(want, LOG_WORDS(D_PAGES), again);
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, ADDR,
			       D_PAGES * PAGE, bitmap, 0, &count));
	EXPECT_EQ(4, count);
	EXPECT_EQ(0, bitmap_differs(_metadata, bitmap, want, D_PAGES,
				    "after the harvest"));

	/* A window of the range: bit 0 is the window's first page. */
	memset(bitmap, 0xa5, sizeof(bitmap));
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG,
			       ADDR + 64 * PAGE, 64 * PAGE, bitmap, 0, &count));
	EXPECT_EQ(1, count);
	EXPECT_EQ(2ull, bitmap[0]) TH_LOG("page 65 is bit 1 of the window");
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ull, bitmap[1]);
	munmap(ps, D_PAGES * PAGE);
}

TEST_F_TIMEOUT(cow, clear_dirty_log_clears_only_the_selected_pages, 30)
{
	__u64 select[3], bitmap[3], want[3];
	__u32 *ps, count = 0, pte;
	unsigned int p;

	if (!has_caps(self->caps, CAP(DIRTY_LOG) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	catch_faults();
	map(_metadata, self->fd, ADDR, 192 * PAGE, RW, FIXED);
	ps = shadow(_metadata, self->fd, ADDR, 192 * PAGE);
	for (p = 0; p < 192; p++)
		poke(word_at(ps, p, 0), p + 1);

	/* The first two units, even pages selected. */
	memset(select, 0, sizeof(select));
	for (p = 0; p < 128; p += 2)
		set_bit64(select, p);
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_CLEAR_DIRTY_LOG, ADDR,
			       2 * UNIT, select, 0, &count));
	EXPECT_EQ(64, count);
	memset(want, 0, sizeof(want));
	for (p = 0; p < 192; p++)
		if (p >= 128 || p % 2)
			set_bit64(want, p);
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, ADDR,
			       192 * PAGE, bitmap, 0, &count));
	EXPECT_EQ(128, count);
	EXPECT_EQ(0, bitmap_differs(_metadata, bitmap, want, 192,
				    "after CLEAR_DIRTY_LOG of the even pages"));
	for (p = 0; p < 4; p++) {
		pte = pte_of(_metadata, self->fd, ADDR + p * PAGE);
		EXPECT_EQ(p % 2 ? P_D : 0, pte & P_D) TH_LOG("page %u", p);
		EXPECT_EQ(P_A | P_W, pte & (P_A | P_W)) TH_LOG("page %u", p);
	}

	/* Clearing clean pages clears nothing. */
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_CLEAR_DIRTY_LOG, ADDR,
			       2 * UNIT, select, 0, &count));
	EXPECT_EQ(0, count);

	/* The third unit, on its own, every page selected. */
	memset(select, 0xff, sizeof(select));
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_CLEAR_DIRTY_LOG,
			       ADDR + 2 * UNIT, UNIT, select, 0, &count));
	EXPECT_EQ(64, count);

	/* A cleared page is reported again after its next write. */
	poke(word_at(ps, 2, 1), 1);
	poke(word_at(ps, 130, 1), 1);
	write_word(_metadata, self->fd, ADDR + 4 * PAGE, 1);
	memset(want, 0, sizeof(want));
	for (p = 1; p < 128; p += 2)
		set_bit64(want, p);
	set_bit64(want, 2);
	set_bit64(want, 4);
	set_bit64(want, 130);
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, ADDR,
			       192 * PAGE, bitmap, TORUSMM_LOG_CLEAR, &count));
	EXPECT_EQ(67, count);
	EXPECT_EQ(0, bitmap_differs(_metadata, bitmap, want, 192,
				    "writes after CLEAR_DIRTY_LOG"));
	munmap(ps, 192 * PAGE);
}

/*
 * The last unit of the address space is a whole unit (4 GiB is a multiple
 * of 64 pages): clear may take it, get may take its last page alone; both
 * find nothing there (no region reaches past the stack).
 */
TEST_F_TIMEOUT(cow, dirty_log_ranges_may_end_at_4g, 30)
{
	__u64 select[LOG_WORDS(64)], bitmap[LOG_WORDS(64)];
	__u32 count = ~0u;

	if (!has_caps(self->caps, CAP(DIRTY_LOG), &self->why))
		SKIP(return, "%s", self->why);
	memset(select, 0xff, sizeof(select));
	EXPECT_EQ(0, log_ioctl(self->fd, TORUSMM_CLEAR_DIRTY_LOG, SZ_4G - UNIT,
			       UNIT, select, 0, &count));
	EXPECT_EQ(0, count);
	count = ~0u;
	memset(bitmap, 0xff, sizeof(bitmap));
	EXPECT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, SZ_4G - PAGE,
			       PAGE, bitmap, TORUSMM_LOG_CLEAR, &count));
	EXPECT_EQ(0, count);
	EXPECT_EQ(0, bitmap[0]);
	EXPECT_EQ(-EINVAL, log_ioctl(self->fd, TORUSMM_CLEAR_DIRTY_LOG,
				     SZ_4G - PAGE, PAGE, select, 0, &count))
		TH_LOG("one page before 4 GiB is not a whole unit");
}

TEST_F_TIMEOUT(cow, a_cow_break_is_dirty_in_the_writer_only, 30)
{
	__u64 bitmap[1];
	__u32 *ps, *pc, count = 0;
	int clone;

	if (!has_caps(self->caps, CAP(DIRTY_LOG) | CAP(COW_CLONE) |
		      CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	ps = shadow(_metadata, self->fd, ADDR, 4 * PAGE);
	poke(word_at(ps, 0, 0), 1);
	poke(word_at(ps, 1, 0), 1);
	EXPECT_EQ(0, peek(word_at(ps, 2, 0)));	/* the zero frame */
	clone = clone_of(_metadata, self->fd);
	pc = shadow(_metadata, clone, ADDR, 4 * PAGE);
	/* The clone keeps the dirty bits it was made with. */
	ASSERT_EQ(0, log_ioctl(clone, TORUSMM_GET_DIRTY_LOG, ADDR, 4 * PAGE,
			       bitmap, TORUSMM_LOG_CLEAR, &count));
	EXPECT_EQ(3ull, bitmap[0]);
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, ADDR,
			       4 * PAGE, bitmap, TORUSMM_LOG_CLEAR, &count));
	EXPECT_EQ(3ull, bitmap[0]);

	poke(word_at(pc, 1, 0), 2);	/* a copy for the clone */
	poke(word_at(ps, 1, 1), 2);	/* the source alone: in place */
	poke(word_at(pc, 2, 0), 2);	/* the zero frame, replaced */
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, ADDR,
			       4 * PAGE, bitmap, TORUSMM_LOG_CLEAR, &count));
	EXPECT_EQ(2ull, bitmap[0]) TH_LOG("the source wrote page 1 only");
	ASSERT_EQ(0, log_ioctl(clone, TORUSMM_GET_DIRTY_LOG, ADDR, 4 * PAGE,
			       bitmap, TORUSMM_LOG_CLEAR, &count));
	EXPECT_EQ(6ull, bitmap[0]) TH_LOG("the clone wrote pages 1 and 2");
	munmap(pc, 4 * PAGE);
	munmap(ps, 4 * PAGE);
	close(clone);
}

/*
 * No write is lost between two harvests.  Two writers store while the
 * harvester runs GET_DIRTY_LOG with CLEAR in a loop, bumping an epoch after
 * each harvest returns: one writer through the shadow, one through
 * TORUSMM_WRITE, each on pages of its own.  Each store is recorded with the
 * epoch read just before it (b) and just after it (a).  The store came after
 * harvest b cleared the bits, so no harvest up to b may be the one that
 * reports it; and harvest a + 2 started after the store, so one of harvests
 * b + 1 .. a + 2 must report the page.  Conversely, every page a harvest
 * reports must be explained by a store whose window holds that harvest.
 * A writer stores at most R_PER_EPOCH times per epoch, so that its stores
 * spread over every epoch however fast it runs.
 */
#define R_HW_PAGES	128
#define R_SW_PAGES	64
#define R_PAGES		(R_HW_PAGES + R_SW_PAGES)
#define R_WORDS		LOG_WORDS(R_PAGES)
#define R_HARVESTS	400
#define R_PER_EPOCH	256	/* stores per writer and epoch, at most */
#define R_RECORDS	(R_PER_EPOCH * (R_HARVESTS + 3))
#define R_SECONDS	3

struct race_record {
	__u32 before;
	__u32 after;
	__u32 page;
};

struct race_writer {
	pthread_t thread;
	struct race *race;
	bool through_shadow;
	unsigned int first_page;
	unsigned int nr_pages;
	struct race_record *records;
	unsigned int nr_records;
	int error;
};

struct race {
	int fd;
	__u32 *shadow;
	__u32 epoch;
	int stop;
	struct race_writer writers[2];
	__u64 (*harvests)[R_WORDS];	/* harvest h is row h (1-based) */
};

static void *race_write(void *arg)
{
	struct race_writer *w = arg;
	struct race *r = w->race;
	__u32 seed = w->first_page * 2654435761u + 1, before, page, value;
	__u32 epoch = ~0u, in_epoch = 0;
	struct torusmm_rw rw;
	int ret;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE) &&
	       w->nr_records < R_RECORDS) {
		before = __atomic_load_n(&r->epoch, __ATOMIC_SEQ_CST);
		if (before != epoch) {
			epoch = before;
			in_epoch = 0;
		}
		/* Spread the stores over every epoch. */
		if (in_epoch++ >= R_PER_EPOCH) {
			sched_yield();
			continue;
		}
		seed = seed * 1103515245u + 12345;
		page = w->first_page + (seed >> 16) % w->nr_pages;
		value = w->nr_records + 1;
		if (w->through_shadow) {
			__atomic_store_n(word_at(r->shadow, page,
						 value % WORDS), value,
					 __ATOMIC_SEQ_CST);
		} else {
			ret = torusmm_write(r->fd, ADDR + (__u64)page * PAGE +
					    (value % WORDS) * 4, &value,
					    sizeof(value), USER, &rw);
			if (ret) {
				w->error = ret < 0 ? ret : -EFAULT;
				break;
			}
		}
		w->records[w->nr_records].before = before;
		w->records[w->nr_records].after =
			__atomic_load_n(&r->epoch, __ATOMIC_SEQ_CST);
		w->records[w->nr_records].page = page;
		w->nr_records++;
	}
	return NULL;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - start->tv_sec +
	       (now.tv_nsec - start->tv_nsec) / 1e9;
}

TEST_F_TIMEOUT(cow, no_write_is_lost_between_concurrent_harvests, 120)
{
	unsigned int h, nr_harvests, i, p, lost = 0, unexplained = 0;
	unsigned int in_next = 0, total = 0, epochs[2] = { 0, 0 };
	__u32 count = 0, last_epoch;
	struct timespec start;
	unsigned char *explained;
	struct race *r;
	int ret = 0;

	if (!has_caps(self->caps, CAP(DIRTY_LOG) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	r = calloc(1, sizeof(*r));
	ASSERT_TRUE(!!r);
	r->harvests = calloc(R_HARVESTS + 3, sizeof(*r->harvests));
	explained = calloc(R_HARVESTS + 3, R_PAGES);
	ASSERT_TRUE(r->harvests && explained);
	r->fd = self->fd;
	map(_metadata, self->fd, ADDR, R_PAGES * PAGE, RW, FIXED | POPULATE);
	r->shadow = shadow(_metadata, self->fd, ADDR, R_HW_PAGES * PAGE);
	/* Start clean: harvest 0 is this one. */
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, ADDR,
			       R_PAGES * PAGE, r->harvests[0],
			       TORUSMM_LOG_CLEAR, &count));
	for (i = 0; i < 2; i++) {
		struct race_writer *w = &r->writers[i];

		w->race = r;
		w->through_shadow = i == 0;
		w->first_page = i ? R_HW_PAGES : 0;
		w->nr_pages = i ? R_SW_PAGES : R_HW_PAGES;
		w->records = calloc(R_RECORDS, sizeof(*w->records));
		ASSERT_TRUE(!!w->records);
		ASSERT_EQ(0, pthread_create(&w->thread, NULL, race_write, w));
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (h = 1; h <= R_HARVESTS && seconds_since(&start) < R_SECONDS;
	     h++) {
		ret = log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, ADDR,
				R_PAGES * PAGE, r->harvests[h],
				TORUSMM_LOG_CLEAR, &count);
		if (ret)
			break;
		__atomic_store_n(&r->epoch, h, __ATOMIC_SEQ_CST);
		usleep(500);	/* let the writers store in this epoch */
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(r->writers[i].thread, NULL);
	EXPECT_EQ(0, ret) TH_LOG("harvest %u: %s", h, strerror(-ret));
	/* Two more harvests after the writers stopped catch the last stores. */
	nr_harvests = h + 1;
	for (; h <= nr_harvests; h++) {
		ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, ADDR,
				       R_PAGES * PAGE, r->harvests[h],
				       TORUSMM_LOG_CLEAR, &count));
		__atomic_store_n(&r->epoch, h, __ATOMIC_SEQ_CST);
	}

	for (i = 0; i < 2; i++) {
		struct race_writer *w = &r->writers[i];
		unsigned int k;

		EXPECT_EQ(0, w->error) TH_LOG("TORUSMM_WRITE: %s",
					      strerror(-w->error));
		last_epoch = ~0u;
		for (k = 0; k < w->nr_records; k++) {
			struct race_record *rec = &w->records[k];
			unsigned int last = rec->after + 2 < nr_harvests ?
					    rec->after + 2 : nr_harvests;
			bool found = false;

			if (rec->before != last_epoch) {
				epochs[i]++;
				last_epoch = rec->before;
			}
			for (h = rec->before + 1; h <= last; h++) {
				explained[h * R_PAGES + rec->page] = 1;
				if (test_bit64(r->harvests[h], rec->page)) {
					found = true;
					in_next += h == rec->before + 1;
				}
			}
			if (!found && lost++ < 8)
				TH_LOG("%s store %u, page %u, epochs %u-%u: none",
				       w->through_shadow ? "shadow" : "WRITE",
				       k, rec->page, rec->before, rec->after);
		}
		total += w->nr_records;
	}
	for (h = 1; h <= nr_harvests; h++)
		for (p = 0; p < R_PAGES; p++)
			if (test_bit64(r->harvests[h], p) &&
			    !explained[h * R_PAGES + p] && unexplained++ < 8)
				TH_LOG("harvest %u: page %u, no store explains it",
				       h, p);
	TH_LOG("%u stores through the shadow in %u epochs, %u through WRITE in %u",
	       r->writers[0].nr_records, epochs[0], r->writers[1].nr_records,
	       epochs[1]);
	TH_LOG("%u harvests; %u of %u stores found in the harvest right after",
	       nr_harvests, in_next, total);
	EXPECT_EQ(0, lost) TH_LOG("stores no harvest reported");
	EXPECT_EQ(0, unexplained) TH_LOG("pages reported but not written");
	EXPECT_LT(20, nr_harvests) TH_LOG("too few harvests to mean much");
	EXPECT_LE(10, epochs[0]) TH_LOG("the shadow writer hardly ran");
	EXPECT_LE(10, epochs[1]) TH_LOG("the TORUSMM_WRITE writer hardly ran");
	for (i = 0; i < 2; i++)
		free(r->writers[i].records);
	munmap(r->shadow, R_HW_PAGES * PAGE);
	free(explained);
	free(r->harvests);
	free(r);
}

/* The access log. */

#define A_PAGES		128

TEST_F_TIMEOUT(cow, get_access_log_reports_exactly_the_pages_accessed, 30)
{
	static const int accessed[] = { 3, 5, 8, 64, 70, 90, 105, -1 };
	__u64 bitmap[LOG_WORDS(A_PAGES)], want[LOG_WORDS(A_PAGES)];
	static struct torusmm_pte before[A_PAGES], after[A_PAGES];
	__u32 n_before = A_PAGES, n_after = A_PAGES, count = 0, buf[4], i;
	struct torusmm_translate tr;
	__u32 *ps;

	if (!has_caps(self->caps, CAP(ACCESS_LOG) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	catch_faults();
	/* 0-99 populated (neither accessed nor dirty), 100-127 not yet. */
	map(_metadata, self->fd, ADDR, A_PAGES * PAGE, RW, FIXED);
	map(_metadata, self->fd, ADDR, 100 * PAGE, RW, FIXED | POPULATE);
	ps = shadow(_metadata, self->fd, ADDR, A_PAGES * PAGE);
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_ACCESS_LOG, ADDR,
			       A_PAGES * PAGE, bitmap, 0, &count));
	EXPECT_EQ(0, count) TH_LOG("populate sets no accessed bit");

	EXPECT_EQ(0, peek(word_at(ps, 3, 0)));
	EXPECT_EQ(0, peek(word_at(ps, 70, 9)));
	slurp(_metadata, self->fd, ADDR + 5 * PAGE, buf, sizeof(buf));
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + 90 * PAGE, USER, 0,
				       &tr));
	poke(word_at(ps, 8, 0), 8);
	write_word(_metadata, self->fd, ADDR + 64 * PAGE, 64);
	EXPECT_EQ(0, peek(word_at(ps, 105, 0)));	/* the zero frame */
	/* A pure look-up marks nothing. */
	ASSERT_EQ(0, torusmm_translate(self->fd, ADDR + 10 * PAGE, USER,
				       TORUSMM_TRANSLATE_PEEK, &tr));
	bitmap_of(want, LOG_WORDS(A_PAGES), accessed);
	ASSERT_EQ(0, torusmm_dump_ptes(self->fd, ADDR, A_PAGES * PAGE, before,
				       &n_before));

	memset(bitmap, 0xa5, sizeof(bitmap));
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_ACCESS_LOG, ADDR,
			       A_PAGES * PAGE, bitmap, 0, &count));
	EXPECT_EQ(7, count);
	EXPECT_EQ(0, bitmap_differs(_metadata, bitmap, want, A_PAGES,
				    "GET_ACCESS_LOG"));
	ASSERT_EQ(0, torusmm_dump_ptes(self->fd, ADDR, A_PAGES * PAGE, after,
				       &n_after));
	ASSERT_EQ(n_before, n_after);
	for (i = 0; i < n_after; i++)
		EXPECT_EQ(before[i].pte & ~P_A, after[i].pte)
			TH_LOG("the entry of %#x: accessed cleared, dirty kept",
			       after[i].addr);
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_ACCESS_LOG, ADDR,
			       A_PAGES * PAGE, bitmap, 0, &count));
	EXPECT_EQ(0, count) TH_LOG("a second call reports nothing new");
	if (self->caps[TORUSMM_CAP_DIRTY_LOG] == 1) {
		ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_DIRTY_LOG, ADDR,
				       A_PAGES * PAGE, bitmap, 0, &count));
		EXPECT_EQ(2, count) TH_LOG("the access log leaves dirty alone");
	}
	munmap(ps, A_PAGES * PAGE);
}

TEST_F_TIMEOUT(cow, the_next_access_after_get_access_log_marks_the_page_again,
	       30)
{
	__u64 bitmap[1];
	__u32 *ps, count = 0, buf[4];

	if (!has_caps(self->caps, CAP(ACCESS_LOG) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	catch_faults();
	map(_metadata, self->fd, ADDR, 8 * PAGE, RW, FIXED | POPULATE);
	ps = shadow(_metadata, self->fd, ADDR, 8 * PAGE);
	/* Hardware entries, read-only (1) and writable (2), and a read (4)... */
	EXPECT_EQ(0, peek(word_at(ps, 1, 0)));
	poke(word_at(ps, 2, 0), 2);
	slurp(_metadata, self->fd, ADDR + 4 * PAGE, buf, sizeof(buf));
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_ACCESS_LOG, ADDR,
			       8 * PAGE, bitmap, 0, &count));
	EXPECT_EQ(0x16ull, bitmap[0]);

	/* ...which are gone: each access below faults and marks the page. */
	EXPECT_EQ(0, peek(word_at(ps, 1, 1)));
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_ACCESS_LOG, ADDR,
			       8 * PAGE, bitmap, 0, &count));
	EXPECT_EQ(0x2ull, bitmap[0]) TH_LOG("a load through a read-only entry");
	EXPECT_EQ(2, peek(word_at(ps, 2, 0)));
	poke(word_at(ps, 2, 1), 3);
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_ACCESS_LOG, ADDR,
			       8 * PAGE, bitmap, 0, &count));
	EXPECT_EQ(0x4ull, bitmap[0]) TH_LOG("accesses through a writable entry");
	slurp(_metadata, self->fd, ADDR + 4 * PAGE, buf, sizeof(buf));
	ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_ACCESS_LOG, ADDR,
			       8 * PAGE, bitmap, 0, &count));
	EXPECT_EQ(0x10ull, bitmap[0]) TH_LOG("TORUSMM_READ");
	EXPECT_EQ(1, count);
	/* Several times over: every harvest re-arms the page. */
	for (count = 0; count < 5; count++) {
		__u32 n = 0;

		EXPECT_EQ(0, peek(word_at(ps, 7, count)));
		ASSERT_EQ(0, log_ioctl(self->fd, TORUSMM_GET_ACCESS_LOG, ADDR,
				       8 * PAGE, bitmap, 0, &n));
		EXPECT_EQ(0x80ull, bitmap[0]) TH_LOG("round %u", count);
	}
	munmap(ps, 8 * PAGE);
}

/*
 * Fault injection.  The module's fault points are fault_attrs in
 * /sys/kernel/debug/torusmm/fail_<kind>/.  "space N" with "interval 1",
 * "times 1" and "probability 100" fails exactly the Nth allocation of that
 * kind from now (should_fail() lets the first N - 1 through while space is
 * above 1), whereas "interval N" counts from a total the attribute keeps
 * across tests and cannot be reset.  "task-filter" with this process's
 * make-it-fail keeps the failure to this test.  "times" reads 0 once the
 * failure happened.  Every knob is put back as it was after each test.
 */
#define FAULT_DIR	"/sys/kernel/debug/torusmm/"
#define FI_MAX_NTH	64

static const char *const fault_sites[] = {
	"fail_frame", "fail_table", "fail_slab", "fail_tree",
};

#define NR_SITES	ARRAY_SIZE(fault_sites)
#define SITE_FRAME	0

/* In the order they are restored; probability goes last. */
static const char *const fault_knobs[] = {
	"interval", "times", "space", "verbose", "task-filter", "probability",
};

#define NR_KNOBS	ARRAY_SIZE(fault_knobs)

static char saved_knobs[NR_SITES][NR_KNOBS][32];
static char saved_make_it_fail[16];

static int knob(unsigned int site, const char *name, const char *value,
		char *out, size_t size)
{
	char path[128];

	snprintf(path, sizeof(path), FAULT_DIR "%s/%s", fault_sites[site],
		 name);
	return value ? write_file(path, value) : read_file(path, out, size);
}

static bool have_fault_points(void)
{
	char path[128];
	unsigned int site;

	for (site = 0; site < NR_SITES; site++) {
		snprintf(path, sizeof(path), FAULT_DIR "%s/space",
			 fault_sites[site]);
		if (access(path, W_OK))
			return false;
	}
	return !access("/proc/self/make-it-fail", W_OK);
}

/* Remember every knob; then make failures silent and this task's only. */
static int save_fault_points(void)
{
	unsigned int site, k;
	int ret;

	for (site = 0; site < NR_SITES; site++)
		for (k = 0; k < NR_KNOBS; k++) {
			ret = knob(site, fault_knobs[k], NULL,
				   saved_knobs[site][k],
				   sizeof(saved_knobs[site][k]));
			if (ret)
				return ret;
		}
	ret = read_file("/proc/self/make-it-fail", saved_make_it_fail,
			sizeof(saved_make_it_fail));
	if (ret)
		return ret;
	return write_file("/proc/self/make-it-fail", "1");
}

static void restore_fault_points(void)
{
	unsigned int site, k;

	for (site = 0; site < NR_SITES; site++) {
		knob(site, "probability", "0", NULL, 0);
		for (k = 0; k < NR_KNOBS; k++)
			knob(site, fault_knobs[k], saved_knobs[site][k], NULL,
			     0);
	}
	write_file("/proc/self/make-it-fail", saved_make_it_fail);
}

/* Fail the @nth allocation of @site from now on, once, in this task. */
static int arm_fault(unsigned int site, unsigned int nth)
{
	char value[16];
	int ret;

	snprintf(value, sizeof(value), "%u", nth);
	ret = knob(site, "probability", "0", NULL, 0);
	if (!ret)
		ret = knob(site, "verbose", "0", NULL, 0);
	if (!ret)
		ret = knob(site, "interval", "1", NULL, 0);
	if (!ret)
		ret = knob(site, "times", "1", NULL, 0);
	if (!ret)
		ret = knob(site, "task-filter", "Y", NULL, 0);
	if (!ret)
		ret = knob(site, "space", value, NULL, 0);
	if (!ret)
		ret = knob(site, "probability", "100", NULL, 0);
	return ret;
}

/* Stop failing.  Return: whether the armed failure happened. */
static bool disarm_fault(unsigned int site)
{
	char times[32] = "";

	knob(site, "probability", "0", NULL, 0);
	knob(site, "times", NULL, times, sizeof(times));
	knob(site, "space", "0", NULL, 0);
	return !strcmp(times, "0");
}

#define NO_FAULT_POINTS	"no fault points in /sys/kernel/debug/torusmm (a kernel without CONFIG_FAULT_INJECTION_DEBUG_FS, such as the stock one, or not root)"

/* What a fault-injection case sets up, calls and checks. */
struct fi_state {
	int fd[3];		/* the spaces whose state must not change */
	unsigned int nr_fds;
	int target;		/* the space the call acts on */
	__u32 *shadow;		/* of the target, at ADDR */
	size_t shadow_len;
	int made;		/* a space the call made */
	__u64 bitmap[2];
	__u32 count;
	__u32 value;
	__u32 frame;		/* the target's page 0 frame before the call */
};

struct fi_case {
	const char *name;
	void (*setup)(struct __test_metadata *_metadata,
		      struct _test_data_cow *self, struct fi_state *st);
	/* Return: 0, -errno, or the signal a shadow access raised. */
	int (*call)(struct fi_state *st);
	int failure;
	void (*check)(struct __test_metadata *_metadata,
		      struct fi_state *st);
	bool needs_no_frame;	/* fail_frame must never be reached */
};

static const char *describe(int ret, char *buf, size_t size)
{
	if (ret > 0)
		snprintf(buf, size, "signal %d (%s)", ret, outcome(ret));
	else
		torusmm_strret(ret, buf, size);
	return buf;
}

/* A space with pages 0-1 written, the target: its clone, sharing them. */
static void fi_setup_shared(struct __test_metadata *_metadata,
			    struct _test_data_cow *self, struct fi_state *st)
{
	__u32 loaded = 0;

	st->fd[0] = new_space(_metadata, self, 0);
	map(_metadata, st->fd[0], ADDR, 4 * PAGE, RW, FIXED);
	fill_pattern(_metadata, st->fd[0], ADDR, 0);
	fill_pattern(_metadata, st->fd[0], ADDR, 1);
	st->fd[1] = clone_of(_metadata, st->fd[0]);
	st->nr_fds = 2;
	st->target = st->fd[1];
	st->shadow_len = 4 * PAGE;
	st->shadow = shadow(_metadata, st->target, ADDR, st->shadow_len);
	EXPECT_EQ(0, try_load(word_at(st->shadow, 0, 0), &loaded, NULL));
	st->frame = frame_of(pte_of(_metadata, st->target, ADDR));
}

/* The target's page 0 maps the zero frame, read through the shadow. */
static void fi_setup_zero(struct __test_metadata *_metadata,
			  struct _test_data_cow *self, struct fi_state *st)
{
	__u32 loaded = 1;

	st->fd[0] = new_space(_metadata, self, 0);
	st->nr_fds = 1;
	st->target = st->fd[0];
	map(_metadata, st->target, ADDR, 4 * PAGE, RW, FIXED);
	fill_pattern(_metadata, st->target, ADDR, 1);
	st->shadow_len = 4 * PAGE;
	st->shadow = shadow(_metadata, st->target, ADDR, st->shadow_len);
	EXPECT_EQ(0, try_load(word_at(st->shadow, 0, 0), &loaded, NULL));
	EXPECT_EQ(0, loaded);
	st->frame = frame_of(pte_of(_metadata, st->target, ADDR));
	EXPECT_EQ(ZERO_FRAME, st->frame);
}

/* The target's pages were shared with a clone that is gone. */
static void fi_setup_unshared(struct __test_metadata *_metadata,
			      struct _test_data_cow *self,
			      struct fi_state *st)
{
	__u32 loaded = 0;

	st->fd[0] = new_space(_metadata, self, 0);
	st->nr_fds = 1;
	st->target = st->fd[0];
	map(_metadata, st->target, ADDR, 4 * PAGE, RW, FIXED);
	fill_pattern(_metadata, st->target, ADDR, 0);
	close(clone_of(_metadata, st->target));
	st->shadow_len = 4 * PAGE;
	st->shadow = shadow(_metadata, st->target, ADDR, st->shadow_len);
	EXPECT_EQ(0, try_load(word_at(st->shadow, 0, 0), &loaded, NULL));
	st->frame = frame_of(pte_of(_metadata, st->target, ADDR));
}

static int fi_write(struct fi_state *st)
{
	struct torusmm_rw rw;

	st->value = tag(9, 1);
	return torusmm_write(st->target, ADDR, &st->value, sizeof(st->value),
			     USER, &rw);
}

static int fi_translate(struct fi_state *st)
{
	struct torusmm_translate tr;

	st->value = 0;
	return torusmm_translate(st->target, ADDR, WRITE | USER, 0, &tr);
}

static int fi_store(struct fi_state *st)
{
	st->value = tag(9, 2);
	return try_store(word_at(st->shadow, 0, 0), st->value, NULL);
}

/* After a write that got through: the target alone has the new bytes. */
static void fi_check_written(struct __test_metadata *_metadata,
			     struct fi_state *st)
{
	__u32 pte = pte_of(_metadata, st->target, ADDR);
	__u32 old = st->frame == ZERO_FRAME ? 0 : pattern(0, 0);

	EXPECT_EQ(P_W, pte & (P_W | P_COW));
	EXPECT_EQ(st->value ? st->value : old,
		  read_word(_metadata, st->target, ADDR));
	EXPECT_EQ(st->frame == ZERO_FRAME ? 0 : pattern(0, 1),
		  read_word(_metadata, st->target, ADDR + 4));
	if (st->nr_fds > 1) {
		EXPECT_NE(st->frame, frame_of(pte)) TH_LOG("a copy");
		EXPECT_EQ(old, read_word(_metadata, st->fd[0], ADDR));
	} else if (st->frame != ZERO_FRAME) {
		EXPECT_EQ(st->frame, frame_of(pte)) TH_LOG("the same frame");
	} else {
		EXPECT_NE(ZERO_FRAME, frame_of(pte)) TH_LOG("a frame of its own");
	}
}

/*
 * A space to clone: pages 0, 1 and 4 written, 2 the zero frame, 3 written
 * and PROT_NONE, 5 in a second table; shared with a clone already, then
 * pages 4 and 5 rewritten in place or copied; its shadow holds a writable
 * entry for page 0.
 */
static void fi_setup_clone(struct __test_metadata *_metadata,
			   struct _test_data_cow *self, struct fi_state *st)
{
	struct torusmm_translate tr;

	st->fd[0] = new_space(_metadata, self, 0);
	st->target = st->fd[0];
	map(_metadata, st->target, ADDR, 5 * PAGE, RW, FIXED);
	map(_metadata, st->target, ADDR + 0x800000, PAGE, RW, FIXED);
	fill_pattern(_metadata, st->target, ADDR, 0);
	fill_pattern(_metadata, st->target, ADDR, 1);
	fill_pattern(_metadata, st->target, ADDR, 3);
	fill_pattern(_metadata, st->target, ADDR, 4);
	write_word(_metadata, st->target, ADDR + 0x800000, 5);
	if (self->caps[TORUSMM_CAP_ZERO_FRAME] == 1)
		ASSERT_EQ(0, torusmm_translate(st->target, ADDR + 2 * PAGE,
					       USER, 0, &tr));
	ASSERT_EQ(0, torusmm_mprotect(st->target, ADDR + 3 * PAGE, PAGE,
				      TORUSMM_PROT_NONE));
	st->fd[1] = clone_of(_metadata, st->target);
	st->nr_fds = 2;
	write_word(_metadata, st->target, ADDR + 4 * PAGE, 4);
	write_word(_metadata, st->target, ADDR + 0x800000, 6);
	st->shadow_len = 4 * PAGE;
	st->shadow = shadow(_metadata, st->target, ADDR, st->shadow_len);
	poke(word_at(st->shadow, 0, 1), tag(9, 0));
}

static int fi_clone(struct fi_state *st)
{
	int ret = torusmm_clone(st->target);

	if (ret < 0)
		return ret;
	st->made = ret;
	return 0;
}

static void fi_check_clone(struct __test_metadata *_metadata,
			   struct fi_state *st)
{
	struct torusmm_pte src[8], dst[8];
	__u32 nr_src = 8, nr_dst = 8, i;

	ASSERT_EQ(0, torusmm_dump_ptes(st->target, 0, 0, src, &nr_src));
	ASSERT_EQ(0, torusmm_dump_ptes(st->made, 0, 0, dst, &nr_dst));
	ASSERT_EQ(nr_src, nr_dst);
	for (i = 0; i < nr_src; i++) {
		EXPECT_EQ(src[i].addr, dst[i].addr);
		EXPECT_EQ(frame_of(src[i].pte), frame_of(dst[i].pte));
		EXPECT_EQ(P_COW, src[i].pte & (P_COW | P_W));
	}
	EXPECT_EQ(tag(9, 0), read_word(_metadata, st->made, ADDR + 4));
	EXPECT_EQ(6, read_word(_metadata, st->made, ADDR + 0x800000));
}

/*
 * 128 populated pages: 1 and 70 written through the shadow (writable
 * entries), 3 loaded through it, 100 written through TORUSMM_WRITE.
 */
static void fi_setup_logs(struct __test_metadata *_metadata,
			  struct _test_data_cow *self, struct fi_state *st)
{
	st->fd[0] = new_space(_metadata, self, 0);
	st->nr_fds = 1;
	st->target = st->fd[0];
	map(_metadata, st->target, ADDR, 128 * PAGE, RW, FIXED | POPULATE);
	st->shadow_len = 128 * PAGE;
	st->shadow = shadow(_metadata, st->target, ADDR, st->shadow_len);
	poke(word_at(st->shadow, 1, 0), 1);
	poke(word_at(st->shadow, 70, 0), 70);
	EXPECT_EQ(0, peek(word_at(st->shadow, 3, 0)));
	write_word(_metadata, st->target, ADDR + 100 * PAGE, 100);
}

static int fi_get_dirty_log(struct fi_state *st)
{
	return log_ioctl(st->target, TORUSMM_GET_DIRTY_LOG, ADDR, 128 * PAGE,
			 st->bitmap, TORUSMM_LOG_CLEAR, &st->count);
}

static int fi_clear_dirty_log(struct fi_state *st)
{
	memset(st->bitmap, 0xff, sizeof(st->bitmap));
	return log_ioctl(st->target, TORUSMM_CLEAR_DIRTY_LOG, ADDR,
			 128 * PAGE, st->bitmap, 0, &st->count);
}

static int fi_get_access_log(struct fi_state *st)
{
	return log_ioctl(st->target, TORUSMM_GET_ACCESS_LOG, ADDR, 128 * PAGE,
			 st->bitmap, 0, &st->count);
}

static void fi_check_dirty(struct __test_metadata *_metadata,
			   struct fi_state *st)
{
	EXPECT_EQ(3, st->count);
	EXPECT_EQ(1ull << 1, st->bitmap[0]);
	EXPECT_EQ(1ull << (70 - 64) | 1ull << (100 - 64), st->bitmap[1]);
	EXPECT_EQ(0, pte_of(_metadata, st->target, ADDR + PAGE) & P_D);
}

static void fi_check_cleared(struct __test_metadata *_metadata,
			     struct fi_state *st)
{
	EXPECT_EQ(3, st->count);
	EXPECT_EQ(0, pte_of(_metadata, st->target, ADDR + 70 * PAGE) & P_D);
}

static void fi_check_accessed(struct __test_metadata *_metadata,
			      struct fi_state *st)
{
	EXPECT_EQ(4, st->count);
	EXPECT_EQ(1ull << 1 | 1ull << 3, st->bitmap[0]);
	EXPECT_EQ(1ull << (70 - 64) | 1ull << (100 - 64), st->bitmap[1]);
	EXPECT_EQ(0, pte_of(_metadata, st->target, ADDR + 3 * PAGE) & P_A);
}

/*
 * For each kind of allocation, fail the first, the second, ... until the
 * call gets through without reaching the armed failure.  Each failure must
 * be the case's error, with every space and the torus as before; the call
 * that gets through must have done its job; and once the case's spaces are
 * closed, the torus must be as it was before the case.
 */
static void fail_each_allocation(struct __test_metadata *_metadata,
				 struct _test_data_cow *self,
				 const struct fi_case *c)
{
	struct space_snapshot *before, *now;
	struct torus_counts base, counts, counts_now;
	unsigned int site, n, i, failed[NR_SITES];
	struct fi_state st;
	char buf[96], what[160];
	bool fired = false;
	int ret = 0;

	before = calloc(3, sizeof(*before));
	now = calloc(3, sizeof(*now));
	ASSERT_TRUE(before && now);
	for (site = 0; site < NR_SITES; site++) {
		base = torus_counts(_metadata, self->dev, self->torus);
		memset(&st, 0, sizeof(st));
		st.made = -1;
		c->setup(_metadata, self, &st);
		for (n = 1; n <= FI_MAX_NTH; n++) {
			for (i = 0; i < st.nr_fds; i++)
				snapshot_space(_metadata, st.fd[i], &before[i]);
			counts = torus_counts(_metadata, self->dev,
					      self->torus);
			ASSERT_EQ(0, arm_fault(site, n));
			ret = c->call(&st);
			fired = disarm_fault(site);
			if (!fired)
				break;
			EXPECT_FALSE(c->needs_no_frame && site == SITE_FRAME)
				TH_LOG("%s took a data frame (allocation %u)",
				       c->name, n);
			EXPECT_EQ(c->failure, ret)
				TH_LOG("%s, %s failing its allocation %u: %s",
				       c->name, fault_sites[site], n,
				       describe(ret, buf, sizeof(buf)));
			if (ret == 0 && st.made >= 0) {
				close(st.made);
				st.made = -1;
			}
			for (i = 0; i < st.nr_fds; i++) {
				snapshot_space(_metadata, st.fd[i], &now[i]);
				snprintf(what, sizeof(what),
					 "%s, %s failing allocation %u, space %u",
					 c->name, fault_sites[site], n, i);
				EXPECT_TRUE(same_space(_metadata, &before[i],
						       &now[i], what));
			}
			counts_now = torus_counts(_metadata, self->dev,
						  self->torus);
			snprintf(what, sizeof(what),
				 "%s, %s failing allocation %u", c->name,
				 fault_sites[site], n);
			EXPECT_TRUE(same_torus(_metadata, &counts, &counts_now,
					       what));
			if (ret == 0)
				break;
		}
		EXPECT_FALSE(fired) TH_LOG("%s: still failing after %u allocations of %s",
					   c->name, FI_MAX_NTH,
					   fault_sites[site]);
		if (!fired) {
			EXPECT_EQ(0, ret) TH_LOG("%s with %s armed past its allocations: %s",
						 c->name, fault_sites[site],
						 describe(ret, buf,
							  sizeof(buf)));
			if (!ret)
				c->check(_metadata, &st);
		}
		failed[site] = n - 1;
		if (st.shadow)
			munmap(st.shadow, st.shadow_len);
		if (st.made >= 0)
			close(st.made);
		for (i = 0; i < st.nr_fds; i++)
			close(st.fd[i]);
		counts_now = torus_counts(_metadata, self->dev, self->torus);
		snprintf(what, sizeof(what), "%s, %s: after the spaces closed",
			 c->name, fault_sites[site]);
		EXPECT_TRUE(same_torus(_metadata, &base, &counts_now, what));
	}
	TH_LOG("%s: allocations failed: frame %u, table %u, slab %u, tree %u",
	       c->name, failed[0], failed[1], failed[2], failed[3]);
	free(before);
	free(now);
}

static const struct fi_case cow_break_cases[] = {
	{ "TORUSMM_WRITE to a shared page", fi_setup_shared, fi_write,
	  -ENOMEM, fi_check_written },
	{ "a TORUSMM_TRANSLATE write of a shared page", fi_setup_shared,
	  fi_translate, -ENOMEM, fi_check_written },
	{ "a shadow store to a shared page", fi_setup_shared, fi_store,
	  SIGBUS, fi_check_written },
	{ "TORUSMM_WRITE to the zero frame", fi_setup_zero, fi_write,
	  -ENOMEM, fi_check_written },
	{ "a shadow store to the zero frame", fi_setup_zero, fi_store,
	  SIGBUS, fi_check_written },
};

static const struct fi_case reuse_cases[] = {
	{ "TORUSMM_WRITE to a page whose sharers are gone",
	  fi_setup_unshared, fi_write, -ENOMEM, fi_check_written, true },
	{ "a shadow store to a page whose sharers are gone",
	  fi_setup_unshared, fi_store, SIGBUS, fi_check_written, true },
};

static const struct fi_case clone_case = {
	"TORUSMM_CLONE", fi_setup_clone, fi_clone, -ENOMEM, fi_check_clone,
};

static const struct fi_case harvest_cases[] = {
	{ "GET_DIRTY_LOG with CLEAR", fi_setup_logs, fi_get_dirty_log,
	  -ENOMEM, fi_check_dirty },
	{ "CLEAR_DIRTY_LOG", fi_setup_logs, fi_clear_dirty_log, -ENOMEM,
	  fi_check_cleared },
	{ "GET_ACCESS_LOG", fi_setup_logs, fi_get_access_log, -ENOMEM,
	  fi_check_accessed },
};

TEST_F_TIMEOUT(cow, a_cow_break_fails_cleanly_at_every_allocation, 120)
{
	unsigned int i;

	if (!has_caps(self->caps, CAP(COW_CLONE) | CAP(ZERO_FRAME) |
		      CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	if (!have_fault_points())
		SKIP(return, NO_FAULT_POINTS);
	self->knobs_saved = true;
	ASSERT_EQ(0, save_fault_points());
	catch_faults();
	for (i = 0; i < ARRAY_SIZE(cow_break_cases); i++)
		fail_each_allocation(_metadata, self, &cow_break_cases[i]);
}

TEST_F_TIMEOUT(cow, a_write_to_a_page_whose_sharers_are_gone_allocates_nothing,
	       60)
{
	unsigned int i;

	if (!has_caps(self->caps, CAP(COW_CLONE) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	if (!have_fault_points())
		SKIP(return, NO_FAULT_POINTS);
	self->knobs_saved = true;
	ASSERT_EQ(0, save_fault_points());
	catch_faults();
	for (i = 0; i < ARRAY_SIZE(reuse_cases); i++)
		fail_each_allocation(_metadata, self, &reuse_cases[i]);
}

TEST_F_TIMEOUT(cow, a_clone_fails_cleanly_at_every_allocation, 120)
{
	if (!has_caps(self->caps, CAP(COW_CLONE) | CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	if (!have_fault_points())
		SKIP(return, NO_FAULT_POINTS);
	self->knobs_saved = true;
	ASSERT_EQ(0, save_fault_points());
	catch_faults();
	fail_each_allocation(_metadata, self, &clone_case);
}

TEST_F_TIMEOUT(cow, a_harvest_fails_cleanly_at_every_allocation, 120)
{
	unsigned int i;

	if (!has_caps(self->caps, CAP(DIRTY_LOG) | CAP(ACCESS_LOG) |
		      CAP(SHADOW), &self->why))
		SKIP(return, "%s", self->why);
	if (!have_fault_points())
		SKIP(return, NO_FAULT_POINTS);
	self->knobs_saved = true;
	ASSERT_EQ(0, save_fault_points());
	catch_faults();
	for (i = 0; i < ARRAY_SIZE(harvest_cases); i++)
		fail_each_allocation(_metadata, self, &harvest_cases[i]);
}

/*
 * Bad input to the log ioctls: one variant per row.  The fixture's space has
 * dirty and accessed pages in [ADDR, ADDR + 2 units), some with writable
 * shadow entries; after the row's call, the regions, the PTEs (accessed and
 * dirty bits included), the statistics and the torus are as before, and a
 * valid bitmap is untouched.  The caller's memory for the pointers: page 0
 * read-write (a valid bitmap), page 1 unmapped, page 2 read-only.
 */
enum log_ptr { LP_VALID, LP_NULL, LP_UNMAPPED, LP_HALF_UNMAPPED,
	       LP_READ_ONLY };

FIXTURE(log_bad_input) {
	int dev;
	int fd;
	__u32 torus;
	int caps[TORUSMM_CAP_ACCESS_LOG + 1];
	const char *why;
	__u32 *shadow;
	char *mem;
	struct space_snapshot *before, *after;
};

FIXTURE_VARIANT(log_bad_input) {
	unsigned long cmd;
	__u64 addr;
	__u64 length;
	__u32 flags;
	enum log_ptr bitmap;
	enum log_ptr arg;
	bool on_device;
	int error;
};

FIXTURE_SETUP(log_bad_input)
{
	struct torusmm_space_stats stats;
	unsigned int cap, p;

	self->fd = -1;
	self->dev = torusmm_open();
	ASSERT_LE(0, self->dev);
	for (cap = 1; cap < ARRAY_SIZE(self->caps); cap++)
		self->caps[cap] = torusmm_check_extension(self->dev, cap);
	self->fd = torusmm_create_space(self->dev, TORUSMM_TORUS_ANY,
					TORUSMM_NO_QUOTA);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, torusmm_stats(self->fd, &stats));
	self->torus = stats.torus;
	self->before = calloc(1, sizeof(*self->before));
	self->after = calloc(1, sizeof(*self->after));
	ASSERT_TRUE(self->before && self->after);

	map(_metadata, self->fd, ADDR, 2 * UNIT, RW, FIXED | POPULATE);
	if (self->caps[TORUSMM_CAP_SHADOW] == 1) {
		self->shadow = shadow(_metadata, self->fd, ADDR, 2 * UNIT);
		for (p = 0; p < 128; p += 5)
			poke(word_at(self->shadow, p, 0), p);
		for (p = 2; p < 128; p += 7)
			(void)peek(word_at(self->shadow, p, 0));
	}
	write_word(_metadata, self->fd, ADDR + 3 * PAGE, 3);
	write_word(_metadata, self->fd, ADDR + 127 * PAGE, 127);

	self->mem = mmap(NULL, 3 * PAGE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	ASSERT_TRUE(self->mem != MAP_FAILED);
	ASSERT_EQ(0, munmap(self->mem + PAGE, PAGE));
	memset(self->mem, 0xa5, PAGE);
	memset(self->mem + 2 * PAGE, 0x5a, PAGE);
}

FIXTURE_TEARDOWN(log_bad_input)
{
	if (self->shadow)
		munmap(self->shadow, 2 * UNIT);
	if (self->fd >= 0)
		close(self->fd);
	if (self->dev >= 0)
		close(self->dev);
	free(self->before);
	free(self->after);
}

/* Where a pointer of the row points. */
static void *log_pointer(char *mem, enum log_ptr ptr)
{
	switch (ptr) {
	case LP_VALID:
		return mem;
	case LP_NULL:
		return NULL;
	case LP_UNMAPPED:
		return mem + PAGE;
	case LP_HALF_UNMAPPED:
		return mem + PAGE - sizeof(__u64);	/* word 1 is unmapped */
	case LP_READ_ONLY:
		return mem + 2 * PAGE;
	}
	return NULL;
}

TEST_F_TIMEOUT(log_bad_input, fails_and_changes_nothing, 30)
{
	struct torusmm_log req = {
		.addr = variant->addr,
		.length = variant->length,
		.flags = variant->flags,
	};
	struct torus_counts counts, counts_now;
	unsigned int cap = variant->cmd == TORUSMM_GET_ACCESS_LOG ?
			   TORUSMM_CAP_ACCESS_LOG : TORUSMM_CAP_DIRTY_LOG;
	void *argp = &req;
	unsigned int i;
	int ret;

	if (!has_caps(self->caps, 1u << cap, &self->why))
		SKIP(return, "%s", self->why);
	req.bitmap = torusmm_ptr(log_pointer(self->mem, variant->bitmap));
	if (variant->arg != LP_VALID) {
		argp = log_pointer(self->mem, variant->arg);
		if (variant->arg == LP_READ_ONLY) {
			memcpy(argp, &req, sizeof(req));
			ASSERT_EQ(0, mprotect(argp, PAGE, PROT_READ));
		}
	} else if (variant->bitmap == LP_READ_ONLY) {
		ASSERT_EQ(0, mprotect(self->mem + 2 * PAGE, PAGE, PROT_READ));
	}
	snapshot_space(_metadata, self->fd, self->before);
	counts = torus_counts(_metadata, self->dev, self->torus);

	ret = torusmm_ioctl(variant->on_device ? self->dev : self->fd,
			    variant->cmd, argp);
	EXPECT_EQ(-variant->error, ret) TH_LOG("got %s", strerror(-ret));

	snapshot_space(_metadata, self->fd, self->after);
	counts_now = torus_counts(_metadata, self->dev, self->torus);
	EXPECT_TRUE(same_space(_metadata, self->before, self->after,
			       "the space"));
	EXPECT_TRUE(same_torus(_metadata, &counts, &counts_now, "the torus"));
	for (i = 0; i < PAGE && (unsigned char)self->mem[i] == 0xa5; i++)
		;
	EXPECT_EQ(PAGE, i) TH_LOG("byte %u of the caller's bitmap page", i);
}

/* TORUSMM_GET_DIRTY_LOG: the range, the flags, the pointers. */
FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_unaligned_addr_einval) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR + 8, .length = UNIT,
	.flags = TORUSMM_LOG_CLEAR, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_unaligned_length_einval) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = UNIT - 8,
	.flags = TORUSMM_LOG_CLEAR, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_zero_length_einval) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = 0,
	.flags = TORUSMM_LOG_CLEAR, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_addr_at_4g_einval) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = SZ_4G, .length = UNIT,
	.flags = TORUSMM_LOG_CLEAR, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_range_past_4g_einval) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = SZ_4G - UNIT, .length = 2 * UNIT,
	.flags = TORUSMM_LOG_CLEAR, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_length_above_4g_einval) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = 0, .length = SZ_4G + UNIT,
	.flags = TORUSMM_LOG_CLEAR, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_addr_wraps_einval) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = 0ull - UNIT, .length = 2 * UNIT,
	.flags = TORUSMM_LOG_CLEAR, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_length_wraps_einval) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR,
	.length = 0ull - ADDR + UNIT, .flags = TORUSMM_LOG_CLEAR,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_flag_bit_31_einval) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = UNIT,
	.flags = TORUSMM_LOG_CLEAR | 0x80000000u, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_unknown_flag_einval) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = UNIT,
	.flags = TORUSMM_LOG_CLEAR | 2, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_bitmap_null_efault) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.flags = TORUSMM_LOG_CLEAR, .bitmap = LP_NULL, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_bitmap_unmapped_efault) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.flags = TORUSMM_LOG_CLEAR, .bitmap = LP_UNMAPPED, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_bitmap_half_unmapped_efault) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.flags = TORUSMM_LOG_CLEAR, .bitmap = LP_HALF_UNMAPPED, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_bitmap_read_only_efault) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.flags = TORUSMM_LOG_CLEAR, .bitmap = LP_READ_ONLY, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_no_clear_bitmap_read_only_efault) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.bitmap = LP_READ_ONLY, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_arg_null_efault) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.flags = TORUSMM_LOG_CLEAR, .arg = LP_NULL, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_arg_unmapped_efault) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.flags = TORUSMM_LOG_CLEAR, .arg = LP_UNMAPPED, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_arg_read_only_efault) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.flags = TORUSMM_LOG_CLEAR, .arg = LP_READ_ONLY, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_dirty_on_the_device_enotty) {
	.cmd = TORUSMM_GET_DIRTY_LOG, .addr = ADDR, .length = UNIT,
	.flags = TORUSMM_LOG_CLEAR, .on_device = true, .error = ENOTTY,
};

/* TORUSMM_CLEAR_DIRTY_LOG: the range, the flags, the pointers. */
FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_unaligned_addr_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR + 8, .length = UNIT,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_unaligned_length_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR, .length = UNIT - 8,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_zero_length_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR, .length = 0,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_addr_at_4g_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = SZ_4G, .length = UNIT,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_range_past_4g_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = SZ_4G - UNIT,
	.length = 2 * UNIT, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_length_above_4g_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = 0, .length = SZ_4G + UNIT,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_addr_wraps_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = 0ull - UNIT, .length = 2 * UNIT,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_length_wraps_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR,
	.length = 0ull - ADDR + UNIT, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_last_page_before_4g_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = SZ_4G - PAGE, .length = PAGE,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_last_unit_but_a_page_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = SZ_4G - UNIT,
	.length = UNIT - PAGE, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_last_unit_and_a_page_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = SZ_4G - UNIT - PAGE,
	.length = UNIT + PAGE, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_one_unit_past_4g_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = SZ_4G - UNIT,
	.length = UNIT + PAGE, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_flag_bit_31_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR, .length = UNIT,
	.flags = 0x80000000u, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_clear_flag_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR, .length = UNIT,
	.flags = TORUSMM_LOG_CLEAR, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_addr_not_in_units_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR + PAGE, .length = UNIT,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_length_not_in_units_einval) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR, .length = 3 * PAGE,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_bitmap_null_efault) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.bitmap = LP_NULL, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_bitmap_unmapped_efault) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.bitmap = LP_UNMAPPED, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_bitmap_half_unmapped_efault) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.bitmap = LP_HALF_UNMAPPED, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_arg_null_efault) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.arg = LP_NULL, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_arg_unmapped_efault) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.arg = LP_UNMAPPED, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_arg_read_only_efault) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR, .length = 2 * UNIT,
	.arg = LP_READ_ONLY, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, clear_dirty_on_the_device_enotty) {
	.cmd = TORUSMM_CLEAR_DIRTY_LOG, .addr = ADDR, .length = UNIT,
	.on_device = true, .error = ENOTTY,
};

/* TORUSMM_GET_ACCESS_LOG: the range, the flags, the pointers. */
FIXTURE_VARIANT_ADD(log_bad_input, get_access_unaligned_addr_einval) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR + 8, .length = UNIT,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_unaligned_length_einval) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR, .length = UNIT - 8,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_zero_length_einval) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR, .length = 0,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_addr_at_4g_einval) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = SZ_4G, .length = UNIT,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_range_past_4g_einval) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = SZ_4G - UNIT, .length = 2 * UNIT,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_length_above_4g_einval) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = 0, .length = SZ_4G + UNIT,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_addr_wraps_einval) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = 0ull - UNIT, .length = 2 * UNIT,
	.error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_length_wraps_einval) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR,
	.length = 0ull - ADDR + UNIT, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_flag_bit_31_einval) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR, .length = UNIT,
	.flags = 0x80000000u, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_clear_flag_einval) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR, .length = UNIT,
	.flags = TORUSMM_LOG_CLEAR, .error = EINVAL,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_bitmap_null_efault) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR, .length = 2 * UNIT,
	.bitmap = LP_NULL, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_bitmap_unmapped_efault) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR, .length = 2 * UNIT,
	.bitmap = LP_UNMAPPED, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_bitmap_half_unmapped_efault) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR, .length = 2 * UNIT,
	.bitmap = LP_HALF_UNMAPPED, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_bitmap_read_only_efault) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR, .length = 2 * UNIT,
	.bitmap = LP_READ_ONLY, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_arg_null_efault) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR, .length = 2 * UNIT,
	.arg = LP_NULL, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_arg_unmapped_efault) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR, .length = 2 * UNIT,
	.arg = LP_UNMAPPED, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_arg_read_only_efault) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR, .length = 2 * UNIT,
	.arg = LP_READ_ONLY, .error = EFAULT,
};

FIXTURE_VARIANT_ADD(log_bad_input, get_access_on_the_device_enotty) {
	.cmd = TORUSMM_GET_ACCESS_LOG, .addr = ADDR, .length = UNIT,
	.on_device = true, .error = ENOTTY,
};

TEST_HARNESS_MAIN
