/*
 * lwport_socket.c — lwIP's sockets as the provider "lwip" of the glue's
 * socket registry (husk/glue/socket.h), for the net server.
 *
 * Every lwIP socket is made non-blocking (FIONBIO), so no op waits in
 * lwIP; the glue builds blocking calls from these ops and lwip_poll, in
 * slices it can interrupt (lwIP's own waits ignore cancellation). The glue
 * runs one op per socket at a time and close alone, which is what lwIP's
 * sockets need without LWIP_NETCONN_FULLDUPLEX.
 *
 * lwIP's errors are mostly POSIX's already (err_to_errno); where a POSIX
 * stack says something else this file translates, keeping what it needs
 * per socket: a connect refused by a reset is ECONNREFUSED (lwIP: reset),
 * a connect given up after its SYN retries is ETIMEDOUT (lwIP: aborted),
 * and a send on a connection that was reset or shut down for sending is
 * EPIPE (lwIP: reset or not connected).
 */
#include "lwport_private.h"
#include "lwip/sockets.h"

struct lwport_sock {
    int fd;
    uint32_t type;                /* SOCKET_STREAM or SOCKET_DGRAM */
    bool eof;                     /* the end of the stream was read: recv returns 0 from now on */
    bool connecting;              /* a connect returned EINPROGRESS; its outcome is not known yet */
    bool connected;               /* established once (accepted, or a connect that finished) */
    bool write_shut;              /* shutdown for sending */
    struct sockaddr_storage peer; /* the address a connect is going to (to ask lwIP how it went) */
    socklen_t peer_len;
};

/* ---- Addresses and errors. */

static int lwport_to_sockaddr(const struct socket_addr *a, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    if (a->family == SOCKET_AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_len = sizeof *in;
        in->sin_family = AF_INET;
        in->sin_port = lwip_htons(a->port);
        memcpy(&in->sin_addr, a->addr, 4);
        *len = sizeof *in;
        return 0;
    }
    if (a->family == SOCKET_AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_len = sizeof *in6;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = lwip_htons(a->port);
        memcpy(&in6->sin6_addr, a->addr, 16);
        *len = sizeof *in6;
        return 0;
    }
    return HUSK_EAFNOSUPPORT;
}

static void lwport_from_sockaddr(const struct sockaddr_storage *ss, struct socket_addr *a) {
    memset(a, 0, sizeof *a);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        a->family = SOCKET_AF_INET;
        a->port = lwip_ntohs(in->sin_port);
        memcpy(a->addr, &in->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        a->family = SOCKET_AF_INET6;
        a->port = lwip_ntohs(in6->sin6_port);
        memcpy(a->addr, &in6->sin6_addr, 16);
    }
}

/* The error of the lwIP call that just failed on this thread. lwIP's
 * EWOULDBLOCK is EAGAIN, and its errno numbers are Linux's (the C
 * subset's errno.h), which the HUSK_E* codes equal. */
static int lwport_errno(void) {
    int e = errno;
    return e > 0 ? e : HUSK_EIO;
}

/* A connect's outcome as POSIX names it. */
static int lwport_connect_error(int e) {
    if (e == ECONNRESET) return HUSK_ECONNREFUSED; /* a reset answered the SYN */
    if (e == ECONNABORTED) return HUSK_ETIMEDOUT;  /* lwIP aborts a connect only when its SYN retries run out */
    return e;
}

/* ---- Ops. */

