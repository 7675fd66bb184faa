#define _GNU_SOURCE
#include "husk_sys.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

_Thread_local void *husk_tls_record;

int husk_futex_wait(uint32_t *addr, uint32_t expected, const struct timespec *deadline) {
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, which is
     * what the hypercall ABI's timed waits are expressed in. */
    long r = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected,
                     deadline, NULL, FUTEX_BITSET_MATCH_ANY);
    return r == 0 ? 0 : -errno;
}

int husk_futex_wake(uint32_t *addr, int32_t count) {
    long r = syscall(SYS_futex, addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, NULL, NULL, 0);
    return r >= 0 ? (int)r : -errno;
}

int32_t husk_gettid(void) { return (int32_t)syscall(SYS_gettid); }

int husk_ioctl_ptr(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }
int husk_ioctl_int(int fd, unsigned long request, unsigned long arg) { return ioctl(fd, request, arg); }

_Noreturn void husk_exit_now(int status) { _exit(status); }

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

#include <fcntl.h>
#include <pthread.h>

int husk_o_direct(void) { return O_DIRECT; }
int husk_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }

#include <stdio.h>
void husk_stdout_line_buffered(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
