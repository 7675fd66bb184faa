/*
 * husk/glue/socket.h — a registry of socket providers: where a network
 * stack component (lwip) offers BSD-style sockets to the servers that
 * export them (the net server, docs/net.md), as disk.h does for block
 * devices and netif.h for NICs. A provider registers an ops table under a
 * name; consumers create sockets through it and never see the table.
 *
 * Non-blocking ops, blocking in the glue. Every op but poll returns at
 * once: HUSK_EAGAIN when it would have to wait (accept with no connection
 * queued, recv with no data, send with a full send buffer), and connect
 * returns HUSK_EINPROGRESS when the handshake has started (it completes
 * when poll reports SOCKET_POLLOUT or SOCKET_POLLERR, and
 * SOCKET_OPT_ERROR then says how). The glue builds blocking calls from
 * these and poll, waiting in slices of at most 20 ms and checking the
 * calling thread's cancellation between slices, so a blocked accept, recv,
 * send or connect ends with HUSK_EINTR within about 20 ms of the RPC
 * call's cancellation even when the stack's own waits ignore cancellation
 * (lwIP's do: its API cannot report an interrupted wait).
 *
 * Threads and context. Ops run on the consumer's thread (an RPC worker),
 * and the glue makes that thread act for the provider's component while
 * an op runs: ctx_current() is the provider's, so objects the stack
 * creates in an op (lwIP's semaphores and mailboxes) belong to it and the
 * host accounts them to it. Cancellation stays the calling thread's.
 *
 * Concurrency per socket: the glue never runs two ops on one socket at
 * once, except poll, which may run while another op on the same socket
 * runs. close is called exactly once per socket, when no other op (poll
 * included) runs on it. Ops on different sockets run concurrently.
 *
 * Buffers: send's data and recv's buffer are the consumer's and are used
 * only during the call (the provider copies). struct socket_addr arguments
 * are read during the call; results are written before it returns.
 *
 * Errors are HUSK_E* codes with their POSIX meaning (husk/hypercall.h),
 * e.g. HUSK_EADDRINUSE (bind), HUSK_ECONNREFUSED and HUSK_ETIMEDOUT
 * (through SOCKET_OPT_ERROR after connect), HUSK_ECONNRESET (recv after a
 * reset), HUSK_EPIPE (send on a connection that was reset or shut down for
 * sending), HUSK_ENOTCONN, HUSK_EISCONN, HUSK_EALREADY, HUSK_EAFNOSUPPORT,
 * HUSK_ENOPROTOOPT (an option the stack does not have), HUSK_EMSGSIZE,
 * HUSK_ENOBUFS/HUSK_ENOMEM, HUSK_EHOSTUNREACH, HUSK_EADDRNOTAVAIL,
 * HUSK_EDESTADDRREQ, HUSK_EINVAL.
 *
 * Consumers are the Swift glue's (Glue.SocketStack, Glue.Socket, used by
 * the net server); a C consumer API comes with the first C consumer.
 */
#ifndef HUSK_GLUE_SOCKET_H
#define HUSK_GLUE_SOCKET_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SOCKET_PROVIDER_NAME_MAX 31u /* bytes of a provider name, without the NUL */

/* Address families and socket types (Linux's numbers). */
#define SOCKET_AF_INET  2u
#define SOCKET_AF_INET6 10u
#define SOCKET_STREAM   1u /* TCP */
#define SOCKET_DGRAM    2u /* UDP */

/* An IPv4 or IPv6 address and port. */
struct socket_addr {
    uint16_t family;   /* SOCKET_AF_INET or SOCKET_AF_INET6 */
    uint16_t port;     /* host byte order */
    uint32_t reserved; /* 0 */
    uint8_t addr[16];  /* network byte order; IPv4 in addr[0..3], the rest 0 */
};

/* recv flags. */
#define SOCKET_MSG_PEEK 1u /* return data without taking it off the queue */

/* shutdown: which direction(s) (POSIX's numbers). */
#define SOCKET_SHUT_RD   0u
#define SOCKET_SHUT_WR   1u
#define SOCKET_SHUT_RDWR 2u

/* Options (setopt/getopt), each an integer. */
#define SOCKET_OPT_REUSEADDR 1u /* 0/1: bind may reuse a local address in TIME_WAIT */
#define SOCKET_OPT_KEEPALIVE 2u /* 0/1: TCP keepalive probes */
#define SOCKET_OPT_RCVBUF    3u /* bytes the receive queue holds */
#define SOCKET_OPT_SNDBUF    4u /* bytes the send buffer holds (the stack may keep its own size: getopt says) */
#define SOCKET_OPT_NODELAY   5u /* 0/1: TCP without Nagle's algorithm */
#define SOCKET_OPT_ERROR     6u /* get only: the pending error, cleared by reading; 0 once a connect succeeded */

