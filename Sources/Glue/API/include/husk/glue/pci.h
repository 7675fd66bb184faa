/*
 * husk/glue/pci.h — PCI autoconfiguration for drivers: match tables,
 * attach/detach, config space, capabilities and interrupts (in the spirit
 * of NetBSD's pci(9) and autoconf(9), with Linux's id tables).
 *
 * Lifecycle. pci_driver_register() walks the host's devices
 * (hyp->pci_enumerate), opens each one that matches drv->ids and is not in
 * use (hyp->dev_open), and calls drv->attach. A device leaves the driver
 * through drv->detach when the driver is unregistered, when the host asks
 * for it back (hyp->dev_on_release) or when the component finishes; after
 * detach the glue removes interrupt handlers the driver left, frees its
 * bus_space handles and closes the device (hyp->dev_close).
 */
#ifndef HUSK_GLUE_PCI_H
#define HUSK_GLUE_PCI_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Config space registers used by drivers. */
#define PCI_VENDOR_ID            0x00
#define PCI_DEVICE_ID            0x02
#define PCI_COMMAND              0x04
#define PCI_COMMAND_IO           0x0001
#define PCI_COMMAND_MEMORY       0x0002
#define PCI_COMMAND_MASTER       0x0004 /* bus mastering: needed for DMA */
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS               0x06
#define PCI_STATUS_CAP_LIST      0x0010
#define PCI_CAPLIST_PTR          0x34
#define PCI_CAP_ID_PM            0x01
#define PCI_CAP_ID_MSI           0x05
#define PCI_CAP_ID_VENDOR        0x09
#define PCI_CAP_ID_PCIE          0x10
#define PCI_CAP_ID_MSIX          0x11

/* ---- Match tables: an array ending with PCI_ID_END. PCI_ANY_ID in a field
 * matches every value (0xffff is never a valid vendor or device id). */
#define PCI_ANY_ID 0xffffu
struct pci_device_id {
    uint16_t vendor;
    uint16_t device;
};
#define PCI_ID_END \
    { 0, 0 }

/* What attach gets. Valid from attach until detach returns. */
struct pci_attach_args {
    husk_handle pa_dev;       /* device handle for hyp->cfg_read etc. */
    struct husk_pci_id pa_id; /* vendor, device, class, host address */
    uint32_t pa_index;        /* host's device index */
    uint32_t pa_intr_kind;    /* HUSK_IRQ_* after pci_intr_alloc, else 0 */
    uint32_t pa_intr_count;   /* vectors granted by pci_intr_alloc */
    uint32_t pa_reserved;
    const struct husk_hyp *pa_hyp;
    husk_ctx *pa_ctx; /* the component the device is attached to */
    void *pa_glue;    /* glue-private */
};

struct pci_driver {
    const char *name;
    const struct pci_device_id *ids;
    /* [blocks: yes] [thread context] Take over the device: map BARs,
     * establish interrupts... Store the driver's state in *softc_out. Return
     * 0, or an error: the device is then closed and left for others. */
    int (*attach)(struct pci_attach_args *pa, void **softc_out);
    /* [blocks: yes] [thread context] Quiesce the device and release what
     * attach took. Must not fail. */
    void (*detach)(void *softc);
};

/* [blocks: no] [irq: yes] true if (vendor, device) matches an entry of ids. */
bool glue_pci_match(const struct pci_device_id *ids, uint16_t vendor, uint16_t device);

/* [blocks: yes] [irq: no] Register drv with the calling component and
 * attach it to every matching free device. *nattached (may be NULL) gets the
 * number attached; zero is not an error (the device may come later... or
 * not: there is no hotplug yet). 0, HUSK_EINVAL (no name/ids/attach/detach),
 * HUSK_EEXIST (drv already registered). A failing attach is logged. */
int glue_pci_driver_register(const struct pci_driver *drv, unsigned *nattached);
/* [blocks: yes] [irq: no] Detach every device drv holds, close them and
 * forget drv. No-op for a driver that is not registered. */
void glue_pci_driver_unregister(const struct pci_driver *drv);

/* ---- Config space. [blocks: no] [irq: yes] Offsets aligned to the width.
 * A failing read returns all-ones, as a missing PCI device does. */
