/* The glue's per-thread slots (husk/glue_thread_slots.h says why C TLS). */
#include "husk/glue_thread_slots.h"

static _Thread_local void *slots[HUSK_GLUE_SLOTS];

void *husk_glue_slot_get(unsigned which) { return which < HUSK_GLUE_SLOTS ? slots[which] : (void *)0; }

void husk_glue_slot_set(unsigned which, void *value) {
    if (which < HUSK_GLUE_SLOTS) slots[which] = value;
}
