/*
 * <sys/types.h> of the C subset (husk/glue/csubset.h), for vendored code
 * only: the POSIX types with the sizes they have on 64-bit Linux.
 */
#ifndef HUSK_CSUBSET_SYS_TYPES_H
#define HUSK_CSUBSET_SYS_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <husk/glue/csubset.h>

typedef long ssize_t;
typedef long off_t;
typedef long time_t;
typedef long suseconds_t;
typedef unsigned int mode_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;
typedef int pid_t;
typedef unsigned long dev_t;
typedef unsigned long ino_t;
typedef unsigned long nlink_t;
typedef long blkcnt_t;
typedef long blksize_t;

/* As glibc's <sys/types.h> (through <sys/select.h>) does. */
struct timeval {
    time_t tv_sec;
    suseconds_t tv_usec;
};

#endif
