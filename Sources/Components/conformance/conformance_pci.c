/*
 * conformance_pci.c — PCI devices and interrupts, on QEMU's educational
 * device "edu" (1234:11e8) when the host offers one. What the suite relies
 * on from edu (QEMU docs/specs/edu.rst):
 *   BAR0: 1 MiB MMIO, 32-bit registers below 0x80, 32/64-bit from 0x80.
 *   0x00 ident 0x010000ed; 0x04 liveness: reads back ~value written;
 *   0x24 interrupt status; 0x60 raise: ORs value into status; 0x64 ack:
 *   clears bits. The line is asserted (INTx) while status != 0; with MSI a
 *   message goes out on each raise.
 *   DMA: 0x80 source, 0x88 destination, 0x90 count, 0x98 command (bit 0
 *   start / busy, bit 1: edu -> RAM); the device buffer is at 0x40000
 *   (4 KiB); the device's DMA mask is 28 bits.
 */
#include "cf_private.h"

#define EDU_VENDOR         0x1234
#define EDU_DEVICE         0x11e8
#define EDU_IDENT          0x010000edu
#define EDU_REG_IDENT      0x00
#define EDU_REG_LIVE       0x04
#define EDU_REG_IRQ_STATUS 0x24
#define EDU_REG_IRQ_RAISE  0x60
#define EDU_REG_IRQ_ACK    0x64
#define EDU_REG_DMA_SRC    0x80
#define EDU_REG_DMA_DST    0x88
#define EDU_REG_DMA_CNT    0x90
#define EDU_REG_DMA_CMD    0x98
#define EDU_DMA_BUF        0x40000u

static bool have_pci(void) { return (H->features & HUSK_FEAT_PCI) != 0; }

/* Enumerate; returns the number of devices and edu's index (or -1). */
static uint32_t enumerate(int *edu) {
    *edu = -1;
    uint32_t i = 0;
    struct husk_pci_id id;
    while (i < 4096 && H->pci_enumerate(C, i, &id) == HUSK_OK) {
        if (id.vendor == EDU_VENDOR && id.device == EDU_DEVICE && *edu < 0) *edu = (int)i;
        i++;
    }
    return i;
}

#define NEED_EDU(idx)                                                        \
    int idx;                                                                 \
    do {                                                                     \
        if (!have_pci()) SKIP("no HUSK_FEAT_PCI on backend %s", H->backend); \
        enumerate(&idx);                                                     \
        if (idx < 0) SKIP("no edu device (1234:11e8) on this host");         \
    } while (0)

static void t_pci_absent(void) {
    if (have_pci()) SKIP("backend %s has HUSK_FEAT_PCI", H->backend);
    struct husk_pci_id id;
    CHECK_RC(H->pci_enumerate(C, 0, &id), HUSK_ENODEV);
    husk_handle d = 0;
    CHECK_RC2(H->dev_open(C, 0, &d), HUSK_ENODEV, HUSK_ENOENT);
}

static void t_pci_enumerate(void) {
    if (!have_pci()) SKIP("no HUSK_FEAT_PCI on backend %s", H->backend);
    int edu;
    uint32_t n = enumerate(&edu);
    cf_diag("%u device(s)%s", n, edu >= 0 ? ", edu present" : ", no edu");
    for (uint32_t i = 0; i < n; i++) {
        struct husk_pci_id id;
        cf_fill(&id, sizeof id, 0xee);
        if (!CHECK_RC(H->pci_enumerate(C, i, &id), HUSK_OK)) continue;
        CHECK(id.vendor != 0xffff && id.vendor != 0, "device %u: vendor 0x%04x", i, id.vendor);
        bool nul = false;
        for (unsigned k = 0; k < sizeof id.address; k++) nul |= id.address[k] == 0;
        CHECK(nul && id.address[0], "device %u: address empty or not NUL-terminated", i);
        if (nul)
            cf_diag("  %u: %04x:%04x class %06x rev %u at %s", i, id.vendor, id.device, id.class_code, id.revision,
                    id.address);
        struct husk_pci_id again;
        if (CHECK_RC(H->pci_enumerate(C, i, &again), HUSK_OK))
            CHECK(again.vendor == id.vendor && again.device == id.device,
                  "device %u: identity changed "
                  "between two enumerations",
                  i);
    }
    struct husk_pci_id id;
    CHECK_RC(H->pci_enumerate(C, n, &id), HUSK_ENOENT);
    CHECK_RC(H->pci_enumerate(C, n + 1, &id), HUSK_ENOENT);
    CHECK_RC(H->pci_enumerate(C, 0xffffffffu, &id), HUSK_ENOENT);
    husk_handle d = 0;
    CHECK_RC2(H->dev_open(C, n, &d), HUSK_ENOENT, HUSK_ENODEV);
    CHECK_RC2(H->dev_open(C, 0xffffffffu, &d), HUSK_ENOENT, HUSK_ENODEV);
}

