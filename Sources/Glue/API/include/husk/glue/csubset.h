/*
 * husk/glue/csubset.h — the "C subset": the few C library functions that
 * vendored code (lwIP today; ThirdPartyC/README.md) calls, provided by the
 * glue under glue_ names so that a component's undefined symbols stay
 * glue_* plus memcpy/memset/memmove/memcmp (husk/glue/string.h).
 *
 * Vendored code keeps calling them by their standard names: the headers in
 * Sources/Glue/API/csubset (string.h, stdlib.h, errno.h), on the include
 * path of vendored components only, map each standard name to its glue_
 * function. Why glue_ names and not the standard ones: the husk executable
 * also links the host's C library, and a second strlen exported by the
 * executable would interpose on every library in the process; and a port
 * to another host gets these implementations with the glue (portable C,
 * no host call) instead of having to supply them.
 *
 * Semantics are those of C11 (7.24, 7.22.1) in the "C" locale; the
 * differences are stated per function. All [blocks: no] [irq: yes].
 */
#ifndef HUSK_GLUE_CSUBSET_H
#define HUSK_GLUE_CSUBSET_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* <string.h> */
size_t glue_strlen(const char *s);
/* POSIX: the length of s, at most max (s need not be terminated within max). */
size_t glue_strnlen(const char *s, size_t max);
/* Compare as unsigned char, as C requires; the result is -1, 0 or 1. */
int glue_strcmp(const char *a, const char *b);
int glue_strncmp(const char *a, const char *b, size_t n);
/* The first c (converted to char) in s; c == 0 finds the terminator. */
char *glue_strchr(const char *s, int c);

/* <stdlib.h>: base 0 or 2..36, leading white space, sign, 0x/0 prefixes
 * for base 16/0; out of range saturates to LONG_MIN/LONG_MAX/ULONG_MAX and
 * sets errno to ERANGE (glue_errno()); no digits: 0 and *end = s. end may
 * be NULL. An unsupported base returns 0 with errno EINVAL. */
long glue_strtol(const char *s, char **end, int base);
unsigned long glue_strtoul(const char *s, char **end, int base);
/* (int)strtol(s, NULL, 10), without touching errno: C leaves atoi's
 * behaviour undefined out of range, here it saturates to INT_MIN/INT_MAX. */
int glue_atoi(const char *s);

/* More of <string.h>, C11 semantics. */
char *glue_strcpy(char *dst, const char *src);
char *glue_strncpy(char *dst, const char *src, size_t n);
char *glue_strcat(char *dst, const char *src);

/* The malloc family of <stdlib.h>, over glue_kmem_alloc with KM_NOSLEEP
 * (NULL when memory is short, as C requires) and a 16-byte header that
 * keeps the size kmem_free needs; accounted to the calling component like
 * kmem. Aligned to 16. malloc(0) returns a unique pointer; calloc checks
 * its multiplication (NULL on overflow); realloc(NULL, n) is malloc(n),
 * realloc(p, 0) frees p and returns NULL; free(NULL) does nothing. Memory
 * from them is only ever given back with glue_free, never kmem_free.
 * [blocks: no] [irq: no] */
void *glue_malloc(size_t size);
void *glue_calloc(size_t count, size_t size);
void *glue_realloc(void *ptr, size_t size);
void glue_free(void *ptr);

/* qsort (C11 7.22.5.2): an in-place heapsort: not stable (C does not ask
 * for it), O(n log n) compares, no recursion, no allocation. */
void glue_qsort(void *base, size_t count, size_t size, int (*compare)(const void *, const void *));

/* getenv: a component has no environment; always NULL. */
char *glue_getenv(const char *name);
/* abort: panics the component ("abort() called"). [blocks: no] */
void glue_abort(void) GLUE_NORETURN;

/* <time.h>: seconds since the epoch from the hypercall wall clock
 * (glue_walltime_ns), also stored through t unless it is NULL. */
long glue_time(long *t);

/* <errno.h>: the calling thread's errno, an int that starts at 0 in every
 * thread. Its values are Linux's errno numbers, which the HUSK_E* codes
 * equal. Implemented with C11 _Thread_local in the glue: a port needs
 * thread-local storage from its C compiler and runtime. */
int *glue_errno(void);

#ifdef __cplusplus
}
#endif

#endif
