/*
 * husk/glue/kthread.h — kernel threads of the calling component
 * (NetBSD kthread(9), simplified).
 */
#ifndef HUSK_GLUE_KTHREAD_H
#define HUSK_GLUE_KTHREAD_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef husk_handle kthread_t;

/* [blocks: no] [irq: no] Start fn(arg) on a new thread of the calling
 * component. With out != NULL the thread is joinable and *out its handle
 * (join it exactly once); with out == NULL it is detached. Returns 0,
 * HUSK_EINVAL (fn NULL) or HUSK_EAGAIN. */
int glue_kthread_create(const char *name, void (*fn)(void *arg), void *arg, kthread_t *out);
/* [blocks: yes] [irq: no] Wait until a joinable thread ended. 0,
 * HUSK_EBADF (unknown or already joined), HUSK_EDEADLK (itself). */
int glue_kthread_join(kthread_t t);
/* [blocks: -] [irq: no] End the calling glue-created thread (returning from
 * fn does the same). Panics on a host thread. */
void glue_kthread_exit(void) GLUE_NORETURN;

static inline int kthread_create(const char *name, void (*fn)(void *), void *arg, kthread_t *out) {
    return glue_kthread_create(name, fn, arg, out);
}
static inline int kthread_join(kthread_t t) { return glue_kthread_join(t); }
static inline GLUE_NORETURN void kthread_exit(void) { glue_kthread_exit(); }

#ifdef __cplusplus
}
#endif

#endif
