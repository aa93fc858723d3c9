// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm-migrate: a pre-copy live migration of one address space into
 * another, and a working-set estimate, on the dirty and access logs.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * Migration, as QEMU's pre-copy does it: a writer thread keeps storing into
 * the source through a shadow mapping while the migrator starts the dirty
 * log (GET_DIRTY_LOG with TORUSMM_LOG_CLEAR), copies every page that holds a
 * frame (TORUSMM_READ from the source, TORUSMM_WRITE into the destination;
 * pages that map the zero frame stay zero-fill), then copies the pages each
 * new harvest reports, round after round, until a round finds few enough
 * dirty pages or the round limit is reached.  Then the writer stops, a last
 * harvest and copy run, the destination gets the source's protections, and
 * both spaces are compared region by region and byte for byte.
 *
 * Working set: a workload touches a known set of pages per interval (a hot
 * set every interval, a window that moves, a few TORUSMM_READs) through a
 * shadow; GET_ACCESS_LOG after each interval gives the pages accessed, which
 * are compared with the truth, alone and over the last three intervals.
 *
 * Exit status: 0 when the copy is identical and every estimate exact, 1 on
 * a mismatch, 2 on an error.
 */
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "libtorusmm.h"

#define PAGE		TORUSMM_PAGE_SIZE
#define MIG_ADDR	0x10000000u	/* the read-write region */
#define RO_ADDR		0x20000000u	/* a read-only region */
#define RO_PAGES	16u
#define WS_ADDR		0x30000000u
#define WS_INTERVALS	8u
#define WS_HOT		256u		/* pages touched in every interval */
#define WS_WINDOW	128u		/* pages of the window that moves */
#define WS_READS	16u		/* pages read with TORUSMM_READ */
#define WS_SPAN		3u		/* intervals of the working set */
#define WS_MAX_PAGES	16384u
#define MAX_REGIONS	64u

static const char *prog = "torusmm-migrate";

static void die(const char *what, int ret)
{
	char buf[32];

	fprintf(stderr, "%s: %s: %s\n", prog, what,
		torusmm_strret(ret, buf, sizeof(buf)));
	exit(2);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *shadow_of(int fd, __u64 addr, size_t length)
{
	void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       (off_t)addr);

	if (p == MAP_FAILED)
		die("mmap of a space", -errno);
	return p;
}

static void map_fixed(int fd, __u64 addr, __u64 length, __u32 prot,
		      __u32 flags)
{
	int ret = torusmm_mmap(fd, &addr, length, prot,
			       flags | TORUSMM_MAP_FIXED);

	if (ret)
		die("TORUSMM_MMAP", ret);
}

static __u32 get_log(int fd, unsigned long cmd, __u64 addr, __u64 length,
		     __u64 *bitmap, __u32 flags)
{
	struct torusmm_log log = {
		.addr = addr,
		.length = length,
		.bitmap = torusmm_ptr(bitmap),
		.flags = flags,
	};
	int ret = torusmm_ioctl(fd, cmd, &log);

	if (ret)
		die(cmd == TORUSMM_GET_ACCESS_LOG ? "TORUSMM_GET_ACCESS_LOG" :
						    "TORUSMM_GET_DIRTY_LOG",
		    ret);
	return log.count;
}

static bool test_bit64(const __u64 *bitmap, unsigned int n)
{
	return bitmap[n / 64] >> (n % 64) & 1;
}

static void set_bit64(__u64 *bitmap, unsigned int n)
{
	bitmap[n / 64] |= 1ull << (n % 64);
}

/* The writer: stores through the source's shadow until told to stop. */
struct writer {
	__u32 *base;
	unsigned int nr_pages;
	unsigned int hot;	/* pages 0 .. hot - 1 take most stores */
	unsigned int pause_us;	/* between batches of 64 stores */
	int stop;
	unsigned long stores;
};

