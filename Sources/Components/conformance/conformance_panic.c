/*
 * conformance_panic.c — deliberate misuse the ABI says panics. Selected with
 * the configuration key panic_case; the runner checks that the server ends
 * with exit status HUSK_PANIC_EXIT_STATUS and a message naming the
 * component. If the host does not panic, run returns 0 (after logging an
 * error line), so the runner sees a normal exit instead of status 86.
 */
#include "cf_private.h"

static struct {
    husk_handle m, cv, rw;
    int locked, stop;
} pc;

static void hold_forever(void *p) {
    (void)p;
    H->mutex_lock(C, pc.m);
    cf_store(&pc.locked, 1);
    cf_wait_flag(&pc.stop, 1, 30 * CF_S);
    H->mutex_unlock(C, pc.m);
}

static void keep_signalling(void *p) {
    (void)p;
    /* So that cv_wait_without_mutex returns if the host lets it wait. */
    for (int i = 0; i < 100 && !cf_load(&pc.stop); i++) {
        H->cv_broadcast(C, pc.cv);
        H->sleep_ns(C, 20 * CF_MS);
    }
}

static void did_not_panic(const char *which, const char *what, int32_t rc) {
    char msg[256];
    cf_fmt(msg, sizeof msg, "panic_case %s: %s returned %s instead of panicking", which, what, cf_errname(rc));
    H->log(C, HUSK_LOG_ERROR, msg);
}

int32_t cf_panic_case(const char *which) {
    char line[160];
    cf_fmt(line, sizeof line, "panic_case %s: performing the misuse now", which);
    H->log(C, HUSK_LOG_INFO, line);
    int32_t rc;
    if (cf_streq(which, "explicit_panic")) {
        H->panic(C, "explicit panic requested by the conformance suite (panic_case explicit_panic)");
        H->log(C, HUSK_LOG_ERROR, "panic_case explicit_panic: panic returned");
        return 0;
    }
    if (cf_streq(which, "unlock_not_owned")) {
        if (H->mutex_create(C, "cf-panic", &pc.m) != HUSK_OK) return 1;
        rc = H->mutex_unlock(C, pc.m); /* held by nobody */
        did_not_panic(which, "mutex_unlock of an unheld mutex", rc);
        return 0;
    }
    if (cf_streq(which, "unlock_other_owner")) {
        /* Extra case: the mutex is held by another thread. */
        if (H->mutex_create(C, "cf-panic", &pc.m) != HUSK_OK) return 1;
        husk_handle t;
        if (H->thread_create(C, "cf-holder", hold_forever, 0, 0, &t) != HUSK_OK) return 1;
        cf_wait_flag(&pc.locked, 1, 10 * CF_S);
        rc = H->mutex_unlock(C, pc.m);
        cf_store(&pc.stop, 1);
        did_not_panic(which, "mutex_unlock of a mutex another thread holds", rc);
        return 0;
    }
    if (cf_streq(which, "destroy_locked_mutex")) {
        if (H->mutex_create(C, "cf-panic", &pc.m) != HUSK_OK) return 1;
        if (H->mutex_lock(C, pc.m) != HUSK_OK) return 1;
        rc = H->mutex_destroy(C, pc.m);
        did_not_panic(which, "mutex_destroy of a held mutex", rc);
        return 0;
    }
    if (cf_streq(which, "relock_self")) {
        if (H->mutex_create(C, "cf-panic", &pc.m) != HUSK_OK) return 1;
        if (H->mutex_lock(C, pc.m) != HUSK_OK) return 1;
        /* A host that deadlocks here instead of panicking hangs: the runner
         * must apply its own timeout to this case. */
        rc = H->mutex_lock(C, pc.m);
        did_not_panic(which, "mutex_lock of a mutex the caller holds", rc);
        return 0;
    }
    if (cf_streq(which, "cv_wait_without_mutex")) {
        if (H->mutex_create(C, "cf-panic", &pc.m) != HUSK_OK) return 1;
        if (H->cv_create(C, "cf-panic", &pc.cv) != HUSK_OK) return 1;
        H->thread_create(C, "cf-signaller", keep_signalling, 0, 0, 0);
        rc = H->cv_wait(C, pc.cv, pc.m);
        cf_store(&pc.stop, 1);
        did_not_panic(which, "cv_wait without holding the mutex", rc);
        return 0;
    }
    if (cf_streq(which, "rw_exit_not_held")) {
        if (H->rw_create(C, "cf-panic", &pc.rw) != HUSK_OK) return 1;
        rc = H->rw_exit(C, pc.rw);
        did_not_panic(which, "rw_exit of an rwlock the caller does not hold", rc);
        return 0;
    }
    if (cf_streq(which, "rw_reenter_writer")) {
        /* Extra case: rw_enter while holding it as writer. */
        if (H->rw_create(C, "cf-panic", &pc.rw) != HUSK_OK) return 1;
        if (H->rw_enter(C, pc.rw, HUSK_RW_WRITER) != HUSK_OK) return 1;
        rc = H->rw_enter(C, pc.rw, HUSK_RW_READER);
        did_not_panic(which, "rw_enter by the thread holding it as writer", rc);
        return 0;
    }
    if (cf_streq(which, "destroy_held_rw")) {
        /* Extra case: rw_destroy of a held rwlock. */
        if (H->rw_create(C, "cf-panic", &pc.rw) != HUSK_OK) return 1;
        if (H->rw_enter(C, pc.rw, HUSK_RW_READER) != HUSK_OK) return 1;
        rc = H->rw_destroy(C, pc.rw);
        did_not_panic(which, "rw_destroy of a held rwlock", rc);
        return 0;
    }
    if (cf_streq(which, "thread_exit_host")) {
        /* Extra case: thread_exit on the host thread running run. */
        H->thread_exit(C);
        H->log(C, HUSK_LOG_ERROR, "panic_case thread_exit_host: thread_exit returned");
        return 0;
    }
    cf_fmt(line, sizeof line,
           "panic_case %s: unknown case (known: explicit_panic unlock_not_owned "
           "unlock_other_owner destroy_locked_mutex relock_self cv_wait_without_mutex rw_exit_not_held "
           "rw_reenter_writer destroy_held_rw thread_exit_host)",
           which);
    H->log(C, HUSK_LOG_ERROR, line);
    return HUSK_EINVAL;
}
