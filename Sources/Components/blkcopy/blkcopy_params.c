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

static bool blkcopy_streq(const char *a, const char *b) {
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static int32_t blkcopy_path_param(const char *key, char *buf) {
    bool present;
    int32_t r = glue_param_string(key, buf, BLKCOPY_PATH_MAX, &present);
    if (r != HUSK_OK) return r;
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

int32_t blkcopy_params_load(struct blkcopy_softc *sc) {
    bool present;
    int32_t r, first = HUSK_OK;
#define BLKCOPY_NOTE(expr)                                                 \
    do {                                                                   \
        int32_t blkcopy_r_ = (expr);                                       \
        if (blkcopy_r_ != HUSK_OK && first == HUSK_OK) first = blkcopy_r_; \
    } while (0)

    sc->src[0] = sc->dst[0] = '\0';
    BLKCOPY_NOTE(blkcopy_path_param("src", sc->src));
    BLKCOPY_NOTE(blkcopy_path_param("dst", sc->dst));
    if (first == HUSK_OK && blkcopy_streq(sc->src, sc->dst)) {
        glue_logf(LOG_ERR, "src and dst are the same path (%s)", sc->src);
        BLKCOPY_NOTE(HUSK_EINVAL);
    }

    uint64_t chunk = BLKCOPY_CHUNK_DEFAULT;
    r = glue_param_u64("chunk", &chunk, BLKCOPY_CHUNK_ALIGN, BLKCOPY_CHUNK_MAX);
    BLKCOPY_NOTE(r);
    if (r == HUSK_OK && chunk % BLKCOPY_CHUNK_ALIGN != 0) {
        glue_logf(LOG_ERR, "parameter chunk=%llu must be a multiple of %u bytes from %u to %u",
                  (unsigned long long)chunk, BLKCOPY_CHUNK_ALIGN, BLKCOPY_CHUNK_ALIGN, BLKCOPY_CHUNK_MAX);
        BLKCOPY_NOTE(HUSK_EINVAL);
        chunk = BLKCOPY_CHUNK_DEFAULT;
    }
    sc->chunk = chunk;

    /* Any suffixed depth is at least 1024 (or 0): out of range, refused. */
    uint64_t depth = BLKCOPY_DEPTH_DEFAULT;
    BLKCOPY_NOTE(glue_param_u64("depth", &depth, 1, BLKCOPY_DEPTH_MAX));
    sc->depth = (uint32_t)depth;

    sc->engine_mode = BLKCOPY_ENGINE_AUTO;
    sc->engine_name[0] = '\0';
    r = glue_param_string("engine", sc->engine_name, sizeof sc->engine_name, &present);
    BLKCOPY_NOTE(r);
    if (r == HUSK_OK && present) {
        if (sc->engine_name[0] == '\0') {
            glue_log(LOG_ERR, "parameter engine is empty: use auto, cpu or the name of a DMA engine");
            BLKCOPY_NOTE(HUSK_EINVAL);
        } else if (blkcopy_streq(sc->engine_name, "auto")) {
            sc->engine_mode = BLKCOPY_ENGINE_AUTO;
        } else if (blkcopy_streq(sc->engine_name, "cpu")) {
            sc->engine_mode = BLKCOPY_ENGINE_CPU;
        } else {
            sc->engine_mode = BLKCOPY_ENGINE_NAMED;
        }
    }

    sc->verify = true;
    BLKCOPY_NOTE(glue_param_bool("verify", &sc->verify));
#undef BLKCOPY_NOTE
    return first;
}
