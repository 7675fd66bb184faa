/*
 * hyp.c — the hypercall table of the metal host: memory, DMA, threads,
 * time, random, log, panic and configuration. Locks are in sync.c, PCI
 * and interrupts in pci.c. Block and frame I/O work on host files and TAP
 * devices, which bare metal does not have: their feature bits stay clear
 * and their slots return ENOSYS, as the ABI prescribes for a missing
 * operation.
 */
#include "metal.h"

struct husk_ctx {
    const struct husk_component *comp;
};

struct husk_hyp metal_hyp;

static const char *ctx_name(husk_ctx *ctx) { return ctx && ctx->comp ? ctx->comp->name : "metal"; }
static bool pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* ---- memory ---------------------------------------------------------------- */

static int32_t h_mem_alloc(husk_ctx *ctx, uint64_t size, uint64_t align, void **out) {
    if (!out) return HUSK_EFAULT;
    if (align == 0) align = 16;
    if (size == 0 || size > (1ull << 40) || !pow2(align)) return HUSK_EINVAL;
    void *p = mem_get(size, align, 0, MEM_HEAP);
    if (!p) return HUSK_ENOMEM;
    *out = p;
    return HUSK_OK;
}

static int32_t h_mem_free(husk_ctx *ctx, void *p, uint64_t size) {
    if (!p || !size || !mem_put(p, size, MEM_HEAP)) return HUSK_EINVAL;
    return HUSK_OK;
}

static uint64_t h_page_size(husk_ctx *ctx) { return 4096; }

static int32_t h_page_map(husk_ctx *ctx, uint64_t size, uint32_t prot, void **out) {
    if (!out) return HUSK_EFAULT;
    if (size == 0 || (size & 4095)) return HUSK_EINVAL;
    if (size > (1ull << 40)) return HUSK_ENOMEM;
    /* prot is not enforced: every page is mapped read-write (one identity map). */
    void *p = mem_get(size, 4096, 0, MEM_PAGES);
    if (!p) return HUSK_ENOMEM;
    memset(p, 0, size);
    *out = p;
    return HUSK_OK;
}

static int32_t h_page_unmap(husk_ctx *ctx, void *p, uint64_t size) {
    if (!p || !size || !mem_put(p, size, MEM_PAGES)) return HUSK_EINVAL;
    return HUSK_OK;
}

/* ---- DMA: physical memory, bus address == CPU address (no IOMMU) ------------ */

struct dma {
    void *p;
};

static int32_t h_dma_alloc(husk_ctx *ctx, uint64_t size, uint64_t align, uint64_t max_bus, struct husk_dma_buf *out) {
    if (!out) return HUSK_EFAULT;
    if (align == 0) align = 4096;
    if (size == 0 || !pow2(align)) return HUSK_EINVAL;
    if (size > (1ull << 40)) return HUSK_ENOMEM;
    if (align < 4096) align = 4096;
    uint64_t len = (size + 4095) & ~4095ull;
    struct dma *d = mem_get(sizeof *d, 16, 0, MEM_KERNEL);
    if (!d) return HUSK_ENOMEM;
    d->p = mem_get(len, align, max_bus, MEM_DMA);
    husk_handle h = d->p ? handle_new(H_DMA, d) : 0;
    if (!h) {
        if (d->p) mem_put(d->p, len, MEM_DMA);
        mem_put(d, sizeof *d, MEM_KERNEL);
        return HUSK_ENOMEM;
    }
    memset(d->p, 0, len);
    *out = (struct husk_dma_buf){.handle = h, .cpu = d->p, .bus = (uint64_t)(uintptr_t)d->p, .size = len};
    return HUSK_OK;
}

static int32_t h_dma_free(husk_ctx *ctx, husk_handle h) {
    struct dma *d = handle_get(h, H_DMA);
    if (!d) return HUSK_EBADF;
    handle_free(h);
    mem_put(d->p, 0, MEM_DMA);
    mem_put(d, sizeof *d, MEM_KERNEL);
    return HUSK_OK;
}

/* ---- threads ---------------------------------------------------------------- */

static int32_t h_thread_create(husk_ctx *ctx, const char *name, void (*fn)(void *), void *arg, uint32_t flags,
                               husk_handle *out) {
    if (!fn || (flags & ~HUSK_THREAD_JOINABLE)) return HUSK_EINVAL;
    bool joinable = flags & HUSK_THREAD_JOINABLE;
    if (joinable && !out) return HUSK_EINVAL;
    return thread_spawn(name, fn, arg, joinable, ctx, out);
}

static int32_t h_thread_join(husk_ctx *ctx, husk_handle t) { return thread_join_handle(t); }

