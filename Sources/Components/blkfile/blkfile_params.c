/*
 * blkfile_params.c — the component's parameters (`husk run --param
 * blkfile.KEY=VALUE`, or set by the block server from its options):
 *
 *   path        host file or block device to serve (required)
 *   name        disk name consumers open, default "disk0"
 *   ro          1: serve read-only (the file is opened read-only); default 0
 *   direct      1: bypass the host page cache (O_DIRECT); default 0
 *   block_size  512, 1024, 2048 or 4096; default: the host's sector size
 *
 * Every problem is logged, not only the first, so one attempt shows them all.
 */
#include "blkfile_private.h"

/* Read key into buf; *present = false when it is not set. */
static int32_t bf_get(struct bf_softc *sc, const char *key, char *buf, uint64_t cap, bool *present) {
    uint64_t len = 0;
    int32_t r = sc->hyp->config_get(sc->ctx, key, buf, cap, &len);
    *present = false;
    if (r == HUSK_ENOENT)
        return HUSK_OK;
    if (r == HUSK_ERANGE) {
        glue_logf(LOG_ERR, "parameter %s is too long (%llu bytes, at most %llu)", key,
                  (unsigned long long)len, (unsigned long long)(cap - 1));
        return HUSK_EINVAL;
    }
    if (r != HUSK_OK) {
        glue_logf(LOG_ERR, "cannot read parameter %s: %s", key, bf_errname(r));
        return r;
    }
    *present = true;
    return HUSK_OK;
}

static int32_t bf_get_bool(struct bf_softc *sc, const char *key, bool *out) {
    char v[8];
    bool present;
    int32_t r = bf_get(sc, key, v, sizeof v, &present);
    if (r != HUSK_OK || !present)
        return r;
    if (v[0] == '1' && v[1] == '\0') {
        *out = true;
    } else if (v[0] == '0' && v[1] == '\0') {
        *out = false;
    } else {
        glue_logf(LOG_ERR, "parameter %s must be 0 or 1, not '%s'", key, v);
        return HUSK_EINVAL;
    }
    return HUSK_OK;
}

static bool bf_valid_name(const char *s) {
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return n > 0 && n < BF_NAME_MAX;
}

int32_t bf_read_params(struct bf_softc *sc) {
    int32_t status = HUSK_OK;
    bool present;

    int32_t r = bf_get(sc, "path", sc->path, sizeof sc->path, &present);
    if (r != HUSK_OK) {
        status = r;
    } else if (!present || sc->path[0] == '\0') {
        glue_logf(LOG_ERR, "parameter path is required: the image file or block device to serve "
                           "(--param blkfile.path=FILE)");
        status = HUSK_EINVAL;
    }

    memcpy(sc->name, BF_DEFAULT_NAME, sizeof BF_DEFAULT_NAME);
    r = bf_get(sc, "name", sc->name, sizeof sc->name, &present);
    if (r != HUSK_OK) {
        status = r;
    } else if (present && !bf_valid_name(sc->name)) {
        glue_logf(LOG_ERR, "parameter name '%s' is not a disk name: 1 to 31 of A-Z a-z 0-9 _ . -", sc->name);
        status = HUSK_EINVAL;
    }

    if ((r = bf_get_bool(sc, "ro", &sc->read_only)) != HUSK_OK)
        status = r;
    if ((r = bf_get_bool(sc, "direct", &sc->direct)) != HUSK_OK)
        status = r;

    char bs[8];
    r = bf_get(sc, "block_size", bs, sizeof bs, &present);
    if (r != HUSK_OK) {
        status = r;
    } else if (present) {
        uint32_t v = 0;
        const char *p = bs;
        for (; *p >= '0' && *p <= '9' && v < 100000; p++)
            v = v * 10 + (uint32_t)(*p - '0');
        if (*p != '\0' || (v != 512 && v != 1024 && v != 2048 && v != 4096)) {
            glue_logf(LOG_ERR, "parameter block_size must be 512, 1024, 2048 or 4096, not '%s'", bs);
            status = HUSK_EINVAL;
        } else {
            sc->block_size = v;
        }
    }
    return status;
}
