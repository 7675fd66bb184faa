/*
 * virtio_vq.c — split virtqueues (VIRTIO 1.x, 2.7): ring memory in DMA
 * memory, queue configuration on the device (4.1.5.1.3), a free-descriptor
 * list whose links are shadowed in driver memory, publishing chains on the
 * available ring, the doorbell, and consuming the used ring. Indices are
 * free-running 16-bit counters: they wrap at 65536 while ring slots are
 * idx % size (size is a power of two, so 65536 is a multiple of it).
 */
#include <husk/virtio.h>

/* Layout of the ring area for max_size descriptors, so that any size up to
 * it fits in place: descriptor table (16-byte aligned), available ring
 * (2-byte aligned) right after, used ring on its own page (the device
 * writes it, the driver the rest: no shared cache lines). */
static bus_size_t virtio_vq_avail_off(uint32_t max) { return 16u * max; }
static bus_size_t virtio_vq_used_off(uint32_t max) {
    bus_size_t end_of_avail = virtio_vq_avail_off(max) + 6u + 2u * max;
    return (end_of_avail + 4095u) & ~(bus_size_t)4095u;
}
static bus_size_t virtio_vq_ring_bytes(uint32_t max) { return virtio_vq_used_off(max) + 8u + 8u * max; }

int virtio_vq_alloc(struct virtio_pci *vp, struct virtio_vq *vq, uint16_t index, uint16_t max_size,
                    void (*intr)(void *arg), void *arg) {
    if (max_size < 2 || max_size > VIRTQ_SIZE_MAX || (max_size & (max_size - 1)) != 0 ||
        vp->nvqs >= VIRTIO_MAX_QUEUES) {
        glue_dev_logf(LOG_ERR, vp->name, "queue %u: bad max_size %u or more than %u queues", index, max_size,
                      VIRTIO_MAX_QUEUES);
        return HUSK_EINVAL;
    }
    memset(vq, 0, sizeof *vq);
    vq->vp = vp;
    vq->index = index;
    vq->max_size = max_size;
    vq->vector = VIRTIO_MSI_NO_VECTOR;
    vq->intr = intr;
    vq->intr_arg = arg;
    int r = bus_dmamem_alloc(virtio_vq_ring_bytes(max_size), 4096, 0, &vq->ring);
    if (r != 0) {
        glue_dev_logf(LOG_ERR, vp->name, "no DMA memory for virtqueue %u: %s", index, glue_strerror(r));
        return r;
    }
    vq->ring_allocated = true;
    vq->next = kmem_zalloc(max_size * sizeof vq->next[0], KM_SLEEP);
    vq->chain = kmem_zalloc(max_size * sizeof vq->chain[0], KM_SLEEP);
    uint8_t *base = vq->ring.ds_vaddr;
    vq->desc = (volatile struct virtq_desc *)base;
    vq->avail = base + virtio_vq_avail_off(max_size);
    vq->used = base + virtio_vq_used_off(max_size);
    vq->desc_bus = vq->ring.ds_addr;
    vq->avail_bus = vq->ring.ds_addr + virtio_vq_avail_off(max_size);
    vq->used_bus = vq->ring.ds_addr + virtio_vq_used_off(max_size);
    vp->vqs[vp->nvqs++] = vq;
    return 0;
}

void virtio_vq_free(struct virtio_vq *vq) {
    struct virtio_pci *vp = vq->vp;
    if (vp != NULL) {
        for (unsigned i = 0; i < vp->nvqs; i++) {
            if (vp->vqs[i] != vq) continue;
            for (unsigned j = i + 1; j < vp->nvqs; j++) vp->vqs[j - 1] = vp->vqs[j];
            vp->nvqs--;
            break;
        }
    }
    if (vq->ring_allocated) {
        bus_dmamem_free(&vq->ring);
        vq->ring_allocated = false;
    }
    if (vq->next != NULL) kmem_free(vq->next, vq->max_size * sizeof vq->next[0]);
    if (vq->chain != NULL) kmem_free(vq->chain, vq->max_size * sizeof vq->chain[0]);
    vq->next = vq->chain = NULL;
    vq->vp = NULL;
}