static void h_thread_exit(husk_ctx *ctx) {
    if (thread_is_host(thread_current())) metal_panic(ctx_name(ctx), "thread_exit called on a host thread");
    thread_exit_current();
}

static husk_handle h_thread_self(husk_ctx *ctx) { return thread_handle(thread_current()); }
static husk_ctx *h_ctx_current(void) { return thread_ctx(thread_current()); }
static void h_tls_set(husk_ctx *ctx, void *v) { *thread_tls(thread_current()) = v; }
static void *h_tls_get(husk_ctx *ctx) { return *thread_tls(thread_current()); }
static int32_t h_thread_cancel(husk_ctx *ctx, husk_handle t) { return thread_cancel_handle(t); }
static int32_t h_cancel_pending(husk_ctx *ctx) { return thread_cancel_pending(); }
static void h_cancel_clear(husk_ctx *ctx) { thread_cancel_clear(); }

/* ---- time ------------------------------------------------------------------- */

static uint64_t h_clock_monotonic(husk_ctx *ctx) { return clock_ns(); }
static uint64_t h_clock_wall(husk_ctx *ctx) { return clock_wall_ns(); }

static int32_t h_sleep_until(husk_ctx *ctx, uint64_t deadline) {
    if (deadline == NO_DEADLINE) deadline--; /* a deadline, however far */
    return sched_block(0, deadline, true) == WAKE_CANCEL ? HUSK_EINTR : HUSK_OK;
}

static int32_t h_sleep_ns(husk_ctx *ctx, uint64_t ns) {
    if (thread_cancel_pending()) return HUSK_EINTR;
    if (ns == 0) {
        sched_yield();
        return HUSK_OK;
    }
    uint64_t now = clock_ns();
    return h_sleep_until(ctx, ns > NO_DEADLINE - now ? NO_DEADLINE : now + ns);
}

/* ---- random: RDRAND when the CPU has it, else xoshiro256** seeded from the
 * TSC and the RTC (not cryptographically strong: say so in the boot line). */

static uint64_t rs[4];
static bool have_rdrand;

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro(void) {
    uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;
    rs[2] ^= rs[0];
    rs[3] ^= rs[1];
    rs[1] ^= rs[2];
    rs[0] ^= rs[3];
    rs[2] ^= t;
    rs[3] = rotl(rs[3], 45);
    return r;
}

static uint64_t random64(void) {
    if (have_rdrand) {
        for (int i = 0; i < 10; i++) {
            uint64_t v;
            uint8_t ok;
            __asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok));
            if (ok) return v ^ xoshiro();
        }
    }
    return xoshiro() ^ rdtsc();
}

static int32_t h_random_bytes(husk_ctx *ctx, void *buf, uint64_t len) {
    if (!buf && len) return HUSK_EFAULT;
    uint8_t *b = buf;
    while (len) {
        uint64_t v = random64();
        for (int i = 0; i < 8 && len; i++, len--) *b++ = (uint8_t)(v >> (8 * i));
    }
    return HUSK_OK;
}

void hyp_random_fill(void *buf, uint64_t len) {
    if (len) h_random_bytes(0, buf, len);
}

/* ---- log, panic, configuration ------------------------------------------------ */

static uint32_t tap_lines; /* "ok N" / "not ok N" lines seen: HUSK-DONE reports it */
uint32_t hyp_tap_lines(void) { return tap_lines; }

static bool starts(const char *s, const char *p) {
    while (*p)
        if (*s++ != *p++) return false;
    return true;
}

static void h_log(husk_ctx *ctx, uint32_t level, const char *msg) {
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (!msg) msg = "(null)";
    if (level == HUSK_LOG_DEBUG) return; /* the serial line is slow under emulation */
    if (starts(msg, "ok ") || starts(msg, "not ok ")) tap_lines++;
    kprintf("[%s] %s: %s\n", level < 4 ? names[level] : "?", ctx_name(ctx), msg);
}

void metal_panic(const char *who, const char *msg) {
    kprintf("panic: %s: %s\n", who, msg ? msg : "(null)");
    kprintf("HUSK-METAL-EXIT %d\n", HUSK_PANIC_EXIT_STATUS);
    power_off();
}

static void h_panic(husk_ctx *ctx, const char *msg) { metal_panic(ctx_name(ctx), msg); }

