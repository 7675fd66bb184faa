/*
 * conformance_threads.c — thread_create/join/exit/self, ctx_current,
 * tls_set/tls_get.
 */
#include "cf_private.h"

struct targ {
    int magic;
    int ran;
    int after_exit; /* must stay 0: code after thread_exit */
    int finished;
    husk_handle self1, self2;
    husk_handle created; /* the handle thread_create returned, published by the creator */
    husk_ctx *ctx;
    void *tls_initial;
    int tls_ok;
    int32_t join_self_rc;
    uint64_t delay_ms;
};

static void plain_worker(void *p) {
    struct targ *a = p;
    if (a->delay_ms) H->sleep_ns(C, a->delay_ms * CF_MS);
    a->self1 = H->thread_self(C);
    a->self2 = H->thread_self(C);
    a->ctx = H->ctx_current();
    a->tls_initial = H->tls_get(C);
    cf_store(&a->ran, a->magic);
}

static void t_create_join(void) {
    static struct targ a;
    cf_fill(&a, sizeof a, 0);
    a.magic = 0x5151;
    a.delay_ms = 100;
    husk_handle h = 0;
    REQUIRE_RC(H->thread_create(C, "cf-joinable", plain_worker, &a, HUSK_THREAD_JOINABLE, &h), HUSK_OK);
    REQUIRE(h != 0, "thread_create returned handle 0");
    /* join blocks until the thread has run (it sleeps 100 ms first). */
    CHECK_RC(H->thread_join(C, h), HUSK_OK);
    CHECK(cf_load(&a.ran) == 0x5151, "thread_join returned before the thread ran (ran=%d)", cf_load(&a.ran));
    CHECK(a.ctx == C, "ctx_current() on a created thread: expected %p got %p", (void *)C, (void *)a.ctx);
    CHECK(a.self1 != 0 && a.self1 == a.self2, "thread_self unstable or 0: 0x%llx then 0x%llx", U64(a.self1),
          U64(a.self2));
    CHECK(a.self1 == h, "thread_self() 0x%llx differs from the handle thread_create gave 0x%llx", U64(a.self1), U64(h));
    CHECK(a.tls_initial == 0, "tls_get() on a new thread: expected NULL got %p", a.tls_initial);
    /* The handle is invalid after the join. */
    CHECK_RC(H->thread_join(C, h), HUSK_EBADF);
}

static void t_create_names(void) {
    static const char *names[] = {"x", "cf-fifteen-char", "cf-a-name-much-longer-than-fifteen-bytes", ""};
    for (unsigned i = 0; i < 4; i++) {
        static struct targ a;
        cf_fill(&a, sizeof a, 0);
        a.magic = (int)i + 1;
        husk_handle h = 0;
        if (!CHECK_RC(H->thread_create(C, names[i], plain_worker, &a, HUSK_THREAD_JOINABLE, &h), HUSK_OK)) continue;
        if (!cf_wait_flag(&a.ran, 1, 10 * CF_S)) {
            cf_fail(__FILE__, __LINE__, "thread named \"%s\" did not run within 10 s", names[i]);
            continue;
        }
        CHECK_RC(H->thread_join(C, h), HUSK_OK);
    }
    struct targ a;
    husk_handle h = 0;
    CHECK_RC(H->thread_create(C, "cf-nofn", 0, &a, HUSK_THREAD_JOINABLE, &h), HUSK_EINVAL);
}

