/*
 * conformance_blk.c — block I/O on the scratch file the host names in the
 * configuration key blk_path (1 MiB, created by the runner; the suite
 * overwrites it freely).
 */
#include "cf_private.h"

#define MIB (1024u * 1024u)
static char blk_path[512];

static bool have_blk(void) { return (H->features & HUSK_FEAT_BLK) != 0; }

#define NEED_BLK()                                                                   \
    do {                                                                             \
        if (!have_blk()) SKIP("no HUSK_FEAT_BLK on backend %s", H->backend);         \
        if (!cf_config("blk_path", blk_path, sizeof blk_path) || !blk_path[0])       \
            SKIP("no blk_path configured (pass --param conformance.blk_path=FILE)"); \
    } while (0)

static void t_blk_absent(void) {
    if (have_blk()) SKIP("backend %s has HUSK_FEAT_BLK", H->backend);
    /* Without the feature there is nothing documented to check beyond it
     * not succeeding. */
    husk_handle h = 0;
    CHECK(H->blk_open(C, "/", HUSK_BLK_RDONLY, &h, 0) != HUSK_OK, "blk_open succeeded without HUSK_FEAT_BLK");
}

static void t_blk_open_errors(void) {
    if (!have_blk()) SKIP("no HUSK_FEAT_BLK on backend %s", H->backend);
    husk_handle h = 0;
    CHECK_RC(H->blk_open(C, "/nonexistent-husk-conformance/no/such/file", HUSK_BLK_RDONLY, &h, 0), HUSK_ENOENT);
    CHECK_RC(H->blk_open(C, "/nonexistent-husk-conformance/no/such/file", HUSK_BLK_RDWR, &h, 0), HUSK_ENOENT);
    if (!cf_config("blk_path", blk_path, sizeof blk_path) || !blk_path[0]) return;
    CHECK_RC(H->blk_open(C, blk_path, 0x100, &h, 0), HUSK_EINVAL);
    CHECK_RC(H->blk_open(C, blk_path, 0x80000000u | HUSK_BLK_RDWR, &h, 0), HUSK_EINVAL);
}

static void t_blk_open_info(void) {
    NEED_BLK();
    husk_handle h = 0;
    struct husk_blk_info info;
    cf_fill(&info, sizeof info, 0xee);
    REQUIRE_RC(H->blk_open(C, blk_path, HUSK_BLK_RDWR, &h, &info), HUSK_OK);
    CHECK(h != 0, "blk_open returned handle 0");
    CHECK(info.size == MIB, "info.size: expected 1 MiB (the scratch file) got %llu", U64(info.size));
    CHECK(info.sector_size >= 512 && (info.sector_size & (info.sector_size - 1)) == 0,
          "info.sector_size %u not a power of two >= 512", info.sector_size);
    CHECK(info.read_only == 0, "RDWR open reports read_only %u", info.read_only);
    CHECK_RC(H->blk_close(C, h), HUSK_OK);
    /* info may be NULL. */
    if (CHECK_RC(H->blk_open(C, blk_path, HUSK_BLK_RDONLY, &h, 0), HUSK_OK)) CHECK_RC(H->blk_close(C, h), HUSK_OK);
    /* The same file open twice at once. */
    husk_handle a = 0, b = 0;
    if (CHECK_RC(H->blk_open(C, blk_path, HUSK_BLK_RDWR, &a, 0), HUSK_OK)) {
        if (CHECK_RC(H->blk_open(C, blk_path, HUSK_BLK_RDONLY, &b, 0), HUSK_OK)) {
            CHECK(a != b, "two opens share handle 0x%llx", U64(a));
            CHECK_RC(H->blk_close(C, b), HUSK_OK);
        }
        CHECK_RC(H->blk_close(C, a), HUSK_OK);
    }
}

static uint8_t wbuf[65536], rbuf[65536];