/* Configuration keys come from the kernel command line as NAME.KEY=VALUE. */
static int32_t h_config_get(husk_ctx *ctx, const char *key, char *buf, uint64_t cap, uint64_t *len) {
    if (!key || (!buf && cap)) return HUSK_EFAULT;
    char full[128];
    const char *name = ctx_name(ctx);
    size_t n = 0;
    for (size_t i = 0; name[i] && n + 2 < sizeof full; i++) full[n++] = name[i];
    full[n++] = '.';
    for (size_t i = 0; key[i] && n + 1 < sizeof full; i++) full[n++] = key[i];
    full[n] = 0;
    uint64_t l = 0;
    if (!cmdline_get(full, 0, 0, &l)) return HUSK_ENOENT;
    if (len) *len = l;
    if (l + 1 > cap) return HUSK_ERANGE;
    cmdline_get(full, buf, cap, 0);
    return HUSK_OK;
}

/* ---- block and frame I/O: no host files here ---------------------------------- */

static int32_t h_blk_open(husk_ctx *c, const char *p, uint32_t f, husk_handle *o, struct husk_blk_info *i) {
    return HUSK_ENOSYS;
}
static int32_t h_blk_read(husk_ctx *c, husk_handle b, void *buf, uint64_t l, uint64_t o) { return HUSK_ENOSYS; }
static int32_t h_blk_write(husk_ctx *c, husk_handle b, const void *buf, uint64_t l, uint64_t o) { return HUSK_ENOSYS; }
static int32_t h_blk_flush(husk_ctx *c, husk_handle b) { return HUSK_ENOSYS; }
static int32_t h_blk_submit(husk_ctx *c, husk_handle b, struct husk_blk_req *r) { return HUSK_ENOSYS; }
static int32_t h_blk_close(husk_ctx *c, husk_handle b) { return HUSK_ENOSYS; }
static int32_t h_frame_open(husk_ctx *c, const char *n, uint32_t f, husk_handle *o, struct husk_frame_info *i) {
    return HUSK_ENOSYS;
}
static int32_t h_frame_send(husk_ctx *c, husk_handle d, const void *f, uint64_t l) { return HUSK_ENOSYS; }
static int32_t h_frame_recv(husk_ctx *c, husk_handle d, void *b, uint64_t cap, uint64_t *l, uint64_t t) {
    return HUSK_ENOSYS;
}
static int32_t h_frame_close(husk_ctx *c, husk_handle d) { return HUSK_ENOSYS; }

void hyp_init(void) {
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    have_rdrand = (c >> 30) & 1;
    uint64_t seed = rdtsc() ^ clock_wall_ns();
    for (int i = 0; i < 4; i++) { /* splitmix64 */
        seed += 0x9E3779B97F4A7C15ull;
        uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        rs[i] = z ^ (z >> 31);
    }

    struct husk_hyp *h = &metal_hyp;
    h->abi_major = HUSK_ABI_MAJOR;
    h->abi_minor = HUSK_ABI_MINOR;
    h->size = sizeof *h;
    h->features = HUSK_FEAT_DMA; /* hyp_fill_pci adds the device bits */
    h->backend = "metal";
    h->mem_alloc = h_mem_alloc;
    h->mem_free = h_mem_free;
    h->page_size = h_page_size;
    h->page_map = h_page_map;
    h->page_unmap = h_page_unmap;
    h->dma_alloc = h_dma_alloc;
    h->dma_free = h_dma_free;
    h->thread_create = h_thread_create;
    h->thread_join = h_thread_join;
    h->thread_exit = h_thread_exit;
    h->thread_self = h_thread_self;
    h->ctx_current = h_ctx_current;
    h->tls_set = h_tls_set;
    h->tls_get = h_tls_get;
    h->thread_cancel = h_thread_cancel;
    h->cancel_pending = h_cancel_pending;
    h->cancel_clear = h_cancel_clear;
    hyp_fill_sync(h);
    h->clock_monotonic = h_clock_monotonic;
    h->clock_wall = h_clock_wall;
    h->sleep_ns = h_sleep_ns;
    h->sleep_until = h_sleep_until;
    h->random_bytes = h_random_bytes;
    h->log = h_log;
    h->panic = h_panic;
    h->config_get = h_config_get;
    hyp_fill_pci(h);
    h->blk_open = h_blk_open;
    h->blk_read = h_blk_read;
    h->blk_write = h_blk_write;
    h->blk_flush = h_blk_flush;
    h->blk_submit = h_blk_submit;
    h->blk_close = h_blk_close;
    h->frame_open = h_frame_open;
    h->frame_send = h_frame_send;
    h->frame_recv = h_frame_recv;
    h->frame_close = h_frame_close;
}

bool hyp_rdrand(void) { return have_rdrand; }

husk_ctx *hyp_new_ctx(const struct husk_component *comp) {
    husk_ctx *c = mem_get(sizeof *c, 16, 0, MEM_KERNEL);
    if (c) c->comp = comp;
    return c;
}
