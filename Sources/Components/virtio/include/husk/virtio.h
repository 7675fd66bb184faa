/*
 * husk/virtio.h — VIRTIO 1.x for driver components: the modern PCI
 * transport (spec 4.1), the split virtqueue (2.7) and interrupt setup,
 * shared by virtio_blk and virtio_net the way NetBSD's virtio(4) is shared
 * by ld_virtio and if_vioif. docs/virtio.md gives the model.
 *
 * A library, not a component: it has no descriptor, no parameters and no
 * state of its own. A driver embeds one struct virtio_pci per device and one
 * struct virtio_vq per queue in its softc and calls these functions; the
 * library uses only the glue (bus_space, bus_dma, PCI config and interrupts,
 * kmem, logging), so it is as portable as the components that link it.
 * Every function has hidden visibility (HUSK_PRIVATE): a component built as
 * a shared object links its own copy and never binds to the one in husk.
 *
 * Locking. The library takes no lock.
 *   - Transport calls (mapping, status, features, configuration, queue
 *     setup) belong to the driver's attach, reset and detach paths: thread
 *     context, one at a time per device, while nothing else uses the queues.
 *   - A queue's descriptors and indices are guarded by a lock of the
 *     driver's choosing: the calls marked [lock] need it held. They never
 *     block and may be called in irq context.
 *   - virtio_vq_kick and the register accessors need no lock.
 *
 * Errors are HUSK_E* codes; every failure is logged with glue_dev_logf on
 * the device's PCI address, so callers only decide what to do next.
 */
#ifndef HUSK_VIRTIO_H
#define HUSK_VIRTIO_H

#include <husk/glue.h>
#include <husk/virtio_regs.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIRTIO_MAX_QUEUES 8u /* queues one device's interrupt setup knows */
#define VIRTIO_CAP_TYPES  5u /* index by VIRTIO_PCI_CAP_*_CFG, 1..4; [0] unused */

struct virtio_vq;

/* One vendor capability found by the walk (4.1.4). */
struct virtio_pci_cap {
    bool found;
    uint8_t bar;
    uint32_t offset, length;
    uint32_t notify_mult; /* notify capability only */
};

/* One device on the modern PCI transport. Zero it before virtio_pci_map. */
struct virtio_pci {
    struct pci_attach_args *pa;
    const char *name; /* pa->pa_id.address: the prefix of every log line */
    struct virtio_pci_cap caps[VIRTIO_CAP_TYPES];
    bus_space_handle_t common, notify, isr, device;
    uint32_t notify_mult;
    bus_size_t notify_len, device_len;

    uint64_t dev_features; /* offered, read by virtio_negotiate */
    uint64_t features;     /* accepted by virtio_negotiate */

    /* Interrupts (virtio_intr_establish). */
    uint32_t intr_kind;     /* HUSK_IRQ_MSIX, HUSK_IRQ_INTX, or 0 when polling */
    uint32_t intr_count;    /* vectors granted */
    bool polling;           /* no interrupts: the driver polls its queues */
    uint16_t config_vector; /* MSI-X vector for configuration changes, or VIRTIO_MSI_NO_VECTOR */
    void (*config_fn)(void *arg);
    void *config_arg;
    struct virtio_vq *vqs[VIRTIO_MAX_QUEUES]; /* added by virtio_vq_alloc */
    unsigned nvqs;
    pci_intr_handle_t ih[VIRTIO_MAX_QUEUES + 1];
    unsigned nih;
    uint64_t interrupts; /* handled (atomic) */
};

/* One split virtqueue with its own ring memory. */
struct virtio_vq {
    struct virtio_pci *vp;
    uint16_t index;          /* the queue's number on the device */
    uint16_t max_size;       /* ring memory and shadows are laid out for this many descriptors */
    uint16_t size;           /* descriptors in use: chosen by the first virtio_vq_setup, 0 before */
    uint16_t vector;         /* MSI-X vector, or VIRTIO_MSI_NO_VECTOR (virtio_intr_establish) */
    bool no_interrupt;       /* VIRTQ_AVAIL_F_NO_INTERRUPT: set when the device is polled */
    void (*intr)(void *arg); /* the queue's interrupt work, in irq context */
    void *intr_arg;

