/*
 * blkcopy_crc32c.c — CRC32C (Castagnoli), the reflected polynomial
 * 0x82F63B78, initial value and final XOR all-ones, as used by iSCSI, ext4
 * metadata and SSE4.2's crc32 instruction. Check value: "123456789" ->
 * 0xE3069283.
 *
 * Eight tables of 256 entries ("slicing by 8"): table[0] is the CRC of one
 * byte; table[k][b] is the CRC of byte b followed by k zero bytes, so eight
 * input bytes fold into the CRC with eight lookups. The tables are built
 * once, from init, before any thread can use them.
 */
#include "blkcopy_private.h"

#define BLKCOPY_CRC32C_POLY 0x82F63B78u

static uint32_t blkcopy_crc_table[8][256];
static bool blkcopy_crc_ready;

void blkcopy_crc32c_init(void) {
    if (blkcopy_crc_ready) return;
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int bit = 0; bit < 8; bit++) c = (c & 1u) ? (c >> 1) ^ BLKCOPY_CRC32C_POLY : c >> 1;
        blkcopy_crc_table[0][b] = c;
    }
    for (int k = 1; k < 8; k++)
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t prev = blkcopy_crc_table[k - 1][b];
            blkcopy_crc_table[k][b] = (prev >> 8) ^ blkcopy_crc_table[0][prev & 0xffu];
        }
    blkcopy_crc_ready = true;
}

static inline uint32_t blkcopy_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t blkcopy_crc32c(uint32_t crc, const void *buf, uint64_t len) {
    const uint8_t *p = buf;
    crc = ~crc;
    /* Single bytes up to an 8-byte boundary, so that the main loop reads
     * aligned words (the compiler turns blkcopy_le32 into one load). */
    while (len > 0 && ((uintptr_t)p & 7u) != 0) {
        crc = (crc >> 8) ^ blkcopy_crc_table[0][(crc ^ *p++) & 0xffu];
        len--;
    }
    while (len >= 8) {
        uint32_t lo = blkcopy_le32(p) ^ crc;
        uint32_t hi = blkcopy_le32(p + 4);
        crc = blkcopy_crc_table[7][lo & 0xffu] ^ blkcopy_crc_table[6][(lo >> 8) & 0xffu] ^
              blkcopy_crc_table[5][(lo >> 16) & 0xffu] ^ blkcopy_crc_table[4][lo >> 24] ^
              blkcopy_crc_table[3][hi & 0xffu] ^ blkcopy_crc_table[2][(hi >> 8) & 0xffu] ^
              blkcopy_crc_table[1][(hi >> 16) & 0xffu] ^ blkcopy_crc_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        crc = (crc >> 8) ^ blkcopy_crc_table[0][(crc ^ *p++) & 0xffu];
        len--;
    }
    return ~crc;
}

/* ---- Combining CRCs of consecutive pieces.
 *
 * Feeding a zero bit into the (reflected) CRC register multiplies the
 * register, read as a polynomial over GF(2) with bit 31 holding x^0, by x
 * modulo the Castagnoli polynomial. Working through the initial and final
 * inversions gives
 *     CRC32C(A || B) = CRC32C(A) * x^(8 * len(B)) + CRC32C(B)   (mod P)
 * so the CRC of a whole device follows from the CRCs of its chunks, which
 * can then be computed in one pass each. */

static uint32_t blkcopy_gf_times_x(uint32_t a) { return (a & 1u) ? (a >> 1) ^ BLKCOPY_CRC32C_POLY : a >> 1; }

/* a * b mod P, both reflected. */
static uint32_t blkcopy_gf_mul(uint32_t a, uint32_t b) {
    uint32_t prod = 0;
    for (int i = 0; i < 32; i++) {
        if (a & (0x80000000u >> i)) /* a has the term x^i: add b * x^i */
            prod ^= b;
        b = blkcopy_gf_times_x(b);
    }
    return prod;
}

/* x^(8 * nbytes) mod P, by square and multiply. */
static uint32_t blkcopy_gf_x8n(uint64_t nbytes) {
    uint32_t result = 0x80000000u;    /* 1 */
    uint32_t base = 0x80000000u >> 8; /* x^8: one zero byte */
    while (nbytes != 0) {
        if (nbytes & 1u) result = blkcopy_gf_mul(result, base);
        base = blkcopy_gf_mul(base, base);
        nbytes >>= 1;
    }
    return result;
}

uint32_t blkcopy_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
    return blkcopy_gf_mul(crc_a, blkcopy_gf_x8n(len_b)) ^ crc_b;
}
