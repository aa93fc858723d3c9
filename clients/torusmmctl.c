// SPDX-License-Identifier: GPL-2.0
/*
 * torusmmctl: a small command interpreter for /dev/torusmm.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * Lets a user try an idea on address spaces without writing C.  Commands
 * come from -c "cmd; cmd", from a script file (-f FILE, one command per
 * line), from the remaining arguments (joined with spaces and split at ';'
 * like -c), or from standard input.  Each command is one ioctl (or a few for
 * dump), and a failure prints the errno's name.  "help" lists the commands.
 */
#include <ctype.h>
#include <dirent.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtorusmm.h"

#define MAX_ARGS	16
#define MAX_SPACES	256
#define MAX_LINE	4096

struct ctl {
	int dev;			/* /dev/torusmm, opened on first use */
	int spaces[MAX_SPACES];		/* fds; -1 for a closed slot */
	int nr_spaces;
	int cur;			/* the current space, or -1 */
	bool keep_going;		/* run on after a failed command */
	bool count_commands;		/* @line counts commands */
	const char *where;		/* "line" or "command" */
	unsigned int line;
	unsigned int errors;
};

struct command {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(struct ctl *c, char **argv);	/* NULL-terminated */
	int min_args;
	int max_args;
};

static void error(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "torusmmctl: %s %u: ", c->where, c->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Report a failed ioctl by its errno name; always returns -1. */
static int fail(struct ctl *c, const char *what, int ret)
{
	char buf[32];

	error(c, "%s: %s (%s)", what, torusmm_strret(ret, buf, sizeof(buf)) + 1,
	      strerror(-ret));
	return -1;
}

/* A number: decimal, 0x hex or 0 octal, with an optional k, m or g. */
static int parse_u64(struct ctl *c, const char *s, __u64 *val)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		goto bad;
	switch (tolower((unsigned char)*end)) {
	case 'k':
		v <<= 10;
		end++;
		break;
	case 'm':
		v <<= 20;
		end++;
		break;
	case 'g':
		v <<= 30;
		end++;
		break;
	}
	if (*end)
		goto bad;
	*val = v;
	return 0;
bad:
	error(c, "'%s' is not a number", s);
	return -1;
}

/* A protection: letters of "rwx" in any order, '-' ignored, or "none". */
static int parse_prot(struct ctl *c, const char *s, __u32 *prot)
{
	const char *p;

	*prot = TORUSMM_PROT_NONE;
	if (!strcmp(s, "none"))
		return 0;
	for (p = s; *p; p++) {
		switch (*p) {
		case 'r':
			*prot |= TORUSMM_PROT_READ;
			break;
		case 'w':
			*prot |= TORUSMM_PROT_WRITE;
			break;
		case 'x':
			*prot |= TORUSMM_PROT_EXEC;
			break;
		case '-':
			break;
		default:
			error(c, "'%s' is not a protection (r, w, x or none)",
			      s);
			return -1;
		}
	}
	return 0;
}

static int open_device(struct ctl *c)
{
	if (c->dev >= 0)
		return 0;
	c->dev = torusmm_open();
	if (c->dev < 0)
		return fail(c, "open " TORUSMM_DEVICE, c->dev);
	return 0;
}

/* The space named by @arg, or the current one; -1 with a message. */
static int space_index(struct ctl *c, const char *arg)
{
	__u64 n = c->cur;

	if (arg && parse_u64(c, arg, &n))
		return -1;
	if (n < (__u64)c->nr_spaces && c->spaces[n] >= 0)
		return n;
	if (arg)
		error(c, "there is no space %s", arg);
	else
		error(c, "no current address space: 'create' one first");
	return -1;
}

/* The current space's fd, or -1 with a message. */
static int current_fd(struct ctl *c)
{
	int n = space_index(c, NULL);

	return n < 0 ? -1 : c->spaces[n];
}

