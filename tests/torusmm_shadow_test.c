// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow mapping: mmap() of an address-space fd maps the space's virtual
 * addresses into the caller, with hardware page tables that mirror the
 * space's software ones.  Verified here: a byte stored through a plain
 * pointer is what TORUSMM_READ returns and the other way round, in every
 * mapping of the space (two in one process, a forked child, a process that
 * was passed the fd); every hardware load, store and instruction fetch has
 * the outcome TORUSMM_TRANSLATE gives the same user access on a twin space
 * with the same history, and leaves the same accessed and dirty bits (the
 * PTE dumps of the twins are compared); every change to the software tables
 * (munmap, mprotect, brk, MAP_FIXED) revokes the hardware entries of every
 * mapping in every process before the ioctl returns, also while other
 * threads load and store through the range, and no access ever reaches a
 * frame handed to another space (every word is tagged with its space and
 * page); the mapping keeps the space, and the module, alive; and the
 * kernel's rules for a VM_PFNMAP mapping hold (no MAP_PRIVATE, mremap cannot
 * grow it, MADV_DONTNEED and get_user_pages fail).
 *
 * A refused access is observed as the SIGSEGV (or, out of frames, SIGBUS)
 * it raises: the handler records the signal and si_addr and siglongjmp()s
 * back to the access.  Every test SKIPs when the module does not offer the
 * shadow mapping (TORUSMM_CHECK_EXTENSION(TORUSMM_CAP_SHADOW) is 0).
 *
 * Copyright (C) 2026 The torusmm authors
 */
#define _FILE_OFFSET_BITS 64	/* offsets up to 4 GiB in the -m32 build */

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libtorusmm.h"
#include "torusmm_fault.h"
#include "torusmm_query.h"
#include "torusmm_test.h"

#define NONE		TORUSMM_PROT_NONE
#define P_A		TORUSMM_PTE_ACCESSED
#define P_D		TORUSMM_PTE_DIRTY
#define P_W		TORUSMM_PTE_WRITABLE
#define P_COW		TORUSMM_PTE_COW
#define P_FLAGS		(~TORUSMM_PTE_FRAME_MASK)
#define PROT_RW		(PROT_READ | PROT_WRITE)
#define PROT_RWX	(PROT_READ | PROT_WRITE | PROT_EXEC)
#define SZ_4G		0x100000000ull
#define STACK_FLOOR	(TORUSMM_STACK_TOP - TORUSMM_STACK_LIMIT)
#define WORDS		(PAGE / sizeof(__u32))

/* Where tests put their own regions: far from the heap and the stack. */
#define ADDR		0x10000000u
/* Where fill_torus() puts its pages (4 MiB aligned: a table per 1024). */
#define FILL_ADDR	0x40000000u
#define MAX_PTES	4096

/* Four x86 "ret" instructions: a page that starts with them can be called. */
#define X86_RET4	0xc3c3c3c3u

FIXTURE(shadow) {
	int dev;
	int fd;			/* a space with no quota, on torus @torus */
	__u32 torus;
	__u32 free_before;	/* free frames of @torus before @fd existed */
	bool has_shadow;
};

FIXTURE_SETUP(shadow)
{
	struct torusmm_space_stats stats;
	struct torusmm_torus_info info;
	int cap;

	self->fd = -1;
	self->dev = torusmm_open();
	/* No SKIP here: this harness would still run the test body after it. */
	ASSERT_LE(0, self->dev) TH_LOG("open " TORUSMM_DEVICE ": %s%s",
				       strerror(-self->dev),
				       self->dev == -ENOENT ?
				       " (is torusmm.ko loaded?)" : "");
	cap = torusmm_check_extension(self->dev, TORUSMM_CAP_SHADOW);
	ASSERT_LE(0, cap);
	self->has_shadow = cap == 1;
	self->fd = torusmm_create_space(self->dev, TORUSMM_TORUS_ANY,
					TORUSMM_NO_QUOTA);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s", strerror(-self->fd));
	ASSERT_EQ(0, torusmm_stats(self->fd, &stats));
	self->torus = stats.torus;
	ASSERT_EQ(0, torusmm_torus_info(self->dev, self->torus, &info));
	self->free_before = info.nr_free + stats.nr_table_frames;
}

FIXTURE_TEARDOWN(shadow)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->dev >= 0)
		close(self->dev);
}

#define NO_SHADOW	"TORUSMM_CAP_SHADOW is 0: this torusmm has no shadow mapping"

/* The TORUSMM_TRANSLATE access of a user-mode @access. */
static __u32 access_bits(enum access access)
{
	return USER | (access == STORE ? WRITE : 0) |
	       (access == FETCH ? EXEC : 0);
}

/* The access at @p must raise SIGSEGV, with si_addr @p. */
static void expect_segv(struct __test_metadata *_metadata,
			enum access access, void *p, const char *what)
{
	__u32 value = X86_RET4;
	void *addr = NULL;
	int sig = try_access(access, p, &value, &addr);

	EXPECT_EQ(SIGSEGV, sig) TH_LOG("%s %s at %p: %s", access_names[access],
				       what, p, outcome(sig));
	if (sig)
		EXPECT_EQ((uintptr_t)p, (uintptr_t)addr)
			TH_LOG("%s %s: si_addr %p", access_names[access], what,
			       addr);
}

/* The access at @p must complete (a store stores @value). */
static void expect_done(struct __test_metadata *_metadata,
			enum access access, void *p, __u32 value,
			const char *what)
{
	int sig = try_access(access, p, &value, NULL);

	EXPECT_EQ(0, sig) TH_LOG("%s %s at %p: %s", access_names[access], what,
				 p, outcome(sig));
}

/* A word that names its space (@owner) and page, so a stray frame shows. */
static __u32 tag(__u32 owner, __u32 page)
{
	return owner << 24 | (page & 0xffff) << 8 | 0x5a;
}

/* Map a region and check that it worked; return its start. */
/* The shadow of [@off, @off + @length), MAP_SHARED with @prot. */
static void *shadow(struct __test_metadata *_metadata, int fd, __u64 off,
		    size_t length, int prot)
{
	void *p = NULL;
	int ret = torusmm_shadow_map(fd, off, length, prot, &p);

	ASSERT_EQ(0, ret) TH_LOG("mmap of the space at %#llx, %zu bytes: %s",
				 (unsigned long long)off, length,
				 strerror(-ret));
	return p;
}

/* The client address of word @word of page @page of a mapping. */
static __u32 *word_at(void *base, unsigned int page, unsigned int word)
{
	return (__u32 *)((char *)base + (size_t)page * PAGE) + word;
}

static void fill(struct __test_metadata *_metadata, int fd, __u64 addr,
		 const void *buf, __u64 length)
{
	struct torusmm_rw rw;

	ASSERT_EQ(0, torusmm_write(fd, addr, buf, length, USER, &rw))
		TH_LOG("TORUSMM_WRITE at %#llx faulted (%#x) at %#llx",
		       (unsigned long long)addr, rw.fault,
		       (unsigned long long)rw.fault_addr);
}

static void slurp(struct __test_metadata *_metadata, int fd, __u64 addr,
		  void *buf, __u64 length)
{
	struct torusmm_rw rw;

	ASSERT_EQ(0, torusmm_read(fd, addr, buf, length, USER, &rw))
		TH_LOG("TORUSMM_READ at %#llx faulted (%#x) at %#llx",
		       (unsigned long long)addr, rw.fault,
		       (unsigned long long)rw.fault_addr);
}

static __u32 torus_free(struct __test_metadata *_metadata, int dev,
			__u32 torus)
{
	return torus_of(_metadata, dev, torus).nr_free;
}

/* Free frames now on the fixture's torus (FIXTURE_DATA(shadow) is @self). */
static __u32 free_now(struct __test_metadata *_metadata,
		      struct _test_data_shadow *self)
{
	return torus_free(_metadata, self->dev, self->torus);
}

/*
 * A space on @torus that takes frames until @leave are free (exactly, when
 * @leave is 0): populated chunks of 1024 pages, each with its table, then
 * single pages through TORUSMM_TRANSLATE.  The first of those pages is
 * faulted in last, in a table that exists by then, so that a last free
 * frame is never left over for want of a second one for a new table.
 */
static int fill_torus(struct __test_metadata *_metadata, int dev, __u32 torus,
		      __u32 leave)
{
	struct torusmm_translate tr;
	__u64 addr = FILL_ADDR, chunk = 1024 * PAGE;
	__u32 page;
	int fd, ret;

	fd = torusmm_create_space(dev, torus, TORUSMM_NO_QUOTA);
	ASSERT_LE(0, fd);
	while (torus_free(_metadata, dev, torus) >= leave + 2 * 1025) {
		map(_metadata, fd, addr, chunk, RW, FIXED | POPULATE);
		addr += chunk;
	}
	map(_metadata, fd, addr, 3 * chunk, RW, FIXED);
	for (page = 1; page < 3 * 1024; page++) {
		if (torus_free(_metadata, dev, torus) <= leave)
			break;
		ret = torusmm_translate(fd, addr + page * PAGE, WRITE | USER,
					0, &tr);
		if (ret == -ENOMEM)
			break;
		ASSERT_EQ(0, ret);
	}
	if (torus_free(_metadata, dev, torus) > leave)
		torusmm_translate(fd, addr, WRITE | USER, 0, &tr);
	if (!leave)
		ASSERT_EQ(0, torus_free(_metadata, dev, torus))
			TH_LOG("the torus did not fill up");
	return fd;
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

TEST_F_TIMEOUT(shadow, stores_through_the_shadow_are_read_by_torusmm_read, 30)
{
	unsigned char in[2 * PAGE], out[2 * PAGE];
	unsigned char *p;
	unsigned int i;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	/* Client byte i is space byte ADDR + PAGE + i. */
	p = shadow(_metadata, self->fd, ADDR + PAGE, 2 * PAGE, PROT_RW);
	for (i = 0; i < sizeof(in); i++)
		in[i] = i * 7 + 1;
	memcpy(p, in, sizeof(in));
	slurp(_metadata, self->fd, ADDR + PAGE, out, sizeof(out));
	for (i = 0; i < sizeof(in) && in[i] == out[i]; i++)
		;
	EXPECT_EQ(sizeof(in), i)
		TH_LOG("space byte %#x differs", ADDR + PAGE + i);
	EXPECT_EQ(2, stats_of(_metadata, self->fd).nr_data_frames)
		TH_LOG("only the two shadowed pages were touched");

	/* And the other way round. */
	for (i = 0; i < sizeof(in); i++)
		in[i] = i * 13 + 5;
	fill(_metadata, self->fd, ADDR + PAGE, in, sizeof(in));
	memcpy(out, p, sizeof(out));
	for (i = 0; i < sizeof(in) && in[i] == out[i]; i++)
		;
	EXPECT_EQ(sizeof(in), i) TH_LOG("client byte %u differs", i);
	EXPECT_EQ(0, munmap(p, 2 * PAGE));
}

TEST_F_TIMEOUT(shadow, two_mappings_in_one_process_see_the_same_bytes, 30)
{
	void *one, *two, *tail;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	one = shadow(_metadata, self->fd, ADDR, 4 * PAGE, PROT_RW);
	two = shadow(_metadata, self->fd, ADDR, 4 * PAGE, PROT_RW);
	tail = shadow(_metadata, self->fd, ADDR + 2 * PAGE, 2 * PAGE, PROT_RW);
	EXPECT_NE((uintptr_t)one, (uintptr_t)two);

	poke(word_at(one, 2, 5), 0x11223344);
	EXPECT_EQ(0x11223344, peek(word_at(two, 2, 5)));
	EXPECT_EQ(0x11223344, peek(word_at(tail, 0, 5)));
	poke(word_at(tail, 1, 9), 0x55667788);
	EXPECT_EQ(0x55667788, peek(word_at(one, 3, 9)));
	EXPECT_EQ(0x55667788, peek(word_at(two, 3, 9)));
	poke(word_at(two, 0, 0), 0x99aabbcc);
	EXPECT_EQ(0x99aabbcc, peek(word_at(one, 0, 0)));
	EXPECT_EQ(3, stats_of(_metadata, self->fd).nr_data_frames);
}

TEST_F_TIMEOUT(shadow, a_forked_child_shares_the_mapping, 30)
{
	__u32 *p;
	__u32 word = 0;
	int status;
	pid_t pid;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 2 * PAGE, PROT_RW);
	poke(&p[0], tag(1, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (peek(&p[0]) != tag(1, 0))
			_exit(1);
		poke(word_at(p, 1, 3), tag(2, 1));
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("the child died of a signal");
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("the child did not see the parent's store");
	EXPECT_EQ(tag(2, 1), peek(word_at(p, 1, 3)))
		TH_LOG("MAP_SHARED: the child's store is the parent's too");
	slurp(_metadata, self->fd, ADDR + PAGE + 12, &word, sizeof(word));
	EXPECT_EQ(tag(2, 1), word);
}

/* Receive one fd over a unix socket; -1 on failure. */
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

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
	return fd;
}

static int send_fd(int sock, int fd)
{
	char data = 'f', control[CMSG_SPACE(sizeof(int))];
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

/*
 * In a child that exists before the space: take the parent's space fd
 * (over @sock, or with pidfd_getfd() on a kernel without AF_UNIX), map it,
 * check the parent's word and store one of its own.
 */
static int child_maps_a_passed_fd(int sock, int pipe_fd)
{
	__u32 *p;
	int fd = -1, nr, pidfd;
	void *base = NULL;

	if (sock >= 0) {
		fd = recv_fd(sock);
	} else if (read(pipe_fd, &nr, sizeof(nr)) == sizeof(nr)) {
		pidfd = syscall(SYS_pidfd_open, getppid(), 0);
		fd = syscall(SYS_pidfd_getfd, pidfd, nr, 0);
	}
	if (fd < 0)
		return 1;
	if (torusmm_shadow_map(fd, ADDR, PAGE, PROT_RW, &base))
		return 2;
	close(fd);
	p = base;
	if (peek(&p[0]) != tag(1, 0))
		return 3;
	poke(&p[1], tag(2, 0));
	return 0;
}

TEST_F_TIMEOUT(shadow, a_process_passed_the_fd_maps_the_same_bytes, 30)
{
	int sv[2] = { -1, -1 }, pipe_fds[2], status;
	__u32 *p;
	pid_t pid;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	ASSERT_EQ(0, pipe(pipe_fds));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		sv[0] = -1;
		sv[1] = -1;
	}
	/* The child exists before the mapping: it cannot inherit it. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(child_maps_a_passed_fd(sv[1], pipe_fds[0]));
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, PAGE, PROT_RW);
	poke(&p[0], tag(1, 0));
	if (sv[0] >= 0) {
		ASSERT_EQ(0, send_fd(sv[0], self->fd));
	} else {
		ASSERT_EQ(sizeof(self->fd),
			  write(pipe_fds[1], &self->fd, sizeof(self->fd)));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("the child died of a signal");
	/* 1: no fd, 2: its mmap failed, 3: it did not see our word */
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(tag(2, 0), peek(&p[1]));
}

TEST_F_TIMEOUT(shadow, a_shadow_may_cover_unmapped_space_up_to_4gib, 60)
{
	char *last, *all;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);

	/* A 32-bit process cannot map 4 GiB: the last page will do. */
	last = shadow(_metadata, self->fd, SZ_4G - PAGE, PAGE, PROT_RW);
	expect_segv(_metadata, LOAD, last, "the kernel half");
	expect_segv(_metadata, STORE, last + PAGE - 4, "the kernel half");
	EXPECT_EQ(0, munmap(last, PAGE));

	if (sizeof(void *) < 8) {
		TH_LOG("32-bit: the whole 4 GiB is not mapped");
		return;
	}
	all = shadow(_metadata, self->fd, 0, (size_t)SZ_4G, PROT_RW);
	poke((__u32 *)(all + ADDR + 100), 0x42);
	EXPECT_EQ(0x42, peek((__u32 *)(all + ADDR + 100)));
	expect_segv(_metadata, LOAD, all, "page 0");
	expect_segv(_metadata, LOAD, all + ADDR + PAGE, "a hole");
	expect_segv(_metadata, STORE, all + TORUSMM_KERNEL_BASE,
		    "the kernel half");
	expect_segv(_metadata, LOAD, all + (size_t)SZ_4G - 4, "the last word");
	EXPECT_EQ(1, stats_of(_metadata, self->fd).nr_data_frames);
	EXPECT_EQ(0, munmap(all, (size_t)SZ_4G));
}

