/*
 * husk_component_virtio_net.h — driver for VIRTIO 1.x network devices on
 * the modern PCI transport (1af4:1041). Each device it attaches is offered
 * to network stacks as an interface in the glue's NIC registry
 * (husk/glue/netif.h), "vnet0", "vnet1", ...
 */
#ifndef HUSK_COMPONENT_VIRTIO_NET_H
#define HUSK_COMPONENT_VIRTIO_NET_H

#include <husk/hypercall.h>

extern const struct husk_component husk_component_virtio_net;

#endif
