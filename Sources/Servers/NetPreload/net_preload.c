/*
 * net_preload.c — an LD_PRELOAD library that routes an unmodified
 * program's TCP and UDP sockets to a Husk net server (`husk net serve`,
 * docs/net.md), after NetBSD's rumphijack: the program's socket calls are
 * interposed here and, for sockets of the net server, carried out through
 * the BSD-socket C library husk/net_socket.h; every other descriptor goes
 * to the C library underneath (found with dlsym(RTLD_NEXT)).
 *
 *   scripts/build-net-preload.sh                  # .build/husk-net-preload.so
 *   HUSK_NET_SOCKET=/run/net.sock LD_PRELOAD=.build/husk-net-preload.so curl http://10.77.0.1:8000/
 *
 * Which sockets: socket(AF_INET or AF_INET6, SOCK_STREAM or SOCK_DGRAM,
 * 0/IPPROTO_TCP/IPPROTO_UDP). AF_UNIX, netlink, raw sockets and the like
 * stay the kernel's. Without HUSK_NET_SOCKET in the environment nothing
 * is routed (one line on stderr says so at the first such socket).
 *
 * Descriptors: a Husk socket is a handle of husk/net_socket.h, not a
 * kernel descriptor. Each one is backed by a real descriptor (an eventfd
 * made here), so that its number is unique in the process, the kernel
 * never hands it to anything else while the socket lives, and close()
 * ends both. The table below maps that descriptor to the handle.
 *
 * Intercepted on such descriptors: socket, connect, bind, listen, accept,
 * accept4, send, recv, sendto, recvfrom, sendmsg and recvmsg (no ancillary
 * data; MSG_TRUNC on datagrams as Linux has it), readv, writev, read,
 * write, close, shutdown,
 * getsockname, getpeername, setsockopt, getsockopt (SO_TYPE, SO_DOMAIN and
 * SO_PROTOCOL answered here), fcntl/fcntl64 (F_GETFL/F_SETFL O_NONBLOCK;
 * F_GETFD/F_SETFD act on the backing descriptor), ioctl FIONBIO, the
 * _FORTIFY_SOURCE variants __read_chk, __recv_chk, __recvfrom_chk and
 * __poll_chk, poll and select (a set mixing Husk sockets and kernel
 * descriptors is waited on in slices of 10 ms: the Husk side waits, the
 * kernel side is looked at between slices). HUSK_NET_PRELOAD_TRACE=1 names each call on a Husk socket on
 * stderr. Not intercepted: ppoll/pselect,
 * epoll, dup/dup2/dup3 of a Husk socket (refused with EBADF, since the copy
 * would be the bare eventfd), sendfile/splice, and fork (a child shares the
 * parent's RPC connections; it must not use the sockets). Name resolution
 * inside the C library (getaddrinfo's DNS) uses its internal socket calls
 * and so the kernel's network.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <husk/net_socket.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* Descriptors up to this number can back a Husk socket. */
#define HIJACK_FDS      65536
/* A poll mixing both kinds waits on the Husk side this long per slice. */
#define HIJACK_SLICE_MS 10

/* handle + 1 of the Husk socket behind each descriptor; 0: the kernel's. */
static _Atomic int hijack_table[HIJACK_FDS];
/* domain << 8 | type of that socket (for getsockopt SO_TYPE and friends). */
static _Atomic int hijack_info[HIJACK_FDS];

static struct {
    int (*socket)(int, int, int);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    int (*bind)(int, const struct sockaddr *, socklen_t);
    int (*listen)(int, int);
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*accept4)(int, struct sockaddr *, socklen_t *, int);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    int (*close)(int);
    int (*shutdown)(int, int);
    int (*getsockname)(int, struct sockaddr *, socklen_t *);
    int (*getpeername)(int, struct sockaddr *, socklen_t *);
    int (*setsockopt)(int, int, int, const void *, socklen_t);
    int (*getsockopt)(int, int, int, void *, socklen_t *);
    int (*fcntl)(int, int, ...);
    int (*fcntl64)(int, int, ...);
    int (*ioctl)(int, unsigned long, ...);
    int (*poll)(struct pollfd *, nfds_t, int);
    int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    /* _FORTIFY_SOURCE's checked variants, which programs built with it call instead. */
    ssize_t (*read_chk)(int, void *, size_t, size_t);
    ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
    ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
    int (*poll_chk)(struct pollfd *, nfds_t, int, size_t);
} real;

