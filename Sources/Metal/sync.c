/*
 * sync.c — mutexes, reader/writer locks and condition variables.
 *
 * Ownership is handed over directly on release (the first waiter becomes
 * the owner before it runs), so waiters are served in FIFO order and no
 * one can barge in between. Misuse that the ABI calls a bug (unlocking a
 * mutex one does not hold, ...) panics the component.
 */
#include "metal.h"

#define MAX_READERS 32 /* distinct threads holding one rwlock as reader */

struct mutex {
    struct thread *owner;
    struct waitq q;
};

struct rwlock {
    struct thread *writer;
    uint32_t readers; /* total read holds */
    struct {
        struct thread *t;
        uint32_t n;
    } held[MAX_READERS];
    struct waitq q; /* waiters' wait_word: HUSK_RW_READER or WRITER */
};

struct condvar {
    struct waitq q;
};

static void misuse(husk_ctx *ctx, const char *msg) { metal_hyp.panic(ctx, msg); }

static void *obj_new(uint64_t size) { return mem_get(size, 16, 0, MEM_KERNEL); }

/* ---- mutex ---------------------------------------------------------------- */

static int32_t m_create(husk_ctx *ctx, const char *name, husk_handle *out) {
    if (!out) return HUSK_EFAULT;
    struct mutex *m = obj_new(sizeof *m);
    if (!m) return HUSK_EAGAIN;
    memset(m, 0, sizeof *m);
    if (!(*out = handle_new(H_MUTEX, m))) {
        mem_put(m, sizeof *m, MEM_KERNEL);
        return HUSK_EAGAIN;
    }
    return HUSK_OK;
}

static int32_t m_destroy(husk_ctx *ctx, husk_handle h) {
    struct mutex *m = handle_get(h, H_MUTEX);
    if (!m) return HUSK_EBADF;
    if (m->owner) misuse(ctx, "mutex_destroy of a held mutex");
    handle_free(h);
    mem_put(m, sizeof *m, MEM_KERNEL);
    return HUSK_OK;
}

static void m_take(struct mutex *m, husk_ctx *ctx) {
    struct thread *me = thread_current();
    if (m->owner == me) misuse(ctx, "mutex_lock of a mutex the caller holds (self-deadlock)");
    if (!m->owner) {
        m->owner = me;
        return;
    }
    while (m->owner != me) sched_block(&m->q, NO_DEADLINE, false);
}

static void m_release(struct mutex *m) {
    struct thread *next = waitq_wake_one(&m->q);
    m->owner = next; /* handed over, or free */
}

static int32_t m_lock(husk_ctx *ctx, husk_handle h) {
    struct mutex *m = handle_get(h, H_MUTEX);
    if (!m) return HUSK_EBADF;
    m_take(m, ctx);
    return HUSK_OK;
}

static int32_t m_trylock(husk_ctx *ctx, husk_handle h) {
    struct mutex *m = handle_get(h, H_MUTEX);
    if (!m) return HUSK_EBADF;
    if (m->owner) return HUSK_EBUSY;
    m->owner = thread_current();
    return HUSK_OK;
}

static int32_t m_unlock(husk_ctx *ctx, husk_handle h) {
    struct mutex *m = handle_get(h, H_MUTEX);
    if (!m) return HUSK_EBADF;
    if (m->owner != thread_current()) misuse(ctx, "mutex_unlock of a mutex the caller does not hold");
    m_release(m);
    return HUSK_OK;
}

static int32_t m_owned(husk_ctx *ctx, husk_handle h) {
    struct mutex *m = handle_get(h, H_MUTEX);
    return m && m->owner == thread_current();
}

/* ---- rwlock --------------------------------------------------------------- */

static int32_t rw_create(husk_ctx *ctx, const char *name, husk_handle *out) {
    if (!out) return HUSK_EFAULT;
    struct rwlock *rw = obj_new(sizeof *rw);
    if (!rw) return HUSK_EAGAIN;
    memset(rw, 0, sizeof *rw);
    if (!(*out = handle_new(H_RW, rw))) {
        mem_put(rw, sizeof *rw, MEM_KERNEL);
        return HUSK_EAGAIN;
    }
    return HUSK_OK;
}

static int32_t rw_destroy(husk_ctx *ctx, husk_handle h) {
    struct rwlock *rw = handle_get(h, H_RW);
    if (!rw) return HUSK_EBADF;
    if (rw->writer || rw->readers) misuse(ctx, "rw_destroy of a held rwlock");
    handle_free(h);
    mem_put(rw, sizeof *rw, MEM_KERNEL);
    return HUSK_OK;
}

static bool add_reader(struct rwlock *rw, struct thread *t) {
    int slot = -1;
    for (int i = 0; i < MAX_READERS; i++) {
        if (rw->held[i].t == t) {
            rw->held[i].n++;
            rw->readers++;
            return true;
        }
        if (!rw->held[i].t && slot < 0) slot = i;
    }
    if (slot < 0) return false;
    rw->held[slot].t = t;
    rw->held[slot].n = 1;
    rw->readers++;
    return true;
}

static bool can_take(struct rwlock *rw, uint32_t mode) {
    if (rw->writer) return false;
    if (mode == HUSK_RW_WRITER) return rw->readers == 0;
    /* Waiting writers go before new readers. */
    return waitq_empty(&rw->q);
}

/* After a release: grant the head writer, or every reader before the first writer. */
static void rw_grant(struct rwlock *rw) {
    struct thread *t;
    while (!rw->writer && (t = waitq_first(&rw->q))) {
        if (*thread_wait_word(t) == HUSK_RW_WRITER) {
            if (rw->readers) return;
            rw->writer = t;
        } else if (!add_reader(rw, t)) {
            return;
        }
        waitq_wake_one(&rw->q);
    }
}

