/*
 * The glue's inline C lives in the headers (bus_space accessors, barriers,
 * bus_dmamap_sync). This unit includes them once under the host's -Wall
 * -Wextra -Werror, so that a header that stops compiling fails the glue's
 * own build and not only the first component that includes it.
 */
#include "husk/glue.h"
