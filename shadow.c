// SPDX-License-Identifier: GPL-2.0
/*
 * torusmm: the shadow: hardware page tables that mirror a space's tables.
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * DOC: The shadow
 *
 * mmap() of a space descriptor maps the space's virtual addresses into the
 * caller: file offset = space address.  No hardware entry exists until the
 * client touches a page; the fault is then resolved by the software MMU
 * exactly as TORUSMM_TRANSLATE of a user access would be (the region and
 * the software entry decide, a demand fault takes a frame, accessed is set,
 * and dirty on a write), and only then is a hardware entry derived from the
 * software one.  This is the shadow paging of KVM's shadow MMU, with the
 * client's page table in the role of the shadow table.
 *
 * Derived entries are never more permissive than their source: writable
 * only once the software entry is dirty (a read maps the page read-only, so
 * the first write faults again and is seen, as pfn_mkwrite lets file
 * systems see it), executable only without NX, and never more than the
 * client's own mmap protection allows: a client's mprotect()
 * zaps its range first, so that the kernel's rewrite of present entries
 * cannot grant what the software entry refuses.
 *
 * Coherence: the entry is inserted while the space's lock is held, by the
 * callback of tmm_space_access(), and every change to the software tables
 * (made with that lock held for write) tells this shadow's observer, which
 * zaps the range from every client mapping with unmap_mapping_range()
 * before the lock is dropped and before any frame goes back to the torus.
 * No stale entry can therefore be inserted after an invalidation, and none
 * survives one.  The space file's inode is its own (anon_inode_getfd_secure),
 * so its address_space reaches exactly this space's mappings: in this
 * process, in forked children, in any process the descriptor was passed to.
 *
 * Write permission is the one grant the kernel's fault path would make after
 * the lock drops: its pfn_mkwrite protocol has the driver approve a write to
 * a read-only entry, and finish_mkwrite_fault() then makes the entry
 * writable if pte_same() finds it unchanged.  That check cannot see an
 * ioctl that ran in between: a dirty harvest, a clone or an mprotect zaps
 * the entry, a load maps the very same read-only entry back (same frame,
 * same protection, accessed), and the stale approval would go live, with
 * the software entry clean, shared copy-on-write or read-only.  So
 * tmm_shadow_pfn_mkwrite() never returns 0: its callback, still under the
 * space's lock and after the walk set dirty, replaces the read-only entry
 * by a writable one itself, and returns VM_FAULT_NOPAGE.  Any ioctl that
 * takes the grant away must take the lock for write, after the callback,
 * and its zap then removes the writable entry.  The same callback serves a
 * write that replaced the frame (the zero frame filled, a shared frame
 * copied), which so takes two faults, not three.  The demand fault's
 * insert, the only other hardware entry made, happens under the lock too;
 * the client's own mprotect() zaps under its mmap_lock, with no decision
 * of ours to go stale.
 *
 * The mapping is VM_PFNMAP | VM_IO: hardware entries are special, take no
 * page reference, and get_user_pages() refuses them, so no pin can keep a
 * frame past the software entry that owns it.  VM_DONTEXPAND refuses a
 * growing mremap(); MADV_DONTNEED is refused on VM_PFNMAP mappings by the
 * kernel itself.  A client mapping holds the space file, so the space lives
 * until the last mapping goes, and the file holds the device module.
 */

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "fault_inject.h"
#include "shadow.h"
#include "test_hooks.h"
#include "torusmm_trace.h"

/* The client-side protection for a page whose software entry is @pte. */
static pgprot_t tmm_shadow_prot(struct vm_area_struct *vma, u32 pte)
{
	unsigned long flags = vma->vm_flags & (VM_READ | VM_SHARED);

	if ((vma->vm_flags & VM_WRITE) && (pte & TORUSMM_PTE_WRITABLE) &&
	    (pte & TORUSMM_PTE_DIRTY))
		flags |= VM_WRITE;
	if ((vma->vm_flags & VM_EXEC) && !(pte & TORUSMM_PTE_NX))
		flags |= VM_EXEC;
	return vm_get_page_prot(flags);
}

