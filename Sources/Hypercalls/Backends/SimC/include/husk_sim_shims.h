/* husk_sim_shims.h — what the sim backend (Sources/Hypercalls/Backends/Sim)
 * needs from C and Swift does not offer on raw memory: 16-bit acquire/release
 * accesses for virtqueue indices shared with a driver thread, and a full
 * fence. Host-only, static inline. */
#ifndef HUSK_SIM_SHIMS_H
#define HUSK_SIM_SHIMS_H

#include <stdint.h>

/* Ring indices (avail->idx, used->idx) are 16-bit and published by one side
 * for the other: the writer stores with release after filling the entries,
 * the reader loads with acquire before reading them. */
static inline uint16_t husk_sim_load_acquire_u16(const void *p) {
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}
static inline void husk_sim_store_release_u16(void *p, uint16_t v) {
    __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}
static inline void husk_sim_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

#endif
