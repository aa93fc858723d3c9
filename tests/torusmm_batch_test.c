// SPDX-License-Identifier: GPL-2.0
/*
 * TORUSMM_BATCH: a vector of operations gives, op by op, exactly what the
 * single ioctls give.  Most tests build two twin spaces the same way, run a
 * vector as one TORUSMM_BATCH on the first and its operations one by one on
 * the second, and compare every output of every operation, the header's
 * done and failed counts, and then the spaces: their regions, their PTEs
 * (accessed and dirty bits included; frame numbers differ between twins, so
 * an entry is compared by its flags and by whether it names the zero frame),
 * their statistics and the bytes a READ gives back.  A vector the kernel
 * refuses as a whole (bad flags or count, a header or vector it cannot read
 * and write) must leave the space and the vector byte-for-byte as they
 * were; a vector that stops at a failure must leave the operations after it
 * untouched.  The randomised test prints its seed (TORUSMM_SEED=n replays).
 *
 * Copyright (C) 2026 The torusmm authors
 */
#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libtorusmm.h"
#include "torusmm_test.h"

#define SZ_4G		0x100000000ull
#define ADDR		0x10000000u	/* the tests' window, far from the heap */
#define WINDOW_PAGES	24
#define HOLE		(ADDR + 6 * PAGE)
#define KERNEL		TORUSMM_KERNEL_BASE
#define MAX_REGIONS	256
#define MAX_PTES	2048
#define OP_SIZE		sizeof(struct torusmm_batch_op)
#define GARBAGE		0xa5
/* The output fields, result to pte: reserved after them is an input. */
#define OUT_BYTES	(offsetof(struct torusmm_batch_op, reserved) - \
			 offsetof(struct torusmm_batch_op, result))

#define T		TORUSMM_OP_TRANSLATE
#define RD		TORUSMM_OP_READ
#define WR		TORUSMM_OP_WRITE
#define MM		TORUSMM_OP_MMAP
#define UM		TORUSMM_OP_MUNMAP
#define MP		TORUSMM_OP_MPROTECT
#define CONTINUE	TORUSMM_BATCH_CONTINUE
#define PEEK		TORUSMM_TRANSLATE_PEEK

/* A space's state, with frame numbers reduced to "the zero frame" or not. */
struct state {
	struct torusmm_region regions[MAX_REGIONS];
	struct torusmm_pte ptes[MAX_PTES];
	struct torusmm_space_stats stats;
	__u32 nr_regions;
	__u32 nr_ptes;
};

FIXTURE(batch) {
	int dev;
	int a;		/* the space batches run on */
	int b;		/* its twin, where the same ops run one by one */
	unsigned char *buf_a;	/* READ/WRITE buffers of a (16 pages) */
	unsigned char *buf_b;	/* and the same of b */
	unsigned char *ro;	/* a read-only page */
	struct state sa, sb;
};

/* Frame numbers differ between twins: keep the flags and the zero frame. */
static __u32 pte_norm(__u32 pte)
{
	__u32 frame = pte & TORUSMM_PTE_FRAME_MASK;

	return (pte & ~TORUSMM_PTE_FRAME_MASK) |
	       (frame == ZERO_TPA ? ZERO_TPA : frame ? 0x1000 : 0);
}

static __u64 tpa_norm(__u64 tpa)
{
	if (!tpa)
		return 0;
	if ((tpa & ~(__u64)(PAGE - 1)) == ZERO_TPA)
		return tpa;
	return 0x100000000ull | (tpa & (PAGE - 1));
}

static void state_take(struct __test_metadata *_metadata, int fd,
		       struct state *s)
{
	__u32 i;

	memset(s, 0, sizeof(*s));
	s->nr_regions = MAX_REGIONS;
	ASSERT_EQ(0, torusmm_dump_regions(fd, s->regions, &s->nr_regions));
	s->nr_ptes = MAX_PTES;
	ASSERT_EQ(0, torusmm_dump_ptes(fd, 0, SZ_4G, s->ptes, &s->nr_ptes));
	for (i = 0; i < s->nr_ptes; i++)
		s->ptes[i].pte = pte_norm(s->ptes[i].pte);
	ASSERT_EQ(0, torusmm_stats(fd, &s->stats));
	s->stats.id = 0;	/* twins differ in their ids only */
}

/* Whether two states are the same; log the first difference. */
static bool state_same(struct __test_metadata *_metadata,
		       const struct state *x, const struct state *y,
		       const char *what)
{
	__u32 i;

	if (x->nr_regions != y->nr_regions ||
	    memcmp(x->regions, y->regions,
		   x->nr_regions * sizeof(x->regions[0]))) {
		TH_LOG("%s: regions differ (%u and %u)", what, x->nr_regions,
		       y->nr_regions);
		for (i = 0; i < x->nr_regions || i < y->nr_regions; i++)
			TH_LOG("  [%#x, %#x) %#x | [%#x, %#x) %#x",
			       x->regions[i].start, x->regions[i].end,
			       x->regions[i].prot, y->regions[i].start,
			       y->regions[i].end, y->regions[i].prot);
		return false;
	}
	if (x->nr_ptes != y->nr_ptes) {
		TH_LOG("%s: %u and %u PTEs", what, x->nr_ptes, y->nr_ptes);
		return false;
	}
	for (i = 0; i < x->nr_ptes; i++) {
		if (x->ptes[i].addr != y->ptes[i].addr ||
		    x->ptes[i].pte != y->ptes[i].pte) {
			TH_LOG("%s: PTE %#x of %#x, and %#x of %#x", what,
			       x->ptes[i].pte, x->ptes[i].addr,
			       y->ptes[i].pte, y->ptes[i].addr);
			return false;
		}
	}
	if (memcmp(&x->stats, &y->stats, sizeof(x->stats))) {
		TH_LOG("%s: stats differ: data %u/%u tables %u/%u regions %u/%u",
		       what, x->stats.nr_data_frames, y->stats.nr_data_frames,
		       x->stats.nr_table_frames, y->stats.nr_table_frames,
		       x->stats.nr_regions, y->stats.nr_regions);
		TH_LOG("  faults %llu/%llu errors %llu/%llu translations %llu/%llu",
		       (unsigned long long)x->stats.nr_faults,
		       (unsigned long long)y->stats.nr_faults,
		       (unsigned long long)x->stats.nr_fault_errors,
		       (unsigned long long)y->stats.nr_fault_errors,
		       (unsigned long long)x->stats.nr_translations,
		       (unsigned long long)y->stats.nr_translations);
		return false;
	}
	return true;
}

/* TORUSMM_BATCH of @count ops; done and failed start as garbage. */
static int batch(int fd, struct torusmm_batch_op *ops, __u32 count,
		 __u32 flags, struct torusmm_batch *hdr)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->ops = torusmm_ptr(ops);
	hdr->count = count;
	hdr->flags = flags;
	hdr->done = 0xdeadbeef;
	hdr->failed = 0xfeedface;
	return torusmm_ioctl(fd, TORUSMM_BATCH, hdr);
}

/* Whether @op has a non-zero field its operation does not use. */
static bool op_has_unused(const struct torusmm_batch_op *op)
{
	__u64 unused = op->reserved;

	switch (op->op) {
	case T:
		unused |= op->length | op->buf | op->prot;
		break;
	case RD:
	case WR:
		unused |= op->flags | op->prot;
		break;
	case MM:
		unused |= op->buf | op->access;
		break;
	case UM:
		unused |= op->buf | op->access | op->prot;
		break;
	case MP:
		unused |= op->buf | op->access;
		break;
	default:
		return true;
	}
	return unused != 0;
}

/*
 * Run @op as its single ioctl on @fd and write what it gave into @op's
 * output fields, as TORUSMM_BATCH should: the result, then the outputs when
 * the result is not an errno (all zero when it is).
 */
