/*
 * vblk_io.c — the request path: slots with DMA bounce buffers, submit
 * (header, data, status descriptors), completion from the used ring, the
 * interrupt work the virtio library dispatches to (queue, configuration
 * change), the polling thread, and the periodic health check that starts
 * the reset path.
 *
 * Consumer requests carry CPU memory (disk.h), which the device cannot
 * reach, so each slot owns a bounce buffer of max_transfer bytes in DMA
 * memory: writes are copied in at submit, reads copied out at completion.
 */
#include "vblk_regs.h"
#include "vblk_private.h"

/* Completions are collected under the lock and reported after it. */
#define VBLK_BATCH VBLK_MAX_SLOTS

static struct vblk_slot_hdr *vblk_slot_hdr(struct vblk_softc *sc, uint32_t s) {
    return (struct vblk_slot_hdr *)sc->hdr_seg.ds_vaddr + s;
}

static uint8_t *vblk_slot_buf(struct vblk_softc *sc, uint32_t s) {
    const bus_dma_segment_t *seg = &sc->buf_seg[s / VBLK_SLOTS_PER_CHUNK];
    return (uint8_t *)seg->ds_vaddr + (uint64_t)(s % VBLK_SLOTS_PER_CHUNK) * sc->max_transfer;
}

static bus_addr_t vblk_slot_buf_bus(struct vblk_softc *sc, uint32_t s) {
    const bus_dma_segment_t *seg = &sc->buf_seg[s / VBLK_SLOTS_PER_CHUNK];
    return seg->ds_addr + (bus_addr_t)(s % VBLK_SLOTS_PER_CHUNK) * sc->max_transfer;
}

int vblk_io_alloc(struct vblk_softc *sc) {
    const char *addr = sc->pa->pa_id.address;
    /* Three descriptors per READ/WRITE (header, data, status). */
    uint32_t n = sc->vq.size / 3u;
    if (n == 0) n = 1;
    if (n > VBLK_MAX_SLOTS) n = VBLK_MAX_SLOTS;
    sc->nslots = n;
    sc->max_transfer = VBLK_MAX_TRANSFER; /* a multiple of every valid blk_size */
    int r = bus_dmamem_alloc((bus_size_t)n * sizeof(struct vblk_slot_hdr), 64, 0, &sc->hdr_seg);
    if (r != 0) {
        glue_dev_logf(LOG_ERR, addr, "no DMA memory for request headers: %s", glue_strerror(r));
        return r;
    }
    sc->hdr_allocated = true;
    /* Bounce buffers in pieces of VBLK_SLOTS_PER_CHUNK slots (2 MiB). */
    sc->nbufsegs = 0;
    for (uint32_t first = 0; first < n; first += VBLK_SLOTS_PER_CHUNK) {
        uint32_t k = n - first < VBLK_SLOTS_PER_CHUNK ? n - first : VBLK_SLOTS_PER_CHUNK;
        r = bus_dmamem_alloc((bus_size_t)k * sc->max_transfer, 4096, 0, &sc->buf_seg[sc->nbufsegs]);
        if (r != 0) {
            glue_dev_logf(LOG_ERR, addr, "no DMA memory for bounce buffers (%u of %u slots of %u bytes allocated): %s",
                          first, n, sc->max_transfer, glue_strerror(r));
            return r;
        }
        sc->nbufsegs++;
    }
    return 0;
}

void vblk_io_free(struct vblk_softc *sc) {
    while (sc->nbufsegs > 0) bus_dmamem_free(&sc->buf_seg[--sc->nbufsegs]);
    if (sc->hdr_allocated) {
        bus_dmamem_free(&sc->hdr_seg);
        sc->hdr_allocated = false;
    }
}

/* Every slot free. Lock held, nothing in flight. */
void vblk_slots_init_locked(struct vblk_softc *sc) {
    for (uint32_t i = 0; i < sc->nslots; i++) {
        sc->slots[i].req = NULL;
        sc->slots[i].next_free = i + 1;
    }
    sc->slot_free = 0;
    sc->inflight = 0;
}

static void vblk_slot_put_locked(struct vblk_softc *sc, uint32_t s) {
    sc->slots[s].req = NULL;
    sc->slots[s].next_free = sc->slot_free;
    sc->slot_free = s;
    sc->inflight--;
}

/* struct disk.submit: [irq: yes], never blocks. The glue checked op,
 * alignment, range, read-only and max_transfer. */
