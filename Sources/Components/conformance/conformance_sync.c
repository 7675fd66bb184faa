/*
 * conformance_sync.c — mutexes, reader/writer locks, condition variables.
 *
 * Cross-thread steps are sequenced with atomic flags polled under a
 * deadline; "X has not happened" is checked after a 50-100 ms pause (a
 * broken host may pass such a check by luck, a correct host never fails it).
 */
#include "cf_private.h"

/* ==== Mutexes ============================================================= */

static void t_mutex_basic(void) {
    husk_handle m = 0, m2 = 0;
    REQUIRE_RC(H->mutex_create(C, "cf-m", &m), HUSK_OK);
    REQUIRE(m != 0, "mutex_create returned handle 0");
    CHECK_RC(H->mutex_create(C, "cf-m2", &m2), HUSK_OK);
    CHECK(m2 != m, "two mutexes share handle 0x%llx", U64(m));
    CHECK_EQ(H->mutex_owned(C, m), 0);
    CHECK_RC(H->mutex_lock(C, m), HUSK_OK);
    CHECK_EQ(H->mutex_owned(C, m), 1);
    CHECK_EQ(H->mutex_owned(C, m2), 0);
    CHECK_RC(H->mutex_trylock(C, m), HUSK_EBUSY); /* held by the caller itself */
    CHECK_EQ(H->mutex_owned(C, m), 1);
    CHECK_RC(H->mutex_unlock(C, m), HUSK_OK);
    CHECK_EQ(H->mutex_owned(C, m), 0);
    CHECK_RC(H->mutex_trylock(C, m), HUSK_OK);
    CHECK_EQ(H->mutex_owned(C, m), 1);
    /* Two mutexes held at once. */
    CHECK_RC(H->mutex_lock(C, m2), HUSK_OK);
    CHECK_EQ(H->mutex_owned(C, m2), 1);
    CHECK_RC(H->mutex_unlock(C, m2), HUSK_OK);
    CHECK_RC(H->mutex_unlock(C, m), HUSK_OK);
    CHECK_RC(H->mutex_destroy(C, m), HUSK_OK);
    if (m2) CHECK_RC(H->mutex_destroy(C, m2), HUSK_OK);
    /* Names are optional decoration: NULL and long names work. */
    husk_handle m3 = 0;
    if (CHECK_RC(H->mutex_create(C, "cf-a-rather-long-mutex-name-for-the-lock-table", &m3), HUSK_OK))
        CHECK_RC(H->mutex_destroy(C, m3), HUSK_OK);
}

static void t_mutex_stale(void) {
    husk_handle m = 0;
    REQUIRE_RC(H->mutex_create(C, "cf-stale", &m), HUSK_OK);
    CHECK_RC(H->mutex_destroy(C, m), HUSK_OK);
    CHECK_RC(H->mutex_lock(C, m), HUSK_EBADF);
    CHECK_RC(H->mutex_trylock(C, m), HUSK_EBADF);
    CHECK_RC(H->mutex_unlock(C, m), HUSK_EBADF);
    CHECK_RC(H->mutex_destroy(C, m), HUSK_EBADF);
    CHECK_EQ(H->mutex_owned(C, m), 0);
    static const husk_handle bogus[] = {0, CF_BOGUS_HANDLE, ~0ull};
    for (int i = 0; i < 3; i++) {
        CHECK_RC(H->mutex_lock(C, bogus[i]), HUSK_EBADF);
        CHECK_RC(H->mutex_trylock(C, bogus[i]), HUSK_EBADF);
        CHECK_RC(H->mutex_unlock(C, bogus[i]), HUSK_EBADF);
        CHECK_RC(H->mutex_destroy(C, bogus[i]), HUSK_EBADF);
        CHECK_EQ(H->mutex_owned(C, bogus[i]), 0);
    }
    /* A new mutex does not revive the stale handle's meaning for the old
     * holder: the new one works normally. */
    husk_handle n = 0;
    if (CHECK_RC(H->mutex_create(C, "cf-new", &n), HUSK_OK)) {
        CHECK_RC(H->mutex_lock(C, n), HUSK_OK);
        CHECK_RC(H->mutex_unlock(C, n), HUSK_OK);
        CHECK_RC(H->mutex_destroy(C, n), HUSK_OK);
    }
}

static void t_mutex_many(void) {
    enum { N = 128 };
    static husk_handle h[N];
    int made = 0;
    for (int i = 0; i < N; i++) {
        h[i] = 0;
        if (!CHECK_RC(H->mutex_create(C, "cf-many", &h[i]), HUSK_OK)) break;
        made++;
    }
    for (int i = 0; i < made; i++)
        for (int j = i + 1; j < made; j++)
            if (!CHECK(h[i] != h[j], "mutexes %d and %d share handle 0x%llx", i, j, U64(h[i]))) break;
    for (int i = 0; i < made; i++) CHECK_RC(H->mutex_lock(C, h[i]), HUSK_OK);
    for (int i = 0; i < made; i++) CHECK_EQ(H->mutex_owned(C, h[i]), 1);
    for (int i = made - 1; i >= 0; i--) CHECK_RC(H->mutex_unlock(C, h[i]), HUSK_OK);
    for (int i = 0; i < made; i++) CHECK_RC(H->mutex_destroy(C, h[i]), HUSK_OK);
}

