/*
 * vnet_health.c — keeping a device running: configuration changes (link
 * status, DEVICE_NEEDS_RESET) from the interrupt work, a periodic health
 * check that catches what no interrupt announced, the callout that runs
 * the reset path in thread context, and the polling thread used when there
 * are no interrupts.
 */
#include "vnet_private.h"

/* Ask for the reset path (it runs on the callout thread). Lock held; the
 * first reason wins. */
void vnet_schedule_reset_locked(struct vnet_softc *sc, const char *why) {
    if (sc->reset_pending || sc->state != VNET_RUNNING) return;
    sc->reset_pending = true;
    sc->reset_why = why;
    callout_schedule(&sc->reset_co, 0);
}

/* A configuration change (irq context, from the virtio library's
 * handlers; with a shared vector also after queue interrupts):
 * DEVICE_NEEDS_RESET starts the reset path, anything else may be the link. */
void vnet_config_changed(void *arg) {
    struct vnet_softc *sc = arg;
    uint8_t st = virtio_get_status(&sc->vp);
    if (st & VIRTIO_STATUS_NEEDS_RESET) {
        mutex_enter(&sc->lock);
        bool first = !sc->reset_pending && sc->state == VNET_RUNNING;
        vnet_schedule_reset_locked(sc, "DEVICE_NEEDS_RESET (configuration interrupt)");
        mutex_exit(&sc->lock);
        if (first) glue_dev_logf(LOG_ERR, sc->vp.name, "device status 0x%02x: DEVICE_NEEDS_RESET; resetting", st);
        return;
    }
    vnet_link_update(sc);
}

/* The reset callout: scheduled by interrupt work or a reaper that found
 * the device in trouble. Thread context. */
void vnet_reset_task(void *arg) {
    struct vnet_softc *sc = arg;
    mutex_enter(&sc->lock);
    bool pending = sc->reset_pending;
    const char *why = sc->reset_why;
    mutex_exit(&sc->lock);
    if (pending) vnet_reset_path(sc, why != NULL ? why : "reset requested");
}

/* Periodic, on the component's callout thread (as the reset callout, so
 * the two never run at once): a device that needs a reset or lost
 * DRIVER_OK goes through the reset path; otherwise the link is read (a
 * change without an interrupt when polling), and when polling, both
 * queues are looked at once more. */
void vnet_health(void *arg) {
    struct vnet_softc *sc = arg;
    mutex_enter(&sc->lock);
    bool running = sc->state == VNET_RUNNING && !sc->reset_pending;
    mutex_exit(&sc->lock);
    if (!running) return;
    const char *why = virtio_health(&sc->vp, NULL);
    if (why != NULL) {
        vnet_reset_path(sc, why);
        return;
    }
    vnet_link_update(sc);
    if (sc->vp.polling) {
        (void)vnet_rx_reap(sc);
        mutex_enter(&sc->lock);
        (void)vnet_tx_reclaim_locked(sc);
        mutex_exit(&sc->lock);
    }
}

/* Polling mode: frames may arrive at any time, so the thread never stops
 * looking; it looks often right after traffic and backs off (doubling the
 * pause, up to VNET_POLL_IDLE_NS) while there is none. A transmit wakes it. */
void vnet_poll_thread(void *arg) {
    struct vnet_softc *sc = arg;
    uint64_t pause = VNET_POLL_BUSY_NS;
    mutex_enter(&sc->lock);
    while (!sc->poller_stop) {
        mutex_exit(&sc->lock);
        unsigned work = vnet_rx_reap(sc);
        mutex_enter(&sc->lock);
        work += vnet_tx_reclaim_locked(sc);
        if (work > 0 || sc->tx_inflight > 0) {
            pause = VNET_POLL_BUSY_NS;
        } else if (pause < VNET_POLL_IDLE_NS) {
            pause *= 2;
        }
        if (!sc->poller_stop) cv_timedwait(&sc->cv, &sc->lock, pause);
    }
    mutex_exit(&sc->lock);
}
