/*
 * vnet_rx.c — the receive path: one DMA buffer per receive descriptor,
 * posted device-writable; frames taken off the used ring are lent to the
 * consumer in place (glue_netif_input, after the 12-byte header) and
 * posted again when they come back (rx_return). A frame the device spread
 * over several buffers (MRG_RXBUF) is gathered into its first buffer.
 *
 * Nothing is allocated on this path: the buffers are allocated at attach,
 * and a buffer the consumer holds is simply missing from the ring until it
 * comes back (the device then drops what it has no room for).
 */
#include "vnet_private.h"

static uint8_t *vnet_rx_buf(struct vnet_softc *sc, uint32_t b) {
    return (uint8_t *)sc->rx_seg.ds_vaddr + (uint64_t)b * VNET_BUF_SIZE;
}

int vnet_rx_alloc(struct vnet_softc *sc) {
    sc->nrx = sc->rxq.size;
    int r = bus_dmamem_alloc((bus_size_t)sc->nrx * VNET_BUF_SIZE, 4096, 0, &sc->rx_seg);
    if (r != 0) {
        glue_dev_logf(LOG_ERR, sc->vp.name, "no DMA memory for %u receive buffers: %s", sc->nrx, glue_strerror(r));
        return r;
    }
    sc->rx_allocated = true;
    for (uint32_t b = 0; b < sc->nrx; b++) sc->rx_state[b] = VNET_BUF_FREE;
    /* Without MRG_RXBUF every buffer must hold a whole frame (5.1.6.3.1). */
    sc->rx_post = (sc->vp.features & VIRTIO_NET_F_MRG_RXBUF) ? vnet_params.rx_buffer_size : VNET_BUF_SIZE;
    return 0;
}

void vnet_rx_free(struct vnet_softc *sc) {
    if (sc->rx_allocated) {
        bus_dmamem_free(&sc->rx_seg);
        sc->rx_allocated = false;
    }
}

/* One buffer into the receive ring. Lock held; a descriptor is always
 * free for it (as many descriptors as buffers). */
static void vnet_rx_post_locked(struct vnet_softc *sc, uint32_t b) {
    uint16_t d;
    int r = virtio_vq_alloc_chain(&sc->rxq, 1, &d);
    KASSERT(r == 0);
    /* The device may fill rx_post bytes; the whole VNET_BUF_SIZE stays
     * the driver's to gather a spread frame into. */
    virtio_vq_set_desc(&sc->rxq, d, sc->rx_seg.ds_addr + (bus_addr_t)b * VNET_BUF_SIZE, sc->rx_post,
                       VIRTQ_DESC_F_WRITE);
    sc->rx_desc_buf[d] = (uint16_t)b;
    sc->rx_state[b] = VNET_BUF_POSTED;
    virtio_vq_publish(&sc->rxq, d, 1);
}

/* Post every free buffer. Lock held; the queue is set up. The caller kicks
 * once the device is running (no notification before DRIVER_OK). */
void vnet_rx_fill_locked(struct vnet_softc *sc) {
    for (uint32_t b = 0; b < sc->nrx; b++)
        if (sc->rx_state[b] == VNET_BUF_FREE) vnet_rx_post_locked(sc, b);
}

/* The device was reset: what it held, and a frame half gathered, is the
 * driver's again (the next virtio_vq_setup forgets the descriptors). Lent
 * buffers stay lent. Lock held. */
void vnet_rx_stop_locked(struct vnet_softc *sc) {
    for (uint32_t b = 0; b < sc->nrx; b++)
        if (sc->rx_state[b] == VNET_BUF_POSTED || sc->rx_state[b] == VNET_BUF_HELD) sc->rx_state[b] = VNET_BUF_FREE;
    sc->merge_left = 0;
}

/* A buffer is the driver's again: into the ring if the device runs, else
 * free until the next bring-up fills the ring. Lock held; true if posted
 * (the caller kicks). */
static bool vnet_rx_recycle_locked(struct vnet_softc *sc, uint32_t b) {
    if (sc->state != VNET_RUNNING) {
        sc->rx_state[b] = VNET_BUF_FREE;
        return false;
    }
    vnet_rx_post_locked(sc, b);
    return true;
}

/* struct netif.rx_return: [irq: yes], never blocks. */
void vnet_rx_return(void *priv, void *frame) {
    struct vnet_softc *sc = priv;
    uint64_t off = (uint64_t)((uint8_t *)frame - VIRTIO_NET_HDR_LEN - vnet_rx_buf(sc, 0));
    uint32_t b = (uint32_t)(off / VNET_BUF_SIZE);
    KASSERT(off % VNET_BUF_SIZE == 0 && b < sc->nrx);
    mutex_enter(&sc->lock);
    KASSERT(sc->rx_state[b] == VNET_BUF_LENT);
    if (vnet_rx_recycle_locked(sc, b)) virtio_vq_kick(&sc->rxq);
    mutex_exit(&sc->lock);
}

struct vnet_rx_frame {
    uint32_t buf;
    uint32_t len; /* frame bytes, after the header */
};

/* A whole frame in buffer b (len bytes with the header): lend it if its
 * length is an Ethernet frame's, else count an error and repost. Lock held. */
