/* The blkfile component: a host file or block device served as a disk
 * (husk/glue/disk.h) through the hypercall block I/O. */
#ifndef HUSK_COMPONENT_BLKFILE_H
#define HUSK_COMPONENT_BLKFILE_H
#include <husk/hypercall.h>
extern const struct husk_component husk_component_blkfile;
#endif
