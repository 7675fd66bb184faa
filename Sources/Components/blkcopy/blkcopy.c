/*
 * blkcopy — copy one block device (or host file) to another through DMA
 * buffers, offloading the memory copy to a DMA engine when a driver offers
 * one (dmaengine.h), then verify the result with CRC32C.
 *
 * This file: the descriptor, init/run/fini, opening the devices, choosing
 * the engine, and allocating / releasing the DMA buffers. The pipeline is
 * in blkcopy_pipeline.c, the parameters in blkcopy_params.c. docs/
 * components.md describes the component for its users.
 *
 * Lifetime: init reads the parameters and creates the lock and condition
 * variable; run opens, allocates, copies, verifies and releases everything
 * it took; fini releases whatever is left and destroys the lock. One
 * instance per process (the state is a static pointer: run and fini get
 * only the ctx).
 *
 * Log lines carry no "blkcopy: " prefix: the host tags every line with the
 * component's name, so they read "[info] blkcopy: copied ...".
 */
#include "husk_component_blkcopy.h"
#include "blkcopy_private.h"

static struct blkcopy_softc *blkcopy_sc;

/* ---- Devices. */

static int32_t blkcopy_open(struct blkcopy_softc *sc) {
    struct husk_blk_info si, di;
    int32_t r = sc->hyp->blk_open(sc->ctx, sc->src, HUSK_BLK_RDONLY, &sc->src_blk, &si);
    if (r != HUSK_OK) {
        sc->src_blk = 0;
        glue_logf(LOG_ERR, "cannot open src %s: %s%s", sc->src, glue_strerror(r),
                  r == HUSK_EINVAL ? " (it must be a regular file or a block device)" : "");
        return r;
    }
    r = sc->hyp->blk_open(sc->ctx, sc->dst, HUSK_BLK_RDWR, &sc->dst_blk, &di);
    if (r != HUSK_OK) {
        sc->dst_blk = 0;
        glue_logf(LOG_ERR, "cannot open dst %s for writing: %s%s", sc->dst, glue_strerror(r),
                  r == HUSK_EINVAL ? " (it must be a regular file or a block device)" : "");
        return r;
    }
    if (di.size < si.size) {
        glue_logf(LOG_ERR,
                  "dst %s is smaller than src %s (%llu < %llu bytes); grow it first (e.g. truncate -s %llu %s)",
                  sc->dst, sc->src, (unsigned long long)di.size, (unsigned long long)si.size,
                  (unsigned long long)si.size, sc->dst);
        return HUSK_EINVAL;
    }
    if (di.read_only) {
        glue_logf(LOG_ERR, "dst %s is read-only", sc->dst);
        return HUSK_EROFS;
    }
    if (di.size > si.size)
        glue_logf(LOG_INFO, "dst %s is larger than src (%llu > %llu bytes): its bytes from %llu on are left alone",
                  sc->dst, (unsigned long long)di.size, (unsigned long long)si.size, (unsigned long long)si.size);
    sc->size = si.size;
    return HUSK_OK;
}

/* ---- Engine. */

static int32_t blkcopy_pick_engine(struct blkcopy_softc *sc) {
    sc->chan = NULL;
    sc->engine_max_len = 0;
    sc->engine_max_bus = 0;
    sc->engine_lost = false;
    switch (sc->engine_mode) {
    case BLKCOPY_ENGINE_CPU: return HUSK_OK;
    case BLKCOPY_ENGINE_AUTO:
        sc->chan = dma_engine_get(NULL);
        if (sc->chan == NULL) glue_log(LOG_INFO, "no DMA engine is registered: copying with the CPU");
        break;
    case BLKCOPY_ENGINE_NAMED:
        sc->chan = dma_engine_get(sc->engine_name);
        if (sc->chan == NULL) {
            glue_logf(LOG_ERR,
                      "no DMA engine named '%s' is registered (load its driver first, e.g. "
                      "--component edu with a device for it; or use engine=auto or engine=cpu)",
                      sc->engine_name);
            return HUSK_ENODEV;
        }
        break;
    }
    if (sc->chan != NULL) glue_dma_chan_limits(sc->chan, &sc->engine_max_len, &sc->engine_max_bus);
    return HUSK_OK;
}

