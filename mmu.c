// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm: the software MMU: walks, demand faults and copies.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * DOC: Software MMU
 *
 * An access to a space goes through tmm_space_access(): the page-table walk
 * of tmm_pt_access() decides, setting accessed and dirty as a hardware walker
 * does; a not-present fault in a region that allows the access (or just below
 * a stack that may grow) takes a zeroed frame; a protection fault is
 * reported, never fixed.  The caller's function then runs on the frame while
 * the space's lock is still held, so that the frame cannot be unmapped and
 * reused under it: that is how READ and WRITE copy, and how the shadow
 * inserts a hardware entry that can never outlive the software one.
 *
 * A read (or fetch) of a page never written maps the torus's shared zero
 * frame, read-only and copy-on-write, and costs no frame.  A write to a
 * copy-on-write entry (the zero frame, or a frame a clone shares) that the
 * region allows gives the entry a frame of its own: a copy, or the same
 * frame made writable when no other entry maps it any more.  Either change
 * of translation is told to the space's observers before the lock drops.
 *
 * The walk runs with the lock shared.  A demand or copy-on-write fault needs
 * it exclusive; its frame is taken and zeroed before, with no lock held, once
 * the shared walk has seen that the region allows the access, so zeroing
 * blocks nobody.
 */

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/uio.h>

#include "frame_alloc.h"
#include "pagetable.h"
#include "space.h"
#include "torusmm_trace.h"

/*
 * Map the zero frame, read-only and copy-on-write, at @page: a read of memory
 * never written.  Only a table may be needed.
 */
static int tmm_space_fault_zero(struct tmm_space *space, u32 page,
				u32 access, u32 prot, bool grow)
{
	struct tmm_pagetable *pt = &space->pt;
	u32 pte = (tmm_prot_to_pte(prot) & ~TORUSMM_PTE_WRITABLE) |
		  TORUSMM_PTE_COW;
	int err;

	if (pt->max_frames && tmm_pt_frames_used(pt) +
	    tmm_pt_tables_needed(pt, page, page + PAGE_SIZE) > pt->max_frames)
		return -ENOMEM;
	err = tmm_pt_prealloc(pt, page, page + PAGE_SIZE);
	if (err)
		return err;
	if (grow) {
		err = tmm_space_grow_stack(space, page, prot);
		if (err)
			goto trim_table;
	}
	err = tmm_pt_map(pt, page, TMM_ZERO_FRAME, pte, 0);
	if (WARN_ON_ONCE(err))
		goto trim_table;
	atomic64_inc(&space->nr_faults);
	trace_torusmm_fault(space, page, access, TMM_ZERO_FRAME);
	return 0;

trim_table:
	tmm_pt_trim(pt, page, page + PAGE_SIZE);
	return err;
}

/*
 * A write to a copy-on-write entry that the region allows: tell the
 * observers, whose translations of the page map the old frame, then give the
 * entry a frame of its own.
 * Return: 0, -EFAULT when the region does not allow the write, -ENOMEM.
 */
static int tmm_space_unshare(struct tmm_space *space, u32 va, u32 *spare)
{
	u32 page = va & PAGE_MASK, prot;
	bool grow;
	int err;

	lockdep_assert_held_write(&space->lock);
	err = tmm_space_fault_prot(space, page, &prot, &grow);
	if (err || grow || !tmm_prot_allows(prot, TORUSMM_ACCESS_WRITE))
		return -EFAULT;
	/*
	 * Drop what maps the old frame before our reference to it goes: its
	 * other sharer may then make it writable.
	 */
	tmm_space_changed(space, page, page + PAGE_SIZE);
	err = tmm_pt_unshare(&space->pt, page, tmm_prot_to_pte(prot), spare);
	if (err == -ENOENT)
		return 0;	/* unmapped meanwhile: the retried walk says */
	return err;
}

