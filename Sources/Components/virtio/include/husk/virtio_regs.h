/*
 * husk/virtio_regs.h — the device-independent parts of the VIRTIO 1.x
 * specification that drivers on the modern PCI transport use, named after
 * the spec (section numbers of VIRTIO 1.2): device status (2.1), reserved
 * feature bits (6), the PCI vendor capabilities and the common
 * configuration layout (4.1.4), ISR status (4.1.4.5) and the split
 * virtqueue (2.7). All fields are little-endian. Device types keep their
 * own feature bits and configuration layouts (vblk_regs.h, vnet_regs.h).
 */
#ifndef HUSK_VIRTIO_REGS_H
#define HUSK_VIRTIO_REGS_H

#include <husk/glue/base.h>

#define VIRTIO_PCI_VENDOR_ID     0x1af4
#define VIRTIO_PCI_DEVICE_MODERN 0x1040 /* + the device id (1 net, 2 block): modern-only devices */

/* 2.1 device status */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER      0x02
#define VIRTIO_STATUS_DRIVER_OK   0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

/* 6 reserved feature bits (device-independent) */
#define VIRTIO_F_INDIRECT_DESC   (1ull << 28)
#define VIRTIO_F_EVENT_IDX       (1ull << 29)
#define VIRTIO_F_VERSION_1       (1ull << 32)
#define VIRTIO_F_ACCESS_PLATFORM (1ull << 33)
#define VIRTIO_F_RING_PACKED     (1ull << 34)

/* 4.1.4 struct virtio_pci_cap (a PCI vendor capability, id 0x09) */
#define VIRTIO_PCI_CAP_CFG_TYPE   3  /* u8 */
#define VIRTIO_PCI_CAP_BAR        4  /* u8 */
#define VIRTIO_PCI_CAP_OFFSET     8  /* u32 */
#define VIRTIO_PCI_CAP_LENGTH     12 /* u32 */
#define VIRTIO_PCI_CAP_LEN        16 /* bytes of struct virtio_pci_cap */
#define VIRTIO_PCI_NOTIFY_MULT    16 /* u32 notify_off_multiplier, notify capability only */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5 /* the config-space window: not used */

/* 4.1.4.3 struct virtio_pci_common_cfg */
#define VIRTIO_COMMON_DFSELECT  0x00 /* u32 device_feature_select */
#define VIRTIO_COMMON_DF        0x04 /* u32 device_feature */
#define VIRTIO_COMMON_GFSELECT  0x08 /* u32 driver_feature_select */
#define VIRTIO_COMMON_GF        0x0C /* u32 driver_feature */
#define VIRTIO_COMMON_MSIX      0x10 /* u16 msix_config */
#define VIRTIO_COMMON_NUMQ      0x12 /* u16 num_queues */
#define VIRTIO_COMMON_STATUS    0x14 /* u8  device_status */
#define VIRTIO_COMMON_CFGGEN    0x15 /* u8  config_generation */
#define VIRTIO_COMMON_Q_SELECT  0x16 /* u16 queue_select */
#define VIRTIO_COMMON_Q_SIZE    0x18 /* u16 queue_size */
#define VIRTIO_COMMON_Q_MSIX    0x1A /* u16 queue_msix_vector */
#define VIRTIO_COMMON_Q_ENABLE  0x1C /* u16 queue_enable */
#define VIRTIO_COMMON_Q_NOFF    0x1E /* u16 queue_notify_off */
#define VIRTIO_COMMON_Q_DESCLO  0x20 /* u64 queue_desc */
#define VIRTIO_COMMON_Q_AVAILLO 0x28 /* u64 queue_driver */
#define VIRTIO_COMMON_Q_USEDLO  0x30 /* u64 queue_device */
#define VIRTIO_COMMON_MIN_LEN   0x38
#define VIRTIO_MSI_NO_VECTOR    0xffffu

/* 4.1.4.5 ISR status: reading returns and clears it (and drops INTx) */
#define VIRTIO_ISR_QUEUE  0x1
#define VIRTIO_ISR_CONFIG 0x2

/* 2.7.5 struct virtq_desc */
struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

/* 2.7.6 struct virtq_avail: flags, idx, ring[size], used_event */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_AVAIL_FLAGS          0
#define VIRTQ_AVAIL_IDX            2
#define VIRTQ_AVAIL_RING           4
/* 2.7.8 struct virtq_used: flags, idx, ring[size] of {u32 id, u32 len}, avail_event */
#define VIRTQ_USED_FLAGS           0
#define VIRTQ_USED_IDX             2
#define VIRTQ_USED_RING            4
struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

/* 2.7: a split queue's size is a power of two up to 32768. */
#define VIRTQ_SIZE_MAX 32768u

#endif
