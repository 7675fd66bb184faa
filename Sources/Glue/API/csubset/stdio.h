/*
 * <stdio.h> of the C subset (husk/glue/csubset.h), for vendored code only:
 * formatting into memory (the glue's formatter, husk/glue/log.h; docs/glue.md
 * lists its conversions). There are no files and no streams: FILE is an
 * incomplete type that only lets declarations compile.
 */
#ifndef HUSK_CSUBSET_STDIO_H
#define HUSK_CSUBSET_STDIO_H

#include <stdarg.h>
#include <husk/glue/csubset.h>
#include <husk/glue/log.h>

typedef struct glue_file FILE;
#define EOF      (-1)
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

#define snprintf  glue_snprintf
#define vsnprintf glue_vsnprintf

#endif
