/*
 * config.h of the ext2fs component: what e2fsprogs' configure would write
 * after probing a host C library. A component has no host C library: it has
 * the glue's C subset (husk/glue/csubset.h, the standard headers in
 * Sources/Glue/API/csubset), so this port states that environment instead of
 * a configure run (docs/fs.md, "Vendoring"). Every HAVE_ left out here is
 * deliberate: the code it guards (threads, host files, devices, ioctls,
 * mmap, locale) is not part of the component.
 */
#ifndef E2PORT_CONFIG_H
#define E2PORT_CONFIG_H

/* Headers the C subset provides. */
#define HAVE_SYS_TYPES_H 1
#define HAVE_ERRNO_H     1
#define HAVE_INTTYPES_H  1
#define HAVE_STDINT_H    1
#define HAVE_STDLIB_H    1
#define HAVE_STRING_H    1
#define HAVE_SYS_STAT_H  1
#define HAVE_STRNLEN     1

/* x86-64, little endian: WORDS_BIGENDIAN stays undefined. */
#define SIZEOF_SHORT     2
#define SIZEOF_INT       4
#define SIZEOF_LONG      8
#define SIZEOF_LONG_LONG 8
#define SIZEOF_OFF_T     8
#define SIZEOF_TIME_T    8

#endif
