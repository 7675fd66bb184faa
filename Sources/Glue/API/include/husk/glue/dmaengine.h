/*
 * husk/glue/dmaengine.h — a registry of memory-copy engines, in the spirit
 * of Linux's dmaengine and NetBSD's dmover: a driver offers its device's
 * copy engine under a name; other components borrow it to offload copies
 * and fall back to the CPU when none is registered.
 *
 * Providers register a struct dma_engine. Clients never see it: they hold
 * a struct dma_chan from dma_engine_get, so a provider can unregister (its
 * device detached) while clients still hold channels; their copies then
 * fail with HUSK_ENODEV and they fall back to the CPU.
 *
 * Cross-component calls: the provider's copy runs on the client's thread
 * and `done` on the provider's interrupt thread. Code on such a thread must
 * use objects its component created earlier (mutexes, queues) and must not
 * allocate.
 */
#ifndef HUSK_GLUE_DMAENGINE_H
#define HUSK_GLUE_DMAENGINE_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*dma_done_fn)(void *arg, int status);

struct dma_engine {
    const char *name; /* unique among registered engines */
    /* [blocks: no] [irq: yes] Start copying len bytes from bus address src to
     * dst (both in DMA memory below max_bus_addr, len <= max_len, both
     * checked by the glue). Return 0 and call done(arg, status) exactly once
     * later, in irq context (status 0 or an HUSK_E* code); or return an error
     * (HUSK_EAGAIN: queue full) and never call done. */
    int (*copy)(void *priv, uint64_t dst_bus, uint64_t src_bus, uint64_t len, dma_done_fn done, void *arg);
    void *priv;            /* first argument of copy */
    uint64_t max_len;      /* largest single copy (0: no limit) */
    uint64_t max_bus_addr; /* buffers must end at or below this (0: none) */
};

struct dma_chan; /* a client's reference; opaque */

/* [blocks: no] [irq: no] Offer eng (the struct must stay valid until
 * unregistered). 0, HUSK_EINVAL (no name or copy), HUSK_EEXIST (name taken). */
int glue_dma_engine_register(const struct dma_engine *eng);
/* [blocks: yes] [irq: no] Withdraw eng: new copies fail with HUSK_ENODEV;
 * returns once no copy() call is still inside eng->copy. Copies already
 * accepted are the provider's to complete (or fail) through done. */
void glue_dma_engine_unregister(const struct dma_engine *eng);

/* [blocks: no] [irq: no] A channel to the engine called name, or to any
 * engine when name is NULL; NULL if there is none. Release with put. */
struct dma_chan *glue_dma_engine_get(const char *name);
/* [blocks: no] [irq: no] Release a channel. NULL is ignored. */
void glue_dma_engine_put(struct dma_chan *ch);
/* [blocks: no] [irq: no] Limits of the channel's engine (either pointer may
 * be NULL); 0 means no limit. Use max_bus_addr for bus_dmamem_alloc. */
void glue_dma_chan_limits(const struct dma_chan *ch, uint64_t *max_len, uint64_t *max_bus_addr);
/* [blocks: no] [irq: no] Name of the channel's engine. */
const char *glue_dma_chan_name(const struct dma_chan *ch);
/* [blocks: no] [irq: yes] Start a copy (see struct dma_engine.copy). 0 and
 * done is called later; or HUSK_ENODEV (engine unregistered), HUSK_EINVAL
 * (len 0 or above max_len, range above max_bus_addr), or the engine's error;
 * done is then never called. */
int glue_dma_engine_copy(struct dma_chan *ch, uint64_t dst_bus, uint64_t src_bus, uint64_t len, dma_done_fn done,
                         void *arg);

static inline int dma_engine_register(const struct dma_engine *e) { return glue_dma_engine_register(e); }
static inline void dma_engine_unregister(const struct dma_engine *e) { glue_dma_engine_unregister(e); }
static inline struct dma_chan *dma_engine_get(const char *name) { return glue_dma_engine_get(name); }
static inline void dma_engine_put(struct dma_chan *ch) { glue_dma_engine_put(ch); }
static inline int dma_engine_copy(struct dma_chan *ch, uint64_t dst, uint64_t src, uint64_t len, dma_done_fn done,
                                  void *arg) {
    return glue_dma_engine_copy(ch, dst, src, len, done, arg);
}

#ifdef __cplusplus
}
#endif

#endif
