/*
 * pci.c — PCI devices and interrupts.
 *
 * Configuration space through the legacy ports 0xCF8/0xCFC (256 bytes per
 * function; the extended space needs ECAM, not used yet). At boot every
 * function on buses 0-255 is found and its BARs sized (decoding off while
 * sizing); the host offers every function that is not a bridge. The
 * firmware (SeaBIOS, which runs before QEMU's PVH entry) has assigned the
 * BARs; an MMIO BAR below 4 GiB lies in our identity map (uncached above
 * 3 GiB), so bar_map returns its physical address.
 *
 * Interrupts: each established vector has a host thread that calls the
 * component's handler, one call at a time, while the vector is unmasked:
 *  - MSI (preferred): one message per function, sent to this CPU's local
 *    APIC at vector 0x40 + the function's index; intr.c counts it as
 *    pending (interrupts are accepted only in the scheduler's window) and
 *    the thread takes the count every millisecond. A masked vector keeps
 *    its count: the interrupt is delivered on unmask.
 *  - INTx: by polling the function's Interrupt Status bit (config status
 *    bit 3, PCI 2.3) every millisecond; the INTx line itself stays
 *    disabled (command bit 10), so no IOAPIC is involved.
 * MSI-X is not implemented (its feature bit is clear).
 *
 * DMA: devices see physical memory; no IOMMU is programmed, so a device
 * can read and write all of RAM, this kernel included.
 */
#include "metal.h"

#define MAX_DEVS 64
#define CFG_SIZE 256u

struct irqv;

struct pcidev {
    uint8_t bus, slot, fn;
    struct husk_pci_id id;
    struct husk_bar_info bar[6];
    uint64_t bar_addr[6];
    husk_handle open; /* 0: closed */
    uint32_t irq_kind, irq_count;
    uint8_t msi_cap;  /* config offset of the MSI capability, 0: none */
    uint32_t vector;  /* CPU vector of its MSI */
    struct irqv *vec; /* one vector (MSI or INTx) */
};

struct irqv {
    struct pcidev *dev;
    int32_t (*fn)(void *);
    void *arg;
    husk_handle handle;
    int live, running, exited, masked;
};

static struct pcidev devs[MAX_DEVS];
static uint32_t n_devs;

static uint32_t cfg_addr(const struct pcidev *d, uint32_t off) {
    return 0x80000000u | (uint32_t)d->bus << 16 | (uint32_t)d->slot << 11 | (uint32_t)d->fn << 8 | (off & 0xFC);
}

static uint32_t cfg_read(const struct pcidev *d, uint32_t off, uint32_t width) {
    outl(0xCF8, cfg_addr(d, off));
    switch (width) {
    case 1: return inb((uint16_t)(0xCFC + (off & 3)));
    case 2: return inw((uint16_t)(0xCFC + (off & 2)));
    default: return inl(0xCFC);
    }
}

static void cfg_write(const struct pcidev *d, uint32_t off, uint32_t width, uint32_t v) {
    outl(0xCF8, cfg_addr(d, off));
    switch (width) {
    case 1: outb((uint16_t)(0xCFC + (off & 3)), (uint8_t)v); break;
    case 2: outw((uint16_t)(0xCFC + (off & 2)), (uint16_t)v); break;
    default: outl(0xCFC, v); break;
    }
}

static void hex(char *p, uint32_t v, int digits) {
    for (int i = digits - 1; i >= 0; i--, v >>= 4) p[i] = "0123456789abcdef"[v & 15];
}

