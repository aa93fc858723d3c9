// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm-bench: what torusmm costs against the kernel's own memory
 * management, row by row, in one run on one machine.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * Every row times the same work twice: once through torusmm and once through
 * its native equivalent on real memory of this process (mmap, munmap,
 * mprotect, MAP_POPULATE, a store or a load, process_vm_readv/writev, memcpy,
 * fork, soft-dirty bits in /proc/self/pagemap).  Each side is repeated N
 * times; a row gives the median, minimum and maximum of each side and the
 * ratio of the medians, always torusmm time / native time for the same work
 * (for a MiB/s row, native MiB/s / torusmm MiB/s, the same thing).  One row
 * compares torusmm with itself: allocation on a 95%-full torus against the
 * same allocation on an empty one.
 *
 * The table is printed between TORUSMM-BENCH-TABLE-BEGIN and -END lines and
 * the same figures, with the per-size series behind the plots, as CSV
 * between TORUSMM-BENCH-CSV-BEGIN and -END lines, for scripts/bench.sh to
 * pick out of a VM's console log.
 *
 * Nothing is asserted about time.  A row whose feature the module lacks says
 * so instead of a number; a call that fails ends its row with the call and
 * the errno, and the exit status is then 1.  Native memory should be made of
 * 4 KiB pages as a torus is: scripts/bench.sh turns transparent huge pages
 * off in the VM, and the header line says what they were.
 *
 * The torus must hold the largest populate size (512 MiB by default) and
 * the 95%-full row fills whatever the torus has: load torusmm with
 * torus_mb=1024 for the figures of the README.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libtorusmm.h"

#define PAGE		TORUSMM_PAGE_SIZE
#define MIB		(1024u * 1024u)
#define PROT_RW		(TORUSMM_PROT_READ | TORUSMM_PROT_WRITE)
#define BENCH_ADDR	0x10000000ull	/* space address of every region */
#define CHUNK		MIB		/* bulk copies go 1 MiB at a time */
#define DEFAULT_REPS	5
#define MAX_REPS	101
#define DEFAULT_MIB	16
#define FULL_PERCENT	95
#define PM_SOFT_DIRTY	55		/* bit of a /proc/self/pagemap entry */

static const char *const prog = "torusmm-bench";

enum row_unit { NS_PER_PAGE, NS_PER_OP, US_PER_CALL, MIB_PER_S };

static const char *const unit_names[] = {
	[NS_PER_PAGE] = "ns/page",
	[NS_PER_OP] = "ns/op",
	[US_PER_CALL] = "us/call",
	[MIB_PER_S] = "MiB/s",
};

/*
 * One measured row: the samples of each side in the row's unit.  A row
 * with a note has no figure for the side(s) the note speaks of.
 */
struct row {
	char metric[64];
	enum row_unit unit;
	bool in_table;		/* printed in the table, not only in the CSV */
	const char *series;	/* the plot it feeds, or NULL */
	unsigned int size_mib;	/* its size, for the plots */
	unsigned int n;		/* samples of each side */
	double tmm[MAX_REPS];
	double native[MAX_REPS];
	char note[120];		/* why there are no figures */
};

#define MAX_ROWS	64

struct bench {
	int dev;
	unsigned int reps;
	size_t size;		/* the size of most rows */
	size_t pages;
	unsigned char *chunk;	/* a 1 MiB buffer of this process */
	struct row rows[MAX_ROWS];
	unsigned int nr_rows;
	int failed;		/* rows that ended in an error */
	__u64 sink;		/* what the loads read, printed at the end */
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sort @v and return its median. */
static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), compare_doubles);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct row *row_new(struct bench *b, enum row_unit unit, bool in_table,
			   const char *series, unsigned int size_mib,
			   const char *fmt, ...)
{
	struct row *r;
	va_list ap;

	if (b->nr_rows == MAX_ROWS) {
		fprintf(stderr, "%s: more than %d rows\n", prog, MAX_ROWS);
		exit(2);
	}
	r = &b->rows[b->nr_rows++];
	memset(r, 0, sizeof(*r));
	r->unit = unit;
	r->in_table = in_table;
	r->series = series;
	r->size_mib = size_mib;
	va_start(ap, fmt);
	vsnprintf(r->metric, sizeof(r->metric), fmt, ap);
	va_end(ap);
	return r;
}

/* A row the module cannot run: the note stands in for its figures. */
static void row_unavailable(struct row *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
	printf("%s: %s: %s\n", prog, r->metric, r->note);
}

/* @r was not measured because @failed, which it goes with, failed. */
static void row_not_run(struct row *r, const struct row *failed)
{
	snprintf(r->note, sizeof(r->note), "not run: %s failed",
		 failed->metric);
}

/* A call of @r failed with @ret (-errno): the row ends without figures. */
static int row_fail(struct bench *b, struct row *r, const char *call, int ret)
{
	char err[32];

	snprintf(r->note, sizeof(r->note), "FAILED: %s: %s", call,
		 torusmm_strret(ret, err, sizeof(err)));
	fprintf(stderr, "%s: %s: %s\n", prog, r->metric, r->note);
	b->failed++;
	return ret;
}