static void t_blk_sync(void) {
    NEED_BLK();
    husk_handle h = 0;
    REQUIRE_RC(H->blk_open(C, blk_path, HUSK_BLK_RDWR, &h, 0), HUSK_OK);
    /* 64 KiB at 128 KiB. */
    cf_pattern(wbuf, sizeof wbuf, 0xb10c);
    CHECK_RC(H->blk_write(C, h, wbuf, sizeof wbuf, 128 * 1024), HUSK_OK);
    cf_fill(rbuf, sizeof rbuf, 0);
    CHECK_RC(H->blk_read(C, h, rbuf, sizeof rbuf, 128 * 1024), HUSK_OK);
    int64_t bad = cf_pattern_mismatch(rbuf, sizeof rbuf, 0xb10c);
    CHECK(bad < 0, "read back 64 KiB at 128 KiB: byte %lld differs", (long long)bad);
    /* Unaligned small transfers (no HUSK_BLK_DIRECT). */
    const uint8_t odd[3] = {0x11, 0x22, 0x33};
    CHECK_RC(H->blk_write(C, h, odd, 3, 128 * 1024 + 1001), HUSK_OK);
    uint8_t back[5] = {0};
    CHECK_RC(H->blk_read(C, h, back, 5, 128 * 1024 + 1000), HUSK_OK);
    uint8_t p0 = rbuf[1000], p4 = rbuf[1004];
    CHECK(back[0] == p0 && back[1] == 0x11 && back[2] == 0x22 && back[3] == 0x33 && back[4] == p4,
          "3-byte write at offset +1001 read back as %02x %02x %02x %02x %02x", back[0], back[1], back[2], back[3],
          back[4]);
    /* First and last byte of the device. */
    uint8_t one = 0x5c;
    CHECK_RC(H->blk_write(C, h, &one, 1, MIB - 1), HUSK_OK);
    one = 0;
    CHECK_RC(H->blk_read(C, h, &one, 1, MIB - 1), HUSK_OK);
    CHECK(one == 0x5c, "last byte read back 0x%02x", one);
    CHECK_RC(H->blk_write(C, h, &one, 1, 0), HUSK_OK);
    CHECK_RC(H->blk_flush(C, h), HUSK_OK);
    CHECK_RC(H->blk_close(C, h), HUSK_OK);
    /* Durable across close/open. */
    if (CHECK_RC(H->blk_open(C, blk_path, HUSK_BLK_RDONLY, &h, 0), HUSK_OK)) {
        cf_fill(rbuf, sizeof rbuf, 0);
        CHECK_RC(H->blk_read(C, h, rbuf, 1000, 128 * 1024), HUSK_OK);
        CHECK(cf_pattern_mismatch(rbuf, 1000, 0xb10c) < 0, "data not there after close and reopen");
        CHECK_RC(H->blk_close(C, h), HUSK_OK);
    }
}

static void t_blk_ranges(void) {
    NEED_BLK();
    husk_handle h = 0;
    REQUIRE_RC(H->blk_open(C, blk_path, HUSK_BLK_RDWR, &h, 0), HUSK_OK);
    uint8_t b[1024];
    cf_fill(b, sizeof b, 0);
    CHECK_RC(H->blk_read(C, h, b, 0, 0), HUSK_EINVAL);
    CHECK_RC(H->blk_write(C, h, b, 0, 0), HUSK_EINVAL);
    CHECK_RC(H->blk_read(C, h, b, 1024, MIB - 512), HUSK_EINVAL);
    CHECK_RC(H->blk_write(C, h, b, 1024, MIB - 512), HUSK_EINVAL);
    CHECK_RC(H->blk_read(C, h, b, 1, MIB), HUSK_EINVAL);
    CHECK_RC(H->blk_write(C, h, b, 1, MIB), HUSK_EINVAL);
    CHECK_RC(H->blk_read(C, h, b, 20, ~0ull - 10), HUSK_EINVAL);
    CHECK_RC(H->blk_write(C, h, b, 20, ~0ull - 10), HUSK_EINVAL);
    CHECK_RC(H->blk_read(C, h, b, 512, MIB - 512), HUSK_OK);
    /* The file did not grow from the refused write past the end. */
    CHECK_RC(H->blk_close(C, h), HUSK_OK);
    struct husk_blk_info info;
    if (CHECK_RC(H->blk_open(C, blk_path, HUSK_BLK_RDONLY, &h, &info), HUSK_OK)) {
        CHECK(info.size == MIB, "size after refused writes past the end: %llu", U64(info.size));
        CHECK_RC(H->blk_close(C, h), HUSK_OK);
    }
}