static void size_bars(struct pcidev *d) {
    uint32_t cmd = cfg_read(d, 0x04, 2);
    cfg_write(d, 0x04, 2, cmd & ~3u); /* no decoding while sizing */
    for (uint32_t b = 0; b < 6; b++) {
        uint32_t off = 0x10 + 4 * b, orig = cfg_read(d, off, 4);
        cfg_write(d, off, 4, 0xFFFFFFFFu);
        uint32_t mask = cfg_read(d, off, 4);
        cfg_write(d, off, 4, orig);
        if (mask == 0 || mask == 0xFFFFFFFFu) continue;
        struct husk_bar_info *bi = &d->bar[b];
        if (orig & 1) {
            bi->flags = HUSK_BAR_PIO;
            bi->size = (uint16_t) ~(mask & ~3u) + 1u;
            d->bar_addr[b] = orig & ~3u;
            continue;
        }
        uint64_t addr = orig & ~15u, m = mask & ~15u;
        bi->flags = HUSK_BAR_MMIO | ((orig & 8) ? HUSK_BAR_PREFETCH : 0);
        if (((orig >> 1) & 3) == 2 && b < 5) { /* 64-bit: the next BAR is its upper half */
            uint32_t hi = cfg_read(d, off + 4, 4);
            cfg_write(d, off + 4, 4, 0xFFFFFFFFu);
            uint32_t mhi = cfg_read(d, off + 4, 4);
            cfg_write(d, off + 4, 4, hi);
            addr |= (uint64_t)hi << 32;
            m |= (uint64_t)mhi << 32;
            bi->flags |= HUSK_BAR_64BIT;
            b++;
        } else {
            m |= 0xFFFFFFFF00000000ull;
        }
        bi->size = ~m + 1;
        d->bar_addr[b - ((bi->flags & HUSK_BAR_64BIT) ? 1 : 0)] = addr;
        if (addr && addr + bi->size <= (4ull << 30)) bi->flags |= HUSK_BAR_MAPPABLE;
    }
    cfg_write(d, 0x04, 2, cmd);
}

static uint8_t find_cap(const struct pcidev *d, uint8_t want) {
    if (!(cfg_read(d, 0x06, 2) & 0x10)) return 0;
    uint32_t p = cfg_read(d, 0x34, 1);
    for (int guard = 0; guard < 48 && p >= 0x40 && p < CFG_SIZE; guard++) {
        p &= 0xFC;
        if (cfg_read(d, p, 1) == want) return (uint8_t)p;
        p = cfg_read(d, p + 1, 1);
    }
    return 0;
}

void pci_init(void) {
    for (uint32_t bus = 0; bus < 256; bus++)
        for (uint8_t slot = 0; slot < 32; slot++)
            for (uint8_t fn = 0; fn < 8; fn++) {
                struct pcidev probe = {.bus = (uint8_t)bus, .slot = slot, .fn = fn};
                uint32_t idv = cfg_read(&probe, 0, 4);
                if ((idv & 0xFFFF) == 0xFFFF) {
                    if (fn == 0) break;
                    continue;
                }
                uint32_t hdr = cfg_read(&probe, 0x0E, 1);
                if ((hdr & 0x7F) == 0 && n_devs < MAX_DEVS) {
                    struct pcidev *d = &devs[n_devs++];
                    *d = probe;
                    uint32_t cls = cfg_read(d, 0x08, 4), sub = cfg_read(d, 0x2C, 4);
                    d->id.vendor = (uint16_t)idv;
                    d->id.device = (uint16_t)(idv >> 16);
                    d->id.subvendor = (uint16_t)sub;
                    d->id.subdevice = (uint16_t)(sub >> 16);
                    d->id.class_code = cls >> 8;
                    d->id.revision = (uint8_t)cls;
                    memcpy(d->id.address, "0000:00:00.0", 13);
                    hex(d->id.address + 5, bus, 2);
                    hex(d->id.address + 8, slot, 2);
                    d->id.address[11] = (char)('0' + fn);
                    size_bars(d);
                    d->msi_cap = find_cap(d, 0x05);
                    d->vector = 0x40 + (n_devs - 1);
                }
                if (fn == 0 && !(hdr & 0x80)) break; /* not multi-function */
            }
}

uint32_t pci_count(void) { return n_devs; }

void pci_list(void) {
    for (uint32_t i = 0; i < n_devs; i++) {
        const struct pcidev *d = &devs[i];
        kprintf("husk metal: pci %u: %s %04x:%04x class %06x%s", i, d->id.address, d->id.vendor, d->id.device,
                d->id.class_code, d->msi_cap ? " msi" : "");
        for (int b = 0; b < 6; b++) {
            const struct husk_bar_info *bi = &d->bar[b];
            if (!bi->size) continue;
            kprintf(" bar%d %s 0x%llx+0x%llx%s", b, (bi->flags & HUSK_BAR_PIO) ? "io" : "mem",
                    (unsigned long long)d->bar_addr[b], (unsigned long long)bi->size,
                    (bi->flags & HUSK_BAR_PIO) || (bi->flags & HUSK_BAR_MAPPABLE) ? "" : " (not mapped)");
        }
        kprintf("\n");
    }
}

static struct pcidev *dev_of(husk_handle h) { return handle_get(h, H_DEV); }

static int32_t p_enumerate(husk_ctx *c, uint32_t i, struct husk_pci_id *o) {
    if (!o) return HUSK_EFAULT;
    if (i >= n_devs) return HUSK_ENOENT;
    *o = devs[i].id;
    return HUSK_OK;
}

