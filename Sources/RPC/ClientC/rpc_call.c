/* Sending requests, receiving replies, cancellation, signals and events. */
#define _GNU_SOURCE
#include "rpc_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
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

/* Send one message on the socket; the caller holds send_lock. EINTR is
 * retried: a SEQPACKET send either sends the whole record or nothing. */
int husk_rpc_socket_send(struct husk_rpc_conn *c, const struct husk_rpc_header *h, const uint8_t *payload,
                         const int *fds, unsigned nfds) {
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

/* Send one message on the data path: through the request ring when it is
 * on (inline if it has no descriptors and fits a slot, else on the socket
 * announced by a slot, docs/protocol.md §11), else on the socket. */
static int send_one(struct husk_rpc_conn *c, const struct husk_rpc_header *h, const uint8_t *payload, const int *fds,
                    unsigned nfds) {
    if (!c->ring_on) return husk_rpc_socket_send(c, h, payload, fds, nfds);
    bool inl = nfds == 0 && HUSK_RPC_HEADER_SIZE + (size_t)h->payload_length <= husk_ring_inline_max(&c->ring);
    long backoff_us = 1;
    for (;;) {
        int st = husk_ring_can_send(&c->ring);
        if (st == 0) break;
        if (st == EPROTO || husk_ring_socket_gone(c->fd) || husk_rpc_is_dead(c)) {
            husk_rpc_mark_dead(c);
            return st == EPROTO ? EPROTO : ECONNRESET;
        }
        /* Full: the server is slow or holds our calls back; poll. */
        struct timespec ts = {.tv_sec = 0, .tv_nsec = backoff_us * 1000L};
        nanosleep(&ts, NULL);
        if (backoff_us < 1000) backoff_us *= 2;
    }
    uint8_t head[HUSK_RPC_HEADER_SIZE];
    if (inl) {
        husk_rpc_encode_header(head, h);
    } else {
        int st = husk_rpc_socket_send(c, h, payload, fds, nfds);
        if (st != 0) return st;
    }
    int st = husk_ring_send(&c->ring, inl ? HUSK_RING_KIND_INLINE : HUSK_RING_KIND_SOCKET, head, inl ? sizeof head : 0,
                            payload, inl ? h->payload_length : 0);
    if (st == HUSK_RING_NEEDS_SOCKET_WAKE) st = 0; /* the server never sleeps on the socket */
    if (st != 0) husk_rpc_mark_dead(c);
    return st == EPROTO ? EPROTO : st != 0 ? ECONNRESET : 0;
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

/* Receive one message from the socket into the connection's buffer.
 * Returns EINTR when a signal without SA_RESTART interrupted the wait. */
static int socket_recv_one(struct husk_rpc_conn *c, struct husk_rpc_message *m) {
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

/* A RING_WAKE (docs/protocol.md §11): an EVENT on interface 0, op 7. */
static bool is_wake(const struct husk_rpc_header *h) {
    return h->flags == HUSK_RPC_FLAG_EVENT && h->interface == HUSK_RPC_CONTROL_INTERFACE &&
           h->operation == HUSK_RING_OP_WAKE && h->request_id == 0 && h->payload_length == 0 && h->fd_count == 0;
}

/* Receive the next message from the reply ring: spin for a bounded time,
 * then sleep in a blocking (peeking) recvmsg on the socket with the ring's
 * flag at SLEEP_SOCKET, so that the server wakes us with a RING_WAKE and a
 * signal interrupts the wait exactly as on the socket path (SA_RESTART
 * restarts it; without it, EINTR). */
static int ring_recv_one(struct husk_rpc_conn *c, struct husk_rpc_message *m) {
    for (;;) {
        uint32_t kind = 0, len = 0;
        const char *why = NULL;
        int r = husk_ring_receive(&c->ring, c->rx, c->rx_cap, &kind, &len, &why);
        if (r == 0 && kind == HUSK_RING_KIND_SOCKET) {
            for (;;) {
                int st = socket_recv_one(c, m);
                if (st == EINTR) continue; /* the message is there: it does not block */
                if (st == 0 && is_wake(&m->header)) continue;
                return st;
            }
        }
        if (r == 0) {
            m->nfds = 0;
            if (husk_rpc_decode_header(c->rx, len, 0, &m->header) != 0) {
                husk_rpc_mark_dead(c);
                return EPROTO;
            }
            m->payload = c->rx + HUSK_RPC_HEADER_SIZE;
            return 0;
        }
        if (r == EPROTO) {
            husk_rpc_mark_dead(c);
            return EPROTO;
        }
        if (husk_ring_spin(&c->ring)) continue;
        if (husk_ring_prepare_sleep(&c->ring, HUSK_RING_SLEEP_SOCKET) != 0) continue;
        uint8_t head[HUSK_RPC_HEADER_SIZE];
        struct iovec iov = {.iov_base = head, .iov_len = sizeof head};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(c->fd, &msg, MSG_PEEK);
        int e = errno;
        husk_ring_end_sleep(&c->ring);
        if (n < 0 && e == EINTR) return EINTR;
        if (n <= 0) {
            husk_rpc_mark_dead(c);
            return ECONNRESET;
        }
        struct husk_rpc_header h;
        if (n == HUSK_RPC_HEADER_SIZE && husk_rpc_decode_header(head, (size_t)n, 0, &h) == 0 && is_wake(&h)) {
            (void)recv(c->fd, head, sizeof head, 0); /* consume the RING_WAKE */
            continue;
        }
        /* A message the ring is about to announce: its slot follows. */
        sched_yield();
    }
}

static int recv_one(struct husk_rpc_conn *c, struct husk_rpc_message *m) {
    return c->ring_on ? ring_recv_one(c, m) : socket_recv_one(c, m);
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

int husk_rpc_ring_setup(struct husk_rpc_conn *c) {
    if (c->ring_on) return 0;
    if ((c->features & HUSK_RPC_FEATURE_RING) == 0 ||
        husk_rpc_interface_version(c, HUSK_RPC_CONTROL_INTERFACE) < HUSK_RPC_CONTROL_VERSION)
        return ENOTSUP;
    uint32_t slots = HUSK_RING_DEFAULT_SLOTS, slot_size = HUSK_RING_DEFAULT_SLOT_SIZE;
    size_t size = (size_t)husk_ring_size(slots, slot_size);
    int fd = memfd_create("husk-rpc-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return errno;
    void *base = MAP_FAILED;
    int st = 0;
    if (ftruncate(fd, (off_t)size) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) st = errno;
    if (st == 0) {
        base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (base == MAP_FAILED) st = errno;
    }
    if (st == 0) {
        uint8_t payload[8];
        for (int i = 0; i < 4; i++) {
            payload[i] = (uint8_t)(slots >> (8 * i));
            payload[4 + i] = (uint8_t)(slot_size >> (8 * i));
        }
        struct husk_rpc_reply reply;
        bool sent = false;
        st = call_once(c, HUSK_RPC_CONTROL_INTERFACE, HUSK_RING_OP_SETUP, payload, sizeof payload, &fd, 1, &reply,
                       &sent);
        husk_rpc_reply_release(&reply);
    }
    close(fd);
    if (st == 0) st = husk_ring_init(&c->ring, base, size, slots, slot_size, 0);
    if (st != 0) {
        if (base != MAP_FAILED) munmap(base, size);
        return st;
    }
    c->ring_map = base;
    c->ring_map_size = size;
    husk_ring_activate(&c->ring);
    c->ring_on = true;
    c->want_ring = true;
    return 0;
}

void husk_rpc_ring_release(struct husk_rpc_conn *c) {
    if (c->ring_map != NULL) munmap(c->ring_map, c->ring_map_size);
    c->ring_map = NULL;
    c->ring_map_size = 0;
    c->ring_on = false;
    memset(&c->ring, 0, sizeof c->ring);
}

int husk_rpc_use_ring(struct husk_rpc_conn *c) {
    if (c == NULL) return EINVAL;
    pthread_mutex_lock(&c->call_lock);
    int st = husk_rpc_is_dead(c) ? ECONNRESET : husk_rpc_ring_setup(c);
    pthread_mutex_unlock(&c->call_lock);
    return st;
}

bool husk_rpc_ring_active(const struct husk_rpc_conn *c) { return c != NULL && c->ring_on; }

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
