/*
 * edu_selftest.c — attach-time proofs that the device really works through
 * this host: an interrupt raised by software arrives, and a DMA round trip
 * (two chunks, so the chunking is exercised) copies the right bytes. A
 * device that fails them is not offered to clients.
 */
#include "edu_regs.h"
#include "edu_private.h"

#define EDU_SELFTEST_TIMEOUT_NS (5ull * GLUE_NS_PER_S)

int edu_selftest_irq(struct edu_softc *sc) {
    mutex_enter(&sc->lock);
    sc->irq_bits_seen = 0;
    mutex_exit(&sc->lock);
    bus_space_write_4(sc->regs, EDU_REG_IRQ_RAISE, EDU_IRQ_SELFTEST);

    uint64_t deadline = glue_uptime_ns() + EDU_SELFTEST_TIMEOUT_NS;
    int r = 0;
    mutex_enter(&sc->lock);
    while (!(sc->irq_bits_seen & EDU_IRQ_SELFTEST)) {
        uint64_t now = glue_uptime_ns();
        if (now >= deadline) {
            r = HUSK_ETIMEDOUT;
            break;
        }
        cv_timedwait(&sc->cv, &sc->lock, deadline - now);
    }
    mutex_exit(&sc->lock);
    if (r != 0)
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "raised a test interrupt, none arrived within %llu s",
                      (unsigned long long)(EDU_SELFTEST_TIMEOUT_NS / GLUE_NS_PER_S));
    return r;
}

struct edu_wait {
    struct edu_softc *sc;
    bool finished;
    int status;
};

/* Completion of the self-test copy (irq context). */
static void edu_selftest_done(void *arg, int status) {
    struct edu_wait *w = arg;
    mutex_enter(&w->sc->lock);
    w->finished = true;
    w->status = status;
    cv_broadcast(&w->sc->cv);
    mutex_exit(&w->sc->lock);
}

int edu_selftest_dma(struct edu_softc *sc) {
    const uint64_t len = EDU_BUF_SIZE + 100; /* two chunks */
    bus_dma_segment_t seg;
    int r = bus_dmamem_alloc(2 * len, 0, EDU_DMA_LIMIT, &seg);
    if (r != 0) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "self-test: no DMA memory below 0x%llx: %s",
                      (unsigned long long)EDU_DMA_LIMIT, glue_strerror(r));
        return r;
    }
    uint8_t *src = seg.ds_vaddr, *dst = src + len;
    for (uint64_t i = 0; i < len; i++) src[i] = (uint8_t)(i * 7 + 3);
    bus_dmamap_t map = NULL;
    bus_dmamap_create(2 * len, EDU_DMA_LIMIT, &map);
    if (map == NULL || (r = bus_dmamap_load(map, src, 2 * len)) != 0) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "self-test: DMA map failed");
        r = HUSK_EINVAL;
        goto out;
    }
    bus_dmamap_sync(map, 0, 2 * len, BUS_DMASYNC_PREWRITE | BUS_DMASYNC_PREREAD);

    struct edu_wait w = {sc, false, 0};
    uint64_t bus = map->dm_segs[0].ds_addr;
    r = edu_dma_copy(sc, bus + len, bus, len, edu_selftest_done, &w);
    if (r == 0) {
        mutex_enter(&sc->lock);
        while (!w.finished) cv_wait(&sc->cv, &sc->lock); /* the watchdog bounds this */
        mutex_exit(&sc->lock);
        r = w.status;
    }
    bus_dmamap_sync(map, 0, 2 * len, BUS_DMASYNC_POSTWRITE | BUS_DMASYNC_POSTREAD);
    if (r == 0 && memcmp(src, dst, len) != 0) {
        uint64_t i = 0;
        while (src[i] == dst[i]) i++;
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "self-test: DMA copy differs at byte %llu (0x%02x, want 0x%02x)",
                      (unsigned long long)i, dst[i], src[i]);
        r = HUSK_EIO;
    } else if (r != 0) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "self-test: DMA copy failed: %s", glue_strerror(r));
    } else {
        glue_dev_logf(LOG_INFO, sc->pa->pa_id.address, "self-test: %llu-byte DMA round trip ok",
                      (unsigned long long)len);
    }
out:
    if (map != NULL) {
        bus_dmamap_unload(map);
        bus_dmamap_destroy(map);
    }
    bus_dmamem_free(&seg);
    return r;
}
