/*
 * cf_private.h — prefix cf: private to the conformance suite (HUSK_PRIVATE).
 *
 * The suite is a component: it sees the host only through the hypercall
 * table handed to init (cf_hyp / cf_ctx, shortened to H / C below). It
 * includes nothing but the hypercall header and compiler-provided headers,
 * so any host implementation can build and run it.
 */
#ifndef HUSK_CF_PRIVATE_H
#define HUSK_CF_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <husk/hypercall.h>

HUSK_PRIVATE extern husk_ctx *cf_ctx;
HUSK_PRIVATE extern const struct husk_hyp *cf_hyp;
#define H cf_hyp
#define C cf_ctx

#define CF_MS           1000000ull
#define CF_S            1000000000ull
#define CF_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* A handle no host hands out (and 0, which is never valid). */
#define CF_BOGUS_HANDLE 0x5eadbeefcafe0001ull

/* ---- Text ---------------------------------------------------------------- */

HUSK_PRIVATE size_t cf_vfmt(char *buf, size_t cap, const char *fmt, va_list ap);
HUSK_PRIVATE size_t cf_fmt(char *buf, size_t cap, const char *fmt, ...) CF_PRINTF(3, 4);
HUSK_PRIVATE size_t cf_strlen(const char *s);
HUSK_PRIVATE bool cf_streq(const char *a, const char *b);
HUSK_PRIVATE bool cf_contains(const char *haystack, const char *needle);
HUSK_PRIVATE const char *cf_errname(int32_t rc);
/* One line at HUSK_LOG_INFO. */
HUSK_PRIVATE void cf_log(const char *fmt, ...) CF_PRINTF(1, 2);
/* A TAP diagnostic line: "# ...". */
HUSK_PRIVATE void cf_diag(const char *fmt, ...) CF_PRINTF(1, 2);

/* ---- Bytes --------------------------------------------------------------- */

HUSK_PRIVATE void cf_fill(void *p, uint64_t n, uint8_t v);
HUSK_PRIVATE void cf_pattern(void *p, uint64_t n, uint32_t seed);
/* Index of the first byte that differs from the pattern / value, or -1. */
HUSK_PRIVATE int64_t cf_pattern_mismatch(const void *p, uint64_t n, uint32_t seed);
HUSK_PRIVATE int64_t cf_byte_mismatch(const void *p, uint64_t n, uint8_t v);
HUSK_PRIVATE bool cf_bytes_equal(const void *a, const void *b, uint64_t n);

/* ---- Atomics on plain ints (compiler builtins, no library) --------------- */

static inline int cf_load(const int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void cf_store(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline int cf_inc(int *p) { return __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST); }
static inline int cf_dec(int *p) { return __atomic_sub_fetch(p, 1, __ATOMIC_SEQ_CST); }
static inline uint64_t cf_load64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void cf_store64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }

/* ---- Time ---------------------------------------------------------------- */

static inline uint64_t cf_now(void) { return H->clock_monotonic(C); }
/* Poll (1 ms sleeps) until *flag >= want or timeout; true if reached. */
HUSK_PRIVATE bool cf_wait_flag(const int *flag, int want, uint64_t timeout_ns);
/* Sleep that ignores EINTR (the suite's own pauses, not the thing tested). */
HUSK_PRIVATE void cf_pause_ms(uint32_t ms);

/* ---- Tests --------------------------------------------------------------- */

typedef void (*cf_test_fn)(void);
/* Run one test (default budget 30 s, then the watchdog ends the run). */
HUSK_PRIVATE void cf_test(const char *name, cf_test_fn fn);
HUSK_PRIVATE void cf_test_budget(const char *name, cf_test_fn fn, uint32_t seconds);
/* Mark the current test skipped (it still fails if a check failed). */
HUSK_PRIVATE void cf_skip(const char *fmt, ...) CF_PRINTF(1, 2);
/* Record a failed check; always returns false. Thread-safe, irq-safe. */
HUSK_PRIVATE bool cf_fail(const char *file, int line, const char *fmt, ...) CF_PRINTF(3, 4);
HUSK_PRIVATE bool cf_check_rc(int32_t got, int32_t want, const char *expr, const char *file, int line);
HUSK_PRIVATE bool cf_check_rc2(int32_t got, int32_t want1, int32_t want2, const char *expr, const char *file, int line);
HUSK_PRIVATE bool cf_check_u64(uint64_t got, uint64_t want, const char *expr, const char *file, int line);