/*
 * The protection table.  Region protections as TORUSMM_MMAP takes them:
 * write and exec imply read, so "w" is "rw" and "wx" is "rwx".
 */
static const __u32 region_prots[] = {
	NONE, R, TORUSMM_PROT_WRITE, RW, TORUSMM_PROT_EXEC, RX,
	TORUSMM_PROT_WRITE | TORUSMM_PROT_EXEC, RWX,
};

/*
 * Each protection gets a group of three pages: 0 and 1 untouched, 2 written
 * with rets before the region got its protection.  The steps run in order,
 * so later steps meet the hardware entries the earlier ones made: a load
 * before a store or a fetch must not make either pass.
 */
#define GROUP(g)	(ADDR + (g) * 4 * PAGE)
#define NR_GROUPS	ARRAY_SIZE(region_prots)
#define HOLE		GROUP(NR_GROUPS)

static const struct {
	unsigned int page;
	enum access access;
} group_steps[] = {
	{ 0, LOAD }, { 0, STORE }, { 0, LOAD },
	{ 1, STORE }, { 1, LOAD },
	{ 2, LOAD }, { 2, FETCH }, { 2, STORE }, { 2, FETCH },
};

/* Single accesses outside the groups: holes, the stack, the kernel half. */
static const struct {
	const char *what;
	__u32 addr;
	enum access access;
} edge_steps[] = {
	{ "a hole", HOLE, LOAD },
	{ "a hole", HOLE, STORE },
	{ "page 0", 0, LOAD },
	{ "the stack page", STACK_PAGE, STORE },
	{ "below the stack (grows it)", STACK_PAGE - 3 * PAGE, LOAD },
	{ "below the stack (grown)", STACK_PAGE - 3 * PAGE, STORE },
	{ "the stack guard", TORUSMM_STACK_TOP, LOAD },
	{ "below the stack's reach", STACK_FLOOR - PAGE, STORE },
	{ "the kernel half", TORUSMM_KERNEL_BASE, LOAD },
	{ "the kernel half", TORUSMM_KERNEL_BASE, STORE },
	{ "the last page", 0xfffff000u, LOAD },
};

/* The shadows of the table: space ranges and their client addresses. */
struct window {
	__u64 off;
	__u64 length;
	unsigned char *base;
};

static struct window table_windows[] = {
	{ 0, PAGE },
	{ ADDR, HOLE + PAGE - ADDR },
	{ TORUSMM_STACK_TOP - 8 * PAGE, 9 * PAGE },
	{ STACK_FLOOR - PAGE, PAGE },
	{ TORUSMM_KERNEL_BASE, PAGE },
	{ SZ_4G - PAGE, PAGE },
};

static __u32 *client_addr(__u32 addr)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(table_windows); i++)
		if (addr >= table_windows[i].off &&
		    addr - table_windows[i].off < table_windows[i].length)
			return (__u32 *)(table_windows[i].base + addr -
					 table_windows[i].off);
	return NULL;
}

/* The groups of the table, built the same way in each twin. */
static void build_groups(struct __test_metadata *_metadata, int fd)
{
	const __u32 rets = X86_RET4;
	unsigned int g;

	for (g = 0; g < NR_GROUPS; g++) {
		map(_metadata, fd, GROUP(g), 3 * PAGE, RW, FIXED);
		fill(_metadata, fd, GROUP(g) + 2 * PAGE, &rets, sizeof(rets));
		ASSERT_EQ(0, torusmm_mprotect(fd, GROUP(g), 3 * PAGE,
					      region_prots[g]));
	}
}

/*
 * One step on both twins: the user access through the shadow of @hw, the
 * same access through TORUSMM_TRANSLATE on @sw.  Both must agree, and the
 * page's entry must be the same in both afterwards (frames apart).
 */
static void twin_step(struct __test_metadata *_metadata, int hw, int sw,
		      __u32 addr, enum access access, const char *what)
{
	__u32 *p = client_addr(addr);
	struct torusmm_translate tr;
	__u32 value = X86_RET4;
	void *fault_addr = NULL;
	int verdict, sig;

	ASSERT_TRUE(!!p);
	verdict = torusmm_translate(sw, addr, access_bits(access), 0, &tr);
	ASSERT_LE(0, verdict) TH_LOG("translate %#x: %s", addr,
				     strerror(-verdict));
	sig = try_access(access, p, &value, &fault_addr);
	EXPECT_EQ(verdict ? SIGSEGV : 0, sig)
		TH_LOG("%s of %s (%#x): TORUSMM_TRANSLATE %s (code %#x), the shadow access %s",
		       access_names[access], what, addr,
		       verdict ? "faults" : "translates", tr.fault,
		       outcome(sig));
	if (sig)
		EXPECT_EQ((uintptr_t)p, (uintptr_t)fault_addr)
			TH_LOG("%s of %s: si_addr", access_names[access],
			       what);
	EXPECT_EQ(pte_of(_metadata, sw, addr) & P_FLAGS,
		  pte_of(_metadata, hw, addr) & P_FLAGS)
		TH_LOG("%s of %s (%#x): PTE flags, software left, shadow right",
		       access_names[access], what, addr);
}

TEST_F_TIMEOUT(shadow, every_access_has_the_outcome_and_bits_of_translate, 60)
{
	static struct torusmm_pte hw_ptes[MAX_PTES], sw_ptes[MAX_PTES];
	struct torusmm_space_stats hw_stats, sw_stats;
	__u32 nr_hw = MAX_PTES, nr_sw = MAX_PTES, i;
	bool can_fetch = true;
	unsigned int g, s, w;
	char what[48];
	int sw;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	sw = torusmm_create_space(self->dev, self->torus, TORUSMM_NO_QUOTA);
	ASSERT_LE(0, sw);
	build_groups(_metadata, self->fd);
	build_groups(_metadata, sw);

	for (w = 0; w < ARRAY_SIZE(table_windows); w++) {
		struct window *win = &table_windows[w];
		void *p = NULL;
		int ret = torusmm_shadow_map(self->fd, win->off, win->length,
					     PROT_RWX, &p);

		if (ret == -EPERM || ret == -EACCES) {
			can_fetch = false;
			ret = torusmm_shadow_map(self->fd, win->off,
						 win->length, PROT_RW, &p);
		}
		ASSERT_EQ(0, ret) TH_LOG("shadow at %#llx: %s",
					 (unsigned long long)win->off,
					 strerror(-ret));
		win->base = p;
	}
	if (!can_fetch)
		TH_LOG("PROT_EXEC shadows are refused: no fetches");

	for (g = 0; g < NR_GROUPS; g++) {
		for (s = 0; s < ARRAY_SIZE(group_steps); s++) {
			char prot[4];

			if (group_steps[s].access == FETCH && !can_fetch)
				continue;
			snprintf(what, sizeof(what), "page %u of a %s region",
				 group_steps[s].page,
				 torusmm_prot_str(region_prots[g], prot));
			twin_step(_metadata, self->fd, sw,
				  GROUP(g) + group_steps[s].page * PAGE,
				  group_steps[s].access, what);
		}
	}
	for (s = 0; s < ARRAY_SIZE(edge_steps); s++)
		twin_step(_metadata, self->fd, sw, edge_steps[s].addr,
			  edge_steps[s].access, edge_steps[s].what);

	/* Whole spaces: the same entries, frames, faults and stack. */
	ASSERT_EQ(0, torusmm_dump_ptes(self->fd, 0, 0, hw_ptes, &nr_hw));
	ASSERT_EQ(0, torusmm_dump_ptes(sw, 0, 0, sw_ptes, &nr_sw));
	ASSERT_EQ(nr_sw, nr_hw);
	for (i = 0; i < nr_hw; i++) {
		EXPECT_EQ(sw_ptes[i].addr, hw_ptes[i].addr);
		EXPECT_EQ(sw_ptes[i].pte & P_FLAGS, hw_ptes[i].pte & P_FLAGS)
			TH_LOG("entry of %#x", hw_ptes[i].addr);
	}
	hw_stats = stats_of(_metadata, self->fd);
	sw_stats = stats_of(_metadata, sw);
	EXPECT_EQ(sw_stats.nr_data_frames, hw_stats.nr_data_frames);
	EXPECT_EQ(sw_stats.nr_table_frames, hw_stats.nr_table_frames);
	EXPECT_EQ(sw_stats.nr_faults, hw_stats.nr_faults)
		TH_LOG("every demand-zero fault counts, from hardware too");
	EXPECT_EQ(sw_stats.nr_regions, hw_stats.nr_regions);
	EXPECT_EQ(sw_stats.stack_start, hw_stats.stack_start)
		TH_LOG("a shadow access below the stack grows it");
	close(sw);
}

