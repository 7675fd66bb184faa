/*
 * vblk_vq.c — the one split virtqueue (VIRTIO 1.x, 2.7): ring memory in
 * DMA memory, a free-descriptor list, publishing chains on the available
 * ring, the doorbell, and consuming the used ring. Indices are free-running
 * 16-bit counters: they wrap at 65536 while ring slots are idx % size.
 */
#include "vblk_regs.h"
#include "vblk_private.h"

/* Offsets inside the ring area, for the largest queue (so that a reset
 * can reinitialise any size in place): descriptors (16-byte aligned),
 * available ring (2), used ring (4, put on its own page). */
#define VBLK_RING_AVAIL_OFF (16u * VBLK_QUEUE_MAX)
#define VBLK_RING_USED_OFF  8192u
#define VBLK_RING_BYTES     (VBLK_RING_USED_OFF + 8u * VBLK_QUEUE_MAX + 8u)

int vblk_vq_alloc(struct vblk_softc *sc) {
    int r = bus_dmamem_alloc(VBLK_RING_BYTES, 4096, 0, &sc->ring_seg);
    if (r != 0) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "no DMA memory for the virtqueue: %s", glue_strerror(r));
        return r;
    }
    sc->ring_allocated = true;
    uint8_t *base = sc->ring_seg.ds_vaddr;
    sc->desc = (volatile struct virtq_desc *)base;
    sc->avail = base + VBLK_RING_AVAIL_OFF;
    sc->used = base + VBLK_RING_USED_OFF;
    sc->desc_bus = sc->ring_seg.ds_addr;
    sc->avail_bus = sc->ring_seg.ds_addr + VBLK_RING_AVAIL_OFF;
    sc->used_bus = sc->ring_seg.ds_addr + VBLK_RING_USED_OFF;
    return 0;
}

void vblk_vq_free(struct vblk_softc *sc) {
    if (sc->ring_allocated) {
        bus_dmamem_free(&sc->ring_seg);
        sc->ring_allocated = false;
    }
}

/* Empty rings, every descriptor free, indices at 0. The device must be
 * reset (or not yet set up). Lock held (or not yet shared). */
void vblk_vq_init_locked(struct vblk_softc *sc) {
    memset(sc->ring_seg.ds_vaddr, 0, VBLK_RING_BYTES);
    for (unsigned i = 0; i < sc->qsize; i++) sc->desc_next[i] = (uint16_t)(i + 1);
    sc->free_head = 0;
    sc->num_free = sc->qsize;
    sc->avail_idx = 0;
    sc->last_used = 0;
    if (sc->polling) *(volatile uint16_t *)(sc->avail + VIRTQ_AVAIL_FLAGS) = VIRTQ_AVAIL_F_NO_INTERRUPT;
}

/* 4.1.5.1.3: select queue 0, size it, give the device the rings and the
 * MSI-X vector, enable it. Called with the device between FEATURES_OK and
 * DRIVER_OK. */
