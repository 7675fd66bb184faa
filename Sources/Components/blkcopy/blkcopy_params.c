/*
 * blkcopy_params.c — the component's parameters (module parameters given
 * with `husk run --param blkcopy.KEY=VALUE`, read with hyp->config_get).
 *
 *   src     path to copy from (required)
 *   dst     path to copy to, at least as large as src (required)
 *   chunk   bytes per request: a multiple of 4096 up to 1 MiB; K/M suffixes
 *           (binary) accepted. Default 65536.
 *   depth   chunks in flight, 1..64. Default 8.
 *   engine  auto (default): a registered DMA engine if any, else the CPU;
 *           cpu; or the name of an engine that must exist at run time.
 *   verify  1 (default): read both back and compare CRC32C; 0: don't.
 *
 * Every problem is logged, not only the first, so one attempt shows them all.
 */
#include "blkcopy_private.h"

/* Read key into buf. *present = false when the key is not set. */
static int32_t bc_get(struct bc_softc *sc, const char *key, char *buf, uint64_t buflen, bool *present) {
    uint64_t len = 0;
    int32_t r = sc->hyp->config_get(sc->ctx, key, buf, buflen, &len);
    *present = false;
    if (r == HUSK_ENOENT)
        return HUSK_OK;
    if (r == HUSK_ERANGE) {
        glue_logf(LOG_ERR, "parameter %s is too long (%llu bytes, at most %llu)", key,
                  (unsigned long long)len, (unsigned long long)(buflen - 1));
        return HUSK_EINVAL;
    }
    if (r != HUSK_OK) {
        glue_logf(LOG_ERR, "cannot read parameter %s: %s", key, bc_errname(r));
        return r;
    }
    *present = true;
    return HUSK_OK;
}

/* Decimal digits with an optional binary suffix K/k (KiB) or M/m (MiB).
 * false on anything else, or on overflow. */
static bool bc_parse_size(const char *s, uint64_t *out) {
    uint64_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    uint64_t mult = 1;
    if (*p == 'k' || *p == 'K') {
        mult = 1024;
        p++;
    } else if (*p == 'm' || *p == 'M') {
        mult = 1024 * 1024;
        p++;
    }
    if (*p != '\0' || v > UINT64_MAX / mult)
        return false;
    *out = v * mult;
    return true;
}

static bool bc_streq(const char *a, const char *b) {
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static int32_t bc_path_param(struct bc_softc *sc, const char *key, char *buf) {
    bool present;
    int32_t r = bc_get(sc, key, buf, BC_PATH_MAX, &present);
    if (r != HUSK_OK)
        return r;
    if (!present) {
        glue_logf(LOG_ERR, "parameter %s is required (--param blkcopy.%s=PATH)", key, key);
        return HUSK_EINVAL;
    }
    if (buf[0] == '\0') {
        glue_logf(LOG_ERR, "parameter %s is empty (--param blkcopy.%s=PATH)", key, key);
        return HUSK_EINVAL;
    }
    return HUSK_OK;
}

int32_t bc_params_load(struct bc_softc *sc) {
    char v[BC_ENGINE_MAX];
    bool present;
    int32_t r, first = HUSK_OK;
#define BC_NOTE(expr)                                                          \
    do {                                                                       \
        int32_t bc_r_ = (expr);                                                \
        if (bc_r_ != HUSK_OK && first == HUSK_OK)                              \
            first = bc_r_;                                                     \
    } while (0)

    BC_NOTE(bc_path_param(sc, "src", sc->src));
    BC_NOTE(bc_path_param(sc, "dst", sc->dst));
    if (first == HUSK_OK && bc_streq(sc->src, sc->dst)) {
        glue_logf(LOG_ERR, "src and dst are the same path (%s)", sc->src);
        BC_NOTE(HUSK_EINVAL);
    }

    sc->chunk = BC_CHUNK_DEFAULT;
    r = bc_get(sc, "chunk", v, sizeof v, &present);
    BC_NOTE(r);
    if (r == HUSK_OK && present) {
        uint64_t c;
        if (!bc_parse_size(v, &c)) {
            glue_logf(LOG_ERR, "parameter chunk='%s' is not a size in bytes (e.g. 65536, 64K, 1M)", v);
            BC_NOTE(HUSK_EINVAL);
        } else if (c == 0 || c % BC_CHUNK_ALIGN != 0 || c > BC_CHUNK_MAX) {
            glue_logf(LOG_ERR, "parameter chunk=%s must be a multiple of %u bytes from %u to %u",
                      v, BC_CHUNK_ALIGN, BC_CHUNK_ALIGN, BC_CHUNK_MAX);
            BC_NOTE(HUSK_EINVAL);
        } else {
            sc->chunk = c;
        }
    }

    sc->depth = BC_DEPTH_DEFAULT;
    r = bc_get(sc, "depth", v, sizeof v, &present);
    BC_NOTE(r);
    if (r == HUSK_OK && present) {
        uint64_t d;
        /* bc_parse_size would accept suffixes: refuse them here. */
        const char *p = v;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p != '\0' || !bc_parse_size(v, &d) || d < 1 || d > BC_DEPTH_MAX) {
            glue_logf(LOG_ERR, "parameter depth='%s' must be an integer from 1 to %u", v, BC_DEPTH_MAX);
            BC_NOTE(HUSK_EINVAL);
        } else {
            sc->depth = (uint32_t)d;
        }
    }

    sc->engine_mode = BC_ENGINE_AUTO;
    sc->engine_name[0] = '\0';
    r = bc_get(sc, "engine", sc->engine_name, sizeof sc->engine_name, &present);
    BC_NOTE(r);
    if (r == HUSK_OK && present) {
        if (sc->engine_name[0] == '\0') {
            glue_log(LOG_ERR, "parameter engine is empty: use auto, cpu or the name of a DMA engine");
            BC_NOTE(HUSK_EINVAL);
        } else if (bc_streq(sc->engine_name, "auto")) {
            sc->engine_mode = BC_ENGINE_AUTO;
        } else if (bc_streq(sc->engine_name, "cpu")) {
            sc->engine_mode = BC_ENGINE_CPU;
        } else {
            sc->engine_mode = BC_ENGINE_NAMED;
        }
    }

    sc->verify = true;
    r = bc_get(sc, "verify", v, sizeof v, &present);
    BC_NOTE(r);
    if (r == HUSK_OK && present) {
        if (bc_streq(v, "1"))
            sc->verify = true;
        else if (bc_streq(v, "0"))
            sc->verify = false;
        else {
            glue_logf(LOG_ERR, "parameter verify='%s' must be 1 or 0", v);
            BC_NOTE(HUSK_EINVAL);
        }
    }
#undef BC_NOTE
    return first;
}
