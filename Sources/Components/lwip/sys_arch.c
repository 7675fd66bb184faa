/*
 * sys_arch.c — lwIP's OS abstraction (lwip/sys.h) over the glue:
 * semaphores and mailboxes from a glue mutex and condition variable,
 * mutexes, threads (kthreads), time (sys_now), the lightweight protection
 * (sys_arch_protect), randomness and diagnostics.
 *
 * lwIP never frees some of what it creates (the heap's mutex, the core
 * lock, the tcpip thread's mailbox): it was written for systems that never
 * unload it. Every object made here is therefore kept on one list, and
 * lwport_sys_stop destroys what is left once the tcpip thread is gone, so
 * unloading the component leaves nothing behind in the host.
 */
#include "lwport_private.h"
#include "lwip/sys.h"
#include "lwip/tcpip.h"

/* What every sys object starts with: its place on the list of live ones. */
struct lwport_obj {
    struct lwport_obj *next, *prev;
    void (*destroy)(struct lwport_obj *o); /* frees the object */
};

struct lwport_sem {
    struct lwport_obj obj;
    kmutex_t lock;
    kcondvar_t cv;
    uint32_t count;
};

struct lwport_mutex {
    struct lwport_obj obj;
    kmutex_t m;
};

struct lwport_mbox {
    struct lwport_obj obj;
    kmutex_t lock;
    kcondvar_t not_empty, not_full;
    uint32_t size, head, count;
    void **slots;
};

struct lwport_thread {
    struct lwport_obj obj;
    kthread_t t;
};

static struct {
    husk_ctx *ctx;
    const struct husk_hyp *hyp;
    kmutex_t objects_lock; /* guards objects */
    struct lwport_obj objects;
    kmutex_t protect; /* sys_arch_protect */
} lwport_sys;

void *lwport_heap;

/* ---- The list of live objects. */

static void lwport_track(struct lwport_obj *o, void (*destroy)(struct lwport_obj *)) {
    o->destroy = destroy;
    mutex_enter(&lwport_sys.objects_lock);
    o->next = lwport_sys.objects.next;
    o->prev = &lwport_sys.objects;
    o->next->prev = o;
    lwport_sys.objects.next = o;
    mutex_exit(&lwport_sys.objects_lock);
}

static void lwport_untrack(struct lwport_obj *o) {
    mutex_enter(&lwport_sys.objects_lock);
    o->prev->next = o->next;
    o->next->prev = o->prev;
    mutex_exit(&lwport_sys.objects_lock);
}

/* Objects created before sys_init (none in lwIP 2.1.3) would need the
 * list: it is set up by lwport_sys_start, before lwIP runs at all. */
int lwport_sys_start(husk_ctx *ctx, const struct husk_hyp *hyp) {
    lwport_sys.ctx = ctx;
    lwport_sys.hyp = hyp;
    lwport_sys.objects.next = lwport_sys.objects.prev = &lwport_sys.objects;
    int error = mutex_init(&lwport_sys.objects_lock, "lwip-objects");
    if (error != 0) return error;
    if ((error = mutex_init(&lwport_sys.protect, "lwip-protect")) != 0) {
        mutex_destroy(&lwport_sys.objects_lock);
        return error;
    }
    /* MEM_SIZE plus lwIP's two heap headers and alignment slack. */
    lwport_heap = kmem_alloc(MEM_SIZE + 256, KM_SLEEP);
    return 0;
}

static void lwport_thread_destroy(struct lwport_obj *o);

/* Destroy the objects still alive: the threads (joining them) or the rest. */
static void lwport_destroy_all(bool threads) {
    struct lwport_obj *o = lwport_sys.objects.next;
    while (o != &lwport_sys.objects) {
        struct lwport_obj *next = o->next;
        if ((o->destroy == lwport_thread_destroy) == threads) {
            lwport_untrack(o);
            o->destroy(o);
        }
        o = next;
    }
}