static uint32_t find_cap(husk_handle dev, uint8_t want) {
    uint32_t status = 0, ptr = 0;
    if (H->cfg_read(C, dev, 0x06, 2, &status) != HUSK_OK || !(status & 0x10)) return 0;
    if (H->cfg_read(C, dev, 0x34, 1, &ptr) != HUSK_OK) return 0;
    for (int guard = 0; guard < 48 && ptr >= 0x40 && ptr < 0x100; guard++) {
        uint32_t id = 0, next = 0;
        ptr &= 0xfc;
        if (H->cfg_read(C, dev, ptr, 1, &id) != HUSK_OK) return 0;
        if (id == want) return ptr;
        if (H->cfg_read(C, dev, ptr + 1, 1, &next) != HUSK_OK) return 0;
        ptr = next;
    }
    return 0;
}

static void t_edu_open_cfg(void) {
    NEED_EDU(idx);
    struct husk_pci_id id;
    REQUIRE_RC(H->pci_enumerate(C, (uint32_t)idx, &id), HUSK_OK);
    husk_handle dev = 0, dev2 = 0;
    REQUIRE_RC(H->dev_open(C, (uint32_t)idx, &dev), HUSK_OK);
    REQUIRE(dev != 0, "dev_open returned handle 0");
    CHECK_RC(H->dev_open(C, (uint32_t)idx, &dev2), HUSK_EBUSY);

    uint32_t v = 0;
    if (CHECK_RC(H->cfg_read(C, dev, 0x00, 2, &v), HUSK_OK)) CHECK_EQ(v, id.vendor);
    if (CHECK_RC(H->cfg_read(C, dev, 0x02, 2, &v), HUSK_OK)) CHECK_EQ(v, id.device);
    if (CHECK_RC(H->cfg_read(C, dev, 0x00, 4, &v), HUSK_OK)) CHECK_EQ(v, ((uint32_t)id.device << 16) | id.vendor);
    if (CHECK_RC(H->cfg_read(C, dev, 0x00, 1, &v), HUSK_OK)) CHECK_EQ(v, id.vendor & 0xff);
    if (CHECK_RC(H->cfg_read(C, dev, 0x01, 1, &v), HUSK_OK)) CHECK_EQ(v, id.vendor >> 8);
    if (CHECK_RC(H->cfg_read(C, dev, 0x08, 4, &v), HUSK_OK)) {
        CHECK(v >> 8 == id.class_code, "config class code 0x%06x, enumerate said 0x%06x", v >> 8, id.class_code);
        CHECK((v & 0xff) == id.revision, "config revision %u, enumerate said %u", v & 0xff, id.revision);
    }
    if (CHECK_RC(H->cfg_read(C, dev, 0x2c, 2, &v), HUSK_OK)) CHECK_EQ(v, id.subvendor);
    if (CHECK_RC(H->cfg_read(C, dev, 0x2e, 2, &v), HUSK_OK)) CHECK_EQ(v, id.subdevice);

    /* Width and alignment. */
    CHECK_RC(H->cfg_read(C, dev, 0, 3, &v), HUSK_EINVAL);
    CHECK_RC(H->cfg_read(C, dev, 0, 8, &v), HUSK_EINVAL);
    CHECK_RC(H->cfg_read(C, dev, 0, 0, &v), HUSK_EINVAL);
    CHECK_RC(H->cfg_read(C, dev, 1, 2, &v), HUSK_EINVAL);
    CHECK_RC(H->cfg_read(C, dev, 2, 4, &v), HUSK_EINVAL);
    CHECK_RC(H->cfg_read(C, dev, 4096, 4, &v), HUSK_EINVAL);
    CHECK_RC(H->cfg_read(C, dev, 0xfffffffcu, 4, &v), HUSK_EINVAL);
    CHECK_RC(H->cfg_write(C, dev, 4, 3, 0), HUSK_EINVAL);
    CHECK_RC(H->cfg_write(C, dev, 5, 2, 0), HUSK_EINVAL);
    CHECK_RC(H->cfg_write(C, dev, 4096, 4, 0), HUSK_EINVAL);

    /* Command register: enable memory space and bus mastering, read back. */
    uint32_t cmd = 0;
    if (CHECK_RC(H->cfg_read(C, dev, 0x04, 2, &cmd), HUSK_OK)) {
        CHECK_RC(H->cfg_write(C, dev, 0x04, 2, cmd | 0x6), HUSK_OK);
        if (CHECK_RC(H->cfg_read(C, dev, 0x04, 2, &v), HUSK_OK))
            CHECK((v & 0x6) == 0x6, "command register 0x%04x after setting memory+bus master", v);
    }
    uint32_t msi = find_cap(dev, 0x05), msix = find_cap(dev, 0x11);
    cf_diag("edu capabilities: MSI at 0x%x, MSI-X at 0x%x (0: none)", msi, msix);

    CHECK_RC(H->dev_close(C, dev), HUSK_OK);
    /* Open again after close. */
    if (CHECK_RC(H->dev_open(C, (uint32_t)idx, &dev), HUSK_OK)) CHECK_RC(H->dev_close(C, dev), HUSK_OK);
}

