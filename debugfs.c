// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm: debugfs files of tori and spaces.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * DOC: debugfs
 *
 * Under /sys/kernel/debug/torusmm/, beside the fault points, every file is
 * root's alone (mode 0400) and a seq_file:
 *
 *	torus<N>/stats		the counters of TORUSMM_GET_TORUS_INFO
 *	torus<N>/map		one character per frame: see tmm_map_show()
 *	spaces/<id>/stats	the counters of TORUSMM_GET_STATS, id included
 *	spaces/<id>/maps	the regions, as TORUSMM_DUMP_REGIONS lists them
 *	spaces/<id>/ptes	every leaf entry that holds a frame, as
 *				TORUSMM_DUMP_PTES lists them
 *
 * Lifetime: the files are created with debugfs_create_file(), whose proxy
 * file operations count every handler running on them, and a space's
 * directory is removed with debugfs_remove() first thing in
 * tmm_space_destroy() (a torus's in tmm_torus_destroy()), before anything
 * is freed.  debugfs_remove() waits for the handlers in flight, and every
 * later open or read gets EIO, so a show function never sees a freed space
 * or torus.  It runs with no torusmm lock held, or it could wait for a
 * reader that waits for that lock.  A show function takes the space's lock
 * shared (the torus's spinlock briefly, per line of the map); seq_read()
 * copies to user space after show returns, with no lock held.
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>

#include "debugfs.h"
#include "frame_alloc.h"
#include "space.h"

#define TMM_DEBUGFS_MODE	0400
/* Frames per line of a torus's map. */
#define TMM_MAP_LINE		64

static struct dentry *tmm_debugfs_root;
static struct dentry *tmm_debugfs_spaces;

static int tmm_torus_stats_show(struct seq_file *m, void *v)
{
	struct tmm_torus *torus = m->private;
	struct tmm_torus_stats stats;

	tmm_torus_get_stats(torus, &stats);
	seq_printf(m, "index: %u\n", torus->id);
	seq_printf(m, "nr_frames: %u\n", stats.nr_frames);
	seq_printf(m, "nr_free: %u\n", stats.nr_free);
	seq_printf(m, "nr_used: %u\n", stats.nr_used);
	seq_printf(m, "high_water: %u\n", stats.high_water);
	seq_printf(m, "nr_table_frames: %u\n", stats.nr_table_frames);
	seq_printf(m, "nr_spaces: %u\n", stats.nr_spaces);
	seq_printf(m, "base: %#x\n", TORUSMM_TORUS_BASE);
	seq_printf(m, "allocs: %llu\n", stats.allocs);
	seq_printf(m, "words_scanned: %llu\n", stats.words_scanned);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tmm_torus_stats);

/*
 * The map has a line per TMM_MAP_LINE frames, after one for the zero frame;
 * record n of the iterator is line n, passed as n + 1 so that it is never
 * NULL.
 */
static void *tmm_map_line(struct tmm_torus *torus, loff_t pos)
{
	if (pos > DIV_ROUND_UP(torus->nr_frames, TMM_MAP_LINE))
		return NULL;
	return (void *)(unsigned long)(pos + 1);
}

static void *tmm_map_start(struct seq_file *m, loff_t *pos)
{
	return tmm_map_line(m->private, *pos);
}

static void *tmm_map_next(struct seq_file *m, void *v, loff_t *pos)
{
	return tmm_map_line(m->private, ++*pos);
}

static void tmm_map_stop(struct seq_file *m, void *v)
{
}

/*
 * One line of a torus's map: the first frame's number in hex, a space, and
 * a character per frame: '.' free, 'd' data mapped by one entry, 's' data
 * shared by several (copy-on-write), 't' a page directory or table.  The
 * first line is the zero frame alone, 'z'.  Each line is a snapshot taken
 * under the torus's lock; the lines of one read are not one snapshot.
 */
static int tmm_map_show(struct seq_file *m, void *v)
{
	static const char symbol[] = {
		[TMM_FRAME_FREE] = '.',
		[TMM_FRAME_OWNED] = 'd',
		[TMM_FRAME_SHARED] = 's',
		[TMM_FRAME_PAGE_TABLE] = 't',
	};
	struct tmm_torus *torus = m->private;
	unsigned long line = (unsigned long)v - 1;
	char text[TMM_MAP_LINE + 1];
	u8 states[TMM_MAP_LINE];
	u32 first, nr, i;

	if (!line) {
		seq_printf(m, "%05x z\n", TMM_ZERO_FRAME);
		return 0;
	}
	first = (line - 1) * TMM_MAP_LINE;
	nr = min_t(u32, TMM_MAP_LINE, torus->nr_frames - first);
	tmm_torus_frame_states(torus, first, nr, states);
	for (i = 0; i < nr; i++)
		text[i] = symbol[states[i]];
	text[nr] = '\0';
	seq_printf(m, "%05x %s\n", TMM_FRAME_FIRST + first, text);
	return 0;
}

static const struct seq_operations tmm_map_sops = {
	.start = tmm_map_start,
	.next = tmm_map_next,
	.stop = tmm_map_stop,
	.show = tmm_map_show,
};
DEFINE_SEQ_ATTRIBUTE(tmm_map);

static int tmm_space_stats_show(struct seq_file *m, void *v)
{
	struct torusmm_space_stats stats;

	tmm_space_get_stats(m->private, &stats);
	seq_printf(m, "id: %llu\n", stats.id);
	seq_printf(m, "torus: %u\n", stats.torus);
	seq_printf(m, "max_frames: %u\n", stats.max_frames);
	seq_printf(m, "nr_data_frames: %u\n", stats.nr_data_frames);
	seq_printf(m, "nr_table_frames: %u\n", stats.nr_table_frames);
	seq_printf(m, "nr_regions: %u\n", stats.nr_regions);
	seq_printf(m, "nr_heap_pages: %u\n", stats.nr_heap_pages);
	seq_printf(m, "brk: %#x\n", stats.brk);
	seq_printf(m, "stack_start: %#x\n", stats.stack_start);
	seq_printf(m, "nr_faults: %llu\n", stats.nr_faults);
	seq_printf(m, "nr_fault_errors: %llu\n", stats.nr_fault_errors);
	seq_printf(m, "nr_translations: %llu\n", stats.nr_translations);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tmm_space_stats);

/* "10000000-10002000 rw-": the range and its protection, as proc's maps. */
static int tmm_maps_one(u32 start, u64 end, u32 prot, void *data)
{
	struct seq_file *m = data;

	seq_printf(m, "%08x-%08llx %c%c%c\n", start, end,
		   prot & TORUSMM_PROT_READ ? 'r' : '-',
		   prot & TORUSMM_PROT_WRITE ? 'w' : '-',
		   prot & TORUSMM_PROT_EXEC ? 'x' : '-');
	return seq_has_overflowed(m);	/* seq_read() retries, larger */
}

static int tmm_space_maps_show(struct seq_file *m, void *v)
{
	tmm_space_walk_regions(m->private, tmm_maps_one, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tmm_space_maps);

/*
 * "10000000 0010c267 pwuad-c": the address, the entry, and its bits by
 * name: present, writable, user, accessed, dirty, no-exec, PROT_NONE,
 * copy-on-write (PROT_NONE shows as 'n', no-exec as 'x').
 */
static int tmm_ptes_one(u32 va, u32 *ptep, void *data)
{
	struct seq_file *m = data;
	u32 pte = READ_ONCE(*ptep);

	seq_printf(m, "%08x %08x %c%c%c%c%c%c%c%c\n", va, pte,
		   pte & TORUSMM_PTE_PRESENT ? 'p' : '-',
		   pte & TORUSMM_PTE_WRITABLE ? 'w' : '-',
		   pte & TORUSMM_PTE_USER ? 'u' : '-',
		   pte & TORUSMM_PTE_ACCESSED ? 'a' : '-',
		   pte & TORUSMM_PTE_DIRTY ? 'd' : '-',
		   pte & TORUSMM_PTE_NX ? 'x' : '-',
		   pte & TORUSMM_PTE_PROTNONE ? 'n' : '-',
		   pte & TORUSMM_PTE_COW ? 'c' : '-');
	return seq_has_overflowed(m);
}

static int tmm_space_ptes_show(struct seq_file *m, void *v)
{
	tmm_space_walk_ptes(m->private, 0, SZ_4G, tmm_ptes_one, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tmm_space_ptes);

/**
 * tmm_debugfs_init() - create /sys/kernel/debug/torusmm and its spaces/
 *
 * Context: process context, at module load.
 * Return: the torusmm directory, for other files of the core (an error
 * pointer when debugfs is absent; debugfs calls accept it).
 */
struct dentry *tmm_debugfs_init(void)
{
	tmm_debugfs_root = debugfs_create_dir("torusmm", NULL);
	tmm_debugfs_spaces = debugfs_create_dir("spaces", tmm_debugfs_root);
	return tmm_debugfs_root;
}

/**
 * tmm_debugfs_exit() - remove /sys/kernel/debug/torusmm and all below it
 *
 * Context: process context, at module unload.
 */
void tmm_debugfs_exit(void)
{
	debugfs_remove(tmm_debugfs_root);
	tmm_debugfs_root = NULL;
	tmm_debugfs_spaces = NULL;
}

/**
 * tmm_debugfs_torus_add() - create torus<N>/ with its stats and map
 * @torus: a torus ready for use
 *
 * Failure is not an error: the torus just has no files.
 *
 * Context: process context; sleeps.
 */
void tmm_debugfs_torus_add(struct tmm_torus *torus)
{
	char name[16];

	if (IS_ERR_OR_NULL(tmm_debugfs_root))
		return;
	snprintf(name, sizeof(name), "torus%u", torus->id);
	torus->debugfs = debugfs_create_dir(name, tmm_debugfs_root);
	debugfs_create_file("stats", TMM_DEBUGFS_MODE, torus->debugfs, torus,
			    &tmm_torus_stats_fops);
	debugfs_create_file("map", TMM_DEBUGFS_MODE, torus->debugfs, torus,
			    &tmm_map_fops);
}

/**
 * tmm_debugfs_torus_remove() - remove a torus's files, waiting for readers
 * @torus: the torus
 *
 * Context: process context; sleeps; no torusmm lock held.
 */
void tmm_debugfs_torus_remove(struct tmm_torus *torus)
{
	debugfs_remove(torus->debugfs);
	torus->debugfs = NULL;
}

/**
 * tmm_debugfs_space_add() - create spaces/<id>/ with stats, maps and ptes
 * @space: a space ready for use
 *
 * Failure is not an error: the space just has no files.
 *
 * Context: process context; sleeps.
 */
void tmm_debugfs_space_add(struct tmm_space *space)
{
	char name[24];

	if (IS_ERR_OR_NULL(tmm_debugfs_spaces))
		return;
	snprintf(name, sizeof(name), "%llu", space->id);
	space->debugfs = debugfs_create_dir(name, tmm_debugfs_spaces);
	debugfs_create_file("stats", TMM_DEBUGFS_MODE, space->debugfs, space,
			    &tmm_space_stats_fops);
	debugfs_create_file("maps", TMM_DEBUGFS_MODE, space->debugfs, space,
			    &tmm_space_maps_fops);
	debugfs_create_file("ptes", TMM_DEBUGFS_MODE, space->debugfs, space,
			    &tmm_space_ptes_fops);
}

/**
 * tmm_debugfs_space_remove() - remove a space's files, waiting for readers
 * @space: the space
 *
 * Context: process context; sleeps; @space->lock not held (readers take it).
 */
void tmm_debugfs_space_remove(struct tmm_space *space)
{
	debugfs_remove(space->debugfs);
	space->debugfs = NULL;
}
