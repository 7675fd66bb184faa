/*
 * tap.c — the component: a host TAP interface (frame_open) registered as a
 * NIC. Frames the consumer sends go out with frame_send; a receive thread
 * lends frames from a pool of TAP_RX_BUFFERS buffers (netif.h ownership).
 */
#include "tap_private.h"

static struct tap_softc *tap_sc;

static int tap_transmit(void *priv, const void *frame, size_t len) {
    struct tap_softc *sc = priv;
    int32_t r = sc->hyp->frame_send(sc->ctx, sc->dev, frame, len);
    mutex_enter(&sc->lock);
    if (r == HUSK_OK)
        sc->tx_frames++;
    else
        sc->tx_errors++;
    mutex_exit(&sc->lock);
    return r;
}

static void tap_teardown(struct tap_softc *sc) {
    if (sc->registered) glue_netif_unregister(&sc->nif);
    mutex_enter(&sc->lock);
    sc->stopping = true;
    cv_broadcast(&sc->freed);
    mutex_exit(&sc->lock);
    if (sc->dev != 0) (void)sc->hyp->frame_close(sc->ctx, sc->dev); /* a waiting receive returns EBADF */
    if (sc->rx_started) (void)kthread_join(sc->rx);
    for (unsigned i = 0; i < TAP_RX_BUFFERS; i++)
        if (sc->buffers[i] != NULL) kmem_free(sc->buffers[i], sc->frame_cap);
    cv_destroy(&sc->freed);
    mutex_destroy(&sc->lock);
    kmem_free(sc, sizeof *sc);
}

static int32_t tap_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
    if (!(hyp->features & HUSK_FEAT_FRAME)) {
        glue_logf(LOG_ERR, "backend %s has no frame devices (HUSK_FEAT_FRAME: /dev/net/tun)", hyp->backend);
        return HUSK_ENODEV;
    }
    struct tap_softc *sc = kmem_zalloc(sizeof *sc, KM_SLEEP);
    sc->ctx = ctx;
    sc->hyp = hyp;
    int error = tap_params_load(sc);
    if (error == 0) error = mutex_init(&sc->lock, "tap");
    if (error != 0) {
        kmem_free(sc, sizeof *sc);
        return error;
    }
    if ((error = cv_init(&sc->freed, "tap-freed")) != 0) {
        mutex_destroy(&sc->lock);
        kmem_free(sc, sizeof *sc);
        return error;
    }
    error = hyp->frame_open(ctx, sc->tap_name, sc->create ? HUSK_FRAME_CREATE : 0, &sc->dev, &sc->info);
    if (error != 0) {
        glue_dev_logf(LOG_ERR, sc->tap_name, "cannot open the TAP interface: %s%s", glue_strerror(error),
                      error == HUSK_ENOENT ? " (create it, or pass --param tap.create=1)" : "");
        sc->dev = 0;
        tap_teardown(sc);
        return error;
    }
    sc->frame_cap = NETIF_HEADER_LEN + NETIF_VLAN_LEN + sc->info.mtu;
    for (unsigned i = 0; i < TAP_RX_BUFFERS; i++) {
        sc->buffers[i] = kmem_alloc(sc->frame_cap, KM_SLEEP);
        sc->free_list[sc->nfree++] = sc->buffers[i];
    }
    sc->nif.name = sc->if_name;
    memcpy(sc->nif.info.mac, sc->info.mac, 6);
    sc->nif.info.mtu = sc->info.mtu;
    sc->nif.info.link = NETIF_LINK_UP;
    sc->nif.transmit = tap_transmit;
    sc->nif.rx_return = tap_rx_return;
    sc->nif.priv = sc;
    if ((error = glue_netif_register(&sc->nif)) != 0) {
        glue_dev_logf(LOG_ERR, sc->tap_name, "cannot register interface '%s': %s", sc->if_name, glue_strerror(error));
        tap_teardown(sc);
        return error;
    }
    sc->registered = true;
    if ((error = kthread_create("tap-rx", tap_rx_loop, sc, &sc->rx)) != 0) {
        glue_dev_logf(LOG_ERR, sc->tap_name, "cannot start the receive thread: %s", glue_strerror(error));
        tap_teardown(sc);
        return error;
    }
    sc->rx_started = true;
    const uint8_t *m = sc->info.mac;
    glue_dev_logf(LOG_INFO, sc->tap_name, "interface %s: MAC %02x:%02x:%02x:%02x:%02x:%02x, MTU %u", sc->if_name, m[0],
                  m[1], m[2], m[3], m[4], m[5], sc->info.mtu);
    tap_sc = sc;
    return 0;
}

static void tap_fini(husk_ctx *ctx) {
    struct tap_softc *sc = tap_sc;
    if (sc == NULL) return;
    glue_dev_logf(LOG_INFO, sc->tap_name, "%llu frames received (%llu dropped), %llu sent (%llu errors)",
                  (unsigned long long)sc->rx_frames, (unsigned long long)sc->rx_dropped,
                  (unsigned long long)sc->tx_frames, (unsigned long long)sc->tx_errors);
    tap_teardown(sc);
    tap_sc = NULL;
}

HUSK_COMPONENT(tap) = {
    .abi_major = HUSK_ABI_MAJOR,
    .abi_minor = 1,
    .name = "tap",
    .description = "a host TAP interface as a NIC in the glue's registry (parameters name, ifname, create)",
    .kind = HUSK_KIND_DRIVER,
    .init = tap_init,
    .fini = tap_fini,
};