static int32_t p_open(husk_ctx *c, uint32_t i, husk_handle *o) {
    if (!o) return HUSK_EFAULT;
    if (i >= n_devs) return HUSK_ENOENT;
    struct pcidev *d = &devs[i];
    if (d->open) return HUSK_EBUSY;
    if (!(d->open = handle_new(H_DEV, d))) return HUSK_EAGAIN;
    /* Decode the BARs it has; bus mastering stays the driver's decision. */
    uint32_t cmd = cfg_read(d, 0x04, 2) | (1u << 10); /* INTx line off: we poll its status */
    for (int b = 0; b < 6; b++) {
        if (d->bar[b].flags & HUSK_BAR_MMIO) cmd |= 2;
        if (d->bar[b].flags & HUSK_BAR_PIO) cmd |= 1;
    }
    cfg_write(d, 0x04, 2, cmd);
    *o = d->open;
    return HUSK_OK;
}

static int32_t p_irq_disestablish(husk_ctx *c, husk_handle ih);

static int32_t p_close(husk_ctx *c, husk_handle h) {
    struct pcidev *d = dev_of(h);
    if (!d) return HUSK_EBADF;
    if (d->vec) p_irq_disestablish(c, d->vec->handle);
    if (d->irq_kind == HUSK_IRQ_MSI) cfg_write(d, d->msi_cap + 2u, 2, cfg_read(d, d->msi_cap + 2u, 2) & ~1u);
    d->irq_kind = d->irq_count = 0;
    handle_free(h);
    d->open = 0;
    return HUSK_OK;
}

static bool cfg_ok(uint32_t off, uint32_t w) {
    return (w == 1 || w == 2 || w == 4) && (off & (w - 1)) == 0 && off < CFG_SIZE && off + w <= CFG_SIZE;
}

static int32_t p_cfg_read(husk_ctx *c, husk_handle h, uint32_t off, uint32_t w, uint32_t *v) {
    struct pcidev *d = dev_of(h);
    if (!d) return HUSK_EBADF;
    if (!cfg_ok(off, w)) return HUSK_EINVAL;
    if (!v) return HUSK_EFAULT;
    *v = cfg_read(d, off, w);
    return HUSK_OK;
}

static int32_t p_cfg_write(husk_ctx *c, husk_handle h, uint32_t off, uint32_t w, uint32_t v) {
    struct pcidev *d = dev_of(h);
    if (!d) return HUSK_EBADF;
    if (!cfg_ok(off, w)) return HUSK_EINVAL;
    cfg_write(d, off, w, v);
    return HUSK_OK;
}

static int32_t p_bar_info(husk_ctx *c, husk_handle h, uint32_t b, struct husk_bar_info *o) {
    struct pcidev *d = dev_of(h);
    if (!d) return HUSK_EBADF;
    if (b >= 6) return HUSK_EINVAL;
    if (!o) return HUSK_EFAULT;
    *o = d->bar[b];
    return HUSK_OK;
}

static int32_t p_bar_map(husk_ctx *c, husk_handle h, uint32_t b, void **va) {
    struct pcidev *d = dev_of(h);
    if (!d) return HUSK_EBADF;
    if (b >= 6 || !d->bar[b].size) return HUSK_EINVAL;
    if (!va) return HUSK_EFAULT;
    if (!(d->bar[b].flags & HUSK_BAR_MAPPABLE)) return HUSK_ENOTSUP;
    *va = (void *)(uintptr_t)d->bar_addr[b];
    return HUSK_OK;
}

static int32_t bar_check(struct pcidev *d, uint32_t b, uint64_t off, uint32_t w) {
    if (b >= 6 || !d->bar[b].size) return HUSK_EINVAL;
    if (w != 1 && w != 2 && w != 4 && w != 8) return HUSK_EINVAL;
    if ((off & (w - 1)) || off >= d->bar[b].size || d->bar[b].size - off < w) return HUSK_EINVAL;
    if ((d->bar[b].flags & HUSK_BAR_PIO) && w == 8) return HUSK_EINVAL;
    if ((d->bar[b].flags & HUSK_BAR_MMIO) && !(d->bar[b].flags & HUSK_BAR_MAPPABLE)) return HUSK_ENOTSUP;
    return HUSK_OK;
}