TEST_F_TIMEOUT(shadow, a_hardware_read_leaves_dirty_clear_until_a_write, 30)
{
	__u32 *p;
	__u32 value;
	int i;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	map(_metadata, self->fd, ADDR + PAGE, PAGE, RW, FIXED | POPULATE);
	p = shadow(_metadata, self->fd, ADDR, 2 * PAGE, PROT_RW);
	EXPECT_EQ(0, pte_of(_metadata, self->fd, ADDR));
	EXPECT_EQ(0, pte_of(_metadata, self->fd, ADDR + PAGE) & (P_A | P_D))
		TH_LOG("populate sets neither bit");

	for (i = 0; i < 3; i++) {
		value = peek(word_at(p, 0, i * 100));
		EXPECT_EQ(0, value);
		value = peek(word_at(p, 1, i * 100));
		EXPECT_EQ(0, value);
	}
	EXPECT_EQ(P_A, pte_of(_metadata, self->fd, ADDR) & (P_A | P_D))
		TH_LOG("a demand-zero read: accessed, not dirty");
	EXPECT_EQ(P_A, pte_of(_metadata, self->fd, ADDR + PAGE) & (P_A | P_D))
		TH_LOG("a read of a populated page: accessed, not dirty");

	poke(word_at(p, 0, 7), 1);
	EXPECT_EQ(P_A | P_D, pte_of(_metadata, self->fd, ADDR) & (P_A | P_D))
		TH_LOG("the first store after a read sets dirty");
	EXPECT_EQ(P_A, pte_of(_metadata, self->fd, ADDR + PAGE) & (P_A | P_D));
	poke(word_at(p, 1, 0), 1);
	EXPECT_EQ(P_A | P_D, pte_of(_metadata, self->fd, ADDR + PAGE) &
			     (P_A | P_D));
}

/*
 * A first load maps the shared zero frame and takes no frame (only the
 * table the region's first page needs); the first store after it gives the
 * page a zeroed frame of its own, and a first store to a page never touched
 * takes one at once.
 */
TEST_F_TIMEOUT(shadow, a_first_load_maps_the_zero_frame_and_a_first_store_a_frame,
	       30)
{
	struct torusmm_space_stats before, after;
	__u32 free_frames, *p, pte;
	unsigned int i;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 4 * PAGE, PROT_RW);
	before = stats_of(_metadata, self->fd);
	free_frames = free_now(_metadata, self);

	EXPECT_EQ(0, peek(word_at(p, 2, 3)));
	after = stats_of(_metadata, self->fd);
	EXPECT_EQ(before.nr_data_frames, after.nr_data_frames)
		TH_LOG("a load takes no frame");
	EXPECT_EQ(before.nr_faults + 1, after.nr_faults);
	EXPECT_EQ(before.nr_table_frames + 1, after.nr_table_frames)
		TH_LOG("the region's first page needs a table");
	EXPECT_EQ(free_frames - 1, free_now(_metadata, self));
	EXPECT_EQ(ZERO_PTE_RW, pte_of(_metadata, self->fd, ADDR + 2 * PAGE));
	for (i = 0; i < WORDS && !peek(word_at(p, 2, i)); i++)
		;
	EXPECT_EQ(WORDS, i) TH_LOG("word %u of the zero frame is not zero", i);
	EXPECT_EQ(before.nr_faults + 1, stats_of(_metadata, self->fd).nr_faults)
		TH_LOG("loads of a present page fault nothing in");

	/* The first store after the load: a zeroed frame of its own. */
	poke(word_at(p, 2, 3), 2);
	after = stats_of(_metadata, self->fd);
	EXPECT_EQ(before.nr_data_frames + 1, after.nr_data_frames);
	EXPECT_EQ(before.nr_faults + 1, after.nr_faults)
		TH_LOG("the load faulted the page in");
	EXPECT_EQ(free_frames - 2, free_now(_metadata, self))
		TH_LOG("exactly one frame more");
	pte = pte_of(_metadata, self->fd, ADDR + 2 * PAGE);
	EXPECT_NE(ZERO_TPA, pte & TORUSMM_PTE_FRAME_MASK);
	EXPECT_EQ(P_W | P_A | P_D, pte & (P_W | P_COW | P_A | P_D));
	EXPECT_EQ(2, peek(word_at(p, 2, 3)));
	for (i = 0; i < WORDS && (i == 3 || !peek(word_at(p, 2, i))); i++)
		;
	EXPECT_EQ(WORDS, i) TH_LOG("word %u of the new frame is not zero", i);

	/* A first store to a page never touched takes its frame at once. */
	poke(word_at(p, 3, 0), 3);
	after = stats_of(_metadata, self->fd);
	EXPECT_EQ(before.nr_data_frames + 2, after.nr_data_frames);
	EXPECT_EQ(before.nr_faults + 2, after.nr_faults);
	EXPECT_EQ(free_frames - 3, free_now(_metadata, self));
	pte = pte_of(_metadata, self->fd, ADDR + 3 * PAGE);
	EXPECT_NE(ZERO_TPA, pte & TORUSMM_PTE_FRAME_MASK);
	EXPECT_EQ(P_W | P_A | P_D, pte & (P_W | P_COW | P_A | P_D));
	/* A second access to a page faults nothing in. */
	poke(word_at(p, 3, 1), 3);
	EXPECT_EQ(0, peek(word_at(p, 3, 2)));
	after = stats_of(_metadata, self->fd);
	EXPECT_EQ(before.nr_faults + 2, after.nr_faults);
	EXPECT_EQ(free_frames - 3, free_now(_metadata, self));
}

TEST_F_TIMEOUT(shadow, a_read_only_client_mapping_refuses_stores, 30)
{
	__u32 *ro, *rw;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	ro = shadow(_metadata, self->fd, ADDR, 2 * PAGE, PROT_READ);
	EXPECT_EQ(0, peek(&ro[0]));
	expect_segv(_metadata, STORE, ro,
		    "a PROT_READ shadow of a read-write region");
	expect_segv(_metadata, STORE, word_at(ro, 1, 0),
		    "an untouched page of a PROT_READ shadow");
	EXPECT_EQ(P_A, pte_of(_metadata, self->fd, ADDR) & (P_A | P_D))
		TH_LOG("a store the VMA refused sets no dirty bit");
	EXPECT_EQ(0, pte_of(_metadata, self->fd, ADDR + PAGE))
		TH_LOG("and faults nothing in");

	/* A read-write mapping of the page may store; the other sees it. */
	rw = shadow(_metadata, self->fd, ADDR, 2 * PAGE, PROT_RW);
	poke(&rw[0], 0xfeed);
	EXPECT_EQ(0xfeed, peek(&ro[0]));
	expect_segv(_metadata, STORE, ro, "a PROT_READ shadow of a dirty page");

	/* mprotect(2) may add write: the file is open read-write. */
	ASSERT_EQ(0, mprotect(ro, 2 * PAGE, PROT_RW));
	expect_done(_metadata, STORE, word_at(ro, 1, 0), 2,
		    "after mprotect(PROT_READ | PROT_WRITE)");
	EXPECT_EQ(2, peek(word_at(rw, 1, 0)));
}

/*
 * mprotect(2) on a shared mapping may make a dirty entry writable again
 * without a fault: it must not do so where the tables forbid writes.
 */
TEST_F_TIMEOUT(shadow, a_client_mprotect_cannot_grant_what_the_tables_forbid,
	       30)
{
	__u32 *p;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, PAGE, PROT_RW);
	poke(p, 1);
	ASSERT_EQ(0, mprotect(p, PAGE, PROT_READ));
	expect_segv(_metadata, STORE, p, "a PROT_READ client mapping");
	ASSERT_EQ(0, mprotect(p, PAGE, PROT_RW));
	expect_done(_metadata, STORE, p, 2, "a read-write region again");

	ASSERT_EQ(0, mprotect(p, PAGE, PROT_READ));
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, PAGE, R));
	ASSERT_EQ(0, mprotect(p, PAGE, PROT_RW));
	expect_segv(_metadata, STORE, p, "a read-only region");
	EXPECT_EQ(2, peek(p));
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, PAGE, RW));
	expect_done(_metadata, STORE, p, 3, "a read-write region");
}

/*
 * The same for exec: mprotect(2) adding PROT_EXEC rewrites the protection of
 * every present hardware entry; a region without exec must stay no-exec.
 */
TEST_F_TIMEOUT(shadow, a_client_mprotect_cannot_grant_exec_the_tables_forbid,
	       30)
{
	const __u32 rets = X86_RET4;
	__u32 *p;
	int ret;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	fill(_metadata, self->fd, ADDR, &rets, sizeof(rets));
	p = shadow(_metadata, self->fd, ADDR, PAGE, PROT_RW);
	EXPECT_EQ(X86_RET4, peek(p)) TH_LOG("a load makes a hardware entry");
	ret = mprotect(p, PAGE, PROT_READ | PROT_EXEC);
	if (ret && errno == EACCES) {
		TH_LOG("mprotect(PROT_EXEC) is refused: it grants nothing");
		return;
	}
	ASSERT_EQ(0, ret) TH_LOG("mprotect(PROT_EXEC): %s", strerror(errno));
	expect_segv(_metadata, FETCH, p, "a read-write region");
	EXPECT_EQ(X86_RET4, peek(p));
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, PAGE, RX));
	expect_done(_metadata, FETCH, p, 0, "a read-exec region");
}

TEST_F_TIMEOUT(shadow, a_fetch_needs_an_exec_region_even_in_a_prot_exec_shadow,
	       30)
{
	const __u32 rets = X86_RET4;
	__u32 *p;
	void *base = NULL;
	int ret;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	fill(_metadata, self->fd, ADDR, &rets, sizeof(rets));
	ret = torusmm_shadow_map(self->fd, ADDR, PAGE, PROT_RWX, &base);
	if (ret == -EPERM || ret == -EACCES)
		SKIP(return, "PROT_EXEC shadows are refused (%s)",
		     strerror(-ret));
	ASSERT_EQ(0, ret);
	p = base;
	EXPECT_EQ(X86_RET4, peek(&p[0]))
		TH_LOG("a load makes a hardware entry");
	expect_segv(_metadata, FETCH, p, "a read-write region");

	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, PAGE, RX));
	expect_done(_metadata, FETCH, p, 0, "a read-exec region");
	expect_segv(_metadata, STORE, p, "a read-exec region");

	/* Taking exec away revokes it. */
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, PAGE, R));
	expect_segv(_metadata, FETCH, p, "a region whose exec was taken");
	EXPECT_EQ(X86_RET4, peek(&p[0]));
}

TEST_F_TIMEOUT(shadow, a_store_after_mprotect_read_only_returns_faults, 30)
{
	__u32 *p;
	unsigned int i;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 4 * PAGE, PROT_RW);
	for (i = 0; i < 4; i++)
		poke(word_at(p, i, 1), tag(1, i));

	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR + PAGE, 2 * PAGE, R));
	expect_done(_metadata, STORE, word_at(p, 0, 2), 1,
		    "the page before the range");
	expect_segv(_metadata, STORE, word_at(p, 1, 2), "read-only page 1");
	expect_segv(_metadata, STORE, word_at(p, 2, 2), "read-only page 2");
	expect_done(_metadata, STORE, word_at(p, 3, 2), 1,
		    "the page after the range");
	EXPECT_EQ(tag(1, 1), peek(word_at(p, 1, 1)));
	EXPECT_EQ(tag(1, 2), peek(word_at(p, 2, 1)));
	EXPECT_EQ(0, peek(word_at(p, 1, 2))) TH_LOG("no store got through");

	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, 4 * PAGE, RW));
	expect_done(_metadata, STORE, word_at(p, 1, 2), 1,
		    "page 1, read-write again");
}

TEST_F_TIMEOUT(shadow, a_load_after_munmap_returns_faults_and_frames_are_free,
	       30)
{
	__u32 free_frames, value, *p;
	unsigned int i;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 4 * PAGE, PROT_RW);
	for (i = 0; i < 4; i++)
		poke(word_at(p, i, 0), tag(1, i));
	free_frames = free_now(_metadata, self);

	ASSERT_EQ(0, torusmm_munmap(self->fd, ADDR + PAGE, 2 * PAGE));
	EXPECT_EQ(free_frames + 2, free_now(_metadata, self));
	expect_segv(_metadata, LOAD, word_at(p, 1, 0), "an unmapped page");
	expect_segv(_metadata, STORE, word_at(p, 2, 0), "an unmapped page");
	EXPECT_EQ(tag(1, 0), peek(word_at(p, 0, 0)));
	EXPECT_EQ(tag(1, 3), peek(word_at(p, 3, 0)));

	/* Mapped again, it is fresh memory. */
	map(_metadata, self->fd, ADDR + PAGE, PAGE, RW, FIXED);
	EXPECT_EQ(0, try_load(word_at(p, 1, 0), &value, NULL));
	EXPECT_EQ(0, value);
}

