/* husk_platform.h — the few Linux calls every host-side layer needs and
 * Glibc's Swift overlay hides (GNU extensions, macros, the C `stdout`
 * global). Host-only: components never see this. Every function returns -1
 * with errno set on failure unless it says otherwise. */
#ifndef HUSK_PLATFORM_H
#define HUSK_PLATFORM_H

#include <stdint.h>
#include <stddef.h>

/* Name the calling thread (first 15 bytes), for debuggers and top.
 * Returns 0 or an error number (pthread_setname_np). */
int husk_set_thread_name(const char *name);
/* The kernel's id of the calling thread. */
int32_t husk_gettid(void);
/* eventfd(initval, EFD_CLOEXEC): a blocking counter. */
int husk_eventfd(uint32_t initval);
/* eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK): for a signaller that must never block. */
int husk_eventfd_nonblocking(void);
/* getrandom that loops until len bytes or an error; returns 0 or -errno. */
int husk_getrandom(void *buf, size_t len);
/* O_DIRECT (hidden from Swift without _GNU_SOURCE). */
int husk_o_direct(void);
/* Make stdout line-buffered (Swift 6 cannot touch the C `stdout` global). */
void husk_stdout_line_buffered(void);
/* End the process at once, without atexit handlers or stdio flushing. */
_Noreturn void husk_exit_now(int status);

#endif
