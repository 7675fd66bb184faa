/*
 * handle.c — every object a component names (mutex, rwlock, condition
 * variable, thread, DMA buffer, device, interrupt handler) is a typed
 * handle: kind << 56 | generation << 32 | slot + 1. A slot's generation
 * grows each time it is freed, so a stale handle never names a new object,
 * and the kind makes a live handle of another kind EBADF.
 */
#include "metal.h"

#define SLOTS 4096u

static struct {
    void *obj;
    uint32_t gen;
    uint8_t kind; /* 0: free */
} slots[SLOTS];
static uint32_t free_list[SLOTS], n_free;
static bool ready;

husk_handle handle_new(enum handle_kind kind, void *obj) {
    if (!ready) {
        for (uint32_t i = 0; i < SLOTS; i++) free_list[i] = SLOTS - 1 - i;
        n_free = SLOTS;
        ready = true;
    }
    if (n_free == 0) return 0;
    uint32_t i = free_list[--n_free];
    slots[i].obj = obj;
    slots[i].kind = (uint8_t)kind;
    slots[i].gen = (slots[i].gen + 1) & 0xFFFFFF;
    return (uint64_t)kind << 56 | (uint64_t)slots[i].gen << 32 | (i + 1);
}

static int32_t slot_of(husk_handle h, enum handle_kind kind) {
    uint64_t i = (h & 0xFFFFFFFFu) - 1;
    if ((h >> 56) != (uint64_t)kind || i >= SLOTS) return -1;
    if (slots[i].kind != kind || slots[i].gen != ((h >> 32) & 0xFFFFFF)) return -1;
    return (int32_t)i;
}

void *handle_get(husk_handle h, enum handle_kind kind) {
    int32_t i = slot_of(h, kind);
    return i < 0 ? 0 : slots[i].obj;
}

void handle_free(husk_handle h) {
    uint64_t i = (h & 0xFFFFFFFFu) - 1;
    if (i >= SLOTS || slots[i].kind == 0) return;
    slots[i].kind = 0;
    slots[i].obj = 0;
    free_list[n_free++] = (uint32_t)i;
}
