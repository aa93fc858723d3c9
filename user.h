/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm: what each user may hold, and what they hold.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_USER_H
#define _TORUSMM_USER_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/uidgid.h>

/**
 * struct tmm_limits - ceilings the administrator set
 * @max_frames: frames (data and tables) one space may hold; 0 for none.
 *	A space asks for a quota at most this; asking for 0 gets this.
 * @user_max_frames: frames all the spaces of one user may hold; 0 for none
 * @max_spaces: live spaces one user may have; 0 for none
 * @max_regions: regions one space may have, as vm.max_map_count; 0 for none
 *
 * The device's module parameters are the fields of its one instance, so an
 * administrator changes a ceiling at run time; readers use READ_ONCE().  A
 * ceiling lowered below what is held refuses new charges and takes nothing
 * away.
 */
struct tmm_limits {
	unsigned int max_frames;
	unsigned int user_max_frames;
	unsigned int max_spaces;
	unsigned int max_regions;
};

/**
 * struct tmm_user - the frames and spaces charged to one user
 * @node: in the table of users, under its lock
 * @uid: the real uid that created the spaces
 * @refs: one per space charged to this user, and one per lookup in flight
 * @nr_frames: frames held by the user's spaces, tables included
 * @nr_spaces: the user's live spaces
 */
struct tmm_user {
	struct hlist_node node;
	kuid_t uid;
	refcount_t refs;
	atomic_long_t nr_frames;
	atomic_t nr_spaces;
};

struct tmm_user *tmm_user_get(kuid_t uid);
void tmm_user_put(struct tmm_user *user);
bool tmm_user_charge_frames(struct tmm_user *user, u32 nr, unsigned int limit);
void tmm_user_uncharge_frames(struct tmm_user *user, u32 nr);
bool tmm_user_charge_space(struct tmm_user *user, unsigned int limit);
void tmm_user_uncharge_space(struct tmm_user *user);

#endif /* _TORUSMM_USER_H */