/* Remember a new space's fd and make it the current one. */
static int add_space(struct ctl *c, int fd, const char *how)
{
	struct torusmm_space_stats stats;

	if (c->nr_spaces == MAX_SPACES) {
		close(fd);
		error(c, "more than %d spaces", MAX_SPACES);
		return -1;
	}
	c->cur = c->nr_spaces++;
	c->spaces[c->cur] = fd;
	torusmm_stats(fd, &stats);
	printf("space %d: %s on torus %u, ", c->cur, how, stats.torus);
	if (stats.max_frames)
		printf("quota %u frames (fd %d)\n", stats.max_frames, fd);
	else
		printf("no quota (fd %d)\n", fd);
	return 0;
}

static int cmd_create(struct ctl *c, char **argv)
{
	__u64 torus = TORUSMM_TORUS_ANY, max_frames = 0;
	int fd;

	if (argv[1] && strcmp(argv[1], "any") &&
	    parse_u64(c, argv[1], &torus))
		return -1;
	if (argv[1] && argv[2] && parse_u64(c, argv[2], &max_frames))
		return -1;
	if (open_device(c))
		return -1;
	fd = torusmm_create_space(c->dev, torus, max_frames);
	if (fd < 0)
		return fail(c, "create", fd);
	return add_space(c, fd, "created");
}

static int cmd_clone(struct ctl *c, char **argv)
{
	int n = space_index(c, argv[1]), fd;
	char how[32];

	if (n < 0)
		return -1;
	fd = torusmm_clone(c->spaces[n]);
	if (fd < 0)
		return fail(c, "clone", fd);
	snprintf(how, sizeof(how), "clone of space %d", n);
	return add_space(c, fd, how);
}

static int cmd_use(struct ctl *c, char **argv)
{
	int n = space_index(c, argv[1]);

	if (n < 0)
		return -1;
	c->cur = n;
	printf("space %d is current\n", n);
	return 0;
}

static int cmd_close(struct ctl *c, char **argv)
{
	int n = space_index(c, argv[1]);

	if (n < 0)
		return -1;
	close(c->spaces[n]);
	c->spaces[n] = -1;
	if (c->cur == n)
		c->cur = -1;
	printf("space %d closed\n", n);
	return 0;
}

static int cmd_brk(struct ctl *c, char **argv)
{
	int fd = current_fd(c), ret;
	__u64 addr = 0, result;

	if (fd < 0 || (argv[1] && parse_u64(c, argv[1], &addr)))
		return -1;
	ret = torusmm_brk(fd, addr, &result);
	if (ret)
		return fail(c, "brk", ret);
	if (addr && addr != result) {
		error(c, "brk: the break stays at %#llx (ENOMEM)",
		      (unsigned long long)result);
		return -1;
	}
	printf("break %#llx\n", (unsigned long long)result);
	return 0;
}

static int cmd_mmap(struct ctl *c, char **argv)
{
	__u64 addr, length;
	__u32 prot, flags = 0;
	int fd = current_fd(c), i, ret;
	char pbuf[4];

	if (fd < 0 || parse_u64(c, argv[1], &addr) ||
	    parse_u64(c, argv[2], &length) || parse_prot(c, argv[3], &prot))
		return -1;
	for (i = 4; argv[i]; i++) {
		if (!strcmp(argv[i], "fixed")) {
			flags |= TORUSMM_MAP_FIXED;
		} else if (!strcmp(argv[i], "noreplace")) {
			flags |= TORUSMM_MAP_FIXED_NOREPLACE;
		} else if (!strcmp(argv[i], "populate")) {
			flags |= TORUSMM_MAP_POPULATE;
		} else {
			error(c, "mmap: unknown flag '%s'", argv[i]);
			return -1;
		}
	}
	ret = torusmm_mmap(fd, &addr, length, prot, flags);
	if (ret)
		return fail(c, "mmap", ret);
	printf("mapped %#llx-%#llx %s\n", (unsigned long long)addr,
	       (unsigned long long)(addr + ((length + TORUSMM_PAGE_SIZE - 1) &
					    ~(__u64)(TORUSMM_PAGE_SIZE - 1))),
	       torusmm_prot_str(prot, pbuf));
	return 0;
}

