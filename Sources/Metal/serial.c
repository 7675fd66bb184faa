/*
 * serial.c — COM1 (16550 at 0x3F8), 115200 8N1, polled: the console the VM
 * harness reads. kprintf is a small printf subset for the kernel's own lines.
 */
#include <stdarg.h>
#include "metal.h"

#define COM1 0x3F8

void serial_init(void) {
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* DLAB */
    outb(COM1 + 0, 0x01); /* divisor 1: 115200 */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xC7); /* FIFO on, cleared */
    outb(COM1 + 4, 0x03); /* DTR, RTS */
}

static void serial_putc(char c) {
    while (!(inb(COM1 + 5) & 0x20)) cpu_relax();
    outb(COM1, (uint8_t)c);
}

void serial_write(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') serial_putc('\r');
        serial_putc(s[i]);
    }
}

void serial_puts(const char *s) { serial_write(s, m_strlen(s)); }

static void put_num(unsigned long long u, unsigned base, int width, char pad) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[u % base];
        u /= base;
    } while (u);
    while (width-- > n) serial_putc(pad);
    while (n) serial_putc(tmp[--n]);
}

void kprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            if (*f == '\n') serial_putc('\r');
            serial_putc(*f);
            continue;
        }
        f++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*f == '0') pad = '0';
        while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
        while (*f == 'l' || *f == 'z') {
            lng++;
            f++;
        }
        switch (*f) {
        case 's': serial_puts(va_arg(ap, const char *)); break;
        case 'c': serial_putc((char)va_arg(ap, int)); break;
        case 'd': {
            long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
            if (v < 0) {
                serial_putc('-');
                v = -v;
            }
            put_num((unsigned long long)v, 10, width, pad);
            break;
        }
        case 'u': put_num(lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned), 10, width, pad); break;
        case 'x': put_num(lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned), 16, width, pad); break;
        case 'p':
            serial_puts("0x");
            put_num((uintptr_t)va_arg(ap, void *), 16, 0, ' ');
            break;
        default:
            serial_putc('%');
            serial_putc(*f);
            break;
        }
    }
    va_end(ap);
}
