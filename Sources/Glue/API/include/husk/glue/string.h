/*
 * husk/glue/string.h — the four memory functions a component may call
 * besides the glue's (the compiler also emits calls to them for struct
 * copies). Components have no libc headers, so the glue declares them; the
 * host's C library provides them.
 * All [blocks: no] [irq: yes].
 */
#ifndef HUSK_GLUE_STRING_H
#define HUSK_GLUE_STRING_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

void *memcpy(void *__restrict dst, const void *__restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#ifdef __cplusplus
}
#endif

#endif
