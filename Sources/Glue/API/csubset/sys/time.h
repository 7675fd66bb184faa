/*
 * <sys/time.h> of the C subset (husk/glue/csubset.h), for vendored code
 * only: struct timeval is in <sys/types.h>, as glibc has it; no calls.
 */
#ifndef HUSK_CSUBSET_SYS_TIME_H
#define HUSK_CSUBSET_SYS_TIME_H

#include <sys/types.h>

#endif
