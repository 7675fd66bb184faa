/*
 * vblk_pci.c — the modern PCI transport (VIRTIO 1.x, 4.1): find the
 * vendor capabilities that locate the common, notify, ISR and device
 * configuration structures, map them with bus_space, and the register
 * accesses built on them (status, features, device configuration).
 */
#include "vblk_regs.h"
#include "vblk_private.h"

struct vblk_cap {
    bool found;
    uint8_t bar;
    uint32_t offset, length;
    uint32_t notify_mult;
};

/* 4.1.4: walk the capability list, keep the first capability of each
 * cfg_type 1..4 whose BAR is valid (a driver should use the first one it
 * can). The walk is bounded: a looping list cannot hang attach. */
static void vblk_find_caps(struct vblk_softc *sc, struct vblk_cap caps[5]) {
    struct pci_attach_args *pa = sc->pa;
    memset(caps, 0, 5 * sizeof caps[0]);
    if (!(glue_pci_conf_read_2(pa, PCI_STATUS) & PCI_STATUS_CAP_LIST)) return;
    uint32_t off = glue_pci_conf_read_1(pa, PCI_CAPLIST_PTR) & 0xfcu;
    for (unsigned guard = 0; off >= 0x40 && off < 0x100 && guard < 48; guard++) {
        uint8_t id = glue_pci_conf_read_1(pa, off);
        uint8_t next = glue_pci_conf_read_1(pa, off + 1);
        if (id == PCI_CAP_ID_VENDOR && off + 16 <= 0x100) {
            uint8_t type = glue_pci_conf_read_1(pa, off + VIRTIO_PCI_CAP_CFG_TYPE);
            uint8_t bar = glue_pci_conf_read_1(pa, off + VIRTIO_PCI_CAP_BAR);
            if (type >= VIRTIO_PCI_CAP_COMMON_CFG && type <= VIRTIO_PCI_CAP_DEVICE_CFG && bar <= 5 &&
                !caps[type].found) {
                struct vblk_cap *c = &caps[type];
                c->bar = bar;
                c->offset = glue_pci_conf_read(pa, off + VIRTIO_PCI_CAP_OFFSET);
                c->length = glue_pci_conf_read(pa, off + VIRTIO_PCI_CAP_LENGTH);
                if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && off + 20 <= 0x100)
                    c->notify_mult = glue_pci_conf_read(pa, off + VIRTIO_PCI_NOTIFY_MULT);
                c->found = true;
            }
        }
        off = next & 0xfcu;
    }
}

static int vblk_map_one(struct vblk_softc *sc, const struct vblk_cap *c, const char *what, uint32_t min_len,
                        bus_space_handle_t *out) {
    if (!c->found) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "no virtio %s capability: not a modern (VIRTIO 1.x) device",
                      what);
        return HUSK_ENODEV;
    }
    if (c->length < min_len) {
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "virtio %s structure is %u bytes, need %u", what, c->length,
                      min_len);
        return HUSK_ENODEV;
    }
    int r = bus_space_map(sc->pa, c->bar, c->offset, c->length, out);
    if (r != 0)
        glue_dev_logf(LOG_ERR, sc->pa->pa_id.address,
                      "cannot map the %s structure (BAR %u offset 0x%x length 0x%x): %s", what, c->bar, c->offset,
                      c->length, glue_strerror(r));
    return r;
}

int vblk_pci_map(struct vblk_softc *sc) {
    struct vblk_cap caps[5];
    vblk_find_caps(sc, caps);
    int r =
        vblk_map_one(sc, &caps[VIRTIO_PCI_CAP_COMMON_CFG], "common configuration", VIRTIO_COMMON_MIN_LEN, &sc->common);
    if (r == 0) r = vblk_map_one(sc, &caps[VIRTIO_PCI_CAP_NOTIFY_CFG], "notification", 2, &sc->notify);
    if (r == 0) r = vblk_map_one(sc, &caps[VIRTIO_PCI_CAP_ISR_CFG], "ISR status", 1, &sc->isr);
    if (r == 0)
        r = vblk_map_one(sc, &caps[VIRTIO_PCI_CAP_DEVICE_CFG], "device configuration", VIRTIO_BLK_CFG_BLK_SIZE + 4,
                         &sc->devcfg);
    if (r != 0) return r;
    sc->notify_mult = caps[VIRTIO_PCI_CAP_NOTIFY_CFG].notify_mult;
    sc->notify_len = caps[VIRTIO_PCI_CAP_NOTIFY_CFG].length;
    glue_dev_logf(LOG_DEBUG, sc->pa->pa_id.address,
                  "common BAR%u+0x%x, notify BAR%u+0x%x (x%u), ISR BAR%u+0x%x, device BAR%u+0x%x", caps[1].bar,
                  caps[1].offset, caps[2].bar, caps[2].offset, sc->notify_mult, caps[3].bar, caps[3].offset,
                  caps[4].bar, caps[4].offset);
    return 0;
}

