/* Sending requests, receiving replies, cancellation, signals and events. */
#define _GNU_SOURCE
#include "rpc_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void husk_rpc_mark_dead(struct husk_rpc_conn *c) {
    pthread_mutex_lock(&c->state_lock);
    if (!c->dead) {
        c->dead = true;
        /* Wake nothing up but make every later send fail at once. */
        shutdown(c->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&c->state_lock);
}

bool husk_rpc_is_dead(struct husk_rpc_conn *c) {
    pthread_mutex_lock(&c->state_lock);
    bool dead = c->dead;
    pthread_mutex_unlock(&c->state_lock);
    return dead;
}

/* Send one message; the caller holds send_lock. EINTR is retried: a
 * SEQPACKET send either sends the whole record or nothing. */
static int send_one(struct husk_rpc_conn *c, const struct husk_rpc_header *h, const uint8_t *payload, const int *fds,
                    unsigned nfds) {
    uint8_t head[HUSK_RPC_HEADER_SIZE];
    husk_rpc_encode_header(head, h);
    struct iovec iov[2] = {
        {.iov_base = head, .iov_len = sizeof head},
        {.iov_base = (void *)payload, .iov_len = h->payload_length},
    };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * HUSK_RPC_MAX_REPLY_FDS)];
    } control;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = h->payload_length ? 2 : 1};
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    for (;;) {
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (n >= 0) return 0;
        if (errno == EINTR) continue;
        if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
            husk_rpc_mark_dead(c);
            return ECONNRESET;
        }
        return errno;
    }
}

/* Send a request, fragmented with MORE if needed (docs/protocol.md §5). */
static int send_request(struct husk_rpc_conn *c, struct husk_rpc_header h, const uint8_t *payload, size_t len,
                        const int *fds, unsigned nfds, bool *any_sent) {
    *any_sent = false;
    if (len > c->limits.max_payload) return EMSGSIZE;
    if (nfds > c->limits.max_fds || nfds > HUSK_RPC_MAX_REPLY_FDS) return EINVAL;
    size_t chunk = c->limits.max_message - HUSK_RPC_HEADER_SIZE;
    int st = 0;
    pthread_mutex_lock(&c->send_lock);
    size_t off = 0;
    do {
        size_t n = len - off < chunk ? len - off : chunk;
        struct husk_rpc_header f = h;
        f.payload_length = (uint32_t)n;
        f.flags = (uint16_t)(h.flags | (off + n < len ? HUSK_RPC_FLAG_MORE : 0));
        f.fd_count = (uint16_t)(off == 0 ? nfds : 0);
        st = send_one(c, &f, payload ? payload + off : NULL, fds, off == 0 ? nfds : 0);
        if (st == 0) *any_sent = true;
        off += n;
    } while (st == 0 && off < len);
    pthread_mutex_unlock(&c->send_lock);
    return st;
}

static int send_cancel(struct husk_rpc_conn *c, uint64_t id, uint32_t interface, uint32_t operation) {
    struct husk_rpc_header h = {
        .flags = HUSK_RPC_FLAG_CANCEL, .interface = interface, .operation = operation, .request_id = id};
    pthread_mutex_lock(&c->send_lock);
    int st = send_one(c, &h, NULL, NULL, 0);
    pthread_mutex_unlock(&c->send_lock);
    return st;
}

/* Receive one message into the connection's buffer. Returns EINTR when a
 * signal without SA_RESTART interrupted the wait. */
static int recv_one(struct husk_rpc_conn *c, struct husk_rpc_message *m) {
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * HUSK_RPC_MAX_REPLY_FDS)];
    } control;
    struct iovec iov = {.iov_base = c->rx, .iov_len = c->rx_cap};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    m->nfds = 0;
    ssize_t n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) {
        if (errno == EINTR) return EINTR;
        if (errno == ECONNRESET || errno == ENOTCONN || errno == EPIPE) {
            husk_rpc_mark_dead(c);
            return ECONNRESET;
        }
        return errno;
    }
    if (n == 0) {
        husk_rpc_mark_dead(c);
        return ECONNRESET;
    }
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
        unsigned count = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (unsigned i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
            if (m->nfds < HUSK_RPC_MAX_REPLY_FDS)
                m->fds[m->nfds++] = fd;
            else
                close(fd);
        }
    }
    if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
        husk_rpc_decode_header(c->rx, (size_t)n, m->nfds, &m->header) != 0) {
        husk_rpc_close_fds(m->fds, m->nfds);
        m->nfds = 0;
        husk_rpc_mark_dead(c);
        return EPROTO;
    }
    m->payload = c->rx + HUSK_RPC_HEADER_SIZE;
    return 0;
}

