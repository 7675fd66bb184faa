/*
 * vnet_private.h — prefix vnet: the virtio-net driver's per-device state
 * and the functions its files share (HUSK_PRIVATE). The transport, the
 * virtqueues and the interrupt dispatch are the virtio library's
 * (husk/virtio.h).
 *
 * Locking: sc->lock is both virtqueues' [lock], and guards the buffer
 * states, the counters and the device state. It is taken by transmit (the
 * consumer's thread), rx_return (the consumer's thread or its irq
 * context), the interrupt work, the polling thread and the callouts, for
 * short sections. It is never held while calling into the registry
 * (glue_netif_input, glue_netif_link): the consumer's callbacks may send
 * or return frames, which take it.
 */
#ifndef VNET_PRIVATE_H
#define VNET_PRIVATE_H

#include <husk/glue.h>
#include <husk/virtio.h>
#include "vnet_regs.h"

#define VNET_QUEUE_MAX    256u  /* descriptors per queue, at most */
#define VNET_MTU          1500u /* VIRTIO_NET_F_MTU is not negotiated: the spec's default */
#define VNET_FRAME_MAX    (NETIF_HEADER_LEN + NETIF_VLAN_LEN + VNET_MTU) /* 1518 */
/* One buffer per descriptor, for the header and the longest frame: the
 * device never needs to split a frame (5.1.6.3.1 asks for 1526 bytes). */
#define VNET_BUF_SIZE     2048u
#define VNET_RX_POST_MIN  64u /* smallest rx_buffer_size: header and a little */
#define VNET_NAME_MAX     16u
#define VNET_NAME_BASE    11u                       /* the parameter's name, leaving room for a unit number */
#define VNET_RX_BATCH     32u                       /* frames collected under the lock, then lent without it */
#define VNET_HEALTH_NS    (250ull * GLUE_NS_PER_MS) /* status and link check */
#define VNET_POLL_BUSY_NS (20ull * GLUE_NS_PER_US)  /* poll period right after traffic */
#define VNET_POLL_IDLE_NS (1ull * GLUE_NS_PER_MS)   /* poll period when idle (the period doubles up to it) */

/* Module parameters (vnet_params.c), read once at init. */
struct vnet_params {
    char name[VNET_NAME_MAX]; /* the first interface's name */
    bool poll;                /* no interrupts: a thread polls both queues */
    bool intx;                /* INTx even when MSI-X exists */
    uint32_t queue_size;      /* 0: the device's maximum (capped at 256) */
    uint32_t rx_buffer_size;  /* bytes posted per receive buffer, with MRG_RXBUF */
};
HUSK_PRIVATE extern struct vnet_params vnet_params;

/* Where a receive buffer is. */
enum vnet_buf_state {
    VNET_BUF_FREE,   /* the driver's, not in the ring (stopped device, or on its way back) */
    VNET_BUF_POSTED, /* in the receive ring: the device's */
    VNET_BUF_HELD,   /* first buffer of a frame that spans several (MRG_RXBUF), being assembled */
    VNET_BUF_LENT,   /* lent to the consumer until rx_return */
};

enum vnet_state {
    VNET_STOPPED, /* not initialised, or being reset: transmit says EAGAIN */
    VNET_RUNNING,
    VNET_FAILED, /* the device could not be brought back: transmit says EIO */
};

/* Counters, under the lock; logged at detach (docs/virtio-net.md). */
struct vnet_stats {
    uint64_t rx_frames, rx_bytes; /* lent to the consumer */
    uint64_t rx_dropped;          /* nobody had the interface open */
    uint64_t rx_errors;           /* a length outside 14..1518, a frame over the buffer */
    uint64_t tx_frames, tx_bytes; /* given to the device */
    uint64_t tx_busy;             /* EAGAIN: every transmit descriptor in use */
    uint64_t tx_lost;             /* in flight when the device was reset */
    uint64_t resets, link_changes;
};

struct vnet_softc {
    struct pci_attach_args *pa;
    unsigned unit;

    /* The device and its two queues (husk/virtio.h). */
    struct virtio_pci vp;
    struct virtio_vq rxq, txq;

