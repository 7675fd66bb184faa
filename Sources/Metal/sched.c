/*
 * sched.c — threads and a cooperative scheduler on one CPU.
 *
 * A thread runs until it blocks (a lock it cannot take, a condition
 * variable, a sleep, a join) or yields (sleep_ns(0)); then the next
 * runnable thread in FIFO order runs. The ABI allows this: it promises
 * wake-ups, exclusion and cancellation, not time slices, and every
 * operation marked [blocks: yes] is a point where this host switches.
 * A component that spins on a flag without calling a blocking operation
 * would starve the others here (the conformance suite polls with sleeps).
 * When nothing is runnable the CPU halts until the earliest deadline or an
 * interrupt (intr.c).
 *
 * Interrupts are taken only inside schedule() (intr.c) and touch none of
 * the scheduler's lists, so nothing runs between two switches and the
 * lists need no locking.
 */
#include "metal.h"

#define MAX_THREADS  256
#define STACK_SIZE   (64u * 1024u)
/* At the bottom of every thread stack, checked at each switch: the map has
 * no guard pages, so this is how an overflow shows. */
#define STACK_CANARY 0x5ca1ab1edeadf00dull

enum tstate { T_FREE = 0, T_RUNNABLE, T_BLOCKED, T_DEAD };

struct thread {
    uint64_t rsp; /* saved by ctx_switch */
    enum tstate state;
    husk_handle handle;
    char name[16];
    void (*fn)(void *);
    void *arg;
    void *stack;
    bool joinable, joining, host;
    husk_ctx *ctx;
    void *tls;
    void *tls_block; /* C11 _Thread_local: this thread's copy of the template */
    uint64_t fs_base;
    int cancel;
    /* while blocked */
    struct waitq *wq;
    struct thread *wnext, *wprev;
    uint64_t deadline;
    bool interruptible;
    enum wake reason;
    uint32_t wait_word;
    struct waitq joiners;
    struct thread *rnext; /* run queue */
};

void ctx_switch(uint64_t *save_rsp, uint64_t new_rsp);
void ctx_first(void);

static struct thread threads[MAX_THREADS];
static struct thread *cur, *run_head, *run_tail, *dead_pending;
static uint64_t earliest = NO_DEADLINE; /* no blocked deadline is before it */

/* ---- TLS for C11 _Thread_local (the port library; the kernel has none).
 * x86_64 local-exec (variant II): the block [.tdata copy | zeroed .tbss]
 * ends at the thread pointer, %fs points there and its first word points
 * to itself (code reads %fs:0 to take a variable's address). */
extern char __tdata_start[], __tdata_size[], __tls_size[], __tls_align[];

#define IA32_FS_BASE 0xC0000100u