static bool vnet_rx_take_locked(struct vnet_softc *sc, uint32_t b, uint32_t len, struct vnet_rx_frame *out,
                                bool *reposted) {
    uint32_t flen = len >= VIRTIO_NET_HDR_LEN ? len - VIRTIO_NET_HDR_LEN : 0;
    if (flen < NETIF_HEADER_LEN || flen > VNET_FRAME_MAX) {
        sc->st.rx_errors++;
        *reposted |= vnet_rx_recycle_locked(sc, b);
        return false;
    }
    sc->rx_state[b] = VNET_BUF_LENT;
    out->buf = b;
    out->len = flen;
    return true;
}

/* One used element of buffer b with len bytes: a frame (or its first
 * part), or the next part of the frame being gathered. Lock held; true if
 * a whole frame is ready in *out. */
static bool vnet_rx_element_locked(struct vnet_softc *sc, uint32_t b, uint32_t len, struct vnet_rx_frame *out,
                                   bool *reposted) {
    if (sc->merge_left > 0) {
        /* 5.1.6.4: the following buffers hold the rest of the frame, no header. */
        if (sc->merge_len + len <= VNET_BUF_SIZE)
            memcpy(vnet_rx_buf(sc, sc->merge_buf) + sc->merge_len, vnet_rx_buf(sc, b), len);
        else
            sc->merge_bad = true;
        sc->merge_len += len;
        *reposted |= vnet_rx_recycle_locked(sc, b);
        if (--sc->merge_left > 0) return false;
        if (!sc->merge_bad) return vnet_rx_take_locked(sc, sc->merge_buf, sc->merge_len, out, reposted);
        sc->st.rx_errors++;
        *reposted |= vnet_rx_recycle_locked(sc, sc->merge_buf);
        return false;
    }
    uint16_t nbufs = 1;
    if ((sc->vp.features & VIRTIO_NET_F_MRG_RXBUF) && len >= VIRTIO_NET_HDR_LEN)
        nbufs = ((const struct virtio_net_hdr *)vnet_rx_buf(sc, b))->num_buffers;
    if (nbufs > 1) {
        sc->rx_state[b] = VNET_BUF_HELD;
        sc->merge_buf = b;
        sc->merge_len = len;
        sc->merge_left = nbufs - 1u;
        sc->merge_bad = len > VNET_BUF_SIZE;
        return false;
    }
    return vnet_rx_take_locked(sc, b, len, out, reposted);
}

/* Lend the frames collected; take back (and count) those nobody took. */
static void vnet_rx_deliver(struct vnet_softc *sc, const struct vnet_rx_frame *f, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        int r = glue_netif_input(&sc->nif, vnet_rx_buf(sc, f[i].buf) + VIRTIO_NET_HDR_LEN, f[i].len);
        mutex_enter(&sc->lock);
        if (r == 0) {
            sc->st.rx_frames++;
            sc->st.rx_bytes += f[i].len;
        } else {
            sc->st.rx_dropped++;
            if (vnet_rx_recycle_locked(sc, f[i].buf)) virtio_vq_kick(&sc->rxq);
        }
        mutex_exit(&sc->lock);
    }
}

/* Consume the receive ring and lend what arrived, in order: one reaper at
 * a time (the others leave a note in rx_again and return). Any thread:
 * interrupt work, the poller, the health check. Returns the frames lent
 * or dropped, for the poller's pace. */
unsigned vnet_rx_reap(struct vnet_softc *sc) {
    struct vnet_rx_frame batch[VNET_RX_BATCH];
    unsigned total = 0;
    mutex_enter(&sc->lock);
    if (sc->rx_reaping) {
        sc->rx_again = true;
        mutex_exit(&sc->lock);
        return 0;
    }
    sc->rx_reaping = true;
    unsigned n;
    do {
        sc->rx_again = false;
        n = 0;
        bool reposted = false;
        while (sc->state == VNET_RUNNING && n < VNET_RX_BATCH) {
            uint16_t head;
            uint32_t len;
            int r = virtio_vq_next_used(&sc->rxq, &head, &len);
            if (r == HUSK_EAGAIN) break;
            uint32_t b = r == 0 ? sc->rx_desc_buf[head] : sc->nrx;
            if (b >= sc->nrx || sc->rx_state[b] != VNET_BUF_POSTED || len > sc->rx_post) {
                bool posted = b < sc->nrx && sc->rx_state[b] == VNET_BUF_POSTED;
                glue_dev_logf(LOG_ERR, sc->vp.name, "receive queue: the device used descriptor %u (%u bytes), %s", head,
                              len, posted ? "more than its buffer holds" : "which was not posted");
                vnet_schedule_reset_locked(sc, "the receive ring named a buffer that was not posted");
                break;
            }
            if (vnet_rx_element_locked(sc, b, len, &batch[n], &reposted)) n++;
        }
        if (reposted) virtio_vq_kick(&sc->rxq);
        mutex_exit(&sc->lock);
        vnet_rx_deliver(sc, batch, n);
        total += n;
        mutex_enter(&sc->lock);
    } while (sc->rx_again || n == VNET_RX_BATCH);
    sc->rx_reaping = false;
    mutex_exit(&sc->lock);
    return total;
}

/* The receive queue's interrupt work (irq context). */
void vnet_rx_intr(void *arg) { (void)vnet_rx_reap(arg); }
