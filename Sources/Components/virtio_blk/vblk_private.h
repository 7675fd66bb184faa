/*
 * vblk_private.h — prefix vblk: the driver's per-device state and the
 * functions its files share (HUSK_PRIVATE).
 *
 * Locking: sc->lock guards the virtqueue (free descriptor list, indices,
 * ring memory), the request slots and the device state; it is taken by
 * submit (any consumer thread), the interrupt handlers, the polling thread
 * and the health/reset callout. Consumers' done callbacks are always called
 * with it dropped (a done may submit again).
 */
#ifndef VBLK_PRIVATE_H
#define VBLK_PRIVATE_H

#include <husk/glue.h>
#include "vblk_regs.h"

#define VBLK_QUEUE_MAX       256u           /* descriptors in the one virtqueue, at most */
#define VBLK_MAX_SLOTS       64u            /* requests in flight, at most */
#define VBLK_MAX_TRANSFER    (128u * 1024u) /* bytes per READ/WRITE (bounce buffer per slot) */
/* Bounce buffers are allocated in pieces of at most 2 MiB: the uio backend's
 * DMA memory is physically contiguous only within one 2 MiB huge page. */
#define VBLK_BUF_CHUNK       (2u * 1024u * 1024u)
#define VBLK_SLOTS_PER_CHUNK (VBLK_BUF_CHUNK / VBLK_MAX_TRANSFER)
#define VBLK_BUF_CHUNKS      ((VBLK_MAX_SLOTS + VBLK_SLOTS_PER_CHUNK - 1) / VBLK_SLOTS_PER_CHUNK)
#define VBLK_NAME_MAX        32u
#define VBLK_HEALTH_NS       (250ull * GLUE_NS_PER_MS) /* how often the device status is checked */
#define VBLK_POLL_BUSY_NS    (20ull * GLUE_NS_PER_US)  /* poll period while requests are in flight */
#define VBLK_POLL_IDLE_NS    (10ull * GLUE_NS_PER_MS)  /* poll period when idle */

/* Module parameters (vblk_params.c), read once at init. */
struct vblk_params {
    char name[VBLK_NAME_MAX]; /* name of the first disk */
    bool poll;                /* reap by polling, no interrupts */
    bool intx;                /* INTx even when MSI-X exists */
    uint32_t queue_size;      /* 0: the device's maximum (capped at 256) */
};
HUSK_PRIVATE extern struct vblk_params vblk_params;

/* Per-slot DMA area: request header and status byte (the data goes through
 * the slot's bounce buffer). */
struct vblk_slot_hdr {
    struct virtio_blk_outhdr hdr; /* 16 bytes, device-readable */
    uint8_t status;               /* device-writable */
    uint8_t pad[15];
};

struct vblk_slot {
    struct disk_req *req; /* NULL: free */
    uint16_t head;        /* first descriptor of its chain */
    uint16_t ndesc;
    uint32_t next_free; /* slot free list */
};

enum vblk_state {
    VBLK_STOPPED, /* not initialised, or being reset: submit says EAGAIN */
    VBLK_RUNNING,
    VBLK_FAILED, /* the device could not be brought back: submit says EIO */
};

struct vblk_softc {
    struct pci_attach_args *pa;
    unsigned unit;

    /* Transport (vblk_pci.c). */
    bus_space_handle_t common, isr, devcfg, notify;
    uint32_t notify_mult;
    bus_size_t notify_len;
    bus_size_t notify_off; /* of queue 0, inside the notify region */

    /* Negotiated (vblk_attach.c). */
    uint64_t dev_features;
    uint64_t features; /* what the driver accepted */
    uint64_t capacity; /* 512-byte sectors */
    uint32_t blk_size;
    uint32_t seg_max;

    /* Interrupts. */
    uint32_t intr_kind; /* HUSK_IRQ_* or 0 when polling */
    uint32_t intr_count;
    pci_intr_handle_t ih[2];
    unsigned nih;
    bool polling;
    kthread_t poller;
    bool poller_running;
    bool poller_stop; /* guarded by lock */

    kmutex_t lock;
    kcondvar_t cv;      /* poll thread wake-up */
    callout_t health;   /* periodic status check, runs the reset path */
    callout_t reset_co; /* the reset path on demand (from irq context) */

    /* Virtqueue memory (vblk_vq.c): one DMA area for the rings. */
    bus_dma_segment_t ring_seg;
    bool ring_allocated;
    uint16_t qsize;
    volatile struct virtq_desc *desc;
    volatile uint8_t *avail;
    volatile uint8_t *used;
    bus_addr_t desc_bus, avail_bus, used_bus;

