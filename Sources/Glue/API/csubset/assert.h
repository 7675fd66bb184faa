/*
 * <assert.h> of the C subset (husk/glue/csubset.h), for vendored code only:
 * a failed assertion panics the component (glue_panicf); NDEBUG removes it.
 */
#ifndef HUSK_CSUBSET_ASSERT_H
#define HUSK_CSUBSET_ASSERT_H

#include <husk/glue/log.h>

#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : glue_panicf("assertion \"%s\" failed at %s:%d", #e, __FILE__, __LINE__))
#endif

#endif
