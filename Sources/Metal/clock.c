/*
 * clock.c — the monotonic clock is the TSC, calibrated once at boot; the
 * wall clock is the CMOS RTC read at boot plus the monotonic clock since.
 * Under QEMU TCG the TSC follows the host's clock (checked: the host saw
 * 5.01 s while the metal clock counted 5 s).
 *
 * Calibration counts TSC ticks over 50 ms of the ACPI PM timer (3.579545
 * MHz, 24 bits: it wraps every 4.7 s; port 0x608 on q35, 0xB008 on
 * i440fx). A virtual CPU can lose the host CPU for tens of milliseconds at
 * any moment; the PIT's 16-bit counter wraps every 55 ms and then counts a
 * wrong interval without a trace (seen here: 45 ms where 100 ms had
 * passed), so it is only the fallback. Each end of the interval is the
 * tightest of 16 timer reads bracketed by two TSC reads.
 */
#include "metal.h"

#define PIT_HZ 1193182ull

static uint64_t tsc_boot, tsc_hz, ns_mult; /* ns = ticks * ns_mult >> 32 */
static uint64_t wall_boot_ns;
static const char *clock_source = "?";

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

#define PM_HZ 3579545ull

/* A timer read with the TSC at the moment it was read: the reading whose
 * two bracketing TSC values are closest of 16. */
static uint32_t read_timer(uint16_t pm_port) {
    if (pm_port) return inl(pm_port) & 0xFFFFFF;
    outb(0x43, 0x80); /* latch PIT channel 2 */
    uint32_t lo = inb(0x42), hi = inb(0x42);
    return lo | hi << 8;
}

static uint32_t sample(uint16_t pm_port, uint64_t *tsc) {
    uint64_t best = UINT64_MAX;
    uint32_t v = 0;
    for (int i = 0; i < 16; i++) {
        uint64_t a = rdtsc();
        uint32_t x = read_timer(pm_port);
        uint64_t b = rdtsc();
        if (b - a < best) {
            best = b - a;
            *tsc = a + (b - a) / 2;
            v = x;
        }
    }
    return v;
}

/* The PM timer's port if one counts there. */
static uint16_t find_pm_timer(void) {
    static const uint16_t ports[] = {0x608, 0xB008};
    for (unsigned i = 0; i < 2; i++) {
        uint32_t a = inl(ports[i]);
        if (a == 0xFFFFFFFFu) continue;
        for (int k = 0; k < 100000; k++)
            if ((inl(ports[i]) & 0xFFFFFF) != (a & 0xFFFFFF)) return ports[i];
    }
    return 0;
}

void clock_init(void) {
    uint16_t pm = find_pm_timer();
    uint64_t t0, t1;
    uint32_t c0, c1, d;
    if (pm) { /* counts up */
        c0 = sample(pm, &t0);
        do c1 = sample(pm, &t1);
        while ((d = (c1 - c0) & 0xFFFFFF) < PM_HZ / 20);
        tsc_hz = (t1 - t0) * PM_HZ / d;
    } else {                                               /* PIT channel 2, mode 0 from 65535, counts down */
        outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01)); /* gate on, speaker off */
        outb(0x43, 0xB0);
        outb(0x42, 0xFF);
        outb(0x42, 0xFF);
        c0 = sample(0, &t0);
        do c1 = sample(0, &t1);
        while (c1 <= c0 && (d = c0 - c1) < PIT_HZ * 40 / 1000);
        tsc_hz = c1 < c0 ? (t1 - t0) * PIT_HZ / (c0 - c1) : 0;
    }
    clock_source = pm ? "ACPI PM timer" : "PIT";
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

const char *clock_calibration(void) { return clock_source; }
