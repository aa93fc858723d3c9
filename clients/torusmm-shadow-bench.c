// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm-shadow-bench: what the shadow mapping costs, next to native memory.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * Measures, in one run and on the same machine, the shadow mapping of a
 * space (mmap() of its descriptor) against anonymous memory of the same
 * size: sequential read and write bandwidth once every page is faulted in,
 * the first touch of a page (the fault through the software MMU against the
 * kernel's own anonymous fault), and mprotect() of the whole populated,
 * shadowed range to read-only (TORUSMM_MPROTECT, which must also take the
 * hardware entries away, against mprotect(2)).  Each figure is the median
 * of N repetitions; the table gives torusmm, native and their ratio.
 * Nothing is asserted about time: the exit status is 1 only when the bench
 * could not run or the shadow returned wrong bytes.
 *
 * The torus must hold the whole range plus its page tables: for the default
 * 64 MiB, load torusmm with torus_mb=80 or more.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "libtorusmm.h"

#define PAGE		TORUSMM_PAGE_SIZE
#define PROT_RW		(TORUSMM_PROT_READ | TORUSMM_PROT_WRITE)
#define BENCH_ADDR	0x10000000ull
#define DEFAULT_MIB	64
#define DEFAULT_REPS	5
#define MAX_REPS	101
#define ME		"torusmm-shadow-bench: "

/* What one metric measures, and how its two sides are timed. */
struct bench {
	int fd;			/* the space */
	unsigned char *shadow;	/* its shadow, BENCH_ADDR up */
	unsigned char *native;	/* anonymous memory */
	size_t length;
	unsigned int reps;
	__u64 sink;		/* keeps the read loops from being dropped */
};

enum unit { MIB_PER_S, NS_PER_PAGE, US_PER_CALL };

static const char *const unit_names[] = {
	[MIB_PER_S] = "MiB/s",
	[NS_PER_PAGE] = "ns/page",
	[US_PER_CALL] = "us/call",
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *values, unsigned int n)
{
	qsort(values, n, sizeof(*values), compare_doubles);
	return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* Sum every 64-bit word: a sequential read of @length bytes. */
static __u64 read_all(const unsigned char *p, size_t length)
{
	const __u64 *word = (const __u64 *)p;
	__u64 sum = 0;
	size_t i;

	for (i = 0; i < length / sizeof(*word); i++)
		sum += word[i];
	return sum;
}

/* Write one byte in each page, in order: every page's first touch. */
static void touch_pages(unsigned char *p, size_t length)
{
	size_t off;

	for (off = 0; off < length; off += PAGE)
		__atomic_store_n(&p[off], 1, __ATOMIC_RELAXED);
}

/* Give the space a fresh, untouched region: no frame, no hardware entry. */
static int reset_shadow(struct bench *b)
{
	__u64 addr = BENCH_ADDR;
	int ret;

	ret = torusmm_munmap(b->fd, BENCH_ADDR, b->length);
	if (!ret)
		ret = torusmm_mmap(b->fd, &addr, b->length, PROT_RW,
				   TORUSMM_MAP_FIXED);
	return ret;
}

/* Fresh anonymous memory, without huge pages: a fault per 4 KiB page. */
static int reset_native(struct bench *b)
{
	if (b->native)
		munmap(b->native, b->length);
	b->native = mmap(NULL, b->length, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->native == MAP_FAILED) {
		b->native = NULL;
		return -errno;
	}
	madvise(b->native, b->length, MADV_NOHUGEPAGE);
	return 0;
}

/* The first-touch fault, per page: @shadow picks the side. */
static int first_touch(struct bench *b, bool shadow, double *ns_per_page)
{
	double samples[MAX_REPS], start;
	unsigned char *p;
	unsigned int rep;
	int ret;

	for (rep = 0; rep < b->reps; rep++) {
		ret = shadow ? reset_shadow(b) : reset_native(b);
		if (ret)
			return ret;
		p = shadow ? b->shadow : b->native;
		start = now();
		touch_pages(p, b->length);
		samples[rep] = (now() - start) * 1e9 / (b->length / PAGE);
	}
	*ns_per_page = median(samples, b->reps);
	return 0;
}

/* Sequential read or write bandwidth of @p, already faulted in. */
static double bandwidth(struct bench *b, unsigned char *p, bool write)
{
	double samples[MAX_REPS], start;
	unsigned int rep;

	for (rep = 0; rep < b->reps; rep++) {
		start = now();
		if (write)
			memset(p, rep + 1, b->length);
		else
			b->sink += read_all(p, b->length);
		samples[rep] = b->length / (1024.0 * 1024.0) / (now() - start);
	}
	return median(samples, b->reps);
}

/*
 * mprotect of the whole range to read-only, every page populated and
 * writable through the hardware before each repetition.
 */
static int protect(struct bench *b, bool shadow, double *us)
{
	double samples[MAX_REPS], start;
	unsigned int rep;
	int ret;

	for (rep = 0; rep < b->reps; rep++) {
		unsigned char *p = shadow ? b->shadow : b->native;

		memset(p, rep + 1, b->length);
		start = now();
		if (shadow)
			ret = torusmm_mprotect(b->fd, BENCH_ADDR, b->length,
					       TORUSMM_PROT_READ);
		else
			ret = mprotect(p, b->length, PROT_READ) ? -errno : 0;
		samples[rep] = (now() - start) * 1e6;
		if (ret)
			return ret;
		if (shadow)
			ret = torusmm_mprotect(b->fd, BENCH_ADDR, b->length,
					       PROT_RW);
		else
			ret = mprotect(p, b->length, PROT_READ | PROT_WRITE) ?
			      -errno : 0;
		if (ret)
			return ret;
	}
	*us = median(samples, b->reps);
	return 0;
}

/* TORUSMM_READ one word per MiB and compare it with the shadow's byte. */
static bool shadow_agrees(struct bench *b)
{
	struct torusmm_rw rw;
	unsigned char byte;
	size_t off;

	for (off = 0; off < b->length; off += 1024 * 1024) {
		if (torusmm_read(b->fd, BENCH_ADDR + off, &byte, 1,
				 TORUSMM_ACCESS_USER, &rw) ||
		    byte != b->shadow[off])
			return false;
	}
	return true;
}

static void row(const char *metric, double torusmm, double native,
		enum unit unit)
{
	char name[48];

	snprintf(name, sizeof(name), "%s (%s)", metric, unit_names[unit]);
	printf("%-34s %12.1f %12.1f %8.2f\n", name, torusmm, native,
	       native > 0 ? torusmm / native : 0);
}

static void bad_usage(void)
{
	fprintf(stderr,
		"usage: torusmm-shadow-bench [-n REPS] [-m MIB]\n"
		"  -n  repetitions of each measurement, median taken (default %d, at most %d)\n"
		"  -m  size of the range in MiB (default %d)\n",
		DEFAULT_REPS, MAX_REPS, DEFAULT_MIB);
	exit(2);
}

/* Open the device, make the space, its region and its shadow. */
static int bench_setup(struct bench *b, unsigned int mib)
{
	struct torusmm_space_stats stats;
	struct torusmm_torus_info info;
	__u32 need = mib * 256 + mib / 4 + 4;
	__u64 addr = BENCH_ADDR;
	char err[32];
	void *p = NULL;
	int dev, ret;

	dev = torusmm_open();
	if (dev < 0) {
		fprintf(stderr, ME "open %s: %s\n",
			TORUSMM_DEVICE, strerror(-dev));
		return dev;
	}
	if (torusmm_check_extension(dev, TORUSMM_CAP_SHADOW) != 1) {
		fprintf(stderr, ME "no shadow mapping (TORUSMM_CAP_SHADOW is 0)\n");
		return -EOPNOTSUPP;
	}
	b->fd = torusmm_create_space(dev, TORUSMM_TORUS_ANY, TORUSMM_NO_QUOTA);
	if (b->fd < 0 || torusmm_stats(b->fd, &stats) ||
	    torusmm_torus_info(dev, stats.torus, &info)) {
		fprintf(stderr, ME "TORUSMM_CREATE_SPACE: %s\n",
			torusmm_strret(b->fd, err, sizeof(err)));
		return b->fd < 0 ? b->fd : -EIO;
	}
	close(dev);
	if (info.nr_free < need) {
		fprintf(stderr, ME "%u MiB need %u free frames, torus %u has %u\n",
			mib, need, stats.torus, info.nr_free);
		fprintf(stderr, ME "load torusmm with torus_mb=%u or more, or use -m\n",
			need / 256 + 2);
		return -ENOSPC;
	}
	printf(ME "%u MiB, median of %u runs, torus %u of %u frames\n",
	       mib, b->reps, stats.torus, info.nr_frames);

	ret = torusmm_mmap(b->fd, &addr, b->length, PROT_RW, TORUSMM_MAP_FIXED);
	if (!ret)
		ret = torusmm_shadow_map(b->fd, BENCH_ADDR, b->length,
					 PROT_READ | PROT_WRITE, &p);
	if (ret) {
		fprintf(stderr, ME "mapping the space: %s\n",
			torusmm_strret(ret, err, sizeof(err)));
		return ret;
	}
	b->shadow = p;
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = { .fd = -1, .reps = DEFAULT_REPS };
	double fault[2], rd[2], wr[2], prot[2];
	unsigned int mib = DEFAULT_MIB;
	char err[32];
	int opt, ret;

	while ((opt = getopt(argc, argv, "n:m:")) != -1) {
		switch (opt) {
		case 'n':
			b.reps = atoi(optarg);
			break;
		case 'm':
			mib = atoi(optarg);
			break;
		default:
			bad_usage();
		}
	}
	if (optind != argc || !b.reps || b.reps > MAX_REPS || !mib ||
	    mib > 1024)
		bad_usage();
	b.length = (size_t)mib * 1024 * 1024;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (bench_setup(&b, mib))
		return 1;

	/* First touches leave both sides populated for what follows. */
	ret = first_touch(&b, true, &fault[0]);
	if (!ret)
		ret = first_touch(&b, false, &fault[1]);
	if (!ret) {
		rd[0] = bandwidth(&b, b.shadow, false);
		rd[1] = bandwidth(&b, b.native, false);
		wr[0] = bandwidth(&b, b.shadow, true);
		wr[1] = bandwidth(&b, b.native, true);
		ret = protect(&b, true, &prot[0]);
	}
	if (!ret)
		ret = protect(&b, false, &prot[1]);
	if (ret) {
		fprintf(stderr, ME "%s\n",
			torusmm_strret(ret, err, sizeof(err)));
		return 1;
	}
	if (!shadow_agrees(&b)) {
		printf(ME "FAILED: TORUSMM_READ and the shadow disagree\n");
		return 1;
	}

	printf("%-34s %12s %12s %8s\n", "metric", "torusmm", "native",
	       "ratio");
	row("sequential read", rd[0], rd[1], MIB_PER_S);
	row("sequential write", wr[0], wr[1], MIB_PER_S);
	row("first-touch fault", fault[0], fault[1], NS_PER_PAGE);
	row("mprotect read-only", prot[0], prot[1], US_PER_CALL);
	printf("ratio = torusmm / native: for MiB/s below 1 is slower, for times above 1 is\n");
	printf("(read checksum %llx)\n", (unsigned long long)b.sink);
	return 0;
}