static pthread_once_t hijack_once = PTHREAD_ONCE_INIT;
static bool hijack_enabled;
/* HUSK_NET_PRELOAD_TRACE=1: each call on a Husk socket named on stderr. */
static bool hijack_tracing;

static void *hijack_next(const char *name) {
    void *f = dlsym(RTLD_NEXT, name);
    if (f == NULL) {
        fprintf(stderr, "husk-net-preload: no %s in the libraries underneath: %s\n", name, dlerror());
        abort();
    }
    return f;
}

static void hijack_resolve(void) {
    real.socket = hijack_next("socket");
    real.connect = hijack_next("connect");
    real.bind = hijack_next("bind");
    real.listen = hijack_next("listen");
    real.accept = hijack_next("accept");
    real.accept4 = hijack_next("accept4");
    real.send = hijack_next("send");
    real.recv = hijack_next("recv");
    real.sendto = hijack_next("sendto");
    real.recvfrom = hijack_next("recvfrom");
    real.read = hijack_next("read");
    real.write = hijack_next("write");
    real.close = hijack_next("close");
    real.shutdown = hijack_next("shutdown");
    real.getsockname = hijack_next("getsockname");
    real.getpeername = hijack_next("getpeername");
    real.setsockopt = hijack_next("setsockopt");
    real.getsockopt = hijack_next("getsockopt");
    real.fcntl = hijack_next("fcntl");
    real.fcntl64 = dlsym(RTLD_NEXT, "fcntl64"); /* glibc 2.28 and later */
    if (real.fcntl64 == NULL) real.fcntl64 = real.fcntl;
    real.ioctl = hijack_next("ioctl");
    real.poll = hijack_next("poll");
    real.select = hijack_next("select");
    real.dup = hijack_next("dup");
    real.dup2 = hijack_next("dup2");
    real.dup3 = hijack_next("dup3");
    real.sendmsg = hijack_next("sendmsg");
    real.recvmsg = hijack_next("recvmsg");
    real.readv = hijack_next("readv");
    real.writev = hijack_next("writev");
    real.read_chk = hijack_next("__read_chk");
    real.recv_chk = hijack_next("__recv_chk");
    real.recvfrom_chk = hijack_next("__recvfrom_chk");
    real.poll_chk = hijack_next("__poll_chk");
    hijack_enabled = getenv("HUSK_NET_SOCKET") != NULL;
    const char *trace = getenv("HUSK_NET_PRELOAD_TRACE");
    hijack_tracing = trace != NULL && trace[0] == '1';
}

static void hijack_init(void) { pthread_once(&hijack_once, hijack_resolve); }

__attribute__((constructor)) static void hijack_constructor(void) { hijack_init(); }

/* The Husk handle behind fd, or -1 for the kernel's descriptors. */
static int hijack_handle(int fd) {
    if (fd < 0 || fd >= HIJACK_FDS) return -1;
    return atomic_load_explicit(&hijack_table[fd], memory_order_acquire) - 1;
}

/* hijack_handle for an interposed call, which is traced when it is ours. */
static int hijack_lookup(const char *call, int fd) {
    int h = hijack_handle(fd);
    if (h >= 0 && hijack_tracing) fprintf(stderr, "husk-net-preload: %s(%d)\n", call, fd);
    return h;
}

static bool hijack_is_datagram(int fd);
static ssize_t hijack_recv_trunc(int h, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen);

/* Back handle h by a new descriptor: the descriptor, or -1 (h closed). */
static int hijack_adopt(int h, int domain, int type, bool cloexec) {
    int fd = eventfd(0, cloexec ? EFD_CLOEXEC : 0);
    if (fd >= HIJACK_FDS) {
        real.close(fd);
        fd = -1;
        errno = EMFILE;
    }
    if (fd < 0) {
        int e = errno;
        husk_close(h);
        errno = e;
        return -1;
    }
    atomic_store_explicit(&hijack_info[fd], domain << 8 | type, memory_order_release);
    atomic_store_explicit(&hijack_table[fd], h + 1, memory_order_release);
    return fd;
}

