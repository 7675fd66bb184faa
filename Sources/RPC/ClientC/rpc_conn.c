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
#include <time.h>
#include <unistd.h>

static void set_error(char *error, size_t error_len, const char *fmt, ...) {
    if (error == NULL || error_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, error_len, fmt, ap);
    va_end(ap);
}

static struct husk_rpc_conn *conn_new(int fd) {
    struct husk_rpc_conn *c = calloc(1, sizeof *c);
    if (c == NULL) return NULL;
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

void husk_rpc_close(struct husk_rpc_conn *c) {
    if (c == NULL) return;
    if (c->ring_on) {
        /* Let a server asleep on our request ring see the hang-up at once. */
        if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
        husk_ring_wake_peer(&c->ring);
    }
    if (c->fd >= 0) close(c->fd);
    husk_rpc_ring_release(c);
    free(c->path);
    free(c->required);
    pthread_mutex_destroy(&c->call_lock);
    pthread_mutex_destroy(&c->send_lock);
    pthread_mutex_destroy(&c->state_lock);
    free(c->rx);
    free(c->versions);
    free(c);
}

/* Parse the hello reply into the connection. 0 or EPROTO. */
static int parse_hello(struct husk_rpc_conn *c, const struct husk_rpc_reply *reply) {
    struct husk_rpc_reader r;
    husk_rpc_reader_init(&r, reply->payload, reply->payload_len);
    uint16_t version = husk_rpc_get_u16(&r);
    uint16_t features = husk_rpc_get_u16(&r);
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
    uint32_t epoch = husk_rpc_get_u32(&r);
    l.max_shm_bytes = husk_rpc_get_u64(&r);
    l.max_payload = husk_rpc_get_u64(&r);
    if (husk_rpc_reader_end(&r) != 0 || version != HUSK_RPC_PROTOCOL_VERSION || reply->nfds != 0 ||
        l.max_message <= HUSK_RPC_HEADER_SIZE)
        return EPROTO;
    size_t n = name_len < sizeof c->server_name - 1 ? name_len : sizeof c->server_name - 1;
    if (n > 0) memcpy(c->server_name, name, n);
    c->server_name[n] = '\0';
    if (count > 0) {
        c->versions = calloc(count, sizeof *c->versions);
        if (c->versions == NULL) return ENOMEM;
        for (uint32_t i = 0; i < count; i++) {
            c->versions[i].interface = husk_rpc_le32(pairs + 8 * (size_t)i);
            c->versions[i].version = husk_rpc_le32(pairs + 8 * (size_t)i + 4);
        }
    }
    c->nversions = count;
    if (l.max_message > HUSK_RPC_HARD_MAX_MESSAGE) l.max_message = HUSK_RPC_HARD_MAX_MESSAGE;
    if (l.max_message > c->rx_cap) {
        uint8_t *rx = realloc(c->rx, l.max_message);
        if (rx == NULL) return ENOMEM;
        c->rx = rx;
        c->rx_cap = l.max_message;
    }
    c->limits = l;
    c->epoch = epoch;
    c->features = features;
    return 0;
}

/* HUSK_RPC_RING=1 in the environment: connections use the call rings
 * when the server offers them (how the test suites run on both paths). */
static bool ring_by_default(void) {
    const char *v = getenv("HUSK_RPC_RING");
    return v != NULL && strcmp(v, "1") == 0;
}

/* Connect a SOCK_SEQPACKET socket to `socket_path`: 0 and *fd_out, or an errno. */
static int dial(const char *socket_path, int *fd_out, char *error, size_t error_len) {
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
        if (errno == EINTR) continue;
        int e = errno;
        set_error(error, error_len, "connect %s: %s", socket_path, strerror(e));
        close(fd);
        return e;
    }
    *fd_out = fd;
    return 0;
}

/* Make a connection of `fd` (owned from here on) and say HELLO requiring
 * `required`; `who` names the peer in messages. 0 and *out, or a status. */
