/*
 * arch/cc.h — the compiler and platform part of lwIP's port (lwip/arch.h
 * includes it first). Components build freestanding: lwIP gets stdint.h,
 * stddef.h and limits.h from the compiler, string.h, stdlib.h and errno.h
 * from the glue's C subset (Sources/Glue/API/csubset), and everything else
 * from here. The lwport_* functions are in sys_arch.c.
 */
#ifndef LWIP_ARCH_CC_H
#define LWIP_ARCH_CC_H

#include <husk/glue/base.h>
#include <errno.h> /* the C subset's: errno and the E* names (LWIP_ERRNO_STDINCLUDE) */

/* No inttypes.h or ctype.h in the C subset: lwIP's own ctype macros, and
 * printf formats for its types that glue_vsnprintf understands. */
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H    1
#define X8_F               "02hhx"
#define U16_F              "hu"
#define S16_F              "hd"
#define X16_F              "hx"
#define U32_F              "u"
#define S32_F              "d"
#define X32_F              "x"
#define SZT_F              "zu"

#define BYTE_ORDER (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? LITTLE_ENDIAN : BIG_ENDIAN)

/* Diagnostics go to the host's log through the glue; a failed assertion
 * panics the component (the glue's KASSERT is always on too). */
HUSK_PRIVATE void lwport_diag(const char *fmt, ...) GLUE_PRINTFLIKE(1, 2);
HUSK_PRIVATE void lwport_assert(const char *msg, int line, const char *file) GLUE_NORETURN;
#define LWIP_PLATFORM_DIAG(x) \
    do {                      \
        lwport_diag x;        \
    } while (0)
#define LWIP_PLATFORM_ASSERT(x) lwport_assert((x), __LINE__, __FILE__)

/* Initial sequence numbers, ports, IPv6 interface identifiers: the host's
 * cryptographic random source (hyp->random_bytes). */
HUSK_PRIVATE uint32_t lwport_rand(void);
#define LWIP_RAND() lwport_rand()

/* Hooks named in lwipopts.h. */
HUSK_PRIVATE void lwport_assert_core_locked(void);
HUSK_PRIVATE extern void *lwport_heap;

#endif
