/*
 * vtest.c — the scenarios of virtio_test_hooks.h: a minimal virtio-blk
 * driver built only on the virtio library, so that Tests/VirtioLibTests
 * checks the library itself rather than through virtio_blk.
 */
#include "virtio_test_hooks.h"

#define VTEST_HDR_BYTES 32u /* per slot: 16-byte request header, status byte at 16 */
#define VTEST_T_FLUSH   4u
#define VTEST_DEADLINE  (180ull * GLUE_NS_PER_S)

struct vtest_dev {
    struct pci_attach_args *pa;
    struct virtio_pci vp;
    struct virtio_vq vq;
    struct virtio_vq extra[2];
    kmutex_t lock; /* the queues' [lock]; guards the counters below */
    kcondvar_t cv; /* a queue interrupt or configuration change */
    uint64_t queue_calls, config_calls, needs_reset_calls;
    bus_dma_segment_t hdr;
    bool hdr_allocated;
    uint16_t slot_head[VIRTQ_SIZE_MAX / 2];
    uint16_t head_slot[VIRTQ_SIZE_MAX];
    bool slot_busy[VIRTQ_SIZE_MAX / 2];
    uint32_t nslots, inflight;
};

static const struct vtest_args *vtest_args;
static struct vtest_result *vtest_result;
static bool vtest_config_wait;

bool vtest_waiting_for_config(void) { return __atomic_load_n(&vtest_config_wait, __ATOMIC_ACQUIRE); }

static void vtest_fail(int r) {
    if (vtest_result->status == 0) vtest_result->status = r;
}

static void vtest_queue_intr(void *arg) {
    struct vtest_dev *d = arg;
    mutex_enter(&d->lock);
    d->queue_calls++;
    cv_broadcast(&d->cv);
    mutex_exit(&d->lock);
}

static void vtest_config_intr(void *arg) {
    struct vtest_dev *d = arg;
    bool needs_reset = virtio_get_status(&d->vp) & VIRTIO_STATUS_NEEDS_RESET;
    mutex_enter(&d->lock);
    d->config_calls++;
    if (needs_reset) d->needs_reset_calls++;
    cv_broadcast(&d->cv);
    mutex_exit(&d->lock);
}

/* ---- MAP */

static void vtest_capacity(struct virtio_pci *vp, void *arg) { *(uint64_t *)arg = virtio_config_read_8(vp, 0); }

static void vtest_map(struct vtest_dev *d) {
    struct vtest_result *res = vtest_result;
    virtio_pci_find_caps(d->pa, res->caps);
    int r = virtio_pci_map(&d->vp, d->pa, vtest_args->device_min);
    vtest_fail(r);
    if (r != 0) return;
    res->device_len = d->vp.device_len;
    res->notify_len = d->vp.notify_len;
    res->notify_mult = d->vp.notify_mult;
    vtest_fail(virtio_config_read(&d->vp, vtest_capacity, &res->capacity));
}

/* ---- NEGOTIATE */

static void vtest_negotiate(struct vtest_dev *d) {
    int r = virtio_pci_map(&d->vp, d->pa, 0);
    if (r == 0) {
        virtio_init_begin(&d->vp);
        r = virtio_negotiate(&d->vp, vtest_args->required, vtest_args->optional);
    }
    vtest_fail(r);
    vtest_result->dev_features = d->vp.dev_features;
    vtest_result->features = d->vp.features;
    if (d->vp.common != NULL) vtest_result->device_status = virtio_get_status(&d->vp);
}

/* ---- QUEUE */

/* From reset to DRIVER_OK with queue 0 (and the extra queue objects, which
 * the sim does not have). */
static int vtest_bring_up(struct vtest_dev *d) {
    virtio_init_begin(&d->vp);
    int r = virtio_negotiate(&d->vp, VIRTIO_F_VERSION_1, 0);
    if (r == 0) r = virtio_config_vector_set(&d->vp);
    if (r == 0) r = virtio_vq_setup(&d->vq, vtest_args->requested);
    if (r == 0 && vtest_args->extra_queues > 0) vtest_result->extra_setup = virtio_vq_setup(&d->extra[0], 0);
    if (r == 0) r = virtio_init_end(&d->vp);
    return r;
}