static void t_edu_bars(void) {
    NEED_EDU(idx);
    husk_handle dev = 0;
    REQUIRE_RC(H->dev_open(C, (uint32_t)idx, &dev), HUSK_OK);
    struct husk_bar_info bi;
    cf_fill(&bi, sizeof bi, 0);
    if (CHECK_RC(H->bar_info(C, dev, 0, &bi), HUSK_OK)) {
        CHECK(bi.size == (1u << 20), "bar_info(0).size: expected 1 MiB got %llu", U64(bi.size));
        CHECK(bi.flags & HUSK_BAR_MMIO, "bar_info(0).flags 0x%x without HUSK_BAR_MMIO", bi.flags);
        CHECK(!(bi.flags & HUSK_BAR_PIO), "bar_info(0).flags 0x%x has HUSK_BAR_PIO", bi.flags);
    }
    for (uint32_t b = 1; b <= 5; b++) {
        struct husk_bar_info o;
        if (CHECK_RC(H->bar_info(C, dev, b, &o), HUSK_OK))
            CHECK(o.size == 0, "edu BAR%u: expected not implemented (size 0) got %llu", b, U64(o.size));
    }
    struct husk_bar_info x;
    CHECK_RC(H->bar_info(C, dev, 6, &x), HUSK_EINVAL);
    CHECK_RC(H->bar_info(C, dev, 0xffffffffu, &x), HUSK_EINVAL);

    int32_t rr = H->dev_reset(C, dev);
    CHECK(rr == HUSK_OK || rr == HUSK_ENOTSUP, "dev_reset: expected OK or ENOTSUP got %s", cf_errname(rr));

    /* Host-mediated access. */
    uint64_t val = 0;
    if (CHECK_RC(H->bar_read(C, dev, 0, EDU_REG_IDENT, 4, &val), HUSK_OK))
        CHECK(val == EDU_IDENT, "edu ident: expected 0x%x got 0x%llx", EDU_IDENT, U64(val));
    static const uint32_t probes[] = {0x12345678u, 0u, 0xffffffffu, 0xa5a5a5a5u};
    for (int i = 0; i < 4; i++) {
        CHECK_RC(H->bar_write(C, dev, 0, EDU_REG_LIVE, 4, probes[i]), HUSK_OK);
        if (CHECK_RC(H->bar_read(C, dev, 0, EDU_REG_LIVE, 4, &val), HUSK_OK))
            CHECK(val == (uint32_t)~probes[i], "edu liveness: wrote 0x%08x read 0x%llx, expected 0x%08x", probes[i],
                  U64(val), (uint32_t)~probes[i]);
    }
    /* 64-bit register (edu's DMA source address) at width 8. */
    if (CHECK_RC(H->bar_write(C, dev, 0, EDU_REG_DMA_SRC, 8, 0x0000000012345000ull), HUSK_OK) &&
        CHECK_RC(H->bar_read(C, dev, 0, EDU_REG_DMA_SRC, 8, &val), HUSK_OK))
        CHECK(val == 0x12345000ull, "edu DMA source register at width 8: wrote 0x12345000 read 0x%llx", U64(val));
    /* Width, alignment, range, BAR index. */
    CHECK_RC(H->bar_read(C, dev, 0, 0, 3, &val), HUSK_EINVAL);
    CHECK_RC(H->bar_read(C, dev, 0, 0, 16, &val), HUSK_EINVAL);
    CHECK_RC(H->bar_read(C, dev, 0, 2, 4, &val), HUSK_EINVAL);
    CHECK_RC(H->bar_read(C, dev, 0, 4, 8, &val), HUSK_EINVAL);
    CHECK_RC(H->bar_read(C, dev, 0, 1u << 20, 4, &val), HUSK_EINVAL);
    CHECK_RC(H->bar_read(C, dev, 0, ~0ull - 3, 4, &val), HUSK_EINVAL);
    CHECK_RC(H->bar_read(C, dev, 1, 0, 4, &val), HUSK_EINVAL); /* BAR1 not implemented */
    CHECK_RC(H->bar_read(C, dev, 6, 0, 4, &val), HUSK_EINVAL);
    CHECK_RC(H->bar_write(C, dev, 0, 1, 4, 0), HUSK_EINVAL);
    CHECK_RC(H->bar_write(C, dev, 0, 1u << 20, 4, 0), HUSK_EINVAL);
    CHECK_RC(H->bar_write(C, dev, 6, 0, 4, 0), HUSK_EINVAL);

    /* CPU mapping: exactly when the BAR says it is mappable. */
    void *va = 0;
    int32_t rc = H->bar_map(C, dev, 0, &va);
    if (bi.flags & HUSK_BAR_MAPPABLE) {
        CHECK(rc == HUSK_OK, "bar_map(0) of a HUSK_BAR_MAPPABLE BAR: expected OK got %s", cf_errname(rc));
    } else {
        CHECK(rc == HUSK_ENOTSUP, "bar_map(0) of a BAR without HUSK_BAR_MAPPABLE: expected ENOTSUP got %s",
              cf_errname(rc));
    }
    if (rc == HUSK_OK) {
        CHECK(H->features & HUSK_FEAT_BAR_MAP, "bar_map succeeded without HUSK_FEAT_BAR_MAP");
        if (CHECK(va != 0, "bar_map returned OK and NULL")) {
            volatile uint32_t *r = va;
            CHECK(r[EDU_REG_IDENT / 4] == EDU_IDENT, "ident through the mapping: 0x%x", r[0]);
            r[EDU_REG_LIVE / 4] = 0x0f0f1234u;
            uint32_t back = r[EDU_REG_LIVE / 4];
            CHECK(back == ~0x0f0f1234u, "liveness through the mapping: 0x%08x", back);
        }
    }
    CHECK_RC(H->dev_close(C, dev), HUSK_OK);
}

