// SPDX-License-Identifier: GPL-2.0
/*
 * A syzkaller-style fuzzer for /dev/torusmm, checked against a model.
 *
 * Random ioctls, most of them aimed where bugs live (region edges, the whole
 * user window and one page more, the kernel half, wrapping ranges, reserved
 * bits, NULL, unmapped and read-only user pointers, short dump buffers, armed
 * fault points), run against a few address spaces.  In single-threaded
 * phases each space has a model built from Documentation/torusmm-api.rst
 * alone: its regions, break and stack, which pages hold frames (their
 * entries, accessed and dirty bits included) and what those pages hold, its
 * counters, and the frames of every torus.  After each operation the
 * space's TORUSMM_GET_STATS, TORUSMM_DUMP_REGIONS and TORUSMM_DUMP_PTES and
 * every torus's TORUSMM_GET_TORUS_INFO must equal the model; an operation
 * that fails with ENOMEM, whether a fault point or a quota made it fail,
 * must leave all of that as it was.
 *
 * Multi-threaded phases (threads on one space, a forked child on it, a close
 * racing long ioctls, a store through a shadow racing an ioctl that takes
 * write away) work on spaces of their own, so their non-determinism never
 * reaches the model.  They check invariants only: no crash, dumps well
 * formed, regions sorted, disjoint and inside [TORUSMM_USER_MIN,
 * TORUSMM_STACK_TOP), counters that add up once the threads are done, and
 * no write permission that outlives the ioctl that took it away.
 *
 * What the main thread does follows from the seed alone, which is printed
 * first: a mismatch is replayed with the same --seed and --threads and
 * --ops one past the op index it reports.  The last line is
 *
 *	fuzz: seed S, N ops, R ops/s, M model mismatches, F frames lost
 *
 * where M counts the ops the kernel and the model disagreed on (and the
 * invariants the multi-threaded phases found broken), and F the frames
 * missing from the tori once every space is closed.  The exit status is
 * non-zero when M or F is, or something else went wrong; a run stuck in the
 * kernel for two minutes names its op and exits.  Built static for 64-bit
 * into tests/out/fuzz/, away from the selftests the VM plans run.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libtorusmm.h"

#define PAGE		((__u64)TORUSMM_PAGE_SIZE)
#define USER_MIN	((__u64)TORUSMM_USER_MIN)
#define HEAP_START	((__u64)TORUSMM_HEAP_START)
#define STACK_TOP	((__u64)TORUSMM_STACK_TOP)
#define MMAP_BASE	(STACK_TOP - TORUSMM_STACK_LIMIT)
#define KERNEL_BASE	((__u64)TORUSMM_KERNEL_BASE)
#define SZ_4G		0x100000000ull
#define U32_LIMIT	0xffffffffull
#define SLOT_SHIFT	22		/* a page table covers 4 MiB */
#define NR_SLOTS	1024
#define NR_ENTRIES	1024

#define TP_R		TORUSMM_PROT_READ
#define TP_W		TORUSMM_PROT_WRITE
#define TP_X		TORUSMM_PROT_EXEC
#define TP_RW		(TP_R | TP_W)
#define TP_MASK		(TP_R | TP_W | TP_X)
#define MAP_MASK	(TORUSMM_MAP_FIXED | TORUSMM_MAP_FIXED_NOREPLACE | \
			 TORUSMM_MAP_POPULATE)
#define ACC_W		TORUSMM_ACCESS_WRITE
#define ACC_U		TORUSMM_ACCESS_USER
#define ACC_X		TORUSMM_ACCESS_EXEC
#define ACC_MASK	(ACC_W | ACC_U | ACC_X)
#define PTE_P		TORUSMM_PTE_PRESENT
#define PTE_W		TORUSMM_PTE_WRITABLE
#define PTE_U		TORUSMM_PTE_USER
#define PTE_A		TORUSMM_PTE_ACCESSED
#define PTE_D		TORUSMM_PTE_DIRTY
#define PTE_NX		TORUSMM_PTE_NX
#define PTE_PN		TORUSMM_PTE_PROTNONE
#define PTE_COW		TORUSMM_PTE_COW
#define ZERO_TPA	TORUSMM_ZERO_FRAME_TPA
#define PTE_FLAGS	(~TORUSMM_PTE_FRAME_MASK)
#define HOLDS_FRAME	(PTE_P | PTE_PN)

#define MAX_SPACES	6	/* modelled spaces at once */
#define MAX_FDS		3	/* descriptors of one modelled space */
#define MAX_TORI	16
#define MAX_THREADS	16
#define MAX_DETAILS	12	/* lines printed for one mismatch */
#define STACK_GAP	(256 * PAGE)	/* stack_guard_gap */
#define BIG		(TORUSMM_RW_MAX + 2 * PAGE)
#define PARAMS		"/sys/module/torusmm/parameters/"
#define FAULTS		"/sys/kernel/debug/torusmm/"

static __u64 page_align(__u64 x)
{
	return (x + PAGE - 1) & ~(PAGE - 1);
}

static __u64 min_u64(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

/* ---- Randomness: xoshiro256**, seeded through splitmix64 ---- */

struct rng {
	__u64 s[4];
};

static __u64 splitmix64(__u64 *x)
{
	__u64 z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Stream @stream of @seed: each thread and phase draws from its own. */
static void rng_seed(struct rng *r, __u64 seed, __u64 stream)
{
	__u64 x = seed ^ (stream * 0xd1342543de82ef95ull);
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static __u64 rotl(__u64 x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static __u64 rng_next(struct rng *r)
{
	__u64 result = rotl(r->s[1] * 5, 7) * 9, t = r->s[1] << 17;

	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = rotl(r->s[3], 45);
	return result;
}

/* Uniform in [0, n); 0 when n is 0. */
static __u64 rnd(struct rng *r, __u64 n)
{
	return n ? rng_next(r) % n : 0;
}

static bool chance(struct rng *r, unsigned int percent)
{
	return rnd(r, 100) < percent;
}

static void rng_fill(struct rng *r, void *buf, size_t len)
{
	unsigned char *p = buf;
	__u64 v;

	while (len >= 8) {
		v = rng_next(r);
		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	v = rng_next(r);
	memcpy(p, &v, len);
}

/* ---- Expected results: a set of errnos and whether success is allowed ---- */

enum {
	E_EPERM = 1 << 0,
	E_ENOMEM = 1 << 1,
	E_EFAULT = 1 << 2,
	E_EINVAL = 1 << 3,
	E_EEXIST = 1 << 4,
	E_E2BIG = 1 << 5,
	E_EMFILE = 1 << 6,
	E_ENOTTY = 1 << 7,
	E_EBADF = 1 << 8,
};

static unsigned int errbit(int err)
{
	switch (err) {
	case EPERM: return E_EPERM;
	case ENOMEM: return E_ENOMEM;
	case EFAULT: return E_EFAULT;
	case EINVAL: return E_EINVAL;
	case EEXIST: return E_EEXIST;
	case E2BIG: return E_E2BIG;
	case EMFILE: return E_EMFILE;
	case ENOTTY: return E_ENOTTY;
	case EBADF: return E_EBADF;
	}
	return 0;	/* EAGAIN, ENOENT and the like: never allowed */
}

struct expect {
	unsigned int errs;	/* E_* the call may fail with */
	bool ok;		/* whether it may succeed */
};

static bool expect_allows(const struct expect *e, int ret)
{
	return ret >= 0 ? e->ok : !!(e->errs & errbit(-ret));
}

static const char *ret_str(int ret, char *buf, size_t len)
{
	return torusmm_strret(ret, buf, len);
}

static const char *expect_str(const struct expect *e, char *buf, size_t len)
{
	static const char *const names[] = {
		"EPERM", "ENOMEM", "EFAULT", "EINVAL", "EEXIST", "E2BIG",
		"EMFILE", "ENOTTY", "EBADF",
	};
	size_t used = 0;
	unsigned int i;

	buf[0] = 0;
	if (e->ok)
		used += snprintf(buf + used, len - used, "success");
	for (i = 0; i < ARRAY_SIZE(names) && used < len; i++)
		if (e->errs & (1u << i))
			used += snprintf(buf + used, len - used, "%s-%s",
					 used ? " or " : "", names[i]);
	return buf;
}

/* ---- The model of one address space ---- */

/*
 * A data frame of a torus, which clones may share: its entries (one per
 * space that maps it) hold a reference each, and it returns to the torus
 * with the last.
 */
struct mframe {
	unsigned int refs;
	__u32 tpa;		/* once a dump or translation showed it */
};

struct mpage {
	__u32 pte;		/* flags of an entry that holds a frame; 0: none */
	struct mframe *frame;	/* NULL for the shared zero frame */
	unsigned char *data;	/* its bytes; NULL while they are all zero */
};

struct mtable {
	struct mpage e[NR_ENTRIES];
	unsigned int count;	/* entries that hold a frame */
};

struct mregion {
	__u32 start;
	__u32 end;
	__u32 prot;
};

struct mspace {
	unsigned int id;	/* stable name in reports: "space 3" */
	int fds[MAX_FDS];
	unsigned int nr_fds;
	unsigned int dev_gen;	/* the open of the device it counts against */
	__u32 torus;
	__u32 max_frames;
	__u32 brk;
	__u32 stack_start;
	bool stack_grows;	/* its lowest page was never unmapped */
	struct mregion *regions;
	unsigned int nr_regions;
	unsigned int cap_regions;
	struct mtable *tables[NR_SLOTS];
	__u32 nr_pages;		/* entries that map a data frame (shared too) */
	__u32 nr_tables;	/* the directory and the tables */
	__u64 nr_faults;
	__u64 nr_fault_errors;
	__u64 nr_translations;
	bool dirty;		/* touched by the current op: check it */
	bool broken;		/* the kernel disagreed: drop it */
};

/* What an op generator knows of a space: the model's, or a snapshot's. */
struct view {
	const struct mregion *regions;
	unsigned int nr;
	__u32 brk;
	__u32 stack_start;
};

struct mtorus {
	__u32 nr_frames;
	__u64 allocs;
	__u64 words_scanned;
	__u32 high_water;
	long used_offset;	/* frames the kernel holds that no model does */
	long tables_offset;
	long spaces_offset;
	__u64 nr_data;		/* data frames the models map, counted once */
	struct mframe **owned;	/* data frames the model has seen, by index */
};

/* A space as the kernel shows it: stats and both dumps. */
struct snap {
	struct torusmm_space_stats stats;
	struct torusmm_region *regions;
	__u32 nr_regions;
	__u32 cap_regions;
	struct torusmm_pte *ptes;
	__u32 nr_ptes;
	__u32 cap_ptes;
};

/*
 * Where complaints go: in the main thread's single-threaded phases to the
 * op's mismatch report, elsewhere to a numbered line and a count.
 */
struct sink {
	bool main;
	const char *who;
	unsigned long count;
};

enum fault_mode { ARM_NONE, ARM_DEBUGFS, ARM_FAIL_NTH };

struct armed {
	enum fault_mode mode;
	int site;
	unsigned int nth;
};

static const char *const fault_sites[] = {
	"fail_frame", "fail_table", "fail_slab", "fail_tree",
};

#define NR_SITES ARRAY_SIZE(fault_sites)

struct fault_knobs {
	int probability;
	int interval;
	int times;
	int space;
};

static struct {
	/* options */
	__u64 seed;
	__u64 nr_ops;
	unsigned int threads;
	unsigned int check_every;
	unsigned int time_limit;
	unsigned int progress;
	unsigned long max_reports;	/* mismatches printed in full */
	bool trace;
	bool no_faults;
	long set_max_regions;	/* -1: by the seed, 0: leave alone */
	long set_user_frames;
	char replay_extra[128];
	const char *argv0;

	/* the run */
	struct rng rng;
	__u64 ops_done;
	__u64 op_index;
	char op_desc[768];
	bool op_mismatched;
	unsigned int op_details;
	unsigned long mismatches;
	unsigned long reported;
	unsigned long failures;	/* things that went wrong besides */
	struct timespec started;
	time_t last_progress;
	__u64 ioctls;		/* atomic: threads add to it */
	__u64 injected;
	__u64 injected_enomem;
	__u64 phases[5];
	__u64 race_calls;
	__u64 results[12];	/* single-threaded ops: 0, 1, then by errno */
	bool batch;		/* TORUSMM_CAP_BATCH */
	bool via_batch;		/* the next op goes through TORUSMM_BATCH */
	__u64 batches;		/* ops that did */
	__u64 batch_ops;	/* ops in their vectors */

	/* the kernel */
	int dev;
	unsigned int dev_gen;
	unsigned int nr_tori;
	struct mtorus tori[MAX_TORI];
	struct mspace *spaces[MAX_SPACES];
	unsigned int nr_spaces;
	unsigned int next_id;

	/* module parameters: -1 when the module has no such parameter */
	long p_max_frames;
	long p_user_max_frames;
	long p_max_spaces;
	long p_max_regions;
	long saved_max_regions;
	long saved_user_frames;

	/* fault points */
	bool have_debugfs;
	bool have_fail_nth;
	struct fault_knobs knobs[NR_SITES];
	int fail_nth_fd;

	/* user memory for bad pointers and buffers */
	unsigned char *arena;	/* RW | RO | PROT_NONE | unmapped */
	unsigned char *big;	/* BIG bytes, then a PROT_NONE guard */
	unsigned char *robig;	/* read-only, TORUSMM_RW_MAX + PAGE */
	unsigned char argbuf[PAGE];
	struct snap snap;
	struct mregion *scratch;
	unsigned int cap_scratch;
	pthread_mutex_t print_lock;
} g = {
	.fail_nth_fd = -1,
	.dev = -1,
	.print_lock = PTHREAD_MUTEX_INITIALIZER,
};

static void count_ioctl(void)
{
	__atomic_add_fetch(&g.ioctls, 1, __ATOMIC_RELAXED);
}

/* ioctl(2), counted, with the result as a value or -errno. */
static int xioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	count_ioctl();
	ret = ioctl(fd, cmd, arg);
	return ret < 0 ? -errno : ret;
}

static double elapsed(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - g.started.tv_sec) +
	       (now.tv_nsec - g.started.tv_nsec) / 1e9;
}

/* ---- Reports ---- */

static void locked_printf(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&g.print_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&g.print_lock);
}

/* Name the op about to run: the report of any mismatch repeats it. */
static void op_begin(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g.op_desc, sizeof(g.op_desc), fmt, ap);
	va_end(ap);
	g.op_mismatched = false;
	g.op_details = 0;
	if (g.trace)
		printf("op %llu: %s\n", (unsigned long long)g.op_index,
		       g.op_desc);
}

/* Append to the op's description (what was armed, say). */
static void op_note(const char *fmt, ...)
{
	size_t used = strlen(g.op_desc);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g.op_desc + used, sizeof(g.op_desc) - used, fmt, ap);
	va_end(ap);
}

/*
 * The kernel and the model disagree on the current op.  One op counts once
 * however many lines it needs; the first MAX_REPORTS ops are printed with
 * what is needed to replay them.
 */