    bus_dma_segment_t ring;
    bool ring_allocated;
    volatile struct virtq_desc *desc;
    volatile uint8_t *avail, *used;
    bus_addr_t desc_bus, avail_bus, used_bus;
    bus_size_t notify_off; /* the doorbell inside the notify region */

    /* [lock] */
    uint16_t *next;  /* shadow of each descriptor's next link (max_size) */
    uint16_t *chain; /* per head published and not yet used: its descriptor count; 0 otherwise */
    uint16_t free_head;
    uint16_t num_free;
    uint16_t avail_idx; /* next available entry, free-running (wraps at 65536) */
    uint16_t last_used; /* used entries consumed, free-running */
};

/* ---- Transport (4.1). [blocks: yes unless stated] [irq: no] */

/* [blocks: no] Walk pa's capability list (bounded: a looping list ends the
 * walk) and keep the first vendor capability of each cfg_type 1..4 whose
 * BAR is 0..5. Never fails: what is missing has found = false. */
HUSK_PRIVATE void virtio_pci_find_caps(const struct pci_attach_args *pa, struct virtio_pci_cap caps[VIRTIO_CAP_TYPES]);

/* Find and map the common, notify, ISR and device configuration regions
 * (bus_space_map). device_min: bytes the device configuration must have.
 * 0, HUSK_ENODEV (a capability is missing or too short: not a modern
 * device), or bus_space_map's error. On an error what was mapped stays
 * mapped: virtio_pci_unmap undoes it. */
HUSK_PRIVATE int virtio_pci_map(struct virtio_pci *vp, struct pci_attach_args *pa, bus_size_t device_min);
/* Unmap the regions; safe on a partly mapped or unmapped vp. */
HUSK_PRIVATE void virtio_pci_unmap(struct virtio_pci *vp);

/* [blocks: no] [irq: yes] device_status (2.1). set writes the whole byte,
 * add ORs bits into what it reads. */
HUSK_PRIVATE uint8_t virtio_get_status(struct virtio_pci *vp);
HUSK_PRIVATE void virtio_set_status(struct virtio_pci *vp, uint8_t status);
HUSK_PRIVATE void virtio_add_status(struct virtio_pci *vp, uint8_t bits);

/* Reset (4.1.4.3.2): write 0, then wait, bounded at 1 s, until the status
 * reads 0; after that the device does no DMA. 0, HUSK_ETIMEDOUT (logged:
 * the device is left as it is). */
HUSK_PRIVATE int virtio_reset(struct virtio_pci *vp);

/* [blocks: no] [irq: yes] The 64 feature bits, as two 32-bit words. */
HUSK_PRIVATE uint64_t virtio_read_device_features(struct virtio_pci *vp);
HUSK_PRIVATE void virtio_write_driver_features(struct virtio_pci *vp, uint64_t features);

/* 3.1.1 steps 1-3: reset, ACKNOWLEDGE, DRIVER. */
HUSK_PRIVATE void virtio_init_begin(struct virtio_pci *vp);
/* 3.1.1 steps 4-6: read the offer into vp->dev_features; every bit of
 * required must be offered; accept required plus the offered bits of
 * optional (vp->features), set FEATURES_OK and read it back. 0, or
 * HUSK_ENODEV with FAILED set: a required bit is missing (the log names
 * the bits, and says legacy virtio is not supported when VERSION_1 is one
 * of them), or the device did not keep FEATURES_OK. */
