/* husk_sys.h — C shims the hypercall host (Sources/Hypercalls/Host) needs:
 * futexes, atomics on raw memory, the per-thread record pointer. Host-only:
 * components never see this. */
#ifndef HUSK_SYS_H
#define HUSK_SYS_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

/* ---- Atomics on memory the host owns (handle slabs, thread records).
 * Sequentially consistent unless the name says otherwise. Inline so that
 * the Swift fast paths compile to single instructions. */
static inline uint32_t husk_atomic_load_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void husk_atomic_store_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline uint32_t husk_atomic_exchange_u32(uint32_t *p, uint32_t v) {
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}
static inline uint32_t husk_atomic_exchange_release_u32(uint32_t *p, uint32_t v) {
    return __atomic_exchange_n(p, v, __ATOMIC_RELEASE);
}
/* Returns 1 and stores desired if *p == expected (acquire on success). */
static inline int husk_atomic_cas_acquire_u32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}
static inline int husk_atomic_cas_u32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline uint32_t husk_atomic_fetch_add_u32(uint32_t *p, uint32_t v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
static inline uint32_t husk_atomic_fetch_sub_u32(uint32_t *p, uint32_t v) {
    return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST);
}
static inline void *husk_atomic_load_ptr(void *const *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void husk_atomic_store_ptr(void **p, void *v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline void husk_cpu_relax(void) { __builtin_ia32_pause(); }

/* ---- Futexes (private). Return 0 or a negative errno (-EAGAIN when *addr
 * != expected, -ETIMEDOUT, -EINTR). deadline: absolute CLOCK_MONOTONIC, or
 * NULL to wait forever. */
int husk_futex_wait(uint32_t *addr, uint32_t expected, const struct timespec *deadline);
int husk_futex_wake(uint32_t *addr, int32_t count);

/* ---- Per-thread record pointer: the host's record of the calling thread
 * (Swift cannot declare thread-local variables). */
extern _Thread_local void *husk_tls_record;
static inline void *husk_thread_record_get(void) { return husk_tls_record; }
static inline void husk_thread_record_set(void *r) { husk_tls_record = r; }

#endif
