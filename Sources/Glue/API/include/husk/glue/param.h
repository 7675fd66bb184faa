/*
 * husk/glue/param.h — module parameters of the calling component
 * (`husk run --param NAME.KEY=VALUE`, or set by a server that loads the
 * component), read through hyp->config_get and checked in one place.
 *
 * Every function reads the parameters of the component that calls it
 * (hyp->ctx_current()); a call from a thread of no component panics. Every
 * problem is logged at LOG_ERR naming the key (and the value and what was
 * expected), so a component that reads all its parameters before failing
 * shows the user every mistake at once. An unset key is not an error: the
 * output keeps its default. On any error the output is left unchanged.
 *
 * No NetBSD-style short names: NetBSD has no such API to mirror (cred.h and
 * log.h are used by their glue_* names too), and short names like
 * param_bool would be likely to collide with a component's own helpers.
 */
#ifndef HUSK_GLUE_PARAM_H
#define HUSK_GLUE_PARAM_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

/* [blocks: no] [irq: no] Copy the value of key into buf (cap bytes with the
 * NUL). Unset: returns 0 with *present = false and buf untouched. Set: 0,
 * *present = true, buf holds the value (possibly ""). Longer than cap - 1
 * bytes: logs "parameter KEY is too long (N bytes, at most M)" and returns
 * HUSK_EINVAL. Any other failure of config_get is logged and returned.
 * *present is false on every error. key, buf and present must not be NULL
 * and cap must be at least 1 (misuse panics). */
int glue_param_string(const char *key, char *buf, size_t cap, bool *present);

/* [blocks: no] [irq: no] A flag: "1" sets *out to true, "0" to false; unset
 * leaves *out unchanged. Anything else (of any length) logs "parameter KEY
 * must be 0 or 1, not 'VALUE'" and returns HUSK_EINVAL. */
int glue_param_bool(const char *key, bool *out);

/* [blocks: no] [irq: no] An unsigned number: decimal digits with an optional
 * binary suffix K/k (x 1024), M/m (x 1024^2) or G/g (x 1024^3), nothing else
 * (no sign, spaces or 0x). Unset leaves *out unchanged. Not a number, not
 * representable in 64 bits, or outside min..max (inclusive) logs a line
 * naming the key, the value and the range and returns HUSK_EINVAL.
 * min > max is misuse (panics). */
int glue_param_u64(const char *key, uint64_t *out, uint64_t min, uint64_t max);

#ifdef __cplusplus
}
#endif

#endif /* HUSK_GLUE_PARAM_H */
