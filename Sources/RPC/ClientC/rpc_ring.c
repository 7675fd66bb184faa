/* The call rings of docs/protocol.md §11 (see husk/rpc_ring.h). */
#define _GNU_SOURCE
#include <husk/rpc_ring.h>

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SPIN_MAX_NS 50000u
#define SPIN_MIN_NS 2000u

static inline uint32_t load_acquire(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void store_release(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* CPUs online, read once when the program starts: a sandboxed server
 * (docs/sandbox.md) sets its rings up after entering seccomp, where the
 * sysfs read behind sysconf() is not allowed. 0: unknown (spin allowed). */
static int online_cpus;

__attribute__((constructor)) static void probe_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    online_cpus = n > 0 ? (int)n : 0;
}

uint64_t husk_ring_size(uint32_t slot_count, uint32_t slot_size) {
    return HUSK_RING_CONTROL_SIZE + 2u * (uint64_t)slot_count * slot_size;
}

int husk_ring_params_valid(uint32_t slot_count, uint32_t slot_size) {
    if (slot_count < HUSK_RING_MIN_SLOTS || slot_count > HUSK_RING_MAX_SLOTS) return 0;
    if ((slot_count & (slot_count - 1)) != 0) return 0;
    if (slot_size < HUSK_RING_MIN_SLOT_SIZE || slot_size > HUSK_RING_MAX_SLOT_SIZE || slot_size % 64 != 0) return 0;
    return 1;
}

int husk_ring_init(struct husk_ring *r, void *base, size_t size, uint32_t slot_count, uint32_t slot_size, int server) {
    int stopped = r->stopped;
    memset(r, 0, sizeof *r);
    r->stopped = stopped;
    if (base == NULL || !husk_ring_params_valid(slot_count, slot_size) || size < husk_ring_size(slot_count, slot_size))
        return EINVAL;
    uint8_t *b = base;
    r->base = b;
    r->size = size;
    r->slot_count = slot_count;
    r->slot_size = slot_size;
    uint32_t *req_tail = (uint32_t *)(b + 0), *req_head = (uint32_t *)(b + 64), *req_wait = (uint32_t *)(b + 128);
    uint32_t *rep_tail = (uint32_t *)(b + 192), *rep_head = (uint32_t *)(b + 256), *rep_wait = (uint32_t *)(b + 320);
    uint32_t *client_cpu = (uint32_t *)(b + 384), *server_cpu = (uint32_t *)(b + 448);
    uint8_t *req_slots = b + HUSK_RING_CONTROL_SIZE;
    uint8_t *rep_slots = req_slots + (size_t)slot_count * slot_size;
    if (server) {
        r->rx_tail = req_tail, r->rx_head = req_head, r->rx_wait = req_wait, r->rx_slots = req_slots;
        r->tx_tail = rep_tail, r->tx_head = rep_head, r->tx_wait = rep_wait, r->tx_slots = rep_slots;
        r->my_cpu = server_cpu, r->peer_cpu = client_cpu;
    } else {
        r->tx_tail = req_tail, r->tx_head = req_head, r->tx_wait = req_wait, r->tx_slots = req_slots;
        r->rx_tail = rep_tail, r->rx_head = rep_head, r->rx_wait = rep_wait, r->rx_slots = rep_slots;
        r->my_cpu = client_cpu, r->peer_cpu = server_cpu;
    }
    /* Our own indices start where the shared ones are now (0 in a fresh
     * memfd); from here on we never read them back. */
    r->tx_next = __atomic_load_n(r->tx_tail, __ATOMIC_ACQUIRE);
    r->rx_next = __atomic_load_n(r->rx_head, __ATOMIC_ACQUIRE);
    r->spin_ns = SPIN_MAX_NS / 4;
    /* One CPU in the machine: never spin. (A thread pinned to one CPU may
     * still have its peer on another: the *_cpu fields tell.) */
    r->single_cpu = online_cpus == 1;
    return 0;
}

uint32_t husk_ring_inline_max(const struct husk_ring *r) { return r->slot_size - HUSK_RING_SLOT_HEADER; }

int husk_ring_can_send(const struct husk_ring *r) {
    uint32_t head = load_acquire(r->tx_head);
    uint32_t used = r->tx_next - head;
    if (used > r->slot_count) return EPROTO;
    return used == r->slot_count ? EAGAIN : 0;
}

static void futex_wake(uint32_t *word) { syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0); }

