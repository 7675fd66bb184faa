/*
 * husk/glue/kmem.h — kernel memory allocation (NetBSD kmem(9)).
 * Memory comes from hyp->mem_alloc of the calling component and is
 * accounted to it. Not for DMA: use bus_dmamem_alloc.
 */
#ifndef HUSK_GLUE_KMEM_H
#define HUSK_GLUE_KMEM_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KM_SLEEP   0x1 /* may wait for memory; never returns NULL */
#define KM_NOSLEEP 0x2 /* returns NULL at once when memory is short */

/* [blocks: KM_SLEEP may] [irq: no] size bytes aligned to 16. size 0 panics.
 * KM_SLEEP retries for up to 10 s when the host is out of memory, then
 * panics; KM_NOSLEEP returns NULL. kmem_zalloc zero-fills. */
void *glue_kmem_alloc(size_t size, int flags);
void *glue_kmem_zalloc(size_t size, int flags);
/* [blocks: no] [irq: no] Free; size must be the size allocated (panics on a
 * pointer or size the host did not hand out). NULL is ignored. */
void glue_kmem_free(void *ptr, size_t size);

/* NetBSD names. Inline wrappers, not macros: a macro would also rewrite
 * struct members of the same name (hyp->cv_wait, ...). */
static inline void *kmem_alloc(size_t size, int flags) { return glue_kmem_alloc(size, flags); }
static inline void *kmem_zalloc(size_t size, int flags) { return glue_kmem_zalloc(size, flags); }
static inline void kmem_free(void *ptr, size_t size) { glue_kmem_free(ptr, size); }

#ifdef __cplusplus
}
#endif

#endif