/* A measurement that returned wrong data: the row ends, and says why. */
static int row_wrong(struct bench *b, struct row *r, const char *fmt, ...)
{
	va_list ap;
	int len;

	len = snprintf(r->note, sizeof(r->note), "FAILED: ");
	va_start(ap, fmt);
	vsnprintf(r->note + len, sizeof(r->note) - len, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s: %s\n", prog, r->metric, r->note);
	b->failed++;
	return -EIO;
}

/*
 * A READ, WRITE or TRANSLATE that did not return 0: an errno, or a fault
 * (1, with its code) where the row expects none.
 */
static int row_call(struct bench *b, struct row *r, const char *call,
		    int ret, __u32 fault)
{
	if (ret < 0)
		return row_fail(b, r, call, ret);
	return row_wrong(b, r, "%s faulted (code 0x%x)", call, fault);
}

/* A sample of @ns for @work units (pages, operations or calls). */
static double per(enum row_unit unit, double ns, double work)
{
	switch (unit) {
	case US_PER_CALL:
		return ns / 1e3 / work;
	case MIB_PER_S:
		return work / MIB / (ns / 1e9);	/* @work is bytes here */
	default:
		return ns / work;
	}
}

/* Map @length bytes read-write at @addr of @fd, with @flags. */
static int space_map(int fd, __u64 addr, size_t length, __u32 flags)
{
	return torusmm_mmap(fd, &addr, length, PROT_RW,
			    TORUSMM_MAP_FIXED | flags);
}

/* Fresh anonymous memory; MAP_POPULATE in @flags populates it. */
static int native_map(size_t length, int flags, unsigned char **p)
{
	void *m = mmap(NULL, length, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (m == MAP_FAILED)
		return -errno;
	*p = m;
	return 0;
}

static int native_unmap(unsigned char *p, size_t length)
{
	return munmap(p, length) ? -errno : 0;
}

/* One store per page, each page a different word and value. */
static void touch(unsigned char *p, size_t pages, unsigned char value)
{
	size_t i;

	for (i = 0; i < pages; i++)
		__atomic_store_n(p + i * PAGE + (i % 64) * 8,
				 (unsigned char)(value + i), __ATOMIC_RELAXED);
}

/* One load per page. */
static __u64 load(const unsigned char *p, size_t pages)
{
	__u64 sum = 0;
	size_t i;

	for (i = 0; i < pages; i++)
		sum += __atomic_load_n(p + i * PAGE + (i % 64) * 8,
				       __ATOMIC_RELAXED);
	return sum;
}

static int new_space(struct bench *b, struct row *r)
{
	int fd = torusmm_create_space(b->dev, TORUSMM_TORUS_ANY, 0);

	if (fd < 0)
		row_fail(b, r, "TORUSMM_CREATE_SPACE", fd);
	return fd;
}

/*
 * Populate then munmap @mib MiB, both sides: TORUSMM_MAP_POPULATE and
 * TORUSMM_MUNMAP against mmap(MAP_POPULATE) and munmap().
 */
static void bench_populate(struct bench *b, unsigned int mib, bool in_table)
{
	struct row *pop = row_new(b, NS_PER_PAGE, in_table, "populate", mib,
				  "populate %u MiB", mib);
	struct row *unmap = row_new(b, NS_PER_PAGE, mib == b->size / MIB,
				    "munmap", mib,
				    "munmap %u MiB populated", mib);
	size_t length = (size_t)mib * MIB, pages = length / PAGE;
	unsigned char *p = NULL;
	double t0, t1, t2;
	unsigned int rep;
	int fd, ret;

	fd = new_space(b, pop);
	if (fd < 0) {
		row_not_run(unmap, pop);
		return;
	}
	for (rep = 0; rep < b->reps; rep++) {
		t0 = now_ns();
		ret = space_map(fd, BENCH_ADDR, length, TORUSMM_MAP_POPULATE);
		t1 = now_ns();
		if (ret) {
			row_fail(b, pop, "TORUSMM_MMAP(MAP_POPULATE)", ret);
			row_not_run(unmap, pop);
			goto close_space;
		}
		ret = torusmm_munmap(fd, BENCH_ADDR, length);
		t2 = now_ns();
		if (ret) {
			row_fail(b, unmap, "TORUSMM_MUNMAP", ret);
			goto close_space;
		}
		pop->tmm[rep] = per(NS_PER_PAGE, t1 - t0, pages);
		unmap->tmm[rep] = per(NS_PER_PAGE, t2 - t1, pages);

		t0 = now_ns();
		ret = native_map(length, MAP_POPULATE, &p);
		t1 = now_ns();
		if (ret) {
			row_fail(b, pop, "mmap(MAP_POPULATE)", ret);
			row_not_run(unmap, pop);
			goto close_space;
		}
		ret = native_unmap(p, length);
		t2 = now_ns();
		if (ret) {
			row_fail(b, unmap, "munmap", ret);
			goto close_space;
		}
		pop->native[rep] = per(NS_PER_PAGE, t1 - t0, pages);
		unmap->native[rep] = per(NS_PER_PAGE, t2 - t1, pages);
	}
	pop->n = b->reps;
	unmap->n = b->reps;
close_space:
	close(fd);
}

/*
 * First touch of every page of a fresh @mib MiB region: a one-byte
 * TORUSMM_WRITE per page, and a store per page through a shadow, each
 * against a store per page to fresh anonymous memory (measured once, the
 * native side of both rows).
 */
static void bench_first_touch(struct bench *b, unsigned int mib,
			      bool in_table)
{
	struct row *sw = row_new(b, NS_PER_PAGE, in_table, "fault-write", mib,
				 "first touch %u MiB: WRITE ioctl of 1 byte",
				 mib);
	struct row *hw = row_new(b, NS_PER_PAGE, in_table, "fault-shadow",
				 mib, "first touch %u MiB: store via shadow",
				 mib);
	size_t length = (size_t)mib * MIB, pages = length / PAGE, i;
	unsigned char byte = 1, *p = NULL;
	struct torusmm_rw rw;
	void *shadow = NULL;
	unsigned int rep;
	double t0;
	int fd, ret;

	fd = new_space(b, sw);
	if (fd < 0) {
		row_not_run(hw, sw);
		return;
	}
	for (rep = 0; rep < b->reps; rep++) {
		ret = space_map(fd, BENCH_ADDR, length, 0);
		if (ret) {
			row_fail(b, sw, "TORUSMM_MMAP", ret);
			goto fail_both;
		}
		t0 = now_ns();
		for (i = 0; i < pages; i++) {
			ret = torusmm_write(fd, BENCH_ADDR + i * PAGE, &byte, 1,
					    TORUSMM_ACCESS_USER, &rw);
			if (ret) {
				row_call(b, sw, "TORUSMM_WRITE", ret, rw.fault);
				goto fail_both;
			}
		}
		sw->tmm[rep] = per(NS_PER_PAGE, now_ns() - t0, pages);

		/* A fresh region under the same shadow: no frame, no entry. */
		ret = torusmm_munmap(fd, BENCH_ADDR, length);
		if (!ret)
			ret = space_map(fd, BENCH_ADDR, length, 0);
		if (ret) {
			row_fail(b, hw, "TORUSMM_MUNMAP/MMAP", ret);
			goto close_space;
		}
		if (!shadow) {
			ret = torusmm_shadow_map(fd, BENCH_ADDR, length,
						 PROT_READ | PROT_WRITE,
						 &shadow);
			if (ret) {
				row_fail(b, hw, "mmap of the space", ret);
				goto close_space;
			}
		}
		t0 = now_ns();
		touch(shadow, pages, rep);
		hw->tmm[rep] = per(NS_PER_PAGE, now_ns() - t0, pages);
		ret = torusmm_munmap(fd, BENCH_ADDR, length);
		if (ret) {
			row_fail(b, hw, "TORUSMM_MUNMAP", ret);
			goto close_space;
		}

		ret = native_map(length, 0, &p);
		if (ret) {
			row_fail(b, sw, "mmap", ret);
			goto fail_both;
		}
		t0 = now_ns();
		touch(p, pages, rep);
		sw->native[rep] = per(NS_PER_PAGE, now_ns() - t0, pages);
		hw->native[rep] = sw->native[rep];
		ret = native_unmap(p, length);
		if (ret) {
			row_fail(b, sw, "munmap", ret);
			goto fail_both;
		}
	}
	sw->n = b->reps;
	hw->n = b->reps;
	goto close_space;
fail_both:
	if (!hw->note[0])
		row_not_run(hw, sw);
close_space:
	if (!sw->n && !sw->note[0])
		row_not_run(sw, hw);
	if (shadow)
		munmap(shadow, length);
	close(fd);
}

/* A load then a store to each page, as a program reads before it writes. */
static __u64 load_then_touch(unsigned char *p, size_t pages,
			     unsigned char value)
{
	__u64 sum = 0;
	size_t i;

	for (i = 0; i < pages; i++) {
		unsigned char *q = p + i * PAGE + (i % 64) * 8;

		sum += __atomic_load_n(q, __ATOMIC_RELAXED);
		__atomic_store_n(q, (unsigned char)(value + i),
				 __ATOMIC_RELAXED);
	}
	return sum;
}

/*
 * Load, then store, to each page of a fresh @mib MiB region through a
 * shadow, against the same on fresh anonymous memory: the load maps the
 * zero frame (the zero page) read-only, and the store replaces it.
 */
static void bench_load_then_store(struct bench *b, unsigned int mib)
{
	struct row *r = row_new(b, NS_PER_PAGE, true, NULL, mib,
				"load, then store, %u MiB via shadow", mib);
	size_t length = (size_t)mib * MIB, pages = length / PAGE;
	unsigned char *p = NULL;
	void *shadow = NULL;
	unsigned int rep;
	double t0;
	int fd, ret;

	fd = new_space(b, r);
	if (fd < 0)
		return;
	ret = torusmm_shadow_map(fd, BENCH_ADDR, length,
				 PROT_READ | PROT_WRITE, &shadow);
	if (ret) {
		row_fail(b, r, "mmap of the space", ret);
		goto close_space;
	}
	for (rep = 0; rep < b->reps; rep++) {
		ret = space_map(fd, BENCH_ADDR, length, 0);
		if (ret) {
			row_fail(b, r, "TORUSMM_MMAP", ret);
			goto unmap_shadow;
		}
		t0 = now_ns();
		b->sink += load_then_touch(shadow, pages, rep);
		r->tmm[rep] = per(NS_PER_PAGE, now_ns() - t0, pages);
		ret = torusmm_munmap(fd, BENCH_ADDR, length);
		if (ret) {
			row_fail(b, r, "TORUSMM_MUNMAP", ret);
			goto unmap_shadow;
		}

		ret = native_map(length, 0, &p);
		if (ret) {
			row_fail(b, r, "mmap", ret);
			goto unmap_shadow;
		}
		t0 = now_ns();
		b->sink += load_then_touch(p, pages, rep);
		r->native[rep] = per(NS_PER_PAGE, now_ns() - t0, pages);
		ret = native_unmap(p, length);
		if (ret) {
			row_fail(b, r, "munmap", ret);
			goto unmap_shadow;
		}
	}
	r->n = b->reps;
unmap_shadow:
	munmap(shadow, length);
close_space:
	close(fd);
}

/*
 * The working set of the rows below: a space with b->size populated and
 * written, its shadow (pages present and writable in the hardware), and
 * b->size of anonymous memory written too.
 */
struct working_set {
	int fd;
	unsigned char *shadow;
	unsigned char *native;
};

static int working_set_shadow(struct bench *b, struct working_set *ws,
			      struct row *r)
{
	void *p = NULL;
	int ret;

	ret = torusmm_shadow_map(ws->fd, BENCH_ADDR, b->size,
				 PROT_READ | PROT_WRITE, &p);
	if (ret)
		return row_fail(b, r, "mmap of the space", ret);
	ws->shadow = p;
	memset(ws->shadow, 0x5a, b->size);
	return 0;
}

static int working_set_create(struct bench *b, struct working_set *ws,
			      struct row *r)
{
	int ret;

	ws->shadow = NULL;
	ws->native = NULL;
	ws->fd = new_space(b, r);
	if (ws->fd < 0)
		return ws->fd;
	ret = space_map(ws->fd, BENCH_ADDR, b->size, TORUSMM_MAP_POPULATE);
	if (ret)
		return row_fail(b, r, "TORUSMM_MMAP(MAP_POPULATE)", ret);
	ret = working_set_shadow(b, ws, r);
	if (ret)
		return ret;
	ret = native_map(b->size, MAP_POPULATE, &ws->native);
	if (ret)
		return row_fail(b, r, "mmap(MAP_POPULATE)", ret);
	memset(ws->native, 0x5a, b->size);
	return 0;
}

static void working_set_destroy(struct bench *b, struct working_set *ws)
{
	if (ws->shadow)
		munmap(ws->shadow, b->size);
	if (ws->native)
		munmap(ws->native, b->size);
	if (ws->fd >= 0)
		close(ws->fd);
}

/*
 * mprotect of a populated range whose pages are present and writable in
 * the hardware: the whole range to read-only (and back, untimed); one page
 * in the middle to read-only, splitting one region into three; and that
 * page back, merging them into one.
 */
static void bench_mprotect(struct bench *b, struct working_set *ws)
{
	unsigned int mib = b->size / MIB;
	struct row *whole = row_new(b, US_PER_CALL, true, NULL, mib,
				    "mprotect %u MiB read-only", mib);
	struct row *split = row_new(b, US_PER_CALL, true, NULL, mib,
				    "mprotect 1 page of %u MiB (split)", mib);
	struct row *merge = row_new(b, US_PER_CALL, true, NULL, mib,
				    "mprotect 1 page back (merge)", mib);
	__u64 mid = b->size / 2;
	unsigned int rep;
	double t0, t1, t2;
	int ret;

	for (rep = 0; rep < b->reps; rep++) {
		memset(ws->shadow, rep, b->size);
		t0 = now_ns();
		ret = torusmm_mprotect(ws->fd, BENCH_ADDR, b->size,
				       TORUSMM_PROT_READ);
		t1 = now_ns();
		if (!ret)
			ret = torusmm_mprotect(ws->fd, BENCH_ADDR, b->size,
					       PROT_RW);
		if (ret)
			goto tmm_failed;
		whole->tmm[rep] = per(US_PER_CALL, t1 - t0, 1);

		ws->shadow[mid] = rep;
		t0 = now_ns();
		ret = torusmm_mprotect(ws->fd, BENCH_ADDR + mid, PAGE,
				       TORUSMM_PROT_READ);
		t1 = now_ns();
		if (ret)
			goto tmm_failed;
		ret = torusmm_mprotect(ws->fd, BENCH_ADDR + mid, PAGE, PROT_RW);
		t2 = now_ns();
		if (ret)
			goto tmm_failed;
		split->tmm[rep] = per(US_PER_CALL, t1 - t0, 1);
		merge->tmm[rep] = per(US_PER_CALL, t2 - t1, 1);

		memset(ws->native, rep, b->size);
		t0 = now_ns();
		ret = mprotect(ws->native, b->size, PROT_READ);
		t1 = now_ns();
		if (!ret)
			ret = mprotect(ws->native, b->size,
				       PROT_READ | PROT_WRITE);
		if (ret)
			goto native_failed;
		whole->native[rep] = per(US_PER_CALL, t1 - t0, 1);

		ws->native[mid] = rep;
		t0 = now_ns();
		ret = mprotect(ws->native + mid, PAGE, PROT_READ);
		t1 = now_ns();
		if (ret)
			goto native_failed;
		ret = mprotect(ws->native + mid, PAGE, PROT_READ | PROT_WRITE);
		t2 = now_ns();
		if (ret)
			goto native_failed;
		split->native[rep] = per(US_PER_CALL, t1 - t0, 1);
		merge->native[rep] = per(US_PER_CALL, t2 - t1, 1);
	}
	whole->n = b->reps;
	split->n = b->reps;
	merge->n = b->reps;
	return;
tmm_failed:
	row_fail(b, whole, "TORUSMM_MPROTECT", ret);
	goto copy_note;
native_failed:
	row_fail(b, whole, "mprotect", -errno);
copy_note:
	row_not_run(split, whole);
	row_not_run(merge, whole);
}

/* A load per page of the native working set, the native side of a row. */
static void native_loads(struct bench *b, struct working_set *ws,
			 struct row *r, unsigned int rep)
{
	double t0 = now_ns();

	b->sink += load(ws->native, b->pages);
	r->native[rep] = per(NS_PER_OP, now_ns() - t0, b->pages);
}

/*
 * TORUSMM_BATCH of one TRANSLATE per page, per entry.  The vector is
 * built before the clock starts, as a caller would reuse it.
 */
static void bench_batch(struct bench *b, struct working_set *ws)
{
	unsigned int mib = b->size / MIB;
	struct row *r = row_new(b, NS_PER_OP, true, NULL, mib,
				"present page: batched TRANSLATE/entry");
	struct torusmm_batch batch;
	struct torusmm_batch_op *ops;
	unsigned int rep, count, i, max;
	double t0, ns;
	size_t page;
	int ret;

	ret = torusmm_check_extension(b->dev, TORUSMM_CAP_BATCH);
	if (ret <= 0) {
		row_unavailable(r, "not available: CHECK_EXTENSION(TORUSMM_CAP_BATCH) is %d",
				ret);
		return;
	}
	max = ret;
	count = b->pages < max ? b->pages : max;
	ops = calloc(count, sizeof(*ops));
	if (!ops) {
		row_fail(b, r, "calloc", -ENOMEM);
		return;
	}
	for (rep = 0; rep < b->reps; rep++) {
		ns = 0;
		for (page = 0; page < b->pages; page += count) {
			for (i = 0; i < count; i++) {
				memset(&ops[i], 0, sizeof(ops[i]));
				ops[i].op = TORUSMM_OP_TRANSLATE;
				ops[i].addr = BENCH_ADDR +
					      ((page + i) % b->pages) * PAGE;
				ops[i].access = TORUSMM_ACCESS_USER;
			}
			batch = (struct torusmm_batch){
				.ops = torusmm_ptr(ops),
				.count = count,
			};
			t0 = now_ns();
			ret = torusmm_ioctl(ws->fd, TORUSMM_BATCH, &batch);
			ns += now_ns() - t0;
			if (ret == -ENOTTY) {
				row_unavailable(r, "not available: TORUSMM_BATCH returns ENOTTY");
				goto free_ops;
			}
			if (ret) {
				row_fail(b, r, "TORUSMM_BATCH", ret);
				goto free_ops;
			}
			if (batch.done != count || batch.failed) {
				row_wrong(b, r, "TORUSMM_BATCH: %u/%u ran, %u failed (op 0: %d)",
					  batch.done, count, batch.failed,
					  ops[0].result);
				goto free_ops;
			}
		}
		r->tmm[rep] = per(NS_PER_OP, ns,
				  (b->pages + count - 1) / count * count);
		native_loads(b, ws, r, rep);
	}
	r->n = b->reps;
free_ops:
	free(ops);
}

/*
 * Access to a present page, once per page of the working set: a one-byte
 * TORUSMM_READ, a TORUSMM_TRANSLATE, a batched TRANSLATE and a load
 * through the shadow, each against a load of a present page.
 */
static void bench_present(struct bench *b, struct working_set *ws)
{
	unsigned int mib = b->size / MIB;
	struct row *rd = row_new(b, NS_PER_OP, true, NULL, mib,
				 "present page: READ ioctl of 1 byte");
	struct row *tr = row_new(b, NS_PER_OP, true, NULL, mib,
				 "present page: TRANSLATE ioctl");
	struct row *ld;
	struct torusmm_translate out;
	struct torusmm_rw rw;
	unsigned int rep;
	unsigned char byte;
	size_t i;
	double t0;
	int ret;

	for (rep = 0; rep < b->reps; rep++) {
		t0 = now_ns();
		for (i = 0; i < b->pages; i++) {
			ret = torusmm_read(ws->fd, BENCH_ADDR + i * PAGE, &byte,
					   1, TORUSMM_ACCESS_USER, &rw);
			if (ret) {
				row_call(b, rd, "TORUSMM_READ", ret, rw.fault);
				goto translate;
			}
		}
		rd->tmm[rep] = per(NS_PER_OP, now_ns() - t0, b->pages);
		if (byte != ws->shadow[(b->pages - 1) * PAGE]) {
			row_wrong(b, rd, "TORUSMM_READ and the shadow disagree");
			goto translate;
		}
		native_loads(b, ws, rd, rep);
	}
	rd->n = b->reps;
translate:
	for (rep = 0; rep < b->reps; rep++) {
		t0 = now_ns();
		for (i = 0; i < b->pages; i++) {
			ret = torusmm_translate(ws->fd, BENCH_ADDR + i * PAGE,
						TORUSMM_ACCESS_USER, 0, &out);
			if (ret) {
				row_call(b, tr, "TORUSMM_TRANSLATE", ret,
					 out.fault);
				goto batch;
			}
		}
		tr->tmm[rep] = per(NS_PER_OP, now_ns() - t0, b->pages);
		native_loads(b, ws, tr, rep);
	}
	tr->n = b->reps;
batch:
	bench_batch(b, ws);
	ld = row_new(b, NS_PER_OP, true, NULL, mib,
		     "present page: load via shadow");
	/* The mprotect rows took the hardware entries away: back they come. */
	b->sink += load(ws->shadow, b->pages);
	for (rep = 0; rep < b->reps; rep++) {
		t0 = now_ns();
		b->sink += load(ws->shadow, b->pages);
		ld->tmm[rep] = per(NS_PER_OP, now_ns() - t0, b->pages);
		native_loads(b, ws, ld, rep);
	}
	ld->n = b->reps;
}

/* Copy the working set 1 MiB at a time through one of four paths. */
enum copy_path { COPY_READ, COPY_WRITE, COPY_FROM_SHADOW, COPY_TO_SHADOW };

static int copy_tmm(struct bench *b, struct working_set *ws,
		    enum copy_path path, struct row *r)
{
	struct torusmm_rw rw;
	size_t off;
	int ret;

	for (off = 0; off < b->size; off += CHUNK) {
		switch (path) {
		case COPY_READ:
			ret = torusmm_read(ws->fd, BENCH_ADDR + off, b->chunk,
					   CHUNK, TORUSMM_ACCESS_USER, &rw);
			break;
		case COPY_WRITE:
			ret = torusmm_write(ws->fd, BENCH_ADDR + off, b->chunk,
					    CHUNK, TORUSMM_ACCESS_USER, &rw);
			break;
		case COPY_FROM_SHADOW:
			memcpy(b->chunk, ws->shadow + off, CHUNK);
			ret = 0;
			break;
		default:
			memcpy(ws->shadow + off, b->chunk, CHUNK);
			ret = 0;
			break;
		}
		if (ret)
			return row_call(b, r, path == COPY_READ ?
					"TORUSMM_READ" : "TORUSMM_WRITE",
					ret, rw.fault);
	}
	return 0;
}

static int copy_native(struct bench *b, struct working_set *ws,
		       enum copy_path path, struct row *r)
{
	struct iovec local = { .iov_base = b->chunk, .iov_len = CHUNK };
	struct iovec remote = { .iov_len = CHUNK };
	size_t off;
	ssize_t n;

	for (off = 0; off < b->size; off += CHUNK) {
		remote.iov_base = ws->native + off;
		switch (path) {
		case COPY_READ:
			n = process_vm_readv(getpid(), &local, 1, &remote, 1,
					     0);
			break;
		case COPY_WRITE:
			n = process_vm_writev(getpid(), &local, 1, &remote, 1,
					      0);
			break;
		case COPY_FROM_SHADOW:
			memcpy(b->chunk, ws->native + off, CHUNK);
			n = CHUNK;
			break;
		default:
			memcpy(ws->native + off, b->chunk, CHUNK);
			n = CHUNK;
			break;
		}
		if (n != CHUNK)
			return row_fail(b, r, path == COPY_READ ?
					"process_vm_readv" : "process_vm_writev",
					n < 0 ? -errno : -EIO);
	}
	return 0;
}

/* Bulk copies in 1 MiB pieces, MiB/s: the ratio is native / torusmm. */
static void bench_copy(struct bench *b, struct working_set *ws)
{
	static const struct {
		enum copy_path path;
		const char *name;
	} paths[] = {
		{ COPY_READ, "READ 1 MiB vs process_vm_readv" },
		{ COPY_WRITE, "WRITE 1 MiB vs process_vm_writev" },
		{ COPY_FROM_SHADOW, "memcpy 1 MiB from shadow vs memcpy" },
		{ COPY_TO_SHADOW, "memcpy 1 MiB into shadow vs memcpy" },
	};
	unsigned int mib = b->size / MIB, rep, i;
	struct row *r;
	double t0;

	for (i = 0; i < ARRAY_SIZE(paths); i++) {
		r = row_new(b, MIB_PER_S, true, "copy", mib, "%s",
			    paths[i].name);
		/* One pass untimed: every entry present on both sides. */
		if (copy_tmm(b, ws, paths[i].path, r) ||
		    copy_native(b, ws, paths[i].path, r))
			continue;
		for (rep = 0; rep < b->reps; rep++) {
			t0 = now_ns();
			if (copy_tmm(b, ws, paths[i].path, r))
				break;
			r->tmm[rep] = per(MIB_PER_S, now_ns() - t0, b->size);
			t0 = now_ns();
			if (copy_native(b, ws, paths[i].path, r))
				break;
			r->native[rep] = per(MIB_PER_S, now_ns() - t0, b->size);
		}
		if (rep == b->reps)
			r->n = b->reps;
	}
}

/*
 * TORUSMM_CLONE of the populated working set, and the first store to each
 * page of the source through its shadow while the clone shares every
 * frame.  The source is rewritten before each clone, as the native side
 * rewrites its memory before each fork.
 */
static void bench_clone_tmm(struct bench *b, struct working_set *ws,
			    struct row *clone, struct row *cow)
{
	unsigned int rep;
	double t0, t1;
	int fd;

	for (rep = 0; rep < b->reps; rep++) {
		touch(ws->shadow, b->pages, rep);
		t0 = now_ns();
		fd = torusmm_clone(ws->fd);
		t1 = now_ns();
		if (fd < 0) {
			row_fail(b, clone, "TORUSMM_CLONE", fd);
			row_not_run(cow, clone);
			return;
		}
		clone->tmm[rep] = per(US_PER_CALL, t1 - t0, 1);
		t0 = now_ns();
		touch(ws->shadow, b->pages, rep + 1);
		cow->tmm[rep] = per(NS_PER_PAGE, now_ns() - t0, b->pages);
		close(fd);
	}
}

/*
 * fork() of this process with the native working set written (the time
 * until fork returns in the parent), and the parent's first store to each
 * page while the child still shares them.
 */
static void bench_fork(struct bench *b, struct working_set *ws,
		       struct row *clone, struct row *cow)
{
	int release[2], status;
	unsigned int rep;
	double t0, t1;
	pid_t pid;
	char c;

	for (rep = 0; rep < b->reps; rep++) {
		touch(ws->native, b->pages, rep);
		if (pipe(release)) {
			row_fail(b, clone, "pipe", -errno);
			goto copy_note;
		}
		t0 = now_ns();
		pid = fork();
		t1 = now_ns();
		if (pid == 0) {
			/* Share the pages until the parent has written. */
			close(release[1]);
			_exit(read(release[0], &c, 1) < 0);
		}
		close(release[0]);
		if (pid < 0) {
			close(release[1]);
			row_fail(b, clone, "fork", -errno);
			goto copy_note;
		}
		clone->native[rep] = per(US_PER_CALL, t1 - t0, 1);
		t0 = now_ns();
		touch(ws->native, b->pages, rep + 1);
		cow->native[rep] = per(NS_PER_PAGE, now_ns() - t0, b->pages);
		close(release[1]);
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			row_wrong(b, clone, "the forked child did not exit cleanly");
			goto copy_note;
		}
	}
	return;
copy_note:
	row_not_run(cow, clone);
}

/*
 * TORUSMM_GET_DIRTY_LOG with TORUSMM_LOG_CLEAR after every page was
 * written through the shadow: it reports and re-arms.
 */
static int harvest_tmm(struct bench *b, struct working_set *ws,
		       struct row *r, __u64 *bitmap)
{
	struct torusmm_log log;
	unsigned int rep;
	double t0, t1;
	int ret;

	for (rep = 0; rep < b->reps; rep++) {
		touch(ws->shadow, b->pages, rep);
		log = (struct torusmm_log){
			.addr = BENCH_ADDR,
			.length = b->size,
			.bitmap = torusmm_ptr(bitmap),
			.flags = TORUSMM_LOG_CLEAR,
		};
		t0 = now_ns();
		ret = torusmm_ioctl(ws->fd, TORUSMM_GET_DIRTY_LOG, &log);
		t1 = now_ns();
		if (ret)
			return row_fail(b, r, "TORUSMM_GET_DIRTY_LOG", ret);
		if (log.count != b->pages)
			return row_wrong(b, r, "the dirty log has %u of %zu written pages",
					 log.count, b->pages);
		r->tmm[rep] = per(US_PER_CALL, t1 - t0, 1);
	}
	return 0;
}

/*
 * The same with soft-dirty bits: read the pagemap entries of the written
 * memory and count the dirty ones, then write "4" to clear_refs to re-arm.
 * Return: 0, 1 when the kernel has no soft-dirty bits (noted), or -errno.
 */
static int harvest_native(struct bench *b, struct working_set *ws,
			  struct row *r, __u64 *entries)
{
	off_t offset = (uintptr_t)ws->native / PAGE * sizeof(__u64);
	size_t length = b->pages * sizeof(__u64), i, dirty;
	int clear, pagemap, ret = 0;
	unsigned int rep;
	double t0, t1;

	clear = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (clear < 0) {
		row_unavailable(r, "native not available: no /proc/self/clear_refs (%s)",
				strerror(errno));
		return 1;
	}
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0) {
		row_unavailable(r, "native not available: no /proc/self/pagemap (%s)",
				strerror(errno));
		close(clear);
		return 1;
	}
	if (write(clear, "4", 1) != 1) {
		row_unavailable(r, "native not available: no soft-dirty (clear_refs \"4\": %s)",
				strerror(errno));
		ret = 1;
		goto close_files;
	}
	for (rep = 0; rep < b->reps; rep++) {
		touch(ws->native, b->pages, rep);
		t0 = now_ns();
		if (pread(pagemap, entries, length, offset) != (ssize_t)length) {
			ret = row_fail(b, r, "pread of /proc/self/pagemap",
				       -errno);
			goto close_files;
		}
		for (i = 0, dirty = 0; i < b->pages; i++)
			dirty += entries[i] >> PM_SOFT_DIRTY & 1;
		if (write(clear, "4", 1) != 1) {
			ret = row_fail(b, r, "write of clear_refs", -errno);
			goto close_files;
		}
		t1 = now_ns();
		if (dirty != b->pages) {
			row_unavailable(r, "native not available: %zu of %zu pages soft-dirty",
					dirty, b->pages);
			ret = 1;
			goto close_files;
		}
		r->native[rep] = per(US_PER_CALL, t1 - t0, 1);
	}
close_files:
	close(pagemap);
	close(clear);
	return ret;
}

