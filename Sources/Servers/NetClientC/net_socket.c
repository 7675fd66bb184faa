/*
 * net_socket.c — the process's connection to the net server, the table of
 * socket handles, and the calls that make, name and end sockets
 * (husk/net_socket.h).
 */
#include "net_private.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    pthread_mutex_t lock; /* guards everything here and every husk_sock.refs */
    struct husk_rpc_conn *server;
    char path[108]; /* the server's socket, for the connections poll makes */
    struct husk_sock **socks;
    int cap;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

int husk_net_fail(int status) {
    errno = status;
    return -1;
}

int husk_net_init(const char *socket_path, char *err, size_t err_len) {
    struct husk_rpc_requirement need[] = {HUSK_NET_REQUIREMENT};
    struct husk_rpc_conn *c = NULL;
    char why[256] = "";
    int st = husk_rpc_connect(socket_path, need, 1, &c, why, sizeof why);
    if (st != 0) {
        if (err != NULL && err_len > 0) snprintf(err, err_len, "%s: %s", husk_rpc_status_name(st), why);
        return husk_net_fail(st);
    }
    pthread_mutex_lock(&g.lock);
    struct husk_rpc_conn *old = g.server;
    g.server = c;
    snprintf(g.path, sizeof g.path, "%s", socket_path);
    pthread_mutex_unlock(&g.lock);
    if (old != NULL) husk_rpc_close(old);
    return 0;
}

int husk_net_dial(struct husk_rpc_conn **out) {
    if (husk_net_server() == NULL) return errno;
    char path[sizeof g.path];
    pthread_mutex_lock(&g.lock);
    memcpy(path, g.path, sizeof path);
    pthread_mutex_unlock(&g.lock);
    struct husk_rpc_requirement need[] = {HUSK_NET_REQUIREMENT};
    return husk_rpc_connect(path, need, 1, out, NULL, 0);
}

void husk_net_exit(void) {
    pthread_mutex_lock(&g.lock);
    struct husk_rpc_conn *old = g.server;
    g.server = NULL;
    pthread_mutex_unlock(&g.lock);
    if (old != NULL) husk_rpc_close(old);
}

struct husk_rpc_conn *husk_net_server(void) {
    pthread_mutex_lock(&g.lock);
    struct husk_rpc_conn *c = g.server;
    pthread_mutex_unlock(&g.lock);
    if (c != NULL) return c;
    /* Not initialised: the environment may name the server. */
    const char *path = getenv("HUSK_NET_SOCKET");
    if (path == NULL || husk_net_init(path, NULL, 0) != 0) {
        errno = ENOTCONN;
        return NULL;
    }
    pthread_mutex_lock(&g.lock);
    c = g.server;
    pthread_mutex_unlock(&g.lock);
    return c;
}

static void husk_net_free(struct husk_sock *k) {
    if (k->has_window) husk_rpc_shm_unregister(NULL, &k->window);
    husk_rpc_close(k->conn);
    pthread_mutex_destroy(&k->window_lock);
    free(k);
}

struct husk_sock *husk_net_get(int s) {
    pthread_mutex_lock(&g.lock);
    struct husk_sock *k = s >= 0 && s < g.cap ? g.socks[s] : NULL;
    if (k != NULL) k->refs++;
    pthread_mutex_unlock(&g.lock);
    if (k == NULL) errno = EBADF;
    return k;
}

void husk_net_put(struct husk_sock *k) {
    pthread_mutex_lock(&g.lock);
    bool last = --k->refs == 0;
    pthread_mutex_unlock(&g.lock);
    if (last) husk_net_free(k);
}

int husk_net_adopt(int fd, uint64_t id, int domain, int type) {
    struct husk_rpc_conn *server = husk_net_server();
    struct husk_rpc_requirement need[] = {HUSK_NET_REQUIREMENT};
    struct husk_rpc_conn *c = NULL;
    int st = husk_rpc_adopt(fd, server, need, 1, &c, NULL, 0);
    if (st != 0) return husk_net_fail(st);
    struct husk_sock *k = calloc(1, sizeof *k);
    if (k == NULL) {
        husk_rpc_close(c);
        return husk_net_fail(ENOMEM);
    }
    k->conn = c;
    k->id = id;
    k->domain = domain;
    k->type = type;
    k->refs = 1;
    pthread_mutex_init(&k->window_lock, NULL);
    pthread_mutex_lock(&g.lock);
    int slot = 0;
    while (slot < g.cap && g.socks[slot] != NULL) slot++;
    if (slot == g.cap) {
        int cap = g.cap == 0 ? 16 : g.cap * 2;
        struct husk_sock **n = realloc(g.socks, (size_t)cap * sizeof *n);
        if (n == NULL) {
            pthread_mutex_unlock(&g.lock);
            husk_net_free(k);
            return husk_net_fail(ENOMEM);
        }
        memset(n + g.cap, 0, (size_t)(cap - g.cap) * sizeof *n);
        g.socks = n;
        g.cap = cap;
    }
    g.socks[slot] = k;
    pthread_mutex_unlock(&g.lock);
    return slot;
}