struct mx_probe {
    husk_handle m;
    int step, go;
    int32_t owned, trylock_rc, lock_rc, unlock_rc, owned_after;
    int got;
};

static void mx_probe_worker(void *p) {
    struct mx_probe *a = p;
    /* Main holds m: we do not own it, trylock fails. */
    a->owned = H->mutex_owned(C, a->m);
    a->trylock_rc = H->mutex_trylock(C, a->m);
    cf_store(&a->step, 1);
    /* Now block in lock until main releases. */
    a->lock_rc = H->mutex_lock(C, a->m);
    a->owned_after = H->mutex_owned(C, a->m);
    cf_store(&a->got, 1);
    cf_wait_flag(&a->go, 1, 10 * CF_S);
    a->unlock_rc = H->mutex_unlock(C, a->m);
}

static void t_mutex_cross_thread(void) {
    static struct mx_probe a;
    static struct cf_thread t;
    cf_fill(&a, sizeof a, 0);
    REQUIRE_RC(H->mutex_create(C, "cf-cross", &a.m), HUSK_OK);
    REQUIRE_RC(H->mutex_lock(C, a.m), HUSK_OK);
    if (cf_spawn(&t, "cf-mx-probe", mx_probe_worker, &a) != HUSK_OK) {
        H->mutex_unlock(C, a.m);
        return;
    }
    if (CHECK(cf_wait_flag(&a.step, 1, 10 * CF_S), "worker did not start")) {
        CHECK(a.owned == 0, "mutex_owned on a thread that does not hold it: expected 0 got %d", a.owned);
        CHECK(a.trylock_rc == HUSK_EBUSY,
              "mutex_trylock of a mutex another thread holds: expected "
              "EBUSY got %s",
              cf_errname(a.trylock_rc));
    }
    /* The worker is (about to be) blocked in mutex_lock: it must not get in. */
    cf_pause_ms(100);
    CHECK(cf_load(&a.got) == 0, "mutex_lock returned while another thread held the mutex");
    CHECK_RC(H->mutex_unlock(C, a.m), HUSK_OK);
    if (CHECK(cf_wait_flag(&a.got, 1, 10 * CF_S), "waiter did not get the mutex within 10 s of unlock")) {
        CHECK(a.lock_rc == HUSK_OK, "mutex_lock in the waiter: expected OK got %s", cf_errname(a.lock_rc));
        CHECK(a.owned_after == 1, "mutex_owned in the new holder: expected 1 got %d", a.owned_after);
        /* Now the worker holds it: we do not. */
        CHECK_EQ(H->mutex_owned(C, a.m), 0);
        CHECK_RC(H->mutex_trylock(C, a.m), HUSK_EBUSY);
    }
    cf_store(&a.go, 1);
    if (cf_join(&t, 15 * CF_S)) {
        CHECK(a.unlock_rc == HUSK_OK, "mutex_unlock in the worker: %s", cf_errname(a.unlock_rc));
        CHECK_RC(H->mutex_trylock(C, a.m), HUSK_OK);
        CHECK_RC(H->mutex_unlock(C, a.m), HUSK_OK);
        CHECK_RC(H->mutex_destroy(C, a.m), HUSK_OK);
    }
}

enum { MX_THREADS = 8, MX_ITERS = 20000 };
static struct {
    husk_handle m;
    long counter; /* plain: only the mutex protects it */
    int inside;
    int violations;
    int errors;
    int go;
} mx;

static void mx_contend(void *p) {
    (void)p;
    cf_wait_flag(&mx.go, 1, 10 * CF_S);
    for (int i = 0; i < MX_ITERS; i++) {
        if (H->mutex_lock(C, mx.m) != HUSK_OK) {
            cf_inc(&mx.errors);
            return;
        }
        if (cf_inc(&mx.inside) != 1) cf_inc(&mx.violations);
        long v = mx.counter;
        if ((i & 1023) == 0) H->sleep_ns(C, 0); /* widen the window now and then */
        mx.counter = v + 1;
        cf_dec(&mx.inside);
        if (H->mutex_unlock(C, mx.m) != HUSK_OK) {
            cf_inc(&mx.errors);
            return;
        }
    }
}

static void t_mutex_contention(void) {
    static struct cf_thread t[MX_THREADS];
    mx.counter = 0;
    cf_store(&mx.inside, 0);
    cf_store(&mx.violations, 0);
    cf_store(&mx.errors, 0);
    cf_store(&mx.go, 0);
    REQUIRE_RC(H->mutex_create(C, "cf-contended", &mx.m), HUSK_OK);
    int n = 0;
    for (int i = 0; i < MX_THREADS; i++)
        if (cf_spawn(&t[i], "cf-contend", mx_contend, 0) == HUSK_OK) n++;
    cf_store(&mx.go, 1);
    bool all = true;
    for (int i = 0; i < MX_THREADS; i++) all &= cf_join(&t[i], 60 * CF_S);
    if (!all) return; /* leave the mutex to the stragglers */
    CHECK(cf_load(&mx.errors) == 0, "%d lock/unlock calls failed", cf_load(&mx.errors));
    CHECK(cf_load(&mx.violations) == 0, "%d times two threads were inside the mutex at once", cf_load(&mx.violations));
    CHECK(mx.counter == (long)n * MX_ITERS, "counter %ld, expected %ld: increments lost", mx.counter,
          (long)n * MX_ITERS);
    CHECK_RC(H->mutex_destroy(C, mx.m), HUSK_OK);
}

