/* The block queue of docs/block.md (see husk/blk_queue.h). */
#include <husk/blk_queue.h>

#include <errno.h>
#include <string.h>
#include <time.h>

_Static_assert(sizeof(struct husk_blkq_sqe) == HUSK_BLKQ_SQE_SIZE, "submission entry is 32 bytes");
_Static_assert(sizeof(struct husk_blkq_cqe) == HUSK_BLKQ_CQE_SIZE, "completion entry is 16 bytes");

uint64_t husk_blkq_size(uint32_t entries) {
    return HUSK_BLKQ_CONTROL_SIZE + (uint64_t)entries * (HUSK_BLKQ_SQE_SIZE + HUSK_BLKQ_CQE_SIZE);
}

int husk_blkq_entries_valid(uint32_t entries) {
    return entries >= HUSK_BLKQ_MIN_ENTRIES && entries <= HUSK_BLKQ_MAX_ENTRIES && (entries & (entries - 1)) == 0;
}

int husk_blkq_init(struct husk_blkq *q, void *base, size_t size, uint32_t entries, int server) {
    memset(q, 0, sizeof *q);
    if (base == NULL || !husk_blkq_entries_valid(entries) || size < husk_blkq_size(entries)) return EINVAL;
    uint8_t *b = base;
    q->base = b;
    q->size = size;
    q->entries = entries;
    q->server = server;
    /* The control page has the call rings' layout (protocol.md §11): the
     * submission ring where the request ring is, the completion ring where
     * the reply ring is. */
    uint32_t *sq_tail = (uint32_t *)(b + 0), *sq_head = (uint32_t *)(b + 64), *sq_wait = (uint32_t *)(b + 128);
    uint32_t *cq_tail = (uint32_t *)(b + 192), *cq_head = (uint32_t *)(b + 256), *cq_wait = (uint32_t *)(b + 320);
    uint32_t *client_cpu = (uint32_t *)(b + 384), *server_cpu = (uint32_t *)(b + 448);
    q->sq = b + HUSK_BLKQ_CONTROL_SIZE;
    q->cq = q->sq + (size_t)entries * HUSK_BLKQ_SQE_SIZE;
    q->sq_tail = sq_tail, q->sq_head = sq_head, q->cq_tail = cq_tail, q->cq_head = cq_head;
    if (server) {
        q->tx_tail = cq_tail, q->tx_head = cq_head, q->tx_wait = cq_wait;
        husk_ring_init_consumer(&q->rx, sq_tail, sq_head, sq_wait, server_cpu, client_cpu);
    } else {
        q->tx_tail = sq_tail, q->tx_head = sq_head, q->tx_wait = sq_wait;
        husk_ring_init_consumer(&q->rx, cq_tail, cq_head, cq_wait, client_cpu, server_cpu);
    }
    q->tx_next = __atomic_load_n(q->tx_tail, __ATOMIC_ACQUIRE);
    husk_ring_activate(&q->rx);
    return 0;
}

int64_t husk_blkq_free(const struct husk_blkq *q) {
    uint32_t head = __atomic_load_n(q->tx_head, __ATOMIC_ACQUIRE);
    uint32_t used = q->tx_next - head;
    if (used > q->entries) return -1;
    return (int64_t)(q->entries - used);
}

int husk_blkq_push(struct husk_blkq *q, const void *entry) {
    int64_t free = husk_blkq_free(q);
    if (free < 0) return EPROTO;
    if (free == 0) return EAGAIN;
    uint32_t i = q->tx_next & (q->entries - 1);
    if (q->server)
        memcpy(q->cq + (size_t)i * HUSK_BLKQ_CQE_SIZE, entry, HUSK_BLKQ_CQE_SIZE);
    else
        memcpy(q->sq + (size_t)i * HUSK_BLKQ_SQE_SIZE, entry, HUSK_BLKQ_SQE_SIZE);
    q->tx_next++;
    return 0;
}

void husk_blkq_publish(struct husk_blkq *q) {
    __atomic_store_n(q->tx_tail, q->tx_next, __ATOMIC_RELEASE);
    (void)husk_ring_notify(q->tx_wait);
}

int husk_blkq_take(struct husk_blkq *q, void *out, const char **why) {
    uint32_t tail = __atomic_load_n(q->rx.rx_tail, __ATOMIC_ACQUIRE);
    uint32_t avail = tail - q->rx.rx_next;
    if (avail == 0) return EAGAIN;
    if (avail > q->entries) {
        *why = q->server ? "submission tail beyond the ring (tail - head > entries)"
                         : "completion tail beyond the ring (tail - head > entries)";
        return EPROTO;
    }
    uint32_t i = q->rx.rx_next & (q->entries - 1);
    /* One copy into private memory: everything after looks at the copy. */
    if (q->server)
        memcpy(out, q->sq + (size_t)i * HUSK_BLKQ_SQE_SIZE, HUSK_BLKQ_SQE_SIZE);
    else
        memcpy(out, q->cq + (size_t)i * HUSK_BLKQ_CQE_SIZE, HUSK_BLKQ_CQE_SIZE);
    q->rx.rx_next++;
    __atomic_store_n(q->rx.rx_head, q->rx.rx_next, __ATOMIC_RELEASE);
    return 0;
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int husk_blkq_wait(struct husk_blkq *q, int fd, int timeout_ms) {
    uint64_t end = timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (husk_ring_spin(&q->rx)) return 0;
        int r = husk_ring_prepare_sleep(&q->rx, HUSK_RING_SLEEP_FUTEX);
        if (r == EAGAIN) return 0;
        if (r == ECANCELED) return ECANCELED; /* husk_ring_stop on our own view */
        if (r == 0) {
            uint64_t now = now_ms();
            int slice = 100;
            if (end != UINT64_MAX && end - now < (uint64_t)slice) slice = end > now ? (int)(end - now) : 0;
            r = slice > 0 ? husk_ring_futex_sleep(&q->rx, slice) : ETIMEDOUT;
            husk_ring_end_sleep(&q->rx);
            if (r == EINTR) return EINTR;
        }
        if (husk_ring_pending(&q->rx)) return 0;
        if (fd >= 0 && husk_ring_socket_gone(fd)) return ECONNRESET;
        if (now_ms() >= end) return ETIMEDOUT;
    }
}
