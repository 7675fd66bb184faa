/* Connecting, HELLO negotiation (docs/protocol.md §4) and connection state. */
#define _GNU_SOURCE
#include "rpc_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void set_error(char *error, size_t error_len, const char *fmt, ...)
{
    if (error == NULL || error_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, error_len, fmt, ap);
    va_end(ap);
}

static struct husk_rpc_conn *conn_new(int fd)
{
    struct husk_rpc_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->rx_cap = HUSK_RPC_DEFAULT_MAX_MESSAGE;
    c->rx = malloc(c->rx_cap);
    if (c->rx == NULL) {
        free(c);
        return NULL;
    }
    c->fd = fd;
    pthread_mutex_init(&c->call_lock, NULL);
    pthread_mutex_init(&c->send_lock, NULL);
    pthread_mutex_init(&c->state_lock, NULL);
    c->next_request_id = 1;
    c->limits.max_message = HUSK_RPC_DEFAULT_MAX_MESSAGE;
    c->limits.max_fds = HUSK_RPC_DEFAULT_MAX_FDS;
    c->limits.max_in_flight = 1;
    c->limits.max_payload = HUSK_RPC_DEFAULT_MAX_PAYLOAD;
    return c;
}

void husk_rpc_close(struct husk_rpc_conn *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    pthread_mutex_destroy(&c->call_lock);
    pthread_mutex_destroy(&c->send_lock);
    pthread_mutex_destroy(&c->state_lock);
    free(c->rx);
    free(c->versions);
    free(c);
}

/* Parse the hello reply into the connection. 0 or EPROTO. */
static int parse_hello(struct husk_rpc_conn *c, const struct husk_rpc_reply *reply)
{
    struct husk_rpc_reader r;
    husk_rpc_reader_init(&r, reply->payload, reply->payload_len);
    uint16_t version = husk_rpc_get_u16(&r);
    uint16_t pad = husk_rpc_get_u16(&r);
    const uint8_t *name;
    uint32_t name_len;
    husk_rpc_get_string(&r, &name, &name_len);
    const uint8_t *pairs;
    uint32_t count;
    husk_rpc_get_array(&r, 8, &pairs, &count);
    struct husk_rpc_limits l;
    l.max_message = husk_rpc_get_u32(&r);
    l.max_fds = husk_rpc_get_u32(&r);
    l.max_in_flight = husk_rpc_get_u32(&r);
    (void)husk_rpc_get_u32(&r);
    l.max_shm_bytes = husk_rpc_get_u64(&r);
    l.max_payload = husk_rpc_get_u64(&r);
    if (husk_rpc_reader_end(&r) != 0 || version != HUSK_RPC_PROTOCOL_VERSION || pad != 0 || reply->nfds != 0 ||
        l.max_message <= HUSK_RPC_HEADER_SIZE)
        return EPROTO;
    size_t n = name_len < sizeof c->server_name - 1 ? name_len : sizeof c->server_name - 1;
    if (n > 0)
        memcpy(c->server_name, name, n);
    c->server_name[n] = '\0';
    if (count > 0) {
        c->versions = calloc(count, sizeof *c->versions);
        if (c->versions == NULL)
            return ENOMEM;
        for (uint32_t i = 0; i < count; i++) {
            c->versions[i].interface = husk_rpc_le32(pairs + 8 * (size_t)i);
            c->versions[i].version = husk_rpc_le32(pairs + 8 * (size_t)i + 4);
        }
    }
    c->nversions = count;
    if (l.max_message > HUSK_RPC_HARD_MAX_MESSAGE)
        l.max_message = HUSK_RPC_HARD_MAX_MESSAGE;
    if (l.max_message > c->rx_cap) {
        uint8_t *rx = realloc(c->rx, l.max_message);
        if (rx == NULL)
            return ENOMEM;
        c->rx = rx;
        c->rx_cap = l.max_message;
    }
    c->limits = l;
    return 0;
}

int husk_rpc_connect(const char *socket_path, const struct husk_rpc_requirement *required, size_t count,
                     struct husk_rpc_conn **out, char *error, size_t error_len)
{
    set_error(error, error_len, "%s", "");
    if (socket_path == NULL || out == NULL || (required == NULL && count != 0) || count > UINT32_MAX / 8) {
        set_error(error, error_len, "invalid arguments");
        return EINVAL;
    }
    *out = NULL;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(socket_path) >= sizeof addr.sun_path) {
        set_error(error, error_len, "socket path too long: %s", socket_path);
        return EINVAL;
    }
    strcpy(addr.sun_path, socket_path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        set_error(error, error_len, "socket: %s", strerror(e));
        return e;
    }
    while (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        set_error(error, error_len, "connect %s: %s", socket_path, strerror(e));
        close(fd);
        return e;
    }
    struct husk_rpc_conn *c = conn_new(fd);
    if (c == NULL) {
        close(fd);
        set_error(error, error_len, "out of memory");
        return ENOMEM;
    }

    struct husk_rpc_writer w;
    husk_rpc_writer_init(&w);
    husk_rpc_put_u16(&w, HUSK_RPC_PROTOCOL_VERSION);
    husk_rpc_put_u16(&w, HUSK_RPC_PROTOCOL_VERSION);
    husk_rpc_put_u32(&w, (uint32_t)count);
    for (size_t i = 0; i < count; i++) {
        husk_rpc_put_u32(&w, required[i].interface);
        husk_rpc_put_u32(&w, required[i].version);
    }
    struct husk_rpc_reply reply;
    int st = w.error;
    if (st == 0)
        st = husk_rpc_call(c, HUSK_RPC_CONTROL_INTERFACE, HUSK_RPC_OP_HELLO, w.data, w.len, NULL, 0, &reply);
    husk_rpc_writer_free(&w);
    if (st == EPROTONOSUPPORT) {
        set_error(error, error_len, "server at %s does not speak protocol version %u", socket_path,
                  HUSK_RPC_PROTOCOL_VERSION);
    } else if (st != 0) {
        set_error(error, error_len, "hello to %s failed: %s", socket_path, husk_rpc_status_name(st));
    } else {
        st = parse_hello(c, &reply);
        husk_rpc_reply_release(&reply);
        if (st != 0)
            set_error(error, error_len, "malformed hello reply from %s", socket_path);
    }
    for (size_t i = 0; st == 0 && i < count; i++) {
        uint32_t have = husk_rpc_interface_version(c, required[i].interface);
        if (have == required[i].version)
            continue;
        if (have == 0)
            set_error(error, error_len, "interface %u version %u not offered by server '%s'", required[i].interface,
                      required[i].version, c->server_name);
        else
            set_error(error, error_len, "interface %u version %u not offered by server '%s': it has version %u",
                      required[i].interface, required[i].version, c->server_name, have);
        st = ENOSYS;
    }
    if (st != 0) {
        husk_rpc_close(c);
        return st;
    }
    *out = c;
    return 0;
}

const char *husk_rpc_server_name(const struct husk_rpc_conn *c) { return c->server_name; }

struct husk_rpc_limits husk_rpc_server_limits(const struct husk_rpc_conn *c) { return c->limits; }

int husk_rpc_fd(const struct husk_rpc_conn *c) { return c->fd; }

uint32_t husk_rpc_interface_version(const struct husk_rpc_conn *c, uint32_t interface)
{
    for (size_t i = 0; i < c->nversions; i++)
        if (c->versions[i].interface == interface)
            return c->versions[i].version;
    return 0;
}
