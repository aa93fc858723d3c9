// SPDX-License-Identifier: GPL-2.0
/*
 * The debugfs files and the space ids: every file under
 * /sys/kernel/debug/torusmm/ is a regular file of mode 0400; a space's maps
 * lists exactly what TORUSMM_DUMP_REGIONS does and its ptes exactly what
 * TORUSMM_DUMP_PTES does (accessed, dirty, copy-on-write and PROT_NONE bits
 * included), for an empty space, a one-page space and a busy one; its stats
 * agree with TORUSMM_GET_STATS, id included; a torus's map has one
 * character per frame whose counts agree with TORUSMM_GET_TORUS_INFO, up to
 * the last frame of a full torus; a space's directory goes when the last
 * reference to the space (a descriptor or a shadow mapping) goes; and
 * reading a space's file while the space is destroyed ends in an error or a
 * whole read, never in a use after free (the debug kernel's KASAN would
 * report one).  Space ids are unique, never reused, and the GET_STATS of
 * the 56-byte layout still works.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libtorusmm.h"
#include "torusmm_test.h"

#define DEBUGFS		"/sys/kernel/debug/torusmm"
#define ADDR		0x10000000u
#define MAX_ENTRIES	8192
#define MAP_LINE	64
/* GET_STATS as binaries built against the 56-byte structure call it. */
#define GET_STATS_V1	_IOC(_IOC_READ, TORUSMMIO, 0x18, 56)

/* The whole of a file, NUL-terminated, in *@text.  Return: length or -errno. */
static long slurp(const char *path, char **text)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return fd < 0 ? -errno : -ENOMEM;
	}
	for (;;) {
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf) {
				close(fd);
				return -ENOMEM;
			}
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	if (n < 0) {
		int err = -errno;

		free(buf);
		return err;
	}
	buf[len] = '\0';
	*text = buf;
	return len;
}

static __u64 space_id(struct __test_metadata *_metadata, int fd)
{
	struct torusmm_space_stats stats;

	EXPECT_EQ(0, torusmm_stats(fd, &stats));
	return stats.id;
}

static void space_path(char *path, size_t len, __u64 id, const char *file)
{
	snprintf(path, len, DEBUGFS "/spaces/%llu%s%s", (unsigned long long)id,
		 file ? "/" : "", file ? file : "");
}

/* Whether /sys/kernel/debug/torusmm/spaces is there. */
static bool have_debugfs(void)
{
	return !access(DEBUGFS "/spaces", F_OK);
}

#define NO_DEBUGFS	"no " DEBUGFS "/spaces: debugfs not mounted or absent"

/* One store through a shadow mapping that the compiler must not drop. */
static void poke(void *p)
{
	__atomic_store_n((char *)p, 1, __ATOMIC_RELAXED);
}

/* maps must list what DUMP_REGIONS lists, in order. */
static void check_maps(struct __test_metadata *_metadata, int fd)
{
	static struct torusmm_region regions[MAX_ENTRIES];
	__u32 count = MAX_ENTRIES, i = 0;
	char path[128], *text, *line, *save;
	unsigned int start, end;
	char perm[4];
	int n;

	ASSERT_EQ(0, torusmm_dump_regions(fd, regions, &count));
	space_path(path, sizeof(path), space_id(_metadata, fd), "maps");
	ASSERT_LE(0, slurp(path, &text)) TH_LOG("%s", path);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		char want[4];

		n = sscanf(line, "%x-%x %3s", &start, &end, perm);
		ASSERT_EQ(3, n) TH_LOG("maps line '%s'", line);
		ASSERT_LT(i, count) TH_LOG("maps has more lines than regions");
		snprintf(want, sizeof(want), "%c%c%c",
			 regions[i].prot & R ? 'r' : '-',
			 regions[i].prot & TORUSMM_PROT_WRITE ? 'w' : '-',
			 regions[i].prot & TORUSMM_PROT_EXEC ? 'x' : '-');
		EXPECT_EQ(regions[i].start, start) TH_LOG("line %u", i);
		EXPECT_EQ(regions[i].end, end) TH_LOG("line %u", i);
		EXPECT_STREQ(want, perm) TH_LOG("line %u", i);
	}
	EXPECT_EQ(count, i) TH_LOG("maps has %u lines for %u regions", i, count);
	free(text);
}