static int hello(int fd, const char *who, const struct husk_rpc_requirement *required, size_t count,
                 struct husk_rpc_conn **out, char *error, size_t error_len) {
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
    /* The control interface at version 2: the reply says whether the
     * server offers the call rings (docs/protocol.md §4, §11). */
    husk_rpc_put_u32(&w, (uint32_t)count + 1);
    husk_rpc_put_u32(&w, HUSK_RPC_CONTROL_INTERFACE);
    husk_rpc_put_u32(&w, HUSK_RPC_CONTROL_VERSION);
    for (size_t i = 0; i < count; i++) {
        husk_rpc_put_u32(&w, required[i].interface);
        husk_rpc_put_u32(&w, required[i].version);
    }
    struct husk_rpc_reply reply;
    int st = w.error;
    if (st == 0) st = husk_rpc_call(c, HUSK_RPC_CONTROL_INTERFACE, HUSK_RPC_OP_HELLO, w.data, w.len, NULL, 0, &reply);
    husk_rpc_writer_free(&w);
    if (st == EPROTONOSUPPORT) {
        set_error(error, error_len, "server at %s does not speak protocol version %u", who, HUSK_RPC_PROTOCOL_VERSION);
    } else if (st != 0) {
        set_error(error, error_len, "hello to %s failed: %s", who, husk_rpc_status_name(st));
    } else {
        st = parse_hello(c, &reply);
        husk_rpc_reply_release(&reply);
        if (st != 0) set_error(error, error_len, "malformed hello reply from %s", who);
    }
    for (size_t i = 0; st == 0 && i < count; i++) {
        uint32_t have = husk_rpc_interface_version(c, required[i].interface);
        if (have == required[i].version) continue;
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

static bool valid_requirements(const struct husk_rpc_requirement *required, size_t count) {
    return (required != NULL || count == 0) && count <= UINT32_MAX / 8;
}

int husk_rpc_connect(const char *socket_path, const struct husk_rpc_requirement *required, size_t count,
                     struct husk_rpc_conn **out, char *error, size_t error_len) {
    set_error(error, error_len, "%s", "");
    if (socket_path == NULL || out == NULL || !valid_requirements(required, count)) {
        set_error(error, error_len, "invalid arguments");
        return EINVAL;
    }
    *out = NULL;
    /* Remembered for reconnecting. */
    char *path = strdup(socket_path);
    struct husk_rpc_requirement *copy = count > 0 ? malloc(count * sizeof *copy) : NULL;
    if (path == NULL || (count > 0 && copy == NULL)) {
        free(path);
        free(copy);
        set_error(error, error_len, "out of memory");
        return ENOMEM;
    }
    if (count > 0) memcpy(copy, required, count * sizeof *copy);
    int fd = -1;
    int st = dial(socket_path, &fd, error, error_len);
    struct husk_rpc_conn *c = NULL;
    if (st == 0) st = hello(fd, socket_path, required, count, &c, error, error_len);
    if (st != 0) {
        free(path);
        free(copy);
        return st;
    }
    c->path = path;
    c->required = copy;
    c->nrequired = count;
    if (ring_by_default()) (void)husk_rpc_use_ring(c); /* the socket path stays if refused */
    *out = c;
    return 0;
}

int husk_rpc_adopt(int fd, struct husk_rpc_conn *parent, const struct husk_rpc_requirement *required, size_t count,
                   struct husk_rpc_conn **out, char *error, size_t error_len) {
    set_error(error, error_len, "%s", "");
    if (fd < 0 || out == NULL || !valid_requirements(required, count)) {
        if (fd >= 0) close(fd);
        set_error(error, error_len, "invalid arguments");
        return EINVAL;
    }
    *out = NULL;
    char who[32];
    snprintf(who, sizeof who, "descriptor %d", fd);
    struct husk_rpc_conn *c = NULL;
    int st = hello(fd, who, required, count, &c, error, error_len);
    if (st != 0) return st;
    c->parent = parent;
    if ((parent != NULL && parent->want_ring) || ring_by_default()) (void)husk_rpc_use_ring(c);
    *out = c;
    return 0;
}

int husk_rpc_set_reconnect(struct husk_rpc_conn *c, int timeout_ms, int retry_interval_ms, int max_retries) {
    if (c == NULL || timeout_ms < 0 || retry_interval_ms < 0 || max_retries < 0 || (c->path == NULL && timeout_ms > 0))
        return EINVAL;
    pthread_mutex_lock(&c->call_lock);
    c->reconnect_timeout_ms = timeout_ms;
    c->retry_interval_ms = retry_interval_ms > 0 ? retry_interval_ms : 50;
    c->max_retries = max_retries;
    pthread_mutex_unlock(&c->call_lock);
    return 0;
}

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int husk_rpc_reconnect(struct husk_rpc_conn *c) {
    if (c->path == NULL || c->reconnect_timeout_ms <= 0) return ECONNRESET;
    if (!husk_rpc_is_dead(c)) return 0;
    int64_t end = monotonic_ms() + c->reconnect_timeout_ms;
    for (;;) {
        int fd = -1;
        struct husk_rpc_conn *fresh = NULL;
        int st = dial(c->path, &fd, NULL, 0);
        if (st == 0) st = hello(fd, c->path, c->required, c->nrequired, &fresh, NULL, 0);
        if (st == 0) {
            /* Move the new socket and what its HELLO said into `c`; the
             * send and state locks keep husk_rpc_cancel() off the swap. */
            pthread_mutex_lock(&c->send_lock);
            pthread_mutex_lock(&c->state_lock);
            int old = c->fd;
            c->fd = fresh->fd;
            fresh->fd = old;
            uint8_t *rx = c->rx;
            c->rx = fresh->rx;
            fresh->rx = rx;
            size_t cap = c->rx_cap;
            c->rx_cap = fresh->rx_cap;
            fresh->rx_cap = cap;
            struct husk_rpc_requirement *versions = c->versions;
            c->versions = fresh->versions;
            fresh->versions = versions;
            size_t nversions = c->nversions;
            c->nversions = fresh->nversions;
            fresh->nversions = nversions;
            c->limits = fresh->limits;
            c->epoch = fresh->epoch;
            c->features = fresh->features;
            /* The old rings go with the old socket. */
            struct husk_ring ring = c->ring;
            c->ring = fresh->ring;
            fresh->ring = ring;
            void *map = c->ring_map;
            size_t map_size = c->ring_map_size;
            c->ring_map = fresh->ring_map;
            c->ring_map_size = fresh->ring_map_size;
            fresh->ring_map = map;
            fresh->ring_map_size = map_size;
            bool on = c->ring_on;
            c->ring_on = fresh->ring_on;
            fresh->ring_on = on;
            memcpy(c->server_name, fresh->server_name, sizeof c->server_name);
            c->dead = false;
            c->reconnect_count++;
            pthread_mutex_unlock(&c->state_lock);
            pthread_mutex_unlock(&c->send_lock);
            husk_rpc_close(fresh); /* closes the old socket (and unmaps the old rings) */
            if (c->want_ring) (void)husk_rpc_ring_setup(c);
            return 0;
        }
        int64_t now = monotonic_ms();
        if (now >= end) return ECONNRESET;
        int64_t pause = c->retry_interval_ms;
        if (pause > end - now) pause = end - now;
        struct timespec ts = {.tv_sec = (time_t)(pause / 1000), .tv_nsec = (long)(pause % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    }
}

const char *husk_rpc_server_name(const struct husk_rpc_conn *c) { return c->server_name; }

/* The accessors take a const connection; the lock is the only thing they change. */
static pthread_mutex_t *state_lock(const struct husk_rpc_conn *c) { return (pthread_mutex_t *)&c->state_lock; }

struct husk_rpc_limits husk_rpc_server_limits(const struct husk_rpc_conn *c) {
    pthread_mutex_lock(state_lock(c));
    struct husk_rpc_limits l = c->limits;
    pthread_mutex_unlock(state_lock(c));
    return l;
}

uint32_t husk_rpc_server_epoch(const struct husk_rpc_conn *c) {
    pthread_mutex_lock(state_lock(c));
    uint32_t e = c->epoch;
    pthread_mutex_unlock(state_lock(c));
    return e;
}

uint64_t husk_rpc_reconnect_count(const struct husk_rpc_conn *c) {
    pthread_mutex_lock(state_lock(c));
    uint64_t n = c->reconnect_count;
    pthread_mutex_unlock(state_lock(c));
    return n;
}

int husk_rpc_fd(const struct husk_rpc_conn *c) {
    pthread_mutex_lock(state_lock(c));
    int fd = c->fd;
    pthread_mutex_unlock(state_lock(c));
    return fd;
}

uint32_t husk_rpc_interface_version(const struct husk_rpc_conn *c, uint32_t interface) {
    for (size_t i = 0; i < c->nversions; i++)
        if (c->versions[i].interface == interface) return c->versions[i].version;
    return 0;
}