static void run_single(int fd, struct torusmm_batch_op *op)
{
	int ret = -EINVAL;

	op->fault = 0;
	op->out = 0;
	op->fault_addr = 0;
	op->pte = 0;
	if (op_has_unused(op)) {
		op->result = -EINVAL;
		return;
	}
	switch (op->op) {
	case T: {
		struct torusmm_translate tr;

		ret = torusmm_translate(fd, op->addr, op->access, op->flags,
					&tr);
		if (ret >= 0) {
			op->out = tr.tpa;
			op->fault = tr.fault;
			op->pte = tr.pte;
		}
		break;
	}
	case RD:
	case WR: {
		struct torusmm_rw rw;

		ret = torusmm_rw(fd, op->op == RD ? TORUSMM_READ : TORUSMM_WRITE,
				 op->addr, (void *)(uintptr_t)op->buf,
				 op->length, op->access, &rw);
		if (ret >= 0) {
			op->out = rw.done;
			op->fault = rw.fault;
			op->fault_addr = rw.fault_addr;
		}
		break;
	}
	case MM: {
		struct torusmm_mmap req = {
			.addr = op->addr, .length = op->length,
			.prot = op->prot, .flags = op->flags,
		};

		ret = torusmm_ioctl(fd, TORUSMM_MMAP, &req);
		if (!ret)
			op->out = req.addr;
		break;
	}
	case UM: {
		struct torusmm_munmap req = {
			.addr = op->addr, .length = op->length,
			.flags = op->flags,
		};

		ret = torusmm_ioctl(fd, TORUSMM_MUNMAP, &req);
		break;
	}
	case MP: {
		struct torusmm_mprotect req = {
			.addr = op->addr, .length = op->length,
			.prot = op->prot, .flags = op->flags,
		};

		ret = torusmm_ioctl(fd, TORUSMM_MPROTECT, &req);
		break;
	}
	}
	op->result = ret;
}

static const char *op_name(__u32 op)
{
	static const char *const names[] = {
		"op 0", "TRANSLATE", "READ", "WRITE", "MMAP", "MUNMAP",
		"MPROTECT",
	};

	return op < ARRAY_SIZE(names) ? names[op] : "unknown op";
}

/*
 * Whether the batch's op @x and the single run's @y agree: the inputs
 * unchanged (but for buf), the result and the outputs (tpa and pte up to
 * the frame number, which differs between twins).
 */
static bool op_same(struct __test_metadata *_metadata, unsigned int i,
		    const struct torusmm_batch_op *x,
		    const struct torusmm_batch_op *y)
{
	bool frame = x->op == T;

	if (x->op != y->op || x->flags != y->flags || x->addr != y->addr ||
	    x->length != y->length || x->access != y->access ||
	    x->prot != y->prot || x->reserved != y->reserved) {
		TH_LOG("op %u (%s): inputs changed", i, op_name(x->op));
		return false;
	}
	if (x->result != y->result || x->fault != y->fault ||
	    x->fault_addr != y->fault_addr ||
	    (frame ? tpa_norm(x->out) != tpa_norm(y->out) :
		     x->out != y->out) ||
	    (frame ? pte_norm(x->pte) != pte_norm(y->pte) :
		     x->pte != y->pte)) {
		TH_LOG("op %u (%s addr %#llx length %#llx access %#x prot %#x flags %#x):",
		       i, op_name(x->op), (unsigned long long)x->addr,
		       (unsigned long long)x->length, x->access, x->prot,
		       x->flags);
		TH_LOG("  batch:  result %d fault %#x out %#llx fault_addr %#llx pte %#x",
		       x->result, x->fault, (unsigned long long)x->out,
		       (unsigned long long)x->fault_addr, x->pte);
		TH_LOG("  single: result %d fault %#x out %#llx fault_addr %#llx pte %#x",
		       y->result, y->fault, (unsigned long long)y->out,
		       (unsigned long long)y->fault_addr, y->pte);
		return false;
	}
	/* The entry a translation reports names the frame it translated to. */
	if (frame && x->result == 0 &&
	    (x->out & TORUSMM_PTE_FRAME_MASK) !=
	    (x->pte & TORUSMM_PTE_FRAME_MASK)) {
		TH_LOG("op %u: tpa %#llx but pte %#x", i,
		       (unsigned long long)x->out, x->pte);
		return false;
	}
	return true;
}

/*
 * The twins' common start: from ADDR, pages 0-3 read-write (0 and 1
 * written, 2 read: the zero frame), 4-5 read-only populated, 6-7 a hole,
 * 8-11 read-write untouched, 12 PROT_NONE; then a read-write-exec page.
 */
static void build(struct __test_metadata *_metadata, int fd)
{
	static const char bytes[] = "twin bytes";
	struct torusmm_translate tr;
	struct torusmm_rw rw;
	__u64 addr;

	addr = ADDR;
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, 4 * PAGE, RW, FIXED));
	addr = ADDR + 4 * PAGE;
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, 2 * PAGE, R, FIXED | POPULATE));
	addr = ADDR + 8 * PAGE;
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, 4 * PAGE, RW, FIXED));
	addr = ADDR + 12 * PAGE;
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, PAGE, TORUSMM_PROT_NONE, FIXED));
	addr = ADDR + 16 * PAGE;
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, PAGE, RWX, FIXED));
	ASSERT_EQ(0, torusmm_write(fd, ADDR + 10, bytes, sizeof(bytes), USER,
				   &rw));
	ASSERT_EQ(0, torusmm_write(fd, ADDR + PAGE + 100, bytes,
				   sizeof(bytes), 0, &rw));
	ASSERT_EQ(0, torusmm_translate(fd, ADDR + 2 * PAGE, USER, 0, &tr));
}

FIXTURE_SETUP(batch)
{
	self->a = -1;
	self->b = -1;
	self->dev = torusmm_open();
	/* No SKIP: this harness would still run the test body after it. */
	ASSERT_LE(0, self->dev) TH_LOG("open " TORUSMM_DEVICE ": %s%s",
				       strerror(-self->dev),
				       self->dev == -ENOENT ?
				       " (is torusmm.ko loaded?)" : "");
	ASSERT_EQ(TORUSMM_BATCH_MAX,
		  torusmm_check_extension(self->dev, TORUSMM_CAP_BATCH));
	self->a = torusmm_create_space(self->dev, 0, TORUSMM_NO_QUOTA);
	ASSERT_LE(0, self->a);
	self->b = torusmm_create_space(self->dev, 0, TORUSMM_NO_QUOTA);
	ASSERT_LE(0, self->b);
	build(_metadata, self->a);
	build(_metadata, self->b);
	self->buf_a = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	self->buf_b = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	self->ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	ASSERT_TRUE(self->buf_a != MAP_FAILED);
	ASSERT_TRUE(self->buf_b != MAP_FAILED);
	ASSERT_TRUE(self->ro != MAP_FAILED);
}

FIXTURE_TEARDOWN(batch)
{
	if (self->a >= 0)
		close(self->a);
	if (self->b >= 0)
		close(self->b);
	if (self->dev >= 0)
		close(self->dev);
}

/*
 * Run @n ops as one batch on a and one by one on b (stopping as the batch
 * must), with each READ/WRITE buf an offset into buf_a or buf_b (or, when
 * @raw_buf, the pointer itself, the same for both).  Check everything.
 */