static int cmd_munmap(struct ctl *c, char **argv)
{
	int fd = current_fd(c), ret;
	__u64 addr, length;

	if (fd < 0 || parse_u64(c, argv[1], &addr) ||
	    parse_u64(c, argv[2], &length))
		return -1;
	ret = torusmm_munmap(fd, addr, length);
	if (ret)
		return fail(c, "munmap", ret);
	printf("unmapped %#llx+%#llx\n", (unsigned long long)addr,
	       (unsigned long long)length);
	return 0;
}

static int cmd_mprotect(struct ctl *c, char **argv)
{
	int fd = current_fd(c), ret;
	__u64 addr, length;
	char pbuf[4];
	__u32 prot;

	if (fd < 0 || parse_u64(c, argv[1], &addr) ||
	    parse_u64(c, argv[2], &length) || parse_prot(c, argv[3], &prot))
		return -1;
	ret = torusmm_mprotect(fd, addr, length, prot);
	if (ret)
		return fail(c, "mprotect", ret);
	printf("protected %#llx+%#llx %s\n", (unsigned long long)addr,
	       (unsigned long long)length, torusmm_prot_str(prot, pbuf));
	return 0;
}

/* An access: one of r, w, x (r when absent), then u for a user access. */
static int parse_access(struct ctl *c, const char *s, __u32 *access)
{
	const char *p;

	*access = TORUSMM_ACCESS_READ;
	for (p = s; *p; p++) {
		switch (*p) {
		case 'r':
			break;
		case 'w':
			*access |= TORUSMM_ACCESS_WRITE;
			break;
		case 'x':
			*access |= TORUSMM_ACCESS_EXEC;
			break;
		case 'u':
			*access |= TORUSMM_ACCESS_USER;
			break;
		default:
			error(c, "'%s' is not an access (r, w or x, then u)",
			      s);
			return -1;
		}
	}
	return 0;
}

static int cmd_translate(struct ctl *c, char **argv)
{
	struct torusmm_translate tr;
	__u32 access = TORUSMM_ACCESS_USER, flags = 0;
	int fd = current_fd(c), i, ret;
	char buf[48];
	__u64 addr;

	if (fd < 0 || parse_u64(c, argv[1], &addr))
		return -1;
	for (i = 2; argv[i]; i++) {
		if (!strcmp(argv[i], "peek"))
			flags |= TORUSMM_TRANSLATE_PEEK;
		else if (parse_access(c, argv[i], &access))
			return -1;
	}
	ret = torusmm_translate(fd, addr, access, flags, &tr);
	if (ret < 0)
		return fail(c, "translate", ret);
	/* 1 is a fault, whose code may be 0: a result, not a failure. */
	if (!ret)
		printf("%#llx -> tpa %#llx", (unsigned long long)addr,
		       (unsigned long long)tr.tpa);
	else
		printf("%#llx: fault %#x (%s)", (unsigned long long)addr,
		       tr.fault, torusmm_fault_str(tr.fault, buf, sizeof(buf)));
	printf(", pte 0x%08x [%s]\n", tr.pte,
	       torusmm_pte_str(tr.pte, buf, sizeof(buf)));
	return 0;
}

/* Print @len bytes as hexdump -C does, addresses from @addr. */
static void hexdump(__u64 addr, const unsigned char *p, __u64 len)
{
	__u64 i, j;

	for (i = 0; i < len; i += 16) {
		printf("%08llx ", (unsigned long long)(addr + i));
		for (j = i; j < i + 16; j++) {
			if (j < len)
				printf(" %02x", p[j]);
			else
				printf("   ");
		}
		printf("  |");
		for (j = i; j < i + 16 && j < len; j++)
			putchar(isprint(p[j]) ? p[j] : '.');
		printf("|\n");
	}
}

