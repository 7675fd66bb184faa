/*
 * husk_component_lwip.h — lwIP 2.1.3 (vendored unmodified in ThirdPartyC/lwip)
 * as a TCP/IP stack on an interface of the glue's NIC registry
 * (husk/glue/netif.h). docs/lwip.md.
 */
#ifndef HUSK_COMPONENT_LWIP_H
#define HUSK_COMPONENT_LWIP_H

#include <husk/hypercall.h>

extern const struct husk_component husk_component_lwip;

#endif