static void twin_run(struct __test_metadata *_metadata,
		     struct _test_data_batch *self,
		     const struct torusmm_batch_op *ops, unsigned int n,
		     __u32 flags, const bool *raw_buf)
{
	struct torusmm_batch_op *x = calloc(n, OP_SIZE);
	struct torusmm_batch_op *y = calloc(n, OP_SIZE);
	struct torusmm_batch_op *sent = calloc(n, OP_SIZE);
	unsigned int i, done = 0, failed = 0;
	struct torusmm_batch hdr;
	int ret;

	ASSERT_TRUE(x && y && sent);
	memcpy(x, ops, n * OP_SIZE);
	memcpy(y, ops, n * OP_SIZE);
	for (i = 0; i < n; i++) {
		if ((x[i].op != RD && x[i].op != WR) || (raw_buf && raw_buf[i]))
			continue;
		x[i].buf = torusmm_ptr(self->buf_a + ops[i].buf);
		y[i].buf = torusmm_ptr(self->buf_b + ops[i].buf);
	}
	memcpy(sent, x, n * OP_SIZE);
	ret = batch(self->a, x, n, flags, &hdr);
	ASSERT_EQ(0, ret) TH_LOG("TORUSMM_BATCH: %s", strerror(-ret));

	for (i = 0; i < n; i++) {
		run_single(self->b, &y[i]);
		done++;
		if (y[i].result) {
			failed++;
			if (!(flags & CONTINUE))
				break;
		}
	}
	EXPECT_EQ(done, hdr.done);
	EXPECT_EQ(failed, hdr.failed);
	EXPECT_EQ(n, hdr.count);
	EXPECT_EQ(flags, hdr.flags);
	for (i = 0; i < n && i < done; i++) {
		if (x[i].op == RD || x[i].op == WR)
			y[i].buf = x[i].buf;
		EXPECT_TRUE(op_same(_metadata, i, &x[i], &y[i]));
	}
	for (i = done; i < n; i++)
		EXPECT_EQ(0, memcmp(&x[i], &sent[i], OP_SIZE))
			TH_LOG("op %u did not run but was written", i);
	EXPECT_EQ(0, memcmp(self->buf_a, self->buf_b, 16 * PAGE))
		TH_LOG("the READ buffers differ");
	state_take(_metadata, self->a, &self->sa);
	state_take(_metadata, self->b, &self->sb);
	EXPECT_TRUE(state_same(_metadata, &self->sa, &self->sb,
			       "batch twin vs single twin"));
	free(x);
	free(y);
	free(sent);
}

TEST(cap_batch_is_the_vector_limit)
{
	int dev = torusmm_open();

	ASSERT_LE(0, dev);
	EXPECT_EQ(TORUSMM_BATCH_MAX,
		  torusmm_check_extension(dev, TORUSMM_CAP_BATCH));
	EXPECT_EQ(4096, TORUSMM_BATCH_MAX);
	EXPECT_EQ(72, OP_SIZE);
	EXPECT_EQ(24, sizeof(struct torusmm_batch));
	EXPECT_EQ(0, torusmm_check_extension(dev, TORUSMM_CAP_SPACE_ID + 1));
	close(dev);
}

/*
 * One row per operation and outcome: each alone in a batch gives what its
 * single ioctl gives, outputs and state.  The rows run in order, so later
 * rows see what earlier ones mapped.  buf is an offset into the buffers.
 */
static const struct torusmm_batch_op single_rows[] = {
	/* TRANSLATE: translated, zero frame, faults, peek, bad input */
	{ .op = T, .addr = ADDR + 10, .access = USER },
	{ .op = T, .addr = ADDR + PAGE + 5, .access = WRITE | USER },
	{ .op = T, .addr = ADDR + 3 * PAGE, .access = USER },
	{ .op = T, .addr = ADDR + 3 * PAGE + 8, .access = WRITE },
	{ .op = T, .addr = ADDR + 4 * PAGE, .access = WRITE | USER },
	{ .op = T, .addr = ADDR + 4 * PAGE, .access = EXEC | USER },
	{ .op = T, .addr = ADDR + 16 * PAGE + 1, .access = EXEC | USER },
	{ .op = T, .addr = HOLE, .access = 0 },
	{ .op = T, .addr = HOLE, .access = USER },
	{ .op = T, .addr = ADDR + 12 * PAGE, .access = USER },
	{ .op = T, .addr = ADDR + 8 * PAGE, .access = USER, .flags = PEEK },
	{ .op = T, .addr = ADDR, .access = WRITE | USER, .flags = PEEK },
	{ .op = T, .addr = KERNEL, .access = USER },
	{ .op = T, .addr = SZ_4G, .access = USER },
	{ .op = T, .addr = ADDR, .access = WRITE | EXEC },
	{ .op = T, .addr = ADDR, .access = 1u << 31 },
	{ .op = T, .addr = ADDR, .flags = 2 },
	{ .op = T, .addr = TORUSMM_STACK_TOP - 2 * PAGE, .access = USER },
	/* READ and WRITE */
	{ .op = RD, .addr = ADDR, .length = 2 * PAGE, .access = USER },
	{ .op = RD, .addr = ADDR + 5 * PAGE + 7, .length = 3 * PAGE,
	  .buf = 2 * PAGE, .access = USER },
	{ .op = RD, .addr = ADDR + 11 * PAGE, .length = 2 * PAGE,
	  .buf = 6 * PAGE },
	{ .op = WR, .addr = ADDR + 8 * PAGE + 1, .length = PAGE + 9,
	  .buf = 12 * PAGE, .access = USER },
	{ .op = WR, .addr = ADDR + 3 * PAGE + 100, .length = 2 * PAGE,
	  .buf = 12 * PAGE },
	{ .op = WR, .addr = HOLE, .length = 8, .buf = 12 * PAGE },
	{ .op = RD, .addr = ADDR, .length = 0 },
	{ .op = RD, .addr = ADDR, .length = TORUSMM_RW_MAX + 1 },
	{ .op = WR, .addr = 0xfffff000u, .length = 2 * PAGE },
	{ .op = RD, .addr = SZ_4G, .length = 1 },
	{ .op = WR, .addr = ADDR, .length = 1, .access = WRITE },
	{ .op = RD, .addr = ADDR, .length = 8, .buf = 4 * PAGE },
	/* MMAP */
	{ .op = MM, .addr = ADDR + 6 * PAGE, .length = PAGE, .prot = RW,
	  .flags = FIXED },
	{ .op = MM, .addr = ADDR + 7 * PAGE, .length = PAGE, .prot = R,
	  .flags = NOREPLACE | POPULATE },
	{ .op = MM, .addr = ADDR, .length = PAGE, .prot = R,
	  .flags = NOREPLACE },
	{ .op = MM, .addr = 0, .length = 3 * PAGE, .prot = RW },
	{ .op = MM, .addr = ADDR + 20 * PAGE, .length = 2 * PAGE + 1,
	  .prot = RWX },
	{ .op = MM, .addr = SZ_4G + ADDR, .length = PAGE, .prot = R },
	{ .op = MM, .addr = SZ_4G + ADDR, .length = PAGE, .prot = R,
	  .flags = FIXED },
	{ .op = MM, .addr = ADDR + 1, .length = PAGE, .prot = R,
	  .flags = FIXED },
	{ .op = MM, .addr = 0, .length = PAGE, .prot = R, .flags = FIXED },
	{ .op = MM, .addr = ADDR, .length = 0, .prot = R },
	{ .op = MM, .addr = ADDR, .length = PAGE, .prot = 8 },
	{ .op = MM, .addr = ADDR, .length = PAGE, .prot = R, .flags = 8 },
	{ .op = MM, .addr = KERNEL, .length = PAGE, .prot = R,
	  .flags = FIXED },
	/* MPROTECT */
	{ .op = MP, .addr = ADDR + 8 * PAGE, .length = 2 * PAGE, .prot = R },
	{ .op = MP, .addr = ADDR, .length = 0, .prot = R },
	{ .op = MP, .addr = ADDR + 5 * PAGE, .length = 3 * PAGE,
	  .prot = RW },
	{ .op = MP, .addr = ADDR + 12 * PAGE, .length = 2 * PAGE,
	  .prot = RW },
	{ .op = MP, .addr = ADDR + 1, .length = PAGE, .prot = R },
	{ .op = MP, .addr = ADDR, .length = PAGE, .prot = R, .flags = 1 },
	{ .op = MP, .addr = SZ_4G, .length = PAGE, .prot = R },
	/* MUNMAP */
	{ .op = UM, .addr = ADDR + PAGE, .length = PAGE },
	{ .op = UM, .addr = HOLE + 64 * PAGE, .length = 5 * PAGE },
	{ .op = UM, .addr = ADDR + 1, .length = PAGE },
	{ .op = UM, .addr = ADDR, .length = 0 },
	{ .op = UM, .addr = ADDR, .length = PAGE, .flags = 1 },
	{ .op = UM, .addr = SZ_4G, .length = PAGE },
	{ .op = UM, .addr = KERNEL, .length = PAGE },
	/* after all that, read everything back */
	{ .op = RD, .addr = ADDR, .length = 13 * PAGE, .buf = 0 },
	{ .op = T, .addr = ADDR + 8 * PAGE + 1, .access = WRITE | USER },
};

