/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm: the shadow: hardware page tables that mirror a space's tables.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_SHADOW_H
#define _TORUSMM_SHADOW_H

#include "space.h"

struct address_space;
struct vm_area_struct;

/**
 * struct tmm_shadow - the hardware mappings of one address space
 * @space: the space they mirror
 * @mapping: the space file's address_space; every client mapping of the
 *	space is in its i_mmap tree
 * @observer: registered with @space, to zap hardware entries
 */
struct tmm_shadow {
	struct tmm_space *space;
	struct address_space *mapping;
	struct tmm_space_observer observer;
};

struct tmm_shadow *tmm_shadow_create(struct tmm_space *space,
				     struct address_space *mapping);
void tmm_shadow_destroy(struct tmm_shadow *shadow);
int tmm_shadow_mmap(struct tmm_shadow *shadow, struct vm_area_struct *vma);

#endif /* _TORUSMM_SHADOW_H */
