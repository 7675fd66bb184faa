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

/* Take the pending count of a vector (0: none). */
uint32_t intr_take(uint32_t vector) { return __atomic_exchange_n(&pending[vector], 0, __ATOMIC_SEQ_CST); }

/* Accept what the local APIC holds: one instruction with interrupts on. */
void intr_window(void) { __asm__ volatile("sti; nop; cli" ::: "memory"); }