/* ==== Reader/writer locks ================================================= */

static void t_rw_basic(void) {
    husk_handle rw = 0;
    REQUIRE_RC(H->rw_create(C, "cf-rw", &rw), HUSK_OK);
    REQUIRE(rw != 0, "rw_create returned handle 0");
    CHECK_RC(H->rw_enter(C, rw, HUSK_RW_READER), HUSK_OK);
    CHECK_RC(H->rw_tryenter(C, rw, HUSK_RW_WRITER), HUSK_EBUSY);
    CHECK_RC(H->rw_exit(C, rw), HUSK_OK);
    CHECK_RC(H->rw_enter(C, rw, HUSK_RW_WRITER), HUSK_OK);
    CHECK_RC(H->rw_tryenter(C, rw, HUSK_RW_READER), HUSK_EBUSY);
    CHECK_RC(H->rw_tryenter(C, rw, HUSK_RW_WRITER), HUSK_EBUSY);
    CHECK_RC(H->rw_exit(C, rw), HUSK_OK);
    CHECK_RC(H->rw_tryenter(C, rw, HUSK_RW_WRITER), HUSK_OK);
    CHECK_RC(H->rw_exit(C, rw), HUSK_OK);
    CHECK_RC(H->rw_tryenter(C, rw, HUSK_RW_READER), HUSK_OK);
    CHECK_RC(H->rw_exit(C, rw), HUSK_OK);
    CHECK_RC(H->rw_destroy(C, rw), HUSK_OK);
}

static void t_rw_errors(void) {
    husk_handle rw = 0;
    REQUIRE_RC(H->rw_create(C, "cf-rw-err", &rw), HUSK_OK);
    static const uint32_t bad_modes[] = {0, 3, 4, 0x80000000u};
    for (int i = 0; i < 4; i++) {
        int32_t rc = H->rw_enter(C, rw, bad_modes[i]);
        CHECK(rc == HUSK_EINVAL, "rw_enter(mode %u): expected EINVAL got %s", bad_modes[i], cf_errname(rc));
        if (rc == HUSK_OK) H->rw_exit(C, rw);
        rc = H->rw_tryenter(C, rw, bad_modes[i]);
        CHECK(rc == HUSK_EINVAL, "rw_tryenter(mode %u): expected EINVAL got %s", bad_modes[i], cf_errname(rc));
        if (rc == HUSK_OK) H->rw_exit(C, rw);
    }
    /* Still free after the refusals. */
    CHECK_RC(H->rw_tryenter(C, rw, HUSK_RW_WRITER), HUSK_OK);
    CHECK_RC(H->rw_exit(C, rw), HUSK_OK);
    CHECK_RC(H->rw_destroy(C, rw), HUSK_OK);
    husk_handle list[] = {rw, 0, CF_BOGUS_HANDLE};
    for (int i = 0; i < 3; i++) {
        CHECK_RC(H->rw_enter(C, list[i], HUSK_RW_READER), HUSK_EBADF);
        CHECK_RC(H->rw_tryenter(C, list[i], HUSK_RW_WRITER), HUSK_EBADF);
        CHECK_RC(H->rw_exit(C, list[i]), HUSK_EBADF);
        CHECK_RC(H->rw_destroy(C, list[i]), HUSK_EBADF);
    }
}

/* Readers share: four readers must be inside at the same time. */
enum { RD = 4 };
static struct {
    husk_handle rw, m, cv;
    int inside; /* protected by m */
    uint64_t deadline;
    int max_seen[RD];
    int32_t rc[RD];
} rs;

static void rw_share_reader(void *p) {
    int i = (int)(intptr_t)p;
    rs.rc[i] = H->rw_enter(C, rs.rw, HUSK_RW_READER);
    if (rs.rc[i] != HUSK_OK) return;
    H->mutex_lock(C, rs.m);
    rs.inside++;
    H->cv_broadcast(C, rs.cv);
    while (rs.inside < RD) {
        if (H->cv_timedwait(C, rs.cv, rs.m, rs.deadline) == HUSK_ETIMEDOUT) break;
    }
    rs.max_seen[i] = rs.inside;
    H->mutex_unlock(C, rs.m);
    rs.rc[i] = H->rw_exit(C, rs.rw);
}