TEST_F_TIMEOUT(batch, each_op_alone_gives_what_its_single_ioctl_gives, 120)
{
	unsigned int i;

	memset(self->buf_a + 12 * PAGE, 0x5a, 4 * PAGE);
	memset(self->buf_b + 12 * PAGE, 0x5a, 4 * PAGE);
	for (i = 0; i < ARRAY_SIZE(single_rows); i++) {
		TH_LOG("row %u: %s", i, op_name(single_rows[i].op));
		twin_run(_metadata, self, &single_rows[i], 1, 0, NULL);
		if (_metadata->passed == 0)
			break;
	}
	/* And all of them in one vector, going on past the failures. */
	twin_run(_metadata, self, single_rows, ARRAY_SIZE(single_rows),
		 CONTINUE, NULL);
}

/*
 * READ into a read-only page, WRITE from NULL, READ into a buffer whose
 * second half is unmapped, WRITE from a PROT_NONE page: each op is -EFAULT
 * and the space is as it was (no frame, no accessed bit, no counter).
 */
TEST_F_TIMEOUT(batch, a_bad_buffer_fails_its_op_and_leaves_the_space, 60)
{
	unsigned char *half = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *none = mmap(NULL, PAGE, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct torusmm_batch_op ops[5];
	struct torusmm_batch hdr;
	struct state before;
	unsigned int i;

	ASSERT_TRUE(half != MAP_FAILED);
	ASSERT_TRUE(none != MAP_FAILED);
	ASSERT_EQ(0, munmap(half + PAGE, PAGE));
	memset(ops, 0, sizeof(ops));
	ops[0] = (struct torusmm_batch_op){ .op = RD, .addr = ADDR + 9 * PAGE,
		.length = 16, .buf = torusmm_ptr(self->ro), .access = USER };
	ops[1] = (struct torusmm_batch_op){ .op = WR, .addr = ADDR + 10 * PAGE,
		.length = 16, .buf = 0, .access = USER };
	ops[2] = (struct torusmm_batch_op){ .op = RD, .addr = ADDR + 10 * PAGE,
		.length = 2 * PAGE, .buf = torusmm_ptr(half) };
	ops[3] = (struct torusmm_batch_op){ .op = WR, .addr = ADDR + 11 * PAGE,
		.length = 2 * PAGE, .buf = torusmm_ptr(half) };
	ops[4] = (struct torusmm_batch_op){ .op = WR, .addr = ADDR + 11 * PAGE,
		.length = 8, .buf = torusmm_ptr(none), .access = USER };
	for (i = 0; i < 5; i++)
		memset(&ops[i].result, GARBAGE, OUT_BYTES);
	state_take(_metadata, self->a, &before);
	ASSERT_EQ(0, batch(self->a, ops, 5, CONTINUE, &hdr));
	EXPECT_EQ(5, hdr.done);
	EXPECT_EQ(5, hdr.failed);
	for (i = 0; i < 5; i++) {
		EXPECT_EQ(-EFAULT, ops[i].result) TH_LOG("op %u", i);
		EXPECT_EQ(0, ops[i].out);
		EXPECT_EQ(0, ops[i].fault);
		EXPECT_EQ(0, ops[i].fault_addr);
		EXPECT_EQ(0, ops[i].pte);
	}
	state_take(_metadata, self->a, &self->sa);
	EXPECT_TRUE(state_same(_metadata, &before, &self->sa,
			       "after bad buffers"));
	munmap(half, PAGE);
	munmap(none, PAGE);
}

/*
 * Without CONTINUE the batch stops after the first op whose result is not
 * 0: an errno or a fault.  The ops after it are not run and not written.
 */
TEST_F_TIMEOUT(batch, it_stops_at_the_first_failure_without_continue, 60)
{
	const struct torusmm_batch_op errno_mid[] = {
		{ .op = MM, .addr = HOLE, .length = PAGE, .prot = RW,
		  .flags = FIXED },
		{ .op = T, .addr = HOLE, .access = WRITE | USER },
		{ .op = UM, .addr = HOLE + 1, .length = PAGE },
		{ .op = MM, .addr = HOLE + PAGE, .length = PAGE, .prot = RW,
		  .flags = FIXED },
		{ .op = T, .addr = HOLE + PAGE, .access = WRITE | USER },
	};
	const struct torusmm_batch_op fault_mid[] = {
		{ .op = T, .addr = ADDR + 9 * PAGE, .access = USER },
		{ .op = T, .addr = ADDR + 4 * PAGE, .access = WRITE | USER },
		{ .op = MP, .addr = ADDR, .length = 4 * PAGE, .prot = R },
	};
	const struct torusmm_batch_op rw_fault_mid[] = {
		{ .op = WR, .addr = ADDR + 3 * PAGE, .length = 2 * PAGE,
		  .buf = 0, .access = USER },
		{ .op = UM, .addr = ADDR, .length = PAGE },
	};
	struct torusmm_batch_op v[5];
	struct torusmm_batch hdr;
	struct state before;

	twin_run(_metadata, self, errno_mid, 5, 0, NULL);
	twin_run(_metadata, self, fault_mid, 3, 0, NULL);
	twin_run(_metadata, self, rw_fault_mid, 2, 0, NULL);

	/* Explicitly: errno_mid stopped after op 2, HOLE + PAGE unmapped. */
	memcpy(v, errno_mid, sizeof(errno_mid));
	v[0].addr = HOLE + 32 * PAGE;
	v[1].addr = HOLE + 32 * PAGE;
	v[2].addr = HOLE + 32 * PAGE + 1;
	v[3].addr = HOLE + 33 * PAGE;
	v[4].addr = HOLE + 33 * PAGE;
	memset(&v[3].result, GARBAGE, OUT_BYTES);
	memset(&v[4].result, GARBAGE, OUT_BYTES);
	state_take(_metadata, self->a, &before);
	ASSERT_EQ(0, batch(self->a, v, 5, 0, &hdr));
	EXPECT_EQ(3, hdr.done);
	EXPECT_EQ(1, hdr.failed);
	EXPECT_EQ(0, v[0].result);
	EXPECT_EQ(HOLE + 32 * PAGE, v[0].out);
	EXPECT_EQ(0, v[1].result);
	EXPECT_EQ(-EINVAL, v[2].result);
	EXPECT_EQ(0, v[2].out);
	EXPECT_EQ((__s32)0xa5a5a5a5, v[3].result) TH_LOG("op 3 was written");
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ull, v[4].out) TH_LOG("op 4 was written");
	EXPECT_EQ(1, torusmm_translate(self->a, HOLE + 33 * PAGE, USER, PEEK,
				       &(struct torusmm_translate){ 0 }));
}

