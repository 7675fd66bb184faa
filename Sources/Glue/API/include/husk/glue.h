/*
 * husk/glue.h — the kernel-style C API that Husk components are written
 * against (the "anykernel glue"). Include this one header.
 *
 * Every function the glue implements out of line is named glue_*; the
 * NetBSD-flavoured names (kmem_alloc, mutex_enter, callout_schedule, ...)
 * are static inline functions that call them (not macros, so they cannot
 * rewrite a component's struct members of the same name). Inline helpers
 * (bus_space accessors, barriers, bus_dmamap_sync) compile into the
 * component and reference no symbol.
 * So a component's undefined symbols are glue_* plus memcpy/memset/
 * memmove/memcmp. docs/glue.md lists them and explains the choices.
 * Vendored code calls a few more C library functions by their standard
 * names; the C subset (husk/glue/csubset.h) maps them to glue_ ones.
 *
 * Conventions for every header below:
 *   - Each function states [blocks: yes/no] and [irq: yes/no] as in
 *     husk/hypercall.h: irq context (interrupt handlers, dma_engine
 *     completions) may only call functions marked [irq: yes].
 *   - Errors are the HUSK_E* codes of husk/hypercall.h (0 = success).
 *   - Misuse that a kernel would treat as a bug (a call from a thread that
 *     belongs to no component, unlocking an unheld mutex, using a destroyed
 *     object) panics the component: its server exits with status
 *     HUSK_PANIC_EXIT_STATUS and a message naming the component.
 *   - The glue finds the calling component with hyp->ctx_current(): objects
 *     (mutexes, callouts, workqueues, DMA maps...) remember the component
 *     that created them and are used on its behalf from any thread.
 */
#ifndef HUSK_GLUE_H
#define HUSK_GLUE_H

#include <husk/glue/base.h>
#include <husk/glue/string.h>
#include <husk/glue/csubset.h>
#include <husk/glue/log.h>
#include <husk/glue/time.h>
#include <husk/glue/kmem.h>
#include <husk/glue/sync.h>
#include <husk/glue/kthread.h>
#include <husk/glue/callout.h>
#include <husk/glue/workqueue.h>
#include <husk/glue/barrier.h>
#include <husk/glue/pci.h>
#include <husk/glue/bus_space.h>
#include <husk/glue/bus_dma.h>
#include <husk/glue/dmaengine.h>
#include <husk/glue/cred.h>
#include <husk/glue/disk.h>
#include <husk/glue/netif.h>
#include <husk/glue/socket.h>
#include <husk/glue/vfs.h>
#include <husk/glue/param.h>
/* The glue's own per-thread slots, for its Swift side (not for components:
 * their names are outside the allow-list). Included here so that the GlueAPI
 * module always sees it. */
#include <husk/glue_thread_slots.h>

#endif /* HUSK_GLUE_H */
