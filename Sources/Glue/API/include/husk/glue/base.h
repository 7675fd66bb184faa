/*
 * husk/glue/base.h — types shared by the glue headers.
 */
#ifndef HUSK_GLUE_BASE_H
#define HUSK_GLUE_BASE_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <husk/hypercall.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Addresses and sizes as a device sees them (NetBSD's names). */
typedef uint64_t bus_addr_t;
typedef uint64_t bus_size_t;

#define GLUE_NORETURN         __attribute__((__noreturn__))
#define GLUE_PRINTFLIKE(f, a) __attribute__((__format__(__printf__, f, a)))

#ifdef __cplusplus
}
#endif

#endif
