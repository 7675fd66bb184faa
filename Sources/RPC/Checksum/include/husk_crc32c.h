/* husk_crc32c.h — CRC-32C for the echo interface's checksum operation and
 * its tests. Host-only. */
#ifndef HUSK_CRC32C_H
#define HUSK_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C (Castagnoli, reflected 0x82F63B78, init and final xor ~0) of len
 * bytes, continuing from seed (0 to start). SSE4.2 when available. */
uint32_t husk_crc32c(uint32_t seed, const void *data, size_t len);

#endif
