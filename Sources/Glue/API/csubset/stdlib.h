/*
 * <stdlib.h> of the C subset (husk/glue/csubset.h), for vendored code only.
 * The malloc family is glue_malloc & co. over kmem (accounted to the
 * calling component); getenv finds nothing (a component has no
 * environment); abort panics the component.
 */
#ifndef HUSK_CSUBSET_STDLIB_H
#define HUSK_CSUBSET_STDLIB_H

#include <stddef.h>
#include <husk/glue/csubset.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

#define strtol  glue_strtol
#define strtoul glue_strtoul
#define atoi    glue_atoi
#define malloc  glue_malloc
#define calloc  glue_calloc
#define realloc glue_realloc
#define free    glue_free
#define qsort   glue_qsort
#define getenv  glue_getenv
#define abort   glue_abort

#endif
