/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm selftests: short names for the ABI's constants, so that table rows
 * stay on one line.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_TEST_H
#define _TORUSMM_TEST_H

#include <linux/torusmm.h>

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

#endif /* _TORUSMM_TEST_H */
