/* The ext2fs component: an ext2/3/4 file system on a glue disk, through
 * e2fsprogs' libext2fs (ThirdPartyC/e2fsprogs, docs/fs.md). */
#ifndef HUSK_COMPONENT_EXT2FS_H
#define HUSK_COMPONENT_EXT2FS_H
#include <husk/hypercall.h>
extern const struct husk_component husk_component_ext2fs;
#endif
