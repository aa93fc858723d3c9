// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm: what each user may hold, and what they hold.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * DOC: Users
 *
 * Frames and spaces are charged to the user who created the space, by real
 * uid, as Linux charges locked memory to a user_struct: whoever holds a
 * descriptor may use a space, but its frames count against its creator.  A
 * user's object lives while one of its spaces does; lookups go through a
 * small hash table under a mutex, which only space creation and destruction
 * take.  Charges are atomic and never overshoot a ceiling: a charge that
 * would pass it fails, and a concurrent charge sees the count as it was.
 */

#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "fault_inject.h"
#include "user.h"

static DEFINE_HASHTABLE(tmm_users, 6);
static DEFINE_MUTEX(tmm_users_lock);	/* guards tmm_users */

/**
 * tmm_user_get() - the accounting object of a user, created on first use
 * @uid: the user
 *
 * Context: process context; takes tmm_users_lock; sleeps.
 * Return: the user with a reference the caller puts, or ERR_PTR(-ENOMEM).
 */
struct tmm_user *tmm_user_get(kuid_t uid)
{
	struct tmm_user *user;
	u32 key = from_kuid(&init_user_ns, uid);

	mutex_lock(&tmm_users_lock);
	hash_for_each_possible(tmm_users, user, node, key) {
		if (uid_eq(user->uid, uid)) {
			refcount_inc(&user->refs);
			goto unlock;
		}
	}
	user = ERR_PTR(-ENOMEM);
	if (tmm_should_fail(TMM_FAULT_SLAB))
		goto unlock;
	user = kzalloc(sizeof(*user), GFP_KERNEL_ACCOUNT);
	if (!user) {
		user = ERR_PTR(-ENOMEM);
		goto unlock;
	}
	user->uid = uid;
	refcount_set(&user->refs, 1);
	atomic_long_set(&user->nr_frames, 0);
	atomic_set(&user->nr_spaces, 0);
	hash_add(tmm_users, &user->node, key);
unlock:
	mutex_unlock(&tmm_users_lock);
	return user;
}

/**
 * tmm_user_put() - drop a reference; the last one frees the user
 * @user: the user, or NULL
 *
 * A user whose last space is gone holds no frame and no space; anything else
 * is an accounting bug, reported once.
 *
 * Context: process context; takes tmm_users_lock; sleeps.
 */
void tmm_user_put(struct tmm_user *user)
{
	if (!user)
		return;
	if (!refcount_dec_and_mutex_lock(&user->refs, &tmm_users_lock))
		return;
	hash_del(&user->node);
	mutex_unlock(&tmm_users_lock);
	WARN_ON_ONCE(atomic_long_read(&user->nr_frames) ||
		     atomic_read(&user->nr_spaces));
	kfree(user);
}

/**
 * tmm_user_charge_frames() - charge frames to a user, within a ceiling
 * @user: the user
 * @nr: how many frames
 * @limit: the ceiling, 0 for none
 *
 * Context: any context.
 * Return: true when charged; false, with nothing charged, when the user would
 * hold more than @limit.
 */
bool tmm_user_charge_frames(struct tmm_user *user, u32 nr, unsigned int limit)
{
	long old = atomic_long_read(&user->nr_frames);

	do {
		if (limit && old + nr > limit)
			return false;
	} while (!atomic_long_try_cmpxchg(&user->nr_frames, &old, old + nr));
	return true;
}

/**
 * tmm_user_uncharge_frames() - give back frames charged to a user
 * @user: the user
 * @nr: how many frames
 *
 * Context: any context.
 */
void tmm_user_uncharge_frames(struct tmm_user *user, u32 nr)
{
	WARN_ON_ONCE(atomic_long_sub_return(nr, &user->nr_frames) < 0);
}

/**
 * tmm_user_charge_space() - count one more live space of a user
 * @user: the user
 * @limit: the ceiling, 0 for none
 *
 * Context: any context.
 * Return: true when counted; false, with nothing counted, at the ceiling.
 */
bool tmm_user_charge_space(struct tmm_user *user, unsigned int limit)
{
	int old = atomic_read(&user->nr_spaces);

	do {
		if (limit && old >= limit)
			return false;
	} while (!atomic_try_cmpxchg(&user->nr_spaces, &old, old + 1));
	return true;
}

/**
 * tmm_user_uncharge_space() - count one live space less
 * @user: the user
 *
 * Context: any context.
 */
void tmm_user_uncharge_space(struct tmm_user *user)
{
	WARN_ON_ONCE(atomic_dec_return(&user->nr_spaces) < 0);
}
