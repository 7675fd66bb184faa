/*
 * mem.c — physical memory. All RAM is identity-mapped (entry.S), so a
 * physical address is also the CPU address and the DMA bus address.
 *
 * Free space is a sorted array of [start, end) ranges, first fit (lowest
 * address first, which is what DMA address limits want), merged on
 * release. Every live allocation is recorded in a hash table keyed by its
 * address with its kind and the size asked for, so that a free with a
 * wrong pointer, size or kind is refused instead of corrupting anything.
 */
#include "metal.h"

#define GRAIN      16u    /* every allocation is a multiple of this */
#define MAX_RANGES 4096u  /* free ranges */
#define REC_SLOTS  32768u /* live allocations (power of two) */

struct range {
    uint64_t start, end;
};
static struct range ranges[MAX_RANGES];
static uint32_t n_ranges;
static uint64_t free_bytes;

struct rec {
    uint64_t addr; /* 0: empty slot */
    uint64_t size; /* asked for */
    uint64_t len;  /* taken from the free ranges */
    uint32_t kind;
    uint32_t pad;
};
static struct rec recs[REC_SLOTS];

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

void mem_setup(uint64_t base, uint64_t size) {
    uint64_t b = align_up(base, 4096), e = (base + size) & ~4095ull;
    ranges[0] = (struct range){b, e};
    n_ranges = 1;
    free_bytes = e - b;
}

uint64_t mem_free_bytes(void) { return free_bytes; }

static void range_remove(uint32_t i) {
    memmove(&ranges[i], &ranges[i + 1], (n_ranges - i - 1) * sizeof ranges[0]);
    n_ranges--;
}

static bool range_insert(uint32_t i, uint64_t s, uint64_t e) {
    if (n_ranges == MAX_RANGES) return false;
    memmove(&ranges[i + 1], &ranges[i], (n_ranges - i) * sizeof ranges[0]);
    ranges[i] = (struct range){s, e};
    n_ranges++;
    return true;
}

static uint64_t take(uint64_t len, uint64_t align, uint64_t limit) {
    for (uint32_t i = 0; i < n_ranges; i++) {
        struct range r = ranges[i];
        uint64_t a = align_up(r.start, align);
        if (a < r.start || a >= r.end || r.end - a < len) continue;
        if (limit && a + len > limit) return 0; /* sorted: later ranges are higher */
        bool head = a > r.start, tail = a + len < r.end;
        if (head && tail) {
            if (!range_insert(i + 1, a + len, r.end)) return 0;
            ranges[i].end = a;
        } else if (head) {
            ranges[i].end = a;
        } else if (tail) {
            ranges[i].start = a + len;
        } else {
            range_remove(i);
        }
        free_bytes -= len;
        return a;
    }
    return 0;
}

static void give_back(uint64_t s, uint64_t len) {
    uint64_t e = s + len;
    uint32_t i = 0;
    while (i < n_ranges && ranges[i].start < s) i++;
    bool prev = i > 0 && ranges[i - 1].end == s, next = i < n_ranges && ranges[i].start == e;
    if (prev && next) {
        ranges[i - 1].end = ranges[i].end;
        range_remove(i);
    } else if (prev) {
        ranges[i - 1].end = e;
    } else if (next) {
        ranges[i].start = s;
    } else if (!range_insert(i, s, e)) {
        return; /* the range table is full: the memory is lost, never reused twice */
    }
    free_bytes += len;
}

static uint32_t rec_hash(uint64_t addr) {
    return (uint32_t)((addr >> 4) * 0x9E3779B97F4A7C15ull >> 40) & (REC_SLOTS - 1);
}

static struct rec *rec_find(uint64_t addr) {
    for (uint32_t i = rec_hash(addr), n = 0; n < REC_SLOTS; i = (i + 1) & (REC_SLOTS - 1), n++) {
        if (recs[i].addr == addr) return &recs[i];
        if (recs[i].addr == 0) return 0;
    }
    return 0;
}

static bool rec_add(struct rec r) {
    for (uint32_t i = rec_hash(r.addr), n = 0; n < REC_SLOTS; i = (i + 1) & (REC_SLOTS - 1), n++) {
        if (recs[i].addr == 0) {
            recs[i] = r;
            return true;
        }
    }
    return false;
}

/* Backward-shift deletion keeps linear probing correct without tombstones. */
static void rec_del(struct rec *r) {
    uint32_t i = (uint32_t)(r - recs);
    for (uint32_t j = (i + 1) & (REC_SLOTS - 1);; j = (j + 1) & (REC_SLOTS - 1)) {
        if (recs[j].addr == 0) break;
        uint32_t h = rec_hash(recs[j].addr);
        /* Move j back to i if its home is not in (i, j]. */
        bool between = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (!between) {
            recs[i] = recs[j];
            i = j;
        }
    }
    recs[i].addr = 0;
}

void *mem_get(uint64_t size, uint64_t align, uint64_t limit, enum mem_kind kind) {
    if (size == 0 || size > (1ull << 40)) return 0;
    if (align < GRAIN) align = GRAIN;
    uint64_t len = align_up(size, GRAIN);
    uint64_t a = take(len, align, limit);
    if (!a) return 0;
    if (!rec_add((struct rec){.addr = a, .size = size, .len = len, .kind = kind})) {
        give_back(a, len);
        return 0;
    }
    return (void *)(uintptr_t)a;
}

bool mem_put(void *p, uint64_t size, enum mem_kind kind) {
    struct rec *r = p ? rec_find((uint64_t)(uintptr_t)p) : 0;
    if (!r || r->kind != kind || (size && r->size != size)) return false;
    uint64_t a = r->addr, len = r->len;
    rec_del(r);
    give_back(a, len);
    return true;
}