/* The software MMU's verdict on a hardware fault, as a vm_fault_t. */
static vm_fault_t tmm_shadow_error(int err)
{
	switch (err) {
	case -EFAULT:
		return VM_FAULT_SIGSEGV;
	case -ENOMEM:		/* no frame to back the page: as Linux's shmem */
	case -EINTR:
	default:
		return VM_FAULT_SIGBUS;
	}
}

/* The software access a hardware fault stands for. */
static u32 tmm_shadow_access(const struct vm_fault *vmf)
{
	u32 access = TORUSMM_ACCESS_USER;

	if (vmf->flags & FAULT_FLAG_WRITE)
		access |= TORUSMM_ACCESS_WRITE;
	else if (vmf->flags & FAULT_FLAG_INSTRUCTION)
		access |= TORUSMM_ACCESS_EXEC;
	return access;
}

struct tmm_shadow_fault {
	struct vm_fault *vmf;
	vm_fault_t ret;
};

/* Insert the hardware entry, with the space's lock still held. */
static int tmm_shadow_insert(struct page *page,
			     const struct tmm_translation *tr, void *data)
{
	struct tmm_shadow_fault *fault = data;
	struct vm_area_struct *vma = fault->vmf->vma;
	struct tmm_shadow *shadow = vma->vm_private_data;

	fault->ret = vmf_insert_pfn_prot(vma, fault->vmf->address & PAGE_MASK,
					 page_to_pfn(page),
					 tmm_shadow_prot(vma, tr->pte));
	if (fault->ret == VM_FAULT_NOPAGE)
		trace_torusmm_shadow_fault(shadow->space,
					   fault->vmf->pgoff << PAGE_SHIFT,
					   page_to_pfn(page),
					   fault->vmf->flags & FAULT_FLAG_WRITE);
	return 0;
}

static vm_fault_t tmm_shadow_fault(struct vm_fault *vmf)
{
	struct tmm_shadow *shadow = vmf->vma->vm_private_data;
	struct tmm_shadow_fault fault = { .vmf = vmf };
	struct tmm_translation tr;
	int err;

	if (WARN_ON_ONCE(vmf->pgoff >= (SZ_4G >> PAGE_SHIFT)))
		return VM_FAULT_SIGBUS;
	err = tmm_space_access(shadow->space, vmf->pgoff << PAGE_SHIFT,
			       tmm_shadow_access(vmf), &tr, tmm_shadow_insert,
			       &fault);
	return err ? tmm_shadow_error(err) : fault.ret;
}

/*
 * Make the hardware entry writable, with the space's lock still held: drop
 * the read-only entry the write faulted on (whatever frame it maps: the
 * zero frame or a shared one the software MMU has just replaced by a frame
 * of its own, or the same frame) and insert the frame the walk decided on,
 * writable now that the software entry is dirty.
 */
static int tmm_shadow_insert_writable(struct page *page,
				      const struct tmm_translation *tr,
				      void *data)
{
	struct tmm_shadow_fault *fault = data;
	struct vm_fault *vmf = fault->vmf;

	zap_vma_ptes(vmf->vma, vmf->address & PAGE_MASK, PAGE_SIZE);
	return tmm_shadow_insert(page, tr, data);
}

/*
 * The first write to a page mapped read-only.  The kernel's own path would
 * have us approve the write and return 0, and then make the entry writable
 * itself in finish_mkwrite_fault(), after the space's lock dropped: see the
 * DOC header for why that is wrong here.  The entry is made writable under
 * the lock instead, and VM_FAULT_NOPAGE tells the kernel it is done.
 */
static vm_fault_t tmm_shadow_pfn_mkwrite(struct vm_fault *vmf)
{
	struct tmm_shadow *shadow = vmf->vma->vm_private_data;
	struct tmm_shadow_fault fault = { .vmf = vmf };
	struct tmm_translation tr;
	int err;

	err = tmm_space_access(shadow->space, vmf->pgoff << PAGE_SHIFT,
			       TORUSMM_ACCESS_USER | TORUSMM_ACCESS_WRITE, &tr,
			       tmm_shadow_insert_writable, &fault);
	/* A test holds a store here to prove the gap no longer matters. */
	tmm_park(TMM_PARK_MKWRITE);
	if (err)
		return tmm_shadow_error(err);
	/* Returning 0 would send the kernel back to finish_mkwrite_fault(). */
	if (WARN_ON_ONCE(!fault.ret))
		return VM_FAULT_NOPAGE;
	return fault.ret;
}

