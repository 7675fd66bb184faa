/*
 * husk/glue/barrier.h — memory barriers (inline: they are single
 * instructions, and a call would cost more than the barrier).
 *
 * Two families:
 *   membar_*  order memory accesses between CPUs (NetBSD membar_ops(3)):
 *             enough for data shared between threads.
 *   dev_mb/rmb/wmb  also order them against devices: MMIO registers and
 *             DMA memory (Linux's mb/rmb/wmb). bus_space_barrier and
 *             bus_dmamap_sync are built from these.
 * Every function here is [blocks: no] [irq: yes].
 */
#ifndef HUSK_GLUE_BARRIER_H
#define HUSK_GLUE_BARRIER_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Full barrier: earlier loads and stores before later loads and stores. */
static inline void membar_sync(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
/* Earlier stores before later stores (publish data, then a flag). */
static inline void membar_producer(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }
/* Earlier loads before later loads (see a flag, then read the data). */
static inline void membar_consumer(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }

#if defined(__x86_64__) || defined(__i386__)
/* x86 orders ordinary accesses to uncached MMIO already; the fences also
 * cover write-combining mappings (prefetchable BARs) and non-temporal
 * stores, and the "memory" clobber stops the compiler from reordering. */
static inline void dev_mb(void) { __asm__ __volatile__("mfence" ::: "memory"); }
static inline void dev_rmb(void) { __asm__ __volatile__("lfence" ::: "memory"); }
static inline void dev_wmb(void) { __asm__ __volatile__("sfence" ::: "memory"); }
#elif defined(__aarch64__)
/* Device memory needs DSB, not just DMB, to order against the device. */
static inline void dev_mb(void) { __asm__ __volatile__("dsb sy" ::: "memory"); }
static inline void dev_rmb(void) { __asm__ __volatile__("dsb ld" ::: "memory"); }
static inline void dev_wmb(void) { __asm__ __volatile__("dsb st" ::: "memory"); }
#else
/* Other CPUs: the strongest portable fence. A port should refine this. */
static inline void dev_mb(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void dev_rmb(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void dev_wmb(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
#endif

#ifdef __cplusplus
}
#endif

#endif
