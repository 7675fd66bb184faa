/*
 * lwport_echo.c — a TCP echo service (RFC 862) on lwIP's raw API: every
 * byte a client sends comes back. It runs entirely in the tcpip thread's
 * callbacks, so it needs no thread of its own; it exists so that the
 * host kernel's TCP can be tested against the stack before the net server
 * exists (docs/lwip.md).
 */
#include "lwport_private.h"
#include "lwip/tcp.h"

/* Queue for sending what fits of p's bytes; how many were queued. */
static u16_t lwport_echo_write(struct tcp_pcb *pcb, struct pbuf *p, err_t *err) {
    u16_t done = 0;
    *err = ERR_OK;
    while (done < p->tot_len) {
        u16_t n = (u16_t)(p->tot_len - done);
        u16_t room = tcp_sndbuf(pcb);
        u8_t piece[512]; /* a pbuf's bytes may span a chain: copy a piece out at a time */
        if (n > room) n = room;
        if (n > sizeof piece) n = sizeof piece;
        if (n == 0) break; /* the rest after tcp_sent */
        pbuf_copy_partial(p, piece, n, done);
        err_t e = tcp_write(pcb, piece, n, TCP_WRITE_FLAG_COPY);
        if (e == ERR_MEM) break; /* segment queue full: the rest after tcp_sent */
        if (e != ERR_OK) {
            *err = e;
            break;
        }
        done = (u16_t)(done + n);
    }
    return done;
}

/* Per connection: the received data not yet queued for sending (at most
 * a receive window: the window reopens only as it is queued). */
struct lwport_echo_conn {
    struct pbuf *pending;
};

static void lwport_echo_forget(struct tcp_pcb *pcb, struct lwport_echo_conn *c) {
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    if (c->pending != NULL) pbuf_free(c->pending);
    mem_free(c);
}

/* Close (or, when lwIP has no memory to close, reset) the connection.
 * From a callback, the result is what the callback must return. */
static err_t lwport_echo_close(struct tcp_pcb *pcb, struct lwport_echo_conn *c, bool reset) {
    lwport_echo_forget(pcb, c);
    if (!reset && tcp_close(pcb) == ERR_OK) return ERR_OK;
    tcp_abort(pcb);
    return ERR_ABRT;
}

/* Send what is pending, and acknowledge to TCP what was queued, so the
 * window opens only as fast as the client reads its echo. */
static err_t lwport_echo_flush(struct tcp_pcb *pcb, struct lwport_echo_conn *c) {
    if (c->pending == NULL) return ERR_OK;
    err_t err;
    u16_t n = lwport_echo_write(pcb, c->pending, &err);
    if (n > 0) {
        c->pending = pbuf_free_header(c->pending, n); /* NULL once all is queued */
        tcp_recved(pcb, n);
    }
    return err != ERR_OK ? err : tcp_output(pcb);
}

static err_t lwport_echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
    struct lwport_echo_conn *c = arg;
    if (c != NULL && lwport_echo_flush(pcb, c) != ERR_OK) return lwport_echo_close(pcb, c, true);
    return ERR_OK;
}

static err_t lwport_echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
    struct lwport_echo_conn *c = arg;
    if (p == NULL) return lwport_echo_close(pcb, c, false); /* the client closed its side: close ours */
    if (c->pending != NULL)
        pbuf_cat(c->pending, p);
    else
        c->pending = p;
    if (lwport_echo_flush(pcb, c) != ERR_OK) return lwport_echo_close(pcb, c, true);
    return ERR_OK;
}

static void lwport_echo_error(void *arg, err_t err) {
    struct lwport_echo_conn *c = arg; /* the pcb is already freed */
    if (c != NULL) {
        if (c->pending != NULL) pbuf_free(c->pending);
        mem_free(c);
    }
}

static err_t lwport_echo_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
    if (err != ERR_OK || pcb == NULL) return ERR_VAL;
    struct lwport_echo_conn *c = mem_calloc(1, sizeof *c);
    if (c == NULL) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    tcp_arg(pcb, c);
    tcp_recv(pcb, lwport_echo_recv);
    tcp_sent(pcb, lwport_echo_sent);
    tcp_err(pcb, lwport_echo_error);
    return ERR_OK;
}

/* [core lock] Listen on port, IPv4 and IPv6. */
int lwport_echo_start(uint16_t port) {
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
    if (pcb == NULL) return HUSK_ENOMEM;
    if (tcp_bind(pcb, IP_ANY_TYPE, port) != ERR_OK) {
        tcp_close(pcb);
        glue_logf(LOG_ERR, "echo: cannot bind TCP port %u", port);
        return HUSK_EBUSY;
    }
    struct tcp_pcb *listener = tcp_listen(pcb);
    if (listener == NULL) {
        tcp_close(pcb);
        return HUSK_ENOMEM;
    }
    tcp_accept(listener, lwport_echo_accept);
    return 0;
}
