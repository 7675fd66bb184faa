/*
 * husk_component_tap.h — a host TAP interface as a NIC in the glue's
 * registry (husk/glue/netif.h), through the hypercall table's frame I/O
 * (ABI 1.1). The embedded default NIC on the posix backend.
 */
#ifndef HUSK_COMPONENT_TAP_H
#define HUSK_COMPONENT_TAP_H

#include <husk/hypercall.h>

extern const struct husk_component husk_component_tap;

#endif