/* The flag letters of a pte line, as debugfs.c spells them. */
static void pte_letters(__u32 pte, char out[9])
{
	snprintf(out, 9, "%c%c%c%c%c%c%c%c",
		 pte & TORUSMM_PTE_PRESENT ? 'p' : '-',
		 pte & TORUSMM_PTE_WRITABLE ? 'w' : '-',
		 pte & TORUSMM_PTE_USER ? 'u' : '-',
		 pte & TORUSMM_PTE_ACCESSED ? 'a' : '-',
		 pte & TORUSMM_PTE_DIRTY ? 'd' : '-',
		 pte & TORUSMM_PTE_NX ? 'x' : '-',
		 pte & TORUSMM_PTE_PROTNONE ? 'n' : '-',
		 pte & TORUSMM_PTE_COW ? 'c' : '-');
}

/* ptes must list what DUMP_PTES lists; return how many lines it has. */
static __u32 check_ptes(struct __test_metadata *_metadata, int fd)
{
	static struct torusmm_pte ptes[MAX_ENTRIES];
	__u32 count = MAX_ENTRIES, i = 0;
	char path[128], *text, *line, *save;
	unsigned int addr, pte;
	char flags[16], want[9];
	int n;

	EXPECT_EQ(0, torusmm_dump_ptes(fd, 0, 0, ptes, &count));
	space_path(path, sizeof(path), space_id(_metadata, fd), "ptes");
	EXPECT_LE(0, slurp(path, &text)) TH_LOG("%s", path);
	if (_metadata->passed == 0)
		return 0;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		n = sscanf(line, "%x %x %15s", &addr, &pte, flags);
		EXPECT_EQ(3, n) TH_LOG("ptes line '%s'", line);
		if (i >= count) {
			EXPECT_LT(i, count) TH_LOG("ptes has more lines");
			break;
		}
		pte_letters(ptes[i].pte, want);
		EXPECT_EQ(ptes[i].addr, addr) TH_LOG("line %u", i);
		EXPECT_EQ(ptes[i].pte, pte)
			TH_LOG("line %u: %#x in debugfs, %#x in DUMP_PTES", i,
			       pte, ptes[i].pte);
		EXPECT_STREQ(want, flags) TH_LOG("line %u", i);
	}
	EXPECT_EQ(count, i) TH_LOG("ptes has %u lines for %u entries", i, count);
	free(text);
	return i;
}

/* A value of a "key: value" file, or -1 when the key is absent. */
static long long key_value(const char *text, const char *key)
{
	size_t len = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, len) && p[len] == ':')
			return strtoll(p + len + 1, NULL, 0);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static int write_page(int fd, __u32 addr, unsigned char byte)
{
	struct torusmm_rw rw;

	return torusmm_write(fd, addr, &byte, 1, USER, &rw);
}

static int read_page(int fd, __u32 addr)
{
	struct torusmm_rw rw;
	unsigned char byte;

	return torusmm_read(fd, addr, &byte, 1, USER, &rw);
}

TEST(every_file_is_a_regular_file_of_mode_0400)
{
	static const char *const space_files[] = { "stats", "maps", "ptes" };
	static const char *const torus_files[] = { "stats", "map" };
	char path[128];
	struct stat st;
	unsigned int i;
	int dev, fd;

	if (!have_debugfs())
		SKIP(return, NO_DEBUGFS);
	dev = torusmm_open();
	ASSERT_LE(0, dev);
	fd = torusmm_create_space(dev, 0, 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(space_files); i++) {
		space_path(path, sizeof(path), space_id(_metadata, fd),
			   space_files[i]);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s", path);
		EXPECT_TRUE(S_ISREG(st.st_mode)) TH_LOG("%s", path);
		EXPECT_EQ(0400, st.st_mode & 07777) TH_LOG("%s", path);
	}
	for (i = 0; i < ARRAY_SIZE(torus_files); i++) {
		snprintf(path, sizeof(path), DEBUGFS "/torus0/%s",
			 torus_files[i]);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s", path);
		EXPECT_TRUE(S_ISREG(st.st_mode)) TH_LOG("%s", path);
		EXPECT_EQ(0400, st.st_mode & 07777) TH_LOG("%s", path);
	}
	close(fd);
	close(dev);
}

TEST(an_empty_space_has_empty_maps_and_ptes)
{
	char path[128], *text;
	int dev, fd;

	if (!have_debugfs())
		SKIP(return, NO_DEBUGFS);
	dev = torusmm_open();
	ASSERT_LE(0, dev);
	fd = torusmm_create_space(dev, 0, 0);
	ASSERT_LE(0, fd);
	/* A new space has only its stack page, and no frame there yet. */
	EXPECT_EQ(0, check_ptes(_metadata, fd));
	check_maps(_metadata, fd);
	ASSERT_EQ(0, torusmm_munmap(fd, STACK_PAGE, PAGE));
	check_maps(_metadata, fd);
	space_path(path, sizeof(path), space_id(_metadata, fd), "maps");
	ASSERT_EQ(0, slurp(path, &text));
	free(text);
	close(fd);
	close(dev);
}

