/*
 * blkcopy_pipeline.c — the asynchronous pipeline.
 *
 * sc->slots is a ring of depth slots, one chunk each, started in offset
 * order at the tail and retired in offset order at the head (so the CRC of
 * the whole device can be accumulated chunk by chunk). A slot goes
 *   copy:    READING (src read) -> COPYING (engine) -> WRITING (dst write) -> DONE
 *            (with the CPU, READING -> WRITING: the memcpy happens in between)
 *   verify:  READING (src and dst reads at once) -> DONE
 * and is retired from DONE to IDLE.
 *
 * Only this file's driving loop (the thread running `run`) changes stages.
 * Completions run in irq context: they take sc->lock, record a failure,
 * decrement the slot's `pending` and sc->inflight, signal sc->cv and
 * return — no sleeping, no I/O, no allocation. A slot whose pending is 0
 * belongs to the driving thread again, buffers and requests included.
 *
 * The lock is held by the loop except around the calls that hand work to
 * the host or the engine (a completion could otherwise need the lock the
 * submitter holds), memcpy and CRC computation.
 *
 * Stopping. On cancellation (a wait returns HUSK_EINTR or cancel_pending)
 * or on the first error, the loop issues nothing more and waits, with waits
 * that ignore cancellation, until sc->inflight is 0: until then the host or
 * the engine owns the buffers.
 */
#include "blkcopy_private.h"

#define BLKCOPY_WAIT_NS       (1000ull * GLUE_NS_PER_MS) /* safety net: re-check state */
#define BLKCOPY_RETRY_NS      GLUE_NS_PER_MS             /* engine queue full, none of ours queued */
#define BLKCOPY_DRAIN_WARN_NS (5000ull * GLUE_NS_PER_MS) /* log while waiting for in-flight I/O */

/* ---- Completions (irq context). */

static void blkcopy_blk_done(struct husk_blk_req *req) {
    struct blkcopy_slot *s = req->arg;
    struct blkcopy_softc *sc = s->sc;
    mutex_enter(&sc->lock);
    if (req->status != HUSK_OK && s->err == HUSK_OK) {
        s->err = req->status;
        if (req == &s->req[0])
            s->err_what = BLKCOPY_WHAT_READ_SRC;
        else
            s->err_what = req->op == HUSK_BLK_WRITE ? BLKCOPY_WHAT_WRITE_DST : BLKCOPY_WHAT_READ_DST;
    }
    s->pending--;
    sc->inflight--;
    cv_signal(&sc->cv);
    mutex_exit(&sc->lock); /* last touch: the slot may be reused from here */
}

static void blkcopy_engine_done(void *arg, int status) {
    struct blkcopy_slot *s = arg;
    struct blkcopy_softc *sc = s->sc;
    mutex_enter(&sc->lock);
    if (status != HUSK_OK && s->engine_err == HUSK_OK) s->engine_err = status;
    s->pending--;
    sc->inflight--;
    sc->engine_inflight--;
    cv_signal(&sc->cv);
    mutex_exit(&sc->lock);
}

/* ---- Helpers for the driving thread (sc->lock held on entry and exit). */

static const char *blkcopy_path_of(const struct blkcopy_softc *sc, enum blkcopy_what what) {
    return what == BLKCOPY_WHAT_READ_SRC ? sc->src : sc->dst;
}

static const char *blkcopy_what_name(enum blkcopy_what what) {
    switch (what) {
    case BLKCOPY_WHAT_READ_SRC: return "read of src";
    case BLKCOPY_WHAT_READ_DST: return "read-back of dst";
    case BLKCOPY_WHAT_WRITE_DST: return "write to dst";
    default: return "I/O";
    }
}

static int32_t blkcopy_log_failure(struct blkcopy_softc *sc, const struct blkcopy_slot *s, enum blkcopy_what what,
                                   int32_t err) {
    if (what == BLKCOPY_WHAT_ENGINE) {
        glue_logf(LOG_ERR, "DMA engine %s failed copying the chunk at offset %llu (%llu bytes): %s",
                  glue_dma_chan_name(sc->chan), (unsigned long long)s->off, (unsigned long long)s->len,
                  glue_strerror(err));
        return err;
    }
    glue_logf(LOG_ERR, "%s %s at offset %llu (%llu bytes) failed: %s", blkcopy_what_name(what),
              blkcopy_path_of(sc, what), (unsigned long long)s->off, (unsigned long long)s->len, glue_strerror(err));
    return err;
}

