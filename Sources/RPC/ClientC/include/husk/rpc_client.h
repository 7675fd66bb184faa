/*
 * husk/rpc_client.h — the C client library of Husk's native RPC
 * (docs/protocol.md, version 1). C11; link with -lpthread.
 *
 * Typed client functions for each interface are generated from its IDL
 * declaration into husk_rpc_<interface>.h/.c (docs/idl.md); they are built
 * on husk_rpc_call() and the payload writer/reader at the end of this file.
 *
 * Status values: every function that returns int returns 0 or a positive
 * errno-style status of docs/protocol.md §6. A status the server replied
 * with is returned unchanged; the library adds ECONNRESET (the connection
 * is gone: every later call fails the same way unless reconnect is enabled),
 * ESTALE (a handle of a server that has restarted, husk_rpc_adopt), EPROTO (the server sent
 * something that breaks the protocol; the connection is then unusable),
 * ENOMEM, EINVAL (bad arguments) and EMSGSIZE (a request larger than the
 * server's max_payload, or a reply field larger than the caller's buffer).
 *
 * Threads: a connection may be shared by threads; calls on one connection
 * are made one at a time (a mutex serialises them), so give each thread
 * that needs concurrency its own connection. husk_rpc_cancel() may be
 * called from any thread at any time.
 *
 * Signals: a reply may ask the client to raise a signal (the `signal`
 * header field, docs/protocol.md §8); the library raises it with
 * pthread_kill(pthread_self(), sig) in the calling thread just before the
 * call returns. If the calling thread is interrupted by a signal whose
 * handler was installed without SA_RESTART while it waits for a reply, the
 * library sends CANCEL for the call and keeps waiting for the server's final
 * reply (its result, a partial result, or EINTR); with SA_RESTART the kernel
 * restarts the wait and the call simply continues. The request is never sent
 * twice.
 *
 * Reconnect (off unless husk_rpc_set_reconnect() enables it, see there): a
 * dead connection is dialled again at the same path with the same required
 * interfaces; a request the server may have received is sent again only if
 * the call was made with HUSK_RPC_CALL_IDEMPOTENT. A connection made with
 * husk_rpc_adopt() for an opened object reports ESTALE once its parent has
 * reconnected to a restarted server (another epoch, docs/protocol.md §4).
 */
#ifndef HUSK_RPC_CLIENT_H
#define HUSK_RPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Protocol version this library speaks. */
#define HUSK_RPC_PROTOCOL_VERSION 1u
/** Size of the message header. */
#define HUSK_RPC_HEADER_SIZE      40u
/** Most descriptors the library accepts on one received message. */
#define HUSK_RPC_MAX_REPLY_FDS    16u

/** A connection to a server (opaque). */
struct husk_rpc_conn;

/** An interface a client requires: husk_rpc_connect() fails unless the
 *  server implements `interface` at exactly `version`. Generated headers
 *  define HUSK_<NAME>_REQUIREMENT as an initialiser for their interface. */
struct husk_rpc_requirement {
    uint32_t interface;
    uint32_t version;
};

/** The limits a server announced in its hello reply (docs/protocol.md §3). */
struct husk_rpc_limits {
    uint32_t max_message;
    uint32_t max_fds;
    uint32_t max_in_flight;
    uint64_t max_shm_bytes;
    uint64_t max_payload;
};

/** A reference into registered shared memory (the `shm` IDL type). */
struct husk_rpc_shm_ref {
    uint32_t id;
    uint64_t offset;
    uint64_t length;
};

/**
 * Connect to the server listening on the AF_UNIX SOCK_SEQPACKET socket at
 * `socket_path` and say HELLO, requiring the `count` interfaces in
 * `required` (may be NULL when `count` is 0).
 *
 * On success returns 0 and stores the connection in *out. On failure returns
 * a status and, if `error` is not NULL, writes a NUL-terminated explanation of
 * at most `error_len` bytes, e.g. "interface 7 version 2 not offered by server
 * 'blk': it has version 1" (status ENOSYS). Failure to connect returns the
 * errno of connect() (ENOENT, ECONNREFUSED, EACCES...); a server without a
 * common protocol version gives EPROTONOSUPPORT.
 */
int husk_rpc_connect(const char *socket_path, const struct husk_rpc_requirement *required, size_t count,
                     struct husk_rpc_conn **out, char *error, size_t error_len);