/* With CONTINUE every op runs; failed counts the failures. */
TEST_F_TIMEOUT(batch, continue_runs_every_op_past_failures, 60)
{
	const struct torusmm_batch_op ops[] = {
		{ .op = MM, .addr = HOLE, .length = PAGE, .prot = RW,
		  .flags = FIXED },
		{ .op = UM, .addr = HOLE + 1, .length = PAGE },
		{ .op = T, .addr = HOLE + PAGE, .access = USER },
		{ .op = 99 },
		{ .op = MM, .addr = HOLE + PAGE, .length = PAGE, .prot = RW,
		  .flags = FIXED },
		{ .op = T, .addr = HOLE + PAGE, .access = WRITE | USER },
	};
	struct torusmm_batch_op v[6];
	struct torusmm_batch hdr;

	twin_run(_metadata, self, ops, 6, CONTINUE, NULL);
	memcpy(v, ops, sizeof(ops));
	v[0].addr = HOLE + 40 * PAGE;
	v[2].addr = HOLE + 41 * PAGE;
	v[4].addr = HOLE + 41 * PAGE;
	v[5].addr = HOLE + 41 * PAGE;
	ASSERT_EQ(0, batch(self->a, v, 6, CONTINUE, &hdr));
	EXPECT_EQ(6, hdr.done);
	EXPECT_EQ(3, hdr.failed);
	EXPECT_EQ(-EINVAL, v[1].result);
	EXPECT_EQ(1, v[2].result);
	EXPECT_EQ(F_U, v[2].fault);
	EXPECT_EQ(-EINVAL, v[3].result);
	EXPECT_EQ(0, v[5].result);
	EXPECT_NE(0, v[5].out);
}

/* Counts 1 and TORUSMM_BATCH_MAX run; 0 and MAX + 1 are EINVAL. */
TEST_F_TIMEOUT(batch, count_must_be_1_to_batch_max, 120)
{
	size_t size = (TORUSMM_BATCH_MAX + 1) * OP_SIZE;
	struct torusmm_batch_op *v = malloc(size), *copy = malloc(size);
	struct torusmm_batch hdr;
	struct state before;
	unsigned int i;

	ASSERT_TRUE(v && copy);
	/* Every op would map a page, op 0 at the hole. */
	for (i = 0; i <= TORUSMM_BATCH_MAX; i++)
		v[i] = (struct torusmm_batch_op){
			.op = MM, .addr = HOLE, .length = PAGE, .prot = RW,
			.flags = FIXED,
		};
	memcpy(copy, v, size);
	state_take(_metadata, self->a, &before);
	EXPECT_EQ(-EINVAL, batch(self->a, v, TORUSMM_BATCH_MAX + 1, 0, &hdr));
	EXPECT_EQ(-EINVAL, batch(self->a, v, 0, 0, &hdr));
	EXPECT_EQ(-EINVAL, batch(self->a, v, 0xffffffffu, 0, &hdr));
	EXPECT_EQ(-EINVAL, batch(self->a, v, 1, 2, &hdr));
	EXPECT_EQ(-EINVAL, batch(self->a, v, 1, CONTINUE | (1u << 31), &hdr));
	EXPECT_EQ(0, memcmp(v, copy, size)) TH_LOG("a refused vector was written");
	state_take(_metadata, self->a, &self->sa);
	EXPECT_TRUE(state_same(_metadata, &before, &self->sa,
			       "after refused vectors"));

	/* MAX ops, each a translation of its own page of the window. */
	for (i = 0; i < TORUSMM_BATCH_MAX; i++)
		v[i] = (struct torusmm_batch_op){
			.op = T, .addr = ADDR + (i % 4) * PAGE + i,
			.access = USER, .out = ~0ull, .result = -1,
		};
	ASSERT_EQ(0, batch(self->a, v, TORUSMM_BATCH_MAX, 0, &hdr));
	EXPECT_EQ(TORUSMM_BATCH_MAX, hdr.done);
	EXPECT_EQ(0, hdr.failed);
	for (i = 0; i < TORUSMM_BATCH_MAX; i++)
		if (v[i].result || !v[i].out ||
		    (v[i].out & (PAGE - 1)) != ((ADDR + i) & (PAGE - 1)))
			break;
	EXPECT_EQ(TORUSMM_BATCH_MAX, i) TH_LOG("op %u: result %d out %#llx",
					       i, v[i].result,
					       (unsigned long long)v[i].out);
	state_take(_metadata, self->a, &self->sa);
	EXPECT_EQ(before.stats.nr_translations + TORUSMM_BATCH_MAX,
		  self->sa.stats.nr_translations);

	/* Count 1 of a vector of MAX + 1: only op 0 runs. */
	for (i = 0; i <= TORUSMM_BATCH_MAX; i++)
		v[i] = copy[i];
	ASSERT_EQ(0, batch(self->a, v, 1, 0, &hdr));
	EXPECT_EQ(1, hdr.done);
	EXPECT_EQ(0, hdr.failed);
	EXPECT_EQ(HOLE, v[0].out);
	EXPECT_EQ(0, memcmp(v + 1, copy + 1, TORUSMM_BATCH_MAX * OP_SIZE));
	free(v);
	free(copy);
}

/*
 * A vector whose last op's 72 bytes run into an unmapped page: EFAULT,
 * and op 0, which would have mapped the hole, did not run.
 */
TEST_F_TIMEOUT(batch, a_vector_running_into_an_unmapped_page_is_efault, 60)
{
	unsigned char *pages = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const unsigned int n = 4;
	struct torusmm_batch_op *v;
	unsigned char copy[4 * sizeof(struct torusmm_batch_op)];
	struct torusmm_batch hdr;
	struct state before;
	unsigned int i, tail;

	ASSERT_TRUE(pages != MAP_FAILED);
	ASSERT_EQ(0, munmap(pages + PAGE, PAGE));
	for (tail = 1; tail < OP_SIZE; tail += 35) {
		/* The last op has @tail bytes in the unmapped page. */
		v = (struct torusmm_batch_op *)(pages + PAGE - n * OP_SIZE +
						tail);
		for (i = 0; i < n - 1; i++)
			v[i] = (struct torusmm_batch_op){
				.op = MM, .addr = HOLE, .length = PAGE,
				.prot = RW, .flags = FIXED,
			};
		memcpy(copy, v, (n - 1) * OP_SIZE);
		state_take(_metadata, self->a, &before);
		EXPECT_EQ(-EFAULT, batch(self->a, v, n, 0, &hdr))
			TH_LOG("%u bytes unmapped", tail);
		EXPECT_EQ(-EFAULT, batch(self->a, v, n, CONTINUE, &hdr));
		EXPECT_EQ(0, memcmp(copy, v, (n - 1) * OP_SIZE))
			TH_LOG("the readable part of the vector was written");
		EXPECT_EQ(0xdeadbeef, hdr.done);
		EXPECT_EQ(0xfeedface, hdr.failed);
		state_take(_metadata, self->a, &self->sa);
		EXPECT_TRUE(state_same(_metadata, &before, &self->sa,
				       "after a vector running off the end"));
		/* The same ops, one fewer: they run. */
		if (tail + 35 >= OP_SIZE) {
			ASSERT_EQ(0, batch(self->a, v, n - 1, CONTINUE, &hdr));
			EXPECT_EQ(n - 1, hdr.done);
			EXPECT_EQ(0, v[0].result);
			EXPECT_EQ(HOLE, v[0].out);
		}
	}
	munmap(pages, PAGE);
}