/* Hand one block request of slot s to the host. Drops the lock around
 * blk_submit. On an immediate error nothing is in flight for it. */
static int32_t blkcopy_submit(struct blkcopy_softc *sc, struct blkcopy_slot *s, unsigned idx, uint32_t op,
                              husk_handle blk, void *buf) {
    struct husk_blk_req *req = &s->req[idx];
    memset(req, 0, sizeof *req);
    req->op = op;
    req->buf = buf;
    req->len = s->len;
    req->offset = s->off;
    req->done = blkcopy_blk_done;
    req->arg = s;
    s->pending++;
    sc->inflight++;
    mutex_exit(&sc->lock);
    int32_t r = sc->hyp->blk_submit(sc->ctx, blk, req);
    mutex_enter(&sc->lock);
    if (r != HUSK_OK) {
        s->pending--;
        sc->inflight--;
    }
    return r;
}

static void blkcopy_engine_lost(struct blkcopy_softc *sc) {
    if (sc->engine_lost) return;
    sc->engine_lost = true;
    sc->engine_lost_at = sc->done_bytes;
    glue_logf(LOG_WARN, "DMA engine %s is gone (unregistered) after %llu bytes: copying with the CPU",
              glue_dma_chan_name(sc->chan), (unsigned long long)sc->done_bytes);
}

static int32_t blkcopy_start_write(struct blkcopy_softc *sc, struct blkcopy_slot *s) {
    s->stage = BLKCOPY_WRITING;
    int32_t r = blkcopy_submit(sc, s, 1, HUSK_BLK_WRITE, sc->dst_blk, s->wbuf.seg.ds_vaddr);
    if (r != HUSK_OK) blkcopy_log_failure(sc, s, BLKCOPY_WHAT_WRITE_DST, r);
    return r;
}

static void blkcopy_cpu_copy(struct blkcopy_softc *sc, struct blkcopy_slot *s) {
    mutex_exit(&sc->lock);
    memcpy(s->wbuf.seg.ds_vaddr, s->rbuf.seg.ds_vaddr, (size_t)s->len);
    mutex_enter(&sc->lock);
}

/* Give the engine as many segments of s as it takes. */
static int32_t blkcopy_engine_issue(struct blkcopy_softc *sc, struct blkcopy_slot *s, bool *progressed) {
    while (!s->copy_by_cpu && s->engine_err == HUSK_OK && s->copy_issued < s->len) {
        if (sc->engine_lost) {
            s->copy_by_cpu = true;
            break;
        }
        uint64_t n = s->len - s->copy_issued;
        if (sc->engine_max_len != 0 && n > sc->engine_max_len) n = sc->engine_max_len;
        uint64_t src = s->rbuf.map->dm_segs[0].ds_addr + s->copy_issued;
        uint64_t dst = s->wbuf.map->dm_segs[0].ds_addr + s->copy_issued;
        s->pending++;
        sc->inflight++;
        sc->engine_inflight++;
        mutex_exit(&sc->lock);
        int r = dma_engine_copy(sc->chan, dst, src, n, blkcopy_engine_done, s);
        mutex_enter(&sc->lock);
        if (r == HUSK_OK) {
            s->copy_issued += n;
            *progressed = true;
            continue;
        }
        s->pending--;
        sc->inflight--;
        sc->engine_inflight--;
        if (r == HUSK_EAGAIN) { /* queue full: retry after a completion */
            sc->engine_busy = true;
            break;
        }
        if (r == HUSK_ENODEV) { /* unregistered: the contract says fall back */
            blkcopy_engine_lost(sc);
            s->copy_by_cpu = true;
            break;
        }
        glue_logf(LOG_ERR, "DMA engine %s refused a copy for offset %llu (%llu bytes at +%llu): %s",
                  glue_dma_chan_name(sc->chan), (unsigned long long)s->off, (unsigned long long)n,
                  (unsigned long long)s->copy_issued, glue_strerror(r));
        return r;
    }
    return HUSK_OK;
}

