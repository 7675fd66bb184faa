/*
 * vnet_tx.c — the transmit path: the consumer's frame is copied behind a
 * zeroed 12-byte header into the DMA buffer of a free transmit descriptor
 * (buffer i belongs to descriptor i: a transmit chain is one descriptor)
 * and published; descriptors the device used come back when the queue's
 * interrupt work, the poller or the next transmit reclaims them.
 */
#include "vnet_private.h"

int vnet_tx_alloc(struct vnet_softc *sc) {
    int r = bus_dmamem_alloc((bus_size_t)sc->txq.size * VNET_BUF_SIZE, 4096, 0, &sc->tx_seg);
    if (r != 0) {
        glue_dev_logf(LOG_ERR, sc->vp.name, "no DMA memory for %u transmit buffers: %s", sc->txq.size,
                      glue_strerror(r));
        return r;
    }
    sc->tx_allocated = true;
    return 0;
}

void vnet_tx_free(struct vnet_softc *sc) {
    if (sc->tx_allocated) {
        bus_dmamem_free(&sc->tx_seg);
        sc->tx_allocated = false;
    }
}

/* The device was reset: frames it had not sent are lost (counted); the
 * next virtio_vq_setup frees their descriptors. Lock held. */
void vnet_tx_stop_locked(struct vnet_softc *sc) {
    sc->st.tx_lost += sc->tx_inflight;
    sc->tx_inflight = 0;
}

/* Take back what the device has sent. Lock held; returns how many. */
unsigned vnet_tx_reclaim_locked(struct vnet_softc *sc) {
    unsigned n = 0;
    while (sc->state == VNET_RUNNING) {
        uint16_t head;
        uint32_t len;
        int r = virtio_vq_next_used(&sc->txq, &head, &len);
        if (r == HUSK_EAGAIN) break;
        if (r != 0) {
            glue_dev_logf(LOG_ERR, sc->vp.name,
                          "transmit queue: the device used descriptor %u, which was not in flight", head);
            vnet_schedule_reset_locked(sc, "the transmit ring named a descriptor that was not in flight");
            break;
        }
        sc->tx_inflight--;
        n++;
    }
    return n;
}

/* The transmit queue's interrupt work (irq context). */
void vnet_tx_intr(void *arg) {
    struct vnet_softc *sc = arg;
    mutex_enter(&sc->lock);
    (void)vnet_tx_reclaim_locked(sc);
    mutex_exit(&sc->lock);
}

/* struct netif.transmit: the consumer's thread, never blocks. The glue
 * checked the length (14 .. 18 + MTU). */
int vnet_transmit(void *priv, const void *frame, size_t len) {
    struct vnet_softc *sc = priv;
    mutex_enter(&sc->lock);
    if (sc->state != VNET_RUNNING) {
        int r = sc->state == VNET_FAILED ? HUSK_EIO : HUSK_EAGAIN;
        mutex_exit(&sc->lock);
        return r;
    }
    uint16_t d;
    if (virtio_vq_alloc_chain(&sc->txq, 1, &d) != 0) {
        (void)vnet_tx_reclaim_locked(sc);
        if (sc->state != VNET_RUNNING || virtio_vq_alloc_chain(&sc->txq, 1, &d) != 0) {
            sc->st.tx_busy++;
            mutex_exit(&sc->lock);
            return HUSK_EAGAIN;
        }
    }
    uint8_t *buf = (uint8_t *)sc->tx_seg.ds_vaddr + (uint64_t)d * VNET_BUF_SIZE;
    memset(buf, 0, VIRTIO_NET_HDR_LEN); /* no offload asked; num_buffers 0 on transmit (5.1.6.2) */
    memcpy(buf + VIRTIO_NET_HDR_LEN, frame, len);
    virtio_vq_set_desc(&sc->txq, d, sc->tx_seg.ds_addr + (bus_addr_t)d * VNET_BUF_SIZE,
                       (uint32_t)(VIRTIO_NET_HDR_LEN + len), 0);
    virtio_vq_publish(&sc->txq, d, 1);
    virtio_vq_kick(&sc->txq);
    sc->tx_inflight++;
    sc->st.tx_frames++;
    sc->st.tx_bytes += len;
    bool wake = sc->vp.polling && sc->tx_inflight == 1;
    if (wake) cv_signal(&sc->cv);
    mutex_exit(&sc->lock);
    return 0;
}
