// SPDX-License-Identifier: GPL-2.0
/*
 * The lifetime of address spaces and of the module: a space fd closed by
 * one thread while another is inside a long ioctl on it (a 1 MiB read, a
 * clone of a populated space, a big populate) is freed only when that ioctl
 * has returned, and the ioctl completes normally; run in the debug kernel,
 * KASAN proves that nothing is used after it is freed.  The second thread
 * is a task made with clone(CLONE_FILES): it shares the fd table, which is
 * what matters here, without pthreads, whose 32-bit futex calls need a
 * kernel with COMPAT_32BIT_TIME.  Spaces created and
 * closed in a loop leak nothing; a user holds at most max_spaces live
 * spaces, whichever opens of /dev/torusmm made them (EMFILE after that, and
 * another open does not get round it), and spaces outlive the open that
 * made them; a space fd passed over a unix socket with SCM_RIGHTS works in
 * the receiver, keeps the space alive while in flight, and frees it when the
 * socket is closed with it still inside; the module cannot be unloaded while
 * any fd is open; and when everything is closed, every torus has all of its
 * frames free again.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libtorusmm.h"
#include "torusmm_test.h"

#define ADDR		0x10000000u
#define MAX_SPACES	256
#define STACK_SIZE	(64 * 1024)

FIXTURE(lifetime) {
	int dev;
	__u32 free_before;
};

FIXTURE_SETUP(lifetime)
{
	struct torusmm_torus_info info;

	self->dev = torusmm_open();
	/* No SKIP: this harness would still run the test body after it. */
	ASSERT_LE(0, self->dev) TH_LOG("open " TORUSMM_DEVICE ": %s%s",
				       strerror(-self->dev),
				       self->dev == -ENOENT ?
				       " (is torusmm.ko loaded?)" : "");
	ASSERT_EQ(0, torusmm_torus_info(self->dev, 0, &info));
	self->free_before = info.nr_free;
}

FIXTURE_TEARDOWN(lifetime)
{
	if (self->dev >= 0)
		close(self->dev);
}

static __u32 torus_free(struct __test_metadata *_metadata, int dev)
{
	struct torusmm_torus_info info;

	ASSERT_EQ(0, torusmm_torus_info(dev, 0, &info));
	return info.nr_free;
}

/* A space on torus 0 with @pages read-write pages at ADDR, all written. */
static int populated_space(struct __test_metadata *_metadata, int dev,
			   __u32 pages)
{
	static unsigned char chunk[TORUSMM_RW_MAX];
	__u64 addr = ADDR, off, len = (__u64)pages * PAGE;
	struct torusmm_rw rw;
	int fd;

	fd = torusmm_create_space(dev, 0, TORUSMM_NO_QUOTA);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, len, RW, FIXED | POPULATE));
	memset(chunk, 0x3c, sizeof(chunk));
	for (off = 0; off < len; off += rw.done) {
		ASSERT_EQ(0, torusmm_write(fd, ADDR + off, chunk,
					   len - off < sizeof(chunk) ?
					   len - off : sizeof(chunk), USER,
					   &rw));
		ASSERT_NE(0, rw.done);
	}
	return fd;
}

enum long_ioctl { LONG_READ, LONG_CLONE, LONG_POPULATE };

/*
 * A task sharing our fd table that runs one long ioctl on @fd over and over
 * until the fd is gone.  It lives in shared memory so that both sides see
 * the counters; nothing in the task may ASSERT.
 */
struct looper {
	int fd;
	enum long_ioctl what;
	__u32 pages;
	unsigned char *buf;
	int calls;		/* completed successfully */
	int last_error;		/* the -errno (or a read's 1) ending the loop */
	bool garbage;		/* a call returned wrong data or faulted */
};

static int looper_call(struct looper *l)
{
	struct torusmm_rw rw;
	__u64 addr = ADDR;
	int ret;

	switch (l->what) {
	case LONG_READ:
		ret = torusmm_read(l->fd, ADDR, l->buf,
				   (__u64)l->pages * PAGE, USER, &rw);
		/* The space is populated: a fault (1) is wrong too. */
		if (ret == 1 || (!ret && (rw.done != (__u64)l->pages * PAGE ||
					  l->buf[rw.done - 1] != 0x3c)))
			l->garbage = true;
		return ret;
	case LONG_CLONE:
		ret = torusmm_clone(l->fd);
		if (ret >= 0) {
			close(ret);
			ret = 0;
		}
		return ret;
	case LONG_POPULATE:
		return torusmm_mmap(l->fd, &addr, (__u64)l->pages * PAGE, RW,
				    FIXED | POPULATE);
	}
	return -EINVAL;
}

