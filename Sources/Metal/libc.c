/*
 * libc.c — the four memory functions a freestanding compiler may emit
 * calls to (struct copies, zeroing), for the kernel and the components.
 */
#include "metal.h"

void *memset(void *d, int c, size_t n) {
    uint8_t *p = d;
    while (n--) *p++ = (uint8_t)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n) {
    uint8_t *p = d;
    const uint8_t *q = s;
    while (n--) *p++ = *q++;
    return d;
}

void *memmove(void *d, const void *s, size_t n) {
    uint8_t *p = d;
    const uint8_t *q = s;
    if (p < q)
        while (n--) *p++ = *q++;
    else
        while (n--) p[n] = q[n];
    return d;
}

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t m_strlen(const char *s) {
    size_t n = 0;
    while (s && s[n]) n++;
    return n;
}

/* ---- What the port library needs (docs/porting.md, "The port provides").
 * Nothing in the kernel itself calls these. */

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* Embedded Swift's allocator. Records of their own kind in mem.c, so a
 * free of anything else (a hypercall allocation, a DMA buffer) is refused. */
int posix_memalign(void **out, size_t align, size_t size) {
    if (align < sizeof(void *) || (align & (align - 1))) return 22; /* EINVAL */
    void *p = mem_get(size ? size : 1, align, 0, MEM_LIBC);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void free(void *p) {
    if (p && !mem_put(p, 0, MEM_LIBC)) metal_panic("metal", "free() of a pointer posix_memalign did not return");
}

/* The seed of Swift's hashing: the random_bytes hypercall's source. */
void arc4random_buf(void *buf, size_t n) { hyp_random_fill(buf, n); }

/* Swift's hash table sizing. Integral values (and NaN, infinities) as
 * they are; otherwise the next integer up, keeping the sign of zero. */
double ceil(double x) {
    if (!(x > -4503599627370496.0 && x < 4503599627370496.0)) return x; /* |x| >= 2^52 or NaN */
    double t = (double)(int64_t)x;                                      /* toward zero */
    if (t < x) t += 1.0;
    if (t == 0.0 && x < 0.0) t = -0.0;
    return t;
}
