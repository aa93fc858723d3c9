/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torusmm: tracepoints, system "torusmm".
 *
 * Copyright (C) 2026 The torusmm authors
 *
 * Every event names its space by the id TORUSMM_GET_STATS reports (never
 * reused while the module is loaded) and addresses as the space sees them.
 * The arguments are pointers and integers the caller already holds; what
 * an event records is read in TP_fast_assign, so a disabled event costs a
 * static branch and nothing else.  core.c defines them (CREATE_TRACE_POINTS).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM torusmm

#if !defined(_TORUSMM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TORUSMM_TRACE_H

#include <linux/tracepoint.h>

#include "frame_alloc.h"
#include "space.h"

#define TMM_TRACE_PROT(prot)						\
	__print_flags(prot, "", { TORUSMM_PROT_READ, "r" },		\
		      { TORUSMM_PROT_WRITE, "w" }, { TORUSMM_PROT_EXEC, "x" })

/* A page faulted in on demand: a frame of its own, or the zero frame. */
TRACE_EVENT(torusmm_fault,
	    TP_PROTO(const struct tmm_space *space, u32 addr, u32 access,
		     u32 frame),
	    TP_ARGS(space, addr, access, frame),
	    TP_STRUCT__entry(__field(u64, space_id)
			     __field(u32, addr)
			     __field(u32, access)
			     __field(u32, frame)),
	    TP_fast_assign(__entry->space_id = space->id;
			   __entry->addr = addr;
			   __entry->access = access;
			   __entry->frame = frame;),
	    TP_printk("space=%llu addr=%#x access=%#x frame=%#x",
		      __entry->space_id, __entry->addr, __entry->access,
		      __entry->frame)
);

/* An access the software MMU refused: the fault code is x86's. */
TRACE_EVENT(torusmm_access_refused,
	    TP_PROTO(const struct tmm_space *space, u32 addr, u32 access,
		     u32 fault),
	    TP_ARGS(space, addr, access, fault),
	    TP_STRUCT__entry(__field(u64, space_id)
			     __field(u32, addr)
			     __field(u32, access)
			     __field(u32, fault)),
	    TP_fast_assign(__entry->space_id = space->id;
			   __entry->addr = addr;
			   __entry->access = access;
			   __entry->fault = fault;),
	    TP_printk("space=%llu addr=%#x access=%#x fault=%#x",
		      __entry->space_id, __entry->addr, __entry->access,
		      __entry->fault)
);

DECLARE_EVENT_CLASS(torusmm_prot_range,
		    TP_PROTO(const struct tmm_space *space, u32 start, u64 end,
			     u32 prot),
		    TP_ARGS(space, start, end, prot),
		    TP_STRUCT__entry(__field(u64, space_id)
				     __field(u64, end)
				     __field(u32, start)
				     __field(u32, prot)),
		    TP_fast_assign(__entry->space_id = space->id;
				   __entry->start = start;
				   __entry->end = end;
				   __entry->prot = prot;),
		    TP_printk("space=%llu start=%#x end=%#llx prot=%#x (%s)",
			      __entry->space_id, __entry->start, __entry->end,
			      __entry->prot, TMM_TRACE_PROT(__entry->prot))
);

/* A region was mapped (mmap, or brk growing) over [start, end). */
DEFINE_EVENT(torusmm_prot_range, torusmm_map,
	     TP_PROTO(const struct tmm_space *space, u32 start, u64 end,
		      u32 prot),
	     TP_ARGS(space, start, end, prot));

/* [start, end) changed protection (mprotect). */
DEFINE_EVENT(torusmm_prot_range, torusmm_protect,
	     TP_PROTO(const struct tmm_space *space, u32 start, u64 end,
		      u32 prot),
	     TP_ARGS(space, start, end, prot));

DECLARE_EVENT_CLASS(torusmm_range,
		    TP_PROTO(const struct tmm_space *space, u32 start, u64 end),
		    TP_ARGS(space, start, end),
		    TP_STRUCT__entry(__field(u64, space_id)
				     __field(u64, end)
				     __field(u32, start)),
		    TP_fast_assign(__entry->space_id = space->id;
				   __entry->start = start;
				   __entry->end = end;),
		    TP_printk("space=%llu start=%#x end=%#llx",
			      __entry->space_id, __entry->start, __entry->end)
);

/* Regions over [start, end) went (munmap, or brk shrinking). */
DEFINE_EVENT(torusmm_range, torusmm_unmap,
	     TP_PROTO(const struct tmm_space *space, u32 start, u64 end),
	     TP_ARGS(space, start, end));

/* The shadow zapped [start, end) from every client mapping of the space. */
DEFINE_EVENT(torusmm_range, torusmm_shadow_invalidate,
	     TP_PROTO(const struct tmm_space *space, u32 start, u64 end),
	     TP_ARGS(space, start, end));

/* A space was cloned, as fork does. */
TRACE_EVENT(torusmm_clone,
	    TP_PROTO(const struct tmm_space *parent,
		     const struct tmm_space *child),
	    TP_ARGS(parent, child),
	    TP_STRUCT__entry(__field(u64, parent_id)
			     __field(u64, child_id)),
	    TP_fast_assign(__entry->parent_id = parent->id;
			   __entry->child_id = child->id;),
	    TP_printk("parent=%llu child=%llu", __entry->parent_id,
		      __entry->child_id)
);

#define TMM_TRACE_FRAME_USE(use)					\
	__print_symbolic(use, { TMM_FRAME_DATA, "data" },		\
			 { TMM_FRAME_TABLE, "table" })

DECLARE_EVENT_CLASS(torusmm_frame,
		    TP_PROTO(const struct tmm_torus *torus, u32 frame,
			     enum tmm_frame_use use),
		    TP_ARGS(torus, frame, use),
		    TP_STRUCT__entry(__field(u32, torus)
				     __field(u32, frame)
				     __field(u32, use)),
		    TP_fast_assign(__entry->torus = torus->id;
				   __entry->frame = frame;
				   __entry->use = use;),
		    TP_printk("torus=%u frame=%#x kind=%s", __entry->torus,
			      __entry->frame, TMM_TRACE_FRAME_USE(__entry->use))
);

/* A frame left the torus's free pool. */
DEFINE_EVENT(torusmm_frame, torusmm_frame_alloc,
	     TP_PROTO(const struct tmm_torus *torus, u32 frame,
		      enum tmm_frame_use use),
	     TP_ARGS(torus, frame, use));

/* A frame's last reference went: it is free in the torus again. */
DEFINE_EVENT(torusmm_frame, torusmm_frame_free,
	     TP_PROTO(const struct tmm_torus *torus, u32 frame,
		      enum tmm_frame_use use),
	     TP_ARGS(torus, frame, use));

/* The shadow derived a hardware entry (or made one writable). */
TRACE_EVENT(torusmm_shadow_fault,
	    TP_PROTO(const struct tmm_space *space, u32 addr,
		     unsigned long pfn, bool write),
	    TP_ARGS(space, addr, pfn, write),
	    TP_STRUCT__entry(__field(u64, space_id)
			     __field(unsigned long, pfn)
			     __field(u32, addr)
			     __field(bool, write)),
	    TP_fast_assign(__entry->space_id = space->id;
			   __entry->pfn = pfn;
			   __entry->addr = addr;
			   __entry->write = write;),
	    TP_printk("space=%llu addr=%#x pfn=%#lx write=%d",
		      __entry->space_id, __entry->addr, __entry->pfn,
		      __entry->write)
);

#endif /* _TORUSMM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE torusmm_trace
#include <trace/define_trace.h>
