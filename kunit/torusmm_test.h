/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm: helpers shared by the KUnit suites of the core.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_TEST_H
#define _TORUSMM_TEST_H

#include <kunit/test.h>

struct tmm_torus;

/* A torus of its own for one test, destroyed when the test ends. */
struct tmm_torus *tmm_test_torus_create(struct kunit *test, u32 nr_frames);

#endif /* _TORUSMM_TEST_H */