static void print_fault(const char *what, const struct torusmm_rw *rw)
{
	char buf[48];

	printf("%s stopped after %llu bytes: fault %#x (%s) at %#llx\n", what,
	       (unsigned long long)rw->done, rw->fault,
	       torusmm_fault_str(rw->fault, buf, sizeof(buf)),
	       (unsigned long long)rw->fault_addr);
}

static int cmd_read(struct ctl *c, char **argv)
{
	__u32 access = TORUSMM_ACCESS_USER;
	struct torusmm_rw rw;
	int fd = current_fd(c), ret;
	__u64 addr, length;
	unsigned char *buf;

	if (fd < 0 || parse_u64(c, argv[1], &addr) ||
	    parse_u64(c, argv[2], &length))
		return -1;
	if (argv[3]) {
		if (strcmp(argv[3], "sup")) {
			error(c, "read: unknown option '%s'", argv[3]);
			return -1;
		}
		access = 0;
	}
	if (length > TORUSMM_RW_MAX) {
		error(c, "read: at most %u bytes at a time", TORUSMM_RW_MAX);
		return -1;
	}
	buf = calloc(1, length ? length : 1);
	if (!buf)
		return fail(c, "read", -ENOMEM);
	ret = torusmm_read(fd, addr, buf, length, access, &rw);
	if (ret < 0) {
		free(buf);
		return fail(c, "read", ret);
	}
	hexdump(addr, buf, rw.done);
	free(buf);
	if (ret == 1) {
		print_fault("read", &rw);
		return -1;
	}
	return 0;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower((unsigned char)ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Decode "0x414243" into bytes; anything else is taken as text. */
static size_t parse_data(const char *s, unsigned char *out)
{
	size_t n = strlen(s), i;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && !(n % 2)) {
		for (i = 2; i < n; i += 2) {
			int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);

			if (hi < 0 || lo < 0)
				break;
			out[i / 2 - 1] = hi << 4 | lo;
		}
		if (i == n)
			return n / 2 - 1;
	}
	memcpy(out, s, n);
	return n;
}

static int cmd_write(struct ctl *c, char **argv)
{
	unsigned char *data;
	struct torusmm_rw rw;
	int fd = current_fd(c), ret;
	size_t len;
	__u64 addr;

	if (fd < 0 || parse_u64(c, argv[1], &addr))
		return -1;
	data = malloc(strlen(argv[2]) + 1);
	if (!data)
		return fail(c, "write", -ENOMEM);
	len = parse_data(argv[2], data);
	ret = torusmm_write(fd, addr, data, len, TORUSMM_ACCESS_USER, &rw);
	free(data);
	if (ret < 0)
		return fail(c, "write", ret);
	if (ret == 1) {
		print_fault("write", &rw);
		return -1;
	}
	printf("wrote %zu bytes at %#llx\n", len, (unsigned long long)addr);
	return 0;
}

static int dump_regions(struct ctl *c, int fd)
{
	struct torusmm_region *regions = NULL;
	__u32 count = 0, i;
	char pbuf[4];
	int ret;

	ret = torusmm_dump_regions(fd, NULL, &count);
	if (ret && ret != -E2BIG)
		return fail(c, "dump regions", ret);
	regions = calloc(count + 1, sizeof(*regions));
	if (!regions)
		return fail(c, "dump regions", -ENOMEM);
	ret = torusmm_dump_regions(fd, regions, &count);
	if (ret) {
		free(regions);
		return fail(c, "dump regions", ret);
	}
	printf("%u regions:\n", count);
	for (i = 0; i < count; i++)
		printf("  %08x-%08x %s  %u pages\n", regions[i].start,
		       regions[i].end, torusmm_prot_str(regions[i].prot, pbuf),
		       (regions[i].end - regions[i].start) / TORUSMM_PAGE_SIZE);
	free(regions);
	return 0;
}

