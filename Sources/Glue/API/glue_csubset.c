/*
 * The C subset (husk/glue/csubset.h): string functions, number parsing,
 * errno, the malloc family, qsort and time for vendored code, in portable C
 * over the glue (kmem, the wall clock).
 *
 * Why C and not Swift: these are leaf functions called on hot paths of
 * vendored code (lwIP's pbuf and name lookups) and errno must be
 * thread-local storage the C side can reach; they need nothing from the
 * hypercall table. This file includes no C library header, so it is the
 * same code on every host.
 */
#include <limits.h>
#include "husk/glue/csubset.h"
#include "husk/glue/kmem.h"
#include "husk/glue/log.h"
#include "husk/glue/string.h"
#include "husk/glue/time.h"

#define GLUE_ERANGE 34 /* Linux's (and HUSK_ERANGE's) value */
#define GLUE_EINVAL 22

static _Thread_local int glue_errno_value;

int *glue_errno(void) { return &glue_errno_value; }

size_t glue_strlen(const char *s) {
    const char *p = s;
    while (*p != '\0') p++;
    return (size_t)(p - s);
}

size_t glue_strnlen(const char *s, size_t max) {
    size_t n = 0;
    while (n < max && s[n] != '\0') n++;
    return n;
}

int glue_strncmp(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x != y) return x < y ? -1 : 1;
        if (x == '\0') return 0;
    }
    return 0;
}

int glue_strcmp(const char *a, const char *b) { return glue_strncmp(a, b, SIZE_MAX); }

char *glue_strchr(const char *s, int c) {
    char ch = (char)c;
    for (;; s++) {
        if (*s == ch) return (char *)s;
        if (*s == '\0') return NULL;
    }
}

static int glue_isspace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int glue_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'z') return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    return 99;
}

/* The common part of strtol and strtoul: the magnitude (saturated at
 * limit, with *overflow set), the sign, and where parsing ended. */
static unsigned long glue_parse(const char *s, char **end, int base, unsigned long limit, int *negative,
                                int *overflow) {
    const char *p = s;
    *negative = 0;
    *overflow = 0;
    if (base != 0 && (base < 2 || base > 36)) {
        *glue_errno() = GLUE_EINVAL;
        if (end != NULL) *end = (char *)s;
        return 0;
    }
    while (glue_isspace(*p)) p++;
    if (*p == '+' || *p == '-') *negative = *p++ == '-';
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && glue_digit(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }
    const char *digits = p;
    unsigned long v = 0;
    for (int d; (d = glue_digit(*p)) < base; p++) {
        if (*overflow) continue;
        if (v > (limit - (unsigned long)d) / (unsigned long)base) {
            *overflow = 1;
            v = limit;
        } else {
            v = v * (unsigned long)base + (unsigned long)d;
        }
    }
    if (end != NULL) *end = (char *)(p == digits ? s : p);
    return p == digits ? 0 : v;
}

long glue_strtol(const char *s, char **end, int base) {
    int negative, overflow;
    /* The magnitude of LONG_MIN is one more than LONG_MAX. */
    unsigned long v = glue_parse(s, end, base, (unsigned long)LONG_MAX + 1, &negative, &overflow);
    if (negative) {
        if (overflow) *glue_errno() = GLUE_ERANGE;
        return v == (unsigned long)LONG_MAX + 1 ? LONG_MIN : -(long)v;
    }
    if (overflow || v > (unsigned long)LONG_MAX) {
        *glue_errno() = GLUE_ERANGE;
        return LONG_MAX;
    }
    return (long)v;
}

unsigned long glue_strtoul(const char *s, char **end, int base) {
    int negative, overflow;
    unsigned long v = glue_parse(s, end, base, ULONG_MAX, &negative, &overflow);
    if (overflow) {
        *glue_errno() = GLUE_ERANGE;
        return ULONG_MAX;
    }
    /* C: a minus sign negates the value in the unsigned type. */
    return negative ? 0ul - v : v;
}

int glue_atoi(const char *s) {
    int saved = *glue_errno();
    long v = glue_strtol(s, NULL, 10);
    *glue_errno() = saved;
    return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

char *glue_strcpy(char *dst, const char *src) {
    char *d = dst;
    while ((*d++ = *src++) != '\0') {}
    return dst;
}

char *glue_strncpy(char *dst, const char *src, size_t n) {
    size_t i = 0;
    for (; i < n && src[i] != '\0'; i++) dst[i] = src[i];
    for (; i < n; i++) dst[i] = '\0';
    return dst;
}

char *glue_strcat(char *dst, const char *src) {
    glue_strcpy(dst + glue_strlen(dst), src);
    return dst;
}

/* The malloc family: a 16-byte header in front of each block keeps the
 * size handed to kmem (kmem_free needs it) and keeps the block aligned to 16. */
#define GLUE_MALLOC_HEADER 16u

void *glue_malloc(size_t size) {
    if (size > SIZE_MAX - GLUE_MALLOC_HEADER) return NULL;
    size_t total = size + GLUE_MALLOC_HEADER;
    unsigned char *p = glue_kmem_alloc(total, KM_NOSLEEP);
    if (p == NULL) return NULL;
    *(size_t *)p = total;
    return p + GLUE_MALLOC_HEADER;
}

void glue_free(void *ptr) {
    if (ptr == NULL) return;
    unsigned char *p = (unsigned char *)ptr - GLUE_MALLOC_HEADER;
    glue_kmem_free(p, *(size_t *)p);
}

void *glue_calloc(size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) return NULL;
    void *p = glue_malloc(count * size);
    if (p != NULL) memset(p, 0, count * size);
    return p;
}

void *glue_realloc(void *ptr, size_t size) {
    if (ptr == NULL) return glue_malloc(size);
    if (size == 0) {
        glue_free(ptr);
        return NULL;
    }
    size_t old = *(size_t *)((unsigned char *)ptr - GLUE_MALLOC_HEADER) - GLUE_MALLOC_HEADER;
    if (size <= old && size > old / 2) return ptr; /* shrinking a little: keep the block */
    void *n = glue_malloc(size);
    if (n == NULL) return NULL; /* ptr stays valid, as C requires */
    memcpy(n, ptr, old < size ? old : size);
    glue_free(ptr);
    return n;
}

/* qsort: heapsort over elements of any size, swapping byte by byte. */
static void glue_qsort_swap(unsigned char *a, unsigned char *b, size_t size) {
    for (size_t i = 0; i < size; i++) {
        unsigned char t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

static void glue_qsort_sift(unsigned char *base, size_t root, size_t count, size_t size,
                            int (*compare)(const void *, const void *)) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= count) return;
        if (child + 1 < count && compare(base + child * size, base + (child + 1) * size) < 0) child++;
        if (compare(base + root * size, base + child * size) >= 0) return;
        glue_qsort_swap(base + root * size, base + child * size, size);
        root = child;
    }
}

void glue_qsort(void *base, size_t count, size_t size, int (*compare)(const void *, const void *)) {
    unsigned char *b = base;
    if (count < 2 || size == 0) return;
    for (size_t i = count / 2; i-- > 0;) glue_qsort_sift(b, i, count, size, compare);
    for (size_t end = count - 1; end > 0; end--) {
        glue_qsort_swap(b, b + end * size, size);
        glue_qsort_sift(b, 0, end, size, compare);
    }
}

char *glue_getenv(const char *name) {
    (void)name;
    return NULL;
}

void glue_abort(void) { glue_panic("abort() called"); }

long glue_time(long *t) {
    long now = (long)(glue_walltime_ns() / 1000000000ull);
    if (t != NULL) *t = now;
    return now;
}