EXPORT int socket(int domain, int type, int protocol) {
    hijack_init();
    int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    bool inet = domain == AF_INET || domain == AF_INET6;
    bool ours = inet && ((kind == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) ||
                         (kind == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP)));
    if (!ours) return real.socket(domain, type, protocol);
    if (!hijack_enabled) {
        static atomic_flag said = ATOMIC_FLAG_INIT;
        if (!atomic_flag_test_and_set(&said))
            fprintf(stderr, "husk-net-preload: HUSK_NET_SOCKET is not set: sockets go to the kernel\n");
        return real.socket(domain, type, protocol);
    }
    int h = husk_socket(domain, type & ~SOCK_CLOEXEC, protocol);
    if (h < 0) {
        int e = errno;
        static atomic_flag said = ATOMIC_FLAG_INIT;
        if (!atomic_flag_test_and_set(&said))
            fprintf(stderr, "husk-net-preload: no socket from the net server at %s: %s\n", getenv("HUSK_NET_SOCKET"),
                    strerror(e));
        errno = e;
        return -1;
    }
    int fd = hijack_adopt(h, domain, kind, (type & SOCK_CLOEXEC) != 0);
    if (fd >= 0 && hijack_tracing)
        fprintf(stderr, "husk-net-preload: socket(%d, %d, %d) = %d\n", domain, type, protocol, fd);
    return fd;
}

EXPORT int close(int fd) {
    hijack_init();
    if (fd >= 0 && fd < HIJACK_FDS) {
        /* Taken out first: the descriptor's number cannot be reused before
         * the real close below, so no other socket can land in the slot. */
        int h = atomic_exchange_explicit(&hijack_table[fd], 0, memory_order_acq_rel) - 1;
        if (h >= 0) {
            if (hijack_tracing) fprintf(stderr, "husk-net-preload: close(%d)\n", fd);
            husk_close(h);
        }
    }
    return real.close(fd);
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    hijack_init();
    int h = hijack_lookup("connect", fd);
    return h < 0 ? real.connect(fd, addr, len) : husk_connect(h, addr, len);
}

EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    hijack_init();
    int h = hijack_lookup("bind", fd);
    return h < 0 ? real.bind(fd, addr, len) : husk_bind(h, addr, len);
}

EXPORT int listen(int fd, int backlog) {
    hijack_init();
    int h = hijack_lookup("listen", fd);
    return h < 0 ? real.listen(fd, backlog) : husk_listen(h, backlog);
}

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    hijack_init();
    int h = hijack_lookup("accept4", fd);
    if (h < 0) return real.accept4(fd, addr, len, flags);
    if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) {
        errno = EINVAL;
        return -1;
    }
    int nh = husk_accept(h, addr, len);
    if (nh < 0) return -1;
    if ((flags & SOCK_NONBLOCK) != 0 && husk_fcntl(nh, F_SETFL, O_NONBLOCK) != 0) {
        int e = errno;
        husk_close(nh);
        errno = e;
        return -1;
    }
    int info = atomic_load_explicit(&hijack_info[fd], memory_order_acquire);
    return hijack_adopt(nh, info >> 8, info & 0xff, (flags & SOCK_CLOEXEC) != 0);
}

EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len) {
    hijack_init();
    return hijack_lookup("accept", fd) < 0 ? real.accept(fd, addr, len) : accept4(fd, addr, len, 0);
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
    hijack_init();
    int h = hijack_lookup("send", fd);
    return h < 0 ? real.send(fd, buf, n, flags) : husk_send(h, buf, n, flags);
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags) {
    hijack_init();
    int h = hijack_lookup("recv", fd);
    if (h >= 0 && (flags & MSG_TRUNC) != 0 && hijack_is_datagram(fd))
        return hijack_recv_trunc(h, buf, n, flags, NULL, NULL);
    return h < 0 ? real.recv(fd, buf, n, flags) : husk_recv(h, buf, n, flags);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen) {
    hijack_init();
    int h = hijack_lookup("sendto", fd);
    return h < 0 ? real.sendto(fd, buf, n, flags, to, tolen) : husk_sendto(h, buf, n, flags, to, tolen);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen) {
    hijack_init();
    int h = hijack_lookup("recvfrom", fd);
    if (h >= 0 && (flags & MSG_TRUNC) != 0 && hijack_is_datagram(fd))
        return hijack_recv_trunc(h, buf, n, flags, from, fromlen);
    return h < 0 ? real.recvfrom(fd, buf, n, flags, from, fromlen) : husk_recvfrom(h, buf, n, flags, from, fromlen);
}