static void t_rw_readers_share(void) {
    static struct cf_thread t[RD];
    cf_fill(&rs, sizeof rs, 0);
    REQUIRE_RC(H->rw_create(C, "cf-rw-share", &rs.rw), HUSK_OK);
    REQUIRE_RC(H->mutex_create(C, "cf-rw-share-m", &rs.m), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-rw-share-cv", &rs.cv), HUSK_OK);
    rs.deadline = cf_now() + 5 * CF_S;
    for (int i = 0; i < RD; i++) cf_spawn(&t[i], "cf-reader", rw_share_reader, (void *)(intptr_t)i);
    bool all = true;
    for (int i = 0; i < RD; i++) all &= cf_join(&t[i], 20 * CF_S);
    if (!all) return;
    for (int i = 0; i < RD; i++) {
        CHECK(rs.rc[i] == HUSK_OK, "reader %d: rw_enter/rw_exit returned %s", i, cf_errname(rs.rc[i]));
        CHECK(rs.max_seen[i] == RD,
              "reader %d saw at most %d of %d readers inside at once: readers "
              "do not share",
              i, rs.max_seen[i], RD);
    }
    CHECK_RC(H->rw_destroy(C, rs.rw), HUSK_OK);
    CHECK_RC(H->cv_destroy(C, rs.cv), HUSK_OK);
    CHECK_RC(H->mutex_destroy(C, rs.m), HUSK_OK);
}

struct rw_probe {
    husk_handle rw;
    uint32_t mode;
    int32_t try_rc, enter_rc, exit_rc;
    int step, got;
};

static void rw_probe_worker(void *p) {
    struct rw_probe *a = p;
    a->try_rc = H->rw_tryenter(C, a->rw, a->mode);
    if (a->try_rc == HUSK_OK) H->rw_exit(C, a->rw);
    cf_store(&a->step, 1);
    a->enter_rc = H->rw_enter(C, a->rw, a->mode);
    cf_store(&a->got, 1);
    H->sleep_ns(C, 20 * CF_MS);
    a->exit_rc = H->rw_exit(C, a->rw);
}

/* Main holds the lock in `held`; a worker wanting `want` must wait. */
static void rw_exclusion_case(uint32_t held, uint32_t want) {
    static struct rw_probe a;
    static struct cf_thread t;
    cf_fill(&a, sizeof a, 0);
    const char *hn = held == HUSK_RW_WRITER ? "writer" : "reader";
    const char *wn = want == HUSK_RW_WRITER ? "writer" : "reader";
    REQUIRE_RC(H->rw_create(C, "cf-rw-excl", &a.rw), HUSK_OK);
    a.mode = want;
    REQUIRE_RC(H->rw_enter(C, a.rw, held), HUSK_OK);
    if (cf_spawn(&t, "cf-rw-probe", rw_probe_worker, &a) != HUSK_OK) {
        H->rw_exit(C, a.rw);
        return;
    }
    if (CHECK(cf_wait_flag(&a.step, 1, 10 * CF_S), "worker did not start"))
        CHECK(a.try_rc == HUSK_EBUSY,
              "%s held: rw_tryenter(%s) from another thread: expected EBUSY "
              "got %s",
              hn, wn, cf_errname(a.try_rc));
    cf_pause_ms(100);
    CHECK(cf_load(&a.got) == 0, "%s held: rw_enter(%s) from another thread got in", hn, wn);
    CHECK_RC(H->rw_exit(C, a.rw), HUSK_OK);
    CHECK(cf_wait_flag(&a.got, 1, 10 * CF_S), "%s released: the waiting %s did not get in within 10 s", hn, wn);
    if (cf_join(&t, 15 * CF_S)) {
        CHECK(a.enter_rc == HUSK_OK, "rw_enter in the worker: %s", cf_errname(a.enter_rc));
        CHECK(a.exit_rc == HUSK_OK, "rw_exit in the worker: %s", cf_errname(a.exit_rc));
        CHECK_RC(H->rw_destroy(C, a.rw), HUSK_OK);
    }
}

static void t_rw_writer_excludes(void) {
    rw_exclusion_case(HUSK_RW_WRITER, HUSK_RW_READER);
    rw_exclusion_case(HUSK_RW_WRITER, HUSK_RW_WRITER);
    rw_exclusion_case(HUSK_RW_READER, HUSK_RW_WRITER);
}

static void rw_reader_enters(void *p) {
    struct rw_probe *a = p;
    a->try_rc = H->rw_tryenter(C, a->rw, HUSK_RW_READER);
    if (a->try_rc == HUSK_OK) a->exit_rc = H->rw_exit(C, a->rw);
    cf_store(&a->got, 1);
}

static void t_rw_reader_with_reader(void) {
    /* A reader holding the lock does not keep another reader out. */
    static struct rw_probe a;
    static struct cf_thread t;
    cf_fill(&a, sizeof a, 0);
    REQUIRE_RC(H->rw_create(C, "cf-rw-rr", &a.rw), HUSK_OK);
    REQUIRE_RC(H->rw_enter(C, a.rw, HUSK_RW_READER), HUSK_OK);
    cf_spawn(&t, "cf-rw-rr", rw_reader_enters, &a);
    if (cf_join(&t, 10 * CF_S)) {
        CHECK(a.try_rc == HUSK_OK,
              "reader held: rw_tryenter(reader) from another thread: expected OK "
              "got %s",
              cf_errname(a.try_rc));
        CHECK(a.exit_rc == HUSK_OK, "rw_exit: %s", cf_errname(a.exit_rc));
    }
    CHECK_RC(H->rw_exit(C, a.rw), HUSK_OK);
    CHECK_RC(H->rw_destroy(C, a.rw), HUSK_OK);
}

enum { RW_WRITERS = 2, RW_READERS = 3, RW_ITERS = 3000 };
static struct {
    husk_handle rw;
    long a, b; /* writers keep a == b */
    int readers_in, writers_in;
    int violations, torn, errors, go;
} rws;

static void rw_stress_writer(void *p) {
    (void)p;
    cf_wait_flag(&rws.go, 1, 10 * CF_S);
    for (int i = 0; i < RW_ITERS; i++) {
        if (H->rw_enter(C, rws.rw, HUSK_RW_WRITER) != HUSK_OK) {
            cf_inc(&rws.errors);
            return;
        }
        if (cf_inc(&rws.writers_in) != 1 || cf_load(&rws.readers_in) != 0) cf_inc(&rws.violations);
        long v = rws.a;
        rws.a = v + 1;
        if ((i & 255) == 0) H->sleep_ns(C, 0);
        rws.b = v + 1;
        cf_dec(&rws.writers_in);
        if (H->rw_exit(C, rws.rw) != HUSK_OK) {
            cf_inc(&rws.errors);
            return;
        }
    }
}

static void rw_stress_reader(void *p) {
    (void)p;
    cf_wait_flag(&rws.go, 1, 10 * CF_S);
    for (int i = 0; i < RW_ITERS; i++) {
        if (H->rw_enter(C, rws.rw, HUSK_RW_READER) != HUSK_OK) {
            cf_inc(&rws.errors);
            return;
        }
        cf_inc(&rws.readers_in);
        if (cf_load(&rws.writers_in) != 0) cf_inc(&rws.violations);
        if (rws.a != rws.b) cf_inc(&rws.torn);
        cf_dec(&rws.readers_in);
        if (H->rw_exit(C, rws.rw) != HUSK_OK) {
            cf_inc(&rws.errors);
            return;
        }
    }
}

static void t_rw_stress(void) {
    static struct cf_thread t[RW_WRITERS + RW_READERS];
    cf_fill(&rws, sizeof rws, 0);
    REQUIRE_RC(H->rw_create(C, "cf-rw-stress", &rws.rw), HUSK_OK);
    int writers = 0;
    for (int i = 0; i < RW_WRITERS; i++)
        if (cf_spawn(&t[i], "cf-rw-writer", rw_stress_writer, 0) == HUSK_OK) writers++;
    for (int i = 0; i < RW_READERS; i++) cf_spawn(&t[RW_WRITERS + i], "cf-rw-reader", rw_stress_reader, 0);
    cf_store(&rws.go, 1);
    bool all = true;
    for (int i = 0; i < RW_WRITERS + RW_READERS; i++) all &= cf_join(&t[i], 60 * CF_S);
    if (!all) return;
    CHECK(cf_load(&rws.errors) == 0, "%d rw_enter/rw_exit calls failed", cf_load(&rws.errors));
    CHECK(cf_load(&rws.violations) == 0, "%d times a writer shared the lock", cf_load(&rws.violations));
    CHECK(cf_load(&rws.torn) == 0, "%d reads saw a half-done write", cf_load(&rws.torn));
    CHECK(rws.a == (long)writers * RW_ITERS, "counter %ld, expected %ld", rws.a, (long)writers * RW_ITERS);
    CHECK_RC(H->rw_destroy(C, rws.rw), HUSK_OK);
}

/* ==== Condition variables ================================================= */

static void t_cv_basic(void) {
    husk_handle m = 0, cv = 0;
    REQUIRE_RC(H->mutex_create(C, "cf-cv-m", &m), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-cv", &cv), HUSK_OK);
    REQUIRE(cv != 0, "cv_create returned handle 0");
    /* Signal and broadcast with no waiter, with and without the mutex. */
    CHECK_RC(H->cv_signal(C, cv), HUSK_OK);
    CHECK_RC(H->cv_broadcast(C, cv), HUSK_OK);
    CHECK_RC(H->mutex_lock(C, m), HUSK_OK);
    CHECK_RC(H->cv_signal(C, cv), HUSK_OK);
    CHECK_RC(H->cv_broadcast(C, cv), HUSK_OK);

    /* timedwait: ETIMEDOUT, not before the deadline, mutex held again. */
    uint64_t deadline = cf_now() + 50 * CF_MS;
    int32_t rc;
    do rc = H->cv_timedwait(C, cv, m, deadline);
    while (rc == HUSK_OK && cf_now() < deadline);
    uint64_t now = cf_now();
    CHECK(rc == HUSK_ETIMEDOUT, "cv_timedwait(+50 ms), nobody signals: expected ETIMEDOUT got %s", cf_errname(rc));
    CHECK(now >= deadline, "cv_timedwait returned %s %llu ns before its deadline", cf_errname(rc), U64(deadline - now));
    CHECK(now - deadline < 5 * CF_S, "cv_timedwait(+50 ms) returned %llu ms late", U64((now - deadline) / CF_MS));
    CHECK_EQ(H->mutex_owned(C, m), 1);
    /* Deadline already passed / 0: ETIMEDOUT at once, mutex held. */
    uint64_t t0 = cf_now();
    CHECK_RC(H->cv_timedwait(C, cv, m, t0 - 1), HUSK_ETIMEDOUT);
    CHECK_RC(H->cv_timedwait(C, cv, m, 0), HUSK_ETIMEDOUT);
    CHECK(cf_now() - t0 < 2 * CF_S, "cv_timedwait(past deadline) took %llu ms", U64((cf_now() - t0) / CF_MS));
    CHECK_EQ(H->mutex_owned(C, m), 1);
    CHECK_RC(H->mutex_unlock(C, m), HUSK_OK);
    CHECK_RC(H->cv_destroy(C, cv), HUSK_OK);
    CHECK_RC(H->mutex_destroy(C, m), HUSK_OK);
}

static void t_cv_errors(void) {
    husk_handle m = 0, cv = 0, cv2 = 0;
    REQUIRE_RC(H->mutex_create(C, "cf-cv-err-m", &m), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-cv-err", &cv), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-cv-err2", &cv2), HUSK_OK);
    CHECK(cv != cv2, "two condition variables share handle 0x%llx", U64(cv));
    CHECK_RC(H->cv_destroy(C, cv2), HUSK_OK);
    husk_handle bad[] = {cv2, 0, CF_BOGUS_HANDLE};
    CHECK_RC(H->mutex_lock(C, m), HUSK_OK);
    for (int i = 0; i < 3; i++) {
        CHECK_RC(H->cv_signal(C, bad[i]), HUSK_EBADF);
        CHECK_RC(H->cv_broadcast(C, bad[i]), HUSK_EBADF);
        CHECK_RC(H->cv_destroy(C, bad[i]), HUSK_EBADF);
        CHECK_RC(H->cv_wait(C, bad[i], m), HUSK_EBADF);
        CHECK_RC(H->cv_timedwait(C, bad[i], m, cf_now() + CF_S), HUSK_EBADF);
        CHECK_EQ(H->mutex_owned(C, m), 1);
    }
    CHECK_RC(H->mutex_unlock(C, m), HUSK_OK);
    CHECK_RC(H->cv_destroy(C, cv), HUSK_OK);
    CHECK_RC(H->mutex_destroy(C, m), HUSK_OK);
}

/* Bounded buffer: 2 producers, 2 consumers, 2 condition variables. */
enum { PC_CAP = 4, PC_PRODUCERS = 2, PC_CONSUMERS = 2, PC_ITEMS = 4000 };
static struct {
    husk_handle m, not_full, not_empty;
    int buf[PC_CAP];
    int count, head, tail;
    int consumed, produced;
    long sum;
    uint64_t deadline;
    int timeouts, errors;
} pc;

static void pc_producer(void *p) {
    int base = (int)(intptr_t)p * PC_ITEMS;
    for (int i = 1; i <= PC_ITEMS; i++) {
        H->mutex_lock(C, pc.m);
        while (pc.count == PC_CAP) {
            int32_t rc = H->cv_timedwait(C, pc.not_full, pc.m, pc.deadline);
            if (rc == HUSK_ETIMEDOUT) {
                pc.timeouts++;
                H->mutex_unlock(C, pc.m);
                return;
            }
            if (rc != HUSK_OK) {
                pc.errors++;
                H->mutex_unlock(C, pc.m);
                return;
            }
        }
        pc.buf[pc.tail] = base + i;
        pc.tail = (pc.tail + 1) % PC_CAP;
        pc.count++;
        pc.produced++;
        H->cv_signal(C, pc.not_empty);
        H->mutex_unlock(C, pc.m);
    }
}

static void pc_consumer(void *p) {
    (void)p;
    const int total = PC_PRODUCERS * PC_ITEMS;
    H->mutex_lock(C, pc.m);
    for (;;) {
        while (pc.count == 0 && pc.consumed < total) {
            int32_t rc = H->cv_timedwait(C, pc.not_empty, pc.m, pc.deadline);
            if (rc == HUSK_ETIMEDOUT) {
                pc.timeouts++;
                H->mutex_unlock(C, pc.m);
                return;
            }
            if (rc != HUSK_OK) {
                pc.errors++;
                H->mutex_unlock(C, pc.m);
                return;
            }
        }
        if (pc.consumed == total) break;
        pc.sum += pc.buf[pc.head];
        pc.head = (pc.head + 1) % PC_CAP;
        pc.count--;
        pc.consumed++;
        H->cv_signal(C, pc.not_full);
        if (pc.consumed == total) H->cv_broadcast(C, pc.not_empty); /* release the other consumer */
    }
    H->mutex_unlock(C, pc.m);
}

static void t_cv_producer_consumer(void) {
    static struct cf_thread t[PC_PRODUCERS + PC_CONSUMERS];
    cf_fill(&pc, sizeof pc, 0);
    REQUIRE_RC(H->mutex_create(C, "cf-pc", &pc.m), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-pc-full", &pc.not_full), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-pc-empty", &pc.not_empty), HUSK_OK);
    /* One deadline for the whole exchange: a lost wake-up stalls a waiter
     * until it, and shows as a timeout. */
    pc.deadline = cf_now() + 20 * CF_S;
    for (int i = 0; i < PC_CONSUMERS; i++) cf_spawn(&t[PC_PRODUCERS + i], "cf-consumer", pc_consumer, 0);
    for (int i = 0; i < PC_PRODUCERS; i++) cf_spawn(&t[i], "cf-producer", pc_producer, (void *)(intptr_t)i);
    bool all = true;
    for (int i = 0; i < PC_PRODUCERS + PC_CONSUMERS; i++) all &= cf_join(&t[i], 30 * CF_S);
    if (!all) return;
    const int total = PC_PRODUCERS * PC_ITEMS;
    long want_sum = 0;
    for (int p = 0; p < PC_PRODUCERS; p++)
        for (int i = 1; i <= PC_ITEMS; i++) want_sum += p * PC_ITEMS + i;
    CHECK(pc.timeouts == 0,
          "%d waiters reached the 20 s deadline: a signal was lost (produced %d, "
          "consumed %d of %d)",
          pc.timeouts, pc.produced, pc.consumed, total);
    CHECK(pc.errors == 0, "%d cv_timedwait calls failed", pc.errors);
    CHECK(pc.consumed == total, "consumed %d of %d items", pc.consumed, total);
    CHECK(pc.sum == want_sum, "sum of consumed items %ld, expected %ld", pc.sum, want_sum);
    CHECK_RC(H->cv_destroy(C, pc.not_full), HUSK_OK);
    CHECK_RC(H->cv_destroy(C, pc.not_empty), HUSK_OK);
    CHECK_RC(H->mutex_destroy(C, pc.m), HUSK_OK);
}

