/*
 * conformance_dma.c — dma_alloc/dma_free. Device-side use of the bus
 * addresses is checked with the edu device in conformance_pci.c.
 */
#include "cf_private.h"

static bool have_dma(void) { return (H->features & HUSK_FEAT_DMA) != 0; }
static bool have_iommu(void) { return (H->features & HUSK_FEAT_DMA_IOMMU) != 0; }

static void t_dma_absent(void) {
    if (have_dma()) SKIP("backend %s has HUSK_FEAT_DMA", H->backend);
    struct husk_dma_buf b;
    CHECK_RC(H->dma_alloc(C, 4096, 0, 0, &b), HUSK_ENODEV);
}

/* Allocate, check every documented property, free. */
static void check_one(uint64_t size, uint64_t align, uint64_t max_bus) {
    uint64_t ps = H->page_size(C);
    struct husk_dma_buf b;
    cf_fill(&b, sizeof b, 0);
    int32_t rc = H->dma_alloc(C, size, align, max_bus, &b);
    if (!CHECK(rc == HUSK_OK, "dma_alloc(size %llu, align %llu, max 0x%llx): expected OK got %s", U64(size), U64(align),
               U64(max_bus), cf_errname(rc)))
        return;
    uint64_t want_align = align ? align : ps;
    CHECK(b.handle != 0, "dma_alloc returned handle 0");
    CHECK(b.cpu != 0, "dma_alloc returned cpu NULL");
    CHECK(b.size >= size, "dma_alloc(%llu): size field %llu", U64(size), U64(b.size));
    CHECK((b.bus & (want_align - 1)) == 0, "dma_alloc(align %llu): bus 0x%llx misaligned", U64(align), U64(b.bus));
    CHECK(((uintptr_t)b.cpu & (want_align - 1)) == 0, "dma_alloc(align %llu): cpu %p misaligned", U64(align), b.cpu);
    if (max_bus)
        CHECK(b.bus + size <= max_bus, "dma_alloc(max_bus_addr 0x%llx): buffer at 0x%llx..0x%llx", U64(max_bus),
              U64(b.bus), U64(b.bus + size));
    if (have_iommu())
        CHECK(b.bus != (uint64_t)(uintptr_t)b.cpu, "HUSK_FEAT_DMA_IOMMU set but bus 0x%llx == cpu %p", U64(b.bus),
              b.cpu);
    else
        CHECK(b.bus == (uint64_t)(uintptr_t)b.cpu, "HUSK_FEAT_DMA_IOMMU clear but bus 0x%llx != cpu %p", U64(b.bus),
              b.cpu);
    if (b.cpu) {
        int64_t nz = cf_byte_mismatch(b.cpu, size, 0);
        CHECK(nz < 0, "dma_alloc(%llu): byte %lld not zero", U64(size), (long long)nz);
        cf_pattern(b.cpu, size, (uint32_t)size);
        CHECK(cf_pattern_mismatch(b.cpu, size, (uint32_t)size) < 0, "DMA memory not writable");
    }
    CHECK_RC(H->dma_free(C, b.handle), HUSK_OK);
}

static void t_dma_basic(void) {
    if (!have_dma()) SKIP("no HUSK_FEAT_DMA on backend %s", H->backend);
    uint64_t ps = H->page_size(C);
    check_one(1, 0, 0);
    check_one(ps, 0, 0);
    check_one(3 * ps + 5, 0, 0);
    check_one(65536, 0, 0);
    check_one(100, 64, 0);
    check_one(ps, ps, 0);
    check_one(ps, 65536, 0);
    check_one(2 * ps, 1u << 20, 0);
}