static void vmismatch(const char *fmt, va_list ap)
{
	if (!g.op_mismatched) {
		g.op_mismatched = true;
		g.mismatches++;
		if (g.reported++ < g.max_reports) {
			printf("MISMATCH %lu at op %llu (seed %llu): %s\n",
			       g.mismatches, (unsigned long long)g.op_index,
			       (unsigned long long)g.seed, g.op_desc);
			printf("  replay: %s --seed %llu --ops %llu --threads %u%s\n",
			       g.argv0, (unsigned long long)g.seed,
			       (unsigned long long)g.op_index + 1, g.threads,
			       g.replay_extra);
		}
	}
	if (g.reported > g.max_reports || g.op_details++ >= MAX_DETAILS)
		return;
	printf("  ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

static void mismatch(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmismatch(fmt, ap);
	va_end(ap);
}

static void complain(struct sink *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	if (s->main) {
		vmismatch(fmt, ap);
		va_end(ap);
		return;
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (s->count++ < 5)
		locked_printf("INVARIANT (seed %llu, %s): %s\n",
			      (unsigned long long)g.seed, s->who, line);
}

/* Something went wrong that is not the kernel's answer to an op. */
static void trouble(const char *fmt, ...)
{
	va_list ap;

	g.failures++;
	pthread_mutex_lock(&g.print_lock);
	printf("torusmm_fuzz: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&g.print_lock);
}

/* ---- Module parameters and fault points ---- */

static long param_read(const char *name)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 0);
}

static bool param_write(const char *name, long value)
{
	char path[128], buf[32];
	bool ok;
	int fd, n;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return false;
	n = snprintf(buf, sizeof(buf), "%ld", value);
	ok = write(fd, buf, n) == n;
	close(fd);
	return ok;
}

/*
 * debugfs attributes are not seekable (no pwrite, no pread), and a read
 * that reached the end stays there: write with write(), read from a fresh
 * open of the same file.
 */
static void knob_write(int fd, long long value)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld", value);

	if (fd >= 0 && write(fd, buf, n) != n)
		trouble("cannot write %lld to a fault knob: %s", value,
			strerror(errno));
}

static long long knob_read(int fd)
{
	char path[64], buf[32];
	ssize_t n;
	int rfd;

	if (fd < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	if (rfd < 0)
		return -1;
	n = read(rfd, buf, sizeof(buf) - 1);
	close(rfd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtoll(buf, NULL, 0);
}

static int knob_open(const char *site, const char *knob)
{
	char path[128];

	snprintf(path, sizeof(path), FAULTS "%s/%s", site, knob);
	return open(path, O_RDWR | O_CLOEXEC);
}

/*
 * Find the module's fault points.  Their verbose knob must be 0, as
 * scripts/check-log.py reads any injected-failure message as a splat; this
 * program only reads it.
 */
static void faults_init(void)
{
	unsigned int i;
	int fd;

	if (g.no_faults)
		return;
	g.have_debugfs = true;
	for (i = 0; i < NR_SITES; i++) {
		struct fault_knobs *k = &g.knobs[i];

		k->probability = knob_open(fault_sites[i], "probability");
		k->interval = knob_open(fault_sites[i], "interval");
		k->times = knob_open(fault_sites[i], "times");
		k->space = knob_open(fault_sites[i], "space");
		fd = knob_open(fault_sites[i], "verbose");
		if (k->probability < 0 || k->interval < 0 || k->times < 0 ||
		    k->space < 0 || fd < 0) {
			g.have_debugfs = false;
		} else if (knob_read(fd) != 0) {
			trouble("%s/verbose is not 0: not arming the fault points",
				fault_sites[i]);
			g.have_debugfs = false;
		}
		if (fd >= 0)
			close(fd);
	}
	/* /proc/thread-self is the main thread: it alone arms this. */
	g.fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	g.have_fail_nth = g.have_debugfs && g.fail_nth_fd >= 0;
}

static void fault_site_off(int site)
{
	struct fault_knobs *k = &g.knobs[site];

	knob_write(k->probability, 0);
	knob_write(k->space, 0);
	knob_write(k->interval, 1);
	knob_write(k->times, 1);
}

static void faults_off(void)
{
	unsigned int i;

	if (!g.have_debugfs)
		return;
	for (i = 0; i < NR_SITES; i++)
		fault_site_off(i);
}

/*
 * Make the nth allocation the module asks a fault point about fail, once:
 * through a site's knobs (space skips nth - 1 calls, times allows one
 * failure), or through this thread's /proc fail-nth, which counts the calls
 * of every site.  Both are deterministic, unlike a probability.
 */
static void fault_arm(struct rng *r, struct armed *a)
{
	struct fault_knobs *k;

	a->mode = ARM_NONE;
	if (!g.have_debugfs)
		return;
	a->nth = 1 + (chance(r, 60) ? rnd(r, 3) : rnd(r, 40));
	if (g.have_fail_nth && chance(r, 35)) {
		a->mode = ARM_FAIL_NTH;
		knob_write(g.fail_nth_fd, a->nth);
		op_note(" [fail-nth %u]", a->nth);
		return;
	}
	a->mode = ARM_DEBUGFS;
	a->site = rnd(r, NR_SITES);
	k = &g.knobs[a->site];
	knob_write(k->probability, 0);
	knob_write(k->interval, 1);
	knob_write(k->space, a->nth - 1);
	knob_write(k->times, 1);
	/* Last, so the point is complete before it can fire. */
	knob_write(k->probability, 100);
	op_note(" [%s after %u]", fault_sites[a->site], a->nth - 1);
}

/* Disarm; return whether the armed failure happened. */
static bool fault_disarm(struct armed *a)
{
	bool fired = false;

	switch (a->mode) {
	case ARM_NONE:
		return false;
	case ARM_FAIL_NTH:
		fired = knob_read(g.fail_nth_fd) == 0;
		knob_write(g.fail_nth_fd, 0);
		break;
	case ARM_DEBUGFS:
		fired = knob_read(g.knobs[a->site].times) == 0;
		fault_site_off(a->site);
		break;
	}
	a->mode = ARM_NONE;
	if (fired) {
		g.injected++;
		op_note(" [fired]");
	}
	return fired;
}

/* ---- User memory: good and bad pointers ---- */

enum ptr_kind {
	PTR_GOOD,
	PTR_NULL,
	PTR_UNMAPPED,
	PTR_PROT_NONE,
	PTR_RDONLY,
	PTR_RDONLY_TAIL,	/* readable; its tail is not writable */
	PTR_UNREADABLE_TAIL,	/* its tail is PROT_NONE */
	PTR_KERNEL,
	NR_PTR_KINDS,
};

static const char *const ptr_names[] = {
	"good", "NULL", "unmapped", "PROT_NONE", "read-only",
	"read-only tail", "unreadable tail", "kernel address",
};

/* What an ioctl does with its argument: reads it, writes it, or both. */
enum arg_dir { ARG_IN, ARG_OUT, ARG_INOUT };

static bool ptr_works(enum ptr_kind k, enum arg_dir d)
{
	bool readable = k == PTR_GOOD || k == PTR_RDONLY ||
			k == PTR_RDONLY_TAIL;

	switch (d) {
	case ARG_IN:
		return readable;
	case ARG_OUT:
	case ARG_INOUT:
		return k == PTR_GOOD;
	}
	return false;
}

static enum ptr_kind pick_ptr(struct rng *r)
{
	return chance(r, 95) ? PTR_GOOD : 1 + rnd(r, NR_PTR_KINDS - 1);
}

static void *kernel_pointer(void)
{
	return (void *)(uintptr_t)(sizeof(void *) == 8 ?
				   0xffffffff81000000ull : 0xc1000000u);
}

/*
 * The arena: a read-write page, a read-only one, a PROT_NONE one and a hole;
 * a big read-write buffer ending at a PROT_NONE guard; a big read-only one
 * with known bytes.  (The test kernel has no memfd for a writable alias:
 * the read-only page is written between two mprotect() calls.)
 */
static bool memory_init(void)
{
	g.arena = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g.big = mmap(NULL, BIG + PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g.robig = mmap(NULL, TORUSMM_RW_MAX + PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g.arena == MAP_FAILED || g.big == MAP_FAILED ||
	    g.robig == MAP_FAILED)
		return false;
	rng_fill(&g.rng, g.robig, TORUSMM_RW_MAX + PAGE);
	return !mprotect(g.arena + PAGE, PAGE, PROT_READ) &&
	       !mprotect(g.arena + 2 * PAGE, PAGE, PROT_NONE) &&
	       !munmap(g.arena + 3 * PAGE, PAGE) &&
	       !mprotect(g.big + BIG, PAGE, PROT_NONE) &&
	       !mprotect(g.robig, TORUSMM_RW_MAX + PAGE, PROT_READ);
}

/* Write @n bytes at @off of the read-only page. */
static void ro_write(size_t off, const void *src, size_t n)
{
	if (mprotect(g.arena + PAGE, PAGE, PROT_READ | PROT_WRITE)) {
		perror("mprotect");
		exit(2);
	}
	memcpy(g.arena + PAGE + off, src, n);
	if (mprotect(g.arena + PAGE, PAGE, PROT_READ)) {
		perror("mprotect");
		exit(2);
	}
}

/*
 * The argument pointer of kind @k for an ioctl whose argument is @size
 * bytes like @src.  Only PTR_GOOD is meant to be read back.
 */
static void *place_arg(struct rng *r, enum ptr_kind k, const void *src,
		       size_t size)
{
	size_t head;

	switch (k) {
	case PTR_GOOD:
		memcpy(g.argbuf, src, size);
		return g.argbuf;
	case PTR_NULL:
		return NULL;
	case PTR_UNMAPPED:
		return g.arena + 3 * PAGE + rnd(r, PAGE - size);
	case PTR_PROT_NONE:
		return g.arena + 2 * PAGE + rnd(r, PAGE - size);
	case PTR_RDONLY:
		head = rnd(r, PAGE - size);
		ro_write(head, src, size);
		return g.arena + PAGE + head;
	case PTR_RDONLY_TAIL:
		head = 1 + rnd(r, size - 1);
		memcpy(g.arena + PAGE - head, src, head);
		ro_write(0, (const char *)src + head, size - head);
		return g.arena + PAGE - head;
	case PTR_UNREADABLE_TAIL:
		head = 1 + rnd(r, size - 1);
		ro_write(PAGE - head, src, head);
		return g.arena + 2 * PAGE - head;
	case PTR_KERNEL:
	case NR_PTR_KINDS:
		break;
	}
	return kernel_pointer();
}

static const char *const result_names[] = {
	"succeeded", "faulted", "EPERM", "ENOMEM", "EFAULT", "EINVAL",
	"EEXIST", "E2BIG", "EMFILE", "ENOTTY", "EBADF", "other errors",
};

/* What the single-threaded ops returned, to see what a run covered. */
static void count_result(int ret)
{
	unsigned int bit = ret < 0 ? errbit(-ret) : 0, i = 0;

	if (ret >= 0)
		i = ret == 1;
	else if (!bit)
		i = ARRAY_SIZE(result_names) - 1;
	else
		i = 2 + __builtin_ctz(bit);
	g.results[i]++;
}

static int batch_call(int fd, unsigned long cmd, enum ptr_kind k, void *arg,
		      size_t size);

/* Make an ioctl with its argument at a pointer of kind @k; copy it back. */
static int call_arg(int fd, unsigned long cmd, enum ptr_kind k, void *arg,
		    size_t size)
{
	void *p;
	int ret;

	if (g.via_batch) {
		g.via_batch = false;
		ret = batch_call(fd, cmd, k, arg, size);
		if (ret != INT_MIN)
			return ret;
	}
	p = place_arg(&g.rng, k, arg, size);
	ret = xioctl(fd, cmd, p);

	if (k == PTR_GOOD)
		memcpy(arg, g.argbuf, size);
	count_result(ret);
	return ret;
}

/*
 * A bad op for a vector (section 7.16): an unknown op, or @real with its
 * reserved field set.  Either must be -EINVAL and change nothing.
 */
static void batch_bad_op(struct rng *r, const struct torusmm_batch_op *real,
			 struct torusmm_batch_op *op)
{
	*op = *real;
	if (chance(r, 50))
		op->op = chance(r, 30) ? 0 : TORUSMM_OP_MPROTECT + 1 +
					   rnd(r, 1000);
	else
		op->reserved |= 1u << rnd(r, 32);
}

/* The outputs of a batch op, result to pte: garbage on input. */
#define BATCH_OUT_OFF	offsetof(struct torusmm_batch_op, result)
#define BATCH_OUT_LEN	(offsetof(struct torusmm_batch_op, reserved) - \
			 BATCH_OUT_OFF)

/*
 * TORUSMM_BATCH standing in for the single ioctl @cmd: its op goes in a
 * short vector between ops that must fail with EINVAL and change nothing,
 * with or without TORUSMM_BATCH_CONTINUE.  The vector's counts, the bad
 * ops' results and the ops it must not run are checked here; the op's
 * result and outputs are handed back as the single ioctl gives them, for
 * the caller to check against the model as it checks that ioctl.  A bad
 * argument pointer becomes a bad vector pointer, which must be EFAULT with
 * nothing run; then the single ioctl runs as asked.
 * Return: what the single ioctl would have, or INT_MIN when the caller is
 * to make the single ioctl itself (the op did not run).
 */
static int batch_call(int fd, unsigned long cmd, enum ptr_kind k, void *arg,
		      size_t size)
{
	struct rng *r = &g.rng;
	struct torusmm_batch_op v[8], sent[8], real = { 0 };
	struct torusmm_batch hdr = { 0 };
	unsigned int before, after, n, i, want_done, want_failed;
	bool cont = chance(r, 50), ran;
	void *p;
	int ret;

	switch (cmd) {
	case TORUSMM_MMAP: {
		const struct torusmm_mmap *m = arg;

		real = (struct torusmm_batch_op){ .op = TORUSMM_OP_MMAP,
			.addr = m->addr, .length = m->length, .prot = m->prot,
			.flags = m->flags };
		break;
	}
	case TORUSMM_MUNMAP: {
		const struct torusmm_munmap *m = arg;

		real = (struct torusmm_batch_op){ .op = TORUSMM_OP_MUNMAP,
			.addr = m->addr, .length = m->length,
			.flags = m->flags, .reserved = m->reserved };
		break;
	}
	case TORUSMM_MPROTECT: {
		const struct torusmm_mprotect *m = arg;

		real = (struct torusmm_batch_op){ .op = TORUSMM_OP_MPROTECT,
			.addr = m->addr, .length = m->length, .prot = m->prot,
			.flags = m->flags };
		break;
	}
	case TORUSMM_TRANSLATE: {
		const struct torusmm_translate *t = arg;

		real = (struct torusmm_batch_op){ .op = TORUSMM_OP_TRANSLATE,
			.addr = t->addr, .access = t->access,
			.flags = t->flags, .out = t->tpa, .fault = t->fault,
			.pte = t->pte };
		break;
	}
	case TORUSMM_READ:
	case TORUSMM_WRITE: {
		const struct torusmm_rw *rw = arg;

		real = (struct torusmm_batch_op){
			.op = cmd == TORUSMM_READ ? TORUSMM_OP_READ :
						    TORUSMM_OP_WRITE,
			.addr = rw->addr, .length = rw->length, .buf = rw->buf,
			.access = rw->access, .fault = rw->fault,
			.out = rw->done, .fault_addr = rw->fault_addr };
		break;
	}
	default:
		return INT_MIN;
	}
	real.result = (__s32)rng_next(r);	/* out only: ignored */
	g.batches++;

	if (k != PTR_GOOD) {
		/* A vector the kernel cannot read and write: nothing runs. */
		op_note(" via BATCH, vector %s", ptr_names[k]);
		p = place_arg(r, k, &real, sizeof(real));
		hdr.ops = torusmm_ptr(p);
		hdr.count = 1;
		hdr.flags = cont ? TORUSMM_BATCH_CONTINUE : 0;
		ret = xioctl(fd, TORUSMM_BATCH, &hdr);
		g.batch_ops++;
		if (ret != -EFAULT && ret != -ENOMEM)
			mismatch("BATCH with a vector at a %s pointer returned %d, not EFAULT",
				 ptr_names[k], ret);
		return INT_MIN;
	}

	before = chance(r, 30) ? 1 + rnd(r, 3) : 0;
	after = chance(r, 50) ? 1 + rnd(r, 3) : 0;
	n = before + 1 + after;
	for (i = 0; i < n; i++) {
		if (i == before)
			v[i] = real;
		else
			batch_bad_op(r, &real, &v[i]);
		if (i != before)
			rng_fill(r, (char *)&v[i] + BATCH_OUT_OFF,
				 BATCH_OUT_LEN);
	}
	memcpy(sent, v, n * sizeof(v[0]));
	hdr.ops = torusmm_ptr(v);
	hdr.count = n;
	hdr.flags = cont ? TORUSMM_BATCH_CONTINUE : 0;
	hdr.done = rng_next(r);
	hdr.failed = rng_next(r);
	op_note(" via BATCH of %u (op %u)%s", n, before,
		cont ? " CONTINUE" : "");
	g.batch_ops += n;
	ret = xioctl(fd, TORUSMM_BATCH, &hdr);
	if (ret == -ENOMEM) {
		/*
		 * The vector's copy failed (a fault point) before any op was
		 * looked at: nothing ran, and the single ioctl runs instead.
		 */
		if (memcmp(v, sent, n * sizeof(v[0])))
			mismatch("BATCH failed with ENOMEM but wrote its vector");
		return INT_MIN;
	}
	if (ret) {
		mismatch("BATCH of %u ops returned %d", n, ret);
		return INT_MIN;
	}

	ran = cont || !before;
	if (!ran) {
		want_done = 1;
		want_failed = 1;
	} else if (cont) {
		want_done = n;
		want_failed = n - 1 + !!v[before].result;
	} else if (v[before].result) {
		want_done = before + 1;
		want_failed = 1;
	} else {
		want_done = before + 1 + !!after;
		want_failed = !!after;
	}
	if (hdr.done != want_done || hdr.failed != want_failed ||
	    hdr.count != n || hdr.flags != (cont ? TORUSMM_BATCH_CONTINUE : 0))
		mismatch("BATCH: done %u failed %u, expected %u and %u",
			 hdr.done, hdr.failed, want_done, want_failed);
	for (i = 0; i < n; i++) {
		const struct torusmm_batch_op *x = &v[i], *y = &sent[i];
		bool inputs_same = !memcmp(x, y, BATCH_OUT_OFF) &&
				   x->reserved == y->reserved;

		if (i >= hdr.done) {
			if (memcmp(x, y, sizeof(*x)))
				mismatch("BATCH: op %u did not run but was written",
					 i);
			continue;
		}
		if (!inputs_same)
			mismatch("BATCH: op %u's inputs were written", i);
		if (i == before)
			continue;
		if (x->result != -EINVAL || x->fault || x->out ||
		    x->fault_addr || x->pte)
			mismatch("BATCH: bad op %u (%u, %#x): %d %#x %#llx %#llx %#x",
				 i, x->op, x->reserved, x->result, x->fault,
				 (unsigned long long)x->out,
				 (unsigned long long)x->fault_addr, x->pte);
	}
	if (!ran || before >= hdr.done)
		return INT_MIN;

	ret = v[before].result;
	count_result(ret);
	if (ret < 0) {
		if (v[before].fault || v[before].out || v[before].fault_addr ||
		    v[before].pte)
			mismatch("BATCH: the op failed with %d but has outputs",
				 ret);
		return ret;
	}
	switch (cmd) {
	case TORUSMM_MMAP:
		((struct torusmm_mmap *)arg)->addr = v[before].out;
		break;
	case TORUSMM_TRANSLATE: {
		struct torusmm_translate *t = arg;

		t->tpa = v[before].out;
		t->fault = v[before].fault;
		t->pte = v[before].pte;
		break;
	}
	case TORUSMM_READ:
	case TORUSMM_WRITE: {
		struct torusmm_rw *rw = arg;

		rw->done = v[before].out;
		rw->fault = v[before].fault;
		rw->fault_addr = v[before].fault_addr;
		break;
	}
	default:
		if (v[before].out || v[before].fault || v[before].pte ||
		    v[before].fault_addr)
			mismatch("BATCH: outputs of an op that has none");
		break;
	}
	return ret;
}

enum buf_kind {
	BUF_GOOD,
	BUF_NULL,
	BUF_UNMAPPED,
	BUF_RDONLY,
	BUF_SHORT,	/* runs into a PROT_NONE page */
	BUF_KERNEL,
	NR_BUF_KINDS,
};

static const char *const buf_names[] = {
	"good", "NULL", "unmapped", "read-only", "short", "kernel address",
};

struct ubuf {
	enum buf_kind kind;
	unsigned char *p;
	__u64 readable;		/* bytes from p that can be read */
	__u64 writable;		/* and written */
};

static void pick_buf(struct rng *r, struct ubuf *b, __u64 len)
{
	__u64 off;

	b->kind = chance(r, 92) ? BUF_GOOD : 1 + rnd(r, NR_BUF_KINDS - 1);
	b->readable = 0;
	b->writable = 0;
	switch (b->kind) {
	case BUF_GOOD:
		off = chance(r, 70) ? 0 : rnd(r, PAGE);
		b->p = g.big + off;
		b->readable = BIG - off;
		b->writable = b->readable;
		break;
	case BUF_NULL:
		b->p = NULL;
		break;
	case BUF_UNMAPPED:
		b->p = g.arena + 3 * PAGE;
		break;
	case BUF_RDONLY:
		b->p = g.robig;
		b->readable = TORUSMM_RW_MAX + PAGE;
		break;
	case BUF_SHORT:
		off = len > 1 && len <= BIG ? 1 + rnd(r, len - 1) : 1;
		b->p = g.big + BIG - off;
		b->readable = off;
		b->writable = off;
		break;
	case BUF_KERNEL:
	case NR_BUF_KINDS:
		b->p = kernel_pointer();
		break;
	}
}

/* ---- Model: regions ---- */

static __u32 prot_normalise(__u32 prot)
{
	return prot & (TP_W | TP_X) ? prot | TP_R : prot;
}

static __u32 prot_to_pte(__u32 prot)
{
	__u32 pte = PTE_P | PTE_U;

	if (prot == 0)
		return PTE_PN;
	if (prot & TP_W)
		pte |= PTE_W;
	if (!(prot & TP_X))
		pte |= PTE_NX;
	return pte;
}

static bool prot_allows(__u32 prot, __u32 access)
{
	if (access & ACC_W)
		return prot & TP_W;
	if (access & ACC_X)
		return prot & TP_X;
	return prot & TP_R;
}

static int region_cmp(const void *a, const void *b)
{
	const struct mregion *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The regions after [start, end) is given @prot (-1: unmapped), merged as
 * the kernel merges them: into @out, which has room for n + 2.
 * Return: how many there are.
 */
static unsigned int regions_apply(const struct mregion *in, unsigned int n,
				  __u64 start, __u64 end, int prot,
				  struct mregion *out)
{
	unsigned int i, m = 0, k;

	for (i = 0; i < n; i++) {
		if (in[i].end <= start || in[i].start >= end) {
			out[m++] = in[i];
			continue;
		}
		if (in[i].start < start)
			out[m++] = (struct mregion){ in[i].start, start,
						     in[i].prot };
		if (in[i].end > end)
			out[m++] = (struct mregion){ end, in[i].end,
						     in[i].prot };
	}
	if (prot >= 0)
		out[m++] = (struct mregion){ start, end, prot };
	qsort(out, m, sizeof(*out), region_cmp);
	for (i = 1, k = 0; i < m; i++) {
		if (out[i].start == out[k].end && out[i].prot == out[k].prot)
			out[k].end = out[i].end;
		else
			out[++k] = out[i];
	}
	return m ? k + 1 : 0;
}

static void scratch_reserve(unsigned int n)
{
	if (n <= g.cap_scratch)
		return;
	g.cap_scratch = n * 2;
	g.scratch = realloc(g.scratch, g.cap_scratch * sizeof(*g.scratch));
	if (!g.scratch) {
		perror("realloc");
		exit(2);
	}
}

static unsigned int regions_after(const struct mspace *ms, __u64 start,
				  __u64 end, int prot)
{
	scratch_reserve(ms->nr_regions + 2);
	return regions_apply(ms->regions, ms->nr_regions, start, end, prot,
			     g.scratch);
}

static void regions_store(struct mspace *ms, __u64 start, __u64 end,
			  int prot)
{
	unsigned int n = regions_after(ms, start, end, prot);

	if (n > ms->cap_regions) {
		ms->cap_regions = n * 2;
		ms->regions = realloc(ms->regions,
				      ms->cap_regions * sizeof(*ms->regions));
		if (!ms->regions) {
			perror("realloc");
			exit(2);
		}
	}
	memcpy(ms->regions, g.scratch, n * sizeof(*ms->regions));
	ms->nr_regions = n;
}

static const struct mregion *region_at(const struct mregion *rg,
				       unsigned int n, __u64 addr)
{
	unsigned int lo = 0, hi = n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (rg[mid].end <= addr)
			lo = mid + 1;
		else if (rg[mid].start > addr)
			hi = mid;
		else
			return &rg[mid];
	}
	return NULL;
}

static bool range_free(const struct mregion *rg, unsigned int n, __u64 start,
		       __u64 end)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (rg[i].start < end && rg[i].end > start)
			return false;
	return true;
}

static bool range_covered(const struct mregion *rg, unsigned int n,
			  __u64 start, __u64 end)
{
	const struct mregion *r;
	__u64 at = start;

	while (at < end) {
		r = region_at(rg, n, at);
		if (!r)
			return false;
		at = r->end;
	}
	return true;
}

/*
 * Where a mapping of @len bytes goes without a usable hint: the top of the
 * highest free gap of the window [TORUSMM_USER_MIN, MMAP_BASE).
 */
static bool find_gap(const struct mregion *rg, unsigned int n, __u64 len,
		     __u64 *start)
{
	__u64 top = MMAP_BASE;
	unsigned int i;

	for (i = n; i-- > 0;) {
		if (rg[i].start >= top)
			continue;
		if (rg[i].end < top && top - rg[i].end >= len) {
			*start = top - len;
			return true;
		}
		top = rg[i].start;
	}
	if (top >= USER_MIN + len) {
		*start = top - len;
		return true;
	}
	return false;
}

/* ---- Model: pages ---- */

static struct mpage *page_lookup(const struct mspace *ms, __u64 va)
{
	struct mtable *t = ms->tables[(va >> SLOT_SHIFT) & (NR_SLOTS - 1)];

	return t ? &t->e[(va >> 12) & (NR_ENTRIES - 1)] : NULL;
}

static bool page_has_frame(const struct mspace *ms, __u64 va)
{
	struct mpage *p = page_lookup(ms, va);

	return p && p->pte;
}

/* A data frame just taken from the torus of @ms: its tpa is not known yet. */
static struct mframe *frame_new(struct mspace *ms)
{
	struct mframe *f = calloc(1, sizeof(*f));

	if (!f) {
		perror("calloc");
		exit(2);
	}
	f->refs = 1;
	g.tori[ms->torus].nr_data++;
	return f;
}

/* Drop one mapping of @f; the last one gives the frame back to its torus. */
static void frame_put(struct mspace *ms, struct mframe *f)
{
	struct mtorus *t = &g.tori[ms->torus];
	__u64 index;

	if (--f->refs)
		return;
	if (f->tpa) {
		index = (f->tpa - TORUSMM_TORUS_BASE) >> 12;
		if (index < t->nr_frames && t->owned[index] == f)
			t->owned[index] = NULL;
	}
	t->nr_data--;
	free(f);
}

/* The tpa the entry of @p names: 0 while the model does not know it. */
static __u32 page_tpa(const struct mpage *p)
{
	return p->frame ? p->frame->tpa : ZERO_TPA;
}

/*
 * Give page @va the entry flags @pte and the frame @f, whose reference it
 * takes over; NULL maps the zero frame.
 */
static struct mpage *page_map(struct mspace *ms, __u64 va, __u32 pte,
			      struct mframe *f)
{
	unsigned int slot = va >> SLOT_SHIFT;
	struct mtable *t = ms->tables[slot];
	struct mpage *p;

	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t) {
			perror("calloc");
			exit(2);
		}
		ms->tables[slot] = t;
		ms->nr_tables++;
	}
	p = &t->e[(va >> 12) & (NR_ENTRIES - 1)];
	p->pte = pte;
	p->frame = f;
	p->data = NULL;
	t->count++;
	if (f)
		ms->nr_pages++;
	return p;
}

static void page_unmap(struct mspace *ms, __u64 va)
{
	unsigned int slot = va >> SLOT_SHIFT;
	struct mtable *t = ms->tables[slot];
	struct mpage *p = &t->e[(va >> 12) & (NR_ENTRIES - 1)];

	if (p->frame) {
		frame_put(ms, p->frame);
		ms->nr_pages--;
	}
	free(p->data);
	memset(p, 0, sizeof(*p));
	if (!--t->count) {
		free(t);
		ms->tables[slot] = NULL;
		ms->nr_tables--;
	}
}

/* Call @fn for each page in [start, end) that holds a frame. */
static void pages_each(struct mspace *ms, __u64 start, __u64 end,
		       void (*fn)(struct mspace *ms, __u64 va, void *data),
		       void *data)
{
	__u64 va = start & ~(PAGE - 1), slot_end;

	while (va < end) {
		slot_end = ((va >> SLOT_SHIFT) + 1) << SLOT_SHIFT;
		if (!ms->tables[va >> SLOT_SHIFT]) {
			va = slot_end;
			continue;
		}
		for (; va < end && va < slot_end; va += PAGE) {
			/* @fn may free the table with its last entry. */
			if (!ms->tables[va >> SLOT_SHIFT]) {
				va = slot_end;
				break;
			}
			if (page_has_frame(ms, va))
				fn(ms, va, data);
		}
	}
}

static void unmap_one(struct mspace *ms, __u64 va, void *data)
{
	page_unmap(ms, va);
}

static void protect_one(struct mspace *ms, __u64 va, void *data)
{
	struct mpage *p = page_lookup(ms, va);

	/* A copy-on-write entry stays read-only whatever the protection. */
	p->pte = (p->pte & (PTE_A | PTE_D | PTE_COW)) | *(__u32 *)data;
	if (p->pte & PTE_COW)
		p->pte &= ~PTE_W;
}

/* The source of a clone: its entries lose writable and gain copy-on-write. */
static void share_one(struct mspace *ms, __u64 va, void *data)
{
	struct mpage *p = page_lookup(ms, va);

	p->pte = (p->pte | PTE_COW) & ~PTE_W;
}

static void count_one(struct mspace *ms, __u64 va, void *data)
{
	(*(__u64 *)data)++;
}

static void count_data_one(struct mspace *ms, __u64 va, void *data)
{
	if (page_lookup(ms, va)->frame)
		(*(__u64 *)data)++;
}

static void pages_unmap(struct mspace *ms, __u64 start, __u64 end)
{
	pages_each(ms, start, end, unmap_one, NULL);
}

/* Unmapped or replaced, the stack's lowest page stops its growth. */
static void stack_hit(struct mspace *ms, __u64 start, __u64 end)
{
	if (start <= ms->stack_start && ms->stack_start < end)
		ms->stack_grows = false;
}

static __u64 pages_count(struct mspace *ms, __u64 start, __u64 end)
{
	__u64 n = 0;

	pages_each(ms, start, end, count_one, &n);
	return n;
}

/* Entries of [start, end) that map a data frame: not the zero frame. */
static __u64 data_frames_in(struct mspace *ms, __u64 start, __u64 end)
{
	__u64 n = 0;

	pages_each(ms, start, end, count_data_one, &n);
	return n;
}

/* Directory slots of [start, end) without a table. */
static __u64 tables_missing(const struct mspace *ms, __u64 start, __u64 end)
{
	__u64 slot, n = 0;

	if (end <= start)
		return 0;
	for (slot = start >> SLOT_SHIFT; slot <= (end - 1) >> SLOT_SHIFT;
	     slot++)
		if (!ms->tables[slot & (NR_SLOTS - 1)])
			n++;
	return n;
}

static __u64 space_frames(const struct mspace *ms)
{
	return ms->nr_pages + ms->nr_tables;
}