TEST(a_one_page_space_has_one_pte_line)
{
	int dev, fd;

	if (!have_debugfs())
		SKIP(return, NO_DEBUGFS);
	dev = torusmm_open();
	ASSERT_LE(0, dev);
	fd = torusmm_create_space(dev, 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_page(fd, STACK_PAGE, 1));
	EXPECT_EQ(1, check_ptes(_metadata, fd));
	check_maps(_metadata, fd);
	close(fd);
	close(dev);
}

TEST(maps_and_ptes_equal_the_dumps_with_every_kind_of_entry)
{
	__u64 addr = ADDR;
	int dev, fd, child;
	__u32 i;

	if (!have_debugfs())
		SKIP(return, NO_DEBUGFS);
	dev = torusmm_open();
	ASSERT_LE(0, dev);
	fd = torusmm_create_space(dev, 0, 0);
	ASSERT_LE(0, fd);
	/* rw- written (dirty), rw- read (zero frame), r-x, a hole, ---. */
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, 16 * PAGE, RW, FIXED));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, write_page(fd, ADDR + i * PAGE, i));
	for (; i < 12; i++)
		ASSERT_EQ(0, read_page(fd, ADDR + i * PAGE));
	addr = ADDR + 32 * PAGE;
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, 4 * PAGE, RX, FIXED));
	ASSERT_EQ(0, read_page(fd, addr));
	ASSERT_EQ(0, torusmm_mprotect(fd, ADDR + 2 * PAGE, PAGE,
				      TORUSMM_PROT_NONE));
	ASSERT_EQ(0, torusmm_brk(fd, TORUSMM_HEAP_START + 3 * PAGE, &addr));
	ASSERT_EQ(0, write_page(fd, TORUSMM_HEAP_START, 7));
	/* The clone shares every frame copy-on-write: both sides say so. */
	child = torusmm_clone(fd);
	ASSERT_LE(0, child);
	ASSERT_EQ(0, write_page(child, ADDR + 5 * PAGE, 9));
	EXPECT_LE(14, check_ptes(_metadata, fd));
	check_maps(_metadata, fd);
	EXPECT_LE(14, check_ptes(_metadata, child));
	check_maps(_metadata, child);
	close(child);
	close(fd);
	close(dev);
}

TEST(stats_agree_with_get_stats_and_ids_are_never_reused)
{
	struct torusmm_space_stats stats;
	unsigned char v1[64];
	char path[128], *text;
	__u64 first, second;
	int dev, fd, child;

	dev = torusmm_open();
	ASSERT_LE(0, dev);
	ASSERT_EQ(1, torusmm_check_extension(dev, TORUSMM_CAP_SPACE_ID));
	fd = torusmm_create_space(dev, 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_page(fd, STACK_PAGE, 1));
	ASSERT_EQ(0, torusmm_stats(fd, &stats));
	first = stats.id;
	EXPECT_NE(0, first);

	/* The 56-byte GET_STATS gets the same first 56 bytes, no more. */
	memset(v1, 0xa5, sizeof(v1));
	ASSERT_EQ(0, torusmm_ioctl(fd, GET_STATS_V1, v1));
	EXPECT_EQ(0, memcmp(v1, &stats, 56));
	EXPECT_EQ(0xa5, v1[56]);
	EXPECT_EQ(0xa5, v1[63]);

	if (have_debugfs()) {
		space_path(path, sizeof(path), first, "stats");
		ASSERT_LE(0, slurp(path, &text));
		EXPECT_EQ(first, key_value(text, "id"));
		EXPECT_EQ(stats.torus, key_value(text, "torus"));
		EXPECT_EQ(stats.max_frames, key_value(text, "max_frames"));
		EXPECT_EQ(stats.nr_data_frames,
			  key_value(text, "nr_data_frames"));
		EXPECT_EQ(stats.nr_table_frames,
			  key_value(text, "nr_table_frames"));
		EXPECT_EQ(stats.nr_regions, key_value(text, "nr_regions"));
		EXPECT_EQ(stats.brk, key_value(text, "brk"));
		EXPECT_EQ(stats.stack_start, key_value(text, "stack_start"));
		EXPECT_EQ(stats.nr_faults, key_value(text, "nr_faults"));
		free(text);
	}

	child = torusmm_clone(fd);
	ASSERT_LE(0, child);
	second = space_id(_metadata, child);
	EXPECT_LT(first, second);
	close(child);
	close(fd);
	/* A new space after both closed gets a new id, not a freed one. */
	fd = torusmm_create_space(dev, 0, 0);
	ASSERT_LE(0, fd);
	EXPECT_LT(second, space_id(_metadata, fd));
	close(fd);
	close(dev);
}

