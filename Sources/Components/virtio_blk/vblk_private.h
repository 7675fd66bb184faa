/*
 * vblk_private.h — prefix vblk: the driver's per-device state and the
 * functions its files share (HUSK_PRIVATE). The transport, the virtqueue
 * and the interrupt dispatch are the virtio library's (husk/virtio.h).
 *
 * Locking: sc->lock is the virtqueue's [lock] (free descriptor list,
 * indices, ring memory), and guards the request slots and the device
 * state; it is taken by
 * submit (any consumer thread), the interrupt handlers, the polling thread
 * and the health/reset callout. Consumers' done callbacks are always called
 * with it dropped (a done may submit again).
 */
#ifndef VBLK_PRIVATE_H
#define VBLK_PRIVATE_H

#include <husk/glue.h>
#include <husk/virtio.h>
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

    /* The device and its one queue (husk/virtio.h): transport, negotiated
     * features, interrupts; ring memory, free list, indices. */
    struct virtio_pci vp;
    struct virtio_vq vq;

    /* Device configuration (vblk_config.c). */
    uint64_t capacity; /* 512-byte sectors */
    uint32_t blk_size;
    uint32_t seg_max;

    /* Polling (vp.polling). */
    kthread_t poller;
    bool poller_running;
    bool poller_stop; /* guarded by lock */

    kmutex_t lock;
    kcondvar_t cv;      /* poll thread wake-up */
    callout_t health;   /* periodic status check, runs the reset path */
    callout_t reset_co; /* the reset path on demand (from irq context) */

    /* Guarded by lock. */
    uint16_t desc_slot[VBLK_QUEUE_MAX]; /* head descriptor -> slot */

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
    uint64_t completed;

    /* The disk. */
    struct disk disk;
    bool disk_registered;
    char name[VBLK_NAME_MAX];
};

/* vblk_params.c */
HUSK_PRIVATE int32_t vblk_params_load(void);
HUSK_PRIVATE void vblk_disk_name(unsigned unit, char *out, unsigned outlen);

/* vblk_config.c: capacity, seg_max, blk_size */
HUSK_PRIVATE int vblk_read_config(struct vblk_softc *sc);

/* vblk_io.c: requests, completion, interrupt work, polling, health check */
HUSK_PRIVATE int vblk_io_alloc(struct vblk_softc *sc);
HUSK_PRIVATE void vblk_io_free(struct vblk_softc *sc);
HUSK_PRIVATE void vblk_slots_init_locked(struct vblk_softc *sc);
HUSK_PRIVATE int vblk_submit(void *priv, struct disk_req *req);
HUSK_PRIVATE void vblk_reap(struct vblk_softc *sc);
HUSK_PRIVATE void vblk_fail_inflight(struct vblk_softc *sc, int status);
HUSK_PRIVATE void vblk_queue_intr(void *arg);
HUSK_PRIVATE void vblk_config_changed(void *arg);
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