static int32_t p_bar_read(husk_ctx *c, husk_handle h, uint32_t b, uint64_t off, uint32_t w, uint64_t *v) {
    struct pcidev *d = dev_of(h);
    if (!d) return HUSK_EBADF;
    int32_t rc = bar_check(d, b, off, w);
    if (rc) return rc;
    if (!v) return HUSK_EFAULT;
    uint64_t a = d->bar_addr[b] + off;
    if (d->bar[b].flags & HUSK_BAR_PIO) {
        uint16_t port = (uint16_t)a;
        *v = w == 1 ? inb(port) : w == 2 ? inw(port) : inl(port);
        return HUSK_OK;
    }
    switch (w) {
    case 1: *v = *(volatile uint8_t *)(uintptr_t)a; break;
    case 2: *v = *(volatile uint16_t *)(uintptr_t)a; break;
    case 4: *v = *(volatile uint32_t *)(uintptr_t)a; break;
    default: *v = *(volatile uint64_t *)(uintptr_t)a; break;
    }
    return HUSK_OK;
}

static int32_t p_bar_write(husk_ctx *c, husk_handle h, uint32_t b, uint64_t off, uint32_t w, uint64_t v) {
    struct pcidev *d = dev_of(h);
    if (!d) return HUSK_EBADF;
    int32_t rc = bar_check(d, b, off, w);
    if (rc) return rc;
    uint64_t a = d->bar_addr[b] + off;
    if (d->bar[b].flags & HUSK_BAR_PIO) {
        uint16_t port = (uint16_t)a;
        if (w == 1)
            outb(port, (uint8_t)v);
        else if (w == 2)
            outw(port, (uint16_t)v);
        else
            outl(port, (uint32_t)v);
        return HUSK_OK;
    }
    switch (w) {
    case 1: *(volatile uint8_t *)(uintptr_t)a = (uint8_t)v; break;
    case 2: *(volatile uint16_t *)(uintptr_t)a = (uint16_t)v; break;
    case 4: *(volatile uint32_t *)(uintptr_t)a = (uint32_t)v; break;
    default: *(volatile uint64_t *)(uintptr_t)a = v; break;
    }
    return HUSK_OK;
}

static int32_t p_reset(husk_ctx *c, husk_handle h) { return dev_of(h) ? HUSK_ENOTSUP : HUSK_EBADF; }

static int32_t p_on_release(husk_ctx *c, husk_handle h, void (*fn)(void *), void *a) {
    /* Nobody asks for a device back on bare metal (no HUSK_FEAT_DEV_RELEASE). */
    return dev_of(h) ? HUSK_OK : HUSK_EBADF;
}

/* ---- interrupts: MSI through the local APIC, INTx by polling ------------------ */

/* One message to this CPU at the function's vector, edge-triggered, fixed. */
static void msi_enable(struct pcidev *d) {
    uint32_t cap = d->msi_cap, ctrl = cfg_read(d, cap + 2, 2);
    cfg_write(d, cap + 4, 4, 0xFEE00000u | intr_apic_id() << 12);
    uint32_t data = cap + 8;
    if (ctrl & 0x80) { /* 64-bit address */
        cfg_write(d, cap + 8, 4, 0);
        data = cap + 12;
    }
    cfg_write(d, data, 2, d->vector);
    intr_take(d->vector);
    cfg_write(d, cap + 2, 2, (ctrl & ~0x70u) | 1u); /* one message, enabled */
}

static int32_t p_irq_alloc(husk_ctx *c, husk_handle h, uint32_t kinds, uint32_t want, uint32_t *kind, uint32_t *n) {
    struct pcidev *d = dev_of(h);
    if (!d) return HUSK_EBADF;
    if (!kind || !n) return HUSK_EFAULT;
    if (d->irq_kind) return HUSK_EBUSY;
    if (want == 0) return HUSK_EINVAL;
    if ((kinds & HUSK_IRQ_MSI) && d->msi_cap) {
        msi_enable(d);
        d->irq_kind = HUSK_IRQ_MSI;
    } else if ((kinds & HUSK_IRQ_INTX) && cfg_read(d, 0x3D, 1) != 0) {
        d->irq_kind = HUSK_IRQ_INTX;
    } else {
        return HUSK_ENODEV;
    }
    d->irq_count = 1;
    *kind = d->irq_kind;
    *n = 1;
    return HUSK_OK;
}

static bool irq_fired(struct irqv *v) {
    if (v->dev->irq_kind == HUSK_IRQ_MSI) return intr_take(v->dev->vector) != 0;
    return cfg_read(v->dev, 0x06, 2) & 0x08; /* INTx asserted */
}