static int lwport_sock_socket(void *priv, uint32_t family, uint32_t type, void **out) {
    int domain = family == SOCKET_AF_INET ? AF_INET : family == SOCKET_AF_INET6 ? AF_INET6 : -1;
    if (domain < 0) return HUSK_EAFNOSUPPORT;
    if (type != SOCKET_STREAM && type != SOCKET_DGRAM) return HUSK_EINVAL;
    int fd = lwip_socket(domain, type == SOCKET_STREAM ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (fd < 0) return lwport_errno();
    unsigned long on = 1;
    if (lwip_ioctl(fd, (long)FIONBIO, &on) != 0) {
        int e = lwport_errno();
        lwip_close(fd);
        return e;
    }
    struct lwport_sock *s = kmem_zalloc(sizeof *s, KM_SLEEP);
    s->fd = fd;
    s->type = type;
    *out = s;
    return 0;
}

static int lwport_sock_bind(void *priv, void *sp, const struct socket_addr *a) {
    struct lwport_sock *s = sp;
    struct sockaddr_storage ss;
    socklen_t len;
    int e = lwport_to_sockaddr(a, &ss, &len);
    if (e != 0) return e;
    return lwip_bind(s->fd, (struct sockaddr *)&ss, len) == 0 ? 0 : lwport_errno();
}

static int lwport_sock_listen(void *priv, void *sp, uint32_t backlog) {
    struct lwport_sock *s = sp;
    if (s->type != SOCKET_STREAM) return HUSK_ENOTSUP;
    int n = backlog > 255 ? 255 : backlog == 0 ? 1 : (int)backlog; /* lwIP keeps a u8 */
    return lwip_listen(s->fd, n) == 0 ? 0 : lwport_errno();
}

static int lwport_sock_accept(void *priv, void *sp, void **out, struct socket_addr *peer) {
    struct lwport_sock *s = sp;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    int fd = lwip_accept(s->fd, (struct sockaddr *)&ss, &len);
    if (fd < 0) return lwport_errno();
    unsigned long on = 1;
    if (lwip_ioctl(fd, (long)FIONBIO, &on) != 0) {
        int e = lwport_errno();
        lwip_close(fd);
        return e;
    }
    struct lwport_sock *n = kmem_zalloc(sizeof *n, KM_SLEEP);
    n->fd = fd;
    n->type = SOCKET_STREAM;
    n->connected = true;
    lwport_from_sockaddr(&ss, peer);
    *out = n;
    return 0;
}

static int lwport_sock_connect(void *priv, void *sp, const struct socket_addr *a) {
    struct lwport_sock *s = sp;
    struct sockaddr_storage ss;
    socklen_t len;
    int e = lwport_to_sockaddr(a, &ss, &len);
    if (e != 0) return e;
    if (lwip_connect(s->fd, (struct sockaddr *)&ss, len) == 0) {
        s->connected = s->type == SOCKET_STREAM;
        return 0;
    }
    e = lwport_errno();
    if (e == EINPROGRESS && s->type == SOCKET_STREAM) {
        s->connecting = true;
        s->peer = ss;
        s->peer_len = len;
    }
    return e;
}

/* What a connect in progress has become: 0 (connected, or still going),
 * or why it failed. lwIP reports a failure once (SO_ERROR clears it) and
 * a success nowhere, so a second connect asks: EISCONN means connected,
 * EALREADY still in progress. */
static int lwport_connect_outcome(struct lwport_sock *s) {
    int err = 0;
    socklen_t len = sizeof err;
    if (lwip_getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return lwport_errno();
    if (err == 0) {
        if (lwip_connect(s->fd, (struct sockaddr *)&s->peer, s->peer_len) == 0) return 0;
        int e = lwport_errno();
        if (e == EALREADY) return 0;
        if (e != EISCONN) {
            /* It failed in between: the reason is pending again. */
            len = sizeof err;
            if (lwip_getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0) err = e;
        }
    }
    s->connecting = false;
    if (err == 0) {
        s->connected = true;
        return 0;
    }
    return lwport_connect_error(err);
}

static int lwport_sock_send(void *priv, void *sp, const void *data, size_t len, const struct socket_addr *a,
                            size_t *sent) {
    struct lwport_sock *s = sp;
    *sent = 0;
    if (len == 0) return 0;
    ssize_t n;
    if (a != NULL && s->type == SOCKET_DGRAM) {
        struct sockaddr_storage ss;
        socklen_t alen;
        int e = lwport_to_sockaddr(a, &ss, &alen);
        if (e != 0) return e;
        n = lwip_sendto(s->fd, data, len, 0, (struct sockaddr *)&ss, alen);
    } else {
        n = lwip_send(s->fd, data, len, 0);
    }
    if (n >= 0) {
        if (n > 0 && s->type == SOCKET_STREAM) {
            s->connecting = false;
            s->connected = true;
        }
        *sent = (size_t)n;
        return n > 0 || len == 0 ? 0 : HUSK_EAGAIN;
    }
    int e = lwport_errno();
    if (s->type == SOCKET_STREAM && e != EAGAIN) {
        if (s->connecting && lwport_connect_outcome(s) != 0) return HUSK_ENOTCONN;
        if ((s->connected || s->write_shut) && (e == ECONNRESET || e == ECONNABORTED || e == ENOTCONN)) {
            return HUSK_EPIPE;
        }
    }
    return e;
}

static int lwport_sock_recv(void *priv, void *sp, void *buf, size_t cap, uint32_t flags, size_t *got,
                            struct socket_addr *from) {
    struct lwport_sock *s = sp;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    *got = 0;
    /* After the end of the stream lwIP may have let go of the connection
     * (lwport_sock_settle): the end stays the end, as POSIX has it. */
    if (s->eof) return 0;
    int lflags = (flags & SOCKET_MSG_PEEK) != 0 ? MSG_PEEK : 0;
    ssize_t n = lwip_recvfrom(s->fd, buf, cap, lflags, (struct sockaddr *)&ss, &len);
    if (n < 0) return lwport_errno();
    if (s->type == SOCKET_STREAM && cap > 0 && (n > 0 || s->connecting)) {
        /* Data or the peer's FIN: the connection was established. */
        s->connecting = false;
        s->connected = true;
    }
    if (n == 0 && s->type == SOCKET_STREAM && cap > 0) {
        s->eof = true;
        lwport_sock_settle(s->fd); /* lwIP shut the receive side on reading the end */
    }
    *got = (size_t)n;
    if (from != NULL) lwport_from_sockaddr(&ss, from);
    return 0;
}

static int lwport_sock_shutdown(void *priv, void *sp, uint32_t how) {
    struct lwport_sock *s = sp;
    if (how > SOCKET_SHUT_RDWR) return HUSK_EINVAL;
    if (lwip_shutdown(s->fd, (int)how) != 0) return lwport_errno();
    if (how != SOCKET_SHUT_RD) s->write_shut = true;
    if (how != SOCKET_SHUT_WR && s->connected) lwport_sock_settle(s->fd);
    return 0;
}

static void lwport_sock_close(void *priv, void *sp) {
    struct lwport_sock *s = sp;
    if (s->connected) lwport_sock_settle(s->fd);
    (void)lwip_close(s->fd);
    kmem_free(s, sizeof *s);
}

static int lwport_sock_getname(void *priv, void *sp, bool peer, struct socket_addr *out) {
    struct lwport_sock *s = sp;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    int r = peer ? lwip_getpeername(s->fd, (struct sockaddr *)&ss, &len)
                 : lwip_getsockname(s->fd, (struct sockaddr *)&ss, &len);
    if (r != 0) return lwport_errno();
    lwport_from_sockaddr(&ss, out);
    return 0;
}

/* The lwIP level and name of an option; false when lwIP has none. */
static bool lwport_option(struct lwport_sock *s, uint32_t option, int *level, int *name) {
    switch (option) {
    case SOCKET_OPT_REUSEADDR: *level = SOL_SOCKET, *name = SO_REUSEADDR; return true;
    case SOCKET_OPT_KEEPALIVE: *level = SOL_SOCKET, *name = SO_KEEPALIVE; return true;
    case SOCKET_OPT_RCVBUF: *level = SOL_SOCKET, *name = SO_RCVBUF; return true;
    case SOCKET_OPT_NODELAY: *level = IPPROTO_TCP, *name = TCP_NODELAY; return s->type == SOCKET_STREAM;
    default: return false;
    }
}

static int lwport_sock_setopt(void *priv, void *sp, uint32_t option, uint32_t value) {
    struct lwport_sock *s = sp;
    /* lwIP's send buffer is TCP_SND_BUF for every connection: a request
     * for another size is accepted and getopt reports the size in force,
     * as a POSIX stack may adjust what it is asked for. */
    if (option == SOCKET_OPT_SNDBUF) return value > 0 ? 0 : HUSK_EINVAL;
    int level, name;
    if (!lwport_option(s, option, &level, &name)) return HUSK_ENOPROTOOPT;
    int v = value > 0x7fffffffu ? 0x7fffffff : (int)value;
    return lwip_setsockopt(s->fd, level, name, &v, sizeof v) == 0 ? 0 : lwport_errno();
}

static int lwport_sock_getopt(void *priv, void *sp, uint32_t option, uint32_t *value) {
    struct lwport_sock *s = sp;
    if (option == SOCKET_OPT_SNDBUF) {
        *value = s->type == SOCKET_STREAM ? TCP_SND_BUF : 0xffffu; /* a UDP datagram's limit */
        return 0;
    }
    if (option == SOCKET_OPT_ERROR) {
        int e;
        if (s->connecting) {
            e = lwport_connect_outcome(s);
        } else {
            int err = 0;
            socklen_t len = sizeof err;
            if (lwip_getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return lwport_errno();
            e = err;
        }
        *value = (uint32_t)e;
        return 0;
    }
    int level, name, v = 0;
    socklen_t len = sizeof v;
    if (!lwport_option(s, option, &level, &name)) return HUSK_ENOPROTOOPT;
    if (lwip_getsockopt(s->fd, level, name, &v, &len) != 0) return lwport_errno();
    *value = v < 0 ? 0 : (uint32_t)v;
    return 0;
}

static int lwport_sock_poll(void *priv, struct socket_pollitem *items, uint32_t n, uint32_t timeout_ms) {
    struct pollfd small[8];
    struct pollfd *fds = n <= 8 ? small : kmem_alloc(n * sizeof *fds, KM_SLEEP);
    for (uint32_t i = 0; i < n; i++) {
        struct lwport_sock *s = items[i].sock;
        fds[i].fd = s->fd;
        fds[i].events = (short)(((items[i].events & SOCKET_POLLIN) != 0 ? POLLIN : 0) |
                                ((items[i].events & SOCKET_POLLOUT) != 0 ? POLLOUT : 0));
        fds[i].revents = 0;
    }
    int r = lwip_poll(fds, (nfds_t)n, (int)timeout_ms);
    int e = r < 0 ? lwport_errno() : 0;
    for (uint32_t i = 0; i < n; i++) {
        short re = fds[i].revents;
        items[i].revents = ((re & POLLIN) != 0 ? SOCKET_POLLIN : 0) | ((re & POLLOUT) != 0 ? SOCKET_POLLOUT : 0) |
                           ((re & POLLERR) != 0 ? SOCKET_POLLERR : 0) | ((re & POLLHUP) != 0 ? SOCKET_POLLHUP : 0) |
                           ((re & POLLNVAL) != 0 ? SOCKET_POLLNVAL : 0);
    }
    if (fds != small) kmem_free(fds, n * sizeof *fds);
    /* An invalid socket is reported in its revents, not as a failed poll. */
    return r < 0 && e != EBADF ? e : 0;
}

static const struct socket_provider lwport_sockets = {
    .name = "lwip",
    .socket = lwport_sock_socket,
    .bind = lwport_sock_bind,
    .listen = lwport_sock_listen,
    .accept = lwport_sock_accept,
    .connect = lwport_sock_connect,
    .send = lwport_sock_send,
    .recv = lwport_sock_recv,
    .shutdown = lwport_sock_shutdown,
    .close = lwport_sock_close,
    .getname = lwport_sock_getname,
    .setopt = lwport_sock_setopt,
    .getopt = lwport_sock_getopt,
    .poll = lwport_sock_poll,
};

int lwport_sockets_start(void) {
    int e = glue_socket_provider_register(&lwport_sockets);
    if (e != 0) glue_logf(LOG_ERR, "cannot register the socket provider 'lwip': %s", glue_strerror(e));
    return e;
}

void lwport_sockets_stop(void) { glue_socket_provider_unregister(&lwport_sockets); }
