/*
 * vblk_attach.c — bringing one virtio-blk device up and down: transport
 * mapping, the status handshake and feature negotiation (VIRTIO 1.x, 3.1),
 * interrupts (MSI-X, INTx, or a polling thread), the disk registration;
 * the reset path that brings a device back after DEVICE_NEEDS_RESET; and
 * detach, which undoes everything in reverse.
 */
#include "vblk_regs.h"
#include "vblk_private.h"

HUSK_PRIVATE unsigned vblk_next_unit;

/* Features this driver understands (and so may accept when offered). */
#define VBLK_DRIVER_FEATURES                                                                        \
    (VIRTIO_F_VERSION_1 | VIRTIO_F_ACCESS_PLATFORM | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | \
     VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_RO)

static void vblk_fail_device(struct vblk_softc *sc) { vblk_set_status(sc, vblk_get_status(sc) | VIRTIO_STATUS_FAILED); }

/* 3.1.1 device initialisation, from reset to DRIVER_OK. first: also read
 * the configuration, size the queue and allocate the request slots. The
 * rings are reinitialised either way; nothing may be in flight. */
int vblk_device_init(struct vblk_softc *sc, bool first) {
    const char *addr = sc->pa->pa_id.address;
    vblk_device_reset(sc);
    vblk_set_status(sc, VIRTIO_STATUS_ACKNOWLEDGE);
    vblk_set_status(sc, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);

    sc->dev_features = vblk_read_device_features(sc);
    if (!(sc->dev_features & VIRTIO_F_VERSION_1)) {
        glue_dev_logf(LOG_ERR, addr,
                      "the device does not offer VIRTIO_F_VERSION_1 (features 0x%llx): "
                      "legacy virtio is not supported",
                      (unsigned long long)sc->dev_features);
        vblk_fail_device(sc);
        return HUSK_ENODEV;
    }
    sc->features = sc->dev_features & VBLK_DRIVER_FEATURES;
    vblk_write_driver_features(sc, sc->features);
    vblk_set_status(sc, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (!(vblk_get_status(sc) & VIRTIO_STATUS_FEATURES_OK)) {
        glue_dev_logf(LOG_ERR, addr, "the device refused features 0x%llx (FEATURES_OK not kept)",
                      (unsigned long long)sc->features);
        vblk_fail_device(sc);
        return HUSK_ENODEV;
    }
    if (first) {
        int r = vblk_read_config(sc);
        if (r != 0) {
            vblk_fail_device(sc);
            return r;
        }
    }

    uint16_t qvec = VIRTIO_MSI_NO_VECTOR;
    if (sc->intr_kind == HUSK_IRQ_MSIX) {
        bus_space_write_2(sc->common, VIRTIO_COMMON_MSIX, 0);
        uint16_t got = bus_space_read_2(sc->common, VIRTIO_COMMON_MSIX);
        if (got != 0) {
            glue_dev_logf(LOG_ERR, addr, "the device refused MSI-X vector 0 for configuration changes (reads 0x%x)",
                          got);
            vblk_fail_device(sc);
            return HUSK_EIO;
        }
        qvec = sc->intr_count >= 2 ? 1 : 0;
    }
    int r = vblk_vq_setup(sc, qvec);
    if (r == 0 && first) r = vblk_io_alloc(sc);
    if (r != 0) {
        vblk_fail_device(sc);
        return r;
    }
    mutex_enter(&sc->lock);
    vblk_slots_init_locked(sc);
    mutex_exit(&sc->lock);
    vblk_set_status(sc, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                            VIRTIO_STATUS_DRIVER_OK);
    uint8_t st = vblk_get_status(sc);
    if ((st & VIRTIO_STATUS_DRIVER_OK) == 0 || (st & VIRTIO_STATUS_NEEDS_RESET)) {
        glue_dev_logf(LOG_ERR, addr, "device status 0x%02x after DRIVER_OK", st);
        return HUSK_EIO;
    }
    return 0;
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
    vblk_device_reset(sc);
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

static void vblk_intr_release(struct vblk_softc *sc) {
    for (unsigned i = 0; i < sc->nih; i++) pci_intr_disestablish(sc->pa, sc->ih[i]);
    sc->nih = 0;
}

/* MSI-X (vector 0 configuration, 1 queue) or INTx; with neither, or with
 * poll=1, a polling thread. */
static int vblk_setup_intr(struct vblk_softc *sc) {
    const char *addr = sc->pa->pa_id.address;
    if (vblk_params.poll) {
        sc->polling = true;
        glue_dev_logf(LOG_INFO, addr, "polling the used ring (parameter poll=1)");
        return 0;
    }
    uint32_t kinds = vblk_params.intx ? HUSK_IRQ_INTX : HUSK_IRQ_MSIX | HUSK_IRQ_INTX;
    int r = pci_intr_alloc(sc->pa, kinds, 2, &sc->intr_kind, &sc->intr_count);
    if (r != 0) {
        glue_dev_logf(LOG_WARN, addr, "no interrupt (%s): polling the used ring instead", glue_strerror(r));
        sc->intr_kind = 0;
        sc->polling = true;
        return 0;
    }
    if (sc->intr_kind == HUSK_IRQ_MSIX && sc->intr_count >= 2) {
        r = pci_intr_establish(sc->pa, 0, vblk_intr_config, sc, &sc->ih[sc->nih]);
        if (r == 0) sc->nih++;
        if (r == 0) r = pci_intr_establish(sc->pa, 1, vblk_intr_queue, sc, &sc->ih[sc->nih]);
        if (r == 0) sc->nih++;
    } else if (sc->intr_kind == HUSK_IRQ_MSIX) {
        r = pci_intr_establish(sc->pa, 0, vblk_intr_queue, sc, &sc->ih[sc->nih]);
        if (r == 0) sc->nih++;
    } else if (sc->intr_kind == HUSK_IRQ_INTX) {
        r = pci_intr_establish(sc->pa, 0, vblk_intr_intx, sc, &sc->ih[sc->nih]);
        if (r == 0) sc->nih++;
    } else {
        r = HUSK_ENOTSUP;
    }
    if (r != 0) {
        glue_dev_logf(LOG_WARN, addr, "cannot establish interrupt handlers (%s): polling the used ring instead",
                      glue_strerror(r));
        vblk_intr_release(sc);
        sc->intr_kind = 0;
        sc->polling = true;
        return 0;
    }
    glue_dev_logf(LOG_INFO, addr, "using %s interrupts (%u vector(s))",
                  sc->intr_kind == HUSK_IRQ_MSIX ? "MSI-X" : "INTx", sc->intr_count);
    return 0;
}

static int vblk_start_poller(struct vblk_softc *sc) {
    if (!sc->polling) return 0;
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
    sc->disk.info.flags = ((sc->features & VIRTIO_BLK_F_RO) ? DISK_F_READONLY : 0) |
                          ((sc->features & VIRTIO_BLK_F_FLUSH) ? DISK_F_FLUSH : 0);
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
    if (r == 0) r = vblk_pci_map(sc);
    if (r == 0) r = vblk_vq_alloc(sc);
    if (r == 0) r = vblk_setup_intr(sc);
    if (r == 0) r = vblk_device_init(sc, true);
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
                  (unsigned long long)sc->capacity, (sc->features & VIRTIO_BLK_F_RO) ? ", read-only" : "",
                  (sc->features & VIRTIO_BLK_F_FLUSH) ? ", flush" : "", sc->qsize, sc->nslots, sc->max_transfer,
                  sc->polling                      ? "polling"
                  : sc->intr_kind == HUSK_IRQ_MSIX ? "MSI-X"
                                                   : "INTx");
    glue_dev_logf(LOG_DEBUG, pa->pa_id.address, "features offered 0x%llx, accepted 0x%llx, seg_max %u",
                  (unsigned long long)sc->dev_features, (unsigned long long)sc->features, sc->seg_max);
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
    if (sc->common != NULL) vblk_device_reset(sc); /* no DMA from here on */
    if (sc->lock.mtx_handle != 0 && sc->nslots > 0)
        vblk_fail_inflight(sc, HUSK_ENODEV); /* none after unregister; defensive */
    vblk_intr_release(sc);
    vblk_stop_poller(sc);
    vblk_io_free(sc);
    vblk_vq_free(sc);
    vblk_pci_unmap(sc);
    if (sc->cv.cv_handle != 0) cv_destroy(&sc->cv);
    if (sc->lock.mtx_handle != 0) mutex_destroy(&sc->lock);
    glue_dev_logf(LOG_INFO, sc->pa->pa_id.address,
                  "detached%s%s after %llu request(s), %llu interrupt(s), %llu reset(s)", sc->name[0] ? " disk " : "",
                  sc->name, (unsigned long long)sc->completed, (unsigned long long)sc->interrupts,
                  (unsigned long long)sc->resets);
    kmem_free(sc, sizeof *sc);
}
