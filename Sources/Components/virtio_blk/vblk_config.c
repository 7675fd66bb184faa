/*
 * vblk_config.c — the block device's configuration structure (5.2.4):
 * capacity, seg_max and blk_size, read consistently through the virtio
 * library's config_generation loop.
 */
#include "vblk_regs.h"
#include "vblk_private.h"

struct vblk_config {
    uint64_t capacity;
    uint32_t seg_max;
    uint32_t blk_size;
};

static void vblk_config_fields(struct virtio_pci *vp, void *arg) {
    struct vblk_config *c = arg;
    c->capacity = virtio_config_read_8(vp, VIRTIO_BLK_CFG_CAPACITY);
    c->seg_max = virtio_config_read_4(vp, VIRTIO_BLK_CFG_SEG_MAX);
    c->blk_size = virtio_config_read_4(vp, VIRTIO_BLK_CFG_BLK_SIZE);
}

/* Fields whose feature was not offered are ignored; a blk_size that no
 * disk could have falls back to 512 (logged). */
int vblk_read_config(struct vblk_softc *sc) {
    struct vblk_config c;
    int r = virtio_config_read(&sc->vp, vblk_config_fields, &c);
    if (r != 0) return r;
    uint64_t offered = sc->vp.dev_features;
    sc->capacity = c.capacity;
    sc->seg_max = (offered & VIRTIO_BLK_F_SEG_MAX) ? c.seg_max : 0;
    sc->blk_size = VIRTIO_BLK_SECTOR_SIZE;
    if (offered & VIRTIO_BLK_F_BLK_SIZE) {
        if (c.blk_size >= 512 && c.blk_size <= 65536 && (c.blk_size & (c.blk_size - 1)) == 0)
            sc->blk_size = c.blk_size;
        else
            glue_dev_logf(LOG_WARN, sc->vp.name, "device blk_size %u is not a power of two in 512..65536; using 512",
                          c.blk_size);
    }
    return 0;
}
