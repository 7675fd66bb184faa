/*
 * virtio_intr.c — interrupts on the modern PCI transport: MSI-X with a
 * vector for configuration changes and one per queue (4.1.5.1.2), MSI-X
 * with one shared vector, INTx with the ISR status register (4.1.4.5), or
 * none (the driver polls). The handlers here only dispatch: the work is the
 * driver's config and per-queue functions.
 */
#include <husk/virtio.h>

static void virtio_count(struct virtio_pci *vp) { __atomic_fetch_add(&vp->interrupts, 1, __ATOMIC_RELAXED); }

static void virtio_run_queues(struct virtio_pci *vp) {
    for (unsigned i = 0; i < vp->nvqs; i++)
        if (vp->vqs[i]->intr != NULL) vp->vqs[i]->intr(vp->vqs[i]->intr_arg);
}

static void virtio_run_config(struct virtio_pci *vp) {
    if (vp->config_fn != NULL) vp->config_fn(vp->config_arg);
}

/* MSI-X vector 0 when every queue has its own vector. */
static int virtio_intr_config(void *arg) {
    struct virtio_pci *vp = arg;
    virtio_count(vp);
    virtio_run_config(vp);
    return 1;
}

/* MSI-X vector 1 + i: queue i. */
static int virtio_intr_queue(void *arg) {
    struct virtio_vq *vq = arg;
    virtio_count(vq->vp);
    if (vq->intr != NULL) vq->intr(vq->intr_arg);
    return 1;
}

/* MSI-X with one vector: it cannot say why it fired, so do everything. */
static int virtio_intr_shared(void *arg) {
    struct virtio_pci *vp = arg;
    virtio_count(vp);
    virtio_run_queues(vp);
    virtio_run_config(vp);
    return 1;
}

/* INTx: reading ISR returns and clears the cause and drops the line
 * (4.1.4.5), then the line is re-armed. */
static int virtio_intr_intx(void *arg) {
    struct virtio_pci *vp = arg;
    uint8_t isr = bus_space_read_1(vp->isr, 0);
    pci_intr_ack(vp->pa, 0);
    if (isr == 0 || isr == 0xff) return 0; /* not ours (a shared line), or the device is gone */
    virtio_count(vp);
    if (isr & VIRTIO_ISR_QUEUE) virtio_run_queues(vp);
    if (isr & VIRTIO_ISR_CONFIG) virtio_run_config(vp);
    return 1;
}

static int virtio_establish(struct virtio_pci *vp, uint32_t vector, int (*fn)(void *), void *arg) {
    int r = pci_intr_establish(vp->pa, vector, fn, arg, &vp->ih[vp->nih]);
    if (r == 0) vp->nih++;
    return r;
}

static int virtio_intr_handlers(struct virtio_pci *vp) {
    if (vp->intr_kind == HUSK_IRQ_MSIX && vp->intr_count >= 1 + vp->nvqs) {
        vp->config_vector = 0;
        int r = virtio_establish(vp, 0, virtio_intr_config, vp);
        for (unsigned i = 0; r == 0 && i < vp->nvqs; i++) {
            vp->vqs[i]->vector = (uint16_t)(1 + i);
            r = virtio_establish(vp, 1 + i, virtio_intr_queue, vp->vqs[i]);
        }
        return r;
    }
    if (vp->intr_kind == HUSK_IRQ_MSIX) {
        vp->config_vector = 0;
        for (unsigned i = 0; i < vp->nvqs; i++) vp->vqs[i]->vector = 0;
        return virtio_establish(vp, 0, virtio_intr_shared, vp);
    }
    if (vp->intr_kind == HUSK_IRQ_INTX) return virtio_establish(vp, 0, virtio_intr_intx, vp);
    return HUSK_ENOTSUP;
}

static void virtio_intr_reset_vectors(struct virtio_pci *vp) {
    vp->config_vector = VIRTIO_MSI_NO_VECTOR;
    for (unsigned i = 0; i < vp->nvqs; i++) vp->vqs[i]->vector = VIRTIO_MSI_NO_VECTOR;
}

static void virtio_intr_poll(struct virtio_pci *vp) {
    vp->intr_kind = 0;
    vp->polling = true;
    virtio_intr_reset_vectors(vp);
    for (unsigned i = 0; i < vp->nvqs; i++) vp->vqs[i]->no_interrupt = true;
}

void virtio_intr_establish(struct virtio_pci *vp, unsigned mode, void (*config)(void *arg), void *arg) {
    vp->config_fn = config;
    vp->config_arg = arg;
    vp->polling = false;
    virtio_intr_reset_vectors(vp);
    if (mode == VIRTIO_INTR_POLL) {
        virtio_intr_poll(vp);
        return;
    }
    uint32_t kinds = mode == VIRTIO_INTR_INTX ? HUSK_IRQ_INTX : HUSK_IRQ_MSIX | HUSK_IRQ_INTX;
    int r = pci_intr_alloc(vp->pa, kinds, 1 + vp->nvqs, &vp->intr_kind, &vp->intr_count);
    if (r != 0) {
        glue_dev_logf(LOG_WARN, vp->name, "no interrupt (%s): polling the queues instead", glue_strerror(r));
        virtio_intr_poll(vp);
        return;
    }
    r = virtio_intr_handlers(vp);
    if (r != 0) {
        glue_dev_logf(LOG_WARN, vp->name, "cannot establish interrupt handlers (%s): polling the queues instead",
                      glue_strerror(r));
        virtio_intr_disestablish(vp);
        virtio_intr_poll(vp);
        return;
    }
    glue_dev_logf(LOG_INFO, vp->name, "using %s interrupts (%u vector(s))",
                  vp->intr_kind == HUSK_IRQ_MSIX ? "MSI-X" : "INTx", vp->intr_count);
}

void virtio_intr_disestablish(struct virtio_pci *vp) {
    for (unsigned i = 0; i < vp->nih; i++) pci_intr_disestablish(vp->pa, vp->ih[i]);
    vp->nih = 0;
}

int virtio_config_vector_set(struct virtio_pci *vp) {
    if (vp->intr_kind != HUSK_IRQ_MSIX) return 0;
    bus_space_write_2(vp->common, VIRTIO_COMMON_MSIX, vp->config_vector);
    uint16_t got = bus_space_read_2(vp->common, VIRTIO_COMMON_MSIX);
    if (got != vp->config_vector) {
        glue_dev_logf(LOG_ERR, vp->name, "the device refused MSI-X vector %u for configuration changes (reads 0x%x)",
                      vp->config_vector, got);
        return HUSK_EIO;
    }
    return 0;
}