/* Empty rings, every descriptor free, indices at 0. */
static void virtio_vq_reinit(struct virtio_vq *vq) {
    memset(vq->ring.ds_vaddr, 0, virtio_vq_ring_bytes(vq->max_size));
    for (unsigned i = 0; i < vq->size; i++) {
        vq->next[i] = (uint16_t)(i + 1);
        vq->chain[i] = 0;
    }
    vq->free_head = 0;
    vq->num_free = vq->size;
    vq->avail_idx = 0;
    vq->last_used = 0;
    if (vq->no_interrupt) *(volatile uint16_t *)(vq->avail + VIRTQ_AVAIL_FLAGS) = VIRTQ_AVAIL_F_NO_INTERRUPT;
}

static uint32_t virtio_pow2_floor(uint32_t q) {
    while (q & (q - 1)) q &= q - 1;
    return q;
}

/* 64-bit fields as two 32-bit halves, low first (4.1.3.1). */
static void virtio_write_common_64(struct virtio_pci *vp, bus_size_t off, uint64_t v) {
    bus_space_write_4(vp->common, off, (uint32_t)v);
    bus_space_write_4(vp->common, off + 4, (uint32_t)(v >> 32));
}

/* Pick the size at the first setup; later setups (after a reset) keep it,
 * so the driver's per-descriptor state stays valid. */
static int virtio_vq_choose_size(struct virtio_vq *vq, uint16_t max, uint16_t requested) {
    const char *name = vq->vp->name;
    if (vq->size == 0) {
        uint32_t q = virtio_pow2_floor(max < vq->max_size ? max : vq->max_size);
        if (requested != 0 && requested < q) q = virtio_pow2_floor(requested);
        if (q < 2) {
            glue_dev_logf(LOG_ERR, name, "queue %u: size %u is too small for a request", vq->index, max);
            return HUSK_ENODEV;
        }
        vq->size = (uint16_t)q;
    } else if (vq->size > max) {
        glue_dev_logf(LOG_ERR, name, "queue %u: the device now offers %u descriptors, fewer than the %u in use",
                      vq->index, max, vq->size);
        return HUSK_EIO;
    }
    return 0;
}

int virtio_vq_setup(struct virtio_vq *vq, uint16_t requested) {
    struct virtio_pci *vp = vq->vp;
    const char *name = vp->name;
    bus_space_write_2(vp->common, VIRTIO_COMMON_Q_SELECT, vq->index);
    uint16_t max = bus_space_read_2(vp->common, VIRTIO_COMMON_Q_SIZE);
    if (max == 0 || max == 0xffff) {
        glue_dev_logf(LOG_ERR, name, "queue %u is not available (queue_size %u)", vq->index, max);
        return HUSK_ENODEV;
    }
    if (bus_space_read_2(vp->common, VIRTIO_COMMON_Q_ENABLE) != 0) {
        glue_dev_logf(LOG_ERR, name, "queue %u is already enabled after reset", vq->index);
        return HUSK_EIO;
    }
    int r = virtio_vq_choose_size(vq, max, requested);
    if (r != 0) return r;
    bus_space_write_2(vp->common, VIRTIO_COMMON_Q_SIZE, vq->size);
    if (bus_space_read_2(vp->common, VIRTIO_COMMON_Q_SIZE) != vq->size) {
        glue_dev_logf(LOG_ERR, name, "queue %u: the device did not accept size %u", vq->index, vq->size);
        return HUSK_EIO;
    }
    virtio_vq_reinit(vq);
    virtio_write_common_64(vp, VIRTIO_COMMON_Q_DESCLO, vq->desc_bus);
    virtio_write_common_64(vp, VIRTIO_COMMON_Q_AVAILLO, vq->avail_bus);
    virtio_write_common_64(vp, VIRTIO_COMMON_Q_USEDLO, vq->used_bus);
    if (vq->vector != VIRTIO_MSI_NO_VECTOR) {
        bus_space_write_2(vp->common, VIRTIO_COMMON_Q_MSIX, vq->vector);
        uint16_t got = bus_space_read_2(vp->common, VIRTIO_COMMON_Q_MSIX);
        if (got != vq->vector) {
            glue_dev_logf(LOG_ERR, name, "the device refused MSI-X vector %u for queue %u (reads 0x%x)", vq->vector,
                          vq->index, got);
            return HUSK_EIO;
        }
    }
    uint32_t noff = bus_space_read_2(vp->common, VIRTIO_COMMON_Q_NOFF);
    vq->notify_off = (bus_size_t)noff * vp->notify_mult;
    if (vq->notify_off + 2 > vp->notify_len) {
        glue_dev_logf(LOG_ERR, name, "queue %u: notify offset 0x%llx lies outside the notify structure (%llu bytes)",
                      vq->index, (unsigned long long)vq->notify_off, (unsigned long long)vp->notify_len);
        return HUSK_EIO;
    }
    /* The rings are zeroed and in place before the device may look. */
    dev_wmb();
    bus_space_write_2(vp->common, VIRTIO_COMMON_Q_ENABLE, 1);
    if (bus_space_read_2(vp->common, VIRTIO_COMMON_Q_ENABLE) != 1) {
        glue_dev_logf(LOG_ERR, name, "queue %u did not enable", vq->index);
        return HUSK_EIO;
    }
    return 0;
}

