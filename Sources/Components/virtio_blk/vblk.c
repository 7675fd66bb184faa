/*
 * vblk.c — the component: reads the parameters, registers the virtio-blk
 * PCI driver at init and unregisters it (detaching every device, which
 * withdraws its disk) at fini.
 */
#include "husk_component_virtio_blk.h"
#include "vblk_regs.h"
#include "vblk_private.h"

static const struct pci_device_id vblk_ids[] = {
    {VIRTIO_PCI_VENDOR_ID, VIRTIO_PCI_DEVICE_BLK},
    PCI_ID_END,
};

static const struct pci_driver vblk_driver = {
    .name = "virtio_blk",
    .ids = vblk_ids,
    .attach = vblk_attach,
    .detach = vblk_detach,
};

static int32_t vblk_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
    int32_t r = vblk_params_load();
    if (r != HUSK_OK) return r;
    unsigned n = 0;
    r = pci_driver_register(&vblk_driver, &n);
    if (r != 0) {
        glue_logf(LOG_ERR, "cannot register the driver: %s", glue_strerror((int)r));
        return r;
    }
    glue_logf(LOG_INFO, "driver ready, %u device(s) attached", n);
    return 0;
}

static void vblk_fini(husk_ctx *ctx) {
    (void)ctx;
    pci_driver_unregister(&vblk_driver);
}

HUSK_COMPONENT(virtio_blk) = {
    .abi_major = HUSK_ABI_MAJOR,
    .abi_minor = 0,
    .name = "virtio_blk",
    .description = "VIRTIO 1.x block driver (modern PCI, 1af4:1042); offers each device as a disk (vblk0, ...)",
    .kind = HUSK_KIND_DRIVER,
    .depends = NULL,
    .init = vblk_init,
    .run = NULL,
    .fini = vblk_fini,
};
