/*
 * husk_component_edu.h — driver for QEMU's educational PCI device "edu"
 * (1234:11e8). It offers the device's DMA engine to other components as
 * the dma_engine "edu" (see husk/glue/dmaengine.h).
 */
#ifndef HUSK_COMPONENT_EDU_H
#define HUSK_COMPONENT_EDU_H

#include <husk/hypercall.h>

extern const struct husk_component husk_component_edu;

#endif