int husk_socket(int domain, int type, int protocol) {
    int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (domain != AF_INET && domain != AF_INET6) return husk_net_fail(EAFNOSUPPORT);
    if (kind != SOCK_STREAM && kind != SOCK_DGRAM) return husk_net_fail(EINVAL);
    if (protocol != 0 && protocol != (kind == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
        return husk_net_fail(EPROTONOSUPPORT);
    struct husk_rpc_conn *server = husk_net_server();
    if (server == NULL) return -1;
    int fd = -1;
    uint64_t id = 0;
    int st = husk_net_socket(server, (uint16_t)domain, kind == SOCK_STREAM ? 1u : 2u, &fd, &id);
    if (st != 0) return husk_net_fail(st);
    int s = husk_net_adopt(fd, id, domain, kind);
    if (s >= 0 && (type & SOCK_NONBLOCK) != 0 && husk_fcntl(s, F_SETFL, O_NONBLOCK) != 0) {
        int e = errno;
        husk_close(s);
        return husk_net_fail(e);
    }
    return s;
}

int husk_close(int s) {
    pthread_mutex_lock(&g.lock);
    struct husk_sock *k = s >= 0 && s < g.cap ? g.socks[s] : NULL;
    if (k != NULL) g.socks[s] = NULL;
    pthread_mutex_unlock(&g.lock);
    if (k == NULL) return husk_net_fail(EBADF);
    /* The descriptor closes with the last user; the socket with it. */
    husk_net_put(k);
    return 0;
}

int husk_bind(int s, const struct sockaddr *addr, socklen_t len) {
    uint16_t family, port;
    uint8_t a[16];
    uint32_t alen;
    if (husk_net_addr_in(addr, len, &family, a, &alen, &port) != 0) return -1;
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    int st = husk_net_bind(k->conn, family, a, alen, port);
    husk_net_put(k);
    return st == 0 ? 0 : husk_net_fail(st);
}

int husk_listen(int s, int backlog) {
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    int st = husk_net_listen(k->conn, backlog < 1 ? 1u : (uint32_t)backlog);
    husk_net_put(k);
    return st == 0 ? 0 : husk_net_fail(st);
}

int husk_accept(int s, struct sockaddr *addr, socklen_t *len) {
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    int fd = -1;
    uint64_t id = 0;
    uint16_t family = 0, port = 0;
    uint8_t a[16];
    uint32_t alen = 0;
    int st = husk_net_accept(k->conn, 0, &fd, &id, &family, a, sizeof a, &alen, &port);
    int domain = k->domain, type = k->type;
    husk_net_put(k);
    if (st != 0) return husk_net_fail(st);
    if (addr != NULL && len != NULL) husk_net_addr_out(family, a, alen, port, addr, len);
    return husk_net_adopt(fd, id, domain, type);
}

int husk_connect(int s, const struct sockaddr *addr, socklen_t len) {
    uint16_t family, port;
    uint8_t a[16];
    uint32_t alen;
    if (husk_net_addr_in(addr, len, &family, a, &alen, &port) != 0) return -1;
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    int st = husk_net_connect(k->conn, family, a, alen, port, k->sndtimeo_ms);
    husk_net_put(k);
    return st == 0 ? 0 : husk_net_fail(st);
}

int husk_shutdown(int s, int how) {
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    int st = husk_net_shutdown(k->conn, (uint32_t)how);
    husk_net_put(k);
    return st == 0 ? 0 : husk_net_fail(st);
}

static int husk_name(int s, bool peer, struct sockaddr *addr, socklen_t *len) {
    struct husk_sock *k = husk_net_get(s);
    if (k == NULL) return -1;
    uint16_t family = 0, port = 0;
    uint8_t a[16];
    uint32_t alen = 0;
    int st = peer ? husk_net_getpeername(k->conn, &family, a, sizeof a, &alen, &port)
                  : husk_net_getsockname(k->conn, &family, a, sizeof a, &alen, &port);
    husk_net_put(k);
    if (st != 0) return husk_net_fail(st);
    if (addr == NULL || len == NULL) return husk_net_fail(EFAULT);
    husk_net_addr_out(family, a, alen, port, addr, len);
    return 0;
}

int husk_getsockname(int s, struct sockaddr *addr, socklen_t *len) { return husk_name(s, false, addr, len); }
int husk_getpeername(int s, struct sockaddr *addr, socklen_t *len) { return husk_name(s, true, addr, len); }

int husk_net_addr_in(const struct sockaddr *sa, socklen_t len, uint16_t *family, uint8_t addr[16], uint32_t *addr_len,
                     uint16_t *port) {
    if (sa == NULL) return husk_net_fail(EFAULT);
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        *family = AF_INET;
        memcpy(addr, &in->sin_addr, 4);
        *addr_len = 4;
        *port = ntohs(in->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        *family = AF_INET6;
        memcpy(addr, &in6->sin6_addr, 16);
        *addr_len = 16;
        *port = ntohs(in6->sin6_port);
        return 0;
    }
    return husk_net_fail(sa->sa_family == AF_INET || sa->sa_family == AF_INET6 ? EINVAL : EAFNOSUPPORT);
}

void husk_net_addr_out(uint16_t family, const uint8_t *addr, uint32_t addr_len, uint16_t port, struct sockaddr *sa,
                       socklen_t *len) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t n = 0;
    if (family == AF_INET6 && addr_len == 16) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        memcpy(&in6->sin6_addr, addr, 16);
        n = sizeof *in6;
    } else if (family == AF_INET && addr_len == 4) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        memcpy(&in->sin_addr, addr, 4);
        n = sizeof *in;
    }
    /* As the kernel does: copy what fits, report the whole length. */
    memcpy(sa, &ss, *len < n ? *len : n);
    *len = n;
}