/*
 * Read torus @index's map; check its shape (a zero-frame line, then lines of
 * MAP_LINE frames with consecutive numbers) and count its characters.
 */
static void read_torus_map(struct __test_metadata *_metadata,
			   unsigned int index, __u32 nr_frames,
			   unsigned long counts[256], char *last)
{
	char path[128], *text, *line, *save;
	unsigned int frame, expect = TORUSMM_TORUS_BASE >> 12, lines = 0;
	char chars[MAP_LINE + 2];
	size_t i, n;
	int fields;

	memset(counts, 0, 256 * sizeof(counts[0]));
	snprintf(path, sizeof(path), DEBUGFS "/torus%u/map", index);
	ASSERT_LE(0, slurp(path, &text)) TH_LOG("%s", path);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), lines++) {
		fields = sscanf(line, "%x %65s", &frame, chars);
		ASSERT_EQ(2, fields) TH_LOG("map line '%s'", line);
		n = strlen(chars);
		if (!lines) {
			EXPECT_EQ(TORUSMM_ZERO_FRAME_TPA >> 12, frame);
			EXPECT_STREQ("z", chars);
			continue;
		}
		EXPECT_EQ(expect, frame) TH_LOG("map line %u", lines);
		EXPECT_GE(MAP_LINE, n);
		for (i = 0; i < n; i++)
			counts[(unsigned char)chars[i]]++;
		*last = chars[n - 1];
		expect = frame + n;
	}
	EXPECT_EQ((TORUSMM_TORUS_BASE >> 12) + nr_frames, expect);
	free(text);
}

TEST(the_torus_map_counts_agree_with_torus_info)
{
	struct torusmm_torus_info info;
	unsigned long counts[256];
	__u64 addr = ADDR;
	int dev, fd, child;
	char last;
	__u32 i;

	if (!have_debugfs())
		SKIP(return, NO_DEBUGFS);
	dev = torusmm_open();
	ASSERT_LE(0, dev);
	fd = torusmm_create_space(dev, 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, 32 * PAGE, RW, FIXED));
	for (i = 0; i < 32; i += 2)
		ASSERT_EQ(0, write_page(fd, ADDR + i * PAGE, 1));
	child = torusmm_clone(fd);
	ASSERT_LE(0, child);

	ASSERT_EQ(0, torusmm_torus_info(dev, 0, &info));
	read_torus_map(_metadata, 0, info.nr_frames, counts, &last);
	EXPECT_EQ(info.nr_free, counts['.']);
	EXPECT_EQ(info.nr_table_frames, counts['t']);
	EXPECT_EQ(info.nr_used, counts['d'] + counts['s'] + counts['t']);
	EXPECT_EQ(info.nr_frames, counts['.'] + counts['d'] + counts['s'] +
		  counts['t']);
	/* The 16 written pages are shared with the clone. */
	EXPECT_LE(16, counts['s']);
	close(child);
	close(fd);
	close(dev);
}

TEST(the_last_frame_of_a_full_torus_shows_in_use)
{
	struct torusmm_torus_info info;
	unsigned long counts[256];
	__u64 addr = ADDR;
	int dev, fd, ret = 0;
	char last = 0;
	__u32 i;

	if (!have_debugfs())
		SKIP(return, NO_DEBUGFS);
	dev = torusmm_open();
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, torusmm_torus_info(dev, 0, &info));
	if (info.nr_frames > 65536)
		SKIP(return, "torus 0 has %u frames: too many to fill here",
		     info.nr_frames);
	fd = torusmm_create_space(dev, 0, TORUSMM_NO_QUOTA);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, (__u64)info.nr_frames * PAGE, RW,
				  FIXED));
	for (i = 0; i < info.nr_frames && !ret; i++)
		ret = write_page(fd, ADDR + i * PAGE, 1);
	ASSERT_EQ(-ENOMEM, ret) TH_LOG("the torus never filled");
	ASSERT_EQ(0, torusmm_torus_info(dev, 0, &info));
	ASSERT_EQ(0, info.nr_free);
	read_torus_map(_metadata, 0, info.nr_frames, counts, &last);
	EXPECT_EQ(0, counts['.']);
	EXPECT_NE('.', last);
	EXPECT_EQ(info.nr_table_frames, counts['t']);
	close(fd);
	ASSERT_EQ(0, torusmm_torus_info(dev, 0, &info));
	read_torus_map(_metadata, 0, info.nr_frames, counts, &last);
	EXPECT_EQ(info.nr_free, counts['.']);
	close(dev);
}