/**
 * Enable reconnecting for a connection made with husk_rpc_connect(): when
 * the connection has died (the server closed it or crashed), the next call
 * dials the same path again and says HELLO with the same requirements,
 * retrying every `retry_interval_ms` (0: 50 ms) until `timeout_ms` has
 * passed (a server being restarted by its supervisor); if that fails the
 * call returns ECONNRESET and the next call tries again.
 *
 * A request not yet sent when the death was noticed is sent on the new
 * connection whatever its flags. A request that was sent and lost with the
 * connection is sent again only when the call was made with
 * HUSK_RPC_CALL_IDEMPOTENT (the generated functions pass it for operations
 * the IDL marks `idempotent`), at most `max_retries` times per call; any
 * other call returns ECONNRESET at once and the next call reconnects.
 *
 * `timeout_ms` 0 disables reconnecting (the default: a dead connection
 * stays dead and every call returns ECONNRESET). Returns 0, or EINVAL for a
 * negative value or a connection made with husk_rpc_adopt() (it has no path
 * to dial; see there for ESTALE).
 */
int husk_rpc_set_reconnect(struct husk_rpc_conn *conn, int timeout_ms, int retry_interval_ms, int max_retries);

/**
 * Speak to an already-connected descriptor, typically an opened object's
 * (an `fd` reply field such as echo `open`'s): says HELLO on it requiring
 * the `count` interfaces in `required`, like husk_rpc_connect(). Takes
 * ownership of `fd` on success and on failure.
 *
 * `parent` (may be NULL) is the connection whose call returned the
 * descriptor; it must outlive the new connection. The handle remembers the
 * server epoch it was opened under: once `parent` has reconnected to a
 * restarted server (another epoch), calls on the handle return ESTALE. When
 * the handle's own connection dies, the call first PINGs through `parent`
 * (which reconnects if it is enabled to) and returns ESTALE if the epoch
 * changed, ECONNRESET otherwise. A handle never reconnects itself.
 */
int husk_rpc_adopt(int fd, struct husk_rpc_conn *parent, const struct husk_rpc_requirement *required, size_t count,
                   struct husk_rpc_conn **out, char *error, size_t error_len);

/** Close the connection and free it; the server then releases everything
 *  it held for it, including registered shared memory. The client's own
 *  mappings stay until husk_rpc_shm_unregister() (which works on a closed
 *  or dead connection too, see there). No call may be in progress on `conn`
 *  and it must not be used afterwards. NULL is ignored. */
void husk_rpc_close(struct husk_rpc_conn *conn);

/** The server's name from its (latest) hello reply (valid until
 *  husk_rpc_close; a reconnect may rewrite it). */
const char *husk_rpc_server_name(const struct husk_rpc_conn *conn);

/** The server's start epoch from the latest hello reply (docs/protocol.md
 *  §4: random and non-zero per server process, 0 if the server sends none). */
uint32_t husk_rpc_server_epoch(const struct husk_rpc_conn *conn);

/** How many times the connection has reconnected (husk_rpc_set_reconnect). */
uint64_t husk_rpc_reconnect_count(const struct husk_rpc_conn *conn);

/** The server's limits from its hello reply. */
struct husk_rpc_limits husk_rpc_server_limits(const struct husk_rpc_conn *conn);

/** The version the server implements of `interface`, 0 if it was not
 *  among the interfaces required at connect time or the server lacks it. */
uint32_t husk_rpc_interface_version(const struct husk_rpc_conn *conn, uint32_t interface);

/** The connection's socket descriptor (e.g. to poll for events; another
 *  one after a reconnect). */
int husk_rpc_fd(const struct husk_rpc_conn *conn);

/** Carry this connection's calls over the shared-memory call rings
 *  (docs/protocol.md §11) instead of the socket, from now on and after
 *  every reconnect; handles adopted with this connection as parent use
 *  them too. Call it while no call is in progress. Returns 0, ENOTSUP when
 *  the server does not offer the rings (the socket path stays), or a
 *  status. With HUSK_RPC_RING=1 in the environment, husk_rpc_connect() and
 *  husk_rpc_adopt() do it themselves. Calls behave exactly as on the
 *  socket (signals, cancellation, events, descriptors). */
