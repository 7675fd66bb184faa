/*
 * conformance_framework.c — the suite's tiny test harness: text formatting
 * into buffers, TAP-like result lines through hyp->log, thread-safe check
 * recording, worker threads with deadlines and a watchdog that ends the run
 * (through hyp->panic) if a test hangs despite its own deadlines.
 */
#include "cf_private.h"

husk_ctx *cf_ctx;
const struct husk_hyp *cf_hyp;

/* ---- Text ---------------------------------------------------------------- */

size_t cf_strlen(const char *s) {
    size_t n = 0;
    while (s && s[n]) n++;
    return n;
}

bool cf_streq(const char *a, const char *b) {
    if (!a || !b) return a == b;
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

bool cf_contains(const char *h, const char *n) {
    if (!n || !*n) return true;
    if (!h) return false;
    for (; *h; h++) {
        size_t i = 0;
        while (n[i] && h[i] == n[i]) i++;
        if (!n[i]) return true;
    }
    return false;
}

struct cf_out {
    char *buf;
    size_t cap, len;
};

static void out_c(struct cf_out *o, char c) {
    if (o->len + 1 < o->cap) o->buf[o->len] = c;
    o->len++;
}

static void out_pad(struct cf_out *o, const char *s, size_t n, int width, bool left, char pad) {
    int fill = width > (int)n ? width - (int)n : 0;
    if (!left)
        while (fill-- > 0) out_c(o, pad);
    for (size_t i = 0; i < n; i++) out_c(o, s[i]);
    if (left)
        while (fill-- > 0) out_c(o, ' ');
}

/* printf subset: %% %c %s %p %d %i %u %x %X with flags '-' '0', a width,
 * and the length modifiers l, ll, z. */
size_t cf_vfmt(char *buf, size_t cap, const char *fmt, va_list ap) {
    struct cf_out o = {buf, cap, 0};
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            out_c(&o, *f);
            continue;
        }
        f++;
        bool left = false;
        char pad = ' ';
        for (;; f++) {
            if (*f == '-')
                left = true;
            else if (*f == '0')
                pad = '0';
            else
                break;
        }
        int width = 0;
        while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
        int lng = 0;
        while (*f == 'l' || *f == 'z') {
            lng++;
            f++;
        }
        char tmp[24];
        size_t n = 0;
        switch (*f) {
        case '%': out_c(&o, '%'); break;
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            out_pad(&o, tmp, 1, width, left, ' ');
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            out_pad(&o, s, cf_strlen(s), width, left, ' ');
            break;
        }
        case 'd':
        case 'i': {
            long long v = lng >= 2 ? va_arg(ap, long long) : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
            unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            char rev[24];
            size_t r = 0;
            do {
                rev[r++] = (char)('0' + u % 10);
                u /= 10;
            } while (u);
            if (v < 0) tmp[n++] = '-';
            while (r) tmp[n++] = rev[--r];
            out_pad(&o, tmp, n, width, left, pad);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'p': {
            unsigned long long u;
            unsigned base = *f == 'u' ? 10 : 16;
            const char *digits = *f == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
            if (*f == 'p') {
                u = (unsigned long long)(uintptr_t)va_arg(ap, void *);
                tmp[n++] = '0';
                tmp[n++] = 'x';
            } else {
                u = lng >= 2   ? va_arg(ap, unsigned long long)
                    : lng == 1 ? va_arg(ap, unsigned long)
                               : va_arg(ap, unsigned);
            }
            char rev[24];
            size_t r = 0;
            do {
                rev[r++] = digits[u % base];
                u /= base;
            } while (u);
            while (r) tmp[n++] = rev[--r];
            out_pad(&o, tmp, n, width, left, pad);
            break;
        }
        default: /* unknown conversion: print it verbatim */
            out_c(&o, '%');
            if (*f)
                out_c(&o, *f);
            else
                f--;
            break;
        }
    }
    if (cap) buf[o.len < cap ? o.len : cap - 1] = 0;
    return o.len;
}

