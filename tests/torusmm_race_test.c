// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm selftests: the shadow never grants a write that the software
 * tables took away while the write was being approved.
 *
 * A store to a page the shadow maps read-only goes through pfn_mkwrite: the
 * software MMU approves the write (and sets dirty) under the space's lock,
 * and the hardware entry becomes writable.  If the lock dropped between the
 * two, an ioctl could take write away in the gap, and a load could map the
 * page read-only again exactly as it was, so that the kernel's pte_same()
 * check would pass and the stale approval would go live.  Each test parks
 * the store in that gap, at the park point of pfn_mkwrite (test_hooks.c,
 * built with TORUSMM_TEST_HOOKS=1), runs the ioctl and the load there, lets
 * the store go, and checks what only a stale grant could break:
 *  - after a dirty harvest with clear, a later store is in the next harvest;
 *  - after a clone, the clone does not see the source's store;
 *  - after an mprotect to read-only, the store faults and changes nothing.
 * Scheduling plays no part: the test waits until the store is parked.
 *
 * Making the entry writable in pfn_mkwrite itself also saves a fault: a
 * load then a store to a new page (or a copy-on-write one) takes two
 * hardware faults, as on anonymous memory, not three.  The kernel's own
 * count of this thread's minor faults says so.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "kselftest_harness.h"
#include "libtorusmm.h"
#include "torusmm_fault.h"
#include "torusmm_query.h"
#include "torusmm_test.h"

#define PARK_FILE	"/sys/kernel/debug/torusmm/park_mkwrite"
#define PARK_IDLE	0
#define PARK_ARMED	1
#define PARK_PARKED	2

/* What the page holds before the race, what the parked store writes. */
#define OLD_VALUE	0x0ddba11u
#define NEW_VALUE	0xc0ffee1u
#define LATER_VALUE	0xfacade1u

