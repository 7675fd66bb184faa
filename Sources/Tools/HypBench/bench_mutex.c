#define _GNU_SOURCE
#include "hypbench.h"
#include "bench_clock.h"
#include <pthread.h>

double hypbench_mutex_hyp(const struct husk_hyp *hyp, husk_ctx *ctx, uint64_t iters) {
    husk_handle m;
    if (hyp->mutex_create(ctx, "bench", &m) != HUSK_OK) return -1;
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        hyp->mutex_lock(ctx, m);
        hyp->mutex_unlock(ctx, m);
    }
    uint64_t t1 = bench_now_ns();
    hyp->mutex_destroy(ctx, m);
    return (double)(t1 - t0) / (double)iters;
}

double hypbench_mutex_pthread(uint64_t iters) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t m;
    pthread_mutex_init(&m, &a);
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    uint64_t t1 = bench_now_ns();
    pthread_mutex_destroy(&m);
    pthread_mutexattr_destroy(&a);
    return (double)(t1 - t0) / (double)iters;
}