int husk_ring_send(struct husk_ring *r, uint32_t kind, const void *a, size_t alen, const void *b, size_t blen) {
    int st = husk_ring_can_send(r);
    if (st != 0) return st;
    size_t len = kind == HUSK_RING_KIND_INLINE ? alen + blen : 0;
    if (len > husk_ring_inline_max(r) || kind > HUSK_RING_KIND_SOCKET) return EMSGSIZE;
    uint8_t *slot = r->tx_slots + (size_t)(r->tx_next & (r->slot_count - 1)) * r->slot_size;
    uint32_t words[2] = {(uint32_t)len, kind};
    memcpy(slot, words, sizeof words);
    if (alen && kind == HUSK_RING_KIND_INLINE) memcpy(slot + HUSK_RING_SLOT_HEADER, a, alen);
    if (blen && kind == HUSK_RING_KIND_INLINE) memcpy(slot + HUSK_RING_SLOT_HEADER + alen, b, blen);
    r->tx_next++;
    store_release(r->tx_tail, r->tx_next);
    return husk_ring_notify(r->tx_wait);
}

int husk_ring_notify(uint32_t *wait) {
    /* Pairs with the consumer's store of its flag and reload of tail. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(wait, __ATOMIC_RELAXED) != HUSK_RING_AWAKE) {
        uint32_t old = __atomic_exchange_n(wait, HUSK_RING_AWAKE, __ATOMIC_SEQ_CST);
        if (old == HUSK_RING_SLEEP_FUTEX)
            futex_wake(wait);
        else if (old == HUSK_RING_SLEEP_SOCKET)
            return HUSK_RING_NEEDS_SOCKET_WAKE;
    }
    return 0;
}

int husk_ring_init_consumer(struct husk_ring *r, uint32_t *tail, uint32_t *head, uint32_t *wait, uint32_t *my_cpu,
                            uint32_t *peer_cpu) {
    memset(r, 0, sizeof *r);
    if (tail == NULL || head == NULL || wait == NULL || my_cpu == NULL || peer_cpu == NULL) return EINVAL;
    r->rx_tail = tail, r->rx_head = head, r->rx_wait = wait;
    r->my_cpu = my_cpu, r->peer_cpu = peer_cpu;
    r->rx_next = __atomic_load_n(head, __ATOMIC_ACQUIRE);
    r->spin_ns = SPIN_MAX_NS / 4;
    r->single_cpu = online_cpus == 1;
    return 0;
}

int husk_ring_pending(const struct husk_ring *r) { return load_acquire(r->rx_tail) != r->rx_next; }

int husk_ring_receive(struct husk_ring *r, void *buf, size_t cap, uint32_t *kind, uint32_t *length, const char **why) {
    uint32_t tail = load_acquire(r->rx_tail);
    uint32_t avail = tail - r->rx_next;
    if (avail == 0) return EAGAIN;
    if (avail > r->slot_count) {
        *why = "ring index beyond the ring (tail - head > slot_count)";
        return EPROTO;
    }
    const uint8_t *slot = r->rx_slots + (size_t)(r->rx_next & (r->slot_count - 1)) * r->slot_size;
    uint32_t words[2];
    /* Read once: the peer may change the slot while we look at it. */
    __atomic_load((const uint32_t *)slot, &words[0], __ATOMIC_RELAXED);
    __atomic_load((const uint32_t *)(slot + 4), &words[1], __ATOMIC_RELAXED);
    uint32_t len = words[0], k = words[1];
    if (k == HUSK_RING_KIND_INLINE) {
        if (len < 40 || len > husk_ring_inline_max(r)) {
            *why = "ring slot length out of range";
            return EPROTO;
        }
        if (len > cap) {
            *why = "ring slot longer than the receive buffer";
            return EPROTO;
        }
        memcpy(buf, slot + HUSK_RING_SLOT_HEADER, len);
    } else if (k == HUSK_RING_KIND_SOCKET) {
        if (len != 0) {
            *why = "ring socket slot with a length";
            return EPROTO;
        }
    } else {
        *why = "unknown ring slot kind";
        return EPROTO;
    }
    r->rx_next++;
    store_release(r->rx_head, r->rx_next);
    *kind = k;
    *length = len;
    return 0;
}

/* Adaptive spin: the budget covers twice the longest wait that a spin
 * recently ended (a peer's turnaround), shrinks by 1/8 after each spin that
 * found nothing, and every 16th consecutive miss spins the full 50 us once,
 * so that a budget that shrank below the peer's turnaround grows back. */
