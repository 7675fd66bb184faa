/* husk_sim_shims.h — what the sim backend (Sources/SimBackend) needs from C
 * and Glibc's Swift overlay does not expose: eventfd, and 16-bit
 * acquire/release accesses for virtqueue indices shared with a driver thread.
 * Host-only, header-only (static inline): nothing to link. */
#ifndef HUSK_SIM_SHIMS_H
#define HUSK_SIM_SHIMS_H

#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

/* A non-blocking, close-on-exec eventfd with counter 0, or -1 (errno set).
 * Non-blocking so that a device raising an interrupt never blocks. */
static inline int husk_sim_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

/* Ring indices (avail->idx, used->idx) are 16-bit and published by one side
 * for the other: the writer stores with release after filling the entries,
 * the reader loads with acquire before reading them. */
static inline uint16_t husk_sim_load_acquire_u16(const void *p) {
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}
static inline void husk_sim_store_release_u16(void *p, uint16_t v) {
    __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}
/* Name the calling thread (first 15 bytes), for debuggers and top. */
static inline void husk_sim_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

static inline void husk_sim_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

#endif
