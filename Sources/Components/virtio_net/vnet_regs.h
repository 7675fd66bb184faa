/*
 * vnet_regs.h — the network device's part of the VIRTIO 1.x specification,
 * named after the spec: its feature bits (5.1.3), configuration (5.1.4) and
 * the header every frame carries (5.1.6). Status, transport and virtqueue
 * definitions are the virtio library's (husk/virtio_regs.h). All fields are
 * little-endian.
 */
#ifndef VNET_REGS_H
#define VNET_REGS_H

#include <husk/virtio_regs.h>

#define VIRTIO_PCI_DEVICE_NET (VIRTIO_PCI_DEVICE_MODERN + 1) /* 0x1041 */

/* 5.1.3 feature bits (the device-independent ones are in husk/virtio_regs.h) */
#define VIRTIO_NET_F_MTU       (1ull << 3)
#define VIRTIO_NET_F_MAC       (1ull << 5)
#define VIRTIO_NET_F_MRG_RXBUF (1ull << 15)
#define VIRTIO_NET_F_STATUS    (1ull << 16)

/* 5.1.4 struct virtio_net_config */
#define VIRTIO_NET_CFG_MAC    0x00 /* u8[6], with VIRTIO_NET_F_MAC */
#define VIRTIO_NET_CFG_STATUS 0x06 /* u16, with VIRTIO_NET_F_STATUS */
#define VIRTIO_NET_S_LINK_UP  1

/* 5.1.2 virtqueues: receiveq1, transmitq1 (no control queue) */
#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

/* 5.1.6 struct virtio_net_hdr: with VERSION_1 always 12 bytes, num_buffers
 * included. The driver sends zeros (no checksum or segmentation offload);
 * the device says in num_buffers how many buffers a received frame took
 * (more than one only with MRG_RXBUF). */
struct virtio_net_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
};
#define VIRTIO_NET_HDR_LEN 12u

#endif