/*
 * Fault in the page at @va for @access, growing the stack when the page lies
 * just below it.  *@spare is a zeroed frame from the torus, not charged (or
 * 0): it is charged, used and cleared when a frame is needed.  Allocations come
 * first, the region store after them, and the map last, which cannot fail
 * once its table exists.
 * Return: 0 when @va now holds a frame, -EFAULT when the access is not
 * allowed there, -ENOMEM when a frame, a table, a quota or the tree store
 * fails.
 */
static int tmm_space_fault(struct tmm_space *space, u32 va, u32 access,
			   u32 *spare)
{
	struct tmm_pagetable *pt = &space->pt;
	u32 page = va & PAGE_MASK;
	u32 frame, prot;
	bool grow;
	int err;

	lockdep_assert_held_write(&space->lock);

	err = tmm_space_fault_prot(space, page, &prot, &grow);
	if (err)
		return err;
	if (!tmm_prot_allows(prot, access))
		return -EFAULT;
	if (tmm_pt_lookup(pt, page) & TMM_PTE_HOLDS_FRAME)
		return 0;	/* another thread faulted it in */

	if (!(access & TORUSMM_ACCESS_WRITE))
		return tmm_space_fault_zero(space, page, access, prot, grow);
	if (pt->max_frames && tmm_pt_frames_used(pt) + 1 +
	    tmm_pt_tables_needed(pt, page, page + PAGE_SIZE) > pt->max_frames)
		return -ENOMEM;
	if (*spare) {
		if (!tmm_pt_charge(pt, 1, 0))
			return -ENOMEM;
		frame = *spare;
		*spare = 0;
	} else {
		err = tmm_pt_frame_alloc(pt, &frame);
		if (err)
			return err;
	}
	err = tmm_pt_prealloc(pt, page, page + PAGE_SIZE);
	if (err)
		goto free_frame;
	if (grow) {
		err = tmm_space_grow_stack(space, page, prot);
		if (err)
			goto trim_table;
	}
	err = tmm_pt_map(pt, page, frame, tmm_prot_to_pte(prot), 0);
	if (WARN_ON_ONCE(err))
		goto trim_table;	/* a grown stack keeps its region */
	atomic64_inc(&space->nr_faults);
	trace_torusmm_fault(space, page, access, frame);
	return 0;

trim_table:
	tmm_pt_trim(pt, page, page + PAGE_SIZE);
free_frame:
	tmm_pt_frame_free(pt, frame);
	return err;
}

/*
 * Whether a fault at @va for @access would be served, looked at with the
 * lock shared: the region (or the stack) allows it.
 */
static bool tmm_space_may_fault(struct tmm_space *space, u32 va, u32 access)
{
	u32 prot;
	bool grow;

	lockdep_assert_held(&space->lock);
	return !tmm_space_fault_prot(space, va & PAGE_MASK, &prot, &grow) &&
	       tmm_prot_allows(prot, access);
}

/*
 * Whether a fault the walk reported is one the MMU fixes: a not-present page
 * the region allows, or a write to a copy-on-write entry the region allows.
 */
static bool tmm_space_fixable(struct tmm_space *space, u32 va, u32 access,
			      const struct tmm_translation *tr)
{
	if (access & TMM_ACCESS_PEEK)
		return false;
	if (tr->fault & TORUSMM_FAULT_PROTECTION)
		return (access & TORUSMM_ACCESS_WRITE) &&
		       (tr->pte & TORUSMM_PTE_COW) &&
		       (tr->pte & TORUSMM_PTE_PRESENT) &&
		       tmm_space_may_fault(space, va, access);
	return tmm_space_may_fault(space, va, access);
}

/*
 * tmm_space_access() but for the count of a success, which the caller makes:
 * a copy counts its page only once the page's bytes are all copied.
 */