int vblk_submit(void *priv, struct disk_req *req) {
    struct vblk_softc *sc = priv;
    bool data = req->op != DISK_OP_FLUSH;
    unsigned ndesc = data ? 3u : 2u;
    uint16_t d[3];

    mutex_enter(&sc->lock);
    if (sc->state != VBLK_RUNNING) {
        int r = sc->state == VBLK_FAILED ? HUSK_EIO : HUSK_EAGAIN;
        mutex_exit(&sc->lock);
        return r;
    }
    if (sc->slot_free >= sc->nslots || virtio_vq_alloc_chain(&sc->vq, ndesc, d) != 0) {
        mutex_exit(&sc->lock);
        return HUSK_EAGAIN;
    }
    uint32_t s = sc->slot_free;
    sc->slot_free = sc->slots[s].next_free;
    sc->inflight++;
    struct vblk_slot *slot = &sc->slots[s];
    slot->req = req;
    slot->head = d[0];
    slot->ndesc = (uint16_t)ndesc;
    sc->desc_slot[d[0]] = (uint16_t)s;

    struct vblk_slot_hdr *h = vblk_slot_hdr(sc, s);
    h->hdr.type = req->op == DISK_OP_READ    ? VIRTIO_BLK_T_IN
                  : req->op == DISK_OP_WRITE ? VIRTIO_BLK_T_OUT
                                             : VIRTIO_BLK_T_FLUSH;
    h->hdr.reserved = 0;
    /* Always 512-byte units, whatever blk_size is (5.2.6). */
    h->hdr.sector = data ? req->offset / VIRTIO_BLK_SECTOR_SIZE : 0;
    h->status = 0xff; /* a value the device never writes: catches a missing status */

    bus_addr_t hdr_bus = sc->hdr_seg.ds_addr + (bus_addr_t)s * sizeof(struct vblk_slot_hdr);
    bus_addr_t status_bus = hdr_bus + __builtin_offsetof(struct vblk_slot_hdr, status);
    uint16_t status_desc = data ? d[2] : d[1];
    virtio_vq_set_desc(&sc->vq, d[0], hdr_bus, sizeof h->hdr, VIRTQ_DESC_F_NEXT);
    if (data) {
        bus_addr_t buf_bus = vblk_slot_buf_bus(sc, s);
        if (req->op == DISK_OP_WRITE) memcpy(vblk_slot_buf(sc, s), req->data, req->len);
        virtio_vq_set_desc(&sc->vq, d[1], buf_bus, (uint32_t)req->len,
                           (uint16_t)(VIRTQ_DESC_F_NEXT | (req->op == DISK_OP_READ ? VIRTQ_DESC_F_WRITE : 0)));
    }
    virtio_vq_set_desc(&sc->vq, status_desc, status_bus, 1, VIRTQ_DESC_F_WRITE);
    virtio_vq_publish(&sc->vq, d[0], ndesc);
    virtio_vq_kick(&sc->vq);
    bool wake = sc->vp.polling && sc->inflight == 1;
    if (wake) cv_signal(&sc->cv);
    mutex_exit(&sc->lock);
    return 0;
}

static int32_t vblk_status_to_error(uint8_t st) {
    switch (st) {
    case VIRTIO_BLK_S_OK: return 0;
    case VIRTIO_BLK_S_UNSUPP: return HUSK_ENOTSUP;
    default: return HUSK_EIO; /* IOERR, or a status the device never wrote */
    }
}

static void vblk_report(struct disk_req **done, unsigned n) {
    for (unsigned i = 0; i < n; i++) done[i]->done(done[i]);
}

/* Consume the used ring; call the finished requests' done without the
 * lock. Any thread (irq handlers, poller, health check). */
void vblk_reap(struct vblk_softc *sc) {
    struct disk_req *done[VBLK_BATCH];
    for (;;) {
        unsigned n = 0;
        bool broken = false;
        uint16_t id = 0;
        uint32_t len = 0;
        mutex_enter(&sc->lock);
        while (sc->state == VBLK_RUNNING && n < VBLK_BATCH) {
            /* The library frees the chain; HUSK_EIO: id was not a chain in flight. */
            int r = virtio_vq_next_used(&sc->vq, &id, &len);
            if (r == HUSK_EAGAIN) break;
            uint32_t s = r == 0 ? sc->desc_slot[id] : sc->nslots;
            if (s >= sc->nslots || sc->slots[s].req == NULL || sc->slots[s].head != id) {
                broken = true;
                break;
            }
            struct vblk_slot *slot = &sc->slots[s];
            struct disk_req *req = slot->req;
            uint8_t st = __atomic_load_n(&vblk_slot_hdr(sc, s)->status, __ATOMIC_ACQUIRE);
            req->status = vblk_status_to_error(st);
            if (req->status == 0 && req->op == DISK_OP_READ) memcpy(req->data, vblk_slot_buf(sc, s), req->len);
            vblk_slot_put_locked(sc, s);
            sc->completed++;
            done[n++] = req;
        }
        if (broken && !sc->reset_pending) {
            glue_dev_logf(LOG_ERR, sc->pa->pa_id.address,
                          "the device completed descriptor %u, which is not the head of a request in flight", id);
            sc->reset_pending = true;
            sc->reset_why = "the used ring named a descriptor that is not in flight";
            callout_schedule(&sc->reset_co, 0);
        }
        mutex_exit(&sc->lock);
        vblk_report(done, n);
        if (n < VBLK_BATCH) return;
    }
}