/* A shared data frame counts once in its torus, beside the page tables. */
static __u64 torus_used(unsigned int torus)
{
	__u64 used = g.tori[torus].used_offset + g.tori[torus].nr_data;
	unsigned int i;

	for (i = 0; i < g.nr_spaces; i++)
		if (g.spaces[i]->torus == torus)
			used += g.spaces[i]->nr_tables;
	return used;
}

static __u64 torus_free(unsigned int torus)
{
	__u64 used = torus_used(torus);

	return used < g.tori[torus].nr_frames ?
	       g.tori[torus].nr_frames - used : 0;
}

/* The user's charge: a shared frame counts in every space that maps it. */
static __u64 user_frames(void)
{
	__u64 used = 0;
	unsigned int i;

	for (i = 0; i < g.nr_tori; i++)
		used += g.tori[i].used_offset;
	for (i = 0; i < g.nr_spaces; i++)
		used += space_frames(g.spaces[i]);
	return used;
}

/*
 * Whether @need more frames fit: the quota, the torus, the user's ceiling.
 * @replaced frames are about to be given back: the user's ceiling does not
 * count them (section 4.1 says so); for the quota and the torus the
 * documentation does not say, and the kernel allocates before it frees, so
 * a request only they refuse when counting them may go either way.
 */
enum fit { FITS, MAY_NOT_FIT, DOES_NOT_FIT };

static enum fit frames_fit(const struct mspace *ms, __u64 need,
			   __u64 replaced)
{
	__u64 used = space_frames(ms), lenient = need - min_u64(need, replaced);
	__u64 free = torus_free(ms->torus);
	enum fit fit = FITS;

	if (ms->max_frames) {
		if (used + lenient > ms->max_frames)
			return DOES_NOT_FIT;
		if (used + need > ms->max_frames)
			fit = MAY_NOT_FIT;
	}
	if (lenient > free)
		return DOES_NOT_FIT;
	if (need > free)
		fit = MAY_NOT_FIT;
	if (g.p_user_max_frames > 0 &&
	    user_frames() + lenient > (__u64)g.p_user_max_frames)
		return DOES_NOT_FIT;
	return fit;
}

/* Whether a store leaving @after regions passes max_regions. */
static bool regions_refused(const struct mspace *ms, unsigned int after)
{
	return g.p_max_regions > 0 && after > (__u64)g.p_max_regions &&
	       after > ms->nr_regions;
}

/* ---- Model: spaces ---- */

static struct mspace *space_new(int fd, __u32 torus, __u32 max_frames)
{
	struct mspace *ms = calloc(1, sizeof(*ms));

	if (!ms) {
		perror("calloc");
		exit(2);
	}
	ms->id = g.next_id++;
	ms->fds[0] = fd;
	ms->nr_fds = 1;
	ms->dev_gen = g.dev_gen;
	ms->torus = torus;
	ms->max_frames = max_frames;
	ms->brk = HEAP_START;
	ms->stack_start = STACK_TOP - PAGE;
	ms->stack_grows = true;
	ms->cap_regions = 8;
	ms->regions = calloc(ms->cap_regions, sizeof(*ms->regions));
	ms->regions[0] = (struct mregion){ STACK_TOP - PAGE, STACK_TOP, TP_RW };
	ms->nr_regions = 1;
	ms->nr_tables = 1;	/* the directory */
	ms->dirty = true;
	g.spaces[g.nr_spaces++] = ms;
	return ms;
}

static void space_free_model(struct mspace *ms)
{
	unsigned int i;

	pages_unmap(ms, 0, SZ_4G);
	free(ms->regions);
	for (i = 0; i < g.nr_spaces; i++) {
		if (g.spaces[i] == ms) {
			g.spaces[i] = g.spaces[--g.nr_spaces];
			break;
		}
	}
	free(ms);
}

static void space_close(struct mspace *ms)
{
	while (ms->nr_fds)
		close(ms->fds[--ms->nr_fds]);
	space_free_model(ms);
}

/*
 * The clone of @src (section 7.11): every frame shared copy-on-write, both
 * entries read-only, the clone's old (accessed clear) and dirty kept.
 */
static struct mspace *space_copy(struct mspace *src, int fd)
{
	struct mspace *ms = space_new(fd, src->torus, src->max_frames);
	unsigned int slot, i;

	ms->brk = src->brk;
	ms->stack_start = src->stack_start;
	ms->stack_grows = src->stack_grows;
	free(ms->regions);
	ms->cap_regions = src->nr_regions + 8;
	ms->regions = calloc(ms->cap_regions, sizeof(*ms->regions));
	memcpy(ms->regions, src->regions, src->nr_regions * sizeof(*ms->regions));
	ms->nr_regions = src->nr_regions;
	for (slot = 0; slot < NR_SLOTS; slot++) {
		struct mtable *t = src->tables[slot];

		for (i = 0; t && i < NR_ENTRIES; i++) {
			struct mpage *p = &t->e[i];
			struct mpage *q;

			if (!p->pte)
				continue;
			p->pte = (p->pte | PTE_COW) & ~PTE_W;
			if (p->frame)
				p->frame->refs++;
			/* Accessed starts clear, as after fork(). */
			q = page_map(ms, ((__u64)slot << SLOT_SHIFT) | (i << 12),
				     p->pte & ~PTE_A, p->frame);
			if (p->data) {
				q->data = malloc(PAGE);
				memcpy(q->data, p->data, PAGE);
			}
		}
	}
	return ms;
}

static void view_of(const struct mspace *ms, struct view *v)
{
	v->regions = ms->regions;
	v->nr = ms->nr_regions;
	v->brk = ms->brk;
	v->stack_start = ms->stack_start;
}

/* ---- Argument generators ---- */

static const __u64 edge_addrs[] = {
	0, 1, 0xfff, USER_MIN, 2 * PAGE, HEAP_START - PAGE, HEAP_START,
	0x00800000, 0x10000000, MMAP_BASE - PAGE, MMAP_BASE, MMAP_BASE + PAGE,
	STACK_TOP - 2 * PAGE, STACK_TOP - PAGE, STACK_TOP - 1, STACK_TOP,
	STACK_TOP + PAGE, KERNEL_BASE - PAGE, KERNEL_BASE, 0xc0000000,
	0xfffff000, 0xffffffff, SZ_4G, SZ_4G + PAGE, 1ull << 63, ~0ull,
};

static const __u64 edge_lengths[] = {
	0, 1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE,
	MMAP_BASE - USER_MIN - PAGE, MMAP_BASE - USER_MIN,
	MMAP_BASE - USER_MIN + PAGE, MMAP_BASE, MMAP_BASE + PAGE,
	STACK_TOP - USER_MIN - PAGE, STACK_TOP - USER_MIN,
	STACK_TOP - USER_MIN + PAGE, STACK_TOP, KERNEL_BASE,
	TORUSMM_STACK_LIMIT, TORUSMM_RW_MAX, TORUSMM_RW_MAX + 1,
	0xfffff000, 0xffffffff, SZ_4G, SZ_4G + 1, SZ_4G + PAGE, 1ull << 63,
	~0ull,
};

/* The whole window and the whole user range, and one page more or less. */
static const __u64 window_lengths[] = {
	MMAP_BASE - USER_MIN, MMAP_BASE - USER_MIN + PAGE,
	MMAP_BASE - USER_MIN - PAGE, STACK_TOP - USER_MIN,
	STACK_TOP - USER_MIN + PAGE, STACK_TOP - USER_MIN - PAGE,
};

static __u64 pick_addr(struct rng *r, const struct view *v)
{
	const struct mregion *rg;
	__u64 a;

	switch (rnd(r, 20)) {
	case 0:
	case 1:
		return edge_addrs[rnd(r, ARRAY_SIZE(edge_addrs))];
	case 2:
	case 3:
	case 4:
	case 5:
		if (!v->nr)
			break;
		rg = &v->regions[rnd(r, v->nr)];
		switch (rnd(r, 4)) {
		case 0:
			return rg->start;
		case 1:
			return rg->end;
		case 2:
			return rg->end - PAGE;
		default:
			return rg->start + rnd(r, (rg->end - rg->start) >> 12) * PAGE;
		}
	case 6:
		return chance(r, 50) ? page_align(v->brk) :
		       v->brk + rnd(r, 8 * PAGE) - 4 * PAGE;
	case 7:
	case 8:
		/* Where the stack grows, and just below where it may. */
		a = v->stack_start - (1 + rnd(r, 64)) * PAGE;
		if (chance(r, 20))
			a = MMAP_BASE - rnd(r, 4) * PAGE;
		return a;
	case 9:
		return USER_MIN + rnd(r, (KERNEL_BASE - USER_MIN) >> 12) * PAGE;
	case 10:
		return rng_next(r) & U32_LIMIT;
	case 11:
		return rng_next(r);
	case 12:
	case 13:
	case 14:
		/* Where top-down mappings land. */
		return MMAP_BASE - (1 + rnd(r, 96)) * PAGE;
	default:
		break;
	}
	/* A hot spot, so that ops run into each other. */
	return 0x10000000 + rnd(r, 64) * PAGE;
}

/* The free gaps of the mmap window, and the same gaps seen unclipped. */
static __u64 pick_gap_len(struct rng *r, const struct view *v)
{
	__u64 gaps[64], prev = USER_MIN, end;
	unsigned int n = 0, i;

	for (i = 0; i <= v->nr && n < ARRAY_SIZE(gaps); i++) {
		end = i < v->nr ? v->regions[i].start : STACK_TOP;
		if (end > prev) {
			gaps[n++] = min_u64(end, MMAP_BASE) > prev ?
				    min_u64(end, MMAP_BASE) - prev : 0;
			/* The gap past MMAP_BASE, and with page 0 too. */
			if (n < ARRAY_SIZE(gaps))
				gaps[n++] = end - prev +
					    (prev == USER_MIN ? PAGE : 0);
		}
		if (i < v->nr)
			prev = v->regions[i].end;
	}
	if (!n)
		return PAGE;
	end = gaps[rnd(r, n)];
	switch (rnd(r, 4)) {
	case 0:
		return end;
	case 1:
		return end + PAGE;
	case 2:
		return end - min_u64(end, PAGE);
	default:
		return end + rnd(r, 16) * PAGE;
	}
}

static __u64 pick_len(struct rng *r, const struct view *v, __u64 addr)
{
	const struct mregion *rg;

	switch (rnd(r, 40)) {
	case 0:
	case 1:
	case 2:
	case 3:
		return edge_lengths[rnd(r, ARRAY_SIZE(edge_lengths))];
	case 4:
	case 5:
		return window_lengths[rnd(r, ARRAY_SIZE(window_lengths))];
	case 6:
	case 7:
	case 8:
		return pick_gap_len(r, v);
	case 9:
	case 10:
		if (!v->nr)
			break;
		rg = &v->regions[rnd(r, v->nr)];
		return rg->end - rg->start + (rnd(r, 3) - 1) * PAGE;
	case 11:
		return addr < STACK_TOP ? STACK_TOP - addr : PAGE;
	case 12:
		return addr < SZ_4G ? SZ_4G - addr + rnd(r, 2) * PAGE : PAGE;
	case 13:
	case 14:
		return 1 + rnd(r, 3 * PAGE);
	case 15:
	case 16:
	case 17:
	case 18:
		return (1 + rnd(r, 512)) * PAGE;
	case 19:
		return rnd(r, 0x80000000ull);
	default:
		break;
	}
	return (1 + rnd(r, 8)) * PAGE;
}

static __u32 pick_prot(struct rng *r)
{
	if (chance(r, 97))
		return rnd(r, 8);
	return chance(r, 50) ? 1u << (3 + rnd(r, 29)) : (__u32)rng_next(r);
}

/* Rarely, one stray bit in a field that must be zero. */
static __u32 pick_reserved(struct rng *r)
{
	return chance(r, 97) ? 0 : 1u << rnd(r, 32);
}

static __u64 pick_rw_len(struct rng *r)
{
	switch (rnd(r, 20)) {
	case 0:
		return 0;
	case 1:
		return TORUSMM_RW_MAX;
	case 2:
		return TORUSMM_RW_MAX + 1;
	case 3:
		return edge_lengths[rnd(r, ARRAY_SIZE(edge_lengths))];
	case 4:
	case 5:
		return 1 + rnd(r, TORUSMM_RW_MAX);
	case 6:
	case 7:
	case 8:
		return 1 + rnd(r, 64 * PAGE);
	case 9:
	case 10:
	case 11:
	case 12:
		return 1 + rnd(r, 4 * PAGE);
	default:
		return 1 + rnd(r, PAGE);
	}
}

/* ---- Snapshots: what the kernel shows of a space ---- */

/* Dump with a buffer that grows on E2BIG.  Return: 0 or -errno. */
static int dump_all(int fd, unsigned long cmd, __u64 addr, __u64 length,
		    void **buf, __u32 *cap, size_t size, __u32 *count,
		    struct sink *s)
{
	struct torusmm_dump d;
	int ret, tries;

	for (tries = 0; tries < 8; tries++) {
		memset(&d, 0, sizeof(d));
		d.buf = torusmm_ptr(*buf);
		d.addr = addr;
		d.length = length;
		d.count = *cap;
		ret = xioctl(fd, cmd, &d);
		if (ret == -E2BIG) {
			if (d.count <= *cap)
				complain(s, "dump: E2BIG with count %u, capacity %u",
					 d.count, *cap);
			*cap = d.count + 256;
			*buf = realloc(*buf, *cap * size);
			if (!*buf) {
				perror("realloc");
				exit(2);
			}
			continue;
		}
		if (ret)
			return ret;
		if (d.count > *cap) {
			complain(s, "dump: count %u above the capacity %u",
				 d.count, *cap);
			return -EPROTO;
		}
		*count = d.count;
		return 0;
	}
	return -EAGAIN;
}

static int snap_take(int fd, struct snap *sn, struct sink *s)
{
	int ret;

	if (!sn->regions) {
		sn->cap_regions = 256;
		sn->regions = malloc(sn->cap_regions * sizeof(*sn->regions));
		sn->cap_ptes = 1024;
		sn->ptes = malloc(sn->cap_ptes * sizeof(*sn->ptes));
	}
	memset(&sn->stats, 0, sizeof(sn->stats));
	ret = xioctl(fd, TORUSMM_GET_STATS, &sn->stats);
	if (ret)
		return ret;
	ret = dump_all(fd, TORUSMM_DUMP_REGIONS, 0, 0, (void **)&sn->regions,
		       &sn->cap_regions, sizeof(*sn->regions), &sn->nr_regions,
		       s);
	if (ret)
		return ret;
	return dump_all(fd, TORUSMM_DUMP_PTES, 0, 0, (void **)&sn->ptes,
			&sn->cap_ptes, sizeof(*sn->ptes), &sn->nr_ptes, s);
}

/* ---- Invariants: what must hold of any dump, even during races ---- */

static bool regions_wellformed(struct sink *s,
			       const struct torusmm_region *r, __u32 n)
{
	__u32 i;

	for (i = 0; i < n; i++) {
		__u32 prot = r[i].prot;

		if (r[i].start >= r[i].end || (r[i].start | r[i].end) % PAGE ||
		    r[i].start < USER_MIN || r[i].end > STACK_TOP) {
			complain(s, "region %u [%#x, %#x) is not pages of [%#llx, %#llx)",
				 i, r[i].start, r[i].end,
				 (unsigned long long)USER_MIN,
				 (unsigned long long)STACK_TOP);
			return false;
		}
		if ((prot & ~TP_MASK) || prot != prot_normalise(prot) ||
		    r[i].reserved) {
			complain(s, "region %u [%#x, %#x) has prot %#x, reserved %#x",
				 i, r[i].start, r[i].end, prot, r[i].reserved);
			return false;
		}
		if (i && r[i].start < r[i - 1].end) {
			complain(s, "regions overlap or out of order: [%#x, %#x) [%#x, %#x)",
				 r[i - 1].start, r[i - 1].end, r[i].start,
				 r[i].end);
			return false;
		}
		if (i && r[i].start == r[i - 1].end &&
		    r[i].prot == r[i - 1].prot) {
			complain(s, "regions [%#x, %#x) [%#x, %#x) of prot %#x not merged",
				 r[i - 1].start, r[i - 1].end, r[i].start,
				 r[i].end, prot);
			return false;
		}
	}
	return true;
}

static bool pte_flags_valid(__u32 pte)
{
	__u32 f = pte & PTE_FLAGS & ~(PTE_A | PTE_D);

	/* Copy-on-write: read-only whatever the protection. */
	if (f & PTE_COW) {
		if (f & PTE_W)
			return false;
		f &= ~PTE_COW;
	} else if ((pte & TORUSMM_PTE_FRAME_MASK) == ZERO_TPA) {
		return false;	/* the zero frame is only ever shared */
	}
	return f == PTE_PN || f == (PTE_P | PTE_U | PTE_NX) ||
	       f == (PTE_P | PTE_U | PTE_W | PTE_NX) || f == (PTE_P | PTE_U) ||
	       f == (PTE_P | PTE_U | PTE_W);
}

/* Whether @tpa names a frame of a torus of @nr_frames frames. */
static bool tpa_valid(__u64 tpa, __u32 nr_frames)
{
	return tpa >= TORUSMM_TORUS_BASE &&
	       (tpa - TORUSMM_TORUS_BASE) >> 12 < nr_frames;
}

static int pte_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static bool ptes_wellformed(struct sink *s, const struct torusmm_pte *p,
			    __u32 n, __u64 lo, __u64 hi, __u32 nr_frames)
{
	__u32 *frames, i;
	bool ok = true;

	for (i = 0; i < n && ok; i++) {
		if (p[i].addr % PAGE || p[i].addr < lo || p[i].addr >= hi ||
		    p[i].addr < USER_MIN || p[i].addr >= STACK_TOP) {
			complain(s, "pte %u at %#x: outside [%#llx, %#llx) or the user range",
				 i, p[i].addr, (unsigned long long)lo,
				 (unsigned long long)hi);
			ok = false;
		} else if (i && p[i].addr <= p[i - 1].addr) {
			complain(s, "ptes not in ascending order: %#x then %#x",
				 p[i - 1].addr, p[i].addr);
			ok = false;
		} else if (!pte_flags_valid(p[i].pte)) {
			complain(s, "pte at %#x is %#x: not an entry of any protection",
				 p[i].addr, p[i].pte);
			ok = false;
		} else if ((p[i].pte & TORUSMM_PTE_FRAME_MASK) != ZERO_TPA &&
			   !tpa_valid(p[i].pte & TORUSMM_PTE_FRAME_MASK,
				      nr_frames)) {
			complain(s, "pte at %#x is %#x: its frame is not in the torus",
				 p[i].addr, p[i].pte);
			ok = false;
		}
	}
	if (!ok || n < 2)
		return ok;
	frames = malloc(n * sizeof(*frames));
	for (i = 0; i < n; i++)
		frames[i] = p[i].pte & TORUSMM_PTE_FRAME_MASK;
	qsort(frames, n, sizeof(*frames), pte_cmp);
	for (i = 1; i < n && ok; i++) {
		/* A frame is shared by spaces, never within one. */
		if (frames[i] == frames[i - 1] && frames[i] != ZERO_TPA) {
			complain(s, "frame %#x is mapped twice", frames[i]);
			ok = false;
		}
	}
	free(frames);
	return ok;
}

static bool stats_wellformed(struct sink *s,
			     const struct torusmm_space_stats *st)
{
	__u64 heap = (page_align(st->brk) - HEAP_START) / PAGE;

	if (st->torus >= g.nr_tori || st->brk < HEAP_START ||
	    st->nr_heap_pages != heap || st->stack_start % PAGE ||
	    st->stack_start < MMAP_BASE || st->stack_start >= STACK_TOP ||
	    !st->nr_table_frames ||
	    st->nr_table_frames > 1 + (KERNEL_BASE >> SLOT_SHIFT) ||
	    (st->max_frames && st->max_frames != TORUSMM_NO_QUOTA &&
	     (__u64)st->nr_data_frames + st->nr_table_frames >
	     st->max_frames)) {
		complain(s, "stats out of bounds: torus %u, brk %#x, heap pages %u",
			 st->torus, st->brk, st->nr_heap_pages);
		complain(s, "stack %#x, frames %u + %u tables, quota %u",
			 st->stack_start, st->nr_data_frames,
			 st->nr_table_frames, st->max_frames);
		return false;
	}
	return true;
}

/*
 * What must hold of a space nobody is changing: the dumps and the stats
 * tell one story, every frame lies in a region, with its protection.
 */
static bool snap_consistent(struct sink *s, const struct snap *sn)
{
	const struct torusmm_space_stats *st = &sn->stats;
	__u32 i, slots = 0, last_slot = ~0u;
	const struct mregion *rg;
	struct mregion *regions;
	__u32 data = 0;
	bool ok;

	if (!stats_wellformed(s, st) ||
	    !regions_wellformed(s, sn->regions, sn->nr_regions) ||
	    !ptes_wellformed(s, sn->ptes, sn->nr_ptes, 0, SZ_4G,
			     g.tori[st->torus].nr_frames))
		return false;
	for (i = 0; i < sn->nr_ptes; i++)
		if ((sn->ptes[i].pte & TORUSMM_PTE_FRAME_MASK) != ZERO_TPA)
			data++;
	if (st->nr_regions != sn->nr_regions ||
	    st->nr_data_frames != data) {
		complain(s, "stats count %u regions and %u frames, the dumps %u and %u",
			 st->nr_regions, st->nr_data_frames, sn->nr_regions,
			 data);
		return false;
	}
	regions = malloc((sn->nr_regions + 1) * sizeof(*regions));
	for (i = 0; i < sn->nr_regions; i++)
		regions[i] = (struct mregion){ sn->regions[i].start,
					       sn->regions[i].end,
					       sn->regions[i].prot };
	ok = true;
	for (i = 0; i < sn->nr_ptes && ok; i++) {
		__u32 pte = sn->ptes[i].pte, want;

		if (sn->ptes[i].addr >> SLOT_SHIFT != last_slot) {
			last_slot = sn->ptes[i].addr >> SLOT_SHIFT;
			slots++;
		}
		rg = region_at(regions, sn->nr_regions, sn->ptes[i].addr);
		want = rg ? prot_to_pte(rg->prot) : 0;
		if (pte & PTE_COW)
			want = (want & ~PTE_W) | PTE_COW;
		if (!rg) {
			complain(s, "frame at %#x outside every region",
				 sn->ptes[i].addr);
			ok = false;
		} else if ((pte & PTE_FLAGS & ~(PTE_A | PTE_D)) != want) {
			complain(s, "pte at %#x is %#x in a region of prot %#x",
				 sn->ptes[i].addr, pte, rg->prot);
			ok = false;
		}
	}
	free(regions);
	/* One directory, and one table per slot that holds a frame. */
	if (ok && st->nr_table_frames != 1 + slots) {
		complain(s, "stats count %u table frames for %u tables and a directory",
			 st->nr_table_frames, slots);
		ok = false;
	}
	return ok;
}

/* ---- Checking the model against the kernel ---- */

static const char *region_list(const struct torusmm_region *r, __u32 n,
			       char *buf, size_t len)
{
	size_t used = 0;
	__u32 i;

	buf[0] = 0;
	for (i = 0; i < n && used + 40 < len; i++)
		used += snprintf(buf + used, len - used, "%s[%#x,%#x)%u",
				 i ? " " : "", r[i].start, r[i].end, r[i].prot);
	if (i < n)
		snprintf(buf + used, len - used, " ...");
	return buf;
}

