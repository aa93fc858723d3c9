/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm selftests: loads, stores and fetches through a shadow mapping that
 * may fault, caught and reported instead of killing the test.
 *
 * Copyright (C) 2026 The torusmm authors
 */
#ifndef _TORUSMM_FAULT_H
#define _TORUSMM_FAULT_H

#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>

#include <linux/types.h>

/*
 * One 32-bit load or store through a shadow: the compiler may neither drop
 * it, nor merge it with another, nor split it.
 */
static inline __u32 peek(const __u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void poke(__u32 *p, __u32 value)
{
	__atomic_store_n(p, value, __ATOMIC_RELAXED);
}

/*
 * Catching faults.  Each thread arms its own catcher around one access; the
 * handler records the signal and address and jumps back.  A fault nobody
 * armed for is a real crash: the handler steps aside and lets it kill us.
 * The signal fences keep the compiler from moving the access out of the
 * armed window.
 *
 * An access that neither completes nor raises a signal (the kernel
 * resolving the same fault over and over) would only end with the
 * harness's timeout; in a single-threaded test the watchdog, SIGALRM after
 * WATCHDOG_SECONDS, ends it as "hung" instead.
 */
#define WATCHDOG_SECONDS	5

struct fault_catcher {
	sigjmp_buf env;
	int armed;
	int signo;
	void *addr;
	bool watchdog;
};

static __thread struct fault_catcher catcher;

static inline void arm(struct fault_catcher *c, int armed)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&c->armed, armed, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void on_fault(int signo, siginfo_t *info, void *context)
{
	struct fault_catcher *c = &catcher;

	if (!__atomic_load_n(&c->armed, __ATOMIC_RELAXED)) {
		if (signo != SIGALRM)	/* a late watchdog is harmless */
			signal(signo, SIG_DFL);
		return;
	}
	c->armed = 0;
	c->signo = signo;
	c->addr = info->si_addr;
	siglongjmp(c->env, 1);
}

/* Catch faults in this thread, with the watchdog (single-threaded only). */
static inline void catch_faults(void)
{
	struct sigaction sa = {
		.sa_sigaction = on_fault,
		.sa_flags = SA_SIGINFO,
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	catcher.watchdog = true;
}

static inline void watchdog(struct fault_catcher *c, unsigned int seconds)
{
	struct itimerval timer = { .it_value = { .tv_sec = seconds } };

	if (c->watchdog)
		setitimer(ITIMER_REAL, &timer, NULL);
}

enum access { LOAD, STORE, FETCH };

static const char *const access_names[] = { "load", "store", "fetch" };

/*
 * Make one 32-bit access at @p: load into *@value, store *@value, or call
 * @p, which must start with a ret.  Return: 0 when it completed, else the
 * signal it raised, its si_addr in *@fault_addr (when not NULL).
 */
static inline int try_access(enum access access, __u32 *p, __u32 *value,
			     void **fault_addr)
{
	struct fault_catcher *c = &catcher;

	if (sigsetjmp(c->env, 1)) {
		watchdog(c, 0);
		if (fault_addr)
			*fault_addr = c->addr;
		return c->signo;
	}
	watchdog(c, WATCHDOG_SECONDS);
	arm(c, 1);
	switch (access) {
	case LOAD:
		*value = peek(p);
		break;
	case STORE:
		poke(p, *value);
		break;
	case FETCH:
		((void (*)(void))(uintptr_t)p)();
		break;
	}
	arm(c, 0);
	watchdog(c, 0);
	return 0;
}

static inline int try_load(__u32 *p, __u32 *value, void **fault_addr)
{
	return try_access(LOAD, p, value, fault_addr);
}

static inline int try_store(__u32 *p, __u32 value, void **fault_addr)
{
	return try_access(STORE, p, &value, fault_addr);
}

/* "completed" or the signal's name, for messages. */
static inline const char *outcome(int sig)
{
	switch (sig) {
	case 0:
		return "completed";
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGALRM:
		return "hung: no signal, no progress (the watchdog ended it)";
	default:
		return "another signal";
	}
}

#endif /* _TORUSMM_FAULT_H */