static void t_args_many(void) {
    /* 16 threads at once, each gets its own argument. */
    enum { N = 16 };
    static struct targ a[N];
    static husk_handle h[N];
    int made = 0;
    for (int i = 0; i < N; i++) {
        cf_fill(&a[i], sizeof a[i], 0);
        a[i].magic = 1000 + i;
        a[i].delay_ms = 20;
        h[i] = 0;
        if (!CHECK_RC(H->thread_create(C, "cf-many", plain_worker, &a[i], HUSK_THREAD_JOINABLE, &h[i]), HUSK_OK)) break;
        made++;
    }
    for (int i = 0; i < made; i++) {
        if (!cf_wait_flag(&a[i].ran, 1, 10 * CF_S)) {
            cf_fail(__FILE__, __LINE__, "thread %d did not run within 10 s", i);
            continue;
        }
        CHECK(cf_load(&a[i].ran) == 1000 + i, "thread %d got another thread's argument (%d)", i, cf_load(&a[i].ran));
        CHECK_RC(H->thread_join(C, h[i]), HUSK_OK);
    }
    /* thread_self is distinct per thread, and differs from the run thread's. */
    husk_handle me = H->thread_self(C);
    CHECK(me != 0, "thread_self() on the run thread returned 0");
    CHECK(H->thread_self(C) == me, "thread_self() on the run thread is not stable");
    for (int i = 0; i < made; i++) {
        CHECK(a[i].self1 != me, "thread %d has the run thread's thread_self", i);
        for (int j = i + 1; j < made; j++)
            CHECK(a[i].self1 != a[j].self1, "threads %d and %d share thread_self 0x%llx", i, j, U64(a[i].self1));
        for (int j = 0; j < made; j++)
            CHECK(i == j || a[i].self1 != h[j], "thread %d's thread_self equals thread %d's handle", i, j);
    }
}

static void t_detached(void) {
    static struct targ a;
    cf_fill(&a, sizeof a, 0);
    a.magic = 7;
    /* out may be NULL for a detached thread. */
    REQUIRE_RC(H->thread_create(C, "cf-detached", plain_worker, &a, 0, 0), HUSK_OK);
    CHECK(cf_wait_flag(&a.ran, 7, 10 * CF_S), "detached thread did not run within 10 s");
    CHECK(a.ctx == C, "ctx_current() on a detached thread: expected %p got %p", (void *)C, (void *)a.ctx);

    /* With a handle: it cannot be joined (EBADF), before or after it ended. */
    static struct targ b;
    cf_fill(&b, sizeof b, 0);
    b.magic = 8;
    b.delay_ms = 200;
    husk_handle h = 0;
    REQUIRE_RC(H->thread_create(C, "cf-detached2", plain_worker, &b, 0, &h), HUSK_OK);
    REQUIRE(h != 0, "thread_create(detached, out) returned handle 0");
    CHECK_RC(H->thread_join(C, h), HUSK_EBADF);
    CHECK(cf_wait_flag(&b.ran, 8, 10 * CF_S), "detached thread did not run within 10 s");
    cf_pause_ms(20);
    CHECK_RC(H->thread_join(C, h), HUSK_EBADF);
}

static void exit_worker(void *p) {
    struct targ *a = p;
    cf_store(&a->ran, 1);
    H->thread_exit(C);
    cf_store(&a->after_exit, 1);
}

static void t_thread_exit(void) {
    static struct targ a;
    cf_fill(&a, sizeof a, 0);
    husk_handle h = 0;
    REQUIRE_RC(H->thread_create(C, "cf-exit", exit_worker, &a, HUSK_THREAD_JOINABLE, &h), HUSK_OK);
    REQUIRE(cf_wait_flag(&a.ran, 1, 10 * CF_S), "thread did not run within 10 s");
    /* The thread is gone or going: joining it returns (give it 10 s to prove
     * it is not stuck; join has no deadline of its own). */
    cf_pause_ms(50);
    CHECK_RC(H->thread_join(C, h), HUSK_OK);
    CHECK(cf_load(&a.after_exit) == 0, "thread_exit returned to its caller");

    static struct targ b;
    cf_fill(&b, sizeof b, 0);
    REQUIRE_RC(H->thread_create(C, "cf-exit-det", exit_worker, &b, 0, 0), HUSK_OK);
    CHECK(cf_wait_flag(&b.ran, 1, 10 * CF_S), "detached thread did not run within 10 s");
    cf_pause_ms(50);
    CHECK(cf_load(&b.after_exit) == 0, "thread_exit returned to its caller (detached)");
}

static void join_self_worker(void *p) {
    struct targ *a = p;
    /* Wait until the creator published our handle. */
    uint64_t deadline = cf_now() + 10 * CF_S;
    while (__atomic_load_n(&a->created, __ATOMIC_SEQ_CST) == 0 && cf_now() < deadline) H->sleep_ns(C, CF_MS);
    husk_handle me = __atomic_load_n(&a->created, __ATOMIC_SEQ_CST);
    a->join_self_rc = me ? H->thread_join(C, me) : -1;
    a->self1 = H->thread_self(C);
    if (a->self1 != me && a->self1) {
        /* Also try the handle thread_self gives. */
        int32_t rc2 = H->thread_join(C, a->self1);
        if (rc2 != HUSK_EDEADLK) a->tls_ok = rc2 + 1000;
    }
}