static int looper_run(void *arg)
{
	struct looper *l = arg;
	int ret;

	while (!(ret = looper_call(l)))
		__atomic_add_fetch(&l->calls, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&l->last_error, ret, __ATOMIC_SEQ_CST);
	return 0;
}

/*
 * Close @fd while a looper is inside @what on it: wait until two calls
 * completed, so the third is under way, then close.  The looper's next call
 * finds the fd gone (EBADF); the one under way must have completed.
 */
static void close_during(struct __test_metadata *_metadata, int fd,
			 enum long_ioctl what, __u32 pages)
{
	struct looper *l;
	int status;
	char *stack;
	pid_t pid;

	l = mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(l != MAP_FAILED);
	l->fd = fd;
	l->what = what;
	l->pages = pages;
	if (what == LONG_READ) {
		l->buf = malloc((size_t)pages * PAGE);
		ASSERT_TRUE(!!l->buf);
	}
	stack = malloc(STACK_SIZE);
	ASSERT_TRUE(!!stack);
	pid = clone(looper_run, stack + STACK_SIZE, CLONE_FILES | SIGCHLD, l);
	ASSERT_LT(0, pid) TH_LOG("clone: %s", strerror(errno));
	while (__atomic_load_n(&l->calls, __ATOMIC_SEQ_CST) < 2 &&
	       !__atomic_load_n(&l->last_error, __ATOMIC_SEQ_CST))
		sched_yield();
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(-EBADF, l->last_error)
		TH_LOG("the loop ended with %s after %d calls",
		       strerror(-l->last_error), l->calls);
	EXPECT_LE(2, l->calls);
	EXPECT_FALSE(l->garbage)
		TH_LOG("a read faulted or returned wrong data");
	free(stack);
	free(l->buf);
	munmap(l, sizeof(*l));
}

TEST_F_TIMEOUT(lifetime, close_during_a_1mib_read_frees_after_it_returns, 120)
{
	int round;

	for (round = 0; round < 3; round++) {
		int fd = populated_space(_metadata, self->dev,
					 TORUSMM_RW_MAX / PAGE);

		close_during(_metadata, fd, LONG_READ, TORUSMM_RW_MAX / PAGE);
		EXPECT_EQ(self->free_before, torus_free(_metadata, self->dev))
			TH_LOG("round %d: the space was not freed", round);
	}
}

TEST_F_TIMEOUT(lifetime, close_during_a_clone_frees_after_it_returns, 120)
{
	int round;

	for (round = 0; round < 3; round++) {
		int fd = populated_space(_metadata, self->dev, 512);

		close_during(_metadata, fd, LONG_CLONE, 0);
		EXPECT_EQ(self->free_before, torus_free(_metadata, self->dev))
			TH_LOG("round %d: a space was not freed", round);
	}
}

TEST_F_TIMEOUT(lifetime, close_during_a_populate_frees_after_it_returns, 120)
{
	int round;

	for (round = 0; round < 3; round++) {
		int fd = torusmm_create_space(self->dev, 0, TORUSMM_NO_QUOTA);

		ASSERT_LE(0, fd);
		close_during(_metadata, fd, LONG_POPULATE, 1024);
		EXPECT_EQ(self->free_before, torus_free(_metadata, self->dev))
			TH_LOG("round %d: the space was not freed", round);
	}
}

TEST_F_TIMEOUT(lifetime, many_spaces_created_and_closed_leak_nothing, 120)
{
	struct torusmm_torus_info info;
	struct torusmm_rw rw;
	int i, fd, clone;

	for (i = 0; i < 200; i++) {
		__u64 addr = 0;

		fd = torusmm_create_space(self->dev, TORUSMM_TORUS_ANY, 0);
		ASSERT_LE(0, fd) TH_LOG("round %d: %s", i, strerror(-fd));
		ASSERT_EQ(0, torusmm_mmap(fd, &addr, 4 * PAGE, RW, POPULATE));
		ASSERT_EQ(0, torusmm_write(fd, addr + PAGE, "x", 1, USER, &rw));
		clone = torusmm_clone(fd);
		ASSERT_LE(0, clone) TH_LOG("round %d: %s", i, strerror(-clone));
		if (i % 2)
			close(fd);
		close(clone);
		if (!(i % 2))
			close(fd);
	}
	ASSERT_EQ(0, torusmm_torus_info(self->dev, 0, &info));
	EXPECT_EQ(self->free_before, info.nr_free);
}

/* Expect a create or clone to fail with EMFILE; close what it made if not. */
static void expect_emfile(struct __test_metadata *_metadata, int fd,
			  const char *what)
{
	EXPECT_EQ(-EMFILE, fd) TH_LOG("%s", what);
	if (fd >= 0)
		close(fd);
}

