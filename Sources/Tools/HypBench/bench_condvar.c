#define _GNU_SOURCE
#include "hypbench.h"
#include "bench_clock.h"
#include <pthread.h>

/* Two threads take turns: each waits until `turn` is its own, hands the turn
 * over and signals. One round trip = two hand-overs. */

struct hyp_pingpong {
    const struct husk_hyp *hyp;
    husk_ctx *ctx;
    husk_handle m, cv;
    volatile int turn;
    uint64_t iters;
};

static void hyp_partner(void *arg) {
    struct hyp_pingpong *p = arg;
    const struct husk_hyp *hyp = p->hyp;
    hyp->mutex_lock(p->ctx, p->m);
    for (uint64_t i = 0; i < p->iters; i++) {
        while (p->turn != 1) hyp->cv_wait(p->ctx, p->cv, p->m);
        p->turn = 0;
        hyp->cv_signal(p->ctx, p->cv);
    }
    hyp->mutex_unlock(p->ctx, p->m);
}

double hypbench_condvar_hyp(const struct husk_hyp *hyp, husk_ctx *ctx, uint64_t iters) {
    struct hyp_pingpong p = {.hyp = hyp, .ctx = ctx, .turn = 0, .iters = iters};
    hyp->mutex_create(ctx, "pp", &p.m);
    hyp->cv_create(ctx, "pp", &p.cv);
    husk_handle t;
    if (hyp->thread_create(ctx, "partner", hyp_partner, &p, HUSK_THREAD_JOINABLE, &t) != HUSK_OK) return -1;
    uint64_t t0 = bench_now_ns();
    hyp->mutex_lock(ctx, p.m);
    for (uint64_t i = 0; i < iters; i++) {
        while (p.turn != 0) hyp->cv_wait(ctx, p.cv, p.m);
        p.turn = 1;
        hyp->cv_signal(ctx, p.cv);
    }
    while (p.turn != 0) hyp->cv_wait(ctx, p.cv, p.m);
    hyp->mutex_unlock(ctx, p.m);
    uint64_t t1 = bench_now_ns();
    hyp->thread_join(ctx, t);
    hyp->cv_destroy(ctx, p.cv);
    hyp->mutex_destroy(ctx, p.m);
    return (double)(t1 - t0) / (double)iters;
}

struct pt_pingpong {
    pthread_mutex_t m;
    pthread_cond_t cv;
    volatile int turn;
    uint64_t iters;
};

static void *pt_partner(void *arg) {
    struct pt_pingpong *p = arg;
    pthread_mutex_lock(&p->m);
    for (uint64_t i = 0; i < p->iters; i++) {
        while (p->turn != 1) pthread_cond_wait(&p->cv, &p->m);
        p->turn = 0;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->m);
    return NULL;
}

double hypbench_condvar_pthread(uint64_t iters) {
    struct pt_pingpong p = {.turn = 0, .iters = iters};
    pthread_mutex_init(&p.m, NULL);
    pthread_cond_init(&p.cv, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, pt_partner, &p) != 0) return -1;
    uint64_t t0 = bench_now_ns();
    pthread_mutex_lock(&p.m);
    for (uint64_t i = 0; i < iters; i++) {
        while (p.turn != 0) pthread_cond_wait(&p.cv, &p.m);
        p.turn = 1;
        pthread_cond_signal(&p.cv);
    }
    while (p.turn != 0) pthread_cond_wait(&p.cv, &p.m);
    pthread_mutex_unlock(&p.m);
    uint64_t t1 = bench_now_ns();
    pthread_join(t, NULL);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.m);
    return (double)(t1 - t0) / (double)iters;
}