    /* Guarded by lock. */
    uint16_t free_head; /* free descriptor list (shadowed in desc_next) */
    uint16_t num_free;
    uint16_t desc_next[VBLK_QUEUE_MAX];
    uint16_t desc_slot[VBLK_QUEUE_MAX]; /* head descriptor -> slot */
    uint16_t avail_idx;                 /* next free entry of the available ring (free-running) */
    uint16_t last_used;                 /* used entries consumed (free-running) */

    /* Request slots (vblk_io.c). */
    uint32_t nslots;
    struct vblk_slot slots[VBLK_MAX_SLOTS];
    uint32_t slot_free; /* head of the slot free list, nslots when empty */
    uint32_t inflight;
    bus_dma_segment_t hdr_seg;                  /* nslots x struct vblk_slot_hdr */
    bus_dma_segment_t buf_seg[VBLK_BUF_CHUNKS]; /* bounce buffers, VBLK_SLOTS_PER_CHUNK x max_transfer each */
    uint32_t nbufsegs;                          /* buf_seg entries allocated */
    bool hdr_allocated;
    uint32_t max_transfer;

    enum vblk_state state;
    bool reset_pending;
    const char *reset_why; /* for the log line of the reset path */
    bool detaching;
    uint64_t resets;
    uint64_t interrupts;
    uint64_t completed;

    /* The disk. */
    struct disk disk;
    bool disk_registered;
    char name[VBLK_NAME_MAX];
};

/* vblk_params.c */
HUSK_PRIVATE int32_t vblk_params_load(void);
HUSK_PRIVATE void vblk_disk_name(unsigned unit, char *out, unsigned outlen);

/* vblk_pci.c: capabilities and register access */
HUSK_PRIVATE int vblk_pci_map(struct vblk_softc *sc);
HUSK_PRIVATE void vblk_pci_unmap(struct vblk_softc *sc);
HUSK_PRIVATE uint8_t vblk_get_status(struct vblk_softc *sc);
HUSK_PRIVATE void vblk_set_status(struct vblk_softc *sc, uint8_t status);
HUSK_PRIVATE void vblk_device_reset(struct vblk_softc *sc);
HUSK_PRIVATE uint64_t vblk_read_device_features(struct vblk_softc *sc);
HUSK_PRIVATE void vblk_write_driver_features(struct vblk_softc *sc, uint64_t f);
HUSK_PRIVATE void vblk_write_common_64(struct vblk_softc *sc, bus_size_t off, uint64_t v);
HUSK_PRIVATE int vblk_read_config(struct vblk_softc *sc);

/* vblk_vq.c: the split virtqueue */
HUSK_PRIVATE int vblk_vq_alloc(struct vblk_softc *sc);
HUSK_PRIVATE void vblk_vq_free(struct vblk_softc *sc);
HUSK_PRIVATE void vblk_vq_init_locked(struct vblk_softc *sc);
HUSK_PRIVATE int vblk_vq_setup(struct vblk_softc *sc, uint16_t vector);
HUSK_PRIVATE int vblk_vq_alloc_chain(struct vblk_softc *sc, unsigned n, uint16_t *idx);
HUSK_PRIVATE void vblk_vq_free_chain(struct vblk_softc *sc, uint16_t head, unsigned n);
HUSK_PRIVATE void vblk_vq_publish(struct vblk_softc *sc, uint16_t head);
HUSK_PRIVATE void vblk_vq_kick(struct vblk_softc *sc);
HUSK_PRIVATE bool vblk_vq_next_used(struct vblk_softc *sc, uint32_t *id, uint32_t *len);

/* vblk_io.c: requests, completion, interrupts, polling, reset */
HUSK_PRIVATE int vblk_io_alloc(struct vblk_softc *sc);
HUSK_PRIVATE void vblk_io_free(struct vblk_softc *sc);
HUSK_PRIVATE void vblk_slots_init_locked(struct vblk_softc *sc);
HUSK_PRIVATE int vblk_submit(void *priv, struct disk_req *req);
HUSK_PRIVATE void vblk_reap(struct vblk_softc *sc);
HUSK_PRIVATE void vblk_fail_inflight(struct vblk_softc *sc, int status);
HUSK_PRIVATE int vblk_intr_queue(void *arg);
HUSK_PRIVATE int vblk_intr_config(void *arg);
HUSK_PRIVATE int vblk_intr_intx(void *arg);
HUSK_PRIVATE void vblk_poll_thread(void *arg);
HUSK_PRIVATE void vblk_health(void *arg);
HUSK_PRIVATE void vblk_reset_task(void *arg);

/* vblk_attach.c */
HUSK_PRIVATE int vblk_attach(struct pci_attach_args *pa, void **softc_out);
HUSK_PRIVATE void vblk_detach(void *softc);
HUSK_PRIVATE int vblk_device_init(struct vblk_softc *sc, bool first);
HUSK_PRIVATE extern unsigned vblk_next_unit;
HUSK_PRIVATE void vblk_reset_path(struct vblk_softc *sc, const char *why);

#endif