static const char *model_region_list(const struct mspace *ms, char *buf,
				     size_t len)
{
	size_t used = 0;
	__u32 i;

	buf[0] = 0;
	for (i = 0; i < ms->nr_regions && used + 40 < len; i++)
		used += snprintf(buf + used, len - used, "%s[%#x,%#x)%u",
				 i ? " " : "", ms->regions[i].start,
				 ms->regions[i].end, ms->regions[i].prot);
	if (i < ms->nr_regions)
		snprintf(buf + used, len - used, " ...");
	return buf;
}

/*
 * Learn or check the frame of a model page from what the kernel showed.
 * Return: false when it cannot be right.
 */
static bool frame_learn(struct mspace *ms, struct mpage *p, __u64 va,
			__u32 frame)
{
	struct mtorus *t = &g.tori[ms->torus];
	struct mframe *f = p->frame;
	__u64 index;

	if (!f || f->tpa) {
		if (page_tpa(p) == frame)
			return true;
		mismatch("space %u page %#llx: frame %#x, the model has %#x%s",
			 ms->id, (unsigned long long)va, frame, page_tpa(p),
			 f ? "" : " (the zero frame)");
		return false;
	}
	if (!tpa_valid(frame, t->nr_frames)) {
		mismatch("space %u page %#llx: frame %#x is not in torus %u",
			 ms->id, (unsigned long long)va, frame, ms->torus);
		return false;
	}
	index = (frame - TORUSMM_TORUS_BASE) >> 12;
	if (t->owned[index]) {
		mismatch("space %u page %#llx: frame %#x already holds another page (%u mappings)",
			 ms->id, (unsigned long long)va, frame,
			 t->owned[index]->refs);
		return false;
	}
	t->owned[index] = f;
	f->tpa = frame;
	return true;
}

/*
 * Compare a space with its model; or, once the model is known wrong,
 * only what must hold of any space, to show what the kernel did.
 */
static void check_space(struct mspace *ms, bool invariants_only)
{
	struct sink s = { .main = true };
	struct snap *sn = &g.snap;
	const struct torusmm_space_stats *st = &sn->stats;
	char a[512], b[512];
	__u32 i, n = 0;
	__u64 va;
	int ret;

	ret = snap_take(ms->fds[0], sn, &s);
	if (ret) {
		mismatch("space %u: cannot dump it: %s", ms->id,
			 ret_str(ret, a, sizeof(a)));
		ms->broken = true;
		return;
	}
	if (!stats_wellformed(&s, st) ||
	    !regions_wellformed(&s, sn->regions, sn->nr_regions) ||
	    !ptes_wellformed(&s, sn->ptes, sn->nr_ptes, 0, SZ_4G,
			     g.tori[ms->torus].nr_frames) || invariants_only) {
		ms->broken = true;
		return;
	}
	/* Each counter the kernel keeps beside what the model keeps. */
	{
		const struct {
			const char *name;
			__u64 kernel, model;
		} fields[] = {
			{ "torus", st->torus, ms->torus },
			{ "max_frames", st->max_frames, ms->max_frames },
			{ "nr_data_frames", st->nr_data_frames, ms->nr_pages },
			{ "nr_table_frames", st->nr_table_frames, ms->nr_tables },
			{ "nr_regions", st->nr_regions, ms->nr_regions },
			{ "brk", st->brk, ms->brk },
			{ "stack_start", st->stack_start, ms->stack_start },
			{ "nr_faults", st->nr_faults, ms->nr_faults },
			{ "nr_fault_errors", st->nr_fault_errors,
			  ms->nr_fault_errors },
			{ "nr_translations", st->nr_translations,
			  ms->nr_translations },
		};

		for (i = 0; i < ARRAY_SIZE(fields); i++) {
			if (fields[i].kernel == fields[i].model)
				continue;
			mismatch("space %u: stats.%s is %#llx, the model has %#llx",
				 ms->id, fields[i].name,
				 (unsigned long long)fields[i].kernel,
				 (unsigned long long)fields[i].model);
			ms->broken = true;
		}
	}
	for (i = 0; i < sn->nr_regions && i < ms->nr_regions; i++)
		if (sn->regions[i].start != ms->regions[i].start ||
		    sn->regions[i].end != ms->regions[i].end ||
		    sn->regions[i].prot != ms->regions[i].prot)
			break;
	if (i < sn->nr_regions || i < ms->nr_regions) {
		mismatch("space %u: regions differ from #%u", ms->id, i);
		mismatch("kernel %s",
			 region_list(sn->regions, sn->nr_regions, a, sizeof(a)));
		mismatch("model  %s", model_region_list(ms, b, sizeof(b)));
		ms->broken = true;
	}
	/* Walk the model's pages in order beside the dump. */
	for (va = 0; va < SZ_4G && !ms->broken; va += PAGE) {
		struct mpage *p;

		if (!ms->tables[va >> SLOT_SHIFT]) {
			va = (((va >> SLOT_SHIFT) + 1) << SLOT_SHIFT) - PAGE;
			continue;
		}
		p = page_lookup(ms, va);
		if (!p->pte)
			continue;
		if (n >= sn->nr_ptes || sn->ptes[n].addr != va ||
		    (sn->ptes[n].pte & PTE_FLAGS) != p->pte) {
			if (n < sn->nr_ptes)
				mismatch("space %u: pte #%u: kernel %#x at %#x, model %#x at %#llx",
					 ms->id, n, sn->ptes[n].pte,
					 sn->ptes[n].addr, p->pte,
					 (unsigned long long)va);
			else
				mismatch("space %u: %u ptes; the model has %#x at %#llx too",
					 ms->id, sn->nr_ptes, p->pte,
					 (unsigned long long)va);
			ms->broken = true;
			break;
		}
		if (!frame_learn(ms, p, va,
				 sn->ptes[n].pte & TORUSMM_PTE_FRAME_MASK))
			ms->broken = true;
		n++;
	}
	if (!ms->broken && n != sn->nr_ptes) {
		mismatch("space %u: %u ptes, the model %u; the first extra %#x at %#x",
			 ms->id, sn->nr_ptes, n, sn->ptes[n].pte,
			 sn->ptes[n].addr);
		ms->broken = true;
	}
}

static int torus_info(unsigned int index, struct torusmm_torus_info *info)
{
	memset(info, 0, sizeof(*info));
	info->index = index;
	return xioctl(g.dev, TORUSMM_GET_TORUS_INFO, info);
}

/* Every torus: its counters are the sum of the modelled spaces. */
static void check_tori(struct sink *s)
{
	struct torusmm_torus_info info;
	unsigned int i, j;
	char buf[32];
	int ret;

	for (i = 0; i < g.nr_tori; i++) {
		struct mtorus *t = &g.tori[i];
		__u64 used = torus_used(i);
		long tables = t->tables_offset, spaces = t->spaces_offset;

		for (j = 0; j < g.nr_spaces; j++) {
			if (g.spaces[j]->torus != i)
				continue;
			tables += g.spaces[j]->nr_tables;
			spaces++;
		}
		ret = torus_info(i, &info);
		if (ret) {
			complain(s, "TORUSMM_GET_TORUS_INFO %u: %s", i,
				 ret_str(ret, buf, sizeof(buf)));
			continue;
		}
		if (info.index != i || info.nr_frames != t->nr_frames ||
		    info.nr_free + info.nr_used != info.nr_frames ||
		    info.base != TORUSMM_TORUS_BASE || info.reserved ||
		    info.high_water < info.nr_used ||
		    info.high_water < t->high_water || info.allocs < t->allocs ||
		    info.words_scanned < t->words_scanned) {
			complain(s, "torus %u info: index %u frames %u free %u used %u base %#llx",
				 i, info.index, info.nr_frames, info.nr_free,
				 info.nr_used, (unsigned long long)info.base);
			complain(s, "high water %u (was %u), allocs %llu (was %llu)",
				 info.high_water, t->high_water,
				 (unsigned long long)info.allocs,
				 (unsigned long long)t->allocs);
		}
		if (info.nr_used != used ||
		    info.nr_table_frames != (__u64)tables ||
		    info.nr_spaces != (__u64)spaces) {
			complain(s, "torus %u: %u used, %u table frames, %u spaces",
				 i, info.nr_used, info.nr_table_frames,
				 info.nr_spaces);
			complain(s, "torus %u: the model has %llu, %ld, %ld", i,
				 (unsigned long long)used, tables, spaces);
			/* Report it once: what differs now is the baseline. */
			t->used_offset += (long)info.nr_used - (long)used;
			t->tables_offset += (long)info.nr_table_frames - tables;
			t->spaces_offset += (long)info.nr_spaces - spaces;
		}
		t->high_water = info.high_water;
		t->allocs = info.allocs;
		t->words_scanned = info.words_scanned;
	}
}

/* After a mismatch the model of a space is worthless: close it. */
static void quarantine(void)
{
	struct torusmm_torus_info info;
	unsigned int i, t, j;
	bool any = false;

	for (i = g.nr_spaces; i-- > 0;) {
		if (!g.spaces[i]->broken)
			continue;
		space_close(g.spaces[i]);
		any = true;
	}
	if (!any)
		return;
	/* What the kernel still holds for them is lost: the new baseline. */
	for (t = 0; t < g.nr_tori; t++) {
		long tables = 0, spaces = 0;

		if (torus_info(t, &info))
			continue;
		for (j = 0; j < g.nr_spaces; j++) {
			if (g.spaces[j]->torus != t)
				continue;
			tables += g.spaces[j]->nr_tables;
			spaces++;
		}
		g.tori[t].used_offset = 0;
		g.tori[t].used_offset = (long)info.nr_used - (long)torus_used(t);
		g.tori[t].tables_offset = (long)info.nr_table_frames - tables;
		g.tori[t].spaces_offset = (long)info.nr_spaces - spaces;
	}
}

/* ---- The software MMU, as the documentation tells it ---- */

enum walk { WALK_OK, WALK_FAULT, WALK_ENOMEM };

/*
 * Which fault-in the kernel refused because of an armed fault point: the
 * first one whose page the kernel left without a frame.
 */
struct oracle {
	bool injected;		/* an armed point fired and the call failed */
	const struct torusmm_pte *ptes;	/* the kernel's, after the call */
	__u32 nr;
};

/*
 * Whether the kernel refused the fault-in of @page: it left the page
 * without a frame, or (@cow) the copy-on-write entry still shared.
 */
static bool oracle_refuses(const struct oracle *o, __u64 page, bool cow)
{
	__u32 lo = 0, hi;

	if (!o || !o->injected)
		return false;
	if (!o->ptes)
		return true;
	hi = o->nr;
	while (lo < hi) {
		__u32 mid = (lo + hi) / 2;

		if (o->ptes[mid].addr < page)
			lo = mid + 1;
		else if (o->ptes[mid].addr > page)
			hi = mid;
		else
			return cow && (o->ptes[mid].pte & PTE_COW);
	}
	return true;
}

/*
 * Whether the frame of a write to a copy-on-write entry fits (section 7.9):
 * the kernel takes a zeroed frame from the torus, charged to the user,
 * before it looks whether the entry needs it; only a page of the zero frame
 * gains one in the space's quota.
 */
static bool cow_fits(const struct mspace *ms, bool zero)
{
	if (zero)
		return frames_fit(ms, 1, 0) == FITS;
	return torus_free(ms->torus) >= 1 &&
	       !(g.p_user_max_frames > 0 &&
		 user_frames() + 1 > (__u64)g.p_user_max_frames);
}

/*
 * A write the region allows to the copy-on-write entry of @p: a frame of
 * its own, copied, zeroed, or the same one when no other space maps it.
 */
static void page_unshare(struct mspace *ms, struct mpage *p, __u32 prot)
{
	if (!p->frame) {
		p->frame = frame_new(ms);
		ms->nr_pages++;
	} else if (p->frame->refs > 1) {
		p->frame->refs--;
		p->frame = frame_new(ms);
	}
	p->pte = (p->pte & (PTE_A | PTE_D)) | prot_to_pte(prot);
}

/*
 * One access through the model's MMU (section 4.4): translate, or fault in
 * a zeroed page (growing the stack) where the region allows the access.
 * Changes the model only when it returns WALK_OK or WALK_FAULT.
 */
static enum walk sim_walk(struct mspace *ms, __u64 va, __u32 access,
			  bool peek, __u32 *fault, const struct oracle *o)
{
	__u64 page = va & ~(PAGE - 1);
	struct mpage *p = page_lookup(ms, va);
	__u32 code = access & ACC_MASK, prot;
	const struct mregion *rg;
	bool grow = false;

	if (p && (p->pte & PTE_P)) {
		code |= TORUSMM_FAULT_PROTECTION;
		if ((access & ACC_X) && (p->pte & PTE_NX))
			goto fault;
		if ((access & ACC_W) && !(p->pte & PTE_W)) {
			rg = region_at(ms->regions, ms->nr_regions, page);
			if (peek || !(p->pte & PTE_COW) || !rg ||
			    !prot_allows(rg->prot, access))
				goto fault;
			if (!cow_fits(ms, !p->frame) ||
			    oracle_refuses(o, page, true))
				return WALK_ENOMEM;
			page_unshare(ms, p, rg->prot);
		}
		goto translated;
	}
	if (peek)
		goto fault;
	rg = region_at(ms->regions, ms->nr_regions, page);
	if (rg) {
		prot = rg->prot;
	} else {
		/*
		 * Growth: down to the page, with the protection of the stack's
		 * lowest page, nothing in between nor within the guard gap
		 * below, and only while that lowest page was never unmapped.
		 */
		__u64 guard = page - STACK_GAP < USER_MIN ? USER_MIN :
			      page - STACK_GAP;

		rg = region_at(ms->regions, ms->nr_regions, ms->stack_start);
		if (!ms->stack_grows || page < MMAP_BASE ||
		    page >= ms->stack_start || !rg ||
		    !range_free(ms->regions, ms->nr_regions, guard,
				ms->stack_start))
			goto fault;
		prot = rg->prot;
		grow = true;
	}
	if (!prot_allows(prot, access))
		goto fault;
	if (p && p->pte) {
		mismatch("model: page %#llx holds a frame it cannot reach",
			 (unsigned long long)page);
		goto fault;
	}
	/* A read maps the zero frame: no frame, but maybe a table. */
	if (frames_fit(ms, !!(access & ACC_W) +
		       tables_missing(ms, page, page + PAGE), 0) != FITS)
		return WALK_ENOMEM;
	if (grow && regions_refused(ms, regions_after(ms, page,
						      ms->stack_start, prot)))
		return WALK_ENOMEM;
	if (oracle_refuses(o, page, false))
		return WALK_ENOMEM;
	if (grow) {
		regions_store(ms, page, ms->stack_start, prot);
		ms->stack_start = page;
	}
	if (access & ACC_W)
		p = page_map(ms, page, prot_to_pte(prot), frame_new(ms));
	else
		p = page_map(ms, page, (prot_to_pte(prot) & ~PTE_W) | PTE_COW,
			     NULL);
	ms->nr_faults++;
translated:
	if (!peek)
		p->pte |= PTE_A | (access & ACC_W ? PTE_D : 0);
	ms->nr_translations++;
	*fault = 0;
	return WALK_OK;
fault:
	ms->nr_fault_errors++;
	*fault = code;
	return WALK_FAULT;
}

/* ---- Single-threaded ops: generate, call, predict, compare, apply ---- */

/* The result, and whether the model allowed it; complain if not. */
static bool judge(const struct expect *e, int ret)
{
	char a[96], b[32];

	if (expect_allows(e, ret))
		return true;
	mismatch("returned %s, the model expects %s%s",
		 ret_str(ret, b, sizeof(b)), expect_str(e, a, sizeof(a)),
		 ret == -ENOMEM ? " (no fault point fired, no limit reached)" :
		 "");
	return false;
}

/*
 * An ENOMEM the model did not predict, from a call whose arguments were
 * valid: fine when an armed fault point fired (then nothing may have
 * changed, which the dumps check).
 */
static bool enomem_injected(int ret, bool fired)
{
	if (ret != -ENOMEM || !fired)
		return false;
	g.injected_enomem++;
	return true;
}

static int space_fd(struct mspace *ms)
{
	return ms->fds[rnd(&g.rng, ms->nr_fds)];
}

static bool arm_maybe(struct armed *a)
{
	a->mode = ARM_NONE;
	if (g.have_debugfs && chance(&g.rng, 12))
		fault_arm(&g.rng, a);
	return a->mode != ARM_NONE;
}

static void op_mmap(struct mspace *ms)
{
	struct rng *r = &g.rng;
	struct torusmm_mmap req = { 0 }, sent;
	enum ptr_kind pk = pick_ptr(r);
	struct expect e = { 0 };
	__u64 start = 0, len, end = 0;
	bool fixed, populate, valid, placed = false;
	struct armed armed;
	enum fit fit = FITS;
	struct view v;
	bool fired;
	int fd = space_fd(ms), ret;

	view_of(ms, &v);
	req.flags = chance(r, 45) ? 0 : rnd(r, 8);
	if (chance(r, 3))
		req.flags |= 1u << (3 + rnd(r, 29));
	if (chance(r, 8)) {
		/* The whole window from no hint: what placement gets wrong. */
		req.addr = 0;
		req.length = window_lengths[rnd(r, ARRAY_SIZE(window_lengths))];
		req.flags &= ~(TORUSMM_MAP_FIXED | TORUSMM_MAP_FIXED_NOREPLACE);
	} else {
		req.addr = chance(r, 30) ? 0 : pick_addr(r, &v);
		if (!chance(r, 10))
			req.addr &= ~(PAGE - 1);
		req.length = pick_len(r, &v, req.addr);
	}
	req.prot = pick_prot(r);
	/* A populate of the whole torus zeroes it all: keep it rare. */
	if ((req.flags & TORUSMM_MAP_POPULATE) && req.length > 256 * PAGE &&
	    chance(r, 85))
		req.flags &= ~TORUSMM_MAP_POPULATE;
	sent = req;
	op_begin("MMAP space %u fd %d {addr=%#llx, length=%#llx, prot=%#x, flags=%#x} arg %s",
		 ms->id, fd, (unsigned long long)req.addr,
		 (unsigned long long)req.length, req.prot, req.flags,
		 ptr_names[pk]);

	fixed = req.flags & (TORUSMM_MAP_FIXED | TORUSMM_MAP_FIXED_NOREPLACE);
	populate = (req.flags & TORUSMM_MAP_POPULATE) &&
		   prot_normalise(req.prot) != 0;
	len = page_align(min_u64(req.length, SZ_4G));
	if (!ptr_works(pk, ARG_INOUT)) {
		e.errs = E_EFAULT;
	} else {
		if (!req.length || req.length > SZ_4G || (req.prot & ~TP_MASK) ||
		    (req.flags & ~MAP_MASK) ||
		    (fixed && (req.addr % PAGE || req.addr > U32_LIMIT)))
			e.errs |= E_EINVAL;
		if (fixed && req.addr < USER_MIN)
			e.errs |= E_EPERM;
	}
	valid = !e.errs;
	/*
	 * Frames a populate can never have, wherever it goes: the kernel
	 * may find that out before it looks for the place.
	 */
	if (valid && populate && len <= STACK_TOP - USER_MIN &&
	    ((ms->max_frames && len / PAGE > ms->max_frames) ||
	     len / PAGE > torus_free(ms->torus)))
		e.errs |= E_ENOMEM;
	if (valid) {
		if (len > STACK_TOP - USER_MIN) {
			e.errs |= E_ENOMEM;
		} else if (fixed) {
			start = req.addr;
			placed = true;
			if (start + len > STACK_TOP) {
				e.errs |= E_ENOMEM;
				placed = false;
			}
			if ((req.flags & TORUSMM_MAP_FIXED_NOREPLACE) &&
			    !range_free(ms->regions, ms->nr_regions, start,
					start + len)) {
				e.errs |= E_EEXIST;
				placed = false;
			}
		} else {
			__u64 hint = req.addr > U32_LIMIT ? 0 :
				     page_align(req.addr);

			placed = true;
			if (hint >= USER_MIN && hint + len <= STACK_TOP &&
			    range_free(ms->regions, ms->nr_regions, hint,
				       hint + len))
				start = hint;
			else if (!find_gap(ms->regions, ms->nr_regions, len,
					   &start))
				placed = false;
			if (!placed)
				e.errs |= E_ENOMEM;
		}
	}
	if (placed) {
		end = start + len;
		e.ok = true;
		if (regions_refused(ms, regions_after(ms, start, end,
						      prot_normalise(req.prot))))
			fit = DOES_NOT_FIT;
		else if (populate)
			fit = frames_fit(ms, len / PAGE +
					 tables_missing(ms, start, end),
					 data_frames_in(ms, start, end));
		if (fit != FITS)
			e.errs |= E_ENOMEM;
		if (fit == DOES_NOT_FIT)
			e.ok = false;
	}

	arm_maybe(&armed);
	ret = call_arg(fd, TORUSMM_MMAP, pk, &req, sizeof(req));
	fired = fault_disarm(&armed);
	ms->dirty = true;
	if (!expect_allows(&e, ret) && !(valid && enomem_injected(ret, fired))) {
		judge(&e, ret);
		if (!ret)
			mismatch("mapped [%#llx, %#llx)",
				 (unsigned long long)req.addr,
				 (unsigned long long)(req.addr + len));
		ms->broken = true;
		return;
	}
	if (ret)
		return;
	if (req.addr != start || req.length != sent.length ||
	    req.prot != sent.prot || req.flags != sent.flags) {
		mismatch("mapped at %#llx, the model expects %#llx",
			 (unsigned long long)req.addr,
			 (unsigned long long)start);
		mismatch("written back: length %#llx prot %#x flags %#x",
			 (unsigned long long)req.length, req.prot, req.flags);
		ms->broken = true;
		return;
	}
	regions_store(ms, start, end, prot_normalise(req.prot));
	pages_unmap(ms, start, end);
	stack_hit(ms, start, end);
	if (populate) {
		__u64 va;

		for (va = start; va < end; va += PAGE)
			page_map(ms, va, prot_to_pte(prot_normalise(req.prot)),
				 frame_new(ms));
	}
}

static void op_munmap(struct mspace *ms)
{
	struct rng *r = &g.rng;
	struct torusmm_munmap req = { 0 };
	enum ptr_kind pk = pick_ptr(r);
	struct expect e = { 0 };
	struct armed armed;
	struct view v;
	__u64 end = 0;
	bool fired, valid;
	int fd = space_fd(ms), ret;

	view_of(ms, &v);
	switch (rnd(r, 25)) {
	case 0:
		/* Everything, the stack included. */
		req.addr = USER_MIN;
		req.length = STACK_TOP - USER_MIN;
		break;
	case 1:
		req.addr = ms->stack_start;
		req.length = STACK_TOP - ms->stack_start;
		break;
	default:
		req.addr = pick_addr(r, &v);
		if (!chance(r, 5))
			req.addr &= ~(PAGE - 1);
		req.length = pick_len(r, &v, req.addr);
		break;
	}
	req.flags = pick_reserved(r);
	req.reserved = pick_reserved(r);
	op_begin("MUNMAP space %u fd %d {addr=%#llx, length=%#llx, flags=%#x, reserved=%#x} arg %s",
		 ms->id, fd, (unsigned long long)req.addr,
		 (unsigned long long)req.length, req.flags, req.reserved,
		 ptr_names[pk]);
	if (!ptr_works(pk, ARG_IN)) {
		e.errs = E_EFAULT;
	} else if (req.flags || req.reserved || req.addr > U32_LIMIT ||
		   req.addr % PAGE || !req.length || req.length > SZ_4G ||
		   req.addr + page_align(req.length) > STACK_TOP) {
		e.errs = E_EINVAL;
	} else {
		end = req.addr + page_align(req.length);
		e.ok = true;
		if (regions_refused(ms, regions_after(ms, req.addr, end, -1))) {
			e.ok = false;
			e.errs = E_ENOMEM;
		}
	}
	valid = !(e.errs & (E_EFAULT | E_EINVAL));
	arm_maybe(&armed);
	ret = call_arg(fd, TORUSMM_MUNMAP, pk, &req, sizeof(req));
	fired = fault_disarm(&armed);
	ms->dirty = true;
	if (!expect_allows(&e, ret) && !(valid && enomem_injected(ret, fired))) {
		judge(&e, ret);
		ms->broken = true;
		return;
	}
	if (ret)
		return;
	/* Only when something was mapped there: nothing else changes. */
	if (!range_free(ms->regions, ms->nr_regions, req.addr, end))
		stack_hit(ms, req.addr, end);
	regions_store(ms, req.addr, end, -1);
	pages_unmap(ms, req.addr, end);
}