#define CHECK(cond, ...)        ((cond) ? true : cf_fail(__FILE__, __LINE__, __VA_ARGS__))
#define CHECK_RC(expr, want)    cf_check_rc((expr), (want), #expr, __FILE__, __LINE__)
#define CHECK_RC2(expr, w1, w2) cf_check_rc2((expr), (w1), (w2), #expr, __FILE__, __LINE__)
#define CHECK_EQ(expr, want)    cf_check_u64((uint64_t)(expr), (uint64_t)(want), #expr, __FILE__, __LINE__)
#define REQUIRE(cond, ...)                     \
    do {                                       \
        if (!CHECK(cond, __VA_ARGS__)) return; \
    } while (0)
#define REQUIRE_RC(expr, want)             \
    do {                                   \
        if (!CHECK_RC(expr, want)) return; \
    } while (0)
#define SKIP(...)             \
    do {                      \
        cf_skip(__VA_ARGS__); \
        return;               \
    } while (0)

#define U64(x) ((unsigned long long)(x))

/* ---- Threads ------------------------------------------------------------- */

/* A joinable worker whose end the suite can wait for with a deadline before
 * joining (thread_join itself has none). */
struct cf_thread {
    husk_handle h;
    void (*fn)(void *arg);
    void *arg;
    int started, done, live;
};
HUSK_PRIVATE int32_t cf_spawn_at(struct cf_thread *t, const char *name, void (*fn)(void *), void *arg, const char *file,
                                 int line);
/* Wait until the worker's function returned (deadline), then join it. A
 * worker that misses the deadline is reported and left running. */
HUSK_PRIVATE bool cf_join_at(struct cf_thread *t, uint64_t timeout_ns, const char *file, int line);
#define cf_spawn(t, name, fn, arg) cf_spawn_at((t), (name), (fn), (arg), __FILE__, __LINE__)
#define cf_join(t, timeout)        cf_join_at((t), (timeout), __FILE__, __LINE__)

/* ---- Interrupt context ---------------------------------------------------- */

/* Call every operation marked [irq: yes] that needs no device, from an
 * interrupt handler or a block I/O completion; m and cv are live handles the
 * caller does not hold. Each misbehaving call is recorded with
 * cf_fail; returns how many there were. */
HUSK_PRIVATE int cf_irq_context_ops(husk_handle m, husk_handle cv, const char *where);

/* ---- Configuration ------------------------------------------------------- */

/* config_get into buf; false if unset or too long. */
HUSK_PRIVATE bool cf_config(const char *key, char *buf, uint64_t cap);

/* ---- Areas (one file each) ----------------------------------------------- */

HUSK_PRIVATE void cf_area_version(void);
HUSK_PRIVATE void cf_area_misc(void);
HUSK_PRIVATE void cf_area_time(void);
HUSK_PRIVATE void cf_area_memory(void);
HUSK_PRIVATE void cf_area_dma(void);
HUSK_PRIVATE void cf_area_threads(void);
HUSK_PRIVATE void cf_area_mutex(void);
HUSK_PRIVATE void cf_area_rwlock(void);
HUSK_PRIVATE void cf_area_condvar(void);
HUSK_PRIVATE void cf_area_cancel(void);
HUSK_PRIVATE void cf_area_errors(void);
HUSK_PRIVATE void cf_area_pci(void);
HUSK_PRIVATE void cf_area_blk(void);
HUSK_PRIVATE void cf_area_frame(void);

/* Framework entry points used by conformance.c. */
HUSK_PRIVATE void cf_suite_begin(const char *only);
HUSK_PRIVATE int32_t cf_suite_end(void);
HUSK_PRIVATE int32_t cf_panic_case(const char *which);

#endif /* HUSK_CF_PRIVATE_H */
