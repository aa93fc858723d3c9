/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm: debugfs files of tori and spaces, under /sys/kernel/debug/torusmm.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_DEBUGFS_H
#define _TORUSMM_DEBUGFS_H

struct dentry;
struct tmm_space;
struct tmm_torus;

struct dentry *tmm_debugfs_init(void);
void tmm_debugfs_exit(void);
void tmm_debugfs_torus_add(struct tmm_torus *torus);
void tmm_debugfs_torus_remove(struct tmm_torus *torus);
void tmm_debugfs_space_add(struct tmm_space *space);
void tmm_debugfs_space_remove(struct tmm_space *space);

#endif /* _TORUSMM_DEBUGFS_H */