TEST_F_TIMEOUT(shadow, a_load_after_a_map_fixed_replacement_sees_zeroes, 30)
{
	__u32 *p;
	unsigned int i;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 3 * PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 3 * PAGE, PROT_RW);
	for (i = 0; i < 3; i++)
		poke(word_at(p, i, 9), tag(1, i));

	map(_metadata, self->fd, ADDR + PAGE, PAGE, RW, FIXED);
	EXPECT_EQ(0, peek(word_at(p, 1, 9))) TH_LOG("the old frame shows");
	EXPECT_EQ(tag(1, 0), peek(word_at(p, 0, 9)));
	EXPECT_EQ(tag(1, 2), peek(word_at(p, 2, 9)));

	/* Replaced read-only: zero, and no store. */
	map(_metadata, self->fd, ADDR + 2 * PAGE, PAGE, R, FIXED);
	EXPECT_EQ(0, peek(word_at(p, 2, 9)));
	expect_segv(_metadata, STORE, word_at(p, 2, 9),
		    "a page replaced read-only");
}

TEST_F_TIMEOUT(shadow, a_load_after_brk_shrinks_faults, 30)
{
	const __u64 heap = TORUSMM_HEAP_START;
	__u32 *p;
	unsigned int i;
	__u64 brk;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	ASSERT_EQ(0, torusmm_brk(self->fd, heap + 4 * PAGE, &brk));
	ASSERT_EQ(heap + 4 * PAGE, brk);
	p = shadow(_metadata, self->fd, heap, 4 * PAGE, PROT_RW);
	for (i = 0; i < 4; i++)
		poke(word_at(p, i, 0), tag(1, i));

	ASSERT_EQ(0, torusmm_brk(self->fd, heap + PAGE, &brk));
	EXPECT_EQ(tag(1, 0), peek(word_at(p, 0, 0)));
	for (i = 1; i < 4; i++)
		expect_segv(_metadata, LOAD, word_at(p, i, 0),
			    "a page above the shrunk break");
	EXPECT_EQ(1, stats_of(_metadata, self->fd).nr_data_frames);

	ASSERT_EQ(0, torusmm_brk(self->fd, heap + 4 * PAGE, &brk));
	EXPECT_EQ(0, peek(word_at(p, 2, 0))) TH_LOG("a regrown heap is zero");
}

TEST_F_TIMEOUT(shadow, mprotect_none_makes_loads_fault_and_keeps_the_bytes, 30)
{
	__u32 *p;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 2 * PAGE, PROT_RW);
	poke(word_at(p, 0, 0), tag(1, 0));
	poke(word_at(p, 1, 0), tag(1, 1));

	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, 2 * PAGE, NONE));
	expect_segv(_metadata, LOAD, word_at(p, 0, 0), "a PROT_NONE page");
	expect_segv(_metadata, STORE, word_at(p, 1, 4), "a PROT_NONE page");
	EXPECT_EQ(2, stats_of(_metadata, self->fd).nr_data_frames);

	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, 2 * PAGE, R));
	EXPECT_EQ(tag(1, 0), peek(word_at(p, 0, 0)));
	EXPECT_EQ(tag(1, 1), peek(word_at(p, 1, 0)));
	EXPECT_EQ(0, peek(word_at(p, 1, 4)));
}

TEST_F_TIMEOUT(shadow, a_clone_holds_what_the_shadow_stored_and_stays_apart, 30)
{
	__u32 word = 0;
	__u32 *p;
	int clone;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 2 * PAGE, PROT_RW);
	poke(&p[0], tag(1, 0));
	(void)peek(word_at(p, 1, 0));

	clone = torusmm_clone(self->fd);
	ASSERT_LE(0, clone);
	/* A clone's entries start old (accessed clear), as after fork. */
	EXPECT_EQ(pte_of(_metadata, self->fd, ADDR) & P_FLAGS & ~P_A,
		  pte_of(_metadata, clone, ADDR) & P_FLAGS);
	EXPECT_EQ(pte_of(_metadata, self->fd, ADDR + PAGE) & P_FLAGS & ~P_A,
		  pte_of(_metadata, clone, ADDR + PAGE) & P_FLAGS);
	EXPECT_EQ(P_D, pte_of(_metadata, clone, ADDR) & (P_A | P_D))
		TH_LOG("the hardware store's dirty bit is in the clone");
	slurp(_metadata, clone, ADDR, &word, sizeof(word));
	EXPECT_EQ(tag(1, 0), word) TH_LOG("the clone missed a hardware store");

	/* After the clone: stores on either side stay there. */
	poke(&p[0], tag(1, 1));
	slurp(_metadata, clone, ADDR, &word, sizeof(word));
	EXPECT_EQ(tag(1, 0), word);
	word = tag(2, 0);
	fill(_metadata, clone, ADDR + 4, &word, sizeof(word));
	EXPECT_EQ(0, peek(&p[1]));
	close(clone);
}

/* What the parent asks a child to do: an access at word 4 of a page. */
struct child_request {
	enum access access;
	unsigned int page;
};

/*
 * A child with the parent's mapping (fork copies hardware entries) answers
 * on @answer what its access at @p did, each time the parent asks.
 */
static void child_accesses_on_request(int ask, int answer, __u32 *p)
{
	struct child_request req;
	__u32 value = tag(3, 0);
	int sig;

	while (read(ask, &req, sizeof(req)) == sizeof(req)) {
		sig = try_access(req.access, word_at(p, req.page, 4), &value,
				 NULL);
		if (write(answer, &sig, sizeof(sig)) != sizeof(sig))
			break;
	}
	_exit(0);
}

/* What the child's @access at word 4 of @page did. */
static int child_access(struct __test_metadata *_metadata, int ask,
			int answer, enum access access, unsigned int page)
{
	struct child_request req = { .access = access, .page = page };
	int sig = -1;

	ASSERT_EQ(sizeof(req), write(ask, &req, sizeof(req)));
	ASSERT_EQ(sizeof(sig), read(answer, &sig, sizeof(sig)));
	return sig;
}

TEST_F_TIMEOUT(shadow, changes_revoke_entries_in_every_mapping_and_process, 30)
{
	int to_child[2], from_child[2], status;
	__u32 *one, *two;
	pid_t pid;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 3 * PAGE, RW, FIXED);
	one = shadow(_metadata, self->fd, ADDR, 3 * PAGE, PROT_RW);
	two = shadow(_metadata, self->fd, ADDR, 3 * PAGE, PROT_RW);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(from_child));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Without our write end the child sees EOF when we close ours. */
		close(to_child[1]);
		close(from_child[0]);
		child_accesses_on_request(to_child[0], from_child[1], one);
	}
	close(to_child[0]);
	close(from_child[1]);

	/* Every mapping gets writable entries: each stores once. */
	EXPECT_EQ(0, child_access(_metadata, to_child[1], from_child[0],
				  STORE, 0));
	EXPECT_EQ(0, child_access(_metadata, to_child[1], from_child[0],
				  STORE, 1));
	poke(word_at(one, 0, 0), 1);
	poke(word_at(two, 0, 0), 2);
	poke(word_at(one, 1, 0), 1);
	poke(word_at(two, 1, 0), 2);

	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, PAGE, R));
	expect_segv(_metadata, STORE, word_at(one, 0, 0), "mapping one");
	expect_segv(_metadata, STORE, word_at(two, 0, 0), "mapping two");
	EXPECT_EQ(SIGSEGV, child_access(_metadata, to_child[1], from_child[0],
					STORE, 0))
		TH_LOG("the child stored to a page made read-only");
	EXPECT_EQ(0, child_access(_metadata, to_child[1], from_child[0],
				  LOAD, 0));

	ASSERT_EQ(0, torusmm_munmap(self->fd, ADDR + PAGE, PAGE));
	expect_segv(_metadata, LOAD, word_at(one, 1, 0), "mapping one");
	expect_segv(_metadata, LOAD, word_at(two, 1, 0), "mapping two");
	EXPECT_EQ(SIGSEGV, child_access(_metadata, to_child[1], from_child[0],
					LOAD, 1))
		TH_LOG("the child loaded from an unmapped page");

	close(to_child[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
}

/*
 * The race: loaders, a storer and a forked process access pages of A
 * through the shadow while the test's own thread (the checker) unmaps,
 * remaps, mprotects and clones them, and a hog thread keeps taking frames
 * of the same torus for a second space, H, filling them with H's tag and
 * reading them back.  The torus is filled beforehand so that only a small
 * pool of frames is free: a frame A lets go of is soon H's.
 *
 * Every word of A's page i is 0 or tag(A, i); every word of H's page j is
 * tag(H, j) once written.  Anything else is a frame seen by the wrong space
 * or page: a hardware entry that outlived its software one.  After each of
 * the checker's ioctls, the checker's own accesses must fault where the
 * tables now forbid them.  Pages below CHECKER_PAGE are written by the
 * storers; the others only by the checker, so after a MAP_FIXED
 * replacement they must read exactly zero.
 */
#define RACE_PAGES	16
#define CHECKER_PAGE	8
#define HOG_PAGES	32
#define HOG_ADDR	0x20000000u
#define POOL_FRAMES	192
#define RACE_SECONDS	3
#define OWNER_A		0xa1u
#define OWNER_H		0x4bu
#define NR_LOADERS	2

enum page_state { PAGE_UNMAPPED, PAGE_NONE, PAGE_R, PAGE_RW };

/* Lives in MAP_SHARED memory: the forked racer reports through it too. */
struct race {
	int fd;
	int hog;
	__u32 *map;
	int stop;
	unsigned long loads, load_faults, stores, store_faults;
	unsigned long changes, clones, hog_rounds, hog_enomem;
	unsigned long violations;
	char first[200];
};

static void race_violation(struct race *r, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&r->violations, 1, __ATOMIC_SEQ_CST))
		return;
	va_start(ap, fmt);
	vsnprintf(r->first, sizeof(r->first), fmt, ap);
	va_end(ap);
}