static void op_mprotect(struct mspace *ms)
{
	struct rng *r = &g.rng;
	struct torusmm_mprotect req = { 0 };
	enum ptr_kind pk = pick_ptr(r);
	struct expect e = { 0 };
	struct armed armed;
	struct view v;
	__u64 end = 0;
	__u32 prot, pte;
	bool fired, valid;
	int fd = space_fd(ms), ret;

	view_of(ms, &v);
	req.addr = pick_addr(r, &v);
	if (!chance(r, 5))
		req.addr &= ~(PAGE - 1);
	req.length = chance(r, 3) ? 0 : pick_len(r, &v, req.addr);
	/* Mostly ranges that are mapped, so that something changes. */
	if (chance(r, 40) && v.nr) {
		const struct mregion *rg = &v.regions[rnd(r, v.nr)];

		req.addr = rg->start + rnd(r, (rg->end - rg->start) / PAGE) * PAGE;
		req.length = (1 + rnd(r, (rg->end - req.addr) / PAGE)) * PAGE;
	}
	req.prot = pick_prot(r);
	req.flags = pick_reserved(r);
	prot = prot_normalise(req.prot);
	op_begin("MPROTECT space %u fd %d {addr=%#llx, length=%#llx, prot=%#x, flags=%#x} arg %s",
		 ms->id, fd, (unsigned long long)req.addr,
		 (unsigned long long)req.length, req.prot, req.flags,
		 ptr_names[pk]);
	if (!ptr_works(pk, ARG_IN)) {
		e.errs = E_EFAULT;
	} else if (req.flags || (req.prot & ~TP_MASK) || req.addr % PAGE ||
		   req.addr > U32_LIMIT || req.length > SZ_4G ||
		   req.addr + page_align(req.length) > SZ_4G) {
		e.errs = E_EINVAL;
	} else if (!req.length) {
		e.ok = true;
	} else {
		end = req.addr + page_align(req.length);
		if (end > STACK_TOP ||
		    !range_covered(ms->regions, ms->nr_regions, req.addr, end) ||
		    regions_refused(ms, regions_after(ms, req.addr, end, prot)))
			e.errs = E_ENOMEM;
		else
			e.ok = true;
	}
	valid = !(e.errs & (E_EFAULT | E_EINVAL));
	arm_maybe(&armed);
	ret = call_arg(fd, TORUSMM_MPROTECT, pk, &req, sizeof(req));
	fired = fault_disarm(&armed);
	ms->dirty = true;
	if (!expect_allows(&e, ret) && !(valid && enomem_injected(ret, fired))) {
		judge(&e, ret);
		ms->broken = true;
		return;
	}
	if (ret || !req.length)
		return;
	regions_store(ms, req.addr, end, prot);
	pte = prot_to_pte(prot);
	pages_each(ms, req.addr, end, protect_one, &pte);
}

static void op_brk(struct mspace *ms)
{
	struct rng *r = &g.rng;
	struct torusmm_brk req = { 0 };
	enum ptr_kind pk = pick_ptr(r);
	struct expect e = { 0 };
	__u64 old_top, new_top, want;
	struct armed armed;
	struct view v;
	bool fired;
	int fd = space_fd(ms), ret;

	view_of(ms, &v);
	switch (rnd(r, 12)) {
	case 0:
		req.addr = chance(r, 50) ? 0 : rnd(r, HEAP_START);
		break;
	case 1:
		req.addr = edge_addrs[rnd(r, ARRAY_SIZE(edge_addrs))];
		break;
	case 2:
		req.addr = HEAP_START;
		break;
	case 3:
		req.addr = pick_addr(r, &v);
		break;
	case 4:
	case 5:
		req.addr = ms->brk - min_u64(ms->brk - HEAP_START,
					     rnd(r, 64 * PAGE));
		break;
	default:
		req.addr = ms->brk + rnd(r, 64 * PAGE);
		break;
	}
	req.flags = pick_reserved(r);
	req.reserved = pick_reserved(r);
	req.result = rng_next(r);	/* out only: ignored */
	op_begin("BRK space %u fd %d {addr=%#llx, flags=%#x, reserved=%#x} arg %s",
		 ms->id, fd, (unsigned long long)req.addr, req.flags,
		 req.reserved, ptr_names[pk]);
	want = ms->brk;
	old_top = page_align(ms->brk);
	new_top = page_align(req.addr);
	if (!ptr_works(pk, ARG_INOUT)) {
		e.errs = E_EFAULT;
	} else if (req.flags || req.reserved || req.addr > U32_LIMIT) {
		e.errs = E_EINVAL;
	} else {
		e.ok = true;
		if (req.addr < HEAP_START || new_top > STACK_TOP)
			want = ms->brk;
		else if (new_top > old_top &&
			 (!range_free(ms->regions, ms->nr_regions, old_top,
				      new_top) ||
			  regions_refused(ms, regions_after(ms, old_top, new_top,
							    TP_RW))))
			want = ms->brk;
		else if (new_top < old_top &&
			 regions_refused(ms, regions_after(ms, new_top, old_top,
							   -1)))
			want = ms->brk;
		else
			want = req.addr;
	}
	arm_maybe(&armed);
	ret = call_arg(fd, TORUSMM_BRK, pk, &req, sizeof(req));
	fired = fault_disarm(&armed);
	ms->dirty = true;
	if (!judge(&e, ret)) {
		ms->broken = true;
		return;
	}
	if (ret)
		return;
	/* A fault point may keep the break where it was, as brk(2) can. */
	if (req.result == ms->brk && want != ms->brk && fired) {
		g.injected_enomem++;
		return;
	}
	if (req.result != want) {
		mismatch("break %#llx, the model expects %#llx (it was %#x)",
			 (unsigned long long)req.result,
			 (unsigned long long)want, ms->brk);
		ms->broken = true;
		return;
	}
	if (want == ms->brk)
		return;
	if (new_top > old_top)
		regions_store(ms, old_top, new_top, TP_RW);
	if (new_top < old_top) {
		regions_store(ms, new_top, old_top, -1);
		pages_unmap(ms, new_top, old_top);
		stack_hit(ms, new_top, old_top);
	}
	ms->brk = want;
}

static __u64 pick_access_addr(struct rng *r, const struct view *v)
{
	__u64 a = pick_addr(r, v);

	if (chance(r, 30))
		a += rnd(r, PAGE);
	return a;
}

static void op_translate(struct mspace *ms)
{
	static const __u32 accesses[] = {
		0, ACC_W, ACC_U, ACC_X, ACC_U | ACC_W, ACC_U | ACC_X,
	};
	struct rng *r = &g.rng;
	struct torusmm_translate req = { 0 }, sent;
	enum ptr_kind pk = pick_ptr(r);
	struct expect e = { 0 };
	struct oracle o = { 0 };
	struct armed armed;
	struct mpage *p;
	enum walk w;
	struct view v;
	__u32 fault, want_pte;
	__u64 want_tpa;
	bool fired, peek;
	int fd = space_fd(ms), ret, want;

	view_of(ms, &v);
	req.addr = pick_access_addr(r, &v);
	req.access = chance(r, 94) ? accesses[rnd(r, ARRAY_SIZE(accesses))] :
		     chance(r, 50) ? ACC_W | ACC_X : 1u << rnd(r, 32);
	req.flags = chance(r, 80) ? 0 : chance(r, 85) ?
		    TORUSMM_TRANSLATE_PEEK : 1u << rnd(r, 32);
	req.tpa = rng_next(r);	/* out only: ignored */
	req.fault = rng_next(r);
	req.pte = rng_next(r);
	sent = req;
	peek = req.flags & TORUSMM_TRANSLATE_PEEK;
	op_begin("TRANSLATE space %u fd %d {addr=%#llx, access=%#x, flags=%#x} arg %s",
		 ms->id, fd, (unsigned long long)req.addr, req.access,
		 req.flags, ptr_names[pk]);
	if (!ptr_works(pk, ARG_INOUT))
		e.errs = E_EFAULT;
	else if ((req.access & ~ACC_MASK) ||
		 (req.access & (ACC_W | ACC_X)) == (ACC_W | ACC_X) ||
		 (req.flags & ~TORUSMM_TRANSLATE_PEEK) || req.addr > U32_LIMIT)
		e.errs = E_EINVAL;
	else
		e.ok = true;
	arm_maybe(&armed);
	ret = call_arg(fd, TORUSMM_TRANSLATE, pk, &req, sizeof(req));
	fired = fault_disarm(&armed);
	ms->dirty = true;
	if (!e.ok) {
		if (!judge(&e, ret))
			ms->broken = true;
		return;
	}
	o.injected = fired && ret == -ENOMEM;
	w = sim_walk(ms, req.addr, req.access, peek, &fault, &o);
	if (w == WALK_ENOMEM) {
		if (o.injected)
			g.injected_enomem++;
		e = (struct expect){ .errs = E_ENOMEM };
		if (!judge(&e, ret))
			ms->broken = true;
		return;
	}
	e = (struct expect){ .ok = true };
	if (!judge(&e, ret)) {
		ms->broken = true;
		return;
	}
	/* The entry names the frame: learn it, or check it is the same. */
	p = page_lookup(ms, req.addr);
	if (p && p->pte && (req.pte & PTE_FLAGS) == p->pte &&
	    !frame_learn(ms, p, req.addr, req.pte & TORUSMM_PTE_FRAME_MASK)) {
		ms->broken = true;
		return;
	}
	want_pte = p && p->pte ? p->pte | page_tpa(p) : 0;
	want_tpa = w == WALK_OK ? page_tpa(p) | (req.addr & (PAGE - 1)) : 0;
	want = w == WALK_FAULT;
	if (ret != want || req.tpa != want_tpa ||
	    req.fault != (want ? fault : 0) || req.pte != want_pte ||
	    req.addr != sent.addr || req.access != sent.access ||
	    req.flags != sent.flags) {
		mismatch("kernel: returned %d tpa %#llx fault %#x pte %#x",
			 ret, (unsigned long long)req.tpa, req.fault, req.pte);
		mismatch("model:  returns  %d tpa %#llx fault %#x pte %#x",
			 want, (unsigned long long)want_tpa,
			 want ? fault : 0, want_pte);
		ms->broken = true;
	}
}

/*
 * An address in a page that holds a frame, written to if one is found:
 * what a read must give back.  Return: 0 when the space has no frame.
 */
static __u64 pick_data_addr(struct rng *r, const struct mspace *ms)
{
	unsigned int slots[NR_SLOTS], n = 0, i, tries;
	__u64 found = 0;

	for (i = 0; i < NR_SLOTS; i++)
		if (ms->tables[i])
			slots[n++] = i;
	for (tries = 0; n && tries < 16; tries++) {
		unsigned int slot = slots[rnd(r, n)], e = rnd(r, NR_ENTRIES);
		const struct mpage *p = &ms->tables[slot]->e[e];

		if (!p->pte)
			continue;
		found = ((__u64)slot << SLOT_SHIFT) | ((__u64)e << 12);
		if (p->data)
			break;
	}
	return found ? found + rnd(r, PAGE) : 0;
}

/*
 * TORUSMM_READ and TORUSMM_WRITE: page by page through the model's MMU,
 * the bytes of a read compared with the model's, those of a write kept.
 */
static void op_rw(struct mspace *ms, bool write)
{
	struct rng *r = &g.rng;
	struct torusmm_rw req = { 0 };
	enum ptr_kind pk = pick_ptr(r);
	struct expect e = { 0 };
	struct oracle o = { 0 };
	__u64 done = 0, fault_addr = 0, canary_len, data_addr;
	__u32 fault = 0;
	struct armed armed;
	struct ubuf b;
	struct view v;
	enum walk w = WALK_OK;
	bool fired;
	int fd = space_fd(ms), ret, want;

	view_of(ms, &v);
	req.addr = pick_access_addr(r, &v);
	data_addr = write || !chance(r, 30) ? 0 : pick_data_addr(r, ms);
	if (data_addr)
		req.addr = data_addr;
	req.length = pick_rw_len(r);
	req.access = chance(r, 96) ? (chance(r, 50) ? ACC_U : 0) :
		     1u << rnd(r, 32);
	pick_buf(r, &b, req.length);
	req.buf = torusmm_ptr(b.p);
	req.fault = rng_next(r);	/* out only: ignored */
	req.done = rng_next(r);
	req.fault_addr = rng_next(r);
	op_begin("%s space %u fd %d {addr=%#llx, length=%#llx, access=%#x} buf %s arg %s",
		 write ? "WRITE" : "READ", ms->id, fd,
		 (unsigned long long)req.addr, (unsigned long long)req.length,
		 req.access, buf_names[b.kind], ptr_names[pk]);
	canary_len = min_u64(req.length, b.writable);
	if (b.kind == BUF_GOOD) {
		if (write)
			rng_fill(r, b.p, canary_len);
		else
			memset(b.p, 0xa5, canary_len);
	}
	if (!ptr_works(pk, ARG_INOUT)) {
		e.errs = E_EFAULT;
	} else {
		if ((req.access & ~ACC_U) || req.length > TORUSMM_RW_MAX ||
		    req.addr > U32_LIMIT || req.addr + req.length > SZ_4G)
			e.errs |= E_EINVAL;
		if (req.length && (write ? b.readable : b.writable) < req.length)
			e.errs |= E_EFAULT;
		e.ok = !e.errs;
	}
	arm_maybe(&armed);
	ret = call_arg(fd, write ? TORUSMM_WRITE : TORUSMM_READ, pk, &req,
		       sizeof(req));
	fired = fault_disarm(&armed);
	ms->dirty = true;
	if (!e.ok) {
		if (!judge(&e, ret))
			ms->broken = true;
		return;
	}
	o.injected = fired && ret == -ENOMEM;
	if (o.injected) {
		/* Which pages the kernel got to: the oracle's frames. */
		__u64 lo = req.addr & ~(PAGE - 1);
		__u32 cap = 1024;
		struct sink s = { .main = true };

		o.ptes = malloc(cap * sizeof(*o.ptes));
		if (dump_all(ms->fds[0], TORUSMM_DUMP_PTES, lo,
			     page_align(req.addr + req.length) - lo,
			     (void **)&o.ptes, &cap, sizeof(*o.ptes), &o.nr,
			     &s)) {
			free((void *)o.ptes);
			o.ptes = NULL;
		}
	}
	while (done < req.length) {
		__u64 at = req.addr + done;
		__u64 chunk = min_u64(req.length - done, PAGE - (at & (PAGE - 1)));
		struct mpage *p;

		w = sim_walk(ms, at, write ? ACC_W | req.access : req.access,
			     false, &fault, &o);
		if (w != WALK_OK) {
			fault_addr = at;
			break;
		}
		p = page_lookup(ms, at);
		if (write) {
			if (!p->data)
				p->data = calloc(1, PAGE);
			memcpy(p->data + (at & (PAGE - 1)), b.p + done, chunk);
		} else if (ret >= 0 && b.kind == BUF_GOOD) {
			static const unsigned char zero[PAGE];
			const unsigned char *want_bytes =
				(p->data ? p->data : zero) + (at & (PAGE - 1));

			if (memcmp(b.p + done, want_bytes, chunk)) {
				__u64 i = 0;

				while (b.p[done + i] == want_bytes[i])
					i++;
				mismatch("byte at %#llx read as %#x, the model holds %#x",
					 (unsigned long long)(at + i),
					 b.p[done + i], want_bytes[i]);
				ms->broken = true;
			}
		}
		done += chunk;
	}
	free((void *)o.ptes);
	if (w == WALK_ENOMEM) {
		if (o.injected)
			g.injected_enomem++;
		e = (struct expect){ .errs = E_ENOMEM };
		if (!judge(&e, ret))
			ms->broken = true;
		/*
		 * The pages before were walked and copied (section 7.10:
		 * READ copies straight into buf), but done is not reported:
		 * nothing to check in buf.
		 */
		return;
	}
	want = w == WALK_FAULT;
	e = (struct expect){ .ok = true };
	if (!judge(&e, ret)) {
		ms->broken = true;
		return;
	}
	if (ret != want || req.done != done ||
	    req.fault != (want ? fault : 0) ||
	    req.fault_addr != (want ? fault_addr : 0)) {
		mismatch("kernel: returned %d done %#llx fault %#x at %#llx",
			 ret, (unsigned long long)req.done, req.fault,
			 (unsigned long long)req.fault_addr);
		mismatch("model:  returns  %d done %#llx fault %#x at %#llx",
			 want, (unsigned long long)done, want ? fault : 0,
			 (unsigned long long)(want ? fault_addr : 0));
		ms->broken = true;
		return;
	}
	if (!write && b.kind == BUF_GOOD && done < canary_len &&
	    (b.p[done] != 0xa5 ||
	     memcmp(b.p + done, b.p + done + 1, canary_len - done - 1))) {
		mismatch("READ wrote to buf past the %#llx bytes it copied",
			 (unsigned long long)done);
		ms->broken = true;
	}
}

/* Whether a new space must, may or must not pass max_spaces. */
static void expect_spaces(struct expect *e, unsigned int gen)
{
	unsigned int all = g.nr_spaces, same = 0, i;
	long max = g.p_max_spaces;

	for (i = 0; i < g.nr_spaces; i++)
		same += g.spaces[i]->dev_gen == gen;
	/*
	 * Per user, or per open of the device as the first version had it:
	 * the two agree while every space came through one open.
	 */
	if (max <= 0)
		return;
	if (all >= (unsigned long)max && same >= (unsigned long)max) {
		e->ok = false;
		e->errs = E_EMFILE;
	} else if (all >= (unsigned long)max || same >= (unsigned long)max) {
		e->errs |= E_EMFILE;
	}
}

static bool cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags >= 0 && (flags & FD_CLOEXEC);
}

static void op_create(void)
{
	struct rng *r = &g.rng;
	struct torusmm_create_space req = { 0 };
	enum ptr_kind pk = pick_ptr(r);
	struct expect e = { 0 };
	struct mspace *ms;
	struct armed armed;
	__u32 quota, best = 0, i;
	bool fired, valid;
	int ret;

	switch (rnd(r, 10)) {
	case 0:
		req.torus = TORUSMM_TORUS_ANY;
		break;
	case 1:
		req.torus = chance(r, 50) ? g.nr_tori : (__u32)rng_next(r);
		break;
	default:
		req.torus = rnd(r, g.nr_tori);
		break;
	}
	switch (rnd(r, 8)) {
	case 0:
		req.max_frames = 0;
		break;
	case 1:
		req.max_frames = TORUSMM_NO_QUOTA;
		break;
	case 2:
		req.max_frames = 1 + rnd(r, 8);
		break;
	case 3:
		req.max_frames = 256 + rnd(r, 2048);
		break;
	default:
		req.max_frames = 8 + rnd(r, 256);
		break;
	}
	req.flags = pick_reserved(r);
	req.reserved = pick_reserved(r);
	op_begin("CREATE_SPACE {flags=%#x, torus=%#x, max_frames=%u, reserved=%#x} arg %s",
		 req.flags, req.torus, req.max_frames, req.reserved,
		 ptr_names[pk]);
	quota = req.max_frames ? req.max_frames :
		(__u32)(g.p_max_frames > 0 ? g.p_max_frames : 0);
	if (!ptr_works(pk, ARG_IN)) {
		e.errs = E_EFAULT;
	} else if (req.flags || req.reserved ||
		   (req.torus != TORUSMM_TORUS_ANY && req.torus >= g.nr_tori) ||
		   (g.p_max_frames > 0 && g.p_user_max_frames >= 0 &&
		    req.max_frames > (__u64)g.p_max_frames)) {
		/* The ceiling came with user_max_frames; before, a default. */
		e.errs = E_EINVAL;
	} else {
		e.ok = true;
		expect_spaces(&e, g.dev_gen);
		for (i = 0; i < g.nr_tori; i++)
			best = torus_free(i) > best ? torus_free(i) : best;
		i = req.torus == TORUSMM_TORUS_ANY ? 0 : req.torus;
		if ((req.torus == TORUSMM_TORUS_ANY ? best : torus_free(i)) < 1 ||
		    (g.p_user_max_frames > 0 &&
		     user_frames() + 1 > (__u64)g.p_user_max_frames)) {
			e.ok = false;
			e.errs |= E_ENOMEM;
		}
	}
	valid = !(e.errs & (E_EFAULT | E_EINVAL));
	arm_maybe(&armed);
	ret = call_arg(g.dev, TORUSMM_CREATE_SPACE, pk, &req, sizeof(req));
	fired = fault_disarm(&armed);
	if (!expect_allows(&e, ret) && !(valid && enomem_injected(ret, fired))) {
		judge(&e, ret);
		if (ret >= 0)
			close(ret);
		return;
	}
	if (ret < 0)
		return;
	if (!cloexec(ret))
		mismatch("space fd %d is not close-on-exec", ret);
	if (req.torus == TORUSMM_TORUS_ANY) {
		struct torusmm_space_stats st;

		/* The one with the most free frames; a tie may go either way. */
		if (torusmm_stats(ret, &st) || st.torus >= g.nr_tori ||
		    torus_free(st.torus) != best) {
			mismatch("TORUSMM_TORUS_ANY chose torus %u (%llu free), not %u free",
				 st.torus, st.torus < g.nr_tori ?
				 (unsigned long long)torus_free(st.torus) : 0,
				 best);
			close(ret);
			return;
		}
		req.torus = st.torus;
		count_ioctl();
	}
	ms = space_new(ret, req.torus, quota);
	if (g.trace)
		printf("op %llu: space %u is fd %d\n",
		       (unsigned long long)g.op_index, ms->id, ret);
}