/*
 * Clone against fork, the first write after either, and the dirty harvest.
 * The native sides run with the shadow unmapped, so that fork() and
 * clear_refs see only what a process with the same touched memory has.
 */
static void bench_clone_and_log(struct bench *b, struct working_set *ws)
{
	unsigned int mib = b->size / MIB;
	struct row *clone = row_new(b, US_PER_CALL, true, NULL, mib,
				    "CLONE vs fork of %u MiB written", mib);
	struct row *cow = row_new(b, NS_PER_PAGE, true, NULL, mib,
				  "first write after CLONE vs after fork");
	struct row *log = row_new(b, US_PER_CALL, true, NULL, mib,
				  "dirty harvest %u MiB vs soft-dirty", mib);
	bool have_cow = torusmm_check_extension(b->dev, TORUSMM_CAP_COW_CLONE) == 1;
	bool have_log = torusmm_check_extension(b->dev, TORUSMM_CAP_DIRTY_LOG) == 1;
	__u64 *bitmap = calloc(b->pages, sizeof(__u64));
	int ret = 0;

	if (!bitmap) {
		row_fail(b, clone, "calloc", -ENOMEM);
		return;
	}
	if (have_cow) {
		bench_clone_tmm(b, ws, clone, cow);
	} else {
		row_unavailable(clone, "not available: TORUSMM_CAP_COW_CLONE is 0");
		strcpy(cow->note, clone->note);
	}
	if (have_log)
		ret = harvest_tmm(b, ws, log, bitmap);
	else
		row_unavailable(log, "not available: TORUSMM_CAP_DIRTY_LOG is 0");

	munmap(ws->shadow, b->size);
	ws->shadow = NULL;
	if (have_cow && !clone->note[0]) {
		bench_fork(b, ws, clone, cow);
		if (!clone->note[0]) {
			clone->n = b->reps;
			cow->n = b->reps;
		}
	}
	if (have_log && !ret && harvest_native(b, ws, log, bitmap) == 0)
		log->n = b->reps;
	free(bitmap);
}