static int dump_ptes(struct ctl *c, int fd, __u64 addr, __u64 length)
{
	struct torusmm_pte *ptes;
	__u32 count = 0, i;
	char buf[32];
	int ret;

	ret = torusmm_dump_ptes(fd, addr, length, NULL, &count);
	if (ret && ret != -E2BIG)
		return fail(c, "dump ptes", ret);
	ptes = calloc(count + 1, sizeof(*ptes));
	if (!ptes)
		return fail(c, "dump ptes", -ENOMEM);
	ret = torusmm_dump_ptes(fd, addr, length, ptes, &count);
	if (ret) {
		free(ptes);
		return fail(c, "dump ptes", ret);
	}
	printf("%u PTEs holding a frame:\n", count);
	for (i = 0; i < count; i++)
		printf("  %08x -> tpa %08x  pte %08x [%s]\n", ptes[i].addr,
		       ptes[i].pte & TORUSMM_PTE_FRAME_MASK, ptes[i].pte,
		       torusmm_pte_str(ptes[i].pte, buf, sizeof(buf)));
	free(ptes);
	return 0;
}

static int cmd_dump(struct ctl *c, char **argv)
{
	bool regions = true, ptes = true;
	__u64 addr = 0, length = 0;
	int fd = current_fd(c), argc = 0;

	while (argv[argc])
		argc++;
	if (fd < 0)
		return -1;
	if (argc > 1) {
		regions = !strcmp(argv[1], "regions");
		ptes = !strcmp(argv[1], "ptes");
	}
	if ((!regions && !ptes) || (regions && argc > 2) || argc == 3) {
		error(c, "usage: dump [regions | ptes [addr len]]");
		return -1;
	}
	if (argc > 2 &&
	    (parse_u64(c, argv[2], &addr) || parse_u64(c, argv[3], &length)))
		return -1;
	if (regions && dump_regions(c, fd))
		return -1;
	return ptes ? dump_ptes(c, fd, addr, length) : 0;
}

static int cmd_stats(struct ctl *c, char **argv)
{
	struct torusmm_space_stats s;
	int n = space_index(c, argv[1]), ret;

	if (n < 0)
		return -1;
	ret = torusmm_stats(c->spaces[n], &s);
	if (ret)
		return fail(c, "stats", ret);
	printf("space %d (id %llu): torus %u, ", n, (unsigned long long)s.id,
	       s.torus);
	if (s.max_frames)
		printf("quota %u frames\n", s.max_frames);
	else
		printf("no quota\n");
	printf("  frames: %u data, %u table\n", s.nr_data_frames,
	       s.nr_table_frames);
	printf("  regions: %u; break %#x (%u heap pages); stack from %#x\n",
	       s.nr_regions, s.brk, s.nr_heap_pages, s.stack_start);
	printf("  demand faults %llu, faulting accesses %llu, translations %llu\n",
	       (unsigned long long)s.nr_faults,
	       (unsigned long long)s.nr_fault_errors,
	       (unsigned long long)s.nr_translations);
	return 0;
}

static int print_torus(struct ctl *c, __u32 index)
{
	struct torusmm_torus_info t;
	int ret;

	ret = torusmm_torus_info(c->dev, index, &t);
	if (ret)
		return fail(c, "info", ret);
	printf("torus %u: %u frames at tpa %#llx: %u free, %u used (%u tables), high water %u\n",
	       t.index, t.nr_frames, (unsigned long long)t.base, t.nr_free,
	       t.nr_used, t.nr_table_frames, t.high_water);
	printf("  %u spaces; %llu allocations inspected %llu bitmap words\n",
	       t.nr_spaces, (unsigned long long)t.allocs,
	       (unsigned long long)t.words_scanned);
	return 0;
}

