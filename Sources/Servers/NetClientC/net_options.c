/*
 * net_options.c — socket options, fcntl's O_NONBLOCK and poll
 * (husk/net_socket.h), mapped onto the net interface's options (the glue's
 * SOCKET_OPT_* numbers and the server's own: docs/net.md).
 */
#include "net_private.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* The net interface's option numbers (Net.Option). */
enum {
    NET_OPT_REUSEADDR = 1,
    NET_OPT_KEEPALIVE,
    NET_OPT_RCVBUF,
    NET_OPT_SNDBUF,
    NET_OPT_NODELAY,
    NET_OPT_ERROR,
    NET_OPT_NONBLOCK,
    NET_OPT_RCVTIMEO,
    NET_OPT_SNDTIMEO
};

/* The interface's option for (level, name); 0 when there is none. */
static uint32_t husk_option(int level, int name) {
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_REUSEADDR: return NET_OPT_REUSEADDR;
        case SO_KEEPALIVE: return NET_OPT_KEEPALIVE;
        case SO_RCVBUF: return NET_OPT_RCVBUF;
        case SO_SNDBUF: return NET_OPT_SNDBUF;
        case SO_ERROR: return NET_OPT_ERROR;
        case SO_RCVTIMEO: return NET_OPT_RCVTIMEO;
        case SO_SNDTIMEO: return NET_OPT_SNDTIMEO;
        default: return 0;
        }
    }
    if (level == IPPROTO_TCP && name == TCP_NODELAY) return NET_OPT_NODELAY;
    return 0;
}

static int husk_set(struct husk_sock *k, uint32_t option, uint32_t value) {
    int st = husk_net_setsockopt(k->conn, option, value);
    return st == 0 ? 0 : husk_net_fail(st);
}

int husk_setsockopt(int s, int level, int name, const void *value, socklen_t len) {
    uint32_t option = husk_option(level, name);
    if (option == 0 || option == NET_OPT_ERROR) return husk_net_fail(ENOPROTOOPT);
    if (value == NULL) return husk_net_fail(EFAULT);
    uint32_t v;
    if (option == NET_OPT_RCVTIMEO || option == NET_OPT_SNDTIMEO) {
        if (len < (socklen_t)sizeof(struct timeval)) return husk_net_fail(EINVAL);
        const struct timeval *tv = value;
        if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000) return husk_net_fail(EDOM);
        uint64_t ms = (uint64_t)tv->tv_sec * 1000u + (uint64_t)(tv->tv_usec + 999) / 1000u;
        v = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
    } else {
        if (len < (socklen_t)sizeof(int)) return husk_net_fail(EINVAL);
        int i = *(const int *)value;
        v = i < 0 ? 0 : (uint32_t)i;
    }
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    int r = husk_set(k, option, v);
    if (r == 0 && option == NET_OPT_SNDTIMEO) k->sndtimeo_ms = v;
    husk_net_put(k);
    return r;
}

int husk_getsockopt(int s, int level, int name, void *value, socklen_t *len) {
    uint32_t option = husk_option(level, name);
    if (option == 0) return husk_net_fail(ENOPROTOOPT);
    if (value == NULL || len == NULL) return husk_net_fail(EFAULT);
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    uint32_t v = 0;
    int st = husk_net_getsockopt(k->conn, option, &v);
    husk_net_put(k);
    if (st != 0) return husk_net_fail(st);
    if (option == NET_OPT_RCVTIMEO || option == NET_OPT_SNDTIMEO) {
        struct timeval tv = {.tv_sec = v / 1000u, .tv_usec = (v % 1000u) * 1000};
        memcpy(value, &tv, *len < (socklen_t)sizeof tv ? *len : sizeof tv);
        *len = sizeof tv;
    } else {
        int i = (int)v;
        memcpy(value, &i, *len < (socklen_t)sizeof i ? *len : sizeof i);
        *len = sizeof i;
    }
    return 0;
}

int husk_fcntl(int s, int cmd, int arg) {
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    int r;
    if (cmd == F_GETFL) {
        uint32_t v = 0;
        int st = husk_net_getsockopt(k->conn, NET_OPT_NONBLOCK, &v);
        r = st == 0 ? (O_RDWR | (v != 0 ? O_NONBLOCK : 0)) : husk_net_fail(st);
    } else if (cmd == F_SETFL) {
        r = husk_set(k, NET_OPT_NONBLOCK, (arg & O_NONBLOCK) != 0 ? 1u : 0u);
    } else {
        r = husk_net_fail(EINVAL);
    }
    husk_net_put(k);
    return r;
}

/* poll waits on a connection of the calling thread's own: the server
 * connection is shared by every thread, and a poll that waits there would
 * hold up every socket and poll call of the others. */
static pthread_key_t husk_poll_key;
static pthread_once_t husk_poll_once = PTHREAD_ONCE_INIT;

static void husk_poll_conn_free(void *c) { husk_rpc_close(c); }
static void husk_poll_key_make(void) { pthread_key_create(&husk_poll_key, husk_poll_conn_free); }

static struct husk_rpc_conn *husk_poll_conn(void) {
    pthread_once(&husk_poll_once, husk_poll_key_make);
    struct husk_rpc_conn *c = pthread_getspecific(husk_poll_key);
    if (c != NULL) return c;
    int st = husk_net_dial(&c);
    if (st != 0) {
        errno = st;
        return NULL;
    }
    pthread_setspecific(husk_poll_key, c);
    return c;
}

int husk_poll(struct pollfd *fds, nfds_t n, int timeout) {
    if (n == 0 || n > 256) return husk_net_fail(EINVAL);
    uint64_t ids[256];
    uint32_t events[256], revents[256];
    struct husk_sock *held[256];
    for (nfds_t i = 0; i < n; i++) {
        fds[i].revents = 0;
        held[i] = husk_net_get(fds[i].fd);
        ids[i] = held[i] != NULL ? held[i]->id : 0; /* id 0 is no socket: the server says POLLNVAL */
        events[i] = (uint32_t)fds[i].events & (POLLIN | POLLOUT);
    }
    struct husk_rpc_conn *c = husk_poll_conn();
    int st = c == NULL ? errno : 0;
    uint32_t count = 0;
    if (st == 0)
        st = husk_net_poll(c, ids, (uint32_t)n, events, (uint32_t)n, timeout < 0 ? UINT32_MAX : (uint32_t)timeout,
                           revents, 256, &count);
    for (nfds_t i = 0; i < n; i++)
        if (held[i] != NULL) husk_net_put(held[i]);
    if (st != 0) return husk_net_fail(st);
    int ready = 0;
    for (nfds_t i = 0; i < n && i < count; i++) {
        fds[i].revents = (short)revents[i];
        if (revents[i] != 0) ready++;
    }
    return ready;
}