/* ---- Asynchronous requests ---------------------------------------------- */

enum { AN = 32, ASZ = 4096 };
static struct {
    husk_handle m, cv;
    int done, bad_status, bad_ctx, bad_arg, battery;
} ac;

static void blk_done(struct husk_blk_req *r) {
    bool ctx_ok = H->ctx_current() == C;
    if (cf_inc(&ac.battery) == 1) cf_irq_context_ops(ac.m, ac.cv, "in a block I/O completion");
    H->mutex_lock(C, ac.m);
    ac.done++;
    if (r->status != HUSK_OK) ac.bad_status++;
    if (!ctx_ok) ac.bad_ctx++;
    if (r->arg != (void *)&ac) ac.bad_arg++;
    H->cv_broadcast(C, ac.cv);
    H->mutex_unlock(C, ac.m);
}

static bool wait_done(int target, uint64_t timeout) {
    uint64_t deadline = cf_now() + timeout;
    H->mutex_lock(C, ac.m);
    while (ac.done < target)
        if (H->cv_timedwait(C, ac.cv, ac.m, deadline) == HUSK_ETIMEDOUT) break;
    bool ok = ac.done >= target;
    H->mutex_unlock(C, ac.m);
    return ok;
}

static int done_count(void) {
    H->mutex_lock(C, ac.m);
    int n = ac.done;
    H->mutex_unlock(C, ac.m);
    return n;
}

static void prep(struct husk_blk_req *r, uint32_t op, void *buf, uint64_t len, uint64_t off) {
    cf_fill(r, sizeof *r, 0);
    r->op = op;
    r->status = -1;
    r->buf = buf;
    r->len = len;
    r->offset = off;
    r->done = blk_done;
    r->arg = &ac;
}

static bool ac_setup(void) {
    cf_fill(&ac, sizeof ac, 0);
    return CHECK_RC(H->mutex_create(C, "cf-blk", &ac.m), HUSK_OK) &&
           CHECK_RC(H->cv_create(C, "cf-blk", &ac.cv), HUSK_OK);
}

static void ac_teardown(void) {
    H->cv_destroy(C, ac.cv);
    H->mutex_destroy(C, ac.m);
}