static void op_clone(struct mspace *ms)
{
	struct rng *r = &g.rng;
	struct torusmm_clone req = { 0 };
	enum ptr_kind pk = pick_ptr(r);
	struct expect e = { 0 };
	struct armed armed;
	struct mspace *copy;
	bool fired, valid;
	int fd = space_fd(ms), ret;

	req.flags = pick_reserved(r);
	req.reserved = pick_reserved(r);
	op_begin("CLONE space %u fd %d {flags=%#x, reserved=%#x} arg %s",
		 ms->id, fd, req.flags, req.reserved, ptr_names[pk]);
	if (!ptr_works(pk, ARG_IN)) {
		e.errs = E_EFAULT;
	} else if (req.flags || req.reserved) {
		e.errs = E_EINVAL;
	} else {
		e.ok = true;
		expect_spaces(&e, ms->dev_gen);
		/*
		 * Frames of its own for its tables and directory only; every
		 * page, shared, is charged to the user all the same.
		 */
		if (torus_free(ms->torus) < ms->nr_tables ||
		    (g.p_user_max_frames > 0 &&
		     user_frames() + space_frames(ms) >
		     (__u64)g.p_user_max_frames)) {
			e.ok = false;
			e.errs |= E_ENOMEM;
		}
	}
	valid = !(e.errs & (E_EFAULT | E_EINVAL));
	arm_maybe(&armed);
	ret = call_arg(fd, TORUSMM_CLONE, pk, &req, sizeof(req));
	fired = fault_disarm(&armed);
	ms->dirty = true;
	if (!expect_allows(&e, ret) && !(valid && enomem_injected(ret, fired))) {
		judge(&e, ret);
		mismatch("source %llu frames (%u data, %u tables), quota %u; torus %u: %llu free",
			 (unsigned long long)space_frames(ms), ms->nr_pages,
			 ms->nr_tables, ms->max_frames, ms->torus,
			 (unsigned long long)torus_free(ms->torus));
		if (ret >= 0)
			close(ret);
		return;
	}
	if (ret < 0)
		return;
	if (!cloexec(ret))
		mismatch("clone fd %d is not close-on-exec", ret);
	copy = space_copy(ms, ret);
	copy->dev_gen = ms->dev_gen;
	if (g.trace)
		printf("op %llu: space %u is fd %d\n",
		       (unsigned long long)g.op_index, copy->id, ret);
}

static void op_close(struct mspace *ms)
{
	unsigned int i = rnd(&g.rng, ms->nr_fds);

	op_begin("CLOSE space %u fd %d (%u fds)", ms->id, ms->fds[i],
		 ms->nr_fds);
	if (close(ms->fds[i])) {
		trouble("close(%d): %s", ms->fds[i], strerror(errno));
		return;
	}
	ms->fds[i] = ms->fds[--ms->nr_fds];
	if (!ms->nr_fds)
		space_free_model(ms);
	else
		ms->dirty = true;
}

static void op_dup(struct mspace *ms)
{
	int fd;

	op_begin("DUP space %u fd %d", ms->id, ms->fds[0]);
	if (ms->nr_fds >= MAX_FDS)
		return;
	fd = dup(ms->fds[0]);
	if (fd < 0) {
		trouble("dup: %s", strerror(errno));
		return;
	}
	ms->fds[ms->nr_fds++] = fd;
	ms->dirty = true;
}

/* Close the device and open it again: its spaces live on. */
static void op_reopen(void)
{
	int dev;

	op_begin("REOPEN /dev/torusmm (fd %d)", g.dev);
	dev = torusmm_open();
	if (dev < 0) {
		trouble("open " TORUSMM_DEVICE ": %s", strerror(-dev));
		return;
	}
	close(g.dev);
	g.dev = dev;
	g.dev_gen++;
}

/* Create spaces until max_spaces refuses one: exactly at the ceiling. */
static void op_emfile(void)
{
	int fds[512], n = 0, ret = 0, i;
	long max = g.p_max_spaces;
	bool exact = true;
	char buf[32];

	op_begin("EMFILE probe: create spaces until EMFILE (max_spaces %ld, %u live)",
		 max, g.nr_spaces);
	if (max <= 0 || max > (long)ARRAY_SIZE(fds))
		return;
	for (i = 0; i < (int)g.nr_spaces; i++)
		exact &= g.spaces[i]->dev_gen == g.dev_gen;
	while (n < (int)ARRAY_SIZE(fds)) {
		count_ioctl();
		ret = torusmm_create_space(g.dev, TORUSMM_TORUS_ANY, 1);
		if (ret < 0)
			break;
		fds[n++] = ret;
	}
	if (ret != -EMFILE && ret != -ENOMEM)
		mismatch("creating space %d failed with %s, not EMFILE", n,
			 ret_str(ret, buf, sizeof(buf)));
	else if (ret == -EMFILE && exact && n + (long)g.nr_spaces != max)
		mismatch("EMFILE after %d more spaces, %u live: max_spaces is %ld",
			 n, g.nr_spaces, max);
	while (n)
		close(fds[--n]);
}

/* Expected entries of a dump of [addr, end). */
static __u64 model_ptes(struct mspace *ms, __u64 addr, __u64 end)
{
	return pages_count(ms, addr, end);
}

static void op_dump(struct mspace *ms, bool ptes)
{
	struct rng *r = &g.rng;
	struct torusmm_dump req = { 0 };
	enum ptr_kind pk = pick_ptr(r);
	size_t size = ptes ? sizeof(struct torusmm_pte) :
			     sizeof(struct torusmm_region);
	struct expect e = { 0 };
	__u64 n = 0, end = 0, cap, bytes;
	struct ubuf b;
	struct view v;
	int fd = space_fd(ms), ret;

	view_of(ms, &v);
	if (ptes) {
		switch (rnd(r, 4)) {
		case 0:
			req.addr = 0;
			req.length = 0;
			break;
		case 1:
			req.addr = pick_addr(r, &v);
			req.length = pick_len(r, &v, req.addr);
			break;
		default:
			req.addr = pick_addr(r, &v) & ~(PAGE - 1);
			req.length = (1 + rnd(r, 64)) * PAGE - rnd(r, 2);
			break;
		}
	} else if (chance(r, 4)) {
		req.addr = chance(r, 50) ? PAGE : 0;
		req.length = req.addr ? 0 : PAGE;
	}
	req.flags = pick_reserved(r);
	if (ptes && !req.flags && req.addr % PAGE == 0 &&
	    req.addr <= U32_LIMIT && req.length <= SZ_4G &&
	    (req.length ? req.addr + req.length : SZ_4G) <= SZ_4G) {
		end = req.length ? req.addr + req.length : SZ_4G;
		n = model_ptes(ms, req.addr, end);
	} else if (!ptes) {
		n = ms->nr_regions;
	}
	switch (rnd(r, 8)) {
	case 0:
		req.count = 0;
		break;
	case 1:
		req.count = n ? n - 1 : 0;
		break;
	case 2:
		req.count = chance(r, 50) ? TORUSMM_DUMP_MAX + 1 : 0xffffffff;
		break;
	case 3:
		req.count = 1 + rnd(r, 4);
		break;
	default:
		req.count = n + rnd(r, 4);
		break;
	}
	cap = min_u64(req.count, TORUSMM_DUMP_MAX);
	pick_buf(r, &b, n * size);
	if (b.kind == BUF_GOOD)
		memset(b.p, 0x5a, min_u64(b.writable, (n + 4) * size));
	req.buf = torusmm_ptr(b.p);
	op_begin("DUMP_%s space %u fd %d {addr=%#llx, length=%#llx, count=%u, flags=%#x}",
		 ptes ? "PTES" : "REGIONS", ms->id, fd,
		 (unsigned long long)req.addr, (unsigned long long)req.length,
		 req.count, req.flags);
	op_note(" buf %s arg %s", buf_names[b.kind], ptr_names[pk]);
	bytes = n * size;
	if (!ptr_works(pk, ARG_INOUT)) {
		e.errs = E_EFAULT;
	} else if (req.flags || (ptes && !end) ||
		   (!ptes && (req.addr || req.length))) {
		e.errs = E_EINVAL;
	} else if (n > cap) {
		e.errs = E_E2BIG;
	} else if (n && b.writable < bytes) {
		e.errs = E_EFAULT;
	} else {
		e.ok = true;
	}
	ret = call_arg(fd, ptes ? TORUSMM_DUMP_PTES : TORUSMM_DUMP_REGIONS, pk,
		       &req, sizeof(req));
	ms->dirty = true;
	if (!judge(&e, ret))
		return;
	if (ret == -E2BIG || ret == 0) {
		if (pk == PTR_GOOD && req.count != n)
			mismatch("count %u, the model has %llu entries",
				 req.count, (unsigned long long)n);
		/* "nothing is written to buf" */
		if (ret == -E2BIG && b.kind == BUF_GOOD && bytes &&
		    (b.p[0] != 0x5a ||
		     memcmp(b.p, b.p + 1, min_u64(b.writable, bytes) - 1)))
			mismatch("E2BIG, but buf was written to");
	}
	/* The entries themselves: the post-op check compares the same. */
	if (ret == 0 && b.kind == BUF_GOOD && n && ptes) {
		struct torusmm_pte *p = (struct torusmm_pte *)b.p;
		__u64 i;

		for (i = 0; i < n; i++) {
			struct mpage *mp = page_lookup(ms, p[i].addr);

			if (!mp || !mp->pte || p[i].addr < req.addr ||
			    p[i].addr >= end ||
			    (p[i].pte & PTE_FLAGS) != mp->pte) {
				mismatch("entry %llu of the window: %#x = %#x",
					 (unsigned long long)i, p[i].addr,
					 p[i].pte);
				break;
			}
		}
	}
}

/* ---- TORUSMM_GET_DIRTY_LOG, TORUSMM_CLEAR_DIRTY_LOG, TORUSMM_GET_ACCESS_LOG ---- */

enum log_kind { LOG_GET_DIRTY, LOG_CLEAR_DIRTY, LOG_GET_ACCESS };

#define LOG_UNIT	(TORUSMM_LOG_CLEAR_PAGES * PAGE)

/*
 * A range for a log ioctl: mostly valid for its kind, sometimes off by one
 * of the rules of section 7.14 (unaligned, empty, past 4 GiB, not in
 * 64-page units), sometimes the whole 4 GiB or its end.
 */
static void pick_log_range(struct rng *r, const struct view *v, bool clear,
			   __u64 *addr, __u64 *length)
{
	__u64 a = pick_addr(r, v) & U32_LIMIT & ~(PAGE - 1), len;

	if (clear || chance(r, 20))
		a &= ~(LOG_UNIT - 1);
	len = chance(r, 50) ? (1 + rnd(r, 4)) * LOG_UNIT :
	      (1 + rnd(r, 300)) * PAGE;
	if (clear && chance(r, 85))
		len = (len + LOG_UNIT - 1) & ~(LOG_UNIT - 1);
	if (a + len > SZ_4G)
		len = SZ_4G - a;
	switch (rnd(r, 24)) {
	case 0:
		a = 0;
		len = SZ_4G;
		break;
	case 1:		/* ends at 4 GiB: any length will do for clear */
		a = SZ_4G - LOG_UNIT * (1 + rnd(r, 4));
		len = SZ_4G - a - rnd(r, 2) * PAGE * (1 + rnd(r, 63));
		break;
	case 2:
		a += 1 + rnd(r, PAGE - 1);
		break;
	case 3:
		len += 1 + rnd(r, PAGE - 1);
		break;
	case 4:
		len = 0;
		break;
	case 5:
		len += PAGE * (1 + rnd(r, 64));
		if (chance(r, 50))
			a = SZ_4G - PAGE * rnd(r, 64);
		break;
	case 6:
		a = chance(r, 50) ? SZ_4G : rng_next(r) & ~(PAGE - 1);
		break;
	case 7:
		len = chance(r, 50) ? SZ_4G + LOG_UNIT : rng_next(r) & ~(PAGE - 1);
		break;
	case 8:
		a += PAGE * (1 + rnd(r, 63));
		break;
	default:
		break;
	}
	*addr = a;
	*length = len;
}

struct log_walk {
	__u64 start;
	__u32 bit;
	bool clear;
	const __u64 *select;	/* the pages to clear; NULL: every page */
	__u64 *report;		/* the bitmap to fill, or NULL */
	__u32 count;
};

static void log_one(struct mspace *ms, __u64 va, void *data)
{
	struct log_walk *lw = data;
	struct mpage *p = page_lookup(ms, va);
	__u64 n = (va - lw->start) >> 12;

	if (!(p->pte & lw->bit))
		return;
	if (lw->select && !((lw->select[n / 64] >> (n % 64)) & 1))
		return;
	if (lw->report)
		lw->report[n / 64] |= 1ull << (n % 64);
	if (lw->clear)
		p->pte &= ~lw->bit;
	lw->count++;
}

/*
 * One of the log ioctls, with edge-case ranges, flags and bitmap pointers;
 * on success the bitmap and count must be the model's, and the bits the
 * model clears must be gone from the dumps.
 */
static void op_log(struct mspace *ms, enum log_kind kind)
{
	static const unsigned long cmds[] = {
		TORUSMM_GET_DIRTY_LOG, TORUSMM_CLEAR_DIRTY_LOG,
		TORUSMM_GET_ACCESS_LOG,
	};
	static const char *const names[] = {
		"GET_DIRTY_LOG", "CLEAR_DIRTY_LOG", "GET_ACCESS_LOG",
	};
	struct rng *r = &g.rng;
	struct torusmm_log req = { 0 }, sent;
	enum ptr_kind pk = pick_ptr(r);
	struct log_walk lw = { 0 };
	struct expect e = { 0 };
	__u64 end, bytes = 0, canary = 0, *want = NULL;
	unsigned char *before = NULL;
	bool clear = kind == LOG_CLEAR_DIRTY, get = !clear, fired, valid;
	struct armed armed;
	struct ubuf b;
	struct view v;
	int fd = space_fd(ms), ret;

	view_of(ms, &v);
	pick_log_range(r, &v, clear, &req.addr, &req.length);
	end = req.addr + req.length;
	if (kind == LOG_GET_DIRTY)
		req.flags = chance(r, 92) ? (chance(r, 50) ? TORUSMM_LOG_CLEAR : 0) :
			    1u << rnd(r, 32);
	else
		req.flags = chance(r, 94) ? 0 : 1u << rnd(r, 32);
	req.count = rng_next(r);	/* out only: ignored */
	if (req.length && req.length <= SZ_4G)
		bytes = ((req.length / PAGE + 63) / 64) * 8;
	pick_buf(r, &b, bytes);
	req.bitmap = torusmm_ptr(b.p);
	sent = req;
	op_begin("%s space %u fd %d {addr=%#llx, length=%#llx, flags=%#x} bitmap %s (%#llx) arg %s",
		 names[kind], ms->id, fd, (unsigned long long)req.addr,
		 (unsigned long long)req.length, req.flags, buf_names[b.kind],
		 (unsigned long long)bytes, ptr_names[pk]);
	if (b.kind == BUF_GOOD) {
		/* Get writes every word and no more; clear only reads. */
		canary = min_u64(bytes + 64, b.writable);
		if (clear) {
			rng_fill(r, b.p, canary);
			if (chance(r, 30))
				memset(b.p, 0xff, bytes);
			before = malloc(canary);
			memcpy(before, b.p, canary);
		} else {
			memset(b.p, 0xa5, canary);
		}
	}
	if (!ptr_works(pk, ARG_INOUT)) {
		e.errs = E_EFAULT;
	} else if ((req.addr | req.length) & (PAGE - 1) || !req.length ||
		   req.addr > SZ_4G || req.length > SZ_4G || end > SZ_4G ||
		   (req.flags & ~(kind == LOG_GET_DIRTY ? TORUSMM_LOG_CLEAR : 0)) ||
		   (clear && (req.addr % LOG_UNIT ||
			      (end != SZ_4G && req.length % LOG_UNIT)))) {
		e.errs = E_EINVAL;
	} else if ((get ? b.writable : b.readable) < bytes) {
		e.errs = E_EFAULT;
	} else {
		e.ok = true;
	}
	valid = e.ok;
	arm_maybe(&armed);
	ret = call_arg(fd, cmds[kind], pk, &req, sizeof(req));
	fired = fault_disarm(&armed);
	ms->dirty = true;
	if (!expect_allows(&e, ret) && !(valid && enomem_injected(ret, fired))) {
		judge(&e, ret);
		ms->broken = true;
		goto out;
	}
	if (ret)
		goto out;

	want = calloc(bytes / 8, 8);
	lw.start = req.addr;
	lw.bit = kind == LOG_GET_ACCESS ? PTE_A : PTE_D;
	lw.clear = kind != LOG_GET_DIRTY || (req.flags & TORUSMM_LOG_CLEAR);
	lw.select = clear ? (const __u64 *)b.p : NULL;
	lw.report = get ? want : NULL;
	pages_each(ms, req.addr, end, log_one, &lw);
	if (req.count != lw.count || req.addr != sent.addr ||
	    req.length != sent.length || req.bitmap != sent.bitmap ||
	    req.flags != sent.flags) {
		mismatch("count %u, the model %u; written back addr %#llx length %#llx flags %#x",
			 req.count, lw.count, (unsigned long long)req.addr,
			 (unsigned long long)req.length, req.flags);
		ms->broken = true;
	}
	if (get && memcmp(b.p, want, bytes)) {
		__u64 w = 0, word;

		while (!memcmp(b.p + 8 * w, &want[w], 8))
			w++;
		memcpy(&word, b.p + 8 * w, 8);
		mismatch("bitmap word %llu (pages from %#llx) is %#llx, the model's %#llx",
			 (unsigned long long)w,
			 (unsigned long long)(req.addr + w * 64 * PAGE),
			 (unsigned long long)word, (unsigned long long)want[w]);
		ms->broken = true;
	} else if (get && canary > bytes &&
		   (b.p[bytes] != 0xa5 ||
		    memcmp(b.p + bytes, b.p + bytes + 1, canary - bytes - 1))) {
		mismatch("the bitmap was written past its %#llx bytes",
			 (unsigned long long)bytes);
		ms->broken = true;
	}
	if (clear && before && memcmp(before, b.p, canary)) {
		mismatch("CLEAR_DIRTY_LOG wrote to its bitmap");
		ms->broken = true;
	}
out:
	free(want);
	free(before);
}

static void op_stats(struct mspace *ms)
{
	struct torusmm_space_stats st;
	enum ptr_kind pk = pick_ptr(&g.rng);
	struct expect e = { 0 };
	int fd = space_fd(ms), ret;

	op_begin("GET_STATS space %u fd %d arg %s", ms->id, fd, ptr_names[pk]);
	memset(&st, 0xff, sizeof(st));	/* out only */
	if (ptr_works(pk, ARG_OUT))
		e.ok = true;
	else
		e.errs = E_EFAULT;
	ret = call_arg(fd, TORUSMM_GET_STATS, pk, &st, sizeof(st));
	ms->dirty = true;
	judge(&e, ret);
}

static void op_torus_info(void)
{
	struct rng *r = &g.rng;
	struct torusmm_torus_info info;
	enum ptr_kind pk = pick_ptr(r);
	struct expect e = { 0 };
	__u32 index;
	int ret;

	memset(&info, 0xff, sizeof(info));	/* out fields: ignored */
	index = chance(r, 85) ? rnd(r, g.nr_tori) :
		chance(r, 50) ? g.nr_tori : (__u32)rng_next(r);
	info.index = index;
	info.reserved = pick_reserved(r);
	op_begin("GET_TORUS_INFO {index=%u, reserved=%#x} arg %s", info.index,
		 info.reserved, ptr_names[pk]);
	if (!ptr_works(pk, ARG_INOUT))
		e.errs = E_EFAULT;
	else if (info.index >= g.nr_tori || info.reserved)
		e.errs = E_EINVAL;
	else
		e.ok = true;
	ret = call_arg(g.dev, TORUSMM_GET_TORUS_INFO, pk, &info, sizeof(info));
	if (!judge(&e, ret) || ret)
		return;
	if (info.index != index || info.nr_frames != g.tori[index].nr_frames ||
	    info.nr_used != torus_used(index) || info.reserved)
		mismatch("torus %u: index %u, %u frames, %u used, reserved %#x; model %llu used",
			 index, info.index, info.nr_frames, info.nr_used,
			 info.reserved, (unsigned long long)torus_used(index));
}

static const unsigned long space_cmds[] = {
	TORUSMM_BRK, TORUSMM_MMAP, TORUSMM_MUNMAP, TORUSMM_MPROTECT,
	TORUSMM_TRANSLATE, TORUSMM_READ, TORUSMM_WRITE, TORUSMM_CLONE,
	TORUSMM_GET_STATS, TORUSMM_DUMP_REGIONS, TORUSMM_DUMP_PTES,
	TORUSMM_GET_DIRTY_LOG, TORUSMM_CLEAR_DIRTY_LOG, TORUSMM_GET_ACCESS_LOG,
	TORUSMM_BATCH,
	/* GET_STATS as binaries built before its @id call it: 56 bytes. */
	_IOC(_IOC_READ, TORUSMMIO, 0x18,
	     offsetof(struct torusmm_space_stats, id)),
};

static const unsigned long dev_cmds[] = {
	TORUSMM_GET_API_VERSION, TORUSMM_CHECK_EXTENSION,
	TORUSMM_GET_TORUS_INFO, TORUSMM_CREATE_SPACE,
};

static bool cmd_known(unsigned long cmd, bool on_space)
{
	const unsigned long *cmds = on_space ? space_cmds : dev_cmds;
	size_t n = on_space ? ARRAY_SIZE(space_cmds) : ARRAY_SIZE(dev_cmds);
	size_t i;

	for (i = 0; i < n; i++)
		if (cmds[i] == cmd)
			return true;
	return false;
}

/* Device ioctls with odd arguments; ioctls of one class on the other. */
static void op_device(struct mspace *ms)
{
	struct rng *r = &g.rng;
	struct expect e = { 0 };
	unsigned long arg, cmd;
	bool on_space = ms && chance(r, 20);
	int fd = on_space ? space_fd(ms) : g.dev, ret, want;
	char buf[32];

	if (chance(r, 50)) {
		arg = chance(r, 80) ? 0 : rng_next(r);
		op_begin("GET_API_VERSION on %s fd %d, arg %#lx",
			 on_space ? "space" : "device", fd, arg);
		count_ioctl();
		ret = ioctl(fd, TORUSMM_GET_API_VERSION, arg);
		ret = ret < 0 ? -errno : ret;
		e.errs = on_space ? E_ENOTTY : arg ? E_EINVAL : 0;
		e.ok = !e.errs;
		if (judge(&e, ret) && ret >= 0 && ret != TORUSMM_API_VERSION)
			mismatch("API version %d", ret);
		return;
	}
	switch (rnd(r, 6)) {
	case 0:
		arg = rnd(r, 8);
		break;
	case 1:
		arg = 0x100 + rnd(r, 0x10000);
		break;
	case 2:
		arg = rng_next(r) | 0x100000;
		break;
	default:
		arg = 1 + rnd(r, 5);
		break;
	}
	cmd = TORUSMM_CHECK_EXTENSION;
	op_begin("CHECK_EXTENSION on %s fd %d, arg %#lx",
		 on_space ? "space" : "device", fd, arg);
	count_ioctl();
	ret = ioctl(fd, cmd, arg);
	ret = ret < 0 ? -errno : ret;
	if (on_space) {
		e.errs = E_ENOTTY;
		judge(&e, ret);
		return;
	}
	switch (arg) {
	case TORUSMM_CAP_NR_TORI:
		want = g.nr_tori;
		break;
	case TORUSMM_CAP_MAP_POPULATE:
	case TORUSMM_CAP_MAP_FIXED_NOREPLACE:
	case TORUSMM_CAP_TRANSLATE_PEEK:
		want = 1;
		break;
	case TORUSMM_CAP_DUMP_MAX:
		want = TORUSMM_DUMP_MAX;
		break;
	case TORUSMM_CAP_BATCH:
		want = TORUSMM_BATCH_MAX;
		break;
	default:
		/* Extensions added after this program: anything but errors. */
		want = arg < 0x100 && ret >= 0 ? ret : 0;
		break;
	}
	if (ret != want)
		mismatch("CHECK_EXTENSION %#lx returned %s, want %d", arg,
			 ret_str(ret, buf, sizeof(buf)), want);
}