TEST_F_TIMEOUT(lifetime, a_user_holds_at_most_max_spaces_then_emfile, 120)
{
	int max_spaces = torusmm_param_get("max_spaces"), n, other, third;
	int fds[MAX_SPACES];

	ASSERT_LE(2, max_spaces) TH_LOG("max_spaces: %s",
					strerror(-max_spaces));
	ASSERT_GE(MAX_SPACES, max_spaces);
	/* The user's spaces, through two opens of the device. */
	other = torusmm_open();
	ASSERT_LE(0, other);
	for (n = 0; n < max_spaces; n++) {
		fds[n] = torusmm_create_space(n % 2 ? other : self->dev, 0, 0);
		ASSERT_LE(0, fds[n]) TH_LOG("space %d: %s", n + 1,
					    strerror(-fds[n]));
	}
	expect_emfile(_metadata, torusmm_create_space(self->dev, 0, 0),
		      "a create");
	expect_emfile(_metadata, torusmm_create_space(other, 0, 0),
		      "a create through the other open");
	expect_emfile(_metadata, torusmm_clone(fds[0]), "clones count too");

	/* The cap is per user: another open of the device has no new one. */
	third = torusmm_open();
	ASSERT_LE(0, third);
	expect_emfile(_metadata, torusmm_create_space(third, 0, 0),
		      "reopening the device got round the cap");
	/* Nor does closing the opens the spaces were made through. */
	close(other);
	expect_emfile(_metadata, torusmm_create_space(third, 0, 0),
		      "closing an open got round the cap");

	/* A closed space makes room for one more, through any open. */
	close(fds[--n]);
	fds[n] = torusmm_create_space(third, 0, 0);
	EXPECT_LE(0, fds[n]);
	expect_emfile(_metadata, torusmm_create_space(self->dev, 0, 0),
		      "one place made room for two");
	close(fds[n]);
	fds[n] = torusmm_clone(fds[0]);
	EXPECT_LE(0, fds[n]) TH_LOG("a clone takes the freed place too");
	n++;
	close(third);
	while (n)
		close(fds[--n]);
	EXPECT_EQ(self->free_before, torus_free(_metadata, self->dev));
	n = torusmm_create_space(self->dev, 0, 0);
	EXPECT_LE(0, n) TH_LOG("every place is free again");
	close(n);
}

/* Send @fd over the unix socket @sock with SCM_RIGHTS.  Return: 0 or -1. */
static int send_fd(int sock, int fd)
{
	char data = 'f', control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(fd));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

/* Receive one fd from the unix socket @sock.  Return: it, or -1. */
static int recv_fd(int sock)
{
	char data, control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_level != SOL_SOCKET ||
	    cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
	return fd;
}

#define SENDER_DATA	"written by the sender"
#define RECEIVER_DATA	"and by the receiver"

/*
 * The receiving process: it exists before the space, so it cannot have
 * inherited it.  Read the sender's data through the fd it receives, write
 * its own after it, and send the fd back.  Return: its exit code.
 */
static int receive_and_answer(int sock)
{
	char buf[sizeof(SENDER_DATA)] = "";
	struct torusmm_space_stats stats;
	struct torusmm_rw rw;
	int fd = recv_fd(sock);

	if (fd < 0)
		return 1;
	if (torusmm_stats(fd, &stats) || stats.nr_data_frames != 1)
		return 2;
	if (torusmm_read(fd, ADDR, buf, sizeof(buf), USER, &rw) ||
	    memcmp(buf, SENDER_DATA, sizeof(buf)))
		return 3;
	if (torusmm_write(fd, ADDR + PAGE, RECEIVER_DATA,
			  sizeof(RECEIVER_DATA), USER, &rw))
		return 4;
	if (send_fd(sock, fd))
		return 5;
	close(fd);
	return 0;
}

TEST_F_TIMEOUT(lifetime, space_fd_passed_with_scm_rights_shows_the_senders_data,
	       60)
{
	char buf[sizeof(RECEIVER_DATA)] = "";
	struct torusmm_torus_info info;
	struct torusmm_rw rw;
	int sv[2], fd, status;
	__u64 addr = ADDR;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		TH_LOG("AF_UNIX: %s (a kernel without CONFIG_UNIX?)",
		       strerror(errno));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(sv[0]);
		_exit(receive_and_answer(sv[1]));
	}
	close(sv[1]);

	fd = torusmm_create_space(self->dev, 0, TORUSMM_NO_QUOTA);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, torusmm_mmap(fd, &addr, 2 * PAGE, RW, FIXED));
	ASSERT_EQ(0, torusmm_write(fd, ADDR, SENDER_DATA, sizeof(SENDER_DATA),
				   USER, &rw));
	ASSERT_EQ(0, send_fd(sv[0], fd));
	/* The fd in flight, then the receiver's, keeps the space alive. */
	ASSERT_EQ(0, close(fd));

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	/* 1: no fd, 2: another space, 3: not the sender's data, 4-5: write */
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("receiver exit code %d",
						 WEXITSTATUS(status));
	fd = recv_fd(sv[0]);
	ASSERT_LE(0, fd) TH_LOG("the receiver sent nothing back");
	ASSERT_EQ(0, torusmm_read(fd, ADDR + PAGE, buf, sizeof(buf), USER,
				  &rw));
	EXPECT_EQ(0, memcmp(buf, RECEIVER_DATA, sizeof(buf)))
		TH_LOG("the receiver wrote another space");
	close(sv[0]);
	close(fd);
	ASSERT_EQ(0, torusmm_torus_info(self->dev, 0, &info));
	EXPECT_EQ(self->free_before, info.nr_free);
}

