/*
 * husk/blk_queue.h — the block queue of docs/block.md ("The block queue"):
 * per opened device, a submission ring (client -> server) and a completion
 * ring (server -> client) of fixed-size entries in one memfd the client
 * creates, io_uring/virtio style. Waiting is the call rings' (husk/rpc_ring.h:
 * adaptive spin, then a futex on a sleeping flag); each side embeds a
 * consumer-only struct husk_ring for the ring it consumes.
 *
 * Both sides treat the other's memory as hostile: indices are read once and
 * checked, entries are copied before they are looked at. Validation of the
 * copied entry's fields (op, bounds) is the server's (Sources/Servers/Block).
 * Functions return 0 or an errno-style status.
 */
#ifndef HUSK_BLK_QUEUE_H
#define HUSK_BLK_QUEUE_H

#include <husk/rpc_ring.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HUSK_BLKQ_CONTROL_SIZE 4096u
#define HUSK_BLKQ_SQE_SIZE     32u
#define HUSK_BLKQ_CQE_SIZE     16u
#define HUSK_BLKQ_MIN_ENTRIES  2u
#define HUSK_BLKQ_MAX_ENTRIES  4096u
/* Operations of a submission entry. */
#define HUSK_BLKQ_OP_READ      1u
#define HUSK_BLKQ_OP_WRITE     2u
#define HUSK_BLKQ_OP_FLUSH     3u

/* Submission entry, 32 bytes, little-endian. */
struct husk_blkq_sqe {
    uint8_t op;        /* HUSK_BLKQ_OP_* */
    uint8_t flags;     /* 0 */
    uint16_t reserved; /* 0 */
    uint32_t length;   /* bytes (read/write), 0 for flush */
    uint64_t offset;   /* device byte offset */
    uint64_t buffer;   /* byte offset into the registered region window */
    uint64_t tag;      /* returned in the completion, opaque to the server */
};

/* Completion entry, 16 bytes. */
struct husk_blkq_cqe {
    uint64_t tag;
    int32_t status; /* 0 or an errno value (docs/block.md) */
    uint32_t count; /* bytes transferred: length on success, 0 on failure */
};

struct husk_blkq {
    uint8_t *base;
    size_t size;
    uint32_t entries;
    uint8_t *sq, *cq;
    uint32_t *sq_tail, *sq_head, *cq_tail, *cq_head;
    int server;
    /* Producer side (client: submissions; server: completions): our tail,
     * never read back from shared memory. */
    uint32_t tx_next;
    uint32_t *tx_tail, *tx_head, *tx_wait;
    /* Consumer side: a consumer-only call-ring view (rx.rx_next is our head). */
    struct husk_ring rx;
};

/** Bytes of memfd needed for `entries` entries per ring. */
uint64_t husk_blkq_size(uint32_t entries);
/** 1 if `entries` is a power of two in [MIN, MAX]. */
int husk_blkq_entries_valid(uint32_t entries);
/** Set `q` up over `base` (`size` bytes mapped shared) as the client
 *  (server = 0) or the server. EINVAL for bad parameters or a short map. */
int husk_blkq_init(struct husk_blkq *q, void *base, size_t size, uint32_t entries, int server);

/** Producer: entries free in the ring we produce (the peer's head read
 *  once); -1 if the peer's head is garbage (more used than the ring holds). */
int64_t husk_blkq_free(const struct husk_blkq *q);
/** Producer: write one entry (client: a struct husk_blkq_sqe, server: a
 *  struct husk_blkq_cqe) without publishing it. EAGAIN when full, EPROTO
 *  for a garbage head. */
int husk_blkq_push(struct husk_blkq *q, const void *entry);
/** Producer: publish what was pushed (release) and wake the consumer if it
 *  sleeps (husk_ring_notify). */
void husk_blkq_publish(struct husk_blkq *q);

/** Consumer: copy the next entry out (server: a submission, client: a
 *  completion) into `out`. 0, EAGAIN when empty, EPROTO (reason in `why`)
 *  when the peer's tail is beyond the ring. */
int husk_blkq_take(struct husk_blkq *q, void *out, const char **why);

/** Consumer (a C client waiting for completions): until an entry is there,
 *  spin (adaptive, as the call rings), then sleep on the futex in slices of
 *  at most 100 ms; after each slice, `fd` (the device connection's socket,
 *  -1: none) is checked for a hang-up. 0: an entry is there; ECONNRESET:
 *  the socket hung up; ETIMEDOUT: `timeout_ms` (negative: no limit) passed;
 *  EINTR: a signal interrupted the sleep. */
int husk_blkq_wait(struct husk_blkq *q, int fd, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