    kmutex_t lock;
    kcondvar_t cv;      /* poll thread wake-up and stop */
    callout_t health;   /* periodic status and link check, runs the reset path */
    callout_t reset_co; /* the reset path on demand (from irq context) */
    kthread_t poller;
    bool poller_running;
    bool poller_stop;

    /* Receive buffers (vnet_rx.c): one per receive descriptor, each
     * VNET_BUF_SIZE bytes of DMA memory: header, then the frame. */
    bus_dma_segment_t rx_seg;
    bool rx_allocated;
    uint32_t nrx;
    uint32_t rx_post;                     /* bytes posted per buffer: VNET_BUF_SIZE, or rx_buffer_size with MRG_RXBUF */
    uint8_t rx_state[VNET_QUEUE_MAX];     /* enum vnet_buf_state */
    uint16_t rx_desc_buf[VNET_QUEUE_MAX]; /* descriptor -> buffer, while posted */
    bool rx_reaping, rx_again;            /* one reaper at a time keeps frames in order */
    uint32_t merge_buf, merge_left, merge_len;
    bool merge_bad;

    /* Transmit buffers (vnet_tx.c): buffer i belongs to descriptor i. */
    bus_dma_segment_t tx_seg;
    bool tx_allocated;
    uint32_t tx_inflight;

    enum vnet_state state;
    bool reset_pending;
    const char *reset_why;
    bool link_up; /* as last reported to the registry */
    bool link_updating, link_again;
    struct vnet_stats st;

    uint8_t mac[6];
    struct netif nif;
    bool registered;
    char name[VNET_NAME_MAX];
};

/* vnet_params.c */
HUSK_PRIVATE int32_t vnet_params_load(void);
HUSK_PRIVATE void vnet_if_name(unsigned unit, char *out, unsigned outlen);

/* vnet_config.c: MAC and link status */
HUSK_PRIVATE int vnet_read_config(struct vnet_softc *sc);
HUSK_PRIVATE void vnet_link_update(struct vnet_softc *sc);

/* vnet_rx.c: receive buffers, refill, reaping, lending */
HUSK_PRIVATE int vnet_rx_alloc(struct vnet_softc *sc);
HUSK_PRIVATE void vnet_rx_free(struct vnet_softc *sc);
HUSK_PRIVATE void vnet_rx_fill_locked(struct vnet_softc *sc);
HUSK_PRIVATE void vnet_rx_stop_locked(struct vnet_softc *sc);
HUSK_PRIVATE unsigned vnet_rx_reap(struct vnet_softc *sc);
HUSK_PRIVATE void vnet_rx_intr(void *arg);
HUSK_PRIVATE void vnet_rx_return(void *priv, void *frame);

/* vnet_tx.c: transmit buffers, transmit, reclaim */
HUSK_PRIVATE int vnet_tx_alloc(struct vnet_softc *sc);
HUSK_PRIVATE void vnet_tx_free(struct vnet_softc *sc);
HUSK_PRIVATE void vnet_tx_stop_locked(struct vnet_softc *sc);
HUSK_PRIVATE unsigned vnet_tx_reclaim_locked(struct vnet_softc *sc);
HUSK_PRIVATE void vnet_tx_intr(void *arg);
HUSK_PRIVATE int vnet_transmit(void *priv, const void *frame, size_t len);

/* vnet_health.c: configuration changes, health check, reset path, polling */
HUSK_PRIVATE void vnet_schedule_reset_locked(struct vnet_softc *sc, const char *why);
HUSK_PRIVATE void vnet_config_changed(void *arg);
HUSK_PRIVATE void vnet_health(void *arg);
HUSK_PRIVATE void vnet_reset_task(void *arg);
HUSK_PRIVATE void vnet_poll_thread(void *arg);

/* vnet_attach.c */
HUSK_PRIVATE extern unsigned vnet_next_unit;
HUSK_PRIVATE int vnet_attach(struct pci_attach_args *pa, void **softc_out);
HUSK_PRIVATE void vnet_detach(void *softc);
HUSK_PRIVATE int vnet_device_init(struct vnet_softc *sc, bool first);
HUSK_PRIVATE void vnet_reset_path(struct vnet_softc *sc, const char *why);

#endif
