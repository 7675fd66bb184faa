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

/* The glue (husk/glue_port.h): present only when the image links the port
 * library (scripts/build-metal.sh --glue); weak, so the conformance image
 * links without it. */
void husk_glue_bind(const struct husk_hyp *hyp) __attribute__((weak));
void husk_glue_component_finished(husk_ctx *ctx) __attribute__((weak));

#define MAX_RUN 16

struct started {
    const struct husk_component *c;
    husk_ctx *ctx;
    uint64_t t0;
    int32_t status;
};

static bool abi_ok(const struct husk_component *c) {
    if (c->abi_major == HUSK_ABI_MAJOR && c->abi_minor <= HUSK_ABI_MINOR) return true;
    kprintf("[error] metal: component %s needs ABI %u.%u, this host has %u.%u: refused\n", c->name, c->abi_major,
            c->abi_minor, HUSK_ABI_MAJOR, HUSK_ABI_MINOR);
    return false;
}

static const struct husk_component *find_component(const char *name, size_t n) {
    for (const struct husk_component *const *c = __start_husk_components; c < __stop_husk_components; c++) {
        const char *cn = (*c)->name;
        if (m_strlen(cn) == n && memcmp(cn, name, n) == 0) return *c;
    }
    return 0;
}

/* The components to run: metal.components=a,b,... in that order, or, in
 * an image without the glue, every component linked in. The port library
 * holds all of them, and most need what metal has not (files, TAP, a
 * network), so an image with the glue runs only the ones named. */
static uint32_t pick_components(const struct husk_component **out) {
    char list[512];
    uint64_t len = 0;
    uint32_t n = 0;
    if (!cmdline_get("metal.components", list, sizeof list, &len)) {
        if (husk_glue_bind) {
            kprintf("[error] metal: this image links the port library: name the components to run with "
                    "metal.components=a,b,... (linked in:");
            for (const struct husk_component *const *c = __start_husk_components; c < __stop_husk_components; c++)
                kprintf(" %s", (*c)->name);
            kprintf(")\n");
            return 0;
        }
        for (const struct husk_component *const *c = __start_husk_components; c < __stop_husk_components; c++)
            if (n < MAX_RUN) out[n++] = *c;
        return n;
    }
    if (len >= sizeof list) len = sizeof list - 1;
    list[len] = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && list[j] != ',') j++;
        if (j > i) {
            const struct husk_component *c = find_component(list + i, j - i);
            if (!c) {
                list[j] = 0;
                kprintf("[error] metal: metal.components names %s, which is not linked into this image\n", list + i);
            } else if (n == MAX_RUN)
                kprintf("[error] metal: more than %d components in metal.components\n", MAX_RUN);
            else
                out[n++] = c;
        }
        i = j + 1;
    }
    return n;
}

/* As a Husk server runs a set of components: init each in order (a driver
 * attaches its devices there and stays), then run each that has a run
 * entry in order, then fini in reverse order, the glue withdrawing what a
 * component still holds after its fini. Everything on the boot thread. */
static void run_components(void) {
    const struct husk_component *want[MAX_RUN];
    struct started s[MAX_RUN];
    uint32_t n = pick_components(want), live = 0;
    struct thread *host = thread_current();
    for (uint32_t i = 0; i < n; i++) {
        const struct husk_component *c = want[i];
        if (!abi_ok(c)) continue;
        husk_ctx *ctx = hyp_new_ctx(c);
        thread_set_ctx(host, ctx);
        uint64_t t0 = clock_ns();
        int32_t rc = c->init(ctx, &metal_hyp);
        thread_set_ctx(host, 0);
        if (rc != HUSK_OK) {
            kprintf("[error] metal: %s: init failed: %d\n", c->name, rc);
            if (husk_glue_component_finished) husk_glue_component_finished(ctx);
            continue;
        }
        s[live++] = (struct started){c, ctx, t0, 0};
    }
    for (uint32_t i = 0; i < live; i++) {
        if (!s[i].c->run) continue;
        thread_set_ctx(host, s[i].ctx);
        s[i].status = s[i].c->run(s[i].ctx);
        thread_set_ctx(host, 0);
    }
    for (uint32_t i = live; i-- > 0;) {
        thread_set_ctx(host, s[i].ctx);
        if (s[i].c->fini) s[i].c->fini(s[i].ctx);
        if (husk_glue_component_finished) husk_glue_component_finished(s[i].ctx);
        thread_set_ctx(host, 0);
        uint64_t ms = (clock_ns() - s[i].t0) / 1000000;
        kprintf("[info] metal: %s finished: run returned %d after %llu ms\n", s[i].c->name, s[i].status,
                (unsigned long long)ms);
    }
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
    mem_setup(boot_ram.base, boot_ram.size);
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
    if (husk_glue_bind) husk_glue_bind(&metal_hyp);
    run_components();
    kprintf("HUSK-DONE %u\n", hyp_tap_lines());
    power_off();
}