static int vtest_submit_locked(struct vtest_dev *d, uint32_t s) {
    uint16_t idx[2];
    int r = virtio_vq_alloc_chain(&d->vq, 2, idx);
    if (r != 0) return r;
    uint8_t *h = (uint8_t *)d->hdr.ds_vaddr + s * VTEST_HDR_BYTES;
    bus_addr_t bus = d->hdr.ds_addr + s * VTEST_HDR_BYTES;
    memset(h, 0, VTEST_HDR_BYTES);
    *(uint32_t *)h = VTEST_T_FLUSH;
    h[16] = 0xff; /* the device writes 0 */
    virtio_vq_set_desc(&d->vq, idx[0], bus, 16, VIRTQ_DESC_F_NEXT);
    virtio_vq_set_desc(&d->vq, idx[1], bus + 16, 1, VIRTQ_DESC_F_WRITE);
    d->slot_head[s] = idx[0];
    d->head_slot[idx[0]] = (uint16_t)s;
    d->slot_busy[s] = true;
    d->inflight++;
    virtio_vq_publish(&d->vq, idx[0], 2);
    return 0;
}

/* Consume what the device used; false on a broken element. */
static bool vtest_reap_locked(struct vtest_dev *d, uint64_t *progress) {
    uint16_t head;
    uint32_t len;
    int r;
    while ((r = virtio_vq_next_used(&d->vq, &head, &len)) != HUSK_EAGAIN) {
        uint32_t s = r == 0 ? d->head_slot[head] : d->nslots;
        if (s >= d->nslots || !d->slot_busy[s] || d->slot_head[s] != head) {
            vtest_fail(HUSK_EIO);
            return false;
        }
        uint8_t st = ((volatile uint8_t *)d->hdr.ds_vaddr)[s * VTEST_HDR_BYTES + 16];
        if (st != 0 || len != 1) vtest_result->bad_completions++;
        d->slot_busy[s] = false;
        d->inflight--;
        vtest_result->completed++;
        (*progress)++;
    }
    return true;
}

/* Keep the queue full until `until` requests completed. */
static void vtest_load(struct vtest_dev *d, uint64_t until, uint64_t deadline) {
    uint64_t wait_ns = d->vp.polling ? 20 * GLUE_NS_PER_US : 100 * GLUE_NS_PER_MS;
    mutex_enter(&d->lock);
    while (vtest_result->completed < until) {
        uint64_t progress = 0;
        bool submitted = false;
        uint64_t want = until - vtest_result->completed;
        for (uint32_t s = 0; s < d->nslots && d->inflight < want; s++) {
            if (d->slot_busy[s]) continue;
            if (vtest_submit_locked(d, s) != 0) break;
            submitted = true;
        }
        if (submitted) virtio_vq_kick(&d->vq);
        if (!vtest_reap_locked(d, &progress)) break;
        if (glue_uptime_ns() > deadline) {
            vtest_fail(HUSK_ETIMEDOUT);
            break;
        }
        if (progress == 0 && !virtio_vq_used_pending(&d->vq)) cv_timedwait(&d->cv, &d->lock, wait_ns);
    }
    mutex_exit(&d->lock);
}

static void vtest_health(struct vtest_dev *d) {
    const char *why = virtio_health(&d->vp, NULL);
    glue_snprintf(vtest_result->health, sizeof vtest_result->health, "%s", why != NULL ? why : "healthy");
}