/* Complete every request in flight with status (device reset or gone).
 * The device must no longer touch the rings (it was reset); their
 * descriptors come back when virtio_vq_setup reinitialises the queue. */
void vblk_fail_inflight(struct vblk_softc *sc, int status) {
    struct disk_req *done[VBLK_MAX_SLOTS];
    unsigned n = 0;
    mutex_enter(&sc->lock);
    for (uint32_t s = 0; s < sc->nslots; s++) {
        struct disk_req *req = sc->slots[s].req;
        if (req == NULL) continue;
        req->status = status;
        done[n++] = req;
        vblk_slot_put_locked(sc, s);
    }
    mutex_exit(&sc->lock);
    if (n > 0)
        glue_dev_logf(LOG_WARN, sc->pa->pa_id.address, "failed %u request(s) in flight with %s", n,
                      glue_strerror(status));
    vblk_report(done, n);
}

/* A configuration change (irq context, from the virtio library's
 * handlers): the only one acted on is DEVICE_NEEDS_RESET (the sim's config
 * never changes; capacity changes are not supported). */
void vblk_config_changed(void *arg) {
    struct vblk_softc *sc = arg;
    uint8_t st = virtio_get_status(&sc->vp);
    if (!(st & VIRTIO_STATUS_NEEDS_RESET)) return;
    mutex_enter(&sc->lock);
    bool first = !sc->reset_pending && sc->state == VBLK_RUNNING;
    if (first) {
        sc->reset_pending = true;
        sc->reset_why = "DEVICE_NEEDS_RESET (configuration interrupt)";
        callout_schedule(&sc->reset_co, 0); /* the reset runs in thread context */
    }
    mutex_exit(&sc->lock);
    if (first) glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "device status 0x%02x: DEVICE_NEEDS_RESET; resetting", st);
}

/* The queue's interrupt work (irq context): its MSI-X vector, or the
 * shared vector / INTx with the queue bit, as the virtio library decides. */
void vblk_queue_intr(void *arg) { vblk_reap(arg); }

/* Polling mode: reap often while requests are in flight, sleep otherwise
 * (submit wakes it). */
void vblk_poll_thread(void *arg) {
    struct vblk_softc *sc = arg;
    mutex_enter(&sc->lock);
    while (!sc->poller_stop) {
        bool busy = sc->inflight > 0;
        if (busy) {
            mutex_exit(&sc->lock);
            vblk_reap(sc);
            glue_sleep_ns(VBLK_POLL_BUSY_NS);
            mutex_enter(&sc->lock);
        } else {
            cv_timedwait(&sc->cv, &sc->lock, VBLK_POLL_IDLE_NS);
        }
    }
    mutex_exit(&sc->lock);
}

/* The reset callout: scheduled by an interrupt handler or the reaper that
 * found the device needing a reset. Thread context. */
void vblk_reset_task(void *arg) {
    struct vblk_softc *sc = arg;
    mutex_enter(&sc->lock);
    bool pending = sc->reset_pending;
    const char *why = sc->reset_why;
    mutex_exit(&sc->lock);
    if (pending) vblk_reset_path(sc, why != NULL ? why : "reset requested");
}

/* Periodic: the device must still be running with DRIVER_OK and without
 * DEVICE_NEEDS_RESET; a device that lost its state (NEEDS_RESET without an
 * interrupt, a reset or power loss behind the driver's back) goes through
 * the reset path. Runs on the component's callout thread, like the reset
 * callout, so the two never run at once. */
void vblk_health(void *arg) {
    struct vblk_softc *sc = arg;
    mutex_enter(&sc->lock);
    bool running = sc->state == VBLK_RUNNING && !sc->reset_pending;
    mutex_exit(&sc->lock);
    if (!running) return;
    const char *why = virtio_health(&sc->vp, NULL);
    if (why != NULL) {
        vblk_reset_path(sc, why);
    } else if (sc->vp.polling) {
        /* No interrupts: catch completions the poller may be sleeping on. */
        vblk_reap(sc);
    }
}