/* Once no lwIP code runs any more (the tcpip thread has ended): destroy
 * what lwIP left, then the heap that held all of lwIP's memory. */
void lwport_sys_stop(void) {
    lwport_destroy_all(true); /* join the threads first: they may still use the rest */
    lwport_destroy_all(false);
    kmem_free(lwport_heap, MEM_SIZE + 256);
    lwport_heap = NULL;
    mutex_destroy(&lwport_sys.protect);
    mutex_destroy(&lwport_sys.objects_lock);
}

void sys_init(void) {}

/* ---- Time, randomness, diagnostics. */

u32_t sys_now(void) { return (u32_t)(glue_uptime_ns() / GLUE_NS_PER_MS); }

uint32_t lwport_rand(void) {
    uint32_t r = 0;
    int error = lwport_sys.hyp->random_bytes(lwport_sys.ctx, &r, sizeof r);
    if (error != 0) glue_panicf("lwip: random_bytes failed: %s", glue_strerror(error));
    return r;
}

void lwport_diag(const char *fmt, ...) {
    char line[256];
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    glue_vsnprintf(line, sizeof line, fmt, ap);
    __builtin_va_end(ap);
    /* lwIP's messages end in "\n" (or come in pieces): one log line each. */
    size_t n = glue_strlen(line);
    if (n > 0 && line[n - 1] == '\n') line[n - 1] = '\0';
    if (line[0] != '\0') glue_log(LOG_DEBUG, line);
}

void lwport_assert(const char *msg, int line, const char *file) {
    glue_panicf("lwIP assertion \"%s\" failed at %s:%d", msg, file, line);
}

/* With LWIP_TCPIP_CORE_LOCKING the tcpip thread holds the core lock while
 * it works, so "holds the lock" covers it too. Before tcpip_init made the
 * lock there is only the thread that is initialising. */
void lwport_assert_core_locked(void) {
    if (!sys_mutex_valid(&lock_tcpip_core)) return;
    if (!mutex_owned(&lock_tcpip_core->m)) glue_panicf("lwip: a core function was called without the core lock");
}

/* ---- sys_arch_protect: a short critical section that may nest. */

sys_prot_t sys_arch_protect(void) {
    if (mutex_owned(&lwport_sys.protect)) return 0;
    mutex_enter(&lwport_sys.protect);
    return 1;
}

void sys_arch_unprotect(sys_prot_t taken) {
    if (taken) mutex_exit(&lwport_sys.protect);
}

/* ---- Mutexes. */

static void lwport_mutex_destroy(struct lwport_obj *o) {
    struct lwport_mutex *m = (struct lwport_mutex *)o;
    mutex_destroy(&m->m);
    kmem_free(m, sizeof *m);
}

err_t sys_mutex_new(sys_mutex_t *out) {
    struct lwport_mutex *m = kmem_zalloc(sizeof *m, KM_SLEEP);
    if (mutex_init(&m->m, "lwip-mutex") != 0) {
        kmem_free(m, sizeof *m);
        return ERR_MEM;
    }
    lwport_track(&m->obj, lwport_mutex_destroy);
    *out = m;
    return ERR_OK;
}

void sys_mutex_lock(sys_mutex_t *m) { mutex_enter(&(*m)->m); }
void sys_mutex_unlock(sys_mutex_t *m) { mutex_exit(&(*m)->m); }

void sys_mutex_free(sys_mutex_t *m) {
    lwport_untrack(&(*m)->obj);
    lwport_mutex_destroy(&(*m)->obj);
    *m = NULL;
}

/* ---- Semaphores (counting, as lwIP's contrib ports make them). */

static void lwport_sem_destroy(struct lwport_obj *o) {
    struct lwport_sem *s = (struct lwport_sem *)o;
    cv_destroy(&s->cv);
    mutex_destroy(&s->lock);
    kmem_free(s, sizeof *s);
}