static void vtest_queue(struct vtest_dev *d) {
    const struct vtest_args *a = vtest_args;
    struct vtest_result *res = vtest_result;
    int r = virtio_pci_map(&d->vp, d->pa, 0);
    if (r == 0) r = virtio_vq_alloc(&d->vp, &d->vq, 0, a->max_size, vtest_queue_intr, d);
    for (uint32_t i = 0; r == 0 && i < a->extra_queues && i < 2; i++)
        r = virtio_vq_alloc(&d->vp, &d->extra[i], (uint16_t)(1 + i), 4, vtest_queue_intr, d);
    if (r != 0) {
        vtest_fail(r);
        return;
    }
    virtio_intr_establish(&d->vp, a->intr_mode, vtest_config_intr, d);
    if ((r = vtest_bring_up(d)) != 0) {
        vtest_fail(r);
        return;
    }
    res->size = res->size_after_reset = d->vq.size;
    d->nslots = d->vq.size / 2;
    r = bus_dmamem_alloc(d->nslots * VTEST_HDR_BYTES, 64, 0, &d->hdr);
    if (r != 0) {
        vtest_fail(r);
        return;
    }
    d->hdr_allocated = true;

    uint64_t deadline = glue_uptime_ns() + VTEST_DEADLINE;
    for (uint32_t part = 0; part <= a->resets && res->status == 0; part++) {
        vtest_load(d, (uint64_t)a->requests * (part + 1) / (a->resets + 1), deadline);
        if (part == a->resets || res->status != 0) break;
        /* Nothing in flight: reset, look at the status, bring the same queue back. */
        (void)virtio_reset(&d->vp);
        vtest_health(d);
        if ((r = vtest_bring_up(d)) != 0) {
            vtest_fail(r);
            return;
        }
        res->size_after_reset = d->vq.size;
        for (uint32_t s = 0; s < d->nslots; s++) d->slot_busy[s] = false;
        d->inflight = 0;
    }
    if (a->wait_config_ms > 0 && res->status == 0) {
        __atomic_store_n(&vtest_config_wait, true, __ATOMIC_RELEASE);
        uint64_t end = glue_uptime_ns() + a->wait_config_ms * GLUE_NS_PER_MS;
        mutex_enter(&d->lock);
        /* A shared vector runs config on every queue interrupt too: wait
         * for a call that saw the status change. */
        while (d->needs_reset_calls == 0 && glue_uptime_ns() < end &&
               !(d->vp.polling && (virtio_get_status(&d->vp) & VIRTIO_STATUS_NEEDS_RESET)))
            cv_timedwait(&d->cv, &d->lock, GLUE_NS_PER_MS);
        mutex_exit(&d->lock);
        __atomic_store_n(&vtest_config_wait, false, __ATOMIC_RELEASE);
        vtest_health(d);
    }
    mutex_enter(&d->lock);
    res->avail_idx = d->vq.avail_idx;
    res->last_used = d->vq.last_used;
    res->num_free = d->vq.num_free;
    res->device_used_idx = __atomic_load_n((uint16_t *)(d->vq.used + VIRTQ_USED_IDX), __ATOMIC_ACQUIRE);
    res->queue_calls = d->queue_calls;
    res->config_calls = d->config_calls;
    res->needs_reset_calls = d->needs_reset_calls;
    mutex_exit(&d->lock);
    res->intr_kind = d->vp.intr_kind;
    res->intr_count = d->vp.intr_count;
    res->polling = d->vp.polling;
    res->no_interrupt = d->vq.no_interrupt;
    res->config_vector = d->vp.config_vector;
    res->queue_vector = d->vq.vector;
    res->interrupts = __atomic_load_n(&d->vp.interrupts, __ATOMIC_RELAXED);
}

/* ---- USED */

/* A used element the device never wrote, published as the device would. */
static void vtest_forge_used(struct virtio_vq *vq, uint16_t at, uint32_t id) {
    volatile struct virtq_used_elem *e =
        (volatile struct virtq_used_elem *)(vq->used + VIRTQ_USED_RING) + (at & (vq->size - 1));
    e->id = id;
    e->len = 0;
    __atomic_store_n((uint16_t *)(vq->used + VIRTQ_USED_IDX), (uint16_t)(at + 1), __ATOMIC_RELEASE);
}

