/*
 * <stdlib.h> of the C subset (husk/glue/csubset.h), for vendored code only.
 * No malloc: vendored code gets memory from its port layer (glue kmem).
 */
#ifndef HUSK_CSUBSET_STDLIB_H
#define HUSK_CSUBSET_STDLIB_H

#include <husk/glue/csubset.h>

#define strtol  glue_strtol
#define strtoul glue_strtoul
#define atoi    glue_atoi

#endif