EXPORT ssize_t read(int fd, void *buf, size_t n) {
    hijack_init();
    int h = hijack_lookup("read", fd);
    return h < 0 ? real.read(fd, buf, n) : husk_recv(h, buf, n, 0);
}

/* The checked variants: the C library's own check (and abort) for the
 * kernel's descriptors and for a buffer smaller than the count. */
EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
    hijack_init();
    int h = hijack_lookup("read", fd);
    return h < 0 || n > buflen ? real.read_chk(fd, buf, n, buflen) : husk_recv(h, buf, n, 0);
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags) {
    hijack_init();
    int h = hijack_lookup("recv", fd);
    return h < 0 || n > buflen ? real.recv_chk(fd, buf, n, buflen, flags) : husk_recv(h, buf, n, flags);
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *from,
                              socklen_t *fromlen) {
    hijack_init();
    int h = hijack_lookup("recvfrom", fd);
    return h < 0 || n > buflen ? real.recvfrom_chk(fd, buf, n, buflen, flags, from, fromlen)
                               : husk_recvfrom(h, buf, n, flags, from, fromlen);
}

EXPORT ssize_t write(int fd, const void *buf, size_t n) {
    hijack_init();
    int h = hijack_lookup("write", fd);
    return h < 0 ? real.write(fd, buf, n) : husk_send(h, buf, n, 0);
}

/* Scatter/gather through one buffer: the library moves one contiguous
 * block per call. NULL (errno set) if the total is too large or memory short. */
static void *hijack_gather(const struct iovec *iov, size_t n, size_t *total) {
    size_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (iov[i].iov_len > SSIZE_MAX - sum) {
            errno = EINVAL;
            return NULL;
        }
        sum += iov[i].iov_len;
    }
    *total = sum;
    void *b = malloc(sum == 0 ? 1 : sum);
    if (b == NULL) errno = ENOMEM;
    return b;
}

static void hijack_scatter(const struct iovec *iov, size_t n, const uint8_t *from, size_t len) {
    for (size_t i = 0; i < n && len > 0; i++) {
        size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;
        memcpy(iov[i].iov_base, from, k);
        from += k;
        len -= k;
    }
}

