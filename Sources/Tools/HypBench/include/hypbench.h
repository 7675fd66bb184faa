/* hypbench.h — the loops behind `husk bench hyp`: the same work through the
 * hypercall table and through pthreads/libc directly. Each returns
 * nanoseconds per operation for `iters` operations. */
#ifndef HYPBENCH_H
#define HYPBENCH_H
#include <husk/hypercall.h>

/* Uncontended lock+unlock pairs. Baseline: PTHREAD_MUTEX_ERRORCHECK, since
 * the ABI checks ownership too. */
double hypbench_mutex_hyp(const struct husk_hyp *hyp, husk_ctx *ctx, uint64_t iters);
double hypbench_mutex_pthread(uint64_t iters);
/* Condition-variable ping-pong between two threads: ns per round trip. */
double hypbench_condvar_hyp(const struct husk_hyp *hyp, husk_ctx *ctx, uint64_t iters);
double hypbench_condvar_pthread(uint64_t iters);
/* Thread create + join. */
double hypbench_thread_hyp(const struct husk_hyp *hyp, husk_ctx *ctx, uint64_t iters);
double hypbench_thread_pthread(uint64_t iters);
/* 4 KiB DMA buffer alloc + free through the table; baseline: mmap + munmap
 * of a page, the cheapest way to get fresh page-aligned memory. */
double hypbench_dma_hyp(const struct husk_hyp *hyp, husk_ctx *ctx, uint64_t iters);
double hypbench_mmap_baseline(uint64_t iters);
#endif
