/*
 * conformance_cancel.c — thread_cancel, cancel_pending, cancel_clear: sleeps
 * and condition-variable waits return EINTR, mutex/rwlock acquisition and
 * thread_join are not interrupted, the flag stays until cancel_clear.
 */
#include "cf_private.h"

#define QUICK (5 * CF_S) /* "quickly": well under the 10 s the waits ask for */

struct cx {
    husk_handle m, cv, rw, target;
    int step, got, go;
    int32_t rc, rc2, rc3, rc4;
    uint64_t t1, t2;
    int pending_after, pending_cleared, owned;
    int until; /* sleeper uses sleep_until */
};

static void sleeper(void *p) {
    struct cx *a = p;
    cf_store(&a->step, 1);
    uint64_t t0 = cf_now();
    a->rc = a->until ? H->sleep_until(C, t0 + 10 * CF_S) : H->sleep_ns(C, 10 * CF_S);
    a->t1 = cf_now() - t0;
    a->pending_after = H->cancel_pending(C);
    if (a->rc != HUSK_EINTR) return;
    /* The flag stays set: the next sleep returns at once. */
    t0 = cf_now();
    a->rc2 = H->sleep_ns(C, 10 * CF_S);
    a->t2 = cf_now() - t0;
    H->cancel_clear(C);
    a->pending_cleared = H->cancel_pending(C);
    a->rc3 = H->sleep_ns(C, CF_MS);
}

static void bystander(void *p) {
    struct cx *a = p;
    uint64_t t0 = cf_now();
    a->rc = H->sleep_ns(C, 300 * CF_MS);
    a->t1 = cf_now() - t0;
    a->pending_after = H->cancel_pending(C);
}

static void sleeper_case(int until) {
    static struct cx a, b;
    static struct cf_thread t, tb;
    cf_fill(&a, sizeof a, 0);
    cf_fill(&b, sizeof b, 0);
    a.until = until;
    const char *op = until ? "sleep_until(+10 s)" : "sleep_ns(10 s)";
    if (cf_spawn(&t, "cf-sleeper", sleeper, &a) != HUSK_OK) return;
    cf_spawn(&tb, "cf-bystander", bystander, &b);
    CHECK(cf_wait_flag(&a.step, 1, 10 * CF_S), "sleeper did not start");
    cf_pause_ms(50);
    CHECK_RC(H->thread_cancel(C, t.h), HUSK_OK);
    bool joined = cf_join(&t, 15 * CF_S);
    if (joined) {
        CHECK(a.rc == HUSK_EINTR, "%s of a cancelled thread: expected EINTR got %s", op, cf_errname(a.rc));
        CHECK(a.t1 < QUICK, "cancelled %s returned after %llu ms", op, U64(a.t1 / CF_MS));
        CHECK(a.pending_after == 1, "cancel_pending after the EINTR: expected 1 got %d", a.pending_after);
        if (a.rc == HUSK_EINTR) {
            CHECK(a.rc2 == HUSK_EINTR, "second sleep with the flag still set: expected EINTR got %s",
                  cf_errname(a.rc2));
            CHECK(a.t2 < QUICK, "second sleep with the flag set lasted %llu ms", U64(a.t2 / CF_MS));
            CHECK(a.pending_cleared == 0, "cancel_pending after cancel_clear: expected 0 got %d", a.pending_cleared);
            CHECK(a.rc3 == HUSK_OK, "sleep after cancel_clear: expected OK got %s", cf_errname(a.rc3));
        }
    }
    if (cf_join(&tb, 10 * CF_S)) {
        CHECK(b.rc == HUSK_OK, "another thread's sleep was affected by the cancel: %s", cf_errname(b.rc));
        CHECK(b.t1 >= 300 * CF_MS, "bystander's 300 ms sleep lasted %llu ms", U64(b.t1 / CF_MS));
        CHECK(b.pending_after == 0, "bystander has cancel_pending %d", b.pending_after);
    }
    /* The joined thread's handle is stale now. */
    if (joined) CHECK_RC(H->thread_cancel(C, t.h), HUSK_EBADF);
}

static void t_cancel_sleep(void) { sleeper_case(0); }
static void t_cancel_sleep_until(void) { sleeper_case(1); }