static ssize_t hijack_send_iov(int h, const struct iovec *iov, size_t n, int flags, const struct sockaddr *to,
                               socklen_t tolen) {
    size_t total;
    uint8_t *b = hijack_gather(iov, n, &total);
    if (b == NULL) return -1;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(b + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    ssize_t r = to != NULL ? husk_sendto(h, b, total, flags, to, tolen) : husk_send(h, b, total, flags);
    int e = errno;
    free(b);
    errno = e;
    return r;
}

static bool hijack_is_datagram(int fd) {
    return (atomic_load_explicit(&hijack_info[fd], memory_order_acquire) & 0xff) == SOCK_DGRAM;
}

/* Receive into iov. A datagram is always received whole (into a buffer of
 * the largest size the server hands out), so that a longer one is reported
 * as Linux does: *truncated set, and with MSG_TRUNC in flags its whole
 * length returned (socat peeks with MSG_PEEK|MSG_TRUNC for the size). */
static ssize_t hijack_recv_iov(int h, bool datagram, const struct iovec *iov, size_t n, int flags,
                               struct sockaddr *from, socklen_t *fromlen, bool *truncated) {
    size_t total;
    uint8_t *b = hijack_gather(iov, n, &total);
    if (b == NULL) return -1;
    size_t want = total;
    if (datagram) {
        flags &= ~MSG_TRUNC;
        if (want < 65535) {
            uint8_t *big = realloc(b, 65535);
            if (big == NULL) {
                free(b);
                errno = ENOMEM;
                return -1;
            }
            b = big;
            want = 65535;
        }
    }
    ssize_t r = from != NULL ? husk_recvfrom(h, b, want, flags, from, fromlen) : husk_recv(h, b, want, flags);
    int e = errno;
    if (r > 0) hijack_scatter(iov, n, b, (size_t)r < total ? (size_t)r : total);
    free(b);
    errno = e;
    if (truncated != NULL) *truncated = r > 0 && (size_t)r > total;
    return r;
}

/* A datagram's receive with MSG_TRUNC: the whole length. */
static ssize_t hijack_recv_trunc(int h, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen) {
    struct iovec v = {.iov_base = buf, .iov_len = n};
    return hijack_recv_iov(h, true, &v, 1, flags, from, fromlen, NULL);
}

/* sendmsg/recvmsg without ancillary data: a control buffer to send is
 * refused (EOPNOTSUPP), and none is ever received (msg_controllen 0). */
EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
    hijack_init();
    int h = hijack_lookup("sendmsg", fd);
    if (h < 0) return real.sendmsg(fd, msg, flags);
    if (msg->msg_controllen != 0) {
        errno = EOPNOTSUPP;
        return -1;
    }
    return hijack_send_iov(h, msg->msg_iov, msg->msg_iovlen, flags, msg->msg_name, msg->msg_namelen);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
    hijack_init();
    int h = hijack_lookup("recvmsg", fd);
    if (h < 0) return real.recvmsg(fd, msg, flags);
    bool datagram = hijack_is_datagram(fd), truncated = false;
    ssize_t r = hijack_recv_iov(h, datagram, msg->msg_iov, msg->msg_iovlen, flags, msg->msg_name,
                                msg->msg_name != NULL ? &msg->msg_namelen : NULL, &truncated);
    if (r >= 0) {
        msg->msg_controllen = 0;
        msg->msg_flags = truncated ? MSG_TRUNC : 0;
        size_t total = 0;
        for (size_t i = 0; i < msg->msg_iovlen; i++) total += msg->msg_iov[i].iov_len;
        if (truncated && (flags & MSG_TRUNC) == 0) r = (ssize_t)total;
    }
    return r;
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int n) {
    hijack_init();
    int h = hijack_lookup("writev", fd);
    if (h < 0) return real.writev(fd, iov, n);
    if (n < 0) {
        errno = EINVAL;
        return -1;
    }
    return hijack_send_iov(h, iov, (size_t)n, 0, NULL, 0);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int n) {
    hijack_init();
    int h = hijack_lookup("readv", fd);
    if (h < 0) return real.readv(fd, iov, n);
    if (n < 0) {
        errno = EINVAL;
        return -1;
    }
    ssize_t r = hijack_recv_iov(h, hijack_is_datagram(fd), iov, (size_t)n, 0, NULL, NULL, NULL);
    if (r > 0 && hijack_is_datagram(fd)) {
        size_t total = 0;
        for (int i = 0; i < n; i++) total += iov[i].iov_len;
        if ((size_t)r > total) r = (ssize_t)total;
    }
    return r;
}

EXPORT int shutdown(int fd, int how) {
    hijack_init();
    int h = hijack_lookup("shutdown", fd);
    return h < 0 ? real.shutdown(fd, how) : husk_shutdown(h, how);
}

EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
    hijack_init();
    int h = hijack_lookup("getsockname", fd);
    return h < 0 ? real.getsockname(fd, addr, len) : husk_getsockname(h, addr, len);
}

EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
    hijack_init();
    int h = hijack_lookup("getpeername", fd);
    return h < 0 ? real.getpeername(fd, addr, len) : husk_getpeername(h, addr, len);
}

EXPORT int setsockopt(int fd, int level, int name, const void *value, socklen_t len) {
    hijack_init();
    int h = hijack_lookup("setsockopt", fd);
    return h < 0 ? real.setsockopt(fd, level, name, value, len) : husk_setsockopt(h, level, name, value, len);
}