/* K waiters, one broadcast: all wake. K waiters, signals: one each. */
enum { BC_K = 5 };
static struct {
    husk_handle m, cv;
    int waiting, go, tickets, woken;
    uint64_t deadline;
    int32_t rc[BC_K];
    int mode; /* 0: wait for go (broadcast), 1: wait for a ticket (signal) */
} bc;

static void bc_waiter(void *p) {
    int i = (int)(intptr_t)p;
    int32_t rc = HUSK_OK;
    H->mutex_lock(C, bc.m);
    bc.waiting++;
    if (bc.mode == 0) {
        while (!bc.go && rc == HUSK_OK) rc = H->cv_timedwait(C, bc.cv, bc.m, bc.deadline);
    } else {
        while (bc.tickets == 0 && rc == HUSK_OK) rc = H->cv_timedwait(C, bc.cv, bc.m, bc.deadline);
        if (rc == HUSK_OK) bc.tickets--;
    }
    if (rc == HUSK_OK) bc.woken++;
    bool owned = H->mutex_owned(C, bc.m) == 1;
    bc.rc[i] = owned ? rc : -1;
    if (owned) H->mutex_unlock(C, bc.m);
}

/* Wait until all K waiters are inside cv_timedwait: each counts itself
 * under the mutex and only releases it by waiting. */