static void deliver_event(struct husk_rpc_conn *c, struct husk_rpc_message *m) {
    if (c->event_handler != NULL && (m->header.flags & HUSK_RPC_FLAG_MORE) == 0)
        c->event_handler(c->event_context, m->header.interface, m->header.operation, m->payload,
                         m->header.payload_length, m->fds, m->nfds);
    husk_rpc_close_fds(m->fds, m->nfds);
}

/* Append a fragment of our reply to *reply (payload and descriptors). */
static int collect(struct husk_rpc_conn *c, struct husk_rpc_reply *reply, struct husk_rpc_message *m) {
    size_t n = m->header.payload_length;
    int st = 0;
    if (reply->nfds + m->nfds > HUSK_RPC_MAX_REPLY_FDS) {
        st = EPROTO;
    } else {
        memcpy(reply->fds + reply->nfds, m->fds, sizeof(int) * m->nfds);
        reply->nfds += m->nfds;
        m->nfds = 0;
    }
    if (st == 0 && n > 0) {
        if (n > c->limits.max_payload - reply->payload_len) {
            st = EMSGSIZE;
        } else {
            uint8_t *p = realloc(reply->payload, reply->payload_len + n);
            if (p == NULL) {
                st = ENOMEM;
            } else {
                memcpy(p + reply->payload_len, m->payload, n);
                reply->payload = p;
                reply->payload_len += n;
            }
        }
    }
    husk_rpc_close_fds(m->fds, m->nfds);
    return st;
}

static void reply_init(struct husk_rpc_reply *reply) {
    reply->payload = NULL;
    reply->payload_len = 0;
    for (unsigned i = 0; i < HUSK_RPC_MAX_REPLY_FDS; i++) reply->fds[i] = -1;
    reply->nfds = 0;
    reply->signal = 0;
}

void husk_rpc_reply_release(struct husk_rpc_reply *reply) {
    if (reply == NULL) return;
    free(reply->payload);
    husk_rpc_close_fds(reply->fds, reply->nfds);
    reply_init(reply);
}

int husk_rpc_reply_take_fd(struct husk_rpc_reply *reply, unsigned index) {
    if (reply == NULL || index >= reply->nfds) return -1;
    int fd = reply->fds[index];
    reply->fds[index] = -1;
    return fd;
}

/* One attempt of a call; the caller holds call_lock and has checked that
 * the connection is not known to be dead. *sent tells whether the server
 * may have received (part of) the request. */
static int call_once(struct husk_rpc_conn *c, uint32_t interface, uint32_t operation, const void *payload,
                     size_t payload_len, const int *fds, unsigned nfds, struct husk_rpc_reply *reply, bool *sent_out) {
    reply_init(reply);
    pthread_mutex_lock(&c->state_lock);
    uint64_t id = c->next_request_id++;
    c->current_request_id = id;
    c->current_interface = interface;
    c->current_operation = operation;
    pthread_mutex_unlock(&c->state_lock);

    struct husk_rpc_header h = {.interface = interface, .operation = operation, .request_id = id};
    bool sent = false;
    int st = send_request(c, h, payload, payload_len, fds, nfds, &sent);
    *sent_out = sent;
    int status = 0;
    int sig = 0;
    bool cancelled = false;
    while (st == 0) {
        struct husk_rpc_message m;
        st = recv_one(c, &m);
        if (st == EINTR) {
            /* A signal without SA_RESTART: cancel once, then wait for the
             * server's final reply. */
            st = cancelled ? 0 : send_cancel(c, id, interface, operation);
            cancelled = true;
            continue;
        }
        if (st != 0) break;
        if ((m.header.flags & HUSK_RPC_FLAG_EVENT) != 0) {
            deliver_event(c, &m);
            continue;
        }
        if ((m.header.flags & HUSK_RPC_FLAG_REPLY) == 0 || m.header.request_id != id) {
            /* Not ours (a reply to nothing we wait for): drop it. */
            husk_rpc_close_fds(m.fds, m.nfds);
            continue;
        }
        st = collect(c, reply, &m);
        if (st != 0 || (m.header.flags & HUSK_RPC_FLAG_MORE) != 0) continue;
        status = m.header.status;
        sig = m.header.signal;
        break;
    }
    if (sent && (st == EPROTO || st == EMSGSIZE || st == ENOMEM)) {
        /* The rest of a reply we could not take would be misread as the
         * next call's: the connection is unusable. */
        husk_rpc_mark_dead(c);
    }

    pthread_mutex_lock(&c->state_lock);
    c->current_request_id = 0;
    pthread_mutex_unlock(&c->state_lock);

    if (st == 0 && status < 0) status = EPROTO;
    if (st != 0 || status != 0) {
        husk_rpc_reply_release(reply);
        reply->signal = sig;
    } else {
        reply->signal = sig;
    }
    return st != 0 ? st : status;
}

