/*
 * husk/glue/bus_space.h — access to a device's registers (NetBSD
 * bus_space(9)).
 *
 * bus_space_map gives a handle for a region of one BAR. When the host can
 * map the BAR (HUSK_BAR_MAPPABLE) accesses are volatile loads and stores;
 * otherwise (the sim backend, port I/O BARs) every access is a
 * hyp->bar_read/bar_write, so a simulated device observes it. The
 * accessors are inline and pick the method per access with one branch.
 *
 * NetBSD passes a tag (the access method) and a handle (the address) to
 * every accessor; here the handle carries both, so there is no tag type.
 *
 * A failing hypercall read returns all-ones (as a vanished PCI device
 * does) and bumps bs_errors; a failing write bumps bs_errors. Offsets are
 * relative to the region and must be aligned to the access width.
 * All accessors are [blocks: no] [irq: yes].
 */
#ifndef HUSK_GLUE_BUS_SPACE_H
#define HUSK_GLUE_BUS_SPACE_H

#include <husk/glue/base.h>
#include <husk/glue/barrier.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pci_attach_args;

struct glue_bus_space {
    volatile uint8_t *bs_va;       /* CPU mapping of the region, or NULL */
    const struct husk_hyp *bs_hyp; /* for the hypercall path */
    husk_ctx *bs_ctx;              /* component that mapped it */
    husk_handle bs_dev;
    uint32_t bs_bar;
    uint32_t bs_errors;   /* failed hypercall accesses (approximate) */
    bus_size_t bs_offset; /* region start inside the BAR */
    bus_size_t bs_size;   /* region length */
};
typedef struct glue_bus_space *bus_space_handle_t;

/* [blocks: no] [irq: no] Map [offset, offset+size) of BAR bar (size 0: to
 * the end of the BAR). 0, HUSK_EINVAL (no such BAR, range outside it),
 * HUSK_ENOMEM. The handle stays valid until bus_space_unmap or detach. */
int glue_bus_space_map(struct pci_attach_args *pa, uint32_t bar, bus_size_t offset, bus_size_t size,
                       bus_space_handle_t *out);
/* [blocks: no] [irq: no] Release the handle (the BAR mapping itself lives
 * until the device is closed). NULL is ignored. */
void glue_bus_space_unmap(bus_space_handle_t h);

static inline int bus_space_map(struct pci_attach_args *pa, uint32_t bar, bus_size_t off, bus_size_t size,
                                bus_space_handle_t *out) {
    return glue_bus_space_map(pa, bar, off, size, out);
}
static inline void bus_space_unmap(bus_space_handle_t h) { glue_bus_space_unmap(h); }

/* The hypercall path, shared by the accessors below. */
static inline uint64_t bus_space_read_hyp(bus_space_handle_t h, bus_size_t o, uint32_t width) {
    uint64_t v = ~(uint64_t)0;
    if (h->bs_hyp->bar_read(h->bs_ctx, h->bs_dev, h->bs_bar, h->bs_offset + o, width, &v) != HUSK_OK) {
        h->bs_errors++;
        v = ~(uint64_t)0;
    }
    return v;
}
static inline void bus_space_write_hyp(bus_space_handle_t h, bus_size_t o, uint32_t width, uint64_t v) {
    if (h->bs_hyp->bar_write(h->bs_ctx, h->bs_dev, h->bs_bar, h->bs_offset + o, width, v) != HUSK_OK) h->bs_errors++;
}

#define GLUE_BUS_SPACE_RW(N, T)                                                       \
    static inline T bus_space_read_##N(bus_space_handle_t h, bus_size_t o) {          \
        if (h->bs_va != NULL) return *(volatile T *)(h->bs_va + o);                   \
        return (T)bus_space_read_hyp(h, o, N);                                        \
    }                                                                                 \
    static inline void bus_space_write_##N(bus_space_handle_t h, bus_size_t o, T v) { \
        if (h->bs_va != NULL)                                                         \
            *(volatile T *)(h->bs_va + o) = v;                                        \
        else                                                                          \
            bus_space_write_hyp(h, o, N, v);                                          \
    }
GLUE_BUS_SPACE_RW(1, uint8_t)
GLUE_BUS_SPACE_RW(2, uint16_t)
GLUE_BUS_SPACE_RW(4, uint32_t)
GLUE_BUS_SPACE_RW(8, uint64_t)
#undef GLUE_BUS_SPACE_RW

/* Order accesses to the region: BUS_SPACE_BARRIER_READ keeps earlier reads
 * before later reads, _WRITE earlier writes before later writes, both
 * together a full barrier. offset/len name the range for hosts that could
 * use it; here the barrier covers everything. */
#define BUS_SPACE_BARRIER_READ  0x1
#define BUS_SPACE_BARRIER_WRITE 0x2
static inline void bus_space_barrier(bus_space_handle_t h, bus_size_t offset, bus_size_t len, int flags) {
    (void)h;
    (void)offset;
    (void)len;
    if ((flags & (BUS_SPACE_BARRIER_READ | BUS_SPACE_BARRIER_WRITE)) ==
        (BUS_SPACE_BARRIER_READ | BUS_SPACE_BARRIER_WRITE))
        dev_mb();
    else if (flags & BUS_SPACE_BARRIER_READ)
        dev_rmb();
    else if (flags & BUS_SPACE_BARRIER_WRITE)
        dev_wmb();
}

#ifdef __cplusplus
}
#endif

#endif
