/*
 * husk/glue/callout.h — timed calls (NetBSD callout(9)).
 *
 * Each component that uses callouts gets one callout thread (created with
 * hyp->thread_create, so it belongs to the component) that runs handlers
 * in deadline order, one at a time, in thread context: a handler may take
 * mutexes and sleep briefly, but a slow handler delays the others.
 * A handler never runs concurrently with itself.
 *
 * Every call below except callout_init and callout_halt/destroy is
 * [blocks: no] [irq: yes].
 */
#ifndef HUSK_GLUE_CALLOUT_H
#define HUSK_GLUE_CALLOUT_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct callout {
    void *c_glue; /* glue-private; NULL before callout_init */
} callout_t;

/* [blocks: no] [irq: no] Prepare c to call fn(arg); starts the component's
 * callout thread on first use. 0, or HUSK_EAGAIN (no thread / lock could be
 * created). c stays idle until scheduled. */
int glue_callout_init(callout_t *c, void (*fn)(void *arg), void *arg);
/* Fire once, delay_ns from now (0: as soon as possible). Replaces any
 * earlier schedule (one-shot or periodic) of c. */
void glue_callout_schedule(callout_t *c, uint64_t delay_ns);
/* Fire every period_ns (> 0, else panic), first at now + period_ns. When the
 * handler falls behind, missed periods are skipped, not run in a burst. */
void glue_callout_schedule_periodic(callout_t *c, uint64_t period_ns);
/* Cancel. Returns true if c was pending (scheduled, not yet started). A
 * handler already running finishes, and a periodic one is not re-armed. */
bool glue_callout_stop(callout_t *c);
/* [blocks: yes] [irq: no] As callout_stop, and also wait until a running
 * handler of c has returned. Called from c's own handler it does not wait
 * (that would deadlock). */
bool glue_callout_halt(callout_t *c);
/* true if c is scheduled and has not started yet. */
bool glue_callout_pending(callout_t *c);
/* [blocks: yes] [irq: no] Halt and release c. From c's own handler the
 * release happens when the handler returns. */
void glue_callout_destroy(callout_t *c);

static inline int callout_init(callout_t *c, void (*fn)(void *), void *arg) { return glue_callout_init(c, fn, arg); }
static inline void callout_schedule(callout_t *c, uint64_t delay_ns) { glue_callout_schedule(c, delay_ns); }
static inline void callout_schedule_periodic(callout_t *c, uint64_t period_ns) {
    glue_callout_schedule_periodic(c, period_ns);
}
static inline bool callout_stop(callout_t *c) { return glue_callout_stop(c); }
static inline bool callout_halt(callout_t *c) { return glue_callout_halt(c); }
static inline bool callout_pending(callout_t *c) { return glue_callout_pending(c); }
static inline void callout_destroy(callout_t *c) { glue_callout_destroy(c); }

#ifdef __cplusplus
}
#endif

#endif