/*
 * The client changes its mapping's protection: change_protection() would
 * rewrite every present entry to the new protection, granting exec (or, on
 * a hardware-dirty entry, write) that the software entry may refuse.  Zap
 * the range first, with the client's mmap_lock held for write so that no
 * fault refills it, and let the next access derive entries anew.
 */
static int tmm_shadow_mprotect(struct vm_area_struct *vma, unsigned long start,
			       unsigned long end, unsigned long newflags)
{
	zap_vma_ptes(vma, start, end - start);
	return 0;
}

static const struct vm_operations_struct tmm_shadow_vm_ops = {
	.fault = tmm_shadow_fault,
	.pfn_mkwrite = tmm_shadow_pfn_mkwrite,
	.mprotect = tmm_shadow_mprotect,
};

/* Zap [start, end) of the space from every client mapping. */
static void tmm_shadow_invalidate(struct tmm_space_observer *observer,
				  u32 start, u64 end)
{
	struct tmm_shadow *shadow = container_of(observer, struct tmm_shadow,
						 observer);

	trace_torusmm_shadow_invalidate(shadow->space, start, end);
	unmap_mapping_range(shadow->mapping, start, end - start, 1);
}

static const struct tmm_space_observer_ops tmm_shadow_observer_ops = {
	.invalidate = tmm_shadow_invalidate,
};

/**
 * tmm_shadow_create() - start mirroring a space into client mappings
 * @space: the space
 * @mapping: the address_space of the space's file, unique to it
 *
 * Context: process context; takes @space->lock; sleeps.
 * Return: the shadow, or ERR_PTR(-ENOMEM).
 */
struct tmm_shadow *tmm_shadow_create(struct tmm_space *space,
				     struct address_space *mapping)
{
	struct tmm_shadow *shadow;

	if (tmm_should_fail(TMM_FAULT_SLAB))
		return ERR_PTR(-ENOMEM);
	shadow = kzalloc(sizeof(*shadow), GFP_KERNEL_ACCOUNT);
	if (!shadow)
		return ERR_PTR(-ENOMEM);
	shadow->space = space;
	shadow->mapping = mapping;
	shadow->observer.ops = &tmm_shadow_observer_ops;
	tmm_space_observe(space, &shadow->observer);
	return shadow;
}
EXPORT_SYMBOL_NS_GPL(tmm_shadow_create, TORUSMM);

/**
 * tmm_shadow_destroy() - stop mirroring
 * @shadow: the shadow, or NULL
 *
 * Context: process context; takes the space's lock; sleeps.  No client
 * mapping may be left (the space file is being released).
 */
void tmm_shadow_destroy(struct tmm_shadow *shadow)
{
	if (!shadow)
		return;
	WARN_ON_ONCE(mapping_mapped(shadow->mapping));
	tmm_space_unobserve(shadow->space, &shadow->observer);
	kfree(shadow);
}
EXPORT_SYMBOL_NS_GPL(tmm_shadow_destroy, TORUSMM);

/**
 * tmm_shadow_mmap() - set up a client mapping of a space
 * @shadow: the space's shadow
 * @vma: the new mapping; its file offset is the first space address
 *
 * Context: the mmap() path, with the client's mmap_lock held for write.
 * Return: 0; -EINVAL for a private mapping or a range past 4 GiB.
 */
int tmm_shadow_mmap(struct tmm_shadow *shadow, struct vm_area_struct *vma)
{
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff > (SZ_4G >> PAGE_SHIFT) ||
	    vma_pages(vma) > (SZ_4G >> PAGE_SHIFT) - vma->vm_pgoff)
		return -EINVAL;
	vma->vm_flags |= VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_private_data = shadow;
	vma->vm_ops = &tmm_shadow_vm_ops;
	return 0;
}
EXPORT_SYMBOL_NS_GPL(tmm_shadow_mmap, TORUSMM);