/* An adopted handle is stale once its parent has seen another server epoch
 * than the one the handle was opened under. After the handle's own
 * connection died, PING through the parent first so that a parent with
 * reconnect enabled finds out whether the server restarted. */
static bool is_stale(struct husk_rpc_conn *c, bool after_reset) {
    if (c->parent == NULL) return false;
    if (after_reset) {
        struct husk_rpc_reply r;
        if (husk_rpc_call_flags(c->parent, HUSK_RPC_CONTROL_INTERFACE, HUSK_RPC_OP_PING, NULL, 0, NULL, 0,
                                HUSK_RPC_CALL_IDEMPOTENT, &r) == 0)
            husk_rpc_reply_release(&r);
    }
    return husk_rpc_server_epoch(c->parent) != husk_rpc_server_epoch(c);
}

int husk_rpc_call_flags(struct husk_rpc_conn *c, uint32_t interface, uint32_t operation, const void *payload,
                        size_t payload_len, const int *fds, unsigned nfds, uint32_t flags,
                        struct husk_rpc_reply *reply) {
    if (c == NULL || reply == NULL || (payload == NULL && payload_len != 0) || (fds == NULL && nfds != 0) ||
        (flags & ~HUSK_RPC_CALL_IDEMPOTENT) != 0)
        return EINVAL;
    reply_init(reply);
    pthread_mutex_lock(&c->call_lock);
    int retries = 0; /* re-sends of a request the server may have had */
    int unsent = 0;  /* new connections for a request never sent */
    int st;
    for (;;) {
        if (is_stale(c, false)) {
            st = ESTALE;
            break;
        }
        if (husk_rpc_is_dead(c)) {
            /* Known dead before sending: reconnect (if enabled) and send
             * on the new connection whatever the flags. */
            st = husk_rpc_reconnect(c);
            if (st != 0) {
                st = c->parent != NULL && is_stale(c, true) ? ESTALE : ECONNRESET;
                break;
            }
        }
        bool sent = false;
        st = call_once(c, interface, operation, payload, payload_len, fds, nfds, reply, &sent);
        if (st != ECONNRESET) break;
        if (c->parent != NULL) {
            /* A handle never reconnects: stale, or just reset. */
            st = is_stale(c, true) ? ESTALE : ECONNRESET;
            break;
        }
        if (c->reconnect_timeout_ms <= 0) break;
        if (!sent) {
            /* The death was noticed by the send: nothing reached the
             * server. Bounded in case the server keeps dying. */
            if (unsent++ > c->max_retries) break;
            continue;
        }
        if ((flags & HUSK_RPC_CALL_IDEMPOTENT) == 0 || retries >= c->max_retries)
            break; /* ECONNRESET; the next call reconnects */
        retries++;
    }
    pthread_mutex_unlock(&c->call_lock);
    int sig = reply->signal;
    if (sig > 0 && sig < NSIG) pthread_kill(pthread_self(), sig);
    return st;
}

int husk_rpc_call(struct husk_rpc_conn *c, uint32_t interface, uint32_t operation, const void *payload,
                  size_t payload_len, const int *fds, unsigned nfds, struct husk_rpc_reply *reply) {
    return husk_rpc_call_flags(c, interface, operation, payload, payload_len, fds, nfds, 0, reply);
}

int husk_rpc_cancel(struct husk_rpc_conn *c) {
    if (c == NULL) return EINVAL;
    pthread_mutex_lock(&c->state_lock);
    uint64_t id = c->current_request_id;
    uint32_t interface = c->current_interface, operation = c->current_operation;
    bool dead = c->dead;
    pthread_mutex_unlock(&c->state_lock);
    if (dead) return ECONNRESET;
    if (id == 0) return ENOENT;
    return send_cancel(c, id, interface, operation);
}

void husk_rpc_set_event_handler(struct husk_rpc_conn *c, husk_rpc_event_handler handler, void *context) {
    pthread_mutex_lock(&c->call_lock);
    c->event_handler = handler;
    c->event_context = context;
    pthread_mutex_unlock(&c->call_lock);
}