/* ---- DMA buffers. */

static int32_t blkcopy_buf_alloc(struct blkcopy_softc *sc, struct blkcopy_buf *b) {
    int r = bus_dmamem_alloc(sc->chunk, 0, sc->engine_max_bus, &b->seg);
    if (r != 0) return r;
    b->allocated = true;
    r = bus_dmamap_create(sc->chunk, sc->engine_max_bus, &b->map);
    if (r != 0) {
        b->map = NULL;
        return r;
    }
    /* Loading checks that the buffer is DMA memory the engine can reach. */
    return bus_dmamap_load(b->map, b->seg.ds_vaddr, sc->chunk);
}

static void blkcopy_buf_free(struct blkcopy_buf *b) {
    if (b->map != NULL) {
        if (b->map->dm_nsegs != 0) bus_dmamap_unload(b->map);
        bus_dmamap_destroy(b->map);
        b->map = NULL;
    }
    if (b->allocated) {
        bus_dmamem_free(&b->seg);
        b->allocated = false;
    }
}

static int32_t blkcopy_alloc_slots(struct blkcopy_softc *sc) {
    size_t bytes = (size_t)sc->depth * sizeof(struct blkcopy_slot);
    sc->slots = kmem_zalloc(bytes, KM_NOSLEEP);
    if (sc->slots == NULL) {
        glue_logf(LOG_ERR, "out of memory for %u request slots", sc->depth);
        return HUSK_ENOMEM;
    }
    sc->nslots = sc->depth;
    for (uint32_t i = 0; i < sc->nslots; i++) {
        struct blkcopy_slot *s = &sc->slots[i];
        s->sc = sc;
        for (unsigned j = 0; j < 2; j++) {
            int32_t r = blkcopy_buf_alloc(sc, j == 0 ? &s->rbuf : &s->wbuf);
            if (r != HUSK_OK) {
                if (sc->engine_max_bus != 0)
                    glue_logf(LOG_ERR,
                              "cannot allocate DMA buffer %u of %u (%llu bytes, below bus address 0x%llx for engine "
                              "%s): %s; try a smaller chunk or depth",
                              i * 2 + j + 1, sc->nslots * 2, (unsigned long long)sc->chunk,
                              (unsigned long long)sc->engine_max_bus, glue_dma_chan_name(sc->chan), glue_strerror(r));
                else
                    glue_logf(LOG_ERR, "cannot allocate DMA buffer %u of %u (%llu bytes): %s", i * 2 + j + 1,
                              sc->nslots * 2, (unsigned long long)sc->chunk, glue_strerror(r));
                return r;
            }
        }
    }
    return HUSK_OK;
}

/* Release what run took. Only with nothing in flight; idempotent. */
static void blkcopy_release(struct blkcopy_softc *sc) {
    if (sc->src_blk != 0) {
        sc->hyp->blk_close(sc->ctx, sc->src_blk);
        sc->src_blk = 0;
    }
    if (sc->dst_blk != 0) {
        sc->hyp->blk_close(sc->ctx, sc->dst_blk);
        sc->dst_blk = 0;
    }
    if (sc->slots != NULL) {
        for (uint32_t i = 0; i < sc->nslots; i++) {
            blkcopy_buf_free(&sc->slots[i].rbuf);
            blkcopy_buf_free(&sc->slots[i].wbuf);
        }
        kmem_free(sc->slots, (size_t)sc->nslots * sizeof(struct blkcopy_slot));
        sc->slots = NULL;
        sc->nslots = 0;
    }
    if (sc->chan != NULL) {
        dma_engine_put(sc->chan);
        sc->chan = NULL;
    }
}