static void *writer_run(void *arg)
{
	struct writer *w = arg;
	__u32 seed = 12345, page, sweep = 0;
	struct timespec pause = { .tv_nsec = w->pause_us * 1000l };
	unsigned int i;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		for (i = 0; i < 64; i++) {
			seed = seed * 1103515245u + 12345;
			if (i == 0)	/* a slow sweep over every page */
				page = sweep++ % w->nr_pages;
			else
				page = (seed >> 16) % w->hot;
			__atomic_store_n(w->base + (size_t)page * (PAGE / 4) +
					 (seed >> 8) % (PAGE / 4),
					 seed | 1, __ATOMIC_RELAXED);
			w->stores++;
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/*
 * Copy the pages of [@addr, @addr + @nr_pages pages) whose bit is set in
 * @bitmap from @src to @dst, in runs of up to TORUSMM_RW_MAX bytes.
 * Return: the pages copied.
 */
static unsigned int copy_pages(int src, int dst, __u64 addr,
			       unsigned int nr_pages, const __u64 *bitmap,
			       unsigned char *buf)
{
	unsigned int p = 0, run, copied = 0;
	struct torusmm_rw rw;
	int ret;

	while (p < nr_pages) {
		if (!test_bit64(bitmap, p)) {
			p++;
			continue;
		}
		for (run = 1; p + run < nr_pages && test_bit64(bitmap, p + run) &&
		     (run + 1) * PAGE <= TORUSMM_RW_MAX; run++)
			;
		ret = torusmm_read(src, addr + (__u64)p * PAGE, buf,
				   (__u64)run * PAGE, 0, &rw);
		if (ret)
			die("TORUSMM_READ from the source", ret < 0 ? ret : -EFAULT);
		ret = torusmm_write(dst, addr + (__u64)p * PAGE, buf,
				    (__u64)run * PAGE, 0, &rw);
		if (ret)
			die("TORUSMM_WRITE into the destination",
			    ret < 0 ? ret : -EFAULT);
		copied += run;
		p += run;
	}
	return copied;
}

/* A bitmap of the pages of a range that hold a frame of their own. */
static unsigned int frames_of(int fd, __u64 addr, unsigned int nr_pages,
			      __u64 *bitmap)
{
	struct torusmm_pte *ptes = calloc(nr_pages, sizeof(*ptes));
	__u32 count = nr_pages, i, n = 0;
	int ret;

	if (!ptes)
		die("calloc", -ENOMEM);
	ret = torusmm_dump_ptes(fd, addr, (__u64)nr_pages * PAGE, ptes, &count);
	if (ret)
		die("TORUSMM_DUMP_PTES", ret);
	memset(bitmap, 0, (nr_pages + 63) / 64 * sizeof(*bitmap));
	for (i = 0; i < count; i++) {
		if ((ptes[i].pte & TORUSMM_PTE_FRAME_MASK) ==
		    TORUSMM_ZERO_FRAME_TPA)
			continue;
		set_bit64(bitmap, (ptes[i].addr - addr) / PAGE);
		n++;
	}
	free(ptes);
	return n;
}

struct range {
	__u64 addr;
	unsigned int nr_pages;
	__u64 *bitmap;
};

/* Harvest every range with CLEAR and copy what it reports. */
static unsigned int harvest_and_copy(int src, int dst, struct range *ranges,
				     unsigned int nr_ranges, unsigned int *dirty,
				     unsigned char *buf)
{
	unsigned int r, copied = 0;

	*dirty = 0;
	for (r = 0; r < nr_ranges; r++) {
		*dirty += get_log(src, TORUSMM_GET_DIRTY_LOG, ranges[r].addr,
				  (__u64)ranges[r].nr_pages * PAGE,
				  ranges[r].bitmap, TORUSMM_LOG_CLEAR);
		copied += copy_pages(src, dst, ranges[r].addr,
				     ranges[r].nr_pages, ranges[r].bitmap, buf);
	}
	return copied;
}

/* Compare the regions and every byte of two spaces.  Return: 0 or 1. */
static int compare_spaces(int src, int dst, unsigned char *a, unsigned char *b)
{
	struct torusmm_region ra[MAX_REGIONS], rb[MAX_REGIONS];
	__u32 na = MAX_REGIONS, nb = MAX_REGIONS, i;
	__u64 addr, end, len, bytes = 0;
	struct torusmm_rw rw;
	int ret;

	ret = torusmm_dump_regions(src, ra, &na);
	if (!ret)
		ret = torusmm_dump_regions(dst, rb, &nb);
	if (ret)
		die("TORUSMM_DUMP_REGIONS", ret);
	if (na != nb || memcmp(ra, rb, na * sizeof(ra[0]))) {
		printf("result: MISMATCH: the regions differ (%u and %u)\n",
		       na, nb);
		return 1;
	}
	for (i = 0; i < na; i++) {
		if (!(ra[i].prot & TORUSMM_PROT_READ))
			continue;
		for (addr = ra[i].start, end = ra[i].end; addr < end;
		     addr += len) {
			len = end - addr < TORUSMM_RW_MAX ? end - addr :
							    TORUSMM_RW_MAX;
			if (torusmm_read(src, addr, a, len, 0, &rw) ||
			    torusmm_read(dst, addr, b, len, 0, &rw))
				die("TORUSMM_READ for the comparison", -EFAULT);
			if (memcmp(a, b, len)) {
				__u64 off = 0;

				while (a[off] == b[off])
					off++;
				printf("result: MISMATCH at %#llx: source %#x, destination %#x\n",
				       (unsigned long long)(addr + off), a[off],
				       b[off]);
				return 1;
			}
			bytes += len;
		}
	}
	printf("result: PASS: %u regions and %llu bytes identical\n", na,
	       (unsigned long long)bytes);
	return 0;
}

static int migrate(int dev, unsigned int nr_pages, unsigned int max_rounds,
		   unsigned int small, unsigned int pause_us)
{
	unsigned int words = (nr_pages + 63) / 64, round, dirty, copied, p;
	struct range ranges[2];
	struct writer w = { 0 };
	pthread_t thread;
	unsigned char *buf, *buf2;
	int src, dst, ret;
	double t0;
	__u32 *shadow;

	buf = malloc(TORUSMM_RW_MAX);
	buf2 = malloc(TORUSMM_RW_MAX);
	ranges[0] = (struct range){ MIG_ADDR, nr_pages,
				    calloc(words, sizeof(__u64)) };
	ranges[1] = (struct range){ RO_ADDR, RO_PAGES, calloc(1, sizeof(__u64)) };
	if (!buf || !buf2 || !ranges[0].bitmap || !ranges[1].bitmap)
		die("malloc", -ENOMEM);

	src = torusmm_create_space(dev, TORUSMM_TORUS_ANY, 0);
	if (src < 0)
		die("TORUSMM_CREATE_SPACE", src);
	map_fixed(src, MIG_ADDR, (__u64)nr_pages * PAGE,
		  TORUSMM_PROT_READ | TORUSMM_PROT_WRITE, 0);
	map_fixed(src, RO_ADDR, RO_PAGES * PAGE,
		  TORUSMM_PROT_READ | TORUSMM_PROT_WRITE, 0);
	shadow = shadow_of(src, MIG_ADDR, (size_t)nr_pages * PAGE);
	/* Every other page written; the rest stays on the zero frame. */
	for (p = 0; p < nr_pages; p += 2)
		shadow[(size_t)p * (PAGE / 4)] = 0x5a000000u | p;
	for (p = 0; p < RO_PAGES; p++) {
		struct torusmm_rw rw;
		__u32 tag = 0x0f000000u | p;

		ret = torusmm_write(src, RO_ADDR + (__u64)p * PAGE, &tag,
				    sizeof(tag), 0, &rw);
		if (ret)
			die("TORUSMM_WRITE", ret < 0 ? ret : -EFAULT);
	}
	ret = torusmm_mprotect(src, RO_ADDR, RO_PAGES * PAGE,
			       TORUSMM_PROT_READ);
	if (ret)
		die("TORUSMM_MPROTECT", ret);

	/* The destination: the same regions, writable until the end. */
	dst = torusmm_create_space(dev, TORUSMM_TORUS_ANY, 0);
	if (dst < 0)
		die("TORUSMM_CREATE_SPACE", dst);
	map_fixed(dst, MIG_ADDR, (__u64)nr_pages * PAGE,
		  TORUSMM_PROT_READ | TORUSMM_PROT_WRITE, 0);
	map_fixed(dst, RO_ADDR, RO_PAGES * PAGE,
		  TORUSMM_PROT_READ | TORUSMM_PROT_WRITE, 0);

	w.hot = nr_pages / 64 ? nr_pages / 64 : 1;
	printf("migration: %u + %u pages; a writer stores through the source's shadow\n",
	       nr_pages, RO_PAGES);
	printf("(a hot set of %u pages, %u us between batches of 64 stores)\n",
	       w.hot, pause_us);
	w.base = shadow;
	w.nr_pages = nr_pages;
	w.pause_us = pause_us;
	ret = pthread_create(&thread, NULL, writer_run, &w);
	if (ret)
		die("pthread_create", -ret);

	/* Round 0: start the log, then copy every page that holds a frame. */
	t0 = now_ms();
	for (p = 0; p < 2; p++)
		get_log(src, TORUSMM_GET_DIRTY_LOG, ranges[p].addr,
			(__u64)ranges[p].nr_pages * PAGE, ranges[p].bitmap,
			TORUSMM_LOG_CLEAR);
	copied = 0;
	for (p = 0; p < 2; p++) {
		frames_of(src, ranges[p].addr, ranges[p].nr_pages,
			  ranges[p].bitmap);
		copied += copy_pages(src, dst, ranges[p].addr,
				     ranges[p].nr_pages, ranges[p].bitmap,
				     buf);
	}
	printf("round  0: full copy: %5u pages copied (%u hold no frame), %.1f ms\n",
	       copied, nr_pages + RO_PAGES - copied, now_ms() - t0);

	for (round = 1; round <= max_rounds; round++) {
		t0 = now_ms();
		copied = harvest_and_copy(src, dst, ranges, 2, &dirty, buf);
		printf("round %2u: %5u dirty pages, %5u copied, %.1f ms\n",
		       round, dirty, copied, now_ms() - t0);
		if (dirty <= small)
			break;
	}
	if (round > max_rounds)
		printf("round limit (%u) reached\n", max_rounds);

	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(thread, NULL);
	t0 = now_ms();
	copied = harvest_and_copy(src, dst, ranges, 2, &dirty, buf);
	printf("stop-and-copy after %lu stores: %u dirty pages, %u copied, %.1f ms\n",
	       w.stores, dirty, copied, now_ms() - t0);
	ret = torusmm_mprotect(dst, RO_ADDR, RO_PAGES * PAGE,
			       TORUSMM_PROT_READ);
	if (ret)
		die("TORUSMM_MPROTECT", ret);

	ret = compare_spaces(src, dst, buf, buf2);
	munmap(shadow, (size_t)nr_pages * PAGE);
	close(src);
	close(dst);
	free(ranges[0].bitmap);
	free(ranges[1].bitmap);
	free(buf);
	free(buf2);
	return ret;
}

/* The pages interval @i touches, and how (a store, a load, a READ). */
static void ws_truth(unsigned int i, unsigned int nr_pages, __u64 *truth)
{
	unsigned int p, first = WS_HOT + (i * WS_WINDOW) % (nr_pages - WS_HOT -
							     WS_READS - WS_WINDOW);

	memset(truth, 0, (nr_pages + 63) / 64 * sizeof(*truth));
	for (p = 0; p < WS_HOT; p++)
		set_bit64(truth, p);
	for (p = first; p < first + WS_WINDOW; p++)
		set_bit64(truth, p);
	for (p = 0; p < WS_READS; p += 4)
		set_bit64(truth, nr_pages - WS_READS + p + i % 4);
}

static int working_set(int dev, unsigned int nr_pages)
{
	unsigned int words = (nr_pages + 63) / 64, i, p, w, k, bad = 0;
	__u64 *truth, *est, *truth_span, *est_span;
	unsigned int nr_truth, nr_est, missed, extra, span_t, span_e;
	__u64 (*history)[2][WS_MAX_PAGES / 64];
	unsigned char buf[64];
	__u32 sink = 0;
	__u32 *shadow;
	int fd, ret;

	if (nr_pages > WS_MAX_PAGES ||
	    nr_pages < WS_HOT + WS_WINDOW + WS_READS + 64)
		die("working set: pages out of range", -EINVAL);
	truth = calloc(words, sizeof(*truth));
	est = calloc(words, sizeof(*est));
	truth_span = calloc(words, sizeof(*truth_span));
	est_span = calloc(words, sizeof(*est_span));
	history = calloc(WS_INTERVALS, sizeof(*history));
	if (!truth || !est || !truth_span || !est_span || !history)
		die("calloc", -ENOMEM);

	fd = torusmm_create_space(dev, TORUSMM_TORUS_ANY, 0);
	if (fd < 0)
		die("TORUSMM_CREATE_SPACE", fd);
	map_fixed(fd, WS_ADDR, (__u64)nr_pages * PAGE,
		  TORUSMM_PROT_READ | TORUSMM_PROT_WRITE,
		  TORUSMM_MAP_POPULATE);
	shadow = shadow_of(fd, WS_ADDR, (size_t)nr_pages * PAGE);
	get_log(fd, TORUSMM_GET_ACCESS_LOG, WS_ADDR, (__u64)nr_pages * PAGE,
		est, 0);

	printf("\nworking set: %u pages; per interval a hot set of %u,\n",
	       nr_pages, WS_HOT);
	printf("a moving window of %u and %u pages read with TORUSMM_READ\n",
	       WS_WINDOW, WS_READS / 4);
	printf("interval  true  estimated  missed  extra   WSS(last %u) true estimated\n",
	       WS_SPAN);
	for (i = 0; i < WS_INTERVALS; i++) {
		struct torusmm_rw rw;

		ws_truth(i, nr_pages, truth);
		for (p = 0; p < nr_pages; p++) {
			__u32 *word = shadow + (size_t)p * (PAGE / 4) + i;

			if (!test_bit64(truth, p))
				continue;
			if (p >= nr_pages - WS_READS) {
				ret = torusmm_read(fd, WS_ADDR + (__u64)p * PAGE,
						   buf, sizeof(buf), 0, &rw);
				if (ret)
					die("TORUSMM_READ", ret < 0 ? ret : -EFAULT);
			} else if (p % 2) {
				sink += __atomic_load_n(word, __ATOMIC_RELAXED);
			} else {
				__atomic_store_n(word, i, __ATOMIC_RELAXED);
			}
		}
		get_log(fd, TORUSMM_GET_ACCESS_LOG, WS_ADDR,
			(__u64)nr_pages * PAGE, est, 0);
		memcpy(history[i][0], truth, words * sizeof(*truth));
		memcpy(history[i][1], est, words * sizeof(*est));

		nr_truth = 0;
		nr_est = 0;
		missed = 0;
		extra = 0;
		for (p = 0; p < nr_pages; p++) {
			nr_truth += test_bit64(truth, p);
			nr_est += test_bit64(est, p);
			missed += test_bit64(truth, p) && !test_bit64(est, p);
			extra += !test_bit64(truth, p) && test_bit64(est, p);
		}
		memset(truth_span, 0, words * sizeof(*truth_span));
		memset(est_span, 0, words * sizeof(*est_span));
		for (k = i + 1 >= WS_SPAN ? i + 1 - WS_SPAN : 0; k <= i; k++)
			for (w = 0; w < words; w++) {
				truth_span[w] |= history[k][0][w];
				est_span[w] |= history[k][1][w];
			}
		span_t = 0;
		span_e = 0;
		for (p = 0; p < nr_pages; p++) {
			span_t += test_bit64(truth_span, p);
			span_e += test_bit64(est_span, p);
		}
		printf("%8u  %4u  %9u  %6u  %5u   %15u %9u\n", i, nr_truth,
		       nr_est, missed, extra, span_t, span_e);
		bad += missed + extra + (span_t != span_e);
	}
	(void)sink;
	printf("working set: %s\n", bad ? "MISMATCH" : "PASS: every estimate exact");
	munmap(shadow, (size_t)nr_pages * PAGE);
	close(fd);
	free(truth);
	free(est);
	free(truth_span);
	free(est_span);
	free(history);
	return bad ? 1 : 0;
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: %s [-p PAGES] [-r ROUNDS] [-s SMALL] [-u USEC] [-w PAGES]\n"
		"  -p  pages of the migrated region (default 2048)\n"
		"  -r  most pre-copy rounds (default 10)\n"
		"  -s  stop pre-copying at this many dirty pages (default 48)\n"
		"  -u  the writer's pause between batches of 64 stores (default 200)\n"
		"  -w  pages of the working-set region (default 1024, at most 16384)\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned int pages = 2048, rounds = 10, small = 48, pause_us = 200;
	unsigned int ws_pages = 1024;
	int dev, opt, bad;

	while ((opt = getopt(argc, argv, "p:r:s:u:w:")) != -1) {
		switch (opt) {
		case 'p':
			pages = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			rounds = strtoul(optarg, NULL, 0);
			break;
		case 's':
			small = strtoul(optarg, NULL, 0);
			break;
		case 'u':
			pause_us = strtoul(optarg, NULL, 0);
			break;
		case 'w':
			ws_pages = strtoul(optarg, NULL, 0);
			break;
		default:
			print_usage();
		}
	}
	if (pages < 16 || pages > 65536)
		print_usage();
	dev = torusmm_open();
	if (dev < 0)
		die("open " TORUSMM_DEVICE, dev);
	if (torusmm_check_extension(dev, TORUSMM_CAP_DIRTY_LOG) != 1 ||
	    torusmm_check_extension(dev, TORUSMM_CAP_ACCESS_LOG) != 1 ||
	    torusmm_check_extension(dev, TORUSMM_CAP_SHADOW) != 1) {
		fprintf(stderr, "%s: this torusmm has no dirty log, access log or shadow mapping\n",
			prog);
		return 2;
	}
	bad = migrate(dev, pages, rounds, small, pause_us);
	bad |= working_set(dev, ws_pages);
	close(dev);
	return bad;
}
