/*
 * <fcntl.h> of the C subset (husk/glue/csubset.h), for vendored code only:
 * the open flags (Linux's values) that code passes around as numbers; no
 * calls, there are no host files.
 */
#ifndef HUSK_CSUBSET_FCNTL_H
#define HUSK_CSUBSET_FCNTL_H

#include <sys/types.h>

#define O_RDONLY 00
#define O_WRONLY 01
#define O_RDWR   02
#define O_CREAT  0100
#define O_EXCL   0200
#define O_TRUNC  01000
#define O_APPEND 02000
#define O_DIRECT 040000

#endif
