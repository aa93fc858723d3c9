/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm selftests: short names for the ABI's constants, so that table rows
 * stay on one line, and the module parameters a test may lower for a while
 * (the ceilings a caller cannot raise), with their restoration.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_TEST_H
#define _TORUSMM_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <linux/torusmm.h>

#include "kselftest.h"

#define PAGE		TORUSMM_PAGE_SIZE
#define R		TORUSMM_PROT_READ
#define RW		(TORUSMM_PROT_READ | TORUSMM_PROT_WRITE)
#define RX		(TORUSMM_PROT_READ | TORUSMM_PROT_EXEC)
#define RWX		(RW | TORUSMM_PROT_EXEC)
#define FIXED		TORUSMM_MAP_FIXED
#define NOREPLACE	TORUSMM_MAP_FIXED_NOREPLACE
#define POPULATE	TORUSMM_MAP_POPULATE
#define USER		TORUSMM_ACCESS_USER
#define WRITE		TORUSMM_ACCESS_WRITE
#define EXEC		TORUSMM_ACCESS_EXEC
#define F_P		TORUSMM_FAULT_PROTECTION
#define F_W		TORUSMM_FAULT_WRITE
#define F_U		TORUSMM_FAULT_USER
#define F_X		TORUSMM_FAULT_FETCH
#define STACK_PAGE	(TORUSMM_STACK_TOP - PAGE)

/* The shared zero frame that reads of never-written memory map. */
#define ZERO_TPA	TORUSMM_ZERO_FRAME_TPA
/*
 * The entry a read (user or supervisor) of a never-written page of a
 * read-write region makes: the zero frame, present, user, accessed, no-exec
 * and copy-on-write; neither writable nor dirty.
 */
#define ZERO_PTE_RW	(ZERO_TPA | TORUSMM_PTE_PRESENT | TORUSMM_PTE_USER | \
			 TORUSMM_PTE_ACCESSED | TORUSMM_PTE_NX | \
			 TORUSMM_PTE_COW)

/*
 * Non-fixed mappings go top-down into [TORUSMM_USER_MIN, MMAP_BASE): the
 * window below the stack's reach.
 */
#define MMAP_BASE	(TORUSMM_STACK_TOP - TORUSMM_STACK_LIMIT)
#define MMAP_WINDOW	(MMAP_BASE - TORUSMM_USER_MIN)
#define USER_RANGE	(TORUSMM_STACK_TOP - TORUSMM_USER_MIN)

#define TORUSMM_PARAMS	"/sys/module/torusmm/parameters/"
#define TORUSMM_NOBODY	1000	/* a second user, for the per-user ceilings */

/* The parameters of torusmm.ko a test may change (mode 0644). */
static const char *const torusmm_tunables[] = {
	"max_frames", "user_max_frames", "max_spaces", "max_regions",
};

/*
 * What they were when the test program started.  Every teardown that changed
 * one puts it back; a test killed by its timeout, or a setup that failed,
 * runs no teardown, so the main process puts back whatever is still changed
 * when it exits.
 */
static struct {
	long long value[ARRAY_SIZE(torusmm_tunables)];
	pid_t main_pid;
} torusmm_saved;

/* The value of a parameter of torusmm.ko, or -errno (-ENOENT: none such). */
static inline long long torusmm_param_get(const char *name)
{
	char path[128];
	long long value;
	FILE *f;

	snprintf(path, sizeof(path), TORUSMM_PARAMS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fscanf(f, "%lld", &value) != 1)
		value = -EIO;
	fclose(f);
	return value;
}

/* Set a parameter of torusmm.ko.  Return: 0 or -errno. */
static inline int torusmm_param_set(const char *name, long long value)
{
	char path[128], text[32];
	int fd, len, ret = 0;

	snprintf(path, sizeof(path), TORUSMM_PARAMS "%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(text, sizeof(text), "%lld\n", value);
	if (write(fd, text, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

/* Put back every tunable as the program found it. */
static inline void torusmm_tunables_restore(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(torusmm_tunables);
	     i++) {
		if (torusmm_saved.value[i] < 0 ||
		    torusmm_param_get(torusmm_tunables[i]) ==
		    torusmm_saved.value[i])
			continue;
		if (torusmm_param_set(torusmm_tunables[i],
				      torusmm_saved.value[i]))
			fprintf(stderr, "# cannot restore %s to %lld\n",
				torusmm_tunables[i], torusmm_saved.value[i]);
	}
}

static void __attribute__((constructor)) torusmm_tunables_save(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(torusmm_tunables);
	     i++)
		torusmm_saved.value[i] = torusmm_param_get(torusmm_tunables[i]);
	torusmm_saved.main_pid = getpid();
}

static void __attribute__((destructor)) torusmm_tunables_restore_at_exit(void)
{
	if (getpid() == torusmm_saved.main_pid)
		torusmm_tunables_restore();
}

#endif /* _TORUSMM_TEST_H */