size_t cf_fmt(char *buf, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t n = cf_vfmt(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

const char *cf_errname(int32_t rc) {
    const char *name = husk_error_name(rc);
    if (name != 0) return name;
    /* Not a documented code: rotate through a few buffers so that two unknown
     * codes in one message both print. Racy only in what text it shows. */
    static char unknown[4][24];
    static int next;
    char *b = unknown[(unsigned)__atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % 4];
    cf_fmt(b, sizeof unknown[0], "E?%d", (int)rc);
    return b;
}

void cf_log(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    cf_vfmt(line, sizeof line, fmt, ap);
    va_end(ap);
    H->log(C, HUSK_LOG_INFO, line);
}

void cf_diag(const char *fmt, ...) {
    char line[512];
    line[0] = '#';
    line[1] = ' ';
    va_list ap;
    va_start(ap, fmt);
    cf_vfmt(line + 2, sizeof line - 2, fmt, ap);
    va_end(ap);
    H->log(C, HUSK_LOG_INFO, line);
}

/* ---- Bytes --------------------------------------------------------------- */

void cf_fill(void *p, uint64_t n, uint8_t v) {
    volatile uint8_t *b = p;
    for (uint64_t i = 0; i < n; i++) b[i] = v;
}

static inline uint8_t pattern_byte(uint64_t i, uint32_t seed) {
    uint32_t x = (uint32_t)i * 2654435761u ^ seed;
    x ^= x >> 15;
    return (uint8_t)(x ^ (x >> 8) ^ (uint32_t)(i >> 12));
}

void cf_pattern(void *p, uint64_t n, uint32_t seed) {
    volatile uint8_t *b = p;
    for (uint64_t i = 0; i < n; i++) b[i] = pattern_byte(i, seed);
}

int64_t cf_pattern_mismatch(const void *p, uint64_t n, uint32_t seed) {
    const volatile uint8_t *b = p;
    for (uint64_t i = 0; i < n; i++)
        if (b[i] != pattern_byte(i, seed)) return (int64_t)i;
    return -1;
}

int64_t cf_byte_mismatch(const void *p, uint64_t n, uint8_t v) {
    const volatile uint8_t *b = p;
    for (uint64_t i = 0; i < n; i++)
        if (b[i] != v) return (int64_t)i;
    return -1;
}

bool cf_bytes_equal(const void *a, const void *b, uint64_t n) {
    const volatile uint8_t *x = a, *y = b;
    for (uint64_t i = 0; i < n; i++)
        if (x[i] != y[i]) return false;
    return true;
}

/* ---- Time ---------------------------------------------------------------- */

void cf_pause_ms(uint32_t ms) {
    uint64_t deadline = cf_now() + ms * CF_MS;
    while (cf_now() < deadline) {
        if (H->sleep_until(C, deadline) != HUSK_OK) {
            /* Cancelled (the host may cancel the run thread): spin politely. */
            for (volatile int i = 0; i < 10000; i++) {}
        }
    }
}

bool cf_wait_flag(const int *flag, int want, uint64_t timeout_ns) {
    uint64_t deadline = cf_now() + timeout_ns;
    for (;;) {
        if (cf_load(flag) >= want) return true;
        if (cf_now() >= deadline) return cf_load(flag) >= want;
        if (H->sleep_ns(C, CF_MS) != HUSK_OK)
            for (volatile int i = 0; i < 10000; i++) {}
    }
}

/* ---- Interrupt context ---------------------------------------------------- */

int cf_irq_context_ops(husk_handle m, husk_handle cv, const char *where) {
    int bad = 0;
#define IRQ_CHECK(cond, ...)                          \
    do {                                              \
        if (!(cond)) {                                \
            bad++;                                    \
            cf_fail(__FILE__, __LINE__, __VA_ARGS__); \
        }                                             \
    } while (0)
    uint64_t ps = H->page_size(C);
    IRQ_CHECK(ps >= 512 && (ps & (ps - 1)) == 0, "%s: page_size %llu", where, U64(ps));
    IRQ_CHECK(H->ctx_current() == C, "%s: ctx_current() is not the component's", where);
    husk_handle me = H->thread_self(C);
    IRQ_CHECK(me != 0, "%s: thread_self() returned 0", where);
    void *saved = H->tls_get(C);
    static int marker;
    H->tls_set(C, &marker);
    IRQ_CHECK(H->tls_get(C) == &marker, "%s: tls_set/tls_get", where);
    H->tls_set(C, saved);
    uint64_t t0 = H->clock_monotonic(C), t1 = H->clock_monotonic(C);
    IRQ_CHECK(t1 >= t0, "%s: clock_monotonic went back", where);
    IRQ_CHECK(H->clock_wall(C) > 1577836800ull * CF_S, "%s: clock_wall before 2020", where);
    uint8_t r[8];
    int32_t rc = H->random_bytes(C, r, sizeof r);
    IRQ_CHECK(rc == HUSK_OK, "%s: random_bytes: %s", where, cf_errname(rc));
    H->log(C, HUSK_LOG_DEBUG, "# irq-context log line");
    rc = H->mutex_trylock(C, m);
    IRQ_CHECK(rc == HUSK_OK || rc == HUSK_EBUSY, "%s: mutex_trylock: %s", where, cf_errname(rc));
    if (rc == HUSK_OK) {
        IRQ_CHECK(H->mutex_owned(C, m) == 1, "%s: mutex_owned after trylock", where);
        rc = H->mutex_unlock(C, m);
        IRQ_CHECK(rc == HUSK_OK, "%s: mutex_unlock: %s", where, cf_errname(rc));
    }
    rc = H->cv_signal(C, cv);
    IRQ_CHECK(rc == HUSK_OK, "%s: cv_signal: %s", where, cf_errname(rc));
    rc = H->cv_broadcast(C, cv);
    IRQ_CHECK(rc == HUSK_OK, "%s: cv_broadcast: %s", where, cf_errname(rc));
    IRQ_CHECK(H->cancel_pending(C) == 0, "%s: cancel_pending set on entry", where);
    rc = H->thread_cancel(C, me);
    IRQ_CHECK(rc == HUSK_OK, "%s: thread_cancel(thread_self()): %s", where, cf_errname(rc));
    IRQ_CHECK(H->cancel_pending(C) == 1, "%s: cancel_pending after thread_cancel", where);
    H->cancel_clear(C);
    IRQ_CHECK(H->cancel_pending(C) == 0, "%s: cancel_pending after cancel_clear", where);
#undef IRQ_CHECK
    return bad;
}

/* ---- Configuration ------------------------------------------------------- */

bool cf_config(const char *key, char *buf, uint64_t cap) {
    uint64_t len = 0;
    buf[0] = 0;
    return H->config_get(C, key, buf, cap, &len) == HUSK_OK;
}

/* ---- Tests --------------------------------------------------------------- */

static struct {
    const char *name;
    int number;
    int failed;  /* checks failed in this test */
    int claimed; /* the first failure's message slot is taken */
    int ready;   /* ... and written */
    int skipped;
    int running;
    uint64_t start_ns, budget_ns;
    char first[400];
    char skip_reason[200];
} cur;

static int n_pass, n_fail, n_skip, n_checks_failed;
static const char *filter;
static struct cf_thread watchdog;
static int watchdog_stop;

static const char *base_name(const char *path) {
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == '\\') b = p + 1;
    return b;
}

static bool cf_vfail(const char *file, int line, const char *fmt, va_list ap) {
    char msg[320];
    cf_vfmt(msg, sizeof msg, fmt, ap);
    __atomic_add_fetch(&n_checks_failed, 1, __ATOMIC_SEQ_CST);
    if (!cf_load(&cur.running)) {
        /* A worker left running by an earlier test. */
        cf_diag("late failure (after its test ended): %s (%s:%d)", msg, base_name(file), line);
        return false;
    }
    cf_inc(&cur.failed);
    int expected = 0;
    if (__atomic_compare_exchange_n(&cur.claimed, &expected, 1, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        cf_fmt(cur.first, sizeof cur.first, "%s (%s:%d)", msg, base_name(file), line);
        cf_store(&cur.ready, 1);
    } else {
        cf_diag("%s: also: %s (%s:%d)", cur.name, msg, base_name(file), line);
    }
    return false;
}

bool cf_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cf_vfail(file, line, fmt, ap);
    va_end(ap);
    return false;
}

/* "H->mutex_lock(C, m)" reads better as "mutex_lock(m)". */
static void tidy_expr(char *out, size_t cap, const char *expr) {
    size_t o = 0;
    for (const char *p = expr; *p && o + 1 < cap;) {
        if (p[0] == 'H' && p[1] == '-' && p[2] == '>') {
            p += 3;
            continue;
        }
        if (p[0] == 'C' && p[1] == ',' && (p == expr || p[-1] == '(')) {
            p += 2;
            while (*p == ' ') p++;
            continue;
        }
        if (p[0] == 'C' && p[1] == ')' && (p == expr || p[-1] == '(')) {
            p += 1;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = 0;
}

bool cf_check_rc(int32_t got, int32_t want, const char *expr, const char *file, int line) {
    if (got == want) return true;
    char e[160];
    tidy_expr(e, sizeof e, expr);
    return cf_fail(file, line, "%s: expected %s got %s", e, cf_errname(want), cf_errname(got));
}

bool cf_check_rc2(int32_t got, int32_t w1, int32_t w2, const char *expr, const char *file, int line) {
    if (got == w1 || got == w2) return true;
    char e[160];
    tidy_expr(e, sizeof e, expr);
    return cf_fail(file, line, "%s: expected %s or %s got %s", e, cf_errname(w1), cf_errname(w2), cf_errname(got));
}

bool cf_check_u64(uint64_t got, uint64_t want, const char *expr, const char *file, int line) {
    if (got == want) return true;
    char e[160];
    tidy_expr(e, sizeof e, expr);
    return cf_fail(file, line, "%s: expected %llu (0x%llx) got %llu (0x%llx)", e, U64(want), U64(want), U64(got),
                   U64(got));
}

void cf_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cf_vfmt(cur.skip_reason, sizeof cur.skip_reason, fmt, ap);
    va_end(ap);
    cur.skipped = 1;
}

void cf_test_budget(const char *name, cf_test_fn fn, uint32_t seconds) {
    if (filter && !cf_contains(name, filter)) return;
    cur.name = name;
    cur.number++;
    cf_store(&cur.failed, 0);
    cf_store(&cur.claimed, 0);
    cf_store(&cur.ready, 0);
    cur.skipped = 0;
    cur.first[0] = 0;
    cur.skip_reason[0] = 0;
    cf_store64(&cur.budget_ns, (uint64_t)seconds * CF_S);
    cf_store64(&cur.start_ns, cf_now());
    cf_store(&cur.running, 1);

    fn();

    /* A failure recorded by another thread may still be writing its text. */
    if (cf_load(&cur.claimed)) cf_wait_flag(&cur.ready, 1, 100 * CF_MS);
    cf_store(&cur.running, 0);
    if (cf_load(&cur.failed)) {
        n_fail++;
        cf_log("not ok %d - %s: %s", cur.number, name,
               cf_load(&cur.ready) ? cur.first : "(failure reported by another thread)");
    } else if (cur.skipped) {
        n_skip++;
        cf_log("ok %d - %s # SKIP %s", cur.number, name, cur.skip_reason);
    } else {
        n_pass++;
        cf_log("ok %d - %s", cur.number, name);
    }
}

void cf_test(const char *name, cf_test_fn fn) { cf_test_budget(name, fn, 30); }

/* ---- Threads ------------------------------------------------------------- */

static void cf_trampoline(void *p) {
    struct cf_thread *t = p;
    cf_store(&t->started, 1);
    t->fn(t->arg);
    cf_store(&t->done, 1);
}

int32_t cf_spawn_at(struct cf_thread *t, const char *name, void (*fn)(void *), void *arg, const char *file, int line) {
    t->fn = fn;
    t->arg = arg;
    t->h = 0;
    cf_store(&t->started, 0);
    cf_store(&t->done, 0);
    t->live = 0;
    int32_t rc = H->thread_create(C, name, cf_trampoline, t, HUSK_THREAD_JOINABLE, &t->h);
    if (rc != HUSK_OK)
        cf_fail(file, line, "thread_create(\"%s\"): expected OK got %s", name, cf_errname(rc));
    else if (t->h == 0)
        cf_fail(file, line, "thread_create(\"%s\") returned OK with handle 0", name);
    else
        t->live = 1;
    return rc;
}

bool cf_join_at(struct cf_thread *t, uint64_t timeout_ns, const char *file, int line) {
    if (!t->live) return false;
    if (!cf_wait_flag(&t->done, 1, timeout_ns)) {
        t->live = 0;
        return cf_fail(file, line, "worker thread did not finish within %llu ms (%s); left running",
                       U64(timeout_ns / CF_MS), cf_load(&t->started) ? "started" : "never started");
    }
    int32_t rc = H->thread_join(C, t->h);
    t->live = 0;
    if (rc != HUSK_OK) return cf_fail(file, line, "thread_join(worker): expected OK got %s", cf_errname(rc));
    return true;
}

/* ---- Watchdog and suite -------------------------------------------------- */

static void watchdog_main(void *arg) {
    (void)arg;
    while (!cf_load(&watchdog_stop)) {
        H->sleep_ns(C, 50 * CF_MS);
        if (!cf_load(&cur.running)) continue;
        uint64_t start = cf_load64(&cur.start_ns), budget = cf_load64(&cur.budget_ns);
        if (cf_now() - start <= budget || !cf_load(&cur.running)) continue;
        cf_log("not ok %d - %s: did not finish within %llu s (watchdog; a host operation hung)", cur.number, cur.name,
               U64(budget / CF_S));
        cf_log("conformance: %d passed, %d failed, %d skipped (run aborted by the watchdog)", n_pass, n_fail + 1,
               n_skip);
        char msg[200];
        cf_fmt(msg, sizeof msg, "conformance test %d (%s) hung for more than %llu s", cur.number, cur.name,
               U64(budget / CF_S));
        H->panic(C, msg);
    }
}

void cf_suite_begin(const char *only) {
    filter = only && *only ? only : 0;
    n_pass = n_fail = n_skip = n_checks_failed = 0;
    cur.number = 0;
    cf_store(&watchdog_stop, 0);
    cf_log("# husk conformance: backend %s, host ABI %u.%u (suite built for %d.%d), table %u bytes, "
           "features 0x%llx",
           H->backend ? H->backend : "(null)", H->abi_major, H->abi_minor, HUSK_ABI_MAJOR, HUSK_ABI_MINOR, H->size,
           U64(H->features));
    if (filter) cf_diag("only tests whose name contains \"%s\"", filter);
    if (cf_spawn(&watchdog, "cf-watchdog", watchdog_main, 0) != HUSK_OK)
        cf_diag("no watchdog thread: a hung operation will hang the run");
}

int32_t cf_suite_end(void) {
    cf_store(&watchdog_stop, 1);
    cf_store(&cur.running, 0);
    if (watchdog.live) cf_join(&watchdog, 5 * CF_S);
    cf_log("1..%d", cur.number);
    cf_log("conformance: %d passed, %d failed, %d skipped", n_pass, n_fail, n_skip);
    return n_checks_failed;
}