/* Populate @pages at BENCH_ADDR of @fd and unmap them, @reps times. */
static int populate_samples(struct bench *b, int fd, struct row *r,
			    double *samples)
{
	unsigned int rep;
	double t0, t1;
	int ret;

	for (rep = 0; rep < b->reps; rep++) {
		t0 = now_ns();
		ret = space_map(fd, BENCH_ADDR, b->size, TORUSMM_MAP_POPULATE);
		t1 = now_ns();
		if (ret)
			return row_fail(b, r, "TORUSMM_MMAP(MAP_POPULATE)", ret);
		ret = torusmm_munmap(fd, BENCH_ADDR, b->size);
		if (ret)
			return row_fail(b, r, "TORUSMM_MUNMAP", ret);
		samples[rep] = per(NS_PER_PAGE, t1 - t0, b->pages);
	}
	return 0;
}

/* Bitmap words the allocator of @torus scanned per frame since @before. */
static double words_per_alloc(int dev, __u32 torus,
			      const struct torusmm_torus_info *before)
{
	struct torusmm_torus_info after;

	if (torusmm_torus_info(dev, torus, &after) ||
	    after.allocs == before->allocs)
		return 0;
	return (double)(after.words_scanned - before->words_scanned) /
	       (after.allocs - before->allocs);
}

