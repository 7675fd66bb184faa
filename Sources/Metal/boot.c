/*
 * boot.c — what the PVH start info tells us (RAM map, command line) and
 * how the machine ends (ACPI power-off).
 */
#include "metal.h"

struct hvm_start_info {
    uint32_t magic; /* 0x336ec578 */
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr; /* version >= 1 */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved; /* type 1: RAM */
};

#define HVM_START_MAGIC 0x336ec578u
#define FOUR_GIB        (4ull << 30)

struct mem_region boot_ram;
char boot_cmdline[1024];
extern char __kernel_end[];

/* Returns false when the start info is not what PVH promises. */
bool boot_parse(uint32_t start_info) {
    const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)start_info;
    if (!si || si->magic != HVM_START_MAGIC) return false;
    if (si->cmdline_paddr) {
        const char *c = (const char *)(uintptr_t)si->cmdline_paddr;
        size_t i = 0;
        for (; c[i] && i + 1 < sizeof boot_cmdline; i++) boot_cmdline[i] = c[i];
        boot_cmdline[i] = 0;
    }
    if (si->version < 1 || !si->memmap_paddr) return false;
    const struct hvm_memmap_entry *e = (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
    uint64_t lo = ((uint64_t)(uintptr_t)__kernel_end + 0xFFFFF) & ~0xFFFFFull; /* next MiB after the image */
    for (uint32_t i = 0; i < si->memmap_entries; i++) {
        if (e[i].type != 1) continue;
        uint64_t b = e[i].addr, end = e[i].addr + e[i].size;
        if (end > FOUR_GIB) end = FOUR_GIB; /* what entry.S maps */
        if (b < lo) b = lo;
        if (end > b && end - b > boot_ram.size) {
            boot_ram.base = b;
            boot_ram.size = end - b;
        }
    }
    return boot_ram.size != 0;
}

static bool word_start(const char *s, size_t i) { return i == 0 || s[i - 1] == ' '; }

bool cmdline_get(const char *key, char *buf, uint64_t cap, uint64_t *len) {
    size_t kl = m_strlen(key);
    for (size_t i = 0; boot_cmdline[i]; i++) {
        if (!word_start(boot_cmdline, i)) continue;
        size_t k = 0;
        while (k < kl && boot_cmdline[i + k] == key[k]) k++;
        if (k != kl || boot_cmdline[i + k] != '=') continue;
        const char *v = &boot_cmdline[i + k + 1];
        uint64_t n = 0;
        while (v[n] && v[n] != ' ') n++;
        if (len) *len = n;
        if (!buf) return true;
        if (n + 1 > cap) return false;
        for (uint64_t j = 0; j < n; j++) buf[j] = v[j];
        buf[n] = 0;
        return true;
    }
    return false;
}

void power_off(void) {
    /* q35 (ICH9: PM1a_CNT at PMBASE 0x600 + 4) and i440fx (PIIX4: 0xB004):
     * SLP_EN with the S5 type QEMU's ACPI tables give (0). */
    outw(0x604, 0x2000);
    outw(0xB004, 0x2000);
    for (;;) __asm__ volatile("cli; hlt");
}
