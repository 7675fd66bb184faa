/*
 * vnet_attach.c — bringing one virtio-net device up and down with the
 * virtio library: transport mapping, feature negotiation (VIRTIO 1.x,
 * 3.1), the receive and transmit queues and their buffers, interrupts
 * (MSI-X, INTx, or a polling thread), the interface in the NIC registry;
 * the reset path that brings a device back after DEVICE_NEEDS_RESET; and
 * detach, which undoes everything in reverse.
 */
#include "vnet_private.h"

HUSK_PRIVATE unsigned vnet_next_unit;

/* VERSION_1: no legacy virtio. ACCESS_PLATFORM: every address the driver
 * gives comes from bus_dma, and a device behind an IOMMU (QEMU with
 * iommu_platform, the sim) refuses a driver that does not accept it. The
 * optional ones are used when offered. */
#define VNET_REQUIRED_FEATURES (VIRTIO_F_VERSION_1 | VIRTIO_F_ACCESS_PLATFORM)
#define VNET_OPTIONAL_FEATURES (VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MRG_RXBUF)

/* 3.1.1 device initialisation, from reset to DRIVER_OK. first: also read
 * the configuration, size the queues and allocate the buffers. Receive
 * buffers the driver holds are posted before DRIVER_OK (step 7); the ring
 * is kicked after it. */
int vnet_device_init(struct vnet_softc *sc, bool first) {
    struct virtio_pci *vp = &sc->vp;
    virtio_init_begin(vp);
    int r = virtio_negotiate(vp, VNET_REQUIRED_FEATURES, VNET_OPTIONAL_FEATURES);
    if (r != 0) return r; /* logged, FAILED set */
    if (first) r = vnet_read_config(sc);
    if (r == 0) r = virtio_config_vector_set(vp);
    if (r == 0) r = virtio_vq_setup(&sc->rxq, (uint16_t)vnet_params.queue_size);
    if (r == 0) r = virtio_vq_setup(&sc->txq, (uint16_t)vnet_params.queue_size);
    if (r == 0 && first) r = vnet_rx_alloc(sc);
    if (r == 0 && first) r = vnet_tx_alloc(sc);
    if (r != 0) {
        virtio_fail(vp);
        return r;
    }
    mutex_enter(&sc->lock);
    vnet_rx_fill_locked(sc);
    mutex_exit(&sc->lock);
    r = virtio_init_end(vp);
    if (r == 0) virtio_vq_kick(&sc->rxq);
    return r;
}

/* The device is running again: post what came back meanwhile (a buffer
 * returned during the bring-up stayed free) and report the link. */
static void vnet_running(struct vnet_softc *sc) {
    mutex_enter(&sc->lock);
    sc->state = VNET_RUNNING;
    vnet_rx_fill_locked(sc);
    virtio_vq_kick(&sc->rxq);
    bool report = false;
    if (!(sc->vp.features & VIRTIO_NET_F_STATUS) && !sc->link_up) {
        sc->link_up = true;
        report = sc->registered;
    }
    mutex_exit(&sc->lock);
    if (report) glue_netif_link(&sc->nif, NETIF_LINK_UP);
    vnet_link_update(sc); /* with STATUS: the device says */
}

/* The device lost its state: reset it (no DMA after that), take back the
 * receive buffers it held, count the frames it had not sent, report the
 * link down, initialise it again. Thread context; one at a time (the
 * callouts that call it share the component's callout thread). */
void vnet_reset_path(struct vnet_softc *sc, const char *why) {
    const char *addr = sc->vp.name;
    mutex_enter(&sc->lock);
    sc->state = VNET_STOPPED; /* transmit says EAGAIN, the reapers stay out */
    sc->st.resets++;
    uint64_t n = sc->st.resets;
    mutex_exit(&sc->lock);
    glue_dev_logf(LOG_WARN, addr, "%s: resetting the device (reset %llu)", why, (unsigned long long)n);
    (void)virtio_reset(&sc->vp);
    mutex_enter(&sc->lock);
    vnet_rx_stop_locked(sc);
    vnet_tx_stop_locked(sc);
    bool was_up = sc->link_up;
    sc->link_up = false;
    bool report = was_up && sc->registered;
    mutex_exit(&sc->lock);
    if (report) glue_netif_link(&sc->nif, NETIF_LINK_DOWN);
    int r = vnet_device_init(sc, false);
    mutex_enter(&sc->lock);
    sc->reset_pending = false;
    if (r != 0) sc->state = VNET_FAILED;
    mutex_exit(&sc->lock);
    if (r == 0) {
        vnet_running(sc);
        glue_dev_logf(LOG_INFO, addr, "device reinitialised after reset %llu", (unsigned long long)n);
    } else {
        glue_dev_logf(LOG_ERR, addr, "the device did not come back after reset (%s): transmit fails with EIO",
                      glue_strerror(r));
    }
}