static bool bc_all_waiting(void) {
    uint64_t deadline = cf_now() + 10 * CF_S;
    for (;;) {
        H->mutex_lock(C, bc.m);
        int w = bc.waiting;
        H->mutex_unlock(C, bc.m);
        if (w == BC_K) return true;
        if (cf_now() > deadline) return false;
        H->sleep_ns(C, CF_MS);
    }
}

static void bc_run(int mode) {
    static struct cf_thread t[BC_K];
    cf_fill(&bc, sizeof bc, 0);
    bc.mode = mode;
    REQUIRE_RC(H->mutex_create(C, "cf-bc", &bc.m), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-bc", &bc.cv), HUSK_OK);
    bc.deadline = cf_now() + 10 * CF_S;
    for (int i = 0; i < BC_K; i++) cf_spawn(&t[i], "cf-waiter", bc_waiter, (void *)(intptr_t)i);
    if (!CHECK(bc_all_waiting(), "waiters did not all start waiting")) return;
    if (mode == 0) {
        H->mutex_lock(C, bc.m);
        bc.go = 1;
        H->mutex_unlock(C, bc.m);
        CHECK_RC(H->cv_broadcast(C, bc.cv), HUSK_OK); /* without the mutex: allowed */
    } else {
        /* One signal per waiter, each after the previous one was consumed:
         * a signal that wakes nobody leaves a waiter stuck until the deadline. */
        for (int k = 0; k < BC_K; k++) {
            H->mutex_lock(C, bc.m);
            bc.tickets++;
            CHECK_RC(H->cv_signal(C, bc.cv), HUSK_OK);
            H->mutex_unlock(C, bc.m);
            uint64_t d = cf_now() + 2 * CF_S;
            for (;;) {
                H->mutex_lock(C, bc.m);
                int left = bc.tickets;
                H->mutex_unlock(C, bc.m);
                if (left == 0 || cf_now() > d) break;
                H->sleep_ns(C, CF_MS);
            }
        }
    }
    bool all = true;
    for (int i = 0; i < BC_K; i++) all &= cf_join(&t[i], 20 * CF_S);
    if (!all) return;
    for (int i = 0; i < BC_K; i++)
        CHECK(bc.rc[i] == HUSK_OK, "waiter %d: %s", i,
              bc.rc[i] == -1               ? "returned without holding the mutex"
              : bc.rc[i] == HUSK_ETIMEDOUT ? "never woken (ETIMEDOUT at the 10 s deadline)"
                                           : cf_errname(bc.rc[i]));
    CHECK(bc.woken == BC_K, "%d of %d waiters woke", bc.woken, BC_K);
    CHECK_RC(H->cv_destroy(C, bc.cv), HUSK_OK);
    CHECK_RC(H->mutex_destroy(C, bc.m), HUSK_OK);
}

static void t_cv_broadcast_all(void) { bc_run(0); }
static void t_cv_signal_each(void) { bc_run(1); }

/* Untimed cv_wait: woken by a signal. */
static struct {
    husk_handle m, cv;
    int waiting, go;
    int32_t rc;
    int owned;
} uw;

static void uw_waiter(void *p) {
    (void)p;
    int32_t rc = HUSK_OK;
    H->mutex_lock(C, uw.m);
    uw.waiting = 1;
    while (!uw.go && rc == HUSK_OK) rc = H->cv_wait(C, uw.cv, uw.m);
    uw.owned = H->mutex_owned(C, uw.m);
    uw.rc = rc;
    if (uw.owned) H->mutex_unlock(C, uw.m);
}

static void t_cv_wait_untimed(void) {
    static struct cf_thread t;
    cf_fill(&uw, sizeof uw, 0);
    REQUIRE_RC(H->mutex_create(C, "cf-uw", &uw.m), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-uw", &uw.cv), HUSK_OK);
    if (cf_spawn(&t, "cf-uw", uw_waiter, 0) != HUSK_OK) return;
    /* The worker waits (it set `waiting` under the mutex before cv_wait). */
    uint64_t d = cf_now() + 10 * CF_S;
    for (;;) {
        H->mutex_lock(C, uw.m);
        int w = uw.waiting;
        H->mutex_unlock(C, uw.m);
        if (w || cf_now() > d) break;
        H->sleep_ns(C, CF_MS);
    }
    cf_pause_ms(20);
    H->mutex_lock(C, uw.m);
    uw.go = 1;
    CHECK_RC(H->cv_signal(C, uw.cv), HUSK_OK); /* holding the mutex: also allowed */
    H->mutex_unlock(C, uw.m);
    if (!cf_wait_flag(&t.done, 1, 10 * CF_S)) {
        cf_fail(__FILE__, __LINE__, "cv_wait not woken by cv_signal within 10 s");
        /* Keep signalling so that a late wake-up can still end the thread. */
        for (int i = 0; i < 50 && !cf_load(&t.done); i++) {
            H->cv_broadcast(C, uw.cv);
            cf_pause_ms(20);
        }
    }
    if (!cf_join(&t, 5 * CF_S)) return;
    CHECK(uw.rc == HUSK_OK, "cv_wait: expected OK got %s", cf_errname(uw.rc));
    CHECK(uw.owned == 1, "cv_wait returned without the mutex held");
    CHECK_RC(H->cv_destroy(C, uw.cv), HUSK_OK);
    CHECK_RC(H->mutex_destroy(C, uw.m), HUSK_OK);
}

static void t_cv_destroy_busy(void) {
    /* A waiter registered (it released the mutex only by waiting, and we
     * hold the mutex now, so it cannot have left): destroy is EBUSY. */
    static struct cf_thread t;
    cf_fill(&uw, sizeof uw, 0);
    REQUIRE_RC(H->mutex_create(C, "cf-busy", &uw.m), HUSK_OK);
    REQUIRE_RC(H->cv_create(C, "cf-busy", &uw.cv), HUSK_OK);
    if (cf_spawn(&t, "cf-busy", uw_waiter, 0) != HUSK_OK) return;
    uint64_t d = cf_now() + 10 * CF_S;
    for (;;) {
        H->mutex_lock(C, uw.m);
        if (uw.waiting || cf_now() > d) break;
        H->mutex_unlock(C, uw.m);
        H->sleep_ns(C, CF_MS);
    }
    /* Holding the mutex: the waiter is inside cv_wait. */
    CHECK(uw.waiting, "waiter did not start within 10 s");
    CHECK_RC(H->cv_destroy(C, uw.cv), HUSK_EBUSY);
    uw.go = 1;
    H->cv_broadcast(C, uw.cv);
    H->mutex_unlock(C, uw.m);
    if (!cf_wait_flag(&t.done, 1, 10 * CF_S)) {
        cf_fail(__FILE__, __LINE__, "waiter not woken after a refused cv_destroy");
        for (int i = 0; i < 50 && !cf_load(&t.done); i++) {
            H->cv_broadcast(C, uw.cv);
            cf_pause_ms(20);
        }
    }
    if (!cf_join(&t, 5 * CF_S)) return;
    CHECK_RC(H->cv_destroy(C, uw.cv), HUSK_OK);
    CHECK_RC(H->mutex_destroy(C, uw.m), HUSK_OK);
}

void cf_area_mutex(void) {
    cf_test("mutex: create/lock/owned/trylock (EBUSY by self)/unlock/destroy", t_mutex_basic);
    cf_test("mutex: destroyed and bogus handles -> EBADF, owned 0", t_mutex_stale);
    cf_test("mutex: 128 live mutexes, distinct, held together", t_mutex_many);
    cf_test("mutex: other thread: owned 0, trylock EBUSY, lock waits for unlock", t_mutex_cross_thread);
    cf_test_budget("mutex: contention 8 threads x 20000", t_mutex_contention, 90);
}

void cf_area_rwlock(void) {
    cf_test("rwlock: enter/tryenter/exit in both modes", t_rw_basic);
    cf_test("rwlock: bad mode -> EINVAL, stale/bogus handle -> EBADF", t_rw_errors);
    cf_test("rwlock: 4 readers inside at once", t_rw_readers_share);
    cf_test("rwlock: a reader does not exclude a reader", t_rw_reader_with_reader);
    cf_test("rwlock: writer excludes readers and writers, reader excludes writer", t_rw_writer_excludes);
    cf_test_budget("rwlock: 2 writers + 3 readers x 3000", t_rw_stress, 90);
}

void cf_area_condvar(void) {
    cf_test("cv: signal/broadcast without waiters; timedwait ETIMEDOUT not before deadline", t_cv_basic);
    cf_test("cv: stale/bogus cv -> EBADF (mutex still held)", t_cv_errors);
    cf_test("cv: untimed cv_wait woken by cv_signal", t_cv_wait_untimed);
    cf_test("cv: producer/consumer 2x4000 items through 4 slots, none lost", t_cv_producer_consumer);
    cf_test("cv: broadcast wakes all 5 waiters", t_cv_broadcast_all);
    cf_test_budget("cv: 5 signals wake 5 waiters, one at a time", t_cv_signal_each, 60);
    cf_test("cv: destroy with a waiter -> EBUSY", t_cv_destroy_busy);
}