/* Ioctl numbers nothing answers: ENOTTY, and nothing changes. */
static void op_bad_ioctl(struct mspace *ms)
{
	static const unsigned int sizes[] = { 0, 4, 8, 16, 24, 32, 48, 56 };
	struct rng *r = &g.rng;
	bool on_space = ms && chance(r, 60);
	int fd = on_space ? space_fd(ms) : g.dev, ret;
	struct expect e = { .errs = E_ENOTTY };
	unsigned long cmd;

	do {
		switch (rnd(r, 4)) {
		case 0:
			cmd = on_space ? dev_cmds[rnd(r, ARRAY_SIZE(dev_cmds))] :
			      space_cmds[rnd(r, ARRAY_SIZE(space_cmds))];
			break;
		case 1:
			/* A known number with another size or direction. */
			cmd = on_space ? space_cmds[rnd(r, ARRAY_SIZE(space_cmds))] :
			      dev_cmds[rnd(r, ARRAY_SIZE(dev_cmds))];
			cmd = _IOC(rnd(r, 4), _IOC_TYPE(cmd), _IOC_NR(cmd),
				   sizes[rnd(r, ARRAY_SIZE(sizes))]);
			break;
		default:
			cmd = _IOC(rnd(r, 4), TORUSMMIO, rnd(r, 0x40),
				   sizes[rnd(r, ARRAY_SIZE(sizes))]);
			break;
		}
	} while (cmd_known(cmd, on_space));
	memset(g.argbuf, 0, sizeof(g.argbuf));
	op_begin("ioctl %#lx on %s fd %d", cmd, on_space ? "space" : "device",
		 fd);
	if (ms)
		ms->dirty = true;
	ret = xioctl(fd, cmd, g.argbuf);
	count_result(ret);
	judge(&e, ret);
	if (ret >= 0 && (cmd == TORUSMM_CREATE_SPACE || cmd == TORUSMM_CLONE))
		close(ret);
}

enum st_op {
	OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_BRK, OP_TRANSLATE, OP_READ,
	OP_WRITE, OP_CLONE, OP_CREATE, OP_CLOSE, OP_DUP, OP_DUMP_REGIONS,
	OP_DUMP_PTES, OP_STATS, OP_TORUS_INFO, OP_DEVICE, OP_BAD_IOCTL,
	OP_REOPEN, OP_EMFILE, OP_DIRTY_LOG, OP_CLEAR_DIRTY_LOG, OP_ACCESS_LOG,
	NR_ST_OPS,
};

/* Weights, in thousandths. */
static const unsigned int st_weights[NR_ST_OPS] = {
	[OP_MMAP] = 190, [OP_MUNMAP] = 90, [OP_MPROTECT] = 80,
	[OP_BRK] = 60, [OP_TRANSLATE] = 140, [OP_READ] = 70,
	[OP_WRITE] = 90, [OP_CLONE] = 25, [OP_CREATE] = 25,
	[OP_CLOSE] = 20, [OP_DUP] = 6, [OP_DUMP_REGIONS] = 25,
	[OP_DUMP_PTES] = 30, [OP_STATS] = 8, [OP_TORUS_INFO] = 10,
	[OP_DEVICE] = 10, [OP_BAD_IOCTL] = 12, [OP_REOPEN] = 2,
	[OP_EMFILE] = 1, [OP_DIRTY_LOG] = 25, [OP_CLEAR_DIRTY_LOG] = 15,
	[OP_ACCESS_LOG] = 20,
};

static enum st_op pick_st_op(void)
{
	unsigned int total = 0, i, x;

	for (i = 0; i < NR_ST_OPS; i++)
		total += st_weights[i];
	x = rnd(&g.rng, total);
	for (i = 0; i < NR_ST_OPS; i++) {
		if (x < st_weights[i])
			return i;
		x -= st_weights[i];
	}
	return OP_MMAP;
}

static void st_op(void)
{
	struct sink s = { .main = true };
	enum st_op op = pick_st_op();
	struct mspace *ms = NULL;
	unsigned int i;
	bool all;

	if (!g.nr_spaces || (op == OP_CREATE && g.nr_spaces < MAX_SPACES)) {
		op = OP_CREATE;
	} else {
		ms = g.spaces[rnd(&g.rng, g.nr_spaces)];
		if ((op == OP_CREATE || op == OP_CLONE) &&
		    g.nr_spaces >= MAX_SPACES)
			op = OP_CLOSE;
	}
	/* An op with a batch form goes through TORUSMM_BATCH now and then. */
	if (g.batch && op <= OP_WRITE && op != OP_BRK)
		g.via_batch = chance(&g.rng, 15);
	switch (op) {
	case OP_MMAP:
		op_mmap(ms);
		break;
	case OP_MUNMAP:
		op_munmap(ms);
		break;
	case OP_MPROTECT:
		op_mprotect(ms);
		break;
	case OP_BRK:
		op_brk(ms);
		break;
	case OP_TRANSLATE:
		op_translate(ms);
		break;
	case OP_READ:
		op_rw(ms, false);
		break;
	case OP_WRITE:
		op_rw(ms, true);
		break;
	case OP_CLONE:
		op_clone(ms);
		break;
	case OP_CREATE:
		op_create();
		break;
	case OP_CLOSE:
		op_close(ms);
		break;
	case OP_DUP:
		op_dup(ms);
		break;
	case OP_DUMP_REGIONS:
		op_dump(ms, false);
		break;
	case OP_DUMP_PTES:
		op_dump(ms, true);
		break;
	case OP_STATS:
		op_stats(ms);
		break;
	case OP_TORUS_INFO:
		op_torus_info();
		break;
	case OP_DEVICE:
		op_device(ms);
		break;
	case OP_BAD_IOCTL:
		op_bad_ioctl(ms);
		break;
	case OP_REOPEN:
		op_reopen();
		break;
	case OP_EMFILE:
		op_emfile();
		break;
	case OP_DIRTY_LOG:
		op_log(ms, LOG_GET_DIRTY);
		break;
	case OP_CLEAR_DIRTY_LOG:
		op_log(ms, LOG_CLEAR_DIRTY);
		break;
	case OP_ACCESS_LOG:
		op_log(ms, LOG_GET_ACCESS);
		break;
	case NR_ST_OPS:
		break;
	}
	g.via_batch = false;
	all = g.op_index % 64 == 0;
	if (all || g.op_index % g.check_every == 0) {
		for (i = 0; i < g.nr_spaces; i++) {
			if (all || g.spaces[i]->dirty)
				check_space(g.spaces[i], g.spaces[i]->broken);
			g.spaces[i]->dirty = false;
		}
		quarantine();
		check_tori(&s);
	} else {
		for (i = 0; i < g.nr_spaces; i++)
			if (g.spaces[i]->broken)
				check_space(g.spaces[i], true);
		quarantine();
	}
}

/* ---- Multi-threaded phases: invariants only ---- */

struct worker {
	pthread_t tid;
	struct rng rng;
	struct sink sink;
	char who[48];
	int fd;			/* the phase space */
	__u64 nr_ops;
	bool arms;		/* this worker may arm fault points */
	bool race;		/* a close race: stop at EBADF */
	unsigned int race_kind;
	__u64 populated;	/* bytes at 0x10000000 that hold frames */
	struct view view;
	unsigned char *buf;
	struct snap snap;
	__u64 calls;		/* atomic: calls completed */
	bool gone;		/* the fd was closed under it */
};

static void worker_complain_errno(struct worker *w, const char *what,
				  int ret, unsigned int allowed)
{
	char buf[32];

	if (ret < 0 && !(errbit(-ret) & allowed))
		complain(&w->sink, "%s returned %s", what,
			 ret_str(ret, buf, sizeof(buf)));
}

/* A space made by a worker goes at once: its fd number is its own. */
static void worker_new_space(struct worker *w, int ret, const char *what)
{
	struct snap *sn = &w->snap;

	worker_complain_errno(w, what, ret,
			      E_EINVAL | E_EMFILE | E_ENOMEM | E_EFAULT |
			      (w->race ? E_EBADF : 0));
	if (ret < 0)
		return;
	if (chance(&w->rng, 30) && !snap_take(ret, sn, &w->sink))
		snap_consistent(&w->sink, sn);
	close(ret);
}

static void worker_op(struct worker *w)
{
	struct rng *r = &w->rng;
	unsigned int race_allowed = w->race ? E_EBADF : 0;
	const struct view *v = &w->view;
	int fd = w->fd, ret;

	switch (rnd(r, 24)) {
	case 0:
	case 1:
	case 2:
	case 3: {
		struct torusmm_mmap req = { 0 };
		__u64 len, hint;
		bool fixed;

		req.addr = chance(r, 30) ? 0 : pick_addr(r, v) & ~(PAGE - 1);
		req.length = chance(r, 10) ?
			window_lengths[rnd(r, ARRAY_SIZE(window_lengths))] :
			pick_len(r, v, req.addr);
		req.prot = rnd(r, 8);
		req.flags = rnd(r, 8);
		if ((req.flags & TORUSMM_MAP_POPULATE) && req.length > 64 * PAGE)
			req.flags &= ~TORUSMM_MAP_POPULATE;
		fixed = req.flags & (TORUSMM_MAP_FIXED |
				     TORUSMM_MAP_FIXED_NOREPLACE);
		len = page_align(min_u64(req.length, SZ_4G));
		hint = req.addr;

		ret = xioctl(fd, TORUSMM_MMAP, &req);
		worker_complain_errno(w, "MMAP", ret,
				      E_EINVAL | E_EPERM | E_ENOMEM | E_EEXIST |
				      race_allowed);
		if (ret)
			break;
		/* Where the mapping went must be a place it may go. */
		if (req.addr % PAGE || req.addr < USER_MIN ||
		    req.addr + len > STACK_TOP || (fixed && req.addr != hint) ||
		    (!fixed && req.addr != page_align(hint) &&
		     req.addr + len > MMAP_BASE))
			complain(&w->sink, "MMAP {%#llx, %#llx, flags %#x} placed at %#llx",
				 (unsigned long long)hint,
				 (unsigned long long)req.length, req.flags,
				 (unsigned long long)req.addr);
		break;
	}
	case 4:
	case 5: {
		struct torusmm_munmap req = { 0 };

		req.addr = pick_addr(r, v) & ~(PAGE - 1);
		req.length = pick_len(r, v, req.addr);
		if (chance(r, 5)) {
			req.addr = USER_MIN;
			req.length = STACK_TOP - USER_MIN;
		}
		ret = xioctl(fd, TORUSMM_MUNMAP, &req);
		worker_complain_errno(w, "MUNMAP", ret,
				      E_EINVAL | E_ENOMEM | race_allowed);
		break;
	}
	case 6:
	case 7: {
		struct torusmm_mprotect req = { 0 };

		req.addr = pick_addr(r, v) & ~(PAGE - 1);
		req.length = pick_len(r, v, req.addr);
		req.prot = rnd(r, 8);
		ret = xioctl(fd, TORUSMM_MPROTECT, &req);
		worker_complain_errno(w, "MPROTECT", ret,
				      E_EINVAL | E_ENOMEM | race_allowed);
		break;
	}
	case 8: {
		struct torusmm_brk req = { 0 };

		req.addr = chance(r, 50) ? v->brk + rnd(r, 32 * PAGE) :
			   pick_addr(r, v);
		ret = xioctl(fd, TORUSMM_BRK, &req);
		worker_complain_errno(w, "BRK", ret, E_EINVAL | race_allowed);
		if (!ret && (req.result < HEAP_START || req.result > U32_LIMIT))
			complain(&w->sink, "BRK %#llx: break %#llx",
				 (unsigned long long)req.addr,
				 (unsigned long long)req.result);
		break;
	}
	case 9:
	case 10:
	case 11:
	case 12: {
		struct torusmm_translate req = { 0 };
		bool zero;

		req.addr = pick_access_addr(r, v) & U32_LIMIT;
		req.access = rnd(r, 2) * ACC_U | (chance(r, 50) ? ACC_W :
						  chance(r, 30) ? ACC_X : 0);
		req.flags = chance(r, 20) ? TORUSMM_TRANSLATE_PEEK : 0;
		ret = xioctl(fd, TORUSMM_TRANSLATE, &req);
		worker_complain_errno(w, "TRANSLATE", ret,
				      E_ENOMEM | race_allowed);
		/* A read may translate to the zero frame, never a write. */
		zero = (req.tpa & TORUSMM_PTE_FRAME_MASK) == ZERO_TPA &&
		       !(req.access & ACC_W) && (req.pte & PTE_COW);
		if ((ret == 0 && (req.fault ||
				  !(zero || tpa_valid(req.tpa, ~0u)) ||
				  (req.pte & TORUSMM_PTE_FRAME_MASK) !=
				  (req.tpa & TORUSMM_PTE_FRAME_MASK))) ||
		    (ret == 1 && req.tpa) || ret > 1)
			complain(&w->sink, "TRANSLATE %#llx: %d tpa %#llx fault %#x pte %#x",
				 (unsigned long long)req.addr, ret,
				 (unsigned long long)req.tpa, req.fault,
				 req.pte);
		break;
	}
	case 13:
	case 14:
	case 15:
	case 16: {
		struct torusmm_rw req = { 0 };
		bool write = chance(r, 50);

		req.addr = pick_access_addr(r, v) & U32_LIMIT;
		req.length = min_u64(pick_rw_len(r), 64 * PAGE);
		req.buf = torusmm_ptr(w->buf);
		req.access = rnd(r, 2) * ACC_U;
		if (write)
			rng_fill(r, w->buf, min_u64(req.length, 64));
		ret = xioctl(fd, write ? TORUSMM_WRITE : TORUSMM_READ, &req);
		worker_complain_errno(w, write ? "WRITE" : "READ", ret,
				      E_EINVAL | E_ENOMEM | race_allowed);
		if ((ret == 0 && req.done != req.length) ||
		    (ret == 1 && (req.done >= req.length ||
				  req.fault_addr != req.addr + req.done)) ||
		    ret > 1)
			complain(&w->sink, "%s %#llx+%#llx: %d done %#llx fault %#x at %#llx",
				 write ? "WRITE" : "READ",
				 (unsigned long long)req.addr,
				 (unsigned long long)req.length, ret,
				 (unsigned long long)req.done, req.fault,
				 (unsigned long long)req.fault_addr);
		break;
	}
	case 17:
	case 18:
	case 19: {
		/* Dumps are snapshots: each must be well formed alone. */
		struct snap *sn = &w->snap;
		struct torusmm_dump d = { 0 };

		ret = snap_take(fd, sn, &w->sink);
		if (ret) {
			worker_complain_errno(w, "a dump", ret, race_allowed);
			break;
		}
		stats_wellformed(&w->sink, &sn->stats);
		regions_wellformed(&w->sink, sn->regions, sn->nr_regions);
		ptes_wellformed(&w->sink, sn->ptes, sn->nr_ptes, 0, SZ_4G,
				g.tori[sn->stats.torus < g.nr_tori ?
				       sn->stats.torus : 0].nr_frames);
		/* A window, and a short buffer. */
		d.buf = torusmm_ptr(sn->ptes);
		d.addr = pick_addr(r, v) & ~(PAGE - 1) & U32_LIMIT;
		d.length = (1 + rnd(r, 256)) * PAGE;
		if (d.addr + d.length > SZ_4G)
			d.length = 0;
		d.count = rnd(r, 4);
		ret = xioctl(fd, TORUSMM_DUMP_PTES, &d);
		worker_complain_errno(w, "DUMP_PTES", ret,
				      E_E2BIG | race_allowed);
		if (!ret)
			ptes_wellformed(&w->sink, sn->ptes, d.count, d.addr,
					d.length ? d.addr + d.length : SZ_4G,
					g.tori[sn->stats.torus < g.nr_tori ?
					       sn->stats.torus : 0].nr_frames);
		break;
	}
	case 20: {
		struct torusmm_clone req = { 0 };

		worker_new_space(w, xioctl(fd, TORUSMM_CLONE, &req), "CLONE");
		break;
	}
	case 21: {
		struct torusmm_create_space req = {
			.torus = TORUSMM_TORUS_ANY,
			.max_frames = rnd(r, 64),
		};

		if (w->race)
			break;
		worker_new_space(w, xioctl(g.dev, TORUSMM_CREATE_SPACE, &req),
				 "CREATE_SPACE");
		break;
	}
	default:
		if (w->arms && g.have_debugfs) {
			unsigned int site = rnd(r, NR_SITES);
			struct fault_knobs *k = &g.knobs[site];

			if (chance(r, 50)) {
				knob_write(k->probability, 0);
				knob_write(k->space, 0);
				knob_write(k->interval, 1 + rnd(r, 4));
				knob_write(k->times, chance(r, 50) ? -1 :
					   1 + rnd(r, 8));
				knob_write(k->probability, 1 + rnd(r, 30));
			} else {
				knob_write(k->probability, 0);
			}
		}
		break;
	}
}

