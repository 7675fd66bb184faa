/*
 * vblk_attach.c — bringing one virtio-blk device up and down with the
 * virtio library: transport mapping, the status handshake and feature
 * negotiation (VIRTIO 1.x, 3.1), interrupts (MSI-X, INTx, or a polling
 * thread), the disk registration;
 * the reset path that brings a device back after DEVICE_NEEDS_RESET; and
 * detach, which undoes everything in reverse.
 */
#include "vblk_regs.h"
#include "vblk_private.h"

HUSK_PRIVATE unsigned vblk_next_unit;

/* Features: VERSION_1 is required (no legacy virtio); the rest is
 * accepted when offered. ACCESS_PLATFORM is safe to accept because every
 * address the driver gives comes from bus_dma. */
#define VBLK_REQUIRED_FEATURES VIRTIO_F_VERSION_1
#define VBLK_OPTIONAL_FEATURES \
    (VIRTIO_F_ACCESS_PLATFORM | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_RO)

/* 3.1.1 device initialisation, from reset to DRIVER_OK. first: also read
 * the configuration, size the queue and allocate the request slots. The
 * rings are reinitialised either way; nothing may be in flight. */
int vblk_device_init(struct vblk_softc *sc, bool first) {
    struct virtio_pci *vp = &sc->vp;
    virtio_init_begin(vp);
    int r = virtio_negotiate(vp, VBLK_REQUIRED_FEATURES, VBLK_OPTIONAL_FEATURES);
    if (r != 0) return r; /* logged, FAILED set */
    if (first) r = vblk_read_config(sc);
    if (r == 0) r = virtio_config_vector_set(vp);
    if (r == 0) r = virtio_vq_setup(&sc->vq, (uint16_t)vblk_params.queue_size);
    if (r == 0 && first) r = vblk_io_alloc(sc);
    if (r != 0) {
        virtio_fail(vp);
        return r;
    }
    mutex_enter(&sc->lock);
    vblk_slots_init_locked(sc);
    mutex_exit(&sc->lock);
    return virtio_init_end(vp);
}

/* The device lost its state: reset it (no DMA after that), fail what was in
 * flight with EIO, initialise it again. Thread context; one at a time (the
 * callouts that call it share the component's callout thread). */
void vblk_reset_path(struct vblk_softc *sc, const char *why) {
    const char *addr = sc->pa->pa_id.address;
    mutex_enter(&sc->lock);
    sc->state = VBLK_STOPPED; /* submit says EAGAIN, the reaper stays out */
    sc->resets++;
    uint64_t n = sc->resets;
    mutex_exit(&sc->lock);
    glue_dev_logf(LOG_WARN, addr, "%s: resetting the device (reset %llu)", why, (unsigned long long)n);
    (void)virtio_reset(&sc->vp); /* no DMA after it; a slow device is logged */
    vblk_fail_inflight(sc, HUSK_EIO);
    int r = vblk_device_init(sc, false);
    mutex_enter(&sc->lock);
    sc->reset_pending = false;
    sc->state = r == 0 ? VBLK_RUNNING : VBLK_FAILED;
    mutex_exit(&sc->lock);
    if (r == 0)
        glue_dev_logf(LOG_INFO, addr, "device reinitialised after reset %llu", (unsigned long long)n);
    else
        glue_dev_logf(LOG_ERR, addr, "the device did not come back after reset (%s): requests fail with EIO",
                      glue_strerror(r));
}

/* MSI-X (vector 0 configuration, 1 the queue), INTx, or with poll=1 or
 * neither available a polling thread (husk/virtio.h). */
static void vblk_setup_intr(struct vblk_softc *sc) {
    unsigned mode = VIRTIO_INTR_ANY;
    if (vblk_params.poll) {
        glue_dev_logf(LOG_INFO, sc->pa->pa_id.address, "polling the used ring (parameter poll=1)");
        mode = VIRTIO_INTR_POLL;
    } else if (vblk_params.intx) {
        mode = VIRTIO_INTR_INTX;
    }
    virtio_intr_establish(&sc->vp, mode, vblk_config_changed, sc);
}

static int vblk_start_poller(struct vblk_softc *sc) {
    if (!sc->vp.polling) return 0;
    sc->poller_stop = false;
    int r = kthread_create("virtio_blk-poll", vblk_poll_thread, sc, &sc->poller);
    if (r != 0) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "cannot start the polling thread: %s", glue_strerror(r));
        return r;
    }
    sc->poller_running = true;
    return 0;
}

static void vblk_stop_poller(struct vblk_softc *sc) {
    if (!sc->poller_running) return;
    mutex_enter(&sc->lock);
    sc->poller_stop = true;
    cv_broadcast(&sc->cv);
    mutex_exit(&sc->lock);
    kthread_join(sc->poller);
    sc->poller_running = false;
}

/* Offer the device as a disk: the parameter's name for the first device,
 * counting up for the next ones (a name already taken is skipped). */
