/* nic_bench.c — see nic_bench.h. Tight C loops, so that the baseline costs
 * what the system calls cost and nothing more. */
#define _GNU_SOURCE
#include "nic_bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int nicbench_private_netns(void) { return unshare(CLONE_NEWNET); }

int nicbench_packet_socket(const char *ifname) {
    unsigned index = if_nametoindex(ifname);
    if (index == 0) return -1;
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) return -1;
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = (int)index;
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

uint64_t nicbench_blast(int fd, const uint8_t *frame, size_t len, uint64_t ns) {
    uint64_t sent = 0, end = now_ns() + ns;
    while (1) {
        /* Check the clock every 64 frames: cheap, and fine-grained enough. */
        if ((sent & 63) == 0 && now_ns() >= end) break;
        ssize_t n = write(fd, frame, len);
        if (n == (ssize_t)len) {
            sent++;
        } else if (n < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)) {
            if (now_ns() >= end) break;
            sched_yield();
        } else {
            break;
        }
    }
    return sent;
}

uint64_t nicbench_blast_until(int fd, const uint8_t *frame, size_t len, const volatile int *stop) {
    uint64_t sent = 0;
    while (!*stop) {
        ssize_t n = write(fd, frame, len);
        if (n == (ssize_t)len)
            sent++;
        else if (n < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == EINTR))
            sched_yield();
        else
            break;
    }
    return sent;
}

uint64_t nicbench_drain(int fd, uint64_t ns, uint64_t *bytes) {
    static uint8_t buf[65536];
    uint64_t frames = 0, total = 0, end = now_ns() + ns;
    for (uint64_t t = now_ns(); t < end; t = now_ns()) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            frames++;
            total += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) break;
        struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
        int ms = (int)((end - t) / 1000000u) + 1;
        (void)poll(&p, 1, ms > 10 ? 10 : ms);
    }
    *bytes = total;
    return frames;
}