static void t_dma_limit(void) {
    if (!have_dma()) SKIP("no HUSK_FEAT_DMA on backend %s", H->backend);
    static const uint64_t limits[] = {1ull << 28, 1ull << 32};
    for (unsigned i = 0; i < 2; i++) {
        struct husk_dma_buf b;
        int32_t rc = H->dma_alloc(C, 16384, 0, limits[i], &b);
        if (!have_iommu() && rc == HUSK_ENOMEM) {
            /* bus == cpu: the host may have no CPU memory that low. */
            cf_diag("dma_alloc below 0x%llx: ENOMEM (allowed: bus == cpu on %s)", U64(limits[i]), H->backend);
            continue;
        }
        if (!CHECK(rc == HUSK_OK, "dma_alloc(16 KiB, max_bus_addr 0x%llx): expected OK got %s", U64(limits[i]),
                   cf_errname(rc)))
            continue;
        CHECK(b.bus + 16384 <= limits[i], "dma_alloc(max_bus_addr 0x%llx): buffer at 0x%llx", U64(limits[i]),
              U64(b.bus));
        CHECK_RC(H->dma_free(C, b.handle), HUSK_OK);
    }
    /* No room below the limit at all. */
    struct husk_dma_buf b;
    CHECK_RC(H->dma_alloc(C, 8192, 0, 4096, &b), HUSK_ENOMEM);
}

static void t_dma_distinct(void) {
    if (!have_dma()) SKIP("no HUSK_FEAT_DMA on backend %s", H->backend);
    enum { N = 8, SZ = 8192 };
    struct husk_dma_buf b[N];
    int n = 0;
    for (int i = 0; i < N; i++) {
        if (!CHECK_RC(H->dma_alloc(C, SZ, 0, 0, &b[i]), HUSK_OK)) break;
        n++;
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            CHECK(b[i].bus + SZ <= b[j].bus || b[j].bus + SZ <= b[i].bus,
                  "DMA buffers %d and %d overlap in bus space (0x%llx, 0x%llx)", i, j, U64(b[i].bus), U64(b[j].bus));
            CHECK(b[i].handle != b[j].handle, "DMA buffers %d and %d share a handle", i, j);
        }
    for (int i = 0; i < n; i++) cf_fill(b[i].cpu, SZ, (uint8_t)(i + 1));
    for (int i = 0; i < n; i++)
        CHECK(cf_byte_mismatch(b[i].cpu, SZ, (uint8_t)(i + 1)) < 0, "DMA buffer %d overwritten through another buffer",
              i);
    for (int i = 0; i < n; i++) CHECK_RC(H->dma_free(C, b[i].handle), HUSK_OK);
}

static void t_dma_errors(void) {
    if (!have_dma()) SKIP("no HUSK_FEAT_DMA on backend %s", H->backend);
    struct husk_dma_buf b;
    CHECK_RC(H->dma_alloc(C, 0, 0, 0, &b), HUSK_EINVAL);
    CHECK_RC(H->dma_alloc(C, 4096, 3, 0, &b), HUSK_EINVAL);
    CHECK_RC(H->dma_alloc(C, 4096, 4096 + 512, 0, &b), HUSK_EINVAL);
    CHECK_RC2(H->dma_alloc(C, 1ull << 62, 0, 0, &b), HUSK_EINVAL, HUSK_ENOMEM);
    CHECK_RC(H->dma_free(C, 0), HUSK_EBADF);
    CHECK_RC(H->dma_free(C, CF_BOGUS_HANDLE), HUSK_EBADF);
    REQUIRE_RC(H->dma_alloc(C, 4096, 0, 0, &b), HUSK_OK);
    CHECK_RC(H->dma_free(C, b.handle), HUSK_OK);
    CHECK_RC(H->dma_free(C, b.handle), HUSK_EBADF);
}

void cf_area_dma(void) {
    cf_test("dma: without HUSK_FEAT_DMA dma_alloc -> ENODEV", t_dma_absent);
    cf_test("dma: alloc zero-filled, aligned (cpu and bus), bus vs cpu per DMA_IOMMU", t_dma_basic);
    cf_test("dma: max_bus_addr honoured (1<<28, 1<<32), impossible -> ENOMEM", t_dma_limit);
    cf_test("dma: 8 live buffers distinct in bus and cpu space", t_dma_distinct);
    cf_test("dma: size 0 / bad align -> EINVAL, bogus / double free -> EBADF", t_dma_errors);
}