static int __tmm_space_access(struct tmm_space *space, u32 va, u32 access,
			      struct tmm_translation *tr,
			      tmm_space_access_fn fn, void *data)
{
	struct tmm_pagetable *pt = &space->pt;
	bool exclusive = false;
	u32 spare = 0;
	int err;

	memset(tr, 0, sizeof(*tr));
	down_read(&space->lock);
	err = tmm_pt_access(pt, va, access, &tr->tpa, &tr->fault, &tr->pte);
	if (err == -EFAULT && tmm_space_fixable(space, va, access, tr)) {
		bool cow = tr->fault & TORUSMM_FAULT_PROTECTION;
		u32 frame = TMM_PTE_FRAME(tr->pte);

		up_read(&space->lock);
		/*
		 * Zero a frame with no lock held, if the fault will want one:
		 * a write, but not one to a frame no one else maps any more.
		 * The frame is charged when used; it may go unused.
		 */
		if ((access & TORUSMM_ACCESS_WRITE) &&
		    (!cow || frame == TMM_ZERO_FRAME ||
		     tmm_frame_refs(space->torus, frame) > 1)) {
			err = tmm_frame_alloc(space->torus, TMM_FRAME_DATA,
					      &spare);
			if (err)
				return err;
		}
		down_write(&space->lock);
		exclusive = true;
		/*
		 * Walk again: another thread may have changed the entry while
		 * no lock was held (a read that raced this write may have
		 * mapped the zero frame, which now needs unsharing).
		 */
		err = tmm_pt_access(pt, va, access, &tr->tpa, &tr->fault,
				    &tr->pte);
		if (err == -EFAULT && tmm_space_fixable(space, va, access, tr)) {
			if (tr->fault & TORUSMM_FAULT_PROTECTION)
				err = tmm_space_unshare(space, va, &spare);
			else
				err = tmm_space_fault(space, va, access, &spare);
			if (!err)
				err = tmm_pt_access(pt, va, access, &tr->tpa,
						    &tr->fault, &tr->pte);
		}
	}
	if (!err && fn) {
		struct page *page = tmm_frame_page(space->torus,
						   tr->tpa >> PAGE_SHIFT);

		err = WARN_ON_ONCE(!page) ? -EIO : fn(page, tr, data);
	}
	if (spare)
		WARN_ON_ONCE(tmm_frame_free(space->torus, spare));
	if (exclusive)
		up_write(&space->lock);
	else
		up_read(&space->lock);

	if (err == -EFAULT) {
		atomic64_inc(&space->nr_fault_errors);
		trace_torusmm_access_refused(space, va, access, tr->fault);
	}
	return err;
}

/**
 * tmm_space_access() - one access through the software MMU
 * @space: the space
 * @va: virtual address
 * @access: TORUSMM_ACCESS_* bits, plus TMM_ACCESS_PEEK for a pure look-up
 * @tr: out: the translation, the fault code and the leaf entry, all from the
 *	walk that decided
 * @fn: called on success with the frame's page and @tr while @space->lock
 *	is still held (shared or exclusive), or NULL
 * @data: passed to @fn
 *
 * A not-present fault in a region that allows the access faults in a zeroed
 * frame, and one just below the stack grows the stack; then the walk is
 * retried, setting accessed and dirty bits as tmm_pt_access() does.
 * Protection faults are reported, never fixed.  With TMM_ACCESS_PEEK nothing
 * is faulted in and no bit is set.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: 0 (or what @fn returned); -EFAULT with @tr->fault set; -ENOMEM
 * when a fault-in finds no frame (the torus is full or the quota has no
 * frame left) or no memory.
 */
int tmm_space_access(struct tmm_space *space, u32 va, u32 access,
		     struct tmm_translation *tr, tmm_space_access_fn fn,
		     void *data)
{
	int err = __tmm_space_access(space, va, access, tr, fn, data);

	if (!err)
		atomic64_inc(&space->nr_translations);
	return err;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_access, TORUSMM);

