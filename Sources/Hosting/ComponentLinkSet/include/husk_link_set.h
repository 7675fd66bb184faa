/* husk_link_set.h — the built-in components, as the linker collected them
 * into the husk_components section (HUSK_COMPONENT in husk/hypercall.h). */
#ifndef HUSK_LINK_SET_H
#define HUSK_LINK_SET_H

#include <stddef.h>
#include <husk/hypercall.h>

/* The descriptors linked into this executable, in link order; *count gets
 * their number (0 when no component is linked). */
const struct husk_component *const *husk_linked_components(size_t *count);

#endif