HUSK_PRIVATE int virtio_negotiate(struct virtio_pci *vp, uint64_t required, uint64_t optional);
/* 3.1.1 step 8: set DRIVER_OK (queues set up before). 0, or HUSK_EIO when
 * the status then lacks DRIVER_OK or shows DEVICE_NEEDS_RESET (logged). */
HUSK_PRIVATE int virtio_init_end(struct virtio_pci *vp);
/* [blocks: no] [irq: yes] Set FAILED: the driver gave up on the device. */
HUSK_PRIVATE void virtio_fail(struct virtio_pci *vp);

/* [blocks: no] [irq: yes] Why a device that was brought up with DRIVER_OK
 * needs the driver's reset path, or NULL when it is healthy: "DEVICE_NEEDS_
 * RESET" (2.1.2) or a status that lost DRIVER_OK (a reset or power loss
 * behind the driver's back). *status (may be NULL) gets the status read. */
HUSK_PRIVATE const char *virtio_health(struct virtio_pci *vp, uint8_t *status);

/* Device configuration (4.1.4.3.1, 4.1.4.6): read calls read(vp, arg),
 * which reads fields with virtio_config_read_N, again until
 * config_generation is the same before and after (at most 16 times). 0, or
 * HUSK_EIO (keeps changing; logged). */
HUSK_PRIVATE int virtio_config_read(struct virtio_pci *vp, void (*read)(struct virtio_pci *vp, void *arg), void *arg);
/* [blocks: no] [irq: yes] One field at byte offset off of the device
 * configuration; 8 bytes are read as two 32-bit halves, low first. Offsets
 * past device_len read all-ones. */
HUSK_PRIVATE uint8_t virtio_config_read_1(struct virtio_pci *vp, bus_size_t off);
HUSK_PRIVATE uint16_t virtio_config_read_2(struct virtio_pci *vp, bus_size_t off);
HUSK_PRIVATE uint32_t virtio_config_read_4(struct virtio_pci *vp, bus_size_t off);
HUSK_PRIVATE uint64_t virtio_config_read_8(struct virtio_pci *vp, bus_size_t off);

/* ---- Interrupts (4.1.4.5, 4.1.5.1.2). [blocks: yes] [irq: no] */

#define VIRTIO_INTR_ANY  0u /* MSI-X, else INTx; polling if neither can be set up */
#define VIRTIO_INTR_INTX 1u /* INTx only (a test of the level-triggered path); else polling */
#define VIRTIO_INTR_POLL 2u /* no interrupts */

/* Allocate and establish interrupts for the device and every queue
 * virtio_vq_alloc has added to it (call it after those). MSI-X with one
 * vector per queue plus one: vector 0 runs config(arg), vector 1 + i queue
 * i's intr; with fewer vectors, vector 0 runs every queue's intr and then
 * config. INTx: the handler reads ISR (which acknowledges and drops the
 * line), re-arms with pci_intr_ack, runs every queue's intr for bit 0 and
 * config for bit 1. Handlers run in irq context. When polling (asked for,
 * or nothing could be established, logged) every queue gets no_interrupt
 * and vp->polling is set. Never fails: polling is the fallback. config may
 * be NULL. */
HUSK_PRIVATE void virtio_intr_establish(struct virtio_pci *vp, unsigned mode, void (*config)(void *arg), void *arg);
/* Remove the handlers; when it returns none runs. Safe if none exist. */
HUSK_PRIVATE void virtio_intr_disestablish(struct virtio_pci *vp);
/* Program msix_config with vp->config_vector (MSI-X only; a no-op
 * otherwise) and read it back: between FEATURES_OK and DRIVER_OK, after
 * every reset. 0, or HUSK_EIO (refused, logged). */
HUSK_PRIVATE int virtio_config_vector_set(struct virtio_pci *vp);

/* ---- Split virtqueues (2.7). */

