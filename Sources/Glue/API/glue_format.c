/*
 * glue_logf, glue_panicf, glue_snprintf: printf-style formatting without
 * libc, for components.
 *
 * Why C and not Swift: the logic of the glue is Swift, but Swift cannot read
 * the arguments of a C va_list, so the one variadic piece is here. It
 * formats into a buffer and hands the finished line to glue_log/glue_panic
 * (Swift), which pass it to the hypercall table.
 */
#include <stdarg.h>
#include "husk/glue/log.h"

struct out {
    char *buf;
    size_t size; /* capacity including the NUL */
    size_t len;  /* characters produced so far (may exceed size) */
};

static void put(struct out *o, char c) {
    if (o->len + 1 < o->size) o->buf[o->len] = c;
    o->len++;
}

/* Render v in base (8, 10, 16), with the sign, width and padding asked. */
static void put_number(struct out *o, unsigned long long v, int negative, unsigned base, int upper, int width,
                       int zero_pad, int left) {
    char digits[24];
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;
    do {
        digits[n++] = set[v % base];
        v /= base;
    } while (v != 0);
    int total = n + (negative ? 1 : 0);
    if (!left && !zero_pad)
        for (; width > total; width--) put(o, ' ');
    if (negative) put(o, '-');
    if (!left && zero_pad)
        for (; width > total; width--) put(o, '0');
    while (n > 0) put(o, digits[--n]);
    if (left)
        for (; width > total; width--) put(o, ' ');
}

static void put_string(struct out *o, const char *s, int width, int left) {
    if (s == NULL) s = "(null)";
    int n = 0;
    while (s[n] != '\0') n++;
    if (!left)
        for (int w = width; w > n; w--) put(o, ' ');
    for (int i = 0; i < n; i++) put(o, s[i]);
    if (left)
        for (int w = width; w > n; w--) put(o, ' ');
}

int glue_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
    struct out o = {buf, size, 0};
    for (const char *p = fmt; *p != '\0'; p++) {
        if (*p != '%') {
            put(&o, *p);
            continue;
        }
        const char *start = p++;
        int zero_pad = 0, left = 0, width = 0, lng = 0, size_t_arg = 0;
        for (;; p++) {
            if (*p == '0')
                zero_pad = 1;
            else if (*p == '-')
                left = 1;
            else
                break;
        }
        if (*p == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                left = 1;
                width = -width;
            }
            p++;
        }
        while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
        /* Length modifiers: h and hh promote to int anyway. */
        for (;; p++) {
            if (*p == 'l')
                lng++;
            else if (*p == 'z' || *p == 't')
                size_t_arg = 1;
            else if (*p == 'j')
                lng = 2;
            else if (*p == 'h')
                continue;
            else
                break;
        }
        unsigned long long u;
        long long s;
        switch (*p) {
        case 'd':
        case 'i':
            if (size_t_arg)
                s = (long long)va_arg(ap, long); /* ssize_t / ptrdiff_t */
            else if (lng >= 2)
                s = va_arg(ap, long long);
            else if (lng == 1)
                s = va_arg(ap, long);
            else
                s = va_arg(ap, int);
            u = s < 0 ? 0ull - (unsigned long long)s : (unsigned long long)s;
            put_number(&o, u, s < 0, 10, 0, width, zero_pad, left);
            break;
        case 'u':
        case 'x':
        case 'X':
        case 'o':
            if (size_t_arg)
                u = va_arg(ap, size_t);
            else if (lng >= 2)
                u = va_arg(ap, unsigned long long);
            else if (lng == 1)
                u = va_arg(ap, unsigned long);
            else
                u = va_arg(ap, unsigned int);
            put_number(&o, u, 0, *p == 'u' ? 10 : *p == 'o' ? 8 : 16, *p == 'X', width, zero_pad, left);
            break;
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_number(&o, (unsigned long long)(uintptr_t)va_arg(ap, void *), 0, 16, 0, 0, 0, 0);
            break;
        case 'c': put(&o, (char)va_arg(ap, int)); break;
        case 's': put_string(&o, va_arg(ap, const char *), width, left); break;
        case '%': put(&o, '%'); break;
        default: /* unknown: print the directive itself, consume nothing */
            for (const char *q = start; q <= p && *q != '\0'; q++) put(&o, *q);
            if (*p == '\0') p--;
            break;
        }
    }
    if (size > 0) buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int glue_snprintf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = glue_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void glue_logf(uint32_t level, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    glue_vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    glue_log(level, line);
}

void glue_dev_logf(uint32_t level, const char *dev, const char *fmt, ...) {
    char line[512];
    int n = glue_snprintf(line, sizeof line, "%s: ", dev != NULL ? dev : "(no device)");
    if (n < 0 || (size_t)n >= sizeof line) n = (int)sizeof line - 1;
    va_list ap;
    va_start(ap, fmt);
    glue_vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    glue_log(level, line);
}

const char *glue_strerror(int err) {
    const char *name = husk_error_name(err);
    return name != NULL ? name : "unknown error";
}

void glue_panicf(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    glue_vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    glue_panic(line);
}