/* ---- Component entry points. */

static int32_t blkcopy_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
    if (blkcopy_sc != NULL) {
        glue_log(LOG_ERR, "already initialised in this process (one instance only)");
        return HUSK_EBUSY;
    }
    if ((hyp->features & HUSK_FEAT_BLK) == 0) {
        glue_logf(LOG_ERR, "backend %s offers no block I/O (HUSK_FEAT_BLK)", hyp->backend);
        return HUSK_ENODEV;
    }
    blkcopy_crc32c_init();
    if (blkcopy_crc32c(0, "123456789", 9) != 0xE3069283u) {
        glue_log(LOG_ERR, "CRC32C self-test failed");
        return HUSK_EIO;
    }
    struct blkcopy_softc *sc = kmem_zalloc(sizeof *sc, KM_NOSLEEP);
    if (sc == NULL) {
        glue_log(LOG_ERR, "out of memory");
        return HUSK_ENOMEM;
    }
    sc->ctx = ctx;
    sc->hyp = hyp;
    int32_t r = blkcopy_params_load(sc);
    if (r == HUSK_OK) {
        r = mutex_init(&sc->lock, "blkcopy");
        sc->lock_ok = (r == HUSK_OK);
    }
    if (r == HUSK_OK) {
        r = cv_init(&sc->cv, "blkcopy");
        sc->cv_ok = (r == HUSK_OK);
    }
    if (r != HUSK_OK) {
        if (sc->lock_ok) mutex_destroy(&sc->lock);
        kmem_free(sc, sizeof *sc);
        return r;
    }
    blkcopy_sc = sc;
    return HUSK_OK;
}

static const char *blkcopy_engine_label(const struct blkcopy_softc *sc) {
    if (sc->chan == NULL) return "cpu";
    return glue_dma_chan_name(sc->chan);
}

