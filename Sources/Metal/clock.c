/*
 * clock.c — the monotonic clock is the TSC, calibrated once against the PIT
 * (channel 2, gated through port 0x61, 50 ms); the wall clock is the CMOS
 * RTC read at boot plus the monotonic clock since. Under QEMU TCG the TSC
 * follows the host's clock, so both agree with real time.
 */
#include "metal.h"

#define PIT_HZ 1193182ull

static uint64_t tsc_boot, tsc_hz, ns_mult; /* ns = ticks * ns_mult >> 32 */
static uint64_t wall_boot_ns;

static uint8_t cmos(uint8_t reg) {
    outb(0x70, reg);
    return inb(0x71);
}

static uint32_t bcd(uint8_t v, bool binary) { return binary ? v : (uint32_t)(v & 15) + (uint32_t)(v >> 4) * 10; }

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, uint32_t m, uint32_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    uint32_t yoe = (uint32_t)(y - era * 400);
    uint32_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static uint64_t rtc_epoch_seconds(void) {
    while (cmos(0x0A) & 0x80) cpu_relax(); /* update in progress */
    uint8_t s = cmos(0x00), mi = cmos(0x02), h = cmos(0x04), d = cmos(0x07), mo = cmos(0x08), y = cmos(0x09);
    uint8_t regb = cmos(0x0B);
    bool binary = regb & 0x04, h24 = regb & 0x02;
    bool pm = !h24 && (h & 0x80);
    uint32_t hour = bcd(h & 0x7F, binary);
    if (!h24) hour = hour % 12 + (pm ? 12 : 0);
    int64_t year = 2000 + bcd(y, binary);
    int64_t days = days_from_civil(year, bcd(mo, binary), bcd(d, binary));
    return (uint64_t)(days * 86400 + hour * 3600 + bcd(mi, binary) * 60 + bcd(s, binary));
}

void clock_init(void) {
    const uint32_t latch = (uint32_t)(PIT_HZ * 50 / 1000);
    outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01)); /* gate on, speaker off */
    outb(0x43, 0xB0);                                  /* channel 2, lo/hi, mode 0 */
    outb(0x42, latch & 0xFF);
    outb(0x42, (uint8_t)(latch >> 8));
    uint64_t t0 = rdtsc();
    while (!(inb(0x61) & 0x20)) cpu_relax();
    uint64_t t1 = rdtsc();
    tsc_hz = (t1 - t0) * PIT_HZ / latch;
    if (tsc_hz < 1000000) tsc_hz = 1000000; /* absurd: never divide by ~0 */
    ns_mult = (1000000000ull << 32) / tsc_hz;
    tsc_boot = t0;
    wall_boot_ns = rtc_epoch_seconds() * 1000000000ull;
}

uint64_t clock_ns(void) {
    uint64_t d = rdtsc() - tsc_boot;
    return (uint64_t)(((unsigned __int128)d * ns_mult) >> 32);
}

uint64_t clock_wall_ns(void) { return wall_boot_ns + clock_ns(); }

uint64_t clock_tsc_khz(void) { return tsc_hz / 1000; }
