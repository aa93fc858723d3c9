// SPDX-License-Identifier: GPL-2.0
/*
 * The tracepoints: with the torusmm events enabled in tracefs, a short run
 * of operations on a space (map, demand faults of a written and of a read
 * page, mprotect, a refused write, clone, a shadow fault, munmap) leaves
 * each event in the trace buffer with the fields of what was done: the
 * space's id from TORUSMM_GET_STATS, the addresses, the protection, the
 * access and fault codes, the frames TORUSMM_TRANSLATE reports.  Skips,
 * saying why, when the kernel has no tracefs or no torusmm events.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libtorusmm.h"
#include "torusmm_test.h"

#define TRACEFS		"/sys/kernel/tracing"
#define EVENTS		TRACEFS "/events/torusmm"
#define ADDR		0x10000000u
#define SHADOW_ADDR	0x20000000u

/* Write @text to a tracefs file.  Return: 0 or -errno. */
static int tracefs_write(const char *file, const char *text)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The first word of a tracefs file in @buf.  Return: 0 or -errno. */
static int tracefs_read(const char *file, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* "7 (expanded: 1408)" before the first use: keep the number. */
	buf[strcspn(buf, "\n ")] = '\0';
	return 0;
}

/* The trace buffer's text, NUL-terminated (malloc'ed), or NULL. */
static char *trace_text(void)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	fd = open(TRACEFS "/trace", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf) {
		free(buf);
		return NULL;
	}
	while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096)
			buf = realloc(buf, cap *= 2);
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

/*
 * Why the torusmm events cannot be used here, or NULL when they can:
 * tracefs is mounted at TRACEFS if it was not.
 */