/* poll events (Linux's values). */
#define SOCKET_POLLIN   0x001u /* accept or recv would not wait (data, a connection, end of stream or an error) */
#define SOCKET_POLLOUT  0x004u /* send would not wait; a started connect has finished */
#define SOCKET_POLLERR  0x008u /* an error is pending (always reported) */
#define SOCKET_POLLHUP  0x010u /* both directions are closed (always reported) */
#define SOCKET_POLLNVAL 0x020u /* not an open socket of this provider */

struct socket_pollitem {
    void *sock;       /* a socket of this provider */
    uint32_t events;  /* SOCKET_POLLIN | SOCKET_POLLOUT */
    uint32_t revents; /* out */
};

/* A provider's ops. `priv` is the first argument of each; `s` a socket
 * the provider returned from socket or accept. All [irq: no]. */
struct socket_provider {
    const char *name; /* unique: 1..SOCKET_PROVIDER_NAME_MAX bytes of [A-Za-z0-9_.-] */
    void *priv;
    /* [blocks: no] A new socket of family SOCKET_AF_* and type SOCKET_STREAM
     * or SOCKET_DGRAM in *out. HUSK_EAFNOSUPPORT, HUSK_EINVAL (type),
     * HUSK_ENOMEM/HUSK_ENOBUFS (the stack's limit). */
    int (*socket)(void *priv, uint32_t family, uint32_t type, void **out);
    /* [blocks: no] Bind to a local address (port 0: any free port). */
    int (*bind)(void *priv, void *s, const struct socket_addr *addr);
    /* [blocks: no] Accept connections, at most backlog waiting (stream). */
    int (*listen)(void *priv, void *s, uint32_t backlog);
    /* [blocks: no] A queued connection as a new socket in *out, its peer in
     * *peer; HUSK_EAGAIN when none is queued. */
    int (*accept)(void *priv, void *s, void **out, struct socket_addr *peer);
    /* [blocks: no] Stream: start connecting, HUSK_EINPROGRESS (then poll
     * and SOCKET_OPT_ERROR), HUSK_EALREADY while a connect is in progress,
     * HUSK_EISCONN once connected. Datagram: set the default peer, 0. */
    int (*connect)(void *priv, void *s, const struct socket_addr *addr);
    /* [blocks: no] Send up to len bytes (to addr when not NULL: datagram
     * sockets); *sent: what was taken, 0 < *sent <= len on success (a
     * datagram goes whole or not at all). HUSK_EAGAIN: nothing fitted. */
    int (*send)(void *priv, void *s, const void *data, size_t len, const struct socket_addr *addr, size_t *sent);
    /* [blocks: no] Receive up to cap bytes into buf (SOCKET_MSG_* flags);
     * *got: the bytes, 0 at the end of a stream; *from (when not NULL):
     * the sender. A datagram longer than cap is cut to cap. HUSK_EAGAIN:
     * nothing to receive yet. */
    int (*recv)(void *priv, void *s, void *buf, size_t cap, uint32_t flags, size_t *got, struct socket_addr *from);
    /* [blocks: no] Shut one or both directions (SOCKET_SHUT_*). */
    int (*shutdown)(void *priv, void *s, uint32_t how);
    /* [blocks: no] Release the socket (a connection is closed, a listener
     * drops its queue). The provider never sees s again. */
    void (*close)(void *priv, void *s);
    /* [blocks: no] The local (peer false) or remote address. HUSK_ENOTCONN. */
    int (*getname)(void *priv, void *s, bool peer, struct socket_addr *out);
    /* [blocks: no] SOCKET_OPT_* (HUSK_ENOPROTOOPT: not supported). */
    int (*setopt)(void *priv, void *s, uint32_t option, uint32_t value);
    int (*getopt)(void *priv, void *s, uint32_t option, uint32_t *value);
    /* [blocks: yes] Wait up to timeout_ms (0: do not wait) until one of the
     * n sockets has one of its events, or an error or hang-up; fill every
     * revents and return 0. It may return early with nothing ready (the
     * glue calls again) and may ignore cancellation (the glue passes at
     * most 20 ms and checks between calls). */
    int (*poll)(void *priv, struct socket_pollitem *items, uint32_t n, uint32_t timeout_ms);
};

/* [blocks: no] [irq: no] Offer p (the struct must stay valid until
 * unregistered). 0, HUSK_EINVAL (bad name, an op missing), HUSK_EEXIST. */
int glue_socket_provider_register(const struct socket_provider *p);
/* [blocks: yes] [irq: no] Withdraw p: new calls fail with HUSK_ENODEV and
 * blocked consumers return HUSK_ENODEV within a wait slice; every socket
 * consumers still hold is closed through p->close; returns once no call is
 * inside an op of p, so the provider may stop its stack afterwards. */
void glue_socket_provider_unregister(const struct socket_provider *p);

#ifdef __cplusplus
}
#endif

#endif