static void wrmsr(uint32_t msr, uint64_t v) {
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t tls_align(void) {
    uint64_t a = (uint64_t)(uintptr_t)__tls_align;
    return a < 16 ? 16 : a;
}

static uint64_t tls_span(void) { /* the block, rounded up to its alignment */
    uint64_t a = tls_align();
    return ((uint64_t)(uintptr_t)__tls_size + a - 1) & ~(a - 1);
}

/* Give t a block and its thread pointer; false if out of memory. */
static bool tls_setup(struct thread *t) {
    uint64_t span = tls_span();
    uint8_t *b = mem_get(span + 16, tls_align(), 0, MEM_KERNEL);
    if (!b) return false;
    size_t init = (size_t)(uintptr_t)__tdata_size;
    memcpy(b, __tdata_start, init);
    memset(b + init, 0, span - init);
    uint64_t tp = (uint64_t)(uintptr_t)(b + span);
    *(uint64_t *)(uintptr_t)tp = tp;
    *(uint64_t *)(uintptr_t)(tp + 8) = 0;
    t->tls_block = b;
    t->fs_base = tp;
    return true;
}

static void tls_release(struct thread *t) {
    if (t->tls_block) mem_put(t->tls_block, tls_span() + 16, MEM_KERNEL);
    t->tls_block = 0;
    t->fs_base = 0;
}

static void runq_push(struct thread *t) {
    t->rnext = 0;
    if (run_tail)
        run_tail->rnext = t;
    else
        run_head = t;
    run_tail = t;
}

static struct thread *runq_pop(void) {
    struct thread *t = run_head;
    if (t) {
        run_head = t->rnext;
        if (!run_head) run_tail = 0;
    }
    return t;
}

static void waitq_push(struct waitq *q, struct thread *t) {
    t->wq = q;
    t->wnext = 0;
    t->wprev = q->tail;
    if (q->tail)
        q->tail->wnext = t;
    else
        q->head = t;
    q->tail = t;
}

static void waitq_remove(struct thread *t) {
    struct waitq *q = t->wq;
    if (!q) return;
    if (t->wprev)
        t->wprev->wnext = t->wnext;
    else
        q->head = t->wnext;
    if (t->wnext)
        t->wnext->wprev = t->wprev;
    else
        q->tail = t->wprev;
    t->wq = 0;
    t->wnext = t->wprev = 0;
}

static void wake(struct thread *t, enum wake why) {
    if (t->state != T_BLOCKED) return;
    waitq_remove(t);
    t->reason = why;
    t->state = T_RUNNABLE;
    runq_push(t);
}

static void wake_expired(void) {
    uint64_t now = clock_ns();
    if (now < earliest) return;
    earliest = NO_DEADLINE;
    for (int i = 0; i < MAX_THREADS; i++) {
        struct thread *t = &threads[i];
        if (t->state != T_BLOCKED || t->deadline == NO_DEADLINE) continue;
        if (t->deadline <= now)
            wake(t, WAKE_TIMEOUT);
        else if (t->deadline < earliest)
            earliest = t->deadline;
    }
}

/* Free what a thread that ended left behind, once we are off its stack. */
static void reap(void) {
    struct thread *t = dead_pending;
    if (!t || t == cur) return;
    dead_pending = 0;
    if (t->stack) mem_put(t->stack, STACK_SIZE, MEM_KERNEL);
    t->stack = 0;
    tls_release(t);
    if (!t->joinable) {
        handle_free(t->handle);
        t->state = T_FREE;
    }
}

/* The current thread has set its state (and queued itself if runnable). */
static void schedule(void) {
    struct thread *prev = cur, *next;
    for (;;) {
        intr_window();
        wake_expired();
        if ((next = runq_pop())) break;
        uint64_t now = clock_ns();
        intr_idle(earliest > now ? earliest - now : 0);
    }
    if (next != prev) {
        if (prev->stack && *(volatile uint64_t *)prev->stack != STACK_CANARY) {
            char msg[64] = "stack overflow in thread ";
            memcpy(msg + 25, prev->name, sizeof prev->name);
            metal_panic("metal", msg);
        }
        cur = next;
        wrmsr(IA32_FS_BASE, next->fs_base);
        ctx_switch(&prev->rsp, next->rsp);
    }
    reap();
}

struct thread *sched_init(void) {
    cur = &threads[0];
    cur->state = T_RUNNABLE;
    cur->host = true;
    cur->handle = handle_new(H_THREAD, cur);
    memcpy(cur->name, "host", 5);
    if (!tls_setup(cur)) metal_panic("metal", "no memory for the boot thread's TLS block");
    wrmsr(IA32_FS_BASE, cur->fs_base);
    return cur;
}

struct thread *thread_current(void) {
    return cur;
}
husk_handle thread_handle(struct thread *t) { return t->handle; }
husk_ctx *thread_ctx(struct thread *t) { return t->ctx; }
void thread_set_ctx(struct thread *t, husk_ctx *ctx) { t->ctx = ctx; }
void **thread_tls(struct thread *t) { return &t->tls; }
bool thread_is_host(struct thread *t) { return t->host; }
uint32_t *thread_wait_word(struct thread *t) { return &t->wait_word; }
struct thread *waitq_first(const struct waitq *q) {
    return q->head;
}
bool waitq_empty(const struct waitq *q) { return q->head == 0; }

void sched_thread_main(void) {
    reap();
    cur->fn(cur->arg);
    thread_exit_current();
}

int32_t thread_spawn(const char *name, void (*fn)(void *), void *arg, bool joinable, husk_ctx *ctx, husk_handle *out) {
    struct thread *t = 0;
    for (int i = 1; i < MAX_THREADS && !t; i++)
        if (threads[i].state == T_FREE) t = &threads[i];
    if (!t) return HUSK_EAGAIN;
    void *stack = mem_get(STACK_SIZE, 16, 0, MEM_KERNEL);
    if (!stack) return HUSK_EAGAIN;
    husk_handle h = handle_new(H_THREAD, t);
    if (!h) {
        mem_put(stack, STACK_SIZE, MEM_KERNEL);
        return HUSK_EAGAIN;
    }
    memset(t, 0, sizeof *t);
    if (!tls_setup(t)) {
        handle_free(h);
        mem_put(stack, STACK_SIZE, MEM_KERNEL);
        return HUSK_EAGAIN;
    }
    t->handle = h;
    t->stack = stack;
    t->fn = fn;
    t->arg = arg;
    t->joinable = joinable;
    t->ctx = ctx;
    for (int i = 0; name && name[i] && i < 15; i++) t->name[i] = name[i];
    *(uint64_t *)stack = STACK_CANARY;
    uint64_t *sp = (uint64_t *)((uint8_t *)stack + STACK_SIZE);
    *--sp = 0;                              /* alignment slot */
    *--sp = (uint64_t)(uintptr_t)ctx_first; /* ctx_switch returns here */
    for (int i = 0; i < 6; i++) *--sp = 0;  /* rbp rbx r12-r15 */
    t->rsp = (uint64_t)(uintptr_t)sp;
    t->state = T_RUNNABLE;
    runq_push(t);
    if (out) *out = h;
    return HUSK_OK;
}

void thread_exit_current(void) {
    struct thread *t = cur;
    t->state = T_DEAD;
    waitq_wake_all(&t->joiners);
    dead_pending = t;
    schedule();
    __builtin_unreachable();
}

int32_t thread_join_handle(husk_handle h) {
    struct thread *t = handle_get(h, H_THREAD);
    if (!t || !t->joinable || t->joining) return HUSK_EBADF;
    if (t == cur) return HUSK_EDEADLK;
    t->joining = true;
    while (t->state != T_DEAD) sched_block(&t->joiners, NO_DEADLINE, false);
    reap();
    handle_free(t->handle);
    t->state = T_FREE;
    return HUSK_OK;
}

int32_t thread_cancel_handle(husk_handle h) {
    struct thread *t = handle_get(h, H_THREAD);
    if (!t) return HUSK_EBADF;
    t->cancel = 1;
    if (t->state == T_BLOCKED && t->interruptible) wake(t, WAKE_CANCEL);
    return HUSK_OK;
}

bool thread_cancel_pending(void) { return cur->cancel != 0; }
void thread_cancel_clear(void) { cur->cancel = 0; }

void sched_yield(void) {
    cur->state = T_RUNNABLE;
    runq_push(cur);
    schedule();
}

enum wake sched_block(struct waitq *q, uint64_t deadline, bool interruptible) {
    struct thread *t = cur;
    if (interruptible && t->cancel) return WAKE_CANCEL;
    if (deadline != NO_DEADLINE && clock_ns() >= deadline) return WAKE_TIMEOUT;
    t->state = T_BLOCKED;
    t->deadline = deadline;
    t->interruptible = interruptible;
    t->reason = WAKE_OK;
    if (q) waitq_push(q, t);
    if (deadline < earliest) earliest = deadline;
    schedule();
    return t->reason;
}

struct thread *waitq_wake_one(struct waitq *q) {
    struct thread *t = q->head;
    if (t) wake(t, WAKE_OK);
    return t;
}

void waitq_wake_all(struct waitq *q) {
    while (q->head) wake(q->head, WAKE_OK);
}
