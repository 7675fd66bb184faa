#include "husk_link_set.h"

/* The linker defines these for a section whose name is a C identifier.
 * Weak, so that an executable without any component still links. */
extern const struct husk_component *const __start_husk_components[] __attribute__((weak));
extern const struct husk_component *const __stop_husk_components[] __attribute__((weak));

const struct husk_component *const *husk_linked_components(size_t *count) {
    if (__start_husk_components == NULL || __stop_husk_components == NULL) {
        *count = 0;
        return NULL;
    }
    *count = (size_t)(__stop_husk_components - __start_husk_components);
    return __start_husk_components;
}
