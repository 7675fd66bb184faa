/*
 * husk_component_virtio_blk.h — driver for VIRTIO 1.x block devices on the
 * modern PCI transport (1af4:1042). Each device it attaches is offered to
 * other components as a disk (husk/glue/disk.h), "vblk0", "vblk1", ...
 */
#ifndef HUSK_COMPONENT_VIRTIO_BLK_H
#define HUSK_COMPONENT_VIRTIO_BLK_H

#include <husk/hypercall.h>

extern const struct husk_component husk_component_virtio_blk;

#endif
