/* libvirt's C API for the VMHost module (libvirt-dev through pkg-config).
 * Only the host side of `husk vm` links it: guests run static executables
 * without libvirt (ThirdPartyC/README.md). */
#ifndef HUSK_CLIBVIRT_SHIM_H
#define HUSK_CLIBVIRT_SHIM_H
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#endif