/* Move s on if its current step has finished. */
static int32_t blkcopy_advance(struct blkcopy_softc *sc, struct blkcopy_slot *s, enum blkcopy_phase phase,
                               bool *progressed) {
    switch (s->stage) {
    case BLKCOPY_READING:
        if (s->pending != 0) return HUSK_OK;
        if (s->err != HUSK_OK) return blkcopy_log_failure(sc, s, s->err_what, s->err);
        *progressed = true;
        if (phase == BLKCOPY_PHASE_VERIFY) {
            s->stage = BLKCOPY_DONE;
            return HUSK_OK;
        }
        if (sc->chan == NULL || sc->engine_lost) {
            blkcopy_cpu_copy(sc, s);
            return blkcopy_start_write(sc, s);
        }
        s->stage = BLKCOPY_COPYING;
        s->copy_issued = 0;
        s->copy_by_cpu = false;
        s->engine_err = HUSK_OK;
        /* The engine reads rbuf (filled by the host) and writes wbuf. */
        bus_dmamap_sync(s->rbuf.map, 0, s->len, BUS_DMASYNC_PREWRITE);
        bus_dmamap_sync(s->wbuf.map, 0, s->len, BUS_DMASYNC_PREREAD);
        /* FALLTHROUGH */
    case BLKCOPY_COPYING: {
        int32_t r = blkcopy_engine_issue(sc, s, progressed);
        if (r != HUSK_OK) return r;
        if (s->pending != 0) return HUSK_OK;
        if (s->engine_err == HUSK_OK && !s->copy_by_cpu && s->copy_issued < s->len)
            return HUSK_OK; /* engine busy: issue the rest later */
        *progressed = true;
        if (s->engine_err == HUSK_ENODEV) {
            blkcopy_engine_lost(sc);
            s->copy_by_cpu = true;
        } else if (s->engine_err != HUSK_OK) {
            return blkcopy_log_failure(sc, s, BLKCOPY_WHAT_ENGINE, s->engine_err);
        }
        if (s->copy_by_cpu) {
            blkcopy_cpu_copy(sc, s); /* the whole chunk: simpler than tracking pieces */
        } else {
            bus_dmamap_sync(s->wbuf.map, 0, s->len, BUS_DMASYNC_POSTREAD);
            bus_dmamap_sync(s->rbuf.map, 0, s->len, BUS_DMASYNC_POSTWRITE);
        }
        return blkcopy_start_write(sc, s);
    }
    case BLKCOPY_WRITING:
        if (s->pending != 0) return HUSK_OK;
        if (s->err != HUSK_OK) return blkcopy_log_failure(sc, s, s->err_what, s->err);
        s->stage = BLKCOPY_DONE;
        *progressed = true;
        return HUSK_OK;
    default: return HUSK_OK;
    }
}

/* Start the next chunk in the tail slot. */
static int32_t blkcopy_start_chunk(struct blkcopy_softc *sc, enum blkcopy_phase phase) {
    struct blkcopy_slot *s = &sc->slots[(sc->head + sc->nactive) % sc->nslots];
    uint64_t left = sc->size - sc->next_off;
    s->off = sc->next_off;
    s->len = left < sc->chunk ? left : sc->chunk;
    s->err = HUSK_OK;
    s->err_what = BLKCOPY_WHAT_NONE;
    s->engine_err = HUSK_OK;
    s->copy_issued = 0;
    s->copy_by_cpu = false;
    s->stage = BLKCOPY_READING;
    sc->next_off += s->len;
    sc->nactive++;
    int32_t r = blkcopy_submit(sc, s, 0, HUSK_BLK_READ, sc->src_blk, s->rbuf.seg.ds_vaddr);
    if (r != HUSK_OK) return blkcopy_log_failure(sc, s, BLKCOPY_WHAT_READ_SRC, r);
    if (phase == BLKCOPY_PHASE_VERIFY) {
        r = blkcopy_submit(sc, s, 1, HUSK_BLK_READ, sc->dst_blk, s->wbuf.seg.ds_vaddr);
        if (r != HUSK_OK) return blkcopy_log_failure(sc, s, BLKCOPY_WHAT_READ_DST, r);
    }
    return HUSK_OK;
}

static uint32_t blkcopy_percent(uint64_t part, uint64_t whole) {
    if (whole == 0) return 100;
    if (whole > UINT64_MAX / 100) return (uint32_t)(part / (whole / 100));
    return (uint32_t)(part * 100 / whole);
}