/*
 * Allocation on a nearly full torus: populate the working-set size on an
 * empty torus, then fill the torus with another space, unmap every
 * twentieth page or so of it until FULL_PERCENT of the frames are in use
 * with the free ones scattered, and populate again.  The "native" column
 * of this row is the empty torus.
 */
static void bench_full_torus(struct bench *b)
{
	unsigned int mib = b->size / MIB;
	struct row *r = row_new(b, NS_PER_PAGE, true, NULL, mib,
				"populate %u MiB on %d%%-full vs empty torus",
				mib, FULL_PERCENT);
	struct torusmm_space_stats stats;
	struct torusmm_torus_info info, before;
	__u64 fill, holes, stride, i, target_free;
	double empty_words, full_words;
	int fd, filler = -1, ret;

	fd = new_space(b, r);
	if (fd < 0)
		return;
	ret = torusmm_stats(fd, &stats);
	if (!ret)
		ret = torusmm_torus_info(b->dev, stats.torus, &before);
	if (ret) {
		row_fail(b, r, "TORUSMM_GET_STATS/GET_TORUS_INFO", ret);
		goto close_space;
	}
	if (before.nr_used > before.nr_frames / 100) {
		row_wrong(b, r, "the torus is not empty (%u of %u frames in use)",
			  before.nr_used, before.nr_frames);
		goto close_space;
	}
	if (populate_samples(b, fd, r, r->native))
		goto close_space;
	empty_words = words_per_alloc(b->dev, stats.torus, &before);

	/* Every free frame but the filler's tables and a few spare. */
	ret = torusmm_torus_info(b->dev, stats.torus, &info);
	if (ret) {
		row_fail(b, r, "TORUSMM_GET_TORUS_INFO", ret);
		goto close_space;
	}
	fill = info.nr_free - info.nr_free / 1024 - 64;
	target_free = (__u64)info.nr_frames * (100 - FULL_PERCENT) / 100;
	if (target_free < b->pages + b->pages / 1024 + 8 || fill < target_free) {
		row_wrong(b, r, "a torus of %u frames is too small for %u MiB",
			  info.nr_frames, mib);
		goto close_space;
	}
	filler = torusmm_create_space(b->dev, stats.torus, 0);
	if (filler < 0) {
		row_fail(b, r, "TORUSMM_CREATE_SPACE", filler);
		goto close_space;
	}
	ret = space_map(filler, BENCH_ADDR, fill * PAGE, TORUSMM_MAP_POPULATE);
	if (ret) {
		row_fail(b, r, "TORUSMM_MMAP(MAP_POPULATE) of the filler", ret);
		goto close_space;
	}
	ret = torusmm_torus_info(b->dev, stats.torus, &info);
	if (ret) {
		row_fail(b, r, "TORUSMM_GET_TORUS_INFO", ret);
		goto close_space;
	}
	holes = target_free > info.nr_free ? target_free - info.nr_free : 0;
	stride = holes ? fill / holes : fill;
	for (i = 0; i < holes; i++) {
		ret = torusmm_munmap(filler, BENCH_ADDR + (i * stride + stride / 2) * PAGE,
				     PAGE);
		if (ret) {
			row_fail(b, r, "TORUSMM_MUNMAP of the filler", ret);
			goto close_space;
		}
	}
	ret = torusmm_torus_info(b->dev, stats.torus, &before);
	if (ret) {
		row_fail(b, r, "TORUSMM_GET_TORUS_INFO", ret);
		goto close_space;
	}
	if (populate_samples(b, fd, r, r->tmm))
		goto close_space;
	full_words = words_per_alloc(b->dev, stats.torus, &before);
	printf("%s: full torus: %u of %u frames in use (%.1f%%), free ones every %llu pages;\n"
	       "%s: bitmap words scanned per frame allocation: %.2f full, %.2f empty\n",
	       prog, before.nr_used, before.nr_frames,
	       100.0 * before.nr_used / before.nr_frames,
	       (unsigned long long)stride, prog, full_words, empty_words);
	r->n = b->reps;
close_space:
	if (filler >= 0)
		close(filler);
	close(fd);
}

