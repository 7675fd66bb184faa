/* The blkcopy component: copies one block device to another through DMA
 * buffers, offloading the copy to a DMA engine when a driver offers one. */
#ifndef HUSK_COMPONENT_BLKCOPY_H
#define HUSK_COMPONENT_BLKCOPY_H
#include <husk/hypercall.h>
extern const struct husk_component husk_component_blkcopy;
#endif