uint32_t glue_pci_conf_read(const struct pci_attach_args *pa, uint32_t off);
uint16_t glue_pci_conf_read_2(const struct pci_attach_args *pa, uint32_t off);
uint8_t glue_pci_conf_read_1(const struct pci_attach_args *pa, uint32_t off);
void glue_pci_conf_write(const struct pci_attach_args *pa, uint32_t off, uint32_t val);
void glue_pci_conf_write_2(const struct pci_attach_args *pa, uint32_t off, uint16_t val);
void glue_pci_conf_write_1(const struct pci_attach_args *pa, uint32_t off, uint8_t val);

/* [blocks: no] [irq: no] Walk the capability list for cap_id; true and
 * *offset (may be NULL) = its config offset if found. Loops and bad
 * pointers in the list end the walk. */
bool glue_pci_find_capability(const struct pci_attach_args *pa, uint8_t cap_id, uint32_t *offset);

/* [blocks: no] [irq: no] Set bits in the command register (e.g. MEMORY |
 * MASTER before DMA). */
void glue_pci_enable(const struct pci_attach_args *pa, uint16_t command_bits);

/* ---- Interrupts. */
typedef husk_handle pci_intr_handle_t;

/* [blocks: yes] [irq: no] Declare the vectors the driver uses, once: kinds
 * is a mask of acceptable HUSK_IRQ_*, want the vectors wanted. *kind and
 * *count (either may be NULL; also stored in pa) get what was granted
 * (MSI-X preferred, then MSI, then INTx with 1 vector). 0, HUSK_ENODEV,
 * HUSK_EBUSY (already allocated). */
int glue_pci_intr_alloc(struct pci_attach_args *pa, uint32_t kinds, uint32_t want, uint32_t *kind, uint32_t *count);
/* [blocks: no] [irq: no] Run fn(arg) in irq context each time vector
 * fires, one call at a time; fn returns 1 if the interrupt was its device's,
 * else 0. 0, HUSK_EINVAL, HUSK_EEXIST. *ih is for disestablish. For INTx
 * the handler must quiesce the device, then call pci_intr_ack. */
int glue_pci_intr_establish(struct pci_attach_args *pa, uint32_t vector, int (*fn)(void *arg), void *arg,
                            pci_intr_handle_t *ih);
/* [blocks: yes] [irq: no] When it returns the handler is not running and will
 * not run again. Unknown handles are ignored. */
void glue_pci_intr_disestablish(struct pci_attach_args *pa, pci_intr_handle_t ih);
/* [blocks: no] [irq: yes] Re-arm a level-triggered (INTx) vector after the
 * device was quiesced; a no-op for MSI/MSI-X. 0 or the host's error. */
int glue_pci_intr_ack(struct pci_attach_args *pa, uint32_t vector);
/* [blocks: no] [irq: yes] Hold / release delivery of a vector. */
int glue_pci_intr_mask(struct pci_attach_args *pa, uint32_t vector);
int glue_pci_intr_unmask(struct pci_attach_args *pa, uint32_t vector);

static inline bool pci_match(const struct pci_device_id *ids, uint16_t v, uint16_t d) {
    return glue_pci_match(ids, v, d);
}
static inline int pci_driver_register(const struct pci_driver *drv, unsigned *n) {
    return glue_pci_driver_register(drv, n);
}
static inline void pci_driver_unregister(const struct pci_driver *drv) { glue_pci_driver_unregister(drv); }
static inline uint32_t pci_conf_read(const struct pci_attach_args *pa, uint32_t off) {
    return glue_pci_conf_read(pa, off);
}
static inline void pci_conf_write(const struct pci_attach_args *pa, uint32_t off, uint32_t v) {
    glue_pci_conf_write(pa, off, v);
}
static inline bool pci_find_capability(const struct pci_attach_args *pa, uint8_t id, uint32_t *off) {
    return glue_pci_find_capability(pa, id, off);
}
static inline int pci_intr_alloc(struct pci_attach_args *pa, uint32_t kinds, uint32_t want, uint32_t *kind,
                                 uint32_t *count) {
    return glue_pci_intr_alloc(pa, kinds, want, kind, count);
}
static inline int pci_intr_establish(struct pci_attach_args *pa, uint32_t vec, int (*fn)(void *), void *arg,
                                     pci_intr_handle_t *ih) {
    return glue_pci_intr_establish(pa, vec, fn, arg, ih);
}
static inline void pci_intr_disestablish(struct pci_attach_args *pa, pci_intr_handle_t ih) {
    glue_pci_intr_disestablish(pa, ih);
}
static inline int pci_intr_ack(struct pci_attach_args *pa, uint32_t vec) { return glue_pci_intr_ack(pa, vec); }

#ifdef __cplusplus
}
#endif

#endif
