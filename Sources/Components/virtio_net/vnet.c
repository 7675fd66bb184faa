/*
 * vnet.c — the component: reads the parameters, registers the virtio-net
 * PCI driver at init and unregisters it (detaching every device, which
 * withdraws its interface) at fini.
 */
#include "husk_component_virtio_net.h"
#include "vnet_private.h"

static const struct pci_device_id vnet_ids[] = {
    {VIRTIO_PCI_VENDOR_ID, VIRTIO_PCI_DEVICE_NET},
    PCI_ID_END,
};

static const struct pci_driver vnet_driver = {
    .name = "virtio_net",
    .ids = vnet_ids,
    .attach = vnet_attach,
    .detach = vnet_detach,
};

static int32_t vnet_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
    int32_t r = vnet_params_load();
    if (r != HUSK_OK) return r;
    unsigned n = 0;
    r = pci_driver_register(&vnet_driver, &n);
    if (r != 0) {
        glue_logf(LOG_ERR, "cannot register the driver: %s", glue_strerror((int)r));
        return r;
    }
    glue_logf(LOG_INFO, "driver ready, %u device(s) attached", n);
    return 0;
}

static void vnet_fini(husk_ctx *ctx) {
    (void)ctx;
    pci_driver_unregister(&vnet_driver);
}

HUSK_COMPONENT(virtio_net) = {
    .abi_major = HUSK_ABI_MAJOR,
    .abi_minor = 0,
    .name = "virtio_net",
    .description = "VIRTIO 1.x network driver (modern PCI, 1af4:1041); offers each device as a NIC (vnet0, ...)",
    .kind = HUSK_KIND_DRIVER,
    .depends = NULL,
    .init = vnet_init,
    .run = NULL,
    .fini = vnet_fini,
};
