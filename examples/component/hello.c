/*
 * hello.c — a complete Husk component in one file: what a third-party
 * component looks like, built outside the Husk tree and loaded into a
 * shipped husk.
 *
 *   scripts/build-component.sh examples/component/hello.c -o hello.so
 *   .build/release/husk run --component-file hello.so --param hello.ticks=3
 *
 * It reads two parameters, then its run job waits for a periodic callout to
 * tick `ticks` times (a mutex and a condition variable between the callout
 * and the run thread), logging each tick, and cleans up in fini. Only
 * husk/glue.h: no libc, no system calls — the same file builds into any host
 * that implements the hypercall table.
 */
#include <husk/glue.h>

struct hello_softc {
    kmutex_t lock;
    kcondvar_t ticked;
    callout_t tick;
    uint64_t ticks;    /* done so far, under lock */
    uint64_t wanted;   /* parameter hello.ticks */
    char greeting[64]; /* parameter hello.greeting */
};

static struct hello_softc *hello_sc;

/* Callout context: count, wake the run thread, stop after the last tick. */
static void hello_tick(void *arg) {
    struct hello_softc *sc = arg;
    mutex_enter(&sc->lock);
    sc->ticks++;
    if (sc->ticks >= sc->wanted) callout_stop(&sc->tick);
    cv_broadcast(&sc->ticked);
    mutex_exit(&sc->lock);
}

static int32_t hello_init(husk_ctx *ctx, const struct husk_hyp *hyp) {
    struct hello_softc *sc = kmem_zalloc(sizeof *sc, KM_SLEEP);
    sc->wanted = 3;
    bool present = false;
    int error = glue_param_u64("ticks", &sc->wanted, 1, 1000);
    if (error == 0) error = glue_param_string("greeting", sc->greeting, sizeof sc->greeting, &present);
    if (error != 0) {
        kmem_free(sc, sizeof *sc);
        return error;
    }
    if (!present) glue_snprintf(sc->greeting, sizeof sc->greeting, "hello from a shared component");
    /* The host logs a leak of anything not destroyed in fini; a failed init
     * here means the host is out of handles, and refusing is all we can do. */
    if ((error = mutex_init(&sc->lock, "hello")) != 0) goto fail;
    if ((error = cv_init(&sc->ticked, "hello")) != 0) goto fail_cv;
    if ((error = callout_init(&sc->tick, hello_tick, sc)) != 0) goto fail_callout;
    hello_sc = sc;
    return 0;
fail_callout:
    cv_destroy(&sc->ticked);
fail_cv:
    mutex_destroy(&sc->lock);
fail:
    kmem_free(sc, sizeof *sc);
    return error;
}

static int32_t hello_run(husk_ctx *ctx) {
    struct hello_softc *sc = hello_sc;
    glue_logf(LOG_INFO, "%s; waiting for %llu ticks of 10 ms", sc->greeting, (unsigned long long)sc->wanted);
    uint64_t start = glue_uptime_ns();
    callout_schedule_periodic(&sc->tick, 10 * 1000 * 1000);
    int error = 0;
    mutex_enter(&sc->lock);
    uint64_t seen = 0;
    while (sc->ticks < sc->wanted && error == 0) {
        /* _sig: SIGINT/SIGTERM of husk cancel this thread (HUSK_EINTR). */
        error = cv_wait_sig(&sc->ticked, &sc->lock);
        for (; seen < sc->ticks; seen++) glue_logf(LOG_INFO, "tick %llu", (unsigned long long)seen + 1);
    }
    mutex_exit(&sc->lock);
    callout_halt(&sc->tick);
    if (error != 0) {
        glue_logf(LOG_WARN, "interrupted after %llu ticks", (unsigned long long)seen);
        return error;
    }
    glue_logf(LOG_INFO, "%llu ticks in %llu ms", (unsigned long long)seen,
              (unsigned long long)((glue_uptime_ns() - start) / 1000000));
    return 0;
}

static void hello_fini(husk_ctx *ctx) {
    struct hello_softc *sc = hello_sc;
    if (sc == NULL) return;
    callout_destroy(&sc->tick);
    cv_destroy(&sc->ticked);
    mutex_destroy(&sc->lock);
    kmem_free(sc, sizeof *sc);
    hello_sc = NULL;
}

HUSK_COMPONENT(hello) = {
    .abi_major = HUSK_ABI_MAJOR,
    .abi_minor = 0,
    .name = "hello",
    .description = "example: parameters, a periodic callout, a mutex and a condition variable",
    .kind = HUSK_KIND_OTHER,
    .init = hello_init,
    .run = hello_run,
    .fini = hello_fini,
};
