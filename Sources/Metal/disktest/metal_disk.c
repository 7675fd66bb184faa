/*
 * metal_disk.c — a test component for the metal image with the port
 * library (scripts/build-metal.sh --glue): through the glue's disk
 * registry (husk/glue/disk.h) it writes a known pattern to a disk another
 * component registered (virtio_blk's vblk0 by default), flushes, reads it
 * back and compares. One "PASS ..." or "FAIL ..." log line per step; the
 * host side (Tests/VMHostTests/MetalHostTests.swift) also checks the disk
 * file holds the pattern after the run.
 *
 * Parameters (kernel command line, metal_disk.KEY=VALUE):
 *   disk    the disk's name (default vblk0)
 *   offset  where the pattern starts, in bytes (default 65536)
 *   len     its length in bytes (default 32768); both multiples of the
 *           block size
 *   bench   1: after the pattern, read benchmarks through the same
 *           glue_disk_transfer path (metal-virtio-blk-bench): sequential
 *           1 MiB reads and random 4 KiB reads at QD1 (the glue's disk calls
 *           are synchronous), timed with glue_uptime_ns (the hypercall
 *           clock), one "BENCH vm.<case>.<accel>.metal <value> <unit>" log
 *           line each, named like virtio-blk-bench's husk/kernel lines
 *   seconds seconds per bench case (default 3)
 *   accel   the accelerator name for the BENCH lines (default tcg; the
 *           host passes husk vm test's)
 *
 * The pattern: byte i of the region is (i * 13 + (i >> 9) * 101 + 0x5a)
 * mod 256, so every 512-byte sector differs from its neighbours.
 */
#include <husk/glue.h>

static uint8_t metal_disk_byte(uint64_t i) { return (uint8_t)(i * 13u + (i >> 9) * 101u + 0x5au); }

static int fails;

static void step(bool ok, const char *what, int r) {
    if (ok)
        glue_logf(LOG_INFO, "PASS %s", what);
    else
        glue_logf(LOG_ERR, "FAIL %s (%s)", what, glue_strerror(r));
    if (!ok) fails++;
}

static int32_t metal_disk_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
    (void)ctx;
    (void)hyp;
    return HUSK_OK;
}

/* READ or WRITE len bytes at off in pieces the disk accepts. */
static int transfer(struct disk_ref *ref, uint32_t op, uint8_t *buf, uint64_t off, uint64_t len, uint64_t max) {
    for (uint64_t done = 0; done < len;) {
        uint64_t n = len - done;
        if (max && n > max) n = max;
        int r = glue_disk_transfer(ref, op, buf + done, off + done, n);
        if (r != 0) return r;
        done += n;
    }
    return 0;
}

/* value * 100 as "V.vv" (or "V" from 100 on), as virtio-blk-bench prints. */
static void bench_line(const char *name, const char *accel, uint64_t centi, const char *unit) {
    if (centi >= 10000)
        glue_logf(LOG_INFO, "BENCH vm.%s.%s.metal %llu %s", name, accel, (unsigned long long)((centi + 50) / 100),
                  unit);
    else
        glue_logf(LOG_INFO, "BENCH vm.%s.%s.metal %llu.%02llu %s", name, accel, (unsigned long long)(centi / 100),
                  (unsigned long long)(centi % 100), unit);
}

/* Sequential 1 MiB reads over the whole disk (wrapping), then random 4 KiB
 * reads at QD1, each for `seconds`. */
