/* libfuse3's low-level API (Debian's libfuse3-dev, `pkg-config fuse3`) for
 * the FUSE frontend of the file-system server (Sources/Servers/FUSE,
 * docs/fs.md). The API version is fixed here, before the header. */
#ifndef HUSK_CFUSE3_SHIM_H
#define HUSK_CFUSE3_SHIM_H
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#endif
