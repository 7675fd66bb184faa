/* The Husk hypercall conformance suite, itself a component: run it on a host
 * and it exercises every operation of the hypercall table (see
 * docs/conformance.md). */
#ifndef HUSK_COMPONENT_CONFORMANCE_H
#define HUSK_COMPONENT_CONFORMANCE_H

#include <husk/hypercall.h>

extern const struct husk_component husk_component_conformance;

#endif