err_t sys_sem_new(sys_sem_t *out, u8_t count) {
    struct lwport_sem *s = kmem_zalloc(sizeof *s, KM_SLEEP);
    if (mutex_init(&s->lock, "lwip-sem") != 0) {
        kmem_free(s, sizeof *s);
        return ERR_MEM;
    }
    if (cv_init(&s->cv, "lwip-sem") != 0) {
        mutex_destroy(&s->lock);
        kmem_free(s, sizeof *s);
        return ERR_MEM;
    }
    s->count = count;
    lwport_track(&s->obj, lwport_sem_destroy);
    *out = s;
    return ERR_OK;
}

void sys_sem_signal(sys_sem_t *sem) {
    struct lwport_sem *s = *sem;
    mutex_enter(&s->lock);
    s->count++;
    cv_signal(&s->cv);
    mutex_exit(&s->lock);
}

/* Wait until *until_ns (0: for ever) for cond; the milliseconds waited, or
 * SYS_ARCH_TIMEOUT. The waits ignore cancellation: lwIP's API has no way
 * to report an interrupted wait (callers that must be interruptible use
 * timeouts or non-blocking calls). */
static u32_t lwport_wait(kcondvar_t *cv, kmutex_t *lock, bool (*cond)(void *), void *arg, u32_t timeout_ms) {
    uint64_t start = glue_uptime_ns();
    uint64_t deadline = start + (uint64_t)timeout_ms * GLUE_NS_PER_MS;
    while (!cond(arg)) {
        if (timeout_ms == 0) {
            cv_wait(cv, lock);
            continue;
        }
        uint64_t now = glue_uptime_ns();
        if (now >= deadline) return SYS_ARCH_TIMEOUT;
        (void)cv_timedwait(cv, lock, deadline - now);
    }
    uint64_t waited = (glue_uptime_ns() - start) / GLUE_NS_PER_MS;
    /* SYS_ARCH_TIMEOUT (0xffffffff) is reserved for "timed out". */
    return waited >= SYS_ARCH_TIMEOUT ? SYS_ARCH_TIMEOUT - 1 : (u32_t)waited;
}

static bool lwport_sem_ready(void *arg) { return ((struct lwport_sem *)arg)->count > 0; }

u32_t sys_arch_sem_wait(sys_sem_t *sem, u32_t timeout_ms) {
    struct lwport_sem *s = *sem;
    mutex_enter(&s->lock);
    u32_t r = lwport_wait(&s->cv, &s->lock, lwport_sem_ready, s, timeout_ms);
    if (r != SYS_ARCH_TIMEOUT) s->count--;
    mutex_exit(&s->lock);
    return r;
}

void sys_sem_free(sys_sem_t *sem) {
    lwport_untrack(&(*sem)->obj);
    lwport_sem_destroy(&(*sem)->obj);
    *sem = NULL;
}

/* ---- Mailboxes: a ring of size pointers. Posting from irq context (the
 * NIC's receive callback) uses trypost, which never waits. */

static void lwport_mbox_destroy(struct lwport_obj *o) {
    struct lwport_mbox *b = (struct lwport_mbox *)o;
    cv_destroy(&b->not_full);
    cv_destroy(&b->not_empty);
    mutex_destroy(&b->lock);
    kmem_free(b->slots, b->size * sizeof(void *));
    kmem_free(b, sizeof *b);
}

err_t sys_mbox_new(sys_mbox_t *out, int size) {
    struct lwport_mbox *b = kmem_zalloc(sizeof *b, KM_SLEEP);
    b->size = size > 0 ? (uint32_t)size : 64u;
    if (mutex_init(&b->lock, "lwip-mbox") != 0) goto no_lock;
    if (cv_init(&b->not_empty, "lwip-mbox") != 0) goto no_cv1;
    if (cv_init(&b->not_full, "lwip-mbox") != 0) goto no_cv2;
    b->slots = kmem_alloc(b->size * sizeof(void *), KM_SLEEP);
    lwport_track(&b->obj, lwport_mbox_destroy);
    *out = b;
    return ERR_OK;
no_cv2:
    cv_destroy(&b->not_empty);
no_cv1:
    mutex_destroy(&b->lock);
no_lock:
    kmem_free(b, sizeof *b);
    return ERR_MEM;
}