int husk_ring_spin(struct husk_ring *r) {
    if (husk_ring_pending(r)) return 1;
    if (r->single_cpu) return 0;
    unsigned cpu = 0;
    if (getcpu(&cpu, NULL) == 0) {
        __atomic_store_n(r->my_cpu, cpu + 1, __ATOMIC_RELAXED);
        /* Both on one CPU: spinning only keeps the peer from running. */
        if (__atomic_load_n(r->peer_cpu, __ATOMIC_RELAXED) == cpu + 1) return 0;
    }
    uint32_t budget = r->misses >= 16 ? SPIN_MAX_NS : r->spin_ns;
    uint64_t start = now_ns(), end = start + budget;
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (husk_ring_pending(r)) {
                uint64_t took = now_ns() - start;
                uint64_t want = 2 * took;
                if (want > r->spin_ns) r->spin_ns = want > SPIN_MAX_NS ? SPIN_MAX_NS : (uint32_t)want;
                r->misses = 0;
                return 1;
            }
            cpu_relax();
        }
        if (now_ns() >= end) break;
    }
    uint32_t s = r->spin_ns - r->spin_ns / 8;
    r->spin_ns = s < SPIN_MIN_NS ? SPIN_MIN_NS : s;
    r->misses = r->misses >= 16 ? 0 : r->misses + 1;
    return 0;
}

int husk_ring_prepare_sleep(struct husk_ring *r, uint32_t mode) {
    __atomic_store_n(r->rx_wait, mode, __ATOMIC_SEQ_CST);
    if (husk_ring_pending(r)) {
        husk_ring_end_sleep(r);
        return EAGAIN;
    }
    if (husk_ring_is_stopped(r)) {
        husk_ring_end_sleep(r);
        return ECANCELED;
    }
    return 0;
}

int husk_ring_futex_sleep(struct husk_ring *r, int timeout_ms) {
    struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
    long rc = syscall(SYS_futex, r->rx_wait, FUTEX_WAIT, HUSK_RING_SLEEP_FUTEX, &ts, NULL, 0);
    if (rc == 0 || errno == EAGAIN) return 0;
    return errno == ETIMEDOUT ? ETIMEDOUT : errno == EINTR ? EINTR : 0;
}

void husk_ring_end_sleep(struct husk_ring *r) { __atomic_store_n(r->rx_wait, HUSK_RING_AWAKE, __ATOMIC_SEQ_CST); }

uint32_t husk_ring_hold_wakes(struct husk_ring *r) {
    return __atomic_exchange_n(r->rx_wait, HUSK_RING_AWAKE, __ATOMIC_SEQ_CST);
}

int husk_ring_release_wakes(struct husk_ring *r, uint32_t flag) {
    /* Not asleep when we held it: the receiving thread looks at the ring
     * itself once it is back. */
    if (flag == HUSK_RING_AWAKE) return 0;
    /* Pairs with the producer's fence between its tail store and its read
     * of the flag, as in husk_ring_prepare_sleep. */
    __atomic_store_n(r->rx_wait, flag, __ATOMIC_SEQ_CST);
    return husk_ring_pending(r);
}

void husk_ring_activate(struct husk_ring *r) { __atomic_store_n(&r->active, 1, __ATOMIC_RELEASE); }

int husk_ring_is_active(const struct husk_ring *r) { return __atomic_load_n(&r->active, __ATOMIC_ACQUIRE); }

void husk_ring_stop(struct husk_ring *r) {
    __atomic_store_n(&r->stopped, 1, __ATOMIC_SEQ_CST);
    if (!husk_ring_is_active(r)) return;
    __atomic_exchange_n(r->rx_wait, HUSK_RING_AWAKE, __ATOMIC_SEQ_CST);
    futex_wake(r->rx_wait);
}

void husk_ring_wake_peer(struct husk_ring *r) {
    if (!husk_ring_is_active(r)) return;
    if (__atomic_exchange_n(r->tx_wait, HUSK_RING_AWAKE, __ATOMIC_SEQ_CST) == HUSK_RING_SLEEP_FUTEX)
        futex_wake(r->tx_wait);
}

int husk_ring_is_stopped(const struct husk_ring *r) { return __atomic_load_n(&r->stopped, __ATOMIC_SEQ_CST); }

int husk_ring_socket_gone(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0;
}