/* ---- Device DMA through edu --------------------------------------------- */

static bool edu_dma_wait(husk_handle dev) {
    uint64_t deadline = cf_now() + 5 * CF_S;
    for (;;) {
        uint64_t cmd = 1;
        if (H->bar_read(C, dev, 0, EDU_REG_DMA_CMD, 4, &cmd) != HUSK_OK) return false;
        if (!(cmd & 1)) return true;
        if (cf_now() > deadline) return false;
        H->sleep_ns(C, CF_MS);
    }
}

static void t_edu_dma(void) {
    NEED_EDU(idx);
    if (!(H->features & HUSK_FEAT_DMA)) SKIP("no HUSK_FEAT_DMA on backend %s", H->backend);
    enum { N = 1024 };
    husk_handle dev = 0;
    REQUIRE_RC(H->dev_open(C, (uint32_t)idx, &dev), HUSK_OK);
    uint32_t cmd = 0;
    H->cfg_read(C, dev, 0x04, 2, &cmd);
    H->cfg_write(C, dev, 0x04, 2, cmd | 0x6); /* memory space + bus master */
    struct husk_dma_buf a, b;
    int got_a = 0, got_b = 0;
    if (!CHECK_RC(H->dma_alloc(C, N, 0, 1ull << 28, &a), HUSK_OK)) goto out;
    got_a = 1;
    if (!CHECK_RC(H->dma_alloc(C, N, 0, 1ull << 28, &b), HUSK_OK)) goto out;
    got_b = 1;
    cf_pattern(a.cpu, N, 0xed);
    /* RAM -> device buffer. */
    CHECK_RC(H->bar_write(C, dev, 0, EDU_REG_DMA_SRC, 8, a.bus), HUSK_OK);
    CHECK_RC(H->bar_write(C, dev, 0, EDU_REG_DMA_DST, 8, EDU_DMA_BUF), HUSK_OK);
    CHECK_RC(H->bar_write(C, dev, 0, EDU_REG_DMA_CNT, 8, N), HUSK_OK);
    CHECK_RC(H->bar_write(C, dev, 0, EDU_REG_DMA_CMD, 8, 1), HUSK_OK);
    if (!CHECK(edu_dma_wait(dev), "edu DMA RAM->device did not finish within 5 s")) goto out;
    /* Device buffer -> other RAM buffer. */
    CHECK_RC(H->bar_write(C, dev, 0, EDU_REG_DMA_SRC, 8, EDU_DMA_BUF), HUSK_OK);
    CHECK_RC(H->bar_write(C, dev, 0, EDU_REG_DMA_DST, 8, b.bus), HUSK_OK);
    CHECK_RC(H->bar_write(C, dev, 0, EDU_REG_DMA_CNT, 8, N), HUSK_OK);
    CHECK_RC(H->bar_write(C, dev, 0, EDU_REG_DMA_CMD, 8, 3), HUSK_OK);
    if (!CHECK(edu_dma_wait(dev), "edu DMA device->RAM did not finish within 5 s")) goto out;
    int64_t bad = cf_pattern_mismatch(b.cpu, N, 0xed);
    CHECK(bad < 0, "edu DMA round trip through bus 0x%llx -> 0x%llx: byte %lld differs", U64(a.bus), U64(b.bus),
          (long long)bad);
out:
    /* dev_close first: no device may still use the buffers when they go. */
    CHECK_RC(H->dev_close(C, dev), HUSK_OK);
    if (got_a) CHECK_RC(H->dma_free(C, a.handle), HUSK_OK);
    if (got_b) CHECK_RC(H->dma_free(C, b.handle), HUSK_OK);
}