/* [blocks: yes] [irq: no] Prepare queue index of vp: ring memory laid out
 * for max_size descriptors (a power of two 2..VIRTQ_SIZE_MAX, so a reset
 * can reuse it at any size up to that), the shadow arrays, and intr(arg)
 * as its interrupt work (may be NULL for a queue that is only polled). Adds
 * the queue to vp->vqs. 0, HUSK_EINVAL (bad size or index, too many
 * queues), or bus_dmamem_alloc's error. */
HUSK_PRIVATE int virtio_vq_alloc(struct virtio_pci *vp, struct virtio_vq *vq, uint16_t index, uint16_t max_size,
                                 void (*intr)(void *arg), void *arg);
/* [blocks: yes] [irq: no] Free the ring memory and shadows (the device must
 * be reset). Safe on a queue that was never allocated. */
HUSK_PRIVATE void virtio_vq_free(struct virtio_vq *vq);
/* [blocks: yes] [irq: no] Configure the queue on the device (4.1.5.1.3)
 * between FEATURES_OK and DRIVER_OK: the first time pick the size (the
 * device's maximum capped at max_size, rounded down to a power of two, then
 * requested if that is smaller and non-zero, also rounded down), later
 * keep it; zero the rings, free every descriptor (chains in flight are
 * forgotten), give the device the ring addresses and vq->vector, find the
 * doorbell, enable. Nothing else may use the queue meanwhile (the device is
 * reset and the driver's state says so); the driver's next lock release
 * publishes it. 0, HUSK_ENODEV (queue absent or smaller than 2),
 * HUSK_EIO (the device refused a value, offers fewer descriptors than in
 * use, or its doorbell lies outside the notify region). */
HUSK_PRIVATE int virtio_vq_setup(struct virtio_vq *vq, uint16_t requested);

/* [lock] [blocks: no] [irq: yes] Take n descriptors off the free list into
 * idx[0..n-1]; their shadow links already chain them in that order. 0, or
 * HUSK_EAGAIN (fewer than n free). */
HUSK_PRIVATE int virtio_vq_alloc_chain(struct virtio_vq *vq, unsigned n, uint16_t *idx);
/* [lock] Give back a chain of n descriptors from head that was never
 * published (published chains come back through virtio_vq_next_used). */
HUSK_PRIVATE void virtio_vq_free_chain(struct virtio_vq *vq, uint16_t head, unsigned n);
/* [lock] Fill descriptor i. With VIRTQ_DESC_F_NEXT its next is the shadow
 * link virtio_vq_alloc_chain made; the device never gets another one. */
HUSK_PRIVATE void virtio_vq_set_desc(struct virtio_vq *vq, uint16_t i, bus_addr_t addr, uint32_t len, uint16_t flags);
/* [lock] Offer the chain of n descriptors from head (2.7.13): the ring
 * entry after a write barrier over the descriptors and buffers, then
 * avail->idx with release ordering. The device sees it after a kick. */
HUSK_PRIVATE void virtio_vq_publish(struct virtio_vq *vq, uint16_t head, unsigned n);
/* [blocks: no] [irq: yes] The doorbell (4.1.4.4): a full barrier so the
 * published index is visible, then the queue's index written at
 * queue_notify_off * notify_off_multiplier. */
HUSK_PRIVATE void virtio_vq_kick(struct virtio_vq *vq);
/* [lock] Consume the next used element (2.7.14; acquire on used->idx, then
 * a read barrier): 0 with *head and *len (bytes the device wrote) and the
 * chain back on the free list; HUSK_EAGAIN when the device has published
 * nothing new; HUSK_EIO when the element names a descriptor that is not
 * the head of a published chain (consumed, *head = the id truncated: the
 * driver should reset the device). */
HUSK_PRIVATE int virtio_vq_next_used(struct virtio_vq *vq, uint16_t *head, uint32_t *len);
/* [lock] Has the device published used elements the driver has not
 * consumed? */
HUSK_PRIVATE bool virtio_vq_used_pending(struct virtio_vq *vq);

#ifdef __cplusplus
}
#endif

#endif