/* The state of the park point, or -errno. */
static int park_get(void)
{
	char text[8] = "";
	int fd, n;

	fd = open(PARK_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	return n > 0 ? atoi(text) : -EIO;
}

/* Arm (1) or release (0) the park point.  Return: 0 or -errno. */
static int park_set(int value)
{
	char text = value ? '1' : '0';
	int fd, ret = 0;

	fd = open(PARK_FILE, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, &text, 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

/* Wait, at most 10 s, until a thread is parked.  Return: true if one is. */
static bool park_wait(void)
{
	const struct timespec tick = { .tv_nsec = 1000000 };
	int i;

	for (i = 0; i < 10000; i++) {
		if (park_get() == PARK_PARKED)
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

/* The store that parks, made by a thread of its own. */
struct parked_store {
	__u32 *p;
	__u32 value;
	int signo;		/* 0: it completed, else the signal */
};

static void *parked_store_thread(void *arg)
{
	struct parked_store *store = arg;

	store->signo = try_store(store->p, store->value, NULL);
	return NULL;
}

/* GET_DIRTY_LOG of one page.  Return: its bit, or -errno. */
static int dirty_bit(int fd, __u64 addr, bool clear)
{
	__u64 bitmap = 0;
	struct torusmm_log log = {
		.addr = addr,
		.length = PAGE,
		.bitmap = torusmm_ptr(&bitmap),
		.flags = clear ? TORUSMM_LOG_CLEAR : 0,
	};
	int ret = torusmm_ioctl(fd, TORUSMM_GET_DIRTY_LOG, &log);

	return ret ? ret : (int)(bitmap & 1);
}

/* The word at @addr of a space, read by the software MMU. */
static __u32 word_of(struct __test_metadata *_metadata, int fd, __u64 addr)
{
	struct torusmm_rw out;
	__u32 value = 0;

	ASSERT_EQ(0, torusmm_read(fd, addr, &value, sizeof(value), USER, &out));
	return value;
}

FIXTURE(race) {
	int dev;
	int fd;
	__u64 addr;
	__u32 *win;
	pthread_t thread;
	bool started;
	struct parked_store store;
};

/*
 * One page, written through TORUSMM_WRITE (a frame of its own), its dirty
 * bit harvested, then loaded through the shadow: mapped read-only, so that
 * the next store goes through pfn_mkwrite.
 */
FIXTURE_SETUP(race)
{
	__u32 value = OLD_VALUE, got;
	struct torusmm_rw out;
	void *win = NULL;

	self->dev = -1;
	self->fd = -1;
	self->win = NULL;
	self->started = false;
	if (access(PARK_FILE, F_OK)) {
		/* make check's VMs load a test build: there, it must exist. */
		ASSERT_FALSE(!!getenv("TORUSMM_TEST_HOOKS"))
			TH_LOG("%s missing in a test build", PARK_FILE);
		SKIP(return, "no %s: modules built without TORUSMM_TEST_HOOKS=1",
		     PARK_FILE);
	}
	ASSERT_EQ(PARK_IDLE, park_get());
	self->dev = torusmm_open();
	ASSERT_LE(0, self->dev);
	self->fd = torusmm_create_space(self->dev, TORUSMM_TORUS_ANY, 0);
	ASSERT_LE(0, self->fd);
	self->addr = map(_metadata, self->fd, 0, PAGE, RW, 0);
	ASSERT_EQ(0, torusmm_shadow_map(self->fd, self->addr, PAGE,
					PROT_READ | PROT_WRITE, &win));
	self->win = win;
	ASSERT_EQ(0, torusmm_write(self->fd, self->addr, &value, sizeof(value),
				   USER, &out));
	ASSERT_EQ(1, dirty_bit(self->fd, self->addr, true));
	ASSERT_EQ(0, try_load(self->win, &got, NULL));
	ASSERT_EQ(OLD_VALUE, got);
	catch_faults();
}

FIXTURE_TEARDOWN(race)
{
	if (self->started) {
		park_set(0);
		pthread_join(self->thread, NULL);
	}
	if (self->win)
		munmap(self->win, PAGE);
	if (self->fd >= 0)
		close(self->fd);
	if (self->dev >= 0)
		close(self->dev);
}

/*
 * Start a store of NEW_VALUE to the page in a thread of its own, and wait
 * until pfn_mkwrite has approved it and parked it.  Everything the race
 * needs is allocated before: while the store is parked it holds the mmap
 * lock for read, and a thread that wanted it for write (a malloc that
 * mmaps) would wait for the park point's timeout.
 */
static void park_store(struct __test_metadata *_metadata,
		       struct _test_data_race *self)
{
	self->store.p = self->win;
	self->store.value = NEW_VALUE;
	self->store.signo = -1;
	ASSERT_EQ(0, park_set(1));
	ASSERT_EQ(0, pthread_create(&self->thread, NULL, parked_store_thread,
				    &self->store));
	self->started = true;
	ASSERT_TRUE(park_wait()) TH_LOG("the store never reached the park point");
}

/*
 * In the gap: a load that maps the page read-only again, as it was; then
 * let the store go and wait for it.
 */
static void release_store(struct __test_metadata *_metadata,
			  struct _test_data_race *self)
{
	__u32 got;

	ASSERT_EQ(0, try_load(self->win, &got, NULL));
	ASSERT_EQ(0, park_set(0));
	ASSERT_EQ(0, pthread_join(self->thread, NULL));
	self->started = false;
}

/* A harvest in the gap: a store after it must be in the next harvest. */
TEST_F(race, dirty_harvest_in_mkwrite_gap_logs_later_stores)
{
	__u32 later = LATER_VALUE;

	park_store(_metadata, self);
	/* The parked store's approval set dirty; the harvest reports it. */
	ASSERT_EQ(1, dirty_bit(self->fd, self->addr, true));
	release_store(_metadata, self);
	ASSERT_EQ(0, self->store.signo);

	ASSERT_EQ(0, try_store(self->win, later, NULL));
	EXPECT_EQ(1, dirty_bit(self->fd, self->addr, false))
		TH_LOG("a store after the harvest went unlogged");
	EXPECT_EQ(LATER_VALUE, word_of(_metadata, self->fd, self->addr));
}

/* A clone in the gap: the clone keeps what the page held when it was made. */
TEST_F(race, clone_in_mkwrite_gap_does_not_see_source_store)
{
	int clone;

	park_store(_metadata, self);
	clone = torusmm_clone(self->fd);
	ASSERT_LE(0, clone);
	release_store(_metadata, self);
	ASSERT_EQ(0, self->store.signo);

	EXPECT_EQ(NEW_VALUE, word_of(_metadata, self->fd, self->addr));
	EXPECT_EQ(OLD_VALUE, word_of(_metadata, clone, self->addr))
		TH_LOG("the clone saw a store its source made after the clone");
	close(clone);
}

/* An mprotect to read-only in the gap: the store faults, nothing changes. */
TEST_F(race, mprotect_in_mkwrite_gap_refuses_the_store)
{
	park_store(_metadata, self);
	ASSERT_EQ(0, torusmm_mprotect(self->fd, self->addr, PAGE, R));
	release_store(_metadata, self);

	EXPECT_EQ(SIGSEGV, self->store.signo)
		TH_LOG("the store %s on a read-only page",
		       outcome(self->store.signo));
	EXPECT_EQ(OLD_VALUE, word_of(_metadata, self->fd, self->addr));
}

/* Arming twice is refused, and a release with nobody parked disarms. */
TEST_F(race, park_point_arms_once_and_release_disarms)
{
	ASSERT_EQ(0, park_set(1));
	EXPECT_EQ(PARK_ARMED, park_get());
	EXPECT_EQ(-EBUSY, park_set(1));
	ASSERT_EQ(0, park_set(0));
	EXPECT_EQ(PARK_IDLE, park_get());
}

/* The minor faults of the calling thread so far. */
static long minor_faults(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return -1;
	return ru.ru_minflt;
}

#define FAULT_PAGES	64

/* Load then store each page; return the hardware faults it took. */
static long load_then_store(__u32 *p, unsigned int pages, __u32 tag)
{
	long before = minor_faults();
	unsigned int i;

	for (i = 0; i < pages; i++) {
		__u32 *word = p + i * (PAGE / sizeof(*p));

		poke(word, peek(word) + tag + i);
	}
	return minor_faults() - before;
}

/*
 * A load maps the zero frame read-only; the store's pfn_mkwrite takes a
 * frame and maps it writable at once.  After a clone, a load and a store
 * to a shared page take two faults too: the copy is mapped by the second.
 */
TEST(load_then_store_takes_two_faults_per_page)
{
	int dev = torusmm_open(), fd, clone;
	long faults, native;
	void *win = NULL;
	__u32 *anon;
	__u64 addr;

	ASSERT_LE(0, dev);
	fd = torusmm_create_space(dev, TORUSMM_TORUS_ANY, 0);
	ASSERT_LE(0, fd);
	addr = map(_metadata, fd, 0, FAULT_PAGES * PAGE, RW, 0);
	ASSERT_EQ(0, torusmm_shadow_map(fd, addr, FAULT_PAGES * PAGE,
					PROT_READ | PROT_WRITE, &win));
	/* The code and the stack of the loop fault before it is counted. */
	minor_faults();

	faults = load_then_store(win, FAULT_PAGES, 1);
	EXPECT_EQ(2 * FAULT_PAGES, faults)
		TH_LOG("load then store of %u new pages took %ld faults",
		       FAULT_PAGES, faults);

	clone = torusmm_clone(fd);
	ASSERT_LE(0, clone);
	faults = load_then_store(win, FAULT_PAGES, 2);
	EXPECT_EQ(2 * FAULT_PAGES, faults)
		TH_LOG("load then store of %u shared pages took %ld faults",
		       FAULT_PAGES, faults);

	/* For the log: anonymous memory, the same loop. */
	anon = mmap(NULL, FAULT_PAGES * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(anon != MAP_FAILED);
	native = load_then_store(anon, FAULT_PAGES, 1);
	ksft_print_msg("load then store of %u pages: %ld faults on anonymous memory\n",
		       FAULT_PAGES, native);
	munmap(anon, FAULT_PAGES * PAGE);
	munmap(win, FAULT_PAGES * PAGE);
	close(clone);
	close(fd);
	close(dev);
}

TEST_HARNESS_MAIN