/* ---- Interrupts ---------------------------------------------------------- */

static struct {
    husk_handle dev, m, cv;
    int count;       /* under m */
    uint32_t status; /* under m: bits seen */
    int in_handler, overlap, bad_ctx, errors, calls, battery;
} iq;

static int32_t edu_handler(void *arg) {
    int32_t handled = 0;
    if (arg != &iq) cf_inc(&iq.errors);
    if (cf_inc(&iq.in_handler) != 1) cf_inc(&iq.overlap);
    cf_inc(&iq.calls);
    if (H->ctx_current() != C) cf_inc(&iq.bad_ctx);
    /* Once per scenario: every device-less [irq: yes] operation works here. */
    if (cf_inc(&iq.battery) == 1) cf_irq_context_ops(iq.m, iq.cv, "in an interrupt handler");
    uint64_t st = 0;
    if (H->bar_read(C, iq.dev, 0, EDU_REG_IRQ_STATUS, 4, &st) != HUSK_OK) cf_inc(&iq.errors);
    if (st) {
        if (H->bar_write(C, iq.dev, 0, EDU_REG_IRQ_ACK, 4, st) != HUSK_OK) cf_inc(&iq.errors);
        H->mutex_lock(C, iq.m);
        iq.count++;
        iq.status |= (uint32_t)st;
        H->cv_broadcast(C, iq.cv);
        H->mutex_unlock(C, iq.m);
        handled = 1;
    }
    if (H->irq_ack(C, iq.dev, 0) != HUSK_OK) cf_inc(&iq.errors);
    cf_dec(&iq.in_handler);
    return handled;
}

static int irq_count(void) {
    H->mutex_lock(C, iq.m);
    int n = iq.count;
    H->mutex_unlock(C, iq.m);
    return n;
}

/* Wait until `target` deliveries were counted, with a deadline. */
static bool irq_wait(int target, uint64_t timeout) {
    uint64_t deadline = cf_now() + timeout;
    H->mutex_lock(C, iq.m);
    while (iq.count < target)
        if (H->cv_timedwait(C, iq.cv, iq.m, deadline) == HUSK_ETIMEDOUT) break;
    bool ok = iq.count >= target;
    H->mutex_unlock(C, iq.m);
    return ok;
}

static bool edu_raise(uint32_t bits) {
    return CHECK_RC(H->bar_write(C, iq.dev, 0, EDU_REG_IRQ_RAISE, 4, bits), HUSK_OK);
}

