/*
 * conformance_time.c — clock_monotonic, clock_wall, sleep_ns, sleep_until.
 * Checks are on ordering only (a sleep lasts at least what was asked); the
 * suite never asserts an upper bound finer than seconds.
 */
#include "cf_private.h"

static void t_monotonic(void) {
    uint64_t prev = cf_now(), first = prev;
    for (int i = 0; i < 200000; i++) {
        uint64_t t = cf_now();
        if (!CHECK(t >= prev, "clock_monotonic went back: %llu after %llu", U64(t), U64(prev))) return;
        prev = t;
    }
    /* It advances: after a 2 ms sleep the value has moved. */
    cf_pause_ms(2);
    uint64_t later = cf_now();
    CHECK(later > first, "clock_monotonic did not advance over 200000 reads and a 2 ms sleep (%llu)", U64(later));
}

struct mono_arg {
    uint64_t seen;
    int bad;
};
static uint64_t mono_shared;
static void mono_worker(void *p) {
    struct mono_arg *a = p;
    for (int i = 0; i < 50000; i++) {
        /* A value published by any thread is never ahead of a later read. */
        uint64_t published = cf_load64(&mono_shared);
        uint64_t t = cf_now();
        if (t < published) {
            a->bad++;
            a->seen = t;
        }
        cf_store64(&mono_shared, t);
    }
}

static void t_monotonic_threads(void) {
    static struct cf_thread t[3];
    static struct mono_arg a[3];
    cf_store64(&mono_shared, 0);
    for (int i = 0; i < 3; i++) {
        a[i].bad = 0;
        cf_spawn(&t[i], "cf-mono", mono_worker, &a[i]);
    }
    for (int i = 0; i < 3; i++)
        if (cf_join(&t[i], 20 * CF_S))
            CHECK(a[i].bad == 0,
                  "worker %d read clock_monotonic %d times below a value another "
                  "thread had read before (e.g. %llu)",
                  i, a[i].bad, U64(a[i].seen));
}

static void t_wall(void) {
    const uint64_t y2020 = 1577836800ull * CF_S; /* 2020-01-01T00:00:00Z */
    const uint64_t y2200 = 7258118400ull * CF_S; /* 2200-01-01 */
    uint64_t w = H->clock_wall(C);
    CHECK(w > y2020, "clock_wall %llu ns is before 2020", U64(w));
    CHECK(w < y2200, "clock_wall %llu ns is after 2200 (not nanoseconds?)", U64(w));
    cf_pause_ms(5);
    uint64_t w2 = H->clock_wall(C);
    CHECK(w2 >= w, "clock_wall went back by %llu ns over 5 ms", U64(w - w2));
}

static void t_sleep_ns(void) {
    static const uint64_t ms[] = {1, 20, 100};
    for (unsigned i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        uint64_t t0 = cf_now();
        int32_t rc = H->sleep_ns(C, ms[i] * CF_MS);
        uint64_t dt = cf_now() - t0;
        CHECK_RC(rc, HUSK_OK);
        CHECK(dt >= ms[i] * CF_MS, "sleep_ns(%llu ms) returned after %llu ns", U64(ms[i]), U64(dt));
        CHECK(dt < ms[i] * CF_MS + 5 * CF_S, "sleep_ns(%llu ms) took %llu ms", U64(ms[i]), U64(dt / CF_MS));
    }
    uint64_t t0 = cf_now();
    CHECK_RC(H->sleep_ns(C, 0), HUSK_OK);
    CHECK(cf_now() - t0 < 2 * CF_S, "sleep_ns(0) took %llu ms", U64((cf_now() - t0) / CF_MS));
    CHECK_RC(H->sleep_ns(C, 1), HUSK_OK);
}

static void t_sleep_until(void) {
    uint64_t deadline = cf_now() + 30 * CF_MS;
    CHECK_RC(H->sleep_until(C, deadline), HUSK_OK);
    uint64_t now = cf_now();
    CHECK(now >= deadline, "sleep_until returned %llu ns before its deadline", U64(deadline - now));
    /* A deadline in the past (or 0) returns at once. */
    uint64_t t0 = cf_now();
    CHECK_RC(H->sleep_until(C, t0 - 1), HUSK_OK);
    CHECK_RC(H->sleep_until(C, 0), HUSK_OK);
    CHECK(cf_now() - t0 < 2 * CF_S, "sleep_until(past) took %llu ms", U64((cf_now() - t0) / CF_MS));
}

struct sleeper {
    uint64_t ns;
    int rc;
    uint64_t slept;
};
static void sleep_worker(void *p) {
    struct sleeper *s = p;
    uint64_t t0 = cf_now();
    s->rc = H->sleep_ns(C, s->ns);
    s->slept = cf_now() - t0;
}

static void t_sleep_threads(void) {
    /* Sleeps of several threads overlap: four 200 ms sleeps in parallel. */
    static struct cf_thread t[4];
    static struct sleeper s[4];
    for (int i = 0; i < 4; i++) {
        s[i].ns = 200 * CF_MS;
        s[i].rc = -1;
        cf_spawn(&t[i], "cf-sleep", sleep_worker, &s[i]);
    }
    for (int i = 0; i < 4; i++) {
        if (!cf_join(&t[i], 10 * CF_S)) continue;
        CHECK_RC(s[i].rc, HUSK_OK);
        CHECK(s[i].slept >= s[i].ns, "worker %d: sleep_ns(200 ms) lasted %llu ns", i, U64(s[i].slept));
    }
}

void cf_area_time(void) {
    cf_test("time: clock_monotonic never decreases and advances", t_monotonic);
    cf_test("time: clock_monotonic consistent across 3 threads", t_monotonic_threads);
    cf_test("time: clock_wall after 2020 and in nanoseconds", t_wall);
    cf_test("time: sleep_ns sleeps at least as asked (0, 1 ms .. 100 ms)", t_sleep_ns);
    cf_test("time: sleep_until reaches its deadline, past deadlines return", t_sleep_until);
    cf_test("time: 4 threads sleep concurrently", t_sleep_threads);
}