/* 812, 81.2, 8.12, 0.81: three significant digits, no exponent. */
static const char *fmt_value(double v, char *buf, size_t len)
{
	if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
	return buf;
}

struct summary {
	double med[2], min[2], max[2], ratio;
};

static void summarize(struct row *r, struct summary *s)
{
	double *side[2] = { r->tmm, r->native };
	int i;

	for (i = 0; i < 2; i++) {
		s->med[i] = median(side[i], r->n);
		s->min[i] = side[i][0];
		s->max[i] = side[i][r->n - 1];
	}
	s->ratio = r->unit == MIB_PER_S ? s->med[1] / s->med[0] :
					  s->med[0] / s->med[1];
}

/* "812 (790-850)" */
static const char *fmt_side(const struct summary *s, int i, char *buf,
			    size_t len)
{
	char med[16], lo[16], hi[16];

	snprintf(buf, len, "%s (%s-%s)", fmt_value(s->med[i], med, 16),
		 fmt_value(s->min[i], lo, 16), fmt_value(s->max[i], hi, 16));
	return buf;
}

static struct row *find_row(struct bench *b, const char *metric)
{
	unsigned int i;

	for (i = 0; i < b->nr_rows; i++)
		if (b->rows[i].n && !strcmp(b->rows[i].metric, metric))
			return &b->rows[i];
	return NULL;
}

