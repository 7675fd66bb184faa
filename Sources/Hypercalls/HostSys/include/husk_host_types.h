/* husk_host_types.h — fixed-layout records the Swift host keeps in raw memory
 * so that its fast paths (mutex, condvar, cancellation) touch no reference
 * counts: per-thread records and synchronisation slots. */
#ifndef HUSK_HOST_TYPES_H
#define HUSK_HOST_TYPES_H

#include <stdint.h>
#include <pthread.h>

/* One per thread that ever called into the host. */
struct husk_thread_rec {
    uint32_t id;         /* nonzero serial < 2^31: the owner id in lock words */
    uint32_t cancel;     /* cancellation flag (atomic) */
    uint32_t *wait_word; /* futex word this thread sleeps on, or NULL (atomic) */
    uint32_t sleep_word; /* private futex word for sleep_ns/sleep_until */
    uint32_t flags;      /* HUSK_REC_* */
    void *tls;           /* the component's per-thread slot */
    void *ctx;           /* husk_ctx of the component the thread works for */
    uint64_t handle;     /* this thread's handle in the thread registry */
    pthread_t pthread;
    void (*fn)(void *); /* start routine of a component thread */
    void *arg;
    char name[16];
};

#define HUSK_REC_COMPONENT_THREAD 1u /* created by thread_create */
#define HUSK_REC_JOINABLE         2u

/* A mutex, rwlock or condition variable. 64 bytes: one cache line. */
struct husk_sync_slot {
    uint32_t word;      /* mutex: owner id | contended bit; rw: state; cv: sequence */
    uint32_t gen;       /* generation; handles carry it, bumped on destroy */
    uint32_t kind;      /* 0 free, 1 mutex, 2 rwlock, 3 condvar */
    uint32_t waiters;   /* cv: threads inside wait; rw: writers waiting */
    uint32_t owner;     /* rw: writer's owner id */
    uint32_t next_free; /* free list link (index + 1) */
    void *ctx;          /* creating component, for panics */
    char name[32];
};

#endif