/**
 * tmm_space_translate() - translate one access through the software MMU
 * @space: the space
 * @va: virtual address
 * @access: as tmm_space_access()
 * @tpa: out: the torus physical address, on success
 * @fault: out: the fault code, on -EFAULT
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: as tmm_space_access().
 */
int tmm_space_translate(struct tmm_space *space, u32 va, u32 access,
			u64 *tpa, u32 *fault)
{
	struct tmm_translation tr;
	int err;

	err = tmm_space_access(space, va, access, &tr, NULL, NULL);
	*tpa = tr.tpa;
	*fault = tr.fault;
	return err;
}

/**
 * tmm_space_translate_many() - translate a vector of accesses
 * @space: the space
 * @v: the translations: @va and @access in, @err and @tr out
 * @n: how many
 * @stop: stop after the first one that does not succeed
 *
 * Each is what tmm_space_access(@space, va, access, &tr, NULL, NULL) would
 * do, but a run of them that needs no fault-in is walked under one hold of
 * the lock, which is what a batch of translations saves over single ones.
 * A fault-in goes through tmm_space_access(); the lock is also dropped when
 * a writer waits or the CPU is wanted.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: how many were done; their @err and @tr are set.
 */
unsigned int tmm_space_translate_many(struct tmm_space *space,
				      struct tmm_xlat *v, unsigned int n,
				      bool stop)
{
	struct tmm_pagetable *pt = &space->pt;
	u64 nr_ok = 0, nr_faults = 0;
	unsigned int i = 0;

	while (i < n) {
		struct tmm_xlat *x = NULL;
		bool slow = false;

		down_read(&space->lock);
		while (i < n) {
			x = &v[i];
			memset(&x->tr, 0, sizeof(x->tr));
			x->err = tmm_pt_access(pt, x->va, x->access,
					       &x->tr.tpa, &x->tr.fault,
					       &x->tr.pte);
			if (x->err == -EFAULT &&
			    tmm_space_fixable(space, x->va, x->access,
					      &x->tr)) {
				slow = true;
				break;
			}
			if (x->err) {
				nr_faults++;
				trace_torusmm_access_refused(space, x->va,
							     x->access,
							     x->tr.fault);
			} else {
				nr_ok++;
			}
			i++;
			if ((x->err && stop) || need_resched() ||
			    rwsem_is_contended(&space->lock))
				break;
		}
		up_read(&space->lock);

		if (slow) {
			x->err = tmm_space_access(space, x->va, x->access,
						  &x->tr, NULL, NULL);
			i++;
		}
		if (x && x->err && stop)
			break;
		cond_resched();
	}
	atomic64_add(nr_ok, &space->nr_translations);
	atomic64_add(nr_faults, &space->nr_fault_errors);
	return i;
}
EXPORT_SYMBOL_NS_GPL(tmm_space_translate_many, TORUSMM);

struct tmm_copy {
	struct iov_iter *iter;
	size_t len;
	size_t copied;
	bool to_frame;
};

/*
 * Copy between the frame and the caller's iterator, once per byte.  The
 * space's lock is held, and a fault on a user page could need it (the buffer
 * may be a shadow of this very space), so the copy never faults: a user page
 * that is not there makes it short, and tmm_space_copy() faults the buffer in
 * with no lock held and goes on.  A kernel iterator is never short.
 */
/* Copy @len bytes at @offset of @page to or from @iter, never faulting. */
static size_t tmm_copy_frame(struct page *page, u32 offset, size_t len,
			     struct iov_iter *iter, bool to_frame)
{
	size_t copied;

	pagefault_disable();
	if (to_frame)
		copied = copy_page_from_iter_atomic(page, offset, len, iter);
	else
		copied = copy_page_to_iter(page, offset, len, iter);
	pagefault_enable();
	return copied;
}

