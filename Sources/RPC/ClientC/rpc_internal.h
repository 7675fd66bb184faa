/* Internals of the C client library shared by its source files. */
#ifndef HUSK_RPC_INTERNAL_H
#define HUSK_RPC_INTERNAL_H

#include <husk/rpc_client.h>
#include <husk/rpc_ring.h>
#include <pthread.h>

#define HUSK_RPC_MAGIC       0x4B535548u
#define HUSK_RPC_FLAG_REPLY  0x1u
#define HUSK_RPC_FLAG_EVENT  0x2u
#define HUSK_RPC_FLAG_CANCEL 0x4u
#define HUSK_RPC_FLAG_MORE   0x8u
#define HUSK_RPC_FLAGS_ALL   0xFu

#define HUSK_RPC_CONTROL_INTERFACE 0u
#define HUSK_RPC_OP_HELLO          1u
#define HUSK_RPC_OP_PING           2u
#define HUSK_RPC_OP_REGISTER_SHM   3u
#define HUSK_RPC_OP_UNREGISTER_SHM 4u
/* The control interface version this library asks for (2: the call rings,
 * docs/protocol.md §11) and the HELLO reply's feature bit for them. */
#define HUSK_RPC_CONTROL_VERSION   2u
#define HUSK_RPC_FEATURE_RING      0x1u

/* Defaults until the server's hello reply says otherwise (docs/protocol.md §3). */
#define HUSK_RPC_DEFAULT_MAX_MESSAGE 131072u
#define HUSK_RPC_DEFAULT_MAX_FDS     8u
#define HUSK_RPC_DEFAULT_MAX_PAYLOAD (16u << 20)
/* The largest message the library accepts whatever a server announces. */
#define HUSK_RPC_HARD_MAX_MESSAGE    (16u << 20)

struct husk_rpc_header {
    uint16_t flags;
    uint32_t interface;
    uint32_t operation;
    uint64_t request_id;
    int32_t status;
    uint32_t payload_length;
    uint16_t fd_count;
    uint16_t signal;
};

/* One received message: the payload points into the connection's buffer. */
struct husk_rpc_message {
    struct husk_rpc_header header;
    const uint8_t *payload;
    int fds[HUSK_RPC_MAX_REPLY_FDS];
    unsigned nfds;
};

struct husk_rpc_conn {
    int fd;
    /* Held for a whole call: calls on a connection are made one at a time. */
    pthread_mutex_t call_lock;
    /* Held while a message (or all fragments of one payload) is sent. */
    pthread_mutex_t send_lock;
    /* Guards the fields below it. */
    pthread_mutex_t state_lock;
    uint64_t next_request_id;
    uint64_t current_request_id; /* 0: no call in progress */
    uint32_t current_interface;
    uint32_t current_operation;
    bool dead;
    uint32_t epoch; /* from the latest HELLO reply */
    uint64_t reconnect_count;

    uint8_t *rx;
    size_t rx_cap;
    struct husk_rpc_limits limits;
    char server_name[256];
    struct husk_rpc_requirement *versions; /* interface -> server version */
    size_t nversions;
    husk_rpc_event_handler event_handler;
    void *event_context;

    /* Reconnecting (husk_rpc_set_reconnect): NULL path for adopted handles. */
    char *path;
    struct husk_rpc_requirement *required;
    size_t nrequired;
    int reconnect_timeout_ms; /* 0: disabled */
    int retry_interval_ms;
    int max_retries;
    /* Adopted handles: the connection that opened it (ESTALE detection). */
    struct husk_rpc_conn *parent;

    /* The call rings (docs/protocol.md §11): features from HELLO; wanted
     * (set up again after a reconnect); on (the data path); the mapping. */
    uint16_t features;
    bool want_ring;
    bool ring_on;
    struct husk_ring ring;
    void *ring_map;
    size_t ring_map_size;
};

void husk_rpc_encode_header(uint8_t out[HUSK_RPC_HEADER_SIZE], const struct husk_rpc_header *h);
/* 0, or EPROTO if the received bytes are not a valid message. */
int husk_rpc_decode_header(const uint8_t *msg, size_t len, unsigned nfds, struct husk_rpc_header *h);
void husk_rpc_close_fds(int *fds, unsigned n);
void husk_rpc_mark_dead(struct husk_rpc_conn *c);
bool husk_rpc_is_dead(struct husk_rpc_conn *c);
/* Re-establish a dead connection (caller holds call_lock): 0 or ECONNRESET. */
int husk_rpc_reconnect(struct husk_rpc_conn *c);
/* Set up the call rings on an idle connection (caller holds call_lock):
 * 0, ENOTSUP (the server does not offer them), or a status. */
int husk_rpc_ring_setup(struct husk_rpc_conn *c);
/* Unmap the rings (the connection is being closed or replaced). */
void husk_rpc_ring_release(struct husk_rpc_conn *c);
/* One message on the socket itself, whatever the data path (the caller
 * holds send_lock). */
int husk_rpc_socket_send(struct husk_rpc_conn *c, const struct husk_rpc_header *h, const uint8_t *payload,
                         const int *fds, unsigned nfds);

#endif