/* The batch's gain: single TRANSLATE time over batched time per entry. */
static void print_batch_speedup(struct bench *b)
{
	struct row *single = find_row(b, "present page: TRANSLATE ioctl");
	struct row *batched = find_row(b, "present page: batched TRANSLATE/entry");
	struct summary s1, sb;

	if (!single || !batched)
		return;
	summarize(single, &s1);
	summarize(batched, &sb);
	printf("batched TRANSLATE: %.1fx the single-ioctl rate per entry",
	       s1.med[0] / sb.med[0]);
	printf(" (%.0f ns / %.0f ns, medians)\n", s1.med[0], sb.med[0]);
}

static void print_table(struct bench *b)
{
	char tmm[64], native[64], ratio[16];
	struct summary s;
	unsigned int i;
	struct row *r;

	/* A row left without figures or a reason would read as a bug. */
	for (i = 0; i < b->nr_rows; i++)
		if (!b->rows[i].n && !b->rows[i].note[0])
			snprintf(b->rows[i].note, sizeof(b->rows[i].note),
				 "not run: an earlier step failed");
	printf("TORUSMM-BENCH-TABLE-BEGIN\n");
	printf("%-44s %-7s %-22s %-22s %7s\n", "metric", "unit",
	       "torusmm (min-max)", "native (min-max)", "ratio");
	for (i = 0; i < b->nr_rows; i++) {
		r = &b->rows[i];
		if (!r->in_table)
			continue;
		if (!r->n) {
			printf("%-44s %-7s %s\n", r->metric,
			       unit_names[r->unit], r->note);
			continue;
		}
		summarize(r, &s);
		printf("%-44s %-7s %-22s %-22s %7s\n", r->metric,
		       unit_names[r->unit], fmt_side(&s, 0, tmm, sizeof(tmm)),
		       fmt_side(&s, 1, native, sizeof(native)),
		       fmt_value(s.ratio, ratio, sizeof(ratio)));
	}
	print_batch_speedup(b);
	printf("TORUSMM-BENCH-TABLE-END\n");
}