static void t_blk_async(void) {
    NEED_BLK();
    /* Requests and buffers stay with the host until done ran: static, and
     * never reused by another test if a completion goes missing. */
    static struct husk_blk_req wr[AN], rd[AN], fl;
    static uint8_t wb[AN][ASZ], rb[AN][ASZ];
    if (!ac_setup()) return;
    husk_handle h = 0;
    REQUIRE_RC(H->blk_open(C, blk_path, HUSK_BLK_RDWR, &h, 0), HUSK_OK);
    const uint64_t base = 256 * 1024;
    int submitted = 0;
    for (int i = 0; i < AN; i++) {
        cf_pattern(wb[i], ASZ, 0xa000u + (uint32_t)i);
        prep(&wr[i], HUSK_BLK_WRITE, wb[i], ASZ, base + (uint64_t)i * ASZ);
        if (CHECK_RC(H->blk_submit(C, h, &wr[i]), HUSK_OK)) submitted++;
    }
    if (!CHECK(wait_done(submitted, 10 * CF_S), "%d of %d write completions within 10 s", done_count(), submitted))
        return;
    for (int i = 0; i < AN; i++)
        CHECK(wr[i].status == HUSK_OK, "write %d completed with %s", i, cf_errname(wr[i].status));
    /* A flush after the writes' completions ran. */
    prep(&fl, HUSK_BLK_FLUSH, 0, 0, 0);
    if (CHECK_RC(H->blk_submit(C, h, &fl), HUSK_OK)) {
        submitted++;
        if (CHECK(wait_done(submitted, 10 * CF_S), "flush completion missing after 10 s"))
            CHECK(fl.status == HUSK_OK, "async flush completed with %s", cf_errname(fl.status));
    }
    /* Read everything back asynchronously. */
    for (int i = 0; i < AN; i++) {
        cf_fill(rb[i], ASZ, 0);
        prep(&rd[i], HUSK_BLK_READ, rb[i], ASZ, base + (uint64_t)i * ASZ);
        if (CHECK_RC(H->blk_submit(C, h, &rd[i]), HUSK_OK)) submitted++;
    }
    if (!CHECK(wait_done(submitted, 10 * CF_S), "%d of %d completions within 10 s", done_count(), submitted)) return;
    for (int i = 0; i < AN; i++) {
        CHECK(rd[i].status == HUSK_OK, "read %d completed with %s", i, cf_errname(rd[i].status));
        int64_t bad = cf_pattern_mismatch(rb[i], ASZ, 0xa000u + (uint32_t)i);
        CHECK(bad < 0, "async read %d: byte %lld differs from what async write %d stored", i, (long long)bad, i);
    }
    /* And synchronously: the two paths see the same device. */
    CHECK_RC(H->blk_read(C, h, rbuf, ASZ, base + 7 * ASZ), HUSK_OK);
    CHECK(cf_pattern_mismatch(rbuf, ASZ, 0xa007) < 0, "sync read of an async write differs");
    CHECK(ac.bad_status == 0, "%d completions reported an error", ac.bad_status);
    CHECK(ac.bad_ctx == 0, "ctx_current() in %d completions was not the component's", ac.bad_ctx);
    CHECK(ac.bad_arg == 0, "req->arg changed in %d completions", ac.bad_arg);
    CHECK_RC(H->blk_close(C, h), HUSK_OK);
    ac_teardown();
}

static void t_blk_async_errors(void) {
    NEED_BLK();
    static struct husk_blk_req r[4];
    static uint8_t b[512];
    if (!ac_setup()) return;
    husk_handle h = 0;
    REQUIRE_RC(H->blk_open(C, blk_path, HUSK_BLK_RDWR, &h, 0), HUSK_OK);
    prep(&r[0], HUSK_BLK_READ, b, 0, 0);
    CHECK_RC(H->blk_submit(C, h, &r[0]), HUSK_EINVAL);
    prep(&r[1], HUSK_BLK_READ, b, 512, MIB);
    CHECK_RC(H->blk_submit(C, h, &r[1]), HUSK_EINVAL);
    prep(&r[2], HUSK_BLK_WRITE, b, 512, MIB - 256);
    CHECK_RC(H->blk_submit(C, h, &r[2]), HUSK_EINVAL);
    prep(&r[3], 77, b, 512, 0);
    CHECK_RC(H->blk_submit(C, h, &r[3]), HUSK_EINVAL);
    CHECK_RC(H->blk_submit(C, 0, &r[0]), HUSK_EBADF);
    CHECK_RC(H->blk_close(C, h), HUSK_OK);
    /* blk_close waited for everything queued: nothing was, so no callback. */
    cf_pause_ms(20);
    CHECK(done_count() == 0, "done ran %d times for requests refused at submit", done_count());
    ac_teardown();
}