static int cmd_info(struct ctl *c, char **argv)
{
	int nr_tori, i, version;
	__u64 index;

	if (open_device(c))
		return -1;
	if (argv[1])
		return parse_u64(c, argv[1], &index) ? -1 :
		       print_torus(c, index);
	version = torusmm_api_version(c->dev);
	nr_tori = torusmm_check_extension(c->dev, TORUSMM_CAP_NR_TORI);
	if (version < 0)
		return fail(c, "version", version);
	printf("API version %d, %d %s, dumps of at most %d entries\n",
	       version, nr_tori, nr_tori == 1 ? "torus" : "tori",
	       torusmm_check_extension(c->dev, TORUSMM_CAP_DUMP_MAX));
	for (i = 0; i < nr_tori; i++)
		if (print_torus(c, i))
			return -1;
	return 0;
}

#define DEBUGFS_DIR	"/sys/kernel/debug/torusmm"

/* Copy a debugfs file to standard output, under a heading. */
static int cat_debugfs(struct ctl *c, const char *dir, const char *file)
{
	char path[256], buf[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), DEBUGFS_DIR "/%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f) {
		error(c, "debug: %s: %s%s", path, strerror(errno),
		      errno == EACCES ? " (root only)" : "");
		return -1;
	}
	printf("== %s\n", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
	return 0;
}

/* The names in a debugfs directory that pass @keep, on one line. */
static int list_debugfs(struct ctl *c, const char *dir, const char *label,
			bool (*keep)(const char *name))
{
	char path[256];
	struct dirent *d;
	DIR *dp;

	snprintf(path, sizeof(path), DEBUGFS_DIR "%s", dir);
	dp = opendir(path);
	if (!dp) {
		error(c, "debug: %s: %s (is debugfs mounted, are you root?)",
		      path, strerror(errno));
		return -1;
	}
	printf("%s:", label);
	while ((d = readdir(dp)))
		if (keep(d->d_name))
			printf(" %s", d->d_name);
	printf("\n");
	closedir(dp);
	return 0;
}

static bool is_torus_dir(const char *name)
{
	return !strncmp(name, "torus", 5);
}

static bool is_space_dir(const char *name)
{
	return isdigit((unsigned char)name[0]);
}

/*
 * debug: list the tori and spaces debugfs knows; debug torus N: its stats
 * and frame map; debug space [ID]: the stats, maps and ptes of space ID
 * (default: the current space's id).
 */
static int cmd_debug(struct ctl *c, char **argv)
{
	struct torusmm_space_stats s;
	char dir[64];
	__u64 id;
	int ret;

	if (!argv[1]) {
		int i;

		if (list_debugfs(c, "", "tori", is_torus_dir) ||
		    list_debugfs(c, "/spaces", "spaces (ids)", is_space_dir))
			return -1;
		for (i = 0; i < c->nr_spaces; i++)
			if (c->spaces[i] >= 0 && !torusmm_stats(c->spaces[i], &s))
				printf("  space %d here is id %llu\n", i,
				       (unsigned long long)s.id);
		return 0;
	}
	if (!strcmp(argv[1], "torus")) {
		if (!argv[2]) {
			error(c, "debug torus: which torus?");
			return -1;
		}
		if (parse_u64(c, argv[2], &id))
			return -1;
		snprintf(dir, sizeof(dir), "torus%llu", (unsigned long long)id);
		return cat_debugfs(c, dir, "stats") ||
		       cat_debugfs(c, dir, "map") ? -1 : 0;
	}
	if (!strcmp(argv[1], "space")) {
		if (argv[2]) {
			if (parse_u64(c, argv[2], &id))
				return -1;
		} else {
			ret = current_fd(c);
			if (ret < 0)
				return -1;
			ret = torusmm_stats(ret, &s);
			if (ret)
				return fail(c, "stats", ret);
			id = s.id;
		}
		snprintf(dir, sizeof(dir), "spaces/%llu", (unsigned long long)id);
		return cat_debugfs(c, dir, "stats") ||
		       cat_debugfs(c, dir, "maps") ||
		       cat_debugfs(c, dir, "ptes") ? -1 : 0;
	}
	error(c, "debug: '%s' is neither torus nor space", argv[1]);
	return -1;
}

