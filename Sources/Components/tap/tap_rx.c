#include "tap_private.h"

/* Take a free buffer, waiting while the consumer holds them all. NULL once
 * the component is stopping. */
static void *tap_take_buffer(struct tap_softc *sc) {
    mutex_enter(&sc->lock);
    while (sc->nfree == 0 && !sc->stopping) cv_wait(&sc->freed, &sc->lock);
    void *b = sc->stopping ? NULL : sc->free_list[--sc->nfree];
    mutex_exit(&sc->lock);
    return b;
}

static void tap_put_buffer(struct tap_softc *sc, void *b) {
    mutex_enter(&sc->lock);
    sc->free_list[sc->nfree++] = b;
    cv_signal(&sc->freed);
    mutex_exit(&sc->lock);
}

void tap_rx_return(void *priv, void *frame) { tap_put_buffer(priv, frame); }

/* Receive frames from the host and lend them to the consumer until the
 * device is closed (EBADF) or the thread is cancelled (EINTR). */
void tap_rx_loop(void *arg) {
    struct tap_softc *sc = arg;
    for (;;) {
        void *b = tap_take_buffer(sc);
        if (b == NULL) return;
        uint64_t len = 0;
        int32_t r = sc->hyp->frame_recv(sc->ctx, sc->dev, b, sc->frame_cap, &len, UINT64_MAX);
        if (r == HUSK_ERANGE || r == HUSK_ETIMEDOUT) {
            tap_put_buffer(sc, b);
            if (r == HUSK_ERANGE)
                glue_dev_logf(LOG_WARN, sc->tap_name, "dropped a frame of %llu bytes", (unsigned long long)len);
            continue;
        }
        if (r != HUSK_OK) {
            tap_put_buffer(sc, b);
            if (r != HUSK_EBADF && r != HUSK_EINTR)
                glue_dev_logf(LOG_ERR, sc->tap_name, "receive: %s", glue_strerror(r));
            return;
        }
        int lent = glue_netif_input(&sc->nif, b, (size_t)len);
        mutex_enter(&sc->lock);
        if (lent == 0)
            sc->rx_frames++;
        else
            sc->rx_dropped++;
        mutex_exit(&sc->lock);
        if (lent != 0) tap_put_buffer(sc, b); /* nobody took it: ours again */
    }
}
