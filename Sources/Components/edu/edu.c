/*
 * edu.c — the component: registers the edu PCI driver at init and
 * unregisters it (detaching every device) at fini.
 */
#include "husk_component_edu.h"
#include "edu_regs.h"
#include "edu_private.h"

static const struct pci_device_id edu_ids[] = {
    {EDU_VENDOR_ID, EDU_DEVICE_ID},
    PCI_ID_END,
};

static const struct pci_driver edu_driver = {
    .name = "edu",
    .ids = edu_ids,
    .attach = edu_attach,
    .detach = edu_detach,
};

/* Module parameter edu.intx=1: use INTx even when MSI exists (tests the
 * level-triggered path: acknowledge, then re-arm with pci_intr_ack). */
HUSK_PRIVATE bool edu_force_intx;

static int32_t edu_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
    char v[8];
    edu_force_intx = hyp->config_get(ctx, "intx", v, sizeof v, NULL) == HUSK_OK && v[0] == '1';
    unsigned n = 0;
    int r = pci_driver_register(&edu_driver, &n);
    if (r != 0) {
        glue_logf(LOG_ERR, "cannot register the driver: %s", glue_strerror(r));
        return r;
    }
    glue_logf(LOG_INFO, "driver ready, %u device(s) attached", n);
    return 0;
}

static void edu_fini(husk_ctx *ctx) {
    (void)ctx;
    pci_driver_unregister(&edu_driver);
}

HUSK_COMPONENT(edu) = {
    .abi_major = HUSK_ABI_MAJOR,
    .abi_minor = 0,
    .name = "edu",
    .description = "driver for QEMU's edu PCI device; offers its DMA engine as dma_engine \"edu\"",
    .kind = HUSK_KIND_DRIVER,
    .depends = NULL,
    .init = edu_init,
    .run = NULL,
    .fini = edu_fini,
};
