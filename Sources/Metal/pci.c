/*
 * pci.c — PCI devices and interrupts (stub: no devices yet).
 */
#include "metal.h"

void pci_init(void) {}
uint32_t pci_count(void) { return 0; }

static int32_t p_enumerate(husk_ctx *c, uint32_t i, struct husk_pci_id *o) { return HUSK_ENODEV; }
static int32_t p_open(husk_ctx *c, uint32_t i, husk_handle *o) { return HUSK_ENODEV; }
static int32_t p_close(husk_ctx *c, husk_handle d) { return HUSK_EBADF; }
static int32_t p_cfg_read(husk_ctx *c, husk_handle d, uint32_t off, uint32_t w, uint32_t *v) { return HUSK_EBADF; }
static int32_t p_cfg_write(husk_ctx *c, husk_handle d, uint32_t off, uint32_t w, uint32_t v) { return HUSK_EBADF; }
static int32_t p_bar_info(husk_ctx *c, husk_handle d, uint32_t b, struct husk_bar_info *o) { return HUSK_EBADF; }
static int32_t p_bar_map(husk_ctx *c, husk_handle d, uint32_t b, void **va) { return HUSK_EBADF; }
static int32_t p_bar_read(husk_ctx *c, husk_handle d, uint32_t b, uint64_t off, uint32_t w, uint64_t *v) {
    return HUSK_EBADF;
}
static int32_t p_bar_write(husk_ctx *c, husk_handle d, uint32_t b, uint64_t off, uint32_t w, uint64_t v) {
    return HUSK_EBADF;
}
static int32_t p_reset(husk_ctx *c, husk_handle d) { return HUSK_EBADF; }
static int32_t p_on_release(husk_ctx *c, husk_handle d, void (*fn)(void *), void *a) { return HUSK_EBADF; }
static int32_t p_irq_alloc(husk_ctx *c, husk_handle d, uint32_t k, uint32_t w, uint32_t *kind, uint32_t *n) {
    return HUSK_EBADF;
}
static int32_t p_irq_establish(husk_ctx *c, husk_handle d, uint32_t v, int32_t (*fn)(void *), void *a, husk_handle *o) {
    return HUSK_EBADF;
}
static int32_t p_irq_disestablish(husk_ctx *c, husk_handle ih) { return HUSK_EBADF; }
static int32_t p_irq_ack(husk_ctx *c, husk_handle d, uint32_t v) { return HUSK_EBADF; }
static int32_t p_irq_mask(husk_ctx *c, husk_handle d, uint32_t v) { return HUSK_EBADF; }
static int32_t p_irq_unmask(husk_ctx *c, husk_handle d, uint32_t v) { return HUSK_EBADF; }

void hyp_fill_pci(struct husk_hyp *h) {
    h->pci_enumerate = p_enumerate;
    h->dev_open = p_open;
    h->dev_close = p_close;
    h->cfg_read = p_cfg_read;
    h->cfg_write = p_cfg_write;
    h->bar_info = p_bar_info;
    h->bar_map = p_bar_map;
    h->bar_read = p_bar_read;
    h->bar_write = p_bar_write;
    h->dev_reset = p_reset;
    h->dev_on_release = p_on_release;
    h->irq_alloc = p_irq_alloc;
    h->irq_establish = p_irq_establish;
    h->irq_disestablish = p_irq_disestablish;
    h->irq_ack = p_irq_ack;
    h->irq_mask = p_irq_mask;
    h->irq_unmask = p_irq_unmask;
}