static void count(unsigned long *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

static __u32 next_random(__u32 *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* One load or store of a random word by a racer; checks what it saw. */
static void race_access(struct race *r, __u32 *seed, bool store)
{
	unsigned int page = next_random(seed) % RACE_PAGES;
	unsigned int word = next_random(seed) % WORDS;
	__u32 *p;
	void *addr = NULL;
	__u32 value;
	int sig;

	if (store)
		page %= CHECKER_PAGE;
	p = word_at(r->map, page, word);
	if (store)
		sig = try_store(p, tag(OWNER_A, page), &addr);
	else
		sig = try_load(p, &value, &addr);
	if (sig == SIGSEGV) {
		count(store ? &r->store_faults : &r->load_faults);
		if (addr != p)
			race_violation(r, "si_addr %p for an access at %p",
				       addr, p);
		return;
	}
	if (sig) {
		race_violation(r, "%s of page %u raised %s",
			       store ? "store" : "load", page, outcome(sig));
		return;
	}
	count(store ? &r->stores : &r->loads);
	if (!store && value && value != tag(OWNER_A, page))
		race_violation(r, "A's page %u word %u holds %#x, not A's tag %#x",
			       page, word, value, tag(OWNER_A, page));
}

static void *race_loader(void *arg)
{
	struct race *r = arg;
	__u32 seed = 0x9e3779b9u ^ (__u32)(uintptr_t)&seed;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		race_access(r, &seed, false);
	return NULL;
}

static void *race_storer(void *arg)
{
	struct race *r = arg;
	__u32 seed = 0x85ebca6bu ^ (__u32)(uintptr_t)&seed;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		race_access(r, &seed, true);
	return NULL;
}

/* Check that every word of H's @nr pages is tag(H, j), or 0 when @fresh. */
static void hog_check(struct race *r, const __u32 *buf, bool fresh)
{
	unsigned int j, i;

	for (j = 0; j < HOG_PAGES; j++)
		for (i = 0; i < WORDS; i++) {
			__u32 want = fresh ? 0 : tag(OWNER_H, j);

			if (buf[j * WORDS + i] != want) {
				race_violation(r, "H's %s page %u word %u holds %#x, not %#x",
					       fresh ? "fresh" : "filled", j,
					       i, buf[j * WORDS + i], want);
				return;
			}
		}
}

static void *race_hog(void *arg)
{
	__u32 *buf = malloc(HOG_PAGES * PAGE);
	struct race *r = arg;
	struct torusmm_rw rw;
	unsigned int j, i, pass;
	__u64 addr;
	int ret;

	if (!buf) {
		race_violation(r, "no memory for the hog");
		return NULL;
	}
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		addr = HOG_ADDR;
		ret = torusmm_mmap(r->hog, &addr, HOG_PAGES * PAGE, RW,
				   FIXED | POPULATE);
		if (ret == -ENOMEM) {
			count(&r->hog_enomem);
			sched_yield();
			continue;
		}
		if (ret) {
			race_violation(r, "the hog's mmap: %s", strerror(-ret));
			break;
		}
		ret = torusmm_read(r->hog, HOG_ADDR, buf, HOG_PAGES * PAGE,
				   USER, &rw);
		if (!ret)
			hog_check(r, buf, true);
		for (j = 0; j < HOG_PAGES; j++)
			for (i = 0; i < WORDS; i++)
				buf[j * WORDS + i] = tag(OWNER_H, j);
		ret |= torusmm_write(r->hog, HOG_ADDR, buf, HOG_PAGES * PAGE,
				     USER, &rw);
		for (pass = 0; !ret && pass < 3; pass++) {
			ret = torusmm_read(r->hog, HOG_ADDR, buf,
					   HOG_PAGES * PAGE, USER, &rw);
			if (!ret)
				hog_check(r, buf, false);
		}
		if (ret)
			race_violation(r, "the hog's copies returned %d", ret);
		ret = torusmm_munmap(r->hog, HOG_ADDR, HOG_PAGES * PAGE);
		if (ret) {
			race_violation(r, "the hog's munmap: %s",
				       strerror(-ret));
			break;
		}
		count(&r->hog_rounds);
	}
	free(buf);
	return NULL;
}

/* The checker's view: a load and a store at word 0 of each page. */
static void check_page(struct race *r, unsigned int page,
		       enum page_state state, bool fresh)
{
	__u32 *p = word_at(r->map, page, 0);
	bool checker_page = page >= CHECKER_PAGE;
	__u32 value = 0;
	int sig;

	sig = try_load(p, &value, NULL);
	if (state == PAGE_UNMAPPED || state == PAGE_NONE) {
		if (sig != SIGSEGV)
			race_violation(r, "a load of %s page %u %s",
				       state == PAGE_NONE ? "PROT_NONE" :
				       "unmapped", page, outcome(sig));
	} else if (sig) {
		race_violation(r, "a load of readable page %u raised %s", page,
			       outcome(sig));
	} else if (value && (value != tag(OWNER_A, page) ||
			     (fresh && checker_page))) {
		race_violation(r, "page %u %sholds %#x", page,
			       fresh ? "just replaced " : "", value);
	}

	sig = try_store(p, tag(OWNER_A, page), NULL);
	if (state != PAGE_RW) {
		if (sig != SIGSEGV)
			race_violation(r, "a store to %s page %u %s",
				       state == PAGE_R ? "read-only" :
				       state == PAGE_NONE ? "PROT_NONE" :
				       "unmapped", page, outcome(sig));
	} else if (sig) {
		race_violation(r, "a store to read-write page %u raised %s",
			       page, outcome(sig));
	}
}

/* Read a clone of A through TORUSMM_READ: each word 0 or A's tag. */
static void check_clone(struct race *r)
{
	__u32 buf[WORDS];
	struct torusmm_rw rw;
	unsigned int page, i;
	int clone = torusmm_clone(r->fd);

	if (clone < 0) {
		race_violation(r, "TORUSMM_CLONE: %s", strerror(-clone));
		return;
	}
	for (page = 0; page < RACE_PAGES; page++) {
		if (torusmm_read(clone, ADDR + page * PAGE, buf, PAGE, 0, &rw))
			continue;	/* unmapped or PROT_NONE */
		for (i = 0; i < WORDS; i++)
			if (buf[i] && buf[i] != tag(OWNER_A, page)) {
				race_violation(r, "the clone's page %u word %u holds %#x",
					       page, i, buf[i]);
				break;
			}
	}
	close(clone);
	count(&r->clones);
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) +
	       (now.tv_nsec - start->tv_nsec) / 1e9;
}

/* The checker: change a few pages, then prove the change took effect. */
static void race_checker(struct race *r)
{
	enum page_state state[RACE_PAGES];
	__u32 seed = 0x2545f491u;
	unsigned int first, n, i;
	struct timespec start;
	bool hole, fresh;
	__u64 addr;
	int ret;

	for (i = 0; i < RACE_PAGES; i++)
		state[i] = PAGE_RW;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (seconds_since(&start) < RACE_SECONDS &&
	       !__atomic_load_n(&r->violations, __ATOMIC_RELAXED)) {
		enum page_state to;
		__u32 prot;

		first = next_random(&seed) % RACE_PAGES;
		n = 1 + next_random(&seed) % 3;
		if (first + n > RACE_PAGES)
			n = RACE_PAGES - first;
		for (hole = false, i = first; i < first + n; i++)
			hole |= state[i] == PAGE_UNMAPPED;
		fresh = false;
		switch (next_random(&seed) % 7) {
		case 0:
			ret = torusmm_munmap(r->fd, ADDR + first * PAGE,
					     n * PAGE);
			to = PAGE_UNMAPPED;
			break;
		case 1:
			addr = ADDR + first * PAGE;
			ret = torusmm_mmap(r->fd, &addr, n * PAGE, RW, FIXED);
			to = PAGE_RW;
			fresh = true;
			break;
		case 2:
		case 3:
		case 4:
			to = (enum page_state)(1 + next_random(&seed) % 3);
			prot = to == PAGE_NONE ? NONE : to == PAGE_R ? R : RW;
			ret = torusmm_mprotect(r->fd, ADDR + first * PAGE,
					       n * PAGE, prot);
			if (hole) {
				/* Stricter than Linux: nothing changed. */
				if (ret != -ENOMEM)
					race_violation(r, "mprotect over a hole returned %d",
						       ret);
				continue;
			}
			break;
		case 5:
			check_clone(r);
			continue;
		default:
			for (i = 0; i < RACE_PAGES; i++)
				check_page(r, i, state[i], false);
			continue;
		}
		if (ret) {
			race_violation(r, "a change of pages %u-%u: %s", first,
				       first + n - 1, strerror(-ret));
			break;
		}
		count(&r->changes);
		for (i = first; i < first + n; i++) {
			state[i] = to;
			check_page(r, i, to, fresh);
		}
	}
}

/*
 * The forked racer: loads and stores from another mm until told to stop,
 * or until the test dies.
 */
static void race_process(struct race *r)
{
	__u32 seed = 0x68e31da4u ^ (__u32)getpid();

	prctl(PR_SET_PDEATHSIG, SIGKILL);

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		race_access(r, &seed, next_random(&seed) & 1);
	_exit(0);
}

TEST_F_TIMEOUT(shadow, concurrent_accesses_never_pass_what_the_tables_forbid,
	       120)
{
	pthread_t loaders[NR_LOADERS], storer, hog;
	struct race *r;
	int filler, status, i;
	pid_t pid;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	/* One process-wide timer cannot watch several threads. */
	catcher.watchdog = false;
	r = mmap(NULL, sizeof(*r), PROT_RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE((uintptr_t)MAP_FAILED, (uintptr_t)r);
	memset(r, 0, sizeof(*r));
	r->fd = self->fd;
	r->hog = torusmm_create_space(self->dev, self->torus,
				      TORUSMM_NO_QUOTA);
	ASSERT_LE(0, r->hog);
	map(_metadata, self->fd, ADDR, RACE_PAGES * PAGE, RW, FIXED);
	r->map = shadow(_metadata, self->fd, ADDR, RACE_PAGES * PAGE,
			PROT_RW);
	filler = fill_torus(_metadata, self->dev, self->torus, POOL_FRAMES);
	TH_LOG("%u frames free for A and H", free_now(_metadata, self));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		race_process(r);
	for (i = 0; i < NR_LOADERS; i++)
		ASSERT_EQ(0, pthread_create(&loaders[i], NULL, race_loader, r));
	ASSERT_EQ(0, pthread_create(&storer, NULL, race_storer, r));
	ASSERT_EQ(0, pthread_create(&hog, NULL, race_hog, r));

	race_checker(r);

	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < NR_LOADERS; i++)
		pthread_join(loaders[i], NULL);
	pthread_join(storer, NULL);
	pthread_join(hog, NULL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("the forked racer died");
	TH_LOG("checker: %lu changes, %lu clones", r->changes, r->clones);
	TH_LOG("racers: %lu loads, %lu stores done, %lu and %lu faulted",
	       r->loads, r->stores, r->load_faults, r->store_faults);
	TH_LOG("hog: %lu rounds, %lu ENOMEM", r->hog_rounds, r->hog_enomem);
	EXPECT_EQ(0, r->violations) TH_LOG("first of %lu: %s", r->violations,
					   r->first);
	EXPECT_LT(10, r->changes) TH_LOG("the checker hardly ran");
	EXPECT_LT(0, r->loads);
	EXPECT_LT(0, r->load_faults);
	EXPECT_LT(0, r->stores);
	EXPECT_LT(0, r->hog_rounds);

	close(filler);
	close(r->hog);
	EXPECT_EQ(0, munmap(r->map, RACE_PAGES * PAGE));
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(self->free_before, free_now(_metadata, self));
	munmap(r, sizeof(*r));
}

TEST_F_TIMEOUT(shadow, closing_the_fd_keeps_the_space_until_the_last_munmap,
	       30)
{
	struct torusmm_torus_info before_close, info;
	__u32 *one, *two;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	one = shadow(_metadata, self->fd, ADDR, 4 * PAGE, PROT_RW);
	two = shadow(_metadata, self->fd, ADDR, 4 * PAGE, PROT_RW);
	poke(word_at(one, 0, 0), tag(1, 0));
	before_close = torus_of(_metadata, self->dev, self->torus);

	close(self->fd);
	self->fd = -1;
	info = torus_of(_metadata, self->dev, self->torus);
	EXPECT_EQ(before_close.nr_spaces, info.nr_spaces)
		TH_LOG("the mappings keep the space");
	EXPECT_EQ(before_close.nr_free, info.nr_free);
	EXPECT_EQ(tag(1, 0), peek(word_at(two, 0, 0)));
	poke(word_at(one, 1, 0), tag(1, 1));
	EXPECT_EQ(before_close.nr_free - 1, free_now(_metadata, self))
		TH_LOG("a fault-in after the close takes a frame");

	EXPECT_EQ(0, munmap(one, 4 * PAGE));
	EXPECT_EQ(before_close.nr_spaces,
		  torus_of(_metadata, self->dev, self->torus).nr_spaces)
		TH_LOG("one mapping is left");
	EXPECT_EQ(tag(1, 1), peek(word_at(two, 1, 0)));
	EXPECT_EQ(0, munmap(two, 4 * PAGE));
	info = torus_of(_metadata, self->dev, self->torus);
	EXPECT_EQ(before_close.nr_spaces - 1, info.nr_spaces);
	EXPECT_EQ(self->free_before, info.nr_free)
		TH_LOG("the last munmap frees the space");
}

TEST_F_TIMEOUT(shadow, a_process_exiting_with_a_mapping_gives_frames_back, 30)
{
	int to_child[2], status;
	__u32 *p;
	char go;
	pid_t pid;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	close(self->fd);
	self->fd = -1;

	/* A child makes a space, maps it, closes the fd and exits. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = torusmm_create_space(self->dev, self->torus,
					      TORUSMM_NO_QUOTA);
		__u64 addr = ADDR;
		void *base = NULL;
		unsigned int i;

		if (fd < 0 || torusmm_mmap(fd, &addr, 8 * PAGE, RW, FIXED) ||
		    torusmm_shadow_map(fd, ADDR, 8 * PAGE, PROT_RW, &base))
			_exit(1);
		close(fd);
		close(self->dev);
		for (i = 0; i < 8; i++)
			poke(word_at(base, i, 0), i);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(self->free_before, free_now(_metadata, self))
		TH_LOG("the exit did not free the space");

	/* Here the child inherits the last mapping: we unmap ours first. */
	self->fd = torusmm_create_space(self->dev, self->torus,
					TORUSMM_NO_QUOTA);
	ASSERT_LE(0, self->fd);
	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 2 * PAGE, PROT_RW);
	poke(&p[0], tag(1, 0));
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, pipe(to_child));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (read(to_child[0], &go, 1) != 1)
			_exit(1);
		if (peek(&p[0]) != tag(1, 0))
			_exit(2);
		poke(word_at(p, 1, 0), 1);
		_exit(0);
	}
	EXPECT_EQ(0, munmap(p, 2 * PAGE));
	ASSERT_EQ(1, write(to_child[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("the child died of a signal");
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("the child's mapping did not outlive ours");
	EXPECT_EQ(self->free_before, free_now(_metadata, self));
}

/*
 * Linux 6.1's delete_module() fails with EWOULDBLOCK (EAGAIN) for a module
 * in use: EBUSY is for one that is still loading or already going.
 */
TEST_F_TIMEOUT(shadow, the_module_cannot_be_unloaded_while_a_mapping_exists,
	       30)
{
	__u32 *p;
	int refs, ret;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	if (getuid())
		SKIP(return, "delete_module() needs root");
	if (module_refcnt() < 0)
		SKIP(return, "no /sys/module/torusmm/refcnt");
	catch_faults();
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, PAGE, PROT_RW);
	poke(&p[0], tag(1, 0));

	/* Our fds hold the module too: only the mapping may be left. */
	close(self->fd);
	close(self->dev);
	self->fd = -1;
	self->dev = -1;
	refs = module_refcnt();
	EXPECT_LE(1, refs) TH_LOG("nothing holds torusmm but the mapping");
	if (refs >= 1) {
		/* Only with a reference: never unload under a live mapping. */
		ret = syscall(__NR_delete_module, "torusmm", O_NONBLOCK);
		EXPECT_EQ(-1, ret)
			TH_LOG("torusmm was unloaded under a mapping");
		EXPECT_EQ(EWOULDBLOCK, errno) TH_LOG("%s", strerror(errno));
	}
	EXPECT_EQ(tag(1, 0), peek(&p[0]));
	poke(&p[1], 1);
	EXPECT_EQ(0, munmap(p, PAGE));
	EXPECT_EQ(0, module_refcnt()) TH_LOG("the munmap let go of torusmm");

	self->dev = torusmm_open();
	ASSERT_LE(0, self->dev);
	EXPECT_EQ(self->free_before, free_now(_metadata, self));
}

TEST_F_TIMEOUT(shadow, munmap_of_part_of_a_shadow_leaves_the_rest_working, 30)
{
	__u32 *p;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 4 * PAGE, PROT_RW);
	ASSERT_EQ(0, munmap(word_at(p, 1, 0), PAGE));
	poke(word_at(p, 0, 0), tag(1, 0));
	poke(word_at(p, 2, 0), tag(1, 2));
	poke(word_at(p, 3, 0), tag(1, 3));
	expect_segv(_metadata, LOAD, word_at(p, 1, 0), "an unmapped page");
	EXPECT_EQ(3, stats_of(_metadata, self->fd).nr_data_frames);
	EXPECT_EQ(0, pte_of(_metadata, self->fd, ADDR + PAGE))
		TH_LOG("the client munmap does not touch the space");

	/* Both halves still follow the tables. */
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, 4 * PAGE, R));
	expect_segv(_metadata, STORE, word_at(p, 0, 0), "the part before");
	expect_segv(_metadata, STORE, word_at(p, 3, 0), "the part after");
	EXPECT_EQ(tag(1, 2), peek(word_at(p, 2, 0)));
}

