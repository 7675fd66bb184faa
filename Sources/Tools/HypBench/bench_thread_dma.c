#define _GNU_SOURCE
#include "hypbench.h"
#include "bench_clock.h"
#include <pthread.h>
#include <sys/mman.h>

static void noop(void *arg) { (void)arg; }
static void *noop_pt(void *arg) { return arg; }

double hypbench_thread_hyp(const struct husk_hyp *hyp, husk_ctx *ctx, uint64_t iters) {
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        husk_handle t;
        if (hyp->thread_create(ctx, "bench", noop, NULL, HUSK_THREAD_JOINABLE, &t) != HUSK_OK) return -1;
        hyp->thread_join(ctx, t);
    }
    return (double)(bench_now_ns() - t0) / (double)iters;
}

double hypbench_thread_pthread(uint64_t iters) {
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, noop_pt, NULL) != 0) return -1;
        pthread_join(t, NULL);
    }
    return (double)(bench_now_ns() - t0) / (double)iters;
}

double hypbench_dma_hyp(const struct husk_hyp *hyp, husk_ctx *ctx, uint64_t iters) {
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        struct husk_dma_buf b;
        if (hyp->dma_alloc(ctx, 4096, 0, 0, &b) != HUSK_OK) return -1;
        hyp->dma_free(ctx, b.handle);
    }
    return (double)(bench_now_ns() - t0) / (double)iters;
}

double hypbench_mmap_baseline(uint64_t iters) {
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return -1;
        munmap(p, 4096);
    }
    return (double)(bench_now_ns() - t0) / (double)iters;
}
