/*
 * edu_dma.c — the dma_engine: a small queue of copies run one at a time
 * (the device has one DMA engine), each as chunks of at most 4 KiB that go
 * RAM -> device buffer -> RAM. Every DMA step raises an interrupt; the
 * handler starts the next step. A watchdog callout fails a step that never
 * completes, so a wedged device cannot hang clients forever.
 */
#include "edu_regs.h"
#include "edu_private.h"

/* A copy that finished, to report once the lock is dropped. */
struct edu_report {
    dma_done_fn done;
    void *arg;
    int status;
};

static void edu_watchdog(void *arg);

int edu_dma_init(struct edu_softc *sc) {
    int r = mutex_init(&sc->lock, "edu");
    if (r != 0) return r;
    r = cv_init(&sc->cv, "edu");
    if (r != 0) {
        mutex_destroy(&sc->lock);
        sc->lock.mtx_handle = 0;
        return r;
    }
    r = callout_init(&sc->watchdog, edu_watchdog, sc);
    if (r != 0) {
        cv_destroy(&sc->cv);
        sc->cv.cv_handle = 0;
        mutex_destroy(&sc->lock);
        sc->lock.mtx_handle = 0;
    }
    return r;
}

void edu_dma_fini(struct edu_softc *sc) {
    if (sc->watchdog.c_glue != NULL) callout_destroy(&sc->watchdog);
    if (sc->cv.cv_handle != 0) cv_destroy(&sc->cv);
    if (sc->lock.mtx_handle != 0) mutex_destroy(&sc->lock);
}

/* Program one DMA step of the head copy. Lock held. */
static void edu_start_step_locked(struct edu_softc *sc, enum edu_step step) {
    struct edu_copy *c = &sc->queue[sc->q_head];
    uint64_t src, dst;
    uint32_t cmd = EDU_DMA_START | EDU_DMA_IRQ;
    if (step == EDU_TO_DEVICE) {
        uint64_t left = c->len - c->done_bytes;
        sc->chunk = left < EDU_BUF_SIZE ? left : EDU_BUF_SIZE;
        src = c->src + c->done_bytes;
        dst = EDU_BUF_ADDR;
    } else {
        src = EDU_BUF_ADDR;
        dst = c->dst + c->done_bytes;
        cmd |= EDU_DMA_FROM_DEVICE;
    }
    sc->step = step;
    sc->step_seq++;
    bus_space_write_8(sc->regs, EDU_REG_DMA_SRC, src);
    bus_space_write_8(sc->regs, EDU_REG_DMA_DST, dst);
    bus_space_write_8(sc->regs, EDU_REG_DMA_COUNT, sc->chunk);
    /* Addresses and count must reach the device before the start bit. */
    bus_space_barrier(sc->regs, EDU_REG_DMA_SRC, 0x20, BUS_SPACE_BARRIER_WRITE);
    bus_space_write_4(sc->regs, EDU_REG_DMA_CMD, cmd);
    callout_schedule(&sc->watchdog, EDU_STEP_TIMEOUT_NS);
}

/* Drop the head copy, remember its report. Lock held. */
static void edu_finish_head_locked(struct edu_softc *sc, int status, struct edu_report *rep) {
    struct edu_copy *c = &sc->queue[sc->q_head];
    rep->done = c->done;
    rep->arg = c->arg;
    rep->status = status;
    sc->q_head = (sc->q_head + 1) % EDU_QUEUE_LEN;
    sc->q_count--;
}

/* Start the next copy, or fail everything queued when detaching. Returns
 * the number of reports added to reps. Lock held. */
static unsigned edu_next_locked(struct edu_softc *sc, struct edu_report *reps) {
    unsigned n = 0;
    if (sc->detaching) {
        while (sc->q_count > 0) edu_finish_head_locked(sc, HUSK_ENODEV, &reps[n++]);
    }
    if (sc->q_count > 0) {
        edu_start_step_locked(sc, EDU_TO_DEVICE);
    } else {
        sc->step = EDU_IDLE;
        callout_stop(&sc->watchdog);
        cv_broadcast(&sc->cv);
    }
    return n;
}

static void edu_report(const struct edu_report *reps, unsigned n) {
    for (unsigned i = 0; i < n; i++) reps[i].done(reps[i].arg, reps[i].status);
}

