/*
 * conformance_memory.c — mem_alloc/mem_free, page_size, page_map/page_unmap.
 */
#include "cf_private.h"

static void t_alloc_alignments(void) {
    static const uint64_t sizes[] = {1, 24, 1000, 4097};
    for (uint64_t align = 1; align <= 4096; align <<= 1) {
        for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            uint64_t size = sizes[s];
            void *p = 0;
            int32_t rc = H->mem_alloc(C, size, align, &p);
            if (!CHECK(rc == HUSK_OK, "mem_alloc(%llu, align %llu): expected OK got %s", U64(size), U64(align),
                       cf_errname(rc)))
                continue;
            if (!CHECK(p != 0, "mem_alloc(%llu, align %llu) returned OK and NULL", U64(size), U64(align))) continue;
            CHECK(((uintptr_t)p & (align - 1)) == 0, "mem_alloc(%llu, align %llu) returned %p", U64(size), U64(align),
                  p);
            uint32_t seed = (uint32_t)(align * 131 + size);
            cf_pattern(p, size, seed);
            int64_t bad = cf_pattern_mismatch(p, size, seed);
            CHECK(bad < 0, "mem_alloc(%llu, align %llu): byte %lld did not keep what was written", U64(size),
                  U64(align), (long long)bad);
            CHECK_RC(H->mem_free(C, p, size), HUSK_OK);
        }
    }
    /* align 0 means 16. */
    for (int i = 0; i < 8; i++) {
        void *p = 0;
        if (!CHECK_RC(H->mem_alloc(C, 8 + (uint64_t)i * 8, 0, &p), HUSK_OK)) continue;
        CHECK(((uintptr_t)p & 15) == 0, "mem_alloc(align 0) returned %p: not 16-aligned", p);
        CHECK_RC(H->mem_free(C, p, 8 + (uint64_t)i * 8), HUSK_OK);
    }
}

static void t_alloc_distinct(void) {
    /* 32 live blocks do not overlap: each keeps its own pattern. */
    enum { N = 32 };
    void *p[N];
    uint64_t sz[N];
    int n = 0;
    for (int i = 0; i < N; i++) {
        sz[i] = 16 + (uint64_t)i * 37;
        p[i] = 0;
        if (!CHECK_RC(H->mem_alloc(C, sz[i], 8, &p[i]), HUSK_OK)) break;
        cf_pattern(p[i], sz[i], (uint32_t)i + 1000);
        n++;
    }
    for (int i = 0; i < n; i++)
        CHECK(cf_pattern_mismatch(p[i], sz[i], (uint32_t)i + 1000) < 0,
              "block %d (%p, %llu bytes) was overwritten by another allocation", i, p[i], U64(sz[i]));
    for (int i = 0; i < n; i++) CHECK_RC(H->mem_free(C, p[i], sz[i]), HUSK_OK);
    /* A large block is usable end to end. */
    void *big = 0;
    if (CHECK_RC(H->mem_alloc(C, 8u << 20, 4096, &big), HUSK_OK)) {
        cf_pattern(big, 8u << 20, 77);
        CHECK(cf_pattern_mismatch(big, 8u << 20, 77) < 0, "8 MiB block did not keep its contents");
        CHECK_RC(H->mem_free(C, big, 8u << 20), HUSK_OK);
    }
}

static void t_alloc_errors(void) {
    void *p = 0;
    CHECK_RC(H->mem_alloc(C, 0, 16, &p), HUSK_EINVAL);
    CHECK_RC(H->mem_alloc(C, (1ull << 40) + 1, 16, &p), HUSK_EINVAL);
    CHECK_RC(H->mem_alloc(C, ~0ull, 16, &p), HUSK_EINVAL);
    CHECK_RC(H->mem_alloc(C, 64, 3, &p), HUSK_EINVAL);
    CHECK_RC(H->mem_alloc(C, 64, 48, &p), HUSK_EINVAL);
    CHECK_RC(H->mem_alloc(C, 64, (1ull << 63) | 1, &p), HUSK_EINVAL);
}