/* MSI-X (vector 0 configuration, 1 receive, 2 transmit), INTx, or with
 * poll=1 or neither available a polling thread (husk/virtio.h). */
static void vnet_setup_intr(struct vnet_softc *sc) {
    unsigned mode = VIRTIO_INTR_ANY;
    if (vnet_params.poll) {
        glue_dev_logf(LOG_INFO, sc->pa->pa_id.address, "polling the queues (parameter poll=1)");
        mode = VIRTIO_INTR_POLL;
    } else if (vnet_params.intx) {
        mode = VIRTIO_INTR_INTX;
    }
    virtio_intr_establish(&sc->vp, mode, vnet_config_changed, sc);
}

static int vnet_start_poller(struct vnet_softc *sc) {
    if (!sc->vp.polling) return 0;
    sc->poller_stop = false;
    int r = kthread_create("virtio_net-poll", vnet_poll_thread, sc, &sc->poller);
    if (r != 0) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "cannot start the polling thread: %s", glue_strerror(r));
        return r;
    }
    sc->poller_running = true;
    return 0;
}

static void vnet_stop_poller(struct vnet_softc *sc) {
    if (!sc->poller_running) return;
    mutex_enter(&sc->lock);
    sc->poller_stop = true;
    cv_broadcast(&sc->cv);
    mutex_exit(&sc->lock);
    kthread_join(sc->poller);
    sc->poller_running = false;
}

/* Offer the device as an interface: the parameter's name for the first
 * device, counting up for the next ones (a name already taken is skipped). */
static int vnet_register(struct vnet_softc *sc) {
    memcpy(sc->nif.info.mac, sc->mac, 6);
    sc->nif.info.mtu = VNET_MTU;
    sc->nif.info.offloads = 0;
    sc->nif.transmit = vnet_transmit;
    sc->nif.rx_return = vnet_rx_return;
    sc->nif.priv = sc;
    sc->nif.name = sc->name;
    int r = HUSK_EEXIST;
    for (unsigned tries = 0; tries < 16 && r == HUSK_EEXIST; tries++) {
        sc->unit = vnet_next_unit++;
        vnet_if_name(sc->unit, sc->name, sizeof sc->name);
        mutex_enter(&sc->lock);
        sc->nif.info.link = sc->link_up ? NETIF_LINK_UP : NETIF_LINK_DOWN;
        mutex_exit(&sc->lock);
        r = glue_netif_register(&sc->nif);
    }
    if (r != 0) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "cannot register interface %s: %s", sc->name, glue_strerror(r));
        return r;
    }
    /* From now on link changes are reported; one between the snapshot
     * above and here is caught by reading the status again. */
    mutex_enter(&sc->lock);
    sc->registered = true;
    mutex_exit(&sc->lock);
    vnet_link_update(sc);
    return 0;
}

static int vnet_sync_init(struct vnet_softc *sc) {
    int r = mutex_init(&sc->lock, "virtio_net");
    if (r != 0) return r;
    r = cv_init(&sc->cv, "virtio_net");
    if (r == 0) r = callout_init(&sc->health, vnet_health, sc);
    if (r == 0) r = callout_init(&sc->reset_co, vnet_reset_task, sc);
    return r;
}

