/*
 * husk/rpc_ring.h — the shared-memory call rings of docs/protocol.md §11:
 * layout, single-producer/single-consumer enqueue and dequeue with the
 * checks a receiver applies to a hostile peer's ring, and the waiting
 * protocol (adaptive spin, then a futex with a sleeping flag). Used by the
 * C client (rpc_call.c) and, through the RPCClientC module, by the Swift
 * transport (SeqPacketConnection) on both the server and the client side.
 * Functions return 0 or an errno-style status.
 */
#ifndef HUSK_RPC_RING_H
#define HUSK_RPC_RING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HUSK_RING_CONTROL_SIZE      4096u
#define HUSK_RING_SLOT_HEADER       8u
#define HUSK_RING_KIND_INLINE       0u
#define HUSK_RING_KIND_SOCKET       1u
#define HUSK_RING_MIN_SLOTS         2u
#define HUSK_RING_MAX_SLOTS         1024u
#define HUSK_RING_MIN_SLOT_SIZE     128u
#define HUSK_RING_MAX_SLOT_SIZE     65536u
/* Defaults the clients ask for: 64 slots of 4 KiB per direction. */
#define HUSK_RING_DEFAULT_SLOTS     64u
#define HUSK_RING_DEFAULT_SLOT_SIZE 4096u
/* The `wait` flag's values. */
#define HUSK_RING_AWAKE             0u
#define HUSK_RING_SLEEP_FUTEX       1u
#define HUSK_RING_SLEEP_SOCKET      2u
/* Control interface operations of version 2. */
#define HUSK_RING_OP_SETUP          6u
#define HUSK_RING_OP_WAKE           7u

/* One side's view of a connection's rings. Fields after `base` are private
 * to this process; the producer fields are used under the sender's lock,
 * the consumer fields by the one receiving thread. */
struct husk_ring {
    uint8_t *base;
    size_t size;
    uint32_t slot_count, slot_size;
    /* Producing (client: request ring; server: reply ring). */
    uint32_t *tx_tail, *tx_head, *tx_wait;
    uint8_t *tx_slots;
    uint32_t tx_next; /* our tail, never read back from shared memory */
    /* Consuming. */
    uint32_t *rx_tail, *rx_head, *rx_wait;
    uint8_t *rx_slots;
    uint32_t rx_next; /* our head */
    uint32_t *my_cpu, *peer_cpu;
    uint32_t spin_ns, misses;
    int single_cpu;
    int active;  /* set (release) once the ring is in use: husk_ring_activate */
    int stopped; /* husk_ring_stop: the consumer returns instead of sleeping */
};

/** Bytes of memfd needed for `slot_count` slots of `slot_size` per ring. */
uint64_t husk_ring_size(uint32_t slot_count, uint32_t slot_size);
/** 1 if the parameters are allowed (§11), else 0. */
int husk_ring_params_valid(uint32_t slot_count, uint32_t slot_size);
/** Set up `r` over `base` (mapped shared, `size` bytes) as the client
 *  (server = 0) or the server. EINVAL for bad parameters or a short map. */
int husk_ring_init(struct husk_ring *r, void *base, size_t size, uint32_t slot_count, uint32_t slot_size, int server);
/** Largest message that goes inline. */
uint32_t husk_ring_inline_max(const struct husk_ring *r);

/** Producer: 0 if an entry is free, EAGAIN if the ring is full, EPROTO if
 *  the peer's head is garbage. */
int husk_ring_can_send(const struct husk_ring *r);
/** Producer: publish one entry (kind INLINE: the message is `a` then `b`;
 *  kind SOCKET: no bytes) and wake a sleeping consumer by futex. Returns
 *  0, EAGAIN (full), EPROTO, or HUSK_RING_NEEDS_SOCKET_WAKE when the
 *  consumer sleeps on the socket (send a RING_WAKE). */
#define HUSK_RING_NEEDS_SOCKET_WAKE (-2)
int husk_ring_send(struct husk_ring *r, uint32_t kind, const void *a, size_t alen, const void *b, size_t blen);