static int cmd_help(struct ctl *c, char **argv);

static const struct command commands[] = {
	{ "create", "[torus|any] [max_frames]",
	  "create a space (max_frames 0: module default); it becomes current",
	  cmd_create, 0, 2 },
	{ "clone", "[n]",
	  "clone space n (default: the current one); the clone becomes current",
	  cmd_clone, 0, 1 },
	{ "use", "<n>", "make space n current", cmd_use, 1, 1 },
	{ "close", "[n]", "close space n (default: the current one)",
	  cmd_close, 0, 1 },
	{ "brk", "[addr]", "set the break (no addr: print it)", cmd_brk, 0, 1 },
	{ "mmap", "<addr|0> <len> <prot> [fixed|noreplace|populate]...",
	  "map; prot is letters of rwx or none", cmd_mmap, 3, 6 },
	{ "munmap", "<addr> <len>", "unmap", cmd_munmap, 2, 2 },
	{ "mprotect", "<addr> <len> <prot>", "change protection", cmd_mprotect,
	  3, 3 },
	{ "translate", "<addr> [r|w|x][u] [peek]",
	  "translate one access (default: user read)", cmd_translate, 1, 3 },
	{ "read", "<addr> <len> [sup]",
	  "read and hexdump (sup: a supervisor access)", cmd_read, 2, 3 },
	{ "write", "<addr> <text|0xhex>", "write bytes (user access)",
	  cmd_write, 2, 2 },
	{ "dump", "[regions|ptes [addr len]]", "list regions and PTEs",
	  cmd_dump, 0, 3 },
	{ "stats", "[n]", "statistics of space n (default: the current one)",
	  cmd_stats, 0, 1 },
	{ "info", "[torus]", "API version and torus statistics", cmd_info,
	  0, 1 },
	{ "debug", "[torus <n> | space [id]]",
	  "debugfs (root): list tori and space ids, or show one's files",
	  cmd_debug, 0, 2 },
	{ "help", "[command]", "this list, or one command's line of it",
	  cmd_help, 0, 1 },
};

static int cmd_help(struct ctl *c, char **argv)
{
	bool found = false;
	size_t i;

	if (!argv[1])
		printf("commands (numbers may be 0x hex and end in k, m or g):\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (argv[1] && strcmp(argv[1], commands[i].name))
			continue;
		printf("  %s %s\n      %s\n", commands[i].name,
		       commands[i].args, commands[i].help);
		found = true;
	}
	if (!found)
		error(c, "help: no command '%s'", argv[1]);
	return found ? 0 : -1;
}

/*
 * Split @s into words at blanks.  Double quotes keep blanks in a word, and
 * inside them a backslash escapes the next character ('n' is a newline).
 * Return: the number of words, or -1 with a message.
 */
static int split_words(struct ctl *c, char *s, char **argv)
{
	int argc = 0;
	char *out;

	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			return argc;
		if (argc == MAX_ARGS) {
			error(c, "too many words");
			return -1;
		}
		out = s;
		argv[argc++] = s;
		while (*s && !isspace((unsigned char)*s)) {
			if (*s != '"') {
				*out++ = *s++;
				continue;
			}
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && s[1]) {
					s++;
					*out++ = *s == 'n' ? '\n' : *s;
				} else {
					*out++ = *s;
				}
			}
			if (*s != '"') {
				error(c, "unterminated quote");
				return -1;
			}
			s++;
		}
		if (*s)
			s++;
		*out = '\0';
	}
}

