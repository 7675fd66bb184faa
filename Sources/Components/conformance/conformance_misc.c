/*
 * conformance_misc.c — version and table shape, random_bytes, log, config_get.
 */
#include "cf_private.h"

/* ---- Version ------------------------------------------------------------- */

static void t_version_numbers(void) {
    CHECK(H->abi_major == HUSK_ABI_MAJOR, "abi_major: expected %d got %u", HUSK_ABI_MAJOR, H->abi_major);
    /* A host never runs a component needing a newer minor than its own. */
    CHECK(H->abi_minor >= HUSK_ABI_MINOR, "abi_minor: expected >= %d got %u", HUSK_ABI_MINOR, H->abi_minor);
    uint32_t last_end = (uint32_t)(offsetof(struct husk_hyp, blk_close) + sizeof(H->blk_close));
    CHECK(H->size >= last_end, "size: expected >= %u (end of the last v%d.%d slot) got %u", last_end, HUSK_ABI_MAJOR,
          HUSK_ABI_MINOR, H->size);
    if (H->abi_minor == HUSK_ABI_MINOR && H->abi_major == HUSK_ABI_MAJOR)
        CHECK(H->size == sizeof(struct husk_hyp), "size: a %d.%d host should fill %u bytes, says %u", HUSK_ABI_MAJOR,
              HUSK_ABI_MINOR, (unsigned)sizeof(struct husk_hyp), H->size);
    CHECK(H->backend && H->backend[0], "backend name is NULL or empty");
    CHECK(cf_strlen(H->backend) < 64, "backend name longer than 63 bytes");
}

