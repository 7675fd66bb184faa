/*
 * net_io.c — send and receive (husk/net_socket.h): inline up to
 * HUSK_NET_INLINE_MAX bytes, through the socket's registered shared memory
 * window beyond (the bytes then never pass through the RPC messages).
 */
#include "net_private.h"

#include <errno.h>
#include <string.h>

struct husk_rpc_shm *husk_net_window(struct husk_sock *k) {
    pthread_mutex_lock(&k->window_lock);
    if (!k->has_window) {
        int st = husk_rpc_shm_register(k->conn, HUSK_NET_WINDOW, &k->window);
        if (st != 0) {
            pthread_mutex_unlock(&k->window_lock);
            errno = st;
            return NULL;
        }
        k->has_window = true;
    }
    return &k->window;
}

void husk_net_window_done(struct husk_sock *k) { pthread_mutex_unlock(&k->window_lock); }

/* One send of at most one window: the bytes taken, or -1. */
static ssize_t husk_send_once(struct husk_sock *k, const uint8_t *p, size_t len, int flags) {
    if (len <= HUSK_NET_INLINE_MAX) {
        uint32_t n = 0;
        int st = husk_net_send(k->conn, p, (uint32_t)len, (uint32_t)flags, &n);
        return st == 0 ? (ssize_t)n : husk_net_fail(st);
    }
    struct husk_rpc_shm *w = husk_net_window(k);
    if (w == NULL) return -1;
    size_t chunk = len < w->size ? len : (size_t)w->size;
    memcpy(w->base, p, chunk);
    uint64_t n = 0;
    int st = husk_net_send_shm(k->conn, husk_rpc_shm_ref(w, 0, chunk), (uint32_t)flags, &n);
    husk_net_window_done(k);
    return st == 0 ? (ssize_t)n : husk_net_fail(st);
}

ssize_t husk_send(int s, const void *buf, size_t len, int flags) {
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    const uint8_t *p = buf;
    size_t done = 0;
    ssize_t r = 0;
    /* The server sends a whole piece unless the socket does not wait or the
     * call is interrupted: a short piece ends the loop, as for send(2). */
    do {
        size_t piece = len - done > HUSK_NET_WINDOW ? HUSK_NET_WINDOW : len - done;
        r = husk_send_once(k, p + done, piece, flags);
        if (r < 0) break;
        done += (size_t)r;
        if ((size_t)r < piece || k->type != SOCK_STREAM) break;
    } while (done < len);
    husk_net_put(k);
    if (r < 0 && done == 0) return -1;
    return (ssize_t)done;
}

ssize_t husk_sendto(int s, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen) {
    if (to == NULL) return husk_send(s, buf, len, flags);
    uint16_t family, port;
    uint8_t a[16];
    uint32_t alen;
    if (husk_net_addr_in(to, tolen, &family, a, &alen, &port) != 0) return -1;
    if (len > 65535) return husk_net_fail(EMSGSIZE);
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    uint32_t n = 0;
    int st = husk_net_sendto(k->conn, buf, (uint32_t)len, (uint32_t)flags, family, a, alen, port, &n);
    husk_net_put(k);
    return st == 0 ? (ssize_t)n : husk_net_fail(st);
}

/* One receive of at most one window: the bytes, or -1. */
static ssize_t husk_recv_once(struct husk_sock *k, uint8_t *p, size_t len, int flags) {
    if (len <= HUSK_NET_INLINE_MAX) {
        uint32_t n = 0;
        int st = husk_net_recv(k->conn, (uint32_t)len, (uint32_t)flags, p, (uint32_t)len, &n);
        return st == 0 ? (ssize_t)n : husk_net_fail(st);
    }
    struct husk_rpc_shm *w = husk_net_window(k);
    if (w == NULL) return -1;
    size_t cap = len < w->size ? len : (size_t)w->size;
    uint64_t n = 0;
    int st = husk_net_recv_shm(k->conn, husk_rpc_shm_ref(w, 0, cap), (uint32_t)flags, &n);
    if (st == 0) memcpy(p, w->base, (size_t)n);
    husk_net_window_done(k);
    return st == 0 ? (ssize_t)n : husk_net_fail(st);
}

ssize_t husk_recv(int s, void *buf, size_t len, int flags) {
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    uint8_t *p = buf;
    size_t done = 0;
    ssize_t r;
    /* A window at a time: a short count is recv(2)'s right, except with
     * MSG_WAITALL on a stream, which goes on until len, the end or an error. */
    bool all = (flags & MSG_WAITALL) != 0 && k->type == SOCK_STREAM;
    do {
        r = husk_recv_once(k, p + done, len - done, flags);
        if (r <= 0) break;
        done += (size_t)r;
    } while (all && done < len);
    husk_net_put(k);
    if (r < 0 && done == 0) return -1;
    return (ssize_t)done;
}

ssize_t husk_recvfrom(int s, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen) {
    if (from == NULL || fromlen == NULL) return husk_recv(s, buf, len, flags);
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    uint32_t cap = len > 65535 ? 65535u : (uint32_t)len;
    uint32_t n = 0, alen = 0;
    uint16_t family = 0, port = 0;
    uint8_t a[16];
    int st = husk_net_recvfrom(k->conn, cap == 0 ? 1 : cap, (uint32_t)flags, buf, cap, &n, &family, a, sizeof a, &alen,
                               &port);
    husk_net_put(k);
    if (st != 0) return husk_net_fail(st);
    husk_net_addr_out(family, a, alen, port, from, fromlen);
    return (ssize_t)n;
}
