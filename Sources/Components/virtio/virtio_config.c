/*
 * virtio_config.c — the device-specific configuration structure
 * (4.1.4.6): field accessors and the config_generation loop that makes a
 * multi-field read consistent (4.1.4.3.1, 2.5.1).
 */
#include <husk/virtio.h>

/* A device whose generation changes on every read would hang attach: give
 * up after this many tries. */
#define VIRTIO_CONFIG_TRIES 16u

int virtio_config_read(struct virtio_pci *vp, void (*read)(struct virtio_pci *vp, void *arg), void *arg) {
    for (unsigned tries = 0; tries < VIRTIO_CONFIG_TRIES; tries++) {
        uint8_t gen = bus_space_read_1(vp->common, VIRTIO_COMMON_CFGGEN);
        read(vp, arg);
        if (bus_space_read_1(vp->common, VIRTIO_COMMON_CFGGEN) == gen) return 0;
    }
    glue_dev_logf(LOG_ERR, vp->name, "device configuration keeps changing (config_generation)");
    return HUSK_EIO;
}

/* Reads past the structure read all-ones, like a missing register, rather
 * than reaching whatever else the BAR holds. */
static bool virtio_config_in(struct virtio_pci *vp, bus_size_t off, bus_size_t width) {
    return off + width <= vp->device_len;
}

uint8_t virtio_config_read_1(struct virtio_pci *vp, bus_size_t off) {
    return virtio_config_in(vp, off, 1) ? bus_space_read_1(vp->device, off) : 0xff;
}

uint16_t virtio_config_read_2(struct virtio_pci *vp, bus_size_t off) {
    return virtio_config_in(vp, off, 2) ? bus_space_read_2(vp->device, off) : 0xffff;
}

uint32_t virtio_config_read_4(struct virtio_pci *vp, bus_size_t off) {
    return virtio_config_in(vp, off, 4) ? bus_space_read_4(vp->device, off) : 0xffffffffu;
}

/* 4.1.3.1: 64-bit fields are read as two 32-bit halves, low first. */
uint64_t virtio_config_read_8(struct virtio_pci *vp, bus_size_t off) {
    uint64_t lo = virtio_config_read_4(vp, off);
    uint64_t hi = virtio_config_read_4(vp, off + 4);
    return lo | (hi << 32);
}