static void t_version_slots(void) {
    /* Every v1.0 slot is filled: a host that lacks an operation fills it with
     * one that returns ENOSYS, it never leaves it NULL. */
#define SLOT(s) \
    CHECK(HUSK_HYP_HAS(H, s), "HUSK_HYP_HAS(hyp, " #s ") is false on a %u.%u host", H->abi_major, H->abi_minor)
    SLOT(mem_alloc);
    SLOT(mem_free);
    SLOT(page_size);
    SLOT(page_map);
    SLOT(page_unmap);
    SLOT(dma_alloc);
    SLOT(dma_free);
    SLOT(thread_create);
    SLOT(thread_join);
    SLOT(thread_exit);
    SLOT(thread_self);
    SLOT(ctx_current);
    SLOT(tls_set);
    SLOT(tls_get);
    SLOT(thread_cancel);
    SLOT(cancel_pending);
    SLOT(cancel_clear);
    SLOT(mutex_create);
    SLOT(mutex_destroy);
    SLOT(mutex_lock);
    SLOT(mutex_trylock);
    SLOT(mutex_unlock);
    SLOT(mutex_owned);
    SLOT(rw_create);
    SLOT(rw_destroy);
    SLOT(rw_enter);
    SLOT(rw_tryenter);
    SLOT(rw_exit);
    SLOT(cv_create);
    SLOT(cv_destroy);
    SLOT(cv_wait);
    SLOT(cv_timedwait);
    SLOT(cv_signal);
    SLOT(cv_broadcast);
    if (H->abi_minor >= 1) {
        SLOT(frame_open);
        SLOT(frame_send);
        SLOT(frame_recv);
        SLOT(frame_close);
    }
    SLOT(clock_monotonic);
    SLOT(clock_wall);
    SLOT(sleep_ns);
    SLOT(sleep_until);
    SLOT(random_bytes);
    SLOT(log);
    SLOT(panic);
    SLOT(config_get);
    SLOT(pci_enumerate);
    SLOT(dev_open);
    SLOT(dev_close);
    SLOT(cfg_read);
    SLOT(cfg_write);
    SLOT(bar_info);
    SLOT(bar_map);
    SLOT(bar_read);
    SLOT(bar_write);
    SLOT(dev_reset);
    SLOT(dev_on_release);
    SLOT(irq_alloc);
    SLOT(irq_establish);
    SLOT(irq_disestablish);
    SLOT(irq_ack);
    SLOT(irq_mask);
    SLOT(irq_unmask);
    SLOT(blk_open);
    SLOT(blk_read);
    SLOT(blk_write);
    SLOT(blk_flush);
    SLOT(blk_submit);
    SLOT(blk_close);
#undef SLOT
}

static void t_version_has_macro(void) {
    /* HUSK_HYP_HAS on a copy of the table that pretends to be shorter / has a
     * hole: the macro is what components probe appended slots with. */
    static struct husk_hyp copy;
    copy = *H;
    copy.size = (uint32_t)offsetof(struct husk_hyp, blk_close);
    CHECK(!HUSK_HYP_HAS(&copy, blk_close), "HUSK_HYP_HAS true for a slot past size");
    CHECK(HUSK_HYP_HAS(&copy, blk_submit), "HUSK_HYP_HAS false for a slot inside size");
    copy = *H;
    copy.blk_flush = 0;
    CHECK(!HUSK_HYP_HAS(&copy, blk_flush), "HUSK_HYP_HAS true for a NULL slot");
}

static void t_version_features(void) {
    uint64_t f = H->features;
    uint64_t known = HUSK_FEAT_PCI | HUSK_FEAT_BAR_MAP | HUSK_FEAT_IRQ_INTX | HUSK_FEAT_IRQ_MSI | HUSK_FEAT_IRQ_MSIX |
                     HUSK_FEAT_DMA | HUSK_FEAT_DMA_IOMMU | HUSK_FEAT_BLK | HUSK_FEAT_DEV_RELEASE;
    if (H->abi_minor >= 1) known |= HUSK_FEAT_FRAME;
    if (H->abi_minor <= 1)
        CHECK((f & ~known) == 0, "features 0x%llx has bits unknown to ABI 1.%u: 0x%llx", U64(f), H->abi_minor,
              U64(f & ~known));
    uint64_t needs_pci =
        HUSK_FEAT_BAR_MAP | HUSK_FEAT_IRQ_INTX | HUSK_FEAT_IRQ_MSI | HUSK_FEAT_IRQ_MSIX | HUSK_FEAT_DEV_RELEASE;
    if (f & needs_pci)
        CHECK(f & HUSK_FEAT_PCI, "device features 0x%llx announced without HUSK_FEAT_PCI", U64(f & needs_pci));
    if (f & HUSK_FEAT_DMA_IOMMU) CHECK(f & HUSK_FEAT_DMA, "HUSK_FEAT_DMA_IOMMU announced without HUSK_FEAT_DMA");
    cf_diag("features:%s%s%s%s%s%s%s%s%s%s", f & HUSK_FEAT_PCI ? " PCI" : "", f & HUSK_FEAT_BAR_MAP ? " BAR_MAP" : "",
            f & HUSK_FEAT_IRQ_INTX ? " IRQ_INTX" : "", f & HUSK_FEAT_IRQ_MSI ? " IRQ_MSI" : "",
            f & HUSK_FEAT_IRQ_MSIX ? " IRQ_MSIX" : "", f & HUSK_FEAT_DMA ? " DMA" : "",
            f & HUSK_FEAT_DMA_IOMMU ? " DMA_IOMMU" : "", f & HUSK_FEAT_BLK ? " BLK" : "",
            f & HUSK_FEAT_DEV_RELEASE ? " DEV_RELEASE" : "", f & HUSK_FEAT_FRAME ? " FRAME" : "");
}

static void t_ctx_current_run_thread(void) {
    husk_ctx *got = H->ctx_current();
    CHECK(got == C, "ctx_current() on the run thread: expected %p (init's ctx) got %p", (void *)C, (void *)got);
}

void cf_area_version(void) {
    cf_test("version: abi_major/abi_minor/size/backend", t_version_numbers);
    cf_test("version: every 1.0 slot present (HUSK_HYP_HAS)", t_version_slots);
    cf_test("version: HUSK_HYP_HAS honours size and NULL slots", t_version_has_macro);
    cf_test("version: feature bits known and consistent", t_version_features);
    cf_test("ctx_current: the run thread works for this component", t_ctx_current_run_thread);
}

/* ---- Random -------------------------------------------------------------- */

static void t_random_draws(void) {
    uint8_t a[32], b[32];
    cf_fill(a, sizeof a, 0);
    cf_fill(b, sizeof b, 0);
    REQUIRE_RC(H->random_bytes(C, a, sizeof a), HUSK_OK);
    REQUIRE_RC(H->random_bytes(C, b, sizeof b), HUSK_OK);
    CHECK(!cf_bytes_equal(a, b, sizeof a), "two 32-byte draws are identical");
    CHECK(cf_byte_mismatch(a, sizeof a, 0) >= 0, "a 32-byte draw is all zero");
    /* A larger draw is not constant and reaches its last byte. */
    static uint8_t big[8192];
    cf_fill(big, sizeof big, 0);
    REQUIRE_RC(H->random_bytes(C, big, sizeof big), HUSK_OK);
    int zeros = 0;
    for (unsigned i = sizeof big - 64; i < sizeof big; i++) zeros += big[i] == 0;
    CHECK(zeros < 16, "the last 64 bytes of an 8 KiB draw hold %d zeros: tail not filled?", zeros);
    /* An odd length fills exactly that many bytes. */
    uint8_t c[8];
    cf_fill(c, sizeof c, 0xa5);
    REQUIRE_RC(H->random_bytes(C, c, 3), HUSK_OK);
    CHECK(cf_byte_mismatch(c + 3, 5, 0xa5) < 0, "random_bytes(len 3) wrote past 3 bytes");
}

static void t_random_errors(void) {
    CHECK_RC(H->random_bytes(C, 0, 16), HUSK_EFAULT);
    uint8_t x = 0x5a;
    CHECK_RC(H->random_bytes(C, &x, 0), HUSK_OK);
    CHECK(x == 0x5a, "random_bytes(len 0) wrote the buffer");
    CHECK_RC(H->random_bytes(C, 0, 0), HUSK_OK);
}

struct rnd_arg {
    int ok;
};
static void rnd_worker(void *p) {
    struct rnd_arg *a = p;
    uint8_t buf[64];
    for (int i = 0; i < 200; i++)
        if (H->random_bytes(C, buf, sizeof buf) != HUSK_OK) return;
    a->ok = 1;
}

static void t_random_threads(void) {
    static struct cf_thread t[4];
    static struct rnd_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i].ok = 0;
        cf_spawn(&t[i], "cf-random", rnd_worker, &a[i]);
    }
    for (int i = 0; i < 4; i++) {
        if (cf_join(&t[i], 10 * CF_S)) CHECK(a[i].ok, "random_bytes failed on worker %d", i);
    }
}