static void t_blk_close_drains(void) {
    NEED_BLK();
    enum { K = 16 };
    static struct husk_blk_req r[K];
    static uint8_t b[K][ASZ];
    if (!ac_setup()) return;
    husk_handle h = 0;
    REQUIRE_RC(H->blk_open(C, blk_path, HUSK_BLK_RDWR, &h, 0), HUSK_OK);
    int n = 0;
    for (int i = 0; i < K; i++) {
        cf_pattern(b[i], ASZ, (uint32_t)i);
        prep(&r[i], HUSK_BLK_WRITE, b[i], ASZ, 512 * 1024 + (uint64_t)i * ASZ);
        if (CHECK_RC(H->blk_submit(C, h, &r[i]), HUSK_OK)) n++;
    }
    CHECK_RC(H->blk_close(C, h), HUSK_OK);
    /* Completions all ran before blk_close returned. */
    int got = done_count();
    CHECK(got == n, "blk_close returned with %d of %d completions run", got, n);
    if (got != n) wait_done(n, 10 * CF_S);
    if (CHECK_RC(H->blk_open(C, blk_path, HUSK_BLK_RDONLY, &h, 0), HUSK_OK)) {
        CHECK_RC(H->blk_read(C, h, rbuf, ASZ, 512 * 1024 + 5 * ASZ), HUSK_OK);
        CHECK(cf_pattern_mismatch(rbuf, ASZ, 5) < 0, "write queued before blk_close not on the device");
        CHECK_RC(H->blk_close(C, h), HUSK_OK);
    }
    ac_teardown();
}

static void t_blk_rdonly(void) {
    NEED_BLK();
    static struct husk_blk_req r;
    static uint8_t b[512];
    if (!ac_setup()) return;
    husk_handle h = 0;
    struct husk_blk_info info;
    REQUIRE_RC(H->blk_open(C, blk_path, HUSK_BLK_RDONLY, &h, &info), HUSK_OK);
    CHECK(info.read_only == 1, "RDONLY open reports read_only %u", info.read_only);
    CHECK_RC(H->blk_read(C, h, b, sizeof b, 0), HUSK_OK);
    CHECK_RC(H->blk_write(C, h, b, sizeof b, 0), HUSK_EROFS);
    prep(&r, HUSK_BLK_WRITE, b, sizeof b, 0);
    CHECK_RC(H->blk_submit(C, h, &r), HUSK_EROFS);
    CHECK_RC(H->blk_close(C, h), HUSK_OK);
    CHECK(done_count() == 0, "done ran for a write refused with EROFS");
    ac_teardown();
}

static void t_blk_direct(void) {
    NEED_BLK();
    husk_handle h = 0;
    struct husk_blk_info info;
    REQUIRE_RC(H->blk_open(C, blk_path, HUSK_BLK_RDWR | HUSK_BLK_DIRECT, &h, &info), HUSK_OK);
    uint64_t ss = info.sector_size >= 512 ? info.sector_size : 512;
    void *p = 0;
    if (CHECK_RC(H->mem_alloc(C, 8192, 4096, &p), HUSK_OK)) {
        cf_pattern(p, 4096, 0xd1);
        CHECK_RC(H->blk_write(C, h, p, 4096, 64 * 1024), HUSK_OK);
        cf_fill(p, 4096, 0);
        CHECK_RC(H->blk_read(C, h, p, 4096, 64 * 1024), HUSK_OK);
        CHECK(cf_pattern_mismatch(p, 4096, 0xd1) < 0, "DIRECT round trip differs");
        CHECK_RC(H->blk_read(C, h, p, ss + 1, 0), HUSK_EINVAL);         /* length */
        CHECK_RC(H->blk_read(C, h, p, ss, 1), HUSK_EINVAL);             /* offset */
        CHECK_RC(H->blk_read(C, h, (char *)p + 1, ss, 0), HUSK_EINVAL); /* buffer */
        CHECK_RC(H->blk_write(C, h, (char *)p + 1, ss, 0), HUSK_EINVAL);
        CHECK_RC(H->mem_free(C, p, 8192), HUSK_OK);
    }
    CHECK_RC(H->blk_close(C, h), HUSK_OK);
}

struct blk_cancel_arg {
    husk_handle h;
    int32_t rc_read, rc_write, rc_flush;
    int pending;
};
static void blk_cancel_worker(void *p) {
    struct blk_cancel_arg *a = p;
    static uint8_t b[4096];
    H->thread_cancel(C, H->thread_self(C));
    a->pending = H->cancel_pending(C);
    a->rc_read = H->blk_read(C, a->h, b, sizeof b, 0);
    a->rc_write = H->blk_write(C, a->h, b, sizeof b, 0);
    a->rc_flush = H->blk_flush(C, a->h);
    H->cancel_clear(C);
}