/* Retire the head slot: CRC, compare, account, report progress. */
static int32_t blkcopy_retire(struct blkcopy_softc *sc, enum blkcopy_phase phase) {
    struct blkcopy_slot *s = &sc->slots[sc->head];
    int32_t r = HUSK_OK;
    mutex_exit(&sc->lock);
    if (phase == BLKCOPY_PHASE_COPY) {
        sc->copy_crc = blkcopy_crc32c(sc->copy_crc, s->rbuf.seg.ds_vaddr, s->len);
    } else {
        uint32_t cs = blkcopy_crc32c(0, s->rbuf.seg.ds_vaddr, s->len);
        uint32_t cd = blkcopy_crc32c(0, s->wbuf.seg.ds_vaddr, s->len);
        sc->vsrc_crc = blkcopy_crc32c_combine(sc->vsrc_crc, cs, s->len);
        sc->vdst_crc = blkcopy_crc32c_combine(sc->vdst_crc, cd, s->len);
        if (cs != cd) {
            glue_logf(LOG_ERR, "verify failed: chunk at offset %llu (%llu bytes): src crc32c 0x%08x, dst crc32c 0x%08x",
                      (unsigned long long)s->off, (unsigned long long)s->len, cs, cd);
            r = HUSK_EIO;
        }
    }
    mutex_enter(&sc->lock);
    s->stage = BLKCOPY_IDLE;
    sc->head = (sc->head + 1) % sc->nslots;
    sc->nactive--;
    if (r != HUSK_OK) return r;
    sc->done_bytes += s->len;
    sc->nchunks++;
    uint32_t pct = blkcopy_percent(sc->done_bytes, sc->size);
    if (pct >= sc->next_pct && pct < 100) {
        glue_logf(LOG_INFO, "%s %llu of %llu bytes (%u%%)", phase == BLKCOPY_PHASE_COPY ? "copied" : "verified",
                  (unsigned long long)sc->done_bytes, (unsigned long long)sc->size, pct);
        sc->next_pct = pct / 10 * 10 + 10;
    }
    return HUSK_OK;
}

int32_t blkcopy_pipeline_run(struct blkcopy_softc *sc, enum blkcopy_phase phase) {
    int32_t result = HUSK_OK;
    bool cancelled = false;

    sc->head = 0;
    sc->nactive = 0;
    sc->next_off = 0;
    sc->done_bytes = 0;
    sc->nchunks = 0;
    sc->next_pct = 10;
    for (uint32_t i = 0; i < sc->nslots; i++) sc->slots[i].stage = BLKCOPY_IDLE;

    mutex_enter(&sc->lock);
    for (;;) {
        if (!cancelled && result == HUSK_OK && sc->hyp->cancel_pending(sc->ctx)) cancelled = true;

        if (cancelled || result != HUSK_OK) {
            /* Issue nothing; wait (not interruptibly) for what is in flight. */
            if (sc->inflight == 0) break;
            if (cv_timedwait(&sc->cv, &sc->lock, BLKCOPY_DRAIN_WARN_NS) == HUSK_ETIMEDOUT && sc->inflight != 0)
                glue_logf(LOG_WARN, "still waiting for %u requests in flight before stopping", sc->inflight);
            continue;
        }

        bool progressed = false;
        sc->engine_busy = false;
        for (uint32_t k = 0; k < sc->nactive && result == HUSK_OK; k++)
            result = blkcopy_advance(sc, &sc->slots[(sc->head + k) % sc->nslots], phase, &progressed);
        while (result == HUSK_OK && sc->nactive > 0 && sc->slots[sc->head].stage == BLKCOPY_DONE) {
            result = blkcopy_retire(sc, phase);
            progressed = true;
        }
        while (result == HUSK_OK && sc->nactive < sc->nslots && sc->next_off < sc->size) {
            result = blkcopy_start_chunk(sc, phase);
            progressed = true;
        }
        if (result != HUSK_OK) continue;                         /* into the stopping branch */
        if (sc->nactive == 0 && sc->next_off >= sc->size) break; /* all done */
        if (progressed) continue;

        uint64_t wait = (sc->engine_busy && sc->engine_inflight == 0) ? BLKCOPY_RETRY_NS : BLKCOPY_WAIT_NS;
        if (cv_timedwait_sig(&sc->cv, &sc->lock, wait) == HUSK_EINTR) cancelled = true;
    }
    mutex_exit(&sc->lock);

    if (result != HUSK_OK) return result;
    return cancelled ? HUSK_EINTR : HUSK_OK;
}
