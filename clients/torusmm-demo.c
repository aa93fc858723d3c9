// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm-demo: a walk through what /dev/torusmm promises.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * Creates two address spaces and shows, one step at a time: allocate, mmap,
 * write and read back, mprotect to read-only and the write fault it causes,
 * brk growing and shrinking, a clone whose writes the parent does not see,
 * two spaces that hold different data at the same virtual address, the
 * shadow mapping (a plain pointer into a space, and the SIGSEGV a store
 * raises once the space's mprotect forbids it), and the torus and space
 * statistics.  Each step checks what it shows; the exit status is 1 when
 * any step did not behave as promised.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtorusmm.h"

#define PAGE		TORUSMM_PAGE_SIZE
#define PROT_RW		(TORUSMM_PROT_READ | TORUSMM_PROT_WRITE)
#define DEMO_ADDR	0x10000000ull
#define SHADOW_ADDR	0x20000000ull

struct demo {
	int dev;
	int a;			/* the first address space */
	int b;			/* the second address space */
	int clone;		/* a clone of the first */
	__u32 free_at_start;	/* free frames of torus 0 before A */
	unsigned int step;
	unsigned int failures;
};

static void step(struct demo *d, const char *title)
{
	printf("\n[%u] %s\n", ++d->step, title);
}

/* Print a line of a step. */
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("    ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Record and print a broken promise; returns @ok. */
static bool expect(struct demo *d, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	d->failures++;
	fputs("    FAILED: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return false;
}

/* Check that an ioctl wrapper succeeded; print its errno name if not. */
static bool expect_ok(struct demo *d, int ret, const char *what)
{
	char buf[32];

	return expect(d, ret >= 0, "%s returned %s", what,
		      torusmm_strret(ret, buf, sizeof(buf)));
}

/* Write a string (with its NUL) into a space; true when all of it went. */
static bool put_string(struct demo *d, int fd, __u64 addr, const char *s)
{
	struct torusmm_rw rw;
	int ret;

	ret = torusmm_write(fd, addr, s, strlen(s) + 1, TORUSMM_ACCESS_USER,
			    &rw);
	if (!expect_ok(d, ret, "TORUSMM_WRITE"))
		return false;
	return expect(d, ret == 0 && rw.done == strlen(s) + 1,
		      "wrote %llu of %zu bytes (fault %#x)",
		      (unsigned long long)rw.done, strlen(s) + 1, rw.fault);
}

/* Read a string of at most @len - 1 bytes from a space into @buf. */
static bool get_string(struct demo *d, int fd, __u64 addr, char *buf,
		       size_t len)
{
	struct torusmm_rw rw;
	int ret;

	memset(buf, 0, len);
	ret = torusmm_read(fd, addr, buf, len - 1, TORUSMM_ACCESS_USER, &rw);
	if (!expect_ok(d, ret, "TORUSMM_READ"))
		return false;
	return expect(d, ret == 0 && rw.done == len - 1,
		      "read %llu of %zu bytes (fault %#x)",
		      (unsigned long long)rw.done, len - 1, rw.fault);
}

/* The tpa of a user read of @addr, looked up without side effects. */
static __u64 translate_tpa(struct demo *d, int fd, __u64 addr, __u32 *pte)
{
	struct torusmm_translate tr;
	int ret;

	ret = torusmm_translate(fd, addr, TORUSMM_ACCESS_USER,
				TORUSMM_TRANSLATE_PEEK, &tr);
	if (!expect_ok(d, ret, "TORUSMM_TRANSLATE") ||
	    !expect(d, ret == 0, "%#llx faulted (fault %#x)",
		    (unsigned long long)addr, tr.fault))
		return 0;
	if (pte)
		*pte = tr.pte;
	return tr.tpa;
}

static bool demo_open(struct demo *d)
{
	struct torusmm_torus_info info;
	int version, nr_tori, ret;

	step(d, "Open /dev/torusmm");
	d->dev = torusmm_open();
	if (!expect_ok(d, d->dev, "open(" TORUSMM_DEVICE ")"))
		return false;
	version = torusmm_api_version(d->dev);
	nr_tori = torusmm_check_extension(d->dev, TORUSMM_CAP_NR_TORI);
	if (!expect(d, version == TORUSMM_API_VERSION,
		    "API version %d, this demo speaks %d", version,
		    TORUSMM_API_VERSION))
		return false;
	say("API version %d, %d %s of frames", version, nr_tori,
	    nr_tori == 1 ? "torus" : "tori");
	ret = torusmm_torus_info(d->dev, 0, &info);
	if (!expect_ok(d, ret, "TORUSMM_GET_TORUS_INFO"))
		return false;
	say("torus 0: %u frames of 4 KiB (%u MiB), %u free, at torus physical address %#llx",
	    info.nr_frames, info.nr_frames / 256, info.nr_free,
	    (unsigned long long)info.base);
	return true;
}

static bool demo_create(struct demo *d)
{
	struct torusmm_torus_info info;
	struct torusmm_space_stats stats;
	struct torusmm_region region;
	__u32 count = 1;

	step(d, "Create two address spaces, A and B, on torus 0");
	if (!expect_ok(d, torusmm_torus_info(d->dev, 0, &info),
		       "TORUSMM_GET_TORUS_INFO"))
		return false;
	d->free_at_start = info.nr_free;
	d->a = torusmm_create_space(d->dev, 0, 0);
	d->b = torusmm_create_space(d->dev, 0, 0);
	if (!expect_ok(d, d->a, "TORUSMM_CREATE_SPACE (A)") ||
	    !expect_ok(d, d->b, "TORUSMM_CREATE_SPACE (B)") ||
	    !expect_ok(d, torusmm_stats(d->a, &stats), "TORUSMM_GET_STATS"))
		return false;
	say("A is fd %d, B is fd %d: each address space is a file descriptor",
	    d->a, d->b);
	say("each starts with one frame, its page directory (A: %u table frame)",
	    stats.nr_table_frames);
	if (!expect_ok(d, torusmm_dump_regions(d->a, &region, &count),
		       "TORUSMM_DUMP_REGIONS"))
		return false;
	say("a new space holds one region, the stack: %#x-%#x (the heap starts at %#x)",
	    region.start, region.end, TORUSMM_HEAP_START);
	return expect(d, count == 1 && region.end == TORUSMM_STACK_TOP,
		      "a new space has %u regions", count);
}

static bool demo_allocate(struct demo *d)
{
	struct torusmm_space_stats stats;
	__u64 addr;
	int ret;

	step(d, "Allocate 3 pages in A (the original design's allocate)");
	ret = torusmm_allocate(d->a, 3 * PAGE, &addr);
	if (!expect_ok(d, ret, "torusmm_allocate"))
		return false;
	say("allocate(12 KiB) = %#llx-%#llx: placed top-down below the stack, as Linux does",
	    (unsigned long long)addr, (unsigned long long)addr + 3 * PAGE);
	torusmm_stats(d->a, &stats);
	say("no frame is used yet (%u data frames): pages are faulted in on first use",
	    stats.nr_data_frames);
	if (!expect(d, stats.nr_data_frames == 0,
		    "allocate used %u frames", stats.nr_data_frames))
		return false;
	ret = torusmm_free(d->a, addr, 3 * PAGE);
	say("free(%#llx) gives the range back", (unsigned long long)addr);
	return expect_ok(d, ret, "torusmm_free");
}

static bool demo_mmap_write_read(struct demo *d)
{
	const char *msg = "hello from A";
	__u64 addr = DEMO_ADDR, tpa;
	char buf[32], pte_buf[32];
	__u32 pte;
	int ret;

	step(d, "mmap 2 pages at 0x10000000 in A, write and read back");
	ret = torusmm_mmap(d->a, &addr, 2 * PAGE, PROT_RW, TORUSMM_MAP_FIXED);
	if (!expect_ok(d, ret, "TORUSMM_MMAP"))
		return false;
	if (!put_string(d, d->a, addr, msg) ||
	    !get_string(d, d->a, addr, buf, strlen(msg) + 1))
		return false;
	say("mmap(%#llx, 8 KiB, rw, fixed); wrote \"%s\", read back \"%s\"",
	    (unsigned long long)addr, msg, buf);
	tpa = translate_tpa(d, d->a, addr, &pte);
	say("%#llx -> torus physical %#llx, PTE 0x%08x (%s)",
	    (unsigned long long)addr, (unsigned long long)tpa, pte,
	    torusmm_pte_str(pte, pte_buf, sizeof(pte_buf)));
	return expect(d, !strcmp(buf, msg), "read back \"%s\"", buf) &&
	       expect(d, (pte & TORUSMM_PTE_DIRTY) && tpa,
		      "the written page is not present and dirty");
}

static bool demo_mprotect(struct demo *d)
{
	struct torusmm_rw rw;
	char buf[48];
	int ret;

	step(d, "mprotect the page read-only, then write to it");
	ret = torusmm_mprotect(d->a, DEMO_ADDR, PAGE, TORUSMM_PROT_READ);
	if (!expect_ok(d, ret, "TORUSMM_MPROTECT"))
		return false;
	ret = torusmm_write(d->a, DEMO_ADDR, "X", 1, TORUSMM_ACCESS_USER, &rw);
	if (!expect_ok(d, ret, "TORUSMM_WRITE"))
		return false;
	say("user write at %#llx returns %d (faulted): code %#x = %s, at %#llx, %llu bytes written",
	    (unsigned long long)DEMO_ADDR, ret, rw.fault,
	    torusmm_fault_str(rw.fault, buf, sizeof(buf)),
	    (unsigned long long)rw.fault_addr, (unsigned long long)rw.done);
	if (!expect(d, ret == 1 &&
		    rw.fault == (TORUSMM_FAULT_PROTECTION |
				 TORUSMM_FAULT_WRITE | TORUSMM_FAULT_USER) &&
		    rw.done == 0 && rw.fault_addr == DEMO_ADDR,
		    "expected a protection user write fault (returned %d)",
		    ret))
		return false;
	if (!get_string(d, d->a, DEMO_ADDR, buf, 13))
		return false;
	say("reading still works: \"%s\"", buf);
	return expect(d, !strcmp(buf, "hello from A"), "read \"%s\"", buf);
}

static bool demo_brk(struct demo *d)
{
	struct torusmm_space_stats before, grown, shrunk;
	__u64 brk, addr;
	int ret;

	step(d, "brk: grow the heap by 4 pages, use it, shrink it by 3");
	torusmm_brk(d->a, 0, &brk);
	ret = torusmm_brk(d->a, brk + 4 * PAGE, &addr);
	if (!expect_ok(d, ret, "TORUSMM_BRK") ||
	    !expect(d, addr == brk + 4 * PAGE, "brk stayed at %#llx",
		    (unsigned long long)addr))
		return false;
	torusmm_stats(d->a, &before);
	for (addr = brk; addr < brk + 4 * PAGE; addr += PAGE)
		if (!put_string(d, d->a, addr, "heap"))
			return false;
	torusmm_stats(d->a, &grown);
	say("break %#llx -> %#llx: %u heap pages, writing them took %u frames",
	    (unsigned long long)brk, (unsigned long long)brk + 4 * PAGE,
	    grown.nr_heap_pages, grown.nr_data_frames - before.nr_data_frames);
	ret = torusmm_brk(d->a, brk + PAGE, &addr);
	if (!expect_ok(d, ret, "TORUSMM_BRK"))
		return false;
	torusmm_stats(d->a, &shrunk);
	say("break -> %#llx: %u heap page left, %u frames freed",
	    (unsigned long long)addr, shrunk.nr_heap_pages,
	    grown.nr_data_frames - shrunk.nr_data_frames);
	return expect(d, grown.nr_heap_pages == 4 &&
		      shrunk.nr_heap_pages == 1 &&
		      grown.nr_data_frames - shrunk.nr_data_frames == 3,
		      "heap pages %u -> %u, data frames %u -> %u",
		      grown.nr_heap_pages, shrunk.nr_heap_pages,
		      grown.nr_data_frames, shrunk.nr_data_frames);
}

static bool demo_clone(struct demo *d)
{
	const char *msg = "written in the clone";
	char parent[32], child[32];

	step(d, "Clone A, write in the clone, read in both");
	if (!put_string(d, d->a, DEMO_ADDR + PAGE, "A's own data"))
		return false;
	d->clone = torusmm_clone(d->a);
	if (!expect_ok(d, d->clone, "TORUSMM_CLONE") ||
	    !get_string(d, d->clone, DEMO_ADDR + PAGE, child, 13))
		return false;
	say("the clone (fd %d) starts as a copy of A: it reads \"%s\" at %#llx",
	    d->clone, child, (unsigned long long)DEMO_ADDR + PAGE);
	if (!expect(d, !strcmp(child, "A's own data"), "the clone read \"%s\"",
		    child))
		return false;
	if (!put_string(d, d->clone, DEMO_ADDR + PAGE, msg) ||
	    !get_string(d, d->clone, DEMO_ADDR + PAGE, child,
			strlen(msg) + 1) ||
	    !get_string(d, d->a, DEMO_ADDR + PAGE, parent, strlen(msg) + 1))
		return false;
	say("after the clone wrote: clone reads \"%s\", A reads \"%s\"",
	    child, parent);
	return expect(d, !strcmp(child, msg) && strcmp(parent, msg),
		      "the clone's write is visible in A");
}

static bool demo_isolation(struct demo *d)
{
	const char *msg = "hello from B";
	char in_a[16], in_b[16];
	__u64 addr = DEMO_ADDR, tpa_a, tpa_b;
	int ret;

	step(d, "Isolation: B maps the same address and writes its own data");
	ret = torusmm_mmap(d->b, &addr, PAGE, PROT_RW, TORUSMM_MAP_FIXED);
	if (!expect_ok(d, ret, "TORUSMM_MMAP") ||
	    !put_string(d, d->b, addr, msg))
		return false;
	if (!get_string(d, d->a, addr, in_a, 13) ||
	    !get_string(d, d->b, addr, in_b, 13))
		return false;
	tpa_a = translate_tpa(d, d->a, addr, NULL);
	tpa_b = translate_tpa(d, d->b, addr, NULL);
	say("at %#llx A reads \"%s\" (frame %#llx), B reads \"%s\" (frame %#llx)",
	    (unsigned long long)addr, in_a, (unsigned long long)tpa_a, in_b,
	    (unsigned long long)tpa_b);
	say("A cannot name B's frames: a space reaches only what its own page table maps");
	return expect(d, !strcmp(in_a, "hello from A") && !strcmp(in_b, msg) &&
		      tpa_a != tpa_b, "A and B share data");
}

/* What the client stores through a plain pointer into the shadow. */
struct demo_record {
	__u32 magic;
	__u32 count;
	char name[24];
};

static sigjmp_buf segv_env;
static void *segv_addr;

static void on_segv(int sig, siginfo_t *info, void *context)
{
	(void)sig;
	(void)context;
	__atomic_store_n(&segv_addr, info->si_addr, __ATOMIC_RELAXED);
	siglongjmp(segv_env, 1);
}

/* Store @count into @rec; true when the store raised SIGSEGV instead. */
static bool store_faults(struct demo_record *rec, __u32 count)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	struct sigaction old;
	bool faulted = true;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old);
	if (!sigsetjmp(segv_env, 1)) {
		__atomic_store_n(&rec->count, count, __ATOMIC_RELAXED);
		faulted = false;
	}
	sigaction(SIGSEGV, &old, NULL);
	return faulted;
}

static bool demo_shadow(struct demo *d)
{
	const struct demo_record want = { 0x746f7275, 3, "stored by a pointer" };
	struct demo_record *rec, seen;
	__u64 addr = SHADOW_ADDR;
	char pte_buf[32];
	struct torusmm_rw rw;
	void *p = NULL;
	__u32 pte;
	int ret;

	step(d, "Shadow mapping: mmap A into this process, use a plain pointer");
	if (torusmm_check_extension(d->dev, TORUSMM_CAP_SHADOW) != 1) {
		say("skipped: this torusmm has no shadow mapping (TORUSMM_CAP_SHADOW is 0)");
		return true;
	}
	ret = torusmm_mmap(d->a, &addr, PAGE, PROT_RW, TORUSMM_MAP_FIXED);
	if (!expect_ok(d, ret, "TORUSMM_MMAP"))
		return false;
	ret = torusmm_shadow_map(d->a, addr, PAGE, PROT_READ | PROT_WRITE, &p);
	if (!expect_ok(d, ret, "mmap of A's descriptor"))
		return false;
	rec = p;
	say("mmap(NULL, 4 KiB, rw, MAP_SHARED, A, %#llx) = %p:",
	    (unsigned long long)addr, p);
	say("  the byte at A's %#llx + i is the byte at our %p + i",
	    (unsigned long long)addr, p);

	rec->magic = want.magic;
	rec->count = want.count;
	strcpy(rec->name, want.name);
	ret = torusmm_read(d->a, addr, &seen, sizeof(seen),
			   TORUSMM_ACCESS_USER, &rw);
	if (!expect_ok(d, ret, "TORUSMM_READ"))
		return false;
	say("stored a struct through the pointer, and TORUSMM_READ at %#llx shows it:",
	    (unsigned long long)addr);
	say("  magic %#x, count %u, name \"%s\"", seen.magic, seen.count,
	    seen.name);
	translate_tpa(d, d->a, addr, &pte);
	say("the software PTE saw the hardware store: 0x%08x (%s)", pte,
	    torusmm_pte_str(pte, pte_buf, sizeof(pte_buf)));
	if (!expect(d, !memcmp(&seen, &want, sizeof(want)),
		    "TORUSMM_READ does not show what the pointer stored") ||
	    !expect(d, pte & TORUSMM_PTE_DIRTY, "the page is not dirty"))
		return false;

	ret = torusmm_mprotect(d->a, addr, PAGE, TORUSMM_PROT_READ);
	if (!expect_ok(d, ret, "TORUSMM_MPROTECT"))
		return false;
	if (!expect(d, store_faults(rec, 4),
		    "the store went through a read-only page"))
		return false;
	say("TORUSMM_MPROTECT(%#llx, 4 KiB, read-only), then rec->count = 4:",
	    (unsigned long long)addr);
	say("  SIGSEGV at %p (&rec->count is %p), caught", segv_addr,
	    (void *)&rec->count);
	say("loads still work: count %u, name \"%s\"", rec->count, rec->name);
	ret = munmap(p, PAGE);
	say("munmap() of the mapping; the space stays, and so does the region");
	return expect(d, segv_addr == &rec->count,
		      "si_addr %p is not &rec->count", segv_addr) &&
	       expect(d, !ret, "munmap failed");
}

static void print_space(const char *name, int fd)
{
	struct torusmm_space_stats s;

	if (torusmm_stats(fd, &s))
		return;
	say("%-5s %u regions, %u data + %u table frames, break %#x",
	    name, s.nr_regions, s.nr_data_frames, s.nr_table_frames, s.brk);
	say("      %llu demand faults, %llu faulting accesses, %llu translations",
	    (unsigned long long)s.nr_faults,
	    (unsigned long long)s.nr_fault_errors,
	    (unsigned long long)s.nr_translations);
}

static bool demo_statistics(struct demo *d)
{
	struct torusmm_torus_info info;
	int ret;

	step(d, "Statistics of the torus and of each space");
	ret = torusmm_torus_info(d->dev, 0, &info);
	if (!expect_ok(d, ret, "TORUSMM_GET_TORUS_INFO"))
		return false;
	say("torus 0: %u frames, %u free, %u used (%u for page tables)",
	    info.nr_frames, info.nr_free, info.nr_used, info.nr_table_frames);
	say("         high water %u, %u spaces, %llu allocations inspected %llu bitmap words",
	    info.high_water, info.nr_spaces, (unsigned long long)info.allocs,
	    (unsigned long long)info.words_scanned);
	print_space("A", d->a);
	print_space("B", d->b);
	print_space("clone", d->clone);
	return expect(d, info.nr_free + info.nr_used == info.nr_frames,
		      "free + used != frames");
}

static bool demo_close(struct demo *d)
{
	struct torusmm_torus_info info;

	step(d, "Close the spaces: every frame goes back to the torus");
	close(d->a);
	close(d->b);
	close(d->clone);
	if (!expect_ok(d, torusmm_torus_info(d->dev, 0, &info),
		       "TORUSMM_GET_TORUS_INFO"))
		return false;
	say("torus 0: %u frames free again (%u before the demo)", info.nr_free,
	    d->free_at_start);
	return expect(d, info.nr_free == d->free_at_start,
		      "%u frames did not come back",
		      d->free_at_start - info.nr_free);
}

int main(void)
{
	struct demo d = { .dev = -1, .a = -1, .b = -1, .clone = -1 };
	bool ok;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("torusmm-demo: software address spaces through %s\n",
	       TORUSMM_DEVICE);
	ok = demo_open(&d);
	ok = ok && demo_create(&d);
	ok = ok && demo_allocate(&d);
	ok = ok && demo_mmap_write_read(&d);
	ok = ok && demo_mprotect(&d);
	ok = ok && demo_brk(&d);
	ok = ok && demo_clone(&d);
	ok = ok && demo_isolation(&d);
	ok = ok && demo_shadow(&d);
	ok = ok && demo_statistics(&d);
	ok = ok && demo_close(&d);

	if (ok && !d.failures) {
		printf("\ntorusmm-demo: all %u steps behaved as promised\n",
		       d.step);
		return 0;
	}
	printf("\ntorusmm-demo: FAILED at step %u (%u broken promises)\n",
	       d.step, d.failures);
	return 1;
}
