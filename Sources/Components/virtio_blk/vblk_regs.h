/*
 * vblk_regs.h — the block device's part of the VIRTIO 1.x specification,
 * named after the spec: its feature bits (5.2.3), configuration (5.2.4)
 * and requests (5.2.6). Status, transport and virtqueue definitions are
 * the virtio library's (husk/virtio_regs.h). All fields are little-endian.
 */
#ifndef VBLK_REGS_H
#define VBLK_REGS_H

#include <husk/virtio_regs.h>

#define VIRTIO_PCI_DEVICE_BLK (VIRTIO_PCI_DEVICE_MODERN + 2) /* 0x1042 */

/* 5.2.3 feature bits (the device-independent ones are in husk/virtio_regs.h) */
#define VIRTIO_BLK_F_SIZE_MAX (1ull << 1)
#define VIRTIO_BLK_F_SEG_MAX  (1ull << 2)
#define VIRTIO_BLK_F_RO       (1ull << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6)
#define VIRTIO_BLK_F_FLUSH    (1ull << 9)

/* 5.2.4 struct virtio_blk_config */
#define VIRTIO_BLK_CFG_CAPACITY 0x00 /* u64, in 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX 0x08 /* u32 */
#define VIRTIO_BLK_CFG_SEG_MAX  0x0C /* u32 */
#define VIRTIO_BLK_CFG_BLK_SIZE 0x14 /* u32 */

/* 5.2.6 requests: header {type, reserved, sector}, data, status byte.
 * sector is always in 512-byte units, whatever blk_size is. */
struct virtio_blk_outhdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};
#define VIRTIO_BLK_T_IN        0
#define VIRTIO_BLK_T_OUT       1
#define VIRTIO_BLK_T_FLUSH     4
#define VIRTIO_BLK_S_OK        0
#define VIRTIO_BLK_S_IOERR     1
#define VIRTIO_BLK_S_UNSUPP    2
#define VIRTIO_BLK_SECTOR_SIZE 512u

#endif