/* The long ioctls a close may race with. */
static int race_op(struct worker *w)
{
	struct rng *r = &w->rng;
	int ret;

	switch (w->race_kind) {
	case 0: {
		struct torusmm_rw req = {
			.addr = 0x10000000,
			.length = min_u64(w->populated, TORUSMM_RW_MAX),
			.buf = torusmm_ptr(w->buf),
			.access = ACC_U,
		};

		ret = xioctl(w->fd, chance(r, 50) ? TORUSMM_READ :
			     TORUSMM_WRITE, &req);
		if (ret == 1 || (!ret && req.done != req.length))
			complain(&w->sink, "READ/WRITE of populated pages: %d, done %#llx",
				 ret, (unsigned long long)req.done);
		return ret < 0 ? ret : 0;
	}
	case 1: {
		struct torusmm_clone req = { 0 };

		ret = xioctl(w->fd, TORUSMM_CLONE, &req);
		if (ret >= 0) {
			close(ret);
			ret = 0;
		}
		return ret;
	}
	case 2: {
		struct torusmm_mmap req = {
			.addr = 0x20000000,
			.length = (1 + rnd(r, 64)) * PAGE,
			.prot = TP_RW,
			.flags = TORUSMM_MAP_FIXED | TORUSMM_MAP_POPULATE,
		};

		return xioctl(w->fd, TORUSMM_MMAP, &req);
	}
	default: {
		struct snap *sn = &w->snap;

		return snap_take(w->fd, sn, &w->sink);
	}
	}
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	__u64 i;
	int ret;

	if (!w->race) {
		for (i = 0; i < w->nr_ops; i++)
			worker_op(w);
		return NULL;
	}
	/* Until the fd is gone; a reused number ends at EBADF too. */
	for (i = 0; i < 400; i++) {
		ret = race_op(w);
		if (ret == -EBADF) {
			w->gone = true;
			break;
		}
		worker_complain_errno(w, "a raced call", ret,
				      E_ENOMEM | E_EMFILE | E_EBADF);
		__atomic_add_fetch(&w->calls, 1, __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&w->gone, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void view_from_snap(struct view *v, const struct snap *sn)
{
	struct mregion *rg = calloc(sn->nr_regions + 1, sizeof(*rg));
	__u32 i;

	for (i = 0; i < sn->nr_regions; i++)
		rg[i] = (struct mregion){ sn->regions[i].start,
					  sn->regions[i].end,
					  sn->regions[i].prot };
	v->regions = rg;
	v->nr = sn->nr_regions;
	v->brk = sn->stats.brk;
	v->stack_start = sn->stats.stack_start;
}

/*
 * A space for a phase: a clone of a modelled space, or a new one with a
 * populated range for the long calls.  Return: its fd, or -errno.
 */
static int phase_space(struct rng *r, __u64 *populated)
{
	struct torusmm_mmap m = {
		.addr = 0x10000000,
		.length = (64 + rnd(r, 256)) * PAGE,
		.prot = TP_RW,
		.flags = TORUSMM_MAP_FIXED | TORUSMM_MAP_POPULATE,
	};
	int fd;

	if (!populated && g.nr_spaces && chance(r, 60)) {
		struct mspace *ms = g.spaces[rnd(r, g.nr_spaces)];
		struct torusmm_clone c = { 0 };

		fd = xioctl(ms->fds[0], TORUSMM_CLONE, &c);
		/*
		 * The modelled source now shares its frames: its entries are
		 * copy-on-write, and stay so when the clone is closed.
		 */
		if (fd >= 0) {
			pages_each(ms, 0, SZ_4G, share_one, NULL);
			ms->dirty = true;
		}
		return fd;
	}
	count_ioctl();
	fd = torusmm_create_space(g.dev, rnd(r, g.nr_tori),
				  chance(r, 50) ? 0 : 512 + rnd(r, 1024));
	if (fd < 0 || !populated)
		return fd;
	*populated = m.length;
	if (xioctl(fd, TORUSMM_MMAP, &m)) {
		m.length = 16 * PAGE;
		*populated = xioctl(fd, TORUSMM_MMAP, &m) ? 0 : m.length;
	}
	return fd;
}

static void worker_init(struct worker *w, __u64 stream, unsigned int index,
			int fd, const struct snap *sn, const char *what)
{
	memset(w, 0, sizeof(*w));
	rng_seed(&w->rng, g.seed, stream);
	snprintf(w->who, sizeof(w->who), "%s, op %llu, worker %u", what,
		 (unsigned long long)g.op_index, index);
	w->sink.who = w->who;
	w->fd = fd;
	w->buf = malloc(BIG);
	if (sn)
		view_from_snap(&w->view, sn);
}

static void worker_fini(struct worker *w)
{
	g.mismatches += w->sink.count;
	free((void *)w->view.regions);
	free(w->buf);
	free(w->snap.regions);
	free(w->snap.ptes);
}

/*
 * After the threads: the phase space is quiet again.  Its dumps must tell
 * one story, and the tori must hold what the spaces hold, no more.
 */
static void phase_settle(int fd, struct sink *s)
{
	struct snap *sn = &g.snap;
	char buf[32];
	int ret;

	if (fd >= 0) {
		ret = snap_take(fd, sn, s);
		if (ret)
			complain(s, "cannot dump the phase space: %s",
				 ret_str(ret, buf, sizeof(buf)));
		else
			snap_consistent(s, sn);
		close(fd);
	}
	check_tori(s);
}

/* Threads on one space. */
static void phase_threads(__u64 per_thread)
{
	struct worker w[MAX_THREADS];
	struct sink s = { .who = g.op_desc };
	unsigned int n = 2 + rnd(&g.rng, g.threads - 1), i;
	struct snap *sn = &g.snap;
	int fd;

	n = n > g.threads ? g.threads : n;
	op_begin("threads phase: %u threads x %llu ops", n,
		 (unsigned long long)per_thread);
	fd = phase_space(&g.rng, NULL);
	if (fd < 0 || snap_take(fd, sn, &s)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (i = 0; i < n; i++) {
		worker_init(&w[i], (g.op_index << 8) | i, i, fd, sn,
			    "threads phase");
		w[i].nr_ops = per_thread;
		w[i].arms = i == 0 && !g.no_faults;
		if (pthread_create(&w[i].tid, NULL, worker_run, &w[i])) {
			trouble("pthread_create failed");
			n = i;
			break;
		}
	}
	for (i = 0; i < n; i++)
		pthread_join(w[i].tid, NULL);
	faults_off();
	for (i = 0; i < n; i++)
		worker_fini(&w[i]);
	g.ops_done += (__u64)n * per_thread;
	phase_settle(fd, &s);
	g.mismatches += s.count;
}

/* A child inherits the phase space, and both use it at once. */
static void phase_fork(__u64 per_side)
{
	struct sink s = { .who = g.op_desc };
	struct snap *sn = &g.snap;
	unsigned long *shared;
	struct worker w;
	int fd, status;
	pid_t pid;

	op_begin("fork phase: parent and child x %llu ops",
		 (unsigned long long)per_side);
	fd = phase_space(&g.rng, NULL);
	if (fd < 0 || snap_take(fd, sn, &s)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		trouble("mmap: %s", strerror(errno));
		close(fd);
		return;
	}
	*shared = 0;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		trouble("fork: %s", strerror(errno));
		munmap(shared, PAGE);
		close(fd);
		return;
	}
	worker_init(&w, (g.op_index << 8) | (pid ? 0x80 : 0x81), pid ? 0 : 1,
		    fd, sn, pid ? "fork phase, parent" : "fork phase, child");
	w.nr_ops = per_side;
	if (!pid) {
		/* The child: its own space too, through the inherited device. */
		struct torusmm_create_space c = { .torus = TORUSMM_TORUS_ANY };
		int own = xioctl(g.dev, TORUSMM_CREATE_SPACE, &c);

		worker_run(&w);
		if (own >= 0) {
			w.fd = own;
			w.nr_ops = per_side / 4;
			worker_run(&w);
		}
		*shared = w.sink.count;
		fflush(stdout);
		_exit(0);	/* every descriptor closes with the child */
	}
	worker_run(&w);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		trouble("fork phase: the child ended with status %#x", status);
	g.mismatches += *shared;
	munmap(shared, PAGE);
	worker_fini(&w);
	g.ops_done += 2 * per_side;
	phase_settle(fd, &s);
	g.mismatches += s.count;
}

/*
 * Close the phase space's only fd while other threads are inside long
 * ioctls on it: they complete, and the space goes when the last returns.
 */
static void phase_close_race(void)
{
	struct worker w[MAX_THREADS];
	struct sink s = { .who = g.op_desc };
	unsigned int n = 1 + rnd(&g.rng, g.threads - 1), i, spins;
	__u64 populated = 0;
	bool started;
	int fd;

	op_begin("close race: %u threads", n);
	fd = phase_space(&g.rng, &populated);
	if (fd < 0)
		return;
	for (i = 0; i < n; i++) {
		worker_init(&w[i], (g.op_index << 8) | 0x40 | i, i, fd, NULL,
			    "close race");
		w[i].race = true;
		w[i].race_kind = rnd(&g.rng, 4);
		w[i].populated = populated;
		if (pthread_create(&w[i].tid, NULL, worker_run, &w[i])) {
			trouble("pthread_create failed");
			n = i;
			break;
		}
	}
	/* Each thread has finished a call, so the next is under way. */
	for (spins = 0; spins < 200000; spins++) {
		started = true;
		for (i = 0; i < n; i++)
			started &= __atomic_load_n(&w[i].calls, __ATOMIC_SEQ_CST) ||
				   __atomic_load_n(&w[i].gone, __ATOMIC_SEQ_CST);
		if (started)
			break;
		sched_yield();
	}
	close(fd);
	for (i = 0; i < n; i++) {
		pthread_join(w[i].tid, NULL);
		g.race_calls += w[i].calls;
		worker_fini(&w[i]);
	}
	phase_settle(-1, &s);
	g.mismatches += s.count;
}

/*
 * The pfn_mkwrite race.  A store to a page a shadow maps read-only is
 * approved by the software MMU and made writable; an ioctl that takes write
 * away (a dirty harvest with clear, a clone, an mprotect to read-only) and a
 * load that maps the page read-only again race it.  However they
 * interleave, once both are done a second store must obey the ioctl: be in
 * the next harvest, stay out of the clone, fault.  Only a write permission
 * granted from an approval the ioctl overtook breaks that.
 */
#define MKW_PAGES	8
#define MKW_ADDR	0x30000000ull
#define MKW_OLD		0x01d01d01u
#define MKW_NEW		0x0e40e40eu
#define MKW_LATER	0x1a7e1a7eu

enum mkw_kind { MKW_HARVEST, MKW_CLONE, MKW_MPROTECT, MKW_NR_KINDS };

static const char *const mkw_kind_names[] = {
	"a dirty harvest", "a clone", "an mprotect to read-only",
};

/* A thread's catcher for one access through the shadow that may fault. */
static __thread struct {
	sigjmp_buf env;
	int armed;		/* atomic: the handler reads it */
	int signo;
} mkw_catcher;

static void mkw_on_fault(int signo, siginfo_t *info, void *context)
{
	if (!__atomic_load_n(&mkw_catcher.armed, __ATOMIC_RELAXED)) {
		signal(signo, SIG_DFL);	/* nobody expected it: a real crash */
		return;
	}
	mkw_catcher.armed = 0;
	mkw_catcher.signo = signo;
	siglongjmp(mkw_catcher.env, 1);
}

/* Store or load one word at @p.  Return: 0, or the signal it raised. */
static int mkw_access(__u32 *p, __u32 *value, bool store)
{
	if (sigsetjmp(mkw_catcher.env, 1))
		return mkw_catcher.signo;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&mkw_catcher.armed, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (store)
		__atomic_store_n(p, *value, __ATOMIC_RELAXED);
	else
		*value = __atomic_load_n(p, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&mkw_catcher.armed, 0, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return 0;
}

struct mkw_storer {
	pthread_t tid;
	__u32 *win;
	unsigned int rounds;
	unsigned int round;	/* atomic: the round to run, 0 to wait */
	unsigned int done;	/* atomic: the last round run */
	unsigned int page[64];
};

/* The racing stores: one per round, as soon as the round starts. */
static void *mkw_storer_run(void *arg)
{
	struct mkw_storer *st = arg;
	unsigned int i;

	for (i = 1; i <= st->rounds; i++) {
		__u32 value = MKW_NEW;

		while (__atomic_load_n(&st->round, __ATOMIC_ACQUIRE) != i)
			sched_yield();
		mkw_access(st->win + st->page[i - 1] * (PAGE / 4), &value,
			   true);
		__atomic_store_n(&st->done, i, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* The word at @addr of a space, through the software MMU, or ~0 on error. */
static __u32 mkw_word(int fd, __u64 addr)
{
	__u32 value = ~0u;
	struct torusmm_rw rw = {
		.addr = addr, .buf = torusmm_ptr(&value),
		.length = sizeof(value), .access = ACC_U,
	};

	return xioctl(fd, TORUSMM_READ, &rw) ? ~0u : value;
}

/* GET_DIRTY_LOG of one page: its bit, or -errno. */
static int mkw_dirty(int fd, __u64 addr, bool clear)
{
	__u64 bitmap = 0;
	struct torusmm_log log = {
		.addr = addr, .length = PAGE, .bitmap = torusmm_ptr(&bitmap),
		.flags = clear ? TORUSMM_LOG_CLEAR : 0,
	};
	int ret = xioctl(fd, TORUSMM_GET_DIRTY_LOG, &log);

	return ret ? ret : (int)(bitmap & 1);
}

/*
 * Set the round's page up: written through TORUSMM_WRITE, its dirty bit
 * harvested, loaded through the shadow, so that it is mapped read-only and
 * the racing store goes through pfn_mkwrite.  Return: 0 or -errno.
 */
static int mkw_prepare(int fd, __u32 *p, __u64 addr)
{
	__u32 value = MKW_OLD;
	struct torusmm_mprotect rw = { .addr = addr, .length = PAGE,
				       .prot = TP_RW };
	struct torusmm_rw w = {
		.addr = addr, .buf = torusmm_ptr(&value),
		.length = sizeof(value), .access = ACC_U,
	};
	int ret;

	ret = xioctl(fd, TORUSMM_MPROTECT, &rw);
	if (!ret)
		ret = xioctl(fd, TORUSMM_WRITE, &w);
	if (!ret)
		ret = mkw_dirty(fd, addr, true) < 0 ? -EIO : 0;
	if (!ret && (mkw_access(p, &value, false) || value != MKW_OLD))
		ret = -EIO;
	return ret;
}

/* After the race: a second store, which must obey the ioctl. */
static void mkw_check(struct sink *s, int fd, int clone, __u32 *p,
		      __u64 addr, enum mkw_kind kind, unsigned int round)
{
	__u32 later = MKW_LATER, got;
	int sig = mkw_access(p, &later, true);

	switch (kind) {
	case MKW_HARVEST:
		if (sig || mkw_dirty(fd, addr, false) != 1)
			complain(s, "round %u: a later store unlogged (signal %d)",
				 round, sig);
		break;
	case MKW_CLONE:
		got = mkw_word(clone, addr);
		if (sig || (got != MKW_OLD && got != MKW_NEW))
			complain(s, "round %u: the clone holds %#x (signal %d)",
				 round, got, sig);
		break;
	default:
		got = mkw_word(fd, addr);
		if (sig != SIGSEGV || (got != MKW_OLD && got != MKW_NEW))
			complain(s, "round %u: a store after %s gave signal %d and left %#x",
				 round, mkw_kind_names[kind], sig, got);
		break;
	}
}

static void phase_mkwrite_race(unsigned int rounds)
{
	struct sigaction sa = { .sa_sigaction = mkw_on_fault,
				.sa_flags = SA_SIGINFO };
	struct sink s = { .who = g.op_desc };
	struct torusmm_mmap m = { .addr = MKW_ADDR, .length = MKW_PAGES * PAGE,
				  .prot = TP_RW, .flags = TORUSMM_MAP_FIXED };
	struct mkw_storer st = { .rounds = rounds };
	enum mkw_kind kinds[64];
	unsigned int spins[64], i, k;
	void *win = MAP_FAILED;
	int fd, ret;

	op_begin("mkwrite race: %u rounds", rounds);
	faults_off();
	for (i = 0; i < rounds; i++) {
		st.page[i] = rnd(&g.rng, MKW_PAGES);
		kinds[i] = rnd(&g.rng, MKW_NR_KINDS);
		spins[i] = rnd(&g.rng, 2000);
	}
	count_ioctl();
	fd = torusmm_create_space(g.dev, rnd(&g.rng, g.nr_tori), 0);
	if (fd < 0)
		return;
	if (xioctl(fd, TORUSMM_MMAP, &m) ||
	    torusmm_shadow_map(fd, MKW_ADDR, MKW_PAGES * PAGE,
			       PROT_READ | PROT_WRITE, &win)) {
		trouble("mkwrite race: cannot map the phase space");
		close(fd);
		return;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	st.win = win;
	if (pthread_create(&st.tid, NULL, mkw_storer_run, &st)) {
		trouble("pthread_create failed");
		munmap(win, MKW_PAGES * PAGE);
		close(fd);
		return;
	}
	for (i = 1; i <= rounds; i++) {
		__u64 addr = MKW_ADDR + st.page[i - 1] * PAGE;
		__u32 *p = st.win + st.page[i - 1] * (PAGE / 4);
		struct torusmm_mprotect ro = { .addr = addr, .length = PAGE,
					       .prot = TP_R };
		enum mkw_kind kind = kinds[i - 1];
		int clone = -1;
		__u32 value;

		ret = mkw_prepare(fd, p, addr);
		if (ret)
			complain(&s, "round %u: cannot prepare the page: %d",
				 i, ret);
		/* Go, and take write away a little later, or at once. */
		__atomic_store_n(&st.round, i, __ATOMIC_RELEASE);
		for (k = 0; k < spins[i - 1]; k++)
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (kind == MKW_HARVEST)
			ret = mkw_dirty(fd, addr, true) < 0;
		else if (kind == MKW_CLONE)
			ret = (clone = xioctl(fd, TORUSMM_CLONE,
					      &(struct torusmm_clone){ 0 })) < 0;
		else
			ret = xioctl(fd, TORUSMM_MPROTECT, &ro) != 0;
		mkw_access(p, &value, false);
		while (__atomic_load_n(&st.done, __ATOMIC_ACQUIRE) != i)
			sched_yield();
		if (ret)
			complain(&s, "round %u: %s failed", i,
				 mkw_kind_names[kind]);
		else
			mkw_check(&s, fd, clone, p, addr, kind, i);
		if (clone >= 0)
			close(clone);
	}
	pthread_join(st.tid, NULL);
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	munmap(win, MKW_PAGES * PAGE);
	g.ops_done += rounds;
	phase_settle(fd, &s);
	g.mismatches += s.count;
}

/* ---- Setup, the run, the summary ---- */

static bool tori_init(void)
{
	struct torusmm_torus_info info;
	unsigned int i;
	int ret;

	ret = torusmm_check_extension(g.dev, TORUSMM_CAP_NR_TORI);
	if (ret < 1 || ret > MAX_TORI) {
		trouble("TORUSMM_CAP_NR_TORI is %d", ret);
		return false;
	}
	g.nr_tori = ret;
	g.batch = torusmm_check_extension(g.dev, TORUSMM_CAP_BATCH) ==
		  TORUSMM_BATCH_MAX;
	for (i = 0; i < g.nr_tori; i++) {
		struct mtorus *t = &g.tori[i];

		if (torus_info(i, &info)) {
			trouble("TORUSMM_GET_TORUS_INFO %u failed", i);
			return false;
		}
		t->nr_frames = info.nr_frames;
		t->owned = calloc(info.nr_frames, sizeof(*t->owned));
		/* Spaces someone else holds: the baseline. */
		t->used_offset = info.nr_used;
		t->tables_offset = info.nr_table_frames;
		t->spaces_offset = info.nr_spaces;
		if (info.nr_used)
			printf("torusmm_fuzz: torus %u already has %u frames in use\n",
			       i, info.nr_used);
	}
	return true;
}

static void params_init(void)
{
	g.p_max_frames = param_read("max_frames");
	g.p_user_max_frames = param_read("user_max_frames");
	g.p_max_spaces = param_read("max_spaces");
	g.p_max_regions = param_read("max_regions");
	g.saved_max_regions = g.p_max_regions;
	g.saved_user_frames = g.p_user_max_frames;
	/* A low ceiling for the run, picked by the seed, restored at the end. */
	if (g.p_max_regions >= 0 && g.set_max_regions) {
		long v = g.set_max_regions > 0 ? g.set_max_regions :
			 chance(&g.rng, 40) ? 6 + (long)rnd(&g.rng, 40) : 0;

		if (v && param_write("max_regions", v))
			g.p_max_regions = v;
	}
	if (g.p_user_max_frames >= 0 && g.set_user_frames) {
		long v = g.set_user_frames > 0 ? g.set_user_frames :
			 chance(&g.rng, 30) ? 64 + (long)rnd(&g.rng, 2048) : 0;

		if (v && param_write("user_max_frames", v))
			g.p_user_max_frames = v;
	}
}

static void params_restore(void)
{
	if (g.p_max_regions != g.saved_max_regions)
		param_write("max_regions", g.saved_max_regions);
	if (g.p_user_max_frames != g.saved_user_frames)
		param_write("user_max_frames", g.saved_user_frames);
}

/* Close everything; what the tori miss then is lost.  Return: frames lost. */
static __u64 finish(void)
{
	struct torusmm_torus_info info;
	struct sink s = { .main = true };
	__u64 lost = 0;
	unsigned int i;

	op_begin("final: close every space");
	while (g.nr_spaces)
		space_close(g.spaces[0]);
	for (i = 0; i < g.nr_tori; i++) {
		if (torus_info(i, &info)) {
			trouble("TORUSMM_GET_TORUS_INFO %u failed", i);
			continue;
		}
		if (info.nr_free < info.nr_frames) {
			lost += info.nr_frames - info.nr_free;
			printf("torusmm_fuzz: torus %u: %u of %u frames free at the end\n",
			       i, info.nr_free, info.nr_frames);
		}
		if (info.nr_table_frames || info.nr_spaces)
			complain(&s, "torus %u: %u table frames, %u spaces with every space closed",
				 i, info.nr_table_frames, info.nr_spaces);
	}
	return lost;
}

static void help_exit(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--seed N] [--ops N] [--threads N] [--time SECONDS]\n"
		"          [--check-every N] [--progress SECONDS] [--trace]\n"
		"          [--max-reports N]\n"
		"          [--no-faults] [--max-regions N] [--user-max-frames N]\n"
		"Fuzz /dev/torusmm against a model; see the top of %s.\n"
		"--max-regions and --user-max-frames 0 leave the parameters alone;\n"
		"by default the seed may lower them for the run.\n",
		argv0, __FILE__);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option options[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "time", required_argument, NULL, 'T' },
		{ "check-every", required_argument, NULL, 'c' },
		{ "progress", required_argument, NULL, 'p' },
		{ "trace", no_argument, NULL, 'v' },
		{ "max-reports", required_argument, NULL, 'M' },
		{ "no-faults", no_argument, NULL, 'F' },
		{ "max-regions", required_argument, NULL, 'R' },
		{ "user-max-frames", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool seeded = false;
	size_t used = 0;
	int c;

	g.argv0 = argv[0];
	g.nr_ops = 10000;
	g.threads = 4;
	g.check_every = 1;
	g.max_reports = 20;
	g.set_max_regions = -1;
	g.set_user_frames = -1;
	while ((c = getopt_long(argc, argv, "s:n:t:T:c:p:vM:FR:U:h", options,
				NULL)) != -1) {
		switch (c) {
		case 's':
			g.seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 'n':
			g.nr_ops = strtoull(optarg, NULL, 0);
			break;
		case 't':
			g.threads = strtoul(optarg, NULL, 0);
			break;
		case 'T':
			g.time_limit = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			g.check_every = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			g.progress = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			g.trace = true;
			break;
		case 'M':
			g.max_reports = strtoul(optarg, NULL, 0);
			break;
		case 'F':
			g.no_faults = true;
			used += snprintf(g.replay_extra + used,
					 sizeof(g.replay_extra) - used,
					 " --no-faults");
			break;
		case 'R':
			g.set_max_regions = strtol(optarg, NULL, 0);
			used += snprintf(g.replay_extra + used,
					 sizeof(g.replay_extra) - used,
					 " --max-regions %ld", g.set_max_regions);
			break;
		case 'U':
			g.set_user_frames = strtol(optarg, NULL, 0);
			used += snprintf(g.replay_extra + used,
					 sizeof(g.replay_extra) - used,
					 " --user-max-frames %ld",
					 g.set_user_frames);
			break;
		default:
			help_exit(argv[0]);
		}
	}
	if (optind != argc || !g.threads || g.threads > MAX_THREADS ||
	    !g.check_every)
		help_exit(argv[0]);
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		g.seed = ((__u64)ts.tv_sec * 1000003u) ^ ts.tv_nsec ^ getpid();
		g.seed %= 1000000000000ull;
	}
}

/*
 * A call that never returns would only show as the VM's timeout: after two
 * minutes without an ioctl completing, name the op and give up.
 */
static void *watchdog(void *arg)
{
	__u64 last = ~0ull, now;
	unsigned int idle = 0;

	for (;;) {
		sleep(10);
		now = __atomic_load_n(&g.ioctls, __ATOMIC_RELAXED);
		idle = now == last ? idle + 1 : 0;
		last = now;
		if (idle < 12)
			continue;
		dprintf(STDOUT_FILENO,
			"torusmm_fuzz: no ioctl returned for 120 s; seed %llu, op %llu: %s\n",
			(unsigned long long)g.seed,
			(unsigned long long)g.op_index, g.op_desc);
		_exit(3);
	}
	return NULL;
}

static bool time_up(void)
{
	double t;

	if (!g.time_limit && !g.progress)
		return false;
	t = elapsed();
	if (g.progress && (time_t)t >= g.last_progress + g.progress) {
		g.last_progress = t;
		printf("torusmm_fuzz: %.0f s: %llu ops, %lu mismatches\n", t,
		       (unsigned long long)g.ops_done, g.mismatches);
		fflush(stdout);
	}
	return g.time_limit && t >= g.time_limit;
}

int main(int argc, char **argv)
{
	__u64 lost = 0, n;
	pthread_t dog;
	unsigned int i;
	double secs;
	bool ok;
	int phase;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	/* The seed first, so that even a crash can be replayed. */
	printf("torusmm_fuzz: seed %llu, %llu ops, %u threads%s%s\n",
	       (unsigned long long)g.seed, (unsigned long long)g.nr_ops,
	       g.threads, g.time_limit ? ", time limit" : "", g.replay_extra);
	rng_seed(&g.rng, g.seed, 0);
	clock_gettime(CLOCK_MONOTONIC, &g.started);
	if (pthread_create(&dog, NULL, watchdog, NULL) ||
	    pthread_detach(dog))
		trouble("cannot start the watchdog");

	g.dev = torusmm_open();
	ok = g.dev >= 0;
	if (!ok)
		trouble("open " TORUSMM_DEVICE ": %s", strerror(-g.dev));
	if (ok && !memory_init()) {
		trouble("cannot set up the user memory: %s", strerror(errno));
		ok = false;
	}
	if (ok)
		ok = tori_init();
	if (ok) {
		params_init();
		faults_init();
		faults_off();
		printf("torusmm_fuzz: %u tori of %u frames; fault points: %s%s\n",
		       g.nr_tori, g.tori[0].nr_frames,
		       g.have_debugfs ? "debugfs" : "none",
		       g.have_fail_nth ? " and fail-nth" : "");
		printf("torusmm_fuzz: ceilings: spaces %ld regions %ld user frames %ld quota %ld\n",
		       g.p_max_spaces, g.p_max_regions, g.p_user_max_frames,
		       g.p_max_frames);
	}
	/*
	 * Phases do not depend on how many ops are left, so that a run cut
	 * short by --ops replays the same ops up to its end (a
	 * multi-threaded phase under way may go past it).
	 */
	while (ok && g.ops_done < g.nr_ops && !time_up()) {
		phase = g.threads > 1 ? rnd(&g.rng, 100) : 0;
		g.op_index = g.ops_done;
		if (phase < 76) {
			g.phases[0]++;
			n = 30 + rnd(&g.rng, 200);
			while (n-- && g.ops_done < g.nr_ops && !time_up()) {
				g.op_index = g.ops_done++;
				st_op();
			}
		} else if (phase < 86) {
			g.phases[1]++;
			phase_threads(16 + rnd(&g.rng, 64));
		} else if (phase < 92) {
			g.phases[2]++;
			phase_fork(16 + rnd(&g.rng, 64));
		} else if (phase < 97) {
			g.phases[3]++;
			phase_close_race();
			g.ops_done++;
		} else {
			g.phases[4]++;
			phase_mkwrite_race(16 + rnd(&g.rng, 48));
		}
	}
	if (ok) {
		faults_off();
		g.op_index = g.ops_done;
		lost = finish();
		params_restore();
	}
	secs = elapsed();
	printf("torusmm_fuzz: %llu ioctls in %.1f s; %llu faults injected, %llu ENOMEM\n",
	       (unsigned long long)g.ioctls, secs,
	       (unsigned long long)g.injected,
	       (unsigned long long)g.injected_enomem);
	printf("torusmm_fuzz: phases: %llu single, %llu threads, %llu fork, ",
	       (unsigned long long)g.phases[0], (unsigned long long)g.phases[1],
	       (unsigned long long)g.phases[2]);
	printf("%llu close race, %llu mkwrite race\n",
	       (unsigned long long)g.phases[3], (unsigned long long)g.phases[4]);
	printf("torusmm_fuzz: %llu ops through TORUSMM_BATCH, in vectors of %llu ops\n",
	       (unsigned long long)g.batches,
	       (unsigned long long)g.batch_ops);
	printf("torusmm_fuzz: single-threaded calls:");
	for (i = 0; i < ARRAY_SIZE(result_names); i++)
		if (g.results[i])
			printf(" %llu %s", (unsigned long long)g.results[i],
			       result_names[i]);
	printf("\n");
	printf("fuzz: seed %llu, %llu ops, %.0f ops/s, %lu model mismatches, %llu frames lost\n",
	       (unsigned long long)g.seed, (unsigned long long)g.ops_done,
	       secs > 0 ? g.ops_done / secs : 0.0, g.mismatches,
	       (unsigned long long)lost);
	return g.mismatches || lost || g.failures || !ok ? 1 : 0;
}
