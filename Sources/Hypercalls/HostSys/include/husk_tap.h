/* husk_tap.h — TAP interfaces for the host's frame devices (frame_* in
 * husk/hypercall.h): the ioctls and struct ifreq Swift cannot build.
 * Host-only. Every function returns -1 with errno set on failure. */
#ifndef HUSK_TAP_H
#define HUSK_TAP_H

#include <stdint.h>

/* Attach to the TAP interface `name` (IFF_TAP | IFF_NO_PI), non-blocking
 * and close-on-exec. Without `create`, an interface that does not exist is
 * ENOENT (TUNSETIFF would create it); with it, a new one is made and is
 * removed when the descriptor closes. *created tells which happened. */
int husk_tap_open(const char *name, int create, int *created);

/* The MTU of interface `name` (SIOCGIFMTU). */
int husk_tap_mtu(const char *name);

#endif
