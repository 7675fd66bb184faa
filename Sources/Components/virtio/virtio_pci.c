/*
 * virtio_pci.c — the modern PCI transport (VIRTIO 1.x, 4.1): find the
 * vendor capabilities that locate the common, notify, ISR and device
 * configuration structures, map them with bus_space, and the register
 * accesses built on them (status, reset, features, negotiation).
 */
#include <husk/virtio.h>

/* Each capability is at least 16 bytes, 4-aligned, at or above 0x40: 48
 * fit in 256 bytes of config space, so more steps mean a loop. */
#define VIRTIO_CAP_WALK_MAX 48u

void virtio_pci_find_caps(const struct pci_attach_args *pa, struct virtio_pci_cap caps[VIRTIO_CAP_TYPES]) {
    memset(caps, 0, VIRTIO_CAP_TYPES * sizeof caps[0]);
    if (!(glue_pci_conf_read_2(pa, PCI_STATUS) & PCI_STATUS_CAP_LIST)) return;
    uint32_t off = glue_pci_conf_read_1(pa, PCI_CAPLIST_PTR) & 0xfcu;
    for (unsigned guard = 0; off >= 0x40 && off < 0x100 && guard < VIRTIO_CAP_WALK_MAX; guard++) {
        uint8_t id = glue_pci_conf_read_1(pa, off);
        uint8_t next = glue_pci_conf_read_1(pa, off + 1);
        if (id == PCI_CAP_ID_VENDOR && off + VIRTIO_PCI_CAP_LEN <= 0x100) {
            uint8_t type = glue_pci_conf_read_1(pa, off + VIRTIO_PCI_CAP_CFG_TYPE);
            uint8_t bar = glue_pci_conf_read_1(pa, off + VIRTIO_PCI_CAP_BAR);
            /* 4.1.4: use the first capability of a type the driver can use. */
            if (type >= VIRTIO_PCI_CAP_COMMON_CFG && type <= VIRTIO_PCI_CAP_DEVICE_CFG && bar <= 5 &&
                !caps[type].found) {
                struct virtio_pci_cap *c = &caps[type];
                c->bar = bar;
                c->offset = glue_pci_conf_read(pa, off + VIRTIO_PCI_CAP_OFFSET);
                c->length = glue_pci_conf_read(pa, off + VIRTIO_PCI_CAP_LENGTH);
                if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && off + VIRTIO_PCI_CAP_LEN + 4 <= 0x100)
                    c->notify_mult = glue_pci_conf_read(pa, off + VIRTIO_PCI_NOTIFY_MULT);
                c->found = true;
            }
        }
        off = next & 0xfcu;
    }
}

static int virtio_map_one(struct virtio_pci *vp, unsigned type, const char *what, bus_size_t min_len,
                          bus_space_handle_t *out) {
    const struct virtio_pci_cap *c = &vp->caps[type];
    if (!c->found) {
        glue_dev_logf(LOG_ERR, vp->name, "no virtio %s capability: not a modern (VIRTIO 1.x) device", what);
        return HUSK_ENODEV;
    }
    if (c->length < min_len) {
        glue_dev_logf(LOG_ERR, vp->name, "virtio %s structure is %u bytes, need %u", what, c->length,
                      (unsigned)min_len);
        return HUSK_ENODEV;
    }
    int r = bus_space_map(vp->pa, c->bar, c->offset, c->length, out);
    if (r != 0)
        glue_dev_logf(LOG_ERR, vp->name, "cannot map the %s structure (BAR %u offset 0x%x length 0x%x): %s", what,
                      c->bar, c->offset, c->length, glue_strerror(r));
    return r;
}

int virtio_pci_map(struct virtio_pci *vp, struct pci_attach_args *pa, bus_size_t device_min) {
    vp->pa = pa;
    vp->name = pa->pa_id.address;
    vp->config_vector = VIRTIO_MSI_NO_VECTOR;
    virtio_pci_find_caps(pa, vp->caps);
    int r = virtio_map_one(vp, VIRTIO_PCI_CAP_COMMON_CFG, "common configuration", VIRTIO_COMMON_MIN_LEN, &vp->common);
    /* The doorbell of queue 0 is a 16-bit write at offset 0 at least. */
    if (r == 0) r = virtio_map_one(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, "notification", 2, &vp->notify);
    if (r == 0) r = virtio_map_one(vp, VIRTIO_PCI_CAP_ISR_CFG, "ISR status", 1, &vp->isr);
    if (r == 0) r = virtio_map_one(vp, VIRTIO_PCI_CAP_DEVICE_CFG, "device configuration", device_min, &vp->device);
    if (r != 0) return r;
    const struct virtio_pci_cap *c = vp->caps;
    vp->notify_mult = c[VIRTIO_PCI_CAP_NOTIFY_CFG].notify_mult;
    vp->notify_len = c[VIRTIO_PCI_CAP_NOTIFY_CFG].length;
    vp->device_len = c[VIRTIO_PCI_CAP_DEVICE_CFG].length;
    glue_dev_logf(LOG_DEBUG, vp->name, "common BAR%u+0x%x, notify BAR%u+0x%x (x%u), ISR BAR%u+0x%x, device BAR%u+0x%x",
                  c[1].bar, c[1].offset, c[2].bar, c[2].offset, vp->notify_mult, c[3].bar, c[3].offset, c[4].bar,
                  c[4].offset);
    return 0;
}