static void lwport_mbox_put(struct lwport_mbox *b, void *msg) {
    b->slots[(b->head + b->count) % b->size] = msg;
    b->count++;
    cv_signal(&b->not_empty);
}

static bool lwport_mbox_has_room(void *arg) {
    struct lwport_mbox *b = arg;
    return b->count < b->size;
}

static bool lwport_mbox_has_mail(void *arg) { return ((struct lwport_mbox *)arg)->count > 0; }

void sys_mbox_post(sys_mbox_t *mbox, void *msg) {
    struct lwport_mbox *b = *mbox;
    mutex_enter(&b->lock);
    (void)lwport_wait(&b->not_full, &b->lock, lwport_mbox_has_room, b, 0);
    lwport_mbox_put(b, msg);
    mutex_exit(&b->lock);
}

err_t sys_mbox_trypost(sys_mbox_t *mbox, void *msg) {
    struct lwport_mbox *b = *mbox;
    mutex_enter(&b->lock);
    bool room = b->count < b->size;
    if (room) lwport_mbox_put(b, msg);
    mutex_exit(&b->lock);
    return room ? ERR_OK : ERR_MEM;
}

/* Interrupt handlers are host threads here: the same as trypost. */
err_t sys_mbox_trypost_fromisr(sys_mbox_t *mbox, void *msg) { return sys_mbox_trypost(mbox, msg); }

static void *lwport_mbox_take(struct lwport_mbox *b) {
    void *msg = b->slots[b->head];
    b->head = (b->head + 1) % b->size;
    b->count--;
    cv_signal(&b->not_full);
    return msg;
}

u32_t sys_arch_mbox_fetch(sys_mbox_t *mbox, void **msg, u32_t timeout_ms) {
    struct lwport_mbox *b = *mbox;
    mutex_enter(&b->lock);
    u32_t r = lwport_wait(&b->not_empty, &b->lock, lwport_mbox_has_mail, b, timeout_ms);
    void *m = r == SYS_ARCH_TIMEOUT ? NULL : lwport_mbox_take(b);
    mutex_exit(&b->lock);
    if (msg != NULL) *msg = m;
    return r;
}

u32_t sys_arch_mbox_tryfetch(sys_mbox_t *mbox, void **msg) {
    struct lwport_mbox *b = *mbox;
    mutex_enter(&b->lock);
    bool got = b->count > 0;
    void *m = got ? lwport_mbox_take(b) : NULL;
    mutex_exit(&b->lock);
    if (msg != NULL) *msg = m;
    return got ? 0 : SYS_MBOX_EMPTY;
}

void sys_mbox_free(sys_mbox_t *mbox) {
    struct lwport_mbox *b = *mbox;
    if (b->count != 0) glue_logf(LOG_WARN, "lwip: a mailbox was freed with %u messages in it", b->count);
    lwport_untrack(&b->obj);
    lwport_mbox_destroy(&b->obj);
    *mbox = NULL;
}

/* ---- Threads: joinable kthreads, joined by lwport_sys_stop's caller
 * through the list (lwIP itself only ever starts the tcpip thread). */

static void lwport_thread_destroy(struct lwport_obj *o) {
    struct lwport_thread *t = (struct lwport_thread *)o;
    (void)kthread_join(t->t);
    kmem_free(t, sizeof *t);
}

sys_thread_t sys_thread_new(const char *name, lwip_thread_fn fn, void *arg, int stacksize, int prio) {
    struct lwport_thread *t = kmem_zalloc(sizeof *t, KM_SLEEP);
    int error = kthread_create(name, fn, arg, &t->t);
    if (error != 0) glue_panicf("lwip: cannot start thread %s: %s", name, glue_strerror(error));
    lwport_track(&t->obj, lwport_thread_destroy);
    return t;
}
