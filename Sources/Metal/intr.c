/*
 * intr.c — the IDT, the local APIC and what an interrupt does here.
 *
 * Interrupts stay disabled except in a one-instruction window that the
 * scheduler opens at every switch and idle pass (sched.c: sti; nop; cli).
 * So an interrupt never lands in the middle of the kernel's bookkeeping:
 * the handler below only counts the vector as pending and acknowledges it
 * at the local APIC; a host thread per established vector (pci.c) sees the
 * count and calls the component's handler in thread context, as the ABI's
 * "dedicated host thread" wants. CPU exceptions end the run with a line
 * that names the exception and where it happened.
 *
 * The legacy 8259 PICs are remapped to vectors 0x20-0x2F and masked (the
 * firmware left its timer enabled there); MSI vectors are 0x40-0x7F.
 *
 * Idle: when nothing is runnable the scheduler halts the CPU until its
 * earliest deadline, woken by a one-shot local APIC timer (vector 0xFE)
 * or a device's interrupt, so an idle VM leaves the host's CPU alone. The
 * timer is calibrated against the TSC clock at boot; each halt lasts at
 * most 10 ms, and without a usable timer the scheduler spins instead.
 */
#include "metal.h"

struct idt_entry {
    uint16_t off0, sel;
    uint8_t ist, type;
    uint16_t off1;
    uint32_t off2, zero;
};

extern const uint64_t intr_stubs[256];
static struct idt_entry idt[256] __attribute__((aligned(16)));
static volatile uint32_t *lapic;
static uint32_t pending[256];
static uint64_t timer_per_ms; /* local APIC timer ticks per ms (divide by 1); 0: none */

#define TIMER_VECTOR 0xFE
#define IDLE_MAX_NS  10000000ull

static const char *const exc_names[32] = {"divide error",
                                          "debug",
                                          "NMI",
                                          "breakpoint",
                                          "overflow",
                                          "bound",
                                          "invalid opcode",
                                          "no FPU",
                                          "double fault",
                                          "coprocessor",
                                          "invalid TSS",
                                          "segment not present",
                                          "stack fault",
                                          "general protection",
                                          "page fault",
                                          "reserved",
                                          "x87 error",
                                          "alignment check",
                                          "machine check",
                                          "SIMD error"};

static uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

void intr_dispatch(uint64_t vector, const uint64_t *frame) {
    if (vector < 32) {
        uint64_t cr2;
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        kprintf("panic: metal: CPU exception %llu (%s), error code 0x%llx, rip 0x%llx, rsp 0x%llx, cr2 0x%llx\n",
                (unsigned long long)vector, exc_names[vector] ? exc_names[vector] : "?", (unsigned long long)frame[1],
                (unsigned long long)frame[2], (unsigned long long)frame[5], (unsigned long long)cr2);
        kprintf("HUSK-METAL-EXIT %d\n", HUSK_PANIC_EXIT_STATUS);
        power_off();
    }
    if (vector >= 0x20 && vector < 0x30) return; /* a spurious PIC interrupt: all its lines are masked */
    if (vector == 0xFF) return;                  /* APIC spurious: no EOI */
    if (vector == TIMER_VECTOR) {                /* it only ends a halt */
        lapic[0xB0 / 4] = 0;
        return;
    }
    __atomic_add_fetch(&pending[vector], 1, __ATOMIC_SEQ_CST);
    lapic[0xB0 / 4] = 0; /* EOI */
}

void intr_init(void) {
    for (int v = 0; v < 256; v++) {
        uint64_t a = intr_stubs[v];
        idt[v] = (struct idt_entry){
            .off0 = (uint16_t)a, .sel = 0x08, .type = 0x8E, .off1 = (uint16_t)(a >> 16), .off2 = (uint32_t)(a >> 32)};
    }
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = {sizeof idt - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" ::"m"(idtr));

    /* 8259s: ICW1-4 with bases 0x20/0x28, then every line masked. */
    outb(0x20, 0x11);
    outb(0xA0, 0x11);
    outb(0x21, 0x20);
    outb(0xA1, 0x28);
    outb(0x21, 4);
    outb(0xA1, 2);
    outb(0x21, 1);
    outb(0xA1, 1);
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);

    lapic = (volatile uint32_t *)(uintptr_t)(rdmsr(0x1B) & 0xFFFFF000u); /* identity-mapped, uncached */
    lapic[0xF0 / 4] = 0x1FF;                                             /* software enable, spurious 0xFF */
    lapic[0x80 / 4] = 0;                                                 /* task priority: accept all */
}

uint32_t intr_apic_id(void) { return lapic[0x20 / 4] >> 24; }

/* After clock_init: count the timer's ticks over 50 ms of the TSC clock.
 * Both ends are bracketed by two clock reads (the start tried again until
 * they are within 20 us, the end the tightest of 16 reads): a virtual CPU
 * that loses the host CPU between a clock read and the timer access would
 * otherwise count the lost time on one side only. */
void intr_timer_init(void) {
    lapic[0x3E0 / 4] = 0xB;                    /* divide by 1 */
    lapic[0x320 / 4] = 0x10000 | TIMER_VECTOR; /* one-shot, masked */
    uint64_t start = 0;
    for (int i = 0; i < 16; i++) { /* each write restarts the timer: the last one counts */
        uint64_t a = clock_ns();
        lapic[0x380 / 4] = 0xFFFFFFFFu;
        uint64_t b = clock_ns();
        start = a + (b - a) / 2;
        if (b - a < 20000) break;
    }
    while (clock_ns() - start < 50000000ull) cpu_relax();
    uint64_t end = 0, count = 0, best = UINT64_MAX;
    for (int i = 0; i < 16; i++) {
        uint64_t a = clock_ns();
        uint32_t c = lapic[0x390 / 4];
        uint64_t b = clock_ns();
        if (b - a < best) {
            best = b - a;
            end = a + (b - a) / 2;
            count = c;
        }
    }
    lapic[0x380 / 4] = 0;
    uint64_t ns = end - start, ticks = 0xFFFFFFFFu - count;
    timer_per_ms = count && ns ? ticks * 1000000 / ns : 0;
}

uint64_t intr_timer_khz(void) { return timer_per_ms; }

void intr_idle(uint64_t ns) {
    if (!timer_per_ms) {
        cpu_relax();
        return;
    }
    if (ns > IDLE_MAX_NS) ns = IDLE_MAX_NS;
    uint64_t count = ns * timer_per_ms / 1000000;
    if (count == 0) count = 1;
    if (count > 0xFFFFFFFFu) count = 0xFFFFFFFFu;
    lapic[0x320 / 4] = TIMER_VECTOR; /* one-shot, unmasked */
    lapic[0x380 / 4] = (uint32_t)count;
    /* No wake-up is lost: after sti, interrupts wait for the end of hlt's start. */
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    lapic[0x380 / 4] = 0;
    lapic[0x320 / 4] = 0x10000 | TIMER_VECTOR;
}

/* Take the pending count of a vector (0: none). */
uint32_t intr_take(uint32_t vector) { return __atomic_exchange_n(&pending[vector], 0, __ATOMIC_SEQ_CST); }

/* Accept what the local APIC holds: one instruction with interrupts on. */
void intr_window(void) { __asm__ volatile("sti; nop; cli" ::: "memory"); }