static int bench(struct disk_ref *ref, const struct disk_info *info, uint64_t seconds, const char *accel) {
    const uint64_t big = 1u << 20, small = 4096;
    uint64_t size = info->block_count * info->block_size;
    if (size < big || info->block_size > small) return HUSK_EINVAL;
    uint8_t *buf = glue_kmem_alloc(big, KM_SLEEP);
    uint64_t budget = seconds * GLUE_NS_PER_S, ops = 0, off = 0, t0 = glue_uptime_ns(), t = t0;
    int r = 0;
    while (r == 0 && t - t0 < budget) {
        if (off + big > size) off = 0;
        r = transfer(ref, DISK_OP_READ, buf, off, big, info->max_transfer);
        off += big;
        ops++;
        t = glue_uptime_ns();
    }
    /* MiB/s * 100 = ops * 1 MiB / 1 MiB * 1e9 / ns * 100 */
    if (r == 0) bench_line("seq_read_1m", accel, ops * 100u * GLUE_NS_PER_S / (t - t0 ? t - t0 : 1), "MiB/s");
    uint64_t x = 0x9e3779b97f4a7c15ull, slots = size / small;
    ops = 0;
    t0 = glue_uptime_ns();
    t = t0;
    while (r == 0 && t - t0 < budget) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r = glue_disk_transfer(ref, DISK_OP_READ, buf, (x % slots) * small, small);
        ops++;
        t = glue_uptime_ns();
    }
    if (r == 0) bench_line("rand_read_4k_qd1", accel, ops * 100u * GLUE_NS_PER_S / (t - t0 ? t - t0 : 1), "iops");
    glue_kmem_free(buf, big);
    return r;
}

static int32_t metal_disk_run(husk_ctx *ctx) {
    (void)ctx;
    char name[DISK_NAME_MAX + 1];
    bool present;
    char accel[16];
    uint64_t off = 65536, len = 32768, benchmode = 0, seconds = 3;
    glue_snprintf(name, sizeof name, "vblk0");
    glue_snprintf(accel, sizeof accel, "tcg");
    int r = glue_param_string("disk", name, sizeof name, &present);
    if (r == 0) r = glue_param_u64("offset", &off, 0, UINT64_MAX / 2);
    if (r == 0) r = glue_param_u64("len", &len, 512, 1u << 24);
    if (r == 0) r = glue_param_u64("bench", &benchmode, 0, 1);
    if (r == 0) r = glue_param_u64("seconds", &seconds, 1, 600);
    if (r == 0) r = glue_param_string("accel", accel, sizeof accel, &present);
    if (r != 0) {
        step(false, "parameters", r);
        return 1;
    }
    struct disk_ref *ref = glue_disk_open(name);
    step(ref != NULL, "open disk", HUSK_ENODEV);
    if (!ref) return 1;
    struct disk_info info;
    glue_disk_info(ref, &info);
    glue_logf(LOG_INFO, "disk %s: %llu blocks of %u bytes, flags 0x%x, max_transfer %u", name,
              (unsigned long long)info.block_count, info.block_size, info.flags, info.max_transfer);
    uint8_t *wbuf = glue_kmem_alloc(len, KM_SLEEP), *rbuf = glue_kmem_zalloc(len, KM_SLEEP);
    for (uint64_t i = 0; i < len; i++) wbuf[i] = metal_disk_byte(i);
    bool fits =
        off % info.block_size == 0 && len % info.block_size == 0 && (off + len) / info.block_size <= info.block_count;
    step(fits, "pattern fits the disk", HUSK_EINVAL);
    if (fits) {
        r = transfer(ref, DISK_OP_WRITE, wbuf, off, len, info.max_transfer);
        step(r == 0, "write", r);
        if (r == 0 && (info.flags & DISK_F_FLUSH)) {
            r = glue_disk_transfer(ref, DISK_OP_FLUSH, NULL, 0, 0);
            step(r == 0, "flush", r);
        }
        if (r == 0) {
            r = transfer(ref, DISK_OP_READ, rbuf, off, len, info.max_transfer);
            step(r == 0, "read back", r);
        }
        if (r == 0) step(memcmp(wbuf, rbuf, len) == 0, "read back equals the pattern", HUSK_EIO);
        if (r == 0 && benchmode) {
            r = bench(ref, &info, seconds, accel);
            step(r == 0, "bench", r);
        }
    }
    glue_kmem_free(wbuf, len);
    glue_kmem_free(rbuf, len);
    glue_disk_close(ref);
    glue_logf(LOG_INFO, "%s: %d failure(s)", fails ? "FAIL" : "PASS", fails);
    return fails ? 1 : 0;
}

HUSK_COMPONENT(metal_disk) = {
    .abi_major = HUSK_ABI_MAJOR,
    .abi_minor = 0,
    .name = "metal_disk",
    .description = "metal test: write, flush and read back a pattern through the glue's disk registry",
    .kind = HUSK_KIND_OTHER,
    .depends = NULL,
    .init = metal_disk_init,
    .run = metal_disk_run,
    .fini = NULL,
};
