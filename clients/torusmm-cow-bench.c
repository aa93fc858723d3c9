// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm-cow-bench: copy-on-write clones and the dirty log against what
 * Linux does for a process.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * Three rows, each the median of N runs:
 *
 * - clone: TORUSMM_CLONE of a space with every page of a region populated
 *   and written, against fork() of this process with a buffer of the same
 *   size touched (the time fork() takes to return in the parent);
 * - first write after clone: one store per page through a shadow of the
 *   source while the clone shares every frame, against one store per page
 *   in the parent while a forked child shares the buffer (Linux's COW
 *   fault), per page;
 * - dirty harvest: TORUSMM_GET_DIRTY_LOG with TORUSMM_LOG_CLEAR after every
 *   page was written, against reading the soft-dirty bits of the buffer
 *   from /proc/self/pagemap after "4" went to /proc/self/clear_refs and
 *   every page was written.  The row is skipped when the kernel has no
 *   soft-dirty bits.
 *
 * Printed: metric, torusmm, native, and the ratio torusmm / native.
 * Nothing is asserted about the times.  The torus needs twice the region
 * (the copies of the second row), e.g. torus_mb=256 for 64 MiB.
 */
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libtorusmm.h"

#define PAGE		TORUSMM_PAGE_SIZE
#define BENCH_ADDR	0x10000000u
#define MAX_RUNS	101
#define PM_SOFT_DIRTY_BIT	55	/* of a /proc/self/pagemap entry */

static const char *prog = "torusmm-cow-bench";