static void t_free_errors(void) {
    void *p = 0;
    REQUIRE_RC(H->mem_alloc(C, 64, 16, &p), HUSK_OK);
    int local = 0;
    /* Wrong sizes and foreign pointers are refused and free nothing. */
    CHECK_RC(H->mem_free(C, p, 65), HUSK_EINVAL);
    CHECK_RC(H->mem_free(C, p, 32), HUSK_EINVAL);
    CHECK_RC(H->mem_free(C, p, 0), HUSK_EINVAL);
    CHECK_RC(H->mem_free(C, (char *)p + 16, 48), HUSK_EINVAL);
    CHECK_RC(H->mem_free(C, &local, sizeof local), HUSK_EINVAL);
    CHECK_RC2(H->mem_free(C, 0, 64), HUSK_EINVAL, HUSK_EFAULT);
    /* The block survived all of that and frees normally, once. */
    cf_pattern(p, 64, 5);
    CHECK(cf_pattern_mismatch(p, 64, 5) < 0, "block unusable after refused frees");
    CHECK_RC(H->mem_free(C, p, 64), HUSK_OK);
    CHECK_RC(H->mem_free(C, p, 64), HUSK_EINVAL);
}

struct alloc_arg {
    int seed;
    int ok;
};
static void alloc_worker(void *p) {
    struct alloc_arg *a = p;
    for (int i = 0; i < 2000; i++) {
        uint64_t size = 8 + (uint64_t)((i * 7 + a->seed) % 500);
        uint64_t align = 1ull << (i % 8);
        void *b = 0;
        if (H->mem_alloc(C, size, align, &b) != HUSK_OK || !b || ((uintptr_t)b & (align - 1))) return;
        cf_pattern(b, size, (uint32_t)(a->seed * 10000 + i));
        H->sleep_ns(C, 0);
        if (cf_pattern_mismatch(b, size, (uint32_t)(a->seed * 10000 + i)) >= 0) return;
        if (H->mem_free(C, b, size) != HUSK_OK) return;
    }
    a->ok = 1;
}

static void t_alloc_threads(void) {
    static struct cf_thread t[4];
    static struct alloc_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i].seed = i + 1;
        a[i].ok = 0;
        cf_spawn(&t[i], "cf-alloc", alloc_worker, &a[i]);
    }
    for (int i = 0; i < 4; i++)
        if (cf_join(&t[i], 20 * CF_S)) CHECK(a[i].ok, "worker %d: alloc/fill/check/free failed under concurrency", i);
}

static void t_page_size(void) {
    uint64_t ps = H->page_size(C);
    CHECK(ps >= 512 && ps <= (1u << 20), "page_size %llu not in 512..1 MiB", U64(ps));
    CHECK((ps & (ps - 1)) == 0, "page_size %llu not a power of two", U64(ps));
    CHECK(H->page_size(C) == ps, "page_size changed between calls");
}

static void t_page_map(void) {
    uint64_t ps = H->page_size(C);
    static const uint64_t pages[] = {1, 3, 64};
    for (unsigned i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        uint64_t size = pages[i] * ps;
        void *p = 0;
        if (!CHECK_RC(H->page_map(C, size, HUSK_PROT_READ | HUSK_PROT_WRITE, &p), HUSK_OK)) continue;
        if (!CHECK(p != 0, "page_map returned OK and NULL")) continue;
        CHECK(((uintptr_t)p & (ps - 1)) == 0, "page_map returned %p, not page-aligned", p);
        int64_t nz = cf_byte_mismatch(p, size, 0);
        CHECK(nz < 0, "page_map(%llu pages): byte %lld is not zero", U64(pages[i]), (long long)nz);
        cf_pattern(p, size, 99);
        CHECK(cf_pattern_mismatch(p, size, 99) < 0, "page_map memory did not keep what was written");
        CHECK_RC(H->page_unmap(C, p, size), HUSK_OK);
    }
    /* Read-only: readable and zero. */
    void *r = 0;
    if (CHECK_RC(H->page_map(C, ps, HUSK_PROT_READ, &r), HUSK_OK)) {
        CHECK(cf_byte_mismatch(r, ps, 0) < 0, "read-only page_map not zero-filled");
        CHECK_RC(H->page_unmap(C, r, ps), HUSK_OK);
    }
    /* Two live mappings are distinct. */
    void *a = 0, *b = 0;
    if (CHECK_RC(H->page_map(C, ps, HUSK_PROT_READ | HUSK_PROT_WRITE, &a), HUSK_OK)) {
        if (CHECK_RC(H->page_map(C, ps, HUSK_PROT_READ | HUSK_PROT_WRITE, &b), HUSK_OK)) {
            cf_fill(a, ps, 1);
            cf_fill(b, ps, 2);
            CHECK(cf_byte_mismatch(a, ps, 1) < 0 && cf_byte_mismatch(b, ps, 2) < 0,
                  "two page_map mappings share memory (%p, %p)", a, b);
            CHECK_RC(H->page_unmap(C, b, ps), HUSK_OK);
        }
        CHECK_RC(H->page_unmap(C, a, ps), HUSK_OK);
    }
}