TEST(a_space_directory_goes_with_the_last_reference)
{
	char path[128];
	void *map = NULL;
	int dev, fd, dup_fd;
	__u64 id;

	if (!have_debugfs())
		SKIP(return, NO_DEBUGFS);
	dev = torusmm_open();
	ASSERT_LE(0, dev);
	fd = torusmm_create_space(dev, 0, 0);
	ASSERT_LE(0, fd);
	id = space_id(_metadata, fd);
	space_path(path, sizeof(path), id, NULL);
	ASSERT_EQ(0, access(path, F_OK));

	dup_fd = dup(fd);
	ASSERT_LE(0, dup_fd);
	close(fd);
	EXPECT_EQ(0, access(path, F_OK)) TH_LOG("gone with a dup still open");
	/* A shadow mapping holds the space file too. */
	ASSERT_EQ(0, torusmm_shadow_map(dup_fd, STACK_PAGE, PAGE,
					PROT_READ | PROT_WRITE, &map));
	close(dup_fd);
	EXPECT_EQ(0, access(path, F_OK)) TH_LOG("gone with a mapping left");
	poke(map);
	munmap(map, PAGE);
	EXPECT_EQ(-1, access(path, F_OK)) TH_LOG("%s outlived its space", path);
	EXPECT_EQ(ENOENT, errno);
	close(dev);
}

/*
 * A reader process opens a space's ptes (and maps, and stats) file, then
 * reads it over and over while this process closes the space.  Every read
 * must be whole (end with a newline, or be empty) or fail with EIO; once
 * the files are gone an open fails with ENOENT.  KASAN in the debug kernel
 * reports any use of the freed space.
 */
/* The harness of 6.1 has timeouts only for fixtures: an empty one. */
FIXTURE(race) {
	int unused;
};

FIXTURE_SETUP(race)
{
}

FIXTURE_TEARDOWN(race)
{
}

TEST_F_TIMEOUT(race, reading_while_the_space_is_destroyed_is_safe, 120)
{
	static const char *const files[] = { "ptes", "maps", "stats" };
	static char buf[1 << 16];
	unsigned int round;
	__u64 addr = ADDR;
	int dev;

	if (!have_debugfs())
		SKIP(return, NO_DEBUGFS);
	dev = torusmm_open();
	ASSERT_LE(0, dev);
	for (round = 0; round < 30; round++) {
		const char *file = files[round % ARRAY_SIZE(files)];
		int fd, status, sync[2];
		char path[128], c;
		pid_t pid;
		__u32 i;

		fd = torusmm_create_space(dev, 0, 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, torusmm_mmap(fd, &addr, 512 * PAGE, RW, FIXED));
		for (i = 0; i < 512; i++)
			ASSERT_EQ(0, write_page(fd, ADDR + i * PAGE, 1));
		space_path(path, sizeof(path), space_id(_metadata, fd), file);
		ASSERT_EQ(0, pipe(sync));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			int f = open(path, O_RDONLY);
			ssize_t n;

			close(fd);	/* only the parent's close may free it */
			if (f < 0)
				_exit(10);
			if (write(sync[1], "x", 1) != 1)
				_exit(11);
			for (;;) {
				char last = '\n';

				while ((n = read(f, buf, sizeof(buf))) > 0)
					last = buf[n - 1];
				if (n < 0)
					_exit(errno == EIO ? 0 : 12);
				if (last != '\n')
					_exit(13);
				lseek(f, 0, SEEK_SET);
			}
		}
		close(sync[1]);
		ASSERT_EQ(1, read(sync[0], &c, 1));
		close(sync[0]);
		usleep(round * 200);
		close(fd);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("round %u (%s): reader status %#x", round, file,
			       status);
		EXPECT_EQ(-1, open(path, O_RDONLY));
		EXPECT_EQ(ENOENT, errno);
	}
	close(dev);
}

TEST_HARNESS_MAIN