static void die(const char *what, int ret)
{
	char buf[32];

	fprintf(stderr, "%s: %s: %s\n", prog, what,
		torusmm_strret(ret, buf, sizeof(buf)));
	exit(2);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void row(const char *metric, double torusmm, double native)
{
	printf("%-44s %12.1f %12.1f %8.2f\n", metric, torusmm, native,
	       torusmm / native);
}

/* One store per page of [@p, @p + @pages pages), each a different value. */
static void touch(char *p, size_t pages, char value)
{
	size_t i;

	for (i = 0; i < pages; i++)
		__atomic_store_n(p + i * PAGE + (i % 64) * 8, value + (char)i,
				 __ATOMIC_RELAXED);
}

static double bench_clone(int fd, unsigned int runs)
{
	double t[MAX_RUNS], t0;
	unsigned int r;
	int clone;

	for (r = 0; r < runs; r++) {
		t0 = now_ns();
		clone = torusmm_clone(fd);
		t[r] = now_ns() - t0;
		if (clone < 0)
			die("TORUSMM_CLONE", clone);
		close(clone);
	}
	return median(t, runs) / 1e3;
}

static double bench_fork(char *buf, size_t pages, unsigned int runs)
{
	double t[MAX_RUNS], t0;
	unsigned int r;
	pid_t pid;

	touch(buf, pages, 1);
	for (r = 0; r < runs; r++) {
		t0 = now_ns();
		pid = fork();
		if (pid == 0)
			_exit(0);
		t[r] = now_ns() - t0;
		if (pid < 0)
			die("fork", -errno);
		waitpid(pid, NULL, 0);
	}
	return median(t, runs) / 1e3;
}

static double bench_cow_write(int fd, char *shadow, size_t pages,
			      unsigned int runs)
{
	double t[MAX_RUNS], t0;
	unsigned int r;
	int clone;

	for (r = 0; r < runs; r++) {
		clone = torusmm_clone(fd);
		if (clone < 0)
			die("TORUSMM_CLONE", clone);
		t0 = now_ns();
		touch(shadow, pages, (char)r);
		t[r] = (now_ns() - t0) / pages;
		close(clone);
	}
	return median(t, runs);
}

static double bench_fork_write(char *buf, size_t pages, unsigned int runs)
{
	double t[MAX_RUNS], t0;
	int release[2];
	unsigned int r;
	char c;
	pid_t pid;

	touch(buf, pages, 2);
	for (r = 0; r < runs; r++) {
		if (pipe(release))
			die("pipe", -errno);
		pid = fork();
		if (pid == 0) {
			/* Hold the pages shared until the parent is done. */
			close(release[1]);
			_exit(read(release[0], &c, 1) < 0);
		}
		if (pid < 0)
			die("fork", -errno);
		close(release[0]);
		t0 = now_ns();
		touch(buf, pages, (char)r);
		t[r] = (now_ns() - t0) / pages;
		close(release[1]);
		waitpid(pid, NULL, 0);
	}
	return median(t, runs);
}

static double bench_harvest(int fd, char *shadow, size_t pages,
			    unsigned int runs)
{
	__u64 *bitmap = calloc((pages + 63) / 64, sizeof(__u64));
	double t[MAX_RUNS], t0;
	struct torusmm_log log;
	unsigned int r;
	int ret;

	if (!bitmap)
		die("calloc", -ENOMEM);
	for (r = 0; r < runs; r++) {
		touch(shadow, pages, (char)r);
		log = (struct torusmm_log){
			.addr = BENCH_ADDR,
			.length = (__u64)pages * PAGE,
			.bitmap = torusmm_ptr(bitmap),
			.flags = TORUSMM_LOG_CLEAR,
		};
		t0 = now_ns();
		ret = torusmm_ioctl(fd, TORUSMM_GET_DIRTY_LOG, &log);
		t[r] = now_ns() - t0;
		if (ret)
			die("TORUSMM_GET_DIRTY_LOG", ret);
		if (log.count != pages) {
			fprintf(stderr, "%s: the harvest found %u dirty pages of %zu\n",
				prog, log.count, pages);
			exit(1);
		}
	}
	free(bitmap);
	return median(t, runs) / 1e3;
}

/*
 * The soft-dirty harvest of @buf, or a negative value (with a message)
 * when the kernel has no soft-dirty bits.
 */
static double bench_soft_dirty(char *buf, size_t pages, unsigned int runs)
{
	__u64 *entries = calloc(pages, sizeof(__u64));
	double t[MAX_RUNS], t0;
	off_t offset = (uintptr_t)buf / PAGE * sizeof(__u64);
	int clear, pagemap;
	unsigned int r;
	size_t i, dirty;

	if (!entries)
		die("calloc", -ENOMEM);
	clear = open("/proc/self/clear_refs", O_WRONLY);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (clear < 0 || pagemap < 0) {
		printf("%-44s skipped: no /proc/self/clear_refs or pagemap\n",
		       "dirty harvest (us)");
		return -1;
	}
	for (r = 0; r < runs; r++) {
		if (write(clear, "4", 1) != 1) {
			printf("%-44s skipped: clear_refs refuses \"4\" (%s): no soft-dirty bits\n",
			       "dirty harvest (us)", strerror(errno));
			return -1;
		}
		touch(buf, pages, (char)r);
		t0 = now_ns();
		if (pread(pagemap, entries, pages * sizeof(__u64), offset) !=
		    (ssize_t)(pages * sizeof(__u64)))
			die("pread of /proc/self/pagemap", -errno);
		for (i = 0, dirty = 0; i < pages; i++)
			dirty += entries[i] >> PM_SOFT_DIRTY_BIT & 1;
		t[r] = now_ns() - t0;
		if (dirty != pages) {
			printf("%-44s skipped: %zu of %zu written pages soft-dirty\n",
			       "dirty harvest (us)", dirty, pages);
			return -1;
		}
	}
	close(clear);
	close(pagemap);
	free(entries);
	return median(t, runs) / 1e3;
}

int main(int argc, char **argv)
{
	unsigned int runs = 5, mib = 64;
	double torusmm, native;
	char metric[64], *buf, *shadow;
	size_t pages, size;
	__u64 addr = BENCH_ADDR;
	int dev, fd, opt, ret;

	while ((opt = getopt(argc, argv, "n:m:")) != -1) {
		switch (opt) {
		case 'n':
			runs = strtoul(optarg, NULL, 0);
			break;
		case 'm':
			mib = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-n RUNS] [-m MIB]\n", prog);
			return 2;
		}
	}
	if (!runs || runs > MAX_RUNS || !mib || mib > 1024) {
		fprintf(stderr, "%s: runs 1-%u, 1-1024 MiB\n", prog, MAX_RUNS);
		return 2;
	}
	size = (size_t)mib << 20;
	pages = size / PAGE;

	dev = torusmm_open();
	if (dev < 0)
		die("open " TORUSMM_DEVICE, dev);
	if (torusmm_check_extension(dev, TORUSMM_CAP_COW_CLONE) != 1 ||
	    torusmm_check_extension(dev, TORUSMM_CAP_SHADOW) != 1) {
		fprintf(stderr, "%s: this torusmm has no copy-on-write clone or no shadow\n",
			prog);
		return 2;
	}
	fd = torusmm_create_space(dev, TORUSMM_TORUS_ANY, 0);
	if (fd < 0)
		die("TORUSMM_CREATE_SPACE", fd);
	ret = torusmm_mmap(fd, &addr, size, TORUSMM_PROT_READ |
			   TORUSMM_PROT_WRITE,
			   TORUSMM_MAP_FIXED | TORUSMM_MAP_POPULATE);
	if (ret)
		die("TORUSMM_MMAP of the region (is torus_mb large enough?)",
		    ret);
	shadow = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		      BENCH_ADDR);
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (shadow == MAP_FAILED || buf == MAP_FAILED)
		die("mmap", -errno);
	touch(shadow, pages, 3);
	touch(buf, pages, 3);

	printf("%u MiB (%zu pages), median of %u runs\n", mib, pages, runs);
	printf("%-44s %12s %12s %8s\n", "metric", "torusmm", "native", "ratio");
	snprintf(metric, sizeof(metric), "clone vs fork of %u MiB (us)", mib);
	torusmm = bench_clone(fd, runs);
	native = bench_fork(buf, pages, runs);
	row(metric, torusmm, native);

	torusmm = bench_cow_write(fd, shadow, pages, runs);
	native = bench_fork_write(buf, pages, runs);
	row("first write after clone vs fork (ns/page)", torusmm, native);

	if (torusmm_check_extension(dev, TORUSMM_CAP_DIRTY_LOG) != 1) {
		printf("%-44s skipped: TORUSMM_CAP_DIRTY_LOG is 0\n",
		       "dirty harvest (us)");
	} else {
		native = bench_soft_dirty(buf, pages, runs);
		if (native > 0) {
			snprintf(metric, sizeof(metric),
				 "dirty harvest of %u MiB vs soft-dirty (us)",
				 mib);
			torusmm = bench_harvest(fd, shadow, pages, runs);
			row(metric, torusmm, native);
		}
	}
	munmap(shadow, size);
	munmap(buf, size);
	close(fd);
	close(dev);
	return 0;
}