/* The step in flight finished: advance the head copy. Lock held. */
static unsigned edu_step_done_locked(struct edu_softc *sc, struct edu_report *reps) {
    if (sc->step == EDU_TO_DEVICE) {
        edu_start_step_locked(sc, EDU_FROM_DEVICE);
        return 0;
    }
    if (sc->step != EDU_FROM_DEVICE) return 0; /* stray: nothing in flight */
    struct edu_copy *c = &sc->queue[sc->q_head];
    c->done_bytes += sc->chunk;
    unsigned n = 0;
    if (c->done_bytes == c->len) {
        edu_finish_head_locked(sc, 0, &reps[n++]);
    } else if (!sc->detaching) {
        edu_start_step_locked(sc, EDU_TO_DEVICE);
        return 0;
    }
    return n + edu_next_locked(sc, reps + n);
}

int edu_dma_copy(void *priv, uint64_t dst, uint64_t src, uint64_t len, dma_done_fn done, void *arg) {
    struct edu_softc *sc = priv;
    if (len == 0 || len > EDU_MAX_COPY || done == NULL) return HUSK_EINVAL;
    mutex_enter(&sc->lock);
    if (sc->detaching) {
        mutex_exit(&sc->lock);
        return HUSK_ENODEV;
    }
    if (sc->q_count == EDU_QUEUE_LEN) {
        mutex_exit(&sc->lock);
        return HUSK_EAGAIN;
    }
    struct edu_copy *c = &sc->queue[(sc->q_head + sc->q_count) % EDU_QUEUE_LEN];
    c->dst = dst;
    c->src = src;
    c->len = len;
    c->done_bytes = 0;
    c->done = done;
    c->arg = arg;
    sc->q_count++;
    if (sc->step == EDU_IDLE) edu_start_step_locked(sc, EDU_TO_DEVICE);
    mutex_exit(&sc->lock);
    return 0;
}

/* Refuse new copies and wait until the device is idle: queued copies fail
 * with ENODEV after the step in flight (which the watchdog bounds). */
void edu_dma_quiesce(struct edu_softc *sc) {
    if (sc->lock.mtx_handle == 0) return;
    struct edu_report reps[EDU_QUEUE_LEN];
    unsigned n = 0;
    mutex_enter(&sc->lock);
    sc->detaching = true;
    if (sc->step == EDU_IDLE) n = edu_next_locked(sc, reps);
    while (sc->step != EDU_IDLE) cv_wait(&sc->cv, &sc->lock);
    mutex_exit(&sc->lock);
    edu_report(reps, n);
}

/* Interrupt handler: read and acknowledge the cause, re-arm INTx, advance
 * the DMA state machine, report finished copies after unlocking. */
int edu_intr(void *arg) {
    struct edu_softc *sc = arg;
    uint32_t status = bus_space_read_4(sc->regs, EDU_REG_IRQ_STATUS);
    if (status == 0 || status == 0xffffffffu) return 0; /* not ours (shared INTx) or gone */
    bus_space_write_4(sc->regs, EDU_REG_IRQ_ACK, status);
    bus_space_barrier(sc->regs, EDU_REG_IRQ_ACK, 4, BUS_SPACE_BARRIER_WRITE | BUS_SPACE_BARRIER_READ);
    if (sc->intr_kind == HUSK_IRQ_INTX) pci_intr_ack(sc->pa, 0);

    struct edu_report reps[EDU_QUEUE_LEN];
    unsigned n = 0;
    mutex_enter(&sc->lock);
    sc->interrupts++;
    if (status & EDU_IRQ_DMA) n = edu_step_done_locked(sc, reps);
    if (status & ~EDU_IRQ_DMA) {
        sc->irq_bits_seen |= status & ~EDU_IRQ_DMA;
        cv_broadcast(&sc->cv);
    }
    mutex_exit(&sc->lock);
    edu_report(reps, n);
    return 1;
}

/* A DMA step took too long: fail the head copy and go on with the next. */
static void edu_watchdog(void *arg) {
    struct edu_softc *sc = arg;
    struct edu_report reps[EDU_QUEUE_LEN + 1];
    unsigned n = 0;
    mutex_enter(&sc->lock);
    if (sc->step != EDU_IDLE && sc->q_count > 0) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "DMA step %llu did not complete within %llu ms; failing the copy",
                      (unsigned long long)sc->step_seq, (unsigned long long)(EDU_STEP_TIMEOUT_NS / GLUE_NS_PER_MS));
        edu_finish_head_locked(sc, HUSK_EIO, &reps[n++]);
        n += edu_next_locked(sc, reps + n);
    }
    mutex_exit(&sc->lock);
    edu_report(reps, n);
}
