/*
 * edu_private.h — prefix edu: the driver's per-device state and the functions
 * its files share (HUSK_PRIVATE).
 *
 * Locking: sc->lock guards the copy queue and the DMA state machine; it is
 * taken by the engine's copy (any thread), the interrupt handler and the
 * watchdog callout. Completion callbacks run without it held.
 */
#ifndef EDU_PRIVATE_H
#define EDU_PRIVATE_H

#include <husk/glue.h>

#define EDU_QUEUE_LEN       16                     /* copies accepted at once */
#define EDU_MAX_COPY        (64u * 1024u)          /* per copy: QEMU takes ~100 ms per DMA step */
#define EDU_STEP_TIMEOUT_NS (2ull * GLUE_NS_PER_S) /* one DMA step must finish within this */

struct edu_copy {
    uint64_t dst, src, len;
    uint64_t done_bytes; /* copied to dst so far */
    dma_done_fn done;
    void *arg;
};

enum edu_step { EDU_IDLE, EDU_TO_DEVICE, EDU_FROM_DEVICE };

struct edu_softc {
    struct pci_attach_args *pa;
    bus_space_handle_t regs;
    pci_intr_handle_t ih;
    bool ih_established;
    uint32_t intr_kind; /* HUSK_IRQ_INTX / MSI / MSIX */

    kmutex_t lock;
    kcondvar_t cv;      /* state changes: self-tests, detach wait */
    callout_t watchdog; /* fails a DMA step the device never finishes */

    /* Guarded by lock. */
    struct edu_copy queue[EDU_QUEUE_LEN];
    unsigned q_head, q_count;
    enum edu_step step;
    uint64_t chunk;         /* bytes of the step in flight */
    uint64_t step_seq;      /* bumped per step: the watchdog's identity check */
    bool detaching;         /* no new copies; fail the rest after this step */
    uint32_t irq_bits_seen; /* non-DMA IRQ_STATUS bits (self-test) */
    uint64_t interrupts;

    struct dma_engine engine;
    bool engine_registered;
    char engine_name[16];
};

/* edu.c: module parameters */
HUSK_PRIVATE extern bool edu_force_intx;

/* edu_dma.c */
HUSK_PRIVATE int edu_dma_init(struct edu_softc *sc);
HUSK_PRIVATE void edu_dma_fini(struct edu_softc *sc);
HUSK_PRIVATE int edu_dma_copy(void *priv, uint64_t dst, uint64_t src, uint64_t len, dma_done_fn done, void *arg);
HUSK_PRIVATE void edu_dma_quiesce(struct edu_softc *sc);
HUSK_PRIVATE int edu_intr(void *arg);

/* edu_selftest.c */
HUSK_PRIVATE int edu_selftest_irq(struct edu_softc *sc);
HUSK_PRIVATE int edu_selftest_dma(struct edu_softc *sc);

/* edu_attach.c */
HUSK_PRIVATE int edu_attach(struct pci_attach_args *pa, void **softc_out);
HUSK_PRIVATE void edu_detach(void *softc);

#endif