/* A vector or header the caller may read but not write: EFAULT, nothing ran. */
TEST_F_TIMEOUT(batch, a_read_only_vector_or_header_is_efault, 60)
{
	unsigned char *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct torusmm_batch_op *v = (struct torusmm_batch_op *)page;
	struct torusmm_batch_op ok = {
		.op = MM, .addr = HOLE, .length = PAGE, .prot = RW,
		.flags = FIXED,
	};
	struct torusmm_batch *ro_hdr;
	struct torusmm_batch hdr;
	unsigned char copy[2 * sizeof(struct torusmm_batch_op)];
	struct state before;

	ASSERT_TRUE(page != MAP_FAILED);
	v[0] = ok;
	v[1] = (struct torusmm_batch_op){ .op = T, .addr = HOLE,
					  .access = WRITE | USER };
	memcpy(copy, v, sizeof(copy));
	/* The header, read-only, after the vector in the same page. */
	ro_hdr = (struct torusmm_batch *)(page + 2048);
	memset(ro_hdr, 0, sizeof(*ro_hdr));
	ro_hdr->ops = torusmm_ptr(&ok);
	ro_hdr->count = 1;
	ASSERT_EQ(0, mprotect(page, PAGE, PROT_READ));
	state_take(_metadata, self->a, &before);

	EXPECT_EQ(-EFAULT, batch(self->a, v, 2, 0, &hdr));
	EXPECT_EQ(-EFAULT, batch(self->a, v, 2, CONTINUE, &hdr));
	EXPECT_EQ(-EFAULT, torusmm_ioctl(self->a, TORUSMM_BATCH, ro_hdr));
	EXPECT_EQ(-EFAULT, batch(self->a, NULL, 1, 0, &hdr));
	EXPECT_EQ(-EFAULT, batch(self->a, (void *)(uintptr_t)0x10, 1, 0, &hdr));
	EXPECT_EQ(-EFAULT, torusmm_ioctl(self->a, TORUSMM_BATCH, NULL));
	EXPECT_EQ(0, memcmp(copy, v, sizeof(copy)));
	EXPECT_EQ(0, ok.out) TH_LOG("the op behind a read-only header ran");
	state_take(_metadata, self->a, &self->sa);
	EXPECT_TRUE(state_same(_metadata, &before, &self->sa,
			       "after read-only vectors"));
	munmap(page, PAGE);
}

/* result, fault, out, fault_addr and pte are outputs: garbage in is fine. */
TEST_F_TIMEOUT(batch, output_fields_are_ignored_on_input, 60)
{
	struct torusmm_batch_op ops[ARRAY_SIZE(single_rows)];
	unsigned int i;

	memcpy(ops, single_rows, sizeof(ops));
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		ops[i].result = (__s32)(0x80000001u + i);
		ops[i].fault = 0xffffffffu;
		ops[i].out = 0x123456789abcdef0ull + i;
		ops[i].fault_addr = ~0ull;
		ops[i].pte = 0xffffffffu;
	}
	twin_run(_metadata, self, ops, ARRAY_SIZE(ops), CONTINUE, NULL);
	/* and once with every byte of the outputs 0xff, op by op */
	for (i = 0; i < ARRAY_SIZE(ops) && _metadata->passed; i++) {
		struct torusmm_batch_op one = single_rows[i];

		memset(&one.result, 0xff, OUT_BYTES);
		twin_run(_metadata, self, &one, 1, 0, NULL);
	}
}

/* A non-zero field an op does not use makes that op -EINVAL, and only it. */
TEST_F_TIMEOUT(batch, unused_fields_and_unknown_ops_are_einval, 60)
{
	static const struct torusmm_batch_op bad[] = {
		{ .op = T, .addr = ADDR, .length = 1 },
		{ .op = T, .addr = ADDR, .buf = 1 },
		{ .op = T, .addr = ADDR, .prot = R },
		{ .op = T, .addr = ADDR, .reserved = 1 },
		{ .op = RD, .addr = ADDR, .length = 1, .flags = 1 },
		{ .op = RD, .addr = ADDR, .length = 1, .prot = R },
		{ .op = RD, .addr = ADDR, .length = 1, .reserved = 1u << 31 },
		{ .op = WR, .addr = ADDR, .length = 1, .flags = PEEK },
		{ .op = WR, .addr = ADDR, .length = 1, .prot = RW },
		{ .op = WR, .addr = ADDR, .length = 1, .reserved = 1 },
		{ .op = MM, .addr = HOLE, .length = PAGE, .prot = RW,
		  .flags = FIXED, .buf = 1 },
		{ .op = MM, .addr = HOLE, .length = PAGE, .prot = RW,
		  .flags = FIXED, .access = USER },
		{ .op = MM, .addr = HOLE, .length = PAGE, .prot = RW,
		  .flags = FIXED, .reserved = 1 },
		{ .op = UM, .addr = ADDR, .length = PAGE, .buf = 1 },
		{ .op = UM, .addr = ADDR, .length = PAGE, .access = USER },
		{ .op = UM, .addr = ADDR, .length = PAGE, .prot = R },
		{ .op = UM, .addr = ADDR, .length = PAGE, .flags = 1 },
		{ .op = UM, .addr = ADDR, .length = PAGE, .reserved = 1 },
		{ .op = MP, .addr = ADDR, .length = PAGE, .prot = R, .buf = 1 },
		{ .op = MP, .addr = ADDR, .length = PAGE, .prot = R,
		  .access = USER },
		{ .op = MP, .addr = ADDR, .length = PAGE, .prot = R,
		  .flags = 1 },
		{ .op = MP, .addr = ADDR, .length = PAGE, .prot = R,
		  .reserved = 1 },
		{ .op = 0, .addr = ADDR },
		{ .op = 7, .addr = HOLE, .length = PAGE, .prot = RW,
		  .flags = FIXED },
		{ .op = 0xffffffffu },
		{ .op = 0x100 | MM, .addr = HOLE, .length = PAGE, .prot = RW,
		  .flags = FIXED },
	};
	struct torusmm_batch_op v[ARRAY_SIZE(bad) + 1];
	struct torusmm_batch hdr;
	struct state before;
	unsigned int i;

	memcpy(v, bad, sizeof(bad));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		memset(&v[i].result, GARBAGE, OUT_BYTES);
	/* The last op is good: CONTINUE gets to it. */
	v[ARRAY_SIZE(bad)] = (struct torusmm_batch_op){
		.op = T, .addr = ADDR + 10, .access = USER,
	};
	state_take(_metadata, self->a, &before);
	ASSERT_EQ(0, batch(self->a, v, ARRAY_SIZE(v), CONTINUE, &hdr));
	EXPECT_EQ(ARRAY_SIZE(v), hdr.done);
	EXPECT_EQ(ARRAY_SIZE(bad), hdr.failed);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, v[i].result)
			TH_LOG("row %u (%s)", i, op_name(bad[i].op));
		EXPECT_EQ(0, v[i].fault);
		EXPECT_EQ(0, v[i].out);
		EXPECT_EQ(0, v[i].fault_addr);
		EXPECT_EQ(0, v[i].pte);
		v[i].result = bad[i].result;
		v[i].fault = bad[i].fault;
		v[i].out = bad[i].out;
		v[i].fault_addr = bad[i].fault_addr;
		v[i].pte = bad[i].pte;
		EXPECT_EQ(0, memcmp(&v[i], &bad[i], OP_SIZE))
			TH_LOG("row %u: inputs written", i);
	}
	EXPECT_EQ(0, v[ARRAY_SIZE(bad)].result);
	state_take(_metadata, self->a, &self->sa);
	before.stats.nr_translations++;
	EXPECT_TRUE(state_same(_metadata, &before, &self->sa,
			       "after rejected ops"));

	/* Without CONTINUE, the first stops it: the good op after it waits. */
	v[0] = bad[10];
	v[1] = (struct torusmm_batch_op){
		.op = MM, .addr = HOLE, .length = PAGE, .prot = RW,
		.flags = FIXED,
	};
	ASSERT_EQ(0, batch(self->a, v, 2, 0, &hdr));
	EXPECT_EQ(1, hdr.done);
	EXPECT_EQ(1, hdr.failed);
	EXPECT_EQ(0, v[1].out);
	EXPECT_EQ(0, v[1].result);
	EXPECT_EQ(1, torusmm_translate(self->a, HOLE, USER, PEEK,
				       &(struct torusmm_translate){ 0 }));
}