/* ---- Log ----------------------------------------------------------------- */

static void t_log_levels(void) {
    H->log(C, HUSK_LOG_ERROR, "# log test: level ERROR (expected, not a failure)");
    H->log(C, HUSK_LOG_WARN, "# log test: level WARN (expected, not a failure)");
    H->log(C, HUSK_LOG_INFO, "# log test: level INFO");
    H->log(C, HUSK_LOG_DEBUG, "# log test: level DEBUG (hosts may filter it)");
    H->log(C, HUSK_LOG_INFO, "");
    static char longline[1500];
    size_t n = cf_fmt(longline, sizeof longline, "# log test: a long line:");
    while (n < sizeof longline - 1) {
        longline[n] = (char)('a' + n % 26);
        n++;
    }
    longline[n] = 0;
    H->log(C, HUSK_LOG_INFO, longline);
    /* Returning is the check: log has no status. */
}

static void log_worker(void *p) {
    (void)p;
    for (int i = 0; i < 20; i++) H->log(C, HUSK_LOG_DEBUG, "# log test: from a worker thread");
}

static void t_log_threads(void) {
    static struct cf_thread t[3];
    for (int i = 0; i < 3; i++) cf_spawn(&t[i], "cf-log", log_worker, 0);
    for (int i = 0; i < 3; i++) cf_join(&t[i], 10 * CF_S);
}

