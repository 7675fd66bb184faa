/*
 * husk/glue/time.h — clocks and sleeping. Times are nanoseconds in a
 * uint64_t (no struct timespec: components have no libc).
 */
#ifndef HUSK_GLUE_TIME_H
#define HUSK_GLUE_TIME_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GLUE_NS_PER_US 1000ull
#define GLUE_NS_PER_MS 1000000ull
#define GLUE_NS_PER_S  1000000000ull

/* [blocks: no] [irq: yes] Monotonic time since an arbitrary origin (what
 * NetBSD's getnanouptime gives, as one number). */
uint64_t glue_uptime_ns(void);
/* [blocks: no] [irq: yes] Wall-clock time since 1970-01-01 UTC. */
uint64_t glue_walltime_ns(void);
/* [blocks: yes] [irq: no] Sleep at least ns nanoseconds. Returns 0, or
 * HUSK_EINTR when the calling thread is cancelled (see hypercall.h). */
int glue_sleep_ns(uint64_t ns);
/* [blocks: no] [irq: yes] Busy-wait at least ns nanoseconds, for the short
 * delays a device asks for between register accesses (NetBSD's DELAY). */
void glue_delay_ns(uint64_t ns);

/* NetBSD's DELAY(microseconds). */
#define DELAY(us) glue_delay_ns((uint64_t)(us)*GLUE_NS_PER_US)

#ifdef __cplusplus
}
#endif

#endif