static void t_page_map_errors(void) {
    uint64_t ps = H->page_size(C);
    void *p = 0;
    CHECK_RC(H->page_map(C, 0, HUSK_PROT_READ | HUSK_PROT_WRITE, &p), HUSK_EINVAL);
    CHECK_RC(H->page_map(C, ps + 1, HUSK_PROT_READ | HUSK_PROT_WRITE, &p), HUSK_EINVAL);
    CHECK_RC(H->page_map(C, ps / 2, HUSK_PROT_READ | HUSK_PROT_WRITE, &p), HUSK_EINVAL);
    CHECK_RC2(H->page_map(C, 1ull << 62, HUSK_PROT_READ | HUSK_PROT_WRITE, &p), HUSK_ENOMEM, HUSK_EINVAL);

    void *m = 0;
    REQUIRE_RC(H->page_map(C, 2 * ps, HUSK_PROT_READ | HUSK_PROT_WRITE, &m), HUSK_OK);
    int local = 0;
    /* Anything but exactly one whole mapping is refused and unmaps nothing. */
    CHECK_RC(H->page_unmap(C, m, ps), HUSK_EINVAL);
    CHECK_RC(H->page_unmap(C, (char *)m + ps, ps), HUSK_EINVAL);
    CHECK_RC(H->page_unmap(C, m, 3 * ps), HUSK_EINVAL);
    CHECK_RC(H->page_unmap(C, m, 2 * ps - 1), HUSK_EINVAL);
    CHECK_RC(H->page_unmap(C, &local, ps), HUSK_EINVAL);
    CHECK_RC(H->page_unmap(C, 0, ps), HUSK_EINVAL);
    /* Both pages are still mapped and writable. */
    cf_pattern(m, 2 * ps, 3);
    CHECK(cf_pattern_mismatch(m, 2 * ps, 3) < 0, "mapping damaged by refused unmaps");
    CHECK_RC(H->page_unmap(C, m, 2 * ps), HUSK_OK);
    CHECK_RC(H->page_unmap(C, m, 2 * ps), HUSK_EINVAL);

    /* mem_free does not take page_map memory, page_unmap not mem_alloc memory. */
    void *q = 0, *a = 0;
    if (CHECK_RC(H->page_map(C, ps, HUSK_PROT_READ | HUSK_PROT_WRITE, &q), HUSK_OK)) {
        CHECK_RC(H->mem_free(C, q, ps), HUSK_EINVAL);
        CHECK_RC(H->page_unmap(C, q, ps), HUSK_OK);
    }
    if (CHECK_RC(H->mem_alloc(C, ps, ps, &a), HUSK_OK)) {
        CHECK_RC(H->page_unmap(C, a, ps), HUSK_EINVAL);
        CHECK_RC(H->mem_free(C, a, ps), HUSK_OK);
    }
}

void cf_area_memory(void) {
    cf_test("memory: mem_alloc alignments 1..4096, sizes 1..4097, align 0 = 16", t_alloc_alignments);
    cf_test("memory: 32 live blocks distinct, 8 MiB block usable", t_alloc_distinct);
    cf_test("memory: mem_alloc size 0 / > 2^40 / bad align -> EINVAL", t_alloc_errors);
    cf_test("memory: mem_free wrong size / foreign / double -> EINVAL", t_free_errors);
    cf_test("memory: 4 threads x 2000 alloc/free", t_alloc_threads);
    cf_test("memory: page_size sane", t_page_size);
    cf_test("memory: page_map zero-filled, writable, distinct; page_unmap", t_page_map);
    cf_test("memory: page_map/page_unmap misuse -> EINVAL", t_page_map_errors);
}
