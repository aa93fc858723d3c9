// SPDX-License-Identifier: GPL-2.0
/*
 * A fatal signal ends a long operation promptly and leaks nothing: a
 * MAP_POPULATE of almost the whole torus, a CLONE of a space that holds
 * almost half of it, and a TORUSMM_READ or TORUSMM_WRITE of TORUSMM_RW_MAX
 * bytes that faults in every page.  A child process runs the operation; the
 * parent watches the torus's free frames through its own open of the device
 * and, once they start dropping (the child is inside the ioctl), either
 * waits for the child or sends it SIGKILL, timing both from that moment to
 * waitpid() with CLOCK_MONOTONIC.  No absolute time is asserted (the test
 * VMs run under TCG and are noisy), only a ratio: net of the time a child
 * blocked in read(2) takes to die, the killed child must be gone in less
 * than half the time the uninterrupted operation takes.  After every child,
 * every frame is back in the torus.
 *
 * The operations are sized to the largest torus, so that an uninterrupted
 * one takes long enough to tell a prompt end from a completed one; below
 * 64 MiB the tests skip, so that the normal run (16 MiB tori) stays fast.
 * Run them with the largest torus the VM can spare:
 *
 *   insmod torusmm.ko torus_mb=<most of MemAvailable, in MiB>
 *   /tests/64/torusmm_kill_test
 *
 * Copyright (C) 2026 The torusmm authors
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libtorusmm.h"
#include "torusmm_test.h"

#define ADDR		0x10000000u
#define MIN_FRAMES	(64u << 8)	/* 64 MiB */
/* Frames the torus must lose before an operation counts as under way. */
#define STARTED		16
/* Frames left free: tables, directories, and room for error. */
#define MARGIN		64
#define RW_PAGES	(TORUSMM_RW_MAX / PAGE)
#define RW_ROUNDS	7

enum long_op { OP_IDLE, OP_POPULATE, OP_CLONE, OP_READ, OP_WRITE };

static const char *const op_names[] = {
	[OP_IDLE] = "an idle child", [OP_POPULATE] = "MAP_POPULATE",
	[OP_CLONE] = "CLONE", [OP_READ] = "READ", [OP_WRITE] = "WRITE",
};

/**
 * struct long_op_args - what a child does
 * @op: the operation
 * @dev: the device, to create the child's own space
 * @torus: the torus to create it on
 * @src: OP_CLONE: the space to copy
 * @pages: OP_POPULATE: pages to populate; OP_READ, OP_WRITE: pages to walk
 *	   through, TORUSMM_RW_MAX bytes per call
 * @block: OP_IDLE: a pipe's read end nobody writes to
 */
struct long_op_args {
	enum long_op op;
	int dev;
	__u32 torus;
	int src;
	__u32 pages;
	int block;
};

FIXTURE(kill) {
	int dev;
	__u32 torus;
	__u32 nr_frames;
	pid_t child;
	int pipe[2];
};

FIXTURE_SETUP(kill)
{
	int nr, i;

	self->child = -1;
	self->dev = torusmm_open();
	/* No SKIP: this harness would still run the test body after it. */
	ASSERT_LE(0, self->dev) TH_LOG("open " TORUSMM_DEVICE ": %s",
				       strerror(-self->dev));
	nr = torusmm_check_extension(self->dev, TORUSMM_CAP_NR_TORI);
	ASSERT_LE(1, nr);
	for (i = 0; i < nr; i++) {
		struct torusmm_torus_info info;

		ASSERT_EQ(0, torusmm_torus_info(self->dev, i, &info));
		if (info.nr_frames > self->nr_frames) {
			self->nr_frames = info.nr_frames;
			self->torus = i;
		}
	}
	ASSERT_EQ(0, pipe(self->pipe));
}

FIXTURE_TEARDOWN(kill)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	close(self->pipe[0]);
	close(self->pipe[1]);
	if (self->dev >= 0)
		close(self->dev);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __u32 torus_free(struct __test_metadata *_metadata, int dev,
			__u32 torus)
{
	struct torusmm_torus_info info;

	ASSERT_EQ(0, torusmm_torus_info(dev, torus, &info));
	return info.nr_free;
}