/* Run one command line; returns 0 or -1. */
static int run_command(struct ctl *c, char *line)
{
	char *argv[MAX_ARGS + 1];
	int argc;
	size_t i;

	argc = split_words(c, line, argv);
	if (argc <= 0)
		return argc;
	argv[argc] = NULL;
	if (!strcmp(argv[0], "quit") || !strcmp(argv[0], "exit"))
		return 1;
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *cmd = &commands[i];

		if (strcmp(argv[0], cmd->name))
			continue;
		if (argc - 1 < cmd->min_args || argc - 1 > cmd->max_args) {
			error(c, "usage: %s %s", cmd->name, cmd->args);
			return -1;
		}
		return cmd->run(c, argv);
	}
	error(c, "unknown command '%s' (try 'help')", argv[0]);
	return -1;
}

/*
 * Run the commands of @text, separated by ';' or newlines (a ';' inside
 * double quotes does not separate).  Return: 1 to stop, else 0.
 */
static int run_text(struct ctl *c, char *text)
{
	bool quoted = false;
	char *start = text, *p;
	int ret;

	for (p = text;; p++) {
		char ch = *p;

		if (ch == '"' && (p == text || p[-1] != '\\'))
			quoted = !quoted;
		if (ch && (quoted || (ch != ';' && ch != '\n')))
			continue;
		*p = '\0';
		if (c->count_commands)
			c->line++;
		ret = run_command(c, start);
		if (ret < 0)
			c->errors++;
		if (ret > 0 || (ret < 0 && !c->keep_going))
			return 1;
		if (!ch)
			return 0;
		start = p + 1;
	}
}

static int run_stream(struct ctl *c, FILE *f)
{
	bool prompt = isatty(fileno(f));
	char line[MAX_LINE];

	c->line = 0;
	for (;;) {
		if (prompt)
			fputs("torusmm> ", stdout);
		fflush(stdout);
		if (!fgets(line, sizeof(line), f))
			break;
		c->line++;
		line[strcspn(line, "\n")] = '\0';
		if (run_text(c, line))
			return 1;
	}
	return 0;
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: torusmmctl [-k] [-c 'CMD; CMD...'] [-f FILE] [CMD ARGS [';' CMD ARGS]...]\n"
		"  -c TEXT  run commands separated by ';' or newlines\n"
		"  -f FILE  run a script, one command per line ('-': stdin)\n"
		"  -k       keep going after a failed command\n"
		"  with no commands, read them from standard input\n"
		"example: torusmmctl 'create; mmap 0 8k rw populate; dump; stats'\n\n");
	cmd_help(NULL, (char *[]){ "help", NULL });
}

int main(int argc, char **argv)
{
	struct ctl c = { .dev = -1, .cur = -1, .where = "command" };
	bool ran = false;
	int opt, stop = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!stop && (opt = getopt(argc, argv, "+c:f:kh")) != -1) {
		FILE *f;

		switch (opt) {
		case 'c':
			c.where = "-c, command";
			c.count_commands = true;
			c.line = 0;
			stop = run_text(&c, optarg);
			ran = true;
			break;
		case 'f':
			f = strcmp(optarg, "-") ? fopen(optarg, "r") : stdin;
			if (!f) {
				fprintf(stderr, "torusmmctl: %s: %s\n", optarg,
					strerror(errno));
				return 2;
			}
			c.where = "line";
			c.count_commands = false;
			stop = run_stream(&c, f);
			if (f != stdin)
				fclose(f);
			ran = true;
			break;
		case 'k':
			c.keep_going = true;
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 2;
		}
	}
	if (!stop && optind < argc) {
		size_t len = 1;
		char *text;
		int i;

		for (i = optind; i < argc; i++)
			len += strlen(argv[i]) + 1;
		text = calloc(1, len);
		if (!text)
			return 2;
		for (i = optind; i < argc; i++) {
			strcat(text, argv[i]);
			strcat(text, " ");
		}
		c.where = "arguments, command";
		c.count_commands = true;
		c.line = 0;
		run_text(&c, text);
		free(text);
	} else if (!stop && !ran) {
		c.where = "stdin, line";
		c.count_commands = false;
		c.keep_going |= isatty(STDIN_FILENO);
		run_stream(&c, stdin);
	}
	return c.errors ? 1 : 0;
}