/** Producer, after publishing a new tail with release ordering: wake the
 *  consumer whose sleeping flag is `wait` (a full fence, then exchange the
 *  flag with AWAKE and FUTEX_WAKE if it was FUTEX). 0, or
 *  HUSK_RING_NEEDS_SOCKET_WAKE when it was SOCKET. husk_ring_send uses it;
 *  so does the block queue (husk/blk_queue.h). */
int husk_ring_notify(uint32_t *wait);
/** A consumer-only view for another ring of the same shape (the block
 *  queue's): `tail` written by the peer, `head` and the private rx_next
 *  ours (rx_next starts at *head and the caller advances it), `wait` our
 *  sleeping flag, the *_cpu words as in §11. Only the waiting functions
 *  (pending, spin, prepare_sleep, futex_sleep, end_sleep, stop, activate)
 *  may be used on it. */
int husk_ring_init_consumer(struct husk_ring *r, uint32_t *tail, uint32_t *head, uint32_t *wait, uint32_t *my_cpu,
                            uint32_t *peer_cpu);

/** Consumer: take the next entry. 0 and kind and length (out) with the message
 *  copied into buf (kind INLINE), EAGAIN when empty, EPROTO for garbage
 *  (a reason in why). */
int husk_ring_receive(struct husk_ring *r, void *buf, size_t cap, uint32_t *kind, uint32_t *length, const char **why);
/** Consumer: 1 if an entry is published (does not validate). */
int husk_ring_pending(const struct husk_ring *r);
/** Consumer: spin for the adaptive budget (none when both sides share a
 *  CPU); 1 if an entry arrived. */
int husk_ring_spin(struct husk_ring *r);
/** Consumer: announce a sleep of `mode` (FUTEX or SOCKET). 0: sleep now;
 *  EAGAIN: an entry arrived meanwhile, ECANCELED: stopped (the flag is
 *  cleared again in both cases). */
int husk_ring_prepare_sleep(struct husk_ring *r, uint32_t mode);
/** Consumer: FUTEX_WAIT on our flag for up to timeout_ms. 0 (woken or the
 *  flag changed), ETIMEDOUT or EINTR. */
int husk_ring_futex_sleep(struct husk_ring *r, int timeout_ms);
/** Consumer: the sleep is over (flag back to AWAKE). */
void husk_ring_end_sleep(struct husk_ring *r);
/** Consumer, for a second thread of the consuming process that takes
 *  entries itself while the first may sleep (the Swift client's calling
 *  thread, docs/rpc-runtime.md): clear our sleeping flag, so the peer does
 *  not wake the sleeper for entries this thread takes, and return what it
 *  was. Only one thread at a time may consume. */
uint32_t husk_ring_hold_wakes(struct husk_ring *r);
/** Put back the flag husk_ring_hold_wakes returned. 1 if an entry arrived
 *  while it was held (take it, then hold and release again), else 0. */
int husk_ring_release_wakes(struct husk_ring *r, uint32_t flag);
/** Make the ring the data path (release: every field set before is seen
 *  by a thread that finds husk_ring_is_active()). */
void husk_ring_activate(struct husk_ring *r);
int husk_ring_is_active(const struct husk_ring *r);
/** From another thread of this process (local shutdown): mark the consumer
 *  stopped and wake it; husk_ring_prepare_sleep then answers ECANCELED. */
void husk_ring_stop(struct husk_ring *r);
int husk_ring_is_stopped(const struct husk_ring *r);
/** Closing: wake the peer's consumer if it sleeps on the futex, so that it
 *  looks at the socket and sees the hang-up now rather than after its
 *  sleep slice (docs/protocol.md §11). */
void husk_ring_wake_peer(struct husk_ring *r);
/** 1 if the socket `fd` reports a hang-up (POLLHUP, POLLRDHUP, POLLERR):
 *  the peer is gone or the socket was shut down. Does not wait. */
int husk_ring_socket_gone(int fd);

#ifdef __cplusplus
}
#endif

#endif