static void t_blk_not_interruptible(void) {
    NEED_BLK();
    static struct blk_cancel_arg a;
    static struct cf_thread t;
    cf_fill(&a, sizeof a, 0);
    REQUIRE_RC(H->blk_open(C, blk_path, HUSK_BLK_RDWR, &a.h, 0), HUSK_OK);
    if (cf_spawn(&t, "cf-blk-cancel", blk_cancel_worker, &a) == HUSK_OK && cf_join(&t, 10 * CF_S)) {
        CHECK(a.pending == 1, "cancel_pending after cancelling oneself: %d", a.pending);
        CHECK(a.rc_read == HUSK_OK, "blk_read with the cancel flag set: expected OK got %s", cf_errname(a.rc_read));
        CHECK(a.rc_write == HUSK_OK, "blk_write with the cancel flag set: expected OK got %s", cf_errname(a.rc_write));
        CHECK(a.rc_flush == HUSK_OK, "blk_flush with the cancel flag set: expected OK got %s", cf_errname(a.rc_flush));
    }
    CHECK_RC(H->blk_close(C, a.h), HUSK_OK);
}

static void t_blk_bad_handles(void) {
    if (!have_blk()) SKIP("no HUSK_FEAT_BLK on backend %s", H->backend);
    static struct husk_blk_req r;
    uint8_t b[512];
    husk_handle stale = 0;
    if (cf_config("blk_path", blk_path, sizeof blk_path) && blk_path[0] &&
        CHECK_RC(H->blk_open(C, blk_path, HUSK_BLK_RDWR, &stale, 0), HUSK_OK))
        CHECK_RC(H->blk_close(C, stale), HUSK_OK);
    husk_handle list[] = {0, CF_BOGUS_HANDLE, stale};
    for (int i = 0; i < (stale ? 3 : 2); i++) {
        CHECK_RC(H->blk_read(C, list[i], b, sizeof b, 0), HUSK_EBADF);
        CHECK_RC(H->blk_write(C, list[i], b, sizeof b, 0), HUSK_EBADF);
        CHECK_RC(H->blk_flush(C, list[i]), HUSK_EBADF);
        prep(&r, HUSK_BLK_READ, b, sizeof b, 0);
        CHECK_RC(H->blk_submit(C, list[i], &r), HUSK_EBADF);
        CHECK_RC(H->blk_close(C, list[i]), HUSK_EBADF);
    }
}

void cf_area_blk(void) {
    cf_test("blk: without HUSK_FEAT_BLK blk_open fails", t_blk_absent);
    cf_test("blk: open nonexistent -> ENOENT, bad flags -> EINVAL", t_blk_open_errors);
    cf_test("blk: open RDWR, info 1 MiB / sector size / read_only; RDONLY with info NULL", t_blk_open_info);
    cf_test("blk: sync write/read round trip, unaligned bytes, flush, reopen", t_blk_sync);
    cf_test("blk: len 0 / past end / overflow -> EINVAL", t_blk_ranges);
    cf_test("blk: async 32 writes, flush, 32 reads with completion callbacks", t_blk_async);
    cf_test("blk: async refused at submit (EINVAL, EBADF): done never runs", t_blk_async_errors);
    cf_test("blk: blk_close waits for 16 queued writes", t_blk_close_drains);
    cf_test("blk: RDONLY: read OK, write and submitted write -> EROFS", t_blk_rdonly);
    cf_test("blk: DIRECT: aligned round trip, misaligned len/offset/buffer -> EINVAL", t_blk_direct);
    cf_test("blk: sync I/O not interrupted by a pending cancel", t_blk_not_interruptible);
    cf_test("blk: bogus and closed handles -> EBADF", t_blk_bad_handles);
}
