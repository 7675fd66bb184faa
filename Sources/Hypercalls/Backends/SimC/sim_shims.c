/* The shims are static inline in husk_sim_shims.h; this unit only makes the
 * header compile once on its own (SwiftPM needs a source file per C target). */
#include "husk_sim_shims.h"