static int vblk_register_disk(struct vblk_softc *sc) {
    sc->disk.info.block_size = sc->blk_size;
    sc->disk.info.block_count = sc->capacity * VIRTIO_BLK_SECTOR_SIZE / sc->blk_size;
    sc->disk.info.flags = ((sc->vp.features & VIRTIO_BLK_F_RO) ? DISK_F_READONLY : 0) |
                          ((sc->vp.features & VIRTIO_BLK_F_FLUSH) ? DISK_F_FLUSH : 0);
    sc->disk.info.max_transfer = sc->max_transfer;
    sc->disk.info.queue_depth = sc->nslots;
    sc->disk.submit = vblk_submit;
    sc->disk.priv = sc;
    sc->disk.name = sc->name;
    int r = HUSK_EEXIST;
    for (unsigned tries = 0; tries < 16 && r == HUSK_EEXIST; tries++) {
        sc->unit = vblk_next_unit++;
        vblk_disk_name(sc->unit, sc->name, sizeof sc->name);
        r = disk_register(&sc->disk);
    }
    if (r != 0) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "cannot register disk %s: %s", sc->name, glue_strerror(r));
        return r;
    }
    sc->disk_registered = true;
    return 0;
}

static int vblk_sync_init(struct vblk_softc *sc) {
    int r = mutex_init(&sc->lock, "virtio_blk");
    if (r != 0) return r;
    r = cv_init(&sc->cv, "virtio_blk");
    if (r == 0) r = callout_init(&sc->health, vblk_health, sc);
    if (r == 0) r = callout_init(&sc->reset_co, vblk_reset_task, sc);
    return r;
}

int vblk_attach(struct pci_attach_args *pa, void **softc_out) {
    struct vblk_softc *sc = kmem_zalloc(sizeof *sc, KM_SLEEP);
    sc->pa = pa;
    sc->state = VBLK_STOPPED;
    *softc_out = sc;

    /* Registers need memory decoding; the rings and buffers bus mastering. */
    glue_pci_enable(pa, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    int r = vblk_sync_init(sc);
    if (r == 0) r = virtio_pci_map(&sc->vp, pa, VIRTIO_BLK_CFG_BLK_SIZE + 4);
    if (r == 0) r = virtio_vq_alloc(&sc->vp, &sc->vq, 0, VBLK_QUEUE_MAX, vblk_queue_intr, sc);
    if (r == 0) {
        vblk_setup_intr(sc);
        r = vblk_device_init(sc, true);
    }
    if (r == 0) r = vblk_start_poller(sc);
    if (r == 0) {
        mutex_enter(&sc->lock);
        sc->state = VBLK_RUNNING;
        mutex_exit(&sc->lock);
        callout_schedule_periodic(&sc->health, VBLK_HEALTH_NS);
        r = vblk_register_disk(sc);
    }
    if (r != 0) {
        vblk_detach(sc);
        *softc_out = NULL;
        return r;
    }
    glue_dev_logf(LOG_INFO, pa->pa_id.address,
                  "disk %s: %llu blocks of %u bytes (%llu sectors)%s%s, queue %u, "
                  "%u requests of up to %u bytes in flight, %s",
                  sc->name, (unsigned long long)sc->disk.info.block_count, sc->blk_size,
                  (unsigned long long)sc->capacity, (sc->vp.features & VIRTIO_BLK_F_RO) ? ", read-only" : "",
                  (sc->vp.features & VIRTIO_BLK_F_FLUSH) ? ", flush" : "", sc->vq.size, sc->nslots, sc->max_transfer,
                  sc->vp.polling                      ? "polling"
                  : sc->vp.intr_kind == HUSK_IRQ_MSIX ? "MSI-X"
                                                      : "INTx");
    glue_dev_logf(LOG_DEBUG, pa->pa_id.address, "features offered 0x%llx, accepted 0x%llx, seg_max %u",
                  (unsigned long long)sc->vp.dev_features, (unsigned long long)sc->vp.features, sc->seg_max);
    return 0;
}

/* Also the unwinding of a failed attach: every step checks what exists. */
void vblk_detach(void *softc) {
    struct vblk_softc *sc = softc;
    if (sc == NULL) return;
    if (sc->disk_registered) {
        /* New submissions fail with ENODEV; waits for the ones accepted
         * (interrupts, the poller and the reset path keep completing them). */
        disk_unregister(&sc->disk);
        sc->disk_registered = false;
    }
    if (sc->health.c_glue != NULL) callout_destroy(&sc->health);
    if (sc->reset_co.c_glue != NULL) callout_destroy(&sc->reset_co);
    if (sc->lock.mtx_handle != 0) {
        mutex_enter(&sc->lock);
        sc->state = VBLK_STOPPED;
        mutex_exit(&sc->lock);
    }
    if (sc->vp.common != NULL) (void)virtio_reset(&sc->vp); /* no DMA from here on */
    if (sc->lock.mtx_handle != 0 && sc->nslots > 0)
        vblk_fail_inflight(sc, HUSK_ENODEV); /* none after unregister; defensive */
    virtio_intr_disestablish(&sc->vp);
    vblk_stop_poller(sc);
    vblk_io_free(sc);
    virtio_vq_free(&sc->vq);
    virtio_pci_unmap(&sc->vp);
    if (sc->cv.cv_handle != 0) cv_destroy(&sc->cv);
    if (sc->lock.mtx_handle != 0) mutex_destroy(&sc->lock);
    glue_dev_logf(LOG_INFO, sc->pa->pa_id.address,
                  "detached%s%s after %llu request(s), %llu interrupt(s), %llu reset(s)", sc->name[0] ? " disk " : "",
                  sc->name, (unsigned long long)sc->completed, (unsigned long long)sc->vp.interrupts,
                  (unsigned long long)sc->resets);
    kmem_free(sc, sizeof *sc);
}