static const char *events_unavailable(void)
{
	if (access(TRACEFS "/trace", F_OK) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		return "tracefs is not mounted and cannot be (no CONFIG_TRACING?)";
	if (access(EVENTS "/enable", W_OK))
		return "no " EVENTS ": a kernel without event tracing";
	return NULL;
}

static __u64 space_id(struct __test_metadata *_metadata, int fd)
{
	struct torusmm_space_stats stats;

	EXPECT_EQ(0, torusmm_stats(fd, &stats));
	return stats.id;
}

static __u32 frame_at(struct __test_metadata *_metadata, int fd, __u32 addr)
{
	struct torusmm_translate tr;

	EXPECT_EQ(0, torusmm_translate(fd, addr, 0, TORUSMM_TRANSLATE_PEEK,
				       &tr));
	return tr.tpa >> 12;
}

/* Expect a line of @trace to contain the formatted text. */
#define EXPECT_EVENT(trace, ...)					\
	do {								\
		char _want[256];					\
									\
		snprintf(_want, sizeof(_want), __VA_ARGS__);		\
		EXPECT_TRUE(!!strstr(trace, _want))			\
			TH_LOG("no event with '%s' in the trace", _want); \
	} while (0)

TEST(every_event_appears_with_the_fields_of_what_was_done)
{
	unsigned long long id, child_id;
	__u32 data_frame, shadow_frame;
	unsigned char byte = 0x5a;
	char buffer_size[32];
	struct torusmm_rw rw;
	__u64 addr = ADDR;
	const char *why;
	char *trace;
	int dev, fd, child;
	void *map = NULL;

	why = events_unavailable();
	if (why)
		SKIP(return, "%s", why);
	dev = torusmm_open();
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, tracefs_write("tracing_on", "0"));
	ASSERT_EQ(0, tracefs_write("trace", ""));
	/* Enough for the run; put back at the end, for the tests after. */
	ASSERT_EQ(0, tracefs_read("buffer_size_kb", buffer_size,
				  sizeof(buffer_size)));
	ASSERT_EQ(0, tracefs_write("buffer_size_kb", "4096"));
	ASSERT_EQ(0, tracefs_write("events/torusmm/enable", "1"));
	ASSERT_EQ(0, tracefs_write("tracing_on", "1"));

	fd = torusmm_create_space(dev, 0, 0);
	ASSERT_LE(0, fd);
	id = space_id(_metadata, fd);
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, 2 * PAGE, RW, FIXED));
	ASSERT_EQ(0, torusmm_write(fd, ADDR, &byte, 1, USER, &rw));
	ASSERT_EQ(0, torusmm_read(fd, ADDR + PAGE, &byte, 1, USER, &rw));
	data_frame = frame_at(_metadata, fd, ADDR);
	ASSERT_EQ(0, torusmm_mprotect(fd, ADDR, PAGE, R));
	ASSERT_EQ(1, torusmm_write(fd, ADDR, &byte, 1, USER, &rw));
	child = torusmm_clone(fd);
	ASSERT_LE(0, child);
	child_id = space_id(_metadata, child);

	addr = SHADOW_ADDR;
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, PAGE, RW, FIXED));
	ASSERT_EQ(0, torusmm_shadow_map(fd, SHADOW_ADDR, PAGE,
					PROT_READ | PROT_WRITE, &map));
	__atomic_store_n((unsigned char *)map, 1, __ATOMIC_RELAXED);
	shadow_frame = frame_at(_metadata, fd, SHADOW_ADDR);
	ASSERT_EQ(0, torusmm_munmap(fd, SHADOW_ADDR, PAGE));
	munmap(map, PAGE);
	close(child);
	close(fd);

	ASSERT_EQ(0, tracefs_write("events/torusmm/enable", "0"));
	trace = trace_text();
	ASSERT_TRUE(!!trace);
	ASSERT_EQ(0, tracefs_write("trace", ""));
	EXPECT_EQ(0, tracefs_write("buffer_size_kb", buffer_size));

	EXPECT_EVENT(trace, "torusmm_map: space=%llu start=%#x end=%#x prot=%#x (rw)",
		     id, ADDR, ADDR + 2 * PAGE, RW);
	EXPECT_EVENT(trace, "torusmm_fault: space=%llu addr=%#x access=%#x frame=%#x",
		     id, ADDR, USER | WRITE, data_frame);
	EXPECT_EVENT(trace, "torusmm_fault: space=%llu addr=%#x access=%#x frame=%#x",
		     id, ADDR + PAGE, USER, TORUSMM_ZERO_FRAME_TPA >> 12);
	EXPECT_EVENT(trace, "torusmm_frame_alloc: torus=0 frame=%#x kind=data",
		     data_frame);
	EXPECT_EVENT(trace, "kind=table");
	EXPECT_EVENT(trace, "torusmm_protect: space=%llu start=%#x end=%#x prot=%#x (r)",
		     id, ADDR, ADDR + PAGE, R);
	EXPECT_EVENT(trace, "torusmm_access_refused: space=%llu addr=%#x access=%#x fault=%#x",
		     id, ADDR, USER | WRITE, F_P | F_W | F_U);
	EXPECT_EVENT(trace, "torusmm_clone: parent=%llu child=%llu", id,
		     child_id);
	EXPECT_EVENT(trace, "torusmm_shadow_fault: space=%llu addr=%#x pfn=0x",
		     id, SHADOW_ADDR);
	EXPECT_EVENT(trace, "write=1");
	EXPECT_EVENT(trace, "torusmm_unmap: space=%llu start=%#x end=%#x",
		     id, SHADOW_ADDR, SHADOW_ADDR + PAGE);
	EXPECT_EVENT(trace, "torusmm_shadow_invalidate: space=%llu start=%#x end=%#x",
		     id, SHADOW_ADDR, SHADOW_ADDR + PAGE);
	EXPECT_EVENT(trace, "torusmm_frame_free: torus=0 frame=%#x kind=data",
		     shadow_frame);
	if (!_metadata->passed)
		fprintf(stderr, "# the trace was:\n%s", trace);
	free(trace);
	close(dev);
}

TEST(disabled_events_record_nothing)
{
	struct torusmm_rw rw;
	unsigned char byte = 1;
	__u64 addr = ADDR;
	const char *why;
	char *trace;
	int dev, fd;

	why = events_unavailable();
	if (why)
		SKIP(return, "%s", why);
	dev = torusmm_open();
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, tracefs_write("events/torusmm/enable", "0"));
	ASSERT_EQ(0, tracefs_write("trace", ""));
	fd = torusmm_create_space(dev, 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, PAGE, RW, FIXED));
	ASSERT_EQ(0, torusmm_write(fd, ADDR, &byte, 1, USER, &rw));
	close(fd);
	trace = trace_text();
	ASSERT_TRUE(!!trace);
	EXPECT_FALSE(!!strstr(trace, "torusmm_"))
		TH_LOG("events recorded while disabled:\n%s", trace);
	free(trace);
	close(dev);
}

TEST_HARNESS_MAIN