static int tmm_copy_page(struct page *page, const struct tmm_translation *tr,
			 void *data)
{
	struct tmm_copy *copy = data;

	copy->copied = tmm_copy_frame(page, tr->tpa & ~PAGE_MASK, copy->len,
				      copy->iter, copy->to_frame);
	return 0;
}

/*
 * Copy the pages from @va on that need nothing of the MMU but a walk, under
 * one hold of the lock, as tmm_space_translate_many() translates: up to the
 * first page that needs a fault-in or faults, a short copy (the caller's
 * buffer is not there), or a waiting writer.  tmm_space_copy() takes the
 * page that stopped it through tmm_space_access().
 * Return: bytes copied.
 */
static size_t tmm_space_copy_run(struct tmm_space *space, u32 va,
				 struct iov_iter *iter, size_t len, u32 access,
				 bool to_frame)
{
	struct tmm_pagetable *pt = &space->pt;
	size_t done = 0;
	u64 nr = 0;

	down_read(&space->lock);
	while (done < len) {
		u32 at = va + done, fault, pte;
		size_t chunk = min_t(size_t, len - done,
				     PAGE_SIZE - offset_in_page(at));
		struct page *page;
		size_t copied;
		u64 tpa;

		if (tmm_pt_access(pt, at, access, &tpa, &fault, &pte))
			break;
		page = tmm_frame_page(space->torus, tpa >> PAGE_SHIFT);
		if (!page)
			break;	/* tmm_space_access() warns */
		copied = tmm_copy_frame(page, tpa & ~PAGE_MASK, chunk, iter,
					to_frame);
		/* A page counts once, when its last byte is copied. */
		if (copied == chunk)
			nr++;
		done += copied;
		if (copied < chunk || need_resched() ||
		    rwsem_is_contended(&space->lock))
			break;
	}
	up_read(&space->lock);
	atomic64_add(nr, &space->nr_translations);
	return done;
}

/*
 * Copy page by page until done, the first fault in the space, or a fatal
 * signal: runs of pages under one hold of the lock, and each page that
 * stops a run (a fault-in, a fault, a buffer to fault in) through
 * tmm_space_access().
 * Return: 0, or -EFAULT when the caller's buffer cannot be faulted in, or
 * what tmm_space_access() returned.
 */
static int tmm_space_copy(struct tmm_space *space, u32 va,
			  struct iov_iter *iter, u32 access, bool to_frame,
			  struct tmm_access *result)
{
	size_t len = iov_iter_count(iter);
	struct tmm_translation tr;
	int err;

	memset(result, 0, sizeof(*result));
	if ((u64)va + len > SZ_4G)
		return -EINVAL;

	while (result->done < len) {
		struct tmm_copy copy = { .iter = iter, .to_frame = to_frame };
		u32 at;

		if (fatal_signal_pending(current))
			return -EINTR;
		result->done += tmm_space_copy_run(space, va + result->done,
						   iter, len - result->done,
						   access, to_frame);
		if (result->done == len)
			break;
		at = va + result->done;
		copy.len = min_t(size_t, len - result->done,
				 PAGE_SIZE - offset_in_page(at));
		err = __tmm_space_access(space, at, access, &tr,
					 tmm_copy_page, &copy);
		if (err == -EFAULT) {
			result->fault = tr.fault;
			result->fault_addr = at;
			return 0;
		}
		if (err)
			return err;
		if (WARN_ON_ONCE(copy.copied > copy.len))
			return -EIO;
		result->done += copy.copied;
		if (copy.copied == copy.len) {
			atomic64_inc(&space->nr_translations);
		} else {
			size_t want = len - result->done;
			size_t left = to_frame ?
				fault_in_iov_iter_readable(iter, want) :
				fault_in_iov_iter_writeable(iter, want);

			/* Not even the first byte: the buffer is bad there. */
			if (left == want)
				return -EFAULT;
		}
		cond_resched();
	}
	return 0;
}

