/*
 * husk/glue/sync.h — mutexes, reader/writer locks and condition variables
 * (NetBSD mutex(9), rwlock(9), condvar(9)) over the hypercall handles.
 *
 * Each object holds the host handle and the component that created it, so
 * code of that component may use it from any thread (also from a thread of
 * another component that called into it, e.g. a dma_engine copy).
 * Differences from NetBSD, and why:
 *   - *_init takes a name (shown in host diagnostics) and returns an error:
 *     the host's tables are finite (HUSK_EAGAIN), and a driver can fail its
 *     attach cleanly instead of panicking.
 *   - No spin mutexes / IPLs: interrupt handlers run on host threads, so an
 *     adaptive mutex taken for a short section is enough in irq context.
 *   - Timeouts are relative nanoseconds, not ticks.
 */
#ifndef HUSK_GLUE_SYNC_H
#define HUSK_GLUE_SYNC_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kmutex {
    husk_handle mtx_handle; /* 0 until mutex_init succeeded */
    husk_ctx *mtx_ctx;      /* owning component */
} kmutex_t;

typedef struct krwlock {
    husk_handle rw_handle;
    husk_ctx *rw_ctx;
} krwlock_t;

typedef struct kcondvar {
    husk_handle cv_handle;
    husk_ctx *cv_ctx;
} kcondvar_t;

typedef enum { RW_READER = HUSK_RW_READER, RW_WRITER = HUSK_RW_WRITER } krw_t;

/* ---- Mutexes: not recursive, never interruptible. */

/* [blocks: no] [irq: no] 0, or HUSK_EAGAIN when the host's table is full.
 * name may be NULL. */
int glue_mutex_init(kmutex_t *m, const char *name);
/* [blocks: no] [irq: no] Panics if held. The object may be re-initialised. */
void glue_mutex_destroy(kmutex_t *m);
/* [blocks: yes] [irq: yes, short sections] Panics on self-deadlock. */
void glue_mutex_enter(kmutex_t *m);
/* [blocks: no] [irq: yes] Panics if the caller does not hold m. */
void glue_mutex_exit(kmutex_t *m);
/* [blocks: no] [irq: yes] true if acquired. */
bool glue_mutex_tryenter(kmutex_t *m);
/* [blocks: no] [irq: yes] true if the calling thread holds m (assertions). */
bool glue_mutex_owned(const kmutex_t *m);

/* ---- Reader/writer locks: never interruptible. */

/* [blocks: no] [irq: no] 0 or HUSK_EAGAIN. */
int glue_rw_init(krwlock_t *rw, const char *name);
/* [blocks: no] [irq: no] Panics if held. */
void glue_rw_destroy(krwlock_t *rw);
/* [blocks: yes] [irq: no] Panics if the caller already holds it as writer. */
void glue_rw_enter(krwlock_t *rw, krw_t op);
/* [blocks: no] [irq: no] true if acquired. */
bool glue_rw_tryenter(krwlock_t *rw, krw_t op);
/* [blocks: no] [irq: no] Release one hold; panics if the caller holds none. */
void glue_rw_exit(krwlock_t *rw);

/* ---- Condition variables. Waits release m (held by the caller, else
 * panic) and hold it again on return. Wake-ups may be spurious: always
 * wait in a loop that re-checks the condition.
 *
 * As in NetBSD, cv_wait and cv_timedwait ignore cancellation and the _sig
 * variants return HUSK_EINTR for it. (The hypercall's waits are always
 * interruptible; a plain cv_wait in a `while (!cond)` loop would spin once a
 * thread is cancelled, so the glue keeps the cancellation pending, waits
 * without it, and sets it again before returning.) */

/* [blocks: no] [irq: no] 0 or HUSK_EAGAIN. */
int glue_cv_init(kcondvar_t *cv, const char *name);
/* [blocks: no] [irq: no] Panics while threads wait on it. */
void glue_cv_destroy(kcondvar_t *cv);
/* [blocks: yes] [irq: no] Returns 0. */
int glue_cv_wait(kcondvar_t *cv, kmutex_t *m);
/* [blocks: yes] [irq: no] 0 or HUSK_EINTR (thread cancelled). */
int glue_cv_wait_sig(kcondvar_t *cv, kmutex_t *m);
/* [blocks: yes] [irq: no] Wait at most timeout_ns: 0 or HUSK_ETIMEDOUT. */
int glue_cv_timedwait(kcondvar_t *cv, kmutex_t *m, uint64_t timeout_ns);
/* [blocks: yes] [irq: no] 0, HUSK_ETIMEDOUT or HUSK_EINTR. */
int glue_cv_timedwait_sig(kcondvar_t *cv, kmutex_t *m, uint64_t timeout_ns);
/* [blocks: no] [irq: yes] Wake one / all waiters; m need not be held. */
void glue_cv_signal(kcondvar_t *cv);
void glue_cv_broadcast(kcondvar_t *cv);

/* NetBSD names (inline wrappers: macros would rewrite hyp->cv_wait etc.). */
static inline int mutex_init(kmutex_t *m, const char *name) { return glue_mutex_init(m, name); }
static inline void mutex_destroy(kmutex_t *m) { glue_mutex_destroy(m); }
static inline void mutex_enter(kmutex_t *m) { glue_mutex_enter(m); }
static inline void mutex_exit(kmutex_t *m) { glue_mutex_exit(m); }
static inline bool mutex_tryenter(kmutex_t *m) { return glue_mutex_tryenter(m); }
static inline bool mutex_owned(const kmutex_t *m) { return glue_mutex_owned(m); }
static inline int rw_init(krwlock_t *rw, const char *name) { return glue_rw_init(rw, name); }
static inline void rw_destroy(krwlock_t *rw) { glue_rw_destroy(rw); }
static inline void rw_enter(krwlock_t *rw, krw_t op) { glue_rw_enter(rw, op); }
static inline bool rw_tryenter(krwlock_t *rw, krw_t op) { return glue_rw_tryenter(rw, op); }
static inline void rw_exit(krwlock_t *rw) { glue_rw_exit(rw); }
static inline int cv_init(kcondvar_t *cv, const char *name) { return glue_cv_init(cv, name); }
static inline void cv_destroy(kcondvar_t *cv) { glue_cv_destroy(cv); }
static inline int cv_wait(kcondvar_t *cv, kmutex_t *m) { return glue_cv_wait(cv, m); }
static inline int cv_wait_sig(kcondvar_t *cv, kmutex_t *m) { return glue_cv_wait_sig(cv, m); }
static inline int cv_timedwait(kcondvar_t *cv, kmutex_t *m, uint64_t ns) { return glue_cv_timedwait(cv, m, ns); }
static inline int cv_timedwait_sig(kcondvar_t *cv, kmutex_t *m, uint64_t ns) {
    return glue_cv_timedwait_sig(cv, m, ns);
}
static inline void cv_signal(kcondvar_t *cv) { glue_cv_signal(cv); }
static inline void cv_broadcast(kcondvar_t *cv) { glue_cv_broadcast(cv); }

#ifdef __cplusplus
}
#endif

#endif