/* READ and WRITE ops copy the bytes, several in one vector. */
TEST_F_TIMEOUT(batch, read_and_write_ops_copy_bytes, 60)
{
	unsigned char *src = self->buf_a, *dst = self->buf_b;
	struct torusmm_batch_op v[6];
	struct torusmm_batch hdr;
	unsigned int i;

	for (i = 0; i < 4 * PAGE; i++)
		src[i] = (unsigned char)(i * 7 + 3);
	memset(dst, 0xee, 8 * PAGE);
	memset(v, 0, sizeof(v));
	v[0] = (struct torusmm_batch_op){ .op = WR, .addr = ADDR + 8 * PAGE + 5,
		.length = 3 * PAGE, .buf = torusmm_ptr(src), .access = USER };
	v[1] = (struct torusmm_batch_op){ .op = RD, .addr = ADDR + 8 * PAGE + 5,
		.length = 3 * PAGE, .buf = torusmm_ptr(dst), .access = USER };
	v[2] = (struct torusmm_batch_op){ .op = RD, .addr = ADDR + 8 * PAGE,
		.length = 1, .buf = torusmm_ptr(dst + 4 * PAGE) };
	/* a read that stops at the PROT_NONE page 12, after 2 pages */
	v[3] = (struct torusmm_batch_op){ .op = RD, .addr = ADDR + 10 * PAGE,
		.length = 3 * PAGE, .buf = torusmm_ptr(dst + 5 * PAGE),
		.access = USER };
	v[4] = (struct torusmm_batch_op){ .op = RD, .addr = ADDR,
		.length = 0, .buf = 0 };
	v[5] = (struct torusmm_batch_op){ .op = WR, .addr = ADDR + 4 * PAGE,
		.length = 4, .buf = torusmm_ptr(src), .access = USER };
	ASSERT_EQ(0, batch(self->a, v, 6, CONTINUE, &hdr));
	EXPECT_EQ(6, hdr.done);
	EXPECT_EQ(2, hdr.failed);
	EXPECT_EQ(0, v[0].result);
	EXPECT_EQ(3 * PAGE, v[0].out);
	EXPECT_EQ(0, v[1].result);
	EXPECT_EQ(3 * PAGE, v[1].out);
	EXPECT_EQ(0, memcmp(src, dst, 3 * PAGE));
	EXPECT_EQ(0xee, dst[3 * PAGE]) TH_LOG("READ wrote past its length");
	EXPECT_EQ(0, v[2].result);
	EXPECT_EQ(0, dst[4 * PAGE]);
	EXPECT_EQ(0xee, dst[4 * PAGE + 1]);
	EXPECT_EQ(1, v[3].result);
	EXPECT_EQ(2 * PAGE, v[3].out);
	EXPECT_EQ(F_U, v[3].fault);
	EXPECT_EQ(ADDR + 12 * PAGE, v[3].fault_addr);
	EXPECT_EQ(0, memcmp(dst + 5 * PAGE, src + 2 * PAGE - 5, 5 + PAGE - 5));
	EXPECT_EQ(0xee, dst[7 * PAGE]) TH_LOG("READ wrote past the fault");
	EXPECT_EQ(0, v[4].result);
	EXPECT_EQ(0, v[4].out);
	EXPECT_EQ(1, v[5].result);
	EXPECT_EQ(0, v[5].out);
	EXPECT_EQ(F_P | F_W | F_U, v[5].fault);
	EXPECT_EQ(ADDR + 4 * PAGE, v[5].fault_addr);
}

/* Map, translate what was mapped, unmap it: one vector. */
TEST_F_TIMEOUT(batch, mmap_translate_munmap_in_one_vector, 60)
{
	struct torusmm_space_stats stats, after;
	struct torusmm_batch_op v[7];
	struct torusmm_batch hdr;
	const __u64 at = 0x20000000u;

	ASSERT_EQ(0, torusmm_stats(self->a, &stats));
	memset(v, 0, sizeof(v));
	v[0] = (struct torusmm_batch_op){ .op = MM, .addr = at,
		.length = 2 * PAGE, .prot = RW, .flags = FIXED };
	v[1] = (struct torusmm_batch_op){ .op = T, .addr = at + 8,
		.access = WRITE | USER };
	v[2] = (struct torusmm_batch_op){ .op = T, .addr = at + PAGE,
		.access = USER };
	v[3] = (struct torusmm_batch_op){ .op = T, .addr = at + 8,
		.access = USER, .flags = PEEK };
	v[4] = (struct torusmm_batch_op){ .op = UM, .addr = at,
		.length = 2 * PAGE };
	v[5] = (struct torusmm_batch_op){ .op = T, .addr = at + 8,
		.access = USER };
	v[6] = (struct torusmm_batch_op){ .op = MM, .length = PAGE,
		.prot = R };
	ASSERT_EQ(0, batch(self->a, v, 7, 0, &hdr));
	/* v[5] faults (result 1): the batch stops there. */
	EXPECT_EQ(6, hdr.done);
	EXPECT_EQ(1, hdr.failed);
	EXPECT_EQ(0, v[0].result);
	EXPECT_EQ(at, v[0].out);
	EXPECT_EQ(0, v[1].result);
	EXPECT_NE(0, v[1].out);
	EXPECT_NE(ZERO_TPA, v[1].out & ~(__u64)(PAGE - 1));
	EXPECT_EQ(8, v[1].out & (PAGE - 1));
	EXPECT_EQ(TORUSMM_PTE_ACCESSED | TORUSMM_PTE_DIRTY,
		  v[1].pte & (TORUSMM_PTE_ACCESSED | TORUSMM_PTE_DIRTY));
	EXPECT_EQ(0, v[2].result);
	EXPECT_EQ(ZERO_TPA, v[2].out);
	EXPECT_EQ(ZERO_PTE_RW, v[2].pte);
	EXPECT_EQ(0, v[3].result);
	EXPECT_EQ(v[1].out, v[3].out);
	EXPECT_EQ(v[1].pte, v[3].pte);
	EXPECT_EQ(0, v[4].result);
	EXPECT_EQ(1, v[5].result);
	EXPECT_EQ(F_U, v[5].fault);
	EXPECT_EQ(0, v[5].out);
	EXPECT_EQ(0, v[5].pte);
	EXPECT_EQ(0, v[6].result);
	EXPECT_EQ(0, v[6].out);
	ASSERT_EQ(0, torusmm_stats(self->a, &after));
	EXPECT_EQ(stats.nr_data_frames, after.nr_data_frames);
	EXPECT_EQ(stats.nr_regions, after.nr_regions);
	EXPECT_EQ(stats.nr_faults + 2, after.nr_faults);
	EXPECT_EQ(stats.nr_fault_errors + 1, after.nr_fault_errors);
	EXPECT_EQ(stats.nr_translations + 3, after.nr_translations);

	/* With CONTINUE, op 6 maps a page wherever there is room. */
	memset(&v[0].result, 0, OUT_BYTES);
	ASSERT_EQ(0, batch(self->a, v, 7, CONTINUE, &hdr));
	EXPECT_EQ(7, hdr.done);
	EXPECT_EQ(1, hdr.failed);
	EXPECT_EQ(0, v[6].result);
	EXPECT_NE(0, v[6].out);
}