/* The rows as CSV; no field holds a comma or a quote. */
static void print_csv(struct bench *b)
{
	struct summary s;
	unsigned int i;
	struct row *r;
	char *p;

	printf("TORUSMM-BENCH-CSV-BEGIN\n");
	printf("in_table,series,size_mib,metric,unit,reps,%s,%s,%s\n",
	       "torusmm_median,torusmm_min,torusmm_max",
	       "native_median,native_min,native_max", "ratio,note");
	for (i = 0; i < b->nr_rows; i++) {
		r = &b->rows[i];
		printf("%d,%s,%u,%s,%s,%u,", r->in_table,
		       r->series ? r->series : "", r->size_mib, r->metric,
		       unit_names[r->unit], r->n);
		if (r->n) {
			summarize(r, &s);
			printf("%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,\n",
			       s.med[0], s.min[0], s.max[0], s.med[1],
			       s.min[1], s.max[1], s.ratio);
		} else {
			for (p = r->note; *p; p++)
				if (*p == ',' || *p == '"')
					*p = ';';
			printf(",,,,,,,%s\n", r->note);
		}
	}
	printf("TORUSMM-BENCH-CSV-END\n");
}

/* What transparent huge pages are set to, e.g. "never". */
static const char *thp_setting(char *buf, size_t len)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char *left, *right;

	snprintf(buf, len, "unknown");
	if (!f)
		return buf;
	if (fgets(buf, len, f)) {
		left = strchr(buf, '[');
		right = left ? strchr(left, ']') : NULL;
		if (right) {
			*right = '\0';
			memmove(buf, left + 1, strlen(left + 1) + 1);
		}
	}
	fclose(f);
	return buf;
}

static void bad_usage(void)
{
	fprintf(stderr,
		"usage: %s [-n REPS] [-m MIB] [-s MIB,MIB,...]\n"
		"  -n  repetitions of each measurement (default %d, at most %d)\n"
		"  -m  size of most rows in MiB, a multiple of 1 (default %d)\n"
		"  -s  sizes of the populate/munmap/first-touch series\n"
		"      (default 1,4,16,64,512; first touch stops at 64)\n",
		prog, DEFAULT_REPS, MAX_REPS, DEFAULT_MIB);
	exit(2);
}

int main(int argc, char **argv)
{
	static struct bench bench = { .reps = DEFAULT_REPS };
	unsigned int sizes[16] = { 1, 4, 16, 64, 512 }, nr_sizes = 5, i;
	unsigned int mib = DEFAULT_MIB, fault_max = 64;
	struct bench *b = &bench;
	struct torusmm_torus_info info;
	struct working_set ws;
	char thp[64], *s;
	int opt, ret;

	while ((opt = getopt(argc, argv, "n:m:s:")) != -1) {
		switch (opt) {
		case 'n':
			b->reps = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			mib = strtoul(optarg, NULL, 10);
			break;
		case 's':
			for (nr_sizes = 0, s = strtok(optarg, ",");
			     s && nr_sizes < ARRAY_SIZE(sizes);
			     s = strtok(NULL, ","))
				sizes[nr_sizes++] = strtoul(s, NULL, 10);
			fault_max = 1024;
			break;
		default:
			bad_usage();
		}
	}
	if (optind != argc || !b->reps || b->reps > MAX_REPS || !mib ||
	    mib > 1024 || !nr_sizes)
		bad_usage();
	for (i = 0; i < nr_sizes; i++)
		if (!sizes[i] || sizes[i] > 1024)
			bad_usage();
	b->size = (size_t)mib * MIB;
	b->pages = b->size / PAGE;
	setvbuf(stdout, NULL, _IOLBF, 0);

	b->dev = torusmm_open();
	if (b->dev < 0) {
		fprintf(stderr, "%s: open %s: %s\n", prog, TORUSMM_DEVICE,
			strerror(-b->dev));
		return 1;
	}
	ret = torusmm_torus_info(b->dev, 0, &info);
	if (ret) {
		fprintf(stderr, "%s: TORUSMM_GET_TORUS_INFO: %s\n", prog,
			strerror(-ret));
		return 1;
	}
	if (torusmm_check_extension(b->dev, TORUSMM_CAP_SHADOW) != 1) {
		fprintf(stderr, "%s: this torusmm has no shadow mapping\n",
			prog);
		return 1;
	}
	if (native_map(CHUNK, MAP_POPULATE, &b->chunk)) {
		fprintf(stderr, "%s: mmap: %s\n", prog, strerror(errno));
		return 1;
	}
	printf("%s: %u repetitions, rows of %u MiB, torus 0 of %u MiB, THP %s\n",
	       prog, b->reps, mib, info.nr_frames / 256,
	       thp_setting(thp, sizeof(thp)));

	/* The first populate of a process pays for more than its pages. */
	bench_populate(b, 1, false);
	b->nr_rows -= 2;
	for (i = 0; i < nr_sizes; i++) {
		printf("%s: populate and munmap %u MiB\n", prog, sizes[i]);
		bench_populate(b, sizes[i], sizes[i] == mib ||
			       sizes[i] == 4 || sizes[i] == 64 ||
			       sizes[i] == 512);
	}
	for (i = 0; i < nr_sizes; i++) {
		if (sizes[i] > fault_max)
			continue;
		printf("%s: first touch of %u MiB\n", prog, sizes[i]);
		bench_first_touch(b, sizes[i], sizes[i] == mib);
	}
	printf("%s: load, then store, %u MiB\n", prog, mib);
	bench_load_then_store(b, mib);

	printf("%s: mprotect, present pages, copies, clone, dirty log\n", prog);
	if (working_set_create(b, &ws, row_new(b, NS_PER_PAGE, true, NULL, mib,
					       "setting up %u MiB", mib)) == 0) {
		b->nr_rows--;	/* the setup row is kept only when it failed */
		bench_mprotect(b, &ws);
		bench_present(b, &ws);
		bench_copy(b, &ws);
		bench_clone_and_log(b, &ws);
	}
	working_set_destroy(b, &ws);

	printf("%s: allocation on a %d%%-full torus\n", prog, FULL_PERCENT);
	bench_full_torus(b);

	print_table(b);
	print_csv(b);
	printf("%s: ratio = torusmm time / native time for the same work; for MiB/s rows\n"
	       "%s: that is native MiB/s / torusmm MiB/s.  Above 1: torusmm is slower.\n",
	       prog, prog);
	if (b->failed)
		printf("%s: %d row(s) FAILED\n", prog, b->failed);
	printf("(checksum %llx)\n", (unsigned long long)b->sink);
	return b->failed ? 1 : 0;
}