static void irq_scenario(int idx, uint32_t kinds, const char *label) {
    cf_fill(&iq, sizeof iq, 0);
    REQUIRE_RC(H->mutex_create(C, "cf-irq", &iq.m), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-irq", &iq.cv), HUSK_OK);
    REQUIRE_RC(H->dev_open(C, (uint32_t)idx, &iq.dev), HUSK_OK);
    uint32_t cmd = 0;
    H->cfg_read(C, iq.dev, 0x04, 2, &cmd);
    H->cfg_write(C, iq.dev, 0x04, 2, cmd | 0x6);
    bool has_msi = find_cap(iq.dev, 0x05) != 0;
    husk_handle ih = 0, ih2 = 0;
    int calls = 0, before = 0;

    uint32_t kind = 0, count = 0;
    int32_t rc = H->irq_alloc(C, iq.dev, kinds, 1, &kind, &count);
    if (!CHECK(rc == HUSK_OK, "irq_alloc(%s, want 1): expected OK got %s", label, cf_errname(rc))) goto out;
    cf_diag("%s: irq_alloc chose kind %u, %u vector(s)", label, kind, count);
    CHECK((kind & kinds) && (kind & (kind - 1)) == 0, "irq_alloc(kinds 0x%x) chose kind 0x%x", kinds, kind);
    CHECK(count == 1, "irq_alloc(want 1) granted %u vectors", count);
    if ((kinds & HUSK_IRQ_MSI) && has_msi && (H->features & HUSK_FEAT_IRQ_MSI))
        CHECK(kind == HUSK_IRQ_MSI, "edu has MSI and the host HUSK_FEAT_IRQ_MSI, but irq_alloc(%s) chose %u", label,
              kind);
    {
        uint32_t k2, c2;
        CHECK_RC(H->irq_alloc(C, iq.dev, kinds, 1, &k2, &c2), HUSK_EBUSY);
    }

    /* Establish; errors on the side. */
    CHECK_RC(H->irq_establish(C, iq.dev, count, edu_handler, &iq, &ih2), HUSK_EINVAL);
    CHECK_RC(H->irq_establish(C, iq.dev, 0xffffffffu, edu_handler, &iq, &ih2), HUSK_EINVAL);
    if (!CHECK_RC(H->irq_establish(C, iq.dev, 0, edu_handler, &iq, &ih), HUSK_OK)) goto out;
    CHECK(ih != 0, "irq_establish returned handle 0");
    CHECK_RC(H->irq_establish(C, iq.dev, 0, edu_handler, &iq, &ih2), HUSK_EEXIST);

    /* Raise -> delivered. */
    for (int k = 1; k <= 3; k++) {
        if (!edu_raise(1u << k)) break;
        if (!CHECK(irq_wait(k, 5 * CF_S), "%s: raise #%d not delivered within 5 s (count %d)", label, k, irq_count()))
            break;
    }
    CHECK((iq.status & 0xe) == 0xe, "%s: handler saw status bits 0x%x, expected 0xe", label, iq.status);

    /* Masked: held back for 100 ms; unmask delivers it. */
    before = irq_count();
    CHECK_RC(H->irq_mask(C, iq.dev, 0), HUSK_OK);
    edu_raise(0x10);
    cf_pause_ms(100);
    CHECK(irq_count() == before, "%s: interrupt delivered while masked", label);
    CHECK_RC(H->irq_unmask(C, iq.dev, 0), HUSK_OK);
    CHECK(irq_wait(before + 1, 5 * CF_S),
          "%s: interrupt raised while masked not delivered within 5 s "
          "of irq_unmask",
          label);

    /* Disestablish: no more calls; the vector can take a new handler. */
    CHECK_RC(H->irq_disestablish(C, ih), HUSK_OK);
    CHECK_RC(H->irq_disestablish(C, ih), HUSK_EBADF);
    calls = cf_load(&iq.calls);
    edu_raise(0x20);
    cf_pause_ms(100);
    CHECK(cf_load(&iq.calls) == calls, "%s: handler called after irq_disestablish returned", label);
    H->bar_write(C, iq.dev, 0, EDU_REG_IRQ_ACK, 4, 0x20); /* quiesce by hand */
    H->irq_ack(C, iq.dev, 0);
    if (CHECK_RC(H->irq_establish(C, iq.dev, 0, edu_handler, &iq, &ih), HUSK_OK)) {
        before = irq_count();
        edu_raise(0x40);
        CHECK(irq_wait(before + 1, 5 * CF_S),
              "%s: not delivered to a handler established again after "
              "irq_disestablish",
              label);
    }
    CHECK(cf_load(&iq.overlap) == 0, "%s: handler ran concurrently with itself %d times", label, cf_load(&iq.overlap));
    CHECK(cf_load(&iq.bad_ctx) == 0, "%s: ctx_current() in the handler was not the component's (%d times)", label,
          cf_load(&iq.bad_ctx));
    CHECK(cf_load(&iq.errors) == 0, "%s: %d bar/irq_ack calls failed in the handler", label, cf_load(&iq.errors));
out:
    /* dev_close disestablishes what is left: the handler handle goes stale. */
    CHECK_RC(H->dev_close(C, iq.dev), HUSK_OK);
    if (ih) CHECK_RC(H->irq_disestablish(C, ih), HUSK_EBADF);
    calls = cf_load(&iq.calls);
    cf_pause_ms(20);
    CHECK(cf_load(&iq.calls) == calls, "%s: handler called after dev_close", label);
    H->cv_destroy(C, iq.cv);
    H->mutex_destroy(C, iq.m);
}

static void t_irq_preferred(void) {
    NEED_EDU(idx);
    if (!(H->features & (HUSK_FEAT_IRQ_MSI | HUSK_FEAT_IRQ_INTX)))
        SKIP("host has neither HUSK_FEAT_IRQ_MSI nor HUSK_FEAT_IRQ_INTX");
    irq_scenario(idx, HUSK_IRQ_MSI | HUSK_IRQ_INTX, "MSI|INTX");
}

static void t_irq_intx(void) {
    NEED_EDU(idx);
    if (!(H->features & HUSK_FEAT_IRQ_INTX)) SKIP("no HUSK_FEAT_IRQ_INTX on backend %s", H->backend);
    irq_scenario(idx, HUSK_IRQ_INTX, "INTX");
}

static void t_irq_msi(void) {
    NEED_EDU(idx);
    if (!(H->features & HUSK_FEAT_IRQ_MSI)) SKIP("no HUSK_FEAT_IRQ_MSI on backend %s", H->backend);
    husk_handle dev = 0;
    REQUIRE_RC(H->dev_open(C, (uint32_t)idx, &dev), HUSK_OK);
    bool has = find_cap(dev, 0x05) != 0;
    CHECK_RC(H->dev_close(C, dev), HUSK_OK);
    if (!has) SKIP("edu shows no MSI capability in config space");
    irq_scenario(idx, HUSK_IRQ_MSI, "MSI");
}

static void t_irq_alloc_errors(void) {
    NEED_EDU(idx);
    husk_handle dev = 0;
    REQUIRE_RC(H->dev_open(C, (uint32_t)idx, &dev), HUSK_OK);
    uint32_t kind = 0, count = 0;
    if (!find_cap(dev, 0x11) || !(H->features & HUSK_FEAT_IRQ_MSIX)) {
        /* Only MSI-X acceptable, and there is none. */
        CHECK_RC(H->irq_alloc(C, dev, HUSK_IRQ_MSIX, 1, &kind, &count), HUSK_ENODEV);
    }
    CHECK_RC2(H->irq_alloc(C, dev, 0, 1, &kind, &count), HUSK_ENODEV, HUSK_EINVAL);
    /* Asking for more vectors than the device has grants 1..want. */
    if (H->features & (HUSK_FEAT_IRQ_MSI | HUSK_FEAT_IRQ_INTX)) {
        if (CHECK_RC(H->irq_alloc(C, dev, HUSK_IRQ_MSI | HUSK_IRQ_INTX, 4, &kind, &count), HUSK_OK)) {
            CHECK(count >= 1 && count <= 4, "irq_alloc(want 4) granted %u vectors", count);
            if (kind == HUSK_IRQ_INTX) CHECK(count == 1, "INTx granted %u vectors", count);
            husk_handle ih = 0;
            CHECK_RC(H->irq_establish(C, dev, count, edu_handler, &iq, &ih), HUSK_EINVAL);
        }
    }
    CHECK_RC(H->dev_close(C, dev), HUSK_OK);
}

static void t_dev_stale(void) {
    if (!have_pci()) SKIP("no HUSK_FEAT_PCI on backend %s", H->backend);
    int idx;
    enumerate(&idx);
    husk_handle stale = 0;
    if (idx >= 0 && CHECK_RC(H->dev_open(C, (uint32_t)idx, &stale), HUSK_OK)) CHECK_RC(H->dev_close(C, stale), HUSK_OK);
    husk_handle list[] = {0, CF_BOGUS_HANDLE, stale};
    for (int i = 0; i < (stale ? 3 : 2); i++) {
        husk_handle d = list[i];
        uint32_t v = 0, k = 0, c = 0;
        uint64_t q = 0;
        void *va = 0;
        husk_handle ih = 0;
        struct husk_bar_info bi;
        CHECK_RC(H->dev_close(C, d), HUSK_EBADF);
        CHECK_RC(H->cfg_read(C, d, 0, 4, &v), HUSK_EBADF);
        CHECK_RC(H->cfg_write(C, d, 4, 2, 0), HUSK_EBADF);
        CHECK_RC(H->bar_info(C, d, 0, &bi), HUSK_EBADF);
        CHECK_RC(H->bar_map(C, d, 0, &va), HUSK_EBADF);
        CHECK_RC(H->bar_read(C, d, 0, 0, 4, &q), HUSK_EBADF);
        CHECK_RC(H->bar_write(C, d, 0, 4, 4, 0), HUSK_EBADF);
        CHECK_RC(H->dev_reset(C, d), HUSK_EBADF);
        CHECK_RC(H->irq_alloc(C, d, HUSK_IRQ_MSI | HUSK_IRQ_INTX, 1, &k, &c), HUSK_EBADF);
        CHECK_RC(H->irq_establish(C, d, 0, edu_handler, &iq, &ih), HUSK_EBADF);
        CHECK_RC(H->irq_ack(C, d, 0), HUSK_EBADF);
        CHECK_RC(H->irq_mask(C, d, 0), HUSK_EBADF);
        CHECK_RC(H->irq_unmask(C, d, 0), HUSK_EBADF);
        if (H->features & HUSK_FEAT_DEV_RELEASE) CHECK_RC(H->dev_on_release(C, d, (void (*)(void *))0, 0), HUSK_EBADF);
    }
    CHECK_RC(H->irq_disestablish(C, 0), HUSK_EBADF);
    CHECK_RC(H->irq_disestablish(C, CF_BOGUS_HANDLE), HUSK_EBADF);
}

static void on_release(void *arg) { cf_store((int *)arg, 1); }

static void t_dev_on_release(void) {
    NEED_EDU(idx);
    if (!(H->features & HUSK_FEAT_DEV_RELEASE)) SKIP("no HUSK_FEAT_DEV_RELEASE on backend %s", H->backend);
    static int released;
    cf_store(&released, 0);
    husk_handle dev = 0;
    REQUIRE_RC(H->dev_open(C, (uint32_t)idx, &dev), HUSK_OK);
    CHECK_RC(H->dev_on_release(C, dev, on_release, &released), HUSK_OK);
    CHECK(cf_load(&released) == 0, "release callback ran without a release request");
    CHECK_RC(H->dev_close(C, dev), HUSK_OK);
}

void cf_area_pci(void) {
    cf_test("pci: without HUSK_FEAT_PCI pci_enumerate -> ENODEV", t_pci_absent);
    cf_test("pci: enumerate dense until ENOENT; out of range -> ENOENT", t_pci_enumerate);
    cf_test("pci: edu dev_open (again -> EBUSY), cfg_read ids, bad width/offset -> EINVAL", t_edu_open_cfg);
    cf_test("pci: edu bar_info, dev_reset, bar_read/bar_write ident+liveness, bar_map", t_edu_bars);
    cf_test("pci: edu DMA round trip through bus addresses below 1<<28", t_edu_dma);
    cf_test("irq: edu MSI|INTX: deliver x3, mask/unmask, EEXIST, EINVAL, EBUSY, disestablish", t_irq_preferred);
    cf_test("irq: edu INTX only: same scenario", t_irq_intx);
    cf_test("irq: edu MSI only: same scenario", t_irq_msi);
    cf_test("irq: irq_alloc no acceptable kind -> ENODEV; want 4 grants 1..4", t_irq_alloc_errors);
    cf_test("pci: bogus and closed device handles -> EBADF", t_dev_stale);
    cf_test("pci: dev_on_release registers", t_dev_on_release);
}
