/*
 * <string.h> of the C subset (husk/glue/csubset.h), for vendored code only:
 * this folder is on the include path of components built from ThirdPartyC,
 * never of the host. The memory functions are the four every component may
 * use (husk/glue/string.h); the rest map to the glue's implementations.
 */
#ifndef HUSK_CSUBSET_STRING_H
#define HUSK_CSUBSET_STRING_H

#include <husk/glue/string.h>
#include <husk/glue/csubset.h>

#define strlen  glue_strlen
#define strnlen glue_strnlen
#define strcmp  glue_strcmp
#define strncmp glue_strncmp
#define strchr  glue_strchr
#define strcpy  glue_strcpy
#define strncpy glue_strncpy
#define strcat  glue_strcat

#endif