static void irq_poller(void *p) {
    struct irqv *v = p;
    while (__atomic_load_n(&v->live, __ATOMIC_SEQ_CST)) {
        if (!v->masked && irq_fired(v)) {
            v->running = 1;
            v->fn(v->arg);
            v->running = 0;
            sched_yield();
        } else {
            metal_hyp.sleep_ns(0, 1000000);
        }
    }
    v->exited = 1;
}

static int32_t p_irq_establish(husk_ctx *c, husk_handle h, uint32_t vec, int32_t (*fn)(void *), void *arg,
                               husk_handle *out) {
    struct pcidev *d = dev_of(h);
    if (!d) return HUSK_EBADF;
    if (!fn || !out) return HUSK_EFAULT;
    if (!d->irq_kind || vec >= d->irq_count) return HUSK_EINVAL;
    if (d->vec) return HUSK_EEXIST;
    struct irqv *v = mem_get(sizeof *v, 16, 0, MEM_KERNEL);
    if (!v) return HUSK_ENOMEM;
    *v = (struct irqv){.dev = d, .fn = fn, .arg = arg, .live = 1};
    if (d->irq_kind == HUSK_IRQ_MSI) intr_take(d->vector); /* what came without a handler is gone */
    if (!(v->handle = handle_new(H_IRQ, v))) {
        mem_put(v, sizeof *v, MEM_KERNEL);
        return HUSK_EAGAIN;
    }
    int32_t rc = thread_spawn("irq-intx", irq_poller, v, false, c, 0);
    if (rc != HUSK_OK) {
        handle_free(v->handle);
        mem_put(v, sizeof *v, MEM_KERNEL);
        return rc;
    }
    d->vec = v;
    *out = v->handle;
    return HUSK_OK;
}

static int32_t p_irq_disestablish(husk_ctx *c, husk_handle ih) {
    struct irqv *v = handle_get(ih, H_IRQ);
    if (!v) return HUSK_EBADF;
    handle_free(ih);
    v->dev->vec = 0;
    __atomic_store_n(&v->live, 0, __ATOMIC_SEQ_CST);
    while (!v->exited) metal_hyp.sleep_ns(0, 1000000); /* the handler is not running once it ends */
    mem_put(v, sizeof *v, MEM_KERNEL);
    return HUSK_OK;
}

static struct irqv *vec_of(husk_handle h, uint32_t vec, int32_t *rc) {
    struct pcidev *d = dev_of(h);
    *rc = !d ? HUSK_EBADF : (!d->irq_kind || vec >= d->irq_count) ? HUSK_EINVAL : HUSK_OK;
    return d && *rc == HUSK_OK ? d->vec : 0;
}

static int32_t p_irq_ack(husk_ctx *c, husk_handle h, uint32_t vec) {
    int32_t rc;
    vec_of(h, vec, &rc); /* MSI: nothing to re-arm; INTx: polled, nothing to re-arm */
    return rc;
}

static int32_t p_irq_mask(husk_ctx *c, husk_handle h, uint32_t vec) {
    int32_t rc;
    struct irqv *v = vec_of(h, vec, &rc);
    if (v) v->masked = 1;
    return rc;
}

static int32_t p_irq_unmask(husk_ctx *c, husk_handle h, uint32_t vec) {
    int32_t rc;
    struct irqv *v = vec_of(h, vec, &rc);
    if (v) v->masked = 0;
    return rc;
}

void hyp_fill_pci(struct husk_hyp *h) {
    h->features |= HUSK_FEAT_PCI | HUSK_FEAT_BAR_MAP | HUSK_FEAT_IRQ_INTX | HUSK_FEAT_IRQ_MSI;
    h->pci_enumerate = p_enumerate;
    h->dev_open = p_open;
    h->dev_close = p_close;
    h->cfg_read = p_cfg_read;
    h->cfg_write = p_cfg_write;
    h->bar_info = p_bar_info;
    h->bar_map = p_bar_map;
    h->bar_read = p_bar_read;
    h->bar_write = p_bar_write;
    h->dev_reset = p_reset;
    h->dev_on_release = p_on_release;
    h->irq_alloc = p_irq_alloc;
    h->irq_establish = p_irq_establish;
    h->irq_disestablish = p_irq_disestablish;
    h->irq_ack = p_irq_ack;
    h->irq_mask = p_irq_mask;
    h->irq_unmask = p_irq_unmask;
}
