/* CRC-32C (Castagnoli) for the host side: the SSE4.2 crc32 instruction, 8
 * bytes per step, when the CPU has it (every x86-64 server of the last
 * decade); a table loop otherwise. Bit-exact with each other. */
#include "husk_crc32c.h"

#include <stdint.h>
#include <string.h>

static uint32_t crc_table[256];

static void crc_table_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc_bytes(uint32_t crc, const uint8_t *p, size_t n) {
    if (crc_table[1] == 0) crc_table_init(); /* idempotent: racing threads write the same values */
    while (n--) crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t husk_crc32c(uint32_t seed, const void *data, size_t len) {
    uint32_t crc = ~seed;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) return ~crc_sse42(crc, data, len);
#endif
    return ~crc_bytes(crc, data, len);
}
