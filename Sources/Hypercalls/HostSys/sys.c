#define _GNU_SOURCE
#include "husk_sys.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

_Thread_local void *husk_tls_record;

int husk_futex_wait(uint32_t *addr, uint32_t expected, const struct timespec *deadline) {
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, which is
     * what the hypercall ABI's timed waits are expressed in. */
    long r = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, deadline, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    return r == 0 ? 0 : -errno;
}

int husk_futex_wake(uint32_t *addr, int32_t count) {
    long r = syscall(SYS_futex, addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, NULL, NULL, 0);
    return r >= 0 ? (int)r : -errno;
}