/* SO_TYPE, SO_DOMAIN and SO_PROTOCOL, from what socket() and accept() noted. */
static int hijack_known_option(int fd, int name, void *value, socklen_t *len) {
    if (value == NULL || len == NULL) {
        errno = EFAULT;
        return -1;
    }
    int info = atomic_load_explicit(&hijack_info[fd], memory_order_acquire);
    int domain = info >> 8, type = info & 0xff;
    int v = name == SO_TYPE ? type : name == SO_DOMAIN ? domain : (type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
    memcpy(value, &v, *len < (socklen_t)sizeof v ? *len : sizeof v);
    *len = sizeof v;
    return 0;
}

EXPORT int getsockopt(int fd, int level, int name, void *value, socklen_t *len) {
    hijack_init();
    int h = hijack_lookup("getsockopt", fd);
    if (h < 0) return real.getsockopt(fd, level, name, value, len);
    if (level == SOL_SOCKET && (name == SO_TYPE || name == SO_DOMAIN || name == SO_PROTOCOL))
        return hijack_known_option(fd, name, value, len);
    return husk_getsockopt(h, level, name, value, len);
}

static int hijack_fcntl(int (*next)(int, int, ...), int fd, int cmd, void *arg) {
    int h = hijack_lookup("fcntl", fd);
    if (h < 0) return next(fd, cmd, arg);
    switch (cmd) {
    case F_GETFL: return husk_fcntl(h, F_GETFL, 0);
    case F_SETFL: return husk_fcntl(h, F_SETFL, (int)(intptr_t)arg);
    case F_GETFD:
    case F_SETFD: return next(fd, cmd, arg);
    default: errno = EINVAL; return -1;
    }
}

EXPORT int fcntl(int fd, int cmd, ...) {
    hijack_init();
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return hijack_fcntl(real.fcntl, fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...) {
    hijack_init();
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return hijack_fcntl(real.fcntl64, fd, cmd, arg);
}

EXPORT int ioctl(int fd, unsigned long request, ...) {
    hijack_init();
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int h = hijack_lookup("ioctl", fd);
    if (h < 0) return real.ioctl(fd, request, arg);
    if (request == FIONBIO && arg != NULL) {
        int on = *(const int *)arg;
        int fl = husk_fcntl(h, F_GETFL, 0);
        if (fl < 0) return -1;
        return husk_fcntl(h, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
    }
    errno = ENOTTY;
    return -1;
}

EXPORT int dup(int fd) {
    hijack_init();
    if (hijack_handle(fd) >= 0) {
        errno = EBADF;
        return -1;
    }
    return real.dup(fd);
}

EXPORT int dup3(int fd, int to, int flags) {
    hijack_init();
    if (hijack_handle(fd) >= 0) {
        errno = EBADF;
        return -1;
    }
    /* dup3 onto a Husk socket's descriptor closes that socket. */
    if (to >= 0 && to < HIJACK_FDS && fd != to) {
        int h = atomic_exchange_explicit(&hijack_table[to], 0, memory_order_acq_rel) - 1;
        if (h >= 0) husk_close(h);
    }
    return real.dup3(fd, to, flags);
}

EXPORT int dup2(int fd, int to) {
    hijack_init();
    if (fd == to) return hijack_handle(fd) >= 0 ? fd : real.dup2(fd, to);
    return dup3(fd, to, 0);
}

static long long hijack_now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout) {
    hijack_init();
    nfds_t ours = 0;
    for (nfds_t i = 0; i < n; i++)
        if (hijack_handle(fds[i].fd) >= 0) ours++;
    if (ours == 0) return real.poll(fds, n, timeout);
    if (ours > 256) {
        errno = EINVAL;
        return -1;
    }
    struct pollfd hp[256];
    nfds_t hidx[256], nh = 0, nk = n - ours;
    struct pollfd *kp = nk > 0 ? calloc(nk, sizeof *kp) : NULL;
    nfds_t *kidx = nk > 0 ? calloc(nk, sizeof *kidx) : NULL;
    if (nk > 0 && (kp == NULL || kidx == NULL)) {
        free(kp);
        free(kidx);
        errno = ENOMEM;
        return -1;
    }
    nk = 0;
    for (nfds_t i = 0; i < n; i++) {
        fds[i].revents = 0;
        int h = hijack_handle(fds[i].fd);
        if (h >= 0) {
            hp[nh] = (struct pollfd){.fd = h, .events = fds[i].events};
            hidx[nh++] = i;
        } else {
            kp[nk] = fds[i];
            kidx[nk++] = i;
        }
    }
    if (hijack_tracing)
        fprintf(stderr, "husk-net-preload: poll(%lu ours, %lu the kernel's)\n", (unsigned long)nh, (unsigned long)nk);
    long long deadline = timeout < 0 ? -1 : hijack_now_ms() + timeout;
    int ready = 0;
    for (;;) {
        int rk = 0;
        if (nk > 0) {
            rk = real.poll(kp, nk, 0);
            if (rk < 0) {
                ready = -1;
                break;
            }
        }
        int wait = 0;
        if (rk == 0) {
            long long left = deadline < 0 ? HIJACK_SLICE_MS : deadline - hijack_now_ms();
            if (left < 0) left = 0;
            wait = nk == 0 ? (deadline < 0 ? -1 : (int)left) : (int)(left < HIJACK_SLICE_MS ? left : HIJACK_SLICE_MS);
        }
        int rh = husk_poll(hp, nh, wait);
        if (rh < 0) {
            ready = -1;
            break;
        }
        if (rk > 0 || rh > 0) {
            for (nfds_t j = 0; j < nk; j++) fds[kidx[j]].revents = kp[j].revents;
            for (nfds_t j = 0; j < nh; j++) fds[hidx[j]].revents = hp[j].revents;
            ready = rk + rh;
            break;
        }
        if (deadline >= 0 && hijack_now_ms() >= deadline) break;
    }
    int e = errno;
    free(kp);
    free(kidx);
    errno = e;
    return ready;
}

EXPORT int select(int nfds, fd_set *rs, fd_set *ws, fd_set *es, struct timeval *tv) {
    hijack_init();
    bool any = false;
    for (int fd = 0; fd < nfds && fd < FD_SETSIZE && !any; fd++)
        any = hijack_handle(fd) >= 0 && ((rs != NULL && FD_ISSET(fd, rs)) || (ws != NULL && FD_ISSET(fd, ws)) ||
                                         (es != NULL && FD_ISSET(fd, es)));
    if (!any) return real.select(nfds, rs, ws, es, tv);
    struct pollfd *p = calloc((size_t)nfds, sizeof *p);
    if (p == NULL) {
        errno = ENOMEM;
        return -1;
    }
    nfds_t n = 0;
    for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
        short ev =
            (short)((rs != NULL && FD_ISSET(fd, rs) ? POLLIN : 0) | (ws != NULL && FD_ISSET(fd, ws) ? POLLOUT : 0) |
                    (es != NULL && FD_ISSET(fd, es) ? POLLPRI : 0));
        if (ev != 0) p[n++] = (struct pollfd){.fd = fd, .events = ev};
    }
    int timeout = tv == NULL ? -1 : (int)(tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000);
    int r = poll(p, n, timeout);
    if (r < 0) {
        int e = errno;
        free(p);
        errno = e;
        return -1;
    }
    int count = 0;
    for (nfds_t i = 0; i < n; i++) {
        if ((p[i].revents & POLLNVAL) != 0) {
            free(p);
            errno = EBADF;
            return -1;
        }
    }
    if (rs != NULL) FD_ZERO(rs);
    if (ws != NULL) FD_ZERO(ws);
    if (es != NULL) FD_ZERO(es);
    for (nfds_t i = 0; i < n; i++) {
        short re = p[i].revents;
        if (rs != NULL && (p[i].events & POLLIN) != 0 && (re & (POLLIN | POLLHUP | POLLERR)) != 0) {
            FD_SET(p[i].fd, rs);
            count++;
        }
        if (ws != NULL && (p[i].events & POLLOUT) != 0 && (re & (POLLOUT | POLLERR)) != 0) {
            FD_SET(p[i].fd, ws);
            count++;
        }
        if (es != NULL && (p[i].events & POLLPRI) != 0 && (re & POLLPRI) != 0) {
            FD_SET(p[i].fd, es);
            count++;
        }
    }
    free(p);
    return count;
}

EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen) {
    hijack_init();
    if (fdslen / sizeof *fds < n) return real.poll_chk(fds, n, timeout, fdslen); /* the C library aborts */
    return poll(fds, n, timeout);
}
