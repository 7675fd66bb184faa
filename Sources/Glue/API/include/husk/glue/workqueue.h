/*
 * husk/glue/workqueue.h — deferred work on worker threads (NetBSD
 * workqueue(9), with the function given per item as Linux does, so one
 * queue serves several kinds of work).
 *
 * Items run in FIFO order of enqueueing; with nthreads > 1 several run at
 * once. The caller owns each struct work and keeps it valid while queued
 * or running; the glue stores its links inside it, so enqueueing never
 * allocates and is safe from interrupt handlers.
 */
#ifndef HUSK_GLUE_WORKQUEUE_H
#define HUSK_GLUE_WORKQUEUE_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

struct work;
typedef void (*work_fn_t)(struct work *wk, void *arg);

struct work {             /* zero-initialise before first use */
    struct work *wk_next; /* glue-private */
    work_fn_t wk_fn;      /* glue-private: set by enqueue */
    void *wk_arg;         /* glue-private: set by enqueue */
    uint32_t wk_state;    /* glue-private */
    uint32_t wk_reserved;
};

struct workqueue; /* opaque */

/* [blocks: no] [irq: no] Create a queue served by nthreads (1..64) threads
 * of the calling component named name. 0, HUSK_EINVAL, HUSK_EAGAIN. */
int glue_workqueue_create(struct workqueue **out, const char *name, unsigned nthreads);
/* [blocks: no] [irq: yes] Queue fn(wk, arg). A work item is queued at most
 * once at a time: if wk is already queued (not yet started) nothing changes
 * and false is returned; otherwise true. An item may be re-queued by its own
 * function or once it has started. */
bool glue_workqueue_enqueue(struct workqueue *wq, struct work *wk, work_fn_t fn, void *arg);
/* [blocks: yes] [irq: no] Wait until the queue is empty and no item runs,
 * including items queued while waiting. Panics from one of wq's workers. */
void glue_workqueue_drain(struct workqueue *wq);
/* [blocks: yes] [irq: no] Drain, stop the threads and free wq. */
void glue_workqueue_destroy(struct workqueue *wq);

static inline int workqueue_create(struct workqueue **out, const char *name, unsigned nthreads) {
    return glue_workqueue_create(out, name, nthreads);
}
static inline bool workqueue_enqueue(struct workqueue *wq, struct work *wk, work_fn_t fn, void *arg) {
    return glue_workqueue_enqueue(wq, wk, fn, arg);
}
static inline void workqueue_drain(struct workqueue *wq) { glue_workqueue_drain(wq); }
static inline void workqueue_destroy(struct workqueue *wq) { glue_workqueue_destroy(wq); }

#ifdef __cplusplus
}
#endif

#endif