int vblk_vq_setup(struct vblk_softc *sc, uint16_t vector) {
    const char *addr = sc->pa->pa_id.address;
    bus_space_write_2(sc->common, VIRTIO_COMMON_Q_SELECT, 0);
    uint16_t max = bus_space_read_2(sc->common, VIRTIO_COMMON_Q_SIZE);
    if (max == 0 || max == 0xffff) {
        glue_dev_logf(LOG_ERR, addr, "queue 0 is not available (queue_size %u)", max);
        return HUSK_ENODEV;
    }
    if (bus_space_read_2(sc->common, VIRTIO_COMMON_Q_ENABLE) != 0) {
        glue_dev_logf(LOG_ERR, addr, "queue 0 is already enabled after reset");
        return HUSK_EIO;
    }
    if (sc->qsize == 0) { /* first time: pick the size */
        uint32_t q = max < VBLK_QUEUE_MAX ? max : VBLK_QUEUE_MAX;
        while (q & (q - 1)) /* split rings are powers of two; round a strange maximum down */
            q &= q - 1;
        if (vblk_params.queue_size != 0 && vblk_params.queue_size < q) q = vblk_params.queue_size;
        if (q < 2) {
            glue_dev_logf(LOG_ERR, addr, "queue size %u is too small for a request", max);
            return HUSK_ENODEV;
        }
        sc->qsize = (uint16_t)q;
    } else if (sc->qsize > max) {
        glue_dev_logf(LOG_ERR, addr, "the device now offers %u descriptors, fewer than the %u in use", max, sc->qsize);
        return HUSK_EIO;
    }
    bus_space_write_2(sc->common, VIRTIO_COMMON_Q_SIZE, sc->qsize);
    if (bus_space_read_2(sc->common, VIRTIO_COMMON_Q_SIZE) != sc->qsize) {
        glue_dev_logf(LOG_ERR, addr, "the device did not accept queue size %u", sc->qsize);
        return HUSK_EIO;
    }
    mutex_enter(&sc->lock);
    vblk_vq_init_locked(sc);
    mutex_exit(&sc->lock);
    vblk_write_common_64(sc, VIRTIO_COMMON_Q_DESCLO, sc->desc_bus);
    vblk_write_common_64(sc, VIRTIO_COMMON_Q_AVAILLO, sc->avail_bus);
    vblk_write_common_64(sc, VIRTIO_COMMON_Q_USEDLO, sc->used_bus);
    if (vector != VIRTIO_MSI_NO_VECTOR) {
        bus_space_write_2(sc->common, VIRTIO_COMMON_Q_MSIX, vector);
        uint16_t got = bus_space_read_2(sc->common, VIRTIO_COMMON_Q_MSIX);
        if (got != vector) {
            glue_dev_logf(LOG_ERR, addr, "the device refused MSI-X vector %u for queue 0 (reads 0x%x)", vector, got);
            return HUSK_EIO;
        }
    }
    uint32_t noff = bus_space_read_2(sc->common, VIRTIO_COMMON_Q_NOFF);
    sc->notify_off = (bus_size_t)noff * sc->notify_mult;
    if (sc->notify_off + 2 > sc->notify_len) {
        glue_dev_logf(LOG_ERR, addr, "queue notify offset 0x%llx lies outside the notify structure (%llu bytes)",
                      (unsigned long long)sc->notify_off, (unsigned long long)sc->notify_len);
        return HUSK_EIO;
    }
    /* The rings are zeroed and in place before the device may look. */
    dev_wmb();
    bus_space_write_2(sc->common, VIRTIO_COMMON_Q_ENABLE, 1);
    if (bus_space_read_2(sc->common, VIRTIO_COMMON_Q_ENABLE) != 1) {
        glue_dev_logf(LOG_ERR, addr, "queue 0 did not enable");
        return HUSK_EIO;
    }
    return 0;
}

/* Take n descriptors off the free list into idx[]. Lock held. */
int vblk_vq_alloc_chain(struct vblk_softc *sc, unsigned n, uint16_t *idx) {
    if (sc->num_free < n) return HUSK_EAGAIN;
    for (unsigned i = 0; i < n; i++) {
        idx[i] = sc->free_head;
        sc->free_head = sc->desc_next[sc->free_head];
    }
    sc->num_free = (uint16_t)(sc->num_free - n);
    return 0;
}

/* Give back a chain of n descriptors starting at head. The links are the
 * driver's shadow (desc_next), never re-read from device-writable memory.
 * Lock held. */
void vblk_vq_free_chain(struct vblk_softc *sc, uint16_t head, unsigned n) {
    uint16_t last = head;
    for (unsigned i = 1; i < n; i++) last = sc->desc_next[last];
    sc->desc_next[last] = sc->free_head;
    sc->free_head = head;
    sc->num_free = (uint16_t)(sc->num_free + n);
}

/* 2.7.13: put the chain's head on the available ring, then publish the new
 * index; descriptors and ring entry must be visible first. Lock held. */
void vblk_vq_publish(struct vblk_softc *sc, uint16_t head) {
    volatile uint16_t *ring = (volatile uint16_t *)(sc->avail + VIRTQ_AVAIL_RING);
    ring[sc->avail_idx & (sc->qsize - 1)] = head;
    sc->avail_idx++;
    bus_dmamap_sync(NULL, 0, 0, BUS_DMASYNC_PREWRITE | BUS_DMASYNC_PREREAD);
    __atomic_store_n((uint16_t *)(sc->avail + VIRTQ_AVAIL_IDX), sc->avail_idx, __ATOMIC_RELEASE);
}

/* 4.1.4.4: the doorbell. The index store must be visible before it. */
void vblk_vq_kick(struct vblk_softc *sc) {
    dev_mb();
    bus_space_write_2(sc->notify, sc->notify_off, 0);
}

/* The next used element, if the device published one. Lock held. */
bool vblk_vq_next_used(struct vblk_softc *sc, uint32_t *id, uint32_t *len) {
    uint16_t idx = __atomic_load_n((uint16_t *)(sc->used + VIRTQ_USED_IDX), __ATOMIC_ACQUIRE);
    if (idx == sc->last_used) return false;
    bus_dmamap_sync(NULL, 0, 0, BUS_DMASYNC_POSTREAD);
    volatile struct virtq_used_elem *e =
        (volatile struct virtq_used_elem *)(sc->used + VIRTQ_USED_RING) + (sc->last_used & (sc->qsize - 1));
    *id = e->id;
    *len = e->len;
    sc->last_used++;
    return true;
}
