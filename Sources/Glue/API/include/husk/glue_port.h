/*
 * husk/glue_port.h: what a host written in C (a port: docs/porting.md)
 * calls in the glue. Not for components.
 */
#ifndef HUSK_GLUE_PORT_H
#define HUSK_GLUE_PORT_H

#include <husk/hypercall.h>

/* Give the glue the table it talks to, once, before any component's init.
 * The glue keeps the pointer: the table must outlive every component. */
void husk_glue_bind(const struct husk_hyp *hyp);

/* After a component's fini (and before its ctx is forgotten): withdraw
 * what it still holds in the glue (disks, NICs, socket providers, PCI
 * drivers, DMA engines, workqueues, callouts, DMA memory). Blocks. */
void husk_glue_component_finished(husk_ctx *ctx);

#endif