static int32_t blkcopy_run(husk_ctx *ctx) {
    struct blkcopy_softc *sc = blkcopy_sc;
    if (sc == NULL) return HUSK_EINVAL;

    int32_t r = blkcopy_open(sc);
    if (r == HUSK_OK) r = blkcopy_pick_engine(sc);
    if (r == HUSK_OK) r = blkcopy_alloc_slots(sc);
    if (r != HUSK_OK) {
        blkcopy_release(sc);
        return r;
    }

    if (sc->chan != NULL)
        glue_logf(LOG_INFO,
                  "copying %s -> %s: %llu bytes, chunk %llu, depth %u, DMA engine %s (max copy %llu bytes, max bus "
                  "address 0x%llx)",
                  sc->src, sc->dst, (unsigned long long)sc->size, (unsigned long long)sc->chunk, sc->depth,
                  blkcopy_engine_label(sc), (unsigned long long)sc->engine_max_len,
                  (unsigned long long)sc->engine_max_bus);
    else
        glue_logf(LOG_INFO, "copying %s -> %s: %llu bytes, chunk %llu, depth %u, CPU copies", sc->src, sc->dst,
                  (unsigned long long)sc->size, (unsigned long long)sc->chunk, sc->depth);

    uint64_t t0 = glue_uptime_ns();
    sc->copy_crc = 0;
    r = blkcopy_pipeline_run(sc, BLKCOPY_PHASE_COPY);
    uint64_t copied = sc->done_bytes, chunks = sc->nchunks;
    if (r == HUSK_EINTR) {
        glue_logf(LOG_INFO, "cancelled after %llu bytes", (unsigned long long)copied);
        goto out;
    }
    if (r != HUSK_OK) {
        glue_logf(LOG_ERR, "copy stopped after %llu bytes: %s", (unsigned long long)copied, glue_strerror(r));
        goto out;
    }
    r = sc->hyp->blk_flush(ctx, sc->dst_blk);
    if (r != HUSK_OK) {
        glue_logf(LOG_ERR, "flushing dst %s failed: %s", sc->dst, glue_strerror(r));
        goto out;
    }
    uint64_t t1 = glue_uptime_ns();

    if (sc->verify && sc->hyp->cancel_pending(ctx)) { /* cancelled during the flush */
        glue_logf(LOG_INFO, "cancelled after %llu bytes (copy complete and flushed, not verified)",
                  (unsigned long long)copied);
        r = HUSK_EINTR;
        goto out;
    }
    if (sc->verify) {
        sc->vsrc_crc = 0;
        sc->vdst_crc = 0;
        r = blkcopy_pipeline_run(sc, BLKCOPY_PHASE_VERIFY);
        if (r == HUSK_EINTR) {
            glue_logf(LOG_INFO, "cancelled after %llu bytes (copy complete, verification stopped after %llu bytes)",
                      (unsigned long long)copied, (unsigned long long)sc->done_bytes);
            goto out;
        }
        if (r != HUSK_OK) goto out;
        if (sc->vsrc_crc != sc->copy_crc) {
            glue_logf(LOG_ERR,
                      "verify failed: src %s changed during the copy (crc32c 0x%08x while copying, 0x%08x now)",
                      sc->src, sc->copy_crc, sc->vsrc_crc);
            r = HUSK_EIO;
            goto out;
        }
        if (sc->vdst_crc != sc->vsrc_crc) { /* implied by the per-chunk checks; checked anyway */
            glue_logf(LOG_ERR, "verify failed: crc32c of src 0x%08x, of dst 0x%08x", sc->vsrc_crc, sc->vdst_crc);
            r = HUSK_EIO;
            goto out;
        }
    }
    uint64_t t2 = glue_uptime_ns();

    char engine[BLKCOPY_ENGINE_MAX + 16];
    if (sc->engine_lost)
        glue_snprintf(engine, sizeof engine, "%s then cpu", blkcopy_engine_label(sc));
    else
        glue_snprintf(engine, sizeof engine, "%s", blkcopy_engine_label(sc));
    glue_logf(LOG_INFO, "copied %llu bytes in %llu chunks (engine %s, depth %u), crc32c 0x%08x, %s",
              (unsigned long long)copied, (unsigned long long)chunks, engine, sc->depth, sc->copy_crc,
              sc->verify ? "verified" : "not verified (verify=0)");
    uint64_t copy_ms = (t1 - t0) / GLUE_NS_PER_MS;
    uint64_t kib_s = copied / 1024 * 1000000ull / ((t1 - t0) / 1000 + 1);
    if (sc->verify)
        glue_logf(LOG_INFO, "copy and flush %llu ms (%llu KiB/s), verify %llu ms", (unsigned long long)copy_ms,
                  (unsigned long long)kib_s, (unsigned long long)((t2 - t1) / GLUE_NS_PER_MS));
    else
        glue_logf(LOG_INFO, "copy and flush %llu ms (%llu KiB/s)", (unsigned long long)copy_ms,
                  (unsigned long long)kib_s);
out:
    blkcopy_release(sc);
    return r;
}

static void blkcopy_fini(husk_ctx *ctx) {
    struct blkcopy_softc *sc = blkcopy_sc;
    if (sc == NULL) return;
    blkcopy_release(sc);
    if (sc->cv_ok) cv_destroy(&sc->cv);
    if (sc->lock_ok) mutex_destroy(&sc->lock);
    kmem_free(sc, sizeof *sc);
    blkcopy_sc = NULL;
}

HUSK_COMPONENT(blkcopy) = {
    .abi_major = HUSK_ABI_MAJOR,
    .abi_minor = 0,
    .name = "blkcopy",
    .description = "copy a block device to another through DMA buffers (DMA engine offload if any), verify with CRC32C",
    .kind = HUSK_KIND_OTHER,
    .depends = NULL,
    .init = blkcopy_init,
    .run = blkcopy_run,
    .fini = blkcopy_fini,
};