TEST_F_TIMEOUT(shadow, mremap_moves_and_shrinks_a_shadow_but_cannot_grow_it, 30)
{
	__u32 *p, *moved;
	void *target, *ret;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 4 * PAGE, PROT_RW);
	poke(word_at(p, 0, 0), tag(1, 0));
	poke(word_at(p, 3, 0), tag(1, 3));

	target = mmap(NULL, 4 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	ASSERT_NE((uintptr_t)MAP_FAILED, (uintptr_t)target);
	ret = mremap(p, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
		     target);
	ASSERT_EQ((uintptr_t)target, (uintptr_t)ret)
		TH_LOG("mremap move: %s", strerror(errno));
	moved = target;
	EXPECT_EQ(tag(1, 0), peek(word_at(moved, 0, 0)));
	EXPECT_EQ(tag(1, 3), peek(word_at(moved, 3, 0)));
	poke(word_at(moved, 2, 0), tag(1, 2));
	expect_segv(_metadata, LOAD, p, "the old address");
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, 4 * PAGE, R));
	expect_segv(_metadata, STORE, word_at(moved, 2, 0),
		    "a moved shadow of a page made read-only");
	ASSERT_EQ(0, torusmm_mprotect(self->fd, ADDR, 4 * PAGE, RW));

	ret = mremap(moved, 4 * PAGE, 2 * PAGE, 0);
	ASSERT_EQ((uintptr_t)moved, (uintptr_t)ret)
		TH_LOG("mremap shrink: %s", strerror(errno));
	expect_segv(_metadata, LOAD, word_at(moved, 3, 0), "the cut-off tail");
	EXPECT_EQ(tag(1, 0), peek(word_at(moved, 0, 0)));

	/* VM_DONTEXPAND: growing in place or by moving is EFAULT. */
	ret = mremap(moved, 2 * PAGE, 4 * PAGE, 0);
	EXPECT_EQ((uintptr_t)MAP_FAILED, (uintptr_t)ret);
	EXPECT_EQ(EFAULT, errno);
	ret = mremap(moved, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
	EXPECT_EQ((uintptr_t)MAP_FAILED, (uintptr_t)ret);
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(tag(1, 0), peek(word_at(moved, 0, 0)));
}

TEST_F_TIMEOUT(shadow, write_and_read_syscalls_copy_through_the_shadow, 30)
{
	char out[64] = "", in[64] = "bytes the kernel stores for us";
	int pipe_fds[2];
	char *p;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	map(_metadata, self->fd, ADDR + 2 * PAGE, PAGE, R, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 3 * PAGE, PROT_RW);
	strcpy(p, "bytes a pointer stored");
	ASSERT_EQ(0, pipe(pipe_fds));

	/* copy_from_user() out of the shadow */
	EXPECT_EQ(sizeof(out), write(pipe_fds[1], p, sizeof(out)));
	EXPECT_EQ(sizeof(out), read(pipe_fds[0], out, sizeof(out)));
	EXPECT_STREQ("bytes a pointer stored", out);

	/* copy_to_user() into a page the shadow only loaded from */
	EXPECT_EQ(0, peek(word_at(p, 1, 0)));
	EXPECT_EQ(P_A, pte_of(_metadata, self->fd, ADDR + PAGE) & (P_A | P_D));
	EXPECT_EQ(sizeof(in), write(pipe_fds[1], in, sizeof(in)));
	EXPECT_EQ(sizeof(in), read(pipe_fds[0], p + PAGE, sizeof(in)));
	slurp(_metadata, self->fd, ADDR + PAGE, out, sizeof(out));
	EXPECT_STREQ(in, out);
	EXPECT_EQ(P_A | P_D, pte_of(_metadata, self->fd, ADDR + PAGE) &
			     (P_A | P_D))
		TH_LOG("the kernel's store through the shadow is a write");

	/* ... and not into a read-only region */
	EXPECT_EQ(sizeof(in), write(pipe_fds[1], in, sizeof(in)));
	EXPECT_EQ(-1, read(pipe_fds[0], p + 2 * PAGE, sizeof(in)));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, pte_of(_metadata, self->fd, ADDR + 2 * PAGE))
		TH_LOG("a refused store faults nothing in");
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

/*
 * Every ioctl copies its argument and its buffers with no space lock held:
 * they may live in the shadow of the very space they act on, and be faulted
 * in through it during the ioctl's own copy (pages 1, 3 and 5 here).
 */
TEST_F_TIMEOUT(shadow, ioctl_arguments_may_live_in_the_same_shadow, 30)
{
	static const char msg[32] = "from page 1, by the kernel";
	struct torusmm_space_stats *stats;
	struct torusmm_translate *tr;
	struct torusmm_dump *dump;
	struct torusmm_pte *ptes;
	struct torusmm_rw *rw;
	char *p;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 8 * PAGE, RW, FIXED);
	fill(_metadata, self->fd, ADDR + PAGE, msg, sizeof(msg));
	p = shadow(_metadata, self->fd, ADDR, 8 * PAGE, PROT_RW);
	rw = (struct torusmm_rw *)p;
	tr = (struct torusmm_translate *)(p + 256);
	stats = (struct torusmm_space_stats *)(p + 512);
	dump = (struct torusmm_dump *)(p + 768);
	ptes = (struct torusmm_pte *)(p + 5 * PAGE);

	/* TORUSMM_WRITE from page 1 (no hardware entry yet) to page 2 */
	memset(rw, 0, sizeof(*rw));
	rw->addr = ADDR + 2 * PAGE;
	rw->buf = torusmm_ptr(p + PAGE);
	rw->length = sizeof(msg);
	rw->access = USER;
	ASSERT_EQ(0, torusmm_ioctl(self->fd, TORUSMM_WRITE, rw));
	EXPECT_EQ(sizeof(msg), rw->done);
	/* TORUSMM_READ from page 2 into page 3, untouched so far */
	rw->buf = torusmm_ptr(p + 3 * PAGE);
	ASSERT_EQ(0, torusmm_ioctl(self->fd, TORUSMM_READ, rw));
	EXPECT_EQ(sizeof(msg), rw->done);
	EXPECT_STREQ(msg, p + 3 * PAGE);

	memset(tr, 0, sizeof(*tr));
	tr->addr = ADDR + 4 * PAGE;
	tr->access = WRITE | USER;
	ASSERT_EQ(0, torusmm_ioctl(self->fd, TORUSMM_TRANSLATE, tr));
	EXPECT_NE(0, tr->tpa);
	ASSERT_EQ(0, torusmm_ioctl(self->fd, TORUSMM_GET_STATS, stats));
	EXPECT_EQ(5, stats->nr_data_frames) TH_LOG("pages 0 to 4");

	/* The entries go to page 5, faulted in after they were taken. */
	memset(dump, 0, sizeof(*dump));
	dump->buf = torusmm_ptr(ptes);
	dump->addr = ADDR;
	dump->length = 8 * PAGE;
	dump->count = 8;
	ASSERT_EQ(0, torusmm_ioctl(self->fd, TORUSMM_DUMP_PTES, dump));
	EXPECT_EQ(5, dump->count);
	EXPECT_EQ(ADDR + 4 * PAGE, ptes[4].addr);
	EXPECT_EQ(P_A | P_D, ptes[4].pte & (P_A | P_D));
	EXPECT_EQ(6, stats_of(_metadata, self->fd).nr_data_frames);
}

/*
 * get_user_pages() refuses a VM_PFNMAP mapping.  vmsplice() pins the pages
 * it is given, so it fails with EFAULT where it works on anonymous memory.
 */