/* ---- Configuration ------------------------------------------------------- */

static void t_config_unknown(void) {
    char buf[16];
    uint64_t len = 77;
    buf[0] = 'x';
    CHECK_RC(H->config_get(C, "no_such_key_7f3a", buf, sizeof buf, &len), HUSK_ENOENT);
    CHECK_RC(H->config_get(C, "no_such_key_7f3a", buf, sizeof buf, 0), HUSK_ENOENT);
    /* Another component's keys are not this component's. */
    CHECK_RC(H->config_get(C, "edu.no_such_key", buf, sizeof buf, 0), HUSK_ENOENT);
}

static void t_config_value(void) {
    /* Any key the runner set: `probe` is meant for this test, else blk_path. */
    const char *key = "probe";
    char big[512];
    uint64_t len = 0;
    int32_t rc = H->config_get(C, key, big, sizeof big, &len);
    if (rc == HUSK_ENOENT) {
        key = "blk_path";
        rc = H->config_get(C, key, big, sizeof big, &len);
    }
    if (rc == HUSK_ENOENT) SKIP("no configuration key set (pass --param conformance.probe=hello)");
    REQUIRE_RC(rc, HUSK_OK);
    REQUIRE(len == cf_strlen(big), "config_get(%s): *len %llu but the string is %llu bytes", key, U64(len),
            U64(cf_strlen(big)));
    REQUIRE(len >= 1, "config_get(%s): empty value, cannot test ERANGE", key);

    /* Exactly enough room (value + NUL) works; one byte less is ERANGE. */
    static char exact[512];
    uint64_t l2 = 0;
    CHECK_RC(H->config_get(C, key, exact, len + 1, &l2), HUSK_OK);
    CHECK(cf_streq(exact, big), "config_get(%s) with an exact buffer: \"%s\" != \"%s\"", key, exact, big);
    CHECK_EQ(l2, len);
    uint64_t l3 = 0;
    CHECK_RC(H->config_get(C, key, exact, len, &l3), HUSK_ERANGE);
    CHECK(l3 == len, "config_get(%s, buflen %llu): ERANGE but *len %llu, expected %llu", key, U64(len), U64(l3),
          U64(len));
    char one[1];
    uint64_t l4 = 0;
    CHECK_RC(H->config_get(C, key, one, 1, &l4), HUSK_ERANGE);
    CHECK(l4 == len, "config_get(%s, buflen 1): ERANGE but *len %llu, expected %llu", key, U64(l4), U64(len));
    /* len may be NULL. */
    CHECK_RC(H->config_get(C, key, big, sizeof big, 0), HUSK_OK);
    CHECK_RC(H->config_get(C, key, one, 1, 0), HUSK_ERANGE);
}

void cf_area_misc(void) {
    cf_test("random: two 32-byte draws differ, odd lengths, 8 KiB", t_random_draws);
    cf_test("random: NULL with len>0 -> EFAULT, len 0 -> OK", t_random_errors);
    cf_test("random: 4 threads x 200 draws", t_random_threads);
    cf_test("log: every level, empty and 1500-byte lines", t_log_levels);
    cf_test("log: from 3 worker threads", t_log_threads);
    cf_test("config_get: unknown key -> ENOENT", t_config_unknown);
    cf_test("config_get: value, exact buffer, small buffer -> ERANGE with *len", t_config_value);
}