static void t_join_errors(void) {
    CHECK_RC(H->thread_join(C, 0), HUSK_EBADF);
    CHECK_RC(H->thread_join(C, CF_BOGUS_HANDLE), HUSK_EBADF);
    static struct targ a;
    static struct cf_thread t;
    cf_fill(&a, sizeof a, 0);
    if (cf_spawn(&t, "cf-joinself", join_self_worker, &a) == HUSK_OK) {
        __atomic_store_n(&a.created, t.h, __ATOMIC_SEQ_CST);
        if (cf_join(&t, 15 * CF_S)) {
            CHECK(a.join_self_rc == HUSK_EDEADLK,
                  "thread_join(own handle) from the thread itself: "
                  "expected EDEADLK got %s",
                  cf_errname(a.join_self_rc));
            CHECK(a.tls_ok == 0, "thread_join(thread_self()) from the thread: expected EDEADLK got %s",
                  cf_errname(a.tls_ok - 1000));
        }
    }
    /* Joining twice: the second is EBADF. */
    static struct targ b;
    cf_fill(&b, sizeof b, 0);
    b.magic = 1;
    husk_handle h = 0;
    if (CHECK_RC(H->thread_create(C, "cf-twice", plain_worker, &b, HUSK_THREAD_JOINABLE, &h), HUSK_OK)) {
        if (CHECK(cf_wait_flag(&b.ran, 1, 10 * CF_S), "thread did not run within 10 s")) {
            CHECK_RC(H->thread_join(C, h), HUSK_OK);
            CHECK_RC(H->thread_join(C, h), HUSK_EBADF);
        }
    }
}

struct tls_arg {
    void *mine;
    int ok;
    int step;
    int phase;
};
static void tls_worker(void *p) {
    struct tls_arg *a = p;
    if (H->tls_get(C) != 0) return;
    H->tls_set(C, a->mine);
    cf_store(&a->step, 1);
    /* Let the other workers set theirs, then check ours survived. */
    cf_wait_flag(&a->phase, 1, 10 * CF_S);
    if (H->tls_get(C) != a->mine) return;
    H->tls_set(C, 0);
    if (H->tls_get(C) != 0) return;
    a->ok = 1;
}

static void t_tls(void) {
    void *saved = H->tls_get(C);
    static int marker_main;
    H->tls_set(C, &marker_main);
    CHECK(H->tls_get(C) == &marker_main, "tls_get after tls_set on the run thread: %p", H->tls_get(C));
    enum { N = 4 };
    static struct cf_thread t[N];
    static struct tls_arg a[N];
    static int markers[N];
    static int phase;
    cf_store(&phase, 0);
    for (int i = 0; i < N; i++) {
        a[i].mine = &markers[i];
        a[i].ok = 0;
        a[i].step = 0;
        a[i].phase = 0;
        cf_spawn(&t[i], "cf-tls", tls_worker, &a[i]);
    }
    for (int i = 0; i < N; i++) cf_wait_flag(&a[i].step, 1, 10 * CF_S);
    for (int i = 0; i < N; i++) cf_store(&a[i].phase, 1);
    for (int i = 0; i < N; i++)
        if (cf_join(&t[i], 15 * CF_S))
            CHECK(a[i].ok, "worker %d: its tls slot did not start NULL or did not keep its own value", i);
    CHECK(H->tls_get(C) == &marker_main, "run thread's tls slot changed by other threads: %p", H->tls_get(C));
    H->tls_set(C, saved);
}

void cf_area_threads(void) {
    cf_test("threads: joinable create/join; self, ctx, tls in the thread", t_create_join);
    cf_test("threads: names (short, 15, long, empty); NULL fn -> EINVAL", t_create_names);
    cf_test("threads: 16 at once, own arguments, distinct thread_self", t_args_many);
    cf_test("threads: detached (out NULL / with handle: join -> EBADF)", t_detached);
    cf_test("threads: thread_exit from a created thread", t_thread_exit);
    cf_test("threads: join bogus / twice -> EBADF, join self -> EDEADLK", t_join_errors);
    cf_test("threads: tls_set/tls_get per-thread, starts NULL", t_tls);
}