int husk_rpc_use_ring(struct husk_rpc_conn *conn);
/** Whether the call rings carry this connection's calls. */
bool husk_rpc_ring_active(const struct husk_rpc_conn *conn);

/** A received reply. husk_rpc_call() fills it on success; release it with
 *  husk_rpc_reply_release(). */
struct husk_rpc_reply {
    /** The payload (malloc'd; NULL when empty). */
    uint8_t *payload;
    size_t payload_len;
    /** Descriptors that came with the reply; entries set to -1 have been
     *  taken by the caller, the rest are closed by husk_rpc_reply_release(). */
    int fds[HUSK_RPC_MAX_REPLY_FDS];
    unsigned nfds;
    /** The signal the reply asked for (already raised), or 0. */
    int signal;
};

/**
 * Send one request and wait for its reply.
 *
 * `payload` (`payload_len` bytes, may be NULL when 0) is sent as is, split
 * into MORE fragments if it exceeds the server's message size; the `nfds`
 * descriptors in `fds` travel with it (the caller keeps them open). Returns
 * 0 with *reply filled, or the reply's non-zero status (then *reply holds
 * nothing to release), or a library status as described at the top. A
 * reply's `signal` is raised before this returns.
 */
int husk_rpc_call(struct husk_rpc_conn *conn, uint32_t interface, uint32_t operation, const void *payload,
                  size_t payload_len, const int *fds, unsigned nfds, struct husk_rpc_reply *reply);

/** husk_rpc_call_flags(): the operation is idempotent, so a request lost
 *  with a dead connection may be sent again after a reconnect. */
#define HUSK_RPC_CALL_IDEMPOTENT 0x1u

/**
 * husk_rpc_call() with `flags`: 0 or HUSK_RPC_CALL_IDEMPOTENT (other bits:
 * EINVAL). husk_rpc_call() is the flags == 0 form. With reconnect enabled
 * an idempotent call may be sent more than once (husk_rpc_set_reconnect);
 * on an adopted handle of a restarted server it returns ESTALE.
 */
int husk_rpc_call_flags(struct husk_rpc_conn *conn, uint32_t interface, uint32_t operation, const void *payload,
                        size_t payload_len, const int *fds, unsigned nfds, uint32_t flags,
                        struct husk_rpc_reply *reply);

/** Free a reply's payload and close the descriptors not taken. */
void husk_rpc_reply_release(struct husk_rpc_reply *reply);

/** Take descriptor `index` of a reply: returns it (the caller now owns it)
 *  and marks it taken, or -1 if there is no such descriptor. */
int husk_rpc_reply_take_fd(struct husk_rpc_reply *reply, unsigned index);

/**
 * Cancel the call in progress on `conn` (from any thread, e.g. a watchdog):
 * sends CANCEL; the call still returns the server's final reply for it —
 * its result if it had completed, a partial result, or EINTR. Returns 0 if
 * CANCEL was sent, ENOENT if no call is in progress, ECONNRESET if the
 * connection is gone.
 */
int husk_rpc_cancel(struct husk_rpc_conn *conn);

/** Handler for EVENT messages that arrive while a call waits. `fds` may be
 *  modified: set an entry to -1 to keep that descriptor; the library closes
 *  the others after the handler returns. Fragmented events are dropped. */
typedef void (*husk_rpc_event_handler)(void *context, uint32_t interface, uint32_t operation, const uint8_t *payload,
                                       size_t payload_len, int *fds, unsigned nfds);

/** Install an event handler (NULL: events are discarded). */
void husk_rpc_set_event_handler(struct husk_rpc_conn *conn, husk_rpc_event_handler handler, void *context);

/** Registered shared memory: `size` bytes mapped shared at `base`. */
struct husk_rpc_shm {
    uint32_t id;
    void *base;
    uint64_t size;
    /** The memfd (owned by the library; closed by husk_rpc_shm_unregister). */
    int fd;
};

/**
 * Create a memfd of `size` bytes sealed against shrinking (F_SEAL_SHRINK),
 * map it shared and register it with the server (REGISTER_SHM). The client
 * may write to `out->base` at any time; payloads reference it with
 * husk_rpc_shm_ref(). Returns 0, a server status (ENOSPC over the
 * per-connection limit, EINVAL) or a system errno (memfd_create, mmap).
 */
int husk_rpc_shm_register(struct husk_rpc_conn *conn, uint64_t size, struct husk_rpc_shm *out);