int vnet_attach(struct pci_attach_args *pa, void **softc_out) {
    struct vnet_softc *sc = kmem_zalloc(sizeof *sc, KM_SLEEP);
    sc->pa = pa;
    sc->state = VNET_STOPPED;
    *softc_out = sc;

    /* Registers need memory decoding; the rings and buffers bus mastering. */
    glue_pci_enable(pa, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    int r = vnet_sync_init(sc);
    if (r == 0) r = virtio_pci_map(&sc->vp, pa, VIRTIO_NET_CFG_STATUS + 2);
    if (r == 0) r = virtio_vq_alloc(&sc->vp, &sc->rxq, VIRTIO_NET_RXQ, VNET_QUEUE_MAX, vnet_rx_intr, sc);
    if (r == 0) r = virtio_vq_alloc(&sc->vp, &sc->txq, VIRTIO_NET_TXQ, VNET_QUEUE_MAX, vnet_tx_intr, sc);
    if (r == 0) {
        vnet_setup_intr(sc);
        r = vnet_device_init(sc, true);
    }
    if (r == 0) r = vnet_start_poller(sc);
    if (r == 0) {
        vnet_running(sc);
        callout_schedule_periodic(&sc->health, VNET_HEALTH_NS);
        r = vnet_register(sc);
    }
    if (r != 0) {
        vnet_detach(sc);
        *softc_out = NULL;
        return r;
    }
    const uint8_t *m = sc->mac;
    glue_dev_logf(LOG_INFO, pa->pa_id.address,
                  "interface %s: MAC %02x:%02x:%02x:%02x:%02x:%02x, MTU %u, link %s, queues %u/%u, %s%s", sc->name,
                  m[0], m[1], m[2], m[3], m[4], m[5], VNET_MTU, sc->link_up ? "up" : "down", sc->rxq.size, sc->txq.size,
                  sc->vp.polling                      ? "polling"
                  : sc->vp.intr_kind == HUSK_IRQ_MSIX ? "MSI-X"
                                                      : "INTx",
                  (sc->vp.features & VIRTIO_NET_F_MRG_RXBUF) ? ", mergeable receive buffers" : "");
    glue_dev_logf(LOG_DEBUG, pa->pa_id.address, "features offered 0x%llx, accepted 0x%llx",
                  (unsigned long long)sc->vp.dev_features, (unsigned long long)sc->vp.features);
    return 0;
}

/* Also the unwinding of a failed attach: every step checks what exists.
 * Everything that may call into the registry (callouts, interrupt work,
 * the poller) stops before the interface is withdrawn; unregistering then
 * waits for the frames the consumer still holds, which come back through
 * rx_return and stay free. */
void vnet_detach(void *softc) {
    struct vnet_softc *sc = softc;
    if (sc == NULL) return;
    bool registered = false;
    if (sc->lock.mtx_handle != 0) {
        mutex_enter(&sc->lock);
        registered = sc->registered;
        sc->registered = false; /* no more link reports */
        sc->state = VNET_STOPPED;
        mutex_exit(&sc->lock);
    }
    if (sc->health.c_glue != NULL) callout_destroy(&sc->health);
    if (sc->reset_co.c_glue != NULL) callout_destroy(&sc->reset_co);
    virtio_intr_disestablish(&sc->vp);
    vnet_stop_poller(sc);
    /* Sends fail with ENODEV from now on; returns once no transmit is
     * running and every lent frame is back. */
    if (registered) glue_netif_unregister(&sc->nif);
    if (sc->vp.common != NULL) (void)virtio_reset(&sc->vp); /* no DMA from here on */
    vnet_rx_free(sc);
    vnet_tx_free(sc);
    virtio_vq_free(&sc->txq);
    virtio_vq_free(&sc->rxq);
    virtio_pci_unmap(&sc->vp);
    if (sc->cv.cv_handle != 0) cv_destroy(&sc->cv);
    if (sc->lock.mtx_handle != 0) mutex_destroy(&sc->lock);
    const struct vnet_stats *s = &sc->st;
    glue_dev_logf(LOG_INFO, sc->pa->pa_id.address,
                  "detached%s%s: received %llu frames (%llu bytes, %llu dropped, %llu errors), sent %llu frames "
                  "(%llu bytes, %llu busy, %llu lost), %llu link change(s), %llu interrupt(s), %llu reset(s)",
                  sc->name[0] ? " interface " : "", sc->name, (unsigned long long)s->rx_frames,
                  (unsigned long long)s->rx_bytes, (unsigned long long)s->rx_dropped, (unsigned long long)s->rx_errors,
                  (unsigned long long)s->tx_frames, (unsigned long long)s->tx_bytes, (unsigned long long)s->tx_busy,
                  (unsigned long long)s->tx_lost, (unsigned long long)s->link_changes,
                  (unsigned long long)sc->vp.interrupts, (unsigned long long)s->resets);
    kmem_free(sc, sizeof *sc);
}