void virtio_pci_unmap(struct virtio_pci *vp) {
    bus_space_handle_t *hs[] = {&vp->common, &vp->notify, &vp->isr, &vp->device};
    for (unsigned i = 0; i < 4; i++) {
        if (*hs[i] != NULL) {
            bus_space_unmap(*hs[i]);
            *hs[i] = NULL;
        }
    }
}

uint8_t virtio_get_status(struct virtio_pci *vp) { return bus_space_read_1(vp->common, VIRTIO_COMMON_STATUS); }

void virtio_set_status(struct virtio_pci *vp, uint8_t status) {
    bus_space_write_1(vp->common, VIRTIO_COMMON_STATUS, status);
    bus_space_barrier(vp->common, VIRTIO_COMMON_STATUS, 1, BUS_SPACE_BARRIER_WRITE | BUS_SPACE_BARRIER_READ);
}

void virtio_add_status(struct virtio_pci *vp, uint8_t bits) { virtio_set_status(vp, virtio_get_status(vp) | bits); }

void virtio_fail(struct virtio_pci *vp) { virtio_add_status(vp, VIRTIO_STATUS_FAILED); }

/* 4.1.4.3.2: write 0, then wait until the device reads back 0 (the reset
 * is complete). Bounded: a device that never finishes is left alone. */
int virtio_reset(struct virtio_pci *vp) {
    virtio_set_status(vp, 0);
    uint64_t deadline = glue_uptime_ns() + GLUE_NS_PER_S;
    while (virtio_get_status(vp) != 0) {
        if (glue_uptime_ns() >= deadline) {
            glue_dev_logf(LOG_WARN, vp->name, "device status still 0x%02x 1 s after reset", virtio_get_status(vp));
            return HUSK_ETIMEDOUT;
        }
        glue_sleep_ns(GLUE_NS_PER_MS);
    }
    return 0;
}

uint64_t virtio_read_device_features(struct virtio_pci *vp) {
    bus_space_write_4(vp->common, VIRTIO_COMMON_DFSELECT, 0);
    uint64_t lo = bus_space_read_4(vp->common, VIRTIO_COMMON_DF);
    bus_space_write_4(vp->common, VIRTIO_COMMON_DFSELECT, 1);
    uint64_t hi = bus_space_read_4(vp->common, VIRTIO_COMMON_DF);
    return lo | (hi << 32);
}

void virtio_write_driver_features(struct virtio_pci *vp, uint64_t f) {
    bus_space_write_4(vp->common, VIRTIO_COMMON_GFSELECT, 0);
    bus_space_write_4(vp->common, VIRTIO_COMMON_GF, (uint32_t)f);
    bus_space_write_4(vp->common, VIRTIO_COMMON_GFSELECT, 1);
    bus_space_write_4(vp->common, VIRTIO_COMMON_GF, (uint32_t)(f >> 32));
}

void virtio_init_begin(struct virtio_pci *vp) {
    (void)virtio_reset(vp); /* a device slow to reset is logged; the handshake shows whether it works */
    virtio_set_status(vp, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_add_status(vp, VIRTIO_STATUS_DRIVER);
}

int virtio_negotiate(struct virtio_pci *vp, uint64_t required, uint64_t optional) {
    vp->dev_features = virtio_read_device_features(vp);
    uint64_t missing = required & ~vp->dev_features;
    if (missing != 0) {
        glue_dev_logf(LOG_ERR, vp->name, "the device does not offer required feature(s) 0x%llx (offers 0x%llx)%s",
                      (unsigned long long)missing, (unsigned long long)vp->dev_features,
                      (missing & VIRTIO_F_VERSION_1) ? ": no VIRTIO_F_VERSION_1, legacy virtio is not supported" : "");
        virtio_fail(vp);
        return HUSK_ENODEV;
    }
    vp->features = vp->dev_features & (required | optional);
    virtio_write_driver_features(vp, vp->features);
    virtio_add_status(vp, VIRTIO_STATUS_FEATURES_OK);
    /* 3.1.1 step 6: the device may refuse the subset; it then clears the bit. */
    if (!(virtio_get_status(vp) & VIRTIO_STATUS_FEATURES_OK)) {
        glue_dev_logf(LOG_ERR, vp->name, "the device refused features 0x%llx (FEATURES_OK not kept)",
                      (unsigned long long)vp->features);
        virtio_fail(vp);
        return HUSK_ENODEV;
    }
    return 0;
}

int virtio_init_end(struct virtio_pci *vp) {
    virtio_add_status(vp, VIRTIO_STATUS_DRIVER_OK);
    uint8_t st = virtio_get_status(vp);
    if ((st & VIRTIO_STATUS_DRIVER_OK) == 0 || (st & VIRTIO_STATUS_NEEDS_RESET)) {
        glue_dev_logf(LOG_ERR, vp->name, "device status 0x%02x after DRIVER_OK", st);
        return HUSK_EIO;
    }
    return 0;
}

const char *virtio_health(struct virtio_pci *vp, uint8_t *status) {
    uint8_t st = virtio_get_status(vp);
    if (status != NULL) *status = st;
    if (st & VIRTIO_STATUS_NEEDS_RESET) return "DEVICE_NEEDS_RESET";
    if ((st & VIRTIO_STATUS_DRIVER_OK) == 0) return "the device lost DRIVER_OK (reset or power loss)";
    return NULL;
}