/** Unregister (UNREGISTER_SHM), unmap and close. The mapping is released
 *  even if the server call fails, and `conn` may be NULL to only release
 *  the mapping (after husk_rpc_close). Returns the server's status. */
int husk_rpc_shm_unregister(struct husk_rpc_conn *conn, struct husk_rpc_shm *shm);

/** A reference to `length` bytes at `offset` of registered memory. */
struct husk_rpc_shm_ref husk_rpc_shm_ref(const struct husk_rpc_shm *shm, uint64_t offset, uint64_t length);

/** The symbolic name of a status ("EINVAL"), or "E<n>" for others
 *  (a static string, or a thread-local buffer for unknown values). */
const char *husk_rpc_status_name(int status);

/* ------------------------------------------------------------------------
 * Payload encoding (docs/protocol.md §5), for generated stubs and for
 * hand-written calls. The writer and reader record the first error instead
 * of failing each call; check it once at the end.
 * ------------------------------------------------------------------------ */

/** A growing payload buffer. `error` is 0, ENOMEM or EINVAL. */
struct husk_rpc_writer {
    uint8_t *data;
    size_t len;
    size_t cap;
    int error;
};

void husk_rpc_writer_init(struct husk_rpc_writer *w);
void husk_rpc_writer_free(struct husk_rpc_writer *w);
void husk_rpc_put_u8(struct husk_rpc_writer *w, uint8_t v);
void husk_rpc_put_u16(struct husk_rpc_writer *w, uint16_t v);
void husk_rpc_put_u32(struct husk_rpc_writer *w, uint32_t v);
void husk_rpc_put_u64(struct husk_rpc_writer *w, uint64_t v);
void husk_rpc_put_bool(struct husk_rpc_writer *w, bool v);
/** `bytes`: u32 length then the bytes (`p` may be NULL only when `len` is 0). */
void husk_rpc_put_bytes(struct husk_rpc_writer *w, const void *p, uint32_t len);
/** `string`: a NUL-terminated C string sent without its NUL (NULL: EINVAL). */
void husk_rpc_put_string(struct husk_rpc_writer *w, const char *s);
/** `shm`: u32 id, u32 0, u64 offset, u64 length. */
void husk_rpc_put_shm(struct husk_rpc_writer *w, struct husk_rpc_shm_ref ref);

/** Reads a received payload; `failed` is set by any read past the end or
 *  invalid value, and every later read then returns zero. */
struct husk_rpc_reader {
    const uint8_t *data;
    size_t len;
    size_t off;
    bool failed;
};

void husk_rpc_reader_init(struct husk_rpc_reader *r, const void *data, size_t len);
uint8_t husk_rpc_get_u8(struct husk_rpc_reader *r);
uint16_t husk_rpc_get_u16(struct husk_rpc_reader *r);
uint32_t husk_rpc_get_u32(struct husk_rpc_reader *r);
uint64_t husk_rpc_get_u64(struct husk_rpc_reader *r);
/** `bool`: a byte that must be 0 or 1. */
bool husk_rpc_get_bool(struct husk_rpc_reader *r);
/** `bytes`: points *p into the payload (no copy) and sets *len. */
void husk_rpc_get_bytes(struct husk_rpc_reader *r, const uint8_t **p, uint32_t *len);
/** `string`: like bytes, and fails on an embedded NUL (not NUL-terminated). */
void husk_rpc_get_string(struct husk_rpc_reader *r, const uint8_t **p, uint32_t *len);
struct husk_rpc_shm_ref husk_rpc_get_shm(struct husk_rpc_reader *r);
/** `[T]`: a count, checked against the bytes left for `element_size`-byte
 *  elements; points *p at the first little-endian element. */
void husk_rpc_get_array(struct husk_rpc_reader *r, size_t element_size, const uint8_t **p, uint32_t *count);
/** 0 if everything was read without error and nothing is left; else EPROTO. */
int husk_rpc_reader_end(const struct husk_rpc_reader *r);

/** Little-endian loads, for array elements. */
uint16_t husk_rpc_le16(const uint8_t *p);
uint32_t husk_rpc_le32(const uint8_t *p);
uint64_t husk_rpc_le64(const uint8_t *p);

#ifdef __cplusplus
}
#endif

#endif /* HUSK_RPC_CLIENT_H */
