/*
 * conformance_errors.c — handles are typed: a live handle of one kind given to
 * an operation of another kind is EBADF ("invalid, stale or foreign"), and
 * the object it names is left untouched.
 */
#include "cf_private.h"

static void idle_worker(void *p) { cf_wait_flag((int *)p, 1, 20 * CF_S); }

static void t_foreign_handles(void) {
    husk_handle m = 0, rw = 0, cv = 0;
    REQUIRE_RC(H->mutex_create(C, "cf-x-m", &m), HUSK_OK);
    REQUIRE_RC(H->rw_create(C, "cf-x-rw", &rw), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-x-cv", &cv), HUSK_OK);
    static int release;
    static struct cf_thread t;
    cf_store(&release, 0);
    cf_spawn(&t, "cf-x-thread", idle_worker, &release);
    husk_handle th = t.h;

    /* Not mutexes. */
    husk_handle not_m[] = {rw, cv, th};
    for (int i = 0; i < 3; i++) {
        if (!not_m[i]) continue;
        CHECK_RC(H->mutex_lock(C, not_m[i]), HUSK_EBADF);
        CHECK_RC(H->mutex_trylock(C, not_m[i]), HUSK_EBADF);
        CHECK_RC(H->mutex_unlock(C, not_m[i]), HUSK_EBADF);
        CHECK_RC(H->mutex_destroy(C, not_m[i]), HUSK_EBADF);
        CHECK_EQ(H->mutex_owned(C, not_m[i]), 0);
    }
    /* Not rwlocks. */
    husk_handle not_rw[] = {m, cv, th};
    for (int i = 0; i < 3; i++) {
        if (!not_rw[i]) continue;
        CHECK_RC(H->rw_enter(C, not_rw[i], HUSK_RW_READER), HUSK_EBADF);
        CHECK_RC(H->rw_tryenter(C, not_rw[i], HUSK_RW_WRITER), HUSK_EBADF);
        CHECK_RC(H->rw_exit(C, not_rw[i]), HUSK_EBADF);
        CHECK_RC(H->rw_destroy(C, not_rw[i]), HUSK_EBADF);
    }
    /* Not condition variables. */
    husk_handle not_cv[] = {m, rw, th};
    CHECK_RC(H->mutex_lock(C, m), HUSK_OK);
    for (int i = 0; i < 3; i++) {
        if (!not_cv[i]) continue;
        CHECK_RC(H->cv_signal(C, not_cv[i]), HUSK_EBADF);
        CHECK_RC(H->cv_broadcast(C, not_cv[i]), HUSK_EBADF);
        CHECK_RC(H->cv_destroy(C, not_cv[i]), HUSK_EBADF);
        CHECK_RC(H->cv_timedwait(C, not_cv[i], m, cf_now() + CF_S), HUSK_EBADF);
        CHECK_RC(H->cv_wait(C, not_cv[i], m), HUSK_EBADF);
    }
    /* A condition variable is not a mutex for cv_wait either. */
    CHECK_RC(H->cv_timedwait(C, cv, cv, cf_now() + CF_S), HUSK_EBADF);
    CHECK_EQ(H->mutex_owned(C, m), 1);
    CHECK_RC(H->mutex_unlock(C, m), HUSK_OK);
    /* Not threads. */
    husk_handle not_t[] = {m, rw, cv};
    for (int i = 0; i < 3; i++) {
        CHECK_RC(H->thread_join(C, not_t[i]), HUSK_EBADF);
        CHECK_RC(H->thread_cancel(C, not_t[i]), HUSK_EBADF);
    }
    /* Not DMA buffers, devices, interrupt handlers or block devices. */
    husk_handle all[] = {m, rw, cv, th};
    for (int i = 0; i < 4; i++) {
        if (!all[i]) continue;
        if (H->features & HUSK_FEAT_DMA) CHECK_RC(H->dma_free(C, all[i]), HUSK_EBADF);
        if (H->features & HUSK_FEAT_PCI) {
            uint32_t v;
            CHECK_RC(H->cfg_read(C, all[i], 0, 4, &v), HUSK_EBADF);
            CHECK_RC(H->irq_disestablish(C, all[i]), HUSK_EBADF);
            CHECK_RC(H->dev_close(C, all[i]), HUSK_EBADF);
        }
        if (H->features & HUSK_FEAT_BLK) {
            uint8_t b[16];
            CHECK_RC(H->blk_read(C, all[i], b, sizeof b, 0), HUSK_EBADF);
            CHECK_RC(H->blk_close(C, all[i]), HUSK_EBADF);
        }
    }

    /* Everything survived: each object still does its job. */
    CHECK_RC(H->mutex_lock(C, m), HUSK_OK);
    CHECK_RC(H->cv_timedwait(C, cv, m, cf_now() + CF_MS), HUSK_ETIMEDOUT);
    CHECK_RC(H->mutex_unlock(C, m), HUSK_OK);
    CHECK_RC(H->rw_enter(C, rw, HUSK_RW_WRITER), HUSK_OK);
    CHECK_RC(H->rw_exit(C, rw), HUSK_OK);
    cf_store(&release, 1);
    cf_join(&t, 10 * CF_S);
    CHECK_RC(H->mutex_destroy(C, m), HUSK_OK);
    CHECK_RC(H->rw_destroy(C, rw), HUSK_OK);
    CHECK_RC(H->cv_destroy(C, cv), HUSK_OK);
}

static void t_handles_nonzero_distinct(void) {
    /* Handles of different kinds, alive together, are all different. */
    husk_handle h[6] = {0};
    CHECK_RC(H->mutex_create(C, "cf-d1", &h[0]), HUSK_OK);
    CHECK_RC(H->mutex_create(C, "cf-d2", &h[1]), HUSK_OK);
    CHECK_RC(H->rw_create(C, "cf-d3", &h[2]), HUSK_OK);
    CHECK_RC(H->rw_create(C, "cf-d4", &h[3]), HUSK_OK);
    CHECK_RC(H->cv_create(C, "cf-d5", &h[4]), HUSK_OK);
    CHECK_RC(H->cv_create(C, "cf-d6", &h[5]), HUSK_OK);
    for (int i = 0; i < 6; i++) {
        CHECK(h[i] != 0, "handle %d is 0", i);
        for (int j = i + 1; j < 6; j++) CHECK(h[i] != h[j], "handles %d and %d are both 0x%llx", i, j, U64(h[i]));
    }
    if (h[0]) CHECK_RC(H->mutex_destroy(C, h[0]), HUSK_OK);
    if (h[1]) CHECK_RC(H->mutex_destroy(C, h[1]), HUSK_OK);
    if (h[2]) CHECK_RC(H->rw_destroy(C, h[2]), HUSK_OK);
    if (h[3]) CHECK_RC(H->rw_destroy(C, h[3]), HUSK_OK);
    if (h[4]) CHECK_RC(H->cv_destroy(C, h[4]), HUSK_OK);
    if (h[5]) CHECK_RC(H->cv_destroy(C, h[5]), HUSK_OK);
}

static void t_stale_reuse(void) {
    /* Destroy, create another: the old handle stays stale even if the host
     * reuses the slot (a generation in the handle). */
    husk_handle old = 0, fresh = 0;
    REQUIRE_RC(H->mutex_create(C, "cf-old", &old), HUSK_OK);
    CHECK_RC(H->mutex_destroy(C, old), HUSK_OK);
    int collisions = 0;
    for (int i = 0; i < 64; i++) {
        REQUIRE_RC(H->mutex_create(C, "cf-fresh", &fresh), HUSK_OK);
        if (fresh == old) collisions++;
        CHECK_RC(H->mutex_lock(C, old), fresh == old ? HUSK_OK : HUSK_EBADF);
        if (fresh == old) H->mutex_unlock(C, old);
        CHECK_RC(H->mutex_destroy(C, fresh), HUSK_OK);
    }
    CHECK(collisions == 0,
          "a destroyed mutex's handle 0x%llx was handed out again %d times: stale "
          "handles then name new objects",
          U64(old), collisions);
}

void cf_area_errors(void) {
    cf_test("errors: live handles of another kind -> EBADF, objects unharmed", t_foreign_handles);
    cf_test("errors: handles of six live objects nonzero and distinct", t_handles_nonzero_distinct);
    cf_test("errors: a destroyed handle is not handed out again (64 creates)", t_stale_reuse);
}