/*
 * Long vectors: a failure after the first 64 ops (past any chunk the kernel
 * may work in, and at the last op of one) stops the batch there without
 * CONTINUE; the ops after it are not run nor written, those before it are.
 * The op after the failure would make page 8 read-only.
 */
TEST_F_TIMEOUT(batch, a_failure_late_in_a_long_vector_stops_it_there, 120)
{
	static const unsigned int fails[] = { 63, 64, 127, 200 };
	const unsigned int n = 300;
	struct torusmm_batch_op *v = calloc(n, OP_SIZE);
	struct torusmm_batch_op *sent = calloc(n, OP_SIZE);
	struct torusmm_translate tr;
	struct torusmm_batch hdr;
	unsigned int i, f, fail;

	ASSERT_TRUE(v && sent);
	for (f = 0; f < ARRAY_SIZE(fails); f++) {
		fail = fails[f];
		for (i = 0; i < n; i++) {
			v[i] = (struct torusmm_batch_op){
				.op = T, .addr = ADDR + (i % 3) * PAGE + i,
				.access = i % 2 ? USER : WRITE | USER,
			};
			memset(&v[i].result, GARBAGE, OUT_BYTES);
		}
		/* a fault (result 1), or an unknown op (-EINVAL) */
		if (f % 2) {
			v[fail].op = 99;
		} else {
			v[fail].addr = HOLE;
			v[fail].access = USER;
		}
		v[fail + 1] = (struct torusmm_batch_op){
			.op = MP, .addr = ADDR + 8 * PAGE, .length = PAGE,
			.prot = R,
		};
		memcpy(sent, v, n * OP_SIZE);
		ASSERT_EQ(0, batch(self->a, v, n, 0, &hdr));
		EXPECT_EQ(fail + 1, hdr.done) TH_LOG("failure at op %u", fail);
		EXPECT_EQ(1, hdr.failed);
		for (i = 0; i < fail; i++)
			if (v[i].result || !v[i].out)
				break;
		EXPECT_EQ(fail, i) TH_LOG("op %u: %d", i, v[i].result);
		EXPECT_EQ(f % 2 ? -EINVAL : 1, v[fail].result);
		EXPECT_EQ(f % 2 ? 0 : F_U, v[fail].fault);
		EXPECT_EQ(0, memcmp(v + fail + 1, sent + fail + 1,
				    (n - fail - 1) * OP_SIZE))
			TH_LOG("failure at op %u: ops after it were written",
			       fail);
		EXPECT_EQ(0, torusmm_translate(self->a, ADDR + 8 * PAGE,
					       WRITE | USER, 0, &tr))
			TH_LOG("failure at op %u: the MPROTECT after it ran",
			       fail);

		memcpy(v, sent, n * OP_SIZE);
		ASSERT_EQ(0, batch(self->a, v, n, CONTINUE, &hdr));
		EXPECT_EQ(n, hdr.done);
		EXPECT_EQ(1, hdr.failed);
		EXPECT_EQ(0, v[n - 1].result);
		EXPECT_EQ(0, v[fail + 1].result);
		ASSERT_EQ(0, torusmm_mprotect(self->a, ADDR + 8 * PAGE, PAGE,
					      RW));
	}
	free(v);
	free(sent);
}

/* A small deterministic generator (splitmix64), so a seed replays. */
static __u64 rng_state;

static __u64 rnd(__u64 n)
{
	__u64 z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return n ? z % n : z;
}

static __u64 rnd_addr(void)
{
	switch (rnd(16)) {
	case 0:
		return KERNEL - PAGE + rnd(2) * PAGE;
	case 1:
		return rnd(4) ? HOLE : SZ_4G;
	case 2:
		return 0;
	default:
		return ADDR + rnd(WINDOW_PAGES) * PAGE;
	}
}

/*
 * One random op; buf is an offset into the 16-page buffers, or raw.  With
 * @translates, mostly translations: runs of them in a row.
 */
static void rnd_op(struct torusmm_batch_op *op, bool *raw, unsigned char *ro,
		   bool translates)
{
	static const __u32 accesses[] = {
		0, USER, WRITE, WRITE | USER, EXEC, EXEC | USER, WRITE | EXEC,
	};
	static const __u32 map_flags[] = {
		FIXED, FIXED, NOREPLACE, FIXED | POPULATE, 0, POPULATE,
	};

	memset(op, 0, sizeof(*op));
	*raw = false;
	op->op = translates && rnd(8) ? T : 1 + rnd(6);
	op->addr = rnd_addr();
	switch (op->op) {
	case T:
		op->addr += rnd(4) ? rnd(PAGE) : 0;
		op->access = accesses[rnd(ARRAY_SIZE(accesses))];
		op->flags = rnd(5) ? 0 : PEEK;
		break;
	case RD:
	case WR:
		op->addr += rnd(PAGE);
		op->length = rnd(8) ? rnd(3 * PAGE) : rnd(8) * PAGE;
		op->buf = rnd(8 * PAGE);
		op->access = rnd(2) ? USER : 0;
		if (!rnd(20)) {
			*raw = true;
			op->buf = rnd(2) ? 0 : torusmm_ptr(ro);
		}
		break;
	case MM:
		op->length = (1 + rnd(4)) * PAGE - (rnd(4) ? 0 : 1);
		op->prot = rnd(8);
		op->flags = map_flags[rnd(ARRAY_SIZE(map_flags))];
		break;
	case UM:
		op->length = (1 + rnd(6)) * PAGE;
		break;
	case MP:
		op->length = rnd(6) * PAGE;
		op->prot = rnd(8);
		break;
	}
	/* Now and then something bad in a field. */
	switch (rnd(40)) {
	case 0:
		op->op = rnd(2) ? 0 : 7 + rnd(100);
		break;
	case 1:
		op->reserved = 1;
		break;
	case 2:
		op->prot |= op->op == MM || op->op == MP ? 0x10 : 1;
		break;
	case 3:
		op->flags |= 1u << 30;
		break;
	}
	/* Outputs are garbage on input. */
	memset(&op->result, (int)rnd(256), OUT_BYTES);
}

/*
 * Random vectors, run as one batch on a and op by op on b; the same seed
 * gives the same vectors.
 */
TEST_F_TIMEOUT(batch, random_vectors_match_ops_issued_one_by_one, 300)
{
	struct torusmm_batch_op ops[200];
	bool raw[200];
	const char *env = getenv("TORUSMM_SEED");
	__u64 seed = env ? strtoull(env, NULL, 0) : (__u64)time(NULL);
	unsigned int round, rounds = 150, n, i;

	ksft_print_msg("random_vectors: seed %llu (TORUSMM_SEED=%llu replays)\n",
		       (unsigned long long)seed, (unsigned long long)seed);
	fflush(stdout);	/* the harness's child ends with _exit() */
	rng_state = seed;
	for (i = 0; i < 16 * PAGE; i++)
		self->buf_a[i] = (unsigned char)rnd(256);
	memcpy(self->buf_b, self->buf_a, 16 * PAGE);
	for (round = 0; round < rounds && _metadata->passed; round++) {
		__u32 flags = rnd(2) ? CONTINUE : 0;
		bool translates = rnd(3) == 0;

		/* Now and then longer than a kernel chunk (64 ops). */
		n = 1 + rnd(rnd(4) ? 32 : ARRAY_SIZE(ops));
		for (i = 0; i < n; i++)
			rnd_op(&ops[i], &raw[i], self->ro, translates);
		twin_run(_metadata, self, ops, n, flags, raw);
		if (!_metadata->passed)
			TH_LOG("seed %llu, round %u, %u ops, flags %#x%s",
			       (unsigned long long)seed, round, n, flags,
			       translates ? ", mostly translations" : "");
	}
	ksft_print_msg("random_vectors: %u rounds\n", round);
	fflush(stdout);
}

TEST_HARNESS_MAIN