void vblk_pci_unmap(struct vblk_softc *sc) {
    bus_space_handle_t *hs[] = {&sc->common, &sc->notify, &sc->isr, &sc->devcfg};
    for (unsigned i = 0; i < 4; i++) {
        if (*hs[i] != NULL) {
            bus_space_unmap(*hs[i]);
            *hs[i] = NULL;
        }
    }
}

uint8_t vblk_get_status(struct vblk_softc *sc) { return bus_space_read_1(sc->common, VIRTIO_COMMON_STATUS); }

void vblk_set_status(struct vblk_softc *sc, uint8_t status) {
    bus_space_write_1(sc->common, VIRTIO_COMMON_STATUS, status);
    bus_space_barrier(sc->common, VIRTIO_COMMON_STATUS, 1, BUS_SPACE_BARRIER_WRITE | BUS_SPACE_BARRIER_READ);
}

/* 4.1.4.3.2: write 0, then wait until the device reads back 0 (the reset
 * is complete). Bounded: a device that never finishes is left alone. */
void vblk_device_reset(struct vblk_softc *sc) {
    vblk_set_status(sc, 0);
    uint64_t deadline = glue_uptime_ns() + GLUE_NS_PER_S;
    while (vblk_get_status(sc) != 0) {
        if (glue_uptime_ns() >= deadline) {
            glue_dev_logf(LOG_WARN, sc->pa->pa_id.address, "device status still 0x%02x 1 s after reset",
                          vblk_get_status(sc));
            return;
        }
        glue_sleep_ns(GLUE_NS_PER_MS);
    }
}

uint64_t vblk_read_device_features(struct vblk_softc *sc) {
    bus_space_write_4(sc->common, VIRTIO_COMMON_DFSELECT, 0);
    uint64_t lo = bus_space_read_4(sc->common, VIRTIO_COMMON_DF);
    bus_space_write_4(sc->common, VIRTIO_COMMON_DFSELECT, 1);
    uint64_t hi = bus_space_read_4(sc->common, VIRTIO_COMMON_DF);
    return lo | (hi << 32);
}

void vblk_write_driver_features(struct vblk_softc *sc, uint64_t f) {
    bus_space_write_4(sc->common, VIRTIO_COMMON_GFSELECT, 0);
    bus_space_write_4(sc->common, VIRTIO_COMMON_GF, (uint32_t)f);
    bus_space_write_4(sc->common, VIRTIO_COMMON_GFSELECT, 1);
    bus_space_write_4(sc->common, VIRTIO_COMMON_GF, (uint32_t)(f >> 32));
}

/* 64-bit fields as two 32-bit halves, low first (4.1.3.1). */
void vblk_write_common_64(struct vblk_softc *sc, bus_size_t off, uint64_t v) {
    bus_space_write_4(sc->common, off, (uint32_t)v);
    bus_space_write_4(sc->common, off + 4, (uint32_t)(v >> 32));
}

/* 5.2.4 / 4.1.4.3.1: read capacity, seg_max and blk_size; retry while
 * config_generation changes under us. */
int vblk_read_config(struct vblk_softc *sc) {
    for (unsigned tries = 0; tries < 16; tries++) {
        uint8_t gen = bus_space_read_1(sc->common, VIRTIO_COMMON_CFGGEN);
        uint64_t lo = bus_space_read_4(sc->devcfg, VIRTIO_BLK_CFG_CAPACITY);
        uint64_t hi = bus_space_read_4(sc->devcfg, VIRTIO_BLK_CFG_CAPACITY + 4);
        uint32_t seg_max = bus_space_read_4(sc->devcfg, VIRTIO_BLK_CFG_SEG_MAX);
        uint32_t blk_size = bus_space_read_4(sc->devcfg, VIRTIO_BLK_CFG_BLK_SIZE);
        if (bus_space_read_1(sc->common, VIRTIO_COMMON_CFGGEN) != gen) continue;
        sc->capacity = lo | (hi << 32);
        sc->seg_max = (sc->dev_features & VIRTIO_BLK_F_SEG_MAX) ? seg_max : 0;
        sc->blk_size = VIRTIO_BLK_SECTOR_SIZE;
        if (sc->dev_features & VIRTIO_BLK_F_BLK_SIZE) {
            if (blk_size >= 512 && blk_size <= 65536 && (blk_size & (blk_size - 1)) == 0)
                sc->blk_size = blk_size;
            else
                glue_dev_logf(LOG_WARN, sc->pa->pa_id.address,
                              "device blk_size %u is not a power of two in 512..65536; using 512", blk_size);
        }
        return 0;
    }
    glue_dev_logf(LOG_ERR, sc->pa->pa_id.address, "device configuration keeps changing (config_generation)");
    return HUSK_EIO;
}