static int32_t rw_enter_common(husk_ctx *ctx, husk_handle h, uint32_t mode, bool wait) {
    struct rwlock *rw = handle_get(h, H_RW);
    if (!rw) return HUSK_EBADF;
    if (mode != HUSK_RW_READER && mode != HUSK_RW_WRITER) return HUSK_EINVAL;
    struct thread *me = thread_current();
    if (rw->writer == me) {
        if (!wait) return HUSK_EBUSY;
        misuse(ctx, "rw_enter by the thread that holds the rwlock as writer");
    }
    if (can_take(rw, mode)) {
        if (mode == HUSK_RW_WRITER)
            rw->writer = me;
        else if (!add_reader(rw, me))
            return HUSK_EAGAIN;
        return HUSK_OK;
    }
    if (!wait) return HUSK_EBUSY;
    *thread_wait_word(me) = mode;
    /* rw_grant makes us the holder before waking us. */
    sched_block(&rw->q, NO_DEADLINE, false);
    return HUSK_OK;
}

static int32_t rw_enter(husk_ctx *ctx, husk_handle h, uint32_t mode) { return rw_enter_common(ctx, h, mode, true); }
static int32_t rw_tryenter(husk_ctx *ctx, husk_handle h, uint32_t mode) { return rw_enter_common(ctx, h, mode, false); }

static int32_t rw_exit(husk_ctx *ctx, husk_handle h) {
    struct rwlock *rw = handle_get(h, H_RW);
    if (!rw) return HUSK_EBADF;
    struct thread *me = thread_current();
    if (rw->writer == me) {
        rw->writer = 0;
    } else {
        int i = 0;
        while (i < MAX_READERS && rw->held[i].t != me) i++;
        if (i == MAX_READERS) misuse(ctx, "rw_exit of an rwlock the caller does not hold");
        if (--rw->held[i].n == 0) rw->held[i].t = 0;
        rw->readers--;
    }
    rw_grant(rw);
    return HUSK_OK;
}

/* ---- condition variables --------------------------------------------------- */

static int32_t cv_create(husk_ctx *ctx, const char *name, husk_handle *out) {
    if (!out) return HUSK_EFAULT;
    struct condvar *cv = obj_new(sizeof *cv);
    if (!cv) return HUSK_EAGAIN;
    memset(cv, 0, sizeof *cv);
    if (!(*out = handle_new(H_CV, cv))) {
        mem_put(cv, sizeof *cv, MEM_KERNEL);
        return HUSK_EAGAIN;
    }
    return HUSK_OK;
}

static int32_t cv_destroy(husk_ctx *ctx, husk_handle h) {
    struct condvar *cv = handle_get(h, H_CV);
    if (!cv) return HUSK_EBADF;
    if (!waitq_empty(&cv->q)) return HUSK_EBUSY;
    handle_free(h);
    mem_put(cv, sizeof *cv, MEM_KERNEL);
    return HUSK_OK;
}

static int32_t cv_wait_until(husk_ctx *ctx, husk_handle hcv, husk_handle hm, uint64_t deadline) {
    struct condvar *cv = handle_get(hcv, H_CV);
    struct mutex *m = handle_get(hm, H_MUTEX);
    if (!cv || !m) return HUSK_EBADF;
    if (m->owner != thread_current()) misuse(ctx, "cv_wait without holding the mutex");
    if (thread_cancel_pending()) return HUSK_EINTR;
    if (deadline != NO_DEADLINE && clock_ns() >= deadline) return HUSK_ETIMEDOUT;
    m_release(m);
    enum wake w = sched_block(&cv->q, deadline, true);
    m_take(m, ctx);
    return w == WAKE_OK ? HUSK_OK : w == WAKE_TIMEOUT ? HUSK_ETIMEDOUT : HUSK_EINTR;
}

static int32_t cv_wait(husk_ctx *ctx, husk_handle cv, husk_handle m) { return cv_wait_until(ctx, cv, m, NO_DEADLINE); }
static int32_t cv_timedwait(husk_ctx *ctx, husk_handle cv, husk_handle m, uint64_t deadline) {
    return cv_wait_until(ctx, cv, m, deadline == NO_DEADLINE ? NO_DEADLINE - 1 : deadline);
}

static int32_t cv_signal(husk_ctx *ctx, husk_handle h) {
    struct condvar *cv = handle_get(h, H_CV);
    if (!cv) return HUSK_EBADF;
    waitq_wake_one(&cv->q);
    return HUSK_OK;
}

static int32_t cv_broadcast(husk_ctx *ctx, husk_handle h) {
    struct condvar *cv = handle_get(h, H_CV);
    if (!cv) return HUSK_EBADF;
    waitq_wake_all(&cv->q);
    return HUSK_OK;
}

void hyp_fill_sync(struct husk_hyp *h) {
    h->mutex_create = m_create;
    h->mutex_destroy = m_destroy;
    h->mutex_lock = m_lock;
    h->mutex_trylock = m_trylock;
    h->mutex_unlock = m_unlock;
    h->mutex_owned = m_owned;
    h->rw_create = rw_create;
    h->rw_destroy = rw_destroy;
    h->rw_enter = rw_enter;
    h->rw_tryenter = rw_tryenter;
    h->rw_exit = rw_exit;
    h->cv_create = cv_create;
    h->cv_destroy = cv_destroy;
    h->cv_wait = cv_wait;
    h->cv_timedwait = cv_timedwait;
    h->cv_signal = cv_signal;
    h->cv_broadcast = cv_broadcast;
}
