/*
 * Per-thread slots of the glue itself (not for components: their allow-list
 * comes from the headers in husk/glue/, and these are deliberately outside it).
 *
 * The glue keeps two pointers per thread: the component a thread acts for
 * inside a registry's call into a provider, and the RPC caller it serves.
 * They are C11 thread-locals so that the same glue runs hosted and
 * freestanding: a port provides thread-local storage (for an x86_64 ELF
 * image, the local-exec model: a TLS block per thread and %fs pointing at
 * it), which every C runtime has and which needs no Swift runtime.
 */
#ifndef HUSK_GLUE_THREAD_SLOTS_H
#define HUSK_GLUE_THREAD_SLOTS_H

enum husk_glue_slot {
    HUSK_GLUE_SLOT_ACTING = 0, /* an ActingContext: the ctx glue calls use */
    HUSK_GLUE_SLOT_CALLER = 1, /* a CallerBox: glue_caller_cred's answer */
    HUSK_GLUE_SLOTS = 2
};

/* The calling thread's value in slot `which` (NULL when unset or out of range). */
void *husk_glue_slot_get(unsigned which);
/* Set it; out of range is ignored (the Swift side only passes the enum). */
void husk_glue_slot_set(unsigned which, void *value);

#endif