TEST_F_TIMEOUT(lifetime, space_in_flight_in_a_closed_socket_is_freed, 60)
{
	struct torusmm_torus_info info;
	int sv[2], fd;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		TH_LOG("AF_UNIX: %s (a kernel without CONFIG_UNIX?)",
		       strerror(errno));
	fd = populated_space(_metadata, self->dev, 16);
	ASSERT_EQ(0, send_fd(sv[0], fd));
	close(fd);
	ASSERT_EQ(0, torusmm_torus_info(self->dev, 0, &info));
	EXPECT_EQ(self->free_before - 18, info.nr_free)
		TH_LOG("the space in flight holds its frames");
	EXPECT_EQ(1, info.nr_spaces);

	/* Nobody ever receives it: closing the socket frees it. */
	close(sv[0]);
	close(sv[1]);
	ASSERT_EQ(0, torusmm_torus_info(self->dev, 0, &info));
	EXPECT_EQ(self->free_before, info.nr_free);
	EXPECT_EQ(0, info.nr_spaces);
}

TEST_F_TIMEOUT(lifetime, spaces_outlive_the_device_fd, 60)
{
	int fd = populated_space(_metadata, self->dev, 4), clone;
	struct torusmm_rw rw;
	char buf[2] = "";

	close(self->dev);
	self->dev = -1;
	clone = torusmm_clone(fd);
	ASSERT_LE(0, clone) TH_LOG("a space clones without its opener: %s",
				   strerror(-clone));
	ASSERT_EQ(0, torusmm_read(clone, ADDR, buf, 1, USER, &rw));
	EXPECT_EQ(0x3c, buf[0]);
	close(clone);
	close(fd);
	self->dev = torusmm_open();
	ASSERT_LE(0, self->dev);
	EXPECT_EQ(self->free_before, torus_free(_metadata, self->dev));
}

/* The module's reference count, or -1 if it cannot be read. */
static int module_refcnt(void)
{
	FILE *f = fopen("/sys/module/torusmm/refcnt", "r");
	int refcnt = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &refcnt) != 1)
		refcnt = -1;
	fclose(f);
	return refcnt;
}

TEST_F_TIMEOUT(lifetime, rmmod_is_refused_while_a_space_fd_is_open, 60)
{
	struct torusmm_space_stats stats;
	int base, fd;

	if (getuid())
		SKIP(return, "rmmod needs root");
	if (system("command -v rmmod >/dev/null 2>&1"))
		SKIP(return, "no rmmod");
	base = module_refcnt();
	if (base < 0)
		SKIP(return, "no /sys/module/torusmm/refcnt");

	/* Each open file holds the module: the device, then each space. */
	fd = torusmm_create_space(self->dev, 0, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(base + 1, module_refcnt());
	close(self->dev);
	self->dev = -1;
	EXPECT_EQ(base, module_refcnt());
	EXPECT_NE(0, system("rmmod torusmm 2>/dev/null"))
		TH_LOG("torusmm was unloaded under an open space fd");
	EXPECT_EQ(0, torusmm_stats(fd, &stats));
	close(fd);
	EXPECT_EQ(base - 1, module_refcnt());
	self->dev = torusmm_open();
	ASSERT_LE(0, self->dev);
	EXPECT_EQ(base, module_refcnt());
}

TEST_F_TIMEOUT(lifetime, every_torus_has_all_frames_free_after_all_closes, 30)
{
	int nr = torusmm_check_extension(self->dev, TORUSMM_CAP_NR_TORI), i;

	/* The test VM runs nothing else on torusmm while this runs. */
	for (i = 0; i < nr; i++) {
		struct torusmm_torus_info info;

		ASSERT_EQ(0, torusmm_torus_info(self->dev, i, &info));
		EXPECT_EQ(info.nr_frames, info.nr_free) TH_LOG("torus %d", i);
		EXPECT_EQ(0, info.nr_used);
		EXPECT_EQ(0, info.nr_table_frames);
		EXPECT_EQ(0, info.nr_spaces);
	}
}

TEST_HARNESS_MAIN