/* In the child: do @a->op and exit, 0 when it worked.  No ASSERT here. */
static void run_op(const struct long_op_args *a)
{
	static unsigned char buf[TORUSMM_RW_MAX];
	__u64 addr = ADDR, len = (__u64)a->pages * PAGE, off;
	struct torusmm_rw rw;
	char byte;
	int fd;

	if (a->op == OP_CLONE)
		_exit(torusmm_clone(a->src) < 0 ? 2 : 0);
	fd = torusmm_create_space(a->dev, a->torus, TORUSMM_NO_QUOTA);
	if (fd < 0)
		_exit(3);
	switch (a->op) {
	case OP_IDLE:
		/* About what the others hold when they are killed. */
		if (torusmm_mmap(fd, &addr, STARTED * PAGE, RW,
				 FIXED | POPULATE))
			_exit(4);
		if (read(a->block, &byte, 1) < 0)
			_exit(5);
		_exit(6);
	case OP_POPULATE:
		_exit(torusmm_mmap(fd, &addr, len, RW, FIXED | POPULATE) ?
		      7 : 0);
	case OP_READ:
	case OP_WRITE:
		if (torusmm_mmap(fd, &addr, len, RW, FIXED))
			_exit(8);
		memset(buf, 0x6b, sizeof(buf));
		for (off = 0; off < len; off += TORUSMM_RW_MAX)
			if (torusmm_rw(fd, a->op == OP_READ ? TORUSMM_READ :
				       TORUSMM_WRITE, ADDR + off, buf,
				       TORUSMM_RW_MAX, USER, &rw))
				_exit(9);
		_exit(0);
	case OP_CLONE:
		break;
	}
	_exit(10);
}

/*
 * Run @a in a child.  Once the torus has lost STARTED frames, the child is
 * inside the operation: kill it when @kill_it.  Return: the seconds from
 * that moment until waitpid() returned.
 */
static double time_op(struct __test_metadata *_metadata,
		      struct _test_data_kill *self, const struct long_op_args *a,
		      bool kill_it)
{
	__u32 before = torus_free(_metadata, self->dev, self->torus);
	double start, elapsed;
	int status;

	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child)
		run_op(a);
	while (torus_free(_metadata, self->dev, self->torus) + STARTED >
	       before) {
		ASSERT_EQ(0, waitpid(self->child, &status, WNOHANG))
			TH_LOG("%s ended before it was seen at work",
			       op_names[a->op]);
	}
	start = now();
	if (kill_it)
		ASSERT_EQ(0, kill(self->child, SIGKILL));
	ASSERT_EQ(self->child, waitpid(self->child, &status, 0));
	elapsed = now() - start;
	self->child = -1;
	if (kill_it) {
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("%s: status %#x", op_names[a->op], status);
	} else {
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("%s failed: status %#x", op_names[a->op],
			       status);
	}
	return elapsed;
}

/* Check that the torus has @expect free frames: nothing was leaked. */
static void expect_free(struct __test_metadata *_metadata,
			struct _test_data_kill *self, __u32 expect,
			const char *after)
{
	EXPECT_EQ(expect, torus_free(_metadata, self->dev, self->torus))
		TH_LOG("frames leaked after %s", after);
}

/*
 * Populate and free every frame of the torus once, untimed: the first touch
 * of guest memory costs the host a page fault, which must not count against
 * whichever measurement happens to come first.
 */
static void warm_up(struct __test_metadata *_metadata,
		    struct _test_data_kill *self)
{
	__u32 free = torus_free(_metadata, self->dev, self->torus);
	__u64 addr = ADDR;
	int fd;

	ASSERT_EQ(self->nr_frames, free) TH_LOG("another space holds frames");
	fd = torusmm_create_space(self->dev, self->torus, TORUSMM_NO_QUOTA);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, torusmm_mmap(fd, &addr,
				  (__u64)(free - MARGIN - free / 1024) * PAGE,
				  RW, FIXED | POPULATE));
	close(fd);
	expect_free(_metadata, self, free, "the warm-up");
}

/* How long an idle child holding a small space takes to die. */
static double idle_kill(struct __test_metadata *_metadata,
			struct _test_data_kill *self)
{
	struct long_op_args idle = {
		.op = OP_IDLE, .dev = self->dev, .torus = self->torus,
		.block = self->pipe[0],
	};
	__u32 before = torus_free(_metadata, self->dev, self->torus);
	double t = time_op(_metadata, self, &idle, true);

	expect_free(_metadata, self, before, "an idle child");
	return t;
}

/*
 * The claim, with the numbers printed: net of an idle child's death, a
 * killed operation ends in less than half the uninterrupted one's time.
 */
