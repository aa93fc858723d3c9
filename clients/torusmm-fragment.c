// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm-fragment: leave torus 0 fragmented, for a picture of its frame map.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * Three spaces take frames in turn, a page each, so that their frames
 * interleave; one of them is closed and another unmaps every third of its
 * pages, which leaves holes; the third is cloned, which shares its frames,
 * and the clone writes to a few of them, which copies those.  Then, while
 * the spaces are alive, it copies FILE (say
 * /sys/kernel/debug/torusmm/torus0/map) to standard output between the
 * lines TORUSMM-MAP-BEGIN and TORUSMM-MAP-END, which scripts/frame-map.sh
 * finds in a VM's log; without FILE it waits for a line on standard input.
 *
 * usage: torusmm-fragment [pages per space [FILE]]   (default 256 pages)
 */
#include <stdio.h>
#include <stdlib.h>

#include "libtorusmm.h"

#define ADDR	0x10000000u

static void die(const char *what, int ret)
{
	char buf[32];

	fprintf(stderr, "torusmm-fragment: %s: %s\n", what,
		torusmm_strret(ret, buf, sizeof(buf)));
	exit(1);
}

static void touch(int fd, __u32 addr)
{
	unsigned char byte = 0x42;
	struct torusmm_rw rw;
	int ret = torusmm_write(fd, addr, &byte, 1, TORUSMM_ACCESS_USER, &rw);

	if (ret)
		die("write", ret);
}

int main(int argc, char **argv)
{
	unsigned int pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
	int dev, fd[3], clone, ret;
	unsigned int i, s;
	__u64 addr;

	dev = torusmm_open();
	if (dev < 0)
		die("open " TORUSMM_DEVICE, dev);
	for (s = 0; s < 3; s++) {
		fd[s] = torusmm_create_space(dev, 0, TORUSMM_NO_QUOTA);
		if (fd[s] < 0)
			die("create", fd[s]);
		addr = ADDR;
		ret = torusmm_mmap(fd[s], &addr, (__u64)pages * 4096,
				   TORUSMM_PROT_READ | TORUSMM_PROT_WRITE,
				   TORUSMM_MAP_FIXED);
		if (ret)
			die("mmap", ret);
	}
	for (i = 0; i < pages; i++)
		for (s = 0; s < 3; s++)
			touch(fd[s], ADDR + i * 4096);
	close(fd[1]);
	for (i = 0; i < pages; i += 3) {
		ret = torusmm_munmap(fd[0], ADDR + i * 4096, 4096);
		if (ret)
			die("munmap", ret);
	}
	clone = torusmm_clone(fd[2]);
	if (clone < 0)
		die("clone", clone);
	for (i = 0; i < pages; i += 4)
		touch(clone, ADDR + i * 4096);
	if (argc > 2) {
		char line[256];
		FILE *f = fopen(argv[2], "r");

		if (!f) {
			perror(argv[2]);
			return 1;
		}
		printf("TORUSMM-MAP-BEGIN\n");
		while (fgets(line, sizeof(line), f))
			fputs(line, stdout);
		printf("TORUSMM-MAP-END\n");
		fclose(f);
		return 0;
	}
	printf("torusmm-fragment: ready; press return to end\n");
	fflush(stdout);
	getchar();
	return 0;
}
