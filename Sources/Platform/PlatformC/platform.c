#define _GNU_SOURCE
#include "husk_platform.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

int husk_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }

int32_t husk_gettid(void) { return (int32_t)syscall(SYS_gettid); }

int husk_eventfd(uint32_t initval) { return eventfd(initval, EFD_CLOEXEC); }

int husk_eventfd_nonblocking(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

int husk_getrandom(void *buf, size_t len) {
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int husk_o_direct(void) { return O_DIRECT; }

void husk_stdout_line_buffered(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

_Noreturn void husk_exit_now(int status) { _exit(status); }
