/*
 * edu_attach.c — bringing one edu device up and down: map BAR0, identify
 * the device, check it responds, wire its interrupt, prove interrupt and
 * DMA delivery, then offer its DMA engine. Detach undoes it in reverse.
 */
#include "edu_regs.h"
#include "edu_private.h"

/* The identification register must carry the edu magic. */
static int edu_identify(struct edu_softc *sc) {
    uint32_t id = bus_space_read_4(sc->regs, EDU_REG_ID);
    if ((id & EDU_ID_MAGIC_MASK) != EDU_ID_MAGIC) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "identification register reads 0x%08x, not an edu device", id);
        return HUSK_ENODEV;
    }
    glue_dev_logf(LOG_INFO, sc->pa->pa_id.address, "edu version %u.%u", id >> 24, (id >> 16) & 0xffu);
    return 0;
}

/* The liveness register returns the inverse of what was written: proves
 * that writes reach the device and reads come from it. */
static int edu_liveness(struct edu_softc *sc) {
    static const uint32_t patterns[] = {0x12345678u, 0xa5a5a5a5u, 0u};
    for (unsigned i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        bus_space_write_4(sc->regs, EDU_REG_LIVENESS, patterns[i]);
        bus_space_barrier(sc->regs, EDU_REG_LIVENESS, 4, BUS_SPACE_BARRIER_WRITE | BUS_SPACE_BARRIER_READ);
        uint32_t got = bus_space_read_4(sc->regs, EDU_REG_LIVENESS);
        if (got != ~patterns[i]) {
            glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "liveness check: wrote 0x%08x, read 0x%08x (want 0x%08x)",
                          patterns[i], got, ~patterns[i]);
            return HUSK_EIO;
        }
    }
    return 0;
}

/* One vector, MSI preferred (no shared line, no unmask round trip). */
static int edu_setup_intr(struct edu_softc *sc) {
    uint32_t count = 0;
    uint32_t kinds = edu_force_intx ? HUSK_IRQ_INTX : HUSK_IRQ_MSI | HUSK_IRQ_INTX;
    int r = pci_intr_alloc(sc->pa, kinds, 1, &sc->intr_kind, &count);
    if (r != 0) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "no interrupt: %s", glue_strerror(r));
        return r;
    }
    r = pci_intr_establish(sc->pa, 0, edu_intr, sc, &sc->ih);
    if (r != 0) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "cannot establish the interrupt handler: %s", glue_strerror(r));
        return r;
    }
    sc->ih_established = true;
    glue_dev_logf(LOG_INFO, sc->pa->pa_id.address, "using %s interrupts",
                  sc->intr_kind == HUSK_IRQ_MSI ? "MSI" : "INTx");
    return 0;
}

/* Offer the engine as "edu", or "edu.<index>" when another edu has it. */
static int edu_offer_engine(struct edu_softc *sc) {
    sc->engine.copy = edu_dma_copy;
    sc->engine.priv = sc;
    sc->engine.max_len = EDU_MAX_COPY;
    sc->engine.max_bus_addr = EDU_DMA_LIMIT;
    glue_snprintf(sc->engine_name, sizeof sc->engine_name, "edu");
    sc->engine.name = sc->engine_name;
    int r = dma_engine_register(&sc->engine);
    if (r == HUSK_EEXIST) {
        glue_snprintf(sc->engine_name, sizeof sc->engine_name, "edu.%u", sc->pa->pa_index);
        r = dma_engine_register(&sc->engine);
    }
    if (r != 0) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "cannot register dma engine: %s", glue_strerror(r));
        return r;
    }
    sc->engine_registered = true;
    glue_dev_logf(LOG_INFO, sc->pa->pa_id.address,
                  "dma engine \"%s\" registered (max %llu bytes per copy, bus addresses below 0x%llx)", sc->engine_name,
                  (unsigned long long)sc->engine.max_len, (unsigned long long)sc->engine.max_bus_addr);
    return 0;
}

int edu_attach(struct pci_attach_args *pa, void **softc_out) {
    struct edu_softc *sc = kmem_zalloc(sizeof *sc, KM_SLEEP);
    sc->pa = pa;
    *softc_out = sc;

    /* DMA needs bus mastering; registers need memory decoding. */
    glue_pci_enable(pa, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    int r = bus_space_map(pa, 0, 0, 0, &sc->regs);
    if (r == 0) r = edu_identify(sc);
    if (r == 0) r = edu_liveness(sc);
    if (r == 0) r = edu_dma_init(sc);
    if (r == 0) r = edu_setup_intr(sc);
    if (r == 0) r = edu_selftest_irq(sc);
    if (r == 0) r = edu_selftest_dma(sc);
    if (r == 0) r = edu_offer_engine(sc);
    if (r != 0) {
        edu_detach(sc);
        *softc_out = NULL;
    }
    return r;
}

/* Also the unwinding of a failed attach: every step checks what exists. */
void edu_detach(void *softc) {
    struct edu_softc *sc = softc;
    if (sc == NULL) return;
    if (sc->engine_registered) {
        dma_engine_unregister(&sc->engine); /* no new copies from here on */
        sc->engine_registered = false;
    }
    edu_dma_quiesce(sc); /* in-flight copies finish or fail */
    if (sc->ih_established) {
        pci_intr_disestablish(sc->pa, sc->ih);
        sc->ih_established = false;
    }
    edu_dma_fini(sc);
    if (sc->regs != NULL) bus_space_unmap(sc->regs);
    glue_dev_logf(LOG_INFO, sc->pa->pa_id.address, "detached after %llu interrupt(s)",
                  (unsigned long long)sc->interrupts);
    kmem_free(sc, sizeof *sc);
}