static void vtest_used(struct vtest_dev *d) {
    struct vtest_result *res = vtest_result;
    int r = virtio_pci_map(&d->vp, d->pa, 0);
    if (r == 0) r = virtio_vq_alloc(&d->vp, &d->vq, 0, vtest_args->max_size, NULL, NULL);
    if (r != 0) {
        vtest_fail(r);
        return;
    }
    virtio_intr_establish(&d->vp, VIRTIO_INTR_POLL, NULL, NULL);
    if ((r = vtest_bring_up(d)) != 0) {
        vtest_fail(r);
        return;
    }
    struct virtio_vq *vq = &d->vq;
    res->size = vq->size;
    d->nslots = 1;
    if ((r = bus_dmamem_alloc(VTEST_HDR_BYTES, 64, 0, &d->hdr)) != 0) {
        vtest_fail(r);
        return;
    }
    d->hdr_allocated = true;
    uint16_t all[VIRTQ_SIZE_MAX];

    mutex_enter(&d->lock);
    /* Every descriptor, then one too many; all back. */
    res->alloc_all = virtio_vq_alloc_chain(vq, vq->size, all);
    res->alloc_one_more = virtio_vq_alloc_chain(vq, 1, all);
    if (res->alloc_all == 0) virtio_vq_free_chain(vq, all[0], vq->size);
    res->num_free = vq->num_free;
    /* A real request, then the device returning its head a second time. */
    r = vtest_submit_locked(d, 0);
    mutex_exit(&d->lock);
    if (r != 0) {
        vtest_fail(r);
        return;
    }
    virtio_vq_kick(vq);
    uint64_t progress = 0, deadline = glue_uptime_ns() + 10 * GLUE_NS_PER_S;
    mutex_enter(&d->lock);
    while (progress == 0 && res->status == 0 && glue_uptime_ns() < deadline) {
        if (!vtest_reap_locked(d, &progress)) break;
        if (progress == 0) cv_timedwait(&d->cv, &d->lock, 50 * GLUE_NS_PER_US);
    }
    if (progress == 0) vtest_fail(HUSK_ETIMEDOUT);
    uint16_t head = d->slot_head[0];
    /* The same head again, an id past the ring, a descriptor never published. */
    vtest_forge_used(vq, vq->last_used, head);
    res->forged[0] = virtio_vq_next_used(vq, &res->forged_head[0], &(uint32_t){0});
    vtest_forge_used(vq, vq->last_used, 0xffffu);
    res->forged[1] = virtio_vq_next_used(vq, &res->forged_head[1], &(uint32_t){0});
    vtest_forge_used(vq, vq->last_used, (uint32_t)(head + 2) & (vq->size - 1u));
    res->forged[2] = virtio_vq_next_used(vq, &res->forged_head[2], &(uint32_t){0});
    uint16_t ignored;
    res->after_forged = virtio_vq_next_used(vq, &ignored, &(uint32_t){0});
    res->num_free = vq->num_free;
    res->last_used = vq->last_used;
    res->avail_idx = vq->avail_idx;
    mutex_exit(&d->lock);
}

/* ---- the driver */

static int vtest_attach(struct pci_attach_args *pa, void **softc_out) {
    struct vtest_dev *d = kmem_zalloc(sizeof *d, KM_SLEEP);
    d->pa = pa;
    *softc_out = d;
    vtest_result->attached++;
    glue_pci_enable(pa, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    int r = mutex_init(&d->lock, "vtest");
    if (r == 0) r = cv_init(&d->cv, "vtest");
    if (r != 0) {
        vtest_fail(r);
        return 0;
    }
    switch (vtest_args->kind) {
    case VTEST_MAP: vtest_map(d); break;
    case VTEST_NEGOTIATE: vtest_negotiate(d); break;
    case VTEST_QUEUE: vtest_queue(d); break;
    case VTEST_USED: vtest_used(d); break;
    default: vtest_fail(HUSK_EINVAL);
    }
    return 0;
}

static void vtest_detach(void *softc) {
    struct vtest_dev *d = softc;
    if (d->vp.common != NULL) (void)virtio_reset(&d->vp);
    virtio_intr_disestablish(&d->vp);
    for (unsigned i = 0; i < 2; i++) virtio_vq_free(&d->extra[i]);
    virtio_vq_free(&d->vq);
    virtio_pci_unmap(&d->vp);
    if (d->hdr_allocated) bus_dmamem_free(&d->hdr);
    if (d->cv.cv_handle != 0) cv_destroy(&d->cv);
    if (d->lock.mtx_handle != 0) mutex_destroy(&d->lock);
    kmem_free(d, sizeof *d);
}

static const struct pci_device_id vtest_ids[] = {
    {PCI_ANY_ID, PCI_ANY_ID},
    PCI_ID_END,
};

static const struct pci_driver vtest_driver = {
    .name = "vtest",
    .ids = vtest_ids,
    .attach = vtest_attach,
    .detach = vtest_detach,
};

int32_t vtest_run(const struct vtest_args *args, struct vtest_result *result) {
    memset(result, 0, sizeof *result);
    vtest_args = args;
    vtest_result = result;
    int r = pci_driver_register(&vtest_driver, NULL);
    if (r == 0) pci_driver_unregister(&vtest_driver);
    vtest_args = NULL;
    vtest_result = NULL;
    return r;
}