int virtio_vq_alloc_chain(struct virtio_vq *vq, unsigned n, uint16_t *idx) {
    if (n == 0 || vq->num_free < n) return HUSK_EAGAIN;
    for (unsigned i = 0; i < n; i++) {
        idx[i] = vq->free_head;
        vq->free_head = vq->next[vq->free_head];
    }
    vq->num_free = (uint16_t)(vq->num_free - n);
    return 0;
}

/* The links are the driver's shadow, never re-read from memory the device
 * can write. */
void virtio_vq_free_chain(struct virtio_vq *vq, uint16_t head, unsigned n) {
    uint16_t last = head;
    for (unsigned i = 1; i < n; i++) last = vq->next[last];
    vq->next[last] = vq->free_head;
    vq->free_head = head;
    vq->num_free = (uint16_t)(vq->num_free + n);
}

void virtio_vq_set_desc(struct virtio_vq *vq, uint16_t i, bus_addr_t addr, uint32_t len, uint16_t flags) {
    volatile struct virtq_desc *d = &vq->desc[i];
    d->addr = addr;
    d->len = len;
    d->flags = flags;
    d->next = (flags & VIRTQ_DESC_F_NEXT) ? vq->next[i] : 0;
}

/* 2.7.13: the descriptors, the buffers and the ring entry must be visible
 * before the new index. */
void virtio_vq_publish(struct virtio_vq *vq, uint16_t head, unsigned n) {
    vq->chain[head] = (uint16_t)n;
    volatile uint16_t *ring = (volatile uint16_t *)(vq->avail + VIRTQ_AVAIL_RING);
    ring[vq->avail_idx & (vq->size - 1)] = head;
    vq->avail_idx++;
    bus_dmamap_sync(NULL, 0, 0, BUS_DMASYNC_PREWRITE | BUS_DMASYNC_PREREAD);
    __atomic_store_n((uint16_t *)(vq->avail + VIRTQ_AVAIL_IDX), vq->avail_idx, __ATOMIC_RELEASE);
}

/* 4.1.4.4: the index store must be visible before the doorbell. */
void virtio_vq_kick(struct virtio_vq *vq) {
    dev_mb();
    bus_space_write_2(vq->vp->notify, vq->notify_off, vq->index);
}

int virtio_vq_next_used(struct virtio_vq *vq, uint16_t *head, uint32_t *len) {
    uint16_t idx = __atomic_load_n((uint16_t *)(vq->used + VIRTQ_USED_IDX), __ATOMIC_ACQUIRE);
    if (idx == vq->last_used) return HUSK_EAGAIN;
    bus_dmamap_sync(NULL, 0, 0, BUS_DMASYNC_POSTREAD);
    volatile struct virtq_used_elem *e =
        (volatile struct virtq_used_elem *)(vq->used + VIRTQ_USED_RING) + (vq->last_used & (vq->size - 1));
    uint32_t id = e->id;
    *len = e->len;
    *head = (uint16_t)id;
    vq->last_used++;
    /* A device may only return heads it was given, once each. */
    if (id >= vq->size || vq->chain[id] == 0) return HUSK_EIO;
    unsigned n = vq->chain[id];
    vq->chain[id] = 0;
    virtio_vq_free_chain(vq, (uint16_t)id, n);
    return 0;
}

bool virtio_vq_used_pending(struct virtio_vq *vq) {
    return __atomic_load_n((uint16_t *)(vq->used + VIRTQ_USED_IDX), __ATOMIC_ACQUIRE) != vq->last_used;
}