static void expect_prompt(struct __test_metadata *_metadata,
			  enum long_op op, __u32 pages, double full,
			  double killed, double idle)
{
	ksft_print_msg("%s of %u pages: %.3f s uninterrupted, %.3f s killed, %.3f s idle\n",
		       op_names[op], pages, full, killed, idle);
	ASSERT_LT(idle, full) TH_LOG("the operation is too short to judge");
	EXPECT_LT(2 * (killed - idle), full - idle)
		TH_LOG("%s went on after SIGKILL", op_names[op]);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

TEST_F_TIMEOUT(kill, sigkill_ends_a_populate_of_the_whole_torus_promptly, 280)
{
	struct long_op_args a = {
		.op = OP_POPULATE, .dev = self->dev, .torus = self->torus,
	};
	double idle, full, killed;
	__u32 free;

	if (self->nr_frames < MIN_FRAMES)
		SKIP(return, "the largest torus has %u MiB, below 64",
		     self->nr_frames >> 8);
	warm_up(_metadata, self);
	free = torus_free(_metadata, self->dev, self->torus);
	/* Leave room for the directory and a table per 1024 pages. */
	a.pages = free - MARGIN - free / 1024;

	idle = idle_kill(_metadata, self);
	full = time_op(_metadata, self, &a, false);
	expect_free(_metadata, self, free, "a populate");
	killed = time_op(_metadata, self, &a, true);
	expect_free(_metadata, self, free, "a killed populate");
	expect_prompt(_metadata, a.op, a.pages, full, killed, idle);
}

TEST_F_TIMEOUT(kill, sigkill_ends_a_clone_of_a_large_space_promptly, 280)
{
	struct long_op_args a = {
		.op = OP_CLONE, .dev = self->dev, .torus = self->torus,
	};
	double idle, full, killed;
	__u32 free, base;
	__u64 addr = ADDR;

	if (self->nr_frames < MIN_FRAMES)
		SKIP(return, "the largest torus has %u MiB, below 64",
		     self->nr_frames >> 8);
	warm_up(_metadata, self);
	free = torus_free(_metadata, self->dev, self->torus);
	/* The source and its clone each take half the torus. */
	a.pages = (free - MARGIN) / 2 - free / 2048 - 2;
	a.src = torusmm_create_space(self->dev, self->torus,
				     TORUSMM_NO_QUOTA);
	ASSERT_LE(0, a.src);
	ASSERT_EQ(0, torusmm_mmap(a.src, &addr, (__u64)a.pages * PAGE, RW,
				  FIXED | POPULATE));
	base = torus_free(_metadata, self->dev, self->torus);

	idle = idle_kill(_metadata, self);
	full = time_op(_metadata, self, &a, false);
	expect_free(_metadata, self, base, "a clone");
	killed = time_op(_metadata, self, &a, true);
	expect_free(_metadata, self, base, "a killed clone");
	close(a.src);
	expect_free(_metadata, self, free, "closing the source");
	expect_prompt(_metadata, a.op, a.pages, full, killed, idle);
}

/*
 * One TORUSMM_RW_MAX copy that faults in every page, timed RW_ROUNDS times
 * whole and killed; the medians are compared.  The killed child copies in a
 * loop, so that it is inside a copy whenever the signal comes.
 */
static void rw_killed_promptly(struct __test_metadata *_metadata,
			       struct _test_data_kill *self, enum long_op op)
{
	struct long_op_args one = {
		.op = op, .dev = self->dev, .torus = self->torus,
		.pages = RW_PAGES,
	};
	struct long_op_args loop = one;
	double idle[RW_ROUNDS], full[RW_ROUNDS], killed[RW_ROUNDS];
	__u32 free;
	int i;

	if (self->nr_frames < MIN_FRAMES)
		SKIP(return, "the largest torus has %u MiB, below 64",
		     self->nr_frames >> 8);
	warm_up(_metadata, self);
	free = torus_free(_metadata, self->dev, self->torus);
	/* 64 MiB at most, in whole calls. */
	loop.pages = (free - MARGIN) / 2;
	if (loop.pages > MIN_FRAMES)
		loop.pages = MIN_FRAMES;
	loop.pages -= loop.pages % RW_PAGES;

	for (i = 0; i < RW_ROUNDS; i++) {
		idle[i] = idle_kill(_metadata, self);
		full[i] = time_op(_metadata, self, &one, false);
		expect_free(_metadata, self, free, op_names[op]);
		killed[i] = time_op(_metadata, self, &loop, true);
		expect_free(_metadata, self, free, op_names[op]);
	}
	expect_prompt(_metadata, op, RW_PAGES, median(full, RW_ROUNDS),
		      median(killed, RW_ROUNDS), median(idle, RW_ROUNDS));
}

TEST_F_TIMEOUT(kill, sigkill_ends_a_read_of_rw_max_promptly, 280)
{
	/*
	 * With the zero frame a READ of never-written memory takes no frame,
	 * so the torus cannot show it at work; the WRITE test below goes
	 * through the same copy loop and its fatal-signal check.
	 */
	if (torusmm_check_extension(self->dev, TORUSMM_CAP_ZERO_FRAME) == 1)
		SKIP(return, "READ takes no frame with the zero frame");
	rw_killed_promptly(_metadata, self, OP_READ);
}

TEST_F_TIMEOUT(kill, sigkill_ends_a_write_of_rw_max_promptly, 280)
{
	rw_killed_promptly(_metadata, self, OP_WRITE);
}

TEST_HARNESS_MAIN