static void cv_victim(void *p) {
    struct cx *a = p;
    int32_t rc = HUSK_OK;
    H->mutex_lock(C, a->m);
    a->step = 1;
    uint64_t t0 = cf_now();
    if (a->until) {
        while (!a->go && rc == HUSK_OK) rc = H->cv_timedwait(C, a->cv, a->m, t0 + 10 * CF_S);
    } else {
        while (!a->go && rc == HUSK_OK) rc = H->cv_wait(C, a->cv, a->m);
    }
    a->t1 = cf_now() - t0;
    a->owned = H->mutex_owned(C, a->m);
    a->rc = rc;
    a->pending_after = H->cancel_pending(C);
    if (a->owned) H->mutex_unlock(C, a->m);
    H->cancel_clear(C);
}

static void cv_case(int timed) {
    static struct cx a;
    static struct cf_thread t;
    cf_fill(&a, sizeof a, 0);
    a.until = timed;
    const char *op = timed ? "cv_timedwait(+10 s)" : "cv_wait";
    REQUIRE_RC(H->mutex_create(C, "cf-cx", &a.m), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-cx", &a.cv), HUSK_OK);
    if (cf_spawn(&t, "cf-cv-victim", cv_victim, &a) != HUSK_OK) return;
    /* Wait until the victim is inside the wait (it set step under m). */
    uint64_t d = cf_now() + 10 * CF_S;
    for (;;) {
        H->mutex_lock(C, a.m);
        int s = a.step;
        H->mutex_unlock(C, a.m);
        if (s || cf_now() > d) break;
        H->sleep_ns(C, CF_MS);
    }
    cf_pause_ms(30);
    CHECK_RC(H->thread_cancel(C, t.h), HUSK_OK);
    if (!cf_wait_flag(&t.done, 1, QUICK)) {
        cf_fail(__FILE__, __LINE__, "%s not interrupted by thread_cancel within 5 s", op);
        H->mutex_lock(C, a.m);
        a.go = 1;
        H->mutex_unlock(C, a.m);
        for (int i = 0; i < 100 && !cf_load(&t.done); i++) {
            H->cv_broadcast(C, a.cv);
            cf_pause_ms(20);
        }
    }
    if (!cf_join(&t, 5 * CF_S)) return;
    CHECK(a.rc == HUSK_EINTR, "%s of a cancelled thread: expected EINTR got %s", op, cf_errname(a.rc));
    CHECK(a.owned == 1, "%s returned EINTR without the mutex held", op);
    CHECK(a.pending_after == 1, "cancel_pending after the EINTR: expected 1 got %d", a.pending_after);
    CHECK_RC(H->cv_destroy(C, a.cv), HUSK_OK);
    CHECK_RC(H->mutex_destroy(C, a.m), HUSK_OK);
}

static void t_cancel_cv_wait(void) { cv_case(0); }
static void t_cancel_cv_timedwait(void) { cv_case(1); }

static void self_cancel(void *p) {
    struct cx *a = p;
    uint64_t t0;
    a->rc = H->thread_cancel(C, H->thread_self(C));
    a->pending_after = H->cancel_pending(C);
    t0 = cf_now();
    a->rc2 = H->sleep_ns(C, 3 * CF_S);
    a->rc3 = H->sleep_until(C, cf_now() + 3 * CF_S);
    H->mutex_lock(C, a->m);
    a->rc4 = H->cv_timedwait(C, a->cv, a->m, cf_now() + 3 * CF_S);
    a->owned = H->mutex_owned(C, a->m);
    int32_t w = H->cv_wait(C, a->cv, a->m); /* flag set: returns at once */
    int still = H->mutex_owned(C, a->m);
    a->owned &= still;
    if (still) H->mutex_unlock(C, a->m);
    a->t1 = cf_now() - t0;
    a->got = w == HUSK_EINTR;
    a->step = H->cancel_pending(C); /* still set after four EINTRs */
    H->cancel_clear(C);
    a->pending_cleared = H->cancel_pending(C);
    H->mutex_lock(C, a->m);
    t0 = cf_now();
    a->go = H->cv_timedwait(C, a->cv, a->m, t0 + 20 * CF_MS);
    if (H->mutex_owned(C, a->m)) H->mutex_unlock(C, a->m);
    a->t2 = H->sleep_ns(C, CF_MS);
}

static void t_cancel_pending_flag(void) {
    static struct cx a;
    static struct cf_thread t;
    cf_fill(&a, sizeof a, 0);
    REQUIRE_RC(H->mutex_create(C, "cf-self", &a.m), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-self", &a.cv), HUSK_OK);
    if (cf_spawn(&t, "cf-self-cancel", self_cancel, &a) != HUSK_OK) return;
    if (!cf_join(&t, 25 * CF_S)) return;
    CHECK(a.rc == HUSK_OK, "thread_cancel(thread_self()): expected OK got %s", cf_errname(a.rc));
    CHECK(a.pending_after == 1, "cancel_pending after cancelling oneself: expected 1 got %d", a.pending_after);
    CHECK(a.rc2 == HUSK_EINTR, "sleep_ns with the flag set: expected EINTR got %s", cf_errname(a.rc2));
    CHECK(a.rc3 == HUSK_EINTR, "sleep_until with the flag set: expected EINTR got %s", cf_errname(a.rc3));
    CHECK(a.rc4 == HUSK_EINTR, "cv_timedwait with the flag set: expected EINTR got %s", cf_errname(a.rc4));
    CHECK(a.got == 1, "cv_wait with the flag set did not return EINTR");
    CHECK(a.owned == 1, "cv_wait/cv_timedwait returned EINTR without the mutex held");
    CHECK(a.t1 < QUICK, "four waits with the flag set took %llu ms", U64(a.t1 / CF_MS));
    CHECK(a.step == 1, "cancel_pending after the EINTRs: expected 1 (until cancel_clear) got %d", a.step);
    CHECK(a.pending_cleared == 0, "cancel_pending after cancel_clear: expected 0 got %d", a.pending_cleared);
    CHECK(a.go == HUSK_ETIMEDOUT, "cv_timedwait(+20 ms) after cancel_clear: expected ETIMEDOUT got %s",
          cf_errname(a.go));
    CHECK(a.t2 == HUSK_OK, "sleep_ns after cancel_clear: expected OK got %s", cf_errname((int32_t)a.t2));
    CHECK_RC(H->cv_destroy(C, a.cv), HUSK_OK);
    CHECK_RC(H->mutex_destroy(C, a.m), HUSK_OK);
}

static void t_cancel_run_thread(void) {
    /* Host threads get a handle on first use, valid for thread_cancel. */
    husk_handle me = H->thread_self(C);
    CHECK(H->cancel_pending(C) == 0, "the run thread starts with cancel_pending %d", H->cancel_pending(C));
    REQUIRE_RC(H->thread_cancel(C, me), HUSK_OK);
    CHECK_EQ(H->cancel_pending(C), 1);
    uint64_t t0 = cf_now();
    CHECK_RC(H->sleep_ns(C, 10 * CF_S), HUSK_EINTR);
    CHECK(cf_now() - t0 < QUICK, "sleep with the flag set lasted %llu ms", U64((cf_now() - t0) / CF_MS));
    H->cancel_clear(C);
    CHECK_EQ(H->cancel_pending(C), 0);
    CHECK_RC(H->sleep_ns(C, CF_MS), HUSK_OK);
}

static void lock_victim(void *p) {
    struct cx *a = p;
    cf_store(&a->step, 1);
    if (a->until)
        a->rc = H->rw_enter(C, a->rw, HUSK_RW_WRITER);
    else
        a->rc = H->mutex_lock(C, a->m);
    cf_store(&a->got, 1);
    a->owned = a->until ? 1 : H->mutex_owned(C, a->m);
    a->pending_after = H->cancel_pending(C);
    if (a->rc == HUSK_OK) { /* never unlock what was not acquired: that panics */
        if (a->until)
            H->rw_exit(C, a->rw);
        else
            H->mutex_unlock(C, a->m);
    }
    H->cancel_clear(C);
}

static void lock_case(int rw) {
    static struct cx a;
    static struct cf_thread t;
    cf_fill(&a, sizeof a, 0);
    a.until = rw;
    const char *op = rw ? "rw_enter(writer)" : "mutex_lock";
    if (rw) {
        REQUIRE_RC(H->rw_create(C, "cf-cx-rw", &a.rw), HUSK_OK);
        REQUIRE_RC(H->rw_enter(C, a.rw, HUSK_RW_WRITER), HUSK_OK);
    } else {
        REQUIRE_RC(H->mutex_create(C, "cf-cx-m", &a.m), HUSK_OK);
        REQUIRE_RC(H->mutex_lock(C, a.m), HUSK_OK);
    }
    if (cf_spawn(&t, "cf-lock-victim", lock_victim, &a) == HUSK_OK) {
        cf_wait_flag(&a.step, 1, 10 * CF_S);
        cf_pause_ms(50);
        CHECK_RC(H->thread_cancel(C, t.h), HUSK_OK);
        cf_pause_ms(100);
        CHECK(cf_load(&a.got) == 0, "%s returned (%s) while the lock was held: cancel interrupted it", op,
              cf_errname(a.rc));
    }
    if (rw)
        CHECK_RC(H->rw_exit(C, a.rw), HUSK_OK);
    else
        CHECK_RC(H->mutex_unlock(C, a.m), HUSK_OK);
    if (!t.live || !cf_join(&t, 10 * CF_S)) return;
    CHECK(a.rc == HUSK_OK, "%s of a cancelled thread: expected OK (not interruptible) got %s", op, cf_errname(a.rc));
    CHECK(a.owned == 1, "%s returned without the lock held", op);
    CHECK(a.pending_after == 1, "cancel_pending after the lock: expected 1 got %d", a.pending_after);
    if (rw)
        CHECK_RC(H->rw_destroy(C, a.rw), HUSK_OK);
    else
        CHECK_RC(H->mutex_destroy(C, a.m), HUSK_OK);
}

static void t_cancel_mutex(void) { lock_case(0); }
static void t_cancel_rw(void) { lock_case(1); }

static void join_target(void *p) {
    (void)p;
    H->sleep_ns(C, 300 * CF_MS);
}

static void join_victim(void *p) {
    struct cx *a = p;
    cf_store(&a->step, 1);
    uint64_t t0 = cf_now();
    a->rc = H->thread_join(C, a->target);
    a->t1 = cf_now() - t0;
    H->cancel_clear(C);
}

static void t_cancel_join(void) {
    static struct cx a;
    static struct cf_thread t;
    cf_fill(&a, sizeof a, 0);
    REQUIRE_RC(H->thread_create(C, "cf-join-target", join_target, 0, HUSK_THREAD_JOINABLE, &a.target), HUSK_OK);
    if (cf_spawn(&t, "cf-join-victim", join_victim, &a) != HUSK_OK) return;
    cf_wait_flag(&a.step, 1, 10 * CF_S);
    cf_pause_ms(50);
    CHECK_RC(H->thread_cancel(C, t.h), HUSK_OK);
    if (!cf_join(&t, 15 * CF_S)) return;
    CHECK(a.rc == HUSK_OK, "thread_join of a cancelled thread: expected OK (not interruptible) got %s",
          cf_errname(a.rc));
}

static void t_cancel_bogus(void) {
    CHECK_RC(H->thread_cancel(C, 0), HUSK_EBADF);
    CHECK_RC(H->thread_cancel(C, CF_BOGUS_HANDLE), HUSK_EBADF);
    CHECK_EQ(H->cancel_pending(C), 0);
}

void cf_area_cancel(void) {
    cf_test("cancel: sleep_ns(10 s) cancelled -> EINTR quickly; flag stays until cancel_clear", t_cancel_sleep);
    cf_test("cancel: sleep_until(+10 s) cancelled -> EINTR quickly", t_cancel_sleep_until);
    cf_test("cancel: cv_wait cancelled -> EINTR, mutex held", t_cancel_cv_wait);
    cf_test("cancel: cv_timedwait cancelled -> EINTR before the deadline, mutex held", t_cancel_cv_timedwait);
    cf_test("cancel: pending flag makes every wait return EINTR at once; cancel_clear", t_cancel_pending_flag);
    cf_test("cancel: on the run (host) thread via thread_self", t_cancel_run_thread);
    cf_test("cancel: mutex_lock not interrupted, gets the lock after release", t_cancel_mutex);
    cf_test("cancel: rw_enter not interrupted, gets the lock after release", t_cancel_rw);
    cf_test("cancel: thread_join not interrupted", t_cancel_join);
    cf_test("cancel: thread_cancel bogus -> EBADF", t_cancel_bogus);
}