TEST_F_TIMEOUT(shadow, vmsplice_from_a_shadow_is_efault_as_gup_fails, 30)
{
	struct iovec iov = { .iov_len = PAGE };
	int pipe_fds[2];
	void *anon, *p;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, PAGE, PROT_RW);
	poke(p, 1);
	anon = mmap(NULL, PAGE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE((uintptr_t)MAP_FAILED, (uintptr_t)anon);
	poke(anon, 1);
	ASSERT_EQ(0, pipe(pipe_fds));

	iov.iov_base = anon;
	EXPECT_EQ(PAGE, vmsplice(pipe_fds[1], &iov, 1, 0))
		TH_LOG("vmsplice of anonymous memory: %s", strerror(errno));
	iov.iov_base = p;
	EXPECT_EQ(-1, vmsplice(pipe_fds[1], &iov, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	munmap(anon, PAGE);
}

/* A shared futex is keyed by its page, which get_user_pages() looks up. */
TEST_F_TIMEOUT(shadow, a_shared_futex_in_a_shadow_is_efault_as_gup_fails, 30)
{
	__u32 *anon, *p;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, PAGE, PROT_RW);
	poke(p, 1);
	anon = mmap(NULL, PAGE, PROT_RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE((uintptr_t)MAP_FAILED, (uintptr_t)anon);

	EXPECT_EQ(0, syscall(SYS_futex, anon, FUTEX_WAKE, 1, NULL, NULL, 0))
		TH_LOG("a shared futex in shared memory: %s", strerror(errno));
	EXPECT_EQ(-1, syscall(SYS_futex, p, FUTEX_WAKE, 1, NULL, NULL, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, syscall(SYS_futex, p, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1,
			     NULL, NULL, 0))
		TH_LOG("a private futex needs no page: %s", strerror(errno));
	munmap(anon, PAGE);
}

TEST_F_TIMEOUT(shadow, process_vm_readv_from_a_shadow_is_efault, 30)
{
	static char anon[PAGE], buf[PAGE];
	struct iovec local = { .iov_base = buf, .iov_len = PAGE };
	struct iovec remote = { .iov_len = PAGE };
	ssize_t ret;
	void *p;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	remote.iov_base = anon;
	ret = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	/* Without CONFIG_CROSS_MEMORY_ATTACH it fails on anything. */
	if (ret < 0)
		SKIP(return, "process_vm_readv() of anonymous memory: %s",
		     strerror(errno));
	EXPECT_EQ(PAGE, ret);
	catch_faults();
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, PAGE, PROT_RW);
	poke(p, 1);
	remote.iov_base = p;
	EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F_TIMEOUT(shadow, bad_mmap_requests_fail_with_the_documented_errno, 30)
{
	const struct {
		const char *what;
		bool on_device;
		__u64 off;
		size_t length;
		int flags;
		int err;
	} rows[] = {
		{ "MAP_PRIVATE", false, ADDR, PAGE, MAP_PRIVATE, EINVAL },
		/* In the -m32 build glibc refuses it before the kernel. */
		{ "an unaligned offset", false, ADDR + 1, PAGE, MAP_SHARED,
		  EINVAL },
		{ "a range ending past 4 GiB", false, SZ_4G - PAGE, 2 * PAGE,
		  MAP_SHARED, EINVAL },
		{ "a length rounded up past 4 GiB", false, SZ_4G - PAGE,
		  PAGE + 1, MAP_SHARED, EINVAL },
		{ "an offset of 4 GiB", false, SZ_4G, PAGE, MAP_SHARED,
		  EINVAL },
		{ "an offset far above 4 GiB", false, 1ull << 40, PAGE,
		  MAP_SHARED, EINVAL },
		{ "the device fd", true, 0, PAGE, MAP_SHARED, ENODEV },
		{ "the device fd, MAP_PRIVATE", true, 0, PAGE, MAP_PRIVATE,
		  ENODEV },
	};
	unsigned int i;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		void *p = mmap(NULL, rows[i].length, PROT_RW, rows[i].flags,
			       rows[i].on_device ? self->dev : self->fd,
			       (off_t)rows[i].off);

		EXPECT_EQ((uintptr_t)MAP_FAILED, (uintptr_t)p)
			TH_LOG("%s was mapped", rows[i].what);
		if (p != MAP_FAILED) {
			munmap(p, rows[i].length);
			continue;
		}
		EXPECT_EQ(rows[i].err, errno) TH_LOG("%s: %s", rows[i].what,
						     strerror(errno));
	}
	EXPECT_EQ(1, torus_of(_metadata, self->dev, self->torus).nr_spaces)
		TH_LOG("no refused mmap made or kept a space");
}

TEST_F_TIMEOUT(shadow, madvise_dontneed_on_a_shadow_is_einval, 30)
{
	__u32 *p;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 2 * PAGE, PROT_RW);
	poke(&p[0], tag(1, 0));
	EXPECT_EQ(-1, madvise(p, 2 * PAGE, MADV_DONTNEED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(tag(1, 0), peek(&p[0]))
		TH_LOG("the page was dropped anyway");
}

/*
 * A store that needs a frame past the quota raises SIGBUS, whether the page
 * was never touched or a load mapped it to the zero frame; such a load
 * takes no frame and so completes, reading zero.
 */
TEST_F_TIMEOUT(shadow, a_store_past_the_quota_raises_sigbus_and_a_load_reads_zero,
	       30)
{
	__u32 *p;
	void *addr = NULL;
	__u32 value = 0xffffffff;
	int fd;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	/* The directory, one table and two pages make four frames. */
	fd = torusmm_create_space(self->dev, self->torus, 4);
	ASSERT_LE(0, fd);
	map(_metadata, fd, ADDR, 4 * PAGE, RW, FIXED);
	p = shadow(_metadata, fd, ADDR, 4 * PAGE, PROT_RW);
	poke(word_at(p, 0, 0), 1);
	poke(word_at(p, 1, 0), 1);

	EXPECT_EQ(0, try_load(word_at(p, 2, 4), &value, NULL))
		TH_LOG("a load at the quota maps the zero frame");
	EXPECT_EQ(0, value);
	EXPECT_EQ(ZERO_PTE_RW, pte_of(_metadata, fd, ADDR + 2 * PAGE));
	EXPECT_EQ(SIGBUS, try_store(word_at(p, 2, 4), 1, &addr))
		TH_LOG("a store after the load, past the quota");
	EXPECT_EQ((uintptr_t)word_at(p, 2, 4), (uintptr_t)addr);
	EXPECT_EQ(SIGBUS, try_store(word_at(p, 3, 0), 1, &addr))
		TH_LOG("a store to a page never touched, past the quota");
	EXPECT_EQ((uintptr_t)word_at(p, 3, 0), (uintptr_t)addr);
	EXPECT_EQ(ZERO_PTE_RW, pte_of(_metadata, fd, ADDR + 2 * PAGE))
		TH_LOG("the refused store left the entry as it was");
	EXPECT_EQ(0, pte_of(_metadata, fd, ADDR + 3 * PAGE));
	EXPECT_EQ(0, peek(word_at(p, 2, 4)));
	EXPECT_EQ(2, stats_of(_metadata, fd).nr_data_frames);
	EXPECT_EQ(2, stats_of(_metadata, fd).nr_table_frames);

	/* A freed frame makes room again, and the unmapped page faults. */
	ASSERT_EQ(0, torusmm_munmap(fd, ADDR, PAGE));
	expect_segv(_metadata, LOAD, word_at(p, 0, 0), "an unmapped page");
	EXPECT_EQ(0, try_store(word_at(p, 2, 0), 5, NULL));
	EXPECT_EQ(5, peek(word_at(p, 2, 0)));
	EXPECT_EQ(0, peek(word_at(p, 2, 4)));
	EXPECT_EQ(2, stats_of(_metadata, fd).nr_data_frames);
	close(fd);
}

/*
 * On a full torus a store that needs a frame raises SIGBUS, whether the
 * page was never touched or a load mapped it to the zero frame; the load
 * takes no frame, so it completes and reads zero.
 */
TEST_F_TIMEOUT(shadow, a_store_on_a_full_torus_raises_sigbus_and_a_load_reads_zero,
	       120)
{
	__u32 *p;
	void *addr = NULL;
	__u32 value = 0xffffffff;
	int filler;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 3 * PAGE, RW, FIXED);
	p = shadow(_metadata, self->fd, ADDR, 3 * PAGE, PROT_RW);
	poke(word_at(p, 0, 0), 1);	/* the table exists */
	filler = fill_torus(_metadata, self->dev, self->torus, 0);

	EXPECT_EQ(0, try_load(word_at(p, 1, 8), &value, NULL))
		TH_LOG("a load with no free frame maps the zero frame");
	EXPECT_EQ(0, value);
	EXPECT_EQ(ZERO_PTE_RW, pte_of(_metadata, self->fd, ADDR + PAGE));
	EXPECT_EQ(0, free_now(_metadata, self));
	EXPECT_EQ(SIGBUS, try_store(word_at(p, 1, 8), 2, &addr))
		TH_LOG("a store after the load, with no free frame");
	EXPECT_EQ((uintptr_t)word_at(p, 1, 8), (uintptr_t)addr);
	EXPECT_EQ(SIGBUS, try_store(word_at(p, 2, 0), 2, &addr))
		TH_LOG("a store to a page never touched, with no free frame");
	EXPECT_EQ((uintptr_t)word_at(p, 2, 0), (uintptr_t)addr);
	EXPECT_EQ(ZERO_PTE_RW, pte_of(_metadata, self->fd, ADDR + PAGE));
	EXPECT_EQ(0, pte_of(_metadata, self->fd, ADDR + 2 * PAGE));
	EXPECT_EQ(1, peek(word_at(p, 0, 0))) TH_LOG("present pages work");
	EXPECT_EQ(0, peek(word_at(p, 1, 8)));
	close(filler);
	EXPECT_EQ(0, try_store(word_at(p, 1, 8), 2, NULL))
		TH_LOG("frames are free again");
	EXPECT_EQ(2, peek(word_at(p, 1, 8)));
	EXPECT_EQ(0, try_store(word_at(p, 2, 0), 3, NULL));
	EXPECT_EQ(3, stats_of(_metadata, self->fd).nr_data_frames);
}

/* Last: nothing the shadow tests did holds a frame any more. */
TEST_F_TIMEOUT(shadow, every_torus_has_all_frames_free_at_the_end, 30)
{
	int nr = torusmm_check_extension(self->dev, TORUSMM_CAP_NR_TORI), i;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	close(self->fd);
	self->fd = -1;
	/* The test VM runs nothing else on torusmm while this runs. */
	for (i = 0; i < nr; i++) {
		struct torusmm_torus_info info = torus_of(_metadata, self->dev,
							  i);

		EXPECT_EQ(info.nr_frames, info.nr_free) TH_LOG("torus %d", i);
		EXPECT_EQ(0, info.nr_spaces) TH_LOG("torus %d", i);
	}
}

/*
 * TORUSMM_READ and TORUSMM_WRITE copy straight between the frames and the
 * caller's buffer, once per byte, faulting the buffer in with no space lock
 * held when it is not there.  What a call must leave when it fails with
 * EFAULT: the space's entries (accessed and dirty bits, frames) and
 * statistics, compared here over the tests' window.
 */
struct rw_state {
	struct torusmm_pte ptes[64];
	__u32 nr;
	struct torusmm_space_stats stats;
};

static void rw_state_take(struct __test_metadata *_metadata, int fd,
			  struct rw_state *s)
{
	memset(s, 0, sizeof(*s));
	s->nr = ARRAY_SIZE(s->ptes);
	ASSERT_EQ(0, torusmm_dump_ptes(fd, ADDR, 64 * PAGE, s->ptes, &s->nr));
	ASSERT_EQ(0, torusmm_stats(fd, &s->stats));
}

static void expect_rw_state_same(struct __test_metadata *_metadata, int fd,
				 const struct rw_state *before,
				 const char *what)
{
	struct rw_state after;
	__u32 i;

	rw_state_take(_metadata, fd, &after);
	EXPECT_EQ(before->nr, after.nr) TH_LOG("%s: entries appeared", what);
	for (i = 0; i < before->nr && i < after.nr; i++) {
		EXPECT_EQ(before->ptes[i].addr, after.ptes[i].addr);
		EXPECT_EQ(before->ptes[i].pte, after.ptes[i].pte)
			TH_LOG("%s: the entry of %#x changed", what,
			       after.ptes[i].addr);
	}
	EXPECT_EQ(0, memcmp(&before->stats, &after.stats,
			    sizeof(after.stats)))
		TH_LOG("%s: the statistics changed", what);
}

/* 1 MiB into anonymous memory never touched: faulted in as the copy goes. */
TEST_F_TIMEOUT(shadow, read_of_1mib_into_a_fresh_buffer_copies_every_byte, 120)
{
	const size_t len = TORUSMM_RW_MAX;
	unsigned char *pattern, *fresh;
	struct torusmm_rw rw;
	size_t i;

	map(_metadata, self->fd, ADDR, len, RW, FIXED);
	pattern = malloc(len);
	ASSERT_TRUE(!!pattern);
	for (i = 0; i < len; i++)
		pattern[i] = (unsigned char)(i * 131 + (i >> 12));
	ASSERT_EQ(0, torusmm_write(self->fd, ADDR, pattern, len, USER, &rw));
	EXPECT_EQ(len, rw.done);

	fresh = mmap(NULL, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(fresh != MAP_FAILED);
	memset(&rw, 0xa5, sizeof(rw));
	ASSERT_EQ(0, torusmm_read(self->fd, ADDR, fresh, len, USER, &rw));
	EXPECT_EQ(len, rw.done);
	EXPECT_EQ(0, rw.fault);
	EXPECT_EQ(0, rw.fault_addr);
	EXPECT_EQ(0, memcmp(fresh, pattern, len));
	munmap(fresh, len);

	/* and WRITE from a fresh buffer: zeroes, every byte of them */
	fresh = mmap(NULL, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(fresh != MAP_FAILED);
	ASSERT_EQ(0, torusmm_write(self->fd, ADDR, fresh, len, USER, &rw));
	EXPECT_EQ(len, rw.done);
	ASSERT_EQ(0, torusmm_read(self->fd, ADDR, pattern, len, USER, &rw));
	for (i = 0; i < len && !pattern[i]; i++)
		;
	EXPECT_EQ(len, i) TH_LOG("byte %zu is %#x", i, pattern[i]);
	munmap(fresh, len);
	free(pattern);
}

/* TORUSMM_RW_MAX is the longest copy; length 0 needs no buffer at all. */
TEST_F_TIMEOUT(shadow, read_and_write_lengths_up_to_rw_max, 120)
{
	unsigned char *buf = malloc(TORUSMM_RW_MAX + PAGE);
	struct torusmm_rw rw;
	struct rw_state before;

	ASSERT_TRUE(!!buf);
	map(_metadata, self->fd, ADDR, TORUSMM_RW_MAX + 2 * PAGE, RW, FIXED);
	EXPECT_EQ(0, torusmm_write(self->fd, ADDR, buf, TORUSMM_RW_MAX, 0,
				   &rw));
	EXPECT_EQ(TORUSMM_RW_MAX, rw.done);
	EXPECT_EQ(0, torusmm_read(self->fd, ADDR + 1, buf, TORUSMM_RW_MAX, 0,
				  &rw));
	EXPECT_EQ(TORUSMM_RW_MAX, rw.done);

	rw_state_take(_metadata, self->fd, &before);
	EXPECT_EQ(-EINVAL, torusmm_read(self->fd, ADDR, buf,
					TORUSMM_RW_MAX + 1, 0, &rw));
	EXPECT_EQ(-EINVAL, torusmm_write(self->fd, ADDR, buf,
					 TORUSMM_RW_MAX + 1, 0, &rw));
	memset(&rw, 0xa5, sizeof(rw));
	EXPECT_EQ(0, torusmm_read(self->fd, ADDR, NULL, 0, USER, &rw));
	EXPECT_EQ(0, rw.done);
	EXPECT_EQ(0, rw.fault);
	EXPECT_EQ(0, rw.fault_addr);
	EXPECT_EQ(0, torusmm_write(self->fd, ADDR + TORUSMM_RW_MAX + 8 * PAGE,
				   NULL, 0, USER, &rw));
	EXPECT_EQ(0, rw.done);
	expect_rw_state_same(_metadata, self->fd, &before,
			     "RW_MAX + 1 and length 0");
	free(buf);
}

/*
 * The buffer may be a shadow of the space itself: another page of it, the
 * very page being read (the frame copied onto itself), and a page the read
 * maps to the zero frame while its shadow store needs a frame of its own.
 */
TEST_F_TIMEOUT(shadow, read_into_a_shadow_of_the_same_space, 60)
{
	static const char msg[] = "page 0 says hello to page 2";
	char back[64], *p;
	struct torusmm_rw rw;
	unsigned int i;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	fill(_metadata, self->fd, ADDR, msg, sizeof(msg));
	fill(_metadata, self->fd, ADDR + PAGE + 40, msg, sizeof(msg));
	p = shadow(_metadata, self->fd, ADDR, 4 * PAGE, PROT_RW);

	/* page 0 into page 2, which has no frame nor hardware entry yet */
	ASSERT_EQ(0, torusmm_read(self->fd, ADDR, p + 2 * PAGE + 8,
				  sizeof(msg), USER, &rw));
	EXPECT_EQ(sizeof(msg), rw.done);
	slurp(_metadata, self->fd, ADDR + 2 * PAGE + 8, back, sizeof(msg));
	EXPECT_STREQ(msg, back);
	EXPECT_EQ(P_A | P_D, pte_of(_metadata, self->fd, ADDR + 2 * PAGE) &
			     (P_A | P_D));

	/* page 1 onto itself, the whole page */
	ASSERT_EQ(0, torusmm_read(self->fd, ADDR + PAGE, p + PAGE, PAGE, USER,
				  &rw));
	EXPECT_EQ(PAGE, rw.done);
	slurp(_metadata, self->fd, ADDR + PAGE + 40, back, sizeof(msg));
	EXPECT_STREQ(msg, back);
	EXPECT_STREQ(msg, p + PAGE + 40);

	/*
	 * page 3, never touched: the read maps the zero frame, the store
	 * through the shadow then needs a frame; the bytes stay zero
	 */
	ASSERT_EQ(0, torusmm_read(self->fd, ADDR + 3 * PAGE, p + 3 * PAGE,
				  PAGE, USER, &rw));
	EXPECT_EQ(PAGE, rw.done);
	for (i = 0; i < PAGE && !p[3 * PAGE + i]; i++)
		;
	EXPECT_EQ(PAGE, i);
	EXPECT_NE(ZERO_TPA, pte_of(_metadata, self->fd, ADDR + 3 * PAGE) &
			    TORUSMM_PTE_FRAME_MASK);
	EXPECT_EQ(4, stats_of(_metadata, self->fd).nr_data_frames);
}

/* The buffer may be a shadow of another space. */
TEST_F_TIMEOUT(shadow, read_into_a_shadow_of_another_space, 60)
{
	static const char msg[] = "from one space into another";
	int other = torusmm_create_space(self->dev, self->torus,
					 TORUSMM_NO_QUOTA);
	char back[64], *p;
	struct torusmm_rw rw;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	ASSERT_LE(0, other);
	catch_faults();
	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED);
	map(_metadata, other, ADDR, 2 * PAGE, RW, FIXED);
	fill(_metadata, self->fd, ADDR + 100, msg, sizeof(msg));
	p = shadow(_metadata, other, ADDR, 2 * PAGE, PROT_RW);
	ASSERT_EQ(0, torusmm_read(self->fd, ADDR + 100, p + PAGE - 10,
				  sizeof(msg), USER, &rw));
	EXPECT_EQ(sizeof(msg), rw.done);
	slurp(_metadata, other, ADDR + PAGE - 10, back, sizeof(msg));
	EXPECT_STREQ(msg, back);
	EXPECT_STREQ(msg, p + PAGE - 10);
	/* and back again, WRITE from the other space's shadow */
	ASSERT_EQ(0, torusmm_write(self->fd, ADDR + 200, p + PAGE - 10,
				   sizeof(msg), USER, &rw));
	slurp(_metadata, self->fd, ADDR + 200, back, sizeof(msg));
	EXPECT_STREQ(msg, back);
	munmap(p, 2 * PAGE);
	close(other);
}

/* WRITE from a shadow of the same space: another page, and the same one. */
TEST_F_TIMEOUT(shadow, write_from_a_shadow_of_the_same_space, 60)
{
	static const char msg[] = "copied from the shadow of page 0";
	char back[64], *p;
	struct torusmm_rw rw;
	unsigned int i;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	catch_faults();
	map(_metadata, self->fd, ADDR, 4 * PAGE, RW, FIXED);
	fill(_metadata, self->fd, ADDR + 16, msg, sizeof(msg));
	p = shadow(_metadata, self->fd, ADDR, 4 * PAGE, PROT_RW);

	ASSERT_EQ(0, torusmm_write(self->fd, ADDR + 2 * PAGE, p + 16,
				   sizeof(msg), USER, &rw));
	EXPECT_EQ(sizeof(msg), rw.done);
	slurp(_metadata, self->fd, ADDR + 2 * PAGE, back, sizeof(msg));
	EXPECT_STREQ(msg, back);
	/* page 0 onto itself */
	ASSERT_EQ(0, torusmm_write(self->fd, ADDR, p, PAGE, USER, &rw));
	EXPECT_EQ(PAGE, rw.done);
	slurp(_metadata, self->fd, ADDR + 16, back, sizeof(msg));
	EXPECT_STREQ(msg, back);
	/* page 3, never touched, onto itself: zeroes, now in a frame */
	ASSERT_EQ(0, torusmm_write(self->fd, ADDR + 3 * PAGE, p + 3 * PAGE,
				   PAGE, USER, &rw));
	EXPECT_EQ(PAGE, rw.done);
	for (i = 0; i < PAGE && !p[3 * PAGE + i]; i++)
		;
	EXPECT_EQ(PAGE, i);
	EXPECT_EQ(P_A | P_D, pte_of(_metadata, self->fd, ADDR + 3 * PAGE) &
			     (P_A | P_D));
}

/*
 * A buffer the caller cannot write (READ) or read (WRITE) is EFAULT before
 * the space is touched: no frame, no zero frame, no accessed or dirty bit,
 * no counter moves.  Page 0 is populated (a frame, neither accessed nor
 * dirty), page 1 never touched.
 */
TEST_F_TIMEOUT(shadow, a_bad_buffer_is_efault_and_leaves_the_space, 60)
{
	unsigned char *ro, *none, *half;
	struct rw_state before;
	struct torusmm_rw rw;
	__u32 pte;

	map(_metadata, self->fd, ADDR, PAGE, RW, FIXED | POPULATE);
	map(_metadata, self->fd, ADDR + PAGE, PAGE, RW, FIXED);
	pte = pte_of(_metadata, self->fd, ADDR);
	ASSERT_EQ(0, pte & (P_A | P_D));
	ro = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	none = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	half = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(ro != MAP_FAILED && none != MAP_FAILED &&
		    half != MAP_FAILED);
	half[0] = 1;
	ASSERT_EQ(0, munmap(half + PAGE, PAGE));
	rw_state_take(_metadata, self->fd, &before);

	EXPECT_EQ(-EFAULT, torusmm_read(self->fd, ADDR, ro, 64, USER, &rw));
	EXPECT_EQ(-EFAULT, torusmm_read(self->fd, ADDR + PAGE, ro, 64, USER,
					&rw));
	EXPECT_EQ(-EFAULT, torusmm_read(self->fd, ADDR, ro, 2 * PAGE, 0,
					&rw));
	EXPECT_EQ(-EFAULT, torusmm_read(self->fd, ADDR, none, 8, USER, &rw));
	EXPECT_EQ(-EFAULT, torusmm_write(self->fd, ADDR, none, 8, USER, &rw));
	EXPECT_EQ(-EFAULT, torusmm_write(self->fd, ADDR + PAGE, none, PAGE,
					 USER, &rw));
	/* valid for the first half, then unmapped */
	EXPECT_EQ(-EFAULT, torusmm_read(self->fd, ADDR, half, 2 * PAGE, USER,
					&rw));
	EXPECT_EQ(-EFAULT, torusmm_write(self->fd, ADDR, half, 2 * PAGE,
					 USER, &rw));
	EXPECT_EQ(-EFAULT, torusmm_read(self->fd, ADDR + PAGE, half,
					PAGE + 1, USER, &rw));
	EXPECT_EQ(-EFAULT, torusmm_write(self->fd, ADDR + PAGE, half,
					 PAGE + 1, USER, &rw));
	expect_rw_state_same(_metadata, self->fd, &before, "bad buffers");
	EXPECT_EQ(1, half[0]);
	munmap(ro, 2 * PAGE);
	munmap(none, 2 * PAGE);
	munmap(half, PAGE);
}

/*
 * A shadow the client maps read-write over a read-only region is a writable
 * mapping whose stores fail their fault: the check before the copy cannot
 * see that, so a READ into it is EFAULT only when the copy gets there, and
 * (section 7.10) the pages before were walked and copied, as for ENOMEM.
 * Here page 0 goes to anonymous memory, page 1 to such a shadow.
 */
TEST_F_TIMEOUT(shadow, read_into_a_shadow_that_refuses_stores_is_efault, 60)
{
	static const char msg[] = "page 0 reaches the anonymous page";
	int other = torusmm_create_space(self->dev, self->torus,
					 TORUSMM_NO_QUOTA);
	struct torusmm_rw rw;
	char *buf, *p;

	if (!self->has_shadow)
		SKIP(return, NO_SHADOW);
	ASSERT_LE(0, other);
	catch_faults();
	map(_metadata, self->fd, ADDR, 2 * PAGE, RW, FIXED);
	fill(_metadata, self->fd, ADDR, msg, sizeof(msg));
	map(_metadata, other, ADDR, PAGE, R, FIXED);
	buf = mmap(NULL, 2 * PAGE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(buf != MAP_FAILED);
	p = mmap(buf + PAGE, PAGE, PROT_RW, MAP_SHARED | MAP_FIXED, other,
		 ADDR);
	ASSERT_TRUE(p == buf + PAGE);
	EXPECT_EQ(-EFAULT, torusmm_read(self->fd, ADDR, buf, 2 * PAGE, USER,
					&rw));
	EXPECT_STREQ(msg, buf) TH_LOG("page 0 was not copied");
	EXPECT_EQ(0, pte_of(_metadata, other, ADDR))
		TH_LOG("the refused store took a frame in the other space");
	/* one page less: all of it lands */
	memset(buf, 0, PAGE);
	EXPECT_EQ(0, torusmm_read(self->fd, ADDR, buf, PAGE, USER, &rw));
	EXPECT_STREQ(msg, buf);
	munmap(buf, 2 * PAGE);
	close(other);
}

TEST_HARNESS_MAIN