/**
 * tmm_space_read_iter() - copy from an address space into an iterator
 * @space: the space
 * @va: virtual address to read from
 * @to: the destination; its count is the length
 * @access: 0 or TORUSMM_ACCESS_USER
 * @result: out: bytes copied, and the fault that stopped the copy
 *
 * Like process_vm_readv(), the bytes before a faulting page are copied, once
 * each, from the frame to @to.  Pages are faulted in as tmm_space_access()
 * does.  A user destination is never touched with the space's lock held
 * in a way that can fault: when it is not there, it is faulted in with no
 * lock held, and the copy goes on.
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: 0 (a fault in the space is reported in @result); -EINVAL for
 * unknown @access bits or a range past 4 GiB; -EFAULT when @to cannot be
 * written (the bytes before were copied, and @result->done counts them);
 * -EINTR on a fatal signal; -ENOMEM as tmm_space_access().
 */
int tmm_space_read_iter(struct tmm_space *space, u32 va, struct iov_iter *to,
			u32 access, struct tmm_access *result)
{
	if (access & ~TORUSMM_ACCESS_USER)
		return -EINVAL;
	if (WARN_ON_ONCE(iov_iter_rw(to) != ITER_DEST))
		return -EINVAL;
	return tmm_space_copy(space, va, to, access, false, result);
}
EXPORT_SYMBOL_NS_GPL(tmm_space_read_iter, TORUSMM);

/**
 * tmm_space_write_iter() - copy an iterator into an address space
 * @space: the space
 * @va: virtual address to write to
 * @from: the source; its count is the length
 * @access: 0 or TORUSMM_ACCESS_USER; the write bit is implied
 * @result: out: bytes copied, and the fault that stopped the copy
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: as tmm_space_read_iter(), -EFAULT when @from cannot be read.
 */
int tmm_space_write_iter(struct tmm_space *space, u32 va,
			 struct iov_iter *from, u32 access,
			 struct tmm_access *result)
{
	if (access & ~TORUSMM_ACCESS_USER)
		return -EINVAL;
	if (WARN_ON_ONCE(iov_iter_rw(from) != ITER_SOURCE))
		return -EINVAL;
	return tmm_space_copy(space, va, from, access | TORUSMM_ACCESS_WRITE,
			      true, result);
}
EXPORT_SYMBOL_NS_GPL(tmm_space_write_iter, TORUSMM);

/**
 * tmm_space_read() - copy from an address space into a kernel buffer
 * @space: the space
 * @va: virtual address to read from
 * @buf: kernel buffer
 * @len: bytes
 * @access: 0 or TORUSMM_ACCESS_USER
 * @result: out: bytes copied, and the fault that stopped the copy
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: as tmm_space_read_iter(), never -EFAULT.
 */
int tmm_space_read(struct tmm_space *space, u32 va, void *buf, u32 len,
		   u32 access, struct tmm_access *result)
{
	struct kvec kvec = { .iov_base = buf, .iov_len = len };
	struct iov_iter iter;

	iov_iter_kvec(&iter, ITER_DEST, &kvec, 1, len);
	return tmm_space_read_iter(space, va, &iter, access, result);
}

/**
 * tmm_space_write() - copy a kernel buffer into an address space
 * @space: the space
 * @va: virtual address to write to
 * @buf: kernel buffer
 * @len: bytes
 * @access: 0 or TORUSMM_ACCESS_USER; the write bit is implied
 * @result: out: bytes copied, and the fault that stopped the copy
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: as tmm_space_read().
 */
int tmm_space_write(struct tmm_space *space, u32 va, const void *buf,
		    u32 len, u32 access, struct tmm_access *result)
{
	struct kvec kvec = { .iov_base = (void *)buf, .iov_len = len };
	struct iov_iter iter;

	iov_iter_kvec(&iter, ITER_SOURCE, &kvec, 1, len);
	return tmm_space_write_iter(space, va, &iter, access, result);
}
