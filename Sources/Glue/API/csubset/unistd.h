/* <unistd.h> of the C subset (husk/glue/csubset.h), for vendored code only: the types; no calls. */
#ifndef HUSK_CSUBSET_UNISTD_H
#define HUSK_CSUBSET_UNISTD_H
#include <sys/types.h>
#endif
