/*
 * <time.h> of the C subset (husk/glue/csubset.h), for vendored code only:
 * time() is the hypercall wall clock (glue_walltime_ns) in seconds.
 */
#ifndef HUSK_CSUBSET_TIME_H
#define HUSK_CSUBSET_TIME_H

#include <sys/types.h>

struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

#define time(t) glue_time(t)

#endif
