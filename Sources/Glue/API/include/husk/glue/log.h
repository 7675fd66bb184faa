/*
 * husk/glue/log.h — formatted logging, panic and assertions without libc.
 *
 * Formats: %d %i %u %x %X %o %c %s %p %% with the length modifiers hh h l ll
 * z j t, a field width, and the flags 0 and -. Nothing else (no floating
 * point, no %n). An unknown conversion is printed as is.
 */
#ifndef HUSK_GLUE_LOG_H
#define HUSK_GLUE_LOG_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels: those of the hypercall ABI. */
#define LOG_ERR   HUSK_LOG_ERROR
#define LOG_WARN  HUSK_LOG_WARN
#define LOG_INFO  HUSK_LOG_INFO
#define LOG_DEBUG HUSK_LOG_DEBUG

/* [blocks: no] [irq: yes] One line to the host's log, tagged with the
 * calling component. Lines longer than 511 bytes are cut. From a thread of
 * no component the line is tagged "(unknown component)". */
void glue_log(uint32_t level, const char *msg);
void glue_logf(uint32_t level, const char *fmt, ...) GLUE_PRINTFLIKE(2, 3);

/* [blocks: no] [irq: yes] glue_logf about one device: the line starts with
 * "DEV: " (NetBSD's aprint_*_dev). dev names the device as the component's
 * users know it: a PCI address (pa->pa_id.address), a file path, a disk
 * name. NULL prints "(no device)". */
void glue_dev_logf(uint32_t level, const char *dev, const char *fmt, ...) GLUE_PRINTFLIKE(3, 4);

/* [blocks: no] [irq: yes] The name of a HUSK_E* code ("EINVAL", "OK" for 0)
 * for messages; "unknown error" for other values. Never NULL; the string is
 * static. */
const char *glue_strerror(int err);

/* [blocks: -] [irq: yes] End the server with "panic: <component>: <msg>".
 * Does not return. */
void glue_panic(const char *msg) GLUE_NORETURN;
void glue_panicf(const char *fmt, ...) GLUE_PRINTFLIKE(1, 2) GLUE_NORETURN;

/* [blocks: no] [irq: yes] Format into buf (always NUL-terminated when
 * size > 0). Returns the length the whole output would have had. */
int glue_snprintf(char *buf, size_t size, const char *fmt, ...) GLUE_PRINTFLIKE(3, 4);
int glue_vsnprintf(char *buf, size_t size, const char *fmt, __builtin_va_list ap) GLUE_PRINTFLIKE(3, 0);

/* Panic unless cond holds. Always compiled in: drivers are small and a
 * wrong assumption about a device should stop it, not corrupt memory. */
#define KASSERT(cond)                                                                            \
    do {                                                                                         \
        if (!(cond)) glue_panicf("assertion \"%s\" failed at %s:%d", #cond, __FILE__, __LINE__); \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif
