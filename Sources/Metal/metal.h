/*
 * metal.h — the metal host's internal interfaces (one CPU, no interrupts:
 * every kernel structure is consistent between two calls of schedule(),
 * so the kernel itself needs no locks). Each .c file is one job.
 */
#ifndef HUSK_METAL_H
#define HUSK_METAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <husk/hypercall.h>

/* ---- libc.c: what the compiler may emit calls to ------------------------- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t m_strlen(const char *s);
/* For the port library only (docs/porting.md): */
size_t strlen(const char *s);
int posix_memalign(void **out, size_t align, size_t size);
void free(void *p);
void arc4random_buf(void *buf, size_t n);
double ceil(double x);

/* ---- cpu.h-like helpers --------------------------------------------------- */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint16_t inw(uint16_t port) {
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t inl(uint16_t port) {
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline void cpu_relax(void) { __asm__ volatile("pause"); }

/* ---- serial.c: COM1 ------------------------------------------------------- */
void serial_init(void);
void serial_write(const char *s, size_t n);
void serial_puts(const char *s); /* no newline added */
/* printf subset: %s %d %u %x %llu %llx %p %c */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- boot.c: the PVH start info, command line, power --------------------- */
struct mem_region {
    uint64_t base, size;
};
/* The largest RAM region above the kernel image (below 4 GiB). */
extern struct mem_region boot_ram;
extern char boot_cmdline[1024];
bool boot_parse(uint32_t start_info);
/* Value of "key=value" on the command line into buf; false if absent. */
bool cmdline_get(const char *key, char *buf, uint64_t cap, uint64_t *len);
__attribute__((noreturn)) void power_off(void);

/* ---- clock.c: TSC calibrated against the PM timer, wall time from the RTC -- */
void clock_init(void);
uint64_t clock_ns(void);      /* monotonic ns since boot */
uint64_t clock_wall_ns(void); /* ns since 1970 */
uint64_t clock_tsc_khz(void);
const char *clock_calibration(void); /* what the TSC was calibrated against */

/* ---- mem.c: physical memory, identity-mapped ------------------------------ */
enum mem_kind { MEM_HEAP = 1, MEM_PAGES = 2, MEM_DMA = 3, MEM_KERNEL = 4, MEM_LIBC = 5 };
void mem_setup(uint64_t base, uint64_t size);
/* Allocate len bytes at an address aligned to align, ending at or below
 * limit (0: none), record it under kind with the size asked for. */
void *mem_get(uint64_t len, uint64_t align, uint64_t limit, enum mem_kind kind);
/* Release what mem_get returned: false if (p, kind) is not a live record
 * or size differs from the recorded one (size 0: any). */
bool mem_put(void *p, uint64_t size, enum mem_kind kind);
uint64_t mem_free_bytes(void);

/* ---- handle.c: typed handles with generations ----------------------------- */
enum handle_kind { H_MUTEX = 1, H_RW, H_CV, H_THREAD, H_DMA, H_DEV, H_IRQ };
husk_handle handle_new(enum handle_kind kind, void *obj);
void *handle_get(husk_handle h, enum handle_kind kind); /* NULL: invalid */
void handle_free(husk_handle h);

/* ---- sched.c: cooperative threads ----------------------------------------- */
struct thread;
struct waitq {
    struct thread *head, *tail;
};
enum wake { WAKE_OK = 0, WAKE_TIMEOUT, WAKE_CANCEL };
#define NO_DEADLINE UINT64_MAX

struct thread *sched_init(void); /* the boot thread becomes a thread */
struct thread *thread_current(void);
int32_t thread_spawn(const char *name, void (*fn)(void *), void *arg, bool joinable, husk_ctx *ctx, husk_handle *out);
int32_t thread_join_handle(husk_handle h);
__attribute__((noreturn)) void thread_exit_current(void);
husk_handle thread_handle(struct thread *t);
husk_ctx *thread_ctx(struct thread *t);
void thread_set_ctx(struct thread *t, husk_ctx *ctx);
void **thread_tls(struct thread *t);
bool thread_is_host(struct thread *t);
int32_t thread_cancel_handle(husk_handle h);
bool thread_cancel_pending(void);
void thread_cancel_clear(void);
/* Give the CPU to every other runnable thread once. */
void sched_yield(void);
/* Block the current thread, on q if not NULL, until woken, the deadline
 * (clock_ns) or, if interruptible, a cancellation. */
enum wake sched_block(struct waitq *q, uint64_t deadline, bool interruptible);
/* Wake the first waiter / a given thread with OK. */
struct thread *waitq_wake_one(struct waitq *q);
void waitq_wake_all(struct waitq *q);
bool waitq_empty(const struct waitq *q);
/* For rwlocks: a waiter's private word (its wanted mode). */
uint32_t *thread_wait_word(struct thread *t);
struct thread *waitq_first(const struct waitq *q);

/* ---- sync.c: mutexes, rwlocks, condition variables (hypercall slots) ------ */
void hyp_fill_sync(struct husk_hyp *h);

/* ---- intr.c: IDT, local APIC; interrupts only in the scheduler's window ---- */
void intr_init(void);
void intr_window(void);
uint32_t intr_take(uint32_t vector);
uint32_t intr_apic_id(void);
void intr_timer_init(void);    /* after clock_init */
uint64_t intr_timer_khz(void); /* its ticks per ms; 0: no timer, idle spins */
void intr_idle(uint64_t ns);   /* halt until an interrupt, at most ns (and 10 ms) */

/* ---- pci.c ---------------------------------------------------------------- */
void pci_init(void);
uint32_t pci_count(void);
void pci_list(void); /* one console line per function */
void hyp_fill_pci(struct husk_hyp *h);

/* ---- hyp.c: the table ----------------------------------------------------- */
extern struct husk_hyp metal_hyp;
void hyp_init(void);
bool hyp_rdrand(void);
void hyp_random_fill(void *buf, uint64_t len); /* random_bytes' source */
uint32_t hyp_tap_lines(void);
husk_ctx *hyp_new_ctx(const struct husk_component *comp);
__attribute__((noreturn)) void metal_panic(const char *who, const char *msg);

#endif /* HUSK_METAL_H */
