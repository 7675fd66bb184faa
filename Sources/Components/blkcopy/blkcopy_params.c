/*
 * blkcopy_params.c — the component's parameters (module parameters given
 * with `husk run --param blkcopy.KEY=VALUE`, read with the glue's
 * glue_param_* functions, husk/glue/param.h).
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
 * The glue logs what it checks (too long, not a number, out of range, not a
 * flag); this file logs the component's own rules.
 */
#include "blkcopy_private.h"

static bool bc_streq(const char *a, const char *b) {
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static int32_t bc_path_param(const char *key, char *buf) {
    bool present;
    int32_t r = glue_param_string(key, buf, BC_PATH_MAX, &present);
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
    bool present;
    int32_t r, first = HUSK_OK;
#define BC_NOTE(expr)                                                          \
    do {                                                                       \
        int32_t bc_r_ = (expr);                                                \
        if (bc_r_ != HUSK_OK && first == HUSK_OK)                              \
            first = bc_r_;                                                     \
    } while (0)

    sc->src[0] = sc->dst[0] = '\0';
    BC_NOTE(bc_path_param("src", sc->src));
    BC_NOTE(bc_path_param("dst", sc->dst));
    if (first == HUSK_OK && bc_streq(sc->src, sc->dst)) {
        glue_logf(LOG_ERR, "src and dst are the same path (%s)", sc->src);
        BC_NOTE(HUSK_EINVAL);
    }

    uint64_t chunk = BC_CHUNK_DEFAULT;
    r = glue_param_u64("chunk", &chunk, BC_CHUNK_ALIGN, BC_CHUNK_MAX);
    BC_NOTE(r);
    if (r == HUSK_OK && chunk % BC_CHUNK_ALIGN != 0) {
        glue_logf(LOG_ERR, "parameter chunk=%llu must be a multiple of %u bytes from %u to %u",
                  (unsigned long long)chunk, BC_CHUNK_ALIGN, BC_CHUNK_ALIGN, BC_CHUNK_MAX);
        BC_NOTE(HUSK_EINVAL);
        chunk = BC_CHUNK_DEFAULT;
    }
    sc->chunk = chunk;

    /* Any suffixed depth is at least 1024 (or 0): out of range, refused. */
    uint64_t depth = BC_DEPTH_DEFAULT;
    BC_NOTE(glue_param_u64("depth", &depth, 1, BC_DEPTH_MAX));
    sc->depth = (uint32_t)depth;

    sc->engine_mode = BC_ENGINE_AUTO;
    sc->engine_name[0] = '\0';
    r = glue_param_string("engine", sc->engine_name, sizeof sc->engine_name, &present);
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
    BC_NOTE(glue_param_bool("verify", &sc->verify));
#undef BC_NOTE
    return first;
}
