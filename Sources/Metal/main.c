/*
 * main.c — kmain: bring the machine up, then run every component linked
 * into the image (the husk_components link set) the way a Husk server
 * does: check its ABI version, init, run on this host thread, fini. The
 * results go to the serial console; HUSK-DONE ends the run for the VM
 * harness, then the machine powers off.
 */
#include "metal.h"

extern const struct husk_component *const __start_husk_components[];
extern const struct husk_component *const __stop_husk_components[];
extern char __kernel_start[], __kernel_end[];

static void run_component(const struct husk_component *c) {
    if (c->abi_major != HUSK_ABI_MAJOR || c->abi_minor > HUSK_ABI_MINOR) {
        kprintf("[error] metal: component %s needs ABI %u.%u, this host has %u.%u: refused\n", c->name, c->abi_major,
                c->abi_minor, HUSK_ABI_MAJOR, HUSK_ABI_MINOR);
        return;
    }
    husk_ctx *ctx = hyp_new_ctx(c);
    struct thread *host = thread_current();
    thread_set_ctx(host, ctx);
    uint64_t t0 = clock_ns();
    int32_t rc = c->init(ctx, &metal_hyp);
    if (rc != HUSK_OK) {
        kprintf("[error] metal: %s: init failed: %d\n", c->name, rc);
        thread_set_ctx(host, 0);
        return;
    }
    int32_t status = c->run ? c->run(ctx) : 0;
    if (c->fini) c->fini(ctx);
    thread_set_ctx(host, 0);
    uint64_t ms = (clock_ns() - t0) / 1000000;
    kprintf("[info] metal: %s finished: run returned %d after %llu ms\n", c->name, status, (unsigned long long)ms);
}

void kmain(uint32_t start_info) {
    serial_init();
    kprintf("\nhusk metal: booting (PVH entry, long mode, identity map 0-4 GiB)\n");
    if (!boot_parse(start_info)) {
        kprintf("panic: metal: no PVH start info with a memory map (boot with QEMU's -kernel / libvirt <kernel>)\n");
        power_off();
    }
    intr_init();
    clock_init();
    intr_timer_init();
    mem_init(boot_ram.base, boot_ram.size);
    sched_init();
    hyp_init();
    pci_init();
    kprintf("husk metal: kernel %llu KiB, RAM %llu MiB free at 0x%llx, TSC %llu kHz (against the %s), "
            "APIC timer %llu kHz, %s, %u PCI functions\n",
            (unsigned long long)((__kernel_end - __kernel_start) >> 10), (unsigned long long)(boot_ram.size >> 20),
            (unsigned long long)boot_ram.base, (unsigned long long)clock_tsc_khz(), clock_calibration(),
            (unsigned long long)intr_timer_khz(),
            hyp_rdrand() ? "random from RDRAND" : "random from a TSC-seeded PRNG (no RDRAND: not cryptographic)",
            pci_count());
    kprintf("husk metal: command line: %s\n", boot_cmdline);
    pci_list();
    for (const struct husk_component *const *c = __start_husk_components; c < __stop_husk_components; c++)
        run_component(*c);
    kprintf("HUSK-DONE %u\n", hyp_tap_lines());
    power_off();
}
